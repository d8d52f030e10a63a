/* log_seal.h — encryption of record-log records (WAL and MANIFEST), DESIGN.md §5.
 *
 * An encrypted log starts with a plaintext header record naming the key id and the file key's
 * salt; every later record is stored sealed:
 *
 *     fixed64 counter ‖ AES-256-GCM ciphertext ‖ 16-byte tag
 *
 * with counters 1, 2, 3, … (the GCM nonce; unique within the file, whose key is its own), and
 * additional data binding the DB id, the file number, the log kind (WAL or MANIFEST), the counter
 * and the key id — so a record moved to another log, another position or another DB, or a record
 * removed from the middle, fails.  Layout: docs/FORMAT.md "Encrypted logs". */
#ifndef STRATA_WAL_LOG_SEAL_H
#define STRATA_WAL_LOG_SEAL_H

#include <stdint.h>

#include "codec/integrity.h"
#include "util/buf.h"
#include "util/slice.h"

#define ST_LOG_SEAL_HEADER_LEN 68
#define ST_LOG_SEAL_OVERHEAD (8 + ST_CRYPT_TAG_LEN)

typedef struct st_log_seal st_log_seal;

/* A sealer for a new log: a fresh salt, the provider's current key; *header receives the header
 * record to write first.  Errors: AUTH (no key), IO (random), NOMEM. */
int st_log_seal_create(st_integrity *in, uint64_t number, int kind, st_buf *header,
                       st_log_seal **out);
/* Encrypts record into out (cleared first; ST_LOG_SEAL_OVERHEAD bytes longer). */
int st_log_seal_record(st_log_seal *s, st_slice record, st_buf *out);

/* 1 if record is a seal header. */
int st_log_seal_is_header(st_slice record);
/* An opener for a log whose first record is header.  Errors: CORRUPTION (malformed header),
 * AUTH (no key provider, unknown key), NOMEM — naming fname. */
int st_log_seal_open(st_integrity *in, uint64_t number, int kind, st_slice header,
                     const char *fname, st_log_seal **out);
/* Decrypts a sealed record found at offset into out.  With strict, counters must follow each
 * other exactly (no record removed); otherwise they need only increase (records skipped as
 * corrupt).  Errors: AUTH (wrong key, tampered, moved, removed or replayed record), NOMEM. */
int st_log_seal_unseal(st_log_seal *s, st_slice record, int strict, const char *fname,
                       uint64_t offset, st_buf *out);
void st_log_seal_destroy(st_log_seal *s);

#endif
