/*
 * test_events.c - exit callbacks, ward_events_fd() and ward_dispatch(), and
 * what becomes of a status stolen by code that does not go through ward.
 */
#include "common.h"

#include <poll.h>

WT_SUITE_EVENTS(events);

struct seen {
    int calls;
    int status;
    ward_child *child;
    int free_it;
};

static void
on_exit_cb(ward_child *c, int status, void *data)
{
    struct seen *s = data;

    s->calls++;
    s->status = status;
    s->child = c;
    if (s->free_it)
        ward_free(c);
}

static int
readable(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* Run the loop until n callbacks have run or 10 s (times the slowdown) pass. */
static void
loop_until(int fd, const int *calls, int n)
{
    double end = wt_now_ms() + wt_ms(10000);

    while (*calls < n && wt_now_ms() < end) {
        if (readable(fd, 100))
            cr_assert_geq(ward_dispatch(), 0, "ward_dispatch: %s", strerror(errno));
    }
    cr_assert_eq(*calls, n, "%d of %d callbacks ran", *calls, n);
}

Test(events, callback_runs_once_from_dispatch)
{
    struct seen s = { 0 };
    int fd = ward_events_fd();
    ward_child *c;

    cr_assert_geq(fd, 0, "ward_events_fd: %s", strerror(errno));
    c = wt_spawn_ok(NULL, "exit", "7");
    cr_assert_eq(ward_setcallback(c, on_exit_cb, &s), 0);
    loop_until(fd, &s.calls, 1);
    cr_assert(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 7, "status 0x%x", s.status);
    cr_assert_eq(s.child, c);
    /* Level-triggered, and quiet once dispatched. */
    cr_assert_not(readable(fd, 0), "events fd still readable after dispatch");
    cr_assert_eq(ward_dispatch(), 0);
    cr_assert_eq(s.calls, 1);
    cr_assert_eq(ward_events_fd(), fd, "the events descriptor changed");
    wt_reap_exit(c, 7);
}

Test(events, callback_after_wait_still_runs_once)
{
    struct seen s = { 0 };
    ward_child *c = wt_spawn_ok(NULL, "exit", "3");
    int st = wt_wait_ok(c);

    cr_assert_eq(ward_setcallback(c, on_exit_cb, &s), 0);
    cr_assert_eq(ward_dispatch(), 1);
    cr_assert_eq(s.status, st);
    cr_assert_eq(ward_dispatch(), 0);
    cr_assert_eq(s.calls, 1);
    ward_free(c);
}

Test(events, reaped_by_wait_before_dispatch)
{
    struct seen s = { 0 };
    ward_child *c = wt_spawn_ok(NULL, "exit", "4");

    cr_assert_eq(ward_setcallback(c, on_exit_cb, &s), 0);
    wt_wait_ok(c);
    cr_assert_eq(ward_dispatch(), 1);
    cr_assert(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 4);
    ward_free(c);
}

Test(events, null_callback_cancels)
{
    struct seen s = { 0 };
    ward_child *c = wt_spawn_ok(NULL, "exit", "1");

    cr_assert_eq(ward_setcallback(c, on_exit_cb, &s), 0);
    wt_wait_ok(c);
    cr_assert_eq(ward_setcallback(c, NULL, NULL), 0);
    cr_assert_eq(ward_dispatch(), 0);
    cr_assert_eq(s.calls, 0);
    ward_free(c);
}

Test(events, free_cancels_pending_callback)
{
    struct seen s = { 0 };
    ward_child *c = wt_spawn_ok(NULL, "exit", "1");

    cr_assert_eq(ward_setcallback(c, on_exit_cb, &s), 0);
    wt_wait_ok(c);
    ward_free(c);
    cr_assert_eq(ward_dispatch(), 0);
    cr_assert_eq(s.calls, 0);
}

Test(events, callback_may_free_its_handle)
{
    struct seen s = { .free_it = 1 };
    int fd = ward_events_fd();
    ward_child *c = wt_spawn_ok(NULL, "exit", "9");

    cr_assert_eq(ward_setcallback(c, on_exit_cb, &s), 0);
    loop_until(fd, &s.calls, 1);
    cr_assert(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 9);
}

Test(events, many_children_one_loop)
{
    enum { N = 200 };
    static struct seen s[N];
    int fd = ward_events_fd(), calls = 0;

    for (int i = 0; i < N; i++) {
        char code[8];
        ward_child *c;

        snprintf(code, sizeof(code), "%d", i % 120);
        c = wt_spawn_ok(NULL, "exit", code);
        s[i].free_it = 1;
        cr_assert_eq(ward_setcallback(c, on_exit_cb, &s[i]), 0);
    }
    for (double end = wt_now_ms() + wt_ms(20000); wt_now_ms() < end;) {
        calls = 0;
        for (int i = 0; i < N; i++)
            calls += s[i].calls;
        if (calls == N)
            break;
        if (readable(fd, 100))
            ward_dispatch();
    }
    cr_assert_eq(calls, N);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(s[i].calls, 1);
        cr_assert(WIFEXITED(s[i].status) && WEXITSTATUS(s[i].status) == i % 120,
                  "child %d: status 0x%x", i, s[i].status);
    }
}

Test(events, events_fd_wakes_for_children_spawned_before_it)
{
    struct seen s = { 0 };
    ward_child *c = wt_spawn_ok(NULL, "sleep", "50", "exit", "5");
    int fd;

    cr_assert_eq(ward_setcallback(c, on_exit_cb, &s), 0);
    fd = ward_events_fd();
    cr_assert_geq(fd, 0);
    loop_until(fd, &s.calls, 1);
    wt_reap_exit(c, 5);
}

Test(events, errors)
{
    cr_assert_eq(ward_setcallback(NULL, on_exit_cb, NULL), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(ward_dispatch(), 0);
}

/* ---- stolen statuses ---------------------------------------------------- */

/*
 * Where a thief took the status, ward recovers it (linux backend, a kernel
 * that keeps it on the pidfd: wt_recovers_stolen_status()) or fails with
 * ECHILD; nothing else.  What the calls give is recorded first and checked
 * after ward_free(), so that a failed check leaks no pidfd.
 */

/*
 * Reap pid behind ward's back, the way a SIGCHLD handler in a program does.
 * Returns 0 and the status it took, or an errno value.
 */
static int
steal(pid_t pid, int *status)
{
    pid_t r;

    if (wt_wait_ended(pid) != 0)
        return errno;
    while ((r = waitpid(pid, status, 0)) == -1 && errno == EINTR)
        ;
    return r == pid ? 0 : r == -1 ? errno : EPROTO;
}

/* One call: what it returned, its errno, the status it wrote. */
struct outcome {
    int r, err, status;
};

#define RECORD(o, call)                                                      \
    do {                                                                     \
        errno = 0;                                                           \
        (o).r = (call);                                                      \
        (o).err = errno;                                                     \
    } while (0)

/* The call succeeded and gave the status the thief took. */
static void
assert_recovered(const char *what, struct outcome o, int stolen)
{
    cr_assert_eq(o.r, 0, "%s after theft: %s (this kernel keeps the exit status "
                 "on the pidfd, so ward must recover it)", what, strerror(o.err));
    cr_assert_eq(o.status, stolen, "%s: recovered status 0x%x, the thief got 0x%x",
                 what, o.status, stolen);
}

/* The call failed with ECHILD and left the status alone. */
static void
assert_lost(const char *what, struct outcome o, int untouched)
{
    cr_assert_eq(o.r, -1, "%s after theft returned %d, status 0x%x: expected "
                 "ECHILD (no exit status to recover here)", what, o.r, o.status);
    cr_assert_eq(o.err, ECHILD, "%s: errno %d (%s), expected ECHILD", what, o.err,
                 strerror(o.err));
    cr_assert_eq(o.status, untouched, "%s wrote status 0x%x on failure", what,
                 o.status);
}

Test(events, stolen_status_recovered_or_echild)
{
    int recovers = wt_recovers_stolen_status();
    ward_child *c = wt_spawn_reapable("exit", "42");
    struct outcome w1 = {0, 0, -1}, w2 = {0, 0, -1}, tw = {0, 0, -1};
    struct outcome ru = {0, 0, -1}, sig = {0, 0, -1};
    int stolen = -1, theft;

    theft = steal(ward_pid(c), &stolen);
    RECORD(w1, ward_wait(c, &w1.status));
    /* Every later call says the same; none reports 0 or hangs. */
    RECORD(w2, ward_wait(c, &w2.status));
    RECORD(tw, ward_trywait(c, &tw.status));
    RECORD(ru, ward_rusage(c, &(struct rusage){ 0 }));
    RECORD(sig, ward_kill(c, SIGTERM));
    ward_free(c);

    cr_assert_eq(theft, 0, "the thief's waitpid: %s", strerror(theft));
    cr_assert(WIFEXITED(stolen) && WEXITSTATUS(stolen) == 42, "stolen 0x%x", stolen);
    cr_log_info("stolen status on the %s backend: %s", ward_backend(),
                recovers ? "recovered from the pidfd" : "lost (ECHILD)");
    if (recovers) {
        assert_recovered("ward_wait", w1, stolen);
        assert_recovered("second ward_wait", w2, stolen);
        assert_recovered("ward_trywait", tw, stolen);
    } else {
        assert_lost("ward_wait", w1, -1);
        assert_lost("second ward_wait", w2, -1);
        assert_lost("ward_trywait", tw, -1);
    }
    /* Either way, no resource usage: the thief got that. */
    cr_assert_eq(ru.r, -1, "ward_rusage after theft succeeded");
    cr_assert_eq(ru.err, ENODATA, "ward_rusage: errno %s", strerror(ru.err));
    cr_assert_eq(sig.r, -1, "ward_kill of a reaped child succeeded");
    cr_assert_eq(sig.err, ESRCH, "ward_kill: errno %s", strerror(sig.err));
}

Test(events, stolen_status_forced_old_kernel_path)
{
    struct outcome w = {0, 0, -1};
    ward_child *c;
    int stolen = -1, theft;

    /*
     * Read at each recovery, in this test's process.  On the posix backend,
     * which never recovers, the answer is the same.
     */
    setenv("WARD_NO_PIDFD_INFO", "1", 1);
    cr_assert_not(wt_recovers_stolen_status());
    c = wt_spawn_reapable("exit", "42");
    theft = steal(ward_pid(c), &stolen);
    RECORD(w, ward_wait(c, &w.status));
    ward_free(c);
    cr_assert_eq(theft, 0, "the thief's waitpid: %s", strerror(theft));
    assert_lost("ward_wait", w, -1);
}

Test(events, stolen_status_reaches_callback)
{
    int recovers = wt_recovers_stolen_status();
    struct seen s = { 0 };
    ward_child *c = wt_spawn_reapable("exit", "6");
    int set, dispatched, again, same, stolen = -1, theft;

    set = ward_setcallback(c, on_exit_cb, &s);
    theft = steal(ward_pid(c), &stolen);
    dispatched = ward_dispatch();
    again = ward_dispatch();
    same = s.child == c;
    ward_free(c);

    cr_assert_eq(set, 0, "ward_setcallback failed");
    cr_assert_eq(theft, 0, "the thief's waitpid: %s", strerror(theft));
    cr_assert(WIFEXITED(stolen) && WEXITSTATUS(stolen) == 6, "stolen 0x%x", stolen);
    cr_assert_eq(dispatched, 1, "ward_dispatch ran %d callbacks", dispatched);
    cr_assert_eq(again, 0, "a second ward_dispatch ran %d callbacks", again);
    cr_assert_eq(s.calls, 1);
    cr_assert(same, "the callback got another handle");
    cr_log_info("stolen status on the %s backend: %s", ward_backend(),
                recovers ? "recovered from the pidfd" : "lost (-1)");
    if (recovers)
        cr_assert_eq(s.status, stolen, "callback status 0x%x, the thief got 0x%x "
                     "(this kernel keeps it on the pidfd)", s.status, stolen);
    else
        cr_assert_eq(s.status, -1, "callback status 0x%x, expected -1 (lost)",
                     s.status);
}

/*
 * A handler the program set before ward's events descriptor existed.  On
 * the posix backend ward's own handler goes in front of it and calls it:
 * as the kernel would, with the program's sa_mask blocked, and once only
 * under SA_RESETHAND.  On Linux the kernel runs it itself; the same holds.
 */
static volatile sig_atomic_t prior_runs, prior_masked;

static void
prior_handler(int sig)
{
    sigset_t now;

    (void)sig;
    prior_runs++;
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    prior_masked = sigismember(&now, SIGUSR2) == 1;
}

static void
prior_init(int flags)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = prior_handler;
    sa.sa_flags = SA_RESTART | flags;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    cr_assert_eq(sigaction(SIGCHLD, &sa, NULL), 0);
    wt_init_events();
}

static void
prior_init_mask(void)
{
    prior_init(0);
}

static void
prior_init_oneshot(void)
{
    prior_init(SA_RESETHAND);
}

static void
prior_fini(void)
{
    signal(SIGCHLD, SIG_DFL);
    wt_fini();
}

/*
 * One child of the program's, ended and reaped; then wait up to ms for the
 * handler to run (the signal may land a moment after the wait returns).
 */
static void
own_child_ends(int ms)
{
    int st, before = prior_runs;
    pid_t p = fork();
    double end = wt_now_ms() + wt_ms(ms);

    cr_assert_geq(p, 0);
    if (p == 0)
        _exit(0);
    while (waitpid(p, &st, 0) == -1)
        cr_assert_eq(errno, EINTR);
    while (prior_runs == before && wt_now_ms() < end)
        usleep(1000);
}

TestSuite(prior, .timeout = WT_TIMEOUT);

Test(prior, handler_set_before_ward_runs_with_its_mask, .init = prior_init_mask,
     .fini = prior_fini)
{
    ward_child *c = wt_spawn_ok(NULL, "exit", "3");

    wt_reap_exit(c, 3);
    own_child_ends(10000);
    cr_assert_geq(prior_runs, 1, "the program's handler never ran (%s backend)", ward_backend());
    cr_assert(prior_masked, "SIGUSR2, in its sa_mask, was not blocked while it ran (%s backend)",
              ward_backend());
}

Test(prior, handler_set_before_ward_with_sa_resethand_runs_once, .init = prior_init_oneshot,
     .fini = prior_fini)
{
    /* Without libward-guard, a private child's SIGCHLD (the fixture's) may have run it. */
    own_child_ends(prior_runs == 0 ? 10000 : 300);
    cr_assert_eq(prior_runs, 1);
    own_child_ends(300);
    own_child_ends(300);
    cr_assert_eq(prior_runs, 1, "a one-shot handler ran %d times (%s backend)", (int)prior_runs,
                 ward_backend());
}
