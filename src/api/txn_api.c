/* txn_api.c — public entry points of strata.h for transactions: argument checks (every NULL or
 * bad argument is STRATA_E_INVALID with a message), then the transaction layer (src/txn). */
#include <string.h>

#include "api/api_check.h"
#include "api/options.h"
#include "db/write_batch.h"
#include "txn/txn.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/status.h"


STRATA_EXPORT strata_txn_db_options *strata_txn_db_options_create(void)
{
    strata_txn_db_options *o = st_malloc(sizeof(*o));
    if (o) {
        st_txn_db_options_defaults(o);
    }
    return o;
}

STRATA_EXPORT void strata_txn_db_options_destroy(strata_txn_db_options *o)
{
    st_free(o);
}

STRATA_EXPORT void strata_txn_db_options_set_lock_timeout(strata_txn_db_options *o, int64_t ms)
{
    if (o) {
        o->lock_timeout_ms = ms;
    }
}

STRATA_EXPORT void strata_txn_db_options_set_num_stripes(strata_txn_db_options *o, size_t n)
{
    if (o && n > 0) {
        o->num_stripes = n < 65536 ? n : 65536; /* each stripe is ~2 KiB: bounded */
    }
}

STRATA_EXPORT strata_txn_options *strata_txn_options_create(void)
{
    strata_txn_options *o = st_malloc(sizeof(*o));
    if (o) {
        st_txn_options_defaults(o);
    }
    return o;
}

STRATA_EXPORT void strata_txn_options_destroy(strata_txn_options *o)
{
    st_free(o);
}

STRATA_EXPORT void strata_txn_options_set_snapshot(strata_txn_options *o, int v)
{
    if (o) {
        o->snapshot = v != 0;
    }
}

STRATA_EXPORT void strata_txn_options_set_lock_timeout(strata_txn_options *o, int64_t ms)
{
    if (o) {
        o->lock_timeout_ms = ms;
    }
}

STRATA_EXPORT void strata_txn_options_set_deadlock_detect(strata_txn_options *o, int v)
{
    if (o) {
        o->deadlock_detect = v != 0;
    }
}

/* Hangs a lock table on the DB just opened; closes it on failure. */
static int attach(strata_db **db, const strata_txn_db_options *topts)
{
    struct strata_txn_db_options defaults;
    st_txn_db_options_defaults(&defaults);
    int rc = st_txn_db_attach(*db, topts ? topts : &defaults);
    if (rc) {
        strata_close(*db);
        *db = NULL;
    }
    return rc;
}

STRATA_EXPORT int strata_txn_db_open(const strata_options *opts, const strata_txn_db_options *topts,
                                     const char *path, strata_db **db)
{
    CHECK(db, "strata_txn_db_open", "NULL output pointer");
    int rc = strata_open(opts, path, db);
    return rc ? rc : attach(db, topts);
}

STRATA_EXPORT int strata_txn_db_open_cf(const strata_options *opts,
                                        const strata_txn_db_options *topts, const char *path,
                                        size_t n, const char *const *names,
                                        const strata_options *const *cf_opts,
                                        strata_cf **handles, strata_db **db)
{
    CHECK(db, "strata_txn_db_open_cf", "NULL output pointer");
    int rc = strata_open_cf(opts, path, n, names, cf_opts, handles, db);
    return rc ? rc : attach(db, topts);
}

STRATA_EXPORT strata_txn *strata_txn_begin(strata_db *db, const strata_write_options *wo,
                                           const strata_txn_options *txn_opts)
{
    if (!db) {
        st_err(STRATA_E_INVALID, "strata_txn_begin: NULL db");
        return NULL;
    }
    if (!st_txn_db_of(db)) {
        st_err(STRATA_E_INVALID, "strata_txn_begin: the DB was not opened with "
               "strata_txn_db_open (no lock table); use strata_optimistic_txn_begin");
        return NULL;
    }
    return st_txn_create(db, &st_txn_pessimistic, wo, txn_opts);
}

STRATA_EXPORT strata_txn *strata_optimistic_txn_begin(strata_db *db,
                                                      const strata_write_options *wo,
                                                      const strata_txn_options *txn_opts)
{
    if (!db) {
        st_err(STRATA_E_INVALID, "strata_optimistic_txn_begin: NULL db");
        return NULL;
    }
    return st_txn_create(db, &st_txn_optimistic, wo, txn_opts);
}

STRATA_EXPORT void strata_txn_destroy(strata_txn *txn)
{
    st_txn_destroy(txn);
}

/* The checks every keyed call shares; cf_form: the _cf variant (cf must not be NULL). */
static int check_keyed(const strata_txn *txn, int cf_form, const strata_cf *cf, const void *key,
                       size_t klen, const char *fn)
{
    CHECK(txn, fn, "NULL transaction");
    CHECK(!cf_form || cf, fn, "NULL column family");
    CHECK(key || klen == 0, fn, "NULL key");
    CHECK(klen <= ST_MAX_KEY_SIZE, fn, "key too large");
    return 0;
}

static int txn_write(strata_txn *txn, int cf_form, strata_cf *cf, int type, const void *key,
                     size_t klen, const void *val, size_t vlen, const char *fn)
{
    int rc = check_keyed(txn, cf_form, cf, key, klen, fn);
    if (rc) {
        return rc;
    }
    CHECK(val || vlen == 0, fn, "NULL value");
    st_slice v = st_slice_make(val, vlen);
    return st_txn_write(txn, cf, type, st_slice_make(key, klen),
                        type == ST_TYPE_DELETION ? NULL : &v);
}

STRATA_EXPORT int strata_txn_put(strata_txn *txn, const void *key, size_t klen, const void *val,
                                 size_t vlen)
{
    return txn_write(txn, 0, NULL, ST_TYPE_VALUE, key, klen, val, vlen, "strata_txn_put");
}

STRATA_EXPORT int strata_txn_put_cf(strata_txn *txn, strata_cf *cf, const void *key,
                                    size_t klen, const void *val, size_t vlen)
{
    return txn_write(txn, 1, cf, ST_TYPE_VALUE, key, klen, val, vlen, "strata_txn_put_cf");
}

STRATA_EXPORT int strata_txn_delete(strata_txn *txn, const void *key, size_t klen)
{
    return txn_write(txn, 0, NULL, ST_TYPE_DELETION, key, klen, NULL, 0, "strata_txn_delete");
}

STRATA_EXPORT int strata_txn_delete_cf(strata_txn *txn, strata_cf *cf, const void *key,
                                       size_t klen)
{
    return txn_write(txn, 1, cf, ST_TYPE_DELETION, key, klen, NULL, 0, "strata_txn_delete_cf");
}

STRATA_EXPORT int strata_txn_merge(strata_txn *txn, const void *key, size_t klen,
                                   const void *operand, size_t olen)
{
    return txn_write(txn, 0, NULL, ST_TYPE_MERGE, key, klen, operand, olen, "strata_txn_merge");
}

STRATA_EXPORT int strata_txn_merge_cf(strata_txn *txn, strata_cf *cf, const void *key,
                                      size_t klen, const void *operand, size_t olen)
{
    return txn_write(txn, 1, cf, ST_TYPE_MERGE, key, klen, operand, olen, "strata_txn_merge_cf");
}

static int txn_read(strata_txn *txn, const strata_read_options *ro, int cf_form, strata_cf *cf,
                    const void *key, size_t klen, void **val, size_t *vlen, int update,
                    int exclusive, const char *fn)
{
    int rc = check_keyed(txn, cf_form, cf, key, klen, fn);
    if (rc) {
        return rc;
    }
    CHECK(val && vlen, fn, "NULL output pointer");
    *val = NULL;
    *vlen = 0;
    st_slice k = st_slice_make(key, klen);
    return update ? st_txn_get_for_update(txn, ro, cf, k, val, vlen, exclusive)
                  : st_txn_get(txn, ro, cf, k, val, vlen);
}

STRATA_EXPORT int strata_txn_get(strata_txn *txn, const strata_read_options *ro, const void *key,
                                 size_t klen, void **val, size_t *vlen)
{
    return txn_read(txn, ro, 0, NULL, key, klen, val, vlen, 0, 0, "strata_txn_get");
}

STRATA_EXPORT int strata_txn_get_cf(strata_txn *txn, const strata_read_options *ro,
                                    strata_cf *cf, const void *key, size_t klen, void **val,
                                    size_t *vlen)
{
    return txn_read(txn, ro, 1, cf, key, klen, val, vlen, 0, 0, "strata_txn_get_cf");
}

STRATA_EXPORT int strata_txn_get_for_update(strata_txn *txn, const strata_read_options *ro,
                                            const void *key, size_t klen, void **val,
                                            size_t *vlen, int exclusive)
{
    return txn_read(txn, ro, 0, NULL, key, klen, val, vlen, 1, exclusive,
                    "strata_txn_get_for_update");
}

STRATA_EXPORT int strata_txn_get_for_update_cf(strata_txn *txn, const strata_read_options *ro,
                                               strata_cf *cf, const void *key, size_t klen,
                                               void **val, size_t *vlen, int exclusive)
{
    return txn_read(txn, ro, 1, cf, key, klen, val, vlen, 1, exclusive,
                    "strata_txn_get_for_update_cf");
}

STRATA_EXPORT int strata_txn_iter_create(strata_txn *txn, const strata_read_options *ro,
                                         strata_iter **it)
{
    CHECK(txn && it, "strata_txn_iter_create", "NULL transaction or output pointer");
    *it = NULL;
    return st_txn_iter_create(txn, ro, NULL, it);
}

STRATA_EXPORT int strata_txn_iter_create_cf(strata_txn *txn, const strata_read_options *ro,
                                            strata_cf *cf, strata_iter **it)
{
    CHECK(txn && cf && it, "strata_txn_iter_create_cf",
          "NULL transaction, column family or output pointer");
    *it = NULL;
    return st_txn_iter_create(txn, ro, cf, it);
}

STRATA_EXPORT int strata_txn_set_snapshot(strata_txn *txn)
{
    CHECK(txn, "strata_txn_set_snapshot", "NULL transaction");
    return st_txn_set_snapshot(txn);
}

STRATA_EXPORT const strata_snapshot *strata_txn_get_snapshot(const strata_txn *txn)
{
    return txn ? txn->snap : NULL;
}

STRATA_EXPORT int strata_txn_set_savepoint(strata_txn *txn)
{
    CHECK(txn, "strata_txn_set_savepoint", "NULL transaction");
    return st_txn_set_savepoint(txn);
}

STRATA_EXPORT int strata_txn_rollback_to_savepoint(strata_txn *txn)
{
    CHECK(txn, "strata_txn_rollback_to_savepoint", "NULL transaction");
    return st_txn_rollback_to_savepoint(txn);
}

STRATA_EXPORT int strata_txn_commit(strata_txn *txn)
{
    CHECK(txn, "strata_txn_commit", "NULL transaction");
    return st_txn_commit(txn);
}

STRATA_EXPORT int strata_txn_rollback(strata_txn *txn)
{
    CHECK(txn, "strata_txn_rollback", "NULL transaction");
    return st_txn_rollback(txn);
}

STRATA_EXPORT uint32_t strata_txn_count(const strata_txn *txn)
{
    return txn ? st_wbwi_count(&txn->wb) : 0;
}
