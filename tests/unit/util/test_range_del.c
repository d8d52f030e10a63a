/* test_range_del.c — the range-tombstone fragmenter and fragment lists (util/range_del.h),
 * checked against a brute-force model: random overlapping tombstones over a small key space,
 * then every key and read sequence compared for the newest covering seq, the oldest covering seq
 * above a given one, and the fragment shape (sorted, disjoint, seqs newest first). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "strata.h"
#include "test_util.h"
#include "util/range_del.h"
#include "util/random.h"

#define NKEYS 60
#define MAXT 40

typedef struct tomb {
    int start, end; /* key indexes, [start, end) */
    uint64_t seq;
} tomb;

static void key_of(int i, char *buf)
{
    snprintf(buf, 8, "k%03d", i);
}

static uint64_t model_covering(const tomb *t, int n, int k, uint64_t read_seq)
{
    uint64_t best = 0;
    for (int i = 0; i < n; i++) {
        if (t[i].start <= k && k < t[i].end && t[i].seq <= read_seq && t[i].seq > best) {
            best = t[i].seq;
        }
    }
    return best;
}

static uint64_t model_above(const tomb *t, int n, int k, uint64_t seq)
{
    uint64_t best = 0;
    for (int i = 0; i < n; i++) {
        if (t[i].start <= k && k < t[i].end && t[i].seq > seq && (!best || t[i].seq < best)) {
            best = t[i].seq;
        }
    }
    return best;
}

static st_rdel_list *build(const tomb *t, int n)
{
    st_rdel_builder b;
    st_rdel_builder_init(&b);
    for (int i = 0; i < n; i++) {
        char s[8], e[8];
        key_of(t[i].start, s);
        key_of(t[i].end, e);
        assert_int_equal(st_rdel_builder_add(&b, st_slice_cstr(s), st_slice_cstr(e), t[i].seq), 0);
    }
    st_rdel_list *l = NULL;
    assert_int_equal(st_rdel_builder_finish(&b, st_comparator_bytewise(), &l), 0);
    st_rdel_builder_free(&b);
    return l;
}

static void check_shape(const st_rdel_list *l)
{
    const st_comparator *c = st_comparator_bytewise();
    for (size_t i = 0; i < st_rdel_list_count(l); i++) {
        assert_true(st_ucmp(c, st_rdel_list_start(l, i), st_rdel_list_end(l, i)) < 0);
        if (i > 0) {
            assert_true(st_ucmp(c, st_rdel_list_end(l, i - 1), st_rdel_list_start(l, i)) <= 0);
        }
        const uint64_t *s = st_rdel_list_seqs(l, i);
        assert_true(st_rdel_list_nseqs(l, i) > 0);
        for (size_t j = 1; j < st_rdel_list_nseqs(l, i); j++) {
            assert_true(s[j - 1] > s[j]);
        }
    }
}

static void check_against_model(const st_rdel_list *l, const tomb *t, int n)
{
    for (int k = 0; k <= NKEYS; k++) {
        char key[8];
        key_of(k, key);
        for (uint64_t rs = 0; rs <= MAXT + 2; rs++) {
            long frag = -1;
            uint64_t got = st_rdel_list_covering(l, st_slice_cstr(key), rs, &frag);
            assert_int_equal(got, model_covering(t, n, k, rs));
            if (got) {
                const st_comparator *c = st_comparator_bytewise();
                assert_true(st_ucmp(c, st_rdel_list_start(l, (size_t)frag), st_slice_cstr(key)) <= 0);
                assert_true(st_ucmp(c, st_slice_cstr(key), st_rdel_list_end(l, (size_t)frag)) < 0);
            }
            assert_int_equal(st_rdel_list_covering_above(l, st_slice_cstr(key), rs),
                             model_above(t, n, k, rs));
        }
    }
}

static void test_random_against_model(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(0x7a11));
    for (int round = 0; round < 300; round++) {
        tomb t[MAXT];
        int n = (int)st_random_uniform(&r, MAXT) + 1;
        for (int i = 0; i < n; i++) {
            int a = (int)st_random_uniform(&r, NKEYS), len = (int)st_random_uniform(&r, 20);
            t[i].start = a;
            t[i].end = a + len > NKEYS ? NKEYS : a + len; /* len 0: an empty range */
            t[i].seq = (uint64_t)st_random_uniform(&r, MAXT) + 1; /* repeats allowed */
        }
        st_rdel_list *l = build(t, n);
        check_shape(l);
        check_against_model(l, t, n);
        /* Re-adding a built list gives the same answers (how tables and compactions combine). */
        st_rdel_builder b;
        st_rdel_builder_init(&b);
        assert_int_equal(st_rdel_builder_add_list(&b, l), 0);
        st_rdel_list *again = NULL;
        assert_int_equal(st_rdel_builder_finish(&b, st_comparator_bytewise(), &again), 0);
        st_rdel_builder_free(&b);
        check_against_model(again, t, n);
        assert_int_equal(st_rdel_list_entries(again), st_rdel_list_entries(l));
        st_rdel_list_unref(again);
        st_rdel_list_unref(l);
    }
}

static void test_empty_and_lower_bound(void **state)
{
    (void)state;
    tomb none[1] = {{5, 5, 3}};
    assert_null(build(none, 1)); /* only an empty range: no list */
    assert_int_equal(st_rdel_list_count(NULL), 0);
    assert_int_equal(st_rdel_list_covering(NULL, st_slice_cstr("k"), 9, NULL), 0);
    tomb t[2] = {{10, 20, 4}, {30, 40, 7}};
    st_rdel_list *l = build(t, 2);
    assert_int_equal(st_rdel_list_count(l), 2);
    char k[8];
    key_of(5, k);
    assert_int_equal(st_rdel_list_lower_bound(l, st_slice_cstr(k)), 0);
    key_of(20, k); /* ends are exclusive */
    assert_int_equal(st_rdel_list_lower_bound(l, st_slice_cstr(k)), 1);
    assert_int_equal(st_rdel_list_find(l, st_slice_cstr(k)), -1);
    key_of(45, k);
    assert_int_equal(st_rdel_list_lower_bound(l, st_slice_cstr(k)), 2);
    st_rdel_list_unref(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_empty_and_lower_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
