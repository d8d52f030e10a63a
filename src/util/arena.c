/* arena.c — bump allocator for memtable entries.
 *
 * Memory comes in blocks of block_size bytes taken from st_malloc; each block starts with a
 * header linking it into a list that st_arena_destroy walks.  A request larger than a quarter of
 * the block size gets a block of its own, so big values do not waste the tail of the current
 * block.  Invariants: ptr/remaining describe the free tail of the newest regular block; usage
 * counts every byte obtained from the allocator (headers included) and only grows. */
#include "util/arena.h"

#include <stdalign.h>
#include <stdint.h>

#include "util/alloc.h"

#define ARENA_DEFAULT_BLOCK (64 * 1024)
#define ARENA_ALIGN (sizeof(void *) > 8 ? sizeof(void *) : 8)

struct st_arena_block {
    st_arena_block *next;
    alignas(max_align_t) char data[];
};

void st_arena_init(st_arena *a, size_t block_size)
{
    a->ptr = NULL;
    a->remaining = 0;
    a->block_size = block_size ? block_size : ARENA_DEFAULT_BLOCK;
    a->blocks = NULL;
    atomic_init(&a->usage, 0);
}

void st_arena_destroy(st_arena *a)
{
    st_arena_block *b = a->blocks;
    while (b) {
        st_arena_block *next = b->next;
        st_free(b);
        b = next;
    }
    a->blocks = NULL;
    a->ptr = NULL;
    a->remaining = 0;
}

/* A new block with n usable bytes, linked at the head of the list; NULL when out of memory. */
static char *new_block(st_arena *a, size_t n)
{
    if (n > SIZE_MAX - sizeof(st_arena_block)) {
        return NULL;
    }
    size_t total = sizeof(st_arena_block) + n;
    st_arena_block *b = st_malloc(total);
    if (!b) {
        return NULL;
    }
    b->next = a->blocks;
    a->blocks = b;
    atomic_fetch_add_explicit(&a->usage, total, memory_order_relaxed);
    return b->data;
}

/* Serves n bytes (plus pad for alignment) from a fresh block. */
static char *alloc_fallback(st_arena *a, size_t n)
{
    if (n > a->block_size / 4) {
        return new_block(a, n); /* its own block; keep the current tail for small requests */
    }
    char *p = new_block(a, a->block_size);
    if (!p) {
        return NULL;
    }
    a->ptr = p + n;
    a->remaining = a->block_size - n;
    return p;
}

char *st_arena_alloc(st_arena *a, size_t n)
{
    if (n <= a->remaining) {
        char *p = a->ptr;
        a->ptr += n;
        a->remaining -= n;
        return p;
    }
    return alloc_fallback(a, n);
}

char *st_arena_alloc_aligned(st_arena *a, size_t n)
{
    size_t mis = (uintptr_t)a->ptr & (ARENA_ALIGN - 1);
    size_t pad = mis ? ARENA_ALIGN - mis : 0;
    if (a->remaining >= pad && n <= a->remaining - pad) {
        char *p = a->ptr + pad;
        a->ptr += pad + n;
        a->remaining -= pad + n;
        return p;
    }
    /* Block data is aligned to max_align_t, which is at least ARENA_ALIGN. */
    return alloc_fallback(a, n);
}

size_t st_arena_memory_usage(const st_arena *a)
{
    return atomic_load_explicit(&a->usage, memory_order_relaxed);
}
