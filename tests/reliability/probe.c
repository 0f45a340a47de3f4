/*
 * probe.c - checks that need a process in which ward has never run.
 *
 * The Criterion suites warm ward up before every test (the fixture spawns
 * twice), so what ward does once per process has happened before the test
 * starts.  Faults at that first use are checked here instead: the suites
 * spawn this program with one mode, and it exits 0 (pass), 1 (fail, with
 * one line on stderr), 2 (alloc modes: the allocation to fail was never
 * made, so the sweep is over) or 77 (skip).
 *
 *   probe alloc-first N HELPER      the Nth allocation of the first
 *                                   ward_spawn() fails
 *   probe alloc-first-fork N HELPER the same for the first ward_fork()
 *   probe emfile-first HELPER       no descriptor free at the first timed
 *                                   wait and the first ward_events_fd()
 *   probe emfile-spawn-first HELPER no descriptor free at the first call
 *                                   into ward, a spawn
 *
 * After the fault, each mode checks that ward works as it should: spawns,
 * waits that sleep in the kernel, and the events descriptor.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ward.h"
#include "failalloc.h"

static const char *helper;
static const char *fail_prefix = "probe: ";

/* As in rel.h: mallinfo2() is exact only with glibc's thread cache off. */
__attribute__((constructor)) static void no_tcache(int argc, char **argv, char **envp)
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
}

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
    va_list ap;

    fputs(fail_prefix, stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/*
 * WARD_TEST_SLOWDOWN, as the suites read it (tests/common.h): the factor
 * for the limits on how long something may take.  1 where it is unset or
 * not a positive integer (the suite that runs this refuses such a value).
 */
static long slowdown(void)
{
    const char *s = getenv("WARD_TEST_SLOWDOWN");
    char *end;
    long f;

    if (s == NULL || *s < '0' || *s > '9')
        return 1;
    errno = 0;
    f = strtol(s, &end, 10);
    return errno == 0 && *end == '\0' && f >= 1 && f <= 1000 ? f : 1;
}

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            fail("line %d: %s (errno %d: %s)", __LINE__, #cond, errno,       \
                 strerror(errno));                                           \
    } while (0)

static size_t heap(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

static int count_fds(void)
{
    int n = 0;

    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}

static int no_children(void)
{
    siginfo_t si;

    memset(&si, 0, sizeof si);
    return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD;
}

static ward_child *spawn_helper(const char *const *ops)
{
    char *argv[16];
    int n = 0;

    argv[n++] = (char *)helper;
    while (*ops != NULL && n < 15)
        argv[n++] = (char *)*ops++;
    argv[n] = NULL;
    return ward_spawn(NULL, argv, NULL);
}

#define SPAWN(...) spawn_helper((const char *const[]){__VA_ARGS__, NULL})

static int wait_status(ward_child *c)
{
    int st = -1;

    while (ward_wait(c, &st) == -1) {
        if (errno != EINTR)
            fail("ward_wait: %s", strerror(errno));
    }
    return st;
}

static long voluntary_switches(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_nvcsw;
}

/* The checks every mode ends with: ward does its whole job. */
static void works_normally(void)
{
    struct timespec dl;
    struct pollfd pfd;
    ward_child *c;
    long sw;
    int st, efd, r;

    CHECK((c = SPAWN("exit", "5")) != NULL);
    st = wait_status(c);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5);
    ward_free(c);

    /*
     * A timed wait sleeps in the kernel: a handful of wake-ups, no polling.
     * The posix backend has nothing to sleep on for one child with a
     * timeout short of a SIGCHLD handler, which it does not install for
     * waits (see ward(7)): it looks at the child between sleeps of 1 ms
     * doubling up to 10 ms, some 35 wake-ups in 300 ms.  A bound of 60
     * still tells those steps from a busy loop, or from sleeps gone short.
     */
    const char *be = ward_backend();
    long max_sw = be != NULL && strcmp(be, "posix") == 0 ? 60 : 10;

    CHECK((c = SPAWN("sleep", "300", "exit", "6")) != NULL);
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += 10 * slowdown();
    sw = voluntary_switches();
    while (ward_timedwait(c, &st, &dl) == -1)
        CHECK(errno == EINTR);
    sw = voluntary_switches() - sw;
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 6);
    ward_free(c);
    if (sw > max_sw)
        fail("a 300 ms timed wait woke up %ld times (at most %ld expected): it "
             "polls instead of sleeping until the child ends", sw, max_sw);

    /* The events descriptor reports an exit. */
    efd = ward_events_fd();
    if (efd == -1)
        fail("ward_events_fd: %s", strerror(errno));
    CHECK((c = SPAWN("sleep", "50", "exit", "7")) != NULL);
    pfd.fd = efd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    /* (The posix backend's SIGCHLD handler may interrupt the poll.) */
    while ((r = poll(&pfd, 1, (int)(10000 * slowdown()))) == -1 && errno == EINTR)
        ;
    CHECK(r == 1);
    CHECK(ward_dispatch() >= 0);
    st = wait_status(c);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
    ward_free(c);
    CHECK(no_children());
}

/* Heap kept by a first successful spawn (or fork) that is waited for and freed. */
static ssize_t first_call_retains(int use_fork)
{
    int p[2], st;
    ssize_t kept = -1;
    pid_t pid;

    CHECK(pipe(p) == 0);
    if ((pid = fork()) == 0) {
        ward_child *c = NULL;
        size_t h0 = heap();

        if (use_fork) {
            pid_t k = ward_fork(&c, 0);
            if (k == 0)
                _exit(0);
        } else {
            c = SPAWN("exit", "0");
        }
        if (c != NULL) {
            wait_status(c);
            ward_free(c);
            kept = (ssize_t)(heap() - h0);
        }
        if (write(p[1], &kept, sizeof kept) != (ssize_t)sizeof kept)
            _exit(1);
        _exit(0);
    }
    CHECK(pid > 0);
    close(p[1]);
    if (read(p[0], &kept, sizeof kept) != (ssize_t)sizeof kept)
        kept = -1;
    close(p[0]);
    while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
        ;
    if (kept < 0)
        fail("a first %s without faults failed", use_fork ? "ward_fork" : "ward_spawn");
    return kept;
}

static int alloc_first(unsigned long n, int use_fork)
{
    ward_child *c = NULL;
    size_t h0;
    int fds0, err;
    unsigned long calls, failed;
    pid_t pid = 0;
    ssize_t retained;

    if (!failalloc_available()) {
        fprintf(stderr, "probe: allocation failures cannot be injected in this build\n");
        return 77;
    }
    /* The C library's own first-allocation set-up (its per-thread cache) is not ward's. */
    {
        void *volatile warm = malloc(1); /* volatile: the pair must not be optimised away */
        free(warm);
    }
    /*
     * What a first successful call keeps for the rest of the process (ward's
     * claim slots come in chunks that are never freed): measured in a fork()
     * child, which starts from this same fresh state.  A failed first call
     * may keep that much, and no more.
     */
    retained = first_call_retains(use_fork);
    fds0 = count_fds();
    h0 = heap();
    failalloc_arm(n);
    errno = 0;
    if (use_fork) {
        pid = ward_fork(&c, 0);
        if (pid == 0)
            _exit(42);
    } else {
        c = SPAWN("exit", "3");
    }
    err = errno;
    failed = failalloc_failed();
    calls = failalloc_disarm();
    if (failed == 0) {
        /* Fewer than n allocations: nothing failed, the sweep is done. */
        CHECK(c != NULL);
        CHECK(WEXITSTATUS(wait_status(c)) == (use_fork ? 42 : 3));
        ward_free(c);
        works_normally();
        printf("%lu allocations\n", calls);
        return 2;
    }
    if (c != NULL) {
        /* A failure ward could absorb (a table that could not grow). */
        CHECK(WEXITSTATUS(wait_status(c)) == (use_fork ? 42 : 3));
        ward_free(c);
    } else {
        if (err != ENOMEM)
            fail("allocation %lu failed: %s returned errno %d (%s), expected ENOMEM", n,
                 use_fork ? "ward_fork" : "ward_spawn", err, strerror(err));
        if (count_fds() != fds0)
            fail("allocation %lu failed: %d descriptor(s) left", n, count_fds() - fds0);
        if (!no_children())
            fail("allocation %lu failed: a child was left", n);
        if ((ssize_t)(heap() - h0) > retained || heap() < h0) {
            char log[512];
            failalloc_log(log, sizeof log);
            fail("allocation %lu failed: heap grew by %zd bytes (a successful first call "
                 "keeps %zd); allocations:%s", n, (ssize_t)(heap() - h0), retained, log);
        }
    }
    works_normally();
    return 0;
}

static int emfile_first(void)
{
    struct rlimit saved, rl;
    ward_child *c;
    struct timespec dl;
    int fillers[1024], nf = 0, fd, st, r, efd, eerr;

    /* A child that ends in a while, made while descriptors are plentiful. */
    CHECK((c = SPAWN("sleep", "200", "exit", "4")) != NULL);
    CHECK(getrlimit(RLIMIT_NOFILE, &saved) == 0);
    rl = saved;
    rl.rlim_cur = 64;
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    while (nf < 1024 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        fillers[nf++] = fd;
    /* The first timed wait and the first events descriptor, at EMFILE. */
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += 10 * slowdown();
    while ((r = ward_timedwait(c, &st, &dl)) == -1 && errno == EINTR)
        ;
    eerr = errno;
    efd = ward_events_fd();
    if (efd == -1)
        eerr = errno;
    while (nf > 0)
        close(fillers[--nf]);
    CHECK(setrlimit(RLIMIT_NOFILE, &saved) == 0);
    if (r != 0)
        fail("timed wait with no descriptor free: %s", strerror(eerr));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 4);
    ward_free(c);
    /* The shortage is over: nothing may stay broken. */
    if (efd != -1 || eerr != EMFILE) {
        /* Report this, and also whether the damage lasts. */
        pid_t pid = fork();
        int wst = 0;

        if (pid == 0) {
            fail_prefix = "probe: (2) ";
            works_normally();
            _exit(0);
        }
        waitpid(pid, &wst, 0);
        fail("(1) ward_events_fd() with no descriptor free: %s%d, errno %d (%s), expected "
             "-1/EMFILE; once descriptors are back, ward %s",
             efd != -1 ? "returned " : "returned ", efd, eerr, strerror(eerr),
             WIFEXITED(wst) && WEXITSTATUS(wst) == 0 ? "works again"
                                                     : "still fails, see (2)");
    }
    works_normally();
    return 0;
}

/*
 * The very first call into ward, a spawn, with no descriptor free: ward
 * chooses its backend then, and the linux backend's probe of the kernel
 * must not take "no descriptor" for "no pidfd support" and leave the
 * process on the posix backend for the rest of its life.  The spawn must
 * succeed (a child without a pidfd), and the next, with descriptors back,
 * get a pidfd.
 */
static int emfile_spawn_first(void)
{
    struct rlimit saved, rl;
    ward_child *c, *d;
    int fillers[1024], nf = 0, fd, st, err;
    const char *want = getenv("WARD_BACKEND");

    CHECK(getrlimit(RLIMIT_NOFILE, &saved) == 0);
    rl = saved;
    rl.rlim_cur = 64;
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    while (nf < 1024 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        fillers[nf++] = fd;
    c = SPAWN("exit", "3");
    err = errno;
    while (nf > 0)
        close(fillers[--nf]);
    CHECK(setrlimit(RLIMIT_NOFILE, &saved) == 0);
    if (c == NULL)
        fail("first spawn with no descriptor free: %s", strerror(err));
    CHECK(ward_wait(c, &st) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 3);
    ward_free(c);
#ifdef __linux__
    if (want == NULL || want[0] == '\0') {
        if (strcmp(ward_backend(), "linux") != 0)
            fail("a first spawn with no descriptor free chose the %s backend", ward_backend());
        CHECK((d = SPAWN("exit", "5")) != NULL);
        if (ward_pidfd(d) < 0)
            fail("a spawn with descriptors back has no pidfd: %s", strerror(errno));
        CHECK(ward_wait(d, &st) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 5);
        ward_free(d);
    }
#else
    (void)want;
    (void)d;
#endif
    works_normally();
    return 0;
}

int main(int argc, char **argv)
{
    /* One stream for the test that runs us. */
    dup2(1, 2);
    if (argc >= 4 && strcmp(argv[1], "alloc-first") == 0) {
        helper = argv[3];
        return alloc_first(strtoul(argv[2], NULL, 10), 0);
    }
    if (argc >= 4 && strcmp(argv[1], "alloc-first-fork") == 0) {
        helper = argv[3];
        return alloc_first(strtoul(argv[2], NULL, 10), 1);
    }
    if (argc >= 3 && strcmp(argv[1], "emfile-spawn-first") == 0) {
        helper = argv[2];
        return emfile_spawn_first();
    }
    if (argc >= 3 && strcmp(argv[1], "emfile-first") == 0) {
        helper = argv[2];
        return emfile_first();
    }
    fprintf(stderr, "usage: probe alloc-first N HELPER | alloc-first-fork N HELPER | "
                    "emfile-first HELPER | emfile-spawn-first HELPER\n");
    return 64;
}
