/* write_batch.h — the batch encoding (docs/FORMAT.md "Write batch"), which is also the WAL record
 * payload: fixed64 starting sequence, fixed32 count, then per operation a type byte, the
 * length-prefixed key and (for puts) the length-prefixed value.  struct strata_batch is defined
 * here. */
#ifndef STRATA_DB_WRITE_BATCH_H
#define STRATA_DB_WRITE_BATCH_H

#include <stdint.h>

#include "mem/memtable.h"
#include "strata.h"
#include "util/buf.h"
#include "util/slice.h"

#define ST_BATCH_HEADER 12
#define ST_MAX_KEY_SIZE (64u << 20)
#define ST_MAX_VALUE_SIZE ((1u << 30) - 1)

struct strata_batch {
    st_buf rep; /* always at least ST_BATCH_HEADER bytes */
};

/* Initializes an empty batch in place (for batches embedded in other structs). */
int st_batch_init(strata_batch *b);
void st_batch_free(strata_batch *b);
uint64_t st_batch_seq(const strata_batch *b);
void st_batch_set_seq(strata_batch *b, uint64_t seq);
uint32_t st_batch_count(const strata_batch *b);
/* Appends src's operations to dst (dst keeps its sequence). */
int st_batch_append(strata_batch *dst, const strata_batch *src);
/* Replaces the contents with a WAL record after checking it is well-formed (header present, every
 * operation decodes, the count matches).  STRATA_E_CORRUPTION otherwise. */
int st_batch_set_contents(strata_batch *b, st_slice rep);
/* Calls fn for each operation (type is ST_TYPE_VALUE or ST_TYPE_DELETION); stops at the first
 * non-zero return.  STRATA_E_CORRUPTION if the encoding is malformed. */
int st_batch_for_each(const strata_batch *b, void *ctx,
                      int (*fn)(void *ctx, int type, st_slice key, st_slice value));
/* Inserts every operation into mem with consecutive sequence numbers from st_batch_seq(b). */
int st_batch_insert_into(const strata_batch *b, st_memtable *mem);

#endif
