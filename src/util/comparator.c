/* comparator.c — bytewise comparator, user comparator handles, key shortening. */
#include "util/comparator.h"

#include "util/alloc.h"

static const char *bytewise_name(void *state)
{
    (void)state;
    return "leveldb.BytewiseComparator"; /* the LevelDB name, so the shim interoperates */
}

static const st_comparator bytewise = {NULL, bytewise_name, NULL, NULL, 1};

const st_comparator *st_comparator_bytewise(void)
{
    return &bytewise;
}

STRATA_EXPORT const strata_comparator *strata_comparator_bytewise(void)
{
    return &bytewise;
}

STRATA_EXPORT strata_comparator *strata_comparator_create(
    void *state, void (*destructor)(void *state),
    int (*compare)(void *state, const char *a, size_t alen, const char *b, size_t blen),
    const char *(*name)(void *state))
{
    if (!compare || !name) {
        return NULL;
    }
    st_comparator *c = st_calloc(1, sizeof(*c));
    if (!c) {
        return NULL;
    }
    c->compare = compare;
    c->name = name;
    c->destructor = destructor;
    c->state = state;
    return c;
}

STRATA_EXPORT void strata_comparator_destroy(strata_comparator *cmp)
{
    if (!cmp || cmp->bytewise) {
        return;
    }
    if (cmp->destructor) {
        cmp->destructor(cmp->state);
    }
    st_free(cmp);
}

const char *st_comparator_name(const st_comparator *c)
{
    const char *n = c->name(c->state);
    return n ? n : "";
}

int st_ucmp_shorten(const st_comparator *c, st_buf *start, st_slice limit)
{
    if (!c->bytewise) {
        return 0;
    }
    size_t min = start->len < limit.size ? start->len : limit.size;
    size_t diff = 0;
    while (diff < min && start->data[diff] == limit.data[diff]) {
        diff++;
    }
    if (diff >= min) {
        return 0; /* one is a prefix of the other */
    }
    unsigned char byte = (unsigned char)start->data[diff];
    if (byte < 0xff && byte + 1 < (unsigned char)limit.data[diff]) {
        start->data[diff]++;
        start->len = diff + 1;
    }
    return 0;
}

int st_ucmp_successor(const st_comparator *c, st_buf *key)
{
    if (!c->bytewise) {
        return 0;
    }
    for (size_t i = 0; i < key->len; i++) {
        if ((unsigned char)key->data[i] != 0xff) {
            key->data[i]++;
            key->len = i + 1;
            return 0;
        }
    }
    return 0; /* all 0xff: leave as is */
}
