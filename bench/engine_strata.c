/* engine_strata.c — strata-bench adapter for strata through its native API (include/strata.h),
 * not the LevelDB shim, so that real LevelDB can live in the same process.
 *
 * Parity preset (docs/fragments/bench.md): write_buffer_size with max_write_buffers 2, block_size,
 * restart interval 16, a private block cache of cache_size bytes, bloom_bits_per_key (0 disables
 * filters), one compression type for every level, max_background_jobs, max_open_files 1000, and
 * target_file_size when --max_file_size is set.  Level shape stays at strata's defaults.  Stall
 * time is the integer property strata.stall-micros.
 * Every DB gets the built-in uint64add merge operator (engine.h), set before --strata_options so
 * that string may replace it.  Every operation goes through the _cf functions, to the family of
 * its key (engine.h "Column families"; with --cf=1 always "default"); every family is opened with
 * the same options.  Transactions: strata_txn_db_open_cf + strata_txn_begin (pessimistic), or a
 * plain DB + strata_optimistic_txn_begin. */
#include <stdio.h>
#include <strata.h>
#include <string.h>

#include "engine.h"
#include "util/alloc.h"
#include "util/compiler.h"
#include "util/status.h"

/* strata_multi_get's arrays live on the stack; longer lists go in chunks of this many keys. */
#define MULTI_GET_CHUNK 64

struct bench_db {
    strata_db *db;
    strata_cf *cfs[BENCH_MAX_CF]; /* handles of the families, owned by db */
    int ncf;
    strata_merge_operator *merge_op; /* destroyed after the DB is closed */
    strata_read_options *ro;
    strata_write_options *wo;
    strata_write_options *wo_sync;
    int pinned;
};

/* A transaction DB is a bench_db opened for one kind of transaction. */
struct bench_txn_db {
    struct bench_db *d;
    int optimistic;
};

/* A batch remembers its DB, whose family handles its puts need. */
struct bench_batch {
    strata_batch *b;
    struct bench_db *d;
};

#define SIT(it) ((strata_iter *)(it))
#define STX(x) ((strata_txn *)(x))
/* The family of key k. */
#define KEY_CF(d, k, klen) ((d)->cfs[bench_cf_of((k), (klen), (d)->ncf)])

static int compression_type(int c)
{
    switch (c) {
        case BENCH_COMP_SNAPPY:
            return STRATA_COMPRESSION_SNAPPY;
        case BENCH_COMP_LZ4:
            return STRATA_COMPRESSION_LZ4;
        case BENCH_COMP_ZSTD:
            return STRATA_COMPRESSION_ZSTD;
        default:
            return STRATA_COMPRESSION_NONE;
    }
}

/* Applies the parity preset; the first rejected setting is the error. */
static int set_options(const bench_config *cfg, strata_merge_operator *mo, strata_options *opt)
{
    int rc = strata_options_set_create_if_missing(opt, 1);
    rc = rc ? rc : strata_options_set_write_buffer_size(opt, (size_t)cfg->write_buffer_size);
    rc = rc ? rc : strata_options_set_max_write_buffers(opt, 2);
    rc = rc ? rc : strata_options_set_block_size(opt, (size_t)cfg->block_size);
    rc = rc ? rc : strata_options_set_block_restart_interval(opt, 16);
    rc = rc ? rc : strata_options_set_block_cache_size(opt, (size_t)cfg->cache_size);
    rc = rc ? rc : strata_options_set_bloom_bits_per_key(opt, cfg->bloom_bits);
    rc = rc ? rc : strata_options_set_compression(opt, compression_type(cfg->compression));
    rc = rc ? rc : strata_options_set_max_background_jobs(opt, cfg->max_background_jobs);
    rc = rc ? rc : strata_options_set_max_open_files(opt, 1000);
    if (rc == 0 && cfg->max_file_size > 0) {
        rc = strata_options_set_target_file_size(opt, (uint64_t)cfg->max_file_size);
    }
    rc = rc ? rc : strata_options_set_merge_operator(opt, mo);
    if (rc == 0 && cfg->strata_options != NULL) {
        rc = strata_options_from_string(opt, cfg->strata_options);
    }
    if (rc != 0) {
        return st_err_context(rc, "strata options");
    }
    return 0;
}

static void free_db(struct bench_db *d)
{
    strata_read_options_destroy(d->ro);
    strata_write_options_destroy(d->wo);
    strata_write_options_destroy(d->wo_sync);
    strata_merge_operator_destroy(d->merge_op);
    st_free(d);
}

static int make_db(const bench_config *cfg, struct bench_db **out)
{
    struct bench_db *d = st_calloc(1, sizeof(*d));
    if (d == NULL) {
        return st_err(STRATA_E_NOMEM, "strata: out of memory");
    }
    d->ro = strata_read_options_create();
    d->wo = strata_write_options_create();
    d->wo_sync = strata_write_options_create();
    d->merge_op = strata_merge_operator_uint64_add();
    if (d->ro == NULL || d->wo == NULL || d->wo_sync == NULL || d->merge_op == NULL) {
        free_db(d);
        return st_err(STRATA_E_NOMEM, "strata: out of memory");
    }
    strata_read_options_set_verify_checksums(d->ro, cfg->verify_checksums);
    strata_read_options_set_fill_cache(d->ro, 1);
    strata_write_options_set_sync(d->wo_sync, 1);
    d->pinned = cfg->pinned_reads;
    *out = d;
    return 0;
}

/* Opens the cfg->cf families of the DB at path into d: as a transaction DB when txn_db. */
static int open_families(const bench_config *cfg, const char *path, int txn_db, struct bench_db *d)
{
    bench_cf_names names;
    strata_options *opt = strata_options_create();
    if (opt == NULL) {
        return st_err(STRATA_E_NOMEM, "strata: out of memory");
    }
    d->ncf = cfg->cf;
    bench_cf_names_init(&names, d->ncf);
    int rc = set_options(cfg, d->merge_op, opt);
    if (rc == 0 && txn_db) {
        rc = strata_txn_db_open_cf(opt, NULL, path, (size_t)d->ncf, names.names, NULL, d->cfs,
                                   &d->db);
    } else if (rc == 0) {
        rc = strata_open_cf(opt, path, (size_t)d->ncf, names.names, NULL, d->cfs, &d->db);
    }
    if (rc != 0) {
        rc = st_err_context(rc, "strata open %s", path);
    }
    strata_options_destroy(opt);
    return rc;
}

static int sdb_open(const bench_config *cfg, const char *path, bench_db **out)
{
    struct bench_db *d = NULL;
    int rc = make_db(cfg, &d);
    rc = rc ? rc : open_families(cfg, path, 0, d);
    if (rc != 0 && d != NULL) {
        free_db(d);
    }
    if (rc == 0) {
        *out = d;
    }
    return rc;
}

static int sdb_close(bench_db *d)
{
    int rc = strata_close(d->db);
    if (rc != 0) {
        rc = st_err_context(rc, "strata close");
    }
    free_db(d);
    return rc;
}

/* strata sets its own detail message; pass codes through unchanged. */
static int sdb_put(bench_db *d, const char *k, size_t klen, const char *v, size_t vlen, int sync)
{
    return strata_put_cf(d->db, sync ? d->wo_sync : d->wo, KEY_CF(d, k, klen), k, klen, v, vlen);
}

static int sdb_del(bench_db *d, const char *k, size_t klen, int sync)
{
    return strata_delete_cf(d->db, sync ? d->wo_sync : d->wo, KEY_CF(d, k, klen), k, klen);
}

static int sdb_get(bench_db *d, const char *k, size_t klen, size_t *vlen)
{
    if (d->pinned) {
        strata_pinned *p = NULL;
        int rc = strata_get_pinned_cf(d->db, d->ro, KEY_CF(d, k, klen), k, klen, &p);
        if (rc == 0) {
            strata_pinned_value(p, vlen);
            strata_pinned_release(p);
        }
        return rc;
    }
    void *v = NULL;
    int rc = strata_get_cf(d->db, d->ro, KEY_CF(d, k, klen), k, klen, &v, vlen);
    strata_free(v);
    return rc;
}

/* One range delete per family, in one batch. */
static int sdb_delete_range(bench_db *d, const char *b, size_t blen, const char *e, size_t elen)
{
    if (d->ncf == 1) {
        return strata_delete_range_cf(d->db, d->wo, d->cfs[0], b, blen, e, elen);
    }
    strata_batch *wb = strata_batch_create();
    int rc = wb != NULL ? 0 : st_err(STRATA_E_NOMEM, "strata: out of memory");
    for (int i = 0; rc == 0 && i < d->ncf; i++) {
        rc = strata_batch_delete_range_cf(wb, d->cfs[i], b, blen, e, elen);
    }
    rc = rc ? rc : strata_write(d->db, d->wo, wb);
    strata_batch_destroy(wb);
    return rc;
}

static int sdb_merge(bench_db *d, const char *k, size_t klen, const char *v, size_t vlen)
{
    return strata_merge_cf(d->db, d->wo, KEY_CF(d, k, klen), k, klen, v, vlen);
}

static int multi_get_chunk(bench_db *d, strata_cf *cf, size_t n, const char *const *keys,
                           const size_t *klens, size_t *vlens, int *found)
{
    void *vals[MULTI_GET_CHUNK];
    int status[MULTI_GET_CHUNK];
    for (size_t i = 0; i < n; i++) {
        vals[i] = NULL; /* as they stay if the call fails before filling them */
        status[i] = STRATA_E_INVALID;
    }
    int rc = strata_multi_get_cf(d->db, d->ro, cf, n, (const void *const *)keys, klens, vals, vlens,
                                 status);
    for (size_t i = 0; i < n; i++) {
        found[i] = status[i] == STRATA_OK;
        strata_free(vals[i]);
    }
    return rc;
}

/* The keys of one chunk that belong to family f, in one strata_multi_get_cf (strata has no
 * multi-get across families), results scattered back to their places. */
static int multi_get_family(bench_db *d, int f, size_t n, const char *const *keys,
                            const size_t *klens, size_t *vlens, int *found)
{
    const char *sk[MULTI_GET_CHUNK];
    size_t sl[MULTI_GET_CHUNK], sv[MULTI_GET_CHUNK], at[MULTI_GET_CHUNK];
    int sf[MULTI_GET_CHUNK];
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (bench_cf_of(keys[i], klens[i], d->ncf) == f) {
            at[m] = i;
            sk[m] = keys[i];
            sl[m++] = klens[i];
        }
    }
    int rc = m > 0 ? multi_get_chunk(d, d->cfs[f], m, sk, sl, sv, sf) : 0;
    for (size_t j = 0; rc == 0 && j < m; j++) {
        vlens[at[j]] = sv[j];
        found[at[j]] = sf[j];
    }
    return rc;
}

static int sdb_multi_get(bench_db *d, size_t n, const char *const *keys, const size_t *klens,
                         size_t *vlens, int *found)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i += MULTI_GET_CHUNK) {
        size_t m = ST_MIN(n - i, (size_t)MULTI_GET_CHUNK);
        if (d->ncf == 1) {
            rc = multi_get_chunk(d, d->cfs[0], m, keys + i, klens + i, vlens + i, found + i);
        }
        for (int f = 0; d->ncf > 1 && rc == 0 && f < d->ncf; f++) {
            rc = multi_get_family(d, f, m, keys + i, klens + i, vlens + i, found + i);
        }
    }
    return rc;
}

static int sdb_batch_create(bench_db *d, bench_batch **out)
{
    bench_batch *b = st_malloc(sizeof(*b));
    if (b != NULL) {
        b->d = d;
        b->b = strata_batch_create();
    }
    if (b == NULL || b->b == NULL) {
        st_free(b);
        return st_err(STRATA_E_NOMEM, "strata: out of memory");
    }
    *out = b;
    return 0;
}

static void sdb_batch_destroy(bench_batch *b)
{
    if (b != NULL) {
        strata_batch_destroy(b->b);
        st_free(b);
    }
}

static void sdb_batch_clear(bench_batch *b)
{
    strata_batch_clear(b->b);
}

static int sdb_batch_put(bench_batch *b, const char *k, size_t klen, const char *v, size_t vlen)
{
    return strata_batch_put_cf(b->b, KEY_CF(b->d, k, klen), k, klen, v, vlen);
}

static int sdb_batch_write(bench_db *d, bench_batch *b, int sync)
{
    return strata_write(d->db, sync ? d->wo_sync : d->wo, b->b);
}

static int sdb_iter_create(bench_db *d, bench_iter **out)
{
    strata_iter *it = NULL;
    int rc = strata_iter_create_cf(d->db, d->ro, d->cfs[0], &it);
    if (rc == 0) {
        *out = (bench_iter *)it;
    }
    return rc;
}

static void sdb_iter_destroy(bench_iter *it)
{
    strata_iter_destroy(SIT(it));
}

static void sdb_seek_first(bench_iter *it)
{
    strata_iter_seek_to_first(SIT(it));
}

static void sdb_seek_last(bench_iter *it)
{
    strata_iter_seek_to_last(SIT(it));
}

static void sdb_seek(bench_iter *it, const char *k, size_t klen)
{
    strata_iter_seek(SIT(it), k, klen);
}

static void sdb_next(bench_iter *it)
{
    strata_iter_next(SIT(it));
}

static void sdb_prev(bench_iter *it)
{
    strata_iter_prev(SIT(it));
}

static int sdb_valid(bench_iter *it)
{
    return strata_iter_valid(SIT(it));
}

static const char *sdb_key(bench_iter *it, size_t *klen)
{
    return strata_iter_key(SIT(it), klen);
}

static const char *sdb_value(bench_iter *it, size_t *vlen)
{
    return strata_iter_value(SIT(it), vlen);
}

static int sdb_iter_status(bench_iter *it)
{
    return strata_iter_status(SIT(it));
}

static int sdb_stall(bench_db *d, uint64_t *out)
{
    return strata_property_int(d->db, "strata.stall-micros", out);
}

static void sdb_print_stats(bench_db *d, FILE *out)
{
    char *s = NULL;
    if (strata_property(d->db, "strata.stats", &s) == 0) {
        fprintf(out, "%s\n", s);
    } else {
        fprintf(out, "(strata.stats unavailable: %s)\n", strata_errmsg());
    }
    strata_free(s);
}

/* ---- transactions --------------------------------------------------------------------------- */

static int sdb_txn_open(const bench_config *cfg, const char *path, int optimistic,
                        bench_txn_db **out)
{
    bench_txn_db *t = st_calloc(1, sizeof(*t));
    int rc = t != NULL ? make_db(cfg, &t->d) : st_err(STRATA_E_NOMEM, "strata: out of memory");
    if (rc == 0) {
        t->optimistic = optimistic;
        rc = open_families(cfg, path, !optimistic, t->d);
    }
    if (rc != 0) {
        if (t != NULL && t->d != NULL) {
            free_db(t->d);
        }
        st_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

static int sdb_txn_close(bench_txn_db *t)
{
    int rc = sdb_close(t->d);
    st_free(t);
    return rc;
}

static int sdb_txn_begin(bench_txn_db *t, bench_txn **out)
{
    strata_txn *x = t->optimistic ? strata_optimistic_txn_begin(t->d->db, t->d->wo, NULL)
                                  : strata_txn_begin(t->d->db, t->d->wo, NULL);
    if (x == NULL) {
        return st_err(STRATA_E_IO, "strata txn begin: %s", strata_errmsg());
    }
    *out = (bench_txn *)x;
    return 0;
}

static int sdb_txn_get_for_update(bench_txn_db *t, bench_txn *x, const char *k, size_t klen,
                                  char *buf, size_t cap, size_t *vlen)
{
    void *v = NULL;
    int rc =
        strata_txn_get_for_update_cf(STX(x), t->d->ro, KEY_CF(t->d, k, klen), k, klen, &v, vlen, 1);
    if (rc == 0) {
        memcpy(buf, v, ST_MIN(cap, *vlen));
    }
    strata_free(v);
    return rc;
}

static int sdb_txn_put(bench_txn_db *t, bench_txn *x, const char *k, size_t klen, const char *v,
                       size_t vlen)
{
    return strata_txn_put_cf(STX(x), KEY_CF(t->d, k, klen), k, klen, v, vlen);
}

static int sdb_txn_commit(bench_txn *x)
{
    return strata_txn_commit(STX(x));
}

static void sdb_txn_destroy(bench_txn *x)
{
    strata_txn_destroy(STX(x));
}

const bench_engine bench_engine_strata = {
    .name = "strata",
    .column_families = 1,
    .open = sdb_open,
    .close = sdb_close,
    .put = sdb_put,
    .del = sdb_del,
    .get = sdb_get,
    .batch_create = sdb_batch_create,
    .batch_destroy = sdb_batch_destroy,
    .batch_clear = sdb_batch_clear,
    .batch_put = sdb_batch_put,
    .batch_write = sdb_batch_write,
    .iter_create = sdb_iter_create,
    .iter_destroy = sdb_iter_destroy,
    .iter_seek_first = sdb_seek_first,
    .iter_seek_last = sdb_seek_last,
    .iter_seek = sdb_seek,
    .iter_next = sdb_next,
    .iter_prev = sdb_prev,
    .iter_valid = sdb_valid,
    .iter_key = sdb_key,
    .iter_value = sdb_value,
    .iter_status = sdb_iter_status,
    .delete_range = sdb_delete_range,
    .merge = sdb_merge,
    .multi_get = sdb_multi_get,
    .txn_open = sdb_txn_open,
    .txn_close = sdb_txn_close,
    .txn_begin = sdb_txn_begin,
    .txn_get_for_update = sdb_txn_get_for_update,
    .txn_put = sdb_txn_put,
    .txn_commit = sdb_txn_commit,
    .txn_destroy = sdb_txn_destroy,
    .stall_micros = sdb_stall,
    .print_stats = sdb_print_stats,
};
