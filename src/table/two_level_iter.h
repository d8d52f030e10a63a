/* two_level_iter.h — iteration over a table: an index iterator whose values are block handles,
 * and a data block iterator over the block the index currently points at.  Data blocks come from
 * a loader callback together with a pin that keeps them alive (a cache handle, or the block's own
 * memory); the iterator holds at most one data block at a time and reuses its block iterator (and
 * key buffer) across blocks, so moving between blocks allocates nothing beyond what the loader
 * does.  Empty data blocks are skipped in both directions.  The first error (index, loader or
 * data block) makes the iterator invalid and is reported by st_iter_status. */
#ifndef STRATA_TABLE_TWO_LEVEL_ITER_H
#define STRATA_TABLE_TWO_LEVEL_ITER_H

#include "table/block.h"
#include "util/comparator.h"
#include "util/iter.h"
#include "util/pin.h"
#include "util/slice.h"

/* Loads the block named by an index value.  On success sets *block (valid while *pin is held)
 * and *pin; returns 0 or an error code (message set). */
typedef int (*st_block_loader)(void *arg, st_slice index_value, const st_block **block,
                               st_pin *pin);

/* Takes ownership of index (also when returning NULL: it is destroyed).  arg is borrowed; use
 * st_iter_add_cleanup on the result to free it with the iterator.  ucmp: data block keys are
 * internal keys under it.  NULL when out of memory. */
st_iter *st_two_level_iter_new(st_iter *index, const st_comparator *ucmp, st_block_loader load,
                               void *arg);

#endif
