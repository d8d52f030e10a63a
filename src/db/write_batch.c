/* write_batch.c — batch encoding and the public strata_batch_* functions. */
#include "db/write_batch.h"

#include <string.h>

#include "util/alloc.h"
#include "util/coding.h"
#include "util/ikey.h"
#include "util/status.h"

int st_batch_init(strata_batch *b)
{
    st_buf_init(&b->rep);
    if (st_buf_reserve(&b->rep, 256)) {
        return STRATA_E_NOMEM;
    }
    memset(b->rep.data, 0, ST_BATCH_HEADER);
    b->rep.len = ST_BATCH_HEADER;
    return 0;
}

void st_batch_free(strata_batch *b)
{
    st_buf_free(&b->rep);
}

uint64_t st_batch_seq(const strata_batch *b)
{
    return st_decode_fixed64(b->rep.data);
}

void st_batch_set_seq(strata_batch *b, uint64_t seq)
{
    st_encode_fixed64(b->rep.data, seq);
}

uint32_t st_batch_count(const strata_batch *b)
{
    return st_decode_fixed32(b->rep.data + 8);
}

static void set_count(strata_batch *b, uint32_t n)
{
    st_encode_fixed32(b->rep.data + 8, n);
}

/* Appends one operation; on failure the batch is unchanged. */
static int add_op(strata_batch *b, int type, st_slice key, const st_slice *value)
{
    if (key.size > ST_MAX_KEY_SIZE) {
        return st_err(STRATA_E_INVALID, "key of %zu bytes exceeds the %u-byte limit", key.size,
                      ST_MAX_KEY_SIZE);
    }
    if (value && value->size > ST_MAX_VALUE_SIZE) {
        return st_err(STRATA_E_INVALID, "value of %zu bytes exceeds the %u-byte limit",
                      value->size, ST_MAX_VALUE_SIZE);
    }
    if (st_batch_count(b) == UINT32_MAX) {
        return st_err(STRATA_E_INVALID, "batch holds too many operations");
    }
    size_t old = b->rep.len;
    size_t need = 1 + 5 + key.size + (value ? 5 + value->size : 0);
    if (st_buf_reserve(&b->rep, need) || st_buf_put_u8(&b->rep, (uint8_t)type) ||
        st_buf_put_lenprefixed(&b->rep, key) || (value && st_buf_put_lenprefixed(&b->rep, *value))) {
        b->rep.len = old;
        return st_err(STRATA_E_NOMEM, "out of memory growing a write batch");
    }
    set_count(b, st_batch_count(b) + 1);
    return 0;
}

int st_batch_append(strata_batch *dst, const strata_batch *src)
{
    uint64_t n = (uint64_t)st_batch_count(dst) + st_batch_count(src);
    if (n > UINT32_MAX) {
        return st_err(STRATA_E_INVALID, "batch holds too many operations");
    }
    if (st_buf_append(&dst->rep, src->rep.data + ST_BATCH_HEADER, src->rep.len - ST_BATCH_HEADER)) {
        return st_err(STRATA_E_NOMEM, "out of memory growing a write batch");
    }
    set_count(dst, (uint32_t)n);
    return 0;
}

/* Decodes the next operation from *in. Returns 1, 0 at end, or STRATA_E_CORRUPTION. */
static int next_op(st_slice *in, int *type, st_slice *key, st_slice *value)
{
    if (in->size == 0) {
        return 0;
    }
    *type = (unsigned char)in->data[0];
    st_slice_remove_prefix(in, 1);
    if (!st_get_lenprefixed(in, key)) {
        return STRATA_E_CORRUPTION;
    }
    if (*type == ST_TYPE_VALUE) {
        if (!st_get_lenprefixed(in, value)) {
            return STRATA_E_CORRUPTION;
        }
    } else if (*type == ST_TYPE_DELETION) {
        *value = st_slice_make("", 0);
    } else {
        return STRATA_E_CORRUPTION;
    }
    return 1;
}

int st_batch_for_each(const strata_batch *b, void *ctx,
                      int (*fn)(void *ctx, int type, st_slice key, st_slice value))
{
    st_slice in = st_slice_make(b->rep.data + ST_BATCH_HEADER, b->rep.len - ST_BATCH_HEADER);
    uint32_t seen = 0;
    int type, rc;
    st_slice key, value;
    while ((rc = next_op(&in, &type, &key, &value)) == 1) {
        seen++;
        rc = fn(ctx, type, key, value);
        if (rc) {
            return rc;
        }
    }
    if (rc < 0) {
        return st_err(STRATA_E_CORRUPTION, "write batch: malformed operation %u", seen);
    }
    if (seen != st_batch_count(b)) {
        return st_err(STRATA_E_CORRUPTION, "write batch: header count %u but %u operations",
                      st_batch_count(b), seen);
    }
    return 0;
}

static int count_only(void *ctx, int type, st_slice key, st_slice value)
{
    (void)ctx;
    (void)type;
    (void)key;
    (void)value;
    return 0;
}

int st_batch_set_contents(strata_batch *b, st_slice rep)
{
    if (rep.size < ST_BATCH_HEADER) {
        return st_err(STRATA_E_CORRUPTION, "write batch: record of %zu bytes is too small",
                      rep.size);
    }
    if (st_buf_assign(&b->rep, rep.data, rep.size)) {
        return st_err(STRATA_E_NOMEM, "out of memory reading a write batch");
    }
    return st_batch_for_each(b, NULL, count_only);
}

typedef struct insert_ctx {
    st_memtable *mem;
    uint64_t seq;
} insert_ctx;

static int insert_one(void *ctx, int type, st_slice key, st_slice value)
{
    insert_ctx *ic = ctx;
    int rc = st_memtable_add(ic->mem, ic->seq, type, key, value);
    if (rc) {
        return st_err(rc, "out of memory inserting into the memtable");
    }
    ic->seq++;
    return 0;
}

int st_batch_insert_into(const strata_batch *b, st_memtable *mem)
{
    insert_ctx ic = {mem, st_batch_seq(b)};
    return st_batch_for_each(b, &ic, insert_one);
}

/* ---- Public API -------------------------------------------------------------------------- */

STRATA_EXPORT strata_batch *strata_batch_create(void)
{
    strata_batch *b = st_malloc(sizeof(*b));
    if (b && st_batch_init(b)) {
        st_free(b);
        b = NULL;
    }
    return b;
}

STRATA_EXPORT void strata_batch_destroy(strata_batch *batch)
{
    if (batch) {
        st_batch_free(batch);
        st_free(batch);
    }
}

STRATA_EXPORT void strata_batch_clear(strata_batch *batch)
{
    if (batch) {
        memset(batch->rep.data, 0, ST_BATCH_HEADER);
        batch->rep.len = ST_BATCH_HEADER;
    }
}

STRATA_EXPORT int strata_batch_put(strata_batch *batch, const void *key, size_t klen,
                                   const void *val, size_t vlen)
{
    if (!batch || (!key && klen) || (!val && vlen)) {
        return st_err(STRATA_E_INVALID, "strata_batch_put: NULL argument");
    }
    st_slice v = st_slice_make(val, vlen);
    return add_op(batch, ST_TYPE_VALUE, st_slice_make(key, klen), &v);
}

STRATA_EXPORT int strata_batch_delete(strata_batch *batch, const void *key, size_t klen)
{
    if (!batch || (!key && klen)) {
        return st_err(STRATA_E_INVALID, "strata_batch_delete: NULL argument");
    }
    return add_op(batch, ST_TYPE_DELETION, st_slice_make(key, klen), NULL);
}

STRATA_EXPORT int strata_batch_append(strata_batch *dst, const strata_batch *src)
{
    if (!dst || !src) {
        return st_err(STRATA_E_INVALID, "strata_batch_append: NULL argument");
    }
    return st_batch_append(dst, src);
}

STRATA_EXPORT uint32_t strata_batch_count(const strata_batch *batch)
{
    return batch ? st_batch_count(batch) : 0;
}

STRATA_EXPORT size_t strata_batch_size(const strata_batch *batch)
{
    return batch ? batch->rep.len : 0;
}

typedef struct iterate_ctx {
    void *ctx;
    void (*put)(void *ctx, const char *k, size_t klen, const char *v, size_t vlen);
    void (*del)(void *ctx, const char *k, size_t klen);
} iterate_ctx;

static int iterate_one(void *ctx, int type, st_slice key, st_slice value)
{
    iterate_ctx *ic = ctx;
    if (type == ST_TYPE_VALUE && ic->put) {
        ic->put(ic->ctx, key.data, key.size, value.data, value.size);
    } else if (type == ST_TYPE_DELETION && ic->del) {
        ic->del(ic->ctx, key.data, key.size);
    }
    return 0;
}

STRATA_EXPORT int strata_batch_iterate(const strata_batch *batch, void *ctx,
                                       void (*put)(void *ctx, const char *k, size_t klen,
                                                   const char *v, size_t vlen),
                                       void (*del)(void *ctx, const char *k, size_t klen))
{
    if (!batch) {
        return st_err(STRATA_E_INVALID, "strata_batch_iterate: NULL batch");
    }
    iterate_ctx ic = {ctx, put, del};
    return st_batch_for_each(batch, &ic, iterate_one);
}
