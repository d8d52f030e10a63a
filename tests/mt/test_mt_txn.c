/* test_mt_txn.c — transactions under concurrency, and a serial model run.
 *
 * Bank: NACCT accounts start with INITIAL each, the even ones in the default column family, the
 * odd ones in family "b", so most transfers are transactions across two families.  Worker threads move random amounts between two
 * random accounts, each transfer one transaction: pessimistic ones (some with a snapshot, locking
 * the accounts in random order, so deadlocks and timeouts happen) and optimistic ones, all on one
 * DB at once, retrying on STRATA_E_BUSY.  A checker thread reads every account at one snapshot
 * (alternately with multi-gets and with transaction iterators, family by family) and asserts the sum never changes;
 * a maintenance thread flushes now and then (64 KiB write buffer).  After the threads stop, the
 * DB is closed, reopened and checked again.  Runs ~3 s * STRATA_TEST_SCALE.
 *
 * Serial: one thread runs random transactions (puts, deletes, merges, gets, savepoints and
 * rollbacks to them, commits and rollbacks, both kinds) against an in-memory model of the
 * committed state and of the open transaction's view, with flushes and reopens.
 *
 * Threads never call cmocka: they record the first failure and stop; the main thread fails.
 * Must be clean under TSan. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_util.h"
#include "model_ref.h"
#include "strata.h"
#include "test_util.h"

#define NACCT 16
#define INITIAL 1000
#define NPESS 2
#define NOPT 2

struct bank {
    int plain; /* a plain DB (strata_open_cf): optimistic transactions only, no row locks */
    strata_env *env;
    strata_options *opt;
    strata_db *db;
    strata_cf *fam[2]; /* account i lives in fam[i % 2] */
    atomic_int stop, failed;
    pthread_mutex_t msg_mu;
    char msg[1024];
    atomic_long commits, busy, checks;
};

static void bank_fail(struct bank *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bank_fail(struct bank *b, const char *fmt, ...)
{
    pthread_mutex_lock(&b->msg_mu);
    if (!atomic_load(&b->failed)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->msg, sizeof(b->msg), fmt, ap);
        va_end(ap);
        atomic_store(&b->failed, 1);
    }
    pthread_mutex_unlock(&b->msg_mu);
    atomic_store(&b->stop, 1);
}

static void acct_key(char *buf, int i)
{
    snprintf(buf, 16, "acct%03d", i);
}

static long parse_balance(const void *v, size_t n)
{
    char buf[32];
    if (n == 0 || n >= sizeof(buf)) {
        return -1000000;
    }
    memcpy(buf, v, n);
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

/* Reads one account for update into *bal: 0, or the error. */
static int read_acct(strata_txn *txn, strata_cf *const *fam, int i, long *bal)
{
    char k[16];
    acct_key(k, i);
    void *v = NULL;
    size_t n = 0;
    int rc = strata_txn_get_for_update_cf(txn, NULL, fam[i % 2], k, strlen(k), &v, &n, 1);
    if (!rc) {
        *bal = parse_balance(v, n);
        strata_free(v);
    }
    return rc;
}

static int write_acct(strata_txn *txn, strata_cf *const *fam, int i, long bal)
{
    char k[16], v[32];
    acct_key(k, i);
    snprintf(v, sizeof(v), "%ld", bal);
    return strata_txn_put_cf(txn, fam[i % 2], k, strlen(k), v, strlen(v));
}

/* One transfer attempt in txn: 0 committed, BUSY to retry, or another error. */
static int transfer(strata_txn *txn, strata_cf *const *fam, int from, int to, long amt)
{
    long a = 0, b = 0;
    int rc = read_acct(txn, fam, from, &a);
    rc = rc ? rc : read_acct(txn, fam, to, &b);
    rc = rc ? rc : write_acct(txn, fam, from, a - amt);
    rc = rc ? rc : write_acct(txn, fam, to, b + amt);
    return rc ? rc : strata_txn_commit(txn);
}

struct worker {
    struct bank *b;
    int optimistic;
    uint64_t seed;
};

static void *worker_main(void *p)
{
    struct worker *w = p;
    struct bank *b = w->b;
    eu_rng rng;
    eu_rng_seed(&rng, w->seed);
    strata_txn_options *to = strata_txn_options_create();
    strata_txn_options_set_lock_timeout(to, 200);
    while (!atomic_load(&b->stop)) {
        int from = (int)eu_uniform(&rng, NACCT), dst = (int)eu_uniform(&rng, NACCT - 1);
        dst = dst >= from ? dst + 1 : dst;
        strata_txn_options_set_snapshot(to, eu_one_in(&rng, 3));
        strata_txn *txn = w->optimistic ? strata_optimistic_txn_begin(b->db, NULL, to)
                                        : strata_txn_begin(b->db, NULL, to);
        if (!txn) {
            bank_fail(b, "begin: %s", strata_errmsg());
            break;
        }
        int rc = transfer(txn, b->fam, from, dst, (long)eu_uniform(&rng, 50));
        strata_txn_destroy(txn);
        if (rc == STRATA_E_BUSY) {
            atomic_fetch_add(&b->busy, 1);
        } else if (rc) {
            bank_fail(b, "transfer: %d %s", rc, strata_errmsg());
        } else {
            atomic_fetch_add(&b->commits, 1);
        }
    }
    strata_txn_options_destroy(to);
    return NULL;
}

/* Adds the accounts of family f (f's half of them) at ro's snapshot to *sum, by multi-get. */
static int sum_family(strata_db *db, strata_cf *const *fam, int f, const strata_read_options *ro,
                      long *sum)
{
    enum { N = NACCT / 2 };
    char keys[N][16];
    const void *kp[N];
    size_t kl[N], vl[N];
    void *vals[N];
    int st[N];
    for (int j = 0; j < N; j++) {
        acct_key(keys[j], 2 * j + f);
        kp[j] = keys[j];
        kl[j] = strlen(keys[j]);
    }
    int rc = strata_multi_get_cf(db, ro, fam[f], N, kp, kl, vals, vl, st);
    for (int j = 0; j < N; j++) {
        if (!rc && st[j] == 0) {
            *sum += parse_balance(vals[j], vl[j]);
        } else if (!rc) {
            rc = st[j];
        }
        strata_free(vals[j]);
    }
    return rc;
}

/* Sum of all accounts at one snapshot (ro's; NULL: now). */
static int sum_multiget(strata_db *db, strata_cf *const *fam, const strata_read_options *ro,
                        long *sum)
{
    *sum = 0;
    int rc = sum_family(db, fam, 0, ro, sum);
    return rc ? rc : sum_family(db, fam, 1, ro, sum);
}

/* Adds family f's accounts seen by a transaction iterator to *sum and counts them in *n. */
static int sum_iter(strata_txn *txn, strata_cf *cf, long *sum, int *n)
{
    strata_iter *it = NULL;
    int rc = strata_txn_iter_create_cf(txn, NULL, cf, &it);
    for (strata_iter_seek_to_first(it); !rc && strata_iter_valid(it); strata_iter_next(it)) {
        size_t vl;
        const char *v = strata_iter_value(it, &vl);
        *sum += parse_balance(v, vl);
        (*n)++;
    }
    rc = rc ? rc : strata_iter_status(it);
    strata_iter_destroy(it);
    return rc;
}

/* Sum through transaction iterators over both families at the transaction's snapshot. */
static int sum_txn_iter(strata_db *db, strata_cf *const *fam, long *sum)
{
    strata_txn_options *to = strata_txn_options_create();
    strata_txn_options_set_snapshot(to, 1);
    strata_txn *txn = strata_optimistic_txn_begin(db, NULL, to);
    strata_txn_options_destroy(to);
    *sum = 0;
    int n = 0;
    int rc = txn ? sum_iter(txn, fam[0], sum, &n) : STRATA_E_NOMEM;
    rc = rc ? rc : sum_iter(txn, fam[1], sum, &n);
    strata_txn_destroy(txn);
    return rc ? rc : n == NACCT ? 0 : STRATA_E_CORRUPTION;
}

static void *checker_main(void *p)
{
    struct bank *b = p;
    strata_read_options *ro = strata_read_options_create();
    for (int round = 0; !atomic_load(&b->stop); round++) {
        const strata_snapshot *snap = strata_snapshot_create(b->db);
        strata_read_options_set_snapshot(ro, snap);
        long sum = 0;
        int rc = round % 2 ? sum_txn_iter(b->db, b->fam, &sum)
                           : sum_multiget(b->db, b->fam, ro, &sum);
        strata_snapshot_release(b->db, snap);
        if (rc || sum != (long)NACCT * INITIAL) {
            bank_fail(b, "check %d: rc %d (%s), sum %ld, expected %ld", round, rc,
                      rc ? strata_errmsg() : "", sum, (long)NACCT * INITIAL);
        }
        atomic_fetch_add(&b->checks, 1);
    }
    strata_read_options_destroy(ro);
    return NULL;
}

static void *flusher_main(void *p)
{
    struct bank *b = p;
    while (!atomic_load(&b->stop)) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        int rc = strata_flush(b->db, 0);
        if (rc) {
            bank_fail(b, "flush: %s", strata_errmsg());
        }
    }
    return NULL;
}

static void open_bank(struct bank *b)
{
    strata_txn_db_options *topt = strata_txn_db_options_create();
    strata_txn_db_options_set_num_stripes(topt, 4);
    const char *names[] = {"b"};
    if (b->plain) {
        tu_assert_ok(strata_open_cf(b->opt, "/bank", 1, names, NULL, &b->fam[1], &b->db));
    } else {
        tu_assert_ok(
            strata_txn_db_open_cf(b->opt, topt, "/bank", 1, names, NULL, &b->fam[1], &b->db));
    }
    b->fam[0] = strata_cf_default(b->db);
    strata_txn_db_options_destroy(topt);
}

static void check_sum(struct bank *b, const char *what)
{
    long sum = 0;
    tu_assert_ok(sum_multiget(b->db, b->fam, NULL, &sum));
    if (sum != (long)NACCT * INITIAL) {
        print_error("%s: sum %ld\n", what, sum);
        fail();
    }
}

static void run_bank(int plain)
{
    struct bank b;
    memset(&b, 0, sizeof(b));
    b.plain = plain;
    pthread_mutex_init(&b.msg_mu, NULL);
    b.env = strata_env_create_mem();
    b.opt = strata_options_create();
    strata_options_set_create_if_missing(b.opt, 1);
    strata_options_set_env(b.opt, b.env);
    strata_options_set_write_buffer_size(b.opt, eu_write_buffer_size());
    open_bank(&b);
    for (int i = 0; i < NACCT; i++) {
        char k[16], v[16];
        acct_key(k, i);
        snprintf(v, sizeof(v), "%d", INITIAL);
        tu_assert_ok(strata_put_cf(b.db, NULL, b.fam[i % 2], k, strlen(k), v, strlen(v)));
    }
    uint64_t seed = tu_seed(77);
    struct worker w[NPESS + NOPT];
    pthread_t tw[NPESS + NOPT], tc, tf;
    for (int i = 0; i < NPESS + NOPT; i++) {
        w[i] = (struct worker){&b, plain || i >= NPESS, seed + (uint64_t)i};
        pthread_create(&tw[i], NULL, worker_main, &w[i]);
    }
    pthread_create(&tc, NULL, checker_main, &b);
    pthread_create(&tf, NULL, flusher_main, &b);
    long ms = (long)(3000 * tu_scale());
    for (long t = 0; t < ms && !atomic_load(&b.stop); t += 50) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&b.stop, 1);
    for (int i = 0; i < NPESS + NOPT; i++) {
        pthread_join(tw[i], NULL);
    }
    pthread_join(tc, NULL);
    pthread_join(tf, NULL);
    if (atomic_load(&b.failed)) {
        print_error("%s\n", b.msg);
        fail();
    }
    print_message("bank: %ld commits, %ld busy retries, %ld checks\n", atomic_load(&b.commits),
                  atomic_load(&b.busy), atomic_load(&b.checks));
    assert_true(atomic_load(&b.commits) > 0);
    check_sum(&b, "after the run");
    tu_assert_ok(strata_close(b.db));
    open_bank(&b);
    check_sum(&b, "after reopen");
    tu_assert_ok(strata_close(b.db));
    strata_options_destroy(b.opt);
    strata_env_destroy(b.env);
    pthread_mutex_destroy(&b.msg_mu);
}

static void test_bank(void **state)
{
    (void)state;
    run_bank(0);
}

/* Optimistic transactions alone on a plain DB: nothing but commit-time validation (grouped
 * commits checked against each other) keeps the sum. */
static void test_bank_optimistic_plain_db(void **state)
{
    (void)state;
    run_bank(1);
}

/* ---- serial model ------------------------------------------------------------------------- */

#define MAX_SAVEPOINTS 8

struct serial {
    strata_db *db;
    mr_map *committed, *view; /* the DB; the open transaction's view of it */
    mr_map *saved[MAX_SAVEPOINTS];
    int nsaved;
    strata_txn *txn;
    eu_rng rng;
};

static void serial_key(struct serial *s, char *k, size_t *kl)
{
    *kl = (size_t)snprintf(k, 16, "s%02d", (int)eu_uniform(&s->rng, 60));
}

static void serial_end(struct serial *s, int commit)
{
    if (commit) {
        tu_assert_ok(strata_txn_commit(s->txn));
        mr_destroy(s->committed);
        s->committed = s->view;
    } else {
        tu_assert_ok(strata_txn_rollback(s->txn));
        mr_destroy(s->view);
    }
    s->view = NULL;
    strata_txn_destroy(s->txn);
    s->txn = NULL;
    while (s->nsaved) {
        mr_destroy(s->saved[--s->nsaved]);
    }
}

/* A merge in the model: string append with ','. */
static void model_merge(mr_map *m, const char *k, size_t kl, const char *op)
{
    const char *old;
    size_t ol;
    char buf[4096];
    int n = mr_get(m, k, kl, &old, &ol)
                ? snprintf(buf, sizeof(buf), "%.*s,%s", (int)ol, old, op)
                : snprintf(buf, sizeof(buf), "%s", op);
    if (n >= (int)sizeof(buf)) { /* keep values short: restart the key */
        n = snprintf(buf, sizeof(buf), "%s", op);
    }
    mr_put(m, k, kl, buf, (size_t)n);
}

static void serial_get(struct serial *s, const char *k, size_t kl)
{
    void *v = NULL;
    size_t vl = 0;
    const char *want;
    size_t wl;
    int rc = strata_txn_get(s->txn, NULL, k, kl, &v, &vl);
    if (!mr_get(s->view, k, kl, &want, &wl)) {
        assert_int_equal(rc, STRATA_E_NOTFOUND);
    } else {
        if (rc) {
            print_error("txn get %.*s: %d, model has %.*s\n", (int)kl, k, rc, (int)wl, want);
        }
        tu_assert_ok(rc);
        tu_assert_bytes_equal(v, vl, want, wl);
    }
    strata_free(v);
}

static void serial_op(struct serial *s, int i)
{
    char k[16], v[32];
    size_t kl;
    serial_key(s, k, &kl);
    int op = (int)eu_uniform(&s->rng, 100);
    if (op < 35) {
        snprintf(v, sizeof(v), "v%d", i);
        tu_assert_ok(strata_txn_put(s->txn, k, kl, v, strlen(v)));
        mr_put(s->view, k, kl, v, strlen(v));
    } else if (op < 50) {
        tu_assert_ok(strata_txn_delete(s->txn, k, kl));
        mr_del(s->view, k, kl);
    } else if (op < 60) {
        /* a merge onto a value that would grow too long is a put instead */
        const char *old;
        size_t ol;
        snprintf(v, sizeof(v), "m%d", i);
        if (mr_get(s->view, k, kl, &old, &ol) && ol > 200) {
            tu_assert_ok(strata_txn_put(s->txn, k, kl, v, strlen(v)));
            mr_put(s->view, k, kl, v, strlen(v));
        } else {
            tu_assert_ok(strata_txn_merge(s->txn, k, kl, v, strlen(v)));
            model_merge(s->view, k, kl, v);
        }
    } else if (op < 85) {
        serial_get(s, k, kl);
    } else if (op < 90 && s->nsaved < MAX_SAVEPOINTS) {
        tu_assert_ok(strata_txn_set_savepoint(s->txn));
        s->saved[s->nsaved++] = mr_clone(s->view);
    } else if (op < 94 && s->nsaved) {
        tu_assert_ok(strata_txn_rollback_to_savepoint(s->txn));
        mr_destroy(s->view);
        s->view = s->saved[--s->nsaved];
    } else {
        serial_end(s, eu_uniform(&s->rng, 4) != 0);
    }
}

static void test_serial_model(void **state)
{
    (void)state;
    strata_env *env = strata_env_create_mem();
    strata_options *opt = strata_options_create();
    strata_options_set_create_if_missing(opt, 1);
    strata_options_set_env(opt, env);
    strata_options_set_write_buffer_size(opt, eu_write_buffer_size());
    strata_merge_operator *mo = strata_merge_operator_string_append(',');
    strata_options_set_merge_operator(opt, mo);
    strata_merge_operator_destroy(mo);
    struct serial s;
    memset(&s, 0, sizeof(s));
    eu_rng_seed(&s.rng, tu_seed(4242));
    s.committed = mr_create();
    tu_assert_ok(strata_txn_db_open(opt, NULL, "/serial", &s.db));
    int n = (int)(20000 * tu_scale());
    for (int i = 0; i < n; i++) {
        if (!s.txn) {
            int opt_kind = eu_one_in(&s.rng, 2);
            s.txn = opt_kind ? strata_optimistic_txn_begin(s.db, NULL, NULL)
                             : strata_txn_begin(s.db, NULL, NULL);
            assert_non_null(s.txn);
            s.view = mr_clone(s.committed);
        }
        serial_op(&s, i);
        if (!s.txn && eu_one_in(&s.rng, 50)) {
            eu_check_db_equals(s.db, NULL, s.committed, "serial: between transactions");
            tu_assert_ok(eu_one_in(&s.rng, 2) ? strata_flush(s.db, 1) : 0);
            if (eu_one_in(&s.rng, 4)) {
                tu_assert_ok(strata_close(s.db));
                tu_assert_ok(strata_txn_db_open(opt, NULL, "/serial", &s.db));
            }
        }
    }
    if (s.txn) {
        serial_end(&s, 1);
    }
    eu_check_db_equals(s.db, NULL, s.committed, "serial: end");
    tu_assert_ok(strata_close(s.db));
    mr_destroy(s.committed);
    strata_options_destroy(opt);
    strata_env_destroy(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bank),
        cmocka_unit_test(test_bank_optimistic_plain_db),
        cmocka_unit_test(test_serial_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
