/* test_api_mmap.c — tables read through memory mappings (mmap_reads, the default) return exactly
 * what plain pread-based reads return, for compressed and uncompressed blocks, point reads and
 * scans alike; a table damaged or truncated while the DB was closed is reported as corruption,
 * never a crash (the mapping covers only the bytes the file has). */
#include "test_util.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "strata.h"

#define NKEYS 5000

/* Value i: compressible for even i, pseudo-random bytes (stored uncompressed) for odd i. */
static size_t make_value(int i, char *v, size_t cap)
{
    size_t n = 100 + (size_t)(i % 7) * 50;
    n = n < cap ? n : cap;
    uint32_t x = (uint32_t)i * 2654435761u + 1;
    for (size_t j = 0; j < n; j++) {
        x = x * 1103515245u + 12345u;
        v[j] = i % 2 ? (char)(x >> 16) : (char)('a' + j % 3);
    }
    return n;
}

static strata_db *open_db(const char *dir, int mmap_reads)
{
    strata_options *o = strata_options_create();
    tu_assert_ok(strata_options_from_string(o, "create_if_missing=1;info_log=0;"
                                               "write_buffer_size=256KiB;block_cache_size=0"));
    tu_assert_ok(strata_options_set_mmap_reads(o, mmap_reads));
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, dir, &db));
    strata_options_destroy(o);
    return db;
}

static void check_all(strata_db *db)
{
    char k[32], v[512];
    for (int i = 0; i < NKEYS; i++) {
        snprintf(k, sizeof(k), "key%06d", i);
        size_t n = make_value(i, v, sizeof(v));
        void *val = NULL;
        size_t vl = 0;
        tu_assert_ok(strata_get(db, NULL, k, strlen(k), &val, &vl));
        tu_assert_bytes_equal(val, vl, v, n);
        strata_free(val);
    }
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(db, NULL, &it));
    int count = 0;
    for (strata_iter_seek_to_last(it); strata_iter_valid(it); strata_iter_prev(it)) {
        count++;
    }
    tu_assert_ok(strata_iter_status(it));
    strata_iter_destroy(it);
    assert_int_equal(count, NKEYS);
}

/* Puts NKEYS keys and compacts them into tables. */
static void load_and_compact(strata_db *db)
{
    char k[32], v[512];
    for (int i = 0; i < NKEYS; i++) {
        snprintf(k, sizeof(k), "key%06d", i);
        size_t n = make_value(i, v, sizeof(v));
        tu_assert_ok(strata_put(db, NULL, k, strlen(k), v, n));
    }
    tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
}

static void test_mapped_and_plain_reads_agree(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("api-mmap");
    strata_db *db = open_db(dir, 1);
    load_and_compact(db);
    check_all(db);
    tu_assert_ok(strata_close(db));
    for (int mapped = 0; mapped < 2; mapped++) {
        db = open_db(dir, mapped);
        check_all(db);
        tu_assert_ok(strata_close(db));
    }
    tu_free_path(dir);
}

static void test_options_string(void **state)
{
    (void)state;
    strata_options *o = strata_options_create();
    char *text = strata_options_to_string(o);
    assert_non_null(text);
    assert_non_null(strstr(text, "mmap_reads=true"));
    strata_free(text);
    tu_assert_ok(strata_options_from_string(o, "mmap_reads=false"));
    text = strata_options_to_string(o);
    assert_non_null(text);
    assert_non_null(strstr(text, "mmap_reads=false"));
    strata_free(text);
    assert_int_equal(strata_options_set_mmap_reads(NULL, 1), STRATA_E_INVALID);
    strata_options_destroy(o);
}

/* The largest table file in dir (its path into path). */
static long largest_table(const char *dir, char *path, size_t cap)
{
    long best = -1;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "ls -S %s/*.sst 2>/dev/null | head -1", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    if (fgets(path, (int)cap, p)) {
        path[strcspn(path, "\n")] = '\0';
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        best = ftell(f);
        fclose(f);
    }
    pclose(p);
    return best;
}

static void test_truncated_table_is_corruption(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("api-mmap-trunc");
    strata_db *db = open_db(dir, 1);
    load_and_compact(db);
    char k[32];
    tu_assert_ok(strata_close(db));
    char path[1024];
    long size = largest_table(dir, path, sizeof(path));
    assert_true(size > 4096);
    /* Cut the data blocks short but keep a valid-looking tail: copy the last 4 KiB (index, filter,
     * footer) to an earlier offset, so the handles point past the new end of the file. */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    char tail[4096];
    fseek(f, size - (long)sizeof(tail), SEEK_SET);
    assert_int_equal(fread(tail, 1, sizeof(tail), f), sizeof(tail));
    fseek(f, size / 2, SEEK_SET);
    assert_int_equal(fwrite(tail, 1, sizeof(tail), f), sizeof(tail));
    fclose(f);
    assert_int_equal(truncate(path, size / 2 + (long)sizeof(tail)), 0);

    strata_options *o = strata_options_create();
    tu_assert_ok(strata_options_from_string(o, "info_log=0;block_cache_size=0"));
    int rc = strata_open(o, dir, &db);
    strata_options_destroy(o);
    if (rc == 0) {
        /* Reads either fail with corruption or (for keys in the intact half) succeed. */
        int bad = 0;
        for (int i = 0; i < NKEYS; i++) {
            snprintf(k, sizeof(k), "key%06d", i);
            void *val = NULL;
            size_t vl = 0;
            rc = strata_get(db, NULL, k, strlen(k), &val, &vl);
            assert_true(rc == 0 || rc == STRATA_E_CORRUPTION || rc == STRATA_E_NOTFOUND);
            bad += rc != 0;
            strata_free(val);
        }
        assert_true(bad > 0);
        tu_assert_ok(strata_close(db));
    } else {
        assert_int_equal(rc, STRATA_E_CORRUPTION);
    }
    tu_free_path(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mapped_and_plain_reads_agree),
        cmocka_unit_test(test_options_string),
        cmocka_unit_test(test_truncated_table_is_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
