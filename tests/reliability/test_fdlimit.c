/*
 * test_fdlimit.c - spawning where descriptors run out: a low soft
 * RLIMIT_NOFILE, a thousand live children.
 *
 * A spawn must not fail for want of a descriptor where a child without a
 * pidfd can be had (ward_spawn(3)): on the linux backend the first children
 * get pidfds, the rest are kept by pid.  Every one of them must be started,
 * signalled, reported by the events descriptor and reaped with its true
 * status; none may be left behind (the WT_SUITE fixture checks descriptors
 * and children at the end).  With a thief that reaps any child by raw
 * system call, ward cannot keep a child with no pidfd from it: its wait
 * then fails with ECHILD (ward(7)), and so does a pidfd child's where the
 * kernel keeps no exit record; any status that is reported is the true one.
 */
#include "rel.h"

WT_SUITE_EVENTS(fdlimit);

#define FD_LIMIT 64
#define N_CHILDREN 1000

static const int kill_sigs[] = { SIGTERM, SIGKILL, SIGINT, SIGUSR1, SIGHUP };
#define N_SIGS ((int)(sizeof kill_sigs / sizeof kill_sigs[0]))

struct kid {
    ward_child *c;
    int has_pidfd;   /* ward_pidfd() gave a descriptor */
    int no_pidfd;    /* ward_pidfd() failed with ENOTSUP */
    int cb_status;   /* what the exit callback got */
    int cb_ran;
};

static struct kid kids[N_CHILDREN];
static int cb_total;

static void on_exit_cb(ward_child *c, int status, void *data)
{
    struct kid *k = data;

    (void)c;
    k->cb_status = status;
    k->cb_ran++;
    cb_total++;
}

/* Lower the soft limit to FD_LIMIT; the hard one stays. */
static void limit_fds(struct rlimit *saved)
{
    struct rlimit rl;

    cr_assert_eq(getrlimit(RLIMIT_NOFILE, saved), 0);
    cr_assert_lt(wt_count_fds(), FD_LIMIT / 2, "too many descriptors open to start");
    rl = *saved;
    rl.rlim_cur = FD_LIMIT;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0, "setrlimit: %s", strerror(errno));
}

/*
 * Spawn N_CHILDREN sleepers at the limit.  Returns how many spawns failed
 * (their errno in *err); the handles are in kids[].
 */
static int spawn_all(int *err)
{
    char ms[32];
    int failed = 0;

    snprintf(ms, sizeof ms, "%ld", wt_ms(600000));
    memset(kids, 0, sizeof kids);
    cb_total = 0;
    for (int i = 0; i < N_CHILDREN; i++) {
        errno = 0;
        kids[i].c = wt_spawn(NULL, "sleep", ms);
        if (kids[i].c == NULL) {
            if (failed++ == 0)
                *err = errno;
            continue;
        }
        errno = 0;
        if (ward_pidfd(kids[i].c) >= 0)
            kids[i].has_pidfd = 1;
        else if (errno == ENOTSUP)
            kids[i].no_pidfd = 1;
    }
    return failed;
}

static void count_kinds(int *with, int *without)
{
    *with = *without = 0;
    for (int i = 0; i < N_CHILDREN; i++) {
        *with += kids[i].has_pidfd;
        *without += kids[i].no_pidfd;
    }
}

/* Kill and free whatever a failed test left, so the fixture finds nothing. */
static void cleanup(void)
{
    for (int i = 0; i < N_CHILDREN; i++) {
        if (kids[i].c != NULL) {
            (void)ward_kill(kids[i].c, SIGKILL);
            (void)ward_wait(kids[i].c, NULL);
            ward_free(kids[i].c);
            kids[i].c = NULL;
        }
    }
}

static void assert_mixed(int failed, int err, int with, int without)
{
    if (failed > 0)
        cleanup();
    cr_assert_eq(failed, 0, "%d of %d spawns failed at RLIMIT_NOFILE %d, the first "
                 "with %s", failed, N_CHILDREN, FD_LIMIT, strerror(err));
    cr_assert_eq(with + without, N_CHILDREN, "%d with a pidfd, %d without, of %d",
                 with, without, N_CHILDREN);
    if (wt_posix_backend()) {
        cr_assert_eq(with, 0);
    } else {
        /* The first ones while descriptors last, then the rest by pid. */
        cr_assert_gt(with, 0, "no child got a pidfd");
        cr_assert_geq(without, N_CHILDREN - FD_LIMIT, "only %d children without a pidfd",
                      without);
    }
}

/*
 * No thief: every child is signalled (by pid where it has no pidfd),
 * reported through the events descriptor, and reaped with its true status,
 * which ward_wait() then gives again; once reaped, ward_kill() is ESRCH.
 */
Test(fdlimit, thousand_live_children_at_nofile_64, .timeout = 600)
{
    struct rlimit saved;
    struct pollfd pfd;
    int efd = ward_events_fd(), failed, err = 0, with, without, st;
    double end;

    cr_assert_geq(efd, 0);
    limit_fds(&saved);
    failed = spawn_all(&err);
    count_kinds(&with, &without);
    for (int i = 0; i < N_CHILDREN && failed == 0; i++) {
        cr_assert_eq(ward_setcallback(kids[i].c, on_exit_cb, &kids[i]), 0);
        cr_assert_eq(ward_kill(kids[i].c, kill_sigs[i % N_SIGS]), 0,
                     "ward_kill of child %d (%s pidfd): %s", i,
                     kids[i].has_pidfd ? "with" : "without", strerror(errno));
    }
    /* Every end through the events descriptor, at the limit still. */
    end = wt_now_ms() + (double)wt_ms(60000);
    while (failed == 0 && cb_total < N_CHILDREN && wt_now_ms() < end) {
        pfd.fd = efd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, 1000) > 0)
            cr_assert_geq(ward_dispatch(), 0, "ward_dispatch: %s", strerror(errno));
    }
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
    assert_mixed(failed, err, with, without);
    if (cb_total < N_CHILDREN)
        cleanup();
    cr_assert_eq(cb_total, N_CHILDREN, "%d of %d exits reported by the events descriptor "
                 "(%d with a pidfd, %d without)", cb_total, N_CHILDREN, with, without);
    for (int i = 0; i < N_CHILDREN; i++) {
        int sig = kill_sigs[i % N_SIGS];

        cr_assert_eq(kids[i].cb_ran, 1);
        cr_assert(WIFSIGNALED(kids[i].cb_status) && WTERMSIG(kids[i].cb_status) == sig,
                  "child %d (%s pidfd): status 0x%x, expected signal %d", i,
                  kids[i].has_pidfd ? "with" : "without", kids[i].cb_status, sig);
        st = -1;
        cr_assert_eq(ward_wait(kids[i].c, &st), 0, "ward_wait: %s", strerror(errno));
        cr_assert_eq(st, kids[i].cb_status);
        errno = 0;
        cr_assert_eq(ward_kill(kids[i].c, SIGKILL), -1);
        cr_assert_eq(errno, ESRCH);
        ward_free(kids[i].c);
        kids[i].c = NULL;
    }
}

/*
 * The same thousand under a thief.  A wait (half of them blocking, half
 * timed) gives the true status, or fails with ECHILD where the status is
 * documented as lost: a child with no pidfd, or any child where the kernel
 * keeps no exit record (wt_recovers_stolen_status()).  It never gives a
 * wrong status and never hangs; nothing is left behind.
 */
Test(fdlimit, thousand_live_children_at_nofile_64_with_a_thief, .timeout = 600)
{
    struct rlimit saved;
    struct wt_thief t;
    pthread_t th;
    int failed, err = 0, with, without, lost = 0, lost_pidfd = 0, wrong = 0, other = 0;
    int recovers = wt_recovers_stolen_status();
    char why[160] = "";

    atomic_init(&t.stop, 0);
    atomic_init(&t.stolen, 0);
    limit_fds(&saved);
    cr_assert_eq(pthread_create(&th, NULL, wt_thief_main, &t), 0);
    failed = spawn_all(&err);
    count_kinds(&with, &without);
    for (int i = 0; i < N_CHILDREN && failed == 0; i++) {
        /* ESRCH: the thief was first (it cannot be, but that is allowed). */
        if (ward_kill(kids[i].c, kill_sigs[i % N_SIGS]) == -1 && errno != ESRCH && other++ == 0)
            snprintf(why, sizeof why, "ward_kill of child %d: %s", i, strerror(errno));
    }
    for (int i = 0; i < N_CHILDREN && failed == 0; i++) {
        int sig = kill_sigs[i % N_SIGS], st = -1, r;

        if (i % 2 == 0) {
            r = ward_wait(kids[i].c, &st);
        } else {
            struct timespec dl = wt_deadline_ms(wt_ms(30000));

            while ((r = ward_timedwait(kids[i].c, &st, &dl)) == -1 && errno == EINTR)
                ;
        }
        if (r == 0) {
            if (!(WIFSIGNALED(st) && WTERMSIG(st) == sig) && wrong++ == 0)
                snprintf(why, sizeof why, "child %d (%s pidfd): status 0x%x, expected "
                         "signal %d", i, kids[i].has_pidfd ? "with" : "without", st, sig);
        } else if (errno == ECHILD) {
            lost++;
            lost_pidfd += kids[i].has_pidfd;
        } else if (other++ == 0) {
            snprintf(why, sizeof why, "child %d: wait failed with %s", i, strerror(errno));
        }
    }
    atomic_store(&t.stop, 1);
    pthread_join(th, NULL);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
    cleanup();
    assert_mixed(failed, err, with, without);
    cr_assert_eq(wrong, 0, "%d wrong statuses; %s", wrong, why);
    cr_assert_eq(other, 0, "%d unexpected errors; %s", other, why);
    if (recovers)
        cr_assert_eq(lost_pidfd, 0, "%d stolen statuses of pidfd children not recovered",
                     lost_pidfd);
    cr_assert_leq(lost, atomic_load(&t.stolen), "%d waits lost a status the thief "
                  "did not take (it took %d)", lost, atomic_load(&t.stolen));
    cr_log_info("fdlimit with a thief: %d with a pidfd, %d without; the thief took %d, "
                "%d statuses lost (%d of pidfd children)", with, without,
                atomic_load(&t.stolen), lost, lost_pidfd);
}
