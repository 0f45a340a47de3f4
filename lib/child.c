/*
 * child.c - what can be done with a handle: wait, signal, release.
 *
 * A handle's status, once cached, is read without a lock or a system call:
 * the status is written before the state becomes EXITED (sequentially
 * consistent atomics), so whoever sees EXITED sees the status.
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Classic wait status layout, shared by every Unix ward runs on. */
int
ward__status_from_siginfo(const siginfo_t *si)
{
    switch (si->si_code) {
    case CLD_EXITED:
        return (si->si_status & 0xff) << 8;
    case CLD_KILLED:
        return si->si_status & 0x7f;
    case CLD_DUMPED:
        return (si->si_status & 0x7f) | 0x80;
    case CLD_STOPPED:
    case CLD_TRAPPED:
        return ((si->si_status & 0xff) << 8) | 0x7f;
    default: /* CLD_CONTINUED */
        return 0xffff;
    }
}

/* The largest time_t, a signed integer type on every system ward runs on. */
#define WARD_TIME_MAX                                                        \
    ((time_t)(~0ULL >> (sizeof(unsigned long long) * CHAR_BIT -              \
                        sizeof(time_t) * CHAR_BIT + 1)))

void
ward__deadline_after(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    if (ms < 0)
        ms = 0;
    /* A grace longer than the clock can count is no deadline at all. */
    if (ms / 1000 > WARD_TIME_MAX - ts->tv_sec - 1) {
        ts->tv_sec = WARD_TIME_MAX;
        ts->tv_nsec = 999999999L;
        return;
    }
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/*
 * Time left until deadline (valid tv_nsec), never negative: 0 and a zero
 * *left once it has passed, 1 otherwise.  The deadline is compared with
 * the clock before anything is subtracted, and the difference is taken in
 * unsigned arithmetic: a deadline of the smallest time_t is simply past,
 * and one of the largest is far, never an overflow that wraps to the other.
 */
int
ward__time_left(const struct timespec *deadline, struct timespec *left)
{
    struct timespec now;
    unsigned long long sec;
    long nsec;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (deadline->tv_sec < now.tv_sec ||
        (deadline->tv_sec == now.tv_sec && deadline->tv_nsec <= now.tv_nsec)) {
        left->tv_sec = 0;
        left->tv_nsec = 0;
        return 0;
    }
    /* deadline > now, so the true difference is positive and fits. */
    sec = (unsigned long long)deadline->tv_sec - (unsigned long long)now.tv_sec;
    nsec = deadline->tv_nsec - now.tv_nsec;
    if (nsec < 0) {
        sec--;
        nsec += 1000000000L;
    }
    left->tv_sec = (time_t)sec;
    left->tv_nsec = nsec;
    return 1;
}

int
ward__ms_until(const struct timespec *deadline)
{
    struct timespec left;
    long long ms;

    if (deadline == NULL)
        return -1;
    if (!ward__time_left(deadline, &left))
        return 0;
    /* Far deadlines (up to the largest time_t) must not overflow. */
    if (left.tv_sec > INT_MAX / 1000)
        return INT_MAX;
    /* Rounded up, so a sleep never ends just before the deadline. */
    ms = (long long)left.tv_sec * 1000 + (left.tv_nsec + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int
foreign(const ward_child *c)
{
    return c->gen != ward__gen;
}

/* The cached result, if there is one: 1 (status set), -1 (lost), 0 (none). */
static int
cached(const ward_child *c, int *status)
{
    switch (atomic_load(&c->state)) {
    case WARD__EXITED:
        if (status != NULL)
            *status = c->status;
        return 1;
    case WARD__LOST:
        errno = ECHILD;
        return -1;
    default:
        return 0;
    }
}

static const struct timespec no_wait;

/*
 * The handle's descriptor was closed by other code (see ward__fd_lost()):
 * the handle answers EBADF from then on, as a closed descriptor would, and
 * never with what the number names now.
 */
static int
lost(const ward_child *c)
{
    if (!atomic_load(&c->fd_lost))
        return 0;
    errno = EBADF;
    return 1;
}

/*
 * The one wait loop.  deadline == &no_wait: never block; NULL: no deadline.
 * intr: any signal handler ends the wait with EINTR (ward_timedwait, like
 * poll(2)); otherwise only one installed without SA_RESTART does
 * (ward_wait, like waitpid(2)).  Reaping happens only under ward__lock;
 * sleeping only outside it.
 */
static int
wait_until(ward_child *c, int *status, const struct timespec *deadline,
           int intr)
{
    int r;

    if (c == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (deadline != NULL && deadline != &no_wait &&
        (deadline->tv_nsec < 0 || deadline->tv_nsec >= 1000000000L)) {
        errno = EINVAL;
        return -1;
    }
    if (lost(c))
        return -1;
    if ((r = cached(c, status)) != 0)
        return r == 1 ? 0 : -1;
    if (foreign(c)) {
        /* Inherited across fork(): the child belongs to the parent process. */
        errno = EINVAL;
        return -1;
    }
    for (int first = 1;; first = 0) {
        unsigned int n0;
        int timed_out = 0;

        /*
         * A wait that may sleep goes to sleep at once where the backend
         * can sleep on the child's own process without a lock: the sleep
         * ends at once if the child has already ended, and the reap
         * follows.  A reap first would mostly find nothing (a wait right
         * after a spawn), and cost system calls.
         */
        if (first && deadline != &no_wait && ward__be->can_block != NULL &&
            ward__be->can_block(&c->ref) == 1) {
            r = 0;
        } else if ((r = ward__reap_unlocked(c)) == -1) {
            ward__lock();
            r = ward__try_reap(c);
            ward__unlock();
        }
        if (lost(c))
            return -1;
        if (r == -1)
            return -1;
        if (r == 1) {
            r = cached(c, status);
            return r == 1 ? 0 : -1;
        }
        if (deadline == &no_wait) {
            errno = EAGAIN;
            return -1;
        }
        n0 = ward__quiet_signals;
        if (ward__be->block(&c->ref, deadline, intr) == -1) {
            /*
             * A SIGCHLD handler of ward's own (the posix backend's, the
             * guard's) that ran no handler of the program's is no reason
             * to give up: that EINTR is not the caller's.  Look again.
             */
            if (errno == EINTR && !WARD__CALLERS_EINTR(n0))
                continue;
            if (errno != ETIMEDOUT)
                return -1;
            timed_out = 1;
        }
        if (timed_out) {
            /* One last look, so an exit at the deadline is not missed. */
            ward__lock();
            r = ward__try_reap(c);
            ward__unlock();
            if (lost(c))
                return -1;
            if (r == 1) {
                r = cached(c, status);
                return r == 1 ? 0 : -1;
            }
            errno = ETIMEDOUT;
            return -1;
        }
    }
}

int
ward_wait(ward_child *c, int *status)
{
    return wait_until(c, status, NULL, 0);
}

int
ward_trywait(ward_child *c, int *status)
{
    return wait_until(c, status, &no_wait, 0);
}

int
ward_timedwait(ward_child *c, int *status, const struct timespec *deadline)
{
    return wait_until(c, status, deadline, 1);
}

/*
 * Wait, restarting after every signal handler: for waits the caller did
 * not ask for (ward_terminate, a kill-on-free), which never fail with EINTR.
 */
static int
wait_uninterrupted(ward_child *c, int *status, const struct timespec *deadline)
{
    int r;

    while ((r = wait_until(c, status, deadline, 0)) == -1 && errno == EINTR)
        ;
    return r;
}

/*
 * Signal c (or its group) while it provably is unreaped: under ward__lock,
 * with its slot claimed, so that neither ward nor the guard's handler can
 * reap it and free its pid during the call.  how: 0 through the backend
 * (the pidfd), 1 the group, 2 the pid (only for a handle whose descriptor
 * was lost, which ward_free() must still kill when asked to).
 */
#define SIG_CHILD 0
#define SIG_GROUP 1
#define SIG_PID   2

static int
signal_unreaped(ward_child *c, int sig, int how)
{
    int r;

    if (atomic_load(&c->state) != WARD__RUNNING) {
        errno = ESRCH;
        return -1;
    }
    if (c->slot != NULL && ward__slot_claim(c->slot, c->ref.pid) == WARD__SLOT_DONE) {
        /* Reaped by the guard's handler: collect it now. */
        (void)ward__try_reap(c);
        errno = ESRCH;
        return -1;
    }
    if (c->ref.autoreap && how != SIG_CHILD) {
        /*
         * The kernel reaps such a child the moment it ends, so its pid
         * (and a group id equal to it) may be anyone's: only its
         * descriptor names it safely.  Without one it is signalled only
         * where the backend can prove the pid is still its own.
         */
        if (how == SIG_GROUP && ward__be->signal_group != NULL && c->ref.fd != -1) {
            r = ward__be->signal_group(&c->ref, sig);
        } else if (how == SIG_PID && ward__be->signal_lost != NULL) {
            r = ward__be->signal_lost(&c->ref, sig);
        } else {
            errno = ESRCH;
            r = -1;
        }
    } else {
        r = how == SIG_GROUP ? kill(-c->ref.pid, sig)
            : how == SIG_PID ? kill(c->ref.pid, sig)
            : ward__be->signal(&c->ref, sig);
    }
    if (c->slot != NULL)
        WARD__KEEP_ERRNO(ward__slot_unclaim(c->slot, c->ref.pid));
    return r;
}

static int
valid_signal(int sig)
{
    return sig >= 0 && sig < NSIG;
}

static int
leads_group(const ward_child *c)
{
    return (c->flags & (WARD_NEW_PGROUP | WARD_NEW_SESSION)) != 0;
}

/* ward_kill() (group 0) and ward_killpg() (group 1). */
static int
send_signal(ward_child *c, int sig, int group)
{
    int r;

    if (c == NULL || !valid_signal(sig) || (group && !leads_group(c))) {
        errno = EINVAL;
        return -1;
    }
    /* Once reaped, the pid may be anyone's: refuse without a system call. */
    if (atomic_load(&c->state) != WARD__RUNNING || foreign(c)) {
        errno = ESRCH;
        return -1;
    }
    if (lost(c))
        return -1;
    /*
     * While the child is unreaped its pid, and so a group id equal to it,
     * cannot be given to anyone else; signal_unreaped() keeps it so.
     */
    ward__lock();
    r = signal_unreaped(c, sig, group ? SIG_GROUP : SIG_CHILD);
    ward__unlock();
    return r;
}

int
ward_kill(ward_child *c, int sig)
{
    return send_signal(c, sig, 0);
}

int
ward_killpg(ward_child *c, int sig)
{
    return send_signal(c, sig, 1);
}

static int
signal_child_or_group(ward_child *c, int sig)
{
    int r = leads_group(c) ? ward_killpg(c, sig) : ward_kill(c, sig);

    /* It ended on its own in the meantime: not an error here. */
    return r == -1 && errno == ESRCH ? 0 : r;
}

int
ward_terminate(ward_child *c, int grace_ms, int *status)
{
    struct timespec deadline;
    int r;

    if (c == NULL || grace_ms < 0) {
        errno = EINVAL;
        return -1;
    }
    if (ward_trywait(c, status) == 0)
        return 0;
    if (errno != EAGAIN)
        return -1;
    if (signal_child_or_group(c, SIGTERM) == -1)
        return -1;
    /* A stopped child would never act on SIGTERM. */
    (void)signal_child_or_group(c, SIGCONT);
    ward__deadline_after(&deadline, grace_ms);
    if ((r = wait_uninterrupted(c, status, &deadline)) == 0)
        return 0;
    if (errno != ETIMEDOUT)
        return -1;
    if (signal_child_or_group(c, SIGKILL) == -1)
        return -1;
    return wait_uninterrupted(c, status, NULL);
}

void
ward_free(ward_child *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < 3; i++) {
        if (c->stdio[i] != -1)
            (void)close(c->stdio[i]);
        c->stdio[i] = -1;
    }
    if (foreign(c)) {
        /*
         * Only what the fork copied is ours to release, and only the
         * backend knows what that is (a kqueue is not inherited).
         */
        ward__be->forget(&c->ref, 1);
        free(c);
        return;
    }
    /* A child that is to die with its parent dies with its handle first. */
    if (atomic_load(&c->state) == WARD__RUNNING &&
        (c->flags & (WARD_KILL_ON_FREE | WARD_DIE_WITH_PARENT))) {
        if (ward_kill(c, SIGKILL) == -1 && errno == EBADF) {
            /*
             * The descriptor was lost (closed by other code), the child was
             * not: kill it by pid, which is still its own while it is
             * unreaped.  It is reaped as an orphan below.
             */
            ward__lock();
            if (atomic_load(&c->state) == WARD__RUNNING)
                (void)signal_unreaped(c, SIGKILL, SIG_PID);
            ward__unlock();
        }
        (void)wait_uninterrupted(c, NULL, NULL);
    }
    ward__lock();
    ward__unpend(c);
    if (atomic_load(&c->state) == WARD__RUNNING) {
        /* Reaped and freed later by ward, never left a zombie. */
        ward__orphan(c);
        c = NULL;
    }
    ward__unlock();
    if (c != NULL) {
        ward__be->forget(&c->ref, 0);
        free(c);
    }
    ward__bury();
}

pid_t
ward_pid(const ward_child *c)
{
    if (c == NULL) {
        errno = EINVAL;
        return -1;
    }
    return c->ref.pid;
}

int
ward_pidfd(const ward_child *c)
{
    if (c == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (foreign(c)) {
        errno = EINVAL;
        return -1;
    }
    if (lost(c))
        return -1;
    if (c->ref.fd == -1) {
        errno = ENOTSUP;
        return -1;
    }
    return c->ref.fd;
}

int
ward_stdio(const ward_child *c, int childfd)
{
    if (c == NULL || childfd < 0 || childfd > 2) {
        errno = EINVAL;
        return -1;
    }
    if (c->stdio[childfd] == -1) {
        errno = EBADF;
        return -1;
    }
    return c->stdio[childfd];
}

int
ward_stdio_take(ward_child *c, int childfd)
{
    int fd = ward_stdio(c, childfd);

    if (fd != -1)
        c->stdio[childfd] = -1;
    return fd;
}

int
ward_rusage(const ward_child *c, struct rusage *ru)
{
    if (c == NULL || ru == NULL) {
        errno = EINVAL;
        return -1;
    }
    switch (atomic_load(&c->state)) {
    case WARD__RUNNING:
        errno = EAGAIN;
        return -1;
    case WARD__LOST:
        errno = ENODATA;
        return -1;
    default:
        break;
    }
    if (!c->has_usage) {
        errno = ENODATA;
        return -1;
    }
    memset(ru, 0, sizeof(*ru));
    ru->ru_utime.tv_sec = (time_t)(c->usage.utime_us / 1000000);
    ru->ru_utime.tv_usec = (suseconds_t)(c->usage.utime_us % 1000000);
    ru->ru_stime.tv_sec = (time_t)(c->usage.stime_us / 1000000);
    ru->ru_stime.tv_usec = (suseconds_t)(c->usage.stime_us % 1000000);
    ru->ru_maxrss = c->usage.maxrss;
    ru->ru_minflt = c->usage.minflt;
    ru->ru_majflt = c->usage.majflt;
    ru->ru_inblock = c->usage.inblock;
    ru->ru_oublock = c->usage.oublock;
    ru->ru_nvcsw = c->usage.nvcsw;
    ru->ru_nivcsw = c->usage.nivcsw;
    return 0;
}

/* Copy the fields a handle keeps out of a struct rusage. */
void
ward__usage_from_rusage(struct ward__usage *u, const struct rusage *ru)
{
    u->utime_us = (long long)ru->ru_utime.tv_sec * 1000000 + ru->ru_utime.tv_usec;
    u->stime_us = (long long)ru->ru_stime.tv_sec * 1000000 + ru->ru_stime.tv_usec;
    u->maxrss = ru->ru_maxrss;
    u->minflt = ru->ru_minflt;
    u->majflt = ru->ru_majflt;
    u->inblock = ru->ru_inblock;
    u->oublock = ru->ru_oublock;
    u->nvcsw = ru->ru_nvcsw;
    u->nivcsw = ru->ru_nivcsw;
}
