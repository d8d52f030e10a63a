/* range_del.h — range tombstones: the fragmenter and the searchable fragment list.
 *
 * A range tombstone (start, end, seq) deletes every version with sequence < seq of every user key
 * in [start, end).  Tombstones may overlap arbitrarily; the fragmenter cuts them at every start
 * and end so the result is a sorted list of non-overlapping fragments [start_i, end_i), each with
 * the sequence numbers of every tombstone covering it, newest first.  A point query is then one
 * binary search over fragments and one over their seqs, whatever the number of keys deleted.
 *
 * Lists are immutable once built and reference-counted, so a memtable, a table reader and any
 * number of iterators can share one.  Where they live: memtables keep raw tombstones in their own
 * skip list and cache a fragmented list (mem/memtable.h); tables store a fragmented list in their
 * range-deletion block (docs/FORMAT.md "Range-deletion block"), loaded when the table opens. */
#ifndef STRATA_UTIL_RANGE_DEL_H
#define STRATA_UTIL_RANGE_DEL_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/comparator.h"
#include "util/slice.h"

typedef struct st_rdel_list st_rdel_list;

/* Accumulates raw tombstones (copies their bytes). */
typedef struct st_rdel_builder {
    st_buf bytes;  /* keys, back to back */
    st_buf items;  /* struct of offsets per tombstone */
    size_t n;
} st_rdel_builder;

void st_rdel_builder_init(st_rdel_builder *b);
void st_rdel_builder_free(st_rdel_builder *b);
/* Adds one tombstone; an empty range (start >= end) is kept but never covers anything.
 * 0 or NOMEM. */
int st_rdel_builder_add(st_rdel_builder *b, st_slice start, st_slice end, uint64_t seq);
/* Adds every (fragment, seq) of l. */
int st_rdel_builder_add_list(st_rdel_builder *b, const st_rdel_list *l);
/* Fragments what was added.  *out is NULL when nothing non-empty was added.  The builder is left
 * empty.  0 or NOMEM. */
int st_rdel_builder_finish(st_rdel_builder *b, const st_comparator *ucmp, st_rdel_list **out);

/* Reference counting (atomic; any thread).  unref(NULL) is a no-op. */
void st_rdel_list_ref(st_rdel_list *l);
void st_rdel_list_unref(st_rdel_list *l);

/* Number of fragments, and fragment i's bounds and seqs (newest first). */
size_t st_rdel_list_count(const st_rdel_list *l);
st_slice st_rdel_list_start(const st_rdel_list *l, size_t i);
st_slice st_rdel_list_end(const st_rdel_list *l, size_t i);
size_t st_rdel_list_nseqs(const st_rdel_list *l, size_t i);
const uint64_t *st_rdel_list_seqs(const st_rdel_list *l, size_t i);
/* Total (fragment, seq) pairs. */
size_t st_rdel_list_entries(const st_rdel_list *l);
/* Bytes held (for memory accounting). */
size_t st_rdel_list_memory(const st_rdel_list *l);

/* Index of the fragment holding key, or -1. */
long st_rdel_list_find(const st_rdel_list *l, st_slice key);
/* The newest tombstone seq <= read_seq covering key (0: none; tombstones never have seq 0).
 * With frag, also the index of the fragment (set whenever the result is non-zero). */
uint64_t st_rdel_list_covering(const st_rdel_list *l, st_slice key, uint64_t read_seq,
                               long *frag);
/* The oldest tombstone seq > seq covering key (0: none). */
uint64_t st_rdel_list_covering_above(const st_rdel_list *l, st_slice key, uint64_t seq);
/* The first fragment whose end is > key (count if none): where a forward walk from key meets
 * tombstones. */
size_t st_rdel_list_lower_bound(const st_rdel_list *l, st_slice key);

#endif
