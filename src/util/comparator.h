/* comparator.h — user key order.  struct strata_comparator (public handle) is defined here.
 * Bytewise comparators take a memcmp fast path and allow key shortening in index blocks; user
 * comparators are called through their callbacks and never shortened. */
#ifndef STRATA_UTIL_COMPARATOR_H
#define STRATA_UTIL_COMPARATOR_H

#include "strata.h"
#include "util/buf.h"
#include "util/slice.h"

struct strata_comparator {
    int (*compare)(void *state, const char *a, size_t alen, const char *b, size_t blen);
    const char *(*name)(void *state);
    void (*destructor)(void *state);
    void *state;
    int bytewise; /* 1 for the built-in order */
};

typedef struct strata_comparator st_comparator;

const st_comparator *st_comparator_bytewise(void);

static inline int st_ucmp(const st_comparator *c, st_slice a, st_slice b)
{
    if (c->bytewise) {
        return st_slice_cmp(a, b);
    }
    return c->compare(c->state, a.data, a.size, b.data, b.size);
}

const char *st_comparator_name(const st_comparator *c);

/* Replace *start (a user key) by a short key k with start <= k < limit, when the order allows it.
 * Leaves *start unchanged otherwise.  Returns 0 or STRATA_E_NOMEM. */
int st_ucmp_shorten(const st_comparator *c, st_buf *start, st_slice limit);
/* Replace *key by a short key k >= key, when the order allows it. */
int st_ucmp_successor(const st_comparator *c, st_buf *key);

#endif
