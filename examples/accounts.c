/* accounts.c — column families and transactions in one program.
 * User records live in the family "users", a by-email index in the family "email" (with zstd),
 * and a running total in "default".  Renaming a user's email changes three keys in two families
 * in one pessimistic transaction (get_for_update locks the record); a transfer between two
 * balances runs as an optimistic transaction.  The program reopens the DB, checks every result
 * and exits non-zero if one is wrong.
 * Build: cc accounts.c $(pkg-config --cflags --libs strata) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata.h"

static int fail(const char *what, int rc)
{
    fprintf(stderr, "%s: %s (%s)\n", what, strata_strerror(rc), strata_errmsg());
    return 1;
}

/* 1 when family cf holds key with exactly want (want NULL: the key is absent). */
static int holds(strata_db *db, strata_cf *cf, const char *key, const char *want)
{
    void *v = NULL;
    size_t vl = 0;
    int rc = strata_get_cf(db, NULL, cf, key, strlen(key), &v, &vl);
    int ok = want ? rc == 0 && vl == strlen(want) && memcmp(v, want, vl) == 0
                  : rc == STRATA_E_NOTFOUND;
    strata_free(v);
    return ok;
}

/* Moves user u's email from old to new: the record and both index entries, all or nothing. */
static int rename_email(strata_db *db, strata_cf *users, strata_cf *email, const char *u,
                        const char *old, const char *new_email)
{
    strata_txn *t = strata_txn_begin(db, NULL, NULL);
    if (!t) {
        return fail("begin", STRATA_E_INVALID);
    }
    void *rec = NULL;
    size_t rl = 0;
    int rc = strata_txn_get_for_update_cf(t, NULL, users, u, strlen(u), &rec, &rl, 1);
    strata_free(rec);
    rc = rc ? rc : strata_txn_put_cf(t, users, u, strlen(u), new_email, strlen(new_email));
    rc = rc ? rc : strata_txn_delete_cf(t, email, old, strlen(old));
    rc = rc ? rc : strata_txn_put_cf(t, email, new_email, strlen(new_email), u, strlen(u));
    rc = rc ? rc : strata_txn_commit(t);
    strata_txn_destroy(t); /* rolls back if the commit was not reached */
    return rc ? fail("rename", rc) : 0;
}

/* Moves amount from balance a to balance b; retried when another transaction got there first. */
static int transfer(strata_db *db, const char *a, const char *b, long amount)
{
    for (;;) {
        strata_txn *t = strata_optimistic_txn_begin(db, NULL, NULL);
        const char *keys[2] = {a, b};
        long bal[2] = {0, 0};
        int rc = t ? 0 : STRATA_E_INVALID;
        for (int i = 0; i < 2 && !rc; i++) {
            char *v = NULL;
            size_t vl = 0;
            rc = strata_txn_get_for_update(t, NULL, keys[i], strlen(keys[i]), (void **)&v, &vl, 1);
            char buf[32] = "";
            if (!rc && vl < sizeof(buf)) {
                memcpy(buf, v, vl);
            }
            bal[i] = strtol(buf, NULL, 10);
            strata_free(v);
        }
        bal[0] -= amount;
        bal[1] += amount;
        for (int i = 0; i < 2 && !rc; i++) {
            char v[32];
            int vl = snprintf(v, sizeof(v), "%ld", bal[i]);
            rc = strata_txn_put(t, keys[i], strlen(keys[i]), v, (size_t)vl);
        }
        rc = rc ? rc : strata_txn_commit(t);
        strata_txn_destroy(t);
        if (rc != STRATA_E_BUSY) {
            return rc ? fail("transfer", rc) : 0;
        }
    }
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/tmp/strata-accounts";
    strata_destroy(NULL, path);
    strata_options *opt = strata_options_create();
    strata_options_set_create_if_missing(opt, 1);
    strata_options *zstd = strata_options_copy(opt);
    if (strata_options_set_compression(zstd, STRATA_COMPRESSION_ZSTD) != 0) {
        strata_options_set_compression(zstd, STRATA_COMPRESSION_NONE); /* compiled out */
    }
    const char *names[] = {"users", "email"};
    const strata_options *cf_opts[] = {NULL, zstd};
    strata_cf *h[2];
    strata_db *db = NULL;
    int rc = strata_txn_db_open_cf(opt, NULL, path, 2, names, cf_opts, h, &db);
    if (rc) {
        return fail("open", rc);
    }
    strata_batch *b = strata_batch_create(); /* the first user, atomically in both families */
    strata_batch_put_cf(b, h[0], "u1", 2, "ann@old.example", 15);
    strata_batch_put_cf(b, h[1], "ann@old.example", 15, "u1", 2);
    strata_batch_put(b, "bal:ann", 7, "100", 3);
    strata_batch_put(b, "bal:bob", 7, "100", 3);
    rc = strata_write(db, NULL, b);
    strata_batch_destroy(b);
    if (rc || rename_email(db, h[0], h[1], "u1", "ann@old.example", "ann@new.example") ||
        transfer(db, "bal:ann", "bal:bob", 30)) {
        return rc ? fail("write", rc) : 1;
    }
    strata_close(db); /* reopen: every family comes back with what was committed */
    rc = strata_txn_db_open_cf(opt, NULL, path, 2, names, cf_opts, h, &db);
    if (rc) {
        return fail("reopen", rc);
    }
    strata_cf *dflt = strata_cf_default(db);
    int ok = holds(db, h[0], "u1", "ann@new.example") && holds(db, h[1], "ann@new.example", "u1") &&
             holds(db, h[1], "ann@old.example", NULL) && holds(db, dflt, "bal:ann", "70") &&
             holds(db, dflt, "bal:bob", "130") && holds(db, dflt, "u1", NULL);
    char **fams = NULL;
    size_t n = 0;
    ok = ok && strata_cf_list(opt, path, &fams, &n) == 0 && n == 3;
    strata_cf_list_free(fams, n);
    printf("accounts: %s (families: default, users, email)\n", ok ? "ok" : "WRONG");
    strata_close(db);
    strata_options_destroy(zstd);
    strata_options_destroy(opt);
    strata_destroy(NULL, path);
    return ok ? 0 : 1;
}
