/*
 * test_guard.c - libward-guard against code that cannot be changed.
 *
 * This binary is linked with libward-guard, so libc's wait family and
 * signal()/sigaction() for SIGCHLD are the guard's for the whole process,
 * as for a program started with LD_PRELOAD.  The thieves below are written
 * as such programs are: they call waitpid(-1), wait() and signal() from
 * libc, knowing nothing of ward.
 */
#include "common.h"

#include <ev.h>
#include <poll.h>

#include "ward/ev.h"

WT_SUITE_EVENTS(guard);

static pid_t own[64];
static int nown;
static volatile sig_atomic_t handler_runs, reaped_own, reaped_private;

static int
is_own(pid_t pid)
{
    for (int i = 0; i < nown; i++)
        if (own[i] == pid)
            return 1;
    return 0;
}

/* The classic thief: a SIGCHLD handler that reaps every child it can. */
static void
reaping_handler(int sig)
{
    int e = errno, st;
    pid_t pid;

    (void)sig;
    handler_runs++;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        if (is_own(pid))
            reaped_own++;
        else
            reaped_private++;
    }
    errno = e;
}

/* Fork a child of the program's own, recorded before any handler can see it. */
static pid_t
fork_own(int code)
{
    sigset_t chld, old;
    pid_t pid;

    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    pid = fork();
    if (pid == 0)
        _exit(code);
    if (pid > 0)
        own[nown++] = pid;
    sigprocmask(SIG_SETMASK, &old, NULL);
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    return pid;
}

static int
wait_retry(ward_child *c, int *st)
{
    int r;

    while ((r = ward_wait(c, st)) == -1 && errno == EINTR)
        ;
    return r;
}

Test(guard, sigchld_handler_never_reaps_a_private_child)
{
    enum { N = 300 };

    cr_assert_neq(signal(SIGCHLD, reaping_handler), SIG_ERR);
    for (int i = 0; i < N; i++) {
        char code[8];
        ward_child *c;
        int st = -1;

        if (i % 10 == 0)
            fork_own(3);
        snprintf(code, sizeof(code), "%d", i % 100);
        c = wt_spawn_ok(NULL, "exit", code);
        cr_assert_eq(wait_retry(c, &st), 0, "child %d: %s", i, strerror(errno));
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == i % 100, "child %d: 0x%x", i, st);
        ward_free(c);
    }
    for (double end = wt_now_ms() + wt_ms(10000); reaped_own < nown && wt_now_ms() < end;)
        wt_sleep_ms(10);
    signal(SIGCHLD, SIG_DFL);
    cr_assert_eq(reaped_private, 0, "the handler reaped %d private children", (int)reaped_private);
    cr_assert_eq(reaped_own, nown, "the handler reaped %d of %d own children",
                 (int)reaped_own, nown);
}

struct exit_seen {
    int calls;
    int status;
};

static void
record_exit(ward_child *c, int status, void *data)
{
    struct exit_seen *s = data;

    (void)c;
    s->calls++;
    s->status = status;
}

/*
 * The guard's handler reaps private children into their slots to look past
 * them, so no wait sees their exits afterwards: ward_dispatch must still
 * run every callback, with every status, while the program's reaping
 * handler takes its own children and others stay alive.
 */
Test(guard, dispatch_finds_exits_the_handler_took)
{
    enum { N = 100, ALIVE = 100 };
    static struct exit_seen seen[N];
    static ward_child *kids[N], *alive[ALIVE];
    int fd = ward_events_fd(), calls = 0;

    cr_assert_geq(fd, 0, "ward_events_fd: %s", strerror(errno));
    cr_assert_neq(signal(SIGCHLD, reaping_handler), SIG_ERR);
    for (int i = 0; i < ALIVE; i++)
        alive[i] = wt_spawn_ok(NULL, "sleep", "600000");
    for (int i = 0; i < N; i++) {
        char code[8];

        if (i % 10 == 0)
            fork_own(3);
        snprintf(code, sizeof(code), "%d", i % 100);
        kids[i] = wt_spawn_ok(NULL, "exit", code);
        cr_assert_eq(ward_setcallback(kids[i], record_exit, &seen[i]), 0);
    }
    for (double end = wt_now_ms() + wt_ms(20000); wt_now_ms() < end;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };

        calls = 0;
        for (int i = 0; i < N; i++)
            calls += seen[i].calls;
        if (calls == N)
            break;
        if (poll(&p, 1, 100) == 1)
            cr_assert_geq(ward_dispatch(), 0, "ward_dispatch: %s", strerror(errno));
    }
    for (int i = 0; i < ALIVE; i++)
        wt_kill_reap(alive[i]);
    for (double end = wt_now_ms() + wt_ms(10000); reaped_own < nown && wt_now_ms() < end;)
        wt_sleep_ms(10);
    signal(SIGCHLD, SIG_DFL);
    for (int i = 0; i < N; i++)
        ward_free(kids[i]);
    cr_assert_eq(calls, N, "%d of %d callbacks ran", calls, N);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(seen[i].calls, 1, "child %d: %d callbacks", i, seen[i].calls);
        cr_assert(WIFEXITED(seen[i].status) && WEXITSTATUS(seen[i].status) == i % 100,
                  "child %d: status 0x%x", i, seen[i].status);
    }
    cr_assert_eq(reaped_private, 0, "the handler reaped %d private children", (int)reaped_private);
    cr_assert_eq(reaped_own, nown, "the handler reaped %d of %d own children",
                 (int)reaped_own, nown);
}

/*
 * A thief the guard cannot stop: the wait4 system call itself, for any
 * child, with no SIGCHLD handler of its own.  It takes a private child
 * before the guard's handler runs (SIGCHLD is blocked meanwhile), while
 * another private child still runs, so that a wait for any child neither
 * fails with ECHILD nor reports an exit.  The stolen child's callback must
 * still run (with the status recovered from the pidfd, or -1 where it is
 * lost), and without waiting for exits that may never come: on the posix
 * backend nothing names it, and only a look at every handle finds it.
 */
Test(guard, dispatch_finds_a_child_a_raw_wait_took)
{
    int recovers = wt_recovers_stolen_status();
    static struct exit_seen seen;
    ward_child *alive = wt_spawn_ok(NULL, "sleep", "600000");
    ward_child *c = wt_spawn_reapable("sleep", "600000");
    sigset_t chld, old;
    siginfo_t si;
    int fd = ward_events_fd(), st = -1;
    long thief;

    cr_assert_geq(fd, 0, "ward_events_fd: %s", strerror(errno));
    cr_assert_eq(ward_setcallback(c, record_exit, &seen), 0);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    cr_assert_eq(sigprocmask(SIG_BLOCK, &chld, &old), 0);
    cr_assert_eq(ward_kill(c, SIGKILL), 0);
    /* Raw too: the guard's waitid() hides a private child. */
    do {
        memset(&si, 0, sizeof(si));
        thief = syscall(SYS_waitid, P_PID, (long)ward_pid(c), &si, WEXITED | WNOWAIT, NULL);
    } while (thief == -1 && errno == EINTR);
    cr_assert_eq(thief, 0, "waitid: %s", strerror(errno));
    while ((thief = syscall(SYS_wait4, -1, &st, WNOHANG, NULL)) == -1 && errno == EINTR)
        ;
    cr_assert_eq(thief, (long)ward_pid(c), "the thief took %ld, not %ld", thief,
                 (long)ward_pid(c));
    cr_assert_eq(sigprocmask(SIG_SETMASK, &old, NULL), 0);
    for (double end = wt_now_ms() + wt_ms(10000); seen.calls == 0 && wt_now_ms() < end;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };

        if (poll(&p, 1, 100) == 1)
            cr_assert_geq(ward_dispatch(), 0, "ward_dispatch: %s", strerror(errno));
    }
    wt_kill_reap(alive);
    ward_free(c);
    cr_assert_eq(seen.calls, 1, "the stolen child's callback ran %d times", seen.calls);
    cr_assert_eq(seen.status, recovers ? st : -1,
                 "callback status 0x%x (the thief got 0x%x)", seen.status, st);
}

static void
counting_handler(int sig)
{
    (void)sig;
    handler_runs++;
}

/*
 * Once the program has a SIGCHLD handler the guard's is in the kernel, and
 * runs for every child's exit.  When it runs none of the program's (a
 * private child ended), a sleep it interrupted is not the caller's:
 * ward_wait and ward_timedwait sleep on, on every backend.  The handler is
 * installed without SA_RESTART, so that even ward_wait's sleep is
 * interrupted.
 */
Test(guard, own_handler_does_not_interrupt_ward_waits)
{
    enum { N = 8 };
    struct sigaction sa, old;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = counting_handler;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGCHLD, &sa, &old), 0);
    for (int round = 0; round < 2; round++) {
        ward_child *shorts[N], *c;
        char delay[32];
        int r, st = -1;

        /* Private children that end one by one while the wait sleeps. */
        for (int k = 0; k < N; k++) {
            snprintf(delay, sizeof(delay), "%ld", wt_ms(30 * (k + 1)));
            shorts[k] = wt_spawn_ok(NULL, "sleep", delay);
        }
        snprintf(delay, sizeof(delay), "%ld", wt_ms(30 * N + 400));
        c = wt_spawn_ok(NULL, "sleep", delay);
        if (round == 0) {
            struct timespec deadline;

            clock_gettime(CLOCK_MONOTONIC, &deadline);
            deadline.tv_sec += wt_ms(30000) / 1000;
            r = ward_timedwait(c, &st, &deadline);
        } else {
            r = ward_wait(c, &st);
        }
        cr_assert_eq(r, 0, "%s failed: %s", round == 0 ? "ward_timedwait" : "ward_wait",
                     strerror(errno));
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
        ward_free(c);
        for (int k = 0; k < N; k++)
            wt_reap_exit(shorts[k], 0);
    }
    cr_assert_eq(handler_runs, 0, "handler ran %d times for private children", (int)handler_runs);
    cr_assert_eq(sigaction(SIGCHLD, &old, NULL), 0);
}

Test(guard, handler_not_run_for_private_children)
{
    struct sigaction sa, old;
    int st;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = counting_handler;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGCHLD, &sa, &old), 0);
    for (int i = 0; i < 50; i++)
        wt_reap_exit(wt_spawn_ok(NULL, "exit", "1"), 1);
    wt_sleep_ms(wt_ms(50)); /* time for a stray SIGCHLD to arrive */
    cr_assert_eq(handler_runs, 0, "handler ran %d times for private children", (int)handler_runs);
    /* ... and is run for the program's own. */
    pid_t pid = fork_own(0);
    for (double end = wt_now_ms() + wt_ms(5000); handler_runs == 0 && wt_now_ms() < end;)
        wt_sleep_ms(5);
    cr_assert_geq(handler_runs, 1);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    /* The previous action is reported as the program set it. */
    cr_assert_eq(sigaction(SIGCHLD, &old, &sa), 0);
    cr_assert_eq((void *)sa.sa_handler, (void *)counting_handler);
}

Test(guard, waits_for_a_private_pid_fail_with_echild)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "100");
    siginfo_t si;
    int st;

    cr_assert_eq(waitpid(ward_pid(c), &st, 0), -1);
    cr_assert_eq(errno, ECHILD);
    cr_assert_eq(waitid(P_PID, (id_t)ward_pid(c), &si, WEXITED), -1);
    cr_assert_eq(errno, ECHILD);
    cr_assert_eq(wait4(ward_pid(c), &st, 0, NULL), -1);
    cr_assert_eq(errno, ECHILD);
    wt_reap_exit(c, 0);
}

Test(guard, blocking_wait_returns_own_child_not_private)
{
    char ms[24];
    ward_child *fast = wt_spawn_ok(NULL, "exit", "5");
    ward_child *slow;
    pid_t pid;
    int st;

    /* wait() must answer well before the slow child ends, however slow the machine. */
    snprintf(ms, sizeof ms, "%ld", wt_ms(300));
    slow = wt_spawn_ok(NULL, "sleep", ms, "exit", "6");

    wt_child_ended(fast);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        usleep(100000);
        _exit(8);
    }
    cr_assert_eq(wait(&st), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 8);
    /* Only private children are left: for the program, no child at all. */
    if (wt_posix_backend()) {
        cr_assert_eq(waitpid(-1, &st, WNOHANG), 0);
    } else {
        double t0 = wt_now_ms();

        cr_assert_eq(waitpid(-1, &st, WNOHANG), -1);
        cr_assert_eq(errno, ECHILD);
        cr_assert_eq(wait(&st), -1, "wait() with only private children");
        cr_assert_eq(errno, ECHILD);
        cr_assert_lt(wt_now_ms() - t0, wt_ms(200), "wait() slept on private children");
    }
    wt_reap_exit(fast, 5);
    wt_reap_exit(slow, 6);
    cr_assert_eq(waitpid(-1, &st, WNOHANG), -1);
    cr_assert_eq(errno, ECHILD);
}

Test(guard, own_stop_and_continue_pass_through)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "200");
    pid_t pid = fork();
    int st;

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        for (;;)
            pause();
    }
    kill(pid, SIGSTOP);
    cr_assert_eq(waitpid(-1, &st, WUNTRACED), pid);
    cr_assert(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
    kill(pid, SIGCONT);
    cr_assert_eq(waitpid(-1, &st, WCONTINUED), pid);
    cr_assert(WIFCONTINUED(st));
    kill(pid, SIGKILL);
    cr_assert_eq(waitpid(-1, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    wt_reap_exit(c, 0);
}

Test(guard, sig_ign_reaps_own_children_only)
{
    ward_child *c;
    pid_t pid;
    int st;

    cr_assert_neq(signal(SIGCHLD, SIG_IGN), SIG_ERR);
    pid = fork_own(0);
    c = wt_spawn_ok(NULL, "exit", "12");
    for (double end = wt_now_ms() + wt_ms(5000); !wt_reaped(pid) && wt_now_ms() < end;)
        wt_sleep_ms(5);
    cr_assert(wt_reaped(pid), "own child left a zombie under SIG_IGN");
    cr_assert_eq(wait_retry(c, &st), 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 12, "0x%x", st);
    ward_free(c);
    signal(SIGCHLD, SIG_DFL);
}

static atomic_int stop_thief, thief_got_private;

static void *
thief_thread(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_thief)) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);

        if (pid > 0 && !is_own(pid))
            atomic_fetch_add(&thief_got_private, 1);
    }
    return NULL;
}

Test(guard, thread_looping_on_waitpid)
{
    pthread_t t;

    cr_assert_eq(pthread_create(&t, NULL, thief_thread, NULL), 0);
    for (int i = 0; i < 300; i++) {
        char code[8];
        ward_child *c;
        int st;

        snprintf(code, sizeof(code), "%d", i % 50);
        c = wt_spawn_ok(NULL, "exit", code);
        cr_assert_eq(wait_retry(c, &st), 0);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == i % 50);
        ward_free(c);
    }
    atomic_store(&stop_thief, 1);
    pthread_join(t, NULL);
    cr_assert_eq(thief_got_private, 0);
}

/* ---- libev ------------------------------------------------------------- */

static int ev_private_done, ev_own_status = -1;

static void
private_done(ward_child *c, int status, void *data)
{
    int *want = data;

    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == *want, "0x%x", status);
    ev_private_done++;
    ward_free(c);
}

static void
own_done(struct ev_loop *loop, ev_child *w, int revents)
{
    (void)revents;
    ev_own_status = w->rstatus;
    ev_child_stop(loop, w);
}

static void
timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

Test(guard, libev_loop_with_child_watcher)
{
    enum { N = 40 };
    static int codes[N];
    struct ev_loop *loop = ev_default_loop(0);
    ev_child cw;
    ev_timer tw;
    pid_t pid;

    cr_assert_not_null(loop);
    cr_assert_eq(ward_ev_attach(loop), 0, "ward_ev_attach: %s", strerror(errno));
    cr_assert_eq(ward_ev_attach(loop), -1);
    cr_assert_eq(errno, EALREADY);
    for (int i = 0; i < N; i++) {
        char code[8];
        ward_child *c;

        codes[i] = 20 + i;
        snprintf(code, sizeof(code), "%d", codes[i]);
        c = wt_spawn_ok(NULL, "exit", code);
        cr_assert_eq(ward_setcallback(c, private_done, &codes[i]), 0);
    }
    pid = fork_own(77);
    ev_child_init(&cw, own_done, pid, 0);
    ev_child_start(loop, &cw);
    ev_timer_init(&tw, timeout_cb, (double)wt_ms(15000) / 1000.0, 0.);
    ev_timer_start(loop, &tw);
    while (ev_private_done < N || ev_own_status == -1) {
        if (!ev_run(loop, EVRUN_ONCE) || !ev_is_active(&tw))
            break;
    }
    ev_timer_stop(loop, &tw);
    cr_assert_eq(ward_ev_detach(loop), 0);
    cr_assert_eq(ev_private_done, N, "%d of %d private callbacks", ev_private_done, N);
    cr_assert(WIFEXITED(ev_own_status) && WEXITSTATUS(ev_own_status) == 77,
              "ev_child got 0x%x", ev_own_status);
    ev_loop_destroy(loop);
}

static void *
idle_thread(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_thief))
        wt_sleep_ms(5);
    return NULL;
}

/*
 * With a second thread, the SIGCHLD of a child that exits right after its
 * birth may reach that thread before the spawn has recorded the child.
 */
Test(guard, handler_not_run_for_private_children_with_other_threads)
{
    struct sigaction sa;
    pthread_t t;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = counting_handler;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGCHLD, &sa, NULL), 0);
    cr_assert_eq(pthread_create(&t, NULL, idle_thread, NULL), 0);
    for (int i = 0; i < 500; i++) {
        ward_child *c = wt_spawn_ok(NULL, "exit", "2");
        int st;

        cr_assert_eq(wait_retry(c, &st), 0);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2);
        ward_free(c);
    }
    wt_sleep_ms(wt_ms(50)); /* time for a stray SIGCHLD to arrive */
    atomic_store(&stop_thief, 1);
    pthread_join(t, NULL);
    signal(SIGCHLD, SIG_DFL);
    cr_assert_eq(handler_runs, 0, "handler ran %d times for private children", (int)handler_runs);
}

/*
 * A vfork() child shares the parent's memory but not its signal actions;
 * CPython's _posixsubprocess resets SIGCHLD in such a child before exec.
 * The parent's action, as the guard keeps it, must not change.
 */
Test(guard, vfork_child_sigaction_leaves_parent_action)
{
    struct sigaction sa, cur;
    pid_t pid;
    int st;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = counting_handler;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGCHLD, &sa, NULL), 0);
    pid = vfork();
    if (pid == 0) {
        struct sigaction dfl, prev;

        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        if (sigaction(SIGCHLD, &dfl, &prev) != 0)
            _exit(2);
        /* The child sees the action it inherited, as without the guard. */
        _exit(prev.sa_handler == counting_handler ? 0 : 3);
    }
    cr_assert_geq(pid, 0, "vfork: %s", strerror(errno));
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "vfork child: 0x%x", st);
    cr_assert_eq(sigaction(SIGCHLD, NULL, &cur), 0);
    cr_assert_eq((void *)cur.sa_handler, (void *)counting_handler,
                 "the vfork child changed the parent's SIGCHLD action");
    /* And the handler still runs for the program's own children. */
    handler_runs = 0;
    pid = fork_own(0);
    for (double end = wt_now_ms() + wt_ms(5000); handler_runs == 0 && wt_now_ms() < end;)
        wt_sleep_ms(5);
    cr_assert_geq(handler_runs, 1, "the parent's handler no longer runs");
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    signal(SIGCHLD, SIG_DFL);
}

static void *
sigaction_thread(void *arg)
{
    struct sigaction sa;

    (void)arg;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = counting_handler;
    sigemptyset(&sa.sa_mask);
    while (!atomic_load(&stop_thief))
        (void)sigaction(SIGCHLD, &sa, NULL);
    return NULL;
}

/*
 * One thread forks while others change SIGCHLD's action: a child must never
 * inherit a lock of the guard's that a thread it lacks was holding.
 */
Test(guard, fork_while_threads_set_sigchld_action)
{
    enum { N = 1000, T = 2 };
    pthread_t t[T];
    int hung = -1;

    /*
     * Up to N forks, within half the test's time: on a loaded machine the
     * two spinning threads make each fork slow, and a run cut short still
     * checks every fork it made (a hang is a child stuck for 3 s).
     */
    double budget = wt_now_ms() + wt_ms(15000);
    int done = 0;

    for (int i = 0; i < T; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, sigaction_thread, NULL), 0);
    for (int i = 0; i < N && hung == -1 && wt_now_ms() < budget; i++, done++) {
        pid_t pid = fork();
        int st;

        if (pid == 0) {
            struct sigaction sa;

            memset(&sa, 0, sizeof(sa));
            sa.sa_handler = SIG_DFL;
            sigemptyset(&sa.sa_mask);
            _exit(sigaction(SIGCHLD, &sa, NULL) == 0 ? 0 : 1);
        }
        cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
        for (double end = wt_now_ms() + wt_ms(3000);;) {
            pid_t r = waitpid(pid, &st, WNOHANG);

            if (r == pid) {
                cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: 0x%x", i, st);
                break;
            }
            cr_assert_eq(r, 0, "waitpid: %s", strerror(errno));
            if (wt_now_ms() > end) {
                hung = i;
                kill(pid, SIGKILL);
                cr_assert_eq(waitpid(pid, &st, 0), pid);
                break;
            }
            sched_yield();
        }
    }
    atomic_store(&stop_thief, 1);
    for (int i = 0; i < T; i++)
        pthread_join(t[i], NULL);
    signal(SIGCHLD, SIG_DFL);
    cr_assert_eq(hung, -1, "child %d hung in sigaction(SIGCHLD)", hung);
    cr_assert_geq(done, 50, "only %d forks in the time allowed", done);
}

static volatile sig_atomic_t info_runs, info_code, info_value;

static void
info_handler(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    info_code = si->si_code;
    info_value = si->si_value.sival_int;
    info_runs++;
}

static void
wait_info_runs(int n)
{
    for (double end = wt_now_ms() + wt_ms(5000); info_runs < n && wt_now_ms() < end;)
        wt_sleep_ms(1);
}

/* A SIGCHLD that no child sent is the program's to receive. */
Test(guard, sigchld_sent_by_the_program_reaches_its_handler)
{
    struct sigaction sa;
    union sigval v;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGCHLD, &sa, NULL), 0);
    /* A private child with a report pending must not hide it either. */
    ward_child *c = wt_spawn_ok(NULL, "exit", "4");

    wt_child_ended(c);
    cr_assert_eq(raise(SIGCHLD), 0);
    wait_info_runs(1);
    cr_assert_eq(info_runs, 1, "raise(SIGCHLD) ran the handler %d times", (int)info_runs);
#ifdef SI_TKILL
    cr_assert_eq(info_code, SI_TKILL);
#endif
    cr_assert_eq(kill(getpid(), SIGCHLD), 0);
    wait_info_runs(2);
    cr_assert_eq(info_runs, 2, "kill(SIGCHLD) ran the handler %d times", (int)info_runs);
    cr_assert_eq(info_code, SI_USER);
    v.sival_int = 4242;
    cr_assert_eq(sigqueue(getpid(), SIGCHLD, v), 0);
    wait_info_runs(3);
    cr_assert_eq(info_runs, 3, "sigqueue(SIGCHLD) ran the handler %d times", (int)info_runs);
    cr_assert_eq(info_code, SI_QUEUE);
    cr_assert_eq(info_value, 4242);
    wt_reap_exit(c, 4);
    signal(SIGCHLD, SIG_DFL);
}

/*
 * With SIGCHLD at SIG_DFL nothing interrupts a sleep when a child exits;
 * under the guard neither a private child's exit nor the program's own may.
 */
Test(guard, child_exits_do_not_interrupt_sleeps_under_sig_dfl)
{
    /*
     * This suite opens the events descriptor, which on the posix backend
     * is a self-pipe only a SIGCHLD handler can fill: a program that asks
     * for it accepts the handler's EINTRs (see ward_events_fd(3)).
     */
    if (wt_posix_backend())
        return;
    for (int round = 0; round < 2; round++) {
        ward_child *c = wt_spawn_ok(NULL, "sleep", "30");
        pid_t pid = fork();
        double t0;
        int st, r;

        cr_assert_geq(pid, 0);
        if (pid == 0) {
            usleep(30000);
            _exit(0);
        }
        t0 = wt_now_ms();
        /* Long enough for both children to end during it, however slow the machine. */
        if (round == 0) {
            struct timespec ts = { wt_ms(300) / 1000, wt_ms(300) % 1000 * 1000000L };

            r = nanosleep(&ts, NULL);
        } else {
            r = poll(NULL, 0, (int)wt_ms(300));
        }
        cr_assert_eq(r, 0, "%s failed after %.0f ms: %s", round == 0 ? "nanosleep" : "poll",
                     wt_now_ms() - t0, strerror(errno));
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        wt_reap_exit(c, 0);
    }
}

/*
 * With SIGCHLD ignored the kernel reaps the program's children itself: a
 * wait for one blocks until it has ended, then fails with ECHILD.
 */
Test(guard, sig_ign_waits_fail_with_echild)
{
    cr_assert_neq(signal(SIGCHLD, SIG_IGN), SIG_ERR);
    for (int i = 0; i < 20; i++) {
        pid_t pid = fork();
        siginfo_t si;
        int st = -1, r;

        cr_assert_geq(pid, 0);
        if (pid == 0) {
            usleep(20000);
            _exit(9);
        }
        if (i % 3 == 0)
            r = (int)waitpid(pid, &st, 0);
        else if (i % 3 == 1)
            r = (int)wait(&st);
        else
            r = waitid(P_ALL, 0, &si, WEXITED);
        cr_assert_eq(r, -1, "wait %d returned %d (status 0x%x) under SIG_IGN", i, r, st);
        cr_assert_eq(errno, ECHILD);
        cr_assert(wt_reaped(pid));
    }
    signal(SIGCHLD, SIG_DFL);
}

/*
 * A child of the program's stops and is not waited for: its SIGCHLD ran
 * the handler once, and later private exits must not run it again.
 */
Test(guard, stopped_own_child_does_not_rerun_handler_for_private_exits)
{
    struct sigaction sa;
    pid_t pid;
    int st;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGCHLD, &sa, NULL), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        raise(SIGSTOP);
        _exit(0);
    }
    wait_info_runs(1);
    cr_assert_eq(info_runs, 1);
    cr_assert_eq(info_code, CLD_STOPPED);
    for (int i = 0; i < 10; i++)
        wt_reap_exit(wt_spawn_ok(NULL, "exit", "3"), 3);
    wt_sleep_ms(wt_ms(50)); /* time for a stray SIGCHLD to arrive */
    cr_assert_eq(info_runs, 1, "the handler ran %d times for one stop", (int)info_runs);
    /* A new report of that child runs it again. */
    kill(pid, SIGKILL);
    wait_info_runs(2);
    cr_assert_eq(info_runs, 2);
    cr_assert_eq(info_code, CLD_KILLED);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    signal(SIGCHLD, SIG_DFL);
}

static atomic_int own_forker_stop;

/* The program's own children, one after another, from a thread that takes no signal. */
static void *own_forker(void *arg)
{
    sigset_t all;

    (void)arg;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    while (!atomic_load(&own_forker_stop)) {
        pid_t p = fork();

        if (p == 0)
            _exit(0);
        if (p < 0)
            break;
        usleep(100);
    }
    return NULL;
}

static void reap_own_nohang(int sig)
{
    int st, e = errno;

    (void)sig;
    while (waitpid(-1, &st, WNOHANG) > 0)
        ;
    errno = e;
}

/*
 * The classic handler (waitpid(-1, WNOHANG) in a loop) runs in the thread
 * that is in ward_wait, while that thread may hold its child's claim word
 * outside ward's lock: the handler's wait must neither reap the private
 * child nor wait for the word the interrupted thread holds.
 */
Test(guard, handler_waiting_for_any_child_in_a_waiting_thread, .timeout = 120)
{
    struct sigaction sa, old;
    pthread_t th;
    int st;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = reap_own_nohang;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGCHLD, &sa, &old), 0);
    atomic_store(&own_forker_stop, 0);
    cr_assert_eq(pthread_create(&th, NULL, own_forker, NULL), 0);
    for (int i = 0; i < 1500; i++) {
        ward_child *c = wt_spawn_ok(NULL, "exit", "5");

        wt_reap_exit(c, 5);
    }
    atomic_store(&own_forker_stop, 1);
    pthread_join(th, NULL);
    cr_assert_eq(sigaction(SIGCHLD, &old, NULL), 0);
    while (waitpid(-1, &st, 0) > 0)
        ;
}

/*
 * fork() runs its atfork handlers (ward's takes ward's lock) before it
 * takes malloc's locks.  A SIGCHLD handler that waits for any child, run
 * in a thread that was inside malloc at that moment, must not wait for
 * ward's lock: the forking thread holds it and waits for malloc's, which
 * the interrupted thread holds.  Run in a process of its own, which is
 * killed if it hangs.
 */
static atomic_int storm_stop;
static atomic_long storm_forks;
static useconds_t storm_pace;
static volatile sig_atomic_t storm_reaped;

static void *
storm_forker(void *arg)
{
    sigset_t all;

    (void)arg;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    while (!atomic_load(&storm_stop)) {
        pid_t p = fork();

        if (p == 0)
            _exit(0);
        if (p < 0) {
            usleep(1000);
            continue;
        }
        atomic_fetch_add(&storm_forks, 1);
        /*
         * A handler that reaps one child per signal falls behind as
         * signals merge: paced, so that its zombies do not fill the
         * pid space.
         */
        if (storm_pace)
            usleep(storm_pace);
    }
    return NULL;
}

static void
storm_handler(int sig)
{
    int e = errno, st;

    (void)sig;
    while (waitpid(-1, &st, WNOHANG) > 0)
        storm_reaped++;
    errno = e;
}

/* The System V way: the handler puts itself back first (sigaction()). */
static void
storm_handler_sysv(int sig)
{
    int e = errno;

    signal(SIGCHLD, storm_handler_sysv);
    errno = e;
    storm_handler(sig);
}

/* The classic blocking one: the guard runs it when a child of the program's has a report. */
static void
storm_handler_blocking(int sig)
{
    int e = errno, st;

    (void)sig;
    if (wait(&st) > 0)
        storm_reaped++;
    errno = e;
}

/* Private children from ward_fork(), one after another, in a thread that takes no signal. */
static atomic_int storm_ward_forks_bad;

static void *
storm_ward_forker(void *arg)
{
    sigset_t all;

    (void)arg;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    while (!atomic_load(&storm_stop)) {
        ward_child *c;
        pid_t p = ward_fork(&c, 0);
        int st;

        if (p == 0)
            _exit(5);
        if (p < 0) {
            usleep(1000);
            continue;
        }
        if (ward_wait(c, &st) != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 5)
            atomic_store(&storm_ward_forks_bad, 1);
        ward_free(c);
    }
    return NULL;
}

/* 0: all the program's children reaped, every private one's status kept. */
static int
storm(void (*handler)(int), int with_ward_fork)
{
    struct sigaction sa;
    struct timespec end, now;
    pthread_t th, wth;
    void *p[8];
    int st;
    long n = 0;

    storm_pace = with_ward_fork ? 200 : 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGCHLD, &sa, NULL) != 0 ||
        pthread_create(&th, NULL, storm_forker, NULL) != 0)
        return 10;
    if (with_ward_fork && pthread_create(&wth, NULL, storm_ward_forker, NULL) != 0)
        return 10;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += with_ward_fork ? 6 : 3;
    do {
        for (int i = 0; i < 8; i++)
            if ((p[i] = malloc(32 + (size_t)i * 700)) != NULL)
                memset(p[i], i, 32);
        for (int i = 0; i < 8; i++)
            free(p[i]);
        if (++n % 512 == 0) {
            ward_child *c = wt_spawn(NULL, "exit", "5");

            if (c == NULL)
                return 11;
            if (ward_wait(c, &st) != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 5)
                return 12;
            ward_free(c);
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec < end.tv_sec ||
             (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
    atomic_store(&storm_stop, 1);
    pthread_join(th, NULL);
    if (with_ward_fork)
        pthread_join(wth, NULL);
    if (atomic_load(&storm_ward_forks_bad))
        return 14;
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    while (waitpid(-1, &st, 0) > 0)
        storm_reaped++;
    if (storm_reaped != atomic_load(&storm_forks)) {
        int e = errno;
        siginfo_t si;
        long r;

        memset(&si, 0, sizeof si);
        r = syscall(SYS_waitid, P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT, NULL);
        fprintf(stderr, "storm: reaped %d of %ld, drain errno %d, raw waitid %ld pid %d code %d\n",
                (int)storm_reaped, atomic_load(&storm_forks), e, r, (int)si.si_pid, si.si_code);
    }
    return storm_reaped == atomic_load(&storm_forks) ? 0 : 13;
}

static void
storm_in_a_process(void (*handler)(int), int with_ward_fork)
{
    pid_t pid = fork();
    int st = 0;
    long waited = 0;

    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(storm(handler, with_ward_fork));
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (++waited > 30 * 100) {
            kill(pid, SIGKILL);
            cr_assert_eq(waitpid(pid, &st, 0), pid);
            cr_assert_fail("the process deadlocked: its SIGCHLD handler waited for a lock "
                           "held by a thread in fork() waiting for malloc's");
        }
        usleep(10000);
    }
    cr_assert(WIFEXITED(st), "status %#x", st);
    cr_assert_eq(WEXITSTATUS(st), 0, "storm() returned %d", WEXITSTATUS(st));
}

Test(guard, handler_waiting_while_another_thread_forks_in_malloc, .timeout = 120)
{
    storm_in_a_process(storm_handler, 0);
}

Test(guard, handler_reinstalling_itself_while_another_thread_forks_in_malloc, .timeout = 120)
{
    storm_in_a_process(storm_handler_sysv, 0);
}

/* A blocking wait in the handler, while private children are born inside fork() too. */
Test(guard, blocking_handler_wait_while_ward_fork_is_in_malloc, .timeout = 120)
{
    storm_in_a_process(storm_handler_blocking, 1);
}

/*
 * A wait in the program's handler that could not tell a report apart (a
 * ward_fork() in flight in another thread) answers "nothing ready"; the
 * handler must then run again for that report when the birth ends, even
 * though it is still running when ward re-raises SIGCHLD (in the thread
 * that ended the birth).
 */
static pthread_t rerun_main;
static atomic_int rerun_in_handler, rerun_prepared, rerun_done;
static volatile sig_atomic_t rerun_runs, rerun_reaped;

static void
rerun_handler(int sig)
{
    int e = errno, st;

    (void)sig;
    if (pthread_equal(pthread_self(), rerun_main) && rerun_runs++ == 0) {
        atomic_store(&rerun_in_handler, 1);
        while (!atomic_load(&rerun_prepared))
            sched_yield();
        while (waitpid(-1, &st, WNOHANG) > 0)
            rerun_reaped++;
        /* Still running while the birth ends. */
        while (!atomic_load(&rerun_done))
            sched_yield();
    } else {
        while (waitpid(-1, &st, WNOHANG) > 0)
            rerun_reaped++;
    }
    errno = e;
}

static void *
rerun_birth(void *arg)
{
    sigset_t chld;

    (void)arg;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    /* Born with SIGCHLD blocked: the program's child's goes to the main thread. */
    while (!atomic_load(&rerun_in_handler))
        sched_yield();
    pthread_sigmask(SIG_UNBLOCK, &chld, NULL);
    if (ward_fork_prepare() != 0)
        return NULL;
    atomic_store(&rerun_prepared, 1);
    usleep(100 * 1000);
    (void)ward_fork_parent(-1, 0);
    atomic_store(&rerun_done, 1);
    return NULL;
}

static int
rerun_scenario(void)
{
    struct sigaction sa;
    sigset_t chld;
    pthread_t th;
    pid_t x;

    rerun_main = pthread_self();
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = rerun_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &chld, NULL);
    if (sigaction(SIGCHLD, &sa, NULL) != 0 || pthread_create(&th, NULL, rerun_birth, NULL) != 0)
        return 10;
    pthread_sigmask(SIG_UNBLOCK, &chld, NULL);
    if ((x = fork()) == 0)
        _exit(7);
    if (x < 0)
        return 11;
    for (int i = 0; i < 300 && rerun_reaped == 0; i++)
        usleep(10 * 1000);
    pthread_join(th, NULL);
    if (rerun_reaped != 1) {
        siginfo_t si;

        memset(&si, 0, sizeof si);
        waitid(P_PID, (id_t)x, &si, WEXITED);
        return 12;
    }
    return 0;
}

/*
 * Run scenario() in a process of its own (its signal state and threads
 * are its own), killed if it has not ended within 30 s: returns its exit
 * code.
 */
static int
scenario_in_a_process(int (*scenario)(void))
{
    pid_t pid = fork();
    int st = 0;

    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(scenario());
    for (int i = 0; i < 3000 && waitpid(pid, &st, WNOHANG) == 0; i++)
        usleep(10000);
    if (waitpid(pid, &st, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        cr_assert_fail("the scenario hung");
    }
    cr_assert(WIFEXITED(st), "status %#x", st);
    return WEXITSTATUS(st);
}

Test(guard, handler_runs_again_for_a_report_its_wait_left_during_a_birth, .timeout = 60)
{
    int r = scenario_in_a_process(rerun_scenario);

    cr_assert_eq(r, 0, "the program's child was left a zombie: its handler did not run again (%d)",
                 r);
}

/*
 * The re-raise of a report deferred during a birth, when the thread that
 * ends the birth keeps SIGCHLD blocked (worker threads often do): it must
 * still reach the program's handler, in a thread that takes the signal.
 */
static atomic_int blocked_prepared, blocked_child_ended;
static volatile sig_atomic_t blocked_reaped;

static void
blocked_handler(int sig)
{
    int e = errno, st;

    (void)sig;
    while (waitpid(-1, &st, WNOHANG) > 0)
        blocked_reaped++;
    errno = e;
}

static void *
blocked_birth(void *arg)
{
    (void)arg;
    if (ward_fork_prepare() != 0)
        return NULL;
    atomic_store(&blocked_prepared, 1);
    while (!atomic_load(&blocked_child_ended))
        sched_yield();
    /* Let the guard's handler see the report and leave it for the re-raise. */
    usleep(50 * 1000);
    (void)ward_fork_parent(-1, 0);
    return NULL;
}

static int
blocked_scenario(void)
{
    struct sigaction sa;
    sigset_t chld;
    siginfo_t si;
    pthread_t th;
    pid_t x;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = blocked_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &chld, NULL);
    if (sigaction(SIGCHLD, &sa, NULL) != 0 || pthread_create(&th, NULL, blocked_birth, NULL) != 0)
        return 10;
    pthread_sigmask(SIG_UNBLOCK, &chld, NULL);
    while (!atomic_load(&blocked_prepared))
        sched_yield();
    if ((x = fork()) == 0)
        _exit(7);
    if (x < 0)
        return 11;
    memset(&si, 0, sizeof si);
    while (waitid(P_PID, (id_t)x, &si, WEXITED | WNOWAIT) == -1 && errno == EINTR)
        ;
    atomic_store(&blocked_child_ended, 1);
    pthread_join(th, NULL);
    for (int i = 0; i < 200 && blocked_reaped == 0; i++)
        usleep(10 * 1000);
    if (blocked_reaped != 1) {
        waitid(P_PID, (id_t)x, &si, WEXITED);
        return 12;
    }
    return 0;
}

Test(guard, report_deferred_by_a_thread_that_blocks_sigchld_reaches_the_handler, .timeout = 60)
{
    int r = scenario_in_a_process(blocked_scenario);

    cr_assert_eq(r, 0,
                 "the program's child was left a zombie: the re-raise never reached a thread "
                 "that takes SIGCHLD (%d)", r);
}
