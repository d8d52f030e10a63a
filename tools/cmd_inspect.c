/* cmd_inspect.c — read-only inspection: `sst dump|props|verify FILE`, `wal dump FILE`,
 * `manifest dump [FILE]`, `stats`, `approx-size FROM TO`.  File-level commands read the files
 * directly with the engine's internal readers (no DB open, no lock), so they work on a DB that
 * does not open.  Byte layouts: docs/FORMAT.md ("Table", "Record log", "Write batch", "MANIFEST").
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "codec/codec.h"
#include "db/version_edit.h"
#include "db/write_batch.h"
#include "env/env.h"
#include "table/block.h"
#include "table/format.h"
#include "table/table_reader.h"
#include "util/alloc.h"
#include "util/ikey.h"
#include "util/status.h"
#include "wal/log_reader.h"

static const char *type_name(int type)
{
    static const char *names[] = {"del", "put", "merge", "blob", "range-del", "single-del", "put-ttl"};
    _Static_assert(sizeof(names) / sizeof(names[0]) == ST_TYPE_MAX + 1, "a name per type");
    return type >= 0 && type <= ST_TYPE_MAX ? names[type] : "?";
}

/* An internal key: human "key @seq type", JSON {"key":..,"seq":..,"type":..}. */
static void print_ikey(const cli_ctx *c, st_slice ikey)
{
    st_slice ukey;
    uint64_t seq;
    int type;
    if (st_ikey_parse(ikey, &ukey, &seq, &type) != 0) {
        if (c->json) {
            printf("{\"bad_ikey\":");
            cli_json_bytes(CLI_ENC_HEX, ikey);
            printf("}");
        } else {
            printf("<bad internal key ");
            cli_print(stdout, CLI_ENC_HEX, ikey);
            printf(">");
        }
        return;
    }
    if (c->json) {
        printf("{\"key\":");
        cli_json_bytes(c->enc, ukey);
        printf(",\"seq\":%" PRIu64 ",\"type\":\"%s\"}", seq, type_name(type));
    } else {
        printf("'");
        cli_print(stdout, c->enc, ukey);
        printf("' @%" PRIu64 " %s", seq, type_name(type));
    }
}

static int want_sub(const cli_ctx *c, const char *sub, int nargs)
{
    if (c->nargs < 1 || strcmp(c->args[0], sub) != 0 || c->nargs != nargs) {
        return cli_usage_error("usage: strata %s %s%s", c->cmd, sub, nargs > 1 ? " FILE" : "");
    }
    return 0;
}

/* ---- sst ------------------------------------------------------------------------------------ */

typedef struct sst {
    const char *fname;
    st_rfile *file;
    uint64_t size;
    st_table *table;
    st_footer footer;
} sst;

static int sst_open(sst *s, const char *fname)
{
    st_env *env = st_env_posix();
    st_table_read_options o = {st_comparator_bytewise(), NULL, NULL, fname, 0, 0,
                               cli_integrity(fname, 0), cli_file_number(fname)};
    memset(s, 0, sizeof(*s));
    s->fname = fname;
    int rc = st_env_file_size(env, fname, &s->size);
    if (!rc)
        rc = st_env_new_random(env, fname, &s->file);
    if (!rc && s->size >= ST_FOOTER_LEN) {
        int healed;
        rc = st_footer_read(s->file, s->size, fname, &s->footer, &healed);
    }
    if (!rc)
        rc = st_table_open(&o, s->file, s->size, &s->table);
    if (rc)
        st_rfile_close(s->file);
    return rc;
}

static void sst_close(sst *s)
{
    st_table_close(s->table); /* owns the file */
}

static void print_props(const cli_ctx *c, const st_table_props *p)
{
#define PROP(name)     \
    {                  \
#name, p->name \
    }
    const struct {
        const char *name;
        uint64_t v;
    } ints[] = {PROP(format_version),  PROP(num_entries),  PROP(num_deletions),
                PROP(num_data_blocks), PROP(raw_key_size), PROP(raw_value_size),
                PROP(data_size),       PROP(index_size),   PROP(filter_size),
                PROP(smallest_seq),    PROP(largest_seq),  PROP(compression),
                PROP(checksum),        PROP(creation_time)};
#undef PROP
    size_t n = sizeof(ints) / sizeof(ints[0]);
    if (c->json)
        printf("{");
    for (size_t i = 0; i < n; i++) {
        if (c->json)
            printf("%s\"%s\":%" PRIu64, i ? "," : "", ints[i].name, ints[i].v);
        else
            printf("  %-16s %" PRIu64 "\n", ints[i].name, ints[i].v);
    }
    if (c->json) {
        printf(",\"filter_name\":");
        cli_json_str(p->filter_name, strlen(p->filter_name));
        printf(",\"comparator_name\":");
        cli_json_str(p->comparator_name, strlen(p->comparator_name));
        printf("}");
    } else {
        printf("  %-16s %s\n  %-16s %s\n", "filter_name", p->filter_name, "comparator_name",
               p->comparator_name);
    }
}

/* The stored trailer of the block at h: compression type, flags and whether the checksum holds. */
static int print_trailer(const cli_ctx *c, const sst *s, st_block_handle h)
{
    size_t tl = st_codec_trailer_len(s->footer.checksum);
    char *buf = malloc(h.size ? h.size : 1);
    st_slice r;
    int rc = buf ? st_rfile_read(s->file, h.offset, h.size, buf, &r) : STRATA_E_NOMEM;
    if (!rc && (r.size != h.size || r.size < tl))
        rc = STRATA_E_CORRUPTION;
    if (!rc) {
        int ok = st_codec_verify(s->footer.checksum, r, h.offset);
        unsigned t = (unsigned char)r.data[r.size - tl], f = (unsigned char)r.data[r.size - tl + 1];
        if (c->json)
            printf(",\"compression\":%u,\"flags\":%u,\"checksum_ok\":%s", t, f,
                   ok ? "true" : "false");
        else
            printf(" compression %u flags 0x%02x checksum %s", t, f, ok ? "ok" : "MISMATCH");
    }
    free(buf);
    return rc;
}

/* Index entries: separator key and data block handle, with the data block's trailer. */
static int print_index(const cli_ctx *c, const sst *s)
{
    st_block_contents bc;
    st_block b;
    int rc = st_read_block(s->file, s->footer.checksum, s->footer.index, 1, 0, s->fname, &bc);
    if (rc)
        return rc;
    rc = st_block_init(&b, bc.data, bc.heap, s->fname, s->footer.index.offset);
    if (rc)
        return rc;
    st_iter *it = st_block_iter_new(&b, st_comparator_bytewise());
    int n = 0;
    if (c->json)
        printf(",\"index\":[");
    else
        printf("index (data blocks):\n");
    for (st_iter_seek_to_first(it); it && !rc && st_iter_valid(it); st_iter_next(it), n++) {
        st_slice v = st_iter_value(it);
        st_block_handle h;
        if (!st_handle_decode(&v, &h)) {
            rc = st_err(STRATA_E_CORRUPTION, "%s: bad block handle in index entry %d", s->fname, n);
            break;
        }
        if (c->json)
            printf("%s{\"separator\":", n ? "," : "");
        else
            printf("  #%d separator ", n);
        print_ikey(c, st_iter_key(it));
        if (c->json)
            printf(",\"offset\":%" PRIu64 ",\"size\":%" PRIu64, h.offset, h.size);
        else
            printf(" -> offset %" PRIu64 " size %" PRIu64, h.offset, h.size);
        rc = print_trailer(c, s, h);
        printf(c->json ? "}" : "\n");
    }
    if (!rc && it)
        rc = st_iter_status(it);
    if (c->json)
        printf("]");
    st_iter_destroy(it);
    st_block_free(&b);
    return it ? rc : STRATA_E_NOMEM;
}

static int print_entries(const cli_ctx *c, const sst *s)
{
    st_read_flags rf = {1, 0};
    st_iter *it = st_table_iter(s->table, &rf);
    long long n = 0;
    if (!it)
        return STRATA_E_NOMEM;
    printf(c->json ? ",\"entries\":[" : "entries:\n");
    for (st_iter_seek_to_first(it); st_iter_valid(it) && (c->limit < 0 || n < c->limit);
         st_iter_next(it), n++) {
        printf(c->json ? "%s{\"ikey\":" : "  ", c->json && n ? "," : "");
        print_ikey(c, st_iter_key(it));
        if (c->json) {
            printf(",\"value\":");
            cli_json_bytes(c->enc, st_iter_value(it));
            printf("}");
        } else {
            printf(" => ");
            cli_print(stdout, c->enc, st_iter_value(it));
            printf("\n");
        }
    }
    if (c->json)
        printf("]");
    int rc = st_iter_status(it);
    st_iter_destroy(it);
    return rc;
}

static void print_footer(const cli_ctx *c, const sst *s)
{
    const st_footer *f = &s->footer;
    if (c->json) {
        printf("\"file\":");
        cli_json_str(s->fname, strlen(s->fname));
        printf(",\"file_size\":%" PRIu64 ",\"footer\":{\"metaindex_offset\":%" PRIu64
               ",\"metaindex_size\":%" PRIu64 ",\"index_offset\":%" PRIu64
               ",\"index_size\":%" PRIu64 ",\"checksum\":%d,\"format_version\":%u}",
               s->size, f->metaindex.offset, f->metaindex.size, f->index.offset, f->index.size,
               f->checksum, f->format_version);
        return;
    }
    printf("file %s (%" PRIu64 " bytes)\nfooter: metaindex %" PRIu64 "+%" PRIu64 " index %" PRIu64
           "+%" PRIu64 " checksum %s format_version %u\n",
           s->fname, s->size, f->metaindex.offset, f->metaindex.size, f->index.offset,
           f->index.size, f->checksum == STRATA_CHECKSUM_XXH3 ? "xxh3" : "crc32c",
           f->format_version);
}

static int sst_dump(const cli_ctx *c, sst *s)
{
    if (c->json)
        printf("{");
    print_footer(c, s);
    int rc = print_index(c, s);
    if (!rc)
        rc = print_entries(c, s);
    printf(c->json ? ",\"properties\":" : "properties:\n");
    print_props(c, st_table_get_props(s->table));
    printf(c->json ? "}\n" : "");
    return rc;
}

int cmd_sst(cli_ctx *c)
{
    const char *sub = c->nargs ? c->args[0] : "";
    if (c->nargs != 2 || (strcmp(sub, "dump") && strcmp(sub, "props") && strcmp(sub, "verify"))) {
        return cli_usage_error("usage: strata sst dump|props|verify FILE");
    }
    sst s;
    int rc = sst_open(&s, c->args[1]);
    if (rc)
        return cli_fail(rc, c->args[1]);
    if (!strcmp(sub, "dump")) {
        rc = sst_dump(c, &s);
    } else if (!strcmp(sub, "props")) {
        print_props(c, st_table_get_props(s.table));
        printf("\n");
    } else {
        rc = st_table_verify(s.table);
        if (c->json) {
            printf("{\"file\":");
            cli_json_str(s.fname, strlen(s.fname));
            printf(",\"ok\":%s,\"error\":", rc ? "false" : "true");
            cli_json_str(rc ? strata_errmsg() : "", rc ? strlen(strata_errmsg()) : 0);
            printf("}\n");
        } else if (!rc) {
            printf("%s: OK\n", s.fname);
        }
    }
    int ex = rc ? cli_fail(rc, c->args[1]) : 0;
    sst_close(&s);
    return ex;
}

/* ---- wal ------------------------------------------------------------------------------------ */

typedef struct op_printer {
    const cli_ctx *c;
    uint64_t seq;
    int n;
} op_printer;

static int print_op(void *ctx, int type, st_slice key, st_slice value)
{
    op_printer *p = ctx;
    const cli_ctx *c = p->c;
    if (c->json) {
        printf("%s{\"seq\":%" PRIu64 ",\"op\":\"%s\",\"key\":", p->n ? "," : "", p->seq,
               type_name(type));
        cli_json_bytes(c->enc, key);
        if (type == ST_TYPE_VALUE) {
            printf(",\"value\":");
            cli_json_bytes(c->enc, value);
        }
        printf("}");
    } else {
        printf("  @%" PRIu64 " %s ", p->seq, type_name(type));
        cli_print(stdout, c->enc, key);
        if (type == ST_TYPE_VALUE) {
            printf(" => ");
            cli_print(stdout, c->enc, value);
        }
        printf("\n");
    }
    p->seq++;
    p->n++;
    return 0;
}

static int print_record(const cli_ctx *c, st_slice rec, uint64_t off, int n)
{
    strata_batch b;
    int rc = st_batch_init(&b);
    if (!rc)
        rc = st_batch_set_contents(&b, rec);
    if (c->json)
        printf("%s{\"offset\":%" PRIu64 ",\"bytes\":%zu", n ? ",\n " : " ", off, rec.size);
    else
        printf("record at offset %" PRIu64 " (%zu bytes)", off, rec.size);
    if (rc) {
        if (c->json)
            printf(",\"error\":\"bad batch\"}");
        else
            printf(": bad batch: %s\n", strata_errmsg());
    } else {
        op_printer p = {c, st_batch_seq(&b), 0};
        if (c->json)
            printf(",\"seq\":%" PRIu64 ",\"count\":%u,\"ops\":[", p.seq, st_batch_count(&b));
        else
            printf(": seq %" PRIu64 " count %u\n", p.seq, st_batch_count(&b));
        rc = st_batch_for_each(&b, &p, print_op);
        if (c->json)
            printf("]}");
    }
    st_batch_free(&b);
    return rc;
}

int cmd_wal(cli_ctx *c)
{
    int ex = want_sub(c, "dump", 2), rc, n = 0, bad = 0;
    st_sfile *f = NULL;
    st_log_reader *r = NULL;
    st_slice rec;
    uint64_t off;
    if (ex)
        return ex;
    rc = st_env_new_sequential(st_env_posix(), c->args[1], &f);
    if (!rc)
        rc = st_log_reader_create(f, c->args[1], 0, &r);
    if (rc)
        return cli_fail(rc, c->args[1]);
    st_log_reader_set_integrity(r, cli_integrity(c->args[1], 0), cli_file_number(c->args[1]),
                                ST_CRYPT_FILE_WAL);
    if (c->json) {
        printf("{\"file\":");
        cli_json_str(c->args[1], strlen(c->args[1]));
        printf(",\"records\":[\n");
    }
    while ((rc = st_log_reader_read(r, &rec, &off)) == 1) {
        if (print_record(c, rec, off, n++))
            bad = 1;
    }
    if (c->json)
        printf("\n],\"torn_tail\":%s}\n", st_log_reader_torn_tail(r) ? "true" : "false");
    else if (st_log_reader_torn_tail(r))
        printf("(torn tail dropped)\n");
    st_log_reader_close(r);
    if (rc < 0)
        return cli_fail(rc, c->args[1]);
    if (bad) {
        fprintf(stderr, "strata: %s: corruption: malformed batch record(s)\n", c->args[1]);
        return CLI_EXIT_CORRUPT;
    }
    return 0;
}
