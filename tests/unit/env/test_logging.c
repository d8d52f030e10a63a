/* test_logging.c — the info log: line format (timestamp, thread id, message, one newline), the
 * NULL logger, long messages, whole lines under concurrent logging, truncation on open, open
 * failures and allocation failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env/logging.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/status.h"

static char *slurp(st_env *env, const char *path, size_t *len)
{
    char *data = NULL;
    tu_assert_ok(st_env_read_file(env, path, 1u << 24, &data, len));
    return data;
}

static int all_digits(const char *p, int n)
{
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* Checks "YYYY/MM/DD-HH:MM:SS.uuuuuu <tid> " and returns the message start, or NULL. */
static const char *parse_prefix(const char *line, long *tid)
{
    static const char shape[] = "dddd/dd/dd-dd:dd:dd.dddddd ";
    for (size_t i = 0; i < sizeof(shape) - 1; i++) {
        if (shape[i] == 'd' ? !all_digits(line + i, 1) : line[i] != shape[i]) {
            return NULL;
        }
    }
    char *end = NULL;
    *tid = strtol(line + sizeof(shape) - 1, &end, 10);
    return end && *end == ' ' ? end + 1 : NULL;
}

/* Splits data into lines (each must end in '\n'); returns the count. */
static int split_lines(char *data, size_t len, char **lines, int max)
{
    int n = 0;
    char *p = data;
    while (p < data + len) {
        char *nl = memchr(p, '\n', (size_t)(data + len - p));
        assert_non_null(nl);
        *nl = '\0';
        if (n < max) {
            lines[n] = p;
        }
        n++;
        p = nl + 1;
    }
    return n;
}

static void test_format(void **state)
{
    (void)state;
    st_env *env = st_env_mem_create();
    st_logger *log = NULL;
    tu_assert_ok(st_logger_open(env, "LOG", &log));
    st_log(log, "hello %d", 42);
    st_log(log, "ends with newline\n");
    st_log(log, "%s", "");
    st_logger_close(log);
    size_t len = 0;
    char *data = slurp(env, "LOG", &len);
    char *lines[4];
    assert_int_equal(split_lines(data, len, lines, 4), 3);
    static const char *const want[] = {"hello 42", "ends with newline", ""};
    for (int i = 0; i < 3; i++) {
        long tid = 0;
        const char *msg = parse_prefix(lines[i], &tid);
        if (!msg) {
            print_error("bad line \"%s\"\n", lines[i]);
            fail();
        }
        assert_int_equal(tid, (long)gettid());
        assert_string_equal(msg, want[i]);
    }
    st_free(data);
    env->ops->destroy(env);
}

static void test_null_logger(void **state)
{
    (void)state;
    st_log(NULL, "discarded %s", "quietly");
    st_logger_close(NULL);
}

static void test_long_message(void **state)
{
    (void)state;
    st_env *env = st_env_mem_create();
    st_logger *log = NULL;
    tu_assert_ok(st_logger_open(env, "LOG", &log));
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    st_log(log, "[%s]", big);
    st_alloc_fail_after(0, 0); /* the heap copy fails: the line is truncated, not lost */
    st_log(log, "[%s]", big);
    st_alloc_fail_after(-1, 0);
    st_logger_close(log);
    size_t len = 0;
    char *data = slurp(env, "LOG", &len);
    char *lines[3];
    assert_int_equal(split_lines(data, len, lines, 3), 2);
    long tid;
    const char *msg = parse_prefix(lines[0], &tid);
    assert_non_null(msg);
    assert_int_equal(strlen(msg), sizeof(big) + 1);
    assert_int_equal(msg[0], '[');
    assert_int_equal(msg[sizeof(big)], ']');
    msg = parse_prefix(lines[1], &tid);
    assert_non_null(msg);
    assert_true(strlen(msg) > 100 && strlen(msg) < sizeof(big));
    st_free(data);
    env->ops->destroy(env);
}

struct logger_arg {
    st_logger *log;
    int id;
};

static void logger_main(void *p)
{
    struct logger_arg *a = p;
    for (int i = 0; i < 300; i++) {
        st_log(a->log, "thread %d line %d %s", a->id, i, "padding-padding-padding-padding");
    }
}

static void test_threads_whole_lines(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("logging");
    assert_non_null(dir);
    char path[600];
    snprintf(path, sizeof(path), "%s/LOG", dir);
    st_env *env = st_env_posix();
    st_logger *log = NULL;
    tu_assert_ok(st_logger_open(env, path, &log));
    struct logger_arg args[4];
    st_thread *t[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct logger_arg){log, i};
        tu_assert_ok(st_env_thread_start(env, logger_main, &args[i], &t[i]));
    }
    for (int i = 0; i < 4; i++) {
        st_env_thread_join(env, t[i]);
    }
    /* Flushed after every line: the file is complete before close. */
    size_t len = 0;
    char *data = slurp(env, path, &len);
    static char *lines[1300];
    assert_int_equal(split_lines(data, len, lines, 1300), 1200);
    int next[4] = {0, 0, 0, 0};
    for (int i = 0; i < 1200; i++) {
        long tid;
        int id = -1, n = -1;
        const char *msg = parse_prefix(lines[i], &tid);
        assert_non_null(msg);
        assert_int_equal(sscanf(msg, "thread %d line %d", &id, &n), 2);
        assert_true(id >= 0 && id < 4);
        assert_int_equal(n, next[id]++); /* each thread's lines in order, none torn */
    }
    st_free(data);
    st_logger_close(log);
    tu_free_path(dir);
}

static void test_open_truncates_and_failures(void **state)
{
    (void)state;
    st_env *env = st_env_mem_create();
    tu_assert_ok(st_env_write_file(env, "LOG", st_slice_cstr("old line\n"), 0));
    st_logger *log = (st_logger *)1;
    tu_assert_ok(st_logger_open(env, "LOG", &log));
    st_logger_close(log);
    uint64_t size = 1;
    tu_assert_ok(st_env_file_size(env, "LOG", &size));
    assert_int_equal(size, 0);
    log = (st_logger *)1;
    assert_int_equal(st_logger_open(env, "/missing/LOG", &log), STRATA_E_NOTFOUND);
    assert_null(log);
    for (long i = 0; i < 20; i++) {
        st_alloc_fail_after(i, 0);
        int rc = st_logger_open(env, "LOG", &log);
        st_alloc_fail_after(-1, 0);
        if (rc == 0) {
            st_logger_close(log);
            break;
        }
        assert_int_equal(rc, STRATA_E_NOMEM);
        assert_null(log);
    }
    env->ops->destroy(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_null_logger),
        cmocka_unit_test(test_long_message),
        cmocka_unit_test(test_threads_whole_lines),
        cmocka_unit_test(test_open_truncates_and_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
