/* histogram.h — latency histogram with exponential buckets (~1.5% resolution) for benchmarks and
 * statistics: count, min, max, mean, stddev, percentiles.  Not thread-safe; merge per-thread
 * histograms with st_histogram_merge. */
#ifndef STRATA_UTIL_HISTOGRAM_H
#define STRATA_UTIL_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define ST_HISTOGRAM_BUCKETS 160

typedef struct st_histogram {
    double min, max, sum, sum_sq;
    uint64_t count;
    uint64_t buckets[ST_HISTOGRAM_BUCKETS];
} st_histogram;

void st_histogram_clear(st_histogram *h);
void st_histogram_add(st_histogram *h, double value);
void st_histogram_merge(st_histogram *dst, const st_histogram *src);
double st_histogram_percentile(const st_histogram *h, double p); /* p in [0, 100] */
double st_histogram_mean(const st_histogram *h);
double st_histogram_stddev(const st_histogram *h);
/* Human-readable summary with percentiles and a bucket table into buf (always NUL-terminated). */
void st_histogram_format(const st_histogram *h, char *buf, size_t cap);

#endif
