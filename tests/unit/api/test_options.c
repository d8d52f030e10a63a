/* test_options.c — strata_options / read / write options: defaults, every setter's range
 * boundaries (and "unchanged on error"), compression per level, cross-field validation, the
 * string form (suffixes, booleans, names, whitespace, errors, all-or-nothing), a randomized
 * to_string/from_string round trip, block-cache reference handling, and out-of-memory paths. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/options.h"
#include "strata.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/cache.h"
#include "util/comparator.h"
#include "util/random.h"

#define KIB ((uint64_t)1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)

static int default_compression(void)
{
#ifdef STRATA_HAVE_SNAPPY
    return STRATA_COMPRESSION_SNAPPY;
#else
    return STRATA_COMPRESSION_NONE;
#endif
}

static void test_defaults(void **state)
{
    (void)state;
    strata_options *o = strata_options_create();
    assert_non_null(o);
    assert_int_equal(o->create_if_missing, 0);
    assert_int_equal(o->error_if_exists, 0);
    assert_int_equal(o->paranoid_checks, 0);
    assert_ptr_equal(o->comparator, strata_comparator_bytewise());
    assert_null(o->filter_policy);
    assert_int_equal(o->filter_policy_set, 0);
    assert_int_equal(o->bloom_bits_per_key, 10);
    assert_null(o->block_cache);
    assert_int_equal(o->block_cache_size, 32 * MIB);
    assert_null(o->env);
    assert_int_equal(o->write_buffer_size, 64 * MIB);
    assert_int_equal(o->max_write_buffers, 2);
    assert_int_equal(o->max_open_files, 1000);
    assert_int_equal(o->block_size, 4096);
    assert_int_equal(o->block_restart_interval, 16);
    for (int l = 0; l < ST_MAX_LEVELS_OPT; l++) {
        assert_int_equal(o->compression[l], default_compression());
    }
    assert_int_equal(o->zstd_level, 3);
    assert_int_equal(o->checksum, STRATA_CHECKSUM_CRC32C);
    assert_int_equal(o->num_levels, 7);
    assert_int_equal(o->target_file_size, 64 * MIB);
    assert_int_equal(o->max_bytes_for_level_base, 256 * MIB);
    assert_true(o->level_multiplier == 10.0);
    assert_int_equal(o->dynamic_level_bytes, 1);
    assert_int_equal(o->l0_compaction_trigger, 4);
    assert_int_equal(o->l0_slowdown_trigger, 20);
    assert_int_equal(o->l0_stop_trigger, 36);
    assert_int_equal(o->soft_pending_bytes, 64 * GIB);
    assert_int_equal(o->hard_pending_bytes, 256 * GIB);
    assert_int_equal(o->delayed_write_rate, 16 * MIB);
    assert_int_equal(o->max_background_jobs, 2);
    assert_int_equal(o->skip_corrupt_wal_records, 0);
    assert_int_equal(o->info_log, 1);
    tu_assert_ok(st_options_validate(o));
    strata_options_destroy(o);
    strata_options_destroy(NULL);
}

/* ---- Setter ranges ------------------------------------------------------------------------------- */

/* For an int setter: lo and hi are accepted, lo-1 and hi+1 rejected with the option unchanged
 * and the option named in the message. */
static void check_int_range(const char *name, int (*set)(strata_options *, int), long long lo,
                            long long hi, size_t offset)
{
    strata_options *o = strata_options_create();
    int *f = (int *)((char *)o + offset);
    tu_assert_ok(set(o, (int)lo));
    assert_int_equal(*f, lo);
    tu_assert_ok(set(o, (int)hi));
    assert_int_equal(*f, hi);
    if (lo > INT_MIN) {
        assert_int_equal(set(o, (int)(lo - 1)), STRATA_E_INVALID);
        assert_non_null(strstr(strata_errmsg(), name));
        assert_int_equal(*f, hi);
    }
    if (hi < INT_MAX) {
        assert_int_equal(set(o, (int)(hi + 1)), STRATA_E_INVALID);
        assert_non_null(strstr(strata_errmsg(), name));
        assert_int_equal(*f, hi);
    }
    assert_int_equal(set(NULL, (int)lo), STRATA_E_INVALID);
    strata_options_destroy(o);
}

#define INT_RANGE(name, lo, hi, f) \
    check_int_range(#name, strata_options_set_##name, lo, hi, offsetof(strata_options, f))

static void test_int_ranges(void **state)
{
    (void)state;
    INT_RANGE(bloom_bits_per_key, 0, 64, bloom_bits_per_key);
    INT_RANGE(max_write_buffers, 1, 64, max_write_buffers);
    INT_RANGE(max_open_files, 16, INT_MAX, max_open_files);
    INT_RANGE(block_restart_interval, 1, 1024, block_restart_interval);
    INT_RANGE(zstd_level, -5, 22, zstd_level);
    INT_RANGE(checksum, 0, 1, checksum);
    INT_RANGE(num_levels, 2, ST_MAX_LEVELS_OPT, num_levels);
    INT_RANGE(level0_compaction_trigger, 1, INT_MAX, l0_compaction_trigger);
    INT_RANGE(level0_slowdown_trigger, 1, INT_MAX, l0_slowdown_trigger);
    INT_RANGE(level0_stop_trigger, 1, INT_MAX, l0_stop_trigger);
    INT_RANGE(max_background_jobs, 2, 64, max_background_jobs);
}

static void test_bool_setters(void **state)
{
    (void)state;
    strata_options *o = strata_options_create();
    int (*const setters[])(strata_options *, int) = {
        strata_options_set_create_if_missing, strata_options_set_error_if_exists,
        strata_options_set_paranoid_checks,   strata_options_set_dynamic_level_bytes,
        strata_options_set_skip_corrupt_wal_records, strata_options_set_info_log};
    const int *fields[] = {&o->create_if_missing, &o->error_if_exists, &o->paranoid_checks,
                           &o->dynamic_level_bytes, &o->skip_corrupt_wal_records, &o->info_log};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        tu_assert_ok(setters[i](o, 7)); /* any non-zero value is true */
        assert_int_equal(*fields[i], 1);
        tu_assert_ok(setters[i](o, 0));
        assert_int_equal(*fields[i], 0);
        tu_assert_ok(setters[i](o, -1));
        assert_int_equal(*fields[i], 1);
        assert_int_equal(setters[i](NULL, 1), STRATA_E_INVALID);
    }
    strata_options_destroy(o);
}

static void test_size_ranges(void **state)
{
    (void)state;
    strata_options *o = strata_options_create();
    assert_int_equal(strata_options_set_write_buffer_size(o, 64 * KIB - 1), STRATA_E_INVALID);
    assert_non_null(strstr(strata_errmsg(), "write_buffer_size"));
    tu_assert_ok(strata_options_set_write_buffer_size(o, 64 * KIB));
    assert_int_equal(o->write_buffer_size, 64 * KIB);
    assert_int_equal(strata_options_set_block_size(o, 255), STRATA_E_INVALID);
    assert_int_equal(strata_options_set_block_size(o, 64 * MIB + 1), STRATA_E_INVALID);
    tu_assert_ok(strata_options_set_block_size(o, 256));
    tu_assert_ok(strata_options_set_block_size(o, 64 * MIB));
    assert_int_equal(o->block_size, 64 * MIB);
    tu_assert_ok(strata_options_set_block_cache_size(o, 0));
    assert_int_equal(strata_options_set_target_file_size(o, 64 * KIB - 1), STRATA_E_INVALID);
    tu_assert_ok(strata_options_set_target_file_size(o, 64 * KIB));
    assert_int_equal(strata_options_set_max_bytes_for_level_base(o, 1), STRATA_E_INVALID);
    tu_assert_ok(strata_options_set_max_bytes_for_level_base(o, UINT64_MAX));
    tu_assert_ok(strata_options_set_soft_pending_compaction_bytes(o, 0));
    tu_assert_ok(strata_options_set_hard_pending_compaction_bytes(o, 0));
    assert_int_equal(strata_options_set_delayed_write_rate(o, 1023), STRATA_E_INVALID);
    tu_assert_ok(strata_options_set_delayed_write_rate(o, 1024));
    assert_int_equal(strata_options_set_max_bytes_for_level_multiplier(o, 1.99),
                     STRATA_E_INVALID);
    assert_int_equal(strata_options_set_max_bytes_for_level_multiplier(o, 100.5),
                     STRATA_E_INVALID);
    assert_int_equal(strata_options_set_max_bytes_for_level_multiplier(o, NAN),
                     STRATA_E_INVALID);
    assert_true(o->level_multiplier == 10.0);
    tu_assert_ok(strata_options_set_max_bytes_for_level_multiplier(o, 2.5));
    assert_true(o->level_multiplier == 2.5);
    strata_options_destroy(o);
}

static void test_compression(void **state)
{
    (void)state;
    strata_options *o = strata_options_create();
    tu_assert_ok(strata_options_set_compression(o, STRATA_COMPRESSION_NONE));
    assert_int_equal(st_options_compression_for_level(o, 0), STRATA_COMPRESSION_NONE);
    assert_int_equal(strata_options_set_compression(o, 4), STRATA_E_INVALID);
    assert_int_equal(strata_options_set_compression(o, -1), STRATA_E_INVALID);
    const int all[] = {STRATA_COMPRESSION_SNAPPY, STRATA_COMPRESSION_LZ4, STRATA_COMPRESSION_ZSTD};
    const int have[] = {
#ifdef STRATA_HAVE_SNAPPY
        1,
#else
        0,
#endif
#ifdef STRATA_HAVE_LZ4
        1,
#else
        0,
#endif
#ifdef STRATA_HAVE_ZSTD
        1,
#else
        0,
#endif
    };
    for (int i = 0; i < 3; i++) {
        int rc = strata_options_set_compression(o, all[i]);
        if (have[i]) {
            tu_assert_ok(rc);
            assert_int_equal(st_options_compression_for_level(o, 5), all[i]);
        } else {
            assert_int_equal(rc, STRATA_E_NOTSUP);
            assert_non_null(strstr(strata_errmsg(), "compiled"));
        }
    }
    /* Per level: levels past n use the last entry; out-of-range levels clamp. */
    tu_assert_ok(strata_options_set_compression(o, STRATA_COMPRESSION_NONE));
    const int types[] = {STRATA_COMPRESSION_NONE, default_compression()};
    tu_assert_ok(strata_options_set_compression_per_level(o, types, 2));
    assert_int_equal(st_options_compression_for_level(o, 0), STRATA_COMPRESSION_NONE);
    assert_int_equal(st_options_compression_for_level(o, 1), default_compression());
    assert_int_equal(st_options_compression_for_level(o, 6), default_compression());
    assert_int_equal(st_options_compression_for_level(o, 100), default_compression());
    assert_int_equal(st_options_compression_for_level(o, -1), STRATA_COMPRESSION_NONE);
    int many[ST_MAX_LEVELS_OPT + 1] = {0};
    assert_int_equal(strata_options_set_compression_per_level(o, many, ST_MAX_LEVELS_OPT + 1),
                     STRATA_E_INVALID);
    assert_int_equal(strata_options_set_compression_per_level(o, many, 0), STRATA_E_INVALID);
    assert_int_equal(strata_options_set_compression_per_level(o, NULL, 1), STRATA_E_INVALID);
    const int bad[] = {STRATA_COMPRESSION_NONE, 9};
    assert_int_equal(strata_options_set_compression_per_level(o, bad, 2), STRATA_E_INVALID);
    assert_int_equal(st_options_compression_for_level(o, 1), default_compression()); /* unchanged */
    tu_assert_ok(strata_options_set_compression_per_level(o, many, ST_MAX_LEVELS_OPT));
    assert_int_equal(st_options_compression_for_level(o, 11), STRATA_COMPRESSION_NONE);
    strata_options_destroy(o);
}

static int rev_cmp(void *st, const char *a, size_t an, const char *b, size_t bn)
{
    (void)st;
    return -st_slice_cmp(st_slice_make(a, an), st_slice_make(b, bn));
}

static const char *rev_name(void *st)
{
    (void)st;
    return "rev";
}

static void test_pointer_setters(void **state)
{
    (void)state;
    strata_options *o = strata_options_create();
    strata_comparator *c = strata_comparator_create(NULL, NULL, rev_cmp, rev_name);
    tu_assert_ok(strata_options_set_comparator(o, c));
    assert_ptr_equal(o->comparator, c);
    tu_assert_ok(strata_options_set_comparator(o, NULL));
    assert_ptr_equal(o->comparator, strata_comparator_bytewise());
    tu_assert_ok(strata_options_set_filter_policy(o, NULL));
    assert_int_equal(o->filter_policy_set, 1);
    assert_null(o->filter_policy);
    strata_env *env = (strata_env *)&c; /* opaque: only stored */
    tu_assert_ok(strata_options_set_env(o, env));
    assert_ptr_equal(o->env, env);
    tu_assert_ok(strata_options_set_env(o, NULL));
    assert_int_equal(strata_options_set_comparator(NULL, c), STRATA_E_INVALID);
    assert_int_equal(strata_options_set_filter_policy(NULL, NULL), STRATA_E_INVALID);
    assert_int_equal(strata_options_set_env(NULL, NULL), STRATA_E_INVALID);
    assert_int_equal(strata_options_set_block_cache(NULL, NULL), STRATA_E_INVALID);
    strata_options_destroy(o);
    strata_comparator_destroy(c);
}

/* The options hold their own reference: the cache outlives the user's destroy. */
static int cache_deleted;
static void count_delete(st_slice key, void *value)
{
    (void)key;
    (void)value;
    cache_deleted++;
}

static void test_block_cache_refs(void **state)
{
    (void)state;
    cache_deleted = 0;
    strata_cache *cache = strata_cache_create_lru(1 << 20);
    st_cache_release(cache, st_cache_insert(cache, st_slice_cstr("k"), NULL, 10, count_delete));
    strata_options *o = strata_options_create();
    tu_assert_ok(strata_options_set_block_cache(o, cache));
    tu_assert_ok(strata_options_set_block_cache(o, cache)); /* same cache twice: no leak */
    strata_options *copy = strata_options_copy(o);
    assert_ptr_equal(copy->block_cache, cache);
    strata_cache_destroy(cache); /* the user's reference */
    assert_int_equal(cache_deleted, 0);
    assert_int_equal(strata_cache_usage(o->block_cache), 10);
    strata_options_destroy(o);
    assert_int_equal(cache_deleted, 0);
    /* Replacing the cache in the copy drops its last reference to the first one. */
    strata_cache *other = strata_cache_create_lru(1 << 20);
    tu_assert_ok(strata_options_set_block_cache(copy, other));
    assert_int_equal(cache_deleted, 1);
    tu_assert_ok(strata_options_set_block_cache(copy, NULL));
    assert_null(copy->block_cache);
    strata_cache_destroy(other);
    strata_options_destroy(copy);
    assert_null(strata_options_copy(NULL));
}

static void test_validate(void **state)
{
    (void)state;
    strata_options *o = strata_options_create();
    tu_assert_ok(strata_options_set_level0_slowdown_trigger(o, 3)); /* below the trigger (4) */
    assert_int_equal(st_options_validate(o), STRATA_E_INVALID);
    assert_non_null(strstr(strata_errmsg(), "level0_slowdown_trigger"));
    tu_assert_ok(strata_options_set_level0_compaction_trigger(o, 3));
    tu_assert_ok(st_options_validate(o));
    tu_assert_ok(strata_options_set_level0_stop_trigger(o, 2));
    assert_int_equal(st_options_validate(o), STRATA_E_INVALID);
    assert_non_null(strstr(strata_errmsg(), "level0_stop_trigger"));
    tu_assert_ok(strata_options_set_level0_stop_trigger(o, 3));
    tu_assert_ok(st_options_validate(o));
    tu_assert_ok(strata_options_set_hard_pending_compaction_bytes(o, GIB));
    tu_assert_ok(strata_options_set_soft_pending_compaction_bytes(o, 2 * GIB));
    assert_int_equal(st_options_validate(o), STRATA_E_INVALID);
    assert_non_null(strstr(strata_errmsg(), "hard_pending_compaction_bytes"));
    tu_assert_ok(strata_options_set_hard_pending_compaction_bytes(o, 0)); /* off */
    tu_assert_ok(st_options_validate(o));
    /* Fields written directly (internal callers) are range-checked too. */
    o->num_levels = 40;
    assert_int_equal(st_options_validate(o), STRATA_E_INVALID);
    o->num_levels = 7;
    o->compression[3] = 17;
    assert_int_equal(st_options_validate(o), STRATA_E_INVALID);
    strata_options_destroy(o);
}

/* ---- String form --------------------------------------------------------------------------------- */

static void test_from_string_values(void **state)
{
    (void)state;
    strata_options *o = strata_options_create();
    tu_assert_ok(strata_options_from_string(
        o, "  write_buffer_size = 128MB ;compression=none;bloom_bits_per_key=12;"
           "create_if_missing=yes; paranoid_checks=On; info_log=0; checksum=XXH3;"
           "max_bytes_for_level_multiplier=8.5; zstd_level=-5; ;"));
    assert_int_equal(o->write_buffer_size, 128 * MIB);
    assert_int_equal(o->compression[6], STRATA_COMPRESSION_NONE);
    assert_int_equal(o->bloom_bits_per_key, 12);
    assert_int_equal(o->create_if_missing, 1);
    assert_int_equal(o->paranoid_checks, 1);
    assert_int_equal(o->info_log, 0);
    assert_int_equal(o->checksum, STRATA_CHECKSUM_XXH3);
    assert_true(o->level_multiplier == 8.5);
    assert_int_equal(o->zstd_level, -5);
    tu_assert_ok(strata_options_from_string(o, ""));
    tu_assert_ok(strata_options_from_string(o, " ; ;\t"));
    /* Every size suffix is 1024-based. */
    const struct {
        const char *text;
        uint64_t bytes;
    } sizes[] = {{"65536", 65536},    {"64K", 64 * KIB},  {"64KB", 64 * KIB}, {"64KiB", 64 * KIB},
                 {"64k", 64 * KIB},   {"3M", 3 * MIB},    {"3MB", 3 * MIB},   {"3MiB", 3 * MIB},
                 {"2G", 2 * GIB},     {"2GB", 2 * GIB},   {"2GiB", 2 * GIB},  {"5 mb", 5 * MIB},
                 {"1T", 1024 * GIB}};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char text[64];
        snprintf(text, sizeof(text), "target_file_size=%s", sizes[i].text);
        tu_assert_ok(strata_options_from_string(o, text));
        assert_int_equal(o->target_file_size, sizes[i].bytes);
    }
    /* Booleans in every spelling. */
    const char *truths[] = {"true", "1", "yes", "on", "TRUE"};
    const char *lies[] = {"false", "0", "no", "off", "Off"};
    for (size_t i = 0; i < 5; i++) {
        char text[64];
        snprintf(text, sizeof(text), "error_if_exists=%s", truths[i]);
        tu_assert_ok(strata_options_from_string(o, text));
        assert_int_equal(o->error_if_exists, 1);
        snprintf(text, sizeof(text), "error_if_exists=%s", lies[i]);
        tu_assert_ok(strata_options_from_string(o, text));
        assert_int_equal(o->error_if_exists, 0);
    }
    /* Compression per level as a colon list; the last name covers the remaining levels. */
    char text[128];
    snprintf(text, sizeof(text), "compression_per_level= none : none:%s",
             default_compression() == STRATA_COMPRESSION_SNAPPY ? "snappy" : "none");
    tu_assert_ok(strata_options_from_string(o, text));
    assert_int_equal(o->compression[1], STRATA_COMPRESSION_NONE);
    assert_int_equal(o->compression[2], default_compression());
    assert_int_equal(o->compression[11], default_compression());
    /* Later settings win. */
    tu_assert_ok(strata_options_from_string(o, "num_levels=3;num_levels=5"));
    assert_int_equal(o->num_levels, 5);
    strata_options_destroy(o);
}

/* Each bad string fails with INVALID (or NOTSUP), names the culprit, and changes nothing. */
static void test_from_string_errors(void **state)
{
    (void)state;
    const struct {
        const char *text, *needle;
    } bad[] = {
        {"nosuch=1", "nosuch"},
        {"comparator=bytewise", "comparator"},
        {"block_cache=x", "block_cache"},
        {"env=posix", "env"},
        {"filter_policy=bloom", "filter_policy"},
        {"write_buffer_size", "write_buffer_size"},
        {"=5", "="},
        {"write_buffer_size=", "write_buffer_size"},
        {"write_buffer_size=abc", "abc"},
        {"write_buffer_size=-1", "-1"},
        {"write_buffer_size=1.5MB", "1.5MB"},
        {"write_buffer_size=12XB", "12XB"},
        {"write_buffer_size=99999999999999999999", "99999999999999999999"},
        {"write_buffer_size=17179869184G", "17179869184G"},
        {"write_buffer_size=1K", "write_buffer_size"},
        {"max_open_files=12abc", "12abc"},
        {"max_open_files=99999999999", "99999999999"},
        {"max_open_files=3", "max_open_files"},
        {"create_if_missing=maybe", "maybe"},
        {"compression=gzip", "gzip"},
        {"checksum=md5", "md5"},
        {"compression_per_level=", "compression_per_level"},
        {"compression_per_level=none::none", "none::none"},
        {"compression_per_level=none:bogus", "bogus"},
        {"compression_per_level=none:none:none:none:none:none:none:none:none:none:none:none:none",
         "compression_per_level"},
        {"max_bytes_for_level_multiplier=nan", "nan"},
        {"max_bytes_for_level_multiplier=inf", "inf"},
        {"max_bytes_for_level_multiplier=1", "max_bytes_for_level_multiplier"},
        {"level0_stop_trigger=10", "level0_stop_trigger"}, /* < slowdown (20): cross-field */
        {"zstd_level=23", "zstd_level"},
    };
    strata_options *o = strata_options_create();
    char *before = strata_options_to_string(o);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        /* A valid setting first: it must not be applied either (all or nothing). */
        snprintf(text, sizeof(text), "bloom_bits_per_key=20; %s; num_levels=4", bad[i].text);
        int rc = strata_options_from_string(o, text);
        if (rc != STRATA_E_INVALID) {
            fail_msg("'%s' returned %d, want STRATA_E_INVALID", bad[i].text, rc);
        }
        if (!strstr(strata_errmsg(), bad[i].needle)) {
            fail_msg("'%s': message '%s' does not mention '%s'", bad[i].text, strata_errmsg(),
                     bad[i].needle);
        }
        char *after = strata_options_to_string(o);
        assert_string_equal(after, before);
        strata_free(after);
    }
    assert_int_equal(strata_options_from_string(NULL, "x=1"), STRATA_E_INVALID);
    assert_int_equal(strata_options_from_string(o, NULL), STRATA_E_INVALID);
    /* A token too long for the parser's buffers. */
    char longv[600];
    memset(longv, '9', sizeof(longv));
    memcpy(longv, "zstd_level=", 11);
    longv[sizeof(longv) - 1] = '\0';
    assert_int_equal(strata_options_from_string(o, longv), STRATA_E_INVALID);
#ifndef STRATA_HAVE_ZSTD
    assert_int_equal(strata_options_from_string(o, "compression=zstd"), STRATA_E_NOTSUP);
#endif
    strata_free(before);
    strata_options_destroy(o);
}

static void test_to_string_defaults(void **state)
{
    (void)state;
    strata_options *o = strata_options_create();
    char *s = strata_options_to_string(o);
    assert_non_null(s);
    /* Every string-settable option appears. */
    const char *names[] = {
        "create_if_missing=false", "error_if_exists=false", "paranoid_checks=false",
        "bloom_bits_per_key=10", "block_cache_size=32MiB", "write_buffer_size=64MiB",
        "max_write_buffers=2", "max_open_files=1000", "block_size=4KiB",
        "block_restart_interval=16", "compression=", "zstd_level=3", "checksum=crc32c",
        "num_levels=7", "target_file_size=64MiB", "max_bytes_for_level_base=256MiB",
        "max_bytes_for_level_multiplier=10", "dynamic_level_bytes=true",
        "level0_compaction_trigger=4", "level0_slowdown_trigger=20", "level0_stop_trigger=36",
        "soft_pending_compaction_bytes=64GiB", "hard_pending_compaction_bytes=256GiB",
        "delayed_write_rate=16MiB", "max_background_jobs=2", "skip_corrupt_wal_records=false",
        "info_log=true"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strstr(s, names[i])) {
            fail_msg("'%s' missing from '%s'", names[i], s);
        }
    }
    assert_null(strstr(s, "comparator"));
    strata_options *o2 = strata_options_create();
    tu_assert_ok(strata_options_from_string(o2, s));
    char *s2 = strata_options_to_string(o2);
    assert_string_equal(s, s2);
    strata_free(s);
    strata_free(s2);
    strata_options_destroy(o);
    strata_options_destroy(o2);
    assert_null(strata_options_to_string(NULL));
}

static int compiled_types(int *out)
{
    int n = 0;
    out[n++] = STRATA_COMPRESSION_NONE;
#ifdef STRATA_HAVE_SNAPPY
    out[n++] = STRATA_COMPRESSION_SNAPPY;
#endif
#ifdef STRATA_HAVE_LZ4
    out[n++] = STRATA_COMPRESSION_LZ4;
#endif
#ifdef STRATA_HAVE_ZSTD
    out[n++] = STRATA_COMPRESSION_ZSTD;
#endif
    return n;
}

/* Random valid settings through the setters. */
static void randomize(strata_options *o, st_random *r)
{
    int types[4];
    int nt = compiled_types(types);
    int per[ST_MAX_LEVELS_OPT];
    int nl = 1 + (int)st_random_uniform(r, ST_MAX_LEVELS_OPT);
    for (int i = 0; i < nl; i++) {
        per[i] = types[st_random_uniform(r, (uint64_t)nt)];
    }
    int trig = 1 + (int)st_random_uniform(r, 10);
    int slow = trig + (int)st_random_uniform(r, 10);
    uint64_t soft = st_random_uniform(r, 4) * GIB + st_random_uniform(r, 3) * 1000;
    tu_assert_ok(strata_options_set_create_if_missing(o, (int)st_random_uniform(r, 2)));
    tu_assert_ok(strata_options_set_error_if_exists(o, (int)st_random_uniform(r, 2)));
    tu_assert_ok(strata_options_set_paranoid_checks(o, (int)st_random_uniform(r, 2)));
    tu_assert_ok(strata_options_set_bloom_bits_per_key(o, (int)st_random_uniform(r, 65)));
    tu_assert_ok(strata_options_set_block_cache_size(o, st_random_skewed(r, 40)));
    tu_assert_ok(strata_options_set_write_buffer_size(o, 64 * KIB + st_random_skewed(r, 36)));
    tu_assert_ok(strata_options_set_max_write_buffers(o, 1 + (int)st_random_uniform(r, 64)));
    tu_assert_ok(strata_options_set_max_open_files(o, 16 + (int)st_random_uniform(r, 100000)));
    tu_assert_ok(strata_options_set_block_size(o, 256 + st_random_uniform(r, 64 * MIB - 255)));
    tu_assert_ok(strata_options_set_block_restart_interval(o, 1 + (int)st_random_uniform(r, 1024)));
    tu_assert_ok(strata_options_set_compression_per_level(o, per, nl));
    tu_assert_ok(strata_options_set_zstd_level(o, -5 + (int)st_random_uniform(r, 28)));
    tu_assert_ok(strata_options_set_checksum(o, (int)st_random_uniform(r, 2)));
    tu_assert_ok(strata_options_set_num_levels(o, 2 + (int)st_random_uniform(r, 11)));
    tu_assert_ok(strata_options_set_target_file_size(o, 64 * KIB + st_random_skewed(r, 50)));
    tu_assert_ok(strata_options_set_max_bytes_for_level_base(o, 64 * KIB + st_random_next(r) / 2));
    tu_assert_ok(strata_options_set_max_bytes_for_level_multiplier(
        o, 2.0 + (double)st_random_uniform(r, 1u << 30) / (1u << 30) * 98.0));
    tu_assert_ok(strata_options_set_dynamic_level_bytes(o, (int)st_random_uniform(r, 2)));
    tu_assert_ok(strata_options_set_level0_compaction_trigger(o, trig));
    tu_assert_ok(strata_options_set_level0_slowdown_trigger(o, slow));
    tu_assert_ok(strata_options_set_level0_stop_trigger(o, slow + (int)st_random_uniform(r, 10)));
    tu_assert_ok(strata_options_set_soft_pending_compaction_bytes(o, soft));
    tu_assert_ok(strata_options_set_hard_pending_compaction_bytes(o, soft * 2));
    tu_assert_ok(strata_options_set_delayed_write_rate(o, KIB + st_random_skewed(r, 40)));
    tu_assert_ok(strata_options_set_max_background_jobs(o, 2 + (int)st_random_uniform(r, 63)));
    tu_assert_ok(strata_options_set_skip_corrupt_wal_records(o, (int)st_random_uniform(r, 2)));
    tu_assert_ok(strata_options_set_info_log(o, (int)st_random_uniform(r, 2)));
}

/* Every string-settable field matches after a round trip. */
static void assert_same_settings(const strata_options *a, const strata_options *b)
{
#define SAME(f) assert_int_equal(a->f, b->f)
    SAME(create_if_missing);
    SAME(error_if_exists);
    SAME(paranoid_checks);
    SAME(bloom_bits_per_key);
    SAME(block_cache_size);
    SAME(write_buffer_size);
    SAME(max_write_buffers);
    SAME(max_open_files);
    SAME(block_size);
    SAME(block_restart_interval);
    SAME(zstd_level);
    SAME(checksum);
    SAME(num_levels);
    SAME(target_file_size);
    SAME(max_bytes_for_level_base);
    SAME(dynamic_level_bytes);
    SAME(l0_compaction_trigger);
    SAME(l0_slowdown_trigger);
    SAME(l0_stop_trigger);
    SAME(soft_pending_bytes);
    SAME(hard_pending_bytes);
    SAME(delayed_write_rate);
    SAME(max_background_jobs);
    SAME(skip_corrupt_wal_records);
    SAME(info_log);
#undef SAME
    assert_true(a->level_multiplier == b->level_multiplier);
    assert_memory_equal(a->compression, b->compression, sizeof(a->compression));
}

static void test_round_trip_random(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(77));
    for (int i = 0; i < 500; i++) {
        strata_options *o = strata_options_create();
        randomize(o, &r);
        tu_assert_ok(st_options_validate(o));
        char *s = strata_options_to_string(o);
        assert_non_null(s);
        strata_options *o2 = strata_options_create();
        int rc = strata_options_from_string(o2, s);
        if (rc) {
            fail_msg("from_string(%s) = %d: %s", s, rc, strata_errmsg());
        }
        assert_same_settings(o, o2);
        char *s2 = strata_options_to_string(o2);
        assert_string_equal(s, s2);
        strata_free(s);
        strata_free(s2);
        strata_options_destroy(o);
        strata_options_destroy(o2);
    }
}

static void test_out_of_memory(void **state)
{
    (void)state;
    st_alloc_fail_after(0, 0);
    assert_null(strata_options_create());
    st_alloc_fail_after(-1, 0);
    strata_options *o = strata_options_create();
    st_alloc_fail_after(0, 0);
    assert_null(strata_options_copy(o));
    st_alloc_fail_after(-1, 0);
    for (int n = 0;; n++) {
        st_alloc_fail_after(n, 0);
        char *s = strata_options_to_string(o);
        st_alloc_fail_after(-1, 0);
        if (s) {
            strata_free(s);
            break;
        }
        assert_int_equal(strata_errmsg()[0] != '\0', 1);
    }
    strata_options_destroy(o);
    st_alloc_fail_after(0, 1);
    assert_null(strata_read_options_create());
    assert_null(strata_write_options_create());
    st_alloc_fail_after(-1, 0);
    strata_free(NULL);
}

/* ---- Read and write options ---------------------------------------------------------------------- */

static void test_read_options(void **state)
{
    (void)state;
    strata_read_options *ro = strata_read_options_create();
    assert_non_null(ro);
    assert_int_equal(ro->verify_checksums, 1);
    assert_int_equal(ro->fill_cache, 1);
    assert_null(ro->snapshot);
    assert_null(ro->lower);
    assert_null(ro->upper);
    strata_read_options_set_verify_checksums(ro, 0);
    strata_read_options_set_fill_cache(ro, 0);
    assert_int_equal(ro->verify_checksums, 0);
    assert_int_equal(ro->fill_cache, 0);
    strata_read_options_set_fill_cache(ro, 5);
    assert_int_equal(ro->fill_cache, 1);
    const strata_snapshot *snap = (const strata_snapshot *)ro; /* opaque: only stored */
    strata_read_options_set_snapshot(ro, snap);
    assert_ptr_equal(ro->snapshot, snap);
    strata_read_options_set_snapshot(ro, NULL);
    char key[4] = {'a', '\0', 'b', 'c'};
    tu_assert_ok(strata_read_options_set_lower_bound(ro, key, 4));
    key[0] = 'z'; /* the bound is a copy */
    tu_assert_bytes_equal(ro->lower, ro->lower_len, "a\0bc", 4);
    tu_assert_ok(strata_read_options_set_upper_bound(ro, "", 0)); /* an empty bound is a bound */
    assert_non_null(ro->upper);
    assert_int_equal(ro->upper_len, 0);
    tu_assert_ok(strata_read_options_set_upper_bound(ro, "m", 1));
    st_alloc_fail_after(0, 0);
    assert_int_equal(strata_read_options_set_upper_bound(ro, "zz", 2), STRATA_E_NOMEM);
    st_alloc_fail_after(-1, 0);
    tu_assert_bytes_equal(ro->upper, ro->upper_len, "m", 1); /* unchanged */
    tu_assert_ok(strata_read_options_set_lower_bound(ro, NULL, 0));
    assert_null(ro->lower);
    assert_int_equal(ro->lower_len, 0);
    assert_int_equal(strata_read_options_set_lower_bound(NULL, "a", 1), STRATA_E_INVALID);
    assert_int_equal(strata_read_options_set_upper_bound(NULL, "a", 1), STRATA_E_INVALID);
    strata_read_options_set_verify_checksums(NULL, 1);
    strata_read_options_set_fill_cache(NULL, 1);
    strata_read_options_set_snapshot(NULL, NULL);
    strata_read_options_destroy(ro);
    strata_read_options_destroy(NULL);
    struct strata_read_options d;
    st_read_options_defaults(&d);
    assert_int_equal(d.verify_checksums, 1);
    assert_int_equal(d.fill_cache, 1);
}

static void test_write_options(void **state)
{
    (void)state;
    strata_write_options *wo = strata_write_options_create();
    assert_non_null(wo);
    assert_int_equal(wo->sync, 0);
    assert_int_equal(wo->disable_wal, 0);
    strata_write_options_set_sync(wo, 3);
    strata_write_options_set_disable_wal(wo, 1);
    assert_int_equal(wo->sync, 1);
    assert_int_equal(wo->disable_wal, 1);
    strata_write_options_set_sync(wo, 0);
    assert_int_equal(wo->sync, 0);
    strata_write_options_set_sync(NULL, 1);
    strata_write_options_set_disable_wal(NULL, 1);
    strata_write_options_destroy(wo);
    strata_write_options_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_int_ranges),
        cmocka_unit_test(test_bool_setters),
        cmocka_unit_test(test_size_ranges),
        cmocka_unit_test(test_compression),
        cmocka_unit_test(test_pointer_setters),
        cmocka_unit_test(test_block_cache_refs),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_from_string_values),
        cmocka_unit_test(test_from_string_errors),
        cmocka_unit_test(test_to_string_defaults),
        cmocka_unit_test(test_round_trip_random),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_read_options),
        cmocka_unit_test(test_write_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
