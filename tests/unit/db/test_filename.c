/* test_filename.c — DB file names: formatting of every type, parsing (round trip, hostile and
 * near-miss names, 64-bit overflow), and the CURRENT update protocol (contents, replacement, no
 * temp file left behind, out-of-memory). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "db/filename.h"
#include "test_util.h"
#include "util/alloc.h"

static void check_name(int type, uint64_t number, const char *want)
{
    char *p = st_filename("db", type, number);
    assert_non_null(p);
    assert_string_equal(p, want);
    st_free(p);
}

static void test_format(void **state)
{
    (void)state;
    check_name(ST_FILE_LOG, 7, "db/000007.log");
    check_name(ST_FILE_TABLE, 123, "db/000123.sst");
    check_name(ST_FILE_TABLE, 12345678, "db/12345678.sst");
    check_name(ST_FILE_MANIFEST, 1, "db/MANIFEST-000001");
    check_name(ST_FILE_TEMP, 9, "db/000009.dbtmp");
    check_name(ST_FILE_OPTIONS, 42, "db/OPTIONS-000042");
    check_name(ST_FILE_CURRENT, 0, "db/CURRENT");
    check_name(ST_FILE_LOCK, 0, "db/LOCK");
    check_name(ST_FILE_INFO_LOG, 0, "db/LOG");
    check_name(ST_FILE_INFO_LOG_OLD, 0, "db/LOG.old");
    check_name(ST_FILE_TABLE, UINT64_MAX, "db/18446744073709551615.sst");
    assert_null(st_filename("db", 99, 1));
}

static void test_round_trip(void **state)
{
    (void)state;
    const int types[] = {ST_FILE_LOG, ST_FILE_TABLE, ST_FILE_MANIFEST, ST_FILE_TEMP,
                         ST_FILE_OPTIONS};
    const uint64_t numbers[] = {0, 1, 999999, 1000000, UINT64_MAX};
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
            char *p = st_filename("some/dir", types[t], numbers[i]);
            int type = -1;
            uint64_t number = 1234;
            assert_int_equal(st_parse_filename(strrchr(p, '/') + 1, &type, &number), 1);
            assert_int_equal(type, types[t]);
            assert_true(number == numbers[i]);
            st_free(p);
        }
    }
}

static void test_parse_fixed(void **state)
{
    (void)state;
    const struct {
        const char *name;
        int type;
    } cases[] = {{"CURRENT", ST_FILE_CURRENT},
                 {"LOCK", ST_FILE_LOCK},
                 {"LOG", ST_FILE_INFO_LOG},
                 {"LOG.old", ST_FILE_INFO_LOG_OLD},
                 {"5.log", ST_FILE_LOG},
                 {"00000000000000000000000000012.sst", ST_FILE_TABLE}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int type = -1;
        uint64_t number = 99;
        assert_int_equal(st_parse_filename(cases[i].name, &type, &number), 1);
        assert_int_equal(type, cases[i].type);
    }
}

static void test_parse_rejects(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "foo",
                         ".log",
                         "log",
                         "x1.log",
                         "1.log.bak",
                         "1.LOG",
                         "1.ldb",
                         "-1.log",
                         "+1.log",
                         " 1.log",
                         "1 .log",
                         "18446744073709551616.log", /* 2^64: overflow */
                         "99999999999999999999999.sst",
                         "MANIFEST-",
                         "MANIFEST",
                         "MANIFEST-1x",
                         "MANIFEST--1",
                         "MANIFEST-1\n",
                         "manifest-1",
                         "OPTIONS-",
                         "OPTIONS-a",
                         "CURRENTX",
                         "CURRENT.dbtmp",
                         "LOCK2",
                         "LOG.old.old",
                         "LOG.1",
                         "1.dbtmpx"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int type = -1;
        uint64_t number = 0;
        if (st_parse_filename(bad[i], &type, &number) != 0) {
            print_error("accepted bad name \"%s\"\n", bad[i]);
            fail();
        }
    }
}

static void read_all(st_env *env, const char *path, char *buf, size_t cap, size_t *len)
{
    char *data = NULL;
    tu_assert_ok(st_env_read_file(env, path, cap, &data, len));
    memcpy(buf, data, *len);
    st_free(data);
}

static void test_set_current(void **state)
{
    (void)state;
    st_env *env = st_env_mem_create();
    tu_assert_ok(st_env_create_dir(env, "/db"));
    tu_assert_ok(st_set_current_file(env, "/db", 5));
    char buf[64];
    size_t len = 0;
    read_all(env, "/db/CURRENT", buf, sizeof(buf), &len);
    tu_assert_bytes_equal(buf, len, "MANIFEST-000005\n", 16);
    tu_assert_ok(st_set_current_file(env, "/db", 1234567));
    read_all(env, "/db/CURRENT", buf, sizeof(buf), &len);
    tu_assert_bytes_equal(buf, len, "MANIFEST-1234567\n", 17);
    /* Only CURRENT remains: the temp files were renamed away. */
    char **names = NULL;
    int n = 0;
    tu_assert_ok(st_env_list_dir(env, "/db", &names, &n));
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "CURRENT");
    st_env_free_names(names, n);
    env->ops->destroy(env);
}

static void test_set_current_errors(void **state)
{
    (void)state;
    st_env *env = st_env_mem_create();
    tu_assert_ok(st_env_create_dir(env, "/db"));
    /* Out of memory anywhere in the protocol fails cleanly. */
    for (long k = 0; k < 40; k++) {
        st_alloc_fail_after(k, 0);
        int rc = st_set_current_file(env, "/db", 3);
        st_alloc_fail_after(-1, 0);
        assert_true(rc == 0 || rc == STRATA_E_NOMEM);
        if (rc == 0) {
            break;
        }
        assert_true(strlen(tu_errmsg()) > 0);
    }
    env->ops->destroy(env);
    /* A missing directory is an error naming a path, never a crash. */
    char *dir = tu_mkdtemp("filename");
    char path[512];
    snprintf(path, sizeof(path), "%s/does/not/exist", dir);
    int rc = st_set_current_file(st_env_posix(), path, 1);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(tu_errmsg(), "does/not/exist"));
    tu_free_path(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_fixed),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_set_current),
        cmocka_unit_test(test_set_current_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
