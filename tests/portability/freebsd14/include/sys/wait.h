/*
 * Stub <sys/wait.h> for FreeBSD 14.
 * Source: wait(2), which documents wait, waitpid, waitid, wait3, wait4 and
 * wait6, the options, the status macros and the idtype_t values.
 */
#ifndef _STUB_SYS_WAIT_H_
#define _STUB_SYS_WAIT_H_

#include <signal.h>
#include <sys/resource.h>

/* wait(2): options */
#define WNOHANG    1
#define WUNTRACED  2
#define WSTOPPED   WUNTRACED
#define WCONTINUED 4
#define WNOWAIT    8
#define WEXITED    16
#define WTRAPPED   32

/* wait(2): status macros */
#define _WSTATUS(x)     ((x) & 0177)
#define WIFEXITED(x)    (_WSTATUS(x) == 0)
#define WEXITSTATUS(x)  ((x) >> 8)
#define WIFSIGNALED(x)  (_WSTATUS(x) != 0177 && _WSTATUS(x) != 0 && (x) != 0x13)
#define WTERMSIG(x)     (_WSTATUS(x))
#define WIFSTOPPED(x)   (_WSTATUS(x) == 0177)
#define WSTOPSIG(x)     ((x) >> 8)
#define WIFCONTINUED(x) ((x) == 0x13)
#define WCOREDUMP(x)    ((x) & 0200)

/* wait(2): the sets of processes wait6() and waitid() select */
typedef enum idtype {
    P_PID, P_PPID, P_PGID, P_SID, P_CID, P_UID, P_GID, P_ALL,
    P_LWPID, P_TASKID, P_PROJID, P_POOLID, P_JAILID, P_CTID, P_CPUID, P_PSETID
} idtype_t;

/* wait(2) */
pid_t wait(int *status);
pid_t waitpid(pid_t wpid, int *status, int options);
int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options);
pid_t wait3(int *status, int options, struct rusage *rusage);
pid_t wait4(pid_t wpid, int *status, int options, struct rusage *rusage);
pid_t wait6(idtype_t idtype, id_t id, int *status, int options,
            struct __wrusage *wrusage, siginfo_t *infop);

#endif
