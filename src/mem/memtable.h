/* memtable.h — the in-memory write buffer: a skip list (mem/skiplist.h) of entries in an arena.
 * Entries are internal keys (util/ikey.h) with values.  One writer at a time (the group-commit
 * leader holds the write lock); any number of concurrent lock-free readers.  Reference-counted:
 * the DB, super-versions, iterators and pinned values each hold a reference.
 * Memory is never freed piecemeal; the whole arena goes when the last reference drops.
 *
 * Per-key protection (util/prot.h; off unless st_memtable_set_protection): each entry then also
 * stores the low N bytes of its checksum (with its sequence number), computed from the bytes as
 * copied into the arena, and every read checks them: a point lookup checks the entry it lands on,
 * an iterator each entry it is positioned on (seek, next, prev, ...; once per position, not per
 * key()/value() call).  A mismatch is STRATA_E_CORRUPTION naming the key, never wrong data. */
#ifndef STRATA_MEM_MEMTABLE_H
#define STRATA_MEM_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "util/comparator.h"
#include "util/iter.h"
#include "util/range_del.h"
#include "util/slice.h"

typedef struct st_memtable st_memtable;

/* ucmp is borrowed and must outlive the memtable.  Starts with one reference. */
int st_memtable_create(const st_comparator *ucmp, st_memtable **out);
/* As st_memtable_create, with arena blocks sized for a memtable that is switched out at
 * write_buffer_size bytes. */
int st_memtable_create_sized(const st_comparator *ucmp, size_t write_buffer_size,
                             st_memtable **out);
/* Turns on per-key protection with n (1, 2, 4 or 8) bytes per entry.  REQUIRES: m is empty and
 * not yet shared with other threads. */
void st_memtable_set_protection(st_memtable *m, int n);
void st_memtable_ref(st_memtable *m);
void st_memtable_unref(st_memtable *m);

/* Adds an entry.  REQUIRES: external serialization of writers; (user_key, seq) not present yet.
 * Returns 0 or STRATA_E_NOMEM (the memtable is unchanged). */
int st_memtable_add(st_memtable *m, uint64_t seq, int type, st_slice user_key, st_slice value);
/* As st_memtable_add, for an entry whose checksum pi (st_prot_kv: without the sequence) was taken
 * earlier: with protection on, the checksum recomputed from the arena copy (with seq) must match
 * pi with seq, else STRATA_E_CORRUPTION ("memtable insert", the key) and nothing is added.  With
 * protection off pi is ignored. */
int st_memtable_add_protected(st_memtable *m, uint64_t seq, int type, st_slice user_key,
                              st_slice value, uint64_t pi);

/* Looks up the newest entry for user_key with sequence <= seq.  Returns 1 and sets *type (value,
 * deletion, ...) and *value when an entry exists, 0 when the memtable holds no version of the key,
 * STRATA_E_CORRUPTION when protection is on and the entry the lookup lands on fails its check.
 * *value borrows arena memory: valid while the caller holds a reference to m. */
int st_memtable_get(st_memtable *m, st_slice user_key, uint64_t seq, int *type, st_slice *value);

/* Calls fn(ctx, type, seq, value) for the entries of user_key with sequence <= seq, newest first,
 * while fn returns 1 (0 stops, a negative value stops and is returned).  Returns 1 when fn was
 * called, 0 when the memtable holds no version of the key, or an error (protection mismatch:
 * CORRUPTION).  value borrows arena memory, valid while the caller holds a reference to m. */
int st_memtable_get_each(st_memtable *m, st_slice user_key, uint64_t seq,
                         int (*fn)(void *ctx, int type, uint64_t seq, st_slice value), void *ctx);

/* Range tombstones (added as ST_TYPE_RANGE_DEL entries: key start, value end) live apart from the
 * point entries: neither st_memtable_get nor the iterator sees them.  This returns them
 * fragmented in up to two lists (out[0..*n), new references; *n = 0 when there are none): the
 * lists are built on first use after a change and cached, the older tombstones in one that is
 * rebuilt only every few hundred additions, the newer in a small one.  0, NOMEM or CORRUPTION
 * (protection mismatch). */
#define ST_MEMTABLE_RDEL_LISTS 2
/* All of them in one new list (NULL: none), built afresh: for flushes and offline tools. */
int st_memtable_range_dels_all(st_memtable *m, st_rdel_list **out);
int st_memtable_range_dels(st_memtable *m, st_rdel_list **out, int *n);
uint64_t st_memtable_num_range_dels(const st_memtable *m);
/* Largest sequence number added (0 if empty). */
uint64_t st_memtable_last_seq(const st_memtable *m);

/* Iterator over internal keys (holds a reference to m until destroyed).  NULL when out of memory. */
st_iter *st_memtable_iter(st_memtable *m);

/* Bytes of memory in use (arena plus skip-list nodes); safe from any thread. */
size_t st_memtable_memory_usage(const st_memtable *m);
uint64_t st_memtable_num_entries(const st_memtable *m);
uint64_t st_memtable_num_deletes(const st_memtable *m);
/* Smallest sequence number added (UINT64_MAX if empty). */
uint64_t st_memtable_first_seq(const st_memtable *m);

/* Test hook (fault injection, never used by the engine): the value bytes of the newest entry of
 * user_key, writable in place.  Returns 1 and sets *value and *vlen, or 0 when the key is
 * absent. */
int st_memtable_test_find_value(st_memtable *m, st_slice user_key, char **value, size_t *vlen);

#endif
