/*
 * Stub <sys/wait.h> for macOS 14.
 * Source: wait(2), which documents wait, waitpid, wait3 and wait4, and
 * waitid(2).  macOS has no wait6.
 */
#ifndef _STUB_SYS_WAIT_H_
#define _STUB_SYS_WAIT_H_

#include <signal.h>
#include <sys/resource.h>

/* wait(2), waitid(2): options */
#define WNOHANG    0x00000001
#define WUNTRACED  0x00000002
#define WEXITED    0x00000004
#define WSTOPPED   0x00000008
#define WCONTINUED 0x00000010
#define WNOWAIT    0x00000020

/* wait(2): status macros */
#define _WSTATUS(x)     ((x) & 0177)
#define WIFEXITED(x)    (_WSTATUS(x) == 0)
#define WEXITSTATUS(x)  (((x) >> 8) & 0xff)
#define WIFSIGNALED(x)  (_WSTATUS(x) != 0177 && _WSTATUS(x) != 0)
#define WTERMSIG(x)     (_WSTATUS(x))
#define WIFSTOPPED(x)   (_WSTATUS(x) == 0177 && WSTOPSIG(x) != 0x13)
#define WSTOPSIG(x)     ((x) >> 8)
#define WIFCONTINUED(x) (_WSTATUS(x) == 0177 && WSTOPSIG(x) == 0x13)
#define WCOREDUMP(x)    ((x) & 0200)

/* waitid(2) */
typedef enum {
    P_ALL,
    P_PID,
    P_PGID
} idtype_t;
int waitid(idtype_t idtype, id_t id, siginfo_t *infop, int options);

/* wait(2) */
pid_t wait(int *stat_loc);
pid_t waitpid(pid_t pid, int *stat_loc, int options);
pid_t wait3(int *stat_loc, int options, struct rusage *rusage);
pid_t wait4(pid_t pid, int *stat_loc, int options, struct rusage *rusage);

#endif
