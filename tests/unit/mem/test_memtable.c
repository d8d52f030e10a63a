/* test_memtable.c — the memtable (mem/memtable.h): get semantics across versions and deletions,
 * iterator order and seeks against a sorted reference, user comparators, reference counting,
 * statistics, memory accounting and allocation failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem/memtable.h"
#include "strata.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/random.h"

static st_slice S(const char *s)
{
    return st_slice_cstr(s);
}

/* Expects get(key, seq) to find an entry of the given type and (for values) value. */
static void expect_get(st_memtable *m, const char *key, uint64_t seq, int type, const char *value)
{
    int t = -1;
    st_slice v = {NULL, 0};
    assert_int_equal(st_memtable_get(m, S(key), seq, &t, &v), 1);
    assert_int_equal(t, type);
    if (value) {
        tu_assert_bytes_equal(v.data, v.size, value, strlen(value));
    }
}

static void expect_absent(st_memtable *m, const char *key, uint64_t seq)
{
    int t = -1;
    st_slice v = {NULL, 0};
    assert_int_equal(st_memtable_get(m, S(key), seq, &t, &v), 0);
}

static void test_get_versions(void **state)
{
    (void)state;
    st_memtable *m;
    tu_assert_ok(st_memtable_create(st_comparator_bytewise(), &m));
    tu_assert_ok(st_memtable_add(m, 10, ST_TYPE_VALUE, S("k"), S("v10")));
    tu_assert_ok(st_memtable_add(m, 5, ST_TYPE_VALUE, S("k"), S("v5")));
    tu_assert_ok(st_memtable_add(m, 20, ST_TYPE_DELETION, S("k"), S("")));
    tu_assert_ok(st_memtable_add(m, 30, ST_TYPE_VALUE, S("k"), S("v30")));
    /* Neighbours that share a prefix or sort right next to "k". */
    tu_assert_ok(st_memtable_add(m, 7, ST_TYPE_VALUE, S("ka"), S("ka7")));
    tu_assert_ok(st_memtable_add(m, 8, ST_TYPE_VALUE, S("j\xff"), S("j8")));
    tu_assert_ok(st_memtable_add(m, 9, ST_TYPE_VALUE, S(""), S("empty-key")));

    expect_absent(m, "k", 4);
    for (uint64_t s = 5; s < 10; s++) {
        expect_get(m, "k", s, ST_TYPE_VALUE, "v5");
    }
    for (uint64_t s = 10; s < 20; s++) {
        expect_get(m, "k", s, ST_TYPE_VALUE, "v10");
    }
    for (uint64_t s = 20; s < 30; s++) {
        expect_get(m, "k", s, ST_TYPE_DELETION, "");
    }
    expect_get(m, "k", 30, ST_TYPE_VALUE, "v30");
    expect_get(m, "k", ST_MAX_SEQ, ST_TYPE_VALUE, "v30");
    expect_absent(m, "ka", 6);
    expect_get(m, "ka", 7, ST_TYPE_VALUE, "ka7");
    expect_get(m, "j\xff", 100, ST_TYPE_VALUE, "j8");
    expect_get(m, "", 9, ST_TYPE_VALUE, "empty-key");
    expect_absent(m, "", 8);
    expect_absent(m, "j", 100);   /* a prefix of a present key */
    expect_absent(m, "kb", 100);  /* between keys */
    expect_absent(m, "zzz", 100); /* past the end */

    assert_int_equal(st_memtable_num_entries(m), 7);
    assert_int_equal(st_memtable_num_deletes(m), 1);
    assert_int_equal(st_memtable_first_seq(m), 5);
    st_memtable_unref(m);
}

static void test_empty(void **state)
{
    (void)state;
    st_memtable *m;
    tu_assert_ok(st_memtable_create(st_comparator_bytewise(), &m));
    expect_absent(m, "a", ST_MAX_SEQ);
    assert_int_equal(st_memtable_num_entries(m), 0);
    assert_int_equal(st_memtable_num_deletes(m), 0);
    assert_int_equal(st_memtable_first_seq(m), UINT64_MAX);
    st_iter *it = st_memtable_iter(m);
    assert_non_null(it);
    st_iter_seek_to_first(it);
    assert_false(st_iter_valid(it));
    st_iter_seek_to_last(it);
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);
    st_iter_destroy(it);
    st_memtable_unref(m);
}

/* ---- randomized order check against a sorted reference ---- */

typedef struct ref_entry {
    char key[12];
    size_t klen;
    uint64_t seq;
    int type;
    char value[24];
    size_t vlen;
} ref_entry;

static const st_comparator *g_ucmp;

static int ref_order(const void *pa, const void *pb)
{
    const ref_entry *a = pa, *b = pb;
    int r = st_ucmp(g_ucmp, st_slice_make(a->key, a->klen), st_slice_make(b->key, b->klen));
    if (r == 0) {
        r = a->seq > b->seq ? -1 : a->seq < b->seq;
    }
    return r;
}

static void ref_ikey(const ref_entry *e, st_buf *b)
{
    st_buf_clear(b);
    tu_assert_ok(st_ikey_append(b, st_slice_make(e->key, e->klen), e->seq, e->type));
}

static void check_entry(st_iter *it, const ref_entry *e, st_buf *tmp)
{
    assert_true(st_iter_valid(it));
    ref_ikey(e, tmp);
    st_slice k = st_iter_key(it), v = st_iter_value(it);
    tu_assert_bytes_equal(k.data, k.size, tmp->data, tmp->len);
    tu_assert_bytes_equal(v.data, v.size, e->value, e->vlen);
}

static void check_iteration(st_memtable *m, const ref_entry *ref, size_t n, st_random *rnd)
{
    st_buf tmp = ST_BUF_INIT;
    st_iter *it = st_memtable_iter(m);
    assert_non_null(it);
    st_iter_seek_to_first(it);
    for (size_t i = 0; i < n; i++, st_iter_next(it)) {
        check_entry(it, &ref[i], &tmp);
    }
    assert_false(st_iter_valid(it));
    st_iter_seek_to_last(it);
    for (size_t i = n; i-- > 0; st_iter_prev(it)) {
        check_entry(it, &ref[i], &tmp);
    }
    assert_false(st_iter_valid(it));
    /* Seek to each entry's own internal key, and to its user key at the newest sequence. */
    for (int i = 0; i < 500; i++) {
        size_t j = st_random_uniform(rnd, n);
        ref_ikey(&ref[j], &tmp);
        st_iter_seek(it, st_buf_slice(&tmp));
        check_entry(it, &ref[j], &tmp);
        size_t first = j;
        while (first > 0 && ref[first - 1].klen == ref[j].klen &&
               memcmp(ref[first - 1].key, ref[j].key, ref[j].klen) == 0) {
            first--;
        }
        st_buf_clear(&tmp);
        tu_assert_ok(st_ikey_append(&tmp, st_slice_make(ref[j].key, ref[j].klen), ST_MAX_SEQ,
                                    ST_TYPE_FOR_SEEK));
        st_iter_seek(it, st_buf_slice(&tmp));
        check_entry(it, &ref[first], &tmp);
    }
    st_iter_destroy(it);
    st_buf_free(&tmp);
}

/* get(key, seq) must return the newest reference version <= seq. */
static void check_gets(st_memtable *m, const ref_entry *ref, size_t n, st_random *rnd)
{
    for (int i = 0; i < 1000; i++) {
        const ref_entry *probe = &ref[st_random_uniform(rnd, n)];
        uint64_t seq = st_random_uniform(rnd, 2 * n + 2);
        const ref_entry *want = NULL;
        for (size_t j = 0; j < n; j++) {
            if (ref[j].klen == probe->klen && memcmp(ref[j].key, probe->key, probe->klen) == 0 &&
                ref[j].seq <= seq) {
                want = &ref[j];
                break; /* sorted newest first within a key */
            }
        }
        int type;
        st_slice v;
        int found = st_memtable_get(m, st_slice_make(probe->key, probe->klen), seq, &type, &v);
        assert_int_equal(found, want != NULL);
        if (want) {
            assert_int_equal(type, want->type);
            tu_assert_bytes_equal(v.data, v.size, want->value, want->vlen);
        }
    }
}

static void run_random(const st_comparator *ucmp, uint64_t seed)
{
    st_random rnd;
    st_random_seed(&rnd, tu_seed(seed));
    const size_t n = 3000;
    ref_entry *ref = calloc(n, sizeof(*ref));
    assert_non_null(ref);
    st_memtable *m;
    tu_assert_ok(st_memtable_create(ucmp, &m));
    size_t prev_usage = st_memtable_memory_usage(m);
    for (size_t i = 0; i < n; i++) {
        ref_entry *e = &ref[i];
        /* Few distinct keys, so most have several versions; sequence numbers are unique. */
        e->klen = (size_t)snprintf(e->key, sizeof(e->key), "k%03u",
                                   (unsigned)st_random_uniform(&rnd, 300));
        e->klen -= st_random_one_in(&rnd, 10); /* some keys are prefixes of others */
        e->seq = 2 * i + 1;
        e->type = st_random_one_in(&rnd, 5) ? ST_TYPE_DELETION : ST_TYPE_VALUE;
        e->vlen = e->type == ST_TYPE_DELETION ? 0 : st_random_uniform(&rnd, sizeof(e->value));
        st_random_bytes(&rnd, e->value, e->vlen);
        tu_assert_ok(st_memtable_add(m, e->seq, e->type, st_slice_make(e->key, e->klen),
                                     st_slice_make(e->value, e->vlen)));
        size_t usage = st_memtable_memory_usage(m);
        assert_true(usage >= prev_usage);
        prev_usage = usage;
    }
    assert_true(prev_usage > n * 20); /* every entry is accounted for */
    g_ucmp = ucmp;
    qsort(ref, n, sizeof(*ref), ref_order);
    check_iteration(m, ref, n, &rnd);
    check_gets(m, ref, n, &rnd);
    st_memtable_unref(m);
    free(ref);
}

static void test_random_bytewise(void **state)
{
    (void)state;
    run_random(st_comparator_bytewise(), 401);
}

/* Reverse bytewise order: exercises the user-comparator path. */
static int reverse_cmp(void *st, const char *a, size_t alen, const char *b, size_t blen)
{
    (void)st;
    return -st_slice_cmp(st_slice_make(a, alen), st_slice_make(b, blen));
}

static const char *reverse_name(void *st)
{
    (void)st;
    return "test.reverse";
}

static void test_random_user_comparator(void **state)
{
    (void)state;
    strata_comparator *c = strata_comparator_create(NULL, NULL, reverse_cmp, reverse_name);
    assert_non_null(c);
    run_random(c, 402);
    strata_comparator_destroy(c);
}

static void test_iterator_holds_reference(void **state)
{
    (void)state;
    st_memtable *m;
    tu_assert_ok(st_memtable_create(st_comparator_bytewise(), &m));
    tu_assert_ok(st_memtable_add(m, 1, ST_TYPE_VALUE, S("a"), S("1")));
    tu_assert_ok(st_memtable_add(m, 2, ST_TYPE_VALUE, S("b"), S("2")));
    st_memtable_ref(m);
    st_memtable_unref(m); /* back to the creator's reference */
    st_iter *it = st_memtable_iter(m);
    assert_non_null(it);
    st_memtable_unref(m); /* only the iterator keeps it alive now (ASan would catch a free) */
    st_iter_seek(it, S("b"));
    assert_true(st_iter_valid(it));
    st_slice v = st_iter_value(it);
    tu_assert_bytes_equal(v.data, v.size, "2", 1);
    st_iter_prev(it);
    assert_true(st_iter_valid(it));
    st_iter_destroy(it); /* frees the memtable */
}

static void test_large_entries(void **state)
{
    (void)state;
    st_memtable *m;
    tu_assert_ok(st_memtable_create(st_comparator_bytewise(), &m));
    size_t big = 300 * 1024; /* larger than an arena block */
    char *value = malloc(big);
    char *key = malloc(1000);
    assert_non_null(value);
    assert_non_null(key);
    memset(value, 'v', big);
    memset(key, 'k', 1000);
    size_t before = st_memtable_memory_usage(m);
    tu_assert_ok(
        st_memtable_add(m, 1, ST_TYPE_VALUE, st_slice_make(key, 1000), st_slice_make(value, big)));
    assert_true(st_memtable_memory_usage(m) >= before + big);
    int type;
    st_slice v;
    assert_int_equal(st_memtable_get(m, st_slice_make(key, 1000), 1, &type, &v), 1);
    tu_assert_bytes_equal(v.data, v.size, value, big);
    /* Lengths that do not fit the entry encoding are rejected before any byte is read. */
    assert_int_equal(
        st_memtable_add(m, 2, ST_TYPE_VALUE, st_slice_make(key, (size_t)1 << 32), S("")),
        STRATA_E_INVALID);
    assert_int_equal(
        st_memtable_add(m, 2, ST_TYPE_VALUE, S("x"), st_slice_make(value, (size_t)UINT32_MAX + 1)),
        STRATA_E_INVALID);
    assert_int_equal(st_memtable_num_entries(m), 1);
    st_memtable_unref(m);
    st_memtable_unref(NULL);
    free(value);
    free(key);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    st_memtable *m = NULL;
    for (long n = 0; n < 3; n++) { /* struct, arena block for the head, ... */
        st_alloc_fail_after(n, 1);
        int rc = st_memtable_create(st_comparator_bytewise(), &m);
        st_alloc_fail_after(-1, 0);
        if (rc == 0) {
            st_memtable_unref(m);
            break;
        }
        assert_int_equal(rc, STRATA_E_NOMEM);
        assert_null(m);
    }
    tu_assert_ok(st_memtable_create(st_comparator_bytewise(), &m));
    tu_assert_ok(st_memtable_add(m, 1, ST_TYPE_VALUE, S("a"), S("1")));
    static char big[100000];
    st_alloc_fail_after(0, 1);
    assert_int_equal(st_memtable_add(m, 2, ST_TYPE_VALUE, S("b"), st_slice_make(big, sizeof(big))),
                     STRATA_E_NOMEM);
    assert_null(st_memtable_iter(m));
    st_alloc_fail_after(-1, 0);
    assert_int_equal(st_memtable_num_entries(m), 1); /* unchanged */
    expect_absent(m, "b", 10);
    expect_get(m, "a", 10, ST_TYPE_VALUE, "1");
    st_iter *it = st_memtable_iter(m);
    assert_non_null(it);
    st_iter_seek_to_first(it);
    assert_true(st_iter_valid(it));
    st_iter_next(it);
    assert_false(st_iter_valid(it));
    st_iter_destroy(it);
    st_memtable_unref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_versions),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_random_bytewise),
        cmocka_unit_test(test_random_user_comparator),
        cmocka_unit_test(test_iterator_holds_reference),
        cmocka_unit_test(test_large_entries),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
