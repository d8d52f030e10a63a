/* prot.c — per-key protection checksums and their error message (util/prot.h).  XXH3 is compiled
 * inline here (XXH_INLINE_ALL) rather than called through libxxhash: for the short keys and values
 * this hashes, the call and the library's length dispatch cost as much as the hashing. */
#include "util/prot.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "strata.h"
#include "util/coding.h"
#include "util/ikey.h"
#include "util/status.h"

#define PROT_KEY_SEED 0x9e3779b97f4a7c15ull
#define ESCAPED_KEY_MAX 64 /* key bytes shown in a message */

uint64_t st_prot_kv(int type, st_slice user_key, st_slice value)
{
    uint64_t k = XXH3_64bits_withSeed(user_key.data, user_key.size, PROT_KEY_SEED ^ (uint64_t)type);
    uint64_t v = XXH3_64bits(value.data, value.size);
    return k ^ ((v << 31) | (v >> 33)); /* rotated: a key and value swapping places differ */
}

uint64_t st_prot_ikv(st_slice ikey, st_slice value)
{
    uint64_t trailer = st_ikey_trailer(ikey);
    return st_prot_with_seq(st_prot_kv((int)(trailer & 0xff), st_ikey_user(ikey), value),
                            trailer >> 8);
}

/* Writes key as printable text: bytes 0x20..0x7e except quote and backslash as they are, others
 * as \xNN, then "..." if the key is longer than ESCAPED_KEY_MAX. */
void st_escape_key(st_slice key, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, n = key.size < ESCAPED_KEY_MAX ? key.size : ESCAPED_KEY_MAX;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)key.data[i];
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (key.size > n && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

int st_prot_error(const char *where, const char *context, st_slice user_key)
{
    char esc[4 * ESCAPED_KEY_MAX + 8];
    st_escape_key(user_key, esc, sizeof(esc));
    return st_err(STRATA_E_CORRUPTION,
                  "per-key protection mismatch in %s%s%s%s" ST_PROT_KEY_MARKER "%s'", where,
                  context ? " (" : "", context ? context : "", context ? ")" : "", esc);
}

size_t st_prot_redacted_len(const char *msg)
{
    const char *cut = strstr(msg, ST_PROT_KEY_MARKER);
    return cut ? (size_t)(cut - msg) : strlen(msg);
}
