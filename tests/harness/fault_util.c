/* fault_util.c — fault-env fixture for the fault suites (see fault_util.h). */
#include "fault_util.h"

#include <stdio.h>
#include <string.h>

#include "engine_util.h"
#include "test_util.h"

void fu_env_init(struct fu_env *e, int posix)
{
    memset(e, 0, sizeof(*e));
    if (posix) {
        e->base = st_env_posix();
        e->dir = tu_mkdtemp("fault");
        assert_non_null(e->dir);
        e->path = e->dir;
    } else {
        e->base = st_env_mem_create();
        e->path = "/faultdb";
    }
    assert_non_null(e->base);
    e->fault = st_env_fault_create(e->base);
    assert_non_null(e->fault);
    e->opt = strata_options_create();
    strata_options_set_create_if_missing(e->opt, 1);
    strata_options_set_env(e->opt, e->fault);
    strata_options_set_write_buffer_size(e->opt, eu_write_buffer_size());
    strata_options_set_target_file_size(e->opt, 64 << 10);
    strata_options_set_max_bytes_for_level_base(e->opt, 256 << 10);
    strata_options_set_level0_compaction_trigger(e->opt, 2);
    strata_options_set_block_size(e->opt, 1024);
    strata_options_set_info_log(e->opt, 0);
}

void fu_env_fini(struct fu_env *e)
{
    strata_options_destroy(e->opt);
    st_env_fault_destroy(e->fault);
    if (e->base != st_env_posix()) {
        strata_env_destroy(e->base);
    }
    tu_free_path(e->dir);
    memset(e, 0, sizeof(*e));
}

long fu_mutating_calls(st_env *fault)
{
    long n = 0;
    for (int op = 1; op <= ST_FAULT_REMOVE; op <<= 1) {
        if (op & FU_MUTATING) {
            n += st_env_fault_count(fault, op);
        }
    }
    return n;
}

void fu_power_cut(struct fu_env *e, strata_db **db)
{
    tu_assert_ok(st_env_fault_power_loss(e->fault));
    if (*db) {
        (void)strata_close(*db); /* fails: every handle is dead */
        *db = NULL;
    }
    st_env_fault_clear(e->fault);
    st_env_fault_reset(e->fault);
}

strata_db *fu_open(struct fu_env *e, const char *what)
{
    strata_db *db = NULL;
    int rc = strata_open(e->opt, e->path, &db);
    if (rc != 0) {
        print_error("%s: open failed: %d (%s): %s\n", what, rc, strata_strerror(rc),
                    strata_errmsg());
        fail();
    }
    return db;
}
