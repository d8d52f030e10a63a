/* merge_iter.c — a k-way merge of sorted child iterators over internal keys.
 *
 * The merged order is (internal key, child index) ascending, so equal keys come out lower index
 * first going forward and higher index first going backward.  One binary heap of valid children
 * is kept for the current direction: a min-heap going forward, a max-heap going backward; its top
 * is the current entry.  Every child other than the current one is positioned at its first entry
 * after (forward) or its last entry before (backward) the current position, which is why a
 * change of direction must reposition all other children (seek to key(), then step) before the
 * heap is rebuilt.  A step costs O(log n) comparisons; a seek or direction change O(n log n).
 *
 * Errors: when a child stops being valid its status is checked; the first error makes the merger
 * invalid and is what status() returns (a merge that skipped a broken child would silently hide
 * data). */
#include "db/merge_iter.h"

#include "util/alloc.h"
#include "util/ikey.h"
#include "util/status.h"

enum { DIR_FORWARD, DIR_BACKWARD };

typedef struct merge_iter {
    st_iter base;
    const st_comparator *ucmp;
    st_iter **children;
    int n;
    int *heap; /* indexes of valid children, heap-ordered for dir */
    int hn;
    int dir;
    int err;
} merge_iter;

/* 1 if child a comes before child b in the current direction's heap order. */
static int before(const merge_iter *m, int a, int b)
{
    int c = st_ikey_cmp(m->ucmp, st_iter_key(m->children[a]), st_iter_key(m->children[b]));
    if (c == 0) {
        c = a < b ? -1 : 1;
    }
    return m->dir == DIR_FORWARD ? c < 0 : c > 0;
}

static void sift_down(merge_iter *m, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, best = i;
        if (l < m->hn && before(m, m->heap[l], m->heap[best])) {
            best = l;
        }
        if (r < m->hn && before(m, m->heap[r], m->heap[best])) {
            best = r;
        }
        if (best == i) {
            return;
        }
        int t = m->heap[i];
        m->heap[i] = m->heap[best];
        m->heap[best] = t;
        i = best;
    }
}

/* Records the child's error, if it stopped because of one (the first error wins). */
static void note_invalid(merge_iter *m, int child)
{
    int rc = st_iter_status(m->children[child]);
    if (rc && !m->err) {
        m->err = rc;
    }
}

/* Rebuilds the heap from every valid child, for direction dir. */
static void rebuild(merge_iter *m, int dir)
{
    m->dir = dir;
    m->hn = 0;
    for (int i = 0; i < m->n; i++) {
        if (st_iter_valid(m->children[i])) {
            m->heap[m->hn++] = i;
        } else {
            note_invalid(m, i);
        }
    }
    for (int i = m->hn / 2 - 1; i >= 0; i--) {
        sift_down(m, i);
    }
}

/* After the top child moved: keep it in the heap if still valid, else drop it. */
static void fix_top(merge_iter *m)
{
    int top = m->heap[0];
    if (!st_iter_valid(m->children[top])) {
        note_invalid(m, top);
        m->heap[0] = m->heap[--m->hn];
    }
    if (m->hn > 0) {
        sift_down(m, 0);
    }
}

static int mi_valid(const st_iter *it)
{
    const merge_iter *m = (const merge_iter *)it;
    return m->err == 0 && m->hn > 0;
}

static void mi_seek_to_first(st_iter *it)
{
    merge_iter *m = (merge_iter *)it;
    for (int i = 0; i < m->n; i++) {
        st_iter_seek_to_first(m->children[i]);
    }
    rebuild(m, DIR_FORWARD);
}

static void mi_seek_to_last(st_iter *it)
{
    merge_iter *m = (merge_iter *)it;
    for (int i = 0; i < m->n; i++) {
        st_iter_seek_to_last(m->children[i]);
    }
    rebuild(m, DIR_BACKWARD);
}

static void mi_seek(st_iter *it, st_slice target)
{
    merge_iter *m = (merge_iter *)it;
    for (int i = 0; i < m->n; i++) {
        st_iter_seek(m->children[i], target);
    }
    rebuild(m, DIR_FORWARD);
}

/* Positions child i (not the current child cur, whose key is k) at its first entry after (k, cur)
 * in merged order: keys > k for i < cur, keys >= k for i > cur. */
/* 1 if child i's current entry sorts after (k, cur) in the merged order. */
static int sorts_after(const merge_iter *m, int i, int cur, st_slice k)
{
    int c = st_ikey_cmp(m->ucmp, st_iter_key(m->children[i]), k);
    return c > 0 || (c == 0 && i > cur);
}

static void position_after(merge_iter *m, int i, int cur, st_slice k)
{
    st_iter *c = m->children[i];
    st_iter_seek(c, k);
    while (st_iter_valid(c) && !sorts_after(m, i, cur, k)) {
        st_iter_next(c);
    }
}

/* Positions child i at its last entry before (k, cur): keys <= k for i < cur, keys < k for
 * i > cur. */
static void position_before(merge_iter *m, int i, int cur, st_slice k)
{
    st_iter *c = m->children[i];
    st_iter_seek(c, k);
    if (!st_iter_valid(c)) {
        if (st_iter_status(c) == 0) {
            st_iter_seek_to_last(c); /* every key of the child is < k */
        }
        return;
    }
    if (i > cur || st_ikey_cmp(m->ucmp, st_iter_key(c), k) != 0) {
        st_iter_prev(c);
    }
    /* A child over the live memtable may have gained entries between the seek and the prev (the
     * reader cannot see them, but the prev can land on one at or after k): step past them. */
    while (st_iter_valid(c) && sorts_after(m, i, cur, k)) {
        st_iter_prev(c);
    }
}

/* Repositions every non-current child for direction dir and rebuilds the heap.  The current key
 * stays valid throughout: only the other children move. */
static void switch_direction(merge_iter *m, int dir)
{
    int cur = m->heap[0];
    st_slice k = st_iter_key(m->children[cur]);
    for (int i = 0; i < m->n; i++) {
        if (i == cur) {
            continue;
        }
        if (dir == DIR_FORWARD) {
            position_after(m, i, cur, k);
        } else {
            position_before(m, i, cur, k);
        }
    }
    rebuild(m, dir);
}

/* Moving the current child must not be left to "whatever is on top after the switch": a child
 * over the live memtable can gain an entry between its reposition and the rebuild (an insert the
 * reader cannot see) and come out on top.  So the current child is remembered, moved, and the
 * heap rebuilt. */
static void mi_next(st_iter *it)
{
    merge_iter *m = (merge_iter *)it;
    if (m->dir != DIR_FORWARD) {
        int cur = m->heap[0];
        switch_direction(m, DIR_FORWARD);
        st_iter_next(m->children[cur]);
        rebuild(m, DIR_FORWARD);
        return;
    }
    st_iter_next(m->children[m->heap[0]]);
    fix_top(m);
}

static void mi_prev(st_iter *it)
{
    merge_iter *m = (merge_iter *)it;
    if (m->dir != DIR_BACKWARD) {
        int cur = m->heap[0];
        switch_direction(m, DIR_BACKWARD);
        st_iter_prev(m->children[cur]);
        rebuild(m, DIR_BACKWARD);
        return;
    }
    st_iter_prev(m->children[m->heap[0]]);
    fix_top(m);
}

static st_slice mi_key(const st_iter *it)
{
    const merge_iter *m = (const merge_iter *)it;
    return st_iter_key(m->children[m->heap[0]]);
}

static st_slice mi_value(const st_iter *it)
{
    const merge_iter *m = (const merge_iter *)it;
    return st_iter_value(m->children[m->heap[0]]);
}

static int mi_status(const st_iter *it)
{
    const merge_iter *m = (const merge_iter *)it;
    if (m->err) {
        return m->err;
    }
    for (int i = 0; i < m->n; i++) {
        int rc = st_iter_status(m->children[i]);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

static void mi_destroy(st_iter *it)
{
    merge_iter *m = (merge_iter *)it;
    for (int i = 0; i < m->n; i++) {
        st_iter_destroy(m->children[i]);
    }
    st_free(m->children);
    st_free(m->heap);
    st_free(m);
}

static const struct st_iter_ops merge_ops = {mi_valid, mi_seek_to_first, mi_seek_to_last,
                                             mi_seek,  mi_next,          mi_prev,
                                             mi_key,   mi_value,         mi_status,
                                             mi_destroy};

st_iter *st_merge_iter_create(const st_comparator *ucmp, st_iter **children, int n)
{
    if (n == 1) {
        return children[0]; /* nothing to merge */
    }
    size_t cnt = n > 0 ? (size_t)n : 1;
    merge_iter *m = st_calloc(1, sizeof(*m));
    st_iter **copy = st_malloc(cnt * sizeof(*copy));
    int *heap = st_malloc(cnt * sizeof(*heap));
    if (!m || !copy || !heap) {
        st_free(m);
        st_free(copy);
        st_free(heap);
        for (int i = 0; i < n; i++) {
            st_iter_destroy(children[i]);
        }
        st_err(STRATA_E_NOMEM, "merging iterator: out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        copy[i] = children[i];
    }
    st_iter_init(&m->base, &merge_ops);
    m->ucmp = ucmp;
    m->children = copy;
    m->n = n > 0 ? n : 0;
    m->heap = heap;
    m->dir = DIR_FORWARD;
    return &m->base;
}

/* A merger of one child is that child (st_merge_iter_create): skipping moves it alone. */
static int single_child(st_iter *it)
{
    return it->ops != &merge_ops;
}

void st_merge_iter_skip_forward(st_iter *it, const st_comparator *ucmp, st_slice target,
                                const uint64_t *max_seq, uint64_t seq)
{
    if (single_child(it)) {
        if (max_seq[0] < seq && st_iter_valid(it) &&
            st_ikey_cmp(ucmp, st_iter_key(it), target) < 0) {
            st_iter_seek(it, target);
        }
        return;
    }
    merge_iter *m = (merge_iter *)it;
    if (m->dir != DIR_FORWARD || m->err) {
        return;
    }
    int moved = 0;
    for (int i = 0; i < m->n; i++) {
        st_iter *c = m->children[i];
        if (max_seq[i] < seq && st_iter_valid(c) &&
            st_ikey_cmp(m->ucmp, st_iter_key(c), target) < 0) {
            st_iter_seek(c, target);
            moved = 1;
        }
    }
    if (moved) {
        rebuild(m, DIR_FORWARD);
    }
}

void st_merge_iter_skip_backward(st_iter *it, const st_comparator *ucmp, st_slice target,
                                 const uint64_t *max_seq, uint64_t seq)
{
    (void)ucmp; /* the merger knows its own */
    if (single_child(it)) {
        return; /* a lone source steps back entry by entry (the caller already moved it) */
    }
    merge_iter *m = (merge_iter *)it;
    if (m->dir != DIR_BACKWARD || m->err) {
        return;
    }
    int moved = 0;
    for (int i = 0; i < m->n; i++) {
        st_iter *c = m->children[i];
        if (max_seq[i] < seq && st_iter_valid(c) &&
            st_ikey_cmp(m->ucmp, st_iter_key(c), target) >= 0) {
            st_iter_seek(c, target);
            if (st_iter_valid(c)) {
                st_iter_prev(c);
            } else if (!st_iter_status(c)) {
                st_iter_seek_to_last(c);
            }
            moved = 1;
        }
    }
    if (moved) {
        rebuild(m, DIR_BACKWARD);
    }
}
