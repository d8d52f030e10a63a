/* test_issue_5_merge_prev_race.c — regression for a merging-iterator bug found by strata-stress
 * (tests/stress/): under concurrent writes, strata_iter_seek_to_last on an iterator with an upper
 * bound sometimes returned a key at or above the bound ("backward iterator over [s00001984,
 * s00002048) returned key s00002049"); 14 failures in ~250 six-thread runs, none single-threaded.
 *
 * Cause (src/db/merge_iter.c): on a forward->backward switch, mi_prev repositions every
 * non-current child with position_before (seek to the current key k, then prev) and then moves
 * m->heap[0] back, assuming the current child is still the largest.  A child over the live
 * memtable can gain an entry between its seek and its prev (a concurrent insert, invisible to the
 * reader's sequence number), so prev lands on that new entry, which is above k; heap[0] is then
 * that child, the wrong child is moved back, and the current child stays where it was: prev()
 * does not move the merged iterator at all.  db_iter's seek_back(upper) is "seek to upper, then
 * prev", so it stays on the first key >= upper and returns it.
 *
 * Deterministic reproduction with a fake child standing in for the live memtable: child 0 ("mem")
 * holds a@3 and d@4 and gains c@10 right after its second seek (the one position_before makes);
 * child 1 holds b@5.  seek(b) puts the merger on b@5; prev() must then move it below b — the
 * merged stream has only a@3 there — but it stays on b@5. */
#include <stdlib.h>
#include <string.h>

#include "db/merge_iter.h"
#include "test_util.h"
#include "util/buf.h"
#include "util/ikey.h"
#include "util/iter.h"

#define MAXK 4

struct fake {
    st_iter base;
    st_buf keys[MAXK]; /* sorted internal keys */
    int n;
    int pos; /* -1: invalid */
    int seeks;
    int insert_after_seek; /* 0: never; else insert c@10 after this many seeks */
};

static st_slice ik(st_buf *b, const char *user, uint64_t seq)
{
    b->len = 0;
    assert_int_equal(st_ikey_append(b, st_slice_make(user, strlen(user)), seq, ST_TYPE_VALUE), 0);
    return st_buf_slice(b);
}

static int cmp_at(struct fake *f, int i, st_slice k)
{
    return st_ikey_cmp(st_comparator_bytewise(), st_buf_slice(&f->keys[i]), k);
}

static void fake_add(struct fake *f, const char *user, uint64_t seq)
{
    st_buf tmp = ST_BUF_INIT;
    st_slice k = ik(&tmp, user, seq);
    int i = f->n;
    while (i > 0 && cmp_at(f, i - 1, k) > 0) {
        f->keys[i] = f->keys[i - 1];
        i--;
    }
    memset(&f->keys[i], 0, sizeof(f->keys[i]));
    ik(&f->keys[i], user, seq);
    f->n++;
    st_buf_free(&tmp);
}

static int f_valid(const st_iter *it)
{
    return ((const struct fake *)it)->pos >= 0;
}
static void f_first(st_iter *it)
{
    struct fake *f = (struct fake *)it;
    f->pos = f->n ? 0 : -1;
}
static void f_last(st_iter *it)
{
    struct fake *f = (struct fake *)it;
    f->pos = f->n - 1;
}
static int find_ge(struct fake *f, st_slice t)
{
    int i = 0;
    while (i < f->n && cmp_at(f, i, t) < 0) {
        i++;
    }
    return i < f->n ? i : -1;
}

static void f_seek(st_iter *it, st_slice t)
{
    struct fake *f = (struct fake *)it;
    f->pos = find_ge(f, t);
    if (++f->seeks == f->insert_after_seek) { /* a writer inserts right now */
        st_buf cur = ST_BUF_INIT;
        if (f->pos >= 0) {
            assert_int_equal(st_buf_append(&cur, f->keys[f->pos].data, f->keys[f->pos].len), 0);
        }
        fake_add(f, "c", 10);
        if (f->pos >= 0) { /* stay on the same entry, like a skiplist node pointer */
            f->pos = find_ge(f, st_buf_slice(&cur));
        }
        st_buf_free(&cur);
    }
}

static void f_next(st_iter *it)
{
    struct fake *f = (struct fake *)it;
    f->pos = f->pos + 1 < f->n ? f->pos + 1 : -1;
}
static void f_prev(st_iter *it)
{
    struct fake *f = (struct fake *)it;
    f->pos--;
}
static st_slice f_key(const st_iter *it)
{
    const struct fake *f = (const struct fake *)it;
    return st_buf_slice(&f->keys[f->pos]);
}
static st_slice f_value(const st_iter *it)
{
    (void)it;
    return st_slice_make("v", 1);
}
static int f_status(const st_iter *it)
{
    (void)it;
    return 0;
}
static void f_destroy(st_iter *it)
{
    struct fake *f = (struct fake *)it;
    for (int i = 0; i < f->n; i++) {
        st_buf_free(&f->keys[i]);
    }
    free(f);
}

static const struct st_iter_ops fake_ops = {f_valid, f_first, f_last,  f_seek,   f_next,
                                            f_prev,  f_key,   f_value, f_status, f_destroy};

static st_iter *fake_create(int insert_after_seek)
{
    struct fake *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    st_iter_init(&f->base, &fake_ops);
    f->pos = -1;
    f->insert_after_seek = insert_after_seek;
    return &f->base;
}

static void expect_user_key(st_iter *m, const char *want, const char *what)
{
    assert_true(st_iter_valid(m));
    st_slice u = st_ikey_user(st_iter_key(m));
    if (u.size != strlen(want) || memcmp(u.data, want, u.size) != 0) {
        print_error("%s: merged iterator is on user key '%.*s', expected '%s'\n", what, (int)u.size,
                    (const char *)u.data, want);
        fail();
    }
}

static void test_prev_after_seek_with_insert_between(void **state)
{
    (void)state;
    st_iter *mem = fake_create(2); /* its 2nd seek is position_before's */
    struct fake *fm = (struct fake *)mem;
    fake_add(fm, "a", 3);
    fake_add(fm, "d", 4);
    st_iter *table = fake_create(0);
    fake_add((struct fake *)table, "b", 5);
    st_iter *children[2] = {mem, table};
    st_iter *m = st_merge_iter_create(st_comparator_bytewise(), children, 2);
    assert_non_null(m);
    st_buf t = ST_BUF_INIT;
    st_iter_seek(m, ik(&t, "b", ST_MAX_SEQ));
    expect_user_key(m, "b", "after seek(b)");
    st_iter_prev(m);
    /* Entries below b@5 in the merged stream: a@3 only (c@10 sorts above b). */
    expect_user_key(m, "a", "after prev() from b");
    st_buf_free(&t);
    st_iter_destroy(m);
}

static void test_prev_without_insert(void **state)
{
    (void)state; /* the same without the concurrent insert: passes today */
    st_iter *mem = fake_create(0);
    fake_add((struct fake *)mem, "a", 3);
    fake_add((struct fake *)mem, "d", 4);
    st_iter *table = fake_create(0);
    fake_add((struct fake *)table, "b", 5);
    st_iter *children[2] = {mem, table};
    st_iter *m = st_merge_iter_create(st_comparator_bytewise(), children, 2);
    assert_non_null(m);
    st_buf t = ST_BUF_INIT;
    st_iter_seek(m, ik(&t, "b", ST_MAX_SEQ));
    st_iter_prev(m);
    expect_user_key(m, "a", "after prev() from b");
    st_buf_free(&t);
    st_iter_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prev_without_insert),
        cmocka_unit_test(test_prev_after_seek_with_insert_between),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
