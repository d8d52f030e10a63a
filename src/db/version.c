/* version.c — one immutable snapshot of the live tables: reference counting, level targets and
 * compaction scores, point lookups, iterators and range queries over it.
 *
 * Invariants (established by version_builder.c, relied on here): files[0] is ordered newest first
 * and may overlap; files[k] for k >= 1 is sorted by smallest internal key and the files' ranges are
 * disjoint in internal-key order (two neighbours may share a user key at their boundary, with the
 * newer entries in the left file), so for any lookup key at most one file per level can hold its
 * newest entry.  The lists never change after the version is installed, which is what lets a
 * reader that holds a reference use them without the mutex. */
#include <assert.h>

#include "db/level_iter.h"
#include "db/version_internal.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/status.h"

/* ---- Lifetime ------------------------------------------------------------------------------ */

st_version *st_version_alloc(st_vset *vs)
{
    st_version *v = st_calloc(1, sizeof(*v));
    if (v) {
        v->vset = vs;
        v->num_levels = vs->num_levels;
        v->base_level = 1;
    }
    return v;
}

void st_version_free(st_version *v)
{
    if (!v) {
        return;
    }
    for (int level = 0; level < ST_MAX_LEVELS; level++) {
        for (int i = 0; i < v->nfiles[level]; i++) {
            st_file_meta_unref(v->files[level][i]);
        }
        st_free(v->files[level]);
    }
    st_rdel_list_unref(atomic_load_explicit(&v->rdels, memory_order_acquire));
    st_free(v);
}

void st_version_ref(st_version *v)
{
    v->refs++;
}

void st_version_unref(st_version *v)
{
    assert(v->refs > 0);
    if (--v->refs > 0) {
        return;
    }
    if (v->next) {
        v->prev->next = v->next;
        v->next->prev = v->prev;
    }
    st_version_free(v);
}

void st_vset_install(st_vset *vs, st_version *v)
{
    st_version *head = &vs->versions;
    v->prev = head->prev;
    v->next = head;
    head->prev->next = v;
    head->prev = v;
    st_version_ref(v);
    st_version *old = vs->current;
    vs->current = v;
    if (old) {
        st_version_unref(old);
    }
}

uint64_t st_version_level_bytes(const st_version *v, int level)
{
    uint64_t sum = 0;
    for (int i = 0; i < v->nfiles[level]; i++) {
        sum += v->files[level][i]->file_size;
    }
    return sum;
}

/* ---- Targets and scores -------------------------------------------------------------------- */

static uint64_t to_bytes(double d)
{
    return d >= 1.8e19 ? UINT64_MAX / 2 : (uint64_t)d;
}

/* Static targets: L1 = base, each deeper level multiplier times larger. */
static void static_targets(st_version *v)
{
    const st_vset *vs = v->vset;
    double t = (double)vs->max_bytes_for_level_base;
    v->base_level = 1;
    for (int k = 1; k < v->num_levels; k++) {
        v->level_target[k] = to_bytes(t);
        t *= vs->level_multiplier;
    }
}

/* Dynamic targets: the last level's target is the size of the largest level (at least base);
 * each level above gets the one below divided by the multiplier; levels whose target would drop
 * under base are unused and L0 compacts into the first used level.  A level above that which
 * still holds data (the DB shrank) stays in use with target base, so it drains downwards. */
static void dynamic_targets(st_version *v)
{
    const st_vset *vs = v->vset;
    int last = v->num_levels - 1, first_nonempty = 0;
    uint64_t max_size = 0;
    for (int k = 1; k <= last; k++) {
        uint64_t b = st_version_level_bytes(v, k);
        max_size = b > max_size ? b : max_size;
        if (b > 0 && !first_nonempty) {
            first_nonempty = k;
        }
    }
    double base = (double)vs->max_bytes_for_level_base;
    double t = (double)max_size > base ? (double)max_size : base;
    v->level_target[last] = to_bytes(t);
    v->base_level = last;
    for (int k = last - 1; k >= 1; k--) {
        t /= vs->level_multiplier;
        if (t < base) {
            break;
        }
        v->level_target[k] = to_bytes(t);
        v->base_level = k;
    }
    for (int k = first_nonempty; k >= 1 && k < v->base_level; k++) {
        v->level_target[k] = vs->max_bytes_for_level_base;
    }
    if (first_nonempty >= 1 && first_nonempty < v->base_level) {
        v->base_level = first_nonempty;
    }
}

void st_version_finalize(st_version *v)
{
    const st_vset *vs = v->vset;
    memset(v->level_target, 0, sizeof(v->level_target));
    memset(v->score, 0, sizeof(v->score));
    if (vs->dynamic_level_bytes) {
        dynamic_targets(v);
    } else {
        static_targets(v);
    }
    /* L0 by file count, and by size against the level it compacts into. */
    uint64_t l0_target = vs->max_bytes_for_level_base;
    if (v->level_target[v->base_level] > l0_target) {
        l0_target = v->level_target[v->base_level];
    }
    int trigger = vs->l0_compaction_trigger > 0 ? vs->l0_compaction_trigger : 1;
    double by_count = (double)v->nfiles[0] / trigger;
    double by_size = (double)st_version_level_bytes(v, 0) / (double)(l0_target ? l0_target : 1);
    v->score[0] = by_count > by_size ? by_count : by_size;
    v->pending_bytes = st_version_pending_bytes(v);
    /* The last level has nowhere to go: its score stays 0. */
    for (int k = 1; k < v->num_levels - 1; k++) {
        uint64_t b = st_version_level_bytes(v, k);
        if (v->level_target[k] > 0) {
            v->score[k] = (double)b / (double)v->level_target[k];
        } else if (b > 0) {
            v->score[k] = 1e9; /* data in an unused level: move it down first */
        }
    }
}

/* ---- Point lookup -------------------------------------------------------------------------- */

typedef struct each_state {
    st_version *v;
    const st_read_flags *rf;
    const st_get_sink *sink;
    st_slice ukey;
    uint64_t number;   /* table being probed, for messages */
    int any;           /* the probe met an entry of ukey */
    int done;          /* the sink needs nothing older */
    uint64_t last_seq; /* of the last entry passed to the sink */
} each_state;

/* Passes one table entry to the sink if it belongs to ukey. */
static int feed(each_state *s, st_slice key, st_slice value, st_pin *pin)
{
    st_slice ukey;
    uint64_t seq;
    int type;
    if (st_ikey_parse(key, &ukey, &seq, &type) || type == ST_TYPE_RANGE_DEL) {
        return st_err(STRATA_E_CORRUPTION, "table %06llu.sst: malformed internal key (%zu bytes)",
                      (unsigned long long)s->number, key.size);
    }
    if (st_ucmp(s->v->vset->ucmp, ukey, s->ukey) != 0) {
        return 1; /* past the key */
    }
    s->any = 1;
    s->last_seq = seq;
    int r = s->sink->entry(s->sink->ctx, type, seq, value, pin);
    if (r < 0) {
        return r;
    }
    s->done = r == 0;
    return 0;
}

static int each_found(void *arg, st_slice key, st_slice value, st_pin *pin)
{
    int r = feed(arg, key, value, pin);
    return r > 0 ? 0 : r;
}

/* The sink wants older entries than the table's first match (merge operands): walks on through
 * the table, whose entries of one user key may span blocks. */
static int continue_in_file(each_state *s, const st_file_meta *f)
{
    if (s->last_seq == 0) {
        return 0;
    }
    st_buf k = ST_BUF_INIT;
    int rc = st_ikey_append(&k, s->ukey, s->last_seq - 1, ST_TYPE_FOR_SEEK);
    st_iter *it = rc ? NULL : st_table_cache_iter(s->v->vset->tc, s->rf, f->number, f->file_size);
    if (!rc && !it) {
        rc = st_err(STRATA_E_NOMEM, "out of memory reading merge operands");
    }
    if (it) {
        for (st_iter_seek(it, st_buf_slice(&k)); !rc && !s->done && st_iter_valid(it);
             st_iter_next(it)) {
            st_pin none = {NULL, NULL, NULL};
            int r = feed(s, st_iter_key(it), st_iter_value(it), &none);
            if (r) {
                rc = r < 0 ? r : 0;
                break;
            }
        }
        rc = rc ? rc : st_iter_status(it);
        st_iter_destroy(it);
    }
    st_buf_free(&k);
    return rc;
}

/* Probes one key in an open table t (file f): its tombstones, then its entries. */
static int probe_table(each_state *s, const st_file_meta *f, st_table *t, st_slice lookup)
{
    s->number = f->number;
    const st_rdel_list *l = f->num_range_dels ? st_table_range_dels(t) : NULL;
    if (l) {
        s->sink->tombstones(s->sink->ctx, l);
    }
    s->any = 0;
    int rc = st_table_get(t, s->rf, lookup, each_found, s);
    if (!rc && s->any && !s->done) {
        rc = continue_in_file(s, f);
    }
    return rc;
}

static int probe(each_state *s, const st_file_meta *f, st_slice lookup)
{
    s->number = f->number;
    st_table_cache *tc = s->v->vset->tc;
    if (f->num_range_dels) {
        /* Tombstones first: they may hide the table's own older entries and everything below. */
        st_table *t;
        st_pin pin;
        int rc = st_table_cache_find(tc, f->number, f->file_size, &t, &pin);
        if (rc) {
            return rc;
        }
        const st_rdel_list *l = st_table_range_dels(t);
        if (l) {
            s->sink->tombstones(s->sink->ctx, l);
        }
        st_pin_release(&pin);
    }
    s->any = 0;
    int rc = st_table_cache_get(tc, s->rf, f->number, f->file_size, lookup, each_found, s);
    if (!rc && s->any && !s->done) {
        rc = continue_in_file(s, f);
    }
    return rc;
}

/* First file of a sorted level whose largest key is >= ikey (n if none). */
static int find_file(const st_comparator *ucmp, st_file_meta *const *files, int n, st_slice ikey)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (st_ikey_cmp(ucmp, st_file_largest(files[mid]), ikey) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static int user_in_range(const st_comparator *ucmp, st_slice ukey, const st_file_meta *f)
{
    return st_ucmp(ucmp, ukey, st_ikey_user(st_file_smallest(f))) >= 0 &&
           st_ucmp(ucmp, ukey, st_ikey_user(st_file_largest(f))) <= 0;
}

/* The first file probed by a read that had to probe another one wasted a seek; when its budget
 * runs out it becomes the seek-compaction candidate (picked when no level is over its target). */
static void charge_seek(st_vset *vs, st_file_meta *f, int level)
{
    if (atomic_fetch_sub_explicit(&f->allowed_seeks, 1, memory_order_relaxed) == 1 &&
        atomic_load_explicit(&vs->seek_file, memory_order_relaxed) == 0) {
        atomic_store_explicit(&vs->seek_level, level, memory_order_relaxed);
        atomic_store_explicit(&vs->seek_file, f->number, memory_order_relaxed);
        atomic_store_explicit(&vs->seek_wakeup, 1, memory_order_relaxed);
    }
}

int st_version_get_each(st_version *v, const st_read_flags *rf, st_slice lookup,
                        const st_get_sink *sink)
{
    assert(lookup.size >= ST_IKEY_TRAILER);
    const st_comparator *ucmp = v->vset->ucmp;
    each_state s = {v, rf, sink, st_ikey_user(lookup), 0, 0, 0, 0};
    int rc = 0, probes = 0, first_level = 0;
    st_file_meta *first = NULL;
    for (int i = 0; i < v->nfiles[0] && !rc && !s.done; i++) {
        if (user_in_range(ucmp, s.ukey, v->files[0][i])) {
            first = probes++ ? first : v->files[0][i];
            rc = probe(&s, v->files[0][i], lookup);
        }
    }
    for (int level = 1; level < v->num_levels && !rc && !s.done; level++) {
        int n = v->nfiles[level];
        int i = find_file(ucmp, v->files[level], n, lookup);
        st_file_meta *f = i < n ? v->files[level][i] : NULL;
        if (f && st_ucmp(ucmp, s.ukey, st_ikey_user(st_file_smallest(f))) >= 0) {
            if (probes++ == 0) {
                first = f;
                first_level = level;
            }
            rc = probe(&s, f, lookup);
        }
    }
    if (probes >= 2) {
        charge_seek(v->vset, first, first_level);
    }
    return rc ? rc : s.done;
}

/* A table opened once for the batch keys that fall into it. */
typedef struct open_table {
    const st_file_meta *f;
    st_table *t;
    st_pin pin;
} open_table;

static int batch_probe(open_table *o, st_table_cache *tc, each_state *s, const st_file_meta *f,
                       st_slice lookup)
{
    if (o->f != f) {
        st_pin_release(&o->pin);
        o->f = NULL;
        int rc = st_table_cache_find(tc, f->number, f->file_size, &o->t, &o->pin);
        if (rc) {
            return rc;
        }
        o->f = f;
    }
    return probe_table(s, f, o->t, lookup);
}

int st_version_multi_get(st_version *v, const st_read_flags *rf, int n, const st_slice *lookups,
                         const st_get_sink *sinks, int *done)
{
    const st_comparator *ucmp = v->vset->ucmp;
    st_table_cache *tc = v->vset->tc;
    open_table o = {NULL, NULL, {NULL, NULL, NULL}};
    int rc = 0;
    /* Level 0, newest file first: every key in a file's range, the table opened once. */
    for (int i = 0; i < v->nfiles[0] && !rc; i++) {
        const st_file_meta *f = v->files[0][i];
        for (int k = 0; k < n && !rc; k++) {
            st_slice ukey = st_ikey_user(lookups[k]);
            if (!done[k] && user_in_range(ucmp, ukey, f)) {
                each_state s = {v, rf, &sinks[k], ukey, 0, 0, 0, 0};
                rc = batch_probe(&o, tc, &s, f, lookups[k]);
                done[k] = s.done;
            }
        }
    }
    /* Deeper levels: the keys ascend, so each level's files are met in order. */
    for (int level = 1; level < v->num_levels && !rc; level++) {
        st_file_meta *const *files = v->files[level];
        int nf = v->nfiles[level], fi = 0;
        for (int k = 0; k < n && !rc && fi < nf; k++) {
            if (done[k]) {
                continue;
            }
            fi += find_file(ucmp, files + fi, nf - fi, lookups[k]);
            st_slice ukey = st_ikey_user(lookups[k]);
            if (fi < nf && st_ucmp(ucmp, ukey, st_ikey_user(st_file_smallest(files[fi]))) >= 0) {
                each_state s = {v, rf, &sinks[k], ukey, 0, 0, 0, 0};
                rc = batch_probe(&o, tc, &s, files[fi], lookups[k]);
                done[k] = s.done;
            }
        }
    }
    st_pin_release(&o.pin);
    return rc;
}

/* st_version_get on top of st_version_get_each: the newest entry decides. */
typedef struct first_entry {
    int matched, type;
    int (*found)(void *ctx, st_slice key, st_slice value, st_pin *pin);
    void *ctx;
    st_slice ukey;
} first_entry;

static void ignore_tombstones(void *ctx, const st_rdel_list *l)
{
    (void)ctx, (void)l;
}

static int first_entry_fn(void *ctx, int type, uint64_t seq, st_slice value, st_pin *pin)
{
    first_entry *fe = ctx;
    fe->matched = 1;
    fe->type = type;
    if (type != ST_TYPE_VALUE) {
        return 0;
    }
    st_buf k = ST_BUF_INIT;
    int rc = st_ikey_append(&k, fe->ukey, seq, type);
    rc = rc ? rc : fe->found(fe->ctx, st_buf_slice(&k), value, pin);
    st_buf_free(&k);
    return rc < 0 ? rc : 0;
}

int st_version_get(st_version *v, const st_read_flags *rf, st_slice lookup, int *type,
                   int (*found)(void *ctx, st_slice key, st_slice value, st_pin *pin), void *ctx)
{
    first_entry fe = {0, 0, found, ctx, st_ikey_user(lookup)};
    st_get_sink sink = {ignore_tombstones, first_entry_fn, &fe};
    int rc = st_version_get_each(v, rf, lookup, &sink);
    if (rc < 0) {
        return rc;
    }
    if (fe.matched) {
        *type = fe.type;
    }
    return fe.matched;
}

void st_version_record_read_sample(st_version *v, st_slice ikey)
{
    const st_comparator *ucmp = v->vset->ucmp;
    st_slice ukey = st_ikey_user(ikey);
    st_file_meta *first = NULL;
    int matches = 0, first_level = 0;
    for (int i = 0; i < v->nfiles[0] && matches < 2; i++) {
        if (user_in_range(ucmp, ukey, v->files[0][i])) {
            first = matches++ ? first : v->files[0][i];
        }
    }
    for (int level = 1; level < v->num_levels && matches < 2; level++) {
        int n = v->nfiles[level];
        int i = find_file(ucmp, v->files[level], n, ikey);
        st_file_meta *f = i < n ? v->files[level][i] : NULL;
        if (f && st_ucmp(ucmp, ukey, st_ikey_user(st_file_smallest(f))) >= 0 && matches++ == 0) {
            first = f;
            first_level = level;
        }
    }
    if (matches >= 2) {
        charge_seek(v->vset, first, first_level);
    }
}

/* ---- Iterators ----------------------------------------------------------------------------- */

/* Appends it (NULL means creation failed) to *list; on failure it is destroyed. */
static int push_iter(st_iter ***list, int *n, st_iter *it)
{
    if (!it) {
        return st_err(STRATA_E_NOMEM, "version iterators: out of memory");
    }
    st_iter **p = st_realloc(*list, (size_t)(*n + 1) * sizeof(*p));
    if (!p) {
        st_iter_destroy(it);
        return st_err(STRATA_E_NOMEM, "version iterators: out of memory");
    }
    p[(*n)++] = it;
    *list = p;
    return 0;
}

/* On error the iterators appended so far stay in *list, for the caller to destroy as usual. */
int st_version_add_iterators(st_version *v, const st_read_flags *rf, st_iter ***list, int *n)
{
    st_table_cache *tc = v->vset->tc;
    int rc = 0;
    for (int i = 0; i < v->nfiles[0] && !rc; i++) {
        const st_file_meta *f = v->files[0][i];
        rc = push_iter(list, n, st_table_cache_iter(tc, rf, f->number, f->file_size));
    }
    for (int level = 1; level < v->num_levels && !rc; level++) {
        if (v->nfiles[level] > 0) {
            rc = push_iter(list, n, st_level_iter_create(tc, v->vset->ucmp, rf, v->files[level],
                                                         v->nfiles[level]));
        }
    }
    return rc;
}

int st_version_iter_max_seqs(const st_version *v, uint64_t *out, int *n)
{
    int k = 0;
    for (int i = 0; i < v->nfiles[0]; i++) {
        out[k++] = v->files[0][i]->largest_seq;
    }
    for (int level = 1; level < v->num_levels; level++) {
        uint64_t m = 0;
        for (int i = 0; i < v->nfiles[level]; i++) {
            m = v->files[level][i]->largest_seq > m ? v->files[level][i]->largest_seq : m;
        }
        if (v->nfiles[level] > 0) {
            out[k++] = m;
        }
    }
    *n = k;
    return 0;
}

int st_version_num_iterators(const st_version *v)
{
    int k = v->nfiles[0];
    for (int level = 1; level < v->num_levels; level++) {
        k += v->nfiles[level] > 0;
    }
    return k;
}

int st_version_range_dels(st_version *v, st_rdel_list **out)
{
    *out = NULL;
    if (atomic_load_explicit(&v->rdels_none, memory_order_acquire)) {
        return 0;
    }
    /* acquire: pairs with the release CAS below, so the list's contents are visible. */
    st_rdel_list *l = atomic_load_explicit(&v->rdels, memory_order_acquire);
    if (!l) {
        st_rdel_builder b;
        st_rdel_builder_init(&b);
        int rc = 0;
        for (int level = 0; level < v->num_levels && !rc; level++) {
            for (int i = 0; i < v->nfiles[level] && !rc; i++) {
                const st_file_meta *f = v->files[level][i];
                if (!f->num_range_dels) {
                    continue;
                }
                st_table *t;
                st_pin pin;
                rc = st_table_cache_find(v->vset->tc, f->number, f->file_size, &t, &pin);
                if (!rc) {
                    rc = st_rdel_builder_add_list(&b, st_table_range_dels(t));
                    st_pin_release(&pin);
                }
            }
        }
        rc = rc ? rc : st_rdel_builder_finish(&b, v->vset->ucmp, &l);
        st_rdel_builder_free(&b);
        if (rc) {
            return rc;
        }
        if (!l) {
            atomic_store_explicit(&v->rdels_none, 1, memory_order_release);
            return 0;
        }
        st_rdel_list *expected = NULL;
        if (!atomic_compare_exchange_strong_explicit(&v->rdels, &expected, l,
                                                     memory_order_acq_rel,
                                                     memory_order_acquire)) {
            st_rdel_list_unref(l); /* another reader built it first */
            l = expected;
        }
    }
    st_rdel_list_ref(l);
    *out = l;
    return 0;
}

/* ---- Range queries ------------------------------------------------------------------------- */

static int file_before(const st_comparator *ucmp, const st_file_meta *f, const st_slice *begin)
{
    return begin && st_ucmp(ucmp, st_ikey_user(st_file_largest(f)), *begin) < 0;
}

static int file_after(const st_comparator *ucmp, const st_file_meta *f, const st_slice *end)
{
    return end && st_ucmp(ucmp, st_ikey_user(st_file_smallest(f)), *end) > 0;
}

/* First file of a sorted level whose largest user key is >= ukey (n if none). */
static int find_user(const st_comparator *ucmp, st_file_meta *const *files, int n, st_slice ukey)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (st_ucmp(ucmp, st_ikey_user(st_file_largest(files[mid])), ukey) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* L0: files may overlap, so a file that extends the range past begin or end widens the range
 * and the scan restarts, until the set is closed under overlap. */
static int overlapping_l0(st_version *v, st_slice *begin, st_slice *end, st_file_meta **out)
{
    const st_comparator *ucmp = v->vset->ucmp;
    int n = 0;
    for (int i = 0; i < v->nfiles[0]; i++) {
        st_file_meta *f = v->files[0][i];
        if (file_before(ucmp, f, begin) || file_after(ucmp, f, end)) {
            continue;
        }
        st_slice fs = st_ikey_user(st_file_smallest(f)), fl = st_ikey_user(st_file_largest(f));
        if (begin && st_ucmp(ucmp, fs, *begin) < 0) {
            *begin = fs;
            n = 0;
            i = -1;
        } else if (end && st_ucmp(ucmp, fl, *end) > 0) {
            *end = fl;
            n = 0;
            i = -1;
        } else {
            out[n++] = f;
        }
    }
    return n;
}

int st_version_overlapping(st_version *v, int level, const st_slice *begin, const st_slice *end,
                           st_file_meta ***out, int *n)
{
    *out = NULL;
    *n = 0;
    int total = v->nfiles[level];
    if (total == 0) {
        return 0;
    }
    st_file_meta **res = st_malloc((size_t)total * sizeof(*res));
    if (!res) {
        return st_err(STRATA_E_NOMEM, "overlapping files: out of memory");
    }
    int cnt = 0;
    if (level == 0) {
        st_slice b = begin ? *begin : st_slice_make("", 0);
        st_slice e = end ? *end : st_slice_make("", 0);
        cnt = overlapping_l0(v, begin ? &b : NULL, end ? &e : NULL, res);
    } else {
        const st_comparator *ucmp = v->vset->ucmp;
        int i = begin ? find_user(ucmp, v->files[level], total, *begin) : 0;
        for (; i < total && !file_after(ucmp, v->files[level][i], end); i++) {
            res[cnt++] = v->files[level][i];
        }
    }
    if (cnt == 0) {
        st_free(res);
        res = NULL;
    }
    *out = res;
    *n = cnt;
    return 0;
}

int st_version_overlaps(st_version *v, int level, st_slice smallest, st_slice largest)
{
    const st_comparator *ucmp = v->vset->ucmp;
    if (level == 0) {
        for (int i = 0; i < v->nfiles[0]; i++) {
            const st_file_meta *f = v->files[0][i];
            if (!file_before(ucmp, f, &smallest) && !file_after(ucmp, f, &largest)) {
                return 1;
            }
        }
        return 0;
    }
    int n = v->nfiles[level];
    int i = find_user(ucmp, v->files[level], n, smallest);
    return i < n && !file_after(ucmp, v->files[level][i], &largest);
}

/* Offset of ikey inside one table (0 if the table cannot be opened: this is an estimate). */
static uint64_t offset_in_file(st_version *v, const st_file_meta *f, st_slice ikey)
{
    st_table *t;
    st_pin pin;
    if (st_table_cache_find(v->vset->tc, f->number, f->file_size, &t, &pin)) {
        return 0;
    }
    uint64_t off = st_table_approx_offset(t, ikey);
    st_pin_release(&pin);
    return off;
}

uint64_t st_version_approx_offset(st_version *v, st_slice ikey)
{
    const st_comparator *ucmp = v->vset->ucmp;
    uint64_t result = 0;
    for (int level = 0; level < v->num_levels; level++) {
        for (int i = 0; i < v->nfiles[level]; i++) {
            const st_file_meta *f = v->files[level][i];
            if (st_ikey_cmp(ucmp, st_file_largest(f), ikey) <= 0) {
                result += f->file_size; /* entirely before ikey */
            } else if (st_ikey_cmp(ucmp, st_file_smallest(f), ikey) > 0) {
                if (level > 0) {
                    break; /* sorted: every later file is after ikey too */
                }
            } else {
                result += offset_in_file(v, f, ikey);
            }
        }
    }
    return result;
}
