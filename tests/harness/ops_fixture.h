/* ops_fixture.h — the fixture the issue #11 API tests share (tests/api/test_api_rangedel_merge.c,
 * tests/api/test_api_ttl_filter.c): a DB in a private in-memory env whose wall clock is a test
 * variable (so TTLs expire without sleeping), opened with the uint64add merge operator, small
 * write buffer and tables; iterators and snapshots opened through it are released at teardown
 * even when a failed check skipped the test's own cleanup. */
#ifndef STRATA_TESTS_HARNESS_OPS_FIXTURE_H
#define STRATA_TESTS_HARNESS_OPS_FIXTURE_H

#include <stdatomic.h>
#include <stdint.h>

#include "strata.h"

#define SEC UINT64_C(1000000)
#define T0 (UINT64_C(1700000000) * SEC)

struct fx {
    strata_env *env;
    strata_options *opt;
    strata_db *db;
    strata_merge_operator *mo;
    _Atomic uint64_t now; /* read by background compactions too */
};

/* cmocka setup and teardown. */
int fx_setup(void **state);
int fx_teardown(void **state);
void fx_open(struct fx *f);
void fx_reopen(struct fx *f);
/* The fixture's clock (state: the struct fx), and moving it forward. */
uint64_t fake_clock(void *state);
void advance(struct fx *f, uint64_t micros);
strata_iter *iter_open(strata_db *db, const strata_read_options *ro);
void iter_close(strata_iter *it);
const strata_snapshot *snap_take(strata_db *db);
void snap_drop(strata_db *db, const strata_snapshot *s);

/* Helpers: 8-byte little-endian counters, counter reads and merges, scans compared with an
 * expected key list, key counts. */
void le64(char out[8], uint64_t v);
uint64_t le64_get(const void *p);
void merge_u64(strata_db *db, const char *key, uint64_t v);
void expect_u64(strata_db *db, const strata_read_options *ro, const char *key, uint64_t want);
void expect_scan(strata_db *db, const char *lo, const char *hi, const char *const *want,
                 const char *const *vals, int n);
int count_keys(strata_db *db, const strata_read_options *ro);

#endif
