/* summary.c — derived figures of a workload result and medians across repeated runs.
 *
 * micros/op is per thread (sum of the threads' durations / operations), as in db_bench; ops/s and
 * MB/s are aggregate (operations or bytes / wall time from the first thread's start to the last
 * one's finish).  A median uses every run that completed the workload, even one that failed later;
 * each figure's median is taken on its own (the median p99 need not come from the median run). */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util/alloc.h"
#include "workloads.h"

const char *bench_skip_reason(int skipped)
{
    switch (skipped) {
        case BENCH_SKIP_EXISTING_DB:
            return "--use_existing_db";
        case BENCH_SKIP_UNSUPPORTED:
            return "not supported by the engine";
        case BENCH_SKIP_NO_CF:
            return "no column families (--cf)";
        case BENCH_SKIP_CF_ITER:
            return "an iterator sees one family (--cf)";
        default:
            return "";
    }
}

double bench_wl_micros_per_op(const bench_wl_result *w)
{
    return w->ops > 0 ? w->thread_seconds * 1e6 / (double)w->ops : 0;
}

double bench_wl_ops_per_sec(const bench_wl_result *w)
{
    return w->wall_seconds > 0 ? (double)w->ops / w->wall_seconds : 0;
}

double bench_wl_mb_per_sec(const bench_wl_result *w)
{
    return w->wall_seconds > 0 ? (double)w->bytes / 1048576.0 / w->wall_seconds : 0;
}

double bench_wl_latency_us(const bench_wl_result *w, double p)
{
    return bench_hist_percentile(&w->hist, p) / 1000.0;
}

double bench_run_write_amp(const bench_run_result *r)
{
    if (r->disk_bytes_written < 0 || r->user_bytes_written == 0) {
        return -1;
    }
    return (double)r->disk_bytes_written / (double)r->user_bytes_written;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    if (n <= 0) {
        return 0;
    }
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef double (*wl_metric)(const bench_wl_result *w);

static double m_p50(const bench_wl_result *w)
{
    return bench_wl_latency_us(w, 50);
}

static double m_p99(const bench_wl_result *w)
{
    return bench_wl_latency_us(w, 99);
}

static double m_p999(const bench_wl_result *w)
{
    return bench_wl_latency_us(w, 99.9);
}

static double m_found(const bench_wl_result *w)
{
    return (double)w->found;
}

static double m_ops(const bench_wl_result *w)
{
    return (double)w->ops;
}

/* Completed results of workload wl by engine e, in run order; returns how many. */
static int completed(const bench_results *res, int e, int wl, const bench_wl_result **out)
{
    int n = 0;
    for (int i = e; i < res->nruns; i += res->nengines) {
        const bench_run_result *r = &res->runs[i];
        if (wl < r->nwl && !r->wl[wl].skipped) {
            out[n++] = &r->wl[wl];
        }
    }
    return n;
}

static double median_metric(const bench_wl_result *const *ws, int n, wl_metric m)
{
    double *v = st_calloc((size_t)n + 1, sizeof(*v));
    if (v == NULL) {
        return 0;
    }
    for (int i = 0; i < n; i++) {
        v[i] = m(ws[i]);
    }
    double x = bench_median(v, n);
    st_free(v);
    return x;
}

/* The BENCH_SKIP_* reason of the first run of engine e that skipped workload wl, else 0. */
static int any_skipped(const bench_results *res, int e, int wl)
{
    for (int i = e; i < res->nruns; i += res->nengines) {
        if (wl < res->runs[i].nwl && res->runs[i].wl[wl].skipped) {
            return res->runs[i].wl[wl].skipped;
        }
    }
    return 0;
}

/* Index of the fdatasync reference workload in the list, or -1. */
static int sync_reference(const bench_results *res)
{
    for (int i = 0; i < res->nwl; i++) {
        if (strcmp(res->names[i], "fdatasync") == 0) {
            return i;
        }
    }
    return -1;
}

/* Median over engine e's runs of fillsync ops/s (workload wl) / fdatasync ops/s (same run). */
static double sync_ceiling_fraction(const bench_results *res, int e, int wl)
{
    int ref = sync_reference(res);
    double v[1024];
    int n = 0;
    for (int i = e; ref >= 0 && i < res->nruns && n < 1024; i += res->nengines) {
        const bench_run_result *r = &res->runs[i];
        if (wl < r->nwl && ref < r->nwl && !r->wl[wl].skipped) {
            double ceiling = bench_wl_ops_per_sec(&r->wl[ref]);
            if (ceiling > 0) {
                v[n++] = bench_wl_ops_per_sec(&r->wl[wl]) / ceiling;
            }
        }
    }
    return n > 0 ? bench_median(v, n) : -1;
}

void bench_median_wl(const bench_results *res, int e, int wl, bench_wl_median *out)
{
    memset(out, 0, sizeof(*out));
    out->of_sync_ceiling = -1;
    if (strcmp(res->names[wl], "fillsync") == 0) {
        out->of_sync_ceiling = sync_ceiling_fraction(res, e, wl);
    }
    const bench_wl_result **ws = st_calloc((size_t)res->nruns + 1, sizeof(*ws));
    if (ws == NULL) {
        return;
    }
    int n = completed(res, e, wl, ws);
    out->runs = n;
    out->skipped = any_skipped(res, e, wl);
    if (n > 0) {
        out->micros_per_op = median_metric(ws, n, bench_wl_micros_per_op);
        out->ops_per_sec = median_metric(ws, n, bench_wl_ops_per_sec);
        out->mb_per_sec = median_metric(ws, n, bench_wl_mb_per_sec);
        out->p50_us = median_metric(ws, n, m_p50);
        out->p99_us = median_metric(ws, n, m_p99);
        out->p999_us = median_metric(ws, n, m_p999);
        out->found = median_metric(ws, n, m_found);
        out->ops = median_metric(ws, n, m_ops);
    }
    st_free(ws);
}

typedef double (*run_metric)(const bench_run_result *r);

static double r_write_amp(const bench_run_result *r)
{
    return bench_run_write_amp(r);
}

static double r_user(const bench_run_result *r)
{
    return (double)r->user_bytes_written;
}

static double r_disk(const bench_run_result *r)
{
    return (double)r->disk_bytes_written;
}

static double r_space(const bench_run_result *r)
{
    return (double)r->disk_space;
}

static double r_rss(const bench_run_result *r)
{
    return (double)r->peak_rss;
}

static double r_stall(const bench_run_result *r)
{
    return (double)r->stall_micros;
}

/* Median over engine e's runs of a figure, ignoring runs where it is negative (unknown). */
static double median_run(const bench_results *res, int e, run_metric m)
{
    double v[4096];
    int n = 0;
    for (int i = e; i < res->nruns && n < (int)(sizeof(v) / sizeof(v[0])); i += res->nengines) {
        double x = m(&res->runs[i]);
        if (x >= 0) {
            v[n++] = x;
        }
    }
    return n > 0 ? bench_median(v, n) : -1;
}

void bench_median_engine(const bench_results *res, int e, bench_engine_median *out)
{
    out->runs = 0;
    for (int i = e; i < res->nruns; i += res->nengines) {
        out->runs++;
    }
    out->write_amp = median_run(res, e, r_write_amp);
    out->user_bytes_written = median_run(res, e, r_user);
    out->disk_bytes_written = median_run(res, e, r_disk);
    out->disk_space = median_run(res, e, r_space);
    out->peak_rss = median_run(res, e, r_rss);
    out->stall_micros = median_run(res, e, r_stall);
}

int bench_baseline_index(const bench_results *res)
{
    if (res->nengines < 2 || res->cfg->baseline == NULL) {
        return -1;
    }
    for (int e = 0; e < res->nengines; e++) {
        if (strcmp(res->engines[e]->name, res->cfg->baseline) == 0) {
            return e;
        }
    }
    return -1;
}

double bench_ratio(const bench_results *res, int wl, int *best)
{
    int base = bench_baseline_index(res);
    *best = -1;
    if (base < 0 || bench_workload_reference(res->names[wl])) {
        return -1;
    }
    bench_wl_median b;
    bench_median_wl(res, base, wl, &b);
    double best_ops = 0;
    for (int e = 0; e < res->nengines; e++) {
        if (e == base || res->engines[e]->drop_in_for != NULL) {
            continue; /* a drop-in is strata itself, not a rival */
        }
        bench_wl_median m;
        bench_median_wl(res, e, wl, &m);
        if (m.runs > 0 && m.ops_per_sec > best_ops) {
            best_ops = m.ops_per_sec;
            *best = e;
        }
    }
    if (b.runs == 0 || *best < 0) {
        return -1;
    }
    return b.ops_per_sec / best_ops;
}

double bench_dropin_ratio(const bench_results *res, int wl, int e, int *target)
{
    *target = -1;
    const char *of = res->engines[e]->drop_in_for;
    if (of == NULL) {
        return -1;
    }
    for (int t = 0; t < res->nengines; t++) {
        if (strcmp(res->engines[t]->name, of) == 0) {
            *target = t;
        }
    }
    if (*target < 0 || bench_workload_reference(res->names[wl])) {
        return -1;
    }
    bench_wl_median a;
    bench_wl_median b;
    bench_median_wl(res, e, wl, &a);
    bench_median_wl(res, *target, wl, &b);
    return a.runs > 0 && b.runs > 0 && b.ops_per_sec > 0 ? a.ops_per_sec / b.ops_per_sec : -1;
}
