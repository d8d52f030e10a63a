/* test_api_encryption.c — encryption at rest, parity and their combinations through the public
 * API: every compression × encryption × parity combination round-trips across flush, compaction
 * and reopen (settings changed between opens); no plaintext run of any key or value in any file;
 * wrong and missing keys fail at open with STRATA_E_AUTH; key rotation + rekey; a flipped bit in
 * a table heals; verify and scrub report. */
#include "table_map.h" /* before cmocka (test_util.h): its skip() macro */
#include "test_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "strata.h"

/* ---- a key provider with up to 4 keys ---------------------------------------------------------- */

typedef struct keyring {
    unsigned char keys[4][32];
    int have[4];
    uint32_t current;
} keyring;

static int ring_get(void *state, uint32_t id, unsigned char *key)
{
    keyring *r = state;
    if (id >= 4 || !r->have[id]) {
        return -1;
    }
    memcpy(key, r->keys[id], 32);
    return 0;
}

static int ring_current(void *state, uint32_t *id)
{
    *id = ((keyring *)state)->current;
    return 0;
}

static void ring_set(keyring *r, uint32_t id, unsigned char fill)
{
    memset(r->keys[id], fill, 32);
    r->keys[id][0] = (unsigned char)id;
    r->have[id] = 1;
}

static strata_options *opts_for(const char *text, keyring *ring)
{
    strata_options *o = strata_options_create();
    tu_assert_ok(strata_options_from_string(
        o, "create_if_missing=1;write_buffer_size=64KB;block_size=1KB;target_file_size=64KB"));
    if (text) {
        tu_assert_ok(strata_options_from_string(o, text));
    }
    if (ring) {
        strata_key_provider *kp = strata_key_provider_create(ring, ring_get, ring_current, NULL);
        assert_non_null(kp);
        tu_assert_ok(strata_options_set_key_provider(o, kp));
        strata_key_provider_destroy(kp); /* the options keep their reference */
    }
    return o;
}

/* ---- data ------------------------------------------------------------------------------------- */

static void key_of(int i, char *k, size_t cap)
{
    snprintf(k, cap, "MARKERKEY%06d", i);
}

static void val_of(int i, int gen, char *v, size_t cap)
{
    snprintf(v, cap, "VALUEPAYLOAD%06d-gen%d-QUOKKAQUOKKAQUOKKA", i, gen);
}

static void put_range(strata_db *db, int from, int to, int gen)
{
    char k[32], v[96];
    for (int i = from; i < to; i++) {
        key_of(i, k, sizeof(k));
        val_of(i, gen, v, sizeof(v));
        tu_assert_ok(strata_put(db, NULL, k, strlen(k), v, strlen(v)));
    }
}

static void check_range(strata_db *db, int from, int to, int gen)
{
    char k[32], v[96];
    for (int i = from; i < to; i++) {
        key_of(i, k, sizeof(k));
        val_of(i, gen, v, sizeof(v));
        void *got = NULL;
        size_t len = 0;
        tu_assert_ok(strata_get(db, NULL, k, strlen(k), &got, &len));
        tu_assert_bytes_equal(got, len, v, strlen(v));
        strata_free(got);
    }
}

/* ---- file helpers ------------------------------------------------------------------------------ */

/* Every 4-byte run of the markers in the keys and values above. */
static const char *const markers[] = {"MARKERKEY", "VALUEPAYLOAD", "QUOKKAQUOKKA"};

static int has_plaintext(const char *buf, size_t len, const char **which)
{
    for (size_t m = 0; m < sizeof(markers) / sizeof(markers[0]); m++) {
        size_t ml = strlen(markers[m]);
        for (size_t off = 0; off + 4 <= ml; off++) {
            for (size_t i = 0; i + 4 <= len; i++) {
                if (memcmp(buf + i, markers[m] + off, 4) == 0) {
                    *which = markers[m];
                    return 1;
                }
            }
        }
    }
    return 0;
}

/* Asserts no file of dir holds a 4-byte run of a marker; returns the number of files scanned. */
static int scan_dir_for_plaintext(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int files = 0;
    char path[1024];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        size_t len;
        char *buf = tm_slurp(path, &len);
        const char *which = NULL;
        if (has_plaintext(buf, len, &which)) {
            print_error("plaintext run of %s found in %s\n", which, e->d_name);
            fail();
        }
        free(buf);
        files++;
    }
    closedir(d);
    return files;
}

/* The path of the largest .sst in dir (into out). */
static int largest_table(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    off_t best = -1;
    char path[1024];
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".sst") == 0) {
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

/* ---- tests ------------------------------------------------------------------------------------- */

static void test_no_plaintext_anywhere(void **state)
{
    (void)state;
    keyring ring = {0};
    ring_set(&ring, 1, 0x11);
    ring.current = 1;
    char *dir = tu_mkdtemp("enc_plain");
    strata_options *o = opts_for("encryption=aes-256-gcm;compression=none", &ring);
    strata_db *db;
    tu_assert_ok(strata_open(o, dir, &db));
    put_range(db, 0, 3000, 1);
    tu_assert_ok(strata_flush(db, 1));
    tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
    put_range(db, 3000, 3500, 1); /* stays in the WAL */
    check_range(db, 0, 3500, 1);
    tu_assert_ok(strata_close(db));
    assert_true(scan_dir_for_plaintext(dir) >= 5);
    tu_assert_ok(strata_open(o, dir, &db));
    check_range(db, 0, 3500, 1);
    tu_assert_ok(strata_close(db));
    assert_true(scan_dir_for_plaintext(dir) >= 5);
    strata_options_destroy(o);
    tu_free_path(dir);
}

static void test_wrong_and_missing_key(void **state)
{
    (void)state;
    keyring ring = {0}, wrong = {0};
    ring_set(&ring, 1, 0x22);
    ring.current = 1;
    ring_set(&wrong, 1, 0x23);
    wrong.current = 1;
    char *dir = tu_mkdtemp("enc_wrong");
    strata_options *o = opts_for("encryption=aes-256-gcm", &ring);
    strata_db *db;
    tu_assert_ok(strata_open(o, dir, &db));
    put_range(db, 0, 500, 1);
    tu_assert_ok(strata_close(db));
    strata_options *ow = opts_for(NULL, &wrong);
    assert_int_equal(strata_open(ow, dir, &db), STRATA_E_AUTH);
    assert_non_null(strstr(strata_errmsg(), "IDENTITY"));
    strata_options *none = opts_for(NULL, NULL);
    assert_int_equal(strata_open(none, dir, &db), STRATA_E_AUTH);
    assert_non_null(strstr(strata_errmsg(), "no key provider"));
    tu_assert_ok(strata_open(o, dir, &db));
    check_range(db, 0, 500, 1);
    tu_assert_ok(strata_close(db));
    strata_options_destroy(o);
    strata_options_destroy(ow);
    strata_options_destroy(none);
    tu_free_path(dir);
}

static void test_rotation_and_rekey(void **state)
{
    (void)state;
    keyring ring = {0};
    ring_set(&ring, 1, 0x31);
    ring.current = 1;
    char *dir = tu_mkdtemp("enc_rekey");
    strata_options *o = opts_for("encryption=aes-256-gcm", &ring);
    strata_db *db;
    tu_assert_ok(strata_open(o, dir, &db));
    put_range(db, 0, 2000, 1);
    tu_assert_ok(strata_flush(db, 1));
    tu_assert_ok(strata_close(db));
    ring_set(&ring, 2, 0x32); /* rotate: new files use key 2, old ones stay readable */
    ring.current = 2;
    tu_assert_ok(strata_open(o, dir, &db));
    put_range(db, 1000, 3000, 2);
    check_range(db, 0, 1000, 1);
    check_range(db, 1000, 3000, 2);
    tu_assert_ok(strata_rekey(db));
    tu_assert_ok(strata_close(db));
    ring.have[1] = 0; /* key 1 destroyed */
    memset(ring.keys[1], 0, 32);
    tu_assert_ok(strata_open(o, dir, &db));
    check_range(db, 0, 1000, 1);
    check_range(db, 1000, 3000, 2);
    tu_assert_ok(strata_verify(db, 0));
    tu_assert_ok(strata_verify(db, STRATA_VERIFY_LOGS));
    assert_int_equal(strata_verify(db, 0x100), STRATA_E_INVALID);
    strata_integrity_report rep;
    tu_assert_ok(strata_verify_report(db, 0, &rep));
    assert_true(rep.files_checked >= 2);
    assert_int_equal(rep.blocks_unrecoverable, 0);
    strata_integrity_report_free(&rep);
    tu_assert_ok(strata_close(db));
    strata_options_destroy(o);
    tu_free_path(dir);
}

/* A plaintext DB opened with encryption: old tables stay readable, new files are encrypted, and
 * after rekey nothing in the directory is plaintext. */
static void test_migration(void **state)
{
    (void)state;
    keyring ring = {0};
    ring_set(&ring, 1, 0x41);
    ring.current = 1;
    char *dir = tu_mkdtemp("enc_migrate");
    strata_options *plain = opts_for("compression=none", NULL);
    strata_options *enc = opts_for("compression=none;encryption=aes-256-gcm", &ring);
    strata_db *db;
    tu_assert_ok(strata_open(plain, dir, &db));
    put_range(db, 0, 1500, 1);
    tu_assert_ok(strata_flush(db, 1));
    tu_assert_ok(strata_close(db));
    tu_assert_ok(strata_open(enc, dir, &db));
    put_range(db, 1000, 2000, 2);
    check_range(db, 0, 1000, 1);
    check_range(db, 1000, 2000, 2);
    tu_assert_ok(strata_rekey(db));
    tu_assert_ok(strata_close(db));
    scan_dir_for_plaintext(dir);
    assert_int_equal(strata_open(plain, dir, &db), STRATA_E_AUTH);
    tu_assert_ok(strata_open(enc, dir, &db));
    check_range(db, 0, 1000, 1);
    check_range(db, 1000, 2000, 2);
    tu_assert_ok(strata_close(db));
    strata_options_destroy(plain);
    strata_options_destroy(enc);
    tu_free_path(dir);
}

/* All 8 combinations of compression × encryption × parity, changed between opens of one DB. */
static void test_eight_combinations(void **state)
{
    (void)state;
    keyring ring = {0};
    ring_set(&ring, 1, 0x51);
    ring.current = 1;
    static const char *const combos[] = {
        "compression=none;ecc=none",    "compression=snappy;ecc=none",
        "compression=none;ecc=rs",      "compression=zstd;ecc=rs;ecc_data_shards=4",
        "compression=none;ecc=xor",     "compression=lz4;ecc=xor",
    };
    /* Plaintext first (a DB can move to encryption, never back), then encrypted. */
    char *dir = tu_mkdtemp("enc_combos");
    strata_db *db;
    int gen = 0;
    for (int enc = 0; enc < 2; enc++) {
        for (size_t c = 0; c < sizeof(combos) / sizeof(combos[0]); c++) {
            char text[256];
            snprintf(text, sizeof(text), "%s%s", combos[c], enc ? ";encryption=aes-256-gcm" : "");
            strata_options *o = opts_for(text, enc ? &ring : NULL);
            tu_assert_ok(strata_open(o, dir, &db));
            gen++;
            int base = (int)(gen * 300);
            put_range(db, base, base + 600, gen);
            tu_assert_ok(strata_flush(db, 1));
            if (c % 2) {
                tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
            }
            check_range(db, base, base + 600, gen);
            tu_assert_ok(strata_close(db));
            tu_assert_ok(strata_open(o, dir, &db));
            check_range(db, base, base + 600, gen);
            strata_integrity_report rep;
            tu_assert_ok(strata_verify_report(db, 0, &rep));
            assert_int_equal(rep.blocks_unrecoverable, 0);
            strata_integrity_report_free(&rep);
            tu_assert_ok(strata_close(db));
            strata_options_destroy(o);
        }
    }
    tu_free_path(dir);
}

/* One flipped bit in a table with parity heals on read, is counted, and the table is rewritten. */
static void test_bit_flip_heals(void **state)
{
    (void)state;
    for (int enc = 0; enc < 2; enc++) {
        keyring ring = {0};
        ring_set(&ring, 1, 0x61);
        ring.current = 1;
        char *dir = tu_mkdtemp("enc_heal");
        strata_options *o = opts_for(enc ? "ecc=rs;encryption=aes-256-gcm;compression=none"
                                         : "ecc=rs;compression=none",
                                     enc ? &ring : NULL);
        strata_db *db;
        tu_assert_ok(strata_open(o, dir, &db));
        put_range(db, 0, 3000, 1);
        tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
        tu_assert_ok(strata_close(db));
        char path[1024];
        assert_true(largest_table(dir, path, sizeof(path)));
        size_t len;
        char *img = tm_slurp(path, &len);
        for (size_t pos = 100; pos < len; pos += len / 7) {
            img[pos] ^= 0x08; /* a few scattered single-bit flips, one per block at most */
        }
        tm_spit(path, img, len);
        free(img);
        tu_assert_ok(strata_open(o, dir, &db));
        check_range(db, 0, 3000, 1);
        uint64_t healed = 0;
        tu_assert_ok(strata_property_int(db, "strata.ecc-healed-blocks", &healed));
        assert_true(healed >= 1);
        tu_assert_ok(strata_scrub(db, 0));
        tu_assert_ok(strata_scrub_wait(db));
        uint64_t bad = 1;
        tu_assert_ok(strata_property_int(db, "strata.scrub-unrecoverable", &bad));
        assert_int_equal(bad, 0);
        tu_assert_ok(strata_close(db));
        tu_assert_ok(strata_open(o, dir, &db));
        check_range(db, 0, 3000, 1);
        tu_assert_ok(strata_close(db));
        strata_options_destroy(o);
        tu_free_path(dir);
    }
}

/* Repair and salvage read encrypted, parity-protected tables: a burst beyond the parity loses
 * only its block; what they write is encrypted again. */
static void test_repair_and_salvage_encrypted(void **state)
{
    (void)state;
    keyring ring = {0};
    ring_set(&ring, 1, 0x71);
    ring.current = 1;
    char *dir = tu_mkdtemp("enc_repair");
    char db1[1024], db2[1024];
    snprintf(db1, sizeof(db1), "%s/db", dir);
    snprintf(db2, sizeof(db2), "%s/copy", dir);
    strata_options *o = opts_for("ecc=rs;encryption=aes-256-gcm;compression=none", &ring);
    strata_db *db;
    tu_assert_ok(strata_open(o, db1, &db));
    put_range(db, 0, 4000, 1);
    tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
    tu_assert_ok(strata_close(db));
    char path[1024];
    assert_true(largest_table(db1, path, sizeof(path)));
    size_t len;
    char *img = tm_slurp(path, &len);
    memset(img + len / 2, 0xA5, 2000); /* a burst no parity of one block can heal */
    tm_spit(path, img, len);
    free(img);
    strata_integrity_report rep;
    tu_assert_ok(strata_salvage_report(o, db1, db2, &rep));
    assert_true(rep.blocks_unrecoverable >= 1);
    assert_true(rep.entries_recovered >= 3500 && rep.entries_recovered < 4000);
    strata_integrity_report_free(&rep);
    tu_assert_ok(strata_repair_report(o, db1, &rep));
    assert_true(rep.entries_recovered >= 3500);
    strata_integrity_report_free(&rep);
    scan_dir_for_plaintext(db1);
    scan_dir_for_plaintext(db2);
    for (int which = 0; which < 2; which++) {
        tu_assert_ok(strata_open(o, which ? db2 : db1, &db));
        int found = 0;
        char k[32], v[96];
        for (int i = 0; i < 4000; i++) {
            key_of(i, k, sizeof(k));
            val_of(i, 1, v, sizeof(v));
            void *got = NULL;
            size_t gl = 0;
            int rc = strata_get(db, NULL, k, strlen(k), &got, &gl);
            if (rc == 0) {
                tu_assert_bytes_equal(got, gl, v, strlen(v)); /* never a wrong value */
                strata_free(got);
                found++;
            } else {
                assert_int_equal(rc, STRATA_E_NOTFOUND);
            }
        }
        assert_true(found >= 3500 && found < 4000);
        tu_assert_ok(strata_close(db));
    }
    strata_options_destroy(o);
    tu_free_path(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_plaintext_anywhere),
        cmocka_unit_test(test_wrong_and_missing_key),
        cmocka_unit_test(test_rotation_and_rekey),
        cmocka_unit_test(test_migration),
        cmocka_unit_test(test_eight_combinations),
        cmocka_unit_test(test_bit_flip_heals),
        cmocka_unit_test(test_repair_and_salvage_encrypted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
