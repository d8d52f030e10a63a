/* test_write_batch_prot.c — per-key protection of write batches (write_batch.h): checksums taken
 * as operations are added equal those computed from the bytes; protection survives clear and
 * follows appends in every combination; verification catches a flipped value, key, type or count;
 * protected memtable inserts check the arena copy against them (and the sequence number). */
#include <stdio.h>
#include <string.h>

#include "db/write_batch.h"
#include "mem/memtable.h"
#include "test_util.h"
#include "util/buf.h"
#include "util/ikey.h"
#include "util/prot.h"
#include "util/status.h"

static void fill(strata_batch *b, const char *tag)
{
    char k[16], v[32];
    for (int i = 0; i < 10; i++) {
        int kl = snprintf(k, sizeof(k), "%s%d", tag, i);
        int vl = snprintf(v, sizeof(v), "value-%s-%d", tag, i * i);
        if (i % 4 == 3) {
            tu_assert_ok(strata_batch_delete(b, k, (size_t)kl));
        } else {
            tu_assert_ok(strata_batch_put(b, k, (size_t)kl, v, (size_t)vl));
        }
    }
}

/* b's own checksums must be exactly what its bytes give. */
static void assert_consistent(const strata_batch *b)
{
    assert_non_null(st_batch_prot(b));
    st_buf want = ST_BUF_INIT;
    tu_assert_ok(st_batch_compute_prot(b, &want));
    assert_int_equal(b->prot.len, want.len);
    assert_memory_equal(b->prot.data, want.data, want.len);
    tu_assert_ok(st_batch_verify(b, st_batch_prot(b), b->prot.len / 8, "write batch"));
    st_buf_free(&want);
}

static void test_protect_before_and_after_adding(void **state)
{
    (void)state;
    strata_batch *early = strata_batch_create(), *late = strata_batch_create();
    tu_assert_ok(strata_batch_protect(early));
    fill(early, "k");
    fill(late, "k");
    assert_null(st_batch_prot(late));
    tu_assert_ok(strata_batch_protect(late));
    assert_consistent(early);
    assert_consistent(late);
    assert_memory_equal(early->prot.data, late->prot.data, late->prot.len);

    strata_batch_clear(early); /* stays protected, holds no checksums */
    assert_int_equal(early->prot.len, 0);
    fill(early, "x");
    assert_consistent(early);
    strata_batch_destroy(early);
    strata_batch_destroy(late);
}

static void test_append_combinations(void **state)
{
    (void)state;
    for (int dp = 0; dp < 2; dp++) {
        for (int sp = 0; sp < 2; sp++) {
            strata_batch *dst = strata_batch_create(), *src = strata_batch_create();
            if (dp) {
                tu_assert_ok(strata_batch_protect(dst));
            }
            if (sp) {
                tu_assert_ok(strata_batch_protect(src));
            }
            fill(dst, "d");
            fill(src, "s");
            tu_assert_ok(strata_batch_append(dst, src));
            assert_int_equal(strata_batch_count(dst), 20);
            if (dp) {
                assert_consistent(dst);
            } else {
                assert_null(st_batch_prot(dst));
            }
            strata_batch_destroy(dst);
            strata_batch_destroy(src);
        }
    }
}

static void test_verify_catches_flips(void **state)
{
    (void)state;
    strata_batch *b = strata_batch_create();
    tu_assert_ok(strata_batch_protect(b));
    fill(b, "k");
    const uint64_t *prot = st_batch_prot(b);
    size_t n = b->prot.len / 8;
    /* every byte after the header: a flip anywhere is caught (or makes the encoding malformed) */
    for (size_t at = ST_BATCH_HEADER; at < b->rep.len; at++) {
        for (int bit = 0; bit < 8; bit += 3) {
            b->rep.data[at] ^= (char)(1 << bit);
            int rc = st_batch_verify(b, prot, n, "write batch");
            assert_int_equal(rc, STRATA_E_CORRUPTION);
            assert_non_null(strstr(st_errmsg(), "write batch"));
            b->rep.data[at] ^= (char)(1 << bit);
        }
    }
    b->rep.data[8] ^= 1; /* the count */
    assert_int_equal(st_batch_verify(b, prot, n, "write batch"), STRATA_E_CORRUPTION);
    b->rep.data[8] ^= 1;
    tu_assert_ok(st_batch_verify(b, prot, n, "write batch"));
    strata_batch_destroy(b);
}

static void test_protected_memtable_insert(void **state)
{
    (void)state;
    st_memtable *m = NULL;
    tu_assert_ok(st_memtable_create(st_comparator_bytewise(), &m));
    st_memtable_set_protection(m, 4);
    strata_batch *b = strata_batch_create();
    tu_assert_ok(strata_batch_protect(b));
    fill(b, "k");
    st_batch_set_seq(b, 100);
    tu_assert_ok(st_batch_insert_protected(b, st_batch_prot(b), b->prot.len / 8, m));
    assert_int_equal(st_memtable_num_entries(m), 10);
    int type;
    st_slice v;
    assert_int_equal(st_memtable_get(m, st_slice_make("k1", 2), 200, &type, &v), 1);
    assert_true(v.size == 9 && memcmp(v.data, "value-k-1", 9) == 0);

    /* a checksum that does not belong to the entry: nothing is added */
    uint64_t pi = st_prot_kv(ST_TYPE_VALUE, st_slice_make("z", 1), st_slice_make("zz", 2));
    assert_int_equal(st_memtable_add_protected(m, 300, ST_TYPE_VALUE, st_slice_make("z", 1),
                                               st_slice_make("zY", 2), pi),
                     STRATA_E_CORRUPTION);
    assert_non_null(strstr(st_errmsg(), "memtable insert"));
    assert_int_equal(st_memtable_num_entries(m), 10);
    tu_assert_ok(st_memtable_add_protected(m, 300, ST_TYPE_VALUE, st_slice_make("z", 1),
                                           st_slice_make("zz", 2), pi));
    /* an unprotected memtable ignores the checksum */
    st_memtable *plain = NULL;
    tu_assert_ok(st_memtable_create(st_comparator_bytewise(), &plain));
    tu_assert_ok(st_memtable_add_protected(plain, 1, ST_TYPE_VALUE, st_slice_make("z", 1),
                                           st_slice_make("zY", 2), pi));
    st_memtable_unref(plain);

    /* a flipped stored value is caught by lookups and iterators */
    char *p;
    size_t n;
    assert_int_equal(st_memtable_test_find_value(m, st_slice_make("k2", 2), &p, &n), 1);
    p[0] ^= 1;
    assert_int_equal(st_memtable_get(m, st_slice_make("k2", 2), 200, &type, &v),
                     STRATA_E_CORRUPTION);
    st_iter *it = st_memtable_iter(m);
    int seen = 0;
    for (st_iter_seek_to_first(it); st_iter_valid(it); st_iter_next(it)) {
        seen++;
    }
    assert_int_equal(seen, 2); /* k0, k1 */
    assert_int_equal(st_iter_status(it), STRATA_E_CORRUPTION);
    st_iter_destroy(it);
    strata_batch_destroy(b);
    st_memtable_unref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protect_before_and_after_adding),
        cmocka_unit_test(test_append_combinations),
        cmocka_unit_test(test_verify_catches_flips),
        cmocka_unit_test(test_protected_memtable_insert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
