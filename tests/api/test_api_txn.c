/* test_api_txn.c — transactions through the public API: reading one's own writes (puts,
 * deletes, merges), nested savepoints, rollback, durability of a commit across reopen, row-lock
 * timeouts (exclusive and shared), deadlock detection between two threads, optimistic conflicts
 * and their absence, snapshot-isolation write conflicts, the transaction iterator (own writes
 * over DB data in memtable and tables, both directions, seeks, bounds; a random walk against
 * the reference model), transactions across column families, and argument errors.
 *
 * DBs live in private in-memory envs. */
#include <pthread.h>
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
    strata_txn_db_options *topt;
    strata_db *db;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f) {
        return -1;
    }
    f->env = strata_env_create_mem();
    f->opt = strata_options_create();
    f->topt = strata_txn_db_options_create();
    strata_options_set_create_if_missing(f->opt, 1);
    strata_options_set_env(f->opt, f->env);
    strata_options_set_write_buffer_size(f->opt, eu_write_buffer_size());
    strata_merge_operator *mo = strata_merge_operator_string_append(',');
    strata_options_set_merge_operator(f->opt, mo);
    strata_merge_operator_destroy(mo);
    strata_txn_db_options_set_lock_timeout(f->topt, 5000);
    if (strata_txn_db_open(f->opt, f->topt, "/txndb", &f->db) != 0) {
        print_error("open: %s\n", strata_errmsg());
        return -1;
    }
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    int rc = f->db ? strata_close(f->db) : 0;
    strata_txn_db_options_destroy(f->topt);
    strata_options_destroy(f->opt);
    strata_env_destroy(f->env);
    free(f);
    return rc;
}

static void reopen(struct fx *f)
{
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    tu_assert_ok(strata_txn_db_open(f->opt, f->topt, "/txndb", &f->db));
}

/* Asserts the transaction reads key as val (NULL: NOTFOUND). */
static void txn_expect(strata_txn *txn, const char *key, const char *val)
{
    void *v = NULL;
    size_t n = 0;
    int rc = strata_txn_get(txn, NULL, key, strlen(key), &v, &n);
    if (!val) {
        if (rc != STRATA_E_NOTFOUND) {
            print_error("txn get %s: expected NOTFOUND, got %d\n", key, rc);
            fail();
        }
        return;
    }
    tu_assert_ok(rc);
    tu_assert_bytes_equal(v, n, val, strlen(val));
    strata_free(v);
}

static int tput(strata_txn *txn, const char *k, const char *v)
{
    return strata_txn_put(txn, k, strlen(k), v, strlen(v));
}

static int tdel(strata_txn *txn, const char *k)
{
    return strata_txn_delete(txn, k, strlen(k));
}

static int tmerge(strata_txn *txn, const char *k, const char *v)
{
    return strata_txn_merge(txn, k, strlen(k), v, strlen(v));
}

static int tlock(strata_txn *txn, const char *k, int exclusive)
{
    void *v = NULL;
    size_t n = 0;
    int rc = strata_txn_get_for_update(txn, NULL, k, strlen(k), &v, &n, exclusive);
    strata_free(v);
    return rc == STRATA_E_NOTFOUND ? 0 : rc;
}

static void expect_busy(int rc, const char *what)
{
    if (rc != STRATA_E_BUSY || !strstr(strata_errmsg(), what)) {
        print_error("expected BUSY with \"%s\", got %d (%s)\n", what, rc, strata_errmsg());
        fail();
    }
}

static void test_read_own_writes(void **state)
{
    struct fx *f = *state;
    tu_assert_ok(eu_put(f->db, "a", "1"));
    tu_assert_ok(eu_put(f->db, "b", "2"));
    strata_txn *txn = strata_txn_begin(f->db, NULL, NULL);
    assert_non_null(txn);
    tu_assert_ok(tput(txn, "a", "10"));
    tu_assert_ok(tdel(txn, "b"));
    tu_assert_ok(tput(txn, "c", ""));
    txn_expect(txn, "a", "10");
    txn_expect(txn, "b", NULL);
    txn_expect(txn, "c", "");
    txn_expect(txn, "d", NULL);
    tu_assert_ok(tput(txn, "b", "20")); /* put after delete */
    txn_expect(txn, "b", "20");
    assert_int_equal(strata_txn_count(txn), 4);
    eu_expect(f->db, NULL, "a", "1"); /* not visible before commit */
    eu_expect(f->db, NULL, "c", NULL);
    tu_assert_ok(strata_txn_commit(txn));
    strata_txn_destroy(txn);
    eu_expect(f->db, NULL, "a", "10");
    eu_expect(f->db, NULL, "b", "20");
    eu_expect(f->db, NULL, "c", "");
}

static void test_merge_in_txn(void **state)
{
    struct fx *f = *state;
    tu_assert_ok(eu_put(f->db, "k", "x"));
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(eu_put(f->db, "d", "old"));
    strata_txn *txn = strata_optimistic_txn_begin(f->db, NULL, NULL);
    assert_non_null(txn);
    tu_assert_ok(tmerge(txn, "k", "y"));
    tu_assert_ok(tmerge(txn, "k", "z"));
    tu_assert_ok(tmerge(txn, "n", "a"));
    tu_assert_ok(tput(txn, "p", "v"));
    tu_assert_ok(tmerge(txn, "p", "w"));
    tu_assert_ok(tdel(txn, "d"));
    tu_assert_ok(tmerge(txn, "d", "z"));
    txn_expect(txn, "k", "x,y,z");
    txn_expect(txn, "n", "a");
    txn_expect(txn, "p", "v,w");
    txn_expect(txn, "d", "z");
    tu_assert_ok(strata_txn_commit(txn));
    strata_txn_destroy(txn);
    eu_expect(f->db, NULL, "k", "x,y,z");
    eu_expect(f->db, NULL, "n", "a");
    eu_expect(f->db, NULL, "p", "v,w");
    eu_expect(f->db, NULL, "d", "z");
}

static void test_savepoints(void **state)
{
    struct fx *f = *state;
    tu_assert_ok(eu_put(f->db, "a", "db"));
    strata_txn *txn = strata_txn_begin(f->db, NULL, NULL);
    assert_int_equal(strata_txn_rollback_to_savepoint(txn), STRATA_E_NOTFOUND);
    tu_assert_ok(tput(txn, "a", "1"));
    tu_assert_ok(strata_txn_set_savepoint(txn));
    tu_assert_ok(tput(txn, "b", "2"));
    tu_assert_ok(strata_txn_set_savepoint(txn));
    tu_assert_ok(tput(txn, "c", "3"));
    tu_assert_ok(tdel(txn, "a"));
    txn_expect(txn, "a", NULL);
    assert_int_equal(strata_txn_count(txn), 4);
    tu_assert_ok(strata_txn_rollback_to_savepoint(txn));
    assert_int_equal(strata_txn_count(txn), 2);
    txn_expect(txn, "a", "1");
    txn_expect(txn, "b", "2");
    txn_expect(txn, "c", NULL);
    tu_assert_ok(tput(txn, "d", "4"));
    tu_assert_ok(strata_txn_rollback_to_savepoint(txn));
    txn_expect(txn, "b", NULL);
    txn_expect(txn, "d", NULL);
    txn_expect(txn, "a", "1");
    assert_int_equal(strata_txn_rollback_to_savepoint(txn), STRATA_E_NOTFOUND);
    tu_assert_ok(strata_txn_commit(txn));
    strata_txn_destroy(txn);
    eu_expect(f->db, NULL, "a", "1");
    eu_expect(f->db, NULL, "b", NULL);
    eu_expect(f->db, NULL, "c", NULL);
}

static void test_rollback_and_reuse(void **state)
{
    struct fx *f = *state;
    strata_txn *txn = strata_txn_begin(f->db, NULL, NULL);
    tu_assert_ok(tput(txn, "r", "1"));
    tu_assert_ok(strata_txn_rollback(txn));
    eu_expect(f->db, NULL, "r", NULL);
    assert_int_equal(tput(txn, "r", "2"), STRATA_E_INVALID);
    assert_int_equal(strata_txn_commit(txn), STRATA_E_INVALID);
    assert_int_equal(strata_txn_rollback(txn), STRATA_E_INVALID);
    strata_txn_destroy(txn);
    /* The lock was released: another transaction takes it at once. */
    strata_txn_options *to = strata_txn_options_create();
    strata_txn_options_set_lock_timeout(to, 0);
    txn = strata_txn_begin(f->db, NULL, to);
    tu_assert_ok(tput(txn, "r", "3"));
    tu_assert_ok(strata_txn_commit(txn));
    assert_int_equal(strata_txn_commit(txn), STRATA_E_INVALID);
    strata_txn_destroy(txn);
    /* destroy of an open transaction rolls it back */
    txn = strata_txn_begin(f->db, NULL, to);
    tu_assert_ok(tput(txn, "r", "4"));
    strata_txn_destroy(txn);
    eu_expect(f->db, NULL, "r", "3");
    strata_txn_options_destroy(to);
}

static void test_commit_durable(void **state)
{
    struct fx *f = *state;
    strata_write_options *wo = strata_write_options_create();
    strata_write_options_set_sync(wo, 1);
    strata_txn *txn = strata_txn_begin(f->db, wo, NULL);
    strata_txn *otxn = strata_optimistic_txn_begin(f->db, wo, NULL);
    for (int i = 0; i < 100; i++) {
        char k[16], v[16];
        snprintf(k, sizeof(k), "p%03d", i);
        snprintf(v, sizeof(v), "v%d", i);
        tu_assert_ok(tput(txn, k, v));
        k[0] = 'o';
        tu_assert_ok(tput(otxn, k, v));
    }
    tu_assert_ok(strata_txn_commit(txn));
    tu_assert_ok(strata_txn_commit(otxn));
    strata_txn_destroy(txn);
    strata_txn_destroy(otxn);
    strata_write_options_destroy(wo);
    reopen(f);
    eu_expect(f->db, NULL, "p000", "v0");
    eu_expect(f->db, NULL, "p099", "v99");
    eu_expect(f->db, NULL, "o050", "v50");
}

static void test_lock_timeout(void **state)
{
    struct fx *f = *state;
    strata_txn_options *to = strata_txn_options_create();
    strata_txn_options_set_lock_timeout(to, 50);
    strata_txn *t1 = strata_txn_begin(f->db, NULL, NULL);
    strata_txn *t2 = strata_txn_begin(f->db, NULL, to);
    tu_assert_ok(tlock(t1, "x", 1));
    expect_busy(tlock(t2, "x", 1), "timed out");
    expect_busy(tlock(t2, "x", 0), "timed out");
    expect_busy(tput(t2, "x", "2"), "timed out");
    /* shared locks coexist; an upgrade waits for the other holder */
    tu_assert_ok(tlock(t1, "y", 0));
    tu_assert_ok(tlock(t2, "y", 0));
    expect_busy(tput(t2, "y", "2"), "timed out");
    tu_assert_ok(tlock(t1, "x", 1)); /* re-entrant */
    tu_assert_ok(tput(t1, "x", "1"));
    tu_assert_ok(strata_txn_commit(t1));
    tu_assert_ok(tput(t2, "x", "2")); /* released by the commit */
    tu_assert_ok(tput(t2, "y", "2")); /* t2 is now y's only holder: upgrade */
    tu_assert_ok(strata_txn_commit(t2));
    eu_expect(f->db, NULL, "x", "2");
    strata_txn_destroy(t1);
    strata_txn_destroy(t2);
    strata_txn_options_destroy(to);
}

struct dl_arg {
    strata_db *db;
    const char *first, *second;
    pthread_barrier_t *bar;
    int rc;
    char msg[512];
};

static void *deadlock_thread(void *p)
{
    struct dl_arg *a = p;
    strata_txn *txn = strata_txn_begin(a->db, NULL, NULL);
    a->rc = tput(txn, a->first, "1");
    pthread_barrier_wait(a->bar);
    if (!a->rc) {
        a->rc = tput(txn, a->second, "1");
        snprintf(a->msg, sizeof(a->msg), "%s", a->rc ? strata_errmsg() : "");
    }
    if (a->rc) {
        strata_txn_rollback(txn);
    } else {
        a->rc = strata_txn_commit(txn);
    }
    strata_txn_destroy(txn);
    return NULL;
}

static void test_deadlock(void **state)
{
    struct fx *f = *state;
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    struct dl_arg a = {f->db, "x", "y", &bar, 0, ""}, b = {f->db, "y", "x", &bar, 0, ""};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, deadlock_thread, &a);
    pthread_create(&tb, NULL, deadlock_thread, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&bar);
    /* exactly one fails, with a deadlock message (not after the 5 s timeout) */
    struct dl_arg *loser = a.rc ? &a : &b, *winner = a.rc ? &b : &a;
    tu_assert_ok(winner->rc);
    assert_int_equal(loser->rc, STRATA_E_BUSY);
    if (!strstr(loser->msg, "deadlock detected")) {
        print_error("loser's message: %s\n", loser->msg);
        fail();
    }
}

static void test_optimistic(void **state)
{
    struct fx *f = *state;
    tu_assert_ok(eu_put(f->db, "k", "0"));
    /* read-modify-write raced by another writer: conflict */
    strata_txn *o1 = strata_optimistic_txn_begin(f->db, NULL, NULL);
    tu_assert_ok(tlock(o1, "k", 1));
    tu_assert_ok(eu_put(f->db, "k", "other"));
    tu_assert_ok(tput(o1, "k", "1"));
    expect_busy(strata_txn_commit(o1), "transaction conflict on key 'k'");
    assert_int_equal(tput(o1, "k", "1"), STRATA_E_INVALID);
    strata_txn_destroy(o1);
    eu_expect(f->db, NULL, "k", "other");
    /* other keys changing is no conflict */
    o1 = strata_optimistic_txn_begin(f->db, NULL, NULL);
    tu_assert_ok(tlock(o1, "k", 1));
    tu_assert_ok(eu_put(f->db, "j", "x"));
    tu_assert_ok(tput(o1, "k", "2"));
    tu_assert_ok(strata_txn_commit(o1));
    strata_txn_destroy(o1);
    eu_expect(f->db, NULL, "k", "2");
    /* two optimistic writers of one key: the second to commit loses, also through tables */
    o1 = strata_optimistic_txn_begin(f->db, NULL, NULL);
    strata_txn *o2 = strata_optimistic_txn_begin(f->db, NULL, NULL);
    tu_assert_ok(tput(o1, "k", "o1"));
    tu_assert_ok(tput(o2, "k", "o2"));
    tu_assert_ok(strata_txn_commit(o2));
    tu_assert_ok(strata_flush(f->db, 1));
    expect_busy(strata_txn_commit(o1), "conflict");
    strata_txn_destroy(o1);
    strata_txn_destroy(o2);
    /* a read-only transaction validates too; a range delete counts as a write */
    o1 = strata_optimistic_txn_begin(f->db, NULL, NULL);
    tu_assert_ok(tlock(o1, "k", 0));
    tu_assert_ok(strata_delete_range(f->db, NULL, "a", 1, "z", 1));
    expect_busy(strata_txn_commit(o1), "conflict");
    strata_txn_destroy(o1);
    o1 = strata_optimistic_txn_begin(f->db, NULL, NULL);
    tu_assert_ok(tlock(o1, "k", 0));
    tu_assert_ok(strata_txn_commit(o1));
    strata_txn_destroy(o1);
}

static void test_snapshot_isolation(void **state)
{
    struct fx *f = *state;
    tu_assert_ok(eu_put(f->db, "s", "old"));
    tu_assert_ok(eu_put(f->db, "t", "old"));
    strata_txn_options *to = strata_txn_options_create();
    strata_txn_options_set_snapshot(to, 1);
    strata_txn *txn = strata_txn_begin(f->db, NULL, to);
    assert_non_null(strata_txn_get_snapshot(txn));
    tu_assert_ok(eu_put(f->db, "s", "new"));
    txn_expect(txn, "s", "old"); /* reads default to the snapshot */
    expect_busy(tput(txn, "s", "mine"), "write conflict on key 's'");
    expect_busy(tlock(txn, "s", 1), "write conflict");
    tu_assert_ok(tput(txn, "t", "mine")); /* unchanged since the snapshot */
    tu_assert_ok(strata_txn_commit(txn));
    strata_txn_destroy(txn);
    eu_expect(f->db, NULL, "t", "mine");
    /* set_snapshot later, and optimistic with a snapshot */
    txn = strata_optimistic_txn_begin(f->db, NULL, NULL);
    assert_null(strata_txn_get_snapshot(txn));
    tu_assert_ok(strata_txn_set_snapshot(txn));
    tu_assert_ok(eu_put(f->db, "t", "later"));
    txn_expect(txn, "t", "mine");
    tu_assert_ok(tput(txn, "t", "x"));
    expect_busy(strata_txn_commit(txn), "conflict");
    strata_txn_destroy(txn);
    strata_txn_options_destroy(to);
}

/* Collects the whole iterator in one direction as "k=v;" text. */
static void scan(strata_iter *it, int backward, char *out, size_t cap)
{
    out[0] = '\0';
    size_t o = 0;
    for (backward ? strata_iter_seek_to_last(it) : strata_iter_seek_to_first(it);
         strata_iter_valid(it) && o + 1 < cap;
         backward ? strata_iter_prev(it) : strata_iter_next(it)) {
        size_t kl, vl;
        const char *k = strata_iter_key(it, &kl), *v = strata_iter_value(it, &vl);
        int w = snprintf(out + o, cap - o, "%.*s=%.*s;", (int)kl, k, (int)vl, v);
        o = o + (size_t)w < cap ? o + (size_t)w : cap - 1;
    }
    tu_assert_ok(strata_iter_status(it));
}

static void expect_key(strata_iter *it, const char *key)
{
    if (!key) {
        assert_false(strata_iter_valid(it));
        return;
    }
    assert_true(strata_iter_valid(it));
    size_t kl;
    const char *k = strata_iter_key(it, &kl);
    tu_assert_bytes_equal(k, kl, key, strlen(key));
}

static void test_iter_basic(void **state)
{
    struct fx *f = *state;
    tu_assert_ok(eu_put(f->db, "a", "1"));
    tu_assert_ok(eu_put(f->db, "c", "3"));
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(eu_put(f->db, "d", "4"));
    tu_assert_ok(eu_put(f->db, "e", "5"));
    tu_assert_ok(eu_put(f->db, "m", "x"));
    strata_txn *txn = strata_txn_begin(f->db, NULL, NULL);
    tu_assert_ok(tput(txn, "b", "2"));
    tu_assert_ok(tput(txn, "c", "30"));
    tu_assert_ok(tdel(txn, "d"));
    tu_assert_ok(tdel(txn, "zz"));
    tu_assert_ok(tput(txn, "f", "6"));
    tu_assert_ok(tmerge(txn, "m", "y"));
    tu_assert_ok(tdel(txn, "a"));
    tu_assert_ok(tput(txn, "a", "10"));
    strata_iter *it = NULL;
    tu_assert_ok(strata_txn_iter_create(txn, NULL, &it));
    char buf[512];
    scan(it, 0, buf, sizeof(buf));
    assert_string_equal(buf, "a=10;b=2;c=30;e=5;f=6;m=x,y;");
    scan(it, 1, buf, sizeof(buf));
    assert_string_equal(buf, "m=x,y;f=6;e=5;c=30;b=2;a=10;");
    strata_iter_seek(it, "c", 1);
    expect_key(it, "c");
    strata_iter_seek(it, "cc", 2);
    expect_key(it, "e");
    strata_iter_seek_for_prev(it, "d", 1);
    expect_key(it, "c");
    strata_iter_prev(it);
    expect_key(it, "b");
    strata_iter_next(it);
    expect_key(it, "c");
    strata_iter_next(it);
    expect_key(it, "e");
    strata_iter_prev(it);
    expect_key(it, "c");
    strata_iter_seek(it, "n", 1);
    expect_key(it, NULL);
    strata_iter_destroy(it);
    /* bounds */
    strata_read_options *ro = strata_read_options_create();
    tu_assert_ok(strata_read_options_set_lower_bound(ro, "b", 1));
    tu_assert_ok(strata_read_options_set_upper_bound(ro, "f", 1));
    tu_assert_ok(strata_txn_iter_create(txn, ro, &it));
    strata_read_options_destroy(ro);
    scan(it, 0, buf, sizeof(buf));
    assert_string_equal(buf, "b=2;c=30;e=5;");
    scan(it, 1, buf, sizeof(buf));
    assert_string_equal(buf, "e=5;c=30;b=2;");
    strata_iter_seek(it, "a", 1);
    expect_key(it, "b");
    strata_iter_seek_for_prev(it, "z", 1);
    expect_key(it, "e");
    strata_iter_destroy(it);
    strata_txn_destroy(txn);
}

static void keygen(eu_rng *r, char *buf, size_t *len)
{
    *len = (size_t)snprintf(buf, EU_MAX_KEY, "k%03d", (int)eu_uniform(r, 300));
}

/* Random DB contents (spread over tables and memtable) and random transaction writes; the
 * iterator must walk like the model of DB + writes. */
static void test_iter_random(void **state)
{
    struct fx *f = *state;
    eu_rng rng;
    eu_rng_seed(&rng, tu_seed(1313));
    mr_map *m = mr_create();
    char k[32], v[32];
    for (int i = 0; i < 600; i++) {
        size_t kl;
        keygen(&rng, k, &kl);
        snprintf(v, sizeof(v), "db%d", i);
        if (eu_one_in(&rng, 4)) {
            tu_assert_ok(eu_del(f->db, k));
            mr_del(m, k, kl);
        } else {
            tu_assert_ok(eu_put(f->db, k, v));
            mr_put(m, k, kl, v, strlen(v));
        }
        if (i % 200 == 199) {
            tu_assert_ok(strata_flush(f->db, 1));
        }
    }
    strata_txn *txn = strata_optimistic_txn_begin(f->db, NULL, NULL);
    for (int i = 0; i < 200; i++) {
        size_t kl;
        keygen(&rng, k, &kl);
        snprintf(v, sizeof(v), "tx%d", i);
        if (eu_one_in(&rng, 3)) {
            tu_assert_ok(tdel(txn, k));
            mr_del(m, k, kl);
        } else {
            tu_assert_ok(tput(txn, k, v));
            mr_put(m, k, kl, v, strlen(v));
        }
    }
    strata_iter *it = NULL;
    tu_assert_ok(strata_txn_iter_create(txn, NULL, &it));
    eu_check_iter_walk(it, m, NULL, 0, NULL, 0, &rng, 2000, keygen, "txn iterator");
    strata_iter_destroy(it);
    strata_read_options *ro = strata_read_options_create();
    tu_assert_ok(strata_read_options_set_lower_bound(ro, "k050", 4));
    tu_assert_ok(strata_read_options_set_upper_bound(ro, "k200", 4));
    tu_assert_ok(strata_txn_iter_create(txn, ro, &it));
    eu_check_iter_walk(it, m, "k050", 4, "k200", 4, &rng, 2000, keygen, "bounded txn iterator");
    strata_iter_destroy(it);
    strata_read_options_destroy(ro);
    tu_assert_ok(strata_txn_commit(txn));
    strata_txn_destroy(txn);
    eu_check_db_equals(f->db, NULL, m, "after commit");
    mr_destroy(m);
}

/* ---- column families ---------------------------------------------------------------------- */

static int cf_put(strata_txn *txn, strata_cf *cf, const char *k, const char *v)
{
    return strata_txn_put_cf(txn, cf, k, strlen(k), v, strlen(v));
}

static void cf_expect(strata_db *db, strata_txn *txn, strata_cf *cf, const char *k,
                      const void *val, size_t vlen)
{
    void *v = NULL;
    size_t n = 0;
    int rc = txn ? strata_txn_get_cf(txn, NULL, cf, k, strlen(k), &v, &n)
                 : strata_get_cf(db, NULL, cf, k, strlen(k), &v, &n);
    if (!val) {
        assert_int_equal(rc, STRATA_E_NOTFOUND);
        return;
    }
    tu_assert_ok(rc);
    tu_assert_bytes_equal(v, n, val, vlen);
    strata_free(v);
}

static uint64_t u64(const void *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

/* A transaction spanning the default family and "counters" (with its own merge operator,
 * uint64add): own writes per family, iterators per family, commit atomic across reopen, locks
 * and conflicts per (family, key), a dropped family refused. */
static void test_column_families(void **state)
{
    struct fx *f = *state;
    strata_options *co = strata_options_copy(f->opt);
    strata_merge_operator *add = strata_merge_operator_uint64_add();
    strata_options_set_merge_operator(co, add);
    strata_merge_operator_destroy(add);
    strata_cf *c = NULL, *d = strata_cf_default(f->db);
    tu_assert_ok(strata_cf_create(f->db, "counters", co, &c));
    uint64_t one = 1, five = 5;
    tu_assert_ok(strata_merge_cf(f->db, NULL, c, "n", 1, &five, 8));
    tu_assert_ok(eu_put(f->db, "k", "db"));

    strata_txn *txn = strata_txn_begin(f->db, NULL, NULL);
    tu_assert_ok(cf_put(txn, d, "k", "default"));
    tu_assert_ok(cf_put(txn, c, "k", "counters"));
    tu_assert_ok(strata_txn_merge_cf(txn, c, "n", 1, &one, 8));
    tu_assert_ok(strata_txn_merge(txn, "s", 1, "a", 1)); /* default: string append */
    cf_expect(f->db, txn, d, "k", "default", 7);
    cf_expect(f->db, txn, c, "k", "counters", 8);
    void *v = NULL;
    size_t n = 0;
    tu_assert_ok(strata_txn_get_cf(txn, NULL, c, "n", 1, &v, &n));
    assert_int_equal(n, 8);
    assert_int_equal(u64(v), 6); /* 5 from the DB + 1 in the transaction, by uint64add */
    strata_free(v);
    strata_iter *it = NULL;
    tu_assert_ok(strata_txn_iter_create_cf(txn, NULL, c, &it));
    char buf[256];
    strata_iter_seek_to_first(it);
    expect_key(it, "k");
    strata_iter_next(it);
    expect_key(it, "n");
    strata_iter_next(it);
    expect_key(it, NULL);
    strata_iter_destroy(it);
    tu_assert_ok(strata_txn_iter_create(txn, NULL, &it));
    scan(it, 0, buf, sizeof(buf));
    assert_string_equal(buf, "k=default;s=a;");
    strata_iter_destroy(it);

    /* locks are per family: the same key in the other family is free */
    strata_txn_options *to = strata_txn_options_create();
    strata_txn_options_set_lock_timeout(to, 0);
    strata_txn *t2 = strata_txn_begin(f->db, NULL, to);
    tu_assert_ok(cf_put(t2, c, "x", "1"));
    expect_busy(cf_put(t2, c, "k", "t2"), "timed out");
    strata_txn_destroy(t2);
    tu_assert_ok(strata_txn_commit(txn));
    strata_txn_destroy(txn);
    strata_txn_options_destroy(to);

    /* optimistic conflict inside a family; a write to the same key elsewhere is none */
    strata_txn *o = strata_optimistic_txn_begin(f->db, NULL, NULL);
    tu_assert_ok(strata_txn_get_for_update_cf(o, NULL, c, "k", 1, &v, &n, 1));
    strata_free(v);
    tu_assert_ok(eu_put(f->db, "k", "plain"));
    tu_assert_ok(cf_put(o, c, "k", "o"));
    tu_assert_ok(strata_txn_commit(o));
    strata_txn_destroy(o);
    o = strata_optimistic_txn_begin(f->db, NULL, NULL);
    tu_assert_ok(strata_txn_get_for_update_cf(o, NULL, c, "k", 1, &v, &n, 1));
    strata_free(v);
    tu_assert_ok(strata_put_cf(f->db, NULL, c, "k", 1, "z", 1));
    tu_assert_ok(cf_put(o, c, "k", "o2"));
    expect_busy(strata_txn_commit(o), "conflict");
    strata_txn_destroy(o);

    /* the committed transaction survives reopen in both families */
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    const char *names[] = {"counters"};
    const strata_options *opts[] = {co};
    strata_cf *h[1];
    tu_assert_ok(strata_txn_db_open_cf(f->opt, f->topt, "/txndb", 1, names, opts, h, &f->db));
    c = h[0];
    eu_expect(f->db, NULL, "s", "a");
    cf_expect(f->db, NULL, c, "k", "z", 1);
    cf_expect(f->db, NULL, c, "x", NULL, 0);
    tu_assert_ok(strata_get_cf(f->db, NULL, c, "n", 1, &v, &n));
    assert_int_equal(u64(v), 6);
    strata_free(v);

    /* a dropped family is refused, and a NULL family */
    txn = strata_txn_begin(f->db, NULL, NULL);
    tu_assert_ok(strata_cf_drop(f->db, c));
    assert_int_equal(cf_put(txn, c, "k", "v"), STRATA_E_INVALID);
    assert_int_equal(strata_txn_iter_create_cf(txn, NULL, c, &it), STRATA_E_INVALID);
    assert_int_equal(cf_put(txn, NULL, "k", "v"), STRATA_E_INVALID);
    strata_txn_destroy(txn);
    strata_options_destroy(co);
}

static void test_argument_errors(void **state)
{
    struct fx *f = *state;
    void *v = NULL;
    size_t n = 0;
    strata_iter *it = NULL;
    assert_null(strata_txn_begin(NULL, NULL, NULL));
    assert_null(strata_optimistic_txn_begin(NULL, NULL, NULL));
    assert_int_equal(strata_txn_put(NULL, "a", 1, "b", 1), STRATA_E_INVALID);
    assert_int_equal(strata_txn_commit(NULL), STRATA_E_INVALID);
    assert_int_equal(strata_txn_rollback(NULL), STRATA_E_INVALID);
    assert_int_equal(strata_txn_set_savepoint(NULL), STRATA_E_INVALID);
    assert_int_equal(strata_txn_rollback_to_savepoint(NULL), STRATA_E_INVALID);
    assert_int_equal(strata_txn_set_snapshot(NULL), STRATA_E_INVALID);
    assert_int_equal(strata_txn_iter_create(NULL, NULL, &it), STRATA_E_INVALID);
    assert_int_equal(strata_txn_count(NULL), 0);
    assert_null(strata_txn_get_snapshot(NULL));
    strata_txn_destroy(NULL);
    strata_txn *txn = strata_txn_begin(f->db, NULL, NULL);
    assert_int_equal(strata_txn_put(txn, NULL, 1, "b", 1), STRATA_E_INVALID);
    assert_int_equal(strata_txn_put(txn, "a", 1, NULL, 1), STRATA_E_INVALID);
    assert_int_equal(strata_txn_delete(txn, NULL, 3), STRATA_E_INVALID);
    assert_int_equal(strata_txn_merge(txn, "a", 1, NULL, 2), STRATA_E_INVALID);
    assert_int_equal(strata_txn_get(txn, NULL, "a", 1, NULL, &n), STRATA_E_INVALID);
    assert_int_equal(strata_txn_get_for_update(txn, NULL, "a", 1, &v, NULL, 1), STRATA_E_INVALID);
    assert_int_equal(strata_txn_put_cf(txn, NULL, "a", 1, "b", 1), STRATA_E_INVALID);
    assert_int_equal(strata_txn_get_cf(txn, NULL, NULL, "a", 1, &v, &n), STRATA_E_INVALID);
    assert_int_equal(strata_txn_iter_create(txn, NULL, NULL), STRATA_E_INVALID);
    assert_int_equal(strata_txn_iter_create_cf(txn, NULL, NULL, &it), STRATA_E_INVALID);
    assert_int_equal(strata_txn_count(txn), 0);
    tu_assert_ok(strata_txn_commit(txn)); /* empty */
    assert_int_equal(strata_txn_get(txn, NULL, "a", 1, &v, &n), STRATA_E_INVALID);
    assert_int_equal(strata_txn_iter_create(txn, NULL, &it), STRATA_E_INVALID);
    assert_int_equal(strata_txn_set_snapshot(txn), STRATA_E_INVALID);
    strata_txn_destroy(txn);
    /* a pessimistic transaction needs a transaction DB */
    strata_db *plain = NULL;
    tu_assert_ok(strata_open(f->opt, "/plain", &plain));
    assert_null(strata_txn_begin(plain, NULL, NULL));
    assert_non_null(strstr(strata_errmsg(), "strata_txn_db_open"));
    txn = strata_optimistic_txn_begin(plain, NULL, NULL);
    tu_assert_ok(tput(txn, "a", "1"));
    tu_assert_ok(strata_txn_commit(txn));
    strata_txn_destroy(txn);
    eu_expect(plain, NULL, "a", "1");
    tu_assert_ok(strata_close(plain));
    assert_int_equal(strata_txn_db_open(f->opt, NULL, "/x", NULL), STRATA_E_INVALID);
    strata_txn_db_options_destroy(NULL);
    strata_txn_options_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_own_writes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_merge_in_txn, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_savepoints, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rollback_and_reuse, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_commit_durable, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_lock_timeout, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_deadlock, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_optimistic, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_isolation, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_iter_basic, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_iter_random, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_column_families, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_argument_errors, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
