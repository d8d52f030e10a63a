/* table_reader.h — reads a table written by table_builder.  Opening reads and verifies the footer,
 * metaindex, index, filter and properties blocks and keeps index and filter in memory; data blocks
 * are read on demand through the block cache.  Every block's checksum is verified before use;
 * failures are STRATA_E_CORRUPTION naming the file and offset.  Thread-safe after open. */
#ifndef STRATA_TABLE_TABLE_READER_H
#define STRATA_TABLE_TABLE_READER_H

#include <stdint.h>

#include "codec/integrity.h"
#include "env/env.h"
#include "table/filter.h"
#include "table/table_props.h"
#include "util/cache.h"
#include "util/comparator.h"
#include "util/iter.h"
#include "util/pin.h"
#include "util/range_del.h"

typedef struct st_table_read_options {
    const st_comparator *ucmp;
    const st_filter_policy *filter; /* used only if its name matches the table's filter */
    st_cache *block_cache;          /* NULL: blocks are read per use and freed */
    const char *fname;              /* for error messages (copied) */
    int paranoid;                   /* open verifies more (see st_table_verify) */
    int mmap_reads;                 /* table cache: open files with st_env_new_mapped */
    /* Keys, the encryption rule and heal counters (NULL: plaintext tables only); file_number
     * is the table's (bound into its encryption; set per open by the table cache). */
    st_integrity *integ;
    uint64_t file_number;
} st_table_read_options;

typedef struct st_read_flags {
    int verify_checksums; /* data block checksums (metadata blocks are always verified) */
    int fill_cache;       /* insert blocks read into the block cache */
} st_read_flags;

typedef struct st_table st_table;

/* On success the table owns file; on failure the caller still owns it.  file_size is the file's
 * length.  Errors: CORRUPTION (bad magic, footer, checksum, unknown format version — the message
 * says which), NOTSUP (compression compiled out), IO, NOMEM. */
int st_table_open(const st_table_read_options *opts, st_rfile *file, uint64_t file_size,
                  st_table **out);
void st_table_close(st_table *t);
/* Per-key protection (util/prot.h) of cached data blocks: with n > 0 (1, 2, 4 or 8), a data block
 * put into the block cache gets a checksum of n bytes per entry right after its block checksum was
 * verified (st_block_protect), and every read of an entry from it checks that entry, so a bit that
 * flips while the block sits in the cache is STRATA_E_CORRUPTION ("block cache", the key), never
 * wrong data.  Blocks read without filling the cache are not protected.  REQUIRES: before the
 * table is shared. */
void st_table_set_protection(st_table *t, int n);

/* Point lookup.  If the filter rules out ikey's user key, returns 0 without calling found.
 * Otherwise finds the first entry >= ikey and, if one exists, calls found(ctx, key, value, pin)
 * once: key/value borrow the data block, which pin keeps alive.  found may take the pin (copy it
 * and set pin->release = NULL) to keep the value beyond the call; otherwise it is released after
 * found returns.  found's return value is passed back (0 or an error).  Returns 0 or an error. */
int st_table_get(st_table *t, const st_read_flags *rf, st_slice ikey,
                 int (*found)(void *ctx, st_slice key, st_slice value, st_pin *pin), void *ctx);

/* Iterator over all entries (internal keys).  The table must outlive it.  NULL when out of memory;
 * I/O and corruption errors are reported through st_iter_status. */
st_iter *st_table_iter(st_table *t, const st_read_flags *rf);

/* Approximate file offset where ikey's data would be (file size if past the last key). */
uint64_t st_table_approx_offset(st_table *t, st_slice ikey);
const st_table_props *st_table_get_props(const st_table *t);
/* Reads every block, verifying checksums, decoding, and key order. 0 or the first error. */
int st_table_verify(st_table *t);
/* Reads every block of the table (metadata, data, the parity regions and both footer copies),
 * healing what it can, and calls report(arg, offset, status) per block: status 0 intact, 1 healed
 * or parity damaged (the table is asked to be rewritten), or a negative error with the message
 * set (beyond repair).  Stops at report's first non-zero return, which it returns.  Adds the
 * bytes read to *bytes. */
int st_table_scrub(st_table *t, int (*report)(void *arg, uint64_t offset, int status), void *arg,
                   uint64_t *bytes);
/* The table's range tombstones, fragmented (NULL: none).  Borrowed: valid while t is open (take
 * a reference with st_rdel_list_ref to keep it longer). */
const st_rdel_list *st_table_range_dels(const st_table *t);
/* Memory held by the open table (index, filter, metadata), for table-cache charging. */
size_t st_table_memory_usage(const st_table *t);

#endif
