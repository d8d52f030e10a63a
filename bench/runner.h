/* runner.h — one engine run over the whole workload list (see runner.c), and the schedule that
 * runs several engines and repetitions, each in its own forked child (compare.c). */
#ifndef STRATA_BENCH_RUNNER_H
#define STRATA_BENCH_RUNNER_H

#include "bench.h"
#include "workloads.h"

/* Runs ctx->eng over cfg->benchmarks in <db>/<engine>, in this process.  Fills r (r->rc and
 * r->error on failure) and returns r->rc. */
int bench_run_engine(const bench_ctx *ctx, int repeat, bench_run_result *r);

/* Runs every engine of engines (n of them) repeats times, interleaved (A B C A B C ...).  With
 * fork, each run happens in a child process so RSS and I/O counters are per run; otherwise in this
 * process.  runs must hold n * repeats results, filled in schedule order.  Returns 0 when every
 * run succeeded, else the first failing run's code. */
int bench_run_schedule(const bench_config *cfg, const bench_valpool *pool,
                       const bench_engine *const *engines, int n, int fork_runs,
                       bench_run_result *runs);

#endif
