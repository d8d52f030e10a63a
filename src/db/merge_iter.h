/* merge_iter.h — merges n sorted child iterators (internal keys) into one sorted stream, forward
 * and backward (a binary heap in each direction).  Equal keys from different children are all
 * yielded, ordered by child index (lower index first: pass newer sources first). */
#ifndef STRATA_DB_MERGE_ITER_H
#define STRATA_DB_MERGE_ITER_H

#include "util/comparator.h"
#include "util/iter.h"

/* Takes ownership of children (the array is copied; each child is destroyed with the merger, also
 * on failure).  NULL only when out of memory. */
st_iter *st_merge_iter_create(const st_comparator *ucmp, st_iter **children, int n);

/* Range-tombstone skipping (db_iter.c).  Every child i with max_seq[i] < seq — all of whose
 * entries a tombstone of seq hides where it covers them — that sits before target (forward) or at
 * or after it (backward) is moved to its first entry >= target, or its last entry < target.  The
 * caller knows the entries passed over are hidden.  Does nothing unless the merger already moves
 * in that direction.  it may be what st_merge_iter_create returned for a single child (the child
 * itself). */
void st_merge_iter_skip_forward(st_iter *it, const st_comparator *ucmp, st_slice target,
                                const uint64_t *max_seq, uint64_t seq);
void st_merge_iter_skip_backward(st_iter *it, const st_comparator *ucmp, st_slice target,
                                 const uint64_t *max_seq, uint64_t seq);

#endif
