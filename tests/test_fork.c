/*
 * test_fork.c - ward_fork() and the ward_fork_prepare() / ward_fork_parent()
 * / ward_fork_child() protocol around a plain fork().
 *
 * Code in a forked child must not use Criterion's assertions (the child is a
 * copy of the test process): it checks what it must and reports through its
 * exit status, a bit per failed check, which the parent asserts is 0.
 */
#include "common.h"

WT_SUITE(fork);

/* In the child: record failed check number n (0..6) in the exit status. */
#define CHILD_CHECK(bits, n, cond)                                           \
    do {                                                                     \
        if (!(cond))                                                         \
            (bits) |= 1 << (n);                                              \
    } while (0)

static void assert_child_checks(int st)
{
    cr_assert(WIFEXITED(st), "forked child died: status 0x%x", st);
    cr_assert_eq(WEXITSTATUS(st), 0,
                 "checks failed in the forked child: mask 0x%x (see the test)",
                 WEXITSTATUS(st));
}

Test(fork, child_runs_c_code_and_exits)
{
    ward_child *c = NULL;
    pid_t pid = ward_fork(&c, 0);

    cr_assert_geq(pid, 0, "ward_fork: %s", strerror(errno));
    if (pid == 0) {
        /* Ordinary C code: malloc, stdio to a buffer, arithmetic. */
        char *p = malloc(1000);
        int sum = 0;

        if (p == NULL)
            _exit(99);
        for (int i = 0; i < 1000; i++)
            p[i] = (char)i;
        for (int i = 0; i < 10; i++)
            sum += p[i];
        snprintf(p, 1000, "%d", sum);
        free(p);
        _exit(sum); /* 45 */
    }
    cr_assert_not_null(c);
    cr_assert_eq(ward_pid(c), pid);
    wt_reap_exit(c, 45);
}

Test(fork, child_status_by_signal)
{
    ward_child *c = NULL;
    pid_t pid = ward_fork(&c, 0);
    int st;

    cr_assert_geq(pid, 0, "ward_fork: %s", strerror(errno));
    if (pid == 0) {
        signal(SIGUSR2, SIG_DFL);
        raise(SIGUSR2);
        _exit(1);
    }
    st = wt_wait_ok(c);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR2, "status 0x%x", st);
    ward_free(c);
}

Test(fork, fork_child_is_private)
{
    ward_child *c = NULL;
    pid_t pid = ward_fork(&c, 0);
    int st = -1;

    cr_assert_geq(pid, 0, "ward_fork: %s", strerror(errno));
    if (pid == 0) {
        wt_sleep_ms(50);
        _exit(12);
    }
    wt_assert_err(ward_waitpid(pid, &st, 0), ECHILD);
    wt_assert_only_private(ward_waitpid(-1, &st, WNOHANG));
    wt_reap_exit(c, 12);
}

Test(fork, einval)
{
    ward_child *c = (ward_child *)0x1;

    wt_assert_err(ward_fork(NULL, 0), EINVAL);
    wt_assert_err(ward_fork(&c, WARD_NEW_PGROUP), EINVAL);
    wt_assert_err(ward_fork(&c, WARD_RESET_SIGNALS), EINVAL);
    wt_assert_err(ward_fork(&c, 0x1000u), EINVAL);
    cr_assert_eq(c, (ward_child *)0x1, "*childp changed on failure");
    /* No process was made by the failed calls (the fixture checks too). */
    cr_assert(wt_no_children());
}

Test(fork, child_table_is_empty)
{
    ward_child *running = wt_spawn_ok(NULL, "sleep", "20000");
    ward_child *ended = wt_spawn_ok(NULL, "3");
    ward_child *c = NULL;
    pid_t pid;

    (void)wt_wait_ok(ended);
    pid = ward_fork(&c, 0);
    cr_assert_geq(pid, 0, "ward_fork: %s", strerror(errno));
    if (pid == 0) {
        int bits = 0, st = 12345;

        /*
         * The parent's handles are foreign here: the waits give EINVAL,
         * the signals ESRCH (API.md, "Changes to the above").
         */
        struct timespec dl = wt_deadline_ms(1000);
        CHILD_CHECK(bits, 0, ward_wait(running, &st) == -1 && errno == EINVAL);
        CHILD_CHECK(bits, 1, ward_trywait(running, &st) == -1 && errno == EINVAL);
        CHILD_CHECK(bits, 2, ward_timedwait(running, &st, &dl) == -1 &&
                                 errno == EINVAL);
        CHILD_CHECK(bits, 3, ward_kill(running, SIGKILL) == -1 && errno == ESRCH &&
                                 ward_kill(running, 0) == -1 && errno == ESRCH);
        CHILD_CHECK(bits, 4, st == 12345);
        CHILD_CHECK(bits, 7, ward_pidfd(running) == -1 &&
                                 (errno == EINVAL ||
                                  (wt_posix_backend() && errno == ENOTSUP)));
        /* Freeing a foreign handle only releases memory. */
        ward_free(running);
        /* Not our child either through the wait family. */
        CHILD_CHECK(bits, 5, ward_waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD);
        ward_free(ended);
        _exit(bits);
    }
    assert_child_checks(wt_wait_ok(c));
    ward_free(c);
    /* The child's ward_kill() did not reach the parent's child. */
    int st;
    wt_assert_err(ward_trywait(running, &st), EAGAIN);
    wt_kill_reap(running);
    ward_free(ended);
}

Test(fork, inherited_ended_handle_keeps_its_cached_status)
{
    ward_child *ended = wt_spawn_ok(NULL, "3");
    ward_child *c = NULL;
    pid_t pid;

    /*
     * API.md ("Changes to the above"): a handle inherited across fork() is
     * foreign, except that a status cached before the fork is still
     * returned by the waits.  Signals still fail with ESRCH.
     */
    (void)wt_wait_ok(ended);
    pid = ward_fork(&c, 0);
    cr_assert_geq(pid, 0, "ward_fork: %s", strerror(errno));
    if (pid == 0) {
        int bits = 0, st = -1;
        struct timespec dl = wt_deadline_ms(1000);

        CHILD_CHECK(bits, 0, ward_wait(ended, &st) == 0 && WIFEXITED(st) &&
                                 WEXITSTATUS(st) == 3);
        st = -1;
        CHILD_CHECK(bits, 1, ward_trywait(ended, &st) == 0 && WIFEXITED(st) &&
                                 WEXITSTATUS(st) == 3);
        st = -1;
        CHILD_CHECK(bits, 2, ward_timedwait(ended, &st, &dl) == 0 &&
                                 WIFEXITED(st) && WEXITSTATUS(st) == 3);
        CHILD_CHECK(bits, 3, ward_kill(ended, 0) == -1 && errno == ESRCH);
        ward_free(ended);
        _exit(bits);
    }
    assert_child_checks(wt_wait_ok(c));
    ward_free(c);
    wt_reap_exit(ended, 3);
}

Test(fork, child_killpg_on_parents_group_leader_is_esrch)
{
    ward_attr *a = ward_attr_new();
    ward_child *leader, *c = NULL;
    pid_t pid;

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setflags(a, WARD_NEW_PGROUP), 0);
    leader = wt_spawn_ok(a, "sleep", "20000");
    pid = ward_fork(&c, 0);
    cr_assert_geq(pid, 0, "ward_fork: %s", strerror(errno));
    if (pid == 0) {
        int bits = 0;

        CHILD_CHECK(bits, 0, ward_killpg(leader, SIGKILL) == -1 && errno == ESRCH);
        /* It fails (EINVAL, or ESRCH from its kill) and signals nothing. */
        CHILD_CHECK(bits, 1, ward_terminate(leader, 0, NULL) == -1 &&
                                 (errno == EINVAL || errno == ESRCH));
        _exit(bits);
    }
    assert_child_checks(wt_wait_ok(c));
    ward_free(c);
    int st;
    wt_assert_err(ward_trywait(leader, &st), EAGAIN);
    wt_kill_reap(leader);
    ward_attr_free(a);
}

Test(fork, child_can_spawn)
{
    ward_child *c = NULL;
    pid_t pid = ward_fork(&c, 0);

    cr_assert_geq(pid, 0, "ward_fork: %s", strerror(errno));
    if (pid == 0) {
        int bits = 0, st = -1;
        char *argv[] = {(char *)wt_helper(), "sleep", "20", "exit", "21", NULL};
        ward_child *g = ward_spawn(NULL, argv, NULL);

        CHILD_CHECK(bits, 0, g != NULL);
        if (g != NULL) {
            CHILD_CHECK(bits, 1, wt_only_private_ok(ward_waitpid(-1, &st, WNOHANG)));
            CHILD_CHECK(bits, 2, ward_wait(g, &st) == 0);
            CHILD_CHECK(bits, 3, WIFEXITED(st) && WEXITSTATUS(st) == 21);
            ward_free(g);
        }
        /* And fork again, through ward. */
        ward_child *h = NULL;
        pid_t p = ward_fork(&h, 0);
        if (p == 0)
            _exit(22);
        CHILD_CHECK(bits, 4, p > 0 && h != NULL);
        if (p > 0) {
            CHILD_CHECK(bits, 5, ward_wait(h, &st) == 0 && WIFEXITED(st) &&
                                     WEXITSTATUS(st) == 22);
            ward_free(h);
        }
        CHILD_CHECK(bits, 6, wt_no_children());
        _exit(bits);
    }
    assert_child_checks(wt_wait_ok(c));
    ward_free(c);
}

struct forker_arg {
    struct wt_errors *e;
    int id;
};

enum { FORKERS = 4, FORKS_EACH = 25 };

static void *forker(void *p)
{
    struct forker_arg *a = p;

    for (int i = 0; i < FORKS_EACH; i++) {
        ward_child *c = NULL;
        int code = (a->id * FORKS_EACH + i) % 200, st = -1;
        pid_t pid = ward_fork(&c, 0);

        if (pid == 0)
            _exit(code);
        if (pid < 0) {
            wt_error(a->e, "ward_fork: %s", strerror(errno));
            continue;
        }
        if (ward_wait(c, &st) < 0)
            wt_error(a->e, "ward_wait: %s", strerror(errno));
        else if (!WIFEXITED(st) || WEXITSTATUS(st) != code)
            wt_error(a->e, "fork child %d: status 0x%x", code, st);
        ward_free(c);
    }
    return NULL;
}

Test(fork, many_forks_from_threads)
{
    struct wt_errors errs = WT_ERRORS_INIT;
    pthread_t t[FORKERS];
    struct forker_arg args[FORKERS];

    for (int i = 0; i < FORKERS; i++) {
        args[i] = (struct forker_arg){&errs, i};
        cr_assert_eq(pthread_create(&t[i], NULL, forker, &args[i]), 0);
    }
    for (int i = 0; i < FORKERS; i++)
        pthread_join(t[i], NULL);
    wt_assert_no_errors(&errs);
}

/* ---- prepare / parent / child ------------------------------------------ */

Test(fork, prepare_fork_parent_child)
{
    ward_child *c;
    pid_t pid;
    int st = -1;

    cr_assert_eq(ward_fork_prepare(), 0, "ward_fork_prepare: %s", strerror(errno));
    pid = fork();
    if (pid == 0) {
        ward_fork_child();
        /* The child may use ward at once. */
        char *argv[] = {(char *)wt_helper(), "0", NULL};
        ward_child *g = ward_spawn(NULL, argv, NULL);
        if (g == NULL || ward_wait(g, &st) != 0 || st != 0)
            _exit(90);
        ward_free(g);
        _exit(31);
    }
    c = ward_fork_parent(pid, 0);
    if (c == NULL && pid > 0) {
        int e = errno;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        cr_assert_fail("ward_fork_parent: %s", strerror(e));
    }
    cr_assert_gt(pid, 0, "fork: %s", strerror(errno));
    cr_assert_eq(ward_pid(c), pid);
    /* Private from here on. */
    wt_assert_err(ward_waitpid(pid, &st, WNOHANG), ECHILD);
    wt_reap_exit(c, 31);
}

Test(fork, prepare_with_kill_on_free)
{
    ward_child *c;
    pid_t pid;

    cr_assert_eq(ward_fork_prepare(), 0);
    pid = fork();
    if (pid == 0) {
        ward_fork_child();
        for (;;)
            pause();
    }
    c = ward_fork_parent(pid, WARD_KILL_ON_FREE);
    cr_assert_not_null(c, "ward_fork_parent: %s", strerror(errno));
    ward_free(c);
    cr_assert(wt_reaped(pid) && wt_gone(pid));
}

Test(fork, parent_minus_one_after_failed_fork)
{
    errno = EAGAIN;
    cr_assert_eq(ward_fork_prepare(), 0);
    errno = EAGAIN; /* what the failed fork() left */
    cr_assert_null(ward_fork_parent(-1, 0));
    cr_assert_eq(errno, EAGAIN, "ward_fork_parent(-1) changed errno to %s",
                 strerror(errno));
    /* Everything prepare took was released: ward works, prepare works. */
    ward_child *c = wt_spawn_ok(NULL, "2");
    wt_reap_exit(c, 2);
    cr_assert_eq(ward_fork_prepare(), 0, "second prepare: %s", strerror(errno));
    errno = ENOMEM;
    cr_assert_null(ward_fork_parent(-1, 0));
    cr_assert_eq(errno, ENOMEM);
    c = wt_spawn_ok(NULL, "3");
    wt_reap_exit(c, 3);
}

Test(fork, double_prepare_is_edeadlk)
{
    cr_assert_eq(ward_fork_prepare(), 0);
    wt_assert_err(ward_fork_prepare(), EDEADLK);
    cr_assert_null(ward_fork_parent(-1, 0));
    /* Released once: usable again. */
    ward_child *c = wt_spawn_ok(NULL, "1");
    wt_reap_exit(c, 1);
}

struct other_thread {
    int ret, err;
};

static void *prepare_in_thread(void *arg)
{
    struct other_thread *o = arg;

    o->ret = ward_fork_prepare();
    o->err = errno;
    if (o->ret == 0)
        ward_fork_parent(-1, 0);
    return NULL;
}

Test(fork, prepare_is_per_thread)
{
    struct other_thread o = {-2, 0};
    pthread_t t;

    /*
     * Another thread's prepare is not a double prepare: it waits for ours to
     * be released (or succeeds), it never fails with EDEADLK.
     */
    cr_assert_eq(ward_fork_prepare(), 0);
    cr_assert_eq(pthread_create(&t, NULL, prepare_in_thread, &o), 0);
    wt_sleep_ms(50);
    cr_assert_null(ward_fork_parent(-1, 0));
    pthread_join(t, NULL);
    cr_assert_eq(o.ret, 0, "prepare in another thread: %s", strerror(o.err));
}

Test(fork, parent_without_prepare_is_einval)
{
    pid_t pid = wt_own_child(0, 20000);
    int st;

    wt_assert_null_err(ward_fork_parent(pid, 0), EINVAL);
    /* The child was not ward's to take: it is still ours. */
    cr_assert_eq(kill(pid, SIGKILL), 0, "child %ld gone", (long)pid);
    cr_assert_eq(ward_waitpid(pid, &st, 0), pid, "ward_waitpid: %s",
                 strerror(errno));
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
}

Test(fork, parent_bad_flags_kills_and_reaps_the_child)
{
    pid_t pid;

    cr_assert_eq(ward_fork_prepare(), 0);
    pid = fork();
    if (pid == 0) {
        ward_fork_child();
        for (;;)
            pause();
    }
    cr_assert_gt(pid, 0);
    wt_assert_null_err(ward_fork_parent(pid, WARD_NEW_SESSION), EINVAL);
    /* Nothing is left: killed with SIGKILL and reaped. */
    cr_assert(wt_reaped(pid), "child of a failed ward_fork_parent() not reaped");
    cr_assert(wt_gone(pid));
    /* And prepare was released. */
    cr_assert_eq(ward_fork_prepare(), 0, "prepare after failed parent: %s",
                 strerror(errno));
    cr_assert_null(ward_fork_parent(-1, 0));
}

/* ---- After any fork ----------------------------------------------------- */

Test(fork, plain_fork_child_starts_empty)
{
    ward_child *running = wt_spawn_ok(NULL, "sleep", "20000");
    pid_t pid = fork();
    int st;

    /* No ward_fork_child(): the atfork handler must do it. */
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int bits = 0, s = -1;
        char *argv[] = {(char *)wt_helper(), "sleep", "20", "exit", "25", NULL};

        CHILD_CHECK(bits, 0, ward_trywait(running, &s) == -1 && errno == EINVAL);
        CHILD_CHECK(bits, 1, ward_kill(running, SIGKILL) == -1 && errno == ESRCH);
        ward_child *g = ward_spawn(NULL, argv, NULL);
        CHILD_CHECK(bits, 2, g != NULL);
        if (g != NULL) {
            struct timespec dl = wt_deadline_ms(wt_ms(10000));
            int r;
            while ((r = ward_timedwait(g, &s, &dl)) == -1 && errno == EINTR)
                ;
            CHILD_CHECK(bits, 3, r == 0 && WIFEXITED(s) && WEXITSTATUS(s) == 25);
            ward_free(g);
        }
        _exit(bits);
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    assert_child_checks(st);
    wt_assert_err(ward_trywait(running, &st), EAGAIN);
    wt_kill_reap(running);
}

Test(fork, child_activity_does_not_disturb_parent)
{
    ward_child *mine = wt_spawn_ok(NULL, "sleep", "400", "exit", "5");
    ward_child *f = NULL;
    pid_t pid = ward_fork(&f, 0);
    struct timespec dl;
    int st = -1;

    /*
     * The child spawns, waits and times out with ward while the parent
     * waits: if they shared a backend descriptor (an epoll set, a pipe), one
     * would see or eat the other's events.
     */
    cr_assert_geq(pid, 0, "ward_fork: %s", strerror(errno));
    if (pid == 0) {
        int bits = 0, s;
        char *quick[] = {(char *)wt_helper(), "9", NULL};
        char *slow[] = {(char *)wt_helper(), "sleep", "20000", NULL};

        for (int i = 0; i < 20; i++) {
            ward_child *g = ward_spawn(NULL, quick, NULL);
            if (g == NULL || ward_wait(g, &s) != 0 || !WIFEXITED(s) ||
                WEXITSTATUS(s) != 9)
                bits |= 1;
            ward_free(g);
        }
        ward_child *g = ward_spawn(NULL, slow, NULL);
        struct timespec d = wt_deadline_ms(100);
        int r;
        /* EINTR is allowed ("call again"); this test is about sharing. */
        while (g != NULL && (r = ward_timedwait(g, &s, &d)) == -1 && errno == EINTR)
            ;
        CHILD_CHECK(bits, 1, g != NULL && r == -1 && errno == ETIMEDOUT);
        if (g != NULL) {
            ward_kill(g, SIGKILL);
            CHILD_CHECK(bits, 2, ward_wait(g, &s) == 0 && WIFSIGNALED(s));
            ward_free(g);
        }
        _exit(bits);
    }
    /* The parent's timed wait must neither end early nor miss the exit. */
    dl = wt_deadline_ms(wt_ms(20000));
    int r;
    while ((r = ward_timedwait(mine, &st, &dl)) == -1 && errno == EINTR)
        ;
    cr_assert_eq(r, 0, "ward_timedwait: %s", strerror(errno));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 5, "status 0x%x", st);
    ward_free(mine);
    assert_child_checks(wt_wait_ok(f));
    ward_free(f);
}
