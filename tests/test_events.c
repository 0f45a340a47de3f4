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

/* Run the loop until n callbacks have run or 10 s pass. */
static void
loop_until(int fd, const int *calls, int n)
{
    double end = wt_now_ms() + 10000;

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
    for (double end = wt_now_ms() + 20000; wt_now_ms() < end;) {
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

/* Reap pid behind ward's back, the way a SIGCHLD handler in a program does. */
static void
steal(pid_t pid)
{
    int st;

    cr_assert_eq(wt_wait_ended(pid), 0);
    cr_assert_eq(waitpid(pid, &st, 0), pid, "waitpid: %s", strerror(errno));
}

Test(events, stolen_status_recovered_or_echild)
{
    ward_child *c = wt_spawn_ok(NULL, "exit", "42");
    int st = -1, r, e;

    steal(ward_pid(c));
    r = ward_wait(c, &st);
    e = errno;
    if (!wt_posix_backend() && getenv("WARD_NO_PIDFD_INFO") == NULL) {
        /* Linux 6.15 and later keep the exit status on the pidfd. */
        cr_assert_eq(r, 0, "ward_wait after theft: %s", strerror(e));
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 42, "recovered 0x%x", st);
        cr_assert_eq(ward_wait(c, &st), 0);
        cr_assert_eq(WEXITSTATUS(st), 42);
        cr_assert_eq(ward_rusage(c, &(struct rusage){ 0 }), -1);
        cr_assert_eq(errno, ENODATA);
    } else {
        cr_assert_eq(r, -1);
        cr_assert_eq(e, ECHILD, "errno %s", strerror(e));
        cr_assert_eq(st, -1, "status written on failure");
        /* Every later wait says the same; none reports 0 or hangs. */
        cr_assert_eq(ward_wait(c, &st), -1);
        cr_assert_eq(errno, ECHILD);
        cr_assert_eq(ward_trywait(c, &st), -1);
        cr_assert_eq(errno, ECHILD);
        cr_assert_eq(ward_rusage(c, &(struct rusage){ 0 }), -1);
        cr_assert_eq(errno, ENODATA);
    }
    cr_assert_eq(ward_kill(c, SIGTERM), -1);
    cr_assert_eq(errno, ESRCH);
    ward_free(c);
}

Test(events, stolen_status_forced_old_kernel_path)
{
    ward_child *c;
    int st = -1;

    if (wt_posix_backend())
        cr_skip_test("the posix backend never recovers a stolen status");
    /* Read when the backend starts, which is in this test's process. */
    setenv("WARD_NO_PIDFD_INFO", "1", 1);
    c = wt_spawn_ok(NULL, "exit", "42");
    steal(ward_pid(c));
    cr_assert_eq(ward_wait(c, &st), -1);
    cr_assert_eq(errno, ECHILD);
    cr_assert_eq(st, -1);
    ward_free(c);
}

Test(events, stolen_status_reaches_callback)
{
    struct seen s = { 0 };
    ward_child *c = wt_spawn_ok(NULL, "exit", "6");

    cr_assert_eq(ward_setcallback(c, on_exit_cb, &s), 0);
    steal(ward_pid(c));
    cr_assert_eq(ward_dispatch(), 1);
    if (wt_posix_backend())
        cr_assert_eq(s.status, -1);
    else
        cr_assert(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 6);
    ward_free(c);
}
