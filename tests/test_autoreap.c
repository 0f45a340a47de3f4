/*
 * test_autoreap.c - children the kernel keeps private (Linux 7.1 and later:
 * clone3() with CLONE_AUTOREAP).  Where the kernel accepts the flag, a
 * child from ward_spawn() must be invisible to a raw wait4(-1, __WALL)
 * thief and wake no SIGCHLD handler, and its status must still reach the
 * handle.  That is ward's default; WARD_AUTOREAP=0 turns it off (a
 * diagnostic: tests/autoreap-optout.test runs this suite so).  With it off,
 * where the kernel refuses the flag, or on the posix backend, the older
 * behaviour holds: SIGCHLD comes, and a thief's theft is recovered or
 * reported, never a wrong status.  The feature is found by trying the flag
 * on a trivial child, not by version, and each test checks that ward's
 * child is what that answer says it must be (wt_spawns_private(),
 * wt_ended_private()).
 */
#include "common.h"

#include <stdint.h>
#include <sys/syscall.h>

WT_SUITE(autoreap);

/* Does ward use it here?  The kernel, the backend and the switch decide. */
static int expect_autoreap(void)
{
    if (!wt_autoreap_asked() || wt_posix_backend())
        return 0;
    return wt_kernel_autoreaps();
}

static atomic_int sigchld_count;

static void count_sigchld(int sig)
{
    (void)sig;
    atomic_fetch_add(&sigchld_count, 1);
}

/*
 * 2,000 children where the kernel keeps them private: the claim this test
 * exists for.  On the older path a few hundred show what it must (SIGCHLD
 * comes, a theft is seen or recovered); the races of that path have their
 * own 2,000-spawn tests in test_waitany.c.
 */
#define N_SPAWNS_AUTOREAP 2000
#define N_SPAWNS_OLDER 300

Test(autoreap, thief_and_sigchld_see_nothing, .timeout = 600)
{
    int autoreap = expect_autoreap();
    struct sigaction sa, old;
    struct wt_thief t;
    pthread_t th;
    int wrong = 0, lost = 0;
    const int n = autoreap ? N_SPAWNS_AUTOREAP : N_SPAWNS_OLDER;

    /* Asked before the thief runs, which would blur the answer. */
    cr_assert_eq(wt_spawns_private(), autoreap, "ward's children kernel-private: %d, "
                 "expected %d", wt_spawns_private(), autoreap);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_sigchld;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGCHLD, &sa, &old), 0);
    atomic_store(&sigchld_count, 0);
    atomic_store(&t.stop, 0);
    atomic_store(&t.stolen, 0);
    cr_assert_eq(pthread_create(&th, NULL, wt_thief_main, &t), 0);

    for (int i = 0; i < n; i++) {
        char code[8];
        const char *argv[] = {wt_helper(), code, NULL};
        ward_child *c;
        int st = -1;

        snprintf(code, sizeof code, "%d", i % 100);
        c = ward_spawn(NULL, (char *const *)argv, NULL);
        cr_assert_not_null(c, "spawn %d: %s", i, strerror(errno));
        if (ward_wait(c, &st) == -1) {
            /* Only a theft on a kernel without PIDFD_INFO_EXIT loses one. */
            cr_assert(!autoreap && errno == ECHILD, "wait %d: %s", i, strerror(errno));
            lost++;
        } else if (!WIFEXITED(st) || WEXITSTATUS(st) != i % 100) {
            wrong++;
        }
        ward_free(c);
    }
    atomic_store(&t.stop, 1);
    pthread_join(th, NULL);
    cr_assert_eq(sigaction(SIGCHLD, &old, NULL), 0);

    cr_assert_eq(wrong, 0, "%d of %d statuses wrong", wrong, n);
    if (autoreap) {
        cr_assert_eq(atomic_load(&t.stolen), 0, "the thief reaped %d private children",
                     atomic_load(&t.stolen));
        cr_assert_eq(atomic_load(&sigchld_count), 0, "%d SIGCHLD for private children",
                     atomic_load(&sigchld_count));
    } else {
        /* The older path: every child signals its exit; thefts are seen. */
        cr_assert_gt(atomic_load(&sigchld_count), 0, "no SIGCHLD on the older path");
        cr_assert_leq(lost, atomic_load(&t.stolen), "%d lost, %d stolen", lost,
                      atomic_load(&t.stolen));
    }
}

/*
 * A raw any-child wait never gets a kernel-private child.  While it runs,
 * a wait that does not hang reports nothing to reap, as for an ordinary
 * running child (Linux 7.3 counts it as a child that may yet become
 * waitable); once it has ended, every wait fails with ECHILD, where an
 * ordinary child would be reported.
 */
Test(autoreap, raw_wait_never_gets_the_child)
{
    int autoreap = expect_autoreap();
    ward_child *c = wt_spawn_ok(NULL, "sleep", "60000");
    siginfo_t si;
    int st, r;

    memset(&si, 0, sizeof si);
    r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL);
    cr_assert(r == 0 && si.si_pid == 0, "waitid(P_ALL) while it runs: %d (%s), pid %ld", r,
              strerror(errno), (long)si.si_pid);
    cr_assert_eq(ward_kill(c, SIGKILL), 0);
    cr_assert_eq(wt_ended_private(c), autoreap, "kernel-private: expected %d", autoreap);
    memset(&si, 0, sizeof si);
    r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL);
    if (autoreap)
        cr_assert(r == -1 && errno == ECHILD, "waitid(P_ALL) once it ended: %d (%s), pid %ld",
                  r, strerror(errno), (long)si.si_pid);
    else
        cr_assert(r == 0 && si.si_pid == ward_pid(c), "waitid(P_ALL) once it ended: %d (%s)",
                  r, strerror(errno));
    cr_assert_eq(ward_wait(c, &st), 0, "ward_wait: %s", strerror(errno));
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
    ward_free(c);
}

/* ward_rusage(): kept for WARD_RUSAGE children, ENODATA for autoreaped ones. */
Test(autoreap, rusage_needs_the_flag)
{
    int autoreap = expect_autoreap();
    struct rusage ru;
    ward_attr *a = ward_attr_new();
    ward_child *c;

    cr_assert_not_null(a);
    c = wt_spawn_ok(NULL, "0");
    cr_assert_eq(wt_ended_private(c), autoreap);
    cr_assert_eq(wt_wait_ok(c), 0);
    if (autoreap)
        wt_assert_err(ward_rusage(c, &ru), ENODATA);
    else
        cr_assert_eq(ward_rusage(c, &ru), 0, "ward_rusage: %s", strerror(errno));
    ward_free(c);

    cr_assert_eq(ward_attr_setflags(a, WARD_RUSAGE), 0);
    c = wt_spawn_ok(a, "0");
    cr_assert_eq(wt_ended_private(c), 0, "a WARD_RUSAGE child is kernel-private");
    cr_assert_eq(wt_wait_ok(c), 0);
    cr_assert_eq(ward_rusage(c, &ru), 0, "ward_rusage with WARD_RUSAGE: %s", strerror(errno));
    ward_free(c);
    ward_attr_free(a);
}

/* A group leader the kernel reaps is signalled, group and all, by its pidfd. */
Test(autoreap, killpg_reaches_the_group)
{
    ward_attr *a = ward_attr_new();
    ward_child *c;
    int st;

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setflags(a, WARD_NEW_PGROUP), 0);
    c = wt_spawn_ok(a, "sleep", "60000");
    cr_assert_eq(ward_killpg(c, SIGTERM), 0, "ward_killpg: %s", strerror(errno));
    cr_assert_eq(ward_wait(c, &st), 0, "ward_wait: %s", strerror(errno));
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status 0x%x", st);
    wt_assert_err(ward_killpg(c, SIGTERM), ESRCH);
    ward_free(c);
    ward_attr_free(a);
}
