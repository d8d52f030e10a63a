/* ldb_api.h — the LevelDB C API (leveldb/c.h) as a table of function pointers, so one adapter
 * (engine_leveldb.c) drives both real LevelDB, linked directly, and strata's LevelDB shim
 * (libstrata_leveldb), loaded at run time with dlopen (engine_strata_leveldb.c): the two export the
 * same leveldb_* symbols and cannot both be linked into strata-bench.
 *
 * LDB_API_FUNCS lists every function the adapter calls; each slot has the type of the declaration
 * in leveldb/c.h (strata's include/leveldb/c.h, which declares LevelDB 1.23's API), so a call
 * through the table is type-checked like a direct one.  Adding a call to the adapter means adding
 * its name here. */
#ifndef STRATA_BENCH_LDB_API_H
#define STRATA_BENCH_LDB_API_H

#include <leveldb/c.h>
#include <stddef.h>

#define LDB_API_FUNCS(X)                        \
    X(leveldb_open)                             \
    X(leveldb_close)                            \
    X(leveldb_put)                              \
    X(leveldb_delete)                           \
    X(leveldb_write)                            \
    X(leveldb_get)                              \
    X(leveldb_free)                             \
    X(leveldb_property_value)                   \
    X(leveldb_create_iterator)                  \
    X(leveldb_iter_destroy)                     \
    X(leveldb_iter_valid)                       \
    X(leveldb_iter_seek_to_first)               \
    X(leveldb_iter_seek_to_last)                \
    X(leveldb_iter_seek)                        \
    X(leveldb_iter_next)                        \
    X(leveldb_iter_prev)                        \
    X(leveldb_iter_key)                         \
    X(leveldb_iter_value)                       \
    X(leveldb_iter_get_error)                   \
    X(leveldb_writebatch_create)                \
    X(leveldb_writebatch_destroy)               \
    X(leveldb_writebatch_clear)                 \
    X(leveldb_writebatch_put)                   \
    X(leveldb_options_create)                   \
    X(leveldb_options_destroy)                  \
    X(leveldb_options_set_create_if_missing)    \
    X(leveldb_options_set_write_buffer_size)    \
    X(leveldb_options_set_block_size)           \
    X(leveldb_options_set_block_restart_interval) \
    X(leveldb_options_set_max_open_files)       \
    X(leveldb_options_set_max_file_size)        \
    X(leveldb_options_set_compression)          \
    X(leveldb_options_set_cache)                \
    X(leveldb_options_set_filter_policy)        \
    X(leveldb_cache_create_lru)                 \
    X(leveldb_cache_destroy)                    \
    X(leveldb_filterpolicy_create_bloom)        \
    X(leveldb_filterpolicy_destroy)             \
    X(leveldb_readoptions_create)               \
    X(leveldb_readoptions_destroy)              \
    X(leveldb_readoptions_set_verify_checksums) \
    X(leveldb_readoptions_set_fill_cache)       \
    X(leveldb_writeoptions_create)              \
    X(leveldb_writeoptions_destroy)             \
    X(leveldb_writeoptions_set_sync)

/* One slot per function, named after it: api->leveldb_put(...). */
#define LDB_API_SLOT(f) __typeof__(&f) f;
typedef struct bench_ldb_api {
    LDB_API_FUNCS(LDB_API_SLOT)
} bench_ldb_api;
#undef LDB_API_SLOT

/* The names of the slots with their offsets, in table order (for dlsym), NULL-terminated. */
typedef struct bench_ldb_api_sym {
    const char *name;
    size_t offset;
} bench_ldb_api_sym;
extern const bench_ldb_api_sym bench_ldb_api_syms[];

/* strata's shim loaded with dlopen: 0 and *out (valid until exit) when the library loads and has
 * every function, else STRATA_E_NOTSUP with the detail message saying why (the same answer on
 * every call).  Defined in engine_strata_leveldb.c. */
int bench_strata_leveldb_api(const bench_ldb_api **out);

#endif
