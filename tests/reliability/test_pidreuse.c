/*
 * test_pidreuse.c - a handle outlives its pid.
 *
 * Once a private child is reaped its pid is free, and the kernel hands it
 * to the next process that needs one.  The old handle must never reach
 * that process: ward_kill() and ward_killpg() fail with ESRCH without
 * signalling it, the waits return the cached status, and ward never reaps
 * the new process (it belongs to the program).
 *
 * Getting a given pid back takes the pid counter all the way round, so
 * each test runs in a new pid namespace whose init is a fork() child of
 * the test, and the pids are made to come round in one of two ways:
 *
 *  - preferably, in a new user namespace too, the pid namespace's own
 *    pid_max is lowered to 400: pids then cycle through 300..399, and the
 *    test forks until one lands on the reaped child's pid, as a busy system
 *    would.  pid_max is per pid namespace only since Linux 6.14; before, it
 *    is one value for the whole machine, which the test must not change.
 *    Being in a user namespace is not enough to be refused: that sysctl
 *    (mode 0644) lets anyone write whose effective uid is the machine's
 *    root uid, in whatever user namespace, and a test run as root keeps
 *    that uid in a namespace whose uid 0 is mapped to its own.  So pid_max
 *    is written by a short-lived child whose effective uid is not root
 *    outside the namespace.  A test that is not root maps only its own
 *    uid, and that is already so.  A test run as root maps uid and gid 0
 *    to 0 and 1 to 65534: mapping more than one's own id takes CAP_SETUID
 *    and CAP_SETGID outside the namespace, so a child forked before
 *    unshare(CLONE_NEWUSER) writes the maps once the test process is in
 *    it.  The writer sets SECBIT_NO_SETUID_FIXUP, so that it keeps its
 *    capabilities in the namespace, and becomes uid and gid 1 (65534
 *    outside).  A per-namespace pid_max takes the write, since it asks for
 *    CAP_SYS_ADMIN in the user namespace that owns the pid namespace; a
 *    global one refuses it (EACCES).  Should root be unable to map 65534,
 *    pid_max is not written at all;
 *  - else (the write refused or not tried, or no user namespace) the
 *    namespace's /proc/sys/kernel/ns_last_pid is written, so that the next
 *    fork gets the wanted pid.  It is per pid namespace (since Linux 3.3)
 *    and takes CAP_SYS_ADMIN (or, since 5.9, CAP_CHECKPOINT_RESTORE) in the
 *    user namespace that owns the pid namespace, which init of the
 *    namespace has, in the new user namespace or as root without one;
 *  - where neither can be written, the test is skipped, with the reason.
 *
 * A test must never change the machine, so pid_max as the test process
 * sees it (the machine's, on a kernel older than 6.14) is read before the
 * namespaces are made, and read again right after the write in the
 * namespace and once the scenario has ended.  Should it ever differ, it is
 * put back at once and the test fails, saying so.
 *
 * REL_PIDREUSE_MODE=ns_last_pid uses ns_last_pid without a user namespace
 * (root only); REL_PIDREUSE_MODE=userns_ns_last_pid makes the user
 * namespace as usual but uses ns_last_pid there, the way a kernel with a
 * global pid_max makes the test go.
 *
 * rel-posix.test runs them again on the posix backend.
 */
#include "rel.h"

#include <grp.h>
#include <poll.h>
#include <linux/securebits.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>

WT_SUITE(pidreuse);

#define PID_MAX_NS 400
#define PID_MIN_AFTER_WRAP 300
#define PID_MAX_PATH "/proc/sys/kernel/pid_max"

/* Where uid and gid 1 of the namespace lead when the test runs as root. */
#define OUTSIDE_NOBODY 65534

enum { CYCLE_PID_MAX = 1, CYCLE_NS_LAST_PID = 2 };

static int cycle_mode;

/*
 * pid_max as the test process sees it, read before the namespaces are
 * made, and the descriptor it was read through: opened there, it goes on
 * reading that same pid_max from inside the namespaces (an open sysctl
 * file stays bound to the table it was looked up in).
 */
static long outer_pid_max = -1;
static int outer_pid_max_fd = -1;

static int write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n;
    int e;

    if (fd < 0)
        return -1;
    n = write(fd, s, strlen(s));
    e = errno;
    close(fd);
    errno = e;
    return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* A number read from the start of fd, or -1. */
static long read_long_fd(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

/* ---- Taking a pid ------------------------------------------------------- */

/*
 * What the process that gets the old pid does: lead its own process group
 * (so the old group id exists again) and wait to be killed.
 */
static void __attribute__((noreturn)) holder_main(void)
{
    setpgid(0, 0);
    for (;;)
        pause();
}

/* 1 if pid (our own child) still runs, untouched: no exit, no stop. */
static int holder_alive(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT) == -1)
        return 0;
    return si.si_pid == 0;
}

/* Where the namespace's last pid can be set, make target the next one. */
static void aim_next_pid(pid_t target)
{
    char buf[32];

    if (cycle_mode == CYCLE_NS_LAST_PID) {
        snprintf(buf, sizeof buf, "%d", (int)target - 1);
        rel_checkf(write_file("/proc/sys/kernel/ns_last_pid", buf) == 0,
                   "writing ns_last_pid: %s", strerror(errno));
    }
}

/* Fork until a new process has pid target; it then runs holder_main(). */
static pid_t take_pid(pid_t target)
{
    aim_next_pid(target);
    for (int i = 0; i < 4 * PID_MAX_NS; i++) {
        pid_t pid = fork();

        rel_checkf(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0) {
            if (getpid() == target)
                holder_main();
            _exit(0);
        }
        if (pid == target) {
            /* Wait until it leads its group, so the group id is taken too. */
            for (double end = wt_now_ms() + wt_ms(1000);
                 getpgid(pid) != pid && wt_now_ms() < end;)
                usleep(1000);
            return pid;
        }
        while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
            ;
    }
    rel_fail("pid %d never came back after %d forks (mode %d)", (int)target,
             4 * PID_MAX_NS, cycle_mode);
}

/* End the holder (our own child) and check that nobody else reaped it. */
static void end_holder(pid_t holder)
{
    int st = 0;
    pid_t r;

    rel_checkf(kill(holder, SIGTERM) == 0, "kill holder: %s", strerror(errno));
    while ((r = waitpid(holder, &st, 0)) == -1 && errno == EINTR)
        ;
    rel_checkf(r == holder, "the process that took the pid was reaped by someone else "
               "(waitpid: %s)", strerror(errno));
    rel_checkf(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "holder status 0x%x", st);
}

static ward_child *spawn_helper(unsigned flags, const char *const *ops)
{
    char *argv[8];
    ward_attr *a = NULL;
    ward_child *c;
    int n = 0;

    argv[n++] = wt_helper_path;
    while (*ops != NULL && n < 7)
        argv[n++] = (char *)*ops++;
    argv[n] = NULL;
    if (flags != 0) {
        a = ward_attr_new();
        rel_check(a != NULL && ward_attr_setflags(a, flags) == 0);
    }
    c = ward_spawn(NULL, argv, a);
    rel_checkf(c != NULL, "ward_spawn: %s", strerror(errno));
    ward_attr_free(a);
    return c;
}

#define SPAWN(flags, ...) spawn_helper((flags), (const char *const[]){__VA_ARGS__, NULL})

static int wait_ok(ward_child *c)
{
    int st = -1, r;

    while ((r = ward_wait(c, &st)) == -1 && errno == EINTR)
        ;
    rel_checkf(r == 0, "ward_wait: %s", strerror(errno));
    return st;
}

/* Every wait of a reaped handle returns its cached status, with no system call. */
static void check_cached(ward_child *c, int want)
{
    struct timespec dl = wt_deadline_ms(0);
    int st = -1;

    rel_checkf(ward_wait(c, &st) == 0 && st == want, "ward_wait again: r/errno %s, "
               "status 0x%x, expected 0x%x", strerror(errno), st, want);
    st = -1;
    rel_checkf(ward_trywait(c, &st) == 0 && st == want, "ward_trywait: %s, status 0x%x",
               strerror(errno), st);
    st = -1;
    rel_checkf(ward_timedwait(c, &st, &dl) == 0 && st == want, "ward_timedwait: %s, "
               "status 0x%x", strerror(errno), st);
    st = -1;
    rel_checkf(ward_terminate(c, 0, &st) == 0 && st == want, "ward_terminate: %s, "
               "status 0x%x", strerror(errno), st);
}

static void check_esrch(int r, const char *what, pid_t holder)
{
    int e = errno;

    if (r == 0)
        wt_sleep_ms(wt_ms(50)); /* a signal takes a moment to kill */
    rel_checkf(r == -1 && e == ESRCH, "%s on the old handle returned %d (errno %d %s), "
               "expected -1/ESRCH; the pid now belongs to process %d", what, r, e,
               strerror(e), (int)holder);
    rel_checkf(holder_alive(holder), "%s on the old handle reached process %d, which "
               "took the reaped child's pid", what, (int)holder);
}

/* ---- The scenarios (run as init of the new namespace) ------------------- */

/* Reaped by ward_wait, pid taken: no signal reaches the new process. */
static void scenario_kill(void)
{
    ward_child *c = SPAWN(0, "exit", "7");
    int st = wait_ok(c);
    pid_t p = ward_pid(c), holder;
    siginfo_t si;

    rel_check(WIFEXITED(st) && WEXITSTATUS(st) == 7);
    holder = take_pid(p);
    check_esrch(ward_kill(c, 0), "ward_kill(0)", holder);
    check_esrch(ward_kill(c, SIGTERM), "ward_kill(SIGTERM)", holder);
    check_esrch(ward_kill(c, SIGKILL), "ward_kill(SIGKILL)", holder);
    check_cached(c, st);
    rel_checkf(holder_alive(holder), "the process holding pid %d was disturbed", (int)p);
    /* The pid is the program's own child now: visible, not private, not ECHILD. */
    rel_checkf(ward_waitpid(p, &st, WNOHANG) == 0, "ward_waitpid(%d, WNOHANG) on the new "
               "process: %s", (int)p, strerror(errno));
    memset(&si, 0, sizeof si);
    rel_checkf(ward_waitid(P_PID, (id_t)p, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                   si.si_pid == 0, "ward_waitid(P_PID %d): %s", (int)p, strerror(errno));
    ward_free(c);
    end_holder(holder);
    rel_note("pid %d reused after ward_wait; ", (int)p);
}

/* A group leader reaped, its pid and group id taken: ward_killpg refuses. */
static void scenario_killpg(void)
{
    ward_child *c = SPAWN(WARD_NEW_PGROUP, "exit", "8");
    int st = wait_ok(c);
    pid_t p = ward_pid(c), holder;

    rel_check(WIFEXITED(st) && WEXITSTATUS(st) == 8);
    holder = take_pid(p);
    rel_checkf(getpgid(holder) == p, "the new process does not lead group %d", (int)p);
    check_esrch(ward_killpg(c, 0), "ward_killpg(0)", holder);
    check_esrch(ward_killpg(c, SIGKILL), "ward_killpg(SIGKILL)", holder);
    check_cached(c, st);
    rel_checkf(holder_alive(holder), "ward_terminate reached the new group");
    ward_free(c);
    end_holder(holder);
    rel_note("group %d reused after ward_wait; ", (int)p);
}

/* Dropped while running, reaped by ward later, pid taken: ward leaves it alone. */
static void scenario_orphan(void)
{
    int private = wt_spawns_private();
    ward_child *c = SPAWN(0, "sleep", "20", "exit", "9");
    pid_t p = ward_pid(c), holder;
    int st, own = -1;

    /*
     * A child the kernel keeps private is released by the kernel as it
     * ends, not by ward: it is seen to end through a pidfd of the test's
     * own, since no wait sees it.
     */
    if (private)
        rel_checkf((own = fcntl(ward_pidfd(c), F_DUPFD_CLOEXEC, 3)) >= 0, "dup: %s",
                   strerror(errno));
    ward_free(c); /* ward now owns it, and reaps it later */
    if (own >= 0) {
        struct pollfd pfd = {.fd = own, .events = 0};

        while (poll(&pfd, 1, -1) == -1 && errno == EINTR)
            ;
        rel_checkf(pfd.revents & POLLHUP, "the dropped child's pidfd: revents 0x%x",
                   pfd.revents);
        close(own);
    } else {
        rel_checkf(wt_wait_ended(p) == 0, "the dropped child was reaped before it ended: %s",
                   strerror(errno));
    }
    /* Any spawn reaps dropped children that have ended. */
    c = SPAWN(0, "exit", "0");
    wait_ok(c);
    ward_free(c);
    rel_checkf(wt_reaped(p), "the dropped child %d is still a zombie", (int)p);
    holder = take_pid(p);
    /* Everything that reaps dropped children runs again, more than once. */
    for (int i = 0; i < 3; i++) {
        c = SPAWN(0, "exit", "1");
        wait_ok(c);
        ward_free(c);
        rel_checkf(ward_waitpid(-1, &st, WNOHANG) == 0, "ward_waitpid(-1, WNOHANG) "
                   "with only the new process running: %s", strerror(errno));
        rel_check(ward_dispatch() >= 0);
        rel_checkf(holder_alive(holder), "ward reaped or signalled the process that took "
                   "the dropped child's pid %d", (int)p);
    }
    end_holder(holder);
    rel_note("pid %d reused after a dropped child; ", (int)p);
}

/*
 * Spawn children through ward until one has pid target, and return it;
 * the others are killed and reaped on the way.
 */
static ward_child *spawn_on_pid(pid_t target)
{
    aim_next_pid(target);
    for (int i = 0; i < 4 * PID_MAX_NS; i++) {
        ward_child *c = SPAWN(0, "sleep", "60000");

        if (ward_pid(c) == target)
            return c;
        rel_check(ward_kill(c, SIGKILL) == 0);
        wait_ok(c);
        ward_free(c);
    }
    rel_fail("pid %d never came back after %d spawns (mode %d)", (int)target,
             4 * PID_MAX_NS, cycle_mode);
}

static int events_runs, events_status = -1;

static void events_cb(ward_child *c, int status, void *data)
{
    (void)c;
    (void)data;
    events_runs++;
    events_status = status;
}

/*
 * Two handles with one pid in ward's table.  A child the kernel reaps
 * itself frees its pid as it ends, before ward has collected it, and a new
 * child of ward's may take the pid at once.  The events descriptor then
 * reports the old child's exit under that pid: ward_dispatch() must still
 * collect the old child and run its callback, and leave the new one be.
 * Only a kernel-private child can get there: an ordinary one keeps its pid
 * until ward reaps it.
 */
static void scenario_events(void)
{
    struct pollfd pfd;
    ward_child *c, *n;
    int fd = ward_events_fd();
    pid_t p;

    rel_checkf(fd >= 0, "ward_events_fd: %s", strerror(errno));
    if (!wt_spawns_private())
        rel_skip("ward's children are ordinary ones here (kernel-private ones come with "
                 "Linux 7.1): a pid stays the child's until ward reaps it, so two "
                 "handles never share one");
    c = SPAWN(0, "exit", "5");
    p = ward_pid(c);
    rel_check(ward_setcallback(c, events_cb, NULL) == 0);
    /* Released by the kernel: the pid is free. */
    pfd = (struct pollfd){.fd = ward_pidfd(c), .events = 0};
    while (poll(&pfd, 1, -1) == -1 && errno == EINTR)
        ;
    rel_checkf(pfd.revents & POLLHUP, "the child's pidfd: revents 0x%x", pfd.revents);
    n = spawn_on_pid(p);
    for (double end = wt_now_ms() + wt_ms(2000); events_runs == 0 && wt_now_ms() < end;) {
        pfd = (struct pollfd){.fd = fd, .events = POLLIN};
        (void)poll(&pfd, 1, 10);
        rel_check(ward_dispatch() >= 0);
    }
    rel_checkf(events_runs == 1, "the callback of the ended child whose pid %d a new child "
               "took ran %d times", (int)p, events_runs);
    rel_checkf(WIFEXITED(events_status) && WEXITSTATUS(events_status) == 5,
               "the callback got status 0x%x, expected exit 5", events_status);
    rel_checkf(ward_trywait(n, NULL) == -1 && errno == EAGAIN,
               "the new child on pid %d: ward_trywait: %s", (int)p, strerror(errno));
    rel_check(ward_kill(n, SIGKILL) == 0);
    wait_ok(n);
    ward_free(n);
    ward_free(c);
    rel_note("pid %d shared by an ended child and a new one; ", (int)p);
}

/*
 * Reaped by a thief outside ward (a plain waitpid), pid taken.  The status
 * is recovered where the kernel keeps it (pidfd, Linux 6.15), else the
 * wait fails with ECHILD (which of the two: stolen_recovers, found out by
 * the test before it forks); either way ward must neither signal nor reap
 * the new process, nor report its status as the old child's.
 */
static int stolen_recovers = -1;

static void scenario_stolen(void)
{
    /*
     * WARD_RUSAGE: an ordinary child, which a thief can reap; by default
     * Linux 7.1 and later make ward's children kernel-private, and no
     * thief gets them.
     */
    ward_child *c = SPAWN(WARD_RUSAGE, "exit", "10");
    pid_t p = ward_pid(c), holder, r2;
    struct timespec dl;
    int st = -1, hst = -1, r, e, alive;
    char bad[1024] = "";
    size_t len = 0;

#define BAD(...)                                                             \
    do {                                                                     \
        int k_ = snprintf(bad + len, sizeof bad - len, __VA_ARGS__);         \
        if (k_ > 0 && (size_t)k_ < sizeof bad - len)                         \
            len += (size_t)k_;                                               \
    } while (0)

    rel_checkf(wt_wait_ended(p) == 0, "the child vanished: %s", strerror(errno));
    rel_checkf(waitpid(p, &st, 0) == p, "the thief's waitpid: %s", strerror(errno));
    rel_check(WIFEXITED(st) && WEXITSTATUS(st) == 10);
    holder = take_pid(p);

    /* 1. Signals: ESRCH, and the new process untouched. */
    r = ward_kill(c, 0);
    e = errno;
    if (r != -1 || e != ESRCH)
        BAD("(1) ward_kill(0) returned %d (%s), expected -1/ESRCH: it probed pid %d, "
            "which belongs to another process now. ", r, r == 0 ? "success" : strerror(e),
            (int)p);
    r = ward_kill(c, SIGTERM);
    e = errno;
    wt_sleep_ms(wt_ms(50)); /* a signal takes a moment to kill */
    alive = holder_alive(holder);
    if (!alive)
        BAD("(2) ward_kill(SIGTERM) killed process %d, which took the pid. ", (int)p);
    else if (r != -1 || e != ESRCH)
        BAD("(2) ward_kill(SIGTERM) returned %d (%s), expected -1/ESRCH. ", r,
            r == 0 ? "success" : strerror(e));

    /* 2. Waits: the recovered status or ECHILD, never the new process's. */
    if (alive) {
        dl = wt_deadline_ms(wt_ms(300));
        st = -1;
        while ((r = ward_timedwait(c, &st, &dl)) == -1 && errno == EINTR)
            ;
        e = errno;
        if (r == -1 && e == ETIMEDOUT)
            BAD("(3) ward_timedwait waited for process %d, the new owner of the pid. ", (int)p);
        else if (r == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 10))
            BAD("(3) ward_timedwait reported status 0x%x, expected exit 10. ", st);
        else if (r == -1 && e != ECHILD)
            BAD("(3) ward_timedwait: errno %d (%s), expected a status or ECHILD. ", e,
                strerror(e));
        else if (stolen_recovers && r != 0)
            BAD("(3) ward_timedwait: ECHILD, but this kernel keeps the exit status on "
                "the pidfd: expected it recovered. ");
        else if (!stolen_recovers && r == 0)
            BAD("(3) ward_timedwait recovered status 0x%x where no exit status can be "
                "recovered: expected ECHILD. ", st);
        /* End the new process ourselves, and see who gets its status. */
        kill(holder, SIGTERM);
        wt_wait_ended(holder);
    }
    st = -1;
    while ((r = ward_wait(c, &st)) == -1 && errno == EINTR)
        ;
    e = errno;
    if (r == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 10))
        BAD("(4) ward_wait reported status 0x%x (the new process's), expected exit 10 or "
            "ECHILD. ", st);
    else if (stolen_recovers && r != 0)
        BAD("(4) ward_wait: %s, expected the recovered status. ", strerror(e));
    else if (!stolen_recovers && (r != -1 || e != ECHILD))
        BAD("(4) ward_wait returned %d (%s), expected ECHILD. ", r,
            r == 0 ? "success" : strerror(e));
    while ((r2 = waitpid(holder, &hst, 0)) == -1 && errno == EINTR)
        ;
    if (r2 != holder)
        BAD("(5) ward reaped process %d, the program's own child: its waitpid got %s. ",
            (int)holder, strerror(errno));
    ward_free(c);
    if (len > 0)
        rel_fail("pid %d, reaped by a thief, then taken by a new process (%s backend): %s",
                 (int)p, ward_backend(), bad);
    rel_note("pid %d reused after a theft (status %s); ", (int)p,
             r == 0 ? "recovered" : "reported lost");
#undef BAD
}

/* ---- The namespace ------------------------------------------------------ */

/* What REL_PIDREUSE_MODE asks for. */
enum { MODE_AUTO, MODE_NS_LAST_PID, MODE_USERNS_NS_LAST_PID };

/* The user namespace init runs in. */
enum {
    USERNS_NONE,            /* none: the caller's own */
    USERNS_OWN_ID,          /* uid and gid 0 are the caller's, who is not root */
    USERNS_ROOT_ONLY,       /* the caller is root; only uid and gid 0 could be mapped */
    USERNS_ROOT_AND_NOBODY, /* the caller is root; 0 is 0 outside, 1 is 65534 */
};

/* Exit codes of the id mapper. */
enum { MAPPED_ROOT_AND_NOBODY, MAPPED_ROOT_ONLY, MAPPED_NOTHING };

/* Exit codes of the pid_max writer, besides 0 (written) and an errno. */
enum { WRITER_NO_SECUREBITS = 250, WRITER_NO_SETGROUPS, WRITER_NO_SETGID, WRITER_NO_SETUID };

/* The status of our own child pid, once it has ended. */
static int reap(pid_t pid)
{
    int st = 0;
    pid_t r;

    while ((r = waitpid(pid, &st, 0)) == -1 && errno == EINTR)
        ;
    rel_checkf(r == pid, "waitpid(%d): %s", (int)pid, strerror(errno));
    return st;
}

static int pidreuse_mode(void)
{
    const char *m = getenv("REL_PIDREUSE_MODE");

    if (m == NULL || *m == '\0')
        return MODE_AUTO;
    if (strcmp(m, "ns_last_pid") == 0)
        return MODE_NS_LAST_PID;
    if (strcmp(m, "userns_ns_last_pid") == 0)
        return MODE_USERNS_NS_LAST_PID;
    rel_fail("REL_PIDREUSE_MODE=%s: expected ns_last_pid or userns_ns_last_pid", m);
}

/*
 * In init of the namespace, right after pid_max was written there: the
 * pid_max outside must not have moved.  If it has, the kernel has a single
 * pid_max and let the write through, so this namespace's file is that same
 * one: put the old value back through it, at once, and fail.
 */
static void check_outer_pid_max_in_ns(void)
{
    long now = read_long_fd(outer_pid_max_fd);
    char buf[32];

    if (now == outer_pid_max)
        return;
    snprintf(buf, sizeof buf, "%ld", outer_pid_max);
    rel_fail("TEST BUG, THE MACHINE WAS CHANGED: writing pid_max in the namespace moved "
             "the pid_max outside from %ld to %ld; %s", outer_pid_max, now,
             write_file(PID_MAX_PATH, buf) == 0 ? "put back"
                                                : "PUTTING IT BACK FAILED, do it by hand");
}

/*
 * In init of the namespace: write pid_max from a short-lived child, which
 * with drop first becomes uid and gid 1 of the namespace (65534 outside)
 * while keeping its capabilities here, so that its effective uid is not
 * root outside.  Returns 0 once written, else -1 with the reason in why.
 */
static int write_pid_max(int drop, char *why, size_t cap)
{
    pid_t w = fork();
    int st;

    rel_checkf(w >= 0, "fork: %s", strerror(errno));
    if (w == 0) {
        char buf[32];

        if (drop) {
            unsigned long bits = SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED;

            if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) == -1)
                _exit(WRITER_NO_SECUREBITS);
            if (setgroups(0, NULL) == -1)
                _exit(WRITER_NO_SETGROUPS);
            if (setresgid(1, 1, 1) == -1)
                _exit(WRITER_NO_SETGID);
            if (setresuid(1, 1, 1) == -1)
                _exit(WRITER_NO_SETUID);
        }
        snprintf(buf, sizeof buf, "%d", PID_MAX_NS);
        if (write_file(PID_MAX_PATH, buf) == 0)
            _exit(0);
        _exit(errno > 0 && errno < WRITER_NO_SECUREBITS ? errno : EIO);
    }
    st = reap(w);
    if (!WIFEXITED(st)) {
        snprintf(why, cap, "the writer died of signal %d", WTERMSIG(st));
        return -1;
    }
    switch (WEXITSTATUS(st)) {
    case 0:
        return 0;
    case WRITER_NO_SECUREBITS:
        snprintf(why, cap, "the writer could not keep its capabilities across setresuid");
        break;
    case WRITER_NO_SETGROUPS:
    case WRITER_NO_SETGID:
    case WRITER_NO_SETUID:
        snprintf(why, cap, "the writer could not become uid and gid 1 (step %d)",
                 WEXITSTATUS(st) - WRITER_NO_SECUREBITS);
        break;
    default:
        snprintf(why, cap, "refused: %s", strerror(WEXITSTATUS(st)));
        break;
    }
    return -1;
}

/* In init of the new namespace: a private /proc, then the way to cycle pids. */
static void ns_init_setup(int userns, int mode)
{
    char why[128] = "", note[256];
    int e;

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
        rel_skip("cannot make the mounts private in the new mount namespace: %s",
                 strerror(errno));
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == -1)
        rel_skip("cannot mount /proc in the new pid namespace: %s", strerror(errno));
    rel_checkf(getpid() == 1, "init of the new namespace has pid %d", (int)getpid());
    cycle_mode = 0;
    /*
     * pid_max is only ever written by a process that is not root outside,
     * so that a kernel with a single pid_max refuses it (see the top).
     */
    if (userns == USERNS_NONE)
        snprintf(why, sizeof why, "not tried without a user namespace");
    else if (mode == MODE_USERNS_NS_LAST_PID)
        snprintf(why, sizeof why, "not tried, REL_PIDREUSE_MODE=userns_ns_last_pid");
    else if (userns == USERNS_ROOT_ONLY)
        snprintf(why, sizeof why, "not tried, no uid mapped that is not root outside");
    else if (write_pid_max(userns == USERNS_ROOT_AND_NOBODY, why, sizeof why) == 0) {
        check_outer_pid_max_in_ns();
        cycle_mode = CYCLE_PID_MAX;
    }
    if (cycle_mode == 0) {
        if (write_file("/proc/sys/kernel/ns_last_pid", "1") == 0) {
            cycle_mode = CYCLE_NS_LAST_PID;
        } else {
            e = errno;
            rel_skip("neither pid_max (%s) nor ns_last_pid (%s) can be written in the new "
                     "namespace", why, strerror(e));
        }
    }
    if (cycle_mode == CYCLE_PID_MAX) {
        /* Go once round, so pids are handed out from the cycle 300..399. */
        for (;;) {
            pid_t pid = fork();

            rel_checkf(pid >= 0, "fork: %s", strerror(errno));
            if (pid == 0)
                _exit(0);
            reap(pid);
            if (pid >= PID_MIN_AFTER_WRAP)
                break;
        }
        snprintf(note, sizeof note, "pid_max 400 (written as uid %s), pids cycled by forking",
                 userns == USERNS_ROOT_AND_NOBODY ? "65534 outside" : "of the caller");
    } else {
        snprintf(note, sizeof note, "pids set through ns_last_pid (pid_max: %s)", why);
    }
    rel_note("%s, %s, %s backend: ",
             userns == USERNS_NONE ? "pid namespace" : "user+pid namespace", note,
             ward_backend());
}

/*
 * The id mapper of a caller that is root: forked before the caller
 * unshares its user namespace, it waits on go until the caller is in it,
 * then writes the maps from outside, where it holds the CAP_SETUID and
 * CAP_SETGID that mapping more than one's own id takes.
 */
static void __attribute__((noreturn)) mapper_main(pid_t target, uid_t uid, gid_t gid, int go)
{
    char path[64], map[64], c;
    int two = 1;

    if (read(go, &c, 1) != 1)
        _exit(MAPPED_NOTHING); /* the caller could not unshare */
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)target);
    snprintf(map, sizeof map, "0 %u 1\n1 %d 1\n", (unsigned)uid, OUTSIDE_NOBODY);
    if (write_file(path, map) == -1) {
        /* Without those capabilities: the own id only, as any creator may. */
        two = 0;
        snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
        if (write_file(path, map) == -1)
            _exit(MAPPED_NOTHING);
    }
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)target);
    snprintf(map, sizeof map, "0 %u 1\n1 %d 1\n", (unsigned)gid, OUTSIDE_NOBODY);
    if (write_file(path, map) == -1) {
        two = 0;
        snprintf(path, sizeof path, "/proc/%d/setgroups", (int)target);
        if (write_file(path, "deny") == -1 && errno != ENOENT)
            _exit(MAPPED_NOTHING);
        snprintf(path, sizeof path, "/proc/%d/gid_map", (int)target);
        snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
        if (write_file(path, map) == -1)
            _exit(MAPPED_NOTHING);
    }
    _exit(two ? MAPPED_ROOT_AND_NOBODY : MAPPED_ROOT_ONLY);
}

/* Enter a new user namespace; USERNS_NONE (errno set) if not permitted. */
static int enter_userns(void)
{
    /* Taken before: once in the new namespace, they read as the overflow id. */
    uid_t uid = geteuid();
    gid_t gid = getegid();
    pid_t self = getpid(), mapper = -1;
    int go[2] = {-1, -1}, st, e;
    char map[64];

    if (uid == 0) {
        rel_checkf(pipe2(go, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
        mapper = fork();
        rel_checkf(mapper >= 0, "fork: %s", strerror(errno));
        if (mapper == 0) {
            close(go[1]);
            mapper_main(self, uid, gid, go[0]);
        }
        close(go[0]);
    }
    if (unshare(CLONE_NEWUSER) == -1) {
        e = errno;
        if (mapper > 0) {
            close(go[1]); /* the mapper reads the end of file, and leaves */
            reap(mapper);
        }
        errno = e;
        return USERNS_NONE;
    }
    if (mapper > 0) {
        rel_checkf(write(go[1], "x", 1) == 1, "waking the id mapper: %s", strerror(errno));
        close(go[1]);
        st = reap(mapper);
        rel_checkf(WIFEXITED(st) && WEXITSTATUS(st) != MAPPED_NOTHING,
                   "the id maps of the new user namespace could not be written "
                   "(mapper status 0x%x)", st);
        return WEXITSTATUS(st) == MAPPED_ROOT_AND_NOBODY ? USERNS_ROOT_AND_NOBODY
                                                         : USERNS_ROOT_ONLY;
    }
    if (write_file("/proc/self/setgroups", "deny") == -1 && errno != ENOENT)
        rel_fail("setgroups deny: %s", strerror(errno));
    snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
    rel_checkf(write_file("/proc/self/uid_map", map) == 0, "uid_map: %s", strerror(errno));
    snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
    rel_checkf(write_file("/proc/self/gid_map", map) == 0, "gid_map: %s", strerror(errno));
    return USERNS_OWN_ID;
}

/* The subprocess: make the namespaces, fork their init, report what it says. */
static int in_new_namespace(void *arg)
{
    void (*scenario)(void) = (void (*)(void))arg;
    int mode = pidreuse_mode();
    int userns = USERNS_NONE, uerr = 0, st;
    pid_t init;

    if (mode != MODE_NS_LAST_PID) {
        userns = enter_userns();
        uerr = errno;
    }
    if (unshare(CLONE_NEWPID | CLONE_NEWNS) == -1)
        rel_skip("new pid namespaces are not permitted here (%s%s%s)", strerror(errno),
                 userns != USERNS_NONE ? ""
                 : mode == MODE_NS_LAST_PID ? "; REL_PIDREUSE_MODE=ns_last_pid"
                                            : "; user namespaces: ",
                 userns != USERNS_NONE || mode == MODE_NS_LAST_PID ? "" : strerror(uerr));
    init = fork();
    rel_checkf(init >= 0, "fork: %s", strerror(errno));
    if (init == 0) {
        ns_init_setup(userns, mode);
        scenario();
        _exit(0);
    }
    st = reap(init);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    rel_fail("init of the new namespace died of signal %d", WTERMSIG(st));
}

/*
 * In the test process: run a scenario in new namespaces, with the pid_max
 * outside them read before and checked after, whatever the scenario did.
 */
static void run_in_namespaces(void (*scenario)(void))
{
    char msg[1536] = "", val[32];
    long after;
    int code, fd, e;

    wt_helper();
    fd = open(PID_MAX_PATH, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0, "open %s: %s", PID_MAX_PATH, strerror(errno));
    outer_pid_max = read_long_fd(fd);
    if (outer_pid_max <= 0)
        close(fd);
    cr_assert_gt(outer_pid_max, 0, "cannot read %s", PID_MAX_PATH);
    outer_pid_max_fd = fd;
    code = rel_subprocess(in_new_namespace, (void *)scenario, msg, sizeof msg, 50);
    after = read_long_fd(fd);
    close(fd);
    outer_pid_max_fd = -1;
    if (after != outer_pid_max) {
        snprintf(val, sizeof val, "%ld", outer_pid_max);
        e = write_file(PID_MAX_PATH, val) == 0 ? 0 : errno;
        cr_assert_fail("TEST BUG, THE MACHINE WAS CHANGED: %s outside the test's namespaces "
                       "went from %ld to %ld during the scenario; %s%s. (The scenario said, "
                       "with code %d: %s)", PID_MAX_PATH, outer_pid_max, after,
                       e == 0 ? "put back" : "PUTTING IT BACK FAILED, do it by hand: ",
                       e == 0 ? "" : strerror(e), code, msg);
    }
    if (code == REL_SKIP)
        cr_skip_test("%s", msg);
    cr_assert_eq(code, 0, "subprocess failed (%d): %s", code, msg);
    if (msg[0] != '\0')
        cr_log_info("%s", msg);
}

#define NS_TEST(name, fn)                                                    \
    Test(pidreuse, name, .timeout = 60)                                      \
    {                                                                        \
        run_in_namespaces(fn);                                               \
    }

NS_TEST(kill_and_waits_after_ward_reaped, scenario_kill)
NS_TEST(killpg_after_the_leader_was_reaped, scenario_killpg)
NS_TEST(dropped_child_reaped_by_ward_then_reused, scenario_orphan)
NS_TEST(events_find_an_ended_child_whose_pid_a_new_one_took, scenario_events)
/*
 * The posix backend has no process descriptor: once a thief outside ward
 * (and outside libward-guard) has reaped a child, its pid is all ward holds,
 * and a process that takes that pid cannot be told apart.  ward(7) states
 * this limit; the scenario is checked where it can hold.
 */
Test(pidreuse, child_stolen_by_a_thief_then_reused, .timeout = 60)
{
    wt_helper();
    if (wt_posix_backend())
        cr_skip_test("posix backend: after a theft outside ward the pid is "
                     "ambiguous (see ward(7)); checked on the linux backend");
    stolen_recovers = wt_recovers_stolen_status();
    run_in_namespaces(scenario_stolen);
}
