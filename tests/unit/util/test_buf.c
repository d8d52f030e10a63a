/* test_buf.c — st_buf: growth, typed appends, length prefixes, release, and the "unchanged on
 * failure" guarantee under injected allocation failures. */
#include <stdint.h>
#include <string.h>

#include "test_util.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "strata.h"
#include "util/coding.h"

static void test_init_append_free(void **state)
{
    (void)state;
    st_buf b = ST_BUF_INIT;
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    tu_assert_ok(st_buf_append(&b, "hello", 5));
    tu_assert_ok(st_buf_append(&b, NULL, 0));
    tu_assert_ok(st_buf_append(&b, " world", 6));
    tu_assert_bytes_equal(b.data, b.len, "hello world", 11);
    st_slice s = st_buf_slice(&b);
    tu_assert_bytes_equal(s.data, s.size, "hello world", 11);
    st_buf_clear(&b);
    assert_int_equal(b.len, 0);
    assert_true(b.cap >= 11);
    st_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
    st_buf_free(&b); /* freeing twice is harmless */
}

static void test_growth_keeps_contents(void **state)
{
    (void)state;
    st_buf b;
    st_buf_init(&b);
    for (int i = 0; i < 10000; i++) {
        unsigned char c = (unsigned char)(i * 7);
        tu_assert_ok(st_buf_append(&b, &c, 1));
    }
    assert_int_equal(b.len, 10000);
    assert_true(b.cap >= b.len);
    for (int i = 0; i < 10000; i++) {
        assert_int_equal((unsigned char)b.data[i], (unsigned char)(i * 7));
    }
    st_buf_free(&b);
}

static void test_reserve(void **state)
{
    (void)state;
    st_buf b = ST_BUF_INIT;
    tu_assert_ok(st_buf_reserve(&b, 1000));
    assert_true(b.cap >= 1000);
    char *p = b.data;
    tu_assert_ok(st_buf_append(&b, p, 0));
    for (int i = 0; i < 1000; i++) {
        tu_assert_ok(st_buf_put_u8(&b, 1));
    }
    assert_ptr_equal(b.data, p); /* no reallocation within the reservation */
    assert_int_equal(st_buf_reserve(&b, SIZE_MAX), STRATA_E_NOMEM);
    assert_int_equal(st_buf_reserve(&b, SIZE_MAX / 2), STRATA_E_NOMEM);
    assert_int_equal(b.len, 1000);
    st_buf_free(&b);
}

static void test_assign(void **state)
{
    (void)state;
    st_buf b = ST_BUF_INIT;
    tu_assert_ok(st_buf_assign(&b, "abcdef", 6));
    tu_assert_ok(st_buf_assign(&b, "xy", 2));
    tu_assert_bytes_equal(b.data, b.len, "xy", 2);
    tu_assert_ok(st_buf_assign(&b, "0123456789", 10));
    /* Assigning a suffix of its own contents. */
    tu_assert_ok(st_buf_assign(&b, b.data + 4, 6));
    tu_assert_bytes_equal(b.data, b.len, "456789", 6);
    tu_assert_ok(st_buf_assign(&b, NULL, 0));
    assert_int_equal(b.len, 0);
    st_buf_free(&b);
}

static void test_typed_appends(void **state)
{
    (void)state;
    st_buf b = ST_BUF_INIT;
    tu_assert_ok(st_buf_put_u8(&b, 0xab));
    tu_assert_ok(st_buf_put_fixed32(&b, 0x01020304u));
    tu_assert_ok(st_buf_put_fixed64(&b, UINT64_C(0x0102030405060708)));
    tu_assert_ok(st_buf_put_varint32(&b, 300));
    tu_assert_ok(st_buf_put_varint64(&b, UINT64_MAX));
    const unsigned char want[] = {0xab, 4, 3, 2, 1, 8, 7, 6, 5, 4, 3, 2, 1, 0xac, 0x02,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    tu_assert_bytes_equal(b.data, b.len, want, sizeof(want));
    st_buf_free(&b);
}

static void test_lenprefixed(void **state)
{
    (void)state;
    st_buf b = ST_BUF_INIT;
    char big[200];
    memset(big, 'z', sizeof(big));
    tu_assert_ok(st_buf_put_lenprefixed(&b, st_slice_make("abc", 3)));
    tu_assert_ok(st_buf_put_lenprefixed(&b, st_slice_make("", 0)));
    tu_assert_ok(st_buf_put_lenprefixed(&b, st_slice_make(big, sizeof(big))));
    st_slice in = st_buf_slice(&b), out = {NULL, 0};
    assert_true(st_get_lenprefixed(&in, &out));
    tu_assert_bytes_equal(out.data, out.size, "abc", 3);
    assert_true(st_get_lenprefixed(&in, &out));
    assert_int_equal(out.size, 0);
    assert_true(st_get_lenprefixed(&in, &out));
    tu_assert_bytes_equal(out.data, out.size, big, sizeof(big));
    assert_int_equal(in.size, 0);
    assert_false(st_get_lenprefixed(&in, &out));
    /* Too long for a varint32 prefix: rejected before any byte is read. */
    size_t len = b.len;
    st_slice huge = st_slice_make(big, (size_t)UINT32_MAX + 1);
    assert_int_equal(st_buf_put_lenprefixed(&b, huge), STRATA_E_INVALID);
    assert_int_equal(b.len, len);
    st_buf_free(&b);
}

static void test_release(void **state)
{
    (void)state;
    st_buf b = ST_BUF_INIT;
    tu_assert_ok(st_buf_append(&b, "owned", 5));
    size_t len = 0;
    char *p = st_buf_release(&b, &len);
    assert_int_equal(len, 5);
    tu_assert_bytes_equal(p, len, "owned", 5);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    st_free(p);
    assert_null(st_buf_release(&b, NULL));
}

/* Every append/assign that fails leaves the buffer exactly as it was. */
static void test_failure_leaves_unchanged(void **state)
{
    (void)state;
    st_buf b = ST_BUF_INIT;
    st_alloc_fail_after(0, 0);
    assert_int_equal(st_buf_append(&b, "x", 1), STRATA_E_NOMEM);
    assert_null(b.data);
    tu_assert_ok(st_buf_append(&b, "0123456789", 10));
    size_t cap = b.cap;
    char big[4096];
    memset(big, 'q', sizeof(big));
    st_alloc_fail_after(0, 1);
    assert_int_equal(st_buf_append(&b, big, sizeof(big)), STRATA_E_NOMEM);
    assert_int_equal(st_buf_assign(&b, big, sizeof(big)), STRATA_E_NOMEM);
    assert_int_equal(st_buf_reserve(&b, sizeof(big)), STRATA_E_NOMEM);
    assert_int_equal(st_buf_put_lenprefixed(&b, st_slice_make(big, sizeof(big))),
                     STRATA_E_NOMEM);
    st_alloc_fail_after(-1, 0);
    tu_assert_bytes_equal(b.data, b.len, "0123456789", 10);
    assert_int_equal(b.cap, cap);
    /* A prefix that fits followed by bytes that do not: the prefix is rolled back. */
    while (b.len < b.cap - 1) {
        tu_assert_ok(st_buf_put_u8(&b, 'f'));
    }
    size_t len = b.len;
    st_alloc_fail_after(0, 0);
    assert_int_equal(st_buf_put_lenprefixed(&b, st_slice_make(big, 100)), STRATA_E_NOMEM);
    st_alloc_fail_after(-1, 0);
    assert_int_equal(b.len, len);
    st_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_append_free),
        cmocka_unit_test(test_growth_keeps_contents),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_assign),
        cmocka_unit_test(test_typed_appends),
        cmocka_unit_test(test_lenprefixed),
        cmocka_unit_test(test_release),
        cmocka_unit_test(test_failure_leaves_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
