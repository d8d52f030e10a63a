/* level_iter.h — a concatenating iterator over the tables of one sorted, non-overlapping level
 * (any level >= 1, or the inputs of a compaction from such a level).  Tables are opened lazily
 * through the table cache, one at a time: only the table under the cursor is held open. */
#ifndef STRATA_DB_LEVEL_ITER_H
#define STRATA_DB_LEVEL_ITER_H

#include "db/table_cache.h"
#include "db/version_edit.h"
#include "util/comparator.h"
#include "util/iter.h"

/* files[0..n) must be sorted by smallest key and non-overlapping (internal-key order); the array
 * and the file metadata are borrowed and must outlive the iterator (hold a reference to the
 * version or compaction that owns them).  tc and ucmp are borrowed; *rf is copied.  Returns NULL
 * only when out of memory.  An error opening or reading a table makes the iterator invalid with
 * that status (sticky until destroyed). */
st_iter *st_level_iter_create(st_table_cache *tc, const st_comparator *ucmp,
                              const st_read_flags *rf, st_file_meta *const *files, int n);

#endif
