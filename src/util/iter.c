/* iter.c — cleanup lists and the empty iterator. */
#include "util/iter.h"

#include "strata.h"
#include "util/alloc.h"

int st_iter_add_cleanup(st_iter *it, void (*fn)(void *a, void *b), void *a, void *b)
{
    struct st_iter_cleanup *c = st_malloc(sizeof(*c));
    if (!c) {
        return STRATA_E_NOMEM;
    }
    c->fn = fn;
    c->a = a;
    c->b = b;
    c->next = it->cleanups;
    it->cleanups = c;
    return 0;
}

void st_iter_destroy(st_iter *it)
{
    if (!it) {
        return;
    }
    struct st_iter_cleanup *c = it->cleanups;
    it->ops->destroy(it);
    while (c) {
        struct st_iter_cleanup *next = c->next;
        c->fn(c->a, c->b);
        st_free(c);
        c = next;
    }
}

typedef struct empty_iter {
    st_iter base;
    int status;
} empty_iter;

static int e_valid(const st_iter *it) { (void)it; return 0; }
static void e_noop(st_iter *it) { (void)it; }
static void e_seek(st_iter *it, st_slice t) { (void)it; (void)t; }
static st_slice e_empty(const st_iter *it) { (void)it; return st_slice_make("", 0); }
static int e_status(const st_iter *it) { return ((const empty_iter *)it)->status; }
static void e_destroy(st_iter *it) { st_free(it); }

static const struct st_iter_ops empty_ops = {e_valid, e_noop, e_noop, e_seek, e_noop,
                                             e_noop, e_empty, e_empty, e_status, e_destroy};

st_iter *st_iter_empty(int status)
{
    empty_iter *e = st_malloc(sizeof(*e));
    if (!e) {
        return NULL;
    }
    st_iter_init(&e->base, &empty_ops);
    e->status = status;
    return &e->base;
}
