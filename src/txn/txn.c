/* txn.c — what both transaction kinds share (txn/txn.h): begin and end, buffered writes, reads
 * through the transaction's own writes, snapshots, savepoints and commit. */
#include "txn/txn.h"

#include <string.h>

#include "db/db_txn.h"
#include "db/merge_op.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/prot.h"
#include "util/status.h"

void st_txn_options_defaults(struct strata_txn_options *o)
{
    o->snapshot = 1; /* snapshot isolation unless the caller opts out (issue #13) */
    o->lock_timeout_ms = -1;
    o->deadlock_detect = 1;
}

strata_txn *st_txn_create(strata_db *db, const st_txn_kind *kind, const strata_write_options *wo,
                          const strata_txn_options *txn_opts)
{
    strata_txn *txn = st_calloc(1, sizeof(*txn));
    if (!txn || st_wbwi_init(&txn->wb, db)) {
        st_free(txn);
        st_err(STRATA_E_NOMEM, "out of memory beginning a transaction");
        return NULL;
    }
    txn->db = db;
    txn->kind = kind;
    txn->wo = wo ? *wo : (struct strata_write_options){0, 0};
    if (txn_opts) {
        txn->topts = *txn_opts;
    } else {
        st_txn_options_defaults(&txn->topts);
    }
    if (kind == &st_txn_pessimistic) {
        txn->locks = st_txn_db_of(db);
        txn->id = st_txn_db_new_id(txn->locks);
        if (txn->topts.lock_timeout_ms < 0) {
            txn->topts.lock_timeout_ms = st_txn_db_default_timeout(txn->locks);
        }
    } else {
        txn->guard = strata_snapshot_create(db);
    }
    if ((kind == &st_txn_optimistic && !txn->guard) ||
        (txn->topts.snapshot && st_txn_set_snapshot(txn))) {
        st_txn_destroy(txn);
        return NULL;
    }
    return txn;
}

/* Ends the transaction: locks and snapshots go, the batch is dropped. */
static void finish(strata_txn *txn)
{
    if (txn->state == ST_TXN_DONE) {
        return;
    }
    txn->state = ST_TXN_DONE;
    txn->kind->release(txn);
    strata_snapshot_release(txn->db, txn->snap);
    strata_snapshot_release(txn->db, txn->guard);
    txn->snap = txn->guard = NULL;
    st_txn_keys_free(&txn->keys);
}

void st_txn_destroy(strata_txn *txn)
{
    if (txn) {
        finish(txn);
        st_wbwi_free(&txn->wb); /* only here: an iterator may still read it after a commit */
        st_free(txn);
    }
}

static int check_open(const strata_txn *txn, const char *fn)
{
    if (txn->state != ST_TXN_OPEN) {
        return st_err(STRATA_E_INVALID, "%s: the transaction has ended (committed, rolled back or "
                      "failed to commit); begin a new one", fn);
    }
    return 0;
}

int st_txn_write(strata_txn *txn, strata_cf *cf, int type, st_slice key, const st_slice *value)
{
    st_txn_family f;
    int rc = check_open(txn, "strata_txn write");
    rc = rc ? rc : st_txn_family_get(txn->db, cf, "strata_txn write", &f);
    rc = rc ? rc : txn->kind->on_write(txn, &f, key);
    return rc ? rc : st_wbwi_add(&txn->wb, &f, type, key, value);
}

void st_txn_read_options(const strata_txn *txn, const strata_read_options *ro,
                         struct strata_read_options *out)
{
    if (ro) {
        *out = *ro;
    } else {
        st_read_options_defaults(out);
    }
    if (!out->snapshot) {
        out->snapshot = txn->snap;
    }
}

/* The DB's value of key as a merge base: 1 found (in *base), 0 absent, or an error. */
static int read_base(strata_txn *txn, const strata_read_options *ro, const st_txn_family *f,
                     st_slice key, void **val, size_t *vlen)
{
    struct strata_read_options r;
    st_txn_read_options(txn, ro, &r);
    int rc = st_txn_family_read(txn->db, &r, f, key, val, vlen);
    return rc == 0 ? 1 : rc == STRATA_E_NOTFOUND ? 0 : rc;
}

static int copy_out(st_slice v, void **val, size_t *vlen)
{
    *val = st_malloc(v.size ? v.size : 1);
    if (!*val) {
        return st_err(STRATA_E_NOMEM, "out of memory copying a value of %zu bytes", v.size);
    }
    if (v.size) {
        memcpy(*val, v.data, v.size);
    }
    *vlen = v.size;
    return 0;
}

/* Resolves the batch's merge operands of key onto the base (the batch's put, or the DB's value
 * when the batch holds none) with the family's merge operator. */
static int resolve(strata_txn *txn, const strata_read_options *ro, const st_txn_family *f,
                   st_slice key, int state, st_slice value, const st_merge_ops *ops, void **val,
                   size_t *vlen)
{
    void *dbval = NULL;
    size_t dblen = 0;
    int found = state == ST_WB_VALUE;
    if (state == ST_WB_NONE) {
        found = read_base(txn, ro, f, key, &dbval, &dblen);
        value = st_slice_make(dbval, dblen);
    }
    st_buf out = ST_BUF_INIT;
    int rc = found < 0 ? found : st_merge_ops_full(f->mo, key, found ? &value : NULL, ops, 1, &out);
    rc = rc ? rc : copy_out(st_buf_slice(&out), val, vlen);
    st_buf_free(&out);
    st_free(dbval);
    return rc;
}

static int get_family(strata_txn *txn, const strata_read_options *ro, const st_txn_family *f,
                      st_slice key, void **val, size_t *vlen)
{
    int state;
    st_slice value = {NULL, 0};
    st_merge_ops ops;
    st_merge_ops_init(&ops);
    int rc = st_wbwi_lookup(&txn->wb, f, key, &state, &value, &ops);
    if (!rc && ops.n) {
        rc = resolve(txn, ro, f, key, state, value, &ops, val, vlen);
    } else if (!rc && state == ST_WB_VALUE) {
        rc = copy_out(value, val, vlen);
    } else if (!rc && state == ST_WB_DELETED) {
        rc = st_err(STRATA_E_NOTFOUND, "key not found (deleted in this transaction)");
    } else if (!rc) {
        struct strata_read_options r;
        st_txn_read_options(txn, ro, &r);
        rc = st_txn_family_read(txn->db, &r, f, key, val, vlen);
    }
    st_merge_ops_free(&ops);
    return rc;
}

int st_txn_get(strata_txn *txn, const strata_read_options *ro, strata_cf *cf, st_slice key,
               void **val, size_t *vlen)
{
    st_txn_family f;
    int rc = check_open(txn, "strata_txn_get");
    rc = rc ? rc : st_txn_family_get(txn->db, cf, "strata_txn_get", &f);
    return rc ? rc : get_family(txn, ro, &f, key, val, vlen);
}

int st_txn_get_for_update(strata_txn *txn, const strata_read_options *ro, strata_cf *cf,
                          st_slice key, void **val, size_t *vlen, int exclusive)
{
    st_txn_family f;
    int rc = check_open(txn, "strata_txn_get_for_update");
    rc = rc ? rc : st_txn_family_get(txn->db, cf, "strata_txn_get_for_update", &f);
    rc = rc ? rc : txn->kind->on_read(txn, &f, key, exclusive);
    return rc ? rc : get_family(txn, ro, &f, key, val, vlen);
}

int st_txn_check_unchanged(strata_txn *txn, strata_cf *cf, st_slice key, uint64_t seq,
                           const char *what)
{
    uint64_t latest = 0;
    int rc = st_db_key_changed_since(txn->db, cf, key, seq, &latest);
    if (rc || latest <= seq) {
        return rc;
    }
    char esc[4 * 64 + 8];
    st_escape_key(key, esc, sizeof(esc));
    return st_err(STRATA_E_BUSY, "%s on key '%s': written at sequence %llu, after %llu; roll "
                  "back and retry", what, esc, (unsigned long long)latest,
                  (unsigned long long)seq);
}

int st_txn_set_snapshot(strata_txn *txn)
{
    int rc = check_open(txn, "strata_txn_set_snapshot");
    if (rc) {
        return rc;
    }
    const strata_snapshot *s = strata_snapshot_create(txn->db);
    if (!s) {
        return STRATA_E_NOMEM;
    }
    strata_snapshot_release(txn->db, txn->snap);
    txn->snap = s;
    return 0;
}

int st_txn_set_savepoint(strata_txn *txn)
{
    int rc = check_open(txn, "strata_txn_set_savepoint");
    return rc ? rc : st_wbwi_set_savepoint(&txn->wb);
}

int st_txn_rollback_to_savepoint(strata_txn *txn)
{
    int rc = check_open(txn, "strata_txn_rollback_to_savepoint");
    return rc ? rc : st_wbwi_rollback_to_savepoint(&txn->wb);
}

/* Whatever the outcome the transaction ends: a failed commit (conflict, I/O error) wrote
 * nothing, and retrying means beginning again with fresh reads. */
int st_txn_commit(strata_txn *txn)
{
    int rc = check_open(txn, "strata_txn_commit");
    if (rc) {
        return rc;
    }
    rc = txn->kind->commit(txn);
    char msg[ST_ERRMSG_MAX];
    snprintf(msg, sizeof(msg), "%s", rc ? st_errmsg() : "");
    finish(txn);
    return rc ? st_err_set(rc, msg) : 0;
}

int st_txn_rollback(strata_txn *txn)
{
    int rc = check_open(txn, "strata_txn_rollback");
    if (!rc) {
        finish(txn);
    }
    return rc;
}
