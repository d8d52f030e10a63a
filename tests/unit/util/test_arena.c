/* test_arena.c — the bump allocator: allocations never overlap and keep their contents,
 * alignment, big requests in their own blocks, memory accounting, and out-of-memory. */
#include <stdint.h>
#include <string.h>

#include "test_util.h"
#include "util/alloc.h"
#include "util/arena.h"
#include "util/random.h"

static void test_empty(void **state)
{
    (void)state;
    st_arena a;
    st_arena_init(&a, 0);
    assert_int_equal(a.block_size, 64 * 1024);
    assert_int_equal(st_arena_memory_usage(&a), 0);
    st_arena_destroy(&a);
    st_arena_destroy(&a); /* idempotent */
}

/* Mixed sizes, aligned and not: fill each allocation with a pattern and verify all at the end. */
static void test_random_allocations(void **state)
{
    (void)state;
    enum { N = 20000 };
    static char *ptrs[N];
    static size_t sizes[N];
    st_random r;
    st_random_seed(&r, tu_seed(3));
    st_arena a;
    st_arena_init(&a, 4096);
    size_t total = 0;
    for (int i = 0; i < N; i++) {
        size_t n = 1 + (size_t)(st_random_one_in(&r, 100) ? st_random_uniform(&r, 6000)
                                                          : st_random_uniform(&r, 64));
        int aligned = (int)st_random_uniform(&r, 2);
        char *p = aligned ? st_arena_alloc_aligned(&a, n) : st_arena_alloc(&a, n);
        assert_non_null(p);
        if (aligned) {
            assert_int_equal((uintptr_t)p % 8, 0);
            assert_int_equal((uintptr_t)p % sizeof(void *), 0);
        }
        memset(p, i & 0xff, n);
        ptrs[i] = p;
        sizes[i] = n;
        total += n;
        assert_true(st_arena_memory_usage(&a) >= total);
    }
    for (int i = 0; i < N; i++) {
        for (size_t j = 0; j < sizes[i]; j++) {
            if ((unsigned char)ptrs[i][j] != (unsigned char)(i & 0xff)) {
                fail_msg("allocation %d byte %zu overwritten", i, j);
            }
        }
    }
    /* Waste stays bounded: at most about a quarter block per block plus headers. */
    assert_true(st_arena_memory_usage(&a) < total * 2 + 8192);
    st_arena_destroy(&a);
}

static void test_large_in_own_block(void **state)
{
    (void)state;
    st_arena a;
    st_arena_init(&a, 4096);
    char *small = st_arena_alloc(&a, 10);
    size_t used = st_arena_memory_usage(&a);
    assert_true(used >= 4096);
    char *big = st_arena_alloc(&a, 100000);
    assert_non_null(big);
    memset(big, 1, 100000);
    assert_true(st_arena_memory_usage(&a) >= used + 100000);
    /* The current block's tail is still used for the next small request. */
    char *next = st_arena_alloc(&a, 10);
    assert_ptr_equal(next, small + 10);
    st_arena_destroy(&a);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    st_arena a;
    st_arena_init(&a, 1024);
    st_alloc_fail_after(0, 1);
    assert_null(st_arena_alloc(&a, 16));
    assert_null(st_arena_alloc_aligned(&a, 16));
    assert_null(st_arena_alloc(&a, 1 << 20));
    st_alloc_fail_after(-1, 0);
    assert_int_equal(st_arena_memory_usage(&a), 0);
    /* Still usable afterwards. */
    char *p = st_arena_alloc(&a, 16);
    assert_non_null(p);
    memset(p, 0, 16);
    /* Overflowing sizes fail cleanly. */
    assert_null(st_arena_alloc(&a, SIZE_MAX));
    assert_null(st_arena_alloc_aligned(&a, SIZE_MAX - 8));
    st_arena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_random_allocations),
        cmocka_unit_test(test_large_in_own_block),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
