/* compress.h — block compression: none, snappy, LZ4, zstd.  Each codec is compiled in only when
 * its library was found (STRATA_HAVE_SNAPPY / _LZ4 / _ZSTD); asking for a missing one gives
 * STRATA_E_NOTSUP with a message naming it.
 *
 * Framing of a compressed body (docs/FORMAT.md "Compression framing"): snappy's own format (it
 * starts with the raw length as a varint); LZ4 and zstd are preceded by a varint32 raw length.
 * Decompression trusts nothing: the raw length must be at most ST_COMPRESS_MAX_RAW and plausible
 * for the codec's maximum expansion ratio before a single byte is allocated, and the output must
 * come out exactly that long. */
#ifndef STRATA_CODEC_COMPRESS_H
#define STRATA_CODEC_COMPRESS_H

#include <stddef.h>

#include "util/buf.h"
#include "util/slice.h"

/* Largest block contents that are ever compressed (bigger blocks are stored raw), and so the
 * largest raw length a decompressor accepts. */
#define ST_COMPRESS_MAX_RAW ((size_t)64 << 20)

/* 1 if this build can (de)compress type (STRATA_COMPRESSION_*), else 0. */
int st_compression_supported(int type);
/* "none", "snappy", "lz4", "zstd" or "unknown". */
const char *st_compression_name(int type);
/* 0 if type is supported; else STRATA_E_NOTSUP (compiled out) or STRATA_E_INVALID (unknown),
 * with a message. */
int st_compression_check(int type);

typedef struct st_compressor st_compressor;

/* A compressor for type at level (zstd only; 0 = zstd's default).  STRATA_COMPRESSION_NONE is
 * allowed (st_compress then always declines).  Errors: NOTSUP, INVALID, NOMEM. */
int st_compressor_create(int type, int level, st_compressor **out);
void st_compressor_destroy(st_compressor *c);
int st_compressor_type(const st_compressor *c);

/* Replaces out's contents with the framed compressed form of raw.  Returns 1 if compressed, 0 if
 * the compressor declined (type none, raw too large, or the codec failed), or STRATA_E_NOMEM. */
int st_compress(st_compressor *c, st_slice raw, st_buf *out);

/* Decompresses a framed body of the given type into a new st_malloc'd buffer of exactly the raw
 * length: *out (owned by the caller) and *out_len.  Errors: CORRUPTION (malformed body, message
 * without location: the caller adds it), NOTSUP (type compiled out or unknown), NOMEM. */
int st_decompress(int type, st_slice body, char **out, size_t *out_len);

#endif
