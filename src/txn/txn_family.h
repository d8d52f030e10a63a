/* txn_family.h — the one place the transaction layer learns about column families: a family's
 * id (as written into batches), comparator and merge operator, and reads of the DB through it.
 * Until the engine has families only the default one (cf NULL) is accepted; every other call
 * fails with STRATA_E_NOTSUP, so the rest of src/txn is written family-aware already. */
#ifndef STRATA_TXN_TXN_FAMILY_H
#define STRATA_TXN_TXN_FAMILY_H

#include <stdint.h>

#include "db/db_impl.h"
#include "strata.h"
#include "util/comparator.h"
#include "util/slice.h"

typedef struct st_txn_family {
    strata_cf *cf; /* NULL: the default family */
    uint32_t id;   /* 0: the default family */
    const st_comparator *ucmp;
    const strata_merge_operator *mo; /* NULL: none */
} st_txn_family;

/* Fills f for cf of db (NULL: the default family).  0 or NOTSUP/INVALID with the message set. */
int st_txn_family_get(strata_db *db, strata_cf *cf, st_txn_family *f);
/* The comparator of the family with id (the default comparator for unknown ids). */
const st_comparator *st_txn_family_ucmp(strata_db *db, uint32_t id);
/* strata_get through family f. */
int st_txn_family_read(strata_db *db, const struct strata_read_options *ro,
                       const st_txn_family *f, st_slice key, void **val, size_t *vlen);
/* strata_iter_create through family f. */
int st_txn_family_iter(strata_db *db, const struct strata_read_options *ro,
                       const st_txn_family *f, strata_iter **it);

#endif
