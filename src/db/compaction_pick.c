/* compaction_pick.c — choosing what to compact (leveled, score-based, parallel-safe) and the
 * per-key questions a running compaction asks.
 *
 * Picking order: L0 into the base level once L0 has l0_compaction_trigger files; otherwise the
 * levels with score >= 1, highest score first.  Within a level >= 1 the candidates are tried
 * round-robin, starting after the level's compaction pointer (the largest key of the previous
 * pick there).  Several compactions may run at once; a candidate is skipped when
 *  - one of its input files (either level) is already being compacted,
 *  - an L0 compaction is already running (L0 files overlap, so only one may run), or
 *  - its key range overlaps the range of a running compaction into the same output level
 *    (their outputs would interleave in one level).
 * Inputs are widened to clean user-key cuts: a neighbour file sharing a boundary user key with
 * an input is added, in both levels, so no user key is ever split between a compaction's inputs
 * and a file left behind (a tombstone dropped at the bottom could otherwise resurrect an older
 * value left in the upper file).
 *
 * Level >= 1 inputs are contiguous index ranges [lo, hi] of the level's sorted file array, which
 * is what the helpers below manipulate. */
#include <string.h>

#include "db/level_iter.h"
#include "db/merge_iter.h"
#include "db/version_internal.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/status.h"

/* Inputs[0] may grow while the combined input stays under this many target files. */
#define EXPAND_LIMIT_FILES 25
/* Output files end when their grandparent overlap exceeds this many target files. */
#define GRANDPARENT_LIMIT_FILES 10

typedef struct range {
    int lo, hi; /* inclusive file indexes; empty when lo > hi */
} range;

typedef struct key_range {
    st_slice smallest, largest; /* user keys */
} key_range;

static st_slice user_smallest(const st_file_meta *f)
{
    return st_ikey_user(st_file_smallest(f));
}

static st_slice user_largest(const st_file_meta *f)
{
    return st_ikey_user(st_file_largest(f));
}

/* &files[level][i], or NULL for a level without files (NULL + 0 is undefined behaviour). */
static st_file_meta *const *files_from(const st_version *v, int level, int i)
{
    return v->files[level] ? v->files[level] + i : NULL;
}

/* Widens r so that no file outside it shares a boundary user key with a file inside. */
static void clean_cut(const st_version *v, int level, range *r)
{
    const st_comparator *ucmp = v->vset->ucmp;
    st_file_meta *const *f = v->files[level];
    if (r->lo > r->hi) {
        return;
    }
    while (r->hi + 1 < v->nfiles[level] &&
           st_ucmp(ucmp, user_largest(f[r->hi]), user_smallest(f[r->hi + 1])) == 0) {
        r->hi++;
    }
    while (r->lo > 0 && st_ucmp(ucmp, user_largest(f[r->lo - 1]), user_smallest(f[r->lo])) == 0) {
        r->lo--;
    }
}

/* Files of sorted level overlapping user keys [k.smallest, k.largest], clean-cut. */
static range overlap_range(const st_version *v, int level, key_range k)
{
    const st_comparator *ucmp = v->vset->ucmp;
    range r = {0, -1};
    int n = v->nfiles[level];
    int lo = 0, hi = n; /* binary search: first file whose largest user key >= k.smallest */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (st_ucmp(ucmp, user_largest(v->files[level][mid]), k.smallest) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    int i = lo;
    r.lo = i;
    while (i < n && st_ucmp(ucmp, user_smallest(v->files[level][i]), k.largest) <= 0) {
        i++;
    }
    r.hi = i - 1;
    clean_cut(v, level, &r);
    return r;
}

static int range_busy(const st_version *v, int level, range r)
{
    for (int i = r.lo; i <= r.hi; i++) {
        if (v->files[level][i]->being_compacted) {
            return 1;
        }
    }
    return 0;
}

static uint64_t range_bytes(const st_version *v, int level, range r)
{
    uint64_t sum = 0;
    for (int i = r.lo; i <= r.hi; i++) {
        sum += v->files[level][i]->file_size;
    }
    return sum;
}

/* Widens *k to cover files[0..n). */
static void extend_keys(const st_comparator *ucmp, key_range *k, int *have,
                        st_file_meta *const *files, int n)
{
    for (int i = 0; i < n; i++) {
        st_slice s = user_smallest(files[i]), l = user_largest(files[i]);
        if (!*have || st_ucmp(ucmp, s, k->smallest) < 0) {
            k->smallest = s;
        }
        if (!*have || st_ucmp(ucmp, l, k->largest) > 0) {
            k->largest = l;
        }
        *have = 1;
    }
}

/* User-key range of all of c's inputs. */
static key_range compaction_keys(const st_compaction *c)
{
    const st_comparator *ucmp = c->input_version->vset->ucmp;
    key_range k = {{NULL, 0}, {NULL, 0}};
    int have = 0;
    extend_keys(ucmp, &k, &have, c->inputs[0], c->ninputs[0]);
    extend_keys(ucmp, &k, &have, c->inputs[1], c->ninputs[1]);
    return k;
}

static int keys_overlap(const st_comparator *ucmp, key_range a, key_range b)
{
    return st_ucmp(ucmp, a.largest, b.smallest) >= 0 && st_ucmp(ucmp, a.smallest, b.largest) <= 0;
}

/* 1 if a running compaction (or a flush being installed) into output_level overlaps k, or (for L0 inputs) any L0 compaction
 * is running. */
static int conflicts(const st_vset *vs, int level, int output_level, key_range k)
{
    for (int i = 0; i < vs->nrunning; i++) {
        const st_compaction *r = vs->running[i];
        if (level == 0 && r->level == 0) {
            return 1;
        }
        if (r->output_level != output_level) {
            continue;
        }
        if (keys_overlap(vs->ucmp, compaction_keys(r), k)) {
            return 1;
        }
    }
    key_range flush = {vs->flush_smallest, vs->flush_largest};
    return vs->flush_level > 0 && vs->flush_level == output_level &&
           keys_overlap(vs->ucmp, flush, k);
}

/* ---- Building a compaction ----------------------------------------------------------------- */

static int copy_files(st_file_meta ***dst, int *n, st_file_meta *const *src, int cnt)
{
    *dst = NULL;
    *n = 0;
    if (cnt <= 0) {
        return 0;
    }
    *dst = st_malloc((size_t)cnt * sizeof(**dst));
    if (!*dst) {
        return STRATA_E_NOMEM;
    }
    memcpy(*dst, src, (size_t)cnt * sizeof(**dst));
    *n = cnt;
    return 0;
}

/* Files of level (output_level + 1) overlapping k, for output cutting. */
static int set_grandparents(st_compaction *c, key_range k)
{
    const st_version *v = c->input_version;
    int gl = c->output_level + 1;
    if (gl >= v->num_levels || c->output_level == c->level) {
        return 0;
    }
    range r = overlap_range(v, gl, k);
    return copy_files(&c->grandparents, &c->ngrandparents, files_from(v, gl, r.lo),
                      r.hi - r.lo + 1);
}

static void free_compaction(st_compaction *c)
{
    if (!c) {
        return;
    }
    st_free(c->inputs[0]);
    st_free(c->inputs[1]);
    st_free(c->grandparents);
    st_free(c);
}

/* Registers c as running: marks its files, references its version. */
static int start(st_vset *vs, st_compaction *c)
{
    if (vs->nrunning == vs->cap_running) {
        int ncap = vs->cap_running ? vs->cap_running * 2 : 8;
        st_compaction **p = st_realloc(vs->running, (size_t)ncap * sizeof(*p));
        if (!p) {
            return STRATA_E_NOMEM;
        }
        vs->running = p;
        vs->cap_running = ncap;
    }
    vs->running[vs->nrunning++] = c;
    for (int w = 0; w < 2; w++) {
        for (int i = 0; i < c->ninputs[w]; i++) {
            c->inputs[w][i]->being_compacted = 1;
        }
    }
    st_version_ref(c->input_version);
    return 0;
}

/* A compaction of inputs0 (from level) and inputs1 (from output_level), started.  NULL when out
 * of memory. */
static st_compaction *make(st_vset *vs, int level, int output_level, st_file_meta *const *in0,
                           int n0, st_file_meta *const *in1, int n1, int manual)
{
    st_compaction *c = st_calloc(1, sizeof(*c));
    if (!c) {
        return NULL;
    }
    c->level = level;
    c->output_level = output_level;
    c->manual = manual;
    c->input_version = vs->current;
    c->max_output_file_size = vs->target_file_size;
    c->max_grandparent_overlap = GRANDPARENT_LIMIT_FILES * vs->target_file_size;
    if (copy_files(&c->inputs[0], &c->ninputs[0], in0, n0) ||
        copy_files(&c->inputs[1], &c->ninputs[1], in1, n1) ||
        set_grandparents(c, compaction_keys(c)) || start(vs, c)) {
        free_compaction(c);
        st_err(STRATA_E_NOMEM, "compaction: out of memory");
        return NULL;
    }
    return c;
}

static key_range keys_of(const st_version *v, int level, range r)
{
    key_range k = {{NULL, 0}, {NULL, 0}};
    int have = 0;
    extend_keys(v->vset->ucmp, &k, &have, files_from(v, level, r.lo), r.hi - r.lo + 1);
    return k;
}

static key_range union_keys(const st_comparator *ucmp, key_range a, key_range b, int b_empty)
{
    if (!b_empty) {
        if (st_ucmp(ucmp, b.smallest, a.smallest) < 0) {
            a.smallest = b.smallest;
        }
        if (st_ucmp(ucmp, b.largest, a.largest) > 0) {
            a.largest = b.largest;
        }
    }
    return a;
}

/* Grows in0 to every level file inside the combined range when that adds no output-level file,
 * nothing it adds is busy, and the total stays under the size limit. */
static void maybe_expand(const st_vset *vs, const st_version *v, int level, range *in0,
                         range in1)
{
    if (in1.lo > in1.hi) {
        return;
    }
    key_range all = union_keys(vs->ucmp, keys_of(v, level, *in0), keys_of(v, level + 1, in1), 0);
    range big = overlap_range(v, level, all);
    if (big.hi - big.lo <= in0->hi - in0->lo || range_busy(v, level, big) ||
        range_bytes(v, level, big) + range_bytes(v, level + 1, in1) >=
            EXPAND_LIMIT_FILES * vs->target_file_size) {
        return;
    }
    range again = overlap_range(v, level + 1, keys_of(v, level, big));
    if (again.lo == in1.lo && again.hi == in1.hi) {
        *in0 = big;
    }
}

/* Tries the level >= 1 candidate starting at file index i.  NULL if it cannot run now. */
static st_compaction *try_file(st_vset *vs, int level, int i)
{
    const st_version *v = vs->current;
    range in0 = {i, i};
    clean_cut(v, level, &in0);
    if (range_busy(v, level, in0)) {
        return NULL;
    }
    range in1 = overlap_range(v, level + 1, keys_of(v, level, in0));
    if (range_busy(v, level + 1, in1)) {
        return NULL;
    }
    maybe_expand(vs, v, level, &in0, in1);
    key_range all = union_keys(vs->ucmp, keys_of(v, level, in0), keys_of(v, level + 1, in1),
                               in1.lo > in1.hi);
    if (conflicts(vs, level, level + 1, all)) {
        return NULL;
    }
    st_compaction *c = make(vs, level, level + 1, files_from(v, level, in0.lo),
                            in0.hi - in0.lo + 1, files_from(v, level + 1, in1.lo),
                            in1.hi - in1.lo + 1, 0);
    if (c) {
        /* The next pick in this level starts after this one (also recorded in the MANIFEST by
         * st_compaction_add_input_deletions). */
        st_buf_assign(&vs->pointers[level], c->inputs[0][c->ninputs[0] - 1]->largest,
                      c->inputs[0][c->ninputs[0] - 1]->largest_len);
    }
    return c;
}

/* Index of the first file after the level's compaction pointer (0 if none or past the end). */
static int pointer_start(const st_vset *vs, const st_version *v, int level)
{
    const st_buf *p = &vs->pointers[level];
    if (p->len < ST_IKEY_TRAILER) {
        return 0;
    }
    int lo = 0, hi = v->nfiles[level];
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (st_ikey_cmp(vs->ucmp, st_file_largest(v->files[level][mid]), st_buf_slice(p)) <= 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < v->nfiles[level] ? lo : 0;
}

static st_compaction *pick_level(st_vset *vs, int level)
{
    const st_version *v = vs->current;
    int n = v->nfiles[level];
    int start_at = pointer_start(vs, v, level);
    for (int k = 0; k < n; k++) {
        st_compaction *c = try_file(vs, level, (start_at + k) % n);
        if (c) {
            return c;
        }
    }
    return NULL;
}

static st_compaction *pick_l0(st_vset *vs)
{
    const st_version *v = vs->current;
    int n = v->nfiles[0], out = v->base_level;
    if (n == 0 || range_busy(v, 0, (range){0, n - 1})) {
        return NULL;
    }
    key_range k = keys_of(v, 0, (range){0, n - 1});
    range in1 = overlap_range(v, out, k);
    if (range_busy(v, out, in1)) {
        return NULL;
    }
    k = union_keys(vs->ucmp, k, keys_of(v, out, in1), in1.lo > in1.hi);
    if (conflicts(vs, 0, out, k)) {
        return NULL;
    }
    return make(vs, 0, out, v->files[0], n, files_from(v, out, in1.lo), in1.hi - in1.lo + 1, 0);
}

static st_compaction *manual_make(st_vset *vs, int level, st_file_meta **files, int n, int *busy);

/* The seek-compaction candidate, if it is still live and idle (see charge_seek in version.c). */
static st_compaction *pick_seek(st_vset *vs)
{
    uint64_t number = atomic_exchange_explicit(&vs->seek_file, 0, memory_order_relaxed);
    int level = atomic_load_explicit(&vs->seek_level, memory_order_relaxed);
    const st_version *v = vs->current;
    if (number == 0 || level < 0 || level >= v->num_levels - 1) {
        return NULL;
    }
    for (int i = 0; i < v->nfiles[level]; i++) {
        if (v->files[level][i]->number == number) {
            return level == 0 ? pick_l0(vs) : try_file(vs, level, i);
        }
    }
    return NULL; /* compacted away meanwhile */
}

void st_vset_request_rewrite(st_vset *vs, uint64_t number)
{
    for (int i = 0; i < ST_REWRITE_SLOTS; i++) {
        if (atomic_load_explicit(&vs->rewrite[i], memory_order_relaxed) == number) {
            return; /* already asked */
        }
    }
    for (int i = 0; i < ST_REWRITE_SLOTS; i++) {
        uint64_t expect = 0;
        if (atomic_compare_exchange_strong_explicit(&vs->rewrite[i], &expect, number,
                                                    memory_order_relaxed, memory_order_relaxed)) {
            return;
        }
    }
}

int st_vset_rewrites_pending(st_vset *vs)
{
    for (int i = 0; i < ST_REWRITE_SLOTS; i++) {
        if (atomic_load_explicit(&vs->rewrite[i], memory_order_relaxed)) {
            return 1;
        }
    }
    return 0;
}

/* A table asked to be rewritten: a manual-style compaction (never a trivial move, which would
 * keep the damaged bytes), into the next level or in place at the last one.  A request whose
 * table is gone is dropped; one whose table is busy waits. */
static st_compaction *pick_rewrite(st_vset *vs)
{
    const st_version *v = vs->current;
    for (int s = 0; s < ST_REWRITE_SLOTS; s++) {
        uint64_t number = atomic_load_explicit(&vs->rewrite[s], memory_order_relaxed);
        st_file_meta *f = NULL;
        int level = -1;
        for (int l = 0; number && !f && l < v->num_levels; l++) {
            for (int i = 0; i < v->nfiles[l]; i++) {
                if (v->files[l][i]->number == number) {
                    f = v->files[l][i];
                    level = l;
                    break;
                }
            }
        }
        if (number && !f) {
            atomic_store_explicit(&vs->rewrite[s], 0, memory_order_relaxed);
        }
        if (!f || f->being_compacted) {
            continue;
        }
        int busy = 0;
        /* Level 0: every overlapping level-0 table must go along (pick_l0 takes them all). */
        st_compaction *c = level == 0 ? pick_l0(vs) : manual_make(vs, level, &f, 1, &busy);
        if (c) {
            c->manual = 1; /* a real rewrite, never a trivial move */
            atomic_store_explicit(&vs->rewrite[s], 0, memory_order_relaxed);
            return c;
        }
    }
    return NULL;
}

st_compaction *st_vset_pick_compaction(st_vset *vs)
{
    const st_version *v = vs->current;
    int tried_l0 = 0;
    st_compaction *rc = pick_rewrite(vs);
    if (rc) {
        return rc;
    }
    if (v->nfiles[0] >= vs->l0_compaction_trigger) {
        st_compaction *c = pick_l0(vs);
        if (c) {
            return c;
        }
        tried_l0 = 1;
    }
    /* Levels by descending score (at most ST_MAX_LEVELS of them: a selection sort is fine). */
    int done[ST_MAX_LEVELS] = {0};
    for (;;) {
        int best = -1;
        for (int k = 0; k < v->num_levels - 1; k++) {
            if (!done[k] && v->score[k] >= 1 && (best < 0 || v->score[k] > v->score[best])) {
                best = k;
            }
        }
        if (best < 0) {
            return pick_seek(vs);
        }
        done[best] = 1;
        st_compaction *c = best == 0 ? (tried_l0 ? NULL : pick_l0(vs)) : pick_level(vs, best);
        if (c) {
            return c;
        }
    }
}

/* ---- Flush placement ----------------------------------------------------------------------- */

static int l0_overlaps(const st_version *v, key_range k)
{
    for (int i = 0; i < v->nfiles[0]; i++) {
        key_range f = {user_smallest(v->files[0][i]), user_largest(v->files[0][i])};
        if (keys_overlap(v->vset->ucmp, f, k)) {
            return 1;
        }
    }
    return 0;
}

int st_vset_pick_flush_level(st_vset *vs, const st_file_meta *f)
{
    const st_version *v = vs->current;
    int base = v->base_level;
    key_range k = {user_smallest(f), user_largest(f)};
    if (base <= 0 || l0_overlaps(v, k) || conflicts(vs, -1, base, k)) {
        return 0;
    }
    for (int level = 1; level <= base; level++) {
        range r = overlap_range(v, level, k);
        if (r.lo <= r.hi) {
            return 0;
        }
    }
    if (base + 1 < v->num_levels) {
        range gp = overlap_range(v, base + 1, k);
        if (range_bytes(v, base + 1, gp) > GRANDPARENT_LIMIT_FILES * vs->target_file_size) {
            return 0;
        }
    }
    vs->flush_level = base;
    vs->flush_smallest = k.smallest;
    vs->flush_largest = k.largest;
    return base;
}

void st_vset_flush_installed(st_vset *vs)
{
    vs->flush_level = 0;
}

/* ---- Manual compaction --------------------------------------------------------------------- */

/* Index range of the overlapping files (contiguous in a sorted level). */
static range range_of(const st_version *v, int level, st_file_meta **files, int n)
{
    range r = {0, -1};
    for (int i = 0; i < v->nfiles[level]; i++) {
        if (v->files[level][i] == files[0]) {
            r.lo = i;
            r.hi = i + n - 1;
            break;
        }
    }
    return r;
}

static st_compaction *manual_make(st_vset *vs, int level, st_file_meta **files, int n, int *busy)
{
    const st_version *v = vs->current;
    int out = level == v->num_levels - 1 ? level : level + 1;
    st_file_meta *const *in0 = files;
    if (level > 0) {
        range r = range_of(v, level, files, n);
        clean_cut(v, level, &r);
        in0 = files_from(v, level, r.lo);
        n = r.hi - r.lo + 1;
    }
    key_range k = {{NULL, 0}, {NULL, 0}};
    int have = 0;
    extend_keys(vs->ucmp, &k, &have, in0, n);
    range in1 = out == level ? (range){0, -1} : overlap_range(v, out, k);
    k = union_keys(vs->ucmp, k, keys_of(v, out, in1), in1.lo > in1.hi);
    for (int i = 0; i < n; i++) {
        *busy |= in0[i]->being_compacted;
    }
    *busy |= range_busy(v, out, in1) || conflicts(vs, level, out, k);
    if (*busy) {
        return NULL;
    }
    return make(vs, level, out, in0, n, files_from(v, out, in1.lo), in1.hi - in1.lo + 1, 1);
}

st_compaction *st_vset_compact_range(st_vset *vs, int level, const st_slice *begin,
                                     const st_slice *end, int *busy)
{
    *busy = 0;
    if (level < 0 || level >= vs->num_levels) {
        return NULL;
    }
    st_slice ub, ue;
    if (begin) {
        ub = st_ikey_user(*begin);
    }
    if (end) {
        ue = st_ikey_user(*end);
    }
    st_file_meta **files = NULL;
    int n = 0;
    if (st_version_overlapping(vs->current, level, begin ? &ub : NULL, end ? &ue : NULL, &files,
                               &n) ||
        n == 0) {
        return NULL;
    }
    st_compaction *c = manual_make(vs, level, files, n, busy);
    st_free(files);
    return c;
}

/* ---- Running compactions ------------------------------------------------------------------- */

void st_compaction_release(st_compaction *c)
{
    if (!c) {
        return;
    }
    st_vset *vs = c->input_version->vset;
    for (int w = 0; w < 2; w++) {
        for (int i = 0; i < c->ninputs[w]; i++) {
            c->inputs[w][i]->being_compacted = 0;
        }
    }
    for (int i = 0; i < vs->nrunning; i++) {
        if (vs->running[i] == c) {
            vs->running[i] = vs->running[--vs->nrunning];
            break;
        }
    }
    st_version_unref(c->input_version);
    free_compaction(c);
}

int st_compaction_is_trivial_move(const st_compaction *c)
{
    if (c->level == c->output_level || c->ninputs[0] != 1 || c->ninputs[1] != 0) {
        return 0;
    }
    uint64_t overlap = 0;
    for (int i = 0; i < c->ngrandparents; i++) {
        overlap += c->grandparents[i]->file_size;
    }
    return overlap <= c->max_grandparent_overlap;
}

int st_compaction_add_input_deletions(const st_compaction *c, st_version_edit *edit)
{
    for (int w = 0; w < 2; w++) {
        int level = w == 0 ? c->level : c->output_level;
        for (int i = 0; i < c->ninputs[w]; i++) {
            int rc = st_version_edit_delete_file(edit, level, c->inputs[w][i]->number);
            if (rc) {
                return rc;
            }
        }
    }
    if (!c->manual && c->level > 0 && c->ninputs[0] > 0) {
        return st_version_edit_set_pointer(edit, c->level,
                                           st_file_largest(c->inputs[0][c->ninputs[0] - 1]));
    }
    return 0;
}

int st_compaction_is_base_level_for_key(st_compaction *c, st_slice ukey)
{
    const st_version *v = c->input_version;
    const st_comparator *ucmp = v->vset->ucmp;
    for (int level = c->output_level + 1; level < v->num_levels; level++) {
        st_file_meta *const *files = v->files[level];
        while (c->level_ptrs[level] < v->nfiles[level]) {
            const st_file_meta *f = files[c->level_ptrs[level]];
            if (st_ucmp(ucmp, ukey, user_largest(f)) <= 0) {
                if (st_ucmp(ucmp, ukey, user_smallest(f)) >= 0) {
                    return 0; /* ukey falls in this file's range */
                }
                break;
            }
            c->level_ptrs[level]++; /* keys only grow: this file is behind us for good */
        }
    }
    return 1;
}

int st_compaction_should_stop_before(st_compaction *c, st_slice ikey)
{
    const st_comparator *ucmp = c->input_version->vset->ucmp;
    while (c->grandparent_index < c->ngrandparents &&
           st_ikey_cmp(ucmp, ikey, st_file_largest(c->grandparents[c->grandparent_index])) > 0) {
        if (c->seen_key) {
            c->overlapped_bytes += c->grandparents[c->grandparent_index]->file_size;
        }
        c->grandparent_index++;
    }
    c->seen_key = 1;
    if (c->overlapped_bytes > c->max_grandparent_overlap) {
        c->overlapped_bytes = 0;
        return 1;
    }
    return 0;
}

st_iter *st_compaction_input_iter(st_compaction *c, st_table_cache *tc)
{
    st_read_flags rf = {1, 0}; /* verify everything; do not churn the block cache */
    const st_comparator *ucmp = c->input_version->vset->ucmp;
    int cap = c->ninputs[0] + 1;
    st_iter **list = st_calloc((size_t)cap, sizeof(*list));
    int n = 0;
    if (!list) {
        st_err(STRATA_E_NOMEM, "compaction iterator: out of memory");
        return NULL;
    }
    for (int w = 0; w < 2; w++) {
        int level = w == 0 ? c->level : c->output_level;
        if (c->ninputs[w] == 0) {
            continue;
        }
        if (level == 0) {
            for (int i = 0; i < c->ninputs[w]; i++) {
                const st_file_meta *f = c->inputs[w][i];
                list[n++] = st_table_cache_iter(tc, &rf, f->number, f->file_size);
            }
        } else {
            list[n++] = st_level_iter_create(tc, ucmp, &rf, c->inputs[w], c->ninputs[w]);
        }
    }
    for (int i = 0; i < n; i++) {
        if (!list[i]) {
            for (int j = 0; j < n; j++) {
                st_iter_destroy(list[j]);
            }
            st_free(list);
            st_err(STRATA_E_NOMEM, "compaction iterator: out of memory");
            return NULL;
        }
    }
    st_iter *it = st_merge_iter_create(ucmp, list, n);
    st_free(list);
    return it;
}
