/* engine_rocksdb.c — strata-bench adapter for RocksDB through its C API (rocksdb/c.h).
 *
 * Parity preset (docs/fragments/bench.md): write_buffer_size with max_write_buffer_number 2 (the
 * active memtable plus one being flushed, as in LevelDB and strata), max_background_jobs equal to
 * strata's, max_open_files 1000 (RocksDB's default is unlimited), the same compression on every
 * level (compression_per_level), and a block-based table with block_size, restart interval 16, a
 * private LRU cache of cache_size bytes and a full-filter bloom of bloom_bits bits per key.  Level
 * shape stays at RocksDB's defaults.  The stall time is parsed from the "Cumulative stall" line of
 * the "rocksdb.stats" property, which needs no statistics object (that one costs throughput).
 *
 * The merge operator (engine.h: uint64 add) is written here through rocksdb_mergeoperator_create,
 * the C API's way to give RocksDB an operator; it behaves as strata's built-in uint64add.  Range
 * deletes go through a one-operation write batch (the C API of RocksDB 7 has no DeleteRange on the
 * default column family without its handle), which is what DB::DeleteRange does internally. */
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
    rocksdb_options_t *opt;
    rocksdb_cache_t *cache;
    rocksdb_readoptions_t *ro;
    rocksdb_writeoptions_t *wo;
    rocksdb_writeoptions_t *wo_sync;
    int pinned;
};

#define RIT(it) ((rocksdb_iterator_t *)(it))
#define RWB(b) ((rocksdb_writebatch_t *)(b))

static int check(char *err, const char *what)
{
    if (err == NULL) {
        return 0;
    }
    int rc = st_err(STRATA_E_IO, "rocksdb %s: %s", what, err);
    rocksdb_free(err);
    return rc;
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
    rocksdb_options_set_write_buffer_size(d->opt, (size_t)cfg->write_buffer_size);
    rocksdb_options_set_max_write_buffer_number(d->opt, 2);
    rocksdb_options_set_max_background_jobs(d->opt, cfg->max_background_jobs);
    rocksdb_options_set_max_open_files(d->opt, 1000);
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
}

static void free_db(struct bench_db *d)
{
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

static int rdb_open(const bench_config *cfg, const char *path, bench_db **out)
{
    struct bench_db *d = st_calloc(1, sizeof(*d));
    if (d == NULL) {
        return st_err(STRATA_E_NOMEM, "rocksdb: out of memory");
    }
    make_options(cfg, d);
    char *err = NULL;
    d->db = rocksdb_open(d->opt, path, &err);
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
    rocksdb_put(d->db, sync ? d->wo_sync : d->wo, k, klen, v, vlen, &err);
    return check(err, "put");
}

static int rdb_del(bench_db *d, const char *k, size_t klen, int sync)
{
    char *err = NULL;
    rocksdb_delete(d->db, sync ? d->wo_sync : d->wo, k, klen, &err);
    return check(err, "delete");
}

static int get_pinned(struct bench_db *d, const char *k, size_t klen, size_t *vlen)
{
    char *err = NULL;
    rocksdb_pinnableslice_t *p = rocksdb_get_pinned(d->db, d->ro, k, klen, &err);
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
    char *v = rocksdb_get(d->db, d->ro, k, klen, vlen, &err);
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
    rocksdb_writebatch_delete_range(wb, b, blen, e, elen);
    rocksdb_write(d->db, d->wo, wb, &err);
    rocksdb_writebatch_destroy(wb);
    return check(err, "delete range");
}

static int rdb_merge(bench_db *d, const char *k, size_t klen, const char *v, size_t vlen)
{
    char *err = NULL;
    rocksdb_merge(d->db, d->wo, k, klen, v, vlen, &err);
    return check(err, "merge");
}

static int multi_get_chunk(struct bench_db *d, size_t n, const char *const *keys,
                           const size_t *klens, size_t *vlens, int *found)
{
    char *vals[MULTI_GET_CHUNK];
    char *errs[MULTI_GET_CHUNK];
    int rc = 0;
    rocksdb_multi_get(d->db, d->ro, n, keys, klens, vals, vlens, errs);
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

static int rdb_batch_create(bench_batch **out)
{
    *out = (bench_batch *)rocksdb_writebatch_create();
    return 0;
}

static void rdb_batch_destroy(bench_batch *b)
{
    if (b != NULL) {
        rocksdb_writebatch_destroy(RWB(b));
    }
}

static void rdb_batch_clear(bench_batch *b)
{
    rocksdb_writebatch_clear(RWB(b));
}

static int rdb_batch_put(bench_batch *b, const char *k, size_t klen, const char *v, size_t vlen)
{
    rocksdb_writebatch_put(RWB(b), k, klen, v, vlen);
    return 0;
}

static int rdb_batch_write(bench_db *d, bench_batch *b, int sync)
{
    char *err = NULL;
    rocksdb_write(d->db, sync ? d->wo_sync : d->wo, RWB(b), &err);
    return check(err, "write");
}

static int rdb_iter_create(bench_db *d, bench_iter **out)
{
    *out = (bench_iter *)rocksdb_create_iterator(d->db, d->ro);
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

const bench_engine bench_engine_rocksdb = {
    .name = "rocksdb",
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
    .stall_micros = rdb_stall,
    .print_stats = rdb_print_stats,
};
