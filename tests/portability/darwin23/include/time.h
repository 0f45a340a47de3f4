/* Stub <time.h> for macOS 14.  Source: clock_gettime(3) (macOS 10.12), nanosleep(2). */
#ifndef _STUB_TIME_H_
#define _STUB_TIME_H_

#include <sys/types.h>

/* nanosleep(2) */
struct timespec {
    time_t tv_sec;
    long tv_nsec;
};

/* clock_gettime(3): clockid_t is an enumeration */
typedef enum {
    _CLOCK_REALTIME = 0,
    _CLOCK_MONOTONIC = 6,
    _CLOCK_MONOTONIC_RAW = 4,
    _CLOCK_UPTIME_RAW = 8,
    _CLOCK_PROCESS_CPUTIME_ID = 12,
    _CLOCK_THREAD_CPUTIME_ID = 16
} clockid_t;
#define CLOCK_REALTIME  _CLOCK_REALTIME
#define CLOCK_MONOTONIC _CLOCK_MONOTONIC
int clock_gettime(clockid_t clock_id, struct timespec *tp);

#endif
