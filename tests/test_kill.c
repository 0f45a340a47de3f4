/*
 * test_kill.c - ward_kill(), ward_killpg(), ward_terminate().
 *
 * Grandchildren: a process group test needs to see what happened to a
 * grandchild.  On Linux the test process makes itself a child subreaper, so
 * an orphaned grandchild becomes its child and can be waited for (with
 * ward_waitpid(), as a non-private child); elsewhere the test polls until
 * the grandchild is gone.
 */
#include "common.h"

#ifdef __linux__
#include <sys/prctl.h>
#endif

WT_SUITE(kill);

/* Read the helper's "ready" line: it has done what came before. */
static void wait_ready(ward_child *c)
{
    char line[64];

    cr_assert_eq(wt_read_line(ward_stdio(c, 1), line, sizeof line), 0,
                 "no line from the helper");
    cr_assert_str_eq(line, "ready");
}

static ward_attr *attr_with(unsigned int flags)
{
    ward_attr *a = ward_attr_new();

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setflags(a, flags), 0);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    return a;
}

static int subreaper(void)
{
#if defined(__linux__) && defined(PR_SET_CHILD_SUBREAPER)
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
#else
    return 0;
#endif
}

/* Read "grandchild PID" from the helper. */
static pid_t read_grandchild(ward_child *c)
{
    char line[64];
    long pid = 0;

    cr_assert_eq(wt_read_line(ward_stdio(c, 1), line, sizeof line), 0);
    cr_assert_eq(sscanf(line, "grandchild %ld", &pid), 1, "line: %s", line);
    return (pid_t)pid;
}

/*
 * The grandchild's wait status if we are its subreaper, or -1 after
 * checking that it is gone.
 */
static int grandchild_status(pid_t gpid, int reaper)
{
    int st = -1;

    if (reaper) {
        pid_t r;

        while ((r = ward_waitpid(gpid, &st, 0)) < 0 && errno == EINTR)
            ;
        cr_assert_eq(r, gpid, "ward_waitpid(grandchild %ld): %s", (long)gpid,
                     strerror(errno));
        return st;
    }
    for (double end = wt_now_ms() + wt_ms(5000); !wt_gone(gpid) && wt_now_ms() < end;)
        wt_sleep_ms(1);
    cr_assert(wt_gone(gpid), "grandchild %ld still alive", (long)gpid);
    return -1;
}

/* ---- ward_kill ---------------------------------------------------------- */

Test(kill, signal_zero_and_sigterm)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "20000");
    int st;

    cr_assert_eq(ward_kill(c, 0), 0, "ward_kill(0): %s", strerror(errno));
    wt_assert_err(ward_trywait(c, &st), EAGAIN);
    cr_assert_eq(ward_kill(c, SIGTERM), 0, "ward_kill(SIGTERM): %s",
                 strerror(errno));
    st = wt_wait_ok(c);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status 0x%x", st);
    ward_free(c);
}

Test(kill, esrch_after_reap)
{
    ward_child *c = wt_spawn_ok(NULL, "0");
    int st = wt_wait_ok(c);

    cr_assert(WIFEXITED(st));
    wt_assert_err(ward_kill(c, 0), ESRCH);
    wt_assert_err(ward_kill(c, SIGTERM), ESRCH);
    wt_assert_err(ward_kill(c, SIGKILL), ESRCH);
    /* Nothing changed: the status is still the same. */
    int st2 = -1;
    cr_assert_eq(ward_wait(c, &st2), 0);
    cr_assert_eq(st2, st);
    ward_free(c);
}

Test(kill, einval)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "20000");
    int st;

    wt_assert_err(ward_kill(NULL, SIGTERM), EINVAL);
    wt_assert_err(ward_kill(NULL, 0), EINVAL);
    wt_assert_err(ward_kill(c, -1), EINVAL);
    wt_assert_err(ward_kill(c, NSIG), EINVAL);
    wt_assert_err(ward_kill(c, 1000), EINVAL);
    /* No signal was sent by the failed calls. */
    wt_assert_err(ward_trywait(c, &st), EAGAIN);
    wt_kill_reap(c);
}

Test(kill, ignored_signal_leaves_child_running)
{
    ward_attr *a = attr_with(0);
    ward_child *c = wt_spawn_ok(a, "ignore", "TERM", "echo", "ready", "sleep",
                                "20000");
    int st;

    wait_ready(c);
    cr_assert_eq(ward_kill(c, SIGTERM), 0);
    wt_sleep_ms(50);
    wt_assert_err(ward_trywait(c, &st), EAGAIN);
    cr_assert_eq(ward_kill(c, SIGKILL), 0);
    st = wt_wait_ok(c);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
    ward_free(c);
    ward_attr_free(a);
}

Test(kill, stop_is_not_an_end)
{
    ward_attr *a = attr_with(0);
    ward_child *c = wt_spawn_ok(a, "echo", "ready", "sleep", "300", "exit", "4");
    struct timespec dl;
    int st = 12345;

    wait_ready(c);
    cr_assert_eq(ward_kill(c, SIGSTOP), 0);
    /* A stopped child has not ended: the waits keep waiting. */
    dl = wt_deadline_ms(500);
    wt_assert_err(ward_timedwait(c, &st, &dl), ETIMEDOUT);
    wt_assert_err(ward_trywait(c, &st), EAGAIN);
    cr_assert_eq(st, 12345);
    cr_assert_eq(ward_kill(c, SIGCONT), 0);
    st = wt_wait_ok(c);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 4, "status 0x%x", st);
    ward_free(c);
    ward_attr_free(a);
}

/* ---- ward_killpg -------------------------------------------------------- */

Test(kill, killpg_needs_a_group_leader)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "20000");
    int st;

    wt_assert_err(ward_killpg(c, SIGTERM), EINVAL);
    wt_assert_err(ward_killpg(c, 0), EINVAL);
    wt_assert_err(ward_killpg(NULL, SIGTERM), EINVAL);
    /* Our own group was not signalled: we are still here, so is c. */
    wt_assert_err(ward_trywait(c, &st), EAGAIN);
    wt_kill_reap(c);
}

static void killpg_case(unsigned int flags)
{
    int reaper = subreaper();
    ward_attr *a = attr_with(flags);
    ward_child *c = wt_spawn_ok(a, "grandchild", "20000", "sleep", "20000");
    pid_t gpid = read_grandchild(c);
    int st;

    cr_assert_eq(getpgid(gpid), ward_pid(c), "grandchild not in the group");
    wt_assert_err(ward_killpg(c, -1), EINVAL);
    wt_assert_err(ward_killpg(c, 1000), EINVAL);
    cr_assert_eq(ward_killpg(c, 0), 0, "ward_killpg(0): %s", strerror(errno));
    cr_assert_eq(ward_killpg(c, SIGKILL), 0, "ward_killpg: %s", strerror(errno));
    st = wt_wait_ok(c);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
    st = grandchild_status(gpid, reaper);
    if (reaper)
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
                  "grandchild status 0x%x", st);
    /* Reaped: the group id may belong to anyone now. */
    wt_assert_err(ward_killpg(c, SIGTERM), ESRCH);
    wt_assert_err(ward_killpg(c, 0), ESRCH);
    ward_free(c);
    ward_attr_free(a);
}

Test(kill, killpg_kills_a_grandchild_in_the_group)
{
    killpg_case(WARD_NEW_PGROUP);
}

Test(kill, killpg_with_new_session)
{
    killpg_case(WARD_NEW_SESSION);
}

/* ---- ward_terminate ----------------------------------------------------- */

Test(kill, terminate_plain_child_gets_sigterm)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "20000");
    int st = -1, st2 = -2;

    /* The grace is a limit on how long SIGTERM may take: it must not run out. */
    cr_assert_eq(ward_terminate(c, (int)wt_ms(10000), &st), 0, "ward_terminate: %s",
                 strerror(errno));
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status 0x%x", st);
    cr_assert_eq(ward_wait(c, &st2), 0);
    cr_assert_eq(st2, st);
    ward_free(c);
}

Test(kill, terminate_escalates_to_sigkill)
{
    ward_attr *a = attr_with(0);
    ward_child *c = wt_spawn_ok(a, "ignore", "TERM", "echo", "ready", "sleep",
                                "20000");
    int st = -1;

    wait_ready(c);
    cr_assert_eq(ward_terminate(c, 100, &st), 0, "ward_terminate: %s",
                 strerror(errno));
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
    ward_free(c);
    ward_attr_free(a);
}

Test(kill, terminate_with_zero_grace)
{
    ward_attr *a = attr_with(0);
    ward_child *c = wt_spawn_ok(a, "ignore", "TERM", "echo", "ready", "sleep",
                                "20000");
    int st = -1;

    wait_ready(c);
    cr_assert_eq(ward_terminate(c, 0, &st), 0, "ward_terminate: %s",
                 strerror(errno));
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
    ward_free(c);
    ward_attr_free(a);
}

Test(kill, terminate_status_may_be_null)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "20000");
    int st = -1;

    cr_assert_eq(ward_terminate(c, (int)wt_ms(5000), NULL), 0, "ward_terminate: %s",
                 strerror(errno));
    cr_assert_eq(ward_wait(c, &st), 0);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status 0x%x", st);
    ward_free(c);
}

Test(kill, terminate_already_reaped)
{
    ward_child *c = wt_spawn_ok(NULL, "4");
    int st = -1;

    (void)wt_wait_ok(c);
    cr_assert_eq(ward_terminate(c, 100, &st), 0, "ward_terminate: %s",
                 strerror(errno));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 4, "status 0x%x", st);
    ward_free(c);
}

Test(kill, terminate_ended_but_not_reaped)
{
    ward_child *c = wt_spawn_ok(NULL, "4");
    int st = -1;

    /* It is a zombie now, and ward has not looked at it yet. */
    cr_assert_eq(wt_child_ended(c), 0);
    cr_assert_eq(ward_terminate(c, 100, &st), 0, "ward_terminate: %s",
                 strerror(errno));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 4,
              "an ended child must keep its own status, got 0x%x", st);
    ward_free(c);
}

Test(kill, terminate_signals_the_whole_group)
{
    int reaper = subreaper();
    ward_attr *a = attr_with(WARD_NEW_PGROUP);
    /* The grandchild keeps SIGTERM's default; the leader ignores it. */
    ward_child *c = wt_spawn_ok(a, "grandchild", "20000", "ignore", "TERM",
                                "echo", "ready", "sleep", "20000");
    pid_t gpid = read_grandchild(c);
    int st = -1;

    wait_ready(c);
    cr_assert_eq(ward_terminate(c, 200, &st), 0, "ward_terminate: %s",
                 strerror(errno));
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
    st = grandchild_status(gpid, reaper);
    if (reaper)
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM,
                  "grandchild should have died of the group SIGTERM: 0x%x", st);
    ward_free(c);
    ward_attr_free(a);
}

Test(kill, terminate_einval)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "20000");
    int st = 12345;

    wt_assert_err(ward_terminate(NULL, 100, &st), EINVAL);
    wt_assert_err(ward_terminate(c, -1, &st), EINVAL);
    cr_assert_eq(st, 12345);
    /* Nothing was signalled. */
    wt_assert_err(ward_trywait(c, &st), EAGAIN);
    wt_kill_reap(c);
}

Test(kill, terminate_child_that_exits_during_the_grace)
{
    ward_attr *a = attr_with(0);
    ward_child *c = wt_spawn_ok(a, "ignore", "TERM", "echo", "ready", "sleep",
                                "200", "exit", "3");
    int st = -1;

    /* It ignores SIGTERM but ends on its own well within the grace. */
    wait_ready(c);
    cr_assert_eq(ward_terminate(c, (int)wt_ms(20000), &st), 0, "ward_terminate: %s",
                 strerror(errno));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3, "status 0x%x", st);
    ward_free(c);
    ward_attr_free(a);
}

/* ---- ward_terminate never fails with EINTR ------------------------------ */

static volatile sig_atomic_t nagged;

static void on_usr1(int sig)
{
    (void)sig;
    nagged++;
}

struct nagger {
    pthread_t target;
    atomic_int stop;
};

static void *nag_thread(void *arg)
{
    struct nagger *n = arg;

    while (!atomic_load(&n->stop)) {
        wt_sleep_ms(10);
        if (!atomic_load(&n->stop))
            pthread_kill(n->target, SIGUSR1);
    }
    return NULL;
}

Test(kill, terminate_restarts_after_signal_handlers)
{
    struct sigaction sa, old;
    struct nagger n;
    pthread_t t;
    ward_attr *a = attr_with(0);
    ward_child *c = wt_spawn_ok(a, "ignore", "TERM", "echo", "ready", "sleep",
                                "20000");
    int st = -1, r, e;

    /* A handler without SA_RESTART runs again and again during the grace
     * and the final wait (API.md: terminate never fails with EINTR). */
    wait_ready(c);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    cr_assert_eq(sigaction(SIGUSR1, &sa, &old), 0);
    n.target = pthread_self();
    atomic_init(&n.stop, 0);
    nagged = 0;
    cr_assert_eq(pthread_create(&t, NULL, nag_thread, &n), 0);
    r = ward_terminate(c, 300, &st);
    e = errno;
    atomic_store(&n.stop, 1);
    pthread_join(t, NULL);
    sigaction(SIGUSR1, &old, NULL);
    cr_assert_eq(r, 0, "ward_terminate: %s", strerror(e));
    cr_assert_gt(nagged, 0);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
    ward_free(c);
    ward_attr_free(a);
}
