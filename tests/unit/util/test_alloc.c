/* test_alloc.c — the allocation wrapper: zero-size requests, calloc zeroing, realloc failure
 * keeping the block, strdup/memdup, and the fail-after injection (one-shot, sticky, disabled). */
#include <stdint.h>
#include <string.h>

#include "test_util.h"
#include "util/alloc.h"

static void test_basic(void **state)
{
    (void)state;
    void *p = st_malloc(0);
    assert_non_null(p); /* zero-size requests still return a freeable pointer */
    st_free(p);
    st_free(NULL);
    unsigned char *z = st_calloc(100, 3);
    assert_non_null(z);
    for (int i = 0; i < 300; i++) {
        assert_int_equal(z[i], 0);
    }
    st_free(z);
    st_free(st_calloc(0, 8));
    char *s = st_malloc(4);
    memcpy(s, "abc", 4);
    s = st_realloc(s, 1000);
    assert_string_equal(s, "abc");
    st_free(s);
    char *d = st_strdup("hello");
    assert_string_equal(d, "hello");
    st_free(d);
    char *m = st_memdup("a\0b", 3);
    assert_memory_equal(m, "a\0b", 3);
    st_free(m);
    st_free(st_memdup(NULL, 0));
}

static void test_counts(void **state)
{
    (void)state;
    long before = st_alloc_count();
    st_free(st_malloc(1));
    st_free(st_calloc(1, 1));
    void *p = st_realloc(NULL, 1);
    st_free(p);
    assert_int_equal(st_alloc_count() - before, 3);
}

static void test_fail_one_shot(void **state)
{
    (void)state;
    long failures = st_alloc_failures();
    st_alloc_fail_after(2, 0);
    void *a = st_malloc(8), *b = st_malloc(8), *c = st_malloc(8), *d = st_malloc(8);
    st_alloc_fail_after(-1, 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(c); /* the third call from now */
    assert_non_null(d);
    assert_int_equal(st_alloc_failures() - failures, 1);
    st_free(a);
    st_free(b);
    st_free(d);
}

static void test_fail_sticky(void **state)
{
    (void)state;
    st_alloc_fail_after(1, 1);
    void *a = st_malloc(8);
    void *b = st_calloc(1, 8);
    char *c = st_strdup("x");
    void *d = st_memdup("abc", 3);
    st_alloc_fail_after(-1, 0);
    assert_non_null(a);
    assert_null(b);
    assert_null(c);
    assert_null(d);
    void *e = st_malloc(8);
    assert_non_null(e); /* disabled again */
    st_free(a);
    st_free(e);
}

static void test_realloc_failure_keeps_block(void **state)
{
    (void)state;
    char *p = st_malloc(16);
    memcpy(p, "keep me", 8);
    st_alloc_fail_after(0, 0);
    char *q = st_realloc(p, 1 << 20);
    assert_null(q);
    assert_string_equal(p, "keep me");
    st_free(p);
}

/* The out-of-memory loop pattern other tests use: fail the n-th allocation for n = 0, 1, ...
 * until the operation succeeds without an injected failure. */
static int build_list(char ***out)
{
    char **v = st_calloc(4, sizeof(char *));
    if (!v) {
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        v[i] = st_strdup("item");
        if (!v[i]) {
            for (int j = 0; j < i; j++) {
                st_free(v[j]);
            }
            st_free(v);
            return -1;
        }
    }
    *out = v;
    return 0;
}

static void test_oom_loop(void **state)
{
    (void)state;
    int n;
    for (n = 0; n < 100; n++) {
        long f = st_alloc_failures();
        char **v = NULL;
        st_alloc_fail_after(n, 0);
        int rc = build_list(&v);
        st_alloc_fail_after(-1, 0);
        if (rc == 0) {
            assert_int_equal(st_alloc_failures(), f); /* succeeded only without a failure */
            for (int i = 0; i < 4; i++) {
                st_free(v[i]);
            }
            st_free(v);
            break;
        }
        assert_int_equal(st_alloc_failures(), f + 1);
    }
    assert_int_equal(n, 5); /* five allocations: each one failed once */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_fail_one_shot),
        cmocka_unit_test(test_fail_sticky),
        cmocka_unit_test(test_realloc_failure_keeps_block),
        cmocka_unit_test(test_oom_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
