/* memtable.h — the in-memory write buffer: a skip list (mem/skiplist.h) of entries in an arena.
 * Entries are internal keys (util/ikey.h) with values.  One writer at a time (the group-commit
 * leader holds the write lock); any number of concurrent lock-free readers.  Reference-counted:
 * the DB, super-versions, iterators and pinned values each hold a reference.
 * Memory is never freed piecemeal; the whole arena goes when the last reference drops. */
#ifndef STRATA_MEM_MEMTABLE_H
#define STRATA_MEM_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "util/comparator.h"
#include "util/iter.h"
#include "util/slice.h"

typedef struct st_memtable st_memtable;

/* ucmp is borrowed and must outlive the memtable.  Starts with one reference. */
int st_memtable_create(const st_comparator *ucmp, st_memtable **out);
/* As st_memtable_create, with arena blocks sized for a memtable that is switched out at
 * write_buffer_size bytes. */
int st_memtable_create_sized(const st_comparator *ucmp, size_t write_buffer_size,
                             st_memtable **out);
void st_memtable_ref(st_memtable *m);
void st_memtable_unref(st_memtable *m);

/* Adds an entry.  REQUIRES: external serialization of writers; (user_key, seq) not present yet.
 * Returns 0 or STRATA_E_NOMEM (the memtable is unchanged). */
int st_memtable_add(st_memtable *m, uint64_t seq, int type, st_slice user_key, st_slice value);

/* Looks up the newest entry for user_key with sequence <= seq.  Returns 1 and sets *type (value,
 * deletion, ...) and *value when an entry exists, 0 when the memtable holds no version of the key.
 * *value borrows arena memory: valid while the caller holds a reference to m. */
int st_memtable_get(st_memtable *m, st_slice user_key, uint64_t seq, int *type, st_slice *value);

/* Iterator over internal keys (holds a reference to m until destroyed).  NULL when out of memory. */
st_iter *st_memtable_iter(st_memtable *m);

/* Bytes of memory in use (arena plus skip-list nodes); safe from any thread. */
size_t st_memtable_memory_usage(const st_memtable *m);
uint64_t st_memtable_num_entries(const st_memtable *m);
uint64_t st_memtable_num_deletes(const st_memtable *m);
/* Smallest sequence number added (UINT64_MAX if empty). */
uint64_t st_memtable_first_seq(const st_memtable *m);

#endif
