/* test_table_cache.c — the table cache: point lookups and iterators through it; eviction beyond
 * max_open_files while an iterator keeps its table pinned (the pinned table stays readable, the
 * memory charged stays bounded); a cached table survives removal of its file until evicted;
 * open errors (missing file, garbage file) name the file and reach iterators through status;
 * out-of-memory on open.  Every test runs twice: on the in-memory env (plain reads) and on the
 * POSIX env with mmap_reads (zero-copy reads from a mapping, which must outlive the file's
 * removal just as an open descriptor does). */
#include <stdio.h>
#include <string.h>

#include "db/table_cache.h"
#include "table_fixture.h"
#include "test_util.h"
#include "util/alloc.h"

static int g_mapped; /* the current pass: POSIX env with mmap_reads */

typedef struct fx {
    st_env *env;
    char *db;
    st_table_cache *tc;
    st_file_meta *files[8];
} fx;

static const st_read_flags rf = {1, 1};

/* Table i holds keys "t<i>k00".."t<i>k19" at seq 100 + i with values "v<i>-<j>". */
static void setup_tables(fx *f, int ntables, int max_open)
{
    memset(f, 0, sizeof(*f));
    if (g_mapped) {
        f->env = st_env_posix();
        f->db = tu_mkdtemp("table-cache");
    } else {
        f->env = st_env_mem_create();
        f->db = st_strdup("/db");
        tu_assert_ok(st_env_create_dir(f->env, f->db));
    }
    for (int i = 0; i < ntables; i++) {
        char keys[20][16], vals[20][16];
        tf_entry e[20];
        for (int j = 0; j < 20; j++) {
            snprintf(keys[j], sizeof(keys[j]), "t%dk%02d", i, j);
            snprintf(vals[j], sizeof(vals[j]), "v%d-%d", i, j);
            e[j] = (tf_entry){keys[j], (uint64_t)(100 + i), ST_TYPE_VALUE, vals[j]};
        }
        f->files[i] = tf_build(f->env, f->db, (uint64_t)(10 + i), e, 20);
    }
    st_table_read_options topts = {st_comparator_bytewise(), NULL, NULL, "ignored", 0, g_mapped, NULL, 0};
    tu_assert_ok(st_table_cache_create(f->env, f->db, &topts, max_open, &f->tc));
}

static void teardown(fx *f)
{
    st_table_cache_destroy(f->tc);
    for (int i = 0; i < 8; i++) {
        st_file_meta_unref(f->files[i]);
    }
    if (g_mapped) {
        tu_free_path(f->db);
    } else {
        f->env->ops->destroy(f->env);
        st_free(f->db);
    }
}

typedef struct got {
    char key[32];
    char val[32];
    int calls;
} got;

static int on_found(void *ctx, st_slice key, st_slice value, st_pin *pin)
{
    (void)pin;
    got *g = ctx;
    snprintf(g->key, sizeof(g->key), "%.*s", (int)(key.size - 8), key.data);
    snprintf(g->val, sizeof(g->val), "%.*s", (int)value.size, value.data);
    g->calls++;
    return 0;
}

static int lookup(fx *f, int table, const char *ukey, got *g)
{
    st_buf k = ST_BUF_INIT;
    st_ikey_append(&k, st_slice_cstr(ukey), ST_MAX_SEQ, ST_TYPE_FOR_SEEK);
    memset(g, 0, sizeof(*g));
    const st_file_meta *m = f->files[table];
    int rc = st_table_cache_get(f->tc, &rf, m->number, m->file_size, st_buf_slice(&k), on_found,
                                g);
    st_buf_free(&k);
    return rc;
}

static void test_get(void **state)
{
    (void)state;
    fx f;
    setup_tables(&f, 3, 10);
    got g;
    tu_assert_ok(lookup(&f, 1, "t1k07", &g));
    assert_int_equal(g.calls, 1);
    assert_string_equal(g.key, "t1k07");
    assert_string_equal(g.val, "v1-7");
    tu_assert_ok(lookup(&f, 2, "t2k00", &g)); /* first key */
    assert_string_equal(g.val, "v2-0");
    tu_assert_ok(lookup(&f, 0, "t0k07x", &g)); /* between keys: the next entry */
    assert_int_equal(g.calls, 1);
    assert_string_equal(g.key, "t0k08");
    tu_assert_ok(lookup(&f, 0, "t9", &g)); /* past the end */
    assert_int_equal(g.calls, 0);
    assert_true(st_table_cache_memory_usage(f.tc) > 0);
    teardown(&f);
}

static int count_entries(st_iter *it)
{
    int n = 0;
    for (st_iter_seek_to_first(it); st_iter_valid(it); st_iter_next(it)) {
        n++;
    }
    tu_assert_ok(st_iter_status(it));
    return n;
}

static void test_eviction_with_pinned_iterator(void **state)
{
    (void)state;
    fx f;
    setup_tables(&f, 6, 2);
    got g;
    tu_assert_ok(lookup(&f, 0, "t0k00", &g));
    size_t one = st_table_cache_memory_usage(f.tc); /* all tables are the same shape */
    assert_true(one > 0);
    st_iter *it = st_table_cache_iter(f.tc, &rf, f.files[0]->number, f.files[0]->file_size);
    assert_non_null(it);
    st_iter_seek_to_first(it);
    assert_true(st_iter_valid(it));
    /* Touch every other table: table 0 stays open (pinned) while the rest cycle through the
     * remaining slot. */
    for (int round = 0; round < 3; round++) {
        for (int i = 1; i < 6; i++) {
            tu_assert_ok(lookup(&f, i, "t0", &g));
            assert_true(st_table_cache_memory_usage(f.tc) <= 3 * one);
        }
    }
    /* Remove table 0's file: a reopen would fail, so reading it proves it stayed open. */
    char *fname = st_filename(f.db, ST_FILE_TABLE, f.files[0]->number);
    tu_assert_ok(st_env_remove_file(f.env, fname));
    assert_int_equal(count_entries(it), 20);
    st_iter_destroy(it); /* the last handle: table 0 is now an ordinary LRU entry ... */
    for (int i = 1; i < 6; i++) {
        tu_assert_ok(lookup(&f, i, "t0", &g)); /* ... and is evicted by newer tables */
    }
    assert_true(st_table_cache_memory_usage(f.tc) <= 2 * one);
    int rc = lookup(&f, 0, "t0k00", &g);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(tu_errmsg(), "000010.sst"));
    st_free(fname);
    teardown(&f);
}

static void test_cached_until_evicted(void **state)
{
    (void)state;
    fx f;
    setup_tables(&f, 2, 10);
    got g;
    tu_assert_ok(lookup(&f, 1, "t1k03", &g));
    char *fname = st_filename(f.db, ST_FILE_TABLE, f.files[1]->number);
    tu_assert_ok(st_env_remove_file(f.env, fname));
    tu_assert_ok(lookup(&f, 1, "t1k03", &g)); /* still open in the cache */
    assert_string_equal(g.val, "v1-3");
    st_table_cache_evict(f.tc, f.files[1]->number);
    assert_int_equal(lookup(&f, 1, "t1k03", &g), STRATA_E_NOTFOUND);
    st_table_cache_evict(f.tc, 12345); /* evicting an unknown number is harmless */
    st_free(fname);
    teardown(&f);
}

static void test_find(void **state)
{
    (void)state;
    fx f;
    setup_tables(&f, 1, 10);
    st_table *t = NULL;
    st_pin pin;
    tu_assert_ok(st_table_cache_find(f.tc, f.files[0]->number, f.files[0]->file_size, &t, &pin));
    assert_non_null(t);
    assert_int_equal(st_table_get_props(t)->num_entries, 20);
    st_table *t2 = NULL;
    st_pin pin2;
    tu_assert_ok(st_table_cache_find(f.tc, f.files[0]->number, f.files[0]->file_size, &t2, &pin2));
    assert_ptr_equal(t, t2); /* the same open reader */
    st_pin_release(&pin);
    st_pin_release(&pin2);
    teardown(&f);
}

static void test_open_errors(void **state)
{
    (void)state;
    fx f;
    setup_tables(&f, 1, 10);
    /* Missing file: lookups fail, iterators carry the error. */
    got g;
    st_buf k = ST_BUF_INIT;
    st_ikey_append(&k, st_slice_cstr("a"), 1, ST_TYPE_VALUE);
    int rc = st_table_cache_get(f.tc, &rf, 77, 1000, st_buf_slice(&k), on_found, &g);
    assert_int_equal(rc, STRATA_E_NOTFOUND);
    assert_non_null(strstr(tu_errmsg(), "000077.sst"));
    st_iter *it = st_table_cache_iter(f.tc, &rf, 77, 1000);
    assert_non_null(it);
    st_iter_seek_to_first(it);
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), STRATA_E_NOTFOUND);
    st_iter_destroy(it);
    /* A garbage file: corruption, naming the file. */
    char garbage[4096];
    memset(garbage, 'x', sizeof(garbage));
    char *gname = st_filename(f.db, ST_FILE_TABLE, 78);
    tu_assert_ok(st_env_write_file(f.env, gname, st_slice_make(garbage, 4096), 0));
    st_free(gname);
    rc = st_table_cache_get(f.tc, &rf, 78, 4096, st_buf_slice(&k), on_found, &g);
    assert_int_equal(rc, STRATA_E_CORRUPTION);
    assert_non_null(strstr(tu_errmsg(), "000078.sst"));
    /* A wrong (too small) size is caught too. */
    rc = st_table_cache_get(f.tc, &rf, 78, 3, st_buf_slice(&k), on_found, &g);
    assert_int_not_equal(rc, 0);
    st_buf_free(&k);
    teardown(&f);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    fx f;
    setup_tables(&f, 1, 10);
    int ok = 0;
    st_buf k = ST_BUF_INIT;
    st_ikey_append(&k, st_slice_cstr("t0k05"), ST_MAX_SEQ, ST_TYPE_FOR_SEEK);
    const st_file_meta *m = f.files[0];
    for (long n = 0; n < 500 && !ok; n++) {
        st_table_cache_evict(f.tc, m->number);
        got g;
        memset(&g, 0, sizeof(g));
        st_alloc_fail_after(n, 0);
        int rc = st_table_cache_get(f.tc, &rf, m->number, m->file_size, st_buf_slice(&k),
                                    on_found, &g);
        st_iter *it = rc ? NULL
                         : st_table_cache_iter(f.tc, &rf, f.files[0]->number,
                                               f.files[0]->file_size);
        st_alloc_fail_after(-1, 0);
        if (rc != 0 && rc != STRATA_E_NOMEM) {
            print_error("fail at %ld: %d %s\n", n, rc, tu_errmsg());
            fail();
        }
        if (rc == 0) {
            assert_string_equal(g.val, "v0-5");
        }
        if (it) {
            ok = st_iter_status(it) == 0;
            st_iter_destroy(it);
        }
    }
    assert_true(ok);
    st_buf_free(&k);
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_eviction_with_pinned_iterator),
        cmocka_unit_test(test_cached_until_evicted),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_out_of_memory),
    };
    int failed = cmocka_run_group_tests_name("in-memory env", tests, NULL, NULL);
    g_mapped = 1;
    return failed + cmocka_run_group_tests_name("posix env, mmap_reads", tests, NULL, NULL);
}
