/* fuzz_keyfile.c — libFuzzer target for the key file parser (codec/keyfile.h).  Input: the key
 * file's bytes, copied into an exact-size heap buffer (not NUL-terminated) so any over-read is an
 * ASan finding.  Checks: parse returns 0, INVALID or NOMEM; an accepted file has 1..1024 keys with
 * distinct non-zero ids and names its last key current, and printing its keys back as "ID:HEX"
 * lines parses to the same keys; a rejected one leaves *out alone and its message is one of the
 * parser's fixed texts with a line number inside the input — so no input byte (and no key) is
 * ever echoed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/keyfile.h"
#include "fuzz_common.h"
#include "util/alloc.h"
#include "util/status.h"

static const char *const line_reasons[] = {
    "a key must be exactly 64 hex digits",
    "a key id must be a decimal number in 1..4294967295",
    "a key without an id is allowed only as the first key",
    "duplicate key id",
    "too many keys",
};

static size_t count_lines(const uint8_t *data, size_t size)
{
    size_t n = 1;
    for (size_t i = 0; i < size; i++) {
        n += data[i] == '\n';
    }
    return n;
}

static void check_message(int rc, const uint8_t *data, size_t size)
{
    const char *msg = st_errmsg();
    if (rc == STRATA_E_NOMEM) {
        FZ_CHECK(strcmp(msg, "no memory for the key file") == 0);
        return;
    }
    if (strcmp(msg, "key file holds no key") == 0) {
        return;
    }
    if (strncmp(msg, "key file is larger than ", 24) == 0) {
        FZ_CHECK(size > ST_KEYFILE_MAX_BYTES);
        return;
    }
    static const char prefix[] = "key file line ";
    FZ_CHECK(strncmp(msg, prefix, sizeof(prefix) - 1) == 0);
    char *end = NULL;
    unsigned long line = strtoul(msg + sizeof(prefix) - 1, &end, 10);
    FZ_CHECK(line >= 1 && line <= count_lines(data, size));
    FZ_CHECK(end[0] == ':' && end[1] == ' ');
    for (size_t i = 0; i < sizeof(line_reasons) / sizeof(line_reasons[0]); i++) {
        if (strcmp(end + 2, line_reasons[i]) == 0) {
            return;
        }
    }
    FZ_CHECK(!"unexpected key file error message");
}

static void check_accepted(const st_keyfile *kf)
{
    FZ_CHECK(kf->n >= 1 && kf->n <= ST_KEYFILE_MAX_KEYS);
    FZ_CHECK(kf->current == kf->keys[kf->n - 1].id);
    for (size_t i = 0; i < kf->n; i++) {
        FZ_CHECK(kf->keys[i].id != 0);
        for (size_t j = 0; j < i; j++) {
            FZ_CHECK(kf->keys[i].id != kf->keys[j].id);
        }
    }
    /* Print back and parse again: the same keys in the same order. */
    size_t cap = kf->n * 80 + 1;
    char *text = st_malloc(cap);
    FZ_CHECK(text != NULL);
    size_t len = 0;
    for (size_t i = 0; i < kf->n; i++) {
        len += (size_t)snprintf(text + len, cap - len, "%u:", (unsigned)kf->keys[i].id);
        for (size_t j = 0; j < sizeof(kf->keys[i].key); j++) {
            text[len++] = "0123456789abcdef"[kf->keys[i].key[j] >> 4];
            text[len++] = "0123456789abcdef"[kf->keys[i].key[j] & 15];
        }
        text[len++] = '\n';
    }
    st_keyfile again = {NULL, 0, 0};
    int rc = st_keyfile_parse(text, len, &again);
    FZ_CHECK(rc == 0 || rc == STRATA_E_NOMEM);
    if (rc == 0) {
        FZ_CHECK(again.n == kf->n && again.current == kf->current);
        FZ_CHECK(memcmp(again.keys, kf->keys, kf->n * sizeof(*kf->keys)) == 0);
    }
    st_keyfile_free(&again);
    st_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *heap = st_malloc(size ? size : 1);
    FZ_CHECK(heap != NULL);
    if (size) {
        memcpy(heap, data, size);
    }
    st_keyfile kf = {(st_keyfile_key *)&kf, 12345, 678}; /* not written on failure */
    int rc = st_keyfile_parse(heap, size, &kf);
    if (rc == 0) {
        check_accepted(&kf);
        st_keyfile_free(&kf);
        FZ_CHECK(kf.keys == NULL && kf.n == 0);
    } else {
        FZ_CHECK(rc == STRATA_E_INVALID || rc == STRATA_E_NOMEM);
        FZ_CHECK(kf.keys == (st_keyfile_key *)&kf && kf.n == 12345 && kf.current == 678);
        check_message(rc, data, size);
    }
    st_free(heap);
    return 0;
}
