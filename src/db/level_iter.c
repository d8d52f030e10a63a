/* level_iter.c — concatenates the tables of one sorted level into one iterator.
 *
 * The cursor is (file index, iterator of that file's table).  A seek binary-searches the file
 * whose largest key is the first >= target, so only that table is opened; stepping past a table's
 * end moves to the neighbouring file, skipping tables that turn out empty.  Table iterators come
 * from the table cache and keep their table pinned until destroyed, so at most one table per
 * level iterator is pinned at a time.  Errors are sticky: the first one ends iteration. */
#include "db/level_iter.h"

#include "util/alloc.h"
#include "util/ikey.h"
#include "util/status.h"

typedef struct level_iter {
    st_iter base;
    st_table_cache *tc;
    const st_comparator *ucmp;
    st_read_flags rf;
    st_file_meta *const *files;
    int n;
    int idx;       /* file under the cursor; meaningful only while data != NULL */
    st_iter *data; /* iterator over files[idx], or NULL */
    int err;
} level_iter;

/* First file whose largest key is >= target (n if none). */
static int find_file(const level_iter *li, st_slice target)
{
    int lo = 0, hi = li->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (st_ikey_cmp(li->ucmp, st_file_largest(li->files[mid]), target) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static void close_data(level_iter *li)
{
    st_iter_destroy(li->data);
    li->data = NULL;
}

/* Makes data iterate files[i] (reusing it if it already does).  Returns 1 if data is set. */
static int open_file(level_iter *li, int i)
{
    if (li->data && li->idx == i) {
        return 1;
    }
    close_data(li);
    if (i < 0 || i >= li->n) {
        return 0;
    }
    const st_file_meta *f = li->files[i];
    li->data = st_table_cache_iter(li->tc, &li->rf, f->number, f->file_size);
    if (!li->data) {
        li->err = STRATA_E_NOMEM;
        return 0;
    }
    li->idx = i;
    return 1;
}

/* If data is exhausted: stop on its error, else continue in the neighbouring file (step = +1
 * forward, -1 backward) until an entry or the end of the level is found. */
static void skip_exhausted(level_iter *li, int step)
{
    while (li->data && !st_iter_valid(li->data)) {
        int rc = st_iter_status(li->data);
        if (rc) {
            li->err = rc;
            close_data(li);
            return;
        }
        if (!open_file(li, li->idx + step)) {
            return;
        }
        if (step > 0) {
            st_iter_seek_to_first(li->data);
        } else {
            st_iter_seek_to_last(li->data);
        }
    }
}

static int li_valid(const st_iter *it)
{
    const level_iter *li = (const level_iter *)it;
    return !li->err && li->data && st_iter_valid(li->data);
}

static void li_seek_to_first(st_iter *it)
{
    level_iter *li = (level_iter *)it;
    if (!li->err && open_file(li, 0)) {
        st_iter_seek_to_first(li->data);
        skip_exhausted(li, 1);
    }
}

static void li_seek_to_last(st_iter *it)
{
    level_iter *li = (level_iter *)it;
    if (!li->err && open_file(li, li->n - 1)) {
        st_iter_seek_to_last(li->data);
        skip_exhausted(li, -1);
    }
}

static void li_seek(st_iter *it, st_slice target)
{
    level_iter *li = (level_iter *)it;
    if (!li->err && open_file(li, find_file(li, target))) {
        st_iter_seek(li->data, target);
        skip_exhausted(li, 1);
    }
}

static void li_next(st_iter *it)
{
    level_iter *li = (level_iter *)it;
    st_iter_next(li->data);
    skip_exhausted(li, 1);
}

static void li_prev(st_iter *it)
{
    level_iter *li = (level_iter *)it;
    st_iter_prev(li->data);
    skip_exhausted(li, -1);
}

static st_slice li_key(const st_iter *it)
{
    return st_iter_key(((const level_iter *)it)->data);
}

static st_slice li_value(const st_iter *it)
{
    return st_iter_value(((const level_iter *)it)->data);
}

static int li_status(const st_iter *it)
{
    const level_iter *li = (const level_iter *)it;
    if (li->err) {
        return li->err;
    }
    return li->data ? st_iter_status(li->data) : 0;
}

static void li_destroy(st_iter *it)
{
    level_iter *li = (level_iter *)it;
    close_data(li);
    st_free(li);
}

static const struct st_iter_ops level_ops = {li_valid, li_seek_to_first, li_seek_to_last,
                                             li_seek,  li_next,          li_prev,
                                             li_key,   li_value,         li_status,
                                             li_destroy};

st_iter *st_level_iter_create(st_table_cache *tc, const st_comparator *ucmp,
                              const st_read_flags *rf, st_file_meta *const *files, int n)
{
    level_iter *li = st_calloc(1, sizeof(*li));
    if (!li) {
        st_err(STRATA_E_NOMEM, "level iterator: out of memory");
        return NULL;
    }
    st_iter_init(&li->base, &level_ops);
    li->tc = tc;
    li->ucmp = ucmp;
    li->rf = *rf;
    li->files = files;
    li->n = n;
    return &li->base;
}
