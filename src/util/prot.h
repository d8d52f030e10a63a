/* prot.h — per-key protection (option protection_bytes_per_key): a 64-bit checksum of one entry,
 * type ‖ user key ‖ value, combined with the entry's sequence number once it has one, that travels
 * with the entry through memory (write batch → WAL record → memtable → table builder; and for
 * blocks in the block cache) and is re-checked against the bytes at each hand-off, so a bit that
 * flips in RAM, or a stray write into a buffer, is reported as corruption instead of being
 * persisted or returned.  Nothing here reaches the disk: the WAL and table formats are unchanged.
 *
 * Construction (RocksDB's ProtectionInfo idea): pi(type, key, value) = XXH3(key, seed ^ type) ^
 * rotl(XXH3(value), 31), and pi_seq = pi ^ mix(seq), where mix is a bijective 64-bit finalizer.
 * The XOR lets a batch carry checksums computed before sequence numbers exist, and the memtable
 * add the sequence without hashing again.  Stored copies (memtable entries, cached blocks) keep
 * the low N = protection_bytes_per_key bytes; transient ones (batches, the table builder) keep all
 * 64 bits.  With N bytes a random corruption goes unnoticed with probability 2^-8N.
 *
 * Cost: XXH3 is inlined here (~5–15 ns for a 16-byte key and a 100-byte value). */
#ifndef STRATA_UTIL_PROT_H
#define STRATA_UTIL_PROT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/slice.h"

/* The marker that precedes the (escaped) key in a protection error message.  The info LOG never
 * holds keys (DESIGN §5), so whoever logs such a message cuts it here (st_prot_redacted_len). */
#define ST_PROT_KEY_MARKER ": key '"

/* Checksum of one operation without its sequence number. */
uint64_t st_prot_kv(int type, st_slice user_key, st_slice value);

/* Adds (or, applied again, removes) a sequence number. */
static inline uint64_t st_prot_with_seq(uint64_t pi, uint64_t seq)
{
    uint64_t x = seq + 0x632be59bd9b4e019ull; /* murmur3 fmix64: every output bit depends on seq */
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return pi ^ x;
}

/* Checksum of an internal key (user key ‖ trailer: type and sequence from the trailer) and its
 * value.  REQUIRES ikey.size >= 8. */
uint64_t st_prot_ikv(st_slice ikey, st_slice value);

/* 1 when a and b agree in their low n bytes (n in 1..8). */
static inline int st_prot_match(uint64_t a, uint64_t b, int n)
{
    uint64_t mask = n >= 8 ? ~0ull : (1ull << (8 * n)) - 1;
    return ((a ^ b) & mask) == 0;
}

/* Stores / loads the low n bytes of pi, little-endian, at an unaligned address. */
static inline void st_prot_store(char *dst, uint64_t pi, int n)
{
    for (int i = 0; i < n; i++) {
        dst[i] = (char)(pi >> (8 * i));
    }
}

static inline uint64_t st_prot_load(const char *src, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v |= (uint64_t)(unsigned char)src[i] << (8 * i);
    }
    return v;
}

/* Sets STRATA_E_CORRUPTION with "per-key protection mismatch in <where>[ (<context>)]: key
 * '<key>'" (key printable-escaped, at most 64 of its bytes) and returns the code.  context may be
 * NULL. */
int st_prot_error(const char *where, const char *context, st_slice user_key);

/* Writes key as printable text into out (cap bytes; 4 * 64 + 8 always suffice): printable bytes
 * but quote and backslash as they are, others as \xNN, "..." after the first 64 bytes. */
void st_escape_key(st_slice key, char *out, size_t cap);

/* Length of the part of msg before ST_PROT_KEY_MARKER (strlen(msg) when absent). */
size_t st_prot_redacted_len(const char *msg);

#endif
