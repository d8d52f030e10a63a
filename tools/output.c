/* output.c — JSON output helpers.  Keys and values are first rendered in the selected encoding
 * (escaped by default, so the JSON string is printable ASCII), then written as a JSON string with
 * RFC 8259 escaping; with --raw, bytes that are not valid in a JSON string are escaped as \u00NN,
 * i.e. each byte maps to the code point of the same value. */
#include <string.h>

#include "cli.h"

void cli_json_str(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            putchar('\\');
            putchar(ch);
        } else if (ch < 0x20 || ch >= 0x7f) {
            printf("\\u%04x", ch);
        } else {
            putchar(ch);
        }
    }
    putchar('"');
}

void cli_json_bytes(int enc, st_slice s)
{
    st_buf b = ST_BUF_INIT;
    if (cli_encode(enc, s, &b) == 0) {
        cli_json_str(b.data ? b.data : "", b.len);
    } else {
        cli_json_str("", 0);
    }
    st_buf_free(&b);
}

void cli_json_key(const char *name)
{
    cli_json_str(name, strlen(name));
    putchar(':');
}
