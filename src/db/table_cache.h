/* table_cache.h — open table readers keyed by file number, bounded by max_open_files (an LRU of
 * st_table objects in a private st_cache with charge 1 per table).  Thread-safe. */
#ifndef STRATA_DB_TABLE_CACHE_H
#define STRATA_DB_TABLE_CACHE_H

#include <stdint.h>

#include "env/env.h"
#include "table/table_reader.h"
#include "util/iter.h"
#include "util/pin.h"

typedef struct st_table_cache st_table_cache;

/* topts->fname is ignored (set per file); other fields are copied (pointers borrowed). */
int st_table_cache_create(st_env *env, const char *dbname, const st_table_read_options *topts,
                          int max_open_files, st_table_cache **out);
void st_table_cache_destroy(st_table_cache *tc);
/* Per-key protection bytes for the data blocks the tables put into the block cache
 * (st_table_set_protection).  REQUIRES: before the first table is opened. */
void st_table_cache_set_protection(st_table_cache *tc, int n);

/* st_table_get on file number (see table_reader.h). */
int st_table_cache_get(st_table_cache *tc, const st_read_flags *rf, uint64_t number,
                       uint64_t file_size, st_slice ikey,
                       int (*found)(void *ctx, st_slice key, st_slice value, st_pin *pin),
                       void *ctx);
/* Iterator over one table; it keeps the table open until destroyed.  Never NULL unless out of
 * memory; open errors are reported through st_iter_status of an empty iterator. */
st_iter *st_table_cache_iter(st_table_cache *tc, const st_read_flags *rf, uint64_t number,
                             uint64_t file_size);
/* Opens (or finds) the table and pins it; release with st_table_cache_release. */
int st_table_cache_find(st_table_cache *tc, uint64_t number, uint64_t file_size,
                        st_table **table, st_pin *pin);
/* Drops the cached reader of a deleted file. */
void st_table_cache_evict(st_table_cache *tc, uint64_t number);
/* Memory charged by open tables (index + filter). */
size_t st_table_cache_memory_usage(const st_table_cache *tc);

#endif
