/* test_table.c — table builder and reader end to end through the in-memory env: random internal
 * keys (several versions per user key, values and deletions) written with every compression and
 * checksum kind, reopened, iterated both ways, sought, and looked up (present and absent keys,
 * with and without a filter) against a sorted reference model; block cache on and off,
 * fill_cache off with pin ownership, approx_offset monotone, properties, verify, paranoid open,
 * user comparators and filter policies, empty tables, big entries, write errors, out-of-memory
 * loops and concurrent readers. */
#include <pthread.h>
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

/* ---- reference model --------------------------------------------------------------------- */

typedef struct entry {
    st_buf ikey;
    st_buf value;
} entry;

typedef struct model {
    entry *e;
    size_t n;
    const st_comparator *ucmp;
} model;

static const st_comparator *sort_cmp;

static int entry_cmp(const void *a, const void *b)
{
    return st_ikey_cmp(sort_cmp, st_buf_slice(&((const entry *)a)->ikey),
                       st_buf_slice(&((const entry *)b)->ikey));
}

/* n user keys (some long), each with 1..3 versions; values of varied size, some deletions. */
static void model_make(model *m, st_random *r, size_t nkeys, const st_comparator *ucmp,
                       size_t big_every)
{
    m->e = calloc(nkeys * 3, sizeof(*m->e));
    m->n = 0;
    m->ucmp = ucmp;
    for (size_t i = 0; i < nkeys; i++) {
        char uk[300];
        int len = snprintf(uk, sizeof(uk), "user%08llu",
                           (unsigned long long)(st_random_uniform(r, 1000000) * 1000 + i));
        if (st_random_one_in(r, 20)) {
            memset(uk + len, 'L', 150);
            len += 150;
        }
        int versions = 1 + (int)st_random_uniform(r, 3);
        for (int v = 0; v < versions; v++) {
            entry *e = &m->e[m->n++];
            int type = st_random_one_in(r, 5) ? ST_TYPE_DELETION : ST_TYPE_VALUE;
            tu_assert_ok(st_ikey_append(&e->ikey, st_slice_make(uk, (size_t)len),
                                        1 + st_random_uniform(r, 1u << 20), type));
            size_t vlen = type == ST_TYPE_DELETION ? 0 : st_random_uniform(r, 100);
            if (big_every && st_random_one_in(r, big_every)) {
                vlen = 100000 + st_random_uniform(r, 100000);
            }
            tu_assert_ok(st_buf_reserve(&e->value, vlen + 1));
            for (size_t j = 0; j < vlen; j++) {
                e->value.data[j] = (char)('a' + (j * 7 + i) % 26); /* compressible */
            }
            e->value.len = vlen;
        }
    }
    sort_cmp = ucmp;
    qsort(m->e, m->n, sizeof(*m->e), entry_cmp);
    /* drop exact duplicates (same user key and seq) so keys are strictly increasing */
    size_t w = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (w && entry_cmp(&m->e[w - 1], &m->e[i]) == 0) {
            st_buf_free(&m->e[i].ikey);
            st_buf_free(&m->e[i].value);
            continue;
        }
        m->e[w++] = m->e[i];
    }
    m->n = w;
}

static void model_free(model *m)
{
    for (size_t i = 0; i < m->n; i++) {
        st_buf_free(&m->e[i].ikey);
        st_buf_free(&m->e[i].value);
    }
    free(m->e);
}

/* Index of the first entry >= ikey (m->n if none). */
static size_t model_lower_bound(const model *m, st_slice ikey)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st_ikey_cmp(m->ucmp, st_buf_slice(&m->e[mid].ikey), ikey) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* ---- building and opening -------------------------------------------------------------------- */

static st_table_options default_topts(void)
{
    st_table_options o;
    memset(&o, 0, sizeof(o));
    o.ucmp = st_comparator_bytewise();
    o.block_size = 1024;
    o.restart_interval = 16;
    o.compression = STRATA_COMPRESSION_NONE;
    o.zstd_level = 3;
    o.checksum = STRATA_CHECKSUM_CRC32C;
    o.creation_time = 1700000000;
    return o;
}

static uint64_t build_table(st_env *env, const char *fname, const st_table_options *o,
                            const model *m)
{
    st_wfile *wf;
    tu_assert_ok(st_env_new_writable(env, fname, &wf));
    st_table_builder *b;
    tu_assert_ok(st_table_builder_create(o, wf, &b));
    for (size_t i = 0; i < m->n; i++) {
        tu_assert_ok(st_table_builder_add(b, st_buf_slice(&m->e[i].ikey),
                                          st_buf_slice(&m->e[i].value)));
    }
    tu_assert_ok(st_table_builder_finish(b));
    uint64_t size = st_table_builder_file_size(b);
    assert_int_equal(st_table_builder_num_entries(b), m->n);
    assert_int_equal(st_table_builder_props(b)->num_entries, m->n);
    st_table_builder_destroy(b);
    tu_assert_ok(st_wfile_sync(wf));
    tu_assert_ok(st_wfile_close(wf));
    uint64_t fsize;
    tu_assert_ok(st_env_file_size(env, fname, &fsize));
    assert_int_equal(fsize, size);
    return size;
}

static st_table *open_table(st_env *env, const char *fname, const st_table_read_options *ro)
{
    st_rfile *rf;
    uint64_t size;
    tu_assert_ok(st_env_file_size(env, fname, &size));
    tu_assert_ok(st_env_new_random(env, fname, &rf));
    st_table *t;
    tu_assert_ok(st_table_open(ro, rf, size, &t));
    return t;
}

static st_table_read_options default_ropts(const char *fname)
{
    st_table_read_options ro;
    memset(&ro, 0, sizeof(ro));
    ro.ucmp = st_comparator_bytewise();
    ro.fname = fname;
    return ro;
}

/* ---- checks -------------------------------------------------------------------------------- */

static void check_iteration(st_table *t, const model *m, const st_read_flags *rf)
{
    st_iter *it = st_table_iter(t, rf);
    assert_non_null(it);
    size_t i = 0;
    for (st_iter_seek_to_first(it); st_iter_valid(it); st_iter_next(it), i++) {
        assert_true(i < m->n);
        st_slice k = st_iter_key(it), v = st_iter_value(it);
        tu_assert_bytes_equal(k.data, k.size, m->e[i].ikey.data, m->e[i].ikey.len);
        tu_assert_bytes_equal(v.data, v.size, m->e[i].value.data, m->e[i].value.len);
    }
    tu_assert_ok(st_iter_status(it));
    assert_int_equal(i, m->n);
    for (st_iter_seek_to_last(it); st_iter_valid(it); st_iter_prev(it)) {
        i--;
        st_slice k = st_iter_key(it);
        tu_assert_bytes_equal(k.data, k.size, m->e[i].ikey.data, m->e[i].ikey.len);
    }
    tu_assert_ok(st_iter_status(it));
    assert_int_equal(i, 0);
    st_iter_destroy(it);
}

/* A lookup key (user key, seq) with the seek type, so it sorts before every entry of that seq. */
static void lookup_key(st_buf *b, st_slice ukey, uint64_t seq)
{
    st_buf_clear(b);
    tu_assert_ok(st_ikey_append(b, ukey, seq, ST_TYPE_FOR_SEEK));
}

static void check_seek(st_table *t, const model *m, st_random *r)
{
    st_iter *it = st_table_iter(t, NULL);
    st_buf target = ST_BUF_INIT;
    for (int probe = 0; probe < 400 && m->n; probe++) {
        size_t i = st_random_uniform(r, m->n);
        st_slice uk = st_ikey_user(st_buf_slice(&m->e[i].ikey));
        char alt[400];
        memcpy(alt, uk.data, uk.size);
        size_t alen = uk.size;
        if (probe % 3 == 1) {
            alt[alen++] = '\x01'; /* a user key that is absent */
        }
        lookup_key(&target, st_slice_make(alt, alen), probe % 2 ? ST_MAX_SEQ
                                                                : st_random_uniform(r, 1u << 20));
        size_t want = model_lower_bound(m, st_buf_slice(&target));
        st_iter_seek(it, st_buf_slice(&target));
        if (want == m->n) {
            assert_false(st_iter_valid(it));
            continue;
        }
        assert_true(st_iter_valid(it));
        st_slice k = st_iter_key(it);
        tu_assert_bytes_equal(k.data, k.size, m->e[want].ikey.data, m->e[want].ikey.len);
        if (want > 0) {
            st_iter_prev(it);
            k = st_iter_key(it);
            tu_assert_bytes_equal(k.data, k.size, m->e[want - 1].ikey.data,
                                  m->e[want - 1].ikey.len);
        }
    }
    tu_assert_ok(st_iter_status(it));
    st_buf_free(&target);
    st_iter_destroy(it);
}

typedef struct found_rec {
    int calls;
    st_buf key, value;
    int take_pin;
    st_pin pin;       /* when taken */
    st_slice pinned;  /* value borrowed through the taken pin */
} found_rec;

static int on_found(void *ctx, st_slice key, st_slice value, st_pin *pin)
{
    found_rec *f = ctx;
    f->calls++;
    tu_assert_ok(st_buf_assign(&f->key, key.data, key.size));
    tu_assert_ok(st_buf_assign(&f->value, value.data, value.size));
    if (f->take_pin) {
        f->pin = *pin;
        pin->release = NULL;
        f->pinned = value;
    }
    return 0;
}

static void found_reset(found_rec *f)
{
    f->calls = 0;
    st_buf_clear(&f->key);
    st_buf_clear(&f->value);
}

/* Gets for present keys (exact and newest-version lookups) and absent keys; returns how many
 * absent-key lookups reached the data (filter false positives when a filter is in use). */
static int check_gets(st_table *t, const model *m, const st_read_flags *rf, st_random *r,
                      int probes)
{
    found_rec f = {0};
    st_buf target = ST_BUF_INIT;
    int absent_calls = 0;
    for (int p = 0; p < probes && m->n; p++) {
        size_t i = st_random_uniform(r, m->n);
        st_slice ik = st_buf_slice(&m->e[i].ikey);
        found_reset(&f);
        tu_assert_ok(st_table_get(t, rf, ik, on_found, &f));
        assert_int_equal(f.calls, 1);
        tu_assert_bytes_equal(f.key.data, f.key.len, ik.data, ik.size);
        tu_assert_bytes_equal(f.value.data, f.value.len, m->e[i].value.data, m->e[i].value.len);
        /* newest version: the first entry of this user key */
        lookup_key(&target, st_ikey_user(ik), ST_MAX_SEQ);
        size_t want = model_lower_bound(m, st_buf_slice(&target));
        found_reset(&f);
        tu_assert_ok(st_table_get(t, rf, st_buf_slice(&target), on_found, &f));
        assert_int_equal(f.calls, 1);
        tu_assert_bytes_equal(f.key.data, f.key.len, m->e[want].ikey.data, m->e[want].ikey.len);
        /* absent user key: no call, or exactly the model's next entry */
        char alt[400];
        memcpy(alt, ik.data, ik.size - 8);
        alt[ik.size - 8] = '~';
        lookup_key(&target, st_slice_make(alt, ik.size - 7), ST_MAX_SEQ);
        want = model_lower_bound(m, st_buf_slice(&target));
        found_reset(&f);
        tu_assert_ok(st_table_get(t, rf, st_buf_slice(&target), on_found, &f));
        assert_true(f.calls <= 1);
        if (f.calls) {
            absent_calls++;
            assert_true(want < m->n);
            tu_assert_bytes_equal(f.key.data, f.key.len, m->e[want].ikey.data,
                                  m->e[want].ikey.len);
        }
    }
    st_buf_free(&target);
    st_buf_free(&f.key);
    st_buf_free(&f.value);
    return absent_calls;
}

static void check_approx(st_table *t, const model *m, uint64_t fsize)
{
    uint64_t prev = 0;
    for (size_t i = 0; i < m->n; i += 7) {
        uint64_t off = st_table_approx_offset(t, st_buf_slice(&m->e[i].ikey));
        assert_true(off >= prev);
        assert_true(off < fsize);
        prev = off;
    }
    if (m->n) {
        assert_int_equal(st_table_approx_offset(t, st_buf_slice(&m->e[0].ikey)), 0);
    }
    /* after the last key: inside the last block's index range, or (bytewise "\xff...")
     * past every separator */
    st_buf past = ST_BUF_INIT;
    tu_assert_ok(st_ikey_append(&past, m->n ? st_ikey_user(st_buf_slice(&m->e[m->n - 1].ikey))
                                            : st_slice_cstr("z"),
                                0, ST_TYPE_DELETION));
    uint64_t off = st_table_approx_offset(t, st_buf_slice(&past));
    assert_true(off >= prev && off <= fsize);
    if (m->ucmp->bytewise) {
        st_buf_clear(&past);
        tu_assert_ok(st_ikey_append(&past, st_slice_cstr("\xff\xff\xff"), 1, ST_TYPE_VALUE));
        assert_int_equal(st_table_approx_offset(t, st_buf_slice(&past)), fsize);
    }
    st_buf_free(&past);
}

static void check_props(const st_table_props *p, const model *m, const st_table_options *o,
                        uint64_t fsize)
{
    uint64_t dels = 0, ks = 0, vs = 0, lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < m->n; i++) {
        uint64_t tr = st_ikey_trailer(st_buf_slice(&m->e[i].ikey));
        dels += (tr & 0xff) == ST_TYPE_DELETION;
        ks += m->e[i].ikey.len;
        vs += m->e[i].value.len;
        lo = ST_MIN(lo, tr >> 8);
        hi = ST_MAX(hi, tr >> 8);
    }
    assert_int_equal(p->format_version, ST_TABLE_FORMAT_VERSION);
    assert_int_equal(p->num_entries, m->n);
    assert_int_equal(p->num_deletions, dels);
    assert_int_equal(p->raw_key_size, ks);
    assert_int_equal(p->raw_value_size, vs);
    if (m->n) {
        assert_int_equal(p->smallest_seq, lo);
        assert_int_equal(p->largest_seq, hi);
        assert_true(p->num_data_blocks >= 1);
    }
    assert_int_equal(p->compression, (uint64_t)o->compression);
    assert_int_equal(p->checksum, (uint64_t)o->checksum);
    assert_int_equal(p->creation_time, o->creation_time);
    assert_string_equal(p->comparator_name, st_comparator_name(o->ucmp));
    assert_string_equal(p->filter_name, o->filter ? st_filter_name(o->filter) : "");
    assert_true(p->index_size > 0);
    assert_true(p->data_size + p->index_size + p->filter_size < fsize);
    assert_true(o->filter ? p->filter_size > 0 : p->filter_size == 0);
}

/* ---- tests --------------------------------------------------------------------------------- */

typedef struct fixture {
    st_env *env;
    st_random r;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->env = st_env_mem_create();
    st_random_seed(&f->r, tu_seed(21));
    *state = f;
    return f->env ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    f->env->ops->destroy(f->env);
    free(f);
    return 0;
}

static const int compressions[] = {STRATA_COMPRESSION_NONE, STRATA_COMPRESSION_SNAPPY,
                                   STRATA_COMPRESSION_LZ4, STRATA_COMPRESSION_ZSTD};
static const int checksums[] = {STRATA_CHECKSUM_CRC32C, STRATA_CHECKSUM_XXH3};

/* Full round trip of one configuration, with and without a block cache. */
static void roundtrip(fixture *fx, const model *m, const st_table_options *o)
{
    uint64_t fsize = build_table(fx->env, "/t.sst", o, m);
    for (int with_cache = 0; with_cache <= 1; with_cache++) {
        st_cache *cache = with_cache ? st_cache_create(1 << 20, 2) : NULL;
        st_table_read_options ro = default_ropts("/t.sst");
        ro.ucmp = o->ucmp;
        ro.filter = o->filter;
        ro.block_cache = cache;
        st_table *t = open_table(fx->env, "/t.sst", &ro);
        st_read_flags rf = {1, 1};
        check_iteration(t, m, &rf);
        check_seek(t, m, &fx->r);
        int fp = check_gets(t, m, &rf, &fx->r, 200);
        if (o->filter) {
            assert_true(fp <= 20); /* ~1% expected out of 200 */
        }
        check_approx(t, m, fsize);
        check_props(st_table_get_props(t), m, o, fsize);
        tu_assert_ok(st_table_verify(t));
        assert_true(st_table_memory_usage(t) > st_table_get_props(t)->index_size / 2);
        st_table_close(t);
        if (cache) {
            st_cache_unref(cache);
        }
    }
}

static void test_every_codec_and_checksum(void **state)
{
    fixture *fx = *state;
    model m;
    model_make(&m, &fx->r, 800, st_comparator_bytewise(), 0);
    strata_filter_policy *bloom = strata_filter_policy_create_bloom(10);
    for (size_t c = 0; c < ST_ARRAY_LEN(compressions); c++) {
        for (size_t s = 0; s < ST_ARRAY_LEN(checksums); s++) {
            st_table_options o = default_topts();
            o.compression = compressions[c];
            o.checksum = checksums[s];
            o.filter = (c + s) % 2 ? bloom : NULL;
            if (!st_compression_supported(o.compression)) {
                continue;
            }
            roundtrip(fx, &m, &o);
        }
    }
    strata_filter_policy_destroy(bloom);
    model_free(&m);
}

static void test_filter_skips_reads(void **state)
{
    fixture *fx = *state;
    model m;
    model_make(&m, &fx->r, 2000, st_comparator_bytewise(), 0);
    strata_filter_policy *bloom = strata_filter_policy_create_bloom(10);
    st_table_options o = default_topts();
    o.filter = bloom;
    build_table(fx->env, "/f.sst", &o, &m);
    st_cache *cache = st_cache_create(8 << 20, 0);
    st_table_read_options ro = default_ropts("/f.sst");
    ro.filter = bloom;
    ro.block_cache = cache;
    st_table *t = open_table(fx->env, "/f.sst", &ro);
    /* absent user keys the filter rules out touch no data block */
    st_buf target = ST_BUF_INIT;
    found_rec f = {0};
    int reached = 0;
    for (int i = 0; i < 1000; i++) {
        char k[32];
        snprintf(k, sizeof(k), "nothere%d", i);
        lookup_key(&target, st_slice_cstr(k), ST_MAX_SEQ);
        size_t before = st_cache_usage(cache);
        found_reset(&f);
        tu_assert_ok(st_table_get(t, NULL, st_buf_slice(&target), on_found, &f));
        if (st_cache_usage(cache) != before || f.calls) {
            reached++;
        }
    }
    assert_true(reached < 30);
    st_table_close(t);
    /* opened with a policy of another name, the filter is ignored: every lookup reads */
    strata_filter_policy *other = strata_filter_policy_create(NULL, NULL, NULL, NULL, NULL);
    assert_null(other);
    strata_filter_policy *bloom5 = strata_filter_policy_create_bloom(5); /* same name */
    ro.filter = bloom5;
    t = open_table(fx->env, "/f.sst", &ro);
    assert_int_equal(check_gets(t, &m, NULL, &fx->r, 100) <= 10, 1);
    st_table_close(t);
    ro.filter = NULL;
    t = open_table(fx->env, "/f.sst", &ro);
    int calls = check_gets(t, &m, NULL, &fx->r, 100);
    assert_true(calls >= 90); /* no filter: only lookups past the last key miss the data */
    st_table_close(t);
    st_buf_free(&target);
    st_buf_free(&f.key);
    st_buf_free(&f.value);
    st_cache_unref(cache);
    strata_filter_policy_destroy(bloom);
    strata_filter_policy_destroy(bloom5);
    model_free(&m);
}

static void test_block_cache_fill(void **state)
{
    fixture *fx = *state;
    model m;
    model_make(&m, &fx->r, 1000, st_comparator_bytewise(), 0);
    st_table_options o = default_topts();
    build_table(fx->env, "/c.sst", &o, &m);
    st_cache *cache = st_cache_create(64 << 20, 0);
    st_table_read_options ro = default_ropts("/c.sst");
    ro.block_cache = cache;
    st_table *t = open_table(fx->env, "/c.sst", &ro);
    st_read_flags nofill = {1, 0}, fill = {1, 1};
    check_iteration(t, &m, &nofill);
    check_gets(t, &m, &nofill, &fx->r, 50);
    assert_int_equal(st_cache_usage(cache), 0);
    check_iteration(t, &m, &fill);
    size_t usage = st_cache_usage(cache);
    assert_true(usage > 0);
    /* charged by decoded size: all data blocks together are about the data size */
    const st_table_props *p = st_table_get_props(t);
    assert_true(usage <= p->data_size);
    assert_true(usage >= p->data_size - p->num_data_blocks * 6);
    /* cached blocks serve non-filling readers too, unchanged */
    check_iteration(t, &m, &nofill);
    check_gets(t, &m, &nofill, &fx->r, 50);
    assert_int_equal(st_cache_usage(cache), usage);
    assert_int_equal(st_cache_pinned_usage(cache), 0);
    st_table_close(t);
    /* a second open of the same file gets fresh cache keys */
    t = open_table(fx->env, "/c.sst", &ro);
    check_iteration(t, &m, &fill);
    assert_int_equal(st_cache_usage(cache), 2 * usage);
    st_table_close(t);
    st_cache_unref(cache);
    model_free(&m);
}

static void test_pin_ownership(void **state)
{
    fixture *fx = *state;
    model m;
    model_make(&m, &fx->r, 300, st_comparator_bytewise(), 0);
    st_table_options o = default_topts();
    build_table(fx->env, "/p.sst", &o, &m);
    for (int mode = 0; mode < 3; mode++) { /* no cache; cache + fill; cache without fill */
        st_cache *cache = mode ? st_cache_create(1 << 20, 0) : NULL;
        st_table_read_options ro = default_ropts("/p.sst");
        ro.block_cache = cache;
        st_table *t = open_table(fx->env, "/p.sst", &ro);
        st_read_flags rf = {1, mode != 2};
        found_rec held[10];
        memset(held, 0, sizeof(held));
        for (int i = 0; i < 10; i++) {
            held[i].take_pin = 1;
            tu_assert_ok(st_table_get(t, &rf, st_buf_slice(&m.e[i * 29].ikey), on_found,
                                      &held[i]));
            assert_int_equal(held[i].calls, 1);
            assert_non_null(held[i].pin.release);
        }
        if (mode == 1) {
            assert_true(st_cache_pinned_usage(cache) > 0);
        }
        /* the pinned values stay readable after the calls returned */
        for (int i = 0; i < 10; i++) {
            tu_assert_bytes_equal(held[i].pinned.data, held[i].pinned.size,
                                  m.e[i * 29].value.data, m.e[i * 29].value.len);
            st_pin_release(&held[i].pin);
            st_buf_free(&held[i].key);
            st_buf_free(&held[i].value);
        }
        if (cache) {
            assert_int_equal(st_cache_pinned_usage(cache), 0);
        }
        st_table_close(t);
        if (cache) {
            st_cache_unref(cache);
        }
    }
    model_free(&m);
}

static void test_empty_table(void **state)
{
    fixture *fx = *state;
    model m = {NULL, 0, st_comparator_bytewise()};
    strata_filter_policy *bloom = strata_filter_policy_create_bloom(10);
    st_table_options o = default_topts();
    o.filter = bloom;
    uint64_t fsize = build_table(fx->env, "/e.sst", &o, &m);
    st_table_read_options ro = default_ropts("/e.sst");
    ro.filter = bloom;
    st_table *t = open_table(fx->env, "/e.sst", &ro);
    check_iteration(t, &m, NULL);
    found_rec f = {0};
    st_buf k = ST_BUF_INIT;
    lookup_key(&k, st_slice_cstr("x"), 5);
    tu_assert_ok(st_table_get(t, NULL, st_buf_slice(&k), on_found, &f));
    assert_int_equal(f.calls, 0);
    assert_int_equal(st_table_approx_offset(t, st_buf_slice(&k)), fsize);
    assert_int_equal(st_table_get_props(t)->num_entries, 0);
    assert_int_equal(st_table_get_props(t)->num_data_blocks, 0);
    tu_assert_ok(st_table_verify(t));
    /* a short key is a caller error */
    assert_int_equal(st_table_get(t, NULL, st_slice_cstr("abc"), on_found, &f), STRATA_E_INVALID);
    st_buf_free(&k);
    st_table_close(t);
    strata_filter_policy_destroy(bloom);
}

static void test_big_entries(void **state)
{
    fixture *fx = *state;
    model m;
    model_make(&m, &fx->r, 300, st_comparator_bytewise(), 30);
    for (size_t c = 0; c < ST_ARRAY_LEN(compressions); c++) {
        st_table_options o = default_topts();
        o.block_size = 4096;
        o.restart_interval = 4;
        o.compression = compressions[c];
        if (st_compression_supported(o.compression)) {
            roundtrip(fx, &m, &o);
        }
    }
    model_free(&m);
}

/* Reverse bytewise order: no key shortening, internal order still by seq within a key. */
static int rev_cmp(void *state, const char *a, size_t alen, const char *b, size_t blen)
{
    (void)state;
    return -st_slice_cmp(st_slice_make(a, alen), st_slice_make(b, blen));
}

static const char *rev_name(void *state)
{
    (void)state;
    return "test.reverse";
}

static void test_user_comparator(void **state)
{
    fixture *fx = *state;
    strata_comparator *rev = strata_comparator_create(NULL, NULL, rev_cmp, rev_name);
    model m;
    model_make(&m, &fx->r, 500, rev, 0);
    st_table_options o = default_topts();
    o.ucmp = rev;
    o.block_size = 256;
    roundtrip(fx, &m, &o);
    strata_comparator_destroy(rev);
    model_free(&m);
}

static void test_paranoid_open(void **state)
{
    fixture *fx = *state;
    model m;
    model_make(&m, &fx->r, 200, st_comparator_bytewise(), 0);
    st_table_options o = default_topts();
    o.compression = STRATA_COMPRESSION_NONE;
    build_table(fx->env, "/v.sst", &o, &m);
    st_table_read_options ro = default_ropts("/v.sst");
    ro.paranoid = 1;
    st_table *t = open_table(fx->env, "/v.sst", &ro);
    st_table_close(t);
    model_free(&m);
}

/* ---- write errors and out of memory ------------------------------------------------------ */

typedef struct fail_file {
    st_wfile base;
    size_t limit, written;
} fail_file;

static int ff_append(st_wfile *f, const void *d, size_t n)
{
    fail_file *ff = (fail_file *)f;
    (void)d;
    if (ff->written + n > ff->limit) {
        return st_err(STRATA_E_NOSPC, "fake: no space");
    }
    ff->written += n;
    return 0;
}
static int ff_noop(st_wfile *f) { (void)f; return 0; }
static uint64_t ff_size(const st_wfile *f) { return ((const fail_file *)f)->written; }
static const struct st_wfile_ops ff_ops = {ff_append, ff_noop, ff_noop, ff_noop, ff_size};

static void test_write_errors_sticky(void **state)
{
    fixture *fx = *state;
    model m;
    model_make(&m, &fx->r, 300, st_comparator_bytewise(), 0);
    for (size_t limit = 0; limit < 20000; limit += 1500) {
        fail_file ff = {{&ff_ops}, limit, 0};
        st_table_options o = default_topts();
        st_table_builder *b;
        tu_assert_ok(st_table_builder_create(&o, &ff.base, &b));
        int rc = 0;
        for (size_t i = 0; i < m.n && !rc; i++) {
            rc = st_table_builder_add(b, st_buf_slice(&m.e[i].ikey), st_buf_slice(&m.e[i].value));
        }
        if (!rc) {
            rc = st_table_builder_finish(b);
        }
        assert_int_equal(rc, STRATA_E_NOSPC);
        /* sticky */
        assert_int_equal(st_table_builder_add(b, st_buf_slice(&m.e[0].ikey), st_slice_cstr("")),
                         STRATA_E_NOSPC);
        st_table_builder_destroy(b);
    }
    /* bad options */
    st_table_options o = default_topts();
    st_table_builder *b;
    fail_file ff = {{&ff_ops}, 1000, 0};
    o.checksum = 7;
    assert_int_equal(st_table_builder_create(&o, &ff.base, &b), STRATA_E_INVALID);
    o = default_topts();
    o.compression = 99;
    assert_int_equal(st_table_builder_create(&o, &ff.base, &b), STRATA_E_INVALID);
    o = default_topts();
    o.restart_interval = -1;
    assert_int_equal(st_table_builder_create(&o, &ff.base, &b), STRATA_E_INVALID);
    o = default_topts();
    o.ucmp = NULL;
    assert_int_equal(st_table_builder_create(&o, &ff.base, &b), STRATA_E_INVALID);
    /* a compression this build lacks (only in builds without some library) */
    for (size_t c = 1; c < ST_ARRAY_LEN(compressions); c++) {
        o = default_topts();
        o.compression = compressions[c];
        if (!st_compression_supported(o.compression)) {
            assert_int_equal(st_table_builder_create(&o, &ff.base, &b), STRATA_E_NOTSUP);
        }
    }
    /* zero block size and restart interval take defaults */
    o = default_topts();
    o.block_size = 0;
    o.restart_interval = 0;
    tu_assert_ok(st_table_builder_create(&o, &ff.base, &b));
    assert_int_equal(st_table_builder_add(b, st_slice_cstr("short"), st_slice_cstr("")),
                     STRATA_E_INVALID);
    st_table_builder_destroy(b);
    model_free(&m);
}

/* Every allocation of build, open, get and iterate fails in turn: a clean NOMEM (or success),
 * never a crash or leak (ASan), and a table built under the loop is still correct. */
static void test_out_of_memory(void **state)
{
    fixture *fx = *state;
    model m;
    model_make(&m, &fx->r, 60, st_comparator_bytewise(), 0);
    strata_filter_policy *bloom = strata_filter_policy_create_bloom(10);
    st_table_options o = default_topts();
    o.filter = bloom;
    o.compression = STRATA_COMPRESSION_NONE;
    int done = 0;
    for (long fail = 0; !done && fail < 5000; fail++) {
        st_wfile *wf;
        tu_assert_ok(st_env_new_writable(fx->env, "/o.sst", &wf));
        st_table_builder *b = NULL;
        st_alloc_fail_after(fail, 0);
        int rc = st_table_builder_create(&o, wf, &b);
        for (size_t i = 0; i < m.n && !rc; i++) {
            rc = st_table_builder_add(b, st_buf_slice(&m.e[i].ikey), st_buf_slice(&m.e[i].value));
        }
        if (!rc) {
            rc = st_table_builder_finish(b);
        }
        st_alloc_fail_after(-1, 0);
        st_table_builder_destroy(b);
        st_wfile_close(wf);
        assert_true(rc == 0 || rc == STRATA_E_NOMEM || rc == STRATA_E_IO);
        done = rc == 0;
        if (done) {
            assert_true(fail > 5); /* the loop did inject failures */
        }
    }
    assert_true(done);
    st_cache *cache = st_cache_create(1 << 20, 0);
    done = 0;
    for (long fail = 0; !done && fail < 5000; fail++) {
        st_table_read_options ro = default_ropts("/o.sst");
        ro.filter = bloom;
        ro.block_cache = cache;
        st_rfile *rf;
        uint64_t size;
        tu_assert_ok(st_env_file_size(fx->env, "/o.sst", &size));
        tu_assert_ok(st_env_new_random(fx->env, "/o.sst", &rf));
        st_table *t = NULL;
        st_alloc_fail_after(fail, 0);
        int rc = st_table_open(&ro, rf, size, &t);
        found_rec f = {0};
        if (!rc) {
            rc = st_table_get(t, NULL, st_buf_slice(&m.e[30].ikey), on_found, &f);
        }
        st_iter *it = NULL;
        size_t n = 0;
        if (!rc) {
            it = st_table_iter(t, NULL);
            rc = it ? 0 : STRATA_E_NOMEM;
        }
        if (!rc) {
            for (st_iter_seek_to_first(it); st_iter_valid(it); st_iter_next(it)) {
                n++;
            }
            rc = st_iter_status(it);
        }
        st_alloc_fail_after(-1, 0);
        assert_true(rc == 0 || rc == STRATA_E_NOMEM);
        st_iter_destroy(it);
        if (t) {
            st_table_close(t);
        } else {
            st_rfile_close(rf);
        }
        if (rc == 0) {
            assert_int_equal(n, m.n);
            assert_true(fail > 5);
            done = 1;
        }
        st_buf_free(&f.key);
        st_buf_free(&f.value);
        st_cache_prune(cache);
    }
    assert_true(done);
    st_cache_unref(cache);
    strata_filter_policy_destroy(bloom);
    model_free(&m);
}

/* ---- concurrent readers ---------------------------------------------------------------------- */

typedef struct reader_arg {
    st_table *t;
    const model *m;
    uint64_t seed;
    int errors;
} reader_arg;

static void *reader_main(void *p)
{
    reader_arg *a = p;
    st_random r;
    st_random_seed(&r, a->seed);
    found_rec f = {0};
    for (int i = 0; i < 3000; i++) {
        size_t k = st_random_uniform(&r, a->m->n);
        found_reset(&f);
        st_read_flags rf = {1, i % 2};
        int rc = st_table_get(a->t, &rf, st_buf_slice(&a->m->e[k].ikey), on_found, &f);
        if (rc || f.calls != 1 || f.value.len != a->m->e[k].value.len ||
            (f.value.len && memcmp(f.value.data, a->m->e[k].value.data, f.value.len))) {
            a->errors++;
        }
    }
    st_buf_free(&f.key);
    st_buf_free(&f.value);
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    fixture *fx = *state;
    model m;
    model_make(&m, &fx->r, 1500, st_comparator_bytewise(), 0);
    st_table_options o = default_topts();
    o.compression = st_compression_supported(STRATA_COMPRESSION_LZ4) ? STRATA_COMPRESSION_LZ4 : 0;
    build_table(fx->env, "/mt.sst", &o, &m);
    st_cache *cache = st_cache_create(16 << 10, 0); /* small: constant eviction */
    st_table_read_options ro = default_ropts("/mt.sst");
    ro.block_cache = cache;
    st_table *t = open_table(fx->env, "/mt.sst", &ro);
    pthread_t th[4];
    reader_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (reader_arg){t, &m, 100 + (uint64_t)i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].errors, 0);
    }
    st_table_close(t);
    st_cache_unref(cache);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_codec_and_checksum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter_skips_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_cache_fill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pin_ownership, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_comparator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paranoid_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_errors_sticky, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_readers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
