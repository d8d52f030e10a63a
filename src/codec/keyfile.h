/* keyfile.h — the key file read by the file-based key provider (options `encryption_key_file`,
 * CLI `--key-file`).
 *
 * Text, one key per line.  Blank lines and lines starting with '#' are ignored; a line may end
 * in "\r\n".  A key line is either 64 hex digits (a 32-byte key with key id 1; allowed only as the
 * first key line) or "ID:HEX" with ID a decimal key id in 1..4294967295 and HEX 64 hex digits.
 * Whitespace around ID and HEX is ignored.  Key ids must be distinct; the last key line names
 * the current key (the one new files use).  At most ST_KEYFILE_MAX_KEYS keys and
 * ST_KEYFILE_MAX_BYTES bytes.  Error messages name the line number, never key bytes.
 * Format: docs/SECURITY.md "Key files". */
#ifndef STRATA_CODEC_KEYFILE_H
#define STRATA_CODEC_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#define ST_KEYFILE_MAX_KEYS 1024
#define ST_KEYFILE_MAX_BYTES (1u << 20)

typedef struct st_keyfile_key {
    uint32_t id;
    unsigned char key[32];
} st_keyfile_key;

typedef struct st_keyfile {
    st_keyfile_key *keys; /* n entries, in file order */
    size_t n;
    uint32_t current;     /* id of the last key line */
} st_keyfile;

/* Parses len bytes of text (need not be NUL-terminated).  Errors: INVALID (malformed, no key,
 * duplicate id, too large; message "key file line N: ..."), NOMEM.  On success *out owns its keys:
 * free with st_keyfile_free (which wipes them). */
int st_keyfile_parse(const char *text, size_t len, st_keyfile *out);
/* Wipes and frees the keys; kf itself is the caller's.  NULL ok. */
void st_keyfile_free(st_keyfile *kf);

#endif
