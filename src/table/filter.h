/* filter.h — filter policies (struct strata_filter_policy): the built-in cache-line-blocked
 * bloom filter and user-defined policies.  A table holds one filter over the user keys of all its
 * entries (a "full" filter); docs/FORMAT.md "Filter block" gives the bloom layout. */
#ifndef STRATA_TABLE_FILTER_H
#define STRATA_TABLE_FILTER_H

#include <stddef.h>

#include "strata.h"
#include "util/buf.h"
#include "util/slice.h"

struct strata_filter_policy {
    int bloom_bits; /* > 0: the built-in bloom filter; 0: user callbacks below */
    void *state;
    void (*destructor)(void *state);
    char *(*create_filter)(void *state, const char *const *keys, const size_t *key_lens, int n,
                           size_t *filter_len);
    int (*key_may_match)(void *state, const char *key, size_t klen, const char *filter,
                         size_t flen);
    const char *(*name)(void *state);
};

typedef struct strata_filter_policy st_filter_policy;

/* "strata.bloom2" for the built-in filter (bits per key are stored inside the filter). */
const char *st_filter_name(const st_filter_policy *p);

typedef struct st_filter_builder st_filter_builder;

/* NULL when out of memory. */
st_filter_builder *st_filter_builder_create(const st_filter_policy *p);
/* Adds a user key; consecutive duplicates are ignored. */
int st_filter_builder_add(st_filter_builder *b, st_slice user_key);
/* Appends the finished filter to out. */
int st_filter_builder_finish(st_filter_builder *b, st_buf *out);
void st_filter_builder_destroy(st_filter_builder *b);

/* 1 if user_key may be in the set the filter was built from, 0 if certainly not.  A malformed
 * filter answers 1 (reads fall back to the data) — filters are checksummed before use anyway. */
int st_filter_may_match(const st_filter_policy *p, st_slice filter, st_slice user_key);

#endif
