/* latency.h — the per-thread latency histogram of strata-bench: log-linear buckets over nanosecond
 * values (exact below 32 ns, then 32 buckets per power of two, i.e. <= 3.1% wide), so adding a
 * sample is a count-leading-zeros, a shift and an increment (~1 ns).  strata's st_histogram
 * (src/util/histogram.h) computes log() and exp() per sample, which costs more than a whole
 * sub-microsecond operation (an iterator step) and would distort exactly the workloads where
 * engines differ least.  Values at or above 2^42 ns (~73 min) share the last bucket.
 * Not thread-safe: one per thread, merged afterwards. */
#ifndef STRATA_BENCH_LATENCY_H
#define STRATA_BENCH_LATENCY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_HIST_SUB_BITS 5
#define BENCH_HIST_SUB (1 << BENCH_HIST_SUB_BITS)
#define BENCH_HIST_MAX_EXP 42
#define BENCH_HIST_BUCKETS ((BENCH_HIST_MAX_EXP - BENCH_HIST_SUB_BITS + 2) * BENCH_HIST_SUB)

typedef struct bench_hist {
    uint64_t count;
    uint64_t min, max; /* exact, nanoseconds */
    double sum;
    uint64_t buckets[BENCH_HIST_BUCKETS];
} bench_hist;

static inline int bench_hist_index(uint64_t v)
{
    if (v < BENCH_HIST_SUB) {
        return (int)v;
    }
    int e = 63 - __builtin_clzll(v);
    if (e > BENCH_HIST_MAX_EXP) {
        return BENCH_HIST_BUCKETS - 1;
    }
    return (e - BENCH_HIST_SUB_BITS + 1) * BENCH_HIST_SUB +
           (int)((v >> (e - BENCH_HIST_SUB_BITS)) & (BENCH_HIST_SUB - 1));
}

static inline void bench_hist_add(bench_hist *h, uint64_t ns)
{
    if (h->count == 0 || ns < h->min) {
        h->min = ns;
    }
    if (ns > h->max) {
        h->max = ns;
    }
    h->count++;
    h->sum += (double)ns;
    h->buckets[bench_hist_index(ns)]++;
}

void bench_hist_clear(bench_hist *h);
void bench_hist_merge(bench_hist *dst, const bench_hist *src);
/* Lower bound and width (ns) of bucket i. */
void bench_hist_bucket(int i, double *lo, double *width);
/* Value (ns) below which p percent (0..100) of the samples fall, interpolated inside its bucket
 * and clamped to [min, max]; 0 when empty. */
double bench_hist_percentile(const bench_hist *h, double p);
double bench_hist_mean(const bench_hist *h);
/* A table per power of two: range, count, percent, cumulative percent, bar. */
void bench_hist_print(const bench_hist *h, FILE *out);

#endif
