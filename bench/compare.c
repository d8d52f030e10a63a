/* compare.c — the run schedule: engines interleaved (A B C A B C ...) for --repeats rounds, so slow
 * drifts of a shared machine hit every engine alike.  Each run may happen in a forked child that
 * sends its bench_run_result back through a pipe as raw bytes (same binary on both ends); the child
 * resets its peak-RSS mark first, so RSS and /proc/self/io figures belong to that run alone.  The
 * parent never opens an engine in this mode, so it forks while single-threaded.  Before each run
 * the parent calls sync(), so no run pays for writing back the previous run's dirty pages. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner.h"
#include "sysstat.h"
#include "util/status.h"

static size_t read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    return got;
}

static void write_full(int fd, const void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, (const char *)buf + done, n - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return; /* the parent sees a short result and reports the run as failed */
        }
        done += (size_t)w;
    }
}

static void child_main(const bench_ctx *ctx, int repeat, int fd)
{
    static bench_run_result r; /* too large for a thread stack in some sanitizer setups */
    bench_reset_peak_rss();
    bench_run_engine(ctx, repeat, &r);
    write_full(fd, &r, sizeof(r));
    close(fd);
    fflush(NULL);
    _exit(0);
}

/* Describes how a child that sent no complete result ended. */
static void child_failed(bench_run_result *r, const bench_ctx *ctx, int repeat, int status)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->engine, sizeof(r->engine), "%s", ctx->eng->name);
    r->repeat = repeat;
    r->rc = STRATA_E_IO;
    r->stall_micros = r->disk_bytes_written = r->disk_space = r->peak_rss = -1;
    if (WIFSIGNALED(status)) {
        snprintf(r->error, sizeof(r->error), "child killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    } else {
        snprintf(r->error, sizeof(r->error), "child exited with status %d and no result",
                 WEXITSTATUS(status));
    }
    st_err(r->rc, "%s", r->error);
}

static int run_forked(const bench_ctx *ctx, int repeat, bench_run_result *r)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return st_err_errno(errno, "pipe");
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return st_err_errno(errno, "fork");
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(ctx, repeat, fds[1]);
    }
    close(fds[1]);
    size_t got = read_full(fds[0], r, sizeof(*r));
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (got != sizeof(*r)) {
        child_failed(r, ctx, repeat, status);
    }
    return r->rc;
}

int bench_run_schedule(const bench_config *cfg, const bench_valpool *pool,
                       const bench_engine *const *engines, int n, int fork_runs,
                       bench_run_result *runs)
{
    int first = 0;
    for (int rep = 0; rep < cfg->repeats; rep++) {
        for (int e = 0; e < n; e++) {
            bench_ctx ctx = {.cfg = cfg, .eng = engines[e], .db = NULL, .pool = pool};
            sync(); /* the previous run's dirty pages are not written back during this one */
            bench_run_result *r = &runs[rep * n + e];
            int rc = fork_runs ? run_forked(&ctx, rep, r) : bench_run_engine(&ctx, rep, r);
            if (rc != 0) {
                fprintf(stderr, "%s run %d failed: %s\n", engines[e]->name, rep + 1, r->error);
                first = first ? first : rc;
            }
        }
    }
    return first;
}
