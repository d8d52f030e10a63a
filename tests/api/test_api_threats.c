/* test_api_threats.c — the threat model of encryption at rest, case by case (docs/SECURITY.md).
 * The attacker can read, copy, reorder, replace and rewrite any file of the DB directory, and
 * can recompute every non-cryptographic checksum (block CRC trailers, footer and log fragment
 * CRCs, parity), but does not hold the master keys.  Each case damages a real encrypted DB and
 * asserts the exact error (STRATA_E_AUTH, or STRATA_E_CORRUPTION where a checksum the attacker
 * did not fix catches it first), that strata_errmsg() names the file and the offset, and that no
 * read ever returns a value that was not written to that key by this DB.
 *
 * Tables are written with compression=none, block_restart_interval=1 and fixed-size keys and
 * values, so data blocks have equal stored sizes and can be exchanged.  After moving or editing
 * a block the test recomputes its trailer checksum with the codec's rule (body ‖ type ‖ flags ‖
 * fixed64(offset), codec.c block_checksum) and, with parity, its parity region, and asserts that
 * st_codec_verify accepts the block: only AES-GCM is left to catch the change.
 *
 *   (a) two equal-size data blocks of one table swap places (checksums fixed) → AUTH at either
 *       offset (the offset is the GCM nonce and in the additional data); with ecc=none and
 *       ecc=rs (the parity moved and recomputed too: nothing to heal), and strata_verify reports
 *       exactly the two blocks; the same swap with stale checksums → CORRUPTION (checksum first;
 *       with parity the heal fails too).
 *   (b) a data block of another table of the same DB copied over a block of this table (same
 *       size, checksum fixed) → AUTH (file number and salt bind the file key); two whole table
 *       files of the DB exchanged → AUTH.
 *   (c) the table of another DB encrypted with the SAME key, of the same number and size, copied
 *       over this DB's table → AUTH (the DB id binds the file key); the other DB's IDENTITY
 *       copied over this one's → AUTH naming the MANIFEST.
 *   (d) codec relabel: a data block's compression type byte changed (snappy, lz4, zstd) and the
 *       index block relabelled, checksums fixed → AUTH (type is in the additional data).
 *   (e) downgrade: a data block's ENCRYPTED flag cleared (checksum fixed) → AUTH; the table
 *       footer's encrypted flag cleared (footer CRC and mirror fixed) → AUTH; a plaintext table
 *       of the same number and exact size written over a table → AUTH; the WAL replaced by a
 *       plaintext WAL, or a plaintext WAL added under a new number, or the MANIFEST replaced by
 *       a plaintext one → AUTH at open; IDENTITY rewritten as "not encrypted" (its CRC fixed)
 *       together with a plaintext table → AUTH at open (fixed in b40001c: it used to be
 *       accepted, and the attacker's values were read); IDENTITY's "encrypted since" raised (CRC
 *       fixed) → AUTH at open.
 *   (f) damaged tag: a tag bit flipped, a tag zeroed, a ciphertext byte flipped (checksums fixed)
 *       → AUTH; at the codec level, a sealed block cut by 1..40 bytes (tag and ciphertext
 *       truncated, trailer rebuilt) → AUTH, never a decode.
 *   (g) keys: a wrong key (same id) → AUTH naming IDENTITY; a provider without the DB's key id,
 *       or no keys at all → AUTH naming IDENTITY; a key file with the wrong key → AUTH; a missing
 *       key file → NOTFOUND and the directory untouched; the table footer's key id or salt changed
 *       (CRC fixed) → AUTH naming the table; IDENTITY deleted → AUTH naming the MANIFEST; the
 *       MANIFEST under a key the provider lost → AUTH naming the MANIFEST.
 *   (h) rotation: a key file grows "1:K1" → "1:K1 2:K2", strata_rekey, then key 1 is removed
 *       from the file: every key (tables, parity on, WAL replay) still reads and strata_verify
 *       passes; a provider with only key 1 is refused.
 *   (i) encrypted logs: WAL records swapped, dropped, replayed, taken from another DB's WAL at
 *       the same position, the seal header replaced by another DB's or removed (fragment CRCs
 *       rewritten by the log writer) → AUTH at open naming the WAL and the record's offset; a
 *       MANIFEST record dropped → AUTH naming the MANIFEST.  Not detectable by design (no
 *       state outside the directory): dropping the last records of a log (a torn tail), and
 *       dropping records with skip_corrupt_wal_records (counters then need only increase) —
 *       asserted here only to never yield a wrong value.
 *   (j) no plaintext: after puts, batches merged with strata_batch_append, deletes, overwrites,
 *       flushes, a compaction, a heal, reopens with WAL replay and a rekey, no file of the
 *       directory (tables, WAL, MANIFEST, IDENTITY, CURRENT, OPTIONS, LOG, LOG.old) holds a
 *       4-byte run of any marker written (chance matches of 4–5 bytes in ciphertext are
 *       tolerated up to 2 and printed; a 6-byte match fails) nor an 8-byte run of a master key.
 *
 * Not in scope (no state outside the directory to compare with): replacing every file at once
 * (a whole other DB, or a plaintext MANIFEST with plaintext tables, which looks like a DB that
 * was never encrypted), and rolling the whole directory back to an earlier copy of itself. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/checksum.h"
#include "codec/codec.h"
#include "codec/crypt.h"
#include "codec/ecc.h"
#include "env/env.h"
#include "strata.h"
#include "table/block.h"
#include "table/format.h"
#include "table/table_builder.h"
#include "table_map.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/comparator.h"
#include "util/crc32c.h"
#include "util/ikey.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"

/* after the engine headers: cmocka defines a skip() macro that clashes with env.h */
#include "test_util.h"

#define NPRE 127 /* table P: keys [0, NPRE) (so A and B have 2-byte seq varints) */
#define NTAB 600 /* tables A and B: NTAB keys each */
#define NKEYS (NPRE + 2 * NTAB)
#define NWAL 40 /* single-put records left in a WAL */
#define VAL_LEN 64
#define MAX_RECORDS 256
#define PATH_MAX_LEN TM_PATH_MAX

/* ---- keys ------------------------------------------------------------------------------------ */

static void hex_of(const unsigned char *k, char *out)
{
    for (int i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", k[i]);
    }
}

/* The options every test uses, plus text; keys from ring (NULL: none). */
static strata_options *opts_for(const char *text, tm_keyring *ring)
{
    strata_options *o = strata_options_create();
    assert_non_null(o);
    tu_assert_ok(strata_options_from_string(
        o,
        "create_if_missing=1;compression=none;block_size=1KB;block_restart_interval=1;"
        "write_buffer_size=1MB;bloom_bits_per_key=10"));
    if (text) {
        tu_assert_ok(strata_options_from_string(o, text));
    }
    if (ring) {
        strata_key_provider *kp = tm_ring_provider(ring);
        tu_assert_ok(strata_options_set_key_provider(o, kp));
        strata_key_provider_destroy(kp); /* the options keep their reference */
    }
    return o;
}

/* ---- data ------------------------------------------------------------------------------------ */

static char g_gen[NKEYS]; /* the generation letter of each key's last write; 0: never written */

static void key_of(int i, char *k)
{
    snprintf(k, 32, "THREATKEY%06d", i);
}

/* Exactly VAL_LEN bytes naming the key and the generation. */
static void val_of(int i, char gen, char *v)
{
    static const char fill[] = "QUOKKAQUOKKAQUOKKAQUOKKAQUOKKAQUOKKAQUOKKAQUOKKAQUOKKA";
    int n = snprintf(v, VAL_LEN + 1, "THREATVAL%06d-%c-", i, gen);
    memcpy(v + n, fill, (size_t)(VAL_LEN - n));
}

static void put_key(strata_db *db, int i, char gen)
{
    char k[32], v[VAL_LEN + 1];
    key_of(i, k);
    val_of(i, gen, v);
    tu_assert_ok(strata_put(db, NULL, k, strlen(k), v, VAL_LEN));
    g_gen[i] = gen;
}

/* Tables P = [0, NPRE), A = [NPRE, NPRE+NTAB), B = the rest, each flushed on its own (disjoint
 * ranges: no compaction), generation gen. */
static void build_tables(const char *dir, strata_options *o, char gen)
{
    strata_db *db;
    tu_assert_ok(strata_open(o, dir, &db));
    static const int bounds[] = {0, NPRE, NPRE + NTAB, NKEYS};
    for (int t = 0; t < 3; t++) {
        for (int i = bounds[t]; i < bounds[t + 1]; i++) {
            put_key(db, i, gen);
        }
        tu_assert_ok(strata_flush(db, 1));
    }
    tu_assert_ok(strata_close(db));
}

/* A DB whose WAL holds NWAL single-put records (keys [0, NWAL)), nothing flushed. */
static void build_wal(const char *dir, strata_options *o, char gen)
{
    strata_db *db;
    tu_assert_ok(strata_open(o, dir, &db));
    for (int i = 0; i < NWAL; i++) {
        put_key(db, i, gen);
    }
    tu_assert_ok(strata_close(db)); /* close does not flush: the WAL keeps the writes */
}

static void reset_model(void)
{
    memset(g_gen, 0, sizeof(g_gen));
}

/* ---- checking reads -------------------------------------------------------------------------- */

/* What a damaged read must fail with: code, a message naming file (a base name) and, when noffs
 * > 0, "offset N" for one of offs (else any offset). */
typedef struct expect {
    int code;
    const char *file;
    uint64_t offs[4];
    int noffs;
    int need_offset; /* 0: the message need not name an offset (a missing key) */
} expect;

static int names_offset(const char *m, uint64_t off)
{
    char want[48];
    int n = snprintf(want, sizeof(want), "offset %llu", (unsigned long long)off);
    for (const char *p = strstr(m, want); p; p = strstr(p + 1, want)) {
        if (p[n] < '0' || p[n] > '9') {
            return 1;
        }
    }
    return 0;
}

static int names_any_offset(const char *m)
{
    for (const char *p = strstr(m, "offset "); p; p = strstr(p + 1, "offset ")) {
        if (p[7] >= '0' && p[7] <= '9') {
            return 1;
        }
    }
    return 0;
}

static char g_first_error[512]; /* the first error message of the current open_* call */

static void check_error(int rc, const expect *e, const char *what)
{
    const char *m = strata_errmsg();
    int off_ok = !e->need_offset || (e->noffs == 0 && names_any_offset(m));
    for (int i = 0; i < e->noffs && !off_ok; i++) {
        off_ok = names_offset(m, e->offs[i]);
    }
    if (!g_first_error[0]) {
        snprintf(g_first_error, sizeof(g_first_error), "%s", m);
    }
    if (rc != e->code || !strstr(m, e->file) || !off_ok) {
        print_error("%s: got %d (%s) \"%s\"; expected %d (%s) naming %s and %s\n", what, rc,
                    strata_strerror(rc), m, e->code, strata_strerror(e->code), e->file,
                    e->noffs ? "one of the damaged offsets" : "an offset");
        fail();
    }
}

/* Fails unless (k, v) is the value last written to key k (by this DB). */
static void check_value(int i, const char *v, size_t vlen, const char *what)
{
    char want[VAL_LEN + 1];
    if (i < 0 || i >= NKEYS || !g_gen[i]) {
        print_error("%s: key %d was never written\n", what, i);
        fail();
    }
    val_of(i, g_gen[i], want);
    if (vlen != VAL_LEN || memcmp(v, want, VAL_LEN) != 0) {
        print_error("%s: key %d: a value that was not written: \"%.*s\"\n", what, i, (int)vlen, v);
        fail();
    }
}

/* Gets every key ever written and scans forward; each read returns the right value or fails as
 * e says.  Returns the number of failed reads. */
static int read_expect(strata_db *db, const expect *e)
{
    int failures = 0;
    for (int i = 0; i < NKEYS; i++) {
        char k[32];
        key_of(i, k);
        void *v = NULL;
        size_t vlen = 0;
        int rc = strata_get(db, NULL, k, strlen(k), &v, &vlen);
        if (rc == 0) {
            check_value(i, v, vlen, "get");
            strata_free(v);
        } else if (rc == STRATA_E_NOTFOUND && !g_gen[i]) {
            continue;
        } else {
            check_error(rc, e, "get");
            failures++;
        }
    }
    strata_iter *it;
    tu_assert_ok(strata_iter_create(db, NULL, &it));
    int last = -1;
    for (strata_iter_seek_to_first(it); strata_iter_valid(it); strata_iter_next(it)) {
        size_t kl, vl;
        const char *key = strata_iter_key(it, &kl);
        const char *val = strata_iter_value(it, &vl);
        int i = -1;
        if (kl > 13 && memcmp(key, "BATCHMERGEKEY", 13) == 0) {
            continue; /* (j) writes these too; everything else is a THREATKEY */
        }
        assert_true(kl == 15 && sscanf(key, "THREATKEY%6d", &i) == 1 && i > last);
        check_value(i, val, vl, "scan");
        last = i;
    }
    int rc = strata_iter_status(it);
    if (rc) {
        check_error(rc, e, "scan");
        failures++;
    }
    strata_iter_destroy(it);
    return failures;
}

/* Opens dir: either open fails as e says, or reads do; returns 1 if something failed. */
static int open_and_read(const char *dir, strata_options *o, const expect *e)
{
    strata_db *db = NULL;
    g_first_error[0] = '\0';
    int rc = strata_open(o, dir, &db);
    if (rc) {
        check_error(rc, e, "open");
        print_message("  open: %s\n", g_first_error);
        return 1;
    }
    int failures = read_expect(db, e);
    strata_close(db);
    if (failures) {
        print_message("  %d reads failed, the first: %s\n", failures, g_first_error);
    }
    return failures > 0;
}

/* Opening must fail exactly as e says. */
static void open_must_fail(const char *dir, strata_options *o, const expect *e)
{
    strata_db *db = NULL;
    int rc = strata_open(o, dir, &db);
    if (rc == 0) {
        strata_close(db);
        print_error("open of %s succeeded; expected %s naming %s\n", dir, strata_strerror(e->code),
                    e->file);
        fail();
    }
    g_first_error[0] = '\0';
    check_error(rc, e, "open");
    print_message("  open: %s\n", g_first_error);
}

/* Two data blocks of t with equal stored size, at least two blocks apart; 1 if found. */
static int equal_pair(const tm_table *t, int *a, int *b)
{
    for (int i = 0; i < t->ndata; i++) {
        for (int j = i + 2; j < t->ndata; j++) {
            if (t->data[i].size == t->data[j].size) {
                *a = i;
                *b = j;
                return 1;
            }
        }
    }
    return 0;
}

/* The three tables of a build_tables DB: P, A, B by file number. */
static void map_tables(const char *dir, tm_keyring *ring, tm_table *t3)
{
    char names[8][64];
    assert_int_equal(tm_list_files(dir, ".sst", 0, names, 8), 3);
    for (int i = 0; i < 3; i++) {
        tm_map_table(st_env_posix(), dir, names[i], ring, &t3[i]);
    }
}

static void table_path(char *out, const char *dir, const tm_table *t)
{
    tm_join(out, dir, t->name);
}

/* ---- (a) swapped blocks ---------------------------------------------------------------------- */

static void swap_case(const char *golden, const char *work, tm_keyring *ring, const char *ecc,
                      int fix)
{
    tm_table t3[3];
    map_tables(golden, ring, t3);
    tm_table *t = &t3[1];
    int a, b;
    assert_true(equal_pair(t, &a, &b));
    st_block_handle ha = t->data[a], hb = t->data[b];
    size_t span = (size_t)ha.size + tm_parity_len(t, ha); /* block and its parity move together */
    tm_copy_dir(golden, work);
    char path[PATH_MAX_LEN];
    table_path(path, work, t);
    size_t len;
    char *img = tm_slurp(path, &len);
    char *tmp = malloc(span);
    assert_non_null(tmp);
    memcpy(tmp, img + ha.offset, span);
    memmove(img + ha.offset, img + hb.offset, span);
    memcpy(img + hb.offset, tmp, span);
    free(tmp);
    if (fix) {
        tm_reseal_block(img, ha, t);
        tm_reseal_block(img, hb, t);
    }
    tm_spit(path, img, len);
    free(img);
    strata_options *o = opts_for(ecc, ring);
    expect e = {fix ? STRATA_E_AUTH : STRATA_E_CORRUPTION, t->name, {ha.offset, hb.offset}, 2, 1};
    strata_db *db;
    tu_assert_ok(strata_open(o, work, &db));
    assert_true(read_expect(db, &e) > 0);
    uint64_t healed = 1;
    tu_assert_ok(strata_property_int(db, "strata.ecc-healed-blocks", &healed));
    assert_int_equal(healed, 0); /* nothing "healed" into the attacker's blocks */
    strata_integrity_report rep;
    memset(&rep, 0, sizeof(rep));
    check_error(strata_verify_report(db, STRATA_VERIFY_TABLES, &rep), &e, "verify");
    assert_int_equal(rep.blocks_unrecoverable, 2); /* both moved blocks, and nothing else */
    assert_int_equal(rep.blocks_healed, 0);
    strata_integrity_report_free(&rep);
    strata_close(db); /* may report a failed background compaction over the damage */
    strata_options_destroy(o);
}

static void test_a_swap_blocks(void **state)
{
    (void)state;
    static const char *const eccs[] = {"encryption=aes-256-gcm;ecc=none",
                                       "encryption=aes-256-gcm;ecc=rs",
                                       "encryption=aes-256-gcm;ecc=xor"};
    char *root = tu_mkdtemp("thr_swap");
    char golden[PATH_MAX_LEN], work[PATH_MAX_LEN];
    tm_join(golden, root, "golden");
    tm_join(work, root, "work");
    for (size_t i = 0; i < sizeof(eccs) / sizeof(eccs[0]); i++) {
        tm_keyring ring = tm_ring_one(100 + i);
        reset_model();
        tu_rmdir_all(golden);
        strata_options *o = opts_for(eccs[i], &ring);
        build_tables(golden, o, 'a');
        strata_options_destroy(o);
        swap_case(golden, work, &ring, eccs[i], 1);
        swap_case(golden, work, &ring, eccs[i], 0);
    }
    tu_free_path(root);
}

/* ---- (b) a block from another table; tables exchanged ---------------------------------------- */

static void test_b_block_from_other_table(void **state)
{
    (void)state;
    static const char *const eccs[] = {"encryption=aes-256-gcm;ecc=none",
                                       "encryption=aes-256-gcm;ecc=rs"};
    char *root = tu_mkdtemp("thr_other");
    char golden[PATH_MAX_LEN], work[PATH_MAX_LEN], pa[PATH_MAX_LEN], pb[PATH_MAX_LEN];
    tm_join(golden, root, "golden");
    tm_join(work, root, "work");
    for (size_t i = 0; i < sizeof(eccs) / sizeof(eccs[0]); i++) {
        tm_keyring ring = tm_ring_one(200 + i);
        reset_model();
        tu_rmdir_all(golden);
        strata_options *o = opts_for(eccs[i], &ring);
        build_tables(golden, o, 'b');
        tm_table t3[3];
        map_tables(golden, &ring, t3);
        tm_table *ta = &t3[1], *tb = &t3[2];
        /* block 3 of B over the block of A with the same size (B's blocks hold other keys) */
        int ia = -1;
        for (int k = 0; k < ta->ndata && ia < 0; k++) {
            ia = ta->data[k].size == tb->data[3].size ? k : -1;
        }
        assert_true(ia >= 0);
        st_block_handle ha = ta->data[ia], hb = tb->data[3];
        tm_copy_dir(golden, work);
        table_path(pa, work, ta);
        table_path(pb, work, tb);
        size_t la, lb;
        char *ia_img = tm_slurp(pa, &la), *ib_img = tm_slurp(pb, &lb);
        memcpy(ia_img + ha.offset, ib_img + hb.offset, (size_t)hb.size + tm_parity_len(tb, hb));
        tm_reseal_block(ia_img, ha, ta);
        tm_spit(pa, ia_img, la);
        expect e = {STRATA_E_AUTH, ta->name, {ha.offset}, 1, 1};
        assert_true(open_and_read(work, o, &e));
        /* the two table files exchanged (equal sizes: same entry count and layout) */
        assert_int_equal(la, lb);
        tm_copy_dir(golden, work);
        free(ia_img);
        free(ib_img);
        ia_img = tm_slurp(pa, &la);
        ib_img = tm_slurp(pb, &lb);
        tm_spit(pa, ib_img, lb);
        tm_spit(pb, ia_img, la);
        free(ia_img);
        free(ib_img);
        expect e2 = {STRATA_E_AUTH, ".sst", {0}, 0, 1};
        assert_true(open_and_read(work, o, &e2));
        strata_options_destroy(o);
    }
    tu_free_path(root);
}

/* ---- (c) a table of another DB under the same key -------------------------------------------- */

static void test_c_table_from_other_db(void **state)
{
    (void)state;
    tm_keyring ring = tm_ring_one(300);
    char *root = tu_mkdtemp("thr_otherdb");
    char x[PATH_MAX_LEN], y[PATH_MAX_LEN], from[PATH_MAX_LEN], to[PATH_MAX_LEN];
    tm_join(x, root, "x");
    tm_join(y, root, "y");
    strata_options *o = opts_for("encryption=aes-256-gcm", &ring);
    reset_model();
    build_tables(y, o, 'y');
    build_tables(x, o, 'x'); /* the model now holds X's values: Y's must never be read */
    tm_table tx[3], ty[3];
    map_tables(x, &ring, tx);
    map_tables(y, &ring, ty);
    for (int k = 0; k < 3; k++) {
        assert_string_equal(tx[k].name, ty[k].name); /* same numbers */
        assert_int_equal(tx[k].size, ty[k].size);
    }
    table_path(from, y, &ty[1]);
    table_path(to, x, &tx[1]);
    tm_copy_file(from, to);
    expect e = {STRATA_E_AUTH,
                tx[1].name,
                {tx[1].meta.offset, tx[1].index.offset, tx[1].props.offset, tx[1].filter.offset},
                4,
                1};
    assert_true(open_and_read(x, o, &e));
    /* the other DB's IDENTITY (sealed under the same key): its DB id opens no MANIFEST here */
    tm_join(from, y, "IDENTITY");
    tm_join(to, x, "IDENTITY");
    tm_copy_file(from, to);
    expect ei = {STRATA_E_AUTH, "MANIFEST", {0}, 0, 1};
    open_must_fail(x, o, &ei);
    strata_options_destroy(o);
    tu_free_path(root);
}

/* ---- (d) codec relabel ----------------------------------------------------------------------- */

static void test_d_codec_relabel(void **state)
{
    (void)state;
    tm_keyring ring = tm_ring_one(400);
    char *root = tu_mkdtemp("thr_relabel");
    char golden[PATH_MAX_LEN], work[PATH_MAX_LEN], path[PATH_MAX_LEN];
    tm_join(golden, root, "golden");
    tm_join(work, root, "work");
    strata_options *o = opts_for("encryption=aes-256-gcm", &ring);
    reset_model();
    build_tables(golden, o, 'd');
    tm_table t3[3];
    map_tables(golden, &ring, t3);
    tm_table *t = &t3[1];
    size_t tlen = st_codec_trailer_len(t->f.checksum);
    /* data blocks 1, 5, 9 relabelled snappy, lz4, zstd: each must fail on its own */
    tm_copy_dir(golden, work);
    table_path(path, work, t);
    size_t len;
    char *img = tm_slurp(path, &len);
    expect e = {STRATA_E_AUTH, t->name, {0}, 3, 1};
    for (int k = 0; k < 3; k++) {
        st_block_handle h = t->data[1 + 4 * k];
        assert_int_equal(img[h.offset + h.size - tlen], STRATA_COMPRESSION_NONE);
        img[h.offset + h.size - tlen] = (char)(STRATA_COMPRESSION_SNAPPY + k);
        tm_reseal_block(img, h, t);
        e.offs[k] = h.offset;
    }
    tm_spit(path, img, len);
    free(img);
    assert_true(open_and_read(work, o, &e));
    /* the index block relabelled: the table cannot be opened */
    tm_copy_dir(golden, work);
    img = tm_slurp(path, &len);
    img[t->index.offset + t->index.size - tlen] = STRATA_COMPRESSION_ZSTD;
    tm_reseal_block(img, t->index, t);
    tm_spit(path, img, len);
    free(img);
    expect ei = {STRATA_E_AUTH, t->name, {t->index.offset}, 1, 1};
    assert_true(open_and_read(work, o, &ei));
    strata_options_destroy(o);
    tu_free_path(root);
}

/* ---- (e) downgrade --------------------------------------------------------------------------- */

/* A plaintext table (format 2, no key) of exactly size bytes holding keys [from, from + 8) with
 * attacker values and a padding entry, written to path. */
static void plaintext_table_of_size(const char *path, int from, uint64_t size)
{
    st_env *env = st_env_posix();
    size_t pad = 0;
    for (int attempt = 0; attempt < 40; attempt++) {
        st_table_options to = {.ucmp = st_comparator_bytewise(),
                               .block_size = 1024,
                               .restart_interval = 1,
                               .compression = STRATA_COMPRESSION_NONE,
                               .checksum = STRATA_CHECKSUM_CRC32C,
                               .creation_time = 1};
        st_wfile *wf;
        st_table_builder *tb;
        tu_assert_ok(st_env_new_writable(env, path, &wf));
        tu_assert_ok(st_table_builder_create(&to, wf, &tb));
        st_buf k = ST_BUF_INIT;
        for (int i = from; i <= from + 8; i++) {
            char key[32], val[VAL_LEN + 1];
            key_of(i, key);
            snprintf(val, sizeof(val), "ATTACKER-VALUE-%06d", i);
            st_buf_clear(&k);
            tu_assert_ok(
                st_ikey_append(&k, st_slice_cstr(key), (uint64_t)(100000 + i), ST_TYPE_VALUE));
            char *big = NULL;
            st_slice v = st_slice_cstr(val);
            if (i == from + 8) { /* the padding entry */
                big = calloc(1, pad + 1);
                assert_non_null(big);
                memset(big, 'p', pad);
                v = st_slice_make(big, pad);
            }
            tu_assert_ok(st_table_builder_add(tb, st_buf_slice(&k), v));
            free(big);
        }
        tu_assert_ok(st_table_builder_finish(tb));
        uint64_t got = st_table_builder_file_size(tb);
        st_table_builder_destroy(tb);
        st_buf_free(&k);
        tu_assert_ok(st_wfile_close(wf));
        if (got == size) {
            return;
        }
        assert_true(got < size || pad > 0);
        pad = got < size ? pad + (size_t)(size - got) : pad - 1;
    }
    fail_msg("could not build a plaintext table of %llu bytes", (unsigned long long)size);
}

/* IDENTITY's two copies edited by fn, their CRCs recomputed (the key-less attacker's part). */
static void edit_identity(const char *dir, void (*fn)(char *copy))
{
    char path[PATH_MAX_LEN];
    tm_join(path, dir, "IDENTITY");
    size_t len;
    char *img = tm_slurp(path, &len);
    assert_int_equal(len, 256);
    for (int c = 0; c < 2; c++) {
        char *p = img + 128 * c;
        fn(p);
        st_encode_fixed32(p + 124, st_crc32c_mask(st_crc32c(p, 124)));
    }
    tm_spit(path, img, len);
    free(img);
}

static void identity_clear_encrypted(char *copy)
{
    st_encode_fixed32(copy + 12, 0); /* flags */
}

static void identity_raise_since(char *copy)
{
    st_encode_fixed64(copy + 32, 1000000); /* encrypted since file 1000000 */
}

static void test_e_downgrade_tables(void **state)
{
    (void)state;
    tm_keyring ring = tm_ring_one(500);
    char *root = tu_mkdtemp("thr_down");
    char golden[PATH_MAX_LEN], work[PATH_MAX_LEN], path[PATH_MAX_LEN];
    tm_join(golden, root, "golden");
    tm_join(work, root, "work");
    strata_options *o = opts_for("encryption=aes-256-gcm", &ring);
    reset_model();
    build_tables(golden, o, 'e');
    tm_table t3[3];
    map_tables(golden, &ring, t3);
    tm_table *t = &t3[1];
    size_t tlen = st_codec_trailer_len(t->f.checksum), len;
    /* a data block's ENCRYPTED flag cleared */
    tm_copy_dir(golden, work);
    table_path(path, work, t);
    char *img = tm_slurp(path, &len);
    st_block_handle h = t->data[2];
    img[h.offset + h.size - tlen + 1] &= (char)~ST_BLOCK_FLAG_ENCRYPTED;
    tm_reseal_block(img, h, t);
    tm_spit(path, img, len);
    free(img);
    expect eb = {STRATA_E_AUTH, t->name, {h.offset}, 1, 1};
    assert_true(open_and_read(work, o, &eb));
    /* the footer's encrypted flag cleared */
    tm_copy_dir(golden, work);
    img = tm_slurp(path, &len);
    img[len - ST_FOOTER3_LEN + 41] &= (char)~1;
    tm_refix_footer(img, len, t);
    tm_spit(path, img, len);
    free(img);
    expect ef = {STRATA_E_AUTH, t->name, {t->size}, 1, 1};
    assert_true(open_and_read(work, o, &ef));
    /* a plaintext table of the same number and size */
    tm_copy_dir(golden, work);
    plaintext_table_of_size(path, NPRE, t->size);
    assert_true(open_and_read(work, o, &ef));
    /* ... and IDENTITY rewritten to say "not encrypted" so the table would be allowed */
    edit_identity(work, identity_clear_encrypted);
    expect eid = {STRATA_E_AUTH, "MANIFEST", {0}, 1, 1};
    open_must_fail(work, o, &eid);
    /* IDENTITY's "encrypted since" raised above every file */
    tm_copy_dir(golden, work);
    plaintext_table_of_size(path, NPRE, t->size);
    edit_identity(work, identity_raise_since);
    expect es = {STRATA_E_AUTH, "IDENTITY", {0}, 1, 1};
    open_must_fail(work, o, &es);
    strata_options_destroy(o);
    tu_free_path(root);
}

static void test_e_downgrade_logs(void **state)
{
    (void)state;
    tm_keyring ring = tm_ring_one(510);
    char *root = tu_mkdtemp("thr_downwal");
    char x[PATH_MAX_LEN], y[PATH_MAX_LEN], work[PATH_MAX_LEN], from[PATH_MAX_LEN], to[PATH_MAX_LEN];
    tm_join(x, root, "x");
    tm_join(y, root, "y");
    tm_join(work, root, "work");
    strata_options *plain = opts_for(NULL, NULL);
    strata_options *enc = opts_for("encryption=aes-256-gcm", &ring);
    reset_model();
    build_wal(y, plain, 'p');
    build_wal(x, enc, 'x');
    char wx[4][64], wy[4][64];
    assert_int_equal(tm_list_files(x, ".log", 0, wx, 4), 1);
    assert_int_equal(tm_list_files(y, ".log", 0, wy, 4), 1);
    /* the WAL replaced by a plaintext one */
    tm_copy_dir(x, work);
    tm_join(from, y, wy[0]);
    tm_join(to, work, wx[0]);
    tm_copy_file(from, to);
    expect e = {STRATA_E_AUTH, wx[0], {0}, 1, 1};
    open_must_fail(work, enc, &e);
    /* a plaintext WAL added under a new number (replayed after the real one) */
    tm_copy_dir(x, work);
    tm_join(to, work, "999999.log");
    tm_copy_file(from, to);
    expect e2 = {STRATA_E_AUTH, "999999.log", {0}, 1, 1};
    open_must_fail(work, enc, &e2);
    /* the MANIFEST replaced by the plaintext DB's (CURRENT names x's file number) */
    char mx[4][64], my[4][64];
    assert_int_equal(tm_list_files(x, "MANIFEST-", 1, mx, 4), 1);
    assert_int_equal(tm_list_files(y, "MANIFEST-", 1, my, 4), 1);
    tm_copy_dir(x, work);
    tm_join(from, y, my[0]);
    tm_join(to, work, mx[0]);
    tm_copy_file(from, to);
    expect em = {STRATA_E_AUTH, mx[0], {0}, 1, 1};
    open_must_fail(work, enc, &em);
    /* the untouched DB still opens with every write */
    tm_copy_dir(x, work);
    expect none = {0, "", {0}, 0, 0};
    assert_false(open_and_read(work, enc, &none));
    strata_options_destroy(plain);
    strata_options_destroy(enc);
    tu_free_path(root);
}

/* ---- (f) damaged tags ------------------------------------------------------------------------ */

static void test_f_tag_damage(void **state)
{
    (void)state;
    for (int ecc = 0; ecc < 2; ecc++) {
        tm_keyring ring = tm_ring_one(600 + (uint64_t)ecc);
        char *root = tu_mkdtemp("thr_tag");
        char golden[PATH_MAX_LEN], work[PATH_MAX_LEN], path[PATH_MAX_LEN];
        tm_join(golden, root, "golden");
        tm_join(work, root, "work");
        strata_options *o =
            opts_for(ecc ? "encryption=aes-256-gcm;ecc=rs" : "encryption=aes-256-gcm", &ring);
        reset_model();
        build_tables(golden, o, 'f');
        tm_table t3[3];
        map_tables(golden, &ring, t3);
        tm_table *t = &t3[1];
        size_t tlen = st_codec_trailer_len(t->f.checksum), len;
        tm_copy_dir(golden, work);
        table_path(path, work, t);
        char *img = tm_slurp(path, &len);
        st_block_handle h1 = t->data[1], h2 = t->data[4], h3 = t->data[7];
        img[h1.offset + h1.size - tlen - 5] ^= 0x10; /* one tag bit */
        memset(img + h2.offset + h2.size - tlen - ST_CRYPT_TAG_LEN, 0, ST_CRYPT_TAG_LEN); /* tag */
        img[h3.offset + 17] ^= 0x01; /* a ciphertext bit */
        tm_reseal_block(img, h1, t);
        tm_reseal_block(img, h2, t);
        tm_reseal_block(img, h3, t);
        tm_spit(path, img, len);
        free(img);
        expect e = {STRATA_E_AUTH, t->name, {h1.offset, h2.offset, h3.offset}, 3, 1};
        assert_true(open_and_read(work, o, &e));
        strata_options_destroy(o);
        tu_free_path(root);
    }
}

/* A sealed block cut short (the tag and then ciphertext lose their last bytes; the trailer is
 * rebuilt after the shorter body) never decodes: AUTH naming the file and the offset. */
static void test_f_truncated_tag_codec(void **state)
{
    (void)state;
    tm_keyring ring = tm_ring_one(610);
    st_key_provider *kp = tm_ring_st_provider(&ring);
    unsigned char db_id[ST_DB_ID_LEN], salt[ST_CRYPT_SALT_LEN];
    memset(db_id, 0x5a, sizeof(db_id));
    memset(salt, 0xa5, sizeof(salt));
    st_crypt_file *cf;
    tu_assert_ok(st_crypt_file_create(kp, 1, db_id, 7, ST_CRYPT_FILE_TABLE, salt, &cf));
    st_codec *c;
    tu_assert_ok(st_codec_create(STRATA_COMPRESSION_NONE, 0, STRATA_CHECKSUM_CRC32C, &c));
    tu_assert_ok(st_codec_set_transforms(c, cf, NULL));
    char raw[200];
    for (size_t i = 0; i < sizeof(raw); i++) {
        raw[i] = (char)('a' + i % 26);
    }
    st_buf scratch = ST_BUF_INIT;
    st_codec_out out;
    const uint64_t off = 4096;
    tu_assert_ok(st_codec_encode(c, st_slice_make(raw, sizeof(raw)), 1, &scratch, &out));
    tu_assert_ok(st_codec_seal(c, &out, off, ST_BLOCK_DATA));
    size_t blen = out.body.size;
    assert_int_equal(blen, sizeof(raw) + ST_CRYPT_TAG_LEN);
    char stored[512];
    st_codec_rctx ctx = {STRATA_CHECKSUM_CRC32C, cf, 0, "000007.sst"};
    /* the intact block decodes */
    memcpy(stored, out.body.data, blen);
    memcpy(stored + blen, out.trailer, out.trailer_len);
    st_slice rawout;
    char *heap;
    tu_assert_ok(st_codec_decode_block(&ctx, st_slice_make(stored, blen + out.trailer_len), 1, off,
                                       ST_BLOCK_DATA, 0, &rawout, &heap));
    tu_assert_bytes_equal(rawout.data, rawout.size, raw, sizeof(raw));
    st_free(heap);
    for (size_t cut = 1; cut <= 40; cut++) {
        size_t nb = blen - cut;
        memcpy(stored, out.body.data, nb);
        memcpy(stored + nb, out.trailer, out.trailer_len);
        tm_fix_checksum(stored, nb + out.trailer_len, off, STRATA_CHECKSUM_CRC32C);
        st_slice s = st_slice_make(stored, nb + out.trailer_len);
        heap = NULL;
        int rc = st_codec_decode_block(&ctx, s, 1, off, ST_BLOCK_DATA, 0, &rawout, &heap);
        assert_null(heap);
        expect e = {STRATA_E_AUTH, "000007.sst", {off}, 1, 1};
        check_error(rc, &e, "decode of a cut block");
    }
    st_buf_free(&scratch);
    st_codec_destroy(c);
    st_crypt_file_destroy(cf);
    st_key_provider_unref(kp);
}

/* ---- (g) keys -------------------------------------------------------------------------------- */

static void write_key_file(const char *path, const tm_keyring *r, const uint32_t *ids, int n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# test keys\n");
    for (int i = 0; i < n; i++) {
        char hex[65];
        hex_of(r->keys[ids[i]], hex);
        fprintf(f, "%u:%s\n", ids[i], hex);
    }
    assert_int_equal(fclose(f), 0);
}

/* A DB with three tables under ring's key 1 in root/golden; paths into golden and work. */
static void keys_fixture(const char *root, tm_keyring *ring, char *golden, char *work)
{
    tm_join(golden, root, "golden");
    tm_join(work, root, "work");
    strata_options *o = opts_for("encryption=aes-256-gcm", ring);
    reset_model();
    build_tables(golden, o, 'g');
    strata_options_destroy(o);
    tm_copy_dir(golden, work);
}

/* Keys given at open: a wrong key, no key with the DB's id, no keys, a key file with the wrong
 * key, a missing key file. */
static void test_g_keys_at_open(void **state)
{
    (void)state;
    tm_keyring ring = tm_ring_one(700), wrong = tm_ring_one(701), other_id;
    memset(&other_id, 0, sizeof(other_id));
    memcpy(other_id.keys[3], ring.keys[1], 32); /* the right bytes under another id */
    other_id.have[3] = 1;
    other_id.current = 3;
    char *root = tu_mkdtemp("thr_keys");
    char golden[PATH_MAX_LEN], work[PATH_MAX_LEN], kf[PATH_MAX_LEN], path[PATH_MAX_LEN];
    keys_fixture(root, &ring, golden, work);
    tm_join(kf, root, "keys");
    expect eid = {STRATA_E_AUTH, "IDENTITY", {0}, 1, 1};
    strata_options *ow = opts_for("encryption=aes-256-gcm", &wrong);
    open_must_fail(work, ow, &eid);
    /* the provider lacks key id 1; no keys at all (the file is named; no key, so no offset) */
    strata_options *oi = opts_for("encryption=aes-256-gcm", &other_id);
    strata_options *none = opts_for(NULL, NULL);
    expect enokey = {STRATA_E_AUTH, "IDENTITY", {0}, 0, 0};
    open_must_fail(work, oi, &enokey);
    open_must_fail(work, none, &enokey);
    uint32_t id1 = 1;
    write_key_file(kf, &wrong, &id1, 1);
    strata_options *ok = opts_for("encryption=aes-256-gcm", NULL);
    tu_assert_ok(strata_options_set_encryption_key_file(ok, kf));
    open_must_fail(work, ok, &eid);
    /* a missing key file: NOTFOUND (as for a missing DB), and nothing is rewritten */
    char missing[PATH_MAX_LEN];
    tm_join(missing, root, "no-such-key-file");
    tu_assert_ok(strata_options_set_encryption_key_file(ok, missing));
    size_t len0, len1;
    tm_join(path, work, "IDENTITY");
    char *id0 = tm_slurp(path, &len0);
    expect enf = {STRATA_E_NOTFOUND, "no-such-key-file", {0}, 0, 0};
    open_must_fail(work, ok, &enf);
    char *id1b = tm_slurp(path, &len1);
    tu_assert_bytes_equal(id0, len0, id1b, len1);
    free(id0);
    free(id1b);
    /* the right key file opens */
    write_key_file(kf, &ring, &id1, 1);
    tu_assert_ok(strata_options_set_encryption_key_file(ok, kf));
    expect clean = {0, "", {0}, 0, 0};
    assert_false(open_and_read(work, ok, &clean));
    strata_options_destroy(ow);
    strata_options_destroy(oi);
    strata_options_destroy(none);
    strata_options_destroy(ok);
    tu_free_path(root);
}

/* Keys named inside files: a table footer's key id or salt changed (footer CRC fixed); IDENTITY
 * deleted; the MANIFEST under a key the provider lost. */
static void test_g_keys_in_files(void **state)
{
    (void)state;
    tm_keyring ring = tm_ring_one(710);
    char *root = tu_mkdtemp("thr_keys2");
    char golden[PATH_MAX_LEN], work[PATH_MAX_LEN], path[PATH_MAX_LEN];
    keys_fixture(root, &ring, golden, work);
    strata_options *o = opts_for("encryption=aes-256-gcm", &ring);
    tm_table t3[3];
    map_tables(golden, &ring, t3);
    tm_table *t = &t3[1];
    for (int field = 0; field < 2; field++) {
        tm_copy_dir(golden, work);
        table_path(path, work, t);
        size_t len;
        char *img = tm_slurp(path, &len);
        char *f = img + len - ST_FOOTER3_LEN;
        if (field == 0) {
            st_encode_fixed32(f + 48, 2); /* key id 2: the provider has none (no offset) */
        } else {
            f[68 + 7] ^= 0x40; /* a salt bit: the first block read fails */
        }
        tm_refix_footer(img, len, t);
        tm_spit(path, img, len);
        free(img);
        expect et = {STRATA_E_AUTH,
                     t->name,
                     {t->meta.offset, t->index.offset, t->props.offset, t->filter.offset},
                     4,
                     field == 1};
        assert_true(open_and_read(work, o, &et));
    }
    /* IDENTITY deleted: a new DB id opens no MANIFEST */
    tm_copy_dir(golden, work);
    tm_join(path, work, "IDENTITY");
    assert_int_equal(unlink(path), 0);
    expect em = {STRATA_E_AUTH, "MANIFEST", {0}, 0, 1};
    open_must_fail(work, o, &em);
    /* an open under key 2 writes the MANIFEST under key 2; then key 2 is lost */
    tm_keyring two = ring;
    tm_ring_set(&two, 2, 711);
    two.current = 2;
    strata_options *o2 = opts_for("encryption=aes-256-gcm", &two);
    tm_copy_dir(golden, work);
    expect clean = {0, "", {0}, 0, 0};
    assert_false(open_and_read(work, o2, &clean));
    expect em2 = {STRATA_E_AUTH, "MANIFEST", {0}, 0, 0};
    open_must_fail(work, o, &em2);
    strata_options_destroy(o);
    strata_options_destroy(o2);
    tu_free_path(root);
}

/* ---- (h) rotation, rekey, old key destroyed -------------------------------------------------- */

static void test_h_rotation_rekey(void **state)
{
    (void)state;
    tm_keyring ring = tm_ring_one(800);
    tm_ring_set(&ring, 2, 801);
    char *root = tu_mkdtemp("thr_rekey");
    char dir[PATH_MAX_LEN], kf[PATH_MAX_LEN];
    tm_join(dir, root, "db");
    tm_join(kf, root, "keys");
    uint32_t ids[2] = {1, 2};
    write_key_file(kf, &ring, ids, 1);
    strata_options *o = opts_for("encryption=aes-256-gcm;ecc=rs", NULL);
    tu_assert_ok(strata_options_set_encryption_key_file(o, kf));
    reset_model();
    strata_db *db;
    tu_assert_ok(strata_open(o, dir, &db));
    for (int i = 0; i < 600; i++) {
        put_key(db, i, 'h');
    }
    tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0)); /* at the bottom level */
    for (int i = 600; i < 900; i++) {
        put_key(db, i, 'h');
    }
    tu_assert_ok(strata_flush(db, 1)); /* level 0 or base level */
    for (int i = 900; i < 950; i++) {
        put_key(db, i, 'h'); /* WAL under key 1 */
    }
    tu_assert_ok(strata_close(db));
    write_key_file(kf, &ring, ids, 2); /* key 2 is current now */
    tu_assert_ok(strata_open(o, dir, &db));
    for (int i = 950; i < 1000; i++) {
        put_key(db, i, 'i');
    }
    tu_assert_ok(strata_rekey(db));
    for (int i = 1000; i < 1050; i++) {
        put_key(db, i, 'i'); /* WAL under key 2, replayed at the next open */
    }
    tu_assert_ok(strata_close(db));
    uint32_t only2 = 2;
    write_key_file(kf, &ring, &only2, 1); /* key 1 destroyed */
    tu_assert_ok(strata_open(o, dir, &db));
    expect clean = {0, "", {0}, 0, 0};
    assert_int_equal(read_expect(db, &clean), 0);
    strata_integrity_report rep;
    memset(&rep, 0, sizeof(rep));
    tu_assert_ok(strata_verify_report(db, 0, &rep));
    assert_true(rep.files_checked >= 3);
    assert_int_equal(rep.blocks_unrecoverable, 0);
    strata_integrity_report_free(&rep);
    tu_assert_ok(strata_close(db));
    /* and key 1 alone no longer opens it */
    tm_keyring only1 = tm_ring_one(800);
    strata_options *o1 = opts_for("encryption=aes-256-gcm", &only1);
    expect e = {STRATA_E_AUTH, "IDENTITY", {0}, 0, 0};
    open_must_fail(dir, o1, &e);
    strata_options_destroy(o1);
    strata_options_destroy(o);
    tu_free_path(root);
}

/* ---- (i) encrypted log records --------------------------------------------------------------- */

typedef struct records {
    char *data[MAX_RECORDS];
    size_t len[MAX_RECORDS];
    uint64_t off[MAX_RECORDS];
    int n;
} records;

/* Every record of the log at path as stored (sealed), with its offset. */
static void read_records(const char *path, records *r)
{
    memset(r, 0, sizeof(*r));
    st_sfile *f;
    tu_assert_ok(st_env_new_sequential(st_env_posix(), path, &f));
    st_log_reader *lr;
    tu_assert_ok(st_log_reader_create(f, path, 0, &lr));
    st_log_reader_set_raw(lr);
    st_slice rec;
    uint64_t off;
    int rc;
    while ((rc = st_log_reader_read(lr, &rec, &off)) == 1) {
        assert_true(r->n < MAX_RECORDS);
        r->data[r->n] = malloc(rec.size + 1);
        assert_non_null(r->data[r->n]);
        memcpy(r->data[r->n], rec.data, rec.size);
        r->len[r->n] = rec.size;
        r->off[r->n++] = off;
    }
    assert_int_equal(rc, 0);
    st_log_reader_close(lr);
}

static void free_records(records *r)
{
    for (int i = 0; i < r->n; i++) {
        free(r->data[i]);
    }
    r->n = 0;
}

/* Writes the records order[0..n) of r (index >= 1000: record index-1000 of alt) as a new log at
 * path, with fresh fragment CRCs; returns the offset of record position pos. */
static uint64_t write_records(const char *path, const records *r, const records *alt,
                              const int *order, int n, int pos)
{
    st_wfile *wf;
    tu_assert_ok(st_env_new_writable(st_env_posix(), path, &wf));
    st_log_writer *w;
    tu_assert_ok(st_log_writer_create(wf, 0, &w));
    uint64_t at = 0;
    for (int i = 0; i < n; i++) {
        const records *src = order[i] >= 1000 ? alt : r;
        int k = order[i] >= 1000 ? order[i] - 1000 : order[i];
        assert_true(k < src->n);
        if (i == pos) {
            at = st_log_writer_size(w);
        }
        tu_assert_ok(st_log_writer_add(w, st_slice_make(src->data[k], src->len[k])));
    }
    tu_assert_ok(st_log_writer_close(w));
    return at;
}

/* A log rewritten as order[0..n) of the original records (index >= 1000: record index-1000 of
 * the other DB's log); the record at position bad is the first that must fail. */
typedef struct log_case {
    const char *what;
    int order[MAX_RECORDS];
    int n;
    int bad;
} log_case;

static void identity_order(log_case *c, int n)
{
    for (int i = 0; i < n; i++) {
        c->order[i] = i;
    }
    c->n = n;
}

static void drop_at(log_case *c, int pos)
{
    memmove(c->order + pos, c->order + pos + 1, sizeof(int) * (size_t)(c->n - pos - 1));
    c->n--;
}

/* The six edits of (i) for a log of n records, m in the middle. */
static void make_log_cases(log_case *c, int n, int m)
{
    static const char *const what[6] = {"two records swapped",
                                        "a record dropped",
                                        "a record replayed",
                                        "a record of another DB's WAL at the same position",
                                        "the seal header of another DB's WAL",
                                        "the seal header removed"};
    for (int k = 0; k < 6; k++) {
        c[k].what = what[k];
        identity_order(&c[k], n);
    }
    c[0].order[m] = m + 1;
    c[0].order[m + 1] = m;
    c[0].bad = m;
    drop_at(&c[1], m);
    c[1].bad = m;
    memmove(c[2].order + m + 1, c[2].order + m, sizeof(int) * (size_t)(n - m));
    c[2].n = n + 1;
    c[2].bad = m + 1;
    c[3].order[m] = 1000 + m;
    c[3].bad = m;
    c[4].order[0] = 1000;
    c[4].bad = 1;
    drop_at(&c[5], 0);
    c[5].bad = 0;
}

/* Two DBs x and y under one key, each with a WAL of NWAL records (same file number); their
 * records in rx and ry.  The model holds x's values. */
typedef struct wal_fixture {
    char *root;
    char x[PATH_MAX_LEN], work[PATH_MAX_LEN], wal[64];
    records rx, ry;
    tm_keyring ring;
    strata_options *o;
} wal_fixture;

static void wal_setup(wal_fixture *w, const char *tag, uint64_t seed)
{
    char y[PATH_MAX_LEN], path[PATH_MAX_LEN], wy[4][64], wx[4][64];
    w->ring = tm_ring_one(seed);
    w->root = tu_mkdtemp(tag);
    tm_join(w->x, w->root, "x");
    tm_join(y, w->root, "y");
    tm_join(w->work, w->root, "work");
    w->o = opts_for("encryption=aes-256-gcm", &w->ring);
    reset_model();
    build_wal(y, w->o, 'y');
    build_wal(w->x, w->o, 'x');
    assert_int_equal(tm_list_files(w->x, ".log", 0, wx, 4), 1);
    assert_int_equal(tm_list_files(y, ".log", 0, wy, 4), 1);
    assert_string_equal(wx[0], wy[0]);
    snprintf(w->wal, sizeof(w->wal), "%s", wx[0]);
    tm_join(path, w->x, w->wal);
    read_records(path, &w->rx);
    tm_join(path, y, w->wal);
    read_records(path, &w->ry);
    assert_true(w->rx.n >= NWAL + 1 && w->rx.n == w->ry.n);
}

static void wal_teardown(wal_fixture *w)
{
    free_records(&w->rx);
    free_records(&w->ry);
    strata_options_destroy(w->o);
    tu_free_path(w->root);
}

/* A fresh copy of x whose WAL is rewritten as c; returns the offset of position c->bad. */
static uint64_t wal_rewrite(wal_fixture *w, const log_case *c)
{
    char path[PATH_MAX_LEN];
    tm_copy_dir(w->x, w->work);
    tm_join(path, w->work, w->wal);
    return write_records(path, &w->rx, &w->ry, c->order, c->n, c->bad);
}

static void test_i_wal_records(void **state)
{
    (void)state;
    wal_fixture w;
    wal_setup(&w, "thr_wal", 900);
    int n = w.rx.n;
    log_case cases[6];
    make_log_cases(cases, n, n / 2);
    for (int c = 0; c < 6; c++) {
        expect e = {STRATA_E_AUTH, w.wal, {wal_rewrite(&w, &cases[c])}, 1, 1};
        print_message("  %s\n", cases[c].what);
        open_must_fail(w.work, w.o, &e);
    }
    /* the unedited rewrite opens: the rewriting itself is faithful */
    log_case same;
    identity_order(&same, n);
    same.bad = 0;
    wal_rewrite(&w, &same);
    expect clean = {0, "", {0}, 0, 0};
    assert_false(open_and_read(w.work, w.o, &clean));
    wal_teardown(&w);
}

/* Not detectable without state outside the directory: the last record dropped reads as a torn
 * tail; a middle record dropped under skip_corrupt_wal_records is accepted (its counters need
 * only increase).  Either way no read returns a value that was not written. */
static void test_i_undetectable_drops(void **state)
{
    (void)state;
    wal_fixture w;
    wal_setup(&w, "thr_wal2", 910);
    int n = w.rx.n;
    for (int variant = 0; variant < 2; variant++) {
        log_case c;
        identity_order(&c, n);
        drop_at(&c, variant == 0 ? n - 1 : n / 2);
        c.bad = 0;
        wal_rewrite(&w, &c);
        strata_options *os = opts_for("skip_corrupt_wal_records=1", &w.ring);
        strata_db *db = NULL;
        tu_assert_ok(strata_open(variant ? os : w.o, w.work, &db));
        int missing = 0;
        for (int i = 0; i < NWAL; i++) {
            char k[32];
            key_of(i, k);
            void *v = NULL;
            size_t vlen;
            int rc = strata_get(db, NULL, k, strlen(k), &v, &vlen);
            if (rc == 0) {
                check_value(i, v, vlen, "get after a dropped record");
                strata_free(v);
            } else {
                assert_int_equal(rc, STRATA_E_NOTFOUND);
                missing++;
            }
        }
        assert_int_equal(missing, 1); /* exactly the dropped put */
        tu_assert_ok(strata_close(db));
        strata_options_destroy(os);
    }
    wal_teardown(&w);
}

/* A MANIFEST record dropped → AUTH naming the MANIFEST and the record's offset. */
static void test_i_manifest_record(void **state)
{
    (void)state;
    wal_fixture w;
    wal_setup(&w, "thr_man", 920);
    char mf[4][64], path[PATH_MAX_LEN];
    tm_copy_dir(w.x, w.work);
    assert_int_equal(tm_list_files(w.work, "MANIFEST-", 1, mf, 4), 1);
    tm_join(path, w.work, mf[0]);
    records rm;
    read_records(path, &rm);
    assert_true(rm.n >= 3);
    log_case c;
    identity_order(&c, rm.n);
    drop_at(&c, 1);
    c.bad = 1;
    uint64_t at = write_records(path, &rm, &rm, c.order, c.n, c.bad);
    expect e = {STRATA_E_AUTH, mf[0], {at}, 1, 1};
    open_must_fail(w.work, w.o, &e);
    free_records(&rm);
    wal_teardown(&w);
}

/* ---- (j) no plaintext anywhere --------------------------------------------------------------- */

static const char *const markers[] = {"THREATKEY",     "THREATVAL",     "QUOKKAQUOKKA",
                                      "BATCHMERGEKEY", "BATCHMERGEVAL", "DELETEDKEYMARK",
                                      "GONEVALUEMARK"};

typedef struct scan_stats {
    int files;
    int short_hits; /* 4- or 5-byte matches (chance matches in ciphertext are possible) */
    int runs;       /* distinct 4-byte runs looked for */
    uint64_t bytes;
} scan_stats;

/* Longest stretch of marker m around buf[i, i+4) == m[moff, moff+4). */
static size_t run_len(const char *buf, size_t len, size_t i, const char *m, size_t moff)
{
    size_t ml = strlen(m), a = 0, b = 4;
    while (a < i && a < moff && buf[i - a - 1] == m[moff - a - 1]) {
        a++;
    }
    while (i + b < len && moff + b < ml && buf[i + b] == m[moff + b]) {
        b++;
    }
    return a + b;
}

/* The longest marker stretch matching at buf[i] (0 if no 4-byte run matches there). */
static size_t match_at(const char *buf, size_t len, size_t i)
{
    size_t best = 0;
    for (size_t m = 0; m < sizeof(markers) / sizeof(markers[0]); m++) {
        const char *mk = markers[m];
        for (size_t moff = 0; mk[moff + 3]; moff++) {
            if (buf[i] == mk[moff] && memcmp(buf + i, mk + moff, 4) == 0) {
                size_t rl = run_len(buf, len, i, mk, moff);
                best = rl > best ? rl : best;
            }
        }
    }
    return best;
}

static void scan_buffer(const char *name, const char *buf, size_t len, const tm_keyring *ring,
                        scan_stats *st)
{
    for (size_t i = 0; i + 4 <= len; i++) {
        size_t rl = match_at(buf, len, i);
        if (rl >= 6) {
            fail_msg("plaintext: a %zu-byte marker run in %s at offset %zu", rl, name, i);
        }
        if (rl) {
            print_message("  chance match: %zu-byte marker run in %s at offset %zu\n", rl, name, i);
            st->short_hits++;
        }
    }
    for (int id = 0; id < 8; id++) {
        for (size_t k = 0; ring->have[id] && k + 8 <= 32; k++) {
            for (size_t i = 0; i + 8 <= len; i++) {
                if (memcmp(buf + i, ring->keys[id] + k, 8) == 0) {
                    fail_msg("bytes of master key %d found in %s at offset %zu", id, name, i);
                }
            }
        }
    }
    st->bytes += len;
}

/* Distinct 4-byte runs of the markers (for the chance estimate). */
static int count_runs(void)
{
    char seen[128][4];
    int n = 0;
    for (size_t m = 0; m < sizeof(markers) / sizeof(markers[0]); m++) {
        for (const char *p = markers[m]; p[3]; p++) {
            int dup = 0;
            for (int j = 0; j < n && !dup; j++) {
                dup = memcmp(seen[j], p, 4) == 0;
            }
            if (!dup && n < 128) {
                memcpy(seen[n++], p, 4);
            }
        }
    }
    return n;
}

/* File kinds the scan must have seen (a name prefix or suffix each). */
static const char *const kinds[] = {".sst",    ".log",     "MANIFEST-", "IDENTITY",
                                    "CURRENT", "OPTIONS-", "LOG",       "LOG.old"};
#define NKINDS ((int)(sizeof(kinds) / sizeof(kinds[0])))

static void scan_dir(const char *dir, const tm_keyring *ring, scan_stats *st, int *seen)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char path[PATH_MAX_LEN];
        tm_join(path, dir, e->d_name);
        size_t len;
        char *buf = tm_slurp(path, &len);
        scan_buffer(e->d_name, buf, len, ring, st);
        free(buf);
        st->files++;
        size_t nl = strlen(e->d_name);
        for (int k = 0; k < NKINDS; k++) {
            size_t kl = strlen(kinds[k]);
            seen[k] |= kinds[k][0] == '.'        ? nl > kl && !strcmp(e->d_name + nl - kl, kinds[k])
                       : kinds[k][kl - 1] == '-' ? !strncmp(e->d_name, kinds[k], kl)
                                                 : !strcmp(e->d_name, kinds[k]);
        }
    }
    closedir(d);
}

/* Puts kpre<i> = vpre<i><vsuf> into b. */
static void batch_kv(strata_batch *b, const char *kpre, const char *vpre, const char *vsuf, int i)
{
    char k[48], v[64];
    snprintf(k, sizeof(k), "%s%05d", kpre, i);
    snprintf(v, sizeof(v), "%s%05d%s", vpre, i, vsuf);
    tu_assert_ok(strata_batch_put(b, k, strlen(k), v, strlen(v)));
}

/* A session of writes of every kind: single puts, batches merged with strata_batch_append,
 * deletes (of keys and values carrying their own markers), overwrites. */
static void mixed_writes(strata_db *db, int base, char gen)
{
    for (int i = base; i < base + 300; i++) {
        put_key(db, i, gen);
    }
    strata_batch *b1 = strata_batch_create(), *b2 = strata_batch_create();
    for (int i = 0; i < 40; i++) {
        batch_kv(b1, "BATCHMERGEKEY", "BATCHMERGEVAL", "-QUOKKAQUOKKA", base + i);
        batch_kv(b2, "DELETEDKEYMARK", "GONEVALUEMARK", "", base + i);
    }
    tu_assert_ok(strata_batch_append(b1, b2));
    tu_assert_ok(strata_write(db, NULL, b1));
    strata_batch_clear(b2);
    for (int i = 0; i < 40; i++) {
        char k[48];
        snprintf(k, sizeof(k), "DELETEDKEYMARK%05d", base + i);
        tu_assert_ok(strata_batch_delete(b2, k, strlen(k)));
    }
    tu_assert_ok(strata_write(db, NULL, b2));
    strata_batch_destroy(b1);
    strata_batch_destroy(b2);
    for (int i = base; i < base + 300; i += 3) {
        put_key(db, i, (char)(gen + 1)); /* overwrites */
    }
}

static void test_j_no_plaintext(void **state)
{
    (void)state;
    tm_keyring ring = tm_ring_one(1000);
    tm_ring_set(&ring, 2, 1001);
    char *root = tu_mkdtemp("thr_plain");
    char dir[PATH_MAX_LEN];
    tm_join(dir, root, "db");
    strata_options *o = opts_for(
        "encryption=aes-256-gcm;ecc=rs;write_buffer_size=64KB;"
        "target_file_size=64KB;compression=snappy",
        &ring);
    reset_model();
    strata_db *db;
    tu_assert_ok(strata_open(o, dir, &db));
    mixed_writes(db, 0, 'j');
    tu_assert_ok(strata_flush(db, 1));
    mixed_writes(db, 300, 'l');
    tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
    mixed_writes(db, 600, 'n'); /* left in the WAL */
    tu_assert_ok(strata_close(db));
    /* a flipped bit in a data block: the next open heals it and logs (file and offset only) */
    char names[16][64], path[PATH_MAX_LEN];
    assert_true(tm_list_files(dir, ".sst", 0, names, 16) >= 1);
    tm_table *t = malloc(sizeof(*t));
    assert_non_null(t);
    tm_map_table(st_env_posix(), dir, names[0], &ring, t);
    tm_join(path, dir, names[0]);
    size_t len;
    char *img = tm_slurp(path, &len);
    img[t->data[0].offset + t->data[0].size / 2] ^= 0x04;
    tm_spit(path, img, len);
    free(img);
    free(t);
    tu_assert_ok(strata_open(o, dir, &db)); /* replays the WAL */
    expect clean = {0, "", {0}, 0, 0};
    assert_int_equal(read_expect(db, &clean), 0);
    uint64_t healed = 0;
    tu_assert_ok(strata_property_int(db, "strata.ecc-healed-blocks", &healed));
    assert_true(healed >= 1);
    mixed_writes(db, 900, 'p');
    ring.current = 2;
    tu_assert_ok(strata_rekey(db));
    mixed_writes(db, 1000, 'r');
    tu_assert_ok(strata_close(db));
    scan_stats st = {0, 0, count_runs(), 0};
    int seen[NKINDS] = {0};
    scan_dir(dir, &ring, &st, seen);
    tu_assert_ok(strata_open(o, dir, &db)); /* replays again */
    assert_int_equal(read_expect(db, &clean), 0);
    tu_assert_ok(strata_close(db));
    scan_dir(dir, &ring, &st, seen);
    print_message(
        "no-plaintext scan: %d files, %llu bytes, %d chance 4-5 byte matches "
        "(expected ~%.3f)\n",
        st.files, (unsigned long long)st.bytes, st.short_hits,
        (double)st.bytes * st.runs / 4294967296.0);
    for (int k = 0; k < NKINDS; k++) {
        if (!seen[k]) {
            fail_msg("no %s file was scanned", kinds[k]);
        }
    }
    assert_true(st.short_hits <= 2);
    strata_options_destroy(o);
    tu_free_path(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_swap_blocks),
        cmocka_unit_test(test_b_block_from_other_table),
        cmocka_unit_test(test_c_table_from_other_db),
        cmocka_unit_test(test_d_codec_relabel),
        cmocka_unit_test(test_e_downgrade_tables),
        cmocka_unit_test(test_e_downgrade_logs),
        cmocka_unit_test(test_f_tag_damage),
        cmocka_unit_test(test_f_truncated_tag_codec),
        cmocka_unit_test(test_g_keys_at_open),
        cmocka_unit_test(test_g_keys_in_files),
        cmocka_unit_test(test_h_rotation_rekey),
        cmocka_unit_test(test_i_wal_records),
        cmocka_unit_test(test_i_undetectable_drops),
        cmocka_unit_test(test_i_manifest_record),
        cmocka_unit_test(test_j_no_plaintext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
