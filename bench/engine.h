/* engine.h — the adapter vtable through which strata-bench drives an engine (strata, LevelDB,
 * RocksDB).  Each adapter maps the bench_config onto its engine's options with the parity preset
 * documented in docs/fragments/bench.md, and converts the engine's errors into STRATA_E_* codes
 * with the detail message set (st_err).
 *
 * Thread rules: a bench_db is used from several threads at once
 * (put/del/get/batch_write/iter_create and the optional operations must be thread-safe, as they
 * are in all three engines); a bench_batch and a bench_iter belong to one thread.  Keys and values
 * passed in are borrowed for the duration of the call.
 *
 * Optional operations (delete_range, merge, multi_get) are NULL when the engine (or its C API)
 * lacks them; a workload that needs one is then skipped for that engine, not failed
 * (bench_workload_supported).  Every engine that has merge opens its DB with the same merge
 * operator: 8-byte little-endian unsigned counters, each operand added (a missing value is 0; a
 * value or operand of another size fails the read).
 *
 * Column families (--cf=N): an engine with column_families set opens the families "default" and
 * cf1..cf{N-1} (bench_cf_names; created when missing) and sends every key to family
 * bench_cf_of(key) in every operation: put, delete, get, merge, multi-get and batch puts.  A range
 * delete goes to every family (one batch).  Iterators cover one family, so the workloads that
 * iterate the whole key space are skipped with N > 1 (BENCH_SKIP_CF_ITER), and an engine without
 * families skips every workload (BENCH_SKIP_NO_CF).
 *
 * Transactions (optional; NULL when the engine has none): txn_open opens a DB of its own for one
 * transaction kind, pessimistic (row locks: RocksDB TransactionDB, strata_txn_db_open) or
 * optimistic (validation at commit: RocksDB OptimisticTransactionDB, strata_optimistic_txn_begin),
 * with the same parity preset and families.  A bench_txn_db is shared by threads, a bench_txn
 * belongs to one.  A conflict, lock timeout or deadlock is STRATA_E_BUSY (the workload retries). */
#ifndef STRATA_BENCH_ENGINE_H
#define STRATA_BENCH_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench.h"

typedef struct bench_db bench_db;
typedef struct bench_batch bench_batch;
typedef struct bench_iter bench_iter;
typedef struct bench_txn_db bench_txn_db;
typedef struct bench_txn bench_txn;

/* The family of a key among n (FNV-1a of its bytes, mod n); 0 when n <= 1. */
static inline int bench_cf_of(const char *k, size_t klen, int n)
{
    uint32_t h = 2166136261u;
    if (n <= 1) {
        return 0;
    }
    for (size_t i = 0; i < klen; i++) {
        h = (h ^ (unsigned char)k[i]) * 16777619u;
    }
    return (int)(h % (uint32_t)n);
}

/* The names of n families: "default", "cf1", ..., "cf<n-1>" (n <= BENCH_MAX_CF). */
typedef struct bench_cf_names {
    char buf[BENCH_MAX_CF][8];
    const char *names[BENCH_MAX_CF];
} bench_cf_names;
void bench_cf_names_init(bench_cf_names *n, int count);

typedef struct bench_engine {
    const char *name;
    /* NULL, or the engine whose API this one imitates with strata underneath (strata-leveldb:
     * "leveldb").  Such an engine is strata itself, so it is not a rival in the baseline's ratio;
     * it gets a drop-in ratio against that engine instead (bench_dropin_ratio). */
    const char *drop_in_for;
    /* NULL when always usable; else returns NULL when usable now, or why not (a library that
     * could not be loaded).  An unusable engine is left out of bench_engines_all. */
    const char *(*unavailable)(void);
    int column_families; /* spreads keys over cfg->cf families (see above) */
    /* Opens (creating if missing) the DB in directory path with the parity preset. */
    int (*open)(const bench_config *cfg, const char *path, bench_db **out);
    /* Closes and frees db (always); returns the engine's close error if any. */
    int (*close)(bench_db *db);
    int (*put)(bench_db *db, const char *k, size_t klen, const char *v, size_t vlen, int sync);
    int (*del)(bench_db *db, const char *k, size_t klen, int sync);
    /* 0 and *vlen when found, STRATA_E_NOTFOUND when absent, another code on error. */
    int (*get)(bench_db *db, const char *k, size_t klen, size_t *vlen);
    /* A batch for db (whose families its puts go to). */
    int (*batch_create)(bench_db *db, bench_batch **out);
    void (*batch_destroy)(bench_batch *b);
    void (*batch_clear)(bench_batch *b);
    int (*batch_put)(bench_batch *b, const char *k, size_t klen, const char *v, size_t vlen);
    int (*batch_write)(bench_db *db, bench_batch *b, int sync);
    /* An iterator over the current state.  Destroy it before closing the DB. */
    int (*iter_create)(bench_db *db, bench_iter **out);
    void (*iter_destroy)(bench_iter *it);
    void (*iter_seek_first)(bench_iter *it);
    void (*iter_seek_last)(bench_iter *it);
    void (*iter_seek)(bench_iter *it, const char *k, size_t klen);
    void (*iter_next)(bench_iter *it);
    void (*iter_prev)(bench_iter *it);
    int (*iter_valid)(bench_iter *it);
    const char *(*iter_key)(bench_iter *it, size_t *klen);
    const char *(*iter_value)(bench_iter *it, size_t *vlen);
    int (*iter_status)(bench_iter *it);
    /* Optional (see above).  Deletes every key in [begin, end). */
    int (*delete_range)(bench_db *db, const char *begin, size_t blen, const char *end, size_t elen);
    /* Optional.  Adds operand to key's merge operands (the uint64 add operator). */
    int (*merge)(bench_db *db, const char *k, size_t klen, const char *operand, size_t olen);
    /* Optional.  Gets n keys from one view: found[i] 1 with vlens[i] set, or 0 when absent.
     * Returns 0, or the first error of any key. */
    int (*multi_get)(bench_db *db, size_t n, const char *const *keys, const size_t *klens,
                     size_t *vlens, int *found);
    /* Optional (see above).  Opens (creating if missing) a transaction DB in path. */
    int (*txn_open)(const bench_config *cfg, const char *path, int optimistic, bench_txn_db **out);
    /* Closes and frees t (always); returns the engine's close error if any. */
    int (*txn_close)(bench_txn_db *t);
    /* Begins a transaction without a snapshot: reads see the latest committed values. */
    int (*txn_begin)(bench_txn_db *t, bench_txn **out);
    /* Reads key for update (exclusive lock, or tracked for validation): copies at most cap bytes
     * of its value to buf and sets *vlen to its size; STRATA_E_NOTFOUND when absent. */
    int (*txn_get_for_update)(bench_txn_db *t, bench_txn *x, const char *k, size_t klen, char *buf,
                              size_t cap, size_t *vlen);
    int (*txn_put)(bench_txn_db *t, bench_txn *x, const char *k, size_t klen, const char *v,
                   size_t vlen);
    int (*txn_commit)(bench_txn *x);
    /* Frees x (NULL: nothing), rolling it back unless committed. */
    void (*txn_destroy)(bench_txn *x);
    /* Cumulative write stall time; STRATA_E_NOTSUP when the engine does not expose it. */
    int (*stall_micros)(bench_db *db, uint64_t *out);
    /* Prints the engine's own statistics text (--stats) to out. */
    void (*print_stats)(bench_db *db, FILE *out);
} bench_engine;

#ifdef STRATA_BENCH_HAVE_STRATA
extern const bench_engine bench_engine_strata;
#endif
#ifdef STRATA_BENCH_HAVE_LEVELDB
extern const bench_engine bench_engine_leveldb;
#endif
#ifdef STRATA_BENCH_HAVE_ROCKSDB
extern const bench_engine bench_engine_rocksdb;
#endif
#ifdef STRATA_BENCH_HAVE_STRATA_LEVELDB
extern const bench_engine bench_engine_strata_leveldb;
/* NULL when libstrata_leveldb loaded, else why not (engine_strata_leveldb.c). */
const char *bench_strata_leveldb_unavailable(void);
#endif

/* Engines compiled into this binary and usable (see unavailable), in report order (strata
 * first), NULL-terminated.  The first call may load a library (strata-leveldb): make it before
 * starting threads. */
const bench_engine *const *bench_engines_all(void);
/* The usable engine named name, or NULL. */
const bench_engine *bench_engine_find(const char *name);
/* Why the engine named name, compiled in, is unusable; NULL when it is usable or unknown. */
const char *bench_engine_unavailable(const char *name);

#endif
