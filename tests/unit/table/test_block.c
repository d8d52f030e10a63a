/* test_block.c — block builder and block iterator: round trips against a sorted reference
 * (forward, backward, seek to every key and between keys) for many restart intervals and key
 * shapes, both key orders; validation of hostile contents (every length checked, clean
 * CORRUPTION, no over-read under ASan); allocation failure for long keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "strata.h"
#include "table/block.h"
#include "table/block_builder.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/compiler.h"
#include "util/ikey.h"
#include "util/random.h"
#include "util/status.h"

typedef struct kv {
    char *k, *v;
    size_t klen, vlen;
} kv;

static int cmp_bytewise(const void *a, const void *b)
{
    const kv *x = a, *y = b;
    return st_slice_cmp(st_slice_make(x->k, x->klen), st_slice_make(y->k, y->klen));
}

static const st_comparator *g_ucmp;

static int cmp_ikey(const void *a, const void *b)
{
    const kv *x = a, *y = b;
    return st_ikey_cmp(g_ucmp, st_slice_make(x->k, x->klen), st_slice_make(y->k, y->klen));
}

/* n distinct sorted entries; keys share prefixes (so prefix compression matters), some are
 * longer than the iterator's inline key buffer.  ikeys: append an 8-byte trailer. */
static kv *make_entries(st_random *r, size_t n, int ikeys)
{
    kv *e = calloc(n, sizeof(*e));
    for (size_t i = 0; i < n; i++) {
        char tmp[400];
        size_t len = (size_t)snprintf(tmp, sizeof(tmp), "key/%04u/%llu", (unsigned)(i % 97),
                                      (unsigned long long)st_random_uniform(r, 1000000));
        if (st_random_one_in(r, 10)) {
            size_t extra = st_random_uniform(r, 200);
            memset(tmp + len, 'x', extra);
            len += extra;
        }
        /* unique suffix keeps keys distinct */
        len += (size_t)snprintf(tmp + len, sizeof(tmp) - len, "#%zu", i);
        e[i].klen = len + (ikeys ? 8 : 0);
        e[i].k = malloc(e[i].klen);
        memcpy(e[i].k, tmp, len);
        if (ikeys) {
            st_encode_fixed64(e[i].k + len, st_pack_trailer(st_random_uniform(r, 1000), 1));
        }
        e[i].vlen = st_random_uniform(r, 40);
        e[i].v = malloc(e[i].vlen + 1);
        st_random_bytes(r, e[i].v, e[i].vlen);
    }
    g_ucmp = st_comparator_bytewise();
    qsort(e, n, sizeof(*e), ikeys ? cmp_ikey : cmp_bytewise);
    return e;
}

static void free_entries(kv *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].k);
        free(e[i].v);
    }
    free(e);
}

static char *build(const kv *e, size_t n, int interval, size_t *len)
{
    st_block_builder bb;
    st_block_builder_init(&bb, interval);
    for (size_t i = 0; i < n; i++) {
        tu_assert_ok(st_block_builder_add(&bb, st_slice_make(e[i].k, e[i].klen),
                                          st_slice_make(e[i].v, e[i].vlen)));
    }
    size_t est = st_block_builder_estimate(&bb);
    st_slice c;
    tu_assert_ok(st_block_builder_finish(&bb, &c));
    assert_int_equal(c.size, est);
    char *out = malloc(c.size);
    memcpy(out, c.data, c.size);
    *len = c.size;
    st_block_builder_free(&bb);
    return out;
}

static void check_at(const st_block_iter *it, const kv *e)
{
    assert_true(st_block_iter_valid(it));
    tu_assert_bytes_equal(it->key.data, it->key.size, e->k, e->klen);
    tu_assert_bytes_equal(it->value.data, it->value.size, e->v, e->vlen);
}

/* A key strictly between e[i-1] and e[i] for bytewise keys: e[i]'s key minus its last byte
 * decremented is not always between, so use e[i-1] ‖ "\0" which is > e[i-1] and <= e[i]. */
static void check_block(const kv *e, size_t n, int interval, int ikeys)
{
    size_t len;
    char *data = build(e, n, interval, &len);
    st_block b;
    tu_assert_ok(st_block_init(&b, st_slice_make(data, len), NULL, "b.sst", 0));
    st_block_iter it;
    const st_comparator *ucmp = ikeys ? st_comparator_bytewise() : NULL;
    st_block_iter_init(&it, &b, ucmp);
    size_t i = 0;
    for (st_block_iter_seek_to_first(&it); st_block_iter_valid(&it); st_block_iter_next(&it)) {
        check_at(&it, &e[i++]);
    }
    assert_int_equal(i, n);
    for (st_block_iter_seek_to_last(&it); st_block_iter_valid(&it); st_block_iter_prev(&it)) {
        check_at(&it, &e[--i]);
    }
    assert_int_equal(i, 0);
    for (i = 0; i < n; i++) {
        st_block_iter_seek(&it, st_slice_make(e[i].k, e[i].klen));
        check_at(&it, &e[i]);
        if (!ikeys) {
            char tmp[512];
            memcpy(tmp, e[i].k, e[i].klen);
            tmp[e[i].klen] = 0;
            st_block_iter_seek(&it, st_slice_make(tmp, e[i].klen + 1));
            if (i + 1 < n) {
                check_at(&it, &e[i + 1]);
                st_block_iter_prev(&it);
                check_at(&it, &e[i]);
            } else {
                assert_false(st_block_iter_valid(&it));
            }
        }
    }
    /* A random walk of next/prev (direction changes inside and across restart intervals, where
     * prev reuses the entries it remembered) checked against the index. */
    st_random walk;
    st_random_seed(&walk, n * 31 + (size_t)interval);
    for (int start = 0; n > 0 && start < 8; start++) {
        size_t at = st_random_uniform(&walk, n);
        st_block_iter_seek(&it, st_slice_make(e[at].k, e[at].klen));
        for (int step = 0; step < 300; step++) {
            check_at(&it, &e[at]);
            int back = st_random_uniform(&walk, 3) != 0; /* mostly backwards */
            if (back && at == 0) {
                st_block_iter_prev(&it);
                assert_false(st_block_iter_valid(&it));
                break;
            }
            if (!back && at + 1 == n) {
                st_block_iter_next(&it);
                assert_false(st_block_iter_valid(&it));
                break;
            }
            if (back) {
                st_block_iter_prev(&it);
                at--;
            } else {
                st_block_iter_next(&it);
                at++;
            }
        }
    }
    if (!ikeys) {
        st_block_iter_seek(&it, st_slice_cstr(""));
        if (n) {
            check_at(&it, &e[0]);
        }
        st_block_iter_seek(&it, st_slice_cstr("\xff\xff"));
        assert_false(st_block_iter_valid(&it));
    }
    assert_int_equal(it.status, 0);
    st_block_iter_release(&it);
    st_block_free(&b);
    free(data);
}

static void test_roundtrip(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(11));
    static const int intervals[] = {1, 2, 3, 16, 100000};
    static const size_t counts[] = {0, 1, 2, 17, 500};
    for (int ikeys = 0; ikeys <= 1; ikeys++) {
        for (size_t c = 0; c < ST_ARRAY_LEN(counts); c++) {
            kv *e = make_entries(&r, counts[c], ikeys);
            for (size_t k = 0; k < ST_ARRAY_LEN(intervals); k++) {
                check_block(e, counts[c], intervals[k], ikeys);
            }
            free_entries(e, counts[c]);
        }
    }
}

/* Reverse steps over a bytewise block whose keys are all empty (the fuzzer found that prev's
 * remembered-entries cache then never allocates its key buffer). */
static void test_prev_over_empty_keys(void **state)
{
    (void)state;
    kv e[5];
    for (int i = 0; i < 5; i++) {
        e[i] = (kv){(char *)"", (char *)"v", 0, 1};
    }
    size_t len;
    char *data = build(e, 5, 16, &len);
    st_block b;
    tu_assert_ok(st_block_init(&b, st_slice_make(data, len), NULL, "b.sst", 0));
    st_block_iter it;
    st_block_iter_init(&it, &b, NULL);
    int n = 0;
    for (st_block_iter_seek_to_last(&it); st_block_iter_valid(&it); st_block_iter_prev(&it)) {
        check_at(&it, &e[0]);
        n++;
    }
    assert_int_equal(n, 5);
    assert_int_equal(it.status, 0);
    st_block_iter_release(&it);
    st_block_free(&b);
    free(data);
}

static void test_heap_iter_and_reset(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(12));
    kv *e = make_entries(&r, 50, 0);
    size_t len;
    char *data = build(e, 50, 4, &len);
    char *heap = st_memdup(data, len);
    st_block b;
    tu_assert_ok(st_block_init(&b, st_slice_make(heap, len), heap, "h", 0)); /* b owns heap */
    st_iter *it = st_block_iter_new(&b, NULL);
    assert_non_null(it);
    size_t i = 0;
    for (st_iter_seek_to_first(it); st_iter_valid(it); st_iter_next(it)) {
        st_slice k = st_iter_key(it), v = st_iter_value(it);
        tu_assert_bytes_equal(k.data, k.size, e[i].k, e[i].klen);
        tu_assert_bytes_equal(v.data, v.size, e[i].v, e[i].vlen);
        i++;
    }
    assert_int_equal(i, 50);
    assert_int_equal(st_iter_status(it), 0);
    st_iter_destroy(it);
    st_block_free(&b);
    free(data);
    free_entries(e, 50);
}

static int expect_corrupt_init(const char *data, size_t len)
{
    st_block b;
    int rc = st_block_init(&b, st_slice_make(data, len), NULL, "c.sst", 77);
    if (rc == 0) {
        st_block_free(&b);
    } else {
        assert_int_equal(rc, STRATA_E_CORRUPTION);
        assert_non_null(strstr(st_errmsg(), "c.sst"));
        assert_non_null(strstr(st_errmsg(), "77"));
    }
    return rc;
}

static void test_bad_restart_arrays(void **state)
{
    (void)state;
    char buf[64] = {0};
    assert_int_equal(expect_corrupt_init(buf, 0), STRATA_E_CORRUPTION);
    assert_int_equal(expect_corrupt_init(buf, 7), STRATA_E_CORRUPTION);
    /* zero restarts */
    assert_int_equal(expect_corrupt_init(buf, 8), STRATA_E_CORRUPTION);
    /* too many restarts */
    st_encode_fixed32(buf + 12, 5);
    assert_int_equal(expect_corrupt_init(buf, 16), STRATA_E_CORRUPTION);
    st_encode_fixed32(buf + 12, UINT32_MAX);
    assert_int_equal(expect_corrupt_init(buf, 16), STRATA_E_CORRUPTION);
    /* first restart not 0 */
    st_encode_fixed32(buf + 8, 3);
    st_encode_fixed32(buf + 12, 1);
    assert_int_equal(expect_corrupt_init(buf, 16), STRATA_E_CORRUPTION);
    /* restart beyond the entries: 8 entry bytes, restarts {0, 9} */
    st_encode_fixed32(buf + 8, 0);
    st_encode_fixed32(buf + 12, 9);
    st_encode_fixed32(buf + 16, 2);
    assert_int_equal(expect_corrupt_init(buf, 20), STRATA_E_CORRUPTION);
    /* empty block is fine */
    memset(buf, 0, sizeof(buf));
    st_encode_fixed32(buf + 4, 1);
    assert_int_equal(expect_corrupt_init(buf, 8), 0);
}

/* Hand-made entries with bad lengths: each must give CORRUPTION on iteration and on seek. */
static void check_bad_entry(const char *entries, size_t elen, const st_comparator *ucmp)
{
    char buf[128];
    memcpy(buf, entries, elen);
    st_encode_fixed32(buf + elen, 0);
    st_encode_fixed32(buf + elen + 4, 1);
    st_block b;
    tu_assert_ok(st_block_init(&b, st_slice_make(buf, elen + 8), NULL, "e.sst", 5));
    st_block_iter it;
    st_block_iter_init(&it, &b, ucmp);
    st_block_iter_seek_to_first(&it);
    while (st_block_iter_valid(&it)) {
        st_block_iter_next(&it);
    }
    assert_int_equal(it.status, STRATA_E_CORRUPTION);
    assert_non_null(strstr(st_errmsg(), "e.sst: corrupted block at offset 5"));
    st_block_iter_reset(&it, &b);
    st_block_iter_seek_to_last(&it);
    assert_false(st_block_iter_valid(&it));
    assert_int_equal(it.status, STRATA_E_CORRUPTION);
    st_block_iter_release(&it);
}

static void test_bad_entries(void **state)
{
    (void)state;
    /* shared > 0 in the first entry */
    check_bad_entry("\x01\x02\x01" "ab" "v", 6, NULL);
    /* key runs past the entries */
    check_bad_entry("\x00\x09\x01" "ab" "v", 6, NULL);
    /* value runs past the entries */
    check_bad_entry("\x00\x02\x05" "ab" "v", 6, NULL);
    /* truncated varint */
    check_bad_entry("\x00\x02\x01" "ab" "v" "\x80\x80", 8, NULL);
    /* varint too long for 32 bits */
    check_bad_entry("\xff\xff\xff\xff\x7f\x00\x00", 7, NULL);
    /* second entry shares more than the first key has */
    check_bad_entry("\x00\x02\x01" "ab" "v" "\x05\x01\x01" "c" "w", 11, NULL);
    /* internal keys must be at least 8 bytes */
    check_bad_entry("\x00\x02\x01" "ab" "v", 6, st_comparator_bytewise());
}

/* Random mutations of a valid block: whatever the iterator returns stays inside the block and
 * errors are CORRUPTION (ASan catches any over-read). */
static void test_mutations(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(13));
    kv *e = make_entries(&r, 60, 1);
    size_t len;
    char *good = build(e, 60, 4, &len);
    for (int iter = 0; iter < 4000; iter++) {
        char *d = malloc(len);
        memcpy(d, good, len);
        size_t n = len;
        if (iter % 5 == 0) {
            n = st_random_uniform(&r, len + 1);
        } else {
            for (int k = 0; k < 1 + iter % 3; k++) {
                d[st_random_uniform(&r, len)] = (char)st_random_next(&r);
            }
        }
        st_block b;
        int rc = st_block_init(&b, st_slice_make(d, n), NULL, "m", 0);
        if (rc == 0) {
            st_block_iter it;
            st_block_iter_init(&it, &b, st_comparator_bytewise());
            int steps = 0;
            for (st_block_iter_seek_to_first(&it); st_block_iter_valid(&it) && steps < 1000;
                 st_block_iter_next(&it), steps++) {
                assert_true(it.value.data >= d && it.value.data + it.value.size <= d + n);
            }
            st_block_iter_reset(&it, &b);
            for (st_block_iter_seek_to_last(&it); st_block_iter_valid(&it) && steps < 2000;
                 st_block_iter_prev(&it), steps++) {
            }
            st_block_iter_reset(&it, &b);
            st_block_iter_seek(&it, st_slice_make(e[iter % 60].k, e[iter % 60].klen));
            assert_true(it.status == 0 || it.status == STRATA_E_CORRUPTION);
            st_block_iter_release(&it);
            st_block_free(&b);
        } else {
            assert_int_equal(rc, STRATA_E_CORRUPTION);
        }
        free(d);
    }
    free(good);
    free_entries(e, 60);
}

static void test_long_keys_oom(void **state)
{
    (void)state;
    char k1[300], k2[300];
    memset(k1, 'a', sizeof(k1));
    memcpy(k2, k1, sizeof(k2));
    k2[299] = 'b';
    st_block_builder bb;
    st_block_builder_init(&bb, 16);
    tu_assert_ok(st_block_builder_add(&bb, st_slice_make(k1, 300), st_slice_cstr("1")));
    tu_assert_ok(st_block_builder_add(&bb, st_slice_make(k2, 300), st_slice_cstr("2")));
    st_slice c;
    tu_assert_ok(st_block_builder_finish(&bb, &c));
    st_block b;
    tu_assert_ok(st_block_init(&b, c, NULL, "o", 0));
    st_block_iter it;
    st_block_iter_init(&it, &b, NULL);
    st_block_iter_seek_to_first(&it);
    st_alloc_fail_after(0, 0);
    st_block_iter_next(&it); /* second key needs the heap buffer */
    st_alloc_fail_after(-1, 0);
    assert_false(st_block_iter_valid(&it));
    assert_int_equal(it.status, STRATA_E_NOMEM);
    st_block_iter_reset(&it, &b);
    st_block_iter_seek(&it, st_slice_make(k2, 300));
    assert_true(st_block_iter_valid(&it));
    tu_assert_bytes_equal(it.key.data, it.key.size, k2, 300);
    st_block_iter_prev(&it);
    tu_assert_bytes_equal(it.key.data, it.key.size, k1, 300);
    st_block_iter_release(&it);
    st_block_free(&b);
    st_block_builder_free(&bb);
}

static void test_builder_oom(void **state)
{
    (void)state;
    for (long fail = 0; fail < 20; fail++) {
        st_block_builder bb;
        st_block_builder_init(&bb, 2);
        st_alloc_fail_after(fail, 0);
        int rc = 0;
        char key[8];
        for (int i = 0; i < 40 && !rc; i++) {
            snprintf(key, sizeof(key), "k%03d", i);
            rc = st_block_builder_add(&bb, st_slice_cstr(key), st_slice_cstr("value"));
        }
        st_slice c;
        if (!rc) {
            rc = st_block_builder_finish(&bb, &c);
        }
        st_alloc_fail_after(-1, 0);
        assert_true(rc == 0 || rc == STRATA_E_NOMEM);
        if (rc == STRATA_E_NOMEM) { /* builder still consistent: finish what was added */
            rc = st_block_builder_finish(&bb, &c);
            tu_assert_ok(rc);
        }
        st_block b;
        tu_assert_ok(st_block_init(&b, c, NULL, "o", 0));
        st_block_iter it;
        st_block_iter_init(&it, &b, NULL);
        uint32_t n = 0;
        for (st_block_iter_seek_to_first(&it); st_block_iter_valid(&it); st_block_iter_next(&it)) {
            n++;
        }
        assert_int_equal(n, bb.num_entries);
        assert_int_equal(it.status, 0);
        st_block_iter_release(&it);
        st_block_builder_free(&bb);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_prev_over_empty_keys),
        cmocka_unit_test(test_heap_iter_and_reset),
        cmocka_unit_test(test_bad_restart_arrays),
        cmocka_unit_test(test_bad_entries),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_long_keys_oom),
        cmocka_unit_test(test_builder_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
