/* test_issue_14_orphan_tables.c — regression for issue #14's orphaned files: tables numbered
 * above every live file (the outputs of a compaction cut off at close or by a crash) stayed on
 * disk forever, because obsolete-file deletion keeps every number at or above the next file
 * number "for a job that may have started" — also at open, when no job can be running.
 *
 * Reproduction without a crash: create a DB, close it, drop a table file the MANIFEST does not
 * list, numbered far above the DB's next file number, then open.  Expected: it is gone after the
 * open, the DB's data is intact, and later writes and reopens work. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "engine_util.h"
#include "strata.h"
#include "test_util.h"

static void drop_file(const char *path)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("half-written compaction output", f);
    fclose(f);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_orphan_tables_removed_at_open(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("orphans");
    char db_path[512], high[600];
    snprintf(db_path, sizeof(db_path), "%s/db", dir);
    strata_options *o = strata_options_create();
    tu_assert_ok(strata_options_set_create_if_missing(o, 1));
    strata_db *db = NULL;
    tu_assert_ok(strata_open(o, db_path, &db));
    tu_assert_ok(eu_put(db, "a", "1"));
    tu_assert_ok(strata_flush(db, 1));
    tu_assert_ok(strata_close(db));

    snprintf(high, sizeof(high), "%s/%06d.sst", db_path, 900000); /* above every number used */
    drop_file(high);
    tu_assert_ok(strata_open(o, db_path, &db));
    assert_false(exists(high));
    eu_expect(db, NULL, "a", "1");
    tu_assert_ok(eu_put(db, "b", "2"));
    tu_assert_ok(strata_flush(db, 1));
    eu_expect(db, NULL, "b", "2");
    tu_assert_ok(strata_close(db));
    tu_assert_ok(strata_open(o, db_path, &db));
    eu_expect(db, NULL, "a", "1");
    eu_expect(db, NULL, "b", "2");
    tu_assert_ok(strata_close(db));
    strata_options_destroy(o);
    tu_free_path(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orphan_tables_removed_at_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
