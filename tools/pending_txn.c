/* pending_txn.c — TEMPORARY stand-ins for the transaction functions declared in include/strata.h
 * (issue #13) while the engine does not define them yet, so that strata-bench links; every one
 * fails with STRATA_E_NOTSUP.  Removed as soon as src/txn is merged (a duplicate definition then
 * fails the link). */
#include <stddef.h>

#include "strata.h"
#include "util/status.h"

#define NOT_YET(what) st_err(STRATA_E_NOTSUP, "%s: transactions are not implemented yet", what)

int strata_txn_db_open_cf(const strata_options *opts, const strata_txn_db_options *topts,
                          const char *path, size_t n, const char *const *names,
                          const strata_options *const *cf_opts, strata_cf **handles, strata_db **db)
{
    (void)opts, (void)topts, (void)path, (void)n, (void)names, (void)cf_opts, (void)handles;
    (void)db;
    return NOT_YET("strata_txn_db_open_cf");
}

strata_txn *strata_txn_begin(strata_db *db, const strata_write_options *wo,
                             const strata_txn_options *txn_opts)
{
    (void)db, (void)wo, (void)txn_opts;
    NOT_YET("strata_txn_begin");
    return NULL;
}

strata_txn *strata_optimistic_txn_begin(strata_db *db, const strata_write_options *wo,
                                        const strata_txn_options *txn_opts)
{
    (void)db, (void)wo, (void)txn_opts;
    NOT_YET("strata_optimistic_txn_begin");
    return NULL;
}

void strata_txn_destroy(strata_txn *txn)
{
    (void)txn;
}

int strata_txn_put_cf(strata_txn *txn, strata_cf *cf, const void *key, size_t klen, const void *val,
                      size_t vlen)
{
    (void)txn, (void)cf, (void)key, (void)klen, (void)val, (void)vlen;
    return NOT_YET("strata_txn_put_cf");
}

int strata_txn_get_for_update_cf(strata_txn *txn, const strata_read_options *ro, strata_cf *cf,
                                 const void *key, size_t klen, void **val, size_t *vlen,
                                 int exclusive)
{
    (void)txn, (void)ro, (void)cf, (void)key, (void)klen, (void)val, (void)vlen, (void)exclusive;
    return NOT_YET("strata_txn_get_for_update_cf");
}

int strata_txn_commit(strata_txn *txn)
{
    (void)txn;
    return NOT_YET("strata_txn_commit");
}
