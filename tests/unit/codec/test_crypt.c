/* test_crypt.c — AES-256-GCM file encryption and key providers (codec/crypt.h): round trips of
 * every size class and in place; any change to ciphertext, tag, counter, AAD, any input of the
 * file key derivation or the master key makes open fail with AUTH; ciphertext hides low-entropy
 * plaintext and differs between files; known answers (McGrew–Viega GCM vectors, RFC 5869 HKDF,
 * and a file key and block pinned with an independent implementation) check the derivation and
 * nonce layout of crypt.h; one st_crypt_file shared by 4 threads; provider refcounting and
 * failures; out-of-memory paths. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/opensslv.h>
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#endif

#include "test_util.h"

#include "codec/crypt.h"
#include "strata.h"
#include "util/alloc.h"
#include "util/compiler.h"
#include "util/random.h"
#include "util/status.h"

/* ---- helpers --------------------------------------------------------------------------------- */

/* A user key provider over a small table; counts destructor calls. */
typedef struct test_keys {
    uint32_t ids[4];
    unsigned char keys[4][ST_CRYPT_KEY_LEN];
    int n;
    uint32_t current;
    int fail_current;
    int destroyed;
    int scribble; /* get_key writes garbage into key before failing */
} test_keys;

static int tk_get(void *state, uint32_t key_id, unsigned char *key)
{
    test_keys *tk = state;
    for (int i = 0; i < tk->n; i++) {
        if (tk->ids[i] == key_id) {
            memcpy(key, tk->keys[i], ST_CRYPT_KEY_LEN);
            return 0;
        }
    }
    if (tk->scribble) {
        memset(key, 0xA5, ST_CRYPT_KEY_LEN);
    }
    return -1;
}

static int tk_current(void *state, uint32_t *key_id)
{
    test_keys *tk = state;
    *key_id = tk->current;
    return tk->fail_current ? -1 : 0;
}

static void tk_destroy(void *state)
{
    ((test_keys *)state)->destroyed++;
}

static void tk_add(test_keys *tk, uint32_t id, unsigned char fill)
{
    tk->ids[tk->n] = id;
    for (int i = 0; i < ST_CRYPT_KEY_LEN; i++) {
        tk->keys[tk->n][i] = (unsigned char)(fill + 7 * i);
    }
    tk->n++;
    tk->current = id;
}

static st_key_provider *tk_provider(test_keys *tk)
{
    st_key_provider *kp = NULL;
    tu_assert_ok(st_key_provider_create(tk, tk_get, tk_current, tk_destroy, &kp));
    return kp;
}

/* The parameters of one file key. */
typedef struct file_params {
    uint32_t key_id;
    unsigned char db_id[ST_DB_ID_LEN];
    uint64_t number;
    int kind;
    unsigned char salt[ST_CRYPT_SALT_LEN];
} file_params;

static file_params base_params(void)
{
    file_params p;
    p.key_id = 1;
    for (int i = 0; i < ST_DB_ID_LEN; i++) {
        p.db_id[i] = (unsigned char)(0x10 + i);
    }
    p.number = 42;
    p.kind = ST_CRYPT_FILE_TABLE;
    for (int i = 0; i < ST_CRYPT_SALT_LEN; i++) {
        p.salt[i] = (unsigned char)(0x80 + i);
    }
    return p;
}

static st_crypt_file *make_file(st_key_provider *kp, const file_params *p)
{
    st_crypt_file *f = NULL;
    tu_assert_ok(st_crypt_file_create(kp, p->key_id, p->db_id, p->number, p->kind, p->salt, &f));
    return f;
}

/* A provider with key ids 1 and 2 holding the same master key (so only the key id differs in the
 * derivation), and 3 with another key. */
static st_key_provider *std_provider(test_keys *tk)
{
    memset(tk, 0, sizeof(*tk));
    tk_add(tk, 1, 0x11);
    tk_add(tk, 2, 0x11);
    tk_add(tk, 3, 0x5c);
    tk->current = 1;
    return tk_provider(tk);
}

static void expect_auth(const st_crypt_file *f, uint64_t counter, const void *aad, size_t aad_len,
                        const void *ct, size_t n, const unsigned char *tag)
{
    unsigned char *out = malloc(n + 1);
    assert_non_null(out);
    int rc = st_crypt_open(f, counter, aad, aad_len, ct, n, tag, out);
    assert_int_equal(rc, STRATA_E_AUTH);
    assert_non_null(strstr(st_errmsg(), "authentication failed"));
    free(out);
}

/* A sealed message: plaintext, ciphertext and tag under one file, counter and aad. */
typedef struct sealed {
    unsigned char pt[256], ct[256], tag[ST_CRYPT_TAG_LEN], aad[32];
    size_t n, aad_len;
    uint64_t counter;
} sealed;

static void seal_fixed(const st_crypt_file *f, sealed *s)
{
    st_random r;
    st_random_seed(&r, 77);
    s->n = sizeof(s->pt);
    s->aad_len = sizeof(s->aad);
    s->counter = 4096;
    st_random_bytes(&r, s->pt, s->n);
    st_random_bytes(&r, s->aad, s->aad_len);
    tu_assert_ok(st_crypt_seal(f, s->counter, s->aad, s->aad_len, s->pt, s->n, s->ct, s->tag));
}

static int contains(const void *hay, size_t hn, const void *needle, size_t nn)
{
    if (nn == 0 || nn > hn) {
        return nn == 0;
    }
    for (size_t i = 0; i + nn <= hn; i++) {
        if (memcmp((const char *)hay + i, needle, nn) == 0) {
            return 1;
        }
    }
    return 0;
}

/* ---- round trips ----------------------------------------------------------------------------- */

static void test_roundtrip_sizes(void **state)
{
    (void)state;
    test_keys tk;
    st_key_provider *kp = std_provider(&tk);
    file_params p = base_params();
    st_crypt_file *f = make_file(kp, &p);
    st_random r;
    st_random_seed(&r, tu_seed(1));
    static const size_t sizes[] = {0, 1, 15, 16, 17, 4096, 100000};
    const char aad[] = "000042.sst";
    for (size_t i = 0; i < ST_ARRAY_LEN(sizes); i++) {
        size_t n = sizes[i];
        unsigned char *pt = malloc(n + 1), *ct = malloc(n + 1), *out = malloc(n + 1);
        unsigned char tag[ST_CRYPT_TAG_LEN], tag2[ST_CRYPT_TAG_LEN];
        assert_true(pt && ct && out);
        st_random_bytes(&r, pt, n);
        tu_assert_ok(st_crypt_seal(f, 1000 + i, aad, sizeof(aad), pt, n, ct, tag));
        if (n >= 8) {
            assert_true(memcmp(ct, pt, n) != 0);
        }
        tu_assert_ok(st_crypt_open(f, 1000 + i, aad, sizeof(aad), ct, n, tag, out));
        tu_assert_bytes_equal(out, n, pt, n);

        /* Sealing is deterministic for a given (file, counter, aad, plaintext). */
        tu_assert_ok(st_crypt_seal(f, 1000 + i, aad, sizeof(aad), pt, n, out, tag2));
        tu_assert_bytes_equal(out, n, ct, n);
        tu_assert_bytes_equal(tag2, sizeof(tag2), tag, sizeof(tag));

        /* In place: out == in, both ways. */
        memcpy(out, pt, n);
        tu_assert_ok(st_crypt_seal(f, 1000 + i, aad, sizeof(aad), out, n, out, tag2));
        tu_assert_bytes_equal(out, n, ct, n);
        tu_assert_bytes_equal(tag2, sizeof(tag2), tag, sizeof(tag));
        tu_assert_ok(st_crypt_open(f, 1000 + i, aad, sizeof(aad), out, n, tag, out));
        tu_assert_bytes_equal(out, n, pt, n);

        /* NULL aad and a zero-length one are the same (no AAD bytes). */
        tu_assert_ok(st_crypt_seal(f, 7, NULL, 0, pt, n, ct, tag));
        tu_assert_ok(st_crypt_open(f, 7, "", 0, ct, n, tag, out));
        tu_assert_bytes_equal(out, n, pt, n);
        free(pt);
        free(ct);
        free(out);
    }
    /* n == 0 with NULL buffers: only the tag is made and checked. */
    unsigned char tag[ST_CRYPT_TAG_LEN];
    tu_assert_ok(st_crypt_seal(f, 9, aad, sizeof(aad), NULL, 0, NULL, tag));
    tu_assert_ok(st_crypt_open(f, 9, aad, sizeof(aad), NULL, 0, tag, NULL));
    tag[3] ^= 1;
    expect_auth(f, 9, aad, sizeof(aad), NULL, 0, tag);
    st_crypt_file_destroy(f);
    st_key_provider_unref(kp);
    assert_int_equal(tk.destroyed, 1);
}

static void test_accessors(void **state)
{
    (void)state;
    test_keys tk;
    st_key_provider *kp = std_provider(&tk);
    file_params p = base_params();
    p.key_id = 3;
    p.number = UINT64_MAX - 1;
    p.kind = ST_CRYPT_FILE_MANIFEST;
    st_crypt_file *f = make_file(kp, &p);
    assert_int_equal(st_crypt_file_key_id(f), 3);
    assert_true(st_crypt_file_number(f) == UINT64_MAX - 1);
    tu_assert_bytes_equal(st_crypt_file_db_id(f), ST_DB_ID_LEN, p.db_id, ST_DB_ID_LEN);
    st_crypt_file_destroy(f);
    st_crypt_file_destroy(NULL);
    st_key_provider_unref(kp);
}

/* ---- tampering ------------------------------------------------------------------------------- */

static void test_ciphertext_bit_flips(void **state)
{
    (void)state;
    test_keys tk;
    st_key_provider *kp = std_provider(&tk);
    file_params p = base_params();
    st_crypt_file *f = make_file(kp, &p);
    sealed s;
    seal_fixed(f, &s);
    for (size_t bit = 0; bit < s.n * 8; bit++) {
        s.ct[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        expect_auth(f, s.counter, s.aad, s.aad_len, s.ct, s.n, s.tag);
        s.ct[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    /* A large block: a sample of bits across it. */
    size_t n = 100000;
    unsigned char *pt = calloc(1, n), *ct = malloc(n);
    unsigned char tag[ST_CRYPT_TAG_LEN];
    assert_true(pt && ct);
    tu_assert_ok(st_crypt_seal(f, 5, NULL, 0, pt, n, ct, tag));
    for (size_t bit = 0; bit < n * 8; bit += 7919) {
        ct[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        expect_auth(f, 5, NULL, 0, ct, n, tag);
        ct[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    ct[n - 1] ^= 0x80;
    expect_auth(f, 5, NULL, 0, ct, n, tag);
    ct[n - 1] ^= 0x80;
    /* A truncated or extended ciphertext (with the same tag) is rejected too. */
    expect_auth(f, 5, NULL, 0, ct, n - 1, tag);
    expect_auth(f, s.counter, s.aad, s.aad_len, s.ct, s.n - 1, s.tag);
    tu_assert_ok(st_crypt_open(f, 5, NULL, 0, ct, n, tag, ct));
    free(pt);
    free(ct);
    st_crypt_file_destroy(f);
    st_key_provider_unref(kp);
}

static void test_tag_bit_flips(void **state)
{
    (void)state;
    test_keys tk;
    st_key_provider *kp = std_provider(&tk);
    file_params p = base_params();
    st_crypt_file *f = make_file(kp, &p);
    sealed s;
    seal_fixed(f, &s);
    for (size_t bit = 0; bit < ST_CRYPT_TAG_LEN * 8; bit++) {
        s.tag[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        expect_auth(f, s.counter, s.aad, s.aad_len, s.ct, s.n, s.tag);
        s.tag[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    unsigned char zero[ST_CRYPT_TAG_LEN] = {0};
    expect_auth(f, s.counter, s.aad, s.aad_len, s.ct, s.n, zero);
    unsigned char out[sizeof(s.pt)];
    tu_assert_ok(st_crypt_open(f, s.counter, s.aad, s.aad_len, s.ct, s.n, s.tag, out));
    st_crypt_file_destroy(f);
    st_key_provider_unref(kp);
}

static void test_wrong_counter(void **state)
{
    (void)state;
    test_keys tk;
    st_key_provider *kp = std_provider(&tk);
    file_params p = base_params();
    st_crypt_file *f = make_file(kp, &p);
    sealed s;
    seal_fixed(f, &s);
    const uint64_t others[] = {0, s.counter - 1, s.counter + 1, s.counter ^ (1ull << 63),
                               s.counter ^ (1ull << 32), s.counter << 1, UINT64_MAX};
    for (size_t i = 0; i < ST_ARRAY_LEN(others); i++) {
        expect_auth(f, others[i], s.aad, s.aad_len, s.ct, s.n, s.tag);
    }
    for (int bit = 0; bit < 64; bit++) {
        expect_auth(f, s.counter ^ (1ull << bit), s.aad, s.aad_len, s.ct, s.n, s.tag);
    }
    st_crypt_file_destroy(f);
    st_key_provider_unref(kp);
}

static void test_wrong_aad(void **state)
{
    (void)state;
    test_keys tk;
    st_key_provider *kp = std_provider(&tk);
    file_params p = base_params();
    st_crypt_file *f = make_file(kp, &p);
    sealed s;
    seal_fixed(f, &s);
    unsigned char aad[sizeof(s.aad) + 1];
    /* one byte changed, at every position */
    for (size_t i = 0; i < s.aad_len; i++) {
        memcpy(aad, s.aad, s.aad_len);
        aad[i] ^= 0x01;
        expect_auth(f, s.counter, aad, s.aad_len, s.ct, s.n, s.tag);
    }
    /* truncated, to every shorter length including none */
    for (size_t len = 0; len < s.aad_len; len++) {
        expect_auth(f, s.counter, s.aad, len, s.ct, s.n, s.tag);
    }
    expect_auth(f, s.counter, NULL, 0, s.ct, s.n, s.tag);
    /* extended by one byte (of either value) */
    memcpy(aad, s.aad, s.aad_len);
    aad[s.aad_len] = 0;
    expect_auth(f, s.counter, aad, s.aad_len + 1, s.ct, s.n, s.tag);
    aad[s.aad_len] = 0xff;
    expect_auth(f, s.counter, aad, s.aad_len + 1, s.ct, s.n, s.tag);
    /* a message sealed without aad does not open with some */
    unsigned char ct[16], tag[ST_CRYPT_TAG_LEN];
    tu_assert_ok(st_crypt_seal(f, 1, NULL, 0, "0123456789abcdef", 16, ct, tag));
    expect_auth(f, 1, "", 1, ct, 16, tag);
    st_crypt_file_destroy(f);
    st_key_provider_unref(kp);
}

/* A block sealed under one file key does not open under a key that differs in any input of the
 * derivation (crypt.h), including the key id alone (ids 1 and 2 hold the same master key). */
static void test_wrong_file_key(void **state)
{
    (void)state;
    test_keys tk;
    st_key_provider *kp = std_provider(&tk);
    file_params base = base_params();
    st_crypt_file *f = make_file(kp, &base);
    sealed s;
    seal_fixed(f, &s);

    file_params v[12];
    int nv = 0;
    v[nv] = base, v[nv++].salt[0] ^= 1;
    v[nv] = base, v[nv++].salt[ST_CRYPT_SALT_LEN - 1] ^= 0x80;
    v[nv] = base, v[nv++].db_id[0] ^= 1;
    v[nv] = base, v[nv++].db_id[ST_DB_ID_LEN - 1] ^= 0x80;
    v[nv] = base, v[nv++].number += 1;
    v[nv] = base, v[nv++].number ^= 1ull << 63;
    v[nv] = base, v[nv++].kind = ST_CRYPT_FILE_WAL;
    v[nv] = base, v[nv++].kind = ST_CRYPT_FILE_MANIFEST;
    v[nv] = base, v[nv++].key_id = 2; /* same master key bytes, different id */
    v[nv] = base, v[nv++].key_id = 3; /* another master key */
    for (int i = 0; i < nv; i++) {
        st_crypt_file *g = make_file(kp, &v[i]);
        expect_auth(g, s.counter, s.aad, s.aad_len, s.ct, s.n, s.tag);
        st_crypt_file_destroy(g);
    }

    /* The same key id and parameters under a different master key. */
    test_keys tk2;
    memset(&tk2, 0, sizeof(tk2));
    tk_add(&tk2, 1, 0x12);
    st_key_provider *kp2 = tk_provider(&tk2);
    st_crypt_file *g = make_file(kp2, &base);
    expect_auth(g, s.counter, s.aad, s.aad_len, s.ct, s.n, s.tag);
    st_crypt_file_destroy(g);
    st_key_provider_unref(kp2);
    assert_int_equal(tk2.destroyed, 1);

    /* The same parameters and master key give the same file key. */
    g = make_file(kp, &base);
    unsigned char out[sizeof(s.pt)];
    tu_assert_ok(st_crypt_open(g, s.counter, s.aad, s.aad_len, s.ct, s.n, s.tag, out));
    tu_assert_bytes_equal(out, s.n, s.pt, s.n);
    st_crypt_file_destroy(g);
    st_crypt_file_destroy(f);
    st_key_provider_unref(kp);
}

/* ---- confidentiality ------------------------------------------------------------------------- */

static void test_no_plaintext_in_ciphertext(void **state)
{
    (void)state;
    test_keys tk;
    st_key_provider *kp = std_provider(&tk);
    file_params p = base_params();
    st_crypt_file *f = make_file(kp, &p);
    size_t n = 4096;
    unsigned char *pt = malloc(n), *ct = malloc(n);
    unsigned char tag[ST_CRYPT_TAG_LEN];
    assert_true(pt && ct);
    /* Low entropy: all one byte, then a short record repeated (as a block of similar keys). */
    for (int pass = 0; pass < 3; pass++) {
        static const char rec[] = "user:000000000001=aaaa;";
        for (size_t i = 0; i < n; i++) {
            pt[i] = pass == 0 ? 'A' : pass == 1 ? 0 : (unsigned char)rec[i % (sizeof(rec) - 1)];
        }
        tu_assert_ok(st_crypt_seal(f, (uint64_t)pass, NULL, 0, pt, n, ct, tag));
        assert_true(memcmp(ct, pt, n) != 0);
        /* The plaintext's period bounds its distinct 4-byte runs. */
        size_t period = pass < 2 ? 1 : sizeof(rec) - 1;
        for (size_t i = 0; i < period; i++) {
            if (contains(ct, n, pt + i, 4)) {
                fail_msg("pass %d: ciphertext contains plaintext bytes %zu..%zu", pass, i, i + 3);
            }
        }
    }
    free(pt);
    free(ct);
    st_crypt_file_destroy(f);
    st_key_provider_unref(kp);
}

static void test_two_files_differ(void **state)
{
    (void)state;
    test_keys tk;
    st_key_provider *kp = std_provider(&tk);
    file_params a = base_params(), b = base_params(), c = base_params();
    b.number = a.number + 1;
    c.salt[5] ^= 0x20; /* same number, another salt (a rewritten file) */
    st_crypt_file *fa = make_file(kp, &a), *fb = make_file(kp, &b), *fc = make_file(kp, &c);
    unsigned char pt[512], ca[512], cb[512], cc[512];
    unsigned char ta[ST_CRYPT_TAG_LEN], tb[ST_CRYPT_TAG_LEN], tc[ST_CRYPT_TAG_LEN];
    memset(pt, 'x', sizeof(pt));
    tu_assert_ok(st_crypt_seal(fa, 0, "h", 1, pt, sizeof(pt), ca, ta));
    tu_assert_ok(st_crypt_seal(fb, 0, "h", 1, pt, sizeof(pt), cb, tb));
    tu_assert_ok(st_crypt_seal(fc, 0, "h", 1, pt, sizeof(pt), cc, tc));
    assert_true(memcmp(ca, cb, sizeof(ca)) != 0);
    assert_true(memcmp(ca, cc, sizeof(ca)) != 0);
    assert_true(memcmp(cb, cc, sizeof(cb)) != 0);
    assert_true(memcmp(ta, tb, sizeof(ta)) != 0);
    /* Nor do two counters of one file share a keystream. */
    tu_assert_ok(st_crypt_seal(fa, 1, "h", 1, pt, sizeof(pt), cb, tb));
    assert_true(memcmp(ca, cb, sizeof(ca)) != 0);
    st_crypt_file_destroy(fa);
    st_crypt_file_destroy(fb);
    st_crypt_file_destroy(fc);
    st_key_provider_unref(kp);
}

/* ---- known answers --------------------------------------------------------------------------- */

static void unhex(const char *h, unsigned char *out, size_t n)
{
    assert_int_equal(strlen(h), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (unsigned char)v;
    }
}

/* AES-256-GCM through EVP the way crypt.c calls it (12-byte IV, AAD, then data, then tag). */
static void ref_gcm(const unsigned char *key, const unsigned char *iv, const unsigned char *aad,
                    size_t aad_len, const unsigned char *pt, size_t n, unsigned char *ct,
                    unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0;
    unsigned char fin[EVP_MAX_BLOCK_LENGTH];
    assert_non_null(ctx);
    assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL), 1);
    assert_int_equal(EVP_EncryptInit_ex(ctx, NULL, NULL, key, iv), 1);
    if (aad_len) {
        assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aad_len), 1);
    }
    if (n) {
        assert_int_equal(EVP_EncryptUpdate(ctx, ct, &len, pt, (int)n), 1);
        assert_int_equal(len, n);
    }
    assert_int_equal(EVP_EncryptFinal_ex(ctx, fin, &len), 1);
    assert_int_equal(len, 0);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag), 1);
    EVP_CIPHER_CTX_free(ctx);
}

/* McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", test cases 13, 14 and 16
 * (the 256-bit-key cases with a 96-bit IV); also NIST's gcmEncryptExtIV256 vectors. */
static void test_gcm_known_answers(void **state)
{
    (void)state;
    unsigned char key[32] = {0}, iv[12] = {0}, pt[64], aad[20], ct[64], tag[16], want[64];
    unsigned char wtag[16];
    /* 13: zero key and IV, nothing to encrypt */
    ref_gcm(key, iv, NULL, 0, NULL, 0, ct, tag);
    unhex("530f8afbc74536b9a963b4f1c4cb738b", wtag, 16);
    tu_assert_bytes_equal(tag, 16, wtag, 16);
    /* 14: zero key and IV, one zero block */
    memset(pt, 0, 16);
    ref_gcm(key, iv, NULL, 0, pt, 16, ct, tag);
    unhex("cea7403d4d606b6e074ec5d3baf39d18", want, 16);
    unhex("d0d1c8a799996bf0265b98b5d48ab919", wtag, 16);
    tu_assert_bytes_equal(ct, 16, want, 16);
    tu_assert_bytes_equal(tag, 16, wtag, 16);
    /* 16: 60 bytes of plaintext with 20 bytes of AAD */
    unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", key, 32);
    unhex("cafebabefacedbaddecaf888", iv, 12);
    unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
          pt, 60);
    unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad, 20);
    unhex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
          "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
          want, 60);
    unhex("76fc6ece0f4e1768cddf8853bb2d551b", wtag, 16);
    ref_gcm(key, iv, aad, 20, pt, 60, ct, tag);
    tu_assert_bytes_equal(ct, 60, want, 60);
    tu_assert_bytes_equal(tag, 16, wtag, 16);
}

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
/* HKDF-SHA256 through EVP_KDF (a different OpenSSL entry point from crypt.c's EVP_PKEY one). */
static void ref_hkdf(const unsigned char *ikm, size_t ikm_len, const unsigned char *salt,
                     size_t salt_len, const unsigned char *info, size_t info_len,
                     unsigned char *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    assert_non_null(kdf);
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
    assert_non_null(kctx);
    OSSL_PARAM params[5];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    params[4] = OSSL_PARAM_construct_end();
    assert_int_equal(EVP_KDF_derive(kctx, out, out_len, params), 1);
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}
#endif

/* The file key and nonce of crypt.h, rebuilt here byte by byte: st_crypt_seal must give exactly
 * AES-256-GCM(HKDF-SHA256(master, salt, "strata-file-key-v1" ‖ db_id ‖ le64(number) ‖ kind ‖
 * le32(key id)), nonce le64(counter) ‖ 0^4).  The file key and the block are also pinned as
 * constants computed with Python's hmac module and the `cryptography` package, so a change to the
 * derivation (an on-disk format change) cannot pass by changing both sides at once. */
static void test_file_key_known_answer(void **state)
{
    (void)state;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    /* RFC 5869 test case 1 checks the reference HKDF. */
    unsigned char ikm[22], salt13[13], info10[10], okm[42], want[64];
    memset(ikm, 0x0b, sizeof(ikm));
    for (int i = 0; i < 13; i++) {
        salt13[i] = (unsigned char)i;
    }
    for (int i = 0; i < 10; i++) {
        info10[i] = (unsigned char)(0xf0 + i);
    }
    ref_hkdf(ikm, sizeof(ikm), salt13, sizeof(salt13), info10, sizeof(info10), okm, sizeof(okm));
    unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
          want, 42);
    tu_assert_bytes_equal(okm, 42, want, 42);

    test_keys tk;
    memset(&tk, 0, sizeof(tk));
    tk.n = 1;
    tk.ids[0] = tk.current = 0x11223344;
    for (int i = 0; i < 32; i++) {
        tk.keys[0][i] = (unsigned char)i;
    }
    st_key_provider *kp = tk_provider(&tk);
    file_params p;
    p.key_id = 0x11223344;
    for (int i = 0; i < ST_DB_ID_LEN; i++) {
        p.db_id[i] = (unsigned char)(0xa0 + i);
    }
    p.number = 0x0102030405060708ull;
    p.kind = ST_CRYPT_FILE_TABLE;
    for (int i = 0; i < ST_CRYPT_SALT_LEN; i++) {
        p.salt[i] = (unsigned char)(0x40 + i);
    }
    static const char label[] = "strata-file-key-v1";
    unsigned char info[sizeof(label) - 1 + ST_DB_ID_LEN + 8 + 1 + 4];
    size_t n = sizeof(label) - 1;
    memcpy(info, label, n);
    memcpy(info + n, p.db_id, ST_DB_ID_LEN);
    n += ST_DB_ID_LEN;
    put_le(info + n, p.number, 8);
    n += 8;
    info[n++] = ST_CRYPT_FILE_TABLE;
    put_le(info + n, p.key_id, 4);
    n += 4;
    assert_int_equal(n, sizeof(info));
    unsigned char fkey[32];
    ref_hkdf(tk.keys[0], 32, p.salt, sizeof(p.salt), info, n, fkey, sizeof(fkey));
    unhex("9a600610c3a76fe1d71b916cbc97658bca60d9cc9c185c903fda32f65f6f317a", want, 32);
    tu_assert_bytes_equal(fkey, 32, want, 32);

    const uint64_t counter = 0x0a0b0c0d0e0f1011ull;
    unsigned char nonce[12] = {0};
    put_le(nonce, counter, 8);
    static const char msg[] = "The quick brown fox jumps over the lazy dog";
    static const char aad[] = "strata-kat";
    size_t mlen = sizeof(msg) - 1, alen = sizeof(aad) - 1;
    unsigned char ref_ct[64], ref_tag[16], ct[64], tag[16];
    ref_gcm(fkey, nonce, (const unsigned char *)aad, alen, (const unsigned char *)msg, mlen,
            ref_ct, ref_tag);
    unhex("5fcfe97635609711d2e3f39be1556a5734059c8b1ce7b2173754767c979321ae5683c3dc1cf73094f0686f",
          want, mlen);
    tu_assert_bytes_equal(ref_ct, mlen, want, mlen);
    unhex("e411a247e43836902ec4148f55e10bc2", want, 16);
    tu_assert_bytes_equal(ref_tag, 16, want, 16);

    st_crypt_file *f = make_file(kp, &p);
    tu_assert_ok(st_crypt_seal(f, counter, aad, alen, msg, mlen, ct, tag));
    tu_assert_bytes_equal(ct, mlen, ref_ct, mlen);
    tu_assert_bytes_equal(tag, 16, ref_tag, 16);
    unsigned char out[64];
    tu_assert_ok(st_crypt_open(f, counter, aad, alen, ref_ct, mlen, ref_tag, out));
    tu_assert_bytes_equal(out, mlen, msg, mlen);
    st_crypt_wipe(fkey, sizeof(fkey));
    st_crypt_file_destroy(f);
    st_key_provider_unref(kp);
#else
    skip();
#endif
}

/* ---- threads --------------------------------------------------------------------------------- */

#define MT_THREADS 4

typedef struct mt_arg {
    const st_crypt_file *f;
    int id;
    int iters;
    int failures;
    char where[128];
} mt_arg;

static void *mt_worker(void *p)
{
    mt_arg *a = p;
    st_random r;
    st_random_seed(&r, 1000 + (uint64_t)a->id);
    unsigned char pt[4096], ct[4096], out[4096], tag[ST_CRYPT_TAG_LEN], aad[8];
    for (int i = 0; i < a->iters && a->failures == 0; i++) {
        size_t n = (size_t)st_random_uniform(&r, sizeof(pt) + 1);
        uint64_t counter = (uint64_t)a->id << 32 | (uint64_t)i;
        st_random_bytes(&r, pt, n);
        memcpy(aad, &counter, sizeof(aad));
        if (st_crypt_seal(a->f, counter, aad, sizeof(aad), pt, n, ct, tag) != 0) {
            snprintf(a->where, sizeof(a->where), "seal %d: %s", i, st_errmsg());
            a->failures++;
        } else if (st_crypt_open(a->f, counter, aad, sizeof(aad), ct, n, tag, out) != 0 ||
                   memcmp(out, pt, n) != 0) {
            snprintf(a->where, sizeof(a->where), "open %d (n %zu): %s", i, n, st_errmsg());
            a->failures++;
        } else if (i % 8 == 0 &&
                   st_crypt_open(a->f, counter + 1, aad, sizeof(aad), ct, n, tag, out) !=
                       STRATA_E_AUTH) {
            snprintf(a->where, sizeof(a->where), "wrong counter opened at %d", i);
            a->failures++;
        }
    }
    return NULL;
}

static void test_threads_share_one_file(void **state)
{
    (void)state;
    test_keys tk;
    st_key_provider *kp = std_provider(&tk);
    file_params p = base_params();
    st_crypt_file *f = make_file(kp, &p);
    pthread_t th[MT_THREADS];
    mt_arg args[MT_THREADS];
    int iters = (int)(2000 * tu_scale()) + 10;
    for (int i = 0; i < MT_THREADS; i++) {
        memset(&args[i], 0, sizeof(args[i]));
        args[i].f = f;
        args[i].id = i;
        args[i].iters = iters;
        assert_int_equal(pthread_create(&th[i], NULL, mt_worker, &args[i]), 0);
    }
    for (int i = 0; i < MT_THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    for (int i = 0; i < MT_THREADS; i++) {
        if (args[i].failures) {
            fail_msg("thread %d: %s", i, args[i].where);
        }
    }
    /* Data sealed by a worker (now exited) opens on this thread. */
    unsigned char ct[32], out[32], tag[ST_CRYPT_TAG_LEN];
    tu_assert_ok(st_crypt_seal(f, 1, NULL, 0, "0123456789abcdef0123456789abcdef", 32, ct, tag));
    tu_assert_ok(st_crypt_open(f, 1, NULL, 0, ct, 32, tag, out));
    st_crypt_file_destroy(f);
    st_key_provider_unref(kp);
}

/* ---- key providers --------------------------------------------------------------------------- */

static void test_provider_refcount(void **state)
{
    (void)state;
    test_keys tk;
    st_key_provider *kp = std_provider(&tk);
    st_key_provider_ref(kp);
    st_key_provider_ref(kp);
    st_key_provider_unref(kp);
    st_key_provider_unref(kp);
    assert_int_equal(tk.destroyed, 0);
    /* A file key holds no reference: it keeps working after the provider is gone. */
    file_params p = base_params();
    st_crypt_file *f = make_file(kp, &p);
    uint32_t cur = 0;
    tu_assert_ok(st_key_provider_current(kp, &cur));
    assert_int_equal(cur, 1);
    st_key_provider_unref(kp);
    assert_int_equal(tk.destroyed, 1);
    unsigned char ct[4], tag[ST_CRYPT_TAG_LEN];
    tu_assert_ok(st_crypt_seal(f, 0, NULL, 0, "abcd", 4, ct, tag));
    st_crypt_file_destroy(f);
    assert_int_equal(tk.destroyed, 1);
    st_key_provider_unref(NULL);
    st_key_provider_ref(NULL);

    /* Many references: destroyed only when the count returns to zero. */
    memset(&tk, 0, sizeof(tk));
    tk_add(&tk, 1, 1);
    kp = tk_provider(&tk);
    for (int i = 0; i < 1000; i++) {
        st_key_provider_ref(kp);
    }
    for (int i = 0; i < 1000; i++) {
        st_key_provider_unref(kp);
    }
    assert_int_equal(tk.destroyed, 0);
    st_key_provider_unref(kp);
    assert_int_equal(tk.destroyed, 1);

    /* No destructor is fine. */
    tu_assert_ok(st_key_provider_create(&tk, tk_get, tk_current, NULL, &kp));
    st_key_provider_unref(kp);
    assert_int_equal(tk.destroyed, 1);
}

typedef struct rc_arg {
    st_key_provider *kp;
} rc_arg;

static void *rc_worker(void *p)
{
    st_key_provider *kp = ((rc_arg *)p)->kp;
    for (int i = 0; i < 10000; i++) {
        st_key_provider_ref(kp);
        st_key_provider_unref(kp);
    }
    st_key_provider_unref(kp); /* the reference the main thread took for this worker */
    return NULL;
}

static void test_provider_refcount_threads(void **state)
{
    (void)state;
    test_keys tk;
    memset(&tk, 0, sizeof(tk));
    tk_add(&tk, 1, 1);
    st_key_provider *kp = tk_provider(&tk);
    pthread_t th[MT_THREADS];
    rc_arg a = {kp};
    for (int i = 0; i < MT_THREADS; i++) {
        st_key_provider_ref(kp);
        assert_int_equal(pthread_create(&th[i], NULL, rc_worker, &a), 0);
    }
    st_key_provider_unref(kp); /* the creator's reference: the last worker destroys */
    for (int i = 0; i < MT_THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    assert_int_equal(tk.destroyed, 1);
}

/* No 4-byte run of key (raw) and no 8-digit run of its hex (either case) in msg. */
static void assert_no_key_bytes(const char *msg, const unsigned char *key)
{
    static const char *digits[2] = {"0123456789abcdef", "0123456789ABCDEF"};
    char hex[2 * ST_CRYPT_KEY_LEN + 1];
    for (int c = 0; c < 2; c++) {
        for (int i = 0; i < ST_CRYPT_KEY_LEN; i++) {
            hex[2 * i] = digits[c][key[i] >> 4];
            hex[2 * i + 1] = digits[c][key[i] & 15];
        }
        hex[2 * ST_CRYPT_KEY_LEN] = '\0';
        for (int i = 0; i + 8 <= 2 * ST_CRYPT_KEY_LEN; i++) {
            if (contains(msg, strlen(msg), hex + i, 8)) {
                fail_msg("message \"%s\" holds key hex", msg);
            }
        }
    }
    for (int i = 0; i + 4 <= ST_CRYPT_KEY_LEN; i++) {
        if (contains(msg, strlen(msg), key + i, 4)) {
            fail_msg("message \"%s\" holds key bytes", msg);
        }
    }
}

static void test_provider_get_failure(void **state)
{
    (void)state;
    test_keys tk;
    st_key_provider *kp = std_provider(&tk);
    tk.scribble = 1;
    unsigned char key[ST_CRYPT_KEY_LEN], zero[ST_CRYPT_KEY_LEN] = {0};
    tu_assert_ok(st_key_provider_get(kp, 3, key));
    tu_assert_bytes_equal(key, sizeof(key), tk.keys[2], sizeof(key));
    assert_int_equal(st_key_provider_get(kp, 4000000007u, key), STRATA_E_AUTH);
    assert_non_null(strstr(st_errmsg(), "4000000007"));
    tu_assert_bytes_equal(key, sizeof(key), zero, sizeof(zero)); /* the scribble was wiped */
    for (int i = 0; i < tk.n; i++) {
        assert_no_key_bytes(st_errmsg(), tk.keys[i]);
    }

    /* The file key derivation reports the same and leaves *out alone. */
    file_params p = base_params();
    p.key_id = 9;
    st_crypt_file *f = (st_crypt_file *)&tk; /* sentinel */
    assert_int_equal(st_crypt_file_create(kp, p.key_id, p.db_id, p.number, p.kind, p.salt, &f),
                     STRATA_E_AUTH);
    assert_ptr_equal(f, &tk);
    assert_non_null(strstr(st_errmsg(), "no key with id 9"));
    for (int i = 0; i < tk.n; i++) {
        assert_no_key_bytes(st_errmsg(), tk.keys[i]);
    }

    /* current_key_id failing */
    tk.fail_current = 1;
    uint32_t cur = 0;
    assert_int_equal(st_key_provider_current(kp, &cur), STRATA_E_AUTH);
    st_key_provider_unref(kp);
    assert_int_equal(tk.destroyed, 1);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    test_keys tk;
    memset(&tk, 0, sizeof(tk));
    tk_add(&tk, 1, 1);
    st_key_provider *kp = NULL;
    assert_int_equal(st_key_provider_create(&tk, NULL, tk_current, tk_destroy, &kp),
                     STRATA_E_INVALID);
    assert_int_equal(st_key_provider_create(&tk, tk_get, NULL, tk_destroy, &kp),
                     STRATA_E_INVALID);
    assert_int_equal(st_key_provider_create(&tk, tk_get, tk_current, tk_destroy, NULL),
                     STRATA_E_INVALID);
    assert_null(kp);
    assert_int_equal(tk.destroyed, 0);

    /* Unknown file kinds are refused (the kind is bound as one byte: 0x101 would alias 1). */
    kp = tk_provider(&tk);
    file_params p = base_params();
    st_crypt_file *f = NULL;
    static const int bad_kinds[] = {0, 5, -1, 0x101};
    for (size_t i = 0; i < ST_ARRAY_LEN(bad_kinds); i++) {
        assert_int_equal(st_crypt_file_create(kp, 1, p.db_id, p.number, bad_kinds[i], p.salt, &f),
                         STRATA_E_INVALID);
        assert_null(f);
    }
    st_key_provider_unref(kp);
}

static void test_random_and_wipe(void **state)
{
    (void)state;
    unsigned char a[32], b[32], zero[32] = {0};
    tu_assert_ok(st_crypt_random(a, sizeof(a)));
    tu_assert_ok(st_crypt_random(b, sizeof(b)));
    assert_true(memcmp(a, b, sizeof(a)) != 0);
    tu_assert_ok(st_crypt_random(NULL, 0));
    st_crypt_wipe(a, sizeof(a));
    tu_assert_bytes_equal(a, sizeof(a), zero, sizeof(zero));
    st_crypt_wipe(NULL, 5);
}

/* ---- out of memory --------------------------------------------------------------------------- */

static void test_out_of_memory(void **state)
{
    (void)state;
    test_keys tk;
    memset(&tk, 0, sizeof(tk));
    tk_add(&tk, 1, 1);
    int done = 0;
    for (long i = 0; !done && i < 100; i++) {
        st_key_provider *kp = NULL;
        st_crypt_file *f = NULL;
        file_params p = base_params();
        st_alloc_fail_after(i, 0);
        int rc = st_key_provider_create(&tk, tk_get, tk_current, tk_destroy, &kp);
        if (rc == 0) {
            rc = st_crypt_file_create(kp, 1, p.db_id, p.number, p.kind, p.salt, &f);
        }
        st_alloc_fail_after(-1, 0);
        assert_true(rc == 0 || rc == STRATA_E_NOMEM);
        if (rc == 0) {
            unsigned char ct[8], out[8], tag[ST_CRYPT_TAG_LEN];
            tu_assert_ok(st_crypt_seal(f, 0, NULL, 0, "12345678", 8, ct, tag));
            tu_assert_ok(st_crypt_open(f, 0, NULL, 0, ct, 8, tag, out));
            done = 1;
        } else {
            assert_null(f);
        }
        int made = kp != NULL;
        st_crypt_file_destroy(f);
        st_key_provider_unref(kp);
        assert_int_equal(tk.destroyed, made);
        tk.destroyed = 0;
    }
    assert_true(done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_sizes),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_ciphertext_bit_flips),
        cmocka_unit_test(test_tag_bit_flips),
        cmocka_unit_test(test_wrong_counter),
        cmocka_unit_test(test_wrong_aad),
        cmocka_unit_test(test_wrong_file_key),
        cmocka_unit_test(test_no_plaintext_in_ciphertext),
        cmocka_unit_test(test_two_files_differ),
        cmocka_unit_test(test_gcm_known_answers),
        cmocka_unit_test(test_file_key_known_answer),
        cmocka_unit_test(test_threads_share_one_file),
        cmocka_unit_test(test_provider_refcount),
        cmocka_unit_test(test_provider_refcount_threads),
        cmocka_unit_test(test_provider_get_failure),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_random_and_wipe),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
