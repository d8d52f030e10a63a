/* flags.c — db_bench-style command line: --name=value, a bare --name sets a boolean.  Sizes accept
 * K, M and G suffixes (powers of 1024).  The table below is the single list of flags, their
 * defaults (bench_config_defaults) and their --help text.
 *
 * --preset=NAME replaces the defaults with a named set (apply_preset) wherever it appears on the
 * line: presets are applied first, then every other flag in order, so a flag given explicitly
 * always wins over the preset. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "datagen.h"
#include "engine.h"
#include "util/status.h"
#include "workloads.h"

#define DEFAULT_BENCHMARKS                                                                        \
    "fillseq,fillrandom,overwrite,readrandom,readmissing,readhot,readseq,readreverse,seekrandom," \
    "readwhilewriting,deleterandom,fillbatch,fdatasync,fillsync"

enum flag_type { F_I64, F_INT, F_DBL, F_BOOL, F_STR, F_COMP, F_U64 };

struct flag {
    const char *name;
    enum flag_type type;
    size_t off;
    int64_t min, max;
    const char *help;
};

#define OFF(f) offsetof(bench_config, f)
#define I64MAX INT64_MAX

static const struct flag flags[] = {
    {"benchmarks", F_STR, OFF(benchmarks), 0, 0, "comma-separated workloads, run in order"},
    {"engine", F_STR, OFF(engine), 0, 0,
     "strata|strata-leveldb|leveldb|rocksdb (with --compare: a comma list, default all built in)"},
    {"compare", F_BOOL, OFF(compare), 0, 1, "run every engine, interleaved, and compare medians"},
    {"repeats", F_INT, OFF(repeats), 1, 1000, "runs per engine (default 3 with --compare, else 1)"},
    {"baseline", F_STR, OFF(baseline), 0, 0, "engine whose ratio to the best other is shown"},
    {"db", F_STR, OFF(db), 0, 0, "base directory; each engine's DB is <db>/<engine>"},
    {"use_existing_db", F_BOOL, OFF(use_existing_db), 0, 1, "keep the DB; skip fill* workloads"},
    {"num", F_I64, OFF(num), 1, I64MAX, "keys in the key space; ops per thread of writes"},
    {"reads", F_I64, OFF(reads), -1, I64MAX, "ops per thread of reads (-1: num)"},
    {"key_size", F_INT, OFF(key_size), 1, BENCH_MAX_KEY_SIZE, "key bytes (zero-padded decimal)"},
    {"value_size", F_INT, OFF(value_size), 0, BENCH_MAX_VALUE_SIZE, "value bytes"},
    {"compression_ratio", F_DBL, OFF(compression_ratio), 0, 1,
     "values compress to about this fraction"},
    {"compression", F_COMP, OFF(compression), 0, 0, "none|snappy|lz4|zstd"},
    {"compression_type", F_COMP, OFF(compression), 0, 0, "alias of --compression"},
    {"cache_size", F_I64, OFF(cache_size), 0, I64MAX, "block cache bytes"},
    {"bloom_bits", F_INT, OFF(bloom_bits), 0, 64, "bloom filter bits per key (0: no filter)"},
    {"write_buffer_size", F_I64, OFF(write_buffer_size), 4096, I64MAX, "memtable bytes"},
    {"block_size", F_I64, OFF(block_size), 64, 1 << 30, "table block bytes"},
    {"max_file_size", F_I64, OFF(max_file_size), 0, I64MAX,
     "target table file bytes (0: each engine's default)"},
    {"preset", F_STR, OFF(preset), 0, 0,
     "leveldb-defaults: every option at LevelDB 1.23's default (explicit flags win)"},
    {"threads", F_INT, OFF(threads), 1, BENCH_MAX_THREADS, "threads per workload"},
    {"max_background_jobs", F_INT, OFF(max_background_jobs), 2, 64,
     "flush + compaction threads (strata, RocksDB; LevelDB has one)"},
    {"seek_nexts", F_INT, OFF(seek_nexts), 0, 1 << 30, "next() calls after each seekrandom seek"},
    {"batch_size", F_INT, OFF(batch_size), 1, 1 << 24, "entries per batch in fillbatch"},
    {"cf", F_INT, OFF(cf), 1, BENCH_MAX_CF,
     "column families the keys are spread over by hash (default + cf1..cf<N-1>)"},
    {"seed", F_U64, OFF(seed), 0, 0, "base seed of the key generators"},
    {"histogram", F_BOOL, OFF(histogram), 0, 1, "print the latency histograms"},
    {"stats", F_BOOL, OFF(stats), 0, 1, "print each engine's statistics after the last workload"},
    {"json", F_BOOL, OFF(json), 0, 1, "print a JSON document on stdout (the table goes to stderr)"},
    {"verify_checksums", F_BOOL, OFF(verify_checksums), 0, 1, "verify block checksums on reads"},
    {"pinned_reads", F_BOOL, OFF(pinned_reads), 0, 1,
     "zero-copy gets where the C API has them (strata, RocksDB)"},
    {"strata_options", F_STR, OFF(strata_options), 0, 0,
     "extra strata options (\"k=v;k=v\", after the parity preset; for experiments)"},
    {"fork", F_INT, OFF(fork_runs), -1, 1, "run engines in child processes (-1: when >1 run)"},
};

static void set_defaults(bench_config *c)
{
    memset(c, 0, sizeof(*c));
    c->benchmarks = DEFAULT_BENCHMARKS;
    c->baseline = "strata";
    c->db = "/tmp/strata-bench";
    c->num = 1000000;
    c->reads = -1;
    c->key_size = 16;
    c->value_size = 100;
    c->compression_ratio = 0.5;
    c->compression = BENCH_COMP_SNAPPY;
    c->cache_size = 8 << 20;
    c->bloom_bits = 10;
    c->write_buffer_size = 4 << 20;
    c->block_size = 4096;
    c->threads = 1;
    c->max_background_jobs = 2;
    c->batch_size = 1000;
    c->cf = 1;
    c->repeats = 0; /* resolved after parsing: 3 with --compare, else 1 */
    c->verify_checksums = 1;
    c->pinned_reads = 1;
    c->fork_runs = -1;
    c->seed = 301;
}

const char *bench_compression_name(int c)
{
    static const char *const names[] = {"none", "snappy", "lz4", "zstd"};
    return c >= 0 && c < 4 ? names[c] : "?";
}

/* --preset=leveldb-defaults: the defaults of LevelDB 1.23's Options and ReadOptions
 * (include/leveldb/options.h) for every engine (bench/README.md lists them).  The parity defaults
 * already match LevelDB's write buffer, block size and cache; the preset adds LevelDB's 2 MiB
 * table files, no bloom filter and no checksum verification on reads. */
static int apply_preset(bench_config *c, const char *name)
{
    if (strcmp(name, "leveldb-defaults") != 0) {
        return st_err(STRATA_E_INVALID, "--preset: '%s' is not leveldb-defaults", name);
    }
    c->preset = name;
    c->write_buffer_size = 4 << 20; /* write_buffer_size */
    c->max_file_size = 2 << 20;     /* max_file_size */
    c->cache_size = 8 << 20;        /* block_cache NULL: an internal 8 MiB LRU cache */
    c->block_size = 4096;           /* block_size (restart interval 16 and max_open_files 1000 are
                                       fixed in every adapter) */
    c->compression = BENCH_COMP_SNAPPY; /* compression */
    c->bloom_bits = 0;                  /* filter_policy NULL */
    c->verify_checksums = 0;            /* ReadOptions::verify_checksums */
    return 0;
}

/* Integer with an optional K/M/G suffix. */
static int parse_i64(const char *name, const char *v, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    int shift = 0;
    if (end != v && *end != '\0' && end[1] == '\0') {
        shift = *end == 'K' || *end == 'k'   ? 10
                : *end == 'M' || *end == 'm' ? 20
                : *end == 'G' || *end == 'g' ? 30
                                             : -1;
        end += shift >= 0;
    }
    if (errno != 0 || end == v || *end != '\0' || shift < 0 ||
        (shift > 0 && (x > (INT64_MAX >> shift) || x < (INT64_MIN >> shift)))) {
        return st_err(STRATA_E_INVALID, "--%s: '%s' is not an integer", name, v);
    }
    *out = (int64_t)x * ((int64_t)1 << shift);
    return 0;
}

static int parse_comp(const char *v, int *out)
{
    for (int c = BENCH_COMP_NONE; c <= BENCH_COMP_ZSTD; c++) {
        if (strcmp(v, bench_compression_name(c)) == 0) {
            *out = c;
            return 0;
        }
    }
    return st_err(STRATA_E_INVALID, "--compression: '%s' is not none|snappy|lz4|zstd", v);
}

static int set_number(const struct flag *f, char *field, const char *v)
{
    int64_t x = 0;
    if (f->type == F_DBL) {
        char *end = NULL;
        double d = strtod(v, &end);
        if (end == v || *end != '\0' || !(d > f->min && d <= f->max)) {
            return st_err(STRATA_E_INVALID, "--%s: '%s' is not in (%" PRId64 ", %" PRId64 "]",
                          f->name, v, f->min, f->max);
        }
        *(double *)(void *)field = d;
        return 0;
    }
    if (f->type == F_U64) {
        char *end = NULL;
        errno = 0;
        unsigned long long u = strtoull(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0') {
            return st_err(STRATA_E_INVALID, "--%s: '%s' is not an unsigned integer", f->name, v);
        }
        *(uint64_t *)(void *)field = u;
        return 0;
    }
    int rc = parse_i64(f->name, v, &x);
    if (rc == 0 && (x < f->min || x > f->max)) {
        rc = st_err(STRATA_E_INVALID, "--%s: %" PRId64 " is outside [%" PRId64 ", %" PRId64 "]",
                    f->name, x, f->min, f->max);
    }
    if (rc == 0 && f->type == F_I64) {
        *(int64_t *)(void *)field = x;
    } else if (rc == 0) {
        *(int *)(void *)field = (int)x;
    }
    return rc;
}

static int set_flag(bench_config *c, const struct flag *f, const char *v)
{
    char *field = (char *)c + f->off;
    switch (f->type) {
        case F_STR:
            *(const char **)(void *)field = v;
            return 0;
        case F_COMP:
            return parse_comp(v, (int *)(void *)field);
        case F_BOOL:
            if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0) {
                *(int *)(void *)field = 1;
            } else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0) {
                *(int *)(void *)field = 0;
            } else {
                return st_err(STRATA_E_INVALID, "--%s: '%s' is not 0|1|true|false", f->name, v);
            }
            return 0;
        default:
            return set_number(f, field, v);
    }
}

static int parse_arg(bench_config *c, const char *arg)
{
    if (strncmp(arg, "--", 2) != 0) {
        return st_err(STRATA_E_INVALID, "unexpected argument '%s' (flags are --name=value)", arg);
    }
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t n = eq != NULL ? (size_t)(eq - name) : strlen(name);
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        const struct flag *f = &flags[i];
        if (strlen(f->name) == n && strncmp(f->name, name, n) == 0) {
            if (eq == NULL && f->type != F_BOOL) {
                return st_err(STRATA_E_INVALID, "--%s needs a value (--%s=...)", f->name, f->name);
            }
            return set_flag(c, f, eq != NULL ? eq + 1 : "1");
        }
    }
    return st_err(STRATA_E_INVALID, "unknown flag '%s' (see --help)", arg);
}

static int check_benchmarks(const char *list)
{
    char buf[1024];
    int n = snprintf(buf, sizeof(buf), "%s", list);
    if (n <= 0 || (size_t)n >= sizeof(buf)) {
        return st_err(STRATA_E_INVALID, "--benchmarks: empty or too long");
    }
    int count = 0;
    char *save = NULL;
    for (char *w = strtok_r(buf, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
        if (!bench_workload_known(w)) {
            return st_err(STRATA_E_INVALID, "--benchmarks: unknown workload '%s' (see --help)", w);
        }
        count++;
    }
    if (count == 0 || count > BENCH_MAX_WORKLOADS) {
        return st_err(STRATA_E_INVALID, "--benchmarks: between 1 and %d workloads",
                      BENCH_MAX_WORKLOADS);
    }
    return 0;
}

/* "txn" (the name issue #13 gives the transaction workload) stands for both kinds, in order:
 * txnpessimistic,txnoptimistic. */
static int expand_aliases(bench_config *c)
{
    char in[1024], *save = NULL;
    int n = snprintf(in, sizeof(in), "%s", c->benchmarks);
    if (n <= 0 || (size_t)n >= sizeof(in)) {
        return st_err(STRATA_E_INVALID, "--benchmarks: empty or too long");
    }
    size_t len = 0, cap = sizeof(c->benchmarks_expanded);
    c->benchmarks_expanded[0] = '\0';
    for (char *w = strtok_r(in, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
        const char *as = strcmp(w, "txn") == 0 ? "txnpessimistic,txnoptimistic" : w;
        int m = snprintf(c->benchmarks_expanded + len, cap - len, "%s%s", len ? "," : "", as);
        if (m < 0 || (size_t)m >= cap - len) {
            return st_err(STRATA_E_INVALID, "--benchmarks: too long");
        }
        len += (size_t)m;
    }
    c->benchmarks = c->benchmarks_expanded;
    return 0;
}

/* Cross-flag checks once everything is parsed. */
static int check_config(bench_config *c)
{
    int digits = bench_key_digits((uint64_t)(c->num - 1));
    if (c->key_size < digits) {
        return st_err(STRATA_E_INVALID,
                      "--key_size=%d is too small for --num=%" PRId64 " (keys need %d digits)",
                      c->key_size, c->num, digits);
    }
    if (c->repeats == 0) {
        c->repeats = c->compare ? 3 : 1;
    }
    int rc = expand_aliases(c);
    return rc ? rc : check_benchmarks(c->benchmarks);
}

int bench_flags_parse(bench_config *cfg, int argc, char **argv)
{
    set_defaults(cfg);
    /* Presets first, so that explicit flags override them wherever they appear. */
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--preset=", 9) == 0) {
            int rc = apply_preset(cfg, argv[i] + 9);
            if (rc != 0) {
                return rc;
            }
        }
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            bench_flags_usage();
            return 1;
        }
        if (strncmp(argv[i], "--preset=", 9) == 0) {
            continue;
        }
        int rc = parse_arg(cfg, argv[i]);
        if (rc != 0) {
            return rc;
        }
    }
    return check_config(cfg);
}

static void print_default(const struct flag *f, const bench_config *d)
{
    const char *field = (const char *)d + f->off;
    switch (f->type) {
        case F_STR: {
            const char *v = *(const char *const *)(const void *)field;
            printf("%s", v != NULL ? v : "none");
        } break;
            break;
        case F_COMP:
            printf("%s", bench_compression_name(*(const int *)(const void *)field));
            break;
        case F_DBL:
            printf("%g", *(const double *)(const void *)field);
            break;
        case F_I64:
            printf("%" PRId64, *(const int64_t *)(const void *)field);
            break;
        case F_U64:
            printf("%" PRIu64, *(const uint64_t *)(const void *)field);
            break;
        default:
            printf("%d", *(const int *)(const void *)field);
            break;
    }
}

void bench_flags_usage(void)
{
    bench_config d;
    set_defaults(&d);
    d.engine = "strata if built in, else the first";
    printf("usage: strata-bench [--flag=value ...]\n\n");
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        printf("  --%-20s %s (default ", flags[i].name, flags[i].help);
        print_default(&flags[i], &d);
        printf(")\n");
    }
    printf("\nengines built in:");
    for (const bench_engine *const *e = bench_engines_all(); *e != NULL; e++) {
        printf(" %s", (*e)->name);
    }
#ifdef STRATA_BENCH_HAVE_STRATA_LEVELDB
    const char *why = bench_engine_unavailable("strata-leveldb");
    if (why != NULL) {
        printf("\nunavailable: strata-leveldb (%s)", why);
    }
#endif
    printf("\nworkloads:");
    for (const char *const *w = bench_workload_names(); *w != NULL; w++) {
        printf(" %s", *w);
    }
    printf("\n");
}
