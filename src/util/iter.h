/* iter.h — the internal iterator interface: a vtable implemented by block, table, memtable,
 * two-level, merging and DB iterators.  Keys are internal keys unless a module says otherwise.
 *
 * Rules every implementation follows:
 *  - key()/value() are borrowed until the iterator moves or is destroyed; REQUIRES valid().
 *  - An error makes valid() false and status() return the code (message set where it was found).
 *  - seek(target) positions at the first entry >= target; prev()/next() REQUIRE valid().
 *  - st_iter_destroy runs the implementation's destroy, then the registered cleanups (used to
 *    release cache handles, table references, memtable references). */
#ifndef STRATA_UTIL_ITER_H
#define STRATA_UTIL_ITER_H

#include "util/slice.h"

typedef struct st_iter st_iter;

struct st_iter_ops {
    int (*valid)(const st_iter *it);
    void (*seek_to_first)(st_iter *it);
    void (*seek_to_last)(st_iter *it);
    void (*seek)(st_iter *it, st_slice target);
    void (*next)(st_iter *it);
    void (*prev)(st_iter *it);
    st_slice (*key)(const st_iter *it);
    st_slice (*value)(const st_iter *it);
    int (*status)(const st_iter *it);
    void (*destroy)(st_iter *it); /* frees the implementation's memory, including *it */
};

struct st_iter_cleanup {
    void (*fn)(void *a, void *b);
    void *a, *b;
    struct st_iter_cleanup *next;
};

/* Embed as the first member of every iterator implementation. */
struct st_iter {
    const struct st_iter_ops *ops;
    struct st_iter_cleanup *cleanups;
};

static inline void st_iter_init(st_iter *it, const struct st_iter_ops *ops)
{
    it->ops = ops;
    it->cleanups = 0;
}

static inline int st_iter_valid(const st_iter *it) { return it->ops->valid(it); }
static inline void st_iter_seek_to_first(st_iter *it) { it->ops->seek_to_first(it); }
static inline void st_iter_seek_to_last(st_iter *it) { it->ops->seek_to_last(it); }
static inline void st_iter_seek(st_iter *it, st_slice t) { it->ops->seek(it, t); }
static inline void st_iter_next(st_iter *it) { it->ops->next(it); }
static inline void st_iter_prev(st_iter *it) { it->ops->prev(it); }
static inline st_slice st_iter_key(const st_iter *it) { return it->ops->key(it); }
static inline st_slice st_iter_value(const st_iter *it) { return it->ops->value(it); }
static inline int st_iter_status(const st_iter *it) { return it->ops->status(it); }

/* Registers fn(a, b) to run when it is destroyed.  Returns 0 or STRATA_E_NOMEM (in which case fn
 * is NOT registered and the caller must undo its own resource). */
int st_iter_add_cleanup(st_iter *it, void (*fn)(void *a, void *b), void *a, void *b);
/* Destroys it (NULL allowed). */
void st_iter_destroy(st_iter *it);
/* An iterator with no entries whose status() is status (0 for a plain empty iterator).  Returns
 * NULL only when out of memory. */
st_iter *st_iter_empty(int status);

#endif
