/* hello.c — the smallest complete strata program: open, write, read, iterate, close.
 * Build: cc hello.c $(pkg-config --cflags --libs strata) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata.h"

static int fail(const char *what, int rc)
{
    fprintf(stderr, "%s: %s (%s)\n", what, strata_strerror(rc), strata_errmsg());
    return 1;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/tmp/strata-hello";
    strata_options *opt = strata_options_create();
    strata_options_set_create_if_missing(opt, 1);
    strata_db *db = NULL;
    int rc = strata_open(opt, path, &db);
    strata_options_destroy(opt);
    if (rc) {
        return fail("open", rc);
    }

    strata_batch *batch = strata_batch_create();
    strata_batch_put(batch, "apple", 5, "red", 3);
    strata_batch_put(batch, "banana", 6, "yellow", 6);
    strata_batch_put(batch, "cherry", 6, "dark red", 8);
    strata_batch_delete(batch, "banana", 6);
    rc = strata_write(db, NULL, batch); /* atomic: all four operations or none */
    strata_batch_destroy(batch);
    if (rc) {
        return fail("write", rc);
    }

    void *val = NULL;
    size_t vlen = 0;
    if ((rc = strata_get(db, NULL, "apple", 5, &val, &vlen)) == 0) {
        printf("apple = %.*s\n", (int)vlen, (const char *)val);
        strata_free(val);
    }
    if (strata_get(db, NULL, "banana", 6, &val, &vlen) == STRATA_E_NOTFOUND) {
        printf("banana was deleted\n");
    }

    strata_iter *it = NULL;
    if ((rc = strata_iter_create(db, NULL, &it)) != 0) {
        return fail("iterator", rc);
    }
    for (strata_iter_seek_to_first(it); strata_iter_valid(it); strata_iter_next(it)) {
        size_t kl, vl;
        const char *k = strata_iter_key(it, &kl);
        const char *v = strata_iter_value(it, &vl);
        printf("  %.*s -> %.*s\n", (int)kl, k, (int)vl, v);
    }
    rc = strata_iter_status(it);
    strata_iter_destroy(it);
    if (rc) {
        return fail("iteration", rc);
    }
    return strata_close(db) ? fail("close", rc) : 0;
}
