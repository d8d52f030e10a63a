/* db_read.c — point reads, super-versions and snapshots.
 *
 * A read takes mu once to pin the current super-version (memtable, immutable memtables, version)
 * and the visible sequence, then searches memtable → immutables (newest first) → tables without
 * any lock.  Releasing a super-version is an atomic decrement; only the last release of a retired
 * super-version takes mu (to drop its version reference). */
#include <string.h>

#include "db/db_impl.h"
#include "db/merge_op.h"
#include "util/alloc.h"
#include "util/ikey.h"

struct strata_pinned {
    st_slice value;
    st_pin pin;
    char *owned; /* copy when the source could not be pinned */
};

st_superversion *st_db_sv_acquire(strata_db *db, strata_cf *cf, const strata_snapshot *snap,
                                  uint64_t *seq)
{
    st_mutex_lock(&db->mu);
    st_superversion *sv = cf->sv;
    if (!sv) { /* dropped */
        st_mutex_unlock(&db->mu);
        st_err(STRATA_E_INVALID, "column family %s was dropped", cf->name);
        return NULL;
    }
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

int st_db_sv_install(strata_db *db, strata_cf *cf)
{
    st_superversion *sv = st_calloc(1, sizeof(*sv));
    if (!sv) {
        return st_err(STRATA_E_NOMEM, "out of memory installing a super-version");
    }
    atomic_init(&sv->refs, 1);
    sv->mem = cf->mem;
    st_memtable_ref(sv->mem);
    for (int i = 0; i < cf->nimm; i++) {
        sv->imm[i] = cf->imm[cf->nimm - 1 - i]; /* newest first */
        st_memtable_ref(sv->imm[i]);
    }
    sv->nimm = cf->nimm;
    sv->version = st_vset_current(cf->vs); /* a new reference, owned by sv */
    st_superversion *old = cf->sv;
    cf->sv = sv;
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

/* ---- one key's lookup: tombstones, TTL and merge operands across the sources ---------------- */

/* Sources are searched newest first (memtable, immutables, then the tables in st_version_get_each
 * order); every source's range tombstones are seen before its entries. */
typedef struct lookup {
    strata_db *db;
    strata_merge_operator *mo; /* the family's */
    get_result *res;
    st_slice ukey;
    uint64_t seq;    /* read at this sequence */
    uint64_t cover;  /* newest range tombstone seq (<= seq) covering ukey seen so far */
    uint64_t now;    /* unix micros for TTL checks (0: not read yet) */
    int done;        /* decided: found (res filled) or absent */
    int found;
    st_merge_ops ops; /* merge operands collected, newest first */
    st_buf merged;
} lookup;

static void lookup_init(lookup *lk, strata_db *db, const strata_cf *cf, get_result *res,
                        st_slice ukey, uint64_t seq)
{
    memset(lk, 0, sizeof(*lk));
    lk->db = db;
    lk->mo = cf->opts.merge_operator;
    lk->res = res;
    lk->ukey = ukey;
    lk->seq = seq;
}

static void lookup_free(lookup *lk)
{
    st_merge_ops_free(&lk->ops);
    st_buf_free(&lk->merged);
}

static void lookup_tombstones(void *ctx, const st_rdel_list *l)
{
    lookup *lk = ctx;
    uint64_t c = st_rdel_list_covering(l, lk->ukey, lk->seq, NULL);
    if (c > lk->cover) {
        lk->cover = c;
    }
}

/* Resolves the collected operands onto base (NULL: none) and delivers the result. */
static int finish_merge(lookup *lk, const st_slice *base)
{
    int rc = st_merge_ops_full(lk->mo, lk->ukey, base, &lk->ops, 1,
                               &lk->merged);
    lk->done = 1;
    lk->found = rc == 0;
    return rc ? rc : deliver(lk->res, st_buf_slice(&lk->merged), NULL);
}

/* The key has no value at this version (deleted, covered or expired). */
static int absent(lookup *lk)
{
    if (lk->ops.n) {
        return finish_merge(lk, NULL);
    }
    lk->done = 1;
    return 0;
}

static int expired(lookup *lk, st_slice value)
{
    if (lk->now == 0) {
        lk->now = st_env_unix_micros(lk->db->env);
    }
    return st_decode_fixed64(value.data) <= lk->now;
}

/* st_get_sink.entry: 1 for older entries, 0 decided, or an error. */
static int lookup_entry(void *ctx, int type, uint64_t seq, st_slice value, st_pin *pin)
{
    lookup *lk = ctx;
    if (seq < lk->cover) {
        return absent(lk);
    }
    switch (type) {
    case ST_TYPE_VALUE_TTL:
        if (value.size < ST_TTL_PREFIX) {
            return st_err(STRATA_E_CORRUPTION, "TTL value of %zu bytes is too short", value.size);
        }
        if (expired(lk, value)) {
            return absent(lk);
        }
        st_slice_remove_prefix(&value, ST_TTL_PREFIX);
        /* fall through */
    case ST_TYPE_VALUE:
        if (lk->ops.n) {
            return finish_merge(lk, &value);
        }
        lk->done = lk->found = 1;
        return deliver(lk->res, value, pin);
    case ST_TYPE_DELETION:
    case ST_TYPE_SINGLE_DELETION:
        return absent(lk);
    case ST_TYPE_MERGE: {
        int rc = st_merge_ops_add(&lk->ops, value);
        return rc ? rc : 1;
    }
    default:
        return st_err(STRATA_E_CORRUPTION, "entry of unsupported type %d", type);
    }
}

typedef struct mem_entry_ctx {
    lookup *lk;
    st_memtable *m;
} mem_entry_ctx;

static int mem_entry(void *ctx, int type, uint64_t seq, st_slice value)
{
    mem_entry_ctx *mc = ctx;
    st_memtable_ref(mc->m);
    st_pin pin = {unref_memtable, mc->m, NULL};
    int rc = lookup_entry(mc->lk, type, seq, value, &pin);
    st_pin_release(&pin);
    return rc;
}

/* Feeds one memtable to the lookup: its tombstones, then its entries of the key. */
static int search_memtable(lookup *lk, st_memtable *m)
{
    if (st_memtable_num_range_dels(m)) {
        st_rdel_list *l[ST_MEMTABLE_RDEL_LISTS];
        int n;
        int rc = st_memtable_range_dels(m, l, &n);
        if (rc) {
            return rc;
        }
        for (int i = 0; i < n; i++) {
            lookup_tombstones(lk, l[i]);
            st_rdel_list_unref(l[i]);
        }
    }
    mem_entry_ctx mc = {lk, m};
    int rc = st_memtable_get_each(m, lk->ukey, lk->seq, mem_entry, &mc);
    return rc < 0 ? rc : 0;
}

/* Runs the lookup through sv.  0 (lk->found says whether a value was delivered) or an error. */
static int lookup_run(lookup *lk, st_superversion *sv, const st_read_flags *rf)
{
    int rc = search_memtable(lk, sv->mem);
    for (int i = 0; !rc && !lk->done && i < sv->nimm; i++) {
        rc = search_memtable(lk, sv->imm[i]);
    }
    if (rc || lk->done) {
        return rc;
    }
    char stackbuf[256];
    st_buf key = ST_BUF_INIT;
    if (lk->ukey.size + ST_IKEY_TRAILER <= sizeof(stackbuf)) {
        key.data = stackbuf; /* fits: st_ikey_append will not reallocate */
        key.cap = sizeof(stackbuf);
    }
    rc = st_ikey_append(&key, lk->ukey, lk->seq, ST_TYPE_FOR_SEEK);
    if (!rc) {
        st_get_sink sink = {lookup_tombstones, lookup_entry, lk};
        rc = st_version_get_each(sv->version, rf, st_buf_slice(&key), &sink);
        rc = rc < 0 ? rc : lk->done ? 0 : absent(lk);
    }
    if (key.data != stackbuf) {
        st_buf_free(&key);
    }
    return rc;
}

static int do_get(strata_db *db, strata_cf *cf, const struct strata_read_options *ro,
                  st_slice key, get_result *res)
{
    uint64_t seq;
    st_superversion *sv = st_db_sv_acquire(db, cf, ro ? ro->snapshot : NULL, &seq);
    if (!sv) {
        return STRATA_E_INVALID;
    }
    st_read_flags rf = {ro ? ro->verify_checksums : 1, ro ? ro->fill_cache : 1};
    lookup lk;
    lookup_init(&lk, db, cf, res, key, seq);
    int rc = lookup_run(&lk, sv, &rf);
    if (!rc && !lk.found) {
        rc = STRATA_E_NOTFOUND;
    }
    lookup_free(&lk);
    if (st_vset_take_seek_wakeup(cf->vs)) {
        st_db_bg_wake(db);
    }
    st_db_sv_release(db, sv, 0);
    if (rc == STRATA_E_NOTFOUND) {
        rc = st_err(STRATA_E_NOTFOUND, "key not found");
    }
    return rc;
}

int st_db_get(strata_db *db, strata_cf *cf, const struct strata_read_options *ro, st_slice key,
              void **val, size_t *vlen)
{
    get_result res = {0, NULL, 0, NULL};
    int rc = do_get(db, cf, ro, key, &res);
    if (rc) {
        st_free(res.val);
        return rc;
    }
    *val = res.val;
    *vlen = res.vlen;
    return 0;
}

int st_db_get_pinned(strata_db *db, strata_cf *cf, const struct strata_read_options *ro,
                     st_slice key, strata_pinned **out)
{
    get_result res = {1, NULL, 0, NULL};
    int rc = do_get(db, cf, ro, key, &res);
    if (rc) {
        strata_pinned_release(res.pinned);
        return rc;
    }
    *out = res.pinned;
    return 0;
}

/* ---- multi-get ------------------------------------------------------------------------------ */

/* A sink entry for batches: a key's own failure (a merge operator's) becomes its status and
 * ends its lookup, instead of stopping the batch. */
typedef struct mg_key {
    lookup lk;
    get_result res;
    int status;
    st_buf ikey;
} mg_key;

static int mg_entry(void *ctx, int type, uint64_t seq, st_slice value, st_pin *pin)
{
    mg_key *k = ctx;
    int rc = lookup_entry(&k->lk, type, seq, value, pin);
    if (rc < 0) {
        k->status = rc;
        k->lk.done = 1;
        return 0;
    }
    return rc;
}

static void mg_tombstones(void *ctx, const st_rdel_list *l)
{
    lookup_tombstones(&((mg_key *)ctx)->lk, l);
}

/* Looks up the n distinct keys ks (ascending) through sv: memtables key by key, then the tables
 * in one batched pass (st_version_multi_get). */
static int mg_run(st_superversion *sv, const st_read_flags *rf, mg_key *ks, int n)
{
    st_slice *lookups = st_malloc(sizeof(st_slice) * (size_t)n);
    st_get_sink *sinks = st_malloc(sizeof(st_get_sink) * (size_t)n);
    int *done = st_malloc(sizeof(int) * (size_t)n);
    int rc = lookups && sinks && done ? 0 : st_err(STRATA_E_NOMEM, "out of memory");
    for (int i = 0; !rc && i < n; i++) {
        mg_key *k = &ks[i];
        k->status = search_memtable(&k->lk, sv->mem);
        for (int j = 0; !k->status && !k->lk.done && j < sv->nimm; j++) {
            k->status = search_memtable(&k->lk, sv->imm[j]);
        }
        k->lk.done |= k->status != 0;
        done[i] = k->lk.done;
        rc = st_ikey_append(&k->ikey, k->lk.ukey, k->lk.seq, ST_TYPE_FOR_SEEK);
        lookups[i] = st_buf_slice(&k->ikey);
        sinks[i] = (st_get_sink){mg_tombstones, mg_entry, k};
    }
    rc = rc ? rc : st_version_multi_get(sv->version, rf, n, lookups, sinks, done);
    for (int i = 0; i < n; i++) {
        mg_key *k = &ks[i];
        if (rc && !k->lk.done) {
            k->status = rc;
        } else if (!k->status && !k->lk.done) {
            k->status = absent(&k->lk);
        }
        if (!k->status && !k->lk.found) {
            k->status = STRATA_E_NOTFOUND;
        }
    }
    st_free(lookups);
    st_free(sinks);
    st_free(done);
    return rc;
}

typedef struct mg_sort {
    const st_comparator *ucmp;
    const void *const *keys;
    const size_t *klens;
} mg_sort;

static _Thread_local const mg_sort *mg_ctx;

static int mg_cmp(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = st_ucmp(mg_ctx->ucmp, st_slice_make(mg_ctx->keys[i], mg_ctx->klens[i]),
                    st_slice_make(mg_ctx->keys[j], mg_ctx->klens[j]));
    return c ? c : (i > j) - (i < j);
}

/* Sorted positions of the keys, and for each position the index of its distinct key. */
static int mg_order(const strata_cf *cf, size_t n, const void *const *keys, const size_t *klens,
                    size_t *order, int *uniq, int *nuniq)
{
    for (size_t i = 0; i < n; i++) {
        order[i] = i;
    }
    mg_sort ms = {cf->ucmp, keys, klens};
    mg_ctx = &ms;
    qsort(order, n, sizeof(size_t), mg_cmp);
    int u = -1;
    for (size_t r = 0; r < n; r++) {
        size_t i = order[r], p = r ? order[r - 1] : 0;
        if (r == 0 || st_ucmp(cf->ucmp, st_slice_make(keys[i], klens[i]),
                              st_slice_make(keys[p], klens[p])) != 0) {
            u++;
        }
        uniq[r] = u;
    }
    *nuniq = u + 1;
    return 0;
}

/* Hands each distinct key's result to every position that asked for it. */
static int mg_deliver(size_t n, const size_t *order, const int *uniq, mg_key *ks, void **vals,
                      size_t *vlens, int *statuses, char *errmsg)
{
    int first_err = 0;
    for (size_t r = 0; r < n; r++) {
        size_t i = order[r];
        mg_key *k = &ks[uniq[r]];
        statuses[i] = k->status;
        if (!k->status) {
            int last = r + 1 == n || uniq[r + 1] != uniq[r];
            vals[i] = last ? k->res.val : st_memdup(k->res.val, k->res.vlen ? k->res.vlen : 1);
            vlens[i] = k->res.vlen;
            if (last) {
                k->res.val = NULL; /* handed over */
            }
            if (!vals[i]) {
                statuses[i] = st_err(STRATA_E_NOMEM, "out of memory");
            }
        }
        if (statuses[i] && statuses[i] != STRATA_E_NOTFOUND && !first_err) {
            first_err = statuses[i];
            snprintf(errmsg, ST_ERRMSG_MAX, "%s", st_errmsg());
        }
    }
    return first_err;
}

/* The keys are looked up in comparator order through one super-version: one pinning for the
 * batch, each table opened once for all the keys it may hold, and neighbouring keys meet the
 * same index entries and cached blocks in turn. */
int st_db_multi_get(strata_db *db, strata_cf *cf, const struct strata_read_options *ro, size_t n,
                    const void *const *keys, const size_t *klens, void **vals, size_t *vlens,
                    int *statuses)
{
    if (n > INT32_MAX) {
        return st_err(STRATA_E_INVALID, "strata_multi_get: %zu keys is too many", n);
    }
    size_t *order = st_malloc(sizeof(size_t) * n);
    int *uniq = st_malloc(sizeof(int) * n);
    mg_key *ks = st_calloc(n, sizeof(mg_key));
    if (!order || !uniq || !ks) {
        st_free(order);
        st_free(uniq);
        st_free(ks);
        return st_err(STRATA_E_NOMEM, "out of memory for %zu keys", n);
    }
    for (size_t i = 0; i < n; i++) {
        vals[i] = NULL;
        vlens[i] = 0;
    }
    int nu = 0;
    mg_order(cf, n, keys, klens, order, uniq, &nu);
    uint64_t seq;
    st_superversion *sv = st_db_sv_acquire(db, cf, ro ? ro->snapshot : NULL, &seq);
    if (!sv) {
        st_free(order);
        st_free(uniq);
        st_free(ks);
        return STRATA_E_INVALID;
    }
    st_read_flags rf = {ro ? ro->verify_checksums : 1, ro ? ro->fill_cache : 1};
    for (size_t r = 0; r < n; r++) {
        if (r == 0 || uniq[r] != uniq[r - 1]) {
            mg_key *k = &ks[uniq[r]];
            lookup_init(&k->lk, db, cf, &k->res, st_slice_make(keys[order[r]], klens[order[r]]),
                        seq);
        }
    }
    mg_run(sv, &rf, ks, nu);
    char errmsg[ST_ERRMSG_MAX] = "";
    int first_err = mg_deliver(n, order, uniq, ks, vals, vlens, statuses, errmsg);
    for (int i = 0; i < nu; i++) {
        lookup_free(&ks[i].lk);
        st_buf_free(&ks[i].ikey);
        st_free(ks[i].res.val);
    }
    if (st_vset_take_seek_wakeup(cf->vs)) {
        st_db_bg_wake(db);
    }
    st_db_sv_release(db, sv, 0);
    st_free(order);
    st_free(uniq);
    st_free(ks);
    return first_err ? st_err_set(first_err, errmsg) : 0;
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
    while (db->filter_installing) {
        /* A snapshot taken now could see values a compaction filter is replacing change under
         * it: wait until readers get the new version (one MANIFEST write). */
        st_cond_wait(&db->bg_cv, &db->mu);
    }
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
