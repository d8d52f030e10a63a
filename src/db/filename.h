/* filename.h — names of the files in a DB directory (docs/FORMAT.md "Files"):
 * NNNNNN.log, NNNNNN.sst, MANIFEST-NNNNNN, CURRENT, LOCK, LOG, LOG.old, OPTIONS-NNNNNN, NNNNNN.dbtmp. */
#ifndef STRATA_DB_FILENAME_H
#define STRATA_DB_FILENAME_H

#include <stdint.h>

#include "env/env.h"

enum st_file_type {
    ST_FILE_LOG,
    ST_FILE_TABLE,
    ST_FILE_MANIFEST,
    ST_FILE_CURRENT,
    ST_FILE_LOCK,
    ST_FILE_TEMP,
    ST_FILE_INFO_LOG,
    ST_FILE_INFO_LOG_OLD,
    ST_FILE_OPTIONS,
    ST_FILE_IDENTITY
};

/* "<dbname>/<name of type and number>".  Owned (st_free); NULL when out of memory. */
char *st_filename(const char *dbname, int type, uint64_t number);
/* Parses a directory entry name.  Returns 1 and sets *type, *number if it is a strata file name. */
int st_parse_filename(const char *name, int *type, uint64_t *number);
/* Points CURRENT at MANIFEST-<manifest_number>: writes a temp file, syncs it, renames it over
 * CURRENT and syncs the directory. */
int st_set_current_file(st_env *env, const char *dbname, uint64_t manifest_number);

#endif
