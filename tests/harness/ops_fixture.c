/* ops_fixture.c — the shared fixture of the issue #11 API tests (ops_fixture.h). */
#include "ops_fixture.h"

#include <stdlib.h>

#include "engine_util.h"
#include "test_util.h"

uint64_t fake_clock(void *state)
{
    struct fx *f = state;
    return atomic_load_explicit(&f->now, memory_order_relaxed);
}

void advance(struct fx *f, uint64_t micros)
{
    atomic_fetch_add_explicit(&f->now, micros, memory_order_relaxed);
}

int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f) {
        return -1;
    }
    atomic_store(&f->now, T0);
    f->env = strata_env_create_mem();
    f->opt = strata_options_create();
    f->mo = strata_merge_operator_uint64_add();
    if (!f->env || !f->opt || !f->mo || strata_env_set_clock(f->env, fake_clock, f) != 0) {
        return -1;
    }
    strata_options_set_create_if_missing(f->opt, 1);
    strata_options_set_env(f->opt, f->env);
    strata_options_set_info_log(f->opt, 0);
    strata_options_set_write_buffer_size(f->opt, eu_write_buffer_size());
    strata_options_set_target_file_size(f->opt, 64 << 10);
    strata_options_set_block_size(f->opt, 512);
    strata_options_set_merge_operator(f->opt, f->mo);
    *state = f;
    return 0;
}

/* Iterators and snapshots a failed check left open, released before the DB is closed (closing
 * with them alive is a contract violation that a debug build asserts on). */
#define MAX_OPEN 8
static strata_iter *open_iters[MAX_OPEN];
static const strata_snapshot *open_snaps[MAX_OPEN];

strata_iter *iter_open(strata_db *db, const strata_read_options *ro)
{
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(db, ro, &it));
    for (int i = 0; i < MAX_OPEN; i++) {
        if (!open_iters[i]) {
            open_iters[i] = it;
            break;
        }
    }
    return it;
}

void iter_close(strata_iter *it)
{
    for (int i = 0; i < MAX_OPEN; i++) {
        if (open_iters[i] == it) {
            open_iters[i] = NULL;
        }
    }
    strata_iter_destroy(it);
}

const strata_snapshot *snap_take(strata_db *db)
{
    const strata_snapshot *s = strata_snapshot_create(db);
    assert_non_null(s);
    for (int i = 0; i < MAX_OPEN; i++) {
        if (!open_snaps[i]) {
            open_snaps[i] = s;
            break;
        }
    }
    return s;
}

void snap_drop(strata_db *db, const strata_snapshot *s)
{
    for (int i = 0; i < MAX_OPEN; i++) {
        if (open_snaps[i] == s) {
            open_snaps[i] = NULL;
        }
    }
    strata_snapshot_release(db, s);
}

int fx_teardown(void **state)
{
    struct fx *f = *state;
    if (!f) {
        return 0;
    }
    for (int i = 0; i < MAX_OPEN; i++) {
        strata_iter_destroy(open_iters[i]);
        open_iters[i] = NULL;
        if (open_snaps[i] && f->db) {
            strata_snapshot_release(f->db, open_snaps[i]);
        }
        open_snaps[i] = NULL;
    }
    int rc = f->db ? strata_close(f->db) : 0;
    strata_options_destroy(f->opt);
    strata_merge_operator_destroy(f->mo);
    strata_env_destroy(f->env);
    free(f);
    return rc == 0 ? 0 : -1;
}

void fx_open(struct fx *f)
{
    tu_assert_ok(strata_open(f->opt, "/rdmdb", &f->db));
}

void fx_reopen(struct fx *f)
{
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    fx_open(f);
}

/* ---- helpers --------------------------------------------------------------------------------- */
