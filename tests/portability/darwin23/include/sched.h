/*
 * Stub <sched.h> for macOS 14.  Source: sched_yield(3p), the POSIX page;
 * macOS declares it in <sched.h> without a page of its own.
 */
#ifndef _STUB_SCHED_H_
#define _STUB_SCHED_H_

int sched_yield(void);

#endif
