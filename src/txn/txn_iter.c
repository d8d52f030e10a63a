/* txn_iter.c — an iterator over a transaction: the DB iterator (at the transaction's snapshot
 * unless ro names one) merged with the transaction's own writes to one family.  Served through
 * the ordinary strata_iter_* functions as an iterator overlay (db/db_txn.h).
 *
 * Both children are kept positioned as in a merging iterator: going forward, each is at its
 * first key >= the current one (the one at the current key produced it); going backward, at its
 * last key <= it.  A direction change re-seeks them from the current key.  Where the batch has
 * the key: its put wins, its deletion hides the DB's key (and the walk goes on), its merge
 * operands are resolved onto its put, or else the DB's value at that key, with the family's
 * merge operator.  The DB iterator applies ro's bounds itself; the batch's keys are checked
 * against copies of them. */
#include <string.h>

#include "db/db_txn.h"
#include "txn/txn.h"
#include "util/alloc.h"
#include "util/status.h"

enum { FWD, REV };

typedef struct txn_iter {
    st_txn_family f;
    strata_iter *base;
    st_wbwi_iter delta;
    st_buf lower, upper;
    int has_lower, has_upper;
    int dir, valid, status;
    char errmsg[ST_ERRMSG_MAX];
    st_buf key;
    st_slice value;
    st_merge_ops ops;
    st_buf merged;
} txn_iter;

static st_slice base_key(const txn_iter *ti)
{
    size_t n;
    const char *k = strata_iter_key(ti->base, &n);
    return st_slice_make(k, n);
}

static st_slice base_value(const txn_iter *ti)
{
    size_t n;
    const char *v = strata_iter_value(ti->base, &n);
    return st_slice_make(v, n);
}

static int delta_ok(const txn_iter *ti)
{
    if (!st_wbwi_iter_valid(&ti->delta)) {
        return 0;
    }
    st_slice k = st_wbwi_iter_key(&ti->delta);
    return !(ti->has_lower && st_ucmp(ti->f.ucmp, k, st_buf_slice(&ti->lower)) < 0) &&
           !(ti->has_upper && st_ucmp(ti->f.ucmp, k, st_buf_slice(&ti->upper)) >= 0);
}

static void fail(txn_iter *ti, int rc)
{
    if (!ti->status) {
        ti->status = rc;
        snprintf(ti->errmsg, sizeof(ti->errmsg), "%s", st_errmsg());
    }
    ti->valid = 0;
}

static void set_current(txn_iter *ti, st_slice key, st_slice value)
{
    if (st_buf_assign(&ti->key, key.data, key.size)) {
        fail(ti, st_err(STRATA_E_NOMEM, "out of memory during iteration"));
        return;
    }
    ti->value = value;
    ti->valid = 1;
}

/* The batch's view of the delta's key, the base at the same key when same_key: 1 shown (current
 * set), 0 hidden (deleted), < 0 error. */
static int delta_entry(txn_iter *ti, int same_key)
{
    int state;
    st_slice v = {NULL, 0};
    int rc = st_wbwi_iter_state(&ti->delta, &state, &v, &ti->ops);
    if (rc) {
        return rc;
    }
    st_slice key = st_wbwi_iter_key(&ti->delta);
    if (ti->ops.n == 0) {
        if (state == ST_WB_DELETED) {
            return 0;
        }
        set_current(ti, key, v);
        return 1;
    }
    st_slice bv = same_key ? base_value(ti) : v;
    int has_base = state == ST_WB_VALUE || (state == ST_WB_NONE && same_key);
    rc = st_merge_ops_full(ti->f.mo, key, has_base ? &bv : NULL, &ti->ops, 1, &ti->merged);
    if (rc) {
        return rc;
    }
    set_current(ti, key, st_buf_slice(&ti->merged));
    return 1;
}

/* Settles on the next visible key in direction dir from the children's positions. */
static void settle(txn_iter *ti)
{
    for (;;) {
        int bv = strata_iter_valid(ti->base), dv = delta_ok(ti);
        if (!bv && !dv) {
            ti->valid = 0;
            int rc = strata_iter_status(ti->base);
            if (rc) {
                fail(ti, rc);
            }
            return;
        }
        /* c < 0: the base's key comes first in this direction, > 0 the batch's, 0 the same */
        int c = !dv ? -1 : !bv ? 1 : st_ucmp(ti->f.ucmp, base_key(ti), st_wbwi_iter_key(&ti->delta));
        if (ti->dir == REV && bv && dv) {
            c = -c;
        }
        if (c < 0) {
            set_current(ti, base_key(ti), base_value(ti));
            return;
        }
        int rc = delta_entry(ti, c == 0);
        if (rc) {
            if (rc < 0) {
                fail(ti, rc);
            }
            return;
        }
        /* deleted in the batch: step both children past the key */
        if (c == 0) {
            ti->dir == FWD ? strata_iter_next(ti->base) : strata_iter_prev(ti->base);
        }
        ti->dir == FWD ? st_wbwi_iter_next(&ti->delta) : st_wbwi_iter_prev(&ti->delta);
    }
}

static int delta_at(const txn_iter *ti, st_slice key)
{
    return st_wbwi_iter_valid(&ti->delta) &&
           st_ucmp(ti->f.ucmp, st_wbwi_iter_key(&ti->delta), key) == 0;
}

static int base_at(const txn_iter *ti, st_slice key)
{
    return strata_iter_valid(ti->base) && st_ucmp(ti->f.ucmp, base_key(ti), key) == 0;
}

static int ti_valid(void *state)
{
    return ((txn_iter *)state)->valid;
}

static void ti_seek(void *state, st_slice target)
{
    txn_iter *ti = state;
    ti->dir = FWD;
    strata_iter_seek(ti->base, target.data, target.size);
    if (ti->has_lower && st_ucmp(ti->f.ucmp, target, st_buf_slice(&ti->lower)) < 0) {
        target = st_buf_slice(&ti->lower);
    }
    st_wbwi_iter_seek(&ti->delta, target);
    settle(ti);
}

static void ti_seek_for_prev(void *state, st_slice target)
{
    txn_iter *ti = state;
    ti->dir = REV;
    strata_iter_seek_for_prev(ti->base, target.data, target.size);
    if (ti->has_upper && st_ucmp(ti->f.ucmp, target, st_buf_slice(&ti->upper)) >= 0) {
        st_wbwi_iter_seek_before(&ti->delta, st_buf_slice(&ti->upper));
    } else {
        st_wbwi_iter_seek_for_prev(&ti->delta, target);
    }
    settle(ti);
}

static void ti_seek_to_first(void *state)
{
    txn_iter *ti = state;
    ti->dir = FWD;
    strata_iter_seek_to_first(ti->base);
    if (ti->has_lower) {
        st_wbwi_iter_seek(&ti->delta, st_buf_slice(&ti->lower));
    } else {
        st_wbwi_iter_seek_to_first(&ti->delta);
    }
    settle(ti);
}

static void ti_seek_to_last(void *state)
{
    txn_iter *ti = state;
    ti->dir = REV;
    strata_iter_seek_to_last(ti->base);
    if (ti->has_upper) {
        st_wbwi_iter_seek_before(&ti->delta, st_buf_slice(&ti->upper));
    } else {
        st_wbwi_iter_seek_to_last(&ti->delta);
    }
    settle(ti);
}

static void ti_next(void *state)
{
    txn_iter *ti = state;
    st_slice k = st_buf_slice(&ti->key); /* stays put: only settle changes ti->key */
    if (ti->dir == REV) {
        strata_iter_seek(ti->base, k.data, k.size);
        st_wbwi_iter_seek(&ti->delta, k);
        ti->dir = FWD;
    }
    if (base_at(ti, k)) {
        strata_iter_next(ti->base);
    }
    if (delta_at(ti, k)) {
        st_wbwi_iter_next(&ti->delta);
    }
    settle(ti);
}

static void ti_prev(void *state)
{
    txn_iter *ti = state;
    st_slice k = st_buf_slice(&ti->key);
    if (ti->dir == FWD) {
        strata_iter_seek_for_prev(ti->base, k.data, k.size);
        st_wbwi_iter_seek_for_prev(&ti->delta, k);
        ti->dir = REV;
    }
    if (base_at(ti, k)) {
        strata_iter_prev(ti->base);
    }
    if (delta_at(ti, k)) {
        st_wbwi_iter_prev(&ti->delta);
    }
    settle(ti);
}

static st_slice ti_key(void *state)
{
    return st_buf_slice(&((txn_iter *)state)->key);
}

static st_slice ti_value(void *state)
{
    return ((txn_iter *)state)->value;
}

static int ti_status(void *state)
{
    txn_iter *ti = state;
    return ti->status ? st_err_set(ti->status, ti->errmsg) : strata_iter_status(ti->base);
}

static void ti_destroy(void *state)
{
    txn_iter *ti = state;
    strata_iter_destroy(ti->base);
    st_buf_free(&ti->lower);
    st_buf_free(&ti->upper);
    st_buf_free(&ti->key);
    st_merge_ops_free(&ti->ops);
    st_buf_free(&ti->merged);
    st_free(ti);
}

static const st_iter_overlay txn_iter_ops = {
    ti_valid, ti_seek_to_first, ti_seek_to_last, ti_seek, ti_seek_for_prev, ti_next, ti_prev,
    ti_key, ti_value, ti_status, ti_destroy,
};

/* Copies ro's bounds (the caller may destroy ro while the iterator lives). */
static int copy_bounds(txn_iter *ti, const struct strata_read_options *r)
{
    ti->has_lower = r->lower != NULL;
    ti->has_upper = r->upper != NULL;
    if ((ti->has_lower && st_buf_assign(&ti->lower, r->lower, r->lower_len)) ||
        (ti->has_upper && st_buf_assign(&ti->upper, r->upper, r->upper_len))) {
        return st_err(STRATA_E_NOMEM, "out of memory creating an iterator");
    }
    return 0;
}

int st_txn_iter_create(strata_txn *txn, const strata_read_options *ro, strata_cf *cf,
                       strata_iter **it)
{
    if (txn->state != ST_TXN_OPEN) {
        return st_err(STRATA_E_INVALID, "strata_txn_iter_create: the transaction has ended");
    }
    txn_iter *ti = st_calloc(1, sizeof(*ti));
    if (!ti) {
        return st_err(STRATA_E_NOMEM, "out of memory creating an iterator");
    }
    st_merge_ops_init(&ti->ops);
    struct strata_read_options r;
    st_txn_read_options(txn, ro, &r);
    int rc = st_txn_family_get(txn->db, cf, "strata_txn_iter_create", &ti->f);
    rc = rc ? rc : copy_bounds(ti, &r);
    rc = rc ? rc : st_txn_family_iter(txn->db, &r, &ti->f, &ti->base);
    if (rc) {
        char msg[ST_ERRMSG_MAX];
        snprintf(msg, sizeof(msg), "%s", st_errmsg());
        ti_destroy(ti);
        return st_err_set(rc, msg);
    }
    st_wbwi_iter_init(&ti->delta, &txn->wb, &ti->f);
    return st_db_iter_overlay_create(&txn_iter_ops, ti, it);
}
