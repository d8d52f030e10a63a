/*
 * leveldb_compat.c — an ordinary LevelDB C API program, written only against <leveldb/c.h>.
 *
 * It builds unchanged against LevelDB (cc leveldb_compat.c -lleveldb) and against strata
 * (cc -I<strata>/include leveldb_compat.c -lstrata_leveldb), and prints the same output with both
 * apart from the statistics text.  It stores a few records, reads them back with get, a batch, an
 * iterator and a snapshot, compacts, reopens and finally destroys the DB.
 *
 * Usage: leveldb_compat [DB_DIR]   (default: <test directory>/leveldb_compat)
 * Exit status 0 when every check passed.
 */
#include <leveldb/c.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

/* Reports and consumes an error; returns 1 if there was one. */
static int check_error(const char *what, char **err)
{
    if (*err == NULL)
        return 0;
    fprintf(stderr, "%s: %s\n", what, *err);
    leveldb_free(*err);
    *err = NULL;
    failures++;
    return 1;
}

static void expect(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "check failed: %s\n", what);
        failures++;
    }
}

/* Prints key = value (or "(absent)") as read with ro. */
static void show(leveldb_t *db, const leveldb_readoptions_t *ro, const char *key,
                 const char *want)
{
    char *err = NULL;
    size_t len = 0;
    char *val = leveldb_get(db, ro, key, strlen(key), &len, &err);

    check_error("get", &err);
    if (val == NULL)
        printf("  %s = (absent)\n", key);
    else
        printf("  %s = %.*s\n", key, (int)len, val);
    expect(want == NULL ? val == NULL
                        : val != NULL && len == strlen(want) && memcmp(val, want, len) == 0,
           key);
    leveldb_free(val);
}

static void write_some(leveldb_t *db, const leveldb_writeoptions_t *wo)
{
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    char *err = NULL;

    leveldb_put(db, wo, "apple", 5, "red", 3, &err);
    check_error("put", &err);
    leveldb_put(db, wo, "banana", 6, "yellow", 6, &err);
    check_error("put", &err);
    leveldb_writebatch_put(batch, "cherry", 6, "dark red", 8);
    leveldb_writebatch_put(batch, "date", 4, "brown", 5);
    leveldb_writebatch_delete(batch, "banana", 6);
    leveldb_write(db, wo, batch, &err);
    check_error("write", &err);
    leveldb_writebatch_destroy(batch);
}

static void scan(leveldb_t *db, const leveldb_readoptions_t *ro)
{
    leveldb_iterator_t *it = leveldb_create_iterator(db, ro);
    char *err = NULL;
    int n = 0;

    printf("scan:\n");
    for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = leveldb_iter_key(it, &klen);
        const char *v = leveldb_iter_value(it, &vlen);
        printf("  %.*s -> %.*s\n", (int)klen, k, (int)vlen, v);
        n++;
    }
    leveldb_iter_get_error(it, &err);
    check_error("iterator", &err);
    expect(n == 3, "scan sees apple, cherry, date");
    leveldb_iter_destroy(it);
}

static void snapshot_demo(leveldb_t *db, leveldb_readoptions_t *ro,
                          const leveldb_writeoptions_t *wo)
{
    const leveldb_snapshot_t *snap = leveldb_create_snapshot(db);
    char *err = NULL;

    leveldb_put(db, wo, "apple", 5, "green", 5, &err);
    check_error("put", &err);
    leveldb_readoptions_set_snapshot(ro, snap);
    printf("through the snapshot:\n");
    show(db, ro, "apple", "red");
    leveldb_readoptions_set_snapshot(ro, NULL);
    printf("now:\n");
    show(db, ro, "apple", "green");
    leveldb_release_snapshot(db, snap);
}

static leveldb_t *open_db(const leveldb_options_t *options, const char *path)
{
    char *err = NULL;
    leveldb_t *db = leveldb_open(options, path, &err);

    if (check_error("open", &err))
        return NULL;
    return db;
}

static void run(const char *path)
{
    leveldb_options_t *options = leveldb_options_create();
    leveldb_filterpolicy_t *bloom = leveldb_filterpolicy_create_bloom(10);
    leveldb_cache_t *cache = leveldb_cache_create_lru(4 << 20);
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
    leveldb_t *db;
    char *err = NULL;

    leveldb_options_set_create_if_missing(options, 1);
    leveldb_options_set_filter_policy(options, bloom);
    leveldb_options_set_cache(options, cache);
    leveldb_options_set_compression(options, leveldb_snappy_compression);
    db = open_db(options, path);
    if (db == NULL)
        goto out;
    write_some(db, wo);
    printf("after writes:\n");
    show(db, ro, "apple", "red");
    show(db, ro, "banana", NULL);
    scan(db, ro);
    snapshot_demo(db, ro, wo);
    leveldb_compact_range(db, NULL, 0, NULL, 0);
    leveldb_close(db);

    db = open_db(options, path);
    if (db == NULL)
        goto out;
    printf("after reopen:\n");
    show(db, ro, "cherry", "dark red");
    char *files = leveldb_property_value(db, "leveldb.num-files-at-level0");
    expect(files != NULL, "leveldb.num-files-at-level0 is known");
    leveldb_free(files);
    expect(leveldb_property_value(db, "leveldb.no-such-property") == NULL, "unknown property");
    leveldb_close(db);

    leveldb_destroy_db(options, path, &err);
    check_error("destroy", &err);
out:
    leveldb_writeoptions_destroy(wo);
    leveldb_readoptions_destroy(ro);
    leveldb_options_destroy(options);
    leveldb_cache_destroy(cache);
    leveldb_filterpolicy_destroy(bloom);
}

int main(int argc, char **argv)
{
    char path[4096];

    if (argc > 1) {
        snprintf(path, sizeof(path), "%s", argv[1]);
    } else {
        leveldb_env_t *env = leveldb_create_default_env();
        char *dir = leveldb_env_get_test_directory(env);
        snprintf(path, sizeof(path), "%s/leveldb_compat", dir != NULL ? dir : "/tmp");
        leveldb_free(dir);
        leveldb_env_destroy(env);
    }
    printf("LevelDB C API %d.%d, DB at %s\n", leveldb_major_version(), leveldb_minor_version(),
           path);
    run(path);
    if (failures == 0)
        printf("ok\n");
    else
        printf("%d check(s) failed\n", failures);
    return failures == 0 ? 0 : 1;
}
