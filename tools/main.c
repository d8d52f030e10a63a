/* main.c — entry point of the `strata` tool: parses global and command flags (accepted before or
 * after the command name), dispatches to a command, and maps strata status codes to the exit codes
 * documented in docs/CLI.md (0 ok, 1 not found, 2 usage, 3 corruption, 4 other errors). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*fn)(cli_ctx *c);
    const char *synopsis;
    const char *help;
    int takes_cf; /* acts on one column family: accepts --cf */
} command;

static const command commands[] = {
    {"get", cmd_get, "get KEY", "Print the value of KEY (exit 1 if absent).", 1},
    {"multi-get", cmd_multi_get, "multi-get KEY...",
     "Print key<TAB>value per KEY from one view; an absent KEY alone (exit 1 if any).", 1},
    {"put", cmd_put, "put KEY VALUE [--create] [--sync] [--ttl=SECONDS]",
     "Store VALUE under KEY (with --ttl, it expires SECONDS from now).", 1},
    {"delete", cmd_delete, "delete KEY [--sync] [--single]",
     "Delete KEY (no error if absent); --single: single delete of a KEY put once.", 1},
    {"delete-range", cmd_delete_range, "delete-range FROM TO [--sync]",
     "Delete every key in [FROM, TO) in one operation.", 1},
    {"delete-prefix", cmd_delete_prefix, "delete-prefix P [--sync]",
     "Delete every key that starts with P in one operation.", 1},
    {"merge", cmd_merge, "merge KEY OPERAND [--create] [--sync]",
     "Add a merge operand to KEY (reads need --options merge_operator=...).", 1},
    {"scan", cmd_scan,
     "scan [--from K] [--to K] [--prefix P] [--reverse] [--limit N] [--keys-only]",
     "Print key<TAB>value lines for keys in [from, to) or with prefix P.", 1},
    {"load", cmd_load, "load [FILE|-] [--create] [--sync]",
     "Write key<TAB>value lines (in the key encoding) from FILE or stdin, in batches.", 1},
    {"dump", cmd_dump, "dump", "Print every key<TAB>value line; `load` reads the output back.", 1},
    {"sst", cmd_sst, "sst dump|props|verify FILE",
     "Inspect a table file: footer, index and entries; properties; verify every block.", 0},
    {"wal", cmd_wal, "wal dump FILE", "Print each WAL record: offset, sequence, operations.", 0},
    {"manifest", cmd_manifest, "manifest dump [FILE]",
     "Print the version edits of a MANIFEST (default: the DB's current one) and the levels.", 1},
    {"stats", cmd_stats, "stats", "Print level statistics and integer properties.", 1},
    {"approx-size", cmd_approx_size, "approx-size FROM TO",
     "Print the approximate bytes on disk of keys in [FROM, TO).", 1},
    {"verify", cmd_verify, "verify",
     "Check every checksum of every live table, WAL and the MANIFEST (exit 3 on corruption).", 0},
    {"compact", cmd_compact, "compact [FROM TO]",
     "Flush the memtable and compact the range (default: everything).", 1},
    {"repair", cmd_repair, "repair",
     "Rebuild the DB from the tables and WALs that survive; print what was lost.", 0},
    {"salvage", cmd_salvage, "salvage [DAMAGED_DIR] NEW_DIR",
     "Copy every readable entry of a damaged DB (DAMAGED_DIR, else --db) into a new DB.", 0},
    {"scrub", cmd_scrub, "scrub [RATE]",
     "Read every table block (at most RATE bytes/s), heal from parity, report what is lost.", 0},
    {"rekey", cmd_rekey, "rekey",
     "Rewrite every live file under the current key (then retired keys can be destroyed).", 0},
    {"destroy", cmd_destroy, "destroy", "Delete the DB's files and directory.", 0},
    {"cf", cmd_cf, "cf list | cf create NAME | cf drop NAME",
     "List the column families (one name a line), create or drop one (not \"default\").", 0},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_help[] =
    "Global flags (before or after the command):\n"
    "  --db PATH          the database directory (required by DB commands)\n"
    "  --options \"k=v;..\" engine options in the string form (strata_options_from_string)\n"
    "  --cf NAME          the column family of data and stats commands (default \"default\")\n"
    "  --create           create the DB if missing (put, merge, load)\n"
    "  --json             JSON output (read commands)\n"
    "  --hex | --raw | --escaped  key/value encoding (default escaped: C-style \\xNN)\n"
    "  --help, -h         help (strata CMD --help for one command)\n"
    "Exit codes: 0 ok, 1 not found (get, multi-get), 2 usage error, 3 corruption, 4 other error.\n";

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("strata: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see strata --help)\n", stderr);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

/* Only get's "key not found" is exit 1; commands check for it themselves, so a NOTFOUND here
 * (a missing DB or file) is an ordinary error. */
int cli_exit_code(int rc)
{
    switch (rc) {
        case STRATA_OK:
            return CLI_EXIT_OK;
        case STRATA_E_CORRUPTION:
            return CLI_EXIT_CORRUPT;
        default:
            return CLI_EXIT_ERROR;
    }
}

int cli_fail(int rc, const char *what)
{
    const char *msg = strata_errmsg();
    if (msg && *msg) {
        fprintf(stderr, "strata: %s: %s: %s\n", what, strata_strerror(rc), msg);
    } else {
        fprintf(stderr, "strata: %s: %s\n", what, strata_strerror(rc));
    }
    return cli_exit_code(rc);
}

int cli_need_db(const cli_ctx *c)
{
    if (!c->db) {
        return cli_usage_error("%s: --db PATH is required", c->cmd);
    }
    return 0;
}

strata_options *cli_make_options(const cli_ctx *c, int create, int *exit_code)
{
    strata_options *opt = strata_options_create();
    int rc = opt ? 0 : STRATA_E_NOMEM;
    if (!rc && c->options) {
        rc = strata_options_from_string(opt, c->options);
    }
    if (!rc && create) {
        rc = strata_options_set_create_if_missing(opt, 1);
    }
    if (rc) {
        strata_options_destroy(opt);
        *exit_code = cli_fail(rc, "--options");
        if (rc == STRATA_E_INVALID) {
            *exit_code = CLI_EXIT_USAGE;
        }
        return NULL;
    }
    return opt;
}

/* The family of --cf in the open db; an unknown one closes db and is an error. */
static int resolve_cf(cli_ctx *c, strata_db **db)
{
    const char *name = c->cf_name ? c->cf_name : "default";
    c->cf = c->cf_name ? strata_cf_handle(*db, name) : strata_cf_default(*db);
    if (c->cf) {
        return 0;
    }
    fprintf(stderr, "strata: --cf %s: no column family \"%s\" in %s (see strata cf list)\n", name,
            name, c->db);
    strata_close(*db);
    *db = NULL;
    return CLI_EXIT_ERROR;
}

int cli_open(cli_ctx *c, int create, strata_db **db)
{
    int ex = cli_need_db(c);
    strata_options *opt;
    if (ex) {
        return ex;
    }
    opt = cli_make_options(c, create, &ex);
    if (!opt) {
        return ex;
    }
    int rc = strata_open(opt, c->db, db);
    strata_options_destroy(opt);
    if (rc) {
        char what[4200];
        snprintf(what, sizeof(what), "open %s", c->db);
        return cli_fail(rc, what);
    }
    return resolve_cf(c, db);
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (!strcmp(commands[i].name, name)) {
            return &commands[i];
        }
    }
    return NULL;
}

static void print_help(FILE *f)
{
    fputs("usage: strata [--db PATH] [flags] COMMAND [args]\n\nCommands:\n", f);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        fprintf(f, "  %-20s %s\n", commands[i].name, commands[i].help);
    }
    fputs("\n", f);
    fputs(global_help, f);
}

static void print_command_help(const command *cmd)
{
    printf("usage: strata --db PATH %s\n\n%s\n\n%s", cmd->synopsis, cmd->help, global_help);
}

/* Flags that take a value: returns the slot for it, or NULL. */
static const char **value_flag(cli_ctx *c, const char *name)
{
    if (!strcmp(name, "--db"))
        return &c->db;
    if (!strcmp(name, "--options"))
        return &c->options;
    if (!strcmp(name, "--from"))
        return &c->from;
    if (!strcmp(name, "--to"))
        return &c->to;
    if (!strcmp(name, "--prefix"))
        return &c->prefix;
    if (!strcmp(name, "--ttl"))
        return &c->ttl;
    if (!strcmp(name, "--cf"))
        return &c->cf_name;
    return NULL;
}

static int *bool_flag(cli_ctx *c, const char *name)
{
    if (!strcmp(name, "--create"))
        return &c->create;
    if (!strcmp(name, "--json"))
        return &c->json;
    if (!strcmp(name, "--sync"))
        return &c->sync;
    if (!strcmp(name, "--reverse"))
        return &c->reverse;
    if (!strcmp(name, "--keys-only"))
        return &c->keys_only;
    if (!strcmp(name, "--single"))
        return &c->single;
    if (!strcmp(name, "--help") || !strcmp(name, "-h"))
        return &c->help;
    return NULL;
}

static int parse_limit(cli_ctx *c, const char *v)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || n < 0) {
        return cli_usage_error("--limit: not a non-negative integer: %s", v);
    }
    c->limit = n;
    return 0;
}

/* One flag at argv[*i] (advanced past its value).  Returns 0 or an exit code. */
static int parse_flag(cli_ctx *c, int argc, char **argv, int *i)
{
    char name[64];
    const char *arg = argv[*i], *eq = strchr(arg, '='), *val = NULL;
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    if (n >= sizeof(name)) {
        return cli_usage_error("unknown flag %s", arg);
    }
    memcpy(name, arg, n);
    name[n] = '\0';
    const char **slot = value_flag(c, name);
    int *b = bool_flag(c, name);
    int is_limit = !strcmp(name, "--limit");
    if (slot || is_limit) {
        if (eq) {
            val = eq + 1;
        } else if (*i + 1 < argc) {
            val = argv[++*i];
        } else {
            return cli_usage_error("%s needs a value", name);
        }
        if (is_limit) {
            return parse_limit(c, val);
        }
        *slot = val;
        return 0;
    }
    if (b && !eq) {
        *b = 1;
        return 0;
    }
    if (!eq && !strcmp(name, "--hex"))
        c->enc = CLI_ENC_HEX;
    else if (!eq && !strcmp(name, "--raw"))
        c->enc = CLI_ENC_RAW;
    else if (!eq && !strcmp(name, "--escaped"))
        c->enc = CLI_ENC_ESCAPED;
    else
        return cli_usage_error("unknown flag %s", arg);
    return 0;
}

/* Splits argv into flags, the command name and positional arguments ("--" ends flags). */
static int parse_args(cli_ctx *c, int argc, char **argv)
{
    int flags_done = 0;
    c->args = calloc((size_t)argc + 1, sizeof(*c->args));
    if (!c->args) {
        return cli_fail(STRATA_E_NOMEM, "arguments");
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!flags_done && !strcmp(a, "--")) {
            flags_done = 1;
        } else if (!flags_done && a[0] == '-' && a[1] != '\0') {
            int ex = parse_flag(c, argc, argv, &i);
            if (ex) {
                return ex;
            }
        } else if (!c->cmd) {
            c->cmd = a;
        } else {
            c->args[c->nargs++] = a;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    cli_ctx c;
    memset(&c, 0, sizeof(c));
    c.limit = -1;
    int ex = parse_args(&c, argc, argv);
    if (ex) {
        goto out;
    }
    if (!c.cmd) {
        print_help(c.help ? stdout : stderr);
        ex = c.help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        goto out;
    }
    const command *cmd = find_command(c.cmd);
    if (!cmd) {
        ex = cli_usage_error("unknown command \"%s\"", c.cmd);
    } else if (c.help) {
        print_command_help(cmd);
        ex = CLI_EXIT_OK;
    } else if (c.cf_name && !cmd->takes_cf) {
        ex = cli_usage_error("%s does not take --cf (it acts on every column family%s)", c.cmd,
                             strcmp(c.cmd, "cf") ? " or on files" : "; the family is an argument");
    } else {
        cli_integrity_init(&c);
        ex = cmd->fn(&c);
        cli_integrity_done();
    }
out:
    free(c.args);
    if (fflush(stdout) != 0 && ex == CLI_EXIT_OK) {
        ex = CLI_EXIT_ERROR;
    }
    return ex;
}
