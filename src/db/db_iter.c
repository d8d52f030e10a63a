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
 * tables make them compact, as point reads do (st_version_record_read_sample). */
#include <string.h>

#include "db/db_impl.h"
#include "db/merge_iter.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/random.h"

enum { DIR_FORWARD, DIR_REVERSE };

struct strata_iter {
    strata_db *db;
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
};

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
        if (st_vset_take_seek_wakeup(di->db->vs)) {
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

/* Forward: advance to the next visible user entry, skipping entries hidden by deletions or newer
 * versions.  skipping: entries with user key <= saved_key are hidden. */
static void find_next_user_entry(strata_iter *di, int skipping)
{
    for (; st_iter_valid(di->it); st_iter_next(di->it)) {
        st_slice ukey;
        uint64_t seq;
        int type;
        if (!parse_current(di, &ukey, &seq, &type)) {
            return;
        }
        if (seq > di->seq) {
            continue;
        }
        if (skipping && st_ucmp(di->ucmp, ukey, st_buf_slice(&di->saved_key)) <= 0) {
            continue;
        }
        if (above_upper(di, ukey)) {
            break;
        }
        if (type == ST_TYPE_DELETION) {
            if (st_buf_assign(&di->saved_key, ukey.data, ukey.size)) {
                set_status(di, st_err(STRATA_E_NOMEM, "out of memory during iteration"));
                return;
            }
            skipping = 1;
            continue;
        }
        if (type == ST_TYPE_VALUE) {
            di->valid = 1;
            return;
        }
    }
    di->valid = 0;
    check_child_status(di);
}

/* Reverse: collect the newest visible version of the previous user key into saved_*. */
static void find_prev_user_entry(strata_iter *di)
{
    int value_type = ST_TYPE_DELETION;
    while (st_iter_valid(di->it)) {
        st_slice ukey;
        uint64_t seq;
        int type;
        if (!parse_current(di, &ukey, &seq, &type)) {
            return;
        }
        if (seq <= di->seq) {
            if (value_type != ST_TYPE_DELETION &&
                st_ucmp(di->ucmp, ukey, st_buf_slice(&di->saved_key)) < 0) {
                break; /* finished the previous key; the iterator now sits before it */
            }
            if (below_lower(di, ukey)) {
                value_type = ST_TYPE_DELETION; /* out of range: stop */
                break;
            }
            value_type = type;
            if (type == ST_TYPE_DELETION) {
                st_buf_clear(&di->saved_key);
                st_buf_clear(&di->saved_value);
            } else {
                st_slice v = st_iter_value(di->it);
                if (st_buf_assign(&di->saved_key, ukey.data, ukey.size) ||
                    st_buf_assign(&di->saved_value, v.data, v.size)) {
                    set_status(di, st_err(STRATA_E_NOMEM, "out of memory during iteration"));
                    return;
                }
            }
        }
        st_iter_prev(di->it);
    }
    if (value_type == ST_TYPE_DELETION) {
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
    iter_seek(it, st_slice_make(key, klen));
}

STRATA_EXPORT void strata_iter_seek_for_prev(strata_iter *it, const void *key, size_t klen)
{
    if (!it || (!key && klen)) {
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
    } else {
        st_slice ukey = st_ikey_user(st_iter_key(it->it));
        if (st_buf_assign(&it->saved_key, ukey.data, ukey.size)) {
            set_status(it, st_err(STRATA_E_NOMEM, "out of memory during iteration"));
            return;
        }
        st_iter_next(it->it);
    }
    find_next_user_entry(it, 1);
}

STRATA_EXPORT void strata_iter_prev(strata_iter *it)
{
    if (!it || !it->valid) {
        return;
    }
    if (it->dir == DIR_FORWARD) {
        /* Step back past every entry of the current user key. */
        st_slice ukey = st_ikey_user(st_iter_key(it->it));
        if (st_buf_assign(&it->saved_key, ukey.data, ukey.size)) {
            set_status(it, st_err(STRATA_E_NOMEM, "out of memory during iteration"));
            return;
        }
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
    return it && it->valid;
}

STRATA_EXPORT const char *strata_iter_key(const strata_iter *it, size_t *klen)
{
    if (!it || !it->valid) {
        if (klen) {
            *klen = 0;
        }
        return NULL;
    }
    st_slice k = it->dir == DIR_FORWARD ? st_ikey_user(st_iter_key(it->it))
                                        : st_buf_slice(&it->saved_key);
    if (klen) {
        *klen = k.size;
    }
    return k.data;
}

STRATA_EXPORT const char *strata_iter_value(const strata_iter *it, size_t *vlen)
{
    if (!it || !it->valid) {
        if (vlen) {
            *vlen = 0;
        }
        return NULL;
    }
    st_slice v = it->dir == DIR_FORWARD ? st_iter_value(it->it) : st_buf_slice(&it->saved_value);
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
    if (it->status) {
        return st_err_set(it->status, it->errmsg);
    }
    int rc = st_iter_status(it->it);
    return rc;
}

STRATA_EXPORT void strata_iter_destroy(strata_iter *it)
{
    if (!it) {
        return;
    }
    st_iter_destroy(it->it);
    st_db_sv_release(it->db, it->sv, 0);
    st_buf_free(&it->saved_key);
    st_buf_free(&it->saved_value);
    st_buf_free(&it->seek_key);
    st_free(it->lower);
    st_free(it->upper);
    st_free(it);
}

/* Builds the merging iterator over the super-version's sources, newest first. */
static st_iter *build_internal_iter(strata_db *db, st_superversion *sv, const st_read_flags *rf)
{
    int cap = 1 + sv->nimm, n = 0;
    st_iter **list = st_malloc(sizeof(st_iter *) * (size_t)cap);
    if (!list) {
        return NULL;
    }
    int ok = 1;
    list[n] = st_memtable_iter(sv->mem);
    ok = list[n++] != NULL;
    for (int i = 0; ok && i < sv->nimm; i++) {
        list[n] = st_memtable_iter(sv->imm[i]);
        ok = list[n++] != NULL;
    }
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
    st_iter *merged = st_merge_iter_create(db->ucmp, list, n);
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

int st_db_iter_create(strata_db *db, const struct strata_read_options *ro, strata_iter **out)
{
    strata_iter *di = st_calloc(1, sizeof(*di));
    if (!di) {
        return st_err(STRATA_E_NOMEM, "out of memory creating an iterator");
    }
    di->db = db;
    di->ucmp = db->ucmp;
    st_read_flags rf = {ro ? ro->verify_checksums : 1, ro ? ro->fill_cache : 1};
    if (ro && (copy_bound(&di->lower, &di->lower_len, ro->lower, ro->lower_len) ||
               copy_bound(&di->upper, &di->upper_len, ro->upper, ro->upper_len))) {
        st_free(di->lower);
        st_free(di->upper);
        st_free(di);
        return st_err(STRATA_E_NOMEM, "out of memory creating an iterator");
    }
    di->sv = st_db_sv_acquire(db, ro ? ro->snapshot : NULL, &di->seq);
    st_random_seed(&di->rnd, (uint64_t)(uintptr_t)di ^ di->seq);
    di->sample_left = sample_distance(di);
    di->it = build_internal_iter(db, di->sv, &rf);
    if (!di->it) {
        st_db_sv_release(db, di->sv, 0);
        st_free(di->lower);
        st_free(di->upper);
        st_free(di);
        return st_err(STRATA_E_NOMEM, "out of memory creating an iterator");
    }
    *out = di;
    return 0;
}
