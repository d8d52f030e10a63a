/* test_fault_ioerror.c — I/O error handling through the public API, with failures injected by
 * the fault env (src/env/env_fault.h): a failed WAL append or WAL fsync fails the write and
 * stays sticky (later writes fail) until reopen; a failed table write fails flush and
 * compaction; ENOSPC surfaces as STRATA_E_NOSPC; a failed CURRENT rename fails open/create and
 * leaves a DB that reopens consistently; failed reads make get and iterators report
 * STRATA_E_IO (never NOTFOUND or wrong data) and make open fail rather than silently drop WAL
 * data; and a sweep fails each mutating env call of a workload once, checking that the DB then
 * reopens with every acknowledged write (tests/harness/crash_log.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash_log.h"
#include "engine_util.h"
#include "fault_util.h"
#include "strata.h"
#include "test_util.h"

static void expect_error(int rc, int want, const char *what)
{
    if (want ? rc != want : rc == 0) {
        print_error("%s: returned %d (%s), expected %s\n", what, rc, strata_strerror(rc),
                    want ? strata_strerror(want) : "an error");
        fail();
    }
    if (!strata_errmsg()[0]) {
        print_error("%s: failed with %d but set no errmsg\n", what, rc);
        fail();
    }
}

static void expect_injected(struct fu_env *e, const char *what)
{
    if (st_env_fault_injected(e->fault) == 0) {
        print_error("%s: the armed fault never triggered (the engine made no such call)\n", what);
        fail();
    }
}

/* A DB with some acknowledged batches: part in tables, part only in the WAL. */
static strata_db *prepared_db(struct fu_env *e, cl_log *log, eu_rng *r)
{
    strata_db *db = fu_open(e, "prepare");
    for (int i = 0; i < 200; i++) {
        tu_assert_ok(cl_write(log, db, r, 1 + (int)eu_uniform(r, 10), 0));
        if (i == 100) {
            tu_assert_ok(strata_flush(db, 1));
        }
    }
    return db;
}

static void reopen_and_verify(struct fu_env *e, strata_db **db, cl_log *log, const char *what)
{
    if (*db) {
        (void)strata_close(*db); /* returns the sticky error, if any */
        *db = NULL;
    }
    st_env_fault_clear(e->fault);
    *db = fu_open(e, what);
    cl_verify(log, *db, 1, what);
    /* Writes work again after reopen. */
    eu_rng r;
    eu_rng_seed(&r, 4242);
    tu_assert_ok(cl_write(log, *db, &r, 4, 1));
    cl_verify(log, *db, 1, what);
}

static void check_sticky(strata_db *db, cl_log *log, eu_rng *r, const char *what)
{
    for (int i = 0; i < 4; i++) {
        char w[128];
        snprintf(w, sizeof(w), "%s: write %d after the failure", what, i);
        expect_error(cl_write(log, db, r, 2, i % 2), 0, w);
    }
    expect_error(strata_put(db, NULL, "x", 1, "y", 1), 0, "put after the failure");
    expect_error(strata_delete(db, NULL, "x", 1), 0, "delete after the failure");
}

/* ---- WAL ------------------------------------------------------------------------------------- */

static void test_wal_append_failure_is_sticky(void **state)
{
    (void)state;
    struct fu_env e;
    fu_env_init(&e, 0);
    eu_rng r;
    eu_rng_seed(&r, tu_seed(1) + 1);
    cl_log *log = cl_create(300, 1000);
    strata_db *db = prepared_db(&e, log, &r);
    st_env_fault_fail(e.fault, ST_FAULT_WRITE, ".log", 0, 0, STRATA_E_IO);
    expect_error(cl_write(log, db, &r, 3, 0), STRATA_E_IO, "write with failing WAL append");
    expect_injected(&e, "WAL append");
    st_env_fault_clear(e.fault); /* the env works again; the DB must stay failed */
    check_sticky(db, log, &r, "WAL append");
    /* Reads still work and see every acknowledged write. */
    cl_verify(log, db, 1, "reads after WAL append failure");
    reopen_and_verify(&e, &db, log, "reopen after WAL append failure");
    tu_assert_ok(strata_close(db));
    cl_destroy(log);
    fu_env_fini(&e);
}

static void test_wal_sync_failure_is_sticky(void **state)
{
    (void)state;
    for (int cut = 0; cut < 2; cut++) {
        struct fu_env e;
        fu_env_init(&e, 0);
        eu_rng r;
        eu_rng_seed(&r, tu_seed(1) + 2 + (uint64_t)cut);
        cl_log *log = cl_create(300, 1000);
        strata_db *db = prepared_db(&e, log, &r);
        tu_assert_ok(cl_write(log, db, &r, 3, 1));
        st_env_fault_fail(e.fault, ST_FAULT_SYNC, ".log", 0, 0, STRATA_E_IO);
        expect_error(cl_write(log, db, &r, 3, 1), STRATA_E_IO, "sync write with failing fsync");
        expect_injected(&e, "WAL fsync");
        st_env_fault_clear(e.fault);
        check_sticky(db, log, &r, "WAL fsync");
        if (cut) {
            /* Power loss after the failed fsync: everything up to the last good sync stays. */
            fu_power_cut(&e, &db);
            db = fu_open(&e, "reopen after fsync failure and power loss");
            cl_verify(log, db, 0, "reopen after fsync failure and power loss");
        } else {
            reopen_and_verify(&e, &db, log, "reopen after WAL fsync failure");
        }
        tu_assert_ok(strata_close(db));
        cl_destroy(log);
        fu_env_fini(&e);
    }
}

static void test_wal_create_failure(void **state)
{
    (void)state;
    /* The next WAL file cannot be created when the memtable switches. */
    struct fu_env e;
    fu_env_init(&e, 0);
    eu_rng r;
    eu_rng_seed(&r, tu_seed(1) + 3);
    cl_log *log = cl_create(300, 4000);
    strata_db *db = prepared_db(&e, log, &r);
    st_env_fault_fail(e.fault, ST_FAULT_CREATE, ".log", 0, 1, STRATA_E_IO);
    int rc = 0;
    for (int i = 0; i < 2000 && rc == 0; i++) {
        rc = cl_write(log, db, &r, 10, 0);
        if (rc == 0 && i % 100 == 99) {
            rc = strata_flush(db, 1);
        }
    }
    expect_error(rc, 0, "writes while no new WAL can be created");
    expect_injected(&e, "WAL create");
    st_env_fault_clear(e.fault);
    /* Whether this error is sticky is the engine's choice (no data was at risk); either way
     * reads see every acknowledged write and a reopen recovers them. */
    cl_verify(log, db, 1, "reads after WAL create failure");
    reopen_and_verify(&e, &db, log, "reopen after WAL create failure");
    tu_assert_ok(strata_close(db));
    cl_destroy(log);
    fu_env_fini(&e);
}

/* ---- tables ---------------------------------------------------------------------------------- */

static void test_flush_write_failure(void **state)
{
    (void)state;
    const int kinds[] = {ST_FAULT_WRITE, ST_FAULT_SYNC, ST_FAULT_CREATE};
    for (int k = 0; k < 3; k++) {
        struct fu_env e;
        fu_env_init(&e, 0);
        eu_rng r;
        eu_rng_seed(&r, tu_seed(1) + 10 + (uint64_t)k);
        cl_log *log = cl_create(300, 1000);
        strata_db *db = prepared_db(&e, log, &r);
        st_env_fault_fail(e.fault, kinds[k], ".sst", 0, 1, STRATA_E_IO);
        expect_error(strata_flush(db, 1), STRATA_E_IO, "flush with failing table file");
        expect_injected(&e, "table write during flush");
        uint64_t bg = 0;
        tu_assert_ok(strata_property_int(db, "strata.background-errors", &bg));
        assert_true(bg >= 1);
        st_env_fault_clear(e.fault);
        /* The failure is sticky: later flushes and writes fail too. */
        expect_error(strata_flush(db, 1), 0, "flush after a failed flush");
        check_sticky(db, log, &r, "flush failure");
        cl_verify(log, db, 1, "reads after flush failure");
        int rc = strata_close(db);
        db = NULL;
        expect_error(rc, 0, "close returns the sticky background error");
        reopen_and_verify(&e, &db, log, "reopen after flush failure");
        tu_assert_ok(strata_close(db));
        cl_destroy(log);
        fu_env_fini(&e);
    }
}

static void test_compaction_write_failure(void **state)
{
    (void)state;
    struct fu_env e;
    fu_env_init(&e, 0);
    eu_rng r;
    eu_rng_seed(&r, tu_seed(1) + 20);
    cl_log *log = cl_create(300, 1000);
    strata_db *db = prepared_db(&e, log, &r);
    tu_assert_ok(strata_flush(db, 1));
    st_env_fault_fail(e.fault, ST_FAULT_WRITE, ".sst", 0, 1, STRATA_E_IO);
    expect_error(strata_compact_range(db, NULL, 0, NULL, 0), STRATA_E_IO,
                 "compaction with failing table writes");
    expect_injected(&e, "table write during compaction");
    st_env_fault_clear(e.fault);
    cl_verify(log, db, 1, "reads after compaction failure");
    reopen_and_verify(&e, &db, log, "reopen after compaction failure");
    tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
    cl_verify(log, db, 1, "compaction after reopen");
    tu_assert_ok(strata_close(db));
    cl_destroy(log);
    fu_env_fini(&e);
}

static void test_nospc(void **state)
{
    (void)state;
    for (int posix = 0; posix < 2; posix++) {
        /* WAL append. */
        struct fu_env e;
        fu_env_init(&e, posix);
        eu_rng r;
        eu_rng_seed(&r, tu_seed(1) + 30);
        cl_log *log = cl_create(300, 1000);
        strata_db *db = prepared_db(&e, log, &r);
        st_env_fault_fail(e.fault, ST_FAULT_WRITE, ".log", 0, 1, STRATA_E_NOSPC);
        expect_error(cl_write(log, db, &r, 2, 0), STRATA_E_NOSPC, "write on a full disk");
        expect_error(strata_put(db, NULL, "a", 1, "b", 1), STRATA_E_NOSPC,
                     "second write on a full disk");
        reopen_and_verify(&e, &db, log, "reopen after ENOSPC in the WAL");

        /* Table file during flush. */
        tu_assert_ok(cl_write(log, db, &r, 20, 0));
        st_env_fault_fail(e.fault, ST_FAULT_WRITE, ".sst", 0, 1, STRATA_E_NOSPC);
        expect_error(strata_flush(db, 1), STRATA_E_NOSPC, "flush on a full disk");
        reopen_and_verify(&e, &db, log, "reopen after ENOSPC in a flush");
        tu_assert_ok(strata_close(db));
        cl_destroy(log);
        fu_env_fini(&e);
    }
}

/* ---- CURRENT / MANIFEST ---------------------------------------------------------------------- */

static void test_current_rename_failure(void **state)
{
    (void)state;
    /* At creation. */
    struct fu_env e;
    fu_env_init(&e, 0);
    st_env_fault_fail(e.fault, ST_FAULT_RENAME, "CURRENT", 0, 1, STRATA_E_IO);
    strata_db *db = NULL;
    int rc = strata_open(e.opt, e.path, &db);
    expect_injected(&e, "CURRENT rename at create");
    expect_error(rc, STRATA_E_IO, "create with failing CURRENT rename");
    assert_null(db);
    st_env_fault_clear(e.fault);
    db = fu_open(&e, "open after failed create"); /* the LOCK was released */
    mr_map *empty = mr_create();
    eu_check_db_equals(db, NULL, empty, "DB after failed create");
    mr_destroy(empty);
    tu_assert_ok(strata_close(db));
    fu_env_fini(&e);

    /* At reopen of an existing DB, then with a power loss on top. */
    for (int cut = 0; cut < 2; cut++) {
        fu_env_init(&e, 0);
        eu_rng r;
        eu_rng_seed(&r, tu_seed(1) + 40 + (uint64_t)cut);
        cl_log *log = cl_create(300, 1000);
        db = prepared_db(&e, log, &r);
        tu_assert_ok(cl_write(log, db, &r, 3, 1));
        tu_assert_ok(strata_close(db));
        db = NULL;
        st_env_fault_fail(e.fault, ST_FAULT_RENAME, "CURRENT", 0, 1, STRATA_E_IO);
        rc = strata_open(e.opt, e.path, &db);
        if (st_env_fault_injected(e.fault) > 0) {
            expect_error(rc, STRATA_E_IO, "reopen with failing CURRENT rename");
            assert_null(db);
        } else {
            tu_assert_ok(rc); /* this engine does not switch MANIFEST at open */
            print_message("note: open did not rewrite CURRENT\n");
            for (int i = 0; i < 20 && st_env_fault_injected(e.fault) == 0; i++) {
                if (cl_write(log, db, &r, 3, 1) != 0 || strata_flush(db, 1) != 0) {
                    break;
                }
                cl_mark_durable(log);
            }
        }
        if (cut) {
            fu_power_cut(&e, &db);
            db = fu_open(&e, "reopen after CURRENT failure and power loss");
            cl_verify(log, db, 0, "reopen after CURRENT failure and power loss");
            tu_assert_ok(strata_close(db));
            db = NULL;
        }
        reopen_and_verify(&e, &db, log, "reopen after CURRENT rename failure");
        tu_assert_ok(strata_close(db));
        cl_destroy(log);
        fu_env_fini(&e);
    }
}

/* ---- reads ----------------------------------------------------------------------------------- */

static void expect_get_io(strata_db *db, int key)
{
    char k[16];
    snprintf(k, sizeof(k), "k%05d", key);
    void *v = NULL;
    size_t vl = 0;
    int rc = strata_get(db, NULL, k, strlen(k), &v, &vl);
    if (rc == 0) {
        strata_free(v);
    }
    if (rc != STRATA_E_IO) {
        print_error("get(%s) with failing table reads returned %d (%s), expected IO\n", k, rc,
                    strata_strerror(rc));
        fail();
    }
    strata_pinned *p = NULL;
    rc = strata_get_pinned(db, NULL, k, strlen(k), &p);
    strata_pinned_release(rc == 0 ? p : NULL);
    assert_int_equal(rc, STRATA_E_IO);
}

static void test_read_failures(void **state)
{
    (void)state;
    struct fu_env e;
    fu_env_init(&e, 0);
    strata_db *db = fu_open(&e, "create");
    /* Every key exists (so no filter can answer without reading a block), all in tables. */
    mr_map *m = mr_create();
    strata_batch *b = strata_batch_create();
    for (int i = 0; i < 300; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%05d", i);
        tu_assert_ok(strata_batch_put(b, k, strlen(k), "present", 7));
        mr_put(m, k, strlen(k), "present", 7);
        if (i % 100 == 99) {
            tu_assert_ok(strata_write(db, NULL, b));
            strata_batch_clear(b);
            tu_assert_ok(strata_flush(db, 1));
        }
    }
    strata_batch_destroy(b);
    tu_assert_ok(strata_compact_range(db, NULL, 0, "k00150", 6));
    tu_assert_ok(strata_close(db));
    db = fu_open(&e, "reopen with a cold cache");

    st_env_fault_fail(e.fault, ST_FAULT_READ, ".sst", 0, 1, STRATA_E_IO);
    for (int i = 0; i < 300; i += 37) {
        expect_get_io(db, i);
    }
    expect_injected(&e, "table read");
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(db, NULL, &it));
    strata_iter_seek_to_first(it);
    assert_false(strata_iter_valid(it));
    assert_int_equal(strata_iter_status(it), STRATA_E_IO);
    strata_iter_seek(it, "k00150", 6);
    assert_false(strata_iter_valid(it));
    assert_int_equal(strata_iter_status(it), STRATA_E_IO);
    strata_iter_destroy(it);

    /* A one-shot failure fails one read; the next one succeeds (failures are not cached). */
    st_env_fault_clear(e.fault);
    eu_expect(db, NULL, "k00007", "present");
    st_env_fault_fail(e.fault, ST_FAULT_READ, ".sst", 0, 0, STRATA_E_IO);
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_fill_cache(ro, 0);
    int failures = 0;
    for (int i = 0; i < 300; i += 13) {
        char k[16];
        void *v = NULL;
        size_t vl = 0;
        snprintf(k, sizeof(k), "k%05d", i);
        int rc = strata_get(db, ro, k, strlen(k), &v, &vl);
        if (rc == 0) {
            tu_assert_bytes_equal(v, vl, "present", 7);
            strata_free(v);
        } else {
            assert_int_equal(rc, STRATA_E_IO);
            failures++;
        }
    }
    assert_true(failures <= 1);
    strata_read_options_destroy(ro);
    st_env_fault_clear(e.fault);
    eu_check_db_equals(db, NULL, m, "reads after read failures");
    tu_assert_ok(strata_close(db));
    mr_destroy(m);
    fu_env_fini(&e);
}

static void test_recovery_read_failures(void **state)
{
    (void)state;
    /* A WAL or MANIFEST that cannot be read must fail open, not open with data missing. */
    const char *files[] = {".log", "MANIFEST", "CURRENT"};
    for (int f = 0; f < 3; f++) {
        struct fu_env e;
        fu_env_init(&e, 0);
        eu_rng r;
        eu_rng_seed(&r, tu_seed(1) + 60 + (uint64_t)f);
        cl_log *log = cl_create(300, 1000);
        strata_db *db = prepared_db(&e, log, &r);
        tu_assert_ok(strata_close(db));
        db = NULL;
        st_env_fault_fail(e.fault, ST_FAULT_READ, files[f], 0, 1, STRATA_E_IO);
        int rc = strata_open(e.opt, e.path, &db);
        char what[64];
        snprintf(what, sizeof(what), "open with unreadable %s", files[f]);
        if (f == 0 && st_env_fault_injected(e.fault) == 0) {
            print_message("note: open read no WAL (nothing to recover)\n");
            tu_assert_ok(rc);
            tu_assert_ok(strata_close(db));
            db = NULL;
        } else {
            expect_injected(&e, what);
            expect_error(rc, STRATA_E_IO, what);
            assert_null(db);
        }
        st_env_fault_clear(e.fault);
        db = fu_open(&e, "open after read failures");
        cl_verify(log, db, 1, "open after read failures");
        tu_assert_ok(strata_close(db));
        cl_destroy(log);
        fu_env_fini(&e);
    }
}

/* ---- every call fails once ------------------------------------------------------------------- */

static int sweep_workload(struct fu_env *e, cl_log *log, strata_db **db, uint64_t seed)
{
    eu_rng r;
    eu_rng_seed(&r, seed);
    int rc = strata_open(e->opt, e->path, db);
    if (rc != 0) {
        *db = NULL;
        return rc;
    }
    for (int i = 0; i < 80; i++) {
        if ((rc = cl_write(log, *db, &r, 1 + (int)eu_uniform(&r, 15), i % 6 == 0)) != 0) {
            return rc;
        }
        if (i % 20 == 19 && (rc = strata_flush(*db, 1)) != 0) {
            return rc;
        }
        if (i == 50 && (rc = strata_compact_range(*db, NULL, 0, NULL, 0)) != 0) {
            return rc;
        }
    }
    rc = strata_close(*db);
    *db = NULL;
    return rc;
}

static void test_single_failure_sweep(void **state)
{
    (void)state;
    uint64_t seed = tu_seed(1) + 70;
    struct fu_env e;
    fu_env_init(&e, 0);
    cl_log *log = cl_create(300, 2000);
    strata_db *db = NULL;
    tu_assert_ok(sweep_workload(&e, log, &db, seed));
    long total = fu_mutating_calls(e.fault);
    cl_destroy(log);
    fu_env_fini(&e);

    int points = (int)(120 * tu_scale()) + 5;
    long errors = 0;
    for (int p = 0; p <= points; p++) {
        long nth = points >= total ? p : (long)((double)p * (double)total / points);
        if (nth > total) {
            break;
        }
        fu_env_init(&e, 0);
        log = cl_create(300, 2000);
        db = NULL;
        st_env_fault_fail(e.fault, FU_MUTATING, NULL, nth, 0, STRATA_E_IO);
        int rc = sweep_workload(&e, log, &db, seed);
        errors += rc != 0;
        char what[96];
        snprintf(what, sizeof(what), "one failed call at %ld of %ld (workload status %d)", nth,
                 total, rc);
        if (db) {
            (void)strata_close(db);
            db = NULL;
        }
        st_env_fault_clear(e.fault);
        db = fu_open(&e, what);
        cl_verify(log, db, 1, what);
        tu_assert_ok(strata_close(db));
        cl_destroy(log);
        fu_env_fini(&e);
    }
    print_message("single-failure sweep: %ld mutating calls, %d points, %ld surfaced an error\n",
                  total, points, errors);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wal_append_failure_is_sticky),
        cmocka_unit_test(test_wal_sync_failure_is_sticky),
        cmocka_unit_test(test_wal_create_failure),
        cmocka_unit_test(test_flush_write_failure),
        cmocka_unit_test(test_compaction_write_failure),
        cmocka_unit_test(test_nospc),
        cmocka_unit_test(test_current_rename_failure),
        cmocka_unit_test(test_read_failures),
        cmocka_unit_test(test_recovery_read_failures),
        cmocka_unit_test(test_single_failure_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
