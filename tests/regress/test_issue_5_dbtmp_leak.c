/* test_issue_5_dbtmp_leak.c — regression for a leak found by the kill -9 crash loop
 * (tests/crash/test_crash_loop.c): a process killed while it switches CURRENT leaves its
 * NNNNNN.dbtmp file behind, and no later open removes it (src/db/db_bg.c keeps every temp file
 * "removed at open", but nothing at open removes them), so a DB that is killed often collects
 * stale temp files forever.  Seen in the crash loop as .dbtmp files numbered thousands of files
 * below the current file number that survive every later open.
 *
 * Reproduction without a kill: create a DB, close it, drop a stale temp file with a file number
 * below the DB's next file number (what a kill between "write temp" and "rename to CURRENT"
 * leaves), then open and close.  Expected: the stale temp file is gone and the DB is intact. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "engine_util.h"
#include "strata.h"
#include "test_util.h"

static void test_stale_dbtmp_removed_at_open(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("dbtmp_leak");
    char db_path[512], tmp_path[600];
    snprintf(db_path, sizeof(db_path), "%s/db", dir);
    strata_options *o = strata_options_create();
    tu_assert_ok(strata_options_set_create_if_missing(o, 1));
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, db_path, &db));
    tu_assert_ok(eu_put(db, "a", "1"));
    tu_assert_ok(strata_close(db));

    /* A torn CURRENT update: the temp file holds the start of "MANIFEST-000001\n". */
    snprintf(tmp_path, sizeof(tmp_path), "%s/000001.dbtmp", db_path);
    FILE *f = fopen(tmp_path, "wb");
    assert_non_null(f);
    fputs("MANIFEST-0000", f);
    fclose(f);

    for (int i = 0; i < 2; i++) { /* the first open, or at the latest the second, removes it */
        tu_assert_ok(strata_open(o, db_path, &db));
        eu_expect(db, NULL, "a", "1");
        tu_assert_ok(strata_close(db));
    }
    struct stat st;
    if (stat(tmp_path, &st) == 0) {
        print_error("stale %s survived two opens (%lld bytes)\n", tmp_path, (long long)st.st_size);
        fail();
    }
    strata_options_destroy(o);
    tu_free_path(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_dbtmp_removed_at_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
