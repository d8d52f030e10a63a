/* wbwi.c — the indexed write batch (txn/wbwi.h). */
#include "txn/wbwi.h"

#include <string.h>

#include "util/alloc.h"
#include "util/coding.h"
#include "util/ikey.h"
#include "util/status.h"

/* An index entry: this header, then the key bytes, then the value bytes. */
typedef struct wb_entry {
    const st_comparator *ucmp; /* the family's */
    uint32_t cf;
    uint32_t op; /* operation number in the batch: larger is newer */
    uint32_t klen;
    uint32_t vlen;
    int type;
} wb_entry;

/* A search key: (cf, key, op), or with edge -1/+1 a point before/after every key of cf. */
typedef struct wb_search {
    const st_comparator *ucmp;
    uint32_t cf;
    st_slice key;
    uint32_t op;
    int edge;
} wb_search;

/* A family the batch has operations on, and its comparator (for rebuilding the index). */
typedef struct wbwi_family {
    uint32_t id;
    const st_comparator *ucmp;
} wbwi_family;

typedef struct wbwi_savepoint {
    size_t len;
    uint32_t count;
} wbwi_savepoint;

static wb_entry entry_header(const char *e)
{
    wb_entry h;
    memcpy(&h, e, sizeof(h));
    return h;
}

static st_slice entry_key(const char *e, const wb_entry *h)
{
    return st_slice_make(e + sizeof(wb_entry), h->klen);
}

static st_slice entry_value(const char *e, const wb_entry *h)
{
    return st_slice_make(e + sizeof(wb_entry) + h->klen, h->vlen);
}

static int cmp_u32(uint32_t a, uint32_t b)
{
    return (a > b) - (a < b);
}

static int cmp_entry_key(void *ctx, const char *e, const void *key)
{
    (void)ctx;
    const wb_search *k = key;
    wb_entry h = entry_header(e);
    int c = cmp_u32(h.cf, k->cf);
    if (c || k->edge) {
        return c ? c : -k->edge;
    }
    c = st_ucmp(h.ucmp, entry_key(e, &h), k->key); /* same family: same comparator */
    return c ? c : cmp_u32(k->op, h.op); /* newer (larger op) first */
}

static int cmp_entries(void *ctx, const char *a, const char *b)
{
    wb_entry hb = entry_header(b);
    wb_search k = {hb.ucmp, hb.cf, entry_key(b, &hb), hb.op, 0};
    return cmp_entry_key(ctx, a, &k);
}

static st_wbwi_index *index_new(strata_db *db, st_wbwi_index *older)
{
    st_wbwi_index *ix = st_calloc(1, sizeof(*ix));
    if (!ix) {
        return NULL;
    }
    ix->db = db;
    ix->older = older;
    st_arena_init(&ix->arena, 16 << 10);
    st_skiplist_cmp cmp = {cmp_entries, cmp_entry_key, ix};
    if (st_skiplist_init(&ix->list, &ix->arena, &cmp)) {
        st_arena_destroy(&ix->arena);
        st_free(ix);
        return NULL;
    }
    return ix;
}

static void index_free_all(st_wbwi_index *ix)
{
    while (ix) {
        st_wbwi_index *older = ix->older;
        st_arena_destroy(&ix->arena);
        st_free(ix);
        ix = older;
    }
}

int st_wbwi_init(st_wbwi *w, strata_db *db)
{
    memset(w, 0, sizeof(*w));
    w->db = db;
    if (st_batch_init(&w->batch)) {
        return st_err(STRATA_E_NOMEM, "out of memory creating a transaction");
    }
    w->index = index_new(db, NULL);
    if (!w->index) {
        st_batch_free(&w->batch);
        return st_err(STRATA_E_NOMEM, "out of memory creating a transaction");
    }
    return 0;
}

void st_wbwi_free(st_wbwi *w)
{
    index_free_all(w->index);
    w->index = NULL;
    st_batch_free(&w->batch);
    st_buf_free(&w->savepoints);
    st_buf_free(&w->families);
}

uint32_t st_wbwi_count(const st_wbwi *w)
{
    return st_batch_count(&w->batch);
}

/* Adds operation op to the index only. */
static int index_add(st_wbwi_index *ix, const st_comparator *ucmp, uint32_t cf, uint32_t op,
                     int type, st_slice key, st_slice value)
{
    wb_entry h = {ucmp, cf, op, (uint32_t)key.size, (uint32_t)value.size, type};
    char *e = st_skiplist_alloc(&ix->list, sizeof(h) + key.size + value.size);
    if (!e) {
        return st_err(STRATA_E_NOMEM, "out of memory indexing a transaction's write");
    }
    memcpy(e, &h, sizeof(h));
    if (key.size) {
        memcpy(e + sizeof(h), key.data, key.size);
    }
    if (value.size) {
        memcpy(e + sizeof(h) + key.size, value.data, value.size);
    }
    wb_search k = {ucmp, cf, entry_key(e, &h), op, 0};
    st_skiplist_insert(&ix->list, e, &k);
    return 0;
}

/* The batch encoding's header (docs/FORMAT.md "Write batch"): fixed64 sequence, fixed32 count. */
static void truncate_batch(strata_batch *b, size_t len, uint32_t count)
{
    b->rep.len = len;
    st_encode_fixed32(b->rep.data + 8, count);
}

/* The comparator of family id, as remembered from the operations added (NULL: none yet). */
static const st_comparator *family_ucmp(const st_wbwi *w, uint32_t id)
{
    const wbwi_family *fs = (const wbwi_family *)(const void *)w->families.data;
    for (size_t i = 0; i < w->families.len / sizeof(*fs); i++) {
        if (fs[i].id == id) {
            return fs[i].ucmp;
        }
    }
    return NULL;
}

static int remember_family(st_wbwi *w, const st_txn_family *f)
{
    wbwi_family e = {f->id, f->ucmp};
    if (family_ucmp(w, f->id) || !st_buf_append(&w->families, &e, sizeof(e))) {
        return 0;
    }
    return st_err(STRATA_E_NOMEM, "out of memory in a transaction");
}

int st_wbwi_add(st_wbwi *w, const st_txn_family *f, int type, st_slice key,
                const st_slice *value)
{
    size_t len = w->batch.rep.len;
    uint32_t op = st_batch_count(&w->batch);
    int rc = remember_family(w, f);
    rc = rc ? rc : st_batch_add_cf(&w->batch, f->id, type, key, value, 0);
    if (rc) {
        return rc;
    }
    rc = index_add(w->index, f->ucmp, f->id, op, type, key,
                   value ? *value : st_slice_make("", 0));
    if (rc) {
        truncate_batch(&w->batch, len, op);
    }
    return rc;
}

int st_wbwi_set_savepoint(st_wbwi *w)
{
    wbwi_savepoint sp = {w->batch.rep.len, st_batch_count(&w->batch)};
    if (st_buf_append(&w->savepoints, &sp, sizeof(sp))) {
        return st_err(STRATA_E_NOMEM, "out of memory setting a savepoint");
    }
    return 0;
}

typedef struct rebuild_ctx {
    const st_wbwi *w;
    st_wbwi_index *ix;
    uint32_t op;
} rebuild_ctx;

static int rebuild_one(void *ctx, uint32_t cf, int type, st_slice key, st_slice value)
{
    rebuild_ctx *rc = ctx;
    return index_add(rc->ix, family_ucmp(rc->w, cf), cf, rc->op++, type, key, value);
}

int st_wbwi_rollback_to_savepoint(st_wbwi *w)
{
    if (w->savepoints.len < sizeof(wbwi_savepoint)) {
        return st_err(STRATA_E_NOTFOUND, "no savepoint to roll back to");
    }
    wbwi_savepoint sp;
    memcpy(&sp, w->savepoints.data + w->savepoints.len - sizeof(sp), sizeof(sp));
    st_wbwi_index *ix = index_new(w->db, w->index);
    if (!ix) {
        return st_err(STRATA_E_NOMEM, "out of memory rolling back to a savepoint");
    }
    size_t old_len = w->batch.rep.len;
    uint32_t old_count = st_batch_count(&w->batch);
    truncate_batch(&w->batch, sp.len, sp.count);
    rebuild_ctx ctx = {w, ix, 0};
    int rc = st_batch_for_each_cf(&w->batch, &ctx, rebuild_one);
    if (rc) {
        /* Nothing lost: the bytes past sp.len are still there. */
        truncate_batch(&w->batch, old_len, old_count);
        ix->older = NULL;
        index_free_all(ix);
        return rc;
    }
    w->index = ix;
    w->savepoints.len -= sizeof(sp);
    return 0;
}

/* Reads a key's operations from its newest (the iterator's entry) down. */
static int key_state(st_skiplist_iter si, int *state, st_slice *value, st_merge_ops *ops)
{
    st_merge_ops_clear(ops);
    *state = ST_WB_NONE;
    wb_entry first = entry_header(st_skiplist_iter_entry(&si));
    const st_comparator *ucmp = first.ucmp;
    st_slice key = entry_key(st_skiplist_iter_entry(&si), &first);
    for (; st_skiplist_iter_valid(&si); st_skiplist_iter_next(&si)) {
        const char *e = st_skiplist_iter_entry(&si);
        wb_entry h = entry_header(e);
        if (h.cf != first.cf || st_ucmp(ucmp, entry_key(e, &h), key) != 0) {
            break;
        }
        if (h.type == ST_TYPE_MERGE) {
            if (st_merge_ops_add(ops, entry_value(e, &h))) {
                return STRATA_E_NOMEM;
            }
            continue;
        }
        *state = h.type == ST_TYPE_VALUE ? ST_WB_VALUE : ST_WB_DELETED;
        *value = entry_value(e, &h);
        break;
    }
    return 0;
}

int st_wbwi_lookup(st_wbwi *w, const st_txn_family *f, st_slice key, int *state,
                   st_slice *value, st_merge_ops *ops)
{
    st_wbwi_iter it;
    st_wbwi_iter_init(&it, w, f);
    wb_search k = {f->ucmp, f->id, key, UINT32_MAX, 0};
    st_skiplist_iter_seek(&it.si, &k);
    if (!st_wbwi_iter_valid(&it) || st_ucmp(it.ucmp, st_wbwi_iter_key(&it), key) != 0) {
        st_merge_ops_clear(ops);
        *state = ST_WB_NONE;
        return 0;
    }
    return key_state(it.si, state, value, ops);
}

/* ---- iterator ------------------------------------------------------------------------------- */

void st_wbwi_iter_init(st_wbwi_iter *it, st_wbwi *w, const st_txn_family *f)
{
    it->index = w->index;
    it->cf = f->id;
    it->ucmp = f->ucmp;
    st_skiplist_iter_init(&it->si, &w->index->list);
}

int st_wbwi_iter_valid(const st_wbwi_iter *it)
{
    return st_skiplist_iter_valid(&it->si) &&
           entry_header(st_skiplist_iter_entry(&it->si)).cf == it->cf;
}

st_slice st_wbwi_iter_key(const st_wbwi_iter *it)
{
    const char *e = st_skiplist_iter_entry(&it->si);
    wb_entry h = entry_header(e);
    return entry_key(e, &h);
}

static void step_back(st_wbwi_iter *it);

/* Moves from any entry of a key back to its newest entry. */
static void to_newest(st_wbwi_iter *it)
{
    if (!st_wbwi_iter_valid(it)) {
        return;
    }
    st_slice key = st_wbwi_iter_key(it);
    st_skiplist_iter p = it->si;
    for (;;) {
        st_skiplist_iter_prev(&p);
        if (!st_skiplist_iter_valid(&p)) {
            break;
        }
        wb_entry h = entry_header(st_skiplist_iter_entry(&p));
        if (h.cf != it->cf || st_ucmp(it->ucmp, entry_key(st_skiplist_iter_entry(&p), &h), key)) {
            break;
        }
        it->si = p;
    }
}

void st_wbwi_iter_seek_to_first(st_wbwi_iter *it)
{
    wb_search k = {it->ucmp, it->cf, {NULL, 0}, 0, -1};
    st_skiplist_iter_seek(&it->si, &k);
}

void st_wbwi_iter_seek_to_last(st_wbwi_iter *it)
{
    wb_search k = {it->ucmp, it->cf, {NULL, 0}, 0, 1};
    st_skiplist_iter_seek(&it->si, &k);
    step_back(it);
}

void st_wbwi_iter_seek(st_wbwi_iter *it, st_slice key)
{
    wb_search k = {it->ucmp, it->cf, key, UINT32_MAX, 0};
    st_skiplist_iter_seek(&it->si, &k);
}

/* From the first entry >= some key, to the newest entry of the key before it. */
static void step_back(st_wbwi_iter *it)
{
    if (st_skiplist_iter_valid(&it->si)) {
        st_skiplist_iter_prev(&it->si);
    } else {
        st_skiplist_iter_seek_to_last(&it->si);
    }
    to_newest(it);
}

void st_wbwi_iter_seek_for_prev(st_wbwi_iter *it, st_slice key)
{
    st_wbwi_iter_seek(it, key);
    if (!st_wbwi_iter_valid(it) || st_ucmp(it->ucmp, st_wbwi_iter_key(it), key) != 0) {
        step_back(it);
    }
}

void st_wbwi_iter_seek_before(st_wbwi_iter *it, st_slice key)
{
    st_wbwi_iter_seek(it, key);
    step_back(it);
}

void st_wbwi_iter_next(st_wbwi_iter *it)
{
    st_slice key = st_wbwi_iter_key(it);
    do {
        st_skiplist_iter_next(&it->si);
    } while (st_wbwi_iter_valid(it) && st_ucmp(it->ucmp, st_wbwi_iter_key(it), key) == 0);
}

void st_wbwi_iter_prev(st_wbwi_iter *it)
{
    st_skiplist_iter_prev(&it->si); /* at the newest entry: one step reaches the previous key */
    to_newest(it);
}

int st_wbwi_iter_state(const st_wbwi_iter *it, int *state, st_slice *value, st_merge_ops *ops)
{
    return key_state(it->si, state, value, ops);
}
