/* hash.c — XXH3 hashing (xxHash).  The 128-bit digest is serialized little-endian, low half
 * first, so stored checksums do not depend on the host byte order. */
#include "util/hash.h"

#include <xxhash.h>

#include "util/coding.h"

uint64_t st_hash64(const void *data, size_t n)
{
    return XXH3_64bits(data, n);
}

uint64_t st_hash64_seed(const void *data, size_t n, uint64_t seed)
{
    return XXH3_64bits_withSeed(data, n, seed);
}

void st_hash128(const void *data, size_t n, unsigned char out[16])
{
    XXH128_hash_t h = XXH3_128bits(data, n);
    st_encode_fixed64((char *)out, h.low64);
    st_encode_fixed64((char *)out + 8, h.high64);
}
