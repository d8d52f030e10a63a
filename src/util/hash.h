/* hash.h — non-cryptographic hashing via xxHash: 64-bit XXH3 for filters and cache sharding,
 * XXH3-128 for the strong block checksum option. */
#ifndef STRATA_UTIL_HASH_H
#define STRATA_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t st_hash64(const void *data, size_t n);
uint64_t st_hash64_seed(const void *data, size_t n, uint64_t seed);
/* XXH3-128 of data, written as 16 bytes (low 64 bits little-endian, then high 64 bits). */
void st_hash128(const void *data, size_t n, unsigned char out[16]);

#endif
