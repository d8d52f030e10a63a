/* version_builder.c — applies a sequence of version edits to a base version.
 *
 * Per level the builder logs every add and delete in order (ordinal).  Saving sorts the log by
 * (file number, ordinal) so the last operation on each number decides: a delete removes the base
 * file, an add (re)places it.  That makes replaying a MANIFEST of m edits O(m log m) instead of
 * touching the whole level per edit.  The result is checked before it can be installed: every
 * file's smallest <= largest, no file number in two places, and no two files of a level >= 1
 * overlapping in internal-key order — a MANIFEST that says otherwise is corrupt, and an edit from
 * the engine that says otherwise is refused. */
#include <inttypes.h>
#include <stdlib.h>

#include "db/version_internal.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/status.h"

typedef struct file_op {
    uint64_t number;
    uint64_t ordinal;
    st_file_meta *meta; /* referenced; NULL for a delete */
} file_op;

typedef struct level_log {
    file_op *ops;
    int n, cap;
} level_log;

struct st_vbuilder {
    st_vset *vs;
    st_version *base;
    uint64_t ordinal;
    level_log levels[ST_MAX_LEVELS];
};

int st_vbuilder_create(st_vset *vs, st_version *base, st_vbuilder **out)
{
    st_vbuilder *b = st_calloc(1, sizeof(*b));
    if (!b) {
        return st_err(STRATA_E_NOMEM, "version builder: out of memory");
    }
    b->vs = vs;
    b->base = base;
    if (base) {
        st_version_ref(base);
    }
    *out = b;
    return 0;
}

void st_vbuilder_destroy(st_vbuilder *b)
{
    if (!b) {
        return;
    }
    for (int level = 0; level < ST_MAX_LEVELS; level++) {
        for (int i = 0; i < b->levels[level].n; i++) {
            st_file_meta_unref(b->levels[level].ops[i].meta);
        }
        st_free(b->levels[level].ops);
    }
    if (b->base) {
        st_version_unref(b->base);
    }
    st_free(b);
}

static int check_level(const st_vbuilder *b, int level)
{
    if (level < 0 || level >= b->vs->num_levels) {
        return st_err(STRATA_E_INVALID,
                      "version edit refers to level %d but the DB is configured with %d levels",
                      level, b->vs->num_levels);
    }
    return 0;
}

static int push_op(st_vbuilder *b, int level, uint64_t number, st_file_meta *meta)
{
    level_log *l = &b->levels[level];
    if (l->n == l->cap) {
        int ncap = l->cap ? l->cap * 2 : 8;
        file_op *p = st_realloc(l->ops, (size_t)ncap * sizeof(*p));
        if (!p) {
            return st_err(STRATA_E_NOMEM, "version builder: out of memory");
        }
        l->ops = p;
        l->cap = ncap;
    }
    if (meta) {
        st_file_meta_ref(meta);
    }
    l->ops[l->n].number = number;
    l->ops[l->n].ordinal = b->ordinal++;
    l->ops[l->n].meta = meta;
    l->n++;
    return 0;
}

int st_vbuilder_apply(st_vbuilder *b, const st_version_edit *e)
{
    for (int i = 0; i < e->n_deleted; i++) {
        int rc = check_level(b, e->deleted[i].level);
        if (!rc) {
            rc = push_op(b, e->deleted[i].level, e->deleted[i].number, NULL);
        }
        if (rc) {
            return rc;
        }
    }
    for (int i = 0; i < e->n_new; i++) {
        int rc = check_level(b, e->new_files[i].level);
        if (!rc) {
            rc = push_op(b, e->new_files[i].level, e->new_files[i].meta->number,
                         e->new_files[i].meta);
        }
        if (rc) {
            return rc;
        }
    }
    return 0;
}

/* ---- Saving -------------------------------------------------------------------------------- */

static int cmp_op(const void *a, const void *b)
{
    const file_op *x = a, *y = b;
    if (x->number != y->number) {
        return x->number < y->number ? -1 : 1;
    }
    return x->ordinal < y->ordinal ? -1 : x->ordinal > y->ordinal;
}

/* Sorts the log and keeps only the last operation per file number (dropping the references of
 * the superseded ones). */
static void squash(level_log *l)
{
    if (l->n == 0) {
        return;
    }
    qsort(l->ops, (size_t)l->n, sizeof(*l->ops), cmp_op);
    int out = 0;
    for (int i = 0; i < l->n; i++) {
        if (i + 1 < l->n && l->ops[i + 1].number == l->ops[i].number) {
            st_file_meta_unref(l->ops[i].meta);
            continue;
        }
        l->ops[out++] = l->ops[i];
    }
    l->n = out;
}

/* 1 if the squashed log has an operation on number. */
static int has_op(const level_log *l, uint64_t number)
{
    int lo = 0, hi = l->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (l->ops[mid].number < number) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < l->n && l->ops[lo].number == number;
}

/* Newest first: largest_seq descending, then file number descending. */
static int cmp_l0(const void *a, const void *b)
{
    const st_file_meta *x = *(st_file_meta *const *)a, *y = *(st_file_meta *const *)b;
    if (x->largest_seq != y->largest_seq) {
        return x->largest_seq > y->largest_seq ? -1 : 1;
    }
    return x->number > y->number ? -1 : x->number < y->number;
}

static int cmp_smallest(const void *a, const void *b, void *ucmp)
{
    const st_file_meta *x = *(st_file_meta *const *)a, *y = *(st_file_meta *const *)b;
    int c = st_ikey_cmp(ucmp, st_file_smallest(x), st_file_smallest(y));
    if (c == 0) {
        c = x->number < y->number ? -1 : x->number > y->number;
    }
    return c;
}

static int check_files(const st_vset *vs, int level, st_file_meta *const *files, int n)
{
    for (int i = 0; i < n; i++) {
        const st_file_meta *f = files[i];
        if (st_ikey_cmp(vs->ucmp, st_file_smallest(f), st_file_largest(f)) > 0) {
            return st_err(STRATA_E_CORRUPTION,
                          "level %d: file %06" PRIu64 " has smallest key > largest key", level,
                          f->number);
        }
        if (level > 0 && i > 0 &&
            st_ikey_cmp(vs->ucmp, st_file_largest(files[i - 1]), st_file_smallest(f)) >= 0) {
            return st_err(STRATA_E_CORRUPTION,
                          "level %d: files %06" PRIu64 " and %06" PRIu64 " overlap", level,
                          files[i - 1]->number, f->number);
        }
    }
    return 0;
}

/* Builds level's file list into v (references each file). */
static int save_level(st_vbuilder *b, int level, st_version *v)
{
    level_log *l = &b->levels[level];
    squash(l);
    int nbase = b->base ? b->base->nfiles[level] : 0;
    if (nbase + l->n == 0) {
        return 0;
    }
    st_file_meta **files = st_malloc((size_t)(nbase + l->n) * sizeof(*files));
    if (!files) {
        return st_err(STRATA_E_NOMEM, "version builder: out of memory");
    }
    int n = 0;
    for (int i = 0; i < nbase; i++) {
        if (!has_op(l, b->base->files[level][i]->number)) {
            files[n++] = b->base->files[level][i];
        }
    }
    for (int i = 0; i < l->n; i++) {
        if (l->ops[i].meta) {
            files[n++] = l->ops[i].meta;
        }
    }
    for (int i = 0; i < n; i++) {
        st_file_meta_ref(files[i]);
    }
    v->files[level] = files;
    v->nfiles[level] = n;
    if (level == 0) {
        qsort(files, (size_t)n, sizeof(*files), cmp_l0);
    } else {
        qsort_r(files, (size_t)n, sizeof(*files), cmp_smallest, (void *)b->vs->ucmp);
    }
    return check_files(b->vs, level, files, n);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* No file number may appear twice in a version (e.g. a move that forgot its delete). */
static int check_unique(const st_version *v)
{
    int total = 0;
    for (int level = 0; level < v->num_levels; level++) {
        total += v->nfiles[level];
    }
    if (total < 2) {
        return 0;
    }
    uint64_t *nums = st_malloc((size_t)total * sizeof(*nums));
    if (!nums) {
        return st_err(STRATA_E_NOMEM, "version builder: out of memory");
    }
    int n = 0, rc = 0;
    for (int level = 0; level < v->num_levels; level++) {
        for (int i = 0; i < v->nfiles[level]; i++) {
            nums[n++] = v->files[level][i]->number;
        }
    }
    qsort(nums, (size_t)n, sizeof(*nums), cmp_u64);
    for (int i = 1; i < n && !rc; i++) {
        if (nums[i] == nums[i - 1]) {
            rc = st_err(STRATA_E_CORRUPTION, "file %06" PRIu64 " is listed twice", nums[i]);
        }
    }
    st_free(nums);
    return rc;
}

int st_vbuilder_save(st_vbuilder *b, st_version *v)
{
    for (int level = 0; level < b->vs->num_levels; level++) {
        int rc = save_level(b, level, v);
        if (rc) {
            return rc;
        }
    }
    return check_unique(v);
}
