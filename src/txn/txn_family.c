/* txn_family.c — families as the transaction layer sees them (txn/txn_family.h). */
#include "txn/txn_family.h"

#include "util/status.h"

int st_txn_family_get(strata_db *db, strata_cf *cf, const char *fn, st_txn_family *f)
{
    if (!cf) {
        cf = db->dflt;
    }
    int rc = st_db_cf_check(db, cf, fn);
    if (rc) {
        return rc;
    }
    f->cf = cf;
    f->id = cf->id;
    f->ucmp = cf->ucmp;
    f->mo = cf->opts.merge_operator;
    return 0;
}

int st_txn_family_read(strata_db *db, const struct strata_read_options *ro,
                       const st_txn_family *f, st_slice key, void **val, size_t *vlen)
{
    return st_db_get(db, f->cf, ro, key, val, vlen);
}

int st_txn_family_iter(strata_db *db, const struct strata_read_options *ro,
                       const st_txn_family *f, strata_iter **it)
{
    return st_db_iter_create(db, f->cf, ro, it);
}
