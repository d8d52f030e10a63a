/* merge_op.h — merge operators and compaction filters: the objects behind strata_merge_operator
 * and strata_compaction_filter, the built-in operators, and the calls the engine makes through
 * them (reads resolve operands with st_merge_full; compaction combines them with st_merge_partial
 * or st_merge_full and runs the filter).
 *
 * Both objects are reference-counted: the creator's handle, each strata_options holding one and
 * each open DB count, so an operator set through the options string lives as long as its user.
 * Results of user callbacks are malloc'd by them and freed here with free(). */
#ifndef STRATA_DB_MERGE_OP_H
#define STRATA_DB_MERGE_OP_H

#include <stdatomic.h>

#include "strata.h"
#include "util/buf.h"
#include "util/slice.h"

#define ST_MERGE_NAME_MAX 128

struct strata_merge_operator {
    atomic_int refs;
    void *state;
    void (*destructor)(void *state);
    int (*full_merge)(void *state, const char *key, size_t klen, const char *existing,
                      size_t elen, const char *const *operands, const size_t *olens, int n,
                      char **new_value, size_t *new_vlen);
    int (*partial_merge)(void *state, const char *key, size_t klen, const char *left,
                         size_t llen, const char *right, size_t rlen, char **new_value,
                         size_t *new_vlen);
    char name[ST_MERGE_NAME_MAX];
    char delim; /* the string-append built-in's delimiter */
};

struct strata_compaction_filter {
    atomic_int refs;
    void *state;
    void (*destructor)(void *state);
    int (*filter)(void *state, int level, const char *key, size_t klen, const char *value,
                  size_t vlen, char **new_value, size_t *new_vlen);
    char name[ST_MERGE_NAME_MAX];
};

void st_merge_op_ref(strata_merge_operator *mo);
void st_merge_op_unref(strata_merge_operator *mo); /* NULL: no-op */
void st_compaction_filter_ref(strata_compaction_filter *cf);
void st_compaction_filter_unref(strata_compaction_filter *cf);

/* A new built-in by its options-string name ("uint64add", "stringappend"): 0, INVALID (unknown
 * name) or NOMEM. */
int st_merge_op_by_name(const char *name, strata_merge_operator **out);

/* Merge operands gathered for one key, in the order added (copied: the source may go away). */
typedef struct st_merge_ops {
    st_buf bytes; /* back to back */
    st_buf ends;  /* size_t end offset of each */
    int n;
} st_merge_ops;

void st_merge_ops_init(st_merge_ops *o);
void st_merge_ops_free(st_merge_ops *o);
void st_merge_ops_clear(st_merge_ops *o);
/* 0 or NOMEM (message set). */
int st_merge_ops_add(st_merge_ops *o, st_slice operand);
/* Operand i in the order added. */
st_slice st_merge_ops_at(const st_merge_ops *o, int i);
/* st_merge_full over the gathered operands: newest_first says they were added newest first
 * (forward reads, compaction) rather than oldest first (backward iteration). */
int st_merge_ops_full(const strata_merge_operator *mo, st_slice key, const st_slice *existing,
                      const st_merge_ops *o, int newest_first, st_buf *out);

/* Full merge of n >= 1 operands (oldest first) onto existing (NULL: none) into out (replaced).
 * mo NULL or a failing callback: STRATA_E_MERGE naming the key. */
int st_merge_full(const strata_merge_operator *mo, st_slice key, const st_slice *existing,
                  const st_slice *operands, int n, st_buf *out);
/* Partial merge of two adjacent operands (left older) into out: 1 merged, 0 declined (also when
 * the operator has no partial merge), or NOMEM. */
int st_merge_partial(const strata_merge_operator *mo, st_slice key, st_slice left, st_slice right,
                     st_buf *out);

#endif
