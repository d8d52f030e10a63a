/* cmd_ops.c — the commands for strata's non-put operations: `delete-range FROM TO`,
 * `delete-prefix P`, `merge KEY OPERAND` (one write each, like put and delete in cmd_kv.c) and
 * `multi-get KEY...` (every key read from one consistent view).  Arguments use the selected
 * encoding (encode.c) and act on the column family of --cf; a merge operator comes from --options
 * (merge_operator=uint64add|stringappend), which every later read of a merged key needs too
 * (docs/CLI.md). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* One write taking one or two decoded arguments (b is empty for one). */
typedef int (*write_fn)(strata_db *db, strata_cf *cf, const strata_write_options *wo, st_slice a,
                        st_slice b);

static int do_delete_range(strata_db *db, strata_cf *cf, const strata_write_options *wo, st_slice a,
                           st_slice b)
{
    return strata_delete_range_cf(db, wo, cf, a.data, a.size, b.data, b.size);
}

static int do_delete_prefix(strata_db *db, strata_cf *cf, const strata_write_options *wo,
                            st_slice a, st_slice b)
{
    (void)b;
    return strata_delete_prefix_cf(db, wo, cf, a.data, a.size);
}

static int do_merge(strata_db *db, strata_cf *cf, const strata_write_options *wo, st_slice a,
                    st_slice b)
{
    return strata_merge_cf(db, wo, cf, a.data, a.size, b.data, b.size);
}

/* An empty st_buf has no data; the API wants a pointer even for zero bytes. */
static st_slice arg_slice(const st_buf *b)
{
    return st_slice_make(b->data ? b->data : "", b->len);
}

/* Decodes nargs (1 or 2) arguments, opens the DB (creating it when create and --create), writes
 * with fn, closes.  Returns an exit code. */
static int write_args(cli_ctx *c, int nargs, int create, write_fn fn)
{
    st_buf a = ST_BUF_INIT, b = ST_BUF_INIT;
    strata_db *db = NULL;
    strata_write_options *wo = NULL;
    int ex = cli_want_args(c, nargs);
    if (!ex)
        ex = cli_arg_bytes(c, c->args[0], &a);
    if (!ex && nargs > 1)
        ex = cli_arg_bytes(c, c->args[1], &b);
    if (!ex)
        ex = cli_open(c, create && c->create, &db);
    if (ex)
        goto out;
    wo = cli_write_options(c);
    int rc = wo ? fn(db, c->cf, wo, arg_slice(&a), arg_slice(&b)) : STRATA_E_NOMEM;
    if (rc)
        ex = cli_fail(rc, c->cmd);
out:
    strata_write_options_destroy(wo);
    ex = cli_close(db, ex);
    st_buf_free(&a);
    st_buf_free(&b);
    return ex;
}

int cmd_delete_range(cli_ctx *c)
{
    return write_args(c, 2, 0, do_delete_range);
}

int cmd_delete_prefix(cli_ctx *c)
{
    return write_args(c, 1, 0, do_delete_prefix);
}

int cmd_merge(cli_ctx *c)
{
    return write_args(c, 2, 1, do_merge);
}

/* ---- multi-get ------------------------------------------------------------------------------ */

/* Not a status code: marks a status strata_multi_get did not fill. */
#define MGET_UNSET 1

typedef struct mget {
    size_t n;
    st_buf *keys;
    const void **kptr;
    size_t *klen;
    void **vals;
    size_t *vlen;
    int *status;
} mget;

static int mget_alloc(mget *m, size_t n)
{
    memset(m, 0, sizeof(*m));
    m->n = n;
    m->keys = calloc(n, sizeof(*m->keys));
    m->kptr = calloc(n, sizeof(*m->kptr));
    m->klen = calloc(n, sizeof(*m->klen));
    m->vals = calloc(n, sizeof(*m->vals));
    m->vlen = calloc(n, sizeof(*m->vlen));
    m->status = calloc(n, sizeof(*m->status));
    if (!m->keys || !m->kptr || !m->klen || !m->vals || !m->vlen || !m->status)
        return STRATA_E_NOMEM;
    return 0;
}

static void mget_free(mget *m)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->keys)
            st_buf_free(&m->keys[i]);
        if (m->vals)
            strata_free(m->vals[i]);
    }
    free(m->keys);
    free(m->kptr);
    free(m->klen);
    free(m->vals);
    free(m->vlen);
    free(m->status);
}

/* Human form: "key<TAB>value" when found (the TSV of scan and dump), the key alone when absent
 * (an encoded key never holds a TAB, so the two cannot be confused, even with an empty value).
 * JSON: one array element per key, {"key":..,"found":true,"value":..} or "found":false, or
 * "error":"<status name>". */
static void mget_print_one(const cli_ctx *c, const mget *m, size_t i)
{
    st_slice k = st_buf_slice(&m->keys[i]);
    int st = m->status[i];
    if (c->json) {
        printf("%s{", i ? ",\n " : " ");
        cli_json_key("key");
        cli_json_bytes(c->enc, k);
        if (st == STRATA_OK) {
            printf(",\"found\":true,");
            cli_json_key("value");
            cli_json_bytes(c->enc, st_slice_make(m->vals[i], m->vlen[i]));
        } else if (st == STRATA_E_NOTFOUND) {
            printf(",\"found\":false");
        } else {
            printf(",");
            cli_json_key("error");
            cli_json_str(strata_strerror(st), strlen(strata_strerror(st)));
        }
        printf("}");
        return;
    }
    if (st != STRATA_OK && st != STRATA_E_NOTFOUND) {
        return; /* reported on stderr */
    }
    cli_print(stdout, c->enc, k);
    if (st == STRATA_OK) {
        putchar('\t');
        cli_print(stdout, c->enc, st_slice_make(m->vals[i], m->vlen[i]));
    }
    putchar('\n');
}

/* Prints every key and returns the exit code: an error beats an absent key, which beats 0. */
static int mget_print(const cli_ctx *c, const mget *m)
{
    int ex = 0;
    if (c->json)
        printf("[\n");
    for (size_t i = 0; i < m->n; i++) {
        mget_print_one(c, m, i);
        int st = m->status[i];
        if (st == STRATA_E_NOTFOUND && !c->json) {
            fputs("strata: multi-get: key not found: ", stderr);
            cli_print(stderr, c->enc, st_buf_slice(&m->keys[i]));
            fputc('\n', stderr);
        } else if (st != STRATA_OK && st != STRATA_E_NOTFOUND) {
            fputs("strata: multi-get: ", stderr);
            cli_print(stderr, c->enc, st_buf_slice(&m->keys[i]));
            fprintf(stderr, ": %s\n", strata_strerror(st));
        }
        if (st == STRATA_E_NOTFOUND && !ex)
            ex = CLI_EXIT_NOTFOUND;
        else if (st != STRATA_OK && st != STRATA_E_NOTFOUND && ex <= CLI_EXIT_NOTFOUND)
            ex = cli_exit_code(st);
    }
    if (c->json)
        printf("\n]\n");
    return ex;
}

int cmd_multi_get(cli_ctx *c)
{
    mget m;
    strata_db *db = NULL;
    int ex = 0;
    if (c->nargs < 1)
        return cli_usage_error("multi-get: expected at least one KEY");
    if (mget_alloc(&m, (size_t)c->nargs)) {
        ex = cli_fail(STRATA_E_NOMEM, "multi-get");
        goto out;
    }
    for (size_t i = 0; !ex && i < m.n; i++) {
        ex = cli_arg_bytes(c, c->args[i], &m.keys[i]);
        m.kptr[i] = m.keys[i].data ? (const void *)m.keys[i].data : "";
        m.klen[i] = m.keys[i].len;
    }
    if (!ex)
        ex = cli_open(c, 0, &db);
    if (ex)
        goto out;
    for (size_t i = 0; i < m.n; i++) m.status[i] = MGET_UNSET;
    int rc = strata_multi_get_cf(db, NULL, c->cf, m.n, m.kptr, m.klen, m.vals, m.vlen, m.status);
    for (size_t i = 0; i < m.n; i++) {
        if (m.status[i] == MGET_UNSET) /* an error before any key was looked up */
            m.status[i] = rc ? rc : STRATA_E_INVALID;
    }
    ex = mget_print(c, &m);
    if (rc)
        cli_fail(rc, "multi-get"); /* the first error again, now with its detail message */
out:
    ex = cli_close(db, ex);
    mget_free(&m);
    return ex;
}
