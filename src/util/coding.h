/* coding.h — little-endian fixed-width and LEB128 varint encoding.  Decoders are bounds-checked:
 * they return NULL (or 0) instead of reading past limit, so hostile input cannot overrun. */
#ifndef STRATA_UTIL_CODING_H
#define STRATA_UTIL_CODING_H

#include <stdint.h>
#include <string.h>

#include "util/slice.h"

static inline void st_encode_fixed16(char *p, uint16_t v)
{
    p[0] = (char)(v & 0xff);
    p[1] = (char)(v >> 8);
}

static inline void st_encode_fixed32(char *p, uint32_t v)
{
    memcpy(p, &v, 4); /* Linux targets strata supports are little-endian */
}

static inline void st_encode_fixed64(char *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static inline uint16_t st_decode_fixed16(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint16_t)(u[0] | (u[1] << 8));
}

static inline uint32_t st_decode_fixed32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t st_decode_fixed64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Write v at p; return the byte after the last one written (at most 5 / 10 bytes). */
static inline char *st_encode_varint32(char *p, uint32_t v)
{
    unsigned char *u = (unsigned char *)p;
    while (v >= 0x80) {
        *u++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *u++ = (unsigned char)v;
    return (char *)u;
}

static inline char *st_encode_varint64(char *p, uint64_t v)
{
    unsigned char *u = (unsigned char *)p;
    while (v >= 0x80) {
        *u++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *u++ = (unsigned char)v;
    return (char *)u;
}

static inline int st_varint_length(uint64_t v)
{
    int n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Decode from [p, limit); return the byte after the varint, or NULL if malformed/truncated. */
static inline const char *st_decode_varint32(const char *p, const char *limit, uint32_t *v)
{
    uint32_t result = 0;
    for (int shift = 0; shift <= 28 && p < limit; shift += 7) {
        uint32_t byte = (unsigned char)*p++;
        if (shift == 28 && byte > 0x0f) {
            return NULL; /* more than 32 bits */
        }
        result |= (byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *v = result;
            return p;
        }
    }
    return NULL;
}

static inline const char *st_decode_varint64(const char *p, const char *limit, uint64_t *v)
{
    uint64_t result = 0;
    for (int shift = 0; shift <= 63 && p < limit; shift += 7) {
        uint64_t byte = (unsigned char)*p++;
        if (shift == 63 && byte > 1) {
            return NULL;
        }
        result |= (byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *v = result;
            return p;
        }
    }
    return NULL;
}

/* Slice-consuming decoders: return 1 and advance *in on success, 0 on malformed input. */
static inline int st_get_varint32(st_slice *in, uint32_t *v)
{
    const char *p = st_decode_varint32(in->data, in->data + in->size, v);
    if (!p) {
        return 0;
    }
    st_slice_remove_prefix(in, (size_t)(p - in->data));
    return 1;
}

static inline int st_get_varint64(st_slice *in, uint64_t *v)
{
    const char *p = st_decode_varint64(in->data, in->data + in->size, v);
    if (!p) {
        return 0;
    }
    st_slice_remove_prefix(in, (size_t)(p - in->data));
    return 1;
}

static inline int st_get_fixed32(st_slice *in, uint32_t *v)
{
    if (in->size < 4) {
        return 0;
    }
    *v = st_decode_fixed32(in->data);
    st_slice_remove_prefix(in, 4);
    return 1;
}

static inline int st_get_fixed64(st_slice *in, uint64_t *v)
{
    if (in->size < 8) {
        return 0;
    }
    *v = st_decode_fixed64(in->data);
    st_slice_remove_prefix(in, 8);
    return 1;
}

/* varint32 length + bytes; *out borrows from *in. */
static inline int st_get_lenprefixed(st_slice *in, st_slice *out)
{
    uint32_t n;
    st_slice save = *in;
    if (!st_get_varint32(in, &n) || in->size < n) {
        *in = save;
        return 0;
    }
    *out = st_slice_make(in->data, n);
    st_slice_remove_prefix(in, n);
    return 1;
}

#endif
