/* keyfile.c — key file parser (keyfile.h).  Every byte of the input is treated as hostile: the
 * parser reads within len, keeps no pointer into text, and wipes its own key copies on error. */
#include "codec/keyfile.h"

#include <string.h>

#include "codec/crypt.h"
#include "strata.h"
#include "util/alloc.h"
#include "util/status.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* [b, e) with surrounding blanks removed. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && is_space(**b)) {
        (*b)++;
    }
    while (*e > *b && is_space((*e)[-1])) {
        (*e)--;
    }
}

static int bad_line(size_t line, const char *what)
{
    return st_err(STRATA_E_INVALID, "key file line %zu: %s", line, what);
}

/* 64 hex digits -> 32 bytes. */
static int parse_hex(const char *b, const char *e, unsigned char *key, size_t line)
{
    if (e - b != 2 * ST_CRYPT_KEY_LEN) {
        return bad_line(line, "a key must be exactly 64 hex digits");
    }
    for (size_t i = 0; i < ST_CRYPT_KEY_LEN; i++) {
        int hi = hexval(b[2 * i]), lo = hexval(b[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return bad_line(line, "a key must be exactly 64 hex digits");
        }
        key[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* Decimal key id in 1..UINT32_MAX. */
static int parse_id(const char *b, const char *e, uint32_t *id, size_t line)
{
    uint64_t v = 0;
    if (b == e || e - b > 10) {
        return bad_line(line, "a key id must be a decimal number in 1..4294967295");
    }
    for (const char *p = b; p < e; p++) {
        if (*p < '0' || *p > '9') {
            return bad_line(line, "a key id must be a decimal number in 1..4294967295");
        }
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v == 0 || v > UINT32_MAX) {
        return bad_line(line, "a key id must be a decimal number in 1..4294967295");
    }
    *id = (uint32_t)v;
    return 0;
}

/* One non-comment, non-blank line [b, e) into key. */
static int parse_key_line(const st_keyfile *kf, const char *b, const char *e, size_t line,
                          st_keyfile_key *key)
{
    const char *colon = memchr(b, ':', (size_t)(e - b));
    int rc;
    if (!colon) {
        if (kf->n != 0) {
            return bad_line(line, "a key without an id is allowed only as the first key");
        }
        key->id = 1;
        rc = parse_hex(b, e, key->key, line);
    } else {
        const char *ib = b, *ie = colon, *hb = colon + 1, *he = e;
        trim(&ib, &ie);
        trim(&hb, &he);
        rc = parse_id(ib, ie, &key->id, line);
        rc = rc ? rc : parse_hex(hb, he, key->key, line);
    }
    for (size_t i = 0; rc == 0 && i < kf->n; i++) {
        if (kf->keys[i].id == key->id) {
            rc = bad_line(line, "duplicate key id");
        }
    }
    return rc;
}

static int add_key(st_keyfile *kf, const st_keyfile_key *key, size_t *cap, size_t line)
{
    if (kf->n == ST_KEYFILE_MAX_KEYS) {
        return bad_line(line, "too many keys");
    }
    if (kf->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        st_keyfile_key *nk = st_calloc(ncap, sizeof(*nk));
        if (!nk) {
            return st_err(STRATA_E_NOMEM, "no memory for the key file");
        }
        if (kf->n) {
            memcpy(nk, kf->keys, kf->n * sizeof(*nk));
            st_crypt_wipe(kf->keys, kf->n * sizeof(*nk));
        }
        st_free(kf->keys);
        kf->keys = nk;
        *cap = ncap;
    }
    kf->keys[kf->n++] = *key;
    kf->current = key->id;
    return 0;
}

int st_keyfile_parse(const char *text, size_t len, st_keyfile *out)
{
    st_keyfile kf = {NULL, 0, 0};
    size_t cap = 0, line = 0;
    int rc = 0;
    if (len > ST_KEYFILE_MAX_BYTES) {
        return st_err(STRATA_E_INVALID, "key file is larger than %u bytes", ST_KEYFILE_MAX_BYTES);
    }
    for (const char *p = text, *end = len ? text + len : text; rc == 0 && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *b = p, *e = nl ? nl : end;
        p = nl ? nl + 1 : end;
        line++;
        trim(&b, &e);
        if (b == e || *b == '#') {
            continue;
        }
        st_keyfile_key key;
        rc = parse_key_line(&kf, b, e, line, &key);
        rc = rc ? rc : add_key(&kf, &key, &cap, line);
        st_crypt_wipe(&key, sizeof(key));
    }
    if (rc == 0 && kf.n == 0) {
        rc = st_err(STRATA_E_INVALID, "key file holds no key");
    }
    if (rc) {
        st_keyfile_free(&kf);
        return rc;
    }
    *out = kf;
    return 0;
}

void st_keyfile_free(st_keyfile *kf)
{
    if (kf) {
        if (kf->keys) {
            st_crypt_wipe(kf->keys, kf->n * sizeof(*kf->keys));
            st_free(kf->keys);
        }
        kf->keys = NULL;
        kf->n = 0;
        kf->current = 0;
    }
}
