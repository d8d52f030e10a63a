/* table_props.h — the properties block of a table (docs/FORMAT.md "Properties block"). */
#ifndef STRATA_TABLE_TABLE_PROPS_H
#define STRATA_TABLE_TABLE_PROPS_H

#include <stdint.h>

#include "util/buf.h"
#include "util/slice.h"

typedef struct st_table_props {
    uint64_t format_version;
    uint64_t num_entries;
    uint64_t num_deletions;
    uint64_t num_range_deletions; /* entries of the range-deletion block */
    uint64_t num_data_blocks;
    uint64_t raw_key_size;   /* sum of internal key lengths */
    uint64_t raw_value_size;
    uint64_t data_size;      /* bytes of data blocks as stored (with trailers) */
    uint64_t index_size;
    uint64_t filter_size;
    uint64_t smallest_seq;
    uint64_t largest_seq;
    uint64_t compression;    /* STRATA_COMPRESSION_* configured for the table */
    uint64_t checksum;       /* STRATA_CHECKSUM_* */
    uint64_t creation_time;
    uint64_t encrypted;         /* 1: AES-256-GCM blocks */
    uint64_t key_id;            /* encrypted: the key id */
    uint64_t ecc;               /* ST_ECC_* parity kind */
    uint64_t ecc_data_shards;
    uint64_t ecc_parity_shards;
    char filter_name[64];    /* "" when the table has no filter */
    char comparator_name[128];
} st_table_props;

/* Appends the contents of a properties block for p to out: a block (block_builder format) of
 * "strata.<field>" -> value entries in name order, integers as varint64, names as raw bytes.
 * 0 or STRATA_E_NOMEM. */
int st_table_props_encode(const st_table_props *p, st_buf *out);
/* Parses properties block contents into *p (zeroed first).  Unknown names are skipped (newer
 * writers may add some); missing ones stay zero.  Errors: CORRUPTION naming fname and offset. */
int st_table_props_decode(st_slice contents, const char *fname, uint64_t offset,
                          st_table_props *p);

#endif
