/* pin.h — a releasable reference to bytes that live elsewhere (a cached block, a memtable arena,
 * a block read for one call).  Zero-copy reads hand these out; release exactly once. */
#ifndef STRATA_UTIL_PIN_H
#define STRATA_UTIL_PIN_H

#include <stddef.h>

typedef struct st_pin {
    void (*release)(void *a, void *b); /* NULL: nothing to release */
    void *a, *b;
} st_pin;

static inline void st_pin_release(st_pin *p)
{
    if (p->release) {
        p->release(p->a, p->b);
        p->release = NULL;
    }
}

#endif
