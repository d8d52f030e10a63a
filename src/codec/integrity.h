/* integrity.h — one DB's integrity settings as the storage formats see them: its identity, its
 * keys, whether its files must be encrypted, the parity new files get, and the heal counters.
 * Created and owned by the engine (db_open.c, db/identity.c); table and log readers and writers
 * borrow it.  The counters are atomics (statistics only, relaxed). */
#ifndef STRATA_CODEC_INTEGRITY_H
#define STRATA_CODEC_INTEGRITY_H

#include <stdatomic.h>
#include <stdint.h>

#include "codec/crypt.h"
#include "codec/ecc.h"

typedef struct st_integrity {
    st_key_provider *kp;                /* NULL: no keys (the DB is not encrypted) */
    unsigned char db_id[ST_DB_ID_LEN];  /* the DB's random identity (IDENTITY file) */
    int encrypt;                        /* new files are encrypted */
    int require_encrypted;              /* files numbered >= encrypted_since must be encrypted */
    uint64_t encrypted_since;
    st_ecc ecc;                         /* parity for new tables and log records */
    atomic_uint_fast64_t healed;        /* blocks and records rebuilt from parity */
    atomic_uint_fast64_t unrecoverable; /* blocks and records damaged beyond their parity */
    /* Called (from any thread, without locks held) when the block at offset of file_number
     * healed or was found beyond repair, so the engine can log it and schedule a rewrite; may
     * be NULL. */
    void (*on_damage)(void *arg, uint64_t file_number, uint64_t offset, int healed);
    /* Likewise for the record at offset of a WAL or MANIFEST (kind ST_CRYPT_FILE_WAL or
     * _MANIFEST); called from the thread reading the log; may be NULL. */
    void (*on_log_damage)(void *arg, uint64_t file_number, int kind, uint64_t offset, int healed);
    void *damage_arg;
} st_integrity;

/* 1 if a file numbered number must be encrypted. */
static inline int st_integrity_must_encrypt(const st_integrity *in, uint64_t number)
{
    return in && in->require_encrypted && number >= in->encrypted_since;
}

/* Counts one heal (healed = 1) or unrecoverable block (0) at offset of file number and tells
 * the engine. */
static inline void st_integrity_report(st_integrity *in, uint64_t number, uint64_t offset,
                                       int healed)
{
    if (!in) {
        return;
    }
    atomic_fetch_add_explicit(healed ? &in->healed : &in->unrecoverable, 1, memory_order_relaxed);
    if (in->on_damage) {
        in->on_damage(in->damage_arg, number, offset, healed);
    }
}

/* Counts one log record healed from parity (healed = 1) or damaged beyond it (0), at offset of
 * log file number of kind, in the same counters as blocks, and tells the engine. */
static inline void st_integrity_report_log(st_integrity *in, uint64_t number, int kind,
                                           uint64_t offset, int healed)
{
    if (!in) {
        return;
    }
    atomic_fetch_add_explicit(healed ? &in->healed : &in->unrecoverable, 1, memory_order_relaxed);
    if (in->on_log_damage) {
        in->on_log_damage(in->damage_arg, number, kind, offset, healed);
    }
}

#endif
