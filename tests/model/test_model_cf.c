/* test_model_cf.c — randomized model test of column families: random operations on a few
 * families, each family checked against its own in-memory reference map (model_ref.h).
 *
 * Operations: puts, deletes and range deletes on one family; batches that mix families (so the
 * references change together); gets and iterator checks of a random family, also at a snapshot
 * taken earlier (a snapshot spans every family: a clone of every reference is kept with it);
 * flushes and compactions of one family or all; creating, dropping and re-creating families
 * (a re-created family starts empty); close and reopen (every recorded family opens, with the
 * per-family write-buffer size given at open).  Options are tiny (64 KiB write buffers, small
 * tables) so flushes and compactions run constantly, and one family keeps a larger buffer so the
 * families' WAL needs and flush timing differ.
 *
 * Seeds: STRATA_TEST_SEED (default 0x5eed) + seed index; operations per seed:
 * 20000 * STRATA_TEST_SCALE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_util.h"
#include "model_ref.h"
#include "strata.h"
#include "test_util.h"

#define NSLOTS 4 /* family slots: 0 is "default", the others come and go */
#define NKEYS 500

struct model {
    char *dir;
    strata_options *opt, *big;
    strata_db *db;
    strata_cf *cf[NSLOTS]; /* NULL: the slot's family does not exist now */
    mr_map *ref[NSLOTS];
    const strata_snapshot *snap;
    mr_map *snap_ref[NSLOTS]; /* the references when snap was taken (NULL: slot empty then) */
    strata_cf *snap_cf[NSLOTS];
    eu_rng r;
};

static const char *slot_name(int s)
{
    static const char *names[NSLOTS] = {"default", "f1", "f2", "f3"};
    return names[s];
}

static int key_of(char *buf, uint64_t i)
{
    return snprintf(buf, 16, "k%04u", (unsigned)i);
}

static int rand_slot(struct model *m)
{
    for (;;) {
        int s = (int)eu_uniform(&m->r, NSLOTS);
        if (m->cf[s]) {
            return s;
        }
    }
}

static void drop_snapshot(struct model *m)
{
    if (m->snap) {
        strata_snapshot_release(m->db, m->snap);
        m->snap = NULL;
    }
    for (int s = 0; s < NSLOTS; s++) {
        mr_destroy(m->snap_ref[s]);
        m->snap_ref[s] = NULL;
    }
}

static void take_snapshot(struct model *m)
{
    drop_snapshot(m);
    m->snap = strata_snapshot_create(m->db);
    for (int s = 0; s < NSLOTS; s++) {
        m->snap_ref[s] = m->cf[s] ? mr_clone(m->ref[s]) : NULL;
        m->snap_cf[s] = m->cf[s];
    }
}

/* A batch of 1..8 operations over random families. */
static void op_batch(struct model *m)
{
    strata_batch *b = strata_batch_create();
    int n = 1 + (int)eu_uniform(&m->r, 8);
    char k[16], e[16], v[32];
    for (int i = 0; i < n; i++) {
        int s = rand_slot(m);
        int kl = key_of(k, eu_uniform(&m->r, NKEYS));
        uint64_t kind = eu_uniform(&m->r, 10);
        if (kind < 6) {
            int vl = snprintf(v, sizeof(v), "v%llu", (unsigned long long)eu_rand(&m->r));
            tu_assert_ok(strata_batch_put_cf(b, m->cf[s], k, (size_t)kl, v, (size_t)vl));
            mr_put(m->ref[s], k, (size_t)kl, v, (size_t)vl);
        } else if (kind < 9) {
            tu_assert_ok(strata_batch_delete_cf(b, m->cf[s], k, (size_t)kl));
            mr_del(m->ref[s], k, (size_t)kl);
        } else {
            int el = key_of(e, eu_uniform(&m->r, NKEYS));
            tu_assert_ok(strata_batch_delete_range_cf(b, m->cf[s], k, (size_t)kl, e, (size_t)el));
            mr_del_range(m->ref[s], k, (size_t)kl, e, (size_t)el);
        }
    }
    tu_assert_ok(strata_write(m->db, NULL, b));
    strata_batch_destroy(b);
}

static void op_single(struct model *m)
{
    int s = rand_slot(m);
    char k[16], v[32];
    int kl = key_of(k, eu_uniform(&m->r, NKEYS));
    if (eu_one_in(&m->r, 4)) {
        tu_assert_ok(strata_delete_cf(m->db, NULL, m->cf[s], k, (size_t)kl));
        mr_del(m->ref[s], k, (size_t)kl);
    } else {
        int vl = snprintf(v, sizeof(v), "s%llu", (unsigned long long)eu_rand(&m->r));
        tu_assert_ok(strata_put_cf(m->db, NULL, m->cf[s], k, (size_t)kl, v, (size_t)vl));
        mr_put(m->ref[s], k, (size_t)kl, v, (size_t)vl);
    }
}

/* Every key of a family through an iterator, and a few gets, against want. */
static void check_family(struct model *m, strata_cf *cf, const strata_read_options *ro,
                         const mr_map *want, const char *what)
{
    mr_map *got = NULL;
    tu_assert_ok(eu_cf_to_map(m->db, ro, cf, &got));
    if (!mr_equal(got, want)) {
        fail_msg("%s: family %s holds %zu keys, the model %zu (or values differ)", what,
                 strata_cf_name(cf), mr_count(got), mr_count(want));
    }
    mr_destroy(got);
    char k[16];
    for (int i = 0; i < 4; i++) {
        int kl = key_of(k, eu_uniform(&m->r, NKEYS));
        void *v = NULL;
        size_t vl = 0;
        const char *wv;
        size_t wl;
        int rc = strata_get_cf(m->db, ro, cf, k, (size_t)kl, &v, &vl);
        if (mr_get(want, k, (size_t)kl, &wv, &wl)) {
            tu_assert_ok(rc);
            tu_assert_bytes_equal(v, vl, wv, wl);
        } else {
            assert_int_equal(rc, STRATA_E_NOTFOUND);
        }
        strata_free(v);
    }
}

static void op_check(struct model *m)
{
    int s = rand_slot(m);
    check_family(m, m->cf[s], NULL, m->ref[s], "latest");
    if (m->snap) {
        int t = (int)eu_uniform(&m->r, NSLOTS);
        if (m->snap_ref[t] && m->snap_cf[t] == m->cf[t]) { /* not dropped since */
            strata_read_options *ro = strata_read_options_create();
            strata_read_options_set_snapshot(ro, m->snap);
            check_family(m, m->cf[t], ro, m->snap_ref[t], "snapshot");
            strata_read_options_destroy(ro);
        }
    }
}

static void op_create_or_drop(struct model *m)
{
    int s = 1 + (int)eu_uniform(&m->r, NSLOTS - 1);
    if (m->cf[s]) {
        tu_assert_ok(strata_cf_drop(m->db, m->cf[s]));
        m->cf[s] = NULL;
        mr_clear(m->ref[s]);
    } else {
        tu_assert_ok(strata_cf_create(m->db, slot_name(s), s == 1 ? m->big : NULL, &m->cf[s]));
    }
}

static void op_background(struct model *m)
{
    int s = rand_slot(m);
    switch (eu_uniform(&m->r, 3)) {
    case 0: tu_assert_ok(strata_flush_cf(m->db, m->cf[s], (int)eu_uniform(&m->r, 2))); break;
    case 1: tu_assert_ok(strata_compact_range_cf(m->db, m->cf[s], NULL, 0, NULL, 0)); break;
    default: tu_assert_ok(strata_flush(m->db, 1)); break;
    }
}

static void model_open(struct model *m)
{
    const char *names[] = {"f1"};
    const strata_options *opts[] = {m->big};
    strata_cf *h[1];
    tu_assert_ok(strata_open_cf(m->opt, m->dir, 1, names, opts, h, &m->db));
    for (int s = 0; s < NSLOTS; s++) {
        strata_cf *cf = strata_cf_handle(m->db, slot_name(s));
        if (s == 0 || (s == 1 && !m->cf[1])) {
            /* default always exists; open_cf creates f1 when it does not: the model follows */
            m->cf[s] = cf;
            continue;
        }
        assert_true((cf != NULL) == (m->cf[s] != NULL));
        m->cf[s] = cf;
    }
}

static void op_reopen(struct model *m)
{
    drop_snapshot(m);
    tu_assert_ok(strata_close(m->db));
    m->db = NULL;
    model_open(m);
    for (int s = 0; s < NSLOTS; s++) {
        if (m->cf[s]) {
            check_family(m, m->cf[s], NULL, m->ref[s], "after reopen");
        }
    }
}

static void run_seed(uint64_t seed)
{
    struct model m;
    memset(&m, 0, sizeof(m));
    eu_rng_seed(&m.r, seed);
    m.dir = tu_mkdtemp("modelcf");
    m.opt = strata_options_create();
    strata_options_set_create_if_missing(m.opt, 1);
    strata_options_set_write_buffer_size(m.opt, 64 << 10);
    strata_options_set_target_file_size(m.opt, 64 << 10);
    strata_options_set_max_bytes_for_level_base(m.opt, 256 << 10);
    strata_options_set_info_log(m.opt, 0);
    m.big = strata_options_copy(m.opt);
    strata_options_set_write_buffer_size(m.big, 1 << 20);
    for (int s = 0; s < NSLOTS; s++) {
        m.ref[s] = mr_create();
    }
    model_open(&m);
    long ops = (long)(20000 * tu_scale()) + 100;
    for (long i = 0; i < ops; i++) {
        uint64_t p = eu_uniform(&m.r, 1000);
        if (p < 450) {
            op_batch(&m);
        } else if (p < 800) {
            op_single(&m);
        } else if (p < 950) {
            op_check(&m);
        } else if (p < 965) {
            op_create_or_drop(&m);
        } else if (p < 985) {
            op_background(&m);
        } else if (p < 995) {
            take_snapshot(&m);
        } else {
            op_reopen(&m);
        }
    }
    op_reopen(&m);
    drop_snapshot(&m);
    tu_assert_ok(strata_close(m.db));
    for (int s = 0; s < NSLOTS; s++) {
        mr_destroy(m.ref[s]);
    }
    strata_options_destroy(m.opt);
    strata_options_destroy(m.big);
    tu_rmdir_all(m.dir);
    tu_free_path(m.dir);
}

static void test_model_families(void **state)
{
    (void)state;
    uint64_t base = tu_seed(0x5eed);
    for (uint64_t i = 0; i < 3; i++) {
        run_seed(base + i);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_families),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
