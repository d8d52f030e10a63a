/* db_iter.c — the user-facing iterator: a merging iterator over the pinned super-version
 * (memtable, immutables, tables) turned into user keys at one sequence number, hiding deleted
 * and shadowed entries, limited to [lower, upper).
 *
 * Invariants (as in LevelDB's design):
 *  - direction FORWARD: the internal iterator is at the entry that yields key()/value().
 *  - direction REVERSE: the internal iterator is just before every entry of the current user key
 *    (at the last entry of a smaller user key, or invalid), and key()/value() come from saved_key /
 *    saved_value.
 * Entries read are sampled (about one per MiB) for seek compaction, so scans over overlapping
 * tables make them compact, as point reads do (st_version_record_read_sample).
 *
 * Beyond LevelDB's values and deletions:
 *  - Range tombstones: the iterator holds the memtables' and the version's fragmented lists; an
 *    entry older than a tombstone covering it is hidden, and the sources that hold nothing newer
 *    than that tombstone are moved past the whole fragment in one seek
 *    (st_merge_iter_skip_forward/backward), so a deleted span costs one seek, not a step per key.
 *  - TTL values are hidden once expired (clock read at creation) and shown without their expiry.
 *  - Merge operands are resolved when the key is reached: forward, the operands and their base
 *    are consumed and the result is served from saved_key / saved_value (merged_fwd); backward,
 *    they are collected oldest first as the reverse walk meets them. */
#include <string.h>

#include "db/db_impl.h"
#include "db/db_txn.h"
#include "db/merge_iter.h"
#include "db/merge_op.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/ikey.h"
#include "util/random.h"

enum { DIR_FORWARD, DIR_REVERSE };

struct strata_iter {
    strata_db *db;
    strata_cf *cf;
    st_superversion *sv;
    st_iter *it;
    const st_comparator *ucmp;
    uint64_t seq;
    int valid;
    int dir;
    int status;
    char errmsg[ST_ERRMSG_MAX];
    st_buf saved_key;
    st_buf saved_value;
    st_buf seek_key;
    char *lower, *upper;
    size_t lower_len, upper_len;
    /* Read sampling (st_version_record_read_sample): one sample per ~1 MiB of entries read, at
     * random distances so that no key range is systematically skipped. */
    int64_t sample_left;
    st_random rnd;
    /* Range tombstones (one list per memtable with any, one for all tables) and, per merged
     * child, the largest sequence it can yield. */
    st_rdel_list *rdels[ST_MEMTABLE_RDEL_LISTS * (ST_MAX_IMM + 1) + 1];
    int nrdels;
    uint64_t *child_max;
    uint64_t now;   /* unix micros: TTL expiry */
    int merged_fwd; /* forward, but key/value come from saved_key/saved_value */
    int ttl_fwd;    /* forward at a TTL value: value() drops its expiry prefix */
    st_merge_ops ops; /* merge operands of the key being resolved */
    st_buf merged;
    /* An overlay (db/db_txn.h): every public function forwards to ovl, nothing above is used. */
    const st_iter_overlay *ovl;
    void *ovl_state;
};

static int make_seek_key(strata_iter *di, st_slice ukey, uint64_t seq, int type);

/* The newest tombstone seq <= the read seq covering ukey (0: none), and its fragment's bounds. */
static uint64_t covering(const strata_iter *di, st_slice ukey, st_slice *start, st_slice *end)
{
    uint64_t best = 0;
    for (int i = 0; i < di->nrdels; i++) {
        long f;
        uint64_t t = st_rdel_list_covering(di->rdels[i], ukey, di->seq, &f);
        if (t > best) {
            best = t;
            *start = st_rdel_list_start(di->rdels[i], (size_t)f);
            *end = st_rdel_list_end(di->rdels[i], (size_t)f);
        }
    }
    return best;
}

static int ttl_expired(const strata_iter *di, st_slice value)
{
    return value.size < ST_TTL_PREFIX || st_decode_fixed64(value.data) <= di->now;
}

static void clear_ops(strata_iter *di)
{
    st_merge_ops_clear(&di->ops);
}

static int add_op(strata_iter *di, st_slice v)
{
    return st_merge_ops_add(&di->ops, v);
}

/* Full merge of the collected operands (oldest_first: in collection order, else reversed) onto
 * base (NULL: none) into saved_value. */
static int resolve_ops(strata_iter *di, const st_slice *base, int oldest_first)
{
    int rc = st_merge_ops_full(di->cf->opts.merge_operator, st_buf_slice(&di->saved_key), base,
                               &di->ops, !oldest_first, &di->merged);
    if (!rc && st_buf_assign(&di->saved_value, di->merged.data, di->merged.len)) {
        rc = st_err(STRATA_E_NOMEM, "out of memory during iteration");
    }
    clear_ops(di);
    return rc;
}

#define SAMPLE_PERIOD_BYTES (1 << 20)

static int64_t sample_distance(strata_iter *di)
{
    return (int64_t)st_random_uniform(&di->rnd, 2 * SAMPLE_PERIOD_BYTES);
}

static void count_read(strata_iter *di, st_slice ikey)
{
    di->sample_left -= (int64_t)(ikey.size + st_iter_value(di->it).size);
    if (di->sample_left <= 0) {
        di->sample_left = sample_distance(di);
        st_version_record_read_sample(di->sv->version, ikey);
        if (st_vset_take_seek_wakeup(di->cf->vs)) {
            st_db_bg_wake(di->db);
        }
    }
}

static int set_status(strata_iter *di, int rc)
{
    if (rc && !di->status) {
        di->status = rc;
        snprintf(di->errmsg, sizeof(di->errmsg), "%s", st_errmsg());
    }
    di->valid = 0;
    return rc;
}

/* Parses the internal iterator's current key; on corruption records an error. */
static int parse_current(strata_iter *di, st_slice *ukey, uint64_t *seq, int *type)
{
    st_slice ikey = st_iter_key(di->it);
    if (st_ikey_parse(ikey, ukey, seq, type)) {
        set_status(di, st_err(STRATA_E_CORRUPTION, "corrupted internal key during iteration"));
        return 0;
    }
    count_read(di, ikey);
    return 1;
}

static int above_upper(const strata_iter *di, st_slice ukey)
{
    return di->upper &&
           st_ucmp(di->ucmp, ukey, st_slice_make(di->upper, di->upper_len)) >= 0;
}

static int below_lower(const strata_iter *di, st_slice ukey)
{
    return di->lower &&
           st_ucmp(di->ucmp, ukey, st_slice_make(di->lower, di->lower_len)) < 0;
}

static void check_child_status(strata_iter *di)
{
    int rc = st_iter_status(di->it);
    if (rc) {
        set_status(di, rc);
    }
}

static int set_saved_key(strata_iter *di, st_slice ukey)
{
    if (st_buf_assign(&di->saved_key, ukey.data, ukey.size)) {
        return set_status(di, st_err(STRATA_E_NOMEM, "out of memory during iteration"));
    }
    return 0;
}

/* Forward, at a range-hidden entry of ukey: steps past it and moves every source holding nothing
 * newer than the tombstone (seq t) to the fragment's end. */
static void skip_covered_forward(strata_iter *di, uint64_t t, st_slice end)
{
    st_iter_next(di->it);
    if (make_seek_key(di, end, ST_MAX_SEQ, ST_TYPE_FOR_SEEK) == 0) {
        st_merge_iter_skip_forward(di->it, di->ucmp, st_buf_slice(&di->seek_key), di->child_max,
                                   t);
    }
}

/* Forward, at the newest visible entry of ukey, a merge operand: consumes it, the older operands
 * and their base, and leaves the result in saved_key / saved_value. */
static void merge_forward(strata_iter *di, st_slice ukey)
{
    if (set_saved_key(di, ukey)) {
        return;
    }
    clear_ops(di);
    st_slice base;
    int has_base = 0;
    for (; st_iter_valid(di->it); st_iter_next(di->it)) {
        st_slice k, v = st_iter_value(di->it), s0, e0;
        uint64_t seq;
        int type;
        if (!parse_current(di, &k, &seq, &type)) {
            return;
        }
        if (st_ucmp(di->ucmp, k, st_buf_slice(&di->saved_key)) != 0) {
            break;
        }
        if (seq > di->seq) {
            continue;
        }
        if (di->nrdels && covering(di, k, &s0, &e0) > seq) {
            break; /* deleted below here */
        }
        if (type == ST_TYPE_MERGE) {
            if (add_op(di, v)) {
                set_status(di, STRATA_E_NOMEM);
                return;
            }
            continue;
        }
        if (type == ST_TYPE_VALUE || (type == ST_TYPE_VALUE_TTL && !ttl_expired(di, v))) {
            if (type == ST_TYPE_VALUE_TTL) {
                st_slice_remove_prefix(&v, ST_TTL_PREFIX);
            }
            /* A copy: stepping on may release the block the value lives in. */
            if (st_buf_assign(&di->saved_value, v.data, v.size)) {
                set_status(di, st_err(STRATA_E_NOMEM, "out of memory during iteration"));
                return;
            }
            base = st_buf_slice(&di->saved_value);
            has_base = 1;
        }
        st_iter_next(di->it);
        break;
    }
    int rc = st_iter_status(di->it);
    rc = rc ? rc : resolve_ops(di, has_base ? &base : NULL, 0);
    if (rc) {
        set_status(di, rc);
        return;
    }
    di->merged_fwd = 1;
    di->valid = 1;
}

/* Forward: advance to the next visible user entry, skipping entries hidden by deletions or newer
 * versions.  skipping: entries with user key <= saved_key are hidden. */
static void find_next_user_entry(strata_iter *di, int skipping)
{
    di->merged_fwd = di->ttl_fwd = 0;
    while (st_iter_valid(di->it)) {
        st_slice ukey, s0, e0;
        uint64_t seq;
        int type;
        if (!parse_current(di, &ukey, &seq, &type)) {
            return;
        }
        if (seq > di->seq ||
            (skipping && st_ucmp(di->ucmp, ukey, st_buf_slice(&di->saved_key)) <= 0)) {
            st_iter_next(di->it);
            continue;
        }
        if (above_upper(di, ukey)) {
            break;
        }
        uint64_t t = di->nrdels ? covering(di, ukey, &s0, &e0) : 0;
        if (t > seq) {
            if (set_saved_key(di, ukey)) {
                return;
            }
            skipping = 1;
            skip_covered_forward(di, t, e0);
            continue;
        }
        if (type == ST_TYPE_VALUE ||
            (type == ST_TYPE_VALUE_TTL && !ttl_expired(di, st_iter_value(di->it)))) {
            di->ttl_fwd = type == ST_TYPE_VALUE_TTL;
            di->valid = 1;
            return;
        }
        if (type == ST_TYPE_MERGE) {
            merge_forward(di, ukey);
            return;
        }
        /* a deletion, single deletion or expired value hides the rest of the key */
        if (set_saved_key(di, ukey)) {
            return;
        }
        skipping = 1;
        st_iter_next(di->it);
    }
    di->valid = 0;
    check_child_status(di);
}

/* Reverse: what the walk has gathered for saved_key so far. */
enum { REV_NONE, REV_VALUE, REV_MERGE };

/* Reverse, at entry (ukey, seq, type) no newer than the read: folds it into the gathered state
 * of saved_key (entries of a key come oldest first going backward). */
static int gather_reverse(strata_iter *di, st_slice ukey, uint64_t seq, int type, int *state,
                          int *has_base)
{
    st_slice v = st_iter_value(di->it), s0, e0;
    uint64_t t = di->nrdels ? covering(di, ukey, &s0, &e0) : 0;
    int hidden = t > seq || st_type_is_deletion(type) ||
                 (type == ST_TYPE_VALUE_TTL && ttl_expired(di, v));
    if (set_saved_key(di, ukey)) {
        return STRATA_E_NOMEM;
    }
    if (hidden) {
        clear_ops(di);
        st_buf_clear(&di->saved_value);
        *state = REV_NONE;
        *has_base = 0;
        return 0;
    }
    if (type == ST_TYPE_MERGE) {
        if (*state == REV_NONE) {
            *has_base = 0;
        } else if (*state == REV_VALUE) {
            *has_base = 1; /* saved_value holds the base */
        }
        *state = REV_MERGE;
        return add_op(di, v) ? set_status(di, STRATA_E_NOMEM) : 0;
    }
    if (type == ST_TYPE_VALUE_TTL) {
        st_slice_remove_prefix(&v, ST_TTL_PREFIX);
    }
    clear_ops(di);
    *state = REV_VALUE;
    if (st_buf_assign(&di->saved_value, v.data, v.size)) {
        return set_status(di, st_err(STRATA_E_NOMEM, "out of memory during iteration"));
    }
    return 0;
}

/* Reverse: collect the newest visible version of the previous user key into saved_*. */
static void find_prev_user_entry(strata_iter *di)
{
    int state = REV_NONE, has_base = 0;
    clear_ops(di);
    while (st_iter_valid(di->it)) {
        st_slice ukey, s0, e0;
        uint64_t seq;
        int type;
        if (!parse_current(di, &ukey, &seq, &type)) {
            return;
        }
        if (seq <= di->seq) {
            if (state != REV_NONE && st_ucmp(di->ucmp, ukey, st_buf_slice(&di->saved_key)) < 0) {
                break; /* finished the previous key; the iterator now sits before it */
            }
            if (below_lower(di, ukey)) {
                state = REV_NONE; /* out of range: stop */
                break;
            }
            uint64_t t = di->nrdels ? covering(di, ukey, &s0, &e0) : 0;
            if (gather_reverse(di, ukey, seq, type, &state, &has_base)) {
                return;
            }
            if (t > seq) {
                /* Hidden by a tombstone: older sources jump to before its fragment. */
                st_iter_prev(di->it);
                if (make_seek_key(di, s0, ST_MAX_SEQ, ST_TYPE_FOR_SEEK) == 0) {
                    st_merge_iter_skip_backward(di->it, di->ucmp, st_buf_slice(&di->seek_key),
                                                di->child_max, t);
                }
                continue;
            }
        }
        st_iter_prev(di->it);
    }
    if (state == REV_MERGE) {
        st_buf base = ST_BUF_INIT;
        int rc = has_base && st_buf_assign(&base, di->saved_value.data, di->saved_value.len)
                     ? st_err(STRATA_E_NOMEM, "out of memory during iteration")
                     : 0;
        st_slice b = st_buf_slice(&base);
        rc = rc ? rc : resolve_ops(di, has_base ? &b : NULL, 1);
        st_buf_free(&base);
        if (rc) {
            set_status(di, rc);
            return;
        }
        state = REV_VALUE;
    }
    if (state == REV_NONE) {
        di->valid = 0;
        st_buf_clear(&di->saved_key);
        di->dir = DIR_FORWARD;
        check_child_status(di);
    } else {
        di->valid = 1;
    }
}

/* Builds the internal seek key (user key, seq, type) in seek_key. */
static int make_seek_key(strata_iter *di, st_slice ukey, uint64_t seq, int type)
{
    st_buf_clear(&di->seek_key);
    if (st_ikey_append(&di->seek_key, ukey, seq, type)) {
        return set_status(di, st_err(STRATA_E_NOMEM, "out of memory during iteration"));
    }
    return 0;
}

static void iter_seek(strata_iter *di, st_slice target)
{
    if (di->lower && st_ucmp(di->ucmp, target, st_slice_make(di->lower, di->lower_len)) < 0) {
        target = st_slice_make(di->lower, di->lower_len);
    }
    di->dir = DIR_FORWARD;
    st_buf_clear(&di->saved_value);
    if (make_seek_key(di, target, di->seq, ST_TYPE_FOR_SEEK)) {
        return;
    }
    st_iter_seek(di->it, st_buf_slice(&di->seek_key));
    find_next_user_entry(di, 0);
}

/* Positions at the last visible entry with user key <= target (inclusive) or < target. */
static void iter_seek_back(strata_iter *di, st_slice target, int inclusive)
{
    di->dir = DIR_REVERSE;
    st_buf_clear(&di->saved_value);
    /* Inclusive: seek past every version of target; exclusive: to its first version. */
    int rc = inclusive ? make_seek_key(di, target, 0, 0)
                       : make_seek_key(di, target, ST_MAX_SEQ, ST_TYPE_FOR_SEEK);
    if (rc) {
        return;
    }
    st_iter_seek(di->it, st_buf_slice(&di->seek_key));
    if (!st_iter_valid(di->it)) {
        st_iter_seek_to_last(di->it);
    } else {
        int c = st_ikey_cmp(di->ucmp, st_iter_key(di->it), st_buf_slice(&di->seek_key));
        if (c > 0 || !inclusive) {
            st_iter_prev(di->it);
        }
    }
    find_prev_user_entry(di);
}

STRATA_EXPORT void strata_iter_seek(strata_iter *it, const void *key, size_t klen)
{
    if (!it || (!key && klen)) {
        return;
    }
    if (it->ovl) {
        it->ovl->seek(it->ovl_state, st_slice_make(key, klen));
        return;
    }
    iter_seek(it, st_slice_make(key, klen));
}

STRATA_EXPORT void strata_iter_seek_for_prev(strata_iter *it, const void *key, size_t klen)
{
    if (!it || (!key && klen)) {
        return;
    }
    if (it->ovl) {
        it->ovl->seek_for_prev(it->ovl_state, st_slice_make(key, klen));
        return;
    }
    st_slice target = st_slice_make(key, klen);
    if (it->upper && st_ucmp(it->ucmp, target, st_slice_make(it->upper, it->upper_len)) >= 0) {
        iter_seek_back(it, st_slice_make(it->upper, it->upper_len), 0);
    } else {
        iter_seek_back(it, target, 1);
    }
}

STRATA_EXPORT void strata_iter_seek_to_first(strata_iter *it)
{
    if (!it) {
        return;
    }
    if (it->ovl) {
        it->ovl->seek_to_first(it->ovl_state);
        return;
    }
    if (it->lower) {
        iter_seek(it, st_slice_make(it->lower, it->lower_len));
        return;
    }
    it->dir = DIR_FORWARD;
    st_buf_clear(&it->saved_value);
    st_iter_seek_to_first(it->it);
    find_next_user_entry(it, 0);
}

STRATA_EXPORT void strata_iter_seek_to_last(strata_iter *it)
{
    if (!it) {
        return;
    }
    if (it->ovl) {
        it->ovl->seek_to_last(it->ovl_state);
        return;
    }
    if (it->upper) {
        iter_seek_back(it, st_slice_make(it->upper, it->upper_len), 0);
        return;
    }
    it->dir = DIR_REVERSE;
    st_buf_clear(&it->saved_value);
    st_iter_seek_to_last(it->it);
    find_prev_user_entry(it);
}

STRATA_EXPORT void strata_iter_next(strata_iter *it)
{
    if (it && it->ovl) {
        if (it->ovl->valid(it->ovl_state)) {
            it->ovl->next(it->ovl_state);
        }
        return;
    }
    if (!it || !it->valid) {
        return;
    }
    if (it->dir == DIR_REVERSE) {
        /* The internal iterator is before the current key's entries: move onto them. */
        it->dir = DIR_FORWARD;
        if (!st_iter_valid(it->it)) {
            st_iter_seek_to_first(it->it);
        } else {
            st_iter_next(it->it);
        }
        /* saved_key holds the current key: skip all of its entries. */
    } else if (!it->merged_fwd) {
        st_slice ukey = st_ikey_user(st_iter_key(it->it));
        if (st_buf_assign(&it->saved_key, ukey.data, ukey.size)) {
            set_status(it, st_err(STRATA_E_NOMEM, "out of memory during iteration"));
            return;
        }
        st_iter_next(it->it);
    } /* merged_fwd: the merge consumed the key's entries and saved_key holds it */
    find_next_user_entry(it, 1);
}

STRATA_EXPORT void strata_iter_prev(strata_iter *it)
{
    if (it && it->ovl) {
        if (it->ovl->valid(it->ovl_state)) {
            it->ovl->prev(it->ovl_state);
        }
        return;
    }
    if (!it || !it->valid) {
        return;
    }
    if (it->dir == DIR_FORWARD) {
        /* Step back past every entry of the current user key. */
        if (it->merged_fwd) {
            /* The internal iterator is past the key (saved_key): come back onto the walk. */
            if (!st_iter_valid(it->it)) {
                st_iter_seek_to_last(it->it);
                if (!st_iter_valid(it->it)) {
                    it->valid = 0;
                    check_child_status(it);
                    return;
                }
            }
            /* now at or after the key's last entry: the loop steps back from here */
        } else {
            st_slice ukey = st_ikey_user(st_iter_key(it->it));
            if (st_buf_assign(&it->saved_key, ukey.data, ukey.size)) {
                set_status(it, st_err(STRATA_E_NOMEM, "out of memory during iteration"));
                return;
            }
        }
        it->merged_fwd = it->ttl_fwd = 0;
        for (;;) {
            st_iter_prev(it->it);
            if (!st_iter_valid(it->it)) {
                it->valid = 0;
                st_buf_clear(&it->saved_key);
                st_buf_clear(&it->saved_value);
                check_child_status(it);
                return;
            }
            st_slice k = st_ikey_user(st_iter_key(it->it));
            if (st_ucmp(it->ucmp, k, st_buf_slice(&it->saved_key)) < 0) {
                break;
            }
        }
        it->dir = DIR_REVERSE;
    }
    find_prev_user_entry(it);
}

STRATA_EXPORT int strata_iter_valid(const strata_iter *it)
{
    if (it && it->ovl) {
        return it->ovl->valid(it->ovl_state);
    }
    return it && it->valid;
}

/* An overlay's key or value (which: 0 key, 1 value); NULL and length 0 when not valid. */
static const char *overlay_bytes(const strata_iter *it, int which, size_t *len)
{
    st_slice s = {NULL, 0};
    if (it->ovl->valid(it->ovl_state)) {
        s = which ? it->ovl->value(it->ovl_state) : it->ovl->key(it->ovl_state);
    }
    if (len) {
        *len = s.size;
    }
    return s.data;
}

STRATA_EXPORT const char *strata_iter_key(const strata_iter *it, size_t *klen)
{
    if (it && it->ovl) {
        return overlay_bytes(it, 0, klen);
    }
    if (!it || !it->valid) {
        if (klen) {
            *klen = 0;
        }
        return NULL;
    }
    st_slice k = it->dir == DIR_FORWARD && !it->merged_fwd ? st_ikey_user(st_iter_key(it->it))
                                                           : st_buf_slice(&it->saved_key);
    if (klen) {
        *klen = k.size;
    }
    return k.data;
}

STRATA_EXPORT const char *strata_iter_value(const strata_iter *it, size_t *vlen)
{
    if (it && it->ovl) {
        return overlay_bytes(it, 1, vlen);
    }
    if (!it || !it->valid) {
        if (vlen) {
            *vlen = 0;
        }
        return NULL;
    }
    st_slice v = it->dir == DIR_FORWARD && !it->merged_fwd ? st_iter_value(it->it)
                                                           : st_buf_slice(&it->saved_value);
    if (it->dir == DIR_FORWARD && it->ttl_fwd) {
        st_slice_remove_prefix(&v, ST_TTL_PREFIX);
    }
    if (vlen) {
        *vlen = v.size;
    }
    return v.data;
}

STRATA_EXPORT int strata_iter_status(const strata_iter *it)
{
    if (!it) {
        return st_err(STRATA_E_INVALID, "strata_iter_status: NULL iterator");
    }
    if (it->ovl) {
        return it->ovl->status(it->ovl_state);
    }
    if (it->status) {
        return st_err_set(it->status, it->errmsg);
    }
    int rc = st_iter_status(it->it);
    return rc;
}

static void iter_free(strata_iter *it);

STRATA_EXPORT void strata_iter_destroy(strata_iter *it)
{
    if (!it) {
        return;
    }
    if (it->ovl) {
        it->ovl->destroy(it->ovl_state);
        st_free(it);
        return;
    }
    iter_free(it);
}

/* Frees what an iterator holds; it->it may be NULL (creation failed half way). */
static void iter_free(strata_iter *it)
{
    st_iter_destroy(it->it);
    st_db_sv_release(it->db, it->sv, 0);
    st_buf_free(&it->saved_key);
    st_buf_free(&it->saved_value);
    st_buf_free(&it->seek_key);
    for (int i = 0; i < it->nrdels; i++) {
        st_rdel_list_unref(it->rdels[i]);
    }
    st_free(it->child_max);
    st_merge_ops_free(&it->ops);
    st_buf_free(&it->merged);
    st_free(it->lower);
    st_free(it->upper);
    st_free(it);
}

/* Range tombstones of a memtable, if it has any. */
static int add_mem_rdels(strata_iter *di, st_memtable *m)
{
    int n = 0;
    int rc = st_memtable_num_range_dels(m) ? st_memtable_range_dels(m, di->rdels + di->nrdels, &n)
                                           : 0;
    di->nrdels += n;
    return rc;
}

static int collect_rdels(strata_iter *di, st_superversion *sv)
{
    int rc = add_mem_rdels(di, sv->mem);
    for (int i = 0; !rc && i < sv->nimm; i++) {
        rc = add_mem_rdels(di, sv->imm[i]);
    }
    st_rdel_list *l = NULL;
    rc = rc ? rc : st_version_range_dels(sv->version, &l);
    if (l) {
        di->rdels[di->nrdels++] = l;
    }
    return rc;
}

/* Builds the merging iterator over the super-version's sources, newest first, and records the
 * largest sequence each can yield (the live memtable: unbounded, it keeps growing). */
static st_iter *build_internal_iter(strata_iter *di, st_superversion *sv, const st_read_flags *rf)
{
    int cap = 1 + sv->nimm + st_version_num_iterators(sv->version), n = 0;
    st_iter **list = st_malloc(sizeof(st_iter *) * (size_t)cap);
    di->child_max = st_malloc(sizeof(uint64_t) * (size_t)cap);
    if (!list || !di->child_max) {
        st_free(list);
        return NULL;
    }
    int ok = 1;
    di->child_max[n] = UINT64_MAX;
    list[n] = st_memtable_iter(sv->mem);
    ok = list[n++] != NULL;
    for (int i = 0; ok && i < sv->nimm; i++) {
        di->child_max[n] = st_memtable_last_seq(sv->imm[i]);
        list[n] = st_memtable_iter(sv->imm[i]);
        ok = list[n++] != NULL;
    }
    int nv = 0;
    st_version_iter_max_seqs(sv->version, di->child_max + n, &nv);
    if (ok && st_version_add_iterators(sv->version, rf, &list, &n)) {
        ok = 0;
    }
    if (!ok) {
        for (int i = 0; i < n; i++) {
            st_iter_destroy(list[i]);
        }
        st_free(list);
        return NULL;
    }
    st_iter *merged = st_merge_iter_create(di->cf->ucmp, list, n);
    st_free(list);
    return merged;
}

static int copy_bound(char **dst, size_t *dlen, const char *src, size_t len)
{
    if (!src) {
        return 0;
    }
    *dst = st_memdup(src, len ? len : 1);
    *dlen = len;
    return *dst ? 0 : STRATA_E_NOMEM;
}

int st_db_iter_create(strata_db *db, strata_cf *cf, const struct strata_read_options *ro,
                      strata_iter **out)
{
    strata_iter *di = st_calloc(1, sizeof(*di));
    if (!di) {
        return st_err(STRATA_E_NOMEM, "out of memory creating an iterator");
    }
    di->db = db;
    di->cf = cf;
    di->ucmp = cf->ucmp;
    st_read_flags rf = {ro ? ro->verify_checksums : 1, ro ? ro->fill_cache : 1};
    if (ro && (copy_bound(&di->lower, &di->lower_len, ro->lower, ro->lower_len) ||
               copy_bound(&di->upper, &di->upper_len, ro->upper, ro->upper_len))) {
        st_free(di->lower);
        st_free(di->upper);
        st_free(di);
        return st_err(STRATA_E_NOMEM, "out of memory creating an iterator");
    }
    di->sv = st_db_sv_acquire(db, cf, ro ? ro->snapshot : NULL, &di->seq);
    if (!di->sv) {
        st_free(di->lower);
        st_free(di->upper);
        st_free(di);
        return STRATA_E_INVALID; /* dropped: the message is set */
    }
    st_random_seed(&di->rnd, (uint64_t)(uintptr_t)di ^ di->seq);
    di->sample_left = sample_distance(di);
    di->now = st_env_unix_micros(db->env);
    int rc = collect_rdels(di, di->sv);
    di->it = rc ? NULL : build_internal_iter(di, di->sv, &rf);
    if (!di->it) {
        if (!rc) {
            rc = st_err(STRATA_E_NOMEM, "out of memory creating an iterator");
        }
        char msg[ST_ERRMSG_MAX];
        snprintf(msg, sizeof(msg), "%s", st_errmsg());
        di->it = NULL;
        iter_free(di);
        return st_err_set(rc, msg);
    }
    *out = di;
    return 0;
}

int st_db_iter_overlay_create(const st_iter_overlay *ops, void *state, strata_iter **out)
{
    strata_iter *it = st_calloc(1, sizeof(*it));
    if (!it) {
        ops->destroy(state);
        return st_err(STRATA_E_NOMEM, "out of memory creating an iterator");
    }
    it->ovl = ops;
    it->ovl_state = state;
    *out = it;
    return 0;
}
