/* test_env_posix.c — the POSIX env: the shared conformance suite (env_conformance.h) plus what
 * only a real file system shows: locks across processes (fork), O_CLOEXEC descriptors, errno
 * text in messages, and the pure path helpers of env.c. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env_conformance.h"

static int conf_setup(void **state)
{
    struct conf_fixture *fx = calloc(1, sizeof(*fx));
    char *dir = tu_mkdtemp("env_posix");
    if (!fx || !dir) {
        return -1;
    }
    fx->env = st_env_posix();
    snprintf(fx->root, sizeof(fx->root), "%s", dir);
    fx->priv = dir;
    *state = fx;
    return 0;
}

static int conf_teardown(void **state)
{
    struct conf_fixture *fx = *state;
    tu_free_path(fx->priv);
    free(fx);
    return 0;
}

/* The child takes the lock and holds it; the parent must see BUSY from the kernel (its own
 * registry knows nothing of the child's lock), then get the lock once the child is gone. */
static void test_lock_other_process(void **state)
{
    struct conf_fixture *fx = *state;
    const char *path = cpath(fx, "LOCK");
    int to_parent[2], to_child[2];
    assert_int_equal(pipe(to_parent), 0);
    assert_int_equal(pipe(to_child), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        st_filelock *l = NULL;
        char c = st_env_lock_file(st_env_posix(), path, &l) == 0 ? 'L' : 'E';
        if (write(to_parent[1], &c, 1) != 1 || read(to_child[0], &c, 1) != 1) {
            _exit(2);
        }
        _exit(st_env_unlock_file(st_env_posix(), l) == 0 ? 0 : 1);
    }
    char c = 0;
    assert_int_equal(read(to_parent[0], &c, 1), 1);
    assert_int_equal(c, 'L');
    st_filelock *l = NULL;
    assert_int_equal(st_env_lock_file(st_env_posix(), path, &l), STRATA_E_BUSY);
    assert_null(l);
    assert_non_null(strstr(st_errmsg(), "another process"));
    assert_int_equal(write(to_child[1], "x", 1), 1);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    tu_assert_ok(st_env_lock_file(st_env_posix(), path, &l));
    tu_assert_ok(st_env_unlock_file(st_env_posix(), l));
    close(to_parent[0]);
    close(to_parent[1]);
    close(to_child[0]);
    close(to_child[1]);
}

/* A lock held here is BUSY for a forked child too (the registry is copied, and the kernel lock
 * belongs to the parent's open file description). */
static void test_lock_seen_by_child(void **state)
{
    struct conf_fixture *fx = *state;
    const char *path = cpath(fx, "LOCK");
    st_filelock *l = NULL;
    tu_assert_ok(st_env_lock_file(st_env_posix(), path, &l));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        st_filelock *l2 = NULL;
        _exit(st_env_lock_file(st_env_posix(), path, &l2) == STRATA_E_BUSY ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    tu_assert_ok(st_env_unlock_file(st_env_posix(), l));
    tu_assert_ok(st_env_unlock_file(st_env_posix(), NULL));
}

/* Finds the descriptor open on path in /proc/self/fd (-1 if none). */
static int fd_of(const char *path)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int found = -1;
    char link[700], target[700];
    while (d && (e = readdir(d)) != NULL) {
        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = '\0';
            if (strcmp(target, path) == 0) {
                found = atoi(e->d_name);
            }
        }
    }
    if (d) {
        closedir(d);
    }
    return found;
}

static void assert_cloexec(const char *path)
{
    int fd = fd_of(path);
    assert_true(fd >= 0);
    int flags = fcntl(fd, F_GETFD);
    assert_true(flags >= 0 && (flags & FD_CLOEXEC));
}

static void test_cloexec(void **state)
{
    struct conf_fixture *fx = *state;
    char *real = realpath(fx->root, NULL);
    assert_non_null(real);
    char p[700];
    snprintf(p, sizeof(p), "%s/f", real);
    st_wfile *w = NULL;
    tu_assert_ok(st_env_new_writable(fx->env, p, &w));
    assert_cloexec(p);
    tu_assert_ok(st_wfile_close(w));
    st_rfile *r = NULL;
    tu_assert_ok(st_env_new_random(fx->env, p, &r));
    assert_cloexec(p);
    st_rfile_close(r);
    st_sfile *s = NULL;
    tu_assert_ok(st_env_new_sequential(fx->env, p, &s));
    assert_cloexec(p);
    st_sfile_close(s);
    snprintf(p, sizeof(p), "%s/LOCK", real);
    st_filelock *l = NULL;
    tu_assert_ok(st_env_lock_file(fx->env, p, &l));
    assert_cloexec(p);
    tu_assert_ok(st_env_unlock_file(fx->env, l));
    assert_int_equal(fd_of(p), -1);
    free(real);
}

static void test_errno_text(void **state)
{
    struct conf_fixture *fx = *state;
    st_rfile *r = NULL;
    assert_int_equal(st_env_new_random(fx->env, cpath(fx, "missing"), &r), STRATA_E_NOTFOUND);
    assert_non_null(strstr(st_errmsg(), cpath(fx, "missing")));
    assert_non_null(strstr(st_errmsg(), "No such file or directory"));
    assert_int_equal(st_env_rename_file(fx->env, cpath(fx, "m1"), cpath(fx, "m2")),
                     STRATA_E_NOTFOUND);
    assert_non_null(strstr(st_errmsg(), "m1"));
    assert_non_null(strstr(st_errmsg(), "m2"));
}

/* Appends that are visible to other readers only after flush (user-space buffering). */
static void test_flush_visibility(void **state)
{
    struct conf_fixture *fx = *state;
    st_wfile *w = NULL;
    uint64_t size = 1;
    tu_assert_ok(st_env_new_writable(fx->env, cpath(fx, "f"), &w));
    tu_assert_ok(st_wfile_append(w, "abc", 3));
    tu_assert_ok(st_env_file_size(fx->env, cpath(fx, "f"), &size));
    assert_int_equal(size, 0);
    tu_assert_ok(st_wfile_flush(w));
    tu_assert_ok(st_env_file_size(fx->env, cpath(fx, "f"), &size));
    assert_int_equal(size, 3);
    tu_assert_ok(st_wfile_close(w));
}

/* Writing to a file on a full device fails with NOSPC (/dev/full always is). */
static void test_nospc(void **state)
{
    (void)state;
    st_wfile *w = NULL;
    if (access("/dev/full", W_OK) != 0) {
        skip();
    }
    tu_assert_ok(st_env_new_writable(st_env_posix(), "/dev/full", &w));
    tu_assert_ok(st_wfile_append(w, "abc", 3));
    assert_int_equal(st_wfile_sync(w), STRATA_E_NOSPC);
    assert_non_null(strstr(st_errmsg(), "/dev/full"));
    assert_int_equal(st_wfile_close(w), STRATA_E_NOSPC); /* the bytes are still buffered */
}

static void check_dirname(const char *in, const char *want)
{
    char *d = st_path_dirname(in);
    assert_non_null(d);
    assert_string_equal(d, want);
    st_free(d);
}

static void check_normalize(const char *in, const char *want)
{
    char *d = st_path_normalize(in);
    assert_non_null(d);
    assert_string_equal(d, want);
    st_free(d);
}

static void test_path_helpers(void **state)
{
    (void)state;
    check_dirname("a/b", "a");
    check_dirname("a", ".");
    check_dirname("", ".");
    check_dirname("/a", "/");
    check_dirname("/", "/");
    check_dirname("a/b/", "a");
    check_dirname("a//b", "a");
    check_dirname("/x/y/z.log", "/x/y");
    check_normalize("a//b/./c/", "a/b/c");
    check_normalize("./a", "a");
    check_normalize("", ".");
    check_normalize(".", ".");
    check_normalize("/", "/");
    check_normalize("//x", "/x");
    check_normalize("a/../b", "a/../b");
    st_alloc_fail_after(0, 0);
    assert_null(st_path_dirname("a/b"));
    st_alloc_fail_after(0, 0);
    assert_null(st_path_normalize("a/b"));
    st_alloc_fail_after(-1, 0);
}

struct prio_probe {
    int before, after;
};

static void lower_and_read(void *arg)
{
    struct prio_probe *p = arg;
    id_t tid = (id_t)syscall(SYS_gettid);
    p->before = getpriority(PRIO_PROCESS, tid);
    st_env_lower_thread_priority(st_env_posix());
    p->after = getpriority(PRIO_PROCESS, tid);
}

/* Background threads lower their own CPU priority (a nice value per thread), not the process's. */
static void test_lower_thread_priority(void **state)
{
    (void)state;
    st_env *env = st_env_posix();
    int main_before = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    struct prio_probe p = {0, 0};
    st_thread *t = NULL;
    tu_assert_ok(st_env_thread_start(env, lower_and_read, &p, &t));
    st_env_thread_join(env, t);
    assert_true(p.after > p.before || p.before == 19);
    assert_true(p.after <= 19);
    assert_int_equal(getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid)), main_before);
}

static void test_public_env(void **state)
{
    (void)state;
    assert_ptr_equal(strata_env_default(), st_env_posix());
    strata_env_destroy(strata_env_default()); /* static: a no-op */
    strata_env_destroy(NULL);
    strata_env *m = strata_env_create_mem();
    assert_non_null(m);
    tu_assert_ok(st_env_write_file(m, "x", st_slice_cstr("1"), 0));
    strata_env_destroy(m);
}

#define POSIX_TEST(f) cmocka_unit_test_setup_teardown(f, conf_setup, conf_teardown)

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        CONF_TESTS,
        POSIX_TEST(test_lock_other_process),
        POSIX_TEST(test_lock_seen_by_child),
        POSIX_TEST(test_cloexec),
        POSIX_TEST(test_errno_text),
        POSIX_TEST(test_flush_visibility),
        cmocka_unit_test(test_nospc),
        cmocka_unit_test(test_path_helpers),
        cmocka_unit_test(test_lower_thread_priority),
        cmocka_unit_test(test_public_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
