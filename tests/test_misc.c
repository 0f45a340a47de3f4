/*
 * test_misc.c - ward_backend(), ward_version(), ward_pid(), ward_pidfd(),
 * ward_stdio() and ward_stdio_take().
 *
 * WARD_EXPECT_BACKEND, when set (tests/posix-backend.test sets it), names
 * the backend ward_backend() must report.  Without it, and without
 * WARD_BACKEND, a build with the Linux backend (WARD_TEST_LINUX_BACKEND,
 * defined by tests/Makemodule.am) on a kernel that has pidfd_open() must
 * report "linux".
 */
#include "common.h"

#include <dirent.h>
#include <poll.h>
#include <sys/syscall.h>

WT_SUITE(misc);

Test(misc, version)
{
    char want[32];

    snprintf(want, sizeof want, "%d.%d.%d", WARD_VERSION_MAJOR,
             WARD_VERSION_MINOR, WARD_VERSION_PATCH);
    cr_assert_not_null(ward_version());
    cr_assert_str_eq(ward_version(), want);
    cr_assert_str_eq(ward_version(), "0.1.0");
}

static void *backend_in_thread(void *arg)
{
    (void)arg;
    return (void *)ward_backend();
}

Test(misc, backend)
{
    const char *b = ward_backend();
    const char *forced = getenv("WARD_BACKEND");
    const char *expect = getenv("WARD_EXPECT_BACKEND");
    pthread_t t;
    void *other;

    cr_assert_not_null(b, "ward_backend: %s", strerror(errno));
    cr_assert(strcmp(b, "linux") == 0 || strcmp(b, "posix") == 0,
              "unknown backend \"%s\"", b);
    if (expect != NULL && *expect != '\0')
        cr_assert_str_eq(b, expect, "WARD_EXPECT_BACKEND=%s", expect);
    if (forced != NULL && strcmp(forced, "posix") == 0)
        cr_assert_str_eq(b, "posix", "WARD_BACKEND=posix is not honoured");
#ifdef WARD_TEST_LINUX_BACKEND
    if ((forced == NULL || *forced == '\0') && (expect == NULL || *expect == '\0')) {
        int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
        if (fd >= 0) {
            close(fd);
            cr_assert_str_eq(b, "linux", "the kernel has pidfd, but ward "
                             "chose \"%s\"", b);
        }
    }
#endif
    /* Chosen once: the same answer from anywhere. */
    cr_assert_str_eq(ward_backend(), b);
    cr_assert_eq(pthread_create(&t, NULL, backend_in_thread, NULL), 0);
    pthread_join(t, &other);
    cr_assert_not_null(other);
    cr_assert_str_eq((const char *)other, b);
}

Test(misc, pid)
{
    ward_attr *a = ward_attr_new();
    char out[128];
    long pid = 0;

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    ward_child *c = wt_spawn_ok(a, "ids");
    wt_read_all(ward_stdio(c, 1), out, sizeof out);
    cr_assert_eq(sscanf(out, "pid %ld", &pid), 1, "output: %s", out);
    cr_assert_eq((long)ward_pid(c), pid);
    (void)wt_wait_ok(c);
    /* Still returned after the reap. */
    cr_assert_eq((long)ward_pid(c), pid);
    ward_free(c);
    wt_assert_err(ward_pid(NULL), EINVAL);
    ward_attr_free(a);
}

Test(misc, pidfd_einval)
{
    wt_assert_err(ward_pidfd(NULL), EINVAL);
}

Test(misc, pidfd_enotsup_on_posix_backend)
{
    if (!wt_posix_backend())
        cr_skip_test("the %s backend has a pidfd", ward_backend());
    ward_child *c = wt_spawn_ok(NULL, "0");
    wt_assert_err(ward_pidfd(c), ENOTSUP);
    wt_reap_exit(c, 0);
}

Test(misc, pidfd_polls_readable_on_exit)
{
    if (wt_posix_backend())
        cr_skip_test("the posix backend has no pidfd");
    ward_attr *a = ward_attr_new();
    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setstdio(a, 0, WARD_STDIO_PIPE, -1), 0);
    ward_child *c = wt_spawn_ok(a, "cat", "exit", "3");
    int fd = ward_pidfd(c);
    struct pollfd pfd;
    char path[64], info[1024], want[64];

    cr_assert_geq(fd, 0, "ward_pidfd: %s", strerror(errno));
    cr_assert_eq(ward_pidfd(c), fd, "not the same descriptor twice");
    cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC, "pidfd is not close-on-exec");
    /* It refers to the child. */
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    int ifd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(ifd, 0);
    wt_read_all(ifd, info, sizeof info);
    close(ifd);
    snprintf(want, sizeof want, "\nPid:\t%ld\n", (long)ward_pid(c));
    cr_assert_not_null(strstr(info, want), "fdinfo of the pidfd:\n%s", info);
    /* Running (it waits for its stdin): not readable. */
    pfd = (struct pollfd){fd, POLLIN, 0};
    cr_assert_eq(poll(&pfd, 1, 0), 0, "pidfd readable while the child runs");
    /* Let it end: readable, before anyone reaps it. */
    close(ward_stdio_take(c, 0));
    pfd = (struct pollfd){fd, POLLIN, 0};
    cr_assert_eq(poll(&pfd, 1, (int)wt_ms(20000)), 1, "pidfd not readable after exit");
    cr_assert(pfd.revents & POLLIN);
    /* Valid until ward_free(), also after the reap. */
    int st = wt_wait_ok(c);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3, "status 0x%x", st);
    cr_assert_eq(ward_pidfd(c), fd);
    cr_assert_geq(fcntl(fd, F_GETFD), 0, "pidfd closed before ward_free()");
    ward_free(c);
    errno = 0;
    cr_assert_eq(fcntl(fd, F_GETFD), -1, "pidfd not closed by ward_free()");
    cr_assert_eq(errno, EBADF);
    ward_attr_free(a);
}

Test(misc, stdio_errors)
{
    ward_attr *a = ward_attr_new();

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    cr_assert_eq(ward_attr_setstdio(a, 2, WARD_STDIO_NULL, -1), 0);
    ward_child *c = wt_spawn_ok(a, "0");

    wt_assert_err(ward_stdio(NULL, 1), EINVAL);
    wt_assert_err(ward_stdio_take(NULL, 1), EINVAL);
    wt_assert_err(ward_stdio(c, -1), EINVAL);
    wt_assert_err(ward_stdio(c, 3), EINVAL);
    wt_assert_err(ward_stdio_take(c, -1), EINVAL);
    wt_assert_err(ward_stdio_take(c, 3), EINVAL);
    /* No pipe for 0 (inherited) nor 2 (/dev/null). */
    wt_assert_err(ward_stdio(c, 0), EBADF);
    wt_assert_err(ward_stdio(c, 2), EBADF);
    wt_assert_err(ward_stdio_take(c, 0), EBADF);
    wt_assert_err(ward_stdio_take(c, 2), EBADF);
    /* The pipe for 1: the same descriptor every time until taken. */
    int fd = ward_stdio(c, 1);
    cr_assert_geq(fd, 0, "ward_stdio: %s", strerror(errno));
    cr_assert_eq(ward_stdio(c, 1), fd);
    cr_assert_eq(ward_stdio_take(c, 1), fd);
    wt_assert_err(ward_stdio(c, 1), EBADF);
    wt_assert_err(ward_stdio_take(c, 1), EBADF);
    wt_reap_exit(c, 0);
    /* Ours now: still open after ward_free(). */
    cr_assert_eq(close(fd), 0);
    ward_attr_free(a);
}

Test(misc, stdio_without_attr)
{
    ward_child *c = wt_spawn_ok(NULL, "0");

    for (int i = 0; i < 3; i++) {
        wt_assert_err(ward_stdio(c, i), EBADF);
        wt_assert_err(ward_stdio_take(c, i), EBADF);
    }
    wt_reap_exit(c, 0);
}

Test(misc, functions_never_touch_outputs_on_failure)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "20000");
    struct rusage ru;
    int st = 777;

    memset(&ru, 0x33, sizeof ru);
    wt_assert_err(ward_trywait(c, &st), EAGAIN);
    wt_assert_err(ward_rusage(c, &ru), EAGAIN);
    wt_assert_err(ward_terminate(c, -5, &st), EINVAL);
    cr_assert_eq(st, 777);
    cr_assert_eq(ru.ru_maxrss, (long)0x3333333333333333LL);
    wt_kill_reap(c);
}

/* Threads of this process. */
static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

Test(misc, ward_starts_no_threads)
{
    int before = count_threads(), st;
    struct timespec dl;
    ward_attr *a = ward_attr_new();

    if (before < 0)
        cr_skip_test("no /proc/self/task");
    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    /* Every kind of call: spawn, waits of all kinds, signals, fork, free. */
    ward_child *c1 = wt_spawn_ok(a, "sleep", "100");
    ward_child *c2 = wt_spawn_ok(NULL, "sleep", "20000");
    dl = wt_deadline_ms(wt_ms(20000));
    int r;
    while ((r = ward_timedwait(c1, &st, &dl)) == -1 && errno == EINTR)
        ;
    cr_assert_eq(r, 0, "%s", strerror(errno));
    wt_assert_only_private(ward_waitpid(-1, &st, WNOHANG));
    cr_assert_eq(ward_kill(c2, SIGTERM), 0);
    cr_assert_eq(ward_wait(c2, &st), 0);
    ward_child *f = NULL;
    pid_t pid = ward_fork(&f, 0);
    if (pid == 0)
        _exit(0);
    cr_assert_gt(pid, 0);
    ward_child *dropped = wt_spawn_ok(NULL, "sleep", "20");
    pid_t dpid = ward_pid(dropped);
    /* A kernel-private child is seen to end only on a pidfd. */
    int dfd = wt_spawns_private() ? fcntl(ward_pidfd(dropped), F_DUPFD_CLOEXEC, 3) : -1;
    ward_free(dropped);
    cr_assert_eq(ward_wait(f, &st), 0);
    ward_free(f);
    ward_free(c1);
    ward_free(c2);
    cr_assert_eq(count_threads(), before, "ward started a thread");
    ward_attr_free(a);
    /*
     * However long the dropped child takes to end: once it has, the next
     * spawn reaps it (ward_free(3)) if no call of ward's has yet, and none
     * is left behind.
     */
    if (dfd >= 0) {
        struct pollfd pfd = {.fd = dfd, .events = 0};

        while (poll(&pfd, 1, -1) == -1 && errno == EINTR)
            ;
        cr_assert(pfd.revents & POLLHUP, "the dropped child's pidfd: 0x%x", pfd.revents);
        close(dfd);
    } else {
        int ended = wt_wait_ended(dpid);

        cr_assert(ended == 0 || errno == ECHILD, "the dropped child: %s", strerror(errno));
    }
    ward_child *d = wt_spawn_ok(NULL, "0");
    cr_assert(wt_reaped(dpid), "the dropped child %ld was not reaped", (long)dpid);
    wt_reap_exit(d, 0);
    cr_assert_eq(count_threads(), before, "ward started a thread");
}

/* ---- A pidfd closed by other code --------------------------------------- */

/*
 * Close c's pidfd behind ward's back, as a library's closefrom(3) would, and
 * spawn b so that its pidfd takes the number.  Returns b.
 */
static ward_child *
steal_pidfd_number(ward_child *c, const char *const *ops)
{
    int fd = ward_pidfd(c);
    ward_child *b;

    cr_assert_geq(fd, 0, "ward_pidfd: %s", strerror(errno));
    cr_assert_eq(close(fd), 0);
    b = wt_spawnv(NULL, ops);
    cr_assert_not_null(b, "ward_spawn: %s", strerror(errno));
    cr_assert_eq(ward_pidfd(b), fd, "the new pidfd did not take the number");
    return b;
}

/* Until c has ended, without reaping it. */
static void
until_zombie(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof si);
    cr_assert_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0,
                 "waitid: %s", strerror(errno));
}

/*
 * A pidfd of the test's own for a's child (a copy of ward's, taken before
 * other code closes that), or -1 where ward's children are ordinary ones,
 * which a wait for the pid sees end.  A kernel-private child (Linux 7.1
 * and later) is seen to end only on a pidfd.
 */
static int
own_pidfd_if_private(ward_child *a)
{
    int fd;

    if (!wt_spawns_private())
        return -1;
    fd = fcntl(ward_pidfd(a), F_DUPFD_CLOEXEC, 3);
    cr_assert_geq(fd, 0, "dup: %s", strerror(errno));
    return fd;
}

/*
 * Until the child has ended: its pidfd hangs up (fd >= 0: kernel-private,
 * released by the kernel), or a zombie or reaped already.  Closes fd.
 */
static void
until_ended(pid_t pid, int fd)
{
    if (fd >= 0) {
        struct pollfd pfd = {.fd = fd, .events = 0};

        while (poll(&pfd, 1, -1) == -1 && errno == EINTR)
            ;
        cr_assert(pfd.revents & POLLHUP, "pidfd: revents 0x%x", pfd.revents);
        close(fd);
        return;
    }
    cr_assert(wt_wait_ended(pid) == 0 || errno == ECHILD, "waitid: %s", strerror(errno));
}

Test(misc, closed_pidfd_wait_is_ebadf_not_another_childs_status)
{
    if (wt_posix_backend())
        cr_skip_test("the posix backend has no pidfd");
    ward_child *a = wt_spawn_ok(NULL, "sleep", "100", "exit", "3");
    int afd = own_pidfd_if_private(a);
    ward_child *b = steal_pidfd_number(a, (const char *const[]){"exit", "7", NULL});
    pid_t apid = ward_pid(a);
    int st = -1;

    cr_assert_eq(wt_child_ended(b), 0);
    /* Never b's status, not even once b has ended. */
    wt_assert_err(ward_trywait(a, &st), EBADF);
    wt_assert_err(ward_wait(a, &st), EBADF);
    cr_assert_eq(st, -1, "a status was stored: 0x%x", st);
    wt_assert_err(ward_pidfd(a), EBADF);
    /* b is untouched: its own status, from its own wait. */
    wt_reap_exit(b, 7);
    /*
     * a stays private once it has ended: no any-child wait sees it.  ward
     * may have reaped it already, by pid (it does for a child whose pidfd
     * was lost, when it sweeps for ended children), so ECHILD is fine.  A
     * kernel-private one is released by the kernel; its status was only
     * on the pidfd that was closed, and is lost (ward(7)).
     */
    until_ended(apid, afd);
    pid_t r = ward_waitpid(-1, &st, WNOHANG);
    cr_assert_neq(r, apid, "the private child showed through ward_waitpid(-1)");
    cr_assert(wt_only_private_ok(r), "ward_waitpid(-1): %ld (%s)", (long)r,
              strerror(errno));
    wt_assert_err(ward_wait(a, &st), EBADF);
    /* Freed, it is reaped by ward (the fixture checks no zombie is left). */
    ward_free(a);
}

/*
 * The first thing asked of the handle is a blocking wait (ward_wait may
 * sleep at once on a child the backend sees running, without a reap first:
 * that look must not trust a number that names another child now, or it
 * would sleep until that one ends).  b outlives the test's timeout.
 */
Test(misc, closed_pidfd_first_wait_is_ebadf_not_a_sleep_on_another_child, .timeout = 60)
{
    if (wt_posix_backend())
        cr_skip_test("the posix backend has no pidfd");
    ward_child *a = wt_spawn_ok(NULL, "sleep", "100", "exit", "3");
    int afd = own_pidfd_if_private(a);
    ward_child *b = steal_pidfd_number(a, (const char *const[]){"sleep", "600000", NULL});
    pid_t apid = ward_pid(a);
    struct timespec dl = wt_deadline_ms(wt_ms(30000));
    int st = -1;

    wt_assert_err(ward_wait(a, &st), EBADF);
    wt_assert_err(ward_timedwait(a, &st, &dl), EBADF);
    cr_assert_eq(st, -1, "a status was stored: 0x%x", st);
    /* b still runs, untouched. */
    wt_assert_err(ward_trywait(b, &st), EAGAIN);
    cr_assert_eq(ward_kill(b, SIGKILL), 0);
    cr_assert_eq(ward_wait(b, &st), 0);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    ward_free(b);
    until_ended(apid, afd);
    ward_free(a);
}

Test(misc, closed_pidfd_kill_is_ebadf_and_spares_the_new_owner)
{
    if (wt_posix_backend())
        cr_skip_test("the posix backend has no pidfd");
    ward_child *a = wt_spawn_ok(NULL, "sleep", "20000");
    int afd = own_pidfd_if_private(a);
    ward_child *b = steal_pidfd_number(a, (const char *const[]){"sleep", "20000", NULL});
    pid_t apid = ward_pid(a);
    int st;

    wt_assert_err(ward_kill(a, SIGKILL), EBADF);
    wt_assert_err(ward_kill(a, 0), EBADF);
    wt_assert_err(ward_terminate(a, 0, &st), EBADF);
    wt_assert_err(ward_trywait(b, &st), EAGAIN);
    cr_assert_eq(kill(ward_pid(b), 0), 0, "b is gone");
    wt_kill_reap(b);
    /* a still runs; end it by pid, and ward reaps it once freed. */
    cr_assert_eq(kill(apid, SIGKILL), 0);
    if (afd >= 0)
        until_ended(apid, afd);
    else
        until_zombie(apid);
    ward_free(a);
}

Test(misc, closed_pidfd_kill_on_free_still_kills)
{
    if (wt_posix_backend())
        cr_skip_test("the posix backend has no pidfd");
    ward_attr *at = ward_attr_new();
    cr_assert_not_null(at);
    cr_assert_eq(ward_attr_setflags(at, WARD_KILL_ON_FREE), 0);
    ward_child *a = wt_spawn(at, "sleep", "20000");
    cr_assert_not_null(a, "ward_spawn: %s", strerror(errno));
    int afd = own_pidfd_if_private(a);
    ward_child *b = steal_pidfd_number(a, (const char *const[]){"sleep", "20000", NULL});
    pid_t apid = ward_pid(a);

    /*
     * WARD_KILL_ON_FREE kills a by pid (a kernel-private a: through a pidfd
     * ward opens by pid and proves to be a's), never b through the number.
     */
    ward_free(a);
    /* Ended; ward_free() may already have reaped it, by pid. */
    if (afd >= 0) {
        struct pollfd pfd = {.fd = afd, .events = 0};

        /* ward_free() returned once it was gone: no waiting here. */
        cr_assert_eq(poll(&pfd, 1, 0), 1, "the kernel-private child still runs");
        cr_assert(pfd.revents & POLLHUP, "pidfd: revents 0x%x", pfd.revents);
        close(afd);
    } else {
        cr_assert(wt_wait_ended(apid) == 0 || errno == ECHILD, "waitid: %s", strerror(errno));
    }
    wt_assert_err(ward_trywait(b, NULL), EAGAIN);
    wt_kill_reap(b);
    /* The orphan is reaped at ward's next chance. */
    ward_child *d = wt_spawn_ok(NULL, "0");
    wt_reap_exit(d, 0);
    ward_attr_free(at);
}

Test(misc, free_leaves_a_reused_pidfd_number_alone)
{
    if (wt_posix_backend())
        cr_skip_test("the posix backend has no pidfd");
    ward_child *a = wt_spawn_ok(NULL, "0");
    int p[2], fd;

    cr_assert_eq(wt_wait_ok(a), 0);
    fd = ward_pidfd(a);
    cr_assert_geq(fd, 0);
    cr_assert_eq(close(fd), 0);
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    cr_assert_eq(p[0], fd, "the pipe did not take the number");
    ward_free(a);
    cr_assert_neq(fcntl(fd, F_GETFD), -1, "ward_free() closed the caller's "
                  "descriptor that took its pidfd's number");
    close(p[0]);
    close(p[1]);
}
