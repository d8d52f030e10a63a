/* test_ikey.c — internal keys: encoding, parse errors, the internal order, and the shortening
 * invariants start <= shortened < limit and key <= successor (randomized). */
#include <stdint.h>
#include <string.h>

#include "strata.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/random.h"

static const st_comparator *bw(void)
{
    return st_comparator_bytewise();
}

/* An internal key in a fresh buffer (caller frees). */
static st_buf mk(const void *user, size_t n, uint64_t seq, int type)
{
    st_buf b = ST_BUF_INIT;
    int rc = st_ikey_append(&b, st_slice_make(user, n), seq, type);
    assert_int_equal(rc, 0);
    return b;
}

static void test_encode_parse(void **state)
{
    (void)state;
    st_buf b = mk("key", 3, 12345, ST_TYPE_VALUE);
    assert_int_equal(b.len, 3 + ST_IKEY_TRAILER);
    assert_int_equal(st_ikey_trailer(st_buf_slice(&b)), (UINT64_C(12345) << 8) | 1);
    st_slice user;
    uint64_t seq;
    int type;
    tu_assert_ok(st_ikey_parse(st_buf_slice(&b), &user, &seq, &type));
    tu_assert_bytes_equal(user.data, user.size, "key", 3);
    assert_int_equal(seq, 12345);
    assert_int_equal(type, ST_TYPE_VALUE);
    st_buf_free(&b);

    b = mk("", 0, ST_MAX_SEQ, ST_TYPE_DELETION);
    tu_assert_ok(st_ikey_parse(st_buf_slice(&b), &user, &seq, &type));
    assert_int_equal(user.size, 0);
    assert_int_equal(seq, ST_MAX_SEQ);
    assert_int_equal(type, ST_TYPE_DELETION);
    st_buf_free(&b);
}

static void test_parse_errors(void **state)
{
    (void)state;
    st_slice user;
    uint64_t seq;
    int type;
    for (size_t n = 0; n < ST_IKEY_TRAILER; n++) {
        assert_int_equal(st_ikey_parse(st_slice_make("\0\0\0\0\0\0\0", n), &user, &seq, &type),
                         STRATA_E_CORRUPTION);
    }
    for (int bad = ST_TYPE_MAX + 1; bad <= 0xff; bad++) {
        st_buf b = mk("k", 1, 7, bad);
        assert_int_equal(st_ikey_parse(st_buf_slice(&b), &user, &seq, &type),
                         STRATA_E_CORRUPTION);
        st_buf_free(&b);
    }
}

static int icmp(const st_buf *a, const st_buf *b)
{
    return st_ikey_cmp(bw(), st_buf_slice(a), st_buf_slice(b));
}

static void test_order(void **state)
{
    (void)state;
    /* Sorted ascending by the internal order. */
    st_buf keys[] = {
        mk("a", 1, 100, ST_TYPE_VALUE), mk("a", 1, 99, ST_TYPE_VALUE),
        mk("a", 1, 99, ST_TYPE_DELETION), mk("a", 1, 0, ST_TYPE_VALUE),
        mk("ab", 2, ST_MAX_SEQ, ST_TYPE_VALUE), mk("b", 1, 5, ST_TYPE_VALUE),
        mk("\xff", 1, 1, ST_TYPE_VALUE),
    };
    size_t n = sizeof(keys) / sizeof(keys[0]);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(icmp(&keys[i], &keys[i]), 0);
        for (size_t j = i + 1; j < n; j++) {
            assert_true(icmp(&keys[i], &keys[j]) < 0);
            assert_true(icmp(&keys[j], &keys[i]) > 0);
        }
    }
    /* A seek key for (user, seq) sorts before every entry with that user key and seq <= seq, and
     * after every entry with a larger seq. */
    st_buf seek = mk("a", 1, 99, ST_TYPE_FOR_SEEK);
    assert_true(icmp(&keys[0], &seek) < 0);
    assert_true(icmp(&seek, &keys[1]) < 0);
    assert_true(icmp(&seek, &keys[2]) < 0);
    st_buf_free(&seek);
    for (size_t i = 0; i < n; i++) {
        st_buf_free(&keys[i]);
    }
}

/* Checks start <= shortened < limit, and that the result still parses. */
static void check_shorten(const st_buf *start, const st_buf *limit)
{
    st_buf s = ST_BUF_INIT;
    tu_assert_ok(st_buf_assign(&s, start->data, start->len));
    tu_assert_ok(st_ikey_shorten(bw(), &s, st_buf_slice(limit)));
    assert_true(icmp(start, &s) <= 0);
    assert_true(icmp(&s, limit) < 0);
    assert_true(s.len <= start->len);
    st_slice user;
    uint64_t seq;
    int type;
    tu_assert_ok(st_ikey_parse(st_buf_slice(&s), &user, &seq, &type));
    st_buf_free(&s);
}

static void test_shorten_cases(void **state)
{
    (void)state;
    st_buf a = mk("abcdefg", 7, 5, ST_TYPE_VALUE);
    st_buf b = mk("abzzz", 5, 9, ST_TYPE_VALUE);
    st_buf s = ST_BUF_INIT;
    tu_assert_ok(st_buf_assign(&s, a.data, a.len));
    tu_assert_ok(st_ikey_shorten(bw(), &s, st_buf_slice(&b)));
    st_buf want = mk("abd", 3, ST_MAX_SEQ, ST_TYPE_FOR_SEEK);
    tu_assert_bytes_equal(s.data, s.len, want.data, want.len);
    check_shorten(&a, &b);
    /* Same user key: unchanged. */
    st_buf a2 = mk("abc", 3, 9, ST_TYPE_VALUE), b2 = mk("abc", 3, 3, ST_TYPE_VALUE);
    tu_assert_ok(st_buf_assign(&s, a2.data, a2.len));
    tu_assert_ok(st_ikey_shorten(bw(), &s, st_buf_slice(&b2)));
    tu_assert_bytes_equal(s.data, s.len, a2.data, a2.len);
    /* Prefix: unchanged. */
    st_buf a3 = mk("ab", 2, 1, ST_TYPE_VALUE), b3 = mk("abc", 3, 1, ST_TYPE_VALUE);
    check_shorten(&a3, &b3);
    /* Adjacent bytes: cannot shorten. */
    st_buf a4 = mk("abc1", 4, 1, ST_TYPE_VALUE), b4 = mk("abd", 3, 1, ST_TYPE_VALUE);
    check_shorten(&a4, &b4);
    st_buf *all[] = {&a, &b, &s, &want, &a2, &b2, &a3, &b3, &a4, &b4};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        st_buf_free(all[i]);
    }
}

static int memcmp_cb(void *st, const char *a, size_t an, const char *b, size_t bn)
{
    (void)st;
    return st_slice_cmp(st_slice_make(a, an), st_slice_make(b, bn));
}

static const char *name_cb(void *st)
{
    (void)st;
    return "test.memcmp";
}

static void test_user_comparator_unchanged(void **state)
{
    (void)state;
    strata_comparator *c = strata_comparator_create(NULL, NULL, memcmp_cb, name_cb);
    assert_non_null(c);
    st_buf a = mk("abcdefg", 7, 5, ST_TYPE_VALUE), b = mk("abzzz", 5, 9, ST_TYPE_VALUE);
    st_buf s = ST_BUF_INIT;
    tu_assert_ok(st_buf_assign(&s, a.data, a.len));
    tu_assert_ok(st_ikey_shorten(c, &s, st_buf_slice(&b)));
    tu_assert_bytes_equal(s.data, s.len, a.data, a.len);
    tu_assert_ok(st_ikey_successor(c, &s));
    tu_assert_bytes_equal(s.data, s.len, a.data, a.len);
    assert_true(st_ikey_cmp(c, st_buf_slice(&a), st_buf_slice(&b)) < 0);
    st_buf_free(&a);
    st_buf_free(&b);
    st_buf_free(&s);
    strata_comparator_destroy(c);
}

static void test_successor(void **state)
{
    (void)state;
    st_buf k = mk("abc", 3, 5, ST_TYPE_VALUE);
    st_buf s = ST_BUF_INIT;
    tu_assert_ok(st_buf_assign(&s, k.data, k.len));
    tu_assert_ok(st_ikey_successor(bw(), &s));
    st_buf want = mk("b", 1, ST_MAX_SEQ, ST_TYPE_FOR_SEEK);
    tu_assert_bytes_equal(s.data, s.len, want.data, want.len);
    st_buf ff = mk("\xff\xff", 2, 5, ST_TYPE_VALUE);
    tu_assert_ok(st_buf_assign(&s, ff.data, ff.len));
    tu_assert_ok(st_ikey_successor(bw(), &s));
    tu_assert_bytes_equal(s.data, s.len, ff.data, ff.len);
    st_buf_free(&k);
    st_buf_free(&s);
    st_buf_free(&want);
    st_buf_free(&ff);
}

/* Random user keys over a small alphabet (to get shared prefixes and 0xff bytes). */
static st_buf random_ikey(st_random *r)
{
    static const char alpha[] = {'\0', 'a', 'b', 'c', '\x7f', '\xfe', '\xff'};
    char user[12];
    size_t n = (size_t)st_random_uniform(r, sizeof(user) + 1);
    for (size_t i = 0; i < n; i++) {
        user[i] = alpha[st_random_uniform(r, sizeof(alpha))];
    }
    return mk(user, n, st_random_uniform(r, 1000), (int)st_random_uniform(r, ST_TYPE_MAX + 1));
}

static void test_random_invariants(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(7));
    for (int i = 0; i < 20000; i++) {
        st_buf a = random_ikey(&r), b = random_ikey(&r);
        int c = icmp(&a, &b);
        if (c < 0) {
            check_shorten(&a, &b);
        } else if (c > 0) {
            check_shorten(&b, &a);
        }
        st_buf s = ST_BUF_INIT;
        tu_assert_ok(st_buf_assign(&s, a.data, a.len));
        tu_assert_ok(st_ikey_successor(bw(), &s));
        assert_true(icmp(&a, &s) <= 0);
        st_buf_free(&s);
        st_buf_free(&a);
        st_buf_free(&b);
    }
}

static void test_append_nomem(void **state)
{
    (void)state;
    st_buf b = ST_BUF_INIT;
    st_alloc_fail_after(0, 1);
    assert_int_equal(st_ikey_append(&b, st_slice_make("k", 1), 1, ST_TYPE_VALUE),
                     STRATA_E_NOMEM);
    st_alloc_fail_after(-1, 0);
    assert_int_equal(b.len, 0);
    /* Shortening under allocation failure reports it and leaves the key intact. */
    st_buf a = mk("abcdefg", 7, 5, ST_TYPE_VALUE), lim = mk("abzzz", 5, 9, ST_TYPE_VALUE);
    st_alloc_fail_after(0, 1);
    assert_int_equal(st_ikey_shorten(bw(), &a, st_buf_slice(&lim)), STRATA_E_NOMEM);
    assert_int_equal(st_ikey_successor(bw(), &a), STRATA_E_NOMEM);
    st_alloc_fail_after(-1, 0);
    st_buf orig = mk("abcdefg", 7, 5, ST_TYPE_VALUE);
    tu_assert_bytes_equal(a.data, a.len, orig.data, orig.len);
    st_buf_free(&a);
    st_buf_free(&lim);
    st_buf_free(&orig);
    st_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_parse),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_shorten_cases),
        cmocka_unit_test(test_user_comparator_unchanged),
        cmocka_unit_test(test_successor),
        cmocka_unit_test(test_random_invariants),
        cmocka_unit_test(test_append_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
