/* test_hash.c — XXH3 wrappers: agreement with xxHash itself, seeds, the little-endian layout of
 * the 128-bit digest, and a coarse spread check of the low and high bits (used for sharding). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "test_util.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/random.h"

static void test_matches_xxhash(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(1));
    static unsigned char buf[1024];
    st_random_bytes(&r, buf, sizeof(buf));
    for (size_t n = 0; n <= sizeof(buf); n += 1 + n / 4) {
        assert_int_equal(st_hash64(buf, n), XXH3_64bits(buf, n));
        assert_int_equal(st_hash64_seed(buf, n, 77), XXH3_64bits_withSeed(buf, n, 77));
        unsigned char out[16];
        st_hash128(buf, n, out);
        XXH128_hash_t h = XXH3_128bits(buf, n);
        assert_int_equal(st_decode_fixed64((const char *)out), h.low64);
        assert_int_equal(st_decode_fixed64((const char *)out + 8), h.high64);
    }
}

static void test_seeds_and_inputs(void **state)
{
    (void)state;
    assert_int_equal(st_hash64("abc", 3), st_hash64("abc", 3));
    assert_int_equal(st_hash64_seed("abc", 3, 0), st_hash64("abc", 3));
    assert_int_not_equal(st_hash64_seed("abc", 3, 1), st_hash64("abc", 3));
    assert_int_not_equal(st_hash64("abc", 3), st_hash64("abd", 3));
    assert_int_not_equal(st_hash64("", 0), st_hash64("\0", 1));
    unsigned char a[16], b[16];
    st_hash128("", 0, a);
    st_hash128("x", 1, b);
    assert_memory_not_equal(a, b, 16);
    /* Empty input with a NULL pointer is allowed by xxHash. */
    assert_int_equal(st_hash64(NULL, 0), st_hash64("", 0));
}

static void test_spread(void **state)
{
    (void)state;
    enum { KEYS = 64000, BUCKETS = 64 };
    unsigned low[BUCKETS] = {0}, high[BUCKETS] = {0};
    for (int i = 0; i < KEYS; i++) {
        char key[16];
        int n = snprintf(key, sizeof(key), "key%08d", i);
        uint64_t h = st_hash64(key, (size_t)n);
        low[h % BUCKETS]++;
        high[h >> 58]++;
    }
    for (int i = 0; i < BUCKETS; i++) {
        /* Expected 1000 per bucket; 30% slack is ~9 standard deviations. */
        assert_in_range(low[i], 700, 1300);
        assert_in_range(high[i], 700, 1300);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_xxhash),
        cmocka_unit_test(test_seeds_and_inputs),
        cmocka_unit_test(test_spread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
