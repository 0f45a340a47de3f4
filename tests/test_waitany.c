/*
 * test_waitany.c - ward_waitpid() and ward_waitid(): waits for "any child"
 * that never see a private child, pass the program's own children through
 * untouched (exits, stops, continues), and keep a private child's status for
 * its handle when they reap it on the way.  Also what a raw thief (plain
 * waitpid() on a private pid) does to the handle.
 */
#include "common.h"

#include <sched.h>
#include <sys/syscall.h>

WT_SUITE(waitany);

/* ward_waitpid() retried on EINTR. */
static pid_t wpid(pid_t pid, int *st, int options)
{
    pid_t r;

    while ((r = ward_waitpid(pid, st, options)) < 0 && errno == EINTR)
        ;
    return r;
}

/* An own child that stops itself, then waits to be killed. */
static pid_t own_stopper(void)
{
    pid_t pid = fork();

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        raise(SIGSTOP);
        for (;;)
            pause();
    }
    return pid;
}

Test(waitany, minus_one_returns_own_child_not_private)
{
    ward_child *priv = wt_spawn_ok(NULL, "3");
    pid_t own = wt_own_child(9, 200);
    int st = -1;

    cr_assert_eq(wpid(-1, &st, 0), own, "ward_waitpid(-1): %s", strerror(errno));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 9, "status 0x%x", st);
    /*
     * Nothing else to report: the private child is not ours to see.  The
     * posix backend cannot tell a private child from an own one until it
     * has been reaped, so there WNOHANG may say 0 (as in
     * wnohang_with_only_private_children_ended) — on a slow machine the
     * private child may still run here.
     */
    if (wt_posix_backend()) {
        pid_t r = ward_waitpid(-1, &st, WNOHANG);

        cr_assert(r == 0 || (r == -1 && errno == ECHILD),
                  "ward_waitpid(-1, WNOHANG): %ld (%s)", (long)r, strerror(errno));
    } else {
        wt_assert_err(ward_waitpid(-1, &st, WNOHANG), ECHILD);
    }
    /* And it kept its status. */
    wt_reap_exit(priv, 3);
}

Test(waitany, zero_returns_own_child_not_private)
{
    ward_child *priv = wt_spawn_ok(NULL, "4");
    pid_t own = wt_own_child(10, 200);
    int st = -1;

    cr_assert_eq(wpid(0, &st, 0), own, "ward_waitpid(0): %s", strerror(errno));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 10, "status 0x%x", st);
    wt_reap_exit(priv, 4);
}

Test(waitany, pid_returns_own_child)
{
    ward_child *priv = wt_spawn_ok(NULL, "4");
    pid_t own = wt_own_child(11, 50);
    int st = -1;

    cr_assert_eq(wpid(own, &st, 0), own, "ward_waitpid(pid): %s", strerror(errno));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 11, "status 0x%x", st);
    wt_reap_exit(priv, 4);
}

Test(waitany, status_may_be_null)
{
    pid_t own = wt_own_child(1, 0);

    cr_assert_eq(wpid(own, NULL, 0), own, "ward_waitpid: %s", strerror(errno));
}

Test(waitany, negative_pgid)
{
    ward_attr *a = ward_attr_new();
    ward_child *priv;
    pid_t own;
    int st = -1;

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setflags(a, WARD_NEW_PGROUP), 0);
    priv = wt_spawn_ok(a, "5");
    own = fork();
    cr_assert_geq(own, 0);
    if (own == 0) {
        setpgid(0, 0);
        wt_sleep_ms(100);
        _exit(12);
    }
    setpgid(own, own);
    cr_assert_eq(wt_child_ended(priv), 0);
    /* The private child's group holds only it: never reported. */
    pid_t r = wpid(-ward_pid(priv), &st, WNOHANG);
    cr_assert(r == 0 || (r == -1 && errno == ECHILD),
              "ward_waitpid(-private group): %ld (%s)", (long)r, strerror(errno));
    cr_assert_eq(wpid(-own, &st, 0), own, "ward_waitpid(-own group): %s",
                 strerror(errno));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 12, "status 0x%x", st);
    wt_reap_exit(priv, 5);
    ward_attr_free(a);
}

Test(waitany, private_pid_is_echild)
{
    ward_child *priv = wt_spawn_ok(NULL, "sleep", "100", "exit", "6");
    pid_t pid = ward_pid(priv);
    int st = 12345;
    siginfo_t si;

    wt_assert_err(ward_waitpid(pid, &st, 0), ECHILD);
    wt_assert_err(ward_waitpid(pid, &st, WNOHANG), ECHILD);
    wt_assert_err(ward_waitid(P_PID, (id_t)pid, &si, WEXITED), ECHILD);
    /* Also once it has ended. */
    cr_assert_eq(wt_child_ended(priv), 0);
    wt_assert_err(ward_waitpid(pid, &st, 0), ECHILD);
    wt_assert_err(ward_waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG), ECHILD);
    cr_assert_eq(st, 12345);
    wt_reap_exit(priv, 6);
}

/*
 * Only private children: as if there were none, ECHILD, where the backend
 * can tell that no other child exists (Linux, from /proc); the posix
 * backend cannot, and reports "nothing ready" instead.
 */
Test(waitany, wnohang_with_only_private_children_running)
{
    ward_child *priv = wt_spawn_ok(NULL, "sleep", "300");
    siginfo_t si;
    int st = 12345;

    if (wt_posix_backend()) {
        cr_assert_eq(ward_waitpid(-1, &st, WNOHANG), 0, "ward_waitpid(-1): %s",
                     strerror(errno));
        cr_assert_eq(ward_waitpid(0, &st, WNOHANG), 0, "ward_waitpid(0): %s",
                     strerror(errno));
        memset(&si, 0x5a, sizeof si);
        cr_assert_eq(ward_waitid(P_ALL, 0, &si, WEXITED | WNOHANG), 0,
                     "ward_waitid(P_ALL): %s", strerror(errno));
        cr_assert_eq(si.si_pid, 0, "waitid with nothing to report sets si_pid 0");
    } else {
        wt_assert_err(ward_waitpid(-1, &st, WNOHANG), ECHILD);
        wt_assert_err(ward_waitpid(0, &st, WNOHANG), ECHILD);
        wt_assert_err(ward_waitid(P_ALL, 0, &si, WEXITED | WNOHANG), ECHILD);
        wt_assert_err(ward_waitid(P_PGID, 0, &si, WEXITED | WNOHANG), ECHILD);
    }
    cr_assert_eq(st, 12345);
    wt_reap_exit(priv, 0);
}

Test(waitany, blocking_wait_with_only_private_children_is_echild, .timeout = 20)
{
    char ms[24];
    ward_child *run, *ended;
    siginfo_t si;
    int st = 12345;

    if (wt_posix_backend())
        cr_skip_test("the posix backend cannot tell that no other child exists");
    /* The waits may take half the running child's life, not all of it. */
    snprintf(ms, sizeof ms, "%ld", wt_ms(5000));
    run = wt_spawn_ok(NULL, "sleep", ms, "exit", "7");
    ended = wt_spawn_ok(NULL, "exit", "8");
    cr_assert_eq(wt_child_ended(ended), 0);
    /* At once, not after the 5 s child: nothing here is the caller's. */
    double t0 = wt_now_ms();
    wt_assert_err(ward_waitpid(-1, &st, 0), ECHILD);
    wt_assert_err(ward_waitpid(0, &st, 0), ECHILD);
    wt_assert_err(ward_waitid(P_ALL, 0, &si, WEXITED), ECHILD);
    cr_assert_lt(wt_now_ms() - t0, wt_ms(2500), "the waits slept");
    cr_assert_eq(st, 12345);
    /* The private children kept their statuses. */
    wt_reap_exit(ended, 8);
    cr_assert_eq(ward_kill(run, SIGKILL), 0);
    st = wt_wait_ok(run);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
    ward_free(run);

    /* An own child in another process group: a wait for ours is ECHILD. */
    ward_child *priv = wt_spawn_ok(NULL, "sleep", "5000");
    pid_t own = fork();

    cr_assert_geq(own, 0);
    if (own == 0) {
        setpgid(0, 0);
        pause();
        _exit(0);
    }
    (void)setpgid(own, own);
    wt_assert_err(ward_waitpid(0, &st, WNOHANG), ECHILD);
    cr_assert_eq(ward_waitpid(-1, &st, WNOHANG), 0, "ward_waitpid(-1): %s",
                 strerror(errno));
    cr_assert_eq(ward_waitpid(-own, &st, WNOHANG), 0);
    kill(own, SIGKILL);
    cr_assert_eq(ward_waitpid(-1, &st, 0), own);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
    wt_kill_reap(priv);
}

Test(waitany, wnohang_with_only_private_children_ended)
{
    ward_child *p1 = wt_spawn_ok(NULL, "5");
    ward_child *p2 = wt_spawn_ok(NULL, "raise", "TERM");
    int st = 12345;

    cr_assert_eq(wt_child_ended(p1), 0);
    cr_assert_eq(wt_child_ended(p2), 0);
    pid_t r = ward_waitpid(-1, &st, WNOHANG);
    cr_assert(r == 0 || (r == -1 && errno == ECHILD),
              "ward_waitpid(-1, WNOHANG): %ld (%s)", (long)r, strerror(errno));
    cr_assert_eq(st, 12345);
    wt_reap_exit(p1, 5);
    st = wt_wait_ok(p2);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status 0x%x", st);
    ward_free(p2);
}

Test(waitany, no_children_at_all_is_echild, .timeout = 10)
{
    int st;
    siginfo_t si;

    wt_assert_err(ward_waitpid(-1, &st, 0), ECHILD);
    wt_assert_err(ward_waitpid(-1, &st, WNOHANG), ECHILD);
    wt_assert_err(ward_waitpid(0, &st, 0), ECHILD);
    wt_assert_err(ward_waitid(P_ALL, 0, &si, WEXITED), ECHILD);
    /* A reaped private child leaves nothing behind either. */
    ward_child *c = wt_spawn_ok(NULL, "0");
    wt_reap_exit(c, 0);
    wt_assert_err(ward_waitpid(-1, &st, 0), ECHILD);
}

Test(waitany, unknown_options_are_einval)
{
    int st;
    siginfo_t si;

    wt_assert_err(ward_waitpid(-1, &st, 0x100), EINVAL);
    wt_assert_err(ward_waitpid(-1, &st, WNOHANG | 0x10000), EINVAL);
    wt_assert_err(ward_waitid(P_ALL, 0, &si, WEXITED | 0x100), EINVAL);
    /* waitid() needs at least one of WEXITED, WSTOPPED, WCONTINUED. */
    wt_assert_err(ward_waitid(P_ALL, 0, &si, WNOHANG), EINVAL);
}

/* ---- Stops and continues ------------------------------------------------ */

Test(waitany, own_child_stop_and_continue_are_reported)
{
    pid_t own = own_stopper();
    int st = -1;

    cr_assert_eq(wpid(own, &st, WUNTRACED), own, "ward_waitpid(WUNTRACED): %s",
                 strerror(errno));
    cr_assert(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "status 0x%x", st);
    cr_assert_eq(kill(own, SIGCONT), 0);
    cr_assert_eq(wpid(own, &st, WCONTINUED), own, "ward_waitpid(WCONTINUED): %s",
                 strerror(errno));
    cr_assert(WIFCONTINUED(st), "status 0x%x", st);
    cr_assert_eq(kill(own, SIGKILL), 0);
    cr_assert_eq(wpid(own, &st, 0), own);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
}

Test(waitany, private_stop_is_never_reported)
{
    ward_attr *a = ward_attr_new();
    ward_child *priv;
    pid_t own;
    int st = -1;
    char line[32];

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    priv = wt_spawn_ok(a, "echo", "ready", "sleep", "20000");
    cr_assert_eq(wt_read_line(ward_stdio(priv, 1), line, sizeof line), 0);
    cr_assert_eq(ward_kill(priv, SIGSTOP), 0);
    /* Let the stop happen, then look for it with every "any child" form. */
    for (double end = wt_now_ms() + wt_ms(2000); wt_now_ms() < end;) {
        char path[64], stat[512];
        FILE *f;

        snprintf(path, sizeof path, "/proc/%ld/stat", (long)ward_pid(priv));
        f = fopen(path, "re");
        if (f == NULL)
            break;
        size_t n = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[n] = '\0';
        char *rp = strrchr(stat, ')');
        if (rp != NULL && rp[1] == ' ' && rp[2] == 'T')
            break;
        wt_sleep_ms(1);
    }
    st = -1;
    wt_assert_only_private(ward_waitpid(-1, &st, WUNTRACED | WNOHANG));
    wt_assert_only_private(ward_waitpid(0, &st, WUNTRACED | WCONTINUED | WNOHANG));
    cr_assert_eq(st, -1, "the private child's stop was reported");
    /* An own child's stop is reported, the private one's still not. */
    own = own_stopper();
    cr_assert_eq(wpid(-1, &st, WUNTRACED), own, "ward_waitpid(-1, WUNTRACED): %s",
                 strerror(errno));
    cr_assert(WIFSTOPPED(st), "status 0x%x", st);
    cr_assert_eq(ward_kill(priv, SIGCONT), 0);
    cr_assert_eq(kill(own, SIGKILL), 0);
    cr_assert_eq(wpid(-1, &st, WUNTRACED | WCONTINUED), own);
    cr_assert(WIFSIGNALED(st) || WIFCONTINUED(st), "status 0x%x", st);
    if (WIFCONTINUED(st)) {
        cr_assert_eq(wpid(own, &st, 0), own);
    }
    /* Only the (running) private child is left: nothing to report. */
    wt_assert_only_private(ward_waitpid(-1, &st, WNOHANG | WUNTRACED | WCONTINUED));
    wt_kill_reap(priv);
    ward_attr_free(a);
}

/* ---- waitid ------------------------------------------------------------- */

Test(waitany, waitid_all_and_pid)
{
    ward_child *priv = wt_spawn_ok(NULL, "7");
    pid_t own1 = wt_own_child(21, 100);
    pid_t own2 = wt_own_child(22, 0);
    siginfo_t si;

    cr_assert_eq(wt_wait_ended(own2), 0);
    /* WNOWAIT: reported but left in place. */
    memset(&si, 0, sizeof si);
    cr_assert_eq(ward_waitid(P_PID, (id_t)own2, &si, WEXITED | WNOWAIT), 0,
                 "ward_waitid(P_PID, WNOWAIT): %s", strerror(errno));
    cr_assert_eq(si.si_pid, own2);
    cr_assert_eq(si.si_code, CLD_EXITED);
    cr_assert_eq(si.si_status, 22);
    cr_assert(!wt_reaped(own2));
    memset(&si, 0, sizeof si);
    cr_assert_eq(ward_waitid(P_PID, (id_t)own2, &si, WEXITED), 0);
    cr_assert_eq(si.si_pid, own2);
    cr_assert(wt_reaped(own2));
    /* P_ALL finds the other own child, never the private one. */
    memset(&si, 0, sizeof si);
    int r;
    while ((r = ward_waitid(P_ALL, 0, &si, WEXITED)) < 0 && errno == EINTR)
        ;
    cr_assert_eq(r, 0, "ward_waitid(P_ALL): %s", strerror(errno));
    cr_assert_eq(si.si_pid, own1, "ward_waitid(P_ALL) reported pid %ld",
                 (long)si.si_pid);
    cr_assert_eq(si.si_code, CLD_EXITED);
    cr_assert_eq(si.si_status, 21);
    memset(&si, 0, sizeof si);
    /* As above: the posix backend may say 0 while it cannot tell. */
    if (wt_posix_backend()) {
        r = ward_waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
        cr_assert(r == 0 || (r == -1 && errno == ECHILD),
                  "ward_waitid(P_ALL, WNOHANG): %d (%s)", r, strerror(errno));
        cr_assert(r == -1 || si.si_pid == 0, "reported pid %ld", (long)si.si_pid);
    } else {
        wt_assert_err(ward_waitid(P_ALL, 0, &si, WEXITED | WNOHANG), ECHILD);
    }
    wt_reap_exit(priv, 7);
}

Test(waitany, waitid_pgid)
{
    pid_t own = fork();
    siginfo_t si;

    cr_assert_geq(own, 0);
    if (own == 0) {
        setpgid(0, 0);
        _exit(23);
    }
    setpgid(own, own);
    ward_child *priv = wt_spawn_ok(NULL, "8");
    memset(&si, 0, sizeof si);
    int r;
    while ((r = ward_waitid(P_PGID, (id_t)own, &si, WEXITED)) < 0 && errno == EINTR)
        ;
    cr_assert_eq(r, 0, "ward_waitid(P_PGID): %s", strerror(errno));
    cr_assert_eq(si.si_pid, own);
    cr_assert_eq(si.si_status, 23);
    /* Our own group holds only the private child now. */
    memset(&si, 0, sizeof si);
    r = ward_waitid(P_PGID, (id_t)getpgrp(), &si, WEXITED | WNOHANG);
    cr_assert(r == 0 || errno == ECHILD, "ward_waitid: %s", strerror(errno));
    cr_assert_neq(si.si_pid, ward_pid(priv));
    wt_reap_exit(priv, 8);
}

Test(waitany, waitid_private_stop_not_reported)
{
    ward_child *priv = wt_spawn_ok(NULL, "sleep", "20000");
    siginfo_t si;

    cr_assert_eq(ward_kill(priv, SIGSTOP), 0);
    wt_sleep_ms(wt_ms(50)); /* let the stop happen */
    memset(&si, 0, sizeof si);
    wt_assert_only_private(ward_waitid(P_ALL, 0, &si, WSTOPPED | WEXITED | WNOHANG));
    cr_assert_eq(si.si_pid, 0, "a private child's stop was reported");
    wt_kill_reap(priv);
}

#ifdef P_PIDFD
Test(waitany, waitid_pidfd)
{
    pid_t own = wt_own_child(24, 50);
    ward_child *priv = wt_spawn_ok(NULL, "sleep", "100");
    int fd = (int)syscall(SYS_pidfd_open, own, 0);
    siginfo_t si;

    if (fd < 0) {
        int st;
        wpid(own, &st, 0);
        wt_reap_exit(priv, 0);
        cr_skip_test("pidfd_open: %s", strerror(errno));
    }
    memset(&si, 0, sizeof si);
    cr_assert_eq(ward_waitid(P_PIDFD, (id_t)fd, &si, WEXITED), 0,
                 "ward_waitid(P_PIDFD, own): %s", strerror(errno));
    cr_assert_eq(si.si_pid, own);
    cr_assert_eq(si.si_status, 24);
    close(fd);
    /* A private child's pidfd is refused. */
    fd = (int)syscall(SYS_pidfd_open, ward_pid(priv), 0);
    cr_assert_geq(fd, 0);
    wt_assert_err(ward_waitid(P_PIDFD, (id_t)fd, &si, WEXITED), ECHILD);
    close(fd);
    wt_reap_exit(priv, 0);
}
#endif

/* ---- Private children reaped on the way --------------------------------- */

Test(waitany, private_child_reaped_on_the_way_keeps_its_status)
{
    int private = wt_spawns_private();
    ward_child *p1 = wt_spawn_ok(NULL, "3");
    ward_child *p2 = wt_spawn_ok(NULL, "raise", "USR1");
    ward_child *p3 = wt_spawn_ok(NULL, "sleep", "100", "exit", "33");
    pid_t own = wt_own_child(9, 300);
    struct rusage ru;
    int st = -1;

    cr_assert_eq(wt_child_ended(p1), 0);
    cr_assert_eq(wt_child_ended(p2), 0);
    cr_assert_eq(wpid(-1, &st, 0), own, "ward_waitpid(-1): %s", strerror(errno));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 9, "status 0x%x", st);
    /* All three private children ended while ward_waitpid(-1) ran. */
    wt_reap_exit(p1, 3);
    st = wt_wait_ok(p2);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1, "status 0x%x", st);
    /*
     * Reaped by ward, not stolen: the usage is known; a kernel-private
     * child has none (ward_rusage(3)).
     */
    if (private)
        wt_assert_err(ward_rusage(p2, &ru), ENODATA);
    else
        cr_assert_eq(ward_rusage(p2, &ru), 0, "ward_rusage: %s", strerror(errno));
    ward_free(p2);
    wt_reap_exit(p3, 33);
}

struct blocked_waiter {
    pid_t ret;
    int err, status;
    atomic_int done;
};

static void *blocking_waitpid(void *arg)
{
    struct blocked_waiter *w = arg;

    w->ret = wpid(-1, &w->status, 0);
    w->err = errno;
    atomic_store(&w->done, 1);
    return NULL;
}

Test(waitany, blocking_wait_outlives_private_children)
{
    struct blocked_waiter w = {0, 0, -1, 0};
    ward_child *p[3];
    pthread_t t;
    int cue;
    pid_t own = wt_own_child_on_cue(43, &cue);
    p[0] = wt_spawn_ok(NULL, "sleep", "2000");
    cr_assert_eq(pthread_create(&t, NULL, blocking_waitpid, &w), 0);
    p[1] = wt_spawn_ok(NULL, "41");
    p[2] = wt_spawn_ok(NULL, "sleep", "50", "exit", "42");
    cr_assert_eq(wt_child_ended(p[2]) == 0 || errno == ECHILD, 1);
    wt_sleep_ms(wt_ms(100)); /* time for a wrong return to show */
    /* Private children ended: the waiter saw nothing and still waits. */
    cr_assert_eq(atomic_load(&w.done), 0,
                 "ward_waitpid(-1) returned %ld (%s) while an own child ran",
                 (long)w.ret, strerror(w.err));
    close(cue);
    pthread_join(t, NULL);
    cr_assert_eq(w.ret, own, "ward_waitpid(-1) returned %ld (%s)", (long)w.ret,
                 strerror(w.err));
    cr_assert(WIFEXITED(w.status) && WEXITSTATUS(w.status) == 43);
    wt_reap_exit(p[1], 41);
    wt_reap_exit(p[2], 42);
    wt_kill_reap(p[0]);
}

/* ---- A raw thief -------------------------------------------------------- */

Test(waitany, raw_thief_status_recovered_or_echild)
{
    int recovers = wt_recovers_stolen_status();
    ward_child *c = wt_spawn_reapable("13");
    pid_t pid = ward_pid(c), got;
    struct rusage ru;
    int st = -1, st2 = -2, stolen = -1, ew, r, e, r2, e2, rr, er, rk, ek;

    /* Code that bypasses ward entirely takes the status. */
    while ((got = waitpid(pid, &stolen, 0)) == -1 && errno == EINTR)
        ;
    ew = errno;
    r = ward_wait(c, &st);
    e = errno;
    /* The same answer again, no usage, and no signal for a stranger. */
    r2 = ward_wait(c, &st2);
    e2 = errno;
    rr = ward_rusage(c, &ru);
    er = errno;
    rk = ward_kill(c, SIGKILL);
    ek = errno;
    /* Freed before any check: a failed one leaks no pidfd. */
    ward_free(c);

    cr_assert_eq(got, pid, "raw waitpid: %s", strerror(ew));
    cr_assert(WIFEXITED(stolen) && WEXITSTATUS(stolen) == 13, "stolen 0x%x", stolen);
    if (recovers) {
        /* PIDFD_INFO_EXIT: the stolen status is recovered. */
        cr_assert_eq(r, 0, "ward_wait after theft: %s (this kernel keeps the exit "
                     "status on the pidfd)", strerror(e));
        cr_assert_eq(st, stolen, "recovered status 0x%x, true 0x%x", st, stolen);
        cr_assert_eq(r2, 0, "second ward_wait: %s", strerror(e2));
        cr_assert_eq(st2, stolen, "second ward_wait: 0x%x, true 0x%x", st2, stolen);
    } else {
        /* Never success with a made-up status, never a hang. */
        cr_assert_eq(r, -1, "ward_wait after theft returned %d, status 0x%x: "
                     "expected ECHILD", r, st);
        cr_assert_eq(e, ECHILD, "ward_wait after theft: %s", strerror(e));
        cr_assert_eq(st, -1, "status written on failure");
        cr_assert_eq(r2, -1, "second ward_wait returned %d", r2);
        cr_assert_eq(e2, ECHILD, "second ward_wait: %s", strerror(e2));
        cr_assert_eq(st2, -2, "status written on failure");
    }
    cr_assert_eq(rr, -1, "ward_rusage after theft succeeded");
    cr_assert_eq(er, ENODATA, "ward_rusage: %s", strerror(er));
    cr_assert_eq(rk, -1, "ward_kill of a reaped child succeeded");
    cr_assert_eq(ek, ESRCH, "ward_kill: %s", strerror(ek));
}

/* ---- Tracees -------------------------------------------------------------- */

#include <sys/prctl.h>
#include <sys/ptrace.h>

struct tracee_kick {
    pid_t pid;
    int sig;
};

static void *kick_tracee(void *arg)
{
    struct tracee_kick *k = arg;

    wt_sleep_ms(300);
    kill(k->pid, k->sig);
    return NULL;
}

/*
 * A process this process traces (ptrace) without being its parent is waited
 * for like a child: waitpid(-1) without __WALL reports its stops.  With a
 * private child running and no child of the program's own, ward must not
 * answer "only private children" (ECHILD): the tracee is the caller's.
 *
 * The tracee is a grandchild: the child of a private child made by
 * ward_fork(), so that the only child of this process is private.  It lets
 * anyone trace it (PR_SET_PTRACER), which Yama's restricted mode needs.
 */
Test(waitany, tracee_is_waited_for_with_only_private_children, .timeout = 20)
{
    struct tracee_kick kick;
    ward_child *mid;
    pthread_t t;
    pid_t g = -1, m, r;
    int p[2], st = 12345;

    cr_assert_eq(pipe(p), 0);
    m = ward_fork(&mid, 0);
    cr_assert_geq(m, 0, "ward_fork: %s", strerror(errno));
    if (m == 0) {
        pid_t gg;

        close(p[0]);
        if ((gg = fork()) == 0) {
            pid_t me = getpid(), parent = getppid();
            int null = open("/dev/null", O_RDWR);

            /*
             * Should the test fail, nothing may outlive it: the grandchild
             * dies with its parent, which the fixture kills, and holds no
             * pipe of the test runner's open.
             */
            (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
            if (getppid() != parent)
                _exit(1);
            for (int fd = 0; fd < 3 && null != -1; fd++)
                (void)dup2(null, fd);
#ifdef PR_SET_PTRACER
            (void)prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
#endif
            if (write(p[1], &me, sizeof me) != sizeof me)
                _exit(1);
            close(p[1]);
            for (;;)
                pause();
        }
        close(p[1]);
        /* Reap the grandchild once the tracer let go of it. */
        while (gg > 0 && waitpid(gg, NULL, 0) == -1 && errno == EINTR)
            ;
        _exit(0);
    }
    close(p[1]);
    cr_assert_eq(read(p[0], &g, sizeof g), (ssize_t)sizeof g);
    close(p[0]);
    if (ptrace(PTRACE_SEIZE, g, 0, 0) == -1) {
        int e = errno;

        kill(g, SIGKILL);
        wt_reap_exit(mid, 0);
        cr_assert_fail("PTRACE_SEIZE of a grandchild: %s", strerror(e));
    }

    /* The tracee runs: nothing to report, but not ECHILD. */
    r = ward_waitpid(-1, &st, WNOHANG);
    cr_assert_eq(r, 0, "ward_waitpid(-1, WNOHANG) with a tracee: %d (%s)", (int)r,
                 r == -1 ? strerror(errno) : "no error");
    cr_assert_eq(st, 12345);

    /* A blocking wait sleeps until the tracee stops, and reports it. */
    kick.pid = g;
    kick.sig = SIGUSR2;
    cr_assert_eq(pthread_create(&t, NULL, kick_tracee, &kick), 0);
    r = ward_waitpid(-1, &st, 0);
    int e = errno;
    pthread_join(t, NULL);
    cr_assert_eq(r, g, "ward_waitpid(-1) with a tracee: %d (%s)", (int)r,
                 r == -1 ? strerror(e) : "no error");
    cr_assert(WIFSTOPPED(st) && WSTOPSIG(st) == SIGUSR2, "status 0x%x", st);

    /* The same through waitid(P_ALL), for the next stop. */
    siginfo_t si;

    cr_assert_eq(ptrace(PTRACE_CONT, g, 0, 0), 0, "PTRACE_CONT: %s", strerror(errno));
    memset(&si, 0, sizeof si);
    cr_assert_eq(ward_waitid(P_ALL, 0, &si, WEXITED | WSTOPPED | WNOHANG), 0);
    cr_assert_eq(si.si_pid, 0, "a report of pid %d from a running tracee", (int)si.si_pid);
    kick.sig = SIGWINCH;
    cr_assert_eq(pthread_create(&t, NULL, kick_tracee, &kick), 0);
    memset(&si, 0, sizeof si);
    r = ward_waitid(P_ALL, 0, &si, WEXITED | WSTOPPED);
    e = errno;
    pthread_join(t, NULL);
    cr_assert_eq(r, 0, "ward_waitid(P_ALL) with a tracee: %s", strerror(e));
    cr_assert_eq(si.si_pid, g);
    cr_assert_eq(si.si_code, CLD_TRAPPED);
    cr_assert_eq(si.si_status, SIGWINCH);

    /* Let it go and end it; its parent, the private child, reaps it. */
    cr_assert_eq(ptrace(PTRACE_DETACH, g, 0, 0), 0, "PTRACE_DETACH: %s", strerror(errno));
    kill(g, SIGKILL);
    wt_reap_exit(mid, 0);
    /* Nothing of the caller's is left: ECHILD where the backend can tell. */
    ward_child *priv = wt_spawn_ok(NULL, "sleep", "300");

    wt_assert_only_private(ward_waitpid(-1, &st, WNOHANG));
    wt_reap_exit(priv, 0);
}

/* A thief that bypasses libc: the raw wait4 system call on any child. */
struct raw_thief {
    atomic_int stop;
    long thefts;
};

static void *raw_thief_loop(void *arg)
{
    struct raw_thief *t = arg;
    struct rusage ru;
    int st;

    while (!atomic_load(&t->stop)) {
        if (syscall(SYS_wait4, -1, &st, WNOHANG | __WALL, &ru) > 0)
            t->thefts++;
    }
    return NULL;
}

/* What the waits of a run of children gave. */
struct recover_tally {
    int lost, wrong, first_wrong, first_want;
};

/*
 * Spawn n ordinary helpers (wt_spawnv_reapable()), one after the other, that
 * exit with i % 256 (after moving to CPU cpu if cpu >= 0), and wait for
 * each on its handle.
 */
static void recover_run(int n, int cpu, struct recover_tally *t)
{
    memset(t, 0, sizeof(*t));
    for (int i = 0; i < n; i++) {
        char k[16], cpus[16];
        int st = -1, r, e;
        ward_child *c;

        snprintf(k, sizeof(k), "%d", i % 256);
        snprintf(cpus, sizeof(cpus), "%d", cpu);
        c = cpu >= 0 ? wt_spawn_reapable("cpu", cpus, "exit", k)
                     : wt_spawn_reapable(k);
        r = ward_wait(c, &st);
        e = errno;
        ward_free(c);
        if (r == -1) {
            cr_assert_eq(e, ECHILD, "ward_wait: %s", strerror(e));
            t->lost++;
        } else if (!WIFEXITED(st) || WEXITSTATUS(st) != i % 256) {
            if (t->wrong++ == 0) {
                t->first_wrong = st;
                t->first_want = i % 256;
            }
        }
    }
}

/*
 * A raw thief reaps while ward waits on the handles.  Where the kernel
 * keeps the exit status on the pidfd, every stolen status is recovered and
 * is the true one, also when the recovery looks between the thief's reap
 * and the kernel's exit record.  Elsewhere a wait may fail with ECHILD, but
 * never reports a wrong status.
 */
Test(waitany, raw_syscall_thief_never_loses_a_kept_status, .timeout = 60)
{
    struct raw_thief t = { 0, 0 };
    struct recover_tally n;
    int keeps = wt_recovers_stolen_status();
    pthread_t th;

    cr_assert_eq(pthread_create(&th, NULL, raw_thief_loop, &t), 0);
    recover_run(2000, -1, &n);
    atomic_store(&t.stop, 1);
    pthread_join(th, NULL);
    cr_log_info("%ld thefts, %d lost, PIDFD_INFO_EXIT %s", t.thefts, n.lost,
                keeps ? "kept" : "not kept");
    cr_assert_eq(n.wrong, 0, "%d wrong statuses, the first 0x%x for exit %d",
                 n.wrong, n.first_wrong, n.first_want);
    if (keeps)
        cr_assert_eq(n.lost, 0, "%d of 2000 statuses lost (%ld thefts) although "
                     "the kernel keeps them on the pidfd", n.lost, t.thefts);
}

/*
 * The same race with the kernel as the thief: with SIGCHLD ignored the
 * exiting child reaps itself, and ward's waiter, woken by the exit, looks
 * while the child is still releasing itself.  The waiter runs on one CPU
 * and the children on another, so that the two overlap as they would on a
 * busy machine; this makes the race show in most runs.
 */
Test(waitany, sigchld_ignored_never_loses_a_kept_status, .timeout = 60)
{
    struct sigaction sa, old;
    struct recover_tally n;
    cpu_set_t all, one;
    int keeps = wt_recovers_stolen_status();
    int here = -1, there = -1;

    cr_assert_eq(sched_getaffinity(0, sizeof(all), &all), 0);
    for (int i = 0; i < CPU_SETSIZE && there < 0; i++) {
        if (CPU_ISSET(i, &all)) {
            if (here < 0)
                here = i;
            else
                there = i;
        }
    }
    if (there >= 0) {
        CPU_ZERO(&one);
        CPU_SET(here, &one);
        cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    cr_assert_eq(sigaction(SIGCHLD, &sa, &old), 0);
    recover_run(1500, there, &n);
    sigaction(SIGCHLD, &old, NULL);
    sched_setaffinity(0, sizeof(all), &all);
    cr_log_info("%d lost, PIDFD_INFO_EXIT %s", n.lost, keeps ? "kept" : "not kept");
    cr_assert_eq(n.wrong, 0, "%d wrong statuses, the first 0x%x for exit %d",
                 n.wrong, n.first_wrong, n.first_want);
    if (keeps)
        cr_assert_eq(n.lost, 0, "%d of 1500 statuses lost although the kernel "
                     "keeps them on the pidfd", n.lost);
}

/*
 * ward_waitpid(3): a SIGCHLD handler may call these functions, as it may
 * call waitpid(2), while its thread is inside one of them.  A thread that
 * waits for any child (its own loop, WNOHANG) is sent SIGCHLD by another
 * thread every few microseconds, and its handler waits for any child too:
 * the handler must never wait for the spawn gate the interrupted wait has
 * just taken, or is taking.  Each round has a private child and a child
 * of the program's to wait for, which the loop or the handler reports.
 */
static atomic_int nested_runs, nested_stop;

static void nested_wait_handler(int sig)
{
    int st, e = errno;

    (void)sig;
    atomic_fetch_add(&nested_runs, 1);
    while (ward_waitpid(-1, &st, WNOHANG) > 0)
        ;
    errno = e;
}

static void *nested_sender(void *arg)
{
    pid_t tid = *(pid_t *)arg;
    struct timespec pause = { 0, 3000 };

    while (!atomic_load(&nested_stop)) {
        if (syscall(SYS_tgkill, getpid(), tid, SIGCHLD) == -1)
            break;
        nanosleep(&pause, NULL);
    }
    return NULL;
}

Test(waitany, handler_waits_for_any_child_while_its_thread_does, .timeout = 60)
{
    pid_t tid = (pid_t)syscall(SYS_gettid);
    struct sigaction sa;
    pthread_t th;
    sigset_t chld, old;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = nested_wait_handler;
    sa.sa_flags = SA_RESTART;
    cr_assert_eq(sigaction(SIGCHLD, &sa, NULL), 0);
    /* Only this thread takes SIGCHLD: the sender keeps it blocked. */
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    cr_assert_eq(pthread_sigmask(SIG_BLOCK, &chld, &old), 0);
    cr_assert_eq(pthread_create(&th, NULL, nested_sender, &tid), 0);
    cr_assert_eq(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
    for (int i = 0; i < 300; i++) {
        ward_child *c = wt_spawn_ok(NULL, "exit", "0");
        pid_t pid = fork();
        int st;

        cr_assert_neq(pid, -1);
        if (pid == 0)
            _exit(0);
        /* Until only the private child is left: ECHILD. */
        while (ward_waitpid(-1, &st, WNOHANG) != -1 || errno != ECHILD)
            ;
        wt_reap_exit(c, 0);
    }
    atomic_store(&nested_stop, 1);
    pthread_join(th, NULL);
    signal(SIGCHLD, SIG_DFL);
    cr_assert_gt(atomic_load(&nested_runs), 300, "the handler ran only %d times",
                 atomic_load(&nested_runs));
}
