/* log_parity.c — parity-protected log records (log_parity.h; layout in docs/FORMAT.md
 * "Protected logs").
 *
 * Cost: a writer pays one CRC-32C pass and one parity encode over each record (ISA-L; the parity
 * tables are cached per (kind, k, m) by ecc.c), a reader one CRC-32C pass per intact record and a
 * binary search over the parity length to find where the inner record ends. */
#include "wal/log_parity.h"

#include <stdint.h>

#include "strata.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/status.h"

#define CRC_LEN 4

size_t st_log_parity_stored_len(const st_ecc *e, size_t n)
{
    if (n > SIZE_MAX - CRC_LEN) {
        return SIZE_MAX;
    }
    size_t p = st_ecc_parity_len(e, n + CRC_LEN);
    return p > SIZE_MAX - CRC_LEN - n ? SIZE_MAX : n + CRC_LEN + p;
}

int st_log_parity_append(const st_ecc *e, st_buf *b)
{
    size_t n = b->len + CRC_LEN;
    size_t plen = st_ecc_parity_len(e, n);
    if (plen == SIZE_MAX || st_buf_reserve(b, CRC_LEN + plen)) {
        return st_err(STRATA_E_NOMEM, "out of memory adding parity to a log record");
    }
    st_encode_fixed32(b->data + b->len, st_crc32c(b->data, b->len));
    int rc = st_ecc_encode(e, b->data, n, b->data + n);
    if (rc == 0) {
        b->len = n + plen;
    }
    return rc;
}

int st_log_parity_inner_len(const st_ecc *e, size_t len, size_t *n)
{
    /* Find t = n + 4 with t + parity_len(t) == len; the left side grows strictly with t. */
    size_t lo = CRC_LEN, hi = len;
    while (lo <= hi) {
        size_t t = lo + (hi - lo) / 2;
        size_t p = st_ecc_parity_len(e, t);
        size_t got = p > SIZE_MAX - t ? SIZE_MAX : t + p;
        if (got == len) {
            *n = t - CRC_LEN;
            return 0;
        }
        if (got < len) {
            lo = t + 1;
        } else {
            hi = t - 1;
        }
    }
    return STRATA_E_CORRUPTION;
}

/* st_ecc_check_fn: region = inner ‖ crc. */
static int crc_matches(void *arg, const void *data, size_t t)
{
    (void)arg;
    const char *p = data;
    return t >= CRC_LEN && st_crc32c(p, t - CRC_LEN) == st_decode_fixed32(p + t - CRC_LEN);
}

int st_log_parity_intact(const st_ecc *e, const char *rec, size_t len, size_t *n)
{
    return st_log_parity_inner_len(e, len, n) == 0 && crc_matches(NULL, rec, *n + CRC_LEN);
}

int st_log_parity_heal(const st_ecc *e, char *rec, size_t len, size_t *n)
{
    if (st_log_parity_inner_len(e, len, n) != 0) {
        return st_err(STRATA_E_CORRUPTION, "log record length %zu fits no protected record", len);
    }
    size_t t = *n + CRC_LEN;
    if (crc_matches(NULL, rec, t)) {
        return 0; /* only the parity region was damaged */
    }
    return st_ecc_heal(e, rec, t, rec + t, crc_matches, NULL, NULL);
}
