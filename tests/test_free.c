/*
 * test_free.c - ward_free(): a child dropped while it runs is reaped by ward
 * later and never stays a zombie once ward runs again; WARD_KILL_ON_FREE
 * kills and reaps at once; pipe ends are closed unless they were taken.
 */
#include "common.h"

WT_SUITE(free);

/*
 * Dropped kernel-private children (Linux 7.1 and later), by pid, each with
 * a pidfd of the test's own: no wait sees such a child, so its end is seen
 * on that pidfd, which hangs up once the kernel has released it.
 */
#define MAX_DROPPED 32
static struct {
    pid_t pid;
    int fd;
} dropped_fds[MAX_DROPPED];
static int ndropped;

/* Free c's handle while its child runs; return its pid. */
static pid_t drop(ward_child *c)
{
    pid_t pid = ward_pid(c);

    cr_assert_gt(pid, 0);
    if (wt_spawns_private()) {
        cr_assert_lt(ndropped, MAX_DROPPED);
        dropped_fds[ndropped].pid = pid;
        dropped_fds[ndropped].fd = fcntl(ward_pidfd(c), F_DUPFD_CLOEXEC, 3);
        cr_assert_geq(dropped_fds[ndropped].fd, 0, "dup: %s", strerror(errno));
        ndropped++;
    }
    ward_free(c);
    return pid;
}

/* The handle is freed while the child runs; return its pid. */
static pid_t spawn_and_drop(const char *ms)
{
    (void)wt_spawns_private();
    return drop(wt_spawn_ok(NULL, "sleep", ms));
}

/*
 * Block until pid has ended: a zombie or already reaped by ward, or, for a
 * kernel-private child, released by the kernel (and then its pid is gone).
 */
static void ended(pid_t pid)
{
    for (int i = 0; i < ndropped; i++) {
        if (dropped_fds[i].pid == pid && dropped_fds[i].fd >= 0) {
            struct pollfd pfd = {.fd = dropped_fds[i].fd, .events = 0};

            while (poll(&pfd, 1, -1) == -1 && errno == EINTR)
                ;
            cr_assert(pfd.revents & POLLHUP, "pidfd of %ld: revents 0x%x", (long)pid,
                      pfd.revents);
            close(dropped_fds[i].fd);
            dropped_fds[i].fd = -1;
            cr_assert(wt_reaped(pid) && wt_gone(pid), "kernel-private child %ld released "
                      "but still there", (long)pid);
            return;
        }
    }
    int r = wt_wait_ended(pid);

    cr_assert(r == 0 || errno == ECHILD, "waitid(%ld): %s", (long)pid,
              strerror(errno));
}

Test(free, null_is_a_no_op)
{
    ward_free(NULL);
}

Test(free, running_child_reaped_by_next_waitpid)
{
    pid_t pid = spawn_and_drop("100");
    int st = 12345;
    pid_t r;

    ended(pid);
    r = ward_waitpid(-1, &st, WNOHANG);
    cr_assert_neq(r, pid, "ward_waitpid(-1) reported the private child");
    cr_assert(r == 0 || (r == -1 && errno == ECHILD), "ward_waitpid: %ld (%s)",
              (long)r, strerror(errno));
    cr_assert(wt_reaped(pid), "dropped child %ld is still a zombie after "
              "ward_waitpid()", (long)pid);
}

Test(free, running_child_reaped_by_next_waitid)
{
    pid_t pid = spawn_and_drop("100");
    siginfo_t si;
    int r;

    ended(pid);
    memset(&si, 0, sizeof si);
    r = ward_waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
    cr_assert(r == 0 || errno == ECHILD, "ward_waitid: %s", strerror(errno));
    cr_assert_neq(si.si_pid, pid, "ward_waitid(P_ALL) reported the private child");
    cr_assert(wt_reaped(pid), "dropped child %ld is still a zombie after "
              "ward_waitid()", (long)pid);
}

Test(free, running_child_reaped_by_next_spawn)
{
    pid_t pid = spawn_and_drop("100");

    ended(pid);
    ward_child *c = wt_spawn_ok(NULL, "0");
    cr_assert(wt_reaped(pid), "dropped child %ld is still a zombie after "
              "ward_spawn()", (long)pid);
    wt_reap_exit(c, 0);
}

Test(free, running_child_reaped_by_next_fork)
{
    pid_t pid = spawn_and_drop("100");
    ward_child *c = NULL;
    pid_t f;

    ended(pid);
    f = ward_fork(&c, 0);
    cr_assert_geq(f, 0, "ward_fork: %s", strerror(errno));
    if (f == 0)
        _exit(0);
    cr_assert(wt_reaped(pid), "dropped child %ld is still a zombie after "
              "ward_fork()", (long)pid);
    wt_reap_exit(c, 0);
}

Test(free, child_ending_after_the_call_is_reaped_by_a_later_one)
{
    pid_t pid = spawn_and_drop("300");
    int st;

    /* Still running: nothing to report, nothing to reap yet. */
    wt_assert_only_private(ward_waitpid(-1, &st, WNOHANG));
    ended(pid);
    ward_child *c = wt_spawn_ok(NULL, "0");
    cr_assert(wt_reaped(pid), "dropped child %ld still a zombie", (long)pid);
    wt_reap_exit(c, 0);
}

Test(free, many_dropped_children)
{
    enum { N = 20 };
    pid_t pids[N];
    int st;

    for (int i = 0; i < N; i++)
        pids[i] = spawn_and_drop("50");
    for (int i = 0; i < N; i++)
        ended(pids[i]);
    pid_t r = ward_waitpid(-1, &st, WNOHANG);
    cr_assert(r == 0 || (r == -1 && errno == ECHILD), "ward_waitpid: %ld (%s)",
              (long)r, strerror(errno));
    for (int i = 0; i < N; i++)
        cr_assert(wt_reaped(pids[i]), "dropped child %d (%ld) still a zombie", i,
                  (long)pids[i]);
}

Test(free, dropped_child_does_not_show_in_a_blocking_waitpid)
{
    pid_t dropped = spawn_and_drop("50");
    int st = -1;
    pid_t r;

    /*
     * The dropped child is let end first (a zombie, unreaped), so that the
     * blocking wait below meets it whatever the machine's speed.
     */
    ended(dropped);
    pid_t own = wt_own_child(7, 300);

    while ((r = ward_waitpid(-1, &st, 0)) < 0 && errno == EINTR)
        ;
    cr_assert_eq(r, own, "ward_waitpid(-1) returned %ld (%s), own child %ld, "
                 "dropped private child %ld",
                 (long)r, strerror(errno), (long)own, (long)dropped);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 7, "status 0x%x", st);
    cr_assert(wt_reaped(dropped));
}

Test(free, stdin_pipe_closed_so_child_sees_eof)
{
    ward_attr *a = ward_attr_new();
    ward_child *c;
    pid_t pid;

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setstdio(a, 0, WARD_STDIO_PIPE, -1), 0);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_NULL, -1), 0);
    (void)wt_spawns_private();
    c = wt_spawn_ok(a, "cat");
    /* cat ends only when ward_free() closes the write end of its stdin. */
    pid = drop(c);
    ended(pid);
    int st;
    pid_t r = ward_waitpid(-1, &st, WNOHANG);
    cr_assert(r == 0 || (r == -1 && errno == ECHILD));
    cr_assert(wt_reaped(pid));
    ward_attr_free(a);
}

/* ---- WARD_KILL_ON_FREE -------------------------------------------------- */

Test(free, kill_on_free_kills_and_reaps_at_once)
{
    ward_attr *a = ward_attr_new();
    ward_child *c;
    pid_t pid;

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setflags(a, WARD_KILL_ON_FREE), 0);
    c = wt_spawn_ok(a, "ignore", "TERM", "sleep", "20000");
    pid = ward_pid(c);
    ward_free(c);
    cr_assert(wt_reaped(pid), "KILL_ON_FREE child %ld not reaped by ward_free()",
              (long)pid);
    cr_assert(wt_gone(pid), "KILL_ON_FREE child %ld still exists", (long)pid);
    ward_attr_free(a);
}

Test(free, kill_on_free_with_new_pgroup)
{
    ward_attr *a = ward_attr_new();
    ward_child *c;
    pid_t pid;

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setflags(a, WARD_KILL_ON_FREE | WARD_NEW_PGROUP), 0);
    c = wt_spawn_ok(a, "sleep", "20000");
    pid = ward_pid(c);
    ward_free(c);
    cr_assert(wt_reaped(pid) && wt_gone(pid));
    ward_attr_free(a);
}

Test(free, kill_on_free_after_exit_is_harmless)
{
    ward_attr *a = ward_attr_new();
    ward_child *c;

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setflags(a, WARD_KILL_ON_FREE), 0);
    c = wt_spawn_ok(a, "5");
    int st = wt_wait_ok(c);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 5);
    ward_free(c);
    /* Ended but never waited for through ward. */
    c = wt_spawn_ok(a, "6");
    pid_t pid = ward_pid(c);
    cr_assert_eq(wt_child_ended(c), 0);
    ward_free(c);
    cr_assert(wt_reaped(pid));
    ward_attr_free(a);
}

Test(free, kill_on_free_fork_child)
{
    ward_child *c = NULL;
    pid_t pid = ward_fork(&c, WARD_KILL_ON_FREE);

    cr_assert_geq(pid, 0, "ward_fork: %s", strerror(errno));
    if (pid == 0) {
        for (;;)
            pause();
    }
    cr_assert_not_null(c);
    ward_free(c);
    cr_assert(wt_reaped(pid), "KILL_ON_FREE fork child not reaped by ward_free()");
    cr_assert(wt_gone(pid));
}

/* ---- Pipe ends ---------------------------------------------------------- */

Test(free, pipe_ends_closed_by_free)
{
    ward_attr *a = ward_attr_new();
    int fds[3];

    cr_assert_not_null(a);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ward_attr_setstdio(a, i, WARD_STDIO_PIPE, -1), 0);
    ward_child *c = wt_spawn_ok(a, "0");
    for (int i = 0; i < 3; i++) {
        fds[i] = ward_stdio(c, i);
        cr_assert_geq(fds[i], 0);
        cr_assert_geq(fcntl(fds[i], F_GETFD), 0);
    }
    (void)wt_wait_ok(c);
    /* Still owned by the handle after the wait. */
    for (int i = 0; i < 3; i++)
        cr_assert_geq(fcntl(fds[i], F_GETFD), 0, "pipe end %d closed by the wait", i);
    ward_free(c);
    for (int i = 0; i < 3; i++) {
        errno = 0;
        cr_assert_eq(fcntl(fds[i], F_GETFD), -1, "pipe end %d not closed by "
                     "ward_free()", i);
        cr_assert_eq(errno, EBADF);
    }
    ward_attr_free(a);
}

Test(free, taken_pipe_end_survives_free)
{
    ward_attr *a = ward_attr_new();
    int out, err;
    char buf[64];

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    cr_assert_eq(ward_attr_setstdio(a, 2, WARD_STDIO_PIPE, -1), 0);
    ward_child *c = wt_spawn_ok(a, "echo", "kept", "echoerr", "dropped");
    out = ward_stdio_take(c, 1);
    cr_assert_geq(out, 0, "ward_stdio_take: %s", strerror(errno));
    err = ward_stdio(c, 2);
    cr_assert_geq(err, 0);
    (void)wt_wait_ok(c);
    ward_free(c);
    /* The taken end is ours, open and readable; the other one is closed. */
    cr_assert_geq(fcntl(out, F_GETFD), 0, "taken pipe end closed by ward_free()");
    wt_read_all(out, buf, sizeof buf);
    cr_assert_str_eq(buf, "kept\n");
    cr_assert_eq(close(out), 0);
    errno = 0;
    cr_assert_eq(fcntl(err, F_GETFD), -1);
    cr_assert_eq(errno, EBADF);
    ward_attr_free(a);
}

Test(free, taken_pipe_end_survives_free_while_running)
{
    ward_attr *a = ward_attr_new();
    int in, out;
    char buf[64];

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setstdio(a, 0, WARD_STDIO_PIPE, -1), 0);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    ward_child *c = wt_spawn_ok(a, "cat");
    pid_t pid = ward_pid(c);
    in = ward_stdio_take(c, 0);
    out = ward_stdio_take(c, 1);
    cr_assert(in >= 0 && out >= 0);
    ward_free(c);
    /* The child still runs and talks to us through the taken ends. */
    wt_write_all(in, "still here\n");
    close(in);
    wt_read_all(out, buf, sizeof buf);
    close(out);
    cr_assert_str_eq(buf, "still here\n");
    ended(pid);
    ward_child *d = wt_spawn_ok(NULL, "0");
    cr_assert(wt_reaped(pid));
    wt_reap_exit(d, 0);
    ward_attr_free(a);
}
