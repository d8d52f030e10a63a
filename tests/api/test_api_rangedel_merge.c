/* test_api_rangedel_merge.c — deterministic whole-engine tests of the issue #11 operations
 * through the public API: range and prefix deletes, merge operators (uint64add, string_append,
 * custom ones that fail), single delete, multi-get, the batch forms and strata_batch_iterate_ops,
 * and NULL arguments.  Compaction filters and TTL are in test_api_ttl_filter.c.
 *
 * Every case checks the latest state and, where it matters, a snapshot, in the memtable, after a
 * flush, after compact_range and after a reopen, because each of those moves the data into a
 * different reader (memtable, level-0 table, deeper tables, recovery).  DBs live in private
 * in-memory envs (one test uses a private POSIX env) whose wall clock is a test variable, so
 * expiry needs no sleeping.  The expected results follow the comments of include/strata.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_util.h"
#include "ops_fixture.h"
#include "strata.h"
#include "test_util.h"

static int key_of(char *buf, int i)
{
    return snprintf(buf, 16, "k%03d", i);
}

static void put_i(strata_db *db, int i, const char *val)
{
    char k[16];
    int kl = key_of(k, i);
    tu_assert_ok(strata_put(db, NULL, k, (size_t)kl, val, strlen(val)));
}

static void expect_i(strata_db *db, const strata_read_options *ro, int i, const char *val)
{
    char k[16];
    key_of(k, i);
    eu_expect(db, ro, k, val);
}




static void put_u64(strata_db *db, const char *key, uint64_t v)
{
    char val[8];
    le64(val, v);
    tu_assert_ok(strata_put(db, NULL, key, strlen(key), val, 8));
}




/* Keys 0..n-1 with value "v<i>". */
static void fill(strata_db *db, int n, const char *prefix)
{
    char v[32];
    for (int i = 0; i < n; i++) {
        snprintf(v, sizeof(v), "%s%d", prefix, i);
        put_i(db, i, v);
    }
}

static void expect_filled(strata_db *db, const strata_read_options *ro, int from, int to,
                          const char *prefix, int present)
{
    char v[32];
    for (int i = from; i < to; i++) {
        snprintf(v, sizeof(v), "%s%d", prefix, i);
        expect_i(db, ro, i, present ? v : NULL);
    }
}

static void delete_range_i(strata_db *db, int a, int b)
{
    char ka[16], kb[16];
    int al = key_of(ka, a), bl = key_of(kb, b);
    tu_assert_ok(strata_delete_range(db, NULL, ka, (size_t)al, kb, (size_t)bl));
}

/* ---- range deletes --------------------------------------------------------------------------- */

static void test_delete_range_basic(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    fill(f->db, 100, "v");
    delete_range_i(f->db, 10, 20);
    expect_filled(f->db, NULL, 0, 10, "v", 1);
    expect_filled(f->db, NULL, 10, 20, "v", 0);
    expect_filled(f->db, NULL, 20, 100, "v", 1);
    assert_int_equal(count_keys(f->db, NULL), 90);

    /* Empty and inverted ranges delete nothing. */
    delete_range_i(f->db, 30, 30);
    delete_range_i(f->db, 60, 40);
    tu_assert_ok(strata_delete_range(f->db, NULL, "", 0, "", 0));
    assert_int_equal(count_keys(f->db, NULL), 90);
    expect_i(f->db, NULL, 30, "v30");
    expect_i(f->db, NULL, 50, "v50");

    /* A range over no key, and one from the empty key (the smallest) to "k005". */
    tu_assert_ok(strata_delete_range(f->db, NULL, "a", 1, "b", 1));
    tu_assert_ok(strata_delete_range(f->db, NULL, "", 0, "k005", 4));
    expect_filled(f->db, NULL, 0, 5, "v", 0);
    expect_filled(f->db, NULL, 5, 10, "v", 1);
    /* The end is exclusive, the begin inclusive. */
    tu_assert_ok(strata_delete_range(f->db, NULL, "k090", 4, "k095", 4));
    expect_i(f->db, NULL, 89, "v89");
    expect_i(f->db, NULL, 90, NULL);
    expect_i(f->db, NULL, 94, NULL);
    expect_i(f->db, NULL, 95, "v95");

    /* A put after the delete, inside the span, is visible; its neighbours stay deleted. */
    put_i(f->db, 15, "new15");
    expect_i(f->db, NULL, 15, "new15");
    expect_i(f->db, NULL, 14, NULL);
    expect_i(f->db, NULL, 16, NULL);
    /* A range delete of everything, then nothing is left. */
    tu_assert_ok(strata_delete_range(f->db, NULL, "", 0, "\xff", 1));
    assert_int_equal(count_keys(f->db, NULL), 0);
    expect_i(f->db, NULL, 15, NULL);
}

/* Data spread over a deeper level, level 0 and the memtable; the range delete written in the
 * memtable must hide all of them, and keep doing so as it is flushed and compacted. */
static void test_delete_range_flush_compact_reopen(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    fill(f->db, 300, "old");
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    fill(f->db, 200, "mid");
    tu_assert_ok(strata_flush(f->db, 1));
    fill(f->db, 100, "new");
    delete_range_i(f->db, 50, 250);
    put_i(f->db, 120, "after");
    for (int pass = 0; pass < 4; pass++) {
        expect_filled(f->db, NULL, 0, 50, "new", 1);
        expect_filled(f->db, NULL, 50, 120, "x", 0);
        expect_i(f->db, NULL, 120, "after");
        expect_filled(f->db, NULL, 121, 250, "x", 0);
        expect_filled(f->db, NULL, 250, 300, "old", 1);
        assert_int_equal(count_keys(f->db, NULL), 50 + 1 + 50);
        if (pass == 0) {
            tu_assert_ok(strata_flush(f->db, 1));
        } else if (pass == 1) {
            tu_assert_ok(strata_compact_range(f->db, "k100", 4, "k200", 4));
        } else if (pass == 2) {
            fx_reopen(f);
            tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
        }
    }
    /* A range delete in a table (not the memtable) over keys written later stays behind them. */
    delete_range_i(f->db, 0, 10);
    tu_assert_ok(strata_flush(f->db, 1));
    put_i(f->db, 5, "later");
    tu_assert_ok(strata_flush(f->db, 1));
    expect_i(f->db, NULL, 5, "later");
    expect_i(f->db, NULL, 4, NULL);
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    fx_reopen(f);
    expect_i(f->db, NULL, 5, "later");
    expect_i(f->db, NULL, 6, NULL);
    /* A range delete whose span is in the WAL only survives a reopen. */
    delete_range_i(f->db, 250, 260);
    fx_reopen(f);
    expect_filled(f->db, NULL, 250, 260, "old", 0);
    expect_filled(f->db, NULL, 260, 300, "old", 1);
}

static void test_delete_range_snapshot(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    fill(f->db, 100, "v");
    tu_assert_ok(strata_flush(f->db, 1));
    const strata_snapshot *s = snap_take(f->db);
    assert_non_null(s);
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_snapshot(ro, s);
    delete_range_i(f->db, 20, 80);
    put_i(f->db, 50, "after");
    expect_filled(f->db, ro, 0, 100, "v", 1);
    assert_int_equal(count_keys(f->db, ro), 100);
    assert_int_equal(count_keys(f->db, NULL), 41);
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    /* The compaction must keep what the snapshot sees. */
    expect_filled(f->db, ro, 0, 100, "v", 1);
    assert_int_equal(count_keys(f->db, ro), 100);
    expect_filled(f->db, NULL, 20, 50, "v", 0);
    expect_i(f->db, NULL, 50, "after");
    expect_i(f->db, ro, 50, "v50");
    strata_read_options_destroy(ro);
    snap_drop(f->db, s);
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    assert_int_equal(count_keys(f->db, NULL), 41);
    expect_filled(f->db, NULL, 51, 80, "v", 0);
    expect_filled(f->db, NULL, 80, 100, "v", 1);
}

/* Expected keys of test_delete_range_iter: 0..99 minus [20,40) and [60,80), plus 30. */
static int iter_expected(char keys[][16], const char **ptrs)
{
    int n = 0;
    for (int i = 0; i < 100; i++) {
        if ((i >= 20 && i < 40 && i != 30) || (i >= 60 && i < 80)) {
            continue;
        }
        key_of(keys[n], i);
        ptrs[n] = keys[n];
        n++;
    }
    return n;
}

static void check_seek(strata_db *db, const char *target, int for_prev, const char *want)
{
    strata_iter *it = NULL;
    it = iter_open(db, NULL);
    if (for_prev) {
        strata_iter_seek_for_prev(it, target, strlen(target));
    } else {
        strata_iter_seek(it, target, strlen(target));
    }
    if (!want) {
        assert_false(strata_iter_valid(it));
    } else {
        assert_true(strata_iter_valid(it));
        size_t kl;
        const char *k = strata_iter_key(it, &kl);
        tu_assert_bytes_equal(k, kl, want, strlen(want));
        /* One step on in the same direction and back again lands on the same key. */
        for_prev ? strata_iter_prev(it) : strata_iter_next(it);
        if (strata_iter_valid(it)) {
            for_prev ? strata_iter_next(it) : strata_iter_prev(it);
            assert_true(strata_iter_valid(it));
            k = strata_iter_key(it, &kl);
            tu_assert_bytes_equal(k, kl, want, strlen(want));
        }
    }
    tu_assert_ok(strata_iter_status(it));
    iter_close(it);
}

static void test_delete_range_iter(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    fill(f->db, 100, "v");
    tu_assert_ok(strata_flush(f->db, 1));
    delete_range_i(f->db, 20, 40);
    tu_assert_ok(strata_flush(f->db, 1));
    delete_range_i(f->db, 60, 80);
    put_i(f->db, 30, "v30");
    char keys[100][16];
    const char *ptrs[100];
    int n = iter_expected(keys, ptrs);
    for (int pass = 0; pass < 3; pass++) {
        expect_scan(f->db, NULL, NULL, ptrs, NULL, n);
        /* Bounds inside and across the deleted spans. */
        const char *in1[] = {"k030"};
        expect_scan(f->db, "k020", "k040", in1, NULL, 1);
        expect_scan(f->db, "k061", "k079", in1, NULL, 0);
        const char *in2[] = {"k018", "k019", "k030", "k040"};
        expect_scan(f->db, "k018", "k041", in2, NULL, 4);
        const char *in3[] = {"k059", "k080"};
        expect_scan(f->db, "k059", "k081", in3, NULL, 2);
        check_seek(f->db, "k020", 0, "k030");
        check_seek(f->db, "k031", 0, "k040");
        check_seek(f->db, "k065", 0, "k080");
        check_seek(f->db, "k065", 1, "k059");
        check_seek(f->db, "k029", 1, "k019");
        check_seek(f->db, "k039", 1, "k030");
        check_seek(f->db, "k0999", 1, "k099");
        check_seek(f->db, "k1", 0, NULL);
        if (pass == 0) {
            tu_assert_ok(strata_flush(f->db, 1));
        } else if (pass == 1) {
            tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
        }
    }
}

static void test_delete_prefix(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    const char *keys[] = {"a",   "a/",       "a/1",          "a/2",          "a0",  "ab",
                          "b/1", "\xff\xff", "\xff\xff\x01", "\xff\xff\xff", "\xff"};
    for (int i = 0; i < 11; i++) {
        tu_assert_ok(eu_put(f->db, keys[i], "x"));
    }
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_delete_prefix(f->db, NULL, "a/", 2));
    const char *left1[] = {"a",    "a0",       "ab",           "b/1",
                           "\xff", "\xff\xff", "\xff\xff\x01", "\xff\xff\xff"};
    expect_scan(f->db, NULL, NULL, left1, NULL, 8);
    /* A prefix of 0xff bytes has no successor: the header does not say whether that is a range
     * with no upper end ("\xff" stays) or INVALID; either is accepted, nothing else. */
    int rc = strata_delete_prefix(f->db, NULL, "\xff\xff", 2);
    if (rc == STRATA_E_INVALID) {
        print_message("delete_prefix of an all-0xff prefix: INVALID; deleting by range instead\n");
        tu_assert_ok(strata_delete_range(f->db, NULL, "\xff\xff", 2, "\xff\xff\xff\xff", 4));
        tu_assert_ok(strata_delete(f->db, NULL, "\xff\xff\xff\xff", 4));
    } else {
        tu_assert_ok(rc);
    }
    const char *left2[] = {"a", "a0", "ab", "b/1", "\xff"};
    expect_scan(f->db, NULL, NULL, left2, NULL, 5);
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    expect_scan(f->db, NULL, NULL, left2, NULL, 5);
    /* A put under the prefix after the delete is visible. */
    tu_assert_ok(eu_put(f->db, "a/3", "y"));
    eu_expect(f->db, NULL, "a/3", "y");
    eu_expect(f->db, NULL, "a/1", NULL);
    /* plen 0 has no end key: refused with INVALID, nothing deleted (strata.h). */
    int before = count_keys(f->db, NULL);
    assert_int_equal(strata_delete_prefix(f->db, NULL, "", 0), STRATA_E_INVALID);
    assert_int_equal(count_keys(f->db, NULL), before);
    fx_reopen(f);
    assert_int_equal(count_keys(f->db, NULL), before);
}

static int reverse_compare(void *state, const char *a, size_t alen, const char *b, size_t blen)
{
    (void)state;
    return -mr_compare(a, alen, b, blen);
}

static const char *reverse_name(void *state)
{
    (void)state;
    return "test.reverse";
}

/* delete_prefix needs the bytewise order; delete_range follows the comparator's order. */
static void test_delete_prefix_needs_bytewise(void **state)
{
    struct fx *f = *state;
    strata_comparator *rev = strata_comparator_create(NULL, NULL, reverse_compare, reverse_name);
    assert_non_null(rev);
    tu_assert_ok(strata_options_set_comparator(f->opt, rev));
    fx_open(f);
    tu_assert_ok(eu_put(f->db, "a1", "x"));
    tu_assert_ok(eu_put(f->db, "b1", "x"));
    tu_assert_ok(eu_put(f->db, "c1", "x"));
    assert_int_equal(strata_delete_prefix(f->db, NULL, "a", 1), STRATA_E_INVALID);
    eu_expect(f->db, NULL, "a1", "x");
    /* In reverse order "c1" < "b1" < "a1": [c1, a1) covers c1 and b1. */
    tu_assert_ok(strata_delete_range(f->db, NULL, "c1", 2, "a1", 2));
    eu_expect(f->db, NULL, "c1", NULL);
    eu_expect(f->db, NULL, "b1", NULL);
    eu_expect(f->db, NULL, "a1", "x");
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    strata_comparator_destroy(rev);
}

/* ---- merge operators ------------------------------------------------------------------------- */

static void test_merge_uint64_add(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    merge_u64(f->db, "c", 5); /* no base value: starts from 0 */
    expect_u64(f->db, NULL, "c", 5);
    merge_u64(f->db, "c", 7);
    expect_u64(f->db, NULL, "c", 12);
    put_u64(f->db, "b", 100); /* with a base value */
    merge_u64(f->db, "b", 1);
    merge_u64(f->db, "b", 2);
    expect_u64(f->db, NULL, "b", 103);
    merge_u64(f->db, "w", UINT64_MAX); /* wraps at 2^64 */
    merge_u64(f->db, "w", 3);
    expect_u64(f->db, NULL, "w", 2);

    const strata_snapshot *s = snap_take(f->db);
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_snapshot(ro, s);
    for (int pass = 0; pass < 4; pass++) {
        merge_u64(f->db, "c", 1);
        merge_u64(f->db, "b", 10);
        if (pass == 0) {
            tu_assert_ok(strata_flush(f->db, 1)); /* operands in a table, base in the same */
        } else if (pass == 1) {
            tu_assert_ok(strata_flush(f->db, 1));
            tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
        } else if (pass == 2) {
            tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
        }
        expect_u64(f->db, NULL, "c", 12 + (uint64_t)pass + 1);
        expect_u64(f->db, NULL, "b", 103 + 10 * ((uint64_t)pass + 1));
        expect_u64(f->db, ro, "c", 12); /* a snapshot keeps the sum as of its creation */
        expect_u64(f->db, ro, "b", 103);
    }
    strata_read_options_destroy(ro);
    snap_drop(f->db, s);
    /* The iterator returns merged values too. */
    const char *keys[] = {"b", "c", "w"};
    expect_scan(f->db, NULL, NULL, keys, NULL, 3);

    /* Merge after a delete starts from 0 again; so after a range delete. */
    tu_assert_ok(eu_del(f->db, "b"));
    merge_u64(f->db, "b", 4);
    expect_u64(f->db, NULL, "b", 4);
    tu_assert_ok(strata_delete_range(f->db, NULL, "a", 1, "d", 1));
    eu_expect(f->db, NULL, "c", NULL);
    merge_u64(f->db, "c", 9);
    expect_u64(f->db, NULL, "c", 9);
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    expect_u64(f->db, NULL, "c", 9);
    eu_expect(f->db, NULL, "b", NULL);
    /* A put over merged operands replaces them. */
    merge_u64(f->db, "w", 1);
    put_u64(f->db, "w", 50);
    merge_u64(f->db, "w", 1);
    expect_u64(f->db, NULL, "w", 51);
    fx_reopen(f);
    expect_u64(f->db, NULL, "c", 9);
    expect_u64(f->db, NULL, "w", 51);
}

/* Many operands over many flushes: compaction may combine them (partial or full merges) but the
 * sum must not change. */
static void test_merge_many_operands(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    uint64_t sum[20] = {0};
    char key[16];
    for (int round = 0; round < 40; round++) {
        for (int k = 0; k < 20; k++) {
            snprintf(key, sizeof(key), "cnt%02d", k);
            merge_u64(f->db, key, (uint64_t)(round * 20 + k));
            sum[k] += (uint64_t)(round * 20 + k);
        }
        if (round % 5 == 4) {
            tu_assert_ok(strata_flush(f->db, 1));
        }
        if (round % 13 == 12) {
            tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
        }
    }
    for (int k = 0; k < 20; k++) {
        snprintf(key, sizeof(key), "cnt%02d", k);
        expect_u64(f->db, NULL, key, sum[k]);
    }
    fx_reopen(f);
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    for (int k = 0; k < 20; k++) {
        snprintf(key, sizeof(key), "cnt%02d", k);
        expect_u64(f->db, NULL, key, sum[k]);
    }
}

static void test_merge_string_append(void **state)
{
    struct fx *f = *state;
    strata_merge_operator *sa = strata_merge_operator_string_append(',');
    assert_non_null(sa);
    tu_assert_ok(strata_options_set_merge_operator(f->opt, sa));
    fx_open(f);
    tu_assert_ok(strata_merge(f->db, NULL, "nobase", 6, "a", 1));
    tu_assert_ok(strata_merge(f->db, NULL, "nobase", 6, "b", 1));
    tu_assert_ok(eu_put(f->db, "base", "x"));
    tu_assert_ok(strata_merge(f->db, NULL, "base", 4, "a", 1));
    eu_expect(f->db, NULL, "nobase", "a,b");
    eu_expect(f->db, NULL, "base", "x,a");
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_merge(f->db, NULL, "base", 4, "b", 1));
    tu_assert_ok(strata_merge(f->db, NULL, "nobase", 6, "", 0)); /* an empty operand */
    eu_expect(f->db, NULL, "base", "x,a,b");
    eu_expect(f->db, NULL, "nobase", "a,b,");
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    eu_expect(f->db, NULL, "base", "x,a,b");
    tu_assert_ok(eu_del(f->db, "base"));
    tu_assert_ok(strata_merge(f->db, NULL, "base", 4, "c", 1));
    eu_expect(f->db, NULL, "base", "c");
    fx_reopen(f);
    eu_expect(f->db, NULL, "base", "c");
    eu_expect(f->db, NULL, "nobase", "a,b,");
    const char *keys[] = {"base", "nobase"};
    const char *vals[] = {"c", "a,b,"};
    expect_scan(f->db, NULL, NULL, keys, vals, 2);
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    strata_merge_operator_destroy(sa);
}

/* The merge operator's name is recorded: another name is refused at open; none lets the DB open
 * but reads of keys with operands fail with STRATA_E_MERGE. */
static void test_merge_operator_name_and_missing(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    merge_u64(f->db, "m", 3);
    tu_assert_ok(eu_put(f->db, "plain", "p"));
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;

    strata_merge_operator *sa = strata_merge_operator_string_append(',');
    tu_assert_ok(strata_options_set_merge_operator(f->opt, sa));
    strata_db *db = NULL;
    assert_int_equal(strata_open(f->opt, "/rdmdb", &db), STRATA_E_INVALID);
    assert_null(db);
    assert_true(strata_errmsg()[0] != '\0');

    tu_assert_ok(strata_options_set_merge_operator(f->opt, NULL));
    fx_open(f);
    void *v = NULL;
    size_t vl = 0;
    assert_int_equal(strata_get(f->db, NULL, "m", 1, &v, &vl), STRATA_E_MERGE);
    assert_null(v);
    eu_expect(f->db, NULL, "plain", "p");
    const void *keys[2] = {"m", "plain"};
    size_t kls[2] = {1, 5}, vls[2];
    void *vals[2] = {NULL, NULL};
    int st[2];
    assert_int_equal(strata_multi_get(f->db, NULL, 2, keys, kls, vals, vls, st), STRATA_E_MERGE);
    assert_int_equal(st[0], STRATA_E_MERGE);
    assert_null(vals[0]);
    tu_assert_ok(st[1]);
    tu_assert_bytes_equal(vals[1], vls[1], "p", 1);
    strata_free(vals[1]);
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;

    /* The original operator still opens it and reads the sum. */
    tu_assert_ok(strata_options_set_merge_operator(f->opt, f->mo));
    fx_open(f);
    expect_u64(f->db, NULL, "m", 3);
    strata_merge_operator_destroy(sa);
}

/* A DB created without a merge operator: strata_merge either is refused or writes an operand that
 * fails reads with STRATA_E_MERGE (the header documents the read side only). */
static void test_merge_without_operator(void **state)
{
    struct fx *f = *state;
    tu_assert_ok(strata_options_set_merge_operator(f->opt, NULL));
    fx_open(f);
    char op[8];
    le64(op, 1);
    int rc = strata_merge(f->db, NULL, "k", 1, op, 8);
    if (rc == STRATA_OK) {
        void *v = NULL;
        size_t vl;
        assert_int_equal(strata_get(f->db, NULL, "k", 1, &v, &vl), STRATA_E_MERGE);
        tu_assert_ok(strata_flush(f->db, 1));
        assert_int_equal(strata_get(f->db, NULL, "k", 1, &v, &vl), STRATA_E_MERGE);
        /* A put over the operand makes the key readable again. */
        tu_assert_ok(eu_put(f->db, "k", "v"));
        eu_expect(f->db, NULL, "k", "v");
    } else {
        assert_true(rc == STRATA_E_MERGE || rc == STRATA_E_INVALID);
    }
}

struct fail_state {
    _Atomic int full_calls;
};

/* Concatenates the operands (no delimiter) unless one of them is "bad". */
static int fail_full_merge(void *state, const char *key, size_t klen, const char *existing,
                           size_t elen, const char *const *operands, const size_t *olens, int n,
                           char **new_value, size_t *new_vlen)
{
    struct fail_state *s = state;
    (void)key;
    (void)klen;
    atomic_fetch_add(&s->full_calls, 1);
    size_t total = existing ? elen : 0;
    for (int i = 0; i < n; i++) {
        if (olens[i] == 3 && memcmp(operands[i], "bad", 3) == 0) {
            return -1;
        }
        total += olens[i];
    }
    char *out = malloc(total ? total : 1);
    if (!out) {
        return -1;
    }
    size_t at = 0;
    if (existing && elen) {
        memcpy(out, existing, elen);
        at = elen;
    }
    for (int i = 0; i < n; i++) {
        if (olens[i]) {
            memcpy(out + at, operands[i], olens[i]);
            at += olens[i];
        }
    }
    *new_value = out;
    *new_vlen = total;
    return 0;
}

static void test_merge_failing_operator(void **state)
{
    struct fx *f = *state;
    static struct fail_state fs;
    atomic_store(&fs.full_calls, 0);
    strata_merge_operator *mo =
        strata_merge_operator_create(&fs, NULL, fail_full_merge, NULL, "test.failing");
    assert_non_null(mo);
    tu_assert_ok(strata_options_set_merge_operator(f->opt, mo));
    fx_open(f);
    tu_assert_ok(strata_merge(f->db, NULL, "good", 4, "ab", 2));
    tu_assert_ok(strata_merge(f->db, NULL, "good", 4, "cd", 2));
    tu_assert_ok(eu_put(f->db, "bad", "base"));
    tu_assert_ok(strata_merge(f->db, NULL, "bad", 3, "bad", 3));
    eu_expect(f->db, NULL, "good", "abcd");
    void *v = NULL;
    size_t vl = 0;
    assert_int_equal(strata_get(f->db, NULL, "bad", 3, &v, &vl), STRATA_E_MERGE);
    assert_null(v);
    strata_pinned *p = NULL;
    assert_int_equal(strata_get_pinned(f->db, NULL, "bad", 3, &p), STRATA_E_MERGE);
    const void *keys[3] = {"good", "bad", "none"};
    size_t kls[3] = {4, 3, 4}, vls[3];
    void *vals[3] = {NULL, NULL, NULL};
    int st[3];
    assert_int_equal(strata_multi_get(f->db, NULL, 3, keys, kls, vals, vls, st), STRATA_E_MERGE);
    tu_assert_ok(st[0]);
    tu_assert_bytes_equal(vals[0], vls[0], "abcd", 4);
    assert_int_equal(st[1], STRATA_E_MERGE);
    assert_null(vals[1]);
    assert_int_equal(st[2], STRATA_E_NOTFOUND);
    assert_null(vals[2]);
    strata_free(vals[0]);
    assert_true(atomic_load(&fs.full_calls) > 0);
    /* A put over the failing operand heals the key. */
    tu_assert_ok(eu_put(f->db, "bad", "fixed"));
    eu_expect(f->db, NULL, "bad", "fixed");
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    strata_merge_operator_destroy(mo);
}

/* uint64add refuses values and operands that are not 8 bytes. */
static void test_merge_uint64_bad_sizes(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    tu_assert_ok(eu_put(f->db, "s", "short"));
    merge_u64(f->db, "s", 1);
    void *v = NULL;
    size_t vl = 0;
    assert_int_equal(strata_get(f->db, NULL, "s", 1, &v, &vl), STRATA_E_MERGE);
    tu_assert_ok(strata_merge(f->db, NULL, "o", 1, "abc", 3));
    assert_int_equal(strata_get(f->db, NULL, "o", 1, &v, &vl), STRATA_E_MERGE);
    assert_null(v);
}

/* ---- single delete --------------------------------------------------------------------------- */

static void test_single_delete(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    tu_assert_ok(eu_put(f->db, "a", "1"));
    tu_assert_ok(strata_single_delete(f->db, NULL, "a", 1));
    eu_expect(f->db, NULL, "a", NULL);
    /* The put in a table, the single delete in the memtable, then compaction meets both. */
    tu_assert_ok(eu_put(f->db, "b", "1"));
    tu_assert_ok(eu_put(f->db, "c", "1"));
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_single_delete(f->db, NULL, "b", 1));
    const strata_snapshot *s = snap_take(f->db);
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_snapshot(ro, s);
    tu_assert_ok(strata_single_delete(f->db, NULL, "c", 1));
    eu_expect(f->db, NULL, "b", NULL);
    eu_expect(f->db, NULL, "c", NULL);
    eu_expect(f->db, ro, "c", "1");
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    eu_expect(f->db, NULL, "b", NULL);
    eu_expect(f->db, NULL, "c", NULL);
    eu_expect(f->db, ro, "c", "1"); /* the snapshot keeps the put */
    eu_expect(f->db, ro, "b", NULL);
    strata_read_options_destroy(ro);
    snap_drop(f->db, s);
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    assert_int_equal(count_keys(f->db, NULL), 0);
    /* Put again after the single delete, and single delete again. */
    tu_assert_ok(eu_put(f->db, "b", "2"));
    eu_expect(f->db, NULL, "b", "2");
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_single_delete(f->db, NULL, "b", 1));
    fx_reopen(f);
    eu_expect(f->db, NULL, "b", NULL);
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    eu_expect(f->db, NULL, "b", NULL);
    /* Correct use never counts as misuse (if the property exists). */
    uint64_t misuse = 0;
    if (strata_property_int(f->db, "strata.single-delete-misuse", &misuse) == 0) {
        assert_int_equal(misuse, 0);
    }
}

/* Two put / single delete pairs of one key, each put seen by a snapshot, compacted while the
 * snapshots live and again after they are released: neither put may come back (found by the
 * model test, seed 24302). */
static void test_single_delete_snapshots(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    tu_assert_ok(eu_put(f->db, "k", "v1"));
    const strata_snapshot *s1 = snap_take(f->db);
    tu_assert_ok(strata_single_delete(f->db, NULL, "k", 1));
    tu_assert_ok(eu_put(f->db, "k", "v2"));
    const strata_snapshot *s2 = snap_take(f->db);
    tu_assert_ok(strata_single_delete(f->db, NULL, "k", 1));
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_snapshot(ro, s1);
    eu_expect(f->db, ro, "k", "v1");
    strata_read_options_set_snapshot(ro, s2);
    eu_expect(f->db, ro, "k", "v2");
    strata_read_options_destroy(ro);
    eu_expect(f->db, NULL, "k", NULL);
    snap_drop(f->db, s1);
    snap_drop(f->db, s2);
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    eu_expect(f->db, NULL, "k", NULL);
    fx_reopen(f);
    eu_expect(f->db, NULL, "k", NULL);
}

/* ---- multi-get ---------------------------------------------------------------------------------
 */

static void test_multi_get(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    fill(f->db, 50, "v");
    tu_assert_ok(strata_flush(f->db, 1));
    put_i(f->db, 10, "mem10");
    tu_assert_ok(eu_del(f->db, "k011"));
    const strata_snapshot *s = snap_take(f->db);
    put_i(f->db, 12, "after");
    delete_range_i(f->db, 20, 30);
    const char *names[] = {"k012", "k010", "zzz", "k011", "k010", "k025", "", "k049", "k012"};
    enum { N = 9 };
    const void *keys[N];
    size_t kls[N], vls[N];
    void *vals[N];
    int st[N];
    for (int i = 0; i < N; i++) {
        keys[i] = names[i];
        kls[i] = strlen(names[i]);
        vals[i] = (void *)1; /* must be overwritten */
    }
    const char *want[N] = {"after", "mem10", NULL, NULL, "mem10", NULL, NULL, "v49", "after"};
    const char *want_snap[N] = {"v12", "mem10", NULL, NULL, "mem10", "v25", NULL, "v49", "v12"};
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_snapshot(ro, s);
    for (int pass = 0; pass < 4; pass++) {
        const char **w = pass % 2 ? want_snap : want;
        tu_assert_ok(strata_multi_get(f->db, pass % 2 ? ro : NULL, N, keys, kls, vals, vls, st));
        for (int i = 0; i < N; i++) {
            if ((w[i] ? 0 : STRATA_E_NOTFOUND) != st[i]) {
                print_error("pass %d: multi_get key %d \"%s\": status %d, expected %s\n", pass, i,
                            names[i], st[i], w[i] ? w[i] : "NOTFOUND");
                if (st[i] == 0) {
                    eu_print_bytes("value", vals[i], vls[i]);
                }
            }
            if (!w[i]) {
                assert_int_equal(st[i], STRATA_E_NOTFOUND);
                assert_null(vals[i]);
            } else {
                tu_assert_ok(st[i]);
                tu_assert_bytes_equal(vals[i], vls[i], w[i], strlen(w[i]));
                strata_free(vals[i]);
            }
            vals[i] = (void *)1;
        }
        if (pass == 1) {
            tu_assert_ok(strata_flush(f->db, 1));
            tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
        }
    }
    strata_read_options_destroy(ro);
    snap_drop(f->db, s);
    /* n == 0 is fine; an empty value comes back as a non-NULL buffer. */
    tu_assert_ok(strata_multi_get(f->db, NULL, 0, keys, kls, vals, vls, st));
    tu_assert_ok(strata_put(f->db, NULL, "empty", 5, "", 0));
    keys[0] = "empty";
    kls[0] = 5;
    tu_assert_ok(strata_multi_get(f->db, NULL, 1, keys, kls, vals, vls, st));
    tu_assert_ok(st[0]);
    assert_non_null(vals[0]);
    assert_int_equal(vls[0], 0);
    strata_free(vals[0]);
}

/* ---- batches ------------------------------------------------------------------------------------
 */

struct op_log {
    int n;
    int ops[16];
    char keys[16][16];
    char vals[16][16];
    uint64_t exp[16];
};

static int log_op(void *ctx, int op, const char *key, size_t klen, const char *value, size_t vlen,
                  uint64_t expire)
{
    struct op_log *l = ctx;
    if (l->n >= 16 || klen >= 16 || vlen >= 16) {
        return 1;
    }
    l->ops[l->n] = op;
    memcpy(l->keys[l->n], key, klen);
    l->keys[l->n][klen] = '\0';
    if (value) {
        memcpy(l->vals[l->n], value, vlen);
    }
    l->vals[l->n][vlen] = '\0';
    l->exp[l->n] = expire;
    l->n++;
    return 0;
}

static int stop_at_second(void *ctx, int op, const char *key, size_t klen, const char *value,
                          size_t vlen, uint64_t expire)
{
    int *n = ctx;
    (void)op;
    (void)key;
    (void)klen;
    (void)value;
    (void)vlen;
    (void)expire;
    return ++*n == 2 ? 42 : 0;
}

static void count_put(void *ctx, const char *k, size_t kl, const char *v, size_t vl)
{
    (void)k;
    (void)kl;
    (void)v;
    (void)vl;
    ((int *)ctx)[0]++;
}

static void count_del(void *ctx, const char *k, size_t kl)
{
    (void)k;
    (void)kl;
    ((int *)ctx)[1]++;
}

static void test_batch_ops(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    fill(f->db, 20, "v");
    char one[8];
    le64(one, 1);
    strata_batch *b = strata_batch_create();
    tu_assert_ok(strata_batch_put(b, "k001", 4, "p", 1));
    tu_assert_ok(strata_batch_delete(b, "k002", 4));
    tu_assert_ok(strata_batch_single_delete(b, "k003", 4));
    tu_assert_ok(strata_batch_delete_range(b, "k005", 4, "k010", 4));
    tu_assert_ok(strata_batch_merge(b, "cnt", 3, one, 8));
    tu_assert_ok(strata_batch_put_ttl(b, "k007", 4, "ttl", 3, 30));
    tu_assert_ok(strata_batch_merge(b, "cnt", 3, one, 8));
    assert_int_equal(strata_batch_count(b), 7);

    struct op_log l;
    memset(&l, 0, sizeof(l));
    tu_assert_ok(strata_batch_iterate_ops(b, &l, log_op));
    assert_int_equal(l.n, 7);
    const int want_ops[] = {STRATA_OP_PUT,          STRATA_OP_DELETE, STRATA_OP_SINGLE_DELETE,
                            STRATA_OP_DELETE_RANGE, STRATA_OP_MERGE,  STRATA_OP_PUT_TTL,
                            STRATA_OP_MERGE};
    const char *want_keys[] = {"k001", "k002", "k003", "k005", "cnt", "k007", "cnt"};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(l.ops[i], want_ops[i]);
        assert_string_equal(l.keys[i], want_keys[i]);
    }
    assert_string_equal(l.vals[0], "p");
    assert_string_equal(l.vals[3], "k010");
    assert_string_equal(l.vals[5], "ttl");
    /* The value reported for the TTL put: a batch has no env, so it cannot read the env's fake
     * clock when the operation is added; T0 + 30 s (the env's clock) or about real now + 30 s are
     * accepted here.  What counts is when the value expires: by the env's clock, as for
     * strata_put_ttl (checked below). */
    if (l.exp[5] != T0 + 30 * SEC) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t real = (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec / 1000 + 30 * SEC;
        print_message(
            "batch put_ttl expiry %llu is not by the env's clock (T0 + 30 s = %llu); "
            "real clock + 30 s = %llu\n",
            (unsigned long long)l.exp[5], (unsigned long long)(T0 + 30 * SEC),
            (unsigned long long)real);
        assert_true(l.exp[5] <= real && l.exp[5] + 60 * SEC > real);
    }
    assert_int_equal(l.exp[0], 0);
    int stopped = 0;
    assert_int_equal(strata_batch_iterate_ops(b, &stopped, stop_at_second), 42);
    assert_int_equal(stopped, 2);
    /* The old walk sees puts and deletes (single deletes included) only. */
    int counts[2] = {0, 0};
    tu_assert_ok(strata_batch_iterate(b, counts, count_put, count_del));
    assert_int_equal(counts[0], 1);
    assert_int_equal(counts[1], 2);

    /* Applied in order: the TTL put inside the deleted span comes after the range delete. */
    tu_assert_ok(strata_write(f->db, NULL, b));
    expect_i(f->db, NULL, 1, "p");
    expect_i(f->db, NULL, 2, NULL);
    expect_i(f->db, NULL, 3, NULL);
    expect_filled(f->db, NULL, 5, 7, "v", 0);
    expect_i(f->db, NULL, 7, "ttl");
    expect_filled(f->db, NULL, 8, 10, "v", 0);
    expect_i(f->db, NULL, 10, "v10");
    expect_u64(f->db, NULL, "cnt", 2);
    /* Merges appended to another batch (b itself holds a single delete: not written twice). */
    strata_batch *m = strata_batch_create();
    tu_assert_ok(strata_batch_merge(m, "cnt", 3, one, 8));
    tu_assert_ok(strata_batch_merge(m, "cnt", 3, one, 8));
    strata_batch *b2 = strata_batch_create();
    tu_assert_ok(strata_batch_append(b2, m));
    assert_int_equal(strata_batch_count(b2), 2);
    tu_assert_ok(strata_write(f->db, NULL, b2));
    tu_assert_ok(strata_write(f->db, NULL, m)); /* reusable */
    expect_u64(f->db, NULL, "cnt", 6);
    advance(f, 31 * SEC);
    expect_i(f->db, NULL, 7, NULL);
    fx_reopen(f); /* the batch replays from the WAL */
    expect_u64(f->db, NULL, "cnt", 6);
    expect_i(f->db, NULL, 1, "p");
    expect_i(f->db, NULL, 6, NULL);
    expect_i(f->db, NULL, 7, NULL);
    strata_batch_destroy(b);
    strata_batch_destroy(b2);
    strata_batch_destroy(m);
}

/* ---- NULL arguments ----------------------------------------------------------------------------
 */

static int null_filter(void *state, int level, const char *key, size_t klen, const char *value,
                       size_t vlen, char **new_value, size_t *new_vlen)
{
    (void)state;
    (void)level;
    (void)key;
    (void)klen;
    (void)value;
    (void)vlen;
    (void)new_value;
    (void)new_vlen;
    return STRATA_FILTER_KEEP;
}

static int noop_op(void *ctx, int op, const char *key, size_t klen, const char *value, size_t vlen,
                   uint64_t expire)
{
    (void)ctx;
    (void)op;
    (void)key;
    (void)klen;
    (void)value;
    (void)vlen;
    (void)expire;
    return 0;
}

#define EXPECT_INVALID(expr) assert_int_equal((expr), STRATA_E_INVALID)

static void test_null_arguments(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    strata_db *db = f->db;
    EXPECT_INVALID(strata_delete_range(NULL, NULL, "a", 1, "b", 1));
    EXPECT_INVALID(strata_delete_range(db, NULL, NULL, 1, "b", 1));
    EXPECT_INVALID(strata_delete_range(db, NULL, "a", 1, NULL, 1));
    EXPECT_INVALID(strata_delete_prefix(NULL, NULL, "a", 1));
    EXPECT_INVALID(strata_delete_prefix(db, NULL, NULL, 1));
    EXPECT_INVALID(strata_merge(NULL, NULL, "a", 1, "b", 1));
    EXPECT_INVALID(strata_merge(db, NULL, NULL, 1, "b", 1));
    EXPECT_INVALID(strata_merge(db, NULL, "a", 1, NULL, 1));
    EXPECT_INVALID(strata_single_delete(NULL, NULL, "a", 1));
    EXPECT_INVALID(strata_single_delete(db, NULL, NULL, 1));
    EXPECT_INVALID(strata_put_ttl(NULL, NULL, "a", 1, "b", 1, 1));
    EXPECT_INVALID(strata_put_ttl(db, NULL, NULL, 1, "b", 1, 1));
    EXPECT_INVALID(strata_put_ttl(db, NULL, "a", 1, NULL, 1, 1));

    const void *keys[1] = {"a"};
    size_t kls[1] = {1}, vls[1];
    void *vals[1];
    int st[1];
    EXPECT_INVALID(strata_multi_get(NULL, NULL, 1, keys, kls, vals, vls, st));
    EXPECT_INVALID(strata_multi_get(db, NULL, 1, NULL, kls, vals, vls, st));
    EXPECT_INVALID(strata_multi_get(db, NULL, 1, keys, NULL, vals, vls, st));
    EXPECT_INVALID(strata_multi_get(db, NULL, 1, keys, kls, NULL, vls, st));
    EXPECT_INVALID(strata_multi_get(db, NULL, 1, keys, kls, vals, NULL, st));
    EXPECT_INVALID(strata_multi_get(db, NULL, 1, keys, kls, vals, vls, NULL));
    const void *nullkey[1] = {NULL};
    EXPECT_INVALID(strata_multi_get(db, NULL, 1, nullkey, kls, vals, vls, st));

    strata_batch *b = strata_batch_create();
    EXPECT_INVALID(strata_batch_delete_range(NULL, "a", 1, "b", 1));
    EXPECT_INVALID(strata_batch_delete_range(b, NULL, 1, "b", 1));
    EXPECT_INVALID(strata_batch_delete_range(b, "a", 1, NULL, 1));
    EXPECT_INVALID(strata_batch_merge(NULL, "a", 1, "b", 1));
    EXPECT_INVALID(strata_batch_merge(b, NULL, 1, "b", 1));
    EXPECT_INVALID(strata_batch_merge(b, "a", 1, NULL, 1));
    EXPECT_INVALID(strata_batch_single_delete(NULL, "a", 1));
    EXPECT_INVALID(strata_batch_single_delete(b, NULL, 1));
    EXPECT_INVALID(strata_batch_put_ttl(NULL, "a", 1, "b", 1, 1));
    EXPECT_INVALID(strata_batch_put_ttl(b, NULL, 1, "b", 1, 1));
    EXPECT_INVALID(strata_batch_put_ttl(b, "a", 1, NULL, 1, 1));
    EXPECT_INVALID(strata_batch_iterate_ops(NULL, NULL, noop_op));
    EXPECT_INVALID(strata_batch_iterate_ops(b, NULL, NULL));
    assert_int_equal(strata_batch_count(b), 0); /* nothing was added by the failed calls */
    strata_batch_destroy(b);

    EXPECT_INVALID(strata_options_set_merge_operator(NULL, f->mo));
    EXPECT_INVALID(strata_options_set_compaction_filter(NULL, NULL));
    EXPECT_INVALID(strata_options_set_default_ttl(NULL, 1));
    EXPECT_INVALID(strata_env_set_clock(NULL, NULL, NULL));
    assert_null(strata_compaction_filter_create(NULL, NULL, NULL, "x"));
    assert_null(strata_merge_operator_create(NULL, NULL, NULL, NULL, "x"));
    strata_compaction_filter *cf = strata_compaction_filter_create(NULL, NULL, null_filter, "n");
    assert_non_null(cf);
    strata_compaction_filter_destroy(cf);
    strata_merge_operator_destroy(NULL);
    strata_compaction_filter_destroy(NULL);

    /* Empty ranges and zero-length keys with NULL pointers are fine where the length is 0. */
    tu_assert_ok(strata_delete_range(db, NULL, NULL, 0, NULL, 0));
    tu_assert_ok(strata_delete_prefix(db, NULL, "x", 1));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_delete_range_basic),
        T(test_delete_range_flush_compact_reopen),
        T(test_delete_range_snapshot),
        T(test_delete_range_iter),
        T(test_delete_prefix),
        T(test_delete_prefix_needs_bytewise),
        T(test_merge_uint64_add),
        T(test_merge_many_operands),
        T(test_merge_string_append),
        T(test_merge_operator_name_and_missing),
        T(test_merge_without_operator),
        T(test_merge_failing_operator),
        T(test_merge_uint64_bad_sizes),
        T(test_single_delete),
        T(test_single_delete_snapshots),
        T(test_multi_get),
        T(test_batch_ops),
        T(test_null_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
