/* table_map.h — helpers for the integrity suites (tests/api/test_api_threats.c,
 * tests/corruption/test_corruption_ecc.c): a test key ring (a key provider over up to 8 keys),
 * the layout of one table as only a key holder can read it (every block handle, parity regions,
 * footer and mirror), and what an attacker without the keys can still do to a stored block:
 * recompute its trailer checksum for its place and its parity region; and whole-file helpers.
 * Failures fail the current cmocka test. */
#ifndef STRATA_TESTS_TABLE_MAP_H
#define STRATA_TESTS_TABLE_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "codec/crypt.h"
#include "env/env.h"
#include "strata.h"
#include "table/format.h"

/* ---- files (POSIX) ---- */

#define TM_PATH_MAX 1024

/* The whole file at path (malloc'd; free it). */
char *tm_slurp(const char *path, size_t *len);
/* Writes len bytes to path (created or truncated). */
void tm_spit(const char *path, const char *buf, size_t len);
/* dir/name into out (TM_PATH_MAX bytes). */
void tm_join(char *out, const char *dir, const char *name);
void tm_copy_file(const char *from, const char *to);
/* A fresh copy of directory from at to (to is emptied first; files only, no subdirectories). */
void tm_copy_dir(const char *from, const char *to);
/* The sorted base names in dir (at most cap, each < 64 bytes) ending in pat, or starting with it
 * when prefix; returns how many. */
int tm_list_files(const char *dir, const char *pat, int prefix, char names[][64], int cap);

/* ---- keys ---- */

#define TM_MAX_KEYS 8

typedef struct tm_keyring {
    unsigned char keys[TM_MAX_KEYS][32];
    int have[TM_MAX_KEYS];
    uint32_t current;
} tm_keyring;

/* Gives key id (< TM_MAX_KEYS) 32 pseudo-random bytes derived from seed. */
void tm_ring_set(tm_keyring *r, uint32_t id, uint64_t seed);
/* A ring holding key id 1 (current) from seed. */
tm_keyring tm_ring_one(uint64_t seed);
/* A public provider over r (borrowed: r must outlive every DB and options object using it;
 * changing r->current or r->have takes effect at once).  Owned: strata_key_provider_destroy. */
strata_key_provider *tm_ring_provider(tm_keyring *r);
/* The same as an internal provider (st_key_provider_unref). */
st_key_provider *tm_ring_st_provider(tm_keyring *r);

/* ---- table layout ---- */

#define TM_MAX_BLOCKS 1024

typedef struct tm_table {
    char name[64]; /* base name, NNNNNN.sst */
    uint64_t number, size, blocks_end;
    st_footer f;
    st_block_handle data[TM_MAX_BLOCKS];
    int ndata;
    st_block_handle index, meta, props, filter;
    int has_filter;
} tm_table;

/* Reads the table dir/name of env (with ring's keys when it is encrypted; ring may be NULL for
 * a plaintext table) into t. */
void tm_map_table(st_env *env, const char *dir, const char *name, tm_keyring *ring, tm_table *t);
/* Bytes of the parity region after block h (0 without parity). */
size_t tm_parity_len(const tm_table *t, st_block_handle h);

/* ---- the key-less attacker ---- */

/* Recomputes the trailer checksum of the stored block p[0, size) for a block at file offset off
 * with the codec's rule (codec.c block_checksum: body ‖ type ‖ flags ‖ fixed64(offset)), and
 * asserts st_codec_verify now accepts it. */
void tm_fix_checksum(char *p, size_t size, uint64_t off, int checksum);
/* After an edit of the block at h of the table image img: fixes its checksum for its place and
 * recomputes its parity region, so the block verifies and only authentication can catch it. */
void tm_reseal_block(char *img, st_block_handle h, const tm_table *t);
/* Rewrites the CRC of the version-3 footer at the end of img (len bytes) after an edit, and
 * copies it over the mirror when the table has parity. */
void tm_refix_footer(char *img, size_t len, const tm_table *t);

#endif
