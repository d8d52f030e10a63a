/* engine_util.c — whole-engine test helpers (see engine_util.h).  Uses only the public API and
 * the reference model; failures go through cmocka (print_error + fail). */
#include "engine_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

void eu_rng_seed(eu_rng *r, uint64_t seed)
{
    r->s = seed ^ 0x5851f42d4c957f2dULL;
}

uint64_t eu_rand(eu_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t eu_uniform(eu_rng *r, uint64_t n)
{
    return n ? eu_rand(r) % n : 0;
}

int eu_one_in(eu_rng *r, uint64_t n)
{
    return eu_uniform(r, n) == 0;
}

void eu_fill(eu_rng *r, char *buf, size_t n)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 0) {
            x = eu_rand(r);
        }
        buf[i] = alphabet[(x & 0xff) % (sizeof(alphabet) - 1)];
        x >>= 8;
    }
}

void eu_print_bytes(const char *label, const void *p, size_t n)
{
    const unsigned char *b = p;
    print_error("  %s (%zu bytes): \"", label, n);
    for (size_t i = 0; i < n && i < 120; i++) {
        if (b[i] >= 32 && b[i] < 127 && b[i] != '"' && b[i] != '\\') {
            print_error("%c", b[i]);
        } else {
            print_error("\\x%02x", b[i]);
        }
    }
    print_error("%s\"\n", n > 120 ? "..." : "");
}

int eu_db_to_map(strata_db *db, const strata_read_options *ro, mr_map **out)
{
    return eu_cf_to_map(db, ro, strata_cf_default(db), out);
}

int eu_cf_to_map(strata_db *db, const strata_read_options *ro, strata_cf *cf, mr_map **out)
{
    strata_iter *it = NULL;
    int rc = strata_iter_create_cf(db, ro, cf, &it);
    if (rc != 0) {
        return rc;
    }
    mr_map *m = mr_create();
    for (strata_iter_seek_to_first(it); strata_iter_valid(it); strata_iter_next(it)) {
        size_t klen, vlen;
        const char *k = strata_iter_key(it, &klen);
        const char *v = strata_iter_value(it, &vlen);
        mr_put(m, k, klen, v, vlen);
    }
    rc = strata_iter_status(it);
    strata_iter_destroy(it);
    if (rc != 0) {
        mr_destroy(m);
        return rc;
    }
    *out = m;
    return 0;
}

static void report_pair(const char *what, const char *msg, const void *k, size_t klen,
                        const void *got, size_t glen, const void *want, size_t wlen)
{
    print_error("%s: %s\n", what, msg);
    eu_print_bytes("key", k, klen);
    if (got) {
        eu_print_bytes("db value", got, glen);
    }
    if (want) {
        eu_print_bytes("model value", want, wlen);
    }
}

static void check_entry(const char *what, const char *dir, strata_iter *it, const mr_map *m,
                        size_t i)
{
    const char *mk, *mv;
    size_t mklen, mvlen, klen, vlen;
    mr_entry(m, i, &mk, &mklen, &mv, &mvlen);
    if (!strata_iter_valid(it)) {
        int rc = strata_iter_status(it);
        print_error("%s: %s scan ended early at entry %zu of %zu (status %d %s: %s)\n", what, dir,
                    i, mr_count(m), rc, strata_strerror(rc), strata_errmsg());
        eu_print_bytes("expected key", mk, mklen);
        fail();
    }
    const char *k = strata_iter_key(it, &klen);
    const char *v = strata_iter_value(it, &vlen);
    if (mr_compare(k, klen, mk, mklen) != 0) {
        print_error("%s: %s scan: key mismatch at entry %zu\n", what, dir, i);
        eu_print_bytes("db key", k, klen);
        eu_print_bytes("model key", mk, mklen);
        fail();
    }
    if (mr_compare(v, vlen, mv, mvlen) != 0) {
        print_error("%s: %s scan: value mismatch at entry %zu\n", what, dir, i);
        report_pair(what, "value mismatch", k, klen, v, vlen, mv, mvlen);
        fail();
    }
}

static void check_scan_end(const char *what, const char *dir, strata_iter *it)
{
    if (strata_iter_valid(it)) {
        size_t klen;
        const char *k = strata_iter_key(it, &klen);
        print_error("%s: %s scan has an extra key\n", what, dir);
        eu_print_bytes("extra key", k, klen);
        fail();
    }
    int rc = strata_iter_status(it);
    if (rc != 0) {
        print_error("%s: %s scan status %d (%s): %s\n", what, dir, rc, strata_strerror(rc),
                    strata_errmsg());
        fail();
    }
}

void eu_check_get(strata_db *db, const strata_read_options *ro, const mr_map *m, const void *key,
                  size_t klen, const char *what)
{
    void *v = NULL;
    size_t vlen = 0;
    const char *mv;
    size_t mvlen;
    int have = mr_get(m, key, klen, &mv, &mvlen);
    int rc = strata_get(db, ro, key, klen, &v, &vlen);
    if (have && rc != 0) {
        print_error("%s: get returned %d (%s): %s\n", what, rc, strata_strerror(rc),
                    strata_errmsg());
        report_pair(what, "get failed for a present key", key, klen, NULL, 0, mv, mvlen);
        fail();
    }
    if (!have && rc != STRATA_E_NOTFOUND) {
        if (rc == 0) {
            report_pair(what, "get found a key the model lacks", key, klen, v, vlen, NULL, 0);
            strata_free(v);
        } else {
            print_error("%s: get of an absent key returned %d (%s): %s\n", what, rc,
                        strata_strerror(rc), strata_errmsg());
            eu_print_bytes("key", key, klen);
        }
        fail();
    }
    if (have && mr_compare(v, vlen, mv, mvlen) != 0) {
        report_pair(what, "get value mismatch", key, klen, v, vlen, mv, mvlen);
        strata_free(v);
        fail();
    }
    strata_free(v);
}

void eu_check_db_equals(strata_db *db, const strata_read_options *ro, const mr_map *m,
                        const char *what)
{
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(db, ro, &it));
    size_t n = mr_count(m);
    strata_iter_seek_to_first(it);
    for (size_t i = 0; i < n; i++, strata_iter_next(it)) {
        check_entry(what, "forward", it, m, i);
    }
    check_scan_end(what, "forward", it);
    strata_iter_seek_to_last(it);
    for (size_t i = n; i-- > 0; strata_iter_prev(it)) {
        check_entry(what, "backward", it, m, i);
    }
    check_scan_end(what, "backward", it);
    strata_iter_destroy(it);
    for (size_t i = 0; i < n; i++) {
        const char *k;
        size_t klen;
        mr_entry(m, i, &k, &klen, NULL, NULL);
        eu_check_get(db, ro, m, k, klen, what);
    }
}

/* Model position of the iterator: an index into m, or SIZE_MAX when invalid. */
struct walk {
    strata_iter *it;
    const mr_map *m;
    size_t begin; /* first index inside the bounds */
    size_t end;   /* one past the last index inside the bounds */
    size_t pos;
    const char *what;
};

static void walk_check(const struct walk *w, const char *move, const char *arg, size_t alen)
{
    int valid = strata_iter_valid(w->it);
    int want = w->pos != SIZE_MAX;
    if (valid != want) {
        int rc = strata_iter_status(w->it);
        print_error("%s: after %s the iterator is %s, the model says %s (status %d %s: %s)\n",
                    w->what, move, valid ? "valid" : "invalid", want ? "valid" : "invalid", rc,
                    strata_strerror(rc), strata_errmsg());
        if (arg) {
            eu_print_bytes("move argument", arg, alen);
        }
        if (valid) {
            size_t klen;
            const char *k = strata_iter_key(w->it, &klen);
            eu_print_bytes("iterator key", k, klen);
        }
        if (want) {
            const char *mk;
            size_t mklen;
            mr_entry(w->m, w->pos, &mk, &mklen, NULL, NULL);
            eu_print_bytes("model key", mk, mklen);
        }
        fail();
    }
    if (!valid) {
        return;
    }
    const char *mk, *mv;
    size_t mklen, mvlen, klen, vlen;
    mr_entry(w->m, w->pos, &mk, &mklen, &mv, &mvlen);
    const char *k = strata_iter_key(w->it, &klen);
    const char *v = strata_iter_value(w->it, &vlen);
    if (mr_compare(k, klen, mk, mklen) != 0 || mr_compare(v, vlen, mv, mvlen) != 0) {
        print_error("%s: after %s the iterator is at the wrong entry\n", w->what, move);
        if (arg) {
            eu_print_bytes("move argument", arg, alen);
        }
        eu_print_bytes("iterator key", k, klen);
        eu_print_bytes("model key", mk, mklen);
        eu_print_bytes("iterator value", v, vlen);
        eu_print_bytes("model value", mv, mvlen);
        fail();
    }
}

static size_t clamp_pos(const struct walk *w, size_t i)
{
    return (i >= w->begin && i < w->end) ? i : SIZE_MAX;
}

static void walk_move(struct walk *w, eu_rng *r, eu_keygen gen)
{
    char key[EU_MAX_KEY];
    size_t klen = 0;
    int op = (int)eu_uniform(r, 10);
    if (w->pos != SIZE_MAX && op >= 4) {
        int n = 1 + (int)eu_uniform(r, 8);
        int fwd = op < 7;
        for (int i = 0; i < n && w->pos != SIZE_MAX; i++) {
            if (fwd) {
                strata_iter_next(w->it);
                w->pos = clamp_pos(w, w->pos + 1);
            } else {
                strata_iter_prev(w->it);
                w->pos = w->pos == 0 ? SIZE_MAX : clamp_pos(w, w->pos - 1);
            }
            walk_check(w, fwd ? "next" : "prev", NULL, 0);
        }
        return;
    }
    switch (op % 4) {
        case 0:
            strata_iter_seek_to_first(w->it);
            w->pos = clamp_pos(w, w->begin);
            walk_check(w, "seek_to_first", NULL, 0);
            break;
        case 1:
            strata_iter_seek_to_last(w->it);
            w->pos = w->end == 0 ? SIZE_MAX : clamp_pos(w, w->end - 1);
            walk_check(w, "seek_to_last", NULL, 0);
            break;
        case 2: {
            gen(r, key, &klen);
            strata_iter_seek(w->it, key, klen);
            size_t i = mr_lower_bound(w->m, key, klen);
            w->pos = clamp_pos(w, i < w->begin ? w->begin : i);
            walk_check(w, "seek", key, klen);
            break;
        }
        default: {
            gen(r, key, &klen);
            strata_iter_seek_for_prev(w->it, key, klen);
            size_t i = mr_upper_bound(w->m, key, klen);
            if (i > w->end) {
                i = w->end;
            }
            w->pos = i == 0 ? SIZE_MAX : clamp_pos(w, i - 1);
            walk_check(w, "seek_for_prev", key, klen);
            break;
        }
    }
}

void eu_check_iter_walk(strata_iter *it, const mr_map *m, const void *lower, size_t llen,
                        const void *upper, size_t ulen, eu_rng *r, int steps, eu_keygen gen,
                        const char *what)
{
    struct walk w = {it, m, 0, 0, SIZE_MAX, what};
    mr_bounds(m, lower, llen, upper, ulen, &w.begin, &w.end);
    for (int i = 0; i < steps; i++) {
        walk_move(&w, r, gen);
    }
    int rc = strata_iter_status(it);
    if (rc != 0) {
        print_error("%s: iterator status %d (%s): %s\n", what, rc, strata_strerror(rc),
                    strata_errmsg());
        fail();
    }
}

int eu_put(strata_db *db, const char *key, const char *val)
{
    return strata_put(db, NULL, key, strlen(key), val, strlen(val));
}

int eu_del(strata_db *db, const char *key)
{
    return strata_delete(db, NULL, key, strlen(key));
}

void eu_expect(strata_db *db, const strata_read_options *ro, const char *key, const char *val)
{
    void *v = NULL;
    size_t vlen = 0;
    int rc = strata_get(db, ro, key, strlen(key), &v, &vlen);
    if (!val) {
        if (rc != STRATA_E_NOTFOUND) {
            print_error("expected \"%s\" absent, get returned %d (%s)\n", key, rc,
                        strata_strerror(rc));
            if (rc == 0) {
                eu_print_bytes("value", v, vlen);
            }
            strata_free(v);
            fail();
        }
        return;
    }
    if (rc != 0) {
        print_error("get(\"%s\") returned %d (%s): %s\n", key, rc, strata_strerror(rc),
                    strata_errmsg());
        fail();
    }
    tu_assert_bytes_equal(v, vlen, val, strlen(val));
    strata_free(v);
}

size_t eu_write_buffer_size(void)
{
    const char *s = getenv("STRATA_TEST_WRITE_BUFFER");
    size_t v = (s && *s) ? (size_t)strtoull(s, NULL, 0) : 0;
    return v ? v : (size_t)64 << 10;
}

char *eu_level_summary(strata_db *db)
{
    char *out = malloc(256);
    size_t used = 0;
    if (!out) {
        return NULL;
    }
    out[0] = '\0';
    for (int level = 0; level < 7; level++) {
        char name[64];
        uint64_t v = 0;
        snprintf(name, sizeof(name), "strata.num-files-at-level%d", level);
        if (strata_property_int(db, name, &v) != 0) {
            break;
        }
        used += (size_t)snprintf(out + used, 256 - used, "%sL%d=%llu", level ? " " : "", level,
                                 (unsigned long long)v);
        if (used >= 200) {
            break;
        }
    }
    return out;
}
