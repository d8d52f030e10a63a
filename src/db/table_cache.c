/* table_cache.c — open table readers, keyed by file number, in a private LRU cache.
 *
 * Each cache entry is one open st_table (which owns its st_rfile) charged 1, so the capacity is
 * the number of tables kept open (max_open_files; a value <= 0 means unbounded; from 256 up the
 * cache is split into 16 shards, each an LRU of 1/16 of the capacity).  Tables pinned by readers
 * are never evicted, so more than max_open_files can be open while many are being read.  The cache key is
 * the file number as 8 little-endian bytes.  A lookup or open returns a cache handle that pins the
 * table: an evicted or erased table stays open until its last handle is released, and the
 * entry's deleter then closes it.  Iterators carry their handle as a cleanup, so a table stays
 * open exactly as long as something reads it.  Thread-safety comes from the cache; two threads
 * missing on the same file both open it and the later insert replaces the earlier (each still
 * holds a valid handle). */
#include "db/table_cache.h"

#include <stdatomic.h>
#include <string.h>

#include "db/filename.h"
#include "util/alloc.h"
#include "util/cache.h"
#include "util/coding.h"
#include "util/status.h"

struct st_table_cache {
    st_env *env;
    char *dbname;
    st_table_read_options topts; /* fname unused */
    int prot_bytes;              /* per-key protection of cached blocks (st_table_set_protection) */
    st_cache *cache;
    atomic_size_t mem; /* st_table_memory_usage of every open table */
};

typedef struct tc_entry {
    st_table_cache *tc;
    st_table *table;
    size_t mem;
} tc_entry;

static void entry_deleter(st_slice key, void *value)
{
    (void)key;
    tc_entry *e = value;
    atomic_fetch_sub_explicit(&e->tc->mem, e->mem, memory_order_relaxed);
    st_table_close(e->table);
    st_free(e);
}

static void release_handle(void *cache, void *handle)
{
    st_cache_release(cache, handle);
}

int st_table_cache_create(st_env *env, const char *dbname, const st_table_read_options *topts,
                          int max_open_files, st_table_cache **out)
{
    *out = NULL;
    st_table_cache *tc = st_calloc(1, sizeof(*tc));
    size_t cap = max_open_files > 0 ? (size_t)max_open_files : SIZE_MAX;
    /* Shards cut lock contention between readers; small caches keep one exact LRU. */
    int shard_bits = cap >= 256 ? 4 : 0;
    if (!tc || !(tc->dbname = st_strdup(dbname)) ||
        !(tc->cache = st_cache_create(cap, shard_bits))) {
        if (tc) {
            st_free(tc->dbname);
        }
        st_free(tc);
        return st_err(STRATA_E_NOMEM, "table cache: out of memory");
    }
    tc->env = env;
    tc->topts = *topts;
    tc->topts.fname = NULL;
    atomic_init(&tc->mem, 0);
    *out = tc;
    return 0;
}

void st_table_cache_set_protection(st_table_cache *tc, int n)
{
    tc->prot_bytes = n;
}

void st_table_cache_destroy(st_table_cache *tc)
{
    if (!tc) {
        return;
    }
    st_cache_unref(tc->cache); /* closes every table (deleters need tc, so free it after) */
    st_free(tc->dbname);
    st_free(tc);
}

/* Opens the table file of number; the message of any error names the file. */
static int open_table(st_table_cache *tc, uint64_t number, uint64_t file_size, st_table **out)
{
    st_rfile *file = NULL;
    char *fname = st_filename(tc->dbname, ST_FILE_TABLE, number);
    if (!fname) {
        return st_err(STRATA_E_NOMEM, "opening table %llu: out of memory",
                      (unsigned long long)number);
    }
    int rc = tc->topts.mmap_reads ? st_env_new_mapped(tc->env, fname, &file)
                                  : st_env_new_random(tc->env, fname, &file);
    if (!rc) {
        st_table_read_options o = tc->topts;
        o.fname = fname;
        o.file_number = number;
        rc = st_table_open(&o, file, file_size, out);
        if (rc) {
            st_rfile_close(file);
        } else {
            st_table_set_protection(*out, tc->prot_bytes);
        }
    }
    if (rc && !strstr(st_errmsg(), fname)) {
        st_err_context(rc, "%s", fname);
    }
    st_free(fname);
    return rc;
}

int st_table_cache_find(st_table_cache *tc, uint64_t number, uint64_t file_size,
                        st_table **table, st_pin *pin)
{
    char key[8];
    st_encode_fixed64(key, number);
    st_slice k = st_slice_make(key, sizeof(key));
    st_cache_handle *h = st_cache_lookup(tc->cache, k);
    if (!h) {
        tc_entry *e = st_malloc(sizeof(*e));
        if (!e) {
            return st_err(STRATA_E_NOMEM, "table cache: out of memory");
        }
        int rc = open_table(tc, number, file_size, &e->table);
        if (rc) {
            st_free(e);
            return rc;
        }
        e->tc = tc;
        e->mem = st_table_memory_usage(e->table);
        /* Counted before the insert, after which the deleter may run and subtract it. */
        atomic_fetch_add_explicit(&tc->mem, e->mem, memory_order_relaxed);
        h = st_cache_insert(tc->cache, k, e, 1, entry_deleter);
        if (!h) {
            atomic_fetch_sub_explicit(&tc->mem, e->mem, memory_order_relaxed);
            st_table_close(e->table);
            st_free(e);
            return st_err(STRATA_E_NOMEM, "table cache: out of memory");
        }
    }
    *table = ((tc_entry *)st_cache_value(h))->table;
    pin->release = release_handle;
    pin->a = tc->cache;
    pin->b = h;
    return 0;
}

int st_table_cache_get(st_table_cache *tc, const st_read_flags *rf, uint64_t number,
                       uint64_t file_size, st_slice ikey,
                       int (*found)(void *ctx, st_slice key, st_slice value, st_pin *pin),
                       void *ctx)
{
    st_table *t = NULL;
    st_pin tpin = {NULL, NULL, NULL};
    int rc = st_table_cache_find(tc, number, file_size, &t, &tpin);
    if (rc) {
        return rc;
    }
    rc = st_table_get(t, rf, ikey, found, ctx);
    st_pin_release(&tpin);
    return rc;
}

static void release_pin_cleanup(void *a, void *b)
{
    st_cache_release(a, b);
}

st_iter *st_table_cache_iter(st_table_cache *tc, const st_read_flags *rf, uint64_t number,
                             uint64_t file_size)
{
    st_table *t = NULL;
    st_pin tpin = {NULL, NULL, NULL};
    int rc = st_table_cache_find(tc, number, file_size, &t, &tpin);
    if (rc) {
        return st_iter_empty(rc);
    }
    st_iter *it = st_table_iter(t, rf);
    if (!it || st_iter_add_cleanup(it, release_pin_cleanup, tpin.a, tpin.b)) {
        st_iter_destroy(it);
        st_pin_release(&tpin);
        st_err(STRATA_E_NOMEM, "table iterator: out of memory");
        return NULL;
    }
    return it;
}

void st_table_cache_evict(st_table_cache *tc, uint64_t number)
{
    char key[8];
    st_encode_fixed64(key, number);
    st_cache_erase(tc->cache, st_slice_make(key, sizeof(key)));
}

size_t st_table_cache_memory_usage(const st_table_cache *tc)
{
    return atomic_load_explicit(&((st_table_cache *)tc)->mem, memory_order_relaxed);
}
