/* cmd_cf.c — `cf list`, `cf create NAME`, `cf drop NAME`: the column families of a DB
 * (docs/CLI.md "cf").  list reads the MANIFEST through strata_cf_list without opening the DB, so it
 * works while another process has it open; create and drop open the DB (every family), change it
 * durably and close it.  Family names are plain text (never in the key encoding). */
#include <string.h>

#include "cli.h"

static int cf_list(cli_ctx *c)
{
    char **names = NULL;
    size_t n = 0;
    int ex = cli_need_db(c);
    strata_options *opt = ex ? NULL : cli_make_options(c, 0, &ex);
    if (!opt)
        return ex;
    int rc = strata_cf_list(opt, c->db, &names, &n);
    strata_options_destroy(opt);
    if (rc)
        return cli_fail(rc, "cf list");
    if (c->json)
        printf("[");
    for (size_t i = 0; i < n; i++) {
        if (c->json) {
            printf("%s", i ? "," : "");
            cli_json_str(names[i], strlen(names[i]));
        } else {
            printf("%s\n", names[i]);
        }
    }
    if (c->json)
        printf("]\n");
    strata_cf_list_free(names, n);
    return 0;
}

/* create (with --create, also the DB) or drop the family args[1]. */
static int cf_change(cli_ctx *c, int create)
{
    const char *name = c->args[1];
    strata_db *db = NULL;
    strata_cf *cf = NULL;
    int rc, ex = cli_open(c, create && c->create, &db);
    if (ex)
        return ex;
    if (create) {
        rc = strata_cf_create(db, name, NULL, &cf);
    } else {
        cf = strata_cf_handle(db, name);
        rc = cf ? strata_cf_drop(db, cf) : STRATA_E_NOTFOUND;
        if (!cf) {
            fprintf(stderr, "strata: cf drop: no column family \"%s\" in %s\n", name, c->db);
            ex = CLI_EXIT_ERROR;
        }
    }
    if (rc && !ex) {
        char what[512];
        snprintf(what, sizeof(what), "cf %s %.255s", create ? "create" : "drop", name);
        ex = cli_fail(rc, what);
        if (rc == STRATA_E_INVALID)
            ex = CLI_EXIT_USAGE; /* a bad name, or "default" */
    }
    return cli_close(db, ex);
}

int cmd_cf(cli_ctx *c)
{
    const char *verb = c->nargs ? c->args[0] : "";
    if (!strcmp(verb, "list") && c->nargs == 1)
        return cf_list(c);
    if ((!strcmp(verb, "create") || !strcmp(verb, "drop")) && c->nargs == 2)
        return cf_change(c, !strcmp(verb, "create"));
    return cli_usage_error("usage: strata cf list | cf create NAME | cf drop NAME");
}
