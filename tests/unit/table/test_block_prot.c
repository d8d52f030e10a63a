/* test_block_prot.c — per-key protection of blocks (block.h): a protected block iterates exactly
 * like an unprotected one in every direction and restart interval (the iterator's entry index
 * must follow seeks, prev steps through remembered intervals and re-scans); a flipped value byte
 * is reported as CORRUPTION ("block cache", the key) exactly when the iterator is positioned on
 * that entry; and st_block_check_entries (the table builder's check before sealing a block)
 * accepts intact contents and rejects flipped bytes or a wrong entry count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata.h"
#include "table/block.h"
#include "table/block_builder.h"
#include "test_util.h"
#include "util/coding.h"
#include "util/ikey.h"
#include "util/prot.h"
#include "util/status.h"

#define N 300

typedef struct entry {
    char k[48];
    size_t klen;
    char v[64];
    size_t vlen;
} entry;

/* Sorted internal keys sharing prefixes; value i has 1 + i % 60 bytes. */
static entry *make_entries(void)
{
    entry *e = calloc(N, sizeof(*e));
    assert_non_null(e);
    for (int i = 0; i < N; i++) {
        int n = snprintf(e[i].k, sizeof(e[i].k), "user/%03d/%05d", i / 10, i);
        st_encode_fixed64(e[i].k + n, st_pack_trailer((uint64_t)(1000 - i), ST_TYPE_VALUE));
        e[i].klen = (size_t)n + 8;
        e[i].vlen = 1 + (size_t)(i % 60);
        for (size_t j = 0; j < e[i].vlen; j++) {
            e[i].v[j] = (char)(i * 31 + (int)j);
        }
    }
    return e;
}

/* Builds a block of e and returns a heap copy of its contents. */
static char *build(const entry *e, int interval, size_t *len)
{
    st_block_builder bb;
    st_block_builder_init(&bb, interval);
    for (int i = 0; i < N; i++) {
        tu_assert_ok(st_block_builder_add(&bb, st_slice_make(e[i].k, e[i].klen),
                                          st_slice_make(e[i].v, e[i].vlen)));
    }
    st_slice c;
    tu_assert_ok(st_block_builder_finish(&bb, &c));
    char *out = malloc(c.size);
    memcpy(out, c.data, c.size);
    *len = c.size;
    st_block_builder_free(&bb);
    return out;
}

static void open_block(st_block *b, const entry *e, int interval, int width)
{
    size_t len;
    char *heap = build(e, interval, &len);
    tu_assert_ok(st_block_init(b, st_slice_make(heap, len), heap, "t.sst", 4096));
    tu_assert_ok(st_block_protect(b, st_comparator_bytewise(), width));
    assert_int_equal(b->prot_entries, N);
    assert_int_equal(st_block_prot_size(b), 4 * b->num_restarts + (size_t)width * N);
}

static void check_at(const st_block_iter *it, const entry *e)
{
    assert_true(st_block_iter_valid(it));
    tu_assert_ok(it->status);
    tu_assert_bytes_equal(it->key.data, it->key.size, e->k, e->klen);
    tu_assert_bytes_equal(it->value.data, it->value.size, e->v, e->vlen);
}

static void test_protected_block_iterates(void **state)
{
    (void)state;
    entry *e = make_entries();
    static const int intervals[] = {1, 3, 16, 64, 100};
    static const int widths[] = {1, 2, 4, 8};
    for (size_t r = 0; r < sizeof(intervals) / sizeof(intervals[0]); r++) {
        for (size_t w = 0; w < 4; w++) {
            st_block b;
            open_block(&b, e, intervals[r], widths[w]);
            st_block_iter it;
            st_block_iter_init(&it, &b, st_comparator_bytewise());
            int i = 0;
            for (st_block_iter_seek_to_first(&it); st_block_iter_valid(&it);
                 st_block_iter_next(&it)) {
                check_at(&it, &e[i++]);
            }
            tu_assert_ok(it.status);
            assert_int_equal(i, N);
            for (st_block_iter_seek_to_last(&it); st_block_iter_valid(&it);
                 st_block_iter_prev(&it)) {
                check_at(&it, &e[--i]);
            }
            tu_assert_ok(it.status);
            assert_int_equal(i, 0);
            for (int j = 0; j < N; j++) {
                st_block_iter_seek(&it, st_slice_make(e[j].k, e[j].klen));
                check_at(&it, &e[j]);
                if (j > 0) { /* prev right after a seek: a fresh interval scan */
                    st_block_iter_prev(&it);
                    check_at(&it, &e[j - 1]);
                    st_block_iter_next(&it);
                    check_at(&it, &e[j]);
                }
            }
            st_block_iter_release(&it);
            st_block_free(&b);
        }
    }
    free(e);
}

/* Offset in b->data of the first value byte of entry i. */
static size_t value_offset(const st_block *b, int i)
{
    st_block_iter it;
    st_block_iter_init(&it, b, st_comparator_bytewise());
    st_block_iter_seek_to_first(&it);
    for (int j = 0; j < i; j++) {
        st_block_iter_next(&it);
    }
    assert_true(st_block_iter_valid(&it));
    size_t off = (size_t)(it.value.data - b->data);
    st_block_iter_release(&it);
    return off;
}

static void expect_flip_caught(int rc, const entry *victim)
{
    char want[32];
    snprintf(want, sizeof(want), "'%.*s'", (int)(victim->klen - 8), victim->k);
    const char *msg = st_errmsg();
    if (rc != STRATA_E_CORRUPTION || !strstr(msg, "block cache") || !strstr(msg, want) ||
        !strstr(msg, "t.sst, block at offset 4096")) {
        print_error("expected CORRUPTION for %s, got %d: %s\n", want, rc, msg);
        fail();
    }
}

static void test_flip_caught_where_positioned(void **state)
{
    (void)state;
    entry *e = make_entries();
    static const int intervals[] = {1, 16, 100};
    for (size_t r = 0; r < 3; r++) {
        for (int victim = 0; victim < N; victim += 37) {
            st_block b;
            open_block(&b, e, intervals[r], 8);
            b.heap[value_offset(&b, victim)] ^= 0x20; /* the block is "in the cache" now */
            st_block_iter it;
            st_block_iter_init(&it, &b, st_comparator_bytewise());
            /* a forward scan yields every entry before the victim, then fails */
            int i = 0;
            for (st_block_iter_seek_to_first(&it); st_block_iter_valid(&it);
                 st_block_iter_next(&it)) {
                check_at(&it, &e[i++]);
            }
            assert_int_equal(i, victim);
            expect_flip_caught(it.status, &e[victim]);
            /* a seek landing on it fails; the error is sticky for this iterator */
            st_block_iter_reset(&it, &b);
            st_block_iter_seek(&it, st_slice_make(e[victim].k, e[victim].klen));
            assert_false(st_block_iter_valid(&it));
            expect_flip_caught(it.status, &e[victim]);
            /* a seek stepping over it (landing after it, same interval) is not affected */
            if (victim + 1 < N) {
                st_block_iter_reset(&it, &b);
                st_block_iter_seek(&it, st_slice_make(e[victim + 1].k, e[victim + 1].klen));
                check_at(&it, &e[victim + 1]);
                /* ... until prev steps onto it */
                st_block_iter_prev(&it);
                assert_false(st_block_iter_valid(&it));
                expect_flip_caught(it.status, &e[victim]);
            }
            /* a backward scan stops there too */
            st_block_iter_reset(&it, &b);
            i = N;
            for (st_block_iter_seek_to_last(&it); st_block_iter_valid(&it);
                 st_block_iter_prev(&it)) {
                check_at(&it, &e[--i]);
            }
            assert_int_equal(i, victim + 1);
            expect_flip_caught(it.status, &e[victim]);
            st_block_iter_release(&it);
            st_block_free(&b);
        }
    }
    free(e);
}

static void test_check_entries(void **state)
{
    (void)state;
    entry *e = make_entries();
    uint64_t pi[N + 1] = {0};
    for (int i = 0; i < N; i++) {
        pi[i] = st_prot_ikv(st_slice_make(e[i].k, e[i].klen), st_slice_make(e[i].v, e[i].vlen));
    }
    size_t len;
    char *raw = build(e, 16, &len);
    const st_comparator *ucmp = st_comparator_bytewise();
    tu_assert_ok(st_block_check_entries(st_slice_make(raw, len), ucmp, pi, N, "flush"));

    /* one entry missing from the block, or one checksum too many */
    assert_int_equal(st_block_check_entries(st_slice_make(raw, len), ucmp, pi, N - 1, "flush"),
                     STRATA_E_CORRUPTION);
    assert_int_equal(st_block_check_entries(st_slice_make(raw, len), ucmp, pi, N + 1, "flush"),
                     STRATA_E_CORRUPTION);

    st_block b;
    tu_assert_ok(st_block_init(&b, st_slice_make(raw, len), NULL, "x", 0));
    size_t off = value_offset(&b, 123);
    raw[off] ^= 0x01;
    int rc = st_block_check_entries(st_slice_make(raw, len), ucmp, pi, N, "compaction");
    assert_int_equal(rc, STRATA_E_CORRUPTION);
    assert_non_null(strstr(st_errmsg(), "compaction"));
    assert_non_null(strstr(st_errmsg(), "user/012/00123"));
    free(raw);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protected_block_iterates),
        cmocka_unit_test(test_flip_caught_where_positioned),
        cmocka_unit_test(test_check_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
