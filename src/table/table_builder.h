/* table_builder.h — writes a sorted table (.sst) of internal keys: data blocks, filter block,
 * properties block, metaindex, index and footer, each block through the codec pipeline.  Layout:
 * docs/FORMAT.md "Table".  Not thread-safe. */
#ifndef STRATA_TABLE_TABLE_BUILDER_H
#define STRATA_TABLE_TABLE_BUILDER_H

#include <stdint.h>

#include "codec/integrity.h"
#include "env/env.h"
#include "table/filter.h"
#include "table/table_props.h"
#include "util/comparator.h"
#include "util/slice.h"

typedef struct st_table_options {
    const st_comparator *ucmp;    /* user key order (keys passed in are internal keys) */
    const st_filter_policy *filter; /* NULL: no filter block */
    size_t block_size;            /* target uncompressed data block size */
    int restart_interval;         /* keys between restart points in data blocks */
    int compression;              /* STRATA_COMPRESSION_* */
    int zstd_level;
    int checksum;                 /* STRATA_CHECKSUM_* */
    uint64_t creation_time;       /* seconds since the epoch, recorded in the properties */
    /* Encryption and parity (NULL: neither).  With integ->encrypt the table is encrypted under
     * the provider's current key; integ->ecc gives its parity.  file_number is bound into the
     * encryption. */
    st_integrity *integ;
    uint64_t file_number;
} st_table_options;

typedef struct st_table_builder st_table_builder;

/* file is borrowed: the caller syncs and closes it after finish.  opts is copied (pointers in it
 * are borrowed).  STRATA_E_NOTSUP if the compression is compiled out. */
int st_table_builder_create(const st_table_options *opts, st_wfile *file, st_table_builder **out);
/* Turns on per-key protection (util/prot.h) of the data blocks: each block is checked against
 * checksums of the entries as they were added, after it is built and before it is sealed; a
 * mismatch is STRATA_E_CORRUPTION naming where (a static string: "flush", "compaction") and the
 * key.  REQUIRES: before the first add. */
void st_table_builder_set_protection(st_table_builder *b, const char *where);
/* ikey must sort after every key added before (internal key order); otherwise
 * STRATA_E_CORRUPTION and the builder is unusable (keys may come from a damaged input). */
int st_table_builder_add(st_table_builder *b, st_slice ikey, st_slice value);
/* Writes the remaining blocks and the footer.  After an error the builder is unusable. */
/* Adds a range tombstone [start, end) at seq to the range-deletion block.  REQUIRES: tombstones
 * come in internal-key order of (start, seq) (fragments in order, newest seq first) and do not
 * overlap other than with equal bounds; the caller clips them to the table's key range. */
int st_table_builder_add_range_del(st_table_builder *b, st_slice start, st_slice end,
                                   uint64_t seq);
uint64_t st_table_builder_num_range_dels(const st_table_builder *b);
int st_table_builder_finish(st_table_builder *b);
/* Frees b (finished or not). NULL ok. */
void st_table_builder_destroy(st_table_builder *b);
uint64_t st_table_builder_num_entries(const st_table_builder *b);
/* Bytes written so far (the final file size after finish). */
uint64_t st_table_builder_file_size(const st_table_builder *b);
/* Properties gathered so far (complete after finish). */
const st_table_props *st_table_builder_props(const st_table_builder *b);

#endif
