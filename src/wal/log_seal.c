/* log_seal.c — sealed records of encrypted logs (log_seal.h). */
#include "wal/log_seal.h"

#include <inttypes.h>
#include <string.h>

#include "strata.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/status.h"

#define HDR_MAGIC "STRATALH"
#define HDR_VERSION 1
#define AAD_LEN (4 + ST_DB_ID_LEN + 8 + 1 + 8 + 4)

enum { H_MAGIC = 0, H_VERSION = 8, H_KIND = 12, H_FLAGS = 13, H_KEY_ID = 16, H_SALT = 20,
       H_DB_ID = 52 };

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

int st_log_seal_create(st_integrity *in, uint64_t number, int kind, st_buf *header,
                       st_log_seal **out)
{
    unsigned char h[ST_LOG_SEAL_HEADER_LEN] = {0};
    uint32_t key_id = 0;
    st_log_seal *s = seal_alloc(kind);
    int rc = s ? st_key_provider_current(in->kp, &key_id) : st_err(STRATA_E_NOMEM, "out of memory");
    rc = rc ? rc : st_crypt_random(h + H_SALT, ST_CRYPT_SALT_LEN);
    rc = rc ? rc : st_crypt_file_create(in->kp, key_id, in->db_id, number, kind, h + H_SALT,
                                        &s->crypt);
    rc = rc ? rc : st_crypt_file_exclusive(s->crypt); /* one writer */
    if (!rc) {
        memcpy(h + H_MAGIC, HDR_MAGIC, 8);
        st_encode_fixed32((char *)h + H_VERSION, HDR_VERSION);
        h[H_KIND] = (unsigned char)kind;
        h[H_FLAGS] = 1; /* encrypted */
        st_encode_fixed32((char *)h + H_KEY_ID, key_id);
        memcpy(h + H_DB_ID, in->db_id, ST_DB_ID_LEN);
        rc = st_buf_assign(header, h, sizeof(h));
    }
    if (rc) {
        st_log_seal_destroy(s);
        return rc;
    }
    *out = s;
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

int st_log_seal_is_header(st_slice record)
{
    return record.size == ST_LOG_SEAL_HEADER_LEN && memcmp(record.data, HDR_MAGIC, 8) == 0;
}

int st_log_seal_open(st_integrity *in, uint64_t number, int kind, st_slice header,
                     const char *fname, st_log_seal **out)
{
    const unsigned char *h = (const unsigned char *)header.data;
    if (!st_log_seal_is_header(header) ||
        st_decode_fixed32(header.data + H_VERSION) != HDR_VERSION || h[H_KIND] != kind ||
        h[H_FLAGS] != 1) {
        return st_err(STRATA_E_CORRUPTION, "%s: malformed encryption header", fname);
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
    *out = s;
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
