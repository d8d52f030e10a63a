/* test_log_mapped.c — the record log over the POSIX env's mapped log file (new_log_writable):
 * after the writing process is killed with SIGKILL (no close, so the file keeps its zero-filled
 * reserved tail of up to 1 MiB, many 32 KiB blocks), the reader returns exactly the records
 * appended, then a torn tail (or a clean end when the kill came at a window boundary), never
 * corruption; the same when the kill lands in the middle of an append; after a clean close the
 * log reads with no torn tail.  Records include multi-block ones. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env/env.h"
#include "strata.h"
#include "test_util.h"
#include "util/random.h"
#include "wal/log_format.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"

#define WINDOW ((size_t)1 << 20) /* env_posix.c LOG_WINDOW */

/* Record i: its length and bytes are a function of (seed, i) alone. */
static size_t record_len(uint64_t seed, int i)
{
    st_random r;
    st_random_seed(&r, seed * 1000003u + (uint64_t)i);
    if (i % 97 == 5) {
        return 2 * ST_LOG_BLOCK_SIZE + st_random_uniform(&r, ST_LOG_BLOCK_SIZE); /* multi-block */
    }
    return st_random_skewed(&r, 9);
}

static void record_fill(uint64_t seed, int i, char *buf, size_t n)
{
    st_random r;
    st_random_seed(&r, seed * 7919u + (uint64_t)i);
    st_random_bytes(&r, buf, n);
}

/* Writes records 0..n-1 (reporting each count on fd when fd >= 0); closes the log when
 * close_it, else waits to be killed.  Runs in a child; never returns. */
static void child_write(const char *path, uint64_t seed, int n, int fd, int close_it)
{
    st_wfile *f = NULL;
    st_log_writer *w = NULL;
    char *buf = malloc(4 * ST_LOG_BLOCK_SIZE);
    if (!buf || st_env_new_log_writable(st_env_posix(), path, &f) != 0 ||
        st_log_writer_create(f, 0, &w) != 0) {
        _exit(2);
    }
    for (int i = 0; i < n; i++) {
        size_t len = record_len(seed, i);
        record_fill(seed, i, buf, len);
        if (st_log_writer_add(w, st_slice_make(buf, len)) != 0) {
            _exit(3);
        }
        if (i % 50 == 49 && st_log_writer_sync(w) != 0) {
            _exit(4);
        }
        if (fd >= 0 && write(fd, &i, sizeof(i)) != (ssize_t)sizeof(i)) {
            _exit(5);
        }
    }
    if (close_it) {
        _exit(st_log_writer_close(w) == 0 ? 0 : 6);
    }
    for (;;) {
        pause();
    }
}

/* Runs child_write for n records; kills it once record kill_after (or the last) was reported.
 * Returns the index of the last record reported. */
static int run_child(const char *path, uint64_t seed, int n, int kill_after, int close_it)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        child_write(path, seed, n, p[1], close_it);
    }
    close(p[1]);
    int last = -1;
    while (last < kill_after) {
        assert_int_equal(read(p[0], &last, sizeof(last)), (ssize_t)sizeof(last));
    }
    int status = 0;
    if (!close_it) {
        assert_int_equal(kill(pid, SIGKILL), 0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (close_it) {
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    } else {
        assert_true(WIFSIGNALED(status));
    }
    close(p[0]);
    return last;
}

/* Reads the log back: every record must match; returns how many were read and the torn flag. */
static int read_back(const char *path, uint64_t seed, int *torn)
{
    st_sfile *sf = NULL;
    st_log_reader *r = NULL;
    tu_assert_ok(st_env_new_sequential(st_env_posix(), path, &sf));
    tu_assert_ok(st_log_reader_create(sf, path, 0, &r));
    char *want = malloc(4 * ST_LOG_BLOCK_SIZE);
    assert_non_null(want);
    int count = 0, rc;
    st_slice rec;
    uint64_t off;
    while ((rc = st_log_reader_read(r, &rec, &off)) == 1) {
        size_t len = record_len(seed, count);
        record_fill(seed, count, want, len);
        tu_assert_bytes_equal(rec.data, rec.size, want, len);
        count++;
    }
    tu_assert_ok(rc); /* end of log, never corruption */
    assert_int_equal(st_log_reader_dropped(r), 0);
    *torn = st_log_reader_torn_tail(r);
    st_log_reader_close(r);
    free(want);
    return count;
}

static uint64_t file_size(const char *path)
{
    uint64_t size = 0;
    tu_assert_ok(st_env_file_size(st_env_posix(), path, &size));
    return size;
}

static int last_byte_set(const char *path, uint64_t size)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, (long)size - 1, SEEK_SET), 0);
    int c = fgetc(fp);
    fclose(fp);
    return c > 0;
}

/* Killed after its last record: all of them, then the zero tail reads as a torn tail. */
static void test_kill_then_read(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("log_mapped");
    char path[512];
    snprintf(path, sizeof(path), "%s/000001.log", dir);
    uint64_t seed = tu_seed(21);
    int n = 3000;
    assert_int_equal(run_child(path, seed, n, n - 1, 0), n - 1);
    uint64_t size = file_size(path);
    assert_int_equal(size % WINDOW, 0);
    assert_true(size >= 2 * WINDOW); /* the records crossed a window boundary */
    int torn = 0;
    assert_int_equal(read_back(path, seed, &torn), n);
    assert_int_equal(torn, !last_byte_set(path, size)); /* a full last window ends cleanly */
    tu_free_path(dir);
}

/* Killed at a random point while appending: at least every acknowledged record comes back, in
 * order, and whatever the copy in flight left reads as a torn tail, never corruption. */
static void test_kill_mid_stream(void **state)
{
    (void)state;
    uint64_t seed = tu_seed(22);
    st_random r;
    st_random_seed(&r, seed);
    for (int round = 0; round < 4; round++) {
        char *dir = tu_mkdtemp("log_mapped");
        char path[512];
        snprintf(path, sizeof(path), "%s/000001.log", dir);
        int kill_after = 1000 + (int)st_random_uniform(&r, 2000);
        int last = run_child(path, seed + (uint64_t)round, 100000, kill_after, 0);
        int torn = 0;
        int got = read_back(path, seed + (uint64_t)round, &torn);
        assert_true(got >= last + 1);
        tu_free_path(dir);
    }
}

/* A clean close trims the reserved tail: the log ends exactly after its last record. */
static void test_clean_close(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("log_mapped");
    char path[512];
    snprintf(path, sizeof(path), "%s/000001.log", dir);
    uint64_t seed = tu_seed(23);
    int n = 2500;
    run_child(path, seed, n, n - 1, 1);
    assert_true(file_size(path) % WINDOW != 0);
    int torn = 1;
    assert_int_equal(read_back(path, seed, &torn), n);
    assert_int_equal(torn, 0);
    tu_free_path(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_then_read),
        cmocka_unit_test(test_kill_mid_stream),
        cmocka_unit_test(test_clean_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
