/* main.c — strata-bench: db_bench-style workloads on strata, LevelDB and RocksDB (bench/README.md).
 * Parses the flags, picks the engines, runs the schedule (each run in a child process when there is
 * more than one), then prints the table (stdout, or stderr with --json) and the JSON document.
 * Exit status: 0 when every run succeeded, 1 when one failed, 2 for a usage error. */
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "runner.h"
#include "util/alloc.h"
#include "util/status.h"

#define MAX_ENGINES 8

static int add_engine(const char *name, const bench_engine **out, int *n)
{
    const bench_engine *e = bench_engine_find(name);
    const char *why = bench_engine_unavailable(name);
    if (e == NULL && why != NULL) {
        return st_err(STRATA_E_INVALID, "--engine: '%s' is unavailable: %s", name, why);
    }
    if (e == NULL) {
        return st_err(STRATA_E_INVALID, "--engine: '%s' is not built into this strata-bench", name);
    }
    for (int i = 0; i < *n; i++) {
        if (out[i] == e) {
            return 0;
        }
    }
    if (*n == MAX_ENGINES) {
        return st_err(STRATA_E_INVALID, "--engine: too many engines");
    }
    out[(*n)++] = e;
    return 0;
}

/* The engines to run: --engine's list, else all (with --compare) or the first built in. */
static int select_engines(const bench_config *cfg, const bench_engine **out, int *n)
{
    const bench_engine *const *all = bench_engines_all();
    *n = 0;
    if (all[0] == NULL) {
        return st_err(STRATA_E_NOTSUP, "no engine was built into this strata-bench");
    }
    if (cfg->engine == NULL) {
        for (int i = 0; all[i] != NULL && (cfg->compare || i == 0); i++) {
            out[(*n)++] = all[i];
        }
        return 0;
    }
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", cfg->engine);
    char *save = NULL;
    for (char *w = strtok_r(buf, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
        int rc = add_engine(w, out, n);
        if (rc != 0) {
            return rc;
        }
    }
    if (*n == 0 || (*n > 1 && !cfg->compare)) {
        return st_err(STRATA_E_INVALID, "--engine: one engine, or a list with --compare");
    }
    return 0;
}

static void split_names(bench_results *res)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", res->cfg->benchmarks);
    char *save = NULL;
    res->nwl = 0;
    for (char *w = strtok_r(buf, ",", &save); w != NULL && res->nwl < BENCH_MAX_WORKLOADS;
         w = strtok_r(NULL, ",", &save)) {
        snprintf(res->names[res->nwl++], sizeof(res->names[0]), "%s", w);
    }
}

static int run_all(const bench_config *cfg, const bench_engine **engines, int n)
{
    bench_valpool pool;
    int rc = bench_valpool_init(&pool, cfg->compression_ratio, (size_t)cfg->value_size, cfg->seed);
    if (rc != 0) {
        return rc;
    }
    int nruns = n * cfg->repeats;
    bench_run_result *runs = st_calloc((size_t)nruns, sizeof(*runs));
    if (runs == NULL) {
        bench_valpool_free(&pool);
        return st_err(STRATA_E_NOMEM, "out of memory for %d run results", nruns);
    }
    int fork_runs = cfg->fork_runs < 0 ? nruns > 1 : cfg->fork_runs;
    rc = bench_run_schedule(cfg, &pool, engines, n, fork_runs, runs);
    bench_results res = {
        .cfg = cfg, .engines = engines, .nengines = n, .runs = runs, .nruns = nruns};
    split_names(&res);
    bench_report_text(&res, cfg->json ? stderr : stdout);
    if (cfg->json) {
        bench_report_json(&res, stdout);
    }
    st_free(runs);
    bench_valpool_free(&pool);
    return rc;
}

int main(int argc, char **argv)
{
    bench_config cfg;
    int rc = bench_flags_parse(&cfg, argc, argv);
    if (rc == 1) {
        return 0;
    }
    const bench_engine *engines[MAX_ENGINES];
    int n = 0;
    rc = rc ? rc : select_engines(&cfg, engines, &n);
    if (rc != 0) {
        fprintf(stderr, "strata-bench: %s\n", st_errmsg());
        return 2;
    }
    rc = run_all(&cfg, engines, n);
    if (rc != 0) {
        fprintf(stderr, "strata-bench: %s\n", st_errmsg());
        return 1;
    }
    return 0;
}
