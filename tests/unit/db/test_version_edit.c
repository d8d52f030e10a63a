/* test_version_edit.c — version edits: random edits round-trip through encode/decode; every
 * truncation and random corruption of an encoding decodes to a valid prefix or is rejected with
 * STRATA_E_CORRUPTION (never a crash, overrun or leak — run under ASan); specific hostile fields
 * (unknown tag, bad level, short or untyped key, oversized lengths, bad sequence ranges);
 * allocation failure during decode; file_meta refcounting; the debug string. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "db/version_edit.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/random.h"

static st_random rng;

static int group_setup(void **state)
{
    (void)state;
    st_random_seed(&rng, tu_seed(0x5eed));
    return 0;
}

static void random_ikey(st_buf *b, size_t max_user)
{
    char user[64];
    size_t n = (size_t)st_random_uniform(&rng, max_user + 1);
    st_random_bytes(&rng, user, n);
    st_buf_clear(b);
    assert_int_equal(st_ikey_append(b, st_slice_make(user, n),
                                    st_random_uniform(&rng, ST_MAX_SEQ + 1),
                                    (int)st_random_uniform(&rng, ST_TYPE_MAX + 1)),
                     0);
}

static st_file_meta *random_file(void)
{
    st_buf a = ST_BUF_INIT, b = ST_BUF_INIT;
    random_ikey(&a, 40);
    random_ikey(&b, 40);
    st_file_meta *f = st_file_meta_create(st_random_skewed(&rng, 63), st_random_skewed(&rng, 40),
                                          st_buf_slice(&a), st_buf_slice(&b));
    assert_non_null(f);
    f->smallest_seq = st_random_skewed(&rng, 40);
    f->largest_seq = f->smallest_seq + st_random_skewed(&rng, 10);
    f->num_entries = st_random_skewed(&rng, 30);
    f->num_deletions = st_random_skewed(&rng, 20);
    st_buf_free(&a);
    st_buf_free(&b);
    return f;
}

static void random_edit(st_version_edit *e)
{
    st_version_edit_init(e);
    if (st_random_one_in(&rng, 2)) {
        tu_assert_ok(st_version_edit_set_comparator(e, "strata.bytewise"));
    }
    if (st_random_one_in(&rng, 2)) {
        st_version_edit_set_log_number(e, st_random_skewed(&rng, 63));
    }
    if (st_random_one_in(&rng, 2)) {
        st_version_edit_set_prev_log_number(e, st_random_skewed(&rng, 63));
    }
    if (st_random_one_in(&rng, 2)) {
        st_version_edit_set_next_file(e, st_random_skewed(&rng, 63));
    }
    if (st_random_one_in(&rng, 2)) {
        st_version_edit_set_last_seq(e, st_random_uniform(&rng, ST_MAX_SEQ + 1));
    }
    int np = (int)st_random_uniform(&rng, 3), nd = (int)st_random_uniform(&rng, 6),
        nn = (int)st_random_uniform(&rng, 6);
    st_buf k = ST_BUF_INIT;
    for (int i = 0; i < np; i++) {
        random_ikey(&k, 20);
        tu_assert_ok(st_version_edit_set_pointer(e, (int)st_random_uniform(&rng, ST_MAX_LEVELS),
                                                 st_buf_slice(&k)));
    }
    st_buf_free(&k);
    for (int i = 0; i < nd; i++) {
        tu_assert_ok(st_version_edit_delete_file(e, (int)st_random_uniform(&rng, ST_MAX_LEVELS),
                                                 st_random_skewed(&rng, 63)));
    }
    for (int i = 0; i < nn; i++) {
        st_file_meta *f = random_file();
        tu_assert_ok(st_version_edit_add_file(e, (int)st_random_uniform(&rng, ST_MAX_LEVELS), f));
        st_file_meta_unref(f);
    }
}

static void assert_files_equal(const st_file_meta *a, const st_file_meta *b)
{
    assert_true(a->number == b->number);
    assert_true(a->file_size == b->file_size);
    tu_assert_bytes_equal(a->smallest, a->smallest_len, b->smallest, b->smallest_len);
    tu_assert_bytes_equal(a->largest, a->largest_len, b->largest, b->largest_len);
    assert_true(a->smallest_seq == b->smallest_seq);
    assert_true(a->largest_seq == b->largest_seq);
    assert_true(a->num_entries == b->num_entries);
    assert_true(a->num_deletions == b->num_deletions);
}

static void assert_edits_equal(const st_version_edit *a, const st_version_edit *b)
{
    assert_int_equal(a->comparator != NULL, b->comparator != NULL);
    if (a->comparator) {
        assert_string_equal(a->comparator, b->comparator);
    }
    assert_int_equal(a->has_log_number, b->has_log_number);
    assert_int_equal(a->has_prev_log_number, b->has_prev_log_number);
    assert_int_equal(a->has_next_file, b->has_next_file);
    assert_int_equal(a->has_last_seq, b->has_last_seq);
    assert_true(!a->has_log_number || a->log_number == b->log_number);
    assert_true(!a->has_prev_log_number || a->prev_log_number == b->prev_log_number);
    assert_true(!a->has_next_file || a->next_file_number == b->next_file_number);
    assert_true(!a->has_last_seq || a->last_seq == b->last_seq);
    assert_int_equal(a->n_pointers, b->n_pointers);
    for (int i = 0; i < a->n_pointers; i++) {
        assert_int_equal(a->pointers[i].level, b->pointers[i].level);
        tu_assert_bytes_equal(a->pointers[i].key, a->pointers[i].key_len, b->pointers[i].key,
                              b->pointers[i].key_len);
    }
    assert_int_equal(a->n_deleted, b->n_deleted);
    for (int i = 0; i < a->n_deleted; i++) {
        assert_int_equal(a->deleted[i].level, b->deleted[i].level);
        assert_true(a->deleted[i].number == b->deleted[i].number);
    }
    assert_int_equal(a->n_new, b->n_new);
    for (int i = 0; i < a->n_new; i++) {
        assert_int_equal(a->new_files[i].level, b->new_files[i].level);
        assert_files_equal(a->new_files[i].meta, b->new_files[i].meta);
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    for (int iter = 0; iter < 500; iter++) {
        st_version_edit e, d;
        random_edit(&e);
        st_version_edit_init(&d);
        st_buf enc = ST_BUF_INIT, enc2 = ST_BUF_INIT;
        tu_assert_ok(st_version_edit_encode(&e, &enc));
        tu_assert_ok(st_version_edit_decode(&d, st_buf_slice(&enc)));
        assert_edits_equal(&e, &d);
        tu_assert_ok(st_version_edit_encode(&d, &enc2));
        tu_assert_bytes_equal(enc.data, enc.len, enc2.data, enc2.len);
        st_buf_free(&enc);
        st_buf_free(&enc2);
        st_version_edit_clear(&e);
        st_version_edit_clear(&d);
    }
}

static void test_empty(void **state)
{
    (void)state;
    st_version_edit e;
    st_version_edit_init(&e);
    st_buf enc = ST_BUF_INIT;
    tu_assert_ok(st_version_edit_encode(&e, &enc));
    assert_int_equal(enc.len, 0);
    tu_assert_ok(st_version_edit_decode(&e, st_slice_make("", 0)));
    assert_null(e.comparator);
    assert_int_equal(e.n_new + e.n_deleted + e.n_pointers, 0);
    st_buf_free(&enc);
    st_version_edit_clear(&e);
}

/* Decoding a damaged encoding must yield 0 (a valid edit) or CORRUPTION. */
static int decode_damaged(st_slice in, st_version_edit *out)
{
    st_version_edit_init(out);
    int rc = st_version_edit_decode(out, in);
    if (rc != 0 && rc != STRATA_E_CORRUPTION) {
        print_error("unexpected code %d: %s\n", rc, tu_errmsg());
        fail();
    }
    if (rc) {
        assert_non_null(strstr(tu_errmsg(), "version edit"));
    }
    return rc;
}

static void test_truncations(void **state)
{
    (void)state;
    for (int iter = 0; iter < 60; iter++) {
        st_version_edit e;
        random_edit(&e);
        st_buf enc = ST_BUF_INIT;
        tu_assert_ok(st_version_edit_encode(&e, &enc));
        for (size_t len = 0; len < enc.len; len++) {
            st_version_edit d;
            if (decode_damaged(st_slice_make(enc.data, len), &d) == 0) {
                /* Cut at a field boundary: the prefix is itself a valid edit. */
                st_buf re = ST_BUF_INIT;
                tu_assert_ok(st_version_edit_encode(&d, &re));
                tu_assert_bytes_equal(re.data, re.len, enc.data, len);
                st_buf_free(&re);
            }
            st_version_edit_clear(&d);
        }
        st_buf_free(&enc);
        st_version_edit_clear(&e);
    }
}

static void test_random_corruption(void **state)
{
    (void)state;
    int rejected = 0;
    for (int iter = 0; iter < 3000; iter++) {
        st_version_edit e, d;
        random_edit(&e);
        st_buf enc = ST_BUF_INIT;
        tu_assert_ok(st_version_edit_encode(&e, &enc));
        if (enc.len == 0) {
            st_version_edit_clear(&e);
            continue;
        }
        int flips = 1 + (int)st_random_uniform(&rng, 4);
        for (int i = 0; i < flips; i++) {
            size_t at = (size_t)st_random_uniform(&rng, enc.len);
            if (st_random_one_in(&rng, 2)) {
                enc.data[at] = (char)st_random_next(&rng);
            } else {
                enc.data[at] = (char)(enc.data[at] ^ 0x80);
            }
        }
        rejected += decode_damaged(st_buf_slice(&enc), &d) != 0;
        st_version_edit_clear(&d);
        st_buf_free(&enc);
        st_version_edit_clear(&e);
    }
    assert_true(rejected > 100); /* most damage is detected (structure, not a checksum) */
}

/* Builds tag-by-tag encodings and checks they are rejected. */
static void expect_corrupt(const st_buf *b, const char *what)
{
    st_version_edit d;
    st_version_edit_init(&d);
    int rc = st_version_edit_decode(&d, st_buf_slice(b));
    if (rc != STRATA_E_CORRUPTION) {
        print_error("%s: got %d, want corruption\n", what, rc);
        fail();
    }
    st_version_edit_clear(&d);
}

static void put_key(st_buf *b, const char *user, uint64_t seq, int type)
{
    st_buf k = ST_BUF_INIT;
    st_ikey_append(&k, st_slice_cstr(user), seq, type);
    st_buf_put_lenprefixed(b, st_buf_slice(&k));
    st_buf_free(&k);
}

/* A new-file field (tag 8) with the given pieces. */
static void put_new_file(st_buf *b, uint32_t level, int key_type, uint64_t sseq, uint64_t lseq)
{
    st_buf_put_varint32(b, 8);
    st_buf_put_varint32(b, level);
    st_buf_put_varint64(b, 12);
    st_buf_put_varint64(b, 1000);
    put_key(b, "a", 5, key_type);
    put_key(b, "z", 6, 1);
    st_buf_put_varint64(b, sseq);
    st_buf_put_varint64(b, lseq);
    st_buf_put_varint64(b, 10);
    st_buf_put_varint64(b, 2);
}

static void test_hostile_fields(void **state)
{
    (void)state;
    st_buf b = ST_BUF_INIT;
    /* Sanity: the hand-built field is valid. */
    put_new_file(&b, 3, 1, 5, 6);
    st_version_edit d;
    st_version_edit_init(&d);
    tu_assert_ok(st_version_edit_decode(&d, st_buf_slice(&b)));
    assert_int_equal(d.n_new, 1);
    assert_int_equal(d.new_files[0].level, 3);
    st_version_edit_clear(&d);

    st_buf_clear(&b);
    st_buf_put_varint32(&b, 99);
    expect_corrupt(&b, "unknown tag");
    st_buf_clear(&b);
    st_buf_put_varint32(&b, 0);
    expect_corrupt(&b, "tag 0");
    st_buf_clear(&b);
    put_new_file(&b, ST_MAX_LEVELS, 1, 5, 6);
    expect_corrupt(&b, "level too large");
    st_buf_clear(&b);
    put_new_file(&b, 1, 7, 5, 6);
    expect_corrupt(&b, "unknown key type");
    st_buf_clear(&b);
    put_new_file(&b, 1, 1, 7, 6);
    expect_corrupt(&b, "smallest seq > largest seq");
    st_buf_clear(&b);
    put_new_file(&b, 1, 1, 0, ST_MAX_SEQ + 1);
    expect_corrupt(&b, "seq out of range");

    st_buf_clear(&b); /* deleted file at a bad level */
    st_buf_put_varint32(&b, 7);
    st_buf_put_varint32(&b, 200);
    st_buf_put_varint64(&b, 1);
    expect_corrupt(&b, "deleted level");
    st_buf_clear(&b); /* compaction pointer with a 7-byte key */
    st_buf_put_varint32(&b, 6);
    st_buf_put_varint32(&b, 1);
    st_buf_put_lenprefixed(&b, st_slice_make("1234567", 7));
    expect_corrupt(&b, "short key");
    st_buf_clear(&b); /* a length prefix far past the input */
    st_buf_put_varint32(&b, 1);
    st_buf_put_varint32(&b, UINT32_MAX);
    st_buf_append(&b, "abc", 3);
    expect_corrupt(&b, "huge comparator length");
    st_buf_clear(&b); /* comparator containing NUL */
    st_buf_put_varint32(&b, 1);
    st_buf_put_lenprefixed(&b, st_slice_make("a\0b", 3));
    expect_corrupt(&b, "NUL in comparator");
    st_buf_clear(&b); /* last sequence beyond 56 bits */
    st_buf_put_varint32(&b, 5);
    st_buf_put_varint64(&b, ST_MAX_SEQ + 1);
    expect_corrupt(&b, "last seq");
    st_buf_clear(&b); /* an 11-byte varint64 */
    st_buf_put_varint32(&b, 2);
    st_buf_append(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
    expect_corrupt(&b, "overlong varint");
    st_buf_free(&b);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    st_version_edit e;
    random_edit(&e);
    while (e.n_new < 3) {
        st_file_meta *f = random_file();
        tu_assert_ok(st_version_edit_add_file(&e, 1, f));
        st_file_meta_unref(f);
    }
    tu_assert_ok(st_version_edit_set_comparator(&e, "cmp"));
    st_buf enc = ST_BUF_INIT;
    tu_assert_ok(st_version_edit_encode(&e, &enc));
    int succeeded = 0;
    for (long k = 0; k < 200 && !succeeded; k++) {
        st_version_edit d;
        st_version_edit_init(&d);
        st_alloc_fail_after(k, 0);
        int rc = st_version_edit_decode(&d, st_buf_slice(&enc));
        st_alloc_fail_after(-1, 0);
        assert_true(rc == 0 || rc == STRATA_E_NOMEM);
        if (rc == 0) {
            assert_edits_equal(&e, &d);
            succeeded = 1;
        }
        st_version_edit_clear(&d);
    }
    assert_true(succeeded);
    /* Encoding into a buffer that cannot grow leaves it unchanged. */
    st_buf out = ST_BUF_INIT;
    st_alloc_fail_after(0, 1);
    int rc = st_version_edit_encode(&e, &out);
    st_alloc_fail_after(-1, 0);
    assert_int_equal(rc, STRATA_E_NOMEM);
    assert_int_equal(out.len, 0);
    st_buf_free(&out);
    st_buf_free(&enc);
    st_version_edit_clear(&e);
}

static void test_file_meta_refs(void **state)
{
    (void)state;
    st_file_meta *f = st_file_meta_create(7, 100, st_slice_make("a\0\0\0\0\0\0\0\1", 9),
                                          st_slice_make("b\0\0\0\0\0\0\0\1", 9));
    assert_int_equal(f->refs, 1);
    assert_int_equal(f->being_compacted, 0);
    st_version_edit e;
    st_version_edit_init(&e);
    tu_assert_ok(st_version_edit_add_file(&e, 2, f));
    assert_int_equal(f->refs, 2);
    st_version_edit_clear(&e);
    assert_int_equal(f->refs, 1);
    st_file_meta_unref(f);
    st_file_meta_unref(NULL);
    /* Empty keys are legal to copy (the decoder never produces them, but the API allows it). */
    f = st_file_meta_create(1, 0, st_slice_make("", 0), st_slice_make("", 0));
    assert_int_equal(f->smallest_len, 0);
    st_file_meta_unref(f);
}

static void test_debug_string(void **state)
{
    (void)state;
    st_version_edit e;
    st_version_edit_init(&e);
    tu_assert_ok(st_version_edit_set_comparator(&e, "strata.bytewise"));
    st_version_edit_set_log_number(&e, 9);
    st_version_edit_set_next_file(&e, 20);
    st_version_edit_set_last_seq(&e, 300);
    st_version_edit_delete_file(&e, 1, 5);
    st_buf k = ST_BUF_INIT;
    st_ikey_append(&k, st_slice_make("p\x01", 2), 77, ST_TYPE_VALUE);
    st_version_edit_set_pointer(&e, 2, st_buf_slice(&k));
    st_file_meta *f = st_file_meta_create(12, 4096, st_buf_slice(&k), st_buf_slice(&k));
    st_version_edit_add_file(&e, 3, f);
    st_file_meta_unref(f);
    st_buf out = ST_BUF_INIT;
    tu_assert_ok(st_version_edit_debug_string(&e, &out));
    tu_assert_ok(st_buf_put_u8(&out, 0));
    const char *s = out.data;
    assert_non_null(strstr(s, "comparator: strata.bytewise\n"));
    assert_non_null(strstr(s, "log_number: 9\n"));
    assert_non_null(strstr(s, "next_file: 20\n"));
    assert_non_null(strstr(s, "last_seq: 300\n"));
    assert_non_null(strstr(s, "delete_file: L1 #5\n"));
    assert_non_null(strstr(s, "compact_pointer: L2 p\\x01@77:1\n"));
    assert_non_null(strstr(s, "add_file: L3 #12 size=4096 [p\\x01@77:1 .. p\\x01@77:1]"));
    st_buf_free(&out);
    st_buf_free(&k);
    st_version_edit_clear(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_random_corruption),
        cmocka_unit_test(test_hostile_fields),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_file_meta_refs),
        cmocka_unit_test(test_debug_string),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
