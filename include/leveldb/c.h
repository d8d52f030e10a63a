/*
 * leveldb/c.h — strata's drop-in implementation of LevelDB 1.23's C API.
 *
 * A program written against LevelDB's `leveldb/c.h` compiles against this header unchanged
 * (put `-I<strata>/include` ahead of the system include path) and links with
 * `-lstrata_leveldb` instead of `-lleveldb`.  Names, types, signatures and constants are those
 * of LevelDB 1.23; the implementation (src/api/leveldb_c.c) forwards to strata's native API
 * (strata.h).  docs/API.md, section "LevelDB compatibility", says what maps to what.
 *
 * The rules every function follows:
 *  - Handles are opaque pointers made by a *_create (or leveldb_open) and released by the
 *    matching *_destroy (or leveldb_close).
 *  - Keys and values are (pointer, length) pairs; there is no slice type.
 *  - A function that can fail takes `char **errptr` last.  On entry *errptr is NULL or holds a
 *    message this library returned earlier.  On success it is left untouched; on failure the old
 *    message is freed and *errptr receives a new malloc()ed, NUL-terminated message that starts
 *    with the LevelDB status class ("NotFound: ", "Corruption: ", "Not implemented: ",
 *    "Invalid argument: ", "IO error: ").  Free it with leveldb_free() or free().
 *  - Booleans are uint8_t: 0 is false, any other value is true.
 *  - Pointer arguments must not be NULL unless a function says otherwise.
 *  - Memory this API hands back (values, property strings, messages) comes from malloc().
 *
 * Not provided, as in LevelDB's own C API: option getters, comparators that shorten keys, and
 * custom env, cache, logger or iterator implementations.
 */
#ifndef STRATA_LEVELDB_C_H
#define STRATA_LEVELDB_C_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the exported functions.  libstrata_leveldb is built with hidden default visibility and
 * defines STRATA_LEVELDB_BUILDING so that exactly these symbols are exported. */
#ifndef LEVELDB_EXPORT
#if defined(STRATA_LEVELDB_BUILDING)
#define LEVELDB_EXPORT __attribute__((visibility("default")))
#else
#define LEVELDB_EXPORT
#endif
#endif

/* ---- Opaque handle types ---------------------------------------------------------------------- */

typedef struct leveldb_t leveldb_t;
typedef struct leveldb_cache_t leveldb_cache_t;
typedef struct leveldb_comparator_t leveldb_comparator_t;
typedef struct leveldb_env_t leveldb_env_t;
typedef struct leveldb_filelock_t leveldb_filelock_t;
typedef struct leveldb_filterpolicy_t leveldb_filterpolicy_t;
typedef struct leveldb_iterator_t leveldb_iterator_t;
typedef struct leveldb_logger_t leveldb_logger_t;
typedef struct leveldb_options_t leveldb_options_t;
typedef struct leveldb_randomfile_t leveldb_randomfile_t;
typedef struct leveldb_readoptions_t leveldb_readoptions_t;
typedef struct leveldb_seqfile_t leveldb_seqfile_t;
typedef struct leveldb_snapshot_t leveldb_snapshot_t;
typedef struct leveldb_writablefile_t leveldb_writablefile_t;
typedef struct leveldb_writebatch_t leveldb_writebatch_t;
typedef struct leveldb_writeoptions_t leveldb_writeoptions_t;

/* ---- Opening, closing, reading and writing ---------------------------------------------------- */

/* Opens the DB in directory name.  Returns the handle, or NULL with *errptr set: a missing DB
 * without create_if_missing and an existing one with error_if_exists are "Invalid argument"; a
 * DB already open (in this or another process) is "IO error". */
LEVELDB_EXPORT leveldb_t *leveldb_open(const leveldb_options_t *options, const char *name,
                                       char **errptr);
/* Waits for background work and frees db.  Every iterator and snapshot must be released first. */
LEVELDB_EXPORT void leveldb_close(leveldb_t *db);

LEVELDB_EXPORT void leveldb_put(leveldb_t *db, const leveldb_writeoptions_t *options,
                                const char *key, size_t keylen, const char *val, size_t vallen,
                                char **errptr);
/* Deleting an absent key is not an error. */
LEVELDB_EXPORT void leveldb_delete(leveldb_t *db, const leveldb_writeoptions_t *options,
                                   const char *key, size_t keylen, char **errptr);
/* Applies every operation in batch atomically.  The batch is left as it was. */
LEVELDB_EXPORT void leveldb_write(leveldb_t *db, const leveldb_writeoptions_t *options,
                                  leveldb_writebatch_t *batch, char **errptr);

/* The value of key as a malloc()ed array of *vallen bytes (free with leveldb_free).  An absent key
 * returns NULL with *vallen = 0 and no error; a failed read returns NULL with *errptr set. */
LEVELDB_EXPORT char *leveldb_get(leveldb_t *db, const leveldb_readoptions_t *options,
                                 const char *key, size_t keylen, size_t *vallen, char **errptr);

/* An iterator over a consistent view: the snapshot in options, else the DB as it is now.  It
 * starts unpositioned.  Destroy it with leveldb_iter_destroy before closing db. */
LEVELDB_EXPORT leveldb_iterator_t *leveldb_create_iterator(leveldb_t *db,
                                                           const leveldb_readoptions_t *options);

/* A point-in-time view for leveldb_readoptions_set_snapshot.  Release it with
 * leveldb_release_snapshot (on the same db) before closing db. */
LEVELDB_EXPORT const leveldb_snapshot_t *leveldb_create_snapshot(leveldb_t *db);
LEVELDB_EXPORT void leveldb_release_snapshot(leveldb_t *db, const leveldb_snapshot_t *snapshot);

/* A malloc()ed, NUL-terminated property value, or NULL if propname is not one of
 * "leveldb.num-files-at-level<N>" (N < 7), "leveldb.stats", "leveldb.sstables" and
 * "leveldb.approximate-memory-usage". */
LEVELDB_EXPORT char *leveldb_property_value(leveldb_t *db, const char *propname);

/* Sets sizes[i] to the approximate number of bytes of file space used by the keys in
 * [range_start_key[i], range_limit_key[i]). */
LEVELDB_EXPORT void leveldb_approximate_sizes(leveldb_t *db, int num_ranges,
                                              const char *const *range_start_key,
                                              const size_t *range_start_key_len,
                                              const char *const *range_limit_key,
                                              const size_t *range_limit_key_len,
                                              uint64_t *sizes);

/* Compacts the key range [start_key, limit_key]; a NULL start_key (limit_key) means from the first
 * (to the last) key.  Returns when the compaction has finished. */
LEVELDB_EXPORT void leveldb_compact_range(leveldb_t *db, const char *start_key,
                                          size_t start_key_len, const char *limit_key,
                                          size_t limit_key_len);

/* ---- Management ------------------------------------------------------------------------------- */

/* Deletes the DB in directory name with all its files.  A missing DB is not an error; a DB that is
 * open is ("IO error"). */
LEVELDB_EXPORT void leveldb_destroy_db(const leveldb_options_t *options, const char *name,
                                       char **errptr);
/* Tries to make a damaged DB openable again.  docs/API.md says how far strata gets. */
LEVELDB_EXPORT void leveldb_repair_db(const leveldb_options_t *options, const char *name,
                                      char **errptr);

/* ---- Iterators ------------------------------------------------------------------------------- */

LEVELDB_EXPORT void leveldb_iter_destroy(leveldb_iterator_t *);
LEVELDB_EXPORT uint8_t leveldb_iter_valid(const leveldb_iterator_t *);
LEVELDB_EXPORT void leveldb_iter_seek_to_first(leveldb_iterator_t *);
LEVELDB_EXPORT void leveldb_iter_seek_to_last(leveldb_iterator_t *);
/* Positions at the first key at or after k. */
LEVELDB_EXPORT void leveldb_iter_seek(leveldb_iterator_t *, const char *k, size_t klen);
/* REQUIRES for next and prev: leveldb_iter_valid. */
LEVELDB_EXPORT void leveldb_iter_next(leveldb_iterator_t *);
LEVELDB_EXPORT void leveldb_iter_prev(leveldb_iterator_t *);
/* The current key / value.  Borrowed: valid until the iterator moves or is destroyed.
 * REQUIRES: leveldb_iter_valid. */
LEVELDB_EXPORT const char *leveldb_iter_key(const leveldb_iterator_t *, size_t *klen);
LEVELDB_EXPORT const char *leveldb_iter_value(const leveldb_iterator_t *, size_t *vlen);
/* Sets *errptr if the iterator stopped because of an error (then leveldb_iter_valid is 0). */
LEVELDB_EXPORT void leveldb_iter_get_error(const leveldb_iterator_t *, char **errptr);

/* ---- Write batches ---------------------------------------------------------------------------- */

LEVELDB_EXPORT leveldb_writebatch_t *leveldb_writebatch_create(void);
LEVELDB_EXPORT void leveldb_writebatch_destroy(leveldb_writebatch_t *);
LEVELDB_EXPORT void leveldb_writebatch_clear(leveldb_writebatch_t *);
/* The bytes are copied.  Should a put, delete or append fail (out of memory, key or value beyond
 * strata's limits), the batch remembers it and leveldb_write reports it without writing. */
LEVELDB_EXPORT void leveldb_writebatch_put(leveldb_writebatch_t *, const char *key, size_t klen,
                                           const char *val, size_t vlen);
LEVELDB_EXPORT void leveldb_writebatch_delete(leveldb_writebatch_t *, const char *key,
                                              size_t klen);
/* Calls put or deleted for each operation, in the order they were added.  The pointers passed to
 * the callbacks are valid for the duration of the call. */
LEVELDB_EXPORT void leveldb_writebatch_iterate(const leveldb_writebatch_t *, void *state,
                                               void (*put)(void *, const char *k, size_t klen,
                                                           const char *v, size_t vlen),
                                               void (*deleted)(void *, const char *k,
                                                               size_t klen));
/* Adds the operations of source after those of destination. */
LEVELDB_EXPORT void leveldb_writebatch_append(leveldb_writebatch_t *destination,
                                              const leveldb_writebatch_t *source);

/* ---- Options ---------------------------------------------------------------------------------- */

/* Defaults are LevelDB's: no comparator (bytewise order), no filter, create_if_missing,
 * error_if_exists and paranoid_checks off, write buffer 4 MiB, 1000 open files, an 8 MiB block
 * cache of the DB's own, 4 KiB blocks, restart interval 16, 2 MiB files, snappy compression.
 * The comparator, filter policy, env and cache are borrowed: they must outlive every DB opened
 * with these options.  Sizes out of LevelDB's accepted ranges are clamped at open. */
LEVELDB_EXPORT leveldb_options_t *leveldb_options_create(void);
LEVELDB_EXPORT void leveldb_options_destroy(leveldb_options_t *);
LEVELDB_EXPORT void leveldb_options_set_comparator(leveldb_options_t *, leveldb_comparator_t *);
LEVELDB_EXPORT void leveldb_options_set_filter_policy(leveldb_options_t *,
                                                      leveldb_filterpolicy_t *);
LEVELDB_EXPORT void leveldb_options_set_create_if_missing(leveldb_options_t *, uint8_t);
LEVELDB_EXPORT void leveldb_options_set_error_if_exists(leveldb_options_t *, uint8_t);
LEVELDB_EXPORT void leveldb_options_set_paranoid_checks(leveldb_options_t *, uint8_t);
LEVELDB_EXPORT void leveldb_options_set_env(leveldb_options_t *, leveldb_env_t *);
/* Accepted for compatibility; strata always writes its info log to <db>/LOG. */
LEVELDB_EXPORT void leveldb_options_set_info_log(leveldb_options_t *, leveldb_logger_t *);
LEVELDB_EXPORT void leveldb_options_set_write_buffer_size(leveldb_options_t *, size_t);
LEVELDB_EXPORT void leveldb_options_set_max_open_files(leveldb_options_t *, int);
LEVELDB_EXPORT void leveldb_options_set_cache(leveldb_options_t *, leveldb_cache_t *);
LEVELDB_EXPORT void leveldb_options_set_block_size(leveldb_options_t *, size_t);
LEVELDB_EXPORT void leveldb_options_set_block_restart_interval(leveldb_options_t *, int);
LEVELDB_EXPORT void leveldb_options_set_max_file_size(leveldb_options_t *, size_t);

/* Values for leveldb_options_set_compression. */
enum { leveldb_no_compression = 0, leveldb_snappy_compression = 1 };
LEVELDB_EXPORT void leveldb_options_set_compression(leveldb_options_t *, int);

/* ---- Comparators ------------------------------------------------------------------------------ */

/* A user-defined key order.  compare returns <0, 0 or >0; name identifies the order and is stored
 * in the DB, which then refuses to open with a comparator of another name.  The callbacks may be
 * called from several threads at once.  destructor(state) runs in leveldb_comparator_destroy. */
LEVELDB_EXPORT leveldb_comparator_t *leveldb_comparator_create(
    void *state, void (*destructor)(void *),
    int (*compare)(void *, const char *a, size_t alen, const char *b, size_t blen),
    const char *(*name)(void *));
LEVELDB_EXPORT void leveldb_comparator_destroy(leveldb_comparator_t *);

/* ---- Filter policies -------------------------------------------------------------------------- */

/* A user-defined filter.  create_filter summarizes num_keys keys into a malloc()ed filter and sets
 * *filter_length; key_may_match must return true for every key the filter was built from.
 * destructor(state) runs in leveldb_filterpolicy_destroy. */
LEVELDB_EXPORT leveldb_filterpolicy_t *leveldb_filterpolicy_create(
    void *state, void (*destructor)(void *),
    char *(*create_filter)(void *, const char *const *key_array, const size_t *key_length_array,
                           int num_keys, size_t *filter_length),
    uint8_t (*key_may_match)(void *, const char *key, size_t length, const char *filter,
                             size_t filter_length),
    const char *(*name)(void *));
LEVELDB_EXPORT void leveldb_filterpolicy_destroy(leveldb_filterpolicy_t *);
/* strata's bloom filter with bits_per_key bits per key (10 is a good choice). */
LEVELDB_EXPORT leveldb_filterpolicy_t *leveldb_filterpolicy_create_bloom(int bits_per_key);

/* ---- Read and write options ------------------------------------------------------------------- */

LEVELDB_EXPORT leveldb_readoptions_t *leveldb_readoptions_create(void);
LEVELDB_EXPORT void leveldb_readoptions_destroy(leveldb_readoptions_t *);
/* strata verifies block checksums unless this is explicitly set to false. */
LEVELDB_EXPORT void leveldb_readoptions_set_verify_checksums(leveldb_readoptions_t *, uint8_t);
/* Default true: blocks read are kept in the block cache. */
LEVELDB_EXPORT void leveldb_readoptions_set_fill_cache(leveldb_readoptions_t *, uint8_t);
/* Borrowed: the snapshot must stay alive while the options are used.  NULL reads the latest
 * state. */
LEVELDB_EXPORT void leveldb_readoptions_set_snapshot(leveldb_readoptions_t *,
                                                     const leveldb_snapshot_t *);

LEVELDB_EXPORT leveldb_writeoptions_t *leveldb_writeoptions_create(void);
LEVELDB_EXPORT void leveldb_writeoptions_destroy(leveldb_writeoptions_t *);
/* Default false.  When true a write is flushed to stable storage before it returns. */
LEVELDB_EXPORT void leveldb_writeoptions_set_sync(leveldb_writeoptions_t *, uint8_t);

/* ---- Caches ----------------------------------------------------------------------------------- */

/* An LRU block cache of capacity bytes that several DBs may share. */
LEVELDB_EXPORT leveldb_cache_t *leveldb_cache_create_lru(size_t capacity);
LEVELDB_EXPORT void leveldb_cache_destroy(leveldb_cache_t *cache);

/* ---- Environments ----------------------------------------------------------------------------- */

/* The POSIX file system.  Destroying it releases only the handle. */
LEVELDB_EXPORT leveldb_env_t *leveldb_create_default_env(void);
LEVELDB_EXPORT void leveldb_env_destroy(leveldb_env_t *);
/* A directory for tests: $TEST_TMPDIR if set, else /tmp/leveldbtest-<euid>; created if missing.
 * Returns a malloc()ed path (free with leveldb_free), or NULL. */
LEVELDB_EXPORT char *leveldb_env_get_test_directory(leveldb_env_t *);

/* ---- Utilities -------------------------------------------------------------------------------- */

/* free(ptr), for memory returned by this API (values, property strings, error messages). */
LEVELDB_EXPORT void leveldb_free(void *ptr);

/* The LevelDB release whose API this library provides: 1.23. */
LEVELDB_EXPORT int leveldb_major_version(void);
LEVELDB_EXPORT int leveldb_minor_version(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* STRATA_LEVELDB_C_H */
