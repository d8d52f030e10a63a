/* encode.c — the key/value encodings of the tool (docs/CLI.md "Encodings"):
 *   escaped (default): printable ASCII as is, backslash as "\\", every other byte as "\xNN";
 *                      input also accepts \n \t \r \0.
 *   hex:               two lowercase hex digits per byte (input accepts either case);
 *   raw:               the bytes unchanged.
 * Escaped and hex output never contains a tab or newline, so it is safe in TSV lines. */
#include <string.h>

#include "cli.h"

static const char hexdig[] = "0123456789abcdef";

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int encode_escaped(st_slice in, st_buf *out)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < in.size; i++) {
        unsigned char ch = (unsigned char)in.data[i];
        if (ch == '\\') {
            rc = st_buf_append(out, "\\\\", 2);
        } else if (ch >= 0x20 && ch < 0x7f) {
            rc = st_buf_put_u8(out, ch);
        } else {
            char e[4] = {'\\', 'x', hexdig[ch >> 4], hexdig[ch & 15]};
            rc = st_buf_append(out, e, 4);
        }
    }
    return rc;
}

static int encode_hex(st_slice in, st_buf *out)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < in.size; i++) {
        unsigned char ch = (unsigned char)in.data[i];
        char e[2] = {hexdig[ch >> 4], hexdig[ch & 15]};
        rc = st_buf_append(out, e, 2);
    }
    return rc;
}

int cli_encode(int enc, st_slice in, st_buf *out)
{
    if (enc == CLI_ENC_HEX) {
        return encode_hex(in, out);
    }
    if (enc == CLI_ENC_RAW) {
        return st_buf_append(out, in.data, in.size);
    }
    return encode_escaped(in, out);
}

/* One escape sequence at t[*i] (the backslash); appends the byte. */
static int decode_escape(const char *t, size_t len, size_t *i, st_buf *out)
{
    if (*i + 1 >= len) {
        return STRATA_E_INVALID;
    }
    char ch = t[++*i];
    switch (ch) {
        case '\\':
            return st_buf_put_u8(out, '\\');
        case 'n':
            return st_buf_put_u8(out, '\n');
        case 't':
            return st_buf_put_u8(out, '\t');
        case 'r':
            return st_buf_put_u8(out, '\r');
        case '0':
            return st_buf_put_u8(out, 0);
        case 'x':
            if (*i + 2 < len && hexval(t[*i + 1]) >= 0 && hexval(t[*i + 2]) >= 0) {
                int v = hexval(t[*i + 1]) * 16 + hexval(t[*i + 2]);
                *i += 2;
                return st_buf_put_u8(out, (uint8_t)v);
            }
            return STRATA_E_INVALID;
        default:
            return STRATA_E_INVALID;
    }
}

static int decode_escaped(const char *t, size_t len, st_buf *out)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < len; i++) {
        rc = t[i] == '\\' ? decode_escape(t, len, &i, out) : st_buf_put_u8(out, (uint8_t)t[i]);
    }
    return rc;
}

static int decode_hex(const char *t, size_t len, st_buf *out)
{
    int rc = len % 2 ? STRATA_E_INVALID : 0;
    for (size_t i = 0; !rc && i < len; i += 2) {
        int hi = hexval(t[i]), lo = hexval(t[i + 1]);
        rc = hi < 0 || lo < 0 ? STRATA_E_INVALID : st_buf_put_u8(out, (uint8_t)(hi * 16 + lo));
    }
    return rc;
}

int cli_decode(int enc, const char *text, size_t len, st_buf *out)
{
    st_buf_clear(out);
    if (enc == CLI_ENC_HEX) {
        return decode_hex(text, len, out);
    }
    if (enc == CLI_ENC_RAW) {
        return st_buf_append(out, text, len);
    }
    return decode_escaped(text, len, out);
}

void cli_print(FILE *f, int enc, st_slice s)
{
    st_buf b = ST_BUF_INIT;
    if (cli_encode(enc, s, &b) == 0 && b.len > 0) { /* an empty b has no data pointer */
        fwrite(b.data, 1, b.len, f);
    }
    st_buf_free(&b);
}

int cli_arg_bytes(const cli_ctx *c, const char *arg, st_buf *out)
{
    int rc = cli_decode(c->enc, arg, strlen(arg), out);
    if (rc == STRATA_E_INVALID) {
        return cli_usage_error("malformed %s argument \"%s\"",
                               c->enc == CLI_ENC_HEX ? "hex" : "escaped", arg);
    }
    return rc ? cli_fail(rc, "argument") : 0;
}
