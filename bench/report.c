/* report.c — the human-readable report: the settings, one block per workload with a row per engine
 * (medians over the repeats) and the ratio row, then a row of run totals per engine, then the runs
 * that failed.  bench/README.md explains every column. */
#include "report.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "workloads.h"

/* Formats a byte count with a binary unit into buf ("n/a" when negative). */
static const char *fmt_bytes(double b, char *buf, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (b < 0) {
        snprintf(buf, cap, "n/a");
        return buf;
    }
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    if (u == 0) {
        snprintf(buf, cap, "%.0f B", b);
    } else {
        snprintf(buf, cap, "%.1f %s", b, units[u]);
    }
    return buf;
}

static void print_settings(const bench_results *res, FILE *out)
{
    const bench_config *c = res->cfg;
    fprintf(out, "strata-bench: engines");
    for (int e = 0; e < res->nengines; e++) {
        fprintf(out, "%s %s", e ? "," : "", res->engines[e]->name);
    }
    fprintf(out, "; %d run%s each, %s\n", c->repeats, c->repeats > 1 ? "s" : "",
            c->repeats > 1 ? "medians shown" : "single values shown");
    fprintf(out,
            "  num=%" PRId64 " reads=%" PRId64
            " key_size=%d value_size=%d "
            "compression_ratio=%.2f compression=%s\n",
            c->num, c->reads < 0 ? c->num : c->reads, c->key_size, c->value_size,
            c->compression_ratio, bench_compression_name(c->compression));
    fprintf(out,
            "  write_buffer_size=%" PRId64 " block_size=%" PRId64 " cache_size=%" PRId64
            " bloom_bits=%d threads=%d max_background_jobs=%d seek_nexts=%d\n",
            c->write_buffer_size, c->block_size, c->cache_size, c->bloom_bits, c->threads,
            c->max_background_jobs, c->seek_nexts);
    char mfs[32];
    snprintf(mfs, sizeof(mfs), "%" PRId64, c->max_file_size);
    fprintf(out, "  max_file_size=%s verify_checksums=%d preset=%s\n",
            c->max_file_size > 0 ? mfs : "engine-default", c->verify_checksums,
            c->preset != NULL ? c->preset : "none");
    if (bench_baseline_index(res) >= 0) {
        fprintf(out,
                "ratio = %s ops/s / best other engine's ops/s (> 1: %s is faster; for micros/op "
                "the inverse, other / %s)\n",
                c->baseline, c->baseline, c->baseline);
    }
    for (int e = 0; e < res->nengines; e++) {
        if (res->engines[e]->drop_in_for != NULL) {
            fprintf(out,
                    "%s is strata through %s's API: not a rival in the ratio; its drop-in ratio "
                    "is %s ops/s / %s ops/s\n",
                    res->engines[e]->name, res->engines[e]->drop_in_for, res->engines[e]->name,
                    res->engines[e]->drop_in_for);
        }
    }
    fprintf(out, "\n%-18s %-14s %11s %12s %9s %9s %9s %9s %11s\n", "workload", "engine", "micros/op",
            "ops/s", "MB/s", "p50(us)", "p99(us)", "p99.9(us)", "found");
}

static void print_engine_row(const bench_results *res, int e, int wl, FILE *out)
{
    bench_wl_median m;
    bench_median_wl(res, e, wl, &m);
    const char *label = e == 0 ? res->names[wl] : "";
    if (m.runs == 0) {
        if (m.skipped) {
            fprintf(out, "%-18s %-14s skipped (%s)\n", label, res->engines[e]->name,
                    bench_skip_reason(m.skipped));
        } else {
            fprintf(out, "%-18s %-14s no result (run failed)\n", label, res->engines[e]->name);
        }
        return;
    }
    fprintf(out, "%-18s %-14s %11.3f %12.0f %9.1f %9.2f %9.2f %9.2f %11.0f\n", label,
            res->engines[e]->name, m.micros_per_op, m.ops_per_sec, m.mb_per_sec, m.p50_us, m.p99_us,
            m.p999_us, m.found);
}

/* For fillsync: each engine's rate as a fraction of the machine's sync ceiling (fdatasync row). */
static void print_sync_ceiling(const bench_results *res, int wl, FILE *out)
{
    int printed = 0;
    for (int e = 0; e < res->nengines; e++) {
        bench_wl_median m;
        bench_median_wl(res, e, wl, &m);
        if (m.of_sync_ceiling >= 0) {
            fprintf(out, "%s%s %.0f%%", printed ? ", " : "                   fdatasync ceiling: ",
                    res->engines[e]->name, m.of_sync_ceiling * 100);
            printed = 1;
        }
    }
    if (printed) {
        fprintf(out, "\n");
    }
}

static void print_ratio(const bench_results *res, int wl, FILE *out)
{
    int best = -1;
    double ratio = bench_ratio(res, wl, &best);
    if (ratio >= 0) {
        fprintf(out, "%-18s %-14s %10.2fx vs %s\n", "", "ratio", ratio, res->engines[best]->name);
    } else if (bench_workload_reference(res->names[wl])) {
        fprintf(out, "%-18s %-14s %11s\n", "", "ratio", "n/a (machine reference, no engine)");
    } else if (bench_baseline_index(res) >= 0) {
        fprintf(out, "%-18s %-14s %11s\n", "", "ratio", "n/a");
    }
}

/* One line per drop-in engine whose counterpart ran too: "strata-leveldb / leveldb  0.93x". */
static void print_dropin_ratios(const bench_results *res, int wl, FILE *out)
{
    for (int e = 0; e < res->nengines; e++) {
        int target = -1;
        double r = bench_dropin_ratio(res, wl, e, &target);
        if (target < 0 || bench_workload_reference(res->names[wl])) {
            continue;
        }
        char label[64];
        snprintf(label, sizeof(label), "%s / %s", res->engines[e]->name,
                 res->engines[target]->name);
        if (r >= 0) {
            fprintf(out, "%-18s %-24s %.2fx (drop-in ratio)\n", "", label, r);
        } else {
            fprintf(out, "%-18s %-24s n/a (drop-in ratio)\n", "", label);
        }
    }
}

static void print_workloads(const bench_results *res, FILE *out)
{
    for (int wl = 0; wl < res->nwl; wl++) {
        for (int e = 0; e < res->nengines; e++) {
            print_engine_row(res, e, wl, out);
        }
        print_ratio(res, wl, out);
        print_dropin_ratios(res, wl, out);
        print_sync_ceiling(res, wl, out);
    }
}

static void print_totals(const bench_results *res, FILE *out)
{
    fprintf(out, "\n%-14s %9s %13s %13s %13s %11s %10s\n", "engine", "write-amp", "disk-written",
            "user-written", "space-on-disk", "peak-RSS", "stall(s)");
    for (int e = 0; e < res->nengines; e++) {
        bench_engine_median m;
        bench_median_engine(res, e, &m);
        char wa[32];
        char st[32];
        char b1[32];
        char b2[32];
        char b3[32];
        char b4[32];
        snprintf(wa, sizeof(wa), "%.2f", m.write_amp);
        snprintf(st, sizeof(st), "%.3f", m.stall_micros / 1e6);
        if (m.write_amp < 0) {
            snprintf(wa, sizeof(wa), "n/a");
        }
        if (m.stall_micros < 0) {
            snprintf(st, sizeof(st), "n/a");
        }
        fprintf(out, "%-14s %9s %13s %13s %13s %11s %10s\n", res->engines[e]->name, wa,
                fmt_bytes(m.disk_bytes_written, b1, sizeof(b1)),
                fmt_bytes(m.user_bytes_written, b2, sizeof(b2)),
                fmt_bytes(m.disk_space, b3, sizeof(b3)), fmt_bytes(m.peak_rss, b4, sizeof(b4)), st);
    }
}

static void print_failures(const bench_results *res, FILE *out)
{
    for (int i = 0; i < res->nruns; i++) {
        const bench_run_result *r = &res->runs[i];
        if (r->rc != 0) {
            fprintf(out, "FAILED: %s run %d: %s\n", r->engine, r->repeat + 1, r->error);
        }
    }
}

/* The merged latency histogram of every completed run, per engine and workload. */
static void print_histograms(const bench_results *res, FILE *out)
{
    bench_hist *h = st_malloc(sizeof(*h));
    if (h == NULL) {
        return;
    }
    for (int wl = 0; wl < res->nwl; wl++) {
        for (int e = 0; e < res->nengines; e++) {
            bench_hist_clear(h);
            for (int i = e; i < res->nruns; i += res->nengines) {
                if (wl < res->runs[i].nwl) {
                    bench_hist_merge(h, &res->runs[i].wl[wl].hist);
                }
            }
            fprintf(out, "\nLatency of %s on %s, all runs (nanoseconds):\n", res->names[wl],
                    res->engines[e]->name);
            bench_hist_print(h, out);
        }
    }
    st_free(h);
}

void bench_report_text(const bench_results *res, FILE *out)
{
    print_settings(res, out);
    print_workloads(res, out);
    print_totals(res, out);
    if (res->cfg->histogram) {
        print_histograms(res, out);
    }
    print_failures(res, out);
    fflush(out);
}
