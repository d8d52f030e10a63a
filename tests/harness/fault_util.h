/* fault_util.h — a DB environment for the fault suites: the fault-injecting env
 * (src/env/env_fault.h) over a private in-memory env or over the POSIX env in a temp dir, with
 * small-buffer options so flushes and compactions happen after little data, plus the power-cut
 * sequence (power loss, close the dead handle, clear injection, re-arm). */
#ifndef STRATA_TESTS_FAULT_UTIL_H
#define STRATA_TESTS_FAULT_UTIL_H

#include "env/env_fault.h"
#include "strata.h"

/* Every env call that changes files or directories. */
#define FU_MUTATING (ST_FAULT_ALL & ~ST_FAULT_READ)

struct fu_env {
    st_env *base;        /* private mem env (owned) or the static POSIX env */
    st_env *fault;       /* owned */
    char *dir;           /* POSIX only: the temp dir (removed by fu_env_fini) */
    const char *path;    /* DB path */
    strata_options *opt; /* create_if_missing, env = fault, 64 KiB buffers, no info log */
};

void fu_env_init(struct fu_env *e, int posix);
void fu_env_fini(struct fu_env *e);
/* Sum of the fault env's counters over FU_MUTATING calls. */
long fu_mutating_calls(st_env *fault);
/* Power loss; closes *db (if open; its status is ignored) and sets it NULL; clears injection;
 * re-arms the env. */
void fu_power_cut(struct fu_env *e, strata_db **db);
/* Opens e->path with e->opt, failing the test (with what in the message) on error. */
strata_db *fu_open(struct fu_env *e, const char *what);

#endif
