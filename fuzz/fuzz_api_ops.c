/* fuzz_api_ops.c — libFuzzer target driving the public API (strata.h) with a sequence of
 * operations decoded from the input, on a DB in a private in-memory env, checked against a tiny
 * reference map (64 keys "key00".."key3f", so keys collide often).
 *
 * Operation byte (low 5 bits): 0-2 put, 3 delete, 4 get, 5 forward scan, 6 backward scan,
 * 7 seek, 8 batch of up to 8 ops, 9 flush, 10 reopen, 11 compact all, 12 seek_for_prev,
 * 13 snapshot read of one key, 14-15 put of a long value, 16 range delete, 17 merge (uint64add),
 * 18 single delete, 19 put with a TTL, 20 advance the env's fake clock, 21 multi-get,
 * 22 prefix delete, 23 batch that also holds range deletes, merges, single deletes and TTL puts,
 * 24-31 as 16-23.  Checks: every call succeeds (the env never fails), gets/scans/seeks/multi-gets
 * see exactly the reference contents, a snapshot sees the value at its creation.
 *
 * The reference keeps per key an expiry time (unix micros, 0 = never; a key reads as absent from
 * then on), the number of writes since its last delete and whether one was a merge: a merge is
 * only issued where its result is defined (absent or expired key: from 0; a non-expiring 8-byte
 * value: added), a single delete only on a key put exactly once since its last delete.  The clock
 * moves by whole seconds plus one microsecond, so no read lands exactly on an expiry time. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_common.h"

#define NKEYS 64
#define MAX_VAL 300

#define SEC UINT64_C(1000000)

typedef struct ref {
    int present[NKEYS];
    size_t len[NKEYS];
    uint64_t expire[NKEYS];
    int writes[NKEYS]; /* writes since the last delete; a merge counts as 2 (no single delete) */
    char val[NKEYS][MAX_VAL];
} ref;

typedef struct fz_db {
    strata_env *env;
    strata_options *opt;
    strata_merge_operator *mo;
    strata_db *db;
    ref r;
} fz_db;

static _Atomic uint64_t fz_now;

static uint64_t fz_clock(void *state)
{
    (void)state;
    return atomic_load_explicit(&fz_now, memory_order_relaxed);
}

static uint64_t now(void)
{
    return fz_clock(NULL);
}

/* 1 when key k reads as present. */
static int live(const ref *r, int k)
{
    return r->present[k] && (r->expire[k] == 0 || now() < r->expire[k]);
}

static void ref_del(ref *r, int k)
{
    r->present[k] = 0;
    r->writes[k] = 0;
}

static void le64_put(uint8_t out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint64_t le64_get(const char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | (uint8_t)p[i];
    }
    return v;
}

static void key_of(int i, char out[6])
{
    snprintf(out, 6, "key%02x", i);
}

static void ref_put_ttl(ref *r, int k, const uint8_t *v, size_t n, uint64_t ttl)
{
    r->writes[k] = r->present[k] ? r->writes[k] + 1 : 1;
    r->present[k] = 1;
    r->len[k] = n;
    r->expire[k] = ttl ? now() + ttl * SEC : 0;
    memcpy(r->val[k], v, n);
}

static void ref_put(ref *r, int k, const uint8_t *v, size_t n)
{
    ref_put_ttl(r, k, v, n, 0);
}

static int note_ttl(void *ctx, int op, const char *key, size_t klen, const char *value, size_t vlen,
                    uint64_t expire)
{
    (void)key;
    (void)klen;
    (void)value;
    (void)vlen;
    if (op == STRATA_OP_PUT_TTL) {
        *(uint64_t *)ctx = expire;
    }
    return 0;
}

/* 1 when a merge into k has a result that does not depend on when compaction runs. */
static int merge_ok(const ref *r, int k)
{
    return !live(r, k) || (r->len[k] == 8 && r->expire[k] == 0);
}

static void ref_merge(ref *r, int k, uint64_t x)
{
    uint64_t base = live(r, k) ? le64_get(r->val[k]) : 0;
    int writes = r->present[k] ? r->writes[k] : 0;
    uint8_t v[8];
    le64_put(v, base + x);
    ref_put(r, k, v, 8);
    r->writes[k] = writes + 2;
}

static int sdel_ok(const ref *r, int k)
{
    return r->present[k] && r->writes[k] == 1;
}

static void check_get(fz_db *d, int k, const strata_read_options *ro, const ref *r)
{
    char key[6];
    key_of(k, key);
    void *v = NULL;
    size_t n = 0;
    int rc = strata_get(d->db, ro, key, 5, &v, &n);
    if (!live(r, k)) {
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
    char hex[3] = {k[3], k[4], '\0'}; /* iterator keys are not NUL-terminated */
    FZ_CHECK(sscanf(hex, "%2x", &idx) == 1 && idx < NKEYS);
    FZ_CHECK(live(r, (int)idx) && vl == r->len[idx] &&
             (vl == 0 || memcmp(v, r->val[idx], vl) == 0));
    return (int)idx;
}

static int next_present(const ref *r, int from, int step)
{
    for (int i = from; i >= 0 && i < NKEYS; i += step) {
        if (live(r, i)) {
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

/* Range delete [a, b) of key indexes (b <= a: nothing). */
static void range_delete(fz_db *d, ref *r, strata_batch *b, int a, int e)
{
    char ka[6], ke[6];
    if (e < 0) {
        e = 0; /* an inverted range: deletes nothing */
    }
    key_of(a, ka);
    key_of(e, ke);
    size_t el = e >= NKEYS ? 4 : 5; /* "key4" is past "key3f": the range runs to the end */
    if (b) {
        FZ_CHECK(strata_batch_delete_range(b, ka, 5, ke, el) == 0);
    } else {
        FZ_CHECK(strata_delete_range(d->db, NULL, ka, 5, ke, el) == 0);
    }
    for (int i = a; i < e && i < NKEYS; i++) {
        ref_del(r, i);
    }
}

/* Adds one of the new operations on key k to b (and after), or does nothing when its rule
 * forbids it. */
static void batch_new_op(strata_batch *b, ref *after, fz_cursor *c, int k, int kind)
{
    char key[6];
    key_of(k, key);
    uint8_t op[8];
    switch (kind) {
        case 0:
            range_delete(NULL, after, b, k, k + fz_u8(c) % 16);
            break;
        case 1:
            if (merge_ok(after, k)) {
                uint64_t x = fz_u8(c);
                le64_put(op, x);
                FZ_CHECK(strata_batch_merge(b, key, 5, op, 8) == 0);
                ref_merge(after, k, x);
            }
            break;
        case 2:
            if (sdel_ok(after, k)) {
                FZ_CHECK(strata_batch_single_delete(b, key, 5) == 0);
                ref_del(after, k);
            }
            break;
        default: {
            const uint8_t *v;
            size_t vl = fz_bytes(c, 24, &v);
            uint64_t ttl = fz_u8(c) % 8;
            FZ_CHECK(strata_batch_put_ttl(b, key, 5, v, vl, ttl) == 0);
            ref_put_ttl(after, k, v, vl, ttl);
            /* The value expires by the env's clock, as for strata_put_ttl; what the batch reports
             * (it has no env) is not checked here. */
            uint64_t e = 0;
            FZ_CHECK(strata_batch_iterate_ops(b, &e, note_ttl) == 0);
            break;
        }
    }
}

static void batch(fz_db *d, fz_cursor *c, int with_new_ops)
{
    strata_batch *b = strata_batch_create();
    FZ_CHECK(b != NULL);
    ref after = d->r;
    int n = fz_u8(c) % 8 + 1;
    for (int i = 0; i < n; i++) {
        int k = fz_u8(c) % NKEYS;
        char key[6];
        key_of(k, key);
        uint8_t sel = fz_u8(c);
        if (with_new_ops && (sel & 6) != 0) {
            batch_new_op(b, &after, c, k, (sel >> 1) & 3);
        } else if (sel & 1) {
            const uint8_t *v;
            size_t vl = fz_bytes(c, 24, &v);
            FZ_CHECK(strata_batch_put(b, key, 5, v, vl) == 0);
            ref_put(&after, k, v, vl);
        } else {
            FZ_CHECK(strata_batch_delete(b, key, 5) == 0);
            ref_del(&after, k);
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

static void merge(fz_db *d, fz_cursor *c)
{
    int k = fz_u8(c) % NKEYS;
    if (!merge_ok(&d->r, k)) {
        return;
    }
    char key[6];
    key_of(k, key);
    uint64_t x = fz_u8(c) % 4 == 0 ? UINT64_MAX - fz_u8(c) : fz_u8(c);
    uint8_t op[8];
    le64_put(op, x);
    FZ_CHECK(strata_merge(d->db, NULL, key, 5, op, 8) == 0);
    ref_merge(&d->r, k, x);
}

static void single_delete(fz_db *d, fz_cursor *c)
{
    int k = fz_u8(c) % NKEYS;
    char key[6];
    key_of(k, key);
    if (!sdel_ok(&d->r, k)) {
        return;
    }
    FZ_CHECK(strata_single_delete(d->db, NULL, key, 5) == 0);
    ref_del(&d->r, k);
}

static void put_ttl(fz_db *d, fz_cursor *c)
{
    int k = fz_u8(c) % NKEYS;
    char key[6];
    key_of(k, key);
    const uint8_t *v;
    size_t vl = fz_bytes(c, 32, &v);
    uint64_t ttl = fz_u8(c) % 8;
    FZ_CHECK(strata_put_ttl(d->db, NULL, key, 5, v, vl, ttl) == 0);
    ref_put_ttl(&d->r, k, v, vl, ttl);
}

static void multi_get(fz_db *d, fz_cursor *c)
{
    char keys[8][6];
    const void *kp[8];
    size_t kl[8], vl[8];
    void *vals[8];
    int st[8], idx[8];
    int n = fz_u8(c) % 8 + 1;
    for (int i = 0; i < n; i++) {
        idx[i] = fz_u8(c) % NKEYS;
        key_of(idx[i], keys[i]);
        kp[i] = keys[i];
        kl[i] = 5;
    }
    FZ_CHECK(strata_multi_get(d->db, NULL, (size_t)n, kp, kl, vals, vl, st) == 0);
    for (int i = 0; i < n; i++) {
        int k = idx[i];
        if (!live(&d->r, k)) {
            FZ_CHECK(st[i] == STRATA_E_NOTFOUND && vals[i] == NULL);
            continue;
        }
        FZ_CHECK(st[i] == 0 && vl[i] == d->r.len[k] &&
                 (vl[i] == 0 || memcmp(vals[i], d->r.val[k], vl[i]) == 0));
        strata_free(vals[i]);
    }
}

/* "key" + one hex digit deletes 16 keys; 1 in 16 the prefix "key" deletes them all, or the empty
 * prefix, which has no end key, is refused with INVALID and deletes nothing. */
static void prefix_delete(fz_db *d, fz_cursor *c)
{
    uint8_t x = fz_u8(c);
    char p[6];
    key_of((x % 4) * 16, p);
    size_t pl = (x & 0xf0) == 0 ? (x & 1 ? 3 : 0) : 4;
    if (pl == 0) {
        FZ_CHECK(strata_delete_prefix(d->db, NULL, p, 0) == STRATA_E_INVALID);
        return;
    }
    FZ_CHECK(strata_delete_prefix(d->db, NULL, p, pl) == 0);
    int from = pl == 4 ? (x % 4) * 16 : 0;
    int to = pl == 4 ? from + 16 : NKEYS;
    for (int i = from; i < to; i++) {
        ref_del(&d->r, i);
    }
}

static void one_op(fz_db *d, fz_cursor *c)
{
    int op = fz_u8(c) & 31;
    char key[6];
    if (op >= 24) {
        op -= 8;
    }
    switch (op) {
        case 0:
        case 1:
        case 2:
            put(d, c, 0);
            break;
        case 3: {
            int k = fz_u8(c) % NKEYS;
            key_of(k, key);
            FZ_CHECK(strata_delete(d->db, NULL, key, 5) == 0);
            ref_del(&d->r, k);
            break;
        }
        case 4:
            check_get(d, fz_u8(c) % NKEYS, NULL, &d->r);
            break;
        case 5:
            scan(d, 0);
            break;
        case 6:
            scan(d, 1);
            break;
        case 7:
            seek(d, fz_u8(c) % NKEYS, 0);
            break;
        case 8:
            batch(d, c, 0);
            break;
        case 9:
            FZ_CHECK(strata_flush(d->db, 1) == 0);
            break;
        case 10:
            reopen(d);
            break;
        case 11:
            FZ_CHECK(strata_compact_range(d->db, NULL, 0, NULL, 0) == 0);
            break;
        case 12:
            seek(d, fz_u8(c) % NKEYS, 1);
            break;
        case 13:
            snapshot_read(d, c);
            break;
        case 14:
        case 15:
            put(d, c, 1);
            break;
        case 16: {
            int a = fz_u8(c) % NKEYS;
            range_delete(d, &d->r, NULL, a, a + fz_u8(c) % 24 - 4);
            break;
        }
        case 17:
            merge(d, c);
            break;
        case 18:
            single_delete(d, c);
            break;
        case 19:
            put_ttl(d, c);
            break;
        case 20:
            atomic_fetch_add(&fz_now, (uint64_t)(fz_u8(c) % 6) * SEC + 1);
            break;
        case 21:
            multi_get(d, c);
            break;
        case 22:
            prefix_delete(d, c);
            break;
        default:
            batch(d, c, 1);
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz_db d;
    memset(&d.r, 0, sizeof(d.r));
    atomic_store(&fz_now, UINT64_C(1700000000) * SEC);
    d.env = strata_env_create_mem();
    d.opt = strata_options_create();
    d.mo = strata_merge_operator_uint64_add();
    FZ_CHECK(d.env && d.opt && d.mo);
    FZ_CHECK(strata_env_set_clock(d.env, fz_clock, NULL) == 0);
    FZ_CHECK(strata_options_set_merge_operator(d.opt, d.mo) == 0);
    FZ_CHECK(strata_options_from_string(d.opt,
                                        "create_if_missing=true;info_log=false;"
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
    strata_merge_operator_destroy(d.mo);
    strata_env_destroy(d.env);
    return 0;
}
