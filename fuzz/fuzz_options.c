/* fuzz_options.c — libFuzzer target for the options string form (strata_options_from_string /
 * strata_options_to_string).  The input, cut at its first NUL, is parsed into default options.
 * Checks: parsing returns 0 or INVALID; a rejected string leaves the options unchanged (their
 * printed form is identical before and after); an accepted one prints to a string that parses
 * back into fresh options and prints identically (a fixed point after one round trip). */
#include <string.h>

#include "fuzz_common.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) {
        return 0;
    }
    char *text = st_malloc(size + 1);
    FZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    strata_options *opt = strata_options_create();
    FZ_CHECK(opt != NULL);
    char *before = strata_options_to_string(opt);
    FZ_CHECK(before != NULL);
    int rc = strata_options_from_string(opt, text);
    char *s1 = strata_options_to_string(opt);
    FZ_CHECK(s1 != NULL);
    if (rc != 0) {
        FZ_CHECK(rc == STRATA_E_INVALID);
        FZ_CHECK(strcmp(before, s1) == 0);
    } else {
        strata_options *opt2 = strata_options_create();
        FZ_CHECK(opt2 != NULL);
        FZ_CHECK(strata_options_from_string(opt2, s1) == 0);
        char *s2 = strata_options_to_string(opt2);
        FZ_CHECK(s2 != NULL);
        FZ_CHECK(strcmp(s1, s2) == 0);
        strata_free(s2);
        strata_options_destroy(opt2);
    }
    strata_free(before);
    strata_free(s1);
    strata_options_destroy(opt);
    st_free(text);
    return 0;
}
