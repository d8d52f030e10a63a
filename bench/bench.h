/* bench.h — shared types of strata-bench: the parsed command line (bench_config), the fixed-size
 * result records one engine run produces, and small helpers (clock, sizes) used across bench/.
 *
 * Invariants: a bench_run_result holds no pointers, so a forked child can hand it to the parent as
 * raw bytes through a pipe (both sides are the same binary).  Latency histograms hold nanoseconds;
 * every figure printed is derived from them or from the counters next to them.  bench/README.md
 * explains what each reported number means; docs/fragments/bench.md the engine option mapping. */
#ifndef STRATA_BENCH_BENCH_H
#define STRATA_BENCH_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "latency.h"

#define BENCH_MAX_WORKLOADS 64
#define BENCH_MAX_KEY_SIZE 1024
#define BENCH_MAX_VALUE_SIZE (16 << 20)
#define BENCH_MAX_THREADS 256
#define BENCH_ERR_MAX 256
#define BENCH_MAX_CF 64 /* --cf */

/* Compression choices; each adapter maps them onto its engine (or fails with NOTSUP). */
enum { BENCH_COMP_NONE = 0, BENCH_COMP_SNAPPY, BENCH_COMP_LZ4, BENCH_COMP_ZSTD };

typedef struct bench_config {
    const char *engine;     /* one engine, or a comma list with --compare; NULL = all */
    const char *baseline;   /* the engine whose ratio to the best other is printed */
    const char *db;         /* base directory; each engine uses <db>/<engine> */
    const char *benchmarks; /* comma-separated workload names */
    char benchmarks_expanded[1024]; /* benchmarks with the alias "txn" expanded (flags.c) */
    const char *strata_options; /* extra strata options string (experiments; NULL: none) */
    const char *preset;         /* --preset: NULL, or "leveldb-defaults" (flags.c) */
    int64_t num;            /* keys in the key space / ops of write workloads per thread */
    int64_t reads;          /* ops of read workloads per thread; < 0 means num */
    int key_size;
    int value_size;
    double compression_ratio;
    int compression; /* BENCH_COMP_* */
    int64_t cache_size;
    int64_t write_buffer_size;
    int64_t block_size;
    int64_t max_file_size; /* target table file bytes; 0 = each engine's default */
    int bloom_bits;
    int threads;
    int max_background_jobs;
    int seek_nexts;
    int batch_size; /* entries per write batch in fillbatch */
    int cf;         /* column families the keys are spread over (engine.h "Column families") */
    int use_existing_db;
    int histogram;
    int stats; /* print the engine's statistics after the last workload */
    int compare;
    int repeats;
    int json;
    int verify_checksums;
    int pinned_reads; /* use the zero-copy get where the engine's C API has one */
    int fork_runs;    /* run each engine in a child process; -1 = when more than one run */
    uint64_t seed;
} bench_config;

/* Why a workload did not run on an engine. */
enum {
    BENCH_SKIP_EXISTING_DB = 1, /* a fill* workload under --use_existing_db */
    BENCH_SKIP_UNSUPPORTED = 2, /* the engine lacks an operation the workload needs */
    BENCH_SKIP_NO_CF = 3,       /* --cf > 1 on an engine without column families */
    BENCH_SKIP_CF_ITER = 4      /* --cf > 1 and the workload iterates the whole key space */
};
/* "--use_existing_db", "not supported by the engine", ..., or "" for 0. */
const char *bench_skip_reason(int skipped);

/* One workload of one run.  Latencies in the histogram are nanoseconds per operation. */
typedef struct bench_wl_result {
    char name[32];
    int skipped;                 /* 0, or BENCH_SKIP_* */
    uint64_t ops;                /* operations measured (all threads) */
    uint64_t found;              /* reads that found their key */
    uint64_t retries;            /* transactions retried after a conflict (txn workloads) */
    uint64_t bytes;              /* key + value bytes moved by the measured operations */
    uint64_t user_bytes_written; /* key + value bytes written, including background writers */
    double wall_seconds;         /* first thread start to last thread finish */
    double thread_seconds;       /* sum over threads of their own durations */
    int64_t disk_space;          /* du of the DB directory right after the workload; -1 unknown */
    bench_hist hist;
} bench_wl_result;

/* One engine over the whole --benchmarks list, on a fresh DB directory. */
typedef struct bench_run_result {
    char engine[16];
    int repeat;
    int rc; /* 0, or the STRATA_E_* code that stopped the run */
    char error[BENCH_ERR_MAX];
    int nwl;
    bench_wl_result wl[BENCH_MAX_WORKLOADS];
    uint64_t user_bytes_written;
    int64_t disk_bytes_written; /* /proc/self/io write_bytes delta; -1 when unavailable */
    int64_t disk_space;         /* largest du of the DB directory seen after a workload or at
                                   close; -1 when unavailable */
    int64_t peak_rss;           /* bytes; VmHWM of the process that ran the engine */
    int64_t stall_micros;       /* engine-reported write stall time; -1 = not available */
} bench_run_result;

/* Derived figures of one workload result. */
double bench_wl_micros_per_op(const bench_wl_result *w);
double bench_wl_ops_per_sec(const bench_wl_result *w);
double bench_wl_mb_per_sec(const bench_wl_result *w);
/* Percentile p (0..100) of the latency in microseconds. */
double bench_wl_latency_us(const bench_wl_result *w, double p);
/* Write amplification of a run, or -1 when disk writes are unknown or nothing was written. */
double bench_run_write_amp(const bench_run_result *r);

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Parses argv into cfg (defaults first).  Returns 0, 1 when --help was printed, or
 * STRATA_E_INVALID with the detail message naming the bad flag. */
int bench_flags_parse(bench_config *cfg, int argc, char **argv);
void bench_flags_usage(void);
const char *bench_compression_name(int c);

#endif
