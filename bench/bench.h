/*
 * bench/bench.h - what the bench's files share.  Not part of ward.
 */
#ifndef WARD_BENCH_H
#define WARD_BENCH_H

#define _GNU_SOURCE 1

#include <ward.h>

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef HAVE_UV
#include <uv.h>
#endif
#ifdef HAVE_GLIB
#include <glib.h>
#endif

/* Children alive at once in one worker, at most (scenario 4 plus margin). */
#define MAXREC 12288

/* One child, as the bench tracks it.  From a static pool, never malloc(). */
struct rec {
    pid_t pid;
    int pidfd;
    volatile int done;   /* exit callback has run */
    volatile int closed; /* libuv: handle closed */
    int status;          /* wait status */
    uint64_t t_done;     /* CLOCK_MONOTONIC ns when the wait returned or the callback ran */
    ward_child *wc;
    struct rec *next_free;
#ifdef HAVE_UV
    uv_process_t uv;
#endif
};

struct contender {
    const char *name;
    const char *ward_backend; /* WARD_BACKEND for the worker, or NULL */
    const char *what;         /* one line for the report */
    size_t caller_bytes;      /* what the caller must keep per child */
    int (*init)(void);
    /* Start argv with stdin in (or inherited if < 0) and stdout out. */
    struct rec *(*spawn)(char *const argv[], int in, int out);
    /* Wait until r has ended, release it; *t_done = when the wait returned. */
    int (*reap)(struct rec *r, uint64_t *t_done);
    /*
     * Scenario 7 (threads spawning at once), for the contenders that take
     * part: spawn and reap from many threads through the two calls above,
     * and the mixed load through these three (see contenders.c): set up
     * once, start a child that any waiter may take, and wait up to
     * timeout_ms for any child, returning how many were reaped.
     */
    int threads;
    int (*any_init)(void);
    int (*any_spawn)(char *const argv[]);
    int (*any_reap)(int timeout_ms);
};

extern const struct contender contenders[];
extern const size_t ncontenders;
const struct contender *contender_find(const char *name);

/*
 * The record pool is a free list per thread: the main thread gets it all,
 * and hands a thread of scenario 7 its share with rec_pool_take() before the
 * timed section; the thread gives back what it holds with rec_pool_give()
 * into the main thread's list after, through the same two calls.
 */
void rec_pool_init(void);
struct rec *rec_pool_take(size_t n);
void rec_pool_give(struct rec *list);
/* A thread of scenario 7 ends: release what the contenders kept for it. */
void contender_thread_done(void);

/* Why the last spawn or reap failed in this thread, for the report. */
extern _Thread_local char bench_errmsg[256];
/* The wait status of the last child reaped in this thread. */
extern _Thread_local int bench_last_status;

static inline uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int worker_main(const char *name, const char *child);

#include <stdio.h>
/* Scenario 7 (threads.c): the worker's "threads" and "mixed" commands. */
int cmd_threads(FILE *out, const struct contender *c, char *const *argv, long nthreads,
                long ms);
int cmd_mixed(FILE *out, const struct contender *c, char *const *argv, long ms);

#endif
