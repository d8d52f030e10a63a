/* wbwi.h — the indexed write batch of a transaction: the operations in a strata_batch (what the
 * commit writes, in order) plus a sorted index over them, so the transaction reads its own
 * writes and iterates them in key order.
 *
 * The index is a skip list (mem/skiplist.h) in an arena, ordered by (family id, user key by the
 * family's comparator, operation number descending): a key's newest operation comes first.  Each
 * entry carries its family's comparator (a family handle, and so its comparator, lives until
 * the DB closes), so comparing needs no lookup.
 * Entries hold copies of key and value, so they do not move when the batch grows.  Rolling back
 * to a savepoint truncates the batch and rebuilds the index in a new arena; the old one is kept
 * until the batch is freed, so an iterator made before keeps a consistent (older) view.
 * Single-threaded, as the transaction that owns it. */
#ifndef STRATA_TXN_WBWI_H
#define STRATA_TXN_WBWI_H

#include <stdint.h>

#include "db/db_impl.h"
#include "db/merge_op.h"
#include "db/write_batch.h"
#include "mem/skiplist.h"
#include "txn/txn_family.h"
#include "util/arena.h"
#include "util/buf.h"

typedef struct st_wbwi_index {
    strata_db *db;
    st_arena arena;
    st_skiplist list;
    struct st_wbwi_index *older; /* retired generations, freed with the batch */
} st_wbwi_index;

typedef struct st_wbwi {
    strata_db *db;
    strata_batch batch;
    st_wbwi_index *index;
    st_buf savepoints; /* wbwi_savepoint records, innermost last */
    st_buf families;   /* wbwi_family records: the families the batch touches */
} st_wbwi;

/* What a key's operations in the batch come to, read newest first: */
enum {
    ST_WB_NONE = 0,    /* no operation (or only merge operands: the DB holds the base) */
    ST_WB_VALUE = 1,   /* a put (under any merge operands) */
    ST_WB_DELETED = 2  /* a deletion (under any merge operands) */
};

int st_wbwi_init(st_wbwi *w, strata_db *db);
void st_wbwi_free(st_wbwi *w);
uint32_t st_wbwi_count(const st_wbwi *w);
/* Appends an operation (ST_TYPE_VALUE, ST_TYPE_DELETION or ST_TYPE_MERGE; value NULL for a
 * deletion) on family cf to the batch and the index.  0, INVALID (too large) or NOMEM; the batch
 * is unchanged on failure. */
int st_wbwi_add(st_wbwi *w, const st_txn_family *f, int type, st_slice key,
                const st_slice *value);
int st_wbwi_set_savepoint(st_wbwi *w);
/* Drops the operations since the innermost savepoint (and the savepoint).  NOTFOUND if none. */
int st_wbwi_rollback_to_savepoint(st_wbwi *w);

/* The key's state in the batch (ST_WB_*): *value is the put's value for ST_WB_VALUE (borrowed,
 * valid while the batch lives); ops (cleared first) receives the merge operands above it, newest
 * first.  0 or NOMEM. */
int st_wbwi_lookup(st_wbwi *w, const st_txn_family *f, st_slice key, int *state,
                   st_slice *value, st_merge_ops *ops);

/* A position over the distinct keys of one family in the batch, at each key's newest operation. */
typedef struct st_wbwi_iter {
    st_wbwi_index *index;
    st_skiplist_iter si;
    uint32_t cf;
    const st_comparator *ucmp;
} st_wbwi_iter;

void st_wbwi_iter_init(st_wbwi_iter *it, st_wbwi *w, const st_txn_family *f);
int st_wbwi_iter_valid(const st_wbwi_iter *it);
void st_wbwi_iter_seek_to_first(st_wbwi_iter *it);
void st_wbwi_iter_seek_to_last(st_wbwi_iter *it);
/* First key >= key / last key <= key. */
void st_wbwi_iter_seek(st_wbwi_iter *it, st_slice key);
void st_wbwi_iter_seek_for_prev(st_wbwi_iter *it, st_slice key);
/* Last key < key. */
void st_wbwi_iter_seek_before(st_wbwi_iter *it, st_slice key);
void st_wbwi_iter_next(st_wbwi_iter *it);
void st_wbwi_iter_prev(st_wbwi_iter *it);
st_slice st_wbwi_iter_key(const st_wbwi_iter *it);
/* As st_wbwi_lookup, for the current key. */
int st_wbwi_iter_state(const st_wbwi_iter *it, int *state, st_slice *value, st_merge_ops *ops);

#endif
