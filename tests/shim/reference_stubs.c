/*
 * reference_stubs.c — lets the test harness link without libstrata when test_leveldb_c.c is built
 * against LevelDB itself (SHIM_TEST_REFERENCE): the harness's tu_strerror/tu_errmsg call these two
 * strata functions, which the LevelDB C API tests never reach.
 */
#include "strata.h"

const char *strata_strerror(int code)
{
    (void)code;
    return "(strata not linked)";
}

const char *strata_errmsg(void)
{
    return "";
}
