/* latency.c — percentiles and printing for bench_hist (see latency.h for the bucket layout). */
#include "latency.h"

#include <string.h>

void bench_hist_clear(bench_hist *h)
{
    memset(h, 0, sizeof(*h));
}

void bench_hist_merge(bench_hist *dst, const bench_hist *src)
{
    if (src->count == 0) {
        return;
    }
    if (dst->count == 0 || src->min < dst->min) {
        dst->min = src->min;
    }
    if (src->max > dst->max) {
        dst->max = src->max;
    }
    dst->count += src->count;
    dst->sum += src->sum;
    for (int i = 0; i < BENCH_HIST_BUCKETS; i++) {
        dst->buckets[i] += src->buckets[i];
    }
}

void bench_hist_bucket(int i, double *lo, double *width)
{
    if (i < BENCH_HIST_SUB) {
        *lo = i;
        *width = 1;
        return;
    }
    int e = i / BENCH_HIST_SUB + BENCH_HIST_SUB_BITS - 1;
    int sub = i % BENCH_HIST_SUB;
    *lo = (double)((uint64_t)(BENCH_HIST_SUB + sub) << (e - BENCH_HIST_SUB_BITS));
    *width = (double)((uint64_t)1 << (e - BENCH_HIST_SUB_BITS));
}

double bench_hist_percentile(const bench_hist *h, double p)
{
    if (h->count == 0) {
        return 0;
    }
    double target = (double)h->count * p / 100.0;
    double cum = 0;
    double v = (double)h->max;
    for (int i = 0; i < BENCH_HIST_BUCKETS; i++) {
        double c = (double)h->buckets[i];
        if (c > 0 && cum + c >= target) {
            double lo;
            double width;
            bench_hist_bucket(i, &lo, &width);
            v = lo + width * (target - cum) / c;
            break;
        }
        cum += c;
    }
    if (v < (double)h->min) {
        v = (double)h->min;
    }
    return v > (double)h->max ? (double)h->max : v;
}

double bench_hist_mean(const bench_hist *h)
{
    return h->count > 0 ? h->sum / (double)h->count : 0;
}

/* Samples in [2^e, 2^(e+1)) (e = -1 stands for the value 0). */
static uint64_t octave_count(const bench_hist *h, int first, int last)
{
    uint64_t n = 0;
    for (int i = first; i <= last; i++) {
        n += h->buckets[i];
    }
    return n;
}

void bench_hist_print(const bench_hist *h, FILE *out)
{
    fprintf(out, "count %llu  min %llu  mean %.1f  max %llu  p50 %.1f  p99 %.1f  p99.9 %.1f\n",
            (unsigned long long)h->count, (unsigned long long)h->min, bench_hist_mean(h),
            (unsigned long long)h->max, bench_hist_percentile(h, 50), bench_hist_percentile(h, 99),
            bench_hist_percentile(h, 99.9));
    double cum = 0;
    for (int e = 0; e <= BENCH_HIST_MAX_EXP && h->count > 0; e++) {
        int first = bench_hist_index((uint64_t)1 << e);
        int last = e == BENCH_HIST_MAX_EXP ? BENCH_HIST_BUCKETS - 1
                                           : bench_hist_index(((uint64_t)1 << (e + 1)) - 1);
        uint64_t n = octave_count(h, e == 0 ? 0 : first, last);
        if (n == 0) {
            continue;
        }
        double pct = 100.0 * (double)n / (double)h->count;
        cum += pct;
        char bar[41];
        int len = (int)(pct * 40 / 100 + 0.5);
        memset(bar, '#', (size_t)len);
        bar[len] = '\0';
        fprintf(out, "[%13llu, %13llu) %12llu %7.3f%% %8.3f%% %s\n", e == 0 ? 0ULL : 1ULL << e,
                1ULL << (e + 1), (unsigned long long)n, pct, cum, bar);
    }
}
