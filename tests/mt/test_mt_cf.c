/* test_mt_cf.c — column families under concurrency (issue #13), for TSan and the normal build:
 *  - writer threads write batches that put the same key with the same counter value into three
 *    families (default, "a", "b"), so a batch that were not atomic across families would show
 *    up as differing values;
 *  - reader threads take a snapshot and check that the three families agree on sampled keys;
 *  - a maintenance thread flushes and compacts single families and creates, fills and drops
 *    short-lived families while the writers run (create/drop take the write queue's front);
 * with a 64 KiB write buffer, so memtable switches, per-family flushes and WAL deletion happen
 * all the time.  At the end, and again after close and reopen, every key agrees across the three
 * families and holds its writer's last value.  Threads record the first failure; the main
 * thread fails.  Runs ~3 s * STRATA_TEST_SCALE. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strata.h"
#include "test_util.h"

#define NWRITERS 3
#define NREADERS 2
#define NKEYS 150
#define NFAM 3

struct shared {
    strata_db *db;
    strata_cf *fam[NFAM];
    atomic_int stop;
    atomic_int failed;
    pthread_mutex_t msg_mu;
    char msg[512];
    uint64_t last[NWRITERS][NKEYS]; /* writer t only; read after join */
    atomic_long batches, checks, dropped;
};

static void record_failure(struct shared *s, const char *what, int rc)
{
    pthread_mutex_lock(&s->msg_mu);
    if (!atomic_exchange(&s->failed, 1)) {
        snprintf(s->msg, sizeof(s->msg), "%s: %s (%s)", what, tu_strerror(rc), strata_errmsg());
    }
    pthread_mutex_unlock(&s->msg_mu);
    atomic_store(&s->stop, 1);
}

static int key_of(char *buf, int t, int j)
{
    return snprintf(buf, 32, "w%d-k%04d", t, j);
}

struct writer_arg {
    struct shared *s;
    int t;
};

static void *writer(void *p)
{
    struct writer_arg *a = p;
    struct shared *s = a->s;
    strata_batch *b = strata_batch_create();
    uint64_t c = 0, rnd = (uint64_t)a->t * 7919 + 1;
    char k[32], v[32];
    while (!atomic_load(&s->stop)) {
        strata_batch_clear(b);
        rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
        int j = (int)((rnd >> 33) % NKEYS);
        int kl = key_of(k, a->t, j);
        int vl = snprintf(v, sizeof(v), "%016llx", (unsigned long long)++c);
        for (int f = 0; f < NFAM; f++) {
            strata_batch_put_cf(b, s->fam[f], k, (size_t)kl, v, (size_t)vl);
        }
        int rc = strata_write(s->db, NULL, b);
        if (rc) {
            record_failure(s, "write", rc);
            break;
        }
        s->last[a->t][j] = c;
        atomic_fetch_add(&s->batches, 1);
    }
    strata_batch_destroy(b);
    return NULL;
}

/* Reads key k of every family at ro; 1 when they agree (all absent or all equal). */
static int agree(struct shared *s, const strata_read_options *ro, const char *k, size_t kl)
{
    void *first = NULL;
    size_t first_len = 0;
    int first_rc = 0, ok = 1;
    for (int f = 0; f < NFAM && ok; f++) {
        void *v = NULL;
        size_t vl = 0;
        int rc = strata_get_cf(s->db, ro, s->fam[f], k, kl, &v, &vl);
        if (rc && rc != STRATA_E_NOTFOUND) {
            record_failure(s, "get", rc);
            ok = 0;
        } else if (f == 0) {
            first = v;
            first_len = vl;
            first_rc = rc;
            v = NULL;
        } else {
            ok = rc == first_rc && (rc || (vl == first_len && memcmp(v, first, vl) == 0));
        }
        strata_free(v);
    }
    strata_free(first);
    return ok;
}

static void *reader(void *p)
{
    struct shared *s = p;
    strata_read_options *ro = strata_read_options_create();
    uint64_t rnd = 12345;
    char k[32];
    while (!atomic_load(&s->stop)) {
        const strata_snapshot *snap = strata_snapshot_create(s->db);
        strata_read_options_set_snapshot(ro, snap);
        for (int i = 0; i < 20 && !atomic_load(&s->stop); i++) {
            rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
            int kl = key_of(k, (int)((rnd >> 20) % NWRITERS), (int)((rnd >> 33) % NKEYS));
            if (!agree(s, ro, k, (size_t)kl)) {
                if (!atomic_load(&s->failed)) {
                    record_failure(s, "families disagree at a snapshot (batch not atomic)", 0);
                }
                break;
            }
            atomic_fetch_add(&s->checks, 1);
        }
        strata_read_options_set_snapshot(ro, NULL);
        strata_snapshot_release(s->db, snap);
    }
    strata_read_options_destroy(ro);
    return NULL;
}

/* Creates a family, writes to it, reads it back through an iterator that outlives the drop. */
static int churn_family(struct shared *s, int round)
{
    char name[32];
    snprintf(name, sizeof(name), "tmp%d", round);
    strata_cf *t = NULL;
    int rc = strata_cf_create(s->db, name, NULL, &t);
    for (int i = 0; !rc && i < 50; i++) {
        char k[16];
        int kl = snprintf(k, sizeof(k), "t%03d", i);
        rc = strata_put_cf(s->db, NULL, t, k, (size_t)kl, "v", 1);
    }
    strata_iter *it = NULL;
    rc = rc ? rc : strata_iter_create_cf(s->db, NULL, t, &it);
    rc = rc ? rc : strata_cf_drop(s->db, t);
    int n = 0;
    for (strata_iter_seek_to_first(it); !rc && strata_iter_valid(it); strata_iter_next(it)) {
        n++;
    }
    strata_iter_destroy(it);
    if (!rc && n != 50) {
        rc = STRATA_E_CORRUPTION;
    }
    atomic_fetch_add(&s->dropped, 1);
    return rc;
}

static void *maintenance(void *p)
{
    struct shared *s = p;
    for (int round = 0; !atomic_load(&s->stop); round++) {
        int rc = 0;
        switch (round % 4) {
        case 0: rc = strata_flush_cf(s->db, s->fam[round / 4 % NFAM], 1); break;
        case 1: rc = strata_compact_range_cf(s->db, s->fam[1], NULL, 0, NULL, 0); break;
        case 2: rc = churn_family(s, round); break;
        default: rc = strata_flush(s->db, 0); break;
        }
        if (rc) {
            record_failure(s, "maintenance", rc);
        }
    }
    return NULL;
}

static void check_final(struct shared *s)
{
    char k[32], v[32];
    for (int t = 0; t < NWRITERS; t++) {
        for (int j = 0; j < NKEYS; j++) {
            int kl = key_of(k, t, j);
            if (!s->last[t][j]) {
                continue;
            }
            assert_true(agree(s, NULL, k, (size_t)kl));
            void *got = NULL;
            size_t gl = 0;
            tu_assert_ok(strata_get_cf(s->db, NULL, s->fam[2], k, (size_t)kl, &got, &gl));
            int vl = snprintf(v, sizeof(v), "%016llx", (unsigned long long)s->last[t][j]);
            tu_assert_bytes_equal(got, gl, v, (size_t)vl);
            strata_free(got);
        }
    }
}

static void open_families(struct shared *s, const strata_options *opt, const char *dir)
{
    const char *names[NFAM] = {"default", "a", "b"};
    tu_assert_ok(strata_open_cf(opt, dir, NFAM, names, NULL, s->fam, &s->db));
}

static void test_families_concurrently(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("mtcf");
    strata_options *opt = strata_options_create();
    strata_options_set_create_if_missing(opt, 1);
    strata_options_set_write_buffer_size(opt, 64 << 10);
    strata_options_set_info_log(opt, 0);
    struct shared *s = calloc(1, sizeof(*s));
    pthread_mutex_init(&s->msg_mu, NULL);
    open_families(s, opt, dir);
    pthread_t w[NWRITERS], r[NREADERS], m;
    struct writer_arg wa[NWRITERS];
    for (int t = 0; t < NWRITERS; t++) {
        wa[t] = (struct writer_arg){s, t};
        pthread_create(&w[t], NULL, writer, &wa[t]);
    }
    for (int i = 0; i < NREADERS; i++) {
        pthread_create(&r[i], NULL, reader, s);
    }
    pthread_create(&m, NULL, maintenance, s);
    struct timespec d = {0, (long)(3e9 * tu_scale()) % 1000000000L};
    d.tv_sec = (time_t)(3.0 * tu_scale());
    nanosleep(&d, NULL);
    atomic_store(&s->stop, 1);
    for (int t = 0; t < NWRITERS; t++) {
        pthread_join(w[t], NULL);
    }
    for (int i = 0; i < NREADERS; i++) {
        pthread_join(r[i], NULL);
    }
    pthread_join(m, NULL);
    if (atomic_load(&s->failed)) {
        fail_msg("%s", s->msg);
    }
    print_message("%ld batches, %ld snapshot checks, %ld families created and dropped\n",
                  atomic_load(&s->batches), atomic_load(&s->checks), atomic_load(&s->dropped));
    assert_true(atomic_load(&s->batches) > 0 && atomic_load(&s->checks) > 0);
    check_final(s);
    tu_assert_ok(strata_close(s->db));
    open_families(s, opt, dir);
    check_final(s);
    char **names = NULL;
    size_t n = 0;
    tu_assert_ok(strata_cf_list(opt, dir, &names, &n));
    assert_int_equal(n, NFAM); /* every short-lived family is gone */
    strata_cf_list_free(names, n);
    tu_assert_ok(strata_close(s->db));
    pthread_mutex_destroy(&s->msg_mu);
    free(s);
    strata_options_destroy(opt);
    tu_rmdir_all(dir);
    tu_free_path(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_families_concurrently),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
