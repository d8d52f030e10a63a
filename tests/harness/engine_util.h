/* engine_util.h — helpers shared by the whole-engine suites (tests/api, model, fault, mt): a small
 * deterministic PRNG, and checks that compare a live DB with the reference model (model_ref.h)
 * through the public API only.  Checks report the first difference (escaped key and values) with
 * cmocka's print_error and fail the current test. */
#ifndef STRATA_TESTS_ENGINE_UTIL_H
#define STRATA_TESTS_ENGINE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "model_ref.h"
#include "strata.h"

/* splitmix64: tiny, seedable, one per thread. */
typedef struct eu_rng {
    uint64_t s;
} eu_rng;

void eu_rng_seed(eu_rng *r, uint64_t seed);
uint64_t eu_rand(eu_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t eu_uniform(eu_rng *r, uint64_t n);
/* 1 with probability 1/n. */
int eu_one_in(eu_rng *r, uint64_t n);
/* Fills buf with n printable pseudo-random bytes. */
void eu_fill(eu_rng *r, char *buf, size_t n);

/* Prints "label: <escaped bytes>" through cmocka's print_error. */
void eu_print_bytes(const char *label, const void *p, size_t n);

/* Reads every key/value visible through ro (NULL: latest) into a new map.  Returns 0 or the
 * iterator's error.  Owned: *out (mr_destroy). */
int eu_db_to_map(strata_db *db, const strata_read_options *ro, mr_map **out);
/* eu_db_to_map for column family cf. */
int eu_cf_to_map(strata_db *db, const strata_read_options *ro, strata_cf *cf, mr_map **out);

/* Asserts the DB as seen through ro equals m: a forward scan, a backward scan, and strata_get of
 * every key (what says where in the test this check runs, for the failure message). */
void eu_check_db_equals(strata_db *db, const strata_read_options *ro, const mr_map *m,
                        const char *what);
/* Asserts strata_get(key) agrees with m (value or NOTFOUND). */
void eu_check_get(strata_db *db, const strata_read_options *ro, const mr_map *m, const void *key,
                  size_t klen, const char *what);

/* Generates a seek target into buf (at most EU_MAX_KEY bytes) and sets *len. */
#define EU_MAX_KEY 256
typedef void (*eu_keygen)(eu_rng *r, char *buf, size_t *len);

/* Drives it (created over the state m, with bounds [lower, upper), NULL = none) through steps
 * random moves — seek_to_first/last, seek and seek_for_prev to keys from gen, runs of next and
 * prev with direction changes — and asserts after every move that validity, key and value match
 * the model.  Ends with strata_iter_status == OK. */
void eu_check_iter_walk(strata_iter *it, const mr_map *m, const void *lower, size_t llen,
                        const void *upper, size_t ulen, eu_rng *r, int steps, eu_keygen gen,
                        const char *what);

/* Convenience wrappers for NUL-terminated keys and values (tests only). */
int eu_put(strata_db *db, const char *key, const char *val);
int eu_del(strata_db *db, const char *key);
/* Asserts key maps to val (val NULL: asserts NOTFOUND). */
void eu_expect(strata_db *db, const strata_read_options *ro, const char *key, const char *val);

/* The small write buffer the engine suites use so flushes happen after little data: 64 KiB (the
 * documented minimum) unless $STRATA_TEST_WRITE_BUFFER (bytes) overrides it. */
size_t eu_write_buffer_size(void);

/* Sum of a few integer properties, for debugging output (e.g. files per level).  Owned (free). */
char *eu_level_summary(strata_db *db);

#endif
