/* filter.c — filter policies and the whole-table filter (filter.h).
 *
 * The built-in filter is a cache-line-blocked bloom filter: the bit array is split into 64-byte
 * lines; a key's 64-bit XXH3 hash picks one line (high 32 bits, by multiply-shift) and sets k
 * bits inside it, at 9-bit positions sliced from a remix of the hash.  A lookup so touches a
 * single cache line.  k = round(bits_per_key · 0.58), clamped to 1..30: lower than the classic
 * ln 2 ratio because keys spread unevenly over lines, which makes fewer probes pay off (for 10
 * bits/key, k = 6 gives ~0.98% false positives against 0.82% for an unblocked filter).  The
 * filter ends with an 8-byte trailer: fixed32 line count, k, layout version 1, two zero bytes
 * (docs/FORMAT.md "Filter block").  A malformed filter matches everything. */
#include "table/filter.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/coding.h"
#include "util/compiler.h"
#include "util/hash.h"
#include "util/status.h"

#define BLOOM_NAME "strata.bloom2"
#define LINE_BYTES 64
#define LINE_BITS 512
#define BLOOM_TRAILER 8
#define BLOOM_LAYOUT 1
#define MAX_PROBES 30

/* ---- public policy objects ------------------------------------------------------------------ */

STRATA_EXPORT strata_filter_policy *strata_filter_policy_create_bloom(int bits_per_key)
{
    if (bits_per_key < 1 || bits_per_key > 64) {
        return NULL;
    }
    strata_filter_policy *p = st_calloc(1, sizeof(*p));
    if (p) {
        p->bloom_bits = bits_per_key;
    }
    return p;
}

STRATA_EXPORT strata_filter_policy *strata_filter_policy_create(
    void *state, void (*destructor)(void *state),
    char *(*create_filter)(void *state, const char *const *keys, const size_t *key_lens, int n,
                           size_t *filter_len),
    int (*key_may_match)(void *state, const char *key, size_t klen, const char *filter,
                         size_t flen),
    const char *(*name)(void *state))
{
    if (!create_filter || !key_may_match || !name) {
        return NULL;
    }
    strata_filter_policy *p = st_calloc(1, sizeof(*p));
    if (p) {
        p->state = state;
        p->destructor = destructor;
        p->create_filter = create_filter;
        p->key_may_match = key_may_match;
        p->name = name;
    }
    return p;
}

STRATA_EXPORT void strata_filter_policy_destroy(strata_filter_policy *policy)
{
    if (!policy) {
        return;
    }
    if (policy->bloom_bits == 0 && policy->destructor) {
        policy->destructor(policy->state);
    }
    st_free(policy);
}

const char *st_filter_name(const st_filter_policy *p)
{
    if (p->bloom_bits > 0) {
        return BLOOM_NAME;
    }
    const char *n = p->name(p->state);
    return n ? n : "";
}

/* ---- bloom layout ---------------------------------------------------------------------------- */

static int bloom_probes(int bits_per_key)
{
    int k = (int)(bits_per_key * 0.58 + 0.5);
    return k < 1 ? 1 : k > MAX_PROBES ? MAX_PROBES : k;
}

static inline uint32_t bloom_line(uint64_t h, uint32_t lines)
{
    return (uint32_t)(((h >> 32) * (uint64_t)lines) >> 32);
}

/* Probe positions: 9-bit slices of a remix of the hash (independent of the high bits that chose
 * the line), seven per 64-bit word, remixing again for every further seven probes. */
static inline uint64_t bloom_remix(uint64_t x)
{
    x ^= x >> 31;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    return x ^ (x >> 29);
}

static void bloom_set(unsigned char *line, uint64_t h, int k)
{
    uint64_t x = h;
    for (int j = 0; j < k; j++, x >>= 9) {
        if (j % 7 == 0) {
            x = h = bloom_remix(h + (uint64_t)j);
        }
        uint32_t bit = (uint32_t)x & (LINE_BITS - 1);
        line[bit >> 3] |= (unsigned char)(1u << (bit & 7));
    }
}

static int bloom_test(const unsigned char *line, uint64_t h, int k)
{
    uint64_t x = h;
    for (int j = 0; j < k; j++, x >>= 9) {
        if (j % 7 == 0) {
            x = h = bloom_remix(h + (uint64_t)j);
        }
        uint32_t bit = (uint32_t)x & (LINE_BITS - 1);
        if (!(line[bit >> 3] & (1u << (bit & 7)))) {
            return 0;
        }
    }
    return 1;
}

static int bloom_may_match(st_slice filter, st_slice key)
{
    if (filter.size < BLOOM_TRAILER) {
        return 1;
    }
    const char *t = filter.data + filter.size - BLOOM_TRAILER;
    uint32_t lines = st_decode_fixed32(t);
    int k = (unsigned char)t[4];
    if (t[5] != BLOOM_LAYOUT || k < 1 || k > MAX_PROBES ||
        filter.size - BLOOM_TRAILER != (uint64_t)lines * LINE_BYTES) {
        return 1; /* malformed or from a newer layout: fall back to the data */
    }
    if (lines == 0) {
        return 0; /* built from no keys */
    }
    uint64_t h = st_hash64(key.data, key.size);
    const unsigned char *line =
        (const unsigned char *)filter.data + (size_t)bloom_line(h, lines) * LINE_BYTES;
    return bloom_test(line, h, k);
}

int st_filter_may_match(const st_filter_policy *p, st_slice filter, st_slice user_key)
{
    if (p->bloom_bits > 0) {
        return bloom_may_match(filter, user_key);
    }
    return p->key_may_match(p->state, user_key.data, user_key.size, filter.data,
                            filter.size) != 0;
}

/* ---- builder ----------------------------------------------------------------------------- */

struct st_filter_builder {
    const st_filter_policy *p;
    uint64_t *hashes; /* bloom: one hash per distinct consecutive key */
    size_t n, cap;
    st_buf keys;      /* user policy: keys back to back ... */
    size_t *ends;     /* ... and where each ends (n of them) */
};

st_filter_builder *st_filter_builder_create(const st_filter_policy *p)
{
    st_filter_builder *b = st_calloc(1, sizeof(*b));
    if (b) {
        b->p = p;
        st_buf_init(&b->keys);
    }
    return b;
}

void st_filter_builder_destroy(st_filter_builder *b)
{
    if (b) {
        st_free(b->hashes);
        st_free(b->ends);
        st_buf_free(&b->keys);
        st_free(b);
    }
}

static int grow(st_filter_builder *b)
{
    size_t cap = b->cap ? b->cap * 2 : 1024;
    if (cap > SIZE_MAX / sizeof(uint64_t)) {
        return STRATA_E_NOMEM;
    }
    if (b->p->bloom_bits > 0) {
        uint64_t *h = st_realloc(b->hashes, cap * sizeof(*h));
        if (!h) {
            return STRATA_E_NOMEM;
        }
        b->hashes = h;
    } else {
        size_t *e = st_realloc(b->ends, cap * sizeof(*e));
        if (!e) {
            return STRATA_E_NOMEM;
        }
        b->ends = e;
    }
    b->cap = cap;
    return 0;
}

static st_slice last_key(const st_filter_builder *b)
{
    size_t start = b->n > 1 ? b->ends[b->n - 2] : 0;
    return st_slice_make(b->keys.data + start, b->ends[b->n - 1] - start);
}

int st_filter_builder_add(st_filter_builder *b, st_slice user_key)
{
    if (b->n == b->cap && grow(b)) {
        return STRATA_E_NOMEM;
    }
    if (b->p->bloom_bits > 0) {
        uint64_t h = st_hash64(user_key.data, user_key.size);
        if (b->n == 0 || b->hashes[b->n - 1] != h) {
            b->hashes[b->n++] = h;
        }
        return 0;
    }
    if (b->n > 0 && st_slice_eq(last_key(b), user_key)) {
        return 0;
    }
    if (st_buf_append(&b->keys, user_key.data, user_key.size)) {
        return STRATA_E_NOMEM;
    }
    b->ends[b->n++] = b->keys.len;
    return 0;
}

static int bloom_finish(st_filter_builder *b, st_buf *out)
{
    uint64_t lines = ((uint64_t)b->n * (uint64_t)b->p->bloom_bits + LINE_BITS - 1) / LINE_BITS;
    if (lines > UINT32_MAX) {
        return st_err(STRATA_E_INVALID, "too many keys for one bloom filter");
    }
    size_t bytes = (size_t)lines * LINE_BYTES;
    if (st_buf_reserve(out, bytes + BLOOM_TRAILER)) {
        return STRATA_E_NOMEM;
    }
    unsigned char *base = (unsigned char *)out->data + out->len;
    memset(base, 0, bytes);
    int k = bloom_probes(b->p->bloom_bits);
    for (size_t i = 0; i < b->n; i++) {
        bloom_set(base + (size_t)bloom_line(b->hashes[i], (uint32_t)lines) * LINE_BYTES,
                  b->hashes[i], k);
    }
    char *t = (char *)base + bytes;
    st_encode_fixed32(t, (uint32_t)lines);
    t[4] = (char)k;
    t[5] = BLOOM_LAYOUT;
    t[6] = t[7] = 0;
    out->len += bytes + BLOOM_TRAILER;
    return 0;
}

/* Hands the keys to the user's create_filter, which returns a malloc'd filter. */
static int user_finish(st_filter_builder *b, st_buf *out)
{
    if (b->n > INT_MAX) {
        return st_err(STRATA_E_INVALID, "too many keys for filter policy %s",
                      st_filter_name(b->p));
    }
    const char **keys = st_malloc((b->n ? b->n : 1) * sizeof(*keys));
    size_t *lens = st_malloc((b->n ? b->n : 1) * sizeof(*lens));
    int rc = keys && lens ? 0 : STRATA_E_NOMEM;
    for (size_t i = 0; !rc && i < b->n; i++) {
        size_t start = i ? b->ends[i - 1] : 0;
        keys[i] = b->keys.data + start;
        lens[i] = b->ends[i] - start;
    }
    size_t flen = 0;
    char *f = rc ? NULL : b->p->create_filter(b->p->state, keys, lens, (int)b->n, &flen);
    if (!rc && !f) {
        rc = st_err(STRATA_E_INVALID, "filter policy %s returned no filter",
                    st_filter_name(b->p));
    }
    if (!rc) {
        rc = st_buf_append(out, f, flen);
    }
    free(f); /* allocated by the user's callback with malloc, per the public contract */
    st_free(keys);
    st_free(lens);
    return rc;
}

int st_filter_builder_finish(st_filter_builder *b, st_buf *out)
{
    return b->p->bloom_bits > 0 ? bloom_finish(b, out) : user_finish(b, out);
}
