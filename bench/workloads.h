/* workloads.h — the db_bench workloads strata-bench runs (names and meaning as in db_bench; the
 * table in workloads.c and bench/README.md describe each).  A workload runs on cfg->threads threads
 * that start together after a barrier; readwhilewriting adds one writer thread that is not
 * measured. Every measured operation's latency goes into the thread's histogram (nanoseconds,
 * measured as the time since the previous operation finished, as db_bench does). */
#ifndef STRATA_BENCH_WORKLOADS_H
#define STRATA_BENCH_WORKLOADS_H

#include "bench.h"
#include "datagen.h"
#include "engine.h"

typedef struct bench_ctx {
    const bench_config *cfg;
    const bench_engine *eng;
    bench_db *db;
    const bench_valpool *pool;
    const char *path;  /* the DB directory (set by the runner) */
    bench_txn_db *txn; /* the transaction DB of a txn workload (set by bench_workload_run) */
} bench_ctx;

/* 1 when name is a known workload. */
int bench_workload_known(const char *name);
/* 1 when the workload starts from an empty DB (db_bench's fill* benchmarks). */
int bench_workload_fresh_db(const char *name);
/* 1 when the workload measures the machine rather than the engine (fdatasync): no ratio. */
int bench_workload_reference(const char *name);
/* 1 when eng has every optional operation (engine.h) the workload uses. */
int bench_workload_supported(const bench_engine *eng, const char *name);
/* Why the runner skips the workload on eng under cfg (BENCH_SKIP_UNSUPPORTED, _NO_CF,
 * _CF_ITER), or 0 when it runs. */
int bench_workload_skip(const bench_engine *eng, const bench_config *cfg, const char *name);
/* Runs workload name (index = its position in --benchmarks, which seeds the threads' generators)
 * and fills res.  Returns 0 or the first error of any thread (detail message set on this thread).
 */
int bench_workload_run(const bench_ctx *ctx, const char *name, int index, bench_wl_result *res);
/* Names of every workload, for --help, NULL-terminated. */
const char *const *bench_workload_names(void);

#endif
