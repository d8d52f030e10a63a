/* txn_family.h — column families as the transaction layer sees them: a family's handle, id (as
 * written into batches), comparator and merge operator, and reads of the DB through it.  The
 * plain (non-_cf) calls act on the default family. */
#ifndef STRATA_TXN_TXN_FAMILY_H
#define STRATA_TXN_TXN_FAMILY_H

#include <stdint.h>

#include "db/db_impl.h"
#include "strata.h"
#include "util/comparator.h"
#include "util/slice.h"

typedef struct st_txn_family {
    strata_cf *cf; /* never NULL once filled */
    uint32_t id;   /* 0: the default family */
    const st_comparator *ucmp;
    const strata_merge_operator *mo; /* NULL: none */
} st_txn_family;

/* Fills f for cf of db (NULL: the default family).  0, or INVALID (a family of another DB, or
 * dropped) with the message set; fn names the caller. */
int st_txn_family_get(strata_db *db, strata_cf *cf, const char *fn, st_txn_family *f);
/* strata_get through family f. */
int st_txn_family_read(strata_db *db, const struct strata_read_options *ro,
                       const st_txn_family *f, st_slice key, void **val, size_t *vlen);
/* strata_iter_create through family f. */
int st_txn_family_iter(strata_db *db, const struct strata_read_options *ro,
                       const st_txn_family *f, strata_iter **it);

#endif
