/* test_api_protection.c — per-key protection (protection_bytes_per_key): round trips with every
 * width through puts, deletes, batches, flushes, compactions and reopens (also reopening under
 * another width, since nothing on disk changes); and error injection: a bit flipped in a memtable
 * entry, in a data block sitting in the block cache, in a batch between creation and write, and in
 * the write path's group before the WAL and before the memtable must each be reported as
 * STRATA_E_CORRUPTION naming the key and where it was caught — never returned as data.  The
 * injection points come from the internal test hooks (db/test_hooks.h) and the batch's internal
 * layout (db/write_batch.h).  With protection off the same flips go unnoticed, which shows the
 * checks really are off. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db_impl.h"
#include "db/test_hooks.h"
#include "db/write_batch.h"
#include "strata.h"
#include "test_util.h"

#define NKEYS 3000

/* ---- helpers --------------------------------------------------------------------------------- */

static strata_db *open_db(const char *dir, int prot, const char *extra)
{
    strata_options *o = strata_options_create();
    assert_non_null(o);
    tu_assert_ok(strata_options_from_string(o,
                                            "create_if_missing=1;info_log=0;"
                                            "write_buffer_size=64KiB;target_file_size=64KiB;"
                                            "max_bytes_for_level_base=256KiB"));
    if (extra) {
        tu_assert_ok(strata_options_from_string(o, extra));
    }
    tu_assert_ok(strata_options_set_protection_bytes_per_key(o, prot));
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, dir, &db));
    strata_options_destroy(o);
    return db;
}

static void key_of(int i, char *k, size_t cap)
{
    snprintf(k, cap, "key%06d", i);
}

/* Value of key i at version ver: 20..219 bytes, binary. */
static size_t value_of(int i, int ver, char *v, size_t cap)
{
    size_t n = 20 + (size_t)((i * 7 + ver * 13) % 200);
    n = n < cap ? n : cap;
    uint32_t x = (uint32_t)i * 2654435761u + (uint32_t)ver * 40503u + 1;
    for (size_t j = 0; j < n; j++) {
        x = x * 1103515245u + 12345u;
        v[j] = (char)(x >> 16);
    }
    return n;
}

/* Expected state: version per key, 0 = absent. */
typedef struct model {
    int ver[NKEYS];
} model;

static void check_get(strata_db *db, const model *m, int i)
{
    char k[32], v[256];
    key_of(i, k, sizeof(k));
    void *val = NULL;
    size_t vl = 0;
    int rc = strata_get(db, NULL, k, strlen(k), &val, &vl);
    if (m->ver[i] == 0) {
        if (rc != STRATA_E_NOTFOUND) {
            print_error("%s: expected NOTFOUND, got %d (%s)\n", k, rc, strata_errmsg());
            fail();
        }
        return;
    }
    tu_assert_ok(rc);
    size_t n = value_of(i, m->ver[i], v, sizeof(v));
    tu_assert_bytes_equal(val, vl, v, n);
    strata_free(val);
}

static void check_all(strata_db *db, const model *m)
{
    for (int i = 0; i < NKEYS; i++) {
        check_get(db, m, i);
    }
    /* forward scan matches the model exactly */
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(db, NULL, &it));
    int i = 0;
    for (strata_iter_seek_to_first(it); strata_iter_valid(it); strata_iter_next(it)) {
        while (i < NKEYS && m->ver[i] == 0) {
            i++;
        }
        assert_true(i < NKEYS);
        char k[32], v[256];
        key_of(i, k, sizeof(k));
        size_t n = value_of(i, m->ver[i], v, sizeof(v)), kl, vl;
        const char *ik = strata_iter_key(it, &kl), *iv = strata_iter_value(it, &vl);
        tu_assert_bytes_equal(ik, kl, k, strlen(k));
        tu_assert_bytes_equal(iv, vl, v, n);
        i++;
    }
    tu_assert_ok(strata_iter_status(it));
    while (i < NKEYS && m->ver[i] == 0) {
        i++;
    }
    assert_int_equal(i, NKEYS);
    /* and backwards from the end, counting */
    int count = 0, live = 0;
    for (strata_iter_seek_to_last(it); strata_iter_valid(it); strata_iter_prev(it)) {
        count++;
    }
    tu_assert_ok(strata_iter_status(it));
    for (int j = 0; j < NKEYS; j++) {
        live += m->ver[j] != 0;
    }
    assert_int_equal(count, live);
    strata_iter_destroy(it);
}

static void put_key(strata_db *db, model *m, int i, int ver)
{
    char k[32], v[256];
    key_of(i, k, sizeof(k));
    size_t n = value_of(i, ver, v, sizeof(v));
    tu_assert_ok(strata_put(db, NULL, k, strlen(k), v, n));
    m->ver[i] = ver;
}

/* Writes a workload touching every write path: single puts and deletes, plain and protected
 * batches (some appended from others), with flushes and compactions in between. */
static void load(strata_db *db, model *m, int round)
{
    char k[32], v[256];
    for (int i = 0; i < NKEYS; i += 2) {
        put_key(db, m, i, round * 10 + 1);
    }
    tu_assert_ok(strata_flush(db, 1));
    strata_batch *plain = strata_batch_create(), *prot = strata_batch_create();
    strata_batch *tail = strata_batch_create();
    assert_true(plain && prot && tail);
    tu_assert_ok(strata_batch_protect(prot));
    for (int i = 1; i < NKEYS; i += 2) {
        strata_batch *b = i % 4 == 1 ? plain : prot;
        key_of(i, k, sizeof(k));
        size_t n = value_of(i, round * 10 + 2, v, sizeof(v));
        tu_assert_ok(strata_batch_put(b, k, strlen(k), v, n));
        m->ver[i] = round * 10 + 2;
        if (strata_batch_count(b) == 50) {
            tu_assert_ok(strata_write(db, NULL, b));
            strata_batch_clear(b); /* a protected batch stays protected */
        }
    }
    /* appends: plain into protected and protected into plain */
    for (int i = 0; i < NKEYS; i += 10) {
        key_of(i, k, sizeof(k));
        tu_assert_ok(strata_batch_delete(tail, k, strlen(k)));
        m->ver[i] = 0;
    }
    tu_assert_ok(strata_batch_append(prot, tail));
    tu_assert_ok(strata_batch_append(plain, prot));
    tu_assert_ok(strata_write(db, NULL, plain));
    tu_assert_ok(strata_write(db, NULL, prot)); /* same operations again: idempotent */
    strata_batch_destroy(plain);
    strata_batch_destroy(prot);
    strata_batch_destroy(tail);
    check_all(db, m);
    tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
    check_all(db, m);
    for (int i = 0; i < NKEYS; i += 3) {
        if (i % 6 == 0) {
            char kk[32];
            key_of(i, kk, sizeof(kk));
            tu_assert_ok(strata_delete(db, NULL, kk, strlen(kk)));
            m->ver[i] = 0;
        } else {
            put_key(db, m, i, round * 10 + 3);
        }
    }
    check_all(db, m); /* memtable over tables */
}

static void assert_corruption(int rc, const char *where, const char *key)
{
    const char *msg = strata_errmsg();
    if (rc != STRATA_E_CORRUPTION || !strstr(msg, where) || (key && !strstr(msg, key))) {
        print_error("expected CORRUPTION naming \"%s\" and key \"%s\", got %d: %s\n", where,
                    key ? key : "", rc, msg);
        fail();
    }
}

static uint64_t bg_errors(strata_db *db)
{
    uint64_t n = 0;
    tu_assert_ok(strata_property_int(db, "strata.background-errors", &n));
    return n;
}

/* ---- round trips ----------------------------------------------------------------------------- */

static void test_roundtrip_every_width(void **state)
{
    (void)state;
    static const int widths[] = {1, 2, 4, 8};
    for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
        char *dir = tu_mkdtemp("api-prot");
        model *m = calloc(1, sizeof(*m));
        assert_non_null(m);
        strata_db *db = open_db(dir, widths[w], NULL);
        load(db, m, 1);
        tu_assert_ok(strata_close(db));
        /* recovery replays the WAL into protected memtables */
        db = open_db(dir, widths[w], NULL);
        check_all(db, m);
        load(db, m, 2);
        assert_int_equal(bg_errors(db), 0);
        tu_assert_ok(strata_close(db));
        /* nothing on disk depends on the width: reopen off and under another width */
        db = open_db(dir, 0, NULL);
        check_all(db, m);
        tu_assert_ok(strata_close(db));
        db = open_db(dir, widths[(w + 1) % 4], NULL);
        check_all(db, m);
        load(db, m, 3);
        tu_assert_ok(strata_close(db));
        free(m);
        tu_free_path(dir);
    }
}

/* Block-cache protection with the read paths that bypass or fill the cache differently:
 * uncompressed heap blocks (mmap_reads off), mapped blocks, no block cache at all. */
static void test_roundtrip_cache_variants(void **state)
{
    (void)state;
    static const char *variants[] = {"mmap_reads=0;compression=none", "mmap_reads=1",
                                     "block_cache_size=0", "compression=zstd;block_size=1KiB"};
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        char *dir = tu_mkdtemp("api-prot-cache");
        model *m = calloc(1, sizeof(*m));
        assert_non_null(m);
        strata_db *db = open_db(dir, 8, variants[i]);
        load(db, m, 1);
        check_all(db, m); /* now from the cache */
        tu_assert_ok(strata_close(db));
        db = open_db(dir, 4, variants[i]);
        check_all(db, m);
        tu_assert_ok(strata_close(db));
        free(m);
        tu_free_path(dir);
    }
}

/* ---- memtable -------------------------------------------------------------------------------- */

static void flip_mem_value(strata_db *db, const char *key, size_t klen, size_t at)
{
    char *p = NULL;
    size_t n = 0;
    tu_assert_ok(st_db_test_mem_value(db, key, klen, &p, &n));
    assert_true(at < n);
    p[at] ^= 0x10;
}

static void test_memtable_flip(void **state)
{
    (void)state;
    static const int widths[] = {2, 8};
    for (size_t w = 0; w < 2; w++) {
        char *dir = tu_mkdtemp("api-prot-mem");
        strata_db *db = open_db(dir, widths[w], NULL);
        tu_assert_ok(strata_put(db, NULL, "apple", 5, "red fruit", 9));
        tu_assert_ok(strata_put(db, NULL, "banana", 6, "yellow fruit", 12));
        tu_assert_ok(strata_put(db, NULL, "cherry", 6, "small fruit", 11));
        flip_mem_value(db, "banana", 6, 3);

        void *val = NULL;
        size_t vl = 0;
        assert_corruption(strata_get(db, NULL, "banana", 6, &val, &vl), "memtable", "banana");
        assert_null(val);
        strata_pinned *pin = NULL;
        assert_corruption(strata_get_pinned(db, NULL, "banana", 6, &pin), "memtable", "banana");
        assert_null(pin);
        /* the neighbours are intact */
        tu_assert_ok(strata_get(db, NULL, "apple", 5, &val, &vl));
        tu_assert_bytes_equal(val, vl, "red fruit", 9);
        strata_free(val);

        /* an iterator stops at the entry instead of yielding it */
        strata_iter *it = NULL;
        tu_assert_ok(strata_iter_create(db, NULL, &it));
        int seen = 0;
        for (strata_iter_seek_to_first(it); strata_iter_valid(it); strata_iter_next(it)) {
            size_t kl;
            const char *k = strata_iter_key(it, &kl);
            assert_false(kl == 6 && memcmp(k, "banana", 6) == 0);
            seen++;
        }
        assert_int_equal(seen, 1); /* apple */
        assert_corruption(strata_iter_status(it), "memtable", "banana");
        strata_iter_seek(it, "c", 1); /* lands on cherry: fine */
        strata_iter_destroy(it);
        tu_assert_ok(strata_iter_create(db, NULL, &it));
        strata_iter_seek(it, "cherry", 6);
        assert_true(strata_iter_valid(it));
        strata_iter_prev(it); /* steps back onto banana */
        assert_false(strata_iter_valid(it));
        assert_corruption(strata_iter_status(it), "memtable", "banana");
        strata_iter_destroy(it);

        /* a flush reading the entry fails and the error becomes sticky: nothing corrupt is
         * persisted, and writes stop */
        assert_corruption(strata_flush(db, 1), "memtable", "banana");
        assert_int_equal(bg_errors(db), 1);
        assert_corruption(strata_put(db, NULL, "date", 4, "x", 1), "memtable", "banana");
        assert_int_equal(strata_close(db), STRATA_E_CORRUPTION);

        /* the WAL holds the intact bytes: reopening recovers them */
        db = open_db(dir, widths[w], NULL);
        tu_assert_ok(strata_get(db, NULL, "banana", 6, &val, &vl));
        tu_assert_bytes_equal(val, vl, "yellow fruit", 12);
        strata_free(val);
        tu_assert_ok(strata_close(db));
        tu_free_path(dir);
    }
}

/* The message escapes non-printable key bytes and truncates long keys. */
static void test_memtable_flip_binary_key(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("api-prot-key");
    strata_db *db = open_db(dir, 8, NULL);
    char key[200];
    memset(key, 'k', sizeof(key));
    key[0] = '\x01';
    key[1] = '\'';
    tu_assert_ok(strata_put(db, NULL, key, sizeof(key), "value", 5));
    flip_mem_value(db, key, sizeof(key), 0);
    void *val = NULL;
    size_t vl = 0;
    assert_corruption(strata_get(db, NULL, key, sizeof(key), &val, &vl), "memtable",
                      "key '\\x01\\x27kkkk");
    const char *msg = strata_errmsg();
    assert_non_null(strstr(msg, "kkk...'"));
    assert_true(strlen(msg) < 300);
    assert_int_equal(strata_close(db), 0); /* a foreground read error is not sticky */
    tu_free_path(dir);
}

/* ---- block cache ----------------------------------------------------------------------------- */

static void test_block_cache_flip(void **state)
{
    (void)state;
    static const char *variants[] = {"mmap_reads=0;compression=none", "mmap_reads=0"};
    for (size_t i = 0; i < 2; i++) {
        char *dir = tu_mkdtemp("api-prot-cache-flip");
        model *m = calloc(1, sizeof(*m));
        assert_non_null(m);
        strata_db *db = open_db(dir, 8, variants[i]);
        for (int k = 0; k < NKEYS; k++) {
            put_key(db, m, k, 1);
        }
        tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
        char k[32];
        int victim = NKEYS / 2;
        key_of(victim, k, sizeof(k));
        char *p = NULL;
        size_t n = 0;
        tu_assert_ok(st_db_test_cached_value(db, k, strlen(k), &p, &n));
        p[n / 2] ^= 0x01; /* the block has been in the cache since the read above */

        void *val = NULL;
        size_t vl = 0;
        assert_corruption(strata_get(db, NULL, k, strlen(k), &val, &vl), "block cache", k);
        assert_null(val);
        strata_read_options *ro = strata_read_options_create();
        strata_read_options_set_fill_cache(ro, 0); /* a cache hit is checked all the same */
        assert_corruption(strata_get(db, ro, k, strlen(k), &val, &vl), "block cache", k);
        strata_read_options_destroy(ro);
        strata_iter *it = NULL;
        tu_assert_ok(strata_iter_create(db, NULL, &it));
        strata_iter_seek(it, k, strlen(k));
        assert_false(strata_iter_valid(it));
        assert_corruption(strata_iter_status(it), "block cache", k);
        strata_iter_destroy(it);
        /* keys far away live in other blocks */
        check_get(db, m, 0);
        check_get(db, m, NKEYS - 1);

        /* a compaction that reads the cached block fails, and the failure is sticky */
        assert_corruption(strata_compact_range(db, NULL, 0, NULL, 0), "block cache", k);
        assert_int_equal(bg_errors(db), 1);
        assert_corruption(strata_put(db, NULL, "x", 1, "y", 1), "block cache", k);
        assert_int_equal(strata_close(db), STRATA_E_CORRUPTION);
        /* the file was never wrong */
        db = open_db(dir, 8, variants[i]);
        check_all(db, m);
        tu_assert_ok(strata_close(db));
        free(m);
        tu_free_path(dir);
    }
}

/* ---- write batches and the write path -------------------------------------------------------- */

/* Offset of the first byte of the value of the operation whose key is key, in b's encoding. */
static size_t value_offset(const strata_batch *b, const char *key, size_t vlen)
{
    const char *rep = b->rep.data;
    size_t klen = strlen(key);
    for (size_t i = ST_BATCH_HEADER; i + klen + 1 + vlen <= b->rep.len; i++) {
        if (memcmp(rep + i, key, klen) == 0) {
            return i + klen + 1; /* one-byte value length */
        }
    }
    fail_msg("key %s not in the batch", key);
    return 0;
}

static void assert_absent(strata_db *db, const char *key)
{
    void *val = NULL;
    size_t vl = 0;
    assert_int_equal(strata_get(db, NULL, key, strlen(key), &val, &vl), STRATA_E_NOTFOUND);
}

static void assert_value(strata_db *db, const char *key, const char *want)
{
    void *val = NULL;
    size_t vl = 0;
    tu_assert_ok(strata_get(db, NULL, key, strlen(key), &val, &vl));
    tu_assert_bytes_equal(val, vl, want, strlen(want));
    strata_free(val);
}

static void test_batch_flip_before_write(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("api-prot-batch");
    strata_db *db = open_db(dir, 8, NULL);
    strata_batch *b = strata_batch_create();
    assert_non_null(b);
    tu_assert_ok(strata_batch_protect(b));
    tu_assert_ok(strata_batch_put(b, "one", 3, "first value", 11));
    tu_assert_ok(strata_batch_put(b, "two", 3, "second value", 12));
    tu_assert_ok(strata_batch_delete(b, "three", 5));
    b->rep.data[value_offset(b, "two", 12) + 4] ^= 0x04; /* between creation and write */
    assert_corruption(strata_write(db, NULL, b), "write batch", "two");
    assert_absent(db, "one");
    assert_absent(db, "two");
    /* not sticky: nothing was written */
    assert_int_equal(bg_errors(db), 0);
    tu_assert_ok(strata_put(db, NULL, "four", 4, "fine", 4));
    assert_value(db, "four", "fine");

    /* a flipped operation count is caught too */
    b->rep.data[value_offset(b, "two", 12) + 4] ^= 0x04;
    b->rep.data[8] ^= 0x02;
    assert_corruption(strata_write(db, NULL, b), "write batch", NULL);
    b->rep.data[8] ^= 0x02;
    tu_assert_ok(strata_write(db, NULL, b)); /* repaired: accepted */
    assert_value(db, "two", "second value");
    strata_batch_destroy(b);
    tu_assert_ok(strata_close(db));
    tu_free_path(dir);
}

typedef struct flip_hook {
    int point;
    const char *key;
    size_t vlen;
    int fired;
} flip_hook;

static void flip_in_group(void *arg, int point, strata_batch *group)
{
    flip_hook *h = arg;
    if (point == h->point && !h->fired) {
        group->rep.data[value_offset(group, h->key, h->vlen)] ^= 0x80;
        h->fired = 1;
    }
}

/* The family id of the first operation (the byte after its type byte) set to another family's. */
static void move_to_family(void *arg, int point, strata_batch *group)
{
    uint32_t *to = arg;
    if (point == ST_DB_WRITE_GROUP_BUILT && *to) {
        group->rep.data[ST_BATCH_HEADER + 1] = (char)*to;
        *to = 0;
    }
}

/* An operation whose family id changed in memory is caught like a changed key: the checksums
 * of a batch's operations cover their family. */
static void test_family_id_flip(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("api-prot-cf");
    strata_db *db = open_db(dir, 8, NULL);
    strata_cf *a = NULL, *b = NULL;
    tu_assert_ok(strata_cf_create(db, "a", NULL, &a));
    tu_assert_ok(strata_cf_create(db, "b", NULL, &b));
    uint32_t to = strata_cf_id(b);
    st_db_test_set_write_hook(db, move_to_family, &to);
    strata_batch *wb = strata_batch_create();
    tu_assert_ok(strata_batch_put_cf(wb, a, "gamma", 5, "GGGGG", 5));
    assert_corruption(strata_write(db, NULL, wb), "write batch", "gamma");
    st_db_test_set_write_hook(db, NULL, NULL);
    void *v = NULL;
    size_t vl = 0;
    assert_int_equal(strata_get_cf(db, NULL, a, "gamma", 5, &v, &vl), STRATA_E_NOTFOUND);
    assert_int_equal(strata_get_cf(db, NULL, b, "gamma", 5, &v, &vl), STRATA_E_NOTFOUND);
    /* (the hook changed the caller's batch itself: a write alone is its own group) */
    tu_assert_ok(strata_put_cf(db, NULL, a, "gamma", 5, "GGGGG", 5)); /* still writable */
    tu_assert_ok(strata_get_cf(db, NULL, a, "gamma", 5, &v, &vl));
    strata_free(v);
    strata_batch_destroy(wb);
    tu_assert_ok(strata_close(db));
    tu_rmdir_all(dir);
    tu_free_path(dir);
}

/* Flipped after the leader assembled the WAL record: (a) catches it before the WAL. */
static void test_group_flip_before_wal(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("api-prot-group");
    strata_db *db = open_db(dir, 4, NULL);
    flip_hook h = {ST_DB_WRITE_GROUP_BUILT, "beta", 5, 0};
    st_db_test_set_write_hook(db, flip_in_group, &h);
    strata_batch *b = strata_batch_create(); /* unprotected: checksummed by strata_write */
    tu_assert_ok(strata_batch_put(b, "alpha", 5, "AAAAA", 5));
    tu_assert_ok(strata_batch_put(b, "beta", 4, "BBBBB", 5));
    assert_corruption(strata_write(db, NULL, b), "write batch", "beta");
    assert_int_equal(h.fired, 1);
    assert_absent(db, "alpha");
    assert_absent(db, "beta");
    assert_int_equal(bg_errors(db), 0);
    /* the sequence numbers of the failed group were not used up */
    uint64_t seq = 1;
    tu_assert_ok(strata_property_int(db, "strata.last-sequence", &seq));
    assert_int_equal(seq, 0);
    st_db_test_set_write_hook(db, NULL, NULL);
    /* a lone writer's group is its own batch, which the hook flipped: write a fresh one */
    strata_batch_destroy(b);
    b = strata_batch_create();
    tu_assert_ok(strata_batch_put(b, "alpha", 5, "AAAAA", 5));
    tu_assert_ok(strata_batch_put(b, "beta", 4, "BBBBB", 5));
    tu_assert_ok(strata_write(db, NULL, b));
    assert_value(db, "beta", "BBBBB");
    strata_batch_destroy(b);
    tu_assert_ok(strata_close(db));
    db = open_db(dir, 4, NULL);
    assert_value(db, "alpha", "AAAAA");
    tu_assert_ok(strata_close(db));
    tu_free_path(dir);
}

/* Flipped after the WAL append: (b) the memtable insert catches it; that is past the point of no
 * return, so the error is sticky, and the intact WAL record is what a reopen recovers. */
static void test_group_flip_before_memtable(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("api-prot-insert");
    strata_db *db = open_db(dir, 8, "info_log=1");
    flip_hook h = {ST_DB_WRITE_WAL_DONE, "gamma", 5, 0};
    st_db_test_set_write_hook(db, flip_in_group, &h);
    assert_corruption(strata_put(db, NULL, "gamma", 5, "GGGGG", 5), "memtable insert", "gamma");
    assert_int_equal(bg_errors(db), 1);
    assert_absent(db, "gamma"); /* never visible */
    assert_corruption(strata_put(db, NULL, "delta", 5, "D", 1), "memtable insert", "gamma");
    assert_int_equal(strata_close(db), STRATA_E_CORRUPTION);
    /* the info LOG records the error but never the key */
    char path[1024], line[1024];
    snprintf(path, sizeof(path), "%s/LOG", dir);
    FILE *log = fopen(path, "r");
    assert_non_null(log);
    int logged = 0;
    while (fgets(line, sizeof(line), log)) {
        assert_null(strstr(line, "gamma"));
        logged |= strstr(line, "per-key protection mismatch in memtable insert") != NULL;
    }
    fclose(log);
    assert_true(logged);
    db = open_db(dir, 8, NULL);
    assert_value(db, "gamma", "GGGGG");
    assert_absent(db, "delta");
    tu_assert_ok(strata_close(db));
    tu_free_path(dir);
}

/* ---- concurrency ----------------------------------------------------------------------------- */

#define WRITERS 4
#define PER_WRITER 3000

typedef struct mt_arg {
    strata_db *db;
    int id;
    int rc;
} mt_arg;

/* Writer id owns keys w<id>-<n>; it writes them through single puts, plain batches and
 * protected batches, so the leader merges groups of every kind. */
static void *mt_writer(void *p)
{
    mt_arg *a = p;
    strata_batch *plain = strata_batch_create(), *prot = strata_batch_create();
    if (!plain || !prot || strata_batch_protect(prot)) {
        a->rc = STRATA_E_NOMEM;
    }
    char k[32], v[64];
    for (int n = 0; n < PER_WRITER && !a->rc; n++) {
        int kl = snprintf(k, sizeof(k), "w%d-%05d", a->id, n);
        int vl = snprintf(v, sizeof(v), "value of %s from writer %d", k, a->id);
        switch (n % 3) {
            case 0:
                a->rc = strata_put(a->db, NULL, k, (size_t)kl, v, (size_t)vl);
                break;
            case 1:
                a->rc = strata_batch_put(plain, k, (size_t)kl, v, (size_t)vl);
                if (!a->rc) {
                    a->rc = strata_write(a->db, NULL, plain);
                }
                strata_batch_clear(plain);
                break;
            default:
                a->rc = strata_batch_put(prot, k, (size_t)kl, v, (size_t)vl);
                if (!a->rc && n % 2) {
                    a->rc = strata_write(a->db, NULL, prot);
                    strata_batch_clear(prot);
                }
                break;
        }
    }
    if (!a->rc && strata_batch_count(prot)) {
        a->rc = strata_write(a->db, NULL, prot);
    }
    strata_batch_destroy(plain);
    strata_batch_destroy(prot);
    return NULL;
}

/* Reads while the writers run: every value found must be the one its key was written with. */
static void *mt_reader(void *p)
{
    mt_arg *a = p;
    char k[32], v[64];
    for (int round = 0; round < 20 && !a->rc; round++) {
        strata_iter *it = NULL;
        a->rc = strata_iter_create(a->db, NULL, &it);
        for (strata_iter_seek_to_first(it); !a->rc && it && strata_iter_valid(it);
             strata_iter_next(it)) {
            size_t kl, vl;
            const char *ik = strata_iter_key(it, &kl), *iv = strata_iter_value(it, &vl);
            int w = ik[1] - '0';
            int n = snprintf(v, sizeof(v), "value of %.*s from writer %d", (int)kl, ik, w);
            if (vl != (size_t)n || memcmp(iv, v, vl) != 0) {
                a->rc = STRATA_E_CORRUPTION;
            }
        }
        if (!a->rc && it) {
            a->rc = strata_iter_status(it);
        }
        strata_iter_destroy(it);
        for (int j = 0; j < 200 && !a->rc; j++) {
            int w = (round + j) % WRITERS, n = (j * 37) % PER_WRITER;
            int kl = snprintf(k, sizeof(k), "w%d-%05d", w, n);
            void *val = NULL;
            size_t vl = 0;
            int rc = strata_get(a->db, NULL, k, (size_t)kl, &val, &vl);
            int want = snprintf(v, sizeof(v), "value of %s from writer %d", k, w);
            if (rc == 0 && (vl != (size_t)want || memcmp(val, v, vl) != 0)) {
                rc = STRATA_E_CORRUPTION;
            }
            a->rc = rc == STRATA_E_NOTFOUND ? 0 : rc;
            strata_free(val);
        }
    }
    return NULL;
}

static void test_concurrent_writers_and_readers(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("api-prot-mt");
    strata_db *db = open_db(dir, 8, NULL);
    pthread_t t[WRITERS + 2];
    mt_arg args[WRITERS + 2];
    for (int i = 0; i < WRITERS + 2; i++) {
        args[i] = (mt_arg){db, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, i < WRITERS ? mt_writer : mt_reader, &args[i]),
                         0);
    }
    for (int i = 0; i < WRITERS + 2; i++) {
        pthread_join(t[i], NULL);
        if (args[i].rc) {
            print_error("thread %d: %d (%s)\n", i, args[i].rc, strata_strerror(args[i].rc));
            fail();
        }
    }
    assert_int_equal(bg_errors(db), 0);
    tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
    mt_arg check = {db, WRITERS, 0};
    mt_reader(&check);
    tu_assert_ok(check.rc);
    uint64_t keys = 0;
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(db, NULL, &it));
    for (strata_iter_seek_to_first(it); strata_iter_valid(it); strata_iter_next(it)) {
        keys++;
    }
    tu_assert_ok(strata_iter_status(it));
    strata_iter_destroy(it);
    assert_int_equal(keys, WRITERS * PER_WRITER);
    tu_assert_ok(strata_close(db));
    tu_free_path(dir);
}

/* A merged group: the first writer is held inside the write path (after its WAL append) while
 * three others queue behind it — a strata_put, a plain batch and a protected batch — so the next
 * leader writes all three as one group, with their checksums concatenated.  With flip set, a bit
 * of the protected member flips after the group is assembled: the whole group fails. */
typedef struct merge_hook {
    atomic_int held; /* the first writer is inside the hook */
    int flip;
    int flipped;
} merge_hook;

static void hold_then_flip(void *arg, int point, strata_batch *group)
{
    merge_hook *h = arg;
    if (point == ST_DB_WRITE_WAL_DONE && atomic_load(&h->held) == 0) {
        atomic_store(&h->held, 1);
        struct timespec ts = {0, 300 * 1000 * 1000};
        nanosleep(&ts, NULL); /* the others queue meanwhile */
    } else if (point == ST_DB_WRITE_GROUP_BUILT && h->flip && st_batch_count(group) == 4) {
        group->rep.data[value_offset(group, "b3", 3)] ^= 0x08;
        h->flipped = 1;
    }
}

typedef struct merge_writer {
    strata_db *db;
    int kind;
    int rc;
    char msg[256];
} merge_writer;

static void *merge_write(void *p)
{
    merge_writer *w = p;
    strata_batch *b = strata_batch_create();
    if (w->kind == 0) {
        w->rc = strata_put(w->db, NULL, "first", 5, "F", 1);
    } else if (w->kind == 1) {
        w->rc = strata_put(w->db, NULL, "p1", 2, "P11", 3);
    } else if (w->kind == 2) {
        strata_batch_put(b, "b2a", 3, "B2A", 3);
        strata_batch_put(b, "b2b", 3, "B2B", 3);
        w->rc = strata_write(w->db, NULL, b);
    } else {
        strata_batch_protect(b);
        strata_batch_put(b, "b3", 2, "B33", 3);
        w->rc = strata_write(w->db, NULL, b);
    }
    snprintf(w->msg, sizeof(w->msg), "%s", w->rc ? strata_errmsg() : "");
    strata_batch_destroy(b);
    return NULL;
}

static void run_merged_group(strata_db *db, merge_hook *h, merge_writer *w)
{
    st_db_test_set_write_hook(db, hold_then_flip, h);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (merge_writer){db, i, 0, ""};
    }
    assert_int_equal(pthread_create(&t[0], NULL, merge_write, &w[0]), 0);
    while (!atomic_load(&h->held)) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (int i = 1; i < 4; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, merge_write, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    st_db_test_set_write_hook(db, NULL, NULL);
    tu_assert_ok(w[0].rc);
}

static void test_merged_group(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("api-prot-merge");
    strata_db *db = open_db(dir, 8, NULL);
    merge_hook h = {0, 0, 0};
    merge_writer w[4];
    uint64_t groups = atomic_load(&db->stats.write_groups);
    run_merged_group(db, &h, w);
    for (int i = 1; i < 4; i++) {
        tu_assert_ok(w[i].rc);
    }
    assert_int_equal(atomic_load(&db->stats.write_groups) - groups, 2); /* first, then the rest */
    assert_value(db, "p1", "P11");
    assert_value(db, "b2b", "B2B");
    assert_value(db, "b3", "B33");
    tu_assert_ok(strata_close(db));
    tu_free_path(dir);

    dir = tu_mkdtemp("api-prot-merge");
    db = open_db(dir, 8, NULL);
    merge_hook hf = {0, 1, 0};
    run_merged_group(db, &hf, w);
    assert_int_equal(hf.flipped, 1);
    for (int i = 1; i < 4; i++) { /* every member of the group fails */
        if (w[i].rc != STRATA_E_CORRUPTION || !strstr(w[i].msg, "write batch") ||
            !strstr(w[i].msg, "'b3'")) {
            print_error("writer %d: %d %s\n", i, w[i].rc, w[i].msg);
            fail();
        }
    }
    assert_value(db, "first", "F");
    assert_absent(db, "p1");
    assert_absent(db, "b2a");
    assert_absent(db, "b3");
    assert_int_equal(bg_errors(db), 0);
    tu_assert_ok(strata_put(db, NULL, "after", 5, "A", 1));
    tu_assert_ok(strata_close(db));
    db = open_db(dir, 8, NULL);
    assert_value(db, "after", "A");
    assert_absent(db, "p1");
    tu_assert_ok(strata_close(db));
    tu_free_path(dir);
}

/* ---- protection off -------------------------------------------------------------------------- */

/* With protection_bytes_per_key=0 nothing is checked: the same flips pass unnoticed (what the
 * option exists to prevent), and protected batches are accepted as plain ones. */
static void test_off_checks_nothing(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("api-prot-off");
    strata_db *db = open_db(dir, 0, NULL);
    tu_assert_ok(strata_put(db, NULL, "k", 1, "value", 5));
    flip_mem_value(db, "k", 1, 0); /* 'v' ^ 0x10 = 'f' */
    assert_value(db, "k", "falue");
    strata_batch *b = strata_batch_create();
    tu_assert_ok(strata_batch_protect(b));
    tu_assert_ok(strata_batch_put(b, "m", 1, "mmmm", 4));
    b->rep.data[value_offset(b, "m", 4)] ^= 0x01;
    tu_assert_ok(strata_write(db, NULL, b));
    assert_value(db, "m", "lmmm");
    strata_batch_destroy(b);
    tu_assert_ok(strata_close(db));
    tu_free_path(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_width),
        cmocka_unit_test(test_roundtrip_cache_variants),
        cmocka_unit_test(test_memtable_flip),
        cmocka_unit_test(test_memtable_flip_binary_key),
        cmocka_unit_test(test_block_cache_flip),
        cmocka_unit_test(test_batch_flip_before_write),
        cmocka_unit_test(test_group_flip_before_wal),
        cmocka_unit_test(test_family_id_flip),
        cmocka_unit_test(test_group_flip_before_memtable),
        cmocka_unit_test(test_merged_group),
        cmocka_unit_test(test_concurrent_writers_and_readers),
        cmocka_unit_test(test_off_checks_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
