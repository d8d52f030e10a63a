/* txn_db.h — the row-lock table of a DB opened with strata_txn_db_open, hung on the DB
 * (strata_db.txn_db) and freed by strata_close.
 *
 * Locks are per (family id, user key), shared or exclusive, held by transaction ids.  The table
 * is split in stripes by key hash, each with its own mutex and condition variable, so
 * transactions on different keys rarely contend.  A transaction that must wait registers whom
 * it waits for in the wait-for graph (one mutex, taken after a stripe's, never before); before
 * every wait it looks for a path from those holders back to itself, and if there is one it gives
 * up with STRATA_E_BUSY ("deadlock detected") instead of waiting: the youngest waiter of a cycle
 * (the one closing it) is the one that fails.  Locks are released together when the transaction
 * ends; waiters are woken by a broadcast on the stripe. */
#ifndef STRATA_TXN_TXN_DB_H
#define STRATA_TXN_TXN_DB_H

#include <stddef.h>
#include <stdint.h>

#include "strata.h"
#include "util/slice.h"

struct strata_txn_db_options {
    int64_t lock_timeout_ms; /* 1000; 0: fail at once; < 0: wait without limit */
    size_t num_stripes;      /* 16 */
};

typedef struct st_txn_db st_txn_db;

void st_txn_db_options_defaults(struct strata_txn_db_options *o);
/* Attaches a lock table to db (which must not have one).  0 or NOMEM. */
int st_txn_db_attach(strata_db *db, const struct strata_txn_db_options *o);
/* db's lock table, or NULL when it was not opened by strata_txn_db_open. */
st_txn_db *st_txn_db_of(strata_db *db);
int64_t st_txn_db_default_timeout(const st_txn_db *t);
/* A new transaction id (never 0). */
uint64_t st_txn_db_new_id(st_txn_db *t);

/* Takes (cf, key) for txn id, shared or exclusive (a holder may upgrade when it is the only one),
 * waiting up to timeout_ms (< 0: no limit).  0, or BUSY with "lock wait timed out ..." or
 * "deadlock detected ..." (deadlock_detect), or NOMEM. */
int st_txn_db_lock(st_txn_db *t, uint64_t id, uint32_t cf, st_slice key, int exclusive,
                   int64_t timeout_ms, int deadlock_detect);
/* Releases id's hold on (cf, key) (nothing if it holds none) and wakes the stripe's waiters. */
void st_txn_db_unlock(st_txn_db *t, uint64_t id, uint32_t cf, st_slice key);

#endif
