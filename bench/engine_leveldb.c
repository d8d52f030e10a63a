/* engine_leveldb.c — strata-bench adapter for LevelDB through its C API (leveldb/c.h).
 *
 * Parity preset (docs/fragments/bench.md): write_buffer_size, block_size, a private LRU cache of
 * cache_size bytes, a bloom filter of bloom_bits bits per key (none when 0), snappy or no
 * compression (LevelDB has no other codec: anything else is STRATA_E_NOTSUP), restart interval 16,
 * max_open_files 1000.  LevelDB has one fixed background thread, so max_background_jobs has no
 * counterpart here.  Level shape (2 MiB files, 10 MiB level-1 target) stays at LevelDB's defaults.
 * Errors arrive as malloc'd strings; each is turned into STRATA_E_IO with the text as detail. */
#include <leveldb/c.h>
#include <stdlib.h>

#include "engine.h"
#include "util/alloc.h"
#include "util/status.h"

struct bench_db {
    leveldb_t *db;
    leveldb_options_t *opt;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *filter;
    leveldb_readoptions_t *ro;
    leveldb_writeoptions_t *wo;
    leveldb_writeoptions_t *wo_sync;
};

/* A bench_iter is a leveldb_iterator_t; a bench_batch a leveldb_writebatch_t. */
#define LIT(it) ((leveldb_iterator_t *)(it))

/* Turns a LevelDB error string into a code (freeing the string); 0 when there is none. */
static int check(char *err, const char *what)
{
    if (err == NULL) {
        return 0;
    }
    int rc = st_err(STRATA_E_IO, "leveldb %s: %s", what, err);
    leveldb_free(err);
    return rc;
}

static int make_options(const bench_config *cfg, struct bench_db *d)
{
    if (cfg->compression != BENCH_COMP_NONE && cfg->compression != BENCH_COMP_SNAPPY) {
        return st_err(STRATA_E_NOTSUP, "leveldb: compression %s is not supported",
                      bench_compression_name(cfg->compression));
    }
    d->opt = leveldb_options_create();
    leveldb_options_set_create_if_missing(d->opt, 1);
    leveldb_options_set_write_buffer_size(d->opt, (size_t)cfg->write_buffer_size);
    leveldb_options_set_block_size(d->opt, (size_t)cfg->block_size);
    leveldb_options_set_block_restart_interval(d->opt, 16);
    leveldb_options_set_max_open_files(d->opt, 1000);
    leveldb_options_set_compression(d->opt, cfg->compression == BENCH_COMP_SNAPPY
                                                ? leveldb_snappy_compression
                                                : leveldb_no_compression);
    d->cache = leveldb_cache_create_lru((size_t)cfg->cache_size);
    leveldb_options_set_cache(d->opt, d->cache);
    if (cfg->bloom_bits > 0) {
        d->filter = leveldb_filterpolicy_create_bloom(cfg->bloom_bits);
        leveldb_options_set_filter_policy(d->opt, d->filter);
    }
    d->ro = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(d->ro, (uint8_t)cfg->verify_checksums);
    leveldb_readoptions_set_fill_cache(d->ro, 1);
    d->wo = leveldb_writeoptions_create();
    d->wo_sync = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(d->wo_sync, 1);
    return 0;
}

static void free_db(struct bench_db *d)
{
    if (d->db != NULL) {
        leveldb_close(d->db);
    }
    if (d->opt != NULL) {
        leveldb_options_destroy(d->opt);
    }
    if (d->filter != NULL) {
        leveldb_filterpolicy_destroy(d->filter);
    }
    if (d->cache != NULL) {
        leveldb_cache_destroy(d->cache);
    }
    if (d->ro != NULL) {
        leveldb_readoptions_destroy(d->ro);
    }
    if (d->wo != NULL) {
        leveldb_writeoptions_destroy(d->wo);
    }
    if (d->wo_sync != NULL) {
        leveldb_writeoptions_destroy(d->wo_sync);
    }
    st_free(d);
}

static int ldb_open(const bench_config *cfg, const char *path, bench_db **out)
{
    struct bench_db *d = st_calloc(1, sizeof(*d));
    if (d == NULL) {
        return st_err(STRATA_E_NOMEM, "leveldb: out of memory");
    }
    char *err = NULL;
    int rc = make_options(cfg, d);
    if (rc == 0) {
        d->db = leveldb_open(d->opt, path, &err);
        rc = check(err, "open");
    }
    if (rc != 0) {
        free_db(d);
        return rc;
    }
    *out = d;
    return 0;
}

static int ldb_close(bench_db *d)
{
    free_db(d);
    return 0;
}

static int ldb_put(bench_db *d, const char *k, size_t klen, const char *v, size_t vlen, int sync)
{
    char *err = NULL;
    leveldb_put(d->db, sync ? d->wo_sync : d->wo, k, klen, v, vlen, &err);
    return check(err, "put");
}

static int ldb_del(bench_db *d, const char *k, size_t klen, int sync)
{
    char *err = NULL;
    leveldb_delete(d->db, sync ? d->wo_sync : d->wo, k, klen, &err);
    return check(err, "delete");
}

/* LevelDB's C API has no zero-copy get: the value is always a malloc'd copy. */
static int ldb_get(bench_db *d, const char *k, size_t klen, size_t *vlen)
{
    char *err = NULL;
    char *v = leveldb_get(d->db, d->ro, k, klen, vlen, &err);
    if (err != NULL) {
        return check(err, "get");
    }
    if (v == NULL) {
        return STRATA_E_NOTFOUND;
    }
    leveldb_free(v);
    return 0;
}

static int ldb_batch_create(bench_db *d, bench_batch **out)
{
    (void)d;
    *out = (bench_batch *)leveldb_writebatch_create();
    return 0;
}

static void ldb_batch_destroy(bench_batch *b)
{
    if (b != NULL) {
        leveldb_writebatch_destroy((leveldb_writebatch_t *)b);
    }
}

static void ldb_batch_clear(bench_batch *b)
{
    leveldb_writebatch_clear((leveldb_writebatch_t *)b);
}

static int ldb_batch_put(bench_batch *b, const char *k, size_t klen, const char *v, size_t vlen)
{
    leveldb_writebatch_put((leveldb_writebatch_t *)b, k, klen, v, vlen);
    return 0;
}

static int ldb_batch_write(bench_db *d, bench_batch *b, int sync)
{
    char *err = NULL;
    leveldb_write(d->db, sync ? d->wo_sync : d->wo, (leveldb_writebatch_t *)b, &err);
    return check(err, "write");
}

static int ldb_iter_create(bench_db *d, bench_iter **out)
{
    *out = (bench_iter *)leveldb_create_iterator(d->db, d->ro);
    return 0;
}

static void ldb_iter_destroy(bench_iter *it)
{
    if (it != NULL) {
        leveldb_iter_destroy(LIT(it));
    }
}

static void ldb_seek_first(bench_iter *it)
{
    leveldb_iter_seek_to_first(LIT(it));
}

static void ldb_seek_last(bench_iter *it)
{
    leveldb_iter_seek_to_last(LIT(it));
}

static void ldb_seek(bench_iter *it, const char *k, size_t klen)
{
    leveldb_iter_seek(LIT(it), k, klen);
}

static void ldb_next(bench_iter *it)
{
    leveldb_iter_next(LIT(it));
}

static void ldb_prev(bench_iter *it)
{
    leveldb_iter_prev(LIT(it));
}

static int ldb_valid(bench_iter *it)
{
    return leveldb_iter_valid(LIT(it));
}

static const char *ldb_key(bench_iter *it, size_t *klen)
{
    return leveldb_iter_key(LIT(it), klen);
}

static const char *ldb_value(bench_iter *it, size_t *vlen)
{
    return leveldb_iter_value(LIT(it), vlen);
}

static int ldb_iter_status(bench_iter *it)
{
    char *err = NULL;
    leveldb_iter_get_error(LIT(it), &err);
    return check(err, "iterator");
}

/* LevelDB counts no stall time (its writers sleep 1 ms or wait without recording it). */
static int ldb_stall(bench_db *d, uint64_t *out)
{
    (void)d;
    (void)out;
    return STRATA_E_NOTSUP;
}

static void ldb_print_stats(bench_db *d, FILE *out)
{
    char *s = leveldb_property_value(d->db, "leveldb.stats");
    fprintf(out, "%s\n", s != NULL ? s : "(leveldb.stats unavailable)");
    leveldb_free(s);
}

const bench_engine bench_engine_leveldb = {
    .name = "leveldb",
    .open = ldb_open,
    .close = ldb_close,
    .put = ldb_put,
    .del = ldb_del,
    .get = ldb_get,
    .batch_create = ldb_batch_create,
    .batch_destroy = ldb_batch_destroy,
    .batch_clear = ldb_batch_clear,
    .batch_put = ldb_batch_put,
    .batch_write = ldb_batch_write,
    .iter_create = ldb_iter_create,
    .iter_destroy = ldb_iter_destroy,
    .iter_seek_first = ldb_seek_first,
    .iter_seek_last = ldb_seek_last,
    .iter_seek = ldb_seek,
    .iter_next = ldb_next,
    .iter_prev = ldb_prev,
    .iter_valid = ldb_valid,
    .iter_key = ldb_key,
    .iter_value = ldb_value,
    .iter_status = ldb_iter_status,
    /* LevelDB has no range deletes, merge operators, multi-get, column families or transactions:
     * those workloads, and every workload under --cf > 1, are skipped. */
    .delete_range = NULL,
    .merge = NULL,
    .multi_get = NULL,
    .stall_micros = ldb_stall,
    .print_stats = ldb_print_stats,
};
