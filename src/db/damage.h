/* damage.h — what repair (repair.c) and salvage (salvage.c) share: the integrity report being
 * built, the anti-resurrection fences, the old MANIFEST's view of the files when it can still be
 * read, and a WAL reader that skips damaged records.
 *
 * The anti-resurrection rule (docs/API.md "Repair and salvage").  Entries lost in a damaged
 * range of a table are unknown, but they are bounded: by the index separators around a damaged
 * block (or the good keys around a damaged range when the index is unreadable) and by the
 * table's largest sequence number.  Any of them may have been a deletion.  So every entry read
 * from anywhere — other tables, the WALs, the damaged table's own good blocks — that a lost entry
 * could have shadowed is dropped: its user key falls inside the range and its sequence number is
 * below the largest one a lost entry inside the range could have had.  A fence is that bound.
 * Entries that are certainly newer than anything lost, or outside every range, are kept. */
#ifndef STRATA_DB_DAMAGE_H
#define STRATA_DB_DAMAGE_H

#include <stdint.h>

#include "codec/integrity.h"
#include "db/version_edit.h"
#include "env/env.h"
#include "env/logging.h"
#include "mem/memtable.h"
#include "strata.h"
#include "table/table_scan.h"
#include "util/buf.h"
#include "util/comparator.h"
#include "util/compiler.h"

/* ---- report ---------------------------------------------------------------------------------- */

typedef struct st_dreport {
    strata_integrity_report counts; /* detail unused: lines go to text */
    st_buf text;                    /* detail lines, each ending in '\n' */
    int nomem;                      /* a line could not be added */
} st_dreport;

void st_dreport_init(st_dreport *r);
/* Appends one detail line (no newline in fmt). */
void st_dreport_line(st_dreport *r, const char *fmt, ...) ST_PRINTF(2, 3);
/* Writes every line to log (may be NULL) with prefix. */
void st_dreport_log(const st_dreport *r, st_logger *log, const char *prefix);
/* Moves the counts and the text into out (may be NULL; detail becomes "" when there is nothing
 * to say) and frees r's memory. */
void st_dreport_finish(st_dreport *r, strata_integrity_report *out);

/* ---- fences ---------------------------------------------------------------------------------- */

typedef struct st_fence {
    st_buf lo, hi;        /* internal keys */
    int has_lo, has_hi, lo_incl, hi_incl;
    uint64_t max_seq;     /* no lost entry is newer */
    uint64_t file;        /* table number, for the report */
    uint64_t offset, size; /* the damaged range, for the report */
    uint64_t dropped;     /* entries the fence made us drop */
} st_fence;

typedef struct st_fences {
    const st_comparator *ucmp;
    st_fence *v;
    int n, cap;
} st_fences;

void st_fences_init(st_fences *f, const st_comparator *ucmp);
void st_fences_free(st_fences *f);
/* A fence for a damaged range of table file whose lost entries are no newer than max_seq. */
int st_fences_add_damage(st_fences *f, const st_table_damage *d, uint64_t max_seq, uint64_t file);
/* A fence for a whole table known only from the MANIFEST: [smallest, largest], both included. */
int st_fences_add_range(st_fences *f, st_slice smallest, st_slice largest, uint64_t max_seq,
                        uint64_t file, uint64_t size);
/* The index of a fence behind which a lost entry newer than (ukey, seq) could hide, or -1.
 * Cost: linear in the number of fences (they are few: one per damaged range). */
int st_fences_find(const st_fences *f, st_slice ukey, uint64_t seq);
/* 1 if some fence could hold an entry newer than min_seq with a user key in
 * [smallest, largest] (internal keys) — the cheap test of whether a table needs filtering. */
int st_fences_overlap(const st_fences *f, st_slice smallest, st_slice largest, uint64_t min_seq);
/* One detail line per fence that dropped entries. */
void st_fences_report(const st_fences *f, st_dreport *r);

/* ---- the old MANIFEST ------------------------------------------------------------------------ */

typedef struct st_old_manifest {
    int readable;
    uint64_t log_number;  /* WALs below it were flushed */
    st_file_meta **files; /* live tables (referenced) */
    int nfiles;
} st_old_manifest;

/* Reads CURRENT and the MANIFEST it names, only reading.  A missing or damaged one leaves
 * readable = 0 (not an error).  Errors: NOMEM. */
int st_old_manifest_load(st_env *env, const char *dbname, const st_comparator *ucmp,
                         st_integrity *integ, st_old_manifest *out);
/* The live table numbered number, or NULL. */
const st_file_meta *st_old_manifest_file(const st_old_manifest *m, uint64_t number);
void st_old_manifest_free(st_old_manifest *m);

/* ---- tables ---------------------------------------------------------------------------------- */

/* Opens a scan of table number of dbname (read-only; damage_count as in
 * st_table_scan_options, may be NULL).  Errors: NOTFOUND, IO, NOMEM. */
int st_damage_scan_open(st_env *env, const char *dbname, const st_comparator *ucmp,
                        st_integrity *integ, uint64_t number, uint64_t *damage_count, uint64_t *size,
                        st_table_scan **out);
/* The sequence bound of a scanned table's lost entries: its properties, else the old MANIFEST,
 * else the largest possible. */
/* The range tombstones of table number through a normal open (*out NULL: none).  An error means
 * they could not be read (damaged metadata). */
int st_damage_load_range_dels(st_env *env, const char *dbname, const st_comparator *ucmp,
                              st_integrity *integ, uint64_t number, uint64_t size,
                              st_rdel_list **out);
uint64_t st_damage_max_seq(const st_table_scan *s, const st_old_manifest *m, uint64_t number);
/* Adds fences for damage records [from, n) of s (records are final once st_table_scan_next
 * returned after them).  A range with no bound on either side (nothing of the table could be
 * read) is fenced with the table's range from the old MANIFEST when it lists the table, else not
 * at all (st_damage_report_table says so). */
int st_damage_fence_table(const st_table_scan *s, int from, uint64_t number,
                          const st_old_manifest *m, st_fences *f);
/* After the scan ended: counts and one detail line per damaged range of s into r. */
void st_damage_report_table(const st_table_scan *s, uint64_t number, const st_old_manifest *m,
                            st_dreport *r);

/* ---- WALs ------------------------------------------------------------------------------------ */

typedef struct st_wal_replay {
    const st_comparator *ucmp;
    st_memtable *mem;      /* entries go here (NULL: only read and report) */
    const st_fences *fences; /* entries behind a fence are dropped (may be NULL) */
    uint64_t entries;      /* operations read from good records */
    uint64_t kept;         /* ... added to mem */
    uint64_t dropped;      /* ... dropped by a fence */
    uint64_t max_seq;
} st_wal_replay;

/* Reads WAL number of dbname, skipping damaged records (each reported with the byte range that
 * held it and, when the sequence numbers around it say so, exactly how many entries it held).
 * Duplicate (key, sequence) pairs are added once.  Errors: NOMEM, IO. */
int st_damage_read_wal(st_env *env, const char *dbname, st_integrity *integ, uint64_t number,
                       st_wal_replay *w, st_dreport *r);
/* Lists dbname: table and WAL numbers (ascending) and the largest file number seen.  Either list
 * may be NULL (not wanted); owned arrays (st_free). */
int st_damage_list(st_env *env, const char *dbname, uint64_t **tables, int *ntables,
                   uint64_t **logs, int *nlogs, uint64_t *max_number);

#endif
