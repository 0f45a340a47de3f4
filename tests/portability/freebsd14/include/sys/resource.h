/* Stub <sys/resource.h> for FreeBSD 14.  Source: getrusage(2), wait(2). */
#ifndef _STUB_SYS_RESOURCE_H_
#define _STUB_SYS_RESOURCE_H_

#include <sys/time.h>

/* getrusage(2) */
struct rusage {
    struct timeval ru_utime;
    struct timeval ru_stime;
    long ru_maxrss;
    long ru_ixrss;
    long ru_idrss;
    long ru_isrss;
    long ru_minflt;
    long ru_majflt;
    long ru_nswap;
    long ru_inblock;
    long ru_oublock;
    long ru_msgsnd;
    long ru_msgrcv;
    long ru_nsignals;
    long ru_nvcsw;
    long ru_nivcsw;
};
#define RUSAGE_SELF     0
#define RUSAGE_CHILDREN (-1)
int getrusage(int who, struct rusage *rusage);

/* wait(2), under wait6(): both processes' usage */
struct __wrusage {
    struct rusage wru_self;
    struct rusage wru_children;
};

#endif
