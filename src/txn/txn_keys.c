/* txn_keys.c — a transaction's tracked keys: an open-addressing hash table keyed by (family id,
 * key), linear probing, doubled at half full.  Never shrinks: a transaction is short-lived. */
#include <string.h>

#include "txn/txn.h"
#include "util/alloc.h"
#include "util/hash.h"
#include "util/status.h"

static uint64_t hash_of(uint32_t cf, st_slice key)
{
    uint64_t h = st_hash64_seed(key.data, key.size, cf);
    return h ? h : 1; /* 0 marks an empty slot */
}

static st_txn_key *probe(st_txn_key *slots, size_t cap, uint64_t h, uint32_t cf, st_slice key)
{
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
        st_txn_key *s = &slots[i];
        if (s->hash == 0 || (s->hash == h && s->cf_id == cf && s->klen == key.size &&
                             memcmp(s->key, key.data, key.size) == 0)) {
            return s;
        }
    }
}

static int grow(st_txn_keys *k)
{
    size_t cap = k->cap ? 2 * k->cap : 16;
    st_txn_key *slots = st_calloc(cap, sizeof(*slots));
    if (!slots) {
        return st_err(STRATA_E_NOMEM, "out of memory tracking a transaction's keys");
    }
    for (size_t i = 0; i < k->cap; i++) {
        st_txn_key *s = &k->slots[i];
        if (s->hash) {
            *probe(slots, cap, s->hash, s->cf_id, st_slice_make(s->key, s->klen)) = *s;
        }
    }
    st_free(k->slots);
    k->slots = slots;
    k->cap = cap;
    return 0;
}

st_txn_key *st_txn_keys_get(st_txn_keys *k, const st_txn_family *f, st_slice key)
{
    if (2 * (k->n + 1) > k->cap && grow(k)) {
        return NULL;
    }
    uint64_t h = hash_of(f->id, key);
    st_txn_key *s = probe(k->slots, k->cap, h, f->id, key);
    if (s->hash) {
        return s;
    }
    char *copy = st_memdup(key.data, key.size ? key.size : 1);
    if (!copy) {
        st_err(STRATA_E_NOMEM, "out of memory tracking a transaction's keys");
        return NULL;
    }
    *s = (st_txn_key){h, f->cf, f->id, copy, key.size, 0, 0, 0};
    k->n++;
    return s;
}

const st_txn_key *st_txn_keys_find(const st_txn_keys *k, uint32_t cf_id, st_slice key)
{
    if (k->n == 0) {
        return NULL;
    }
    const st_txn_key *s = probe(k->slots, k->cap, hash_of(cf_id, key), cf_id, key);
    return s->hash ? s : NULL;
}

void st_txn_keys_free(st_txn_keys *k)
{
    for (size_t i = 0; i < k->cap; i++) {
        st_free(k->slots[i].key);
    }
    st_free(k->slots);
    memset(k, 0, sizeof(*k));
}
