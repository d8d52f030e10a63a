/* cache.c — sharded LRU cache charged by bytes, with reference-counted handles.
 *
 * The key's st_hash64 picks a shard (top bits) and a bucket inside the shard's chained hash table
 * (low bits).  Each shard has one mutex guarding its table, its LRU list and its counters.
 *
 * Entry states (all transitions under the shard mutex):
 *   in_cache && refs == 0  — in the table and on the LRU list (evictable), charge in usage;
 *   in_cache && refs > 0   — in the table, pinned by handles, charge in usage and pinned;
 *   !in_cache && refs > 0  — erased or replaced while pinned: only the handles keep it alive;
 *                            its charge stays in usage and pinned until the last release;
 *   !in_cache && refs == 0 — freed (the deleter runs outside the mutex).
 * Invariant: usage <= capacity, except that pinned entries are never evicted to get there.  With
 * capacity 0 nothing outlives its last handle.  Entries are unlinked under the mutex and
 * their deleters run after it is dropped, so a deleter may call back into the cache. */
#include "util/cache.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "util/alloc.h"
#include "util/compiler.h"
#include "util/hash.h"
#include "util/mutex.h"

#define MAX_SHARD_BITS 12             /* 4096 shards: far past any useful core count */
#define DEFAULT_MAX_SHARD_BITS 6      /* default: at most 64 shards ... */
#define MIN_SHARD_BYTES (512 * 1024)  /* ... of at least 512 KiB each */
#define INITIAL_BUCKETS 16

struct lru_link {
    struct lru_link *prev, *next;
};

struct st_cache_handle {
    struct lru_link lru; /* first member: a link on the LRU list is its entry */
    st_cache_handle *next_hash;
    void *value;
    void (*deleter)(st_slice key, void *value);
    size_t charge;
    uint64_t hash;
    uint32_t refs;   /* handles held by users */
    int in_cache;    /* reachable through the table */
    size_t key_len;
    char key[];
};

/* Every field after mu is guarded by mu.  (clang cannot name a sibling member in guarded_by in
 * C, so the functions touching them are annotated ST_REQUIRES(s->mu) instead.) */
typedef struct ST_ALIGNED_CACHELINE shard {
    st_mutex mu;
    st_cache_handle **buckets;
    size_t nbuckets; /* power of two */
    size_t count;    /* entries in the table */
    size_t capacity;
    size_t usage;    /* charge of every entry not yet freed (in the table or pinned) */
    size_t pinned;   /* charge of entries with at least one handle */
    struct lru_link lru; /* dummy head: next is the oldest unpinned entry */
} shard;

struct strata_cache {
    atomic_int refs;
    int shard_bits;
    atomic_size_t capacity;
    atomic_uint_fast64_t next_id;
    void *shards_raw; /* allocation behind shards (over-allocated for alignment) */
    shard *shards;
};

/* ---- Shard internals (REQUIRE the shard mutex) ------------------------------------------------- */

static int key_eq(const st_cache_handle *e, st_slice key, uint64_t hash)
{
    return e->hash == hash && e->key_len == key.size &&
           (key.size == 0 || memcmp(e->key, key.data, key.size) == 0);
}

/* Address of the chain pointer that points at key's entry, or at the chain's NULL end. */
static st_cache_handle **find_slot(shard *s, st_slice key, uint64_t hash) ST_REQUIRES(s->mu)
{
    st_cache_handle **p = &s->buckets[hash & (s->nbuckets - 1)];
    while (*p && !key_eq(*p, key, hash)) {
        p = &(*p)->next_hash;
    }
    return p;
}

/* Doubles the bucket array; on allocation failure keeps the old one (longer chains, still correct). */
static void grow_table(shard *s) ST_REQUIRES(s->mu)
{
    size_t n = s->nbuckets * 2;
    st_cache_handle **nb = st_calloc(n, sizeof(*nb));
    if (!nb) {
        return;
    }
    for (size_t i = 0; i < s->nbuckets; i++) {
        st_cache_handle *e = s->buckets[i];
        while (e) {
            st_cache_handle *next = e->next_hash;
            st_cache_handle **head = &nb[e->hash & (n - 1)];
            e->next_hash = *head;
            *head = e;
            e = next;
        }
    }
    st_free(s->buckets);
    s->buckets = nb;
    s->nbuckets = n;
}

static void lru_remove(st_cache_handle *e)
{
    e->lru.prev->next = e->lru.next;
    e->lru.next->prev = e->lru.prev;
    e->lru.prev = e->lru.next = NULL;
}

static void lru_append(shard *s, st_cache_handle *e) ST_REQUIRES(s->mu)
{
    e->lru.next = &s->lru;
    e->lru.prev = s->lru.prev;
    s->lru.prev->next = &e->lru;
    s->lru.prev = &e->lru;
}

/* Entries to free once the mutex is dropped, in the order they left the cache. */
typedef struct dead_list {
    st_cache_handle *head;
    st_cache_handle **tail;
} dead_list;

static void dead_init(dead_list *d)
{
    d->head = NULL;
    d->tail = &d->head;
}

static void dead_push(dead_list *d, st_cache_handle *e)
{
    e->next_hash = NULL;
    *d->tail = e;
    d->tail = &e->next_hash;
}

/* Takes e (already unlinked from the table) out of the cache; if unpinned, queues it on dead. */
static void detach(shard *s, st_cache_handle *e, dead_list *dead) ST_REQUIRES(s->mu)
{
    e->in_cache = 0;
    s->count--;
    if (e->refs == 0) {
        lru_remove(e);
        s->usage -= e->charge;
        dead_push(dead, e);
    }
}

/* Evicts unpinned entries, oldest first, until usage fits (with capacity 0: all of them). */
static void evict(shard *s, dead_list *dead) ST_REQUIRES(s->mu)
{
    while (s->lru.next != &s->lru && (s->usage > s->capacity || s->capacity == 0)) {
        st_cache_handle *e = (st_cache_handle *)s->lru.next;
        st_cache_handle **slot = find_slot(s, st_slice_make(e->key, e->key_len), e->hash);
        assert(*slot == e);
        *slot = e->next_hash;
        detach(s, e, dead);
    }
}

/* Runs deleters and frees a chain linked through next_hash.  Called without the mutex. */
static void free_chain(st_cache_handle *e)
{
    while (e) {
        st_cache_handle *next = e->next_hash;
        if (e->deleter) {
            e->deleter(st_slice_make(e->key, e->key_len), e->value);
        }
        st_free(e);
        e = next;
    }
}

static void pin(shard *s, st_cache_handle *e) ST_REQUIRES(s->mu)
{
    if (e->refs++ == 0) {
        assert(e->in_cache); /* an unpinned entry that left the table is already freed */
        lru_remove(e);
        s->pinned += e->charge;
    }
}

/* ---- Shard selection ----------------------------------------------------------------------------- */

static shard *shard_for(const st_cache *c, uint64_t hash)
{
    size_t i = c->shard_bits ? (size_t)(hash >> (64 - c->shard_bits)) : 0;
    return &c->shards[i];
}

static size_t shard_count(const st_cache *c)
{
    return (size_t)1 << c->shard_bits;
}

/* Per-shard capacity, rounded up so that only a total of 0 gives shards of 0. */
static size_t shard_capacity(const st_cache *c, size_t capacity)
{
    size_t n = shard_count(c);
    return capacity / n + (capacity % n != 0);
}

static int default_shard_bits(size_t capacity)
{
    int bits = 0;
    while (bits < DEFAULT_MAX_SHARD_BITS && (capacity >> (bits + 1)) >= MIN_SHARD_BYTES) {
        bits++;
    }
    return bits;
}

/* ---- Creation and destruction -------------------------------------------------------------------- */

static int shard_init(shard *s, size_t capacity) ST_NO_TSA
{
    s->buckets = st_calloc(INITIAL_BUCKETS, sizeof(*s->buckets));
    if (!s->buckets) {
        return STRATA_E_NOMEM;
    }
    st_mutex_init(&s->mu);
    s->nbuckets = INITIAL_BUCKETS;
    s->count = s->usage = s->pinned = 0;
    s->capacity = capacity;
    s->lru.next = s->lru.prev = &s->lru;
    return 0;
}

/* Frees every entry.  REQUIRES: no handle is outstanding (the cache's last reference is gone). */
static void shard_destroy(shard *s) ST_NO_TSA
{
    for (size_t i = 0; i < s->nbuckets; i++) {
        st_cache_handle *e = s->buckets[i];
        while (e) {
            st_cache_handle *next = e->next_hash;
            assert(e->refs == 0);
            e->next_hash = NULL;
            free_chain(e);
            e = next;
        }
    }
    st_free(s->buckets);
    st_mutex_destroy(&s->mu);
}

static void cache_free(st_cache *c, size_t initialized)
{
    for (size_t i = 0; i < initialized; i++) {
        shard_destroy(&c->shards[i]);
    }
    st_free(c->shards_raw);
    st_free(c);
}

st_cache *st_cache_create(size_t capacity, int shard_bits)
{
    st_cache *c = st_calloc(1, sizeof(*c));
    if (!c) {
        return NULL;
    }
    c->shard_bits = shard_bits < 0 ? default_shard_bits(capacity)
                                   : ST_MIN(shard_bits, MAX_SHARD_BITS);
    atomic_init(&c->refs, 1);
    atomic_init(&c->capacity, capacity);
    atomic_init(&c->next_id, 1);
    size_t n = shard_count(c);
    c->shards_raw = st_malloc(n * sizeof(shard) + ST_CACHELINE);
    if (!c->shards_raw) {
        st_free(c);
        return NULL;
    }
    uintptr_t p = ((uintptr_t)c->shards_raw + ST_CACHELINE - 1) & ~(uintptr_t)(ST_CACHELINE - 1);
    c->shards = (shard *)p;
    for (size_t i = 0; i < n; i++) {
        if (shard_init(&c->shards[i], shard_capacity(c, capacity))) {
            cache_free(c, i);
            return NULL;
        }
    }
    return c;
}

void st_cache_ref(st_cache *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void st_cache_unref(st_cache *c)
{
    if (!c) {
        return;
    }
    /* acq_rel: the last unref must see every other holder's writes before freeing. */
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) {
        cache_free(c, shard_count(c));
    }
}

/* ---- Operations ---------------------------------------------------------------------------------- */

static st_cache_handle *new_entry(st_slice key, uint64_t hash, void *value, size_t charge,
                                  void (*deleter)(st_slice key, void *value))
{
    if (key.size > SIZE_MAX - sizeof(st_cache_handle)) {
        return NULL;
    }
    st_cache_handle *e = st_malloc(sizeof(*e) + key.size);
    if (!e) {
        return NULL;
    }
    memset(e, 0, sizeof(*e));
    e->value = value;
    e->deleter = deleter;
    e->charge = charge;
    e->hash = hash;
    e->refs = 1; /* the returned handle */
    e->in_cache = 1;
    e->key_len = key.size;
    if (key.size) {
        memcpy(e->key, key.data, key.size);
    }
    return e;
}

st_cache_handle *st_cache_insert(st_cache *c, st_slice key, void *value, size_t charge,
                                 void (*deleter)(st_slice key, void *value))
{
    uint64_t hash = st_hash64(key.data, key.size);
    st_cache_handle *e = new_entry(key, hash, value, charge, deleter);
    if (!e) {
        return NULL;
    }
    dead_list dead;
    dead_init(&dead);
    shard *s = shard_for(c, hash);
    st_mutex_lock(&s->mu);
    st_cache_handle **slot = find_slot(s, key, hash);
    st_cache_handle *old = *slot;
    e->next_hash = old ? old->next_hash : NULL;
    *slot = e;
    s->count++;
    s->usage += charge;
    s->pinned += charge;
    if (old) {
        detach(s, old, &dead);
    } else if (s->count > s->nbuckets) {
        grow_table(s);
    }
    evict(s, &dead);
    st_mutex_unlock(&s->mu);
    free_chain(dead.head);
    return e;
}

st_cache_handle *st_cache_lookup(st_cache *c, st_slice key)
{
    uint64_t hash = st_hash64(key.data, key.size);
    shard *s = shard_for(c, hash);
    st_mutex_lock(&s->mu);
    st_cache_handle *e = *find_slot(s, key, hash);
    if (e) {
        pin(s, e);
    }
    st_mutex_unlock(&s->mu);
    return e;
}

void st_cache_release(st_cache *c, st_cache_handle *h)
{
    if (!h) {
        return;
    }
    dead_list dead;
    dead_init(&dead);
    shard *s = shard_for(c, h->hash);
    st_mutex_lock(&s->mu);
    assert(h->refs > 0);
    if (--h->refs == 0) {
        s->pinned -= h->charge;
        if (h->in_cache) {
            lru_append(s, h);
            evict(s, &dead);
        } else {
            s->usage -= h->charge;
            dead_push(&dead, h);
        }
    }
    st_mutex_unlock(&s->mu);
    free_chain(dead.head);
}

void *st_cache_value(const st_cache_handle *h)
{
    return h->value;
}

void st_cache_erase(st_cache *c, st_slice key)
{
    uint64_t hash = st_hash64(key.data, key.size);
    dead_list dead;
    dead_init(&dead);
    shard *s = shard_for(c, hash);
    st_mutex_lock(&s->mu);
    st_cache_handle **slot = find_slot(s, key, hash);
    st_cache_handle *e = *slot;
    if (e) {
        *slot = e->next_hash;
        detach(s, e, &dead);
    }
    st_mutex_unlock(&s->mu);
    free_chain(dead.head);
}

uint64_t st_cache_new_id(st_cache *c)
{
    return atomic_fetch_add_explicit(&c->next_id, 1, memory_order_relaxed);
}

/* Sums a shard counter under each shard's mutex. */
static size_t sum_shards(const st_cache *c, int pinned_only)
{
    size_t total = 0;
    for (size_t i = 0; i < shard_count(c); i++) {
        shard *s = &c->shards[i];
        st_mutex_lock(&s->mu);
        total += pinned_only ? s->pinned : s->usage;
        st_mutex_unlock(&s->mu);
    }
    return total;
}

size_t st_cache_usage(const st_cache *c)
{
    return sum_shards(c, 0);
}

size_t st_cache_pinned_usage(const st_cache *c)
{
    return sum_shards(c, 1);
}

size_t st_cache_capacity(const st_cache *c)
{
    return atomic_load_explicit(&c->capacity, memory_order_relaxed);
}

/* Applies a per-shard capacity (or, with prune, drops all unpinned entries) to every shard. */
static void shrink_shards(st_cache *c, size_t per_shard, int prune)
{
    for (size_t i = 0; i < shard_count(c); i++) {
        shard *s = &c->shards[i];
        dead_list dead;
        dead_init(&dead);
        st_mutex_lock(&s->mu);
        size_t saved = s->capacity;
        s->capacity = prune ? 0 : per_shard;
        evict(s, &dead);
        s->capacity = prune ? saved : per_shard;
        st_mutex_unlock(&s->mu);
        free_chain(dead.head);
    }
}

void st_cache_set_capacity(st_cache *c, size_t capacity)
{
    atomic_store_explicit(&c->capacity, capacity, memory_order_relaxed);
    shrink_shards(c, shard_capacity(c, capacity), 0);
}

void st_cache_prune(st_cache *c)
{
    shrink_shards(c, 0, 1);
}

/* ---- Public API ---------------------------------------------------------------------------------- */

STRATA_EXPORT strata_cache *strata_cache_create_lru(size_t capacity_bytes)
{
    return st_cache_create(capacity_bytes, -1);
}

STRATA_EXPORT void strata_cache_destroy(strata_cache *cache)
{
    st_cache_unref(cache);
}

STRATA_EXPORT size_t strata_cache_usage(const strata_cache *cache)
{
    return cache ? st_cache_usage(cache) : 0;
}
