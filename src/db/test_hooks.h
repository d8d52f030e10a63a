/* test_hooks.h — fault-injection hooks for tests (per-key protection tests in particular): find the
 * bytes of a stored value in memory so a test can flip a bit in them, and intercept the write path
 * at fixed points.  Never called by the engine; tests include this internal header.  Nothing here
 * takes references: the pointers returned stay valid only while the entry's memtable or cached
 * block lives (in practice: until the next flush, eviction or close). */
#ifndef STRATA_DB_TEST_HOOKS_H
#define STRATA_DB_TEST_HOOKS_H

#include <stddef.h>

#include "db/write_batch.h"
#include "strata.h"

/* The value bytes of the newest entry of key in the DB's active memtable, writable in place.
 * 0, or STRATA_E_NOTFOUND when the active memtable holds no entry of key. */
int st_db_test_mem_value(strata_db *db, const void *key, size_t klen, char **value, size_t *vlen);

/* Reads key from the tables (filling the block cache) and returns its value bytes inside the
 * cached data block, writable in place.  0, STRATA_E_NOTFOUND (absent from the tables, or a
 * deletion), STRATA_E_INVALID (the value did not come from a block in the block cache, e.g. with
 * block_cache_size=0), or a read error. */
int st_db_test_cached_value(strata_db *db, const void *key, size_t klen, char **value,
                            size_t *vlen);

/* Installs hook (NULL removes it): the group-commit leader calls hook(arg, point, group) at each
 * enum st_db_write_point (db_impl.h) with the batch it is about to write.  REQUIRES: no write in
 * progress. */
void st_db_test_set_write_hook(strata_db *db,
                               void (*hook)(void *arg, int point, strata_batch *group), void *arg);

#endif
