/* model_ref.h — the reference model for whole-engine tests: an ordered map from byte-string keys
 * to byte-string values under the bytewise order (memcmp, shorter first), the order of
 * strata_comparator_bytewise().
 *
 * Invariants: entries are kept in a sorted array with unique keys; each entry is an immutable,
 * refcounted key/value record, so mr_clone() is a cheap shallow copy (one array copy plus one
 * refcount increment per entry) — which is how tests keep the state a snapshot should see.
 * Not thread-safe: one map (and its clones) per thread.  Allocation failure aborts the test
 * process (this is test code; the engine's own allocation paths are tested elsewhere). */
#ifndef STRATA_TESTS_MODEL_REF_H
#define STRATA_TESTS_MODEL_REF_H

#include <stddef.h>
#include <stdint.h>

typedef struct mr_map mr_map;

/* Owned: mr_destroy. */
mr_map *mr_create(void);
void mr_destroy(mr_map *m);
/* An independent copy that shares the immutable records.  Owned: mr_destroy. */
mr_map *mr_clone(const mr_map *m);
void mr_clear(mr_map *m);

/* Inserts or replaces key -> val. */
void mr_put(mr_map *m, const void *key, size_t klen, const void *val, size_t vlen);
/* Removes key (absent is fine). */
void mr_del(mr_map *m, const void *key, size_t klen);
/* 1 and the value (borrowed: valid until the entry is replaced or the map destroyed) if present,
 * else 0. */
int mr_get(const mr_map *m, const void *key, size_t klen, const char **val, size_t *vlen);

size_t mr_count(const mr_map *m);
/* Index of the first key >= key (mr_count when none). */
size_t mr_lower_bound(const mr_map *m, const void *key, size_t klen);
/* Index of the first key > key (mr_count when none). */
size_t mr_upper_bound(const mr_map *m, const void *key, size_t klen);
/* Entry i (i < mr_count).  Borrowed pointers, valid like mr_get's. */
void mr_entry(const mr_map *m, size_t i, const char **key, size_t *klen, const char **val,
              size_t *vlen);

/* Bytewise order: <0, 0, >0. */
int mr_compare(const void *a, size_t alen, const void *b, size_t blen);

/* The index range [*begin, *end) of keys inside [lower, upper) (NULL = unbounded). */
void mr_bounds(const mr_map *m, const void *lower, size_t llen, const void *upper, size_t ulen,
               size_t *begin, size_t *end);

#endif
