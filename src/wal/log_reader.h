/* log_reader.h — reads records back from a record log.
 *
 * Torn tail vs corruption: a damaged or incomplete fragment with no valid fragment anywhere after
 * it in the file is a torn tail (what a crash during an append leaves, including zero-filled or
 * preallocated space) and reads as end of log.  A damaged fragment followed by valid data is
 * corruption in the middle: st_log_reader_read returns STRATA_E_CORRUPTION with the file name and
 * byte offset in the message, unless skip_corrupt is set, in which case the damaged bytes are
 * skipped, counted (st_log_reader_dropped) and reading continues.  In a log with parity
 * (log_seal.h) damaged records are healed first; what does not heal gets exactly the outcome
 * above (docs/FORMAT.md "Protected logs"). */
#ifndef STRATA_WAL_LOG_READER_H
#define STRATA_WAL_LOG_READER_H

#include <stdint.h>

#include "codec/integrity.h"
#include "env/env.h"
#include "util/buf.h"
#include "util/slice.h"

typedef struct st_log_reader st_log_reader;

/* Takes ownership of file, also on failure (the file is closed then).  fname (copied) is used in error messages. */
int st_log_reader_create(st_sfile *file, const char *fname, int skip_corrupt,
                         st_log_reader **out);
/* Reads the next record.  Returns 1 with *record set (borrowed from the reader's buffer, valid
 * until the next call) and *offset = file offset of the record's first fragment; 0 at end of log;
 * or a negative STRATA_E_* code. */
int st_log_reader_read(st_log_reader *r, st_slice *record, uint64_t *offset);
/* Decrypts an encrypted log (log_seal.h) of file number and kind with in's keys, refuses an
 * unencrypted one that in says must be encrypted (STRATA_E_AUTH), and counts records healed from
 * parity or damaged beyond it in in (st_integrity_report_log).  A log's header is recognised and
 * its parity used with or without this call (parity needs no keys).  in is borrowed until close.
 * Call before the first read. */
void st_log_reader_set_integrity(st_log_reader *r, st_integrity *in, uint64_t number, int kind);
/* Returns records exactly as stored: a header, sealed and parity-framed records too, and no
 * healing (inspection tools and tests).  Otherwise a header is never returned as a record. */
void st_log_reader_set_raw(st_log_reader *r);
/* Bytes skipped as corrupt so far (skip_corrupt mode) and whether a torn tail was dropped. */
uint64_t st_log_reader_dropped(const st_log_reader *r);
int st_log_reader_torn_tail(const st_log_reader *r);
void st_log_reader_close(st_log_reader *r);

#endif
