/* buf.h — a growable owned byte buffer, the one dynamic-bytes type used across strata (batch
 * contents, block builders, scratch space).  Appends return 0 or STRATA_E_NOMEM; on failure the
 * buffer is unchanged. */
#ifndef STRATA_UTIL_BUF_H
#define STRATA_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "util/slice.h"

typedef struct st_buf {
    char *data;
    size_t len;
    size_t cap;
} st_buf;

#define ST_BUF_INIT {NULL, 0, 0}

void st_buf_init(st_buf *b);
void st_buf_free(st_buf *b);
/* Ensures room for extra more bytes. */
int st_buf_reserve(st_buf *b, size_t extra);
int st_buf_append(st_buf *b, const void *p, size_t n);
int st_buf_assign(st_buf *b, const void *p, size_t n);
int st_buf_put_u8(st_buf *b, uint8_t v);
int st_buf_put_fixed32(st_buf *b, uint32_t v);
int st_buf_put_fixed64(st_buf *b, uint64_t v);
int st_buf_put_varint32(st_buf *b, uint32_t v);
int st_buf_put_varint64(st_buf *b, uint64_t v);
/* varint32 length followed by the bytes. */
int st_buf_put_lenprefixed(st_buf *b, st_slice s);
/* Moves the contents out: the caller owns the returned pointer (st_free); b becomes empty. */
char *st_buf_release(st_buf *b, size_t *len);

static inline void st_buf_clear(st_buf *b)
{
    b->len = 0;
}

static inline st_slice st_buf_slice(const st_buf *b)
{
    return st_slice_make(b->data, b->len);
}

#endif
