/* test_iter.c — the internal iterator interface: the empty iterator, and destroy running the
 * implementation's destroy first and then the cleanups, last registered first. */
#include <string.h>

#include "strata.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/iter.h"

static void test_empty(void **state)
{
    (void)state;
    st_iter *it = st_iter_empty(0);
    assert_non_null(it);
    assert_false(st_iter_valid(it));
    st_iter_seek_to_first(it);
    assert_false(st_iter_valid(it));
    st_iter_seek_to_last(it);
    st_iter_seek(it, st_slice_cstr("k"));
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);
    assert_int_equal(st_iter_key(it).size, 0);
    assert_int_equal(st_iter_value(it).size, 0);
    st_iter_destroy(it);
    it = st_iter_empty(STRATA_E_CORRUPTION);
    assert_int_equal(st_iter_status(it), STRATA_E_CORRUPTION);
    assert_false(st_iter_valid(it));
    st_iter_destroy(it);
    st_iter_destroy(NULL);
    st_alloc_fail_after(0, 0);
    assert_null(st_iter_empty(0));
    st_alloc_fail_after(-1, 0);
}

/* A one-entry iterator that logs its destroy into a shared event log. */
struct log {
    char events[16];
    int n;
};

typedef struct one_iter {
    st_iter base;
    struct log *log;
    int pos; /* 0: on the entry, -1: invalid */
} one_iter;

static int o_valid(const st_iter *it) { return ((const one_iter *)it)->pos == 0; }
static void o_first(st_iter *it) { ((one_iter *)it)->pos = 0; }
static void o_seek(st_iter *it, st_slice t)
{
    ((one_iter *)it)->pos = st_slice_cmp(t, st_slice_cstr("k")) <= 0 ? 0 : -1;
}
static void o_step(st_iter *it) { ((one_iter *)it)->pos = -1; }
static st_slice o_key(const st_iter *it) { (void)it; return st_slice_cstr("k"); }
static st_slice o_value(const st_iter *it) { (void)it; return st_slice_cstr("v"); }
static int o_status(const st_iter *it) { (void)it; return 0; }
static void o_destroy(st_iter *it)
{
    one_iter *o = (one_iter *)it;
    o->log->events[o->log->n++] = 'D';
    st_free(o);
}

static const struct st_iter_ops one_ops = {o_valid, o_first, o_first, o_seek, o_step,
                                           o_step,  o_key,   o_value, o_status, o_destroy};

static void record(void *a, void *b)
{
    struct log *l = a;
    l->events[l->n++] = (char)(long)b;
}

static void test_cleanup_order(void **state)
{
    (void)state;
    struct log log = {{0}, 0};
    one_iter *o = st_malloc(sizeof(*o));
    st_iter_init(&o->base, &one_ops);
    o->log = &log;
    o->pos = -1;
    st_iter *it = &o->base;
    st_iter_seek(it, st_slice_cstr("a"));
    assert_true(st_iter_valid(it));
    tu_assert_bytes_equal(st_iter_key(it).data, st_iter_key(it).size, "k", 1);
    tu_assert_bytes_equal(st_iter_value(it).data, st_iter_value(it).size, "v", 1);
    st_iter_next(it);
    assert_false(st_iter_valid(it));
    tu_assert_ok(st_iter_add_cleanup(it, record, &log, (void *)(long)'1'));
    tu_assert_ok(st_iter_add_cleanup(it, record, &log, (void *)(long)'2'));
    /* A failed registration is not registered (and does not disturb the others). */
    st_alloc_fail_after(0, 0);
    assert_int_equal(st_iter_add_cleanup(it, record, &log, (void *)(long)'X'), STRATA_E_NOMEM);
    st_alloc_fail_after(-1, 0);
    tu_assert_ok(st_iter_add_cleanup(it, record, &log, (void *)(long)'3'));
    assert_int_equal(log.n, 0);
    st_iter_destroy(it);
    assert_int_equal(log.n, 4);
    assert_memory_equal(log.events, "D321", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_cleanup_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
