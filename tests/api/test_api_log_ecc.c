/* test_api_log_ecc.c — parity on WAL and MANIFEST records through the public API: a bit flipped
 * in a WAL record (a one-fragment batch, or a fragment inside a batch spanning blocks) of a DB
 * closed with its data only in the WAL, and a bit flipped in a MANIFEST version edit, heal at
 * the next open (with and without encryption): every key is there and strata.ecc-healed-blocks
 * counts the heal.  Without parity the same damage loses data or fails the open. */
#include "table_map.h" /* before cmocka (test_util.h): its skip() macro */
#include "test_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "strata.h"

#define BLOCK 32768
#define FHDR 7

static int ring_get(void *state, uint32_t id, unsigned char *key)
{
    (void)state;
    memset(key, 0x30 + (int)id, 32);
    return 0;
}

static int ring_current(void *state, uint32_t *id)
{
    (void)state;
    *id = 1;
    return 0;
}

static strata_options *opts_for(const char *text, int encrypt)
{
    strata_options *o = strata_options_create();
    assert_non_null(o);
    tu_assert_ok(strata_options_from_string(o, "create_if_missing=1"));
    tu_assert_ok(strata_options_from_string(o, text));
    if (encrypt) {
        tu_assert_ok(strata_options_from_string(o, "encryption=aes-256-gcm"));
        strata_key_provider *kp = strata_key_provider_create(NULL, ring_get, ring_current, NULL);
        assert_non_null(kp);
        tu_assert_ok(strata_options_set_key_provider(o, kp));
        strata_key_provider_destroy(kp);
    }
    return o;
}

/* ---- data ---- */

enum { NKEYS = 400, BIG = 3 * BLOCK };

static void key_of(int i, char *k, size_t cap)
{
    snprintf(k, cap, "logkey%06d", i);
}

static size_t val_of(int i, char *v, size_t cap)
{
    if (i == NKEYS / 2) { /* one value that makes its WAL record span several blocks */
        for (size_t j = 0; j < BIG; j++) {
            v[j] = (char)('a' + (j * 7 + j / 100) % 26);
        }
        return BIG;
    }
    return (size_t)snprintf(v, cap, "logvalue%06d-payload", i);
}

static char g_val[BIG + 64];

static void put_all(strata_db *db)
{
    char k[32];
    for (int i = 0; i < NKEYS; i++) {
        key_of(i, k, sizeof(k));
        size_t n = val_of(i, g_val, sizeof(g_val));
        tu_assert_ok(strata_put(db, NULL, k, strlen(k), g_val, n));
    }
}

/* Returns the number of keys with their value. */
static int count_present(strata_db *db)
{
    char k[32];
    int ok = 0;
    for (int i = 0; i < NKEYS; i++) {
        key_of(i, k, sizeof(k));
        size_t n = val_of(i, g_val, sizeof(g_val));
        void *got = NULL;
        size_t len = 0;
        int rc = strata_get(db, NULL, k, strlen(k), &got, &len);
        ok += rc == 0 && len == n && memcmp(got, g_val, n) == 0;
        strata_free(got);
    }
    return ok;
}

/* ---- files ---- */

/* The largest file of dir whose name ends in suffix (into out). */
static int largest(const char *dir, const char *suffix, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    off_t best = -1;
    char path[1024];
    size_t sl = strlen(suffix);
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > sl && strcmp(e->d_name + n - sl, suffix) == 0) {
            struct stat st;
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            if (stat(path, &st) == 0 && st.st_size > best) {
                best = st.st_size;
                snprintf(out, cap, "%s", path);
            }
        }
    }
    closedir(d);
    return best > 0;
}

/* The fragments of a record log (docs/FORMAT.md "Record log"), up to the first that is not
 * well-formed (preallocated zeros). */
typedef struct frag {
    size_t off, len;
    int type;
} frag;

static int fragments(const char *buf, size_t len, frag *out, int max)
{
    size_t p = 0;
    int n = 0;
    while (n < max && p + FHDR <= len) {
        if (BLOCK - p % BLOCK < FHDR) {
            p += BLOCK - p % BLOCK;
            continue;
        }
        size_t l = (size_t)(unsigned char)buf[p + 4] | (size_t)(unsigned char)buf[p + 5] << 8;
        int t = (unsigned char)buf[p + 6];
        if (t < 1 || t > 4 || p + FHDR + l > len) {
            break;
        }
        out[n].off = p;
        out[n].len = l;
        out[n++].type = t;
        p += FHDR + l;
    }
    return n;
}

static uint64_t healed_blocks(strata_db *db)
{
    uint64_t v = 0;
    tu_assert_ok(strata_property_int(db, "strata.ecc-healed-blocks", &v));
    return v;
}

/* Flips one bit in the payload of the fragment picked by pick (index into the fragments). */
static void flip_in(const char *path, int (*pick)(const frag *f, int n), size_t at)
{
    size_t len;
    char *img = tm_slurp(path, &len);
    frag *fr = calloc(4096, sizeof(*fr));
    assert_non_null(fr);
    int n = fragments(img, len, fr, 4096);
    int i = pick(fr, n);
    assert_true(i >= 0 && i < n);
    assert_true(fr[i].len > at);
    img[fr[i].off + FHDR + at] ^= 0x10;
    tm_spit(path, img, len);
    free(fr);
    free(img);
}

static int pick_small_batch(const frag *f, int n)
{
    (void)f;
    return n > 10 ? 10 : -1; /* header, marker, then batches */
}

static int pick_middle(const frag *f, int n)
{
    for (int i = 0; i < n; i++) {
        if (f[i].type == 3) {
            return i;
        }
    }
    return -1;
}

static int pick_last(const frag *f, int n)
{
    (void)f;
    return n - 1;
}

/* ---- tests ---- */

/* Data only in the WAL, a bit flipped in a record: it heals at open. */
static void test_wal_bit_flip_heals(void **state)
{
    (void)state;
    for (int enc = 0; enc < 2; enc++) {
        for (int where = 0; where < 2; where++) {
            char *dir = tu_mkdtemp("log_ecc_wal");
            strata_options *o = opts_for("ecc=rs", enc);
            strata_db *db;
            tu_assert_ok(strata_open(o, dir, &db));
            put_all(db);
            tu_assert_ok(strata_close(db)); /* no flush: the data is only in the WAL */
            char wal[1024];
            assert_true(largest(dir, ".log", wal, sizeof(wal)));
            flip_in(wal, where ? pick_middle : pick_small_batch, where ? 1000 : 5);
            tu_assert_ok(strata_open(o, dir, &db));
            assert_int_equal(count_present(db), NKEYS);
            assert_true(healed_blocks(db) >= 1);
            tu_assert_ok(strata_close(db));
            tu_assert_ok(strata_open(o, dir, &db));
            assert_int_equal(count_present(db), NKEYS);
            tu_assert_ok(strata_close(db));
            strata_options_destroy(o);
            tu_free_path(dir);
        }
    }
}

/* The same flip without parity: the damaged record is lost (or the open fails). */
static void test_wal_bit_flip_without_parity(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("log_ecc_plain");
    strata_options *o = opts_for("ecc=none", 0);
    strata_db *db;
    tu_assert_ok(strata_open(o, dir, &db));
    put_all(db);
    tu_assert_ok(strata_close(db));
    char wal[1024];
    assert_true(largest(dir, ".log", wal, sizeof(wal)));
    flip_in(wal, pick_middle, 1000);
    int rc = strata_open(o, dir, &db);
    if (rc == 0) {
        assert_true(count_present(db) < NKEYS);
        tu_assert_ok(strata_close(db));
    } else {
        assert_int_equal(rc, STRATA_E_CORRUPTION);
    }
    strata_options_destroy(o);
    tu_free_path(dir);
}

/* A bit flipped in the MANIFEST's last version edit heals at open. */
static void test_manifest_bit_flip_heals(void **state)
{
    (void)state;
    for (int enc = 0; enc < 2; enc++) {
        char *dir = tu_mkdtemp("log_ecc_manifest");
        strata_options *o = opts_for("ecc=rs", enc);
        strata_db *db;
        tu_assert_ok(strata_open(o, dir, &db));
        put_all(db);
        tu_assert_ok(strata_flush(db, 1)); /* a version edit adding a table */
        tu_assert_ok(strata_close(db));
        char manifest[1024], current[1024];
        snprintf(current, sizeof(current), "%s/CURRENT", dir);
        size_t clen;
        char *name = tm_slurp(current, &clen);
        assert_true(clen > 1 && name[clen - 1] == '\n');
        name[clen - 1] = '\0';
        snprintf(manifest, sizeof(manifest), "%s/%s", dir, name);
        free(name);
        flip_in(manifest, pick_last, 3);
        tu_assert_ok(strata_open(o, dir, &db));
        assert_int_equal(count_present(db), NKEYS);
        assert_true(healed_blocks(db) >= 1);
        tu_assert_ok(strata_close(db));
        tu_assert_ok(strata_open(o, dir, &db));
        assert_int_equal(count_present(db), NKEYS);
        assert_int_equal(healed_blocks(db), 0); /* the open wrote a new MANIFEST */
        tu_assert_ok(strata_close(db));
        strata_options_destroy(o);
        tu_free_path(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wal_bit_flip_heals),
        cmocka_unit_test(test_wal_bit_flip_without_parity),
        cmocka_unit_test(test_manifest_bit_flip_heals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
