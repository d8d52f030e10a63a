/* fuzz_ecc.c — libFuzzer target for parity healing (codec/ecc.h).  Input:
 *
 *     kind ‖ k ‖ m ‖ mode ‖ fixed16 n ‖ data[n] ‖ (mode bit 0: parity bytes) ‖ damage ops…
 *
 * kind bit 7 clear maps the next bytes onto valid parameters (XOR/RS, k 1..32, m 1..8); set, they
 * are used raw and bad ones must be refused cleanly.  The data is encoded; with mode bit 0 the
 * parity region is then overwritten by input bytes (arbitrary parity).  Each damage op is 4 bytes
 * (target and position bits, position, position, xor value) applied to the data or the parity.
 * The check function is XXH3-64 of the original, as a table's block checksum would be.
 * Checks: no crash or over-read (buffers are exact-size heap copies); heal returns 0 only with
 * the original data back, and CORRUPTION only with the damaged data exactly as given; damage the
 * code must repair — one data shard off by one bit, or at most m damaged shards with the crc
 * array intact — is repaired; the scrub accepts fresh parity and rejects changed parity. */
#include <string.h>

#include "codec/ecc.h"
#include "fuzz_common.h"
#include "util/alloc.h"
#include "util/hash.h"

#define MAX_OPS 64

typedef struct region {
    size_t n;
    uint64_t hash;
} region;

static int check_hash(void *arg, const void *data, size_t n)
{
    const region *r = arg;
    return n == r->n && st_hash64(data, n) == r->hash;
}

static void *dup_exact(const void *p, size_t n)
{
    unsigned char *q = st_malloc(n ? n : 1);
    FZ_CHECK(q != NULL);
    if (n) {
        memcpy(q, p, n);
    }
    return q;
}

static size_t popcount_diff(const unsigned char *a, const unsigned char *b, size_t n)
{
    size_t bits = 0;
    for (size_t i = 0; i < n; i++) {
        bits += (size_t)__builtin_popcount((unsigned)(a[i] ^ b[i]));
    }
    return bits;
}

/* 1 when the code must repair this damage: the crc array intact and either one data shard off
 * by exactly one bit, or between 1 and m damaged shards in all. */
static int within_reach(const st_ecc *e, const unsigned char *orig, const unsigned char *data,
                        size_t n, const unsigned char *p0, const unsigned char *p1, size_t plen)
{
    int m = e->kind == ST_ECC_XOR ? 1 : e->m;
    size_t s = n ? (n + (size_t)e->k - 1) / (size_t)e->k : 1;
    size_t ms = (size_t)m * s;
    if (memcmp(p0 + ms, p1 + ms, plen - ms) != 0) {
        return 0;
    }
    int bad_data = 0, bad_par = 0;
    size_t bits = 0;
    for (int i = 0; i < e->k; i++) {
        size_t off = (size_t)i * s;
        size_t len = off >= n ? 0 : (n - off < s ? n - off : s);
        size_t b = len ? popcount_diff(orig + off, data + off, len) : 0;
        bad_data += b > 0;
        bits += b;
    }
    for (int j = 0; j < m; j++) {
        bad_par += memcmp(p0 + (size_t)j * s, p1 + (size_t)j * s, s) != 0;
    }
    return (bad_data == 1 && bits == 1) || (bad_data >= 1 && bad_data + bad_par <= m);
}

static void refuse_bad_params(const st_ecc *e, unsigned char *data, size_t n)
{
    region r = {n, 0};
    unsigned char par[8];
    FZ_CHECK(st_ecc_parity_len(e, n) == 0);
    FZ_CHECK(st_ecc_encode(e, data, n, par) == STRATA_E_INVALID);
    FZ_CHECK(st_ecc_heal(e, data, n, par, check_hash, &r, NULL) == STRATA_E_INVALID);
}

static void apply_ops(fz_cursor *c, unsigned char *data, size_t n, unsigned char *par,
                      size_t plen)
{
    for (int op = 0; op < MAX_OPS && c->n >= 4; op++) {
        uint8_t t = fz_u8(c), lo = fz_u8(c), hi = fz_u8(c), v = fz_u8(c);
        size_t pos = (size_t)lo | (size_t)hi << 8 | (size_t)(t >> 1) << 16;
        unsigned char *p = (t & 1) ? par : data;
        size_t len = (t & 1) ? plen : n;
        if (len) {
            p[pos % len] ^= v ? v : 1;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    fz_cursor c = {in, size};
    uint8_t kind = fz_u8(&c), k = fz_u8(&c), m = fz_u8(&c), mode = fz_u8(&c);
    st_ecc e = {1 + (kind & 1), 1 + k % ST_ECC_MAX_DATA_SHARDS, 1 + m % ST_ECC_MAX_PARITY_SHARDS};
    if (kind & 0x80) {
        e = (st_ecc){(int8_t)(kind & 0x7f) - 32, (int8_t)k, (int8_t)m};
    }
    size_t n = fz_u8(&c);
    n |= (size_t)fz_u8(&c) << 8;
    n = n < c.n ? n : c.n;
    unsigned char *orig = dup_exact(c.p, n);
    c.p += n;
    c.n -= n;
    if (st_ecc_check(&e) != 0) {
        refuse_bad_params(&e, orig, n);
        st_free(orig);
        return 0;
    }
    if (e.kind == ST_ECC_NONE) {
        region r = {n, 0};
        FZ_CHECK(st_ecc_parity_len(&e, n) == 0);
        FZ_CHECK(st_ecc_parity_ok(&e, orig, n, NULL) == 1);
        FZ_CHECK(st_ecc_heal(&e, orig, n, NULL, check_hash, &r, NULL) == STRATA_E_CORRUPTION);
        st_free(orig);
        return 0;
    }
    size_t plen = st_ecc_parity_len(&e, n);
    unsigned char *fresh = st_malloc(plen), *par = st_malloc(plen);
    FZ_CHECK(fresh && par);
    FZ_CHECK(st_ecc_encode(&e, orig, n, fresh) == 0);
    FZ_CHECK(st_ecc_parity_ok(&e, orig, n, fresh) == 1);
    memcpy(par, fresh, plen);
    if (mode & 1) {
        size_t take = plen < c.n ? plen : c.n;
        memcpy(par, c.p, take);
        c.p += take;
        c.n -= take;
    }
    unsigned char *data = dup_exact(orig, n);
    apply_ops(&c, data, n, par, plen);
    FZ_CHECK(st_ecc_parity_ok(&e, orig, n, par) == (memcmp(par, fresh, plen) == 0));

    region r = {n, st_hash64(orig, n)};
    if (!check_hash(&r, data, n)) {
        unsigned char *damaged = dup_exact(data, n);
        int how = 0;
        int rc = st_ecc_heal(&e, data, n, par, check_hash, &r, &how);
        if (rc == 0) {
            FZ_CHECK(how == ST_ECC_HEALED_BIT || how == ST_ECC_HEALED_SHARDS);
            FZ_CHECK(memcmp(data, orig, n) == 0);
        } else {
            FZ_CHECK(rc == STRATA_E_CORRUPTION);
            FZ_CHECK(memcmp(data, damaged, n) == 0);
            FZ_CHECK(!within_reach(&e, orig, damaged, n, fresh, par, plen));
        }
        st_free(damaged);
    }
    st_free(data);
    st_free(par);
    st_free(fresh);
    st_free(orig);
    return 0;
}
