/* ikey.c — internal key encoding and shortening. */
#include "util/ikey.h"

#include "strata.h"
#include "util/status.h"

int st_ikey_append(st_buf *b, st_slice user_key, uint64_t seq, int type)
{
    size_t old = b->len;
    if (st_buf_append(b, user_key.data, user_key.size) ||
        st_buf_put_fixed64(b, st_pack_trailer(seq, type))) {
        b->len = old;
        return STRATA_E_NOMEM;
    }
    return 0;
}

int st_ikey_parse(st_slice ikey, st_slice *user_key, uint64_t *seq, int *type)
{
    if (ikey.size < ST_IKEY_TRAILER) {
        return STRATA_E_CORRUPTION;
    }
    uint64_t t = st_ikey_trailer(ikey);
    int ty = (int)(t & 0xff);
    if (ty > ST_TYPE_MAX) {
        return STRATA_E_CORRUPTION;
    }
    *user_key = st_ikey_user(ikey);
    *seq = t >> 8;
    *type = ty;
    return 0;
}

/* Shorten the user-key part; if it got shorter but larger, append the max trailer so the result
 * still sorts before every entry with that user key. */
static int shorten_common(const st_comparator *ucmp, st_buf *key, st_buf *tmp, int shortened)
{
    (void)ucmp;
    if (!shortened) {
        return 0;
    }
    if (st_buf_put_fixed64(tmp, st_pack_trailer(ST_MAX_SEQ, ST_TYPE_FOR_SEEK))) {
        return STRATA_E_NOMEM;
    }
    return st_buf_assign(key, tmp->data, tmp->len);
}

int st_ikey_shorten(const st_comparator *ucmp, st_buf *start, st_slice limit)
{
    if (!ucmp->bytewise || start->len < ST_IKEY_TRAILER || limit.size < ST_IKEY_TRAILER) {
        return 0;
    }
    st_slice ustart = st_ikey_user(st_buf_slice(start));
    st_buf tmp = ST_BUF_INIT;
    int rc = st_buf_append(&tmp, ustart.data, ustart.size);
    if (!rc) {
        rc = st_ucmp_shorten(ucmp, &tmp, st_ikey_user(limit));
    }
    if (!rc) {
        int shorter = tmp.len < ustart.size && st_ucmp(ucmp, ustart, st_buf_slice(&tmp)) < 0;
        rc = shorten_common(ucmp, start, &tmp, shorter);
    }
    st_buf_free(&tmp);
    return rc;
}

int st_ikey_successor(const st_comparator *ucmp, st_buf *key)
{
    if (!ucmp->bytewise || key->len < ST_IKEY_TRAILER) {
        return 0;
    }
    st_slice ukey = st_ikey_user(st_buf_slice(key));
    st_buf tmp = ST_BUF_INIT;
    int rc = st_buf_append(&tmp, ukey.data, ukey.size);
    if (!rc) {
        rc = st_ucmp_successor(ucmp, &tmp);
    }
    if (!rc) {
        int shorter = tmp.len < ukey.size && st_ucmp(ucmp, ukey, st_buf_slice(&tmp)) < 0;
        rc = shorten_common(ucmp, key, &tmp, shorter);
    }
    st_buf_free(&tmp);
    return rc;
}
