/* test_filter.c — filter policies: the blocked bloom filter has no false negatives and a
 * false-positive rate near the theory for a blocked filter; user policies are called with the
 * distinct keys and their answers used; malformed filters match everything; the public
 * create/destroy functions validate their arguments. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "strata.h"
#include "table/filter.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/compiler.h"

static void key_of(char *buf, size_t cap, const char *prefix, size_t i, st_slice *out)
{
    int n = snprintf(buf, cap, "%s%zu", prefix, i);
    *out = st_slice_make(buf, (size_t)n);
}

static void build(const st_filter_policy *p, const char *prefix, size_t n, st_buf *out)
{
    st_filter_builder *b = st_filter_builder_create(p);
    assert_non_null(b);
    char buf[64];
    for (size_t i = 0; i < n; i++) {
        st_slice k;
        key_of(buf, sizeof(buf), prefix, i, &k);
        tu_assert_ok(st_filter_builder_add(b, k));
    }
    tu_assert_ok(st_filter_builder_finish(b, out));
    st_filter_builder_destroy(b);
}

static void test_no_false_negatives(void **state)
{
    (void)state;
    static const int bits[] = {1, 2, 5, 10, 16, 20, 64};
    static const size_t counts[] = {1, 2, 10, 999, 20000};
    for (size_t bi = 0; bi < ST_ARRAY_LEN(bits); bi++) {
        strata_filter_policy *p = strata_filter_policy_create_bloom(bits[bi]);
        assert_non_null(p);
        assert_string_equal(st_filter_name(p), "strata.bloom2");
        for (size_t ci = 0; ci < ST_ARRAY_LEN(counts); ci++) {
            st_buf f = ST_BUF_INIT;
            build(p, "k", counts[ci], &f);
            /* size: whole 64-byte lines for n * bits, plus the 8-byte trailer */
            size_t lines = (counts[ci] * (size_t)bits[bi] + 511) / 512;
            assert_int_equal(f.len, lines * 64 + 8);
            char buf[64];
            for (size_t i = 0; i < counts[ci]; i++) {
                st_slice k;
                key_of(buf, sizeof(buf), "k", i, &k);
                assert_int_equal(st_filter_may_match(p, st_buf_slice(&f), k), 1);
            }
            st_buf_free(&f);
        }
        strata_filter_policy_destroy(p);
    }
}

/* Expected false-positive rate of a filter with 512-bit lines, keys spread over lines as a
 * Poisson(λ = 512 / bits_per_key) count, and k distinct probe bits per key. */
static double blocked_theory(int bits_per_key, int k)
{
    double lambda = 512.0 / bits_per_key, sum = 0, p = exp(-lambda);
    for (int n = 0; n < 400; n++) {
        double fill = 1 - pow(1 - (double)k / 512, n);
        sum += p * pow(fill, k);
        p *= lambda / (n + 1);
    }
    return sum;
}

static void test_false_positive_rate(void **state)
{
    (void)state;
    strata_filter_policy *p = strata_filter_policy_create_bloom(10);
    const size_t n = 100000;
    st_buf f = ST_BUF_INIT;
    build(p, "present-", n, &f);
    int k = (unsigned char)f.data[f.len - 4];
    assert_int_equal(k, 6);
    size_t fp = 0;
    char buf[64];
    for (size_t i = 0; i < n; i++) {
        st_slice key;
        key_of(buf, sizeof(buf), "absent-", i, &key);
        fp += (size_t)st_filter_may_match(p, st_buf_slice(&f), key);
    }
    double rate = (double)fp / (double)n, theory = blocked_theory(10, k);
    print_message("bloom 10 bits/key: false positives %.4f%%, theory %.4f%%\n", rate * 100,
                  theory * 100);
    assert_true(rate < theory * 1.3);
    assert_true(rate > theory * 0.6);
    assert_true(rate < 0.015);
    st_buf_free(&f);
    strata_filter_policy_destroy(p);
}

static void test_empty_and_duplicates(void **state)
{
    (void)state;
    strata_filter_policy *p = strata_filter_policy_create_bloom(10);
    st_buf f = ST_BUF_INIT;
    build(p, "x", 0, &f);
    assert_int_equal(f.len, 8);
    assert_int_equal(st_filter_may_match(p, st_buf_slice(&f), st_slice_cstr("x0")), 0);
    st_buf_free(&f);
    /* a key repeated consecutively counts once */
    st_filter_builder *b = st_filter_builder_create(p);
    for (int i = 0; i < 100; i++) {
        tu_assert_ok(st_filter_builder_add(b, st_slice_cstr("same")));
    }
    tu_assert_ok(st_filter_builder_finish(b, &f));
    assert_int_equal(f.len, 64 + 8);
    assert_int_equal(st_filter_may_match(p, st_buf_slice(&f), st_slice_cstr("same")), 1);
    st_filter_builder_destroy(b);
    st_buf_free(&f);
    strata_filter_policy_destroy(p);
}

static void test_malformed_filter_matches(void **state)
{
    (void)state;
    strata_filter_policy *p = strata_filter_policy_create_bloom(10);
    st_buf f = ST_BUF_INIT;
    build(p, "k", 1000, &f);
    st_slice absent = st_slice_cstr("definitely-not-there");
    /* find a key the intact filter rules out, so "may match" below is the fallback speaking */
    char buf[64];
    st_slice probe = absent;
    for (size_t i = 0; st_filter_may_match(p, st_buf_slice(&f), probe); i++) {
        key_of(buf, sizeof(buf), "absent", i, &probe);
    }
    assert_int_equal(st_filter_may_match(p, st_slice_make(f.data, 0), probe), 1);
    assert_int_equal(st_filter_may_match(p, st_slice_make(f.data, 7), probe), 1);
    assert_int_equal(st_filter_may_match(p, st_slice_make(f.data + 1, f.len - 1), probe), 1);
    char *t = f.data + f.len - 8;
    t[5] = 2; /* unknown layout */
    assert_int_equal(st_filter_may_match(p, st_buf_slice(&f), probe), 1);
    t[5] = 1;
    t[4] = 0; /* no probes */
    assert_int_equal(st_filter_may_match(p, st_buf_slice(&f), probe), 1);
    t[4] = 31; /* too many probes */
    assert_int_equal(st_filter_may_match(p, st_buf_slice(&f), probe), 1);
    t[4] = 6;
    st_encode_fixed32(t, 0xffffffffu); /* line count disagrees with the length */
    assert_int_equal(st_filter_may_match(p, st_buf_slice(&f), probe), 1);
    st_buf_free(&f);
    strata_filter_policy_destroy(p);
}

/* A user policy: the filter is the keys, each prefixed with one length byte. */
typedef struct user_state {
    int destroyed;
    int created_with;
} user_state;

static char *u_create(void *state, const char *const *keys, const size_t *lens, int n,
                      size_t *flen)
{
    user_state *s = state;
    s->created_with = n;
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        total += 1 + lens[i];
    }
    char *f = malloc(total + 1);
    char *p = f;
    for (int i = 0; i < n; i++) {
        *p++ = (char)lens[i];
        memcpy(p, keys[i], lens[i]);
        p += lens[i];
    }
    *flen = total;
    return f;
}

static int u_match(void *state, const char *key, size_t klen, const char *f, size_t flen)
{
    (void)state;
    size_t i = 0;
    while (i < flen) {
        size_t l = (unsigned char)f[i];
        if (l == klen && i + 1 + l <= flen && memcmp(f + i + 1, key, klen) == 0) {
            return 1;
        }
        i += 1 + l;
    }
    return 0;
}

static const char *u_name(void *state)
{
    (void)state;
    return "test.exact";
}

static void u_destroy(void *state)
{
    ((user_state *)state)->destroyed++;
}

static void test_user_policy(void **state)
{
    (void)state;
    user_state us = {0, -1};
    strata_filter_policy *p = strata_filter_policy_create(&us, u_destroy, u_create, u_match,
                                                          u_name);
    assert_non_null(p);
    assert_string_equal(st_filter_name(p), "test.exact");
    st_filter_builder *b = st_filter_builder_create(p);
    const char *keys[] = {"a", "a", "b", "c", "c", "c", "d"};
    for (size_t i = 0; i < ST_ARRAY_LEN(keys); i++) {
        tu_assert_ok(st_filter_builder_add(b, st_slice_cstr(keys[i])));
    }
    st_buf f = ST_BUF_INIT;
    tu_assert_ok(st_filter_builder_finish(b, &f));
    assert_int_equal(us.created_with, 4);
    for (size_t i = 0; i < ST_ARRAY_LEN(keys); i++) {
        assert_int_equal(st_filter_may_match(p, st_buf_slice(&f), st_slice_cstr(keys[i])), 1);
    }
    assert_int_equal(st_filter_may_match(p, st_buf_slice(&f), st_slice_cstr("e")), 0);
    st_filter_builder_destroy(b);
    st_buf_free(&f);
    strata_filter_policy_destroy(p);
    assert_int_equal(us.destroyed, 1);
}

static char *u_create_null(void *state, const char *const *keys, const size_t *lens, int n,
                           size_t *flen)
{
    (void)state, (void)keys, (void)lens, (void)n, (void)flen;
    return NULL;
}

static void test_policy_arguments(void **state)
{
    (void)state;
    assert_null(strata_filter_policy_create_bloom(0));
    assert_null(strata_filter_policy_create_bloom(65));
    assert_null(strata_filter_policy_create_bloom(-3));
    assert_null(strata_filter_policy_create(NULL, NULL, NULL, u_match, u_name));
    assert_null(strata_filter_policy_create(NULL, NULL, u_create, NULL, u_name));
    assert_null(strata_filter_policy_create(NULL, NULL, u_create, u_match, NULL));
    strata_filter_policy_destroy(NULL);
    /* a policy returning no filter is an error, not a crash */
    strata_filter_policy *p = strata_filter_policy_create(NULL, NULL, u_create_null, u_match,
                                                          u_name);
    st_filter_builder *b = st_filter_builder_create(p);
    tu_assert_ok(st_filter_builder_add(b, st_slice_cstr("k")));
    st_buf f = ST_BUF_INIT;
    assert_int_equal(st_filter_builder_finish(b, &f), STRATA_E_INVALID);
    st_filter_builder_destroy(b);
    strata_filter_policy_destroy(p);
}

static void test_builder_oom(void **state)
{
    (void)state;
    user_state us = {0, -1};
    strata_filter_policy *pol[2] = {
        strata_filter_policy_create_bloom(10),
        strata_filter_policy_create(&us, NULL, u_create, u_match, u_name)};
    for (int w = 0; w < 2; w++) {
        for (long fail = 0; fail < 12; fail++) {
            st_alloc_fail_after(fail, 0);
            st_filter_builder *b = st_filter_builder_create(pol[w]);
            int rc = b ? 0 : STRATA_E_NOMEM;
            char buf[32];
            for (size_t i = 0; i < 3000 && !rc; i++) {
                st_slice k;
                key_of(buf, sizeof(buf), "k", i, &k);
                rc = st_filter_builder_add(b, k);
            }
            st_buf f = ST_BUF_INIT;
            if (!rc) {
                rc = st_filter_builder_finish(b, &f);
            }
            st_alloc_fail_after(-1, 0);
            assert_true(rc == 0 || rc == STRATA_E_NOMEM);
            if (!rc) {
                assert_int_equal(st_filter_may_match(pol[w], st_buf_slice(&f), st_slice_cstr("k7")),
                                 1);
            }
            st_buf_free(&f);
            st_filter_builder_destroy(b);
        }
        strata_filter_policy_destroy(pol[w]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_false_negatives),
        cmocka_unit_test(test_false_positive_rate),
        cmocka_unit_test(test_empty_and_duplicates),
        cmocka_unit_test(test_malformed_filter_matches),
        cmocka_unit_test(test_user_policy),
        cmocka_unit_test(test_policy_arguments),
        cmocka_unit_test(test_builder_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
