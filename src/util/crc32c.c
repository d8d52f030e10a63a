/* crc32c.c — CRC-32C (Castagnoli, reflected polynomial 0x82f63b78) through ISA-L.
 *
 * ISA-L's crc32_iscsi works on the raw CRC register: it neither inverts the initial value nor the
 * result.  The standard CRC-32C (the one with check value crc32c("123456789") == 0xe3069283)
 * starts from all ones and inverts the final register, so a finished CRC is converted back to a
 * register by inverting it, and the register is inverted again when done.  That makes
 * st_crc32c_extend(st_crc32c(a), b) == st_crc32c(a ‖ b).  ISA-L takes an int length, so longer
 * inputs are processed in chunks. */
#include "util/crc32c.h"

#include <isa-l/crc.h>
#include <limits.h>

#define CRC_CHUNK ((size_t)1 << 30)

uint32_t st_crc32c_extend(uint32_t crc, const void *data, size_t n)
{
    /* ISA-L's prototype lacks const; it does not write to the buffer. */
    unsigned char *p = (unsigned char *)(uintptr_t)data;
    unsigned int reg = ~crc;
    while (n > 0) {
        size_t len = n < CRC_CHUNK ? n : CRC_CHUNK;
        reg = crc32_iscsi(p, (int)len, reg);
        p += len;
        n -= len;
    }
    return ~reg;
}
