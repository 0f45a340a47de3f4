/* Stub <time.h> for FreeBSD 14.  Source: clock_gettime(2), nanosleep(2). */
#ifndef _STUB_TIME_H_
#define _STUB_TIME_H_

#include <sys/types.h>

/* nanosleep(2), clock_gettime(2) */
struct timespec {
    time_t tv_sec;
    long tv_nsec;
};

/* clock_gettime(2) */
#define CLOCK_REALTIME  0
#define CLOCK_MONOTONIC 4
int clock_gettime(clockid_t clock_id, struct timespec *tp);

#endif
