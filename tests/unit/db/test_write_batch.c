/* test_write_batch.c — batch encoding: operations, counts, append, iterate, malformed records. */
#include "test_util.h"

#include <stdio.h>
#include <string.h>

#include "db/write_batch.h"
#include "util/alloc.h"
#include "util/ikey.h"

typedef struct collected {
    char log[1024];
    size_t len;
} collected;

static void on_put(void *ctx, const char *k, size_t klen, const char *v, size_t vlen)
{
    collected *c = ctx;
    c->len += (size_t)snprintf(c->log + c->len, sizeof(c->log) - c->len, "P(%.*s=%.*s)", (int)klen,
                               k, (int)vlen, v);
}

static void on_del(void *ctx, const char *k, size_t klen)
{
    collected *c = ctx;
    c->len += (size_t)snprintf(c->log + c->len, sizeof(c->log) - c->len, "D(%.*s)", (int)klen, k);
}

static void test_put_delete_iterate(void **state)
{
    (void)state;
    strata_batch *b = strata_batch_create();
    assert_non_null(b);
    assert_int_equal(strata_batch_count(b), 0);
    tu_assert_ok(strata_batch_put(b, "a", 1, "1", 1));
    tu_assert_ok(strata_batch_delete(b, "b", 1));
    tu_assert_ok(strata_batch_put(b, "", 0, "", 0));
    assert_int_equal(strata_batch_count(b), 3);
    collected c = {{0}, 0};
    tu_assert_ok(strata_batch_iterate(b, &c, on_put, on_del));
    assert_string_equal(c.log, "P(a=1)D(b)P(=)");
    strata_batch_clear(b);
    assert_int_equal(strata_batch_count(b), 0);
    assert_int_equal(strata_batch_size(b), ST_BATCH_HEADER);
    strata_batch_destroy(b);
}

static void test_append_and_seq(void **state)
{
    (void)state;
    strata_batch *a = strata_batch_create(), *b = strata_batch_create();
    tu_assert_ok(strata_batch_put(a, "x", 1, "1", 1));
    tu_assert_ok(strata_batch_put(b, "y", 1, "2", 1));
    tu_assert_ok(strata_batch_delete(b, "z", 1));
    st_batch_set_seq(a, 77);
    tu_assert_ok(strata_batch_append(a, b));
    assert_int_equal(strata_batch_count(a), 3);
    assert_int_equal(st_batch_seq(a), 77);
    collected c = {{0}, 0};
    tu_assert_ok(strata_batch_iterate(a, &c, on_put, on_del));
    assert_string_equal(c.log, "P(x=1)P(y=2)D(z)");
    strata_batch_destroy(a);
    strata_batch_destroy(b);
}

static void test_set_contents_rejects_malformed(void **state)
{
    (void)state;
    strata_batch *b = strata_batch_create();
    tu_assert_ok(strata_batch_put(b, "key", 3, "value", 5));
    strata_batch *c = strata_batch_create();
    st_slice good = st_slice_make(b->rep.data, b->rep.len);
    tu_assert_ok(st_batch_set_contents(c, good));
    assert_int_equal(strata_batch_count(c), 1);
    /* Every truncation is rejected. */
    for (size_t n = 0; n < good.size; n++) {
        assert_int_equal(st_batch_set_contents(c, st_slice_make(good.data, n)),
                         STRATA_E_CORRUPTION);
    }
    /* A count that disagrees with the operations is rejected. */
    char bad[64];
    memcpy(bad, good.data, good.size);
    bad[8] = 2;
    assert_int_equal(st_batch_set_contents(c, st_slice_make(bad, good.size)), STRATA_E_CORRUPTION);
    /* An unknown operation type is rejected. */
    memcpy(bad, good.data, good.size);
    bad[ST_BATCH_HEADER] = 9;
    assert_int_equal(st_batch_set_contents(c, st_slice_make(bad, good.size)), STRATA_E_CORRUPTION);
    /* A hostile length prefix is rejected without reading past the end. */
    memcpy(bad, good.data, good.size);
    bad[ST_BATCH_HEADER + 1] = (char)0xff;
    assert_int_equal(st_batch_set_contents(c, st_slice_make(bad, good.size)), STRATA_E_CORRUPTION);
    strata_batch_destroy(b);
    strata_batch_destroy(c);
}

static void test_null_arguments(void **state)
{
    (void)state;
    assert_int_equal(strata_batch_put(NULL, "a", 1, "b", 1), STRATA_E_INVALID);
    strata_batch *b = strata_batch_create();
    assert_int_equal(strata_batch_put(b, NULL, 1, "b", 1), STRATA_E_INVALID);
    assert_int_equal(strata_batch_put(b, "a", 1, NULL, 1), STRATA_E_INVALID);
    assert_int_equal(strata_batch_delete(b, NULL, 3), STRATA_E_INVALID);
    assert_int_equal(strata_batch_append(b, NULL), STRATA_E_INVALID);
    assert_int_equal(strata_batch_iterate(NULL, NULL, NULL, NULL), STRATA_E_INVALID);
    assert_int_equal(strata_batch_count(NULL), 0);
    strata_batch_destroy(NULL);
    strata_batch_clear(NULL);
    strata_batch_destroy(b);
}

static void test_out_of_memory_leaves_batch_unchanged(void **state)
{
    (void)state;
    strata_batch *b = strata_batch_create();
    tu_assert_ok(strata_batch_put(b, "k", 1, "v", 1));
    size_t before = strata_batch_size(b);
    char big[4096];
    memset(big, 'x', sizeof(big));
    st_alloc_fail_after(0, 1);
    int rc = strata_batch_put(b, big, sizeof(big), big, sizeof(big));
    st_alloc_fail_after(-1, 0);
    assert_int_equal(rc, STRATA_E_NOMEM);
    assert_int_equal(strata_batch_size(b), before);
    assert_int_equal(strata_batch_count(b), 1);
    strata_batch_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_delete_iterate),
        cmocka_unit_test(test_append_and_seq),
        cmocka_unit_test(test_set_contents_rejects_malformed),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_out_of_memory_leaves_batch_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
