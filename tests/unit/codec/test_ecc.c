/* test_ecc.c — parity (codec/ecc.h): the parity region's layout and length; XOR and RS encodings
 * match a plain ISA-L reference over zero-padded shards; every single-bit flip heals through the
 * CRC syndrome; up to m whole damaged shards heal, more fail and leave the data untouched;
 * damage to the parity shards or the crc array does not stop a data repair it leaves possible;
 * the scrub sees any flip in the parity region; bad parameters, a check that never passes and
 * failed allocations are reported cleanly.  The check function is a real one: XXH3-64 of the
 * region compared with the original's. */
#include <isa-l/erasure_code.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "codec/ecc.h"
#include "strata.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/compiler.h"
#include "util/crc32c.h"
#include "util/hash.h"
#include "util/random.h"

static const st_ecc codes[] = {
    {ST_ECC_XOR, 1, 1}, {ST_ECC_XOR, 4, 1}, {ST_ECC_XOR, 8, 0}, {ST_ECC_XOR, 32, 1},
    {ST_ECC_RS, 1, 1},  {ST_ECC_RS, 4, 2},  {ST_ECC_RS, 8, 2},  {ST_ECC_RS, 16, 4},
    {ST_ECC_RS, 32, 8}, {ST_ECC_RS, 3, 1},
};

/* The region sizes every code is tried on (k - 1 is filled in per code). */
static size_t sizes_for(const st_ecc *e, size_t *out)
{
    static const size_t fixed[] = {0, 1, 7, 4096, 65537};
    memcpy(out, fixed, sizeof(fixed));
    out[ST_ARRAY_LEN(fixed)] = (size_t)e->k - 1;
    return ST_ARRAY_LEN(fixed) + 1;
}

/* ---- a region, its parity and a reference check ---------------------------------------------- */

typedef struct fx {
    st_ecc e;
    int m; /* effective parity shards */
    size_t n, s, plen;
    unsigned char *orig, *porig;
    unsigned char *data, *par; /* working copies the tests damage */
    uint64_t hash;
    int calls;
} fx;

static int check_ref(void *arg, const void *data, size_t n)
{
    fx *f = arg;
    f->calls++;
    return n == f->n && st_hash64(data, n) == f->hash;
}

static int check_never(void *arg, const void *data, size_t n)
{
    (void)data;
    (void)n;
    ((fx *)arg)->calls++;
    return 0;
}

static void fx_init(fx *f, const st_ecc *e, size_t n, st_random *r)
{
    memset(f, 0, sizeof(*f));
    f->e = *e;
    f->m = e->kind == ST_ECC_XOR ? 1 : e->m;
    f->n = n;
    f->s = n ? (n + (size_t)e->k - 1) / (size_t)e->k : 1;
    f->plen = st_ecc_parity_len(e, n);
    f->orig = malloc(n + 1);
    f->data = malloc(n + 1);
    f->porig = malloc(f->plen);
    f->par = malloc(f->plen);
    assert_non_null(f->orig);
    assert_non_null(f->porig);
    st_random_bytes(r, f->orig, n);
    tu_assert_ok(st_ecc_encode(e, f->orig, n, f->porig));
    f->hash = st_hash64(f->orig, n);
    memcpy(f->data, f->orig, n);
    memcpy(f->par, f->porig, f->plen);
}

static void fx_reset(fx *f)
{
    memcpy(f->data, f->orig, f->n);
    memcpy(f->par, f->porig, f->plen);
}

static void fx_free(fx *f)
{
    free(f->orig);
    free(f->data);
    free(f->porig);
    free(f->par);
}

static size_t fx_shard_len(const fx *f, int i)
{
    size_t off = (size_t)i * f->s;
    return off >= f->n ? 0 : ST_MIN(f->s, f->n - off);
}

static void flip(unsigned char *p, size_t bit)
{
    p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
}

/* Heals f->data and expects the original back. */
static void expect_healed(fx *f, int want_how)
{
    int how = -1;
    int rc = st_ecc_heal(&f->e, f->data, f->n, f->par, check_ref, f, &how);
    if (rc != 0) {
        print_error("kind %d k %d m %d n %zu: %s\n", f->e.kind, f->e.k, f->m, f->n, tu_errmsg());
    }
    assert_int_equal(rc, 0);
    if (want_how) {
        assert_int_equal(how, want_how);
    }
    tu_assert_bytes_equal(f->data, f->n, f->orig, f->n);
}

/* Heals f->data and expects CORRUPTION with the region exactly as it was. */
static void expect_unhealable(fx *f, st_ecc_check_fn check)
{
    unsigned char *before = malloc(f->n + 1);
    memcpy(before, f->data, f->n);
    int how = -1;
    assert_int_equal(st_ecc_heal(&f->e, f->data, f->n, f->par, check, f, &how),
                     STRATA_E_CORRUPTION);
    assert_int_equal(how, -1);
    tu_assert_bytes_equal(f->data, f->n, before, f->n);
    free(before);
}

/* ---- layout -------------------------------------------------------------------------------- */

static void test_parity_len(void **state)
{
    (void)state;
    for (size_t c = 0; c < ST_ARRAY_LEN(codes); c++) {
        const st_ecc *e = &codes[c];
        size_t m = e->kind == ST_ECC_XOR ? 1 : (size_t)e->m, k = (size_t)e->k;
        size_t sizes[8], ns = sizes_for(e, sizes);
        for (size_t z = 0; z < ns; z++) {
            size_t n = sizes[z], s = n ? (n + k - 1) / k : 1;
            assert_int_equal(st_ecc_parity_len(e, n), m * s + 4 * (k + m) + 4);
        }
    }
    st_ecc none = {ST_ECC_NONE, 0, 0}, xor9 = {ST_ECC_XOR, 8, 9}, bad = {ST_ECC_RS, 0, 2};
    assert_int_equal(st_ecc_parity_len(&none, 4096), 0);
    assert_int_equal(st_ecc_parity_len(&xor9, 16), 2 + 4 * 9 + 4); /* XOR ignores m */
    assert_int_equal(st_ecc_parity_len(&bad, 16), 0);
    assert_int_equal(st_ecc_parity_len(NULL, 16), 0);
}

/* Encodes with ISA-L directly over an explicitly zero-padded copy and compares byte for byte;
 * also checks every crc array entry against st_crc32c of the padded shard. */
static void reference_check(const st_ecc *e, size_t n, st_random *r)
{
    fx f;
    fx_init(&f, e, n, r);
    int k = e->k, m = f.m;
    size_t s = f.s;
    unsigned char *pad = calloc((size_t)(k + m), s);
    memcpy(pad, f.orig, n);
    unsigned char a[(ST_ECC_MAX_DATA_SHARDS + ST_ECC_MAX_PARITY_SHARDS) * ST_ECC_MAX_DATA_SHARDS];
    unsigned char tbls[32 * ST_ECC_MAX_DATA_SHARDS * ST_ECC_MAX_PARITY_SHARDS];
    unsigned char *src[ST_ECC_MAX_DATA_SHARDS], *out[ST_ECC_MAX_PARITY_SHARDS];
    if (e->kind == ST_ECC_RS) {
        gf_gen_cauchy1_matrix(a, k + m, k);
    } else {
        memset(a + k * k, 1, (size_t)k);
    }
    ec_init_tables(k, m, a + k * k, tbls);
    for (int i = 0; i < k; i++) {
        src[i] = pad + (size_t)i * s;
    }
    for (int j = 0; j < m; j++) {
        out[j] = pad + (size_t)(k + j) * s;
    }
    ec_encode_data((int)s, k, m, tbls, src, out);
    tu_assert_bytes_equal(f.porig, (size_t)m * s, pad + (size_t)k * s, (size_t)m * s);
    if (e->kind == ST_ECC_XOR) {
        for (size_t b = 0; b < s; b++) {
            unsigned char x = 0;
            for (int i = 0; i < k; i++) {
                x ^= pad[(size_t)i * s + b];
            }
            assert_int_equal(f.porig[b], x);
        }
    }
    const char *crcs = (const char *)f.porig + (size_t)m * s;
    for (int i = 0; i < k + m; i++) {
        assert_int_equal(st_decode_fixed32(crcs + 4 * i), st_crc32c(pad + (size_t)i * s, s));
    }
    assert_int_equal(st_decode_fixed32(crcs + 4 * (k + m)), st_crc32c(crcs, 4 * (size_t)(k + m)));
    assert_int_equal(st_ecc_parity_ok(e, f.orig, n, f.porig), 1);
    free(pad);
    fx_free(&f);
}

static void test_encode_matches_reference(void **state)
{
    (void)state;
    assert_int_equal(st_crc32c("123456789", 9), 0xe3069283u);
    st_random r;
    st_random_seed(&r, tu_seed(11));
    for (size_t c = 0; c < ST_ARRAY_LEN(codes); c++) {
        size_t sizes[8], ns = sizes_for(&codes[c], sizes);
        for (size_t z = 0; z < ns; z++) {
            reference_check(&codes[c], sizes[z], &r);
        }
        for (int i = 0; i < 20; i++) {
            reference_check(&codes[c], st_random_uniform(&r, 3000), &r);
        }
    }
}

/* ---- healing ------------------------------------------------------------------------------- */

static void bit_heals(fx *f, size_t bit)
{
    fx_reset(f);
    flip(f->data, bit);
    expect_healed(f, ST_ECC_HEALED_BIT);
}

static void test_single_bit_flips(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(12));
    for (size_t c = 0; c < ST_ARRAY_LEN(codes); c++) {
        size_t sizes[8], ns = sizes_for(&codes[c], sizes);
        sizes[ns++] = 300; /* exhaustive over a few shards of a real size too */
        for (size_t z = 0; z < ns; z++) {
            fx f;
            fx_init(&f, &codes[c], sizes[z], &r);
            size_t bits = 8 * f.n;
            if (f.n < 4096) {
                for (size_t b = 0; b < bits; b++) {
                    bit_heals(&f, b);
                }
            } else {
                for (int i = 0; i < codes[c].k && fx_shard_len(&f, i); i++) { /* shard edges */
                    bit_heals(&f, 8 * (size_t)i * f.s);
                    bit_heals(&f, 8 * ST_MIN(f.n, (size_t)(i + 1) * f.s) - 1);
                }
                for (int i = 0; i < 500; i++) {
                    bit_heals(&f, st_random_uniform(&r, bits));
                }
            }
            fx_free(&f);
        }
    }
}

/* Overwrites the stored bytes of data shard i (or parity shard i - k): every byte changes in at
 * least two bits, so the damage is never a single-bit flip the CRC syndrome alone could fix. */
static void smash_shard(fx *f, int i, st_random *r)
{
    unsigned char *p;
    size_t len;
    if (i < f->e.k) {
        p = f->data + (size_t)i * f->s;
        len = fx_shard_len(f, i);
    } else {
        p = f->par + (size_t)(i - f->e.k) * f->s;
        len = f->s;
    }
    for (size_t b = 0; b < len; b++) {
        p[b] ^= (unsigned char)(st_random_uniform(r, 256) | 0x81);
    }
}

/* Picks `count` distinct shards that hold stored bytes (all-padding data shards cannot be
 * damaged), at least one of them a data shard; returns 0 if there are not enough. */
static int pick_shards(const fx *f, int count, st_random *r, int *pick)
{
    int cand[64], nc = 0;
    for (int i = 0; i < f->e.k + f->m; i++) {
        if (i >= f->e.k || fx_shard_len(f, i) > 0) {
            cand[nc++] = i;
        }
    }
    if (count > nc || cand[0] >= f->e.k) {
        return 0;
    }
    for (;;) {
        for (int j = 0; j < count; j++) { /* partial Fisher-Yates */
            int x = j + (int)st_random_uniform(r, (uint64_t)(nc - j));
            int t = cand[j];
            cand[j] = cand[x];
            cand[x] = t;
            pick[j] = cand[j];
        }
        for (int j = 0; j < count; j++) {
            if (pick[j] < f->e.k) {
                return 1;
            }
        }
    }
}

static void test_whole_shards(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(13));
    for (size_t c = 0; c < ST_ARRAY_LEN(codes); c++) {
        size_t sizes[8], ns = sizes_for(&codes[c], sizes);
        for (size_t z = 0; z < ns; z++) {
            fx f;
            fx_init(&f, &codes[c], sizes[z], &r);
            int pick[64];
            for (int count = 1; count <= f.m + 1; count++) {
                for (int trial = 0; trial < 30; trial++) {
                    fx_reset(&f);
                    if (!pick_shards(&f, count, &r, pick)) {
                        break;
                    }
                    for (int j = 0; j < count; j++) {
                        smash_shard(&f, pick[j], &r);
                    }
                    if (count <= f.m) {
                        expect_healed(&f, ST_ECC_HEALED_SHARDS);
                    } else {
                        expect_unhealable(&f, check_ref);
                    }
                }
            }
            fx_free(&f);
        }
    }
}

/* One data bit flipped plus one bit anywhere in the parity region: every combination heals
 * (parity shard and parity-CRC damage leave the syndrome path; a damaged data CRC entry leaves
 * the rebuild or, with the crc array's own CRC failing, the one-shard-at-a-time search). */
static void test_data_flip_with_parity_flip(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(14));
    for (size_t c = 0; c < ST_ARRAY_LEN(codes); c++) {
        static const size_t sizes[] = {1, 7, 100, 4096};
        for (size_t z = 0; z < ST_ARRAY_LEN(sizes); z++) {
            fx f;
            fx_init(&f, &codes[c], sizes[z], &r);
            size_t pbits = 8 * f.plen, step = pbits > 1000 ? pbits / 500 : 1;
            for (size_t pb = st_random_uniform(&r, step); pb < pbits; pb += step) {
                fx_reset(&f);
                flip(f.data, st_random_uniform(&r, 8 * f.n));
                flip(f.par, pb);
                expect_healed(&f, 0);
            }
            fx_free(&f);
        }
    }
}

static void test_crc_array_damaged(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(15));
    for (size_t c = 0; c < ST_ARRAY_LEN(codes); c++) {
        static const size_t sizes[] = {7, 1000, 4096};
        for (size_t z = 0; z < ST_ARRAY_LEN(sizes); z++) {
            fx f;
            fx_init(&f, &codes[c], sizes[z], &r);
            size_t alen = 4 * (size_t)(f.e.k + f.m) + 4;
            unsigned char *crcs = f.par + (size_t)f.m * f.s;
            for (int trial = 0; trial < 20; trial++) {
                fx_reset(&f);
                st_random_bytes(&r, crcs, alen); /* the whole array is garbage */
                int i = (int)st_random_uniform(&r, (uint64_t)f.e.k);
                if (fx_shard_len(&f, i) == 0) {
                    continue;
                }
                if (trial % 2) {
                    smash_shard(&f, i, &r);
                } else {
                    flip(f.data + (size_t)i * f.s, st_random_uniform(&r, 8 * fx_shard_len(&f, i)));
                }
                expect_healed(&f, ST_ECC_HEALED_SHARDS);
            }
            /* one data shard's own entry damaged as well as its bytes */
            for (int i = 0; i < f.e.k && fx_shard_len(&f, i) > 0; i++) {
                fx_reset(&f);
                crcs[4 * i] ^= 0x10;
                smash_shard(&f, i, &r);
                expect_healed(&f, ST_ECC_HEALED_SHARDS);
            }
            /* more shards look bad than m (one only through its entry), parity shard 0 is
             * damaged: the search must rebuild from a parity shard whose CRC still matches */
            if (f.m >= 2 && f.e.k >= 3 && fx_shard_len(&f, 2) > 0) {
                fx_reset(&f);
                for (int i = 0; i <= f.m - 2; i++) {
                    smash_shard(&f, f.e.k + i, &r);
                }
                smash_shard(&f, 1, &r);
                crcs[4 * 2] ^= 0x01;
                expect_healed(&f, ST_ECC_HEALED_SHARDS);
            }
            fx_free(&f);
        }
    }
}

static void test_check_never_passes(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(16));
    for (size_t c = 0; c < ST_ARRAY_LEN(codes); c++) {
        fx f;
        fx_init(&f, &codes[c], 4096, &r);
        flip(f.data, 12345);
        expect_unhealable(&f, check_never);
        assert_true(f.calls >= 1);
        fx_reset(&f);
        int pick[64];
        assert_true(pick_shards(&f, f.m, &r, pick));
        for (int j = 0; j < f.m; j++) {
            smash_shard(&f, pick[j], &r);
        }
        expect_unhealable(&f, check_never);
        fx_reset(&f);
        f.par[f.plen - 1] ^= 1; /* crc array damaged: the one-by-one search runs and fails */
        smash_shard(&f, 0, &r);
        expect_unhealable(&f, check_never);
        fx_reset(&f);
        expect_unhealable(&f, check_never); /* nothing damaged that parity can see */
        fx_free(&f);
    }
}

static void test_parity_ok_scrub(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(17));
    for (size_t c = 0; c < ST_ARRAY_LEN(codes); c++) {
        static const size_t sizes[] = {0, 1, 33, 4096};
        for (size_t z = 0; z < ST_ARRAY_LEN(sizes); z++) {
            fx f;
            fx_init(&f, &codes[c], sizes[z], &r);
            assert_int_equal(st_ecc_parity_ok(&f.e, f.data, f.n, f.par), 1);
            for (size_t b = 0; b < 8 * f.plen; b++) {
                flip(f.par, b);
                assert_int_equal(st_ecc_parity_ok(&f.e, f.data, f.n, f.par), 0);
                flip(f.par, b);
            }
            if (f.n) {
                flip(f.data, st_random_uniform(&r, 8 * f.n));
                assert_int_equal(st_ecc_parity_ok(&f.e, f.data, f.n, f.par), 0);
            }
            fx_free(&f);
        }
    }
}

static void test_bad_params(void **state)
{
    (void)state;
    static const st_ecc bad[] = {{3, 8, 2},           {-1, 8, 2},        {ST_ECC_XOR, 0, 1},
                                 {ST_ECC_XOR, 33, 1}, {ST_ECC_RS, 0, 2}, {ST_ECC_RS, 33, 2},
                                 {ST_ECC_RS, 8, 0},   {ST_ECC_RS, 8, 9}, {ST_ECC_RS, 8, -1}};
    char buf[64] = {0}, par[512];
    fx dummy = {0};
    for (size_t i = 0; i < ST_ARRAY_LEN(bad); i++) {
        assert_int_equal(st_ecc_check(&bad[i]), STRATA_E_INVALID);
        assert_true(strlen(tu_errmsg()) > 0);
        assert_int_equal(st_ecc_parity_len(&bad[i], 64), 0);
        assert_int_equal(st_ecc_encode(&bad[i], buf, sizeof(buf), par), STRATA_E_INVALID);
        assert_int_equal(st_ecc_heal(&bad[i], buf, sizeof(buf), par, check_never, &dummy, NULL),
                         STRATA_E_INVALID);
        assert_true(st_ecc_parity_ok(&bad[i], buf, sizeof(buf), par) < 0);
    }
    assert_int_equal(st_ecc_check(NULL), STRATA_E_INVALID);
    static const st_ecc good[] = {{ST_ECC_NONE, 0, 0}, {ST_ECC_NONE, 99, -5}, {ST_ECC_XOR, 32, 0},
                                  {ST_ECC_XOR, 1, 77}, {ST_ECC_RS, 1, 8},     {ST_ECC_RS, 32, 1}};
    for (size_t i = 0; i < ST_ARRAY_LEN(good); i++) {
        tu_assert_ok(st_ecc_check(&good[i]));
    }
    /* kind NONE: nothing to write, nothing to heal from, nothing to differ */
    st_ecc none = {ST_ECC_NONE, 8, 2};
    assert_int_equal(st_ecc_encode(&none, buf, sizeof(buf), par), STRATA_E_INVALID);
    assert_int_equal(st_ecc_heal(&none, buf, sizeof(buf), par, check_never, &dummy, NULL),
                     STRATA_E_CORRUPTION);
    assert_int_equal(st_ecc_parity_ok(&none, buf, sizeof(buf), par), 1);
    st_ecc rs = {ST_ECC_RS, 4, 2};
    tu_assert_ok(st_ecc_encode(&rs, buf, sizeof(buf), par));
    assert_int_equal(st_ecc_heal(&rs, buf, sizeof(buf), par, NULL, NULL, NULL), STRATA_E_INVALID);
}

/* Allocation failures: NOMEM with the region untouched, then success once memory returns.  A
 * shape no other test uses shows the first encode allocating its cached tables and later ones
 * not allocating at all. */
static void test_out_of_memory(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(18));
    st_ecc fresh = {ST_ECC_RS, 5, 7};
    unsigned char data[1000], par[2000];
    st_random_bytes(&r, data, sizeof(data));
    st_alloc_fail_after(0, 1);
    assert_int_equal(st_ecc_encode(&fresh, data, sizeof(data), par), STRATA_E_NOMEM);
    st_alloc_fail_after(-1, 0);
    tu_assert_ok(st_ecc_encode(&fresh, data, sizeof(data), par));
    long before = st_alloc_count();
    tu_assert_ok(st_ecc_encode(&fresh, data, sizeof(data), par));
    assert_int_equal(st_alloc_count(), before);

    fx f;
    fx_init(&f, &fresh, 3000, &r);
    for (long fail = 0;; fail++) {
        fx_reset(&f);
        smash_shard(&f, 1, &r);
        unsigned char *damaged = malloc(f.n);
        memcpy(damaged, f.data, f.n);
        st_alloc_fail_after(fail, 1);
        int how = 0;
        int rc = st_ecc_heal(&f.e, f.data, f.n, f.par, check_ref, &f, &how);
        int ok = st_ecc_parity_ok(&f.e, f.orig, f.n, f.porig);
        st_alloc_fail_after(-1, 0);
        if (rc == STRATA_E_NOMEM) {
            tu_assert_bytes_equal(f.data, f.n, damaged, f.n);
            assert_int_equal(ok, STRATA_E_NOMEM);
            free(damaged);
            continue;
        }
        free(damaged);
        assert_int_equal(rc, 0);
        tu_assert_bytes_equal(f.data, f.n, f.orig, f.n);
        if (ok == 1) {
            break;
        }
        assert_int_equal(ok, STRATA_E_NOMEM);
    }
    fx_free(&f);
}

/* Threads racing to build the same cached tables all encode correctly. */
static void *encode_thread(void *arg)
{
    const unsigned char *data = arg;
    static const st_ecc e = {ST_ECC_RS, 7, 3};
    unsigned char par[4096];
    for (int i = 0; i < 50; i++) {
        if (st_ecc_encode(&e, data, 2048, par) != 0 || st_ecc_parity_ok(&e, data, 2048, par) != 1) {
            return (void *)1;
        }
    }
    return NULL;
}

static void test_concurrent_encode(void **state)
{
    (void)state;
    static unsigned char data[2048];
    memset(data, 0x5a, sizeof(data));
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, encode_thread, data), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *ret;
        assert_int_equal(pthread_join(t[i], &ret), 0);
        assert_null(ret);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parity_len),
        cmocka_unit_test(test_encode_matches_reference),
        cmocka_unit_test(test_single_bit_flips),
        cmocka_unit_test(test_whole_shards),
        cmocka_unit_test(test_data_flip_with_parity_flip),
        cmocka_unit_test(test_crc_array_damaged),
        cmocka_unit_test(test_check_never_passes),
        cmocka_unit_test(test_parity_ok_scrub),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_concurrent_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
