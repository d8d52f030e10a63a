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

#endif
