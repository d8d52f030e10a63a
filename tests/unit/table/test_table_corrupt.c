/* test_table_corrupt.c — damaged tables: every byte of small tables flipped in turn (and a large
 * random sample for a bigger one).  Opening, iterating and looking up every key must give either
 * a clean error whose message names the file, or exactly the data written — never a crash, never
 * a value that was not written — and with checksums verified every flip must be noticed.  Also
 * truncated files, files that are not tables, a wrong magic number, a bumped format version,
 * and a file size larger than the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/compress.h"
#include "env/env.h"
#include "strata.h"
#include "table/format.h"
#include "table/table_builder.h"
#include "table/table_reader.h"
#include "util/alloc.h"
#include "util/cache.h"
#include "util/coding.h"
#include "util/compiler.h"
#include "util/ikey.h"
#include "util/random.h"
#include "util/status.h"

/* after env.h: cmocka defines a skip() macro */
#include "test_util.h"

#define FNAME "/c.sst"

typedef struct entry {
    st_buf ikey, value;
} entry;

typedef struct world {
    st_env *env;
    entry *e;
    size_t n;
    char *image; /* the intact table */
    size_t size;
    strata_filter_policy *bloom;
} world;

static void make_entries(world *w, size_t n, st_random *r)
{
    w->e = calloc(n, sizeof(*w->e));
    w->n = n;
    for (size_t i = 0; i < n; i++) {
        char uk[32];
        snprintf(uk, sizeof(uk), "key%06zu", i * 3);
        tu_assert_ok(st_ikey_append(&w->e[i].ikey, st_slice_cstr(uk), 1000 - i % 7,
                                    i % 9 ? ST_TYPE_VALUE : ST_TYPE_DELETION));
        size_t vlen = st_random_uniform(r, 60);
        tu_assert_ok(st_buf_reserve(&w->e[i].value, vlen + 1));
        for (size_t j = 0; j < vlen; j++) {
            w->e[i].value.data[j] = (char)('A' + (i + j) % 20);
        }
        w->e[i].value.len = vlen;
    }
}

static void build(world *w, int compression, int checksum, size_t block_size)
{
    st_table_options o;
    memset(&o, 0, sizeof(o));
    o.ucmp = st_comparator_bytewise();
    o.filter = w->bloom;
    o.block_size = block_size;
    o.restart_interval = 4;
    o.compression = compression;
    o.checksum = checksum;
    st_wfile *wf;
    tu_assert_ok(st_env_new_writable(w->env, FNAME, &wf));
    st_table_builder *b;
    tu_assert_ok(st_table_builder_create(&o, wf, &b));
    for (size_t i = 0; i < w->n; i++) {
        tu_assert_ok(st_table_builder_add(b, st_buf_slice(&w->e[i].ikey),
                                          st_buf_slice(&w->e[i].value)));
    }
    tu_assert_ok(st_table_builder_finish(b));
    st_table_builder_destroy(b);
    tu_assert_ok(st_wfile_close(wf));
    free(w->image);
    char *data;
    tu_assert_ok(st_env_read_file(w->env, FNAME, 1 << 24, &data, &w->size));
    w->image = malloc(w->size);
    memcpy(w->image, data, w->size);
    st_free(data);
}

static void write_image(world *w, const char *img, size_t len)
{
    tu_assert_ok(st_env_write_file(w->env, FNAME, st_slice_make(img, len), 0));
}

static void expect_clean_error(int rc)
{
    assert_true(rc == STRATA_E_CORRUPTION || rc == STRATA_E_NOTSUP);
    if (!strstr(st_errmsg(), FNAME)) {
        print_error("error message without the file name: %s\n", st_errmsg());
        fail();
    }
}

/* Opens the file as it is now; returns 0 and the table, or the (checked) error. */
static int try_open(world *w, uint64_t size, st_cache *cache, st_table **t)
{
    st_table_read_options ro;
    memset(&ro, 0, sizeof(ro));
    ro.ucmp = st_comparator_bytewise();
    ro.filter = w->bloom;
    ro.block_cache = cache;
    ro.fname = FNAME;
    st_rfile *rf;
    tu_assert_ok(st_env_new_random(w->env, FNAME, &rf));
    int rc = st_table_open(&ro, rf, size, t);
    if (rc) {
        st_rfile_close(rf);
        expect_clean_error(rc);
    }
    return rc;
}

/* Iterates: every entry yielded must be the next one written.  Returns 1 if an error was
 * reported. */
static int iterate_checked(world *w, st_table *t, const st_read_flags *rf)
{
    st_iter *it = st_table_iter(t, rf);
    assert_non_null(it);
    size_t i = 0;
    for (st_iter_seek_to_first(it); st_iter_valid(it); st_iter_next(it), i++) {
        assert_true(i < w->n);
        st_slice k = st_iter_key(it), v = st_iter_value(it);
        tu_assert_bytes_equal(k.data, k.size, w->e[i].ikey.data, w->e[i].ikey.len);
        tu_assert_bytes_equal(v.data, v.size, w->e[i].value.data, w->e[i].value.len);
    }
    int rc = st_iter_status(it);
    st_iter_destroy(it);
    if (rc) {
        expect_clean_error(rc);
        return 1;
    }
    assert_int_equal(i, w->n);
    return 0;
}

typedef struct got {
    int calls;
    const entry *want;
} got;

static int on_found(void *ctx, st_slice key, st_slice value, st_pin *pin)
{
    (void)pin;
    got *g = ctx;
    g->calls++;
    tu_assert_bytes_equal(key.data, key.size, g->want->ikey.data, g->want->ikey.len);
    tu_assert_bytes_equal(value.data, value.size, g->want->value.data, g->want->value.len);
    return 0;
}

/* Gets every key; found data must be exactly what was written.  Returns 1 on a reported
 * error. */
static int get_all_checked(world *w, st_table *t, const st_read_flags *rf)
{
    int errors = 0;
    for (size_t i = 0; i < w->n; i++) {
        got g = {0, &w->e[i]};
        int rc = st_table_get(t, rf, st_buf_slice(&w->e[i].ikey), on_found, &g);
        if (rc) {
            expect_clean_error(rc);
            errors = 1;
        } else {
            assert_int_equal(g.calls, 1);
        }
    }
    return errors;
}

/* Opens, iterates and gets; returns 1 if the damage was noticed anywhere. */
static int exercise(world *w, size_t size, st_cache *cache)
{
    st_table *t;
    if (try_open(w, size, cache, &t)) {
        return 1;
    }
    st_read_flags rf = {1, 1};
    int noticed = iterate_checked(w, t, &rf);
    noticed |= get_all_checked(w, t, &rf);
    noticed |= st_table_verify(t) != 0;
    st_table_close(t);
    if (cache) {
        st_cache_prune(cache);
    }
    return noticed;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof(*w));
    w->env = st_env_mem_create();
    w->bloom = strata_filter_policy_create_bloom(10);
    st_random r;
    st_random_seed(&r, tu_seed(31));
    make_entries(w, 40, &r);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    for (size_t i = 0; i < w->n; i++) {
        st_buf_free(&w->e[i].ikey);
        st_buf_free(&w->e[i].value);
    }
    free(w->e);
    free(w->image);
    strata_filter_policy_destroy(w->bloom);
    w->env->ops->destroy(w->env);
    free(w);
    return 0;
}

static void flip_every_byte(world *w, int compression, int checksum, st_cache *cache)
{
    build(w, compression, checksum, 200);
    assert_int_equal(exercise(w, w->size, cache), 0); /* intact */
    char *img = malloc(w->size);
    static const unsigned char xors[] = {0x01, 0x80, 0xff, 0x5a, 0x10};
    for (size_t pos = 0; pos < w->size; pos++) {
        unsigned char x = xors[pos % ST_ARRAY_LEN(xors)];
        memcpy(img, w->image, w->size);
        img[pos] ^= (char)x;
        write_image(w, img, w->size);
        if (!exercise(w, w->size, cache)) {
            print_error("flip of byte %zu (^0x%02x) of %zu went unnoticed\n", pos, x, w->size);
            fail();
        }
    }
    free(img);
}

static void test_flip_every_byte(void **state)
{
    world *w = *state;
    st_cache *cache = st_cache_create(1 << 20, 0);
    flip_every_byte(w, STRATA_COMPRESSION_NONE, STRATA_CHECKSUM_CRC32C, NULL);
    flip_every_byte(w, STRATA_COMPRESSION_NONE, STRATA_CHECKSUM_XXH3, cache);
    if (st_compression_supported(STRATA_COMPRESSION_ZSTD)) {
        flip_every_byte(w, STRATA_COMPRESSION_ZSTD, STRATA_CHECKSUM_CRC32C, cache);
    }
    if (st_compression_supported(STRATA_COMPRESSION_SNAPPY)) {
        flip_every_byte(w, STRATA_COMPRESSION_SNAPPY, STRATA_CHECKSUM_XXH3, NULL);
    }
    st_cache_unref(cache);
}

/* A bigger table (many blocks): a random sample of positions, several bytes at once. */
static void test_flip_sample_big(void **state)
{
    world *w = *state;
    for (size_t i = 0; i < w->n; i++) {
        st_buf_free(&w->e[i].ikey);
        st_buf_free(&w->e[i].value);
    }
    free(w->e);
    st_random r;
    st_random_seed(&r, tu_seed(32));
    make_entries(w, 3000, &r);
    int lz4 = st_compression_supported(STRATA_COMPRESSION_LZ4);
    build(w, lz4 ? STRATA_COMPRESSION_LZ4 : 0, STRATA_CHECKSUM_CRC32C, 1024);
    char *img = malloc(w->size);
    for (int trial = 0; trial < 300; trial++) {
        memcpy(img, w->image, w->size);
        int nflips = 1 + (int)st_random_uniform(&r, 3);
        for (int k = 0; k < nflips; k++) {
            size_t pos = trial < 40 ? w->size - 1 - st_random_uniform(&r, 300)
                                    : st_random_uniform(&r, w->size);
            img[pos] ^= (char)(1 + st_random_uniform(&r, 255));
        }
        write_image(w, img, w->size);
        assert_int_equal(exercise(w, w->size, NULL), 1);
    }
    free(img);
}

static void test_truncated(void **state)
{
    world *w = *state;
    build(w, STRATA_COMPRESSION_NONE, STRATA_CHECKSUM_CRC32C, 200);
    for (size_t len = 0; len < w->size; len++) {
        write_image(w, w->image, len);
        st_table *t;
        assert_int_not_equal(try_open(w, len, NULL, &t), 0);
    }
    /* the size the caller passes exceeds the file */
    write_image(w, w->image, w->size);
    st_table *t;
    assert_int_equal(try_open(w, w->size + 10, NULL, &t), STRATA_E_CORRUPTION);
}

static void test_not_a_table(void **state)
{
    world *w = *state;
    char junk[500];
    memset(junk, 'j', sizeof(junk));
    write_image(w, junk, sizeof(junk));
    st_table *t;
    assert_int_equal(try_open(w, sizeof(junk), NULL, &t), STRATA_E_CORRUPTION);
    assert_non_null(strstr(st_errmsg(), "not a strata table"));
    write_image(w, junk, 10);
    assert_int_equal(try_open(w, 10, NULL, &t), STRATA_E_CORRUPTION);
    assert_non_null(strstr(st_errmsg(), "not a strata table"));
    /* wrong magic on a real table */
    build(w, STRATA_COMPRESSION_NONE, STRATA_CHECKSUM_CRC32C, 200);
    char *img = malloc(w->size);
    memcpy(img, w->image, w->size);
    img[w->size - 3] ^= 0x10;
    write_image(w, img, w->size);
    assert_int_equal(try_open(w, w->size, NULL, &t), STRATA_E_CORRUPTION);
    assert_non_null(strstr(st_errmsg(), "not a strata table"));
    free(img);
}

static void test_format_version(void **state)
{
    world *w = *state;
    build(w, STRATA_COMPRESSION_NONE, STRATA_CHECKSUM_XXH3, 200);
    char *img = malloc(w->size);
    memcpy(img, w->image, w->size);
    char *footer = img + w->size - ST_FOOTER_LEN;
    assert_int_equal(st_decode_fixed32(footer + 48), ST_TABLE_FORMAT_VERSION);
    st_table *t;
    /* Version 1 (block checksums without the block offset) and future versions are refused. */
    st_encode_fixed32(footer + 48, 1);
    write_image(w, img, w->size);
    assert_int_equal(try_open(w, w->size, NULL, &t), STRATA_E_CORRUPTION);
    assert_non_null(strstr(st_errmsg(), "unsupported table format version 1"));
    st_encode_fixed32(footer + 48, ST_TABLE_FORMAT_VERSION_X + 1);
    write_image(w, img, w->size);
    assert_int_equal(try_open(w, w->size, NULL, &t), STRATA_E_CORRUPTION);
    assert_non_null(strstr(st_errmsg(), "unsupported table format version 4"));
    /* A version-2 footer relabelled 3 is not a valid version-3 footer. */
    st_encode_fixed32(footer + 48, ST_TABLE_FORMAT_VERSION_X);
    write_image(w, img, w->size);
    assert_int_equal(try_open(w, w->size, NULL, &t), STRATA_E_CORRUPTION);
    assert_non_null(strstr(st_errmsg(), "corrupted table footer"));
    st_encode_fixed32(footer + 48, 0);
    write_image(w, img, w->size);
    assert_int_equal(try_open(w, w->size, NULL, &t), STRATA_E_CORRUPTION);
    assert_non_null(strstr(st_errmsg(), "unsupported table format version 0"));
    free(img);
}

/* With data checksums off, damage may go unnoticed, but reading must stay safe (ASan). */
static void test_unverified_reads_stay_safe(void **state)
{
    world *w = *state;
    build(w, STRATA_COMPRESSION_NONE, STRATA_CHECKSUM_CRC32C, 200);
    char *img = malloc(w->size);
    st_random r;
    st_random_seed(&r, tu_seed(33));
    st_read_flags rf = {0, 0};
    for (size_t pos = 0; pos < w->size; pos++) {
        memcpy(img, w->image, w->size);
        img[pos] ^= (char)(1 + st_random_uniform(&r, 255));
        write_image(w, img, w->size);
        st_table *t;
        if (try_open(w, w->size, NULL, &t)) {
            continue;
        }
        st_iter *it = st_table_iter(t, &rf);
        size_t n = 0;
        for (st_iter_seek_to_first(it); st_iter_valid(it) && n < 10000; st_iter_next(it)) {
            n++;
        }
        for (st_iter_seek_to_last(it); st_iter_valid(it) && n < 20000; st_iter_prev(it)) {
            n++;
        }
        int rc = st_iter_status(it);
        assert_true(rc == 0 || rc == STRATA_E_CORRUPTION || rc == STRATA_E_NOTSUP);
        st_iter_destroy(it);
        for (size_t i = 0; i < w->n; i++) {
            st_table_approx_offset(t, st_buf_slice(&w->e[i].ikey));
        }
        st_table_close(t);
    }
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flip_every_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flip_sample_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unverified_reads_stay_safe, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
