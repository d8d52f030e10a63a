/* test_mt.c — multi-threaded whole-engine test: writer threads (single puts, batches, atomic
 * "group" batches; sync and non-sync) and reader threads (get, get_pinned, iterators, snapshots)
 * run against one DB while a maintenance thread flushes, compacts and reads properties, with a
 * 64 KiB write buffer so memtable switches, flushes and compactions happen all the time.
 *
 * Key spaces: writer t owns keys "w<t>-k<j>" (j < NKEYS) and group keys "w<t>-g<x>" (x < NGROUP).
 * Every operation of writer t carries its own counter c (strictly increasing), encoded as 16 hex
 * digits at the start of each value, so a key's value only ever grows.  After a write returns,
 * the writer publishes c for the keys it wrote (release store).  Readers check:
 *  - a get returns at least the value published before the get started (no stale read of an
 *    acknowledged write) and never less than what this reader saw before (no going back), and
 *    never a counter the writer has not reached (no values from nowhere);
 *  - all group keys of a writer have the same counter in any snapshot or iterator (batches are
 *    atomic);
 *  - repeated reads at one snapshot return the same values, and an iterator at a snapshot agrees
 *    with gets at that snapshot.
 * At the end every key holds its writer's last value, also after close and reopen.
 *
 * Threads never call cmocka: they record the first failure and stop; the main thread fails.
 * Must be clean under TSan (-DSTRATA_SANITIZE=thread with clang).  Runs ~4 s * STRATA_TEST_SCALE
 * per test. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_util.h"
#include "strata.h"
#include "test_util.h"

#define NWRITERS 3
#define NREADERS 2
#define NKEYS 200
#define NGROUP 8

struct shared {
    strata_db *db;
    atomic_int stop;
    atomic_int failed;
    pthread_mutex_t msg_mu;
    char msg[1024];
    /* published[t][j]: last acknowledged counter of key j of writer t (j >= NKEYS: group). */
    _Atomic uint64_t published[NWRITERS][NKEYS + 1];
    _Atomic uint64_t counter[NWRITERS];       /* highest counter writer t has started to write */
    uint64_t final_vals[NWRITERS][NKEYS + 1]; /* written by writer t only; read after join */
    atomic_long writes, reads, iters, snaps, flushes, compactions;
    int sync_every;
};

static void thread_fail(struct shared *sh, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void thread_fail(struct shared *sh, const char *fmt, ...)
{
    pthread_mutex_lock(&sh->msg_mu);
    if (!atomic_load(&sh->failed)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sh->msg, sizeof(sh->msg), fmt, ap);
        va_end(ap);
        atomic_store(&sh->failed, 1);
    }
    pthread_mutex_unlock(&sh->msg_mu);
    atomic_store(&sh->stop, 1);
}

static int running(struct shared *sh)
{
    return !atomic_load_explicit(&sh->stop, memory_order_acquire);
}

static int key_of(char *buf, int t, int j)
{
    if (j < NKEYS) {
        return snprintf(buf, 32, "w%d-k%04d", t, j);
    }
    return snprintf(buf, 32, "w%d-g", t);
}

static int group_key(char *buf, int t, int x)
{
    return snprintf(buf, 32, "w%d-g%d", t, x);
}

static size_t make_value(char *buf, uint64_t c, int t)
{
    int n = snprintf(buf, 64, "%016llx-%d-", (unsigned long long)c, t);
    size_t pad = (size_t)(c % 97);
    memset(buf + n, 'p', pad);
    return (size_t)n + pad;
}

/* The counter encoded in a value, or UINT64_MAX if malformed. */
static uint64_t value_counter(const char *v, size_t vlen)
{
    char hex[17];
    if (vlen < 17 || v[16] != '-') {
        return UINT64_MAX;
    }
    memcpy(hex, v, 16);
    hex[16] = '\0';
    char *end = NULL;
    uint64_t c = strtoull(hex, &end, 16);
    return end == hex + 16 ? c : UINT64_MAX;
}

/* ---- writers --------------------------------------------------------------------------------- */

struct writer {
    struct shared *sh;
    int t;
    eu_rng r;
};

static int write_one(struct writer *w, strata_write_options *wo, uint64_t c)
{
    char k[32], v[160];
    int j = (int)eu_uniform(&w->r, NKEYS);
    int kl = key_of(k, w->t, j);
    size_t vl = make_value(v, c, w->t);
    int rc = strata_put(w->sh->db, wo, k, (size_t)kl, v, vl);
    if (rc == 0) {
        w->sh->final_vals[w->t][j] = c;
        atomic_store_explicit(&w->sh->published[w->t][j], c, memory_order_release);
    }
    return rc;
}

static int write_batch(struct writer *w, strata_write_options *wo, uint64_t c, int group)
{
    char k[32], v[160];
    int js[16];
    int n = group ? NGROUP : 1 + (int)eu_uniform(&w->r, 16);
    strata_batch *b = strata_batch_create();
    size_t vl = make_value(v, c, w->t);
    int rc = b ? 0 : STRATA_E_NOMEM;
    for (int i = 0; i < n && rc == 0; i++) {
        int kl;
        if (group) {
            kl = group_key(k, w->t, i);
        } else {
            js[i] = (int)eu_uniform(&w->r, NKEYS);
            kl = key_of(k, w->t, js[i]);
        }
        rc = strata_batch_put(b, k, (size_t)kl, v, vl);
    }
    if (rc == 0) {
        rc = strata_write(w->sh->db, wo, b);
    }
    strata_batch_destroy(b);
    if (rc != 0) {
        return rc;
    }
    for (int i = 0; i < (group ? 1 : n); i++) {
        int j = group ? NKEYS : js[i];
        w->sh->final_vals[w->t][j] = c;
        atomic_store_explicit(&w->sh->published[w->t][j], c, memory_order_release);
    }
    return 0;
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct shared *sh = w->sh;
    strata_write_options *plain = strata_write_options_create();
    strata_write_options *sync = strata_write_options_create();
    strata_write_options_set_sync(sync, 1);
    uint64_t c = 0;
    while (running(sh)) {
        c++;
        atomic_store_explicit(&sh->counter[w->t], c, memory_order_release);
        strata_write_options *wo = eu_one_in(&w->r, (uint64_t)sh->sync_every) ? sync : plain;
        uint64_t x = eu_uniform(&w->r, 10);
        int rc = x < 7 ? write_one(w, wo, c) : write_batch(w, wo, c, x == 9);
        if (rc != 0) {
            thread_fail(sh, "writer %d: write %llu failed: %d (%s)", w->t, (unsigned long long)c,
                        rc, strata_strerror(rc));
            break;
        }
        atomic_fetch_add(&sh->writes, 1);
    }
    strata_write_options_destroy(plain);
    strata_write_options_destroy(sync);
    return NULL;
}

/* ---- readers --------------------------------------------------------------------------------- */

struct reader {
    struct shared *sh;
    int id;
    eu_rng r;
    uint64_t seen[NWRITERS][NKEYS + 1];
};

/* Checks a value read for key (t, j) against what was published before the read (floor) and the
 * writer's counter after it (ceiling); updates the reader's high-water mark when monotone. */
static int check_read(struct reader *rd, int t, int j, const char *v, size_t vlen, uint64_t floor,
                      int monotone, const char *how)
{
    uint64_t c = value_counter(v, vlen);
    uint64_t ceiling = atomic_load_explicit(&rd->sh->counter[t], memory_order_acquire);
    if (c == UINT64_MAX || c < floor || c > ceiling || (monotone && c < rd->seen[t][j])) {
        thread_fail(rd->sh,
                    "reader %d (%s): key w%d/%d read counter %llu; published before the read "
                    "%llu, writer at %llu, this reader saw %llu before",
                    rd->id, how, t, j, (unsigned long long)c, (unsigned long long)floor,
                    (unsigned long long)ceiling, (unsigned long long)rd->seen[t][j]);
        return -1;
    }
    if (monotone && c > rd->seen[t][j]) {
        rd->seen[t][j] = c;
    }
    return 0;
}

static int read_get(struct reader *rd)
{
    int t = (int)eu_uniform(&rd->r, NWRITERS);
    int j = (int)eu_uniform(&rd->r, NKEYS);
    char k[32];
    int kl = key_of(k, t, j);
    uint64_t floor = atomic_load_explicit(&rd->sh->published[t][j], memory_order_acquire);
    if (eu_one_in(&rd->r, 4)) {
        strata_pinned *p = NULL;
        int rc = strata_get_pinned(rd->sh->db, NULL, k, (size_t)kl, &p);
        if (rc == STRATA_E_NOTFOUND && floor == 0) {
            return 0;
        }
        if (rc != 0) {
            thread_fail(rd->sh, "reader %d: get_pinned %s: %d (%s)", rd->id, k, rc,
                        strata_strerror(rc));
            return -1;
        }
        size_t vl;
        const char *v = strata_pinned_value(p, &vl);
        rc = check_read(rd, t, j, v, vl, floor, 1, "get_pinned");
        strata_pinned_release(p);
        return rc;
    }
    void *v = NULL;
    size_t vl = 0;
    int rc = strata_get(rd->sh->db, NULL, k, (size_t)kl, &v, &vl);
    if (rc == STRATA_E_NOTFOUND && floor == 0) {
        return 0;
    }
    if (rc != 0) {
        thread_fail(rd->sh, "reader %d: get %s: %d (%s)", rd->id, k, rc, strata_strerror(rc));
        return -1;
    }
    rc = check_read(rd, t, j, v, vl, floor, 1, "get");
    strata_free(v);
    return rc;
}

/* Scans writer t's keys through ro; checks each value and that the group keys agree.  Fills
 * vals[j] with the counters seen (0 = absent). */
static int scan_writer(struct reader *rd, const strata_read_options *ro, int t,
                       const uint64_t *floors, uint64_t *vals, const char *how)
{
    strata_iter *it = NULL;
    int rc = strata_iter_create(rd->sh->db, ro, &it);
    if (rc != 0) {
        thread_fail(rd->sh, "reader %d: iter_create: %d", rd->id, rc);
        return -1;
    }
    memset(vals, 0, sizeof(uint64_t) * (NKEYS + 1));
    uint64_t group = UINT64_MAX;
    char prefix[16];
    int pl = snprintf(prefix, sizeof(prefix), "w%d-", t);
    for (strata_iter_seek(it, prefix, (size_t)pl); strata_iter_valid(it) && rc == 0;
         strata_iter_next(it)) {
        size_t kl, vl;
        const char *k = strata_iter_key(it, &kl);
        const char *v = strata_iter_value(it, &vl);
        if (kl < (size_t)pl || memcmp(k, prefix, (size_t)pl) != 0) {
            break;
        }
        uint64_t c = value_counter(v, vl);
        if (k[pl] == 'g') {
            if (group != UINT64_MAX && c != group) {
                thread_fail(rd->sh,
                            "reader %d (%s): writer %d group keys disagree: %llu vs %llu"
                            " (torn batch)",
                            rd->id, how, t, (unsigned long long)group, (unsigned long long)c);
                rc = -1;
            }
            group = c;
            vals[NKEYS] = c;
            rc = rc ? rc : check_read(rd, t, NKEYS, v, vl, floors[NKEYS], 0, how);
        } else {
            int j = 0;
            for (size_t i = (size_t)pl + 1; i < kl && k[i] >= '0' && k[i] <= '9'; i++) {
                j = j * 10 + (k[i] - '0');
            }
            if (j >= NKEYS) {
                thread_fail(rd->sh, "reader %d (%s): unexpected key %.*s", rd->id, how, (int)kl, k);
                rc = -1;
                break;
            }
            vals[j] = c;
            rc = check_read(rd, t, j, v, vl, floors[j], 0, how);
        }
    }
    if (rc == 0 && strata_iter_status(it) != 0) {
        thread_fail(rd->sh, "reader %d (%s): iterator status %d", rd->id, how,
                    strata_iter_status(it));
        rc = -1;
    }
    strata_iter_destroy(it);
    return rc;
}

static void load_floors(struct shared *sh, int t, uint64_t *floors)
{
    for (int j = 0; j <= NKEYS; j++) {
        floors[j] = atomic_load_explicit(&sh->published[t][j], memory_order_acquire);
    }
}

static int read_iter(struct reader *rd)
{
    int t = (int)eu_uniform(&rd->r, NWRITERS);
    uint64_t floors[NKEYS + 1], vals[NKEYS + 1];
    load_floors(rd->sh, t, floors);
    /* Keys absent in the scan must not have been published before it. */
    int rc = scan_writer(rd, NULL, t, floors, vals, "iterator");
    for (int j = 0; j < NKEYS && rc == 0; j++) {
        if (vals[j] == 0 && floors[j] != 0) {
            thread_fail(rd->sh, "reader %d: iterator misses key w%d/%d published at %llu", rd->id,
                        t, j, (unsigned long long)floors[j]);
            rc = -1;
        }
    }
    atomic_fetch_add(&rd->sh->iters, 1);
    return rc;
}

static int read_snapshot(struct reader *rd)
{
    struct shared *sh = rd->sh;
    int t = (int)eu_uniform(&rd->r, NWRITERS);
    uint64_t floors[NKEYS + 1], first[NKEYS + 1], second[NKEYS + 1];
    load_floors(sh, t, floors);
    const strata_snapshot *s = strata_snapshot_create(sh->db);
    if (!s) {
        thread_fail(sh, "reader %d: snapshot_create returned NULL", rd->id);
        return -1;
    }
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_snapshot(ro, s);
    int rc = scan_writer(rd, ro, t, floors, first, "snapshot iterator");
    /* Let writers, flushes and compactions move on, then read the snapshot again by gets. */
    for (int i = 0; i < 20 && rc == 0; i++) {
        rc = read_get(rd);
    }
    for (int j = 0; j < NKEYS && rc == 0; j += 1 + (int)eu_uniform(&rd->r, 8)) {
        char k[32];
        int kl = key_of(k, t, j);
        void *v = NULL;
        size_t vl = 0;
        int grc = strata_get(sh->db, ro, k, (size_t)kl, &v, &vl);
        uint64_t c = grc == 0 ? value_counter(v, vl) : 0;
        strata_free(v);
        if ((grc != 0 && grc != STRATA_E_NOTFOUND) || c != first[j]) {
            thread_fail(sh,
                        "reader %d: snapshot get of w%d/%d returned %d / counter %llu, the "
                        "snapshot iterator saw %llu",
                        rd->id, t, j, grc, (unsigned long long)c, (unsigned long long)first[j]);
            rc = -1;
        }
    }
    if (rc == 0) {
        rc = scan_writer(rd, ro, t, floors, second, "snapshot iterator, second scan");
    }
    if (rc == 0 && memcmp(first, second, sizeof(first)) != 0) {
        thread_fail(sh, "reader %d: two scans of one snapshot differ (writer %d)", rd->id, t);
        rc = -1;
    }
    strata_read_options_destroy(ro);
    strata_snapshot_release(sh->db, s);
    atomic_fetch_add(&sh->snaps, 1);
    return rc;
}

static void *reader_main(void *arg)
{
    struct reader *rd = arg;
    while (running(rd->sh)) {
        uint64_t x = eu_uniform(&rd->r, 100);
        int rc = x < 80 ? read_get(rd) : (x < 93 ? read_iter(rd) : read_snapshot(rd));
        if (rc != 0) {
            break;
        }
        atomic_fetch_add(&rd->sh->reads, 1);
    }
    return NULL;
}

/* ---- maintenance ----------------------------------------------------------------------------- */

struct maint {
    struct shared *sh;
    eu_rng r;
};

static void *maint_main(void *arg)
{
    struct maint *m = arg;
    struct shared *sh = m->sh;
    while (running(sh)) {
        int rc = 0;
        uint64_t x = eu_uniform(&m->r, 10);
        if (x < 5) {
            rc = strata_flush(sh->db, (int)(x % 2));
            atomic_fetch_add(&sh->flushes, 1);
        } else if (x < 7) {
            char a[32], b[32];
            int al = key_of(a, (int)eu_uniform(&m->r, NWRITERS), (int)eu_uniform(&m->r, NKEYS));
            int bl = key_of(b, (int)eu_uniform(&m->r, NWRITERS), NKEYS);
            rc = mr_compare(a, (size_t)al, b, (size_t)bl) <= 0
                     ? strata_compact_range(sh->db, a, (size_t)al, b, (size_t)bl)
                     : strata_compact_range(sh->db, NULL, 0, NULL, 0);
            atomic_fetch_add(&sh->compactions, 1);
        } else {
            char *text = NULL;
            uint64_t v;
            rc = strata_property(sh->db, x == 7 ? "strata.stats" : "strata.sstables", &text);
            strata_free(text);
            if (rc == 0) {
                rc = strata_property_int(sh->db, "strata.num-files-at-level0", &v);
            }
        }
        if (rc != 0) {
            thread_fail(sh, "maintenance op %llu failed: %d (%s)", (unsigned long long)x, rc,
                        strata_strerror(rc));
            break;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* ---- driver ---------------------------------------------------------------------------------- */

static void check_final(struct shared *sh, const char *what)
{
    for (int t = 0; t < NWRITERS; t++) {
        for (int j = 0; j <= NKEYS; j++) {
            uint64_t want = sh->final_vals[t][j];
            for (int x = 0; x < (j == NKEYS ? NGROUP : 1); x++) {
                char k[32];
                int kl = j == NKEYS ? group_key(k, t, x) : key_of(k, t, j);
                void *v = NULL;
                size_t vl = 0;
                int rc = strata_get(sh->db, NULL, k, (size_t)kl, &v, &vl);
                uint64_t got = rc == 0 ? value_counter(v, vl) : 0;
                strata_free(v);
                if ((rc != 0 && !(rc == STRATA_E_NOTFOUND && want == 0)) || got != want) {
                    print_error("%s: %s holds counter %llu (get %d), writer's last is %llu\n", what,
                                k, (unsigned long long)got, rc, (unsigned long long)want);
                    fail();
                }
            }
        }
    }
}

static void run_mt(strata_env *env, const char *path, double seconds, int sync_every)
{
    struct shared *sh = calloc(1, sizeof(*sh));
    assert_non_null(sh);
    pthread_mutex_init(&sh->msg_mu, NULL);
    sh->sync_every = sync_every;
    strata_options *o = strata_options_create();
    strata_options_set_create_if_missing(o, 1);
    if (env) {
        strata_options_set_env(o, env);
    }
    strata_options_set_write_buffer_size(o, eu_write_buffer_size());
    strata_options_set_target_file_size(o, 64 << 10);
    strata_options_set_max_bytes_for_level_base(o, 256 << 10);
    strata_options_set_level0_compaction_trigger(o, 2);
    strata_options_set_block_size(o, 1024);
    strata_options_set_block_cache_size(o, 128 << 10);
    strata_options_set_max_background_jobs(o, 3);
    tu_assert_ok(strata_open(o, path, &sh->db));

    uint64_t seed = tu_seed(7);
    struct writer ws[NWRITERS];
    struct reader *rs = calloc(NREADERS, sizeof(*rs));
    struct maint mt = {sh, {0}};
    pthread_t wt[NWRITERS], rt[NREADERS], mtid;
    eu_rng_seed(&mt.r, seed + 100);
    for (int i = 0; i < NWRITERS; i++) {
        ws[i].sh = sh;
        ws[i].t = i;
        eu_rng_seed(&ws[i].r, seed + (uint64_t)i);
        assert_int_equal(pthread_create(&wt[i], NULL, writer_main, &ws[i]), 0);
    }
    for (int i = 0; i < NREADERS; i++) {
        rs[i].sh = sh;
        rs[i].id = i;
        eu_rng_seed(&rs[i].r, seed + 50 + (uint64_t)i);
        assert_int_equal(pthread_create(&rt[i], NULL, reader_main, &rs[i]), 0);
    }
    assert_int_equal(pthread_create(&mtid, NULL, maint_main, &mt), 0);

    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (running(sh) &&
             (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
    atomic_store(&sh->stop, 1);
    for (int i = 0; i < NWRITERS; i++) {
        pthread_join(wt[i], NULL);
    }
    for (int i = 0; i < NREADERS; i++) {
        pthread_join(rt[i], NULL);
    }
    pthread_join(mtid, NULL);
    if (atomic_load(&sh->failed)) {
        print_error("%s\n", sh->msg);
        fail();
    }
    char *levels = eu_level_summary(sh->db);
    print_message(
        "mt: %ld writes, %ld reads (%ld iterators, %ld snapshots), %ld flushes, "
        "%ld compactions; files %s\n",
        atomic_load(&sh->writes), atomic_load(&sh->reads), atomic_load(&sh->iters),
        atomic_load(&sh->snaps), atomic_load(&sh->flushes), atomic_load(&sh->compactions),
        levels ? levels : "?");
    free(levels);
    assert_true(atomic_load(&sh->writes) > 100);
    check_final(sh, "after the run");
    tu_assert_ok(strata_close(sh->db));
    tu_assert_ok(strata_open(o, path, &sh->db));
    check_final(sh, "after reopen");
    tu_assert_ok(strata_close(sh->db));
    strata_options_destroy(o);
    pthread_mutex_destroy(&sh->msg_mu);
    free(rs);
    free(sh);
}

static double duration(double base)
{
    double s = base * tu_scale();
    return s < 0.5 ? 0.5 : (s > 15 ? 15 : s);
}

static void test_mt_mem_env(void **state)
{
    (void)state;
    strata_env *env = strata_env_create_mem();
    run_mt(env, "/mtdb", duration(4.0), 20);
    strata_env_destroy(env);
}

static void test_mt_posix_env(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("mt");
    run_mt(NULL, dir, duration(2.5), 200);
    tu_free_path(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mt_mem_env),
        cmocka_unit_test(test_mt_posix_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
