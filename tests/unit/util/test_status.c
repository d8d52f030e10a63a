/* test_status.c — status code names and the thread-local detail message: formatting, context
 * prefixes, errno mapping, truncation, and per-thread isolation. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "strata.h"
#include "test_util.h"
#include "util/status.h"

static void test_strerror(void **state)
{
    (void)state;
    const int codes[] = {STRATA_OK,        STRATA_E_NOTFOUND, STRATA_E_CORRUPTION,
                         STRATA_E_IO,      STRATA_E_INVALID,  STRATA_E_BUSY,
                         STRATA_E_NOTSUP,  STRATA_E_NOMEM,    STRATA_E_NOSPC,
                         STRATA_E_EXISTS,  STRATA_E_CLOSED,   STRATA_E_INCOMPLETE};
    const size_t n = sizeof(codes) / sizeof(codes[0]);
    for (size_t i = 0; i < n; i++) {
        const char *s = strata_strerror(codes[i]);
        assert_non_null(s);
        assert_string_not_equal(s, "unknown error");
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(s, strata_strerror(codes[j])); /* names are distinct */
        }
    }
    assert_string_equal(strata_strerror(STRATA_OK), "ok");
    assert_string_equal(strata_strerror(STRATA_E_CORRUPTION), "corruption");
    assert_string_equal(strata_strerror(-999), "unknown error");
    assert_string_equal(strata_strerror(5), "unknown error");
}

static void test_messages(void **state)
{
    (void)state;
    st_err_clear();
    assert_string_equal(strata_errmsg(), "");
    assert_int_equal(st_err(STRATA_E_CORRUPTION, "%s: bad block at offset %d", "000001.sst", 42),
                     STRATA_E_CORRUPTION);
    assert_string_equal(st_errmsg(), "000001.sst: bad block at offset 42");
    assert_ptr_equal(st_errmsg(), strata_errmsg());
    assert_int_equal(st_err_context(STRATA_E_CORRUPTION, "open %s", "db"), STRATA_E_CORRUPTION);
    assert_string_equal(st_errmsg(), "open db: 000001.sst: bad block at offset 42");
    assert_int_equal(st_err_set(STRATA_E_IO, "saved"), STRATA_E_IO);
    assert_string_equal(st_errmsg(), "saved");
    assert_int_equal(st_err_set(STRATA_E_IO, NULL), STRATA_E_IO);
    assert_string_equal(st_errmsg(), "");
    st_err(STRATA_E_IO, "x");
    st_err_clear();
    assert_string_equal(st_errmsg(), "");
}

static void test_truncation(void **state)
{
    (void)state;
    char long_arg[3 * ST_ERRMSG_MAX];
    memset(long_arg, 'x', sizeof(long_arg) - 1);
    long_arg[sizeof(long_arg) - 1] = '\0';
    st_err(STRATA_E_IO, "%s", long_arg);
    assert_int_equal(strlen(st_errmsg()), ST_ERRMSG_MAX - 1);
    st_err_context(STRATA_E_IO, "%s", long_arg);
    assert_int_equal(strlen(st_errmsg()), ST_ERRMSG_MAX - 1);
    st_err_set(STRATA_E_IO, long_arg);
    assert_int_equal(strlen(st_errmsg()), ST_ERRMSG_MAX - 1);
    st_err_errno(EIO, "%s", long_arg);
    assert_int_equal(strlen(st_errmsg()), ST_ERRMSG_MAX - 1);
}

static void test_errno_mapping(void **state)
{
    (void)state;
    const struct {
        int err, code;
    } map[] = {{ENOENT, STRATA_E_NOTFOUND}, {ENOSPC, STRATA_E_NOSPC}, {EDQUOT, STRATA_E_NOSPC},
               {ENOMEM, STRATA_E_NOMEM},    {EEXIST, STRATA_E_EXISTS}, {EWOULDBLOCK, STRATA_E_BUSY},
               {EINVAL, STRATA_E_INVALID},  {EIO, STRATA_E_IO},       {EACCES, STRATA_E_IO}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        assert_int_equal(st_err_errno(map[i].err, "open %s", "f"), map[i].code);
        char want[256];
        snprintf(want, sizeof(want), "open f: %s", strerror(map[i].err));
        assert_string_equal(st_errmsg(), want);
    }
}

static void *other_thread(void *arg)
{
    (void)arg;
    int ok = strcmp(st_errmsg(), "") == 0; /* starts empty, independent of the main thread */
    st_err(STRATA_E_IO, "from the other thread");
    return ok ? (void *)1 : NULL;
}

static void test_thread_local(void **state)
{
    (void)state;
    st_err(STRATA_E_BUSY, "main thread");
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
    void *ret;
    assert_int_equal(pthread_join(t, &ret), 0);
    assert_non_null(ret);
    assert_string_equal(st_errmsg(), "main thread");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_errno_mapping),
        cmocka_unit_test(test_thread_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
