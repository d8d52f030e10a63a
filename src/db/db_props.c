/* db_props.c — DB properties (text and integer) and approximate sizes.  Property names are
 * listed in include/strata.h and docs/API.md. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_impl.h"
#include "util/alloc.h"
#include "util/ikey.h"

#define PREFIX "strata."

static uint64_t memtables_usage(strata_db *db, strata_cf *cf) ST_REQUIRES(db->mu)
{
    (void)db; /* for the lock annotation */
    uint64_t total = st_memtable_memory_usage(cf->mem);
    for (int i = 0; i < cf->nimm; i++) {
        total += st_memtable_memory_usage(cf->imm[i]);
    }
    return total;
}

static uint64_t total_sst_bytes(const st_version *v)
{
    uint64_t total = 0;
    for (int level = 0; level < v->num_levels; level++) {
        total += st_version_level_bytes(v, level);
    }
    return total;
}

static uint64_t estimate_keys(strata_db *db, strata_cf *cf, const st_version *v) ST_REQUIRES(db->mu)
{
    (void)db; /* for the lock annotation */
    uint64_t entries = st_memtable_num_entries(cf->mem), dels = st_memtable_num_deletes(cf->mem);
    for (int i = 0; i < cf->nimm; i++) {
        entries += st_memtable_num_entries(cf->imm[i]);
        dels += st_memtable_num_deletes(cf->imm[i]);
    }
    for (int level = 0; level < v->num_levels; level++) {
        for (int i = 0; i < v->nfiles[level]; i++) {
            entries += v->files[level][i]->num_entries;
            dels += v->files[level][i]->num_deletions;
        }
    }
    /* A deletion both adds no key and (probably) hides one. */
    return entries > 2 * dels ? entries - 2 * dels : 0;
}

/* Parses "<prefix><N>" for a level number. */
static int level_suffix(const char *name, const char *prefix, int num_levels, int *level)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || name[n] == '\0') {
        return 0;
    }
    char *end;
    long v = strtol(name + n, &end, 10);
    if (*end != '\0' || v < 0 || v >= num_levels) {
        return 0;
    }
    *level = (int)v;
    return 1;
}

/* Range tombstones in the memtables and the tables (REQUIRES mu). */
static uint64_t num_range_dels(strata_db *db, strata_cf *cf, st_version *v) ST_REQUIRES(db->mu)
{
    (void)db; /* for the lock annotation */
    uint64_t n = st_memtable_num_range_dels(cf->mem);
    for (int i = 0; i < cf->nimm; i++) {
        n += st_memtable_num_range_dels(cf->imm[i]);
    }
    for (int level = 0; level < v->num_levels; level++) {
        for (int i = 0; i < v->nfiles[level]; i++) {
            n += v->files[level][i]->num_range_dels;
        }
    }
    return n;
}

static int int_property_locked(strata_db *db, strata_cf *cf, const char *p, uint64_t *value) ST_REQUIRES(db->mu)
{
    st_version *v = cf->sv->version;
    int level;
    if (level_suffix(p, "num-files-at-level", v->num_levels, &level)) {
        *value = (uint64_t)v->nfiles[level];
    } else if (!strcmp(p, "approximate-memory-usage")) {
        *value = memtables_usage(db, cf) + st_table_cache_memory_usage(cf->tc);
    } else if (!strcmp(p, "cur-size-active-mem-table")) {
        *value = st_memtable_memory_usage(cf->mem);
    } else if (!strcmp(p, "num-immutable-mem-table")) {
        *value = (uint64_t)cf->nimm;
    } else if (!strcmp(p, "total-sst-size")) {
        *value = total_sst_bytes(v);
    } else if (!strcmp(p, "estimate-num-keys")) {
        *value = estimate_keys(db, cf, v);
    } else if (!strcmp(p, "last-sequence")) {
        *value = atomic_load(&db->visible_seq);
    } else if (!strcmp(p, "pending-compaction-bytes")) {
        *value = st_vset_pending_compaction_bytes(cf->vs);
    } else if (!strcmp(p, "num-running-compactions")) {
        *value = (uint64_t)db->running_compactions;
    } else if (!strcmp(p, "background-errors")) {
        *value = atomic_load(&db->stats.bg_errors);
    } else if (!strcmp(p, "single-delete-misuse")) {
        *value = atomic_load(&db->stats.single_delete_misuse);
    } else if (!strcmp(p, "num-range-deletes")) {
        *value = num_range_dels(db, cf, v);
    } else {
        return STRATA_E_NOTFOUND;
    }
    return 0;
}

static int int_property(strata_db *db, strata_cf *cf, const char *p, uint64_t *value)
{
    if (!strcmp(p, "stall-micros")) {
        *value = atomic_load(&db->stats.stall_micros);
    } else if (!strcmp(p, "block-cache-usage")) {
        *value = st_cache_usage(db->block_cache);
    } else if (!strcmp(p, "block-cache-pinned-usage")) {
        *value = st_cache_pinned_usage(db->block_cache);
    } else if (!strcmp(p, "bytes-written")) {
        *value = atomic_load(&db->stats.user_bytes_written);
    } else if (!strcmp(p, "compaction-bytes-written")) {
        *value = atomic_load(&db->stats.compaction_bytes_written);
    } else if (!strcmp(p, "flush-bytes-written")) {
        *value = atomic_load(&db->stats.flush_bytes_written);
    } else if (!strcmp(p, "ecc-healed-blocks")) {
        *value = atomic_load(&db->integ->healed);
    } else if (!strcmp(p, "ecc-unrecoverable-blocks")) {
        *value = atomic_load(&db->integ->unrecoverable);
    } else if (!strncmp(p, "scrub-", 6)) {
        return st_db_scrub_property(db, p + 6, value);
    } else {
        st_mutex_lock(&db->mu);
        int rc = int_property_locked(db, cf, p, value);
        st_mutex_unlock(&db->mu);
        return rc;
    }
    return 0;
}

int st_db_property_int(strata_db *db, strata_cf *cf, const char *name, uint64_t *value)
{
    size_t n = strlen(PREFIX);
    if (strncmp(name, PREFIX, n) != 0 || int_property(db, cf, name + n, value)) {
        return st_err(STRATA_E_NOTFOUND, "unknown integer property \"%s\"", name);
    }
    return 0;
}

static int appendf(st_buf *b, const char *fmt, ...) ST_PRINTF(2, 3);
static int appendf(st_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return 0;
    }
    return st_buf_append(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static double mib(uint64_t b)
{
    return (double)b / 1048576.0;
}

static int level_stats(strata_db *db, strata_cf *cf, st_buf *out) ST_REQUIRES(db->mu)
{
    st_version *v = cf->sv->version;
    int rc = appendf(out, "Level Files Size(MB) Target(MB) Score Read(MB) Write(MB) Comps Time(s)\n"
                          "---------------------------------------------------------------------\n");
    for (int l = 0; !rc && l < v->num_levels; l++) {
        rc = appendf(out, "%5d %5d %8.2f %10.2f %5.2f %8.2f %9.2f %5" PRIu64 " %7.2f\n", l,
                     v->nfiles[l], mib(st_version_level_bytes(v, l)), mib(v->level_target[l]),
                     v->score[l], mib(atomic_load(&db->stats.level_bytes_read[l])),
                     mib(atomic_load(&db->stats.level_bytes_written[l])),
                     (uint64_t)atomic_load(&db->stats.level_compactions[l]),
                     (double)atomic_load(&db->stats.level_micros[l]) / 1e6);
    }
    return rc;
}

static int full_stats(strata_db *db, strata_cf *cf, st_buf *out) ST_REQUIRES(db->mu)
{
    int rc = level_stats(db, cf, out);
    st_db_stats *s = &db->stats;
    uint64_t user = atomic_load(&s->user_bytes_written);
    uint64_t disk = atomic_load(&s->wal_bytes_written) + atomic_load(&s->flush_bytes_written) +
                    atomic_load(&s->compaction_bytes_written);
    if (!rc) {
        rc = appendf(out,
                     "Writes: %" PRIu64 " groups, %" PRIu64 " writers, %.2f MB user data, "
                     "%" PRIu64 " WAL syncs\n"
                     "Flushes: %" PRIu64 " (%" PRIu64 " straight to the base level), compactions: %" PRIu64
                     ", trivial moves: %" PRIu64 "\n"
                     "Write amplification: %.2f\n"
                     "Stalls: %.3f s total, %" PRIu64 " slowdowns, %" PRIu64 " stops\n"
                     "Memtables: %d immutable, %.2f MB in use; background errors: %" PRIu64 "\n",
                     (uint64_t)atomic_load(&s->write_groups), (uint64_t)atomic_load(&s->writes_grouped),
                     mib(user), (uint64_t)atomic_load(&s->wal_syncs),
                     (uint64_t)atomic_load(&s->flushes),
                     (uint64_t)atomic_load(&s->flushes_to_base),
                     (uint64_t)atomic_load(&s->compactions),
                     (uint64_t)atomic_load(&s->trivial_moves),
                     user ? (double)disk / (double)user : 0.0,
                     (double)atomic_load(&s->stall_micros) / 1e6, (uint64_t)atomic_load(&s->slowdowns),
                     (uint64_t)atomic_load(&s->stops), cf->nimm, mib(memtables_usage(db, cf)),
                     (uint64_t)atomic_load(&s->bg_errors));
    }
    return rc;
}

static int sstables(strata_db *db, strata_cf *cf, st_buf *out) ST_REQUIRES(db->mu)
{
    (void)db; /* for the lock annotation */
    st_version *v = cf->sv->version;
    int rc = 0;
    for (int l = 0; !rc && l < v->num_levels; l++) {
        rc = appendf(out, "--- level %d ---\n", l);
        for (int i = 0; !rc && i < v->nfiles[l]; i++) {
            const st_file_meta *f = v->files[l][i];
            rc = appendf(out, " %" PRIu64 ":%" PRIu64 " seq[%" PRIu64 " .. %" PRIu64 "] entries %"
                         PRIu64 "\n", f->number, f->file_size, f->smallest_seq, f->largest_seq,
                         f->num_entries);
        }
    }
    return rc;
}

int st_db_property(strata_db *db, strata_cf *cf, const char *name, char **value)
{
    size_t n = strlen(PREFIX);
    st_buf out = ST_BUF_INIT;
    int rc = STRATA_E_NOTFOUND;
    uint64_t iv;
    if (strncmp(name, PREFIX, n) == 0) {
        const char *p = name + n;
        st_mutex_lock(&db->mu);
        if (!cf->sv) {
            rc = STRATA_E_NOTFOUND; /* dropped */
        } else if (!strcmp(p, "stats")) {
            rc = full_stats(db, cf, &out);
        } else if (!strcmp(p, "levelstats")) {
            rc = level_stats(db, cf, &out);
        } else if (!strcmp(p, "sstables")) {
            rc = sstables(db, cf, &out);
        }
        st_mutex_unlock(&db->mu);
        if (rc == STRATA_E_NOTFOUND && int_property(db, cf, p, &iv) == 0) {
            rc = appendf(&out, "%" PRIu64, iv);
        }
    }
    if (rc == STRATA_E_NOTFOUND) {
        st_buf_free(&out);
        return st_err(STRATA_E_NOTFOUND, "unknown property \"%s\"", name);
    }
    if (!rc) {
        rc = st_buf_put_u8(&out, 0);
    }
    if (rc) {
        st_buf_free(&out);
        return st_err(STRATA_E_NOMEM, "out of memory");
    }
    *value = st_buf_release(&out, NULL);
    return 0;
}

int st_db_approximate_sizes(strata_db *db, strata_cf *cf, int n, const char *const *start,
                            const size_t *start_lens, const char *const *limit,
                            const size_t *limit_lens, uint64_t *sizes)
{
    uint64_t seq;
    st_superversion *sv = st_db_sv_acquire(db, cf, NULL, &seq);
    if (!sv) {
        return STRATA_E_INVALID;
    }
    st_buf k = ST_BUF_INIT;
    int rc = 0;
    for (int i = 0; !rc && i < n; i++) {
        uint64_t a = 0, b = 0;
        st_buf_clear(&k);
        rc = st_ikey_append(&k, st_slice_make(start[i], start_lens[i]), ST_MAX_SEQ, ST_TYPE_FOR_SEEK);
        if (!rc) {
            a = st_version_approx_offset(sv->version, st_buf_slice(&k));
            st_buf_clear(&k);
            rc = st_ikey_append(&k, st_slice_make(limit[i], limit_lens[i]), ST_MAX_SEQ,
                                ST_TYPE_FOR_SEEK);
        }
        if (!rc) {
            b = st_version_approx_offset(sv->version, st_buf_slice(&k));
        }
        sizes[i] = b > a ? b - a : 0;
    }
    st_buf_free(&k);
    st_db_sv_release(db, sv, 0);
    return rc ? st_err(STRATA_E_NOMEM, "out of memory") : 0;
}
