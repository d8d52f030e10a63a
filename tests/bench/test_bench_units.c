/* test_bench_units.c — strata-bench's own pieces, below the engines: key formatting, the
 * compressible value pool (checked against snappy when built in), the latency histogram's bucket
 * layout and percentiles, medians, the baseline ratio and the drop-in ratio, flag parsing and
 * validation (--preset), which engines are listed (strata-leveldb), the spread
 * of keys over column families (--cf) and which workloads are skipped where.  Engine runs
 * and output parsing are covered by check_bench.cmake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above first. */
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef STRATA_HAVE_SNAPPY
#include <snappy-c.h>
#endif

#include "bench.h"
#include "datagen.h"
#include "engine.h"
#include "latency.h"
#include "report.h"
#include "strata.h"
#include "util/random.h"
#include "workloads.h"

static void test_key_format(void **state)
{
    (void)state;
    char a[17] = {0};
    char b[17] = {0};
    bench_key_format(a, 16, 0);
    assert_string_equal(a, "0000000000000000");
    bench_key_format(a, 16, 1234567);
    assert_string_equal(a, "0000000001234567");
    bench_key_format(a, 16, UINT64_C(9999999999999999));
    assert_string_equal(a, "9999999999999999");
    /* byte order is numeric order */
    for (uint64_t k = 0; k < 2000; k += 7) {
        bench_key_format(a, 16, k);
        bench_key_format(b, 16, k + 1);
        assert_true(memcmp(a, b, 16) < 0);
    }
    assert_int_equal(bench_key_digits(0), 1);
    assert_int_equal(bench_key_digits(9), 1);
    assert_int_equal(bench_key_digits(10), 2);
    assert_int_equal(bench_key_digits(999999), 6);
    assert_int_equal(bench_key_digits(UINT64_MAX), 20);
}

static void test_valpool_shape(void **state)
{
    (void)state;
    bench_valpool p;
    assert_int_equal(bench_valpool_init(&p, 0.5, 100, 1), 0);
    assert_true(p.len >= (1u << 20));
    assert_int_equal(p.len % BENCH_VALPOOL_CHUNK, 0);
    /* each chunk: 50 random printable bytes, then the same 50 again */
    for (size_t off = 0; off < p.len; off += BENCH_VALPOOL_CHUNK) {
        assert_memory_equal(p.data + off, p.data + off + 50, 50);
        for (size_t i = 0; i < BENCH_VALPOOL_CHUNK; i++) {
            assert_true(p.data[off + i] >= ' ' && p.data[off + i] <= '~');
        }
    }
    bench_valgen g;
    bench_valgen_init(&g, &p);
    const char *v1 = bench_valgen_next(&g, 100);
    const char *v2 = bench_valgen_next(&g, 100);
    assert_ptr_equal(v1, p.data);
    assert_ptr_equal(v2, p.data + 100);
    g.pos = p.len - 10;
    assert_ptr_equal(bench_valgen_next(&g, 100), p.data); /* wraps rather than overrun */
    bench_valpool_free(&p);
    /* a value larger than 1 MiB still fits */
    assert_int_equal(bench_valpool_init(&p, 1.0, 3 << 20, 1), 0);
    assert_true(p.len >= (3u << 20));
    bench_valpool_free(&p);
}

#ifdef STRATA_HAVE_SNAPPY
static double snappy_ratio(double ratio)
{
    bench_valpool p;
    assert_int_equal(bench_valpool_init(&p, ratio, 0, 7), 0);
    size_t cap = snappy_max_compressed_length(p.len);
    char *out = malloc(cap);
    assert_non_null(out);
    size_t n = cap;
    assert_int_equal(snappy_compress(p.data, p.len, out, &n), SNAPPY_OK);
    double r = (double)n / (double)p.len;
    free(out);
    bench_valpool_free(&p);
    return r;
}
#endif

static void test_valpool_compressibility(void **state)
{
    (void)state;
#ifdef STRATA_HAVE_SNAPPY
    double half = snappy_ratio(0.5);
    double quarter = snappy_ratio(0.25);
    double full = snappy_ratio(1.0);
    print_message("snappy: ratio 0.25 -> %.3f, 0.5 -> %.3f, 1.0 -> %.3f\n", quarter, half, full);
    assert_true(half > 0.45 && half < 0.6);
    assert_true(quarter > 0.2 && quarter < 0.35);
    assert_true(full > 0.95);
#else
    skip();
#endif
}

static void test_hist_layout(void **state)
{
    (void)state;
    int prev = -1;
    /* indexes are contiguous and non-decreasing, and each value lies in its bucket */
    for (uint64_t v = 0; v < 100000; v++) {
        int i = bench_hist_index(v);
        assert_true(i == prev || i == prev + 1);
        double lo;
        double w;
        bench_hist_bucket(i, &lo, &w);
        assert_true((double)v >= lo && (double)v < lo + w);
        assert_true(w <= 1 || w / lo <= 1.0 / BENCH_HIST_SUB + 1e-12);
        prev = i;
    }
    st_random r;
    st_random_seed(&r, 3);
    for (int n = 0; n < 100000; n++) {
        uint64_t v = st_random_next(&r) >> (st_random_next(&r) % 64);
        int i = bench_hist_index(v);
        assert_true(i >= 0 && i < BENCH_HIST_BUCKETS);
        if (v < (UINT64_C(1) << (BENCH_HIST_MAX_EXP + 1))) {
            double lo;
            double w;
            bench_hist_bucket(i, &lo, &w);
            assert_true((double)v >= lo && (double)v < lo + w);
        } else {
            assert_int_equal(i, BENCH_HIST_BUCKETS - 1);
        }
    }
}

static void test_hist_percentiles(void **state)
{
    (void)state;
    bench_hist *h = calloc(1, sizeof(*h));
    bench_hist *h2 = calloc(1, sizeof(*h2));
    assert_non_null(h);
    assert_non_null(h2);
    assert_true(bench_hist_percentile(h, 50) == 0);
    for (uint64_t v = 1; v <= 100000; v++) {
        bench_hist_add(v % 2 ? h : h2, v * 10);
    }
    bench_hist_merge(h, h2);
    assert_int_equal(h->count, 100000);
    assert_int_equal(h->min, 10);
    assert_int_equal(h->max, 1000000);
    double want[] = {500000, 990000, 999000};
    double got[] = {bench_hist_percentile(h, 50), bench_hist_percentile(h, 99),
                    bench_hist_percentile(h, 99.9)};
    for (int i = 0; i < 3; i++) {
        assert_true(got[i] > want[i] * 0.97 && got[i] < want[i] * 1.03);
    }
    assert_true(bench_hist_percentile(h, 0) >= 10);
    assert_true(bench_hist_percentile(h, 100) <= 1000000);
    assert_true(bench_hist_mean(h) > 500004 && bench_hist_mean(h) < 500006);
    free(h);
    free(h2);
}

static void test_median(void **state)
{
    (void)state;
    double odd[] = {5, 1, 3};
    double even[] = {4, 1, 3, 2};
    assert_true(bench_median(odd, 3) == 3);
    assert_true(bench_median(even, 4) == 2.5);
    assert_true(bench_median(NULL, 0) == 0);
}

/* Fake engines: only the names matter to the summary. */
static const bench_engine eng_a = {.name = "strata"};
static const bench_engine eng_b = {.name = "leveldb"};
static const bench_engine eng_c = {.name = "rocksdb"};

static void fake_wl(bench_run_result *r, double ops_per_sec)
{
    r->nwl = 1;
    bench_wl_result *w = &r->wl[0];
    snprintf(w->name, sizeof(w->name), "readrandom");
    w->ops = 1000;
    w->wall_seconds = 1000.0 / ops_per_sec;
    w->thread_seconds = w->wall_seconds;
    bench_hist_add(&w->hist, 1000);
}

static void test_ratio(void **state)
{
    (void)state;
    bench_config cfg = {.baseline = "strata", .repeats = 3};
    const bench_engine *engines[] = {&eng_a, &eng_b, &eng_c};
    /* schedule order A B C A B C A B C; strata ops/s 300, 330, 310; leveldb 100; rocksdb 200 */
    double ops[9] = {300, 100, 200, 330, 100, 200, 310, 100, 200};
    bench_run_result *runs = calloc(9, sizeof(*runs));
    assert_non_null(runs);
    for (int i = 0; i < 9; i++) {
        fake_wl(&runs[i], ops[i]);
        runs[i].disk_bytes_written = 3000 + i;
        runs[i].user_bytes_written = 1000;
        runs[i].stall_micros = i % 3 == 1 ? -1 : 5;
    }
    runs[3].nwl = 0; /* a run that failed before the workload */
    bench_results res = {
        .cfg = &cfg, .engines = engines, .nengines = 3, .runs = runs, .nruns = 9, .nwl = 1};
    bench_wl_median m;
    bench_median_wl(&res, 0, 0, &m);
    assert_int_equal(m.runs, 2);
    assert_true(m.ops_per_sec > 304.9 && m.ops_per_sec < 305.1); /* median of 300 and 310 */
    int best = -1;
    double ratio = bench_ratio(&res, 0, &best);
    assert_int_equal(best, 2);
    assert_true(ratio > 1.52 && ratio < 1.53);
    bench_engine_median em;
    bench_median_engine(&res, 1, &em);
    assert_true(em.stall_micros < 0); /* never known for this engine */
    assert_true(em.write_amp > 3.0039 && em.write_amp < 3.0041);
    snprintf(res.names[0], sizeof(res.names[0]), "fdatasync"); /* machine reference: no ratio */
    assert_true(bench_ratio(&res, 0, &best) < 0);
    snprintf(res.names[0], sizeof(res.names[0]), "readrandom");
    assert_true(bench_ratio(&res, 0, &best) > 1);
    cfg.baseline = "nosuch";
    assert_true(bench_ratio(&res, 0, &best) < 0);
    free(runs);
}

static void test_sync_ceiling(void **state)
{
    (void)state;
    bench_config cfg = {.baseline = "strata", .repeats = 2};
    const bench_engine *engines[] = {&eng_a};
    bench_run_result *runs = calloc(2, sizeof(*runs));
    assert_non_null(runs);
    for (int i = 0; i < 2; i++) {
        fake_wl(&runs[i], 1000); /* workload 0: fdatasync at 1000 ops/s */
        runs[i].wl[1] = runs[i].wl[0];
        runs[i].wl[1].wall_seconds = 1000.0 / (i == 0 ? 900 : 950); /* fillsync */
        runs[i].nwl = 2;
    }
    bench_results res = {
        .cfg = &cfg, .engines = engines, .nengines = 1, .runs = runs, .nruns = 2, .nwl = 2};
    snprintf(res.names[0], sizeof(res.names[0]), "fdatasync");
    snprintf(res.names[1], sizeof(res.names[1]), "fillsync");
    bench_wl_median m;
    bench_median_wl(&res, 0, 1, &m);
    assert_true(m.of_sync_ceiling > 0.9249 && m.of_sync_ceiling < 0.9251);
    bench_median_wl(&res, 0, 0, &m);
    assert_true(m.of_sync_ceiling < 0);                      /* only fillsync has one */
    snprintf(res.names[0], sizeof(res.names[0]), "fillseq"); /* no reference in the list */
    bench_median_wl(&res, 0, 1, &m);
    assert_true(m.of_sync_ceiling < 0);
    free(runs);
}

static int parse(bench_config *cfg, const char *a, const char *b)
{
    char *argv[] = {"strata-bench", (char *)a, (char *)b, NULL};
    return bench_flags_parse(cfg, b != NULL ? 3 : a != NULL ? 2 : 1, argv);
}

static void test_flags(void **state)
{
    (void)state;
    bench_config c;
    assert_int_equal(parse(&c, NULL, NULL), 0);
    assert_int_equal(c.num, 1000000);
    assert_int_equal(c.key_size, 16);
    assert_int_equal(c.value_size, 100);
    assert_true(c.compression_ratio == 0.5);
    assert_int_equal(c.compression, BENCH_COMP_SNAPPY);
    assert_int_equal(c.write_buffer_size, 4 << 20);
    assert_int_equal(c.block_size, 4096);
    assert_int_equal(c.cache_size, 8 << 20);
    assert_int_equal(c.bloom_bits, 10);
    assert_int_equal(c.repeats, 1);
    assert_int_equal(parse(&c, "--compare", NULL), 0);
    assert_int_equal(c.repeats, 3);
    assert_int_equal(parse(&c, "--cache_size=16M", "--compression=zstd"), 0);
    assert_int_equal(c.cache_size, 16 << 20);
    assert_int_equal(c.compression, BENCH_COMP_ZSTD);
    assert_int_equal(parse(&c, "--histogram=false", "--reads=-1"), 0);
    assert_int_equal(c.histogram, 0);
    assert_int_equal(parse(&c, "--num=99", "--key_size=2"), 0);
    assert_int_equal(parse(&c, "--num=101", "--key_size=2"), STRATA_E_INVALID);
    assert_int_equal(parse(&c, "--compression_ratio=0", NULL), STRATA_E_INVALID);
    assert_int_equal(parse(&c, "--compression_ratio=1.5", NULL), STRATA_E_INVALID);
    assert_int_equal(parse(&c, "--cache_size=9999999999G", NULL), STRATA_E_INVALID);
    assert_int_equal(parse(&c, "--histogram=maybe", NULL), STRATA_E_INVALID);
    assert_int_equal(parse(&c, "--benchmarks=", NULL), STRATA_E_INVALID);
    assert_int_equal(parse(&c, "--benchmarks=readseq,,readseq", NULL), 0);
    assert_int_equal(parse(&c, "num=5", NULL), STRATA_E_INVALID);
    assert_int_equal(parse(&c, "--seed=18446744073709551615", NULL), 0);
    assert_true(c.seed == UINT64_MAX);
    assert_int_equal(parse(&c, NULL, NULL), 0);
    assert_int_equal(c.cf, 1);
    assert_int_equal(parse(&c, "--cf=8", "--benchmarks=txnpessimistic,txnoptimistic"), 0);
    assert_int_equal(c.cf, 8);
    assert_int_equal(parse(&c, "--benchmarks=fillseq,txn", NULL), 0); /* the alias of both */
    assert_string_equal(c.benchmarks, "fillseq,txnpessimistic,txnoptimistic");
    assert_int_equal(parse(&c, "--cf=0", NULL), STRATA_E_INVALID);
    assert_int_equal(parse(&c, "--cf=65", NULL), STRATA_E_INVALID);
    assert_int_equal(parse(&c, "--cf", NULL), STRATA_E_INVALID);
}

/* --preset=leveldb-defaults sets LevelDB 1.23's defaults; explicit flags win, before or after. */
static void test_preset(void **state)
{
    (void)state;
    bench_config c;
    assert_int_equal(parse(&c, NULL, NULL), 0);
    assert_null(c.preset);
    assert_int_equal(c.max_file_size, 0); /* each engine's default */
    assert_int_equal(c.verify_checksums, 1);
    assert_int_equal(parse(&c, "--preset=leveldb-defaults", NULL), 0);
    assert_string_equal(c.preset, "leveldb-defaults");
    assert_int_equal(c.write_buffer_size, 4 << 20);
    assert_int_equal(c.max_file_size, 2 << 20);
    assert_int_equal(c.cache_size, 8 << 20);
    assert_int_equal(c.block_size, 4096);
    assert_int_equal(c.compression, BENCH_COMP_SNAPPY);
    assert_int_equal(c.bloom_bits, 0);
    assert_int_equal(c.verify_checksums, 0);
    assert_int_equal(parse(&c, "--bloom_bits=10", "--preset=leveldb-defaults"), 0);
    assert_int_equal(c.bloom_bits, 10);
    assert_int_equal(c.max_file_size, 2 << 20);
    assert_int_equal(parse(&c, "--preset=leveldb-defaults", "--cache_size=16M"), 0);
    assert_int_equal(c.cache_size, 16 << 20);
    assert_int_equal(c.bloom_bits, 0);
    assert_int_equal(parse(&c, "--preset=leveldb-defaults", "--max_file_size=64M"), 0);
    assert_int_equal(c.max_file_size, 64 << 20);
    assert_int_equal(parse(&c, "--preset=leveldb-defaults", "--verify_checksums"), 0);
    assert_int_equal(c.verify_checksums, 1);
    assert_int_equal(parse(&c, "--preset=rocksdb", NULL), STRATA_E_INVALID);
    assert_int_equal(parse(&c, "--preset=", NULL), STRATA_E_INVALID);
    assert_int_equal(parse(&c, "--preset", NULL), STRATA_E_INVALID);
    assert_int_equal(parse(&c, "--max_file_size=-1", NULL), STRATA_E_INVALID);
}

/* strata-leveldb is listed exactly when it is compiled in and its library loads; it is a drop-in
 * for leveldb; an unknown name is neither found nor unavailable. */
static void test_engines(void **state)
{
    (void)state;
    assert_null(bench_engine_find("nosuch"));
    assert_null(bench_engine_unavailable("nosuch"));
    assert_null(bench_engine_unavailable("strata"));
    const bench_engine *e = bench_engine_find("strata-leveldb");
#ifdef STRATA_BENCH_HAVE_STRATA_LEVELDB
    const char *why = bench_engine_unavailable("strata-leveldb");
    if (why != NULL) {
        print_message("strata-leveldb unavailable here: %s\n", why);
        assert_null(e);
    } else {
        assert_non_null(e);
        assert_string_equal(e->drop_in_for, "leveldb");
    }
#else
    assert_null(e);
#endif
    if (bench_engine_find("strata") != NULL) {
        assert_string_equal(bench_engines_all()[0]->name, "strata"); /* heads every table */
    }
}

/* A drop-in engine is no rival in the baseline's ratio and gets its own ratio to its model. */
static void test_dropin_ratio(void **state)
{
    (void)state;
    static const bench_engine eng_d = {.name = "strata-leveldb", .drop_in_for = "leveldb"};
    bench_config cfg = {.baseline = "strata", .repeats = 1};
    const bench_engine *engines[] = {&eng_a, &eng_d, &eng_b};
    double ops[3] = {300, 600, 200}; /* the drop-in is fastest, but not a rival */
    bench_run_result runs[3];
    memset(runs, 0, sizeof(runs));
    for (int i = 0; i < 3; i++) {
        fake_wl(&runs[i], ops[i]);
    }
    bench_results res = {
        .cfg = &cfg, .engines = engines, .nengines = 3, .runs = runs, .nruns = 3, .nwl = 1};
    snprintf(res.names[0], sizeof(res.names[0]), "readrandom");
    int best = -1;
    double ratio = bench_ratio(&res, 0, &best);
    assert_int_equal(best, 2);
    assert_true(ratio > 1.49 && ratio < 1.51);
    int target = -1;
    double d = bench_dropin_ratio(&res, 0, 1, &target);
    assert_int_equal(target, 2);
    assert_true(d > 2.99 && d < 3.01);
    assert_true(bench_dropin_ratio(&res, 0, 0, &target) < 0); /* strata is no drop-in */
    assert_int_equal(target, -1);
    cfg.baseline = "strata-leveldb"; /* as the baseline it is compared with the others */
    ratio = bench_ratio(&res, 0, &best);
    assert_int_equal(best, 0);
    assert_true(ratio > 1.99 && ratio < 2.01);
    res.nengines = 2; /* leveldb not in the compare: no drop-in ratio */
    assert_true(bench_dropin_ratio(&res, 0, 1, &target) < 0);
    assert_int_equal(target, -1);
    snprintf(res.names[0], sizeof(res.names[0]), "fdatasync");
    res.nengines = 3;
    assert_true(bench_dropin_ratio(&res, 0, 1, &target) < 0);
}

/* Keys spread evenly over the families; one family takes every key; names. */
static void test_cf_spread(void **state)
{
    (void)state;
    int count[5] = {0};
    char key[17];
    for (uint64_t k = 0; k < 10000; k++) {
        bench_key_format(key, 16, k);
        assert_int_equal(bench_cf_of(key, 16, 1), 0);
        int f = bench_cf_of(key, 16, 5);
        assert_true(f >= 0 && f < 5);
        assert_int_equal(bench_cf_of(key, 16, 5), f); /* stable */
        count[f]++;
    }
    for (int f = 0; f < 5; f++) {
        assert_in_range(count[f], 1700, 2300);
    }
    bench_cf_names n;
    bench_cf_names_init(&n, BENCH_MAX_CF);
    assert_string_equal(n.names[0], "default");
    assert_string_equal(n.names[1], "cf1");
    assert_string_equal(n.names[BENCH_MAX_CF - 1], "cf63");
}

static int fake_txn_open(const bench_config *cfg, const char *path, int optimistic,
                         bench_txn_db **out)
{
    (void)cfg, (void)path, (void)optimistic, (void)out;
    return STRATA_E_NOTSUP;
}

/* An engine with nothing optional, one with families and transactions. */
static void test_skip(void **state)
{
    (void)state;
    bench_engine plain = {.name = "plain"};
    bench_engine full = {.name = "full", .column_families = 1, .txn_open = fake_txn_open};
    bench_config c;
    assert_int_equal(parse(&c, NULL, NULL), 0);
    assert_int_equal(bench_workload_skip(&plain, &c, "readseq"), 0);
    assert_int_equal(bench_workload_skip(&plain, &c, "txnpessimistic"), BENCH_SKIP_UNSUPPORTED);
    assert_int_equal(bench_workload_skip(&full, &c, "txnoptimistic"), 0);
    assert_int_equal(parse(&c, "--cf=3", NULL), 0);
    assert_int_equal(bench_workload_skip(&plain, &c, "fillrandom"), BENCH_SKIP_NO_CF);
    assert_int_equal(bench_workload_skip(&full, &c, "fillrandom"), 0);
    assert_int_equal(bench_workload_skip(&full, &c, "readrandom"), 0);
    assert_int_equal(bench_workload_skip(&full, &c, "readseq"), BENCH_SKIP_CF_ITER);
    assert_int_equal(bench_workload_skip(&full, &c, "seekrandom"), BENCH_SKIP_CF_ITER);
    assert_int_equal(bench_workload_skip(&full, &c, "txnpessimistic"), 0);
    assert_string_equal(bench_skip_reason(BENCH_SKIP_NO_CF), "no column families (--cf)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_format),
        cmocka_unit_test(test_valpool_shape),
        cmocka_unit_test(test_valpool_compressibility),
        cmocka_unit_test(test_hist_layout),
        cmocka_unit_test(test_hist_percentiles),
        cmocka_unit_test(test_median),
        cmocka_unit_test(test_ratio),
        cmocka_unit_test(test_sync_ceiling),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_preset),
        cmocka_unit_test(test_engines),
        cmocka_unit_test(test_dropin_ratio),
        cmocka_unit_test(test_cf_spread),
        cmocka_unit_test(test_skip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
