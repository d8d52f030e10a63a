/* json.c — the --json document: the settings, every run with its per-workload figures and totals,
 * and a summary of medians and ratios.  Unknown figures are null; times are microseconds, sizes
 * bytes.  The layout is described in bench/README.md ("JSON output"); tests/bench parses it. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "report.h"

#define JW_DEPTH 16

/* A minimal streaming writer that places the commas: every value knows whether it is the first
 * inside its container. */
typedef struct jw {
    FILE *f;
    int depth;
    int first[JW_DEPTH];
} jw;

static void jw_string(jw *w, const char *s)
{
    fputc('"', w->f);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            fprintf(w->f, "\\%c", *p);
        } else if (*p < 0x20) {
            fprintf(w->f, "\\u%04x", *p);
        } else {
            fputc(*p, w->f);
        }
    }
    fputc('"', w->f);
}

/* Separator and "key": before a value; key is NULL inside arrays. */
static void jw_key(jw *w, const char *key)
{
    if (!w->first[w->depth]) {
        fputc(',', w->f);
    }
    w->first[w->depth] = 0;
    if (key != NULL) {
        jw_string(w, key);
        fputc(':', w->f);
    }
}

static void jw_open(jw *w, const char *key, char c)
{
    jw_key(w, key);
    fputc(c, w->f);
    if (w->depth + 1 < JW_DEPTH) {
        w->depth++;
    }
    w->first[w->depth] = 1;
}

static void jw_close(jw *w, char c)
{
    fputc(c, w->f);
    w->depth--;
}

static void jw_str(jw *w, const char *key, const char *v)
{
    jw_key(w, key);
    if (v == NULL) {
        fputs("null", w->f);
    } else {
        jw_string(w, v);
    }
}

/* A number; NaN, infinities and (when neg_null) negative values are written as null. */
static void jw_num(jw *w, const char *key, double v, int neg_null)
{
    jw_key(w, key);
    if (!isfinite(v) || (neg_null && v < 0)) {
        fputs("null", w->f);
    } else {
        fprintf(w->f, "%.10g", v);
    }
}

static void jw_int(jw *w, const char *key, int64_t v)
{
    jw_key(w, key);
    fprintf(w->f, "%" PRId64, v);
}

static void jw_uint(jw *w, const char *key, uint64_t v)
{
    jw_key(w, key);
    fprintf(w->f, "%" PRIu64, v);
}

static void jw_bool(jw *w, const char *key, int v)
{
    jw_key(w, key);
    fputs(v ? "true" : "false", w->f);
}

static void write_config(jw *w, const bench_config *c)
{
    jw_open(w, "config", '{');
    jw_str(w, "benchmarks", c->benchmarks);
    jw_str(w, "db", c->db);
    jw_int(w, "num", c->num);
    jw_int(w, "reads", c->reads < 0 ? c->num : c->reads);
    jw_int(w, "key_size", c->key_size);
    jw_int(w, "value_size", c->value_size);
    jw_num(w, "compression_ratio", c->compression_ratio, 0);
    jw_str(w, "compression", bench_compression_name(c->compression));
    jw_int(w, "cache_size", c->cache_size);
    jw_int(w, "write_buffer_size", c->write_buffer_size);
    jw_int(w, "block_size", c->block_size);
    jw_int(w, "max_file_size", c->max_file_size);
    jw_str(w, "preset", c->preset);
    jw_int(w, "bloom_bits", c->bloom_bits);
    jw_int(w, "threads", c->threads);
    jw_int(w, "max_background_jobs", c->max_background_jobs);
    jw_int(w, "seek_nexts", c->seek_nexts);
    jw_int(w, "batch_size", c->batch_size);
    jw_int(w, "cf", c->cf);
    jw_bool(w, "use_existing_db", c->use_existing_db);
    jw_bool(w, "verify_checksums", c->verify_checksums);
    jw_bool(w, "pinned_reads", c->pinned_reads);
    jw_int(w, "repeats", c->repeats);
    jw_uint(w, "seed", c->seed);
    jw_close(w, '}');
}

static void write_wl(jw *w, const bench_wl_result *r)
{
    jw_open(w, NULL, '{');
    jw_str(w, "name", r->name);
    jw_bool(w, "skipped", r->skipped);
    jw_str(w, "skip_reason", r->skipped ? bench_skip_reason(r->skipped) : NULL);
    jw_int(w, "ops", (int64_t)r->ops);
    jw_int(w, "found", (int64_t)r->found);
    jw_int(w, "retries", (int64_t)r->retries);
    jw_int(w, "bytes", (int64_t)r->bytes);
    jw_int(w, "user_bytes_written", (int64_t)r->user_bytes_written);
    jw_num(w, "seconds", r->wall_seconds, 0);
    jw_num(w, "micros_per_op", bench_wl_micros_per_op(r), 0);
    jw_num(w, "ops_per_sec", bench_wl_ops_per_sec(r), 0);
    jw_num(w, "mb_per_sec", bench_wl_mb_per_sec(r), 0);
    jw_num(w, "p50_us", bench_wl_latency_us(r, 50), 0);
    jw_num(w, "p99_us", bench_wl_latency_us(r, 99), 0);
    jw_num(w, "p999_us", bench_wl_latency_us(r, 99.9), 0);
    jw_num(w, "max_us", (double)r->hist.max / 1000.0, 0);
    jw_num(w, "disk_space", (double)r->disk_space, 1);
    jw_close(w, '}');
}

static void write_run(jw *w, const bench_run_result *r)
{
    jw_open(w, NULL, '{');
    jw_str(w, "engine", r->engine);
    jw_int(w, "repeat", r->repeat + 1);
    jw_bool(w, "ok", r->rc == 0);
    jw_str(w, "error", r->rc == 0 ? NULL : r->error);
    jw_num(w, "write_amp", bench_run_write_amp(r), 1);
    jw_int(w, "user_bytes_written", (int64_t)r->user_bytes_written);
    jw_num(w, "disk_bytes_written", (double)r->disk_bytes_written, 1);
    jw_num(w, "disk_space", (double)r->disk_space, 1);
    jw_num(w, "peak_rss", (double)r->peak_rss, 1);
    jw_num(w, "stall_micros", (double)r->stall_micros, 1);
    jw_open(w, "workloads", '[');
    for (int i = 0; i < r->nwl; i++) {
        write_wl(w, &r->wl[i]);
    }
    jw_close(w, ']');
    jw_close(w, '}');
}

static void write_wl_median(jw *w, const char *key, const bench_wl_median *m)
{
    jw_open(w, key, '{');
    jw_int(w, "runs", m->runs);
    jw_bool(w, "skipped", m->skipped);
    jw_str(w, "skip_reason", m->skipped ? bench_skip_reason(m->skipped) : NULL);
    int none = m->runs == 0;
    jw_num(w, "micros_per_op", none ? NAN : m->micros_per_op, 0);
    jw_num(w, "ops_per_sec", none ? NAN : m->ops_per_sec, 0);
    jw_num(w, "mb_per_sec", none ? NAN : m->mb_per_sec, 0);
    jw_num(w, "p50_us", none ? NAN : m->p50_us, 0);
    jw_num(w, "p99_us", none ? NAN : m->p99_us, 0);
    jw_num(w, "p999_us", none ? NAN : m->p999_us, 0);
    jw_num(w, "ops", none ? NAN : m->ops, 0);
    jw_num(w, "found", none ? NAN : m->found, 0);
    jw_num(w, "of_sync_ceiling", m->of_sync_ceiling, 1);
    jw_close(w, '}');
}

static void write_summary_wl(jw *w, const bench_results *res, int wl)
{
    jw_open(w, NULL, '{');
    jw_str(w, "name", res->names[wl]);
    jw_int(w, "index", wl);
    jw_open(w, "engines", '{');
    for (int e = 0; e < res->nengines; e++) {
        bench_wl_median m;
        bench_median_wl(res, e, wl, &m);
        write_wl_median(w, res->engines[e]->name, &m);
    }
    jw_close(w, '}');
    int best = -1;
    double ratio = bench_ratio(res, wl, &best);
    jw_str(w, "best_other", best >= 0 ? res->engines[best]->name : NULL);
    jw_num(w, "ratio", ratio, 1);
    jw_open(w, "drop_in_ratios", '{');
    for (int e = 0; e < res->nengines; e++) {
        int target = -1;
        double r = bench_dropin_ratio(res, wl, e, &target);
        if (target >= 0) {
            jw_num(w, res->engines[e]->name, r, 1);
        }
    }
    jw_close(w, '}');
    jw_close(w, '}');
}

static void write_summary(jw *w, const bench_results *res)
{
    jw_open(w, "summary", '{');
    jw_open(w, "workloads", '[');
    for (int wl = 0; wl < res->nwl; wl++) {
        write_summary_wl(w, res, wl);
    }
    jw_close(w, ']');
    jw_open(w, "engines", '{');
    for (int e = 0; e < res->nengines; e++) {
        bench_engine_median m;
        bench_median_engine(res, e, &m);
        jw_open(w, res->engines[e]->name, '{');
        jw_int(w, "runs", m.runs);
        jw_num(w, "write_amp", m.write_amp, 1);
        jw_num(w, "user_bytes_written", m.user_bytes_written, 1);
        jw_num(w, "disk_bytes_written", m.disk_bytes_written, 1);
        jw_num(w, "disk_space", m.disk_space, 1);
        jw_num(w, "peak_rss", m.peak_rss, 1);
        jw_num(w, "stall_micros", m.stall_micros, 1);
        jw_close(w, '}');
    }
    jw_close(w, '}');
    jw_close(w, '}');
}

void bench_report_json(const bench_results *res, FILE *out)
{
    jw w = {.f = out, .depth = 0, .first = {1}};
    jw_open(&w, NULL, '{');
    jw_str(&w, "tool", "strata-bench");
    jw_int(&w, "format_version", 1);
    write_config(&w, res->cfg);
    jw_open(&w, "engines", '[');
    for (int e = 0; e < res->nengines; e++) {
        jw_str(&w, NULL, res->engines[e]->name);
    }
    jw_close(&w, ']');
    int base = bench_baseline_index(res);
    jw_str(&w, "baseline", base >= 0 ? res->cfg->baseline : NULL);
    jw_str(&w, "ratio_definition",
           "baseline ops/s divided by the best other engine's ops/s; > 1 means the baseline "
           "is faster; drop-in engines (strata through another engine's API) are not counted "
           "as others");
    jw_str(&w, "drop_in_ratio_definition",
           "per workload, a drop-in engine's ops/s divided by the ops/s of the engine whose API "
           "it imitates (strata-leveldb / leveldb); > 1 means the drop-in is faster");
    jw_open(&w, "runs", '[');
    for (int i = 0; i < res->nruns; i++) {
        write_run(&w, &res->runs[i]);
    }
    jw_close(&w, ']');
    write_summary(&w, res);
    jw_close(&w, '}');
    fputc('\n', out);
    fflush(out);
}
