/*
 * test_faults.c - spawning when the kernel says no: no descriptor left
 * (EMFILE), no process left (EAGAIN from RLIMIT_NPROC), and waits under a
 * storm of signals (EINTR).
 *
 * Each test asserts the documented errno, that the failure left nothing
 * behind (no descriptor, no child, no heap growth: the WT_SUITE fixture
 * checks descriptors and children once more at the end), and that ward
 * works normally once the pressure is gone.
 */
#include "rel.h"

#include <grp.h>

WT_SUITE(emfile);
WT_SUITE(nproc);
WT_SUITE(eintr);

/* ---- EMFILE --------------------------------------------------------------- */

#define MAXK 12

struct attempt {
    int ok;        /* the spawn succeeded */
    int err;       /* its errno otherwise */
    int fd_delta;  /* descriptors after minus before, while limited */
    int kids;      /* a child was left behind by a failed spawn */
    int status;    /* the status of a successful one */
    char out[64];  /* what it wrote */
};

/*
 * Spawn "echo hi" with stdin on /dev/null and stdout, stderr on pipes (five
 * descriptors, and the pidfd where one is left) while only k descriptors
 * can be opened.
 */
static void try_spawn_with_k_free(const ward_attr *a, int k, struct attempt *r)
{
    struct rel_fds f;
    ward_child *c;
    int before;

    memset(r, 0, sizeof *r);
    rel_fds_limit(&f, k);
    before = wt_count_fds();
    errno = 0;
    c = wt_spawn(a, "echo", "hi");
    r->err = errno;
    if (c == NULL) {
        r->fd_delta = wt_count_fds() - before;
        r->kids = !wt_no_children();
        rel_fds_restore(&f);
        return;
    }
    r->ok = 1;
    /* Release the filler descriptors first: reading needs none, waiting none. */
    rel_fds_restore(&f);
    if (ward_stdio(c, 1) >= 0)
        wt_read_all(ward_stdio(c, 1), r->out, sizeof r->out);
    r->status = wt_wait_ok(c);
    ward_free(c);
}

Test(emfile, spawn_with_pipes_at_every_descriptor_shortage)
{
    ward_attr *a = ward_attr_new();
    struct attempt r[MAXK];
    int failures = 0, first_ok = -1;
    size_t heap0;

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setstdio(a, 0, WARD_STDIO_NULL, -1), 0);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    cr_assert_eq(ward_attr_setstdio(a, 2, WARD_STDIO_PIPE, -1), 0);
    /* One unlimited round first: what ward allocates once is then there. */
    try_spawn_with_k_free(a, MAXK + 4, &r[0]);
    cr_assert(r[0].ok, "spawn with enough descriptors: %s", strerror(r[0].err));
    heap0 = rel_heap();

    for (int k = 0; k < MAXK; k++)
        try_spawn_with_k_free(a, k, &r[k]);

    for (int k = 0; k < MAXK; k++) {
        if (r[k].ok) {
            if (first_ok < 0)
                first_ok = k;
            cr_assert(WIFEXITED(r[k].status) && WEXITSTATUS(r[k].status) == 0,
                      "k=%d: status 0x%x", k, r[k].status);
            cr_assert_str_eq(r[k].out, "hi\n", "k=%d: output '%s'", k, r[k].out);
            continue;
        }
        failures++;
        cr_assert_eq(r[k].err, EMFILE, "k=%d free descriptors: errno %d (%s), expected EMFILE",
                     k, r[k].err, strerror(r[k].err));
        cr_assert_eq(r[k].fd_delta, 0, "k=%d: the failed spawn left %d descriptor(s)",
                     k, r[k].fd_delta);
        cr_assert_eq(r[k].kids, 0, "k=%d: the failed spawn left a child", k);
        cr_assert_lt(first_ok, 0, "k=%d failed after k=%d had succeeded", k, first_ok);
    }
    /*
     * Five descriptors are needed (the pipes, /dev/null): k = 0..4 fail.
     * The pidfd is not: at k = 5 the child is made without one.
     */
    cr_assert_eq(failures, 5,
                 "%d spawns failed with EMFILE, first success at k=%d", failures, first_ok);
    cr_assert_eq(rel_heap(), heap0, "heap grew by %zd bytes over the failed spawns",
                 (ssize_t)(rel_heap() - heap0));
    /* And ward works as before. */
    wt_reap_exit(wt_spawn_ok(a, "exit", "9"), 9);
    ward_attr_free(a);
}

/*
 * A default spawn needs no descriptor at all: where none is left for the
 * pidfd, the linux backend makes the child without one (ward_spawn(3)),
 * as posix_spawn() would succeed.  Its handle has no pidfd (ENOTSUP), and
 * it is waited for by pid, blocking and timed.
 */
Test(emfile, default_spawn_needs_no_descriptor)
{
    struct rel_fds f;
    ward_child *c, *d;
    int before, err, delta, pidfd, pidfd_err, st = -1;
    struct timespec dl = wt_deadline_ms(wt_ms(30000));

    rel_fds_limit(&f, 0);
    before = wt_count_fds();
    errno = 0;
    c = wt_spawn(NULL, "exit", "4");
    err = errno;
    d = wt_spawn(NULL, "sleep", "50");
    delta = wt_count_fds() - before;
    errno = 0;
    pidfd = c != NULL ? ward_pidfd(c) : -1;
    pidfd_err = errno;
    rel_fds_restore(&f);
    cr_assert_not_null(c, "spawn with no descriptor free: %s", strerror(err));
    cr_assert_not_null(d, "second spawn with no descriptor free");
    cr_assert_eq(delta, 0, "%d descriptor(s) taken", delta);
    cr_assert_eq(pidfd, -1);
    cr_assert_eq(pidfd_err, ENOTSUP, "ward_pidfd: %s, expected ENOTSUP", strerror(pidfd_err));
    cr_assert_eq(ward_timedwait(d, &st, &dl), 0, "ward_timedwait: %s", strerror(errno));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
    ward_free(d);
    wt_reap_exit(c, 4);
    wt_reap_exit(wt_spawn_ok(NULL, "exit", "5"), 5);
}

/*
 * Standard input closed and no other number free: the pidfd takes 0 and
 * cannot be moved above 2.  An ordinary child is then kept by its pid, and
 * 0 is free again.  A kernel-private (autoreaped) child has nothing but
 * its pidfd to be named by: it must be killed and gone before the spawn
 * returns EMFILE.
 */
Test(emfile, pidfd_landing_on_stdin_with_no_room_to_move)
{
    struct rel_fds f;
    ward_child *c;
    int saved0 = dup(0), before, err, delta, kids, zero_open;

    cr_assert_geq(saved0, 0);
    rel_fds_limit(&f, 0);
    close(0);
    before = wt_count_fds();
    errno = 0;
    c = wt_spawn(NULL, "sleep", "5000");
    err = errno;
    delta = wt_count_fds() - before;
    kids = !wt_no_children();
    zero_open = fcntl(0, F_GETFD) >= 0;
    if (c != NULL)
        ward_kill(c, SIGKILL);
    rel_fds_restore(&f);
    dup2(saved0, 0);
    close(saved0);
    if (wt_posix_backend() || !wt_spawns_private()) {
        cr_assert_not_null(c, "spawn with only fd 0 free: %s", strerror(err));
        cr_assert_eq(delta, 0, "%d descriptor(s) left", delta);
        cr_assert_eq(zero_open, 0, "descriptor 0 left open");
        errno = 0;
        cr_assert_eq(ward_pidfd(c), -1);
        cr_assert_eq(errno, ENOTSUP);
        cr_assert(WIFSIGNALED(wt_wait_ok(c)));
        ward_free(c);
        return;
    }
    cr_assert_null(c, "spawn succeeded with a pidfd on descriptor 0");
    cr_assert_eq(err, EMFILE, "errno %d (%s), expected EMFILE", err, strerror(err));
    cr_assert_eq(delta, 0, "%d descriptor(s) left", delta);
    cr_assert_eq(zero_open, 0, "descriptor 0 left open");
    cr_assert_eq(kids, 0, "the child was left behind");
    wt_reap_exit(wt_spawn_ok(NULL, "exit", "6"), 6);
}

Test(emfile, fork_without_a_descriptor_for_the_pidfd)
{
    struct rel_fds f;
    ward_child *c = NULL;
    pid_t pid;
    int before, err, delta, kids;

    rel_fds_limit(&f, 0);
    before = wt_count_fds();
    errno = 0;
    pid = ward_fork(&c, 0);
    if (pid == 0)
        _exit(3);
    err = errno;
    delta = wt_count_fds() - before;
    kids = !wt_no_children();
    rel_fds_restore(&f);
    if (wt_posix_backend()) {
        cr_assert_gt(pid, 0, "posix ward_fork with no descriptor free: %s", strerror(err));
        wt_reap_exit(c, 3);
        return;
    }
    cr_assert_eq(pid, -1, "ward_fork succeeded without a pidfd");
    cr_assert_eq(err, EMFILE, "errno %d (%s), expected EMFILE", err, strerror(err));
    cr_assert_eq(delta, 0);
    cr_assert_eq(kids, 0, "the forked child was left behind");
    pid = ward_fork(&c, 0);
    if (pid == 0)
        _exit(8);
    cr_assert_gt(pid, 0, "ward_fork: %s", strerror(errno));
    wt_reap_exit(c, 8);
}

/*
 * The first timed wait and the first ward_events_fd() of a process (which
 * make what ward keeps for the rest of its life: the posix backend's
 * SIGCHLD self-pipe, the events set) meet a descriptor shortage.  The
 * events call must fail with EMFILE, and once descriptors are back,
 * everything must work: no fallback chosen under pressure may stick.
 */
Test(emfile, shortage_at_first_use_does_not_stick, .timeout = 60)
{
    char out[1024];
    int code = rel_probe_run(out, sizeof out, "emfile-first", wt_helper());

    cr_assert_eq(code, 0, "probe emfile-first (%s backend): exit %d: %s",
                 ward_backend(), code, out);
}

/*
 * The first call into ward of a process, a spawn, with no descriptor
 * free: it succeeds, and the backend chosen then is the one chosen with
 * descriptors (no posix backend for life on Linux because a probe had no
 * descriptor to open).
 */
Test(emfile, first_spawn_of_a_process_with_no_descriptor_free, .timeout = 60)
{
    char out[1024];
    int code = rel_probe_run(out, sizeof out, "emfile-spawn-first", wt_helper());

    cr_assert_eq(code, 0, "probe emfile-spawn-first (%s backend): exit %d: %s",
                 ward_backend(), code, out);
}

/* ---- EAGAIN from the process limit ---------------------------------------- */

/*
 * Root ignores RLIMIT_NPROC, so the check runs in a fork() child that
 * becomes uid 65534 first.  The limit counts the processes of the real
 * user; 1 (this process) is already the limit, so any new one is refused.
 */
static int nproc_body(void *arg)
{
    struct rlimit saved, rl;
    ward_attr *a;
    ward_child *c, *fc = NULL;
    size_t heap0;
    int fds0, st = 0;

    (void)arg;
    if (getuid() == 0) {
        if (setgroups(0, NULL) == -1 || setgid(65534) == -1 || setuid(65534) == -1)
            rel_skip("cannot become uid 65534 (%s): the process limit does not "
                     "apply to root", strerror(errno));
    }
    if (access(wt_helper_path, X_OK) == -1)
        rel_skip("uid %d cannot run %s", (int)getuid(), wt_helper_path);
    rel_check((a = ward_attr_new()) != NULL);
    rel_check(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1) == 0);
    rel_check(ward_attr_setstdio(a, 0, WARD_STDIO_NULL, -1) == 0);
    rel_check(getrlimit(RLIMIT_NPROC, &saved) == 0);
    rl = saved;
    rl.rlim_cur = 1;
    if (setrlimit(RLIMIT_NPROC, &rl) == -1)
        rel_skip("setrlimit(RLIMIT_NPROC): %s", strerror(errno));

    fds0 = wt_count_fds();
    heap0 = rel_heap();
    for (int i = 0; i < 20; i++) {
        errno = 0;
        c = wt_spawn(i % 2 ? a : NULL, "exit", "0");
        if (c != NULL)
            rel_fail("spawn %d succeeded over RLIMIT_NPROC (are there no limits "
                     "for uid %d?)", i, (int)getuid());
        rel_checkf(errno == EAGAIN, "spawn %d: errno %d (%s), expected EAGAIN", i,
                   errno, strerror(errno));
        rel_checkf(wt_count_fds() == fds0, "spawn %d left %d descriptor(s)", i,
                   wt_count_fds() - fds0);
        rel_checkf(wt_no_children(), "spawn %d left a child", i);
    }
    errno = 0;
    rel_checkf(ward_fork(&fc, 0) == -1 && errno == EAGAIN,
               "ward_fork: errno %d (%s), expected -1/EAGAIN", errno, strerror(errno));
    rel_check(fc == NULL);
    rel_checkf(rel_heap() == heap0, "heap grew by %zd bytes over the refused spawns",
               (ssize_t)(rel_heap() - heap0));
    rel_check(wt_count_fds() == fds0);

    /* The limit gone, everything works again. */
    rel_check(setrlimit(RLIMIT_NPROC, &saved) == 0);
    rel_checkf(rel_spawn_exit(a, 33, &st) == 0, "spawn after the limit: %s", strerror(errno));
    rel_checkf(WIFEXITED(st) && WEXITSTATUS(st) == 33, "status 0x%x", st);
    ward_attr_free(a);
    rel_check(wt_no_children());
    return 0;
}

Test(nproc, spawn_and_fork_over_the_process_limit_are_eagain)
{
    rel_run_subprocess(nproc_body, NULL, 20);
}

/* ---- EINTR storms ---------------------------------------------------------- */

/*
 * SIGALRM every 100 microseconds, caught by a handler installed without
 * SA_RESTART.  The timer is stopped before any assertion: Criterion's own
 * I/O is not made to survive it.
 */
static atomic_long alarms;
static struct sigaction old_alrm;

static void on_alarm(int sig)
{
    (void)sig;
    atomic_fetch_add(&alarms, 1);
}

static void storm_start(void)
{
    struct sigaction sa;
    struct itimerval it = {{0, 100}, {0, 100}};

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = 0; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &old_alrm);
    setitimer(ITIMER_REAL, &it, NULL);
}

static void storm_stop(void)
{
    struct itimerval off;

    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old_alrm, NULL);
}

/* What one wait under the storm gave. */
struct stormed {
    int r, err, status;
    long eintr;
    double ms;
};

enum { VIA_WAIT, VIA_TIMEDWAIT };

static void wait_in_storm(ward_child *c, int via, long deadline_ms, struct stormed *s)
{
    struct timespec dl = wt_deadline_ms(deadline_ms);
    double t0 = wt_now_ms();

    memset(s, 0, sizeof *s);
    s->status = -12345;
    storm_start();
    for (;;) {
        s->r = via == VIA_WAIT ? ward_wait(c, &s->status)
                               : ward_timedwait(c, &s->status, &dl);
        s->err = errno;
        if (s->r == 0 || s->err != EINTR)
            break;
        s->eintr++;
    }
    storm_stop();
    s->ms = wt_now_ms() - t0;
}

static void check_exit(const struct stormed *s, int code, const char *what)
{
    cr_assert_eq(s->r, 0, "%s: errno %d (%s) after %ld EINTR", what, s->err,
                 strerror(s->err), s->eintr);
    cr_assert(WIFEXITED(s->status) && WEXITSTATUS(s->status) == code,
              "%s: status 0x%x, expected exit %d", what, s->status, code);
}

Test(eintr, wait_and_timedwait_retry_to_the_right_status)
{
    long total = 0;
    size_t heap0 = 0;

    for (int round = 0; round < 6; round++) {
        char code[8];
        ward_child *c;
        struct stormed s;

        snprintf(code, sizeof code, "%d", 10 + round);
        c = wt_spawn_ok(NULL, "sleep", "150", "exit", code);
        wait_in_storm(c, round % 2 ? VIA_TIMEDWAIT : VIA_WAIT, wt_ms(20000), &s);
        check_exit(&s, 10 + round, round % 2 ? "ward_timedwait" : "ward_wait");
        total += s.eintr;
        /* Waiting again returns the cached status, storm or not. */
        {
            struct stormed again;
            wait_in_storm(c, VIA_WAIT, 0, &again);
            check_exit(&again, 10 + round, "second ward_wait");
            cr_assert_eq(again.eintr, 0, "a cached status was interrupted");
        }
        ward_free(c);
        if (round == 0)
            heap0 = rel_heap();
    }
    cr_assert_eq(rel_heap(), heap0, "heap grew by %zd bytes", (ssize_t)(rel_heap() - heap0));
    cr_assert_gt(total, 0, "no wait was ever interrupted: the storm did not reach it");
    cr_log_info("eintr: %ld interruptions over 6 waits, %ld alarms", total,
                atomic_load(&alarms));
}

Test(eintr, timedwait_deadline_holds_across_interruptions)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "10000");
    struct stormed s;

    wait_in_storm(c, VIA_TIMEDWAIT, 300, &s);
    cr_assert_eq(s.r, -1, "timed wait returned %d before the child ended", s.r);
    cr_assert_eq(s.err, ETIMEDOUT, "errno %d (%s), expected ETIMEDOUT", s.err, strerror(s.err));
    cr_assert_geq(s.ms, 290.0, "timed out after %.1f ms, deadline 300 ms", s.ms);
    cr_assert_lt(s.ms, (double)wt_ms(3000), "timed out after %.1f ms, deadline 300 ms", s.ms);
    cr_assert_gt(s.eintr, 0);
    wt_kill_reap(c);
}

/* ward_waitpid(-1) and ward_waitid(P_ALL) under the storm: own child out, private kept. */
Test(eintr, waitpid_any_retries_and_keeps_private_status)
{
    ward_child *c = wt_spawn_ok(NULL, "sleep", "50", "exit", "21");
    pid_t own = wt_own_child(22, 250), own2, r = -1;
    int st = -1, err = 0;
    long eintr = 0;
    siginfo_t si;

    storm_start();
    while ((r = ward_waitpid(-1, &st, 0)) == -1 && (err = errno) == EINTR)
        eintr++;
    storm_stop();
    cr_assert_eq(r, own, "ward_waitpid(-1) returned %d (errno %s), expected the own child %d",
                 (int)r, strerror(err), (int)own);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 22, "own status 0x%x", st);
    cr_assert_gt(eintr, 0);
    wt_reap_exit(c, 21);

    c = wt_spawn_ok(NULL, "sleep", "50", "exit", "23");
    own2 = wt_own_child(24, 250);
    eintr = 0;
    storm_start();
    for (;;) {
        memset(&si, 0, sizeof si);
        if (ward_waitid(P_ALL, 0, &si, WEXITED) == 0)
            break;
        err = errno;
        if (err != EINTR)
            break;
        eintr++;
    }
    storm_stop();
    cr_assert_eq(si.si_pid, own2, "ward_waitid(P_ALL) gave pid %d (errno %s)",
                 (int)si.si_pid, strerror(err));
    cr_assert(si.si_code == CLD_EXITED && si.si_status == 24);
    cr_assert_gt(eintr, 0);
    wt_reap_exit(c, 23);
}

Test(eintr, terminate_and_kill_on_free_never_fail_with_eintr)
{
    ward_attr *a = ward_attr_new();
    ward_attr *out = ward_attr_new();
    ward_child *c;
    char line[32];
    int st = -1, r, err;

    /*
     * The child ignores SIGTERM: terminate waits out the grace, then kills.
     * It says so once it does, however long its start takes.
     */
    cr_assert_not_null(out);
    cr_assert_eq(ward_attr_setstdio(out, 1, WARD_STDIO_PIPE, -1), 0);
    c = wt_spawn_ok(out, "ignore", "TERM", "echo", "ready", "sleep", "10000");
    ward_attr_free(out);
    cr_assert_eq(wt_read_line(ward_stdio(c, 1), line, sizeof line), 0,
                 "no line from the helper");
    cr_assert_str_eq(line, "ready");
    storm_start();
    r = ward_terminate(c, 200, &st);
    err = errno;
    storm_stop();
    cr_assert_eq(r, 0, "ward_terminate: %s", strerror(err));
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
    ward_free(c);

    cr_assert_eq(ward_attr_setflags(a, WARD_KILL_ON_FREE), 0);
    c = wt_spawn_ok(a, "sleep", "10000");
    storm_start();
    ward_free(c); /* must kill and reap, interrupted or not */
    storm_stop();
    cr_assert(wt_no_children(), "kill-on-free left its child under the storm");
    ward_attr_free(a);
}

/* Spawning under the storm: never EINTR, every exec error exact. */
Test(eintr, spawns_under_the_storm_are_exact)
{
    int bad = 0, first_err = 0, first_i = -1, wrong = 0, first_st = 0;
    size_t heap0;
    long eintr = 0;

    wt_reap_exit(wt_spawn_ok(NULL, "0"), 0);
    heap0 = rel_heap();
    storm_start();
    for (int i = 0; i < 300; i++) {
        char code[8];
        ward_child *c;
        int st, r;

        if (i % 3 == 2) {
            char *argv[] = {"/nonexistent/ward-test-program", NULL};
            errno = 0;
            c = ward_spawn(NULL, argv, NULL);
            if (c != NULL || errno != ENOENT) {
                if (bad++ == 0) {
                    first_err = errno;
                    first_i = i;
                }
                if (c != NULL) {
                    while (ward_wait(c, NULL) == -1 && errno == EINTR)
                        ;
                    ward_free(c);
                }
            }
            continue;
        }
        snprintf(code, sizeof code, "%d", i % 200);
        c = wt_spawn(NULL, code);
        if (c == NULL) {
            if (bad++ == 0) {
                first_err = errno;
                first_i = i;
            }
            continue;
        }
        while ((r = ward_wait(c, &st)) == -1 && errno == EINTR)
            eintr++;
        if (r != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != i % 200) {
            if (wrong++ == 0)
                first_st = r == 0 ? st : -errno;
        }
        ward_free(c);
    }
    storm_stop();
    cr_assert_eq(bad, 0, "%d spawn(s) failed or gave the wrong error; first: #%d, errno %d (%s)",
                 bad, first_i, first_err, strerror(first_err));
    cr_assert_eq(wrong, 0, "%d wrong status(es); first 0x%x", wrong, first_st);
    cr_assert_eq(rel_heap(), heap0, "heap grew by %zd bytes", (ssize_t)(rel_heap() - heap0));
    cr_log_info("spawns under the storm: %ld EINTR in waits, %ld alarms", eintr,
                atomic_load(&alarms));
}

/* Several threads waiting (posix: one leader polls, the rest follow). */
struct waiter {
    ward_child *c;
    int code;
    int timed;
    struct stormed s;
};

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;
    struct timespec dl = wt_deadline_ms(wt_ms(20000));

    memset(&w->s, 0, sizeof w->s);
    for (;;) {
        w->s.r = w->timed ? ward_timedwait(w->c, &w->s.status, &dl)
                          : ward_wait(w->c, &w->s.status);
        w->s.err = errno;
        if (w->s.r == 0 || w->s.err != EINTR)
            break;
        w->s.eintr++;
    }
    return NULL;
}

Test(eintr, many_threads_waiting_through_the_storm)
{
    enum { N = 6 };
    struct waiter w[N];
    pthread_t t[N];
    ward_child *c[3];

    for (int i = 0; i < 3; i++) {
        char code[8], ms[8];
        snprintf(code, sizeof code, "%d", 40 + i);
        snprintf(ms, sizeof ms, "%d", 100 + 60 * i);
        c[i] = wt_spawn_ok(NULL, "sleep", ms, "exit", code);
    }
    storm_start();
    for (int i = 0; i < N; i++) {
        /* Two threads per child, one timed and one not. */
        w[i].c = c[i % 3];
        w[i].code = 40 + i % 3;
        w[i].timed = i >= 3;
        pthread_create(&t[i], NULL, waiter_main, &w[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    storm_stop();
    for (int i = 0; i < N; i++)
        check_exit(&w[i].s, w[i].code, w[i].timed ? "ward_timedwait" : "ward_wait");
    for (int i = 0; i < 3; i++)
        ward_free(c[i]);
}
