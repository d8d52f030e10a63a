/* test_merge_iter.c — the merging iterator against a sorted reference: random children with
 * keys shared between children, full forward and backward scans, random walks mixing next, prev
 * (direction switches), seek, seek_to_first/last; a user comparator; 0 and 1 children; a child
 * failing mid-scan (error surfaces through status and ends iteration); out-of-memory at create
 * destroys the children. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/merge_iter.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/random.h"

static st_random rng;
static int destroyed; /* vector iterators destroyed so far */

/* ---- A vector-backed child iterator ---------------------------------------------------------- */

typedef struct entry {
    char key[16]; /* internal key */
    size_t klen;
    char val[16];
    size_t vlen;
    int child;
} entry;

typedef struct vec_iter {
    st_iter base;
    const st_comparator *ucmp;
    entry *e;
    int n;
    int pos;      /* n or -1: invalid */
    int fail_at;  /* moving onto this index fails with CORRUPTION (-1: never) */
    int err;
} vec_iter;

static void vset(vec_iter *v, int pos)
{
    v->pos = pos;
    if (pos >= 0 && pos < v->n && pos == v->fail_at) {
        v->err = STRATA_E_CORRUPTION;
    }
}

static int v_valid(const st_iter *it)
{
    const vec_iter *v = (const vec_iter *)it;
    return !v->err && v->pos >= 0 && v->pos < v->n;
}
static void v_first(st_iter *it) { vset((vec_iter *)it, 0); }
static void v_last(st_iter *it) { vset((vec_iter *)it, ((vec_iter *)it)->n - 1); }
static void v_next(st_iter *it) { vset((vec_iter *)it, ((vec_iter *)it)->pos + 1); }
static void v_prev(st_iter *it) { vset((vec_iter *)it, ((vec_iter *)it)->pos - 1); }

static void v_seek(st_iter *it, st_slice target)
{
    vec_iter *v = (vec_iter *)it;
    int i = 0;
    while (i < v->n &&
           st_ikey_cmp(v->ucmp, st_slice_make(v->e[i].key, v->e[i].klen), target) < 0) {
        i++;
    }
    vset(v, i);
}

static st_slice v_key(const st_iter *it)
{
    const vec_iter *v = (const vec_iter *)it;
    assert_true(v_valid(it));
    return st_slice_make(v->e[v->pos].key, v->e[v->pos].klen);
}

static st_slice v_value(const st_iter *it)
{
    const vec_iter *v = (const vec_iter *)it;
    return st_slice_make(v->e[v->pos].val, v->e[v->pos].vlen);
}

static int v_status(const st_iter *it) { return ((const vec_iter *)it)->err; }

static void v_destroy(st_iter *it)
{
    vec_iter *v = (vec_iter *)it;
    free(v->e);
    free(v);
    destroyed++;
}

static const struct st_iter_ops vec_ops = {v_valid, v_first, v_last, v_seek,   v_next,
                                           v_prev,  v_key,   v_value, v_status, v_destroy};

/* ---- Comparators ------------------------------------------------------------------------------ */

static int rev_compare(void *state, const char *a, size_t alen, const char *b, size_t blen)
{
    (void)state;
    return -st_slice_cmp(st_slice_make(a, alen), st_slice_make(b, blen));
}
static const char *rev_name(void *state)
{
    (void)state;
    return "test.reverse";
}
static const st_comparator reverse_cmp = {rev_compare, rev_name, NULL, NULL, 0};

static const st_comparator *g_ucmp;

static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = st_ikey_cmp(g_ucmp, st_slice_make(x->key, x->klen), st_slice_make(y->key, y->klen));
    return c ? c : (x->child > y->child) - (x->child < y->child);
}

/* ---- Fixture: random children and the merged reference -------------------------------------- */

typedef struct fixture {
    int n;
    st_iter *children[16];
    entry *ref;
    int nref;
} fixture;

static void make_key(entry *e, uint64_t user, uint64_t seq)
{
    char u[8];
    snprintf(u, sizeof(u), "k%03u", (unsigned)user);
    memcpy(e->key, u, 4);
    st_encode_fixed64(e->key + 4, st_pack_trailer(seq, ST_TYPE_VALUE));
    e->klen = 12;
}

/* Child c gets entries over a small key space; (user, seq) is unique within a child but the same
 * internal key often appears in several children. */
static void build(fixture *fx, const st_comparator *ucmp, int n, int per_child)
{
    g_ucmp = ucmp;
    memset(fx, 0, sizeof(*fx));
    fx->n = n;
    fx->ref = calloc((size_t)(n * per_child + 1), sizeof(entry));
    for (int c = 0; c < n; c++) {
        vec_iter *v = calloc(1, sizeof(*v));
        int cnt = (int)st_random_uniform(&rng, (uint64_t)per_child + 1);
        v->e = calloc((size_t)cnt + 1, sizeof(entry));
        for (int i = 0; i < cnt; i++) {
            entry *e = &v->e[v->n];
            make_key(e, st_random_uniform(&rng, 40), st_random_uniform(&rng, 4));
            int dup = 0;
            for (int j = 0; j < v->n && !dup; j++) {
                dup = v->e[j].klen == e->klen && memcmp(v->e[j].key, e->key, e->klen) == 0;
            }
            if (dup) {
                continue;
            }
            e->vlen = (size_t)snprintf(e->val, sizeof(e->val), "c%d.%d", c, i);
            e->child = c;
            fx->ref[fx->nref++] = *e;
            v->n++;
        }
        qsort(v->e, (size_t)v->n, sizeof(entry), cmp_entry);
        st_iter_init(&v->base, &vec_ops);
        v->ucmp = ucmp;
        v->pos = -1;
        v->fail_at = -1;
        fx->children[c] = &v->base;
    }
    qsort(fx->ref, (size_t)fx->nref, sizeof(entry), cmp_entry);
}

static void check_at(const fixture *fx, st_iter *m, int pos)
{
    if (pos < 0 || pos >= fx->nref) {
        assert_false(st_iter_valid(m));
        tu_assert_ok(st_iter_status(m));
        return;
    }
    assert_true(st_iter_valid(m));
    st_slice k = st_iter_key(m), v = st_iter_value(m);
    tu_assert_bytes_equal(k.data, k.size, fx->ref[pos].key, fx->ref[pos].klen);
    tu_assert_bytes_equal(v.data, v.size, fx->ref[pos].val, fx->ref[pos].vlen);
}

/* Reference position of seek(target): the first entry >= target. */
static int ref_seek(const fixture *fx, st_slice target)
{
    int i = 0;
    while (i < fx->nref &&
           st_ikey_cmp(g_ucmp, st_slice_make(fx->ref[i].key, fx->ref[i].klen), target) < 0) {
        i++;
    }
    return i;
}

static void random_walk(fixture *fx, st_iter *m, int steps)
{
    int pos = -1;
    for (int s = 0; s < steps; s++) {
        int op = (int)st_random_uniform(&rng, 10);
        int valid = pos >= 0 && pos < fx->nref;
        if (op < 3 && valid) {
            st_iter_next(m);
            pos++;
        } else if (op < 6 && valid) {
            st_iter_prev(m);
            pos--;
        } else if (op < 8) {
            entry t;
            make_key(&t, st_random_uniform(&rng, 42), st_random_uniform(&rng, 5));
            st_slice target = st_slice_make(t.key, t.klen);
            st_iter_seek(m, target);
            pos = ref_seek(fx, target);
        } else if (op == 8) {
            st_iter_seek_to_first(m);
            pos = 0;
        } else {
            st_iter_seek_to_last(m);
            pos = fx->nref - 1;
        }
        if (pos >= fx->nref || pos < 0) {
            pos = -1;
        }
        check_at(fx, m, pos);
    }
}

static void run_random(const st_comparator *ucmp, int rounds)
{
    for (int r = 0; r < rounds; r++) {
        fixture fx;
        int n = (int)st_random_uniform(&rng, 8);
        build(&fx, ucmp, n, 30);
        st_iter *m = st_merge_iter_create(ucmp, fx.children, n);
        assert_non_null(m);
        st_iter_seek_to_first(m);
        for (int i = 0; i < fx.nref; i++, st_iter_next(m)) {
            check_at(&fx, m, i);
        }
        check_at(&fx, m, -1);
        st_iter_seek_to_last(m);
        for (int i = fx.nref - 1; i >= 0; i--, st_iter_prev(m)) {
            check_at(&fx, m, i);
        }
        check_at(&fx, m, -1);
        random_walk(&fx, m, 400);
        st_iter_destroy(m);
        free(fx.ref);
    }
}

static void test_random_bytewise(void **state)
{
    (void)state;
    run_random(st_comparator_bytewise(), 150);
}

static void test_random_user_comparator(void **state)
{
    (void)state;
    run_random(&reverse_cmp, 80);
}

/* Direction switches right at runs of equal keys in many children. */
static void test_equal_keys_direction_switch(void **state)
{
    (void)state;
    fixture fx;
    g_ucmp = st_comparator_bytewise();
    memset(&fx, 0, sizeof(fx));
    fx.n = 4;
    fx.ref = calloc(64, sizeof(entry));
    for (int c = 0; c < fx.n; c++) {
        vec_iter *v = calloc(1, sizeof(*v));
        v->e = calloc(3, sizeof(entry));
        for (int i = 0; i < 3; i++) { /* every child holds the same three keys */
            make_key(&v->e[i], (uint64_t)i, 1);
            v->e[i].vlen = (size_t)snprintf(v->e[i].val, sizeof(v->e[i].val), "c%d", c);
            v->e[i].child = c;
            fx.ref[fx.nref++] = v->e[i];
        }
        v->n = 3;
        st_iter_init(&v->base, &vec_ops);
        v->ucmp = g_ucmp;
        v->pos = -1;
        v->fail_at = -1;
        fx.children[c] = &v->base;
    }
    qsort(fx.ref, (size_t)fx.nref, sizeof(entry), cmp_entry);
    st_iter *m = st_merge_iter_create(g_ucmp, fx.children, fx.n);
    /* Zig-zag: next, prev, next, ... from every starting position. */
    for (int start = 0; start < fx.nref; start++) {
        st_iter_seek_to_first(m);
        for (int i = 0; i < start; i++) {
            st_iter_next(m);
        }
        check_at(&fx, m, start);
        int pos = start;
        for (int s = 0; s < 6; s++) {
            if (s % 2 == 0 && pos + 1 < fx.nref) {
                st_iter_next(m);
                pos++;
            } else if (pos > 0) {
                st_iter_prev(m);
                pos--;
            }
            check_at(&fx, m, pos);
        }
    }
    st_iter_destroy(m);
    free(fx.ref);
}

static void test_zero_and_one_child(void **state)
{
    (void)state;
    st_iter *m = st_merge_iter_create(st_comparator_bytewise(), NULL, 0);
    assert_non_null(m);
    st_iter_seek_to_first(m);
    assert_false(st_iter_valid(m));
    st_iter_seek_to_last(m);
    assert_false(st_iter_valid(m));
    st_iter_seek(m, st_slice_make("abcdefghij", 10));
    assert_false(st_iter_valid(m));
    tu_assert_ok(st_iter_status(m));
    st_iter_destroy(m);

    fixture fx;
    build(&fx, st_comparator_bytewise(), 1, 20);
    m = st_merge_iter_create(st_comparator_bytewise(), fx.children, 1);
    st_iter_seek_to_first(m);
    for (int i = 0; i < fx.nref; i++, st_iter_next(m)) {
        check_at(&fx, m, i);
    }
    check_at(&fx, m, -1);
    st_iter_destroy(m);
    free(fx.ref);
}

static void test_child_error(void **state)
{
    (void)state;
    for (int dir = 0; dir < 2; dir++) {
        fixture fx;
        do {
            build(&fx, st_comparator_bytewise(), 3, 20);
            if (((vec_iter *)fx.children[1])->n >= 4) {
                break;
            }
            for (int c = 0; c < fx.n; c++) {
                st_iter_destroy(fx.children[c]);
            }
            free(fx.ref);
        } while (1);
        vec_iter *bad = (vec_iter *)fx.children[1];
        bad->fail_at = dir == 0 ? bad->n - 2 : 1;
        st_iter *m = st_merge_iter_create(st_comparator_bytewise(), fx.children, fx.n);
        int steps = 0;
        if (dir == 0) {
            for (st_iter_seek_to_first(m); st_iter_valid(m); st_iter_next(m)) {
                steps++;
            }
        } else {
            for (st_iter_seek_to_last(m); st_iter_valid(m); st_iter_prev(m)) {
                steps++;
            }
        }
        assert_true(steps < fx.nref); /* iteration stopped early ... */
        assert_int_equal(st_iter_status(m), STRATA_E_CORRUPTION); /* ... and says why */
        st_iter_destroy(m);
        free(fx.ref);
    }
}

static void test_oom_destroys_children(void **state)
{
    (void)state;
    fixture fx;
    build(&fx, st_comparator_bytewise(), 5, 3);
    int before = destroyed;
    st_alloc_fail_after(0, 1);
    st_iter *m = st_merge_iter_create(st_comparator_bytewise(), fx.children, 5);
    st_alloc_fail_after(-1, 0);
    assert_null(m);
    assert_int_equal(destroyed - before, 5);
    free(fx.ref);
}

int main(void)
{
    st_random_seed(&rng, tu_seed(0x3e12e));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_bytewise),
        cmocka_unit_test(test_random_user_comparator),
        cmocka_unit_test(test_equal_keys_direction_switch),
        cmocka_unit_test(test_zero_and_one_child),
        cmocka_unit_test(test_child_error),
        cmocka_unit_test(test_oom_destroys_children),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
