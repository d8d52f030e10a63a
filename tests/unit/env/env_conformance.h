/* env_conformance.h — the behaviour every st_env must share, run by test_env_posix.c and
 * test_env_mem.c over their env.  The including file defines conf_setup/conf_teardown, which fill
 * a struct conf_fixture (env plus an existing empty directory root), and lists CONF_TESTS in its
 * cmocka group.  Static functions: include this header once per test binary. */
#ifndef STRATA_TESTS_ENV_CONFORMANCE_H
#define STRATA_TESTS_ENV_CONFORMANCE_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/env.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/compiler.h"
#include "util/status.h"

struct conf_fixture {
    st_env *env;
    char root[400];
    void *priv; /* the including file's */
};

/* root/name in one of a few rotating buffers (valid for the next 7 calls). */
static const char *cpath(const struct conf_fixture *fx, const char *name)
{
    static char bufs[8][600];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof(bufs[0]), "%s/%s", fx->root, name);
    return b;
}

static void conf_put(st_env *env, const char *path, const char *s)
{
    tu_assert_ok(st_env_write_file(env, path, st_slice_cstr(s), 1));
}

static void conf_assert_content(st_env *env, const char *path, const void *want, size_t n)
{
    char *data = NULL;
    size_t len = 0;
    tu_assert_ok(st_env_read_file(env, path, 1u << 30, &data, &len));
    tu_assert_bytes_equal(data, len, want, n);
    assert_int_equal(data[len], '\0');
    st_free(data);
}

static void conf_pattern(char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        buf[i] = (char)((i * 131u + seed * 7u + (i >> 9)) & 0xff);
    }
}

static int conf_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists dir (sorted) and checks it against want (sorted, NULL-terminated). */
static void conf_assert_list(st_env *env, const char *dir, const char *const *want)
{
    char **names = NULL;
    int n = 0, w = 0;
    tu_assert_ok(st_env_list_dir(env, dir, &names, &n));
    if (n > 0) {
        qsort(names, (size_t)n, sizeof(*names), conf_cmp_names);
    }
    while (want[w]) {
        w++;
    }
    for (int i = 0; i < n && i < w; i++) {
        assert_string_equal(names[i], want[i]);
    }
    assert_int_equal(n, w);
    st_env_free_names(names, n);
}

static void conf_write_read(void **state)
{
    struct conf_fixture *fx = *state;
    conf_put(fx->env, cpath(fx, "a"), "hello");
    conf_assert_content(fx->env, cpath(fx, "a"), "hello", 5);
    uint64_t size = 99;
    tu_assert_ok(st_env_file_size(fx->env, cpath(fx, "a"), &size));
    assert_int_equal(size, 5);
    assert_int_equal(st_env_exists(fx->env, cpath(fx, "a")), 1);
    assert_int_equal(st_env_exists(fx->env, fx->root), 1);
    conf_put(fx->env, cpath(fx, "empty"), "");
    conf_assert_content(fx->env, cpath(fx, "empty"), "", 0);
    tu_assert_ok(st_env_write_file(fx->env, cpath(fx, "nosync"), st_slice_cstr("xy"), 0));
    conf_assert_content(fx->env, cpath(fx, "nosync"), "xy", 2);
}

/* Appends of every interesting size relative to the 64 KiB POSIX buffer. */
static void conf_appends(void **state)
{
    struct conf_fixture *fx = *state;
    static const size_t sizes[] = {0, 1, 100, 70000, 65536, 65535, 3, 200000, 1, 65536 - 4};
    size_t total = 0;
    for (size_t i = 0; i < (size_t)ST_ARRAY_LEN(sizes); i++) {
        total += sizes[i];
    }
    char *want = malloc(total);
    conf_pattern(want, total, 1);
    st_wfile *f = NULL;
    tu_assert_ok(st_env_new_writable(fx->env, cpath(fx, "big"), &f));
    size_t off = 0;
    for (size_t i = 0; i < ST_ARRAY_LEN(sizes); i++) {
        tu_assert_ok(st_wfile_append(f, want + off, sizes[i]));
        off += sizes[i];
        assert_int_equal(st_wfile_size(f), off);
        if (i == 4) {
            tu_assert_ok(st_wfile_flush(f));
        }
        if (i == 6) {
            tu_assert_ok(st_wfile_sync(f));
        }
    }
    tu_assert_ok(st_wfile_close(f));
    conf_assert_content(fx->env, cpath(fx, "big"), want, total);
    free(want);
}

static void conf_random_reads(void **state)
{
    struct conf_fixture *fx = *state;
    char data[10000], scratch[200];
    conf_pattern(data, sizeof(data), 2);
    tu_assert_ok(st_env_write_file(fx->env, cpath(fx, "r"), st_slice_make(data, sizeof(data)), 0));
    st_rfile *f = NULL;
    tu_assert_ok(st_env_new_random(fx->env, cpath(fx, "r"), &f));
    static const struct {
        uint64_t off;
        size_t n, want;
    } cases[] = {{0, 100, 100}, {5000, 200, 200}, {9990, 100, 10}, {10000, 50, 0},
                 {20000, 50, 0}, {17, 0, 0}};
    for (size_t i = 0; i < ST_ARRAY_LEN(cases); i++) {
        st_slice r;
        tu_assert_ok(st_rfile_read(f, cases[i].off, cases[i].n, scratch, &r));
        assert_int_equal(r.size, cases[i].want);
        if (r.size) {
            tu_assert_bytes_equal(r.data, r.size, data + cases[i].off, cases[i].want);
        }
    }
    st_rfile_close(f);
}

static void conf_sequential(void **state)
{
    struct conf_fixture *fx = *state;
    char data[3000], scratch[2000];
    conf_pattern(data, sizeof(data), 3);
    tu_assert_ok(st_env_write_file(fx->env, cpath(fx, "s"), st_slice_make(data, sizeof(data)), 0));
    st_sfile *f = NULL;
    st_slice r;
    tu_assert_ok(st_env_new_sequential(fx->env, cpath(fx, "s"), &f));
    tu_assert_ok(st_sfile_read(f, 100, scratch, &r));
    tu_assert_bytes_equal(r.data, r.size, data, 100);
    tu_assert_ok(st_sfile_skip(f, 1000));
    tu_assert_ok(st_sfile_read(f, 100, scratch, &r));
    tu_assert_bytes_equal(r.data, r.size, data + 1100, 100);
    tu_assert_ok(st_sfile_read(f, 2000, scratch, &r)); /* short at EOF */
    tu_assert_bytes_equal(r.data, r.size, data + 1200, 1800);
    tu_assert_ok(st_sfile_read(f, 10, scratch, &r));
    assert_int_equal(r.size, 0);
    tu_assert_ok(st_sfile_skip(f, 5000)); /* past the end is fine; reads return nothing */
    tu_assert_ok(st_sfile_read(f, 10, scratch, &r));
    assert_int_equal(r.size, 0);
    st_sfile_close(f);
}

static void conf_assert_msg_names(const char *path)
{
    if (!strstr(st_errmsg(), path)) {
        print_error("message \"%s\" does not name %s\n", st_errmsg(), path);
        fail();
    }
}

static void conf_missing(void **state)
{
    struct conf_fixture *fx = *state;
    const char *p = cpath(fx, "nope");
    st_rfile *r = (st_rfile *)1;
    st_sfile *s = (st_sfile *)1;
    st_wfile *w = (st_wfile *)1;
    uint64_t size;
    char **names = (char **)1;
    int n = 7;
    char *data = (char *)1;
    size_t len = 9;
    assert_int_equal(st_env_new_random(fx->env, p, &r), STRATA_E_NOTFOUND);
    assert_null(r);
    conf_assert_msg_names(p);
    assert_int_equal(st_env_new_sequential(fx->env, p, &s), STRATA_E_NOTFOUND);
    assert_null(s);
    assert_int_equal(st_env_file_size(fx->env, p, &size), STRATA_E_NOTFOUND);
    assert_int_equal(st_env_remove_file(fx->env, p), STRATA_E_NOTFOUND);
    conf_assert_msg_names(p);
    assert_int_equal(st_env_rename_file(fx->env, p, cpath(fx, "x")), STRATA_E_NOTFOUND);
    assert_int_equal(st_env_exists(fx->env, cpath(fx, "x")), 0);
    assert_int_equal(st_env_exists(fx->env, p), 0);
    assert_int_equal(st_env_read_file(fx->env, p, 100, &data, &len), STRATA_E_NOTFOUND);
    assert_null(data);
    assert_int_equal(len, 0);
    assert_int_equal(st_env_list_dir(fx->env, p, &names, &n), STRATA_E_NOTFOUND);
    assert_null(names);
    assert_int_equal(n, 0);
    assert_int_equal(st_env_new_writable(fx->env, cpath(fx, "nodir/f"), &w), STRATA_E_NOTFOUND);
    assert_null(w);
    assert_int_equal(st_env_remove_dir(fx->env, p), STRATA_E_NOTFOUND);
    assert_int_equal(st_env_sync_dir(fx->env, p), STRATA_E_NOTFOUND);
}

static void conf_list(void **state)
{
    struct conf_fixture *fx = *state;
    static const char *const none[] = {NULL};
    conf_assert_list(fx->env, fx->root, none);
    conf_put(fx->env, cpath(fx, "b"), "1");
    conf_put(fx->env, cpath(fx, "a"), "2");
    conf_put(fx->env, cpath(fx, "c.log"), "3");
    tu_assert_ok(st_env_create_dir(fx->env, cpath(fx, "d")));
    conf_put(fx->env, cpath(fx, "d/inner"), "4");
    static const char *const top[] = {"a", "b", "c.log", "d", NULL};
    conf_assert_list(fx->env, fx->root, top);
    static const char *const sub[] = {"inner", NULL};
    conf_assert_list(fx->env, cpath(fx, "d"), sub);
    char dirslash[600];
    snprintf(dirslash, sizeof(dirslash), "%s/d/", fx->root); /* a trailing slash is fine */
    conf_assert_list(fx->env, dirslash, sub);
    char **names = NULL;
    int n = 0;
    assert_int_not_equal(st_env_list_dir(fx->env, cpath(fx, "a"), &names, &n), 0); /* a file */
    assert_null(names);
}

static void conf_rename(void **state)
{
    struct conf_fixture *fx = *state;
    conf_put(fx->env, cpath(fx, "from"), "new");
    conf_put(fx->env, cpath(fx, "to"), "old contents");
    st_rfile *old = NULL;
    tu_assert_ok(st_env_new_random(fx->env, cpath(fx, "to"), &old));
    tu_assert_ok(st_env_rename_file(fx->env, cpath(fx, "from"), cpath(fx, "to")));
    assert_int_equal(st_env_exists(fx->env, cpath(fx, "from")), 0);
    conf_assert_content(fx->env, cpath(fx, "to"), "new", 3);
    char scratch[32];
    st_slice r;
    tu_assert_ok(st_rfile_read(old, 0, sizeof(scratch), scratch, &r)); /* replaced inode lives */
    tu_assert_bytes_equal(r.data, r.size, "old contents", 12);
    st_rfile_close(old);
    tu_assert_ok(st_env_rename_file(fx->env, cpath(fx, "to"), cpath(fx, "to"))); /* no-op */
    conf_assert_content(fx->env, cpath(fx, "to"), "new", 3);
    tu_assert_ok(st_env_rename_file(fx->env, cpath(fx, "to"), cpath(fx, "fresh")));
    static const char *const want[] = {"fresh", NULL};
    conf_assert_list(fx->env, fx->root, want);
    tu_assert_ok(st_env_create_dir(fx->env, cpath(fx, "dir")));
    assert_int_not_equal(st_env_rename_file(fx->env, cpath(fx, "fresh"), cpath(fx, "dir")), 0);
    assert_int_equal(st_env_exists(fx->env, cpath(fx, "fresh")), 1);
}

static void conf_remove_while_open(void **state)
{
    struct conf_fixture *fx = *state;
    conf_put(fx->env, cpath(fx, "f"), "still here");
    st_rfile *r = NULL;
    st_sfile *s = NULL;
    tu_assert_ok(st_env_new_random(fx->env, cpath(fx, "f"), &r));
    tu_assert_ok(st_env_new_sequential(fx->env, cpath(fx, "f"), &s));
    tu_assert_ok(st_env_remove_file(fx->env, cpath(fx, "f")));
    assert_int_equal(st_env_exists(fx->env, cpath(fx, "f")), 0);
    char scratch[32];
    st_slice got;
    tu_assert_ok(st_rfile_read(r, 6, 4, scratch, &got));
    tu_assert_bytes_equal(got.data, got.size, "here", 4);
    tu_assert_ok(st_sfile_read(s, 32, scratch, &got));
    tu_assert_bytes_equal(got.data, got.size, "still here", 10);
    st_rfile_close(r);
    st_sfile_close(s);
    st_rfile_close(NULL);
    st_sfile_close(NULL);
}

static void conf_dirs(void **state)
{
    struct conf_fixture *fx = *state;
    const char *d = cpath(fx, "d");
    tu_assert_ok(st_env_create_dir(fx->env, d));
    tu_assert_ok(st_env_create_dir(fx->env, d)); /* existing directory: success */
    assert_int_equal(st_env_exists(fx->env, d), 1);
    tu_assert_ok(st_env_sync_dir(fx->env, d));
    conf_put(fx->env, cpath(fx, "d/f"), "x");
    int rc = st_env_remove_dir(fx->env, d);
    assert_true(rc == STRATA_E_IO || rc == STRATA_E_EXISTS); /* ENOTEMPTY or EEXIST */
    assert_int_not_equal(st_env_remove_file(fx->env, d), 0); /* a directory is not a file */
    assert_int_equal(st_env_exists(fx->env, d), 1);
    tu_assert_ok(st_env_remove_file(fx->env, cpath(fx, "d/f")));
    tu_assert_ok(st_env_remove_dir(fx->env, d));
    assert_int_equal(st_env_exists(fx->env, d), 0);
    assert_int_equal(st_env_remove_dir(fx->env, d), STRATA_E_NOTFOUND);
    conf_put(fx->env, cpath(fx, "file"), "x");
    assert_int_equal(st_env_create_dir(fx->env, cpath(fx, "file")), STRATA_E_EXISTS);
    st_wfile *w = NULL;
    tu_assert_ok(st_env_create_dir(fx->env, d));
    assert_int_not_equal(st_env_new_writable(fx->env, d, &w), 0); /* a directory */
    assert_null(w);
}

static void conf_truncate(void **state)
{
    struct conf_fixture *fx = *state;
    conf_put(fx->env, cpath(fx, "t"), "abcdef");
    st_wfile *w = NULL;
    tu_assert_ok(st_env_new_writable(fx->env, cpath(fx, "t"), &w));
    uint64_t size = 99;
    tu_assert_ok(st_env_file_size(fx->env, cpath(fx, "t"), &size));
    assert_int_equal(size, 0);
    tu_assert_ok(st_wfile_append(w, "xy", 2));
    tu_assert_ok(st_wfile_close(w));
    conf_assert_content(fx->env, cpath(fx, "t"), "xy", 2);
}

static void conf_locks(void **state)
{
    struct conf_fixture *fx = *state;
    st_filelock *a = NULL, *b = NULL, *c = NULL;
    tu_assert_ok(st_env_lock_file(fx->env, cpath(fx, "LOCK"), &a));
    assert_int_equal(st_env_exists(fx->env, cpath(fx, "LOCK")), 1);
    assert_int_equal(st_env_lock_file(fx->env, cpath(fx, "LOCK"), &b), STRATA_E_BUSY);
    assert_null(b);
    conf_assert_msg_names(cpath(fx, "LOCK"));
    char other[600]; /* another spelling of the same file is still the same lock */
    snprintf(other, sizeof(other), "%s//./LOCK", fx->root);
    assert_int_equal(st_env_lock_file(fx->env, other, &b), STRATA_E_BUSY);
    tu_assert_ok(st_env_lock_file(fx->env, cpath(fx, "LOCK2"), &c));
    tu_assert_ok(st_env_unlock_file(fx->env, a));
    tu_assert_ok(st_env_lock_file(fx->env, cpath(fx, "LOCK"), &b));
    tu_assert_ok(st_env_unlock_file(fx->env, b));
    tu_assert_ok(st_env_unlock_file(fx->env, c));
    assert_int_equal(st_env_lock_file(fx->env, cpath(fx, "nodir/LOCK"), &a), STRATA_E_NOTFOUND);
}

struct conf_reader {
    st_env *env;
    st_rfile *f;
    const char *data;
    size_t len;
    unsigned seed;
    atomic_int *bad;
};

static void conf_reader_main(void *arg)
{
    struct conf_reader *r = arg;
    char scratch[512];
    unsigned x = r->seed;
    for (int i = 0; i < 300; i++) {
        x = x * 1103515245u + 12345u;
        uint64_t off = (x >> 8) % r->len;
        size_t n = (x >> 3) % sizeof(scratch);
        st_slice got;
        size_t want = ST_MIN(n, r->len - (size_t)off);
        if (st_rfile_read(r->f, off, n, scratch, &got) != 0 || got.size != want ||
            (want && memcmp(got.data, r->data + off, want) != 0)) {
            atomic_fetch_add(r->bad, 1);
        }
    }
}

/* Concurrent reads of one rfile from threads started through the env. */
static void conf_threads(void **state)
{
    struct conf_fixture *fx = *state;
    static char data[100000];
    conf_pattern(data, sizeof(data), 4);
    tu_assert_ok(st_env_write_file(fx->env, cpath(fx, "mt"), st_slice_make(data, sizeof(data)), 0));
    st_rfile *f = NULL;
    tu_assert_ok(st_env_new_random(fx->env, cpath(fx, "mt"), &f));
    atomic_int bad = 0;
    struct conf_reader rd[4];
    st_thread *t[4];
    for (int i = 0; i < 4; i++) {
        rd[i] = (struct conf_reader){fx->env, f, data, sizeof(data), (unsigned)i + 1, &bad};
        tu_assert_ok(st_env_thread_start(fx->env, conf_reader_main, &rd[i], &t[i]));
    }
    for (int i = 0; i < 4; i++) {
        st_env_thread_join(fx->env, t[i]);
    }
    assert_int_equal(atomic_load(&bad), 0);
    st_rfile_close(f);
}

static void conf_clock(void **state)
{
    struct conf_fixture *fx = *state;
    uint64_t a = st_env_now_micros(fx->env);
    st_env_sleep_micros(fx->env, 2000);
    uint64_t b = st_env_now_micros(fx->env);
    assert_true(b >= a + 2000);
    assert_true(b - a < 5u * 1000 * 1000);
}

static void conf_read_file_bounds(void **state)
{
    struct conf_fixture *fx = *state;
    char data[100];
    conf_pattern(data, sizeof(data), 5);
    tu_assert_ok(st_env_write_file(fx->env, cpath(fx, "b"), st_slice_make(data, 100), 0));
    char *got = NULL;
    size_t len = 0;
    tu_assert_ok(st_env_read_file(fx->env, cpath(fx, "b"), 100, &got, &len));
    tu_assert_bytes_equal(got, len, data, 100);
    st_free(got);
    assert_int_equal(st_env_read_file(fx->env, cpath(fx, "b"), 99, &got, &len),
                     STRATA_E_CORRUPTION);
    assert_null(got);
    conf_assert_msg_names(cpath(fx, "b"));
    conf_put(fx->env, cpath(fx, "e"), "");
    tu_assert_ok(st_env_read_file(fx->env, cpath(fx, "e"), 0, &got, &len));
    assert_int_equal(len, 0);
    st_free(got);
}

/* Every allocation failure in the helpers and the env returns STRATA_E_NOMEM and leaks nothing
 * (ASan's leak check runs at exit). */
static void conf_oom(void **state)
{
    struct conf_fixture *fx = *state;
    int done = 0;
    for (long i = 0; !done && i < 1000; i++) {
        st_alloc_fail_after(i, 0);
        int rc = st_env_write_file(fx->env, cpath(fx, "o"), st_slice_cstr("data"), 0);
        char *data = NULL;
        size_t len = 0;
        char **names = NULL;
        int n = 0;
        st_filelock *l = NULL;
        if (rc == 0) {
            rc = st_env_read_file(fx->env, cpath(fx, "o"), 100, &data, &len);
        }
        if (rc == 0) {
            rc = st_env_list_dir(fx->env, fx->root, &names, &n);
        }
        if (rc == 0) {
            rc = st_env_rename_file(fx->env, cpath(fx, "o"), cpath(fx, "o2"));
        }
        if (rc == 0 && (rc = st_env_lock_file(fx->env, cpath(fx, "L"), &l)) == 0) {
            tu_assert_ok(st_env_unlock_file(fx->env, l));
        }
        st_alloc_fail_after(-1, 0);
        st_free(data);
        st_env_free_names(names, n);
        if (rc != 0) {
            assert_int_equal(rc, STRATA_E_NOMEM);
        }
        done = rc == 0;
    }
    assert_true(done);
    conf_assert_content(fx->env, cpath(fx, "o2"), "data", 4);
}

#define CONF_TEST(f) cmocka_unit_test_setup_teardown(f, conf_setup, conf_teardown)
#define CONF_TESTS                                                                             \
    CONF_TEST(conf_write_read), CONF_TEST(conf_appends), CONF_TEST(conf_random_reads),         \
        CONF_TEST(conf_sequential), CONF_TEST(conf_missing), CONF_TEST(conf_list),             \
        CONF_TEST(conf_rename), CONF_TEST(conf_remove_while_open), CONF_TEST(conf_dirs),       \
        CONF_TEST(conf_truncate), CONF_TEST(conf_locks), CONF_TEST(conf_threads),              \
        CONF_TEST(conf_clock), CONF_TEST(conf_read_file_bounds), CONF_TEST(conf_oom)

#endif
