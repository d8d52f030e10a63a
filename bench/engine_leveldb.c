/* engine_leveldb.c — strata-bench adapter for the LevelDB C API (leveldb/c.h), shared by two
 * engines: `leveldb` (real LevelDB, linked directly) and `strata-leveldb` (strata's drop-in
 * libstrata_leveldb, loaded with dlopen by engine_strata_leveldb.c).  Every call goes through a
 * bench_ldb_api table (ldb_api.h), so both engines are set up and driven by exactly the same calls,
 * as one LevelDB program linked once to each library would be.  Batches and iterators carry their
 * table (one pointer load more per call than a direct call; both engines pay it).
 *
 * Parity preset (docs/fragments/bench.md): write_buffer_size, block_size, a private LRU cache of
 * cache_size bytes, a bloom filter of bloom_bits bits per key (none when 0), snappy or no
 * compression (LevelDB has no other codec: anything else is STRATA_E_NOTSUP), restart interval 16,
 * max_open_files 1000, max_file_size when --max_file_size is set (else the library's default, 2
 * MiB).  LevelDB has one fixed background thread, so max_background_jobs has no counterpart here.
 * Level shape (10 MiB level-1 target) stays at the library's defaults.
 * Errors arrive as malloc'd strings; each is turned into STRATA_E_IO with the text as detail. */
#include <stddef.h>
#include <stdlib.h>

#include "engine.h"
#include "ldb_api.h"
#include "util/alloc.h"
#include "util/status.h"

struct bench_db {
    const bench_ldb_api *api;
    leveldb_t *db;
    leveldb_options_t *opt;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *filter;
    leveldb_readoptions_t *ro;
    leveldb_writeoptions_t *wo;
    leveldb_writeoptions_t *wo_sync;
};

struct bench_batch {
    const bench_ldb_api *api;
    leveldb_writebatch_t *b;
};

struct bench_iter {
    const bench_ldb_api *api;
    leveldb_iterator_t *it;
};

/* Turns a LevelDB error string into a code (freeing the string); 0 when there is none. */
static int check(const bench_ldb_api *api, char *err, const char *what)
{
    if (err == NULL) {
        return 0;
    }
    int rc = st_err(STRATA_E_IO, "leveldb %s: %s", what, err);
    api->leveldb_free(err);
    return rc;
}

static int make_options(const bench_config *cfg, struct bench_db *d)
{
    const bench_ldb_api *A = d->api;
    if (cfg->compression != BENCH_COMP_NONE && cfg->compression != BENCH_COMP_SNAPPY) {
        return st_err(STRATA_E_NOTSUP, "leveldb: compression %s is not supported",
                      bench_compression_name(cfg->compression));
    }
    d->opt = A->leveldb_options_create();
    A->leveldb_options_set_create_if_missing(d->opt, 1);
    A->leveldb_options_set_write_buffer_size(d->opt, (size_t)cfg->write_buffer_size);
    A->leveldb_options_set_block_size(d->opt, (size_t)cfg->block_size);
    A->leveldb_options_set_block_restart_interval(d->opt, 16);
    A->leveldb_options_set_max_open_files(d->opt, 1000);
    if (cfg->max_file_size > 0) {
        A->leveldb_options_set_max_file_size(d->opt, (size_t)cfg->max_file_size);
    }
    A->leveldb_options_set_compression(d->opt, cfg->compression == BENCH_COMP_SNAPPY
                                                   ? leveldb_snappy_compression
                                                   : leveldb_no_compression);
    d->cache = A->leveldb_cache_create_lru((size_t)cfg->cache_size);
    A->leveldb_options_set_cache(d->opt, d->cache);
    if (cfg->bloom_bits > 0) {
        d->filter = A->leveldb_filterpolicy_create_bloom(cfg->bloom_bits);
        A->leveldb_options_set_filter_policy(d->opt, d->filter);
    }
    d->ro = A->leveldb_readoptions_create();
    A->leveldb_readoptions_set_verify_checksums(d->ro, (uint8_t)cfg->verify_checksums);
    A->leveldb_readoptions_set_fill_cache(d->ro, 1);
    d->wo = A->leveldb_writeoptions_create();
    d->wo_sync = A->leveldb_writeoptions_create();
    A->leveldb_writeoptions_set_sync(d->wo_sync, 1);
    return 0;
}

static void free_db(struct bench_db *d)
{
    const bench_ldb_api *A = d->api;
    if (d->db != NULL) {
        A->leveldb_close(d->db);
    }
    if (d->opt != NULL) {
        A->leveldb_options_destroy(d->opt);
    }
    if (d->filter != NULL) {
        A->leveldb_filterpolicy_destroy(d->filter);
    }
    if (d->cache != NULL) {
        A->leveldb_cache_destroy(d->cache);
    }
    if (d->ro != NULL) {
        A->leveldb_readoptions_destroy(d->ro);
    }
    if (d->wo != NULL) {
        A->leveldb_writeoptions_destroy(d->wo);
    }
    if (d->wo_sync != NULL) {
        A->leveldb_writeoptions_destroy(d->wo_sync);
    }
    st_free(d);
}

/* Opens the DB at path through api (either engine). */
static int open_with(const bench_ldb_api *api, const bench_config *cfg, const char *path,
                     bench_db **out)
{
    struct bench_db *d = st_calloc(1, sizeof(*d));
    if (d == NULL) {
        return st_err(STRATA_E_NOMEM, "leveldb: out of memory");
    }
    d->api = api;
    char *err = NULL;
    int rc = make_options(cfg, d);
    if (rc == 0) {
        d->db = api->leveldb_open(d->opt, path, &err);
        rc = check(api, err, "open");
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
    d->api->leveldb_put(d->db, sync ? d->wo_sync : d->wo, k, klen, v, vlen, &err);
    return check(d->api, err, "put");
}

static int ldb_del(bench_db *d, const char *k, size_t klen, int sync)
{
    char *err = NULL;
    d->api->leveldb_delete(d->db, sync ? d->wo_sync : d->wo, k, klen, &err);
    return check(d->api, err, "delete");
}

/* LevelDB's C API has no zero-copy get: the value is always a malloc'd copy. */
static int ldb_get(bench_db *d, const char *k, size_t klen, size_t *vlen)
{
    char *err = NULL;
    char *v = d->api->leveldb_get(d->db, d->ro, k, klen, vlen, &err);
    if (err != NULL) {
        return check(d->api, err, "get");
    }
    if (v == NULL) {
        return STRATA_E_NOTFOUND;
    }
    d->api->leveldb_free(v);
    return 0;
}

static int ldb_batch_create(bench_db *d, bench_batch **out)
{
    struct bench_batch *b = st_calloc(1, sizeof(*b));
    if (b == NULL) {
        return st_err(STRATA_E_NOMEM, "leveldb: out of memory");
    }
    b->api = d->api;
    b->b = d->api->leveldb_writebatch_create();
    *out = b;
    return 0;
}

static void ldb_batch_destroy(bench_batch *b)
{
    if (b != NULL) {
        b->api->leveldb_writebatch_destroy(b->b);
        st_free(b);
    }
}

static void ldb_batch_clear(bench_batch *b)
{
    b->api->leveldb_writebatch_clear(b->b);
}

static int ldb_batch_put(bench_batch *b, const char *k, size_t klen, const char *v, size_t vlen)
{
    b->api->leveldb_writebatch_put(b->b, k, klen, v, vlen);
    return 0;
}

static int ldb_batch_write(bench_db *d, bench_batch *b, int sync)
{
    char *err = NULL;
    d->api->leveldb_write(d->db, sync ? d->wo_sync : d->wo, b->b, &err);
    return check(d->api, err, "write");
}

static int ldb_iter_create(bench_db *d, bench_iter **out)
{
    struct bench_iter *it = st_calloc(1, sizeof(*it));
    if (it == NULL) {
        return st_err(STRATA_E_NOMEM, "leveldb: out of memory");
    }
    it->api = d->api;
    it->it = d->api->leveldb_create_iterator(d->db, d->ro);
    *out = it;
    return 0;
}

static void ldb_iter_destroy(bench_iter *it)
{
    if (it != NULL) {
        it->api->leveldb_iter_destroy(it->it);
        st_free(it);
    }
}

static void ldb_seek_first(bench_iter *it)
{
    it->api->leveldb_iter_seek_to_first(it->it);
}

static void ldb_seek_last(bench_iter *it)
{
    it->api->leveldb_iter_seek_to_last(it->it);
}

static void ldb_seek(bench_iter *it, const char *k, size_t klen)
{
    it->api->leveldb_iter_seek(it->it, k, klen);
}

static void ldb_next(bench_iter *it)
{
    it->api->leveldb_iter_next(it->it);
}

static void ldb_prev(bench_iter *it)
{
    it->api->leveldb_iter_prev(it->it);
}

static int ldb_valid(bench_iter *it)
{
    return it->api->leveldb_iter_valid(it->it);
}

static const char *ldb_key(bench_iter *it, size_t *klen)
{
    return it->api->leveldb_iter_key(it->it, klen);
}

static const char *ldb_value(bench_iter *it, size_t *vlen)
{
    return it->api->leveldb_iter_value(it->it, vlen);
}

static int ldb_iter_status(bench_iter *it)
{
    char *err = NULL;
    it->api->leveldb_iter_get_error(it->it, &err);
    return check(it->api, err, "iterator");
}

/* LevelDB counts no stall time (its writers sleep 1 ms or wait without recording it), and its C
 * API has no property for it: strata's shim is measured the same way. */
static int ldb_stall(bench_db *d, uint64_t *out)
{
    (void)d;
    (void)out;
    return STRATA_E_NOTSUP;
}

static void ldb_print_stats(bench_db *d, FILE *out)
{
    char *s = d->api->leveldb_property_value(d->db, "leveldb.stats");
    fprintf(out, "%s\n", s != NULL ? s : "(leveldb.stats unavailable)");
    d->api->leveldb_free(s);
}

/* The slot names and offsets, for the dlsym loader. */
#define LDB_API_SYM(f) {#f, offsetof(bench_ldb_api, f)},
const bench_ldb_api_sym bench_ldb_api_syms[] = {LDB_API_FUNCS(LDB_API_SYM){NULL, 0}};
#undef LDB_API_SYM

/* Every operation but open is the same for both engines.  LevelDB's C API has no range deletes,
 * merge operators, multi-get, column families or transactions: those workloads, and every
 * workload under --cf > 1, are skipped. */
#define LDB_ENGINE_OPS                      \
    .close = ldb_close,                     \
    .put = ldb_put,                         \
    .del = ldb_del,                         \
    .get = ldb_get,                         \
    .batch_create = ldb_batch_create,       \
    .batch_destroy = ldb_batch_destroy,     \
    .batch_clear = ldb_batch_clear,         \
    .batch_put = ldb_batch_put,             \
    .batch_write = ldb_batch_write,         \
    .iter_create = ldb_iter_create,         \
    .iter_destroy = ldb_iter_destroy,       \
    .iter_seek_first = ldb_seek_first,      \
    .iter_seek_last = ldb_seek_last,        \
    .iter_seek = ldb_seek,                  \
    .iter_next = ldb_next,                  \
    .iter_prev = ldb_prev,                  \
    .iter_valid = ldb_valid,                \
    .iter_key = ldb_key,                    \
    .iter_value = ldb_value,                \
    .iter_status = ldb_iter_status,         \
    .delete_range = NULL,                   \
    .merge = NULL,                          \
    .multi_get = NULL,                      \
    .stall_micros = ldb_stall,              \
    .print_stats = ldb_print_stats

#ifdef STRATA_BENCH_HAVE_LEVELDB
/* Real LevelDB, linked directly: the table holds the addresses the linker resolved. */
#define LDB_API_DIRECT(f) .f = f,
static const bench_ldb_api direct_api = {LDB_API_FUNCS(LDB_API_DIRECT)};
#undef LDB_API_DIRECT

static int ldb_open(const bench_config *cfg, const char *path, bench_db **out)
{
    return open_with(&direct_api, cfg, path, out);
}

const bench_engine bench_engine_leveldb = {
    .name = "leveldb",
    .open = ldb_open,
    LDB_ENGINE_OPS,
};
#endif

#ifdef STRATA_BENCH_HAVE_STRATA_LEVELDB
static int sldb_open(const bench_config *cfg, const char *path, bench_db **out)
{
    const bench_ldb_api *api = NULL;
    int rc = bench_strata_leveldb_api(&api);
    return rc ? rc : open_with(api, cfg, path, out);
}

const bench_engine bench_engine_strata_leveldb = {
    .name = "strata-leveldb",
    .drop_in_for = "leveldb",
    .unavailable = bench_strata_leveldb_unavailable,
    .open = sldb_open,
    LDB_ENGINE_OPS,
};
#endif
