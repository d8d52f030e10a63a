/* two_level_iter.c — index iterator → data block iterator (two_level_iter.h). */
#include "table/two_level_iter.h"

#include <string.h>

#include "table/format.h"
#include "util/alloc.h"

typedef struct two_level {
    st_iter base;
    st_iter *index;
    st_block_loader load;
    void *arg;
    int status;             /* first loader error */
    int have_block;         /* data is positioned on a loaded block */
    st_pin pin;             /* keeps the current block alive */
    char handle[ST_HANDLE_MAX_LEN]; /* index value of the loaded block */
    size_t handle_len;
    st_block_iter data;
} two_level;

/* An empty block so the data iterator always has one to point at. */
static const char empty_contents[8] = {0, 0, 0, 0, 1, 0, 0, 0};
static const st_block empty_block = {empty_contents, 8, 0, 1, NULL, "", 0, NULL, 0, 0};

static void drop_block(two_level *t)
{
    st_block_iter_reset(&t->data, &empty_block);
    st_pin_release(&t->pin);
    t->have_block = 0;
    t->handle_len = 0;
}

static int same_block(const two_level *t, st_slice v)
{
    return t->have_block && v.size == t->handle_len && memcmp(v.data, t->handle, v.size) == 0;
}

/* Loads the block the index points at (keeping the current one if it is the same). */
static void init_data(two_level *t)
{
    if (!st_iter_valid(t->index)) {
        drop_block(t);
        return;
    }
    st_slice v = st_iter_value(t->index);
    if (same_block(t, v)) {
        return;
    }
    drop_block(t);
    const st_block *b;
    st_pin pin = {NULL, NULL, NULL};
    int rc = t->load(t->arg, v, &b, &pin);
    if (rc) {
        t->status = rc;
        return;
    }
    t->pin = pin;
    t->have_block = 1;
    if (v.size <= sizeof(t->handle)) {
        memcpy(t->handle, v.data, v.size);
        t->handle_len = v.size;
    }
    st_block_iter_reset(&t->data, b);
}

static int data_ok(const two_level *t)
{
    return !t->status && t->have_block && !t->data.status;
}

static void skip_forward(two_level *t)
{
    while (data_ok(t) && !st_block_iter_valid(&t->data)) {
        st_iter_next(t->index);
        init_data(t);
        if (data_ok(t)) {
            st_block_iter_seek_to_first(&t->data);
        }
    }
}

static void skip_backward(two_level *t)
{
    while (data_ok(t) && !st_block_iter_valid(&t->data)) {
        st_iter_prev(t->index);
        init_data(t);
        if (data_ok(t)) {
            st_block_iter_seek_to_last(&t->data);
        }
    }
}

static int t_valid(const st_iter *it)
{
    const two_level *t = (const two_level *)it;
    return data_ok(t) && st_block_iter_valid(&t->data);
}

static void t_seek(st_iter *it, st_slice target)
{
    two_level *t = (two_level *)it;
    st_iter_seek(t->index, target);
    init_data(t);
    if (data_ok(t)) {
        st_block_iter_seek(&t->data, target);
    }
    skip_forward(t);
}

static void t_first(st_iter *it)
{
    two_level *t = (two_level *)it;
    st_iter_seek_to_first(t->index);
    init_data(t);
    if (data_ok(t)) {
        st_block_iter_seek_to_first(&t->data);
    }
    skip_forward(t);
}

static void t_last(st_iter *it)
{
    two_level *t = (two_level *)it;
    st_iter_seek_to_last(t->index);
    init_data(t);
    if (data_ok(t)) {
        st_block_iter_seek_to_last(&t->data);
    }
    skip_backward(t);
}

static void t_next(st_iter *it)
{
    two_level *t = (two_level *)it;
    st_block_iter_next(&t->data);
    skip_forward(t);
}

static void t_prev(st_iter *it)
{
    two_level *t = (two_level *)it;
    st_block_iter_prev(&t->data);
    skip_backward(t);
}

static st_slice t_key(const st_iter *it)
{
    return ((const two_level *)it)->data.key;
}

static st_slice t_value(const st_iter *it)
{
    return ((const two_level *)it)->data.value;
}

static int t_status(const st_iter *it)
{
    const two_level *t = (const two_level *)it;
    int rc = st_iter_status(t->index);
    if (!rc) {
        rc = t->status;
    }
    if (!rc && t->have_block) {
        rc = t->data.status;
    }
    return rc;
}

static void t_destroy(st_iter *it)
{
    two_level *t = (two_level *)it;
    drop_block(t);
    st_block_iter_release(&t->data);
    st_iter_destroy(t->index);
    st_free(t);
}

static const struct st_iter_ops two_level_ops = {t_valid, t_first, t_last,  t_seek,   t_next,
                                                 t_prev,  t_key,   t_value, t_status, t_destroy};

st_iter *st_two_level_iter_new(st_iter *index, const st_comparator *ucmp, st_block_loader load,
                               void *arg)
{
    two_level *t = st_calloc(1, sizeof(*t));
    if (!t) {
        st_iter_destroy(index);
        return NULL;
    }
    st_iter_init(&t->base, &two_level_ops);
    t->index = index;
    t->load = load;
    t->arg = arg;
    st_block_iter_init(&t->data, &empty_block, ucmp);
    return &t->base;
}
