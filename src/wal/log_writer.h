/* log_writer.h — appends records to a record log (wal/log_format.h). */
#ifndef STRATA_WAL_LOG_WRITER_H
#define STRATA_WAL_LOG_WRITER_H

#include <stdint.h>

#include "codec/integrity.h"
#include "env/env.h"
#include "util/slice.h"

typedef struct st_log_writer st_log_writer;

/* Takes ownership of file, also on failure (the file is closed then).  initial_size: bytes already in the file (0 for a new file), so block
 * boundaries stay aligned when appending to an existing log.  NULL file is invalid. */
int st_log_writer_create(st_wfile *file, uint64_t initial_size, st_log_writer **out);
/* Appends one record (any length, including 0) and flushes it to the OS (no sync). */
int st_log_writer_add(st_log_writer *w, st_slice record);
/* Protects every later record of this log, file number of kind ST_CRYPT_FILE_WAL or _MANIFEST,
 * as in says (log_seal.h): encrypted under in's current key when in->encrypt, with parity
 * in->ecc when its kind is not NONE; writes the header record now.  Does nothing when neither
 * applies (in may be NULL).  REQUIRES: called right after create, on a new file (initial_size 0).
 * in is borrowed for this call only.  Errors: AUTH, IO, INVALID (bad ecc settings), NOMEM. */
int st_log_writer_protect(st_log_writer *w, st_integrity *in, uint64_t number, int kind);
/* Makes every record added so far durable. */
int st_log_writer_sync(st_log_writer *w);
/* Bytes written so far, including headers and padding. */
uint64_t st_log_writer_size(const st_log_writer *w);
/* Closes the file (without syncing) and frees w.  Returns the close error, if any.  NULL ok. */
int st_log_writer_close(st_log_writer *w);

#endif
