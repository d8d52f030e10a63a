/* identity.h — the IDENTITY file: the DB's random 16-byte id (made at create and bound into
 * every encrypted block and record, so nothing moves between databases unnoticed) and whether
 * the DB is encrypted, since which file number, under which key.
 *
 * The file holds two identical 128-byte copies (a damaged one is read from the other).  An
 * encrypted DB's copy carries an AES-256-GCM tag over its fields under a key derived from the
 * master key it names, so opening with a wrong key fails here, at open, with STRATA_E_AUTH, and
 * the "encrypted since" mark cannot be lowered without the key.  A plaintext copy carries no tag
 * (a plaintext DB has no key), so anyone can write one: a sealed log found while IDENTITY says
 * "not encrypted" is refused (log_reader.c), since IDENTITY becomes encrypted before the first
 * sealed log is written.  Written as a temporary file, synced, renamed into place, directory
 * synced.  Layout: docs/FORMAT.md "IDENTITY". */
#ifndef STRATA_DB_IDENTITY_H
#define STRATA_DB_IDENTITY_H

#include <stdint.h>

#include "codec/crypt.h"
#include "env/env.h"

typedef struct st_identity {
    unsigned char db_id[ST_DB_ID_LEN];
    int encrypted;            /* files numbered >= encrypted_since are encrypted */
    uint64_t encrypted_since;
    uint32_t key_id;          /* encrypted: the key the tag was made with */
} st_identity;

/* Reads dbname/IDENTITY.  *found = 0 (and 0 returned) when it does not exist.  An encrypted
 * identity is authenticated with kp: no kp, or a key that does not authenticate it, is
 * STRATA_E_AUTH.  Errors: CORRUPTION (both copies damaged), AUTH, IO, NOMEM. */
int st_identity_read(st_env *env, const char *dbname, st_key_provider *kp, st_identity *id,
                     int *found);
/* Writes dbname/IDENTITY durably (temp file, sync, rename, directory sync).  An encrypted
 * identity is sealed under kp's current key (id->key_id is set to it).  Errors: IO, AUTH, NOMEM. */
int st_identity_write(st_env *env, const char *dbname, st_key_provider *kp, st_identity *id);

#endif
