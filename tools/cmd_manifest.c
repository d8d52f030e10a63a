/* cmd_manifest.c — `manifest dump [FILE]` and the MANIFEST replay shared with `verify`.
 * The MANIFEST is a record log of version edits (docs/FORMAT.md "MANIFEST"); replaying the
 * edits in order (add file at level, delete file at level, each for the column family the edit
 * names; create and drop a family) yields the live tables of every family.  CURRENT names the
 * live MANIFEST followed by a newline.  With --cf, the levels shown are that family's. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db/version_edit.h"
#include "env/env.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/status.h"
#include "wal/log_reader.h"

#define CURRENT_MAX 4096

void cli_live_free(cli_live *l)
{
    for (int i = 0; i < l->ncf; i++)
        free(l->cfs[i].name);
    free(l->cfs);
    free(l->files);
    free(l->manifest);
    memset(l, 0, sizeof(*l));
}

/* The path of the MANIFEST named by <db>/CURRENT (malloc'd) or NULL with an error set. */
static char *current_manifest(const char *db, int *rc)
{
    char cur[4200], *data = NULL, *path = NULL;
    size_t len = 0;
    snprintf(cur, sizeof(cur), "%s/CURRENT", db);
    *rc = st_env_read_file(st_env_posix(), cur, CURRENT_MAX, &data, &len);
    if (*rc)
        return NULL;
    if (len < 2 || data[len - 1] != '\n' || memchr(data, '/', len) || memchr(data, '\0', len)) {
        *rc = st_err(STRATA_E_CORRUPTION, "%s: malformed CURRENT file", cur);
    } else {
        size_t n = strlen(db) + len + 2;
        path = malloc(n);
        if (path)
            snprintf(path, n, "%s/%.*s", db, (int)(len - 1), data);
        else
            *rc = STRATA_E_NOMEM;
    }
    st_free(data);
    return path;
}

static cli_live_cf *live_cf(cli_live *l, uint32_t id)
{
    for (int i = 0; i < l->ncf; i++) {
        if (l->cfs[i].id == id)
            return &l->cfs[i];
    }
    return NULL;
}

/* A family created by an edit (the default one exists from the start); *rc on failure. */
static cli_live_cf *live_cf_add(cli_live *l, uint32_t id, const char *name, int *rc)
{
    cli_live_cf *nc = realloc(l->cfs, (size_t)(l->ncf + 1) * sizeof(*nc));
    char *copy = strdup(name);
    if (nc)
        l->cfs = nc;
    if (!nc || !copy) {
        free(copy);
        *rc = STRATA_E_NOMEM;
        return NULL;
    }
    l->cfs[l->ncf] = (cli_live_cf){id, copy, 0, 0};
    return &l->cfs[l->ncf++];
}

static int live_add(cli_live *l, uint32_t cf, int level, uint64_t number, uint64_t size)
{
    cli_live_file *nf = realloc(l->files, (size_t)(l->n + 1) * sizeof(*nf));
    if (!nf)
        return STRATA_E_NOMEM;
    l->files = nf;
    l->files[l->n++] = (cli_live_file){cf, level, number, size};
    return 0;
}

/* Dropping a family takes its tables out of the live set (the engine deletes them). */
static void live_drop(cli_live *l, cli_live_cf *f)
{
    f->dropped = 1;
    for (int i = 0; i < l->n;) {
        if (l->files[i].cf == f->id)
            l->files[i] = l->files[--l->n];
        else
            i++;
    }
}

static void live_delete(cli_live *l, int level, uint64_t number)
{
    for (int i = 0; i < l->n; i++) {
        if (l->files[i].level == level && l->files[i].number == number) {
            l->files[i] = l->files[--l->n];
            return;
        }
    }
}

/* As the engine's recovery: an edit of a family that is not open (dropped, or never created)
 * changes nothing. */
static int live_apply(cli_live *l, const st_version_edit *e)
{
    int rc = 0;
    cli_live_cf *f = e->cf_add ? live_cf_add(l, e->cf_id, e->cf_add, &rc) : live_cf(l, e->cf_id);
    if (e->min_log_keep > l->min_log_keep)
        l->min_log_keep = e->min_log_keep;
    if (!f || f->dropped)
        return rc;
    if (e->cf_drop) {
        live_drop(l, f);
        return 0;
    }
    if (e->has_log_number)
        f->log_number = e->log_number;
    for (int i = 0; i < e->n_deleted; i++)
        live_delete(l, e->deleted[i].level, e->deleted[i].number);
    for (int i = 0; !rc && i < e->n_new; i++) {
        const st_edit_file *nf = &e->new_files[i];
        rc = live_add(l, f->id, nf->level, nf->meta->number, nf->meta->file_size);
    }
    return rc;
}

/* The oldest WAL any open family still needs, never below the recorded bound. */
static void live_finish(cli_live *l)
{
    int first = 1;
    for (int i = 0; i < l->ncf; i++) {
        if (!l->cfs[i].dropped && (first || l->cfs[i].log_number < l->log_number)) {
            l->log_number = l->cfs[i].log_number;
            first = 0;
        }
    }
    if (l->min_log_keep > l->log_number)
        l->log_number = l->min_log_keep;
}

static void json_ikey(int enc, const char *k, size_t n)
{
    st_slice ik = st_slice_make(k, n), uk;
    uint64_t seq = 0;
    int type = 0;
    if (st_ikey_parse(ik, &uk, &seq, &type) != 0)
        uk = ik;
    printf("{\"key\":");
    cli_json_bytes(enc, uk);
    printf(",\"seq\":%" PRIu64 "}", seq);
}

static void json_edit(const st_version_edit *e, uint64_t off, int enc, int n)
{
    printf("%s{\"offset\":%" PRIu64 ",\"column_family\":%" PRIu32, n ? ",\n " : " ", off, e->cf_id);
    if (e->cf_add) {
        printf(",\"add_column_family\":");
        cli_json_str(e->cf_add, strlen(e->cf_add));
    }
    if (e->cf_drop)
        printf(",\"drop_column_family\":true");
    if (e->max_cf_id)
        printf(",\"max_column_family\":%" PRIu32, e->max_cf_id);
    if (e->min_log_keep)
        printf(",\"min_log_keep\":%" PRIu64, e->min_log_keep);
    if (e->comparator)
        printf(",\"comparator\":\"%s\"", e->comparator);
    if (e->has_log_number)
        printf(",\"log_number\":%" PRIu64, e->log_number);
    if (e->has_prev_log_number)
        printf(",\"prev_log_number\":%" PRIu64, e->prev_log_number);
    if (e->has_next_file)
        printf(",\"next_file\":%" PRIu64, e->next_file_number);
    if (e->has_last_seq)
        printf(",\"last_seq\":%" PRIu64, e->last_seq);
    printf(",\"deleted\":[");
    for (int i = 0; i < e->n_deleted; i++) {
        printf("%s{\"level\":%d,\"number\":%" PRIu64 "}", i ? "," : "", e->deleted[i].level,
               e->deleted[i].number);
    }
    printf("],\"added\":[");
    for (int i = 0; i < e->n_new; i++) {
        const st_file_meta *m = e->new_files[i].meta;
        printf("%s{\"level\":%d,\"number\":%" PRIu64 ",\"size\":%" PRIu64 ",\"smallest\":",
               i ? "," : "", e->new_files[i].level, m->number, m->file_size);
        json_ikey(enc, m->smallest, m->smallest_len);
        printf(",\"largest\":");
        json_ikey(enc, m->largest, m->largest_len);
        printf("}");
    }
    printf("]}");
}

static int print_edit(const st_version_edit *e, uint64_t off, int print, int enc, int n)
{
    if (print == 2) {
        json_edit(e, off, enc, n);
        return 0;
    }
    st_buf b = ST_BUF_INIT;
    int rc = st_version_edit_debug_string(e, &b);
    if (!rc)
        printf("--- edit %d at offset %" PRIu64 " ---\n%.*s", n, off, (int)b.len, b.data);
    st_buf_free(&b);
    return rc;
}

/* Reads and applies every edit of the MANIFEST at l->manifest. */
static int replay(cli_live *l, int print, int enc)
{
    st_sfile *f = NULL;
    st_log_reader *r = NULL;
    st_slice rec;
    uint64_t off;
    int rc = st_env_new_sequential(st_env_posix(), l->manifest, &f), n = 0;
    if (!rc)
        rc = st_log_reader_create(f, l->manifest, 0, &r);
    if (!rc)
        st_log_reader_set_integrity(r, cli_integrity(l->manifest, 0), cli_file_number(l->manifest),
                                    ST_CRYPT_FILE_MANIFEST);
    while (!rc && (rc = st_log_reader_read(r, &rec, &off)) == 1) {
        st_version_edit e;
        st_version_edit_init(&e);
        rc = st_version_edit_decode(&e, rec);
        if (rc)
            st_err_context(rc, "%s: version edit at offset %" PRIu64, l->manifest, off);
        if (!rc)
            rc = live_apply(l, &e);
        if (!rc && print)
            rc = print_edit(&e, off, print, enc, n++);
        st_version_edit_clear(&e);
    }
    st_log_reader_close(r);
    return rc;
}

int cli_read_manifest(const char *db, const char *path, int print, int enc, cli_live *out)
{
    int rc = 0;
    memset(out, 0, sizeof(*out));
    live_cf_add(out, 0, "default", &rc);
    out->manifest = rc ? NULL : path ? strdup(path) : current_manifest(db, &rc);
    if (!rc && !out->manifest)
        rc = STRATA_E_NOMEM;
    if (!rc)
        rc = replay(out, print, enc);
    if (!rc)
        live_finish(out);
    return rc;
}

static int cmp_live(const void *a, const void *b)
{
    const cli_live_file *x = a, *y = b;
    if (x->cf != y->cf)
        return x->cf < y->cf ? -1 : 1;
    if (x->level != y->level)
        return x->level - y->level;
    return x->number < y->number ? -1 : x->number > y->number;
}

/* The family of --cf in the replayed MANIFEST (NULL: every family). */
static int want_cf(const cli_ctx *c, cli_live *l, const cli_live_cf **only)
{
    *only = NULL;
    if (!c->cf_name)
        return 0;
    for (int i = 0; i < l->ncf; i++) {
        if (!l->cfs[i].dropped && !strcmp(l->cfs[i].name, c->cf_name)) {
            *only = &l->cfs[i];
            return 0;
        }
    }
    fprintf(stderr, "strata: --cf %s: no column family \"%s\" in %s (see strata cf list)\n",
            c->cf_name, c->cf_name, l->manifest);
    return CLI_EXIT_ERROR;
}

static void print_cfs_json(const cli_live *l)
{
    printf(",\"column_families\":[");
    for (int i = 0, n = 0; i < l->ncf; i++) {
        if (l->cfs[i].dropped)
            continue;
        printf("%s{\"id\":%" PRIu32 ",\"name\":", n++ ? "," : "", l->cfs[i].id);
        cli_json_str(l->cfs[i].name, strlen(l->cfs[i].name));
        printf(",\"log_number\":%" PRIu64 "}", l->cfs[i].log_number);
    }
    printf("]");
}

static void print_file(const cli_ctx *c, const cli_live_file *f, int indent, int *n)
{
    if (c->json) {
        printf("%s{\"column_family\":%" PRIu32 ",\"level\":%d,\"number\":%" PRIu64
               ",\"size\":%" PRIu64 "}",
               (*n)++ ? "," : "", f->cf, f->level, f->number, f->size);
    } else {
        printf("%sL%d #%06" PRIu64 " %" PRIu64 " bytes\n", indent ? "  " : "", f->level, f->number,
               f->size);
    }
}

/* The live tables by family (only: just that one); a heading per family in the human form when
 * the DB has more than one or --cf names one. */
static void print_levels(const cli_ctx *c, cli_live *l, const cli_live_cf *only)
{
    int live = 0, n = 0;
    for (int i = 0; i < l->ncf; i++)
        live += !l->cfs[i].dropped;
    int many = only != NULL || live > 1;
    qsort(l->files, (size_t)l->n, sizeof(*l->files), cmp_live);
    if (c->json)
        print_cfs_json(l);
    printf(c->json ? ",\"log_number\":%" PRIu64 ",\"files\":["
                   : "--- resulting levels (log %" PRIu64 ") ---\n",
           l->log_number);
    for (int i = 0; i < l->ncf; i++) {
        const cli_live_cf *f = &l->cfs[i];
        if (f->dropped || (only && f != only))
            continue;
        if (!c->json && many)
            printf("column family %s (id %" PRIu32 ", log %" PRIu64 "):\n", f->name, f->id,
                   f->log_number);
        for (int j = 0; j < l->n; j++) {
            if (l->files[j].cf == f->id)
                print_file(c, &l->files[j], many, &n);
        }
    }
    if (c->json)
        printf("]}\n");
}

int cmd_manifest(cli_ctx *c)
{
    cli_live l;
    const cli_live_cf *only = NULL;
    if (c->nargs < 1 || strcmp(c->args[0], "dump") != 0 || c->nargs > 2) {
        return cli_usage_error("usage: strata manifest dump [FILE]");
    }
    int ex = c->nargs == 2 ? 0 : cli_need_db(c);
    if (ex)
        return ex;
    if (c->json)
        printf("{\"edits\":[\n");
    int rc =
        cli_read_manifest(c->db, c->nargs == 2 ? c->args[1] : NULL, c->json ? 2 : 1, c->enc, &l);
    if (c->json)
        printf("\n]");
    ex = rc ? 0 : want_cf(c, &l, &only);
    if (!rc && !ex)
        print_levels(c, &l, only);
    else if (c->json)
        printf("}\n");
    if (rc)
        ex = cli_fail(rc, l.manifest ? l.manifest : c->db);
    cli_live_free(&l);
    return ex;
}
