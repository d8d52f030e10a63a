/* table_map.c — key ring, table layout and key-less block edits for the integrity suites
 * (table_map.h). */
#include "table_map.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec/checksum.h"
#include "codec/codec.h"
#include "codec/ecc.h"
#include "table/block.h"
#include "util/coding.h"
#include "util/comparator.h"
#include "util/crc32c.h"

/* after the engine headers: cmocka defines a skip() macro that clashes with env.h */
#include "test_util.h"

/* ---- files ---- */

char *tm_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        print_error("cannot open %s: %s\n", path, strerror(errno));
        fail();
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

void tm_spit(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

void tm_join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, TM_PATH_MAX, "%s/%s", dir, name);
    assert_true(n > 0 && n < TM_PATH_MAX);
}

void tm_copy_file(const char *from, const char *to)
{
    size_t len;
    char *data = tm_slurp(from, &len);
    tm_spit(to, data, len);
    free(data);
}

void tm_copy_dir(const char *from, const char *to)
{
    tu_rmdir_all(to);
    assert_int_equal(mkdir(to, 0755), 0);
    DIR *d = opendir(from);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char a[TM_PATH_MAX], b[TM_PATH_MAX];
        tm_join(a, from, e->d_name);
        tm_join(b, to, e->d_name);
        tm_copy_file(a, b);
    }
    closedir(d);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int tm_list_files(const char *dir, const char *pat, int prefix, char names[][64], int cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    char *tmp[64];
    int n = 0;
    size_t pl = strlen(pat);
    while ((e = readdir(d)) != NULL && n < cap && n < 64) {
        size_t l = strlen(e->d_name);
        int hit = prefix ? strncmp(e->d_name, pat, pl) == 0
                         : (l > pl && strcmp(e->d_name + l - pl, pat) == 0);
        if (hit) {
            tmp[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(tmp, (size_t)n, sizeof(tmp[0]), name_cmp);
    for (int i = 0; i < n; i++) {
        snprintf(names[i], 64, "%s", tmp[i]);
        free(tmp[i]);
    }
    return n;
}

/* ---- keys ---- */

static int ring_get(void *state, uint32_t id, unsigned char *key)
{
    tm_keyring *r = state;
    if (id >= TM_MAX_KEYS || !r->have[id]) {
        return -1;
    }
    memcpy(key, r->keys[id], 32);
    return 0;
}

static int ring_current(void *state, uint32_t *id)
{
    *id = ((tm_keyring *)state)->current;
    return 0;
}

void tm_ring_set(tm_keyring *r, uint32_t id, uint64_t seed)
{
    assert_true(id < TM_MAX_KEYS);
    uint64_t x = seed * 0x9E3779B97F4A7C15ULL + id;
    for (int i = 0; i < 32; i++) {
        x += 0x9E3779B97F4A7C15ULL;
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        r->keys[id][i] = (unsigned char)((z ^ (z >> 31)) >> 24);
    }
    r->have[id] = 1;
}

tm_keyring tm_ring_one(uint64_t seed)
{
    tm_keyring r;
    memset(&r, 0, sizeof(r));
    tm_ring_set(&r, 1, seed);
    r.current = 1;
    return r;
}

strata_key_provider *tm_ring_provider(tm_keyring *r)
{
    strata_key_provider *kp = strata_key_provider_create(r, ring_get, ring_current, NULL);
    assert_non_null(kp);
    return kp;
}

st_key_provider *tm_ring_st_provider(tm_keyring *r)
{
    st_key_provider *kp = NULL;
    tu_assert_ok(st_key_provider_create(r, ring_get, ring_current, NULL, &kp));
    return kp;
}

/* ---- table layout ---- */

/* Records the handles in the block at h (the index: data blocks; the metaindex: the rest). */
static void walk_block(st_rfile *f, const st_block_rctx *ctx, st_block_handle h, int kind,
                       tm_table *t)
{
    st_block_contents c;
    tu_assert_ok(st_read_block_ctx(f, ctx, h, kind, 1, 0, &c));
    st_block b;
    tu_assert_ok(st_block_init(&b, c.data, c.heap, ctx->codec.fname, h.offset));
    st_block_iter it;
    st_block_iter_init(&it, &b, kind == ST_BLOCK_INDEX ? st_comparator_bytewise() : NULL);
    for (st_block_iter_seek_to_first(&it); st_block_iter_valid(&it); st_block_iter_next(&it)) {
        st_slice v = it.value;
        st_block_handle eh;
        assert_true(st_handle_decode(&v, &eh));
        if (kind == ST_BLOCK_INDEX) {
            assert_true(t->ndata < TM_MAX_BLOCKS);
            t->data[t->ndata++] = eh;
        } else if (st_slice_starts_with(it.key, st_slice_cstr("filter."))) {
            t->filter = eh;
            t->has_filter = 1;
        } else {
            t->props = eh;
        }
    }
    assert_int_equal(it.status, 0);
    st_block_iter_release(&it);
    st_block_free(&b);
}

void tm_map_table(st_env *env, const char *dir, const char *name, tm_keyring *ring, tm_table *t)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", name);
    unsigned long long num = 0;
    assert_int_equal(sscanf(name, "%llu.sst", &num), 1);
    t->number = num;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    tu_assert_ok(st_env_file_size(env, path, &t->size));
    st_rfile *f;
    tu_assert_ok(st_env_new_random(env, path, &f));
    int healed;
    tu_assert_ok(st_footer_read(f, t->size, path, &t->f, &healed));
    assert_int_equal(healed, 0);
    t->blocks_end = t->size - st_footer_tail_len(&t->f);
    st_key_provider *kp = NULL;
    st_crypt_file *cf = NULL;
    if (t->f.encrypted) {
        assert_non_null(ring);
        kp = tm_ring_st_provider(ring);
        tu_assert_ok(st_crypt_file_create(kp, t->f.key_id, t->f.db_id, t->number,
                                          ST_CRYPT_FILE_TABLE, t->f.salt, &cf));
    }
    st_block_rctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.codec.checksum = t->f.checksum;
    ctx.codec.crypt = cf;
    ctx.codec.parity = t->f.ecc.kind != ST_ECC_NONE;
    ctx.codec.fname = path;
    ctx.ecc = t->f.ecc;
    ctx.blocks_end = t->blocks_end;
    ctx.file_number = t->number;
    t->index = t->f.index;
    t->meta = t->f.metaindex;
    walk_block(f, &ctx, t->f.index, ST_BLOCK_INDEX, t);
    walk_block(f, &ctx, t->f.metaindex, ST_BLOCK_META, t);
    st_crypt_file_destroy(cf);
    st_key_provider_unref(kp);
    st_rfile_close(f);
}

size_t tm_parity_len(const tm_table *t, st_block_handle h)
{
    return t->f.ecc.kind == ST_ECC_NONE ? 0 : st_ecc_parity_len(&t->f.ecc, (size_t)h.size);
}

/* ---- the key-less attacker ---- */

void tm_fix_checksum(char *p, size_t size, uint64_t off, int checksum)
{
    size_t blen = size - st_codec_trailer_len(checksum);
    unsigned char tail[10];
    tail[0] = (unsigned char)p[blen];
    tail[1] = (unsigned char)p[blen + 1];
    st_encode_fixed64((char *)tail + 2, off);
    st_checksum_compute2(checksum, st_slice_make(p, blen), st_slice_make(tail, sizeof(tail)),
                         (unsigned char *)p + blen + 2);
    assert_true(st_codec_verify(checksum, st_slice_make(p, size), off));
}

void tm_reseal_block(char *img, st_block_handle h, const tm_table *t)
{
    char *p = img + h.offset;
    tm_fix_checksum(p, (size_t)h.size, h.offset, t->f.checksum);
    if (t->f.ecc.kind != ST_ECC_NONE) {
        tu_assert_ok(st_ecc_encode(&t->f.ecc, p, (size_t)h.size, p + h.size));
    }
}

void tm_refix_footer(char *img, size_t len, const tm_table *t)
{
    char *p = img + len - ST_FOOTER3_LEN;
    st_encode_fixed32(p + 116, st_crc32c_mask(st_crc32c(p, 116))); /* F3_CRC */
    if (t->f.ecc.kind != ST_ECC_NONE) {
        memcpy(p - ST_FOOTER3_LEN, p, ST_FOOTER3_LEN);
    }
}
