/* ops_fixture.c — the shared fixture of the issue #11 API tests (ops_fixture.h). */
#include "ops_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void le64(char out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        out[i] = (char)(v >> (8 * i));
    }
}

uint64_t le64_get(const void *p)
{
    const unsigned char *b = p;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | b[i];
    }
    return v;
}

void merge_u64(strata_db *db, const char *key, uint64_t v)
{
    char op[8];
    le64(op, v);
    tu_assert_ok(strata_merge(db, NULL, key, strlen(key), op, 8));
}

/* Asserts key holds the 8-byte counter want (through get, pinned get and multi-get). */
void expect_u64(strata_db *db, const strata_read_options *ro, const char *key, uint64_t want)
{
    char w[8];
    le64(w, want);
    void *v = NULL;
    size_t vl = 0;
    int rc = strata_get(db, ro, key, strlen(key), &v, &vl);
    if (rc != 0) {
        print_error("get(\"%s\") returned %d (%s): %s; expected counter %llu\n", key, rc,
                    strata_strerror(rc), strata_errmsg(), (unsigned long long)want);
        fail();
    }
    if (vl != 8 || memcmp(v, w, 8) != 0) {
        print_error("get(\"%s\") returned %zu bytes (%llu as a counter); expected counter %llu\n",
                    key, vl, vl == 8 ? (unsigned long long)le64_get(v) : 0ULL,
                    (unsigned long long)want);
        fail();
    }
    strata_free(v);
    strata_pinned *p = NULL;
    tu_assert_ok(strata_get_pinned(db, ro, key, strlen(key), &p));
    const void *pv = strata_pinned_value(p, &vl);
    tu_assert_bytes_equal(pv, vl, w, 8);
    strata_pinned_release(p);
    const void *keys[1] = {key};
    size_t kls[1] = {strlen(key)}, vls[1] = {0};
    void *vals[1] = {NULL};
    int st[1] = {-99};
    tu_assert_ok(strata_multi_get(db, ro, 1, keys, kls, vals, vls, st));
    tu_assert_ok(st[0]);
    tu_assert_bytes_equal(vals[0], vls[0], w, 8);
    strata_free(vals[0]);
}

/* Asserts a forward and a backward scan (bounds [lo, hi), NULL = none) return exactly the
 * NUL-terminated keys of want, in order, each with the value vals[i] (vals NULL: not checked). */
void expect_scan(strata_db *db, const char *lo, const char *hi, const char *const *want,
                 const char *const *vals, int n)
{
    strata_read_options *ro = strata_read_options_create();
    assert_non_null(ro);
    if (lo) {
        tu_assert_ok(strata_read_options_set_lower_bound(ro, lo, strlen(lo)));
    }
    if (hi) {
        tu_assert_ok(strata_read_options_set_upper_bound(ro, hi, strlen(hi)));
    }
    strata_iter *it = NULL;
    it = iter_open(db, ro);
    int i = 0;
    for (strata_iter_seek_to_first(it); strata_iter_valid(it); strata_iter_next(it), i++) {
        size_t kl, vl;
        const char *k = strata_iter_key(it, &kl);
        const char *v = strata_iter_value(it, &vl);
        if (i >= n) {
            print_error("forward scan: extra key at position %d\n", i);
            eu_print_bytes("key", k, kl);
            fail();
        }
        tu_assert_bytes_equal(k, kl, want[i], strlen(want[i]));
        if (vals) {
            tu_assert_bytes_equal(v, vl, vals[i], strlen(vals[i]));
        }
    }
    tu_assert_ok(strata_iter_status(it));
    assert_int_equal(i, n);
    i = n - 1;
    for (strata_iter_seek_to_last(it); strata_iter_valid(it); strata_iter_prev(it), i--) {
        size_t kl;
        const char *k = strata_iter_key(it, &kl);
        if (i < 0) {
            print_error("backward scan: extra key\n");
            eu_print_bytes("key", k, kl);
            fail();
        }
        tu_assert_bytes_equal(k, kl, want[i], strlen(want[i]));
    }
    tu_assert_ok(strata_iter_status(it));
    assert_int_equal(i, -1);
    iter_close(it);
    strata_read_options_destroy(ro);
}

/* Scans with a snapshot or plain read options ro (bounds unset) and counts the keys. */
int count_keys(strata_db *db, const strata_read_options *ro)
{
    strata_iter *it = NULL;
    it = iter_open(db, ro);
    int n = 0;
    for (strata_iter_seek_to_first(it); strata_iter_valid(it); strata_iter_next(it)) {
        n++;
    }
    tu_assert_ok(strata_iter_status(it));
    iter_close(it);
    return n;
}
