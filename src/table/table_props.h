/* table_props.h — the properties block of a table (docs/FORMAT.md "Properties block"). */
#ifndef STRATA_TABLE_TABLE_PROPS_H
#define STRATA_TABLE_TABLE_PROPS_H

#include <stdint.h>

typedef struct st_table_props {
    uint64_t format_version;
    uint64_t num_entries;
    uint64_t num_deletions;
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
    char filter_name[64];    /* "" when the table has no filter */
    char comparator_name[128];
} st_table_props;

#endif
