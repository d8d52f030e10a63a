/* test_api_ttl_filter.c — deterministic whole-engine tests of the issue #11 compaction filters
 * and TTL through the public API: keep/remove/change and unknown decisions, the newest version
 * only, never a version a live snapshot sees (also one created while the compaction is inside
 * the filter), merged values, a single delete after the filter removed the put, the references
 * options and DBs hold to merge operators and filters; TTL expiry with a fake clock (get,
 * multi-get, iterators, snapshots, reopen), compaction dropping expired values, default_ttl, a
 * private POSIX env with a fake clock.  test_api_rangedel_merge.c has the range deletes, merges,
 * single deletes, multi-get and batch cases; both share the fixture below.
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

/* ---- compaction filters ---------------------------------------------------------------------- */

struct filter_state {
    _Atomic long calls;
};

/* "rm*" values are removed, "ch*" values become "changed", the rest is kept. */
static int test_filter(void *state, int level, const char *key, size_t klen, const char *value,
                       size_t vlen, char **new_value, size_t *new_vlen)
{
    struct filter_state *s = state;
    (void)level;
    (void)key;
    (void)klen;
    atomic_fetch_add(&s->calls, 1);
    if (vlen >= 2 && memcmp(value, "rm", 2) == 0) {
        return STRATA_FILTER_REMOVE;
    }
    if (vlen >= 2 && memcmp(value, "ch", 2) == 0) {
        char *nv = malloc(7);
        if (!nv) {
            return STRATA_FILTER_KEEP;
        }
        memcpy(nv, "changed", 7);
        *new_value = nv;
        *new_vlen = 7;
        return STRATA_FILTER_CHANGE;
    }
    return vlen >= 2 && memcmp(value, "xx", 2) == 0 ? 77 : STRATA_FILTER_KEEP;
}

static void filter_data(strata_db *db)
{
    tu_assert_ok(eu_put(db, "a", "keep"));
    tu_assert_ok(eu_put(db, "b", "rm-me"));
    tu_assert_ok(eu_put(db, "c", "ch-me"));
    tu_assert_ok(eu_put(db, "d", "xx-unknown-decision"));
    tu_assert_ok(eu_put(db, "e", "rm-old"));
    tu_assert_ok(eu_put(db, "e", "keep-new")); /* the filter sees the newest version only */
}

static void test_compaction_filter(void **state)
{
    struct fx *f = *state;
    static struct filter_state fs; /* static: outlives a failed test until teardown */
    atomic_store(&fs.calls, 0);
    strata_compaction_filter *cf = strata_compaction_filter_create(&fs, NULL, test_filter, "tf");
    assert_non_null(cf);
    tu_assert_ok(strata_options_set_compaction_filter(f->opt, cf));
    fx_open(f);
    filter_data(f->db);
    /* No compaction yet: everything as written. */
    eu_expect(f->db, NULL, "b", "rm-me");
    eu_expect(f->db, NULL, "c", "ch-me");
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    assert_true(atomic_load(&fs.calls) > 0);
    eu_expect(f->db, NULL, "a", "keep");
    eu_expect(f->db, NULL, "b", NULL);
    eu_expect(f->db, NULL, "c", "changed");
    eu_expect(f->db, NULL, "d", "xx-unknown-decision"); /* an unknown decision keeps */
    eu_expect(f->db, NULL, "e", "keep-new");
    const char *keys[] = {"a", "c", "d", "e"};
    const char *vals[] = {"keep", "changed", "xx-unknown-decision", "keep-new"};
    expect_scan(f->db, NULL, NULL, keys, vals, 4);
    fx_reopen(f);
    expect_scan(f->db, NULL, NULL, keys, vals, 4);
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    strata_compaction_filter_destroy(cf);
}

/* A version a live snapshot can see is never filtered; once the snapshot is gone it is. */
static void test_compaction_filter_snapshot(void **state)
{
    struct fx *f = *state;
    static struct filter_state fs; /* static: outlives a failed test until teardown */
    atomic_store(&fs.calls, 0);
    strata_compaction_filter *cf = strata_compaction_filter_create(&fs, NULL, test_filter, "tf");
    tu_assert_ok(strata_options_set_compaction_filter(f->opt, cf));
    fx_open(f);
    filter_data(f->db);
    const strata_snapshot *s = snap_take(f->db);
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_snapshot(ro, s);
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    for (int i = 0; i < 2; i++) {
        const strata_read_options *r = i ? ro : NULL;
        eu_expect(f->db, r, "b", "rm-me");
        eu_expect(f->db, r, "c", "ch-me");
        eu_expect(f->db, r, "e", "keep-new");
    }
    strata_read_options_destroy(ro);
    snap_drop(f->db, s);
    /* New keys at both ends make the next compaction rewrite the whole key range. */
    tu_assert_ok(eu_put(f->db, "0", "keep"));
    tu_assert_ok(eu_put(f->db, "z", "keep"));
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    eu_expect(f->db, NULL, "b", NULL);
    eu_expect(f->db, NULL, "c", "changed");
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    strata_compaction_filter_destroy(cf);
}

/* A put the filter removed, then a single delete (the user wrote the key once since deleting
 * it): the key stays absent and the version the earlier delete hid never comes back. */
static void test_compaction_filter_then_single_delete(void **state)
{
    struct fx *f = *state;
    static struct filter_state fs;
    strata_compaction_filter *cf = strata_compaction_filter_create(&fs, NULL, test_filter, "tf");
    tu_assert_ok(strata_options_set_compaction_filter(f->opt, cf));
    fx_open(f);
    tu_assert_ok(eu_put(f->db, "k", "old"));
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    tu_assert_ok(eu_del(f->db, "k"));
    tu_assert_ok(eu_put(f->db, "k", "rm-new"));
    tu_assert_ok(eu_put(f->db, "0", "keep")); /* both ends: the compaction rewrites everything */
    tu_assert_ok(eu_put(f->db, "z", "keep"));
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    eu_expect(f->db, NULL, "k", NULL);
    tu_assert_ok(strata_single_delete(f->db, NULL, "k", 1));
    eu_expect(f->db, NULL, "k", NULL);
    for (int i = 0; i < 2; i++) {
        tu_assert_ok(eu_put(f->db, "0", "keep"));
        tu_assert_ok(eu_put(f->db, "z", "keep"));
        tu_assert_ok(strata_flush(f->db, 1));
        tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
        eu_expect(f->db, NULL, "k", NULL);
        fx_reopen(f);
    }
    const char *keys[] = {"0", "z"};
    expect_scan(f->db, NULL, NULL, keys, NULL, 2);
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    strata_compaction_filter_destroy(cf);
}

/* A snapshot created while a compaction is inside its filter: the compaction must not install
 * the filter's result for a version that snapshot sees (found by the model test).  The filter
 * holds the compaction at key "k" until the snapshot has been taken and read. */
struct race {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int in_filter, go_on;
    strata_db *db;
    int rc;
};

static struct race race = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, NULL, 0};

static void race_release(void)
{
    pthread_mutex_lock(&race.mu);
    race.go_on = 1;
    pthread_cond_broadcast(&race.cv);
    pthread_mutex_unlock(&race.mu);
}

static int race_filter(void *state, int level, const char *key, size_t klen, const char *value,
                       size_t vlen, char **new_value, size_t *new_vlen)
{
    if (klen == 1 && key[0] == 'k') {
        pthread_mutex_lock(&race.mu);
        race.in_filter = 1;
        pthread_cond_broadcast(&race.cv);
        while (!race.go_on) {
            pthread_cond_wait(&race.cv, &race.mu);
        }
        pthread_mutex_unlock(&race.mu);
    }
    return test_filter(state, level, key, klen, value, vlen, new_value, new_vlen);
}

static void *race_compact(void *arg)
{
    (void)arg;
    race.rc = strata_compact_range(race.db, NULL, 0, NULL, 0);
    return NULL;
}

static void test_compaction_filter_snapshot_race(void **state)
{
    struct fx *f = *state;
    static struct filter_state fs;
    strata_compaction_filter *cf = strata_compaction_filter_create(&fs, NULL, race_filter, "tf");
    tu_assert_ok(strata_options_set_compaction_filter(f->opt, cf));
    fx_open(f);
    tu_assert_ok(eu_put(f->db, "k", "ch-me"));
    tu_assert_ok(strata_flush(f->db, 1));
    race.db = f->db;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, race_compact, NULL), 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&race.mu);
    while (!race.in_filter && pthread_cond_timedwait(&race.cv, &race.mu, &until) == 0) {
    }
    int reached = race.in_filter;
    pthread_mutex_unlock(&race.mu);
    const strata_snapshot *s = strata_snapshot_create(f->db);
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_snapshot(ro, s);
    void *v1 = NULL, *v2 = NULL;
    size_t l1 = 0, l2 = 0;
    int rc1 = strata_get(f->db, ro, "k", 1, &v1, &l1);
    race_release(); /* before any check: a failed check must not leave the compaction blocked */
    pthread_join(th, NULL);
    int rc2 = strata_get(f->db, ro, "k", 1, &v2, &l2);
    strata_read_options_destroy(ro);
    strata_snapshot_release(f->db, s);
    tu_assert_ok(race.rc);
    if (!reached) {
        print_message("the compaction never called the filter for \"k\"; nothing to check\n");
    }
    tu_assert_ok(rc1);
    tu_assert_ok(rc2);
    if (l1 != l2 || memcmp(v1, v2, l1) != 0) {
        print_error("a snapshot taken during the compaction changed under its reader\n");
        eu_print_bytes("first read", v1, l1);
        eu_print_bytes("after the compaction", v2, l2);
        strata_free(v1);
        strata_free(v2);
        fail();
    }
    strata_free(v1);
    strata_free(v2);
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    strata_compaction_filter_destroy(cf);
}

/* The filter sees merged values: a counter can be removed by value. */
static int counter_filter(void *state, int level, const char *key, size_t klen, const char *value,
                          size_t vlen, char **new_value, size_t *new_vlen)
{
    (void)state;
    (void)level;
    (void)new_value;
    (void)new_vlen;
    char zero[8];
    le64(zero, 0);
    if (klen == 1 && key[0] == 'z' && vlen == 8 && memcmp(value, zero, 8) == 0) {
        return STRATA_FILTER_REMOVE;
    }
    return STRATA_FILTER_KEEP;
}

static void test_compaction_filter_merged(void **state)
{
    struct fx *f = *state;
    strata_compaction_filter *cf =
        strata_compaction_filter_create(NULL, NULL, counter_filter, "zero-counters");
    tu_assert_ok(strata_options_set_compaction_filter(f->opt, cf));
    fx_open(f);
    merge_u64(f->db, "z", 5);
    merge_u64(f->db, "z", UINT64_MAX - 4); /* sums to 0 */
    merge_u64(f->db, "y", 0);
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    eu_expect(f->db, NULL, "z", NULL);
    expect_u64(f->db, NULL, "y", 0);
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    strata_compaction_filter_destroy(cf);
}

static int destroyed_count;

static void count_destroy(void *state)
{
    (void)state;
    destroyed_count++;
}

/* The options and each open DB hold their own references to the merge operator and the
 * compaction filter: the creator may destroy them at once; the destructors run once, after the
 * last holder lets go. */
static void test_operator_references(void **state)
{
    struct fx *f = *state;
    static struct fail_state ms;
    static struct filter_state fs;
    destroyed_count = 0;
    strata_merge_operator *mo =
        strata_merge_operator_create(&ms, count_destroy, fail_full_merge, NULL, "test.refs");
    strata_compaction_filter *cf =
        strata_compaction_filter_create(&fs, count_destroy, test_filter, "tf");
    assert_non_null(mo);
    assert_non_null(cf);
    tu_assert_ok(strata_options_set_merge_operator(f->opt, mo));
    tu_assert_ok(strata_options_set_compaction_filter(f->opt, cf));
    strata_merge_operator_destroy(mo);
    strata_compaction_filter_destroy(cf);
    assert_int_equal(destroyed_count, 0);
    fx_open(f);
    tu_assert_ok(strata_options_set_merge_operator(f->opt, f->mo)); /* the DB keeps its own */
    tu_assert_ok(strata_options_set_compaction_filter(f->opt, NULL));
    assert_int_equal(destroyed_count, 0);
    tu_assert_ok(strata_merge(f->db, NULL, "m", 1, "ab", 2));
    tu_assert_ok(strata_merge(f->db, NULL, "m", 1, "cd", 2));
    tu_assert_ok(eu_put(f->db, "r", "rm-me"));
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    eu_expect(f->db, NULL, "m", "abcd");
    eu_expect(f->db, NULL, "r", NULL);
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    assert_int_equal(destroyed_count, 2);
}

/* ---- TTL ---------------------------------------------------------------------------------------
 */

static void expect_absent_everywhere(strata_db *db, const char *key)
{
    eu_expect(db, NULL, key, NULL);
    const void *keys[1] = {key};
    size_t kls[1] = {strlen(key)}, vls[1];
    void *vals[1] = {(void *)1};
    int st[1];
    tu_assert_ok(strata_multi_get(db, NULL, 1, keys, kls, vals, vls, st));
    assert_int_equal(st[0], STRATA_E_NOTFOUND);
    assert_null(vals[0]);
    strata_iter *it = NULL;
    it = iter_open(db, NULL);
    strata_iter_seek(it, key, strlen(key));
    if (strata_iter_valid(it)) {
        size_t kl;
        const char *k = strata_iter_key(it, &kl);
        if (mr_compare(k, kl, key, strlen(key)) == 0) {
            print_error("iterator shows the expired key \"%s\"\n", key);
            fail();
        }
    }
    strata_iter_seek_for_prev(it, key, strlen(key));
    if (strata_iter_valid(it)) {
        size_t kl;
        const char *k = strata_iter_key(it, &kl);
        if (mr_compare(k, kl, key, strlen(key)) == 0) {
            print_error("reverse iterator shows the expired key \"%s\"\n", key);
            fail();
        }
    }
    tu_assert_ok(strata_iter_status(it));
    iter_close(it);
}

static void test_ttl_expiry(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    tu_assert_ok(strata_put_ttl(f->db, NULL, "t10", 3, "a", 1, 10));
    tu_assert_ok(strata_put_ttl(f->db, NULL, "t0", 2, "b", 1, 0)); /* never expires */
    tu_assert_ok(eu_put(f->db, "plain", "c"));
    tu_assert_ok(strata_put_ttl(f->db, NULL, "t20", 3, "d", 1, 20));
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_put_ttl(f->db, NULL, "m10", 3, "e", 1, 10)); /* memtable */
    advance(f, 9 * SEC);
    eu_expect(f->db, NULL, "t10", "a");
    eu_expect(f->db, NULL, "m10", "e");
    assert_int_equal(count_keys(f->db, NULL), 5);
    advance(f, 2 * SEC);
    expect_absent_everywhere(f->db, "t10");
    expect_absent_everywhere(f->db, "m10");
    eu_expect(f->db, NULL, "t0", "b");
    eu_expect(f->db, NULL, "plain", "c");
    eu_expect(f->db, NULL, "t20", "d");
    const char *keys[] = {"plain", "t0", "t20"};
    expect_scan(f->db, NULL, NULL, keys, NULL, 3);
    /* Expiry applies to snapshot reads too (it is a property of the clock, not the view). */
    const strata_snapshot *s = snap_take(f->db);
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_snapshot(ro, s);
    eu_expect(f->db, ro, "t20", "d");
    advance(f, 10 * SEC);
    eu_expect(f->db, ro, "t20", NULL);
    eu_expect(f->db, NULL, "t20", NULL);
    strata_read_options_destroy(ro);
    snap_drop(f->db, s);
    /* A new put of an expired key is visible; a merge on an expired key starts from 0. */
    tu_assert_ok(eu_put(f->db, "t10", "again"));
    eu_expect(f->db, NULL, "t10", "again");
    char eight[8];
    le64(eight, 1000);
    tu_assert_ok(strata_put_ttl(f->db, NULL, "cnt", 3, eight, 8, 5));
    advance(f, 6 * SEC);
    merge_u64(f->db, "cnt", 7);
    expect_u64(f->db, NULL, "cnt", 7);
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    expect_u64(f->db, NULL, "cnt", 7);
    /* Expiry survives a reopen (the expiry time is stored, not the TTL). */
    tu_assert_ok(strata_put_ttl(f->db, NULL, "r", 1, "v", 1, 30));
    fx_reopen(f);
    eu_expect(f->db, NULL, "r", "v");
    advance(f, 31 * SEC);
    fx_reopen(f);
    eu_expect(f->db, NULL, "r", NULL);
    eu_expect(f->db, NULL, "t10", "again");
    eu_expect(f->db, NULL, "t0", "b");
}

static uint64_t prop(strata_db *db, const char *name)
{
    uint64_t v = 0;
    tu_assert_ok(strata_property_int(db, name, &v));
    return v;
}

/* Compaction drops expired values: the tables shrink from ~300 KiB to almost nothing. */
static void test_ttl_compaction_drops(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    char k[16], v[200];
    eu_rng r;
    eu_rng_seed(&r, 11);
    for (int i = 0; i < 1500; i++) {
        snprintf(k, sizeof(k), "e%05d", i);
        eu_fill(&r, v, sizeof(v)); /* incompressible enough to keep the tables large */
        tu_assert_ok(strata_put_ttl(f->db, NULL, k, strlen(k), v, sizeof(v), 60));
    }
    tu_assert_ok(eu_put(f->db, "keeper", "stays"));
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    uint64_t before = prop(f->db, "strata.total-sst-size");
    uint64_t keys_before = prop(f->db, "strata.estimate-num-keys");
    assert_true(before > 200000);
    assert_true(keys_before >= 1000);
    advance(f, 61 * SEC);
    assert_int_equal(count_keys(f->db, NULL), 1);
    /* Keys at both ends in a new table make the compaction rewrite every table, including
     * those already in the last level. */
    tu_assert_ok(eu_put(f->db, "e", "x"));
    tu_assert_ok(eu_put(f->db, "e99999", "x"));
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    uint64_t after = prop(f->db, "strata.total-sst-size");
    uint64_t keys_after = prop(f->db, "strata.estimate-num-keys");
    print_message("ttl compaction: total-sst-size %llu -> %llu, estimate-num-keys %llu -> %llu\n",
                  (unsigned long long)before, (unsigned long long)after,
                  (unsigned long long)keys_before, (unsigned long long)keys_after);
    assert_true(after < before / 10);
    assert_true(keys_after < 10);
    eu_expect(f->db, NULL, "keeper", "stays");
    assert_int_equal(count_keys(f->db, NULL), 3);
}

static void test_default_ttl(void **state)
{
    struct fx *f = *state;
    tu_assert_ok(strata_options_set_default_ttl(f->opt, 100));
    fx_open(f);
    tu_assert_ok(eu_put(f->db, "p", "1"));
    tu_assert_ok(strata_put_ttl(f->db, NULL, "never", 5, "2", 1, 0));
    tu_assert_ok(strata_put_ttl(f->db, NULL, "short", 5, "3", 1, 10));
    strata_batch *b = strata_batch_create();
    tu_assert_ok(strata_batch_put(b, "bp", 2, "4", 1));
    advance(f, 50 * SEC); /* default_ttl applies to batch puts when the batch is written */
    tu_assert_ok(strata_write(f->db, NULL, b));
    strata_batch_destroy(b);
    merge_u64(f->db, "cnt", 1); /* merge operands have no TTL */
    eu_expect(f->db, NULL, "short", NULL);
    eu_expect(f->db, NULL, "p", "1");
    advance(f, 51 * SEC); /* 101 s after the puts, 51 s after the batch */
    eu_expect(f->db, NULL, "p", NULL);
    eu_expect(f->db, NULL, "never", "2");
    eu_expect(f->db, NULL, "bp", "4");
    expect_u64(f->db, NULL, "cnt", 1);
    advance(f, 50 * SEC);
    eu_expect(f->db, NULL, "bp", NULL);
    expect_u64(f->db, NULL, "cnt", 1);
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_compact_range(f->db, NULL, 0, NULL, 0));
    const char *keys[] = {"cnt", "never"};
    expect_scan(f->db, NULL, NULL, keys, NULL, 2);
    /* The option string form. */
    strata_options *o = strata_options_create();
    tu_assert_ok(strata_options_from_string(o, "default_ttl=60;merge_operator=uint64add"));
    strata_options_destroy(o);
}

/* A private POSIX env takes a clock; the shared default env does not. */
static void test_ttl_posix_env_clock(void **state)
{
    struct fx *f = *state;
    assert_int_equal(strata_env_set_clock(strata_env_default(), fake_clock, f), STRATA_E_INVALID);
    assert_int_equal(strata_env_set_clock(NULL, fake_clock, f), STRATA_E_INVALID);
    strata_env *env = strata_env_create_posix();
    assert_non_null(env);
    tu_assert_ok(strata_env_set_clock(env, fake_clock, f));
    char *dir = tu_mkdtemp("ttl_posix");
    strata_options *o = strata_options_copy(f->opt);
    tu_assert_ok(strata_options_set_env(o, env));
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, dir, &db));
    tu_assert_ok(strata_put_ttl(db, NULL, "k", 1, "v", 1, 5));
    tu_assert_ok(strata_flush(db, 1));
    eu_expect(db, NULL, "k", "v");
    advance(f, 6 * SEC);
    eu_expect(db, NULL, "k", NULL);
    /* With the real clock restored a value with a long TTL written now is visible. */
    tu_assert_ok(strata_env_set_clock(env, NULL, NULL));
    tu_assert_ok(strata_put_ttl(db, NULL, "r", 1, "v", 1, 3600));
    eu_expect(db, NULL, "r", "v");
    tu_assert_ok(strata_close(db));
    strata_options_destroy(o);
    strata_env_destroy(env);
    tu_free_path(dir);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_compaction_filter),
        T(test_compaction_filter_snapshot),
        T(test_compaction_filter_then_single_delete),
        T(test_compaction_filter_snapshot_race),
        T(test_compaction_filter_merged),
        T(test_operator_references),
        T(test_ttl_expiry),
        T(test_ttl_compaction_drops),
        T(test_default_ttl),
        T(test_ttl_posix_env_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
