/* stress_run.c — strata-stress worker threads, the operation mix, and whole-DB verification.
 *
 * Operation mix per thread (each under the world lock held shared):
 *   put 26%, delete 8%, range delete 3% (inside one lock range), multi-key batch 10% (2..8 keys;
 *   ranges locked in increasing order; sometimes also a merge into a counter of a locked range and
 *   a range delete, last, over keys the batch may have just written), merge into a counter 6%,
 *   counter get or delete 3%, get 22% (copying or pinned), multi-get 4% (keys of one range with
 *   duplicates, and its counters), range scan 10% (forward or backward over one lock range, with
 *   iterator bounds), snapshot 7% (the range is copied from the expected state under its lock
 *   together with a DB snapshot, the lock is dropped, and reads through the snapshot must still
 *   see the copy while other threads write), flush (waiting or not) 0.8%, compaction of a random
 *   key range 0.2%.  One write in 32 is synchronous.
 * After every --verify_every operations the thread that completes it stops the world and checks
 * every key; after every --reopen_every operations it closes and reopens the DB and checks again.
 * Any unexpected status is a failure. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress.h"

#define CHECK_RC(c, rc, what)                                                              \
    do {                                                                                   \
        if ((rc) != 0) {                                                                   \
            stress_fail((c), "%s returned %d (%s): %s", (what), (rc), strata_strerror(rc), \
                        strata_errmsg());                                                  \
        }                                                                                  \
    } while (0)

struct worker {
    struct stress_ctx *c;
    int id;
    uint64_t rng;
    char *vbuf;
    strata_write_options *wo_sync;
};

static uint64_t rnd(struct worker *w)
{
    uint64_t z = (w->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint32_t rnd_key(struct worker *w)
{
    return (uint32_t)(rnd(w) % w->c->f.keys);
}

static pthread_mutex_t *lock_of(struct stress_ctx *c, uint32_t key)
{
    return &c->locks[key / STRESS_RANGE];
}

static const strata_write_options *wopts(struct worker *w)
{
    return rnd(w) % 32 == 0 ? w->wo_sync : NULL;
}

/* ---- writes ---------------------------------------------------------------------------------- */

static void op_put(struct worker *w, int del)
{
    struct stress_ctx *c = w->c;
    uint32_t i = rnd_key(w);
    char k[STRESS_KEY_LEN + 1];
    int kl = stress_key(k, i);
    pthread_mutex_lock(lock_of(c, i));
    uint32_t old = c->expected[i];
    uint32_t nw = del ? (old & ~1u) : (((old >> 1) + 1) << 1 | 1);
    int rc = del ? strata_delete(c->db, wopts(w), k, (size_t)kl)
                 : strata_put(c->db, wopts(w), k, (size_t)kl, w->vbuf,
                              stress_value(w->vbuf, i, nw >> 1));
    CHECK_RC(c, rc, del ? "strata_delete" : "strata_put");
    c->expected[i] = nw;
    pthread_mutex_unlock(lock_of(c, i));
    __atomic_add_fetch(del ? &c->n_del : &c->n_put, 1, __ATOMIC_RELAXED);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Locks (or unlocks) the distinct ranges of the sorted keys. */
static void lock_ranges(struct stress_ctx *c, const uint32_t *keys, int n, int lock)
{
    uint32_t last = UINT32_MAX;
    for (int j = 0; j < n; j++) {
        uint32_t r = keys[j] / STRESS_RANGE;
        if (r != last) {
            (lock ? pthread_mutex_lock : pthread_mutex_unlock)(&c->locks[r]);
            last = r;
        }
    }
}

/* Deletes [a, b) of one lock range (held) in the DB and the expected state. */
static void range_delete_locked(struct stress_ctx *c, const strata_write_options *wo,
                                strata_batch *b, uint32_t a, uint32_t e)
{
    char ka[STRESS_KEY_LEN + 1], ke[STRESS_KEY_LEN + 1];
    int al = stress_key(ka, a), el = stress_key(ke, e);
    int rc = b ? strata_batch_delete_range(b, ka, (size_t)al, ke, (size_t)el)
               : strata_delete_range(c->db, wo, ka, (size_t)al, ke, (size_t)el);
    CHECK_RC(c, rc, b ? "strata_batch_delete_range" : "strata_delete_range");
}

static void clear_present(struct stress_ctx *c, uint32_t a, uint32_t e)
{
    for (uint32_t i = a; i < e; i++) {
        c->expected[i] &= ~1u;
    }
}

/* A random span [*a, *e) inside the lock range of key i. */
static void span_in_range(struct worker *w, uint32_t i, uint32_t *a, uint32_t *e)
{
    uint32_t lo = i / STRESS_RANGE * STRESS_RANGE;
    uint32_t hi = lo + STRESS_RANGE < w->c->f.keys ? lo + STRESS_RANGE : w->c->f.keys;
    *a = lo + (uint32_t)(rnd(w) % (hi - lo));
    *e = *a + 1 + (uint32_t)(rnd(w) % (rnd(w) % 4 ? 8 : hi - *a));
    if (*e > hi) {
        *e = hi;
    }
}

static void op_range_delete(struct worker *w)
{
    struct stress_ctx *c = w->c;
    uint32_t a, e;
    span_in_range(w, rnd_key(w), &a, &e);
    pthread_mutex_lock(lock_of(c, a));
    range_delete_locked(c, wopts(w), NULL, a, e);
    clear_present(c, a, e);
    pthread_mutex_unlock(lock_of(c, a));
    __atomic_add_fetch(&c->n_range, 1, __ATOMIC_RELAXED);
}

static pthread_mutex_t *counter_lock(struct stress_ctx *c, uint32_t j)
{
    return &c->locks[j % c->nlocks];
}

/* A counter guarded by lock range r, or UINT32_MAX when there is none. */
static uint32_t counter_of_range(struct worker *w, uint32_t r)
{
    uint32_t per = (w->c->ncounters + w->c->nlocks - 1) / w->c->nlocks;
    uint32_t j = r + w->c->nlocks * (uint32_t)(rnd(w) % (per ? per : 1));
    return j < w->c->ncounters ? j : (r < w->c->ncounters ? r : UINT32_MAX);
}

static uint64_t operand(struct worker *w, char buf[8])
{
    uint64_t x = rnd(w) % 8 == 0 ? rnd(w) : rnd(w) % 1000;
    for (int i = 0; i < 8; i++) {
        buf[i] = (char)(x >> (8 * i));
    }
    return x;
}

static void op_merge(struct worker *w)
{
    struct stress_ctx *c = w->c;
    uint32_t j = (uint32_t)(rnd(w) % c->ncounters);
    char k[STRESS_KEY_LEN + 1], op[8];
    int kl = stress_counter_key(k, j);
    uint64_t x = operand(w, op);
    pthread_mutex_lock(counter_lock(c, j));
    CHECK_RC(c, strata_merge(c->db, wopts(w), k, (size_t)kl, op, 8), "strata_merge");
    c->counters[j] += x;
    c->cpresent[j] = 1;
    pthread_mutex_unlock(counter_lock(c, j));
    __atomic_add_fetch(&c->n_merge, 1, __ATOMIC_RELAXED);
}

static void counter_get(struct stress_ctx *c, const strata_read_options *ro, uint32_t j,
                        const char *what)
{
    char k[STRESS_KEY_LEN + 1];
    int kl = stress_counter_key(k, j);
    void *v = NULL;
    size_t vl = 0;
    int rc = strata_get(c->db, ro, k, (size_t)kl, &v, &vl);
    if (rc != 0 && rc != STRATA_E_NOTFOUND) {
        CHECK_RC(c, rc, "strata_get (counter)");
    }
    stress_check_counter(c, j, rc == 0, v, vl, what);
    strata_free(v);
}

/* Reads a counter (2 in 3) or deletes it. */
static void op_counter(struct worker *w)
{
    struct stress_ctx *c = w->c;
    uint32_t j = (uint32_t)(rnd(w) % c->ncounters);
    pthread_mutex_lock(counter_lock(c, j));
    if (rnd(w) % 3) {
        counter_get(c, NULL, j, "counter get");
    } else {
        char k[STRESS_KEY_LEN + 1];
        int kl = stress_counter_key(k, j);
        CHECK_RC(c, strata_delete(c->db, wopts(w), k, (size_t)kl), "strata_delete (counter)");
        c->counters[j] = 0;
        c->cpresent[j] = 0;
    }
    pthread_mutex_unlock(counter_lock(c, j));
    __atomic_add_fetch(&c->n_counter, 1, __ATOMIC_RELAXED);
}

/* Extras of a batch whose ranges are locked: a merge into a counter of the first key's range and
 * a range delete (added last) in the last key's range.  *cj is the counter (UINT32_MAX: none). */
static void batch_extras(struct worker *w, strata_batch *b, const uint32_t *keys, int n,
                         uint32_t *cj, uint64_t *cx, uint32_t *ra, uint32_t *re)
{
    struct stress_ctx *c = w->c;
    *cj = rnd(w) % 3 == 0 ? counter_of_range(w, keys[0] / STRESS_RANGE) : UINT32_MAX;
    if (*cj != UINT32_MAX) {
        char k[STRESS_KEY_LEN + 1], op[8];
        int kl = stress_counter_key(k, *cj);
        *cx = operand(w, op);
        CHECK_RC(c, strata_batch_merge(b, k, (size_t)kl, op, 8), "strata_batch_merge");
    }
    *ra = *re = 0;
    if (rnd(w) % 4 == 0) {
        span_in_range(w, keys[n - 1], ra, re);
        range_delete_locked(c, NULL, b, *ra, *re);
    }
}

static void op_batch(struct worker *w)
{
    struct stress_ctx *c = w->c;
    uint32_t keys[8], nw[8];
    int n = 2 + (int)(rnd(w) % 7);
    uint32_t near = rnd_key(w);
    for (int j = 0; j < n; j++) { /* half the batches stay within a few ranges */
        keys[j] = rnd(w) % 2 ? rnd_key(w) : (near + (uint32_t)(rnd(w) % 256)) % c->f.keys;
    }
    qsort(keys, (size_t)n, sizeof(keys[0]), cmp_u32);
    lock_ranges(c, keys, n, 1);
    strata_batch *b = strata_batch_create();
    for (int j = 0; b && j < n; j++) {
        char k[STRESS_KEY_LEN + 1];
        int kl = stress_key(k, keys[j]);
        uint32_t old = j && keys[j - 1] == keys[j] ? nw[j - 1] : c->expected[keys[j]];
        int del = rnd(w) % 4 == 0;
        nw[j] = del ? (old & ~1u) : (((old >> 1) + 1) << 1 | 1);
        int rc = del ? strata_batch_delete(b, k, (size_t)kl)
                     : strata_batch_put(b, k, (size_t)kl, w->vbuf,
                                        stress_value(w->vbuf, keys[j], nw[j] >> 1));
        CHECK_RC(c, rc, "strata_batch_put/delete");
    }
    if (!b) {
        stress_fail(c, "strata_batch_create: out of memory");
    }
    uint32_t cj, ra, re;
    uint64_t cx = 0;
    batch_extras(w, b, keys, n, &cj, &cx, &ra, &re);
    CHECK_RC(c, strata_write(c->db, wopts(w), b), "strata_write");
    for (int j = 0; j < n; j++) {
        c->expected[keys[j]] = nw[j];
    }
    clear_present(c, ra, re);
    if (cj != UINT32_MAX) {
        c->counters[cj] += cx;
        c->cpresent[cj] = 1;
    }
    strata_batch_destroy(b);
    lock_ranges(c, keys, n, 0);
    __atomic_add_fetch(&c->n_batch, 1, __ATOMIC_RELAXED);
}

/* ---- reads ----------------------------------------------------------------------------------- */

static void get_check(struct stress_ctx *c, const strata_read_options *ro, uint32_t i, uint32_t w,
                      int pinned, const char *what)
{
    char k[STRESS_KEY_LEN + 1];
    int kl = stress_key(k, i);
    if (pinned) {
        strata_pinned *p = NULL;
        int rc = strata_get_pinned(c->db, ro, k, (size_t)kl, &p);
        if (rc != 0 && rc != STRATA_E_NOTFOUND) {
            CHECK_RC(c, rc, "strata_get_pinned");
        }
        size_t vl = 0;
        const char *v = rc == 0 ? strata_pinned_value(p, &vl) : NULL;
        stress_check_value(c, i, w, rc == 0, v, vl, what);
        strata_pinned_release(p);
        return;
    }
    void *v = NULL;
    size_t vl = 0;
    int rc = strata_get(c->db, ro, k, (size_t)kl, &v, &vl);
    if (rc != 0 && rc != STRATA_E_NOTFOUND) {
        CHECK_RC(c, rc, "strata_get");
    }
    stress_check_value(c, i, w, rc == 0, v, vl, what);
    strata_free(v);
}

static void op_get(struct worker *w)
{
    struct stress_ctx *c = w->c;
    uint32_t i = rnd_key(w);
    pthread_mutex_lock(lock_of(c, i));
    get_check(c, NULL, i, c->expected[i], (int)(rnd(w) % 3 == 0), "get");
    pthread_mutex_unlock(lock_of(c, i));
    __atomic_add_fetch(&c->n_get, 1, __ATOMIC_RELAXED);
}

static uint32_t key_index(const struct stress_ctx *c, const char *k, size_t kl, const char *what)
{
    char tmp[STRESS_KEY_LEN + 1];
    if (kl != STRESS_KEY_LEN || k[0] != 's') {
        stress_fail(c, "%s: the DB holds an unknown key of %zu bytes", what, kl);
    }
    memcpy(tmp, k, kl);
    tmp[kl] = '\0';
    return (uint32_t)strtoul(tmp + 1, NULL, 10);
}

/* Walks [lo, hi) with an iterator (forward or backward) and compares it with exp[0..hi-lo). */
static void scan_check(struct stress_ctx *c, strata_read_options *ro, uint32_t lo, uint32_t hi,
                       const uint32_t *exp, int backward, const char *what)
{
    char lk[STRESS_KEY_LEN + 1], hk[STRESS_KEY_LEN + 1];
    CHECK_RC(c, strata_read_options_set_lower_bound(ro, lk, (size_t)stress_key(lk, lo)), "bound");
    CHECK_RC(c, strata_read_options_set_upper_bound(ro, hk, (size_t)stress_key(hk, hi)), "bound");
    strata_iter *it = NULL;
    CHECK_RC(c, strata_iter_create(c->db, ro, &it), "strata_iter_create");
    backward ? strata_iter_seek_to_last(it) : strata_iter_seek_to_first(it);
    long expect = backward ? (long)hi - 1 : (long)lo;
    for (; strata_iter_valid(it); backward ? strata_iter_prev(it) : strata_iter_next(it)) {
        size_t kl, vl;
        const char *k = strata_iter_key(it, &kl);
        const char *v = strata_iter_value(it, &vl);
        uint32_t i = key_index(c, k, kl, what);
        if (i < lo || i >= hi || (backward ? (long)i > expect : (long)i < expect)) {
            stress_fail(c,
                        "%s: %s iterator over [s%08u, s%08u) returned key s%08u (value claims "
                        "generation %ld) where it should be at or %s s%08ld",
                        what, backward ? "backward" : "forward", lo, hi, i,
                        stress_generation(v, vl), backward ? "before" : "after", expect);
        }
        /* Every key between the previous one and this one must be absent. */
        for (; backward ? expect > (long)i : expect < (long)i; expect += backward ? -1 : 1) {
            stress_check_value(c, (uint32_t)expect, exp[expect - lo], 0, NULL, 0, what);
        }
        stress_check_value(c, i, exp[i - lo], 1, v, vl, what);
        expect += backward ? -1 : 1;
    }
    CHECK_RC(c, strata_iter_status(it), "strata_iter_status");
    for (; backward ? expect >= (long)lo : expect < (long)hi; expect += backward ? -1 : 1) {
        stress_check_value(c, (uint32_t)expect, exp[expect - lo], 0, NULL, 0, what);
    }
    strata_iter_destroy(it);
}

static void range_of(struct worker *w, uint32_t *lo, uint32_t *hi)
{
    uint32_t r = (uint32_t)(rnd(w) % w->c->nlocks);
    *lo = r * STRESS_RANGE;
    *hi = *lo + STRESS_RANGE < w->c->f.keys ? *lo + STRESS_RANGE : w->c->f.keys;
}

/* A multi-get of keys of one range (with duplicates) and of its counters, under its lock. */
static void op_multi_get(struct worker *w)
{
    struct stress_ctx *c = w->c;
    uint32_t lo, hi;
    range_of(w, &lo, &hi);
    enum { MAXK = 20 };
    char kb[MAXK][STRESS_KEY_LEN + 1];
    const void *keys[MAXK];
    size_t kls[MAXK], vls[MAXK];
    void *vals[MAXK];
    int st[MAXK];
    uint32_t idx[MAXK];
    int isc[MAXK];
    int n = 1 + (int)(rnd(w) % MAXK);
    for (int i = 0; i < n; i++) {
        uint32_t cj = rnd(w) % 5 == 0 ? counter_of_range(w, lo / STRESS_RANGE) : UINT32_MAX;
        isc[i] = cj != UINT32_MAX;
        idx[i] = isc[i] ? cj : lo + (uint32_t)(rnd(w) % (hi - lo));
        kls[i] = (size_t)(isc[i] ? stress_counter_key(kb[i], idx[i]) : stress_key(kb[i], idx[i]));
        keys[i] = kb[i];
    }
    pthread_mutex_lock(&c->locks[lo / STRESS_RANGE]);
    int rc = strata_multi_get(c->db, NULL, (size_t)n, keys, kls, vals, vls, st);
    CHECK_RC(c, rc, "strata_multi_get");
    for (int i = 0; i < n; i++) {
        if (st[i] != 0 && st[i] != STRATA_E_NOTFOUND) {
            CHECK_RC(c, st[i], "strata_multi_get status");
        }
        if (isc[i]) {
            stress_check_counter(c, idx[i], st[i] == 0, vals[i], vls[i], "multi-get");
        } else {
            stress_check_value(c, idx[i], c->expected[idx[i]], st[i] == 0, vals[i], vls[i],
                               "multi-get");
        }
        strata_free(vals[i]);
    }
    pthread_mutex_unlock(&c->locks[lo / STRESS_RANGE]);
    __atomic_add_fetch(&c->n_mget, 1, __ATOMIC_RELAXED);
}

static void op_scan(struct worker *w)
{
    struct stress_ctx *c = w->c;
    uint32_t lo, hi;
    range_of(w, &lo, &hi);
    strata_read_options *ro = strata_read_options_create();
    pthread_mutex_lock(&c->locks[lo / STRESS_RANGE]);
    scan_check(c, ro, lo, hi, &c->expected[lo], (int)(rnd(w) % 2), "range scan");
    pthread_mutex_unlock(&c->locks[lo / STRESS_RANGE]);
    strata_read_options_destroy(ro);
    __atomic_add_fetch(&c->n_scan, 1, __ATOMIC_RELAXED);
}

static void op_snapshot(struct worker *w)
{
    struct stress_ctx *c = w->c;
    uint32_t lo, hi, copy[STRESS_RANGE];
    range_of(w, &lo, &hi);
    pthread_mutex_lock(&c->locks[lo / STRESS_RANGE]);
    const strata_snapshot *snap = strata_snapshot_create(c->db);
    memcpy(copy, &c->expected[lo], (hi - lo) * sizeof(copy[0]));
    pthread_mutex_unlock(&c->locks[lo / STRESS_RANGE]);
    if (!snap) {
        stress_fail(c, "strata_snapshot_create: out of memory");
    }
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_snapshot(ro, snap);
    for (int j = 0; j < 4; j++) { /* let other threads move on */
        uint32_t i = lo + (uint32_t)(rnd(w) % (hi - lo));
        get_check(c, ro, i, copy[i - lo], j & 1, "get through a snapshot");
    }
    scan_check(c, ro, lo, hi, copy, (int)(rnd(w) % 2), "scan through a snapshot");
    strata_read_options_destroy(ro);
    strata_snapshot_release(c->db, snap);
    __atomic_add_fetch(&c->n_snap, 1, __ATOMIC_RELAXED);
}

static void op_maintenance(struct worker *w, int compact)
{
    struct stress_ctx *c = w->c;
    if (!compact) {
        CHECK_RC(c, strata_flush(c->db, (int)(rnd(w) % 2)), "strata_flush");
        __atomic_add_fetch(&c->n_flush, 1, __ATOMIC_RELAXED);
        return;
    }
    char a[STRESS_KEY_LEN + 1], z[STRESS_KEY_LEN + 1];
    uint32_t lo = rnd_key(w);
    uint32_t hi = lo + (uint32_t)(rnd(w) % (c->f.keys - lo));
    int al = stress_key(a, lo), zl = stress_key(z, hi);
    CHECK_RC(c, strata_compact_range(c->db, a, (size_t)al, z, (size_t)zl), "strata_compact_range");
    __atomic_add_fetch(&c->n_compact, 1, __ATOMIC_RELAXED);
}

/* ---- whole-DB checks, reopen, and the worker loop ------------------------------------------- */

int stress_open(struct stress_ctx *c)
{
    c->db = NULL;
    return strata_open(c->opt, c->f.db, &c->db);
}

void stress_verify_all(struct stress_ctx *c, const char *what)
{
    strata_read_options *ro = strata_read_options_create();
    for (uint32_t lo = 0; lo < c->f.keys; lo += STRESS_RANGE) {
        uint32_t hi = lo + STRESS_RANGE < c->f.keys ? lo + STRESS_RANGE : c->f.keys;
        scan_check(c, ro, lo, hi, &c->expected[lo], (int)((lo / STRESS_RANGE) % 2), what);
    }
    strata_read_options_destroy(ro);
    /* One unbounded scan too: no key outside the key space. */
    strata_iter *it = NULL;
    CHECK_RC(c, strata_iter_create(c->db, NULL, &it), "strata_iter_create");
    long n = 0;
    for (strata_iter_seek_to_first(it); strata_iter_valid(it); strata_iter_next(it)) {
        size_t kl;
        const char *k = strata_iter_key(it, &kl);
        if (kl == STRESS_KEY_LEN && k[0] == 't') { /* a counter: checked below */
            n--;
            continue;
        }
        if (key_index(c, k, kl, what) >= c->f.keys) {
            stress_fail(c, "%s: key beyond the key space", what);
        }
        n++;
    }
    CHECK_RC(c, strata_iter_status(it), "strata_iter_status");
    strata_iter_destroy(it);
    for (uint32_t i = 0; i < c->f.keys; i++) {
        get_check(c, NULL, i, c->expected[i], (int)(i % 2), what);
        n -= c->expected[i] & 1;
    }
    for (uint32_t j = 0; j < c->ncounters; j++) {
        counter_get(c, NULL, j, what);
        n += c->cpresent[j];
    }
    if (n != 0) {
        stress_fail(c, "%s: the full scan saw %ld keys more than expected (counters included)",
                    what, -n);
    }
    __atomic_add_fetch(&c->n_verify, 1, __ATOMIC_RELAXED);
}

static void reopen(struct stress_ctx *c)
{
    int rc = strata_close(c->db);
    CHECK_RC(c, rc, "strata_close");
    rc = stress_open(c);
    CHECK_RC(c, rc, "strata_open (reopen)");
    stress_verify_all(c, "check after reopen");
    __atomic_add_fetch(&c->n_reopen, 1, __ATOMIC_RELAXED);
}

static void one_op(struct worker *w)
{
    uint64_t p = rnd(w) % 1000;
    if (p < 260) {
        op_put(w, 0);
    } else if (p < 340) {
        op_put(w, 1);
    } else if (p < 370) {
        op_range_delete(w);
    } else if (p < 470) {
        op_batch(w);
    } else if (p < 530) {
        op_merge(w);
    } else if (p < 560) {
        op_counter(w);
    } else if (p < 780) {
        op_get(w);
    } else if (p < 820) {
        op_multi_get(w);
    } else if (p < 920) {
        op_scan(w);
    } else if (p < 990) {
        op_snapshot(w);
    } else {
        op_maintenance(w, p >= 998);
    }
}

/* After an operation: the thread that completes a multiple of verify_every / reopen_every
 * stops the world for the check. */
static void periodic(struct stress_ctx *c, long n)
{
    int verify = c->f.verify_every && n % c->f.verify_every == 0;
    int re = c->f.reopen_every && n % c->f.reopen_every == 0;
    if (!verify && !re) {
        return;
    }
    pthread_rwlock_wrlock(&c->world);
    if (re) {
        reopen(c);
    } else {
        stress_verify_all(c, "periodic check");
    }
    if (c->f.verbose) {
        printf("  %ld ops, %.1fs: %s ok\n", n, stress_now() - c->t0, re ? "reopen" : "verify");
        fflush(stdout);
    }
    pthread_rwlock_unlock(&c->world);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct stress_ctx *c = w->c;
    for (long i = 0; i < c->f.ops && !__atomic_load_n(&c->stop, __ATOMIC_RELAXED); i++) {
        pthread_rwlock_rdlock(&c->world);
        one_op(w);
        pthread_rwlock_unlock(&c->world);
        periodic(c, __atomic_add_fetch(&c->done, 1, __ATOMIC_RELAXED));
        if (c->f.duration > 0 && i % 64 == 0 && stress_now() - c->t0 > c->f.duration) {
            __atomic_store_n(&c->stop, 1, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

void stress_run(struct stress_ctx *c)
{
    struct worker *ws = calloc((size_t)c->f.threads, sizeof(*ws));
    pthread_t *th = calloc((size_t)c->f.threads, sizeof(*th));
    if (!ws || !th) {
        stress_fail(c, "out of memory for %d threads", c->f.threads);
    }
    for (int t = 0; t < c->f.threads; t++) {
        ws[t].c = c;
        ws[t].id = t;
        ws[t].rng = c->f.seed * 0x2545f4914f6cdd1dULL + (uint64_t)t * 7919 + 1;
        ws[t].vbuf = malloc(STRESS_VAL_MAX);
        ws[t].wo_sync = strata_write_options_create();
        if (!ws[t].vbuf || !ws[t].wo_sync) {
            stress_fail(c, "out of memory");
        }
        strata_write_options_set_sync(ws[t].wo_sync, 1);
        if (pthread_create(&th[t], NULL, worker_main, &ws[t]) != 0) {
            stress_fail(c, "pthread_create failed");
        }
    }
    for (int t = 0; t < c->f.threads; t++) {
        pthread_join(th[t], NULL);
        free(ws[t].vbuf);
        strata_write_options_destroy(ws[t].wo_sync);
    }
    free(ws);
    free(th);
}
