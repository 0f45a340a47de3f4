/*
 * common.h - what every test file of the suite shares.
 *
 * Include it first: it defines _GNU_SOURCE before any system header.
 *
 * The fixture.  Every suite is declared with WT_SUITE(name), which runs
 * wt_init() before and wt_fini() after each test (Criterion runs every test
 * in a process of its own).  wt_init() makes one warm-up spawn, so that the
 * descriptors ward creates once per process (epoll, self-pipe...) exist
 * before the count, then counts the open descriptors.  wt_fini() checks that
 * the test left no more descriptors open than it found and no child process
 * (running or zombie) behind.  Criterion 2.4 ignores assertions made in a
 * .fini hook, so on a leak wt_fini() logs what it found, kills and reaps the
 * leftovers and aborts: the runner then reports "The test ... crashed during
 * its setup or teardown" and exits non-zero.
 *
 * The helper program (tests/helper.c) is found through the HELPER
 * environment variable, set by the Makefile, or next to the test binary
 * (also one level up, for libtool's .libs directory).
 *
 * Assertions are only made in the test's own thread: threads count their
 * failures in a wt_errors structure that the test thread checks after
 * joining them.
 *
 * Slow machines.  WARD_TEST_SLOWDOWN (a positive integer, default 1) is the
 * factor by which a machine is slower than the one the limits were written
 * for, e.g. 10 under QEMU's software emulation.  Every limit on how long
 * something may take is written as wt_ms(ms), which multiplies by it: the
 * deadlines of waits that must succeed, polling loops that wait for
 * something to happen, Criterion's per-test timeouts (multiplied before
 * the tests start by a report hook in tests/slowdown.c, which every
 * Criterion binary links).  Durations that are the point of a test (a
 * timed wait that must time out, a grace period that must run out) are not
 * scaled; where a limit must stay shorter than a child's life, that child's
 * sleep is scaled with it.  A value that is not a whole number from 1 to
 * WT_SLOWDOWN_MAX makes the runner refuse to start (exit status 2).
 *
 * Stolen statuses.  Where a thief reaped a private child, ward recovers the
 * status from the pidfd where the kernel keeps it there (PIDFD_INFO_EXIT,
 * Linux 6.15) and fails with ECHILD where it does not.
 * wt_kernel_keeps_exit_info() asks the running kernel, with a child of its
 * own; wt_recovers_stolen_status() adds what ward itself does (never on the
 * posix backend, nor with WARD_NO_PIDFD_INFO set), so that a test can
 * expect exactly one of the two answers.
 */
#ifndef WARD_TESTS_COMMON_H
#define WARD_TESTS_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ward.h"

#define WT_FN static __attribute__((unused))

#ifndef __WALL
#define __WALL 0
#endif

/*
 * Seconds a test may run before Criterion calls it hung (multiplied by
 * WARD_TEST_SLOWDOWN at run time, like every other .timeout).
 */
#define WT_TIMEOUT 30

/* ---- Slow machines ------------------------------------------------------ */

#define WT_SLOWDOWN_ENV "WARD_TEST_SLOWDOWN"
#define WT_SLOWDOWN_MAX 1000

/*
 * The value of WARD_TEST_SLOWDOWN: 1 where it is unset or empty, 0 where it
 * is not an integer from 1 to WT_SLOWDOWN_MAX.
 */
WT_FN long wt_parse_slowdown(const char *s)
{
    char *end;
    long f;

    if (s == NULL || *s == '\0')
        return 1;
    if (*s < '0' || *s > '9')
        return 0;
    errno = 0;
    f = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || f < 1 || f > WT_SLOWDOWN_MAX)
        return 0;
    return f;
}

/* The factor, read once per process (tests/slowdown.c). */
long wt_slowdown(void);

/* ms milliseconds, stretched by the slowdown factor. */
WT_FN long wt_ms(long ms)
{
    return ms * wt_slowdown();
}

#define WT_MAXARGS 64

/* ---- The helper program ------------------------------------------------- */

static char wt_helper_path[PATH_MAX];
static char wt_helper_dirname[PATH_MAX];

WT_FN int wt_try_helper(const char *path)
{
    char real[PATH_MAX];

    if (path == NULL || *path == '\0' || access(path, X_OK) < 0)
        return 0;
    if (realpath(path, real) == NULL)
        return 0;
    snprintf(wt_helper_path, sizeof wt_helper_path, "%s", real);
    snprintf(wt_helper_dirname, sizeof wt_helper_dirname, "%s", real);
    char *slash = strrchr(wt_helper_dirname, '/');
    if (slash == wt_helper_dirname)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    return 1;
}

/* The absolute path of the helper program; fails the test if there is none. */
WT_FN const char *wt_helper(void)
{
    char exe[PATH_MAX], cand[PATH_MAX + 32];
    ssize_t n;

    if (wt_helper_path[0] != '\0')
        return wt_helper_path;
    if (wt_try_helper(getenv("HELPER")))
        return wt_helper_path;
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            snprintf(cand, sizeof cand, "%s/helper", exe);
            if (wt_try_helper(cand))
                return wt_helper_path;
            snprintf(cand, sizeof cand, "%s/../helper", exe);
            if (wt_try_helper(cand))
                return wt_helper_path;
        }
    }
    if (wt_try_helper("tests/helper") || wt_try_helper("./helper"))
        return wt_helper_path;
    cr_assert_fail("helper program not found: set HELPER to its path");
    return NULL;
}

/* The directory that holds the helper (for PATH searches). */
WT_FN const char *wt_helper_dir(void)
{
    wt_helper();
    return wt_helper_dirname;
}

/* ---- Descriptors and children ----------------------------------------- */

/* Open descriptors of this process (not counting the one used to count). */
WT_FN int wt_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (d == NULL) {
        int max = (int)sysconf(_SC_OPEN_MAX);
        if (max < 0 || max > 65536)
            max = 65536;
        for (int fd = 0; fd < max; fd++)
            if (fcntl(fd, F_GETFD) >= 0)
                n++;
        return n;
    }
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

/* A space-separated list of the open descriptors, for messages. */
WT_FN void wt_list_fds(char *buf, size_t cap)
{
    size_t len = 0;

    buf[0] = '\0';
    for (int fd = 0; fd < 1024; fd++) {
        char link[64], target[256], item[320];
        ssize_t n;
        size_t k;

        if (fcntl(fd, F_GETFD) < 0)
            continue;
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        n = readlink(link, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        snprintf(item, sizeof item, " %d(%.255s)", fd, target);
        k = strlen(item);
        if (len + k + 1 > cap)
            break;
        memcpy(buf + len, item, k + 1);
        len += k;
    }
}

/*
 * 1 unless WARD_AUTOREAP=0 turns off children the kernel reaps itself
 * (read as ward reads it).  Whether ward makes them also depends on the
 * backend and the kernel: see wt_spawns_private().
 */
WT_FN int wt_autoreap_asked(void)
{
    const char *e = getenv("WARD_AUTOREAP");

    return e == NULL || strcmp(e, "0") != 0;
}

/*
 * 1 if this kernel accepts CLONE_AUTOREAP (Linux 7.1 and later), tried on
 * a trivial child of its own, once.
 */
WT_FN int wt_kernel_autoreaps(void)
{
    static int known = -1;
#ifdef SYS_clone3
    struct {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    } ca;
    int pidfd = -1;
    long r;

    if (known != -1)
        return known;
    memset(&ca, 0, sizeof ca);
    ca.flags = (1ULL << 34) | CLONE_PIDFD; /* CLONE_AUTOREAP */
    ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
    ca.exit_signal = 0;
    r = syscall(SYS_clone3, &ca, sizeof ca);
    if (r == 0)
        syscall(SYS_exit, 0);
    known = r > 0;
    if (r > 0) {
        /* Gone by itself: wait for that, so that no test sees it. */
        struct pollfd pfd = {.fd = pidfd, .events = 0};

        while (poll(&pfd, 1, -1) == -1 && errno == EINTR)
            ;
        close(pidfd);
    }
#else
    known = 0;
#endif
    return known;
}

/*
 * 1 if this process has no child at all (running or zombie).  A child the
 * kernel reaps itself (Linux 7.1 CLONE_AUTOREAP) is invisible to waitid()
 * once it has ended, so where ward makes such children the threads' children
 * files are read too, where procfs has them.  Otherwise waitid() alone
 * answers, as it always did: a children file can still list, for a
 * moment, a child that another thread is reaping.
 */
WT_FN int wt_no_children(void)
{
    siginfo_t si;
    DIR *d;
    struct dirent *e;
    int none = 1;

    memset(&si, 0, sizeof si);
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0) {
        if (errno != ECHILD)
            return 0;
    } else {
        return 0;
    }
    if (!wt_autoreap_asked() || !wt_kernel_autoreaps() ||
        (d = opendir("/proc/self/task")) == NULL)
        return 1;
    while (none && (e = readdir(d)) != NULL) {
        char path[300], buf[64];
        int fd;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
            continue;
        if (read(fd, buf, sizeof buf) > 0)
            none = 0;
        close(fd);
    }
    closedir(d);
    return none;
}

/* 1 if pid is no longer our child: reaped (by anyone), not a zombie. */
WT_FN int wt_reaped(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0)
        return errno == ECHILD;
    return 0;
}

/*
 * Block until child pid has ended, without reaping it.  Returns 0 when it is
 * a zombie, -1 with ECHILD if someone has reaped it already.
 */
WT_FN int wt_wait_ended(pid_t pid)
{
    siginfo_t si;
    int r;

    do {
        memset(&si, 0, sizeof si);
        r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT | __WALL);
    } while (r < 0 && errno == EINTR);
    return r;
}

/*
 * Block until ward's child c, unreaped by ward, has ended, and say how
 * the kernel treats it: 1 if it keeps c private (Linux 7.1 CLONE_AUTOREAP,
 * ward's default where the kernel takes it), 0 for an ordinary child, -1
 * with ECHILD if someone reaped an ordinary child already.  While such a
 * child runs nothing tells it from an ordinary one: a wait for it that
 * consumes nothing (WNOHANG) reports "running" for both, and after execve
 * both have SIGCHLD as exit signal (seen on Linux 7.3).  Its end does: an
 * ordinary child stays a zombie, reported by a wait that consumes nothing
 * (WNOWAIT), until someone reaps it, while the kernel releases a
 * kernel-private one by itself (its pidfd hangs up) and every wait then
 * fails with ECHILD, as is asserted here.  (A thief's reap of an
 * ordinary child looks the same as the kernel's release: a test with a
 * thief knows which it has.)
 */
WT_FN int wt_ended_private(const ward_child *c)
{
    struct pollfd pfd = {.fd = ward_pidfd(c), .events = POLLIN};
    siginfo_t si;
    int r;

    if (pfd.fd < 0)
        return wt_wait_ended(ward_pid(c)) == 0 ? 0 : -1;
    do
        r = poll(&pfd, 1, -1);
    while (r < 0 && errno == EINTR);
    cr_assert(r == 1 && !(pfd.revents & POLLNVAL), "pidfd of child %ld: poll %d, revents 0x%x",
              (long)ward_pid(c), r, pfd.revents);
    for (;;) {
        memset(&si, 0, sizeof si);
        r = (int)syscall(SYS_waitid, P_PIDFD, (long)pfd.fd, &si,
                         WEXITED | WNOHANG | WNOWAIT | __WALL, NULL);
        if (r == 0 && si.si_pid == ward_pid(c))
            return 0;
        pfd.events = 0;
        pfd.revents = 0;
        if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP))
            break;
        if (r == -1 && errno != ECHILD)
            cr_assert_fail("waitid(P_PIDFD) on child %ld: %s", (long)ward_pid(c),
                           strerror(errno));
        /*
         * Reaped by someone (the guard's handler, say) where no child can
         * be kernel-private: kernels before 6.9 never hang up a pidfd.
         */
        if (r == -1 && !wt_kernel_autoreaps()) {
            errno = ECHILD;
            return -1;
        }
        /* Between its exit and its release (or a thief's reap): a moment. */
        sched_yield();
    }
    /*
     * Released without a wait: by the kernel (or by a thief, if the test
     * has one, for an ordinary child: such a test knows which).
     */
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, (id_t)ward_pid(c), &si, WEXITED | WNOHANG | WNOWAIT | __WALL);
    cr_assert(r == -1 && errno == ECHILD, "a raw wait sees released child %ld: %d (%s)",
              (long)ward_pid(c), r, strerror(errno));
    return 1;
}

/*
 * The thief of `ward torture`: a thread that reaps any child it can, by
 * raw system call (no libc wrapper ward or the guard could see), with
 * __WALL, until stop is set; stolen counts what it took.
 */
struct wt_thief {
    atomic_int stop;
    atomic_int stolen;
};

WT_FN void *wt_thief_main(void *arg)
{
    struct wt_thief *t = arg;

    while (!atomic_load(&t->stop)) {
        int st;
        long r = syscall(SYS_wait4, -1, &st, WNOHANG | __WALL, NULL);

        if (r > 0)
            atomic_fetch_add(&t->stolen, 1);
        else
            sched_yield();
    }
    return NULL;
}

/* As wt_wait_ended(), for ward's child c (kernel-private or not). */
WT_FN int wt_child_ended(const ward_child *c)
{
    int r = wt_ended_private(c);

    if (r == -1)
        errno = ECHILD;
    return r == -1 ? -1 : 0;
}


/*
 * 1 if ward_spawn() without WARD_RUSAGE makes kernel-private children in
 * this process (the kernel, the backend and WARD_AUTOREAP decide), found
 * out once with a child of its own, as wt_ended_private() tells.
 */
WT_FN int wt_spawns_private(void)
{
    static int known = -1;
    char *argv[] = {(char *)wt_helper(), "0", NULL};
    ward_child *c;
    int st;

    if (known != -1)
        return known;
    c = ward_spawn(NULL, argv, NULL);
    cr_assert_not_null(c, "ward_spawn: %s", strerror(errno));
    known = wt_ended_private(c);
    cr_assert_neq(known, -1, "the probe child was reaped by someone else");
    cr_assert_eq(ward_wait(c, &st), 0, "ward_wait: %s", strerror(errno));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
    ward_free(c);
    return known;
}

/* 1 if pid names no process at all any more (not even a zombie). */
WT_FN int wt_gone(pid_t pid)
{
    return kill(pid, 0) < 0 && errno == ESRCH;
}

/*
 * Kill and reap every child of this process, whoever made it.  Returns how
 * many there were.  Used only to clean up after a failed test.
 */
WT_FN int wt_kill_children(void)
{
    int found = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;

    if (d != NULL) {
        while ((e = readdir(d)) != NULL) {
            char path[300], line[256];
            FILE *f;

            if (e->d_name[0] < '0' || e->d_name[0] > '9')
                continue;
            snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
            f = fopen(path, "re");
            if (f == NULL)
                continue;
            while (fgets(line, sizeof line, f) != NULL) {
                if (strncmp(line, "PPid:", 5) == 0) {
                    if (atol(line + 5) == (long)getpid()) {
                        kill((pid_t)atol(e->d_name), SIGKILL);
                        found++;
                    }
                    break;
                }
            }
            fclose(f);
        }
        closedir(d);
    }
    /* Reap them all; give up after about five seconds (times the slowdown). */
    for (long tries = 0, most = wt_ms(5000); tries < most;) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG | __WALL);

        if (p > 0) {
            if (d == NULL)
                found++;
            continue;
        }
        if (p < 0 && errno == EINTR)
            continue;
        if (p < 0)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        tries++;
    }
    return found;
}

/* ---- Small utilities ---------------------------------------------------- */

/* An absolute CLOCK_MONOTONIC time ms milliseconds from now. */
WT_FN struct timespec wt_deadline_ms(long ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Milliseconds of CLOCK_MONOTONIC since an arbitrary origin. */
WT_FN double wt_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

WT_FN void wt_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Read fd until end of file into buf (NUL-terminated); returns the length. */
WT_FN size_t wt_read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;

    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == cap - 1)
            break;
    }
    buf[len] = '\0';
    return len;
}

/* Read one line (without its newline) from fd, a byte at a time. */
WT_FN int wt_read_line(int fd, char *buf, size_t cap)
{
    size_t len = 0;

    while (len + 1 < cap) {
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (c == '\n') {
            buf[len] = '\0';
            return 0;
        }
        buf[len++] = c;
    }
    buf[len] = '\0';
    return -1;
}

WT_FN void wt_write_all(int fd, const char *s)
{
    size_t n = strlen(s);

    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        cr_assert_gt(w, 0, "write: %s", strerror(errno));
        s += w;
        n -= (size_t)w;
    }
}

/* 1 on the posix backend (no pidfd). */
WT_FN int wt_posix_backend(void)
{
    const char *b = ward_backend();

    return b != NULL && strcmp(b, "posix") == 0;
}

/*
 * What a wait for any child gives when only private children match: ECHILD
 * where the backend can tell that no other child exists (linux), "nothing
 * ready" (0) where it cannot (posix).  See ward_waitpid(3).
 */
WT_FN int wt_only_private_ok(long r)
{
    if (wt_posix_backend())
        return r == 0;
    return r == -1 && errno == ECHILD;
}

#define wt_assert_only_private(call)                                         \
    do {                                                                     \
        long wt_r_ = (long)(call);                                           \
        int wt_e_ = errno;                                                   \
        cr_assert(wt_only_private_ok(wt_r_), "%s: %ld (%s) with only private " \
                  "children", #call, wt_r_, wt_r_ == -1 ? strerror(wt_e_) : "no error"); \
    } while (0)

/* ---- Stolen statuses --------------------------------------------------- */

/*
 * PIDFD_GET_INFO (Linux 6.13) and its PIDFD_INFO_EXIT (6.15), laid out as in
 * <linux/pidfd.h> (PIDFD_INFO_SIZE_VER0, 64 bytes) and asked as ward's linux
 * backend asks; older headers lack them.
 */
struct wt_pidfd_info {
    uint64_t mask;
    uint64_t cgroupid;
    uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
    int32_t exit_code;
};
#define WT_PIDFD_INFO_EXIT (1ull << 3)
#define WT_PIDFD_GET_INFO _IOWR(0xFF, 11, struct wt_pidfd_info)

WT_FN pid_t wt_own_child_on_cue(int code, int *cue);

/*
 * 1 if the kernel still tells a reaped child's exit status through a pidfd
 * opened before the reap.  Found out once per process, with a child made
 * for it: a pidfd opened while it runs, the child let go, reaped by a plain
 * waitpid(), then PIDFD_GET_INFO asked for PIDFD_INFO_EXIT.  0 where there
 * is no pidfd_open() or no such ioctl.
 */
WT_FN int wt_kernel_keeps_exit_info(void)
{
    static int known = -1;
#if defined(__linux__) && defined(SYS_pidfd_open)
    struct wt_pidfd_info info;
    int cue, pidfd, st = 0, keeps = 0;
    pid_t pid, r;

    if (known >= 0)
        return known;
    pid = wt_own_child_on_cue(42, &cue);
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    close(cue);
    while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
        ;
    cr_assert_eq(r, pid, "waitpid: %s", strerror(errno));
    if (pidfd >= 0) {
        memset(&info, 0, sizeof info);
        info.mask = WT_PIDFD_INFO_EXIT;
        if (ioctl(pidfd, WT_PIDFD_GET_INFO, &info) == 0 &&
            (info.mask & WT_PIDFD_INFO_EXIT)) {
            keeps = 1;
            cr_assert_eq(info.exit_code, st, "PIDFD_INFO_EXIT: status 0x%x, "
                         "waitpid() got 0x%x", (unsigned)info.exit_code, st);
        }
        close(pidfd);
    }
    known = keeps;
    return known;
#else
    known = 0;
    return known;
#endif
}

/*
 * 1 if ward recovers a stolen status here, 0 if it fails with ECHILD: it
 * recovers only on the linux backend, where the kernel keeps the exit
 * status, and not with WARD_NO_PIDFD_INFO set (read as ward reads it).
 */
WT_FN int wt_recovers_stolen_status(void)
{
    const char *off = getenv("WARD_NO_PIDFD_INFO");

    if (wt_posix_backend())
        return 0;
    if (off != NULL && off[0] != '\0' && strcmp(off, "0") != 0)
        return 0;
    return wt_kernel_keeps_exit_info();
}

/* ---- Spawning the helper ------------------------------------------------ */

/*
 * Spawn the helper with the given operations (a NULL-terminated list of
 * strings) and attributes (NULL for defaults).  Returns the handle or NULL
 * with errno set, exactly as ward_spawn().
 */
WT_FN ward_child *wt_spawnv(const ward_attr *attr, const char *const *ops)
{
    char *argv[WT_MAXARGS + 2];
    int n = 0;

    argv[n++] = (char *)wt_helper();
    while (ops != NULL && *ops != NULL && n < WT_MAXARGS + 1)
        argv[n++] = (char *)*ops++;
    argv[n] = NULL;
    return ward_spawn(NULL, argv, attr);
}

#define wt_spawn(attr, ...)                                                  \
    wt_spawnv((attr), (const char *const[]){__VA_ARGS__, NULL})

/*
 * Spawn an ordinary, reapable child, whose status a thief can take and
 * whose resource usage ward keeps: WARD_RUSAGE.  On Linux 7.1 and later
 * ward's children are kernel-private by default (no thief can take their
 * status, and they have no resource usage); with this flag a spawn makes an
 * ordinary child there too, as every spawn does elsewhere, so the tests of
 * a stolen status and of ward_rusage() hold on every kernel.  Fails the
 * test if the spawn fails.
 */
WT_FN ward_child *wt_spawnv_reapable(const char *const *ops)
{
    ward_attr *a = ward_attr_new();
    ward_child *c;

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setflags(a, WARD_RUSAGE), 0);
    c = wt_spawnv(a, ops);
    cr_assert_not_null(c, "ward_spawn: %s", strerror(errno));
    ward_attr_free(a);
    return c;
}

#define wt_spawn_reapable(...)                                               \
    wt_spawnv_reapable((const char *const[]){__VA_ARGS__, NULL})

/* Spawn and fail the test if the spawn fails. */
#define wt_spawn_ok(attr, ...)                                               \
    ({                                                                       \
        ward_child *wt_c_ = wt_spawn((attr), __VA_ARGS__);                   \
        cr_assert_not_null(wt_c_, "ward_spawn: %s", strerror(errno));        \
        wt_c_;                                                               \
    })

/* Wait for c, fail the test on error, return the status. */
WT_FN int wt_wait_ok(ward_child *c)
{
    int st = -12345, r;

    r = ward_wait(c, &st);
    cr_assert_eq(r, 0, "ward_wait: %s", strerror(errno));
    return st;
}

/* Wait for c, check that it exited with code, and free it. */
WT_FN void wt_reap_exit(ward_child *c, int code)
{
    int st = wt_wait_ok(c);

    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == code,
              "expected exit %d, got status 0x%x", code, st);
    ward_free(c);
}

/* Kill c with SIGKILL, wait for it and free it. */
WT_FN void wt_kill_reap(ward_child *c)
{
    int st;

    ward_kill(c, SIGKILL);
    st = wt_wait_ok(c);
    cr_assert(WIFSIGNALED(st) || WIFEXITED(st), "odd status 0x%x", st);
    ward_free(c);
}

/*
 * Run the helper with stdout on a pipe (set on attr, or on a fresh attribute
 * object if attr is NULL), collect its output until end of file, wait for it
 * and free it.  Returns the wait status.
 */
WT_FN int wt_capturev(ward_attr *attr, char *out, size_t cap,
                      const char *const *ops)
{
    ward_attr *own = NULL;
    ward_child *c;
    int fd, st;

    if (attr == NULL)
        attr = own = ward_attr_new();
    cr_assert_not_null(attr);
    cr_assert_eq(ward_attr_setstdio(attr, 1, WARD_STDIO_PIPE, -1), 0);
    c = wt_spawnv(attr, ops);
    cr_assert_not_null(c, "ward_spawn: %s", strerror(errno));
    fd = ward_stdio(c, 1);
    cr_assert_geq(fd, 0, "ward_stdio: %s", strerror(errno));
    wt_read_all(fd, out, cap);
    st = wt_wait_ok(c);
    ward_free(c);
    ward_attr_free(own);
    return st;
}

#define wt_capture(attr, out, cap, ...)                                      \
    wt_capturev((attr), (out), (cap), (const char *const[]){__VA_ARGS__, NULL})

/* Like wt_capture, and fail the test unless the helper exited 0. */
#define wt_capture_ok(attr, out, cap, ...)                                   \
    do {                                                                     \
        int wt_st_ = wt_capture((attr), (out), (cap), __VA_ARGS__);          \
        cr_assert(WIFEXITED(wt_st_) && WEXITSTATUS(wt_st_) == 0,             \
                  "helper failed: status 0x%x, output: %s", wt_st_, (out));  \
    } while (0)

/* Spawn fails with err, leaving no child and no descriptor behind. */
#define wt_assert_spawn_fails(err, file, argv, attr)                         \
    do {                                                                     \
        int wt_fds_ = wt_count_fds();                                        \
        errno = 0;                                                           \
        ward_child *wt_c_ = ward_spawn((file), (argv), (attr));              \
        int wt_e_ = errno;                                                   \
        cr_assert_null(wt_c_, "ward_spawn succeeded, expected %s",           \
                       strerror(err));                                       \
        cr_assert_eq(wt_e_, (err), "ward_spawn: errno %d (%s), expected %d (%s)", \
                     wt_e_, strerror(wt_e_), (err), strerror(err));          \
        cr_assert_eq(wt_count_fds(), wt_fds_,                                \
                     "failed spawn left descriptors: %d before, %d after",   \
                     wt_fds_, wt_count_fds());                               \
        cr_assert(wt_no_children(), "failed spawn left a child process");    \
    } while (0)

/* Assert that call returned -1 with errno err. */
#define wt_assert_err(call, err)                                             \
    do {                                                                     \
        errno = 0;                                                           \
        long wt_r_ = (long)(call);                                           \
        int wt_e_ = errno;                                                   \
        cr_assert_eq(wt_r_, -1L, "%s returned %ld, expected -1/%s", #call,   \
                     wt_r_, strerror(err));                                  \
        cr_assert_eq(wt_e_, (err), "%s: errno %d (%s), expected %d (%s)",    \
                     #call, wt_e_, strerror(wt_e_), (err), strerror(err));   \
    } while (0)

/* Assert that call returned NULL with errno err. */
#define wt_assert_null_err(call, err)                                        \
    do {                                                                     \
        errno = 0;                                                           \
        const void *wt_p_ = (const void *)(call);                            \
        int wt_e_ = errno;                                                   \
        cr_assert_null(wt_p_, "%s returned non-NULL, expected NULL/%s",      \
                       #call, strerror(err));                                \
        cr_assert_eq(wt_e_, (err), "%s: errno %d (%s), expected %d (%s)",    \
                     #call, wt_e_, strerror(wt_e_), (err), strerror(err));   \
    } while (0)

/* ---- Own (non-private) children ----------------------------------------- */

/* A plain fork() child that sleeps ms and exits with code. */
WT_FN pid_t wt_own_child(int code, long ms)
{
    pid_t pid = fork();

    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        _exit(code);
    }
    return pid;
}

/*
 * A plain fork() child that exits with code once *cue (the write end of a
 * pipe, close-on-exec) is written to or closed.
 */
WT_FN pid_t wt_own_child_on_cue(int code, int *cue)
{
    int go[2];
    pid_t pid;

    cr_assert_eq(pipe2(go, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
    pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        char b;

        close(go[1]);
        (void)read(go[0], &b, 1);
        _exit(code);
    }
    close(go[0]);
    *cue = go[1];
    return pid;
}

/* ---- Errors collected in threads ---------------------------------------- */

struct wt_errors {
    atomic_int count;
    pthread_mutex_t lock;
    char first[512];
};

#define WT_ERRORS_INIT {0, PTHREAD_MUTEX_INITIALIZER, ""}

WT_FN __attribute__((format(printf, 2, 3))) void
wt_error(struct wt_errors *e, const char *fmt, ...)
{
    va_list ap;

    if (atomic_fetch_add(&e->count, 1) == 0) {
        pthread_mutex_lock(&e->lock);
        va_start(ap, fmt);
        vsnprintf(e->first, sizeof e->first, fmt, ap);
        va_end(ap);
        pthread_mutex_unlock(&e->lock);
    }
}

#define wt_assert_no_errors(e)                                               \
    cr_assert_eq(atomic_load(&(e)->count), 0, "%d error(s) in threads; first: %s", \
                 atomic_load(&(e)->count), (e)->first)

/* ---- The fixture -------------------------------------------------------- */

static int wt_fds_at_start = -1;

WT_FN void wt_init(void)
{
    const char *quick[] = {NULL, "0", NULL};
    const char *slow[] = {NULL, "sleep", "60000", NULL};
    struct timespec dl;
    ward_child *c;
    int st;

    /*
     * Warm up: one quick child, and one waited for with a deadline while it
     * runs, so that what ward makes once per process (the posix backend's
     * SIGCHLD self-pipe appears at the first blocking timed wait) exists
     * before the descriptors are counted.  The second child outlives the
     * deadline whatever the machine's load, so the timed wait always
     * blocks; it is then killed.
     */
    quick[0] = slow[0] = wt_helper();
    c = ward_spawn(NULL, (char *const *)quick, NULL);
    cr_assert_not_null(c, "warm-up spawn failed: %s", strerror(errno));
    cr_assert_eq(ward_wait(c, &st), 0, "warm-up wait: %s", strerror(errno));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "warm-up status 0x%x", st);
    ward_free(c);
    c = ward_spawn(NULL, (char *const *)slow, NULL);
    cr_assert_not_null(c, "warm-up spawn failed: %s", strerror(errno));
    dl = wt_deadline_ms(30);
    while (ward_timedwait(c, &st, &dl) < 0 && errno != ETIMEDOUT) {
        cr_assert(errno == EINTR, "warm-up timed wait: %s", strerror(errno));
    }
    cr_assert_eq(ward_kill(c, SIGKILL), 0, "warm-up kill: %s", strerror(errno));
    cr_assert_eq(ward_wait(c, &st), 0, "warm-up wait: %s", strerror(errno));
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "warm-up status 0x%x", st);
    ward_free(c);
    wt_fds_at_start = wt_count_fds();
}

WT_FN void wt_fini(void)
{
    int fds = wt_count_fds(), kids = 0, leaked = 0;
    char list[2048];

    if (wt_fds_at_start >= 0 && fds > wt_fds_at_start) {
        wt_list_fds(list, sizeof list);
        cr_log_error("LEAK: %d descriptors open at the end of the test, %d at "
                     "its start; open now:%s",
                     fds, wt_fds_at_start, list);
        leaked = 1;
    }
    if (!wt_no_children()) {
        kids = wt_kill_children();
        cr_log_error("LEAK: the test left %d child process(es) behind "
                     "(running or zombie)",
                     kids > 0 ? kids : 1);
        leaked = 1;
    }
    if (leaked) {
        struct rlimit rl = {0, 0};

        /* Criterion ignores assertions in .fini; a crash it does report. */
        setrlimit(RLIMIT_CORE, &rl);
        fflush(NULL);
        abort();
    }
}

#define WT_SUITE(name)                                                       \
    TestSuite(name, .init = wt_init, .fini = wt_fini, .timeout = WT_TIMEOUT)

/*
 * For suites that use the events descriptor: it is made once per process,
 * so it must exist before the descriptors are counted.
 */
WT_FN void wt_init_events(void)
{
    cr_assert_geq(ward_events_fd(), 0, "ward_events_fd: %s", strerror(errno));
    wt_init();
}

#define WT_SUITE_EVENTS(name)                                                \
    TestSuite(name, .init = wt_init_events, .fini = wt_fini,                 \
              .timeout = WT_TIMEOUT)

#endif
