/* test_hooks.c — fault-injection hooks for tests (test_hooks.h). */
#include "db/test_hooks.h"

#include "db/db_impl.h"
#include "util/ikey.h"

int st_db_test_mem_value(strata_db *db, const void *key, size_t klen, char **value, size_t *vlen)
{
    st_mutex_lock(&db->mu);
    int found = st_memtable_test_find_value(db->dflt->mem, st_slice_make(key, klen), value, vlen);
    st_mutex_unlock(&db->mu);
    return found ? 0 : st_err(STRATA_E_NOTFOUND, "test hook: key not in the active memtable");
}

typedef struct cached_ctx {
    strata_db *db;
    char *value;
    size_t vlen;
    int from_cache;
} cached_ctx;

static int note_cached(void *ctx, st_slice key, st_slice value, st_pin *pin)
{
    cached_ctx *c = ctx;
    (void)key;
    c->from_cache = pin && pin->release && pin->a == (void *)c->db->block_cache;
    c->value = (char *)value.data;
    c->vlen = value.size;
    return 0;
}

int st_db_test_cached_value(strata_db *db, const void *key, size_t klen, char **value, size_t *vlen)
{
    uint64_t seq;
    st_superversion *sv = st_db_sv_acquire(db, db->dflt, NULL, &seq);
    st_buf lookup = ST_BUF_INIT;
    int rc = st_ikey_append(&lookup, st_slice_make(key, klen), seq, ST_TYPE_FOR_SEEK);
    cached_ctx c = {db, NULL, 0, 0};
    if (!rc) {
        st_read_flags rf = {1, 1};
        int type = ST_TYPE_DELETION;
        int found = st_version_get(sv->version, &rf, st_buf_slice(&lookup), &type, note_cached, &c);
        rc = found < 0 ? found
             : found == 0 || type != ST_TYPE_VALUE
                 ? st_err(STRATA_E_NOTFOUND, "test hook: key not in the tables")
             : !c.from_cache ? st_err(STRATA_E_INVALID, "test hook: value not in the block cache")
                             : 0;
    }
    st_buf_free(&lookup);
    st_db_sv_release(db, sv, 0);
    if (!rc) {
        *value = c.value;
        *vlen = c.vlen;
    }
    return rc;
}

void st_db_test_set_write_hook(strata_db *db,
                               void (*hook)(void *arg, int point, strata_batch *group), void *arg)
{
    st_mutex_lock(&db->mu);
    db->test_write_hook = hook;
    db->test_write_hook_arg = arg;
    st_mutex_unlock(&db->mu);
}
