/* txn_db.c — striped row locks, lock timeouts and deadlock detection (txn/txn_db.h). */
#include "txn/txn_db.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "db/db_impl.h"
#include "util/alloc.h"
#include "util/hash.h"
#include "util/mutex.h"
#include "util/status.h"

#define BUCKETS_PER_STRIPE 256
#define MAX_DEADLOCK_DEPTH 1000

typedef struct lock_entry {
    struct lock_entry *next;
    uint64_t hash;
    uint32_t cf;
    int exclusive;
    char *key;
    size_t klen;
    uint64_t *holders;
    int nholders, cap;
} lock_entry;

typedef struct lock_stripe {
    st_mutex mu;
    st_cond cv; /* broadcast when a lock of this stripe is released */
    lock_entry *buckets[BUCKETS_PER_STRIPE];
} lock_stripe;

/* One waiting transaction: the holders it waits for. */
typedef struct wait_edge {
    uint64_t id;
    uint64_t *holders;
    int n;
} wait_edge;

struct st_txn_db {
    strata_db *owner; /* for its env's clock */
    struct strata_txn_db_options opts;
    lock_stripe *stripes;
    atomic_uint_fast64_t next_id;
    st_mutex wait_mu; /* guards waits; taken after a stripe's mutex */
    wait_edge *waits;
    int nwaits, capwaits;
};

void st_txn_db_options_defaults(struct strata_txn_db_options *o)
{
    o->lock_timeout_ms = 1000;
    o->num_stripes = 16;
}

static void txn_db_free(void *p)
{
    st_txn_db *t = p;
    for (size_t s = 0; s < t->opts.num_stripes; s++) {
        lock_stripe *st = &t->stripes[s];
        for (int b = 0; b < BUCKETS_PER_STRIPE; b++) {
            for (lock_entry *e = st->buckets[b], *nx; e; e = nx) {
                nx = e->next;
                st_free(e->key);
                st_free(e->holders);
                st_free(e);
            }
        }
        st_mutex_destroy(&st->mu);
        st_cond_destroy(&st->cv);
    }
    for (int i = 0; i < t->nwaits; i++) {
        st_free(t->waits[i].holders);
    }
    st_free(t->waits);
    st_mutex_destroy(&t->wait_mu);
    st_free(t->stripes);
    st_free(t);
}

int st_txn_db_attach(strata_db *db, const struct strata_txn_db_options *o)
{
    st_txn_db *t = st_calloc(1, sizeof(*t));
    if (t) {
        t->owner = db;
        t->opts = *o;
        t->stripes = st_calloc(o->num_stripes, sizeof(lock_stripe));
    }
    if (!t || !t->stripes) {
        st_free(t);
        return st_err(STRATA_E_NOMEM, "out of memory creating the lock table");
    }
    for (size_t s = 0; s < o->num_stripes; s++) {
        st_mutex_init(&t->stripes[s].mu);
        st_cond_init(&t->stripes[s].cv);
    }
    st_mutex_init(&t->wait_mu);
    atomic_init(&t->next_id, 1);
    db->txn_db = t;
    db->txn_db_free = txn_db_free;
    return 0;
}

st_txn_db *st_txn_db_of(strata_db *db)
{
    return db->txn_db_free == txn_db_free ? db->txn_db : NULL;
}

int64_t st_txn_db_default_timeout(const st_txn_db *t)
{
    return t->opts.lock_timeout_ms;
}

uint64_t st_txn_db_new_id(st_txn_db *t)
{
    return atomic_fetch_add(&t->next_id, 1);
}

static uint64_t key_hash(uint32_t cf, st_slice key)
{
    return st_hash64_seed(key.data, key.size, cf);
}

static lock_stripe *stripe_of(st_txn_db *t, uint64_t h)
{
    return &t->stripes[(h >> 32) % t->opts.num_stripes];
}

static lock_entry **bucket_of(lock_stripe *st, uint64_t h)
{
    return &st->buckets[h % BUCKETS_PER_STRIPE];
}

/* The entry of (cf, key) in its bucket; *link (may be NULL) gets the pointer that points to it. */
static lock_entry *find(lock_stripe *st, uint64_t h, uint32_t cf, st_slice key,
                        lock_entry ***link)
{
    for (lock_entry **p = bucket_of(st, h); *p; p = &(*p)->next) {
        lock_entry *e = *p;
        if (e->hash == h && e->cf == cf && e->klen == key.size &&
            memcmp(e->key, key.data, key.size) == 0) {
            if (link) {
                *link = p;
            }
            return e;
        }
    }
    return NULL;
}

static int holds(const lock_entry *e, uint64_t id)
{
    for (int i = 0; i < e->nholders; i++) {
        if (e->holders[i] == id) {
            return 1;
        }
    }
    return 0;
}

static int add_holder(lock_entry *e, uint64_t id)
{
    if (e->nholders == e->cap) {
        int cap = e->cap ? 2 * e->cap : 2;
        uint64_t *h = st_realloc(e->holders, sizeof(uint64_t) * (size_t)cap);
        if (!h) {
            return st_err(STRATA_E_NOMEM, "out of memory taking a lock");
        }
        e->holders = h;
        e->cap = cap;
    }
    e->holders[e->nholders++] = id;
    return 0;
}

static int new_entry(lock_stripe *st, uint64_t h, uint32_t cf, st_slice key, uint64_t id,
                     int exclusive)
{
    lock_entry *e = st_calloc(1, sizeof(*e));
    char *k = e ? st_memdup(key.data, key.size ? key.size : 1) : NULL;
    if (!k || add_holder(e, id)) {
        st_free(k);
        st_free(e);
        return st_err(STRATA_E_NOMEM, "out of memory taking a lock");
    }
    e->hash = h;
    e->cf = cf;
    e->key = k;
    e->klen = key.size;
    e->exclusive = exclusive;
    e->next = *bucket_of(st, h);
    *bucket_of(st, h) = e;
    return 0;
}

/* 1 granted (or already held), 0 must wait, < 0 error.  REQUIRES the stripe's mutex. */
static int try_grant(lock_stripe *st, uint64_t h, uint32_t cf, st_slice key, uint64_t id,
                     int exclusive)
{
    lock_entry *e = find(st, h, cf, key, NULL);
    if (!e) {
        int rc = new_entry(st, h, cf, key, id, exclusive);
        return rc ? rc : 1;
    }
    if (holds(e, id)) {
        if (!exclusive || e->exclusive) {
            return 1;
        }
        if (e->nholders == 1) {
            e->exclusive = 1; /* sole holder: upgrade */
            return 1;
        }
        return 0;
    }
    if (!exclusive && !e->exclusive) {
        int rc = add_holder(e, id);
        return rc ? rc : 1;
    }
    return 0;
}

/* ---- wait-for graph (REQUIRES wait_mu) ------------------------------------------------------ */

static wait_edge *wait_of(st_txn_db *t, uint64_t id)
{
    for (int i = 0; i < t->nwaits; i++) {
        if (t->waits[i].id == id) {
            return &t->waits[i];
        }
    }
    return NULL;
}

static void wait_remove(st_txn_db *t, uint64_t id)
{
    wait_edge *w = wait_of(t, id);
    if (w) {
        st_free(w->holders);
        *w = t->waits[--t->nwaits];
    }
}

/* Records that id waits for the holders of e other than itself. */
static int wait_set(st_txn_db *t, uint64_t id, const lock_entry *e)
{
    wait_remove(t, id);
    if (t->nwaits == t->capwaits) {
        int cap = t->capwaits ? 2 * t->capwaits : 8;
        wait_edge *w = st_realloc(t->waits, sizeof(wait_edge) * (size_t)cap);
        if (!w) {
            return st_err(STRATA_E_NOMEM, "out of memory in deadlock detection");
        }
        t->waits = w;
        t->capwaits = cap;
    }
    uint64_t *hs = st_malloc(sizeof(uint64_t) * (size_t)(e->nholders ? e->nholders : 1));
    if (!hs) {
        return st_err(STRATA_E_NOMEM, "out of memory in deadlock detection");
    }
    int n = 0;
    for (int i = 0; i < e->nholders; i++) {
        if (e->holders[i] != id) {
            hs[n++] = e->holders[i];
        }
    }
    t->waits[t->nwaits++] = (wait_edge){id, hs, n};
    return 0;
}

/* 1 when a chain of waits leads from 'from' back to id (depth-first, bounded). */
static int reaches(st_txn_db *t, uint64_t from, uint64_t id, int depth)
{
    if (from == id) {
        return 1;
    }
    const wait_edge *w = wait_of(t, from);
    if (!w || depth >= MAX_DEADLOCK_DEPTH) {
        return depth >= MAX_DEADLOCK_DEPTH; /* too deep to tell: treat as a deadlock */
    }
    for (int i = 0; i < w->n; i++) {
        if (reaches(t, w->holders[i], id, depth + 1)) {
            return 1;
        }
    }
    return 0;
}

/* Registers id's wait on e; 1 when that closes a cycle (the wait is then withdrawn). */
static int wait_would_deadlock(st_txn_db *t, uint64_t id, const lock_entry *e, int *rc)
{
    st_mutex_lock(&t->wait_mu);
    *rc = wait_set(t, id, e);
    int cycle = 0;
    if (!*rc) {
        const wait_edge *w = wait_of(t, id);
        for (int i = 0; !cycle && i < w->n; i++) {
            cycle = reaches(t, w->holders[i], id, 1);
        }
        if (cycle) {
            wait_remove(t, id);
        }
    }
    st_mutex_unlock(&t->wait_mu);
    return cycle;
}

static void wait_done(st_txn_db *t, uint64_t id)
{
    st_mutex_lock(&t->wait_mu);
    wait_remove(t, id);
    st_mutex_unlock(&t->wait_mu);
}

/* ---- lock / unlock -------------------------------------------------------------------------- */

/* Waits once on the stripe (until woken or the deadline); 0, or BUSY when the deadline passed
 * or the wait would close a cycle.  REQUIRES the stripe's mutex. */
static int wait_once(st_txn_db *t, lock_stripe *st, uint64_t h, uint32_t cf, st_slice key,
                     uint64_t id, int64_t deadline_us, int detect, strata_db *db)
    ST_REQUIRES(st->mu)
{
    lock_entry *e = find(st, h, cf, key, NULL);
    if (e && detect) {
        int rc = 0;
        if (wait_would_deadlock(t, id, e, &rc)) {
            return st_err(STRATA_E_BUSY,
                          "deadlock detected: transaction %llu waits (through others) for "
                          "itself on a key of %zu bytes; roll back and retry",
                          (unsigned long long)id, key.size);
        }
        if (rc) {
            return rc;
        }
    }
    uint64_t now = st_env_now_micros(db->env);
    if (deadline_us >= 0 && now >= (uint64_t)deadline_us) {
        return st_err(STRATA_E_BUSY, "lock wait timed out: a key of %zu bytes is held by "
                      "another transaction", key.size);
    }
    uint64_t wait = deadline_us < 0 ? 100000 : (uint64_t)deadline_us - now;
    st_cond_timedwait_micros(&st->cv, &st->mu, wait);
    return 0;
}

int st_txn_db_lock(st_txn_db *t, uint64_t id, uint32_t cf, st_slice key, int exclusive,
                   int64_t timeout_ms, int deadlock_detect)
{
    strata_db *db = t->owner;
    uint64_t h = key_hash(cf, key);
    lock_stripe *st = stripe_of(t, h);
    st_mutex_lock(&st->mu);
    int rc = try_grant(st, h, cf, key, id, exclusive);
    if (rc == 0 && timeout_ms == 0) {
        rc = st_err(STRATA_E_BUSY, "lock wait timed out (timeout 0): a key of %zu bytes is held "
                    "by another transaction", key.size);
    }
    int64_t deadline = -1;
    int waited = 0;
    while (rc == 0) {
        if (!waited && timeout_ms > 0 && timeout_ms < INT64_MAX / 2000) { /* else: no end */
            deadline = (int64_t)st_env_now_micros(db->env) + timeout_ms * 1000;
        }
        waited = 1;
        rc = wait_once(t, st, h, cf, key, id, deadline, deadlock_detect, db);
        rc = rc ? rc : try_grant(st, h, cf, key, id, exclusive);
    }
    st_mutex_unlock(&st->mu);
    if (waited && deadlock_detect) {
        wait_done(t, id);
    }
    return rc < 0 ? rc : 0;
}

void st_txn_db_unlock(st_txn_db *t, uint64_t id, uint32_t cf, st_slice key)
{
    uint64_t h = key_hash(cf, key);
    lock_stripe *st = stripe_of(t, h);
    st_mutex_lock(&st->mu);
    lock_entry **link = NULL;
    lock_entry *e = find(st, h, cf, key, &link);
    for (int i = 0; e && i < e->nholders; i++) {
        if (e->holders[i] == id) {
            e->holders[i] = e->holders[--e->nholders];
            break;
        }
    }
    if (e && e->nholders == 0) {
        *link = e->next;
        st_free(e->key);
        st_free(e->holders);
        st_free(e);
    }
    st_cond_broadcast(&st->cv);
    st_mutex_unlock(&st->mu);
}
