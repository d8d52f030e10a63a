/* cache.h — sharded LRU cache charged by bytes, with reference-counted handles.  struct
 * strata_cache (public handle) is this cache.  A handle returned by insert or lookup pins its
 * entry: the entry is not freed (and its charge stays counted as pinned) until every handle is
 * released, even if erased or evicted meanwhile.  Thread-safe: one mutex per shard.
 *
 * The cache itself is reference-counted so several DBs can share it (st_cache_ref/unref). */
#ifndef STRATA_UTIL_CACHE_H
#define STRATA_UTIL_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "strata.h"
#include "util/slice.h"

typedef struct strata_cache st_cache;
typedef struct st_cache_handle st_cache_handle;

/* shard_bits < 0 picks a default from the capacity (up to 64 shards, each >= 512 KiB).
 * NULL when out of memory.  Starts with one reference. */
st_cache *st_cache_create(size_t capacity, int shard_bits);
void st_cache_ref(st_cache *c);
void st_cache_unref(st_cache *c);

/* Inserts key -> value with charge bytes, replacing an existing entry (which is freed once
 * unpinned), and returns a pinning handle.  deleter(key, value) runs when the entry is finally
 * freed.  Returns NULL only when out of memory; then the deleter is NOT called and the caller
 * still owns value.  With capacity 0 the entry is freed as soon as the handle is released. */
st_cache_handle *st_cache_insert(st_cache *c, st_slice key, void *value, size_t charge,
                                 void (*deleter)(st_slice key, void *value));
/* A pinning handle, or NULL if absent. */
st_cache_handle *st_cache_lookup(st_cache *c, st_slice key);
void st_cache_release(st_cache *c, st_cache_handle *h);
void *st_cache_value(const st_cache_handle *h);
/* Removes key if present (pinned entries are freed when released). */
void st_cache_erase(st_cache *c, st_slice key);
/* A new id, unique within this cache, for building per-file key prefixes. */
uint64_t st_cache_new_id(st_cache *c);
size_t st_cache_usage(const st_cache *c);
size_t st_cache_pinned_usage(const st_cache *c);
size_t st_cache_capacity(const st_cache *c);
void st_cache_set_capacity(st_cache *c, size_t capacity);
/* Drops every unpinned entry. */
void st_cache_prune(st_cache *c);

#endif
