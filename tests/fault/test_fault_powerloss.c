/* test_fault_powerloss.c — crash consistency under simulated power loss.
 *
 * The DB runs on the fault env (src/env/env_fault.h) over an in-memory env (and, in one test,
 * over the POSIX env in a temp dir).  st_env_fault_power_loss cuts every file back to its synced
 * length and undoes unsynced directory operations; the test then closes the dead handle, re-arms
 * the env and reopens.  Every recovered state is checked with the batch log of
 * tests/harness/crash_log.h: it must be exactly the state after some batch k (no torn batch, no
 * reordering) with k at least the last batch acknowledged by a sync write or a completed
 * flush(wait), and at most the last batch attempted.
 *
 * "Crash at step N": arming a sticky failure of every mutating env call from the Nth one on
 * freezes the files as they were after N-1 calls (the engine can no longer write, rename or
 * remove anything); power loss then drops what was not synced.  Sweeping N over a workload of
 * writes, flushes, compactions and reopens puts a crash after every kind of step, including in
 * the middle of a flush, a compaction install and a MANIFEST/CURRENT switch. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crash_log.h"
#include "engine_util.h"
#include "fault_util.h"
#include "strata.h"
#include "test_util.h"

static int nops_of(eu_rng *r)
{
    return 1 + (int)eu_uniform(r, eu_one_in(r, 8) ? 60 : 12);
}

/* ---- acknowledged writes --------------------------------------------------------------------- */

static void test_sync_writes_survive(void **state)
{
    (void)state;
    struct fu_env e;
    fu_env_init(&e, 0);
    eu_rng r;
    eu_rng_seed(&r, tu_seed(1) + 11);
    cl_log *log = cl_create(500, 3000);
    strata_db *db = NULL;
    tu_assert_ok(strata_open(e.opt, e.path, &db));
    for (int cycle = 0; cycle < 6; cycle++) {
        int n = 50 + (int)eu_uniform(&r, 150);
        for (int i = 0; i < n; i++) {
            tu_assert_ok(cl_write(log, db, &r, nops_of(&r), 1));
            if (cycle % 2 && eu_one_in(&r, 40)) {
                tu_assert_ok(strata_flush(db, eu_one_in(&r, 2)));
            }
        }
        fu_power_cut(&e, &db);
        db = fu_open(&e, "sync writes");
        long k = cl_verify(log, db, 0, "sync writes");
        assert_int_equal(k, cl_last_attempted(log)); /* every one of them was sync */
    }
    tu_assert_ok(strata_close(db));
    cl_destroy(log);
    fu_env_fini(&e);
}

static void test_nosync_writes_prefix(void **state)
{
    (void)state;
    int rounds = (int)(12 * tu_scale()) + 1;
    for (int round = 0; round < rounds; round++) {
        struct fu_env e;
        fu_env_init(&e, 0);
        eu_rng r;
        eu_rng_seed(&r, tu_seed(1) * 31 + (uint64_t)round);
        cl_log *log = cl_create(800, 4000);
        strata_db *db = NULL;
        tu_assert_ok(strata_open(e.opt, e.path, &db));
        /* Enough data for several memtable switches (and WAL switches) before the cut. */
        int n = 20 + (int)eu_uniform(&r, 900);
        for (int i = 0; i < n; i++) {
            tu_assert_ok(cl_write(log, db, &r, nops_of(&r), 0));
            if (eu_one_in(&r, 300)) {
                tu_assert_ok(strata_flush(db, 1));
                cl_mark_durable(log);
            }
        }
        fu_power_cut(&e, &db);
        db = fu_open(&e, "non-sync writes");
        cl_verify(log, db, 0, "non-sync writes");
        /* A second cut right after recovery loses nothing that was recovered. */
        fu_power_cut(&e, &db);
        db = fu_open(&e, "second cut after recovery");
        cl_verify(log, db, 0, "second cut after recovery");
        tu_assert_ok(strata_close(db));
        cl_destroy(log);
        fu_env_fini(&e);
    }
}

/* ---- batches spanning column families ---------------------------------------------------------- */

/* Batch id's write: keys of both families (the same ops), and the marker "~id" = id in both.
 * Every third one is an optimistic transaction holding the same operations, so a committed
 * transaction spanning families must survive whole or not at all too. */
static int mirror_write(strata_db *db, strata_cf *m, eu_rng *r, long id, int sync)
{
    strata_write_options *wo = strata_write_options_create();
    strata_write_options_set_sync(wo, sync);
    strata_batch *b = id % 3 ? strata_batch_create() : NULL;
    strata_txn *t = b ? NULL : strata_optimistic_txn_begin(db, wo, NULL);
    strata_cf *fams[2] = {strata_cf_default(db), m};
    char k[16], v[32];
    int n = 1 + (int)eu_uniform(r, 20), rc = b || t ? 0 : STRATA_E_NOMEM;
    for (int i = 0; i < n && !rc; i++) {
        int kl = snprintf(k, sizeof(k), "k%04d", (int)eu_uniform(r, 400));
        int vl = snprintf(v, sizeof(v), "%ld.%d", id, i);
        int del = eu_one_in(r, 6);
        for (int f = 0; f < 2 && !rc; f++) {
            if (t) {
                rc = del ? strata_txn_delete_cf(t, fams[f], k, (size_t)kl)
                         : strata_txn_put_cf(t, fams[f], k, (size_t)kl, v, (size_t)vl);
            } else {
                rc = del ? strata_batch_delete_cf(b, fams[f], k, (size_t)kl)
                         : strata_batch_put_cf(b, fams[f], k, (size_t)kl, v, (size_t)vl);
            }
        }
    }
    int ml = snprintf(v, sizeof(v), "%012ld", id);
    for (int f = 0; f < 2 && !rc; f++) {
        rc = t ? strata_txn_put_cf(t, fams[f], "~id", 3, v, (size_t)ml)
               : strata_batch_put_cf(b, fams[f], "~id", 3, v, (size_t)ml);
    }
    rc = rc ? rc : t ? strata_txn_commit(t) : strata_write(db, wo, b);
    strata_txn_destroy(t);
    strata_batch_destroy(b);
    strata_write_options_destroy(wo);
    return rc;
}

static long marker_of(strata_db *db, strata_cf *cf)
{
    void *v = NULL;
    size_t vl = 0;
    int rc = strata_get_cf(db, NULL, cf, "~id", 3, &v, &vl);
    char buf[32] = "0";
    if (!rc && vl < sizeof(buf)) {
        memcpy(buf, v, vl); /* not NUL-terminated */
        buf[vl] = '\0';
    }
    long id = strtol(buf, NULL, 10);
    strata_free(v);
    return id;
}

/* Batches written to two families (one flushed alone now and then) survive power loss whole:
 * the families hold the same keys, the recovered batch is at least the last one acknowledged
 * by a sync write, and at most the last one attempted. */
static void test_families_powerloss(void **state)
{
    (void)state;
    int rounds = (int)(8 * tu_scale()) + 1;
    for (int round = 0; round < rounds; round++) {
        struct fu_env e;
        fu_env_init(&e, round % 2);
        eu_rng r;
        eu_rng_seed(&r, tu_seed(1) * 53 + (uint64_t)round);
        strata_db *db = NULL;
        strata_cf *m = NULL;
        const char *names[] = {"mirror"};
        tu_assert_ok(strata_open_cf(e.opt, e.path, 1, names, NULL, &m, &db));
        long id = 0, synced = 0;
        for (int cycle = 0; cycle < 3; cycle++) {
            int n = 50 + (int)eu_uniform(&r, 600);
            for (int i = 0; i < n; i++) {
                int sync = eu_one_in(&r, 8);
                tu_assert_ok(mirror_write(db, m, &r, ++id, sync));
                synced = sync ? id : synced;
                if (eu_one_in(&r, 100)) {
                    tu_assert_ok(strata_flush_cf(db, eu_one_in(&r, 2) ? m : strata_cf_default(db),
                                                 eu_one_in(&r, 2)));
                }
            }
            fu_power_cut(&e, &db);
            tu_assert_ok(strata_open_cf(e.opt, e.path, 1, names, NULL, &m, &db));
            long k = marker_of(db, strata_cf_default(db));
            assert_true(k >= synced && k <= id);
            assert_int_equal(marker_of(db, m), k);
            mr_map *a = NULL, *b = NULL;
            tu_assert_ok(eu_cf_to_map(db, NULL, strata_cf_default(db), &a));
            tu_assert_ok(eu_cf_to_map(db, NULL, m, &b));
            assert_true(mr_equal(a, b));
            mr_destroy(a);
            mr_destroy(b);
            id = k; /* the next batches follow what survived */
            synced = k;
        }
        tu_assert_ok(strata_close(db));
        fu_env_fini(&e);
    }
}

/* ---- power loss while background work runs --------------------------------------------------- */

struct compactor {
    strata_db *db;
    int rc;
};

static void *compact_thread(void *arg)
{
    struct compactor *c = arg;
    c->rc = strata_compact_range(c->db, NULL, 0, NULL, 0);
    return NULL;
}

static void test_powerloss_during_background_work(void **state)
{
    (void)state;
    int rounds = (int)(10 * tu_scale()) + 1;
    for (int round = 0; round < rounds; round++) {
        struct fu_env e;
        fu_env_init(&e, 0);
        eu_rng r;
        eu_rng_seed(&r, tu_seed(1) * 77 + (uint64_t)round);
        cl_log *log = cl_create(1000, 6000);
        strata_db *db = NULL;
        tu_assert_ok(strata_open(e.opt, e.path, &db));
        for (int i = 0; i < 300; i++) {
            tu_assert_ok(cl_write(log, db, &r, nops_of(&r), eu_one_in(&r, 10)));
        }
        tu_assert_ok(strata_flush(db, 1));
        cl_mark_durable(log);
        /* A full compaction on another thread, and async flushes, while writes continue. */
        struct compactor c = {db, 0};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, compact_thread, &c), 0);
        int n = (int)eu_uniform(&r, 400);
        int stopped = 0;
        for (int i = 0; i < n && !stopped; i++) {
            stopped = cl_write(log, db, &r, nops_of(&r), eu_one_in(&r, 10)) != 0;
            if (i % 50 == 0) {
                strata_flush(db, 0);
            }
        }
        tu_assert_ok(st_env_fault_power_loss(e.fault));
        pthread_join(th, NULL); /* its compaction fails or finished before the cut */
        (void)c.rc;
        (void)strata_close(db);
        db = NULL;
        st_env_fault_reset(e.fault);
        db = fu_open(&e, "power loss during compaction");
        cl_verify(log, db, 0, "power loss during compaction");
        tu_assert_ok(strata_close(db));
        cl_destroy(log);
        fu_env_fini(&e);
    }
}

static void test_sync_right_after_memtable_switch(void **state)
{
    (void)state;
    /* Non-sync writes fill a memtable; right after it switches (its WAL not yet flushed to a
     * table), a sync write lands in the new WAL; then power goes.  The old WAL's writes must not
     * be lost while the newer sync write survives. */
    int rounds = (int)(10 * tu_scale()) + 2;
    long hits = 0;
    for (int round = 0; round < rounds; round++) {
        struct fu_env e;
        fu_env_init(&e, 0);
        eu_rng r;
        eu_rng_seed(&r, tu_seed(1) * 5 + (uint64_t)round);
        cl_log *log = cl_create(2000, 3000);
        strata_db *db = fu_open(&e, "switch");
        uint64_t imm = 0;
        for (int i = 0; i < 5000 && imm == 0; i++) {
            tu_assert_ok(cl_write(log, db, &r, 10, 0));
            tu_assert_ok(strata_property_int(db, "strata.num-immutable-mem-table", &imm));
        }
        hits += imm > 0;
        tu_assert_ok(cl_write(log, db, &r, 2, 1));
        fu_power_cut(&e, &db);
        db = fu_open(&e, "sync right after a memtable switch");
        cl_verify(log, db, 0, "sync right after a memtable switch");
        tu_assert_ok(strata_close(db));
        cl_destroy(log);
        fu_env_fini(&e);
    }
    print_message("memtable switch: %ld of %d rounds cut with an unflushed immutable memtable\n",
                  hits, rounds);
}

/* ---- concurrent writers ---------------------------------------------------------------------- */

#define CW_THREADS 3

struct cwriter {
    strata_db *db;
    cl_log *log;
    eu_rng r;
    long writes;
};

static void *cwriter_main(void *arg)
{
    struct cwriter *w = arg;
    for (;;) {
        int rc = cl_write(w->log, w->db, &w->r, 1 + (int)eu_uniform(&w->r, 8), eu_one_in(&w->r, 6));
        if (rc != 0) {
            break; /* the power is gone */
        }
        w->writes++;
    }
    return NULL;
}

static void test_concurrent_writers_powerloss(void **state)
{
    (void)state;
    /* Group commit: several threads write (some sync) into one WAL; power goes at a random
     * moment.  Each thread's writes must survive as a prefix covering its sync writes. */
    int rounds = (int)(8 * tu_scale()) + 2;
    for (int round = 0; round < rounds; round++) {
        struct fu_env e;
        fu_env_init(&e, 0);
        strata_db *db = fu_open(&e, "concurrent writers");
        struct cwriter ws[CW_THREADS];
        pthread_t th[CW_THREADS];
        for (int t = 0; t < CW_THREADS; t++) {
            char ns[8];
            snprintf(ns, sizeof(ns), "t%d/", t);
            ws[t].db = db;
            ws[t].log = cl_create_ns(ns, 500, 2000);
            ws[t].writes = 0;
            eu_rng_seed(&ws[t].r, tu_seed(1) * 101 + (uint64_t)(round * CW_THREADS + t));
            assert_int_equal(pthread_create(&th[t], NULL, cwriter_main, &ws[t]), 0);
        }
        struct timespec ts = {0, (long)(5 + round * 7) * 1000 * 1000};
        nanosleep(&ts, NULL);
        tu_assert_ok(st_env_fault_power_loss(e.fault));
        for (int t = 0; t < CW_THREADS; t++) {
            pthread_join(th[t], NULL);
        }
        (void)strata_close(db);
        db = NULL;
        st_env_fault_reset(e.fault);
        db = fu_open(&e, "concurrent writers after power loss");
        for (int t = 0; t < CW_THREADS; t++) {
            char what[64];
            snprintf(what, sizeof(what), "concurrent writer %d (%ld writes)", t, ws[t].writes);
            cl_verify(ws[t].log, db, 0, what);
            cl_destroy(ws[t].log);
        }
        tu_assert_ok(strata_close(db));
        fu_env_fini(&e);
    }
}

/* ---- crash at every step --------------------------------------------------------------------- */

/* Writes, flushes, a compaction, a close/reopen (a MANIFEST switch) and more of the same.  Stops
 * at the first failure; leaves *db open or NULL. */
static void sweep_workload(struct fu_env *e, cl_log *log, strata_db **db, uint64_t seed,
                           int nbatches)
{
    eu_rng r;
    eu_rng_seed(&r, seed);
    if (strata_open(e->opt, e->path, db) != 0) {
        *db = NULL;
        return;
    }
    for (int phase = 0; phase < 2; phase++) {
        for (int i = 0; i < nbatches; i++) {
            if (cl_write(log, *db, &r, nops_of(&r), i % 5 == 0) != 0) {
                return;
            }
            if (i % 15 == 14) {
                if (strata_flush(*db, 1) != 0) {
                    return;
                }
                cl_mark_durable(log);
            }
            if (i == nbatches * 2 / 3 && strata_compact_range(*db, NULL, 0, NULL, 0) != 0) {
                return;
            }
        }
        if (phase == 0) {
            int rc = strata_close(*db);
            *db = NULL;
            if (rc != 0 || strata_open(e->opt, e->path, db) != 0) {
                *db = NULL;
                return;
            }
        }
    }
}

static void crash_point_sweep(int posix, int points, uint64_t seed, int nbatches)
{
    /* Dry run: how many mutating env calls does the workload make? */
    struct fu_env e;
    fu_env_init(&e, posix);
    cl_log *log = cl_create(300, 2500);
    strata_db *db = NULL;
    sweep_workload(&e, log, &db, seed, nbatches);
    assert_non_null(db);
    tu_assert_ok(strata_close(db));
    long total = fu_mutating_calls(e.fault);
    cl_destroy(log);
    fu_env_fini(&e);
    assert_true(total > 10);

    long injected_runs = 0;
    for (int p = 0; p <= points; p++) {
        long nth = points >= total ? p : (long)((double)p * (double)total / points);
        if (nth > total) {
            break;
        }
        fu_env_init(&e, posix);
        log = cl_create(300, 2500);
        db = NULL;
        st_env_fault_fail(e.fault, FU_MUTATING, NULL, nth, 1, STRATA_E_IO);
        sweep_workload(&e, log, &db, seed, nbatches);
        injected_runs += st_env_fault_injected(e.fault) > 0;
        fu_power_cut(&e, &db);
        char what[96];
        snprintf(what, sizeof(what), "crash at mutating call %ld of %ld%s", nth, total,
                 posix ? " (posix)" : "");
        db = fu_open(&e, what);
        cl_verify(log, db, 0, what);
        /* The recovered DB accepts writes and survives one more cut. */
        eu_rng r;
        eu_rng_seed(&r, seed + 1);
        tu_assert_ok(cl_write(log, db, &r, 5, 1));
        fu_power_cut(&e, &db);
        db = fu_open(&e, what);
        cl_verify(log, db, 0, what);
        tu_assert_ok(strata_close(db));
        cl_destroy(log);
        fu_env_fini(&e);
    }
    print_message("crash sweep%s: %ld mutating calls, %d crash points, %ld hit\n",
                  posix ? " (posix)" : "", total, points + 1, injected_runs);
    assert_true(injected_runs > 0);
}

static void test_crash_point_sweep_mem(void **state)
{
    (void)state;
    crash_point_sweep(0, (int)(150 * tu_scale()) + 5, tu_seed(1) + 1000, 60);
}

static void test_crash_point_sweep_posix(void **state)
{
    (void)state;
    /* Real fsyncs: fewer points over a shorter workload. */
    crash_point_sweep(1, (int)(6 * tu_scale()) + 3, tu_seed(1) + 2000, 30);
}

/* ---- MANIFEST / CURRENT switch --------------------------------------------------------------- */

struct target {
    int ops;
    const char *substr;
    const char *name;
};

static void test_manifest_switch(void **state)
{
    (void)state;
    const struct target targets[] = {
        {ST_FAULT_CREATE, "MANIFEST", "create MANIFEST"},
        {ST_FAULT_WRITE, "MANIFEST", "write MANIFEST"},
        {ST_FAULT_SYNC, "MANIFEST", "sync MANIFEST"},
        {ST_FAULT_CREATE | ST_FAULT_WRITE | ST_FAULT_SYNC, "CURRENT", "write temp CURRENT"},
        {ST_FAULT_RENAME, "CURRENT", "rename CURRENT"},
        {ST_FAULT_SYNC_DIR, NULL, "sync dir"},
        {ST_FAULT_REMOVE, NULL, "remove obsolete file"},
    };
    long hits = 0;
    for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
        for (long nth = 0; nth < 4; nth++) {
            struct fu_env e;
            fu_env_init(&e, 0);
            eu_rng r;
            eu_rng_seed(&r, tu_seed(1) + 5000 + t * 10 + (uint64_t)nth);
            cl_log *log = cl_create(200, 2000);
            strata_db *db = NULL;
            tu_assert_ok(strata_open(e.opt, e.path, &db));
            for (int i = 0; i < 50; i++) {
                tu_assert_ok(cl_write(log, db, &r, nops_of(&r), i % 7 == 0));
            }
            tu_assert_ok(strata_close(db));
            db = NULL;
            /* Freeze the disk at the nth matching call, during reopen (new MANIFEST), flushes
             * and compactions (edits, possibly a MANIFEST roll-over). */
            st_env_fault_fail(e.fault, targets[t].ops, targets[t].substr, nth, 1, STRATA_E_IO);
            if (strata_open(e.opt, e.path, &db) == 0) {
                for (int i = 0; i < 40; i++) {
                    if (cl_write(log, db, &r, nops_of(&r), 1) != 0 || strata_flush(db, 1) != 0) {
                        break;
                    }
                    cl_mark_durable(log);
                }
            } else {
                db = NULL;
            }
            hits += st_env_fault_injected(e.fault) > 0;
            fu_power_cut(&e, &db);
            char what[96];
            snprintf(what, sizeof(what), "fault at %s #%ld then power loss", targets[t].name, nth);
            db = fu_open(&e, what);
            cl_verify(log, db, 0, what);
            tu_assert_ok(strata_close(db));
            cl_destroy(log);
            fu_env_fini(&e);
        }
    }
    print_message("manifest switch: %ld of %zu runs hit their fault\n", hits,
                  4 * sizeof(targets) / sizeof(targets[0]));
    assert_true(hits > 0);
}

static void test_many_flushes_then_cut(void **state)
{
    (void)state;
    /* Hundreds of MANIFEST edits in one session, cut at a random point in each round. */
    int rounds = (int)(6 * tu_scale()) + 1;
    for (int round = 0; round < rounds; round++) {
        struct fu_env e;
        fu_env_init(&e, 0);
        eu_rng r;
        eu_rng_seed(&r, tu_seed(1) * 13 + (uint64_t)round);
        cl_log *log = cl_create(400, 500);
        strata_db *db = NULL;
        tu_assert_ok(strata_open(e.opt, e.path, &db));
        int n = 100 + (int)eu_uniform(&r, 300);
        for (int i = 0; i < n; i++) {
            tu_assert_ok(cl_write(log, db, &r, 3, 0));
            tu_assert_ok(strata_flush(db, 1));
            cl_mark_durable(log);
        }
        st_env_fault_fail(e.fault, FU_MUTATING, NULL, (long)eu_uniform(&r, 60), 1, STRATA_E_IO);
        for (int i = 0; i < 30; i++) {
            if (cl_write(log, db, &r, 3, 0) != 0 || strata_flush(db, 1) != 0) {
                break;
            }
            cl_mark_durable(log);
        }
        fu_power_cut(&e, &db);
        db = fu_open(&e, "many flushes");
        cl_verify(log, db, 0, "many flushes");
        tu_assert_ok(strata_close(db));
        cl_destroy(log);
        fu_env_fini(&e);
    }
}

/* ---- repeated crash/reopen cycles on one DB -------------------------------------------------- */

static void test_repeated_crash_cycles(void **state)
{
    (void)state;
    struct fu_env e;
    fu_env_init(&e, 0);
    eu_rng r;
    eu_rng_seed(&r, tu_seed(1) + 9999);
    cl_log *log = cl_create(2000, 3000);
    strata_db *db = NULL;
    tu_assert_ok(strata_open(e.opt, e.path, &db));
    int cycles = (int)(40 * tu_scale()) + 2;
    for (int cycle = 0; cycle < cycles; cycle++) {
        if (eu_one_in(&r, 2)) {
            st_env_fault_fail(e.fault, FU_MUTATING, NULL, (long)eu_uniform(&r, 400), 1,
                              STRATA_E_IO);
        }
        int n = (int)eu_uniform(&r, 400);
        for (int i = 0; i < n; i++) {
            int rc = cl_write(log, db, &r, nops_of(&r), eu_one_in(&r, 12));
            if (rc == 0 && eu_one_in(&r, 80)) {
                rc = strata_flush(db, 1);
                if (rc == 0) {
                    cl_mark_durable(log);
                }
            }
            if (rc == 0 && eu_one_in(&r, 200)) {
                rc = strata_compact_range(db, NULL, 0, NULL, 0);
            }
            if (rc != 0) {
                break;
            }
        }
        fu_power_cut(&e, &db);
        char what[64];
        snprintf(what, sizeof(what), "crash cycle %d", cycle);
        db = fu_open(&e, what);
        cl_verify(log, db, 0, what);
    }
    /* A clean close and reopen at the end sees the same state. */
    tu_assert_ok(strata_close(db));
    tu_assert_ok(strata_open(e.opt, e.path, &db));
    cl_verify(log, db, 1, "clean reopen after cycles");
    tu_assert_ok(strata_close(db));
    cl_destroy(log);
    fu_env_fini(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_writes_survive),
        cmocka_unit_test(test_nosync_writes_prefix),
        cmocka_unit_test(test_powerloss_during_background_work),
        cmocka_unit_test(test_sync_right_after_memtable_switch),
        cmocka_unit_test(test_concurrent_writers_powerloss),
        cmocka_unit_test(test_crash_point_sweep_mem),
        cmocka_unit_test(test_crash_point_sweep_posix),
        cmocka_unit_test(test_manifest_switch),
        cmocka_unit_test(test_many_flushes_then_cut),
        cmocka_unit_test(test_repeated_crash_cycles),
        cmocka_unit_test(test_families_powerloss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
