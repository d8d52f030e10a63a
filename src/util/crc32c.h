/* crc32c.h — CRC-32C (Castagnoli) via ISA-L, and the masking used when a CRC is stored inside
 * data that is itself checksummed (rotate right 15 bits, add 0xa282ead8, as LevelDB does). */
#ifndef STRATA_UTIL_CRC32C_H
#define STRATA_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of data, continuing from a previous crc value (0 to start). crc32c("123456789") ==
 * 0xe3069283. */
uint32_t st_crc32c_extend(uint32_t crc, const void *data, size_t n);
static inline uint32_t st_crc32c(const void *data, size_t n)
{
    return st_crc32c_extend(0, data, n);
}

static inline uint32_t st_crc32c_mask(uint32_t crc)
{
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static inline uint32_t st_crc32c_unmask(uint32_t masked)
{
    uint32_t rot = masked - 0xa282ead8u;
    return (rot >> 17) | (rot << 15);
}

#endif
