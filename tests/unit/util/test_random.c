/* test_random.c — xoshiro256**: the reference step, determinism per seed, and loose statistical
 * checks of uniform, one_in, skewed and bytes. */
#include <stdint.h>
#include <string.h>

#include "test_util.h"
#include "util/random.h"

static void test_reference_step(void **state)
{
    (void)state;
    /* From the xoshiro256** definition: output = rotl(s1 * 5, 7) * 9. */
    st_random r = {{1, 2, 3, 4}};
    assert_int_equal(st_random_next(&r), 11520);
    assert_int_equal(r.s[0], 7);
    assert_int_equal(r.s[1], 0);
    assert_int_equal(r.s[2], 262146);
    assert_int_equal(r.s[3], (UINT64_C(6) << 45) | (UINT64_C(6) >> 19));
}

static void test_determinism(void **state)
{
    (void)state;
    st_random a, b, c;
    st_random_seed(&a, 1234);
    st_random_seed(&b, 1234);
    st_random_seed(&c, 1235);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = st_random_next(&a);
        assert_int_equal(x, st_random_next(&b));
        differ += x != st_random_next(&c);
    }
    assert_true(differ > 95);
    st_random z;
    st_random_seed(&z, 0);
    assert_true((z.s[0] | z.s[1] | z.s[2] | z.s[3]) != 0); /* a zero seed still works */
    assert_int_not_equal(st_random_next(&z), st_random_next(&z));
}

static void test_uniform(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(8));
    assert_int_equal(st_random_uniform(&r, 1), 0);
    assert_int_equal(st_random_uniform(&r, 0), 0);
    enum { N = 10, DRAWS = 100000 };
    unsigned hist[N] = {0};
    for (int i = 0; i < DRAWS; i++) {
        uint64_t v = st_random_uniform(&r, N);
        assert_true(v < N);
        hist[v]++;
    }
    for (int i = 0; i < N; i++) {
        assert_in_range(hist[i], DRAWS / N * 9 / 10, DRAWS / N * 11 / 10);
    }
    /* Huge ranges, including ones that force rejection (just above 2^63). */
    uint64_t big = (UINT64_C(1) << 63) + 1;
    int high = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t v = st_random_uniform(&r, big);
        assert_true(v < big);
        high += v >= (UINT64_C(1) << 62);
        assert_true(st_random_uniform(&r, UINT64_MAX) < UINT64_MAX);
    }
    assert_in_range(high, 420, 580); /* about half of the draws are >= 2^62 */
}

static void test_one_in_and_skewed(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(8) + 1);
    int hits = 0;
    for (int i = 0; i < 100000; i++) {
        assert_true(st_random_one_in(&r, 1));
        hits += st_random_one_in(&r, 10);
    }
    assert_in_range(hits, 9000, 11000);
    unsigned lens[11] = {0};
    for (int i = 0; i < 50000; i++) {
        uint64_t v = st_random_skewed(&r, 10);
        assert_true(v < 1024);
        int bits = 0;
        while (v >> bits) {
            bits++;
        }
        lens[bits]++;
    }
    /* Skewed toward small values: each bit length at least ~1/22 of the draws. */
    for (int i = 0; i <= 10; i++) {
        assert_true(lens[i] > 50000 / 30);
    }
    assert_true(lens[1] + lens[0] > lens[10] / 2);
    assert_int_equal(st_random_skewed(&r, 0), 0);
    for (int i = 0; i < 100; i++) {
        (void)st_random_skewed(&r, 64); /* full width is allowed */
        (void)st_random_skewed(&r, 100);
    }
}

static void test_bytes(void **state)
{
    (void)state;
    st_random a, b;
    st_random_seed(&a, 5);
    st_random_seed(&b, 5);
    unsigned char x[37], y[37];
    memset(x, 0, sizeof(x));
    memset(y, 0, sizeof(y));
    st_random_bytes(&a, x, 13); /* odd lengths only touch n bytes */
    st_random_bytes(&b, y, 13);
    assert_memory_equal(x, y, sizeof(x));
    for (size_t i = 13; i < sizeof(x); i++) {
        assert_int_equal(x[i], 0);
    }
    st_random_bytes(&a, x, 0);
    unsigned ones = 0;
    unsigned char big[4096];
    st_random_bytes(&a, big, sizeof(big));
    for (size_t i = 0; i < sizeof(big); i++) {
        ones += (unsigned)__builtin_popcount(big[i]);
    }
    assert_in_range(ones, 4096 * 4 - 600, 4096 * 4 + 600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_step),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_one_in_and_skewed),
        cmocka_unit_test(test_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
