/* test_table_scan.c — the damage-tolerant table scan (table/table_scan.h) through the in-memory
 * env: an intact table read through its index; a damaged data block skipped with exact bounds and
 * estimate; a destroyed footer, a scribbled index, a truncated file, an empty file and garbage read
 * in chain mode (both checksum kinds, with and without compression and a filter block); a damaged
 * footer version field read as version 2, an intact footer of another version refused; a search
 * budget that runs out; and every byte of a small table flipped in turn — the scan never fails,
 * never returns an entry that was not written, returns entries in order, and loses at most the
 * entries of the block the flip hit (plus, without a readable index, the one entry after it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/compress.h"
#include "env/env.h"
#include "strata.h"
#include "table/block.h"
#include "table/format.h"
#include "table/table_builder.h"
#include "table/table_scan.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/ikey.h"
#include "util/status.h"

/* after env.h: cmocka defines a skip() macro */
#include "test_util.h"

#define FNAME "/s.sst"

typedef struct entry {
    st_buf ikey, value;
} entry;

typedef struct blk {
    uint64_t offset, size;
    size_t first, n; /* entries [first, first + n) */
} blk;

typedef struct world {
    st_env *env;
    entry *e;
    size_t n;
    char *image; /* the intact table */
    size_t size;
    blk blocks[512];
    int nblocks;
    st_block_handle index;
    strata_filter_policy *bloom; /* used by build when use_bloom */
    int use_bloom;
} world;

static void make_entries(world *w, size_t n)
{
    w->e = calloc(n, sizeof(*w->e));
    w->n = n;
    for (size_t i = 0; i < n; i++) {
        char uk[32], v[64];
        snprintf(uk, sizeof(uk), "key%06zu", i * 3);
        tu_assert_ok(st_ikey_append(&w->e[i].ikey, st_slice_cstr(uk), 5000 - i % 7,
                                    i % 9 ? ST_TYPE_VALUE : ST_TYPE_DELETION));
        int vl = snprintf(v, sizeof(v), "value-%zu-%.*s", i, (int)(i % 30), "abcdefghijklmnopq"
                          "rstuvwxyzabcdef");
        tu_assert_ok(st_buf_assign(&w->e[i].value, v, (size_t)vl));
    }
}

static size_t find_entry(const world *w, st_slice ikey)
{
    for (size_t i = 0; i < w->n; i++) {
        if (st_slice_eq(st_buf_slice(&w->e[i].ikey), ikey)) {
            return i;
        }
    }
    return w->n;
}

/* Reads the index of the intact image to learn each data block's place and entries. */
static void learn_layout(world *w, int checksum)
{
    st_rfile *f = NULL;
    tu_assert_ok(st_env_new_random(w->env, FNAME, &f));
    st_footer ft;
    tu_assert_ok(st_footer_decode(w->image + w->size - ST_FOOTER_LEN, w->size, FNAME, &ft));
    assert_int_equal(ft.checksum, checksum);
    w->index = ft.index;
    st_block_contents c;
    st_block ix;
    tu_assert_ok(st_read_block(f, checksum, ft.index, 1, 0, FNAME, &c));
    tu_assert_ok(st_block_init(&ix, c.data, c.heap, FNAME, ft.index.offset));
    st_block_iter it;
    st_block_iter_init(&it, &ix, NULL);
    size_t next = 0;
    w->nblocks = 0;
    for (st_block_iter_seek_to_first(&it); st_block_iter_valid(&it); st_block_iter_next(&it)) {
        st_slice v = it.value;
        st_block_handle h;
        assert_true(st_handle_decode(&v, &h));
        blk *b = &w->blocks[w->nblocks++];
        b->offset = h.offset;
        b->size = h.size;
        b->first = next;
        st_block_contents dc;
        st_block db;
        tu_assert_ok(st_read_block(f, checksum, h, 1, 0, FNAME, &dc));
        tu_assert_ok(st_block_init(&db, dc.data, dc.heap, FNAME, h.offset));
        st_block_iter bi;
        st_block_iter_init(&bi, &db, NULL);
        b->n = 0;
        for (st_block_iter_seek_to_first(&bi); st_block_iter_valid(&bi);
             st_block_iter_next(&bi)) {
            b->n++;
        }
        next += b->n;
        st_block_iter_release(&bi);
        st_block_free(&db);
    }
    assert_int_equal(next, w->n);
    st_block_iter_release(&it);
    st_block_free(&ix);
    st_rfile_close(f);
}

static void build(world *w, int compression, int checksum, size_t block_size)
{
    st_wfile *f = NULL;
    st_table_builder *b = NULL;
    st_table_options o = {st_comparator_bytewise(), w->use_bloom ? w->bloom : NULL, block_size, 4,
                          compression, 3, checksum, 0, NULL, 0};
    tu_assert_ok(st_env_new_writable(w->env, FNAME, &f));
    tu_assert_ok(st_table_builder_create(&o, f, &b));
    for (size_t i = 0; i < w->n; i++) {
        tu_assert_ok(st_table_builder_add(b, st_buf_slice(&w->e[i].ikey),
                                          st_buf_slice(&w->e[i].value)));
    }
    tu_assert_ok(st_table_builder_finish(b));
    st_table_builder_destroy(b);
    tu_assert_ok(st_wfile_close(f));
    free(w->image);
    char *data = NULL;
    tu_assert_ok(st_env_read_file(w->env, FNAME, 1 << 24, &data, &w->size));
    w->image = malloc(w->size);
    memcpy(w->image, data, w->size);
    st_free(data);
    learn_layout(w, checksum);
}

/* Writes the intact image with fn applied to a copy (len may shrink it). */
static void write_image(world *w, const char *img, size_t len)
{
    tu_assert_ok(st_env_write_file(w->env, FNAME, st_slice_make(img, len), 0));
}

typedef struct result {
    size_t got;       /* entries returned */
    char *seen;       /* per entry index */
    int ndmg, nmeta, indexed;
    st_table_damage dmg[16];
    uint64_t est_total;
} result;

/* Scans the file as it is now; every entry returned must be one that was written, in order. */
static void scan(world *w, uint64_t budget, result *r)
{
    st_rfile *f = NULL;
    uint64_t size = 0;
    tu_assert_ok(st_env_file_size(w->env, FNAME, &size));
    tu_assert_ok(st_env_new_random(w->env, FNAME, &f));
    st_table_scan_options o = {st_comparator_bytewise(), FNAME, budget, NULL, NULL, 0};
    st_table_scan *s = NULL;
    tu_assert_ok(st_table_scan_open(&o, f, size, &s));
    memset(r, 0, sizeof(*r));
    r->seen = calloc(w->n + 1, 1);
    st_slice k, v;
    int rc;
    size_t prev = 0;
    while ((rc = st_table_scan_next(s, &k, &v)) == 1) {
        size_t i = find_entry(w, k);
        if (i == w->n) {
            print_error("the scan returned a key that was never written\n");
            fail();
        }
        tu_assert_bytes_equal(v.data, v.size, w->e[i].value.data, w->e[i].value.len);
        assert_true(r->got == 0 || i > prev);
        assert_false(r->seen[i]);
        r->seen[i] = 1;
        prev = i;
        r->got++;
    }
    tu_assert_ok(rc);
    assert_int_equal(st_table_scan_entries(s), r->got);
    r->ndmg = st_table_scan_num_damage(s);
    r->nmeta = st_table_scan_num_meta_damage(s);
    r->indexed = st_table_scan_indexed(s);
    for (int i = 0; i < r->ndmg; i++) {
        const st_table_damage *d = st_table_scan_damage(s, i);
        r->est_total += d->entries_est;
        if (i < 16) {
            r->dmg[i] = *d;
            memset(&r->dmg[i].lo, 0, sizeof(st_buf));
            memset(&r->dmg[i].hi, 0, sizeof(st_buf));
        }
    }
    st_table_scan_close(s);
}

static void result_free(result *r)
{
    free(r->seen);
}

static world *world_new(size_t n)
{
    world *w = calloc(1, sizeof(*w));
    w->env = st_env_mem_create();
    w->bloom = strata_filter_policy_create_bloom(10);
    make_entries(w, n);
    return w;
}

static void world_free(world *w)
{
    for (size_t i = 0; i < w->n; i++) {
        st_buf_free(&w->e[i].ikey);
        st_buf_free(&w->e[i].value);
    }
    free(w->e);
    free(w->image);
    strata_filter_policy_destroy(w->bloom);
    w->env->ops->destroy(w->env);
    free(w);
}

static const int kinds[] = {STRATA_CHECKSUM_CRC32C, STRATA_CHECKSUM_XXH3};

static int compression_for(int i)
{
    return i % 2 && st_compression_supported(STRATA_COMPRESSION_SNAPPY)
               ? STRATA_COMPRESSION_SNAPPY : STRATA_COMPRESSION_NONE;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_intact(void **state)
{
    (void)state;
    world *w = world_new(3000);
    build(w, STRATA_COMPRESSION_NONE, STRATA_CHECKSUM_CRC32C, 1024);
    result r;
    scan(w, 0, &r);
    assert_int_equal(r.got, w->n);
    assert_int_equal(r.ndmg, 0);
    assert_int_equal(r.nmeta, 0);
    assert_true(r.indexed);
    result_free(&r);
    world_free(w);
}

/* A damaged data block: exactly its entries are missing, its range and estimate are exact and
 * its bounds come from the index separators. */
static void test_damaged_block(void **state)
{
    (void)state;
    world *w = world_new(3000);
    for (int k = 0; k < 4; k++) {
        build(w, compression_for(k), kinds[k / 2], 1024);
        blk *b = &w->blocks[w->nblocks / 2];
        char *img = malloc(w->size);
        memcpy(img, w->image, w->size);
        img[b->offset + 3] ^= 0x01;
        write_image(w, img, w->size);
        result r;
        scan(w, 0, &r);
        assert_true(r.indexed);
        assert_int_equal(r.got, w->n - b->n);
        for (size_t i = 0; i < b->n; i++) {
            assert_false(r.seen[b->first + i]);
        }
        assert_int_equal(r.ndmg, 1);
        assert_int_equal(r.dmg[0].offset, b->offset);
        assert_int_equal(r.dmg[0].size, b->size);
        assert_int_equal(r.dmg[0].entries_est, b->n);
        assert_true(r.dmg[0].has_lo && r.dmg[0].has_hi && r.dmg[0].hi_incl && !r.dmg[0].lo_incl);
        result_free(&r);
        free(img);
    }
    world_free(w);
}

/* No footer, or no index: blocks are found by their trailers; with a damaged block too, the
 * search steps over it. */
static void test_chain_mode(void **state)
{
    (void)state;
    world *w = world_new(2000);
    for (int k = 0; k < 4; k++) {
        w->use_bloom = k == 1 || k == 2; /* the filter block sits between data and metadata */
        build(w, compression_for(k), kinds[k / 2], 512);
        char *img = malloc(w->size);
        /* (a) footer zeroed: every entry, checksum kind detected */
        memcpy(img, w->image, w->size);
        memset(img + w->size - ST_FOOTER_LEN, 0, ST_FOOTER_LEN);
        write_image(w, img, w->size);
        result r;
        scan(w, 0, &r);
        assert_false(r.indexed);
        assert_int_equal(r.got, w->n);
        assert_int_equal(r.ndmg, 0);
        assert_int_equal(r.nmeta, 1);
        result_free(&r);
        /* (b) index scribbled and a data block damaged */
        memcpy(img, w->image, w->size);
        for (uint64_t i = 0; i < w->index.size; i++) {
            img[w->index.offset + i] = (char)(0x5a ^ i);
        }
        blk *b = &w->blocks[w->nblocks / 3];
        img[b->offset + b->size / 2] ^= 0x40;
        write_image(w, img, w->size);
        scan(w, 0, &r);
        assert_false(r.indexed);
        assert_int_equal(r.ndmg, 1);
        assert_int_equal(r.dmg[0].offset, b->offset);
        assert_int_equal(r.dmg[0].size, b->size);
        assert_int_equal(r.got, w->n - b->n);
        assert_true(r.dmg[0].entries_est * 2 >= b->n && r.dmg[0].entries_est <= 2 * b->n);
        result_free(&r);
        /* (c) truncated in the middle of a block: the complete blocks before it */
        blk *t = &w->blocks[w->nblocks / 2];
        write_image(w, w->image, (size_t)(t->offset + t->size / 2));
        scan(w, 0, &r);
        assert_int_equal(r.got, t->first);
        assert_int_equal(r.ndmg, 1);
        assert_int_equal(r.dmg[0].offset, t->offset);
        result_free(&r);
        free(img);
    }
    world_free(w);
}

/* The footer's version field: one flipped bit is footer damage (the table is still read through
 * its index); an intact footer of another version is refused (NOTSUP), not guessed at. */
static void test_footer_version(void **state)
{
    (void)state;
    world *w = world_new(500);
    build(w, STRATA_COMPRESSION_NONE, STRATA_CHECKSUM_CRC32C, 1024);
    char *img = malloc(w->size);
    memcpy(img, w->image, w->size);
    char *foot = img + w->size - ST_FOOTER_LEN;
    foot[48] ^= 0x04; /* version 2 reads as 6 */
    write_image(w, img, w->size);
    result r;
    scan(w, 0, &r);
    assert_true(r.indexed);
    assert_int_equal(r.got, w->n);
    assert_int_equal(r.nmeta, 1);
    result_free(&r);
    st_encode_fixed32(foot + 48, 4); /* a well-formed footer of a version this build lacks */
    st_encode_fixed32(foot + 52, st_crc32c_mask(st_crc32c(foot, 52)));
    write_image(w, img, w->size);
    st_rfile *f = NULL;
    tu_assert_ok(st_env_new_random(w->env, FNAME, &f));
    st_table_scan_options o = {st_comparator_bytewise(), FNAME, 0, NULL, NULL, 0};
    st_table_scan *s = NULL;
    assert_int_equal(st_table_scan_open(&o, f, w->size, &s), STRATA_E_NOTSUP);
    assert_null(s);
    free(img);
    world_free(w);
}

static void test_empty_and_garbage(void **state)
{
    (void)state;
    world *w = world_new(10);
    write_image(w, "", 0);
    result r;
    scan(w, 0, &r);
    assert_int_equal(r.got, 0);
    assert_int_equal(r.ndmg, 0);
    result_free(&r);
    char junk[5000];
    for (size_t i = 0; i < sizeof(junk); i++) {
        junk[i] = (char)(i * 131 + 7);
    }
    write_image(w, junk, sizeof(junk));
    scan(w, 0, &r);
    assert_int_equal(r.got, 0);
    assert_int_equal(r.ndmg, 1);
    assert_int_equal(r.dmg[0].offset, 0);
    assert_int_equal(r.dmg[0].size, sizeof(junk));
    assert_false(r.dmg[0].has_lo || r.dmg[0].has_hi);
    result_free(&r);
    world_free(w);
}

/* A search budget that runs out reports the rest of the data region lost instead of searching
 * on. */
static void test_budget(void **state)
{
    (void)state;
    world *w = world_new(3000);
    build(w, STRATA_COMPRESSION_NONE, STRATA_CHECKSUM_XXH3, 1024);
    char *img = malloc(w->size);
    memcpy(img, w->image, w->size);
    memset(img + w->index.offset, 0x33, (size_t)w->index.size);
    blk *b = &w->blocks[2];
    img[b->offset + 5] ^= 0x04;
    write_image(w, img, w->size);
    result r;
    scan(w, 4096, &r);
    assert_true(r.got <= b->first);
    assert_true(r.ndmg >= 1);
    uint64_t covered = 0;
    for (int i = 0; i < r.ndmg && i < 16; i++) {
        covered += r.dmg[i].size;
    }
    assert_true(covered >= w->blocks[w->nblocks - 1].offset - b->offset);
    result_free(&r);
    free(img);
    world_free(w);
}

/* Every byte of a small table flipped in turn, for two settings. */
static void test_flip_every_byte(void **state)
{
    (void)state;
    world *w = world_new(120);
    for (int k = 0; k < 2; k++) {
        w->use_bloom = k;
        build(w, k ? compression_for(1) : STRATA_COMPRESSION_NONE, kinds[k], 256);
        char *img = malloc(w->size);
        size_t worst = 0;
        for (size_t at = 0; at < w->size; at++) {
            memcpy(img, w->image, w->size);
            img[at] ^= 0x08;
            write_image(w, img, w->size);
            result r;
            scan(w, 0, &r);
            size_t allowed = 0; /* a flip in a data block costs it (+1 without the index) */
            for (int i = 0; i < w->nblocks; i++) {
                if (at >= w->blocks[i].offset && at < w->blocks[i].offset + w->blocks[i].size) {
                    allowed = w->blocks[i].n + 1;
                }
            }
            if (w->n - r.got > allowed) {
                print_error("flip at %zu lost %zu entries (allowed %zu)\n", at, w->n - r.got,
                            allowed);
                fail();
            }
            worst = w->n - r.got > worst ? w->n - r.got : worst;
            result_free(&r);
        }
        print_message("%zu flips of a %d-block table, worst loss %zu of %zu entries\n", w->size,
                      w->nblocks, worst, w->n);
        free(img);
    }
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intact),
        cmocka_unit_test(test_damaged_block),
        cmocka_unit_test(test_chain_mode),
        cmocka_unit_test(test_footer_version),
        cmocka_unit_test(test_empty_and_garbage),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_flip_every_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
