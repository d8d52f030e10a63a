/* options.c — strata_options / strata_read_options / strata_write_options: defaults, validating
 * setters and the string form.
 *
 * Every setter checks its own field's range and leaves the option unchanged on error.  Rules that
 * relate several fields (level-0 triggers, pending-bytes limits) are checked by
 * st_options_validate, at open and after strata_options_from_string, so setters can be called in
 * any order.  The string form ("name=value; name=value") is driven by one table (opt_table) so
 * parsing and printing cannot drift apart; strata_options_from_string works on a copy and commits
 * only if every token parses, every setter accepts and the result validates.  The option list
 * with defaults and ranges is in docs/API.md. */
#include "api/options.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec/crypt.h"
#include "db/merge_op.h"
#include "util/alloc.h"
#include "util/cache.h"
#include "util/comparator.h"
#include "util/status.h"

#define KIB ((uint64_t)1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)
#define TIB (GIB * 1024)

#define MIN_WRITE_BUFFER (64 * KIB)
#define MIN_BLOCK_SIZE 256
#define MAX_BLOCK_SIZE (64 * MIB)
#define MIN_FILE_BYTES (64 * KIB)
#define MIN_DELAYED_RATE KIB

/* ---- Range checks -------------------------------------------------------------------------------- */

static int check_int(const char *name, long long v, long long lo, long long hi)
{
    if (v < lo || v > hi) {
        return st_err(STRATA_E_INVALID, "option %s: %lld is out of range [%lld, %lld]", name, v,
                      lo, hi);
    }
    return 0;
}

static int check_u64(const char *name, uint64_t v, uint64_t lo, uint64_t hi)
{
    if (v < lo || v > hi) {
        return st_err(STRATA_E_INVALID,
                      "option %s: %" PRIu64 " is out of range [%" PRIu64 ", %" PRIu64 "]", name, v,
                      lo, hi);
    }
    return 0;
}

static int compression_compiled_in(int type)
{
    switch (type) {
    case STRATA_COMPRESSION_NONE: return 1;
#ifdef STRATA_HAVE_SNAPPY
    case STRATA_COMPRESSION_SNAPPY: return 1;
#endif
#ifdef STRATA_HAVE_LZ4
    case STRATA_COMPRESSION_LZ4: return 1;
#endif
#ifdef STRATA_HAVE_ZSTD
    case STRATA_COMPRESSION_ZSTD: return 1;
#endif
    default: return 0;
    }
}

static const char *const compression_names[] = {"none", "snappy", "lz4", "zstd"};
static const char *const checksum_names[] = {"crc32c", "xxh3"};
static const char *const encryption_names[] = {"none", "aes-256-gcm"};
static const char *const ecc_names[] = {"none", "xor", "rs"};

static int check_compression(const char *name, int type)
{
    int rc = check_int(name, type, STRATA_COMPRESSION_NONE, STRATA_COMPRESSION_ZSTD);
    if (rc == 0 && !compression_compiled_in(type)) {
        rc = st_err(STRATA_E_NOTSUP, "option %s: %s compression is not compiled in", name,
                    compression_names[type]);
    }
    return rc;
}

static int check_opt(const strata_options *opt)
{
    return opt ? 0 : st_err(STRATA_E_INVALID, "options handle is NULL");
}

/* ---- Defaults and lifetime ----------------------------------------------------------------------- */

static int default_compression(void)
{
#ifdef STRATA_HAVE_SNAPPY
    return STRATA_COMPRESSION_SNAPPY;
#else
    return STRATA_COMPRESSION_NONE;
#endif
}

void st_options_defaults(struct strata_options *o)
{
    memset(o, 0, sizeof(*o));
    o->comparator = st_comparator_bytewise();
    o->bloom_bits_per_key = 10;
    o->block_cache_size = 32 * MIB;
    o->write_buffer_size = 64 * MIB;
    o->max_write_buffers = 2;
    o->max_open_files = 1000;
    o->mmap_reads = 1;
    o->mmap_wal_writes = 1;
    o->block_size = 4096;
    o->block_restart_interval = 16;
    for (int i = 0; i < ST_MAX_LEVELS_OPT; i++) {
        o->compression[i] = default_compression();
    }
    o->zstd_level = 3;
    o->checksum = STRATA_CHECKSUM_CRC32C;
    o->num_levels = 7;
    o->target_file_size = 64 * MIB;
    o->max_bytes_for_level_base = 256 * MIB;
    o->level_multiplier = 10.0;
    o->dynamic_level_bytes = 1;
    o->l0_compaction_trigger = 4;
    o->l0_slowdown_trigger = 20;
    o->l0_stop_trigger = 36;
    o->soft_pending_bytes = 64 * GIB;
    o->hard_pending_bytes = 256 * GIB;
    o->delayed_write_rate = 16 * MIB;
    o->max_background_jobs = 2;
    o->low_priority_background = 1;
    o->info_log = 1;
    o->ecc_data_shards = 8;
    o->ecc_parity_shards = 2;
}

void st_read_options_defaults(struct strata_read_options *ro)
{
    memset(ro, 0, sizeof(*ro));
    ro->verify_checksums = 1;
    ro->fill_cache = 1;
}

STRATA_EXPORT void strata_free(void *ptr)
{
    st_free(ptr);
}

STRATA_EXPORT strata_options *strata_options_create(void)
{
    strata_options *o = st_malloc(sizeof(*o));
    if (o) {
        st_options_defaults(o);
    }
    return o;
}

STRATA_EXPORT void strata_options_destroy(strata_options *opt)
{
    if (opt) {
        st_cache_unref(opt->block_cache);
        st_key_provider_unref((st_key_provider *)opt->key_provider);
        st_merge_op_unref(opt->merge_operator);
        st_compaction_filter_unref(opt->compaction_filter);
        st_free(opt);
    }
}

STRATA_EXPORT strata_options *strata_options_copy(const strata_options *opt)
{
    if (!opt) {
        return NULL;
    }
    strata_options *o = st_memdup(opt, sizeof(*opt));
    if (o && o->block_cache) {
        st_cache_ref(o->block_cache); /* the copy holds its own reference */
    }
    if (o && o->key_provider) {
        st_key_provider_ref((st_key_provider *)o->key_provider);
    }
    if (o && o->merge_operator) {
        st_merge_op_ref(o->merge_operator);
    }
    if (o && o->compaction_filter) {
        st_compaction_filter_ref(o->compaction_filter);
    }
    return o;
}

int st_options_compression_for_level(const struct strata_options *o, int level)
{
    if (level < 0) {
        level = 0;
    }
    return o->compression[level < ST_MAX_LEVELS_OPT ? level : ST_MAX_LEVELS_OPT - 1];
}

/* ---- Setters ------------------------------------------------------------------------------------- */

/* A setter for a boolean field: any non-zero value means 1. */
#define BOOL_SETTER(setter, field)                                                             \
    STRATA_EXPORT int strata_options_set_##setter(strata_options *opt, int v)                  \
    {                                                                                          \
        int rc = check_opt(opt);                                                               \
        if (rc == 0) {                                                                         \
            opt->field = v != 0;                                                               \
        }                                                                                      \
        return rc;                                                                             \
    }

/* A setter for a ranged numeric field of type T, checked by CHECK (check_int or check_u64). */
#define RANGE_SETTER(setter, T, field, CHECK, lo, hi)                                          \
    STRATA_EXPORT int strata_options_set_##setter(strata_options *opt, T v)                    \
    {                                                                                          \
        int rc = check_opt(opt);                                                               \
        if (rc == 0) {                                                                         \
            rc = CHECK(#setter, v, lo, hi);                                                    \
        }                                                                                      \
        if (rc == 0) {                                                                         \
            opt->field = v;                                                                    \
        }                                                                                      \
        return rc;                                                                             \
    }

BOOL_SETTER(create_if_missing, create_if_missing)
BOOL_SETTER(error_if_exists, error_if_exists)
BOOL_SETTER(paranoid_checks, paranoid_checks)
BOOL_SETTER(mmap_reads, mmap_reads)
BOOL_SETTER(mmap_wal_writes, mmap_wal_writes)
BOOL_SETTER(dynamic_level_bytes, dynamic_level_bytes)
BOOL_SETTER(skip_corrupt_wal_records, skip_corrupt_wal_records)
BOOL_SETTER(info_log, info_log)

RANGE_SETTER(bloom_bits_per_key, int, bloom_bits_per_key, check_int, 0, 64)
RANGE_SETTER(block_cache_size, size_t, block_cache_size, check_u64, 0, SIZE_MAX)
RANGE_SETTER(write_buffer_size, size_t, write_buffer_size, check_u64, MIN_WRITE_BUFFER, SIZE_MAX)
RANGE_SETTER(max_write_buffers, int, max_write_buffers, check_int, 1, 64)
RANGE_SETTER(max_open_files, int, max_open_files, check_int, 16, INT_MAX)
RANGE_SETTER(block_size, size_t, block_size, check_u64, MIN_BLOCK_SIZE, MAX_BLOCK_SIZE)
RANGE_SETTER(block_restart_interval, int, block_restart_interval, check_int, 1, 1024)
RANGE_SETTER(zstd_level, int, zstd_level, check_int, -5, 22)
RANGE_SETTER(checksum, int, checksum, check_int, STRATA_CHECKSUM_CRC32C, STRATA_CHECKSUM_XXH3)
RANGE_SETTER(num_levels, int, num_levels, check_int, 2, ST_MAX_LEVELS_OPT)
RANGE_SETTER(target_file_size, uint64_t, target_file_size, check_u64, MIN_FILE_BYTES, UINT64_MAX)
RANGE_SETTER(max_bytes_for_level_base, uint64_t, max_bytes_for_level_base, check_u64,
             MIN_FILE_BYTES, UINT64_MAX)
RANGE_SETTER(level0_compaction_trigger, int, l0_compaction_trigger, check_int, 1, INT_MAX)
RANGE_SETTER(level0_slowdown_trigger, int, l0_slowdown_trigger, check_int, 1, INT_MAX)
RANGE_SETTER(level0_stop_trigger, int, l0_stop_trigger, check_int, 1, INT_MAX)
RANGE_SETTER(soft_pending_compaction_bytes, uint64_t, soft_pending_bytes, check_u64, 0,
             UINT64_MAX)
RANGE_SETTER(hard_pending_compaction_bytes, uint64_t, hard_pending_bytes, check_u64, 0,
             UINT64_MAX)
RANGE_SETTER(delayed_write_rate, uint64_t, delayed_write_rate, check_u64, MIN_DELAYED_RATE,
             UINT64_MAX)
RANGE_SETTER(max_background_jobs, int, max_background_jobs, check_int, 2, 64)
BOOL_SETTER(low_priority_background, low_priority_background)
RANGE_SETTER(encryption, int, encryption, check_int, STRATA_ENCRYPTION_NONE,
             STRATA_ENCRYPTION_AES256GCM)
RANGE_SETTER(ecc, int, ecc, check_int, STRATA_ECC_NONE, STRATA_ECC_RS)
RANGE_SETTER(ecc_data_shards, int, ecc_data_shards, check_int, 1, 32)
RANGE_SETTER(ecc_parity_shards, int, ecc_parity_shards, check_int, 1, 8)

STRATA_EXPORT int strata_options_set_protection_bytes_per_key(strata_options *opt, int n)
{
    int rc = check_opt(opt);
    if (rc == 0 && n != 0 && n != 1 && n != 2 && n != 4 && n != 8) {
        rc = st_err(STRATA_E_INVALID, "option protection_bytes_per_key: %d is not 0, 1, 2, 4 or 8",
                    n);
    }
    if (rc == 0) {
        opt->protection_bytes_per_key = n;
    }
    return rc;
}

STRATA_EXPORT int strata_options_set_merge_operator(strata_options *opt,
                                                    strata_merge_operator *mo)
{
    int rc = check_opt(opt);
    if (rc == 0) {
        if (mo) {
            st_merge_op_ref(mo); /* before the unref: mo may be the current one */
        }
        st_merge_op_unref(opt->merge_operator);
        opt->merge_operator = mo;
    }
    return rc;
}

/* The string form: a built-in by name ("none" clears it). */
static int set_merge_operator_name(strata_options *opt, const char *name)
{
    if (strcmp(name, "none") == 0 || name[0] == '\0') {
        return strata_options_set_merge_operator(opt, NULL);
    }
    strata_merge_operator *mo;
    int rc = st_merge_op_by_name(name, &mo);
    if (rc) {
        return rc;
    }
    rc = strata_options_set_merge_operator(opt, mo);
    st_merge_op_unref(mo); /* opt holds it now */
    return rc;
}

STRATA_EXPORT int strata_options_set_compaction_filter(strata_options *opt,
                                                       strata_compaction_filter *cf)
{
    int rc = check_opt(opt);
    if (rc == 0) {
        if (cf) {
            st_compaction_filter_ref(cf);
        }
        st_compaction_filter_unref(opt->compaction_filter);
        opt->compaction_filter = cf;
    }
    return rc;
}

RANGE_SETTER(default_ttl, uint64_t, default_ttl, check_u64, 0, UINT64_MAX / 1000000)

STRATA_EXPORT int strata_options_set_key_provider(strata_options *opt, strata_key_provider *kp)
{
    int rc = check_opt(opt);
    if (rc == 0) {
        if (kp) {
            st_key_provider_ref((st_key_provider *)kp); /* before the unref: kp may be current */
        }
        st_key_provider_unref((st_key_provider *)opt->key_provider);
        opt->key_provider = kp;
    }
    return rc;
}

STRATA_EXPORT int strata_options_set_encryption_key_file(strata_options *opt, const char *path)
{
    int rc = check_opt(opt);
    size_t n = path ? strlen(path) : 0;
    if (rc == 0 && n >= sizeof(opt->encryption_key_file)) {
        rc = st_err(STRATA_E_INVALID, "option encryption_key_file: path of %zu bytes is too long "
                    "(at most %zu)", n, sizeof(opt->encryption_key_file) - 1);
    }
    if (rc == 0) {
        memcpy(opt->encryption_key_file, path ? path : "", n);
        opt->encryption_key_file[n] = '\0';
    }
    return rc;
}

STRATA_EXPORT int strata_options_set_max_bytes_for_level_multiplier(strata_options *opt, double m)
{
    int rc = check_opt(opt);
    if (rc == 0 && !(m >= 2.0 && m <= 100.0)) { /* also rejects NaN */
        rc = st_err(STRATA_E_INVALID,
                    "option max_bytes_for_level_multiplier: %g is out of range [2, 100]", m);
    }
    if (rc == 0) {
        opt->level_multiplier = m;
    }
    return rc;
}

STRATA_EXPORT int strata_options_set_comparator(strata_options *opt, const strata_comparator *c)
{
    int rc = check_opt(opt);
    if (rc == 0) {
        opt->comparator = c ? c : st_comparator_bytewise();
    }
    return rc;
}

STRATA_EXPORT int strata_options_set_filter_policy(strata_options *opt,
                                                   const strata_filter_policy *policy)
{
    int rc = check_opt(opt);
    if (rc == 0) {
        opt->filter_policy = policy;
        opt->filter_policy_set = 1;
    }
    return rc;
}

STRATA_EXPORT int strata_options_set_block_cache(strata_options *opt, strata_cache *cache)
{
    int rc = check_opt(opt);
    if (rc == 0) {
        if (cache) {
            st_cache_ref(cache); /* before the unref, in case cache is the current one */
        }
        st_cache_unref(opt->block_cache);
        opt->block_cache = cache;
    }
    return rc;
}

STRATA_EXPORT int strata_options_set_env(strata_options *opt, strata_env *env)
{
    int rc = check_opt(opt);
    if (rc == 0) {
        opt->env = env;
    }
    return rc;
}

STRATA_EXPORT int strata_options_set_compression(strata_options *opt, int type)
{
    int rc = check_opt(opt);
    if (rc == 0) {
        rc = check_compression("compression", type);
    }
    for (int i = 0; rc == 0 && i < ST_MAX_LEVELS_OPT; i++) {
        opt->compression[i] = type;
    }
    return rc;
}

STRATA_EXPORT int strata_options_set_compression_per_level(strata_options *opt, const int *types,
                                                           int n)
{
    int rc = check_opt(opt);
    if (rc == 0 && (!types || n < 1 || n > ST_MAX_LEVELS_OPT)) {
        rc = st_err(STRATA_E_INVALID, "option compression_per_level: need 1..%d levels, got %d",
                    ST_MAX_LEVELS_OPT, types ? n : 0);
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = check_compression("compression_per_level", types[i]);
    }
    for (int i = 0; rc == 0 && i < ST_MAX_LEVELS_OPT; i++) {
        opt->compression[i] = types[i < n ? i : n - 1];
    }
    return rc;
}

/* ---- Cross-field validation ---------------------------------------------------------------------- */

/* Re-checks single-field ranges, for structs filled other than through the setters. */
static int validate_ranges(const struct strata_options *o)
{
    int rc = check_int("num_levels", o->num_levels, 2, ST_MAX_LEVELS_OPT);
    rc = rc ? rc : check_int("max_write_buffers", o->max_write_buffers, 1, 64);
    rc = rc ? rc : check_int("max_background_jobs", o->max_background_jobs, 2, 64);
    rc = rc ? rc : check_int("block_restart_interval", o->block_restart_interval, 1, 1024);
    rc = rc ? rc : check_int("bloom_bits_per_key", o->bloom_bits_per_key, 0, 64);
    rc = rc ? rc : check_int("checksum", o->checksum, 0, STRATA_CHECKSUM_XXH3);
    rc = rc ? rc : check_int("encryption", o->encryption, 0, STRATA_ENCRYPTION_AES256GCM);
    rc = rc ? rc : check_int("ecc", o->ecc, 0, STRATA_ECC_RS);
    rc = rc ? rc : check_int("ecc_data_shards", o->ecc_data_shards, 1, 32);
    rc = rc ? rc : check_int("ecc_parity_shards", o->ecc_parity_shards, 1, 8);
    rc = rc ? rc : check_u64("block_size", o->block_size, MIN_BLOCK_SIZE, MAX_BLOCK_SIZE);
    rc = rc ? rc : check_u64("write_buffer_size", o->write_buffer_size, MIN_WRITE_BUFFER,
                             SIZE_MAX);
    rc = rc ? rc : check_int("level0_compaction_trigger", o->l0_compaction_trigger, 1, INT_MAX);
    for (int i = 0; rc == 0 && i < ST_MAX_LEVELS_OPT; i++) {
        rc = check_compression("compression", o->compression[i]);
    }
    return rc;
}

int st_options_validate(const struct strata_options *o)
{
    int rc = validate_ranges(o);
    if (rc) {
        return rc;
    }
    if (o->l0_slowdown_trigger < o->l0_compaction_trigger) {
        return st_err(STRATA_E_INVALID,
                      "option level0_slowdown_trigger (%d) must be >= level0_compaction_trigger "
                      "(%d)", o->l0_slowdown_trigger, o->l0_compaction_trigger);
    }
    if (o->l0_stop_trigger < o->l0_slowdown_trigger) {
        return st_err(STRATA_E_INVALID,
                      "option level0_stop_trigger (%d) must be >= level0_slowdown_trigger (%d)",
                      o->l0_stop_trigger, o->l0_slowdown_trigger);
    }
    if (o->soft_pending_bytes && o->hard_pending_bytes &&
        o->hard_pending_bytes < o->soft_pending_bytes) {
        return st_err(STRATA_E_INVALID,
                      "option hard_pending_compaction_bytes (%" PRIu64 ") must be >= "
                      "soft_pending_compaction_bytes (%" PRIu64 ")",
                      o->hard_pending_bytes, o->soft_pending_bytes);
    }
    return 0;
}

/* ---- String form: value parsers ------------------------------------------------------------------ */

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return 0;
        }
    }
    return st_err(STRATA_E_INVALID, "'%s' is not a boolean (true/false/1/0/yes/no/on/off)", s);
}

static int parse_int(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < INT_MIN || v > INT_MAX || isspace((unsigned char)*s)) {
        return st_err(STRATA_E_INVALID, "'%s' is not an integer", s);
    }
    *out = (int)v;
    return 0;
}

/* Binary multiplier for a size suffix ("" = bytes), or 0 if unknown. */
static uint64_t size_multiplier(const char *suffix)
{
    static const struct {
        const char *name;
        uint64_t mult;
    } units[] = {{"", 1},         {"b", 1},     {"k", KIB},   {"kb", KIB}, {"kib", KIB},
                 {"m", MIB},      {"mb", MIB},  {"mib", MIB}, {"g", GIB},  {"gb", GIB},
                 {"gib", GIB},    {"t", TIB},   {"tb", TIB},  {"tib", TIB}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(suffix, units[i].name) == 0) {
            return units[i].mult;
        }
    }
    return 0;
}

static int parse_size(const char *s, uint64_t *out)
{
    if (!isdigit((unsigned char)*s)) {
        return st_err(STRATA_E_INVALID, "'%s' is not a size", s);
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    while (isspace((unsigned char)*end)) {
        end++;
    }
    uint64_t mult = size_multiplier(end);
    if (errno || mult == 0) {
        return st_err(STRATA_E_INVALID, "'%s' is not a size (suffixes K, M, G, T; 1024-based)", s);
    }
    if (v > UINT64_MAX / mult) {
        return st_err(STRATA_E_INVALID, "size '%s' overflows 64 bits", s);
    }
    *out = (uint64_t)v * mult;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || isspace((unsigned char)*s)) {
        return st_err(STRATA_E_INVALID, "'%s' is not a number", s);
    }
    *out = v;
    return 0;
}

static int parse_name(const char *s, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return st_err(STRATA_E_INVALID, "unknown value '%s'", s);
}

/* ---- String form: the option table --------------------------------------------------------------- */

enum opt_kind {
    K_BOOL, K_INT, K_SIZE, K_U64, K_DOUBLE, K_COMPRESSION, K_CHECKSUM, K_PER_LEVEL, K_ENCRYPTION,
    K_ECC, K_PATH, K_MERGE
};

struct opt_desc {
    const char *name;
    enum opt_kind kind;
    size_t offset; /* of the field, for printing */
    union {
        int (*i)(strata_options *, int);
        int (*z)(strata_options *, size_t);
        int (*u)(strata_options *, uint64_t);
        int (*d)(strata_options *, double);
        int (*s)(strata_options *, const char *);
    } set;
};

#define OPT(name, kind, field, member) \
    {#name, kind, offsetof(strata_options, field), {.member = strata_options_set_##name}}

static const struct opt_desc opt_table[] = {
    OPT(create_if_missing, K_BOOL, create_if_missing, i),
    OPT(error_if_exists, K_BOOL, error_if_exists, i),
    OPT(paranoid_checks, K_BOOL, paranoid_checks, i),
    OPT(bloom_bits_per_key, K_INT, bloom_bits_per_key, i),
    OPT(block_cache_size, K_SIZE, block_cache_size, z),
    OPT(write_buffer_size, K_SIZE, write_buffer_size, z),
    OPT(max_write_buffers, K_INT, max_write_buffers, i),
    OPT(max_open_files, K_INT, max_open_files, i),
    OPT(mmap_reads, K_BOOL, mmap_reads, i),
    OPT(mmap_wal_writes, K_BOOL, mmap_wal_writes, i),
    OPT(block_size, K_SIZE, block_size, z),
    OPT(block_restart_interval, K_INT, block_restart_interval, i),
    OPT(compression, K_COMPRESSION, compression, i),
    {"compression_per_level", K_PER_LEVEL, offsetof(strata_options, compression), {NULL}},
    OPT(zstd_level, K_INT, zstd_level, i),
    OPT(checksum, K_CHECKSUM, checksum, i),
    OPT(num_levels, K_INT, num_levels, i),
    OPT(target_file_size, K_U64, target_file_size, u),
    OPT(max_bytes_for_level_base, K_U64, max_bytes_for_level_base, u),
    OPT(max_bytes_for_level_multiplier, K_DOUBLE, level_multiplier, d),
    OPT(dynamic_level_bytes, K_BOOL, dynamic_level_bytes, i),
    OPT(level0_compaction_trigger, K_INT, l0_compaction_trigger, i),
    OPT(level0_slowdown_trigger, K_INT, l0_slowdown_trigger, i),
    OPT(level0_stop_trigger, K_INT, l0_stop_trigger, i),
    OPT(soft_pending_compaction_bytes, K_U64, soft_pending_bytes, u),
    OPT(hard_pending_compaction_bytes, K_U64, hard_pending_bytes, u),
    OPT(delayed_write_rate, K_U64, delayed_write_rate, u),
    OPT(max_background_jobs, K_INT, max_background_jobs, i),
    OPT(low_priority_background, K_BOOL, low_priority_background, i),
    OPT(skip_corrupt_wal_records, K_BOOL, skip_corrupt_wal_records, i),
    OPT(info_log, K_BOOL, info_log, i),
    OPT(encryption, K_ENCRYPTION, encryption, i),
    OPT(encryption_key_file, K_PATH, encryption_key_file, s),
    OPT(ecc, K_ECC, ecc, i),
    OPT(ecc_data_shards, K_INT, ecc_data_shards, i),
    OPT(ecc_parity_shards, K_INT, ecc_parity_shards, i),
    OPT(protection_bytes_per_key, K_INT, protection_bytes_per_key, i),
    {"merge_operator", K_MERGE, offsetof(strata_options, merge_operator),
     {.s = set_merge_operator_name}},
    OPT(default_ttl, K_U64, default_ttl, u),
};

/* Options that exist but hold pointers, so the string form cannot set them. */
static const char *const pointer_opts[] = {"comparator", "filter_policy", "block_cache", "env",
                                           "key_provider", "compaction_filter"};

static const struct opt_desc *find_opt(const char *name)
{
    for (size_t i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++) {
        if (strcmp(opt_table[i].name, name) == 0) {
            return &opt_table[i];
        }
    }
    return NULL;
}

/* "none:snappy:zstd" -> compression_per_level. */
static int apply_per_level(strata_options *o, const char *value)
{
    int types[ST_MAX_LEVELS_OPT];
    int n = 0;
    const char *p = value;
    for (;;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        char item[16];
        while (len && isspace((unsigned char)*p)) {
            p++, len--;
        }
        while (len && isspace((unsigned char)p[len - 1])) {
            len--;
        }
        if (n == ST_MAX_LEVELS_OPT || len == 0 || len >= sizeof(item)) {
            return st_err(STRATA_E_INVALID, "bad level list '%s' (1..%d names separated by ':')",
                          value, ST_MAX_LEVELS_OPT);
        }
        memcpy(item, p, len);
        item[len] = '\0';
        int rc = parse_name(item, compression_names, 4, &types[n++]);
        if (rc) {
            return rc;
        }
        if (!colon) {
            break;
        }
        p = colon + 1;
    }
    return strata_options_set_compression_per_level(o, types, n);
}

/* Parses value for d and calls its setter on o. */
static int apply_opt(strata_options *o, const struct opt_desc *d, const char *value)
{
    int iv = 0;
    uint64_t uv = 0;
    double dv = 0;
    int rc;
    switch (d->kind) {
    case K_BOOL: rc = parse_bool(value, &iv); break;
    case K_INT: rc = parse_int(value, &iv); break;
    case K_COMPRESSION: rc = parse_name(value, compression_names, 4, &iv); break;
    case K_CHECKSUM: rc = parse_name(value, checksum_names, 2, &iv); break;
    case K_ENCRYPTION: rc = parse_name(value, encryption_names, 2, &iv); break;
    case K_ECC: rc = parse_name(value, ecc_names, 3, &iv); break;
    case K_PATH:
    case K_MERGE: return d->set.s(o, value);
    case K_SIZE:
    case K_U64: rc = parse_size(value, &uv); break;
    case K_DOUBLE: rc = parse_double(value, &dv); break;
    case K_PER_LEVEL: return apply_per_level(o, value);
    default: return st_err(STRATA_E_INVALID, "internal: bad option kind");
    }
    if (rc) {
        return rc;
    }
    switch (d->kind) {
    case K_SIZE:
        if (uv > SIZE_MAX) {
            return st_err(STRATA_E_INVALID, "size '%s' does not fit in size_t", value);
        }
        return d->set.z(o, (size_t)uv);
    case K_U64: return d->set.u(o, uv);
    case K_DOUBLE: return d->set.d(o, dv);
    default: return d->set.i(o, iv);
    }
}

/* Copies [b, e) trimmed into out (cap bytes); 0 or STRATA_E_INVALID when too long. */
static int trimmed(const char *b, const char *e, char *out, size_t cap)
{
    while (b < e && isspace((unsigned char)*b)) {
        b++;
    }
    while (e > b && isspace((unsigned char)e[-1])) {
        e--;
    }
    if ((size_t)(e - b) >= cap) {
        return st_err(STRATA_E_INVALID, "token '%.*s' is too long", (int)(e - b), b);
    }
    memcpy(out, b, (size_t)(e - b));
    out[e - b] = '\0';
    return 0;
}

/* Applies one "name = value" token (already without ';') to o. */
static int apply_token(strata_options *o, const char *b, const char *e)
{
    char name[64], value[1024];
    const char *eq = memchr(b, '=', (size_t)(e - b));
    if (!eq) {
        return st_err(STRATA_E_INVALID, "expected name=value, got '%.*s'", (int)(e - b), b);
    }
    int rc = trimmed(b, eq, name, sizeof(name));
    rc = rc ? rc : trimmed(eq + 1, e, value, sizeof(value));
    if (rc) {
        return rc;
    }
    if (name[0] == '\0') {
        return st_err(STRATA_E_INVALID, "missing option name in '%.*s'", (int)(e - b), b);
    }
    const struct opt_desc *d = find_opt(name);
    if (!d) {
        for (size_t i = 0; i < sizeof(pointer_opts) / sizeof(pointer_opts[0]); i++) {
            if (strcmp(name, pointer_opts[i]) == 0) {
                return st_err(STRATA_E_INVALID, "option '%s' cannot be set from a string", name);
            }
        }
        return st_err(STRATA_E_INVALID, "unknown option '%s'", name);
    }
    rc = apply_opt(o, d, value);
    return rc ? st_err_context(rc, "in '%s=%s'", name, value) : 0;
}

/* Whether [b, e) is only whitespace (an empty token, e.g. after a trailing ';'). */
static int blank(const char *b, const char *e)
{
    while (b < e && isspace((unsigned char)*b)) {
        b++;
    }
    return b == e;
}

STRATA_EXPORT int strata_options_from_string(strata_options *opt, const char *text)
{
    int rc = check_opt(opt);
    if (rc) {
        return rc;
    }
    if (!text) {
        return st_err(STRATA_E_INVALID, "options string is NULL");
    }
    /* A by-value copy: string options never touch the refcounted block_cache pointer, so the
     * copy needs no extra reference for it.  merge_operator can be replaced by the string, so
     * the copy takes its own reference to the current one (dropped on either outcome below). */
    strata_options tmp = *opt;
    strata_merge_operator *old_mo = opt->merge_operator;
    if (old_mo) {
        st_merge_op_ref(old_mo);
    }
    for (const char *p = text; rc == 0;) {
        const char *semi = strchr(p, ';');
        const char *end = semi ? semi : p + strlen(p);
        if (!blank(p, end)) {
            rc = apply_token(&tmp, p, end);
        }
        if (!semi) {
            break;
        }
        p = semi + 1;
    }
    rc = rc ? rc : st_options_validate(&tmp);
    if (rc == 0) {
        *opt = tmp;
        st_merge_op_unref(old_mo); /* opt's own reference, now held through tmp's */
    } else {
        st_merge_op_unref(tmp.merge_operator);
    }
    return rc;
}

/* ---- String form: printing ----------------------------------------------------------------------- */

static int put_size(st_buf *b, uint64_t v)
{
    static const struct {
        uint64_t mult;
        const char *suffix;
    } units[] = {{TIB, "TiB"}, {GIB, "GiB"}, {MIB, "MiB"}, {KIB, "KiB"}};
    char tmp[32];
    for (size_t i = 0; i < 4; i++) {
        if (v && v % units[i].mult == 0) {
            snprintf(tmp, sizeof(tmp), "%" PRIu64 "%s", v / units[i].mult, units[i].suffix);
            return st_buf_append(b, tmp, strlen(tmp));
        }
    }
    snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
    return st_buf_append(b, tmp, strlen(tmp));
}

/* The levels list with trailing repeats dropped (the last entry covers the remaining levels). */
static int put_levels(st_buf *b, const strata_options *o)
{
    int n = ST_MAX_LEVELS_OPT;
    while (n > 1 && o->compression[n - 1] == o->compression[n - 2]) {
        n--;
    }
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        const char *name = compression_names[o->compression[i]];
        rc = (i && st_buf_put_u8(b, ':')) || st_buf_append(b, name, strlen(name));
    }
    return rc ? STRATA_E_NOMEM : 0;
}

static int levels_uniform(const strata_options *o)
{
    for (int i = 1; i < ST_MAX_LEVELS_OPT; i++) {
        if (o->compression[i] != o->compression[0]) {
            return 0;
        }
    }
    return 1;
}

static int put_text(st_buf *b, const char *text)
{
    return st_buf_append(b, text, strlen(text));
}

static int put_value(st_buf *b, const strata_options *o, const struct opt_desc *d)
{
    const char *field = (const char *)o + d->offset;
    char tmp[64];
    int iv;
    size_t zv;
    uint64_t uv;
    double dv;
    switch (d->kind) {
    case K_BOOL:
        memcpy(&iv, field, sizeof(iv));
        return put_text(b, iv ? "true" : "false");
    case K_INT:
        memcpy(&iv, field, sizeof(iv));
        snprintf(tmp, sizeof(tmp), "%d", iv);
        return put_text(b, tmp);
    case K_COMPRESSION: return put_text(b, compression_names[o->compression[0]]);
    case K_CHECKSUM: return put_text(b, checksum_names[o->checksum]);
    case K_ENCRYPTION: return put_text(b, encryption_names[o->encryption]);
    case K_ECC: return put_text(b, ecc_names[o->ecc]);
    case K_PATH: return put_text(b, field);
    case K_SIZE: memcpy(&zv, field, sizeof(zv)); return put_size(b, zv);
    case K_U64: memcpy(&uv, field, sizeof(uv)); return put_size(b, uv);
    case K_DOUBLE:
        memcpy(&dv, field, sizeof(dv));
        snprintf(tmp, sizeof(tmp), "%.17g", dv); /* 17 digits: exact round trip */
        return put_text(b, tmp);
    case K_PER_LEVEL: return put_levels(b, o);
    case K_MERGE: /* only built-ins are printed (see skip_print) */
        return put_text(b, o->merge_operator->name + strlen("strata."));
    }
    return STRATA_E_INVALID;
}

STRATA_EXPORT char *strata_options_to_string(const strata_options *opt)
{
    if (!opt) {
        st_err(STRATA_E_INVALID, "options handle is NULL");
        return NULL;
    }
    st_buf b = ST_BUF_INIT;
    int failed = 0;
    int uniform = levels_uniform(opt);
    for (size_t i = 0; !failed && i < sizeof(opt_table) / sizeof(opt_table[0]); i++) {
        const struct opt_desc *d = &opt_table[i];
        /* Compression is printed once: as "compression" when every level agrees, else per level. */
        if ((d->kind == K_COMPRESSION && !uniform) || (d->kind == K_PER_LEVEL && uniform)) {
            continue;
        }
        /* A merge operator is printed only when it is a built-in the string form can name. */
        if (d->kind == K_MERGE &&
            (!opt->merge_operator || strncmp(opt->merge_operator->name, "strata.", 7) != 0)) {
            continue;
        }
        failed = (b.len && put_text(&b, "; ")) || put_text(&b, d->name) ||
                 st_buf_put_u8(&b, '=') || put_value(&b, opt, d);
    }
    if (failed || st_buf_put_u8(&b, '\0')) {
        st_buf_free(&b);
        st_err(STRATA_E_NOMEM, "strata_options_to_string: out of memory");
        return NULL;
    }
    return st_buf_release(&b, NULL);
}

/* ---- Read and write options ---------------------------------------------------------------------- */

STRATA_EXPORT strata_read_options *strata_read_options_create(void)
{
    strata_read_options *ro = st_malloc(sizeof(*ro));
    if (ro) {
        st_read_options_defaults(ro);
    }
    return ro;
}

STRATA_EXPORT void strata_read_options_destroy(strata_read_options *ro)
{
    if (ro) {
        st_free(ro->lower);
        st_free(ro->upper);
        st_free(ro);
    }
}

STRATA_EXPORT void strata_read_options_set_verify_checksums(strata_read_options *ro, int v)
{
    if (ro) {
        ro->verify_checksums = v != 0;
    }
}

STRATA_EXPORT void strata_read_options_set_fill_cache(strata_read_options *ro, int v)
{
    if (ro) {
        ro->fill_cache = v != 0;
    }
}

STRATA_EXPORT void strata_read_options_set_snapshot(strata_read_options *ro,
                                                    const strata_snapshot *snap)
{
    if (ro) {
        ro->snapshot = snap;
    }
}

/* Replaces the bound (*dst, *dst_len) by a copy of key (NULL clears); unchanged on failure. */
static int set_bound(strata_read_options *ro, char **dst, size_t *dst_len, const void *key,
                     size_t klen)
{
    if (!ro) {
        return st_err(STRATA_E_INVALID, "read options handle is NULL");
    }
    char *copy = NULL;
    if (key) {
        copy = st_memdup(key, klen);
        if (!copy) {
            return st_err(STRATA_E_NOMEM, "read options: cannot copy a %zu-byte bound", klen);
        }
    }
    st_free(*dst);
    *dst = copy;
    *dst_len = key ? klen : 0;
    return 0;
}

STRATA_EXPORT int strata_read_options_set_lower_bound(strata_read_options *ro, const void *key,
                                                      size_t klen)
{
    return set_bound(ro, ro ? &ro->lower : NULL, ro ? &ro->lower_len : NULL, key, klen);
}

STRATA_EXPORT int strata_read_options_set_upper_bound(strata_read_options *ro, const void *key,
                                                      size_t klen)
{
    return set_bound(ro, ro ? &ro->upper : NULL, ro ? &ro->upper_len : NULL, key, klen);
}

STRATA_EXPORT strata_write_options *strata_write_options_create(void)
{
    strata_write_options *wo = st_calloc(1, sizeof(*wo));
    return wo;
}

STRATA_EXPORT void strata_write_options_destroy(strata_write_options *wo)
{
    st_free(wo);
}

STRATA_EXPORT void strata_write_options_set_sync(strata_write_options *wo, int v)
{
    if (wo) {
        wo->sync = v != 0;
    }
}

STRATA_EXPORT void strata_write_options_set_disable_wal(strata_write_options *wo, int v)
{
    if (wo) {
        wo->disable_wal = v != 0;
    }
}
