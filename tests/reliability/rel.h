/*
 * rel.h - what the reliability suites share, on top of tests/common.h.
 *
 * Include it first (it includes common.h, which defines _GNU_SOURCE).
 * Every suite still uses WT_SUITE from common.h, so each test is checked
 * for leaked descriptors and children; the helpers here add what the
 * fault-injection tests need on top of that:
 *
 *  - rel_heap(): bytes in use on the heap (mallinfo2), to check that a
 *    failed call leaves no memory behind;
 *  - rel_fds_limit()/rel_fds_restore(): leave exactly k descriptors free
 *    below the soft RLIMIT_NOFILE, the state in which a spawn that needs
 *    k + 1 of them fails with EMFILE;
 *  - rel_subprocess(): run a function in a plain fork() child and collect
 *    its exit code and one line of explanation, for tests that change what
 *    cannot be changed back (user id, process limit) or that must start
 *    from a process where ward has never run.
 */
#ifndef WARD_TESTS_REL_H
#define WARD_TESTS_REL_H

#include "../common.h"

#include <malloc.h>
#include <sys/time.h>

/* Sanitizer builds: their allocators do not feed mallinfo2(). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define REL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define REL_SANITIZED 1
#endif
#endif
#ifndef REL_SANITIZED
#define REL_SANITIZED 0
#endif

/* AddressSanitizer builds, apart: see the fork storm. */
#if defined(__SANITIZE_ADDRESS__)
#define REL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REL_ASAN 1
#endif
#endif
#ifndef REL_ASAN
#define REL_ASAN 0
#endif

/* Exit code of a subprocess that skips (as automake's). */
#define REL_SKIP 77

/*
 * glibc's per-thread cache keeps freed chunks counted as in use by
 * mallinfo2(), and calloc() never takes from it, so the count drifts by a
 * few hundred bytes with no leak at all.  Every reliability program
 * therefore runs with the cache off: if it is on, the program re-executes
 * itself once with GLIBC_TUNABLES=glibc.malloc.tcache_count=0 (glibc
 * passes argc, argv and envp to constructors).
 */
#ifdef __GLIBC__
__attribute__((constructor)) static void rel_no_tcache(int argc, char **argv, char **envp)
{
    const char *t = getenv("GLIBC_TUNABLES");
    char buf[1024];

    (void)argc;
    (void)envp;
    if ((t != NULL && strstr(t, "glibc.malloc.tcache_count=0") != NULL) ||
        getenv("REL_TCACHE_RETRIED") != NULL)
        return;
    snprintf(buf, sizeof buf, "glibc.malloc.tcache_count=0%s%s", t != NULL ? ":" : "",
             t != NULL ? t : "");
    setenv("GLIBC_TUNABLES", buf, 1);
    setenv("REL_TCACHE_RETRIED", "1", 1);
    execv("/proc/self/exe", argv);
    /* Could not: go on with the cache, heap checks may then be noisy. */
}
#endif

/* Heap bytes in use (small chunks and mmapped ones). */
WT_FN size_t rel_heap(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
#else
    return 0;
#endif
}

/* Child processes of this process (running or zombie), from /proc. */
WT_FN int rel_count_children(void)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t self = getpid();
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[512], *p;
        int fd;
        ssize_t k;
        long ppid;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
            continue;
        k = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (k <= 0)
            continue;
        buf[k] = '\0';
        /* pid (comm) state ppid ...; comm may hold anything, so go by the last ')'. */
        if ((p = strrchr(buf, ')')) == NULL)
            continue;
        if (sscanf(p + 1, " %*c %ld", &ppid) == 1 && ppid == (long)self)
            n++;
    }
    closedir(d);
    return n;
}

/* ---- Descriptor shortage ---------------------------------------------- */

#define REL_MAX_FILLERS 4096

struct rel_fds {
    struct rlimit saved;
    int fillers[REL_MAX_FILLERS];
    int nfillers;
};

/*
 * Lower the soft descriptor limit to a little above the highest descriptor
 * in use, fill every free number below it with /dev/null, then close k of
 * the fillers again: exactly k descriptors can be opened afterwards.
 * Only the soft limit changes (root here lacks CAP_SYS_RESOURCE, so a
 * lowered hard limit could not be raised again).
 */
WT_FN void rel_fds_limit(struct rel_fds *f, int k)
{
    struct rlimit rl;
    int top = 0, fd;

    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &f->saved), 0);
    for (fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            top = fd;
    rl = f->saved;
    rl.rlim_cur = (rlim_t)top + 1 + (rlim_t)k + 8;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0, "setrlimit: %s", strerror(errno));
    f->nfillers = 0;
    while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0) {
        cr_assert_lt(f->nfillers, REL_MAX_FILLERS);
        f->fillers[f->nfillers++] = fd;
    }
    cr_assert_eq(errno, EMFILE, "filling descriptors: %s", strerror(errno));
    cr_assert_geq(f->nfillers, k);
    for (int i = 0; i < k; i++)
        close(f->fillers[--f->nfillers]);
}

WT_FN void rel_fds_restore(struct rel_fds *f)
{
    while (f->nfillers > 0)
        close(f->fillers[--f->nfillers]);
    setrlimit(RLIMIT_NOFILE, &f->saved);
}

/* ---- Subprocesses -------------------------------------------------------- */

/*
 * Where a subprocess explains itself: rel_fail() writes one line here and
 * exits 1; rel_skip() exits REL_SKIP.  Only async-signal-safe-ish stdio-free
 * calls are used, since the subprocess is a fork() child.
 */
static int rel_msg_fd = -1;

WT_FN __attribute__((format(printf, 2, 3), noreturn)) void
rel_exit_msg(int code, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 1)
        n = (int)sizeof buf - 1;
    if (rel_msg_fd >= 0 && n > 0) {
        ssize_t w = write(rel_msg_fd, buf, (size_t)n);
        (void)w;
    }
    _exit(code);
}

#define rel_fail(...) rel_exit_msg(1, __VA_ARGS__)
#define rel_skip(...) rel_exit_msg(REL_SKIP, __VA_ARGS__)
#define rel_check(cond)                                                      \
    do {                                                                     \
        if (!(cond))                                                         \
            rel_fail("line %d: check failed: %s (errno %d: %s)", __LINE__,   \
                     #cond, errno, strerror(errno));                         \
    } while (0)
/* rel_check with a message of its own. */
#define rel_checkf(cond, fmt, ...)                                           \
    do {                                                                     \
        if (!(cond))                                                         \
            rel_fail("line %d: " fmt, __LINE__, ##__VA_ARGS__);              \
    } while (0)

/*
 * Run fn(arg) in a fork() child, which exits with what fn returns.  Waits
 * at most timeout_s seconds times the slowdown (then kills it), reaps it,
 * and returns its exit code (or 128 + signal); msg receives what it wrote
 * with rel_fail/skip.
 */
WT_FN int rel_subprocess(int (*fn)(void *), void *arg, char *msg, size_t cap,
                         int timeout_s)
{
    int p[2], st = 0;
    pid_t pid;
    long limit_ms = wt_ms(timeout_s * 1000L);
    double end = wt_now_ms() + (double)limit_ms;

    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(p[0]);
        rel_msg_fd = p[1];
        _exit(fn(arg));
    }
    close(p[1]);
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);

        if (r == pid)
            break;
        cr_assert_eq(r, 0, "waitpid: %s", strerror(errno));
        if (wt_now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            snprintf(msg, cap, "subprocess hung for %ld s: killed", limit_ms / 1000);
            close(p[0]);
            return 124;
        }
        wt_sleep_ms(5);
    }
    {
        int fl = fcntl(p[0], F_GETFL);
        fcntl(p[0], F_SETFL, fl | O_NONBLOCK);
    }
    wt_read_all(p[0], msg, cap);
    close(p[0]);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (msg[0] == '\0')
        snprintf(msg, cap, "killed by signal %d", WTERMSIG(st));
    return 128 + WTERMSIG(st);
}

/* Run fn in a subprocess: pass, skip the test, or fail with its message. */
#define rel_run_subprocess(fn, arg, timeout_s)                               \
    do {                                                                     \
        char rel_m_[1536] = "";                                             \
        int rel_c_ = rel_subprocess((fn), (arg), rel_m_, sizeof rel_m_,      \
                                    (timeout_s));                            \
        if (rel_c_ == REL_SKIP)                                              \
            cr_skip_test("%s", rel_m_);                                      \
        cr_assert_eq(rel_c_, 0, "subprocess failed (%d): %s", rel_c_, rel_m_); \
        if (rel_m_[0] != '\0')                                               \
            cr_log_info("%s", rel_m_);                                       \
    } while (0)

/* In a subprocess: a line for the log (shown on success), no exit. */
WT_FN __attribute__((format(printf, 1, 2))) void rel_note(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 1)
        n = (int)sizeof buf - 1;
    if (rel_msg_fd >= 0 && n > 0) {
        ssize_t w = write(rel_msg_fd, buf, (size_t)n);
        (void)w;
    }
}

/* ---- Small checks usable in subprocesses ------------------------------ */

/* The helper, run to exit with code; waits and checks.  0 or -1 (errno). */
WT_FN int rel_spawn_exit(const ward_attr *attr, int code, int *status)
{
    char num[16];
    char *argv[3] = {(char *)wt_helper_path, num, NULL};
    ward_child *c;
    int st, r;

    snprintf(num, sizeof num, "%d", code);
    if ((c = ward_spawn(NULL, argv, attr)) == NULL)
        return -1;
    while ((r = ward_wait(c, &st)) == -1 && errno == EINTR)
        ;
    ward_free(c);
    if (r == -1)
        return -1;
    if (status != NULL)
        *status = st;
    return 0;
}

/* ---- The probe program ------------------------------------------------- */

static char rel_probe_buf[PATH_MAX + 64];

/* tests/reliability/probe: $REL_PROBE, or next to this program. */
WT_FN const char *rel_probe(void)
{
    const char *env = getenv("REL_PROBE");
    char exe[PATH_MAX], cand[PATH_MAX + 32];
    ssize_t n;

    if (rel_probe_buf[0] != '\0')
        return rel_probe_buf;
    if (env != NULL && access(env, X_OK) == 0) {
        snprintf(rel_probe_buf, sizeof rel_probe_buf, "%s", env);
        return rel_probe_buf;
    }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        char *slash;
        exe[n] = '\0';
        if ((slash = strrchr(exe, '/')) != NULL) {
            *slash = '\0';
            snprintf(cand, sizeof cand, "%s/probe", exe);
            if (access(cand, X_OK) == 0) {
                snprintf(rel_probe_buf, sizeof rel_probe_buf, "%s", cand);
                return rel_probe_buf;
            }
            snprintf(cand, sizeof cand, "%s/../probe", exe);
            if (access(cand, X_OK) == 0) {
                snprintf(rel_probe_buf, sizeof rel_probe_buf, "%s", cand);
                return rel_probe_buf;
            }
        }
    }
    cr_assert_fail("tests/reliability/probe not found: set REL_PROBE");
    return NULL;
}

/*
 * Run the probe with arguments (NULL-terminated), its stderr and stdout
 * collected in out.  Returns its exit code (or 128 + signal).
 */
WT_FN int rel_run_probe(char *out, size_t cap, const char *const *args)
{
    char *argv[16];
    ward_attr *a = ward_attr_new();
    ward_child *c;
    int n = 0, st;

    argv[n++] = (char *)rel_probe();
    while (*args != NULL && n < 15)
        argv[n++] = (char *)*args++;
    argv[n] = NULL;
    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    cr_assert_eq(ward_attr_setstdio(a, 0, WARD_STDIO_NULL, -1), 0);
    c = ward_spawn(NULL, argv, a);
    cr_assert_not_null(c, "spawning the probe: %s", strerror(errno));
    ward_attr_free(a);
    /* The probe sends its stderr to its stdout. */
    wt_read_all(ward_stdio(c, 1), out, cap);
    st = wt_wait_ok(c);
    ward_free(c);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define rel_probe_run(out, cap, ...)                                         \
    rel_run_probe((out), (cap), (const char *const[]){__VA_ARGS__, NULL})

#endif
