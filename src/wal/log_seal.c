/* log_seal.c — header records and sealed records of protected logs (log_seal.h; layout in
 * docs/FORMAT.md "Protected logs"). */
#include "wal/log_seal.h"

#include <inttypes.h>
#include <string.h>

#include "strata.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/status.h"
#include "wal/log_parity.h"

#define HDR_MAGIC "STRATALH"
#define HDR_VERSION 1
#define AAD_LEN (4 + ST_DB_ID_LEN + 8 + 1 + 8 + 4)

enum { H_MAGIC = 0, H_VERSION = 8, H_KIND = 12, H_FLAGS = 13, H_KEY_ID = 16, H_SALT = 20,
       H_DB_ID = 52, H_ECC_KIND = 68, H_ECC_K = 69, H_ECC_M = 70 };
enum { F_ENCRYPTED = 1, F_PARITY = 2 };

const st_ecc st_log_header_ecc = {ST_ECC_RS, 4, 2};

struct st_log_seal {
    st_crypt_file *crypt;
    int kind;
    uint64_t counter; /* last counter sealed or opened */
};

static void record_aad(const st_log_seal *s, uint64_t counter, unsigned char *aad)
{
    memcpy(aad, "STL1", 4);
    memcpy(aad + 4, st_crypt_file_db_id(s->crypt), ST_DB_ID_LEN);
    char *p = (char *)aad + 4 + ST_DB_ID_LEN;
    st_encode_fixed64(p, st_crypt_file_number(s->crypt));
    p[8] = (char)s->kind;
    st_encode_fixed64(p + 9, counter);
    st_encode_fixed32(p + 17, st_crypt_file_key_id(s->crypt));
}

static st_log_seal *seal_alloc(int kind)
{
    st_log_seal *s = st_calloc(1, sizeof(*s));
    if (s) {
        s->kind = kind;
    }
    return s;
}

/* Sets up encryption for a new log: a fresh salt and the provider's current key, written into
 * the header h. */
static int seal_new(st_integrity *in, uint64_t number, int kind, unsigned char *h,
                    st_log_seal **out)
{
    uint32_t key_id = 0;
    st_log_seal *s = seal_alloc(kind);
    int rc = s ? st_key_provider_current(in->kp, &key_id) : st_err(STRATA_E_NOMEM, "out of memory");
    rc = rc ? rc : st_crypt_random(h + H_SALT, ST_CRYPT_SALT_LEN);
    rc = rc ? rc : st_crypt_file_create(in->kp, key_id, in->db_id, number, kind, h + H_SALT,
                                        &s->crypt);
    rc = rc ? rc : st_crypt_file_exclusive(s->crypt); /* one writer */
    if (rc) {
        st_log_seal_destroy(s);
        return rc;
    }
    h[H_FLAGS] |= F_ENCRYPTED;
    st_encode_fixed32((char *)h + H_KEY_ID, key_id);
    *out = s;
    return 0;
}

int st_log_seal_create(st_integrity *in, uint64_t number, int kind, st_buf *header,
                       st_log_seal **seal, st_ecc *ecc)
{
    unsigned char h[ST_LOG_SEAL_HEADER_LEN] = {0};
    *seal = NULL;
    ecc->kind = ST_ECC_NONE;
    ecc->k = ecc->m = 0;
    st_buf_clear(header);
    int parity = in && in->ecc.kind != ST_ECC_NONE;
    if (!in || (!in->encrypt && !parity)) {
        return 0;
    }
    int rc = parity ? st_ecc_check(&in->ecc) : 0;
    if (!rc && parity) {
        h[H_FLAGS] |= F_PARITY;
        h[H_ECC_KIND] = (unsigned char)in->ecc.kind;
        h[H_ECC_K] = (unsigned char)in->ecc.k;
        h[H_ECC_M] = (unsigned char)(in->ecc.kind == ST_ECC_XOR ? 1 : in->ecc.m);
    }
    rc = rc || !in->encrypt ? rc : seal_new(in, number, kind, h, seal);
    if (!rc) {
        memcpy(h + H_MAGIC, HDR_MAGIC, 8);
        st_encode_fixed32((char *)h + H_VERSION, HDR_VERSION);
        h[H_KIND] = (unsigned char)kind;
        memcpy(h + H_DB_ID, in->db_id, ST_DB_ID_LEN);
        rc = st_buf_assign(header, h, sizeof(h))
                 ? st_err(STRATA_E_NOMEM, "out of memory writing a log header")
                 : 0;
    }
    rc = rc || !parity ? rc : st_log_parity_append(&st_log_header_ecc, header);
    if (rc) {
        st_log_seal_destroy(*seal);
        *seal = NULL;
        return rc;
    }
    if (parity) {
        ecc->kind = h[H_ECC_KIND];
        ecc->k = h[H_ECC_K];
        ecc->m = h[H_ECC_M];
    }
    return 0;
}

int st_log_seal_record(st_log_seal *s, st_slice record, st_buf *out)
{
    unsigned char aad[AAD_LEN];
    uint64_t counter = ++s->counter;
    st_buf_clear(out);
    if (st_buf_reserve(out, record.size + ST_LOG_SEAL_OVERHEAD)) {
        return st_err(STRATA_E_NOMEM, "out of memory sealing a log record");
    }
    st_encode_fixed64(out->data, counter);
    record_aad(s, counter, aad);
    int rc = st_crypt_seal(s->crypt, counter, aad, sizeof(aad), record.data, record.size,
                           out->data + 8, (unsigned char *)out->data + 8 + record.size);
    if (rc == 0) {
        out->len = record.size + ST_LOG_SEAL_OVERHEAD;
    }
    return rc;
}

size_t st_log_seal_protected_header_len(void)
{
    return st_log_parity_stored_len(&st_log_header_ecc, ST_LOG_SEAL_HEADER_LEN);
}

int st_log_seal_find_header(st_slice record, st_buf *fix, st_slice *header, int *healed)
{
    size_t plen = st_log_seal_protected_header_len(), n;
    *healed = 0;
    *header = st_slice_make(record.data, ST_LOG_SEAL_HEADER_LEN);
    if (record.size != ST_LOG_SEAL_HEADER_LEN && record.size != plen) {
        return 0;
    }
    int magic = memcmp(record.data, HDR_MAGIC, 8) == 0;
    if (record.size == ST_LOG_SEAL_HEADER_LEN ||
        st_log_parity_intact(&st_log_header_ecc, record.data, record.size, &n)) {
        int flagged = (record.data[H_FLAGS] & F_PARITY) != 0;
        if (magic && flagged != (record.size == plen)) {
            return st_err(STRATA_E_CORRUPTION,
                          "malformed log header (its parity flag and length disagree)");
        }
        return magic;
    }
    /* Header-sized but its CRC fails: a header if it heals; beyond repair if its magic says it
     * is one; otherwise an ordinary record of that length. */
    if (st_buf_assign(fix, record.data, record.size)) {
        return st_err(STRATA_E_NOMEM, "out of memory healing a log header");
    }
    int rc = st_log_parity_heal(&st_log_header_ecc, fix->data, fix->len, &n);
    if (rc == 0 && memcmp(fix->data, HDR_MAGIC, 8) == 0 && (fix->data[H_FLAGS] & F_PARITY)) {
        *healed = 1;
        *header = st_slice_make(fix->data, ST_LOG_SEAL_HEADER_LEN);
        return 1;
    }
    if (rc == STRATA_E_NOMEM) {
        return rc;
    }
    return magic ? st_err(STRATA_E_CORRUPTION, "log header damaged beyond its parity") : 0;
}

/* The parity a header names (flags bit 1), or CORRUPTION. */
static int header_ecc(const unsigned char *h, st_ecc *ecc)
{
    ecc->kind = h[H_ECC_KIND];
    ecc->k = h[H_ECC_K];
    ecc->m = h[H_ECC_M];
    if (!(h[H_FLAGS] & F_PARITY)) {
        return ecc->kind == ST_ECC_NONE && ecc->k == 0 && ecc->m == 0 ? 0 : STRATA_E_CORRUPTION;
    }
    if (ecc->kind == ST_ECC_NONE || (ecc->kind == ST_ECC_XOR && ecc->m != 1)) {
        return STRATA_E_CORRUPTION;
    }
    return st_ecc_check(ecc) ? STRATA_E_CORRUPTION : 0;
}

int st_log_seal_open(st_integrity *in, uint64_t number, int kind, st_slice header,
                     const char *fname, st_log_seal **seal, st_ecc *ecc)
{
    const unsigned char *h = (const unsigned char *)header.data;
    *seal = NULL;
    if (header.size != ST_LOG_SEAL_HEADER_LEN || memcmp(h, HDR_MAGIC, 8) != 0 ||
        st_decode_fixed32(header.data + H_VERSION) != HDR_VERSION ||
        (h[H_KIND] != ST_CRYPT_FILE_WAL && h[H_KIND] != ST_CRYPT_FILE_MANIFEST) ||
        (kind != 0 && h[H_KIND] != kind) ||
        h[H_FLAGS] == 0 || (h[H_FLAGS] & ~(F_ENCRYPTED | F_PARITY)) != 0 ||
        header_ecc(h, ecc) != 0) {
        ecc->kind = ST_ECC_NONE;
        return st_err(STRATA_E_CORRUPTION, "%s: malformed log header", fname);
    }
    if (!(h[H_FLAGS] & F_ENCRYPTED)) {
        if (st_integrity_must_encrypt(in, number)) {
            return st_err(STRATA_E_AUTH, "%s: authentication failed: unencrypted log in an "
                          "encrypted database (downgrade refused)", fname);
        }
        return 0;
    }
    uint32_t key_id = st_decode_fixed32(header.data + H_KEY_ID);
    if (!in || !in->kp) {
        return st_err(STRATA_E_AUTH, "%s: the log is encrypted (key id %" PRIu32 ") but no key "
                      "provider was given", fname, key_id);
    }
    st_log_seal *s = seal_alloc(kind);
    int rc = s ? st_crypt_file_create(in->kp, key_id, in->db_id, number, kind, h + H_SALT,
                                      &s->crypt)
               : st_err(STRATA_E_NOMEM, "out of memory");
    rc = rc ? rc : st_crypt_file_exclusive(s->crypt); /* one reader */
    if (rc) {
        st_log_seal_destroy(s);
        return st_err_context(rc, "%s", fname);
    }
    *seal = s;
    return 0;
}

int st_log_seal_unseal(st_log_seal *s, st_slice record, int strict, const char *fname,
                       uint64_t offset, st_buf *out)
{
    if (record.size < ST_LOG_SEAL_OVERHEAD) {
        return st_err(STRATA_E_AUTH, "%s: authentication failed at offset %" PRIu64 ": record "
                      "too short to be sealed (unencrypted record in an encrypted log?)", fname,
                      offset);
    }
    uint64_t counter = st_decode_fixed64(record.data);
    if (strict ? counter != s->counter + 1 : counter <= s->counter) {
        return st_err(STRATA_E_AUTH, "%s: authentication failed at offset %" PRIu64 ": record "
                      "%" PRIu64 " follows record %" PRIu64 " (records removed, moved or "
                      "replayed)", fname, offset, counter, s->counter);
    }
    size_t n = record.size - ST_LOG_SEAL_OVERHEAD;
    unsigned char aad[AAD_LEN];
    record_aad(s, counter, aad);
    st_buf_clear(out);
    if (st_buf_reserve(out, n + 1)) {
        return st_err(STRATA_E_NOMEM, "out of memory opening a log record");
    }
    int rc = st_crypt_open(s->crypt, counter, aad, sizeof(aad), record.data + 8, n,
                           (const unsigned char *)record.data + 8 + n, out->data);
    if (rc == STRATA_E_AUTH) {
        return st_err(rc, "%s: authentication failed at offset %" PRIu64 ": wrong key or "
                      "tampered data", fname, offset);
    }
    if (rc == 0) {
        out->len = n;
        s->counter = counter;
    }
    return rc;
}

void st_log_seal_destroy(st_log_seal *s)
{
    if (s) {
        st_crypt_file_destroy(s->crypt);
        st_free(s);
    }
}
