/* model_ref.h — the reference model for whole-engine tests: an ordered map from byte-string keys
 * to byte-string values under the bytewise order (memcmp, shorter first), the order of
 * strata_comparator_bytewise().
 *
 * Invariants: entries are kept in a sorted array with unique keys; each entry is an immutable,
 * refcounted key/value record, so mr_clone() is a cheap shallow copy (one array copy plus one
 * refcount increment per entry) — which is how tests keep the state a snapshot should see.
 * Each entry also carries a small metadata record (mr_meta: an expiry time, a write count and
 * flags whose meaning the test defines), so tests of TTL, merges and single deletes can keep what
 * they need beside the value; mr_put stores it zeroed.
 * Not thread-safe: one map (and its clones) per thread.  Allocation failure aborts the test
 * process (this is test code; the engine's own allocation paths are tested elsewhere). */
#ifndef STRATA_TESTS_MODEL_REF_H
#define STRATA_TESTS_MODEL_REF_H

#include <stddef.h>
#include <stdint.h>

typedef struct mr_map mr_map;

/* Per-entry metadata; the map stores and returns it and never interprets it. */
typedef struct mr_meta {
    uint64_t expire; /* e.g. an expiry time in unix micros, 0 = never */
    uint32_t writes; /* e.g. writes since the key was last deleted */
    uint32_t flags;  /* defined by the test */
} mr_meta;

/* Owned: mr_destroy. */
mr_map *mr_create(void);
void mr_destroy(mr_map *m);
/* An independent copy that shares the immutable records.  Owned: mr_destroy. */
mr_map *mr_clone(const mr_map *m);
void mr_clear(mr_map *m);

/* Inserts or replaces key -> val. */
void mr_put(mr_map *m, const void *key, size_t klen, const void *val, size_t vlen);
/* Inserts or replaces key -> val with metadata *meta (NULL: zeroed).  Replacing an existing key
 * keeps every entry's index. */
void mr_put_meta(mr_map *m, const void *key, size_t klen, const void *val, size_t vlen,
                 const mr_meta *meta);
/* Removes key (absent is fine). */
void mr_del(mr_map *m, const void *key, size_t klen);
/* Removes every key in [begin, end) (nothing if begin >= end); returns how many. */
size_t mr_del_range(mr_map *m, const void *begin, size_t blen, const void *end, size_t elen);
/* Removes every key that starts with prefix (plen 0: every key); returns how many. */
size_t mr_del_prefix(mr_map *m, const void *prefix, size_t plen);
/* 1 and the value (borrowed: valid until the entry is replaced or the map destroyed) if present,
 * else 0. */
int mr_get(const mr_map *m, const void *key, size_t klen, const char **val, size_t *vlen);

/* mr_get that also copies the entry's metadata into *meta (may be NULL). */
int mr_get_meta(const mr_map *m, const void *key, size_t klen, const char **val, size_t *vlen,
                mr_meta *meta);

size_t mr_count(const mr_map *m);
/* Index of the first key >= key (mr_count when none). */
size_t mr_lower_bound(const mr_map *m, const void *key, size_t klen);
/* Index of the first key > key (mr_count when none). */
size_t mr_upper_bound(const mr_map *m, const void *key, size_t klen);
/* Entry i (i < mr_count).  Borrowed pointers, valid like mr_get's. */
void mr_entry(const mr_map *m, size_t i, const char **key, size_t *klen, const char **val,
              size_t *vlen);

/* The metadata of entry i (i < mr_count). */
void mr_entry_meta(const mr_map *m, size_t i, mr_meta *meta);

/* Bytewise order: <0, 0, >0. */
int mr_compare(const void *a, size_t alen, const void *b, size_t blen);
/* 1 when a and b hold the same keys with the same values. */
int mr_equal(const mr_map *a, const mr_map *b);

/* The index range [*begin, *end) of keys inside [lower, upper) (NULL = unbounded). */
void mr_bounds(const mr_map *m, const void *lower, size_t llen, const void *upper, size_t ulen,
               size_t *begin, size_t *end);

#endif
