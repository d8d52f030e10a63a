/* filename.c — names of the files in a DB directory and the CURRENT update protocol.
 *
 * Numbered files print their number in decimal, zero-padded to at least 6 digits; parsing accepts
 * any number of digits up to UINT64_MAX and nothing else (no sign, no spaces, no trailing bytes).
 * CURRENT holds "MANIFEST-NNNNNN\n" and is only ever replaced by rename, so a crash leaves either
 * the old or the new contents.  Format: docs/FORMAT.md "Files" and "CURRENT". */
#include "db/filename.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/status.h"

static char *format_name(const char *dbname, const char *fmt_prefix, uint64_t number,
                         const char *suffix)
{
    int n = snprintf(NULL, 0, "%s/%s%06" PRIu64 "%s", dbname, fmt_prefix, number, suffix);
    char *p = st_malloc((size_t)n + 1);
    if (p) {
        snprintf(p, (size_t)n + 1, "%s/%s%06" PRIu64 "%s", dbname, fmt_prefix, number, suffix);
    }
    return p;
}

static char *fixed_name(const char *dbname, const char *name)
{
    size_t dl = strlen(dbname), nl = strlen(name);
    char *p = st_malloc(dl + nl + 2);
    if (p) {
        memcpy(p, dbname, dl);
        p[dl] = '/';
        memcpy(p + dl + 1, name, nl + 1);
    }
    return p;
}

char *st_filename(const char *dbname, int type, uint64_t number)
{
    switch (type) {
    case ST_FILE_LOG: return format_name(dbname, "", number, ".log");
    case ST_FILE_TABLE: return format_name(dbname, "", number, ".sst");
    case ST_FILE_MANIFEST: return format_name(dbname, "MANIFEST-", number, "");
    case ST_FILE_TEMP: return format_name(dbname, "", number, ".dbtmp");
    case ST_FILE_OPTIONS: return format_name(dbname, "OPTIONS-", number, "");
    case ST_FILE_CURRENT: return fixed_name(dbname, "CURRENT");
    case ST_FILE_LOCK: return fixed_name(dbname, "LOCK");
    case ST_FILE_IDENTITY: return fixed_name(dbname, "IDENTITY");
    case ST_FILE_INFO_LOG: return fixed_name(dbname, "LOG");
    case ST_FILE_INFO_LOG_OLD: return fixed_name(dbname, "LOG.old");
    default: return NULL;
    }
}

/* Parses the decimal number at the start of s; returns the rest, or NULL if there are no digits or
 * the value overflows 64 bits. */
static const char *parse_number(const char *s, uint64_t *number)
{
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return NULL;
        }
        v = v * 10 + d;
    }
    if (p == s) {
        return NULL;
    }
    *number = v;
    return p;
}

/* name = prefix ‖ digits, nothing after. */
static int parse_prefixed(const char *name, const char *prefix, uint64_t *number)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0) {
        return 0;
    }
    const char *rest = parse_number(name + pl, number);
    return rest && *rest == '\0';
}

static int parse_numbered(const char *name, int *type, uint64_t *number)
{
    static const struct {
        const char *suffix;
        int type;
    } kinds[] = {{".log", ST_FILE_LOG}, {".sst", ST_FILE_TABLE}, {".dbtmp", ST_FILE_TEMP}};
    const char *rest = parse_number(name, number);
    if (!rest) {
        return 0;
    }
    for (size_t i = 0; i < ST_ARRAY_LEN(kinds); i++) {
        if (strcmp(rest, kinds[i].suffix) == 0) {
            *type = kinds[i].type;
            return 1;
        }
    }
    return 0;
}

int st_parse_filename(const char *name, int *type, uint64_t *number)
{
    static const struct {
        const char *name;
        int type;
    } fixed[] = {{"CURRENT", ST_FILE_CURRENT},
                 {"LOCK", ST_FILE_LOCK},
                 {"IDENTITY", ST_FILE_IDENTITY},
                 {"LOG", ST_FILE_INFO_LOG},
                 {"LOG.old", ST_FILE_INFO_LOG_OLD}};
    for (size_t i = 0; i < ST_ARRAY_LEN(fixed); i++) {
        if (strcmp(name, fixed[i].name) == 0) {
            *type = fixed[i].type;
            *number = 0;
            return 1;
        }
    }
    if (parse_prefixed(name, "MANIFEST-", number)) {
        *type = ST_FILE_MANIFEST;
        return 1;
    }
    if (parse_prefixed(name, "OPTIONS-", number)) {
        *type = ST_FILE_OPTIONS;
        return 1;
    }
    return parse_numbered(name, type, number);
}

int st_set_current_file(st_env *env, const char *dbname, uint64_t manifest_number)
{
    char contents[64];
    int len = snprintf(contents, sizeof(contents), "MANIFEST-%06" PRIu64 "\n", manifest_number);
    char *tmp = st_filename(dbname, ST_FILE_TEMP, manifest_number);
    char *cur = st_filename(dbname, ST_FILE_CURRENT, 0);
    int rc = STRATA_E_NOMEM;
    if (!tmp || !cur) {
        st_err(rc, "setting CURRENT in %s: out of memory", dbname);
        goto out;
    }
    rc = st_env_write_file(env, tmp, st_slice_make(contents, (size_t)len), 1);
    if (!rc) {
        rc = st_env_rename_file(env, tmp, cur);
    }
    if (rc) {
        char saved[ST_ERRMSG_MAX];
        snprintf(saved, sizeof(saved), "%s", st_errmsg());
        st_env_remove_file(env, tmp); /* best effort; the error above is what matters */
        st_err_set(rc, saved);
        goto out;
    }
    rc = st_env_sync_dir(env, dbname);
out:
    st_free(tmp);
    st_free(cur);
    return rc;
}
