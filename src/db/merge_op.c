/* merge_op.c — merge operator and compaction filter objects, the built-in operators and the
 * calls through them (db/merge_op.h). */
#include "db/merge_op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/coding.h"
#include "util/status.h"

static void copy_name(char *dst, const char *name)
{
    snprintf(dst, ST_MERGE_NAME_MAX, "%s", name ? name : "");
}

STRATA_EXPORT strata_merge_operator *strata_merge_operator_create(
    void *state, void (*destructor)(void *state),
    int (*full_merge)(void *state, const char *key, size_t klen, const char *existing,
                      size_t elen, const char *const *operands, const size_t *olens, int n,
                      char **new_value, size_t *new_vlen),
    int (*partial_merge)(void *state, const char *key, size_t klen, const char *left,
                         size_t llen, const char *right, size_t rlen, char **new_value,
                         size_t *new_vlen),
    const char *name)
{
    if (!full_merge || !name || !name[0] || strlen(name) >= ST_MERGE_NAME_MAX) {
        st_err(STRATA_E_INVALID, "strata_merge_operator_create: full_merge and a name of 1..%d "
               "bytes are required", ST_MERGE_NAME_MAX - 1);
        return NULL;
    }
    strata_merge_operator *mo = st_calloc(1, sizeof(*mo));
    if (!mo) {
        st_err(STRATA_E_NOMEM, "out of memory creating a merge operator");
        return NULL;
    }
    atomic_init(&mo->refs, 1);
    mo->state = state;
    mo->destructor = destructor;
    mo->full_merge = full_merge;
    mo->partial_merge = partial_merge;
    copy_name(mo->name, name);
    return mo;
}

void st_merge_op_ref(strata_merge_operator *mo)
{
    atomic_fetch_add_explicit(&mo->refs, 1, memory_order_relaxed);
}

/* acq_rel: the last holder frees after every other holder's use. */
void st_merge_op_unref(strata_merge_operator *mo)
{
    if (mo && atomic_fetch_sub_explicit(&mo->refs, 1, memory_order_acq_rel) == 1) {
        if (mo->destructor) {
            mo->destructor(mo->state);
        }
        st_free(mo);
    }
}

STRATA_EXPORT void strata_merge_operator_destroy(strata_merge_operator *mo)
{
    st_merge_op_unref(mo);
}

/* ---- built-ins -------------------------------------------------------------------------------- */

static int u64_add_full(void *state, const char *key, size_t klen, const char *existing,
                        size_t elen, const char *const *operands, const size_t *olens, int n,
                        char **new_value, size_t *new_vlen)
{
    (void)state, (void)key, (void)klen;
    if (existing && elen != 8) {
        return -1;
    }
    uint64_t sum = existing ? st_decode_fixed64(existing) : 0;
    for (int i = 0; i < n; i++) {
        if (olens[i] != 8) {
            return -1;
        }
        sum += st_decode_fixed64(operands[i]);
    }
    char *out = malloc(8);
    if (!out) {
        return -1;
    }
    st_encode_fixed64(out, sum);
    *new_value = out;
    *new_vlen = 8;
    return 0;
}

static int u64_add_partial(void *state, const char *key, size_t klen, const char *left,
                           size_t llen, const char *right, size_t rlen, char **new_value,
                           size_t *new_vlen)
{
    (void)state, (void)key, (void)klen;
    if (llen != 8 || rlen != 8) {
        return 0; /* the full merge reports the bad operand */
    }
    char *out = malloc(8);
    if (!out) {
        return 0;
    }
    st_encode_fixed64(out, st_decode_fixed64(left) + st_decode_fixed64(right));
    *new_value = out;
    *new_vlen = 8;
    return 1;
}

static int append_full(void *state, const char *key, size_t klen, const char *existing,
                       size_t elen, const char *const *operands, const size_t *olens, int n,
                       char **new_value, size_t *new_vlen)
{
    (void)key, (void)klen;
    char delim = ((strata_merge_operator *)state)->delim;
    size_t total = existing ? elen : 0;
    for (int i = 0; i < n; i++) {
        total += olens[i] + 1;
    }
    char *out = malloc(total ? total : 1);
    if (!out) {
        return -1;
    }
    size_t len = 0;
    if (existing) {
        memcpy(out, existing, elen);
        len = elen;
    }
    for (int i = 0; i < n; i++) {
        if (existing || i > 0) {
            out[len++] = delim;
        }
        memcpy(out + len, operands[i], olens[i]);
        len += olens[i];
    }
    *new_value = out;
    *new_vlen = len;
    return 0;
}

static int append_partial(void *state, const char *key, size_t klen, const char *left,
                          size_t llen, const char *right, size_t rlen, char **new_value,
                          size_t *new_vlen)
{
    const char *ops[2] = {left, right};
    size_t lens[2] = {llen, rlen};
    return append_full(state, key, klen, NULL, 0, ops, lens, 2, new_value, new_vlen) == 0;
}

STRATA_EXPORT strata_merge_operator *strata_merge_operator_uint64_add(void)
{
    return strata_merge_operator_create(NULL, NULL, u64_add_full, u64_add_partial,
                                        "strata.uint64add");
}

STRATA_EXPORT strata_merge_operator *strata_merge_operator_string_append(char delimiter)
{
    strata_merge_operator *mo = strata_merge_operator_create(NULL, NULL, append_full,
                                                             append_partial, "strata.stringappend");
    if (mo) {
        mo->state = mo;
        mo->delim = delimiter;
    }
    return mo;
}

int st_merge_op_by_name(const char *name, strata_merge_operator **out)
{
    *out = NULL;
    if (strcmp(name, "uint64add") == 0 || strcmp(name, "strata.uint64add") == 0) {
        *out = strata_merge_operator_uint64_add();
    } else if (strcmp(name, "stringappend") == 0 || strcmp(name, "strata.stringappend") == 0) {
        *out = strata_merge_operator_string_append(',');
    } else {
        return st_err(STRATA_E_INVALID,
                      "unknown merge operator '%s' (built-ins: uint64add, stringappend)", name);
    }
    return *out ? 0 : STRATA_E_NOMEM;
}

/* ---- calls ------------------------------------------------------------------------------------ */

/* Moves a callback's malloc'd result into out. */
static int take_result(char *v, size_t vlen, st_buf *out)
{
    int rc = st_buf_assign(out, v ? v : "", v ? vlen : 0);
    free(v);
    return rc ? st_err(STRATA_E_NOMEM, "out of memory merging") : 0;
}

int st_merge_full(const strata_merge_operator *mo, st_slice key, const st_slice *existing,
                  const st_slice *operands, int n, st_buf *out)
{
    if (!mo) {
        return st_err(STRATA_E_MERGE, "merge operands for key of %zu bytes, but the DB has no "
                      "merge operator", key.size);
    }
    const char *stack_ops[16];
    size_t stack_lens[16];
    const char **ops = n <= 16 ? stack_ops : st_malloc(sizeof(char *) * (size_t)n);
    size_t *lens = n <= 16 ? stack_lens : st_malloc(sizeof(size_t) * (size_t)n);
    int rc = 0;
    if (!ops || !lens) {
        rc = st_err(STRATA_E_NOMEM, "out of memory merging %d operands", n);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        ops[i] = operands[i].data;
        lens[i] = operands[i].size;
    }
    char *v = NULL;
    size_t vlen = 0;
    if (mo->full_merge(mo->state, key.data, key.size, existing ? existing->data : NULL,
                       existing ? existing->size : 0, ops, lens, n, &v, &vlen) != 0) {
        free(v);
        rc = st_err(STRATA_E_MERGE, "merge operator %s failed on a key of %zu bytes (%d operands%s)",
                    mo->name, key.size, n, existing ? " and a value" : "");
        goto out;
    }
    rc = take_result(v, vlen, out);
out:
    if (ops != stack_ops) {
        st_free(ops);
    }
    if (lens != stack_lens) {
        st_free(lens);
    }
    return rc;
}

void st_merge_ops_init(st_merge_ops *o)
{
    st_buf_init(&o->bytes);
    st_buf_init(&o->ends);
    o->n = 0;
}

void st_merge_ops_free(st_merge_ops *o)
{
    st_buf_free(&o->bytes);
    st_buf_free(&o->ends);
    o->n = 0;
}

void st_merge_ops_clear(st_merge_ops *o)
{
    st_buf_clear(&o->bytes);
    st_buf_clear(&o->ends);
    o->n = 0;
}

int st_merge_ops_add(st_merge_ops *o, st_slice operand)
{
    size_t end = o->bytes.len + operand.size, old = o->bytes.len;
    if (st_buf_append(&o->bytes, operand.data, operand.size) ||
        st_buf_append(&o->ends, &end, sizeof(end))) {
        o->bytes.len = old;
        return st_err(STRATA_E_NOMEM, "out of memory collecting merge operands");
    }
    o->n++;
    return 0;
}

st_slice st_merge_ops_at(const st_merge_ops *o, int i)
{
    const size_t *ends = (const size_t *)(const void *)o->ends.data;
    size_t start = i ? ends[i - 1] : 0;
    return st_slice_make(o->bytes.data + start, ends[i] - start);
}

int st_merge_ops_full(const strata_merge_operator *mo, st_slice key, const st_slice *existing,
                      const st_merge_ops *o, int newest_first, st_buf *out)
{
    st_slice stack[16] = {{0}};
    st_slice *ops = o->n <= 16 ? stack : st_malloc(sizeof(st_slice) * (size_t)o->n);
    if (!ops) {
        return st_err(STRATA_E_NOMEM, "out of memory merging %d operands", o->n);
    }
    for (int i = 0; i < o->n; i++) { /* the operator takes them oldest first */
        ops[newest_first ? o->n - 1 - i : i] = st_merge_ops_at(o, i);
    }
    int rc = st_merge_full(mo, key, existing, ops, o->n, out);
    if (ops != stack) {
        st_free(ops);
    }
    return rc;
}

int st_merge_partial(const strata_merge_operator *mo, st_slice key, st_slice left, st_slice right,
                     st_buf *out)
{
    if (!mo || !mo->partial_merge) {
        return 0;
    }
    char *v = NULL;
    size_t vlen = 0;
    if (mo->partial_merge(mo->state, key.data, key.size, left.data, left.size, right.data,
                          right.size, &v, &vlen) != 1) {
        free(v);
        return 0;
    }
    int rc = take_result(v, vlen, out);
    return rc ? rc : 1;
}

/* ---- compaction filters ----------------------------------------------------------------------- */

STRATA_EXPORT strata_compaction_filter *strata_compaction_filter_create(
    void *state, void (*destructor)(void *state),
    int (*filter)(void *state, int level, const char *key, size_t klen, const char *value,
                  size_t vlen, char **new_value, size_t *new_vlen),
    const char *name)
{
    if (!filter || !name || strlen(name) >= ST_MERGE_NAME_MAX) {
        st_err(STRATA_E_INVALID, "strata_compaction_filter_create: a filter and a name of at most "
               "%d bytes are required", ST_MERGE_NAME_MAX - 1);
        return NULL;
    }
    strata_compaction_filter *cf = st_calloc(1, sizeof(*cf));
    if (!cf) {
        st_err(STRATA_E_NOMEM, "out of memory creating a compaction filter");
        return NULL;
    }
    atomic_init(&cf->refs, 1);
    cf->state = state;
    cf->destructor = destructor;
    cf->filter = filter;
    copy_name(cf->name, name);
    return cf;
}

void st_compaction_filter_ref(strata_compaction_filter *cf)
{
    atomic_fetch_add_explicit(&cf->refs, 1, memory_order_relaxed);
}

void st_compaction_filter_unref(strata_compaction_filter *cf)
{
    if (cf && atomic_fetch_sub_explicit(&cf->refs, 1, memory_order_acq_rel) == 1) {
        if (cf->destructor) {
            cf->destructor(cf->state);
        }
        st_free(cf);
    }
}

STRATA_EXPORT void strata_compaction_filter_destroy(strata_compaction_filter *cf)
{
    st_compaction_filter_unref(cf);
}
