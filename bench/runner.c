/* runner.c — one run: one engine over the whole --benchmarks list in <db>/<engine>, measuring the
 * run totals around it (disk bytes written from /proc/self/io, the largest space on disk seen after
 * any workload or at close, peak RSS, the engine's stall time).  The directory is emptied first
 * unless --use_existing_db; workloads that need an empty DB (fill*) close, remove and reopen it
 * unless it is still untouched, and are skipped with --use_existing_db, as in db_bench; workloads
 * that need an operation the engine lacks, or that --cf rules out, are skipped too
 * (bench_workload_skip).  The disk writes of machine-reference workloads (fdatasync) are not
 * counted as the engine's. */
#include "runner.h"

#include <stdio.h>
#include <string.h>

#include "sysstat.h"
#include "util/status.h"

typedef struct run_state {
    const bench_config *cfg;
    const bench_engine *eng;
    char path[4096];
    bench_db *db;
    int untouched;    /* the DB was created empty and nothing ran on it yet */
    int64_t excluded; /* disk bytes written by machine-reference workloads (not the engine's) */
} run_state;

static int open_fresh(run_state *s)
{
    int rc = bench_rmtree(s->path);
    rc = rc ? rc : s->eng->open(s->cfg, s->path, &s->db);
    s->untouched = rc == 0;
    return rc;
}

static int reopen_fresh(run_state *s)
{
    bench_db *db = s->db;
    s->db = NULL;
    int rc = s->eng->close(db);
    return rc ? rc : open_fresh(s);
}

static void print_progress(const run_state *s, int repeat, const bench_wl_result *w)
{
    if (w->skipped) {
        fprintf(stderr, "%-14s r%d %-16s: skipped (%s)\n", s->eng->name, repeat + 1, w->name,
                bench_skip_reason(w->skipped));
        return;
    }
    fprintf(stderr,
            "%-14s r%d %-16s: %10.3f micros/op %11.0f ops/s %8.1f MB/s  p50 %.2f p99 %.2f "
            "p99.9 %.2f us  (%llu of %llu found",
            s->eng->name, repeat + 1, w->name, bench_wl_micros_per_op(w), bench_wl_ops_per_sec(w),
            bench_wl_mb_per_sec(w), bench_wl_latency_us(w, 50), bench_wl_latency_us(w, 99),
            bench_wl_latency_us(w, 99.9), (unsigned long long)w->found, (unsigned long long)w->ops);
    if (w->retries > 0) {
        fprintf(stderr, ", %llu retries", (unsigned long long)w->retries);
    }
    fprintf(stderr, ")\n");
}

static int run_one(run_state *s, const bench_ctx *ctx, const char *name, int index,
                   bench_wl_result *w)
{
    snprintf(w->name, sizeof(w->name), "%s", name);
    bench_hist_clear(&w->hist);
    w->disk_space = -1;
    w->skipped = bench_workload_skip(s->eng, s->cfg, name);
    if (w->skipped) {
        return 0;
    }
    if (bench_workload_fresh_db(name)) {
        if (s->cfg->use_existing_db) {
            w->skipped = BENCH_SKIP_EXISTING_DB;
            return 0;
        }
        if (!s->untouched) {
            int rc = reopen_fresh(s);
            if (rc != 0) {
                return rc;
            }
        }
    }
    bench_ctx c = *ctx;
    c.db = s->db;
    c.path = s->path;
    if (!bench_workload_reference(name)) {
        s->untouched = 0;
        return bench_workload_run(&c, name, index, w);
    }
    int64_t before = bench_proc_write_bytes();
    int rc = bench_workload_run(&c, name, index, w);
    int64_t after = bench_proc_write_bytes();
    s->excluded += before >= 0 && after >= before ? after - before : 0;
    return rc;
}

/* Runs every workload of the list; stops at the first error. */
static int run_list(run_state *s, const bench_ctx *ctx, int repeat, bench_run_result *r)
{
    char list[1024];
    snprintf(list, sizeof(list), "%s", s->cfg->benchmarks);
    char *save = NULL;
    for (char *name = strtok_r(list, ",", &save); name != NULL; name = strtok_r(NULL, ",", &save)) {
        if (r->nwl == BENCH_MAX_WORKLOADS) {
            return st_err(STRATA_E_INVALID, "more than %d workloads", BENCH_MAX_WORKLOADS);
        }
        bench_wl_result *w = &r->wl[r->nwl];
        int rc = run_one(s, ctx, name, r->nwl, w);
        if (rc != 0) {
            return st_err_context(rc, "%s", name);
        }
        r->nwl++;
        r->user_bytes_written += w->user_bytes_written;
        w->disk_space = bench_dir_usage(s->path);
        r->disk_space = w->disk_space > r->disk_space ? w->disk_space : r->disk_space;
        print_progress(s, repeat, w);
    }
    return 0;
}

static int open_first(run_state *s)
{
    int rc = bench_mkdirs(s->cfg->db);
    if (rc != 0) {
        return rc;
    }
    if (!s->cfg->use_existing_db) {
        return open_fresh(s);
    }
    return s->eng->open(s->cfg, s->path, &s->db);
}

static void finish(run_state *s, bench_run_result *r, int64_t io0)
{
    uint64_t stall = 0;
    r->stall_micros = -1;
    if (s->db != NULL && s->eng->stall_micros(s->db, &stall) == 0) {
        r->stall_micros = (int64_t)stall;
    }
    if (s->db != NULL && s->cfg->stats) {
        fprintf(stderr, "---- %s statistics (run %d) ----\n", s->eng->name, r->repeat + 1);
        s->eng->print_stats(s->db, stderr);
    }
    if (s->db != NULL) {
        int rc = s->eng->close(s->db);
        if (rc != 0 && r->rc == 0) {
            r->rc = rc;
            snprintf(r->error, sizeof(r->error), "close: %s", st_errmsg());
        }
    }
    int64_t io1 = bench_proc_write_bytes();
    r->disk_bytes_written = io0 >= 0 && io1 >= 0 ? io1 - io0 - s->excluded : -1;
    int64_t space = bench_dir_usage(s->path);
    r->disk_space = space > r->disk_space ? space : r->disk_space;
    r->peak_rss = bench_peak_rss();
}

int bench_run_engine(const bench_ctx *ctx, int repeat, bench_run_result *r)
{
    run_state s = {.cfg = ctx->cfg, .eng = ctx->eng};
    memset(r, 0, sizeof(*r));
    snprintf(r->engine, sizeof(r->engine), "%s", ctx->eng->name);
    r->repeat = repeat;
    r->disk_space = -1;
    int n = snprintf(s.path, sizeof(s.path), "%s/%s", ctx->cfg->db, ctx->eng->name);
    if (n < 0 || (size_t)n >= sizeof(s.path)) {
        r->rc = st_err(STRATA_E_INVALID, "--db path too long");
        snprintf(r->error, sizeof(r->error), "%s", st_errmsg());
        return r->rc;
    }
    int64_t io0 = bench_proc_write_bytes();
    int rc = open_first(&s);
    rc = rc ? rc : run_list(&s, ctx, repeat, r);
    if (rc != 0) {
        r->rc = rc;
        snprintf(r->error, sizeof(r->error), "%s", st_errmsg());
    }
    finish(&s, r, io0);
    return r->rc;
}
