/*
 * platform/kqueue/kq.c - the kqueue code shared by the FreeBSD and macOS
 * backends: status kqueues, the blocking wait, and the events descriptor.
 * See kq.h for what a status kqueue is and why it exists.
 */
#include "kq.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <sys/event.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The events descriptor; -1 until ward_events_fd().  Under ward__lock. */
static int evfd = -1;

int
ward__kq_create(void)
{
    int kq;

#ifdef KQUEUE_CLOEXEC
    /* FreeBSD 14 and later: close-on-exec from birth. */
    kq = kqueuex(KQUEUE_CLOEXEC);
#else
    /*
     * kqueue() takes no flags.  A kqueue is never inherited by fork(), so
     * only an execve() running at this very moment in another thread could
     * carry it into a new program before FD_CLOEXEC is set.
     */
    kq = kqueue();
    if (kq != -1 && fcntl(kq, F_SETFD, FD_CLOEXEC) == -1) {
        WARD__KEEP_ERRNO(close(kq));
        return -1;
    }
#endif
    return ward__fd_above_stdio(kq);
}

int
ward__kq_watch_pid(int kq, pid_t pid)
{
    struct kevent kev;
    unsigned int fflags = NOTE_EXIT;

#ifdef NOTE_EXITSTATUS
    /* macOS stores the status in the event only when asked to. */
    fflags |= NOTE_EXITSTATUS;
#endif
    EV_SET(&kev, (uintptr_t)pid, EVFILT_PROC, EV_ADD, fflags, 0, NULL);
    if (kevent(kq, &kev, 1, NULL, 0, NULL) == 0)
        return 0;
    if (errno != ESRCH)
        return -1;
    /*
     * The child has already exited (macOS refuses to attach to an exiting
     * process; FreeBSD attaches to a zombie and fires at once, so it gets
     * here only once the child is reaped).  Make kq ready for good so that
     * nobody sleeps on it; the reap that follows finds the status, or finds
     * that a thief took it.
     */
    EV_SET(&kev, 0, EVFILT_USER, EV_ADD, NOTE_TRIGGER, 0, NULL);
    return kevent(kq, &kev, 1, NULL, 0, NULL) == -1 ? -1 : 0;
}

int
ward__kq_pid_status(int kq, int *status)
{
    static const struct timespec zero;
    struct kevent ev[2];
    int n;

    n = kevent(kq, NULL, 0, ev, 2, &zero);
    for (int i = 0; i < n; i++) {
        if (ev[i].filter == EVFILT_PROC && !(ev[i].flags & EV_ERROR) &&
            (ev[i].fflags & NOTE_EXIT)) {
            *status = (int)ev[i].data;
            return 0;
        }
    }
    errno = ENODATA;
    return -1;
}

int
ward__kq_block(struct ward__pidref *c, const struct timespec *deadline, int intr)
{
    struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
    int ms = ward__ms_until(deadline), r;

    if (deadline == NULL && !intr) {
        /*
         * ward_wait: waitid() alone, which the kernel restarts after a
         * handler installed with SA_RESTART, as waitpid(2); poll() and
         * kevent() are never restarted.
         */
    } else if (c->fd < 0) {
        /* No descriptor to sleep on: short naps, as the posix backend. */
        if (deadline != NULL) {
            if (ms == 0) {
                errno = ETIMEDOUT;
                return -1;
            }
            return poll(NULL, 0, ms > 10 ? 10 : ms) == -1 ? -1 : 0;
        }
    } else {
        r = poll(&pfd, 1, ms);
        if (r == -1)
            return -1;
        if (r == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
    }
    /* The child has ended, or is ending: sleep until it is a zombie. */
    return ward__sleep_until_ended(c->pid);
}

int
ward__kq_events_open(void)
{
    if (evfd == -1)
        evfd = ward__kq_create();
    return evfd;
}

int
ward__kq_events_add(int fd, short filter, unsigned int fflags, pid_t pid)
{
    struct kevent kev;

    EV_SET(&kev, (uintptr_t)fd, filter, EV_ADD, fflags, 0, (void *)(intptr_t)pid);
    return kevent(evfd, &kev, 1, NULL, 0, NULL) == -1 ? -1 : 0;
}

int
ward__kq_events_del(int fd, short filter)
{
    struct kevent kev;

    EV_SET(&kev, (uintptr_t)fd, filter, EV_DELETE, 0, 0, NULL);
    return kevent(evfd, &kev, 1, NULL, 0, NULL) == -1 ? -1 : 0;
}

int
ward__kq_events_drain(pid_t *pids, int max, int *scan_all)
{
    static const struct timespec zero;
    struct kevent ev[64];
    int n;

    if (max > 64)
        max = 64;
    n = kevent(evfd, NULL, 0, ev, max, &zero);
    if (n == -1) {
        /* Only EINTR is expected here; look at every child instead. */
        *scan_all = 1;
        return 0;
    }
#ifdef EVFILT_PROCDESC
    {
        /*
         * FreeBSD makes a process descriptor's NOTE_EXIT one-shot, and posts
         * it a moment before the child can be reaped.  Register each again
         * at once: it fires again while the child is exited, so a child the
         * core could not reap yet is reported on the next drain, and the
         * core's unwatch after the reap removes it for good.
         */
        struct kevent again[64];
        int nagain = 0;

        for (int i = 0; i < n; i++) {
            struct kevent *k = &again[nagain];

            if (ev[i].filter != EVFILT_PROCDESC || (ev[i].flags & EV_ERROR))
                continue;
            EV_SET(k, ev[i].ident, EVFILT_PROCDESC, EV_ADD, NOTE_EXIT, 0,
                   ev[i].udata);
            nagain++;
        }
        if (nagain > 0 && kevent(evfd, again, nagain, NULL, 0, NULL) == -1)
            *scan_all = 1;
    }
#endif
    for (int i = 0; i < n; i++)
        pids[i] = (pid_t)(intptr_t)ev[i].udata;
    return n;
}

void
ward__kq_atfork_child(void)
{
    /*
     * The parent's kqueue was not inherited: its number is free in this
     * process (or already reused), so it must not be closed.
     */
    evfd = -1;
}

int
ward__kq_adopt(pid_t pid, int *pidfdp)
{
    int kq = ward__kq_create();

    if (kq == -1)
        return -1;
    if (ward__kq_watch_pid(kq, pid) == -1) {
        WARD__KEEP_ERRNO(close(kq));
        return -1;
    }
    *pidfdp = kq;
    return 0;
}
