/* crypt.c — AES-256-GCM, HKDF-SHA256 file keys and key providers (crypt.h).
 *
 * One EVP_CIPHER_CTX per thread is kept (a pthread key frees it at thread exit) and keyed per
 * call: a file key's AES schedule costs ~0.1 µs to expand with AES-NI, far below the cost of
 * the 4 KiB block it protects, and sharing no cipher state makes st_crypt_file thread-safe.
 * Every call ends with EVP_CIPHER_CTX_reset, which wipes and frees the key schedule, so no file
 * key outlives its st_crypt_file in a thread's context.  The cipher is fetched once (OpenSSL 3
 * would otherwise look EVP_aes_256_gcm() up in its global method store on every call). */
#include "codec/crypt.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "codec/keyfile.h"
#include "strata.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/status.h"

#define NONCE_LEN 12
#define CTX_POOL 4
#define HKDF_LABEL "strata-file-key-v1"

/* ---- key providers ----------------------------------------------------------------------------- */

struct st_key_provider {
    atomic_int refs;
    void *state;
    int (*get_key)(void *state, uint32_t key_id, unsigned char *key);
    int (*current_key_id)(void *state, uint32_t *key_id);
    void (*destructor)(void *state);
};

int st_key_provider_create(void *state,
                           int (*get_key)(void *state, uint32_t key_id, unsigned char *key),
                           int (*current_key_id)(void *state, uint32_t *key_id),
                           void (*destructor)(void *state), st_key_provider **out)
{
    if (!get_key || !current_key_id || !out) {
        return st_err(STRATA_E_INVALID, "key provider: get_key and current_key_id are required");
    }
    st_key_provider *p = st_calloc(1, sizeof(*p));
    if (!p) {
        return st_err(STRATA_E_NOMEM, "no memory for a key provider");
    }
    atomic_init(&p->refs, 1);
    p->state = state;
    p->get_key = get_key;
    p->current_key_id = current_key_id;
    p->destructor = destructor;
    *out = p;
    return 0;
}

void st_key_provider_ref(st_key_provider *p)
{
    if (p) {
        atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    }
}

void st_key_provider_unref(st_key_provider *p)
{
    /* acq_rel: the last unref must see every other holder's use before destroying. */
    if (p && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1) {
        if (p->destructor) {
            p->destructor(p->state);
        }
        st_free(p);
    }
}

int st_key_provider_get(st_key_provider *p, uint32_t key_id, unsigned char *key)
{
    if (p->get_key(p->state, key_id, key) != 0) {
        st_crypt_wipe(key, ST_CRYPT_KEY_LEN);
        return st_err(STRATA_E_AUTH, "no key with id %" PRIu32 " in the key provider", key_id);
    }
    return 0;
}

int st_key_provider_current(st_key_provider *p, uint32_t *key_id)
{
    if (p->current_key_id(p->state, key_id) != 0) {
        return st_err(STRATA_E_AUTH, "the key provider named no current key");
    }
    return 0;
}

/* The file provider's state: a parsed key file. */
static int file_get_key(void *state, uint32_t key_id, unsigned char *key)
{
    const st_keyfile *kf = state;
    for (size_t i = 0; i < kf->n; i++) {
        if (kf->keys[i].id == key_id) {
            memcpy(key, kf->keys[i].key, ST_CRYPT_KEY_LEN);
            return 0;
        }
    }
    return -1;
}

static int file_current(void *state, uint32_t *key_id)
{
    *key_id = ((const st_keyfile *)state)->current;
    return 0;
}

static void file_destroy(void *state)
{
    st_keyfile_free(state);
    st_free(state);
}

/* Reads at most ST_KEYFILE_MAX_BYTES + 1 bytes of path into a new buffer (wiped by the caller).
 * The stream is unbuffered so no stdio buffer (freed unwiped by fclose) ever holds key bytes;
 * "e" opens it O_CLOEXEC so a concurrent fork+exec does not inherit the descriptor. */
static int slurp(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rbe");
    if (!f) {
        return st_err_errno(errno, "key file %s", path);
    }
    setvbuf(f, NULL, _IONBF, 0);
    char *buf = st_malloc(ST_KEYFILE_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, ST_KEYFILE_MAX_BYTES + 1, f) : 0;
    int bad = buf && ferror(f);
    fclose(f);
    if (!buf) {
        return st_err(STRATA_E_NOMEM, "no memory to read key file %s", path);
    }
    if (bad) {
        st_free(buf);
        return st_err(STRATA_E_IO, "key file %s: read error", path);
    }
    *text = buf;
    *len = n;
    return 0;
}

int st_key_provider_from_file(const char *path, st_key_provider **out)
{
    char *text = NULL;
    size_t len = 0;
    int rc = slurp(path, &text, &len);
    if (rc) {
        return rc;
    }
    st_keyfile *kf = st_calloc(1, sizeof(*kf));
    rc = kf ? st_keyfile_parse(text, len, kf) : STRATA_E_NOMEM;
    st_crypt_wipe(text, len);
    st_free(text);
    if (rc == 0) {
        rc = st_key_provider_create(kf, file_get_key, file_current, file_destroy, out);
    }
    if (rc) {
        if (kf) {
            st_keyfile_free(kf);
            st_free(kf);
        }
        return rc == STRATA_E_NOMEM ? st_err(rc, "no memory for key file %s", path)
                                    : st_err_context(rc, "key file %s", path);
    }
    return 0;
}

/* ---- per-file keys ------------------------------------------------------------------------------ */

struct st_crypt_file {
    unsigned char key[ST_CRYPT_KEY_LEN];
    unsigned char db_id[ST_DB_ID_LEN];
    uint64_t number;
    uint32_t key_id;
    /* st_crypt_file_exclusive: a context of this file's own, keyed once (only the nonce changes
     * per call); freed, and so wiped, with the file. */
    EVP_CIPHER_CTX *own;
    /* Shared files (table readers): a few keyed contexts that concurrent callers borrow (busy
     * flag taken with a CAS), made on first use and freed with the file; a caller finding all
     * busy keys the thread's own context instead. */
    _Atomic(EVP_CIPHER_CTX *) pool[CTX_POOL];
    atomic_int busy[CTX_POOL];
};

/* libcrypto failures leave entries on the thread's OpenSSL error queue; clear them so they are
 * not reported later against an unrelated call of the application's own. */
static int crypto_fail(const char *what)
{
    ERR_clear_error();
    return st_err(STRATA_E_INVALID, "libcrypto: %s failed", what);
}

/* file key = HKDF-SHA256(master, salt, info) (crypt.h). */
static int derive(const unsigned char *master, const unsigned char *salt,
                  const unsigned char *info, size_t info_len, unsigned char *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    size_t n = ST_CRYPT_KEY_LEN;
    int ok = ctx && EVP_PKEY_derive_init(ctx) > 0 &&
             EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) > 0 &&
             EVP_PKEY_CTX_set1_hkdf_salt(ctx, salt, ST_CRYPT_SALT_LEN) > 0 &&
             EVP_PKEY_CTX_set1_hkdf_key(ctx, master, ST_CRYPT_KEY_LEN) > 0 &&
             EVP_PKEY_CTX_add1_hkdf_info(ctx, info, (int)info_len) > 0 &&
             EVP_PKEY_derive(ctx, out, &n) > 0 && n == ST_CRYPT_KEY_LEN;
    EVP_PKEY_CTX_free(ctx);
    return ok ? 0 : crypto_fail("HKDF");
}

int st_crypt_file_create(st_key_provider *kp, uint32_t key_id, const unsigned char *db_id,
                         uint64_t file_number, int kind, const unsigned char *salt,
                         st_crypt_file **out)
{
    unsigned char master[ST_CRYPT_KEY_LEN];
    unsigned char info[sizeof(HKDF_LABEL) - 1 + ST_DB_ID_LEN + 8 + 1 + 4];
    /* kind is bound as one byte: an unknown kind would alias a known one (0x101 == 0x01). */
    if (kind != ST_CRYPT_FILE_TABLE && kind != ST_CRYPT_FILE_WAL &&
        kind != ST_CRYPT_FILE_MANIFEST && kind != ST_CRYPT_FILE_IDENTITY) {
        return st_err(STRATA_E_INVALID, "file key: unknown file kind %d", kind);
    }
    size_t n = sizeof(HKDF_LABEL) - 1;
    memcpy(info, HKDF_LABEL, n);
    memcpy(info + n, db_id, ST_DB_ID_LEN);
    n += ST_DB_ID_LEN;
    st_encode_fixed64((char *)info + n, file_number);
    n += 8;
    info[n++] = (unsigned char)kind;
    st_encode_fixed32((char *)info + n, key_id);
    n += 4;
    st_crypt_file *f = st_calloc(1, sizeof(*f));
    if (!f) {
        return st_err(STRATA_E_NOMEM, "no memory for a file key");
    }
    int rc = st_key_provider_get(kp, key_id, master);
    if (rc == 0) {
        rc = derive(master, salt, info, n, f->key);
    }
    st_crypt_wipe(master, sizeof(master));
    if (rc) {
        st_crypt_file_destroy(f);
        return rc;
    }
    memcpy(f->db_id, db_id, ST_DB_ID_LEN);
    f->number = file_number;
    f->key_id = key_id;
    *out = f;
    return 0;
}

void st_crypt_file_destroy(st_crypt_file *f)
{
    if (f) {
        EVP_CIPHER_CTX_free(f->own); /* cleanses the key schedule */
        for (int i = 0; i < CTX_POOL; i++) {
            EVP_CIPHER_CTX_free(atomic_load_explicit(&f->pool[i], memory_order_acquire));
        }
        st_crypt_wipe(f, sizeof(*f));
        st_free(f);
    }
}

uint32_t st_crypt_file_key_id(const st_crypt_file *f)
{
    return f->key_id;
}

uint64_t st_crypt_file_number(const st_crypt_file *f)
{
    return f->number;
}

const unsigned char *st_crypt_file_db_id(const st_crypt_file *f)
{
    return f->db_id;
}

/* ---- AES-256-GCM --------------------------------------------------------------------------------- */

static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static int ctx_key_ok;           /* written once under ctx_once, read after it */
static const EVP_CIPHER *gcm;    /* fetched once under ctx_once; never freed (process lifetime) */

static void free_ctx(void *ctx)
{
    EVP_CIPHER_CTX_free(ctx);
}

static void init_once(void)
{
    ctx_key_ok = pthread_key_create(&ctx_key, free_ctx) == 0;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
#endif
    if (!gcm) {
        gcm = EVP_aes_256_gcm();
    }
}

/* The calling thread's cipher context (NULL when out of memory). */
static EVP_CIPHER_CTX *thread_ctx(void)
{
    pthread_once(&ctx_once, init_once);
    if (!ctx_key_ok) {
        return NULL;
    }
    EVP_CIPHER_CTX *ctx = pthread_getspecific(ctx_key);
    if (!ctx && (ctx = EVP_CIPHER_CTX_new()) != NULL && pthread_setspecific(ctx_key, ctx) != 0) {
        EVP_CIPHER_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

static void make_nonce(uint64_t counter, unsigned char *nonce)
{
    st_encode_fixed64((char *)nonce, counter);
    memset(nonce + 8, 0, NONCE_LEN - 8);
}

/* OpenSSL takes int lengths: blocks and records are far below 2 GiB, but say so if not. */
static int too_long(size_t n, size_t aad_len)
{
    return n > (size_t)INT32_MAX || aad_len > (size_t)INT32_MAX;
}

/* One GCM pass: enc = 1 seals (tag is written), 0 opens (tag is checked).  GCM is a stream mode,
 * so Update writes all n bytes and Final none; Final still gets a buffer of its own, since out
 * may be NULL when n is 0.  For decryption Final is where the tag is compared: only its result
 * says the data is authentic.  The reset at the end wipes the key schedule (crypt.c header). */
/* Borrows a keyed context of f's pool: its slot index, or -1 when all are busy (or one cannot
 * be made).  The busy flag's acquire/release pairs with the previous borrower's release. */
static int pool_take(st_crypt_file *f)
{
    pthread_once(&ctx_once, init_once);
    if (!gcm) {
        return -1;
    }
    for (int i = 0; i < CTX_POOL; i++) {
        int idle = 0;
        if (!atomic_compare_exchange_strong_explicit(&f->busy[i], &idle, 1, memory_order_acquire,
                                                     memory_order_relaxed)) {
            continue;
        }
        if (atomic_load_explicit(&f->pool[i], memory_order_relaxed)) {
            return i;
        }
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        if (ctx && EVP_CipherInit_ex(ctx, gcm, NULL, f->key, NULL, 0) > 0) {
            atomic_store_explicit(&f->pool[i], ctx, memory_order_release);
            return i;
        }
        EVP_CIPHER_CTX_free(ctx);
        ERR_clear_error();
        atomic_store_explicit(&f->busy[i], 0, memory_order_release);
        return -1;
    }
    return -1;
}

static int gcm_run(const st_crypt_file *cf, int enc, uint64_t counter, const void *aad,
                   size_t aad_len, const void *in, size_t n, void *out, unsigned char *tag)
{
    st_crypt_file *f = (st_crypt_file *)cf; /* only the context pool changes */
    int slot = f->own ? -1 : pool_take(f);
    EVP_CIPHER_CTX *keyed = f->own ? f->own
                            : slot >= 0 ? atomic_load_explicit(&f->pool[slot], memory_order_relaxed)
                                        : NULL;
    EVP_CIPHER_CTX *ctx = keyed ? keyed : thread_ctx();
    unsigned char nonce[NONCE_LEN], fin[EVP_MAX_BLOCK_LENGTH];
    int len = 0, flen = 0;
    if (!ctx) {
        return STRATA_E_NOMEM;
    }
    make_nonce(counter, nonce);
    /* A keyed context keeps its key schedule: only the nonce (and direction) is set. */
    int ok = EVP_CipherInit_ex(ctx, keyed ? NULL : gcm, NULL, keyed ? NULL : f->key, nonce,
                               enc) > 0 &&
             (aad_len == 0 || EVP_CipherUpdate(ctx, NULL, &len, aad, (int)aad_len) > 0) &&
             (n == 0 || (EVP_CipherUpdate(ctx, out, &len, in, (int)n) > 0 && (size_t)len == n)) &&
             (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, ST_CRYPT_TAG_LEN, tag) > 0) &&
             EVP_CipherFinal_ex(ctx, fin, &flen) > 0 && flen == 0 &&
             (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, ST_CRYPT_TAG_LEN, tag) > 0);
    if (!keyed) {
        EVP_CIPHER_CTX_reset(ctx);
    }
    if (slot >= 0) {
        atomic_store_explicit(&f->busy[slot], 0, memory_order_release);
    }
    if (!ok) {
        ERR_clear_error(); /* see crypto_fail */
    }
    return ok ? 0 : -1;
}

int st_crypt_file_exclusive(st_crypt_file *f)
{
    if (f->own) {
        return 0;
    }
    pthread_once(&ctx_once, init_once);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) {
        return st_err(STRATA_E_NOMEM, "no memory for a cipher context");
    }
    if (EVP_CipherInit_ex(ctx, gcm, NULL, f->key, NULL, 1) <= 0) {
        EVP_CIPHER_CTX_free(ctx);
        return crypto_fail("AES-256-GCM key setup");
    }
    f->own = ctx;
    return 0;
}

int st_crypt_seal(const st_crypt_file *f, uint64_t counter, const void *aad, size_t aad_len,
                  const void *in, size_t n, void *out, unsigned char *tag)
{
    if (too_long(n, aad_len)) {
        return st_err(STRATA_E_INVALID, "encrypt: %zu bytes of data and %zu of aad is too long", n,
                      aad_len);
    }
    int rc = gcm_run(f, 1, counter, aad, aad_len, in, n, out, tag);
    if (rc == STRATA_E_NOMEM) {
        return st_err(rc, "no memory for a cipher context");
    }
    return rc ? crypto_fail("AES-256-GCM encryption") : 0;
}

int st_crypt_open(const st_crypt_file *f, uint64_t counter, const void *aad, size_t aad_len,
                  const void *in, size_t n, const unsigned char *tag, void *out)
{
    unsigned char tagcopy[ST_CRYPT_TAG_LEN];
    if (too_long(n, aad_len)) {
        return st_err(STRATA_E_AUTH, "authentication failed: %zu bytes of data and %zu of aad is "
                      "too long", n, aad_len);
    }
    memcpy(tagcopy, tag, sizeof(tagcopy)); /* the ctrl call takes a non-const pointer */
    int rc = gcm_run(f, 0, counter, aad, aad_len, in, n, out, tagcopy);
    if (rc == STRATA_E_NOMEM) {
        return st_err(rc, "no memory for a cipher context");
    }
    return rc ? st_err(STRATA_E_AUTH, "authentication failed: wrong key or tampered data") : 0;
}

int st_crypt_random(void *buf, size_t n)
{
    if (n > (size_t)INT32_MAX || RAND_bytes(buf, (int)n) != 1) {
        return st_err(STRATA_E_IO, "the random number generator failed");
    }
    return 0;
}

void st_crypt_wipe(void *p, size_t n)
{
    if (p && n) {
        OPENSSL_cleanse(p, n);
    }
}
