/*
 * backend.h - the interface between the core and a platform backend.
 *
 * The core (lib/) never includes an operating system header beyond POSIX;
 * everything that differs between kernels sits behind this table: start a
 * child, adopt one made by fork(), reap it, recover a stolen status, sleep
 * until it may have ended, signal it, forget it, and the one descriptor that
 * reports exits.  A backend sees a child only through a process reference
 * (struct ward__pidref: pid and process descriptor), keeps no state about
 * children beyond the descriptor it stores there, and never sees the
 * handle: the table, the locks, the handle's state and every rule about who
 * may reap what live in the core, tested once.  A backend includes this
 * header (which brings sys.h, the system helpers the core shares with it)
 * and never lib/internal.h; what it may ask of the core is declared at the
 * end of this file.
 *
 * Backends: platform/linux (pidfd), platform/bsd (FreeBSD process
 * descriptors), platform/darwin (macOS posix_spawn), the last two sharing
 * platform/kqueue, and platform/posix (portable fallback).
 */
#ifndef WARD_BACKEND_H
#define WARD_BACKEND_H

#include "sys.h"

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * A process reference: all a backend sees of one private child (in the
 * spirit of systemd's PidRef).  The core owns the handle around it; the
 * backend reads pid and autoreap, and owns fd and what it notes about it.
 */
struct ward__pidref {
    pid_t pid;
    /* The backend's process descriptor: a Linux pidfd, a FreeBSD process
     * descriptor, a macOS kqueue that watches the pid; or -1. */
    int fd;
    /* The kernel reaps the child itself (Linux CLONE_AUTOREAP): no wait
     * sees it, and its pid may be reused as soon as it has ended. */
    unsigned char autoreap;
    /* What fd was when the backend noted it (see note below). */
    unsigned long long fd_dev, fd_ino;
};

/* What the child does between clone and exec, prepared by the parent. */
struct ward__fdmap {
    int src;      /* descriptor in the parent */
    int dst;      /* number it gets in the child */
    int optional; /* inherit mode: a closed src is not an error */
    int cloexec;  /* src == dst: the parent saw FD_CLOEXEC set on it */
};

struct ward__exec {
    char *const *argv;
    char *const *envp;
    char **paths;   /* candidate programs, tried in order (PATH search) */
    size_t npaths;
    const char *cwd;
    mode_t umask;
    int set_umask;
    unsigned int flags;
    struct ward__fdmap *fds;
    size_t nfds;
    int *src;       /* scratch for the child: where each source now is */
    int *dsts;      /* every dst, sorted */
    int maxdst;     /* highest dst in fds */
    sigset_t mask;  /* mask the child execs with */
    int masked;     /* the parent blocked every signal around the birth,
                       so the child sets mask before it execs; clear, the
                       child runs with the caller's mask, which it keeps
                       (unless WARD_RESET_SIGNALS: then mask, empty) */
    int handlers_clear; /* set by the backend: the kernel already made every
                           caught signal SIG_DFL in the child */
    int keep_below; /* every descriptor the child needs (sources and
                       targets) is below this; those above are closed unless
                       WARD_INHERIT_FDS */
    int files_shared; /* set by the backend: the child starts on the
                         parent's descriptor table and must take its own
                         before it touches a descriptor */
    int trimmed;    /* set in the child by the backend: the table it took
                       holds no descriptor at or above keep_below, so there
                       is nothing above the plan's to close */
    int autoreaped; /* set by the backend: the kernel reaps the child
                       itself (Linux CLONE_AUTOREAP); no wait of anyone's
                       sees it, nor does any SIGCHLD handler */
    pid_t parent;   /* the spawning process (for WARD_DIE_WITH_PARENT) */
    int autokill;   /* set by the backend: the kernel kills the child when
                       the last reference to its process descriptor goes
                       (Linux CLONE_PIDFD_AUTOKILL), so the child asks for
                       no parent-death signal of its own */
    volatile int err; /* written by the child: why exec failed */
};

/* What events_drain adds to *scan_all (see below). */
#define WARD__SCAN_ALL    1
#define WARD__SCAN_READY  2

/*
 * A backend is a const table of the few operations that differ between
 * kernels.  Everything else is in the core.  Each operation documents its
 * error contract; -1 always comes with errno set.
 */
struct ward__backend {
    const char *name;
    /* Probe the kernel.  -1/ENOSYS (or EINVAL, EPERM) selects the next one. */
    int (*init)(void);
    /*
     * Start a vfork-style child that runs ward__exec_child(ex).  On success
     * *pid and *pidfd (or -1) are set and the child has exec'd.  If the child
     * failed before exec it has been reaped, and -1 is returned with errno
     * set to the child's error.
     */
    int (*spawn)(struct ward__exec *ex, pid_t *pid, int *pidfd);
    /*
     * Optional.  1 if the next spawn may run with the caller's signal mask
     * (ex->masked clear): the backend makes the child so that no handler
     * of the program's can ever run in it (Linux: clone3 with
     * CLONE_CLEAR_SIGHAND), and blocks every signal itself around any
     * fallback that cannot (setting ex->masked and ex->mask, which the
     * child then restores).  Without it the core blocks every signal
     * around the birth.  Takes no lock, makes no system call.
     */
    int (*spawn_unmasked)(void);
    /* Take a descriptor for a child made by fork().  Called under ward__lock. */
    int (*adopt)(pid_t pid, int *pidfd);
    /*
     * Reap c without blocking.  Called under ward__lock.  Returns 1 with
     * *status (and *usage) set, 2 with *status set but no resource usage
     * (a child the kernel reaped itself), 0 if c still runs, -1/ECHILD if
     * c is no longer our child (someone else reaped it).
     */
    int (*reap)(struct ward__pidref *c, int *status, struct ward__usage *usage);
    /* After reap's ECHILD: recover the stolen status. -1/ENODATA if lost. */
    int (*recover)(struct ward__pidref *c, int *status);
    /*
     * Sleep until c may be reapable, the deadline (absolute, monotonic;
     * NULL for none) passes (-1/ETIMEDOUT), or a signal handler of the
     * program's runs (-1/EINTR).  Which handlers interrupt is the rule of
     * the call it stands for: with intr set (ward_timedwait), any handler,
     * as poll(2); with intr clear and no deadline (ward_wait), only one
     * installed without SA_RESTART, as waitpid(2): the backend then sleeps
     * in a call the kernel restarts after an SA_RESTART handler.  Every
     * interruption is returned as -1/EINTR: the core's wait loop tells the
     * caller's from one by a handler of ward's own (ward__quiet_signal()),
     * and sleeps again after the latter, so a backend never filters EINTR
     * itself.  Called without locks.  Spurious returns of 0 are allowed.
     */
    int (*block)(struct ward__pidref *c, const struct timespec *deadline, int intr);
    /* Signal c, which is unreaped.  Called under ward__lock. */
    int (*signal)(struct ward__pidref *c, int sig);
    /*
     * Release what the backend holds for c (its descriptor).  c is never
     * watched by then.  inherited: c came from the parent through a fork
     * (this is the child of that fork): release only what the fork copied
     * (a kqueue, for one, is not inherited and must not be closed there).
     */
    void (*forget)(struct ward__pidref *c, int inherited);
    /*
     * Optional.  Remember what c's process descriptor is, just after spawn
     * or adopt set it, so that reap, recover, signal and forget can tell
     * when the number no longer names it (the caller closed it, and it was
     * reused): they then never act on it, tell the core with
     * ward__pidref_lost(), and signal fails with EBADF.  Called before c
     * is in the table, where no other thread can reach it, so not under
     * ward__lock: it may make a system call.
     */
    void (*note)(struct ward__pidref *c);
    /*
     * Optional.  1 if a blocking wait may go to block at once, without a
     * reap first: block sleeps on c's own process (its descriptor is still
     * its own) and returns at once if that has already ended, so a reap
     * first would only add system calls, and in the common case (a wait
     * right after the spawn) find nothing.  0 if that cannot be told.
     * Changes nothing and takes no lock.
     */
    int (*can_block)(const struct ward__pidref *c);
    /*
     * Optional.  Reap c with none of ward's locks held, only c's claim
     * word (see ward__reap_unlocked()): 1 reaped, *status and *usage set;
     * 0 not ended yet, surely (c's descriptor is its own and the kernel
     * says so); -1 anything else (a descriptor that is not c's own, a
     * thief's ECHILD, a child the kernel reaps itself), for the core's
     * reap under ward__lock to look at.  Changes nothing in ward's state:
     * only the kernel's.
     */
    int (*reap_claimed)(const struct ward__pidref *c, int *status,
                        struct ward__usage *usage);
    /*
     * The events descriptor: open it (once; later calls return the same
     * descriptor), watch or unwatch a child in it (under ward__lock), and
     * collect the pids of children that may have ended, without blocking.
     * watch returns 1 if it watches c, 0 if it has nothing to watch (its
     * events name no child: events_drain sets *scan_all), -1 on error; the
     * core calls unwatch only for a child that watch returned 1 for, and
     * keeps that record itself.  What events_drain adds to *scan_all:
     * WARD__SCAN_ALL, look at every child (the events may have missed
     * some); WARD__SCAN_READY, the pids returned need not be all the
     * children that ended, but every ended child that nobody has reaped
     * has a report a wait for any child sees, so the core looks at those.
     */
    int (*events_open)(void);
    int (*watch)(struct ward__pidref *c);
    void (*unwatch)(struct ward__pidref *c);
    int (*events_drain)(pid_t *pids, int max, int *scan_all);
    /*
     * Optional.  Whether the process has a child, alive or a zombie, that is
     * not in ward's table and that a wait for idtype/id (P_ALL or P_PGID)
     * would match: 1 yes, 0 no, -1 cannot tell.  Under the spawn gate
     * (written, so no birth is in flight) and ward__lock; async-signal-safe.
     * It lets a wait for any child fail with ECHILD, as if private children
     * did not exist, instead of sleeping until they end.  is_private(pid)
     * is the core's answer for one pid: 1 if it is a private child of
     * ward's (async-signal-safe, as the call itself).
     */
    int (*others_exist)(idtype_t idtype, id_t id, int (*is_private)(pid_t pid));
    /*
     * Optional.  For a child the kernel reaps itself (autoreap): 1 if it
     * has ended and been released, so that its pid may be another
     * process's now; 0 if not, or if that cannot be told.
     * Async-signal-safe.
     */
    int (*released)(const struct ward__pidref *c);
    /*
     * Optional.  Signal c's process group through c's descriptor, for a
     * child whose pid is not kept for it (autoreap).  Under ward__lock.
     */
    int (*signal_group)(struct ward__pidref *c, int sig);
    /*
     * Optional.  Run by libward-guard's SIGCHLD handler on every SIGCHLD,
     * whatever the program's action, with the signal's siginfo (NULL if
     * none): a backend that sleeps on a self-pipe (posix) is woken through
     * it, and one that names the children that ended from si_pid (posix,
     * for events_drain) is told it, as its own handler would be.
     * Async-signal-safe; keeps errno.
     */
    void (*sigchld)(const siginfo_t *info);
    /*
     * Optional.  Signal a child whose pid is not kept for it (autoreap)
     * and whose descriptor was lost (closed by other code), only if it is
     * provably still that child: -1/ESRCH when it has ended or that cannot
     * be told.  Under ward__lock.
     */
    int (*signal_lost)(struct ward__pidref *c, int sig);
    /* In the child of a fork: drop inherited descriptors and state. */
    void (*atfork_child)(void);
    void (*atfork_prepare)(void);
    void (*atfork_parent)(void);
};

/*
 * What the core offers a backend, beyond the table it calls.
 */
/* Whether libward-guard's SIGCHLD handler is in place (it then owns the
 * signal, and calls the backend's sigchld hook on every SIGCHLD). */
int ward__guard_active(void);
/* Ask libward-guard to keep its handler installed even where the program's
 * action needs none.  Does nothing without the guard. */
void ward__guard_want_handler(void);
/*
 * c's descriptor is no longer its own: some other code closed the number,
 * which may name another file now.  The core sets c->fd to -1 without
 * closing it, and fails the handle's waits and signals with EBADF from now
 * on; the child stays private, and the backend reaps it by pid.  Under
 * ward__lock.
 */
void ward__pidref_lost(struct ward__pidref *c);
/* A SIGCHLD handler of the backend's own ran without running one of the
 * program's: a sleep it interrupted is not the caller's EINTR.
 * Async-signal-safe. */
void ward__quiet_signal(void);

extern const struct ward__backend ward__linux_backend;
extern const struct ward__backend ward__bsd_backend;
extern const struct ward__backend ward__darwin_backend;
extern const struct ward__backend ward__posix_backend;

#endif
