/*
 * bench/threads.c - scenario 7: many threads of one worker spawning at once.
 *
 *   threads T MS   T threads, each spawning and reaping its own children one
 *                  at a time for MS ms; children, ns (first start to last end)
 *   mixed MS       4 spawner threads for MS ms while 2 waiter threads reap
 *                  whichever child ends first; children, ns (first start to
 *                  last reap)
 *
 * What is timed is spawn and wait only: the threads are made, handed their
 * records and warmed up (one child each, so that a floor's stack or the
 * library's first-use set-up is not timed) before a gate lets them go.
 */
#include "bench.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define MAXTHREADS 16
#define MIXED_SPAWNERS 4
#define MIXED_WAITERS 2
/* Children started and not yet reaped, at most, in the mixed load. */
#define MIXED_INFLIGHT 64
/* How long the waiters of the mixed load may take to drain, at most. */
#define DRAIN_NS (10 * 1000000000ull)

struct tstate {
    pthread_t t;
    const struct contender *c;
    char *const *argv;
    long ms;
    struct rec *recs;  /* records handed in, and given back */
    long n;            /* children spawned (and, when its own, reaped) */
    uint64_t t0, t1;   /* when its timed loop began and ended */
    int failed;
    char err[256];
};

/*
 * The start line: each thread arrives when it is ready and waits for the
 * gate to open; the main thread waits for all to arrive, then opens it, or
 * opens it with abort set when a thread could not be made.
 */
static struct {
    pthread_mutex_t m;
    pthread_cond_t cv;
    int arrived, open, abort;
} gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };

/* Returns 1 when the run goes ahead, 0 when it was called off. */
static int
gate_pass(void)
{
    int go;

    pthread_mutex_lock(&gate.m);
    gate.arrived++;
    pthread_cond_broadcast(&gate.cv);
    while (!gate.open)
        pthread_cond_wait(&gate.cv, &gate.m);
    go = !gate.abort;
    pthread_mutex_unlock(&gate.m);
    return go;
}

static void
gate_reset(void)
{
    pthread_mutex_lock(&gate.m);
    gate.arrived = gate.open = gate.abort = 0;
    pthread_mutex_unlock(&gate.m);
}

static void
gate_wait_for(int n)
{
    pthread_mutex_lock(&gate.m);
    while (gate.arrived < n)
        pthread_cond_wait(&gate.cv, &gate.m);
    pthread_mutex_unlock(&gate.m);
}

static void
gate_open(int abort)
{
    pthread_mutex_lock(&gate.m);
    gate.open = 1;
    gate.abort = abort;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.m);
}
static sem_t slots;
static atomic_long reaped;
static atomic_ullong last_reap;
static atomic_int stop;

static void
fail(struct tstate *ts)
{
    ts->failed = 1;
    snprintf(ts->err, sizeof(ts->err), "%s",
             bench_errmsg[0] != '\0' ? bench_errmsg : strerror(errno));
}

static void
thread_end(struct tstate *ts)
{
    ts->recs = rec_pool_take(MAXREC);
    contender_thread_done();
}

static int
one(const struct contender *c, char *const *argv)
{
    struct rec *r = c->spawn(argv, -1, -1);

    return r == NULL || c->reap(r, NULL) == -1 ? -1 : 0;
}

/* A thread of "threads": its own children, one at a time. */
static void *
own_main(void *p)
{
    struct tstate *ts = p;
    int ok;

    rec_pool_give(ts->recs);
    ts->recs = NULL;
    if (!(ok = one(ts->c, ts->argv) == 0))
        fail(ts);
    if (gate_pass() && ok) {
        uint64_t end;

        ts->t0 = now_ns();
        end = ts->t0 + (uint64_t)ts->ms * 1000000u;
        do {
            if (one(ts->c, ts->argv) == -1) {
                fail(ts);
                break;
            }
            ts->n++;
        } while ((ts->t1 = now_ns()) < end);
    }
    thread_end(ts);
    return NULL;
}

static int
start(struct tstate *ts, void *(*fn)(void *))
{
    int e;

    ts->recs = rec_pool_take(4);
    if ((e = pthread_create(&ts->t, NULL, fn, ts)) != 0) {
        rec_pool_give(ts->recs);
        snprintf(bench_errmsg, sizeof(bench_errmsg), "pthread_create: %s", strerror(e));
        return -1;
    }
    return 0;
}

static int
finish_threads(struct tstate *ts, int n, int *failed)
{
    for (int i = 0; i < n; i++) {
        pthread_join(ts[i].t, NULL);
        rec_pool_give(ts[i].recs);
        if (ts[i].failed && !*failed) {
            *failed = 1;
            snprintf(bench_errmsg, sizeof(bench_errmsg), "%s", ts[i].err);
        }
    }
    return *failed ? -1 : 0;
}

/*
 * The main thread only waits while the threads run.  It blocks SIGCHLD for
 * that time, after the threads are made (they keep the mask they had):
 * otherwise, whenever a spawning thread has every signal blocked (ward and
 * posix_spawn do around the birth, ward while it sleeps in a wait), each
 * child's SIGCHLD goes to the main thread, the only one that takes it, and
 * wakes it for nothing; the floor blocks nothing, so its SIGCHLD is simply
 * discarded, and the bench would charge the other two for its own idle
 * thread.
 */
static void
main_quiet(sigset_t *old)
{
    sigset_t chld;

    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &chld, old);
}

int
cmd_threads(FILE *out, const struct contender *c, char *const *argv, long nthreads,
            long ms)
{
    struct tstate ts[MAXTHREADS];
    sigset_t oldmask;
    uint64_t t0 = UINT64_MAX, t1 = 0;
    long total = 0;
    int made = 0, failed = 0;

    if (!c->threads || nthreads < 1 || nthreads > MAXTHREADS) {
        snprintf(bench_errmsg, sizeof(bench_errmsg), "threads: not for %s, or not 1-%d",
                 c->name, MAXTHREADS);
        return -1;
    }
    memset(ts, 0, sizeof(ts));
    gate_reset();
    for (; made < nthreads; made++) {
        ts[made].c = c;
        ts[made].argv = argv;
        ts[made].ms = ms;
        if (start(&ts[made], own_main) == -1)
            break;
    }
    failed = made < nthreads;
    main_quiet(&oldmask);
    gate_wait_for(made);
    gate_open(failed);
    finish_threads(ts, made, &failed);
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
    if (failed)
        return -1;
    for (int i = 0; i < made; i++) {
        total += ts[i].n;
        if (ts[i].t0 < t0)
            t0 = ts[i].t0;
        if (ts[i].t1 > t1)
            t1 = ts[i].t1;
    }
    fprintf(out, "ok %ld %llu\n", total, (unsigned long long)(t1 - t0));
    return 0;
}

/* ---- the mixed load ------------------------------------------------------ */

static void *
spawner_main(void *p)
{
    struct tstate *ts = p;
    int ok = 1;

    rec_pool_give(ts->recs);
    ts->recs = NULL;
    /* Warm-up: one child, reaped by the waiters before the start. */
    sem_wait(&slots);
    if (ts->c->any_spawn(ts->argv) == -1) {
        sem_post(&slots);
        fail(ts);
        ok = 0;
    }
    if (gate_pass() && ok) {
        uint64_t end;

        ts->t0 = now_ns();
        end = ts->t0 + (uint64_t)ts->ms * 1000000u;
        do {
            while (sem_wait(&slots) == -1)
                ;
            if (ts->c->any_spawn(ts->argv) == -1) {
                sem_post(&slots);
                fail(ts);
                break;
            }
            ts->n++;
        } while (now_ns() < end);
    }
    thread_end(ts);
    return NULL;
}

static void *
waiter_main(void *p)
{
    struct tstate *ts = p;

    rec_pool_give(ts->recs);
    ts->recs = NULL;
    while (!atomic_load(&stop)) {
        int k = ts->c->any_reap(1);

        if (k == -1) {
            fail(ts);
            break;
        }
        if (k > 0) {
            uint64_t t = now_ns(), seen = atomic_load(&last_reap);

            while (seen < t && !atomic_compare_exchange_weak(&last_reap, &seen, t))
                ;
            atomic_fetch_add(&reaped, k);
            for (int i = 0; i < k; i++)
                sem_post(&slots);
        }
    }
    thread_end(ts);
    return NULL;
}

/* Sleep until the waiters have reaped n children, or the time is up. */
static int
drain(long n)
{
    uint64_t until = now_ns() + DRAIN_NS;

    while (atomic_load(&reaped) < n) {
        struct timespec ts = { 0, 100000 };

        if (now_ns() > until) {
            snprintf(bench_errmsg, sizeof(bench_errmsg),
                     "mixed: %ld of %ld children reaped after %llu s", atomic_load(&reaped),
                     n, DRAIN_NS / 1000000000ull);
            return -1;
        }
        nanosleep(&ts, NULL);
    }
    return 0;
}

int
cmd_mixed(FILE *out, const struct contender *c, char *const *argv, long ms)
{
    struct tstate sp[MIXED_SPAWNERS], wt[MIXED_WAITERS];
    sigset_t oldmask;
    uint64_t t0 = UINT64_MAX;
    long total = 0;
    int failed = 0, nsp = 0, nwt = 0;

    if (!c->threads) {
        snprintf(bench_errmsg, sizeof(bench_errmsg), "mixed: not for %s", c->name);
        return -1;
    }
    if (c->any_init() == -1)
        return -1;
    memset(sp, 0, sizeof(sp));
    memset(wt, 0, sizeof(wt));
    sem_init(&slots, 0, MIXED_INFLIGHT);
    atomic_store(&reaped, 0);
    atomic_store(&last_reap, 0);
    atomic_store(&stop, 0);
    gate_reset();
    for (; nwt < MIXED_WAITERS; nwt++) {
        wt[nwt].c = c;
        if (start(&wt[nwt], waiter_main) == -1)
            break;
    }
    for (; nwt == MIXED_WAITERS && nsp < MIXED_SPAWNERS; nsp++) {
        sp[nsp].c = c;
        sp[nsp].argv = argv;
        sp[nsp].ms = ms;
        if (start(&sp[nsp], spawner_main) == -1)
            break;
    }
    /* The warm-up children are reaped before the clock starts. */
    failed = nsp < MIXED_SPAWNERS;
    main_quiet(&oldmask);
    gate_wait_for(nsp);
    if (!failed && drain(MIXED_SPAWNERS) == -1)
        failed = 1;
    atomic_fetch_sub(&reaped, MIXED_SPAWNERS);
    gate_open(failed);
    finish_threads(sp, nsp, &failed);
    for (int i = 0; i < nsp; i++) {
        total += sp[i].n;
        if (sp[i].t0 < t0)
            t0 = sp[i].t0;
    }
    if (!failed && drain(total) == -1)
        failed = 1;
    atomic_store(&stop, 1);
    finish_threads(wt, nwt, &failed);
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
    sem_destroy(&slots);
    if (failed)
        return -1;
    fprintf(out, "ok %ld %llu\n", total, (unsigned long long)(atomic_load(&last_reap) - t0));
    return 0;
}
