/* test_skiplist.c — the concurrent skip list (mem/skiplist.h): random inserts against a sorted
 * reference, iteration both ways, seek, allocation failure, and one writer racing several
 * readers (run under TSan in the thread-sanitizer build). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mem/skiplist.h"
#include "strata.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/arena.h"
#include "util/random.h"

/* Entries: a uint64 key followed by `pad` filler bytes; search keys: const uint64_t *. */
static uint64_t entry_u64(const char *e)
{
    uint64_t v;
    memcpy(&v, e, sizeof(v));
    return v;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

static int entries_cmp(void *ctx, const char *a, const char *b)
{
    (void)ctx;
    return cmp_u64(entry_u64(a), entry_u64(b));
}

static int entry_key_cmp(void *ctx, const char *e, const void *key)
{
    (void)ctx;
    return cmp_u64(entry_u64(e), *(const uint64_t *)key);
}

static const st_skiplist_cmp u64_cmp = {entries_cmp, entry_key_cmp, NULL};

static int insert_u64(st_skiplist *s, uint64_t v, size_t pad)
{
    char *e = st_skiplist_alloc(s, sizeof(v) + pad);
    if (!e) {
        return STRATA_E_NOMEM;
    }
    memcpy(e, &v, sizeof(v));
    memset(e + sizeof(v), 0xab, pad);
    st_skiplist_insert(s, e, &v);
    return 0;
}

static int u64_order(const void *a, const void *b)
{
    return cmp_u64(*(const uint64_t *)a, *(const uint64_t *)b);
}

/* Index of the first reference element >= key (n if none). */
static size_t lower_bound(const uint64_t *ref, size_t n, uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ref[mid] < key) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static void test_empty(void **state)
{
    (void)state;
    st_arena arena;
    st_skiplist s;
    st_skiplist_iter it;
    uint64_t key = 42;
    st_arena_init(&arena, 0);
    tu_assert_ok(st_skiplist_init(&s, &arena, &u64_cmp));
    st_skiplist_iter_init(&it, &s);
    assert_false(st_skiplist_iter_valid(&it));
    st_skiplist_iter_seek_to_first(&it);
    assert_false(st_skiplist_iter_valid(&it));
    st_skiplist_iter_seek_to_last(&it);
    assert_false(st_skiplist_iter_valid(&it));
    st_skiplist_iter_seek(&it, &key);
    assert_false(st_skiplist_iter_valid(&it));
    st_arena_destroy(&arena);
}

static void check_forward(const st_skiplist *s, const uint64_t *ref, size_t n)
{
    st_skiplist_iter it;
    st_skiplist_iter_init(&it, s);
    st_skiplist_iter_seek_to_first(&it);
    for (size_t i = 0; i < n; i++) {
        assert_true(st_skiplist_iter_valid(&it));
        assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), ref[i]);
        st_skiplist_iter_next(&it);
    }
    assert_false(st_skiplist_iter_valid(&it));
}

static void check_backward(const st_skiplist *s, const uint64_t *ref, size_t n)
{
    st_skiplist_iter it;
    st_skiplist_iter_init(&it, s);
    st_skiplist_iter_seek_to_last(&it);
    for (size_t i = n; i-- > 0;) {
        assert_true(st_skiplist_iter_valid(&it));
        assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), ref[i]);
        st_skiplist_iter_prev(&it);
    }
    assert_false(st_skiplist_iter_valid(&it));
}

static void check_seeks(const st_skiplist *s, const uint64_t *ref, size_t n, st_random *rnd)
{
    st_skiplist_iter it;
    st_skiplist_iter_init(&it, s);
    for (int i = 0; i < 2000; i++) {
        /* Half the targets are present keys, half arbitrary values (mostly absent). */
        uint64_t key = (i & 1) ? ref[st_random_uniform(rnd, n)] : st_random_next(rnd) >> 1;
        size_t want = lower_bound(ref, n, key);
        st_skiplist_iter_seek(&it, &key);
        if (want == n) {
            assert_false(st_skiplist_iter_valid(&it));
            continue;
        }
        assert_true(st_skiplist_iter_valid(&it));
        assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), ref[want]);
        if (want > 0) { /* prev from a seek lands on the predecessor */
            st_skiplist_iter_prev(&it);
            assert_true(st_skiplist_iter_valid(&it));
            assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), ref[want - 1]);
        }
    }
}

static void test_random_vs_reference(void **state)
{
    (void)state;
    st_random rnd;
    st_random_seed(&rnd, tu_seed(301));
    const size_t n = 5000;
    uint64_t *ref = calloc(n, sizeof(*ref));
    assert_non_null(ref);
    st_arena arena;
    st_skiplist s;
    st_arena_init(&arena, 4096); /* small blocks: exercise block switches and big-node blocks */
    tu_assert_ok(st_skiplist_init(&s, &arena, &u64_cmp));
    size_t have = 0;
    while (have < n) {
        uint64_t v = st_random_next(&rnd) >> 1; /* keep UINT64_MAX-ish free for seeks past end */
        size_t at = lower_bound(ref, have, v);
        if (at < have && ref[at] == v) {
            continue; /* duplicates are not allowed */
        }
        /* Mostly small entries, occasionally one larger than a quarter of the arena block. */
        size_t pad = st_random_one_in(&rnd, 50) ? 3000 : st_random_uniform(&rnd, 40);
        tu_assert_ok(insert_u64(&s, v, pad));
        memmove(ref + at + 1, ref + at, (have - at) * sizeof(*ref));
        ref[at] = v;
        have++;
    }
    int h = atomic_load(&s.height);
    assert_true(h > 1 && h <= ST_SKIPLIST_MAX_HEIGHT);
    check_forward(&s, ref, n);
    check_backward(&s, ref, n);
    check_seeks(&s, ref, n, &rnd);
    uint64_t past = UINT64_MAX;
    st_skiplist_iter it;
    st_skiplist_iter_init(&it, &s);
    st_skiplist_iter_seek(&it, &past);
    assert_false(st_skiplist_iter_valid(&it));
    uint64_t before = 0;
    st_skiplist_iter_seek(&it, &before);
    assert_true(st_skiplist_iter_valid(&it));
    assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), ref[0]);
    st_arena_destroy(&arena);
    free(ref);
}

/* Ascending and descending insertion orders hit the head and tail paths of the search. */
static void test_monotonic_inserts(void **state)
{
    (void)state;
    enum { N = 3000 };
    static uint64_t ref[N];
    for (int dir = 0; dir < 2; dir++) {
        st_arena arena;
        st_skiplist s;
        st_arena_init(&arena, 0);
        tu_assert_ok(st_skiplist_init(&s, &arena, &u64_cmp));
        for (uint64_t i = 0; i < N; i++) {
            uint64_t v = dir ? (N - i) * 3 : i * 3;
            tu_assert_ok(insert_u64(&s, v, 0));
            ref[i] = v;
        }
        qsort(ref, N, sizeof(*ref), u64_order);
        check_forward(&s, ref, N);
        check_backward(&s, ref, N);
        st_arena_destroy(&arena);
    }
}

static void test_alloc_failure(void **state)
{
    (void)state;
    st_arena arena;
    st_skiplist s;
    st_arena_init(&arena, 1024);
    st_alloc_fail_after(0, 1);
    assert_int_equal(st_skiplist_init(&s, &arena, &u64_cmp), STRATA_E_NOMEM);
    st_alloc_fail_after(-1, 0);
    st_arena_destroy(&arena);

    st_arena_init(&arena, 1024);
    tu_assert_ok(st_skiplist_init(&s, &arena, &u64_cmp));
    tu_assert_ok(insert_u64(&s, 7, 0));
    st_alloc_fail_after(0, 1);
    assert_null(st_skiplist_alloc(&s, 4096)); /* needs a fresh block, which fails */
    st_alloc_fail_after(-1, 0);
    uint64_t ref[] = {7};
    check_forward(&s, ref, 1); /* the list is unchanged and still usable */
    tu_assert_ok(insert_u64(&s, 9, 4096));
    uint64_t ref2[] = {7, 9};
    check_forward(&s, ref2, 2);
    st_arena_destroy(&arena);
}

/* ---- one writer, several lock-free readers ---- */

enum { CONC_N = 20000, CONC_READERS = 3 };

typedef struct conc {
    st_skiplist list;
    uint64_t keys[CONC_N];   /* insertion order; written before the threads start */
    atomic_size_t published; /* keys[0..published) are in the list (release/acquire) */
    atomic_int failures;
    atomic_long passes;
} conc;

/* A key sequence with no duplicates: multiplying by an odd constant is a bijection. */
static uint64_t conc_key(size_t i)
{
    return (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull;
}

static void *conc_writer(void *arg)
{
    conc *c = arg;
    long base = atomic_load(&c->passes);
    for (size_t i = 0; i < CONC_N; i++) {
        if (i == CONC_N / 2) {
            /* Guarantee overlap: every reader completes passes over a half-built list. */
            while (atomic_load(&c->passes) < base + 2 * CONC_READERS) {
                sched_yield();
            }
        } else if (i % 512 == 0) {
            sched_yield();
        }
        if (insert_u64(&c->list, c->keys[i], i % 16) != 0) {
            atomic_fetch_add(&c->failures, 1);
            break;
        }
        /* Release: pairs with the readers' acquire load, so "key i is in the list" is known to
         * any reader that sees published > i. */
        atomic_store_explicit(&c->published, i + 1, memory_order_release);
    }
    return NULL;
}

/* One full forward pass: sorted, and holds at least everything published before it began. */
static void conc_check_pass(conc *c, st_random *rnd, size_t *last_count)
{
    size_t floor = atomic_load_explicit(&c->published, memory_order_acquire);
    st_skiplist_iter it;
    st_skiplist_iter_init(&it, &c->list);
    size_t count = 0;
    uint64_t prev = 0;
    for (st_skiplist_iter_seek_to_first(&it); st_skiplist_iter_valid(&it);
         st_skiplist_iter_next(&it)) {
        uint64_t v = entry_u64(st_skiplist_iter_entry(&it));
        if (count > 0 && v <= prev) {
            atomic_fetch_add(&c->failures, 1);
        }
        prev = v;
        count++;
    }
    if (count < floor || count < *last_count) {
        atomic_fetch_add(&c->failures, 1); /* the set must only grow */
    }
    *last_count = count;
    for (int i = 0; floor > 0 && i < 50; i++) {
        uint64_t k = c->keys[st_random_uniform(rnd, floor)];
        st_skiplist_iter_seek(&it, &k);
        if (!st_skiplist_iter_valid(&it) || entry_u64(st_skiplist_iter_entry(&it)) != k) {
            atomic_fetch_add(&c->failures, 1);
        }
    }
    atomic_fetch_add(&c->passes, 1);
}

static void *conc_reader(void *arg)
{
    conc *c = arg;
    st_random rnd;
    st_random_seed(&rnd, (uint64_t)(uintptr_t)&rnd);
    size_t last = 0;
    while (atomic_load_explicit(&c->published, memory_order_acquire) < CONC_N) {
        conc_check_pass(c, &rnd, &last);
    }
    conc_check_pass(c, &rnd, &last); /* once more over the complete list */
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    (void)state;
    conc *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    st_arena arena;
    st_arena_init(&arena, 0);
    tu_assert_ok(st_skiplist_init(&c->list, &arena, &u64_cmp));
    for (size_t i = 0; i < CONC_N; i++) {
        c->keys[i] = conc_key(i);
    }
    atomic_init(&c->published, 0);
    atomic_init(&c->failures, 0);
    atomic_init(&c->passes, 0);
    pthread_t readers[CONC_READERS], writer;
    for (int i = 0; i < CONC_READERS; i++) {
        assert_int_equal(pthread_create(&readers[i], NULL, conc_reader, c), 0);
    }
    assert_int_equal(pthread_create(&writer, NULL, conc_writer, c), 0);
    pthread_join(writer, NULL);
    for (int i = 0; i < CONC_READERS; i++) {
        pthread_join(readers[i], NULL);
    }
    assert_int_equal(atomic_load(&c->failures), 0);
    assert_true(atomic_load(&c->passes) >= CONC_READERS);
    st_arena_destroy(&arena);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_random_vs_reference),
        cmocka_unit_test(test_monotonic_inserts),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_concurrent_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
