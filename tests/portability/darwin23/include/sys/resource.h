/* Stub <sys/resource.h> for macOS 14.  Source: getrusage(2). */
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
int getrusage(int who, struct rusage *r_usage);

#endif
