/* db_read.c — point reads, super-versions and snapshots.
 *
 * A read takes mu once to pin the current super-version (memtable, immutable memtables, version)
 * and the visible sequence, then searches memtable → immutables (newest first) → tables without
 * any lock.  Releasing a super-version is an atomic decrement; only the last release of a retired
 * super-version takes mu (to drop its version reference). */
#include <string.h>

#include "db/db_impl.h"
#include "util/alloc.h"
#include "util/ikey.h"

struct strata_pinned {
    st_slice value;
    st_pin pin;
    char *owned; /* copy when the source could not be pinned */
};

st_superversion *st_db_sv_acquire(strata_db *db, const strata_snapshot *snap, uint64_t *seq)
{
    st_mutex_lock(&db->mu);
    st_superversion *sv = db->sv;
    atomic_fetch_add_explicit(&sv->refs, 1, memory_order_relaxed);
    /* Pairs with the release store in the write path: every insert up to *seq is visible. */
    *seq = snap ? snap->seq : atomic_load_explicit(&db->visible_seq, memory_order_acquire);
    st_mutex_unlock(&db->mu);
    return sv;
}

static void sv_free(strata_db *db, st_superversion *sv) ST_REQUIRES(db->mu)
{
    st_mutex_assert_held(&db->mu);
    st_memtable_unref(sv->mem);
    for (int i = 0; i < sv->nimm; i++) {
        st_memtable_unref(sv->imm[i]);
    }
    st_version_unref(sv->version);
    st_free(sv);
}

void st_db_sv_release(strata_db *db, st_superversion *sv, int mu_held) ST_NO_TSA
{
    /* acq_rel: the last releaser must see every other holder's reads completed. */
    if (atomic_fetch_sub_explicit(&sv->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    if (!mu_held) {
        st_mutex_lock(&db->mu);
    }
    sv_free(db, sv);
    if (!mu_held) {
        st_mutex_unlock(&db->mu);
    }
}

int st_db_sv_install(strata_db *db)
{
    st_superversion *sv = st_calloc(1, sizeof(*sv));
    if (!sv) {
        return st_err(STRATA_E_NOMEM, "out of memory installing a super-version");
    }
    atomic_init(&sv->refs, 1);
    sv->mem = db->mem;
    st_memtable_ref(sv->mem);
    for (int i = 0; i < db->nimm; i++) {
        sv->imm[i] = db->imm[db->nimm - 1 - i]; /* newest first */
        st_memtable_ref(sv->imm[i]);
    }
    sv->nimm = db->nimm;
    sv->version = st_vset_current(db->vs); /* a new reference, owned by sv */
    st_superversion *old = db->sv;
    db->sv = sv;
    if (old) {
        st_db_sv_release(db, old, 1);
    }
    return 0;
}

/* ---- get ------------------------------------------------------------------------------------ */

typedef struct get_result {
    int pinned_mode;
    void *val;      /* copy mode: st_malloc'd copy */
    size_t vlen;
    strata_pinned *pinned;
} get_result;

static int deliver(get_result *res, st_slice value, st_pin *pin)
{
    if (res->pinned_mode) {
        strata_pinned *p = st_calloc(1, sizeof(*p));
        if (!p) {
            return st_err(STRATA_E_NOMEM, "out of memory");
        }
        if (pin && pin->release) {
            p->pin = *pin;
            pin->release = NULL;
            p->value = value;
        } else {
            p->owned = st_memdup(value.data, value.size);
            if (!p->owned) {
                st_free(p);
                return st_err(STRATA_E_NOMEM, "out of memory");
            }
            p->value = st_slice_make(p->owned, value.size);
        }
        res->pinned = p;
        return 0;
    }
    res->val = st_memdup(value.data, value.size);
    if (!res->val) {
        return st_err(STRATA_E_NOMEM, "out of memory copying a value of %zu bytes", value.size);
    }
    res->vlen = value.size;
    return 0;
}

static void unref_memtable(void *a, void *b)
{
    (void)b;
    st_memtable_unref(a);
}

/* Memtable hit: returns 1 when the memtable decides the lookup (value or deletion). */
static int search_memtable(st_memtable *m, st_slice key, uint64_t seq, get_result *res, int *rc)
{
    int type;
    st_slice value;
    int found = st_memtable_get(m, key, seq, &type, &value);
    if (found <= 0) {
        *rc = found; /* a per-key protection mismatch decides the lookup too */
        return found < 0;
    }
    if (type != ST_TYPE_VALUE) {
        *rc = STRATA_E_NOTFOUND;
        return 1;
    }
    st_memtable_ref(m);
    st_pin pin = {unref_memtable, m, NULL};
    *rc = deliver(res, value, &pin);
    st_pin_release(&pin);
    return 1;
}

static int table_found(void *ctx, st_slice key, st_slice value, st_pin *pin)
{
    st_slice ukey;
    uint64_t seq;
    int type;
    if (st_ikey_parse(key, &ukey, &seq, &type)) {
        return st_err(STRATA_E_CORRUPTION, "corrupted internal key in a table");
    }
    if (type != ST_TYPE_VALUE) {
        return 0;
    }
    return deliver(ctx, value, pin);
}

static int do_get(strata_db *db, const struct strata_read_options *ro, st_slice key,
                  get_result *res)
{
    uint64_t seq;
    st_superversion *sv = st_db_sv_acquire(db, ro ? ro->snapshot : NULL, &seq);
    int rc = 0;
    if (search_memtable(sv->mem, key, seq, res, &rc)) {
        goto out;
    }
    for (int i = 0; i < sv->nimm; i++) {
        if (search_memtable(sv->imm[i], key, seq, res, &rc)) {
            goto out;
        }
    }
    char stackbuf[256];
    st_buf lookup = ST_BUF_INIT;
    if (key.size + ST_IKEY_TRAILER <= sizeof(stackbuf)) {
        lookup.data = stackbuf; /* fits: st_ikey_append will not reallocate */
        lookup.cap = sizeof(stackbuf);
    }
    rc = st_ikey_append(&lookup, key, seq, ST_TYPE_FOR_SEEK);
    if (!rc) {
        st_read_flags rf = {ro ? ro->verify_checksums : 1, ro ? ro->fill_cache : 1};
        int type = ST_TYPE_DELETION;
        int found = st_version_get(sv->version, &rf, st_buf_slice(&lookup), &type, table_found, res);
        rc = found < 0 ? found : (found == 1 && type == ST_TYPE_VALUE) ? 0 : STRATA_E_NOTFOUND;
        if (st_vset_take_seek_wakeup(db->vs)) {
            st_db_bg_wake(db);
        }
    }
    if (lookup.data != stackbuf) {
        st_buf_free(&lookup);
    }
out:
    st_db_sv_release(db, sv, 0);
    if (rc == STRATA_E_NOTFOUND) {
        rc = st_err(STRATA_E_NOTFOUND, "key not found");
    }
    return rc;
}

int st_db_get(strata_db *db, const struct strata_read_options *ro, st_slice key, void **val,
              size_t *vlen)
{
    get_result res = {0, NULL, 0, NULL};
    int rc = do_get(db, ro, key, &res);
    if (rc) {
        st_free(res.val);
        return rc;
    }
    *val = res.val;
    *vlen = res.vlen;
    return 0;
}

int st_db_get_pinned(strata_db *db, const struct strata_read_options *ro, st_slice key,
                     strata_pinned **out)
{
    get_result res = {1, NULL, 0, NULL};
    int rc = do_get(db, ro, key, &res);
    if (rc) {
        strata_pinned_release(res.pinned);
        return rc;
    }
    *out = res.pinned;
    return 0;
}

STRATA_EXPORT const void *strata_pinned_value(const strata_pinned *pinned, size_t *vlen)
{
    if (!pinned) {
        if (vlen) {
            *vlen = 0;
        }
        return NULL;
    }
    if (vlen) {
        *vlen = pinned->value.size;
    }
    return pinned->value.data;
}

STRATA_EXPORT void strata_pinned_release(strata_pinned *pinned)
{
    if (pinned) {
        st_pin_release(&pinned->pin);
        st_free(pinned->owned);
        st_free(pinned);
    }
}

/* ---- snapshots ------------------------------------------------------------------------------ */

STRATA_EXPORT const strata_snapshot *strata_snapshot_create(strata_db *db)
{
    if (!db) {
        st_err(STRATA_E_INVALID, "strata_snapshot_create: NULL db");
        return NULL;
    }
    strata_snapshot *s = st_malloc(sizeof(*s));
    if (!s) {
        st_err(STRATA_E_NOMEM, "out of memory creating a snapshot");
        return NULL;
    }
    st_mutex_lock(&db->mu);
    s->seq = atomic_load_explicit(&db->visible_seq, memory_order_acquire);
    /* visible_seq only grows, so appending keeps the list sorted. */
    s->next = &db->snapshots;
    s->prev = db->snapshots.prev;
    s->prev->next = s;
    db->snapshots.prev = s;
    st_mutex_unlock(&db->mu);
    return s;
}

STRATA_EXPORT void strata_snapshot_release(strata_db *db, const strata_snapshot *snap)
{
    if (!db || !snap) {
        return;
    }
    strata_snapshot *s = (strata_snapshot *)snap;
    st_mutex_lock(&db->mu);
    s->prev->next = s->next;
    s->next->prev = s->prev;
    st_mutex_unlock(&db->mu);
    st_free(s);
}

STRATA_EXPORT uint64_t strata_snapshot_sequence(const strata_snapshot *snap)
{
    return snap ? snap->seq : 0;
}

uint64_t st_db_oldest_snapshot(strata_db *db)
{
    if (db->snapshots.next == &db->snapshots) {
        return atomic_load(&db->visible_seq);
    }
    return db->snapshots.next->seq;
}

int st_db_snapshot_list(strata_db *db, uint64_t **seqs, int *n)
{
    int count = 0;
    for (strata_snapshot *s = db->snapshots.next; s != &db->snapshots; s = s->next) {
        count++;
    }
    *n = 0;
    *seqs = st_malloc(sizeof(uint64_t) * (size_t)(count + 1));
    if (!*seqs) {
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    for (strata_snapshot *s = db->snapshots.next; s != &db->snapshots; s = s->next) {
        (*seqs)[(*n)++] = s->seq;
    }
    return 0;
}
