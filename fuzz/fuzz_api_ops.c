/* fuzz_api_ops.c — libFuzzer target driving the public API (strata.h) with a sequence of
 * operations decoded from the input, on a DB in a private in-memory env, checked against a tiny
 * reference map (64 keys "key00".."key3f", so keys collide often).
 *
 * Operation byte (low 4 bits): 0-2 put, 3 delete, 4 get, 5 forward scan, 6 backward scan,
 * 7 seek, 8 batch of up to 8 ops, 9 flush, 10 reopen, 11 compact all, 12 seek_for_prev,
 * 13 snapshot read of one key, 14-15 put of a long value.  Checks: every call succeeds (the env
 * never fails), gets/scans/seeks see exactly the reference contents, a snapshot sees the value at
 * its creation. */
#include <stdio.h>
#include <string.h>

#include "fuzz_common.h"

#define NKEYS 64
#define MAX_VAL 300

typedef struct ref {
    int present[NKEYS];
    size_t len[NKEYS];
    char val[NKEYS][MAX_VAL];
} ref;

typedef struct fz_db {
    strata_env *env;
    strata_options *opt;
    strata_db *db;
    ref r;
} fz_db;

static void key_of(int i, char out[6])
{
    snprintf(out, 6, "key%02x", i);
}

static void ref_put(ref *r, int k, const uint8_t *v, size_t n)
{
    r->present[k] = 1;
    r->len[k] = n;
    memcpy(r->val[k], v, n);
}

static void check_get(fz_db *d, int k, const strata_read_options *ro, const ref *r)
{
    char key[6];
    key_of(k, key);
    void *v = NULL;
    size_t n = 0;
    int rc = strata_get(d->db, ro, key, 5, &v, &n);
    if (!r->present[k]) {
        FZ_CHECK(rc == STRATA_E_NOTFOUND);
        return;
    }
    FZ_CHECK(rc == 0);
    FZ_CHECK(n == r->len[k] && (n == 0 || memcmp(v, r->val[k], n) == 0));
    strata_free(v);
}

/* The reference key at iterator position, or -1; checks the value. */
static int iter_key(strata_iter *it, const ref *r)
{
    if (!strata_iter_valid(it)) {
        FZ_CHECK(strata_iter_status(it) == 0);
        return -1;
    }
    size_t kl, vl;
    const char *k = strata_iter_key(it, &kl);
    const char *v = strata_iter_value(it, &vl);
    FZ_CHECK(kl == 5 && memcmp(k, "key", 3) == 0);
    unsigned idx = 0;
    FZ_CHECK(sscanf(k + 3, "%2x", &idx) == 1 && idx < NKEYS);
    FZ_CHECK(r->present[idx] && vl == r->len[idx] && (vl == 0 || memcmp(v, r->val[idx], vl) == 0));
    return (int)idx;
}

static int next_present(const ref *r, int from, int step)
{
    for (int i = from; i >= 0 && i < NKEYS; i += step) {
        if (r->present[i]) {
            return i;
        }
    }
    return -1;
}

static void scan(fz_db *d, int backward)
{
    strata_iter *it = NULL;
    FZ_CHECK(strata_iter_create(d->db, NULL, &it) == 0);
    int step = backward ? -1 : 1;
    int want = next_present(&d->r, backward ? NKEYS - 1 : 0, step);
    backward ? strata_iter_seek_to_last(it) : strata_iter_seek_to_first(it);
    for (;;) {
        int got = iter_key(it, &d->r);
        FZ_CHECK(got == want);
        if (got < 0) {
            break;
        }
        want = next_present(&d->r, got + step, step);
        backward ? strata_iter_prev(it) : strata_iter_next(it);
    }
    strata_iter_destroy(it);
}

static void seek(fz_db *d, int k, int for_prev)
{
    char key[6];
    key_of(k, key);
    strata_iter *it = NULL;
    FZ_CHECK(strata_iter_create(d->db, NULL, &it) == 0);
    for_prev ? strata_iter_seek_for_prev(it, key, 5) : strata_iter_seek(it, key, 5);
    FZ_CHECK(iter_key(it, &d->r) == next_present(&d->r, k, for_prev ? -1 : 1));
    strata_iter_destroy(it);
}

static void reopen(fz_db *d)
{
    FZ_CHECK(strata_close(d->db) == 0);
    d->db = NULL;
    FZ_CHECK(strata_open(d->opt, "/db", &d->db) == 0);
}

static void batch(fz_db *d, fz_cursor *c)
{
    strata_batch *b = strata_batch_create();
    FZ_CHECK(b != NULL);
    ref after = d->r;
    int n = fz_u8(c) % 8 + 1;
    for (int i = 0; i < n; i++) {
        int k = fz_u8(c) % NKEYS;
        char key[6];
        key_of(k, key);
        if (fz_u8(c) & 1) {
            const uint8_t *v;
            size_t vl = fz_bytes(c, 24, &v);
            FZ_CHECK(strata_batch_put(b, key, 5, v, vl) == 0);
            ref_put(&after, k, v, vl);
        } else {
            FZ_CHECK(strata_batch_delete(b, key, 5) == 0);
            after.present[k] = 0;
        }
    }
    FZ_CHECK(strata_write(d->db, NULL, b) == 0);
    d->r = after;
    strata_batch_destroy(b);
}

static void snapshot_read(fz_db *d, fz_cursor *c)
{
    int k = fz_u8(c) % NKEYS;
    const strata_snapshot *s = strata_snapshot_create(d->db);
    FZ_CHECK(s != NULL);
    ref at = d->r;
    char key[6];
    key_of(k, key);
    FZ_CHECK(strata_put(d->db, NULL, key, 5, "later", 5) == 0);
    ref_put(&d->r, k, (const uint8_t *)"later", 5);
    strata_read_options *ro = strata_read_options_create();
    FZ_CHECK(ro != NULL);
    strata_read_options_set_snapshot(ro, s);
    check_get(d, k, ro, &at);
    strata_read_options_destroy(ro);
    strata_snapshot_release(d->db, s);
}

static void put(fz_db *d, fz_cursor *c, int long_value)
{
    int k = fz_u8(c) % NKEYS;
    char key[6];
    key_of(k, key);
    uint8_t buf[MAX_VAL];
    const uint8_t *v;
    size_t vl = fz_bytes(c, 32, &v);
    if (long_value) {
        for (size_t i = 0; i < MAX_VAL; i++) {
            buf[i] = vl ? v[i % vl] : (uint8_t)i;
        }
        v = buf;
        vl = MAX_VAL;
    }
    FZ_CHECK(strata_put(d->db, NULL, key, 5, v, vl) == 0);
    ref_put(&d->r, k, v, vl);
}

static void one_op(fz_db *d, fz_cursor *c)
{
    int op = fz_u8(c) & 15;
    char key[6];
    switch (op) {
    case 0: case 1: case 2: put(d, c, 0); break;
    case 3: {
        int k = fz_u8(c) % NKEYS;
        key_of(k, key);
        FZ_CHECK(strata_delete(d->db, NULL, key, 5) == 0);
        d->r.present[k] = 0;
        break;
    }
    case 4: check_get(d, fz_u8(c) % NKEYS, NULL, &d->r); break;
    case 5: scan(d, 0); break;
    case 6: scan(d, 1); break;
    case 7: seek(d, fz_u8(c) % NKEYS, 0); break;
    case 8: batch(d, c); break;
    case 9: FZ_CHECK(strata_flush(d->db, 1) == 0); break;
    case 10: reopen(d); break;
    case 11: FZ_CHECK(strata_compact_range(d->db, NULL, 0, NULL, 0) == 0); break;
    case 12: seek(d, fz_u8(c) % NKEYS, 1); break;
    case 13: snapshot_read(d, c); break;
    default: put(d, c, 1); break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz_db d;
    memset(&d.r, 0, sizeof(d.r));
    d.env = strata_env_create_mem();
    d.opt = strata_options_create();
    FZ_CHECK(d.env && d.opt);
    FZ_CHECK(strata_options_from_string(d.opt, "create_if_missing=true;info_log=false;"
                                               "block_size=256;block_restart_interval=2;"
                                               "write_buffer_size=64K;compression=none") == 0);
    strata_options_set_env(d.opt, d.env);
    FZ_CHECK(strata_open(d.opt, "/db", &d.db) == 0);
    fz_cursor c = {data, size};
    for (int i = 0; i < 256 && c.n > 0; i++) {
        one_op(&d, &c);
    }
    scan(&d, 0);
    FZ_CHECK(strata_close(d.db) == 0);
    strata_options_destroy(d.opt);
    strata_env_destroy(d.env);
    return 0;
}
