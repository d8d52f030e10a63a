/* sysstat.c — /proc readers and directory helpers (see sysstat.h). */
#include "sysstat.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata.h"
#include "util/status.h"

/* Value of the "name" line (e.g. "write_bytes:") of a /proc key-value file, or -1. */
static int64_t proc_field(const char *file, const char *name)
{
    FILE *f = fopen(file, "r");
    if (f == NULL) {
        return -1;
    }
    char line[256];
    int64_t v = -1;
    size_t n = strlen(name);
    while (fgets(line, sizeof(line), f) != NULL) {
        long long x;
        if (strncmp(line, name, n) == 0 && sscanf(line + n, "%lld", &x) == 1) {
            v = x;
            break;
        }
    }
    fclose(f);
    return v;
}

int64_t bench_proc_write_bytes(void)
{
    return proc_field("/proc/self/io", "write_bytes:");
}

int64_t bench_peak_rss(void)
{
    int64_t kb = proc_field("/proc/self/status", "VmHWM:");
    if (kb >= 0) {
        return kb * 1024;
    }
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return -1;
    }
    return (int64_t)ru.ru_maxrss * 1024;
}

void bench_reset_peak_rss(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = write(fd, "5", 1);
        (void)n; /* older kernels refuse "5"; the mark then stays cumulative */
        close(fd);
    }
}

/* nftw offers no context pointer: the walk accumulates here (hence not thread-safe). */
static int64_t du_total;

static int du_visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)flag;
    (void)ftw;
    du_total += (int64_t)st->st_blocks * 512;
    return 0;
}

int64_t bench_dir_usage(const char *path)
{
    du_total = 0;
    if (nftw(path, du_visit, 16, FTW_PHYS) != 0) {
        return -1;
    }
    return du_total;
}

static int rm_visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
    return rc != 0 && errno != ENOENT ? -1 : 0;
}

int bench_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return errno == ENOENT ? 0 : st_err_errno(errno, "stat %s", path);
    }
    if (nftw(path, rm_visit, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        return st_err_errno(errno, "remove %s", path);
    }
    return 0;
}

int bench_mkdirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(buf)) {
        return st_err(STRATA_E_INVALID, "bad directory name '%s'", path);
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') {
            continue;
        }
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            return st_err_errno(errno, "mkdir %s", buf);
        }
        buf[i] = c;
    }
    return 0;
}
