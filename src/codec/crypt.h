/* crypt.h — AES-256-GCM for everything strata stores that holds user bytes (table blocks, WAL and
 * MANIFEST records), on OpenSSL's libcrypto (EVP_*), and the key providers that supply the keys.
 *
 * Keys.  A key provider maps a 32-bit key id to a 32-byte master key and names the current key
 * id (new files use it).  Providers are refcounted: the options and every open DB hold a
 * reference.  The file-based provider reads a key file (keyfile.h); a user provider supplies
 * callbacks (strata_key_provider_create).
 *
 * Per-file keys and nonces.  A master key never encrypts anything itself.  Every file gets a
 * random 32-byte salt (stored in the clear in the file's header or footer) and its own AES key
 *     file_key = HKDF-SHA256(ikm = master key, salt = salt,
 *                            info = "strata-file-key-v1" ‖ db_id (16) ‖ fixed64(file number) ‖
 *                                   kind (1) ‖ fixed32(key id))
 * and a 96-bit GCM nonce = fixed64(counter) ‖ fixed32(0), where the counter is unique within the
 * file (a table uses the block's file offset; a log uses the record's index).  Nonces therefore
 * never repeat under one AES key: each file key is used by one file, whose counters never repeat,
 * and two files share a file key only if their random 256-bit salts collide.
 *
 * Master and file key bytes are wiped (OPENSSL_cleanse) when no longer needed and are never
 * logged.  Thread-safe: one st_crypt_file may seal and open from many threads at once.
 * Byte layouts: docs/FORMAT.md "Encryption"; threat model: docs/SECURITY.md. */
#ifndef STRATA_CODEC_CRYPT_H
#define STRATA_CODEC_CRYPT_H

#include <stddef.h>
#include <stdint.h>

#define ST_CRYPT_KEY_LEN 32  /* AES-256 */
#define ST_CRYPT_TAG_LEN 16  /* GCM tag, never truncated */
#define ST_CRYPT_SALT_LEN 32 /* per-file random salt */
#define ST_DB_ID_LEN 16      /* the DB's random identity, made at create */

/* File kinds bound into the file key derivation (and, for tables, the block AAD). */
enum {
    ST_CRYPT_FILE_TABLE = 1,
    ST_CRYPT_FILE_WAL = 2,
    ST_CRYPT_FILE_MANIFEST = 3,
    ST_CRYPT_FILE_IDENTITY = 4,
};

/* ---- key providers ----------------------------------------------------------------------------- */

typedef struct st_key_provider st_key_provider;

/* get_key fills key (ST_CRYPT_KEY_LEN bytes) for key_id and returns 0, or non-zero when the
 * provider has no such key.  current_key_id stores the id new files should use and returns 0, or
 * non-zero on failure.  destructor (may be NULL) is called with state when the last reference
 * goes.  Errors: INVALID (NULL callback), NOMEM.  *out holds one reference. */
int st_key_provider_create(void *state,
                           int (*get_key)(void *state, uint32_t key_id, unsigned char *key),
                           int (*current_key_id)(void *state, uint32_t *key_id),
                           void (*destructor)(void *state), st_key_provider **out);
/* A provider over the keys of a key file (format: keyfile.h).  Errors: NOTFOUND (no such file),
 * IO (unreadable), INVALID (malformed; the message names the line, never the key bytes), NOMEM. */
int st_key_provider_from_file(const char *path, st_key_provider **out);
void st_key_provider_ref(st_key_provider *p);
/* Drops a reference; the last one runs the destructor (and wipes a file provider's keys).
 * NULL ok. */
void st_key_provider_unref(st_key_provider *p);
/* The master key for key_id into key (wipe it with st_crypt_wipe after use).  Errors: AUTH
 * ("no key with id N"). */
int st_key_provider_get(st_key_provider *p, uint32_t key_id, unsigned char *key);
/* The current key id.  Errors: AUTH (the provider failed). */
int st_key_provider_current(st_key_provider *p, uint32_t *key_id);

/* ---- per-file AEAD ----------------------------------------------------------------------------- */

typedef struct st_crypt_file st_crypt_file;

/* Derives the file key for (db_id, file_number, kind, key_id) under salt from the provider's key
 * key_id.  kind is one of ST_CRYPT_FILE_*.  The new file holds no reference to kp.  Errors: AUTH
 * (the provider has no such key), NOMEM, INVALID (unknown kind, or a libcrypto failure). */
int st_crypt_file_create(st_key_provider *kp, uint32_t key_id, const unsigned char *db_id,
                         uint64_t file_number, int kind, const unsigned char *salt,
                         st_crypt_file **out);
/* Gives f a cipher context of its own, keyed once, so each seal or open only sets the nonce
 * (about 1 µs less per call than keying a shared context: it matters for small WAL records).
 * REQUIRES: from then on f is used by one thread at a time (a table builder, a log writer or
 * reader).  0, NOMEM or INVALID. */
int st_crypt_file_exclusive(st_crypt_file *f);
/* Wipes the key and frees f.  NULL ok. */
void st_crypt_file_destroy(st_crypt_file *f);
uint32_t st_crypt_file_key_id(const st_crypt_file *f);
uint64_t st_crypt_file_number(const st_crypt_file *f);
const unsigned char *st_crypt_file_db_id(const st_crypt_file *f);

/* Encrypts n bytes of in into out (n bytes; out may equal in) with nonce counter `counter` and
 * additional data aad, and writes the tag.  0, or INVALID on a libcrypto failure (with message). */
int st_crypt_seal(const st_crypt_file *f, uint64_t counter, const void *aad, size_t aad_len,
                  const void *in, size_t n, void *out, unsigned char *tag);
/* Decrypts and authenticates; out may equal in.  0 when the tag matches; STRATA_E_AUTH when it
 * does not (wrong key, or tampered ciphertext, tag, counter or aad) — the caller adds file and
 * offset to the message.  out's contents are unspecified on failure. */
int st_crypt_open(const st_crypt_file *f, uint64_t counter, const void *aad, size_t aad_len,
                  const void *in, size_t n, const unsigned char *tag, void *out);

/* n cryptographically random bytes (RAND_bytes).  0, or IO when the generator fails. */
int st_crypt_random(void *buf, size_t n);
/* Overwrites n bytes at p with zeros in a way the compiler cannot drop (OPENSSL_cleanse). */
void st_crypt_wipe(void *p, size_t n);

#endif
