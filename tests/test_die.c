/*
 * test_die.c - WARD_DIE_WITH_PARENT: a child that dies with its handle and
 * with the process that spawned it.
 *
 * Two mechanisms, and each test knows which one this run must use:
 *
 *  - Linux 7.1 and later, where the child is autoreaped (WARD_AUTOREAP set,
 *    linux backend): clone3() with CLONE_PIDFD_AUTOKILL and CLONE_NNP.  The
 *    child then runs with no_new_privs, and the death of the thread that
 *    spawned it does not matter;
 *  - everywhere else on Linux (older kernels, the posix backend): the child
 *    asks for PR_SET_PDEATHSIG(SIGKILL) before exec.  No no_new_privs; the
 *    spawning thread's exit kills it, as ward_attr_setflags(3) says.
 *
 * The kernel's answer is found by trying the flags on a trivial child, not
 * by version.  A parent's death is made real: a forked process spawns the
 * child and is killed with SIGKILL; this process is a subreaper, so the
 * orphaned grandchild comes to it and its end can be seen (and reaped,
 * where it is reapable).
 */
#include "common.h"

#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

WT_SUITE(die);

#define T_CLONE_AUTOREAP (1ULL << 34)
#define T_CLONE_NNP (1ULL << 35)
#define T_CLONE_PIDFD_AUTOKILL (1ULL << 36)

struct t_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
        stack_size, tls;
};

/* 1 if this kernel accepts CLONE_PIDFD_AUTOKILL (the child exits at once). */
static int kernel_autokills(void)
{
#ifdef SYS_clone3
    struct t_clone_args ca;
    int pidfd = -1;
    long r;

    memset(&ca, 0, sizeof ca);
    ca.flags = T_CLONE_AUTOREAP | T_CLONE_NNP | T_CLONE_PIDFD_AUTOKILL | CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
    ca.exit_signal = 0;
    r = syscall(SYS_clone3, &ca, sizeof ca);
    if (r == 0)
        syscall(SYS_exit, 0);
    if (r < 0)
        return 0;
    close(pidfd);
    return 1;
#else
    return 0;
#endif
}

/*
 * 1 on Linux 7.1 or later, where the flags came: there the probe must say
 * yes, or a refusal would pass for an older kernel and the fallback would
 * be tested in place of the path this run is for.
 */
static int kernel_has_autokill_version(void)
{
    struct utsname u;
    int major = 0, minor = 0;

    if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
        return 0;
    return major > 7 || (major == 7 && minor >= 1);
}

/* Does ward take the CLONE_PIDFD_AUTOKILL path here (without WARD_RUSAGE)? */
static int expect_autokill(void)
{
    if (!wt_autoreap_asked() || wt_posix_backend())
        return 0;
    return kernel_autokills();
}

/* NoNewPrivs of /proc/PID/status ("self" for this process): 0, 1, -1. */
static int no_new_privs(const char *pid)
{
    char path[64], buf[4096];
    const char *p;
    size_t n;
    int fd;

    snprintf(path, sizeof path, "/proc/%s/status", pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    n = wt_read_all(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n] = '\0';
    if ((p = strstr(buf, "\nNoNewPrivs:")) == NULL)
        return -1;
    p += strlen("\nNoNewPrivs:");
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == '1';
}

static ward_attr *attr_with(unsigned int flags)
{
    ward_attr *a = ward_attr_new();

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setflags(a, flags), 0, "ward_attr_setflags(0x%x): %s",
                 flags, strerror(errno));
    return a;
}

/*
 * Wait up to ms for pid, an orphan handed to this subreaper, to end.
 * 1: reaped here, *st set; 2: gone without a status for anyone but its
 * pidfd (an autoreaped child); 0: still there at the deadline.
 */
static int await_end(pid_t pid, long ms, int *st)
{
    double end = wt_now_ms() + (double)ms;

    for (;;) {
        pid_t r = waitpid(pid, st, WNOHANG);

        if (r == pid)
            return 1;
        if (r == -1 && errno == ECHILD && wt_gone(pid))
            return 2;
        if (wt_now_ms() > end)
            return 0;
        wt_sleep_ms(2);
    }
}

/* What await_end() must say of a child killed with SIGKILL. */
static void assert_killed(int r, int st, int autoreaped, const char *what)
{
    if (autoreaped) {
        cr_assert_eq(r, 2, "%s: %s", what,
                     r == 0 ? "still there" : "reapable, not autoreaped");
    } else {
        cr_assert_eq(r, 1, "%s: %s", what,
                     r == 0 ? "still there" : "gone without a status");
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
                  "%s: status 0x%x, not SIGKILL", what, st);
    }
}

/*
 * A process that spawns a sleeper through ward with flags, writes its pid
 * to the pipe, and waits to be killed.  Returns the intermediate's pid and
 * the sleeper's (*grandchild).
 */
static pid_t start_intermediate(unsigned int flags, pid_t *grandchild)
{
    char *argv[] = {(char *)wt_helper(), "sleep", "60000", NULL};
    char line[64];
    int p[2];
    pid_t pid;

    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        ward_attr *a = ward_attr_new();
        ward_child *c;
        char buf[32];

        close(p[0]);
        if (a == NULL || ward_attr_setflags(a, flags) == -1 ||
            (c = ward_spawn(NULL, argv, a)) == NULL)
            _exit(99);
        snprintf(buf, sizeof buf, "%ld\n", (long)ward_pid(c));
        wt_write_all(p[1], buf);
        for (;;)
            pause();
    }
    close(p[1]);
    if (wt_read_line(p[0], line, sizeof line) != 0) {
        int st;

        close(p[0]);
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        cr_assert_fail("the intermediate process could not spawn (status 0x%x)", st);
    }
    close(p[0]);
    *grandchild = (pid_t)strtol(line, NULL, 10);
    cr_assert_gt(*grandchild, 0);
    return pid;
}

static void kill_intermediate(pid_t pid)
{
    int st;

    cr_assert_eq(kill(pid, SIGKILL), 0);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "intermediate 0x%x", st);
}

Test(die, free_kills_running_child)
{
    const unsigned int sets[] = {WARD_DIE_WITH_PARENT,
                                 WARD_DIE_WITH_PARENT | WARD_KILL_ON_FREE};

    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        ward_attr *a = attr_with(sets[i]);
        ward_child *c = wt_spawn_ok(a, "sleep", "60000");
        pid_t pid = ward_pid(c);
        double end;

        ward_attr_free(a);
        cr_assert_eq(ward_trywait(c, NULL), -1);
        cr_assert_eq(errno, EAGAIN, "the child ended early: %s", strerror(errno));
        /* ward_free() kills it and waits for it, as WARD_KILL_ON_FREE does. */
        ward_free(c);
        end = wt_now_ms() + (double)wt_ms(1000);
        while (!wt_gone(pid) && wt_now_ms() < end)
            wt_sleep_ms(2);
        cr_assert(wt_gone(pid), "flags 0x%x: pid %ld outlived ward_free()",
                  sets[i], (long)pid);
    }
}

Test(die, parent_sigkill_kills_child)
{
    pid_t mid, gc;
    int st = 0, r;

    mid = start_intermediate(WARD_DIE_WITH_PARENT, &gc);
    cr_assert(!wt_gone(gc));
    kill_intermediate(mid);
    r = await_end(gc, wt_ms(1000), &st);
    if (r == 0) {
        kill(gc, SIGKILL);
        (void)await_end(gc, wt_ms(5000), &st);
    }
    assert_killed(r, st, wt_autoreap_asked() && !wt_posix_backend() &&
                             kernel_autokills(),
                  "the child of a SIGKILLed parent");
}

Test(die, without_flag_child_outlives_parent)
{
    pid_t mid, gc;
    int st = 0, r;

    mid = start_intermediate(0, &gc);
    kill_intermediate(mid);
    /* Long enough for a parent-death signal to have come, were one asked. */
    wt_sleep_ms(wt_ms(200));
    r = await_end(gc, 0, &st);
    cr_assert_eq(kill(gc, SIGKILL), 0, "the child died with its parent");
    cr_assert_eq(r, 0, "the child ended with its parent");
    r = await_end(gc, wt_ms(5000), &st);
    /* Autoreaped or not depends on WARD_AUTOREAP and the kernel only. */
    cr_assert_neq(r, 0, "the orphan did not end after SIGKILL");
    if (r == 1)
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
}

/*
 * The path taken is the one the kernel and the switch call for: only the
 * CLONE_PIDFD_AUTOKILL child has no_new_privs (CLONE_NNP), unless this
 * process has it already.  WARD_RUSAGE asks for a reapable child, which
 * cannot be autokilled: no no_new_privs there.
 */
Test(die, mechanism_matches_kernel)
{
    const unsigned int sets[] = {WARD_DIE_WITH_PARENT,
                                 WARD_DIE_WITH_PARENT | WARD_RUSAGE, 0};
    int self = no_new_privs("self"), autokill = expect_autokill();

    cr_assert_neq(self, -1, "no NoNewPrivs in /proc/self/status");
    if (kernel_has_autokill_version())
        cr_assert(kernel_autokills(), "Linux 7.1 or later refuses CLONE_PIDFD_AUTOKILL");
    if (kernel_has_autokill_version() && wt_autoreap_asked() && !wt_posix_backend())
        cr_assert(autokill, "the CLONE_PIDFD_AUTOKILL path is not expected here");
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        ward_attr *a = attr_with(sets[i]);
        ward_child *c = wt_spawn_ok(a, "sleep", "60000");
        char pid[24];
        int nnp, st;

        ward_attr_free(a);
        snprintf(pid, sizeof pid, "%ld", (long)ward_pid(c));
        nnp = no_new_privs(pid);
        cr_assert_eq(ward_kill(c, SIGKILL), 0);
        cr_assert_eq(ward_wait(c, &st), 0, "ward_wait: %s", strerror(errno));
        ward_free(c);
        cr_assert_eq(nnp, self || (autokill && sets[i] == WARD_DIE_WITH_PARENT),
                     "flags 0x%x: NoNewPrivs %d (this process %d, autokill "
                     "expected %d)",
                     sets[i], nnp, self, autokill);
    }
}

struct spawner {
    ward_child *c;
    int err;
};

static void *spawner_main(void *arg)
{
    struct spawner *s = arg;
    ward_attr *a = ward_attr_new();
    const char *argv[] = {wt_helper(), "sleep", "60000", NULL};

    if (a == NULL || ward_attr_setflags(a, WARD_DIE_WITH_PARENT) == -1) {
        s->err = errno;
    } else if ((s->c = ward_spawn(NULL, (char *const *)argv, a)) == NULL) {
        s->err = errno;
    }
    ward_attr_free(a);
    return NULL;
}

/*
 * PR_SET_PDEATHSIG counts the thread that made the child as its parent:
 * that thread's exit kills the child though the process lives on
 * (documented in ward_attr_setflags(3)).  A CLONE_PIDFD_AUTOKILL child
 * dies with the last reference to its pidfd, which the process holds.
 */
Test(die, spawning_thread_exit)
{
    struct spawner s = {NULL, 0};
    struct timespec dl;
    pthread_t th;
    int st = 0, r;

    cr_assert_eq(pthread_create(&th, NULL, spawner_main, &s), 0);
    cr_assert_eq(pthread_join(th, NULL), 0);
    cr_assert_not_null(s.c, "ward_spawn in a thread: %s", strerror(s.err));
    dl = wt_deadline_ms(expect_autokill() ? 200 : wt_ms(1000));
    while ((r = ward_timedwait(s.c, &st, &dl)) == -1 && errno == EINTR)
        ;
    if (expect_autokill()) {
        cr_assert_eq(r, -1, "the child ended (status 0x%x) with its thread", st);
        cr_assert_eq(errno, ETIMEDOUT);
    } else {
        cr_assert_eq(r, 0, "the child outlived the thread that spawned it: %s",
                     strerror(errno));
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
    }
    ward_free(s.c);
}

/* The flag is for ward_spawn() only; a forked child runs the caller's code. */
Test(die, fork_refuses_flag)
{
    ward_child *c = NULL;
    pid_t pid;

    errno = 0;
    pid = ward_fork(&c, WARD_DIE_WITH_PARENT);
    if (pid == 0)
        _exit(0);
    cr_assert_eq(pid, -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_null(c);
    cr_assert(wt_no_children());
}

/* An exec error still reaches ward_spawn(), on every path. */
Test(die, exec_error_reported)
{
    ward_attr *a = attr_with(WARD_DIE_WITH_PARENT);
    char *argv[] = {"/nonexistent/ward-die-test", NULL};

    wt_assert_spawn_fails(ENOENT, argv[0], argv, a);
    ward_attr_free(a);
}
