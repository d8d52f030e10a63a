/* cmd_stats.c — `stats` (level statistics and integer properties of an open DB) and
 * `approx-size FROM TO` (strata_approximate_sizes), of the column family of --cf. */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

static const char *const int_props[] = {"strata.total-sst-size",
                                        "strata.estimate-num-keys",
                                        "strata.last-sequence",
                                        "strata.approximate-memory-usage",
                                        "strata.cur-size-active-mem-table",
                                        "strata.num-immutable-mem-table",
                                        "strata.pending-compaction-bytes",
                                        "strata.num-running-compactions",
                                        "strata.block-cache-usage",
                                        "strata.background-errors",
                                        "strata.bytes-written",
                                        "strata.compaction-bytes-written",
                                        "strata.flush-bytes-written",
                                        "strata.stall-micros"};
#define N_INT_PROPS (sizeof(int_props) / sizeof(int_props[0]))

static void print_int_props(const cli_ctx *c, strata_db *db)
{
    int n = 0;
    printf(c->json ? "\"properties\":{" : "properties:\n");
    for (size_t i = 0; i < N_INT_PROPS; i++) {
        uint64_t v;
        if (strata_property_int_cf(db, c->cf, int_props[i], &v) != 0)
            continue;
        if (c->json)
            printf("%s\"%s\":%" PRIu64, n++ ? "," : "", int_props[i] + 7, v);
        else
            printf("  %-28s %" PRIu64 "\n", int_props[i] + 7, v);
    }
    printf(c->json ? "},\"files_at_level\":[" : "files at level:");
    for (int l = 0; l < 64; l++) {
        char name[64];
        uint64_t v;
        snprintf(name, sizeof(name), "strata.num-files-at-level%d", l);
        if (strata_property_int_cf(db, c->cf, name, &v) != 0)
            break;
        printf(c->json ? "%s%" PRIu64 : "%s%" PRIu64,
               l ? (c->json ? "," : " ") : (c->json ? "" : " "), v);
    }
    printf(c->json ? "]" : "\n");
}

int cmd_stats(cli_ctx *c)
{
    strata_db *db = NULL;
    char *stats = NULL;
    int ex = c->nargs ? cli_usage_error("stats takes no arguments") : cli_open(c, 0, &db);
    if (ex)
        return ex;
    int rc = strata_property_cf(db, c->cf, "strata.stats", &stats);
    if (rc) {
        ex = cli_fail(rc, "stats");
    } else if (c->json) {
        printf("{");
        print_int_props(c, db);
        printf(",\"stats\":");
        cli_json_str(stats, strlen(stats));
        printf("}\n");
    } else {
        printf("%s\n", stats);
        print_int_props(c, db);
    }
    strata_free(stats);
    rc = strata_close(db);
    return rc && !ex ? cli_fail(rc, "close") : ex;
}

int cmd_approx_size(cli_ctx *c)
{
    st_buf from = ST_BUF_INIT, to = ST_BUF_INIT;
    strata_db *db = NULL;
    uint64_t size = 0;
    int ex = c->nargs != 2 ? cli_usage_error("usage: strata approx-size FROM TO") : 0;
    if (!ex)
        ex = cli_arg_bytes(c, c->args[0], &from);
    if (!ex)
        ex = cli_arg_bytes(c, c->args[1], &to);
    if (!ex)
        ex = cli_open(c, 0, &db);
    if (ex)
        goto out;
    const char *s = from.data ? from.data : "", *l = to.data ? to.data : "";
    int rc = strata_approximate_sizes_cf(db, c->cf, 1, &s, &from.len, &l, &to.len, &size);
    if (rc) {
        ex = cli_fail(rc, "approx-size");
    } else if (c->json) {
        printf("{\"from\":");
        cli_json_bytes(c->enc, st_buf_slice(&from));
        printf(",\"to\":");
        cli_json_bytes(c->enc, st_buf_slice(&to));
        printf(",\"bytes\":%" PRIu64 "}\n", size);
    } else {
        printf("%" PRIu64 "\n", size);
    }
    rc = strata_close(db);
    if (rc && !ex)
        ex = cli_fail(rc, "close");
out:
    st_buf_free(&from);
    st_buf_free(&to);
    return ex;
}
