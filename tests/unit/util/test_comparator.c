/* test_comparator.c — the bytewise comparator, user comparator handles (callbacks, destructor,
 * name) and user-key shortening/successor invariants. */
#include <string.h>

#include "strata.h"
#include "test_util.h"
#include "util/comparator.h"
#include "util/random.h"

static int cmp_slices(const char *a, size_t an, const char *b, size_t bn)
{
    return st_ucmp(st_comparator_bytewise(), st_slice_make(a, an), st_slice_make(b, bn));
}

static void test_bytewise_order(void **state)
{
    (void)state;
    const st_comparator *c = st_comparator_bytewise();
    assert_ptr_equal(c, strata_comparator_bytewise());
    assert_string_equal(st_comparator_name(c), "leveldb.BytewiseComparator");
    assert_int_equal(cmp_slices("", 0, "", 0), 0);
    assert_true(cmp_slices("", 0, "a", 1) < 0);
    assert_true(cmp_slices("a", 1, "", 0) > 0);
    assert_true(cmp_slices("ab", 2, "abc", 3) < 0);
    assert_true(cmp_slices("abd", 3, "abc", 3) > 0);
    assert_true(cmp_slices("\x01", 1, "\xff", 1) < 0); /* unsigned bytes */
    assert_true(cmp_slices("a\0b", 3, "a\0c", 3) < 0); /* embedded NULs */
    strata_comparator_destroy((strata_comparator *)c); /* no-op on the static one */
    strata_comparator_destroy(NULL);
}

struct rev_state {
    int calls;
    int destroyed;
};

static int rev_cmp(void *st, const char *a, size_t an, const char *b, size_t bn)
{
    ((struct rev_state *)st)->calls++;
    return -st_slice_cmp(st_slice_make(a, an), st_slice_make(b, bn));
}

static const char *rev_name(void *st)
{
    (void)st;
    return "test.reverse";
}

static const char *null_name(void *st)
{
    (void)st;
    return NULL;
}

static void rev_destroy(void *st)
{
    ((struct rev_state *)st)->destroyed++;
}

static int sign(int x)
{
    return x < 0 ? -1 : x > 0;
}

/* The word-at-a-time st_bytes_cmp against memcmp-then-length, on random strings that share long
 * prefixes and differ in every byte position and bit (incl. bytes >= 0x80). */
static void test_bytes_cmp_matches_memcmp(void **state)
{
    (void)state;
    st_random rnd;
    st_random_seed(&rnd, tu_seed(7));
    unsigned char a[40], b[40];
    for (int iter = 0; iter < 200000; iter++) {
        size_t alen = st_random_uniform(&rnd, sizeof(a) + 1);
        size_t blen = st_random_uniform(&rnd, sizeof(b) + 1);
        for (size_t i = 0; i < sizeof(a); i++) {
            a[i] = b[i] = (unsigned char)st_random_uniform(&rnd, 4) * 0x55;
        }
        if (st_random_uniform(&rnd, 4) != 0) { /* one differing byte (or none) */
            size_t at = st_random_uniform(&rnd, sizeof(b));
            b[at] = (unsigned char)st_random_uniform(&rnd, 256);
        }
        size_t n = alen < blen ? alen : blen;
        int want = sign(memcmp(a, b, n));
        if (want == 0) {
            want = alen < blen ? -1 : alen > blen;
        }
        int got = sign(st_bytes_cmp(a, alen, b, blen));
        if (got != want) {
            print_error("alen %zu blen %zu: got %d want %d\n", alen, blen, got, want);
            fail();
        }
        assert_int_equal(sign(st_bytes_cmp(b, blen, a, alen)), -want);
    }
}

static void test_user_comparator(void **state)
{
    (void)state;
    struct rev_state rs = {0, 0};
    strata_comparator *c = strata_comparator_create(&rs, rev_destroy, rev_cmp, rev_name);
    assert_non_null(c);
    assert_false(c->bytewise);
    assert_string_equal(st_comparator_name(c), "test.reverse");
    assert_true(st_ucmp(c, st_slice_cstr("a"), st_slice_cstr("b")) > 0);
    assert_int_equal(rs.calls, 1);
    /* Never shortened: the order is unknown to strata. */
    st_buf k = ST_BUF_INIT;
    tu_assert_ok(st_buf_assign(&k, "abcdef", 6));
    tu_assert_ok(st_ucmp_shorten(c, &k, st_slice_cstr("zzz")));
    tu_assert_ok(st_ucmp_successor(c, &k));
    tu_assert_bytes_equal(k.data, k.len, "abcdef", 6);
    st_buf_free(&k);
    strata_comparator_destroy(c);
    assert_int_equal(rs.destroyed, 1);
    /* Missing callbacks are refused; a NULL name reads as "". */
    assert_null(strata_comparator_create(NULL, NULL, NULL, rev_name));
    assert_null(strata_comparator_create(NULL, NULL, rev_cmp, NULL));
    c = strata_comparator_create(&rs, NULL, rev_cmp, null_name);
    assert_string_equal(st_comparator_name(c), "");
    strata_comparator_destroy(c);
}

static void shorten_case(const char *start, const char *limit, const char *want)
{
    st_buf b = ST_BUF_INIT;
    tu_assert_ok(st_buf_assign(&b, start, strlen(start)));
    tu_assert_ok(st_ucmp_shorten(st_comparator_bytewise(), &b, st_slice_cstr(limit)));
    tu_assert_bytes_equal(b.data, b.len, want, strlen(want));
    st_buf_free(&b);
}

static void successor_case(const char *key, const char *want)
{
    st_buf b = ST_BUF_INIT;
    tu_assert_ok(st_buf_assign(&b, key, strlen(key)));
    tu_assert_ok(st_ucmp_successor(st_comparator_bytewise(), &b));
    tu_assert_bytes_equal(b.data, b.len, want, strlen(want));
    st_buf_free(&b);
}

static void test_shorten_and_successor(void **state)
{
    (void)state;
    shorten_case("abcdefg", "abzzz", "abd");
    shorten_case("abc", "abcd", "abc");     /* prefix */
    shorten_case("abc", "abd", "abc");      /* adjacent last byte */
    shorten_case("a\xff" "b", "b", "a\xff" "b"); /* 'a'+1 == 'b': cannot go shorter here */
    shorten_case("", "a", "");
    shorten_case("\xfe\x01", "\xff", "\xfe\x01");
    successor_case("abc", "b");
    successor_case("\xff\xff" "a", "\xff\xff" "b");
    successor_case("\xff\xff", "\xff\xff");
    successor_case("", "");
}

static void test_random_shorten(void **state)
{
    (void)state;
    static const char alpha[] = {'\0', 'a', 'b', 'c', '\x7f', '\xfe', '\xff'};
    st_random r;
    st_random_seed(&r, tu_seed(11));
    const st_comparator *c = st_comparator_bytewise();
    for (int i = 0; i < 20000; i++) {
        char a[10], b[10];
        size_t an = (size_t)st_random_uniform(&r, 11), bn = (size_t)st_random_uniform(&r, 11);
        for (size_t j = 0; j < an; j++) {
            a[j] = alpha[st_random_uniform(&r, sizeof(alpha))];
        }
        for (size_t j = 0; j < bn; j++) {
            b[j] = alpha[st_random_uniform(&r, sizeof(alpha))];
        }
        st_slice sa = st_slice_make(a, an), sb = st_slice_make(b, bn);
        if (st_ucmp(c, sa, sb) > 0) {
            st_slice t = sa;
            sa = sb;
            sb = t;
        }
        st_buf s = ST_BUF_INIT;
        tu_assert_ok(st_buf_assign(&s, sa.data, sa.size));
        tu_assert_ok(st_ucmp_shorten(c, &s, sb));
        assert_true(st_ucmp(c, sa, st_buf_slice(&s)) <= 0);
        if (st_ucmp(c, sa, sb) < 0) {
            assert_true(st_ucmp(c, st_buf_slice(&s), sb) < 0);
        }
        tu_assert_ok(st_buf_assign(&s, sa.data, sa.size));
        tu_assert_ok(st_ucmp_successor(c, &s));
        assert_true(st_ucmp(c, sa, st_buf_slice(&s)) <= 0);
        st_buf_free(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytewise_order),
        cmocka_unit_test(test_bytes_cmp_matches_memcmp),
        cmocka_unit_test(test_user_comparator),
        cmocka_unit_test(test_shorten_and_successor),
        cmocka_unit_test(test_random_shorten),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
