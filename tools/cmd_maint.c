/* cmd_maint.c — maintenance: `verify`, `compact [FROM TO]`, `repair`, `salvage`, `destroy`.
 * verify works offline: it takes the DB's LOCK (so a DB open elsewhere is reported BUSY), replays
 * the MANIFEST named by CURRENT to find the live tables, runs st_table_verify on each (every
 * block's checksum, decoding and key order), and reads every WAL at or after the MANIFEST's log
 * number, checking each record's checksum and batch encoding.  Each problem is printed with its
 * file and the offset the engine reported; the exit code is 3 if any corruption was found. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "db/filename.h"
#include "db/write_batch.h"
#include "env/env.h"
#include "table/table_reader.h"
#include "util/alloc.h"
#include "util/status.h"
#include "wal/log_reader.h"

typedef struct verifier {
    const cli_ctx *c;
    int nfiles, ncorrupt, nerror;
    int progress;
} verifier;

static void report(verifier *v, const char *kind, const char *fname, int rc)
{
    const char *msg = rc ? strata_errmsg() : "";
    if (rc == STRATA_E_CORRUPTION || rc == STRATA_E_NOTFOUND)
        v->ncorrupt++;
    else if (rc)
        v->nerror++;
    if (v->progress)
        fprintf(stderr, "\r\033[K");
    if (v->c->json) {
        printf("%s{\"kind\":\"%s\",\"file\":", v->nfiles ? ",\n " : " ", kind);
        cli_json_str(fname, strlen(fname));
        printf(",\"ok\":%s,\"status\":\"%s\",\"error\":", rc ? "false" : "true",
               strata_strerror(rc));
        cli_json_str(msg, strlen(msg));
        printf("}");
    } else if (rc) {
        printf("%s %s: %s: %s\n", kind, fname, strata_strerror(rc), msg);
    } else {
        printf("%s %s: OK\n", kind, fname);
    }
    v->nfiles++;
}

static int verify_table(const char *fname)
{
    st_env *env = st_env_posix();
    st_table_read_options o = {st_comparator_bytewise(), NULL, NULL, fname, 1, 0,
                               cli_integrity(fname, 0), cli_file_number(fname)};
    st_rfile *f = NULL;
    st_table *t = NULL;
    uint64_t size;
    int rc = st_env_file_size(env, fname, &size);
    if (rc == STRATA_E_NOTFOUND || (!rc && !st_env_exists(env, fname))) {
        return st_err(STRATA_E_NOTFOUND, "%s: live table is missing", fname);
    }
    if (!rc)
        rc = st_env_new_random(env, fname, &f);
    if (!rc) {
        rc = st_table_open(&o, f, size, &t);
        if (rc)
            st_rfile_close(f);
    }
    if (!rc)
        rc = st_table_verify(t);
    st_table_close(t);
    return rc;
}

/* Reads every record, checking its checksum and that it decodes as a write batch. */
static int verify_wal(const char *fname)
{
    st_sfile *f = NULL;
    st_log_reader *r = NULL;
    st_slice rec;
    uint64_t off;
    strata_batch b;
    int rc = st_batch_init(&b);
    if (!rc)
        rc = st_env_new_sequential(st_env_posix(), fname, &f);
    if (!rc)
        rc = st_log_reader_create(f, fname, 0, &r);
    if (!rc)
        st_log_reader_set_integrity(r, cli_integrity(fname, 0), cli_file_number(fname),
                                    ST_CRYPT_FILE_WAL);
    while (!rc && (rc = st_log_reader_read(r, &rec, &off)) == 1) {
        rc = st_batch_set_contents(&b, rec);
        if (rc)
            st_err_context(rc, "%s: WAL record at offset %" PRIu64, fname, off);
    }
    st_log_reader_close(r);
    st_batch_free(&b);
    return rc;
}

static void progress(verifier *v, int i, int n, const char *fname)
{
    if (v->progress)
        fprintf(stderr, "\r\033[Kverifying %d/%d %s", i + 1, n, fname);
}

static void verify_tables(verifier *v, const cli_live *l)
{
    for (int i = 0; i < l->n; i++) {
        char *fname = st_filename(v->c->db, ST_FILE_TABLE, l->files[i].number);
        if (!fname) {
            report(v, "table", "?", STRATA_E_NOMEM);
            continue;
        }
        progress(v, i, l->n, fname);
        report(v, "table", fname, verify_table(fname));
        st_free(fname);
    }
}

static void verify_wals(verifier *v, uint64_t min_log)
{
    char **names = NULL;
    int n = 0, type;
    uint64_t number;
    int rc = st_env_list_dir(st_env_posix(), v->c->db, &names, &n);
    if (rc) {
        report(v, "dir", v->c->db, rc);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (!st_parse_filename(names[i], &type, &number) || type != ST_FILE_LOG ||
            number < min_log) {
            continue;
        }
        char *fname = st_filename(v->c->db, ST_FILE_LOG, number);
        if (fname)
            progress(v, i, n, fname);
        report(v, "wal", fname ? fname : "?", fname ? verify_wal(fname) : STRATA_E_NOMEM);
        st_free(fname);
    }
    st_env_free_names(names, n);
}

static int verify_db(verifier *v)
{
    cli_live l;
    int rc = cli_read_manifest(v->c->db, NULL, 0, v->c->enc, &l);
    report(v, "manifest", l.manifest ? l.manifest : v->c->db, rc);
    if (!rc) {
        verify_tables(v, &l);
        verify_wals(v, l.log_number);
    }
    cli_live_free(&l);
    return 0;
}

int cmd_verify(cli_ctx *c)
{
    verifier v = {c, 0, 0, 0, isatty(STDERR_FILENO)};
    st_env *env = st_env_posix();
    st_filelock *lock = NULL;
    char lockname[4200];
    int ex = c->nargs ? cli_usage_error("verify takes no arguments") : cli_need_db(c);
    if (ex)
        return ex;
    if (!st_env_exists(env, c->db)) {
        fprintf(stderr, "strata: verify: %s: no such database\n", c->db);
        return CLI_EXIT_ERROR;
    }
    snprintf(lockname, sizeof(lockname), "%s/LOCK", c->db);
    int rc = st_env_lock_file(env, lockname, &lock);
    if (rc)
        return cli_fail(rc, "verify: lock");
    if (c->json)
        printf("{\"files\":[\n");
    verify_db(&v);
    st_env_unlock_file(env, lock);
    if (v.progress)
        fprintf(stderr, "\r\033[K");
    if (c->json) {
        printf("\n],\"checked\":%d,\"corrupt\":%d,\"errors\":%d,\"ok\":%s}\n", v.nfiles, v.ncorrupt,
               v.nerror, v.ncorrupt || v.nerror ? "false" : "true");
    } else {
        printf("%d files checked, %d corrupt, %d other errors\n", v.nfiles, v.ncorrupt, v.nerror);
    }
    return v.ncorrupt ? CLI_EXIT_CORRUPT : v.nerror ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

int cmd_compact(cli_ctx *c)
{
    st_buf from = ST_BUF_INIT, to = ST_BUF_INIT;
    strata_db *db = NULL;
    int has = c->nargs == 2;
    int ex = c->nargs != 0 && !has ? cli_usage_error("usage: strata compact [FROM TO]") : 0;
    if (!ex && has)
        ex = cli_arg_bytes(c, c->args[0], &from);
    if (!ex && has)
        ex = cli_arg_bytes(c, c->args[1], &to);
    if (!ex)
        ex = cli_open(c, 0, &db);
    if (ex)
        goto out;
    int rc = strata_flush_cf(db, c->cf, 1);
    if (!rc) {
        rc = strata_compact_range_cf(db, c->cf, has ? (from.data ? from.data : "") : NULL, from.len,
                                     has ? (to.data ? to.data : "") : NULL, to.len);
    }
    if (rc)
        ex = cli_fail(rc, "compact");
    rc = strata_close(db);
    if (rc && !ex)
        ex = cli_fail(rc, "close");
out:
    st_buf_free(&from);
    st_buf_free(&to);
    return ex;
}

/* rekey: moves every live file onto the key provider's current key. */
int cmd_rekey(cli_ctx *c)
{
    strata_db *db = NULL;
    int ex = c->nargs ? cli_usage_error("rekey takes no arguments") : cli_open(c, 0, &db);
    if (ex)
        return ex;
    int rc = strata_rekey(db);
    if (rc)
        ex = cli_fail(rc, "rekey");
    rc = strata_close(db);
    if (rc && !ex)
        ex = cli_fail(rc, "close");
    if (!ex)
        printf(c->json ? "{\"ok\":true}\n" : "rekeyed %s\n", c->db);
    return ex;
}

static const char *const scrub_props[] = {"blocks", "bytes", "healed", "unrecoverable"};

/* scrub [RATE]: one patrol pass over every table block (at most RATE bytes/s), then a summary. */
int cmd_scrub(cli_ctx *c)
{
    strata_db *db = NULL;
    char *end = NULL;
    unsigned long long rate = c->nargs ? strtoull(c->args[0], &end, 10) : 0;
    int ex = c->nargs > 1 || (c->nargs && (end == c->args[0] || *end))
                 ? cli_usage_error("usage: strata scrub [RATE_BYTES_PER_SEC]")
                 : cli_open(c, 0, &db);
    if (ex)
        return ex;
    int rc = strata_scrub(db, (uint64_t)rate);
    int wrc = rc ? rc : strata_scrub_wait(db);
    uint64_t v[4] = {0};
    for (int i = 0; i < 4; i++) {
        char name[64];
        snprintf(name, sizeof(name), "strata.scrub-%s", scrub_props[i]);
        strata_property_int(db, name, &v[i]);
    }
    if (c->json) {
        printf("{\"blocks\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"healed\":%" PRIu64
               ",\"unrecoverable\":%" PRIu64 ",\"ok\":%s}\n", v[0], v[1], v[2], v[3],
               wrc ? "false" : "true");
    } else {
        printf("scrubbed %" PRIu64 " blocks (%" PRIu64 " bytes): %" PRIu64 " healed, %" PRIu64
               " unrecoverable\n", v[0], v[1], v[2], v[3]);
    }
    if (rc)
        ex = cli_fail(rc, "scrub");
    else if (wrc)
        ex = cli_fail(wrc, "scrub");
    rc = strata_close(db);
    if (rc && !ex)
        ex = cli_fail(rc, "close");
    return ex;
}

/* Prints an integrity report: a summary line after "<done> <what>", then one indented line per
 * damaged range; or with --json one object. */
static void print_report(const cli_ctx *c, const char *done, const char *what,
                         const strata_integrity_report *r)
{
    const char *d = r->detail ? r->detail : "";
    if (!c->json) {
        printf("%s %s: %" PRIu64 " files checked, %" PRIu64 " entries recovered, %" PRIu64
               " damaged blocks (~%" PRIu64 " entries, %" PRIu64 " bytes lost)\n", done, what,
               r->files_checked, r->entries_recovered, r->blocks_unrecoverable,
               r->entries_lost_estimate, r->bytes_lost);
        for (const char *p = d; *p;) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            printf("  %.*s\n", (int)n, p);
            p += n + (nl != NULL);
        }
        return;
    }
    printf("{\"ok\":true,\"files_checked\":%" PRIu64 ",\"blocks_checked\":%" PRIu64
           ",\"blocks_unrecoverable\":%" PRIu64 ",\"entries_recovered\":%" PRIu64
           ",\"entries_lost_estimate\":%" PRIu64 ",\"bytes_lost\":%" PRIu64 ",\"detail\":[",
           r->files_checked, r->blocks_checked, r->blocks_unrecoverable, r->entries_recovered,
           r->entries_lost_estimate, r->bytes_lost);
    for (const char *p = d; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (p != d)
            putchar(',');
        cli_json_str(p, n);
        p += n + (nl != NULL);
    }
    printf("]}\n");
}

/* repair and destroy: the DB must not be open; both take options for the env and comparator. */
static int offline(cli_ctx *c, int (*fn)(const strata_options *, const char *), const char *done)
{
    int ex = c->nargs ? cli_usage_error("%s takes no arguments", c->cmd) : cli_need_db(c);
    if (ex)
        return ex;
    strata_options *opt = cli_make_options(c, 0, &ex);
    if (!opt)
        return ex;
    int rc = fn(opt, c->db);
    strata_options_destroy(opt);
    if (rc) {
        char what[4200];
        snprintf(what, sizeof(what), "%s %s", c->cmd, c->db);
        return cli_fail(rc, what);
    }
    if (c->json)
        printf("{\"ok\":true}\n");
    else
        printf("%s %s\n", done, c->db);
    return 0;
}

/* repair prints what it kept and what was lost (strata_repair_report). */
int cmd_repair(cli_ctx *c)
{
    int ex = c->nargs ? cli_usage_error("repair takes no arguments") : cli_need_db(c);
    if (ex)
        return ex;
    strata_options *opt = cli_make_options(c, 0, &ex);
    if (!opt)
        return ex;
    strata_integrity_report r;
    int rc = strata_repair_report(opt, c->db, &r);
    strata_options_destroy(opt);
    if (rc) {
        char what[4200];
        snprintf(what, sizeof(what), "repair %s", c->db);
        ex = cli_fail(rc, what);
    } else {
        print_report(c, "repaired", c->db, &r);
    }
    strata_integrity_report_free(&r);
    return ex;
}

/* salvage [DAMAGED] NEW: DAMAGED defaults to --db.  The new DB is created with --options. */
int cmd_salvage(cli_ctx *c)
{
    const char *from = c->nargs == 2 ? c->args[0] : c->db;
    const char *to = c->nargs >= 1 ? c->args[c->nargs - 1] : NULL;
    int ex = 0;
    if (c->nargs < 1 || c->nargs > 2 || !from)
        return cli_usage_error("usage: strata salvage DAMAGED_DIR NEW_DIR");
    strata_options *opt = cli_make_options(c, 0, &ex);
    if (!opt)
        return ex;
    strata_integrity_report r;
    int rc = strata_salvage_report(opt, from, to, &r);
    strata_options_destroy(opt);
    char what[8400];
    snprintf(what, sizeof(what), "%s into %s", from, to);
    if (rc) {
        char fail[8500];
        snprintf(fail, sizeof(fail), "salvage %s", what);
        ex = cli_fail(rc, fail);
    } else {
        print_report(c, "salvaged", what, &r);
    }
    strata_integrity_report_free(&r);
    return ex;
}

int cmd_destroy(cli_ctx *c)
{
    return offline(c, strata_destroy, "destroyed");
}
