/* test_api_repair.c — strata_repair end to end: lost MANIFEST/CURRENT, a damaged table, a DB that
 * is open, and no resurrection of deleted data from a stale WAL. */
#include "test_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata.h"

static strata_options *small_opts(void)
{
    strata_options *o = strata_options_create();
    tu_assert_ok(strata_options_from_string(
        o, "create_if_missing=1;write_buffer_size=64KB;block_size=1KB;compression=none"));
    return o;
}

static void put_range(strata_db *db, int from, int to, const char *tag)
{
    char k[32], v[64];
    for (int i = from; i < to; i++) {
        snprintf(k, sizeof(k), "key%06d", i);
        snprintf(v, sizeof(v), "%s-value-%06d-padding-padding-padding", tag, i);
        tu_assert_ok(strata_put(db, NULL, k, strlen(k), v, strlen(v)));
    }
}

static int get_value(strata_db *db, int i, char *out, size_t cap)
{
    char k[32];
    snprintf(k, sizeof(k), "key%06d", i);
    void *v = NULL;
    size_t vl = 0;
    int rc = strata_get(db, NULL, k, strlen(k), &v, &vl);
    if (rc == 0) {
        snprintf(out, cap, "%.*s", (int)vl, (const char *)v);
        strata_free(v);
    }
    return rc;
}

/* Removes every file of dir whose name starts with prefix. */
static void remove_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            assert_int_equal(unlink(path), 0);
        }
    }
    closedir(d);
}

static void test_lost_manifest(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("repair-manifest");
    strata_options *o = small_opts();
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, dir, &db));
    put_range(db, 0, 3000, "a");
    tu_assert_ok(strata_flush(db, 1));
    put_range(db, 3000, 3100, "b"); /* only in the WAL */
    tu_assert_ok(strata_close(db));
    remove_prefixed(dir, "MANIFEST-");
    remove_prefixed(dir, "CURRENT");
    strata_options *plain = strata_options_create();
    assert_int_not_equal(strata_open(plain, dir, &db), 0);
    tu_assert_ok(strata_repair(NULL, dir));
    tu_assert_ok(strata_open(plain, dir, &db));
    char v[128], want[128];
    for (int i = 0; i < 3100; i++) {
        tu_assert_ok(get_value(db, i, v, sizeof(v)));
        snprintf(want, sizeof(want), "%s-value-%06d-padding-padding-padding", i < 3000 ? "a" : "b",
                 i);
        assert_string_equal(v, want);
    }
    tu_assert_ok(strata_close(db));
    strata_options_destroy(plain);
    strata_options_destroy(o);
    tu_free_path(dir);
}

static void test_busy_while_open(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("repair-busy");
    strata_options *o = small_opts();
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, dir, &db));
    assert_int_equal(strata_repair(o, dir), STRATA_E_BUSY);
    tu_assert_ok(strata_close(db));
    assert_int_equal(strata_repair(NULL, NULL), STRATA_E_INVALID);
    strata_options_destroy(o);
    tu_free_path(dir);
}

/* Finds the one table file in dir; returns its size (0 if none). */
static long find_table(const char *dir, char *path, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    long size = 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".sst") == 0) {
            struct stat st;
            snprintf(path, cap, "%s/%s", dir, e->d_name);
            stat(path, &st);
            size = (long)st.st_size;
        }
    }
    closedir(d);
    return size;
}

static void test_damaged_table_is_salvaged(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("repair-table");
    strata_options *o = small_opts();
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, dir, &db));
    put_range(db, 0, 2000, "a");
    tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0)); /* one table */
    tu_assert_ok(strata_close(db));
    char path[1024];
    long size = find_table(dir, path, sizeof(path));
    assert_true(size > 20000);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, size / 2, SEEK_SET); /* damage a data block in the middle */
    fputs("garbage-garbage-garbage", f);
    fclose(f);
    tu_assert_ok(strata_repair(o, dir));
    tu_assert_ok(strata_open(o, dir, &db));
    char v[128], want[128];
    int found = 0;
    for (int i = 0; i < 2000; i++) {
        int rc = get_value(db, i, v, sizeof(v));
        if (rc == STRATA_E_NOTFOUND) {
            continue;
        }
        tu_assert_ok(rc);
        snprintf(want, sizeof(want), "a-value-%06d-padding-padding-padding", i);
        assert_string_equal(v, want); /* never a value that was not written */
        found++;
    }
    print_message("salvaged %d of 2000 keys\n", found);
    assert_true(found >= 500 && found < 2000);
    tu_assert_ok(strata_close(db));
    char corrupt[1100];
    snprintf(corrupt, sizeof(corrupt), "%s.corrupt", path);
    assert_int_equal(access(corrupt, F_OK), 0);
    strata_options_destroy(o);
    tu_free_path(dir);
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    if (!a || !b) {
        return -1;
    }
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), a)) > 0) {
        fwrite(buf, 1, n, b);
    }
    fclose(a);
    fclose(b);
    return 0;
}

/* A stale WAL (already flushed, its keys deleted and compacted away since) must not bring deleted
 * keys back when the MANIFEST is still readable. */
static void test_stale_wal_does_not_resurrect(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("repair-stale");
    strata_options *o = small_opts();
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, dir, &db));
    tu_assert_ok(strata_put(db, NULL, "ghost", 5, "boo", 3));
    char logpath[1024] = "", saved[1100];
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".log") == 0) {
            snprintf(logpath, sizeof(logpath), "%s/%s", dir, e->d_name);
        }
    }
    closedir(d);
    assert_true(logpath[0] != '\0');
    snprintf(saved, sizeof(saved), "%s.saved", dir);
    assert_int_equal(copy_file(logpath, saved), 0);
    tu_assert_ok(strata_flush(db, 1));
    tu_assert_ok(strata_delete(db, NULL, "ghost", 5));
    tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
    tu_assert_ok(strata_close(db));
    assert_int_equal(copy_file(saved, logpath), 0); /* the stale WAL reappears */
    unlink(saved);
    tu_assert_ok(strata_repair(o, dir));
    tu_assert_ok(strata_open(o, dir, &db));
    void *v = NULL;
    size_t vl = 0;
    assert_int_equal(strata_get(db, NULL, "ghost", 5, &v, &vl), STRATA_E_NOTFOUND);
    tu_assert_ok(strata_close(db));
    strata_options_destroy(o);
    tu_free_path(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lost_manifest),
        cmocka_unit_test(test_busy_while_open),
        cmocka_unit_test(test_damaged_table_is_salvaged),
        cmocka_unit_test(test_stale_wal_does_not_resurrect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
