/* test_issue_5_compact_empty_level.c — regression for a finding of fuzz/fuzz_api_ops (issue 5):
 * strata_compact_range over a DB whose levels are partly empty computed
 * `v->files[level] + r.lo` with files[level] == NULL (src/db/compaction_pick.c keys_of), i.e.
 * pointer arithmetic on a null pointer — undefined behaviour that the clang UBSan build
 * (-fsanitize=undefined -fno-sanitize-recover=all) aborts on.  Under gcc the test passes either
 * way; it fails (aborts) in the clang ASan+UBSan build until keys_of is fixed.  The operation
 * sequence is the fuzzer's reproducer, decoded. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "strata.h"

static void put(strata_db *db, const char *k, const char *v)
{
    tu_assert_ok(strata_put(db, NULL, k, strlen(k), v, strlen(v)));
}

static void test_compact_with_empty_levels(void **state)
{
    (void)state;
    strata_env *env = strata_env_create_mem();
    strata_options *opt = strata_options_create();
    tu_assert_ok(strata_options_from_string(opt, "create_if_missing=true;info_log=false;"
                                                 "write_buffer_size=64K;compression=none"));
    tu_assert_ok(strata_options_set_env(opt, env));
    strata_db *db = NULL;
    tu_assert_ok(strata_open(opt, "/db", &db));
    tu_assert_ok(strata_delete(db, NULL, "key00", 5));
    tu_assert_ok(strata_delete(db, NULL, "key01", 5));
    put(db, "key03", "value03");
    tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
    put(db, "key09", "later");
    tu_assert_ok(strata_flush(db, 1));
    put(db, "key00", "");
    tu_assert_ok(strata_flush(db, 1));
    tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
    tu_assert_ok(strata_close(db));
    tu_assert_ok(strata_open(opt, "/db", &db));
    tu_assert_ok(strata_compact_range(db, NULL, 0, NULL, 0));
    void *v = NULL;
    size_t vlen = 0;
    tu_assert_ok(strata_get(db, NULL, "key03", 5, &v, &vlen));
    tu_assert_bytes_equal(v, vlen, "value03", 7);
    strata_free(v);
    tu_assert_ok(strata_close(db));
    strata_options_destroy(opt);
    strata_env_destroy(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_with_empty_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
