/* cli.h — shared declarations of the `strata` command-line tool (docs/CLI.md).
 *
 * The tool is split by concept: main.c (dispatch, global flags, help), encode.c (key/value
 * encodings), output.c (JSON and error output), cmd_kv.c (get/put/delete/scan/load/dump),
 * cmd_ops.c (delete-range/delete-prefix/merge/multi-get), cmd_inspect.c
 * (sst/wal/manifest/stats/approx-size), cmd_maint.c (verify/compact/repair/salvage/destroy),
 * cmd_cf.c (cf list/create/drop).  Every command returns a process exit code (CLI_EXIT_*), never a
 * STRATA_E_* code.  Commands that act on one column family use c->cf, which cli_open resolves
 * from --cf (default "default"). */
#ifndef STRATA_TOOLS_CLI_H
#define STRATA_TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "strata.h"
#include "util/buf.h"
#include "util/slice.h"

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_NOTFOUND = 1, /* get of a missing key, multi-get with one absent */
    CLI_EXIT_USAGE = 2,    /* bad command line or malformed input */
    CLI_EXIT_CORRUPT = 3,  /* corruption found or reported */
    CLI_EXIT_ERROR = 4     /* any other failure: busy, I/O, missing DB, ... */
};

enum cli_enc { CLI_ENC_ESCAPED = 0, CLI_ENC_HEX = 1, CLI_ENC_RAW = 2 };

/* Parsed command line: global flags plus the per-command flags every command may read. */
typedef struct cli_ctx {
    const char *db;
    const char *options;
    int create, json, sync, help;
    int enc;
    const char *from, *to, *prefix;
    const char *ttl;     /* put --ttl=SECONDS, NULL when not given */
    const char *cf_name; /* --cf NAME, NULL when not given (the "default" family) */
    strata_cf *cf;       /* the family of --cf, set by cli_open; borrowed from the open DB */
    int reverse, keys_only, single;
    long long limit; /* -1 = unlimited */
    const char *cmd;
    const char **args; /* positional arguments after the command name */
    int nargs;
} cli_ctx;

/* main.c */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "strata: <what>: <strerror(rc)>: <errmsg>" and returns the exit code for rc. */
int cli_fail(int rc, const char *what);
int cli_exit_code(int rc);
/* Builds options from ctx (--options, create_if_missing when create).  NULL on error (printed). */
strata_options *cli_make_options(const cli_ctx *c, int create, int *exit_code);
/* Opens --db (every family) and sets c->cf to the family of --cf; returns 0 with *db set, or an
 * exit code after printing the error (an unknown family: CLI_EXIT_ERROR, the DB closed). */
int cli_open(cli_ctx *c, int create, strata_db **db);
int cli_need_db(const cli_ctx *c);

/* integrity.c: the keys and identity of the DB holding path (a file in it, or the DB directory
 * when is_dir), loaded once; NULL when none can be loaded (plaintext reading still works). */
struct st_integrity;
void cli_integrity_init(const cli_ctx *c);
void cli_integrity_done(void);
struct st_integrity *cli_integrity(const char *path, int is_dir);
/* The number in a strata file name (000012.sst -> 12), 0 if none. */
uint64_t cli_file_number(const char *path);

/* encode.c: format bytes in enc (appending to out), parse text in enc into out. */
int cli_encode(int enc, st_slice in, st_buf *out);
int cli_decode(int enc, const char *text, size_t len, st_buf *out);
/* Prints bytes in enc to f. */
void cli_print(FILE *f, int enc, st_slice s);
/* Decodes a command-line argument in enc; prints a usage error and returns nonzero if malformed. */
int cli_arg_bytes(const cli_ctx *c, const char *arg, st_buf *out);

/* output.c: JSON helpers writing to stdout. */
void cli_json_str(const char *s, size_t n);
void cli_json_bytes(int enc, st_slice s); /* encoded in enc, then as a JSON string */
void cli_json_key(const char *name);      /* "name": */

/* cmd_kv.c, shared with cmd_ops.c: a usage error unless the command got exactly n arguments; a
 * write options object from --sync (NULL when out of memory; strata_write_options_destroy). */
int cli_want_args(const cli_ctx *c, int n);
strata_write_options *cli_write_options(const cli_ctx *c);
/* Closes db (NULL: nothing) and returns ex, or the close error's exit code when ex is 0. */
int cli_close(strata_db *db, int ex);

/* Commands: each returns an exit code. */
int cmd_get(cli_ctx *c);
int cmd_multi_get(cli_ctx *c);
int cmd_put(cli_ctx *c);
int cmd_delete(cli_ctx *c);
int cmd_delete_range(cli_ctx *c);
int cmd_delete_prefix(cli_ctx *c);
int cmd_merge(cli_ctx *c);
int cmd_scan(cli_ctx *c);
int cmd_load(cli_ctx *c);
int cmd_dump(cli_ctx *c);
int cmd_sst(cli_ctx *c);
int cmd_wal(cli_ctx *c);
int cmd_manifest(cli_ctx *c);
int cmd_stats(cli_ctx *c);
int cmd_approx_size(cli_ctx *c);
int cmd_verify(cli_ctx *c);
int cmd_rekey(cli_ctx *c);
int cmd_scrub(cli_ctx *c);
int cmd_compact(cli_ctx *c);
int cmd_repair(cli_ctx *c);
int cmd_salvage(cli_ctx *c);
int cmd_destroy(cli_ctx *c);
int cmd_cf(cli_ctx *c);

/* cmd_inspect.c, shared with cmd_maint.c: the live state from the DB's MANIFEST. */
typedef struct cli_live_file {
    uint32_t cf; /* column family id */
    int level;
    uint64_t number, size;
} cli_live_file;
typedef struct cli_live_cf {
    uint32_t id;
    char *name; /* malloc'd */
    uint64_t log_number;
    int dropped;
} cli_live_cf;
typedef struct cli_live {
    cli_live_file *files; /* of the families not dropped */
    int n;
    cli_live_cf *cfs; /* every family the MANIFEST names, "default" (id 0) first */
    int ncf;
    uint64_t min_log_keep; /* the largest WAL deletion bound recorded (0: none) */
    uint64_t log_number;   /* the oldest WAL a family still needs (the smallest log number, at
                              least min_log_keep) */
    char *manifest;      /* path of the MANIFEST read (malloc'd) */
} cli_live;
/* Replays the MANIFEST named by CURRENT (or path if non-NULL) as the engine does: edits of a
 * family apply to it, a dropped family's files leave the live set.  print: 0 none, 1 human, 2
 * JSON edit list.  Returns 0 or a STRATA_E_* code (errmsg set); free out with cli_live_free. */
int cli_read_manifest(const char *db, const char *path, int print, int enc, cli_live *out);
void cli_live_free(cli_live *l);

#endif
