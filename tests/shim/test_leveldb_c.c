/*
 * test_leveldb_c.c — the LevelDB C API shim (include/leveldb/c.h, src/api/leveldb_c.c) against
 * LevelDB 1.23's documented behaviour.
 *
 * Written only against leveldb/c.h (plus the test harness), linked with libstrata_leveldb.
 * Covers every exported function: the errptr rules and status classes of error messages, open
 * flags and locking, destroy/repair, point reads of absent and empty values, batches (including a
 * deferred batch error), iterators, snapshots, user comparators and filter policies, the bloom
 * policy, caches and envs, option clamping, properties, approximate sizes, compaction, a corrupted
 * table reported through errptr, and a randomized run against an in-memory model with reopens.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

#include <leveldb/c.h>

/* SHIM_TEST_REFERENCE builds this file against LevelDB itself (tests/shim/CMakeLists.txt does so
 * when LevelDB is installed), proving that what it expects is LevelDB's behaviour.  The few checks
 * of strata-only behaviour (key size limits, misuse LevelDB leaves undefined) are left out then. */
#if !defined(STRATA_LEVELDB_C_H) && !defined(SHIM_TEST_REFERENCE)
#error "this test must compile against strata's include/leveldb/c.h, not the system one"
#endif

/* ---- Helpers ---------------------------------------------------------------------------------- */

#define assert_no_error(err)                                                                   \
    do {                                                                                       \
        if ((err) != NULL) {                                                                   \
            print_error("unexpected error: %s\n", (err));                                      \
            fail();                                                                            \
        }                                                                                      \
    } while (0)

/* Checks that err is set and starts with the LevelDB status class prefix, then frees it. */
#define assert_error_class(err, prefix)                                                        \
    do {                                                                                       \
        assert_non_null(err);                                                                  \
        if (strncmp((err), (prefix), strlen(prefix)) != 0) {                                   \
            print_error("error \"%s\" does not start with \"%s\"\n", (err), (prefix));         \
            fail();                                                                            \
        }                                                                                      \
        leveldb_free(err);                                                                     \
        (err) = NULL;                                                                          \
    } while (0)

/* LevelDB requires real option objects everywhere (NULL is not "defaults"). */
static leveldb_readoptions_t *default_ro;

struct fixture {
    char *dir;      /* temp directory (removed at teardown) */
    char path[512]; /* <dir>/db: the DB directory, absent at first */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    f->dir = tu_mkdtemp("shim");
    if (f->dir == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    tu_free_path(f->dir);
    free(f);
    return 0;
}

static leveldb_options_t *create_options(void)
{
    leveldb_options_t *opt = leveldb_options_create();

    assert_non_null(opt);
    leveldb_options_set_create_if_missing(opt, 1);
    return opt;
}

static leveldb_t *open_ok(const leveldb_options_t *opt, const char *path)
{
    char *err = NULL;
    leveldb_t *db = leveldb_open(opt, path, &err);

    assert_no_error(err);
    assert_non_null(db);
    return db;
}

static void put_str(leveldb_t *db, const char *k, const char *v)
{
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    char *err = NULL;

    leveldb_put(db, wo, k, strlen(k), v, strlen(v), &err);
    assert_no_error(err);
    leveldb_writeoptions_destroy(wo);
}

/* Checks the value of k (NULL expected = absent) with ro (NULL = default read options). */
static void check_get(leveldb_t *db, const leveldb_readoptions_t *ro, const char *k,
                      const char *expect)
{
    char *err = NULL;
    size_t n = 12345;
    char *v = leveldb_get(db, ro != NULL ? ro : default_ro, k, strlen(k), &n, &err);

    assert_no_error(err);
    if (expect == NULL) {
        assert_null(v);
        assert_int_equal(n, 0);
    } else {
        assert_non_null(v);
        tu_assert_bytes_equal(v, n, expect, strlen(expect));
    }
    leveldb_free(v);
}

/* Checks the iterator's current entry. */
static void check_iter(const leveldb_iterator_t *it, const char *k, const char *v)
{
    size_t n;
    const char *p;

    assert_true(leveldb_iter_valid(it));
    p = leveldb_iter_key(it, &n);
    tu_assert_bytes_equal(p, n, k, strlen(k));
    p = leveldb_iter_value(it, &n);
    tu_assert_bytes_equal(p, n, v, strlen(v));
}

static void close_and_destroy(leveldb_t *db, const leveldb_options_t *opt, const char *path)
{
    char *err = NULL;

    leveldb_close(db);
    leveldb_destroy_db(opt, path, &err);
    assert_no_error(err);
}

/* The vlen-byte value fill() stores under key number i. */
static void fill_value(char *val, int i, size_t vlen)
{
    for (size_t j = 0; j < vlen; j++)
        val[j] = (char)('a' + (int)((j * 7 + (size_t)i * 13) % 26));
}

/* Writes n keys "key%06d" with vlen-byte values from fill_value. */
static void fill(leveldb_t *db, int n, size_t vlen)
{
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    char key[32];
    char *val = malloc(vlen);
    char *err = NULL;

    assert_non_null(val);
    for (int i = 0; i < n; i++) {
        int klen = snprintf(key, sizeof(key), "key%06d", i);
        fill_value(val, i, vlen);
        leveldb_put(db, wo, key, (size_t)klen, val, vlen, &err);
        assert_no_error(err);
    }
    free(val);
    leveldb_writeoptions_destroy(wo);
}

/* Checks that key number i holds what fill() wrote. */
static void check_filled(leveldb_t *db, int i, size_t vlen)
{
    char key[32], *err = NULL;
    char *want = malloc(vlen + 1);
    size_t n = 0;
    char *v;

    assert_non_null(want);
    fill_value(want, i, vlen);
    snprintf(key, sizeof(key), "key%06d", i);
    v = leveldb_get(db, default_ro, key, strlen(key), &n, &err);
    assert_no_error(err);
    assert_non_null(v);
    tu_assert_bytes_equal(v, n, want, vlen);
    leveldb_free(v);
    free(want);
}

/* ---- Versions, open flags, locking, destroy ---------------------------------------------------- */

static void test_versions(void **state)
{
    (void)state;
    assert_int_equal(leveldb_major_version(), 1);
    assert_int_equal(leveldb_minor_version(), 23);
}

static void test_open_missing_without_create(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = leveldb_options_create();
    char *err = NULL;

    assert_null(leveldb_open(opt, f->path, &err));
    assert_non_null(strstr(err, "does not exist"));
    assert_error_class(err, "Invalid argument: ");
    assert_null(leveldb_open(opt, f->path, &err)); /* still not there */
    assert_error_class(err, "Invalid argument: ");
    leveldb_options_destroy(opt);
}

static void test_open_error_if_exists(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    char *err = NULL;

    leveldb_close(open_ok(opt, f->path));
    leveldb_options_set_error_if_exists(opt, 1);
    assert_null(leveldb_open(opt, f->path, &err));
    assert_non_null(strstr(err, "exists"));
    assert_error_class(err, "Invalid argument: ");
    leveldb_options_set_error_if_exists(opt, 0);
    leveldb_options_set_create_if_missing(opt, 0);
    close_and_destroy(open_ok(opt, f->path), opt, f->path);
    leveldb_options_destroy(opt);
}

static void test_open_twice(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    leveldb_t *db = open_ok(opt, f->path);
    char *err = NULL;

    assert_null(leveldb_open(opt, f->path, &err));
    assert_error_class(err, "IO error: ");
    put_str(db, "still", "works");
    check_get(db, NULL, "still", "works");
    leveldb_close(db);
    db = open_ok(opt, f->path); /* the lock was released by close */
    check_get(db, NULL, "still", "works");
    close_and_destroy(db, opt, f->path);
    leveldb_options_destroy(opt);
}

static void test_destroy(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    leveldb_t *db = open_ok(opt, f->path);
    char *err = NULL;
    struct stat st;

    put_str(db, "a", "1");
    leveldb_destroy_db(opt, f->path, &err);
    assert_error_class(err, "IO error: ");
    check_get(db, NULL, "a", "1"); /* the failed destroy touched nothing */
    leveldb_close(db);
    leveldb_destroy_db(opt, f->path, &err);
    assert_no_error(err);
    assert_int_not_equal(stat(f->path, &st), 0);
    leveldb_destroy_db(opt, f->path, &err); /* a missing DB is fine */
    assert_no_error(err);
    leveldb_options_set_create_if_missing(opt, 0);
    assert_null(leveldb_open(opt, f->path, &err));
    assert_error_class(err, "Invalid argument: ");
    leveldb_options_destroy(opt);
}

/* On success *errptr is left exactly as it was; on failure the old message is replaced (and
 * freed: the ASan build's leak check catches a lost one). */
static void test_errptr_rules(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    leveldb_t *db = open_ok(opt, f->path);
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    char *err = strdup("previous");
    char *before = err;
    size_t n;

    leveldb_put(db, wo, "k", 1, "v", 1, &err);
    assert_ptr_equal(err, before);
    assert_string_equal(err, "previous");
    leveldb_free(leveldb_get(db, default_ro, "k", 1, &n, &err));
    assert_ptr_equal(err, before);
    assert_null(leveldb_get(db, default_ro, "absent", 6, &n, &err));
    assert_ptr_equal(err, before);
    leveldb_destroy_db(opt, f->path, &err); /* fails: open */
    assert_string_not_equal(err, "previous");
    assert_error_class(err, "IO error: ");
    leveldb_writeoptions_destroy(wo);
    close_and_destroy(db, opt, f->path);
    leveldb_options_destroy(opt);
}

/* ---- Point operations ------------------------------------------------------------------------- */

static void test_put_get_delete(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    leveldb_t *db = open_ok(opt, f->path);
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    const char bin_key[] = {'a', '\0', 'b'};
    const char bin_val[] = {'\0', '\xff', '\0', 'x'};
    char *err = NULL;
    size_t n = 99;
    char *v;

    check_get(db, ro, "foo", NULL);
    put_str(db, "foo", "hello");
    check_get(db, ro, "foo", "hello");
    put_str(db, "foo", "world");
    check_get(db, ro, "foo", "world");
    leveldb_put(db, wo, "empty", 5, "", 0, &err); /* a present empty value is not "absent" */
    assert_no_error(err);
    v = leveldb_get(db, ro, "empty", 5, &n, &err);
    assert_no_error(err);
    assert_non_null(v);
    assert_int_equal(n, 0);
    leveldb_free(v);
    leveldb_put(db, wo, bin_key, sizeof(bin_key), bin_val, sizeof(bin_val), &err);
    assert_no_error(err);
    v = leveldb_get(db, ro, bin_key, sizeof(bin_key), &n, &err);
    tu_assert_bytes_equal(v, n, bin_val, sizeof(bin_val));
    free(v); /* LevelDB values come from malloc: plain free() must work too */
    check_get(db, ro, "a", NULL); /* a prefix of the binary key */
    leveldb_delete(db, wo, "foo", 3, &err);
    assert_no_error(err);
    check_get(db, ro, "foo", NULL);
    leveldb_delete(db, wo, "never-there", 11, &err);
    assert_no_error(err);
    leveldb_writeoptions_set_sync(wo, 1);
    leveldb_put(db, wo, "synced", 6, "yes", 3, &err);
    assert_no_error(err);
    leveldb_close(db);
    db = open_ok(opt, f->path); /* everything survives a reopen */
    check_get(db, ro, "synced", "yes");
    check_get(db, ro, "foo", NULL);
    v = leveldb_get(db, ro, bin_key, sizeof(bin_key), &n, &err);
    tu_assert_bytes_equal(v, n, bin_val, sizeof(bin_val));
    leveldb_free(v);
    leveldb_readoptions_destroy(ro);
    leveldb_writeoptions_destroy(wo);
    close_and_destroy(db, opt, f->path);
    leveldb_options_destroy(opt);
}

#ifndef SHIM_TEST_REFERENCE
/* A key beyond strata's 64 MiB limit (LevelDB has none): put fails with errptr, a batch defers the
 * failure to leveldb_write. */
static void test_oversized_key(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    leveldb_t *db = open_ok(opt, f->path);
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    leveldb_writebatch_t *b = leveldb_writebatch_create();
    leveldb_writebatch_t *b2 = leveldb_writebatch_create();
    size_t big = ((size_t)64 << 20) + 1;
    char *key = calloc(1, big);
    char *err = NULL;

    assert_non_null(key);
    leveldb_put(db, wo, key, big, "v", 1, &err);
    assert_error_class(err, "Invalid argument: ");
    leveldb_writebatch_put(b, "ok", 2, "1", 1);
    leveldb_writebatch_put(b, key, big, "v", 1);
    leveldb_write(db, wo, b, &err);
    assert_error_class(err, "Invalid argument: ");
    check_get(db, NULL, "ok", NULL); /* nothing of the failed batch was applied */
    leveldb_writebatch_append(b2, b); /* the failure travels with append */
    leveldb_write(db, wo, b2, &err);
    assert_error_class(err, "Invalid argument: ");
    leveldb_writebatch_clear(b); /* clear forgets it */
    leveldb_writebatch_put(b, "ok", 2, "1", 1);
    leveldb_write(db, wo, b, &err);
    assert_no_error(err);
    check_get(db, NULL, "ok", "1");
    free(key);
    leveldb_writebatch_destroy(b);
    leveldb_writebatch_destroy(b2);
    leveldb_writeoptions_destroy(wo);
    close_and_destroy(db, opt, f->path);
    leveldb_options_destroy(opt);
}
#endif

/* ---- Write batches ---------------------------------------------------------------------------- */

struct batch_log {
    char text[256];
};

static void log_put(void *state, const char *k, size_t klen, const char *v, size_t vlen)
{
    struct batch_log *log = state;
    size_t used = strlen(log->text);

    snprintf(log->text + used, sizeof(log->text) - used, "put(%.*s,%.*s);", (int)klen, k,
             (int)vlen, v);
}

static void log_del(void *state, const char *k, size_t klen)
{
    struct batch_log *log = state;
    size_t used = strlen(log->text);

    snprintf(log->text + used, sizeof(log->text) - used, "del(%.*s);", (int)klen, k);
}

static void test_writebatch(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    leveldb_t *db = open_ok(opt, f->path);
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    leveldb_writebatch_t *b = leveldb_writebatch_create();
    leveldb_writebatch_t *tail = leveldb_writebatch_create();
    struct batch_log log = {""};
    char *err = NULL;

    put_str(db, "box", "c");
    leveldb_writebatch_put(b, "foo", 3, "a", 1);
    leveldb_writebatch_clear(b);
    leveldb_writebatch_put(b, "bar", 3, "b", 1);
    leveldb_writebatch_put(b, "box", 3, "c", 1);
    leveldb_writebatch_delete(b, "bar", 3);
    leveldb_writebatch_put(tail, "baz", 3, "d", 1);
    leveldb_writebatch_append(b, tail);
    leveldb_writebatch_iterate(b, &log, log_put, log_del);
    assert_string_equal(log.text, "put(bar,b);put(box,c);del(bar);put(baz,d);");
    leveldb_write(db, wo, b, &err);
    assert_no_error(err);
    check_get(db, NULL, "foo", NULL);
    check_get(db, NULL, "bar", NULL);
    check_get(db, NULL, "box", "c");
    check_get(db, NULL, "baz", "d");
    memset(&log, 0, sizeof(log)); /* the write left the batch unchanged */
    leveldb_writebatch_iterate(b, &log, log_put, log_del);
    assert_string_equal(log.text, "put(bar,b);put(box,c);del(bar);put(baz,d);");
    leveldb_writebatch_clear(b);
    memset(&log, 0, sizeof(log));
    leveldb_writebatch_iterate(b, &log, log_put, log_del);
    assert_string_equal(log.text, "");
    leveldb_write(db, wo, b, &err); /* an empty batch is a valid write */
    assert_no_error(err);
    leveldb_writebatch_destroy(b);
    leveldb_writebatch_destroy(tail);
    leveldb_writeoptions_destroy(wo);
    close_and_destroy(db, opt, f->path);
    leveldb_options_destroy(opt);
}

/* ---- Iterators and snapshots ------------------------------------------------------------------ */

static void test_iterator(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    leveldb_t *db = open_ok(opt, f->path);
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    leveldb_iterator_t *it;
    char *err = NULL;

    it = leveldb_create_iterator(db, ro); /* empty DB */
    leveldb_iter_seek_to_first(it);
    assert_false(leveldb_iter_valid(it));
    leveldb_iter_destroy(it);
    put_str(db, "box", "c");
    put_str(db, "bar", "b");
    put_str(db, "foo", "hello");
    it = leveldb_create_iterator(db, ro);
    put_str(db, "later", "x"); /* not seen: the iterator's view is fixed at creation */
    assert_false(leveldb_iter_valid(it));
    leveldb_iter_seek_to_first(it);
    check_iter(it, "bar", "b");
    leveldb_iter_next(it);
    check_iter(it, "box", "c");
    leveldb_iter_prev(it);
    check_iter(it, "bar", "b");
    leveldb_iter_prev(it);
    assert_false(leveldb_iter_valid(it));
    leveldb_iter_seek_to_last(it);
    check_iter(it, "foo", "hello");
    leveldb_iter_next(it);
    assert_false(leveldb_iter_valid(it));
    leveldb_iter_seek(it, "b", 1);
    check_iter(it, "bar", "b");
    leveldb_iter_seek(it, "bx", 2);
    check_iter(it, "foo", "hello");
    leveldb_iter_seek(it, "zzz", 3);
    assert_false(leveldb_iter_valid(it));
    leveldb_iter_get_error(it, &err);
    assert_no_error(err);
    leveldb_iter_destroy(it);
    leveldb_readoptions_set_verify_checksums(ro, 0);
    leveldb_readoptions_set_fill_cache(ro, 0);
    it = leveldb_create_iterator(db, ro);
    leveldb_iter_seek(it, "l", 1);
    check_iter(it, "later", "x");
    leveldb_iter_destroy(it);
    leveldb_readoptions_destroy(ro);
    close_and_destroy(db, opt, f->path);
    leveldb_options_destroy(opt);
}

static void test_snapshot(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    leveldb_t *db = open_ok(opt, f->path);
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    const leveldb_snapshot_t *snap;
    leveldb_iterator_t *it;

    put_str(db, "foo", "hello");
    snap = leveldb_create_snapshot(db);
    assert_non_null(snap);
    put_str(db, "foo", "changed");
    put_str(db, "new", "1");
    leveldb_readoptions_set_snapshot(ro, snap);
    check_get(db, ro, "foo", "hello");
    check_get(db, ro, "new", NULL);
    leveldb_compact_range(db, NULL, 0, NULL, 0); /* the snapshot's view survives compaction */
    check_get(db, ro, "foo", "hello");
    it = leveldb_create_iterator(db, ro);
    leveldb_iter_seek_to_first(it);
    check_iter(it, "foo", "hello");
    leveldb_iter_next(it);
    assert_false(leveldb_iter_valid(it));
    leveldb_iter_destroy(it);
    leveldb_readoptions_set_snapshot(ro, NULL);
    check_get(db, ro, "foo", "changed");
    check_get(db, ro, "new", "1");
    leveldb_release_snapshot(db, snap);
    leveldb_readoptions_destroy(ro);
    close_and_destroy(db, opt, f->path);
    leveldb_options_destroy(opt);
}

/* ---- Comparators ------------------------------------------------------------------------------ */

static int reverse_destroyed;

static void reverse_destructor(void *state)
{
    (void)state;
    reverse_destroyed++;
}

/* Reverse bytewise order. */
static int reverse_compare(void *state, const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int r = memcmp(a, b, n);

    (void)state;
    if (r == 0)
        r = alen < blen ? -1 : alen > blen ? 1 : 0;
    return -r;
}

static const char *reverse_name(void *state)
{
    (void)state;
    return "shimtest.Reverse";
}

static void test_comparator(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    leveldb_comparator_t *cmp =
        leveldb_comparator_create(NULL, reverse_destructor, reverse_compare, reverse_name);
    leveldb_options_t *bytewise;
    leveldb_iterator_t *it;
    leveldb_t *db;
    char *err = NULL;

    reverse_destroyed = 0;
    leveldb_options_set_comparator(opt, cmp);
    db = open_ok(opt, f->path);
    put_str(db, "a", "1");
    put_str(db, "c", "3");
    put_str(db, "b", "2");
    leveldb_compact_range(db, NULL, 0, NULL, 0);
    put_str(db, "ab", "12");
    it = leveldb_create_iterator(db, default_ro);
    leveldb_iter_seek_to_first(it);
    check_iter(it, "c", "3");
    leveldb_iter_next(it);
    check_iter(it, "b", "2");
    leveldb_iter_next(it);
    check_iter(it, "ab", "12");
    leveldb_iter_next(it);
    check_iter(it, "a", "1");
    leveldb_iter_seek(it, "bz", 2); /* first key at or after "bz" in reverse order */
    check_iter(it, "b", "2");
    leveldb_iter_destroy(it);
    check_get(db, NULL, "b", "2");
    leveldb_close(db);
    bytewise = leveldb_options_create(); /* default comparator: the DB refuses */
    assert_null(leveldb_open(bytewise, f->path, &err));
    assert_error_class(err, "Invalid argument: ");
    leveldb_options_destroy(bytewise);
    db = open_ok(opt, f->path);
    check_get(db, NULL, "c", "3");
    close_and_destroy(db, opt, f->path);
    assert_int_equal(reverse_destroyed, 0);
    leveldb_comparator_destroy(cmp);
    assert_int_equal(reverse_destroyed, 1);
    leveldb_options_destroy(opt);
}

/* Many keys in small blocks under the reverse order: index separators, seeks and reads across
 * block and table boundaries must follow the user's order (LevelDB's C comparators never shorten
 * keys). */
static void test_comparator_many_keys(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    leveldb_comparator_t *cmp =
        leveldb_comparator_create(NULL, reverse_destructor, reverse_compare, reverse_name);
    leveldb_iterator_t *it;
    leveldb_t *db;
    char key[32];
    int i = 2999;

    leveldb_options_set_comparator(opt, cmp);
    leveldb_options_set_block_size(opt, 1024);
    leveldb_options_set_compression(opt, leveldb_no_compression);
    db = open_ok(opt, f->path);
    fill(db, 3000, 40);
    leveldb_compact_range(db, NULL, 0, NULL, 0);
    it = leveldb_create_iterator(db, default_ro);
    for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it), i--) {
        size_t n;
        const char *k = leveldb_iter_key(it, &n);
        snprintf(key, sizeof(key), "key%06d", i);
        tu_assert_bytes_equal(k, n, key, strlen(key));
    }
    assert_int_equal(i, -1);
    leveldb_iter_seek(it, "key0015005", 10); /* between key001501 and key001500 */
    assert_true(leveldb_iter_valid(it));
    size_t n;
    const char *k = leveldb_iter_key(it, &n);
    tu_assert_bytes_equal(k, n, "key001500", 9);
    leveldb_iter_destroy(it);
    for (i = 0; i < 3000; i += 97)
        check_filled(db, i, 40);
    close_and_destroy(db, opt, f->path);
    leveldb_comparator_destroy(cmp);
    leveldb_options_destroy(opt);
}

/* Several threads use one DB at once; each checks its own writes and its own errors (the shim
 * keeps no shared state, strata's detail messages are per thread). */
struct worker {
    leveldb_t *db;
    int id;
    int failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    char key[32], val[32], *err = NULL;

    for (int i = 0; i < 300; i++) {
        int klen = snprintf(key, sizeof(key), "t%d-%04d", w->id, i);
        int vlen = snprintf(val, sizeof(val), "v%d", i * w->id);
        size_t n;
        leveldb_put(w->db, wo, key, (size_t)klen, val, (size_t)vlen, &err);
        char *got = leveldb_get(w->db, ro, key, (size_t)klen, &n, &err);
        if (err != NULL || got == NULL || n != (size_t)vlen || memcmp(got, val, n) != 0)
            w->failures++;
        leveldb_free(got);
        leveldb_free(err);
        err = NULL;
    }
    leveldb_readoptions_destroy(ro);
    leveldb_writeoptions_destroy(wo);
    return NULL;
}

static void test_threads(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    leveldb_t *db;
    pthread_t tid[4];
    struct worker w[4];

    leveldb_options_set_write_buffer_size(opt, 64 << 10);
    db = open_ok(opt, f->path);
    for (int t = 0; t < 4; t++) {
        w[t] = (struct worker){db, t + 1, 0};
        assert_int_equal(pthread_create(&tid[t], NULL, worker_main, &w[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        assert_int_equal(pthread_join(tid[t], NULL), 0);
        assert_int_equal(w[t].failures, 0);
    }
    check_get(db, NULL, "t3-0299", "v897");
    close_and_destroy(db, opt, f->path);
    leveldb_options_destroy(opt);
}

/* ---- Filter policies -------------------------------------------------------------------------- */

struct fake_filter {
    int result;     /* what key_may_match answers */
    int created;    /* create_filter calls */
    int probed;     /* key_may_match calls */
    int destroyed;  /* destructor calls */
};

static void fake_destructor(void *state)
{
    ((struct fake_filter *)state)->destroyed++;
}

static char *fake_create(void *state, const char *const *keys, const size_t *key_lens, int n,
                         size_t *filter_len)
{
    char *filter = malloc(4);

    (void)keys;
    (void)key_lens;
    (void)n;
    ((struct fake_filter *)state)->created++;
    if (filter != NULL)
        memcpy(filter, "fake", 4);
    *filter_len = 4;
    return filter;
}

static uint8_t fake_match(void *state, const char *key, size_t klen, const char *filter,
                          size_t flen)
{
    struct fake_filter *ff = state;

    (void)key;
    (void)klen;
    ff->probed++;
    if (flen != 4 || memcmp(filter, "fake", 4) != 0)
        return 1;
    return (uint8_t)ff->result;
}

static const char *fake_name(void *state)
{
    (void)state;
    return "shimtest.FakeFilter";
}

/* A user policy is used to build and to probe filters (a policy that says "absent" hides keys that
 * are in tables, as in LevelDB's own C test). */
static void test_filter_policy_user(void **state)
{
    struct fixture *f = *state;
    struct fake_filter ff = {1, 0, 0, 0};
    leveldb_options_t *opt = create_options();
    leveldb_filterpolicy_t *policy =
        leveldb_filterpolicy_create(&ff, fake_destructor, fake_create, fake_match, fake_name);
    leveldb_t *db;

    assert_non_null(policy);
    leveldb_options_set_filter_policy(opt, policy);
    db = open_ok(opt, f->path);
    put_str(db, "foo", "foovalue");
    put_str(db, "bar", "barvalue");
    leveldb_compact_range(db, NULL, 0, NULL, 0);
    assert_true(ff.created > 0);
    check_get(db, NULL, "foo", "foovalue");
    check_get(db, NULL, "bar", "barvalue");
    assert_true(ff.probed > 0);
    ff.result = 0;
    check_get(db, NULL, "foo", NULL);
    check_get(db, NULL, "bar", NULL);
    ff.result = 1;
    check_get(db, NULL, "foo", "foovalue");
    close_and_destroy(db, opt, f->path);
    assert_int_equal(ff.destroyed, 0);
    leveldb_filterpolicy_destroy(policy);
    assert_int_equal(ff.destroyed, 1);
    leveldb_options_destroy(opt);
}

static void test_filter_policy_bloom(void **state)
{
    struct fixture *f = *state;
#ifndef SHIM_TEST_REFERENCE
    const int bits[] = {10, 0, -3, 1000}; /* LevelDB crashes on a negative count */
#else
    const int bits[] = {10, 0, 1000};
#endif
    char key[32];

    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        leveldb_options_t *opt = create_options();
        leveldb_filterpolicy_t *policy = leveldb_filterpolicy_create_bloom(bits[i]);
        leveldb_t *db;

        assert_non_null(policy);
        leveldb_options_set_filter_policy(opt, policy);
        db = open_ok(opt, f->path);
        fill(db, 500, 16);
        leveldb_compact_range(db, NULL, 0, NULL, 0);
        for (int k = 0; k < 500; k += 7) {
            check_filled(db, k, 16);
            snprintf(key, sizeof(key), "nokey%06d", k);
            check_get(db, NULL, key, NULL);
        }
        close_and_destroy(db, opt, f->path);
        leveldb_filterpolicy_destroy(policy);
        leveldb_options_destroy(opt);
    }
}

/* ---- Options, caches, envs -------------------------------------------------------------------- */

/* Every setter, with values LevelDB would clamp; the DB must open and work. */
static void test_options_all_setters(void **state)
{
    struct fixture *f = *state;
#ifndef SHIM_TEST_REFERENCE
    /* LevelDB writes unreadable tables for an unknown type; strata stores them uncompressed. */
    const int compressions[] = {leveldb_no_compression, leveldb_snappy_compression, 7};
#else
    const int compressions[] = {leveldb_no_compression, leveldb_snappy_compression};
#endif

    for (size_t i = 0; i < sizeof(compressions) / sizeof(compressions[0]); i++) {
        leveldb_options_t *opt = create_options();
        leveldb_env_t *env = leveldb_create_default_env();
        leveldb_cache_t *cache = leveldb_cache_create_lru(100000);
        leveldb_t *db;

        assert_non_null(env);
        assert_non_null(cache);
        leveldb_options_set_env(opt, env);
        leveldb_options_set_cache(opt, cache);
        leveldb_options_set_info_log(opt, NULL);
        leveldb_options_set_paranoid_checks(opt, 1);
        leveldb_options_set_write_buffer_size(opt, i == 0 ? 1 : (size_t)100000);
        leveldb_options_set_max_open_files(opt, i == 0 ? -1 : 10);
        leveldb_options_set_block_size(opt, i == 0 ? 0 : (size_t)1 << 30);
#ifndef SHIM_TEST_REFERENCE
        leveldb_options_set_block_restart_interval(opt, i == 0 ? 0 : 8); /* LevelDB asserts on 0 */
#endif
        leveldb_options_set_max_file_size(opt, i == 0 ? 0 : (size_t)3 << 20);
        leveldb_options_set_compression(opt, compressions[i]);
        db = open_ok(opt, f->path);
        fill(db, 2000, 100);
        leveldb_compact_range(db, NULL, 0, NULL, 0);
        for (int k = 0; k < 2000; k += 111)
            check_filled(db, k, 100);
        close_and_destroy(db, opt, f->path);
        leveldb_cache_destroy(cache);
        leveldb_env_destroy(env);
        leveldb_options_destroy(opt);
    }
}

/* One cache shared by two DBs; fill_cache off and on. */
static void test_shared_cache(void **state)
{
    struct fixture *f = *state;
    char path2[600];
    leveldb_options_t *opt = create_options();
    leveldb_cache_t *cache = leveldb_cache_create_lru(1 << 20);
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    leveldb_t *a, *b;

    snprintf(path2, sizeof(path2), "%s/db2", f->dir);
    leveldb_options_set_cache(opt, cache);
    a = open_ok(opt, f->path);
    b = open_ok(opt, path2);
    put_str(a, "k", "in a");
    put_str(b, "k", "in b");
    leveldb_compact_range(a, NULL, 0, NULL, 0);
    leveldb_compact_range(b, NULL, 0, NULL, 0);
    leveldb_readoptions_set_fill_cache(ro, 0);
    check_get(a, ro, "k", "in a");
    leveldb_readoptions_set_fill_cache(ro, 1);
    check_get(b, ro, "k", "in b");
    check_get(a, ro, "k", "in a");
    close_and_destroy(a, opt, f->path);
    close_and_destroy(b, opt, path2);
    leveldb_readoptions_destroy(ro);
    leveldb_cache_destroy(cache);
    leveldb_options_destroy(opt);
}

static void test_env_test_directory(void **state)
{
    struct fixture *f = *state;
    leveldb_env_t *env = leveldb_create_default_env();
    char want[600], *old = getenv("TEST_TMPDIR") ? strdup(getenv("TEST_TMPDIR")) : NULL;
    char *dir;
    struct stat st;

    snprintf(want, sizeof(want), "%s/testdir", f->dir);
    assert_int_equal(setenv("TEST_TMPDIR", want, 1), 0);
    dir = leveldb_env_get_test_directory(env);
    assert_string_equal(dir, want);
    assert_int_equal(stat(dir, &st), 0); /* created */
    assert_true(S_ISDIR(st.st_mode));
    leveldb_free(dir);
    assert_int_equal(setenv("TEST_TMPDIR", "", 1), 0);
    dir = leveldb_env_get_test_directory(env);
    snprintf(want, sizeof(want), "/tmp/leveldbtest-%d", (int)geteuid());
    assert_string_equal(dir, want);
    leveldb_free(dir);
    if (old != NULL)
        setenv("TEST_TMPDIR", old, 1);
    else
        unsetenv("TEST_TMPDIR");
    free(old);
    leveldb_env_destroy(env);
}

/* ---- Properties, sizes, compaction ------------------------------------------------------------ */

static long int_property(leveldb_t *db, const char *name)
{
    char *v = leveldb_property_value(db, name);
    char *end;
    long n;

    assert_non_null(v);
    n = strtol(v, &end, 10);
    if (end == v || (*end != '\0' && *end != '\n')) {
        print_error("property %s is not an integer: \"%s\"\n", name, v);
        fail();
    }
    leveldb_free(v);
    return n;
}

static void test_properties(void **state)
{
    struct fixture *f = *state;
    static const char *const unknown[] = {
        "leveldb.num-files-at-level7", "leveldb.num-files-at-level",
        "leveldb.num-files-at-level1x", "leveldb.num-files-at-level-1",
        "leveldb.num-files-at-level99999999999999999999", "leveldb.nosuchproperty",
        "leveldb.", "strata.stats", "leveldb.stats ", "rocksdb.stats", ""};
    leveldb_options_t *opt = create_options();
    leveldb_t *db = open_ok(opt, f->path);
    long files = 0;
    char name[64];
    char *v;

    fill(db, 1000, 50);
    leveldb_compact_range(db, NULL, 0, NULL, 0);
    for (int level = 0; level < 7; level++) {
        snprintf(name, sizeof(name), "leveldb.num-files-at-level%d", level);
        files += int_property(db, name);
    }
    assert_true(files >= 1);
    assert_int_equal(int_property(db, "leveldb.num-files-at-level00") >= 0, 1);
    assert_true(int_property(db, "leveldb.approximate-memory-usage") >= 0);
    v = leveldb_property_value(db, "leveldb.stats");
    assert_non_null(v);
    assert_true(strlen(v) > 0);
    leveldb_free(v);
    v = leveldb_property_value(db, "leveldb.sstables");
    assert_non_null(v);
    leveldb_free(v);
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        v = leveldb_property_value(db, unknown[i]);
        if (v != NULL) {
            print_error("property \"%s\" should be unknown, got \"%s\"\n", unknown[i], v);
            fail();
        }
    }
    close_and_destroy(db, opt, f->path);
    leveldb_options_destroy(opt);
}

static void test_approximate_sizes(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    leveldb_t *db;
    const char *start[3] = {"a", "key005000", "z"};
    const char *limit[3] = {"key005000", "key999999", "zz"};
    size_t start_len[3], limit_len[3];
    uint64_t sizes[3] = {0, 0, 99};

    leveldb_options_set_compression(opt, leveldb_no_compression);
    db = open_ok(opt, f->path);
    fill(db, 10000, 100);
    leveldb_compact_range(db, NULL, 0, NULL, 0);
    for (int i = 0; i < 3; i++) {
        start_len[i] = strlen(start[i]);
        limit_len[i] = strlen(limit[i]);
    }
    leveldb_approximate_sizes(db, 3, start, start_len, limit, limit_len, sizes);
    assert_true(sizes[0] > 100000); /* ~5000 * 110 bytes each */
    assert_true(sizes[1] > 100000);
    assert_true(sizes[0] < 5000000 && sizes[1] < 5000000);
    assert_true(sizes[2] < 10000); /* no keys there */
    close_and_destroy(db, opt, f->path);
    leveldb_options_destroy(opt);
}

/* Compacting part of the range, then everything, keeps the data and drops deleted keys from the
 * files (the DB gets smaller). */
static void test_compact_range(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    const char *all_s = "", *all_l = "\xff";
    size_t all_sl = 0, all_ll = 1;
    uint64_t before, after;
    char key[32], *err = NULL;
    leveldb_t *db;

    leveldb_options_set_compression(opt, leveldb_no_compression);
    db = open_ok(opt, f->path);
    fill(db, 3000, 100);
    leveldb_compact_range(db, "key000100", 9, "key000200", 9);
    leveldb_compact_range(db, NULL, 0, "key001000", 9);
    leveldb_compact_range(db, "key002000", 9, NULL, 0);
    leveldb_approximate_sizes(db, 1, &all_s, &all_sl, &all_l, &all_ll, &before);
    for (int i = 0; i < 3000; i++) {
        if (i % 10 == 3)
            continue;
        snprintf(key, sizeof(key), "key%06d", i);
        leveldb_delete(db, wo, key, strlen(key), &err);
        assert_no_error(err);
    }
    leveldb_compact_range(db, NULL, 0, NULL, 0);
    leveldb_approximate_sizes(db, 1, &all_s, &all_sl, &all_l, &all_ll, &after);
    assert_true(after < before / 2);
    check_filled(db, 13, 100);
    check_filled(db, 2993, 100);
    check_get(db, NULL, "key000012", NULL);
    leveldb_writeoptions_destroy(wo);
    close_and_destroy(db, opt, f->path);
    leveldb_options_destroy(opt);
}

/* ---- Repair and corruption -------------------------------------------------------------------- */

static void test_repair(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    leveldb_t *db = open_ok(opt, f->path);
    char *err = NULL;

    put_str(db, "kept", "yes");
    leveldb_close(db);
    leveldb_repair_db(opt, f->path, &err);
    assert_no_error(err);
    db = open_ok(opt, f->path);
    check_get(db, NULL, "kept", "yes");
#ifndef SHIM_TEST_REFERENCE
    leveldb_repair_db(opt, f->path, &err); /* while open: LevelDB leaves it undefined */
    assert_error_class(err, "IO error: ");
    check_get(db, NULL, "kept", "yes");
#endif
    close_and_destroy(db, opt, f->path);
    leveldb_repair_db(opt, f->path, &err); /* nothing there: repair leaves an empty DB */
    assert_no_error(err);
    leveldb_options_set_create_if_missing(opt, 0);
    db = open_ok(opt, f->path);
    check_get(db, NULL, "kept", NULL);
    close_and_destroy(db, opt, f->path);
    leveldb_options_destroy(opt);
}

/* 1 if name is a table file (strata's .sst, LevelDB's .ldb). */
static int is_table(const char *name)
{
    size_t len = strlen(name);

    return len > 4 && (strcmp(name + len - 4, ".sst") == 0 || strcmp(name + len - 4, ".ldb") == 0);
}

/* Tables without CURRENT: repair rebuilds the DB from them (as LevelDB does), and every key
 * written comes back. */
static void test_repair_without_current(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    leveldb_t *db = open_ok(opt, f->path);
    char current[600], *err = NULL;

    fill(db, 100, 10);
    leveldb_compact_range(db, NULL, 0, NULL, 0);
    leveldb_close(db);
    snprintf(current, sizeof(current), "%s/CURRENT", f->path);
    assert_int_equal(unlink(current), 0);
    leveldb_repair_db(opt, f->path, &err);
    assert_null(err);
    db = open_ok(opt, f->path);
    for (int i = 0; i < 100; i++)
        check_filled(db, i, 10);
    leveldb_close(db);
    leveldb_options_destroy(opt);
}

/* Overwrites bytes [size/10, size/2) of every table file in path; returns how many it changed. */
static int corrupt_tables(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int count = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char file[1024];
        struct stat st;
        if (!is_table(e->d_name))
            continue;
        snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
        assert_int_equal(stat(file, &st), 0);
        FILE *fp = fopen(file, "r+b");
        assert_non_null(fp);
        assert_int_equal(fseek(fp, st.st_size / 10, SEEK_SET), 0);
        for (long i = st.st_size / 10; i < st.st_size / 2; i++)
            fputc(0xa5 ^ (int)(i & 0x3f), fp);
        assert_int_equal(fclose(fp), 0);
        count++;
    }
    closedir(d);
    return count;
}

/* A damaged table is reported through errptr with the "Corruption: " class: by get and by an
 * iterator (or, if the engine checks tables at open, by open). */
static void test_corruption(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    leveldb_iterator_t *it;
    leveldb_t *db;
    char *err = NULL;
    size_t n;
    int seen = 0;

    leveldb_options_set_compression(opt, leveldb_no_compression);
    leveldb_options_set_block_size(opt, 1024);
    leveldb_readoptions_set_verify_checksums(ro, 1);
    db = open_ok(opt, f->path);
    fill(db, 2000, 100);
    leveldb_compact_range(db, NULL, 0, NULL, 0);
    leveldb_close(db);
    assert_true(corrupt_tables(f->path) >= 1);
    db = leveldb_open(opt, f->path, &err);
    if (db == NULL) {
        assert_error_class(err, "Corruption: ");
        goto out;
    }
    assert_null(leveldb_get(db, ro, "key000600", 9, &n, &err));
    assert_int_equal(n, 0);
    assert_error_class(err, "Corruption: ");
    it = leveldb_create_iterator(db, ro);
    for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it))
        seen++;
    assert_true(seen < 2000);
    leveldb_iter_get_error(it, &err);
    assert_error_class(err, "Corruption: ");
    leveldb_iter_destroy(it);
    leveldb_close(db);
out:
    leveldb_destroy_db(opt, f->path, &err);
    assert_no_error(err);
    leveldb_readoptions_destroy(ro);
    leveldb_options_destroy(opt);
}

/* ---- Randomized run against a model ----------------------------------------------------------- */

#define MODEL_KEYS 64

struct model {
    char *val[MODEL_KEYS]; /* NULL = absent */
};

static void model_set(struct model *m, int k, const char *v)
{
    free(m->val[k]);
    m->val[k] = v != NULL ? strdup(v) : NULL;
}

static void model_copy(struct model *dst, const struct model *src)
{
    for (int k = 0; k < MODEL_KEYS; k++)
        model_set(dst, k, src->val[k]);
}

static void model_free(struct model *m)
{
    for (int k = 0; k < MODEL_KEYS; k++)
        model_set(m, k, NULL);
}

/* Checks every key with get and a forward and a backward scan against m. */
static void model_check(leveldb_t *db, const leveldb_readoptions_t *ro, const struct model *m)
{
    leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
    char key[16];
    int k;

    for (k = 0; k < MODEL_KEYS; k++) {
        snprintf(key, sizeof(key), "m%03d", k);
        check_get(db, ro, key, m->val[k]);
    }
    leveldb_iter_seek_to_first(it);
    for (k = 0; k < MODEL_KEYS; k++) {
        if (m->val[k] == NULL)
            continue;
        snprintf(key, sizeof(key), "m%03d", k);
        check_iter(it, key, m->val[k]);
        leveldb_iter_next(it);
    }
    assert_false(leveldb_iter_valid(it));
    leveldb_iter_seek_to_last(it);
    for (k = MODEL_KEYS - 1; k >= 0; k--) {
        if (m->val[k] == NULL)
            continue;
        snprintf(key, sizeof(key), "m%03d", k);
        check_iter(it, key, m->val[k]);
        leveldb_iter_prev(it);
    }
    assert_false(leveldb_iter_valid(it));
    leveldb_iter_destroy(it);
}

/* One random step: a put, a delete or a small batch, applied to db and to m. */
static void model_step(leveldb_t *db, leveldb_writeoptions_t *wo, struct model *m, uint64_t *rng)
{
    leveldb_writebatch_t *b = leveldb_writebatch_create();
    int ops = 1 + (int)(*rng % 4);
    char key[16], val[32], *err = NULL;

    for (int i = 0; i < ops; i++) {
        *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
        int k = (int)((*rng >> 33) % MODEL_KEYS);
        snprintf(key, sizeof(key), "m%03d", k);
        if ((*rng >> 20) % 3 == 0) {
            leveldb_writebatch_delete(b, key, strlen(key));
            model_set(m, k, NULL);
        } else {
            snprintf(val, sizeof(val), "v%llu", (unsigned long long)(*rng >> 40));
            leveldb_writebatch_put(b, key, strlen(key), val, strlen(val));
            model_set(m, k, val);
        }
    }
    leveldb_write(db, wo, b, &err);
    assert_no_error(err);
    leveldb_writebatch_destroy(b);
}

static void test_model(void **state)
{
    struct fixture *f = *state;
    leveldb_options_t *opt = create_options();
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    struct model m = {{NULL}}, at_snap = {{NULL}};
    uint64_t rng = tu_seed(4);
    leveldb_t *db;

    db = open_ok(opt, f->path);
    for (int round = 0; round < 6; round++) {
        const leveldb_snapshot_t *snap;
        for (int i = 0; i < 150; i++)
            model_step(db, wo, &m, &rng);
        snap = leveldb_create_snapshot(db);
        model_copy(&at_snap, &m);
        for (int i = 0; i < 100; i++)
            model_step(db, wo, &m, &rng);
        if (round % 2 == 1)
            leveldb_compact_range(db, NULL, 0, NULL, 0);
        leveldb_readoptions_set_snapshot(ro, snap);
        model_check(db, ro, &at_snap);
        leveldb_readoptions_set_snapshot(ro, NULL);
        model_check(db, ro, &m);
        leveldb_release_snapshot(db, snap);
        if (round % 3 == 2) {
            leveldb_close(db);
            db = open_ok(opt, f->path);
            model_check(db, ro, &m);
        }
    }
    model_free(&m);
    model_free(&at_snap);
    leveldb_readoptions_destroy(ro);
    leveldb_writeoptions_destroy(wo);
    close_and_destroy(db, opt, f->path);
    leveldb_options_destroy(opt);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions),
        cmocka_unit_test_setup_teardown(test_open_missing_without_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_error_if_exists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errptr_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_get_delete, setup, teardown),
#ifndef SHIM_TEST_REFERENCE
        cmocka_unit_test_setup_teardown(test_oversized_key, setup, teardown),
#endif
        cmocka_unit_test_setup_teardown(test_writebatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iterator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comparator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comparator_many_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter_policy_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter_policy_bloom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options_all_setters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_test_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_properties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_approximate_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repair_without_current, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model, setup, teardown),
    };

    int failed;

    /* Shell-style patterns to run or skip some tests while debugging. */
    if (getenv("SHIM_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("SHIM_TEST_FILTER"));
    if (getenv("SHIM_TEST_SKIP") != NULL)
        cmocka_set_skip_filter(getenv("SHIM_TEST_SKIP"));
    default_ro = leveldb_readoptions_create();
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    leveldb_readoptions_destroy(default_ro);
    return failed;
}
