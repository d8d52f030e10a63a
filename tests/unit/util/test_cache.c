/* test_cache.c — the sharded LRU cache: LRU order, charge and pinned accounting, pinning versus
 * eviction, erase and replace while pinned, capacity 0, set_capacity, prune, table growth,
 * deleters that re-enter the cache, out-of-memory, the public wrappers, and a multi-threaded
 * stress run (run it under TSan too) checked against deleter counts. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/cache.h"
#include "util/random.h"

/* ---- Deleter bookkeeping (single-threaded tests) -------------------------------------------------- */

#define MAX_DELETED 64

static struct {
    int n;
    char keys[MAX_DELETED][16];
    long values[MAX_DELETED];
} deleted;

static void reset_deleted(void)
{
    deleted.n = 0;
}

static void record_deleter(st_slice key, void *value)
{
    if (deleted.n < MAX_DELETED) {
        size_t n = key.size < 15 ? key.size : 15;
        memcpy(deleted.keys[deleted.n], key.data, n);
        deleted.keys[deleted.n][n] = '\0';
        deleted.values[deleted.n] = (long)value;
    }
    deleted.n++;
}

static st_slice k(const char *s)
{
    return st_slice_cstr(s);
}

static st_cache_handle *ins(st_cache *c, const char *key, long value, size_t charge)
{
    st_cache_handle *h = st_cache_insert(c, k(key), (void *)value, charge, record_deleter);
    assert_non_null(h);
    return h;
}

static void put(st_cache *c, const char *key, long value, size_t charge)
{
    st_cache_release(c, ins(c, key, value, charge));
}

/* Value for key, or -1 if absent. */
static long get(st_cache *c, const char *key)
{
    st_cache_handle *h = st_cache_lookup(c, k(key));
    if (!h) {
        return -1;
    }
    long v = (long)st_cache_value(h);
    st_cache_release(c, h);
    return v;
}

/* ---- Single-threaded behaviour -------------------------------------------------------------------- */

static void test_insert_lookup(void **state)
{
    (void)state;
    reset_deleted();
    st_cache *c = st_cache_create(1000, 0);
    assert_non_null(c);
    assert_int_equal(st_cache_capacity(c), 1000);
    assert_int_equal(get(c, "a"), -1);
    put(c, "a", 1, 10);
    put(c, "b", 2, 20);
    assert_int_equal(get(c, "a"), 1);
    assert_int_equal(get(c, "b"), 2);
    assert_int_equal(get(c, "c"), -1);
    assert_int_equal(st_cache_usage(c), 30);
    assert_int_equal(st_cache_pinned_usage(c), 0);
    /* Keys are copied: binary, empty and prefix-related keys are all distinct. */
    char key[4] = {'x', '\0', 'y', '\0'};
    st_cache_release(c, st_cache_insert(c, st_slice_make(key, 3), (void *)3, 1, record_deleter));
    st_cache_release(c, st_cache_insert(c, st_slice_make("", 0), (void *)4, 1, record_deleter));
    key[0] = 'z'; /* the cache must not see this */
    assert_int_equal(get(c, "x"), -1);
    st_cache_handle *h = st_cache_lookup(c, st_slice_make("x\0y", 3));
    assert_non_null(h);
    assert_int_equal((long)st_cache_value(h), 3);
    st_cache_release(c, h);
    h = st_cache_lookup(c, st_slice_make(NULL, 0));
    assert_non_null(h);
    assert_int_equal((long)st_cache_value(h), 4);
    st_cache_release(c, h);
    st_cache_release(c, NULL);
    assert_int_equal(deleted.n, 0);
    st_cache_unref(c);
    assert_int_equal(deleted.n, 4); /* destroy frees every entry */
}

static void test_lru_order(void **state)
{
    (void)state;
    reset_deleted();
    st_cache *c = st_cache_create(3, 0);
    put(c, "a", 1, 1);
    put(c, "b", 2, 1);
    put(c, "c", 3, 1);
    assert_int_equal(get(c, "a"), 1); /* a becomes the most recently used */
    put(c, "d", 4, 1);                /* evicts b, the oldest */
    assert_int_equal(deleted.n, 1);
    assert_string_equal(deleted.keys[0], "b");
    assert_int_equal(deleted.values[0], 2);
    assert_int_equal(get(c, "b"), -1);
    assert_int_equal(get(c, "c"), 3);
    put(c, "e", 5, 1); /* evicts a: order now a, c, d -> c, d, e */
    assert_string_equal(deleted.keys[1], "a");
    put(c, "big", 6, 2); /* needs two slots: evicts d and c (c was used after a) */
    assert_int_equal(deleted.n, 4);
    assert_string_equal(deleted.keys[2], "d");
    assert_string_equal(deleted.keys[3], "c");
    assert_int_equal(st_cache_usage(c), 3);
    st_cache_unref(c);
    assert_int_equal(deleted.n, 6);
}

static void test_charge_and_pinning(void **state)
{
    (void)state;
    reset_deleted();
    st_cache *c = st_cache_create(100, 0);
    st_cache_handle *pinned = ins(c, "pinned", 1, 60);
    assert_int_equal(st_cache_usage(c), 60);
    assert_int_equal(st_cache_pinned_usage(c), 60);
    /* Filling past capacity evicts only unpinned entries. */
    for (int i = 0; i < 10; i++) {
        char key[8];
        snprintf(key, sizeof(key), "k%d", i);
        put(c, key, 100 + i, 30);
    }
    assert_int_equal(get(c, "pinned"), 1);
    assert_int_equal(get(c, "k9"), 109);
    assert_int_equal(st_cache_usage(c), 90);
    assert_int_equal(st_cache_pinned_usage(c), 60);
    /* A pinned entry over capacity is allowed; usage drops once it is released. */
    st_cache_handle *huge = ins(c, "huge", 2, 500);
    assert_int_equal(st_cache_pinned_usage(c), 560);
    assert_true(st_cache_usage(c) >= 560);
    assert_int_equal(get(c, "huge"), 2); /* lookup of a pinned entry pins it again */
    st_cache_handle *again = st_cache_lookup(c, k("huge"));
    assert_ptr_equal(again, huge);
    st_cache_release(c, again);
    assert_int_equal(st_cache_pinned_usage(c), 560);
    st_cache_release(c, huge);
    assert_int_equal(get(c, "huge"), -1); /* too big to stay */
    assert_int_equal(st_cache_pinned_usage(c), 60);
    assert_true(st_cache_usage(c) <= 100);
    st_cache_release(c, pinned);
    assert_int_equal(st_cache_pinned_usage(c), 0);
    assert_int_equal(get(c, "pinned"), 1); /* still cached after its release */
    st_cache_unref(c);
}

static void test_erase(void **state)
{
    (void)state;
    reset_deleted();
    st_cache *c = st_cache_create(100, 0);
    put(c, "a", 1, 10);
    st_cache_erase(c, k("a"));
    assert_int_equal(deleted.n, 1);
    assert_int_equal(get(c, "a"), -1);
    assert_int_equal(st_cache_usage(c), 0);
    st_cache_erase(c, k("missing"));
    /* Erase while pinned: gone from lookups at once, freed at the last release. */
    st_cache_handle *h = ins(c, "b", 2, 10);
    st_cache_handle *h2 = st_cache_lookup(c, k("b"));
    st_cache_erase(c, k("b"));
    assert_int_equal(get(c, "b"), -1);
    assert_int_equal(deleted.n, 1);
    assert_int_equal((long)st_cache_value(h), 2);
    assert_int_equal(st_cache_usage(c), 10);
    assert_int_equal(st_cache_pinned_usage(c), 10);
    st_cache_release(c, h);
    assert_int_equal(deleted.n, 1);
    st_cache_release(c, h2);
    assert_int_equal(deleted.n, 2);
    assert_string_equal(deleted.keys[1], "b");
    assert_int_equal(st_cache_usage(c), 0);
    assert_int_equal(st_cache_pinned_usage(c), 0);
    /* A new entry under an erased-but-pinned key is independent of it. */
    h = ins(c, "c", 3, 5);
    st_cache_erase(c, k("c"));
    put(c, "c", 4, 5);
    assert_int_equal(get(c, "c"), 4);
    st_cache_release(c, h);
    assert_int_equal(get(c, "c"), 4);
    assert_int_equal(deleted.values[deleted.n - 1], 3);
    st_cache_unref(c);
}

static void test_replace(void **state)
{
    (void)state;
    reset_deleted();
    st_cache *c = st_cache_create(100, 0);
    put(c, "a", 1, 10);
    put(c, "a", 2, 20); /* old unpinned value is freed at once */
    assert_int_equal(deleted.n, 1);
    assert_int_equal(deleted.values[0], 1);
    assert_int_equal(get(c, "a"), 2);
    assert_int_equal(st_cache_usage(c), 20);
    /* Replacing a pinned value: both coexist until the old handle goes. */
    st_cache_handle *old = st_cache_lookup(c, k("a"));
    put(c, "a", 3, 30);
    assert_int_equal(get(c, "a"), 3);
    assert_int_equal((long)st_cache_value(old), 2);
    assert_int_equal(st_cache_usage(c), 50);
    assert_int_equal(deleted.n, 1);
    st_cache_release(c, old);
    assert_int_equal(deleted.n, 2);
    assert_int_equal(deleted.values[1], 2);
    assert_int_equal(st_cache_usage(c), 30);
    assert_int_equal(get(c, "a"), 3);
    st_cache_unref(c);
    assert_int_equal(deleted.n, 3);
}

static void test_capacity_zero(void **state)
{
    (void)state;
    reset_deleted();
    st_cache *c = st_cache_create(0, -1);
    assert_non_null(c);
    st_cache_handle *h = ins(c, "a", 1, 0); /* even a zero charge is not retained */
    assert_int_equal((long)st_cache_value(h), 1);
    st_cache_handle *h2 = st_cache_lookup(c, k("a")); /* visible while pinned */
    assert_ptr_equal(h2, h);
    st_cache_release(c, h2);
    assert_int_equal(deleted.n, 0);
    st_cache_release(c, h);
    assert_int_equal(deleted.n, 1);
    assert_int_equal(get(c, "a"), -1);
    put(c, "b", 2, 100);
    assert_int_equal(deleted.n, 2);
    assert_int_equal(st_cache_usage(c), 0);
    st_cache_unref(c);
    assert_int_equal(deleted.n, 2);
}

static void test_set_capacity_and_prune(void **state)
{
    (void)state;
    reset_deleted();
    st_cache *c = st_cache_create(100, 0);
    for (int i = 0; i < 10; i++) {
        char key[8];
        snprintf(key, sizeof(key), "k%d", i);
        put(c, key, i, 10);
    }
    st_cache_handle *pin = st_cache_lookup(c, k("k0"));
    assert_int_equal(st_cache_usage(c), 100);
    st_cache_set_capacity(c, 50);
    assert_int_equal(st_cache_capacity(c), 50);
    assert_int_equal(st_cache_usage(c), 50);
    assert_int_equal(get(c, "k0"), 0); /* pinned: survives */
    assert_int_equal(get(c, "k9"), 9); /* newest survive */
    assert_int_equal(get(c, "k1"), -1);
    st_cache_set_capacity(c, 1000);
    put(c, "new", 99, 500);
    assert_int_equal(st_cache_usage(c), 550);
    st_cache_prune(c);
    assert_int_equal(st_cache_usage(c), 10); /* only the pinned entry is left */
    assert_int_equal(get(c, "k9"), -1);
    assert_int_equal(get(c, "k0"), 0);
    assert_int_equal(st_cache_capacity(c), 1000); /* prune keeps the capacity */
    st_cache_release(c, pin);
    put(c, "after", 1, 10);
    assert_int_equal(get(c, "after"), 1);
    st_cache_unref(c);
}

/* Many entries across shards force the tables to grow; everything stays reachable. */
static void test_many_entries(void **state)
{
    (void)state;
    reset_deleted();
    st_cache *c = st_cache_create(1 << 30, 3);
    enum { N = 20000 };
    char key[16];
    for (long i = 0; i < N; i++) {
        int n = snprintf(key, sizeof(key), "key%ld", i);
        st_cache_release(c, st_cache_insert(c, st_slice_make(key, (size_t)n), (void *)i, 1,
                                            NULL)); /* NULL deleter is allowed */
    }
    assert_int_equal(st_cache_usage(c), N);
    for (long i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "key%ld", i);
        assert_int_equal(get(c, key), i);
    }
    for (long i = 0; i < N; i += 2) {
        snprintf(key, sizeof(key), "key%ld", i);
        st_cache_erase(c, k(key));
    }
    assert_int_equal(st_cache_usage(c), N / 2);
    for (long i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "key%ld", i);
        assert_int_equal(get(c, key), i % 2 ? i : -1);
    }
    st_cache_unref(c);
    assert_int_equal(deleted.n, 0);
}

static void test_ids_and_refs(void **state)
{
    (void)state;
    reset_deleted();
    st_cache *c = st_cache_create(100, -1);
    uint64_t a = st_cache_new_id(c), b = st_cache_new_id(c);
    assert_true(b > a);
    put(c, "a", 1, 1);
    st_cache_ref(c);
    st_cache_unref(c);
    assert_int_equal(deleted.n, 0); /* still one reference */
    assert_int_equal(get(c, "a"), 1);
    st_cache_unref(c);
    assert_int_equal(deleted.n, 1);
    st_cache_unref(NULL);
}

static st_cache *reentrant_cache;
static size_t usage_seen_in_deleter;

static void reentrant_deleter(st_slice key, void *value)
{
    (void)key;
    (void)value;
    /* Deleters run without the shard mutex held, so calling back in must not deadlock. */
    usage_seen_in_deleter = st_cache_usage(reentrant_cache);
    st_cache_handle *h = st_cache_lookup(reentrant_cache, k("other"));
    st_cache_release(reentrant_cache, h);
}

static void test_reentrant_deleter(void **state)
{
    (void)state;
    st_cache *c = st_cache_create(10, 0);
    reentrant_cache = c;
    st_cache_release(c, st_cache_insert(c, k("other"), NULL, 1, NULL));
    st_cache_release(c, st_cache_insert(c, k("a"), NULL, 5, reentrant_deleter));
    st_cache_erase(c, k("a"));
    assert_int_equal(usage_seen_in_deleter, 1);
    st_cache_release(c, st_cache_insert(c, k("b"), NULL, 5, reentrant_deleter));
    st_cache_release(c, st_cache_insert(c, k("c"), NULL, 9, NULL)); /* evicts other and b */
    st_cache_unref(c);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    reset_deleted();
    /* Creation fails cleanly at every allocation (ASan reports leaks). */
    for (int n = 0;; n++) {
        st_alloc_fail_after(n, 0);
        st_cache *c = st_cache_create(64 << 20, 2);
        st_alloc_fail_after(-1, 0);
        if (c) {
            assert_true(n >= 2);
            st_cache_unref(c);
            break;
        }
    }
    st_cache *c = st_cache_create(100, 0);
    put(c, "a", 1, 10);
    st_alloc_fail_after(0, 0);
    assert_null(st_cache_insert(c, k("a"), (void *)2, 10, record_deleter));
    st_alloc_fail_after(-1, 0);
    assert_int_equal(deleted.n, 0); /* the caller still owns the value */
    assert_int_equal(get(c, "a"), 1);
    assert_int_equal(st_cache_usage(c), 10);
    /* A failing table resize is tolerated: entries are still inserted and found. */
    st_cache_handle *hs[40];
    for (int i = 0; i < 40; i++) {
        char key[8];
        snprintf(key, sizeof(key), "r%d", i);
        st_alloc_fail_after(1, 0); /* the entry succeeds, a resize (if any) fails */
        hs[i] = st_cache_insert(c, k(key), (void *)(long)i, 0, record_deleter);
        st_alloc_fail_after(-1, 0);
        assert_non_null(hs[i]);
    }
    for (int i = 0; i < 40; i++) {
        char key[8];
        snprintf(key, sizeof(key), "r%d", i);
        st_cache_release(c, hs[i]);
        assert_int_equal(get(c, key), i);
    }
    st_cache_unref(c);
}

static void test_public_api(void **state)
{
    (void)state;
    strata_cache *c = strata_cache_create_lru(64 << 20);
    assert_non_null(c);
    assert_int_equal(strata_cache_usage(c), 0);
    st_cache_release(c, st_cache_insert(c, k("x"), NULL, 4096, NULL));
    assert_int_equal(strata_cache_usage(c), 4096);
    assert_int_equal(strata_cache_usage(NULL), 0);
    strata_cache_destroy(c);
    strata_cache_destroy(NULL);
    /* A large capacity picks several shards; per-shard capacity rounds up, so the total is
     * honoured without losing entries to rounding. */
    c = st_cache_create(1 << 30, -1);
    for (int i = 0; i < 1000; i++) {
        char key[8];
        snprintf(key, sizeof(key), "%d", i);
        st_cache_release(c, st_cache_insert(c, k(key), NULL, 1, NULL));
    }
    assert_int_equal(st_cache_usage(c), 1000);
    st_cache_unref(c);
}

/* ---- Multi-threaded stress ----------------------------------------------------------------------- */

enum { MT_THREADS = 8, MT_KEYS = 512, MT_OPS = 40000 };

static atomic_long mt_created, mt_freed;

/* Each value records its own key so lookups can check they got the right one. */
struct mt_value {
    int key;
    int gen;
};

static void mt_deleter(st_slice key, void *value)
{
    struct mt_value *v = value;
    int kv = 0;
    sscanf(key.data, "%d", &kv);
    if (v->key != kv) {
        abort(); /* a value under the wrong key: fail loudly from any thread */
    }
    st_free(v);
    atomic_fetch_add(&mt_freed, 1);
}

struct mt_arg {
    st_cache *c;
    uint64_t seed;
    long bad;
};

static void mt_one_op(struct mt_arg *a, st_random *r, st_cache_handle **held, int *nheld)
{
    char key[16];
    int kn = (int)st_random_uniform(r, MT_KEYS);
    int len = snprintf(key, sizeof(key), "%d", kn);
    st_slice ks = st_slice_make(key, (size_t)len + 1); /* include the NUL for sscanf */
    uint64_t op = st_random_uniform(r, 100);
    if (op < 50) {
        st_cache_handle *h = st_cache_lookup(a->c, ks);
        if (h && ((struct mt_value *)st_cache_value(h))->key != kn) {
            a->bad++;
        }
        if (h && *nheld < 4 && st_random_one_in(r, 4)) {
            held[(*nheld)++] = h; /* keep some pinned for a while */
        } else {
            st_cache_release(a->c, h);
        }
    } else if (op < 85) {
        struct mt_value *v = st_malloc(sizeof(*v));
        v->key = kn;
        v->gen = (int)op;
        st_cache_handle *h = st_cache_insert(a->c, ks, v, 1 + st_random_uniform(r, 64),
                                             mt_deleter);
        atomic_fetch_add(&mt_created, 1);
        st_cache_release(a->c, h);
    } else if (op < 95) {
        st_cache_erase(a->c, ks);
    } else if (op < 97) {
        (void)st_cache_usage(a->c);
        (void)st_cache_pinned_usage(a->c);
    } else if (op < 99) {
        st_cache_set_capacity(a->c, st_random_one_in(r, 2) ? 4096 : 8192);
    } else {
        st_cache_prune(a->c);
    }
    if (*nheld && st_random_one_in(r, 3)) {
        st_cache_release(a->c, held[--(*nheld)]);
    }
}

static void *mt_worker(void *arg)
{
    struct mt_arg *a = arg;
    st_random r;
    st_random_seed(&r, a->seed);
    st_cache_handle *held[4];
    int nheld = 0;
    for (int i = 0; i < MT_OPS; i++) {
        mt_one_op(a, &r, held, &nheld);
    }
    while (nheld) {
        st_cache_release(a->c, held[--nheld]);
    }
    return NULL;
}

static void test_multithreaded(void **state)
{
    (void)state;
    atomic_store(&mt_created, 0);
    atomic_store(&mt_freed, 0);
    st_cache *c = st_cache_create(8192, 2);
    pthread_t t[MT_THREADS];
    struct mt_arg args[MT_THREADS];
    uint64_t seed = tu_seed(1234);
    for (int i = 0; i < MT_THREADS; i++) {
        args[i] = (struct mt_arg){c, seed + (uint64_t)i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, mt_worker, &args[i]), 0);
    }
    for (int i = 0; i < MT_THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].bad, 0);
    }
    assert_int_equal(st_cache_pinned_usage(c), 0);
    assert_true(st_cache_usage(c) <= st_cache_capacity(c));
    /* A thread's last operation may prune or erase everything, so the cache may be empty here. */
    assert_true(atomic_load(&mt_freed) <= atomic_load(&mt_created));
    st_cache_unref(c);
    assert_int_equal(atomic_load(&mt_freed), atomic_load(&mt_created)); /* each freed once */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_lookup),
        cmocka_unit_test(test_lru_order),
        cmocka_unit_test(test_charge_and_pinning),
        cmocka_unit_test(test_erase),
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_capacity_zero),
        cmocka_unit_test(test_set_capacity_and_prune),
        cmocka_unit_test(test_many_entries),
        cmocka_unit_test(test_ids_and_refs),
        cmocka_unit_test(test_reentrant_deleter),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_public_api),
        cmocka_unit_test(test_multithreaded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
