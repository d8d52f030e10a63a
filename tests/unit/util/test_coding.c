/* test_coding.c — fixed-width and varint coding: byte layout, round trips at every length
 * boundary, and rejection of truncated and overlong varints (hostile input). */
#include <stdint.h>
#include <string.h>

#include "test_util.h"
#include "util/coding.h"
#include "util/random.h"

static void test_fixed_layout(void **state)
{
    (void)state;
    char b[8];
    st_encode_fixed16(b, 0x0102);
    assert_memory_equal(b, "\x02\x01", 2);
    assert_int_equal(st_decode_fixed16(b), 0x0102);
    st_encode_fixed32(b, 0x01020304u);
    assert_memory_equal(b, "\x04\x03\x02\x01", 4);
    assert_int_equal(st_decode_fixed32(b), 0x01020304u);
    st_encode_fixed64(b, UINT64_C(0x0102030405060708));
    assert_memory_equal(b, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
    assert_int_equal(st_decode_fixed64(b), UINT64_C(0x0102030405060708));
    st_encode_fixed16(b, 0xffff);
    assert_int_equal(st_decode_fixed16(b), 0xffff);
    st_encode_fixed64(b, UINT64_MAX);
    assert_int_equal(st_decode_fixed64(b), UINT64_MAX);
}

/* Round trip of v as varint64 (and varint32 when it fits), checking length and truncation. */
static void check_varint64(uint64_t v)
{
    char b[10];
    char *end = st_encode_varint64(b, v);
    int len = (int)(end - b);
    assert_int_equal(len, st_varint_length(v));
    uint64_t got = 0;
    assert_ptr_equal(st_decode_varint64(b, end, &got), end);
    assert_int_equal(got, v);
    for (int cut = 0; cut < len; cut++) {
        assert_null(st_decode_varint64(b, b + cut, &got));
    }
    if (v <= UINT32_MAX) {
        char c[5];
        char *cend = st_encode_varint32(c, (uint32_t)v);
        assert_int_equal(cend - c, len);
        assert_memory_equal(b, c, (size_t)len);
        uint32_t g32 = 0;
        assert_ptr_equal(st_decode_varint32(c, cend, &g32), cend);
        assert_int_equal(g32, v);
        for (int cut = 0; cut < len; cut++) {
            assert_null(st_decode_varint32(c, c + cut, &g32));
        }
    } else {
        uint32_t g32;
        assert_null(st_decode_varint32(b, end, &g32)); /* too big for 32 bits */
    }
}

static void test_varint_boundaries(void **state)
{
    (void)state;
    check_varint64(0);
    for (int k = 1; k <= 9; k++) {
        uint64_t edge = UINT64_C(1) << (7 * k);
        check_varint64(edge - 1);
        check_varint64(edge);
        check_varint64(edge + 1);
        assert_int_equal(st_varint_length(edge - 1), k);
        assert_int_equal(st_varint_length(edge), k + 1);
    }
    check_varint64(UINT32_MAX);
    check_varint64((uint64_t)UINT32_MAX + 1);
    check_varint64(UINT64_MAX - 1);
    check_varint64(UINT64_MAX);
    assert_int_equal(st_varint_length(UINT64_MAX), 10);
}

static void test_varint_overlong(void **state)
{
    (void)state;
    uint32_t v32;
    uint64_t v64;
    /* Six bytes for a varint32, eleven for a varint64: continuation past the maximum width. */
    const char long32[] = "\x80\x80\x80\x80\x80\x00";
    assert_null(st_decode_varint32(long32, long32 + 6, &v32));
    const char long64[] = "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00";
    assert_null(st_decode_varint64(long64, long64 + 11, &v64));
    /* Last byte carrying bits beyond the type's width. */
    assert_null(st_decode_varint32("\xff\xff\xff\xff\x10", (const char *)"\xff\xff\xff\xff\x10" + 5,
                                   &v32));
    const char *max32 = "\xff\xff\xff\xff\x0f";
    assert_non_null(st_decode_varint32(max32, max32 + 5, &v32));
    assert_int_equal(v32, UINT32_MAX);
    const char *big64 = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02";
    assert_null(st_decode_varint64(big64, big64 + 10, &v64));
    const char *max64 = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01";
    assert_non_null(st_decode_varint64(max64, max64 + 10, &v64));
    assert_int_equal(v64, UINT64_MAX);
    /* Empty input. */
    assert_null(st_decode_varint32(max32, max32, &v32));
    assert_null(st_decode_varint64(max64, max64, &v64));
}

static void test_slice_getters(void **state)
{
    (void)state;
    char b[32];
    char *p = st_encode_varint32(b, 1000);
    p = st_encode_varint64(p, UINT64_C(1) << 40);
    st_encode_fixed32(p, 77);
    st_encode_fixed64(p + 4, 88);
    st_slice in = st_slice_make(b, (size_t)(p + 12 - b));
    uint32_t v32;
    uint64_t v64;
    assert_true(st_get_varint32(&in, &v32));
    assert_int_equal(v32, 1000);
    assert_true(st_get_varint64(&in, &v64));
    assert_int_equal(v64, UINT64_C(1) << 40);
    assert_true(st_get_fixed32(&in, &v32));
    assert_int_equal(v32, 77);
    assert_true(st_get_fixed64(&in, &v64));
    assert_int_equal(v64, 88);
    assert_int_equal(in.size, 0);
    /* Failures leave the input untouched. */
    st_slice short_in = st_slice_make("\x80\x80", 2);
    assert_false(st_get_varint32(&short_in, &v32));
    assert_false(st_get_varint64(&short_in, &v64));
    assert_false(st_get_fixed32(&short_in, &v32));
    assert_false(st_get_fixed64(&short_in, &v64));
    assert_int_equal(short_in.size, 2);
    /* A length prefix larger than what follows. */
    st_slice lp = st_slice_make("\x05" "abc", 4), out;
    assert_false(st_get_lenprefixed(&lp, &out));
    assert_int_equal(lp.size, 4);
    st_slice lp_bad = st_slice_make("\x80", 1);
    assert_false(st_get_lenprefixed(&lp_bad, &out));
}

/* Random sequences of mixed-width values decode back exactly. */
static void test_random_sequences(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(42));
    enum { N = 2000 };
    static uint64_t vals[N];
    static char buf[N * 10];
    char *p = buf;
    for (int i = 0; i < N; i++) {
        vals[i] = st_random_next(&r) >> st_random_uniform(&r, 64);
        p = (i & 1) ? st_encode_varint64(p, vals[i]) : st_encode_varint32(p, (uint32_t)vals[i]);
    }
    st_slice in = st_slice_make(buf, (size_t)(p - buf));
    for (int i = 0; i < N; i++) {
        if (i & 1) {
            uint64_t v;
            assert_true(st_get_varint64(&in, &v));
            assert_int_equal(v, vals[i]);
        } else {
            uint32_t v;
            assert_true(st_get_varint32(&in, &v));
            assert_int_equal(v, (uint32_t)vals[i]);
        }
    }
    assert_int_equal(in.size, 0);
}

/* Decoding random garbage never reads past the limit (ASan checks) and never "succeeds" past it. */
static void test_garbage(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(42) + 1);
    for (int i = 0; i < 5000; i++) {
        size_t n = (size_t)st_random_uniform(&r, 12);
        char *b = test_malloc(n ? n : 1);
        st_random_bytes(&r, b, n);
        uint64_t v64;
        uint32_t v32;
        const char *e = st_decode_varint64(b, b + n, &v64);
        assert_true(e == NULL || (e > b && e <= b + n));
        e = st_decode_varint32(b, b + n, &v32);
        assert_true(e == NULL || (e > b && e <= b + n));
        test_free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_layout),
        cmocka_unit_test(test_varint_boundaries),
        cmocka_unit_test(test_varint_overlong),
        cmocka_unit_test(test_slice_getters),
        cmocka_unit_test(test_random_sequences),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
