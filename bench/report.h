/* report.h — turning run results into numbers people and programs read: medians across repeats
 * (summary.c), the text table (report.c) and the JSON document (json.c).  Runs are in schedule
 * order: runs[rep * nengines + e]. */
#ifndef STRATA_BENCH_REPORT_H
#define STRATA_BENCH_REPORT_H

#include <stdio.h>

#include "bench.h"
#include "engine.h"

/* All results of one invocation. */
typedef struct bench_results {
    const bench_config *cfg;
    const bench_engine *const *engines;
    int nengines;
    const bench_run_result *runs;
    int nruns;
    char names[BENCH_MAX_WORKLOADS][32]; /* the --benchmarks list */
    int nwl;
} bench_results;

/* Medians of one engine on one workload over the runs that completed it. */
typedef struct bench_wl_median {
    int runs; /* 0 when no run completed it (every figure below is then 0) */
    int skipped; /* BENCH_SKIP_* of a run that skipped it, else 0 */
    double micros_per_op, ops_per_sec, mb_per_sec, p50_us, p99_us, p999_us;
    double found, ops;
    /* fillsync only: median over runs of its ops/s / the same run's fdatasync ops/s (the machine's
     * single-writer sync ceiling); -1 when the list has no fdatasync. */
    double of_sync_ceiling;
} bench_wl_median;

/* Medians of the run totals of one engine; -1 where no run had the figure. */
typedef struct bench_engine_median {
    int runs;
    double write_amp, user_bytes_written, disk_bytes_written, disk_space, peak_rss, stall_micros;
} bench_engine_median;

void bench_median_wl(const bench_results *res, int engine, int wl, bench_wl_median *out);
void bench_median_engine(const bench_results *res, int engine, bench_engine_median *out);
/* Index of the --baseline engine among res->engines, or -1 (also when it is the only one). */
int bench_baseline_index(const bench_results *res);
/* Baseline ops/s over the best other engine's ops/s on workload wl (-1 when undefined), and the
 * index of that best other engine in *best.  Drop-in engines (bench_engine.drop_in_for) other
 * than the baseline are not candidates: they are strata itself. */
double bench_ratio(const bench_results *res, int wl, int *best);
/* For a drop-in engine e: its ops/s over that of the engine it imitates on workload wl, with that
 * engine's index in *target; -1 when undefined (a workload either did not complete, or a machine
 * reference).  *target is -1 when e is no drop-in or its counterpart is not in this compare. */
double bench_dropin_ratio(const bench_results *res, int wl, int e, int *target);
/* Median of n values (sorts v in place); 0 when n == 0. */
double bench_median(double *v, int n);

void bench_report_text(const bench_results *res, FILE *out);
void bench_report_json(const bench_results *res, FILE *out);

#endif
