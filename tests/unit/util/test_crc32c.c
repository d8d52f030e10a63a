/* test_crc32c.c — CRC-32C: published check values, agreement with a bitwise reference on random
 * unaligned inputs, the extend composition crc(a‖b) == extend(crc(a), b), and masking. */
#include <stdint.h>
#include <string.h>

#include "test_util.h"
#include "util/crc32c.h"
#include "util/random.h"

/* Bit-at-a-time reference (reflected polynomial 0x82f63b78, init and final xor all ones). */
static uint32_t ref_crc32c(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
        }
    }
    return ~crc;
}

static void test_known_values(void **state)
{
    (void)state;
    assert_int_equal(st_crc32c("123456789", 9), 0xe3069283u);
    assert_int_equal(st_crc32c("", 0), 0);
    /* RFC 3720 (iSCSI) B.4 test vectors. */
    unsigned char buf[32];
    memset(buf, 0, sizeof(buf));
    assert_int_equal(st_crc32c(buf, 32), 0x8a9136aau);
    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(st_crc32c(buf, 32), 0x62a8ab43u);
    for (int i = 0; i < 32; i++) {
        buf[i] = (unsigned char)i;
    }
    assert_int_equal(st_crc32c(buf, 32), 0x46dd794eu);
    for (int i = 0; i < 32; i++) {
        buf[i] = (unsigned char)(31 - i);
    }
    assert_int_equal(st_crc32c(buf, 32), 0x113fdb5cu);
    assert_int_equal(st_crc32c_extend(0, "123456789", 9), 0xe3069283u);
}

static void test_against_reference(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(5));
    static unsigned char buf[5000];
    st_random_bytes(&r, buf, sizeof(buf));
    for (int i = 0; i < 500; i++) {
        size_t off = (size_t)st_random_uniform(&r, 16); /* unaligned starts */
        size_t n = (size_t)st_random_uniform(&r, sizeof(buf) - 16);
        assert_int_equal(st_crc32c(buf + off, n), ref_crc32c(0, buf + off, n));
    }
}

static void test_extend_composes(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(5) + 1);
    static unsigned char buf[3000];
    st_random_bytes(&r, buf, sizeof(buf));
    for (int i = 0; i < 500; i++) {
        size_t n = (size_t)st_random_uniform(&r, sizeof(buf) + 1);
        size_t cut = (size_t)st_random_uniform(&r, n + 1);
        uint32_t whole = st_crc32c(buf, n);
        assert_int_equal(st_crc32c_extend(st_crc32c(buf, cut), buf + cut, n - cut), whole);
        /* Byte at a time. */
        if (i < 20) {
            uint32_t c = 0;
            for (size_t j = 0; j < n; j++) {
                c = st_crc32c_extend(c, buf + j, 1);
            }
            assert_int_equal(c, whole);
        }
    }
    assert_int_equal(st_crc32c_extend(st_crc32c("1234", 4), "56789", 5), 0xe3069283u);
    assert_int_equal(st_crc32c_extend(0x12345678u, "", 0), 0x12345678u);
}

static void test_mask(void **state)
{
    (void)state;
    uint32_t crc = st_crc32c("foo", 3);
    assert_int_not_equal(st_crc32c_mask(crc), crc);
    assert_int_not_equal(st_crc32c_mask(st_crc32c_mask(crc)), crc);
    assert_int_equal(st_crc32c_unmask(st_crc32c_mask(crc)), crc);
    assert_int_equal(st_crc32c_unmask(st_crc32c_unmask(st_crc32c_mask(st_crc32c_mask(crc)))), crc);
    st_random r;
    st_random_seed(&r, 9);
    for (int i = 0; i < 1000; i++) {
        uint32_t v = (uint32_t)st_random_next(&r);
        assert_int_equal(st_crc32c_unmask(st_crc32c_mask(v)), v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_extend_composes),
        cmocka_unit_test(test_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
