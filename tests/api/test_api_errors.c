/* test_api_errors.c — argument checking and error reporting of strata's public API: every
 * function that takes pointers returns STRATA_E_INVALID (never crashes) on NULL handles and
 * NULL buffers with a non-zero length; size limits on keys and values; option setters reject
 * out-of-range values and leave the option unchanged; the options string form rejects bad tokens
 * atomically and names them; strata_strerror names every code; strata_errmsg is set after each
 * failure; a damaged CURRENT or a non-directory path fails open cleanly; and an out-of-memory
 * loop (st_alloc_fail_after, each allocation point in a forked child) over
 * open/write/read/flush/close never crashes or loses an acknowledged write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine_util.h"
#include "strata.h"
#include "test_util.h"
#include "util/alloc.h"

/* Asserts expr == STRATA_E_INVALID and that a detail message was set. */
#define EXPECT_INVALID(expr) expect_invalid((expr), #expr, __LINE__)

static void expect_invalid(int rc, const char *text, int line)
{
    if (rc != STRATA_E_INVALID) {
        print_error("line %d: %s returned %d (%s), expected STRATA_E_INVALID\n", line, text, rc,
                    strata_strerror(rc));
        fail();
    }
    const char *msg = strata_errmsg();
    if (!msg || !msg[0]) {
        print_error("line %d: %s: no errmsg after STRATA_E_INVALID\n", line, text);
        fail();
    }
}

struct fx {
    strata_env *env;
    strata_options *opt;
    strata_db *db;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f) {
        return -1;
    }
    f->env = strata_env_create_mem();
    f->opt = strata_options_create();
    strata_options_set_create_if_missing(f->opt, 1);
    strata_options_set_env(f->opt, f->env);
    if (strata_open(f->opt, "/errdb", &f->db) != 0) {
        return -1;
    }
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    if (!f) {
        return 0;
    }
    int rc = f->db ? strata_close(f->db) : 0;
    strata_options_destroy(f->opt);
    strata_env_destroy(f->env);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* ---- NULL arguments -------------------------------------------------------------------------- */

static void dummy_put(void *ctx, const char *k, size_t kl, const char *v, size_t vl)
{
    (void)ctx;
    (void)k;
    (void)kl;
    (void)v;
    (void)vl;
}

static void test_null_db_functions(void **state)
{
    struct fx *f = *state;
    strata_db *db = f->db;
    strata_db *out = NULL;
    void *v = NULL;
    size_t vl = 0;
    strata_pinned *p = NULL;
    strata_iter *it = NULL;
    char *text = NULL;
    uint64_t iv = 0;

    EXPECT_INVALID(strata_open(f->opt, NULL, &out));
    EXPECT_INVALID(strata_open(f->opt, "/x", NULL));
    EXPECT_INVALID(strata_destroy(f->opt, NULL));
    int rc = strata_close(NULL);
    assert_true(rc == STRATA_OK || rc == STRATA_E_INVALID);

    EXPECT_INVALID(strata_put(NULL, NULL, "k", 1, "v", 1));
    EXPECT_INVALID(strata_put(db, NULL, NULL, 1, "v", 1));
    EXPECT_INVALID(strata_put(db, NULL, "k", 1, NULL, 1));
    EXPECT_INVALID(strata_delete(NULL, NULL, "k", 1));
    EXPECT_INVALID(strata_delete(db, NULL, NULL, 3));
    EXPECT_INVALID(strata_write(NULL, NULL, NULL));
    EXPECT_INVALID(strata_write(db, NULL, NULL));

    EXPECT_INVALID(strata_get(NULL, NULL, "k", 1, &v, &vl));
    EXPECT_INVALID(strata_get(db, NULL, NULL, 1, &v, &vl));
    EXPECT_INVALID(strata_get(db, NULL, "k", 1, NULL, &vl));
    EXPECT_INVALID(strata_get(db, NULL, "k", 1, &v, NULL));
    EXPECT_INVALID(strata_get_pinned(NULL, NULL, "k", 1, &p));
    EXPECT_INVALID(strata_get_pinned(db, NULL, NULL, 1, &p));
    EXPECT_INVALID(strata_get_pinned(db, NULL, "k", 1, NULL));

    EXPECT_INVALID(strata_iter_create(NULL, NULL, &it));
    EXPECT_INVALID(strata_iter_create(db, NULL, NULL));
    EXPECT_INVALID(strata_iter_status(NULL));

    EXPECT_INVALID(strata_flush(NULL, 1));
    EXPECT_INVALID(strata_compact_range(NULL, NULL, 0, NULL, 0));
    EXPECT_INVALID(strata_property(NULL, "strata.stats", &text));
    EXPECT_INVALID(strata_property(db, NULL, &text));
    EXPECT_INVALID(strata_property(db, "strata.stats", NULL));
    EXPECT_INVALID(strata_property_int(NULL, "strata.last-sequence", &iv));
    EXPECT_INVALID(strata_property_int(db, NULL, &iv));
    EXPECT_INVALID(strata_property_int(db, "strata.last-sequence", NULL));

    const char *s[1] = {"a"};
    const size_t l[1] = {1};
    uint64_t sz[1];
    EXPECT_INVALID(strata_approximate_sizes(NULL, 1, s, l, s, l, sz));
    EXPECT_INVALID(strata_approximate_sizes(db, 1, NULL, l, s, l, sz));
    EXPECT_INVALID(strata_approximate_sizes(db, 1, s, NULL, s, l, sz));
    EXPECT_INVALID(strata_approximate_sizes(db, 1, s, l, NULL, l, sz));
    EXPECT_INVALID(strata_approximate_sizes(db, 1, s, l, s, NULL, sz));
    EXPECT_INVALID(strata_approximate_sizes(db, 1, s, l, s, l, NULL));
    EXPECT_INVALID(strata_approximate_sizes(db, -1, s, l, s, l, sz));

    /* None of the failures disturbed the DB. */
    tu_assert_ok(eu_put(db, "k", "v"));
    eu_expect(db, NULL, "k", "v");
}

static void test_null_object_functions(void **state)
{
    (void)state;
    strata_batch *b = strata_batch_create();
    EXPECT_INVALID(strata_batch_put(NULL, "k", 1, "v", 1));
    EXPECT_INVALID(strata_batch_put(b, NULL, 1, "v", 1));
    EXPECT_INVALID(strata_batch_put(b, "k", 1, NULL, 1));
    EXPECT_INVALID(strata_batch_delete(NULL, "k", 1));
    EXPECT_INVALID(strata_batch_delete(b, NULL, 1));
    EXPECT_INVALID(strata_batch_append(NULL, b));
    EXPECT_INVALID(strata_batch_append(b, NULL));
    EXPECT_INVALID(strata_batch_iterate(NULL, NULL, dummy_put, NULL));
    assert_int_equal(strata_batch_count(b), 0); /* failed calls left it unchanged */

    strata_options *o = strata_options_create();
    EXPECT_INVALID(strata_options_from_string(NULL, "create_if_missing=1"));
    EXPECT_INVALID(strata_options_from_string(o, NULL));
    assert_null(strata_options_to_string(NULL));
    assert_null(strata_options_copy(NULL));
    EXPECT_INVALID(strata_options_set_create_if_missing(NULL, 1));
    EXPECT_INVALID(strata_options_set_error_if_exists(NULL, 1));
    EXPECT_INVALID(strata_options_set_paranoid_checks(NULL, 1));
    EXPECT_INVALID(strata_options_set_comparator(NULL, strata_comparator_bytewise()));
    int crc = strata_options_set_comparator(o, NULL); /* NULL may mean "back to bytewise" */
    assert_true(crc == STRATA_OK || crc == STRATA_E_INVALID);
    EXPECT_INVALID(strata_options_set_filter_policy(NULL, NULL));
    EXPECT_INVALID(strata_options_set_bloom_bits_per_key(NULL, 10));
    EXPECT_INVALID(strata_options_set_block_cache(NULL, NULL));
    EXPECT_INVALID(strata_options_set_block_cache_size(NULL, 1 << 20));
    EXPECT_INVALID(strata_options_set_env(NULL, strata_env_default()));
    EXPECT_INVALID(strata_options_set_write_buffer_size(NULL, 1 << 20));
    EXPECT_INVALID(strata_options_set_max_write_buffers(NULL, 2));
    EXPECT_INVALID(strata_options_set_max_open_files(NULL, 100));
    EXPECT_INVALID(strata_options_set_block_size(NULL, 4096));
    EXPECT_INVALID(strata_options_set_block_restart_interval(NULL, 16));
    EXPECT_INVALID(strata_options_set_compression(NULL, STRATA_COMPRESSION_NONE));
    int types[1] = {STRATA_COMPRESSION_NONE};
    EXPECT_INVALID(strata_options_set_compression_per_level(NULL, types, 1));
    EXPECT_INVALID(strata_options_set_compression_per_level(o, NULL, 1));
    EXPECT_INVALID(strata_options_set_zstd_level(NULL, 3));
    EXPECT_INVALID(strata_options_set_checksum(NULL, STRATA_CHECKSUM_CRC32C));
    EXPECT_INVALID(strata_options_set_num_levels(NULL, 7));
    EXPECT_INVALID(strata_options_set_target_file_size(NULL, 1 << 20));
    EXPECT_INVALID(strata_options_set_max_bytes_for_level_base(NULL, 1 << 20));
    EXPECT_INVALID(strata_options_set_max_bytes_for_level_multiplier(NULL, 10));
    EXPECT_INVALID(strata_options_set_dynamic_level_bytes(NULL, 1));
    EXPECT_INVALID(strata_options_set_level0_compaction_trigger(NULL, 4));
    EXPECT_INVALID(strata_options_set_level0_slowdown_trigger(NULL, 20));
    EXPECT_INVALID(strata_options_set_level0_stop_trigger(NULL, 36));
    EXPECT_INVALID(strata_options_set_soft_pending_compaction_bytes(NULL, 1 << 30));
    EXPECT_INVALID(strata_options_set_hard_pending_compaction_bytes(NULL, 1 << 30));
    EXPECT_INVALID(strata_options_set_delayed_write_rate(NULL, 1 << 20));
    EXPECT_INVALID(strata_options_set_max_background_jobs(NULL, 2));
    EXPECT_INVALID(strata_options_set_skip_corrupt_wal_records(NULL, 1));
    EXPECT_INVALID(strata_options_set_info_log(NULL, 1));
    EXPECT_INVALID(strata_read_options_set_lower_bound(NULL, "a", 1));
    EXPECT_INVALID(strata_read_options_set_upper_bound(NULL, "a", 1));

    /* Constructors reject missing callbacks. */
    assert_null(strata_comparator_create(NULL, NULL, NULL, NULL));
    assert_null(strata_filter_policy_create(NULL, NULL, NULL, NULL, NULL));
    assert_null(strata_snapshot_create(NULL));

    strata_options_destroy(o);
    strata_batch_destroy(b);
}

static void test_null_void_functions(void **state)
{
    /* Functions without a status return must still not crash on NULL handles. */
    struct fx *f = *state;
    size_t len = 123;
    strata_iter_seek_to_first(NULL);
    strata_iter_seek_to_last(NULL);
    strata_iter_seek(NULL, "a", 1);
    strata_iter_seek_for_prev(NULL, "a", 1);
    assert_int_equal(strata_iter_valid(NULL), 0);
    assert_null(strata_iter_key(NULL, &len));
    assert_null(strata_iter_value(NULL, &len));
    assert_null(strata_pinned_value(NULL, &len));
    assert_int_equal(strata_batch_count(NULL), 0);
    assert_int_equal(strata_batch_size(NULL), 0);
    assert_int_equal(strata_snapshot_sequence(NULL), 0);
    assert_int_equal(strata_cache_usage(NULL), 0);
    strata_read_options_set_verify_checksums(NULL, 1);
    strata_read_options_set_fill_cache(NULL, 1);
    strata_read_options_set_snapshot(NULL, NULL);
    strata_write_options_set_sync(NULL, 1);
    strata_write_options_set_disable_wal(NULL, 1);
    strata_snapshot_release(f->db, NULL);
    strata_snapshot_release(NULL, NULL);
    strata_options_destroy(NULL);
    strata_read_options_destroy(NULL);
    strata_write_options_destroy(NULL);
    strata_batch_destroy(NULL);
    strata_batch_clear(NULL);
    strata_iter_destroy(NULL);
    strata_pinned_release(NULL);
    strata_comparator_destroy(NULL);
    strata_filter_policy_destroy(NULL);
    strata_cache_destroy(NULL);
    strata_env_destroy(NULL);
    strata_free(NULL);
    /* seek with a NULL key of non-zero length leaves a valid iterator object. */
    strata_iter *it = NULL;
    tu_assert_ok(strata_iter_create(f->db, NULL, &it));
    strata_iter_seek(it, NULL, 5);
    int valid = strata_iter_valid(it);
    int status = strata_iter_status(it);
    strata_iter_destroy(it);
    assert_false(valid);
    assert_true(status == STRATA_E_INVALID || status == STRATA_OK);
}

/* ---- size limits ----------------------------------------------------------------------------- */

static void *zero_map(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    assert_true(p != MAP_FAILED);
    return p;
}

static void test_size_limits(void **state)
{
    struct fx *f = *state;
    const size_t key_max = (size_t)64 << 20;
    const size_t val_max = ((size_t)1 << 30) - 1;
    void *big = zero_map(val_max + 1);
    EXPECT_INVALID(strata_put(f->db, NULL, big, key_max + 1, "v", 1));
    EXPECT_INVALID(strata_put(f->db, NULL, "k", 1, big, val_max + 1));
    EXPECT_INVALID(strata_delete(f->db, NULL, big, key_max + 1));
    strata_batch *b = strata_batch_create();
    EXPECT_INVALID(strata_batch_put(b, big, key_max + 1, "v", 1));
    EXPECT_INVALID(strata_batch_put(b, "k", 1, big, val_max + 1));
    EXPECT_INVALID(strata_batch_delete(b, big, key_max + 1));
    assert_int_equal(strata_batch_count(b), 0);
    strata_batch_destroy(b);
    eu_expect(f->db, NULL, "k", NULL);
    /* Large but legal keys work (the limit itself would cost 128 MiB of memtable and WAL). */
    tu_assert_ok(strata_put(f->db, NULL, big, (size_t)1 << 20, "v", 1));
    void *v = NULL;
    size_t vl = 0;
    tu_assert_ok(strata_get(f->db, NULL, big, (size_t)1 << 20, &v, &vl));
    tu_assert_bytes_equal(v, vl, "v", 1);
    strata_free(v);
    tu_assert_ok(strata_flush(f->db, 1));
    tu_assert_ok(strata_get(f->db, NULL, big, (size_t)1 << 20, &v, &vl));
    tu_assert_bytes_equal(v, vl, "v", 1);
    strata_free(v);
    munmap(big, val_max + 1);
}

/* ---- options --------------------------------------------------------------------------------- */

/* Asserts a setter call fails with INVALID and leaves the options' string form unchanged. */
#define EXPECT_REJECTED(o, call)                     \
    do {                                             \
        char *before_ = strata_options_to_string(o); \
        EXPECT_INVALID(call);                        \
        char *after_ = strata_options_to_string(o);  \
        assert_string_equal(before_, after_);        \
        strata_free(before_);                        \
        strata_free(after_);                         \
    } while (0)

static void test_option_ranges(void **state)
{
    (void)state;
    strata_options *o = strata_options_create();
    EXPECT_REJECTED(o, strata_options_set_write_buffer_size(o, 1000));
    EXPECT_REJECTED(o, strata_options_set_max_write_buffers(o, 0));
    EXPECT_REJECTED(o, strata_options_set_max_write_buffers(o, 65));
    EXPECT_REJECTED(o, strata_options_set_max_open_files(o, 15));
    EXPECT_REJECTED(o, strata_options_set_block_size(o, 255));
    EXPECT_REJECTED(o, strata_options_set_block_size(o, ((size_t)64 << 20) + 1));
    EXPECT_REJECTED(o, strata_options_set_block_restart_interval(o, 0));
    EXPECT_REJECTED(o, strata_options_set_block_restart_interval(o, 1025));
    EXPECT_REJECTED(o, strata_options_set_compression(o, -1));
    EXPECT_REJECTED(o, strata_options_set_compression(o, 4));
    int bad[2] = {STRATA_COMPRESSION_NONE, 77};
    EXPECT_REJECTED(o, strata_options_set_compression_per_level(o, bad, 2));
    EXPECT_REJECTED(o, strata_options_set_zstd_level(o, 23));
    EXPECT_REJECTED(o, strata_options_set_zstd_level(o, -6));
    EXPECT_REJECTED(o, strata_options_set_checksum(o, 2));
    EXPECT_REJECTED(o, strata_options_set_checksum(o, -1));
    EXPECT_REJECTED(o, strata_options_set_num_levels(o, 1));
    EXPECT_REJECTED(o, strata_options_set_num_levels(o, 13));
    EXPECT_REJECTED(o, strata_options_set_target_file_size(o, 1000));
    EXPECT_REJECTED(o, strata_options_set_max_bytes_for_level_base(o, 1000));
    EXPECT_REJECTED(o, strata_options_set_max_bytes_for_level_multiplier(o, 1.5));
    EXPECT_REJECTED(o, strata_options_set_max_bytes_for_level_multiplier(o, 101));
    EXPECT_REJECTED(o, strata_options_set_level0_compaction_trigger(o, 0));
    EXPECT_REJECTED(o, strata_options_set_delayed_write_rate(o, 100));
    EXPECT_REJECTED(o, strata_options_set_max_background_jobs(o, 1));
    EXPECT_REJECTED(o, strata_options_set_max_background_jobs(o, 65));
    EXPECT_REJECTED(o, strata_options_set_bloom_bits_per_key(o, -1));
    EXPECT_REJECTED(o, strata_options_set_bloom_bits_per_key(o, 65));
    /* Values at the edges are accepted. */
    tu_assert_ok(strata_options_set_write_buffer_size(o, 64 << 10));
    tu_assert_ok(strata_options_set_block_size(o, 256));
    tu_assert_ok(strata_options_set_num_levels(o, 2));
    tu_assert_ok(strata_options_set_num_levels(o, 12));
    tu_assert_ok(strata_options_set_zstd_level(o, -5));
    tu_assert_ok(strata_options_set_bloom_bits_per_key(o, 0));
    tu_assert_ok(strata_options_set_max_background_jobs(o, 2));
    strata_options_destroy(o);
}

static void test_option_cross_checks(void **state)
{
    struct fx *f = *state;
    tu_assert_ok(strata_close(f->db));
    f->db = NULL;
    /* slowdown < compaction trigger: refused by the setter or by open, never accepted. */
    strata_options *o = strata_options_copy(f->opt);
    tu_assert_ok(strata_options_set_level0_compaction_trigger(o, 8));
    int rc = strata_options_set_level0_slowdown_trigger(o, 4);
    if (rc == 0) {
        strata_db *db = NULL;
        EXPECT_INVALID(strata_open(o, "/errdb", &db));
        assert_null(db);
    } else {
        EXPECT_INVALID(rc);
    }
    strata_options_destroy(o);
    o = strata_options_copy(f->opt);
    tu_assert_ok(strata_options_set_level0_slowdown_trigger(o, 30));
    rc = strata_options_set_level0_stop_trigger(o, 25);
    if (rc == 0) {
        strata_db *db = NULL;
        EXPECT_INVALID(strata_open(o, "/errdb", &db));
    } else {
        EXPECT_INVALID(rc);
    }
    strata_options_destroy(o);
    tu_assert_ok(strata_open(f->opt, "/errdb", &f->db));
}

static void expect_parse_rejected(strata_options *o, const char *text, const char *token)
{
    char *before = strata_options_to_string(o);
    int rc = strata_options_from_string(o, text);
    if (rc != STRATA_E_INVALID) {
        print_error("from_string(\"%s\") returned %d, expected STRATA_E_INVALID\n", text, rc);
        fail();
    }
    const char *msg = strata_errmsg();
    if (token && !strstr(msg, token)) {
        print_error("from_string(\"%s\"): errmsg \"%s\" does not name \"%s\"\n", text, msg, token);
        fail();
    }
    char *after = strata_options_to_string(o);
    assert_string_equal(before, after); /* nothing applied */
    strata_free(before);
    strata_free(after);
}

static void test_option_string_errors(void **state)
{
    (void)state;
    strata_options *o = strata_options_create();
    expect_parse_rejected(o, "write_buffer_size=1M;bogus_option=3", "bogus_option");
    expect_parse_rejected(o, "block_size=8K;write_buffer_size=abc", "write_buffer_size");
    expect_parse_rejected(o, "compression=brotli", "compression");
    expect_parse_rejected(o, "create_if_missing=maybe", "create_if_missing");
    expect_parse_rejected(o, "num_levels=99", "num_levels");
    expect_parse_rejected(o, "write_buffer_size", "write_buffer_size");
    expect_parse_rejected(o, "write_buffer_size=1Q", "write_buffer_size");
    expect_parse_rejected(o, "=5", NULL);
    expect_parse_rejected(o, "block_size=-4096", "block_size");
    strata_options_destroy(o);
}

/* ---- error names and messages ---------------------------------------------------------------- */

static void test_strerror_names(void **state)
{
    (void)state;
    const int codes[] = {STRATA_OK,       STRATA_E_NOTFOUND, STRATA_E_CORRUPTION,
                         STRATA_E_IO,     STRATA_E_INVALID,  STRATA_E_BUSY,
                         STRATA_E_NOTSUP, STRATA_E_NOMEM,    STRATA_E_NOSPC,
                         STRATA_E_EXISTS, STRATA_E_CLOSED,   STRATA_E_INCOMPLETE};
    const char *hints[] = {"ok",  "not", "corrupt", "i",     "invalid", "busy",
                           "sup", "mem", "sp",      "exist", "clos",    "incomplete"};
    const int n = (int)(sizeof(codes) / sizeof(codes[0]));
    for (int i = 0; i < n; i++) {
        const char *s = strata_strerror(codes[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        char lower[64];
        size_t j = 0;
        for (; s[j] && j < sizeof(lower) - 1; j++) {
            lower[j] = (char)(s[j] >= 'A' && s[j] <= 'Z' ? s[j] + 32 : s[j]);
        }
        lower[j] = '\0';
        if (!strstr(lower, hints[i])) {
            print_error("strata_strerror(%d) = \"%s\" does not mention \"%s\"\n", codes[i], s,
                        hints[i]);
            fail();
        }
        for (int k = 0; k < i; k++) {
            assert_string_not_equal(s, strata_strerror(codes[k]));
        }
    }
    assert_non_null(strata_strerror(-999));
    assert_non_null(strata_strerror(42));
    assert_non_null(strata_errmsg());
}

static void test_errmsg_after_errors(void **state)
{
    struct fx *f = *state;
    void *v = NULL;
    size_t vl = 0;
    strata_db *db2 = NULL;
    assert_int_equal(strata_open(f->opt, "/errdb", &db2), STRATA_E_BUSY);
    assert_true(strata_errmsg()[0] != '\0');
    strata_options *plain = strata_options_copy(f->opt);
    strata_options_set_create_if_missing(plain, 0);
    assert_int_equal(strata_open(plain, "/nothing-here", &db2), STRATA_E_NOTFOUND);
    assert_true(strata_errmsg()[0] != '\0');
    strata_options_destroy(plain);
    EXPECT_INVALID(strata_get(f->db, NULL, NULL, 3, &v, &vl));
    /* The message is per thread and belongs to the last failure. */
    EXPECT_INVALID(strata_options_set_num_levels(f->opt, 0));
    const char *m1 = strata_errmsg();
    assert_non_null(strstr(m1, "num_levels"));
}

static void test_open_damaged(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("api-err-open");
    strata_options *o = strata_options_create();
    strata_options_set_create_if_missing(o, 1);
    strata_db *db = NULL;
    char path[4096];

    /* A regular file where the DB directory should be. */
    snprintf(path, sizeof(path), "%s/afile", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("not a db\n", fp);
    fclose(fp);
    int rc = strata_open(o, path, &db);
    assert_true(rc < 0);
    assert_null(db);
    assert_true(strata_errmsg()[0] != '\0');

    /* CURRENT emptied, then CURRENT naming a missing MANIFEST. */
    snprintf(path, sizeof(path), "%s/db", dir);
    tu_assert_ok(strata_open(o, path, &db));
    tu_assert_ok(eu_put(db, "k", "v"));
    tu_assert_ok(strata_close(db));
    db = NULL;
    char cur[4200];
    snprintf(cur, sizeof(cur), "%s/CURRENT", path);
    fp = fopen(cur, "w");
    assert_non_null(fp);
    fclose(fp);
    rc = strata_open(o, path, &db);
    assert_int_equal(rc, STRATA_E_CORRUPTION);
    assert_null(db);
    assert_non_null(strstr(strata_errmsg(), "CURRENT"));
    fp = fopen(cur, "w");
    fputs("MANIFEST-999999\n", fp);
    fclose(fp);
    rc = strata_open(o, path, &db);
    assert_true(rc == STRATA_E_CORRUPTION || rc == STRATA_E_NOTFOUND);
    assert_null(db);
    assert_true(strata_errmsg()[0] != '\0');
    /* A failed open released the LOCK. */
    tu_assert_ok(strata_destroy(o, path));
    strata_options_destroy(o);
    tu_free_path(dir);
}

/* ---- out-of-memory loop ---------------------------------------------------------------------- */

/* Each allocation point runs in a forked child, so a crash at one point is reported with its
 * number and the loop goes on to find every distinct failure.  The child never calls cmocka: it
 * reports through its exit status. */
enum {
    OOM_OK = 0,          /* the injected failure happened and everything checked out */
    OOM_NOT_REACHED = 1, /* the workload made fewer allocations than n */
    OOM_REOPEN = 2,      /* reopen without injection failed */
    OOM_LOST = 3,        /* an acknowledged put is missing after reopen */
    OOM_CLOSE = 4        /* closing the reopened DB failed */
};

struct oom_run {
    int acked[40]; /* 1 when put i returned OK */
};

static strata_options *oom_options(strata_env *env)
{
    strata_options *o = strata_options_create();
    strata_options_set_create_if_missing(o, 1);
    strata_options_set_env(o, env);
    strata_options_set_write_buffer_size(o, eu_write_buffer_size());
    strata_options_set_block_cache_size(o, 256 << 10);
    strata_options_set_info_log(o, 0);
    return o;
}

static void oom_scan(strata_db *db)
{
    void *got = NULL;
    size_t gl;
    if (strata_get(db, NULL, "k05", 3, &got, &gl) == 0) {
        strata_free(got);
    }
    strata_iter *it = NULL;
    if (strata_iter_create(db, NULL, &it) == 0) {
        for (strata_iter_seek_to_first(it); strata_iter_valid(it); strata_iter_next(it)) {
        }
        strata_iter_destroy(it);
    }
}

/* Runs the workload with allocation n failing; returns 1 if the failure was injected. */
static int oom_workload(strata_env *env, struct oom_run *run, long n)
{
    strata_options *o = oom_options(env);
    strata_db *db = NULL;
    long fails0 = st_alloc_failures();
    st_alloc_fail_after(n, 0);
    if (strata_open(o, "/oomdb", &db) == 0) {
        char k[16], v[300];
        memset(v, 'v', sizeof(v));
        for (int i = 0; i < 40; i++) {
            snprintf(k, sizeof(k), "k%02d", i);
            run->acked[i] = strata_put(db, NULL, k, strlen(k), v, sizeof(v)) == 0;
            if (i == 20 || i == 30) {
                strata_flush(db, 1);
            }
        }
        strata_compact_range(db, NULL, 0, NULL, 0); /* compaction's allocations fail in turn too */
        oom_scan(db);
        strata_close(db);
    }
    st_alloc_fail_after(-1, 0);
    strata_options_destroy(o);
    return st_alloc_failures() != fails0;
}

static int oom_verify(strata_env *env, const struct oom_run *run)
{
    strata_options *o = oom_options(env);
    strata_db *db = NULL;
    int status = OOM_OK;
    if (strata_open(o, "/oomdb", &db) != 0) {
        fprintf(stderr, "  reopen: %s\n", strata_errmsg());
        status = OOM_REOPEN;
    }
    for (int i = 0; i < 40 && status == OOM_OK; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%02d", i);
        void *v = NULL;
        size_t vl = 0;
        int rc = strata_get(db, NULL, k, strlen(k), &v, &vl);
        if (run->acked[i] && rc != 0) {
            fprintf(stderr, "  acknowledged put %s lost (get %d: %s)\n", k, rc, strata_errmsg());
            status = OOM_LOST;
        }
        strata_free(v);
    }
    if (db && strata_close(db) != 0 && status == OOM_OK) {
        status = OOM_CLOSE;
    }
    strata_options_destroy(o);
    return status;
}

static int oom_child(long n)
{
    strata_env *env = strata_env_create_mem();
    struct oom_run run;
    memset(&run, 0, sizeof(run));
    if (!oom_workload(env, &run, n)) {
        strata_env_destroy(env);
        return OOM_NOT_REACHED;
    }
    int status = oom_verify(env, &run);
    strata_env_destroy(env);
    return status;
}

static void test_out_of_memory_loop(void **state)
{
    (void)state;
    long limit = (long)(4000 * tu_scale());
    long stride = 1, n = 0, bad = 0;
    for (; n < limit; n += stride) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            exit(oom_child(n)); /* exit, not _exit: LeakSanitizer checks the child for leaks */
        }
        int ws = 0;
        assert_int_equal(waitpid(pid, &ws, 0), pid);
        if (WIFEXITED(ws) && WEXITSTATUS(ws) == OOM_NOT_REACHED) {
            break; /* the workload needs fewer than n allocations: every one was failed once */
        }
        if (!WIFEXITED(ws) || WEXITSTATUS(ws) != OOM_OK) {
            if (bad++ < 10) {
                print_error(
                    "allocation %ld failed: %s %d\n", n,
                    WIFEXITED(ws) ? "check failed with status (23: leak)" : "crashed, signal",
                    WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws));
            }
        }
        if (n >= 150) {
            stride = 3; /* past open, sample the rest */
        }
    }
    print_message("out-of-memory loop: %ld allocation points tried, %ld failed\n", n, bad);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_null_db_functions, fx_setup, fx_teardown),
        cmocka_unit_test(test_null_object_functions),
        cmocka_unit_test_setup_teardown(test_null_void_functions, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_size_limits, fx_setup, fx_teardown),
        cmocka_unit_test(test_option_ranges),
        cmocka_unit_test_setup_teardown(test_option_cross_checks, fx_setup, fx_teardown),
        cmocka_unit_test(test_option_string_errors),
        cmocka_unit_test(test_strerror_names),
        cmocka_unit_test_setup_teardown(test_errmsg_after_errors, fx_setup, fx_teardown),
        cmocka_unit_test(test_open_damaged),
        cmocka_unit_test(test_out_of_memory_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
