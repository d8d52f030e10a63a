/* txn_optimistic.c — transactions that lock nothing and validate at commit (txn/txn.h).  Each key
 * written or read for update is tracked with the sequence number it was seen at: the snapshot's
 * when one is set, else the DB's visible sequence when it was first touched (taken before the
 * read, so a write racing with the read is a conflict, never missed).  The commit writes only if
 * no tracked key has an entry newer than its sequence, checked by the group-commit leader with
 * no other write in flight (st_db_write_checked), so validation and write are one atomic step.
 * A commit may still share a group commit with others: the leader first checks it against the
 * batches of the members before it (a tracked key among their writes is a conflict), then
 * against the DB, so each commit is validated against everything ordered before it.
 * The guard snapshot taken at begin keeps every version newer than it from being dropped by
 * compaction, so a change made after a key was tracked cannot vanish before the check.
 *
 * On a DB opened with strata_txn_db_open, pessimistic transactions may run beside: they read
 * under their row locks and write later, so an optimistic commit must not slip in between.  The
 * commit therefore takes its keys' locks (exclusive, the DB's timeout, with deadlock detection)
 * for the duration of the check and write, and a key a pessimistic transaction holds makes it
 * wait for that transaction's end (and then, usually, fail validation). */
#include "db/db_txn.h"
#include "db/write_batch.h"
#include "util/prot.h"
#include "txn/txn.h"

static int track(strata_txn *txn, const st_txn_family *f, st_slice key)
{
    st_txn_key *k = st_txn_keys_get(&txn->keys, f, key);
    if (!k) {
        return STRATA_E_NOMEM;
    }
    if (!k->validated) {
        k->seq = txn->snap ? txn->snap->seq : st_db_visible_seq(txn->db);
        k->validated = 1; /* here: "seq is set" */
    }
    return 0;
}

static int o_on_write(strata_txn *txn, const st_txn_family *f, st_slice key)
{
    return track(txn, f, key);
}

static int o_on_read(strata_txn *txn, const st_txn_family *f, st_slice key, int exclusive)
{
    (void)exclusive;
    return track(txn, f, key);
}

/* The commit check: every tracked key unchanged since it was seen. */
static int check_tracked(void *arg)
{
    strata_txn *txn = arg;
    for (size_t i = 0; i < txn->keys.cap; i++) {
        st_txn_key *k = &txn->keys.slots[i];
        if (k->hash) {
            int rc = st_txn_check_unchanged(txn, k->cf, st_slice_make(k->key, k->klen), k->seq,
                                            "transaction conflict");
            if (rc) {
                return rc;
            }
        }
    }
    return 0;
}

/* A tracked key written by a commit ordered just before this one in the same group. */
static int conflict_in(void *ctx, uint32_t cf, int type, st_slice key, st_slice value)
{
    (void)type;
    (void)value;
    const strata_txn *txn = ctx;
    if (!st_txn_keys_find(&txn->keys, cf, key)) {
        return 0;
    }
    char esc[4 * 64 + 8];
    st_escape_key(key, esc, sizeof(esc));
    return st_err(STRATA_E_BUSY, "transaction conflict on key '%s': written by a transaction "
                  "committed just before; roll back and retry", esc);
}

static int check_earlier(void *arg, const strata_batch *earlier)
{
    return st_batch_for_each_cf(earlier, arg, conflict_in);
}

/* Releases the commit locks taken on the first n tracked slots. */
static void unlock_upto(strata_txn *txn, st_txn_db *locks, uint64_t id, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        st_txn_key *k = &txn->keys.slots[i];
        if (k->hash) {
            st_txn_db_unlock(locks, id, k->cf_id, st_slice_make(k->key, k->klen));
        }
    }
}

static int o_commit(strata_txn *txn)
{
    st_txn_db *locks = st_txn_db_of(txn->db);
    st_write_check c = {check_tracked, check_earlier, txn};
    if (!locks) {
        return st_db_write_checked(txn->db, &txn->wo, &txn->wb.batch, &c);
    }
    uint64_t id = st_txn_db_new_id(locks);
    size_t i = 0;
    int rc = 0;
    for (; !rc && i < txn->keys.cap; i++) {
        st_txn_key *k = &txn->keys.slots[i];
        if (k->hash) {
            rc = st_txn_db_lock(locks, id, k->cf_id, st_slice_make(k->key, k->klen), 1,
                                st_txn_db_default_timeout(locks), 1);
        }
    }
    if (!rc) {
        rc = st_db_write_checked(txn->db, &txn->wo, &txn->wb.batch, &c);
    } else {
        i--; /* the slot that failed holds no lock */
    }
    unlock_upto(txn, locks, id, i);
    return rc;
}

static void o_release(strata_txn *txn)
{
    (void)txn;
}

const st_txn_kind st_txn_optimistic = {o_on_write, o_on_read, o_commit, o_release};
