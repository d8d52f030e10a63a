/* checksum.c — CRC-32C (ISA-L, masked as in util/crc32c.h, stored little-endian) and XXH3-128
 * (stored low half first, as util/hash.h serializes it).  Two-piece checksums extend the CRC
 * register or feed a streaming XXH3 state kept on the stack; both give exactly the one-shot value
 * over the concatenation. */
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack, no heap state */
#include "codec/checksum.h"

#include <string.h>
#include <xxhash.h>

#include "strata.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/hash.h"

size_t st_checksum_len(int kind)
{
    switch (kind) {
    case STRATA_CHECKSUM_CRC32C: return 4;
    case STRATA_CHECKSUM_XXH3: return 16;
    default: return 0;
    }
}

const char *st_checksum_name(int kind)
{
    switch (kind) {
    case STRATA_CHECKSUM_CRC32C: return "crc32c";
    case STRATA_CHECKSUM_XXH3: return "xxh3";
    default: return "unknown";
    }
}

static void xxh3_two(st_slice a, st_slice b, unsigned char *out)
{
    if (b.size == 0) {
        st_hash128(a.data, a.size, out);
        return;
    }
    XXH3_state_t state;
    XXH3_INITSTATE(&state);
    XXH3_128bits_reset(&state);
    XXH3_128bits_update(&state, a.data, a.size);
    XXH3_128bits_update(&state, b.data, b.size);
    XXH128_hash_t h = XXH3_128bits_digest(&state);
    st_encode_fixed64((char *)out, h.low64);
    st_encode_fixed64((char *)out + 8, h.high64);
}

void st_checksum_compute2(int kind, st_slice a, st_slice b, unsigned char *out)
{
    if (kind == STRATA_CHECKSUM_XXH3) {
        xxh3_two(a, b, out);
        return;
    }
    uint32_t crc = st_crc32c_extend(st_crc32c(a.data, a.size), b.data, b.size);
    st_encode_fixed32((char *)out, st_crc32c_mask(crc));
}

int st_checksum_verify(int kind, st_slice data, const unsigned char *stored)
{
    unsigned char actual[ST_CHECKSUM_MAX_LEN];
    size_t n = st_checksum_len(kind);
    if (n == 0) {
        return 0;
    }
    st_checksum_compute(kind, data, actual);
    return memcmp(actual, stored, n) == 0;
}
