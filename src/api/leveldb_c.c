/*
 * leveldb_c.c — LevelDB 1.23's C API (include/leveldb/c.h) on strata's native API (strata.h).
 *
 * Built as its own library, libstrata_leveldb, linked against libstrata; it uses nothing but
 * strata.h, so it is also a worked example of the public API.  docs/API.md ("LevelDB
 * compatibility") lists what maps to what.
 *
 * Invariants:
 *  - Every pointer handed to the caller (values, property strings, error messages, test
 *    directories) comes from plain malloc(): LevelDB programs release them with free() as often as
 *    with leveldb_free(), so strata's own allocator (and strata_free) must not be involved.  This
 *    is the one library file that calls malloc directly; its own handles use it too, for symmetry.
 *  - Errors: a strata code becomes the LevelDB status class ("NotFound", "Corruption", "Not
 *    implemented", "Invalid argument", "IO error") followed by strata's thread-local detail
 *    message, which is read immediately after the failing call (any later strata call may reset
 *    it).  A new message is allocated before the previous *errptr is freed, so a failure to
 *    allocate still leaves an error in place.
 *  - Handles without state of their own are strata's handles, converted by the cast helpers
 *    below: comparators, caches, envs, snapshots, read options and write options.  The DB,
 *    options, filter policies, iterators and batches are wrappers.
 *  - leveldb_options_t holds LevelDB's option values; they are turned into a strata_options (with
 *    LevelDB's clamping) only when a DB is opened, destroyed or repaired.
 */
#define STRATA_LEVELDB_BUILDING 1

#include "leveldb/c.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strata.h"

/* LevelDB's number of levels: leveldb.num-files-at-level<N> is defined for N below it. */
#define LDB_NUM_LEVELS 7

struct leveldb_t {
    strata_db *db;
};

/* LevelDB's option values; unset ones hold LevelDB's defaults. */
struct leveldb_options_t {
    leveldb_comparator_t *comparator;    /* NULL: bytewise */
    leveldb_filterpolicy_t *filter;      /* NULL: no filter (as in LevelDB) */
    leveldb_env_t *env;                  /* NULL: POSIX */
    leveldb_cache_t *cache;              /* NULL: a private cache of LDB_DEFAULT_CACHE bytes */
    uint8_t create_if_missing;
    uint8_t error_if_exists;
    uint8_t paranoid_checks;
    size_t write_buffer_size;
    int max_open_files;
    size_t block_size;
    int block_restart_interval;
    size_t max_file_size;
    int compression;
};

/* A user or bloom filter policy.  For a user policy, strata calls the adapters below with this
 * wrapper as state; they call the user's callbacks with the user's state. */
struct leveldb_filterpolicy_t {
    strata_filter_policy *policy;
    void *state;
    void (*destructor)(void *);
    char *(*create_filter)(void *, const char *const *, const size_t *, int, size_t *);
    uint8_t (*key_may_match)(void *, const char *, size_t, const char *, size_t);
    const char *(*name)(void *);
};

/* it is NULL when strata_iter_create failed; msg then holds the error that get_error reports. */
struct leveldb_iterator_t {
    strata_iter *it;
    char *msg;
};

/* msg (malloc'd) is the first error a put/delete/append hit; leveldb_write reports it. */
struct leveldb_writebatch_t {
    strata_batch *batch;
    char *msg;
};

#define LDB_DEFAULT_WRITE_BUFFER ((size_t)4 << 20)
#define LDB_DEFAULT_CACHE ((size_t)8 << 20)
#define LDB_DEFAULT_BLOCK_SIZE ((size_t)4 << 10)
#define LDB_DEFAULT_FILE_SIZE ((size_t)2 << 20)

static const char ldb_oom[] = "IO error: out of memory";

/* ---- Handle conversions ----------------------------------------------------------------------- */

static strata_read_options *sro(const leveldb_readoptions_t *ro)
{
    return (strata_read_options *)ro;
}

static strata_write_options *swo(const leveldb_writeoptions_t *wo)
{
    return (strata_write_options *)wo;
}

static const strata_snapshot *ssnap(const leveldb_snapshot_t *snap)
{
    return (const strata_snapshot *)snap;
}

/* strata rejects NULL with a zero length in some places; LevelDB programs pass it. */
static const char *bytes(const char *p)
{
    return p != NULL ? p : "";
}

/* ---- Errors ----------------------------------------------------------------------------------- */

/* LevelDB's status class for a strata code. */
static const char *status_class(int code)
{
    switch (code) {
    case STRATA_E_NOTFOUND:
        return "NotFound";
    case STRATA_E_CORRUPTION:
        return "Corruption";
    case STRATA_E_INVALID:
    case STRATA_E_EXISTS:
        return "Invalid argument";
    case STRATA_E_NOTSUP:
        return "Not implemented";
    default:
        return "IO error";
    }
}

/* A malloc'd "<prefix>: <detail>" (or just "<prefix>" when detail is empty); NULL when out of
 * memory. */
static char *join_message(const char *prefix, const char *detail)
{
    int has_detail = detail != NULL && detail[0] != '\0';
    size_t n = strlen(prefix) + (has_detail ? 2 + strlen(detail) : 0) + 1;
    char *msg = malloc(n);

    if (msg != NULL)
        snprintf(msg, n, "%s%s%s", prefix, has_detail ? ": " : "", has_detail ? detail : "");
    return msg;
}

/* The LevelDB-style message for code, with strata's detail for the calling thread. */
static char *error_message(int code)
{
    const char *detail = strata_errmsg();

    if (detail == NULL || detail[0] == '\0')
        detail = strata_strerror(code);
    return join_message(status_class(code), detail);
}

/* Stores msg (malloc'd, owned by *errptr from now on) after freeing the previous message.  With
 * msg NULL (out of memory) a fresh copy of a static message is tried; failing that, the previous
 * message stays, so the caller still sees an error if there was one. */
static void store_error(char **errptr, char *msg)
{
    if (msg == NULL)
        msg = strdup(ldb_oom);
    if (errptr == NULL) {
        free(msg);
        return;
    }
    if (msg == NULL)
        return;
    free(*errptr);
    *errptr = msg;
}

/* Reports a failed strata call.  Call it before any other strata call. */
static void set_error(char **errptr, int code)
{
    store_error(errptr, error_message(code));
}

/* ---- Options ---------------------------------------------------------------------------------- */

static size_t clamp_size(size_t v, size_t lo, size_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static int clamp_int(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Compression: 1 is snappy, anything else none; without snappy in strata, LevelDB's fallback
 * (store blocks uncompressed) applies. */
static int apply_compression(strata_options *opt, int type)
{
    if (type == leveldb_snappy_compression &&
        strata_options_set_compression(opt, STRATA_COMPRESSION_SNAPPY) == STRATA_OK)
        return STRATA_OK;
    return strata_options_set_compression(opt, STRATA_COMPRESSION_NONE);
}

/* Sizes, clamped to the ranges LevelDB's SanitizeOptions enforces. */
static int apply_sizes(strata_options *opt, const leveldb_options_t *o)
{
    int rc = strata_options_set_write_buffer_size(
        opt, clamp_size(o->write_buffer_size, (size_t)64 << 10, (size_t)1 << 30));
    if (rc == STRATA_OK)
        rc = strata_options_set_max_open_files(opt, clamp_int(o->max_open_files, 74, 50000));
    if (rc == STRATA_OK)
        rc = strata_options_set_block_size(
            opt, clamp_size(o->block_size, (size_t)1 << 10, (size_t)4 << 20));
    if (rc == STRATA_OK)
        rc = strata_options_set_block_restart_interval(
            opt, clamp_int(o->block_restart_interval, 1, 1024));
    if (rc == STRATA_OK)
        rc = strata_options_set_target_file_size(
            opt, clamp_size(o->max_file_size, (size_t)1 << 20, (size_t)1 << 30));
    return rc;
}

/* Flags and borrowed objects.  Without paranoid_checks LevelDB drops corrupt log records during
 * recovery instead of failing the open; strata's skip_corrupt_wal_records does the same. */
static int apply_flags(strata_options *opt, const leveldb_options_t *o)
{
    int rc = strata_options_set_create_if_missing(opt, o->create_if_missing != 0);
    if (rc == STRATA_OK)
        rc = strata_options_set_error_if_exists(opt, o->error_if_exists != 0);
    if (rc == STRATA_OK)
        rc = strata_options_set_paranoid_checks(opt, o->paranoid_checks != 0);
    if (rc == STRATA_OK)
        rc = strata_options_set_skip_corrupt_wal_records(opt, o->paranoid_checks == 0);
    if (rc == STRATA_OK && o->comparator != NULL)
        rc = strata_options_set_comparator(opt, (const strata_comparator *)o->comparator);
    if (rc == STRATA_OK)
        rc = strata_options_set_filter_policy(opt, o->filter != NULL ? o->filter->policy : NULL);
    if (rc == STRATA_OK && o->env != NULL)
        rc = strata_options_set_env(opt, (strata_env *)o->env);
    if (rc == STRATA_OK && o->cache != NULL)
        rc = strata_options_set_block_cache(opt, (strata_cache *)o->cache);
    if (rc == STRATA_OK && o->cache == NULL)
        rc = strata_options_set_block_cache_size(opt, LDB_DEFAULT_CACHE);
    return rc;
}

/* Builds the strata options for o (NULL: strata defaults).  NULL with *errptr set on failure. */
static strata_options *to_strata(const leveldb_options_t *o, char **errptr)
{
    strata_options *opt = strata_options_create();
    int rc;

    if (opt == NULL) {
        store_error(errptr, NULL);
        return NULL;
    }
    if (o == NULL)
        return opt;
    rc = apply_flags(opt, o);
    if (rc == STRATA_OK)
        rc = apply_sizes(opt, o);
    if (rc == STRATA_OK)
        rc = apply_compression(opt, o->compression);
    if (rc != STRATA_OK) {
        set_error(errptr, rc);
        strata_options_destroy(opt);
        return NULL;
    }
    return opt;
}

LEVELDB_EXPORT leveldb_options_t *leveldb_options_create(void)
{
    leveldb_options_t *o = calloc(1, sizeof(*o));

    if (o == NULL)
        return NULL;
    o->write_buffer_size = LDB_DEFAULT_WRITE_BUFFER;
    o->max_open_files = 1000;
    o->block_size = LDB_DEFAULT_BLOCK_SIZE;
    o->block_restart_interval = 16;
    o->max_file_size = LDB_DEFAULT_FILE_SIZE;
    o->compression = leveldb_snappy_compression;
    return o;
}

LEVELDB_EXPORT void leveldb_options_destroy(leveldb_options_t *o)
{
    free(o);
}

LEVELDB_EXPORT void leveldb_options_set_comparator(leveldb_options_t *o, leveldb_comparator_t *c)
{
    o->comparator = c;
}

LEVELDB_EXPORT void leveldb_options_set_filter_policy(leveldb_options_t *o,
                                                      leveldb_filterpolicy_t *policy)
{
    o->filter = policy;
}

LEVELDB_EXPORT void leveldb_options_set_create_if_missing(leveldb_options_t *o, uint8_t v)
{
    o->create_if_missing = v;
}

LEVELDB_EXPORT void leveldb_options_set_error_if_exists(leveldb_options_t *o, uint8_t v)
{
    o->error_if_exists = v;
}

LEVELDB_EXPORT void leveldb_options_set_paranoid_checks(leveldb_options_t *o, uint8_t v)
{
    o->paranoid_checks = v;
}

LEVELDB_EXPORT void leveldb_options_set_env(leveldb_options_t *o, leveldb_env_t *env)
{
    o->env = env;
}

/* No C function creates a logger, so the only value a program can pass is NULL, which in LevelDB
 * means "write <db>/LOG" — what strata does by default. */
LEVELDB_EXPORT void leveldb_options_set_info_log(leveldb_options_t *o, leveldb_logger_t *log)
{
    (void)o;
    (void)log;
}

LEVELDB_EXPORT void leveldb_options_set_write_buffer_size(leveldb_options_t *o, size_t n)
{
    o->write_buffer_size = n;
}

LEVELDB_EXPORT void leveldb_options_set_max_open_files(leveldb_options_t *o, int n)
{
    o->max_open_files = n;
}

LEVELDB_EXPORT void leveldb_options_set_cache(leveldb_options_t *o, leveldb_cache_t *c)
{
    o->cache = c;
}

LEVELDB_EXPORT void leveldb_options_set_block_size(leveldb_options_t *o, size_t n)
{
    o->block_size = n;
}

LEVELDB_EXPORT void leveldb_options_set_block_restart_interval(leveldb_options_t *o, int n)
{
    o->block_restart_interval = n;
}

LEVELDB_EXPORT void leveldb_options_set_max_file_size(leveldb_options_t *o, size_t n)
{
    o->max_file_size = n;
}

LEVELDB_EXPORT void leveldb_options_set_compression(leveldb_options_t *o, int type)
{
    o->compression = type;
}

/* ---- Opening and closing ---------------------------------------------------------------------- */

/* LevelDB reports a missing DB and error_if_exists as invalid arguments, with these texts. */
static void open_error(char **errptr, int code, const char *name, const leveldb_options_t *o)
{
    const char *what = NULL;

    if (code == STRATA_E_NOTFOUND && (o == NULL || !o->create_if_missing))
        what = "does not exist (create_if_missing is false)";
    else if (code == STRATA_E_EXISTS)
        what = "exists (error_if_exists is true)";
    if (what == NULL) {
        set_error(errptr, code);
        return;
    }
    char *detail = join_message(bytes(name), what);
    store_error(errptr, detail != NULL ? join_message("Invalid argument", detail) : NULL);
    free(detail);
}

LEVELDB_EXPORT leveldb_t *leveldb_open(const leveldb_options_t *options, const char *name,
                                       char **errptr)
{
    strata_options *opt = to_strata(options, errptr);
    leveldb_t *db = NULL;
    int rc;

    if (opt == NULL)
        return NULL;
    db = calloc(1, sizeof(*db));
    if (db == NULL) {
        store_error(errptr, NULL);
        goto out;
    }
    rc = strata_open(opt, name, &db->db);
    if (rc != STRATA_OK) {
        open_error(errptr, rc, name, options);
        free(db);
        db = NULL;
    }
out:
    strata_options_destroy(opt);
    return db;
}

/* LevelDB's close returns nothing; a sticky background error is dropped like LevelDB drops it. */
LEVELDB_EXPORT void leveldb_close(leveldb_t *db)
{
    if (db == NULL)
        return;
    (void)strata_close(db->db);
    free(db);
}

LEVELDB_EXPORT void leveldb_destroy_db(const leveldb_options_t *options, const char *name,
                                       char **errptr)
{
    strata_options *opt = to_strata(options, errptr);
    int rc;

    if (opt == NULL)
        return;
    rc = strata_destroy(opt, name);
    if (rc != STRATA_OK)
        set_error(errptr, rc);
    strata_options_destroy(opt);
}

/* 1 if directory name holds files of a DB (tables, logs, a MANIFEST): files that creating a new DB
 * there would orphan.  A missing or unreadable directory holds none. */
static int has_db_files(const char *name)
{
    DIR *dir = opendir(name);
    struct dirent *e;
    int found = 0;

    if (dir == NULL)
        return 0;
    while (!found && (e = readdir(dir)) != NULL) {
        size_t n = strlen(e->d_name);
        found = strncmp(e->d_name, "MANIFEST-", 9) == 0 ||
                (n > 4 && (strcmp(e->d_name + n - 4, ".sst") == 0 ||
                           strcmp(e->d_name + n - 4, ".ldb") == 0 ||
                           strcmp(e->d_name + n - 4, ".log") == 0));
    }
    closedir(dir);
    return found;
}

/* Opens the DB at name with opt and closes it again. */
static int open_close(strata_options *opt, const char *name)
{
    strata_db *db = NULL;
    int rc = strata_open(opt, name, &db);

    return rc == STRATA_OK ? strata_close(db) : rc;
}

/* strata.h has no repair yet.  This opens the DB the most forgiving way (corrupt log records
 * skipped) and closes it, so a DB that opens is reported repaired and one that does not reports
 * why.  Like LevelDB's repair, a missing or empty directory becomes an empty DB; a directory with
 * DB files but no valid CURRENT is reported and left alone (LevelDB would rebuild it from them). */
LEVELDB_EXPORT void leveldb_repair_db(const leveldb_options_t *options, const char *name,
                                      char **errptr)
{
    strata_options *opt = to_strata(options, errptr);
    int rc;

    if (opt == NULL)
        return;
    if (name != NULL && !has_db_files(name)) {
        /* Like LevelDB, repairing a missing or empty directory leaves an empty DB. */
        rc = strata_options_set_create_if_missing(opt, 1);
        if (rc == STRATA_OK)
            rc = open_close(opt, name);
    } else {
        rc = strata_repair(opt, name);
    }
    if (rc != STRATA_OK)
        set_error(errptr, rc);
    strata_options_destroy(opt);
}

/* ---- Writes and point reads ------------------------------------------------------------------- */

LEVELDB_EXPORT void leveldb_put(leveldb_t *db, const leveldb_writeoptions_t *options,
                                const char *key, size_t keylen, const char *val, size_t vallen,
                                char **errptr)
{
    int rc = strata_put(db->db, swo(options), bytes(key), keylen, bytes(val), vallen);

    if (rc != STRATA_OK)
        set_error(errptr, rc);
}

LEVELDB_EXPORT void leveldb_delete(leveldb_t *db, const leveldb_writeoptions_t *options,
                                   const char *key, size_t keylen, char **errptr)
{
    int rc = strata_delete(db->db, swo(options), bytes(key), keylen);

    if (rc != STRATA_OK)
        set_error(errptr, rc);
}

LEVELDB_EXPORT void leveldb_write(leveldb_t *db, const leveldb_writeoptions_t *options,
                                  leveldb_writebatch_t *batch, char **errptr)
{
    int rc;

    if (batch->msg != NULL) {
        store_error(errptr, strdup(batch->msg));
        return;
    }
    rc = strata_write(db->db, swo(options), batch->batch);
    if (rc != STRATA_OK)
        set_error(errptr, rc);
}

/* The value is copied once, from where it lives (pinned) into the malloc'd result. */
LEVELDB_EXPORT char *leveldb_get(leveldb_t *db, const leveldb_readoptions_t *options,
                                 const char *key, size_t keylen, size_t *vallen, char **errptr)
{
    strata_pinned *pin = NULL;
    const void *val;
    size_t n = 0;
    char *out;
    int rc = strata_get_pinned(db->db, sro(options), bytes(key), keylen, &pin);

    *vallen = 0;
    if (rc != STRATA_OK) {
        if (rc != STRATA_E_NOTFOUND)
            set_error(errptr, rc);
        return NULL;
    }
    val = strata_pinned_value(pin, &n);
    out = malloc(n > 0 ? n : 1); /* never NULL for a present empty value */
    if (out == NULL) {
        store_error(errptr, NULL);
    } else {
        if (n > 0)
            memcpy(out, val, n);
        *vallen = n;
    }
    strata_pinned_release(pin);
    return out;
}

/* ---- Snapshots, properties, maintenance ------------------------------------------------------- */

LEVELDB_EXPORT const leveldb_snapshot_t *leveldb_create_snapshot(leveldb_t *db)
{
    return (const leveldb_snapshot_t *)strata_snapshot_create(db->db);
}

LEVELDB_EXPORT void leveldb_release_snapshot(leveldb_t *db, const leveldb_snapshot_t *snapshot)
{
    strata_snapshot_release(db->db, ssnap(snapshot));
}

/* Maps a LevelDB property name to strata's (into out), following LevelDB's parsing: exactly the
 * names LevelDB 1.23 knows, with N decimal and below 7.  Returns 0 for any other name. */
static int map_property(const char *name, char *out, size_t cap)
{
    static const char *const plain[] = {"stats", "sstables", "approximate-memory-usage"};
    static const char level_prefix[] = "num-files-at-level";
    const char *rest;

    if (name == NULL || strncmp(name, "leveldb.", 8) != 0)
        return 0;
    rest = name + 8;
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        if (strcmp(rest, plain[i]) == 0)
            return snprintf(out, cap, "strata.%s", rest) < (int)cap;
    }
    if (strncmp(rest, level_prefix, sizeof(level_prefix) - 1) != 0)
        return 0;
    rest += sizeof(level_prefix) - 1;
    if (rest[0] < '0' || rest[0] > '9')
        return 0;
    unsigned level = 0;
    for (; *rest >= '0' && *rest <= '9'; rest++) {
        level = level * 10 + (unsigned)(*rest - '0');
        if (level >= LDB_NUM_LEVELS)
            return 0;
    }
    if (*rest != '\0')
        return 0;
    return snprintf(out, cap, "strata.%s%u", level_prefix, level) < (int)cap;
}

LEVELDB_EXPORT char *leveldb_property_value(leveldb_t *db, const char *propname)
{
    char name[64];
    char *val = NULL;
    char *out;

    if (!map_property(propname, name, sizeof(name)))
        return NULL;
    if (strata_property(db->db, name, &val) != STRATA_OK)
        return NULL;
    out = strdup(val);
    strata_free(val);
    return out;
}

/* LevelDB has no error path here; a failure reports every range as empty. */
LEVELDB_EXPORT void leveldb_approximate_sizes(leveldb_t *db, int num_ranges,
                                              const char *const *range_start_key,
                                              const size_t *range_start_key_len,
                                              const char *const *range_limit_key,
                                              const size_t *range_limit_key_len,
                                              uint64_t *sizes)
{
    if (num_ranges <= 0)
        return;
    if (strata_approximate_sizes(db->db, num_ranges, range_start_key, range_start_key_len,
                                 range_limit_key, range_limit_key_len, sizes) != STRATA_OK)
        memset(sizes, 0, (size_t)num_ranges * sizeof(*sizes));
}

/* LevelDB's CompactRange includes the memtable, so it is flushed first. */
LEVELDB_EXPORT void leveldb_compact_range(leveldb_t *db, const char *start_key,
                                          size_t start_key_len, const char *limit_key,
                                          size_t limit_key_len)
{
    (void)strata_flush(db->db, 1);
    (void)strata_compact_range(db->db, start_key, start_key != NULL ? start_key_len : 0,
                               limit_key, limit_key != NULL ? limit_key_len : 0);
}

/* ---- Iterators -------------------------------------------------------------------------------- */

/* LevelDB cannot fail here, so a failed creation yields an iterator that is never valid and whose
 * leveldb_iter_get_error reports the failure. */
LEVELDB_EXPORT leveldb_iterator_t *leveldb_create_iterator(leveldb_t *db,
                                                           const leveldb_readoptions_t *options)
{
    leveldb_iterator_t *it = calloc(1, sizeof(*it));
    int rc;

    if (it == NULL)
        return NULL;
    rc = strata_iter_create(db->db, sro(options), &it->it);
    if (rc != STRATA_OK) {
        it->it = NULL;
        it->msg = error_message(rc);
        if (it->msg == NULL)
            it->msg = strdup(ldb_oom);
    }
    return it;
}

LEVELDB_EXPORT void leveldb_iter_destroy(leveldb_iterator_t *it)
{
    if (it == NULL)
        return;
    strata_iter_destroy(it->it);
    free(it->msg);
    free(it);
}

LEVELDB_EXPORT uint8_t leveldb_iter_valid(const leveldb_iterator_t *it)
{
    return it->it != NULL && strata_iter_valid(it->it);
}

LEVELDB_EXPORT void leveldb_iter_seek_to_first(leveldb_iterator_t *it)
{
    if (it->it != NULL)
        strata_iter_seek_to_first(it->it);
}

LEVELDB_EXPORT void leveldb_iter_seek_to_last(leveldb_iterator_t *it)
{
    if (it->it != NULL)
        strata_iter_seek_to_last(it->it);
}

LEVELDB_EXPORT void leveldb_iter_seek(leveldb_iterator_t *it, const char *k, size_t klen)
{
    if (it->it != NULL)
        strata_iter_seek(it->it, bytes(k), klen);
}

LEVELDB_EXPORT void leveldb_iter_next(leveldb_iterator_t *it)
{
    if (it->it != NULL)
        strata_iter_next(it->it);
}

LEVELDB_EXPORT void leveldb_iter_prev(leveldb_iterator_t *it)
{
    if (it->it != NULL)
        strata_iter_prev(it->it);
}

LEVELDB_EXPORT const char *leveldb_iter_key(const leveldb_iterator_t *it, size_t *klen)
{
    *klen = 0;
    return it->it != NULL ? strata_iter_key(it->it, klen) : NULL;
}

LEVELDB_EXPORT const char *leveldb_iter_value(const leveldb_iterator_t *it, size_t *vlen)
{
    *vlen = 0;
    return it->it != NULL ? strata_iter_value(it->it, vlen) : NULL;
}

LEVELDB_EXPORT void leveldb_iter_get_error(const leveldb_iterator_t *it, char **errptr)
{
    int rc;

    if (it->it == NULL) {
        store_error(errptr, it->msg != NULL ? strdup(it->msg) : NULL);
        return;
    }
    rc = strata_iter_status(it->it);
    if (rc != STRATA_OK)
        set_error(errptr, rc);
}

/* ---- Write batches ---------------------------------------------------------------------------- */

LEVELDB_EXPORT leveldb_writebatch_t *leveldb_writebatch_create(void)
{
    leveldb_writebatch_t *b = calloc(1, sizeof(*b));

    if (b == NULL)
        return NULL;
    b->batch = strata_batch_create();
    if (b->batch == NULL) {
        free(b);
        return NULL;
    }
    return b;
}

LEVELDB_EXPORT void leveldb_writebatch_destroy(leveldb_writebatch_t *b)
{
    if (b == NULL)
        return;
    strata_batch_destroy(b->batch);
    free(b->msg);
    free(b);
}

LEVELDB_EXPORT void leveldb_writebatch_clear(leveldb_writebatch_t *b)
{
    strata_batch_clear(b->batch);
    free(b->msg);
    b->msg = NULL;
}

/* Keeps the first failure of a batch operation for leveldb_write to report. */
static void batch_note(leveldb_writebatch_t *b, int rc)
{
    if (rc == STRATA_OK || b->msg != NULL)
        return;
    b->msg = error_message(rc);
    if (b->msg == NULL)
        b->msg = strdup(ldb_oom);
}

LEVELDB_EXPORT void leveldb_writebatch_put(leveldb_writebatch_t *b, const char *key, size_t klen,
                                           const char *val, size_t vlen)
{
    batch_note(b, strata_batch_put(b->batch, bytes(key), klen, bytes(val), vlen));
}

LEVELDB_EXPORT void leveldb_writebatch_delete(leveldb_writebatch_t *b, const char *key,
                                              size_t klen)
{
    batch_note(b, strata_batch_delete(b->batch, bytes(key), klen));
}

LEVELDB_EXPORT void leveldb_writebatch_iterate(const leveldb_writebatch_t *b, void *state,
                                               void (*put)(void *, const char *k, size_t klen,
                                                           const char *v, size_t vlen),
                                               void (*deleted)(void *, const char *k,
                                                               size_t klen))
{
    (void)strata_batch_iterate(b->batch, state, put, deleted);
}

LEVELDB_EXPORT void leveldb_writebatch_append(leveldb_writebatch_t *destination,
                                              const leveldb_writebatch_t *source)
{
    if (source->msg != NULL && destination->msg == NULL) {
        destination->msg = strdup(source->msg);
        if (destination->msg == NULL)
            destination->msg = strdup(ldb_oom);
    }
    batch_note(destination, strata_batch_append(destination->batch, source->batch));
}

/* ---- Comparators ------------------------------------------------------------------------------ */

/* LevelDB's callback types are strata's, so the comparator is strata's own object. */
LEVELDB_EXPORT leveldb_comparator_t *leveldb_comparator_create(
    void *state, void (*destructor)(void *),
    int (*compare)(void *, const char *a, size_t alen, const char *b, size_t blen),
    const char *(*name)(void *))
{
    return (leveldb_comparator_t *)strata_comparator_create(state, destructor, compare, name);
}

LEVELDB_EXPORT void leveldb_comparator_destroy(leveldb_comparator_t *cmp)
{
    strata_comparator_destroy((strata_comparator *)cmp);
}

/* ---- Filter policies -------------------------------------------------------------------------- */

static void policy_destructor(void *state)
{
    leveldb_filterpolicy_t *fp = state;

    if (fp->destructor != NULL)
        fp->destructor(fp->state);
}

static char *policy_create_filter(void *state, const char *const *keys, const size_t *key_lens,
                                  int n, size_t *filter_len)
{
    leveldb_filterpolicy_t *fp = state;

    return fp->create_filter(fp->state, keys, key_lens, n, filter_len);
}

static int policy_key_may_match(void *state, const char *key, size_t klen, const char *filter,
                                size_t flen)
{
    leveldb_filterpolicy_t *fp = state;

    return fp->key_may_match(fp->state, key, klen, filter, flen) != 0;
}

static const char *policy_name(void *state)
{
    leveldb_filterpolicy_t *fp = state;

    return fp->name(fp->state);
}

LEVELDB_EXPORT leveldb_filterpolicy_t *leveldb_filterpolicy_create(
    void *state, void (*destructor)(void *),
    char *(*create_filter)(void *, const char *const *key_array, const size_t *key_length_array,
                           int num_keys, size_t *filter_length),
    uint8_t (*key_may_match)(void *, const char *key, size_t length, const char *filter,
                             size_t filter_length),
    const char *(*name)(void *))
{
    leveldb_filterpolicy_t *fp = calloc(1, sizeof(*fp));

    if (fp == NULL)
        return NULL;
    fp->state = state;
    fp->destructor = destructor;
    fp->create_filter = create_filter;
    fp->key_may_match = key_may_match;
    fp->name = name;
    fp->policy = strata_filter_policy_create(fp, policy_destructor, policy_create_filter,
                                             policy_key_may_match, policy_name);
    if (fp->policy == NULL) {
        free(fp);
        return NULL;
    }
    return fp;
}

/* LevelDB accepts any bits_per_key; strata's bloom takes 1..64. */
LEVELDB_EXPORT leveldb_filterpolicy_t *leveldb_filterpolicy_create_bloom(int bits_per_key)
{
    leveldb_filterpolicy_t *fp = calloc(1, sizeof(*fp));

    if (fp == NULL)
        return NULL;
    fp->policy = strata_filter_policy_create_bloom(clamp_int(bits_per_key, 1, 64));
    if (fp->policy == NULL) {
        free(fp);
        return NULL;
    }
    return fp;
}

/* strata's destroy runs policy_destructor (user policies), which runs the user's destructor. */
LEVELDB_EXPORT void leveldb_filterpolicy_destroy(leveldb_filterpolicy_t *fp)
{
    if (fp == NULL)
        return;
    strata_filter_policy_destroy(fp->policy);
    free(fp);
}

/* ---- Read and write options ------------------------------------------------------------------- */

LEVELDB_EXPORT leveldb_readoptions_t *leveldb_readoptions_create(void)
{
    return (leveldb_readoptions_t *)strata_read_options_create();
}

LEVELDB_EXPORT void leveldb_readoptions_destroy(leveldb_readoptions_t *ro)
{
    strata_read_options_destroy(sro(ro));
}

LEVELDB_EXPORT void leveldb_readoptions_set_verify_checksums(leveldb_readoptions_t *ro, uint8_t v)
{
    strata_read_options_set_verify_checksums(sro(ro), v != 0);
}

LEVELDB_EXPORT void leveldb_readoptions_set_fill_cache(leveldb_readoptions_t *ro, uint8_t v)
{
    strata_read_options_set_fill_cache(sro(ro), v != 0);
}

LEVELDB_EXPORT void leveldb_readoptions_set_snapshot(leveldb_readoptions_t *ro,
                                                     const leveldb_snapshot_t *snap)
{
    strata_read_options_set_snapshot(sro(ro), ssnap(snap));
}

LEVELDB_EXPORT leveldb_writeoptions_t *leveldb_writeoptions_create(void)
{
    return (leveldb_writeoptions_t *)strata_write_options_create();
}

LEVELDB_EXPORT void leveldb_writeoptions_destroy(leveldb_writeoptions_t *wo)
{
    strata_write_options_destroy(swo(wo));
}

LEVELDB_EXPORT void leveldb_writeoptions_set_sync(leveldb_writeoptions_t *wo, uint8_t v)
{
    strata_write_options_set_sync(swo(wo), v != 0);
}

/* ---- Caches and environments ------------------------------------------------------------------ */

LEVELDB_EXPORT leveldb_cache_t *leveldb_cache_create_lru(size_t capacity)
{
    return (leveldb_cache_t *)strata_cache_create_lru(capacity);
}

LEVELDB_EXPORT void leveldb_cache_destroy(leveldb_cache_t *cache)
{
    strata_cache_destroy((strata_cache *)cache);
}

/* The default env is static in strata: every handle is the same pointer and destroying one is a
 * no-op, as LevelDB's destroy of a default env releases only its wrapper. */
LEVELDB_EXPORT leveldb_env_t *leveldb_create_default_env(void)
{
    return (leveldb_env_t *)strata_env_default();
}

LEVELDB_EXPORT void leveldb_env_destroy(leveldb_env_t *env)
{
    (void)env;
}

/* As LevelDB's POSIX env: $TEST_TMPDIR, else /tmp/leveldbtest-<euid>; mkdir errors are ignored
 * because the directory may already exist. */
LEVELDB_EXPORT char *leveldb_env_get_test_directory(leveldb_env_t *env)
{
    const char *dir = getenv("TEST_TMPDIR");
    char buf[64];

    (void)env;
    if (dir == NULL || dir[0] == '\0') {
        snprintf(buf, sizeof(buf), "/tmp/leveldbtest-%d", (int)geteuid());
        dir = buf;
    }
    (void)mkdir(dir, 0755);
    return strdup(dir);
}

/* ---- Utilities -------------------------------------------------------------------------------- */

LEVELDB_EXPORT void leveldb_free(void *ptr)
{
    free(ptr);
}

LEVELDB_EXPORT int leveldb_major_version(void)
{
    return 1;
}

LEVELDB_EXPORT int leveldb_minor_version(void)
{
    return 23;
}
