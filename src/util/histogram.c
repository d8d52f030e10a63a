/* histogram.c — latency histogram with geometric buckets.
 *
 * Bucket 0 holds values below 1; bucket i (1 <= i < ST_HISTOGRAM_BUCKETS) holds values in
 * [RATIO^(i-1), RATIO^i), with RATIO chosen so that the last finite bound is 1e13 (enough for
 * nanoseconds up to hours); the last bucket also takes everything above.  Each bucket spans ~21%,
 * and percentiles interpolate linearly inside the bucket and are clamped to the observed
 * [min, max], which in practice puts them within a few percent.  min/max/sum/sum_sq are exact. */
#include "util/histogram.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/compiler.h"

#define LAST_BOUND_LOG10 13.0

static double log_ratio(void)
{
    return LAST_BOUND_LOG10 * log(10.0) / (ST_HISTOGRAM_BUCKETS - 2);
}

/* Upper bound (exclusive) of bucket i; bucket 0 ends at 1. */
static double bucket_limit(int i)
{
    if (i >= ST_HISTOGRAM_BUCKETS - 1) {
        return HUGE_VAL;
    }
    return exp(i * log_ratio());
}

static double bucket_start(int i)
{
    return i == 0 ? 0.0 : bucket_limit(i - 1);
}

static int bucket_for(double v)
{
    if (!(v >= 1.0)) {
        return 0; /* also NaN and negatives */
    }
    int i = (int)(log(v) / log_ratio()) + 1;
    if (i >= ST_HISTOGRAM_BUCKETS) {
        return ST_HISTOGRAM_BUCKETS - 1;
    }
    /* log() rounding may put v one bucket off near a bound; fix it up exactly. */
    while (i > 1 && v < bucket_start(i)) {
        i--;
    }
    while (i < ST_HISTOGRAM_BUCKETS - 1 && v >= bucket_limit(i)) {
        i++;
    }
    return i;
}

void st_histogram_clear(st_histogram *h)
{
    memset(h, 0, sizeof(*h));
}

void st_histogram_add(st_histogram *h, double value)
{
    if (h->count == 0 || value < h->min) {
        h->min = value;
    }
    if (h->count == 0 || value > h->max) {
        h->max = value;
    }
    h->count++;
    h->sum += value;
    h->sum_sq += value * value;
    h->buckets[bucket_for(value)]++;
}

void st_histogram_merge(st_histogram *dst, const st_histogram *src)
{
    if (src->count == 0) {
        return;
    }
    if (dst->count == 0 || src->min < dst->min) {
        dst->min = src->min;
    }
    if (dst->count == 0 || src->max > dst->max) {
        dst->max = src->max;
    }
    dst->count += src->count;
    dst->sum += src->sum;
    dst->sum_sq += src->sum_sq;
    for (int i = 0; i < ST_HISTOGRAM_BUCKETS; i++) {
        dst->buckets[i] += src->buckets[i];
    }
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

double st_histogram_percentile(const st_histogram *h, double p)
{
    if (h->count == 0) {
        return 0.0;
    }
    double target = (double)h->count * clamp(p, 0.0, 100.0) / 100.0;
    double cum = 0;
    for (int i = 0; i < ST_HISTOGRAM_BUCKETS; i++) {
        double n = (double)h->buckets[i];
        if (n == 0 || cum + n < target) {
            cum += n;
            continue;
        }
        /* Bucket 0 also holds values below 0, so its real lower bound is the minimum. */
        double lo = i == 0 ? h->min : clamp(bucket_start(i), h->min, h->max);
        double hi = clamp(bucket_limit(i), h->min, h->max);
        return lo + (hi - lo) * ((target - cum) / n);
    }
    return h->max;
}

double st_histogram_mean(const st_histogram *h)
{
    return h->count ? h->sum / (double)h->count : 0.0;
}

double st_histogram_stddev(const st_histogram *h)
{
    if (h->count == 0) {
        return 0.0;
    }
    double n = (double)h->count;
    double var = (h->sum_sq * n - h->sum * h->sum) / (n * n);
    return var > 0 ? sqrt(var) : 0.0;
}

/* Appends to buf at *off, keeping NUL termination; silently truncates when full. */
static void put(char *buf, size_t cap, size_t *off, const char *fmt, ...) ST_PRINTF(4, 5);

static void put(char *buf, size_t cap, size_t *off, const char *fmt, ...)
{
    if (*off >= cap) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *off, cap - *off, fmt, ap);
    va_end(ap);
    if (n > 0) {
        *off = ((size_t)n >= cap - *off) ? cap : *off + (size_t)n;
    }
}

static void format_bucket(const st_histogram *h, int i, double *cum, char *buf, size_t cap,
                          size_t *off)
{
    double pct = 100.0 * (double)h->buckets[i] / (double)h->count;
    *cum += pct;
    put(buf, cap, off, "[ %10.4g, %10.4g ) %10llu %7.3f%% %7.3f%% ", bucket_start(i),
        bucket_limit(i), (unsigned long long)h->buckets[i], pct, *cum);
    int marks = (int)(20.0 * pct / 100.0 + 0.5);
    for (int m = 0; m < marks; m++) {
        put(buf, cap, off, "#");
    }
    put(buf, cap, off, "\n");
}

void st_histogram_format(const st_histogram *h, char *buf, size_t cap)
{
    size_t off = 0;
    if (cap == 0) {
        return;
    }
    buf[0] = '\0';
    put(buf, cap, &off, "Count: %llu  Average: %.4f  StdDev: %.2f\n",
        (unsigned long long)h->count, st_histogram_mean(h), st_histogram_stddev(h));
    put(buf, cap, &off, "Min: %.4f  Median: %.4f  Max: %.4f\n", h->count ? h->min : 0.0,
        st_histogram_percentile(h, 50), h->count ? h->max : 0.0);
    put(buf, cap, &off, "Percentiles: P50: %.2f P75: %.2f P99: %.2f P99.9: %.2f P99.99: %.2f\n",
        st_histogram_percentile(h, 50), st_histogram_percentile(h, 75),
        st_histogram_percentile(h, 99), st_histogram_percentile(h, 99.9),
        st_histogram_percentile(h, 99.99));
    if (h->count == 0) {
        return;
    }
    put(buf, cap, &off, "------------------------------------------------------\n");
    double cum = 0;
    for (int i = 0; i < ST_HISTOGRAM_BUCKETS; i++) {
        if (h->buckets[i]) {
            format_bucket(h, i, &cum, buf, cap, &off);
        }
    }
}
