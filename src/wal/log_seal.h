/* log_seal.h — protection of record-log records (WAL and MANIFEST): encryption (DESIGN.md §5)
 * and parity (log_parity.h).
 *
 * A protected log starts with a header record (magic "STRATALH") whose flags say what applies:
 * bit 0 encrypted (then it names the key id and the file key's salt), bit 1 parity (then it
 * names the ecc kind, k and m).  A header with the parity flag is itself stored protected, with
 * a fixed code (st_log_header_ecc), so a damaged header heals before anything in it is known.
 * The reader never returns the header.  Every later record is stored as
 *
 *     encrypted:  fixed64 counter ‖ AES-256-GCM ciphertext ‖ 16-byte tag
 *     parity:     inner ‖ fixed32 CRC-32C(inner) ‖ parity region   (inner = the record, or its
 *                 encrypted form when both apply)
 *
 * with counters 1, 2, 3, … (the GCM nonce; unique within the file, whose key is its own), and
 * additional data binding the DB id, the file number, the log kind (WAL or MANIFEST), the counter
 * and the key id — so a record moved to another log, another position or another DB, or a record
 * removed from the middle, fails.  A log without a header stores records as given.
 * Layout: docs/FORMAT.md "Protected logs". */
#ifndef STRATA_WAL_LOG_SEAL_H
#define STRATA_WAL_LOG_SEAL_H

#include <stdint.h>

#include "codec/integrity.h"
#include "util/buf.h"
#include "util/slice.h"

#define ST_LOG_SEAL_HEADER_LEN 72 /* the header's fields; the record is longer with parity */
#define ST_LOG_SEAL_OVERHEAD (8 + ST_CRYPT_TAG_LEN)

/* The fixed code protecting a header record that has the parity flag: RS, k = 4, m = 2. */
extern const st_ecc st_log_header_ecc;

typedef struct st_log_seal st_log_seal;

/* The header record for a new log of file number and kind (ST_CRYPT_FILE_WAL or _MANIFEST) as
 * in says: encrypted under in's current key when in->encrypt (*seal receives the sealer, else
 * NULL), parity in->ecc when its kind is not NONE (*ecc receives it, else kind NONE).  When
 * neither applies (or in is NULL) *header is left empty: the log gets no header.  Errors: AUTH
 * (no key), IO (random), INVALID (bad ecc settings), NOMEM. */
int st_log_seal_create(st_integrity *in, uint64_t number, int kind, st_buf *header,
                       st_log_seal **seal, st_ecc *ecc);
/* Encrypts record into out (cleared first; ST_LOG_SEAL_OVERHEAD bytes longer). */
int st_log_seal_record(st_log_seal *s, st_slice record, st_buf *out);

/* Stored length of a header record with the parity flag. */
size_t st_log_seal_protected_header_len(void);
/* Recognises a header record (the first record of a log).  Returns 1 with *header = its
 * ST_LOG_SEAL_HEADER_LEN field bytes (in record, or in fix after a heal; *healed says which),
 * 0 if record is no header, or CORRUPTION (a protected header damaged beyond its parity, or a
 * header whose length and parity flag disagree; message set) or NOMEM. */
int st_log_seal_find_header(st_slice record, st_buf *fix, st_slice *header, int *healed);
/* Parses the header fields of a log of file number and kind (0: not known, any log kind is
 * accepted): *seal an opener when the log is encrypted (else NULL), *ecc its parity (kind NONE
 * if none).  Errors: CORRUPTION (malformed
 * header), AUTH (encrypted and no key provider or an unknown key; or not encrypted while in
 * requires it: downgrade), NOMEM — naming fname. */
int st_log_seal_open(st_integrity *in, uint64_t number, int kind, st_slice header,
                     const char *fname, st_log_seal **seal, st_ecc *ecc);
/* Decrypts a sealed record found at offset into out.  With strict, counters must follow each
 * other exactly (no record removed); otherwise they need only increase (records skipped as
 * corrupt).  Errors: AUTH (wrong key, tampered, moved, removed or replayed record), NOMEM. */
int st_log_seal_unseal(st_log_seal *s, st_slice record, int strict, const char *fname,
                       uint64_t offset, st_buf *out);
void st_log_seal_destroy(st_log_seal *s);

#endif
