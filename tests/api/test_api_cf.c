/* test_api_cf.c — column families through the public API (issue #13): creating, listing,
 * opening and dropping families; keyspace isolation; batches spanning families; per-family
 * comparator and merge operator; flushing one family and reopening (the MANIFEST's per-family
 * log numbers keep a flushed family's WAL records from being replayed twice — checked with merge
 * counters, which a second replay would double); files of a dropped family going away once the
 * last iterator over it is gone; and argument errors. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata.h"
#include "test_util.h"

typedef struct cfx {
    char *dir;
    strata_options *opt;
    strata_db *db;
    strata_merge_operator *mo;
} cfx;

static int setup(void **state)
{
    cfx *f = calloc(1, sizeof(*f));
    f->dir = tu_mkdtemp("cf");
    f->opt = strata_options_create();
    strata_options_set_create_if_missing(f->opt, 1);
    strata_options_set_write_buffer_size(f->opt, 64 << 10);
    strata_options_set_info_log(f->opt, 0);
    f->mo = strata_merge_operator_uint64_add();
    tu_assert_ok(strata_open(f->opt, f->dir, &f->db));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    cfx *f = *state;
    strata_close(f->db);
    strata_options_destroy(f->opt);
    strata_merge_operator_destroy(f->mo);
    tu_rmdir_all(f->dir);
    tu_free_path(f->dir);
    free(f);
    return 0;
}

static void reopen(cfx *f)
{
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    tu_assert_ok(strata_open(f->opt, f->dir, &f->db));
}

static void put_cf(strata_db *db, strata_cf *cf, const char *k, const char *v)
{
    tu_assert_ok(strata_put_cf(db, NULL, cf, k, strlen(k), v, strlen(v)));
}

/* want NULL: the key must be absent. */
static void expect_cf(strata_db *db, strata_cf *cf, const char *k, const char *want)
{
    void *v = NULL;
    size_t vl = 0;
    int rc = strata_get_cf(db, NULL, cf, k, strlen(k), &v, &vl);
    if (!want) {
        assert_int_equal(rc, STRATA_E_NOTFOUND);
        return;
    }
    tu_assert_ok(rc);
    tu_assert_bytes_equal(v, vl, want, strlen(want));
    strata_free(v);
}

static uint64_t get_u64(strata_db *db, strata_cf *cf, const char *k)
{
    void *v = NULL;
    size_t vl = 0;
    tu_assert_ok(strata_get_cf(db, NULL, cf, k, strlen(k), &v, &vl));
    assert_int_equal(vl, 8);
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--) {
        x = (x << 8) | ((unsigned char *)v)[i];
    }
    strata_free(v);
    return x;
}

static void merge_u64(strata_db *db, strata_cf *cf, const char *k, uint64_t x)
{
    char b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (char)(x >> (8 * i));
    }
    tu_assert_ok(strata_merge_cf(db, NULL, cf, k, strlen(k), b, 8));
}

static int list_has(const strata_options *opt, const char *dir, const char *name, size_t *count)
{
    char **names = NULL;
    size_t n = 0;
    tu_assert_ok(strata_cf_list(opt, dir, &names, &n));
    int found = 0;
    assert_true(n >= 1);
    assert_string_equal(names[0], "default");
    for (size_t i = 0; i < n; i++) {
        found |= strcmp(names[i], name) == 0;
    }
    strata_cf_list_free(names, n);
    if (count) {
        *count = n;
    }
    return found;
}

static void test_isolation_and_reopen(void **state)
{
    cfx *f = *state;
    strata_cf *a = NULL, *b = NULL;
    tu_assert_ok(strata_cf_create(f->db, "a", NULL, &a));
    tu_assert_ok(strata_cf_create(f->db, "b", NULL, &b));
    assert_string_equal(strata_cf_name(a), "a");
    assert_true(strata_cf_id(a) != 0 && strata_cf_id(b) != strata_cf_id(a));
    assert_ptr_equal(strata_cf_handle(f->db, "a"), a);
    assert_ptr_equal(strata_cf_default(f->db), strata_cf_handle(f->db, "default"));
    put_cf(f->db, a, "k", "in-a");
    put_cf(f->db, b, "k", "in-b");
    tu_assert_ok(strata_put(f->db, NULL, "k", 1, "in-default", 10));
    put_cf(f->db, a, "only-a", "1");
    expect_cf(f->db, a, "k", "in-a");
    expect_cf(f->db, b, "k", "in-b");
    expect_cf(f->db, strata_cf_default(f->db), "k", "in-default");
    expect_cf(f->db, b, "only-a", NULL);
    expect_cf(f->db, strata_cf_default(f->db), "only-a", NULL);
    /* An iterator sees its own family only. */
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create_cf(f->db, NULL, a, &it));
    int n = 0;
    for (strata_iter_seek_to_first(it); strata_iter_valid(it); strata_iter_next(it)) {
        n++;
    }
    assert_int_equal(n, 2);
    strata_iter_destroy(it);
    size_t count = 0;
    assert_true(list_has(f->opt, f->dir, "b", &count));
    assert_int_equal(count, 3);
    /* Reopen replays the one WAL into three families. */
    reopen(f);
    a = strata_cf_handle(f->db, "a");
    b = strata_cf_handle(f->db, "b");
    assert_non_null(a);
    assert_non_null(b);
    expect_cf(f->db, a, "k", "in-a");
    expect_cf(f->db, b, "k", "in-b");
    expect_cf(f->db, strata_cf_default(f->db), "k", "in-default");
    /* And from tables. */
    tu_assert_ok(strata_flush(f->db, 1));
    reopen(f);
    expect_cf(f->db, strata_cf_handle(f->db, "b"), "k", "in-b");
    expect_cf(f->db, strata_cf_handle(f->db, "a"), "only-a", "1");
}

/* A family flushed on its own moves its log number; the others' writes in the same WALs must
 * still be replayed, and the flushed family's must not be replayed again. */
static void test_flush_one_family_no_double_replay(void **state)
{
    cfx *f = *state;
    strata_options *co = strata_options_copy(f->opt);
    strata_options_set_merge_operator(co, f->mo);
    strata_cf *c = NULL;
    tu_assert_ok(strata_cf_create(f->db, "counters", co, &c));
    strata_cf *d = strata_cf_default(f->db);
    for (int i = 0; i < 50; i++) {
        merge_u64(f->db, c, "n", 1);
        put_cf(f->db, d, "d", "x");
    }
    tu_assert_ok(strata_flush_cf(f->db, c, 1));
    for (int i = 0; i < 7; i++) {
        merge_u64(f->db, c, "n", 1);
    }
    put_cf(f->db, d, "d2", "y");
    assert_int_equal(get_u64(f->db, c, "n"), 57);
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    const char *names[] = {"counters"};
    const strata_options *opts[] = {co};
    strata_cf *h[1] = {NULL};
    tu_assert_ok(strata_open_cf(f->opt, f->dir, 1, names, opts, h, &f->db));
    assert_int_equal(get_u64(f->db, h[0], "n"), 57);
    expect_cf(f->db, strata_cf_default(f->db), "d2", "y");
    /* Once more, after flushing only the default family. */
    merge_u64(f->db, h[0], "n", 3);
    tu_assert_ok(strata_flush_cf(f->db, strata_cf_default(f->db), 1));
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    tu_assert_ok(strata_open_cf(f->opt, f->dir, 1, names, opts, h, &f->db));
    assert_int_equal(get_u64(f->db, h[0], "n"), 60);
    strata_options_destroy(co);
}

static void test_batch_across_families(void **state)
{
    cfx *f = *state;
    strata_cf *a = NULL, *b = NULL;
    tu_assert_ok(strata_cf_create(f->db, "a", NULL, &a));
    tu_assert_ok(strata_cf_create(f->db, "b", NULL, &b));
    strata_batch *batch = strata_batch_create();
    tu_assert_ok(strata_batch_put_cf(batch, a, "x", 1, "1", 1));
    tu_assert_ok(strata_batch_put_cf(batch, b, "x", 1, "2", 1));
    tu_assert_ok(strata_batch_put(batch, "x", 1, "0", 1));
    tu_assert_ok(strata_batch_delete_range_cf(batch, b, "y", 1, "z", 1));
    tu_assert_ok(strata_batch_put_cf(batch, b, "y1", 2, "gone", 4)); /* after the range delete */
    tu_assert_ok(strata_write(f->db, NULL, batch));
    expect_cf(f->db, a, "x", "1");
    expect_cf(f->db, b, "x", "2");
    expect_cf(f->db, b, "y1", "gone");
    expect_cf(f->db, strata_cf_default(f->db), "x", "0");
    /* A batch naming a dropped family is refused whole. */
    strata_batch_clear(batch);
    tu_assert_ok(strata_batch_put(batch, "w", 1, "w", 1));
    tu_assert_ok(strata_batch_put_cf(batch, a, "w", 1, "w", 1));
    tu_assert_ok(strata_cf_drop(f->db, a));
    assert_int_equal(strata_write(f->db, NULL, batch), STRATA_E_INVALID);
    expect_cf(f->db, strata_cf_default(f->db), "w", NULL);
    strata_batch_destroy(batch);
    reopen(f);
    assert_null(strata_cf_handle(f->db, "a"));
    expect_cf(f->db, strata_cf_handle(f->db, "b"), "x", "2");
    expect_cf(f->db, strata_cf_handle(f->db, "b"), "y1", "gone");
}

static int rev_cmp(void *s, const char *a, size_t al, const char *b, size_t bl)
{
    (void)s;
    size_t n = al < bl ? al : bl;
    int c = memcmp(a, b, n);
    return -(c ? c : (al > bl) - (al < bl));
}

static const char *rev_name(void *s)
{
    (void)s;
    return "test.reverse";
}

static void test_per_family_comparator(void **state)
{
    cfx *f = *state;
    strata_comparator *rev = strata_comparator_create(NULL, NULL, rev_cmp, rev_name);
    strata_options *ro = strata_options_copy(f->opt);
    strata_options_set_comparator(ro, rev);
    strata_cf *r = NULL;
    tu_assert_ok(strata_cf_create(f->db, "rev", ro, &r));
    const char *keys[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        put_cf(f->db, r, keys[i], keys[i]);
        put_cf(f->db, strata_cf_default(f->db), keys[i], keys[i]);
    }
    tu_assert_ok(strata_flush(f->db, 1));
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create_cf(f->db, NULL, r, &it));
    strata_iter_seek_to_first(it);
    size_t kl;
    assert_true(strata_iter_valid(it));
    assert_memory_equal(strata_iter_key(it, &kl), "c", 1);
    strata_iter_destroy(it);
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    /* Opening the family with another comparator is refused. */
    assert_int_equal(strata_open(f->opt, f->dir, &f->db), STRATA_E_INVALID);
    assert_non_null(strstr(strata_errmsg(), "comparator mismatch"));
    const char *names[] = {"rev"};
    const strata_options *opts[] = {ro};
    strata_cf *h[1];
    tu_assert_ok(strata_open_cf(f->opt, f->dir, 1, names, opts, h, &f->db));
    expect_cf(f->db, h[0], "b", "b");
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    strata_options_destroy(ro);
    strata_comparator_destroy(rev);
}

static int count_tables(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        n += l > 4 && strcmp(e->d_name + l - 4, ".sst") == 0;
    }
    if (d) {
        closedir(d);
    }
    return n;
}

static void test_drop_keeps_readers_then_deletes(void **state)
{
    cfx *f = *state;
    strata_cf *t = NULL;
    tu_assert_ok(strata_cf_create(f->db, "tmp", NULL, &t));
    char k[16];
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "k%03d", i);
        put_cf(f->db, t, k, "v");
    }
    tu_assert_ok(strata_flush_cf(f->db, t, 1));
    int before = count_tables(f->dir);
    assert_true(before >= 1);
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create_cf(f->db, NULL, t, &it));
    tu_assert_ok(strata_cf_drop(f->db, t));
    /* Calls through the handle fail; the iterator still reads. */
    assert_int_equal(strata_put_cf(f->db, NULL, t, "x", 1, "y", 1), STRATA_E_INVALID);
    void *v;
    size_t vl;
    assert_int_equal(strata_get_cf(f->db, NULL, t, "k000", 4, &v, &vl), STRATA_E_INVALID);
    assert_int_equal(strata_cf_drop(f->db, t), STRATA_E_INVALID);
    assert_null(strata_cf_handle(f->db, "tmp"));
    assert_false(list_has(f->opt, f->dir, "tmp", NULL));
    int n = 0;
    for (strata_iter_seek_to_first(it); strata_iter_valid(it); strata_iter_next(it)) {
        n++;
    }
    assert_int_equal(n, 100);
    assert_int_equal(count_tables(f->dir), before);
    strata_iter_destroy(it);
    /* The next obsolete-file pass (here: a flush of another family) deletes its tables. */
    put_cf(f->db, strata_cf_default(f->db), "z", "z");
    tu_assert_ok(strata_flush(f->db, 1));
    assert_int_equal(count_tables(f->dir), 1);
    /* The name can be used again: a new, empty family. */
    strata_cf *t2 = NULL;
    tu_assert_ok(strata_cf_create(f->db, "tmp", NULL, &t2));
    assert_true(strata_cf_id(t2) > strata_cf_id(t));
    expect_cf(f->db, t2, "k000", NULL);
    reopen(f);
    expect_cf(f->db, strata_cf_handle(f->db, "tmp"), "k000", NULL);
}

static void test_compaction_per_family(void **state)
{
    cfx *f = *state;
    strata_cf *c = NULL;
    tu_assert_ok(strata_cf_create(f->db, "big", NULL, &c));
    char k[32], val[200];
    memset(val, 'v', sizeof(val) - 1);
    val[sizeof(val) - 1] = 0;
    for (int i = 0; i < 3000; i++) {
        snprintf(k, sizeof(k), "key%06d", (i * 7919) % 3000);
        put_cf(f->db, c, k, val);
    }
    tu_assert_ok(strata_compact_range_cf(f->db, c, NULL, 0, NULL, 0));
    uint64_t l0 = 99, dl0 = 99;
    tu_assert_ok(strata_property_int_cf(f->db, c, "strata.num-files-at-level0", &l0));
    tu_assert_ok(strata_property_int(f->db, "strata.num-files-at-level0", &dl0));
    assert_int_equal(l0, 0);
    assert_int_equal(dl0, 0);
    uint64_t keys = 0;
    tu_assert_ok(strata_property_int_cf(f->db, c, "strata.estimate-num-keys", &keys));
    assert_true(keys >= 2900 && keys <= 3100);
    char *stats = NULL;
    tu_assert_ok(strata_property_cf(f->db, c, "strata.levelstats", &stats));
    strata_free(stats);
    expect_cf(f->db, c, "key000123", val);
    expect_cf(f->db, strata_cf_default(f->db), "key000123", NULL);
    reopen(f);
    expect_cf(f->db, strata_cf_handle(f->db, "big"), "key002999", val);
}

static void test_open_cf_create_and_missing(void **state)
{
    cfx *f = *state;
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    const char *names[] = {"default", "x", "y"};
    strata_cf *h[3];
    tu_assert_ok(strata_open_cf(f->opt, f->dir, 3, names, NULL, h, &f->db));
    assert_ptr_equal(h[0], strata_cf_default(f->db));
    put_cf(f->db, h[2], "k", "y");
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    strata_options *no = strata_options_copy(f->opt);
    strata_options_set_create_if_missing(no, 0);
    const char *missing[] = {"nope"};
    assert_int_equal(strata_open_cf(no, f->dir, 1, missing, NULL, h, &f->db), STRATA_E_NOTFOUND);
    assert_null(f->db);
    tu_assert_ok(strata_open_cf(no, f->dir, 2, names, NULL, h, &f->db));
    expect_cf(f->db, strata_cf_handle(f->db, "y"), "k", "y");
    strata_options_destroy(no);
}

static void test_argument_errors(void **state)
{
    cfx *f = *state;
    strata_cf *a = NULL;
    assert_int_equal(strata_cf_create(f->db, "", NULL, &a), STRATA_E_INVALID);
    assert_int_equal(strata_cf_create(NULL, "a", NULL, &a), STRATA_E_INVALID);
    assert_int_equal(strata_cf_create(f->db, "default", NULL, &a), STRATA_E_EXISTS);
    tu_assert_ok(strata_cf_create(f->db, "a", NULL, &a));
    strata_cf *dup = a;
    assert_int_equal(strata_cf_create(f->db, "a", NULL, &dup), STRATA_E_EXISTS);
    assert_null(dup);
    assert_int_equal(strata_cf_drop(f->db, strata_cf_default(f->db)), STRATA_E_INVALID);
    assert_int_equal(strata_cf_drop(f->db, NULL), STRATA_E_INVALID);
    assert_int_equal(strata_put_cf(f->db, NULL, NULL, "k", 1, "v", 1), STRATA_E_INVALID);
    assert_null(strata_cf_handle(f->db, "missing"));
    assert_null(strata_cf_handle(NULL, "a"));
    assert_int_equal(strata_batch_put_cf(NULL, a, "k", 1, "v", 1), STRATA_E_INVALID);
    strata_batch *b = strata_batch_create();
    assert_int_equal(strata_batch_put_cf(b, NULL, "k", 1, "v", 1), STRATA_E_INVALID);
    strata_batch_destroy(b);
    /* A handle of another DB. */
    char *dir2 = tu_mkdtemp("cf2");
    strata_db *db2 = NULL;
    tu_assert_ok(strata_open(f->opt, dir2, &db2));
    assert_int_equal(strata_put_cf(db2, NULL, a, "k", 1, "v", 1), STRATA_E_INVALID);
    assert_non_null(strstr(strata_errmsg(), "another DB"));
    strata_close(db2);
    tu_rmdir_all(dir2);
    tu_free_path(dir2);
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(strata_cf_list(NULL, "/nonexistent/strata-db", &names, &n),
                     STRATA_E_NOTFOUND);
    assert_int_equal(strata_cf_list(NULL, NULL, &names, &n), STRATA_E_INVALID);
    strata_cf_list_free(NULL, 0);
}

/* verify reads every family's tables; repair refuses to fold families into one keyspace. */
static void test_verify_and_repair(void **state)
{
    cfx *f = *state;
    strata_cf *a = NULL;
    tu_assert_ok(strata_cf_create(f->db, "a", NULL, &a));
    put_cf(f->db, a, "k", "v");
    put_cf(f->db, strata_cf_default(f->db), "k", "v");
    tu_assert_ok(strata_flush(f->db, 1));
    strata_integrity_report rep;
    tu_assert_ok(strata_verify_report(f->db, STRATA_VERIFY_TABLES, &rep));
    assert_int_equal(rep.files_checked, 2);
    strata_integrity_report_free(&rep);
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    assert_int_equal(strata_repair(f->opt, f->dir), STRATA_E_NOTSUP);
    assert_non_null(strstr(strata_errmsg(), "column families"));
    tu_assert_ok(strata_open(f->opt, f->dir, &f->db)); /* untouched */
    expect_cf(f->db, strata_cf_handle(f->db, "a"), "k", "v");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_isolation_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_one_family_no_double_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_across_families, setup, teardown),
        cmocka_unit_test_setup_teardown(test_per_family_comparator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_keeps_readers_then_deletes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_per_family, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_cf_create_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_argument_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_and_repair, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
