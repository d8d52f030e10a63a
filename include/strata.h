/*
 * strata.h — the native C API of strata, an embedded LSM-tree key-value store.
 *
 * Conventions (docs/API.md has the full reference):
 *  - Every fallible function returns an int: STRATA_OK (0) or a negative STRATA_E_* code.
 *    strata_strerror(code) names the code; strata_errmsg() returns a thread-local detail message
 *    ("what and where": file, offset, key) set by the last failing call on this thread.
 *  - Handle first, inputs next, outputs last.  Keys and values are (pointer, length) byte strings.
 *  - Ownership is stated per function: "owned" memory is freed by the named function; "borrowed"
 *    pointers stay valid only as long as stated; "pinned" data is released by a named function.
 *  - Thread rules: a strata_db is fully thread-safe.  Options, batches, iterators and pinned values
 *    are not: use each from one thread at a time.
 *  - Every destroy/release function accepts NULL.
 *
 * This header includes only standard headers and is valid C99 and C++.
 */
#ifndef STRATA_H
#define STRATA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(STRATA_BUILDING)
#define STRATA_EXPORT __attribute__((visibility("default")))
#else
#define STRATA_EXPORT
#endif

#define STRATA_VERSION_MAJOR 0
#define STRATA_VERSION_MINOR 1
#define STRATA_VERSION_PATCH 0

/* ---- Status codes ---------------------------------------------------------------------------- */

enum {
    STRATA_OK = 0,
    STRATA_E_NOTFOUND = -1,    /* key absent (get) or file/DB missing (open) */
    STRATA_E_CORRUPTION = -2,  /* checksum or format error; errmsg names file and offset */
    STRATA_E_IO = -3,          /* an operating system I/O error */
    STRATA_E_INVALID = -4,     /* invalid argument or option */
    STRATA_E_BUSY = -5,        /* the DB is locked by another opener, or a transaction conflict,
                                * lock timeout or deadlock (the message says which) */
    STRATA_E_NOTSUP = -6,      /* feature not supported or compiled out */
    STRATA_E_NOMEM = -7,       /* memory allocation failed */
    STRATA_E_NOSPC = -8,       /* the file system is full */
    STRATA_E_EXISTS = -9,      /* the DB exists and error_if_exists was set */
    STRATA_E_CLOSED = -10,     /* the DB is shutting down */
    STRATA_E_INCOMPLETE = -11, /* the operation could not complete (e.g. data not in cache) */
    STRATA_E_AUTH = -12,       /* authentication failed: wrong key or tampered data; errmsg names
                                * file and offset */
    STRATA_E_MERGE = -13       /* a merge operator failed, or merge operands were found and the DB
                                * has no merge operator; no value is returned */
};

/* Name of a status code, e.g. "corruption". Never NULL; static storage. */
STRATA_EXPORT const char *strata_strerror(int code);

/* Detail message of the last failure on the calling thread ("" if none).
 * Borrowed: valid until the next strata call on this thread. */
STRATA_EXPORT const char *strata_errmsg(void);

/* Frees memory that strata returned as owned (values from strata_get, property strings, ...). */
STRATA_EXPORT void strata_free(void *ptr);

/* ---- Opaque handles -------------------------------------------------------------------------- */

typedef struct strata_db strata_db;
typedef struct strata_options strata_options;
typedef struct strata_read_options strata_read_options;
typedef struct strata_write_options strata_write_options;
typedef struct strata_batch strata_batch;
typedef struct strata_iter strata_iter;
typedef struct strata_snapshot strata_snapshot;
typedef struct strata_pinned strata_pinned;
typedef struct strata_comparator strata_comparator;
typedef struct strata_filter_policy strata_filter_policy;
typedef struct strata_cache strata_cache;
typedef struct strata_env strata_env;
typedef struct strata_key_provider strata_key_provider;
typedef struct strata_merge_operator strata_merge_operator;
typedef struct strata_compaction_filter strata_compaction_filter;
typedef struct strata_cf strata_cf;
typedef struct strata_txn strata_txn;
typedef struct strata_txn_options strata_txn_options;
typedef struct strata_txn_db_options strata_txn_db_options;

/* ---- Comparators ------------------------------------------------------------------------------ */

/* A user-defined total order on keys.  compare returns <0, 0, >0.  name identifies the order and is
 * recorded in the MANIFEST: reopening with a comparator of a different name fails with
 * STRATA_E_INVALID.  The callbacks are called from any thread and must be thread-safe.
 * destructor (may be NULL) is called with state by strata_comparator_destroy.
 * Owned: free with strata_comparator_destroy, after every DB using it is closed. */
STRATA_EXPORT strata_comparator *strata_comparator_create(
    void *state, void (*destructor)(void *state),
    int (*compare)(void *state, const char *a, size_t alen, const char *b, size_t blen),
    const char *(*name)(void *state));
STRATA_EXPORT void strata_comparator_destroy(strata_comparator *cmp);
/* The default order: bytewise (memcmp, shorter first). Static; do not destroy. */
STRATA_EXPORT const strata_comparator *strata_comparator_bytewise(void);

/* ---- Filter policies -------------------------------------------------------------------------- */

/* A cache-line-blocked bloom filter over whole keys with bits_per_key bits (1..64).
 * Owned: free with strata_filter_policy_destroy after every DB using it is closed. */
STRATA_EXPORT strata_filter_policy *strata_filter_policy_create_bloom(int bits_per_key);
/* A user-defined filter (same contract as LevelDB's FilterPolicy).  create_filter returns a malloc'd
 * filter for the n keys and sets *filter_len; key_may_match must return 1 for every key that was
 * passed to create_filter (0 only when the key is certainly absent).  The name is stored with each
 * table; a table whose filter has a different name is read without its filter. */
STRATA_EXPORT strata_filter_policy *strata_filter_policy_create(
    void *state, void (*destructor)(void *state),
    char *(*create_filter)(void *state, const char *const *keys, const size_t *key_lens, int n,
                           size_t *filter_len),
    int (*key_may_match)(void *state, const char *key, size_t klen, const char *filter,
                         size_t flen),
    const char *(*name)(void *state));
STRATA_EXPORT void strata_filter_policy_destroy(strata_filter_policy *policy);

/* ---- Caches ----------------------------------------------------------------------------------- */

/* A sharded LRU block cache charged by bytes; can be shared by several DBs.
 * Owned: strata_cache_destroy drops the creator's reference; the memory is freed once every DB
 * using the cache is closed as well. */
STRATA_EXPORT strata_cache *strata_cache_create_lru(size_t capacity_bytes);
STRATA_EXPORT void strata_cache_destroy(strata_cache *cache);
STRATA_EXPORT size_t strata_cache_usage(const strata_cache *cache);

/* ---- Environments ----------------------------------------------------------------------------- */

/* The POSIX file system. Static; do not destroy. */
STRATA_EXPORT strata_env *strata_env_default(void);
/* A private in-memory file system (for tests and ephemeral DBs).  Owned: strata_env_destroy, after
 * every DB using it is closed. */
STRATA_EXPORT strata_env *strata_env_create_mem(void);
STRATA_EXPORT void strata_env_destroy(strata_env *env);
/* A POSIX file system env of its own (unlike strata_env_default, it may get its own clock).
 * Owned: strata_env_destroy, after every DB using it is closed. */
STRATA_EXPORT strata_env *strata_env_create_posix(void);
/* Replaces env's wall clock (used for TTL expiry; real time by default) by now_unix_micros(state),
 * microseconds since the Unix epoch, so tests need not sleep.  now_unix_micros NULL restores the
 * real clock.  INVALID for NULL env or the shared strata_env_default(). */
STRATA_EXPORT int strata_env_set_clock(strata_env *env, uint64_t (*now_unix_micros)(void *state),
                                       void *state);


/* ---- Encryption keys -------------------------------------------------------------------------- */

/* A source of 32-byte AES-256 master keys named by 32-bit key ids (docs/SECURITY.md).
 * get_key fills key (32 bytes) for key_id and returns 0, or non-zero if it has no such key.
 * current_key_id stores the id that new files use and returns 0 (non-zero: failure).
 * destructor (may be NULL) is called with state once the provider is destroyed and no DB or
 * options object uses it any more.  Callbacks are called from any thread.  Key ids let keys
 * rotate: files keep the id they were written with, strata_rekey rewrites the ones on old keys.
 * Owned: strata_key_provider_destroy (the options and open DBs hold their own references).
 * NULL when a callback is NULL or memory is short. */
STRATA_EXPORT strata_key_provider *strata_key_provider_create(
    void *state, int (*get_key)(void *state, uint32_t key_id, unsigned char *key),
    int (*current_key_id)(void *state, uint32_t *key_id), void (*destructor)(void *state));
/* A provider reading the key file at path: 64 hex digits (key id 1), or "ID:HEX" lines for
 * rotation, the last one current; '#' comments.  Errors: NOTFOUND (no such file), IO,
 * INVALID (NULL argument, or a malformed file: names the line, never the key), NOMEM; *out is
 * NULL on error.  Owned: strata_key_provider_destroy. */
STRATA_EXPORT int strata_key_provider_create_file(const char *path, strata_key_provider **out);
/* Drops the caller's reference; the destructor runs once no options object or DB holds one.
 * NULL ok. */
STRATA_EXPORT void strata_key_provider_destroy(strata_key_provider *kp);

/* ---- Options ---------------------------------------------------------------------------------- */

enum {
    STRATA_COMPRESSION_NONE = 0,
    STRATA_COMPRESSION_SNAPPY = 1,
    STRATA_COMPRESSION_LZ4 = 2,
    STRATA_COMPRESSION_ZSTD = 3
};

enum {
    STRATA_CHECKSUM_CRC32C = 0, /* default: 4-byte masked CRC32C */
    STRATA_CHECKSUM_XXH3 = 1    /* 16-byte XXH3-128 */
};

enum {
    STRATA_ENCRYPTION_NONE = 0,
    STRATA_ENCRYPTION_AES256GCM = 1 /* AES-256-GCM per block and per log record */
};

enum {
    STRATA_ECC_NONE = 0,
    STRATA_ECC_XOR = 1, /* one parity shard: heals one damaged shard per block */
    STRATA_ECC_RS = 2   /* Reed-Solomon: heals up to ecc_parity_shards damaged shards per block */
};

/* Owned: strata_options_destroy.  Defaults are listed with each setter and in docs/API.md. */
STRATA_EXPORT strata_options *strata_options_create(void);
STRATA_EXPORT void strata_options_destroy(strata_options *opt);
/* Owned copy (NULL when out of memory). */
STRATA_EXPORT strata_options *strata_options_copy(const strata_options *opt);

/* Parses "name=value;name=value" (whitespace around tokens ignored; sizes accept K/M/G suffixes,
 * booleans true/false/1/0) and applies the settings in order.  On STRATA_E_INVALID nothing is applied
 * and errmsg names the bad token.  Names are the setter names without the prefix, e.g.
 * "write_buffer_size=64MB;compression=zstd;bloom_bits_per_key=10". */
STRATA_EXPORT int strata_options_from_string(strata_options *opt, const char *text);
/* Every option in the string form.  Owned: strata_free.  NULL when out of memory. */
STRATA_EXPORT char *strata_options_to_string(const strata_options *opt);

/* Each setter returns STRATA_OK or STRATA_E_INVALID (value out of range; the option is unchanged). */
STRATA_EXPORT int strata_options_set_create_if_missing(strata_options *opt, int v);   /* 0 */
STRATA_EXPORT int strata_options_set_error_if_exists(strata_options *opt, int v);     /* 0 */
STRATA_EXPORT int strata_options_set_paranoid_checks(strata_options *opt, int v);     /* 0 */
/* Borrowed: the comparator must outlive every DB opened with these options. Default bytewise;
 * NULL restores the default. */
STRATA_EXPORT int strata_options_set_comparator(strata_options *opt, const strata_comparator *c);
/* Borrowed, like the comparator.  Default: bloom with bloom_bits_per_key. NULL = no filter. */
STRATA_EXPORT int strata_options_set_filter_policy(strata_options *opt,
                                                   const strata_filter_policy *policy);
/* Bits per key of the built-in bloom filter; 0 disables filters. Default 10. */
STRATA_EXPORT int strata_options_set_bloom_bits_per_key(strata_options *opt, int bits);
/* Borrowed (the cache holds its own reference while a DB uses it).  Default: a private cache of
 * block_cache_size bytes. */
STRATA_EXPORT int strata_options_set_block_cache(strata_options *opt, strata_cache *cache);
STRATA_EXPORT int strata_options_set_block_cache_size(strata_options *opt, size_t bytes); /* 32 MiB */
/* Borrowed: must outlive the DB.  Default strata_env_default(); NULL restores the default. */
STRATA_EXPORT int strata_options_set_env(strata_options *opt, strata_env *env);
STRATA_EXPORT int strata_options_set_write_buffer_size(strata_options *opt, size_t bytes); /* 64 MiB */
STRATA_EXPORT int strata_options_set_max_write_buffers(strata_options *opt, int n);       /* 2 */
STRATA_EXPORT int strata_options_set_max_open_files(strata_options *opt, int n);          /* 1000 */
/* Read tables through read-only memory mappings (default 1): no system call or copy per block
 * read.  The trade-off: a disk read error (or another process truncating a table) then raises
 * SIGBUS instead of returning STRATA_E_IO; set 0 to read with pread. */
STRATA_EXPORT int strata_options_set_mmap_reads(strata_options *opt, int v);
/* Write the WAL through a shared writable memory mapping (default 1): a write without sync is a
 * memcpy into the page cache, with no system call, and still survives a crash of the process
 * (kill -9) as soon as it returns; sync writes (fdatasync) are unchanged.  The trade-offs: the WAL
 * grows in 1 MiB preallocated steps, so after a crash it ends in up to 1 MiB of zeros (read as
 * the end of the log); a disk error while touching a page, or another process truncating the WAL,
 * raises SIGBUS instead of returning STRATA_E_IO.  Set 0 to hand each record to the OS with one
 * write(2).  Environments without this support (in-memory, fault-injecting) always use writes. */
STRATA_EXPORT int strata_options_set_mmap_wal_writes(strata_options *opt, int v);
STRATA_EXPORT int strata_options_set_block_size(strata_options *opt, size_t bytes);       /* 4 KiB */
STRATA_EXPORT int strata_options_set_block_restart_interval(strata_options *opt, int n);  /* 16 */
/* Compression for every level (default snappy when compiled in, else none). */
STRATA_EXPORT int strata_options_set_compression(strata_options *opt, int type);
/* Compression per level: types[i] for level i; levels past n use types[n-1]. */
STRATA_EXPORT int strata_options_set_compression_per_level(strata_options *opt, const int *types,
                                                           int n);
STRATA_EXPORT int strata_options_set_zstd_level(strata_options *opt, int level);          /* 3 */
STRATA_EXPORT int strata_options_set_checksum(strata_options *opt, int kind);       /* CRC32C */
STRATA_EXPORT int strata_options_set_num_levels(strata_options *opt, int n);              /* 7 */
STRATA_EXPORT int strata_options_set_target_file_size(strata_options *opt, uint64_t b);   /* 64 MiB */
STRATA_EXPORT int strata_options_set_max_bytes_for_level_base(strata_options *opt,
                                                              uint64_t bytes);  /* 256 MiB */
STRATA_EXPORT int strata_options_set_max_bytes_for_level_multiplier(strata_options *opt,
                                                                    double m);  /* 10 */
/* Dynamic level targets: size levels from the last level up so it holds ~90% of data. Default 1. */
STRATA_EXPORT int strata_options_set_dynamic_level_bytes(strata_options *opt, int v);
STRATA_EXPORT int strata_options_set_level0_compaction_trigger(strata_options *opt, int n); /* 4 */
STRATA_EXPORT int strata_options_set_level0_slowdown_trigger(strata_options *opt, int n);   /* 20 */
STRATA_EXPORT int strata_options_set_level0_stop_trigger(strata_options *opt, int n);       /* 36 */
STRATA_EXPORT int strata_options_set_soft_pending_compaction_bytes(strata_options *opt,
                                                                   uint64_t bytes); /* 64 GiB */
STRATA_EXPORT int strata_options_set_hard_pending_compaction_bytes(strata_options *opt,
                                                                   uint64_t bytes); /* 256 GiB */
/* Write rate while slowed down, bytes/s. Default 16 MiB/s. */
STRATA_EXPORT int strata_options_set_delayed_write_rate(strata_options *opt, uint64_t bps);
/* Background threads for flushes and compactions (at least 2: one flush + compactions). Default 2. */
STRATA_EXPORT int strata_options_set_max_background_jobs(strata_options *opt, int n);
/* Run flush and compaction threads at a lower CPU priority (nice + 10 on Linux; default 1), so
 * reads and writes win when the CPUs are busy; writes are still throttled by the write
 * controller if compaction falls behind. */
STRATA_EXPORT int strata_options_set_low_priority_background(strata_options *opt, int v);
/* Skip (and count) corrupt WAL records during recovery instead of failing open. Default 0. */
STRATA_EXPORT int strata_options_set_skip_corrupt_wal_records(strata_options *opt, int v);
/* Write an info log to <db>/LOG. Default 1. */
STRATA_EXPORT int strata_options_set_info_log(strata_options *opt, int v);

/* Encryption at rest (docs/SECURITY.md): STRATA_ENCRYPTION_NONE (default) or _AES256GCM, which
 * needs keys from strata_options_set_key_provider or strata_options_set_encryption_key_file.
 * Once a DB has been opened with encryption it cannot be opened without its keys (STRATA_E_AUTH);
 * tables written before encryption was turned on stay readable until strata_rekey rewrites them. */
STRATA_EXPORT int strata_options_set_encryption(strata_options *opt, int kind);
/* Borrowed: the options and each DB opened with them keep their own reference.  NULL clears. */
STRATA_EXPORT int strata_options_set_key_provider(strata_options *opt, strata_key_provider *kp);
/* A key file (see strata_key_provider_create_file) read at open; the path is copied (at most
 * 1023 bytes).  NULL or "" clears.  A key provider set with set_key_provider takes precedence. */
STRATA_EXPORT int strata_options_set_encryption_key_file(strata_options *opt, const char *path);
/* Parity stored with every table block and log record (STRATA_ECC_*; default NONE).  A block
 * whose checksum fails is rebuilt from its parity, re-verified and counted
 * ("strata.ecc-healed-blocks"), and its table is rewritten in the background.  A WAL or MANIFEST
 * record is healed the same way when it is read (at open, verify, scrub) and counted in the same
 * property; the log needs no rewrite (it is replaced at open).  Applies to files created after
 * the option is set; older files keep what they were written with. */
STRATA_EXPORT int strata_options_set_ecc(strata_options *opt, int kind);
/* Data shards per block for parity, 1..32. Default 8. */
STRATA_EXPORT int strata_options_set_ecc_data_shards(strata_options *opt, int n);
/* Parity shards per block for STRATA_ECC_RS, 1..8 (XOR always uses 1). Default 2. */
STRATA_EXPORT int strata_options_set_ecc_parity_shards(strata_options *opt, int n);
/* Per-key protection: a checksum of this many bytes (0, 1, 2, 4 or 8) guards each key/value in
 * memory — from the write batch through the WAL record, the memtable (stored with each entry and
 * checked on every read) and the table builder (flush, compaction), and for data blocks in the
 * block cache (checked on every read of an entry) — so a bit flipped in RAM is reported as
 * STRATA_E_CORRUPTION naming the key and where it was caught, never returned or persisted.  On
 * disk nothing changes.  Batches written without strata_batch_protect are checksummed when
 * strata_write receives them.  Default 0 (off: no extra work or memory). */
STRATA_EXPORT int strata_options_set_protection_bytes_per_key(strata_options *opt, int n);

/* ---- Merge operators, compaction filters, TTL ----------------------------------------------- */

/* A merge operator combines the operands written by strata_merge with the value beneath them.
 * full_merge(state, key, klen, existing, elen, operands, olens, n, &new_value, &new_vlen) gets the
 * existing value (existing NULL when the key has none: absent, deleted or expired) and n >= 1
 * operands, oldest first; it returns 0 and a malloc'd *new_value (freed by strata with free()),
 * or non-zero when the operands cannot be merged (reads then fail with STRATA_E_MERGE).
 * partial_merge (may be NULL) combines two adjacent operands, left older than right, into one:
 * it returns 1 with a malloc'd *new_value, or 0 to decline (both are kept).  Callbacks run on any
 * thread, during reads and compactions, and must be thread-safe and deterministic.  name is
 * recorded in the DB: opening it later with a merge operator of another name fails with
 * STRATA_E_INVALID.  Owned: strata_merge_operator_destroy drops the creator's reference (options
 * and open DBs keep their own). */
/* NULL (with the message set) when full_merge or name is missing or name is 128 bytes or more. */
STRATA_EXPORT strata_merge_operator *strata_merge_operator_create(
    void *state, void (*destructor)(void *state),
    int (*full_merge)(void *state, const char *key, size_t klen, const char *existing,
                      size_t elen, const char *const *operands, const size_t *olens, int n,
                      char **new_value, size_t *new_vlen),
    int (*partial_merge)(void *state, const char *key, size_t klen, const char *left,
                         size_t llen, const char *right, size_t rlen, char **new_value,
                         size_t *new_vlen),
    const char *name);
STRATA_EXPORT void strata_merge_operator_destroy(strata_merge_operator *mo);
/* Built-in: 8-byte little-endian unsigned counters; each operand is added (wrapping at 2^64).
 * A missing value counts as 0; a value or operand that is not 8 bytes fails the merge.
 * Name "strata.uint64add" (options string merge_operator=uint64add).  Owned, as above. */
STRATA_EXPORT strata_merge_operator *strata_merge_operator_uint64_add(void);
/* Built-in: appends each operand to the value, joined by delimiter (no delimiter after a missing
 * value).  Name "strata.stringappend" (options string merge_operator=stringappend, delimiter
 * ',').  Owned, as above. */
STRATA_EXPORT strata_merge_operator *strata_merge_operator_string_append(char delimiter);
/* The options and each DB opened with them hold their own reference (destroy yours whenever).
 * NULL: none (merge operands then fail reads with STRATA_E_MERGE). */
STRATA_EXPORT int strata_options_set_merge_operator(strata_options *opt,
                                                    strata_merge_operator *mo);

/* What a compaction filter decides for one key-value pair. */
enum {
    STRATA_FILTER_KEEP = 0,   /* keep it as it is */
    STRATA_FILTER_REMOVE = 1, /* the key is deleted (as by strata_delete) */
    STRATA_FILTER_CHANGE = 2  /* the value becomes *new_value (malloc'd; strata frees it) */
};
/* A compaction filter sees the newest version of each key (plain and TTL values, after merging)
 * as compactions rewrite it, and only versions no live snapshot can see; level is the output
 * level.  filter returns a STRATA_FILTER_* decision (anything else keeps the pair).  Callbacks
 * run on background threads and must be thread-safe.  Owned: strata_compaction_filter_destroy
 * drops the creator's reference (options and open DBs keep their own). */
STRATA_EXPORT strata_compaction_filter *strata_compaction_filter_create(
    void *state, void (*destructor)(void *state),
    int (*filter)(void *state, int level, const char *key, size_t klen, const char *value,
                  size_t vlen, char **new_value, size_t *new_vlen),
    const char *name);
STRATA_EXPORT void strata_compaction_filter_destroy(strata_compaction_filter *cf);
/* Referenced, as the merge operator.  NULL: none. */
STRATA_EXPORT int strata_options_set_compaction_filter(strata_options *opt,
                                                       strata_compaction_filter *cf);
/* Seconds after which a strata_put (or strata_batch_put) value expires: invisible to every read
 * at once and dropped by compaction.  0 (default): values never expire.  Expiry uses the env's
 * wall clock (strata_env_set_clock); option string default_ttl. */
STRATA_EXPORT int strata_options_set_default_ttl(strata_options *opt, uint64_t seconds);

/* Read options: NULL means defaults everywhere a strata_read_options is taken. */
STRATA_EXPORT strata_read_options *strata_read_options_create(void);
STRATA_EXPORT void strata_read_options_destroy(strata_read_options *ro);
STRATA_EXPORT void strata_read_options_set_verify_checksums(strata_read_options *ro, int v); /* 1 */
STRATA_EXPORT void strata_read_options_set_fill_cache(strata_read_options *ro, int v);      /* 1 */
/* Borrowed: the snapshot must stay alive while these options are used. NULL = latest state. */
STRATA_EXPORT void strata_read_options_set_snapshot(strata_read_options *ro,
                                                    const strata_snapshot *snap);
/* Iterator bounds: keys in [lower, upper).  The bytes are copied; NULL removes the bound.
 * Return STRATA_E_NOMEM when the copy fails. */
STRATA_EXPORT int strata_read_options_set_lower_bound(strata_read_options *ro, const void *key,
                                                      size_t klen);
STRATA_EXPORT int strata_read_options_set_upper_bound(strata_read_options *ro, const void *key,
                                                      size_t klen);

/* Write options: NULL means defaults. */
STRATA_EXPORT strata_write_options *strata_write_options_create(void);
STRATA_EXPORT void strata_write_options_destroy(strata_write_options *wo);
/* fsync the WAL before acknowledging (durable across power loss). Default 0. */
STRATA_EXPORT void strata_write_options_set_sync(strata_write_options *wo, int v);
/* Skip the WAL (data lives only in the memtable until flushed). Default 0. */
STRATA_EXPORT void strata_write_options_set_disable_wal(strata_write_options *wo, int v);

/* ---- Opening and closing ---------------------------------------------------------------------- */

/* Opens (or with create_if_missing, creates) the DB in directory path.  opt may be NULL (defaults).
 * Errors: NOTFOUND (missing and not create_if_missing), EXISTS, BUSY (LOCK held by another opener in
 * any process), CORRUPTION, IO, INVALID (e.g. comparator mismatch), NOMEM.
 * Owned: *db is closed with strata_close. */
STRATA_EXPORT int strata_open(const strata_options *opt, const char *path, strata_db **db);
/* Waits for running background work, releases the LOCK and frees db (always, even on error).
 * Returns the sticky background error if one occurred, else STRATA_OK.
 * REQUIRES: no iterator, snapshot or pinned value of db is still alive. */
STRATA_EXPORT int strata_close(strata_db *db);
/* Deletes the DB's files and directory.  Fails with BUSY if it is open. NOTFOUND-free: a missing
 * directory is STRATA_OK. */
STRATA_EXPORT int strata_destroy(const strata_options *opt, const char *path);

/* Rebuilds a DB whose MANIFEST or CURRENT is missing or damaged from the tables and WALs that
 * survive: readable tables are kept (in level 0); of a damaged table every readable block is kept
 * (only the damaged blocks' entries are lost) in a new table and the original is renamed to
 * NNNNNN.sst.corrupt; WALs are replayed skipping damaged records.  Entries that a deletion lost
 * in a damaged block could have covered are dropped, so a deleted key never comes back
 * (docs/API.md "Repair and salvage").  The DB must not be open (BUSY).  opt may be NULL; its
 * comparator must be the DB's.  Same as strata_repair_report(opt, path, NULL). */
STRATA_EXPORT int strata_repair(const strata_options *opt, const char *path);

/* What verify, salvage and repair found.  detail is one line per damaged range, e.g.
 * "000012.sst: offsets 4096..8191: checksum mismatch (~41 entries lost)".
 * Owned: free detail with strata_integrity_report_free (the struct itself is the caller's). */
typedef struct strata_integrity_report {
    uint64_t files_checked;
    uint64_t blocks_checked;        /* table blocks and log records read */
    uint64_t blocks_healed;         /* rebuilt from parity and re-verified */
    uint64_t blocks_unrecoverable;  /* damaged beyond the parity (or no parity) */
    uint64_t entries_recovered;     /* salvage / repair: entries kept */
    uint64_t entries_lost_estimate; /* salvage / repair: entries in the damaged ranges (estimate) */
    uint64_t bytes_lost;            /* salvage / repair: bytes in the damaged ranges */
    char *detail;                   /* owned, "" when nothing was found; NULL until filled */
} strata_integrity_report;
STRATA_EXPORT void strata_integrity_report_free(strata_integrity_report *report);

/* Like strata_repair, and fills report (may be NULL) with what was kept and what was dropped. */
STRATA_EXPORT int strata_repair_report(const strata_options *opt, const char *path,
                                       strata_integrity_report *report);
/* Copies every entry that can still be read from the DB at damaged_path — every readable block of
 * every table (not only up to the first bad one) and every readable WAL record — into a new DB
 * at new_path (created; it must not exist), and reports what was lost.  The damaged DB is only
 * read (it must not be open).  A key that was deleted is never brought back by an older copy of
 * it from another file.  opt may be NULL; its comparator and keys must be the damaged DB's.
 * Errors: EXISTS (new_path has a DB), NOTFOUND, IO, NOMEM, AUTH. */
STRATA_EXPORT int strata_salvage(const strata_options *opt, const char *damaged_path,
                                 const char *new_path);
/* strata_salvage, filling report (may be NULL) with what was kept and what was lost. */
STRATA_EXPORT int strata_salvage_report(const strata_options *opt, const char *damaged_path,
                                        const char *new_path, strata_integrity_report *report);

/* ---- Writes ----------------------------------------------------------------------------------- */

/* Keys up to 64 MiB, values up to 1 GiB minus 1 (STRATA_E_INVALID beyond). */
STRATA_EXPORT int strata_put(strata_db *db, const strata_write_options *wo, const void *key,
                             size_t klen, const void *val, size_t vlen);
/* Deletes every key in [begin, end) by the comparator (nothing if begin >= end) in one operation
 * whose cost does not depend on how many keys it covers. */
STRATA_EXPORT int strata_delete_range(strata_db *db, const strata_write_options *wo,
                                      const void *begin, size_t blen, const void *end,
                                      size_t elen);
/* Deletes every key that starts with prefix, as a range delete [prefix, successor of prefix).
 * INVALID for a comparator other than bytewise, and for a prefix with no successor key (empty, or
 * only 0xff bytes): use strata_delete_range then. */
STRATA_EXPORT int strata_delete_prefix(strata_db *db, const strata_write_options *wo,
                                       const void *prefix, size_t plen);
/* Adds operand to key's merge operands, combined with the existing value by the DB's merge
 * operator on read and in compaction. */
STRATA_EXPORT int strata_merge(strata_db *db, const strata_write_options *wo, const void *key,
                               size_t klen, const void *operand, size_t olen);
/* Deletes a key that was written (put) exactly once since it was last deleted, letting
 * compaction drop the pair without carrying a tombstone down.  Contract: no other put or merge of
 * the key between that put and this delete, and no second single delete; otherwise older versions
 * may reappear (debug builds log the misuse when compaction meets it, and count it in
 * "strata.single-delete-misuse"). */
STRATA_EXPORT int strata_single_delete(strata_db *db, const strata_write_options *wo,
                                       const void *key, size_t klen);
/* Puts a value that expires ttl_seconds from now (by the env's clock): from then on every read
 * sees the key as absent, and compaction drops it.  ttl_seconds 0: never expires (even when a
 * default_ttl is set). */
STRATA_EXPORT int strata_put_ttl(strata_db *db, const strata_write_options *wo, const void *key,
                                 size_t klen, const void *val, size_t vlen, uint64_t ttl_seconds);
STRATA_EXPORT int strata_delete(strata_db *db, const strata_write_options *wo, const void *key,
                                size_t klen);
/* Applies every operation of batch atomically (all or none, also across crashes).
 * The batch is not modified and may be reused. */
STRATA_EXPORT int strata_write(strata_db *db, const strata_write_options *wo, strata_batch *batch);

/* ---- Point reads ------------------------------------------------------------------------------ */

/* Copies the value of key into a new buffer.  Returns NOTFOUND when absent.
 * Owned: *val is freed with strata_free (a zero-length value still gets a non-NULL buffer). */
STRATA_EXPORT int strata_get(strata_db *db, const strata_read_options *ro, const void *key,
                             size_t klen, void **val, size_t *vlen);
/* Zero-copy read: *pinned refers to the value where it lives (block cache or memtable), which stays
 * alive until strata_pinned_release.  Pinned: release it before closing the DB. */
STRATA_EXPORT int strata_get_pinned(strata_db *db, const strata_read_options *ro, const void *key,
                                    size_t klen, strata_pinned **pinned);
/* Borrowed: valid until strata_pinned_release. */
/* Gets n keys from one consistent view (the snapshot in ro, else the current state).  For each i:
 * statuses[i] is STRATA_OK with vals[i] (owned: strata_free) and vlens[i] set, STRATA_E_NOTFOUND
 * with vals[i] NULL, or another error.  The keys may repeat and come in any order.  Returns
 * STRATA_OK when every status is OK or NOTFOUND, else the first other error (INVALID for NULL
 * arguments, with nothing filled). */
STRATA_EXPORT int strata_multi_get(strata_db *db, const strata_read_options *ro, size_t n,
                                   const void *const *keys, const size_t *klens, void **vals,
                                   size_t *vlens, int *statuses);
STRATA_EXPORT const void *strata_pinned_value(const strata_pinned *pinned, size_t *vlen);
STRATA_EXPORT void strata_pinned_release(strata_pinned *pinned);

/* ---- Batches ---------------------------------------------------------------------------------- */

/* Owned: strata_batch_destroy.  NULL when out of memory. */
STRATA_EXPORT strata_batch *strata_batch_create(void);
STRATA_EXPORT void strata_batch_destroy(strata_batch *batch);
STRATA_EXPORT void strata_batch_clear(strata_batch *batch);
/* Return STRATA_OK, STRATA_E_INVALID (too large) or STRATA_E_NOMEM (batch unchanged). */
STRATA_EXPORT int strata_batch_put(strata_batch *batch, const void *key, size_t klen,
                                   const void *val, size_t vlen);
STRATA_EXPORT int strata_batch_delete(strata_batch *batch, const void *key, size_t klen);
/* The batch forms of strata_delete_range, strata_merge, strata_single_delete and strata_put_ttl.
 * TTLs (and default_ttl, for strata_batch_put) count from when the batch is written, by the DB's
 * env clock. */
STRATA_EXPORT int strata_batch_delete_range(strata_batch *batch, const void *begin, size_t blen,
                                            const void *end, size_t elen);
STRATA_EXPORT int strata_batch_merge(strata_batch *batch, const void *key, size_t klen,
                                     const void *operand, size_t olen);
STRATA_EXPORT int strata_batch_single_delete(strata_batch *batch, const void *key, size_t klen);
STRATA_EXPORT int strata_batch_put_ttl(strata_batch *batch, const void *key, size_t klen,
                                       const void *val, size_t vlen, uint64_t ttl_seconds);
/* Appends every operation of src to dst. */
STRATA_EXPORT int strata_batch_append(strata_batch *dst, const strata_batch *src);
/* Per-key protection from now on: checksums the operations batch holds and each one added later
 * (8 bytes each, kept beside the encoding), so a DB with protection_bytes_per_key > 0 also
 * catches a bit flipped in the batch's memory before strata_write (without this call the
 * checksums are taken when strata_write receives the batch).  Stays on across strata_batch_clear.
 * Costs one hash per operation.  Returns STRATA_OK, STRATA_E_INVALID (NULL) or STRATA_E_NOMEM. */
STRATA_EXPORT int strata_batch_protect(strata_batch *batch);
STRATA_EXPORT uint32_t strata_batch_count(const strata_batch *batch);
/* Bytes of the encoded batch (an estimate of its WAL size). */
STRATA_EXPORT size_t strata_batch_size(const strata_batch *batch);
/* Calls put or del (either may be NULL) for each put and delete (single deletes included) in
 * order; range deletes, merges and TTL puts are skipped (see strata_batch_iterate_ops).  Pointers
 * passed to the callbacks are borrowed for the duration of the call. */
STRATA_EXPORT int strata_batch_iterate(const strata_batch *batch, void *ctx,
                                       void (*put)(void *ctx, const char *k, size_t klen,
                                                   const char *v, size_t vlen),
                                       void (*del)(void *ctx, const char *k, size_t klen));

/* Operation kinds seen by strata_batch_iterate_ops. */
enum {
    STRATA_OP_PUT = 1,           /* key, value */
    STRATA_OP_DELETE = 2,        /* key */
    STRATA_OP_SINGLE_DELETE = 3, /* key */
    STRATA_OP_DELETE_RANGE = 4,  /* key = begin, value = end */
    STRATA_OP_MERGE = 5,         /* key, value = operand */
    STRATA_OP_PUT_TTL = 6        /* key, value; expire_unix_micros set (for a batch not yet
                                  * written: the expiry its TTL would give now, by the real clock) */
};
/* Calls fn for every operation in order (fn's non-zero return stops the walk and is returned). */
STRATA_EXPORT int strata_batch_iterate_ops(
    const strata_batch *batch, void *ctx,
    int (*fn)(void *ctx, int op, const char *key, size_t klen, const char *value, size_t vlen,
              uint64_t expire_unix_micros));

/* ---- Iterators -------------------------------------------------------------------------------- */

/* An iterator over a consistent view (the snapshot in ro, else the state at creation), limited to the
 * bounds in ro.  Owned: strata_iter_destroy, before strata_close. */
STRATA_EXPORT int strata_iter_create(strata_db *db, const strata_read_options *ro,
                                     strata_iter **it);
STRATA_EXPORT void strata_iter_destroy(strata_iter *it);
STRATA_EXPORT int strata_iter_valid(const strata_iter *it);
STRATA_EXPORT void strata_iter_seek_to_first(strata_iter *it);
STRATA_EXPORT void strata_iter_seek_to_last(strata_iter *it);
/* Positions at the first key >= key. */
STRATA_EXPORT void strata_iter_seek(strata_iter *it, const void *key, size_t klen);
/* Positions at the last key <= key. */
STRATA_EXPORT void strata_iter_seek_for_prev(strata_iter *it, const void *key, size_t klen);
/* The seek functions ignore a NULL key with non-zero length (the iterator is left unchanged).
 * REQUIRES: strata_iter_valid(it) for next and prev (otherwise they do nothing). */
STRATA_EXPORT void strata_iter_next(strata_iter *it);
STRATA_EXPORT void strata_iter_prev(strata_iter *it);
/* Borrowed: valid until the iterator moves or is destroyed.  REQUIRES: strata_iter_valid(it). */
STRATA_EXPORT const char *strata_iter_key(const strata_iter *it, size_t *klen);
STRATA_EXPORT const char *strata_iter_value(const strata_iter *it, size_t *vlen);
/* STRATA_OK, or the error that made the iterator invalid (errmsg set on the calling thread). */
STRATA_EXPORT int strata_iter_status(const strata_iter *it);

/* ---- Snapshots -------------------------------------------------------------------------------- */

/* A consistent point-in-time view.  Owned: strata_snapshot_release(db, snap) before strata_close.
 * NULL when out of memory. */
STRATA_EXPORT const strata_snapshot *strata_snapshot_create(strata_db *db);
STRATA_EXPORT void strata_snapshot_release(strata_db *db, const strata_snapshot *snap);
STRATA_EXPORT uint64_t strata_snapshot_sequence(const strata_snapshot *snap);

/* ---- Maintenance ------------------------------------------------------------------------------ */

/* Switches the memtable and writes it to a table (level 0, or the base level when it overlaps
 * nothing above it); with wait, returns once it is durable. */
STRATA_EXPORT int strata_flush(strata_db *db, int wait);
/* Compacts every table overlapping [begin, end] (NULL = unbounded) down to the last level that
 * holds data.  Blocks until done. */
STRATA_EXPORT int strata_compact_range(strata_db *db, const void *begin, size_t blen,
                                       const void *end, size_t elen);
/* Approximate bytes on disk for keys in each range [start[i], limit[i]). */
STRATA_EXPORT int strata_approximate_sizes(strata_db *db, int n, const char *const *start,
                                           const size_t *start_lens, const char *const *limit,
                                           const size_t *limit_lens, uint64_t *sizes);
/* Text properties: "strata.stats", "strata.levelstats", "strata.sstables",
 * "strata.num-files-at-level<N>", "strata.approximate-memory-usage", and every integer property.
 * Owned: *value is freed with strata_free.  NOTFOUND for an unknown name. */
STRATA_EXPORT int strata_property(strata_db *db, const char *name, char **value);
/* Integer properties: "strata.num-files-at-level<N>", "strata.approximate-memory-usage",
 * "strata.cur-size-active-mem-table", "strata.num-immutable-mem-table", "strata.total-sst-size",
 * "strata.estimate-num-keys", "strata.last-sequence", "strata.stall-micros",
 * "strata.pending-compaction-bytes", "strata.num-running-compactions",
 * "strata.block-cache-usage", "strata.block-cache-pinned-usage", "strata.background-errors",
 * "strata.single-delete-misuse", "strata.num-range-deletes",
 * "strata.bytes-written", "strata.compaction-bytes-written", "strata.flush-bytes-written". */
STRATA_EXPORT int strata_property_int(strata_db *db, const char *name, uint64_t *value);

/* ---- Integrity --------------------------------------------------------------------------------- */

enum {
    STRATA_VERIFY_TABLES = 1, /* every block of every live table (with parity: healing) */
    STRATA_VERIFY_LOGS = 2    /* every record of the live WALs and MANIFEST */
};
/* Reads and checks everything flags selects (0 = everything) while the DB is in use.  Blocks that
 * fail and heal from parity are counted as healed and their tables scheduled for rewrite; the rest
 * are unrecoverable.  Returns STRATA_OK when nothing is unrecoverable, else CORRUPTION or AUTH
 * (errmsg names the first bad file and offset); IO, NOMEM. */
STRATA_EXPORT int strata_verify(strata_db *db, int flags);
/* strata_verify, filling report (may be NULL) with counts and one line per damaged block. */
STRATA_EXPORT int strata_verify_report(strata_db *db, int flags, strata_integrity_report *report);
/* Starts a background patrol scrub: one pass over every block of every live table at most
 * rate_bytes_per_sec (0 = unthrottled), healing what it can and counting what it cannot
 * ("strata.scrub-*" properties).  BUSY if a scrub is already running. */
STRATA_EXPORT int strata_scrub(strata_db *db, uint64_t rate_bytes_per_sec);
/* Waits for a running scrub to end; returns STRATA_OK if it found nothing unrecoverable, else
 * CORRUPTION.  STRATA_OK at once when no scrub runs. */
STRATA_EXPORT int strata_scrub_wait(strata_db *db);
/* Rewrites every live file that is not under the key provider's current key (tables on retired
 * keys or written before encryption, the WAL and the MANIFEST), so retired keys can be destroyed.
 * Blocks until done.  NOTSUP when the DB is not encrypted. */
STRATA_EXPORT int strata_rekey(strata_db *db);

/* ---- Column families (docs/API.md "Column families") ----------------------------------------
 * A column family is a separately configured keyspace of one DB: its own memtable, tables, levels,
 * compaction, comparator, merge operator, compaction filter and compression, sharing the DB's WAL
 * (so a batch spanning families is atomic across a crash), MANIFEST, caches and background threads.
 * Every DB has the family "default"; the functions without _cf act on it.
 *
 * Handles belong to the DB: they stay valid until strata_close (also after strata_cf_drop, when
 * every call through them but strata_cf_name fails with STRATA_E_INVALID).  Per-family options
 * are taken from a strata_options; its DB-wide fields (docs/API.md says which) are ignored there. */

/* Creates family name (1..255 bytes, not yet present) with opts (NULL: the DB's options) and
 * durably records it.  STRATA_E_EXISTS if it exists, STRATA_E_INVALID for a bad name. */
STRATA_EXPORT int strata_cf_create(strata_db *db, const char *name, const strata_options *opts,
                                   strata_cf **cf);
/* Drops a family (not "default": STRATA_E_INVALID).  Its data stays readable by iterators and
 * reads already running; its files are deleted once none uses them. */
STRATA_EXPORT int strata_cf_drop(strata_db *db, strata_cf *cf);
/* The open family called name, or NULL (none, or dropped). */
STRATA_EXPORT strata_cf *strata_cf_handle(strata_db *db, const char *name);
/* The "default" family of db. */
STRATA_EXPORT strata_cf *strata_cf_default(strata_db *db);
STRATA_EXPORT const char *strata_cf_name(const strata_cf *cf);
STRATA_EXPORT uint32_t strata_cf_id(const strata_cf *cf);
/* Names of the families of the DB at path (closed or open by another handle; reads its MANIFEST),
 * "default" first: *names is an array of *n strings, freed with strata_cf_list_free. */
STRATA_EXPORT int strata_cf_list(const strata_options *opts, const char *path, char ***names,
                                 size_t *n);
STRATA_EXPORT void strata_cf_list_free(char **names, size_t n);
/* Opens the DB and the n families names[] with cf_opts[i] (cf_opts or cf_opts[i] NULL: opts);
 * handles[i] receives each family's handle.  A named family that does not exist is created when
 * opts has create_if_missing, else STRATA_E_NOTFOUND.  Families not named open with opts.
 * strata_open opens every family with opts. */
STRATA_EXPORT int strata_open_cf(const strata_options *opts, const char *path, size_t n,
                                 const char *const *names, const strata_options *const *cf_opts,
                                 strata_cf **handles, strata_db **db);

STRATA_EXPORT int strata_put_cf(strata_db *db, const strata_write_options *wo, strata_cf *cf,
                                const void *key, size_t klen, const void *val, size_t vlen);
STRATA_EXPORT int strata_delete_cf(strata_db *db, const strata_write_options *wo, strata_cf *cf,
                                   const void *key, size_t klen);
STRATA_EXPORT int strata_single_delete_cf(strata_db *db, const strata_write_options *wo,
                                          strata_cf *cf, const void *key, size_t klen);
STRATA_EXPORT int strata_merge_cf(strata_db *db, const strata_write_options *wo, strata_cf *cf,
                                  const void *key, size_t klen, const void *operand, size_t olen);
STRATA_EXPORT int strata_put_ttl_cf(strata_db *db, const strata_write_options *wo, strata_cf *cf,
                                    const void *key, size_t klen, const void *val, size_t vlen,
                                    uint64_t ttl_seconds);
STRATA_EXPORT int strata_delete_range_cf(strata_db *db, const strata_write_options *wo,
                                         strata_cf *cf, const void *begin, size_t blen,
                                         const void *end, size_t elen);
STRATA_EXPORT int strata_delete_prefix_cf(strata_db *db, const strata_write_options *wo,
                                          strata_cf *cf, const void *prefix, size_t plen);
STRATA_EXPORT int strata_get_cf(strata_db *db, const strata_read_options *ro, strata_cf *cf,
                                const void *key, size_t klen, void **val, size_t *vlen);
STRATA_EXPORT int strata_get_pinned_cf(strata_db *db, const strata_read_options *ro,
                                       strata_cf *cf, const void *key, size_t klen,
                                       strata_pinned **pinned);
STRATA_EXPORT int strata_multi_get_cf(strata_db *db, const strata_read_options *ro,
                                      strata_cf *cf, size_t n, const void *const *keys,
                                      const size_t *klens, void **vals, size_t *vlens,
                                      int *statuses);
STRATA_EXPORT int strata_iter_create_cf(strata_db *db, const strata_read_options *ro,
                                        strata_cf *cf, strata_iter **it);
STRATA_EXPORT int strata_batch_put_cf(strata_batch *batch, strata_cf *cf, const void *key,
                                      size_t klen, const void *val, size_t vlen);
STRATA_EXPORT int strata_batch_delete_cf(strata_batch *batch, strata_cf *cf, const void *key,
                                         size_t klen);
STRATA_EXPORT int strata_batch_single_delete_cf(strata_batch *batch, strata_cf *cf,
                                                const void *key, size_t klen);
STRATA_EXPORT int strata_batch_merge_cf(strata_batch *batch, strata_cf *cf, const void *key,
                                        size_t klen, const void *operand, size_t olen);
STRATA_EXPORT int strata_batch_put_ttl_cf(strata_batch *batch, strata_cf *cf, const void *key,
                                          size_t klen, const void *val, size_t vlen,
                                          uint64_t ttl_seconds);
STRATA_EXPORT int strata_batch_delete_range_cf(strata_batch *batch, strata_cf *cf,
                                               const void *begin, size_t blen, const void *end,
                                               size_t elen);
STRATA_EXPORT int strata_flush_cf(strata_db *db, strata_cf *cf, int wait);
STRATA_EXPORT int strata_compact_range_cf(strata_db *db, strata_cf *cf, const void *begin,
                                          size_t blen, const void *end, size_t elen);
STRATA_EXPORT int strata_property_cf(strata_db *db, strata_cf *cf, const char *name,
                                     char **value);
STRATA_EXPORT int strata_property_int_cf(strata_db *db, strata_cf *cf, const char *name,
                                         uint64_t *value);
STRATA_EXPORT int strata_approximate_sizes_cf(strata_db *db, strata_cf *cf, int n,
                                              const char *const *start, const size_t *start_lens,
                                              const char *const *limit, const size_t *limit_lens,
                                              uint64_t *sizes);

/* ---- Transactions (docs/API.md "Transactions") ----------------------------------------------
 * Pessimistic transactions need a DB opened by strata_txn_db_open (which keeps a striped row-lock
 * table); optimistic ones work on any DB.  Both read their own writes, may span families, and
 * commit as one atomic WAL record (durable as any write with wo's sync).  Conflicts, lock
 * timeouts and deadlocks fail with STRATA_E_BUSY and a message saying which. */
STRATA_EXPORT strata_txn_db_options *strata_txn_db_options_create(void);
STRATA_EXPORT void strata_txn_db_options_destroy(strata_txn_db_options *o);
/* Default lock wait in ms for transactions that do not set theirs (1000; 0: fail at once). */
STRATA_EXPORT void strata_txn_db_options_set_lock_timeout(strata_txn_db_options *o, int64_t ms);
/* Lock-table stripes (16; 1..65536, larger values are capped). */
STRATA_EXPORT void strata_txn_db_options_set_num_stripes(strata_txn_db_options *o, size_t n);
STRATA_EXPORT strata_txn_options *strata_txn_options_create(void);
STRATA_EXPORT void strata_txn_options_destroy(strata_txn_options *o);
/* Take a snapshot at begin (as strata_txn_set_snapshot): snapshot isolation (1, the default);
 * 0: reads see the latest committed data and only locked or tracked keys are protected. */
STRATA_EXPORT void strata_txn_options_set_snapshot(strata_txn_options *o, int v);
/* Lock wait in ms (-1: the DB's default). */
STRATA_EXPORT void strata_txn_options_set_lock_timeout(strata_txn_options *o, int64_t ms);
/* Detect deadlocks while waiting for a lock (1). */
STRATA_EXPORT void strata_txn_options_set_deadlock_detect(strata_txn_options *o, int v);

/* As strata_open / strata_open_cf, with a row-lock table for pessimistic transactions (topts
 * NULL: defaults).  Close with strata_close. */
STRATA_EXPORT int strata_txn_db_open(const strata_options *opts, const strata_txn_db_options *topts,
                                     const char *path, strata_db **db);
STRATA_EXPORT int strata_txn_db_open_cf(const strata_options *opts,
                                        const strata_txn_db_options *topts, const char *path,
                                        size_t n, const char *const *names,
                                        const strata_options *const *cf_opts,
                                        strata_cf **handles, strata_db **db);
/* A pessimistic transaction (db from strata_txn_db_open), or NULL (strata_errmsg says why).
 * wo and txn_opts may be NULL (defaults). */
STRATA_EXPORT strata_txn *strata_txn_begin(strata_db *db, const strata_write_options *wo,
                                           const strata_txn_options *txn_opts);
/* An optimistic transaction on any DB, or NULL. */
STRATA_EXPORT strata_txn *strata_optimistic_txn_begin(strata_db *db,
                                                      const strata_write_options *wo,
                                                      const strata_txn_options *txn_opts);
/* Frees txn, rolling it back if neither committed nor rolled back. */
STRATA_EXPORT void strata_txn_destroy(strata_txn *txn);
STRATA_EXPORT int strata_txn_put(strata_txn *txn, const void *key, size_t klen, const void *val,
                                 size_t vlen);
STRATA_EXPORT int strata_txn_put_cf(strata_txn *txn, strata_cf *cf, const void *key,
                                    size_t klen, const void *val, size_t vlen);
STRATA_EXPORT int strata_txn_delete(strata_txn *txn, const void *key, size_t klen);
STRATA_EXPORT int strata_txn_delete_cf(strata_txn *txn, strata_cf *cf, const void *key,
                                       size_t klen);
STRATA_EXPORT int strata_txn_merge(strata_txn *txn, const void *key, size_t klen,
                                   const void *operand, size_t olen);
STRATA_EXPORT int strata_txn_merge_cf(strata_txn *txn, strata_cf *cf, const void *key,
                                      size_t klen, const void *operand, size_t olen);
/* Reads through the transaction's own writes, then the DB (at ro's snapshot, else the
 * transaction's snapshot if one is set, else the latest). */
STRATA_EXPORT int strata_txn_get(strata_txn *txn, const strata_read_options *ro, const void *key,
                                 size_t klen, void **val, size_t *vlen);
STRATA_EXPORT int strata_txn_get_cf(strata_txn *txn, const strata_read_options *ro,
                                    strata_cf *cf, const void *key, size_t klen, void **val,
                                    size_t *vlen);
/* strata_txn_get that also locks the key (pessimistic; exclusive or shared) or tracks it for
 * validation (optimistic).  With a snapshot set, a key written since it fails with BUSY. */
STRATA_EXPORT int strata_txn_get_for_update(strata_txn *txn, const strata_read_options *ro,
                                            const void *key, size_t klen, void **val,
                                            size_t *vlen, int exclusive);
STRATA_EXPORT int strata_txn_get_for_update_cf(strata_txn *txn, const strata_read_options *ro,
                                               strata_cf *cf, const void *key, size_t klen,
                                               void **val, size_t *vlen, int exclusive);
/* An iterator over the DB (ro as strata_iter_create) with the transaction's own writes merged
 * in; destroy it before the transaction. */
STRATA_EXPORT int strata_txn_iter_create(strata_txn *txn, const strata_read_options *ro,
                                         strata_iter **it);
STRATA_EXPORT int strata_txn_iter_create_cf(strata_txn *txn, const strata_read_options *ro,
                                            strata_cf *cf, strata_iter **it);
/* Snapshot isolation: later reads default to, and writes are validated against, this point. */
STRATA_EXPORT int strata_txn_set_snapshot(strata_txn *txn);
STRATA_EXPORT const strata_snapshot *strata_txn_get_snapshot(const strata_txn *txn);
STRATA_EXPORT int strata_txn_set_savepoint(strata_txn *txn);
/* Undoes the writes since the last savepoint (locks stay held); STRATA_E_NOTFOUND if none. */
STRATA_EXPORT int strata_txn_rollback_to_savepoint(strata_txn *txn);
STRATA_EXPORT int strata_txn_commit(strata_txn *txn);
STRATA_EXPORT int strata_txn_rollback(strata_txn *txn);
/* Operations buffered so far. */
STRATA_EXPORT uint32_t strata_txn_count(const strata_txn *txn);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_H */
