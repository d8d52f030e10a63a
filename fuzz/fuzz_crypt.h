/* fuzz_crypt.h — fixed key material shared by the encrypted fuzz targets (fuzz_encrypted_block,
 * fuzz_parity_block, fuzz_encrypted_log) and the seeds make_corpus.c writes for them: one master
 * key (id 1) behind a key provider, a DB id, a table file key, integrity settings that require
 * encryption, and the self-describing plaintext of every log record the harnesses seal
 *
 *     "FZR1" ‖ fixed32 index ‖ payload ‖ fixed32 CRC-32C of everything before
 *
 * so a record read back from arbitrary bytes can be told authentic (sealed by a harness, with
 * this index) or not.  Everything here is a constant of the fuzzers: seeds made with it stay
 * valid as long as the formats do. */
#ifndef STRATA_FUZZ_CRYPT_H
#define STRATA_FUZZ_CRYPT_H

#include <stdint.h>
#include <string.h>

#include "codec/crypt.h"
#include "codec/integrity.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/crc32c.h"

#define FZ_TABLE_NUMBER 7
#define FZ_LOG_NUMBER 9

static inline int fz_get_key(void *state, uint32_t id, unsigned char *key)
{
    (void)state;
    if (id != 1) {
        return -1;
    }
    for (int i = 0; i < 32; i++) {
        key[i] = (unsigned char)(0x3c ^ (i * 29));
    }
    return 0;
}

static inline int fz_current_key(void *state, uint32_t *id)
{
    (void)state;
    *id = 1;
    return 0;
}

/* The process-wide provider (created on first use, never freed). */
static inline st_key_provider *fz_provider(void)
{
    static st_key_provider *kp;
    if (!kp && st_key_provider_create(NULL, fz_get_key, fz_current_key, NULL, &kp) != 0) {
        kp = NULL;
    }
    return kp;
}

static inline const unsigned char *fz_db_id(void)
{
    static const unsigned char id[ST_DB_ID_LEN] = "fuzz-db-id-0001";
    return id;
}

/* The file key of table FZ_TABLE_NUMBER (a fixed salt).  NULL on failure. */
static inline st_crypt_file *fz_table_crypt(void)
{
    static st_crypt_file *f;
    unsigned char salt[ST_CRYPT_SALT_LEN];
    for (int i = 0; i < ST_CRYPT_SALT_LEN; i++) {
        salt[i] = (unsigned char)(i * 7 + 1);
    }
    if (!f && fz_provider()) {
        if (st_crypt_file_create(fz_provider(), 1, fz_db_id(), FZ_TABLE_NUMBER, ST_CRYPT_FILE_TABLE,
                                 salt, &f) != 0) {
            f = NULL;
        }
    }
    return f;
}

/* Integrity settings of an encrypted DB (every file must be encrypted), no parity. */
static inline void fz_integrity_init(st_integrity *in)
{
    memset(in, 0, sizeof(*in));
    in->kp = fz_provider();
    memcpy(in->db_id, fz_db_id(), ST_DB_ID_LEN);
    in->encrypt = 1;
    in->require_encrypted = 1;
    in->encrypted_since = 0;
    atomic_init(&in->healed, 0);
    atomic_init(&in->unrecoverable, 0);
}

/* Appends the plaintext of log record index (layout above) to out.  0 or NOMEM. */
static inline int fz_wrap_record(st_buf *out, uint32_t index, const void *payload, size_t n)
{
    char hdr[8], crc[4];
    memcpy(hdr, "FZR1", 4);
    st_encode_fixed32(hdr + 4, index);
    size_t start = out->len;
    if (st_buf_append(out, hdr, sizeof(hdr)) || st_buf_append(out, payload, n)) {
        return -1;
    }
    st_encode_fixed32(crc, st_crc32c(out->data + start, out->len - start));
    return st_buf_append(out, crc, sizeof(crc));
}

/* 1 and *index if rec is a wrapped record whose CRC matches, else 0. */
static inline int fz_unwrap_record(st_slice rec, uint32_t *index)
{
    if (rec.size < 12 || memcmp(rec.data, "FZR1", 4) != 0 ||
        st_decode_fixed32(rec.data + rec.size - 4) != st_crc32c(rec.data, rec.size - 4)) {
        return 0;
    }
    *index = st_decode_fixed32(rec.data + 4);
    return 1;
}

#endif
