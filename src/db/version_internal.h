/* version_internal.h — private state of the version set, shared by its implementation files
 * (version_set.c, version.c, version_builder.c, manifest.c, compaction_pick.c).  Nothing outside
 * those files includes this header; everyone else uses version_set.h.
 *
 * Locking: fields marked (mu) are guarded by the DB mutex that callers pass to or hold around the
 * version_set.h functions.  The numbers readable without the mutex (next file, manifest, last
 * sequence, log numbers) are atomics written under the mutex and loaded relaxed: a reader without
 * the mutex gets some recent value, which is all those accessors promise. */
#ifndef STRATA_DB_VERSION_INTERNAL_H
#define STRATA_DB_VERSION_INTERNAL_H

#include <stdatomic.h>

#include "db/version_set.h"
#include "util/buf.h"
#include "wal/log_writer.h"

/* What the version sets of one DB's column families share: the file and sequence counters and
 * the MANIFEST (one log for every family; each family's edits carry its id). */
typedef struct st_vshared {
    int refs; /* vsets attached */
    uint64_t max_manifest_size;
    _Atomic uint64_t next_file_number;
    _Atomic uint64_t manifest_number; /* the MANIFEST CURRENT names (0 before any) */
    _Atomic uint64_t last_seq;
    _Atomic uint64_t prev_log_number;
    /* The open MANIFEST (NULL until the first log_and_apply, or after a failed append).  Touched
     * only by the log_and_apply that owns the writing flag, also while mu is released. */
    st_log_writer *manifest;
    int force_new_manifest; /* (mu) the next edit starts a new MANIFEST (rekey) */
    int writing;      /* (mu) a log_and_apply is in progress */
    st_cond write_cv; /* signalled when writing drops to 0 */
    /* (mu) The live families, default (id 0) first: a new MANIFEST's snapshot holds them all. */
    st_vset **fams;
    int nfams, cap_fams;
    uint32_t max_cf_id; /* (mu) the largest family id ever handed out */
    /* WALs below min_log_keep hold nothing any family needs (recorded, monotonic; used once the
     * DB has had several families); min_log_wanted is the engine's next value (mu). */
    _Atomic uint64_t min_log_keep;
    uint64_t min_log_wanted;
    st_vset *dflt; /* the default family's set */
} st_vshared;

struct st_vset {
    st_vshared *sh;
    uint32_t cf_id;
    char *cf_name;
    void *owner; /* the engine's column family object (st_vset_owner) */
    int dropped; /* (mu) the family was dropped: no edit may be logged for it any more */
    st_env *env;
    char *dbname;
    const st_comparator *ucmp;
    st_logger *info_log;
    st_table_cache *tc;
    int num_levels;
    uint64_t max_bytes_for_level_base;
    double level_multiplier;
    int dynamic_level_bytes;
    uint64_t target_file_size;
    int l0_compaction_trigger;

    _Atomic uint64_t log_number; /* the family's: older WALs hold none of its unflushed data */

    st_integrity *integ; /* MANIFEST encryption; NULL: plaintext */
    const char *want_merge; /* the options' merge operator name, or NULL (borrowed) */
    char merge_name[128];   /* (mu) the name the MANIFEST records ("" : none yet) */

    st_version versions; /* (mu) dummy head of the circular list of live versions */
    st_version *current; /* (mu) */

    /* A file whose allowed_seeks ran out (0: none), set by readers without the mutex. */
    _Atomic uint64_t seek_file;
    atomic_int seek_level;
    atomic_int seek_wakeup; /* set with seek_file: the reader that set it wakes the pool */
    /* Tables to rewrite because a block of theirs healed from parity (0: free slot), set by
     * readers without the mutex, taken by the compaction picker. */
    _Atomic uint64_t rewrite[ST_REWRITE_SLOTS];
    st_buf pointers[ST_MAX_LEVELS]; /* (mu) round-robin compaction pointers (internal keys) */
    st_compaction **running;        /* (mu) picked and not yet released */
    int nrunning, cap_running;
    /* (mu) The level and user-key range a flush is about to install into (0: none); while its
     * MANIFEST write runs without mu, no compaction into that level may claim the range. */
    int flush_level;
    st_slice flush_smallest, flush_largest;
};

static inline uint64_t vs_load(const _Atomic uint64_t *a)
{
    return atomic_load_explicit((_Atomic uint64_t *)a, memory_order_relaxed);
}

static inline void vs_store(_Atomic uint64_t *a, uint64_t v)
{
    atomic_store_explicit(a, v, memory_order_relaxed);
}

/* ---- version.c ----------------------------------------------------------------------------- */

/* A new empty version with no references (not in the list until installed). NULL on OOM. */
st_version *st_version_alloc(st_vset *vs);
/* Frees a version that was never installed (drops its file references). */
void st_version_free(st_version *v);
/* Computes level targets, base level and scores (DESIGN.md §7). */
void st_version_finalize(st_version *v);
/* Bytes over their level targets (and all of L0 once it reaches its trigger). */
uint64_t st_version_pending_bytes(const st_version *v);
/* Makes v current: links it into the list, references it, drops the old current. (mu) */
void st_vset_install(st_vset *vs, st_version *v);

/* ---- version_builder.c --------------------------------------------------------------------- */

/* Accumulates edits on top of a base version and produces the resulting version. */
typedef struct st_vbuilder st_vbuilder;

int st_vbuilder_create(st_vset *vs, st_version *base, st_vbuilder **out);
/* Records e's deleted and added files (the builder references added files).  Levels at or past
 * num_levels are STRATA_E_INVALID (the DB was written with more levels than configured). */
int st_vbuilder_apply(st_vbuilder *b, const st_version_edit *e);
/* Fills the empty version v with base + edits: L0 newest first, levels >= 1 sorted and checked
 * non-overlapping (STRATA_E_CORRUPTION naming both files otherwise). */
int st_vbuilder_save(st_vbuilder *b, st_version *v);
void st_vbuilder_destroy(st_vbuilder *b);

/* ---- version_set.c ------------------------------------------------------------------------- */

/* Stores pointer edits into vs->pointers. (mu) */
int st_vset_apply_pointers(st_vset *vs, const st_version_edit *e);

#endif
