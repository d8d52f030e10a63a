/* db_api.c — public entry points of strata.h for DBs, reads, writes, iterators and maintenance.
 * Each checks its arguments (NULL pointers, sizes) and returns STRATA_E_INVALID with a message
 * rather than crashing, then calls the engine (src/db). */
#include <string.h>

#include "api/options.h"
#include "db/db_impl.h"
#include "db/write_batch.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/status.h"

#define CHECK(cond, fn, what)                                                      \
    do {                                                                           \
        if (!(cond)) {                                                             \
            return st_err(STRATA_E_INVALID, "%s: %s", fn, what);                   \
        }                                                                          \
    } while (0)

#define CHECK_BYTES(p, n, fn, what) CHECK((p) != NULL || (n) == 0, fn, what " is NULL")

STRATA_EXPORT int strata_open(const strata_options *opt, const char *path, strata_db **db)
{
    CHECK(path && db, "strata_open", "NULL path or output pointer");
    *db = NULL;
    CHECK(path[0] != '\0', "strata_open", "empty path");
    struct strata_options defaults;
    if (!opt) {
        st_options_defaults(&defaults);
        opt = &defaults;
    }
    return st_db_open(opt, path, db);
}

STRATA_EXPORT int strata_close(strata_db *db)
{
    return db ? st_db_close(db) : 0;
}

STRATA_EXPORT int strata_destroy(const strata_options *opt, const char *path)
{
    CHECK(path && path[0], "strata_destroy", "NULL or empty path");
    return st_db_destroy(opt, path);
}

STRATA_EXPORT int strata_repair(const strata_options *opt, const char *path)
{
    return strata_repair_report(opt, path, NULL);
}

STRATA_EXPORT int strata_repair_report(const strata_options *opt, const char *path,
                                       strata_integrity_report *report)
{
    if (report) {
        memset(report, 0, sizeof(*report));
    }
    CHECK(path && path[0], "strata_repair", "NULL or empty path");
    struct strata_options defaults;
    if (!opt) {
        st_options_defaults(&defaults);
        opt = &defaults;
    }
    return st_db_repair(opt, path, report);
}

STRATA_EXPORT int strata_salvage(const strata_options *opt, const char *damaged_path,
                                 const char *new_path)
{
    return strata_salvage_report(opt, damaged_path, new_path, NULL);
}

STRATA_EXPORT int strata_salvage_report(const strata_options *opt, const char *damaged_path,
                                        const char *new_path, strata_integrity_report *report)
{
    if (report) {
        memset(report, 0, sizeof(*report));
    }
    CHECK(damaged_path && damaged_path[0] && new_path && new_path[0], "strata_salvage",
          "NULL or empty path");
    struct strata_options defaults;
    if (!opt) {
        st_options_defaults(&defaults);
        opt = &defaults;
    }
    return st_db_salvage(opt, damaged_path, new_path, report);
}

STRATA_EXPORT void strata_integrity_report_free(strata_integrity_report *report)
{
    if (report) {
        st_free(report->detail);
        memset(report, 0, sizeof(*report));
    }
}

/* Encodes a single-operation batch into caller storage when it fits, avoiding heap work on the
 * hottest write path.  Returns 1 if it used stack storage. */
static int small_batch(strata_batch *b, char *stack, size_t cap, size_t need)
{
    if (need > cap) {
        return 0;
    }
    b->rep.data = stack;
    b->rep.cap = cap;
    b->rep.len = ST_BATCH_HEADER;
    memset(stack, 0, ST_BATCH_HEADER);
    return 1;
}

/* One operation (an ST_TYPE_* of the batch encoding, value NULL for deletions).  With per-key
 * protection on, the batch is protected before the operation is added, so its checksum comes from
 * the caller's key and value themselves (the copy into the batch is checked later, with
 * everything after it). */
static int write_one(strata_db *db, const strata_write_options *wo, int type, st_slice key,
                     const st_slice *val, uint64_t expire)
{
    char stack[512];
    uint64_t prot_stack[1];
    strata_batch b;
    size_t need = ST_BATCH_HEADER + 1 + 10 + key.size + (val ? val->size + ST_TTL_PREFIX : 0);
    int on_stack = small_batch(&b, stack, sizeof(stack), need);
    if (!on_stack && st_batch_init(&b)) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    if (on_stack) {
        b.prot = (st_buf){(char *)prot_stack, 0, sizeof(prot_stack)};
    }
    b.protect = db->opts.protection_bytes_per_key != 0;
    b.pending_ttl = 0;
    int rc;
    switch (type) {
    case ST_TYPE_VALUE: rc = strata_batch_put(&b, key.data, key.size, val->data, val->size); break;
    case ST_TYPE_VALUE_TTL: rc = st_batch_put_expiring(&b, key, *val, expire); break;
    case ST_TYPE_MERGE:
        rc = strata_batch_merge(&b, key.data, key.size, val->data, val->size);
        break;
    case ST_TYPE_RANGE_DEL:
        rc = strata_batch_delete_range(&b, key.data, key.size, val->data, val->size);
        break;
    case ST_TYPE_SINGLE_DELETION: rc = strata_batch_single_delete(&b, key.data, key.size); break;
    default: rc = strata_batch_delete(&b, key.data, key.size); break;
    }
    if (!rc) {
        rc = st_db_write(db, wo, &b);
    }
    if (!on_stack) {
        st_batch_free(&b);
    }
    return rc;
}

STRATA_EXPORT int strata_put(strata_db *db, const strata_write_options *wo, const void *key,
                             size_t klen, const void *val, size_t vlen)
{
    CHECK(db, "strata_put", "NULL db");
    CHECK_BYTES(key, klen, "strata_put", "key");
    CHECK_BYTES(val, vlen, "strata_put", "value");
    st_slice v = st_slice_make(val, vlen);
    return write_one(db, wo, ST_TYPE_VALUE, st_slice_make(key, klen), &v, 0);
}

STRATA_EXPORT int strata_put_ttl(strata_db *db, const strata_write_options *wo, const void *key,
                                 size_t klen, const void *val, size_t vlen, uint64_t ttl_seconds)
{
    CHECK(db, "strata_put_ttl", "NULL db");
    CHECK_BYTES(key, klen, "strata_put_ttl", "key");
    CHECK_BYTES(val, vlen, "strata_put_ttl", "value");
    st_slice v = st_slice_make(val, vlen);
    if (ttl_seconds == 0 && !db->opts.default_ttl) {
        return write_one(db, wo, ST_TYPE_VALUE, st_slice_make(key, klen), &v, 0);
    }
    uint64_t expire = ttl_seconds == 0 ? UINT64_MAX /* never, despite default_ttl */
                                       : st_ttl_expiry(st_env_unix_micros(db->env), ttl_seconds);
    return write_one(db, wo, ST_TYPE_VALUE_TTL, st_slice_make(key, klen), &v, expire);
}

STRATA_EXPORT int strata_merge(strata_db *db, const strata_write_options *wo, const void *key,
                               size_t klen, const void *operand, size_t olen)
{
    CHECK(db, "strata_merge", "NULL db");
    CHECK_BYTES(key, klen, "strata_merge", "key");
    CHECK_BYTES(operand, olen, "strata_merge", "operand");
    st_slice v = st_slice_make(operand, olen);
    return write_one(db, wo, ST_TYPE_MERGE, st_slice_make(key, klen), &v, 0);
}

STRATA_EXPORT int strata_single_delete(strata_db *db, const strata_write_options *wo,
                                       const void *key, size_t klen)
{
    CHECK(db, "strata_single_delete", "NULL db");
    CHECK_BYTES(key, klen, "strata_single_delete", "key");
    return write_one(db, wo, ST_TYPE_SINGLE_DELETION, st_slice_make(key, klen), NULL, 0);
}

STRATA_EXPORT int strata_delete_range(strata_db *db, const strata_write_options *wo,
                                      const void *begin, size_t blen, const void *end,
                                      size_t elen)
{
    CHECK(db, "strata_delete_range", "NULL db");
    CHECK_BYTES(begin, blen, "strata_delete_range", "begin");
    CHECK_BYTES(end, elen, "strata_delete_range", "end");
    st_slice e = st_slice_make(end, elen);
    return write_one(db, wo, ST_TYPE_RANGE_DEL, st_slice_make(begin, blen), &e, 0);
}

/* The successor of every key with the prefix: the prefix with trailing 0xff bytes removed and
 * its last byte incremented.  0 when there is none (the prefix is empty or all 0xff). */
static size_t prefix_successor(const char *prefix, size_t plen, char *out)
{
    while (plen > 0 && (unsigned char)prefix[plen - 1] == 0xff) {
        plen--;
    }
    if (plen == 0) {
        return 0;
    }
    memcpy(out, prefix, plen);
    out[plen - 1] = (char)((unsigned char)out[plen - 1] + 1);
    return plen;
}

STRATA_EXPORT int strata_delete_prefix(strata_db *db, const strata_write_options *wo,
                                       const void *prefix, size_t plen)
{
    CHECK(db, "strata_delete_prefix", "NULL db");
    CHECK_BYTES(prefix, plen, "strata_delete_prefix", "prefix");
    CHECK(db->ucmp->bytewise, "strata_delete_prefix", "needs the bytewise comparator");
    char *end = st_malloc(plen ? plen : 1);
    if (!end) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    size_t elen = prefix_successor(prefix, plen, end);
    int rc;
    if (elen) {
        st_slice e = st_slice_make(end, elen);
        rc = write_one(db, wo, ST_TYPE_RANGE_DEL, st_slice_make(prefix, plen), &e, 0);
    } else {
        rc = st_err(STRATA_E_INVALID, "strata_delete_prefix: a prefix that is empty or all 0xff "
                    "bytes has no end key; use strata_delete_range");
    }
    st_free(end);
    return rc;
}

STRATA_EXPORT int strata_delete(strata_db *db, const strata_write_options *wo, const void *key,
                                size_t klen)
{
    CHECK(db, "strata_delete", "NULL db");
    CHECK_BYTES(key, klen, "strata_delete", "key");
    return write_one(db, wo, ST_TYPE_DELETION, st_slice_make(key, klen), NULL, 0);
}

STRATA_EXPORT int strata_write(strata_db *db, const strata_write_options *wo, strata_batch *batch)
{
    CHECK(db && batch, "strata_write", "NULL db or batch");
    return st_db_write(db, wo, batch);
}

STRATA_EXPORT int strata_get(strata_db *db, const strata_read_options *ro, const void *key,
                             size_t klen, void **val, size_t *vlen)
{
    CHECK(db && val && vlen, "strata_get", "NULL db or output pointer");
    *val = NULL;
    *vlen = 0;
    CHECK_BYTES(key, klen, "strata_get", "key");
    return st_db_get(db, ro, st_slice_make(key, klen), val, vlen);
}

STRATA_EXPORT int strata_multi_get(strata_db *db, const strata_read_options *ro, size_t n,
                                   const void *const *keys, const size_t *klens, void **vals,
                                   size_t *vlens, int *statuses)
{
    CHECK(db && (n == 0 || (keys && klens && vals && vlens && statuses)), "strata_multi_get",
          "NULL db or array");
    for (size_t i = 0; i < n; i++) {
        CHECK_BYTES(keys[i], klens[i], "strata_multi_get", "a key");
    }
    return n ? st_db_multi_get(db, ro, n, keys, klens, vals, vlens, statuses) : 0;
}

STRATA_EXPORT int strata_get_pinned(strata_db *db, const strata_read_options *ro, const void *key,
                                    size_t klen, strata_pinned **pinned)
{
    CHECK(db && pinned, "strata_get_pinned", "NULL db or output pointer");
    *pinned = NULL;
    CHECK_BYTES(key, klen, "strata_get_pinned", "key");
    return st_db_get_pinned(db, ro, st_slice_make(key, klen), pinned);
}

STRATA_EXPORT int strata_iter_create(strata_db *db, const strata_read_options *ro,
                                     strata_iter **it)
{
    CHECK(db && it, "strata_iter_create", "NULL db or output pointer");
    *it = NULL;
    return st_db_iter_create(db, ro, it);
}

STRATA_EXPORT int strata_flush(strata_db *db, int wait)
{
    CHECK(db, "strata_flush", "NULL db");
    return st_db_flush(db, wait);
}

STRATA_EXPORT int strata_compact_range(strata_db *db, const void *begin, size_t blen,
                                       const void *end, size_t elen)
{
    CHECK(db, "strata_compact_range", "NULL db");
    st_slice b = st_slice_make(begin, blen), e = st_slice_make(end, elen);
    return st_db_compact_range(db, begin ? &b : NULL, end ? &e : NULL);
}

STRATA_EXPORT int strata_approximate_sizes(strata_db *db, int n, const char *const *start,
                                           const size_t *start_lens, const char *const *limit,
                                           const size_t *limit_lens, uint64_t *sizes)
{
    CHECK(db && n >= 0, "strata_approximate_sizes", "NULL db or negative count");
    CHECK(n == 0 || (start && start_lens && limit && limit_lens && sizes),
          "strata_approximate_sizes", "NULL array");
    for (int i = 0; i < n; i++) {
        CHECK_BYTES(start[i], start_lens[i], "strata_approximate_sizes", "start key");
        CHECK_BYTES(limit[i], limit_lens[i], "strata_approximate_sizes", "limit key");
    }
    return st_db_approximate_sizes(db, n, start, start_lens, limit, limit_lens, sizes);
}

STRATA_EXPORT int strata_property(strata_db *db, const char *name, char **value)
{
    CHECK(db && name && value, "strata_property", "NULL argument");
    *value = NULL;
    return st_db_property(db, name, value);
}

STRATA_EXPORT int strata_property_int(strata_db *db, const char *name, uint64_t *value)
{
    CHECK(db && name && value, "strata_property_int", "NULL argument");
    return st_db_property_int(db, name, value);
}
