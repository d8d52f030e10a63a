/* test_api_basic.c — whole-engine tests of strata's public API (include/strata.h): open, close
 * and destroy rules, point writes and reads (copying and pinned), batches, snapshots, flush and
 * compaction, properties and size estimates, the options string form, custom comparators and
 * filter policies, shared caches, persistence across reopen on the POSIX env, and the in-memory
 * env.  Iterators are in test_api_iter.c, argument and error paths in test_api_errors.c.
 *
 * Every test runs in its own tu_mkdtemp directory (or a private in-memory env) and leaves nothing
 * open behind it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine_util.h"
#include "model_ref.h"
#include "strata.h"
#include "test_util.h"

/* ---- fixture --------------------------------------------------------------------------------- */

struct fx {
    char *dir;
    strata_options *opt;
    strata_db *db;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f) {
        return -1;
    }
    f->dir = tu_mkdtemp("api-basic");
    f->opt = strata_options_create();
    if (!f->dir || !f->opt) {
        return -1;
    }
    strata_options_set_create_if_missing(f->opt, 1);
    if (strata_open(f->opt, f->dir, &f->db) != 0) {
        print_error("open %s: %s\n", f->dir, strata_errmsg());
        return -1;
    }
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    if (!f) {
        return 0;
    }
    int rc = f->db ? strata_close(f->db) : 0;
    strata_options_destroy(f->opt);
    tu_free_path(f->dir);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void fx_reopen(struct fx *f)
{
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    tu_assert_ok(strata_open(f->opt, f->dir, &f->db));
}

static void keyf(char *buf, size_t n, int i)
{
    snprintf(buf, n, "key%06d", i);
}

static uint64_t prop_int(strata_db *db, const char *name)
{
    uint64_t v = 0;
    tu_assert_ok(strata_property_int(db, name, &v));
    return v;
}

/* ---- open / close / destroy ------------------------------------------------------------------ */

static void test_open_missing_and_create(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("api-open");
    char path[4096];
    snprintf(path, sizeof(path), "%s/db", dir);
    strata_options *opt = strata_options_create();
    strata_db *db = NULL;

    assert_int_equal(strata_open(opt, path, &db), STRATA_E_NOTFOUND);
    assert_null(db);
    assert_true(strata_errmsg()[0] != '\0');
    assert_int_equal(strata_open(NULL, path, &db), STRATA_E_NOTFOUND);

    tu_assert_ok(strata_options_set_create_if_missing(opt, 1));
    tu_assert_ok(strata_open(opt, path, &db));
    assert_non_null(db);
    tu_assert_ok(eu_put(db, "k", "v"));
    tu_assert_ok(strata_close(db));

    /* Existing DB: plain open works; error_if_exists refuses. */
    db = NULL;
    tu_assert_ok(strata_open(NULL, path, &db));
    eu_expect(db, NULL, "k", "v");
    tu_assert_ok(strata_close(db));
    tu_assert_ok(strata_options_set_error_if_exists(opt, 1));
    db = NULL;
    assert_int_equal(strata_open(opt, path, &db), STRATA_E_EXISTS);
    assert_null(db);
    assert_true(strata_errmsg()[0] != '\0');

    strata_options_destroy(opt);
    tu_free_path(dir);
}

static void test_open_busy_same_process(void **state)
{
    struct fx *f = *state;
    strata_db *db2 = NULL;
    assert_int_equal(strata_open(f->opt, f->dir, &db2), STRATA_E_BUSY);
    assert_null(db2);
    assert_true(strata_errmsg()[0] != '\0');
    /* The failed open must not have disturbed the first handle. */
    tu_assert_ok(eu_put(f->db, "a", "1"));
    eu_expect(f->db, NULL, "a", "1");
    /* Once closed, the DB can be opened again. */
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    tu_assert_ok(strata_open(f->opt, f->dir, &f->db));
    eu_expect(f->db, NULL, "a", "1");
}

static void test_open_busy_forked_child(void **state)
{
    struct fx *f = *state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        strata_db *db2 = NULL;
        int rc = strata_open(f->opt, f->dir, &db2);
        _exit(rc == STRATA_E_BUSY ? 0 : (rc == 0 ? 2 : 3));
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0) {
        print_error("child open: exit %d (2 = opened a locked DB, 3 = other error)\n",
                    WEXITSTATUS(status));
    }
    assert_int_equal(WEXITSTATUS(status), 0);
    tu_assert_ok(eu_put(f->db, "still", "mine"));
    eu_expect(f->db, NULL, "still", "mine");
}

static void test_destroy(void **state)
{
    struct fx *f = *state;
    tu_assert_ok(eu_put(f->db, "x", "y"));
    assert_int_equal(strata_destroy(f->opt, f->dir), STRATA_E_BUSY);
    eu_expect(f->db, NULL, "x", "y");
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    tu_assert_ok(strata_destroy(f->opt, f->dir));
    struct stat st;
    assert_int_not_equal(stat(f->dir, &st), 0);
    /* Destroying a missing DB is fine; after destroy the DB is gone. */
    tu_assert_ok(strata_destroy(f->opt, f->dir));
    tu_assert_ok(strata_destroy(NULL, f->dir));
    strata_options *plain = strata_options_create();
    assert_int_equal(strata_open(plain, f->dir, &f->db), STRATA_E_NOTFOUND);
    f->db = NULL;
    strata_options_destroy(plain);
    tu_assert_ok(strata_open(f->opt, f->dir, &f->db));
    eu_expect(f->db, NULL, "x", NULL);
}

/* ---- point writes and reads ------------------------------------------------------------------ */

static void test_put_get_delete(void **state)
{
    struct fx *f = *state;
    eu_expect(f->db, NULL, "missing", NULL);
    tu_assert_ok(eu_put(f->db, "k1", "v1"));
    tu_assert_ok(eu_put(f->db, "k2", "v2"));
    eu_expect(f->db, NULL, "k1", "v1");
    eu_expect(f->db, NULL, "k2", "v2");
    tu_assert_ok(eu_put(f->db, "k1", "v1b"));
    eu_expect(f->db, NULL, "k1", "v1b");
    tu_assert_ok(eu_del(f->db, "k1"));
    eu_expect(f->db, NULL, "k1", NULL);
    tu_assert_ok(eu_del(f->db, "never-written"));
    eu_expect(f->db, NULL, "never-written", NULL);
    /* Keys that are prefixes of each other are distinct. */
    tu_assert_ok(eu_put(f->db, "k", "short"));
    tu_assert_ok(eu_put(f->db, "k22", "long"));
    eu_expect(f->db, NULL, "k", "short");
    eu_expect(f->db, NULL, "k2", "v2");
    eu_expect(f->db, NULL, "k22", "long");
    /* Binary keys and values with NUL bytes. */
    const char bk[] = {'b', 0, 'k', 0};
    const char bv[] = {0, 1, 2, 0, (char)0xff};
    tu_assert_ok(strata_put(f->db, NULL, bk, sizeof(bk), bv, sizeof(bv)));
    void *v = NULL;
    size_t vlen = 0;
    tu_assert_ok(strata_get(f->db, NULL, bk, sizeof(bk), &v, &vlen));
    tu_assert_bytes_equal(v, vlen, bv, sizeof(bv));
    strata_free(v);
    assert_int_equal(strata_get(f->db, NULL, bk, 2, &v, &vlen), STRATA_E_NOTFOUND);

    /* Same answers from tables and after reopen. */
    tu_assert_ok(strata_flush(f->db, 1));
    eu_expect(f->db, NULL, "k1", NULL);
    eu_expect(f->db, NULL, "k22", "long");
    fx_reopen(f);
    eu_expect(f->db, NULL, "k1", NULL);
    eu_expect(f->db, NULL, "k2", "v2");
    eu_expect(f->db, NULL, "k", "short");
}

static void test_empty_key_and_value(void **state)
{
    struct fx *f = *state;
    void *v = NULL;
    size_t vlen = 99;
    tu_assert_ok(strata_put(f->db, NULL, "", 0, "empty-key", 9));
    tu_assert_ok(strata_put(f->db, NULL, "ev", 2, "", 0));
    for (int round = 0; round < 3; round++) {
        tu_assert_ok(strata_get(f->db, NULL, "", 0, &v, &vlen));
        tu_assert_bytes_equal(v, vlen, "empty-key", 9);
        strata_free(v);
        v = NULL;
        vlen = 99;
        tu_assert_ok(strata_get(f->db, NULL, "ev", 2, &v, &vlen));
        assert_non_null(v); /* a zero-length value still gets a buffer */
        assert_int_equal(vlen, 0);
        strata_free(v);
        v = NULL;
        strata_pinned *p = NULL;
        tu_assert_ok(strata_get_pinned(f->db, NULL, "ev", 2, &p));
        size_t plen = 99;
        strata_pinned_value(p, &plen);
        assert_int_equal(plen, 0);
        strata_pinned_release(p);
        /* The empty key sorts first. */
        strata_iter *it = NULL;
        tu_assert_ok(strata_iter_create(f->db, NULL, &it));
        strata_iter_seek_to_first(it);
        assert_true(strata_iter_valid(it));
        size_t klen = 99;
        strata_iter_key(it, &klen);
        assert_int_equal(klen, 0);
        strata_iter_destroy(it);
        if (round == 0) {
            tu_assert_ok(strata_flush(f->db, 1));
        } else if (round == 1) {
            fx_reopen(f);
        }
    }
    tu_assert_ok(strata_delete(f->db, NULL, "", 0));
    assert_int_equal(strata_get(f->db, NULL, "", 0, &v, &vlen), STRATA_E_NOTFOUND);
}

static char *pattern_value(size_t n, unsigned seed)
{
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (char)(x >> 16);
    }
    return p;
}

static void expect_bytes(strata_db *db, const char *key, const char *want, size_t wlen)
{
    void *v = NULL;
    size_t vlen = 0;
    tu_assert_ok(strata_get(db, NULL, key, strlen(key), &v, &vlen));
    tu_assert_bytes_equal(v, vlen, want, wlen);
    strata_free(v);
}

static void test_large_values(void **state)
{
    struct fx *f = *state;
    const size_t sizes[] = {1u << 20, (1u << 20) + 7, 5u << 20, 100000};
    char *vals[4];
    char key[32];
    for (int i = 0; i < 4; i++) {
        vals[i] = pattern_value(sizes[i], (unsigned)i + 1);
        snprintf(key, sizeof(key), "big%d", i);
        tu_assert_ok(strata_put(f->db, NULL, key, strlen(key), vals[i], sizes[i]));
        tu_assert_ok(eu_put(f->db, "small", key));
    }
    /* A batch carrying a large value, too. */
    strata_batch *b = strata_batch_create();
    char *bv = pattern_value(2u << 20, 99);
    tu_assert_ok(strata_batch_put(b, "bbig", 4, bv, 2u << 20));
    tu_assert_ok(strata_batch_put(b, "bsmall", 6, "s", 1));
    tu_assert_ok(strata_write(f->db, NULL, b));
    strata_batch_destroy(b);
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 4; i++) {
            snprintf(key, sizeof(key), "big%d", i);
            expect_bytes(f->db, key, vals[i], sizes[i]);
        }
        expect_bytes(f->db, "bbig", bv, 2u << 20);
        eu_expect(f->db, NULL, "small", "big3");
        if (round == 0) {
            tu_assert_ok(strata_flush(f->db, 1));
        } else if (round == 1) {
            tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
        } else if (round == 2) {
            fx_reopen(f);
        }
    }
    for (int i = 0; i < 4; i++) {
        free(vals[i]);
    }
    free(bv);
}

static void test_get_returns_owned_copy(void **state)
{
    struct fx *f = *state;
    tu_assert_ok(eu_put(f->db, "k", "original"));
    void *v1 = NULL, *v2 = NULL;
    size_t l1 = 0, l2 = 0;
    tu_assert_ok(strata_get(f->db, NULL, "k", 1, &v1, &l1));
    tu_assert_ok(strata_get(f->db, NULL, "k", 1, &v2, &l2));
    assert_ptr_not_equal(v1, v2);
    memset(v1, 'X', l1); /* the caller owns the copy: scribbling on it changes nothing */
    tu_assert_bytes_equal(v2, l2, "original", 8);
    eu_expect(f->db, NULL, "k", "original");
    tu_assert_ok(eu_put(f->db, "k", "changed"));
    tu_assert_bytes_equal(v2, l2, "original", 8); /* a copy, not a view */
    strata_free(v1);
    strata_free(v2);
    strata_free(NULL);
}

static void fill_keys(strata_db *db, int from, int to, const char *tag)
{
    char k[32], v[64];
    for (int i = from; i < to; i++) {
        keyf(k, sizeof(k), i);
        snprintf(v, sizeof(v), "%s-%d-padding-padding-padding-padding", tag, i);
        tu_assert_ok(eu_put(db, k, v));
    }
}

static void check_pinned(const strata_pinned *p, const char *want)
{
    size_t len = 0;
    const void *v = strata_pinned_value(p, &len);
    assert_non_null(v);
    tu_assert_bytes_equal(v, len, want, strlen(want));
}

static void test_get_pinned(void **state)
{
    struct fx *f = *state;
    strata_pinned *p = NULL;
    assert_int_equal(strata_get_pinned(f->db, NULL, "nope", 4, &p), STRATA_E_NOTFOUND);

    /* Pinned from the memtable, then the memtable is overwritten, flushed and compacted. */
    tu_assert_ok(eu_put(f->db, "pin", "from-memtable"));
    strata_pinned *pm = NULL;
    tu_assert_ok(strata_get_pinned(f->db, NULL, "pin", 3, &pm));
    check_pinned(pm, "from-memtable");
    tu_assert_ok(eu_put(f->db, "pin", "second"));
    fill_keys(f->db, 0, 2000, "a");
    check_pinned(pm, "from-memtable");
    tu_assert_ok(strata_flush(f->db, 1));
    check_pinned(pm, "from-memtable");
    fill_keys(f->db, 0, 2000, "b");
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    check_pinned(pm, "from-memtable");

    /* Pinned from a table (block cache), then more writes, flushes and a compaction. */
    strata_pinned *pt = NULL;
    tu_assert_ok(strata_get_pinned(f->db, NULL, "pin", 3, &pt));
    check_pinned(pt, "second");
    strata_pinned *pk = NULL;
    tu_assert_ok(strata_get_pinned(f->db, NULL, "key000777", 9, &pk));
    check_pinned(pk, "b-777-padding-padding-padding-padding");
    tu_assert_ok(eu_put(f->db, "pin", "third"));
    fill_keys(f->db, 0, 2000, "c");
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    check_pinned(pt, "second");
    check_pinned(pk, "b-777-padding-padding-padding-padding");
    check_pinned(pm, "from-memtable");
    eu_expect(f->db, NULL, "pin", "third");
    strata_pinned_release(pm);
    strata_pinned_release(pt);
    strata_pinned_release(pk);
    strata_pinned_release(NULL);

    /* A pinned read honours a snapshot. */
    const strata_snapshot *s = strata_snapshot_create(f->db);
    assert_non_null(s);
    tu_assert_ok(eu_put(f->db, "pin", "fourth"));
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_snapshot(ro, s);
    tu_assert_ok(strata_get_pinned(f->db, ro, "pin", 3, &p));
    check_pinned(p, "third");
    strata_pinned_release(p);
    strata_read_options_destroy(ro);
    strata_snapshot_release(f->db, s);
}

/* ---- batches --------------------------------------------------------------------------------- */

struct batch_log {
    char text[1024];
    size_t used;
};

static void log_put(void *ctx, const char *k, size_t klen, const char *v, size_t vlen)
{
    struct batch_log *l = ctx;
    l->used += (size_t)snprintf(l->text + l->used, sizeof(l->text) - l->used, "P(%.*s=%.*s)",
                                (int)klen, k, (int)vlen, v);
}

static void log_del(void *ctx, const char *k, size_t klen)
{
    struct batch_log *l = ctx;
    l->used +=
        (size_t)snprintf(l->text + l->used, sizeof(l->text) - l->used, "D(%.*s)", (int)klen, k);
}

static const char *batch_text(const strata_batch *b, struct batch_log *l)
{
    l->used = 0;
    l->text[0] = '\0';
    tu_assert_ok(strata_batch_iterate(b, l, log_put, log_del));
    return l->text;
}

static void test_batch_contents(void **state)
{
    (void)state;
    struct batch_log log;
    strata_batch *b = strata_batch_create();
    assert_non_null(b);
    size_t empty_size = strata_batch_size(b);
    assert_int_equal(strata_batch_count(b), 0);
    assert_string_equal(batch_text(b, &log), "");

    tu_assert_ok(strata_batch_put(b, "a", 1, "1", 1));
    size_t s1 = strata_batch_size(b);
    assert_true(s1 > empty_size);
    tu_assert_ok(strata_batch_delete(b, "b", 1));
    tu_assert_ok(strata_batch_put(b, "c", 1, "", 0));
    tu_assert_ok(strata_batch_put(b, "", 0, "emptykey", 8));
    assert_int_equal(strata_batch_count(b), 4);
    assert_true(strata_batch_size(b) > s1);
    assert_string_equal(batch_text(b, &log), "P(a=1)D(b)P(c=)P(=emptykey)");
    /* Callbacks may be NULL. */
    tu_assert_ok(strata_batch_iterate(b, &log, NULL, NULL));
    log.used = 0;
    tu_assert_ok(strata_batch_iterate(b, &log, NULL, log_del));
    assert_string_equal(log.text, "D(b)");

    strata_batch *d = strata_batch_create();
    tu_assert_ok(strata_batch_put(d, "z", 1, "26", 2));
    tu_assert_ok(strata_batch_append(d, b));
    assert_int_equal(strata_batch_count(d), 5);
    assert_string_equal(batch_text(d, &log), "P(z=26)P(a=1)D(b)P(c=)P(=emptykey)");
    assert_int_equal(strata_batch_count(b), 4); /* src unchanged */
    /* Appending an empty batch, and appending into an empty one. */
    strata_batch *e = strata_batch_create();
    tu_assert_ok(strata_batch_append(d, e));
    assert_int_equal(strata_batch_count(d), 5);
    tu_assert_ok(strata_batch_append(e, d));
    assert_int_equal(strata_batch_count(e), 5);

    strata_batch_clear(b);
    assert_int_equal(strata_batch_count(b), 0);
    assert_int_equal(strata_batch_size(b), empty_size);
    assert_string_equal(batch_text(b, &log), "");
    tu_assert_ok(strata_batch_put(b, "after", 5, "clear", 5));
    assert_string_equal(batch_text(b, &log), "P(after=clear)");

    strata_batch_destroy(b);
    strata_batch_destroy(d);
    strata_batch_destroy(e);
    strata_batch_destroy(NULL);
    strata_batch_clear(NULL);
}

static void test_batch_write(void **state)
{
    struct fx *f = *state;
    tu_assert_ok(eu_put(f->db, "gone", "x"));
    tu_assert_ok(eu_put(f->db, "keep", "x"));
    strata_batch *b = strata_batch_create();
    tu_assert_ok(strata_batch_put(b, "a", 1, "1", 1));
    tu_assert_ok(strata_batch_put(b, "a", 1, "2", 1)); /* later op in a batch wins */
    tu_assert_ok(strata_batch_put(b, "t", 1, "x", 1));
    tu_assert_ok(strata_batch_delete(b, "t", 1)); /* put then delete: absent */
    tu_assert_ok(strata_batch_delete(b, "u", 1));
    tu_assert_ok(strata_batch_put(b, "u", 1, "back", 4)); /* delete then put: present */
    tu_assert_ok(strata_batch_delete(b, "gone", 4));

    const strata_snapshot *before = strata_snapshot_create(f->db);
    uint64_t seq0 = strata_snapshot_sequence(before);
    tu_assert_ok(strata_write(f->db, NULL, b));
    assert_int_equal(strata_batch_count(b), 7); /* not modified */
    const strata_snapshot *after = strata_snapshot_create(f->db);
    /* One sequence number per operation. */
    assert_int_equal(strata_snapshot_sequence(after) - seq0, 7);
    eu_expect(f->db, NULL, "a", "2");
    eu_expect(f->db, NULL, "t", NULL);
    eu_expect(f->db, NULL, "u", "back");
    eu_expect(f->db, NULL, "gone", NULL);
    eu_expect(f->db, NULL, "keep", "x");

    /* All or nothing as seen from a snapshot taken before the write. */
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_snapshot(ro, before);
    eu_expect(f->db, ro, "a", NULL);
    eu_expect(f->db, ro, "u", NULL);
    eu_expect(f->db, ro, "gone", "x");
    strata_read_options_destroy(ro);
    strata_snapshot_release(f->db, before);
    strata_snapshot_release(f->db, after);

    /* The batch is reusable; an empty batch is a no-op. */
    tu_assert_ok(eu_put(f->db, "a", "overwritten"));
    tu_assert_ok(strata_write(f->db, NULL, b));
    eu_expect(f->db, NULL, "a", "2");
    strata_batch_clear(b);
    tu_assert_ok(strata_write(f->db, NULL, b));
    /* A large batch spanning several memtables' worth of data. */
    char k[32], v[256];
    memset(v, 'v', sizeof(v));
    for (int i = 0; i < 5000; i++) {
        keyf(k, sizeof(k), i);
        tu_assert_ok(strata_batch_put(b, k, strlen(k), v, sizeof(v)));
    }
    strata_write_options *wo = strata_write_options_create();
    strata_write_options_set_sync(wo, 1);
    tu_assert_ok(strata_write(f->db, wo, b));
    strata_write_options_destroy(wo);
    strata_batch_destroy(b);
    fx_reopen(f);
    eu_expect(f->db, NULL, "a", "2");
    eu_expect(f->db, NULL, "u", "back");
    keyf(k, sizeof(k), 4999);
    void *got = NULL;
    size_t glen = 0;
    tu_assert_ok(strata_get(f->db, NULL, k, strlen(k), &got, &glen));
    tu_assert_bytes_equal(got, glen, v, sizeof(v));
    strata_free(got);
}

static void test_write_options(void **state)
{
    struct fx *f = *state;
    strata_write_options *wo = strata_write_options_create();
    assert_non_null(wo);
    strata_write_options_set_sync(wo, 1);
    tu_assert_ok(strata_put(f->db, wo, "s", 1, "sync", 4));
    strata_write_options_set_sync(wo, 0);
    strata_write_options_set_disable_wal(wo, 1);
    tu_assert_ok(strata_put(f->db, wo, "n", 1, "nowal", 5));
    tu_assert_ok(strata_delete(f->db, wo, "s", 1));
    eu_expect(f->db, NULL, "n", "nowal");
    eu_expect(f->db, NULL, "s", NULL);
    /* Unlogged writes become durable by a flush. */
    tu_assert_ok(strata_flush(f->db, 1));
    fx_reopen(f);
    eu_expect(f->db, NULL, "n", "nowal");
    eu_expect(f->db, NULL, "s", NULL);
    strata_write_options_destroy(wo);
    strata_write_options_destroy(NULL);
}

/* ---- snapshots ------------------------------------------------------------------------------- */

static void expect_at(strata_db *db, const strata_snapshot *s, const char *k, const char *v)
{
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_snapshot(ro, s);
    eu_expect(db, ro, k, v);
    strata_read_options_destroy(ro);
}

static void test_snapshots(void **state)
{
    struct fx *f = *state;
    tu_assert_ok(eu_put(f->db, "a", "a1"));
    tu_assert_ok(eu_put(f->db, "b", "b1"));
    const strata_snapshot *s1 = strata_snapshot_create(f->db);
    assert_non_null(s1);
    tu_assert_ok(eu_put(f->db, "a", "a2"));
    tu_assert_ok(eu_del(f->db, "b"));
    tu_assert_ok(eu_put(f->db, "c", "c2"));
    const strata_snapshot *s2 = strata_snapshot_create(f->db);
    assert_true(strata_snapshot_sequence(s2) > strata_snapshot_sequence(s1));
    tu_assert_ok(eu_put(f->db, "a", "a3"));
    tu_assert_ok(eu_put(f->db, "b", "b3"));
    tu_assert_ok(eu_del(f->db, "c"));
    /* Same snapshot twice: both handles work independently. */
    const strata_snapshot *s3 = strata_snapshot_create(f->db);
    const strata_snapshot *s3b = strata_snapshot_create(f->db);
    assert_int_equal(strata_snapshot_sequence(s3), strata_snapshot_sequence(s3b));
    strata_snapshot_release(f->db, s3b);

    for (int round = 0; round < 4; round++) {
        expect_at(f->db, s1, "a", "a1");
        expect_at(f->db, s1, "b", "b1");
        expect_at(f->db, s1, "c", NULL);
        expect_at(f->db, s2, "a", "a2");
        expect_at(f->db, s2, "b", NULL);
        expect_at(f->db, s2, "c", "c2");
        expect_at(f->db, s3, "a", "a3");
        expect_at(f->db, s3, "b", "b3");
        expect_at(f->db, s3, "c", NULL);
        eu_expect(f->db, NULL, "a", "a3");
        /* Iterators over snapshots. */
        strata_read_options *ro = strata_read_options_create();
        strata_read_options_set_snapshot(ro, s1);
        mr_map *m = mr_create();
        mr_put(m, "a", 1, "a1", 2);
        mr_put(m, "b", 1, "b1", 2);
        eu_check_db_equals(f->db, ro, m, "iterator at s1");
        mr_clear(m);
        mr_put(m, "a", 1, "a2", 2);
        mr_put(m, "c", 1, "c2", 2);
        strata_read_options_set_snapshot(ro, s2);
        eu_check_db_equals(f->db, ro, m, "iterator at s2");
        mr_destroy(m);
        strata_read_options_destroy(ro);
        /* Later rounds: the versions move to tables and get compacted. */
        if (round == 0) {
            tu_assert_ok(strata_flush(f->db, 1));
        } else if (round == 1) {
            tu_assert_ok(eu_put(f->db, "a", "a4"));
            tu_assert_ok(strata_flush(f->db, 1));
            tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
            tu_assert_ok(eu_put(f->db, "a", "a3"));
        } else if (round == 2) {
            tu_assert_ok(strata_compact_range(f->db, "a", 1, "b", 1));
        }
    }
    strata_snapshot_release(f->db, s2);
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    expect_at(f->db, s1, "a", "a1");
    expect_at(f->db, s1, "b", "b1");
    strata_snapshot_release(f->db, s1);
    strata_snapshot_release(f->db, s3);
    strata_snapshot_release(f->db, NULL);
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    eu_expect(f->db, NULL, "a", "a3");
    eu_expect(f->db, NULL, "b", "b3");
    eu_expect(f->db, NULL, "c", NULL);
    /* Sequence numbers survive reopen: a new snapshot is not older than an earlier one. */
    uint64_t last = prop_int(f->db, "strata.last-sequence");
    fx_reopen(f);
    const strata_snapshot *s4 = strata_snapshot_create(f->db);
    assert_true(strata_snapshot_sequence(s4) >= last);
    strata_snapshot_release(f->db, s4);
}

/* ---- flush, compaction, properties, sizes ---------------------------------------------------- */

static uint64_t files_at(strata_db *db, int level)
{
    char name[64];
    snprintf(name, sizeof(name), "strata.num-files-at-level%d", level);
    return prop_int(db, name);
}

static void test_flush_and_compact(void **state)
{
    struct fx *f = *state;
    tu_assert_ok(strata_flush(f->db, 1)); /* empty memtable: fine */
    assert_int_equal(files_at(f->db, 0), 0);
    fill_keys(f->db, 0, 500, "one");
    tu_assert_ok(strata_flush(f->db, 1));
    /* Nothing to overlap in an empty DB: the table goes straight to the base (last) level. */
    assert_int_equal(files_at(f->db, 0), 0);
    assert_int_equal(files_at(f->db, 6), 1);
    char *text = NULL;
    tu_assert_ok(strata_property(f->db, "strata.num-files-at-level6", &text));
    assert_string_equal(text, "1");
    strata_free(text);
    fill_keys(f->db, 250, 750, "two");
    tu_assert_ok(strata_flush(f->db, 0)); /* asynchronous flush, then wait via a second one */
    tu_assert_ok(strata_flush(f->db, 1));
    assert_true(files_at(f->db, 0) >= 1);
    eu_expect(f->db, NULL, "key000100", "one-100-padding-padding-padding-padding");
    eu_expect(f->db, NULL, "key000300", "two-300-padding-padding-padding-padding");

    /* Bounded compaction of a sub-range, then of everything. */
    tu_assert_ok(strata_compact_range(f->db, "key000000", 9, "key000100", 9));
    eu_expect(f->db, NULL, "key000050", "one-50-padding-padding-padding-padding");
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, "key000400", 9));
    tu_assert_ok(strata_compact_range(f->db, "key000400", 9, NULL, 0));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    assert_int_equal(files_at(f->db, 0), 0);
    uint64_t total = 0;
    for (int l = 1; l < 7; l++) {
        total += files_at(f->db, l);
    }
    assert_true(total >= 1);
    /* Deleting everything and compacting leaves nothing visible. */
    char k[32];
    for (int i = 0; i < 750; i++) {
        keyf(k, sizeof(k), i);
        tu_assert_ok(eu_del(f->db, k));
    }
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    mr_map *empty = mr_create();
    eu_check_db_equals(f->db, NULL, empty, "after deleting everything");
    mr_destroy(empty);
    /* A range with no data compacts trivially. */
    tu_assert_ok(strata_compact_range(f->db, "zzz", 3, "zzzz", 4));
}

static void test_properties(void **state)
{
    struct fx *f = *state;
    char *v = NULL;
    fill_keys(f->db, 0, 300, "p");
    assert_true(prop_int(f->db, "strata.approximate-memory-usage") > 0);
    assert_true(prop_int(f->db, "strata.cur-size-active-mem-table") > 0);
    assert_int_equal(prop_int(f->db, "strata.last-sequence"), 300);
    tu_assert_ok(strata_property(f->db, "strata.approximate-memory-usage", &v));
    assert_true(strtoull(v, NULL, 10) > 0);
    strata_free(v);
    tu_assert_ok(strata_flush(f->db, 1));
    assert_true(prop_int(f->db, "strata.total-sst-size") > 0);
    assert_true(prop_int(f->db, "strata.estimate-num-keys") > 0);
    assert_int_equal(prop_int(f->db, "strata.background-errors"), 0);
    assert_true(prop_int(f->db, "strata.flush-bytes-written") > 0);
    const char *names[] = {"strata.stats", "strata.levelstats", "strata.sstables"};
    for (int i = 0; i < 3; i++) {
        v = NULL;
        tu_assert_ok(strata_property(f->db, names[i], &v));
        assert_non_null(v);
        if (strlen(v) == 0) {
            print_error("property %s is empty\n", names[i]);
            fail();
        }
        strata_free(v);
    }
    /* Every integer property is also a text property. */
    const char *ints[] = {"strata.num-immutable-mem-table",
                          "strata.stall-micros",
                          "strata.pending-compaction-bytes",
                          "strata.num-running-compactions",
                          "strata.block-cache-usage",
                          "strata.block-cache-pinned-usage",
                          "strata.bytes-written",
                          "strata.compaction-bytes-written"};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        uint64_t iv = 0;
        v = NULL;
        tu_assert_ok(strata_property_int(f->db, ints[i], &iv));
        tu_assert_ok(strata_property(f->db, ints[i], &v));
        assert_non_null(v);
        strata_free(v);
    }
    v = (char *)"untouched";
    assert_int_equal(strata_property(f->db, "strata.no-such-property", &v), STRATA_E_NOTFOUND);
    uint64_t iv = 0;
    assert_int_equal(strata_property_int(f->db, "strata.no-such-property", &iv), STRATA_E_NOTFOUND);
    int rc = strata_property_int(f->db, "strata.num-files-at-level99", &iv);
    assert_true(rc == STRATA_E_NOTFOUND || rc == STRATA_E_INVALID);
    assert_int_equal(strata_property(f->db, "", &v), STRATA_E_NOTFOUND);
    /* Text-only properties have no integer form. */
    rc = strata_property_int(f->db, "strata.stats", &iv);
    assert_true(rc == STRATA_E_NOTFOUND || rc == STRATA_E_INVALID);
}

static uint64_t approx(strata_db *db, const char *a, const char *b)
{
    const char *start[1] = {a};
    const char *limit[1] = {b};
    size_t sl[1] = {strlen(a)};
    size_t ll[1] = {strlen(b)};
    uint64_t sz = 0;
    tu_assert_ok(strata_approximate_sizes(db, 1, start, sl, limit, ll, &sz));
    return sz;
}

static void test_approximate_sizes(void **state)
{
    struct fx *f = *state;
    assert_int_equal(approx(f->db, "a", "z"), 0);
    char k[32];
    /* Distinct incompressible values, so the on-disk size is close to the raw size. */
    for (int i = 0; i < 4000; i++) {
        keyf(k, sizeof(k), i);
        char *val = pattern_value(1000, (unsigned)i);
        tu_assert_ok(strata_put(f->db, NULL, k, strlen(k), val, 1000));
        free(val);
    }
    tu_assert_ok(strata_flush(f->db, 1));
    uint64_t all = approx(f->db, "key", "key999999");
    uint64_t half = approx(f->db, "key000000", "key002000");
    uint64_t none = approx(f->db, "zzz", "zzzz");
    print_message("approximate sizes: all %llu half %llu none %llu\n", (unsigned long long)all,
                  (unsigned long long)half, (unsigned long long)none);
    assert_true(all >= 2000000); /* ~4 MB of mostly incompressible values */
    assert_true(half > 0);
    assert_true(half < all);
    assert_true(none < 100000);
    /* Several ranges at once, and growth with more data. */
    for (int i = 4000; i < 8000; i++) {
        keyf(k, sizeof(k), i);
        char *val = pattern_value(1000, (unsigned)i);
        tu_assert_ok(strata_put(f->db, NULL, k, strlen(k), val, 1000));
        free(val);
    }
    tu_assert_ok(strata_flush(f->db, 1));
    const char *start[2] = {"key", "key004000"};
    const char *limit[2] = {"key999999", "key008000"};
    size_t sl[2] = {3, 9}, ll[2] = {9, 9};
    uint64_t sz[2] = {0, 0};
    tu_assert_ok(strata_approximate_sizes(f->db, 2, start, sl, limit, ll, sz));
    assert_true(sz[0] > all);
    assert_true(sz[1] > 0);
    assert_true(sz[1] < sz[0]);
}

/* ---- options --------------------------------------------------------------------------------- */

static void test_options_string_round_trip(void **state)
{
    (void)state;
    strata_options *a = strata_options_create();
    tu_assert_ok(strata_options_set_write_buffer_size(a, 8u << 20));
    tu_assert_ok(strata_options_set_block_size(a, 16384));
    tu_assert_ok(strata_options_set_compression(a, STRATA_COMPRESSION_ZSTD));
    tu_assert_ok(strata_options_set_bloom_bits_per_key(a, 12));
    tu_assert_ok(strata_options_set_num_levels(a, 5));
    tu_assert_ok(strata_options_set_max_bytes_for_level_multiplier(a, 8));
    tu_assert_ok(strata_options_set_create_if_missing(a, 1));
    tu_assert_ok(strata_options_set_checksum(a, STRATA_CHECKSUM_XXH3));
    char *s1 = strata_options_to_string(a);
    assert_non_null(s1);
    assert_non_null(strstr(s1, "write_buffer_size"));
    assert_non_null(strstr(s1, "block_size"));

    strata_options *b = strata_options_create();
    char *d0 = strata_options_to_string(b);
    assert_string_not_equal(d0, s1);
    tu_assert_ok(strata_options_from_string(b, s1));
    char *s2 = strata_options_to_string(b);
    assert_string_equal(s1, s2);

    /* Copies carry every setting. */
    strata_options *c = strata_options_copy(a);
    char *s3 = strata_options_to_string(c);
    assert_string_equal(s1, s3);

    /* The documented examples parse, with suffixes, spaces and booleans. */
    strata_options *e = strata_options_create();
    tu_assert_ok(strata_options_from_string(
        e,
        " write_buffer_size = 64MB ; compression=zstd;bloom_bits_per_key=10;"
        "create_if_missing=true;paranoid_checks=0;block_cache_size=1G;target_file_size=2M"));
    strata_options *g = strata_options_create();
    tu_assert_ok(strata_options_set_write_buffer_size(g, 64u << 20));
    tu_assert_ok(strata_options_set_compression(g, STRATA_COMPRESSION_ZSTD));
    tu_assert_ok(strata_options_set_bloom_bits_per_key(g, 10));
    tu_assert_ok(strata_options_set_create_if_missing(g, 1));
    tu_assert_ok(strata_options_set_block_cache_size(g, (size_t)1 << 30));
    tu_assert_ok(strata_options_set_target_file_size(g, 2u << 20));
    char *se = strata_options_to_string(e);
    char *sg = strata_options_to_string(g);
    assert_string_equal(se, sg);
    tu_assert_ok(strata_options_from_string(e, ""));
    strata_free(se);
    se = strata_options_to_string(e);
    assert_string_equal(se, sg);

    strata_free(s1);
    strata_free(s2);
    strata_free(s3);
    strata_free(d0);
    strata_free(se);
    strata_free(sg);
    strata_options_destroy(a);
    strata_options_destroy(b);
    strata_options_destroy(c);
    strata_options_destroy(e);
    strata_options_destroy(g);
    strata_options_destroy(NULL);
}

static void test_options_take_effect(void **state)
{
    (void)state;
    /* A DB opened from a string-configured options object behaves (small buffers = many files). */
    char *dir = tu_mkdtemp("api-opts");
    strata_options *o = strata_options_create();
    char text[256];
    snprintf(text, sizeof(text),
             "create_if_missing=1;write_buffer_size=%zu;compression=lz4;block_size=512;"
             "level0_compaction_trigger=100;level0_slowdown_trigger=200;level0_stop_trigger=300",
             eu_write_buffer_size());
    tu_assert_ok(strata_options_from_string(o, text));
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, dir, &db));
    char *val = pattern_value(500, 3);
    char k[32];
    for (int i = 0; i < 2000; i++) {
        keyf(k, sizeof(k), i);
        tu_assert_ok(strata_put(db, NULL, k, strlen(k), val, 500));
    }
    tu_assert_ok(strata_flush(db, 1));
    /* ~1 MB through a small write buffer: many tables (ascending keys, so each flush goes
     * straight to the base level; none needs compacting). */
    uint64_t tables = 0;
    for (int level = 0; level < 7; level++) {
        tables += files_at(db, level);
    }
    assert_true(tables >= 4);
    assert_int_equal(files_at(db, 0), 0);
    keyf(k, sizeof(k), 1234);
    expect_bytes(db, k, val, 500);
    tu_assert_ok(strata_close(db));
    free(val);
    strata_options_destroy(o);
    tu_free_path(dir);
}

/* ---- comparators, filters, caches ------------------------------------------------------------ */

struct cmp_state {
    const char *name;
    int destroyed;
};

static int reverse_compare(void *state, const char *a, size_t alen, const char *b, size_t blen)
{
    (void)state;
    return -mr_compare(a, alen, b, blen);
}

static const char *cmp_name(void *state)
{
    return ((struct cmp_state *)state)->name;
}

static void cmp_destroyed(void *state)
{
    ((struct cmp_state *)state)->destroyed++;
}

static void expect_order(strata_db *db, const char *const *keys, int n)
{
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(db, NULL, &it));
    strata_iter_seek_to_first(it);
    for (int i = 0; i < n; i++, strata_iter_next(it)) {
        assert_true(strata_iter_valid(it));
        size_t klen;
        const char *k = strata_iter_key(it, &klen);
        tu_assert_bytes_equal(k, klen, keys[i], strlen(keys[i]));
    }
    assert_false(strata_iter_valid(it));
    /* seek uses the custom order: the first key at or after "ba" in reverse order is "b". */
    strata_iter_seek(it, "ba", 2);
    assert_true(strata_iter_valid(it));
    size_t klen;
    const char *k = strata_iter_key(it, &klen);
    tu_assert_bytes_equal(k, klen, "b", 1);
    tu_assert_ok(strata_iter_status(it));
    strata_iter_destroy(it);
}

static void test_custom_comparator(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("api-cmp");
    struct cmp_state cs = {"test.reverse", 0};
    struct cmp_state other = {"test.reverse.v2", 0};
    strata_comparator *rev =
        strata_comparator_create(&cs, cmp_destroyed, reverse_compare, cmp_name);
    strata_comparator *rev2 =
        strata_comparator_create(&other, cmp_destroyed, reverse_compare, cmp_name);
    assert_non_null(rev);
    strata_options *o = strata_options_create();
    strata_options_set_create_if_missing(o, 1);
    tu_assert_ok(strata_options_set_comparator(o, rev));
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, dir, &db));
    const char *keys[] = {"c", "bb", "b", "a", ""};
    for (int i = 0; i < 5; i++) {
        tu_assert_ok(eu_put(db, keys[i], keys[i]));
    }
    expect_order(db, keys, 5);
    tu_assert_ok(strata_flush(db, 1));
    tu_assert_ok(eu_put(db, "d", "d"));
    tu_assert_ok(eu_del(db, "bb"));
    tu_assert_ok(strata_flush(db, 1));
    tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
    /* compact_range bounds are in comparator order too: begin "c" ... end "a". */
    tu_assert_ok(strata_compact_range(db, "c", 1, "a", 1));
    const char *keys2[] = {"d", "c", "b", "a", ""};
    expect_order(db, keys2, 5);
    eu_expect(db, NULL, "bb", NULL);
    tu_assert_ok(strata_close(db));

    /* Reopening with a different comparator name, or the default, is refused. */
    db = NULL;
    tu_assert_ok(strata_options_set_comparator(o, rev2));
    assert_int_equal(strata_open(o, dir, &db), STRATA_E_INVALID);
    assert_null(db);
    assert_true(strata_errmsg()[0] != '\0');
    tu_assert_ok(strata_options_set_comparator(o, strata_comparator_bytewise()));
    assert_int_equal(strata_open(o, dir, &db), STRATA_E_INVALID);
    assert_null(db);
    /* The right one works, and the data is intact. */
    tu_assert_ok(strata_options_set_comparator(o, rev));
    tu_assert_ok(strata_open(o, dir, &db));
    expect_order(db, keys2, 5);
    tu_assert_ok(strata_close(db));

    /* A bytewise DB refuses a custom comparator. */
    char *dir2 = tu_mkdtemp("api-cmp2");
    strata_options *p = strata_options_create();
    strata_options_set_create_if_missing(p, 1);
    tu_assert_ok(strata_open(p, dir2, &db));
    tu_assert_ok(eu_put(db, "x", "y"));
    tu_assert_ok(strata_close(db));
    db = NULL;
    tu_assert_ok(strata_options_set_comparator(p, rev));
    assert_int_equal(strata_open(p, dir2, &db), STRATA_E_INVALID);

    strata_options_destroy(o);
    strata_options_destroy(p);
    assert_int_equal(cs.destroyed, 0);
    strata_comparator_destroy(rev);
    strata_comparator_destroy(rev2);
    assert_int_equal(cs.destroyed, 1);
    assert_int_equal(other.destroyed, 1);
    strata_comparator_destroy(NULL);
    tu_free_path(dir);
    tu_free_path(dir2);
}

struct filter_state {
    int created;
    int probed;
    int destroyed;
};

static char *fp_create(void *state, const char *const *keys, const size_t *key_lens, int n,
                       size_t *filter_len)
{
    (void)keys;
    (void)key_lens;
    struct filter_state *s = state;
    __atomic_add_fetch(&s->created, 1, __ATOMIC_RELAXED);
    char *f = malloc(4);
    memcpy(f, &n, 4);
    *filter_len = 4;
    return f;
}

static int fp_match(void *state, const char *key, size_t klen, const char *filter, size_t flen)
{
    (void)key;
    (void)klen;
    (void)filter;
    struct filter_state *s = state;
    __atomic_add_fetch(&s->probed, 1, __ATOMIC_RELAXED);
    return flen == 4; /* "maybe" always: correct for any key set */
}

static const char *fp_name(void *state)
{
    (void)state;
    return "test.always-maybe";
}

static void fp_destroy(void *state)
{
    ((struct filter_state *)state)->destroyed++;
}

static void test_filter_policies(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("api-filter");
    struct filter_state fs = {0, 0, 0};
    strata_filter_policy *custom =
        strata_filter_policy_create(&fs, fp_destroy, fp_create, fp_match, fp_name);
    strata_filter_policy *bloom = strata_filter_policy_create_bloom(10);
    assert_non_null(custom);
    assert_non_null(bloom);
    strata_options *o = strata_options_create();
    strata_options_set_create_if_missing(o, 1);
    tu_assert_ok(strata_options_set_filter_policy(o, custom));
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, dir, &db));
    fill_keys(db, 0, 500, "f");
    tu_assert_ok(strata_flush(db, 1));
    assert_true(__atomic_load_n(&fs.created, __ATOMIC_RELAXED) > 0);
    eu_expect(db, NULL, "key000123", "f-123-padding-padding-padding-padding");
    eu_expect(db, NULL, "key000123x", NULL);
    assert_true(__atomic_load_n(&fs.probed, __ATOMIC_RELAXED) > 0);
    tu_assert_ok(strata_close(db));

    /* Switching to another filter: tables written with the old one still read correctly. */
    tu_assert_ok(strata_options_set_filter_policy(o, bloom));
    tu_assert_ok(strata_open(o, dir, &db));
    eu_expect(db, NULL, "key000123", "f-123-padding-padding-padding-padding");
    fill_keys(db, 500, 1000, "g");
    tu_assert_ok(strata_flush(db, 1));
    eu_expect(db, NULL, "key000777", "g-777-padding-padding-padding-padding");
    eu_expect(db, NULL, "key000010", "f-10-padding-padding-padding-padding");
    eu_expect(db, NULL, "nokey", NULL);
    tu_assert_ok(strata_close(db));
    /* And with no filter at all. */
    tu_assert_ok(strata_options_set_filter_policy(o, NULL));
    tu_assert_ok(strata_open(o, dir, &db));
    eu_expect(db, NULL, "key000777", "g-777-padding-padding-padding-padding");
    eu_expect(db, NULL, "key000010", "f-10-padding-padding-padding-padding");
    tu_assert_ok(strata_close(db));

    strata_options_destroy(o);
    strata_filter_policy_destroy(custom);
    strata_filter_policy_destroy(bloom);
    strata_filter_policy_destroy(NULL);
    assert_int_equal(fs.destroyed, 1);
    tu_free_path(dir);
}

static void test_shared_cache(void **state)
{
    (void)state;
    char *d1 = tu_mkdtemp("api-cache1");
    char *d2 = tu_mkdtemp("api-cache2");
    strata_cache *cache = strata_cache_create_lru(1u << 20);
    assert_non_null(cache);
    assert_int_equal(strata_cache_usage(cache), 0);
    strata_options *o = strata_options_create();
    strata_options_set_create_if_missing(o, 1);
    tu_assert_ok(strata_options_set_block_cache(o, cache));
    strata_db *a = NULL, *b = NULL;
    tu_assert_ok(strata_open(o, d1, &a));
    tu_assert_ok(strata_open(o, d2, &b));
    /* The creator may drop its reference while DBs still use the cache. */
    fill_keys(a, 0, 3000, "a");
    fill_keys(b, 0, 3000, "b");
    tu_assert_ok(strata_flush(a, 1));
    tu_assert_ok(strata_flush(b, 1));
    eu_expect(a, NULL, "key001000", "a-1000-padding-padding-padding-padding");
    eu_expect(b, NULL, "key001000", "b-1000-padding-padding-padding-padding");
    size_t used = strata_cache_usage(cache);
    assert_true(used > 0);
    assert_true(used <= (1u << 20) + 65536);
    assert_true(prop_int(a, "strata.block-cache-usage") > 0);
    strata_cache_destroy(cache);
    for (int i = 0; i < 3000; i += 97) {
        char k[32], v[64];
        keyf(k, sizeof(k), i);
        snprintf(v, sizeof(v), "a-%d-padding-padding-padding-padding", i);
        eu_expect(a, NULL, k, v);
        v[0] = 'b';
        eu_expect(b, NULL, k, v);
    }
    tu_assert_ok(strata_close(a));
    tu_assert_ok(strata_close(b));
    strata_options_destroy(o);
    strata_cache_destroy(NULL);
    tu_free_path(d1);
    tu_free_path(d2);
}

/* ---- persistence and envs -------------------------------------------------------------------- */

static void test_reopen_persistence_posix(void **state)
{
    struct fx *f = *state;
    eu_rng r;
    eu_rng_seed(&r, tu_seed(1));
    mr_map *m = mr_create();
    char k[32], v[200];
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 3000; i++) {
            keyf(k, sizeof(k), (int)eu_uniform(&r, 2000));
            if (eu_one_in(&r, 5)) {
                tu_assert_ok(strata_delete(f->db, NULL, k, strlen(k)));
                mr_del(m, k, strlen(k));
                continue;
            }
            size_t vlen = (size_t)eu_uniform(&r, sizeof(v));
            eu_fill(&r, v, vlen);
            tu_assert_ok(strata_put(f->db, NULL, k, strlen(k), v, vlen));
            mr_put(m, k, strlen(k), v, vlen);
        }
        if (round == 1) {
            tu_assert_ok(strata_flush(f->db, 1));
        } else if (round == 2) {
            tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
        }
        fx_reopen(f); /* round 0 and 3: recovery purely from the WAL */
        eu_check_db_equals(f->db, NULL, m, "after reopen");
    }
    /* Reopen twice in a row without writes (recovery of a recovered DB). */
    fx_reopen(f);
    fx_reopen(f);
    eu_check_db_equals(f->db, NULL, m, "after double reopen");
    mr_destroy(m);
}

static void test_env_mem(void **state)
{
    (void)state;
    strata_env *env = strata_env_create_mem();
    strata_env *env2 = strata_env_create_mem();
    assert_non_null(env);
    strata_options *o = strata_options_create();
    strata_options_set_create_if_missing(o, 1);
    tu_assert_ok(strata_options_set_env(o, env));
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, "/memdb", &db));
    fill_keys(db, 0, 1000, "m");
    tu_assert_ok(strata_flush(db, 1));
    fill_keys(db, 500, 1500, "n");
    /* A second open in the same env is locked out. */
    strata_db *db2 = NULL;
    assert_int_equal(strata_open(o, "/memdb", &db2), STRATA_E_BUSY);
    tu_assert_ok(strata_close(db));
    tu_assert_ok(strata_open(o, "/memdb", &db));
    eu_expect(db, NULL, "key000100", "m-100-padding-padding-padding-padding");
    eu_expect(db, NULL, "key001100", "n-1100-padding-padding-padding-padding");
    tu_assert_ok(strata_close(db));

    /* Nothing leaks into another mem env or onto the real file system. */
    strata_options *p = strata_options_create();
    tu_assert_ok(strata_options_set_env(p, env2));
    assert_int_equal(strata_open(p, "/memdb", &db2), STRATA_E_NOTFOUND);
    struct stat st;
    assert_int_not_equal(stat("/memdb", &st), 0);
    /* destroy works in the mem env. */
    tu_assert_ok(strata_destroy(o, "/memdb"));
    strata_options_set_create_if_missing(o, 0);
    assert_int_equal(strata_open(o, "/memdb", &db), STRATA_E_NOTFOUND);

    strata_options_destroy(o);
    strata_options_destroy(p);
    strata_env_destroy(env);
    strata_env_destroy(env2);
    strata_env_destroy(NULL);
    assert_non_null(strata_env_default());
    assert_ptr_equal(strata_env_default(), strata_env_default());
}

static void test_compression_and_checksum_kinds(void **state)
{
    (void)state;
    const int comps[] = {STRATA_COMPRESSION_NONE, STRATA_COMPRESSION_SNAPPY, STRATA_COMPRESSION_LZ4,
                         STRATA_COMPRESSION_ZSTD};
    strata_env *env = strata_env_create_mem();
    for (int c = 0; c < 4; c++) {
        for (int ck = 0; ck < 2; ck++) {
            strata_options *o = strata_options_create();
            strata_options_set_create_if_missing(o, 1);
            strata_options_set_env(o, env);
            int rc = strata_options_set_compression(o, comps[c]);
            if (rc == STRATA_E_NOTSUP) {
                strata_options_destroy(o);
                continue; /* compiled out */
            }
            tu_assert_ok(rc);
            tu_assert_ok(strata_options_set_checksum(o, ck));
            char path[64];
            snprintf(path, sizeof(path), "/db-%d-%d", c, ck);
            strata_db *db = NULL;
            tu_assert_ok(strata_open(o, path, &db));
            fill_keys(db, 0, 2000, "z");
            tu_assert_ok(strata_flush(db, 1));
            tu_assert_ok(strata_close(db));
            /* Tables written under one setting read back under another. */
            strata_options_set_compression(o, comps[(c + 1) % 4]);
            strata_options_set_checksum(o, 1 - ck);
            tu_assert_ok(strata_open(o, path, &db));
            eu_expect(db, NULL, "key001999", "z-1999-padding-padding-padding-padding");
            fill_keys(db, 1000, 1001, "y");
            tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
            eu_expect(db, NULL, "key000000", "z-0-padding-padding-padding-padding");
            eu_expect(db, NULL, "key001000", "y-1000-padding-padding-padding-padding");
            tu_assert_ok(strata_close(db));
            strata_options_destroy(o);
        }
    }
    strata_env_destroy(env);
}

static void test_reopen_with_other_num_levels(void **state)
{
    (void)state;
    /* Data pushed to level 6, then reopened with 3 levels: refused with INVALID, or opened with
     * every key readable — never a crash or lost data.  More levels are always fine. */
    strata_env *env = strata_env_create_mem();
    strata_options *o = strata_options_create();
    strata_options_set_create_if_missing(o, 1);
    strata_options_set_env(o, env);
    strata_options_set_write_buffer_size(o, 64 << 10);
    strata_options_set_target_file_size(o, 64 << 10);
    strata_options_set_max_bytes_for_level_base(o, 64 << 10);
    strata_options_set_max_bytes_for_level_multiplier(o, 2);
    strata_options_set_dynamic_level_bytes(o, 0);
    strata_options_set_compression(o, STRATA_COMPRESSION_NONE);
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, "/levels", &db));
    char k[32];
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 1000; i++) {
            keyf(k, sizeof(k), i);
            char *v = pattern_value(1000, (unsigned)(round * 1000 + i));
            tu_assert_ok(strata_put(db, NULL, k, strlen(k), v, 1000));
            free(v);
        }
    }
    tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
    uint64_t deep = 0;
    for (int l = 3; l < 7; l++) {
        deep += files_at(db, l);
    }
    assert_true(deep > 0);
    tu_assert_ok(strata_close(db));
    for (int pass = 0; pass < 2; pass++) {
        tu_assert_ok(strata_options_set_num_levels(o, pass == 0 ? 3 : 12));
        db = NULL;
        int rc = strata_open(o, "/levels", &db);
        if (rc == STRATA_E_INVALID && pass == 0) {
            assert_null(db);
            assert_true(strata_errmsg()[0] != '\0');
            continue;
        }
        tu_assert_ok(rc);
        for (int i = 0; i < 1000; i += 99) {
            keyf(k, sizeof(k), i);
            char *v = pattern_value(1000, (unsigned)(3000 + i));
            expect_bytes(db, k, v, 1000);
            free(v);
        }
        tu_assert_ok(strata_close(db));
    }
    strata_options_destroy(o);
    strata_env_destroy(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_missing_and_create),
        cmocka_unit_test_setup_teardown(test_open_busy_same_process, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_busy_forked_child, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_destroy, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_put_get_delete, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_empty_key_and_value, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_large_values, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_get_returns_owned_copy, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_get_pinned, fx_setup, fx_teardown),
        cmocka_unit_test(test_batch_contents),
        cmocka_unit_test_setup_teardown(test_batch_write, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_write_options, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_snapshots, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_flush_and_compact, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_properties, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_approximate_sizes, fx_setup, fx_teardown),
        cmocka_unit_test(test_options_string_round_trip),
        cmocka_unit_test(test_options_take_effect),
        cmocka_unit_test(test_custom_comparator),
        cmocka_unit_test(test_filter_policies),
        cmocka_unit_test(test_shared_cache),
        cmocka_unit_test_setup_teardown(test_reopen_persistence_posix, fx_setup, fx_teardown),
        cmocka_unit_test(test_env_mem),
        cmocka_unit_test(test_compression_and_checksum_kinds),
        cmocka_unit_test(test_reopen_with_other_num_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
