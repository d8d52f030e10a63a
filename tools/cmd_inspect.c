/* cmd_inspect.c — read-only inspection: `sst dump|props|verify FILE`, `wal dump FILE`,
 * `manifest dump [FILE]`, `stats`, `approx-size FROM TO`.  File-level commands read the files
 * directly with the engine's internal readers (no DB open, no lock), so they work on a DB that
 * does not open.  Byte layouts: docs/FORMAT.md ("Table", "Record log", "Write batch", "MANIFEST").
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "codec/codec.h"
#include "db/version_edit.h"
#include "db/write_batch.h"
#include "env/env.h"
#include "table/block.h"
#include "table/format.h"
#include "table/table_reader.h"
#include "util/alloc.h"
#include "util/coding.h"
#include "util/ikey.h"
#include "util/status.h"
#include "wal/log_reader.h"

/* Metaindex key of a table's range tombstone block: entries (begin, seq, 4) -> end user key. */
#define CLI_RANGE_DEL_BLOCK "strata.range_del"

static const char *type_name(int type)
{
    static const char *names[] = {"del",       "put",        "merge",  "blob",
                                  "range-del", "single-del", "put-ttl"};
    _Static_assert(sizeof(names) / sizeof(names[0]) == ST_TYPE_MAX + 1, "a name per type");
    return type >= 0 && type <= ST_TYPE_MAX ? names[type] : "?";
}

/* An expiry time as UTC "YYYY-MM-DDTHH:MM:SS.uuuuuuZ". */
static void format_expiry(uint64_t micros, char *out, size_t n)
{
    time_t secs = (time_t)(micros / 1000000u);
    struct tm tm;
    char date[32];
    if (!gmtime_r(&secs, &tm) || !strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm)) {
        snprintf(out, n, "@%" PRIu64 "us", micros);
        return;
    }
    snprintf(out, n, "%s.%06uZ", date, (unsigned)(micros % 1000000u));
}

/* A value and its expiry: human "value (expires T)", JSON "value":..,"expire_unix_micros":N,
 * "expires":"T". */
static void print_ttl_value(const cli_ctx *c, st_slice value, uint64_t expire)
{
    char when[64];
    format_expiry(expire, when, sizeof(when));
    if (c->json) {
        printf(",\"value\":");
        cli_json_bytes(c->enc, value);
        printf(",\"expire_unix_micros\":%" PRIu64 ",\"expires\":", expire);
        cli_json_str(when, strlen(when));
    } else {
        printf(" => ");
        cli_print(stdout, c->enc, value);
        printf(" (expires %s)", when);
    }
}

/* The name of the type in an internal key; "seek" for the (largest sequence, ST_TYPE_FOR_SEEK)
 * trailer that shortened index separators get, which names no entry. */
static const char *ikey_type_name(uint64_t seq, int type)
{
    return seq == ST_MAX_SEQ && type == ST_TYPE_FOR_SEEK ? "seek" : type_name(type);
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
        printf(",\"seq\":%" PRIu64 ",\"type\":\"%s\"}", seq, ikey_type_name(seq, type));
    } else {
        printf("'");
        cli_print(stdout, c->enc, ukey);
        printf("' @%" PRIu64 " %s", seq, ikey_type_name(seq, type));
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
    } ints[] = {PROP(format_version),      PROP(num_entries),     PROP(num_deletions),
                PROP(num_range_deletions), PROP(num_data_blocks), PROP(raw_key_size),
                PROP(raw_value_size),      PROP(data_size),       PROP(index_size),
                PROP(filter_size),         PROP(smallest_seq),    PROP(largest_seq),
                PROP(compression),         PROP(checksum),        PROP(creation_time)};
#undef PROP
    size_t n = sizeof(ints) / sizeof(ints[0]);
    if (c->json)
        printf("{");
    for (size_t i = 0; i < n; i++) {
        if (c->json)
            printf("%s\"%s\":%" PRIu64, i ? "," : "", ints[i].name, ints[i].v);
        else
            printf("  %-20s %" PRIu64 "\n", ints[i].name, ints[i].v);
    }
    if (c->json) {
        printf(",\"filter_name\":");
        cli_json_str(p->filter_name, strlen(p->filter_name));
        printf(",\"comparator_name\":");
        cli_json_str(p->comparator_name, strlen(p->comparator_name));
        printf("}");
    } else {
        printf("  %-20s %s\n  %-20s %s\n", "filter_name", p->filter_name, "comparator_name",
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

/* A table entry's value; a TTL value is split into its expiry and the user's value. */
static void print_entry_value(const cli_ctx *c, st_slice ikey, st_slice v)
{
    st_slice ukey;
    uint64_t seq;
    int type = -1;
    if (st_ikey_parse(ikey, &ukey, &seq, &type) == 0 && type == ST_TYPE_VALUE_TTL &&
        v.size >= ST_TTL_PREFIX) {
        print_ttl_value(c, st_slice_make(v.data + ST_TTL_PREFIX, v.size - ST_TTL_PREFIX),
                        st_decode_fixed64(v.data));
    } else if (c->json) {
        printf(",\"value\":");
        cli_json_bytes(c->enc, v);
    } else {
        printf(" => ");
        cli_print(stdout, c->enc, v);
    }
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
        print_entry_value(c, st_iter_key(it), st_iter_value(it));
        printf(c->json ? "}" : "\n");
    }
    if (c->json)
        printf("]");
    int rc = st_iter_status(it);
    st_iter_destroy(it);
    return rc;
}

/* Finds the range tombstone block through the metaindex; *found 0 when the table has none. */
static int find_range_del(const sst *s, st_block_handle *h, int *found)
{
    st_block_contents bc;
    st_block meta;
    st_block_iter it;
    uint64_t blocks_end = s->size - st_footer_tail_len(&s->footer);
    *found = 0;
    int rc = st_read_block(s->file, s->footer.checksum, s->footer.metaindex, 1, 0, s->fname, &bc);
    if (!rc)
        rc = st_block_init(&meta, bc.data, bc.heap, s->fname, s->footer.metaindex.offset);
    if (rc)
        return rc;
    st_block_iter_init(&it, &meta, NULL);
    for (st_block_iter_seek_to_first(&it); !rc && !*found && st_block_iter_valid(&it);
         st_block_iter_next(&it)) {
        if (!st_slice_eq(it.key, st_slice_cstr(CLI_RANGE_DEL_BLOCK)))
            continue;
        st_slice v = it.value;
        if (!st_handle_decode(&v, h) || !st_handle_within(*h, blocks_end, s->footer.checksum)) {
            rc = st_err(STRATA_E_CORRUPTION, "%s: corrupted metaindex: bad %s block handle",
                        s->fname, CLI_RANGE_DEL_BLOCK);
        }
        *found = !rc;
    }
    rc = rc ? rc : it.status;
    st_block_iter_release(&it);
    st_block_free(&meta);
    return rc;
}

/* One range tombstone: key (begin, seq, type 4), value the end user key. */
static void print_range_del(const cli_ctx *c, st_slice ikey, st_slice end, int n)
{
    st_slice begin;
    uint64_t seq;
    int type;
    if (st_ikey_parse(ikey, &begin, &seq, &type) != 0 || type != ST_TYPE_RANGE_DEL) {
        printf(c->json ? "%s" : "  ", c->json && n ? "," : "");
        print_ikey(c, ikey); /* shows what is wrong with it */
        printf(c->json ? "" : " (not a range tombstone)\n");
        return;
    }
    if (c->json) {
        printf("%s{\"begin\":", n ? "," : "");
        cli_json_bytes(c->enc, begin);
        printf(",\"end\":");
        cli_json_bytes(c->enc, end);
        printf(",\"seq\":%" PRIu64 "}", seq);
        return;
    }
    printf("  ['");
    cli_print(stdout, c->enc, begin);
    printf("', '");
    cli_print(stdout, c->enc, end);
    printf("') @%" PRIu64 "\n", seq);
}

/* The range tombstones of the table's range-del block, in block order (human: only when the table
 * has the block; JSON: "range_tombstones", empty without it). */
static int print_range_dels(const cli_ctx *c, const sst *s)
{
    st_block_handle h;
    st_block_contents bc;
    st_block b;
    st_block_iter it;
    int found, n = 0;
    int rc = find_range_del(s, &h, &found);
    if (c->json)
        printf(",\"range_tombstones\":[");
    if (!rc && found)
        rc = st_read_block(s->file, s->footer.checksum, h, 1, 0, s->fname, &bc);
    if (!rc && found)
        rc = st_block_init(&b, bc.data, bc.heap, s->fname, h.offset);
    if (!rc && found) {
        if (!c->json)
            printf("range tombstones (block at offset %" PRIu64 "):\n", h.offset);
        st_block_iter_init(&it, &b, st_comparator_bytewise());
        for (st_block_iter_seek_to_first(&it); st_block_iter_valid(&it); st_block_iter_next(&it))
            print_range_del(c, it.key, it.value, n++);
        rc = it.status;
        st_block_iter_release(&it);
        st_block_free(&b);
    }
    if (c->json)
        printf("]");
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
    if (!rc)
        rc = print_range_dels(c, s);
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

static const char *op_name(int op)
{
    switch (op) {
        case STRATA_OP_PUT:
            return "put";
        case STRATA_OP_DELETE:
            return "del";
        case STRATA_OP_SINGLE_DELETE:
            return "single-del";
        case STRATA_OP_DELETE_RANGE:
            return "range-del";
        case STRATA_OP_MERGE:
            return "merge";
        case STRATA_OP_PUT_TTL:
            return "put-ttl";
        default:
            return "?";
    }
}

/* The operand of an operation after its key: human " => value", " => operand" or the range
 * "[begin, end)"; JSON "value", "operand" or "begin"/"end" (then no "key"). */
static void print_op_args(const cli_ctx *c, int op, st_slice key, st_slice value, uint64_t expire)
{
    if (op == STRATA_OP_DELETE_RANGE) {
        if (c->json) {
            printf(",\"begin\":");
            cli_json_bytes(c->enc, key);
            printf(",\"end\":");
            cli_json_bytes(c->enc, value);
        } else {
            printf("[");
            cli_print(stdout, c->enc, key);
            printf(", ");
            cli_print(stdout, c->enc, value);
            printf(")");
        }
        return;
    }
    if (c->json) {
        printf(",\"key\":");
        cli_json_bytes(c->enc, key);
    } else {
        cli_print(stdout, c->enc, key);
    }
    if (op == STRATA_OP_PUT_TTL) {
        print_ttl_value(c, value, expire);
    } else if (op == STRATA_OP_PUT || op == STRATA_OP_MERGE) {
        printf(c->json ? (op == STRATA_OP_PUT ? ",\"value\":" : ",\"operand\":") : " => ");
        if (c->json)
            cli_json_bytes(c->enc, value);
        else
            cli_print(stdout, c->enc, value);
    }
}

/* strata_batch_iterate_ops callback: one operation, which uses one sequence number. */
static int print_op(void *ctx, int op, const char *key, size_t klen, const char *value, size_t vlen,
                    uint64_t expire)
{
    op_printer *p = ctx;
    const cli_ctx *c = p->c;
    if (c->json)
        printf("%s{\"seq\":%" PRIu64 ",\"op\":\"%s\"", p->n ? "," : "", p->seq, op_name(op));
    else
        printf("  @%" PRIu64 " %s ", p->seq, op_name(op));
    print_op_args(c, op, st_slice_make(key, klen), st_slice_make(value ? value : "", vlen), expire);
    printf(c->json ? "}" : "\n");
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
        rc = strata_batch_iterate_ops(&b, &p, print_op);
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
