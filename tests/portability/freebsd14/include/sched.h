/* Stub <sched.h> for FreeBSD 14.  Source: sched_yield(2). */
#ifndef _STUB_SCHED_H_
#define _STUB_SCHED_H_

/* sched_yield(2) */
int sched_yield(void);

#endif
