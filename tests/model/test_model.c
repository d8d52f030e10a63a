/* test_model.c — randomized model test: long random sequences of operations through the public
 * API, each checked against the in-memory reference map (tests/harness/model_ref.h).
 *
 * Operations: put (some sync, some with the WAL disabled), delete, mixed batches, get and
 * get_pinned, iterator walks with random bounds (seek, seek_for_prev, first/last, next/prev with
 * direction changes), long-lived
 * iterators that must keep their creation state across writes/flushes/compactions, snapshot
 * create/read/release (each open snapshot keeps a clone of the reference as of its creation),
 * flush (waiting or not), compact_range over random ranges, and close/reopen (sometimes with
 * different table options).  Options are tiny (64 KiB write buffer and target file size, small
 * level base, small blocks, small cache, random compression (also per level) and checksum, few open
 * files, sometimes tight level-0 stall limits) so flushes, compactions and stalls run constantly.
 *
 * Seeds: STRATA_TEST_SEED (default 0x5eed) + seed index; operation count per seed:
 * 100000 * STRATA_TEST_SCALE.  Even seed indexes use strata_env_create_mem, odd ones the POSIX
 * env in a tu_mkdtemp directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_util.h"
#include "model_ref.h"
#include "strata.h"
#include "test_util.h"

#define MAX_SNAPS 4
#define HOT_KEYS 400
#define ALL_KEYS 6000

struct snap {
    const strata_snapshot *s;
    mr_map *m;
};

struct run {
    eu_rng r;
    int index;
    strata_env *env; /* private mem env, or NULL for POSIX */
    char *dir;
    const char *path;
    strata_options *opt;
    strata_db *db;
    mr_map *m;
    struct snap snaps[MAX_SNAPS];
    int nsnaps;
    strata_iter *live; /* a long-lived iterator ... */
    mr_map *live_m;    /* ... and the state it must keep showing */
    int unlogged;      /* unlogged writes since the last flush(wait) */
    long ops;
    long counts[16];
    double secs[16];
};

enum { C_PUT, C_DEL, C_BATCH, C_GET, C_WALK, C_SNAP, C_FLUSH, C_COMPACT, C_REOPEN, C_LIVE };

static const int compressions[] = {STRATA_COMPRESSION_NONE, STRATA_COMPRESSION_SNAPPY,
                                   STRATA_COMPRESSION_LZ4, STRATA_COMPRESSION_ZSTD};

/* ---- random keys and values ------------------------------------------------------------------ */

static void gen_key(eu_rng *r, char *buf, size_t *len)
{
    uint64_t i = eu_one_in(r, 3) ? eu_uniform(r, ALL_KEYS) : eu_uniform(r, HOT_KEYS) * 13;
    switch (eu_uniform(r, 16)) {
        case 0:
            *len = (size_t)snprintf(buf, EU_MAX_KEY, "k%06llu/%u", (unsigned long long)i,
                                    (unsigned)eu_uniform(r, 4)); /* extends another key */
            break;
        case 1:
            *len = eu_one_in(r, 8)
                       ? 0
                       : (size_t)snprintf(buf, EU_MAX_KEY, "k%05llu", (unsigned long long)i / 10);
            break;
        default:
            *len = (size_t)snprintf(buf, EU_MAX_KEY, "k%06llu", (unsigned long long)i);
            break;
    }
}

static size_t gen_value(eu_rng *r, char *buf, size_t cap)
{
    size_t n;
    if (eu_one_in(r, 50)) {
        n = 1000 + (size_t)eu_uniform(r, 7000);
    } else if (eu_one_in(r, 20)) {
        n = 0;
    } else {
        n = (size_t)eu_uniform(r, 180);
    }
    if (n > cap) {
        n = cap;
    }
    /* Half compressible, half random, so every codec path runs. */
    if (eu_one_in(r, 2)) {
        memset(buf, 'a' + (int)eu_uniform(r, 26), n);
        if (n > 8) {
            eu_fill(r, buf, 8);
        }
    } else {
        eu_fill(r, buf, n);
    }
    return n;
}

/* ---- setup ----------------------------------------------------------------------------------- */

static void randomize_table_options(struct run *t)
{
    eu_rng *r = &t->r;
    const size_t blocks[] = {256, 1024, 4096};
    tu_assert_ok(strata_options_set_block_size(t->opt, blocks[eu_uniform(r, 3)]));
    tu_assert_ok(strata_options_set_compression(t->opt, compressions[eu_uniform(r, 4)]));
    tu_assert_ok(strata_options_set_checksum(t->opt, (int)eu_uniform(r, 2)));
    tu_assert_ok(strata_options_set_block_restart_interval(t->opt, 1 + (int)eu_uniform(r, 16)));
    tu_assert_ok(strata_options_set_bloom_bits_per_key(t->opt, eu_one_in(r, 4) ? 0 : 10));
    if (eu_one_in(r, 4)) {
        int types[3];
        for (int i = 0; i < 3; i++) {
            types[i] = compressions[eu_uniform(r, 4)];
        }
        tu_assert_ok(strata_options_set_compression_per_level(t->opt, types, 3));
    }
}

static void configure(struct run *t)
{
    eu_rng *r = &t->r;
    t->opt = strata_options_create();
    strata_options_set_create_if_missing(t->opt, 1);
    strata_options_set_info_log(t->opt, eu_one_in(r, 2));
    tu_assert_ok(strata_options_set_write_buffer_size(t->opt, eu_write_buffer_size()));
    tu_assert_ok(strata_options_set_max_write_buffers(t->opt, 2 + (int)eu_uniform(r, 3)));
    tu_assert_ok(strata_options_set_max_background_jobs(t->opt, 2 + (int)eu_uniform(r, 3)));
    tu_assert_ok(strata_options_set_max_open_files(t->opt, eu_one_in(r, 3) ? 16 : 1000));
    tu_assert_ok(strata_options_set_target_file_size(t->opt, 64 << 10));
    tu_assert_ok(strata_options_set_max_bytes_for_level_base(t->opt, 256 << 10));
    tu_assert_ok(strata_options_set_max_bytes_for_level_multiplier(t->opt, 4));
    tu_assert_ok(strata_options_set_num_levels(t->opt, 3 + (int)eu_uniform(r, 5)));
    tu_assert_ok(strata_options_set_dynamic_level_bytes(t->opt, eu_one_in(r, 2)));
    int trigger = 2 + (int)eu_uniform(r, 3);
    tu_assert_ok(strata_options_set_level0_compaction_trigger(t->opt, trigger));
    if (eu_one_in(r, 2)) {
        /* Tight stall limits: writes slow down and stop while compactions catch up. */
        int slowdown = trigger + (int)eu_uniform(r, 3);
        tu_assert_ok(strata_options_set_level0_slowdown_trigger(t->opt, slowdown));
        tu_assert_ok(
            strata_options_set_level0_stop_trigger(t->opt, slowdown + 1 + (int)eu_uniform(r, 3)));
    }
    tu_assert_ok(strata_options_set_block_cache_size(t->opt, 256 << 10));
    randomize_table_options(t);
    if (t->index % 2 == 0) {
        t->env = strata_env_create_mem();
        strata_options_set_env(t->opt, t->env);
        t->path = "/modeldb";
    } else {
        t->dir = tu_mkdtemp("model");
        assert_non_null(t->dir);
        t->path = t->dir;
    }
    char *s = strata_options_to_string(t->opt);
    print_message("[model %d] env=%s options: %s\n", t->index, t->env ? "mem" : "posix", s);
    strata_free(s);
}

static void drop_live(struct run *t)
{
    strata_iter_destroy(t->live);
    mr_destroy(t->live_m);
    t->live = NULL;
    t->live_m = NULL;
}

static void drop_snaps(struct run *t)
{
    for (int i = 0; i < t->nsnaps; i++) {
        strata_snapshot_release(t->db, t->snaps[i].s);
        mr_destroy(t->snaps[i].m);
    }
    t->nsnaps = 0;
}

/* ---- operations ------------------------------------------------------------------------------ */

static void op_put(struct run *t)
{
    char k[EU_MAX_KEY], v[8192];
    size_t kl, vl;
    gen_key(&t->r, k, &kl);
    vl = gen_value(&t->r, v, sizeof(v));
    strata_write_options *wo = NULL;
    if (eu_one_in(&t->r, 50)) {
        /* 1 in 100 sync, 1 in 100 unlogged (made durable by a flush before any reopen). */
        wo = strata_write_options_create();
        if (eu_one_in(&t->r, 2)) {
            strata_write_options_set_sync(wo, 1);
        } else {
            strata_write_options_set_disable_wal(wo, 1);
            t->unlogged = 1;
        }
    }
    tu_assert_ok(strata_put(t->db, wo, k, kl, v, vl));
    strata_write_options_destroy(wo);
    mr_put(t->m, k, kl, v, vl);
    t->counts[C_PUT]++;
}

static void op_del(struct run *t)
{
    char k[EU_MAX_KEY];
    size_t kl;
    gen_key(&t->r, k, &kl);
    tu_assert_ok(strata_delete(t->db, NULL, k, kl));
    mr_del(t->m, k, kl);
    t->counts[C_DEL]++;
}

static void op_batch(struct run *t)
{
    strata_batch *b = strata_batch_create();
    int n = 1 + (int)eu_uniform(&t->r, 30);
    /* The model is updated only after the write succeeds: stage ops in a scratch map copy. */
    mr_map *after = mr_clone(t->m);
    for (int i = 0; i < n; i++) {
        char k[EU_MAX_KEY], v[8192];
        size_t kl, vl;
        gen_key(&t->r, k, &kl);
        if (eu_one_in(&t->r, 3)) {
            tu_assert_ok(strata_batch_delete(b, k, kl));
            mr_del(after, k, kl);
        } else {
            vl = gen_value(&t->r, v, sizeof(v));
            tu_assert_ok(strata_batch_put(b, k, kl, v, vl));
            mr_put(after, k, kl, v, vl);
        }
    }
    tu_assert_ok(strata_write(t->db, NULL, b));
    strata_batch_destroy(b);
    mr_destroy(t->m);
    t->m = after;
    t->counts[C_BATCH]++;
}

static const mr_map *pick_view(struct run *t, strata_read_options *ro)
{
    if (t->nsnaps > 0 && eu_one_in(&t->r, 3)) {
        struct snap *s = &t->snaps[eu_uniform(&t->r, (uint64_t)t->nsnaps)];
        strata_read_options_set_snapshot(ro, s->s);
        return s->m;
    }
    return t->m;
}

static void op_get(struct run *t)
{
    char k[EU_MAX_KEY];
    size_t kl;
    gen_key(&t->r, k, &kl);
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_fill_cache(ro, !eu_one_in(&t->r, 5));
    const mr_map *m = pick_view(t, ro);
    if (!eu_one_in(&t->r, 4)) {
        eu_check_get(t->db, ro, m, k, kl, "model get");
    } else {
        strata_pinned *p = NULL;
        const char *mv;
        size_t mvl, pl;
        int have = mr_get(m, k, kl, &mv, &mvl);
        int rc = strata_get_pinned(t->db, ro, k, kl, &p);
        if (!have) {
            assert_int_equal(rc, STRATA_E_NOTFOUND);
        } else {
            tu_assert_ok(rc);
            const void *pv = strata_pinned_value(p, &pl);
            tu_assert_bytes_equal(pv, pl, mv, mvl);
            strata_pinned_release(p);
        }
    }
    strata_read_options_destroy(ro);
    t->counts[C_GET]++;
}

static void op_walk(struct run *t)
{
    char lo[EU_MAX_KEY], hi[EU_MAX_KEY];
    size_t ll = 0, hl = 0;
    int use_lo = eu_one_in(&t->r, 2), use_hi = eu_one_in(&t->r, 2);
    gen_key(&t->r, lo, &ll);
    gen_key(&t->r, hi, &hl);
    if (use_lo && use_hi && mr_compare(lo, ll, hi, hl) > 0 && !eu_one_in(&t->r, 10)) {
        char tmp[EU_MAX_KEY];
        size_t tl = ll;
        memcpy(tmp, lo, ll);
        memcpy(lo, hi, hl);
        memcpy(hi, tmp, tl);
        ll = hl;
        hl = tl;
    }
    strata_read_options *ro = strata_read_options_create();
    if (use_lo) {
        tu_assert_ok(strata_read_options_set_lower_bound(ro, lo, ll));
    }
    if (use_hi) {
        tu_assert_ok(strata_read_options_set_upper_bound(ro, hi, hl));
    }
    const mr_map *m = pick_view(t, ro);
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(t->db, ro, &it));
    eu_check_iter_walk(it, m, use_lo ? lo : NULL, ll, use_hi ? hi : NULL, hl, &t->r,
                       5 + (int)eu_uniform(&t->r, 25), gen_key, "model walk");
    strata_iter_destroy(it);
    strata_read_options_destroy(ro);
    t->counts[C_WALK]++;
}

static void op_snapshot(struct run *t)
{
    if (t->nsnaps < MAX_SNAPS && !eu_one_in(&t->r, 3)) {
        const strata_snapshot *s = strata_snapshot_create(t->db);
        assert_non_null(s);
        t->snaps[t->nsnaps].s = s;
        t->snaps[t->nsnaps].m = mr_clone(t->m);
        t->nsnaps++;
    } else if (t->nsnaps > 0) {
        int i = (int)eu_uniform(&t->r, (uint64_t)t->nsnaps);
        strata_snapshot_release(t->db, t->snaps[i].s);
        mr_destroy(t->snaps[i].m);
        t->snaps[i] = t->snaps[--t->nsnaps];
    }
    t->counts[C_SNAP]++;
}

static void op_live_iter(struct run *t)
{
    if (t->live && eu_one_in(&t->r, 4)) {
        drop_live(t);
    } else if (!t->live) {
        tu_assert_ok(strata_iter_create(t->db, NULL, &t->live));
        t->live_m = mr_clone(t->m);
    }
    if (t->live) {
        eu_check_iter_walk(t->live, t->live_m, NULL, 0, NULL, 0, &t->r, 10, gen_key,
                           "long-lived iterator");
    }
    t->counts[C_LIVE]++;
}

static void op_flush(struct run *t)
{
    int wait = !eu_one_in(&t->r, 3);
    tu_assert_ok(strata_flush(t->db, wait));
    if (wait) {
        t->unlogged = 0;
    }
    t->counts[C_FLUSH]++;
}

static void op_compact(struct run *t)
{
    char a[EU_MAX_KEY], b[EU_MAX_KEY];
    size_t al, bl;
    gen_key(&t->r, a, &al);
    gen_key(&t->r, b, &bl);
    if (mr_compare(a, al, b, bl) > 0) {
        tu_assert_ok(strata_compact_range(t->db, b, bl, a, al));
    } else if (eu_one_in(&t->r, 4)) {
        tu_assert_ok(strata_compact_range(t->db, NULL, 0, eu_one_in(&t->r, 2) ? b : NULL, bl));
    } else {
        tu_assert_ok(strata_compact_range(t->db, a, al, b, bl));
    }
    t->counts[C_COMPACT]++;
}

static void op_reopen(struct run *t)
{
    drop_live(t);
    drop_snaps(t);
    if (t->unlogged) {
        tu_assert_ok(strata_flush(t->db, 1)); /* unlogged writes live only in the memtable */
        t->unlogged = 0;
    }
    tu_assert_ok(strata_close(t->db));
    t->db = NULL;
    if (eu_one_in(&t->r, 2)) {
        randomize_table_options(t);
    }
    tu_assert_ok(strata_open(t->opt, t->path, &t->db));
    eu_check_db_equals(t->db, NULL, t->m, "after reopen");
    t->counts[C_REOPEN]++;
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void step_op(struct run *t);

/* Runs one operation and charges its wall time to its kind (printed in the summary: it shows
 * where a slow run spends its time, e.g. flushes waiting on background work). */
static void step(struct run *t)
{
    long before[16];
    memcpy(before, t->counts, sizeof(before));
    double t0 = now_sec();
    step_op(t);
    double dt = now_sec() - t0;
    for (int i = 0; i < 16; i++) {
        if (t->counts[i] != before[i]) {
            t->secs[i] += dt;
        }
    }
}

static void step_op(struct run *t)
{
    uint64_t x = eu_uniform(&t->r, 10000);
    if (x < 3800) {
        op_put(t);
    } else if (x < 5000) {
        op_del(t);
    } else if (x < 5600) {
        op_batch(t);
    } else if (x < 7600) {
        op_get(t);
    } else if (x < 8700) {
        op_walk(t);
    } else if (x < 9000) {
        op_snapshot(t);
    } else if (x < 9800) {
        op_live_iter(t);
    } else if (x < 9830) {
        op_flush(t);
    } else if (x < 9840) {
        op_compact(t);
    } else if (x < 9844) {
        op_reopen(t);
    } else {
        op_get(t);
    }
}

/* ---- driver ---------------------------------------------------------------------------------- */

static void run_seed(int index)
{
    struct run t;
    memset(&t, 0, sizeof(t));
    t.index = index;
    uint64_t seed = tu_seed(0x5eed) + (uint64_t)index;
    eu_rng_seed(&t.r, seed);
    configure(&t);
    t.m = mr_create();
    tu_assert_ok(strata_open(t.opt, t.path, &t.db));
    long total = (long)(100000 * tu_scale());
    if (total < 1000) {
        total = 1000;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (t.ops = 0; t.ops < total; t.ops++) {
        step(&t);
        if (t.ops % 25000 == 24999) {
            eu_check_db_equals(t.db, NULL, t.m, "periodic full check");
        }
    }
    drop_live(&t);
    drop_snaps(&t);
    eu_check_db_equals(t.db, NULL, t.m, "final check");
    op_reopen(&t);
    tu_assert_ok(strata_compact_range(t.db, NULL, 0, NULL, 0));
    eu_check_db_equals(t.db, NULL, t.m, "after full compaction");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    char *levels = eu_level_summary(t.db);
    print_message(
        "[model %d] seed %llu: %ld ops in %.1fs, %zu keys, files %s; put %ld del %ld "
        "batch %ld get %ld walk %ld snap %ld live %ld flush %ld compact %ld reopen %ld\n",
        index, (unsigned long long)seed, t.ops,
        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, mr_count(t.m),
        levels ? levels : "?", t.counts[C_PUT], t.counts[C_DEL], t.counts[C_BATCH], t.counts[C_GET],
        t.counts[C_WALK], t.counts[C_SNAP], t.counts[C_LIVE], t.counts[C_FLUSH],
        t.counts[C_COMPACT], t.counts[C_REOPEN]);
    free(levels);
    print_message(
        "[model %d] seconds: put %.1f del %.1f batch %.1f get %.1f walk %.1f snap %.1f "
        "live %.1f flush %.1f compact %.1f reopen %.1f\n",
        index, t.secs[C_PUT], t.secs[C_DEL], t.secs[C_BATCH], t.secs[C_GET], t.secs[C_WALK],
        t.secs[C_SNAP], t.secs[C_LIVE], t.secs[C_FLUSH], t.secs[C_COMPACT], t.secs[C_REOPEN]);
    tu_assert_ok(strata_close(t.db));
    mr_destroy(t.m);
    strata_options_destroy(t.opt);
    strata_env_destroy(t.env);
    tu_free_path(t.dir);
}

static void test_model_seed0(void **state)
{
    (void)state;
    run_seed(0);
}

static void test_model_seed1(void **state)
{
    (void)state;
    run_seed(1);
}

static void test_model_seed2(void **state)
{
    (void)state;
    run_seed(2);
}

static void test_model_seed3(void **state)
{
    (void)state;
    run_seed(3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_seed0),
        cmocka_unit_test(test_model_seed1),
        cmocka_unit_test(test_model_seed2),
        cmocka_unit_test(test_model_seed3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
