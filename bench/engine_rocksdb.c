/* engine_rocksdb.c — strata-bench adapter for RocksDB through its C API (rocksdb/c.h).
 *
 * Parity preset (docs/fragments/bench.md): write_buffer_size with max_write_buffer_number 2 (the
 * active memtable plus one being flushed, as in LevelDB and strata), max_background_jobs equal to
 * strata's, max_open_files 1000 (RocksDB's default is unlimited), the same compression on every
 * level (compression_per_level), and a block-based table with block_size, restart interval 16, a
 * private LRU cache of cache_size bytes and a full-filter bloom of bloom_bits bits per key;
 * target_file_size_base when --max_file_size is set.  Level shape stays at RocksDB's defaults.  The stall time is parsed from the "Cumulative stall" line of
 * the "rocksdb.stats" property, which needs no statistics object (that one costs throughput).
 *
 * The merge operator (engine.h: uint64 add) is written here through rocksdb_mergeoperator_create,
 * the C API's way to give RocksDB an operator; it behaves as strata's built-in uint64add.  Range
 * deletes go through a one-operation write batch (the C API of RocksDB 7 has no DeleteRange on the
 * default column family without its handle), which is what DB::DeleteRange does internally.
 *
 * Column families (engine.h): the DB is always opened with rocksdb_open_column_families ("default"
 * and cf1.. created when missing, each with the same options, so they share the block cache as
 * strata's families do) and every operation uses the _cf call for its key's family.
 * Transactions: TransactionDB (pessimistic; lock timeout 1000 ms, 16 stripes and deadlock
 * detection on, as strata's defaults) and OptimisticTransactionDB, opened with the same options
 * and families; RocksDB's Busy, TimedOut and TryAgain statuses become STRATA_E_BUSY. */
#include <rocksdb/c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/compiler.h"
#include "util/status.h"

#define ROCKS_LEVELS 7
/* rocksdb_multi_get's result arrays live on the stack; longer lists go in chunks. */
#define MULTI_GET_CHUNK 64

struct bench_db {
    rocksdb_t *db;
    rocksdb_column_family_handle_t *cfs[BENCH_MAX_CF];
    int ncf;
    rocksdb_options_t *opt;
    rocksdb_cache_t *cache;
    rocksdb_readoptions_t *ro;
    rocksdb_writeoptions_t *wo;
    rocksdb_writeoptions_t *wo_sync;
    int pinned;
};

/* A batch remembers its DB, whose family handles its puts need. */
struct bench_batch {
    rocksdb_writebatch_t *b;
    struct bench_db *d;
};

/* d holds the options and family handles; exactly one of tdb and odb is open. */
struct bench_txn_db {
    struct bench_db *d;
    rocksdb_transactiondb_t *tdb;
    rocksdb_optimistictransactiondb_t *odb;
    rocksdb_transactiondb_options_t *tdb_opt;
    rocksdb_transaction_options_t *txn_opt;
    rocksdb_optimistictransaction_options_t *otxn_opt;
};

#define RIT(it) ((rocksdb_iterator_t *)(it))
#define RTX(x) ((rocksdb_transaction_t *)(x))
/* The family of key k. */
#define KEY_CF(d, k, klen) ((d)->cfs[bench_cf_of((k), (klen), (d)->ncf)])

static int check(char *err, const char *what)
{
    if (err == NULL) {
        return 0;
    }
    int rc = st_err(STRATA_E_IO, "rocksdb %s: %s", what, err);
    rocksdb_free(err);
    return rc;
}

/* As check, but RocksDB's Busy (conflict, deadlock), TimedOut (lock wait) and TryAgain
 * (optimistic validation without enough memtable history) statuses are STRATA_E_BUSY. */
static int check_txn(char *err, const char *what)
{
    if (err != NULL &&
        (strncmp(err, "Resource busy", 13) == 0 || strncmp(err, "Operation timed out", 19) == 0 ||
         strncmp(err, "Operation failed. Try again", 27) == 0)) {
        int rc = st_err(STRATA_E_BUSY, "rocksdb %s: %s", what, err);
        rocksdb_free(err);
        return rc;
    }
    return check(err, what);
}

static int compression_type(int c)
{
    switch (c) {
        case BENCH_COMP_SNAPPY:
            return rocksdb_snappy_compression;
        case BENCH_COMP_LZ4:
            return rocksdb_lz4_compression;
        case BENCH_COMP_ZSTD:
            return rocksdb_zstd_compression;
        default:
            return rocksdb_no_compression;
    }
}

/* ---- the uint64 add merge operator ---------------------------------------------------------- */

/* Adds n 8-byte little-endian operands to *sum; 0 when one has another size. */
static int add_operands(const char *const *ops, const size_t *lens, int n, uint64_t *sum)
{
    for (int i = 0; i < n; i++) {
        if (lens[i] != 8) {
            return 0;
        }
        *sum += st_decode_fixed64(ops[i]);
    }
    return 1;
}

/* A malloc'd 8-byte encoding of v (RocksDB hands it back to merge_delete_value). */
static char *u64_value(uint64_t v, unsigned char *success, size_t *len)
{
    char *out = malloc(8);
    *success = out != NULL;
    if (out != NULL) {
        st_encode_fixed64(out, v);
        *len = 8;
    }
    return out;
}

static char *merge_full(void *state, const char *key, size_t klen, const char *existing,
                        size_t elen, const char *const *ops, const size_t *lens, int n,
                        unsigned char *success, size_t *new_len)
{
    (void)state;
    (void)key;
    (void)klen;
    uint64_t sum = 0;
    *success = 0;
    if (existing != NULL) {
        if (elen != 8) {
            return NULL;
        }
        sum = st_decode_fixed64(existing);
    }
    return add_operands(ops, lens, n, &sum) ? u64_value(sum, success, new_len) : NULL;
}

static char *merge_partial(void *state, const char *key, size_t klen, const char *const *ops,
                           const size_t *lens, int n, unsigned char *success, size_t *new_len)
{
    (void)state;
    (void)key;
    (void)klen;
    uint64_t sum = 0;
    *success = 0;
    return add_operands(ops, lens, n, &sum) ? u64_value(sum, success, new_len) : NULL;
}

static void merge_delete_value(void *state, const char *value, size_t len)
{
    (void)state;
    (void)len;
    free((void *)value);
}

/* RocksDB calls the destructor unconditionally when the operator goes away; there is no state. */
static void merge_destroy(void *state)
{
    (void)state;
}

static const char *merge_name(void *state)
{
    (void)state;
    return "strata-bench.uint64add";
}

/* ---- options -------------------------------------------------------------------------------- */

static void set_table_options(const bench_config *cfg, struct bench_db *d)
{
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_size(t, (size_t)cfg->block_size);
    rocksdb_block_based_options_set_block_restart_interval(t, 16);
    d->cache = rocksdb_cache_create_lru((size_t)cfg->cache_size);
    rocksdb_block_based_options_set_block_cache(t, d->cache);
    if (cfg->bloom_bits > 0) {
        /* The table options take ownership of the policy. */
        rocksdb_block_based_options_set_filter_policy(
            t, rocksdb_filterpolicy_create_bloom_full(cfg->bloom_bits));
    }
    rocksdb_options_set_block_based_table_factory(d->opt, t);
    rocksdb_block_based_options_destroy(t);
}

static void make_options(const bench_config *cfg, struct bench_db *d)
{
    d->opt = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(d->opt, 1);
    rocksdb_options_set_create_missing_column_families(d->opt, 1);
    rocksdb_options_set_write_buffer_size(d->opt, (size_t)cfg->write_buffer_size);
    rocksdb_options_set_max_write_buffer_number(d->opt, 2);
    rocksdb_options_set_max_background_jobs(d->opt, cfg->max_background_jobs);
    rocksdb_options_set_max_open_files(d->opt, 1000);
    if (cfg->max_file_size > 0) {
        rocksdb_options_set_target_file_size_base(d->opt, (uint64_t)cfg->max_file_size);
    }
    int type = compression_type(cfg->compression);
    int per_level[ROCKS_LEVELS];
    for (int i = 0; i < ROCKS_LEVELS; i++) {
        per_level[i] = type;
    }
    rocksdb_options_set_num_levels(d->opt, ROCKS_LEVELS);
    rocksdb_options_set_compression(d->opt, type);
    rocksdb_options_set_compression_per_level(d->opt, per_level, ROCKS_LEVELS);
    set_table_options(cfg, d);
    /* The options take ownership of the operator. */
    rocksdb_options_set_merge_operator(
        d->opt, rocksdb_mergeoperator_create(NULL, merge_destroy, merge_full, merge_partial,
                                             merge_delete_value, merge_name));
    d->ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_verify_checksums(d->ro, (unsigned char)cfg->verify_checksums);
    rocksdb_readoptions_set_fill_cache(d->ro, 1);
    d->wo = rocksdb_writeoptions_create();
    d->wo_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(d->wo_sync, 1);
    d->pinned = cfg->pinned_reads;
    d->ncf = cfg->cf;
}

/* The family handles go before the DB they belong to is closed. */
static void drop_handles(struct bench_db *d)
{
    for (int i = 0; i < d->ncf; i++) {
        if (d->cfs[i] != NULL) {
            rocksdb_column_family_handle_destroy(d->cfs[i]);
            d->cfs[i] = NULL;
        }
    }
}

static void free_db(struct bench_db *d)
{
    drop_handles(d);
    if (d->db != NULL) {
        rocksdb_close(d->db);
    }
    if (d->opt != NULL) {
        rocksdb_options_destroy(d->opt);
    }
    if (d->cache != NULL) {
        rocksdb_cache_destroy(d->cache);
    }
    if (d->ro != NULL) {
        rocksdb_readoptions_destroy(d->ro);
    }
    if (d->wo != NULL) {
        rocksdb_writeoptions_destroy(d->wo);
    }
    if (d->wo_sync != NULL) {
        rocksdb_writeoptions_destroy(d->wo_sync);
    }
    st_free(d);
}

/* Names and options (all d->opt) of the d->ncf families, for the open_column_families calls. */
typedef struct families {
    bench_cf_names names;
    const rocksdb_options_t *opts[BENCH_MAX_CF];
} families;

static void families_init(families *f, const struct bench_db *d)
{
    bench_cf_names_init(&f->names, d->ncf);
    for (int i = 0; i < d->ncf; i++) {
        f->opts[i] = d->opt;
    }
}

static struct bench_db *new_db(const bench_config *cfg)
{
    struct bench_db *d = st_calloc(1, sizeof(*d));
    if (d != NULL) {
        make_options(cfg, d);
    }
    return d;
}

static int rdb_open(const bench_config *cfg, const char *path, bench_db **out)
{
    struct bench_db *d = new_db(cfg);
    families f;
    if (d == NULL) {
        return st_err(STRATA_E_NOMEM, "rocksdb: out of memory");
    }
    families_init(&f, d);
    char *err = NULL;
    d->db = rocksdb_open_column_families(d->opt, path, d->ncf, f.names.names, f.opts, d->cfs, &err);
    int rc = check(err, "open");
    if (rc != 0) {
        free_db(d);
        return rc;
    }
    *out = d;
    return 0;
}

static int rdb_close(bench_db *d)
{
    free_db(d);
    return 0;
}

static int rdb_put(bench_db *d, const char *k, size_t klen, const char *v, size_t vlen, int sync)
{
    char *err = NULL;
    rocksdb_put_cf(d->db, sync ? d->wo_sync : d->wo, KEY_CF(d, k, klen), k, klen, v, vlen, &err);
    return check(err, "put");
}

static int rdb_del(bench_db *d, const char *k, size_t klen, int sync)
{
    char *err = NULL;
    rocksdb_delete_cf(d->db, sync ? d->wo_sync : d->wo, KEY_CF(d, k, klen), k, klen, &err);
    return check(err, "delete");
}

static int get_pinned(struct bench_db *d, const char *k, size_t klen, size_t *vlen)
{
    char *err = NULL;
    rocksdb_pinnableslice_t *p =
        rocksdb_get_pinned_cf(d->db, d->ro, KEY_CF(d, k, klen), k, klen, &err);
    if (err != NULL) {
        return check(err, "get");
    }
    if (p == NULL) {
        return STRATA_E_NOTFOUND;
    }
    rocksdb_pinnableslice_value(p, vlen);
    rocksdb_pinnableslice_destroy(p);
    return 0;
}

static int rdb_get(bench_db *d, const char *k, size_t klen, size_t *vlen)
{
    if (d->pinned) {
        return get_pinned(d, k, klen, vlen);
    }
    char *err = NULL;
    char *v = rocksdb_get_cf(d->db, d->ro, KEY_CF(d, k, klen), k, klen, vlen, &err);
    if (err != NULL) {
        return check(err, "get");
    }
    if (v == NULL) {
        return STRATA_E_NOTFOUND;
    }
    rocksdb_free(v);
    return 0;
}

static int rdb_delete_range(bench_db *d, const char *b, size_t blen, const char *e, size_t elen)
{
    char *err = NULL;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    for (int i = 0; i < d->ncf; i++) { /* the range may hold keys of every family */
        rocksdb_writebatch_delete_range_cf(wb, d->cfs[i], b, blen, e, elen);
    }
    rocksdb_write(d->db, d->wo, wb, &err);
    rocksdb_writebatch_destroy(wb);
    return check(err, "delete range");
}

static int rdb_merge(bench_db *d, const char *k, size_t klen, const char *v, size_t vlen)
{
    char *err = NULL;
    rocksdb_merge_cf(d->db, d->wo, KEY_CF(d, k, klen), k, klen, v, vlen, &err);
    return check(err, "merge");
}

static int multi_get_chunk(struct bench_db *d, size_t n, const char *const *keys,
                           const size_t *klens, size_t *vlens, int *found)
{
    char *vals[MULTI_GET_CHUNK];
    char *errs[MULTI_GET_CHUNK];
    const rocksdb_column_family_handle_t *cfs[MULTI_GET_CHUNK];
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        cfs[i] = KEY_CF(d, keys[i], klens[i]);
    }
    rocksdb_multi_get_cf(d->db, d->ro, cfs, n, keys, klens, vals, vlens, errs);
    for (size_t i = 0; i < n; i++) {
        found[i] = vals[i] != NULL;
        rocksdb_free(vals[i]);
        if (errs[i] != NULL && rc == 0) {
            rc = check(errs[i], "multi_get"); /* frees the string */
        } else {
            rocksdb_free(errs[i]);
        }
    }
    return rc;
}

static int rdb_multi_get(bench_db *d, size_t n, const char *const *keys, const size_t *klens,
                         size_t *vlens, int *found)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i += MULTI_GET_CHUNK) {
        size_t m = ST_MIN(n - i, (size_t)MULTI_GET_CHUNK);
        rc = multi_get_chunk(d, m, keys + i, klens + i, vlens + i, found + i);
    }
    return rc;
}

static int rdb_batch_create(bench_db *d, bench_batch **out)
{
    bench_batch *b = st_malloc(sizeof(*b));
    if (b == NULL) {
        return st_err(STRATA_E_NOMEM, "rocksdb: out of memory");
    }
    b->b = rocksdb_writebatch_create();
    b->d = d;
    *out = b;
    return 0;
}

static void rdb_batch_destroy(bench_batch *b)
{
    if (b != NULL) {
        rocksdb_writebatch_destroy(b->b);
        st_free(b);
    }
}

static void rdb_batch_clear(bench_batch *b)
{
    rocksdb_writebatch_clear(b->b);
}

static int rdb_batch_put(bench_batch *b, const char *k, size_t klen, const char *v, size_t vlen)
{
    rocksdb_writebatch_put_cf(b->b, KEY_CF(b->d, k, klen), k, klen, v, vlen);
    return 0;
}

static int rdb_batch_write(bench_db *d, bench_batch *b, int sync)
{
    char *err = NULL;
    rocksdb_write(d->db, sync ? d->wo_sync : d->wo, b->b, &err);
    return check(err, "write");
}

static int rdb_iter_create(bench_db *d, bench_iter **out)
{
    *out = (bench_iter *)rocksdb_create_iterator_cf(d->db, d->ro, d->cfs[0]);
    return 0;
}

static void rdb_iter_destroy(bench_iter *it)
{
    if (it != NULL) {
        rocksdb_iter_destroy(RIT(it));
    }
}

static void rdb_seek_first(bench_iter *it)
{
    rocksdb_iter_seek_to_first(RIT(it));
}

static void rdb_seek_last(bench_iter *it)
{
    rocksdb_iter_seek_to_last(RIT(it));
}

static void rdb_seek(bench_iter *it, const char *k, size_t klen)
{
    rocksdb_iter_seek(RIT(it), k, klen);
}

static void rdb_next(bench_iter *it)
{
    rocksdb_iter_next(RIT(it));
}

static void rdb_prev(bench_iter *it)
{
    rocksdb_iter_prev(RIT(it));
}

static int rdb_valid(bench_iter *it)
{
    return rocksdb_iter_valid(RIT(it));
}

static const char *rdb_key(bench_iter *it, size_t *klen)
{
    return rocksdb_iter_key(RIT(it), klen);
}

static const char *rdb_value(bench_iter *it, size_t *vlen)
{
    return rocksdb_iter_value(RIT(it), vlen);
}

static int rdb_iter_status(bench_iter *it)
{
    char *err = NULL;
    rocksdb_iter_get_error(RIT(it), &err);
    return check(err, "iterator");
}

/* "Cumulative stall: HH:MM:SS.sss H:M:S, P percent" in the DB stats section. */
static int parse_stall(const char *stats, uint64_t *out)
{
    const char *p = strstr(stats, "Cumulative stall:");
    unsigned h = 0;
    unsigned m = 0;
    double s = 0;
    if (p == NULL || sscanf(p, "Cumulative stall: %u:%u:%lf", &h, &m, &s) != 3) {
        return st_err(STRATA_E_NOTSUP, "rocksdb.stats has no cumulative stall line");
    }
    *out = ((uint64_t)h * 3600 + m * 60) * 1000000u + (uint64_t)(s * 1e6 + 0.5);
    return 0;
}

static int rdb_stall(bench_db *d, uint64_t *out)
{
    char *stats = rocksdb_property_value(d->db, "rocksdb.stats");
    if (stats == NULL) {
        return st_err(STRATA_E_NOTSUP, "rocksdb.stats is not available");
    }
    int rc = parse_stall(stats, out);
    rocksdb_free(stats);
    return rc;
}

static void rdb_print_stats(bench_db *d, FILE *out)
{
    char *s = rocksdb_property_value(d->db, "rocksdb.stats");
    fprintf(out, "%s\n", s != NULL ? s : "(rocksdb.stats unavailable)");
    rocksdb_free(s);
}

/* ---- transactions --------------------------------------------------------------------------- */

static void free_txn_db(bench_txn_db *t)
{
    drop_handles(t->d);
    if (t->tdb != NULL) {
        rocksdb_transactiondb_close(t->tdb);
    }
    if (t->odb != NULL) {
        rocksdb_optimistictransactiondb_close(t->odb);
    }
    if (t->tdb_opt != NULL) {
        rocksdb_transactiondb_options_destroy(t->tdb_opt);
    }
    if (t->txn_opt != NULL) {
        rocksdb_transaction_options_destroy(t->txn_opt);
    }
    if (t->otxn_opt != NULL) {
        rocksdb_optimistictransaction_options_destroy(t->otxn_opt);
    }
    free_db(t->d);
    st_free(t);
}

static int rdb_txn_open(const bench_config *cfg, const char *path, int optimistic,
                        bench_txn_db **out)
{
    bench_txn_db *t = st_calloc(1, sizeof(*t));
    families f;
    char *err = NULL;
    if (t == NULL || (t->d = new_db(cfg)) == NULL) {
        st_free(t);
        return st_err(STRATA_E_NOMEM, "rocksdb: out of memory");
    }
    struct bench_db *d = t->d;
    families_init(&f, d);
    if (optimistic) {
        t->otxn_opt = rocksdb_optimistictransaction_options_create();
        /* strata's transactions take a snapshot at begin by default: the same isolation here */
        rocksdb_optimistictransaction_options_set_set_snapshot(t->otxn_opt, 1);
        t->odb = rocksdb_optimistictransactiondb_open_column_families(
            d->opt, path, d->ncf, f.names.names, f.opts, d->cfs, &err);
    } else {
        t->tdb_opt = rocksdb_transactiondb_options_create();
        rocksdb_transactiondb_options_set_transaction_lock_timeout(t->tdb_opt, 1000);
        rocksdb_transactiondb_options_set_num_stripes(t->tdb_opt, 16);
        t->txn_opt = rocksdb_transaction_options_create();
        rocksdb_transaction_options_set_deadlock_detect(t->txn_opt, 1);
        rocksdb_transaction_options_set_set_snapshot(t->txn_opt, 1);
        t->tdb = rocksdb_transactiondb_open_column_families(d->opt, t->tdb_opt, path, d->ncf,
                                                            f.names.names, f.opts, d->cfs, &err);
    }
    int rc = check(err, optimistic ? "optimistic transaction db open" : "transaction db open");
    if (rc != 0) {
        free_txn_db(t);
        return rc;
    }
    *out = t;
    return 0;
}

static int rdb_txn_close(bench_txn_db *t)
{
    free_txn_db(t);
    return 0;
}

static int rdb_txn_begin(bench_txn_db *t, bench_txn **out)
{
    rocksdb_transaction_t *x =
        t->odb != NULL ? rocksdb_optimistictransaction_begin(t->odb, t->d->wo, t->otxn_opt, NULL)
                       : rocksdb_transaction_begin(t->tdb, t->d->wo, t->txn_opt, NULL);
    if (x == NULL) {
        return st_err(STRATA_E_NOMEM, "rocksdb: transaction begin failed");
    }
    *out = (bench_txn *)x;
    return 0;
}

static int rdb_txn_get_for_update(bench_txn_db *t, bench_txn *x, const char *k, size_t klen,
                                  char *buf, size_t cap, size_t *vlen)
{
    char *err = NULL;
    char *v = rocksdb_transaction_get_for_update_cf(RTX(x), t->d->ro, KEY_CF(t->d, k, klen), k,
                                                    klen, vlen, 1, &err);
    if (err != NULL) {
        return check_txn(err, "get_for_update");
    }
    if (v == NULL) {
        return STRATA_E_NOTFOUND;
    }
    memcpy(buf, v, ST_MIN(cap, *vlen));
    rocksdb_free(v);
    return 0;
}

static int rdb_txn_put(bench_txn_db *t, bench_txn *x, const char *k, size_t klen, const char *v,
                       size_t vlen)
{
    char *err = NULL;
    rocksdb_transaction_put_cf(RTX(x), KEY_CF(t->d, k, klen), k, klen, v, vlen, &err);
    return check_txn(err, "transaction put");
}

static int rdb_txn_commit(bench_txn *x)
{
    char *err = NULL;
    rocksdb_transaction_commit(RTX(x), &err);
    return check_txn(err, "commit");
}

static void rdb_txn_destroy(bench_txn *x)
{
    if (x != NULL) {
        rocksdb_transaction_destroy(RTX(x));
    }
}

const bench_engine bench_engine_rocksdb = {
    .name = "rocksdb",
    .column_families = 1,
    .open = rdb_open,
    .close = rdb_close,
    .put = rdb_put,
    .del = rdb_del,
    .get = rdb_get,
    .batch_create = rdb_batch_create,
    .batch_destroy = rdb_batch_destroy,
    .batch_clear = rdb_batch_clear,
    .batch_put = rdb_batch_put,
    .batch_write = rdb_batch_write,
    .iter_create = rdb_iter_create,
    .iter_destroy = rdb_iter_destroy,
    .iter_seek_first = rdb_seek_first,
    .iter_seek_last = rdb_seek_last,
    .iter_seek = rdb_seek,
    .iter_next = rdb_next,
    .iter_prev = rdb_prev,
    .iter_valid = rdb_valid,
    .iter_key = rdb_key,
    .iter_value = rdb_value,
    .iter_status = rdb_iter_status,
    .delete_range = rdb_delete_range,
    .merge = rdb_merge,
    .multi_get = rdb_multi_get,
    .txn_open = rdb_txn_open,
    .txn_close = rdb_txn_close,
    .txn_begin = rdb_txn_begin,
    .txn_get_for_update = rdb_txn_get_for_update,
    .txn_put = rdb_txn_put,
    .txn_commit = rdb_txn_commit,
    .txn_destroy = rdb_txn_destroy,
    .stall_micros = rdb_stall,
    .print_stats = rdb_print_stats,
};
