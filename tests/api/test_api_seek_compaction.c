/* test_api_seek_compaction.c — reads that keep probing files which do not hold their keys make
 * those files compact away (seek-triggered compaction), with no write to trigger it: point reads,
 * and scans (iterators sample the entries they read). */
#include "test_util.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "strata.h"

static uint64_t l0_files(strata_db *db)
{
    uint64_t n = 0;
    tu_assert_ok(strata_property_int(db, "strata.num-files-at-level0", &n));
    return n;
}

/* A DB on env whose level-0 trigger is too high for anything but seek compaction to merge
 * level-0 files. */
static strata_db *open_db(strata_env *env, const char *write_buffer)
{
    strata_options *o = strata_options_create();
    char text[256];
    snprintf(text, sizeof(text), "create_if_missing=1;write_buffer_size=%s;"
             "level0_compaction_trigger=50;level0_slowdown_trigger=60;level0_stop_trigger=70;"
             "info_log=0", write_buffer);
    tu_assert_ok(strata_options_from_string(o, text));
    tu_assert_ok(strata_options_set_env(o, env));
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, "/db", &db));
    strata_options_destroy(o); /* strata_open copies the options */
    return db;
}

static void test_reads_compact_level0(void **state)
{
    (void)state;
    strata_env *env = strata_env_create_mem();
    strata_db *db = open_db(env, "1MB");
    char k[32], v[64];
    /* Keys 0..999 (the first flush finds an empty DB and goes straight to the base level), then
     * two overlapping level-0 files of odd keys; reads of the even keys (only in the base level)
     * probe both level-0 files first and miss. */
    for (int round = 0; round < 3; round++) {
        for (int i = round == 0 ? 0 : 1; i < 1000; i += round == 0 ? 1 : 2) {
            snprintf(k, sizeof(k), "key%05d", i);
            snprintf(v, sizeof(v), "value-%d-%d", round, i);
            tu_assert_ok(strata_put(db, NULL, k, strlen(k), v, strlen(v)));
        }
        tu_assert_ok(strata_flush(db, 1));
    }
    assert_int_equal(l0_files(db), 2);
    for (int n = 0; n < 5000; n++) {
        snprintf(k, sizeof(k), "key%05d", (n * 2) % 1000);
        void *val = NULL;
        size_t vl = 0;
        tu_assert_ok(strata_get(db, NULL, k, strlen(k), &val, &vl));
        strata_free(val);
    }
    /* The background pool notices the candidate within its wait period. */
    for (int i = 0; i < 400 && l0_files(db) > 0; i++) {
        usleep(50000);
    }
    assert_int_equal(l0_files(db), 0);
    for (int i = 0; i < 1000; i++) { /* and nothing was lost */
        snprintf(k, sizeof(k), "key%05d", i);
        snprintf(v, sizeof(v), "value-%d-%d", i % 2 ? 2 : 0, i);
        void *val = NULL;
        size_t vl = 0;
        tu_assert_ok(strata_get(db, NULL, k, strlen(k), &val, &vl));
        tu_assert_bytes_equal(val, vl, v, strlen(v));
        strata_free(val);
    }
    tu_assert_ok(strata_close(db));
    strata_env_destroy(env);
}

static void test_scans_compact_level0(void **state)
{
    (void)state;
    strata_env *env = strata_env_create_mem();
    strata_db *db = open_db(env, "4MB");
    /* The base level, then two overlapping level-0 files (~1 MB each) over the same keys. */
    char k[32], v[600];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 2000; i++) {
            snprintf(k, sizeof(k), "key%05d", i);
            memset(v, 'a' + round, sizeof(v));
            snprintf(v, sizeof(v), "%d-%d", round, i);
            v[strlen(v)] = '.'; /* keep the full length */
            tu_assert_ok(strata_put(db, NULL, k, strlen(k), v, sizeof(v)));
        }
        tu_assert_ok(strata_flush(db, 1));
    }
    assert_int_equal(l0_files(db), 2);
    /* Full scans only (no point reads): each reads ~3.7 MB of entries, ~4 samples. */
    int scans = 0;
    for (; scans < 200 && l0_files(db) > 0; scans++) {
        strata_iter *it = NULL;
        tu_assert_ok(strata_iter_create(db, NULL, &it));
        int n = 0;
        for (strata_iter_seek_to_first(it); strata_iter_valid(it); strata_iter_next(it)) {
            n++;
        }
        tu_assert_ok(strata_iter_status(it));
        strata_iter_destroy(it);
        assert_int_equal(n, 2000);
        if (scans > 40) {
            usleep(20000); /* the candidate is set: give the pool its wait period */
        }
    }
    assert_int_equal(l0_files(db), 0);
    for (int i = 0; i < 2000; i += 111) { /* the newest round wins */
        snprintf(k, sizeof(k), "key%05d", i);
        void *val = NULL;
        size_t vl = 0;
        tu_assert_ok(strata_get(db, NULL, k, strlen(k), &val, &vl));
        assert_int_equal(vl, sizeof(v));
        assert_int_equal(((char *)val)[0], '2');
        strata_free(val);
    }
    tu_assert_ok(strata_close(db));
    strata_env_destroy(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_compact_level0),
        cmocka_unit_test(test_scans_compact_level0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
