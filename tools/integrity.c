/* integrity.c — keys and identity for the CLI's offline inspectors (sst, wal, manifest, verify):
 * the DB directory holding a file is found from the file's path, its IDENTITY and the keys from
 * --options (encryption_key_file=...) are loaded once per directory, and every table or log
 * reader gets them with the file's number, so encrypted and parity-protected files read (and
 * heal) as they do in the engine. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db/db_impl.h"
#include "db/filename.h"

static const cli_ctx *g_ctx;
static char g_dir[4096];
static st_integrity *g_integ;

void cli_integrity_init(const cli_ctx *c)
{
    g_ctx = c;
}

void cli_integrity_done(void)
{
    st_integrity_free(g_integ);
    g_integ = NULL;
    g_dir[0] = '\0';
}

/* The directory part of path (path itself when it is a DB directory). */
static void dir_of(const char *path, int is_dir, char *out, size_t cap)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", path);
    snprintf(out, cap, "%s", is_dir ? tmp : dirname(tmp));
}

st_integrity *cli_integrity(const char *path, int is_dir)
{
    char dir[4096];
    dir_of(path, is_dir, dir, sizeof(dir));
    if (g_integ && strcmp(dir, g_dir) == 0) {
        return g_integ;
    }
    cli_integrity_done();
    int ex = 0;
    strata_options *opt = g_ctx ? cli_make_options(g_ctx, 0, &ex) : NULL;
    st_integrity *in = NULL;
    /* Failure (e.g. an encrypted DB and no key) leaves NULL: an encrypted file then says so. */
    if (st_integrity_load(st_env_posix(), dir, opt, &in) == 0) {
        g_integ = in;
        snprintf(g_dir, sizeof(g_dir), "%s", dir);
    }
    strata_options_destroy(opt);
    return g_integ;
}

uint64_t cli_file_number(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", path);
    int type;
    uint64_t number = 0;
    if (!st_parse_filename(basename(tmp), &type, &number)) {
        number = 0;
    }
    return number;
}
