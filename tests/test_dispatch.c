/*
 * test_dispatch.c - what ward_dispatch() costs with many children alive:
 * the wait calls it makes for one exit must not grow with the children
 * that still run.
 *
 * This binary defines waitid(), wait4() and waitpid() itself: each counts
 * the call and passes it on to libc's, so the children are real and every
 * call reaches the kernel; the count is what ward asked of it.  libward
 * calls them through the dynamic linker, which resolves them to the
 * program's definitions first, as it would to an LD_PRELOAD library's.
 * It is a binary of its own so that no other test runs with them.
 * tests/dispatch-posix.test runs it again with WARD_BACKEND=posix.
 */
#define _GNU_SOURCE
#include "common.h"

#include <dlfcn.h>
#include <poll.h>

static atomic_long wait_calls;

int
waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
    static int (*next)(idtype_t, id_t, siginfo_t *, int);

    if (next == NULL)
        next = (int (*)(idtype_t, id_t, siginfo_t *, int))dlsym(RTLD_NEXT, "waitid");
    atomic_fetch_add(&wait_calls, 1);
    return next(idtype, id, info, options);
}

pid_t
wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
    static pid_t (*next)(pid_t, int *, int, struct rusage *);

    if (next == NULL)
        next = (pid_t (*)(pid_t, int *, int, struct rusage *))dlsym(RTLD_NEXT, "wait4");
    atomic_fetch_add(&wait_calls, 1);
    return next(pid, status, options, ru);
}

pid_t
waitpid(pid_t pid, int *status, int options)
{
    static pid_t (*next)(pid_t, int *, int);

    if (next == NULL)
        next = (pid_t (*)(pid_t, int *, int))dlsym(RTLD_NEXT, "waitpid");
    atomic_fetch_add(&wait_calls, 1);
    return next(pid, status, options);
}

WT_SUITE_EVENTS(dispatch);

/* Children kept alive while others end: far more than any per-exit cost. */
enum { ALIVE = 400, EXITS = 20 };

static void
on_exit_cb(ward_child *c, int status, void *data)
{
    int *calls = data;

    (void)c;
    (void)status;
    ++*calls;
}

static int
readable(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static ward_child *alive[ALIVE];

static void
spawn_alive(void)
{
    for (int i = 0; i < ALIVE; i++)
        alive[i] = wt_spawn_ok(NULL, "sleep", "600000");
}

static void
kill_alive(void)
{
    for (int i = 0; i < ALIVE; i++) {
        if (alive[i] != NULL)
            wt_kill_reap(alive[i]);
        alive[i] = NULL;
    }
}

/*
 * One child ends at a time while ALIVE others run; the loop dispatches
 * when the events descriptor says so.  Returns the wait calls made by the
 * dispatches that ran for the EXITS children, and their number in *rounds.
 */
static long
calls_for_exits(int fd, int *rounds)
{
    long total = 0;

    *rounds = 0;
    for (int i = 0; i < EXITS; i++) {
        int calls = 0;
        ward_child *c = wt_spawn_ok(NULL, "exit", "3");
        double end = wt_now_ms() + wt_ms(10000);

        cr_assert_eq(ward_setcallback(c, on_exit_cb, &calls), 0);
        while (calls == 0 && wt_now_ms() < end) {
            long before;
            int r;

            if (!readable(fd, 100))
                continue;
            before = atomic_load(&wait_calls);
            r = ward_dispatch();
            total += atomic_load(&wait_calls) - before;
            ++*rounds;
            cr_assert_geq(r, 0, "ward_dispatch: %s", strerror(errno));
        }
        cr_assert_eq(calls, 1, "the callback of exit %d ran %d times", i, calls);
        wt_reap_exit(c, 3);
    }
    return total;
}

/*
 * The linux backend is told by its descriptors which child ended; the
 * posix backend by a SIGCHLD that names none, and it used to look at every
 * child for each (one wait4 per handle, ALIVE per exit).  Now it looks at
 * the children that have ended, so a few calls per exit are the budget
 * whatever ALIVE is.
 */
Test(dispatch, wait_calls_per_exit_do_not_grow_with_children_alive)
{
    int fd = ward_events_fd(), rounds;
    long total;

    cr_assert_geq(fd, 0, "ward_events_fd: %s", strerror(errno));
    spawn_alive();
    /* Whatever the fixture's warm-up left in the descriptor. */
    while (readable(fd, 0))
        ward_dispatch();
    total = calls_for_exits(fd, &rounds);
    kill_alive();
    cr_log_info("%s backend: %ld wait calls in %d dispatches for %d exits, %d children alive",
                ward_backend(), total, rounds, EXITS, ALIVE);
    cr_assert_leq(total, 4L * rounds,
                  "%ld wait calls in %d dispatches for %d exits with %d children "
                  "alive: ward_dispatch looked at every child",
                  total, rounds, EXITS, ALIVE);
}

/*
 * A child of the program's that has ended and that its code has not waited
 * for yet is the first report a wait for any child sees, in front of
 * ward's: dispatch must find ward's exits all the same, and leave the
 * program's zombie alone.
 */
Test(dispatch, own_zombie_in_front_hides_no_exit)
{
    int fd = ward_events_fd(), st, calls = 0;
    pid_t own = wt_own_child(9, 0);
    siginfo_t si;
    ward_child *c;
    double end = wt_now_ms() + wt_ms(10000);

    cr_assert_geq(fd, 0, "ward_events_fd: %s", strerror(errno));
    /* The program's child is a zombie before ward's is born. */
    memset(&si, 0, sizeof(si));
    cr_assert_eq(waitid(P_PID, (id_t)own, &si, WEXITED | WNOWAIT), 0);
    spawn_alive();
    c = wt_spawn_ok(NULL, "exit", "4");
    cr_assert_eq(ward_setcallback(c, on_exit_cb, &calls), 0);
    while (calls == 0 && wt_now_ms() < end) {
        if (readable(fd, 100))
            cr_assert_geq(ward_dispatch(), 0, "ward_dispatch: %s", strerror(errno));
    }
    cr_assert_eq(calls, 1, "ward's exit behind the program's zombie: %d callbacks", calls);
    wt_reap_exit(c, 4);
    kill_alive();
    /* ward left the program's child to the program. */
    cr_assert_eq(waitpid(own, &st, WNOHANG), own, "waitpid(own): %s", strerror(errno));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 9, "own child's status 0x%x", st);
}
