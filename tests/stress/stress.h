/* stress.h — shared declarations of strata-stress, the long randomized multi-threaded workload
 * (in the spirit of RocksDB's db_stress).
 *
 * Model.  Keys are "s%08u" for an index below --keys.  The expected state holds, per key, a 32-bit
 * word: generation << 1 | present.  A put of key i writes a new generation g and the value
 * stress_value(i, g) (a pure function of both), a delete keeps g and clears the present bit.  Keys
 * are grouped in ranges of STRESS_RANGE consecutive indices, one mutex per range: a thread holds
 * the mutexes of every range it touches (in increasing order) while it writes the DB and updates
 * the expected words, or while it reads and compares, so DB and expected state agree whenever a
 * range's mutex is held.  Range deletes stay inside one lock range and clear the present bits of
 * the keys they cover.  Counters "t%08u" (--keys / 16 of them) take uint64add merges and deletes;
 * the expected state keeps each counter's sum, and counter j is guarded by lock j % nlocks (so a
 * batch may merge into the counters of the ranges it holds).  A process-wide writer-preferring
 * rwlock ("the world") is taken shared by every operation and exclusively by full verification and
 * by close/reopen.
 *
 * A failure prints what differed, the seed, and the command line that reproduces the run, and
 * exits with status 1 (the DB is left in place for inspection). */
#ifndef STRATA_TESTS_STRESS_H
#define STRATA_TESTS_STRESS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "strata.h"

#define STRESS_RANGE 64     /* keys per lock */
#define STRESS_KEY_LEN 9    /* "s%08u" */
#define STRESS_VAL_MAX 8192 /* largest generated value */

struct stress_flags {
    uint64_t seed;
    int threads;
    long ops;        /* per thread */
    double duration; /* seconds, 0 = unlimited */
    uint32_t keys;
    long reopen_every; /* operations over all threads; 0 = never */
    long verify_every; /* operations over all threads; 0 = only at the end */
    int mem_env;
    const char *db;
    const char *options; /* extra option string applied after the randomized ones */
    int verbose;
};

struct stress_ctx {
    struct stress_flags f;
    strata_options *opt;
    strata_env *env; /* the in-memory env with --env=mem, else NULL */
    strata_merge_operator *mo;
    strata_db *db;
    uint32_t *expected;     /* per key: generation << 1 | present */
    pthread_mutex_t *locks; /* one per STRESS_RANGE keys */
    uint32_t nlocks;
    uint64_t *counters; /* per counter: the expected sum (0 when absent) */
    uint8_t *cpresent;  /* per counter: 1 when it exists */
    uint32_t ncounters;
    pthread_rwlock_t world;
    long done; /* operations finished (atomic) */
    int stop;  /* set when time is up (atomic) */
    double t0;
    /* statistics (atomic) */
    long n_put, n_del, n_batch, n_get, n_scan, n_snap, n_flush, n_compact, n_verify, n_reopen;
    long n_range, n_merge, n_counter, n_mget;
};

/* ---- stress.c ---- */
/* Prints "FAILURE: ...", the seed and the reproducing command line, then exits with status 1. */
void stress_fail(const struct stress_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
double stress_now(void);

/* ---- stress_model.c ---- */
int stress_key(char *buf, uint32_t i);
/* The key of counter j ("t%08u"). */
int stress_counter_key(char *buf, uint32_t j);
/* Checks a DB read of counter j (found, 8-byte value) against the expected state. */
void stress_check_counter(const struct stress_ctx *c, uint32_t j, int found, const char *v,
                          size_t vlen, const char *what);
/* The generation a value claims to carry (-1: its header is unreadable). */
long stress_generation(const char *v, size_t vlen);
/* Writes the value of (key i, generation g) into buf (STRESS_VAL_MAX bytes); returns its length. */
size_t stress_value(char *buf, uint32_t i, uint32_t g);
/* Checks that a DB value read for key i matches the expected word w (what names the read). */
void stress_check_value(const struct stress_ctx *c, uint32_t i, uint32_t w, int found,
                        const char *v, size_t vlen, const char *what);
/* Options randomized from seed (every choice printed with --verbose). */
int stress_random_options(uint64_t seed, strata_options **out);

/* ---- stress_run.c ---- */
/* Runs the workers until --ops or --duration, with periodic verification and reopens. */
void stress_run(struct stress_ctx *c);
/* Full verification: a forward and a backward scan and a get of every key.  REQUIRES: the world
 * is held exclusively (or no worker runs). */
void stress_verify_all(struct stress_ctx *c, const char *what);
int stress_open(struct stress_ctx *c);

#endif
