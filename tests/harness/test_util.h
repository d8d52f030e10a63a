/* test_util.h — shared helpers for strata's cmocka tests: temporary directories, seeded
 * randomness (STRATA_TEST_SEED overrides), and small checks that print values on failure. */
#ifndef STRATA_TESTS_TEST_UTIL_H
#define STRATA_TESTS_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the headers above first. */
#include <cmocka.h>

/* A fresh empty directory under $STRATA_TEST_TMPDIR (or /tmp), removed by tu_rmdir_all.
 * Owned: free with tu_free_path (which also removes the tree). */
char *tu_mkdtemp(const char *tag);
void tu_free_path(char *path);
/* rm -rf path (0 on success). */
int tu_rmdir_all(const char *path);
/* Seed for randomized tests: $STRATA_TEST_SEED if set, else deflt.  Printed once per test binary
 * so a failure can be reproduced. */
uint64_t tu_seed(uint64_t deflt);
/* Scale factor for randomized test sizes: $STRATA_TEST_SCALE (default 1.0). */
double tu_scale(void);

/* assert_int_equal with the strata error message on failure. */
#define tu_assert_ok(expr)                                                                     \
    do {                                                                                       \
        int tu_rc_ = (expr);                                                                   \
        if (tu_rc_ != 0) {                                                                     \
            print_error("%s returned %d (%s): %s\n", #expr, tu_rc_, tu_strerror(tu_rc_),       \
                        tu_errmsg());                                                          \
            fail();                                                                            \
        }                                                                                      \
    } while (0)

/* assert two byte strings are equal, printing both (escaped) on failure. */
#define tu_assert_bytes_equal(a, alen, b, blen) \
    tu_check_bytes_equal((a), (alen), (b), (blen), __FILE__, __LINE__)
void tu_check_bytes_equal(const void *a, size_t alen, const void *b, size_t blen,
                          const char *file, int line);

const char *tu_strerror(int code);
const char *tu_errmsg(void);

#endif
