/* logging.c — the info log: one line per st_log call,
 * "YYYY/MM/DD-HH:MM:SS.uuuuuu <thread id> <message>\n" (local time, Linux thread id), written
 * through an st_env writable file.  A mutex keeps lines whole; each line is flushed to the OS at
 * once so a crash loses at most the line being written.  Logging never fails its caller: errors
 * writing the log are dropped. */
#include "env/logging.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/mutex.h"
#include "util/status.h"

struct st_logger {
    st_mutex mu;
    st_wfile *file;
};

int st_logger_open(st_env *env, const char *path, st_logger **out)
{
    *out = NULL;
    st_logger *log = st_calloc(1, sizeof(*log));
    if (!log) {
        return st_err(STRATA_E_NOMEM, "open log %s: out of memory", path);
    }
    int rc = st_env_new_writable(env, path, &log->file);
    if (rc) {
        st_free(log);
        return rc;
    }
    st_mutex_init(&log->mu);
    *out = log;
    return 0;
}

void st_logger_close(st_logger *log)
{
    if (!log) {
        return;
    }
    (void)st_wfile_close(log->file);
    st_mutex_destroy(&log->mu);
    st_free(log);
}

/* Writes the line prefix into buf (at least 64 bytes); returns its length. */
static size_t format_prefix(char *buf, size_t cap)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    time_t secs = tv.tv_sec;
    localtime_r(&secs, &tm);
    int n = snprintf(buf, cap, "%04d/%02d/%02d-%02d:%02d:%02d.%06ld %ld ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (long)tv.tv_usec, (long)gettid());
    return n < 0 ? 0 : ST_MIN((size_t)n, cap - 1);
}

static void write_line(st_logger *log, const char *line, size_t n)
{
    st_mutex_lock(&log->mu);
    if (st_wfile_append(log->file, line, n) == 0) {
        (void)st_wfile_flush(log->file);
    }
    st_mutex_unlock(&log->mu);
}

void st_log(st_logger *log, const char *fmt, ...)
{
    if (!log) {
        return;
    }
    char stack[512];
    size_t pre = format_prefix(stack, sizeof(stack));
    va_list ap;
    va_start(ap, fmt);
    int msg = vsnprintf(stack + pre, sizeof(stack) - pre, fmt, ap);
    va_end(ap);
    if (msg < 0) {
        return;
    }
    char *line = stack;
    size_t len = pre + (size_t)msg;
    if (len + 2 > sizeof(stack)) { /* too long for the stack buffer: format again on the heap */
        char *heap = st_malloc(len + 2);
        if (heap) {
            memcpy(heap, stack, pre);
            va_start(ap, fmt);
            vsnprintf(heap + pre, (size_t)msg + 1, fmt, ap);
            va_end(ap);
            line = heap;
        } else {
            len = sizeof(stack) - 2; /* out of memory: keep the truncated line */
        }
    }
    if (len == 0 || line[len - 1] != '\n') {
        line[len++] = '\n';
    }
    write_line(log, line, len);
    if (line != stack) {
        st_free(line);
    }
}
