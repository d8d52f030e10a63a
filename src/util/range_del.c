/* range_del.c — fragmenting range tombstones and searching the fragments (util/range_del.h).
 *
 * Fragmenting: every distinct start and end is a cut point; sorted and deduplicated, consecutive
 * cut points bound the candidate fragments.  Each tombstone adds its seq to every candidate inside
 * its range (two binary searches to find them), then candidates without seqs are dropped and
 * each fragment's seqs are sorted newest first with duplicates removed.  The cost is O(n log n)
 * plus the total number of (fragment, tombstone) pairs, which is O(n) unless tombstones overlap
 * heavily. */
#include "util/range_del.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/status.h"

typedef struct raw {
    size_t start_off, start_len, end_off, end_len;
    uint64_t seq;
} raw;

struct st_rdel_list {
    atomic_int refs;
    const st_comparator *ucmp;
    size_t n;          /* fragments */
    st_slice *start;   /* n */
    st_slice *end;     /* n */
    size_t *seq_off;   /* n + 1: fragment i's seqs are seqs[seq_off[i] .. seq_off[i+1]) */
    uint64_t *seqs;
    char *bytes;       /* the keys the slices point into */
    size_t mem;
};

void st_rdel_builder_init(st_rdel_builder *b)
{
    st_buf_init(&b->bytes);
    st_buf_init(&b->items);
    b->n = 0;
}

void st_rdel_builder_free(st_rdel_builder *b)
{
    st_buf_free(&b->bytes);
    st_buf_free(&b->items);
    b->n = 0;
}

int st_rdel_builder_add(st_rdel_builder *b, st_slice start, st_slice end, uint64_t seq)
{
    raw r = {b->bytes.len, start.size, b->bytes.len + start.size, end.size, seq};
    size_t old = b->bytes.len;
    if (st_buf_append(&b->bytes, start.data, start.size) ||
        st_buf_append(&b->bytes, end.data, end.size) ||
        st_buf_append(&b->items, &r, sizeof(r))) {
        b->bytes.len = old;
        return st_err(STRATA_E_NOMEM, "out of memory collecting range tombstones");
    }
    b->n++;
    return 0;
}

int st_rdel_builder_add_list(st_rdel_builder *b, const st_rdel_list *l)
{
    for (size_t i = 0; l && i < l->n; i++) {
        for (size_t j = l->seq_off[i]; j < l->seq_off[i + 1]; j++) {
            int rc = st_rdel_builder_add(b, l->start[i], l->end[i], l->seqs[j]);
            if (rc) {
                return rc;
            }
        }
    }
    return 0;
}

/* ---- fragmenting ------------------------------------------------------------------------------ */

/* qsort has no context argument; the comparator for one finish call is kept here.  Builders run
 * on several threads at once, hence thread-local. */
static _Thread_local const st_comparator *sort_ucmp;

static int cmp_slices(const void *a, const void *b)
{
    return st_ucmp(sort_ucmp, *(const st_slice *)a, *(const st_slice *)b);
}

static int cmp_seq_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x > y ? -1 : x < y;
}

/* First index in cuts[0..n) whose key is >= k. */
static size_t cut_lower(const st_comparator *ucmp, const st_slice *cuts, size_t n, st_slice k)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st_ucmp(ucmp, cuts[mid], k) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static st_slice raw_start(const st_rdel_builder *b, const raw *r)
{
    return st_slice_make(b->bytes.data + r->start_off, r->start_len);
}

static st_slice raw_end(const st_rdel_builder *b, const raw *r)
{
    return st_slice_make(b->bytes.data + r->end_off, r->end_len);
}

/* Sorted, deduplicated cut points of the non-empty tombstones.  *ncuts 0 when there are none. */
static int make_cuts(const st_rdel_builder *b, const st_comparator *ucmp, st_slice **out,
                     size_t *ncuts)
{
    const raw *rs = (const raw *)(const void *)b->items.data;
    st_slice *cuts = st_malloc(sizeof(*cuts) * (2 * b->n + 1));
    if (!cuts) {
        return st_err(STRATA_E_NOMEM, "out of memory fragmenting range tombstones");
    }
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++) {
        st_slice s = raw_start(b, &rs[i]), e = raw_end(b, &rs[i]);
        if (st_ucmp(ucmp, s, e) < 0) {
            cuts[n++] = s;
            cuts[n++] = e;
        }
    }
    sort_ucmp = ucmp;
    qsort(cuts, n, sizeof(*cuts), cmp_slices);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u == 0 || st_ucmp(ucmp, cuts[u - 1], cuts[i]) != 0) {
            cuts[u++] = cuts[i];
        }
    }
    *out = cuts;
    *ncuts = u;
    return 0;
}

/* Per candidate interval [cuts[i], cuts[i+1]): counts, then seqs (counting sort by interval). */
static int assign_seqs(const st_rdel_builder *b, const st_comparator *ucmp, const st_slice *cuts,
                       size_t ncuts, size_t **off_out, uint64_t **seqs_out)
{
    const raw *rs = (const raw *)(const void *)b->items.data;
    size_t nint = ncuts - 1;
    size_t *off = st_calloc(nint + 1, sizeof(*off));
    size_t *fill = st_calloc(nint + 1, sizeof(*fill));
    size_t total = 0;
    int rc = off && fill ? 0 : STRATA_E_NOMEM;
    for (int pass = 0; !rc && pass < 2; pass++) {
        for (size_t i = 0; i < b->n; i++) {
            st_slice s = raw_start(b, &rs[i]), e = raw_end(b, &rs[i]);
            if (st_ucmp(ucmp, s, e) >= 0) {
                continue;
            }
            size_t a = cut_lower(ucmp, cuts, ncuts, s), z = cut_lower(ucmp, cuts, ncuts, e);
            for (size_t k = a; k < z; k++) {
                if (pass == 0) {
                    off[k + 1]++;
                    total++;
                } else {
                    (*seqs_out)[off[k] + fill[k]++] = rs[i].seq;
                }
            }
        }
        if (pass == 0) {
            for (size_t k = 0; k < nint; k++) {
                off[k + 1] += off[k];
            }
            *seqs_out = st_malloc(sizeof(uint64_t) * (total ? total : 1));
            rc = *seqs_out ? 0 : STRATA_E_NOMEM;
        }
    }
    st_free(fill);
    if (rc) {
        st_free(off);
        return st_err(rc, "out of memory fragmenting range tombstones");
    }
    *off_out = off;
    return 0;
}

static st_rdel_list *list_alloc(size_t nfrag, size_t nseqs, size_t nbytes)
{
    st_rdel_list *l = st_calloc(1, sizeof(*l));
    if (!l) {
        return NULL;
    }
    atomic_init(&l->refs, 1);
    l->start = st_malloc(sizeof(st_slice) * (nfrag + 1));
    l->end = st_malloc(sizeof(st_slice) * (nfrag + 1));
    l->seq_off = st_malloc(sizeof(size_t) * (nfrag + 1));
    l->seqs = st_malloc(sizeof(uint64_t) * (nseqs + 1));
    l->bytes = st_malloc(nbytes + 1);
    if (!l->start || !l->end || !l->seq_off || !l->seqs || !l->bytes) {
        st_rdel_list_unref(l);
        return NULL;
    }
    l->mem = sizeof(*l) + (nfrag + 1) * (2 * sizeof(st_slice) + sizeof(size_t)) +
             (nseqs + 1) * sizeof(uint64_t) + nbytes + 1;
    return l;
}

/* Copies the non-empty intervals with their sorted, deduplicated seqs into a new list. */
static st_rdel_list *compact_intervals(const st_slice *cuts, size_t ncuts, size_t *off,
                                       uint64_t *seqs)
{
    size_t nint = ncuts - 1, nfrag = 0, nbytes = 0;
    for (size_t k = 0; k < nint; k++) {
        if (off[k + 1] > off[k]) {
            nfrag++;
            nbytes += cuts[k].size + cuts[k + 1].size;
        }
    }
    st_rdel_list *l = list_alloc(nfrag, off[nint], nbytes);
    if (!l) {
        return NULL;
    }
    size_t f = 0, ns = 0, pos = 0;
    for (size_t k = 0; k < nint; k++) {
        size_t a = off[k], z = off[k + 1];
        if (z == a) {
            continue;
        }
        qsort(seqs + a, z - a, sizeof(uint64_t), cmp_seq_desc);
        l->seq_off[f] = ns;
        for (size_t j = a; j < z; j++) {
            if (j == a || seqs[j] != seqs[j - 1]) {
                l->seqs[ns++] = seqs[j];
            }
        }
        memcpy(l->bytes + pos, cuts[k].data, cuts[k].size);
        l->start[f] = st_slice_make(l->bytes + pos, cuts[k].size);
        pos += cuts[k].size;
        memcpy(l->bytes + pos, cuts[k + 1].data, cuts[k + 1].size);
        l->end[f] = st_slice_make(l->bytes + pos, cuts[k + 1].size);
        pos += cuts[k + 1].size;
        f++;
    }
    l->seq_off[f] = ns;
    l->n = f;
    return l;
}

int st_rdel_builder_finish(st_rdel_builder *b, const st_comparator *ucmp, st_rdel_list **out)
{
    *out = NULL;
    st_slice *cuts = NULL;
    size_t ncuts = 0, *off = NULL;
    uint64_t *seqs = NULL;
    int rc = b->n ? make_cuts(b, ucmp, &cuts, &ncuts) : 0;
    if (!rc && ncuts >= 2) {
        rc = assign_seqs(b, ucmp, cuts, ncuts, &off, &seqs);
        if (!rc) {
            *out = compact_intervals(cuts, ncuts, off, seqs);
            rc = *out ? 0 : st_err(STRATA_E_NOMEM, "out of memory fragmenting range tombstones");
        }
    }
    if (*out) {
        (*out)->ucmp = ucmp;
    }
    st_free(cuts);
    st_free(off);
    st_free(seqs);
    b->bytes.len = 0;
    b->items.len = 0;
    b->n = 0;
    return rc;
}

/* ---- the list --------------------------------------------------------------------------------- */

void st_rdel_list_ref(st_rdel_list *l)
{
    atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
}

/* acq_rel: the last holder must see every other holder's reads done before freeing. */
void st_rdel_list_unref(st_rdel_list *l)
{
    if (!l || atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    st_free(l->start);
    st_free(l->end);
    st_free(l->seq_off);
    st_free(l->seqs);
    st_free(l->bytes);
    st_free(l);
}

size_t st_rdel_list_count(const st_rdel_list *l)
{
    return l ? l->n : 0;
}

st_slice st_rdel_list_start(const st_rdel_list *l, size_t i)
{
    return l->start[i];
}

st_slice st_rdel_list_end(const st_rdel_list *l, size_t i)
{
    return l->end[i];
}

size_t st_rdel_list_nseqs(const st_rdel_list *l, size_t i)
{
    return l->seq_off[i + 1] - l->seq_off[i];
}

const uint64_t *st_rdel_list_seqs(const st_rdel_list *l, size_t i)
{
    return l->seqs + l->seq_off[i];
}

size_t st_rdel_list_entries(const st_rdel_list *l)
{
    return l ? l->seq_off[l->n] : 0;
}

size_t st_rdel_list_memory(const st_rdel_list *l)
{
    return l ? l->mem : 0;
}

size_t st_rdel_list_lower_bound(const st_rdel_list *l, st_slice key)
{
    size_t lo = 0, hi = l ? l->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st_ucmp(l->ucmp, l->end[mid], key) <= 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

long st_rdel_list_find(const st_rdel_list *l, st_slice key)
{
    size_t i = st_rdel_list_lower_bound(l, key);
    if (i < st_rdel_list_count(l) && st_ucmp(l->ucmp, l->start[i], key) <= 0) {
        return (long)i;
    }
    return -1;
}

uint64_t st_rdel_list_covering(const st_rdel_list *l, st_slice key, uint64_t read_seq,
                               long *frag)
{
    long i = st_rdel_list_find(l, key);
    if (i < 0) {
        return 0;
    }
    /* seqs are newest first: the first one <= read_seq. */
    const uint64_t *s = l->seqs + l->seq_off[i];
    size_t lo = 0, hi = l->seq_off[i + 1] - l->seq_off[i];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid] > read_seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == l->seq_off[i + 1] - l->seq_off[i]) {
        return 0;
    }
    if (frag) {
        *frag = i;
    }
    return s[lo];
}

uint64_t st_rdel_list_covering_above(const st_rdel_list *l, st_slice key, uint64_t seq)
{
    long i = st_rdel_list_find(l, key);
    if (i < 0) {
        return 0;
    }
    uint64_t best = 0;
    for (size_t j = l->seq_off[i]; j < l->seq_off[i + 1] && l->seqs[j] > seq; j++) {
        best = l->seqs[j]; /* newest first: the last one above seq is the oldest */
    }
    return best;
}
