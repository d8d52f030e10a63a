/* log_parity.h — parity-protected records of a record log (WAL and MANIFEST) whose header
 * record (log_seal.h) has the parity flag.
 *
 * A protected record is stored as
 *
 *     inner ‖ fixed32 CRC-32C(inner) ‖ parity region of (inner ‖ crc)   (codec/ecc.h)
 *
 * where inner is the record as the caller gave it (after encryption, if the log is encrypted).
 * The stored length is n + 4 + st_ecc_parity_len(e, n + 4) for an n-byte inner record; that is
 * strictly increasing in n, so a reader recovers n from the stored length alone.  The CRC is the
 * check that heals are verified against.  Layout: docs/FORMAT.md "Protected logs". */
#ifndef STRATA_WAL_LOG_PARITY_H
#define STRATA_WAL_LOG_PARITY_H

#include <stddef.h>

#include "codec/ecc.h"
#include "util/buf.h"

/* Stored bytes of a protected record with an n-byte inner record (SIZE_MAX if that overflows).
 * REQUIRES: st_ecc_check(e) == 0 and e->kind != ST_ECC_NONE. */
size_t st_log_parity_stored_len(const st_ecc *e, size_t n);
/* Appends the CRC and the parity region of b's contents (the inner record) to b.  Errors: NOMEM
 * (b unchanged). */
int st_log_parity_append(const st_ecc *e, st_buf *b);
/* The inner length of a stored record of len bytes: 0 and *n, or STRATA_E_CORRUPTION when no
 * inner length gives len (no message set: the caller names the place).  At most ~2·log2(len)
 * evaluations of the parity length. */
int st_log_parity_inner_len(const st_ecc *e, size_t len, size_t *n);
/* 1 if the stored record rec[0, len) has an inner length and its CRC matches (*n set), else 0. */
int st_log_parity_intact(const st_ecc *e, const char *rec, size_t len, size_t *n);
/* Verifies rec[0, len) and, if its CRC fails, heals inner ‖ crc in place from the parity region
 * (st_ecc_heal; the parity region is not changed).  Returns 0 with *n = inner length when the
 * record is intact or healed; STRATA_E_CORRUPTION when the length fits no record or the damage
 * is beyond the parity (rec is then as on entry); NOMEM. */
int st_log_parity_heal(const st_ecc *e, char *rec, size_t len, size_t *n);

#endif
