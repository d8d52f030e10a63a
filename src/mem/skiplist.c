/* skiplist.c — concurrent skip list: one serialized writer, lock-free readers (mem/skiplist.h).
 *
 * Node layout (one arena allocation, pointer-aligned):
 *
 *     [next[h-1]] ... [next[1]] [next[0]] [entry bytes ...]
 *                               ^ node address
 *
 * so next[i] lives i pointers below the node address and the entry starts one pointer above it.
 * The node is only ever accessed through these atomic slots and the entry bytes; there is no C
 * struct for it.  Invariants: at every level the nodes reachable from the head are in strictly
 * increasing order; a node is reachable at level i only if it is reachable at level i-1.
 * Readers never write; the writer publishes a node bottom-up, level 0 first, so a reader that
 * finds it at any level also finds it at level 0. */
#include "mem/skiplist.h"

#include <assert.h>
#include <string.h>

#include "strata.h"

typedef _Atomic(st_skiplist_node *) tower_slot;

_Static_assert(sizeof(tower_slot) == sizeof(void *), "atomic pointers must be pointer-sized");

static inline tower_slot *slot(const st_skiplist_node *n, int level)
{
    return (tower_slot *)n - level;
}

static inline const char *entry_of(const st_skiplist_node *n)
{
    return (const char *)n + sizeof(tower_slot);
}

static inline st_skiplist_node *node_of(const char *entry)
{
    return (st_skiplist_node *)(entry - sizeof(tower_slot));
}

/* Acquire: pairs with the release store in link_node, so the entry bytes and the node's own
 * lower next pointers written before publication are visible to us. */
static inline st_skiplist_node *next_acquire(const st_skiplist_node *n, int level)
{
    return atomic_load_explicit(slot(n, level), memory_order_acquire);
}

/* Relaxed: the height is only a search hint (see skiplist.h); it orders nothing. */
static inline int list_height(const st_skiplist *s)
{
    return atomic_load_explicit(&s->height, memory_order_relaxed);
}

static st_skiplist_node *alloc_node(st_arena *arena, int height, size_t size)
{
    size_t tower = (size_t)height * sizeof(tower_slot);
    if (size > SIZE_MAX - tower) {
        return NULL;
    }
    char *mem = st_arena_alloc_aligned(arena, tower + size);
    if (!mem) {
        return NULL;
    }
    return (st_skiplist_node *)(mem + tower - sizeof(tower_slot));
}

int st_skiplist_init(st_skiplist *s, st_arena *arena, const st_skiplist_cmp *cmp)
{
    s->cmp = *cmp;
    s->arena = arena;
    s->rnd = 0x9e3779b97f4a7c15ull; /* fixed: heights are reproducible run to run */
    s->pending = NULL;
    s->pending_height = 0;
    atomic_init(&s->height, 1);
    /* One spare byte so the sentinel's (empty) entry address stays inside the allocation. */
    s->head = alloc_node(arena, ST_SKIPLIST_MAX_HEIGHT, 1);
    if (!s->head) {
        return STRATA_E_NOMEM;
    }
    for (int i = 0; i < ST_SKIPLIST_MAX_HEIGHT; i++) {
        atomic_init(slot(s->head, i), NULL);
        s->splice[i] = s->head;
    }
    return 0;
}

/* xorshift64*: cheap, writer-only, quality is ample for choosing tower heights.  One 32-bit draw
 * holds 16 two-bit draws, more than MAX_HEIGHT - 1; each continues with probability 1/4. */
_Static_assert(ST_SKIPLIST_BRANCHING == 4 && ST_SKIPLIST_MAX_HEIGHT <= 17, "one draw suffices");

static int random_height(st_skiplist *s)
{
    s->rnd ^= s->rnd >> 12;
    s->rnd ^= s->rnd << 25;
    s->rnd ^= s->rnd >> 27;
    uint64_t r = (s->rnd * 0x2545f4914f6cdd1dull) >> 32;
    int h = 1;
    while (h < ST_SKIPLIST_MAX_HEIGHT && (r & (ST_SKIPLIST_BRANCHING - 1)) == 0) {
        h++;
        r >>= 2;
    }
    return h;
}

char *st_skiplist_alloc(st_skiplist *s, size_t size)
{
    int h = random_height(s);
    st_skiplist_node *n = alloc_node(s->arena, h, size);
    if (!n) {
        return NULL;
    }
    s->pending = n;
    s->pending_height = h;
    return (char *)entry_of(n);
}

/* The first node >= key, filling prev[level] with the last node < key at every level below the
 * current height when prev is non-NULL.  NULL when every entry is < key. */
static st_skiplist_node *find_ge(const st_skiplist *s, const void *key, st_skiplist_node **prev)
{
    st_skiplist_node *x = s->head;
    st_skiplist_node *known_ge = NULL; /* already compared >= key: skip comparing it again */
    int level = list_height(s) - 1;
    for (;;) {
        st_skiplist_node *next = next_acquire(x, level);
        if (next && next != known_ge && s->cmp.entry_key(s->cmp.ctx, entry_of(next), key) < 0) {
            x = next;
            continue;
        }
        if (prev) {
            prev[level] = x;
        }
        if (level == 0) {
            return next;
        }
        known_ge = next;
        level--;
    }
}

/* The last node < entry (by the entries order), or the head when there is none. */
static st_skiplist_node *find_lt(const st_skiplist *s, const char *entry)
{
    st_skiplist_node *x = s->head;
    int level = list_height(s) - 1;
    for (;;) {
        st_skiplist_node *next = next_acquire(x, level);
        if (next && s->cmp.entries(s->cmp.ctx, entry_of(next), entry) < 0) {
            x = next;
        } else if (level == 0) {
            return x;
        } else {
            level--;
        }
    }
}

static st_skiplist_node *find_last(const st_skiplist *s)
{
    st_skiplist_node *x = s->head;
    int level = list_height(s) - 1;
    for (;;) {
        st_skiplist_node *next = next_acquire(x, level);
        if (next) {
            x = next;
        } else if (level == 0) {
            return x;
        } else {
            level--;
        }
    }
}

/* Splices n after prev at one level.  The relaxed store into n is safe because n is not yet
 * reachable at this level; the release store publishes n (and everything written before it,
 * including the entry bytes and n's lower levels) to readers' acquire loads in next_acquire.
 * The relaxed load of prev's slot is fine because only this (serialized) writer stores to it. */
static void link_node(st_skiplist_node *prev, st_skiplist_node *n, int level)
{
    st_skiplist_node *succ = atomic_load_explicit(slot(prev, level), memory_order_relaxed);
    atomic_store_explicit(slot(n, level), succ, memory_order_relaxed);
    atomic_store_explicit(slot(prev, level), n, memory_order_release);
}

void st_skiplist_insert(st_skiplist *s, const char *entry, const void *key)
{
    st_skiplist_node *n = node_of(entry);
    st_skiplist_node *prev[ST_SKIPLIST_MAX_HEIGHT];
    assert(n == s->pending);
    int h = s->pending_height;
    s->pending = NULL;

    /* Append fast path: the last inserted node is the list's last and sorts before key, so the
     * cached splice is exactly what a search would find. */
    st_skiplist_node *tail = s->splice[0];
    if (atomic_load_explicit(slot(tail, 0), memory_order_relaxed) == NULL &&
        (tail == s->head || s->cmp.entry_key(s->cmp.ctx, entry_of(tail), key) < 0)) {
        memcpy(prev, s->splice, sizeof(prev));
    } else {
        st_skiplist_node *ge = find_ge(s, key, prev);
        assert(ge == NULL || s->cmp.entry_key(s->cmp.ctx, entry_of(ge), key) != 0);
        (void)ge;
    }
    int cur = list_height(s);
    if (h > cur) {
        for (int i = cur; i < h; i++) {
            prev[i] = s->head;
        }
        /* Relaxed (see list_height): publishing the height before the links is harmless. */
        atomic_store_explicit(&s->height, h, memory_order_relaxed);
    }
    for (int i = 0; i < h; i++) {
        link_node(prev[i], n, i);
        s->splice[i] = n;
    }
    for (int i = h; i < ST_SKIPLIST_MAX_HEIGHT; i++) {
        s->splice[i] = i < list_height(s) ? prev[i] : s->head;
    }
}

void st_skiplist_iter_init(st_skiplist_iter *it, const st_skiplist *s)
{
    it->list = s;
    it->node = NULL;
}

const char *st_skiplist_iter_entry(const st_skiplist_iter *it)
{
    assert(it->node);
    return entry_of(it->node);
}

void st_skiplist_iter_next(st_skiplist_iter *it)
{
    assert(it->node);
    it->node = next_acquire(it->node, 0);
}

void st_skiplist_iter_prev(st_skiplist_iter *it)
{
    assert(it->node);
    st_skiplist_node *p = find_lt(it->list, entry_of(it->node));
    it->node = p == it->list->head ? NULL : p;
}

void st_skiplist_iter_seek(st_skiplist_iter *it, const void *key)
{
    it->node = find_ge(it->list, key, NULL);
}

void st_skiplist_iter_seek_to_first(st_skiplist_iter *it)
{
    it->node = next_acquire(it->list->head, 0);
}

void st_skiplist_iter_seek_to_last(st_skiplist_iter *it)
{
    st_skiplist_node *p = find_last(it->list);
    it->node = p == it->list->head ? NULL : p;
}
