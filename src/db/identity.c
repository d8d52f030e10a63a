/* identity.c — reading and writing the IDENTITY file (identity.h; docs/FORMAT.md "IDENTITY"). */
#include "db/identity.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "db/filename.h"
#include "strata.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/status.h"

#define COPY_LEN 128
#define ID_MAGIC "STRATAID"
#define ID_VERSION 1
#define FLAG_ENCRYPTED 1u

enum {
    I_MAGIC = 0,
    I_VERSION = 8,
    I_FLAGS = 12,
    I_DB_ID = 16,
    I_SINCE = 32,
    I_KEY_ID = 40,
    I_SALT = 44,
    I_TAG = 76,
    I_ZERO = 92,
    I_CRC = 124
};

/* The tag authenticates bytes [0, I_TAG) under a key derived from the master key and the salt. */
static int identity_tag(st_key_provider *kp, const char *copy, int seal, unsigned char *tag)
{
    st_crypt_file *f = NULL;
    uint32_t key_id = st_decode_fixed32(copy + I_KEY_ID);
    int rc = st_crypt_file_create(kp, key_id, (const unsigned char *)copy + I_DB_ID, 0,
                                  ST_CRYPT_FILE_IDENTITY, (const unsigned char *)copy + I_SALT,
                                  &f);
    if (!rc) {
        rc = seal ? st_crypt_seal(f, 0, copy, I_TAG, NULL, 0, NULL, tag)
                  : st_crypt_open(f, 0, copy, I_TAG, NULL, 0, tag, NULL);
    }
    st_crypt_file_destroy(f);
    return rc;
}

static int copy_intact(const char *c)
{
    return memcmp(c + I_MAGIC, ID_MAGIC, 8) == 0 &&
           st_crc32c_unmask(st_decode_fixed32(c + I_CRC)) == st_crc32c(c, I_CRC);
}

static int parse_copy(const char *c, const char *fname, st_key_provider *kp, st_identity *id)
{
    uint32_t version = st_decode_fixed32(c + I_VERSION);
    uint32_t flags = st_decode_fixed32(c + I_FLAGS);
    if (version != ID_VERSION) {
        return st_err(STRATA_E_CORRUPTION, "%s: unsupported identity version %" PRIu32, fname,
                      version);
    }
    if (flags & ~FLAG_ENCRYPTED) {
        return st_err(STRATA_E_CORRUPTION, "%s: unknown identity flags 0x%" PRIx32, fname, flags);
    }
    memcpy(id->db_id, c + I_DB_ID, ST_DB_ID_LEN);
    id->encrypted = (flags & FLAG_ENCRYPTED) != 0;
    id->encrypted_since = st_decode_fixed64(c + I_SINCE);
    id->key_id = st_decode_fixed32(c + I_KEY_ID);
    if (!id->encrypted) {
        return 0;
    }
    if (!kp) {
        return st_err(STRATA_E_AUTH, "%s: the database is encrypted (key id %" PRIu32 ") but no "
                      "key provider or key file was given", fname, id->key_id);
    }
    unsigned char tag[ST_CRYPT_TAG_LEN];
    memcpy(tag, c + I_TAG, sizeof(tag));
    int rc = identity_tag(kp, c, 0, tag);
    if (rc == STRATA_E_AUTH) {
        return st_err(STRATA_E_AUTH, "%s: authentication failed at offset 0: wrong key (key id "
                      "%" PRIu32 ") or tampered data", fname, id->key_id);
    }
    return rc;
}

int st_identity_read(st_env *env, const char *dbname, st_key_provider *kp, st_identity *id,
                     int *found)
{
    char *fname = st_filename(dbname, ST_FILE_IDENTITY, 0);
    char *data = NULL;
    size_t len = 0;
    *found = 0;
    memset(id, 0, sizeof(*id));
    if (!fname) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    int rc = 0;
    if (st_env_exists(env, fname)) {
        *found = 1;
        rc = st_env_read_file(env, fname, 4 * COPY_LEN, &data, &len);
    }
    if (!rc && *found) {
        const char *good = NULL;
        for (size_t off = 0; !good && off + COPY_LEN <= len; off += COPY_LEN) {
            good = copy_intact(data + off) ? data + off : NULL;
        }
        rc = good ? parse_copy(good, fname, kp, id)
                  : st_err(STRATA_E_CORRUPTION, "%s: both copies of the identity are damaged",
                           fname);
    }
    st_free(data);
    st_free(fname);
    return rc;
}

static int encode_copy(st_key_provider *kp, st_identity *id, char *c)
{
    memset(c, 0, COPY_LEN);
    memcpy(c + I_MAGIC, ID_MAGIC, 8);
    st_encode_fixed32(c + I_VERSION, ID_VERSION);
    st_encode_fixed32(c + I_FLAGS, id->encrypted ? FLAG_ENCRYPTED : 0);
    memcpy(c + I_DB_ID, id->db_id, ST_DB_ID_LEN);
    st_encode_fixed64(c + I_SINCE, id->encrypted_since);
    int rc = 0;
    if (id->encrypted) {
        rc = st_key_provider_current(kp, &id->key_id);
        st_encode_fixed32(c + I_KEY_ID, id->key_id);
        rc = rc ? rc : st_crypt_random(c + I_SALT, ST_CRYPT_SALT_LEN);
        rc = rc ? rc : identity_tag(kp, c, 1, (unsigned char *)c + I_TAG);
    }
    st_encode_fixed32(c + I_CRC, st_crc32c_mask(st_crc32c(c, I_CRC)));
    return rc;
}

int st_identity_write(st_env *env, const char *dbname, st_key_provider *kp, st_identity *id)
{
    char buf[2 * COPY_LEN];
    char *tmp = st_filename(dbname, ST_FILE_TEMP, 0);
    char *fname = st_filename(dbname, ST_FILE_IDENTITY, 0);
    int rc = tmp && fname ? encode_copy(kp, id, buf) : st_err(STRATA_E_NOMEM, "out of memory");
    if (!rc) {
        memcpy(buf + COPY_LEN, buf, COPY_LEN);
        rc = st_env_write_file(env, tmp, st_slice_make(buf, sizeof(buf)), 1);
        rc = rc ? rc : st_env_rename_file(env, tmp, fname);
        if (rc) {
            st_env_remove_file(env, tmp);
        }
    }
    rc = rc ? rc : st_env_sync_dir(env, dbname);
    st_free(tmp);
    st_free(fname);
    return rc;
}
