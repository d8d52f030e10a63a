/* test_util.c — shared test helpers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "test_util.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata.h"

char *tu_mkdtemp(const char *tag)
{
    const char *base = getenv("STRATA_TEST_TMPDIR");
    if (!base || !*base) {
        base = "/tmp";
    }
    mkdir(base, 0755);
    size_t n = strlen(base) + strlen(tag) + 32;
    char *p = malloc(n);
    if (!p) {
        return NULL;
    }
    snprintf(p, n, "%s/%s-XXXXXX", base, tag);
    if (!mkdtemp(p)) {
        free(p);
        return NULL;
    }
    return p;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int tu_rmdir_all(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        return 0;
    }
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_free_path(char *path)
{
    if (path) {
        tu_rmdir_all(path);
        free(path);
    }
}

uint64_t tu_seed(uint64_t deflt)
{
    static int printed;
    const char *s = getenv("STRATA_TEST_SEED");
    uint64_t seed = (s && *s) ? strtoull(s, NULL, 0) : deflt;
    if (!printed) {
        fprintf(stderr, "[seed] STRATA_TEST_SEED=%llu\n", (unsigned long long)seed);
        printed = 1;
    }
    return seed;
}

double tu_scale(void)
{
    const char *s = getenv("STRATA_TEST_SCALE");
    double v = (s && *s) ? strtod(s, NULL) : 1.0;
    return v > 0 ? v : 1.0;
}

static void print_escaped(const char *label, const unsigned char *p, size_t n)
{
    print_error("  %s (%zu bytes): \"", label, n);
    for (size_t i = 0; i < n && i < 256; i++) {
        if (p[i] >= 32 && p[i] < 127 && p[i] != '"' && p[i] != '\\') {
            print_error("%c", p[i]);
        } else {
            print_error("\\x%02x", p[i]);
        }
    }
    print_error("%s\"\n", n > 256 ? "..." : "");
}

void tu_check_bytes_equal(const void *a, size_t alen, const void *b, size_t blen,
                          const char *file, int line)
{
    if (alen == blen && (alen == 0 || memcmp(a, b, alen) == 0)) {
        return;
    }
    print_error("%s:%d: byte strings differ\n", file, line);
    print_escaped("actual", a, alen);
    print_escaped("expected", b, blen);
    fail();
}

const char *tu_strerror(int code)
{
    return strata_strerror(code);
}

const char *tu_errmsg(void)
{
    return strata_errmsg();
}
