/* db_api.c — public entry points of strata.h for DBs, reads, writes, iterators and maintenance.
 * Each checks its arguments (NULL pointers, sizes) and returns STRATA_E_INVALID with a message
 * rather than crashing, then calls the engine (src/db). */
#include <string.h>

#include "api/api_check.h"
#include "api/options.h"
#include "db/db_impl.h"
#include "db/write_batch.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/status.h"


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

/* One operation (an ST_TYPE_* of the batch encoding, value NULL for deletions) on family cf.
 * With per-key protection on, the batch is protected before the operation is added, so its
 * checksum comes from the caller's key and value themselves (the copy into the batch is checked
 * later, with everything after it). */
static int write_one(strata_db *db, const strata_write_options *wo, strata_cf *cf, int type,
                     st_slice key, const st_slice *val, uint64_t expire)
{
    char stack[512];
    uint64_t prot_stack[1];
    strata_batch b;
    size_t need = ST_BATCH_HEADER + 1 + 5 + 10 + key.size + (val ? val->size + ST_TTL_PREFIX : 0);
    int on_stack = small_batch(&b, stack, sizeof(stack), need);
    if (!on_stack && st_batch_init(&b)) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    if (on_stack) {
        b.prot = (st_buf){(char *)prot_stack, 0, sizeof(prot_stack)};
    }
    b.protect = db->opts.protection_bytes_per_key != 0;
    b.pending_ttl = 0;
    b.has_cf = 0;
    int rc = st_batch_add_cf(&b, cf->id, type, key, val, expire);
    if (!rc) {
        rc = st_db_write(db, wo, &b);
    }
    if (!on_stack) {
        st_batch_free(&b);
    }
    return rc;
}

/* The checks every _cf entry point makes: db, the family handle, and the key bytes. */
#define CHECK_CF(db, cf, fn)                                                       \
    do {                                                                           \
        CHECK(db, fn, "NULL db");                                                  \
        int cf_rc_ = st_db_cf_check(db, cf, fn);                                   \
        if (cf_rc_) {                                                              \
            return cf_rc_;                                                         \
        }                                                                          \
    } while (0)

STRATA_EXPORT int strata_put_cf(strata_db *db, const strata_write_options *wo, strata_cf *cf,
                                const void *key, size_t klen, const void *val, size_t vlen)
{
    CHECK_CF(db, cf, "strata_put");
    CHECK_BYTES(key, klen, "strata_put", "key");
    CHECK_BYTES(val, vlen, "strata_put", "value");
    st_slice v = st_slice_make(val, vlen);
    return write_one(db, wo, cf, ST_TYPE_VALUE, st_slice_make(key, klen), &v, 0);
}

STRATA_EXPORT int strata_put(strata_db *db, const strata_write_options *wo, const void *key,
                             size_t klen, const void *val, size_t vlen)
{
    CHECK(db, "strata_put", "NULL db");
    return strata_put_cf(db, wo, db->dflt, key, klen, val, vlen);
}

STRATA_EXPORT int strata_put_ttl_cf(strata_db *db, const strata_write_options *wo, strata_cf *cf,
                                    const void *key, size_t klen, const void *val, size_t vlen,
                                    uint64_t ttl_seconds)
{
    CHECK_CF(db, cf, "strata_put_ttl");
    CHECK_BYTES(key, klen, "strata_put_ttl", "key");
    CHECK_BYTES(val, vlen, "strata_put_ttl", "value");
    st_slice v = st_slice_make(val, vlen);
    if (ttl_seconds == 0 && !db->opts.default_ttl) {
        return write_one(db, wo, cf, ST_TYPE_VALUE, st_slice_make(key, klen), &v, 0);
    }
    uint64_t expire = ttl_seconds == 0 ? UINT64_MAX /* never, despite default_ttl */
                                       : st_ttl_expiry(st_env_unix_micros(db->env), ttl_seconds);
    return write_one(db, wo, cf, ST_TYPE_VALUE_TTL, st_slice_make(key, klen), &v, expire);
}

STRATA_EXPORT int strata_put_ttl(strata_db *db, const strata_write_options *wo, const void *key,
                                 size_t klen, const void *val, size_t vlen, uint64_t ttl_seconds)
{
    CHECK(db, "strata_put_ttl", "NULL db");
    return strata_put_ttl_cf(db, wo, db->dflt, key, klen, val, vlen, ttl_seconds);
}

STRATA_EXPORT int strata_merge_cf(strata_db *db, const strata_write_options *wo, strata_cf *cf,
                                  const void *key, size_t klen, const void *operand, size_t olen)
{
    CHECK_CF(db, cf, "strata_merge");
    CHECK_BYTES(key, klen, "strata_merge", "key");
    CHECK_BYTES(operand, olen, "strata_merge", "operand");
    st_slice v = st_slice_make(operand, olen);
    return write_one(db, wo, cf, ST_TYPE_MERGE, st_slice_make(key, klen), &v, 0);
}

STRATA_EXPORT int strata_merge(strata_db *db, const strata_write_options *wo, const void *key,
                               size_t klen, const void *operand, size_t olen)
{
    CHECK(db, "strata_merge", "NULL db");
    return strata_merge_cf(db, wo, db->dflt, key, klen, operand, olen);
}

STRATA_EXPORT int strata_single_delete_cf(strata_db *db, const strata_write_options *wo,
                                          strata_cf *cf, const void *key, size_t klen)
{
    CHECK_CF(db, cf, "strata_single_delete");
    CHECK_BYTES(key, klen, "strata_single_delete", "key");
    return write_one(db, wo, cf, ST_TYPE_SINGLE_DELETION, st_slice_make(key, klen), NULL, 0);
}

STRATA_EXPORT int strata_single_delete(strata_db *db, const strata_write_options *wo,
                                       const void *key, size_t klen)
{
    CHECK(db, "strata_single_delete", "NULL db");
    return strata_single_delete_cf(db, wo, db->dflt, key, klen);
}

STRATA_EXPORT int strata_delete_range_cf(strata_db *db, const strata_write_options *wo,
                                         strata_cf *cf, const void *begin, size_t blen,
                                         const void *end, size_t elen)
{
    CHECK_CF(db, cf, "strata_delete_range");
    CHECK_BYTES(begin, blen, "strata_delete_range", "begin");
    CHECK_BYTES(end, elen, "strata_delete_range", "end");
    st_slice e = st_slice_make(end, elen);
    return write_one(db, wo, cf, ST_TYPE_RANGE_DEL, st_slice_make(begin, blen), &e, 0);
}

STRATA_EXPORT int strata_delete_range(strata_db *db, const strata_write_options *wo,
                                      const void *begin, size_t blen, const void *end,
                                      size_t elen)
{
    CHECK(db, "strata_delete_range", "NULL db");
    return strata_delete_range_cf(db, wo, db->dflt, begin, blen, end, elen);
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

STRATA_EXPORT int strata_delete_prefix_cf(strata_db *db, const strata_write_options *wo,
                                          strata_cf *cf, const void *prefix, size_t plen)
{
    CHECK_CF(db, cf, "strata_delete_prefix");
    CHECK_BYTES(prefix, plen, "strata_delete_prefix", "prefix");
    CHECK(cf->ucmp->bytewise, "strata_delete_prefix", "needs the bytewise comparator");
    char *end = st_malloc(plen ? plen : 1);
    if (!end) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    size_t elen = prefix_successor(prefix, plen, end);
    int rc;
    if (elen) {
        st_slice e = st_slice_make(end, elen);
        rc = write_one(db, wo, cf, ST_TYPE_RANGE_DEL, st_slice_make(prefix, plen), &e, 0);
    } else {
        rc = st_err(STRATA_E_INVALID, "strata_delete_prefix: a prefix that is empty or all 0xff "
                    "bytes has no end key; use strata_delete_range");
    }
    st_free(end);
    return rc;
}

STRATA_EXPORT int strata_delete_prefix(strata_db *db, const strata_write_options *wo,
                                       const void *prefix, size_t plen)
{
    CHECK(db, "strata_delete_prefix", "NULL db");
    return strata_delete_prefix_cf(db, wo, db->dflt, prefix, plen);
}

STRATA_EXPORT int strata_delete_cf(strata_db *db, const strata_write_options *wo, strata_cf *cf,
                                   const void *key, size_t klen)
{
    CHECK_CF(db, cf, "strata_delete");
    CHECK_BYTES(key, klen, "strata_delete", "key");
    return write_one(db, wo, cf, ST_TYPE_DELETION, st_slice_make(key, klen), NULL, 0);
}

STRATA_EXPORT int strata_delete(strata_db *db, const strata_write_options *wo, const void *key,
                                size_t klen)
{
    CHECK(db, "strata_delete", "NULL db");
    return strata_delete_cf(db, wo, db->dflt, key, klen);
}

STRATA_EXPORT int strata_write(strata_db *db, const strata_write_options *wo, strata_batch *batch)
{
    CHECK(db && batch, "strata_write", "NULL db or batch");
    return st_db_write(db, wo, batch);
}

STRATA_EXPORT int strata_get_cf(strata_db *db, const strata_read_options *ro, strata_cf *cf,
                                const void *key, size_t klen, void **val, size_t *vlen)
{
    CHECK(db && val && vlen, "strata_get", "NULL db or output pointer");
    *val = NULL;
    *vlen = 0;
    CHECK_CF(db, cf, "strata_get");
    CHECK_BYTES(key, klen, "strata_get", "key");
    return st_db_get(db, cf, ro, st_slice_make(key, klen), val, vlen);
}

STRATA_EXPORT int strata_get(strata_db *db, const strata_read_options *ro, const void *key,
                             size_t klen, void **val, size_t *vlen)
{
    CHECK(db, "strata_get", "NULL db");
    return strata_get_cf(db, ro, db->dflt, key, klen, val, vlen);
}

STRATA_EXPORT int strata_multi_get_cf(strata_db *db, const strata_read_options *ro,
                                      strata_cf *cf, size_t n, const void *const *keys,
                                      const size_t *klens, void **vals, size_t *vlens,
                                      int *statuses)
{
    CHECK(db && (n == 0 || (keys && klens && vals && vlens && statuses)), "strata_multi_get",
          "NULL db or array");
    CHECK_CF(db, cf, "strata_multi_get");
    for (size_t i = 0; i < n; i++) {
        CHECK_BYTES(keys[i], klens[i], "strata_multi_get", "a key");
    }
    return n ? st_db_multi_get(db, cf, ro, n, keys, klens, vals, vlens, statuses) : 0;
}

STRATA_EXPORT int strata_multi_get(strata_db *db, const strata_read_options *ro, size_t n,
                                   const void *const *keys, const size_t *klens, void **vals,
                                   size_t *vlens, int *statuses)
{
    CHECK(db, "strata_multi_get", "NULL db");
    return strata_multi_get_cf(db, ro, db->dflt, n, keys, klens, vals, vlens, statuses);
}

STRATA_EXPORT int strata_get_pinned_cf(strata_db *db, const strata_read_options *ro,
                                       strata_cf *cf, const void *key, size_t klen,
                                       strata_pinned **pinned)
{
    CHECK(db && pinned, "strata_get_pinned", "NULL db or output pointer");
    *pinned = NULL;
    CHECK_CF(db, cf, "strata_get_pinned");
    CHECK_BYTES(key, klen, "strata_get_pinned", "key");
    return st_db_get_pinned(db, cf, ro, st_slice_make(key, klen), pinned);
}

STRATA_EXPORT int strata_get_pinned(strata_db *db, const strata_read_options *ro, const void *key,
                                    size_t klen, strata_pinned **pinned)
{
    CHECK(db, "strata_get_pinned", "NULL db");
    return strata_get_pinned_cf(db, ro, db->dflt, key, klen, pinned);
}

STRATA_EXPORT int strata_iter_create_cf(strata_db *db, const strata_read_options *ro,
                                        strata_cf *cf, strata_iter **it)
{
    CHECK(db && it, "strata_iter_create", "NULL db or output pointer");
    *it = NULL;
    CHECK_CF(db, cf, "strata_iter_create");
    return st_db_iter_create(db, cf, ro, it);
}

STRATA_EXPORT int strata_iter_create(strata_db *db, const strata_read_options *ro,
                                     strata_iter **it)
{
    CHECK(db, "strata_iter_create", "NULL db");
    return strata_iter_create_cf(db, ro, db->dflt, it);
}

STRATA_EXPORT int strata_flush_cf(strata_db *db, strata_cf *cf, int wait)
{
    CHECK_CF(db, cf, "strata_flush");
    return st_db_flush(db, cf, wait);
}

/* Every family: what a program that does not know families means by flushing the DB. */
STRATA_EXPORT int strata_flush(strata_db *db, int wait)
{
    CHECK(db, "strata_flush", "NULL db");
    return st_db_flush(db, NULL, wait);
}

STRATA_EXPORT int strata_compact_range_cf(strata_db *db, strata_cf *cf, const void *begin,
                                          size_t blen, const void *end, size_t elen)
{
    CHECK_CF(db, cf, "strata_compact_range");
    st_slice b = st_slice_make(begin, blen), e = st_slice_make(end, elen);
    return st_db_compact_range(db, cf, begin ? &b : NULL, end ? &e : NULL);
}

STRATA_EXPORT int strata_compact_range(strata_db *db, const void *begin, size_t blen,
                                       const void *end, size_t elen)
{
    CHECK(db, "strata_compact_range", "NULL db");
    return strata_compact_range_cf(db, db->dflt, begin, blen, end, elen);
}

STRATA_EXPORT int strata_approximate_sizes_cf(strata_db *db, strata_cf *cf, int n,
                                              const char *const *start, const size_t *start_lens,
                                              const char *const *limit, const size_t *limit_lens,
                                              uint64_t *sizes)
{
    CHECK(db && n >= 0, "strata_approximate_sizes", "NULL db or negative count");
    CHECK_CF(db, cf, "strata_approximate_sizes");
    CHECK(n == 0 || (start && start_lens && limit && limit_lens && sizes),
          "strata_approximate_sizes", "NULL array");
    for (int i = 0; i < n; i++) {
        CHECK_BYTES(start[i], start_lens[i], "strata_approximate_sizes", "start key");
        CHECK_BYTES(limit[i], limit_lens[i], "strata_approximate_sizes", "limit key");
    }
    return st_db_approximate_sizes(db, cf, n, start, start_lens, limit, limit_lens, sizes);
}

STRATA_EXPORT int strata_approximate_sizes(strata_db *db, int n, const char *const *start,
                                           const size_t *start_lens, const char *const *limit,
                                           const size_t *limit_lens, uint64_t *sizes)
{
    CHECK(db, "strata_approximate_sizes", "NULL db");
    return strata_approximate_sizes_cf(db, db->dflt, n, start, start_lens, limit, limit_lens,
                                       sizes);
}

STRATA_EXPORT int strata_property_cf(strata_db *db, strata_cf *cf, const char *name,
                                     char **value)
{
    CHECK(db && name && value, "strata_property", "NULL argument");
    *value = NULL;
    CHECK_CF(db, cf, "strata_property");
    return st_db_property(db, cf, name, value);
}

STRATA_EXPORT int strata_property(strata_db *db, const char *name, char **value)
{
    CHECK(db, "strata_property", "NULL argument");
    return strata_property_cf(db, db->dflt, name, value);
}

STRATA_EXPORT int strata_property_int_cf(strata_db *db, strata_cf *cf, const char *name,
                                         uint64_t *value)
{
    CHECK(db && name && value, "strata_property_int", "NULL argument");
    CHECK_CF(db, cf, "strata_property_int");
    return st_db_property_int(db, cf, name, value);
}

STRATA_EXPORT int strata_property_int(strata_db *db, const char *name, uint64_t *value)
{
    CHECK(db, "strata_property_int", "NULL argument");
    return strata_property_int_cf(db, db->dflt, name, value);
}

/* ---- column families ---------------------------------------------------------------------- */

STRATA_EXPORT int strata_open_cf(const strata_options *opts, const char *path, size_t n,
                                 const char *const *names, const strata_options *const *cf_opts,
                                 strata_cf **handles, strata_db **db)
{
    CHECK(path && db && (n == 0 || (names && handles)), "strata_open_cf",
          "NULL path, names, handles or output pointer");
    *db = NULL;
    CHECK(path[0] != '\0', "strata_open_cf", "empty path");
    for (size_t i = 0; i < n; i++) {
        handles[i] = NULL;
        CHECK(names[i], "strata_open_cf", "NULL family name");
    }
    struct strata_options defaults;
    if (!opts) {
        st_options_defaults(&defaults);
        opts = &defaults;
    }
    return st_db_open_cf(opts, path, n, names, cf_opts, handles, db);
}

STRATA_EXPORT int strata_cf_create(strata_db *db, const char *name, const strata_options *opts,
                                   strata_cf **cf)
{
    CHECK(db && name && cf, "strata_cf_create", "NULL db, name or output pointer");
    *cf = NULL;
    return st_db_cf_create(db, name, opts, cf);
}

STRATA_EXPORT int strata_cf_drop(strata_db *db, strata_cf *cf)
{
    CHECK(db, "strata_cf_drop", "NULL db");
    return st_db_cf_drop(db, cf);
}

STRATA_EXPORT strata_cf *strata_cf_handle(strata_db *db, const char *name)
{
    if (!db || !name) {
        st_err(STRATA_E_INVALID, "strata_cf_handle: NULL db or name");
        return NULL;
    }
    st_mutex_lock(&db->mu);
    strata_cf *cf = st_db_cf_find(db, name);
    st_mutex_unlock(&db->mu);
    if (!cf) {
        st_err(STRATA_E_NOTFOUND, "column family %s does not exist", name);
    }
    return cf;
}

STRATA_EXPORT strata_cf *strata_cf_default(strata_db *db)
{
    return db ? db->dflt : NULL;
}

STRATA_EXPORT const char *strata_cf_name(const strata_cf *cf)
{
    return cf ? cf->name : NULL;
}

STRATA_EXPORT uint32_t strata_cf_id(const strata_cf *cf)
{
    return cf ? cf->id : 0;
}

STRATA_EXPORT int strata_cf_list(const strata_options *opts, const char *path, char ***names,
                                 size_t *n)
{
    CHECK(path && path[0] && names && n, "strata_cf_list", "NULL or empty argument");
    *names = NULL;
    *n = 0;
    return st_db_cf_list(opts, path, names, n);
}

STRATA_EXPORT void strata_cf_list_free(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++) {
        st_free(names[i]);
    }
    st_free(names);
}
