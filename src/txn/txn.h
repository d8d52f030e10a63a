/* txn.h — struct strata_txn and the transaction layer's internal interface.
 *
 * A transaction buffers its writes in an indexed write batch (txn/wbwi.h) and commits them as
 * one strata_write (one atomic WAL record).  What differs between the kinds sits behind
 * st_txn_kind:
 *  - pessimistic (txn_pessimistic.c): every write and get_for_update first takes the key's row
 *    lock in the DB's lock table (txn/txn_db.h); with a snapshot, a key written since the
 *    snapshot fails at once with BUSY (write-write conflict).  Locks are held to the end.
 *  - optimistic (txn_optimistic.c): nothing is locked; the keys read for update and written are
 *    tracked with the sequence number they were seen at, and the commit writes only if none has
 *    a newer entry, checked atomically with the write (st_db_write_checked).
 * Tracked keys (txn_keys.c) serve both: the locks to release, the sequences to validate.
 *
 * Life cycle: OPEN until commit, rollback or a failed commit; after that every call but destroy
 * fails with STRATA_E_INVALID.  One thread at a time. */
#ifndef STRATA_TXN_TXN_H
#define STRATA_TXN_TXN_H

#include <stdint.h>

#include "api/options.h"
#include "db/db_impl.h"
#include "txn/txn_db.h"
#include "txn/txn_family.h"
#include "txn/wbwi.h"

struct strata_txn_options {
    int snapshot;           /* 0 */
    int64_t lock_timeout_ms; /* -1: the DB's default */
    int deadlock_detect;    /* 1 */
};

/* One tracked key. */
typedef struct st_txn_key {
    uint64_t hash; /* 0: empty slot */
    strata_cf *cf;
    uint32_t cf_id;
    char *key;
    size_t klen;
    uint64_t seq;  /* optimistic: the sequence it was seen at */
    int lock;      /* pessimistic: 0 none, 1 shared, 2 exclusive */
    int validated; /* pessimistic: checked against the snapshot */
} st_txn_key;

typedef struct st_txn_keys {
    st_txn_key *slots;
    size_t cap, n;
} st_txn_keys;

/* The tracked entry of (f, key), added (zeroed but for the key) if new; NULL when out of memory
 * (message set). */
st_txn_key *st_txn_keys_get(st_txn_keys *k, const st_txn_family *f, st_slice key);
/* The tracked entry of (family id, key), or NULL. */
const st_txn_key *st_txn_keys_find(const st_txn_keys *k, uint32_t cf_id, st_slice key);
void st_txn_keys_free(st_txn_keys *k);

typedef struct st_txn_kind {
    /* Before a write of key is buffered / before a get_for_update reads it. */
    int (*on_write)(strata_txn *txn, const st_txn_family *f, st_slice key);
    int (*on_read)(strata_txn *txn, const st_txn_family *f, st_slice key, int exclusive);
    /* Writes the batch. */
    int (*commit)(strata_txn *txn);
    /* Drops locks (called once, when the transaction ends). */
    void (*release)(strata_txn *txn);
} st_txn_kind;

enum { ST_TXN_OPEN = 0, ST_TXN_DONE = 1 };

struct strata_txn {
    strata_db *db;
    const st_txn_kind *kind;
    st_txn_db *locks; /* pessimistic: the DB's lock table */
    uint64_t id;
    struct strata_write_options wo;
    struct strata_txn_options topts; /* lock timeout resolved */
    int state;
    const strata_snapshot *snap;  /* set_snapshot (owned) */
    const strata_snapshot *guard; /* optimistic: keeps every version newer than it (owned) */
    st_wbwi wb;
    st_txn_keys keys;
};

extern const st_txn_kind st_txn_pessimistic;
extern const st_txn_kind st_txn_optimistic;

void st_txn_options_defaults(struct strata_txn_options *o);
/* A transaction of kind on db (txn_opts, wo may be NULL).  NULL with the message set. */
strata_txn *st_txn_create(strata_db *db, const st_txn_kind *kind, const strata_write_options *wo,
                          const strata_txn_options *txn_opts);
void st_txn_destroy(strata_txn *txn);
int st_txn_write(strata_txn *txn, strata_cf *cf, int type, st_slice key, const st_slice *value);
int st_txn_get(strata_txn *txn, const strata_read_options *ro, strata_cf *cf, st_slice key,
               void **val, size_t *vlen);
int st_txn_get_for_update(strata_txn *txn, const strata_read_options *ro, strata_cf *cf,
                          st_slice key, void **val, size_t *vlen, int exclusive);
int st_txn_set_snapshot(strata_txn *txn);
int st_txn_set_savepoint(strata_txn *txn);
int st_txn_rollback_to_savepoint(strata_txn *txn);
int st_txn_commit(strata_txn *txn);
int st_txn_rollback(strata_txn *txn);
int st_txn_iter_create(strata_txn *txn, const strata_read_options *ro, strata_cf *cf,
                       strata_iter **it);

/* ro as the transaction reads with it: defaults for NULL, and the transaction's snapshot when ro
 * names none.  A shallow copy (bounds borrowed from ro). */
void st_txn_read_options(const strata_txn *txn, const strata_read_options *ro,
                         struct strata_read_options *out);
/* Fails with BUSY when key (in f) has an entry newer than seq; what names the conflict kind. */
int st_txn_check_unchanged(strata_txn *txn, strata_cf *cf, st_slice key, uint64_t seq,
                           const char *what);

#endif
