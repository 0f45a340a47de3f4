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
 * the test:
 *
 *  - preferably in a new user namespace too, where the namespace's own
 *    pid_max can be lowered to 400 (kernel 6.14 and later keep pid_max per
 *    pid namespace; inside a user namespace a kernel with a global pid_max
 *    refuses the write, so the host's value can never change): pids then
 *    cycle through 300..399, and the test forks until one lands on the
 *    reaped child's pid, as a busy system would;
 *  - else, as root in the initial user namespace, by writing the
 *    namespace's /proc/sys/kernel/ns_last_pid (per namespace since 3.3)
 *    so that the next fork gets the wanted pid;
 *  - else the test is skipped, with the reason.
 *
 * rel-posix.test runs them again on the posix backend.
 */
#include "rel.h"

#include <sched.h>
#include <sys/mount.h>

WT_SUITE(pidreuse);

#define PID_MAX_NS 400
#define PID_MIN_AFTER_WRAP 300

enum { CYCLE_PID_MAX = 1, CYCLE_NS_LAST_PID = 2 };

static int cycle_mode;

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

/* Fork until a new process has pid target; it then runs holder_main(). */
static pid_t take_pid(pid_t target)
{
    char buf[32];

    if (cycle_mode == CYCLE_NS_LAST_PID) {
        snprintf(buf, sizeof buf, "%d", (int)target - 1);
        rel_checkf(write_file("/proc/sys/kernel/ns_last_pid", buf) == 0,
                   "writing ns_last_pid: %s", strerror(errno));
    }
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
            for (int k = 0; k < 1000 && getpgid(pid) != pid; k++)
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
        usleep(50000); /* a signal takes a moment to kill */
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
    ward_child *c = SPAWN(0, "sleep", "20", "exit", "9");
    pid_t p = ward_pid(c), holder;
    int st;

    ward_free(c); /* ward now owns it, and reaps it later */
    rel_checkf(wt_wait_ended(p) == 0, "the dropped child was reaped before it ended: %s",
               strerror(errno));
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
 * Reaped by a thief outside ward (a plain waitpid), pid taken.  The status
 * is recovered where the kernel keeps it (pidfd, Linux 6.15), else the
 * wait fails with ECHILD; either way ward must neither signal nor reap the
 * new process, nor report its status as the old child's.
 */
static void scenario_stolen(void)
{
    ward_child *c = SPAWN(0, "exit", "10");
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
    usleep(50000); /* a signal takes a moment to kill */
    alive = holder_alive(holder);
    if (!alive)
        BAD("(2) ward_kill(SIGTERM) killed process %d, which took the pid. ", (int)p);
    else if (r != -1 || e != ESRCH)
        BAD("(2) ward_kill(SIGTERM) returned %d (%s), expected -1/ESRCH. ", r,
            r == 0 ? "success" : strerror(e));

    /* 2. Waits: the recovered status or ECHILD, never the new process's. */
    if (alive) {
        dl = wt_deadline_ms(300);
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

/* In init of the new namespace: a private /proc, then the way to cycle pids. */
static void ns_init_setup(int in_userns)
{
    char buf[32];

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
        rel_skip("cannot make the mounts private in the new mount namespace: %s",
                 strerror(errno));
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == -1)
        rel_skip("cannot mount /proc in the new pid namespace: %s", strerror(errno));
    rel_checkf(getpid() == 1, "init of the new namespace has pid %d", (int)getpid());
    cycle_mode = 0;
    /* REL_PIDREUSE_MODE=ns_last_pid tries the fallback where both work. */
    if (in_userns && getenv("REL_PIDREUSE_MODE") == NULL) {
        /*
         * Only a per-namespace pid_max can be written from here: a global one
         * belongs to the initial user namespace and refuses us.
         */
        snprintf(buf, sizeof buf, "%d", PID_MAX_NS);
        if (write_file("/proc/sys/kernel/pid_max", buf) == 0)
            cycle_mode = CYCLE_PID_MAX;
    }
    if (cycle_mode == 0) {
        if (write_file("/proc/sys/kernel/ns_last_pid", "1") == 0)
            cycle_mode = CYCLE_NS_LAST_PID;
        else
            rel_skip("neither a per-namespace pid_max nor ns_last_pid can be written: %s",
                     strerror(errno));
    }
    if (cycle_mode == CYCLE_PID_MAX) {
        /* Go once round, so pids are handed out from the cycle 300..399. */
        for (;;) {
            pid_t pid = fork();

            rel_checkf(pid >= 0, "fork: %s", strerror(errno));
            if (pid == 0)
                _exit(0);
            while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
                ;
            if (pid >= PID_MIN_AFTER_WRAP)
                break;
        }
    }
    rel_note("%s, %s backend: ", cycle_mode == CYCLE_PID_MAX
                 ? "user+pid namespace, pid_max 400, pids cycled by forking"
                 : "pid namespace, pids set through ns_last_pid", ward_backend());
}

static int enter_userns(void)
{
    /* Taken before: once in the new namespace, they read as the overflow id. */
    uid_t uid = getuid();
    gid_t gid = getgid();
    char map[64];

    if (unshare(CLONE_NEWUSER) == -1)
        return -1;
    if (write_file("/proc/self/setgroups", "deny") == -1 && errno != ENOENT)
        rel_fail("setgroups deny: %s", strerror(errno));
    snprintf(map, sizeof map, "0 %d 1", (int)uid);
    rel_checkf(write_file("/proc/self/uid_map", map) == 0, "uid_map: %s", strerror(errno));
    snprintf(map, sizeof map, "0 %d 1", (int)gid);
    rel_checkf(write_file("/proc/self/gid_map", map) == 0, "gid_map: %s", strerror(errno));
    return 0;
}

/* The subprocess: make the namespaces, fork their init, report what it says. */
static int in_new_namespace(void *arg)
{
    void (*scenario)(void) = (void (*)(void))arg;
    const char *mode = getenv("REL_PIDREUSE_MODE");
    int in_userns = (mode == NULL || strcmp(mode, "ns_last_pid") != 0) && enter_userns() == 0;
    int st = 0, uerr = errno;
    pid_t init;

    if (unshare(CLONE_NEWPID | CLONE_NEWNS) == -1)
        rel_skip("new pid namespaces are not permitted here (%s%s%s)", strerror(errno),
                 in_userns ? "" : "; user namespaces: ", in_userns ? "" : strerror(uerr));
    init = fork();
    rel_checkf(init >= 0, "fork: %s", strerror(errno));
    if (init == 0) {
        ns_init_setup(in_userns);
        scenario();
        _exit(0);
    }
    while (waitpid(init, &st, 0) == -1 && errno == EINTR)
        ;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    rel_fail("init of the new namespace died of signal %d", WTERMSIG(st));
}

#define NS_TEST(name, fn)                                                    \
    Test(pidreuse, name, .timeout = 60)                                      \
    {                                                                        \
        wt_helper();                                                         \
        rel_run_subprocess(in_new_namespace, (void *)(fn), 50);              \
    }

NS_TEST(kill_and_waits_after_ward_reaped, scenario_kill)
NS_TEST(killpg_after_the_leader_was_reaped, scenario_killpg)
NS_TEST(dropped_child_reaped_by_ward_then_reused, scenario_orphan)
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
    rel_run_subprocess(in_new_namespace, (void *)scenario_stolen, 50);
}
