/* pending_api.c — TEMPORARY stand-ins for the column-family and transaction functions declared in
 * include/strata.h (issue #13) while the engine does not define them yet, so that the CLI and
 * strata-bench build and their default-family paths run.  Only the "default" family exists: its
 * _cf calls forward to the plain functions; everything else fails with STRATA_E_NOTSUP.  Removed
 * as soon as the engine's implementation is merged (a duplicate definition then fails the link). */
#include <stdlib.h>
#include <string.h>

#include "strata.h"
#include "util/status.h"

struct strata_cf {
    int unused;
};
static strata_cf default_cf;

#define IS_DEFAULT(cf) ((cf) == &default_cf)
#define NOT_YET(what) st_err(STRATA_E_NOTSUP, "%s: column families are not implemented yet", what)

strata_cf *strata_cf_default(strata_db *db)
{
    (void)db;
    return &default_cf;
}

strata_cf *strata_cf_handle(strata_db *db, const char *name)
{
    (void)db;
    return strcmp(name, "default") ? NULL : &default_cf;
}

const char *strata_cf_name(const strata_cf *cf)
{
    (void)cf;
    return "default";
}

int strata_cf_create(strata_db *db, const char *name, const strata_options *opts, strata_cf **cf)
{
    (void)db, (void)name, (void)opts, (void)cf;
    return NOT_YET("strata_cf_create");
}

int strata_cf_drop(strata_db *db, strata_cf *cf)
{
    (void)db;
    return IS_DEFAULT(cf) ? st_err(STRATA_E_INVALID, "the default family cannot be dropped")
                          : NOT_YET("strata_cf_drop");
}

int strata_cf_list(const strata_options *opts, const char *path, char ***names, size_t *n)
{
    strata_db *db = NULL;
    int rc = strata_open(opts, path, &db); /* only to fail as the real one does on a missing DB */
    if (rc)
        return rc;
    strata_close(db);
    *names = calloc(1, sizeof(char *));
    if (!*names || !((*names)[0] = strdup("default"))) {
        free(*names);
        return STRATA_E_NOMEM;
    }
    *n = 1;
    return 0;
}

void strata_cf_list_free(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

int strata_open_cf(const strata_options *opts, const char *path, size_t n, const char *const *names,
                   const strata_options *const *cf_opts, strata_cf **handles, strata_db **db)
{
    (void)cf_opts;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], "default"))
            return NOT_YET("strata_open_cf");
        handles[i] = &default_cf;
    }
    return strata_open(opts, path, db);
}

#define CHECK_CF(cf, what) \
    if (!IS_DEFAULT(cf))   \
    return NOT_YET(what)

int strata_put_cf(strata_db *db, const strata_write_options *wo, strata_cf *cf, const void *key,
                  size_t klen, const void *val, size_t vlen)
{
    CHECK_CF(cf, "put_cf");
    return strata_put(db, wo, key, klen, val, vlen);
}

int strata_delete_cf(strata_db *db, const strata_write_options *wo, strata_cf *cf, const void *key,
                     size_t klen)
{
    CHECK_CF(cf, "delete_cf");
    return strata_delete(db, wo, key, klen);
}

int strata_single_delete_cf(strata_db *db, const strata_write_options *wo, strata_cf *cf,
                            const void *key, size_t klen)
{
    CHECK_CF(cf, "single_delete_cf");
    return strata_single_delete(db, wo, key, klen);
}

int strata_merge_cf(strata_db *db, const strata_write_options *wo, strata_cf *cf, const void *key,
                    size_t klen, const void *operand, size_t olen)
{
    CHECK_CF(cf, "merge_cf");
    return strata_merge(db, wo, key, klen, operand, olen);
}

int strata_put_ttl_cf(strata_db *db, const strata_write_options *wo, strata_cf *cf, const void *key,
                      size_t klen, const void *val, size_t vlen, uint64_t ttl)
{
    CHECK_CF(cf, "put_ttl_cf");
    return strata_put_ttl(db, wo, key, klen, val, vlen, ttl);
}

int strata_delete_range_cf(strata_db *db, const strata_write_options *wo, strata_cf *cf,
                           const void *begin, size_t blen, const void *end, size_t elen)
{
    CHECK_CF(cf, "delete_range_cf");
    return strata_delete_range(db, wo, begin, blen, end, elen);
}

int strata_delete_prefix_cf(strata_db *db, const strata_write_options *wo, strata_cf *cf,
                            const void *prefix, size_t plen)
{
    CHECK_CF(cf, "delete_prefix_cf");
    return strata_delete_prefix(db, wo, prefix, plen);
}

int strata_get_cf(strata_db *db, const strata_read_options *ro, strata_cf *cf, const void *key,
                  size_t klen, void **val, size_t *vlen)
{
    CHECK_CF(cf, "get_cf");
    return strata_get(db, ro, key, klen, val, vlen);
}

int strata_get_pinned_cf(strata_db *db, const strata_read_options *ro, strata_cf *cf,
                         const void *key, size_t klen, strata_pinned **pinned)
{
    CHECK_CF(cf, "get_pinned_cf");
    return strata_get_pinned(db, ro, key, klen, pinned);
}

int strata_multi_get_cf(strata_db *db, const strata_read_options *ro, strata_cf *cf, size_t n,
                        const void *const *keys, const size_t *klens, void **vals, size_t *vlens,
                        int *statuses)
{
    CHECK_CF(cf, "multi_get_cf");
    return strata_multi_get(db, ro, n, keys, klens, vals, vlens, statuses);
}

int strata_iter_create_cf(strata_db *db, const strata_read_options *ro, strata_cf *cf,
                          strata_iter **it)
{
    CHECK_CF(cf, "iter_create_cf");
    return strata_iter_create(db, ro, it);
}

int strata_batch_put_cf(strata_batch *batch, strata_cf *cf, const void *key, size_t klen,
                        const void *val, size_t vlen)
{
    CHECK_CF(cf, "batch_put_cf");
    return strata_batch_put(batch, key, klen, val, vlen);
}

int strata_batch_delete_range_cf(strata_batch *batch, strata_cf *cf, const void *begin, size_t blen,
                                 const void *end, size_t elen)
{
    CHECK_CF(cf, "batch_delete_range_cf");
    return strata_batch_delete_range(batch, begin, blen, end, elen);
}

int strata_flush_cf(strata_db *db, strata_cf *cf, int wait)
{
    CHECK_CF(cf, "flush_cf");
    return strata_flush(db, wait);
}

int strata_compact_range_cf(strata_db *db, strata_cf *cf, const void *begin, size_t blen,
                            const void *end, size_t elen)
{
    CHECK_CF(cf, "compact_range_cf");
    return strata_compact_range(db, begin, blen, end, elen);
}

int strata_property_cf(strata_db *db, strata_cf *cf, const char *name, char **value)
{
    CHECK_CF(cf, "property_cf");
    return strata_property(db, name, value);
}

int strata_property_int_cf(strata_db *db, strata_cf *cf, const char *name, uint64_t *value)
{
    CHECK_CF(cf, "property_int_cf");
    return strata_property_int(db, name, value);
}

int strata_approximate_sizes_cf(strata_db *db, strata_cf *cf, int n, const char *const *start,
                                const size_t *start_lens, const char *const *limit,
                                const size_t *limit_lens, uint64_t *sizes)
{
    CHECK_CF(cf, "approximate_sizes_cf");
    return strata_approximate_sizes(db, n, start, start_lens, limit, limit_lens, sizes);
}
