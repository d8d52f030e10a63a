/* write_batch.c — batch encoding, per-key protection of batches (write_batch.h) and the public
 * strata_batch_* functions. */
#include "db/write_batch.h"

#include <string.h>

#include "env/env.h"
#include "util/alloc.h"
#include "util/compiler.h"
#include "util/coding.h"
#include "util/ikey.h"
#include "util/prot.h"
#include "util/status.h"

int st_batch_init(strata_batch *b)
{
    st_buf_init(&b->rep);
    st_buf_init(&b->prot);
    b->protect = 0;
    b->pending_ttl = 0;
    b->has_cf = 0;
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
    st_buf_free(&b->prot);
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

/* An operation's per-key checksum in a batch: the entry's own (what the memtable stores and
 * checks), with the family id folded in for a non-default family, so an operation that lands in
 * another family is caught like a changed key.  insert_ops takes the family back out, by the id
 * it decoded, before the memtable checks the entry. */
static uint64_t family_mix(uint32_t cf)
{
    return cf ? (cf * UINT64_C(0x9E3779B97F4A7C15)) | 1 : 0;
}

static uint64_t op_prot(uint32_t cf, int type, st_slice key, st_slice value)
{
    return st_prot_kv(type, key, value) ^ family_mix(cf);
}

/* Appends one operation; on failure the batch is unchanged. */
static int add_op_cf(strata_batch *b, uint32_t cf, int type, st_slice key, const st_slice *value)
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
    size_t old = b->rep.len, old_prot = b->prot.len;
    size_t need = 1 + 5 + 5 + key.size + (value ? 5 + value->size : 0);
    if (b->protect) {
        /* From the caller's bytes, before they are copied: the copy is what gets verified. */
        uint64_t pi = op_prot(cf, type, key, value ? *value : st_slice_make("", 0));
        if (st_buf_append(&b->prot, &pi, sizeof(pi))) {
            return st_err(STRATA_E_NOMEM, "out of memory growing a write batch");
        }
    }
    if (st_buf_reserve(&b->rep, need) ||
        st_buf_put_u8(&b->rep, (uint8_t)(type | (cf ? ST_BATCH_CF_FLAG : 0))) ||
        (cf && st_buf_put_varint32(&b->rep, cf)) || st_buf_put_lenprefixed(&b->rep, key) ||
        (value && st_buf_put_lenprefixed(&b->rep, *value))) {
        b->rep.len = old;
        b->prot.len = old_prot;
        return st_err(STRATA_E_NOMEM, "out of memory growing a write batch");
    }
    set_count(b, st_batch_count(b) + 1);
    b->pending_ttl |= type == ST_BATCH_TTL_PENDING;
    b->has_cf |= cf != 0;
    return 0;
}

static int add_op(strata_batch *b, int type, st_slice key, const st_slice *value)
{
    return add_op_cf(b, 0, type, key, value);
}

/* Appends src's operations and, when dst is protected, src_prot (computed from src's bytes when
 * NULL).  On failure dst is unchanged. */
static int append_ops(strata_batch *dst, const strata_batch *src, const uint64_t *src_prot)
{
    uint64_t n = (uint64_t)st_batch_count(dst) + st_batch_count(src);
    if (n > UINT32_MAX) {
        return st_err(STRATA_E_INVALID, "batch holds too many operations");
    }
    size_t old_prot = dst->prot.len;
    if (dst->protect) {
        int rc = src_prot
                     ? st_buf_append(&dst->prot, src_prot, sizeof(uint64_t) * st_batch_count(src))
                     : st_batch_compute_prot(src, &dst->prot);
        if (rc) {
            dst->prot.len = old_prot;
            return rc == STRATA_E_NOMEM ? st_err(rc, "out of memory growing a write batch") : rc;
        }
    }
    if (st_buf_append(&dst->rep, src->rep.data + ST_BATCH_HEADER, src->rep.len - ST_BATCH_HEADER)) {
        dst->prot.len = old_prot;
        return st_err(STRATA_E_NOMEM, "out of memory growing a write batch");
    }
    set_count(dst, (uint32_t)n);
    dst->pending_ttl |= src->pending_ttl;
    dst->has_cf |= src->has_cf;
    return 0;
}

int st_batch_append(strata_batch *dst, const strata_batch *src)
{
    return append_ops(dst, src, st_batch_prot(src));
}

int st_batch_append_protected(strata_batch *dst, const strata_batch *src, const uint64_t *src_prot)
{
    return append_ops(dst, src, src_prot);
}

/* Decodes the next operation from *in. Returns 1, 0 at end, or STRATA_E_CORRUPTION. */
/* Inlined into each loop: the write path decodes every operation through it. */
static ST_ALWAYS_INLINE int next_op(st_slice *in, uint32_t *cf, int *type, st_slice *key,
                                    st_slice *value)
{
    if (in->size == 0) {
        return 0;
    }
    *type = (unsigned char)in->data[0];
    st_slice_remove_prefix(in, 1);
    *cf = 0;
    if (*type & ST_BATCH_CF_FLAG) {
        *type &= ~ST_BATCH_CF_FLAG;
        if (!st_get_varint32(in, cf) || *cf == 0) {
            return STRATA_E_CORRUPTION;
        }
    }
    if (!st_get_lenprefixed(in, key)) {
        return STRATA_E_CORRUPTION;
    }
    switch (*type) {
    case ST_TYPE_VALUE:
    case ST_TYPE_MERGE:
    case ST_TYPE_RANGE_DEL:
        if (!st_get_lenprefixed(in, value)) {
            return STRATA_E_CORRUPTION;
        }
        break;
    case ST_TYPE_VALUE_TTL:
    case ST_BATCH_TTL_PENDING:
        if (!st_get_lenprefixed(in, value) || value->size < ST_TTL_PREFIX) {
            return STRATA_E_CORRUPTION;
        }
        break;
    case ST_TYPE_DELETION:
    case ST_TYPE_SINGLE_DELETION:
        *value = st_slice_make("", 0);
        break;
    default:
        return STRATA_E_CORRUPTION;
    }
    return 1;
}

/* One loop for both callback shapes (the plain one skips an indirection on the write path). */
static int walk(const strata_batch *b, void *ctx,
                int (*plain)(void *ctx, int type, st_slice key, st_slice value),
                int (*with_cf)(void *ctx, uint32_t cf, int type, st_slice key, st_slice value))
{
    st_slice in = st_slice_make(b->rep.data + ST_BATCH_HEADER, b->rep.len - ST_BATCH_HEADER);
    uint32_t seen = 0, cf;
    int type, rc;
    st_slice key, value;
    while ((rc = next_op(&in, &cf, &type, &key, &value)) == 1) {
        seen++;
        rc = plain ? plain(ctx, type, key, value) : with_cf(ctx, cf, type, key, value);
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

int st_batch_for_each(const strata_batch *b, void *ctx,
                      int (*fn)(void *ctx, int type, st_slice key, st_slice value))
{
    return walk(b, ctx, fn, NULL);
}

int st_batch_for_each_cf(const strata_batch *b, void *ctx,
                         int (*fn)(void *ctx, uint32_t cf, int type, st_slice key, st_slice value))
{
    return walk(b, ctx, NULL, fn);
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
    b->protect = 0; /* the contents did not come through add_op */
    b->prot.len = 0;
    b->pending_ttl = 0;
    b->has_cf = 0; /* (only the write path reads it, before a batch reaches the WAL) */
    int rc = st_batch_for_each(b, NULL, count_only);
    if (!rc && st_batch_has_type(b, ST_BATCH_TTL_PENDING)) {
        rc = st_err(STRATA_E_CORRUPTION, "write batch: an unresolved TTL put in a log record");
    }
    return rc;
}

/* An operation decoded beyond the checksums' count: the bytes or the header count changed. */
static int count_mismatch(const char *where, st_slice key)
{
    return st_prot_error(where, "more operations than checksums", key);
}

static int check_count(const strata_batch *b, size_t nprot, const char *where);

/* The memtable inserts, as one loop with no callback per operation (the write path's hottest
 * part): every operation into mem, or (route set) into the memtable route gives for its family
 * (NULL: skipped, its sequence number still used); with prot, verified as stored. */
static int insert_ops(const strata_batch *b, const uint64_t *prot, size_t nprot, st_memtable *mem,
                      st_memtable *(*route)(void *ctx, uint32_t cf), void *ctx)
{
    if (prot) {
        int rc = check_count(b, nprot, "memtable insert");
        if (rc) {
            return rc;
        }
    }
    st_slice in = st_slice_make(b->rep.data + ST_BATCH_HEADER, b->rep.len - ST_BATCH_HEADER);
    uint64_t seq = st_batch_seq(b);
    uint32_t seen = 0, cf;
    int type, rc;
    st_slice key, value;
    while ((rc = next_op(&in, &cf, &type, &key, &value)) == 1) {
        st_memtable *m = route ? route(ctx, cf) : mem;
        if (prot && seen >= nprot) {
            return count_mismatch("memtable insert", key);
        }
        if (m) {
            rc = prot ? st_memtable_add_protected(m, seq, type, key, value,
                                                  prot[seen] ^ family_mix(cf))
                      : st_memtable_add(m, seq, type, key, value);
            if (rc) {
                return rc; /* message set by the memtable */
            }
        }
        seen++;
        seq++;
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

int st_batch_insert_routed(const strata_batch *b, const uint64_t *prot, size_t nprot,
                           st_memtable *(*route)(void *ctx, uint32_t cf), void *ctx)
{
    return insert_ops(b, prot, nprot, NULL, route, ctx);
}

int st_batch_insert_into(const strata_batch *b, st_memtable *mem)
{
    return insert_ops(b, NULL, 0, mem, NULL, NULL);
}

int st_batch_insert_protected(const strata_batch *b, const uint64_t *prot, size_t nprot,
                              st_memtable *mem)
{
    return insert_ops(b, prot, nprot, mem, NULL, NULL);
}

/* ---- per-key protection ------------------------------------------------------------------ */

/* The header count must match the number of checksums (a flipped count is caught here; a flipped
 * length byte is caught by the decoded operations' checksums). */
static int check_count(const strata_batch *b, size_t nprot, const char *where)
{
    if (st_batch_count(b) != nprot) {
        return st_err(STRATA_E_CORRUPTION,
                      "per-key protection mismatch in %s: the batch holds "
                      "%u operations but %zu checksums",
                      where, st_batch_count(b), nprot);
    }
    return 0;
}

static int compute_one(void *ctx, uint32_t cf, int type, st_slice key, st_slice value)
{
    uint64_t pi = op_prot(cf, type, key, value);
    return st_buf_append(ctx, &pi, sizeof(pi)) ? STRATA_E_NOMEM : 0;
}

int st_batch_compute_prot(const strata_batch *b, st_buf *out)
{
    size_t old = out->len;
    int rc = st_buf_reserve(out, sizeof(uint64_t) * st_batch_count(b)) ? STRATA_E_NOMEM : 0;
    rc = rc ? rc : st_batch_for_each_cf(b, out, compute_one);
    if (rc) {
        out->len = old;
        if (rc == STRATA_E_NOMEM) {
            st_err(rc, "out of memory protecting a write batch");
        }
    }
    return rc;
}

int st_batch_protect(strata_batch *b)
{
    if (b->protect) {
        return 0;
    }
    b->prot.len = 0;
    int rc = st_batch_compute_prot(b, &b->prot);
    b->protect = rc == 0;
    return rc;
}

typedef struct verify_ctx {
    const uint64_t *prot;
    size_t nprot, i;
    const char *where;
} verify_ctx;

static int verify_one(void *ctx, uint32_t cf, int type, st_slice key, st_slice value)
{
    verify_ctx *vc = ctx;
    if (vc->i >= vc->nprot) {
        return count_mismatch(vc->where, key);
    }
    if (op_prot(cf, type, key, value) != vc->prot[vc->i++]) {
        return st_prot_error(vc->where, NULL, key);
    }
    return 0;
}

int st_batch_verify(const strata_batch *b, const uint64_t *prot, size_t nprot, const char *where)
{
    int rc = check_count(b, nprot, where);
    if (rc) {
        return rc;
    }
    verify_ctx vc = {prot, nprot, 0, where};
    rc = st_batch_for_each_cf(b, &vc, verify_one);
    if (rc == STRATA_E_CORRUPTION && !strstr(st_errmsg(), "per-key protection")) {
        /* malformed encoding: the bytes changed after the checksums were taken */
        st_err_context(rc, "per-key protection check in %s", where);
    }
    return rc;
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
        batch->prot.len = 0;
        batch->pending_ttl = 0;
        batch->has_cf = 0;
    }
}

STRATA_EXPORT int strata_batch_protect(strata_batch *batch)
{
    if (!batch) {
        return st_err(STRATA_E_INVALID, "strata_batch_protect: NULL batch");
    }
    return st_batch_protect(batch);
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

STRATA_EXPORT int strata_batch_delete_range(strata_batch *batch, const void *begin, size_t blen,
                                            const void *end, size_t elen)
{
    if (!batch || (!begin && blen) || (!end && elen)) {
        return st_err(STRATA_E_INVALID, "strata_batch_delete_range: NULL argument");
    }
    st_slice e = st_slice_make(end, elen);
    return add_op(batch, ST_TYPE_RANGE_DEL, st_slice_make(begin, blen), &e);
}

STRATA_EXPORT int strata_batch_merge(strata_batch *batch, const void *key, size_t klen,
                                     const void *operand, size_t olen)
{
    if (!batch || (!key && klen) || (!operand && olen)) {
        return st_err(STRATA_E_INVALID, "strata_batch_merge: NULL argument");
    }
    st_slice v = st_slice_make(operand, olen);
    return add_op(batch, ST_TYPE_MERGE, st_slice_make(key, klen), &v);
}

STRATA_EXPORT int strata_batch_single_delete(strata_batch *batch, const void *key, size_t klen)
{
    if (!batch || (!key && klen)) {
        return st_err(STRATA_E_INVALID, "strata_batch_single_delete: NULL argument");
    }
    return add_op(batch, ST_TYPE_SINGLE_DELETION, st_slice_make(key, klen), NULL);
}

/* Appends an operation whose value is fixed64 prefix ‖ value. */
static int add_prefixed(strata_batch *b, uint32_t cf, int type, st_slice key, st_slice value,
                        uint64_t prefix)
{
    if (value.size > ST_MAX_VALUE_SIZE - ST_TTL_PREFIX) {
        return st_err(STRATA_E_INVALID, "value of %zu bytes exceeds the %u-byte limit", value.size,
                      ST_MAX_VALUE_SIZE - ST_TTL_PREFIX);
    }
    char stackbuf[256];
    char *buf = value.size + ST_TTL_PREFIX <= sizeof(stackbuf)
                    ? stackbuf
                    : st_malloc(value.size + ST_TTL_PREFIX);
    if (!buf) {
        return st_err(STRATA_E_NOMEM, "out of memory growing a write batch");
    }
    st_encode_fixed64(buf, prefix);
    if (value.size) {
        memcpy(buf + ST_TTL_PREFIX, value.data, value.size);
    }
    st_slice v = st_slice_make(buf, value.size + ST_TTL_PREFIX);
    int rc = add_op_cf(b, cf, type, key, &v);
    if (buf != stackbuf) {
        st_free(buf);
    }
    return rc;
}

int st_batch_put_expiring(strata_batch *b, st_slice key, st_slice value, uint64_t expire_micros)
{
    return add_prefixed(b, 0, ST_TYPE_VALUE_TTL, key, value, expire_micros);
}

uint64_t st_ttl_expiry(uint64_t now_micros, uint64_t ttl_seconds)
{
    uint64_t add = ttl_seconds > UINT64_MAX / 1000000 ? UINT64_MAX : ttl_seconds * 1000000;
    return now_micros > UINT64_MAX - add ? UINT64_MAX : now_micros + add;
}

/* The expiry is fixed when the batch is written, by the DB's clock (st_batch_resolve_ttl). */
STRATA_EXPORT int strata_batch_put_ttl(strata_batch *batch, const void *key, size_t klen,
                                       const void *val, size_t vlen, uint64_t ttl_seconds)
{
    if (!batch || (!key && klen) || (!val && vlen)) {
        return st_err(STRATA_E_INVALID, "strata_batch_put_ttl: NULL argument");
    }
    return add_prefixed(batch, 0, ST_BATCH_TTL_PENDING, st_slice_make(key, klen),
                        st_slice_make(val, vlen), ttl_seconds);
}

typedef struct ttl_ctx {
    strata_batch *dst;
    uint64_t now, default_ttl;
} ttl_ctx;

static int copy_with_ttl(void *ctx, uint32_t cf, int type, st_slice key, st_slice value)
{
    ttl_ctx *tc = ctx;
    uint64_t ttl = tc->default_ttl;
    if (type == ST_BATCH_TTL_PENDING) {
        ttl = st_decode_fixed64(value.data);
        st_slice_remove_prefix(&value, ST_TTL_PREFIX);
        type = ST_TYPE_VALUE;
        if (ttl == 0 && tc->default_ttl) {
            return add_prefixed(tc->dst, cf, ST_TYPE_VALUE_TTL, key, value, UINT64_MAX);
        }
    }
    if (type == ST_TYPE_VALUE && ttl) {
        return add_prefixed(tc->dst, cf, ST_TYPE_VALUE_TTL, key, value,
                            st_ttl_expiry(tc->now, ttl));
    }
    return add_op_cf(tc->dst, cf, type, key, st_type_is_deletion(type) ? NULL : &value);
}

int st_batch_resolve_ttl(const strata_batch *src, uint64_t now_micros, uint64_t default_ttl,
                         strata_batch *dst)
{
    ttl_ctx tc = {dst, now_micros, default_ttl};
    return st_batch_for_each_cf(src, &tc, copy_with_ttl);
}

int st_batch_has_type(const strata_batch *b, int type)
{
    st_slice in = st_slice_make(b->rep.data + ST_BATCH_HEADER, b->rep.len - ST_BATCH_HEADER);
    int t;
    uint32_t cf;
    st_slice key, value;
    while (next_op(&in, &cf, &t, &key, &value) == 1) {
        if (t == type) {
            return 1;
        }
    }
    return 0;
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
    } else if (st_type_is_deletion(type) && ic->del) {
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

typedef struct ops_ctx {
    void *ctx;
    int (*fn)(void *ctx, int op, const char *key, size_t klen, const char *value, size_t vlen,
              uint64_t expire_unix_micros);
} ops_ctx;

static int iterate_op(void *ctx, int type, st_slice key, st_slice value)
{
    ops_ctx *oc = ctx;
    uint64_t expire = 0;
    int op;
    switch (type) {
    case ST_TYPE_VALUE: op = STRATA_OP_PUT; break;
    case ST_TYPE_DELETION: op = STRATA_OP_DELETE; break;
    case ST_TYPE_SINGLE_DELETION: op = STRATA_OP_SINGLE_DELETE; break;
    case ST_TYPE_RANGE_DEL: op = STRATA_OP_DELETE_RANGE; break;
    case ST_TYPE_MERGE: op = STRATA_OP_MERGE; break;
    case ST_TYPE_VALUE_TTL: /* next_op checked the prefix is there */
        op = STRATA_OP_PUT_TTL;
        expire = st_decode_fixed64(value.data);
        st_slice_remove_prefix(&value, ST_TTL_PREFIX);
        break;
    default: /* ST_BATCH_TTL_PENDING: not written yet, so the expiry it would get now */
        op = STRATA_OP_PUT_TTL;
        expire = st_ttl_expiry(st_env_unix_micros(NULL), st_decode_fixed64(value.data));
        st_slice_remove_prefix(&value, ST_TTL_PREFIX);
        break;
    }
    return oc->fn(oc->ctx, op, key.data, key.size, value.data, value.size, expire);
}

STRATA_EXPORT int strata_batch_iterate_ops(
    const strata_batch *batch, void *ctx,
    int (*fn)(void *ctx, int op, const char *key, size_t klen, const char *value, size_t vlen,
              uint64_t expire_unix_micros))
{
    if (!batch || !fn) {
        return st_err(STRATA_E_INVALID, "strata_batch_iterate_ops: NULL argument");
    }
    ops_ctx oc = {ctx, fn};
    return st_batch_for_each(batch, &oc, iterate_op);
}

/* ---- column-family forms (the family's id goes into the operation's encoding) ------------ */

int st_batch_add_cf(strata_batch *b, uint32_t cf, int type, st_slice key, const st_slice *value,
                    uint64_t prefix)
{
    if (type == ST_TYPE_VALUE_TTL || type == ST_BATCH_TTL_PENDING) {
        return add_prefixed(b, cf, type, key, *value, prefix);
    }
    return add_op_cf(b, cf, type, key, value);
}

/* The public _cf forms: the family's id goes into each operation (default: none). */
#define BATCH_CF_CHECK(b, cf, ok, fn)                                              \
    do {                                                                           \
        if (!(b) || !(cf) || !(ok)) {                                              \
            return st_err(STRATA_E_INVALID, fn ": NULL argument");                 \
        }                                                                          \
    } while (0)

STRATA_EXPORT int strata_batch_put_cf(strata_batch *batch, strata_cf *cf, const void *key,
                                      size_t klen, const void *val, size_t vlen)
{
    BATCH_CF_CHECK(batch, cf, (key || !klen) && (val || !vlen), "strata_batch_put_cf");
    st_slice v = st_slice_make(val, vlen);
    return add_op_cf(batch, strata_cf_id(cf), ST_TYPE_VALUE, st_slice_make(key, klen), &v);
}

STRATA_EXPORT int strata_batch_delete_cf(strata_batch *batch, strata_cf *cf, const void *key,
                                         size_t klen)
{
    BATCH_CF_CHECK(batch, cf, key || !klen, "strata_batch_delete_cf");
    return add_op_cf(batch, strata_cf_id(cf), ST_TYPE_DELETION, st_slice_make(key, klen), NULL);
}

STRATA_EXPORT int strata_batch_single_delete_cf(strata_batch *batch, strata_cf *cf,
                                                const void *key, size_t klen)
{
    BATCH_CF_CHECK(batch, cf, key || !klen, "strata_batch_single_delete_cf");
    return add_op_cf(batch, strata_cf_id(cf), ST_TYPE_SINGLE_DELETION, st_slice_make(key, klen),
                     NULL);
}

STRATA_EXPORT int strata_batch_merge_cf(strata_batch *batch, strata_cf *cf, const void *key,
                                        size_t klen, const void *operand, size_t olen)
{
    BATCH_CF_CHECK(batch, cf, (key || !klen) && (operand || !olen), "strata_batch_merge_cf");
    st_slice v = st_slice_make(operand, olen);
    return add_op_cf(batch, strata_cf_id(cf), ST_TYPE_MERGE, st_slice_make(key, klen), &v);
}

STRATA_EXPORT int strata_batch_put_ttl_cf(strata_batch *batch, strata_cf *cf, const void *key,
                                          size_t klen, const void *val, size_t vlen,
                                          uint64_t ttl_seconds)
{
    BATCH_CF_CHECK(batch, cf, (key || !klen) && (val || !vlen), "strata_batch_put_ttl_cf");
    return add_prefixed(batch, strata_cf_id(cf), ST_BATCH_TTL_PENDING, st_slice_make(key, klen),
                        st_slice_make(val, vlen), ttl_seconds);
}

STRATA_EXPORT int strata_batch_delete_range_cf(strata_batch *batch, strata_cf *cf,
                                               const void *begin, size_t blen, const void *end,
                                               size_t elen)
{
    BATCH_CF_CHECK(batch, cf, (begin || !blen) && (end || !elen), "strata_batch_delete_range_cf");
    st_slice e = st_slice_make(end, elen);
    return add_op_cf(batch, strata_cf_id(cf), ST_TYPE_RANGE_DEL, st_slice_make(begin, blen), &e);
}
