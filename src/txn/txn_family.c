/* txn_family.c — families as the transaction layer sees them (txn/txn_family.h). */
#include "txn/txn_family.h"

#include "util/status.h"

int st_txn_family_get(strata_db *db, strata_cf *cf, st_txn_family *f)
{
    if (cf) {
        return st_err(STRATA_E_NOTSUP, "column families are not available in this build yet");
    }
    f->cf = NULL;
    f->id = 0;
    f->ucmp = db->ucmp;
    f->mo = db->opts.merge_operator;
    return 0;
}

const st_comparator *st_txn_family_ucmp(strata_db *db, uint32_t id)
{
    (void)id;
    return db->ucmp;
}

int st_txn_family_read(strata_db *db, const struct strata_read_options *ro,
                       const st_txn_family *f, st_slice key, void **val, size_t *vlen)
{
    (void)f;
    return st_db_get(db, ro, key, val, vlen);
}

int st_txn_family_iter(strata_db *db, const struct strata_read_options *ro,
                       const st_txn_family *f, strata_iter **it)
{
    (void)f;
    return st_db_iter_create(db, ro, it);
}
