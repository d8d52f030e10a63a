/* api_check.h — the argument checks the public entry points share: a failed check returns
 * STRATA_E_INVALID with "<function>: <what>" as the message, never crashes. */
#ifndef STRATA_API_API_CHECK_H
#define STRATA_API_API_CHECK_H

#include "util/status.h"

#define CHECK(cond, fn, what)                                                      \
    do {                                                                           \
        if (!(cond)) {                                                             \
            return st_err(STRATA_E_INVALID, "%s: %s", fn, what);                   \
        }                                                                          \
    } while (0)

#define CHECK_BYTES(p, n, fn, what) CHECK((p) != NULL || (n) == 0, fn, what " is NULL")

#endif
