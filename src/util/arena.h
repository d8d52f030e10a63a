/* arena.h — bump allocator for memtable entries: many small allocations, freed all at once.
 * Blocks come from st_malloc.  Allocation is single-threaded (the memtable's one writer);
 * memory_usage may be read from any thread (relaxed atomic). */
#ifndef STRATA_UTIL_ARENA_H
#define STRATA_UTIL_ARENA_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct st_arena_block st_arena_block;

typedef struct st_arena {
    char *ptr;          /* next free byte in the current block */
    size_t remaining;   /* bytes left in the current block */
    size_t block_size;  /* default block size */
    st_arena_block *blocks;
    atomic_size_t usage; /* bytes obtained from the allocator, including headers */
} st_arena;

void st_arena_init(st_arena *a, size_t block_size); /* block_size 0 = 64 KiB */
void st_arena_destroy(st_arena *a);
/* NULL when out of memory.  n > 0. */
char *st_arena_alloc(st_arena *a, size_t n);
/* Aligned to max(sizeof(void*), 8). */
char *st_arena_alloc_aligned(st_arena *a, size_t n);
size_t st_arena_memory_usage(const st_arena *a);

#endif
