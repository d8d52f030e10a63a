/* test_corruption_ecc.c — the corruption sweep of tables with parity.  For each configuration
 * (Reed-Solomon 8+2, XOR over 8 shards, both again with AES-256-GCM, and RS 4+3 with zstd, XXH3
 * checksums and encryption) a small DB with one table (about 40 data blocks of 512 bytes, a bloom
 * filter, properties, metaindex, index, footer and its mirror, every block followed by its
 * parity region) is built in an in-memory env.  The test reads the table's layout with the keys
 * and classifies every byte of the file into a region: a block (data, index, filter,
 * properties, metaindex), a block's parity region, the footer mirror, the footer.  The regions
 * must tile the file exactly.  Then, each trial on a fresh copy of the DB:
 *
 *   single-bit flips — one bit at a position drawn from each region in turn (every region gets
 *     trials; the rest are spread by size), the DB opened, every key read with strata_get and a
 *     forward scan, then strata_verify.  Every flip must read back every key with its value.
 *     A flip in a block or the primary footer must heal on read ("strata.ecc-healed-blocks");
 *     a flip in a parity region or the mirror harms no read and must be found (and scheduled
 *     for rewrite) by strata_verify.  Nothing may go unnoticed.
 *   bursts beyond the parity's reach — in one block, one byte in each of m+1 distinct data
 *     shards (XOR: 2), or both footer copies: every read that fails must fail with
 *     STRATA_E_CORRUPTION (or STRATA_E_AUTH) naming the table and the damaged block's offset,
 *     at least one read must fail, and no read may return a value that was not written.
 *   random bursts — 2 to 3·s random bytes at a random position (s: the shard size): either
 *     every key reads back correctly or reads fail as above; never a wrong value.
 *
 * Heal statistics per configuration and region are printed for quoting.  Trials scale with
 * STRATA_TEST_SCALE (1500 flips per configuration at 1.0, at least 150); STRATA_TEST_SEED
 * changes the positions.  Each trial runs in-process (a crash fails the whole test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/ecc.h"
#include "env/env.h"
#include "strata.h"
#include "table/format.h"
#include "util/alloc.h"
#include "util/crc32c.h"

/* after the engine headers: cmocka defines a skip() macro that clashes with env.h */
#include "table_map.h"
#include "test_util.h"

#define NKEYS 400
#define MAX_FILES 16
#define MAX_REGIONS (2 * TM_MAX_BLOCKS + 16)
#define DBDIR "/db"

/* ---- configurations -------------------------------------------------------------------------- */

typedef struct cfg {
    const char *name;
    const char *text;
} cfg;

static const cfg g_cfgs[] = {
    {"rs 8+2", "ecc=rs"},
    {"xor 8", "ecc=xor"},
    {"rs 8+2 aes", "ecc=rs;encryption=aes-256-gcm"},
    {"xor 8 aes", "ecc=xor;encryption=aes-256-gcm"},
    {"rs 4+3 zstd xxh3 aes",
     "ecc=rs;ecc_data_shards=4;ecc_parity_shards=3;compression=zstd;checksum=xxh3;"
     "encryption=aes-256-gcm"},
};
#define NCFGS ((int)(sizeof(g_cfgs) / sizeof(g_cfgs[0])))

/* ---- regions --------------------------------------------------------------------------------- */

enum rclass {
    RC_DATA,
    RC_DATA_PARITY,
    RC_INDEX,
    RC_INDEX_PARITY,
    RC_FILTER,
    RC_FILTER_PARITY,
    RC_PROPS,
    RC_PROPS_PARITY,
    RC_META,
    RC_META_PARITY,
    RC_MIRROR,
    RC_FOOTER,
    NRC
};
static const char *const rc_names[NRC] = {
    "data",       "data parity",  "index",     "index parity", "filter",        "filter parity",
    "properties", "props parity", "metaindex", "meta parity",  "footer mirror", "footer"};

/* Whether a flip in the class must heal on read (a block, the primary footer) or is only found
 * by verify (parity regions, the mirror). */
static int heals_on_read(int c)
{
    return c == RC_FOOTER || (c < RC_MIRROR && c % 2 == 0);
}

typedef struct region {
    int cls;
    uint64_t off, len;
    st_block_handle block; /* the block (for parity regions: the block they protect) */
} region;

/* ---- the golden DB --------------------------------------------------------------------------- */

typedef struct golden {
    char names[MAX_FILES][64];
    char *data[MAX_FILES];
    size_t len[MAX_FILES];
    int nfiles, table; /* index of the table among the files */
    tm_table t;
    region r[MAX_REGIONS];
    int nr;
    uint64_t class_bytes[NRC];
} golden;

static void key_of(int i, char *k)
{
    snprintf(k, 32, "eccsweep-key-%05d", i);
}

/* A value naming its key, 10..130 bytes, half of them compressible. */
static size_t val_of(int i, char *v)
{
    int n = snprintf(v, 160, "value-of-%05d:", i);
    size_t len = 10 + (size_t)(i * 7919 % 121);
    for (size_t j = (size_t)n; j < len; j++) {
        v[j] = i % 2 ? (char)('a' + (i + j) % 26) : (char)('a' + (i * 31 + j * j) % 26);
    }
    return len > (size_t)n ? len : (size_t)n;
}

static strata_options *make_options(const cfg *c, tm_keyring *ring, strata_env *env)
{
    strata_options *o = strata_options_create();
    assert_non_null(o);
    tu_assert_ok(strata_options_from_string(o,
                                            "block_size=512;block_restart_interval=4;"
                                            "bloom_bits_per_key=10;write_buffer_size=1MB;"
                                            "max_background_jobs=2"));
    tu_assert_ok(strata_options_from_string(o, c->text));
    if (strstr(c->text, "encryption")) {
        strata_key_provider *kp = tm_ring_provider(ring);
        tu_assert_ok(strata_options_set_key_provider(o, kp));
        strata_key_provider_destroy(kp);
    }
    tu_assert_ok(strata_options_set_env(o, env));
    return o;
}

static void add_region(golden *g, int cls, uint64_t off, uint64_t len, st_block_handle b)
{
    assert_true(g->nr < MAX_REGIONS);
    g->r[g->nr++] = (region){cls, off, len, b};
    g->class_bytes[cls] += len;
}

static void add_block(golden *g, int cls, st_block_handle h)
{
    add_region(g, cls, h.offset, h.size, h);
    add_region(g, cls + 1, h.offset + h.size, tm_parity_len(&g->t, h), h);
}

static int region_cmp(const void *a, const void *b)
{
    const region *x = a, *y = b;
    return (x->off > y->off) - (x->off < y->off);
}

/* Every byte of the table in exactly one region. */
static void map_regions(golden *g)
{
    tm_table *t = &g->t;
    for (int i = 0; i < t->ndata; i++) {
        add_block(g, RC_DATA, t->data[i]);
    }
    add_block(g, RC_INDEX, t->index);
    assert_true(t->has_filter);
    add_block(g, RC_FILTER, t->filter);
    add_block(g, RC_PROPS, t->props);
    add_block(g, RC_META, t->meta);
    st_block_handle none = {0, 0};
    add_region(g, RC_MIRROR, t->blocks_end, ST_FOOTER3_LEN, none);
    add_region(g, RC_FOOTER, t->size - ST_FOOTER3_LEN, ST_FOOTER3_LEN, none);
    qsort(g->r, (size_t)g->nr, sizeof(region), region_cmp);
    uint64_t at = 0;
    for (int i = 0; i < g->nr; i++) {
        assert_int_equal(g->r[i].off, at);
        at += g->r[i].len;
    }
    assert_int_equal(at, t->size);
}

static void build_golden(const cfg *c, tm_keyring *ring, golden *g)
{
    memset(g, 0, sizeof(*g));
    strata_env *env = strata_env_create_mem();
    strata_options *o = make_options(c, ring, env);
    tu_assert_ok(strata_options_set_create_if_missing(o, 1));
    strata_db *db;
    tu_assert_ok(strata_open(o, DBDIR, &db));
    for (int i = 0; i < NKEYS; i++) {
        char k[32], v[160];
        key_of(i, k);
        size_t vl = val_of(i, v);
        tu_assert_ok(strata_put(db, NULL, k, strlen(k), v, vl));
    }
    tu_assert_ok(strata_flush(db, 1));
    tu_assert_ok(strata_close(db));
    char **names;
    int n;
    tu_assert_ok(st_env_list_dir(env, DBDIR, &names, &n));
    assert_true(n <= MAX_FILES);
    g->table = -1;
    for (int i = 0; i < n; i++) {
        char path[128];
        snprintf(g->names[i], 64, "%s", names[i]);
        snprintf(path, sizeof(path), DBDIR "/%s", names[i]);
        tu_assert_ok(st_env_read_file(env, path, 1 << 24, &g->data[i], &g->len[i]));
        if (strstr(names[i], ".sst")) {
            assert_int_equal(g->table, -1);
            g->table = i;
        }
    }
    g->nfiles = n;
    assert_true(g->table >= 0);
    tm_map_table(env, DBDIR, g->names[g->table], ring, &g->t);
    st_env_free_names(names, n);
    strata_options_destroy(o);
    strata_env_destroy(env);
    map_regions(g);
}

static void free_golden(golden *g)
{
    for (int i = 0; i < g->nfiles; i++) {
        st_free(g->data[i]);
    }
}

/* ---- one trial ------------------------------------------------------------------------------- */

typedef struct outcome {
    int rc; /* first error (0: none) */
    char msg[400];
    int failed_reads;
    int wrong;            /* a value that was not written (or a scan that disagrees) */
    uint64_t healed_read; /* "strata.ecc-healed-blocks" after the reads */
    uint64_t healed_verify, unrec_verify;
} outcome;

static void note_error(outcome *out, int rc)
{
    out->failed_reads++;
    if (!out->rc) {
        out->rc = rc;
        snprintf(out->msg, sizeof(out->msg), "%s", strata_errmsg());
    }
}

static void read_all(strata_db *db, outcome *out)
{
    for (int i = 0; i < NKEYS; i++) {
        char k[32], want[160];
        key_of(i, k);
        size_t wl = val_of(i, want);
        void *v = NULL;
        size_t vl = 0;
        int rc = strata_get(db, NULL, k, strlen(k), &v, &vl);
        if (rc) {
            note_error(out, rc);
            continue;
        }
        out->wrong += vl != wl || memcmp(v, want, wl) != 0;
        strata_free(v);
    }
    strata_iter *it;
    tu_assert_ok(strata_iter_create(db, NULL, &it));
    int i = 0;
    for (strata_iter_seek_to_first(it); strata_iter_valid(it); strata_iter_next(it), i++) {
        char k[32], want[160];
        key_of(i, k);
        size_t wl = val_of(i, want), kl, vl;
        const char *key = strata_iter_key(it, &kl);
        const char *val = strata_iter_value(it, &vl);
        out->wrong += i >= NKEYS || kl != strlen(k) || memcmp(key, k, kl) != 0 || vl != wl ||
                      memcmp(val, want, wl) != 0;
    }
    int rc = strata_iter_status(it);
    if (rc) {
        note_error(out, rc);
    } else {
        out->wrong += i != NKEYS;
    }
    strata_iter_destroy(it);
}

/* Opens a copy of g whose table is img (len bytes), reads everything, verifies. */
static void run_trial(const golden *g, const char *img, size_t len, strata_options *o, outcome *out)
{
    memset(out, 0, sizeof(*out));
    strata_env *env = strata_env_create_mem();
    tu_assert_ok(st_env_create_dir(env, DBDIR));
    for (int i = 0; i < g->nfiles; i++) {
        char path[128];
        snprintf(path, sizeof(path), DBDIR "/%s", g->names[i]);
        st_slice s = i == g->table ? st_slice_make(img, len) : st_slice_make(g->data[i], g->len[i]);
        tu_assert_ok(st_env_write_file(env, path, s, 0));
    }
    tu_assert_ok(strata_options_set_env(o, env));
    strata_db *db = NULL;
    int rc = strata_open(o, DBDIR, &db);
    if (rc) {
        note_error(out, rc);
    } else {
        read_all(db, out);
        tu_assert_ok(strata_property_int(db, "strata.ecc-healed-blocks", &out->healed_read));
        strata_integrity_report rep;
        memset(&rep, 0, sizeof(rep));
        rc = strata_verify_report(db, STRATA_VERIFY_TABLES, &rep);
        if (rc) {
            note_error(out, rc);
        }
        out->healed_verify = rep.blocks_healed;
        out->unrec_verify = rep.blocks_unrecoverable;
        strata_integrity_report_free(&rep);
        strata_close(db); /* a rewrite of a table beyond repair may fail; reads decided above */
    }
    strata_env_destroy(env);
}

/* ---- statistics ------------------------------------------------------------------------------ */

typedef struct stats {
    int flips[NRC], healed_read[NRC], clean_read[NRC], found_verify[NRC], undetected[NRC];
    int bursts, burst_corruption, burst_auth;
    int random_bursts, random_healed, random_errors;
} stats;

static stats g_total;

static void add_stats(stats *a, const stats *b)
{
    for (int c = 0; c < NRC; c++) {
        a->flips[c] += b->flips[c];
        a->healed_read[c] += b->healed_read[c];
        a->clean_read[c] += b->clean_read[c];
        a->found_verify[c] += b->found_verify[c];
        a->undetected[c] += b->undetected[c];
    }
    a->bursts += b->bursts;
    a->burst_corruption += b->burst_corruption;
    a->burst_auth += b->burst_auth;
    a->random_bursts += b->random_bursts;
    a->random_healed += b->random_healed;
    a->random_errors += b->random_errors;
}

static void print_stats(const char *name, const stats *s, uint64_t table_size)
{
    int f = 0, h = 0, cr = 0, fv = 0, u = 0;
    print_message("%s", name);
    if (table_size) {
        print_message(" (table %llu bytes)", (unsigned long long)table_size);
    }
    print_message("\n  %-14s %7s %9s %12s %10s %10s\n", "region", "flips", "healed on",
                  "no heal on", "found by", "undetected");
    print_message("  %-14s %7s %9s %12s %10s %10s\n", "", "", "read", "read", "verify", "");
    for (int c = 0; c < NRC; c++) {
        print_message("  %-14s %7d %9d %12d %10d %10d\n", rc_names[c], s->flips[c],
                      s->healed_read[c], s->clean_read[c], s->found_verify[c], s->undetected[c]);
        f += s->flips[c];
        h += s->healed_read[c];
        cr += s->clean_read[c];
        fv += s->found_verify[c];
        u += s->undetected[c];
    }
    print_message("  %-14s %7d %9d %12d %10d %10d\n", "all", f, h, cr, fv, u);
    print_message("  bursts beyond the parity: %d, all failed cleanly: %d CORRUPTION, %d AUTH\n",
                  s->bursts, s->burst_corruption, s->burst_auth);
    print_message("  random bursts: %d: %d read back whole (healed), %d failed cleanly\n",
                  s->random_bursts, s->random_healed, s->random_errors);
}

/* ---- checks ---------------------------------------------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnd(rng *r, uint64_t n)
{
    r->s += 0x9E3779B97F4A7C15ULL;
    uint64_t z = r->s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return n ? z % n : 0;
}

/* 1 if m says "offset N" for some N in [lo, hi). */
static int names_offset_in(const char *m, uint64_t lo, uint64_t hi)
{
    for (const char *p = strstr(m, "offset "); p; p = strstr(p + 1, "offset ")) {
        unsigned long long n;
        if (sscanf(p + 7, "%llu", &n) == 1 && n >= lo && n < hi) {
            return 1;
        }
    }
    return 0;
}

/* A failed trial: CORRUPTION or AUTH, naming the table and an offset in [lo, hi), and no wrong
 * value. */
static void check_clean_failure(const golden *g, const outcome *out, uint64_t lo, uint64_t hi,
                                const char *what)
{
    int named = strstr(out->msg, g->names[g->table]) != NULL && names_offset_in(out->msg, lo, hi);
    if (out->wrong || (out->rc != STRATA_E_CORRUPTION && out->rc != STRATA_E_AUTH) || !named) {
        fail_msg(
            "%s: %d wrong values, error %d (%s): \"%s\" (expected to name %s and an offset "
            "in [%llu, %llu))",
            what, out->wrong, out->rc, strata_strerror(out->rc), out->msg, g->names[g->table],
            (unsigned long long)lo, (unsigned long long)hi);
    }
}

/* ---- single-bit flips ------------------------------------------------------------------------ */

/* A byte of class c: its position and the region holding it. */
static uint64_t pick_in_class(const golden *g, int c, rng *r, const region **where)
{
    uint64_t k = rnd(r, g->class_bytes[c]);
    for (int i = 0; i < g->nr; i++) {
        if (g->r[i].cls != c) {
            continue;
        }
        if (k < g->r[i].len) {
            *where = &g->r[i];
            return g->r[i].off + k;
        }
        k -= g->r[i].len;
    }
    fail_msg("no byte %llu in class %s", (unsigned long long)k, rc_names[c]);
    return 0;
}

/* n flips: half spread evenly over the classes, half by class size. */
static int class_of_trial(const golden *g, int i, int n, rng *r)
{
    if (i < n / 2) {
        return i % NRC;
    }
    uint64_t k = rnd(r, g->t.size);
    for (int c = 0; c < NRC; c++) {
        if (k < g->class_bytes[c]) {
            return c;
        }
        k -= g->class_bytes[c];
    }
    return RC_DATA;
}

static void flip_trials(const golden *g, strata_options *o, int n, rng *r, stats *s)
{
    char *img = malloc(g->t.size);
    assert_non_null(img);
    for (int i = 0; i < n; i++) {
        int c = class_of_trial(g, i, n, r);
        const region *rg;
        uint64_t pos = pick_in_class(g, c, r, &rg);
        int bit = (int)rnd(r, 8);
        memcpy(img, g->data[g->table], g->t.size);
        img[pos] ^= (char)(1 << bit);
        outcome out;
        run_trial(g, img, g->t.size, o, &out);
        if (out.rc || out.wrong) {
            fail_msg("flip of bit %d at %llu (%s): %d failed reads, %d wrong values: %s: %s", bit,
                     (unsigned long long)pos, rc_names[c], out.failed_reads, out.wrong,
                     strata_strerror(out.rc), out.msg);
        }
        s->flips[c]++;
        if (out.healed_read) {
            s->healed_read[c]++;
        } else {
            s->clean_read[c]++;
            s->found_verify[c] += out.healed_verify > 0;
            s->undetected[c] += out.healed_verify == 0;
        }
        if (heals_on_read(c) ? !out.healed_read : (out.healed_read || !out.healed_verify)) {
            fail_msg("flip of bit %d at %llu (%s): healed on read %llu, found by verify %llu", bit,
                     (unsigned long long)pos, rc_names[c], (unsigned long long)out.healed_read,
                     (unsigned long long)out.healed_verify);
        }
    }
    free(img);
}

/* ---- bursts ---------------------------------------------------------------------------------- */

/* Damages m+1 distinct data shards of block h (one byte each) in img. */
static void damage_shards(const golden *g, st_block_handle h, char *img, rng *r)
{
    const st_ecc *e = &g->t.f.ecc;
    int m = e->kind == ST_ECC_XOR ? 1 : e->m;
    size_t n = (size_t)h.size, s = (n + (size_t)e->k - 1) / (size_t)e->k;
    int shards = (int)((n + s - 1) / s); /* shards holding bytes of the block */
    assert_true(shards >= m + 1);
    int chosen[ST_ECC_MAX_DATA_SHARDS] = {0};
    for (int done = 0; done < m + 1;) {
        int i = (int)rnd(r, (uint64_t)shards);
        if (chosen[i]) {
            continue;
        }
        chosen[i] = 1;
        done++;
        size_t lo = (size_t)i * s, hi = lo + s < n ? lo + s : n;
        img[h.offset + lo + rnd(r, hi - lo)] ^= (char)(1 + rnd(r, 255));
    }
}

static const int g_burst_kinds[] = {RC_DATA, RC_INDEX, RC_FILTER, RC_PROPS, RC_META, RC_FOOTER};

static void burst_trials(const golden *g, strata_options *o, int n, rng *r, stats *s)
{
    char *img = malloc(g->t.size);
    assert_non_null(img);
    int nk = (int)(sizeof(g_burst_kinds) / sizeof(g_burst_kinds[0]));
    for (int i = 0; i < n; i++) {
        int c = g_burst_kinds[i % nk];
        memcpy(img, g->data[g->table], g->t.size);
        uint64_t off, end;    /* the error must name an offset in [off, end) */
        if (c == RC_FOOTER) { /* both copies: one byte of each (a footer's own offsets) */
            off = g->t.blocks_end;
            end = g->t.size;
            img[off + rnd(r, ST_FOOTER3_LEN)] ^= (char)(1 + rnd(r, 255));
            img[end - ST_FOOTER3_LEN + rnd(r, ST_FOOTER3_LEN)] ^= (char)(1 + rnd(r, 255));
        } else {
            const region *rg;
            pick_in_class(g, c, r, &rg);
            off = rg->block.offset;
            end = off + 1;
            damage_shards(g, rg->block, img, r);
        }
        outcome out;
        run_trial(g, img, g->t.size, o, &out);
        char what[96];
        snprintf(what, sizeof(what), "burst beyond the parity in the %s at %llu", rc_names[c],
                 (unsigned long long)off);
        check_clean_failure(g, &out, off, end, what);
        s->bursts++;
        s->burst_corruption += out.rc == STRATA_E_CORRUPTION;
        s->burst_auth += out.rc == STRATA_E_AUTH;
    }
    free(img);
}

static void random_burst_trials(const golden *g, strata_options *o, int n, rng *r, stats *s)
{
    char *img = malloc(g->t.size);
    assert_non_null(img);
    size_t shard = 512 / (size_t)g->t.f.ecc.k + 1;
    for (int i = 0; i < n; i++) {
        memcpy(img, g->data[g->table], g->t.size);
        size_t len = 2 + (size_t)rnd(r, 3 * shard);
        uint64_t pos = rnd(r, g->t.size - len);
        for (size_t j = 0; j < len; j++) {
            img[pos + j] ^= (char)(1 + rnd(r, 255));
        }
        outcome out;
        run_trial(g, img, g->t.size, o, &out);
        s->random_bursts++;
        if (!out.rc && !out.wrong) {
            s->random_healed++;
            continue;
        }
        char what[96];
        snprintf(what, sizeof(what), "random burst of %zu bytes at %llu", len,
                 (unsigned long long)pos);
        check_clean_failure(g, &out, 0, g->t.size, what);
        s->random_errors++;
    }
    free(img);
}

/* ---- the sweep ------------------------------------------------------------------------------- */

static void sweep_config(const cfg *c, int flips, uint64_t seed)
{
    tm_keyring ring = tm_ring_one(seed);
    golden *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    build_golden(c, &ring, g);
    strata_options *o = make_options(c, &ring, NULL);
    rng r = {seed};
    stats s;
    memset(&s, 0, sizeof(s));
    flip_trials(g, o, flips, &r, &s);
    burst_trials(g, o, flips / 10 < 12 ? 12 : flips / 10, &r, &s);
    random_burst_trials(g, o, flips / 10 < 12 ? 12 : flips / 10, &r, &s);
    print_stats(c->name, &s, g->t.size);
    add_stats(&g_total, &s);
    strata_options_destroy(o);
    free_golden(g);
    free(g);
}

static void test_parity_sweep(void **state)
{
    (void)state;
    uint64_t seed = tu_seed(20260301);
    int flips = (int)(1500 * tu_scale());
    flips = flips < 150 ? 150 : flips;
    memset(&g_total, 0, sizeof(g_total));
    for (int i = 0; i < NCFGS; i++) {
        sweep_config(&g_cfgs[i], flips, seed + (uint64_t)i);
    }
    print_stats("all configurations", &g_total, 0);
}

/* ---- damage that looks like one flipped bit -------------------------------------------------- */

/* An error pattern of 48 bits starting at bit `first` of a zero shard of s bytes whose CRC-32C
 * syndrome is 0 (a multiple of the polynomial), found by elimination over the 48 single-bit
 * syndromes; returns its bit mask (bit t: bit first + t). */
static uint64_t crc_codeword(size_t s, size_t first)
{
    unsigned char *z = calloc(1, s);
    assert_non_null(z);
    uint32_t base = st_crc32c(z, s), v[48];
    uint64_t comb[48];
    for (int t = 0; t < 48; t++) {
        size_t b = first + (size_t)t;
        z[b / 8] ^= (unsigned char)(1u << (b % 8));
        v[t] = st_crc32c(z, s) ^ base;
        z[b / 8] ^= (unsigned char)(1u << (b % 8));
        comb[t] = UINT64_C(1) << t;
    }
    free(z);
    for (int bit = 31, row = 0; bit >= 0; bit--) {
        int p = row;
        while (p < 48 && !(v[p] >> bit & 1)) {
            p++;
        }
        if (p == 48) {
            continue;
        }
        uint32_t tv = v[p];
        uint64_t tc = comb[p];
        v[p] = v[row];
        comb[p] = comb[row];
        v[row] = tv;
        comb[row] = tc;
        for (int t = 0; t < 48; t++) {
            if (t != row && (v[t] >> bit & 1)) {
                v[t] ^= v[row];
                comb[t] ^= comb[row];
            }
        }
        row++;
    }
    for (int t = 0; t < 48; t++) {
        if (v[t] == 0) {
            return comb[t];
        }
    }
    fail_msg("48 syndromes of 32 bits without a dependency");
    return 0;
}

/* Damage inside one data shard that differs from a single flipped bit by a multiple of the CRC-32C
 * polynomial has that bit's CRC syndrome.  The single-bit repair used to flip that bit, and the
 * block's CRC-32C checksum (the same polynomial, so blind to the rest) accepted the result: a
 * plaintext table with parity served a value that was never written.  The repair must now agree
 * with an intact parity shard; the block is rebuilt from the parity instead. */
static void test_crc_codeword_damage(void **state)
{
    (void)state;
    const cfg c = {"rs 8+2 none", "ecc=rs;compression=none"};
    tm_keyring ring = tm_ring_one(77);
    golden *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    build_golden(&c, &ring, g);
    assert_int_equal(g->t.f.checksum, STRATA_CHECKSUM_CRC32C);
    st_block_handle h = g->t.data[0];
    size_t n = (size_t)h.size, s = (n + (size_t)g->t.f.ecc.k - 1) / (size_t)g->t.f.ecc.k;
    /* 6 bytes of one value's filler, inside one shard: the damage changes only that value */
    const char *blk = g->data[g->table] + h.offset;
    size_t q = 0;
    for (size_t p = 0; p + 21 < n && !q; p++) {
        int i;
        char v[160];
        if (memcmp(blk + p, "value-of-", 9) != 0 || sscanf(blk + p + 9, "%5d", &i) != 1 ||
            val_of(i, v) < 21 + 6) {
            continue;
        }
        for (size_t at = p + 15; at + 6 <= p + val_of(i, v) && !q; at++) {
            q = at / s == (at + 5) / s ? at : 0;
        }
    }
    assert_true(q > 0);
    size_t shard = q / s;
    uint64_t code = crc_codeword(s, (q - shard * s) * 8);
    int keep = __builtin_ctzll(code); /* the bit the syndrome will name */
    char *img = malloc(g->t.size);
    assert_non_null(img);
    memcpy(img, g->data[g->table], g->t.size);
    for (int t = 0; t < 48; t++) {
        if ((code >> t & 1) && t != keep) {
            size_t b = q * 8 + (size_t)t;
            img[h.offset + b / 8] ^= (char)(1u << (b % 8));
        }
    }
    strata_options *o = make_options(&c, &ring, NULL);
    outcome out;
    run_trial(g, img, g->t.size, o, &out);
    print_message("%d-bit damage in one shard: %d wrong values, %d failed reads, healed %llu\n",
                  __builtin_popcountll(code) - 1, out.wrong, out.failed_reads,
                  (unsigned long long)out.healed_read);
    assert_int_equal(out.wrong, 0);
    assert_int_equal(out.rc, 0);
    assert_true(out.healed_read >= 1);
    strata_options_destroy(o);
    free(img);
    free_golden(g);
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_codeword_damage),
        cmocka_unit_test(test_parity_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
