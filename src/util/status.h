/* status.h — error codes (STRATA_E_* from strata.h) and the thread-local detail message.
 * Set the message where a failure is found: `return st_err(STRATA_E_CORRUPTION, "%s: bad block
 * checksum at offset %llu", fname, off);`.  Callers propagate the code unchanged. */
#ifndef STRATA_UTIL_STATUS_H
#define STRATA_UTIL_STATUS_H

#include <stddef.h>

#include "strata.h"
#include "util/compiler.h"

#define ST_ERRMSG_MAX 512

/* Sets the calling thread's detail message and returns code. */
int st_err(int code, const char *fmt, ...) ST_PRINTF(2, 3);
/* Prepends "prefix: " to the current message (adds context on the way up); returns code. */
int st_err_context(int code, const char *fmt, ...) ST_PRINTF(2, 3);
/* Sets the message to a copy of msg (used to re-raise a saved sticky error); returns code. */
int st_err_set(int code, const char *msg);
/* Maps an errno value to a STRATA_E_* code and sets "<what>: <strerror>" as the message. */
int st_err_errno(int err, const char *fmt, ...) ST_PRINTF(2, 3);
const char *st_errmsg(void);
void st_err_clear(void);

#endif
