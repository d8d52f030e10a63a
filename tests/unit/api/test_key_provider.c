/* test_key_provider.c — the public key-provider handles (strata.h "Encryption keys"):
 * strata_key_provider_create / _create_file / _destroy, the destructor running exactly once after
 * the last holder (user handle, options objects and their copies) lets go, file errors (missing,
 * malformed, NULL arguments) with *out cleared, and out-of-memory paths. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

#include "api/options.h"
#include "codec/crypt.h"
#include "strata.h"
#include "util/alloc.h"

typedef struct user_keys {
    unsigned char key[32];
    int destroyed;
} user_keys;

static int uk_get(void *state, uint32_t key_id, unsigned char *key)
{
    if (key_id != 7) {
        return 1;
    }
    memcpy(key, ((user_keys *)state)->key, 32);
    return 0;
}

static int uk_current(void *state, uint32_t *key_id)
{
    (void)state;
    *key_id = 7;
    return 0;
}

static void uk_destroy(void *state)
{
    ((user_keys *)state)->destroyed++;
}

static void test_create_destroy(void **state)
{
    (void)state;
    user_keys uk = {{0}, 0};
    memset(uk.key, 0x3c, sizeof(uk.key));
    assert_null(strata_key_provider_create(&uk, NULL, uk_current, uk_destroy));
    assert_null(strata_key_provider_create(&uk, uk_get, NULL, uk_destroy));
    assert_int_equal(uk.destroyed, 0);

    strata_key_provider *kp = strata_key_provider_create(&uk, uk_get, uk_current, uk_destroy);
    assert_non_null(kp);
    /* The handle is the engine's provider: its callbacks are reached through it. */
    unsigned char key[32];
    uint32_t cur = 0;
    tu_assert_ok(st_key_provider_current((st_key_provider *)kp, &cur));
    assert_int_equal(cur, 7);
    tu_assert_ok(st_key_provider_get((st_key_provider *)kp, 7, key));
    tu_assert_bytes_equal(key, 32, uk.key, 32);
    assert_int_equal(st_key_provider_get((st_key_provider *)kp, 8, key), STRATA_E_AUTH);
    strata_key_provider_destroy(kp);
    assert_int_equal(uk.destroyed, 1);
    strata_key_provider_destroy(NULL);

    /* state and destructor may be NULL */
    kp = strata_key_provider_create(NULL, uk_get, uk_current, NULL);
    assert_non_null(kp);
    strata_key_provider_destroy(kp);
}

/* The destructor runs once, after the user's handle and every options object let go. */
static void test_options_hold_references(void **state)
{
    (void)state;
    user_keys uk = {{0}, 0};
    strata_key_provider *kp = strata_key_provider_create(&uk, uk_get, uk_current, uk_destroy);
    assert_non_null(kp);
    strata_options *o = strata_options_create();
    assert_non_null(o);
    tu_assert_ok(strata_options_set_key_provider(o, kp));
    tu_assert_ok(strata_options_set_key_provider(o, kp)); /* setting it again keeps one ref */
    strata_options *copy = strata_options_copy(o);
    assert_non_null(copy);
    strata_key_provider_destroy(kp);
    assert_int_equal(uk.destroyed, 0);
    strata_options_destroy(o);
    assert_int_equal(uk.destroyed, 0);
    tu_assert_ok(strata_options_set_key_provider(copy, NULL)); /* clearing drops the last */
    assert_int_equal(uk.destroyed, 1);
    strata_options_destroy(copy);
    assert_int_equal(uk.destroyed, 1);
}

static char *write_file(const char *dir, const char *name, const char *data)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    assert_non_null(path);
    snprintf(path, n, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
    assert_int_equal(close(fd), 0);
    return path;
}

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static void test_create_file(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("keyprov");
    assert_non_null(dir);
    char *good = write_file(dir, "keys", "# rotation\n1:" KEY_A "\n2:" KEY_B "\n");
    strata_key_provider *kp = (strata_key_provider *)dir;
    tu_assert_ok(strata_key_provider_create_file(good, &kp));
    assert_non_null(kp);
    uint32_t cur = 0;
    unsigned char key[32];
    tu_assert_ok(st_key_provider_current((st_key_provider *)kp, &cur));
    assert_int_equal(cur, 2);
    tu_assert_ok(st_key_provider_get((st_key_provider *)kp, 1, key));
    assert_int_equal(key[0], 0x00);
    assert_int_equal(key[1], 0x11);
    assert_int_equal(key[31], 0xff);
    /* An options object keeps the file's keys alive after the handle goes. */
    strata_options *o = strata_options_create();
    assert_non_null(o);
    tu_assert_ok(strata_options_set_key_provider(o, kp));
    strata_key_provider_destroy(kp);
    tu_assert_ok(st_key_provider_get((st_key_provider *)o->key_provider, 2, key));
    assert_int_equal(key[0], 0xff);
    strata_options_destroy(o);

    /* Missing file: NOTFOUND (ENOENT), *out cleared. */
    size_t n = strlen(dir) + 16;
    char *missing = malloc(n);
    assert_non_null(missing);
    snprintf(missing, n, "%s/none", dir);
    kp = (strata_key_provider *)dir;
    assert_int_equal(strata_key_provider_create_file(missing, &kp), STRATA_E_NOTFOUND);
    assert_null(kp);
    assert_non_null(strstr(strata_errmsg(), missing));

    /* Malformed: INVALID, the message names the line and holds no key hex. */
    char *bad = write_file(dir, "bad", "1:" KEY_A "\n" KEY_B "\n");
    kp = (strata_key_provider *)dir;
    assert_int_equal(strata_key_provider_create_file(bad, &kp), STRATA_E_INVALID);
    assert_null(kp);
    assert_non_null(strstr(strata_errmsg(), "line 2"));
    assert_null(strstr(strata_errmsg(), "00112233"));
    assert_null(strstr(strata_errmsg(), "ffeeddcc"));

    /* NULL arguments */
    kp = (strata_key_provider *)dir;
    assert_int_equal(strata_key_provider_create_file(NULL, &kp), STRATA_E_INVALID);
    assert_null(kp);
    assert_int_equal(strata_key_provider_create_file(good, NULL), STRATA_E_INVALID);

    free(bad);
    free(missing);
    free(good);
    tu_free_path(dir);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("keyprov");
    assert_non_null(dir);
    char *path = write_file(dir, "keys", KEY_A "\n");
    int done_user = 0, done_file = 0;
    for (long i = 0; (!done_user || !done_file) && i < 50; i++) {
        user_keys uk = {{0}, 0};
        st_alloc_fail_after(i, 0);
        strata_key_provider *u = strata_key_provider_create(&uk, uk_get, uk_current, uk_destroy);
        st_alloc_fail_after(i, 0);
        strata_key_provider *f = NULL;
        int rc = strata_key_provider_create_file(path, &f);
        st_alloc_fail_after(-1, 0);
        assert_true(rc == 0 || rc == STRATA_E_NOMEM);
        assert_true((rc == 0) == (f != NULL));
        done_user |= u != NULL;
        done_file |= f != NULL;
        int made = u != NULL;
        strata_key_provider_destroy(u);
        strata_key_provider_destroy(f);
        assert_int_equal(uk.destroyed, made); /* a failed create never calls the destructor */
    }
    assert_true(done_user && done_file);
    free(path);
    tu_free_path(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_destroy),
        cmocka_unit_test(test_options_hold_references),
        cmocka_unit_test(test_create_file),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
