/* model_view.c — reads of a live DB checked against a reference model with uncertain entries
 * (expiry, the marker compaction filter); see model_view.h. */
#include "model_view.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static const char mv_filtered[] = MV_FILTERED;

int mv_is_remove_marker(const char *v, size_t vl)
{
    return vl > 0 && vl != 8 && v[0] == MV_MARK_REMOVE;
}

int mv_is_change_marker(const char *v, size_t vl)
{
    return vl > 0 && vl != 8 && v[0] == MV_MARK_CHANGE;
}

int mv_filter(void *state, int level, const char *key, size_t klen, const char *value, size_t vlen,
              char **new_value, size_t *new_vlen)
{
    _Atomic long *counts = state;
    (void)level;
    (void)key;
    (void)klen;
    if (counts) {
        atomic_fetch_add_explicit(&counts[0], 1, memory_order_relaxed);
    }
    int decision = STRATA_FILTER_KEEP;
    if (mv_is_remove_marker(value, vlen)) {
        decision = STRATA_FILTER_REMOVE;
    } else if (mv_is_change_marker(value, vlen)) {
        char *nv = malloc(MV_FILTERED_LEN);
        if (!nv) {
            return STRATA_FILTER_KEEP;
        }
        memcpy(nv, mv_filtered, MV_FILTERED_LEN);
        *new_value = nv;
        *new_vlen = MV_FILTERED_LEN;
        decision = STRATA_FILTER_CHANGE;
    }
    if (counts && decision != STRATA_FILTER_KEEP) {
        atomic_fetch_add_explicit(&counts[1], 1, memory_order_relaxed);
    }
    return decision;
}

int mv_visible(uint64_t now, const mr_meta *mt)
{
    return !(mt->flags & MV_F_GONE) && !(mt->expire != 0 && now >= mt->expire);
}

enum { S_ABSENT, S_PRESENT, S_MAYBE };

static int state_of(const mv_ctx *c, const char *v, size_t vl, const mr_meta *mt)
{
    if (!mv_visible(c->now, mt)) {
        return S_ABSENT;
    }
    if (!(mt->flags & MV_F_PINNED) && mv_is_remove_marker(v, vl)) {
        return S_MAYBE;
    }
    return S_PRESENT;
}

static int value_ok(const char *v, size_t vl, const mr_meta *mt, const char *got, size_t gl)
{
    if (mr_compare(v, vl, got, gl) == 0) {
        return 1;
    }
    return !(mt->flags & MV_F_PINNED) && mv_is_change_marker(v, vl) &&
           mr_compare(got, gl, mv_filtered, MV_FILTERED_LEN) == 0;
}

/* The filter removed key (its entry in m holds the same value as orig). */
static void apply_gone(mr_map *m, const char *k, size_t kl, const char *orig, size_t ol)
{
    mr_meta mt;
    const char *v;
    size_t vl;
    if (m && mr_get_meta(m, k, kl, &v, &vl, &mt) && mr_compare(v, vl, orig, ol) == 0 &&
        !(mt.flags & MV_F_PINNED)) {
        mt.flags |= MV_F_GONE;
        mr_put_meta(m, k, kl, v, vl, &mt);
    }
}

static void apply_changed(mr_map *m, const char *k, size_t kl, const char *orig, size_t ol)
{
    mr_meta mt;
    const char *v;
    size_t vl;
    if (m && mr_get_meta(m, k, kl, &v, &vl, &mt) && mr_compare(v, vl, orig, ol) == 0 &&
        !(mt.flags & MV_F_PINNED)) {
        mr_put_meta(m, k, kl, mv_filtered, MV_FILTERED_LEN, &mt);
    }
}

static void apply_pinned(mr_map *m, const char *k, size_t kl)
{
    mr_meta mt;
    const char *v;
    size_t vl;
    if (mr_get_meta(m, k, kl, &v, &vl, &mt) && !(mt.flags & MV_F_PINNED)) {
        mt.flags |= MV_F_PINNED;
        mr_put_meta(m, k, kl, v, vl, &mt);
    }
}

/* A copy of key and value: the updates below replace the records they live in. */
static char *copy_kv(const char *k, size_t kl, const char *v, size_t vl)
{
    char *p = malloc(kl + vl + 1);
    assert_non_null(p);
    memcpy(p, k, kl);
    memcpy(p + kl, v, vl);
    return p;
}

/* A key the view could show either way was seen absent. */
static void resolve_gone(mv_view *vw, const char *k, size_t kl, const char *v, size_t vl)
{
    char *c = copy_kv(k, kl, v, vl);
    apply_gone(vw->m, c, kl, c + kl, vl);
    apply_gone(vw->latest, c, kl, c + kl, vl);
    free(c);
}

/* A present key whose value the view could show either way was seen as got. */
static void resolve_seen(mv_view *vw, const char *k, size_t kl, const char *v, size_t vl,
                         const char *got, size_t gl)
{
    if (!mv_is_remove_marker(v, vl) && !mv_is_change_marker(v, vl)) {
        return;
    }
    char *c = copy_kv(k, kl, v, vl);
    if (mr_compare(v, vl, got, gl) == 0) {
        if (vw->pin) {
            apply_pinned(vw->m, c, kl);
        }
    } else {
        apply_changed(vw->m, c, kl, c + kl, vl);
        apply_changed(vw->latest, c, kl, c + kl, vl);
    }
    free(c);
}

static void report(const char *what, const char *msg, const char *k, size_t kl, const char *got,
                   size_t gl, const char *want, size_t wl, const mr_meta *mt)
{
    print_error("%s: %s\n", what, msg);
    eu_print_bytes("key", k, kl);
    if (got) {
        eu_print_bytes("db value", got, gl);
    }
    if (want) {
        eu_print_bytes("model value", want, wl);
    }
    if (mt) {
        print_error("  model entry: expire %llu, writes %u, flags %u\n",
                    (unsigned long long)mt->expire, mt->writes, mt->flags);
    }
}

/* Checks one point-read result (rc, got) for key against the view. */
void mv_check_read(const mv_ctx *c, mv_view *vw, const char *k, size_t kl, int rc, const char *got,
                   size_t gl, const char *what)
{
    mr_meta mt = {0, 0, 0};
    const char *v = NULL;
    size_t vl = 0;
    int st = mr_get_meta(vw->m, k, kl, &v, &vl, &mt) ? state_of(c, v, vl, &mt) : S_ABSENT;
    if (rc == STRATA_E_NOTFOUND) {
        if (st == S_PRESENT) {
            report(what, "read says absent, the model has the key", k, kl, NULL, 0, v, vl, &mt);
            fail();
        }
        if (st == S_MAYBE) {
            resolve_gone(vw, k, kl, v, vl);
        }
        return;
    }
    if (rc != 0) {
        print_error("%s: read returned %d (%s): %s (now %llu)\n", what, rc, strata_strerror(rc),
                    strata_errmsg(), (unsigned long long)c->now);
        report(what, "read failed", k, kl, NULL, 0, v, vl, v ? &mt : NULL);
        fail();
    }
    if (st == S_ABSENT) {
        report(what, "read found a key the model says is absent (deleted, expired or mv_filtered)",
               k, kl, got, gl, v, vl, v ? &mt : NULL);
        fail();
    }
    if (!value_ok(v, vl, &mt, got, gl)) {
        report(what, "value mismatch", k, kl, got, gl, v, vl, &mt);
        fail();
    }
    resolve_seen(vw, k, kl, v, vl, got, gl);
}

void mv_check_get(const mv_ctx *c, mv_view *vw, const strata_read_options *ro, const char *k,
                  size_t kl, int pinned, const char *what)
{
    if (pinned) {
        strata_pinned *p = NULL;
        int rc = strata_get_pinned(c->db, ro, k, kl, &p);
        size_t pl = 0;
        const char *pv = rc == 0 ? strata_pinned_value(p, &pl) : NULL;
        mv_check_read(c, vw, k, kl, rc, pv, pl, what);
        strata_pinned_release(p);
        return;
    }
    void *v = NULL;
    size_t vl = 0;
    int rc = strata_get(c->db, ro, k, kl, &v, &vl);
    mv_check_read(c, vw, k, kl, rc, v, vl, what);
    strata_free(v);
}

/* One strata_multi_get of the n keys, each result checked. */
void mv_check_multi_get(const mv_ctx *c, mv_view *vw, const strata_read_options *ro, size_t n,
                        const char *const *keys, const size_t *kls, const char *what)
{
    void *vals[MV_MAX_MGET];
    size_t vls[MV_MAX_MGET];
    int st[MV_MAX_MGET];
    assert_true(n <= MV_MAX_MGET);
    int rc = strata_multi_get(c->db, ro, n, (const void *const *)keys, kls, vals, vls, st);
    if (rc != 0) {
        print_error("%s: multi_get of %zu keys returned %d (%s): %s\n", what, n, rc,
                    strata_strerror(rc), strata_errmsg());
        fail();
    }
    for (size_t i = 0; i < n; i++) {
        if (st[i] == STRATA_E_NOTFOUND && vals[i] != NULL) {
            print_error("%s: multi_get status NOTFOUND with a non-NULL value\n", what);
            fail();
        }
        mv_check_read(c, vw, keys[i], kls[i], st[i], vals[i], vls[i], what);
        strata_free(vals[i]);
    }
}

/* ---- iterator walks against a view -------------------------------------------------------------
 * The walk knows a range of candidate entries for each move: the iterator must land on one whose
 * state is present or maybe, and every candidate it passed must be absent or maybe. */

void mv_walk_fail_at(const mv_walk *w, const char *msg, size_t i)
{
    print_error("%s: after %s: %s\n", w->what, w->move, msg);
    if (strata_iter_valid(w->it)) {
        size_t kl, vl;
        const char *k = strata_iter_key(w->it, &kl);
        const char *v = strata_iter_value(w->it, &vl);
        eu_print_bytes("iterator key", k, kl);
        eu_print_bytes("iterator value", v, vl);
    } else {
        print_error("  iterator invalid (status %d)\n", strata_iter_status(w->it));
    }
    if (i != SIZE_MAX && i < mr_count(w->vw->m)) {
        const char *mk, *mv;
        size_t mkl, mvl;
        mr_meta mt;
        mr_entry(w->vw->m, i, &mk, &mkl, &mv, &mvl);
        mr_entry_meta(w->vw->m, i, &mt);
        report(w->what, "model entry", mk, mkl, NULL, 0, mv, mvl, &mt);
    }
    print_error("  now %llu\n", (unsigned long long)w->c->now);
    fail();
}

static void need_absent(mv_walk *w, size_t i)
{
    const char *k, *v;
    size_t kl, vl;
    mr_meta mt;
    mr_entry(w->vw->m, i, &k, &kl, &v, &vl);
    mr_entry_meta(w->vw->m, i, &mt);
    int st = state_of(w->c, v, vl, &mt);
    if (st == S_PRESENT) {
        mv_walk_fail_at(w, "the iterator skipped a key the model has", i);
    }
    if (st == S_MAYBE) {
        resolve_gone(w->vw, k, kl, v, vl);
    }
}

/* The iterator is valid: its key must be model entry in [lo, hi); returns the index. */
static size_t need_present(mv_walk *w, size_t lo, size_t hi)
{
    size_t kl, gl;
    const char *k = strata_iter_key(w->it, &kl);
    const char *got = strata_iter_value(w->it, &gl);
    size_t i = mr_lower_bound(w->vw->m, k, kl);
    const char *mk, *v;
    size_t mkl, vl;
    if (i >= mr_count(w->vw->m)) {
        mv_walk_fail_at(w, "the iterator is at a key past every model key", SIZE_MAX);
    }
    mr_entry(w->vw->m, i, &mk, &mkl, &v, &vl);
    if (mr_compare(mk, mkl, k, kl) != 0) {
        mv_walk_fail_at(w, "the iterator is at a key the model never had (next model key shown)",
                        i);
    }
    if (i < lo || i >= hi) {
        mv_walk_fail_at(w, "the iterator is at a key outside the expected range", i);
    }
    mr_meta mt;
    mr_entry_meta(w->vw->m, i, &mt);
    int st = state_of(w->c, v, vl, &mt);
    if (st == S_ABSENT) {
        mv_walk_fail_at(w, "the iterator shows a key the model says is absent", i);
    }
    if (!value_ok(v, vl, &mt, got, gl)) {
        mv_walk_fail_at(w, "value mismatch", i);
    }
    resolve_seen(w->vw, mk, mkl, v, vl, got, gl);
    return i;
}

/* The iterator moved forward: its candidates are [from, end). */
void mv_expect_forward(mv_walk *w, size_t from)
{
    size_t lo = from < w->begin ? w->begin : from;
    if (!strata_iter_valid(w->it)) {
        if (strata_iter_status(w->it) != 0) {
            mv_walk_fail_at(w, "iterator error", SIZE_MAX);
        }
        for (size_t i = lo; i < w->end; i++) {
            need_absent(w, i);
        }
        w->pos = SIZE_MAX;
        return;
    }
    size_t at = need_present(w, lo, w->end);
    for (size_t i = lo; i < at; i++) {
        need_absent(w, i);
    }
    w->pos = at;
}

/* The iterator moved backward: its candidates are [begin, hi). */
void mv_expect_backward(mv_walk *w, size_t hi)
{
    if (hi > w->end) {
        hi = w->end;
    }
    if (!strata_iter_valid(w->it)) {
        if (strata_iter_status(w->it) != 0) {
            mv_walk_fail_at(w, "iterator error", SIZE_MAX);
        }
        for (size_t i = w->begin; i < hi; i++) {
            need_absent(w, i);
        }
        w->pos = SIZE_MAX;
        return;
    }
    size_t at = need_present(w, w->begin, hi);
    for (size_t i = at + 1; i < hi; i++) {
        need_absent(w, i);
    }
    w->pos = at;
}

void mv_walk_move(mv_walk *w)
{
    eu_rng *r = w->c->r;
    char key[EU_MAX_KEY];
    size_t klen = 0;
    int op = (int)eu_uniform(r, 10);
    if (w->pos != SIZE_MAX && op >= 4) {
        int n = 1 + (int)eu_uniform(r, 8);
        int fwd = op < 7;
        for (int i = 0; i < n && w->pos != SIZE_MAX; i++) {
            w->move = fwd ? "next" : "prev";
            if (fwd) {
                strata_iter_next(w->it);
                mv_expect_forward(w, w->pos + 1);
            } else {
                strata_iter_prev(w->it);
                mv_expect_backward(w, w->pos);
            }
        }
        return;
    }
    switch (op % 4) {
        case 0:
            w->move = "seek_to_first";
            strata_iter_seek_to_first(w->it);
            mv_expect_forward(w, w->begin);
            break;
        case 1:
            w->move = "seek_to_last";
            strata_iter_seek_to_last(w->it);
            mv_expect_backward(w, w->end);
            break;
        case 2:
            w->c->gen(r, key, &klen);
            w->move = "seek";
            strata_iter_seek(w->it, key, klen);
            mv_expect_forward(w, mr_lower_bound(w->vw->m, key, klen));
            break;
        default:
            w->c->gen(r, key, &klen);
            w->move = "seek_for_prev";
            strata_iter_seek_for_prev(w->it, key, klen);
            mv_expect_backward(w, mr_upper_bound(w->vw->m, key, klen));
            break;
    }
}

void mv_walk_init(mv_walk *w, const mv_ctx *c, strata_iter *it, mv_view *vw, const char *lo,
                  size_t ll, const char *hi, size_t hl, const char *what)
{
    memset(w, 0, sizeof(*w));
    w->c = c;
    w->it = it;
    w->vw = vw;
    w->pos = SIZE_MAX;
    w->what = what;
    mr_bounds(vw->m, lo, ll, hi, hl, &w->begin, &w->end);
}

/* A full forward and backward scan of the view. */
void mv_check_scans(const mv_ctx *c, strata_iter *it, mv_view *vw, const char *what)
{
    mv_walk w;
    mv_walk_init(&w, c, it, vw, NULL, 0, NULL, 0, what);
    w.move = "seek_to_first";
    strata_iter_seek_to_first(it);
    mv_expect_forward(&w, 0);
    w.move = "next (forward scan)";
    while (w.pos != SIZE_MAX) {
        strata_iter_next(it);
        mv_expect_forward(&w, w.pos + 1);
    }
    w.move = "seek_to_last";
    strata_iter_seek_to_last(it);
    mv_expect_backward(&w, w.end);
    w.move = "prev (backward scan)";
    while (w.pos != SIZE_MAX) {
        strata_iter_prev(it);
        mv_expect_backward(&w, w.pos);
    }
}

mv_view mv_latest_iter_view(mr_map *latest)
{
    mv_view vw = {mr_clone(latest), 1, latest};
    return vw;
}

void mv_check_full(const mv_ctx *c, const strata_snapshot *snap, mv_view *vw, const char *what)
{
    strata_read_options *ro = strata_read_options_create();
    strata_read_options_set_snapshot(ro, snap);
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(c->db, ro, &it));
    if (snap) {
        mv_check_scans(c, it, vw, what);
    } else {
        mv_view iv = mv_latest_iter_view(vw->m);
        mv_check_scans(c, it, &iv, what);
        mr_destroy(iv.m);
    }
    strata_iter_destroy(it);
    const char *keys[MV_MAX_MGET];
    size_t kls[MV_MAX_MGET];
    size_t n = 0;
    for (size_t i = 0; i < mr_count(vw->m); i++) {
        mr_entry(vw->m, i, &keys[n], &kls[n], NULL, NULL);
        mv_check_get(c, vw, ro, keys[n], kls[n], (int)(i % 3 == 0), what);
        mr_entry(vw->m, i, &keys[n], &kls[n], NULL, NULL); /* the get may replace the record */
        if (++n == MV_MAX_MGET || i + 1 == mr_count(vw->m)) {
            /* Resolutions replace records: copy the keys before the multi-get checks them. */
            char *copy[MV_MAX_MGET];
            for (size_t j = 0; j < n; j++) {
                copy[j] = malloc(kls[j] ? kls[j] : 1);
                assert_non_null(copy[j]);
                memcpy(copy[j], keys[j], kls[j]);
            }
            mv_check_multi_get(c, vw, ro, n, (const char *const *)copy, kls, what);
            for (size_t j = 0; j < n; j++) {
                free(copy[j]);
            }
            n = 0;
        }
    }
    strata_read_options_destroy(ro);
}
