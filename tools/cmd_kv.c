/* cmd_kv.c — the data commands: get, put (--ttl), delete (--single), scan, load, dump, each on
 * the column family of --cf (c->cf).
 * Keys and values on the command line and in TSV lines use the selected encoding (encode.c).
 * The TSV form is one "key<TAB>value" line per entry; `dump` writes it and `load` reads it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define LOAD_BATCH_OPS 1000
#define LOAD_BATCH_BYTES (4u << 20)
#define LOAD_PROGRESS_EVERY 10000

int cli_want_args(const cli_ctx *c, int n)
{
    if (c->nargs != n) {
        return cli_usage_error("%s: expected %d argument%s, got %d", c->cmd, n, n == 1 ? "" : "s",
                               c->nargs);
    }
    return 0;
}

strata_write_options *cli_write_options(const cli_ctx *c)
{
    strata_write_options *wo = strata_write_options_create();
    if (wo) {
        strata_write_options_set_sync(wo, c->sync);
    }
    return wo;
}

static void print_value(const cli_ctx *c, st_slice key, st_slice val)
{
    if (c->json) {
        printf("{");
        cli_json_key("key");
        cli_json_bytes(c->enc, key);
        printf(",");
        cli_json_key("value");
        cli_json_bytes(c->enc, val);
        printf("}\n");
    } else {
        cli_print(stdout, c->enc, val);
        putchar('\n');
    }
}

int cmd_get(cli_ctx *c)
{
    st_buf key = ST_BUF_INIT;
    strata_db *db = NULL;
    void *val = NULL;
    size_t vlen = 0;
    int ex = cli_want_args(c, 1);
    if (!ex)
        ex = cli_arg_bytes(c, c->args[0], &key);
    if (!ex)
        ex = cli_open(c, 0, &db);
    if (ex)
        goto out;
    int rc = strata_get_cf(db, NULL, c->cf, key.data, key.len, &val, &vlen);
    if (rc == STRATA_E_NOTFOUND) {
        fprintf(stderr, "strata: get: key not found\n");
        ex = CLI_EXIT_NOTFOUND;
    } else if (rc) {
        ex = cli_fail(rc, "get");
    } else {
        print_value(c, st_buf_slice(&key), st_slice_make(val, vlen));
    }
out:
    strata_free(val);
    if (db) {
        int rc2 = strata_close(db);
        if (rc2 && !ex)
            ex = cli_fail(rc2, "close");
    }
    st_buf_free(&key);
    return ex;
}

int cli_close(strata_db *db, int ex)
{
    if (db) {
        int rc = strata_close(db);
        if (rc && !ex)
            ex = cli_fail(rc, "close");
    }
    return ex;
}

/* put --ttl=SECONDS: a decimal number of seconds (0: never expires, even with a default_ttl). */
static int parse_ttl(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (*v < '0' || *v > '9' || *end || errno == ERANGE) {
        return cli_usage_error("--ttl: not a number of seconds: %s", v);
    }
    *out = n;
    return 0;
}

/* The write of put or delete, by their flags. */
static int write_kv(const cli_ctx *c, strata_db *db, const strata_write_options *wo, int is_put,
                    uint64_t ttl, st_buf *key, st_buf *val)
{
    const char *v = val->data ? val->data : "";
    if (is_put && c->ttl)
        return strata_put_ttl_cf(db, wo, c->cf, key->data, key->len, v, val->len, ttl);
    if (is_put)
        return strata_put_cf(db, wo, c->cf, key->data, key->len, v, val->len);
    if (c->single)
        return strata_single_delete_cf(db, wo, c->cf, key->data, key->len);
    return strata_delete_cf(db, wo, c->cf, key->data, key->len);
}

/* put and delete: one write, then close (which reports a background error). */
static int write_one(cli_ctx *c, int is_put)
{
    st_buf key = ST_BUF_INIT, val = ST_BUF_INIT;
    strata_db *db = NULL;
    strata_write_options *wo = NULL;
    uint64_t ttl = 0;
    int rc, ex = cli_want_args(c, is_put ? 2 : 1);
    if (!ex && (is_put ? c->single : c->ttl != NULL))
        ex = cli_usage_error("%s does not take %s", c->cmd, is_put ? "--single" : "--ttl");
    if (!ex && c->ttl)
        ex = parse_ttl(c->ttl, &ttl);
    if (!ex)
        ex = cli_arg_bytes(c, c->args[0], &key);
    if (!ex && is_put)
        ex = cli_arg_bytes(c, c->args[1], &val);
    if (!ex)
        ex = cli_open(c, is_put && c->create, &db);
    if (ex)
        goto out;
    wo = cli_write_options(c);
    rc = wo ? write_kv(c, db, wo, is_put, ttl, &key, &val) : STRATA_E_NOMEM;
    if (rc)
        ex = cli_fail(rc, c->cmd);
out:
    strata_write_options_destroy(wo);
    ex = cli_close(db, ex);
    st_buf_free(&key);
    st_buf_free(&val);
    return ex;
}

int cmd_put(cli_ctx *c)
{
    return write_one(c, 1);
}
int cmd_delete(cli_ctx *c)
{
    return write_one(c, 0);
}

/* Smallest key greater than every key starting with p: p with its last non-0xff byte incremented
 * and the rest dropped.  Leaves out empty when there is none (p is all 0xff). */
static int prefix_successor(st_slice p, st_buf *out)
{
    size_t n = p.size;
    while (n > 0 && (unsigned char)p.data[n - 1] == 0xff) n--;
    st_buf_clear(out);
    if (n == 0)
        return 0;
    int rc = st_buf_append(out, p.data, n);
    if (!rc)
        out->data[n - 1] = (char)((unsigned char)out->data[n - 1] + 1);
    return rc;
}

typedef struct scan_range {
    st_buf lo, hi, prefix;
    int has_lo, has_hi, has_prefix;
} scan_range;

static int scan_bounds(const cli_ctx *c, scan_range *r, strata_read_options *ro)
{
    int ex = 0, rc = 0;
    if (c->prefix && (c->from || c->to)) {
        return cli_usage_error("scan: --prefix cannot be combined with --from/--to");
    }
    if (c->prefix) {
        ex = cli_arg_bytes(c, c->prefix, &r->prefix);
        if (ex)
            return ex;
        r->has_prefix = 1;
        r->has_lo = 1;
        rc = st_buf_assign(&r->lo, r->prefix.data, r->prefix.len);
        if (!rc)
            rc = prefix_successor(st_buf_slice(&r->prefix), &r->hi);
        r->has_hi = r->hi.len > 0;
    }
    if (!rc && c->from) {
        ex = cli_arg_bytes(c, c->from, &r->lo);
        r->has_lo = 1;
    }
    if (!ex && !rc && c->to) {
        ex = cli_arg_bytes(c, c->to, &r->hi);
        r->has_hi = 1;
    }
    if (!ex && !rc && r->has_lo)
        rc = strata_read_options_set_lower_bound(ro, r->lo.data ? r->lo.data : "", r->lo.len);
    if (!ex && !rc && r->has_hi)
        rc = strata_read_options_set_upper_bound(ro, r->hi.data ? r->hi.data : "", r->hi.len);
    return ex ? ex : rc ? cli_fail(rc, "scan") : 0;
}

static void print_entry(const cli_ctx *c, st_slice k, st_slice v, long long n)
{
    if (c->json) {
        printf("%s{", n ? ",\n " : " ");
        cli_json_key("key");
        cli_json_bytes(c->enc, k);
        if (!c->keys_only) {
            printf(",");
            cli_json_key("value");
            cli_json_bytes(c->enc, v);
        }
        printf("}");
        return;
    }
    cli_print(stdout, c->enc, k);
    if (!c->keys_only) {
        putchar('\t');
        cli_print(stdout, c->enc, v);
    }
    putchar('\n');
}

/* Walks the iterator over the range, printing entries.  Returns 0 or a STRATA_E_* code. */
static int scan_loop(const cli_ctx *c, strata_iter *it, const scan_range *r)
{
    long long n = 0;
    if (c->json)
        printf("[\n");
    if (c->reverse)
        strata_iter_seek_to_last(it);
    else
        strata_iter_seek_to_first(it);
    while (strata_iter_valid(it) && (c->limit < 0 || n < c->limit)) {
        size_t kl, vl;
        const char *k = strata_iter_key(it, &kl), *v = strata_iter_value(it, &vl);
        if (r->has_prefix &&
            !st_slice_starts_with(st_slice_make(k, kl), st_buf_slice(&r->prefix))) {
            break; /* only possible when the prefix is all 0xff bytes (no upper bound) */
        }
        print_entry(c, st_slice_make(k, kl), st_slice_make(v, vl), n++);
        if (c->reverse)
            strata_iter_prev(it);
        else
            strata_iter_next(it);
    }
    if (c->json)
        printf("\n]\n");
    return strata_iter_status(it);
}

static int scan_all(cli_ctx *c)
{
    scan_range r;
    memset(&r, 0, sizeof(r));
    strata_db *db = NULL;
    strata_iter *it = NULL;
    strata_read_options *ro = strata_read_options_create();
    int rc, ex = ro ? 0 : cli_fail(STRATA_E_NOMEM, "scan");
    if (!ex)
        ex = scan_bounds(c, &r, ro);
    if (!ex)
        ex = cli_open(c, 0, &db);
    if (ex)
        goto out;
    rc = strata_iter_create_cf(db, ro, c->cf, &it);
    if (!rc)
        rc = scan_loop(c, it, &r);
    if (rc)
        ex = cli_fail(rc, c->cmd);
out:
    strata_iter_destroy(it);
    if (db) {
        rc = strata_close(db);
        if (rc && !ex)
            ex = cli_fail(rc, "close");
    }
    strata_read_options_destroy(ro);
    st_buf_free(&r.lo);
    st_buf_free(&r.hi);
    st_buf_free(&r.prefix);
    return ex;
}

int cmd_scan(cli_ctx *c)
{
    int ex = cli_want_args(c, 0);
    return ex ? ex : scan_all(c);
}

int cmd_dump(cli_ctx *c)
{
    int ex = cli_want_args(c, 0);
    if (ex)
        return ex;
    if (c->from || c->to || c->prefix || c->reverse || c->limit >= 0 || c->keys_only) {
        return cli_usage_error("dump takes no range flags (use scan)");
    }
    return scan_all(c);
}

typedef struct loader {
    strata_db *db;
    strata_write_options *wo;
    strata_batch *batch;
    st_buf key, val;
    unsigned long long lines, records;
    int progress;
} loader;

static int load_flush(loader *l)
{
    if (strata_batch_count(l->batch) == 0)
        return 0;
    int rc = strata_write(l->db, l->wo, l->batch);
    strata_batch_clear(l->batch);
    return rc ? cli_fail(rc, "load: write") : 0;
}

/* One input line (without its newline).  Returns 0 or an exit code. */
static int load_line(const cli_ctx *c, loader *l, const char *line, size_t len)
{
    const char *tab = memchr(line, '\t', len);
    if (len == 0)
        return 0;
    if (!tab) {
        return cli_usage_error("load: line %llu: no TAB between key and value", l->lines);
    }
    size_t klen = (size_t)(tab - line);
    if (cli_decode(c->enc, line, klen, &l->key) ||
        cli_decode(c->enc, tab + 1, len - klen - 1, &l->val)) {
        return cli_usage_error("load: line %llu: malformed key or value encoding", l->lines);
    }
    int rc = strata_batch_put_cf(l->batch, c->cf, l->key.data ? l->key.data : "", l->key.len,
                                 l->val.data ? l->val.data : "", l->val.len);
    if (rc)
        return cli_fail(rc, "load");
    l->records++;
    if (l->progress && l->records % LOAD_PROGRESS_EVERY == 0) {
        fprintf(stderr, "\rloaded %llu records", l->records);
    }
    if (strata_batch_count(l->batch) >= LOAD_BATCH_OPS ||
        strata_batch_size(l->batch) >= LOAD_BATCH_BYTES) {
        return load_flush(l);
    }
    return 0;
}

static int load_stream(const cli_ctx *c, loader *l, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int ex = 0;
    while (!ex && (n = getline(&line, &cap, in)) >= 0) {
        l->lines++;
        if (n > 0 && line[n - 1] == '\n')
            n--;
        ex = load_line(c, l, line, (size_t)n);
    }
    free(line);
    if (!ex && ferror(in)) {
        fprintf(stderr, "strata: load: read error on input\n");
        ex = CLI_EXIT_ERROR;
    }
    if (!ex)
        ex = load_flush(l);
    if (l->progress)
        fprintf(stderr, "\rloaded %llu records\n", l->records);
    return ex;
}

int cmd_load(cli_ctx *c)
{
    loader l;
    memset(&l, 0, sizeof(l));
    FILE *in = stdin;
    int ex = c->nargs > 1 ? cli_usage_error("load: expected at most one FILE") : 0;
    if (!ex && c->nargs == 1 && strcmp(c->args[0], "-") != 0) {
        in = fopen(c->args[0], "r");
        if (!in) {
            fprintf(stderr, "strata: load: cannot open %s: %s\n", c->args[0], strerror(errno));
            return CLI_EXIT_ERROR;
        }
    }
    if (!ex)
        ex = cli_open(c, c->create, &l.db);
    if (ex)
        goto out;
    l.wo = cli_write_options(c);
    l.batch = strata_batch_create();
    l.progress = isatty(STDERR_FILENO);
    ex = l.wo && l.batch ? load_stream(c, &l, in) : cli_fail(STRATA_E_NOMEM, "load");
out:
    if (l.db) {
        int rc = strata_close(l.db);
        if (rc && !ex)
            ex = cli_fail(rc, "close");
    }
    if (in != stdin)
        fclose(in);
    strata_batch_destroy(l.batch);
    strata_write_options_destroy(l.wo);
    st_buf_free(&l.key);
    st_buf_free(&l.val);
    return ex;
}
