/* db_txn.h — what the engine offers the transaction layer (src/txn), kept apart from db_impl.h:
 *  - a checked write: a batch written only if a caller's check passes, run by the group-commit
 *    leader with no other write in flight, so "nothing I read changed" and "my write" are one
 *    atomic step (optimistic commit);
 *  - the newest sequence number of any entry for a key (conflict detection);
 *  - iterator overlays: a strata_iter whose public functions are served by another module
 *    (the transaction iterator), so callers use the ordinary strata_iter_* functions. */
#ifndef STRATA_DB_DB_TXN_H
#define STRATA_DB_DB_TXN_H

#include <stdint.h>

#include "db/db_impl.h"
#include "strata.h"
#include "util/slice.h"

/* A validation run before a write gets its sequence numbers. */
typedef struct st_write_check {
    int (*check)(void *arg); /* 0, or an error code with the message set */
    /* Optional: non-zero (an error code, message set) when the batch of a writer committed
     * before this one in the same group writes a key check guards.  With it the writer may
     * join a group led by another: the leader checks it against the members before it and
     * then against the DB, and leaves it out (failed alone) on a conflict. */
    int (*conflicts)(void *arg, const strata_batch *earlier);
    void *arg;
} st_write_check;

/* Writes batch as st_db_write does, but first runs c->check: as the group-commit leader, after
 * every earlier write is in the memtable and visible, before this write is given sequence numbers
 * and while no other write can start (with c->conflicts set, the leader may be another writer's
 * and checks the members before it too, see st_write_check).  A failing check fails only this
 * write (nothing written, no sequence used) with check's code.  An empty batch is not written:
 * check runs at once (a read-only validation needs no write order: a key that changed stays
 * changed, so keys that all pass, checked one by one, passed together at the first check).
 * check runs without the DB mutex and may read the DB. */
int st_db_write_checked(strata_db *db, const struct strata_write_options *wo, strata_batch *batch,
                        const st_write_check *c);
/* db_write.c: st_db_write with an optional check (NULL: a plain write). */
int st_db_write_ex(strata_db *db, const struct strata_write_options *wo, strata_batch *batch,
                   const st_write_check *check);
/* Runs c for the leader: drops mu around the call (the leader role keeps every other write out,
 * as during verify_group in db_write.c).  REQUIRES mu, leader. */
int st_db_write_check_run(strata_db *db, const st_write_check *c) ST_REQUIRES(db->mu);

/* Whether key in family cf (NULL: the default family) changed after since: *seq is the newest
 * sequence number of any entry of key visible now — value, TTL value (expired or not), deletion,
 * single deletion, merge operand, or a range tombstone covering key; 0 when there is none — with
 * one shortcut: when the memtables hold every write after since (their oldest entry is at most
 * since + 1; tables hold only older ones), the tables are not read and *seq may understate older
 * entries.  Validation then costs memtable lookups only, as in RocksDB.  0, or an error
 * (CORRUPTION, IO, NOMEM; INVALID for a dropped family).  REQUIRES: cf is a family of db. */
int st_db_key_changed_since(strata_db *db, strata_cf *cf, st_slice key, uint64_t since,
                            uint64_t *seq);

/* The sequence number of the newest write every read now sees. */
uint64_t st_db_visible_seq(strata_db *db);

/* ---- iterator overlays ---------------------------------------------------------------------- */

/* The public strata_iter_* functions forward to these when the iterator is an overlay.  key and
 * value return borrowed bytes as strata_iter_key/value do; status returns a code with the
 * message set; destroy frees state. */
typedef struct st_iter_overlay {
    int (*valid)(void *state);
    void (*seek_to_first)(void *state);
    void (*seek_to_last)(void *state);
    void (*seek)(void *state, st_slice key);
    void (*seek_for_prev)(void *state, st_slice key);
    void (*next)(void *state);
    void (*prev)(void *state);
    st_slice (*key)(void *state);
    st_slice (*value)(void *state);
    int (*status)(void *state);
    void (*destroy)(void *state);
} st_iter_overlay;

/* A strata_iter served by ops over state (owned by the iterator from now on: destroyed with it,
 * also when this fails).  0 or NOMEM. */
int st_db_iter_overlay_create(const st_iter_overlay *ops, void *state, strata_iter **out);

#endif
