/*
 * waitany.c - ward_waitpid() and ward_waitid(): the wait family as if
 * private children did not exist.
 *
 * A wait for one pid checks the table and, for a non-private pid, is the
 * plain system call.  A wait for "any child" (or a process group) looks at
 * the first ready child without reaping it (WNOWAIT), under the spawn gate
 * and the table lock:
 *
 *  - a non-private child is then reaped by pid and reported;
 *  - a private child that has ended is reaped into its handle (its status
 *    is cached there, not lost) and the search goes on;
 *  - a stop or continue report of a private child is consumed and dropped
 *    (ward reports only exits for its children).
 *
 * Sleeping is a blocking WNOWAIT wait with no lock held: the kernel wakes it
 * when any matching child is ready, whoever's it is.
 *
 * When nothing the caller may see is ready and private children exist, the
 * backend is asked whether any other child does (on Linux, from
 * /proc/self/task/TID/children): if none, the wait fails with ECHILD as it
 * would without the private children, blocking or not.  Where the backend
 * cannot tell, a blocking wait sleeps (reaping private children as they
 * end) and a WNOHANG wait returns "nothing ready".
 */
#include "internal.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#define WAITID_OPTIONS (WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT)

/*
 * A wait that asks for clone children (__WALL, __WCLONE: the guard passes
 * them through) may match children the backend's look does not weigh the
 * way the kernel would; it never gets ECHILD from ward's look.  Tracees
 * are the backend's to count: on Linux, others_exist() answers "yes" while
 * this process traces any (see platform/linux/backend.c).
 */
#if defined(__WALL) && defined(__WCLONE)
#define WAIT_FOR_TRACEES (__WALL | __WCLONE)
#else
#define WAIT_FOR_TRACEES 0
#endif

/*
 * Is pid a private child?  Under ward__lock and async-signal-safe: the
 * core's answer to the backend's others_exist().
 */
static int
is_private_live(pid_t pid)
{
    return ward__table_find_live(pid) != NULL;
}

/* Is pid an unreaped private child with a slot?  For others_exist(). */
static int
is_private_slot(pid_t pid)
{
    return ward__slot_unreaped(pid);
}

/*
 * is_private() without ward's locks, by the slots.  A pid with no slot
 * while a birth is in flight may be that very child, whose slot is not
 * published yet: the one a spawn that this handler interrupted is starting
 * in this thread (its clone has returned, and the pid is in /proc and in
 * the si_pid of its SIGCHLD), or another thread's.  Returns 2 then, "cannot
 * tell now": the birth re-raises SIGCHLD when it ends (ward__defer()).
 * Births in flight are counted before the slots are looked at, as in
 * look_unlocked(): a birth that ends in between has published its slot.
 */
static int
is_private_unlocked(pid_t pid)
{
    int busy = atomic_load(&ward__inflight) > 0;

    if (ward__slot_unreaped(pid))
        return 1;
    if (!busy)
        return 0;
    ward__defer();
    if (atomic_load(&ward__inflight) > 0)
        return 2;
    return ward__slot_unreaped(pid);
}

/*
 * Is pid a private child?  Takes ward__lock; in a handler of the program's
 * that cannot have it (see ward__lock_both_try()), asks the slots, which
 * know every private child but one the kernel reaps itself: its exit is
 * never any wait's to report, its stops are (see ward(7), BUGS).  Returns
 * 1 or 0, or 2 where that cannot be told now (is_private_unlocked()).
 *
 * A child is in the table only once its birth is over: a wait from another
 * thread that names the pid of a child being born (which it can only have
 * guessed, from /proc) takes it for one of the program's (ward_waitpid(3),
 * BUGS).  Waiting behind the spawn gate for births to end was tried, and
 * made every wait for one of the program's own pids, while any thread
 * spawned, wait for the gate (up to 100 ms under steady spawning).
 */
static int
is_private(pid_t pid)
{
    int r;

    if (ward__lock_depth > 0 || ward__masked > 0)
        return is_private_unlocked(pid);
    if (ward__in_handler == 0)
        ward__lock();
    else if (ward__lock_try() == -1)
        return is_private_unlocked(pid);
    r = ward__table_find_live(pid) != NULL;
    ward__unlock();
    return r;
}

/*
 * Before a wait for one pid: 1 if it is private (ECHILD), 0 if the wait is
 * the system call's.  Where that cannot be told now (is_private()), a
 * WNOHANG wait reports nothing ready (2) and a blocking one tries a while,
 * then fails with EINTR, as a wait for any child does in the same place
 * (wait_any_unlocked()).
 */
static int
check_pid(pid_t pid, int nohang)
{
    for (int tries = 0;; tries++) {
        int r = is_private(pid);

        if (r != 2)
            return r;
        if (nohang)
            return 2;
        if (tries >= WARD__TRY_ROUNDS) {
            errno = EINTR;
            return -1;
        }
        sched_yield();
    }
}

/*
 * One look at the ready children, under both locks.  Private children found
 * on the way are reaped into their handles (exits) or have their reports
 * dropped (stops, continues).  The first report of a non-private child is
 * handed to take(), which consumes it.  Returns what take() returned (1: a
 * report for the caller), 0 if nothing the caller may see is ready, -1 with
 * errno.
 */
static int
look(idtype_t idtype, id_t id, int options, ward__take_fn take, void *arg)
{
    for (;;) {
        siginfo_t si;
        ward_child *c;
        int r, exited;

        memset(&si, 0, sizeof(si));
        if (ward__real.waitid(idtype, id, &si, options | WNOHANG | WNOWAIT) == -1)
            return -1;
        if (si.si_pid == 0)
            return 0;
        /*
         * A child the kernel reaps itself frees its pid as it ends, before
         * ward collects its handle: only a handle whose child has not been
         * released names this pid (ward__table_find_live()).  No wait ever
         * reports such a child's exit, but its stops and continues are
         * reported like any child's (seen on Linux 7.3), and are as
         * private.
         */
        c = ward__table_find_live(si.si_pid);
        exited = ward__is_exit(&si);
        if (c == NULL || (c->ref.autoreap && exited)) {
            /* A waiter outside ward took the report in between: look again. */
            if ((r = take(&si, arg)) != 0)
                return r;
            continue;
        }
        if (exited) {
            if (ward__try_reap(c) == -1)
                return -1;
        } else {
            siginfo_t drop;
            int more = (options & (WSTOPPED | WCONTINUED)) | WNOHANG;

            memset(&drop, 0, sizeof(drop));
            /*
             * Dropped through the pidfd where the pid may be freed at any
             * moment (the child ends and the kernel releases it), so that a
             * report of whoever takes the pid next is never consumed.
             */
#ifdef P_PIDFD
            if (c->ref.autoreap && c->ref.fd != -1)
                (void)ward__real.waitid(P_PIDFD, (id_t)c->ref.fd, &drop, more);
            else
#endif
                (void)ward__real.waitid(P_PID, (id_t)si.si_pid, &drop, more);
        }
    }
}

/*
 * look() without ward's locks, for a wait made in a handler of the
 * program's while another thread holds them (see ward__lock_both_try()):
 * the guard's handler's own way past private children, by their slots.
 * Returns as look() does, or 2 when a report cannot be told apart now (a
 * child whose birth is not published yet, a child ward is reaping): ward
 * re-raises SIGCHLD once it is done (ward__deferred).
 */
static int
look_unlocked(idtype_t idtype, id_t id, int options, ward__take_fn take, void *arg)
{
    for (;;) {
        siginfo_t si, again;
        struct ward__slot *s;
        int r, busy;

        memset(&si, 0, sizeof(si));
        if (ward__real.waitid(idtype, id, &si, options | WNOHANG | WNOWAIT) == -1)
            return -1;
        if (si.si_pid == 0)
            return 0;
        /*
         * Births in flight counted before the slots are looked at: a birth
         * that ends in between has published its slot by then.
         */
        busy = atomic_load(&ward__inflight) > 0;
        if ((s = ward__slot_find(si.si_pid)) == NULL && busy) {
            ward__defer();
            if (atomic_load(&ward__inflight) > 0)
                return 2;
            s = ward__slot_find(si.si_pid);
        }
        if (s != NULL) {
            if (ward__slot_clear(s, &si) == -1)
                return 2;
            continue;
        }
        /*
         * No slot, and a stop or continue report: perhaps of a child the
         * kernel reaps itself, which has none.
         */
        if (!ward__is_exit(&si) && atomic_load(&ward__autoreaped) > 0)
            return 2;
        /*
         * No slot: the program's child, or a private one ward reaped (and
         * released) after we looked, whose report is then gone.
         */
        memset(&again, 0, sizeof(again));
        if (ward__real.waitid(P_PID, (id_t)si.si_pid, &again,
                              (options | WNOHANG | WNOWAIT)) == -1 ||
            again.si_pid == 0)
            continue;
        if ((r = take(&si, arg)) != 0)
            return r;
    }
}

/*
 * ward__wait_any() for a handler of the program's whose thread cannot have
 * ward's locks.  A report that cannot be told apart now is left for the
 * re-raise of SIGCHLD (ward__defer(), which also makes the guard run the
 * handler again for it): a WNOHANG wait answers "nothing ready"; a blocking
 * one tries a while, then fails with EINTR, for the thread that would tell
 * may be waiting for a lock the interrupted thread holds (a birth in
 * flight inside fork() or an allocation).  "Only private children left" is
 * told as ward__wait_any() tells it, the slots answering for the table.
 */
static int
wait_any_unlocked(idtype_t idtype, id_t id, int options, ward__take_fn take, void *arg)
{
    for (int tries = 0;;) {
        siginfo_t si;
        int r = look_unlocked(idtype, id, options, take, arg);

        /*
         * Nothing ready, and a blocking wait would sleep, or fail with
         * ECHILD if only private children were left: not while a birth is
         * in flight, whose child has no slot yet and would be taken for one
         * of the program's.  The sleep would then last as long as that
         * child, and, where this handler interrupted the spawn starting
         * it, so would the spawn (a child that waits for its parent would
         * never end).  Left for the re-raise, as a report that cannot be
         * told apart is.
         */
        if (r == 0 && !(options & WNOHANG) && atomic_load(&ward__inflight) > 0) {
            ward__defer();
            if (atomic_load(&ward__inflight) > 0)
                r = 2;
        }
        if (r == 2) {
            if (options & WNOHANG)
                return 0;
            if (++tries > WARD__TRY_ROUNDS) {
                errno = EINTR;
                return -1;
            }
            sched_yield();
            continue;
        }
        if (r == 0 && ward__be->others_exist != NULL && !(options & WAIT_FOR_TRACEES) &&
            ward__be->others_exist(idtype, id, is_private_slot) == 0) {
            errno = ECHILD;
            return -1;
        }
        if (r != 0 || (options & WNOHANG))
            return r;
        memset(&si, 0, sizeof(si));
        if (ward__real.waitid(idtype, id, &si, (options | WNOWAIT) & ~WNOHANG) == -1)
            return -1;
    }
}

int
ward__wait_any(idtype_t idtype, id_t id, int options, ward__take_fn take,
               void *arg)
{
    for (;;) {
        siginfo_t si;
        unsigned int n0;
        int r, none = 0, in_handler = ward__in_handler > 0;

        /*
         * A wait made while this thread holds ward__lock, or the spawn
         * gate for a birth (ward__masked: a spawn that leaves the caller's
         * mask alone, lib/spawn.c), runs in a signal handler that
         * interrupted it (ward never waits for any child inside either):
         * the lock is this thread's, and taking it would never end.  It
         * answers without the locks, as a wait in a handler under the
         * guard does when they are busy (see ward__lock_depth); this
         * thread's birth in flight is what it cannot tell yet, and it is
         * re-raised as SIGCHLD when the birth is over.
         */
        if (ward__lock_depth > 0 || ward__masked > 0)
            return wait_any_unlocked(idtype, id, options, take, arg);
        if (in_handler) {
            if (ward__lock_both_try() == -1)
                return wait_any_unlocked(idtype, id, options, take, arg);
        } else {
            ward__lock_both();
        }
        r = look(idtype, id, options, take, arg);
        /*
         * Dropped children are collected here too when the kernel knows
         * no child at all: a child it reaps itself (autoreap) leaves no
         * zombie for look() to find, only its handle and pidfd.
         */
        if (r == -1 && errno == ECHILD)
            WARD__KEEP_ERRNO(ward__reap_orphans());
        if (r == 0) {
            ward__reap_orphans();
            if (ward__table_count() > 0 && ward__be->others_exist != NULL &&
                !(options & WAIT_FOR_TRACEES) && ward__be->others_exist(idtype, id, is_private_live) == 0) {
                /* Only private children: for the caller, none at all. */
                none = 1;
            }
        }
        ward__unlock_both();
        if (none) {
            errno = ECHILD;
            return -1;
        }
        if (r != 0 || (options & WNOHANG))
            return r;
        /* Sleep until some matching child is ready; look again. */
        n0 = ward__quiet_signals;
        memset(&si, 0, sizeof(si));
        if (ward__real.waitid(idtype, id, &si, (options | WNOWAIT) & ~WNOHANG) == -1 &&
            (errno != EINTR || WARD__CALLERS_EINTR(n0)))
            return -1;
    }
}

struct take_waitid {
    siginfo_t *info;
    int options;
};

static int
take_waitid(const siginfo_t *seen, void *arg)
{
    struct take_waitid *t = arg;
    siginfo_t si;

    if (t->options & WNOWAIT) {
        *t->info = *seen;
        return 1;
    }
    memset(&si, 0, sizeof(si));
    if (ward__real.waitid(P_PID, (id_t)seen->si_pid, &si, t->options | WNOHANG) == -1)
        return errno == ECHILD ? 0 : -1;
    if (si.si_pid == 0)
        return 0;
    *t->info = si;
    return 1;
}

int
ward__check_pid(pid_t pid, int nohang)
{
    return check_pid(pid, nohang);
}

int
ward_waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
    if (info == NULL || (options & ~WAITID_OPTIONS) != 0 ||
        (options & (WEXITED | WSTOPPED | WCONTINUED)) == 0) {
        errno = EINVAL;
        return -1;
    }
    if (ward__init() == -1)
        return -1;
    return ward__waitid(idtype, id, info, options);
}

/* ward_waitid() without the check of options: the guard passes any bits. */
int
ward__waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
    struct take_waitid t = { info, options };
    int r;

    if (idtype == P_PID) {
        switch (check_pid((pid_t)id, options & WNOHANG)) {
        case 1:
            errno = ECHILD;
            return -1;
        case 2:
            memset(info, 0, sizeof(*info));
            return 0;
        case -1:
            return -1;
        }
        return ward__real.waitid(idtype, id, info, options);
    }
    if (idtype != P_ALL && idtype != P_PGID)
        return ward__real.waitid(idtype, id, info, options);
    if ((r = ward__wait_any(idtype, id, options, take_waitid, &t)) == -1)
        return -1;
    if (r == 0)
        memset(info, 0, sizeof(*info));
    return 0;
}

pid_t
ward_waitpid(pid_t pid, int *status, int options)
{
    siginfo_t si;
    idtype_t idtype;
    id_t id;
    int wopts = WEXITED;

    if ((options & ~(WNOHANG | WUNTRACED | WCONTINUED)) != 0) {
        errno = EINVAL;
        return -1;
    }
    if (ward__init() == -1)
        return -1;
    if (pid > 0) {
        switch (check_pid(pid, options & WNOHANG)) {
        case 1:
            errno = ECHILD;
            return -1;
        case 2:
            return 0;
        case -1:
            return -1;
        }
        return ward__real.waitpid(pid, status, options);
    }
    if (pid == -1) {
        idtype = P_ALL;
        id = 0;
    } else if (pid == 0) {
        idtype = P_PGID;
        id = (id_t)getpgrp();
    } else {
        idtype = P_PGID;
        id = (id_t)-pid;
    }
    if (options & WNOHANG)
        wopts |= WNOHANG;
    if (options & WUNTRACED)
        wopts |= WSTOPPED;
    if (options & WCONTINUED)
        wopts |= WCONTINUED;
    if (ward_waitid(idtype, id, &si, wopts) == -1)
        return -1;
    if (si.si_pid != 0 && status != NULL)
        *status = ward__status_from_siginfo(&si);
    return si.si_pid;
}
