/* counters.c — merge counters, a range delete, a TTL value and a multi-get, in one program.
 * Page-view counters per "page:<n>" are bumped with strata_merge (the built-in uint64 add), a
 * session expires by TTL, and an old page range is dropped with one range delete; the program
 * checks each result and exits non-zero if one is wrong.
 * Build: cc counters.c $(pkg-config --cflags --libs strata) */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "strata.h"

static int fail(const char *what, int rc)
{
    fprintf(stderr, "%s: %s (%s)\n", what, strata_strerror(rc), strata_errmsg());
    return 1;
}

/* The test clock: seconds since the epoch, moved by hand (strata_env_set_clock). */
static uint64_t now_s = 1700000000;

static uint64_t fake_clock(void *state)
{
    (void)state;
    return now_s * 1000000u;
}

static void put_u64(char out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        out[i] = (char)(v >> (8 * i)); /* little-endian, as uint64add expects */
    }
}

static uint64_t get_u64(const char *in)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | (unsigned char)in[i];
    }
    return v;
}

static int run(strata_db *db)
{
    char one[8], key[32];
    put_u64(one, 1);
    for (int view = 0; view < 1000; view++) { /* 100 views for each of 10 pages */
        int page = view % 10;
        snprintf(key, sizeof(key), "page:%d", page);
        int rc = strata_merge(db, NULL, key, strlen(key), one, 8);
        if (rc) {
            return fail("merge", rc);
        }
    }
    int rc = strata_put_ttl(db, NULL, "session:42", 10, "alice", 5, 30); /* 30 s */
    rc = rc ? rc : strata_flush(db, 1); /* counters and session now live in a table */
    /* Pages 0..4 are retired: one range delete, whatever the number of keys. */
    rc = rc ? rc : strata_delete_range(db, NULL, "page:0", 6, "page:5", 6);
    if (rc) {
        return fail("write", rc);
    }
    const char *keys[] = {"page:3", "page:7", "session:42"};
    size_t klens[] = {6, 6, 10};
    void *vals[3];
    size_t vlens[3];
    int st[3];
    rc = strata_multi_get(db, NULL, 3, (const void *const *)keys, klens, vals, vlens, st);
    if (rc) {
        return fail("multi_get", rc);
    }
    int ok = st[0] == STRATA_E_NOTFOUND && st[1] == 0 && vlens[1] == 8 &&
             get_u64(vals[1]) == 100 && st[2] == 0;
    printf("page:3 %s, page:7 = %llu views, session:42 %s\n",
           st[0] == STRATA_E_NOTFOUND ? "deleted" : "still there",
           st[1] == 0 ? (unsigned long long)get_u64(vals[1]) : 0ULL, st[2] == 0 ? "live" : "gone");
    for (int i = 0; i < 3; i++) {
        strata_free(vals[i]);
    }
    now_s += 31; /* the session's TTL runs out: invisible at once */
    void *v;
    size_t vl;
    rc = strata_get(db, NULL, "session:42", 10, &v, &vl);
    printf("after 31 s: session:42 %s\n", rc == STRATA_E_NOTFOUND ? "expired" : "still live");
    ok = ok && rc == STRATA_E_NOTFOUND;
    if (!ok) {
        fprintf(stderr, "counters: unexpected result\n");
    }
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/tmp/strata-counters";
    strata_env *env = strata_env_create_posix();
    strata_options *opt = strata_options_create();
    int rc = env ? strata_env_set_clock(env, fake_clock, NULL) : STRATA_E_NOMEM;
    rc = rc ? rc : strata_options_set_env(opt, env);
    rc = rc ? rc : strata_options_from_string(opt, "create_if_missing=true;merge_operator=uint64add");
    strata_db *db = NULL;
    rc = rc ? rc : strata_destroy(opt, path);
    rc = rc ? rc : strata_open(opt, path, &db);
    int status = rc ? fail("open", rc) : run(db);
    if (db) {
        rc = strata_close(db);
        status = status ? status : rc ? fail("close", rc) : 0;
        strata_destroy(opt, path);
    }
    strata_options_destroy(opt);
    strata_env_destroy(env);
    return status;
}
