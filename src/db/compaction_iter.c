/* compaction_iter.c — the per-key decisions of a compaction or flush (db/compaction_iter.h). */
#include "db/compaction_iter.h"

#include <stdlib.h>
#include <string.h>

#include "db/merge_op.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/ikey.h"
#include "util/status.h"

void st_cpass_init(st_cpass *p)
{
    memset(p, 0, sizeof(*p));
    p->last_stripe = -1;
    p->filtered_min_seq = UINT64_MAX;
}

void st_cpass_free(st_cpass *p)
{
    st_buf_free(&p->cur_key);
    st_merge_ops_free(&p->ops);
    st_buf_free(&p->op_seqs);
    st_buf_free(&p->scratch);
    st_buf_free(&p->merged);
}

int st_cpass_stripe(const st_cpass *p, uint64_t seq)
{
    int lo = 0, hi = p->nsnaps;
    while (lo < hi) { /* first snapshot >= seq */
        int mid = (lo + hi) / 2;
        if (p->snaps[mid] < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int st_cpass_is_new_key(const st_cpass *p, st_slice ukey)
{
    return !p->has_cur || st_ucmp(p->ucmp, ukey, st_buf_slice(&p->cur_key)) != 0;
}

static st_slice cur_key(const st_cpass *p)
{
    return st_buf_slice(&p->cur_key);
}

static int is_base(st_cpass *p)
{
    return p->is_base && p->is_base(p->base_arg, cur_key(p));
}

static int emit(st_cpass *p, uint64_t seq, int type, st_slice value)
{
    if (p->in_ikey.size && st_ikey_trailer(p->in_ikey) == st_pack_trailer(seq, type)) {
        return p->emit(p->emit_arg, p->in_ikey, value); /* the entry as it came: no re-encoding */
    }
    st_buf_clear(&p->scratch);
    if (st_ikey_append(&p->scratch, cur_key(p), seq, type)) {
        return st_err(STRATA_E_NOMEM, "out of memory compacting");
    }
    return p->emit(p->emit_arg, st_buf_slice(&p->scratch), value);
}

/* A deletion at seq: dropped in stripe 0 at the base, else written. */
static int emit_deletion(st_cpass *p, uint64_t seq, int stripe, int type)
{
    if (stripe == 0 && is_base(p)) {
        return 0;
    }
    return emit(p, seq, type, st_slice_make("", 0));
}

/* A value (plain, or TTL with its expiry prefix) that is the newest of its stripe: through the
 * compaction filter when no snapshot can see it, then written. */
static int emit_value(st_cpass *p, uint64_t seq, int stripe, int type, st_slice value)
{
    if (!p->filter || stripe != p->nsnaps) {
        return emit(p, seq, type, value);
    }
    st_slice user = value;
    if (type == ST_TYPE_VALUE_TTL) {
        st_slice_remove_prefix(&user, ST_TTL_PREFIX);
    }
    char *nv = NULL;
    size_t nlen = 0;
    st_slice k = cur_key(p);
    int d = p->filter->filter(p->filter->state, p->level, k.data, k.size, user.data, user.size,
                              &nv, &nlen);
    if ((d == STRATA_FILTER_REMOVE || d == STRATA_FILTER_CHANGE) && seq < p->filtered_min_seq) {
        p->filtered_min_seq = seq;
    }
    if (d == STRATA_FILTER_REMOVE) {
        free(nv);
        p->filtered++;
        return emit_deletion(p, seq, stripe, ST_TYPE_DELETION);
    }
    if (d != STRATA_FILTER_CHANGE) {
        free(nv);
        return emit(p, seq, type, value);
    }
    p->filtered++;
    st_buf out = ST_BUF_INIT;
    int rc = 0;
    if (type == ST_TYPE_VALUE_TTL) {
        rc = st_buf_append(&out, value.data, ST_TTL_PREFIX);
    }
    rc = rc || st_buf_append(&out, nv ? nv : "", nv ? nlen : 0);
    free(nv);
    rc = rc ? st_err(STRATA_E_NOMEM, "out of memory compacting") : emit(p, seq, type,
                                                                       st_buf_slice(&out));
    st_buf_free(&out);
    return rc;
}

/* Operand i, 0 = newest. */
static st_slice op_at(const st_cpass *p, int i)
{
    return st_merge_ops_at(&p->ops, i);
}

static uint64_t op_seq(const st_cpass *p, int i)
{
    return ((const uint64_t *)(const void *)p->op_seqs.data)[i];
}

static void clear_ops(st_cpass *p)
{
    st_merge_ops_clear(&p->ops);
    st_buf_clear(&p->op_seqs);
}

static int hold_op(st_cpass *p, uint64_t seq, int stripe, st_slice value)
{
    if (p->ops.n == 0) {
        p->ops_stripe = stripe;
        p->ops_seq = seq;
    }
    if (st_buf_append(&p->op_seqs, &seq, sizeof(seq))) {
        return st_err(STRATA_E_NOMEM, "out of memory compacting merge operands");
    }
    int rc = st_merge_ops_add(&p->ops, value);
    if (rc) {
        p->op_seqs.len -= sizeof(seq);
    }
    return rc;
}

/* Writes the held operands: folded into one by partial merges when the operator agrees to every
 * step, else each as it was. */
static int emit_ops(st_cpass *p)
{
    int n = p->ops.n, rc = 0, folded = n > 1 && p->mo && p->mo->partial_merge;
    if (folded) {
        st_slice oldest = op_at(p, n - 1);
        rc = st_buf_assign(&p->merged, oldest.data, oldest.size)
                 ? st_err(STRATA_E_NOMEM, "out of memory compacting")
                 : 0;
        st_buf acc = ST_BUF_INIT;
        for (int i = n - 2; !rc && folded && i >= 0; i--) {
            int r = st_merge_partial(p->mo, cur_key(p), st_buf_slice(&p->merged), op_at(p, i),
                                     &acc);
            if (r < 0) {
                rc = r;
            } else if (r == 0) {
                folded = 0;
            } else {
                st_buf t = p->merged;
                p->merged = acc;
                acc = t;
            }
        }
        st_buf_free(&acc);
    }
    if (!rc && folded) {
        p->merges++;
        rc = emit(p, p->ops_seq, ST_TYPE_MERGE, st_buf_slice(&p->merged));
    }
    for (int i = 0; !rc && !folded && i < n; i++) {
        rc = emit(p, op_seq(p, i), ST_TYPE_MERGE, op_at(p, i));
    }
    p->last_stripe = p->ops_stripe;
    clear_ops(p);
    return rc;
}

/* Full merge of the held operands onto base (NULL: none), written as a value at the newest
 * operand's seq.  *kept = 1 when the operator failed: the operands were then written as they
 * were, and the base must be written too (it is not consumed). */
static int merge_onto(st_cpass *p, const st_slice *base, int *kept)
{
    *kept = 0;
    int rc = p->mo ? st_merge_ops_full(p->mo, cur_key(p), base, &p->ops, 1, &p->merged)
                   : STRATA_E_MERGE;
    if (rc == STRATA_E_MERGE) {
        /* Reads report the failure; compaction keeps everything so nothing is lost. */
        *kept = 1;
        rc = emit_ops(p);
        p->last_stripe = -1; /* the base (and each older stripe) is still to be kept */
        return rc;
    }
    if (rc) {
        return rc;
    }
    p->merges++;
    uint64_t seq = p->ops_seq;
    int stripe = p->ops_stripe;
    clear_ops(p);
    p->last_stripe = stripe;
    return emit_value(p, seq, stripe, ST_TYPE_VALUE, st_buf_slice(&p->merged));
}

/* A held single delete is written, or dropped where nothing below holds the key: one that
 * cancelled its put in any stripe (no snapshot lies between them, and older versions of its
 * stripe were dropped), a lone one in stripe 0. */
static int emit_sd(st_cpass *p, int end_of_key)
{
    int cancelled = p->sd_cancelled;
    p->has_sd = p->sd_cancelled = 0;
    p->last_stripe = p->sd_stripe;
    if (cancelled && end_of_key && is_base(p)) {
        return 0;
    }
    return emit_deletion(p, p->sd_seq, p->sd_stripe, ST_TYPE_SINGLE_DELETION);
}

int st_cpass_finish_key(st_cpass *p)
{
    p->in_ikey = st_slice_make(NULL, 0); /* held entries are re-encoded: no entry is current */
    int rc = 0;
    if (p->ops.n) {
        int kept;
        rc = p->mo && is_base(p) ? merge_onto(p, NULL, &kept) : emit_ops(p);
    }
    if (!rc && p->has_sd) {
        rc = emit_sd(p, 1);
    }
    return rc;
}

/* An entry hidden by a range tombstone of its own stripe: it acts as a deletion for operands
 * held above it, and is dropped. */
static int covered(st_cpass *p, int stripe)
{
    p->dropped_covered++;
    if (p->ops.n && p->ops_stripe == stripe) {
        int kept;
        return merge_onto(p, NULL, &kept);
    }
    return 0;
}

static int on_value(st_cpass *p, uint64_t seq, int stripe, int type, st_slice value)
{
    if (p->has_sd) { /* the put goes; the single delete stands for both (emit_sd) */
        p->sd_cancelled = 1;
        return 0;
    }
    if (p->ops.n) {
        st_slice base = value;
        if (type == ST_TYPE_VALUE_TTL) {
            st_slice_remove_prefix(&base, ST_TTL_PREFIX);
        }
        int kept, rc = merge_onto(p, &base, &kept);
        if (rc || !kept) {
            return rc;
        }
    }
    p->last_stripe = stripe;
    return emit_value(p, seq, stripe, type, value);
}

static int on_deletion(st_cpass *p, uint64_t seq, int stripe, int type)
{
    if (p->has_sd) {
        p->single_delete_misuse++;
        return emit_sd(p, 0); /* this older deletion is shadowed by it */
    }
    if (p->ops.n) {
        int kept, rc = merge_onto(p, NULL, &kept);
        if (rc || !kept) {
            return rc;
        }
    }
    if (type == ST_TYPE_SINGLE_DELETION) {
        p->has_sd = 1;
        p->sd_seq = seq;
        p->sd_stripe = stripe;
        return 0;
    }
    p->last_stripe = stripe;
    return emit_deletion(p, seq, stripe, type);
}

/* Closes what is held for a newer stripe than the entry's. */
static int close_stripe(st_cpass *p, int stripe)
{
    int rc = 0;
    if (p->ops.n && p->ops_stripe != stripe) {
        rc = emit_ops(p); /* their base is in an older stripe or level */
    }
    if (!rc && p->has_sd && p->sd_stripe != stripe) {
        rc = emit_sd(p, 0);
    }
    return rc;
}

int st_cpass_add(st_cpass *p, st_slice ikey, st_slice value)
{
    st_slice ukey;
    uint64_t seq;
    int type;
    if (st_ikey_parse(ikey, &ukey, &seq, &type) || type == ST_TYPE_RANGE_DEL) {
        return st_err(STRATA_E_CORRUPTION, "compaction input holds a corrupted internal key");
    }
    int rc = 0;
    if (st_cpass_is_new_key(p, ukey)) {
        rc = st_cpass_finish_key(p);
        if (rc || st_buf_assign(&p->cur_key, ukey.data, ukey.size)) {
            return rc ? rc : st_err(STRATA_E_NOMEM, "out of memory compacting");
        }
        p->has_cur = 1;
        p->last_stripe = -1;
    }
    p->in_ikey = ikey;
    int stripe = st_cpass_stripe(p, seq);
    if (p->rdels) {
        uint64_t t = st_rdel_list_covering_above(p->rdels, ukey, seq);
        if (t && st_cpass_stripe(p, t) == stripe) {
            return covered(p, stripe);
        }
    }
    rc = close_stripe(p, stripe);
    if (rc || stripe == p->last_stripe || (p->has_sd && p->sd_cancelled)) {
        return rc; /* a newer version of this stripe was kept, or deleted the key */
    }
    if (type == ST_TYPE_VALUE_TTL) {
        if (value.size < ST_TTL_PREFIX) {
            return st_err(STRATA_E_CORRUPTION, "compaction input: TTL value of %zu bytes",
                          value.size);
        }
        if (st_decode_fixed64(value.data) <= p->now) {
            p->dropped_expired++;
            if (p->has_sd) { /* the put a single delete deletes, expired or not */
                p->sd_cancelled = 1;
                return 0;
            }
            type = ST_TYPE_DELETION;
        }
    }
    switch (type) {
    case ST_TYPE_MERGE:
        if (p->has_sd) { /* an operand under a single delete: misuse; the delete shadows it */
            p->single_delete_misuse++;
            return emit_sd(p, 0);
        }
        return hold_op(p, seq, stripe, value);
    case ST_TYPE_VALUE:
    case ST_TYPE_VALUE_TTL: return on_value(p, seq, stripe, type, value);
    case ST_TYPE_DELETION:
    case ST_TYPE_SINGLE_DELETION: return on_deletion(p, seq, stripe, type);
    default:
        return st_err(STRATA_E_CORRUPTION, "compaction input holds an entry of unsupported type %d",
                      type);
    }
}
