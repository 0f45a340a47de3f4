/* Stub <sys/time.h> for macOS 14.  Source: gettimeofday(2). */
#ifndef _STUB_SYS_TIME_H_
#define _STUB_SYS_TIME_H_

#include <sys/types.h>

/* gettimeofday(2) */
struct timeval {
    time_t tv_sec;
    suseconds_t tv_usec;
};

#endif
