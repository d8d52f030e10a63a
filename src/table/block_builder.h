/* block_builder.h — builds the contents of a data, index, metaindex or properties block: entries
 * with their key prefix-compressed against the previous key, a full key at every restart point
 * (every restart_interval entries), then the restart offsets and their count.  Layout:
 * docs/FORMAT.md "Block contents".  Keys must be added in the block's order. */
#ifndef STRATA_TABLE_BLOCK_BUILDER_H
#define STRATA_TABLE_BLOCK_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/slice.h"

typedef struct st_block_builder {
    st_buf buf;          /* entries so far */
    st_buf restarts;     /* fixed32 restart offsets */
    st_buf last_key;
    int restart_interval;
    int counter;         /* entries since the last restart point */
    uint32_t num_entries;
    int finished;
} st_block_builder;

/* REQUIRES: restart_interval >= 1. */
void st_block_builder_init(st_block_builder *b, int restart_interval);
void st_block_builder_free(st_block_builder *b);
/* Empties b for the next block, keeping its memory. */
void st_block_builder_reset(st_block_builder *b);
/* REQUIRES: not finished; key after the previous key in the block's order.  0 or NOMEM (b is
 * then unchanged). */
int st_block_builder_add(st_block_builder *b, st_slice key, st_slice value);
/* Appends the restart array; the returned contents borrow b until reset. 0 or NOMEM. */
int st_block_builder_finish(st_block_builder *b, st_slice *contents);
/* Size the block would have if finished now. */
size_t st_block_builder_estimate(const st_block_builder *b);

static inline int st_block_builder_empty(const st_block_builder *b)
{
    return b->num_entries == 0;
}

#endif
