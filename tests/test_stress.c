/*
 * test_stress.c - the acceptance test.
 *
 * Eight threads each spawn and wait for 500 private children (the helper
 * exits at once with a code of the thread's choosing; a few die of a
 * signal), keeping a few of them running at a time and waiting in different
 * orders and with different calls.  Meanwhile:
 *
 *  - a thief thread loops on ward_waitpid(-1, WNOHANG), and another blocks
 *    in ward_waitpid(-1, 0): neither may ever get a private child;
 *  - a forker thread fork()s children of its own (not through ward) and reaps
 *    each with ward_waitpid(pid, ...).
 *
 * The thieves wait for "any child", so they may legitimately take one of
 * the forker's own children before the forker does.  Ward passes own children
 * through untouched, so the forker then gets ECHILD; the pair keeps a
 * registry to check that every own child is reaped exactly once, by its
 * owner or by the thief, with its true status, and that whatever the thief
 * got is one of them.  Every private status must be exact, and nothing may
 * be left running at the end.  The blocking thief is let go at the end by
 * one last own child.
 */
#include "common.h"

WT_SUITE(stress);

enum {
    SPAWNERS = 8,
    CHILDREN = 500,
    WINDOW = 4,       /* children a spawner keeps running at once */
    MAX_OWN = 20000,  /* own children the forker may make */
};

static struct wt_errors errs = WT_ERRORS_INIT;
static atomic_int spawners_left;
static atomic_long eintr_count;
static atomic_long private_reaped;

/* ---- The registry of own children --------------------------------------- */

struct own {
    pid_t pid;
    int code;
    int by_thief;   /* reaped by the thief */
    int status;     /* the status the thief got */
};

static struct own owns[MAX_OWN];
static int nown;
static long own_by_owner, own_by_thief, own_by_blocking;
static pthread_mutex_t own_lock = PTHREAD_MUTEX_INITIALIZER;

static struct own *own_find(pid_t pid)
{
    for (int i = nown - 1; i >= 0; i--)
        if (owns[i].pid == pid)
            return &owns[i];
    return NULL;
}

/* ---- Spawners ----------------------------------------------------------- */

static void *spawner(void *arg)
{
    int id = (int)(long)arg;
    ward_child *c[WINDOW];
    int code[WINDOW];
    const char *helper = wt_helper();

    for (int done = 0; done < CHILDREN; done += WINDOW) {
        int n = CHILDREN - done < WINDOW ? CHILDREN - done : WINDOW;

        for (int k = 0; k < n; k++) {
            int seq = done + k;
            char num[16];
            char *argv[4] = {(char *)helper, num, NULL, NULL};

            /* Every 50th child dies of SIGTERM (code -1). */
            if (seq % 50 == 49) {
                argv[1] = "raise";
                argv[2] = "TERM";
                code[k] = -1;
            } else {
                code[k] = (id * 31 + seq) % 256;
                snprintf(num, sizeof num, "%d", code[k]);
            }
            c[k] = ward_spawn(NULL, argv, NULL);
            if (c[k] == NULL)
                wt_error(&errs, "spawner %d: ward_spawn #%d: %s", id, seq,
                         strerror(errno));
        }
        /* Wait in an order and with a call that change from round to round. */
        for (int j = 0; j < n; j++) {
            int k = (done / WINDOW) % 2 ? n - 1 - j : j;
            int st = -1, r;

            if (c[k] == NULL)
                continue;
            switch ((done / WINDOW + j) % 3) {
            case 0:
                while ((r = ward_wait(c[k], &st)) < 0 && errno == EINTR)
                    atomic_fetch_add(&eintr_count, 1);
                break;
            case 1: {
                struct timespec dl = wt_deadline_ms(wt_ms(60000));
                while ((r = ward_timedwait(c[k], &st, &dl)) < 0 && errno == EINTR)
                    atomic_fetch_add(&eintr_count, 1);
                break;
            }
            default:
                while ((r = ward_trywait(c[k], &st)) < 0 &&
                       (errno == EAGAIN || errno == EINTR)) {
                    if (errno == EINTR)
                        atomic_fetch_add(&eintr_count, 1);
                    sched_yield();
                }
                break;
            }
            if (r < 0) {
                wt_error(&errs, "spawner %d: wait for child %ld: %s", id,
                         (long)ward_pid(c[k]), strerror(errno));
            } else if (code[k] < 0 ? !(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM)
                                   : !(WIFEXITED(st) && WEXITSTATUS(st) == code[k])) {
                wt_error(&errs, "spawner %d: child %ld: status 0x%x, expected %s %d",
                         id, (long)ward_pid(c[k]), st,
                         code[k] < 0 ? "signal" : "exit",
                         code[k] < 0 ? SIGTERM : code[k]);
            } else {
                atomic_fetch_add(&private_reaped, 1);
            }
            ward_free(c[k]);
        }
    }
    atomic_fetch_sub(&spawners_left, 1);
    return NULL;
}

/* ---- The thieves -------------------------------------------------------- */

static atomic_int all_done;

/* A thief got pid r with status st: it must be an own child, once. */
static void thief_got(const char *who, pid_t r, int st)
{
    pthread_mutex_lock(&own_lock);
    struct own *o = own_find(r);
    if (o == NULL) {
        wt_error(&errs, "%s: ward_waitpid(-1) returned pid %ld, which is "
                 "not an own child (a private child?), status 0x%x",
                 who, (long)r, st);
    } else if (o->by_thief) {
        wt_error(&errs, "%s: own child %ld reported twice", who, (long)r);
    } else {
        o->by_thief = 1;
        o->status = st;
        own_by_thief++;
        if (who[0] == 'b')
            own_by_blocking++;
    }
    pthread_mutex_unlock(&own_lock);
}

static void *blocking_thief(void *arg)
{
    (void)arg;
    for (;;) {
        int st = -1;
        pid_t r = ward_waitpid(-1, &st, 0);

        if (r > 0) {
            thief_got("blocking thief", r, st);
            if (atomic_load(&all_done))
                break;
            continue;
        }
        if (r == 0) {
            wt_error(&errs, "blocking thief: ward_waitpid(-1, 0) returned 0");
        } else if (errno == ECHILD) {
            /* No child at all for a moment: look again a little later. */
            if (atomic_load(&all_done))
                break;
            wt_sleep_ms(1);
        } else if (errno != EINTR) {
            wt_error(&errs, "blocking thief: ward_waitpid(-1, 0): %s",
                     strerror(errno));
            wt_sleep_ms(1);
        }
    }
    return NULL;
}

static void *thief(void *arg)
{
    (void)arg;
    while (atomic_load(&spawners_left) > 0) {
        int st = -1;
        pid_t r = ward_waitpid(-1, &st, WNOHANG);

        if (r > 0) {
            thief_got("thief", r, st);
            continue;
        }
        if (r < 0 && errno != ECHILD && errno != EINTR)
            wt_error(&errs, "thief: ward_waitpid(-1, WNOHANG): %s", strerror(errno));
        /* A short pause keeps the thief from taking a whole CPU. */
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* ---- The forker --------------------------------------------------------- */

static void *forker(void *arg)
{
    (void)arg;
    for (int n = 0; atomic_load(&spawners_left) > 0 && n < MAX_OWN; n++) {
        int code = n % 256, st = -1;
        pid_t pid, r;

        /* Registered before anyone can look the pid up. */
        pthread_mutex_lock(&own_lock);
        pid = fork();
        if (pid == 0)
            _exit(code);
        if (pid < 0) {
            pthread_mutex_unlock(&own_lock);
            wt_error(&errs, "forker: fork: %s", strerror(errno));
            break;
        }
        owns[nown++] = (struct own){pid, code, 0, -1};
        pthread_mutex_unlock(&own_lock);

        while ((r = ward_waitpid(pid, &st, 0)) < 0 && errno == EINTR)
            ;
        if (r == pid) {
            if (!WIFEXITED(st) || WEXITSTATUS(st) != code)
                wt_error(&errs, "forker: own child %ld: status 0x%x, expected "
                         "exit %d", (long)pid, st, code);
            pthread_mutex_lock(&own_lock);
            struct own *o = own_find(pid);
            if (o->by_thief)
                wt_error(&errs, "forker: own child %ld reaped twice", (long)pid);
            own_by_owner++;
            pthread_mutex_unlock(&own_lock);
        } else if (r < 0 && errno == ECHILD) {
            /* The thief must have it; give it a moment to record it. */
            int seen = 0;
            for (double end = wt_now_ms() + wt_ms(10000); !seen && wt_now_ms() < end;) {
                pthread_mutex_lock(&own_lock);
                struct own *o = own_find(pid);
                if (o->by_thief) {
                    seen = 1;
                    if (!WIFEXITED(o->status) || WEXITSTATUS(o->status) != code)
                        wt_error(&errs, "thief got own child %ld with status "
                                 "0x%x, expected exit %d",
                                 (long)pid, o->status, code);
                }
                pthread_mutex_unlock(&own_lock);
                if (!seen)
                    wt_sleep_ms(1);
            }
            if (!seen)
                wt_error(&errs, "forker: own child %ld: ECHILD, and the thief "
                         "did not get it either", (long)pid);
        } else {
            wt_error(&errs, "forker: ward_waitpid(%ld): returned %ld, %s",
                     (long)pid, (long)r, strerror(errno));
        }
        /* Leave the CPUs mostly to the spawners. */
        struct timespec ts = {0, 500000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

Test(stress, eight_threads_500_children_each_with_a_thief_and_a_forker,
     .timeout = 170)
{
    pthread_t sp[SPAWNERS], th, bt, fk;

    atomic_store(&spawners_left, SPAWNERS);
    atomic_store(&all_done, 0);
    wt_helper();
    cr_assert_eq(pthread_create(&th, NULL, thief, NULL), 0);
    cr_assert_eq(pthread_create(&bt, NULL, blocking_thief, NULL), 0);
    cr_assert_eq(pthread_create(&fk, NULL, forker, NULL), 0);
    for (long i = 0; i < SPAWNERS; i++)
        cr_assert_eq(pthread_create(&sp[i], NULL, spawner, (void *)i), 0);
    for (int i = 0; i < SPAWNERS; i++)
        pthread_join(sp[i], NULL);
    pthread_join(fk, NULL);
    pthread_join(th, NULL);

    /* Let the blocking thief go: one last own child, which only it waits for. */
    atomic_store(&all_done, 1);
    pthread_mutex_lock(&own_lock);
    pid_t last = fork();
    if (last == 0)
        _exit(0);
    if (last > 0)
        owns[nown++] = (struct own){last, 0, 0, -1};
    pthread_mutex_unlock(&own_lock);
    cr_assert_gt(last, 0, "fork: %s", strerror(errno));
    pthread_join(bt, NULL);
    pthread_mutex_lock(&own_lock);
    struct own *o = own_find(last);
    if (!o->by_thief) {
        /* The blocking thief had already left on ECHILD: reap it here. */
        int st;
        cr_assert_eq(ward_waitpid(last, &st, 0), last);
        own_by_owner++;
    }
    pthread_mutex_unlock(&own_lock);

    cr_log_info("stress: %ld private children reaped; own children: %d, "
                "%ld reaped by their owner, %ld by the thieves (%ld by the "
                "blocking one)",
                atomic_load(&private_reaped), nown, own_by_owner, own_by_thief,
                own_by_blocking);
    wt_assert_no_errors(&errs);
    cr_assert_eq(atomic_load(&eintr_count), 0,
                 "%ld waits failed with EINTR though the program has no "
                 "signal handler", atomic_load(&eintr_count));
    cr_assert_eq(atomic_load(&private_reaped), (long)SPAWNERS * CHILDREN);
    cr_assert_gt(nown, 0, "the forker made no child");
    cr_assert_eq(own_by_owner + own_by_thief, (long)nown,
                 "own children: %d made, %ld + %ld reaped", nown, own_by_owner,
                 own_by_thief);
    for (int i = 0; i < nown; i++)
        cr_assert(wt_reaped(owns[i].pid));
    cr_assert(wt_no_children(), "children left at the end");
}
