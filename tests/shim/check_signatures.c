/*
 * check_signatures.c — compile-time proof that strata's include/leveldb/c.h declares LevelDB 1.23's
 * C API exactly: same functions with the same types, same type names, same constants.
 *
 * Built only where LevelDB's own header is installed (LEVELDB_SYSTEM_C_H names it).  Both headers
 * go into this one translation unit: strata's first, each function's type captured with
 * __typeof__, then LevelDB's, whose declarations must be compatible redeclarations (a mismatch is
 * a "conflicting types" error) and whose typedefs must name the same struct types.  The only
 * clash C forbids, the compression enumerators, is renamed while LevelDB's header is read and
 * compared by value.  At run time main() takes every function's address, so the link also proves
 * that libstrata_leveldb defines each of them.  The list below is checked for completeness against
 * LevelDB's header by check_exports.sh.
 */
#include <leveldb/c.h>

#ifndef STRATA_LEVELDB_C_H
#error "strata's leveldb/c.h must come first on the include path"
#endif

#define LEVELDB_FUNCTIONS(X)                                                                   \
    X(leveldb_open) X(leveldb_close) X(leveldb_put) X(leveldb_delete) X(leveldb_write)         \
    X(leveldb_get) X(leveldb_create_iterator) X(leveldb_create_snapshot)                       \
    X(leveldb_release_snapshot) X(leveldb_property_value) X(leveldb_approximate_sizes)         \
    X(leveldb_compact_range) X(leveldb_destroy_db) X(leveldb_repair_db)                        \
    X(leveldb_iter_destroy) X(leveldb_iter_valid) X(leveldb_iter_seek_to_first)                \
    X(leveldb_iter_seek_to_last) X(leveldb_iter_seek) X(leveldb_iter_next)                     \
    X(leveldb_iter_prev) X(leveldb_iter_key) X(leveldb_iter_value) X(leveldb_iter_get_error)   \
    X(leveldb_writebatch_create) X(leveldb_writebatch_destroy) X(leveldb_writebatch_clear)     \
    X(leveldb_writebatch_put) X(leveldb_writebatch_delete) X(leveldb_writebatch_iterate)       \
    X(leveldb_writebatch_append) X(leveldb_options_create) X(leveldb_options_destroy)          \
    X(leveldb_options_set_comparator) X(leveldb_options_set_filter_policy)                     \
    X(leveldb_options_set_create_if_missing) X(leveldb_options_set_error_if_exists)            \
    X(leveldb_options_set_paranoid_checks) X(leveldb_options_set_env)                          \
    X(leveldb_options_set_info_log) X(leveldb_options_set_write_buffer_size)                   \
    X(leveldb_options_set_max_open_files) X(leveldb_options_set_cache)                         \
    X(leveldb_options_set_block_size) X(leveldb_options_set_block_restart_interval)            \
    X(leveldb_options_set_max_file_size) X(leveldb_options_set_compression)                    \
    X(leveldb_comparator_create) X(leveldb_comparator_destroy) X(leveldb_filterpolicy_create)  \
    X(leveldb_filterpolicy_destroy) X(leveldb_filterpolicy_create_bloom)                       \
    X(leveldb_readoptions_create) X(leveldb_readoptions_destroy)                               \
    X(leveldb_readoptions_set_verify_checksums) X(leveldb_readoptions_set_fill_cache)          \
    X(leveldb_readoptions_set_snapshot) X(leveldb_writeoptions_create)                         \
    X(leveldb_writeoptions_destroy) X(leveldb_writeoptions_set_sync)                           \
    X(leveldb_cache_create_lru) X(leveldb_cache_destroy) X(leveldb_create_default_env)         \
    X(leveldb_env_destroy) X(leveldb_env_get_test_directory) X(leveldb_free)                   \
    X(leveldb_major_version) X(leveldb_minor_version)

/* strata's type of every function, before LevelDB's header is seen. */
#define OURS(f) typedef __typeof__(f) ours_##f;
LEVELDB_FUNCTIONS(OURS)

enum { ours_no_compression = leveldb_no_compression,
       ours_snappy_compression = leveldb_snappy_compression };

#define leveldb_no_compression sys_leveldb_no_compression
#define leveldb_snappy_compression sys_leveldb_snappy_compression
#include LEVELDB_SYSTEM_C_H
#undef leveldb_no_compression
#undef leveldb_snappy_compression

#ifndef STORAGE_LEVELDB_INCLUDE_C_H_
#error "LEVELDB_SYSTEM_C_H is not LevelDB's c.h"
#endif

/* After LevelDB's redeclaration the type is the composite of both; it must equal strata's. */
#define SAME(f) \
    _Static_assert(__builtin_types_compatible_p(ours_##f, __typeof__(f)), #f " differs");
LEVELDB_FUNCTIONS(SAME)

_Static_assert((int)ours_no_compression == (int)sys_leveldb_no_compression, "no_compression");
_Static_assert((int)ours_snappy_compression == (int)sys_leveldb_snappy_compression, "snappy_compression");

/* The same count as the names in LevelDB's header (check_exports.sh compares the names). */
#define ONE(f) +1
_Static_assert(0 LEVELDB_FUNCTIONS(ONE) == 68, "LevelDB 1.23's C API has 68 functions");

#define ADDRESS(f) (void (*)(void))f,
static void (*const all_functions[])(void) = {LEVELDB_FUNCTIONS(ADDRESS)};

int main(void)
{
    for (unsigned i = 0; i < sizeof(all_functions) / sizeof(all_functions[0]); i++) {
        if (all_functions[i] == 0)
            return 1;
    }
    return 0;
}
