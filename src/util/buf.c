/* buf.c — growable byte buffer. */
#include "util/buf.h"

#include <string.h>

#include "strata.h"
#include "util/alloc.h"
#include "util/coding.h"

void st_buf_init(st_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void st_buf_free(st_buf *b)
{
    st_free(b->data);
    st_buf_init(b);
}

int st_buf_reserve(st_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra) {
        return 0;
    }
    if (extra > SIZE_MAX / 2 - b->len) {
        return STRATA_E_NOMEM;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra) {
        cap *= 2;
    }
    char *p = st_realloc(b->data, cap);
    if (!p) {
        return STRATA_E_NOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int st_buf_append(st_buf *b, const void *p, size_t n)
{
    if (st_buf_reserve(b, n)) {
        return STRATA_E_NOMEM;
    }
    if (n) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    return 0;
}

int st_buf_assign(st_buf *b, const void *p, size_t n)
{
    if (n > b->cap) {
        /* Grow first so a failure leaves the contents intact.  p cannot point into b->data
         * here: that would need n <= len <= cap. */
        size_t old = b->len;
        b->len = 0;
        int rc = st_buf_reserve(b, n);
        b->len = old;
        if (rc) {
            return rc;
        }
    }
    if (n) {
        memmove(b->data, p, n); /* p may lie inside the current contents */
    }
    b->len = n;
    return 0;
}

int st_buf_put_u8(st_buf *b, uint8_t v)
{
    return st_buf_append(b, &v, 1);
}

int st_buf_put_fixed32(st_buf *b, uint32_t v)
{
    char tmp[4];
    st_encode_fixed32(tmp, v);
    return st_buf_append(b, tmp, 4);
}

int st_buf_put_fixed64(st_buf *b, uint64_t v)
{
    char tmp[8];
    st_encode_fixed64(tmp, v);
    return st_buf_append(b, tmp, 8);
}

int st_buf_put_varint32(st_buf *b, uint32_t v)
{
    char tmp[5];
    return st_buf_append(b, tmp, (size_t)(st_encode_varint32(tmp, v) - tmp));
}

int st_buf_put_varint64(st_buf *b, uint64_t v)
{
    char tmp[10];
    return st_buf_append(b, tmp, (size_t)(st_encode_varint64(tmp, v) - tmp));
}

int st_buf_put_lenprefixed(st_buf *b, st_slice s)
{
    if (s.size > UINT32_MAX) {
        return STRATA_E_INVALID;
    }
    size_t old = b->len;
    if (st_buf_put_varint32(b, (uint32_t)s.size) || st_buf_append(b, s.data, s.size)) {
        b->len = old;
        return STRATA_E_NOMEM;
    }
    return 0;
}

char *st_buf_release(st_buf *b, size_t *len)
{
    char *p = b->data;
    if (len) {
        *len = b->len;
    }
    st_buf_init(b);
    return p;
}
