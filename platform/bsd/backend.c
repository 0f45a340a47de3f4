/*
 * platform/bsd/backend.c - the FreeBSD backend: process descriptors.
 *
 * A spawned child is made with pdrfork_thread(RFSPAWN) where the system has
 * it (FreeBSD 15.1 and later: vfork cost, the parent's memory is not
 * copied), else with pdfork() (a copy-on-write fork).  Either way the kernel
 * itself keeps the child private: it sends no SIGCHLD for it, and waits for
 * "any child" (wait(), waitpid(-1), wait6(P_ALL)) skip it (proc_to_reap() in
 * kern_exit.c).  Only a wait that names its pid, or its process group
 * (waitpid(0), waitpid(-pgid)), can still reap it.
 *
 * The process descriptor is the handle's pidfd.  It is close-on-exec, and
 * created with PD_DAEMON unless the caller asked for WARD_KILL_ON_FREE: then
 * the kernel kills the child when the last descriptor closes, which also
 * happens when this process exits or execs.  Signals go through pdkill(),
 * which can never reach a stranger.  Reaping is pdwait() where present, else
 * wait4() by pid under ward__lock, after pdkill(fd, 0) has shown that the
 * child is still unreaped.  A status a thief took is recovered from the
 * descriptor: a new EVFILT_PROCDESC NOTE_EXIT knote on an exited process
 * fires at once with the wait status in its data, for as long as the
 * descriptor is open (procdesc_kqops_event() in sys_procdesc.c).
 *
 * A child made by fork() (ward_fork(), ward_fork_parent()) has no process
 * descriptor: FreeBSD cannot open one for an existing process.  It is a
 * plain child, visible to thieves; its pidfd is a status kqueue (see
 * ../kqueue/kq.h), from which a stolen status is recovered as on macOS.
 *
 * NetBSD and OpenBSD have no process descriptors; they use the posix
 * backend.
 */
#include "backend.h"
#include "../kqueue/kq.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/event.h>
#include <sys/mman.h>
#include <sys/procdesc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PD_CLOEXEC
#define PD_CLOEXEC 0 /* FreeBSD before 12: FD_CLOEXEC is set right after */
#endif

/* Is fd a process descriptor (rather than a status kqueue)? */
static int
is_procdesc(int fd)
{
    pid_t pid;

    return pdgetpid(fd, &pid) == 0;
}

static int
bsd_init(void)
{
    /*
     * Nothing to probe: pdfork() has been in every FreeBSD kernel since 10,
     * and calling a system call the kernel lacks would raise SIGSYS rather
     * than fail with ENOSYS.  WARD_BACKEND=posix chooses the fallback.
     */
    return 0;
}

/* Flags for a new process descriptor; see the comment at the top. */
static int
pd_flags(const struct ward__exec *ex)
{
    return PD_CLOEXEC |
           ((ex->flags & (WARD_KILL_ON_FREE | WARD_DIE_WITH_PARENT)) ? 0 : PD_DAEMON);
}

/*
 * Undo a spawn whose child must not live on: kill it through its process
 * descriptor, reap it, close the descriptor.
 */
static void
undo_spawn(pid_t pid, int fd)
{
    (void)pdkill(fd, SIGKILL);
    ward__reap_pid(pid);
    (void)close(fd);
}

#ifdef HAVE_PDRFORK_THREAD
/*
 * The parent is suspended until the child execs or exits (RFSPAWN has
 * vfork semantics), so the child's stack is needed only that long.  x86
 * cannot run the child on the caller's stack; elsewhere libc's generic
 * pdrfork_thread() wants no stack and says EOPNOTSUPP to one.
 */
#define CHILD_STACK_SIZE (64 * 1024)

static int
child_main(void *arg)
{
    ward__exec_child(arg);
}

static pid_t
start_rfspawn(struct ward__exec *ex, int *fdp)
{
    void *stack;
    pid_t pid;
    int err;

    stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANON, -1, 0);
    if (stack == MAP_FAILED)
        return -1;
    pid = pdrfork_thread(fdp, pd_flags(ex), RFSPAWN,
                         (char *)stack + CHILD_STACK_SIZE, child_main, ex);
    if (pid == -1 && errno == EOPNOTSUPP)
        pid = pdrfork_thread(fdp, pd_flags(ex), RFSPAWN, NULL, child_main, ex);
    err = errno;
    munmap(stack, CHILD_STACK_SIZE);
    errno = err;
    return pid;
}
#else

/*
 * Without pdrfork(), pdfork() copies the parent (copy-on-write), so the
 * child cannot report its exec error through ex.  It runs on a copy of ex in
 * a shared page instead, and the parent learns of the exec from an
 * EVFILT_PROC NOTE_EXEC knote.  To register that knote before the child can
 * exec, the child first waits on a pipe for a byte the parent writes once
 * the knote is in place (or for end-of-file, should the parent die first;
 * a byte, because a fork in another thread may hold a copy of the write
 * end, and then end-of-file would never come).
 */
static pid_t
start_pdfork(struct ward__exec *ex, int *fdp)
{
    struct ward__exec *shared;
    struct kevent kev;
    int go[2] = { -1, -1 }, kq = -1, err = 0, n;
    pid_t pid = -1;
    char byte;

    shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANON, -1, 0);
    if (shared == MAP_FAILED)
        return -1;
    memcpy(shared, ex, sizeof(*shared));
    if ((kq = ward__kq_create()) == -1 || pipe2(go, O_CLOEXEC) == -1) {
        err = errno;
        goto out;
    }
    pid = pdfork(fdp, pd_flags(ex));
    if (pid == 0) {
        /* The child: async-signal-safe calls only, as after vfork(). */
        (void)close(go[1]);
        while (read(go[0], &byte, 1) == -1 && errno == EINTR)
            ;
        (void)close(go[0]);
        ward__exec_child(shared);
    }
    if (pid == -1) {
        err = errno;
        goto out;
    }
    EV_SET(&kev, (uintptr_t)pid, EVFILT_PROC, EV_ADD, NOTE_EXEC | NOTE_EXIT, 0, NULL);
    if (kevent(kq, &kev, 1, NULL, 0, NULL) == -1) {
        /* Cannot tell when it execs: it must not live on unwatched. */
        err = errno;
        undo_spawn(pid, *fdp);
        pid = -1;
        goto out;
    }
    while (write(go[1], "", 1) == -1 && errno == EINTR)
        ;
    (void)close(go[1]);
    go[1] = -1;
    while ((n = kevent(kq, NULL, 0, &kev, 1, NULL)) == -1 && errno == EINTR)
        ;
    /*
     * NOTE_EXEC: it runs the new program.  NOTE_EXIT alone: it failed
     * before exec and left its error in the shared page, or it was killed
     * (no error: its wait status will say so, as after a vfork()).
     */
    if (n == 1 && !(kev.fflags & NOTE_EXEC))
        ex->err = shared->err;
out:
    if (go[0] != -1)
        (void)close(go[0]);
    if (go[1] != -1)
        (void)close(go[1]);
    if (kq != -1)
        (void)close(kq);
    munmap(shared, sizeof(*shared));
    if (err != 0)
        errno = err;
    return pid;
}
#endif

static int
bsd_spawn(struct ward__exec *ex, pid_t *pidp, int *pidfdp)
{
    pid_t pid;
    int fd = -1, moved, err;

    ex->err = 0;
#ifdef HAVE_PDRFORK_THREAD
    pid = start_rfspawn(ex, &fd);
#else
    pid = start_pdfork(ex, &fd);
#endif
    if (pid == -1)
        return -1;
    if (ex->err != 0) {
        /* The child failed before exec and has exited: reap it now. */
        err = ex->err;
        ward__reap_pid(pid);
        (void)close(fd);
        errno = err;
        return -1;
    }
#if PD_CLOEXEC == 0
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
    if (fd < 3) {
        /*
         * The caller had closed its stdio.  Not ward__fd_above_stdio(): on
         * failure it would close the descriptor and leave a PD_DAEMON child
         * running with nobody to reap it.
         */
        if ((moved = fcntl(fd, F_DUPFD_CLOEXEC, 3)) == -1) {
            err = errno;
            undo_spawn(pid, fd);
            errno = err;
            return -1;
        }
        (void)close(fd);
        fd = moved;
    }
    *pidp = pid;
    *pidfdp = fd;
    return 0;
}

static int
bsd_reap(struct ward__pidref *c, int *status, struct ward__usage *usage)
{
    struct rusage ru;
    pid_t r;
    int st;

#ifdef HAVE_PDWAIT
    {
        struct __wrusage wru;

        if (pdwait(c->fd, &st, WEXITED | WNOHANG, &wru, NULL) == 0) {
            /*
             * pdwait() reaps as wait6() does in FreeBSD 15.1 and 16.0.
             * Work under way there would make it leave the zombie to a
             * waitpid(); the pid stays reserved while the descriptor is
             * open either way, so a wait for it here is harmless, and it
             * keeps a zombie from outliving the handle on such a kernel.
             */
            (void)ward__real_wait4(c->pid, NULL, WNOHANG, NULL);
            *status = st;
            ward__usage_from_rusage(usage, &wru.wru_self);
            return 1;
        }
        if (errno == EAGAIN)
            return 0;          /* still running */
        if (errno == ESRCH) {
            errno = ECHILD;    /* reaped by someone else */
            return -1;
        }
        if (errno != EINVAL)   /* EINVAL: a status kqueue, not a descriptor */
            return -1;
    }
#endif
    /*
     * pdkill(fd, 0) fails with ESRCH once the process has been reaped; the
     * pid may then belong to someone else, so do not wait for it.  EBADF
     * means a status kqueue: a forked child, safe to wait for by pid under
     * ward__lock like any child of the posix backend.
     */
    if (pdkill(c->fd, 0) == -1 && errno == ESRCH) {
        errno = ECHILD;
        return -1;
    }
    r = ward__real_wait4(c->pid, &st, WNOHANG, &ru);
    if (r <= 0)
        return (int)r;
    *status = st;
    ward__usage_from_rusage(usage, &ru);
    return 1;
}

/* Ask a process descriptor for the wait status of its exited process. */
static int
procdesc_status(int fd, int *status)
{
    static const struct timespec zero;
    struct kevent kev;
    int kq = ward__kq_create(), n;

    if (kq == -1)
        return -1;
    EV_SET(&kev, (uintptr_t)fd, EVFILT_PROCDESC, EV_ADD, NOTE_EXIT, 0, NULL);
    n = kevent(kq, &kev, 1, &kev, 1, &zero);
    (void)close(kq);
    if (n == 1 && !(kev.flags & EV_ERROR) && (kev.fflags & NOTE_EXIT)) {
        *status = (int)kev.data;
        return 0;
    }
    errno = ENODATA;
    return -1;
}

static int
bsd_recover(struct ward__pidref *c, int *status)
{
    if (is_procdesc(c->fd))
        return procdesc_status(c->fd, status);
    return ward__kq_pid_status(c->fd, status);
}

/* Called under ward__lock while c is unreaped. */
static int
bsd_signal(struct ward__pidref *c, int sig)
{
    if (pdkill(c->fd, sig) == 0)
        return 0;
    if (errno != EBADF)
        return -1;
    /* A status kqueue: a forked child, unreaped as ward__lock proves. */
    return kill(c->pid, sig);
}

static int
bsd_events_open(void)
{
    return ward__kq_events_open();
}

static int
bsd_watch(struct ward__pidref *c)
{
    if (ward__kq_events_add(c->fd, EVFILT_PROCDESC, NOTE_EXIT, c->pid) == -1) {
        /* EINVAL: not a process descriptor but a status kqueue. */
        if (errno != EINVAL ||
            ward__kq_events_add(c->fd, EVFILT_READ, 0, c->pid) == -1)
            return -1;
    }
    return 1;
}

static void
bsd_unwatch(struct ward__pidref *c)
{
    if (ward__kq_events_del(c->fd, EVFILT_PROCDESC) == -1)
        (void)ward__kq_events_del(c->fd, EVFILT_READ);
}

static int
bsd_events_drain(pid_t *pids, int max, int *scan_all)
{
    return ward__kq_events_drain(pids, max, scan_all);
}

static void
bsd_forget(struct ward__pidref *c, int inherited)
{
    if (c->fd == -1)
        return;
    /*
     * In the child of a fork (an inherited handle), a process
     * descriptor is an inherited copy and must be closed, or it would keep
     * the parent's child alive past the parent's own close; a status kqueue
     * was not inherited and its number may already be someone else's.
     */
    if (!inherited || is_procdesc(c->fd))
        (void)close(c->fd);
    c->fd = -1;
}

static void
bsd_atfork_child(void)
{
    ward__kq_atfork_child();
}

const struct ward__backend ward__bsd_backend = {
    .name = "bsd",
    .init = bsd_init,
    .spawn = bsd_spawn,
    .adopt = ward__kq_adopt,
    .reap = bsd_reap,
    .recover = bsd_recover,
    .block = ward__kq_block,
    .signal = bsd_signal,
    .forget = bsd_forget,
    .events_open = bsd_events_open,
    .watch = bsd_watch,
    .unwatch = bsd_unwatch,
    .events_drain = bsd_events_drain,
    .atfork_child = bsd_atfork_child,
};
