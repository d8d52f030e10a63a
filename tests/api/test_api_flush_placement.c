/* test_api_flush_placement.c — a flushed table that overlaps nothing above the base level goes
 * straight there (a sequential load is written once, not flushed and then compacted), while a
 * table that overlaps level 0 or the levels down to the base stays in level 0 — and in every case
 * the newest value wins, before and after a reopen. */
#include "test_util.h"

#include <stdio.h>
#include <string.h>

#include "strata.h"

#define LAST_LEVEL 6 /* default num_levels 7; an empty DB's base level is the last one */

static uint64_t files_at(strata_db *db, int level)
{
    char name[64];
    uint64_t n = 0;
    snprintf(name, sizeof(name), "strata.num-files-at-level%d", level);
    tu_assert_ok(strata_property_int(db, name, &n));
    return n;
}

static void put_range(strata_db *db, int from, int to, const char *tag)
{
    char k[32], v[64];
    for (int i = from; i < to; i++) {
        snprintf(k, sizeof(k), "key%06d", i);
        snprintf(v, sizeof(v), "%s-%d", tag, i);
        tu_assert_ok(strata_put(db, NULL, k, strlen(k), v, strlen(v)));
    }
}

static void expect(strata_db *db, int i, const char *tag)
{
    char k[32], v[64];
    snprintf(k, sizeof(k), "key%06d", i);
    void *val = NULL;
    size_t vl = 0;
    if (!tag) {
        assert_int_equal(strata_get(db, NULL, k, strlen(k), &val, &vl), STRATA_E_NOTFOUND);
        return;
    }
    snprintf(v, sizeof(v), "%s-%d", tag, i);
    tu_assert_ok(strata_get(db, NULL, k, strlen(k), &val, &vl));
    tu_assert_bytes_equal(val, vl, v, strlen(v));
    strata_free(val);
}

/* Counts the keys an iterator yields, checking they ascend. */
static int scan_count(strata_db *db)
{
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(db, NULL, &it));
    int n = 0;
    char prev[64] = "";
    for (strata_iter_seek_to_first(it); strata_iter_valid(it); strata_iter_next(it)) {
        size_t kl = 0;
        const char *k = strata_iter_key(it, &kl);
        assert_true(kl < sizeof(prev));
        char cur[64];
        memcpy(cur, k, kl);
        cur[kl] = '\0';
        assert_true(n == 0 || strcmp(prev, cur) < 0);
        memcpy(prev, cur, kl + 1);
        n++;
    }
    tu_assert_ok(strata_iter_status(it));
    strata_iter_destroy(it);
    return n;
}

static strata_db *open_db(strata_env *env)
{
    strata_options *o = strata_options_create();
    tu_assert_ok(strata_options_from_string(o, "create_if_missing=1;info_log=0"));
    tu_assert_ok(strata_options_set_env(o, env));
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, "/db", &db));
    strata_options_destroy(o); /* strata_open copies the options */
    return db;
}

static void test_disjoint_flushes_skip_level0(void **state)
{
    (void)state;
    strata_env *env = strata_env_create_mem();
    strata_db *db = open_db(env);
    /* Out of order but disjoint ranges: each fits in a gap of the base level. */
    static const int starts[] = {2000, 0, 4000, 1000, 3000};
    for (int r = 0; r < 5; r++) {
        put_range(db, starts[r], starts[r] + 1000, "a");
        tu_assert_ok(strata_flush(db, 1));
        assert_int_equal(files_at(db, 0), 0);
        assert_int_equal(files_at(db, LAST_LEVEL), (uint64_t)r + 1);
    }
    assert_int_equal(scan_count(db), 5000);
    char *stats = NULL;
    tu_assert_ok(strata_property(db, "strata.stats", &stats));
    assert_non_null(strstr(stats, "Flushes: 5 (5 straight to the base level)"));
    strata_free(stats);
    tu_assert_ok(strata_close(db));

    db = open_db(env);
    assert_int_equal(files_at(db, LAST_LEVEL), 5);
    for (int i = 0; i < 5000; i += 97) {
        expect(db, i, "a");
    }
    assert_int_equal(scan_count(db), 5000);
    tu_assert_ok(strata_close(db));
    strata_env_destroy(env);
}

static void test_overlapping_flush_stays_in_level0(void **state)
{
    (void)state;
    strata_env *env = strata_env_create_mem();
    strata_db *db = open_db(env);
    put_range(db, 0, 1000, "old");
    tu_assert_ok(strata_flush(db, 1));
    assert_int_equal(files_at(db, LAST_LEVEL), 1);

    /* Overwrites and deletes of keys the base level holds: must shadow it from level 0. */
    put_range(db, 500, 600, "new");
    char k[32];
    for (int i = 600; i < 700; i++) {
        snprintf(k, sizeof(k), "key%06d", i);
        tu_assert_ok(strata_delete(db, NULL, k, strlen(k)));
    }
    tu_assert_ok(strata_flush(db, 1));
    assert_int_equal(files_at(db, 0), 1);

    /* Disjoint from the base level but overlapping the level-0 file: also level 0. */
    put_range(db, 550, 551, "newer");
    tu_assert_ok(strata_flush(db, 1));
    assert_int_equal(files_at(db, 0), 2);

    for (int pass = 0; pass < 2; pass++) {
        expect(db, 10, "old");
        expect(db, 520, "new");
        expect(db, 550, "newer");
        expect(db, 650, NULL);
        expect(db, 900, "old");
        assert_int_equal(scan_count(db), 900);
        tu_assert_ok(strata_close(db));
        db = open_db(env);
    }
    tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
    expect(db, 550, "newer");
    expect(db, 650, NULL);
    assert_int_equal(scan_count(db), 900);
    tu_assert_ok(strata_close(db));
    strata_env_destroy(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disjoint_flushes_skip_level0),
        cmocka_unit_test(test_overlapping_flush_stays_in_level0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
