/* test_model.c — randomized model test: long random sequences of operations through the public
 * API, each checked against the in-memory reference map (tests/harness/model_ref.h).
 *
 * Operations: put (some sync, some with the WAL disabled), put with a TTL, delete, range delete,
 * prefix delete, merge (the uint64add operator: 8-byte little-endian counters), single delete
 * (only of keys written exactly once since they were last deleted: the model counts writes),
 * mixed batches of all of these, get, get_pinned and multi-get, iterator walks with random bounds
 * (seek, seek_for_prev, first/last, next/prev with direction changes), long-lived iterators that
 * must keep their creation state across writes/flushes/compactions, snapshot create/read/release
 * (each open snapshot keeps a clone of the reference as of its creation), flush (waiting or not),
 * compact_range over random ranges, close/reopen (sometimes with different table options), and
 * advancing the env's fake wall clock.  Options are tiny (64 KiB write buffer and target file
 * size, small level base, small blocks, small cache, random compression (also per level) and
 * checksum, few open files, sometimes tight level-0 stall limits) so flushes, compactions and
 * stalls run constantly.
 *
 * The model's extra state, per entry (mr_meta): the expiry time (TTL puts, and plain puts when a
 * default_ttl is set; checked against the fake clock at every read, snapshot reads included), the
 * number of writes since the key was last deleted and whether one was a merge (for single
 * deletes), and two flags for the compaction filter below.  A merge is only written where its
 * result is defined without knowing when compaction ran: on a key that reads as absent (the
 * counter starts from 0) or holds a plain, non-expiring 8-byte value.
 *
 * The compaction filter is model_view.h's marker filter: values that start with MV_MARK_REMOVE
 * are removed, values that start with MV_MARK_CHANGE become MV_FILTERED (never 8-byte values, so
 * counters are never touched).  When compaction runs is not predictable, so such a key may read
 * either way; model_view.c accepts both, keeps the first filtered result seen in the latest state
 * (a filter never undoes), and holds a snapshot (or one iterator) to whatever it showed first: a
 * live snapshot must never see the filter's work change under it.
 *
 * The clock only moves forward, by whole seconds plus one microsecond per step, so the
 * microsecond part of "now" is a step counter: an expiry time (write time + whole seconds) can
 * never equal a later "now", and no read lands exactly on an expiry boundary.
 *
 * Seeds: STRATA_TEST_SEED (default 0x5eed) + seed index; operation count per seed:
 * 100000 * STRATA_TEST_SCALE.  Even seed indexes use strata_env_create_mem, odd ones
 * strata_env_create_posix in a tu_mkdtemp directory; seed index 3 also sets a default_ttl. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_util.h"
#include "model_ref.h"
#include "model_view.h"
#include "strata.h"
#include "test_util.h"

#define MAX_SNAPS 4
#define HOT_KEYS 400
#define ALL_KEYS 6000
#define COUNTERS 200
#define SEC UINT64_C(1000000)
#define CLOCK_START (UINT64_C(1700000000) * SEC)
#define MV_MAX_MGET 48

struct snap {
    const strata_snapshot *s;
    mr_map *m;
};

enum {
    C_PUT,
    C_PUT_TTL,
    C_DEL,
    C_RANGE,
    C_PREFIX,
    C_MERGE,
    C_SDEL,
    C_BATCH,
    C_GET,
    C_MGET,
    C_WALK,
    C_SNAP,
    C_FLUSH,
    C_COMPACT,
    C_REOPEN,
    C_LIVE,
    C_CLOCK,
    C_SKIP, /* a merge or single delete with no eligible key */
    C_N
};

static const char *const op_names[C_N] = {"put",   "put_ttl", "del",    "range", "prefix", "merge",
                                          "sdel",  "batch",   "get",    "mget",  "walk",   "snap",
                                          "flush", "compact", "reopen", "live",  "clock",  "skip"};

struct run {
    eu_rng r;
    int index;
    strata_env *env;
    char *dir;
    const char *path;
    strata_options *opt;
    strata_merge_operator *mo;
    strata_compaction_filter *cf;
    uint64_t default_ttl;          /* seconds, 0 = none */
    _Atomic uint64_t now;          /* the fake clock, read by background threads */
    _Atomic long filter_counts[2]; /* mv_filter: calls, decisions other than keep */
    long batch_real_clock; /* batch TTL puts whose reported expiry is not by the env's clock */
    strata_db *db;
    mr_map *m;
    struct snap snaps[MAX_SNAPS];
    int nsnaps;
    strata_iter *live; /* a long-lived iterator ... */
    mr_map *live_m;    /* ... and the state it must keep showing */
    int unlogged;      /* unlogged writes since the last flush(wait) */
    long ops;
    long counts[C_N];
    double secs[C_N];
};

/* $STRATA_MODEL_SKIP: a comma-separated list of features the run leaves out, to isolate which
 * one a failure needs: sdel, filter (no marker values), range, prefix, prefix-all (no
 * refused empty-prefix delete), merge, ttl (no TTL puts and no clock steps), snap (no snapshots).  The
 * same seed with a feature skipped runs a different sequence. */
enum {
    SKIP_SDEL = 1,
    SKIP_FILTER = 2,
    SKIP_RANGE = 4,
    SKIP_PREFIX = 8,
    SKIP_PREFIX_ALL = 16,
    SKIP_MERGE = 32,
    SKIP_TTL = 64,
    SKIP_SNAP = 128
};

static unsigned skip_mask(void)
{
    static const char *const names[] = {"sdel",       "filter", "range", "prefix",
                                        "prefix-all", "merge",  "ttl",   "snap"};
    static int parsed;
    static unsigned m;
    if (parsed) {
        return m;
    }
    parsed = 1;
    const char *env = getenv("STRATA_MODEL_SKIP");
    while (env && *env) {
        size_t n = strcspn(env, ",");
        for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (strlen(names[i]) == n && strncmp(env, names[i], n) == 0) {
                m |= 1u << i;
            }
        }
        env += n + (env[n] == ',');
    }
    return m;
}

static const int compressions[] = {STRATA_COMPRESSION_NONE, STRATA_COMPRESSION_SNAPPY,
                                   STRATA_COMPRESSION_LZ4, STRATA_COMPRESSION_ZSTD};

static uint64_t now_of(struct run *t)
{
    return atomic_load_explicit(&t->now, memory_order_relaxed);
}

static uint64_t fake_clock(void *state)
{
    return now_of(state);
}

/* ---- the compaction filter and the merge operand encoding ------------------------------------ */

static void le64_put(char out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        out[i] = (char)(v >> (8 * i));
    }
}

static uint64_t le64_get(const char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | (unsigned char)p[i];
    }
    return v;
}

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
        case 2:
            *len = (size_t)snprintf(buf, EU_MAX_KEY, "c%04u", (unsigned)eu_uniform(r, COUNTERS));
            break;
        default:
            *len = (size_t)snprintf(buf, EU_MAX_KEY, "k%06llu", (unsigned long long)i);
            break;
    }
}

/* Merges go to the counter keys mostly, so counters grow long operand chains. */
static void gen_merge_key(eu_rng *r, char *buf, size_t *len)
{
    if (eu_one_in(r, 4)) {
        gen_key(r, buf, len);
    } else {
        *len = (size_t)snprintf(buf, EU_MAX_KEY, "c%04u", (unsigned)eu_uniform(r, COUNTERS));
    }
}

/* A range [b, e) of one key family: mostly up to 20 keys wide, 1 in 50 up to 1000, 1 in 20
 * inverted (deletes nothing). */
static void gen_range(eu_rng *r, char *b, size_t *bl, char *e, size_t *el)
{
    int counters = eu_one_in(r, 8);
    uint64_t n = counters ? COUNTERS : ALL_KEYS + 100;
    uint64_t i = eu_uniform(r, n);
    uint64_t w = eu_one_in(r, 50) ? eu_uniform(r, counters ? COUNTERS : 1000) : eu_uniform(r, 20);
    uint64_t j = i + w + 1;
    if (eu_one_in(r, 20)) {
        uint64_t tmp = i;
        i = j;
        j = tmp;
    }
    if (counters) {
        *bl = (size_t)snprintf(b, EU_MAX_KEY, "c%04llu", (unsigned long long)i);
        *el = (size_t)snprintf(e, EU_MAX_KEY, "c%04llu", (unsigned long long)j);
    } else {
        *bl = (size_t)snprintf(b, EU_MAX_KEY, "k%06llu", (unsigned long long)i);
        *el = (size_t)snprintf(e, EU_MAX_KEY, "k%06llu", (unsigned long long)j);
    }
}

static size_t gen_plain_value(eu_rng *r, char *buf, size_t cap)
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

/* A plain value, or 1 in 12 a value the compaction filter acts on (never 8 bytes long). */
static size_t gen_value(eu_rng *r, char *buf, size_t cap)
{
    size_t n = gen_plain_value(r, buf, cap);
    if (eu_one_in(r, 12) && !(skip_mask() & SKIP_FILTER)) {
        if (n == 0 || n == 8) {
            n = 9;
            eu_fill(r, buf, n);
        }
        buf[0] = eu_one_in(r, 2) ? MV_MARK_REMOVE : MV_MARK_CHANGE;
    }
    return n;
}

static uint64_t gen_operand(eu_rng *r)
{
    return eu_one_in(r, 10) ? eu_rand(r) : eu_uniform(r, 1000);
}

/* ---- the model's write rules ------------------------------------------------------------------
 */

/* Expiry time of a put of ttl seconds (ttl 0 never expires). */
static uint64_t expiry(struct run *t, uint64_t ttl)
{
    return ttl ? now_of(t) + ttl * SEC : 0;
}

static void model_put(mr_map *m, const char *k, size_t kl, const char *v, size_t vl,
                      uint64_t expire)
{
    mr_meta old;
    const char *ov;
    size_t ovl;
    int had = mr_get_meta(m, k, kl, &ov, &ovl, &old);
    mr_meta nm = {expire, had ? old.writes + 1 : 1, had ? (old.flags & MV_F_MERGE) : 0};
    mr_put_meta(m, k, kl, v, vl, &nm);
}

/* 1 when a merge on key has a result that does not depend on when compaction ran. */
static int merge_ok(struct run *t, const mr_map *m, const char *k, size_t kl)
{
    mr_meta mt;
    const char *v;
    size_t vl;
    if (!mr_get_meta(m, k, kl, &v, &vl, &mt) || !mv_visible(now_of(t), &mt)) {
        return 1;
    }
    return vl == 8 && mt.expire == 0;
}

static void model_merge(struct run *t, mr_map *m, const char *k, size_t kl, uint64_t operand)
{
    mr_meta old;
    const char *v;
    size_t vl;
    int had = mr_get_meta(m, k, kl, &v, &vl, &old);
    uint64_t base = had && mv_visible(now_of(t), &old) ? le64_get(v) : 0;
    char nv[8];
    le64_put(nv, base + operand);
    mr_meta nm = {0, had ? old.writes + 1 : 1, (had ? (old.flags & MV_F_MERGE) : 0) | MV_F_MERGE};
    mr_put_meta(m, k, kl, nv, 8, &nm);
}

/* The single delete contract: exactly one put (and no merge) since the key was last deleted.
 * Values the filter acts on are left out: a put the filter turned into a deletion meeting a
 * single delete is an edge test_api_rangedel_merge checks on its own, deterministically. */
static int sdel_ok(const mr_map *m, const char *k, size_t kl)
{
    mr_meta mt;
    const char *v;
    size_t vl;
    return mr_get_meta(m, k, kl, &v, &vl, &mt) && mt.writes == 1 && !(mt.flags & MV_F_MERGE) &&
           !mv_is_remove_marker(v, vl) && !mv_is_change_marker(v, vl) && !(mt.flags & MV_F_GONE);
}

/* What reads are checked against right now. */
static mv_ctx ctx_of(struct run *t)
{
    mv_ctx c = {t->db, now_of(t), &t->r, gen_key};
    return c;
}

static void check_latest_full(struct run *t, const char *what)
{
    mv_ctx c = ctx_of(t);
    mv_view vw = {t->m, 0, NULL};
    mv_check_full(&c, NULL, &vw, what);
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

static void configure_env(struct run *t)
{
    atomic_store(&t->now, CLOCK_START);
    if (t->index % 2 == 0) {
        t->env = strata_env_create_mem();
        t->path = "/modeldb";
    } else {
        t->env = strata_env_create_posix();
        t->dir = tu_mkdtemp("model");
        assert_non_null(t->dir);
        t->path = t->dir;
    }
    assert_non_null(t->env);
    tu_assert_ok(strata_env_set_clock(t->env, fake_clock, t));
    tu_assert_ok(strata_options_set_env(t->opt, t->env));
    t->mo = strata_merge_operator_uint64_add();
    assert_non_null(t->mo);
    tu_assert_ok(strata_options_set_merge_operator(t->opt, t->mo));
    t->cf = strata_compaction_filter_create(t->filter_counts, NULL, mv_filter, "model.markers");
    assert_non_null(t->cf);
    tu_assert_ok(strata_options_set_compaction_filter(t->opt, t->cf));
    if (t->index % 4 == 3) {
        t->default_ttl = 200;
        tu_assert_ok(strata_options_set_default_ttl(t->opt, t->default_ttl));
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
    configure_env(t);
    char *s = strata_options_to_string(t->opt);
    print_message("[model %d] env=%s default_ttl=%llu skip=0x%x options: %s\n", t->index,
                  t->dir ? "posix" : "mem", (unsigned long long)t->default_ttl, skip_mask(), s);
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

/* ---- writes ---------------------------------------------------------------------------------- */

/* Write options: 1 in 100 sync, 1 in 100 unlogged (made durable by a flush before any reopen).
 * Owned by the caller (NULL: defaults). */
static strata_write_options *pick_wo(struct run *t)
{
    if (!eu_one_in(&t->r, 50)) {
        return NULL;
    }
    strata_write_options *wo = strata_write_options_create();
    if (eu_one_in(&t->r, 2)) {
        strata_write_options_set_sync(wo, 1);
    } else {
        strata_write_options_set_disable_wal(wo, 1);
        t->unlogged = 1;
    }
    return wo;
}

static void op_put(struct run *t)
{
    char k[EU_MAX_KEY], v[8192];
    size_t kl, vl;
    gen_key(&t->r, k, &kl);
    vl = gen_value(&t->r, v, sizeof(v));
    strata_write_options *wo = pick_wo(t);
    /* With a default_ttl, filter markers are written without expiry (put_ttl 0), so what the
     * filter changes never has an expiry whose fate the header leaves open. */
    int marker = mv_is_remove_marker(v, vl) || mv_is_change_marker(v, vl);
    if (marker && t->default_ttl) {
        tu_assert_ok(strata_put_ttl(t->db, wo, k, kl, v, vl, 0));
        model_put(t->m, k, kl, v, vl, 0);
    } else {
        tu_assert_ok(strata_put(t->db, wo, k, kl, v, vl));
        model_put(t->m, k, kl, v, vl, expiry(t, t->default_ttl));
    }
    strata_write_options_destroy(wo);
    t->counts[C_PUT]++;
}

static uint64_t gen_ttl(eu_rng *r)
{
    return eu_one_in(r, 8) ? 0 : 1 + eu_uniform(r, eu_one_in(r, 4) ? 600 : 60);
}

static void op_put_ttl(struct run *t)
{
    char k[EU_MAX_KEY], v[8192];
    size_t kl, vl;
    gen_key(&t->r, k, &kl);
    vl = gen_plain_value(&t->r, v, sizeof(v));
    uint64_t ttl = gen_ttl(&t->r);
    tu_assert_ok(strata_put_ttl(t->db, NULL, k, kl, v, vl, ttl));
    model_put(t->m, k, kl, v, vl, expiry(t, ttl));
    t->counts[C_PUT_TTL]++;
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

static void op_range(struct run *t)
{
    char b[EU_MAX_KEY], e[EU_MAX_KEY];
    size_t bl, el;
    gen_range(&t->r, b, &bl, e, &el);
    tu_assert_ok(strata_delete_range(t->db, NULL, b, bl, e, el));
    mr_del_range(t->m, b, bl, e, el);
    t->counts[C_RANGE]++;
}

static void op_prefix(struct run *t)
{
    char p[EU_MAX_KEY];
    size_t pl;
    if (eu_one_in(&t->r, 200) && !(skip_mask() & SKIP_PREFIX_ALL)) {
        /* The empty prefix has no end key: refused, nothing deleted (strata.h). */
        assert_int_equal(strata_delete_prefix(t->db, NULL, "", 0), STRATA_E_INVALID);
        t->counts[C_PREFIX]++;
        return;
    }
    gen_key(&t->r, p, &pl);
    size_t keep = 5 + (size_t)eu_uniform(&t->r, 4); /* "k0001": 100 keys */
    pl = pl < keep ? pl : keep;
    if (pl == 0) { /* the empty key: not a wipe of everything */
        memcpy(p, "k00", 3);
        pl = 3;
    }
    tu_assert_ok(strata_delete_prefix(t->db, NULL, p, pl));
    mr_del_prefix(t->m, p, pl);
    t->counts[C_PREFIX]++;
}

static void op_merge(struct run *t)
{
    char k[EU_MAX_KEY], op[8];
    size_t kl;
    gen_merge_key(&t->r, k, &kl);
    if (!merge_ok(t, t->m, k, kl)) {
        t->counts[C_SKIP]++;
        return;
    }
    uint64_t x = gen_operand(&t->r);
    le64_put(op, x);
    tu_assert_ok(strata_merge(t->db, NULL, k, kl, op, 8));
    model_merge(t, t->m, k, kl, x);
    t->counts[C_MERGE]++;
}

/* A key of m that may be single-deleted: key itself, or one of the next entries. */
static int find_sdel_key(const mr_map *m, char *k, size_t *kl)
{
    if (sdel_ok(m, k, *kl)) {
        return 1;
    }
    size_t n = mr_count(m);
    size_t i = mr_lower_bound(m, k, *kl);
    for (size_t j = 0; j < 16 && n > 0; j++, i++) {
        const char *mk;
        size_t mkl;
        mr_entry(m, i % n, &mk, &mkl, NULL, NULL);
        if (sdel_ok(m, mk, mkl)) {
            memcpy(k, mk, mkl);
            *kl = mkl;
            return 1;
        }
    }
    return 0;
}

static void op_sdel(struct run *t)
{
    char k[EU_MAX_KEY], v[8192];
    size_t kl;
    gen_key(&t->r, k, &kl);
    const char *ov;
    size_t ovl;
    if (eu_one_in(&t->r, 3) && !mr_get(t->m, k, kl, &ov, &ovl)) {
        /* The intended pattern: a fresh key written once, then single-deleted later. */
        size_t vl = gen_plain_value(&t->r, v, sizeof(v));
        if (t->default_ttl) {
            tu_assert_ok(strata_put_ttl(t->db, NULL, k, kl, v, vl, 0));
        } else {
            tu_assert_ok(strata_put(t->db, NULL, k, kl, v, vl));
        }
        model_put(t->m, k, kl, v, vl, 0);
    }
    if (!find_sdel_key(t->m, k, &kl)) {
        t->counts[C_SKIP]++;
        return;
    }
    tu_assert_ok(strata_single_delete(t->db, NULL, k, kl));
    mr_del(t->m, k, kl);
    t->counts[C_SDEL]++;
}

static int note_ttl(void *ctx, int op, const char *key, size_t klen, const char *value, size_t vlen,
                    uint64_t expire)
{
    (void)key;
    (void)klen;
    (void)value;
    (void)vlen;
    if (op == STRATA_OP_PUT_TTL) {
        *(uint64_t *)ctx = expire;
    }
    return 0;
}

/* The expiry time the batch reports for its last TTL put (strata_batch_iterate_ops).  A batch
 * has no env, so it cannot read the env's clock when the operation is added; the model holds the
 * engine to the env's clock (as for strata_put_ttl; the clock never moves between adding and
 * writing) and only counts reports that differ. */
static uint64_t last_ttl_expiry(const strata_batch *b)
{
    uint64_t e = 0;
    tu_assert_ok(strata_batch_iterate_ops(b, &e, note_ttl));
    return e;
}

/* One random operation added to batch b and applied to after. */
static void batch_add(struct run *t, strata_batch *b, mr_map *after)
{
    char k[EU_MAX_KEY], e[EU_MAX_KEY], v[8192];
    size_t kl, el, vl;
    uint64_t x = eu_uniform(&t->r, 100);
    unsigned skip = skip_mask();
    if ((x >= 55 && x < 62 && (skip & SKIP_RANGE)) || (x >= 62 && x < 80 && (skip & SKIP_MERGE)) ||
        (x >= 80 && x < 90 && (skip & SKIP_SDEL)) || (x >= 90 && (skip & SKIP_TTL))) {
        x = 0; /* a put instead */
    }
    if (x < 40) {
        gen_key(&t->r, k, &kl);
        vl = gen_value(&t->r, v, sizeof(v));
        int marker = mv_is_remove_marker(v, vl) || mv_is_change_marker(v, vl);
        if (marker && t->default_ttl) {
            tu_assert_ok(strata_batch_put_ttl(b, k, kl, v, vl, 0));
            model_put(after, k, kl, v, vl, 0);
        } else {
            tu_assert_ok(strata_batch_put(b, k, kl, v, vl));
            model_put(after, k, kl, v, vl, expiry(t, t->default_ttl));
        }
    } else if (x < 55) {
        gen_key(&t->r, k, &kl);
        tu_assert_ok(strata_batch_delete(b, k, kl));
        mr_del(after, k, kl);
    } else if (x < 62) {
        gen_range(&t->r, k, &kl, e, &el);
        tu_assert_ok(strata_batch_delete_range(b, k, kl, e, el));
        mr_del_range(after, k, kl, e, el);
    } else if (x < 80) {
        gen_merge_key(&t->r, k, &kl);
        if (merge_ok(t, after, k, kl)) {
            uint64_t op = gen_operand(&t->r);
            le64_put(v, op);
            tu_assert_ok(strata_batch_merge(b, k, kl, v, 8));
            model_merge(t, after, k, kl, op);
        }
    } else if (x < 90) {
        gen_key(&t->r, k, &kl);
        if (find_sdel_key(after, k, &kl)) {
            tu_assert_ok(strata_batch_single_delete(b, k, kl));
            mr_del(after, k, kl);
        }
    } else {
        gen_key(&t->r, k, &kl);
        vl = gen_plain_value(&t->r, v, sizeof(v));
        uint64_t ttl = gen_ttl(&t->r);
        tu_assert_ok(strata_batch_put_ttl(b, k, kl, v, vl, ttl));
        uint64_t exp = last_ttl_expiry(b);
        if (exp != expiry(t, ttl)) {
            t->batch_real_clock++;
        }
        model_put(after, k, kl, v, vl, expiry(t, ttl));
    }
}

static int trace_op(void *ctx, int op, const char *key, size_t klen, const char *value, size_t vlen,
                    uint64_t expire)
{
    const char *tk = ctx;
    size_t tl = strlen(tk);
    int hit = mr_compare(key, klen, tk, tl) == 0 ||
              (op == STRATA_OP_DELETE_RANGE && mr_compare(key, klen, tk, tl) <= 0 &&
               mr_compare(tk, tl, value, vlen) < 0);
    if (hit) {
        print_message("[trace %s]   batch op %d value %zu bytes \"%.*s\" expire %llu\n", tk, op,
                      vlen, (int)(vlen < 40 ? vlen : 40), value, (unsigned long long)expire);
    }
    return 0;
}

static void op_batch(struct run *t)
{
    strata_batch *b = strata_batch_create();
    int n = 1 + (int)eu_uniform(&t->r, 30);
    /* The model is updated only after the write succeeds: stage ops in a scratch map copy. */
    mr_map *after = mr_clone(t->m);
    for (int i = 0; i < n; i++) {
        batch_add(t, b, after);
    }
    if (getenv("STRATA_MODEL_TRACE")) {
        tu_assert_ok(strata_batch_iterate_ops(b, (void *)getenv("STRATA_MODEL_TRACE"), trace_op));
    }
    tu_assert_ok(strata_write(t->db, NULL, b));
    strata_batch_destroy(b);
    mr_destroy(t->m);
    t->m = after;
    t->counts[C_BATCH]++;
}

/* ---- reads ----------------------------------------------------------------------------------- */

/* A snapshot view (1 in 3 when one is open) or the latest state; sets ro's snapshot. */
static mv_view pick_view(struct run *t, strata_read_options *ro)
{
    if (t->nsnaps > 0 && eu_one_in(&t->r, 3)) {
        struct snap *s = &t->snaps[eu_uniform(&t->r, (uint64_t)t->nsnaps)];
        strata_read_options_set_snapshot(ro, s->s);
        mv_view vw = {s->m, 1, NULL};
        return vw;
    }
    mv_view vw = {t->m, 0, NULL};
    return vw;
}

static void op_get(struct run *t)
{
    mv_ctx c = ctx_of(t);
    char k[EU_MAX_KEY];
    size_t kl;
    gen_key(&t->r, k, &kl);
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_fill_cache(ro, !eu_one_in(&t->r, 5));
    mv_view vw = pick_view(t, ro);
    mv_check_get(&c, &vw, ro, k, kl, eu_one_in(&t->r, 4),
                 vw.pin ? "model get (snapshot)" : "model get (latest)");
    strata_read_options_destroy(ro);
    t->counts[C_GET]++;
}

static void op_multi_get(struct run *t)
{
    mv_ctx c = ctx_of(t);
    char bufs[MV_MAX_MGET][EU_MAX_KEY];
    const char *keys[MV_MAX_MGET];
    size_t kls[MV_MAX_MGET];
    size_t n = 1 + (size_t)eu_uniform(&t->r, eu_one_in(&t->r, 4) ? MV_MAX_MGET : 8);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && eu_one_in(&t->r, 8)) { /* a duplicate */
            size_t j = (size_t)eu_uniform(&t->r, i);
            memcpy(bufs[i], bufs[j], kls[j]);
            kls[i] = kls[j];
        } else if (eu_one_in(&t->r, 2)) {
            gen_merge_key(&t->r, bufs[i], &kls[i]);
        } else {
            gen_key(&t->r, bufs[i], &kls[i]);
        }
        keys[i] = bufs[i];
    }
    strata_read_options *ro = strata_read_options_create();
    mv_view vw = pick_view(t, ro);
    mv_check_multi_get(&c, &vw, ro, n, keys, kls,
                       vw.pin ? "model multi_get (snapshot)" : "model multi_get (latest)");
    strata_read_options_destroy(ro);
    t->counts[C_MGET]++;
}

static void op_walk(struct run *t)
{
    mv_ctx c = ctx_of(t);
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
    mv_view vw = pick_view(t, ro);
    int cloned = !vw.pin;
    const char *what = cloned ? "model walk (latest)" : "model walk (snapshot)";
    if (cloned) {
        vw = mv_latest_iter_view(t->m);
    }
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(t->db, ro, &it));
    mv_walk w;
    mv_walk_init(&w, &c, it, &vw, use_lo ? lo : NULL, ll, use_hi ? hi : NULL, hl, what);
    int steps = 5 + (int)eu_uniform(&t->r, 25);
    for (int i = 0; i < steps; i++) {
        mv_walk_move(&w);
    }
    if (strata_iter_status(it) != 0) {
        mv_walk_fail_at(&w, "iterator status", SIZE_MAX);
    }
    strata_iter_destroy(it);
    strata_read_options_destroy(ro);
    if (cloned) {
        mr_destroy(vw.m);
    }
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
    mv_ctx c = ctx_of(t);
    if (t->live && eu_one_in(&t->r, 4)) {
        drop_live(t);
    } else if (!t->live) {
        tu_assert_ok(strata_iter_create(t->db, NULL, &t->live));
        t->live_m = mr_clone(t->m);
    }
    if (t->live) {
        mv_view vw = {t->live_m, 1, NULL};
        mv_walk w;
        mv_walk_init(&w, &c, t->live, &vw, NULL, 0, NULL, 0, "long-lived iterator");
        for (int i = 0; i < 10; i++) {
            mv_walk_move(&w);
        }
    }
    t->counts[C_LIVE]++;
}

/* ---- maintenance and time ----------------------------------------------------------------------
 */

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

static void reopen(struct run *t)
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
    check_latest_full(t, "after reopen");
}

static void op_reopen(struct run *t)
{
    reopen(t);
    t->counts[C_REOPEN]++;
}

/* Keys that expired when the clock moved from before to the current time must be absent at
 * once from get, multi-get and a seek. */
static void check_just_expired(struct run *t, uint64_t before)
{
    mv_ctx c = ctx_of(t);
    const char *keys[16];
    size_t kls[16];
    size_t n = 0;
    uint64_t now = now_of(t);
    size_t count = mr_count(t->m);
    size_t start = count ? (size_t)eu_uniform(&t->r, count) : 0;
    for (size_t j = 0; j < count && n < 16; j++) {
        size_t i = (start + j) % count;
        mr_meta mt;
        mr_entry_meta(t->m, i, &mt);
        if (mt.expire > before && mt.expire <= now) {
            mr_entry(t->m, i, &keys[n], &kls[n], NULL, NULL);
            n++;
        }
    }
    if (n == 0) {
        return;
    }
    mv_view vw = {t->m, 0, NULL};
    for (size_t i = 0; i < n; i++) {
        mv_check_get(&c, &vw, NULL, keys[i], kls[i], (int)(i % 2),
                     "get of a key that just expired");
    }
    mv_check_multi_get(&c, &vw, NULL, n, keys, kls, "multi_get of keys that just expired");
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(t->db, NULL, &it));
    mv_view iv = mv_latest_iter_view(t->m);
    mv_walk w;
    mv_walk_init(&w, &c, it, &iv, NULL, 0, NULL, 0, "seek to a key that just expired");
    for (size_t i = 0; i < n; i++) {
        w.move = "seek";
        strata_iter_seek(it, keys[i], kls[i]);
        mv_expect_forward(&w, mr_lower_bound(iv.m, keys[i], kls[i]));
        w.move = "seek_for_prev";
        strata_iter_seek_for_prev(it, keys[i], kls[i]);
        mv_expect_backward(&w, mr_upper_bound(iv.m, keys[i], kls[i]));
    }
    strata_iter_destroy(it);
    mr_destroy(iv.m);
}

/* Moves the clock forward by whole seconds plus one microsecond (see the file comment).  The
 * long-lived iterator is dropped: whether an iterator re-reads the clock is not specified. */
static void op_clock(struct run *t)
{
    drop_live(t);
    uint64_t before = now_of(t);
    uint64_t secs = eu_one_in(&t->r, 4) ? 0 : eu_uniform(&t->r, eu_one_in(&t->r, 8) ? 400 : 30);
    atomic_store_explicit(&t->now, before + secs * SEC + 1, memory_order_relaxed);
    check_just_expired(t, before);
    t->counts[C_CLOCK]++;
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* $STRATA_MODEL_TRACE=<key>: every operation that changes the model's entry of that key is
 * printed with its number and the new entry, to find what a failing key went through. */
static void trace_step(struct run *t, const char *op)
{
    static const char *key;
    static int init;
    static char last[512];
    if (!init) {
        key = getenv("STRATA_MODEL_TRACE");
        init = 1;
    }
    if (!key) {
        return;
    }
    char now[512];
    const char *v;
    size_t vl;
    mr_meta mt;
    if (mr_get_meta(t->m, key, strlen(key), &v, &vl, &mt)) {
        snprintf(now, sizeof(now), "%zu bytes \"%.*s\" expire %llu writes %u flags %u", vl,
                 (int)(vl < 40 ? vl : 40), v, (unsigned long long)mt.expire, mt.writes, mt.flags);
    } else {
        snprintf(now, sizeof(now), "absent");
    }
    if (strcmp(op, "snap") == 0 || strcmp(op, "reopen") == 0 || strcmp(op, "compact") == 0) {
        print_message("[trace %s] op %ld %s (%d snapshots open)\n", key, t->ops, op, t->nsnaps);
    }
    if (strcmp(now, last) != 0) {
        print_message("[trace %s] op %ld %s (clock %llu): %s\n", key, t->ops, op,
                      (unsigned long long)now_of(t), now);
        memcpy(last, now, sizeof(last));
    }
}

static void step_op(struct run *t);

/* Runs one operation and charges its wall time to its kind (printed in the summary: it shows
 * where a slow run spends its time, e.g. flushes waiting on background work). */
static void step(struct run *t)
{
    long before[C_N];
    memcpy(before, t->counts, sizeof(before));
    double t0 = now_sec();
    step_op(t);
    double dt = now_sec() - t0;
    for (int i = 0; i < C_N; i++) {
        if (t->counts[i] != before[i]) {
            t->secs[i] += dt;
            trace_step(t, op_names[i]);
        }
    }
}

static void step_op(struct run *t)
{
    static const struct {
        int upto;
        void (*fn)(struct run *t);
    } mix[] = {
        {2800, op_put},       {3200, op_put_ttl},   {4000, op_del},     {4100, op_range},
        {4130, op_prefix},    {4800, op_merge},     {5100, op_sdel},    {5600, op_batch},
        {7200, op_get},       {7700, op_multi_get}, {8700, op_walk},    {9000, op_snapshot},
        {9600, op_live_iter}, {9630, op_flush},     {9640, op_compact}, {9644, op_reopen},
        {9670, op_clock},     {10000, op_get},
    };
    static const struct {
        void (*fn)(struct run *t);
        unsigned skip;
    } skippable[] = {{op_sdel, SKIP_SDEL},    {op_range, SKIP_RANGE}, {op_prefix, SKIP_PREFIX},
                     {op_merge, SKIP_MERGE},  {op_put_ttl, SKIP_TTL}, {op_clock, SKIP_TTL},
                     {op_snapshot, SKIP_SNAP}};
    int x = (int)eu_uniform(&t->r, 10000);
    for (size_t i = 0; i < sizeof(mix) / sizeof(mix[0]); i++) {
        if (x < mix[i].upto) {
            for (size_t j = 0; j < sizeof(skippable) / sizeof(skippable[0]); j++) {
                if (skippable[j].fn == mix[i].fn && (skip_mask() & skippable[j].skip)) {
                    op_get(t); /* a skipped operation becomes a read */
                    return;
                }
            }
            mix[i].fn(t);
            return;
        }
    }
}

/* ---- driver ---------------------------------------------------------------------------------- */

static void print_summary(struct run *t, uint64_t seed, double secs)
{
    char counts[512], times[512];
    size_t cu = 0, tu = 0;
    for (int i = 0; i < C_N; i++) {
        cu += (size_t)snprintf(counts + cu, sizeof(counts) - cu, " %s %ld", op_names[i],
                               t->counts[i]);
        tu += (size_t)snprintf(times + tu, sizeof(times) - tu, " %s %.1f", op_names[i], t->secs[i]);
    }
    char *levels = eu_level_summary(t->db);
    print_message(
        "[model %d] seed %llu: %ld ops in %.1fs, %zu keys, files %s, filter calls %ld "
        "(acted %ld), batch TTL expiries reported not by the env clock %ld, clock +%llus;%s\n",
        t->index, (unsigned long long)seed, t->ops, secs, mr_count(t->m), levels ? levels : "?",
        atomic_load(&t->filter_counts[0]), atomic_load(&t->filter_counts[1]), t->batch_real_clock,
        (unsigned long long)((now_of(t) - CLOCK_START) / SEC), counts);
    print_message("[model %d] seconds:%s\n", t->index, times);
    free(levels);
}

/* Every open snapshot and the long-lived iterator checked in full. */
static void check_views(struct run *t, const char *what)
{
    mv_ctx c = ctx_of(t);
    check_latest_full(t, what);
    for (int i = 0; i < t->nsnaps; i++) {
        mv_view vw = {t->snaps[i].m, 1, NULL};
        mv_check_full(&c, t->snaps[i].s, &vw, what);
    }
}

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
    double t0 = now_sec();
    for (t.ops = 0; t.ops < total; t.ops++) {
        step(&t);
        if (t.ops % 25000 == 24999) {
            check_views(&t, "periodic full check");
        }
    }
    drop_live(&t);
    drop_snaps(&t);
    check_latest_full(&t, "final check");
    reopen(&t);
    tu_assert_ok(strata_compact_range(t.db, NULL, 0, NULL, 0));
    check_latest_full(&t, "after full compaction");
    /* Far in the future every TTL value has expired; a full compaction must not bring back
     * anything they hid. */
    atomic_fetch_add(&t.now, 100000 * SEC + 1);
    check_latest_full(&t, "after every TTL expired");
    tu_assert_ok(strata_compact_range(t.db, NULL, 0, NULL, 0));
    check_latest_full(&t, "after every TTL expired and a full compaction");
    print_summary(&t, seed, now_sec() - t0);
    tu_assert_ok(strata_close(t.db));
    mr_destroy(t.m);
    strata_options_destroy(t.opt);
    strata_compaction_filter_destroy(t.cf);
    strata_merge_operator_destroy(t.mo);
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
