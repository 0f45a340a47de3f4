/*
 * Stub <signal.h> for FreeBSD 14.
 * Source: signal(3) (numbers), sigaction(2), sigprocmask(2),
 * sigsetops(3), kill(2), raise(3), pthread_sigmask(3).
 */
#ifndef _STUB_SIGNAL_H_
#define _STUB_SIGNAL_H_

#include <sys/types.h>

/* signal(3) */
#define SIGHUP    1
#define SIGINT    2
#define SIGQUIT   3
#define SIGILL    4
#define SIGTRAP   5
#define SIGABRT   6
#define SIGEMT    7
#define SIGFPE    8
#define SIGKILL   9
#define SIGBUS    10
#define SIGSEGV   11
#define SIGSYS    12
#define SIGPIPE   13
#define SIGALRM   14
#define SIGTERM   15
#define SIGURG    16
#define SIGSTOP   17
#define SIGTSTP   18
#define SIGCONT   19
#define SIGCHLD   20
#define SIGTTIN   21
#define SIGTTOU   22
#define SIGIO     23
#define SIGXCPU   24
#define SIGXFSZ   25
#define SIGVTALRM 26
#define SIGPROF   27
#define SIGWINCH  28
#define SIGINFO   29
#define SIGUSR1   30
#define SIGUSR2   31
#define SIGTHR    32
#define SIGLIBRT  33
#define SIGRTMIN  65
#define SIGRTMAX  126
#define NSIG      32   /* the old signals, counting 0; realtime ones go above */

/* sigsetops(3): 128 signals */
typedef struct __sigset {
    unsigned int __bits[4];
} sigset_t;
int sigemptyset(sigset_t *set);
int sigfillset(sigset_t *set);
int sigaddset(sigset_t *set, int signo);
int sigdelset(sigset_t *set, int signo);
int sigismember(const sigset_t *set, int signo);

/* sigaction(2) */
union sigval {
    int sival_int;
    void *sival_ptr;
};
typedef struct __siginfo {
    int si_signo;
    int si_errno;
    int si_code;
    pid_t si_pid;
    uid_t si_uid;
    int si_status;
    void *si_addr;
    union sigval si_value;
    long si_band;
    int __spare__[7];
} siginfo_t;
typedef void __sighandler_t(int);
struct sigaction {
    union {
        void (*__sa_handler)(int);
        void (*__sa_sigaction)(int, struct __siginfo *, void *);
    } __sigaction_u;
    int sa_flags;
    sigset_t sa_mask;
};
#define sa_handler   __sigaction_u.__sa_handler
#define sa_sigaction __sigaction_u.__sa_sigaction
#define SA_ONSTACK   0x0001
#define SA_RESTART   0x0002
#define SA_RESETHAND 0x0004
#define SA_NOCLDSTOP 0x0008
#define SA_NODEFER   0x0010
#define SA_NOCLDWAIT 0x0020
#define SA_SIGINFO   0x0040
#define SIG_DFL ((__sighandler_t *)0)
#define SIG_IGN ((__sighandler_t *)1)
#define SIG_ERR ((__sighandler_t *)-1)
int sigaction(int sig, const struct sigaction *act, struct sigaction *oact);

/* sigaction(2): si_code of a signal sent by a process (sys/signal.h of FreeBSD 14) */
#define SI_USER       0x10001
#define SI_QUEUE      0x10002

/* sigaction(2): si_code of SIGCHLD */
#define CLD_EXITED    1
#define CLD_KILLED    2
#define CLD_DUMPED    3
#define CLD_TRAPPED   4
#define CLD_STOPPED   5
#define CLD_CONTINUED 6

/* signal(3) */
__sighandler_t *signal(int sig, __sighandler_t *func);

/* sigprocmask(2), pthread_sigmask(3) */
#define SIG_BLOCK   1
#define SIG_UNBLOCK 2
#define SIG_SETMASK 3
int sigprocmask(int how, const sigset_t *set, sigset_t *oset);
int pthread_sigmask(int how, const sigset_t *set, sigset_t *oset);

/* kill(2), raise(3) */
int kill(pid_t pid, int sig);
int raise(int sig);

#endif
