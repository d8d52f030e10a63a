/* test_histogram.c — exact statistics (count, min, max, mean, stddev), percentile accuracy
 * against sorted data, merge, out-of-range values, and formatting into small buffers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "util/histogram.h"
#include "util/random.h"

static void test_empty(void **state)
{
    (void)state;
    st_histogram h;
    st_histogram_clear(&h);
    assert_int_equal(h.count, 0);
    assert_true(st_histogram_percentile(&h, 50) == 0.0);
    assert_true(st_histogram_mean(&h) == 0.0);
    assert_true(st_histogram_stddev(&h) == 0.0);
    char buf[512];
    st_histogram_format(&h, buf, sizeof(buf));
    assert_non_null(strstr(buf, "Count: 0"));
}

static void test_exact_stats(void **state)
{
    (void)state;
    st_histogram h;
    st_histogram_clear(&h);
    for (int i = 1; i <= 100; i++) {
        st_histogram_add(&h, i);
    }
    assert_int_equal(h.count, 100);
    assert_true(h.min == 1.0);
    assert_true(h.max == 100.0);
    assert_float_equal(st_histogram_mean(&h), 50.5, 1e-9);
    assert_float_equal(st_histogram_stddev(&h), sqrt((100.0 * 100.0 - 1) / 12.0), 1e-9);
    assert_float_equal(st_histogram_percentile(&h, 0), 1.0, 1e-9);
    assert_float_equal(st_histogram_percentile(&h, 100), 100.0, 1e-9);
    assert_float_equal(st_histogram_percentile(&h, 50), 50.0, 5.0);
    assert_float_equal(st_histogram_percentile(&h, 90), 90.0, 5.0);
    /* Out-of-range p is clamped. */
    assert_float_equal(st_histogram_percentile(&h, -5), 1.0, 1e-9);
    assert_float_equal(st_histogram_percentile(&h, 500), 100.0, 1e-9);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Log-uniform latencies from 1 to 1e7: percentiles within one bucket width (~21%). */
static void test_percentile_accuracy(void **state)
{
    (void)state;
    enum { N = 50000 };
    static double vals[N];
    st_random r;
    st_random_seed(&r, tu_seed(21));
    st_histogram h;
    st_histogram_clear(&h);
    for (int i = 0; i < N; i++) {
        double u = (double)st_random_uniform(&r, 1000000) / 1000000.0;
        vals[i] = pow(10.0, 7.0 * u);
        st_histogram_add(&h, vals[i]);
    }
    qsort(vals, N, sizeof(vals[0]), cmp_double);
    const double ps[] = {1, 10, 25, 50, 75, 90, 99, 99.9};
    double prev = 0;
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        double exact = vals[(size_t)(ps[i] / 100.0 * N)];
        double got = st_histogram_percentile(&h, ps[i]);
        if (fabs(got - exact) > 0.22 * exact) {
            fail_msg("p%g: histogram %g, exact %g", ps[i], got, exact);
        }
        assert_true(got >= prev); /* monotonic in p */
        prev = got;
    }
}

static void test_merge(void **state)
{
    (void)state;
    st_histogram a, b, all;
    st_histogram_clear(&a);
    st_histogram_clear(&b);
    st_histogram_clear(&all);
    st_histogram empty;
    st_histogram_clear(&empty);
    st_histogram_merge(&a, &empty); /* merging nothing into nothing */
    assert_int_equal(a.count, 0);
    for (int i = 0; i < 1000; i++) {
        double v = (i * 37) % 1001 + 0.5;
        st_histogram_add(i % 3 ? &a : &b, v);
        st_histogram_add(&all, v);
    }
    st_histogram_merge(&a, &b);
    st_histogram_merge(&a, &empty);
    assert_int_equal(a.count, all.count);
    assert_true(a.min == all.min);
    assert_true(a.max == all.max);
    assert_float_equal(a.sum, all.sum, 1e-6);
    assert_memory_equal(a.buckets, all.buckets, sizeof(a.buckets));
    assert_float_equal(st_histogram_percentile(&a, 99), st_histogram_percentile(&all, 99), 1e-9);
    st_histogram c;
    st_histogram_clear(&c);
    st_histogram_merge(&c, &all); /* into an empty one: min/max come from src */
    assert_true(c.min == all.min);
    assert_true(c.max == all.max);
}

static void test_extreme_values(void **state)
{
    (void)state;
    st_histogram h;
    st_histogram_clear(&h);
    st_histogram_add(&h, 0);
    st_histogram_add(&h, -3);
    st_histogram_add(&h, 0.25);
    st_histogram_add(&h, 1e30);
    assert_true(h.min == -3);
    assert_true(h.max == 1e30);
    assert_int_equal(h.buckets[0], 3);
    assert_int_equal(h.buckets[ST_HISTOGRAM_BUCKETS - 1], 1);
    assert_true(st_histogram_percentile(&h, 100) == 1e30);
    assert_true(st_histogram_percentile(&h, 0) == -3);
    double p50 = st_histogram_percentile(&h, 50);
    assert_true(p50 >= -3 && p50 <= 1);
    /* Exactly on bucket bounds and just below them: never out of the array. */
    for (double v = 1; v < 1e14; v *= 1.0001 + v / 1e6) {
        st_histogram_add(&h, v);
        st_histogram_add(&h, nextafter(v, 0));
    }
    uint64_t total = 0;
    for (int i = 0; i < ST_HISTOGRAM_BUCKETS; i++) {
        total += h.buckets[i];
    }
    assert_int_equal(total, h.count);
}

static void test_format(void **state)
{
    (void)state;
    st_histogram h;
    st_histogram_clear(&h);
    for (int i = 0; i < 1000; i++) {
        st_histogram_add(&h, i % 97 + 1);
    }
    char big[16384];
    st_histogram_format(&h, big, sizeof(big));
    assert_non_null(strstr(big, "Count: 1000"));
    assert_non_null(strstr(big, "P99"));
    assert_non_null(strstr(big, "#"));
    assert_true(strlen(big) < sizeof(big) - 1);
    /* Small buffers: truncated, always terminated, never overrun (ASan checks). */
    for (size_t cap = 1; cap < 200; cap += 7) {
        char *small = test_malloc(cap);
        st_histogram_format(&h, small, cap);
        assert_true(strlen(small) < cap);
        assert_memory_equal(small, big, strlen(small));
        test_free(small);
    }
    st_histogram_format(&h, NULL, 0); /* cap 0 writes nothing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_exact_stats),
        cmocka_unit_test(test_percentile_accuracy),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_extreme_values),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
