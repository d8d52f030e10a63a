/* test_keyfile.c — the key file parser (codec/keyfile.h) and the file-based key provider
 * (st_key_provider_from_file, codec/crypt.h): bare keys, ID:HEX lines with the last one current,
 * comments, blank lines, CRLF and whitespace; every malformed form fails with INVALID and a
 * message naming its line and holding none of the file's key hex; size and key-count limits;
 * missing, unreadable and malformed files; out-of-memory paths; and that every buffer that held
 * key bytes is wiped before it is freed.
 *
 * The wipe check wraps st_free at link time (-Wl,--wrap=st_free, added for this test by
 * tests/CMakeLists.txt on Linux; __wrap_/__real_ are the linker's names): each block freed while
 * a check is armed is scanned, to its usable size, for the armed keys in binary and in hex.  Stale
 * heap bytes are scanned too, so the test never leaves key bytes in freed memory itself: its text
 * buffers are wiped before free (text_free) and key files are written without stdio buffers. */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

#include "codec/crypt.h"
#include "codec/keyfile.h"
#include "strata.h"
#include "util/alloc.h"
#include "util/compiler.h"
#include "util/random.h"
#include "util/status.h"

#define HEXLEN (2 * ST_CRYPT_KEY_LEN)

/* Test keys: key i is bytes (i * 37 + j * 11 + 5) & 0xff, so each is distinct and known. */
static void key_bytes(int i, unsigned char *key)
{
    for (int j = 0; j < ST_CRYPT_KEY_LEN; j++) {
        key[j] = (unsigned char)(i * 37 + j * 11 + 5);
    }
}

static void key_hex(int i, int upper, char *hex)
{
    unsigned char key[ST_CRYPT_KEY_LEN];
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    key_bytes(i, key);
    for (int j = 0; j < ST_CRYPT_KEY_LEN; j++) {
        hex[2 * j] = digits[key[j] >> 4];
        hex[2 * j + 1] = digits[key[j] & 15];
    }
    hex[HEXLEN] = '\0';
}

/* ---- the st_free wrapper --------------------------------------------------------------------- */

#define MAX_ARMED 8
static int armed[MAX_ARMED]; /* key numbers (key_bytes) looked for in freed blocks */
static int n_armed;
static long frees_seen, leaks_found;
static const void *watch; /* set by a test: note when this block is freed */
static int watch_freed;

static void arm(const int *keys, int n)
{
    assert_true(n <= MAX_ARMED);
    memcpy(armed, keys, (size_t)n * sizeof(int));
    n_armed = n;
    frees_seen = leaks_found = 0;
    watch = NULL;
    watch_freed = 0;
}

static void disarm(void)
{
    n_armed = 0;
}

#ifdef STRATA_TEST_WRAP_FREE
void __real_st_free(void *p);
void __wrap_st_free(void *p);

/* A wipe is all or nothing (st_crypt_wipe of the whole range), so looking for each quarter of a
 * key, and each quarter of its hex in either case, finds any key that was not wiped. */
static int holds_key(const void *p, size_t n, int k)
{
    unsigned char key[ST_CRYPT_KEY_LEN];
    char hex[2][HEXLEN + 1];
    key_bytes(k, key);
    key_hex(k, 0, hex[0]);
    key_hex(k, 1, hex[1]);
    for (int q = 0; q < 4; q++) {
        if (memmem(p, n, key + q * 8, 8) || memmem(p, n, hex[0] + q * 16, 16) ||
            memmem(p, n, hex[1] + q * 16, 16)) {
            return 1;
        }
    }
    return 0;
}

void __wrap_st_free(void *p)
{
    if (p && n_armed) {
        size_t n = malloc_usable_size(p);
        frees_seen++;
        for (int i = 0; i < n_armed; i++) {
            leaks_found += holds_key(p, n, armed[i]);
        }
        if (p == watch) {
            watch_freed = 1;
        }
    }
    __real_st_free(p);
}
#endif

/* ---- parsing helpers ------------------------------------------------------------------------- */

/* A growing text buffer for building key files. */
typedef struct text {
    char *p;
    size_t n, cap;
} text;

/* Wipes before freeing: see the file comment. */
static void wipe_free(void *p, size_t n)
{
    if (p) {
        explicit_bzero(p, n);
        free(p);
    }
}

static void text_free(text *t)
{
    wipe_free(t->p, t->cap);
    t->p = NULL;
    t->n = t->cap = 0;
}

static void add(text *t, const char *s)
{
    size_t len = strlen(s);
    if (t->n + len + 1 > t->cap) {
        size_t cap = (t->n + len + 1) * 2;
        char *p = malloc(cap);
        assert_non_null(p);
        if (t->p) {
            memcpy(p, t->p, t->n + 1);
        }
        wipe_free(t->p, t->cap);
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->n, s, len + 1);
    t->n += len;
}

/* "<id>:<hex of key k>" + eol; id < 0: a bare key. */
static void add_key(text *t, long long id, int k, const char *eol)
{
    char hex[HEXLEN + 1], line[128];
    key_hex(k, 0, hex);
    if (id < 0) {
        snprintf(line, sizeof(line), "%s%s", hex, eol);
    } else {
        snprintf(line, sizeof(line), "%lld:%s%s", id, hex, eol);
    }
    add(t, line);
}

static void assert_key(const st_keyfile *kf, size_t i, uint32_t id, int k)
{
    unsigned char key[ST_CRYPT_KEY_LEN];
    key_bytes(k, key);
    assert_true(i < kf->n);
    assert_int_equal(kf->keys[i].id, id);
    tu_assert_bytes_equal(kf->keys[i].key, ST_CRYPT_KEY_LEN, key, ST_CRYPT_KEY_LEN);
}

static void parse_ok(const char *s, size_t len, st_keyfile *kf)
{
    memset(kf, 0xEE, sizeof(*kf));
    tu_assert_ok(st_keyfile_parse(s, len, kf));
    assert_true(kf->n >= 1);
    assert_int_equal(kf->current, kf->keys[kf->n - 1].id);
}

/* The message holds no quarter of any of the first nkeys test keys' hex (nor their bytes). */
static void assert_no_key_hex(const char *msg, int nkeys)
{
    for (int k = 0; k < nkeys; k++) {
        unsigned char key[ST_CRYPT_KEY_LEN];
        char hex[2][HEXLEN + 1];
        key_bytes(k, key);
        key_hex(k, 0, hex[0]);
        key_hex(k, 1, hex[1]);
        for (int q = 0; q < 8; q++) { /* eighths of the hex: 8 digits each */
            if (memmem(msg, strlen(msg), hex[0] + q * 8, 8) ||
                memmem(msg, strlen(msg), hex[1] + q * 8, 8)) {
                fail_msg("error message \"%s\" holds hex of key %d", msg, k);
            }
        }
        for (int q = 0; q < 8; q++) {
            if (memmem(msg, strlen(msg), key + q * 4, 4)) {
                fail_msg("error message \"%s\" holds bytes of key %d", msg, k);
            }
        }
    }
}

/* Parsing s fails with INVALID; the message names line `line` (0: no line) and holds needle. */
static void expect_bad_len(const char *s, size_t len, size_t line, const char *needle, int nkeys)
{
    st_keyfile kf = {(st_keyfile_key *)&kf, 77, 77}; /* not written on failure */
    int rc = st_keyfile_parse(s, len, &kf);
    if (rc != STRATA_E_INVALID) {
        fail_msg("parse returned %d (%s) for \"%.*s\"", rc, st_errmsg(),
                 (int)(len < 200 ? len : 200), s);
    }
    assert_ptr_equal(kf.keys, &kf);
    assert_int_equal(kf.n, 77);
    const char *msg = st_errmsg();
    if (line) {
        char want[64];
        snprintf(want, sizeof(want), "key file line %zu: ", line);
        if (!strstr(msg, want)) {
            fail_msg("message \"%s\" does not name line %zu", msg, line);
        }
    }
    if (needle && !strstr(msg, needle)) {
        fail_msg("message \"%s\" does not say \"%s\"", msg, needle);
    }
    assert_no_key_hex(msg, nkeys);
}

static void expect_bad(const char *s, size_t line, const char *needle)
{
    expect_bad_len(s, strlen(s), line, needle, 8);
}

/* ---- valid files ----------------------------------------------------------------------------- */

static void test_bare_key(void **state)
{
    (void)state;
    text t = {0};
    st_keyfile kf;
    add_key(&t, -1, 0, "\n");
    parse_ok(t.p, t.n, &kf);
    assert_int_equal(kf.n, 1);
    assert_key(&kf, 0, 1, 0);
    assert_int_equal(kf.current, 1);
    st_keyfile_free(&kf);
    assert_null(kf.keys);
    assert_int_equal(kf.n, 0);
    assert_int_equal(kf.current, 0);

    /* No final newline; upper case and mixed case hex. */
    char hex[HEXLEN + 1];
    key_hex(3, 1, hex);
    parse_ok(hex, HEXLEN, &kf);
    assert_key(&kf, 0, 1, 3);
    st_keyfile_free(&kf);
    for (int i = 0; i < HEXLEN; i += 3) {
        hex[i] = (char)(hex[i] >= 'A' ? hex[i] + ('a' - 'A') : hex[i]);
    }
    parse_ok(hex, HEXLEN, &kf);
    assert_key(&kf, 0, 1, 3);
    st_keyfile_free(&kf);

    /* The text need not be NUL-terminated: parse stops at len. */
    char *exact = malloc(HEXLEN);
    assert_non_null(exact);
    memcpy(exact, hex, HEXLEN);
    parse_ok(exact, HEXLEN, &kf);
    assert_key(&kf, 0, 1, 3);
    st_keyfile_free(&kf);
    wipe_free(exact, HEXLEN);

    /* A bare key may be followed by id lines (it is key id 1). */
    t.n = 0;
    add_key(&t, -1, 0, "\n");
    add_key(&t, 2, 1, "\n");
    parse_ok(t.p, t.n, &kf);
    assert_int_equal(kf.n, 2);
    assert_key(&kf, 0, 1, 0);
    assert_key(&kf, 1, 2, 1);
    assert_int_equal(kf.current, 2);
    st_keyfile_free(&kf);
    st_keyfile_free(&kf); /* twice is harmless */
    st_keyfile_free(NULL);
    text_free(&t);
}

static void test_id_lines_last_is_current(void **state)
{
    (void)state;
    text t = {0};
    st_keyfile kf;
    add_key(&t, 5, 0, "\n");
    add_key(&t, 2, 1, "\n");
    add_key(&t, 9, 2, "\n");
    add_key(&t, 3, 3, "\n"); /* the last line is current even when its id is not the largest */
    parse_ok(t.p, t.n, &kf);
    assert_int_equal(kf.n, 4);
    assert_key(&kf, 0, 5, 0);
    assert_key(&kf, 1, 2, 1);
    assert_key(&kf, 2, 9, 2);
    assert_key(&kf, 3, 3, 3);
    assert_int_equal(kf.current, 3);
    st_keyfile_free(&kf);

    /* Id range ends and leading zeros. */
    t.n = 0;
    add_key(&t, 1, 0, "\n");
    add_key(&t, 4294967295ll, 1, "\n");
    add(&t, "0000000007:");
    add_key(&t, -1, 2, "\n");
    parse_ok(t.p, t.n, &kf);
    assert_int_equal(kf.n, 3);
    assert_key(&kf, 0, 1, 0);
    assert_key(&kf, 1, UINT32_MAX, 1);
    assert_key(&kf, 2, 7, 2);
    assert_int_equal(kf.current, 7);
    st_keyfile_free(&kf);

    /* Growth past the first allocation keeps every key. */
    t.n = 0;
    for (int i = 0; i < 8; i++) {
        add_key(&t, 100 + i, i, "\n");
    }
    parse_ok(t.p, t.n, &kf);
    assert_int_equal(kf.n, 8);
    for (int i = 0; i < 8; i++) {
        assert_key(&kf, (size_t)i, (uint32_t)(100 + i), i);
    }
    st_keyfile_free(&kf);
    text_free(&t);
}

static void test_comments_blank_crlf_whitespace(void **state)
{
    (void)state;
    text t = {0};
    st_keyfile kf;
    char hex0[HEXLEN + 1], hex1[HEXLEN + 1], line[200];
    key_hex(0, 0, hex0);
    key_hex(1, 1, hex1);
    add(&t, "# strata keys: id:hex, last one current\r\n");
    add(&t, "\r\n");
    add(&t, "\n");
    add(&t, "   \t \r\n");
    add(&t, "  # indented comment with 1:zz and a colon\n");
    snprintf(line, sizeof(line), "#%s\n", hex1); /* commented-out key */
    add(&t, line);
    snprintf(line, sizeof(line), "  \t7 \t:  %s \t \r\n", hex0);
    add(&t, line);
    add(&t, "#\n");
    snprintf(line, sizeof(line), "8:%s\t", hex1); /* trailing tab, no newline */
    add(&t, line);
    parse_ok(t.p, t.n, &kf);
    assert_int_equal(kf.n, 2);
    assert_key(&kf, 0, 7, 0);
    assert_key(&kf, 1, 8, 1);
    assert_int_equal(kf.current, 8);
    st_keyfile_free(&kf);

    /* A bare key with whitespace and CRLF, after comments. */
    t.n = 0;
    add(&t, "# one key\r\n\r\n\t ");
    add_key(&t, -1, 2, " \r\n");
    add(&t, "\r\n# end\r\n");
    parse_ok(t.p, t.n, &kf);
    assert_int_equal(kf.n, 1);
    assert_key(&kf, 0, 1, 2);
    st_keyfile_free(&kf);
    text_free(&t);
}

/* ---- malformed files ------------------------------------------------------------------------- */

static void test_errors_name_the_line(void **state)
{
    (void)state;
    text t = {0};
    char hex[HEXLEN + 1], line[256];
    key_hex(0, 0, hex);
    static const char *len_msg = "exactly 64 hex digits";
    static const char *id_msg = "1..4294967295";

    /* wrong length: 63 and 65 digits, empty, bare and with an id */
    snprintf(line, sizeof(line), "# c\n%.63s\n", hex);
    expect_bad(line, 2, len_msg);
    snprintf(line, sizeof(line), "%s0\n", hex);
    expect_bad(line, 1, len_msg);
    snprintf(line, sizeof(line), "\n\n3:%.63s\n", hex);
    expect_bad(line, 3, len_msg);
    snprintf(line, sizeof(line), "3:%s00\n", hex);
    expect_bad(line, 1, len_msg);
    expect_bad("\n4:\n", 2, len_msg);
    expect_bad("4:   \r\n", 1, len_msg);
    snprintf(line, sizeof(line), "1:%s\n2:%s 1\n", hex, hex); /* space inside the key part */
    expect_bad(line, 2, len_msg);

    /* non-hex */
    snprintf(line, sizeof(line), "%s\n", hex);
    line[10] = 'g';
    expect_bad(line, 1, len_msg);
    snprintf(line, sizeof(line), "#\n5:%s\n", hex);
    line[2 + 2 + 63] = 'x'; /* the last digit */
    expect_bad(line, 2, len_msg);
    snprintf(line, sizeof(line), "0x%.62s\n", hex);
    expect_bad(line, 1, len_msg);
    snprintf(line, sizeof(line), "5:%.31s %.32s\n", hex, hex + 31);
    expect_bad(line, 1, len_msg);
    snprintf(line, sizeof(line), "5:%.63s%c\n", hex, '\0' + 1);
    expect_bad(line, 1, len_msg);
    /* a NUL inside the key (len covers it) */
    snprintf(line, sizeof(line), "%s\n", hex);
    line[20] = '\0';
    expect_bad_len(line, HEXLEN + 1, 1, len_msg, 8);

    /* key ids: 0, above 2^32 - 1, not decimal */
    snprintf(line, sizeof(line), "0:%s\n", hex);
    expect_bad(line, 1, id_msg);
    snprintf(line, sizeof(line), "000:%s\n", hex);
    expect_bad(line, 1, id_msg);
    snprintf(line, sizeof(line), "\n4294967296:%s\n", hex);
    expect_bad(line, 2, id_msg);
    snprintf(line, sizeof(line), "99999999999:%s\n", hex);
    expect_bad(line, 1, id_msg);
    snprintf(line, sizeof(line), "18446744073709551617:%s\n", hex);
    expect_bad(line, 1, id_msg);
    static const char *bad_ids[] = {"-1", "+1", "1a", "0x10", "1 2", "", " ", "1.0", "١"};
    for (size_t i = 0; i < ST_ARRAY_LEN(bad_ids); i++) {
        snprintf(line, sizeof(line), "# x\n\n%s:%s\n", bad_ids[i], hex);
        expect_bad(line, 3, id_msg);
    }
    snprintf(line, sizeof(line), "1:2:%s\n", hex); /* two colons: "2:..." is not 64 digits */
    expect_bad(line, 1, len_msg);

    /* duplicate ids */
    t.n = 0;
    add_key(&t, 4, 0, "\n");
    add_key(&t, 5, 1, "\n");
    add_key(&t, 4, 2, "\n");
    expect_bad(t.p, 3, "duplicate key id");
    t.n = 0;
    add_key(&t, -1, 0, "\n"); /* a bare key is id 1 */
    add(&t, "# c\n");
    add_key(&t, 1, 1, "\r\n");
    expect_bad(t.p, 3, "duplicate key id");

    /* a bare key after another key */
    t.n = 0;
    add_key(&t, 3, 0, "\n");
    add_key(&t, -1, 1, "\n");
    expect_bad(t.p, 2, "only as the first key");
    t.n = 0;
    add_key(&t, -1, 0, "\n");
    add(&t, "\n");
    add_key(&t, -1, 1, "\n");
    expect_bad(t.p, 3, "only as the first key");

    /* no key at all */
    expect_bad_len("", 0, 0, "no key", 8);
    expect_bad_len(NULL, 0, 0, "no key", 8);
    expect_bad("\n\n\r\n  \t\n", 0, "no key");
    snprintf(line, sizeof(line), "# %s\n#\n", hex);
    expect_bad(line, 0, "no key");

    /* The first error wins: a later bad line is not reported. */
    snprintf(line, sizeof(line), "0:%s\n0:%s\n", hex, hex);
    expect_bad(line, 1, id_msg);
    text_free(&t);
}

static void test_size_limits(void **state)
{
    (void)state;
    /* Exactly ST_KEYFILE_MAX_BYTES: a key, then comment lines as padding. */
    size_t max = ST_KEYFILE_MAX_BYTES;
    char *buf = malloc(max + 1);
    assert_non_null(buf);
    char hex[HEXLEN + 1];
    key_hex(0, 0, hex);
    memset(buf, '#', max + 1);
    memcpy(buf, hex, HEXLEN);
    buf[HEXLEN] = '\n';
    for (size_t i = 1000; i < max + 1; i += 1000) {
        buf[i] = '\n';
    }
    st_keyfile kf;
    parse_ok(buf, max, &kf);
    assert_int_equal(kf.n, 1);
    assert_key(&kf, 0, 1, 0);
    st_keyfile_free(&kf);
    expect_bad_len(buf, max + 1, 0, "larger than 1048576 bytes", 1);
    wipe_free(buf, max + 1);

    /* ST_KEYFILE_MAX_KEYS keys are fine; one more is refused on its line. */
    text t = {0};
    for (int i = 0; i < ST_KEYFILE_MAX_KEYS; i++) {
        add_key(&t, i + 1, i % 8, "\n");
    }
    parse_ok(t.p, t.n, &kf);
    assert_int_equal(kf.n, ST_KEYFILE_MAX_KEYS);
    assert_int_equal(kf.current, ST_KEYFILE_MAX_KEYS);
    assert_key(&kf, ST_KEYFILE_MAX_KEYS - 1, ST_KEYFILE_MAX_KEYS, (ST_KEYFILE_MAX_KEYS - 1) % 8);
    st_keyfile_free(&kf);
    add(&t, "# one more\n");
    add_key(&t, ST_KEYFILE_MAX_KEYS + 1, 0, "\n");
    expect_bad_len(t.p, t.n, ST_KEYFILE_MAX_KEYS + 2, "too many keys", 8);
    text_free(&t);
}

/* ---- wiping ---------------------------------------------------------------------------------- */

static void test_free_wipes(void **state)
{
    (void)state;
#ifdef STRATA_TEST_WRAP_FREE
    static const int keys[] = {0, 1, 2, 3, 4, 5};
    /* The detector works: an unwiped block is reported. */
    arm(keys, 1);
    unsigned char *raw = st_malloc(64);
    assert_non_null(raw);
    memset(raw, 0, 64);
    key_bytes(0, raw + 16);
    st_free(raw);
    assert_int_equal(leaks_found, 1);

    /* Six keys: the array grows once (4 -> 8), so one array is freed during parsing and one by
     * st_keyfile_free; neither may hold a key. */
    text t = {0};
    for (int i = 0; i < 6; i++) {
        add_key(&t, i + 1, i, "\n");
    }
    arm(keys, 6);
    st_keyfile kf;
    parse_ok(t.p, t.n, &kf);
    assert_int_equal(frees_seen, 1);
    watch = kf.keys;
    st_keyfile_free(&kf);
    assert_int_equal(watch_freed, 1);
    assert_int_equal(frees_seen, 2);
    assert_int_equal(leaks_found, 0);

    /* Error paths free what they had parsed, wiped. */
    add(&t, "7:nothex\n");
    arm(keys, 6);
    expect_bad_len(t.p, t.n, 7, NULL, 8);
    assert_true(frees_seen >= 2);
    assert_int_equal(leaks_found, 0);
    disarm();
    text_free(&t);
#else
    skip();
#endif
}

/* ---- out of memory --------------------------------------------------------------------------- */

static void test_parse_out_of_memory(void **state)
{
    (void)state;
    text t = {0};
    for (int i = 0; i < 9; i++) {
        add_key(&t, i + 1, i, "\n");
    }
    int done = 0;
    for (long i = 0; !done && i < 50; i++) {
        st_keyfile kf = {NULL, 0, 0};
        st_alloc_fail_after(i, 0);
        int rc = st_keyfile_parse(t.p, t.n, &kf);
        st_alloc_fail_after(-1, 0);
        if (rc == 0) {
            assert_int_equal(kf.n, 9);
            assert_key(&kf, 8, 9, 8);
            done = 1;
        } else {
            assert_int_equal(rc, STRATA_E_NOMEM);
            assert_null(kf.keys);
        }
        st_keyfile_free(&kf);
    }
    assert_true(done);
    text_free(&t);
}

/* ---- the file provider ----------------------------------------------------------------------- */

static char *write_file(const char *dir, const char *name, const void *data, size_t len)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    assert_non_null(path);
    snprintf(path, n, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
    return path;
}

static void test_provider_from_file(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("keyfile");
    assert_non_null(dir);
    text t = {0};
    add(&t, "# test keys\n");
    add_key(&t, 10, 0, "\n");
    add_key(&t, 20, 1, "\r\n");
    add_key(&t, 15, 2, "\n");
    char *path = write_file(dir, "keys", t.p, t.n);

#ifdef STRATA_TEST_WRAP_FREE
    static const int keys[] = {0, 1, 2};
    arm(keys, 3);
#endif
    st_key_provider *kp = NULL;
    tu_assert_ok(st_key_provider_from_file(path, &kp));
    uint32_t cur = 0;
    tu_assert_ok(st_key_provider_current(kp, &cur));
    assert_int_equal(cur, 15);
    unsigned char key[ST_CRYPT_KEY_LEN], want[ST_CRYPT_KEY_LEN];
    static const uint32_t ids[] = {10, 20, 15};
    for (int i = 0; i < 3; i++) {
        tu_assert_ok(st_key_provider_get(kp, ids[i], key));
        key_bytes(i, want);
        tu_assert_bytes_equal(key, sizeof(key), want, sizeof(want));
    }
    assert_int_equal(st_key_provider_get(kp, 11, key), STRATA_E_AUTH);
    assert_non_null(strstr(st_errmsg(), "11"));
    assert_no_key_hex(st_errmsg(), 3);

    /* A file key made from it works after the provider is gone. */
    unsigned char db_id[ST_DB_ID_LEN] = {1}, salt[ST_CRYPT_SALT_LEN] = {2};
    st_crypt_file *f = NULL;
    tu_assert_ok(st_crypt_file_create(kp, cur, db_id, 1, ST_CRYPT_FILE_WAL, salt, &f));
    st_key_provider_unref(kp);
#ifdef STRATA_TEST_WRAP_FREE
    /* read buffer, key array, keyfile struct, provider (and none held a key unwiped) */
    assert_true(frees_seen >= 4);
    assert_int_equal(leaks_found, 0);
    disarm();
#endif
    unsigned char ct[3], out[3], tag[ST_CRYPT_TAG_LEN];
    tu_assert_ok(st_crypt_seal(f, 0, NULL, 0, "abc", 3, ct, tag));
    tu_assert_ok(st_crypt_open(f, 0, NULL, 0, ct, 3, tag, out));
    st_crypt_file_destroy(f);
    st_crypt_wipe(key, sizeof(key));

    /* A single bare key. */
    char hex[HEXLEN + 2];
    key_hex(5, 0, hex);
    char *path2 = write_file(dir, "bare", hex, HEXLEN);
    tu_assert_ok(st_key_provider_from_file(path2, &kp));
    tu_assert_ok(st_key_provider_current(kp, &cur));
    assert_int_equal(cur, 1);
    tu_assert_ok(st_key_provider_get(kp, 1, key));
    key_bytes(5, want);
    tu_assert_bytes_equal(key, sizeof(key), want, sizeof(want));
    st_key_provider_unref(kp);
    free(path2);
    free(path);
    text_free(&t);
    tu_free_path(dir);
}

static void test_provider_from_bad_files(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("keyfile");
    assert_non_null(dir);
    st_key_provider *kp = (st_key_provider *)dir; /* sentinel: not written on failure */

    /* Missing: st_err_errno maps ENOENT to NOTFOUND. */
    size_t n = strlen(dir) + 16;
    char *missing = malloc(n);
    assert_non_null(missing);
    snprintf(missing, n, "%s/nope", dir);
    assert_int_equal(st_key_provider_from_file(missing, &kp), STRATA_E_NOTFOUND);
    assert_non_null(strstr(st_errmsg(), missing));
    assert_ptr_equal(kp, dir);

    /* A directory cannot be read. */
    assert_int_equal(st_key_provider_from_file(dir, &kp), STRATA_E_IO);
    assert_non_null(strstr(st_errmsg(), dir));

    /* Malformed: INVALID, naming the file and the line, holding no key hex. */
    text t = {0};
    add_key(&t, 1, 0, "\n");
    add_key(&t, 2, 1, "\n");
    add_key(&t, 1, 2, "\n");
    char *bad = write_file(dir, "dup", t.p, t.n);
    assert_int_equal(st_key_provider_from_file(bad, &kp), STRATA_E_INVALID);
    assert_non_null(strstr(st_errmsg(), bad));
    assert_non_null(strstr(st_errmsg(), "line 3"));
    assert_no_key_hex(st_errmsg(), 3);
    char *empty = write_file(dir, "empty", "", 0);
    assert_int_equal(st_key_provider_from_file(empty, &kp), STRATA_E_INVALID);
    assert_non_null(strstr(st_errmsg(), "no key"));

    /* Larger than 1 MiB: refused before parsing. */
    size_t big_len = ST_KEYFILE_MAX_BYTES + 1;
    char *bigtext = malloc(big_len);
    assert_non_null(bigtext);
    memset(bigtext, '\n', big_len);
    memcpy(bigtext, t.p, HEXLEN + 3); /* a valid first line */
    char *big = write_file(dir, "big", bigtext, big_len);
    assert_int_equal(st_key_provider_from_file(big, &kp), STRATA_E_INVALID);
    assert_non_null(strstr(st_errmsg(), "larger than"));
    /* ... and exactly 1 MiB is read whole. */
    char *max = write_file(dir, "max", bigtext, big_len - 1);
    tu_assert_ok(st_key_provider_from_file(max, &kp));
    st_key_provider_unref(kp);
    kp = (st_key_provider *)dir;

    /* Unreadable (meaningless as root, who reads anything). */
    if (geteuid() != 0) {
        char *secret = write_file(dir, "secret", t.p, HEXLEN + 3);
        assert_int_equal(chmod(secret, 0), 0);
        assert_int_equal(st_key_provider_from_file(secret, &kp), STRATA_E_IO);
        assert_non_null(strstr(st_errmsg(), secret));
        free(secret);
    }
    assert_ptr_equal(kp, dir);
    free(max);
    free(big);
    wipe_free(bigtext, big_len);
    free(empty);
    free(bad);
    free(missing);
    text_free(&t);
    tu_free_path(dir);
}

static void test_provider_from_file_out_of_memory(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("keyfile");
    assert_non_null(dir);
    text t = {0};
    for (int i = 0; i < 6; i++) {
        add_key(&t, i + 1, i, "\n");
    }
    char *path = write_file(dir, "keys", t.p, t.n);
    int done = 0;
    for (long i = 0; !done && i < 50; i++) {
        st_key_provider *kp = NULL;
        st_alloc_fail_after(i, 0);
        int rc = st_key_provider_from_file(path, &kp);
        st_alloc_fail_after(-1, 0);
        if (rc == 0) {
            uint32_t cur = 0;
            tu_assert_ok(st_key_provider_current(kp, &cur));
            assert_int_equal(cur, 6);
            done = 1;
        } else {
            assert_int_equal(rc, STRATA_E_NOMEM);
            assert_null(kp);
            assert_non_null(strstr(st_errmsg(), "no memory"));
        }
        st_key_provider_unref(kp);
    }
    assert_true(done);
    free(path);
    text_free(&t);
    tu_free_path(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bare_key),
        cmocka_unit_test(test_id_lines_last_is_current),
        cmocka_unit_test(test_comments_blank_crlf_whitespace),
        cmocka_unit_test(test_errors_name_the_line),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_free_wipes),
        cmocka_unit_test(test_parse_out_of_memory),
        cmocka_unit_test(test_provider_from_file),
        cmocka_unit_test(test_provider_from_bad_files),
        cmocka_unit_test(test_provider_from_file_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
