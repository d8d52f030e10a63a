/* stress_model.c — strata-stress keys, generated values, value checks and the options randomized
 * from the seed.
 *
 * Value of (key i, generation g): the text "%08x:%08x:" (i, g) followed by filler bytes that are
 * a function of (i, g); the length is 18 + (one time in 16 up to ~8 KiB, else up to 100) bytes,
 * also a function of (i, g).  A value read back is compared byte for byte with the one the
 * expected word predicts, so a stale, torn, misplaced or garbage value is reported with the
 * generation it carries. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress.h"

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

int stress_key(char *buf, uint32_t i)
{
    return snprintf(buf, STRESS_KEY_LEN + 1, "s%08u", i);
}

size_t stress_value(char *buf, uint32_t i, uint32_t g)
{
    uint64_t h = mix(((uint64_t)i << 32) | g);
    size_t fill =
        (h & 15) == 0 ? (size_t)((h >> 8) % (STRESS_VAL_MAX - 64)) : (size_t)((h >> 8) % 100);
    int n = snprintf(buf, 19, "%08x:%08x:", i, g);
    for (size_t k = 0; k < fill; k++) {
        h = h * 6364136223846793005ULL + 1442695040888963407ULL;
        buf[(size_t)n + k] = (char)('!' + (h >> 58));
    }
    return (size_t)n + fill;
}

int stress_counter_key(char *buf, uint32_t j)
{
    return snprintf(buf, STRESS_KEY_LEN + 1, "t%08u", j);
}

void stress_check_counter(const struct stress_ctx *c, uint32_t j, int found, const char *v,
                          size_t vlen, const char *what)
{
    if (!c->cpresent[j]) {
        if (found) {
            stress_fail(c, "%s: counter t%08u should be absent but holds %zu bytes", what, j, vlen);
        }
        return;
    }
    if (!found) {
        stress_fail(c, "%s: counter t%08u is missing; expected %" PRIu64, what, j, c->counters[j]);
    }
    uint64_t got = 0;
    for (int i = 7; vlen == 8 && i >= 0; i--) {
        got = (got << 8) | (unsigned char)v[i];
    }
    if (vlen != 8 || got != c->counters[j]) {
        stress_fail(c, "%s: counter t%08u holds %" PRIu64 " (%zu bytes); expected %" PRIu64, what,
                    j, got, vlen, c->counters[j]);
    }
}

/* The generation a value claims to carry, or -1 when its header is unreadable. */
long stress_generation(const char *v, size_t vlen)
{
    char tmp[9];
    if (vlen < 18 || v[8] != ':' || v[17] != ':') {
        return -1;
    }
    memcpy(tmp, v + 9, 8);
    tmp[8] = '\0';
    return strtol(tmp, NULL, 16);
}

void stress_check_value(const struct stress_ctx *c, uint32_t i, uint32_t w, int found,
                        const char *v, size_t vlen, const char *what)
{
    char want[STRESS_VAL_MAX];
    if (!(w & 1)) {
        if (found) {
            stress_fail(c,
                        "%s: key s%08u should be absent (deleted at generation %u) but holds "
                        "a %zu-byte value claiming generation %ld",
                        what, i, w >> 1, vlen, stress_generation(v, vlen));
        }
        return;
    }
    if (!found) {
        stress_fail(c, "%s: key s%08u is missing; expected generation %u", what, i, w >> 1);
    }
    size_t n = stress_value(want, i, w >> 1);
    if (n != vlen || memcmp(want, v, n) != 0) {
        stress_fail(c,
                    "%s: key s%08u holds a %zu-byte value claiming generation %ld; expected "
                    "%zu bytes of generation %u",
                    what, i, vlen, stress_generation(v, vlen), n, w >> 1);
    }
}

/* ---- randomized options -------------------------------------------------------------------- */

#define PICK(arr, h) (arr)[(h) % (sizeof(arr) / sizeof((arr)[0]))]

static uint64_t next(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ULL;
    return mix(*s);
}

static int sizes(strata_options *o, uint64_t *s)
{
    static const size_t wbuf[] = {64 << 10, 128 << 10, 256 << 10, 1 << 20, 4 << 20};
    static const size_t blk[] = {256, 1024, 4096, 16384};
    static const uint64_t tfs[] = {64 << 10, 256 << 10, 1 << 20, 8 << 20};
    static const uint64_t base[] = {256 << 10, 1 << 20, 4 << 20, 16 << 20};
    static const size_t cache[] = {0, 64 << 10, 1 << 20, 32 << 20};
    int rc = strata_options_set_write_buffer_size(o, PICK(wbuf, next(s)));
    rc = rc ? rc : strata_options_set_max_write_buffers(o, 2 + (int)(next(s) % 3));
    rc = rc ? rc : strata_options_set_block_size(o, PICK(blk, next(s)));
    rc = rc ? rc : strata_options_set_block_restart_interval(o, 1 + (int)(next(s) % 32));
    rc = rc ? rc : strata_options_set_target_file_size(o, PICK(tfs, next(s)));
    rc = rc ? rc : strata_options_set_max_bytes_for_level_base(o, PICK(base, next(s)));
    rc = rc ? rc : strata_options_set_block_cache_size(o, PICK(cache, next(s)));
    return rc;
}

static int shape(strata_options *o, uint64_t *s)
{
    static const double mult[] = {2, 4, 10};
    int trig = 1 + (int)(next(s) % 8);
    int slow = trig + (int)(next(s) % 20);
    int rc = strata_options_set_num_levels(o, 2 + (int)(next(s) % 6));
    rc = rc ? rc : strata_options_set_max_bytes_for_level_multiplier(o, PICK(mult, next(s)));
    rc = rc ? rc : strata_options_set_dynamic_level_bytes(o, (int)(next(s) % 2));
    rc = rc ? rc : strata_options_set_level0_compaction_trigger(o, trig);
    rc = rc ? rc : strata_options_set_level0_slowdown_trigger(o, slow);
    rc = rc ? rc : strata_options_set_level0_stop_trigger(o, slow + (int)(next(s) % 20));
    rc = rc ? rc : strata_options_set_max_background_jobs(o, 2 + (int)(next(s) % 3));
    rc = rc ? rc : strata_options_set_max_open_files(o, next(s) % 3 ? 1000 : 16);
    return rc;
}

/* Compression per level from the types compiled in (a rejected type falls back to none). */
static int compression(strata_options *o, uint64_t *s)
{
    int types[7];
    int n = 1 + (int)(next(s) % 7);
    for (int i = 0; i < n; i++) {
        types[i] = (int)(next(s) % 4);
        if (strata_options_set_compression(o, types[i]) != 0) {
            types[i] = STRATA_COMPRESSION_NONE;
        }
    }
    int rc = strata_options_set_compression_per_level(o, types, n);
    return rc ? rc : strata_options_set_zstd_level(o, 1 + (int)(next(s) % 5));
}

int stress_random_options(uint64_t seed, strata_options **out)
{
    uint64_t s = seed;
    strata_options *o = strata_options_create();
    if (!o) {
        return STRATA_E_NOMEM;
    }
    int rc = strata_options_set_create_if_missing(o, 1);
    rc = rc ? rc : sizes(o, &s);
    rc = rc ? rc : shape(o, &s);
    rc = rc ? rc : compression(o, &s);
    rc = rc ? rc
            : strata_options_set_bloom_bits_per_key(o, next(&s) % 4 ? 1 + (int)(next(&s) % 20) : 0);
    rc = rc ? rc : strata_options_set_checksum(o, (int)(next(&s) % 2));
    rc = rc ? rc : strata_options_set_paranoid_checks(o, (int)(next(&s) % 2));
    if (rc != 0) {
        strata_options_destroy(o);
        return rc;
    }
    *out = o;
    return 0;
}
