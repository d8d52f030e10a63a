/* test_issue_5_swapped_blocks.c — regression for a finding of the corruption sweep
 * (tests/corruption, issue 5; seed 7, trial 181): when two adjacent data blocks of the same stored
 * size trade places in a table file, every block still passes its checksum (the checksum covers
 * the block's bytes, not where it sits), so without paranoid_checks the table is read as if
 * nothing were wrong: a get of a key from the first block lands in the other block and returns
 * NOTFOUND for a key that exists, and a scan returns keys out of order.  Expected: a CORRUPTION
 * error naming the table and offset (e.g. by checking a data block's keys against the index
 * separators that point at it, or by binding the block offset into its checksum), or correct
 * data.
 *
 * Second case: a compaction that reads such a table feeds its out-of-order keys to the table
 * builder, whose key-order assert (table_builder.c st_table_builder_add) aborts the process in
 * Debug builds — in the sweep this happened in a background compaction after a plain open; with
 * NDEBUG the out-of-order keys would be written into a new table.  Expected: the compaction fails
 * with CORRUPTION naming the input table (the merge or the compaction job checking key order), and
 * the process survives. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/env.h"
#include "strata.h"
#include "table/block.h"
#include "table/format.h"
#include "util/comparator.h"

/* after the engine headers: cmocka defines a skip() macro that clashes with env.h */
#include "test_util.h"

#define NKEYS 400

static void table_path(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    out[0] = '\0';
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".sst") == 0) {
            snprintf(out, cap, "%s/%.200s", dir, e->d_name);
        }
    }
    closedir(d);
    assert_true(out[0] != '\0');
}

/* Finds two adjacent data blocks of equal stored size; returns the first's handle in *a and the
 * user key of its first entry in key. */
static void find_equal_pair(const char *path, st_block_handle *a, char *key, size_t cap)
{
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
    st_block_contents c;
    tu_assert_ok(st_read_block(f, ft.checksum, ft.index, 1, 0, path, &c));
    st_block b;
    tu_assert_ok(st_block_init(&b, c.data, c.heap, path, ft.index.offset));
    st_block_iter it;
    st_block_iter_init(&it, &b, st_comparator_bytewise());
    st_block_handle prev = {0, 0};
    int found = 0;
    for (st_block_iter_seek_to_first(&it); st_block_iter_valid(&it) && !found;
         st_block_iter_next(&it)) {
        st_slice v = it.value;
        st_block_handle h;
        assert_true(st_handle_decode(&v, &h));
        found = prev.size == h.size && prev.offset + prev.size == h.offset;
        if (!found) {
            prev = h;
        }
    }
    st_block_iter_release(&it);
    st_block_free(&b);
    assert_true(found);
    *a = prev;
    /* the first key of block a */
    tu_assert_ok(st_read_block(f, ft.checksum, prev, 1, 0, path, &c));
    tu_assert_ok(st_block_init(&b, c.data, c.heap, path, prev.offset));
    st_block_iter_init(&it, &b, st_comparator_bytewise());
    st_block_iter_seek_to_first(&it);
    assert_true(st_block_iter_valid(&it));
    snprintf(key, cap, "%.*s", (int)(it.key.size - 8), it.key.data);
    st_block_iter_release(&it);
    st_block_free(&b);
    st_rfile_close(f);
}

static void swap_blocks(const char *path, st_block_handle a)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    char *x = malloc(a.size), *y = malloc(a.size);
    assert_int_equal(fseek(f, (long)a.offset, SEEK_SET), 0);
    assert_int_equal(fread(x, 1, a.size, f), a.size);
    assert_int_equal(fread(y, 1, a.size, f), a.size);
    assert_int_equal(fseek(f, (long)a.offset, SEEK_SET), 0);
    assert_int_equal(fwrite(y, 1, a.size, f), a.size);
    assert_int_equal(fwrite(x, 1, a.size, f), a.size);
    assert_int_equal(fclose(f), 0);
    free(x);
    free(y);
}

/* A DB with one table of equal-size blocks, two of which have traded places.  Sets *key to the
 * first key of the first moved block. */
static strata_options *make_damaged_db(const char *dir, char *key, size_t cap)
{
    strata_options *opt = strata_options_create();
    tu_assert_ok(strata_options_from_string(opt, "create_if_missing=true;compression=none;"
                                                 "block_size=256;block_restart_interval=4"));
    strata_db *db = NULL;
    tu_assert_ok(strata_open(opt, dir, &db));
    for (int i = 0; i < NKEYS; i++) {
        char k[16], v[32];
        snprintf(k, sizeof(k), "key%05d", i);
        snprintf(v, sizeof(v), "value-%05d-xxxxxxxxxx", i);
        tu_assert_ok(strata_put(db, NULL, k, strlen(k), v, strlen(v)));
    }
    tu_assert_ok(strata_flush(db, 1));
    tu_assert_ok(strata_close(db));
    char path[512];
    st_block_handle a;
    table_path(dir, path, sizeof(path));
    find_equal_pair(path, &a, key, cap);
    swap_blocks(path, a);
    return opt;
}

static void test_swapped_equal_size_blocks(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("swapped_blocks");
    char key[64];
    strata_options *opt = make_damaged_db(dir, key, sizeof(key));
    strata_db *db = NULL;
    tu_assert_ok(strata_open(opt, dir, &db)); /* paranoid_checks off */
    void *v = NULL;
    size_t vlen = 0;
    int rc = strata_get(db, NULL, key, strlen(key), &v, &vlen);
    if (rc != 0) {
        print_message("get %s: %s: %s\n", key, strata_strerror(rc), strata_errmsg());
        assert_int_equal(rc, STRATA_E_CORRUPTION); /* fails now: NOTFOUND */
        assert_non_null(strstr(strata_errmsg(), ".sst"));
    }
    strata_free(v);
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(db, NULL, &it));
    char last[64] = "";
    for (strata_iter_seek_to_first(it); strata_iter_valid(it); strata_iter_next(it)) {
        size_t kl;
        const char *k = strata_iter_key(it, &kl);
        char cur[64];
        snprintf(cur, sizeof(cur), "%.*s", (int)kl, k);
        assert_true(strcmp(last, cur) < 0); /* fails now: keys out of order */
        snprintf(last, sizeof(last), "%s", cur);
    }
    strata_iter_destroy(it);
    tu_assert_ok(strata_close(db));
    strata_options_destroy(opt);
    tu_free_path(dir);
}

static void test_compaction_over_swapped_blocks(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("swapped_compact");
    char key[64];
    strata_options *opt = make_damaged_db(dir, key, sizeof(key));
    strata_db *db = NULL;
    tu_assert_ok(strata_open(opt, dir, &db));
    tu_assert_ok(strata_put(db, NULL, "key00000", 8, "newer", 5)); /* a second input table */
    tu_assert_ok(strata_flush(db, 1));
    int rc = strata_compact_range(db, NULL, 0, NULL, 0); /* aborts now (builder assert) */
    if (rc != 0) {
        assert_int_equal(rc, STRATA_E_CORRUPTION);
        assert_non_null(strstr(strata_errmsg(), ".sst"));
    }
    strata_close(db);
    strata_options_destroy(opt);
    tu_free_path(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swapped_equal_size_blocks),
        cmocka_unit_test(test_compaction_over_swapped_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
