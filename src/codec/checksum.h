/* checksum.h — block checksums: masked CRC-32C (4 bytes, the default) or XXH3-128 (16 bytes).
 * The kind is chosen per table and recorded in its footer; every stored block carries one in its
 * trailer (docs/FORMAT.md "Block trailer").  A checksum may be computed over two discontiguous
 * pieces (a block body and its type/flags bytes) with the same result as over their
 * concatenation, so writers need not copy a block to checksum it. */
#ifndef STRATA_CODEC_CHECKSUM_H
#define STRATA_CODEC_CHECKSUM_H

#include <stddef.h>

#include "util/slice.h"

#define ST_CHECKSUM_MAX_LEN 16

/* Bytes a checksum of this kind occupies (4 or 16); 0 for an unknown kind. */
size_t st_checksum_len(int kind);
/* "crc32c", "xxh3", or "unknown". */
const char *st_checksum_name(int kind);

/* Writes the checksum of a ‖ b into out (st_checksum_len(kind) bytes).  REQUIRES: a known kind. */
void st_checksum_compute2(int kind, st_slice a, st_slice b, unsigned char *out);
static inline void st_checksum_compute(int kind, st_slice data, unsigned char *out)
{
    st_checksum_compute2(kind, data, st_slice_make("", 0), out);
}
/* 1 if stored (st_checksum_len(kind) bytes) is the checksum of data, else 0. */
int st_checksum_verify(int kind, st_slice data, const unsigned char *stored);

#endif
