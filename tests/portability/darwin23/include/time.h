/*
 * Stub <time.h> for macOS 14.  Source: clock_gettime(3) (macOS 10.12),
 * nanosleep(2).  The clocks and clock_gettime() carry the availability the
 * SDK's <time.h> gives them (__CLOCK_AVAILABILITY: macOS 10.12, iOS 10.0,
 * tvOS 10.0, watchOS 3.0).
 */
#ifndef _STUB_TIME_H_
#define _STUB_TIME_H_

#include <Availability.h>
#include <sys/types.h>

#define __CLOCK_AVAILABILITY __OSX_AVAILABLE(10.12) __IOS_AVAILABLE(10.0) \
    __TVOS_AVAILABLE(10.0) __WATCHOS_AVAILABLE(3.0)

/* nanosleep(2) */
struct timespec {
    time_t tv_sec;
    long tv_nsec;
};

/* clock_gettime(3): clockid_t is an enumeration */
typedef enum {
    _CLOCK_REALTIME __CLOCK_AVAILABILITY = 0,
    _CLOCK_MONOTONIC __CLOCK_AVAILABILITY = 6,
    _CLOCK_MONOTONIC_RAW __CLOCK_AVAILABILITY = 4,
    _CLOCK_UPTIME_RAW __CLOCK_AVAILABILITY = 8,
    _CLOCK_PROCESS_CPUTIME_ID __CLOCK_AVAILABILITY = 12,
    _CLOCK_THREAD_CPUTIME_ID __CLOCK_AVAILABILITY = 16
} clockid_t;
#define CLOCK_REALTIME  _CLOCK_REALTIME
#define CLOCK_MONOTONIC _CLOCK_MONOTONIC
__CLOCK_AVAILABILITY
int clock_gettime(clockid_t clock_id, struct timespec *tp);
#undef __CLOCK_AVAILABILITY

#endif
