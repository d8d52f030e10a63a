/* fuzz_table.c — libFuzzer target for the table reader (table/table_reader.h): footer,
 * metaindex, index, properties and filter blocks, then data blocks through iteration and point
 * lookups.  Input: one flags byte (bit 0 paranoid open, bit 1 block cache, bit 2 skip checksum
 * verification of data blocks) followed by the table image, stored as a file of a private
 * in-memory env.  Checks: open succeeds or fails with a clean error; scans both ways terminate
 * (no more entries than bytes); gets of keys seen in the scan and of absent keys return 0 or a
 * clean error; st_table_verify returns 0 or a clean error. */
#include <string.h>

#include "env/env.h"
#include "fuzz_common.h"
#include "table/filter.h"
#include "table/table_reader.h"
#include "util/buf.h"
#include "util/cache.h"
#include "util/comparator.h"
#include "util/ikey.h"

static st_env *g_env;
static strata_filter_policy *g_bloom;

static int found_cb(void *ctx, st_slice key, st_slice value, st_pin *pin)
{
    (void)key;
    (void)value;
    (void)pin;
    (*(int *)ctx)++;
    return 0;
}

static void scan(st_table *t, const st_read_flags *rf, uint64_t limit, int backward,
                 st_buf *first_keys)
{
    st_iter *it = st_table_iter(t, rf);
    FZ_CHECK(it != NULL);
    uint64_t steps = 0;
    if (backward) {
        st_iter_seek_to_last(it);
    } else {
        st_iter_seek_to_first(it);
    }
    while (st_iter_valid(it)) {
        FZ_CHECK(++steps <= limit);
        st_slice k = st_iter_key(it);
        (void)st_iter_value(it);
        if (first_keys && steps <= 8) {
            FZ_CHECK(st_buf_put_lenprefixed(first_keys, k) == 0);
        }
        if (backward) {
            st_iter_prev(it);
        } else {
            st_iter_next(it);
        }
    }
    int rc = st_iter_status(it);
    FZ_CHECK(rc == 0 || fz_is_clean_error(rc) || rc == STRATA_E_IO);
    st_iter_destroy(it);
}

static void gets(st_table *t, const st_read_flags *rf, st_slice keys)
{
    const char *p = keys.data, *end = keys.data ? keys.data + keys.size : NULL;
    while (p && p < end) {
        size_t len = (unsigned char)*p++; /* keys are short here: one-byte length prefix */
        if (len >= 0x80 || len > (size_t)(end - p)) {
            break;
        }
        int hits = 0;
        int rc = st_table_get(t, rf, st_slice_make(p, len), found_cb, &hits);
        FZ_CHECK(rc == 0 || fz_is_clean_error(rc));
        FZ_CHECK(hits <= 1);
        p += len;
    }
    st_buf absent;
    st_buf_init(&absent);
    FZ_CHECK(st_ikey_append(&absent, st_slice_cstr("zz-absent"), ST_MAX_SEQ, ST_TYPE_VALUE) == 0);
    int hits = 0;
    int rc = st_table_get(t, rf, st_buf_slice(&absent), found_cb, &hits);
    FZ_CHECK(rc == 0 || fz_is_clean_error(rc));
    st_buf_free(&absent);
}

static void exercise(st_table *t, int flags, uint64_t size)
{
    st_read_flags rf = {.verify_checksums = !(flags & 4), .fill_cache = 1};
    st_buf keys;
    st_buf_init(&keys);
    (void)st_table_get_props(t);
    scan(t, &rf, size, 0, &keys);
    scan(t, &rf, size, 1, NULL);
    gets(t, &rf, st_buf_slice(&keys));
    (void)st_table_approx_offset(t, st_slice_cstr("key00000000"));
    int rc = st_table_verify(t);
    FZ_CHECK(rc == 0 || fz_is_clean_error(rc));
    st_buf_free(&keys);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    if (!g_env) {
        g_env = st_env_mem_create();
        g_bloom = strata_filter_policy_create_bloom(10);
        FZ_CHECK(g_env && g_bloom);
    }
    int flags = data[0];
    FZ_CHECK(st_env_write_file(g_env, "/t.sst", st_slice_make(data + 1, size - 1), 0) == 0);
    st_rfile *f = NULL;
    FZ_CHECK(st_env_new_random(g_env, "/t.sst", &f) == 0);
    st_cache *cache = (flags & 2) ? st_cache_create(1 << 20, 0) : NULL;
    st_table_read_options ro = {.ucmp = st_comparator_bytewise(), .filter = g_bloom,
                                .block_cache = cache, .fname = "/t.sst", .paranoid = flags & 1};
    st_table *t = NULL;
    int rc = st_table_open(&ro, f, size - 1, &t);
    if (rc != 0) {
        FZ_CHECK(fz_is_clean_error(rc));
        st_rfile_close(f);
    } else {
        exercise(t, flags, size);
        st_table_close(t);
    }
    if (cache) {
        st_cache_unref(cache);
    }
    return 0;
}
