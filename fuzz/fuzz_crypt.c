/* fuzz_crypt.c — libFuzzer target for AES-256-GCM file encryption (codec/crypt.h): open must never
 * crash and must accept exactly what seal produced.  Input (missing bytes read as 0):
 *   mode (1) | master key (32) | salt (32) | db id (16) | file number (8) | kind (1) |
 *   key id (4) | counter (8) | aad length (1, ≤ 64) + aad | data length (2, ≤ 4096) + data |
 *   tag (16) | mutations (3 bytes each, at most 64)
 * The provider returns the input's master key for every key id, so a changed key id differs from
 * the original only inside the HKDF derivation.  Buffers handed to crypt are exact-size heap
 * copies, so an over-read or over-write is an ASan finding.
 *   mode bit 0 = 0, "tamper": seal data, then apply the mutations — each (op, pos, x) XORs x into
 *     one byte of the ciphertext, tag, counter, aad, salt, db id, file number, key id or master
 *     key, rotates the kind, or shortens/lengthens the aad or the ciphertext by one byte — and
 *     open with the result: it must succeed with the original data when the mutations cancelled
 *     out, and fail with AUTH whenever anything differs.
 *   mode bit 0 = 1, "forge": data is a ciphertext and the tag is the input's.  GCM is counter mode,
 *     so sealing the ciphertext yields the plaintext it decrypts to, and sealing that yields the
 *     only tag that authenticates it; open must succeed (with that plaintext) exactly when the
 *     input's tag is that one, and fail with AUTH otherwise.
 *   mode bit 1: open in place (out == in). */
#include <string.h>

#include "codec/crypt.h"
#include "fuzz_common.h"
#include "util/alloc.h"

#define MAX_AAD 64
#define MAX_DATA 4096

typedef struct params {
    unsigned char master[ST_CRYPT_KEY_LEN];
    unsigned char salt[ST_CRYPT_SALT_LEN];
    unsigned char db_id[ST_DB_ID_LEN];
    uint64_t number;
    int kind;
    uint32_t key_id;
} params;

/* Everything open sees. */
typedef struct message {
    params p;
    uint64_t counter;
    unsigned char aad[MAX_AAD + 1];
    size_t aad_len;
    unsigned char ct[MAX_DATA + 1];
    size_t n;
    unsigned char tag[ST_CRYPT_TAG_LEN];
} message;

static int get_key(void *state, uint32_t key_id, unsigned char *key)
{
    (void)key_id;
    memcpy(key, state, ST_CRYPT_KEY_LEN);
    return 0;
}

static int current_key(void *state, uint32_t *key_id)
{
    (void)state;
    *key_id = 1;
    return 0;
}

static void fill(fz_cursor *c, void *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ((unsigned char *)out)[i] = fz_u8(c);
    }
}

static uint64_t take_u64(fz_cursor *c, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) {
        v |= (uint64_t)fz_u8(c) << (8 * i);
    }
    return v;
}

static st_crypt_file *make_file(const params *p, st_key_provider **kp)
{
    st_crypt_file *f = NULL;
    FZ_CHECK(st_key_provider_create((void *)p->master, get_key, current_key, NULL, kp) == 0);
    FZ_CHECK(st_crypt_file_create(*kp, p->key_id, p->db_id, p->number, p->kind, p->salt, &f) == 0);
    return f;
}

static void *heap_copy(const void *p, size_t n)
{
    void *q = st_malloc(n ? n : 1);
    FZ_CHECK(q != NULL);
    if (n) {
        memcpy(q, p, n);
    }
    return q;
}

/* st_crypt_open of m on exact-size heap copies; the plaintext goes to out (n bytes). */
static int open_message(const message *m, int in_place, unsigned char *out)
{
    st_key_provider *kp = NULL;
    st_crypt_file *f = make_file(&m->p, &kp);
    unsigned char *aad = heap_copy(m->aad, m->aad_len);
    unsigned char *ct = heap_copy(m->ct, m->n);
    unsigned char *tag = heap_copy(m->tag, ST_CRYPT_TAG_LEN);
    unsigned char *dst = in_place ? ct : st_malloc(m->n ? m->n : 1);
    FZ_CHECK(dst != NULL);
    int rc = st_crypt_open(f, m->counter, aad, m->aad_len, ct, m->n, tag, dst);
    FZ_CHECK(rc == 0 || rc == STRATA_E_AUTH);
    if (rc == 0 && m->n) {
        memcpy(out, dst, m->n);
    }
    if (!in_place) {
        st_free(dst);
    }
    st_free(tag);
    st_free(ct);
    st_free(aad);
    st_crypt_file_destroy(f);
    st_key_provider_unref(kp);
    return rc;
}

static void mutate(message *m, uint8_t op, uint8_t pos, uint8_t x)
{
    switch (op % 12) {
    case 0:
        if (m->n) {
            m->ct[pos % m->n] ^= x;
        }
        break;
    case 1:
        m->tag[pos % ST_CRYPT_TAG_LEN] ^= x;
        break;
    case 2:
        m->counter ^= (uint64_t)x << (8 * (pos % 8));
        break;
    case 3:
        if (m->aad_len) {
            m->aad[pos % m->aad_len] ^= x;
        }
        break;
    case 4:
        if ((x & 1) && m->aad_len < MAX_AAD) {
            m->aad[m->aad_len++] = pos;
        } else if (!(x & 1) && m->aad_len) {
            m->aad_len--;
        }
        break;
    case 5:
        m->p.salt[pos % ST_CRYPT_SALT_LEN] ^= x;
        break;
    case 6:
        m->p.db_id[pos % ST_DB_ID_LEN] ^= x;
        break;
    case 7:
        m->p.number ^= (uint64_t)x << (8 * (pos % 8));
        break;
    case 8:
        m->p.kind = 1 + (m->p.kind - 1 + x) % 3;
        break;
    case 9:
        m->p.key_id ^= (uint32_t)x << (8 * (pos % 4));
        break;
    case 10:
        m->p.master[pos % ST_CRYPT_KEY_LEN] ^= x;
        break;
    default:
        if ((x & 1) && m->n < MAX_DATA) {
            m->ct[m->n++] = pos;
        } else if (!(x & 1) && m->n) {
            m->n--;
        }
        break;
    }
}

static int same_message(const message *a, const message *b)
{
    return memcmp(&a->p.master, &b->p.master, sizeof(a->p.master)) == 0 &&
           memcmp(a->p.salt, b->p.salt, sizeof(a->p.salt)) == 0 &&
           memcmp(a->p.db_id, b->p.db_id, sizeof(a->p.db_id)) == 0 &&
           a->p.number == b->p.number && a->p.kind == b->p.kind && a->p.key_id == b->p.key_id &&
           a->counter == b->counter && a->aad_len == b->aad_len &&
           memcmp(a->aad, b->aad, a->aad_len) == 0 && a->n == b->n &&
           memcmp(a->ct, b->ct, a->n) == 0 && memcmp(a->tag, b->tag, sizeof(a->tag)) == 0;
}

/* Seals data (n bytes) under m's file, counter and aad into ct and tag. */
static void seal(const message *m, const unsigned char *data, size_t n, unsigned char *ct,
                 unsigned char *tag)
{
    st_key_provider *kp = NULL;
    st_crypt_file *f = make_file(&m->p, &kp);
    unsigned char *in = heap_copy(data, n);
    unsigned char *out = st_malloc(n ? n : 1);
    FZ_CHECK(out != NULL);
    FZ_CHECK(st_crypt_seal(f, m->counter, m->aad, m->aad_len, in, n, out, tag) == 0);
    if (n) {
        memcpy(ct, out, n);
    }
    st_free(out);
    st_free(in);
    st_crypt_file_destroy(f);
    st_key_provider_unref(kp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_cursor c = {data, size};
    static message m, orig;
    static unsigned char pt[MAX_DATA + 1], out[MAX_DATA + 1], tmp[MAX_DATA + 1];
    memset(&m, 0, sizeof(m));
    uint8_t mode = fz_u8(&c);
    int in_place = (mode >> 1) & 1;
    fill(&c, m.p.master, sizeof(m.p.master));
    fill(&c, m.p.salt, sizeof(m.p.salt));
    fill(&c, m.p.db_id, sizeof(m.p.db_id));
    m.p.number = take_u64(&c, 8);
    m.p.kind = 1 + fz_u8(&c) % 3;
    m.p.key_id = (uint32_t)take_u64(&c, 4);
    m.counter = take_u64(&c, 8);
    const uint8_t *p;
    m.aad_len = fz_bytes(&c, MAX_AAD, &p);
    memcpy(m.aad, p, m.aad_len);
    size_t n = (size_t)take_u64(&c, 2) % (MAX_DATA + 1);
    n = n < c.n ? n : c.n;
    memcpy(pt, c.p, n);
    c.p += n;
    c.n -= n;
    fill(&c, m.tag, sizeof(m.tag));

    if ((mode & 1) == 0) { /* tamper */
        m.n = n;
        seal(&m, pt, n, m.ct, m.tag);
        orig = m;
        FZ_CHECK(open_message(&m, in_place, out) == 0);
        FZ_CHECK(n == 0 || memcmp(out, pt, n) == 0);
        for (int i = 0; i < 64 && c.n >= 3; i++) {
            mutate(&m, c.p[0], c.p[1], c.p[2]);
            c.p += 3;
            c.n -= 3;
        }
        int rc = open_message(&m, in_place, out);
        if (same_message(&m, &orig)) {
            FZ_CHECK(rc == 0);
            FZ_CHECK(n == 0 || memcmp(out, pt, n) == 0);
        } else {
            FZ_CHECK(rc == STRATA_E_AUTH);
        }
    } else { /* forge */
        m.n = n;
        memcpy(m.ct, pt, n);
        unsigned char tag_ignored[ST_CRYPT_TAG_LEN], real_tag[ST_CRYPT_TAG_LEN];
        seal(&m, m.ct, n, tmp, tag_ignored); /* tmp: what the ciphertext decrypts to */
        seal(&m, tmp, n, out, real_tag);
        FZ_CHECK(n == 0 || memcmp(out, m.ct, n) == 0); /* counter mode round trip */
        int authentic = memcmp(real_tag, m.tag, sizeof(real_tag)) == 0;
        int rc = open_message(&m, in_place, out);
        FZ_CHECK(rc == (authentic ? 0 : STRATA_E_AUTH));
        if (authentic) {
            FZ_CHECK(n == 0 || memcmp(out, tmp, n) == 0);
        }
    }
    return 0;
}
