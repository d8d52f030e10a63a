/* test_env_mapped_log.c — the POSIX env's mapped log file (new_log_writable, env_posix.c): appends
 * of many sizes across 1 MiB window boundaries (one larger than a window), size, sync, close
 * leaving exactly the appended bytes; appends visible to another reader without any flush; a
 * child killed with SIGKILL before close leaves every appended byte followed only by zeros (also
 * when killed mid-stream); running past a file size limit is an error from append, not a signal;
 * open and allocation failures; and the fallback to new_writable when the op is NULL (mem env). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env/env.h"
#include "strata.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/random.h"
#include "util/status.h"

#define WINDOW ((size_t)1 << 20) /* env_posix.c LOG_WINDOW */

static char *path_in(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Deterministic content with no zero byte, so a zero in the file always means "not written". */
static void fill(char *buf, size_t n, uint64_t seed)
{
    st_random r;
    st_random_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        buf[i] = (char)(1 + st_random_uniform(&r, 255));
    }
}

/* The whole file through a plain descriptor (not the env), with its length. */
static char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    char *buf = malloc((size_t)st.st_size + 1);
    assert_non_null(buf);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
        assert_true(r > 0);
        got += (size_t)r;
    }
    close(fd);
    *len = got;
    return buf;
}

static int all_zero(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return 0;
        }
    }
    return 1;
}

/* Appends of every interesting size, checking size(), the file length (whole reserved windows)
 * and what another reader sees, all before close; close then trims the file to the bytes. */
static void test_sizes_across_windows(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 7, 100, 4095, 4096, 4097, 65536, WINDOW - 70000,
                                   3, WINDOW, WINDOW + 12345, 1, 2 * WINDOW + 1, 500};
    size_t total = 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        total += sizes[i];
    }
    char *want = malloc(total);
    assert_non_null(want);
    fill(want, total, tu_seed(11));
    char *dir = tu_mkdtemp("mapped_log");
    char *path = path_in(dir, "000001.log");
    st_env *env = st_env_posix();
    assert_non_null(env->ops->new_log_writable);
    st_wfile *f = NULL;
    tu_assert_ok(st_env_new_log_writable(env, path, &f));
    assert_int_equal(st_wfile_size(f), 0);
    tu_assert_ok(st_wfile_append(f, NULL, 0));
    size_t off = 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        tu_assert_ok(st_wfile_append(f, want + off, sizes[i]));
        off += sizes[i];
        assert_int_equal(st_wfile_size(f), off);
        if (i % 4 == 1) {
            tu_assert_ok(st_wfile_sync(f));
        }
    }
    tu_assert_ok(st_wfile_flush(f));
    size_t len = 0;
    char *got = slurp(path, &len); /* no flush was needed for another reader to see it all */
    assert_int_equal(len % WINDOW, 0);
    assert_true(len >= total && len - total < WINDOW);
    tu_assert_bytes_equal(got, total, want, total);
    assert_true(all_zero(got + total, len - total));
    free(got);
    tu_assert_ok(st_wfile_close(f));
    got = slurp(path, &len);
    tu_assert_bytes_equal(got, len, want, total);
    free(got);
    free(want);
    free(path);
    tu_free_path(dir);
}

/* Random appends (mostly small, like WAL records) against a reference copy. */
static void test_random_appends(void **state)
{
    (void)state;
    st_random r;
    st_random_seed(&r, tu_seed(12));
    size_t cap = 3 * WINDOW + 77777;
    char *want = malloc(cap);
    assert_non_null(want);
    fill(want, cap, st_random_next(&r));
    char *dir = tu_mkdtemp("mapped_log");
    char *path = path_in(dir, "LOG");
    st_wfile *f = NULL;
    tu_assert_ok(st_env_new_log_writable(st_env_posix(), path, &f));
    size_t off = 0;
    while (off < cap) {
        size_t n = st_random_one_in(&r, 50) ? st_random_uniform(&r, 200000)
                                            : st_random_skewed(&r, 12);
        n = n > cap - off ? cap - off : n;
        tu_assert_ok(st_wfile_append(f, want + off, n));
        off += n;
        if (st_random_one_in(&r, 200)) {
            tu_assert_ok(st_wfile_sync(f));
        }
    }
    assert_int_equal(st_wfile_size(f), cap);
    tu_assert_ok(st_wfile_close(f));
    size_t len = 0;
    char *got = slurp(path, &len);
    tu_assert_bytes_equal(got, len, want, cap);
    free(got);
    free(want);
    free(path);
    tu_free_path(dir);
}

/* A file closed before any append stays empty (no window was reserved). */
static void test_empty(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("mapped_log");
    char *path = path_in(dir, "LOG");
    st_wfile *f = NULL;
    tu_assert_ok(st_env_new_log_writable(st_env_posix(), path, &f));
    tu_assert_ok(st_wfile_sync(f));
    tu_assert_ok(st_wfile_close(f));
    uint64_t size = 1;
    tu_assert_ok(st_env_file_size(st_env_posix(), path, &size));
    assert_int_equal(size, 0);
    free(path);
    tu_free_path(dir);
}

/* Child: appends total bytes of fill(seed) in chunks of varying size, reporting the bytes
 * appended so far on fd after each append; then waits to be killed.  Never returns. */
static void child_append(const char *path, size_t total, uint64_t seed, int fd)
{
    char *data = malloc(total);
    st_wfile *f = NULL;
    if (!data || st_env_new_log_writable(st_env_posix(), path, &f) != 0) {
        _exit(2);
    }
    fill(data, total, seed);
    st_random r;
    st_random_seed(&r, seed);
    size_t off = 0;
    while (off < total) {
        size_t n = 1 + st_random_skewed(&r, 14);
        n = n > total - off ? total - off : n;
        if (st_wfile_append(f, data + off, n) != 0) {
            _exit(3);
        }
        off += n;
        uint64_t done = off;
        if (write(fd, &done, sizeof(done)) != (ssize_t)sizeof(done)) {
            _exit(4);
        }
    }
    for (;;) {
        pause();
    }
}

/* Forks a child running child_append and kills it with SIGKILL once it reported at least
 * kill_at bytes.  Returns the last count read. */
static uint64_t run_and_kill(const char *path, size_t total, uint64_t seed, uint64_t kill_at)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        child_append(path, total, seed, p[1]);
    }
    close(p[1]);
    uint64_t done = 0;
    while (done < kill_at) {
        assert_int_equal(read(p[0], &done, sizeof(done)), (ssize_t)sizeof(done));
    }
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    close(p[0]);
    return done;
}

/* Killed after its last append returned: the file holds every byte, then only zeros. */
static void test_kill_after_appends(void **state)
{
    (void)state;
    size_t total = 2 * WINDOW + 54321;
    uint64_t seed = tu_seed(13);
    char *dir = tu_mkdtemp("mapped_log");
    char *path = path_in(dir, "LOG");
    assert_int_equal(run_and_kill(path, total, seed, total), total);
    char *want = malloc(total);
    assert_non_null(want);
    fill(want, total, seed);
    size_t len = 0;
    char *got = slurp(path, &len);
    assert_int_equal(len, 3 * WINDOW); /* the reserved tail survives the crash */
    tu_assert_bytes_equal(got, total, want, total);
    assert_true(all_zero(got + total, len - total));
    free(got);
    free(want);
    free(path);
    tu_free_path(dir);
}

/* Killed mid-stream: every byte the child saw acknowledged is there; past it each byte is either
 * what was being appended or still zero (the copy in flight may be partial). */
static void test_kill_mid_stream(void **state)
{
    (void)state;
    size_t total = 4 * WINDOW;
    uint64_t seed = tu_seed(14);
    char *dir = tu_mkdtemp("mapped_log");
    char *path = path_in(dir, "LOG");
    uint64_t acked = run_and_kill(path, total, seed, WINDOW + 1000);
    char *want = malloc(total);
    assert_non_null(want);
    fill(want, total, seed);
    size_t len = 0;
    char *got = slurp(path, &len);
    assert_int_equal(len % WINDOW, 0);
    assert_true(len >= acked && len <= total);
    tu_assert_bytes_equal(got, acked, want, acked);
    for (size_t i = acked; i < len; i++) {
        if (got[i] != 0 && got[i] != want[i]) {
            fail_msg("byte %zu is %d: neither appended data nor zero", i, got[i]);
        }
    }
    free(got);
    free(want);
    free(path);
    tu_free_path(dir);
}

/* Child: with RLIMIT_FSIZE just past the first window, appends until reserving the second window
 * fails.  Exit 0 when that is an error from append with the earlier bytes intact after close. */
static void child_file_limit(const char *path)
{
    struct rlimit rl = {WINDOW + 4096, WINDOW + 4096};
    signal(SIGXFSZ, SIG_IGN); /* else exceeding the limit kills the process */
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) {
        _exit(10);
    }
    static char buf[4096];
    memset(buf, 'x', sizeof(buf));
    st_wfile *f = NULL;
    if (st_env_new_log_writable(st_env_posix(), path, &f) != 0) {
        _exit(11);
    }
    size_t off = 0;
    int rc = 0;
    while (off <= 2 * WINDOW && (rc = st_wfile_append(f, buf, sizeof(buf))) == 0) {
        off += sizeof(buf);
    }
    int ok = rc == STRATA_E_IO && off == WINDOW && strstr(st_errmsg(), path) != NULL;
    ok &= st_wfile_size(f) == WINDOW && st_wfile_close(f) == 0;
    struct stat st;
    ok &= stat(path, &st) == 0 && st.st_size == (off_t)WINDOW;
    _exit(ok ? 0 : 12);
}

static void test_reserve_failure_is_an_error(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("mapped_log");
    char *path = path_in(dir, "LOG");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        child_file_limit(path);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status)); /* not killed by SIGBUS */
    assert_int_equal(WEXITSTATUS(status), 0);
    free(path);
    tu_free_path(dir);
}

static void test_open_errors(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("mapped_log");
    char *path = path_in(dir, "missing/LOG");
    st_wfile *f = (st_wfile *)&f;
    assert_int_equal(st_env_new_log_writable(st_env_posix(), path, &f), STRATA_E_NOTFOUND);
    assert_null(f);
    assert_non_null(strstr(st_errmsg(), "missing/LOG"));
    free(path);
    path = path_in(dir, "LOG");
    for (long n = 0; n < 2; n++) {
        st_alloc_fail_after(n, 0);
        f = (st_wfile *)&f;
        assert_int_equal(st_env_new_log_writable(st_env_posix(), path, &f), STRATA_E_NOMEM);
        assert_null(f);
    }
    st_alloc_fail_after(-1, 0);
    free(path);
    tu_free_path(dir);
}

/* An env without the op (the in-memory one) gives its plain writable file. */
static void test_fallback_when_null(void **state)
{
    (void)state;
    st_env *env = st_env_mem_create();
    assert_non_null(env);
    assert_null(env->ops->new_log_writable);
    tu_assert_ok(st_env_create_dir(env, "/db"));
    st_wfile *f = NULL;
    tu_assert_ok(st_env_new_log_writable(env, "/db/LOG", &f));
    tu_assert_ok(st_wfile_append(f, "hello ", 6));
    tu_assert_ok(st_wfile_append(f, "log", 3));
    tu_assert_ok(st_wfile_flush(f));
    assert_int_equal(st_wfile_size(f), 9);
    tu_assert_ok(st_wfile_sync(f));
    tu_assert_ok(st_wfile_close(f));
    char *data = NULL;
    size_t len = 0;
    tu_assert_ok(st_env_read_file(env, "/db/LOG", 100, &data, &len));
    tu_assert_bytes_equal(data, len, "hello log", 9);
    st_free(data);
    env->ops->destroy(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_across_windows),
        cmocka_unit_test(test_random_appends),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_kill_after_appends),
        cmocka_unit_test(test_kill_mid_stream),
        cmocka_unit_test(test_reserve_failure_is_an_error),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_fallback_when_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
