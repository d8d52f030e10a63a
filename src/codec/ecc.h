/* ecc.h — parity that heals: XOR or Reed-Solomon shards (ISA-L erasure codes) over a byte
 * region, with a CRC-32C per shard to locate the damaged ones and a single-bit fast path.
 *
 * A protected region of n bytes (for a table, one stored block: body ‖ trailer) is cut into k
 * data shards of s = max(1, ceil(n / k)) bytes (the last one zero-padded, the padding not
 * stored; n = 0 still gives s = 1).  m parity shards of s bytes are computed over them (XOR:
 * m = 1 whatever e->m says, the byte-wise XOR of the data shards; RS: a systematic Cauchy
 * Reed-Solomon code over GF(2^8), ISA-L gf_gen_cauchy1_matrix + ec_encode_data).  The parity
 * region stored after the data is
 *
 *     parity shard 0 … parity shard m-1  (m · s bytes)
 *     crc[0 … k+m-1]                      (fixed32 CRC-32C of each padded data shard, then of
 *                                          each parity shard)
 *     fixed32 CRC-32C of the crc array
 *
 * so st_ecc_parity_len(n) = m·s + 4·(k+m) + 4.  CRC-32C is ISA-L's crc32_iscsi with initial
 * value 0xffffffff and the result inverted (the standard CRC-32C), unmasked.
 *
 * Healing (st_ecc_heal) never trusts a repair it cannot verify: every candidate is accepted only
 * when the caller's check function accepts the whole region (for tables: the block checksum).
 * Order: (1) if exactly one shard's CRC fails, try to fix a single flipped bit in it from the CRC
 * syndrome (no RS decode), kept only if the first parity shard whose CRC matches agrees with the
 * result (one parity row is computed: damage that differs from one bit by a multiple of the
 * CRC-32C polynomial has that bit's syndrome, and a CRC-32C check function cannot tell); (2)
 * rebuild every shard whose CRC fails, if at most m do, from the others; (3) if the crc array
 * itself is damaged, try each data shard alone as the erasure.
 * Details: a data shard that is all padding is known to be zeros and never counts as failing;
 * (1) runs when exactly one *data* shard fails, whatever the parity shards' CRCs say (the fix
 * needs only that shard and its entry); (3) rebuilds shard i from the other data shards and the
 * first parity shard whose CRC matches its entry (parity shard 0 if none does).
 * Encoding tables are built once per (kind, k, m) and kept for the life of the process; every
 * function is safe to call from any number of threads on distinct regions.
 * Byte layout: docs/FORMAT.md "Parity". */
#ifndef STRATA_CODEC_ECC_H
#define STRATA_CODEC_ECC_H

#include <stddef.h>
#include <stdint.h>

enum { ST_ECC_NONE = 0, ST_ECC_XOR = 1, ST_ECC_RS = 2 };

#define ST_ECC_MAX_DATA_SHARDS 32
#define ST_ECC_MAX_PARITY_SHARDS 8

/* How a region was healed (st_ecc_heal's *how). */
enum { ST_ECC_HEALED_BIT = 1, ST_ECC_HEALED_SHARDS = 2 };

typedef struct st_ecc {
    int kind; /* ST_ECC_* */
    int k;    /* data shards, 1..ST_ECC_MAX_DATA_SHARDS */
    int m;    /* parity shards: 1 for XOR, 1..ST_ECC_MAX_PARITY_SHARDS for RS */
} st_ecc;

/* 0 if e is usable (kind NONE needs nothing else; XOR ignores m); INVALID with a message naming
 * the bad field. */
int st_ecc_check(const st_ecc *e);
/* Bytes of the parity region for an n-byte region; 0 for kind NONE or parameters st_ecc_check
 * rejects; SIZE_MAX if the length does not fit a size_t. */
size_t st_ecc_parity_len(const st_ecc *e, size_t n);
/* Writes the parity region of data[0, n) to parity (st_ecc_parity_len bytes).  0 or NOMEM (only
 * the first call for a (kind, k, m) allocates: its tables).  INVALID if e fails st_ecc_check or
 * is kind NONE.  REQUIRES: st_ecc_check(e) == 0 and kind != NONE. */
int st_ecc_encode(const st_ecc *e, const void *data, size_t n, void *parity);

/* Returns 1 if data[0, n) is valid (the caller's own checksum), else 0. */
typedef int (*st_ecc_check_fn)(void *arg, const void *data, size_t n);

/* Repairs data[0, n) in place from parity (st_ecc_parity_len(e, n) bytes, not modified) until
 * check(arg, data, n) accepts it.  Returns 0 and sets *how (may be NULL) when healed; returns
 * STRATA_E_CORRUPTION when the damage is beyond the parity (data is then restored to what it was
 * on entry), also for kind NONE; NOMEM (data untouched; one allocation of m·s + 32·k·m bytes);
 * INVALID if e fails st_ecc_check or check is NULL.  Call it only after check has failed on
 * data: an intact region is not re-checked.  check may be called several times (at most once
 * for (1), once for (2) and k times for (3)), always on the whole region. */
int st_ecc_heal(const st_ecc *e, void *data, size_t n, const void *parity, st_ecc_check_fn check,
                void *arg, int *how);
/* 1 if parity is exactly what st_ecc_encode would write for data (a scrub of the parity region
 * itself; always 1 for kind NONE), 0 if not, negative on NOMEM (or INVALID for a bad e).
 * Allocates st_ecc_parity_len bytes. */
int st_ecc_parity_ok(const st_ecc *e, const void *data, size_t n, const void *parity);

#endif
