/*
 * test_wait.c - ward_wait(), ward_trywait(), ward_timedwait(), ward_rusage():
 * the cached status, many waiters at once, timeouts, interruption by a
 * signal handler, death by signal and resource usage.
 */
#include "common.h"

WT_SUITE(wait);

Test(wait, exit_status)
{
    for (int code = 0; code < 256; code += 51) {
        char n[8];

        snprintf(n, sizeof n, "%d", code);
        ward_child *c = wt_spawn_ok(NULL, n);
        wt_reap_exit(c, code);
    }
}

Test(wait, status_may_be_null)
{
    ward_child *c = wt_spawn_ok(NULL, "5");
    int st = -1;

    cr_assert_eq(ward_wait(c, NULL), 0, "ward_wait: %s", strerror(errno));
    cr_assert_eq(ward_wait(c, &st), 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 5, "status 0x%x", st);
    ward_free(c);
}

Test(wait, status_is_the_same_on_every_call)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "20", "exit", "42");
    int st1 = -1, st2 = -2, st3 = -3, st4 = -4;
    struct timespec past = {0, 0};

    cr_assert_eq(ward_wait(c, &st1), 0);
    cr_assert(WIFEXITED(st1) && WEXITSTATUS(st1) == 42, "status 0x%x", st1);
    cr_assert_eq(ward_wait(c, &st2), 0);
    cr_assert_eq(ward_trywait(c, &st3), 0);
    /* A deadline already past does not matter once the status is known. */
    cr_assert_eq(ward_timedwait(c, &st4, &past), 0, "ward_timedwait: %s",
                 strerror(errno));
    cr_assert_eq(st2, st1);
    cr_assert_eq(st3, st1);
    cr_assert_eq(st4, st1);
    ward_free(c);
}

Test(wait, signaled_status)
{
    ward_child *c = wt_spawn_ok(NULL, "raise", "TERM");
    int st = wt_wait_ok(c);

    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status 0x%x", st);
    cr_assert(!WIFEXITED(st));
    ward_free(c);

    c = wt_spawn_ok(NULL, "raise", "USR1");
    st = wt_wait_ok(c);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1, "status 0x%x", st);
    ward_free(c);

    c = wt_spawn_ok(NULL, "sleep", "20000");
    cr_assert_eq(ward_kill(c, SIGKILL), 0);
    st = wt_wait_ok(c);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
    ward_free(c);
}

Test(wait, trywait)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "20000");
    int st = 12345;

    /* Still running: EAGAIN, and status untouched. */
    wt_assert_err(ward_trywait(c, &st), EAGAIN);
    cr_assert_eq(st, 12345);
    wt_assert_err(ward_trywait(c, NULL), EAGAIN);
    cr_assert_eq(ward_kill(c, SIGKILL), 0);
    /* It ends soon; trywait must see it without any other call. */
    for (double end = wt_now_ms() + wt_ms(10000); wt_now_ms() < end;) {
        if (ward_trywait(c, &st) == 0)
            break;
        cr_assert_eq(errno, EAGAIN, "ward_trywait: %s", strerror(errno));
        wt_sleep_ms(1);
    }
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
    ward_free(c);
}

Test(wait, trywait_after_exit_without_other_calls)
{
    ward_child *c = wt_spawn_ok(NULL, "17");
    int st = -1;

    /* Wait for the exit without going through ward at all. */
    cr_assert_eq(wt_child_ended(c), 0);
    cr_assert_eq(ward_trywait(c, &st), 0, "ward_trywait on an ended child: %s",
                 strerror(errno));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 17, "status 0x%x", st);
    ward_free(c);
}

Test(wait, einval_for_null)
{
    struct timespec ts = wt_deadline_ms(10);
    struct rusage ru;
    int st;

    wt_assert_err(ward_wait(NULL, &st), EINVAL);
    wt_assert_err(ward_trywait(NULL, &st), EINVAL);
    wt_assert_err(ward_timedwait(NULL, &st, &ts), EINVAL);
    wt_assert_err(ward_rusage(NULL, &ru), EINVAL);
}

Test(wait, timedwait_times_out_at_the_deadline)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "20000");
    struct timespec dl = wt_deadline_ms(200), now;
    int st = 12345;

    wt_assert_err(ward_timedwait(c, &st, &dl), ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &now);
    /* Not before the deadline. */
    cr_assert(now.tv_sec > dl.tv_sec ||
                  (now.tv_sec == dl.tv_sec && now.tv_nsec >= dl.tv_nsec),
              "ETIMEDOUT %ld.%09ld before the deadline %ld.%09ld",
              (long)now.tv_sec, now.tv_nsec, (long)dl.tv_sec, dl.tv_nsec);
    cr_assert_eq(st, 12345, "status changed on failure");
    /* Still running, still waitable. */
    wt_assert_err(ward_trywait(c, &st), EAGAIN);
    wt_kill_reap(c);
}

Test(wait, timedwait_past_deadline_on_running_child)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "20000");
    struct timespec past = {0, 0}, recent = wt_deadline_ms(0);
    int st;

    wt_assert_err(ward_timedwait(c, &st, &past), ETIMEDOUT);
    wt_assert_err(ward_timedwait(c, &st, &recent), ETIMEDOUT);
    wt_kill_reap(c);
}

Test(wait, timedwait_returns_when_child_ends)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "100", "exit", "8");
    struct timespec dl = wt_deadline_ms(wt_ms(20000));
    int st = -1;

    cr_assert_eq(ward_timedwait(c, &st, &dl), 0, "ward_timedwait: %s",
                 strerror(errno));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 8, "status 0x%x", st);
    ward_free(c);

    /* NULL deadline: no deadline. */
    c = wt_spawn_ok(NULL, "sleep", "50", "exit", "9");
    cr_assert_eq(ward_timedwait(c, &st, NULL), 0, "ward_timedwait: %s",
                 strerror(errno));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 9, "status 0x%x", st);
    ward_free(c);
}

Test(wait, timedwait_einval_bad_nsec)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "20000");
    struct timespec bad = wt_deadline_ms(1000);
    int st = 12345;

    bad.tv_nsec = 1000000000L;
    wt_assert_err(ward_timedwait(c, &st, &bad), EINVAL);
    bad.tv_nsec = -1;
    wt_assert_err(ward_timedwait(c, &st, &bad), EINVAL);
    cr_assert_eq(st, 12345);
    wt_assert_err(ward_trywait(c, &st), EAGAIN);
    wt_kill_reap(c);
}

/* ---- Many waiters ------------------------------------------------------- */

struct waiter {
    ward_child *c;
    int kind; /* 0 wait, 1 timedwait, 2 trywait loop */
    int status;
    int ret;
    int err;
    pthread_barrier_t *start;
};

static void *waiter_thread(void *arg)
{
    struct waiter *w = arg;

    pthread_barrier_wait(w->start);
    switch (w->kind) {
    case 0:
        w->ret = ward_wait(w->c, &w->status);
        break;
    case 1: {
        struct timespec dl = wt_deadline_ms(wt_ms(20000));
        w->ret = ward_timedwait(w->c, &w->status, &dl);
        break;
    }
    default:
        while ((w->ret = ward_trywait(w->c, &w->status)) < 0 && errno == EAGAIN)
            wt_sleep_ms(1);
        break;
    }
    w->err = errno;
    return NULL;
}

static void many_waiters(const char *const *ops, int expect_signal, int value)
{
    enum { N = 8 };
    pthread_t t[N];
    struct waiter w[N];
    pthread_barrier_t start;
    ward_child *c = wt_spawnv(NULL, ops);
    int st;

    cr_assert_not_null(c, "ward_spawn: %s", strerror(errno));
    pthread_barrier_init(&start, NULL, N);
    for (int i = 0; i < N; i++) {
        w[i] = (struct waiter){c, i % 3, -1, -2, 0, &start};
        cr_assert_eq(pthread_create(&t[i], NULL, waiter_thread, &w[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(w[i].ret, 0, "waiter %d (kind %d): %s", i, w[i].kind,
                     strerror(w[i].err));
        cr_assert_eq(w[i].status, w[0].status, "waiter %d got 0x%x, waiter 0 got 0x%x",
                     i, w[i].status, w[0].status);
    }
    st = w[0].status;
    if (expect_signal)
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == value, "status 0x%x", st);
    else
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == value, "status 0x%x", st);
    /* And again, after all of them. */
    cr_assert_eq(ward_wait(c, &st), 0);
    cr_assert_eq(st, w[0].status);
    ward_free(c);
}

Test(wait, eight_threads_wait_at_once)
{
    many_waiters((const char *const[]){"sleep", "200", "exit", "42", NULL}, 0, 42);
}

Test(wait, eight_threads_wait_for_a_signal_death)
{
    many_waiters((const char *const[]){"sleep", "150", "raise", "TERM", NULL}, 1,
                 SIGTERM);
}

Test(wait, eight_threads_wait_for_a_quick_child)
{
    for (int i = 0; i < 20; i++)
        many_waiters((const char *const[]){"3", NULL}, 0, 3);
}

/* ---- EINTR -------------------------------------------------------------- */

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
    (void)sig;
    handled++;
}

struct nagger {
    pthread_t target;
    atomic_int stop;
};

/* Signal the waiting thread every 20 ms until told to stop. */
static void *nag_thread(void *arg)
{
    struct nagger *n = arg;

    while (!atomic_load(&n->stop)) {
        wt_sleep_ms(20);
        if (!atomic_load(&n->stop))
            pthread_kill(n->target, SIGUSR1);
    }
    return NULL;
}

static void eintr_case(int timed)
{
    struct sigaction sa, old;
    struct nagger n;
    pthread_t t;
    int st = 12345, r, e;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = 0; /* no SA_RESTART */
    cr_assert_eq(sigaction(SIGUSR1, &sa, &old), 0);
    ward_child *c = wt_spawn_ok(NULL, "sleep", "10000");
    n.target = pthread_self();
    atomic_init(&n.stop, 0);
    handled = 0;
    cr_assert_eq(pthread_create(&t, NULL, nag_thread, &n), 0);
    if (timed) {
        struct timespec dl = wt_deadline_ms(wt_ms(20000));
        r = ward_timedwait(c, &st, &dl);
    } else {
        r = ward_wait(c, &st);
    }
    e = errno;
    atomic_store(&n.stop, 1);
    pthread_join(t, NULL);
    sigaction(SIGUSR1, &old, NULL);
    cr_assert_eq(r, -1, "wait returned %d (status 0x%x) in place of EINTR", r, st);
    cr_assert_eq(e, EINTR, "errno %s, expected EINTR", strerror(e));
    cr_assert_geq(handled, 1);
    cr_assert_eq(st, 12345);
    /* Call again: the child is still there and still ours. */
    wt_assert_err(ward_trywait(c, &st), EAGAIN);
    wt_kill_reap(c);
}

Test(wait, eintr_from_a_signal_handler)
{
    eintr_case(0);
}

Test(wait, timedwait_eintr_from_a_signal_handler)
{
    eintr_case(1);
}

Test(wait, sa_restart_handler_does_not_break_wait)
{
    struct sigaction sa, old;
    struct nagger n;
    pthread_t t;
    int st = -1, r, e;

    /* ward_wait has waitpid's rule: an SA_RESTART handler restarts it. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    cr_assert_eq(sigaction(SIGUSR1, &sa, &old), 0);
    ward_child *c = wt_spawn_ok(NULL, "sleep", "300", "exit", "6");
    n.target = pthread_self();
    atomic_init(&n.stop, 0);
    handled = 0;
    cr_assert_eq(pthread_create(&t, NULL, nag_thread, &n), 0);
    r = ward_wait(c, &st);
    e = errno;
    atomic_store(&n.stop, 1);
    pthread_join(t, NULL);
    sigaction(SIGUSR1, &old, NULL);
    cr_assert_eq(r, 0, "ward_wait: %s after %d SA_RESTART handler(s)",
                 strerror(e), (int)handled);
    cr_assert_geq(handled, 1, "no handler ran during the wait");
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 6, "status 0x%x", st);
    ward_free(c);
}

/*
 * The libev scenario: a thread waits for a private child while the
 * program's own children exit (SIGCHLD) and SIGUSR1 keeps arriving, both
 * handled in the waiting thread.  With SA_RESTART handlers the waits behave
 * as waitpid(2): ward_wait never fails with EINTR, while ward_timedwait,
 * like poll(2), is interrupted by any handler.  Without SA_RESTART
 * ward_wait fails with EINTR and a second call still gets the status.
 */
static atomic_int usr1_runs, chld_runs;

static void count_usr1(int sig)
{
    (void)sig;
    atomic_fetch_add(&usr1_runs, 1);
}

static void count_chld(int sig)
{
    (void)sig;
    atomic_fetch_add(&chld_runs, 1);
}

struct sig_waiter {
    ward_child *c;
    int mode; /* 0 ward_wait, 1 ward_timedwait(NULL), 2 ward_timedwait(dl) */
    int r1, e1, st1;
    int r2, e2, st2;
    atomic_int first_done, go_on, done;
};

static void *sig_waiter_main(void *arg)
{
    struct sig_waiter *w = arg;
    struct timespec dl = wt_deadline_ms(wt_ms(20000));

    w->st1 = w->st2 = 12345;
    if (w->mode == 0)
        w->r1 = ward_wait(w->c, &w->st1);
    else
        w->r1 = ward_timedwait(w->c, &w->st1, w->mode == 2 ? &dl : NULL);
    w->e1 = errno;
    atomic_store(&w->first_done, 1);
    if (w->r1 == -1) {
        /* Interrupted: call again once the signals have stopped. */
        while (!atomic_load(&w->go_on))
            wt_sleep_ms(1);
        w->r2 = ward_wait(w->c, &w->st2);
        w->e2 = errno;
    }
    atomic_store(&w->done, 1);
    return NULL;
}

/*
 * Run a waiter in mode while this thread, which blocks both signals so
 * that they go to the waiter, makes and reaps children of its own and
 * sends the waiter SIGUSR1, until the waiter's first wait returns.
 */
static void signal_storm(struct sig_waiter *w, int mode, int restart)
{
    struct sigaction sa, old_usr1, old_chld;
    sigset_t block, saved;
    pthread_t t;
    int forks = 0;

    memset(w, 0, sizeof *w);
    w->mode = mode;
    atomic_store(&usr1_runs, 0);
    atomic_store(&chld_runs, 0);
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = restart ? SA_RESTART : 0;
    sa.sa_handler = count_usr1;
    cr_assert_eq(sigaction(SIGUSR1, &sa, &old_usr1), 0);
    sa.sa_handler = count_chld;
    cr_assert_eq(sigaction(SIGCHLD, &sa, &old_chld), 0);
    w->c = wt_spawn_ok(NULL, "sleep", "400", "exit", "7");
    cr_assert_eq(pthread_create(&t, NULL, sig_waiter_main, w), 0);
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &block, &saved);
    while (!atomic_load(&w->first_done)) {
        pid_t pid = fork();
        int st;

        if (pid == 0)
            _exit(0);
        cr_assert_gt(pid, 0, "fork: %s", strerror(errno));
        while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
            ;
        forks++;
        pthread_kill(t, SIGUSR1);
        wt_sleep_ms(3);
    }
    atomic_store(&w->go_on, 1);
    pthread_join(t, NULL);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    sigaction(SIGUSR1, &old_usr1, NULL);
    sigaction(SIGCHLD, &old_chld, NULL);
    cr_log_info("mode %d, %s: %d own children, %d SIGUSR1 and %d SIGCHLD "
                "handled", mode, restart ? "SA_RESTART" : "no SA_RESTART",
                forks, atomic_load(&usr1_runs), atomic_load(&chld_runs));
    cr_assert_gt(forks, 0);
}

Test(wait, sa_restart_handlers_never_interrupt_wait)
{
    struct sig_waiter w;

    signal_storm(&w, 0, 1);
    cr_assert_eq(w.r1, 0, "ward_wait failed (%s) after %d SIGUSR1 and %d "
                 "SIGCHLD handlers with SA_RESTART", strerror(w.e1),
                 atomic_load(&usr1_runs), atomic_load(&chld_runs));
    cr_assert(WIFEXITED(w.st1) && WEXITSTATUS(w.st1) == 7, "status 0x%x", w.st1);
    cr_assert_geq(atomic_load(&usr1_runs), 2, "the waiter was hardly signalled");
    cr_assert_geq(atomic_load(&chld_runs), 1, "no SIGCHLD handler ran");
    ward_free(w.c);
}

static void assert_interrupted_then_status(struct sig_waiter *w)
{
    cr_assert_eq(w->r1, -1, "the wait returned %d (status 0x%x) in place of EINTR",
                 w->r1, w->st1);
    cr_assert_eq(w->e1, EINTR, "errno %s, expected EINTR", strerror(w->e1));
    cr_assert_eq(w->st1, 12345, "status written on failure");
    cr_assert_eq(w->r2, 0, "the second ward_wait: %s", strerror(w->e2));
    cr_assert(WIFEXITED(w->st2) && WEXITSTATUS(w->st2) == 7, "status 0x%x", w->st2);
    ward_free(w->c);
}

Test(wait, handler_without_sa_restart_interrupts_wait)
{
    struct sig_waiter w;

    signal_storm(&w, 0, 0);
    assert_interrupted_then_status(&w);
}

Test(wait, timedwait_is_interrupted_by_sa_restart_handlers)
{
    struct sig_waiter w;

    /* No deadline: the interruptible wait interpreters use. */
    signal_storm(&w, 1, 1);
    assert_interrupted_then_status(&w);
    signal_storm(&w, 2, 1);
    assert_interrupted_then_status(&w);
}

/* ---- Resource usage ----------------------------------------------------- */

Test(wait, rusage)
{
    ward_child *c = wt_spawn_ok(NULL, "spin", "300");
    struct rusage ru;

    memset(&ru, 0x5a, sizeof ru);
    wt_assert_err(ward_rusage(c, &ru), EAGAIN);
    cr_assert_eq(ru.ru_utime.tv_sec, (time_t)0x5a5a5a5a5a5a5a5aLL,
                 "usage changed on failure");
    wt_reap_exit(c, 0);
}

Test(wait, rusage_default_spawn)
{
    int private = wt_spawns_private();
    ward_child *c = wt_spawn_ok(NULL, "spin", "50");
    struct rusage ru;

    (void)wt_wait_ok(c);
    if (private)
        wt_assert_err(ward_rusage(c, &ru), ENODATA);
    else
        cr_assert_eq(ward_rusage(c, &ru), 0, "ward_rusage: %s", strerror(errno));
    ward_free(c);
}

Test(wait, rusage_after_reap)
{
    ward_child *c = wt_spawn_reapable("spin", "300");
    struct rusage ru, ru2;
    double cpu;

    (void)wt_wait_ok(c);
    memset(&ru, 0x5a, sizeof ru);
    cr_assert_eq(ward_rusage(c, &ru), 0, "ward_rusage: %s", strerror(errno));
    cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
          (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    /* The child used 300 ms of CPU time (measured on its CPU clock). */
    cr_assert_gt(cpu, 0.25, "user+system time %.3f s for 300 ms of spinning", cpu);
    cr_assert_lt(cpu, 100.0, "user+system time %.3f s", cpu);
    cr_assert(ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000);
    cr_assert_gt(ru.ru_maxrss, 0);
    cr_assert_geq(ru.ru_minflt, 1);
    cr_assert_geq(ru.ru_nvcsw + ru.ru_nivcsw, 0);
    /* The fields ward does not keep are zero. */
    cr_assert_eq(ru.ru_ixrss, 0);
    cr_assert_eq(ru.ru_idrss, 0);
    cr_assert_eq(ru.ru_isrss, 0);
    cr_assert_eq(ru.ru_nswap, 0);
    cr_assert_eq(ru.ru_msgsnd, 0);
    cr_assert_eq(ru.ru_msgrcv, 0);
    cr_assert_eq(ru.ru_nsignals, 0);
    /* The same on a second call. */
    cr_assert_eq(ward_rusage(c, &ru2), 0);
    cr_assert_eq(memcmp(&ru, &ru2, sizeof ru), 0);
    ward_free(c);
}

Test(wait, rusage_is_the_childs_own)
{
    ward_child *a = wt_spawn_reapable("spin", "300");
    ward_child *b = wt_spawn_reapable("0");
    struct rusage ra, rb;

    (void)wt_wait_ok(a);
    (void)wt_wait_ok(b);
    cr_assert_eq(ward_rusage(a, &ra), 0);
    cr_assert_eq(ward_rusage(b, &rb), 0);
    /* The quick child did not get the spinner's CPU time. */
    cr_assert_lt(rb.ru_utime.tv_sec * 1000000L + rb.ru_utime.tv_usec,
                 ra.ru_utime.tv_sec * 1000000L + ra.ru_utime.tv_usec);
    ward_free(a);
    ward_free(b);
}

/* ---- Deadlines at the edges --------------------------------------------- */

Test(wait, timedwait_far_future_deadline)
{
    const time_t far[] = {
        0, /* now + 10^9 seconds, filled in below */
        (time_t)((~(unsigned long long)0) >> 1), /* the largest time_t */
    };

    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++) {
        ward_child *c = wt_spawn_ok(NULL, "sleep", "100", "exit", "19");
        struct timespec dl = wt_deadline_ms(0);
        int st = -1;

        dl.tv_sec = i == 0 ? dl.tv_sec + 1000000000 : far[i];
        cr_assert_eq(ward_timedwait(c, &st, &dl), 0,
                     "ward_timedwait with deadline tv_sec=%lld: %s",
                     (long long)dl.tv_sec, strerror(errno));
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 19, "status 0x%x", st);
        ward_free(c);
    }
}

/*
 * Deadlines in the past at the far edge of time_t, and just behind the
 * clock: each fails at once with ETIMEDOUT on a running child, none sleeps
 * (a deadline minus the clock that overflowed used to read as "far
 * ahead").  A tv_nsec out of range is EINVAL whatever the seconds say.
 */
#define WT_TIME_MIN ((time_t)-(time_t)(((~0ULL) >> 1)) - 1)

Test(wait, timedwait_extreme_past_deadlines_time_out_at_once, .timeout = 20)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "20000");
    struct timespec now = wt_deadline_ms(0);
    struct timespec past[] = {
        {WT_TIME_MIN, 0},
        {WT_TIME_MIN, 999999999L},
        {WT_TIME_MIN + 1000000, 0},
        {WT_TIME_MIN / 2, 0},
        {-1, 999999999L},
        {0, 0},
        now,                /* the deadline is "now": passed by the call */
        now,                /* one nanosecond before now, set below */
    };
    const long badnsec[] = {-1, 1000000000L, LONG_MIN, LONG_MAX};
    int st = 12345;

    if (past[7].tv_nsec > 0) {
        past[7].tv_nsec--;
    } else {
        past[7].tv_sec--;
        past[7].tv_nsec = 999999999L;
    }
    for (size_t i = 0; i < sizeof past / sizeof past[0]; i++) {
        double t0 = wt_now_ms(), dt;
        int r = ward_timedwait(c, &st, &past[i]), e = errno;

        dt = wt_now_ms() - t0;
        cr_assert(r == -1 && e == ETIMEDOUT,
                  "deadline {%lld, %ld}: r=%d errno=%s", (long long)past[i].tv_sec,
                  past[i].tv_nsec, r, strerror(e));
        cr_assert_lt(dt, (double)wt_ms(1000), "deadline {%lld, %ld} slept %.0f ms",
                     (long long)past[i].tv_sec, past[i].tv_nsec, dt);
    }
    for (size_t i = 0; i < sizeof badnsec / sizeof badnsec[0]; i++) {
        struct timespec bad[] = {
            {WT_TIME_MIN, badnsec[i]},
            {(time_t)((~0ULL) >> 1), badnsec[i]},
            {0, badnsec[i]},
        };

        for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++)
            wt_assert_err(ward_timedwait(c, &st, &bad[j]), EINVAL);
    }
    cr_assert_eq(st, 12345, "status changed on failure");
    wt_assert_err(ward_trywait(c, &st), EAGAIN);
    wt_kill_reap(c);
}

/* The same extremes on a child that has ended: its status, not ETIMEDOUT. */
Test(wait, timedwait_extreme_deadlines_on_ended_child, .timeout = 20)
{
    const struct timespec dl[] = {
        {WT_TIME_MIN, 0},
        {WT_TIME_MIN + 1000000, 0},
        {(time_t)((~0ULL) >> 1), 999999999L},
    };

    for (size_t i = 0; i < sizeof dl / sizeof dl[0]; i++) {
        ward_child *c = wt_spawn_ok(NULL, "21");
        int st = -1;

        cr_assert_eq(wt_child_ended(c), 0);
        cr_assert_eq(ward_timedwait(c, &st, &dl[i]), 0,
                     "deadline {%lld, %ld}: %s", (long long)dl[i].tv_sec,
                     dl[i].tv_nsec, strerror(errno));
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 21, "status 0x%x", st);
        ward_free(c);
    }
}

Test(wait, timedwait_past_deadline_on_ended_child)
{
    ward_child *c = wt_spawn_ok(NULL, "18");
    struct timespec past = {0, 0};
    int st = -1;

    /*
     * The child has ended (a zombie ward has not looked at yet).  Like
     * pthread_mutex_timedlock(), which never times out when the lock is
     * free, a timed wait whose answer is already there does not time out.
     */
    cr_assert_eq(wt_child_ended(c), 0);
    cr_assert_eq(ward_timedwait(c, &st, &past), 0, "ward_timedwait: %s",
                 strerror(errno));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 18, "status 0x%x", st);
    ward_free(c);
}

/* ---- The program's SIGCHLD ------------------------------------------------ */

static void set_sigchld(void (*fn)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGCHLD, &sa, NULL), 0);
}

/* One timed wait, so that whatever a backend sets up for those is set up. */
static void timed_wait_once(void)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "20", "exit", "0");
    struct timespec dl = wt_deadline_ms(wt_ms(10000));

    cr_assert_eq(ward_timedwait(c, NULL, &dl), 0, "ward_timedwait: %s", strerror(errno));
    ward_free(c);
}

/*
 * A program that sets SIGCHLD back to SIG_DFL once ward is at work: timed
 * waits still return soon after the child ends, not at their deadline (the
 * posix backend used to sleep until its SIGCHLD handler, now gone, woke it).
 */
Test(wait, timed_waits_prompt_after_sigchld_reset_to_default, .timeout = 30)
{
    struct timespec dl;
    int st = -1;

    timed_wait_once();
    set_sigchld(SIG_DFL);

    ward_child *c = wt_spawn_ok(NULL, "sleep", "100", "exit", "3");
    double t0 = wt_now_ms();

    /* Prompt means well before the deadline; both scale with the machine. */
    dl = wt_deadline_ms(wt_ms(3000));
    cr_assert_eq(ward_timedwait(c, &st, &dl), 0, "ward_timedwait: %s", strerror(errno));
    cr_assert_lt(wt_now_ms() - t0, (double)wt_ms(1500), "an exit after 0.1 s reported "
                 "after %.0f ms", wt_now_ms() - t0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3, "status 0x%x", st);
    ward_free(c);

    /* ward_terminate() on a child that dies at SIGTERM: at once. */
    c = wt_spawn_ok(NULL, "sleep", "20000");
    t0 = wt_now_ms();
    cr_assert_eq(ward_terminate(c, (int)wt_ms(3000), &st), 0, "ward_terminate: %s",
                 strerror(errno));
    cr_assert_lt(wt_now_ms() - t0, (double)wt_ms(1500), "ward_terminate took %.0f ms",
                 wt_now_ms() - t0);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status 0x%x", st);
    ward_free(c);

    /* The largest grace changes nothing for a child that obeys. */
    c = wt_spawn_ok(NULL, "sleep", "20000");
    t0 = wt_now_ms();
    cr_assert_eq(ward_terminate(c, INT_MAX, &st), 0, "ward_terminate: %s", strerror(errno));
    cr_assert_lt(wt_now_ms() - t0, (double)wt_ms(1500), "ward_terminate took %.0f ms",
                 wt_now_ms() - t0);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status 0x%x", st);
    ward_free(c);
}

static void on_chld_noop(int sig)
{
    (void)sig;
}

/*
 * Without ward, a child's exit interrupts no sleep of a program whose
 * SIGCHLD is SIG_DFL; with ward's timed waits in use, none either.  The
 * program's own handler, once it installs one, is its own affair: it is
 * run, and it interrupts.
 */
Test(wait, timed_waits_add_no_eintr_to_the_programs_sleeps, .timeout = 30)
{
    /* Long enough for the children to end during it, however slow the machine. */
    struct timespec nap = {wt_ms(400) / 1000, wt_ms(400) % 1000 * 1000000L};
    int st = -1, private = wt_spawns_private();

    timed_wait_once();

    ward_child *c = wt_spawn_ok(NULL, "sleep", "50", "exit", "4");
    pid_t own = wt_own_child(5, 100);

    cr_assert_eq(nanosleep(&nap, NULL), 0, "nanosleep: %s while children exited",
                 strerror(errno));
    cr_assert_eq(wt_child_ended(c), 0);
    wt_reap_exit(c, 4);
    cr_assert_eq(waitpid(own, &st, 0), own);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 5, "status 0x%x", st);

    /*
     * A handler of the program's own still runs and interrupts, as always,
     * for an ordinary child.  A kernel-private one sends no SIGCHLD at all.
     */
    set_sigchld(on_chld_noop);
    c = wt_spawn_ok(NULL, "sleep", "50", "exit", "6");
    if (private) {
        cr_assert_eq(nanosleep(&nap, NULL), 0, "nanosleep: %s while a kernel-private "
                     "child exited", strerror(errno));
    } else {
        cr_assert_eq(nanosleep(&nap, NULL), -1, "nanosleep not interrupted by the "
                     "program's own SIGCHLD handler");
        cr_assert_eq(errno, EINTR);
    }
    wt_reap_exit(c, 6);
}

/* ---- A status that cannot be kept ---------------------------------------- */

Test(wait, sigchld_ignored_never_lies_never_hangs, .timeout = 15)
{
    struct sigaction sa, old;
    struct timespec dl;
    int st = -1, r, e;

    /*
     * With SIGCHLD ignored the kernel reaps every child at once and keeps no
     * status (unless a pidfd can still tell it).  The wait then returns the
     * true status or fails with ECHILD; it never invents one, never hangs.
     */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    cr_assert_eq(sigaction(SIGCHLD, &sa, &old), 0);
    ward_child *c = wt_spawn(NULL, "sleep", "50", "exit", "7");
    e = errno;
    if (c == NULL) {
        sigaction(SIGCHLD, &old, NULL);
        cr_assert_fail("ward_spawn with SIGCHLD ignored: %s", strerror(e));
    }
    r = ward_wait(c, &st);
    e = errno;
    cr_assert(r == 0 ? WIFEXITED(st) && WEXITSTATUS(st) == 7 : e == ECHILD,
              "ward_wait: r=%d errno=%s status 0x%x", r, strerror(e), st);
    /* The same with a deadline. */
    ward_child *d = wt_spawn_ok(NULL, "sleep", "50", "exit", "8");
    dl = wt_deadline_ms(wt_ms(10000));
    st = -1;
    r = ward_timedwait(d, &st, &dl);
    e = errno;
    sigaction(SIGCHLD, &old, NULL);
    cr_assert(r == 0 ? WIFEXITED(st) && WEXITSTATUS(st) == 8 : e == ECHILD,
              "ward_timedwait: r=%d errno=%s status 0x%x", r, strerror(e), st);
    ward_free(c);
    ward_free(d);
}
