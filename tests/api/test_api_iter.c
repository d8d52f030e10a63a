/* test_api_iter.c — whole-engine tests of strata iterators through the public API: empty DBs,
 * full scans both ways over data spread across memtable, level-0 and deeper levels with
 * overwrites and tombstones, seek / seek_for_prev, direction changes, lower/upper bounds (also
 * bounds with no key inside), iterators over snapshots, and iterator stability while writes,
 * flushes and compactions continue.  Expected results come from the reference model
 * (tests/harness/model_ref.h); eu_check_iter_walk compares every move.
 *
 * DBs live in private in-memory envs with a small write buffer, so a few thousand keys already
 * span several tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_util.h"
#include "model_ref.h"
#include "strata.h"
#include "test_util.h"

struct fx {
    strata_env *env;
    strata_options *opt;
    strata_db *db;
    mr_map *m;
    eu_rng rng;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f) {
        return -1;
    }
    f->env = strata_env_create_mem();
    f->opt = strata_options_create();
    f->m = mr_create();
    eu_rng_seed(&f->rng, tu_seed(20240601));
    strata_options_set_create_if_missing(f->opt, 1);
    strata_options_set_env(f->opt, f->env);
    strata_options_set_write_buffer_size(f->opt, eu_write_buffer_size());
    strata_options_set_block_size(f->opt, 512);
    strata_options_set_target_file_size(f->opt, 64 << 10);
    if (strata_open(f->opt, "/iterdb", &f->db) != 0) {
        print_error("open: %s\n", strata_errmsg());
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
    strata_env_destroy(f->env);
    mr_destroy(f->m);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void keyf(char *buf, size_t n, int i)
{
    snprintf(buf, n, "k%05d", i);
}

static void put(struct fx *f, int i, const char *tag)
{
    char k[32], v[128];
    keyf(k, sizeof(k), i);
    int n = snprintf(v, sizeof(v), "%s:%d:", tag, i);
    size_t vlen = (size_t)n + eu_uniform(&f->rng, 60);
    memset(v + n, 'x', vlen - (size_t)n);
    tu_assert_ok(strata_put(f->db, NULL, k, strlen(k), v, vlen));
    mr_put(f->m, k, strlen(k), v, vlen);
}

static void del(struct fx *f, int i)
{
    char k[32];
    keyf(k, sizeof(k), i);
    tu_assert_ok(strata_delete(f->db, NULL, k, strlen(k)));
    mr_del(f->m, k, strlen(k));
}

/* Keys "k00000".."k<n>" in three generations: a compacted base, a flushed level-0 layer that
 * overwrites and deletes some, and a memtable layer that does the same again. */
static void layered_fill(struct fx *f, int n)
{
    for (int i = 0; i < n; i += 2) {
        put(f, i, "base");
    }
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    for (int i = 0; i < n; i++) {
        if (i % 3 == 0) {
            put(f, i, "l0");
        } else if (i % 7 == 0) {
            del(f, i);
        }
    }
    tu_assert_ok(strata_flush(f->db, 1));
    for (int i = 0; i < n; i++) {
        if (i % 5 == 0) {
            put(f, i, "mem");
        } else if (i % 11 == 0) {
            del(f, i);
        }
    }
}

/* Seek targets: existing keys, keys between them, before the first and after the last. */
static void gen_key(eu_rng *r, char *buf, size_t *len)
{
    int i = (int)eu_uniform(r, 2200) - 100;
    switch (eu_uniform(r, 4)) {
        case 0:
            *len = (size_t)snprintf(buf, EU_MAX_KEY, "k%05d~", i < 0 ? 0 : i); /* between keys */
            break;
        case 1:
            *len = (size_t)snprintf(buf, EU_MAX_KEY, "%s", eu_one_in(r, 2) ? "a" : "z");
            break;
        default:
            *len = (size_t)snprintf(buf, EU_MAX_KEY, "k%05d", i < 0 ? 0 : i);
            break;
    }
}

static void test_iter_empty(void **state)
{
    struct fx *f = *state;
    for (int round = 0; round < 3; round++) {
        strata_iter *it = NULL;
        tu_assert_ok(strata_iter_create(f->db, NULL, &it));
        strata_iter_seek_to_first(it);
        assert_false(strata_iter_valid(it));
        strata_iter_seek_to_last(it);
        assert_false(strata_iter_valid(it));
        strata_iter_seek(it, "a", 1);
        assert_false(strata_iter_valid(it));
        strata_iter_seek_for_prev(it, "z", 1);
        assert_false(strata_iter_valid(it));
        strata_iter_seek(it, "", 0);
        assert_false(strata_iter_valid(it));
        tu_assert_ok(strata_iter_status(it));
        strata_iter_destroy(it);
        /* Round 1: only tombstones in the memtable; round 2: only tombstones in tables. */
        for (int i = 0; i < 500; i++) {
            put(f, i, "gone");
            del(f, i);
        }
        if (round == 1) {
            tu_assert_ok(strata_flush(f->db, 1));
        }
    }
    strata_iter_destroy(NULL);
}

static void test_iter_full_scans(void **state)
{
    struct fx *f = *state;
    layered_fill(f, 2000);
    eu_check_db_equals(f->db, NULL, f->m, "layered scan");
    tu_assert_ok(strata_flush(f->db, 1));
    eu_check_db_equals(f->db, NULL, f->m, "layered scan after flush");
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    eu_check_db_equals(f->db, NULL, f->m, "layered scan after compaction");
}

static void expect_at(strata_iter *it, const char *key)
{
    if (!key) {
        if (strata_iter_valid(it)) {
            size_t klen;
            const char *k = strata_iter_key(it, &klen);
            print_error("expected an invalid iterator\n");
            eu_print_bytes("at", k, klen);
            fail();
        }
        tu_assert_ok(strata_iter_status(it));
        return;
    }
    if (!strata_iter_valid(it)) {
        print_error("expected the iterator at \"%s\", it is invalid (status %d: %s)\n", key,
                    strata_iter_status(it), strata_errmsg());
        fail();
    }
    size_t klen;
    const char *k = strata_iter_key(it, &klen);
    tu_assert_bytes_equal(k, klen, key, strlen(key));
}

static void test_iter_seek(void **state)
{
    struct fx *f = *state;
    /* keys k00010, k00020, ..., k00990 spread over levels */
    for (int i = 10; i < 1000; i += 10) {
        put(f, i, "v");
        if (i == 500) {
            tu_assert_ok(strata_flush(f->db, 1));
        }
    }
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(f->db, NULL, &it));
    strata_iter_seek(it, "k00010", 6);
    expect_at(it, "k00010");
    strata_iter_seek(it, "k00011", 6);
    expect_at(it, "k00020");
    strata_iter_seek(it, "k000105", 7);
    expect_at(it, "k00020");
    strata_iter_seek(it, "", 0);
    expect_at(it, "k00010");
    strata_iter_seek(it, "a", 1);
    expect_at(it, "k00010");
    strata_iter_seek(it, "k00990", 6);
    expect_at(it, "k00990");
    strata_iter_seek(it, "k009900", 7);
    expect_at(it, NULL);
    strata_iter_seek(it, "z", 1);
    expect_at(it, NULL);

    strata_iter_seek_for_prev(it, "k00010", 6);
    expect_at(it, "k00010");
    strata_iter_seek_for_prev(it, "k00019", 6);
    expect_at(it, "k00010");
    strata_iter_seek_for_prev(it, "k000100", 7);
    expect_at(it, "k00010");
    strata_iter_seek_for_prev(it, "k0001", 5);
    expect_at(it, NULL);
    strata_iter_seek_for_prev(it, "", 0);
    expect_at(it, NULL);
    strata_iter_seek_for_prev(it, "z", 1);
    expect_at(it, "k00990");
    strata_iter_seek_for_prev(it, "k00505", 6);
    expect_at(it, "k00500");
    strata_iter_seek(it, "k00505", 6);
    expect_at(it, "k00510");
    /* Deleted keys are skipped by both kinds of seek. */
    strata_iter_destroy(it);
    del(f, 500);
    del(f, 510);
    tu_assert_ok(strata_iter_create(f->db, NULL, &it));
    strata_iter_seek(it, "k00500", 6);
    expect_at(it, "k00520");
    strata_iter_seek_for_prev(it, "k00510", 6);
    expect_at(it, "k00490");
    strata_iter_prev(it);
    expect_at(it, "k00480");
    strata_iter_next(it);
    strata_iter_next(it);
    expect_at(it, "k00520");
    strata_iter_destroy(it);
}

static void test_iter_direction_changes(void **state)
{
    struct fx *f = *state;
    layered_fill(f, 1500);
    /* Many versions of a few keys right next to each other, across levels. */
    for (int round = 0; round < 3; round++) {
        for (int i = 700; i < 710; i++) {
            put(f, i, round == 0 ? "r0" : "r1");
        }
        del(f, 703);
        del(f, 704);
        tu_assert_ok(strata_flush(f->db, 1));
    }
    put(f, 704, "last");
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(f->db, NULL, &it));
    /* At every position: next-then-prev and prev-then-next come back. */
    size_t n = mr_count(f->m);
    strata_iter_seek_to_first(it);
    for (size_t i = 0; i < n; i++) {
        const char *mk;
        size_t mklen, klen;
        mr_entry(f->m, i, &mk, &mklen, NULL, NULL);
        assert_true(strata_iter_valid(it));
        const char *k = strata_iter_key(it, &klen);
        tu_assert_bytes_equal(k, klen, mk, mklen);
        if (i + 1 < n) {
            strata_iter_next(it);
            strata_iter_prev(it);
            k = strata_iter_key(it, &klen);
            tu_assert_bytes_equal(k, klen, mk, mklen);
        }
        if (i > 0) {
            strata_iter_prev(it);
            strata_iter_next(it);
            k = strata_iter_key(it, &klen);
            tu_assert_bytes_equal(k, klen, mk, mklen);
        }
        strata_iter_next(it);
    }
    assert_false(strata_iter_valid(it));
    tu_assert_ok(strata_iter_status(it));
    /* Random walks mixing every move. */
    eu_check_iter_walk(it, f->m, NULL, 0, NULL, 0, &f->rng, 3000, gen_key, "direction walk");
    strata_iter_destroy(it);
}

static strata_iter *bounded_iter(struct fx *f, const char *lo, const char *hi,
                                 strata_read_options **ro_out)
{
    strata_read_options *ro = strata_read_options_create();
    tu_assert_ok(strata_read_options_set_lower_bound(ro, lo, lo ? strlen(lo) : 0));
    tu_assert_ok(strata_read_options_set_upper_bound(ro, hi, hi ? strlen(hi) : 0));
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(f->db, ro, &it));
    *ro_out = ro;
    return it;
}

static void walk_bounded(struct fx *f, const char *lo, const char *hi, const char *what)
{
    strata_read_options *ro;
    strata_iter *it = bounded_iter(f, lo, hi, &ro);
    eu_check_iter_walk(it, f->m, lo, lo ? strlen(lo) : 0, hi, hi ? strlen(hi) : 0, &f->rng, 400,
                       gen_key, what);
    strata_iter_destroy(it);
    strata_read_options_destroy(ro);
}

static void test_iter_bounds(void **state)
{
    struct fx *f = *state;
    layered_fill(f, 2000);
    strata_read_options *ro;
    strata_iter *it = bounded_iter(f, "k00100", "k00200", &ro);
    size_t lo_i, hi_i;
    const char *mk;
    size_t mklen, klen;
    mr_bounds(f->m, "k00100", 6, "k00200", 6, &lo_i, &hi_i);
    assert_true(hi_i > lo_i + 10);
    strata_iter_seek_to_first(it);
    assert_true(strata_iter_valid(it));
    mr_entry(f->m, lo_i, &mk, &mklen, NULL, NULL);
    const char *k = strata_iter_key(it, &klen);
    tu_assert_bytes_equal(k, klen, mk, mklen);
    strata_iter_seek_to_last(it);
    assert_true(strata_iter_valid(it));
    mr_entry(f->m, hi_i - 1, &mk, &mklen, NULL, NULL);
    k = strata_iter_key(it, &klen);
    tu_assert_bytes_equal(k, klen, mk, mklen);
    strata_iter_next(it);
    expect_at(it, NULL);
    strata_iter_destroy(it);
    strata_read_options_destroy(ro);

    walk_bounded(f, "k00100", "k00200", "bounds [k00100,k00200)");
    walk_bounded(f, NULL, "k00050", "upper only");
    walk_bounded(f, "k01900", NULL, "lower only");
    walk_bounded(f, "k00100~", "k00101", "bounds with no key inside");
    walk_bounded(f, "k00500", "k00500", "empty bounds lower == upper");
    walk_bounded(f, "a", "b", "bounds before every key");
    walk_bounded(f, "x", "y", "bounds after every key");
    walk_bounded(f, "", "k00000~", "bounds around the first key");

    /* Bounds are copied: the caller's buffers may change; NULL removes a bound. */
    char lo[8] = "k00300", hi[8] = "k00310";
    ro = strata_read_options_create();
    tu_assert_ok(strata_read_options_set_lower_bound(ro, lo, 6));
    tu_assert_ok(strata_read_options_set_upper_bound(ro, hi, 6));
    memcpy(lo, "k00000", 6);
    memcpy(hi, "k99999", 6);
    tu_assert_ok(strata_iter_create(f->db, ro, &it));
    eu_check_iter_walk(it, f->m, "k00300", 6, "k00310", 6, &f->rng, 200, gen_key, "copied bounds");
    strata_iter_destroy(it);
    tu_assert_ok(strata_read_options_set_upper_bound(ro, NULL, 0));
    tu_assert_ok(strata_iter_create(f->db, ro, &it));
    eu_check_iter_walk(it, f->m, "k00300", 6, NULL, 0, &f->rng, 200, gen_key, "bound removed");
    strata_iter_destroy(it);
    strata_read_options_destroy(ro);

    /* Random bounds over data in all layers. */
    for (int i = 0; i < 40; i++) {
        char a[EU_MAX_KEY], b[EU_MAX_KEY];
        size_t al, bl;
        gen_key(&f->rng, a, &al);
        gen_key(&f->rng, b, &bl);
        if (mr_compare(a, al, b, bl) > 0) {
            char t[EU_MAX_KEY];
            memcpy(t, a, sizeof(t));
            memcpy(a, b, sizeof(t));
            memcpy(b, t, sizeof(t));
        }
        walk_bounded(f, a, b, "random bounds");
        if (i == 20) {
            tu_assert_ok(strata_flush(f->db, 1));
        }
    }
}

static void test_iter_snapshot(void **state)
{
    struct fx *f = *state;
    layered_fill(f, 1000);
    const strata_snapshot *s = strata_snapshot_create(f->db);
    mr_map *at = mr_clone(f->m);
    for (int i = 0; i < 1000; i += 3) {
        if (i % 2) {
            del(f, i);
        } else {
            put(f, i, "after");
        }
    }
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_snapshot(ro, s);
    for (int round = 0; round < 3; round++) {
        eu_check_db_equals(f->db, ro, at, "iterator at snapshot");
        eu_check_db_equals(f->db, NULL, f->m, "latest");
        strata_iter *it = NULL;
        tu_assert_ok(strata_read_options_set_lower_bound(ro, "k00200", 6));
        tu_assert_ok(strata_iter_create(f->db, ro, &it));
        eu_check_iter_walk(it, at, "k00200", 6, NULL, 0, &f->rng, 300, gen_key,
                           "bounded snapshot walk");
        strata_iter_destroy(it);
        tu_assert_ok(strata_read_options_set_lower_bound(ro, NULL, 0));
        if (round == 0) {
            tu_assert_ok(strata_flush(f->db, 1));
        } else {
            tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
        }
    }
    strata_read_options_destroy(ro);
    strata_snapshot_release(f->db, s);
    mr_destroy(at);
}

static void test_iter_stability(void **state)
{
    struct fx *f = *state;
    layered_fill(f, 1500);
    mr_map *at = mr_clone(f->m);
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(f->db, NULL, &it));
    strata_iter_seek(it, "k00700", 6);
    expect_at(it, "k00700");
    /* Keep the iterator mid-scan while the DB changes underneath. */
    for (int step = 0; step < 6; step++) {
        for (int i = 0; i < 1500; i += 1 + step) {
            if (eu_one_in(&f->rng, 3)) {
                del(f, i);
            } else {
                put(f, i, "later");
            }
        }
        if (step % 2 == 0) {
            tu_assert_ok(strata_flush(f->db, 1));
        } else {
            tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
        }
        eu_check_iter_walk(it, at, NULL, 0, NULL, 0, &f->rng, 200, gen_key, "old iterator");
    }
    /* Key/value pointers stay valid until the iterator moves. */
    strata_iter_seek_to_first(it);
    size_t klen, vlen;
    const char *k = strata_iter_key(it, &klen);
    const char *v = strata_iter_value(it, &vlen);
    char *kc = malloc(klen + 1), *vc = malloc(vlen + 1);
    memcpy(kc, k, klen);
    memcpy(vc, v, vlen);
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_bytes_equal(k, klen, kc, klen);
    tu_assert_bytes_equal(v, vlen, vc, vlen);
    free(kc);
    free(vc);
    strata_iter_destroy(it);
    /* A new iterator sees the new state. */
    eu_check_db_equals(f->db, NULL, f->m, "new iterator");
    mr_destroy(at);
}

static void test_iter_many_open(void **state)
{
    struct fx *f = *state;
    /* Several live iterators at different states, destroyed in a different order. */
    strata_iter *its[8];
    mr_map *maps[8];
    for (int i = 0; i < 8; i++) {
        for (int j = 0; j < 300; j++) {
            put(f, (int)eu_uniform(&f->rng, 3000), i % 2 ? "odd" : "even");
            if (eu_one_in(&f->rng, 4)) {
                del(f, (int)eu_uniform(&f->rng, 3000));
            }
        }
        if (i % 3 == 2) {
            tu_assert_ok(strata_flush(f->db, 1));
        }
        tu_assert_ok(strata_iter_create(f->db, NULL, &its[i]));
        maps[i] = mr_clone(f->m);
    }
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    for (int i = 7; i >= 0; i -= 2) {
        eu_check_iter_walk(its[i], maps[i], NULL, 0, NULL, 0, &f->rng, 200, gen_key, "live iter");
        strata_iter_destroy(its[i]);
        mr_destroy(maps[i]);
    }
    for (int i = 0; i < 8; i += 2) {
        eu_check_iter_walk(its[i], maps[i], NULL, 0, NULL, 0, &f->rng, 200, gen_key, "live iter");
        strata_iter_destroy(its[i]);
        mr_destroy(maps[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_iter_empty, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_iter_full_scans, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_iter_seek, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_iter_direction_changes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_iter_bounds, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_iter_snapshot, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_iter_stability, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_iter_many_open, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
