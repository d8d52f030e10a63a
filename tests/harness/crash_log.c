/* crash_log.c — batch log and prefix rule for crash/I/O-error tests (see crash_log.h).
 *
 * The log keeps `base` (the reference state as of batch base_id, which is known durable or is
 * the empty DB) and every batch after it.  Values are regenerated from (batch id, key, length),
 * so a batch costs a few bytes per operation. */
#include "crash_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define MARKER "~marker"
#define NS_MAX 16

struct cl_op {
    int key;
    int del;
    uint32_t vlen;
};

struct cl_batch {
    long id;
    int nops;
    struct cl_op *ops;
};

struct cl_log {
    char ns[NS_MAX];
    size_t nslen;
    char marker[NS_MAX + 8];
    int nkeys;
    size_t max_val;
    mr_map *base;
    long base_id;
    struct cl_batch *b;
    size_t n;
    size_t cap;
    long next_id;
    long acked;
    long attempted;
    long durable;
    char *vbuf;
};

cl_log *cl_create(int nkeys, size_t max_val)
{
    return cl_create_ns("", nkeys, max_val);
}

cl_log *cl_create_ns(const char *ns, int nkeys, size_t max_val)
{
    cl_log *l = calloc(1, sizeof(*l));
    assert_non_null(l);
    assert_true(strlen(ns) < NS_MAX);
    l->nslen = strlen(ns);
    memcpy(l->ns, ns, l->nslen);
    snprintf(l->marker, sizeof(l->marker), "%s%s", ns, MARKER);
    l->nkeys = nkeys;
    l->max_val = max_val < 32 ? 32 : max_val;
    l->base = mr_create();
    l->base_id = -1;
    l->acked = -1;
    l->attempted = -1;
    l->durable = -1;
    l->vbuf = malloc(l->max_val + 64);
    assert_non_null(l->vbuf);
    return l;
}

static void drop_batches_from(cl_log *l, size_t from)
{
    for (size_t i = from; i < l->n; i++) {
        free(l->b[i].ops);
    }
    if (from < l->n) {
        l->n = from;
    }
}

void cl_destroy(cl_log *l)
{
    if (!l) {
        return;
    }
    drop_batches_from(l, 0);
    free(l->b);
    mr_destroy(l->base);
    free(l->vbuf);
    free(l);
}

static int key_name(const cl_log *l, char *buf, int key)
{
    return snprintf(buf, NS_MAX + 16, "%sk%05d", l->ns, key);
}

/* Value of key in batch id: "b<id>:k<key>:" then deterministic filler up to vlen bytes. */
static size_t make_value(cl_log *l, long id, int key, uint32_t vlen)
{
    int h = snprintf(l->vbuf, 64, "b%ld:k%d:", id, key);
    size_t n = vlen < (uint32_t)h ? (size_t)h : vlen;
    uint64_t x = (uint64_t)id * 0x9e3779b97f4a7c15ULL + (uint64_t)key;
    for (size_t i = (size_t)h; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        l->vbuf[i] = (char)('a' + (x >> 59));
    }
    return n;
}

strata_batch *cl_next_batch(cl_log *l, eu_rng *r, int nops, long *id)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->b = realloc(l->b, l->cap * sizeof(*l->b));
        assert_non_null(l->b);
    }
    struct cl_batch *cb = &l->b[l->n++];
    cb->id = l->next_id++;
    cb->nops = nops;
    cb->ops = calloc((size_t)nops + 1, sizeof(*cb->ops));
    assert_non_null(cb->ops);
    strata_batch *b = strata_batch_create();
    assert_non_null(b);
    char k[NS_MAX + 16];
    for (int i = 0; i < nops; i++) {
        struct cl_op *op = &cb->ops[i];
        op->key = (int)eu_uniform(r, (uint64_t)l->nkeys);
        op->del = eu_one_in(r, 5);
        op->vlen =
            eu_one_in(r, 10) ? (uint32_t)eu_uniform(r, l->max_val) : (uint32_t)eu_uniform(r, 100);
        int kl = key_name(l, k, op->key);
        if (op->del) {
            tu_assert_ok(strata_batch_delete(b, k, (size_t)kl));
        } else {
            size_t vl = make_value(l, cb->id, op->key, op->vlen);
            tu_assert_ok(strata_batch_put(b, k, (size_t)kl, l->vbuf, vl));
        }
    }
    char mv[32];
    int ml = snprintf(mv, sizeof(mv), "%ld", cb->id);
    tu_assert_ok(strata_batch_put(b, l->marker, strlen(l->marker), mv, (size_t)ml));
    l->attempted = cb->id;
    *id = cb->id;
    return b;
}

void cl_ack(cl_log *l, long id, int rc, int sync)
{
    if (rc != 0) {
        return;
    }
    if (id > l->acked) {
        l->acked = id;
    }
    if (sync && id > l->durable) {
        l->durable = id;
    }
}

void cl_mark_durable(cl_log *l)
{
    if (l->acked > l->durable) {
        l->durable = l->acked;
    }
}

int cl_write(cl_log *l, strata_db *db, eu_rng *r, int nops, int sync)
{
    long id;
    strata_batch *b = cl_next_batch(l, r, nops, &id);
    strata_write_options *wo = strata_write_options_create();
    strata_write_options_set_sync(wo, sync);
    int rc = strata_write(db, wo, b);
    strata_write_options_destroy(wo);
    strata_batch_destroy(b);
    cl_ack(l, id, rc, sync);
    return rc;
}

long cl_last_acked(const cl_log *l)
{
    return l->acked;
}

long cl_last_attempted(const cl_log *l)
{
    return l->attempted;
}

long cl_durable(const cl_log *l)
{
    return l->durable;
}

/* base plus every logged batch with id <= k. */
static mr_map *replay(cl_log *l, long k)
{
    mr_map *m = mr_clone(l->base);
    char key[NS_MAX + 16];
    for (size_t i = 0; i < l->n && l->b[i].id <= k; i++) {
        const struct cl_batch *cb = &l->b[i];
        for (int j = 0; j < cb->nops; j++) {
            const struct cl_op *op = &cb->ops[j];
            int kl = key_name(l, key, op->key);
            if (op->del) {
                mr_del(m, key, (size_t)kl);
            } else {
                size_t vl = make_value(l, cb->id, op->key, op->vlen);
                mr_put(m, key, (size_t)kl, l->vbuf, vl);
            }
        }
        char mv[32];
        int ml = snprintf(mv, sizeof(mv), "%ld", cb->id);
        mr_put(m, l->marker, strlen(l->marker), mv, (size_t)ml);
    }
    return m;
}

static long marker_of(const cl_log *l, const mr_map *m, const char *what)
{
    const char *v;
    size_t vl;
    if (!mr_get(m, l->marker, strlen(l->marker), &v, &vl)) {
        return -1;
    }
    char buf[32];
    if (vl == 0 || vl >= sizeof(buf)) {
        print_error("%s: marker value has %zu bytes\n", what, vl);
        fail();
    }
    memcpy(buf, v, vl);
    buf[vl] = '\0';
    return strtol(buf, NULL, 10);
}

/* Prints the first difference between the recovered and the expected state. */
static void report_diff(const mr_map *got, const mr_map *want)
{
    size_t ng = mr_count(got), nw = mr_count(want);
    for (size_t i = 0; i < ng || i < nw; i++) {
        const char *gk = NULL, *gv = NULL, *wk = NULL, *wv = NULL;
        size_t gkl = 0, gvl = 0, wkl = 0, wvl = 0;
        if (i < ng) {
            mr_entry(got, i, &gk, &gkl, &gv, &gvl);
        }
        if (i < nw) {
            mr_entry(want, i, &wk, &wkl, &wv, &wvl);
        }
        if (gk && wk && mr_compare(gk, gkl, wk, wkl) == 0 && mr_compare(gv, gvl, wv, wvl) == 0) {
            continue;
        }
        print_error("  first difference at entry %zu:\n", i);
        if (gk) {
            eu_print_bytes("recovered key", gk, gkl);
            eu_print_bytes("recovered value", gv, gvl < 40 ? gvl : 40);
        } else {
            print_error("  recovered: (end)\n");
        }
        if (wk) {
            eu_print_bytes("expected key", wk, wkl);
            eu_print_bytes("expected value", wv, wvl < 40 ? wvl : 40);
        } else {
            print_error("  expected: (end)\n");
        }
        return;
    }
}

static void rebase(cl_log *l, long k, mr_map *state, int durable)
{
    size_t keep = 0;
    while (keep < l->n && l->b[keep].id <= k) {
        keep++;
    }
    drop_batches_from(l, keep); /* batches after k are lost for good */
    l->acked = k;
    if (!durable) {
        mr_destroy(state);
        return;
    }
    mr_destroy(l->base);
    l->base = state;
    l->base_id = k;
    drop_batches_from(l, 0);
    l->durable = k;
}

long cl_verify(cl_log *l, strata_db *db, int all_acked, const char *what)
{
    mr_map *got = NULL;
    strata_read_options *ro = strata_read_options_create();
    assert_non_null(ro);
    if (l->nslen) {
        char upper[NS_MAX + 1];
        memcpy(upper, l->ns, l->nslen);
        upper[l->nslen] = (char)0xff;
        tu_assert_ok(strata_read_options_set_lower_bound(ro, l->ns, l->nslen));
        tu_assert_ok(strata_read_options_set_upper_bound(ro, upper, l->nslen + 1));
    }
    int rc = eu_db_to_map(db, ro, &got);
    strata_read_options_destroy(ro);
    if (rc != 0) {
        print_error("%s: scanning the recovered DB failed: %d (%s): %s\n", what, rc,
                    strata_strerror(rc), strata_errmsg());
        fail();
    }
    long k = marker_of(l, got, what);
    long floor = all_acked ? l->acked : l->durable;
    if (k < floor || k > l->attempted || k < l->base_id) {
        print_error(
            "%s: recovered up to batch %ld, but acknowledged-durable floor is %ld, "
            "last attempted %ld, base %ld (%s)\n",
            what, k, floor, l->attempted, l->base_id,
            k < floor ? "acknowledged writes lost" : "writes from nowhere");
        mr_destroy(got);
        fail();
    }
    mr_map *want = replay(l, k);
    if (!mr_equal(got, want)) {
        print_error(
            "%s: recovered state is not the prefix up to batch %ld (floor %ld, last "
            "attempted %ld): torn batch or reordering\n",
            what, k, floor, l->attempted);
        report_diff(got, want);
        mr_destroy(got);
        mr_destroy(want);
        fail();
    }
    /* Point reads agree with the scan. */
    for (int i = 0; i < l->nkeys; i += 1 + l->nkeys / 64) {
        char key[NS_MAX + 16];
        int kl = key_name(l, key, i);
        eu_check_get(db, NULL, want, key, (size_t)kl, what);
    }
    mr_destroy(got);
    rebase(l, k, want, !all_acked);
    return k;
}
