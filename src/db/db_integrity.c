/* db_integrity.c — a DB's integrity settings at open: keys (a key provider or a key file), the
 * IDENTITY file (the DB id bound into every encrypted block, and whether the DB is encrypted),
 * parity settings, and what happens when a block heals or is found beyond repair (logged, counted,
 * and a healed table is rewritten by the compaction picker).
 *
 * Encryption rule (docs/SECURITY.md): once IDENTITY says the DB is encrypted since file number N
 * (sealed under a key, so N cannot be changed without it), every file numbered >= N must be
 * encrypted and an unencrypted one is refused (STRATA_E_AUTH: downgrade).  Files below N were
 * written before encryption was turned on and stay readable until strata_rekey rewrites them. */
#include <inttypes.h>
#include <string.h>

#include "db/db_impl.h"
#include "db/identity.h"
#include "db/version_internal.h"
#include "util/alloc.h"

static void on_damage(void *arg, uint64_t number, uint64_t offset, int healed)
{
    strata_db *db = arg;
    /* File and offset only: the info log never holds keys or values. */
    st_log(db->log, "%s block at offset %" PRIu64 " of table %06" PRIu64 "%s",
           healed ? "healed" : "unrecoverable", offset, number,
           healed ? " from parity; the table will be rewritten" : "");
    if (healed && db->vs) {
        /* Asked of every family: the one whose version holds the table rewrites it, the
         * others drop the request at their next pick. */
        for (int f = 0; f < st_db_cf_count(db); f++) {
            st_vset_request_rewrite(db->cfs[f]->vs, number);
        }
        st_db_bg_wake(db);
    }
}

/* A healed log record needs no rewrite: a WAL is replayed into a table and deleted, and the
 * MANIFEST is replaced by a new one at the next open. */
static void on_log_damage(void *arg, uint64_t number, int kind, uint64_t offset, int healed)
{
    strata_db *db = arg;
    st_log(db->log, "%s record at offset %" PRIu64 " of %s %06" PRIu64 "%s",
           healed ? "healed" : "unrecoverable", offset,
           kind == ST_CRYPT_FILE_WAL ? "WAL" : "MANIFEST", number, healed ? " from parity" : "");
}

static int setup_keys(strata_db *db, st_integrity *in)
{
    if (db->opts.key_provider) {
        in->kp = (st_key_provider *)db->opts.key_provider;
        st_key_provider_ref(in->kp);
    } else if (db->opts.encryption_key_file[0]) {
        int rc = st_key_provider_from_file(db->opts.encryption_key_file, &in->kp);
        if (rc) {
            return rc;
        }
    }
    db->opts.key_provider = NULL; /* the copy must not carry the caller's reference */
    if (db->opts.encryption != STRATA_ENCRYPTION_NONE && !in->kp) {
        return st_err(STRATA_E_INVALID, "encryption=aes-256-gcm needs keys: set a key provider "
                      "or encryption_key_file");
    }
    return 0;
}

static void setup_ecc(strata_db *db, st_integrity *in)
{
    in->ecc.kind = db->opts.ecc;
    in->ecc.k = db->opts.ecc_data_shards;
    in->ecc.m = db->opts.ecc == STRATA_ECC_XOR ? 1 : db->opts.ecc_parity_shards;
    if (in->ecc.kind == STRATA_ECC_NONE) {
        in->ecc.k = in->ecc.m = 0;
    }
}

/* Applies what IDENTITY says (or makes one). */
static int setup_identity(strata_db *db, st_integrity *in, int db_exists)
{
    st_identity id;
    int found = 0;
    int rc = st_identity_read(db->env, db->dbname, in->kp, &id, &found);
    if (rc) {
        return rc;
    }
    int want = db->opts.encryption != STRATA_ENCRYPTION_NONE;
    if (!found) {
        rc = st_crypt_random(id.db_id, sizeof(id.db_id));
        if (!rc && want && !db_exists) {
            id.encrypted = 1;
            id.encrypted_since = 0; /* a new DB: every file */
        }
        if (!rc && (!want || !db_exists)) {
            rc = st_identity_write(db->env, db->dbname, in->kp, &id);
        }
        if (rc) {
            return rc;
        }
    }
    memcpy(in->db_id, id.db_id, ST_DB_ID_LEN);
    in->require_encrypted = id.encrypted;
    in->encrypted_since = id.encrypted_since;
    in->encrypt = id.encrypted;
    /* An existing plaintext DB opened with encryption: marked once the MANIFEST says which file
     * numbers are taken (st_db_integrity_after_manifest). */
    db->migrate_encryption = want && !id.encrypted;
    return 0;
}

int st_db_integrity_open(strata_db *db, int db_exists)
{
    st_integrity *in = st_calloc(1, sizeof(*in));
    if (!in) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    db->integ = in;
    atomic_init(&in->healed, 0);
    atomic_init(&in->unrecoverable, 0);
    in->on_damage = on_damage;
    in->on_log_damage = on_log_damage;
    in->damage_arg = db;
    setup_ecc(db, in);
    int rc = setup_keys(db, in);
    return rc ? rc : setup_identity(db, in, db_exists);
}

int st_db_integrity_after_manifest(strata_db *db)
{
    if (!db->migrate_encryption) {
        return 0;
    }
    st_integrity *in = db->integ;
    st_identity id;
    memcpy(id.db_id, in->db_id, ST_DB_ID_LEN);
    id.encrypted = 1;
    id.encrypted_since = st_vset_next_file_number(db->vs);
    int rc = st_identity_write(db->env, db->dbname, in->kp, &id);
    if (!rc) {
        in->encrypt = in->require_encrypted = 1;
        in->encrypted_since = id.encrypted_since;
        db->migrate_encryption = 0;
        st_log(db->log, "encryption turned on: files from number %" PRIu64 " on are encrypted",
               id.encrypted_since);
    }
    return rc;
}

void st_db_integrity_close(strata_db *db)
{
    st_integrity_free(db->integ);
    db->integ = NULL;
}

/* ---- offline tools ------------------------------------------------------------------------------ */

int st_integrity_load(st_env *env, const char *dbname, const struct strata_options *opt,
                      st_integrity **out)
{
    st_integrity *in = st_calloc(1, sizeof(*in));
    if (!in) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    int rc = 0;
    if (opt && opt->key_provider) {
        in->kp = (st_key_provider *)opt->key_provider;
        st_key_provider_ref(in->kp);
    } else if (opt && opt->encryption_key_file[0]) {
        rc = st_key_provider_from_file(opt->encryption_key_file, &in->kp);
    }
    st_identity id;
    int found = 0;
    rc = rc ? rc : st_identity_read(env, dbname, in->kp, &id, &found);
    if (!rc && found) {
        memcpy(in->db_id, id.db_id, ST_DB_ID_LEN);
        in->require_encrypted = id.encrypted;
        in->encrypted_since = id.encrypted_since;
        in->encrypt = id.encrypted;
    }
    if (!rc && opt && opt->ecc != STRATA_ECC_NONE) {
        in->ecc.kind = opt->ecc;
        in->ecc.k = opt->ecc_data_shards;
        in->ecc.m = opt->ecc == STRATA_ECC_XOR ? 1 : opt->ecc_parity_shards;
    }
    if (rc) {
        st_integrity_free(in);
        return rc;
    }
    *out = in;
    return 0;
}

void st_integrity_free(st_integrity *in)
{
    if (in) {
        st_key_provider_unref(in->kp);
        st_crypt_wipe(in, sizeof(*in));
        st_free(in);
    }
}
