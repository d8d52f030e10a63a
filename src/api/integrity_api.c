/* integrity_api.c — the public integrity calls (strata.h "Integrity"): argument checks, then the
 * engine (db/db_scrub.c). */
#include "db/db_impl.h"
#include "strata.h"
#include "util/alloc.h"
#include "util/status.h"

STRATA_EXPORT int strata_verify(strata_db *db, int flags)
{
    return strata_verify_report(db, flags, NULL);
}

STRATA_EXPORT int strata_verify_report(strata_db *db, int flags, strata_integrity_report *report)
{
    if (!db) {
        return st_err(STRATA_E_INVALID, "strata_verify: NULL db");
    }
    if (flags & ~(STRATA_VERIFY_TABLES | STRATA_VERIFY_LOGS)) {
        return st_err(STRATA_E_INVALID, "strata_verify: unknown flags 0x%x", (unsigned)flags);
    }
    return st_db_verify(db, flags, report);
}

STRATA_EXPORT int strata_scrub(strata_db *db, uint64_t rate_bytes_per_sec)
{
    if (!db) {
        return st_err(STRATA_E_INVALID, "strata_scrub: NULL db");
    }
    return st_db_scrub(db, rate_bytes_per_sec);
}

STRATA_EXPORT int strata_scrub_wait(strata_db *db)
{
    if (!db) {
        return st_err(STRATA_E_INVALID, "strata_scrub_wait: NULL db");
    }
    return st_db_scrub_wait(db);
}

STRATA_EXPORT int strata_rekey(strata_db *db)
{
    if (!db) {
        return st_err(STRATA_E_INVALID, "strata_rekey: NULL db");
    }
    return st_db_rekey(db);
}
