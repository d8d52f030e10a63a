/* options.h — the option structs behind strata_options / strata_read_options /
 * strata_write_options, their defaults, and the string form ("k=v;k=v").  docs/API.md lists every
 * option with its default. */
#ifndef STRATA_API_OPTIONS_H
#define STRATA_API_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "strata.h"
#include "util/buf.h"

#define ST_MAX_LEVELS_OPT 12

struct strata_options {
    int create_if_missing;           /* 0 */
    int error_if_exists;             /* 0 */
    int paranoid_checks;             /* 0 */
    const strata_comparator *comparator;        /* bytewise */
    const strata_filter_policy *filter_policy;  /* NULL: built-in bloom with bloom_bits_per_key */
    int filter_policy_set;           /* 1 once set_filter_policy was called (NULL then = none) */
    int bloom_bits_per_key;          /* 10; 0 = no filter */
    strata_cache *block_cache;       /* NULL: private cache of block_cache_size */
    size_t block_cache_size;         /* 32 MiB */
    strata_env *env;                 /* NULL: POSIX */
    size_t write_buffer_size;        /* 64 MiB; min 64 KiB */
    int max_write_buffers;           /* 2; 1..64 */
    int max_open_files;              /* 1000; min 16 */
    int mmap_reads;                  /* 1: tables are read through memory mappings */
    int mmap_wal_writes;             /* 1: the WAL is written through a shared mapping */
    size_t block_size;               /* 4096; 256 B .. 64 MiB */
    int block_restart_interval;      /* 16; 1..1024 */
    int compression[ST_MAX_LEVELS_OPT]; /* per level; default snappy if compiled in, else none */
    int zstd_level;                  /* 3; -5..22 */
    int checksum;                    /* STRATA_CHECKSUM_CRC32C */
    int num_levels;                  /* 7; 2..12 */
    uint64_t target_file_size;       /* 64 MiB; min 64 KiB */
    uint64_t max_bytes_for_level_base; /* 256 MiB; min 64 KiB */
    double level_multiplier;         /* 10; 2..100 */
    int dynamic_level_bytes;         /* 1 */
    int l0_compaction_trigger;       /* 4; >= 1 */
    int l0_slowdown_trigger;         /* 20; >= trigger */
    int l0_stop_trigger;             /* 36; >= slowdown */
    uint64_t soft_pending_bytes;     /* 64 GiB; 0 = off */
    uint64_t hard_pending_bytes;     /* 256 GiB; 0 = off */
    uint64_t delayed_write_rate;     /* 16 MiB/s; >= 1 KiB/s */
    int max_background_jobs;         /* 2; 2..64 */
    int low_priority_background;     /* 1: background threads run at a lower CPU priority */
    int skip_corrupt_wal_records;    /* 0 */
    int info_log;                    /* 1 */
    int encryption;                  /* STRATA_ENCRYPTION_NONE */
    strata_key_provider *key_provider; /* NULL; a counted reference when set */
    char encryption_key_file[1024];  /* "" = none; read at open */
    int ecc;                         /* STRATA_ECC_NONE */
    int ecc_data_shards;             /* 8; 1..32 */
    int ecc_parity_shards;           /* 2; 1..8 (RS) */
    int protection_bytes_per_key;    /* 0; 0, 1, 2, 4 or 8 */
    strata_merge_operator *merge_operator;       /* NULL; a counted reference when set */
    strata_compaction_filter *compaction_filter; /* NULL; a counted reference when set */
    uint64_t default_ttl;            /* 0 (seconds; 0 = values never expire) */
};

struct strata_read_options {
    int verify_checksums;            /* 1 */
    int fill_cache;                  /* 1 */
    const strata_snapshot *snapshot; /* NULL */
    char *lower;                     /* owned copy or NULL */
    size_t lower_len;
    char *upper;                     /* owned copy or NULL */
    size_t upper_len;
};

struct strata_write_options {
    int sync;                        /* 0 */
    int disable_wal;                 /* 0 */
};

/* Fills o with defaults. */
void st_options_defaults(struct strata_options *o);
void st_read_options_defaults(struct strata_read_options *ro);
/* Compression for level (levels past the table use the last entry). */
int st_options_compression_for_level(const struct strata_options *o, int level);
/* Checks cross-field rules (e.g. slowdown >= trigger, stop >= slowdown).  STRATA_E_INVALID with a
 * message naming the option. */
int st_options_validate(const struct strata_options *o);

#endif
