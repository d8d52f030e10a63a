/* logging.h — the info log (<db>/LOG): timestamped lines for opens, flushes, compactions, stalls,
 * errors.  A NULL logger discards.  Thread-safe. */
#ifndef STRATA_ENV_LOGGING_H
#define STRATA_ENV_LOGGING_H

#include "env/env.h"
#include "util/compiler.h"

typedef struct st_logger st_logger;

/* Opens (truncating) path through env.  On failure returns the code and *out = NULL. */
int st_logger_open(st_env *env, const char *path, st_logger **out);
void st_logger_close(st_logger *log);
void st_log(st_logger *log, const char *fmt, ...) ST_PRINTF(2, 3);

#endif
