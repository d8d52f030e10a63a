/* crypt_api.c — the public key-provider handles (strata.h "Encryption keys").  A
 * strata_key_provider is the engine's refcounted st_key_provider (codec/crypt.h); the user's
 * handle is one reference, each options object and open DB holds another. */
#include "codec/crypt.h"
#include "strata.h"
#include "util/status.h"

STRATA_EXPORT strata_key_provider *strata_key_provider_create(
    void *state, int (*get_key)(void *state, uint32_t key_id, unsigned char *key),
    int (*current_key_id)(void *state, uint32_t *key_id), void (*destructor)(void *state))
{
    st_key_provider *p = NULL;
    if (st_key_provider_create(state, get_key, current_key_id, destructor, &p)) {
        return NULL;
    }
    return (strata_key_provider *)p;
}

STRATA_EXPORT int strata_key_provider_create_file(const char *path, strata_key_provider **out)
{
    if (out) {
        *out = NULL;
    }
    if (!path || !out) {
        return st_err(STRATA_E_INVALID, "strata_key_provider_create_file: NULL argument");
    }
    st_key_provider *p = NULL;
    int rc = st_key_provider_from_file(path, &p);
    *out = rc ? NULL : (strata_key_provider *)p;
    return rc;
}

STRATA_EXPORT void strata_key_provider_destroy(strata_key_provider *kp)
{
    st_key_provider_unref((st_key_provider *)kp);
}
