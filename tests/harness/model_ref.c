/* model_ref.c — sorted-array reference map for the whole-engine tests (see model_ref.h).
 *
 * Each entry points at one refcounted record holding key and value bytes back to back.  Records
 * are never mutated: a put of an existing key swaps the entry's record.  Inserts and removals
 * move the tail of the array (O(n)), which is fine for the key spaces tests use (~10^4 keys). */
#include "model_ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mr_rec {
    long refs;
    size_t klen;
    size_t vlen;
    mr_meta meta;
    char data[]; /* key bytes, then value bytes */
};

struct mr_map {
    struct mr_rec **recs;
    size_t n;
    size_t cap;
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "model_ref: out of memory\n");
        abort();
    }
    return p;
}

static void rec_unref(struct mr_rec *r)
{
    if (r && --r->refs == 0) {
        free(r);
    }
}

static struct mr_rec *rec_new(const void *key, size_t klen, const void *val, size_t vlen,
                              const mr_meta *meta)
{
    struct mr_rec *r = xmalloc(sizeof(*r) + klen + vlen);
    r->refs = 1;
    r->klen = klen;
    r->vlen = vlen;
    if (meta) {
        r->meta = *meta;
    } else {
        memset(&r->meta, 0, sizeof(r->meta));
    }
    if (klen) {
        memcpy(r->data, key, klen);
    }
    if (vlen) {
        memcpy(r->data + klen, val, vlen);
    }
    return r;
}

int mr_compare(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0) {
        return c;
    }
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

mr_map *mr_create(void)
{
    mr_map *m = xmalloc(sizeof(*m));
    m->recs = NULL;
    m->n = 0;
    m->cap = 0;
    return m;
}

void mr_clear(mr_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        rec_unref(m->recs[i]);
    }
    m->n = 0;
}

void mr_destroy(mr_map *m)
{
    if (!m) {
        return;
    }
    mr_clear(m);
    free(m->recs);
    free(m);
}

mr_map *mr_clone(const mr_map *m)
{
    mr_map *c = mr_create();
    c->cap = m->n ? m->n : 1;
    c->recs = xmalloc(c->cap * sizeof(*c->recs));
    c->n = m->n;
    for (size_t i = 0; i < m->n; i++) {
        c->recs[i] = m->recs[i];
        c->recs[i]->refs++;
    }
    return c;
}

size_t mr_count(const mr_map *m)
{
    return m->n;
}

size_t mr_lower_bound(const mr_map *m, const void *key, size_t klen)
{
    size_t lo = 0;
    size_t hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct mr_rec *r = m->recs[mid];
        if (mr_compare(r->data, r->klen, key, klen) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

size_t mr_upper_bound(const mr_map *m, const void *key, size_t klen)
{
    size_t i = mr_lower_bound(m, key, klen);
    if (i < m->n && mr_compare(m->recs[i]->data, m->recs[i]->klen, key, klen) == 0) {
        i++;
    }
    return i;
}

static int find(const mr_map *m, const void *key, size_t klen, size_t *pos)
{
    size_t i = mr_lower_bound(m, key, klen);
    *pos = i;
    return i < m->n && mr_compare(m->recs[i]->data, m->recs[i]->klen, key, klen) == 0;
}

void mr_put(mr_map *m, const void *key, size_t klen, const void *val, size_t vlen)
{
    mr_put_meta(m, key, klen, val, vlen, NULL);
}

void mr_put_meta(mr_map *m, const void *key, size_t klen, const void *val, size_t vlen,
                 const mr_meta *meta)
{
    size_t i;
    struct mr_rec *r = rec_new(key, klen, val, vlen, meta);
    if (find(m, key, klen, &i)) {
        rec_unref(m->recs[i]);
        m->recs[i] = r;
        return;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct mr_rec **nr = realloc(m->recs, cap * sizeof(*nr));
        if (!nr) {
            fprintf(stderr, "model_ref: out of memory\n");
            abort();
        }
        m->recs = nr;
        m->cap = cap;
    }
    memmove(m->recs + i + 1, m->recs + i, (m->n - i) * sizeof(*m->recs));
    m->recs[i] = r;
    m->n++;
}

void mr_del(mr_map *m, const void *key, size_t klen)
{
    size_t i;
    if (!find(m, key, klen, &i)) {
        return;
    }
    rec_unref(m->recs[i]);
    memmove(m->recs + i, m->recs + i + 1, (m->n - i - 1) * sizeof(*m->recs));
    m->n--;
}

/* Removes the entries [i, j). */
static void remove_span(mr_map *m, size_t i, size_t j)
{
    if (i == j) {
        return; /* also: an empty map has no array to move */
    }
    for (size_t k = i; k < j; k++) {
        rec_unref(m->recs[k]);
    }
    memmove(m->recs + i, m->recs + j, (m->n - j) * sizeof(*m->recs));
    m->n -= j - i;
}

size_t mr_del_range(mr_map *m, const void *begin, size_t blen, const void *end, size_t elen)
{
    if (mr_compare(begin, blen, end, elen) >= 0) {
        return 0;
    }
    size_t i = mr_lower_bound(m, begin, blen);
    size_t j = mr_lower_bound(m, end, elen);
    remove_span(m, i, j);
    return j - i;
}

size_t mr_del_prefix(mr_map *m, const void *prefix, size_t plen)
{
    size_t i = mr_lower_bound(m, prefix, plen);
    size_t j = i;
    while (j < m->n && m->recs[j]->klen >= plen &&
           (plen == 0 || memcmp(m->recs[j]->data, prefix, plen) == 0)) {
        j++;
    }
    remove_span(m, i, j);
    return j - i;
}

int mr_get(const mr_map *m, const void *key, size_t klen, const char **val, size_t *vlen)
{
    return mr_get_meta(m, key, klen, val, vlen, NULL);
}

int mr_get_meta(const mr_map *m, const void *key, size_t klen, const char **val, size_t *vlen,
                mr_meta *meta)
{
    size_t i;
    if (!find(m, key, klen, &i)) {
        return 0;
    }
    *val = m->recs[i]->data + m->recs[i]->klen;
    *vlen = m->recs[i]->vlen;
    if (meta) {
        *meta = m->recs[i]->meta;
    }
    return 1;
}

void mr_entry_meta(const mr_map *m, size_t i, mr_meta *meta)
{
    *meta = m->recs[i]->meta;
}

void mr_entry(const mr_map *m, size_t i, const char **key, size_t *klen, const char **val,
              size_t *vlen)
{
    const struct mr_rec *r = m->recs[i];
    *key = r->data;
    *klen = r->klen;
    if (val) {
        *val = r->data + r->klen;
    }
    if (vlen) {
        *vlen = r->vlen;
    }
}

void mr_bounds(const mr_map *m, const void *lower, size_t llen, const void *upper, size_t ulen,
               size_t *begin, size_t *end)
{
    *begin = lower ? mr_lower_bound(m, lower, llen) : 0;
    *end = upper ? mr_lower_bound(m, upper, ulen) : m->n;
    if (*end < *begin) {
        *end = *begin;
    }
}

int mr_equal(const mr_map *a, const mr_map *b)
{
    if (mr_count(a) != mr_count(b)) {
        return 0;
    }
    for (size_t i = 0; i < mr_count(a); i++) {
        const char *ak, *av, *bk, *bv;
        size_t akl, avl, bkl, bvl;
        mr_entry(a, i, &ak, &akl, &av, &avl);
        mr_entry(b, i, &bk, &bkl, &bv, &bvl);
        if (mr_compare(ak, akl, bk, bkl) != 0 || mr_compare(av, avl, bv, bvl) != 0) {
            return 0;
        }
    }
    return 1;
}
