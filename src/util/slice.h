/* slice.h — a borrowed byte range (pointer + length). A slice never owns its bytes. */
#ifndef STRATA_UTIL_SLICE_H
#define STRATA_UTIL_SLICE_H

#include <stddef.h>
#include <string.h>

typedef struct st_slice {
    const char *data;
    size_t size;
} st_slice;

static inline st_slice st_slice_make(const void *data, size_t size)
{
    st_slice s = {(const char *)data, size};
    return s;
}

static inline st_slice st_slice_cstr(const char *s)
{
    return st_slice_make(s, strlen(s));
}

/* Bytewise order of two byte strings (the shorter first on a common prefix); only the sign of
 * the result is meaningful.  Keys are short, so an inline word-at-a-time loop beats a call to
 * memcmp: on little-endian machines the first differing 8-byte word, byte-swapped, orders as
 * its first differing byte does. */
static inline int st_bytes_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    const unsigned char *p = a, *q = b;
    size_t n = alen < blen ? alen : blen, i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 8 <= n; i += 8) {
        unsigned long long x, y;
        memcpy(&x, p + i, 8);
        memcpy(&y, q + i, 8);
        if (x != y) {
            x = __builtin_bswap64(x);
            y = __builtin_bswap64(y);
            return x < y ? -1 : 1;
        }
    }
#endif
    for (; i < n; i++) {
        if (p[i] != q[i]) {
            return p[i] < q[i] ? -1 : 1;
        }
    }
    return alen < blen ? -1 : alen > blen;
}

/* Bytewise order: the common prefix, then the shorter slice first. */
static inline int st_slice_cmp(st_slice a, st_slice b)
{
    return st_bytes_cmp(a.data, a.size, b.data, b.size);
}

static inline int st_slice_eq(st_slice a, st_slice b)
{
    return a.size == b.size && (a.size == 0 || memcmp(a.data, b.data, a.size) == 0);
}

static inline int st_slice_starts_with(st_slice s, st_slice prefix)
{
    return s.size >= prefix.size && memcmp(s.data, prefix.data, prefix.size) == 0;
}

static inline void st_slice_remove_prefix(st_slice *s, size_t n)
{
    s->data += n;
    s->size -= n;
}

#endif
