/* txn_pessimistic.c — transactions that lock what they touch (txn/txn.h): a write or
 * get_for_update takes the key's row lock first (exclusive for writes), so from then on no other
 * transaction can change the key until this one ends.  With a snapshot, the key is also checked
 * once, after it is locked, for an entry newer than the snapshot (a write-write conflict that
 * happened before the lock was taken).  Plain writes (strata_put, ...) take no locks: they bypass
 * this protection. */
#include "txn/txn.h"

/* Locks key in mode (1 shared, 2 exclusive) unless held at least that strongly. */
static int lock_key(strata_txn *txn, const st_txn_family *f, st_slice key, int mode)
{
    st_txn_key *k = st_txn_keys_get(&txn->keys, f, key);
    if (!k) {
        return STRATA_E_NOMEM;
    }
    if (k->lock < mode) {
        int rc = st_txn_db_lock(txn->locks, txn->id, f->id, key, mode == 2,
                                txn->topts.lock_timeout_ms, txn->topts.deadlock_detect);
        if (rc) {
            return rc;
        }
        k->lock = mode;
    }
    if (txn->snap && !k->validated) {
        int rc = st_txn_check_unchanged(txn, f->cf, key, txn->snap->seq, "write conflict");
        if (rc) {
            return rc;
        }
        k->validated = 1;
    }
    return 0;
}

static int p_on_write(strata_txn *txn, const st_txn_family *f, st_slice key)
{
    return lock_key(txn, f, key, 2);
}

static int p_on_read(strata_txn *txn, const st_txn_family *f, st_slice key, int exclusive)
{
    return lock_key(txn, f, key, exclusive ? 2 : 1);
}

static int p_commit(strata_txn *txn)
{
    return st_db_write(txn->db, &txn->wo, &txn->wb.batch);
}

static void p_release(strata_txn *txn)
{
    for (size_t i = 0; i < txn->keys.cap; i++) {
        st_txn_key *k = &txn->keys.slots[i];
        if (k->hash && k->lock) {
            st_txn_db_unlock(txn->locks, txn->id, k->cf_id, st_slice_make(k->key, k->klen));
            k->lock = 0;
        }
    }
}

const st_txn_kind st_txn_pessimistic = {p_on_write, p_on_read, p_commit, p_release};
