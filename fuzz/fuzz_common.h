/* fuzz_common.h — small helpers shared by the libFuzzer targets in fuzz/: a crash-on-violation
 * check (libFuzzer reports an abort as a finding) and an input cursor that carves operations out
 * of the fuzzer's byte string.  Targets never trust the input: every parser under test must
 * return an error for bad bytes, never read out of bounds or allocate without limit. */
#ifndef STRATA_FUZZ_COMMON_H
#define STRATA_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "strata.h"

#define FZ_CHECK(cond)                                                                        \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: check failed: %s (errmsg: %s)\n", __FILE__, __LINE__,     \
                    #cond, strata_errmsg());                                                  \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

/* An error code a parser may legitimately return for hostile input. */
static inline int fz_is_clean_error(int rc)
{
    return rc == STRATA_E_CORRUPTION || rc == STRATA_E_NOTSUP || rc == STRATA_E_INVALID ||
           rc == STRATA_E_NOTFOUND || rc == STRATA_E_INCOMPLETE || rc == STRATA_E_AUTH;
}

typedef struct fz_cursor {
    const uint8_t *p;
    size_t n;
} fz_cursor;

static inline uint8_t fz_u8(fz_cursor *c)
{
    if (c->n == 0) {
        return 0;
    }
    c->n--;
    return *c->p++;
}

/* Up to max bytes from the cursor (length taken from the next byte). */
static inline size_t fz_bytes(fz_cursor *c, size_t max, const uint8_t **out)
{
    size_t len = fz_u8(c) % (max + 1);
    if (len > c->n) {
        len = c->n;
    }
    *out = c->p;
    c->p += len;
    c->n -= len;
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
