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
};

extern const struct contender contenders[];
extern const size_t ncontenders;
const struct contender *contender_find(const char *name);

void rec_pool_init(void);

/* Why the last spawn or reap failed, for the report. */
extern char bench_errmsg[256];

static inline uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int worker_main(const char *name, const char *child);

#endif
