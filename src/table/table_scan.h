/* table_scan.h — reads every entry that can still be read from a damaged table, block by block.
 *
 * Unlike table_reader (which refuses a table whose index or metadata fails its checksum, and
 * whose iterator stops at the first bad block), a scan never fails on corruption: each data block
 * is read and checked on its own, a bad one is skipped and recorded as a damaged byte range, and
 * the scan goes on with the next block.  Used by repair and salvage (src/db/damage.c).
 *
 * Where the blocks are found:
 *  - index mode: the footer and the index block verify; every data block is read through its
 *    handle.  A damaged block's lost entries lie between the index separators around it.
 *  - chain mode: the index (or the footer) is unreadable.  Data blocks are written back to back
 *    from offset 0 (docs/FORMAT.md "File layout"), so the scan walks the data region: at each
 *    position it looks for the block length whose trailer checksum verifies (a checksum binds the
 *    block's offset, so a verified block is the block written there), up to a few times the
 *    usual block size (at least 4 MiB: a longer block is not found and counts as damage).
 *    Handles decoded from the unverified index are tried first as hints.  After a damaged block
 *    the next block start is searched for, within a budget of checksummed bytes; past the
 *    budget the rest of the region is reported lost.  A damaged range's lost entries lie between
 *    the good keys around it.
 *
 * A block is good when its checksum verifies, it decodes, every key is an internal key, keys are
 * strictly increasing, its first key is above the last key of the previous good block and (index
 * mode) all keys lie inside the range its index entry gives.  Entries of a block are returned
 * only after the whole block passed these checks. */
#ifndef STRATA_TABLE_TABLE_SCAN_H
#define STRATA_TABLE_TABLE_SCAN_H

#include <stdint.h>

#include "codec/integrity.h"
#include "env/env.h"
#include "table/table_props.h"
#include "util/buf.h"
#include "util/comparator.h"
#include "util/iter.h"
#include "util/slice.h"

/* A damaged byte range of a table and what it may have held.  Lost entries are internal keys x
 * with lo < x (lo <= x when lo_incl) and x < hi (x <= hi when hi_incl); a missing bound
 * (has_lo / has_hi = 0) is unbounded. */
typedef struct st_table_damage {
    uint64_t offset, size;   /* [offset, offset + size) */
    uint64_t entries_est;    /* estimated entries lost (see st_table_scan_next) */
    char what[96];           /* why, e.g. "checksum mismatch" */
    st_buf lo, hi;
    int has_lo, has_hi, lo_incl, hi_incl;
} st_table_damage;

typedef struct st_table_scan_options {
    const st_comparator *ucmp; /* NULL: bytewise */
    const char *fname;         /* names the table in messages (copied) */
    uint64_t search_budget;    /* chain mode: checksummed bytes spent searching; 0: 512 MiB */
    uint64_t *damage_count;    /* may be NULL: incremented at each damage record, so a caller
                                * merging many scans sees cheaply that one of them found some */
    /* Keys and the encryption rule (NULL: plaintext only) and the table's number: a format-3
     * table (encryption and/or parity) is read through them, its blocks healed from parity. */
    st_integrity *integ;
    uint64_t file_number;
} st_table_scan_options;

typedef struct st_table_scan st_table_scan;

/* Starts a scan of the file_size-byte table in file.  The scan owns file from now on, also on
 * failure.  Corruption never fails: an unreadable footer, metaindex or index changes the mode
 * (above).  Errors: NOMEM, IO. */
int st_table_scan_open(const st_table_scan_options *opts, st_rfile *file, uint64_t file_size,
                       st_table_scan **out);
void st_table_scan_close(st_table_scan *s);

/* Next good entry in key order: 1 with *key / *value borrowed until the next call, 0 at the end,
 * or an error (NOMEM, IO; sticky).  At the end every damage record is final, with its estimate:
 * bytes × entries per byte of the table (from its properties, else from its good blocks). */
int st_table_scan_next(st_table_scan *s, st_slice *key, st_slice *value);

/* Damage found so far (in file order); bounds are final once a later good block was read. */
int st_table_scan_num_damage(const st_table_scan *s);
const st_table_damage *st_table_scan_damage(const st_table_scan *s, int i);
/* Damaged metadata (footer, metaindex, properties, filter or index block; what names it): the
 * scan works around it and loses no entry by it, but the table cannot be opened normally.  Known
 * once st_table_scan_open returned; entries_est is 0 and lo / hi are unset. */
int st_table_scan_num_meta_damage(const st_table_scan *s);
const st_table_damage *st_table_scan_meta_damage(const st_table_scan *s, int i);
/* The verified properties block, or NULL when it could not be read. */
const st_table_props *st_table_scan_props(const st_table_scan *s);
/* Entries returned, and data blocks read (good and damaged) so far. */
uint64_t st_table_scan_entries(const st_table_scan *s);
uint64_t st_table_scan_blocks(const st_table_scan *s);
/* 1 if the table was read through a verified index, 0 in chain mode. */
int st_table_scan_indexed(const st_table_scan *s);

/* A forward-only iterator over the scan (seek_to_first starts it; seek, seek_to_last and prev
 * are not supported and make it invalid with STRATA_E_NOTSUP).  Borrows s, which must outlive it
 * and is not closed by it.  NULL when out of memory. */
st_iter *st_table_scan_iter(st_table_scan *s);

#endif
