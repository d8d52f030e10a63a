/* env_fault.h — a fault-injecting env wrapping another env (tests only).
 *
 * Power loss: st_env_fault_power_loss() makes the wrapped file system look as it would after a
 * power cut: every file's data is cut back to what was last synced (a file never synced becomes
 * empty), and directory entries created, renamed or removed since the last sync_dir of their
 * directory are undone (a created file disappears, a rename is reverted, a removed file comes
 * back with its synced contents).  Open handles become dead (every call fails with STRATA_E_IO)
 * until st_env_fault_reset().
 *
 * Failure injection: st_env_fault_fail() makes chosen operations fail with a chosen code, either
 * the nth matching call from now or every matching call, optionally only for paths containing a
 * substring.  Counters record how many calls of each kind happened. */
#ifndef STRATA_ENV_ENV_FAULT_H
#define STRATA_ENV_ENV_FAULT_H

#include "env/env.h"

enum st_fault_op {
    ST_FAULT_WRITE = 1 << 0,   /* wfile append/flush */
    ST_FAULT_SYNC = 1 << 1,    /* wfile sync */
    ST_FAULT_SYNC_DIR = 1 << 2,
    ST_FAULT_RENAME = 1 << 3,
    ST_FAULT_CREATE = 1 << 4,  /* new_writable */
    ST_FAULT_READ = 1 << 5,    /* rfile/sfile read, new_random, new_sequential */
    ST_FAULT_REMOVE = 1 << 6,
    ST_FAULT_ALL = 0x7f
};

/* Wraps base (borrowed; must outlive the fault env).  Free with base's destroy semantics:
 * st_env_fault_destroy. */
st_env *st_env_fault_create(st_env *base);
void st_env_fault_destroy(st_env *env);

/* From now on, the nth (0 = next) call matching ops (and path_substr, if not NULL) fails with code
 * (e.g. STRATA_E_IO, STRATA_E_NOSPC); with sticky, it and every later matching call fail. */
void st_env_fault_fail(st_env *env, int ops, const char *path_substr, long nth, int sticky,
                       int code);
/* Clears failure injection. */
void st_env_fault_clear(st_env *env);
/* Simulated power loss (see above). Returns 0 or an error from the base env. */
int st_env_fault_power_loss(st_env *env);
/* Re-arms the env after power loss: new handles work again. */
void st_env_fault_reset(st_env *env);
/* Simulated kernel writeback (addition): the bytes of every file written through this env whose
 * path contains path_substr (every file if NULL) that the writer has handed to the OS become
 * durable, as if synced; bytes still buffered in a writer do not.  Directory entries are not
 * touched: a file whose creation was never made durable by sync_dir still disappears at power
 * loss.  A no-op while the power is off. */
void st_env_fault_writeback(st_env *env, const char *path_substr);
/* Number of calls of one kind of operation seen so far (op is one ST_FAULT_* bit). */
long st_env_fault_count(st_env *env, int op);
/* Number of injected failures so far. */
long st_env_fault_injected(st_env *env);

#endif
