/*
 * platform/kqueue/kq.h - what the FreeBSD and macOS backends share: kqueue.
 *
 * Both backends keep one kernel object per child in the handle's pidfd, a
 * descriptor that poll(2) reports ready once the child has ended:
 *
 *  - a FreeBSD process descriptor (pdfork(2)), which needs nothing more;
 *  - a "status kqueue": a kqueue of its own holding one EVFILT_PROC
 *    NOTE_EXIT knote for the child, registered while the child is provably
 *    unreaped (at spawn, or under ward__lock when a forked child is
 *    adopted).  The kernel stores the wait status in that knote when the
 *    child exits and the knote stays queued until someone reads it, even
 *    after another party has reaped the child.  ward never reads it except
 *    to recover a stolen status, so a thief cannot take the status from the
 *    handle.
 *
 * Everything here is a system call or a thin wrapper of one; the rules about
 * who may reap what stay in the core.
 */
#ifndef WARD_KQ_H
#define WARD_KQ_H

#include "backend.h"

#include <errno.h>

/*
 * FreeBSD (like OpenBSD) never defined ENODATA, the error the backend
 * interface uses for "status lost"; ENOATTR is its usual stand-in there.
 * (A no-op once the core provides the same fallback.)
 */
#if !defined(ENODATA) && defined(ENOATTR)
#define ENODATA ENOATTR
#endif

/* A new kqueue, close-on-exec, numbered above 0, 1 and 2.  -1 with errno. */
int ward__kq_create(void);

/*
 * Register the exit of pid in the status kqueue kq.  pid must be a child
 * that nobody going through ward can have reaped (the caller holds the
 * spawn gate or ward__lock).  If the kernel refuses with ESRCH because pid
 * has already exited (macOS will not attach to an exiting process) or was
 * reaped by a thief, kq is made ready for good, so a waiter never sleeps on
 * it forever; the status is then not recoverable.  0, or -1 with errno.
 */
int ward__kq_watch_pid(int kq, pid_t pid);
/*
 * The backends' adopt(): a child made by fork() gets a status kqueue of its
 * own as its descriptor.  Called under ward__lock, with the spawn gate held:
 * pid is unreaped.
 */
int ward__kq_adopt(pid_t pid, int *pidfdp);

/*
 * The wait status stored in a status kqueue, without blocking: 0 with
 * *status set, or -1/ENODATA when none was recorded.  Consumes the knote.
 */
int ward__kq_pid_status(int kq, int *status);

/*
 * backend->block for both backends: sleep until c->fd is ready or the
 * deadline passes (ETIMEDOUT), then until the kernel lets c be reaped.
 * Both kernels report the exit a moment before the child becomes a zombie
 * that wait4() can collect, so the second sleep (waitid() with WNOWAIT,
 * which reaps nothing) keeps the core from spinning in that moment.
 * Without a deadline and without intr (ward_wait) only the second sleep
 * is made, as the kernel restarts it after an SA_RESTART handler.
 */
int ward__kq_block(struct ward__pidref *c, const struct timespec *deadline, int intr);

/*
 * The events descriptor: one kqueue, created on first use (under
 * ward__lock), watching each child's pidfd with the given filter.  The
 * knote's udata is the child's pid, never a pointer, so a stale event can
 * never name a freed handle.  events_drain collects pids without blocking.
 * A kqueue is not inherited across fork(2), so after a fork the child only
 * forgets the number.
 */
int ward__kq_events_open(void);
int ward__kq_events_add(int fd, short filter, unsigned int fflags, pid_t pid);
int ward__kq_events_del(int fd, short filter);
int ward__kq_events_drain(pid_t *pids, int max, int *scan_all);
void ward__kq_atfork_child(void);

#endif
