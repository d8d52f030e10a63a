/* test_env_mem.c — the in-memory env: the shared conformance suite (env_conformance.h), a
 * randomized differential test against the POSIX env (same operations, same results), and the
 * mem env's own rules (mkdir -p, no directory renames, many threads, lifetime). */
#include <stdlib.h>
#include <string.h>

#include "env_conformance.h"

static int conf_setup(void **state)
{
    struct conf_fixture *fx = calloc(1, sizeof(*fx));
    if (!fx || !(fx->env = st_env_mem_create())) {
        free(fx);
        return -1;
    }
    snprintf(fx->root, sizeof(fx->root), "/mem/test");
    *state = fx;
    return st_env_create_dir(fx->env, fx->root) == 0 ? 0 : -1;
}

static int conf_teardown(void **state)
{
    struct conf_fixture *fx = *state;
    fx->env->ops->destroy(fx->env);
    free(fx);
    return 0;
}

/* ---- Differential test: mem vs POSIX ---------------------------------------------------------- */

struct twin {
    st_env *env;
    char root[400];
};

static const char *twin_path(const struct twin *t, const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", t->root, name);
    return buf;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Runs one random operation on env; the result (code and output) goes into out. */
static void twin_op(const struct twin *t, uint64_t r, char *out, size_t cap)
{
    /* Files only in the root and in "sub"; directory operations only on "sub" (mkdir -p and
     * directory renames are where the mem env deliberately differs). */
    static const char *const files[] = {"a", "b", "c", "sub/d", "sub/e"};
    static const char *const dirs[] = {"", "sub", "a"};
    char p1[600], p2[600], p3[600];
    const char *a = twin_path(t, files[(r >> 8) % ST_ARRAY_LEN(files)], p1, sizeof(p1));
    const char *b = twin_path(t, files[(r >> 16) % ST_ARRAY_LEN(files)], p2, sizeof(p2));
    const char *d = twin_path(t, dirs[(r >> 16) % ST_ARRAY_LEN(dirs)], p3, sizeof(p3));
    char sub[600];
    twin_path(t, "sub", sub, sizeof(sub));
    int rc = 0;
    uint64_t size = 0;
    char *data = NULL;
    size_t len = 0;
    char **ls = NULL;
    int n = 0;
    char content[64];
    snprintf(content, sizeof(content), "content-%llu", (unsigned long long)(r >> 24) % 1000);
    switch (r % 9) {
    case 0: rc = st_env_write_file(t->env, a, st_slice_cstr(content), 0); break;
    case 1: rc = st_env_read_file(t->env, a, 1000, &data, &len); break;
    case 2: rc = st_env_rename_file(t->env, a, b); break;
    case 3: rc = st_env_remove_file(t->env, a); break;
    case 4: rc = st_env_file_size(t->env, a, &size); break;
    case 5: rc = st_env_exists(t->env, a); break;
    case 6: rc = st_env_create_dir(t->env, sub); break;
    case 7: rc = st_env_remove_dir(t->env, sub); break;
    default: rc = st_env_list_dir(t->env, d, &ls, &n); break;
    }
    if (ls) {
        qsort(ls, (size_t)n, sizeof(*ls), conf_cmp_names);
    }
    size_t o = (size_t)snprintf(out, cap, "op %d rc %d size %llu data %.*s names", (int)(r % 9),
                                rc, (unsigned long long)(r % 9 == 4 ? size : 0), (int)len,
                                data ? data : "");
    for (int i = 0; i < n && o < cap; i++) {
        o += (size_t)snprintf(out + o, cap - o, " %s", ls[i]);
    }
    st_free(data);
    st_env_free_names(ls, n);
}

static void test_matches_posix(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("env_mem_diff");
    assert_non_null(dir);
    struct twin mem = {st_env_mem_create(), "/twin"}, posix = {st_env_posix(), ""};
    snprintf(posix.root, sizeof(posix.root), "%s", dir);
    tu_assert_ok(st_env_create_dir(mem.env, mem.root));
    uint64_t s = tu_seed(0x5eed) | 1;
    int ops = (int)(3000 * tu_scale());
    for (int i = 0; i < ops; i++) {
        uint64_t r = rng_next(&s);
        char want[2048], got[2048];
        twin_op(&posix, r, want, sizeof(want));
        twin_op(&mem, r, got, sizeof(got));
        if (strcmp(want, got) != 0) {
            print_error("step %d: posix \"%s\" mem \"%s\"\n", i, want, got);
            fail();
        }
    }
    mem.env->ops->destroy(mem.env);
    tu_free_path(dir);
}

/* ---- Mem env specifics ------------------------------------------------------------------------ */

static void test_mkdir_p_and_roots(void **state)
{
    (void)state;
    st_env *env = st_env_mem_create();
    tu_assert_ok(st_env_create_dir(env, "/a/b/c"));
    assert_int_equal(st_env_exists(env, "/a"), 1);
    assert_int_equal(st_env_exists(env, "/a/b"), 1);
    assert_int_equal(st_env_exists(env, "/"), 1);
    assert_int_equal(st_env_exists(env, "."), 1);
    static const char *const top[] = {"a", NULL};
    conf_assert_list(env, "/", top);
    conf_put(env, "rel", "r"); /* relative paths live in "." */
    static const char *const dot[] = {"rel", NULL};
    conf_assert_list(env, ".", dot);
    conf_assert_list(env, "", dot);
    conf_assert_content(env, "./rel", "r", 1);
    tu_assert_ok(st_env_sync_dir(env, "/a/b"));
    assert_int_equal(st_env_remove_dir(env, "/a"), STRATA_E_IO); /* not empty */
    env->ops->destroy(env);
}

static void test_rename_dir_unsupported(void **state)
{
    (void)state;
    st_env *env = st_env_mem_create();
    tu_assert_ok(st_env_create_dir(env, "/d"));
    assert_int_equal(st_env_rename_file(env, "/d", "/e"), STRATA_E_NOTSUP);
    assert_int_equal(st_env_rename_file(env, "/d/x", "/nodir/y"), STRATA_E_NOTFOUND);
    conf_put(env, "/d/x", "1");
    assert_int_equal(st_env_rename_file(env, "/d/x", "/nodir/y"), STRATA_E_NOTFOUND);
    conf_assert_content(env, "/d/x", "1", 1);
    env->ops->destroy(env);
}

/* Readers see appends at once; a writer's handle keeps the inode after removal. */
static void test_visibility_and_lifetime(void **state)
{
    (void)state;
    st_env *env = st_env_mem_create();
    st_wfile *w = NULL;
    st_rfile *r = NULL;
    char scratch[16];
    st_slice got;
    tu_assert_ok(st_env_new_writable(env, "f", &w));
    tu_assert_ok(st_env_new_random(env, "f", &r));
    tu_assert_ok(st_wfile_append(w, "abc", 3));
    tu_assert_ok(st_rfile_read(r, 0, sizeof(scratch), scratch, &got));
    tu_assert_bytes_equal(got.data, got.size, "abc", 3);
    tu_assert_ok(st_env_remove_file(env, "f"));
    tu_assert_ok(st_wfile_append(w, "def", 3));
    tu_assert_ok(st_rfile_read(r, 0, sizeof(scratch), scratch, &got));
    tu_assert_bytes_equal(got.data, got.size, "abcdef", 6);
    tu_assert_ok(st_wfile_close(w));
    st_rfile_close(r);
    assert_int_equal(st_env_exists(env, "f"), 0);
    /* Destroy frees remaining files and a lock still held. */
    conf_put(env, "g", "x");
    st_filelock *l = NULL;
    tu_assert_ok(st_env_lock_file(env, "LOCK", &l));
    env->ops->destroy(env);
}

struct writer_arg {
    st_env *env;
    int id;
    int ok;
};

static void writer_main(void *p)
{
    struct writer_arg *a = p;
    char path[32], line[32];
    snprintf(path, sizeof(path), "/mt/w%d", a->id);
    st_wfile *w = NULL;
    a->ok = st_env_new_writable(a->env, path, &w) == 0;
    for (int i = 0; a->ok && i < 2000; i++) {
        snprintf(line, sizeof(line), "%06d\n", i);
        a->ok = st_wfile_append(w, line, 7) == 0;
        char **names = NULL;
        int n = 0;
        if (i % 100 == 0) {
            a->ok = a->ok && st_env_list_dir(a->env, "/mt", &names, &n) == 0;
            st_env_free_names(names, n);
        }
    }
    if (w) {
        a->ok = st_wfile_close(w) == 0 && a->ok;
    }
}

static void test_many_threads(void **state)
{
    (void)state;
    st_env *env = st_env_mem_create();
    tu_assert_ok(st_env_create_dir(env, "/mt"));
    struct writer_arg args[4];
    st_thread *t[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct writer_arg){env, i, 0};
        tu_assert_ok(st_env_thread_start(env, writer_main, &args[i], &t[i]));
    }
    for (int i = 0; i < 4; i++) {
        st_env_thread_join(env, t[i]);
        assert_true(args[i].ok);
        uint64_t size = 0;
        char path[32];
        snprintf(path, sizeof(path), "/mt/w%d", i);
        tu_assert_ok(st_env_file_size(env, path, &size));
        assert_int_equal(size, 2000 * 7);
    }
    env->ops->destroy(env);
}

static void test_create_oom(void **state)
{
    (void)state;
    st_alloc_fail_after(0, 0);
    assert_null(st_env_mem_create());
    st_alloc_fail_after(-1, 0);
    st_env *env = st_env_mem_create();
    for (long i = 0; i < 100; i++) { /* mkdir -p under every allocation failure */
        st_alloc_fail_after(i, 0);
        int rc = st_env_create_dir(env, "/p/q/r");
        st_alloc_fail_after(-1, 0);
        if (rc == 0) {
            break;
        }
        assert_int_equal(rc, STRATA_E_NOMEM);
    }
    assert_int_equal(st_env_exists(env, "/p/q/r"), 1);
    env->ops->destroy(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        CONF_TESTS,
        cmocka_unit_test(test_matches_posix),
        cmocka_unit_test(test_mkdir_p_and_roots),
        cmocka_unit_test(test_rename_dir_unsupported),
        cmocka_unit_test(test_visibility_and_lifetime),
        cmocka_unit_test(test_many_threads),
        cmocka_unit_test(test_create_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
