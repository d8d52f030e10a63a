/* test_corruption_sweep.c — the corruption sweep of issue 5.  A small DB is built on the POSIX
 * env with data in two tables (many 256-byte data blocks, an index, a bloom filter, properties,
 * metaindex, footer), a WAL of synced single-put batches, a MANIFEST, CURRENT, OPTIONS and LOCK.
 * Each trial copies that image, damages one file (bit flip, zeroed range, truncation, appended
 * garbage, swapped blocks — for tables a block and its neighbour, or every other time two
 * adjacent data blocks of equal size, which still pass their checksums), then — in a forked child with an alarm, once without and once with
 * paranoid_checks — opens the DB and reads everything: strata_get of every key ever written and
 * full scans both ways.  The child reports an outcome to the parent through a pipe:
 *
 *   correct     every read succeeded and the state equals the last state written;
 *   error       open or a read failed with an error whose message names the damaged file
 *               (and every value read before it was one that had been written to that key);
 *   wal-prefix  (WAL only) the state equals the tables plus a prefix of the WAL's records that
 *               includes every record lying wholly before the first damaged byte;
 *   vague       an error that does not name the damaged file;
 *   lost        the state is made of written values but is not an allowed state (a lost or
 *               rolled-back write);
 *   garbage     a value never written to its key, or scans disagreeing with gets;
 *   nomem       STRATA_E_NOMEM (an allocation sized from damaged bytes; the child runs under an
 *               address-space limit in non-sanitized builds);
 *   crash / hang (child killed by a signal / by the alarm).
 *
 * Only correct, error and wal-prefix pass.  Outcome counts are printed per file kind (tables per
 * damaged block kind).  Seeded (STRATA_TEST_SEED); the trial count scales with
 * STRATA_TEST_SCALE; STRATA_SWEEP_VERBOSE=1 prints every trial.  Rules are documented in docs/fragments/fuzz.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env/env.h"
#include "strata.h"
#include "table/block.h"
#include "table/format.h"
#include "util/alloc.h"
#include "util/comparator.h"
#include "wal/log_reader.h"

/* after the engine headers: cmocka defines a skip() macro that clashes with env.h */
#include "test_util.h"

#define NKEYS 450
#define NWAL 120
#define MAX_VERS 2000
#define MAX_REGIONS 256
#define MAX_FILE (1 << 20)
#define TRIAL_ALARM 20

/* ---- The reference: every version ever written ------------------------------------------------ */

typedef struct ref {
    int key_of[MAX_VERS];   /* version -> key index */
    int nvers;
    int table_state[NKEYS]; /* latest version per key once both tables exist, -1 absent */
    int latest[NKEYS];
    int wal_key[NWAL], wal_ver[NWAL]; /* WAL records in order (ver -1: delete) */
    uint64_t wal_end[NWAL];           /* file offset just past each WAL record */
} ref;

/* dir/name into out; the test fails rather than use a truncated path. */
static void join_path(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

static ref g_ref;

static void key_name(int k, char out[16])
{
    snprintf(out, 16, "key%05d", k);
}

/* The value of version v: names key and version, padded to a length derived from v. */
static size_t value_of(int v, char *out, size_t cap)
{
    int n = snprintf(out, cap, "v%d:key%05d:", v, g_ref.key_of[v]);
    size_t len = (size_t)n + (size_t)(v * 7919 % 53);
    for (size_t i = (size_t)n; i < len && i < cap; i++) {
        out[i] = (char)('a' + (v + i) % 26);
    }
    return len;
}

/* ---- Building the golden DB -------------------------------------------------------------------- */

static strata_options *make_options(int paranoid)
{
    strata_options *o = strata_options_create();
    assert_non_null(o);
    tu_assert_ok(strata_options_from_string(o, "write_buffer_size=64K;block_size=256;"
                                               "block_restart_interval=4;bloom_bits_per_key=10;"
                                               "max_background_jobs=2;block_cache_size=1M"));
    tu_assert_ok(strata_options_set_paranoid_checks(o, paranoid));
    return o;
}

static int new_version(int k)
{
    assert_true(g_ref.nvers < MAX_VERS);
    g_ref.key_of[g_ref.nvers] = k;
    return g_ref.nvers++;
}

static void write_put(strata_db *db, const strata_write_options *wo, int k)
{
    char key[16], val[128];
    int v = new_version(k);
    key_name(k, key);
    size_t vlen = value_of(v, val, sizeof(val));
    tu_assert_ok(strata_put(db, wo, key, strlen(key), val, vlen));
    g_ref.latest[k] = v;
}

static void write_delete(strata_db *db, const strata_write_options *wo, int k)
{
    char key[16];
    key_name(k, key);
    tu_assert_ok(strata_delete(db, wo, key, strlen(key)));
    g_ref.latest[k] = -1;
}

static void build_golden(const char *dir, uint64_t seed)
{
    strata_options *o = make_options(0);
    tu_assert_ok(strata_options_set_create_if_missing(o, 1));
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, dir, &db));
    for (int k = 0; k < NKEYS; k++) {
        g_ref.latest[k] = -1;
    }
    for (int k = 0; k < 300; k++) {
        write_put(db, NULL, k);
    }
    tu_assert_ok(strata_flush(db, 1));
    for (int k = 150; k < NKEYS; k++) {
        if (k % 7 == 0) {
            write_delete(db, NULL, k);
        } else {
            write_put(db, NULL, k);
        }
    }
    tu_assert_ok(strata_flush(db, 1));
    memcpy(g_ref.table_state, g_ref.latest, sizeof(g_ref.latest));
    strata_write_options *wo = strata_write_options_create();
    strata_write_options_set_sync(wo, 1);
    uint64_t x = seed | 1;
    for (int i = 0; i < NWAL; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        int k = (int)((x >> 33) % NKEYS);
        if ((x >> 20) % 5 == 0) {
            write_delete(db, wo, k);
            g_ref.wal_ver[i] = -1;
        } else {
            write_put(db, wo, k);
            g_ref.wal_ver[i] = g_ref.nvers - 1;
        }
        g_ref.wal_key[i] = k;
    }
    strata_write_options_destroy(wo);
    tu_assert_ok(strata_close(db)); /* close does not flush: the WAL keeps the last writes */
    strata_options_destroy(o);
}

/* ---- Files of the image ------------------------------------------------------------------------ */

enum kind { K_WAL, K_TABLE, K_MANIFEST, K_CURRENT, K_OPTIONS, K_LOCK, NKINDS };
static const char *const kind_names[NKINDS] = {"WAL", "table", "MANIFEST", "CURRENT", "OPTIONS",
                                               "LOCK"};

enum region_kind { R_DATA, R_INDEX, R_FILTER, R_PROPS, R_METAINDEX, R_FOOTER, NREGION_KINDS };
static const char *const region_names[NREGION_KINDS] = {"data", "index", "filter", "properties",
                                                        "metaindex", "footer"};

typedef struct region {
    int kind;
    uint64_t off, size; /* stored bytes: block and trailer */
} region;

typedef struct table_layout {
    char name[64];
    region r[MAX_REGIONS];
    int n;
} table_layout;

typedef struct image {
    char files[NKINDS][64]; /* base name per kind (table: see tables) */
    table_layout tables[2];
    int ntables;
} image;

static image g_img;

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static void pick_name(char *dst, const char *name)
{
    /* the highest-numbered file of a kind wins (names are zero-padded) */
    if (!dst[0] || strcmp(name, dst) > 0) {
        snprintf(dst, 64, "%.63s", name);
    }
}

static void add_region(table_layout *t, int kind, st_block_handle h)
{
    assert_true(t->n < MAX_REGIONS);
    t->r[t->n++] = (region){kind, h.offset, h.size};
}

/* Adds a region for each entry of the block at h (its values are block handles). */
static void walk_block(st_rfile *f, const char *fname, st_block_handle h, int checksum,
                       table_layout *t, int index)
{
    st_block_contents c;
    tu_assert_ok(st_read_block(f, checksum, h, 1, 0, fname, &c));
    st_block b;
    tu_assert_ok(st_block_init(&b, c.data, c.heap, fname, h.offset));
    st_block_iter it;
    st_block_iter_init(&it, &b, index ? st_comparator_bytewise() : NULL);
    for (st_block_iter_seek_to_first(&it); st_block_iter_valid(&it); st_block_iter_next(&it)) {
        st_slice v = it.value;
        st_block_handle eh;
        assert_true(st_handle_decode(&v, &eh));
        int kind = R_DATA;
        if (!index) {
            kind = st_slice_starts_with(it.key, st_slice_cstr("filter.")) ? R_FILTER : R_PROPS;
        }
        add_region(t, kind, eh);
    }
    assert_int_equal(it.status, 0);
    st_block_iter_release(&it);
    st_block_free(&b);
}

static void parse_table(const char *dir, table_layout *t)
{
    char path[512];
    join_path(path, sizeof(path), dir, t->name);
    st_env *env = st_env_posix();
    uint64_t size;
    tu_assert_ok(st_env_file_size(env, path, &size));
    st_rfile *f;
    tu_assert_ok(st_env_new_random(env, path, &f));
    char buf[ST_FOOTER_LEN];
    st_slice s;
    tu_assert_ok(st_rfile_read(f, size - ST_FOOTER_LEN, ST_FOOTER_LEN, buf, &s));
    st_footer ft;
    tu_assert_ok(st_footer_decode(s.data, size, path, &ft));
    walk_block(f, path, ft.index, ft.checksum, t, 1);
    walk_block(f, path, ft.metaindex, ft.checksum, t, 0);
    add_region(t, R_INDEX, ft.index);
    add_region(t, R_METAINDEX, ft.metaindex);
    add_region(t, R_FOOTER, (st_block_handle){size - ST_FOOTER_LEN, ST_FOOTER_LEN});
    st_rfile_close(f);
}

/* The end offset of every WAL record, for the wal-prefix rule. */
static void parse_wal(const char *dir)
{
    char path[512];
    join_path(path, sizeof(path), dir, g_img.files[K_WAL]);
    st_env *env = st_env_posix();
    uint64_t size;
    tu_assert_ok(st_env_file_size(env, path, &size));
    st_sfile *f;
    tu_assert_ok(st_env_new_sequential(env, path, &f));
    st_log_reader *r;
    tu_assert_ok(st_log_reader_create(f, path, 0, &r));
    uint64_t offs[NWAL + 1];
    int n = 0;
    st_slice rec;
    uint64_t off;
    while (st_log_reader_read(r, &rec, &off) == 1) {
        if (n == 0 && rec.size == 12 && memcmp(rec.data + 8, "\0\0\0\0", 4) == 0) {
            continue; /* the WAL's marker record (a batch header with count 0): no data */
        }
        assert_true(n < NWAL);
        offs[n++] = off;
    }
    st_log_reader_close(r);
    assert_int_equal(n, NWAL);
    offs[NWAL] = size;
    for (int i = 0; i < NWAL; i++) {
        g_ref.wal_end[i] = offs[i + 1];
    }
}

static void scan_image(const char *dir)
{
    memset(&g_img, 0, sizeof(g_img));
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (has_suffix(n, ".log")) {
            pick_name(g_img.files[K_WAL], n);
        } else if (has_suffix(n, ".sst")) {
            assert_true(g_img.ntables < 2);
            snprintf(g_img.tables[g_img.ntables++].name, 64, "%.63s", n);
        } else if (strncmp(n, "MANIFEST-", 9) == 0) {
            pick_name(g_img.files[K_MANIFEST], n);
        } else if (strncmp(n, "OPTIONS-", 8) == 0) {
            pick_name(g_img.files[K_OPTIONS], n);
        } else if (strcmp(n, "CURRENT") == 0 || strcmp(n, "LOCK") == 0) {
            snprintf(g_img.files[n[0] == 'C' ? K_CURRENT : K_LOCK], 64, "%.63s", n);
        }
    }
    closedir(d);
    assert_int_equal(g_img.ntables, 2);
    for (int k = 0; k < NKINDS; k++) {
        if (k != K_TABLE && !g_img.files[k][0]) {
            print_error("no %s file in the image\n", kind_names[k]);
            fail();
        }
    }
    for (int i = 0; i < 2; i++) {
        parse_table(dir, &g_img.tables[i]);
    }
    parse_wal(dir);
}

/* ---- File helpers ------------------------------------------------------------------------------ */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(MAX_FILE);
    assert_non_null(buf);
    *len = fread(buf, 1, MAX_FILE, f);
    fclose(f);
    return buf;
}

static void spit(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void copy_dir(const char *from, const char *to)
{
    mkdir(to, 0755);
    DIR *d = opendir(from);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char a[512], b[512];
        snprintf(a, sizeof(a), "%s/%s", from, e->d_name);
        snprintf(b, sizeof(b), "%s/%s", to, e->d_name);
        size_t len;
        char *data = slurp(a, &len);
        spit(b, data, len);
        free(data);
    }
    closedir(d);
}

/* ---- Damage ------------------------------------------------------------------------------------ */

enum damage { D_FLIP, D_ZERO, D_TRUNC, D_APPEND, D_SWAP, NDAMAGE };
static const char *const damage_names[NDAMAGE] = {"flip", "zero", "truncate", "append", "swap"};

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

typedef struct trial {
    int kind, region, damage;
    char file[64];
    uint64_t first_bad; /* first damaged byte (WAL rule) */
    char desc[160];
} trial;

/* Damages [lo, lo+span) of data (len bytes); returns the new length. */
static size_t apply(trial *t, rng *r, char *data, size_t len, uint64_t lo, uint64_t span)
{
    if (span == 0 || len == 0) {
        t->damage = D_APPEND;
    }
    uint64_t off = lo + rnd(r, span ? span : 1);
    switch (t->damage) {
    case D_FLIP: {
        int bit = (int)rnd(r, 8);
        data[off] ^= (char)(1 << bit);
        snprintf(t->desc, sizeof(t->desc), "flip bit %d at %llu", bit, (unsigned long long)off);
        break;
    }
    case D_ZERO: {
        uint64_t n = 1 + rnd(r, 64);
        n = off + n > len ? len - off : n;
        memset(data + off, 0, n);
        snprintf(t->desc, sizeof(t->desc), "zero %llu bytes at %llu", (unsigned long long)n,
                 (unsigned long long)off);
        break;
    }
    case D_TRUNC:
        snprintf(t->desc, sizeof(t->desc), "truncate to %llu of %zu", (unsigned long long)off,
                 len);
        len = off;
        break;
    case D_APPEND: {
        uint64_t n = 1 + rnd(r, 200);
        off = len;
        for (uint64_t i = 0; i < n; i++) {
            data[len + i] = (char)rnd(r, 256);
        }
        len += n;
        snprintf(t->desc, sizeof(t->desc), "append %llu garbage bytes", (unsigned long long)n);
        break;
    }
    default: { /* swap two equal ranges inside the span (log-structured and small files) */
        uint64_t n = 1 + rnd(r, span / 4 + 1);
        uint64_t a = lo + rnd(r, span - n + 1), b = lo + rnd(r, span - n + 1);
        char *tmp = malloc(n);
        assert_non_null(tmp);
        memcpy(tmp, data + a, n);
        memmove(data + a, data + b, n);
        memcpy(data + b, tmp, n);
        free(tmp);
        off = a < b ? a : b;
        snprintf(t->desc, sizeof(t->desc), "swap %llu bytes at %llu and %llu",
                 (unsigned long long)n, (unsigned long long)a, (unsigned long long)b);
        break;
    }
    }
    t->first_bad = off;
    return len;
}

/* Swaps the stored bytes of two adjacent table regions (blocks change places in the file). */
static void swap_regions(trial *t, char *data, const region *a, const region *b)
{
    char *tmp = malloc(a->size + b->size);
    assert_non_null(tmp);
    memcpy(tmp, data + b->off, b->size);
    memcpy(tmp + b->size, data + a->off, a->size);
    memcpy(data + a->off, tmp, a->size + b->size);
    free(tmp);
    snprintf(t->desc, sizeof(t->desc), "swap %s block at %llu with %s block at %llu",
             region_names[a->kind], (unsigned long long)a->off, region_names[b->kind],
             (unsigned long long)b->off);
    t->first_bad = a->off;
}

static int region_cmp(const void *x, const void *y)
{
    const region *a = x, *b = y;
    return (a->off > b->off) - (a->off < b->off);
}

static size_t damage_table(trial *t, rng *r, const table_layout *tl, char *data, size_t len)
{
    int idx[MAX_REGIONS], n = 0;
    for (int i = 0; i < tl->n; i++) {
        if (tl->r[i].kind == t->region) {
            idx[n++] = i;
        }
    }
    const region *rg = &tl->r[idx[rnd(r, (uint64_t)n)]];
    if (t->damage == D_SWAP) {
        region sorted[MAX_REGIONS];
        memcpy(sorted, tl->r, sizeof(region) * (size_t)tl->n);
        qsort(sorted, (size_t)tl->n, sizeof(region), region_cmp);
        int at = 0;
        while (sorted[at].off != rg->off) {
            at++;
        }
        int other = at + 1 < tl->n && sorted[at + 1].kind != R_FOOTER ? at + 1 : at - 1;
        if (rg->kind == R_DATA && rnd(r, 2)) {
            /* every other data swap: the first adjacent pair of equal-size data blocks, which
             * checksums alone cannot catch (the blocks stay intact, only their places change) */
            for (int i = 0; i + 1 < tl->n; i++) {
                if (sorted[i].kind == R_DATA && sorted[i + 1].kind == R_DATA &&
                    sorted[i].size == sorted[i + 1].size) {
                    at = i;
                    other = i + 1;
                    break;
                }
            }
        }
        if (other >= 0 && other != at) {
            const region *a = &sorted[at < other ? at : other], *b = &sorted[at < other ? other : at];
            swap_regions(t, data, a, b);
            return len;
        }
        t->damage = D_FLIP;
    }
    if (t->damage == D_APPEND) {
        return apply(t, r, data, len, 0, len);
    }
    return apply(t, r, data, len, rg->off, rg->size);
}

/* Makes the damaged image of trial t in dir (a copy of golden). */
static void make_damaged(trial *t, rng *r, const char *golden, const char *dir)
{
    copy_dir(golden, dir);
    char path[512];
    char *data;
    size_t len;
    if (t->kind == K_TABLE) {
        const table_layout *tl = &g_img.tables[rnd(r, 2)];
        snprintf(t->file, sizeof(t->file), "%s", tl->name);
        join_path(path, sizeof(path), dir, tl->name);
        data = slurp(path, &len);
        len = damage_table(t, r, tl, data, len);
    } else {
        snprintf(t->file, sizeof(t->file), "%s", g_img.files[t->kind]);
        join_path(path, sizeof(path), dir, t->file);
        data = slurp(path, &len);
        len = apply(t, r, data, len, 0, len);
    }
    spit(path, data, len);
    free(data);
}

/* ---- The child: open, read everything, classify ------------------------------------------------ */

enum outcome { O_CORRECT, O_ERROR, O_WAL_PREFIX, O_VAGUE, O_LOST, O_GARBAGE, O_NOMEM, O_CRASH,
               O_HANG, NOUTCOMES };
static const char *const outcome_names[NOUTCOMES] = {"correct", "error", "wal-prefix", "vague",
                                                     "lost", "garbage", "nomem", "crash", "hang"};
#define OUTCOME_PASSES(o) ((o) <= O_WAL_PREFIX)

typedef struct report {
    int outcome;
    char msg[400];
} report;

static int error_outcome(int rc, const trial *t, report *rep)
{
    snprintf(rep->msg, sizeof(rep->msg), "%s: %s", strata_strerror(rc), strata_errmsg());
    if (rc == STRATA_E_NOMEM) {
        return O_NOMEM;
    }
    const char *m = strata_errmsg();
    if (strstr(m, t->file) || (t->kind == K_CURRENT && strstr(m, "MANIFEST"))) {
        return O_ERROR;
    }
    return O_VAGUE;
}

/* -2: never written to k; else the version (or -1 for absent). */
static int decode_value(int k, const char *v, size_t vlen)
{
    int ver;
    if (vlen < 2 || v[0] != 'v' || sscanf(v + 1, "%d", &ver) != 1 || ver < 0 ||
        ver >= g_ref.nvers || g_ref.key_of[ver] != k) {
        return -2;
    }
    char want[128];
    size_t wlen = value_of(ver, want, sizeof(want));
    return (wlen == vlen && memcmp(want, v, vlen) == 0) ? ver : -2;
}

/* 1 if obs equals the tables plus a prefix of at least min_records WAL records. */
static int is_wal_prefix(const int *obs, int min_records)
{
    int cur[NKEYS], diff = 0;
    memcpy(cur, g_ref.table_state, sizeof(cur));
    for (int k = 0; k < NKEYS; k++) {
        diff += obs[k] != cur[k];
    }
    for (int j = 0; j <= NWAL; j++) {
        if (diff == 0 && j >= min_records) {
            return 1;
        }
        if (j == NWAL) {
            break;
        }
        int k = g_ref.wal_key[j];
        diff -= obs[k] != cur[k];
        cur[k] = g_ref.wal_ver[j];
        diff += obs[k] != cur[k];
    }
    return 0;
}

static int scan_check(strata_db *db, const int *obs, int backward, const trial *t, report *rep)
{
    strata_iter *it = NULL;
    int rc = strata_iter_create(db, NULL, &it);
    if (rc) {
        return error_outcome(rc, t, rep);
    }
    int k = backward ? NKEYS - 1 : 0, step = backward ? -1 : 1, out = -1;
    backward ? strata_iter_seek_to_last(it) : strata_iter_seek_to_first(it);
    for (; strata_iter_valid(it); backward ? strata_iter_prev(it) : strata_iter_next(it)) {
        size_t kl, vl;
        const char *key = strata_iter_key(it, &kl);
        const char *val = strata_iter_value(it, &vl);
        int ik = -1;
        if (kl != 8 || sscanf(key, "key%5d", &ik) != 1 || ik < 0 || ik >= NKEYS) {
            out = O_GARBAGE;
            break;
        }
        for (; k != ik && k >= 0 && k < NKEYS; k += step) {
            if (obs[k] >= 0) {
                break; /* a key get saw is missing from the scan */
            }
        }
        if (k != ik || decode_value(ik, val, vl) != obs[ik]) {
            out = O_GARBAGE;
            snprintf(rep->msg, sizeof(rep->msg), "scan disagrees with get at key%05d", ik);
            break;
        }
        k += step;
    }
    if (out < 0 && (rc = strata_iter_status(it)) != 0) {
        out = error_outcome(rc, t, rep);
    }
    for (; out < 0 && k >= 0 && k < NKEYS; k += step) {
        if (obs[k] >= 0) {
            out = O_GARBAGE;
            snprintf(rep->msg, sizeof(rep->msg), "scan skipped key%05d", k);
        }
    }
    strata_iter_destroy(it);
    return out;
}

static int min_wal_records(const trial *t)
{
    int n = 0;
    while (n < NWAL && g_ref.wal_end[n] <= t->first_bad) {
        n++;
    }
    return n;
}

static int read_all(strata_db *db, const trial *t, report *rep)
{
    int obs[NKEYS];
    for (int k = 0; k < NKEYS; k++) {
        char key[16];
        key_name(k, key);
        void *v = NULL;
        size_t vlen = 0;
        int rc = strata_get(db, NULL, key, strlen(key), &v, &vlen);
        if (rc == STRATA_E_NOTFOUND) {
            obs[k] = -1;
            continue;
        }
        if (rc) {
            return error_outcome(rc, t, rep);
        }
        obs[k] = decode_value(k, v, vlen);
        strata_free(v);
        if (obs[k] == -2) {
            snprintf(rep->msg, sizeof(rep->msg), "key%05d has a value never written", k);
            return O_GARBAGE;
        }
    }
    int out = scan_check(db, obs, 0, t, rep);
    out = out >= 0 ? out : scan_check(db, obs, 1, t, rep);
    if (out >= 0) {
        return out;
    }
    if (memcmp(obs, g_ref.latest, sizeof(obs)) == 0) {
        return O_CORRECT;
    }
    if (t->kind == K_WAL && is_wal_prefix(obs, min_wal_records(t))) {
        return O_WAL_PREFIX;
    }
    for (int k = 0; k < NKEYS; k++) {
        if (obs[k] != g_ref.latest[k]) {
            snprintf(rep->msg, sizeof(rep->msg), "key%05d: read version %d, latest %d", k,
                     obs[k], g_ref.latest[k]);
            break;
        }
    }
    return O_LOST;
}

static void child(const trial *t, const char *dir, int paranoid, int fd)
{
    alarm(TRIAL_ALARM);
#ifndef STRATA_SANITIZED
    struct rlimit rl = {(rlim_t)2 << 30, (rlim_t)2 << 30};
    setrlimit(RLIMIT_AS, &rl);
#endif
    report rep;
    memset(&rep, 0, sizeof(rep));
    strata_options *o = strata_options_create();
    strata_options_from_string(o, "block_cache_size=1M;max_background_jobs=2");
    strata_options_set_paranoid_checks(o, paranoid);
    strata_db *db = NULL;
    int rc = strata_open(o, dir, &db);
    if (rc) {
        rep.outcome = error_outcome(rc, t, &rep);
    } else {
        rep.outcome = read_all(db, t, &rep);
        rc = strata_close(db);
        if (rc && OUTCOME_PASSES(rep.outcome) && rep.outcome != O_ERROR) {
            rep.outcome = error_outcome(rc, t, &rep);
        }
    }
    strata_options_destroy(o);
    ssize_t w = write(fd, &rep, sizeof(rep));
    _exit(w == (ssize_t)sizeof(rep) ? 0 : 3);
}

static int run_child(const trial *t, const char *damaged, const char *work, int paranoid,
                     report *rep)
{
    tu_rmdir_all(work);
    copy_dir(damaged, work);
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        child(t, work, paranoid, p[1]);
    }
    close(p[1]);
    memset(rep, 0, sizeof(*rep));
    ssize_t got = read(p[0], rep, sizeof(*rep));
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st)) {
        snprintf(rep->msg, sizeof(rep->msg), "child killed by signal %d", WTERMSIG(st));
        return WTERMSIG(st) == SIGALRM ? O_HANG : O_CRASH;
    }
    if (got != (ssize_t)sizeof(*rep) || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(rep->msg, sizeof(rep->msg), "child exited with status %d", st);
        return O_CRASH;
    }
    return rep->outcome;
}

/* ---- The sweep --------------------------------------------------------------------------------- */

#define NROWS (NKINDS - 1 + NREGION_KINDS)
static int g_counts[NROWS][NOUTCOMES];

static int row_of(const trial *t)
{
    if (t->kind == K_TABLE) {
        return NKINDS - 1 + t->region;
    }
    return t->kind > K_TABLE ? t->kind - 1 : t->kind;
}

static const char *row_name(int row, char *buf, size_t cap)
{
    if (row >= NKINDS - 1) {
        snprintf(buf, cap, "table/%s", region_names[row - (NKINDS - 1)]);
    } else {
        snprintf(buf, cap, "%s", kind_names[row >= K_TABLE ? row + 1 : row]);
    }
    return buf;
}

static void print_counts(int trials)
{
    char name[32];
    fprintf(stderr, "corruption sweep: %d damaged images x 2 opens (paranoid off/on)\n", trials);
    fprintf(stderr, "%-18s", "file kind");
    for (int o = 0; o < NOUTCOMES; o++) {
        fprintf(stderr, " %10s", outcome_names[o]);
    }
    fprintf(stderr, "\n");
    for (int row = 0; row < NROWS; row++) {
        fprintf(stderr, "%-18s", row_name(row, name, sizeof(name)));
        for (int o = 0; o < NOUTCOMES; o++) {
            fprintf(stderr, " %10d", g_counts[row][o]);
        }
        fprintf(stderr, "\n");
    }
}

/* Trial i's file kind, block kind and damage: tables get half the trials, spread over block
 * kinds; every kind cycles through every damage. */
static void plan(int i, rng *r, trial *t)
{
    memset(t, 0, sizeof(*t));
    int slot = i % 10;
    t->kind = slot < 5 ? K_TABLE : (int[]){K_WAL, K_MANIFEST, K_CURRENT, K_OPTIONS, K_LOCK}[slot - 5];
    t->region = (i / 10) % NREGION_KINDS;
    t->damage = (i / 10 / NREGION_KINDS + slot) % NDAMAGE;
    if (t->kind != K_TABLE && t->kind != K_WAL && t->kind != K_MANIFEST && t->damage == D_SWAP) {
        t->damage = (int)rnd(r, D_SWAP); /* swaps are for block- and record-structured files */
    }
}

static void test_corruption_sweep(void **state)
{
    (void)state;
    uint64_t seed = tu_seed(20261121);
    char *root = tu_mkdtemp("corrupt");
    char golden[512], damaged[512], work[512];
    snprintf(golden, sizeof(golden), "%s/golden", root);
    snprintf(damaged, sizeof(damaged), "%s/damaged", root);
    snprintf(work, sizeof(work), "%s/work", root);
    build_golden(golden, seed);
    scan_image(golden);
    int trials = (int)(300 * tu_scale());
    trials = trials < 60 ? 60 : trials;
    rng r = {seed};
    int failures = 0;
    int verbose = getenv("STRATA_SWEEP_VERBOSE") != NULL; /* one line per trial */
    for (int i = 0; i < trials; i++) {
        trial t;
        plan(i, &r, &t);
        tu_rmdir_all(damaged);
        make_damaged(&t, &r, golden, damaged);
        for (int paranoid = 0; paranoid < 2; paranoid++) {
            report rep;
            int o = run_child(&t, damaged, work, paranoid, &rep);
            g_counts[row_of(&t)][o]++;
            if (verbose) {
                fprintf(stderr, "trial %d: %s %s [%s], paranoid=%d: %s %s\n", i,
                        kind_names[t.kind], t.file, t.desc, paranoid, outcome_names[o], rep.msg);
            }
            if (!OUTCOME_PASSES(o) && failures++ < 30) {
                print_error("trial %d: %s %s [%s: %s], paranoid=%d: %s: %s\n", i,
                            kind_names[t.kind], t.file, damage_names[t.damage], t.desc, paranoid,
                            outcome_names[o], rep.msg);
            }
        }
    }
    print_counts(trials);
    tu_free_path(root);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corruption_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
