/* status.c — status code names and the thread-local detail message. */
#include "util/status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char errmsg_buf[ST_ERRMSG_MAX];

STRATA_EXPORT const char *strata_strerror(int code)
{
    switch (code) {
    case STRATA_OK: return "ok";
    case STRATA_E_NOTFOUND: return "not found";
    case STRATA_E_CORRUPTION: return "corruption";
    case STRATA_E_IO: return "I/O error";
    case STRATA_E_INVALID: return "invalid argument";
    case STRATA_E_BUSY: return "busy";
    case STRATA_E_NOTSUP: return "not supported";
    case STRATA_E_NOMEM: return "out of memory";
    case STRATA_E_NOSPC: return "no space left on device";
    case STRATA_E_EXISTS: return "already exists";
    case STRATA_E_CLOSED: return "closed";
    case STRATA_E_INCOMPLETE: return "incomplete";
    case STRATA_E_AUTH: return "authentication failed: wrong key or tampered data";
    default: return "unknown error";
    }
}

STRATA_EXPORT const char *strata_errmsg(void)
{
    return errmsg_buf;
}

const char *st_errmsg(void)
{
    return errmsg_buf;
}

void st_err_clear(void)
{
    errmsg_buf[0] = '\0';
}

int st_err(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg_buf, sizeof(errmsg_buf), fmt, ap);
    va_end(ap);
    return code;
}

int st_err_context(int code, const char *fmt, ...)
{
    char prefix[ST_ERRMSG_MAX];
    char old[ST_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, errmsg_buf, sizeof(old));
    /* Truncation is acceptable for a diagnostic; using the result tells gcc so. */
    if (snprintf(errmsg_buf, sizeof(errmsg_buf), "%s: %s", prefix, old) < 0) {
        errmsg_buf[0] = '\0';
    }
    return code;
}

int st_err_set(int code, const char *msg)
{
    snprintf(errmsg_buf, sizeof(errmsg_buf), "%s", msg ? msg : "");
    return code;
}

int st_err_errno(int err, const char *fmt, ...)
{
    char what[ST_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    int code;
    switch (err) {
    case ENOENT: code = STRATA_E_NOTFOUND; break;
    case ENOSPC:
    case EDQUOT: code = STRATA_E_NOSPC; break;
    case ENOMEM: code = STRATA_E_NOMEM; break;
    case EEXIST: code = STRATA_E_EXISTS; break;
    case EWOULDBLOCK: code = STRATA_E_BUSY; break;
    case EINVAL: code = STRATA_E_INVALID; break;
    default: code = STRATA_E_IO; break;
    }
    if (snprintf(errmsg_buf, sizeof(errmsg_buf), "%s: %s", what, strerror(err)) < 0) {
        errmsg_buf[0] = '\0';
    }
    return code;
}
