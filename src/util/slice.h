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

/* Bytewise order: memcmp on the common prefix, then the shorter slice first. */
static inline int st_slice_cmp(st_slice a, st_slice b)
{
    size_t n = a.size < b.size ? a.size : b.size;
    int r = n ? memcmp(a.data, b.data, n) : 0;
    if (r == 0) {
        r = (a.size < b.size) ? -1 : (a.size > b.size);
    }
    return r;
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
