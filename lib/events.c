/*
 * events.c - the events descriptor and dispatch: which children the
 * backend watches, the callbacks due (in the order their children ended),
 * and ward_dispatch(), which reaps what the descriptor reported and runs
 * them.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>

/* Handles whose callback is due, in the order their children ended. */
static ward_child *pending_head, **pending_tail = &pending_head;
static int events_on;    /* the events descriptor is in use */
static int watch_failed; /* some child could not be watched: scan them all */

void
ward__watch_new(ward_child *c)
{
    int r;

    if (!events_on)
        return;
    if ((r = ward__be->watch(&c->ref)) == -1)
        watch_failed = 1;
    else if (r == 1)
        c->watched = 1;
}

/* Queue c's callback, if it has one not queued yet.  Under ward__lock. */
void
ward__pend(ward_child *c)
{
    if (c->cb == NULL || c->pending)
        return;
    c->pending = 1;
    c->pnext = NULL;
    *pending_tail = c;
    pending_tail = &c->pnext;
}

static void
unpend(ward_child *c)
{
    ward_child **pp;

    if (!c->pending)
        return;
    for (pp = &pending_head; *pp != NULL; pp = &(*pp)->pnext) {
        if (*pp == c) {
            *pp = c->pnext;
            if (pending_tail == &c->pnext)
                pending_tail = pp;
            break;
        }
    }
    c->pending = 0;
    c->pnext = NULL;
}

/* Cancel what the owner of c still had queued.  Under ward__lock. */
void
ward__unpend(ward_child *c)
{
    unpend(c);
    c->cb = NULL;
}

int
ward_setcallback(ward_child *c, ward_exit_fn fn, void *data)
{
    if (c == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (c->gen != ward__gen) {
        errno = EINVAL;
        return -1;
    }
    ward__lock();
    c->cb = fn;
    c->cb_data = data;
    if (fn == NULL) {
        unpend(c);
    } else if (atomic_load(&c->state) != WARD__RUNNING) {
        ward__pend(c);
    }
    ward__unlock();
    return 0;
}

int
ward_events_fd(void)
{
    int fd;

    if (ward__init() == -1)
        return -1;
    ward__lock();
    fd = ward__be->events_open();
    if (fd != -1 && !events_on) {
        events_on = 1;
        ward__table_each(ward__watch_new);
    }
    ward__unlock();
    return fd;
}

static void
try_reap(ward_child *c)
{
    (void)ward__try_reap(c);
}

static void
reap_all(void)
{
    ward__table_each(try_reap);
}

/*
 * Exits reaped by reap_ready() since the last full scan (see ward_dispatch).
 * Under ward__lock.
 */
static size_t since_scan;

/*
 * Reap the private children whose exit a wait for any child reports, one
 * look and one reap each, without looking at the others: the cost is the
 * children that ended, not the children alive.  Each look is a waitid()
 * with WNOWAIT, which reaps nothing: the first ready child is reaped by pid
 * (ward__try_reap()) only if it is in the table, which holds unreaped
 * children only, so its pid cannot be a stranger's.  Only exits are asked
 * for: a stopped or continued child, ward's or the program's, is not in
 * the way.  A child whose exit signal is not SIGCHLD (clone(2)) is not
 * either, since the look has no __WALL or __WCLONE; ward's children all
 * have SIGCHLD.  Returns 1 if the caller must still look at every handle:
 * the first ready child is not ward's (the program's own, which its code
 * has not waited for yet: it stays in front of every later look, hiding
 * ward's behind it), or the look failed.  *reaped counts the children
 * reaped.  Under ward__lock.
 */
static int
reap_ready(size_t *reaped)
{
    pid_t last = 0;

    for (;;) {
        siginfo_t si;
        ward_child *c;

        memset(&si, 0, sizeof(si));
        if (ward__real.waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1) {
            if (errno == EINTR)
                continue;
            /* ECHILD: no child at all, so every handle left was stolen. */
            return errno != ECHILD || ward__table_count() > 0;
        }
        if (si.si_pid == 0)
            return 0;
        c = ward__table_find(si.si_pid);
        /*
         * Not ward's, or a report that a reap did not take away (never
         * expected): the full scan is what is left.  A handle of a child
         * the kernel reaps itself is stale for any report (see waitany.c).
         */
        if (c == NULL || c->ref.autoreap || si.si_pid == last)
            return 1;
        last = si.si_pid;
        if (ward__try_reap(c) != 1)
            return 1;
        (*reaped)++;
    }
}

/*
 * Run the callbacks due one at a time, outside the lock, so a callback may
 * call anything in ward, ward_free() of its own handle included.  Returns
 * how many ran.  Called and returns under ward__lock.
 */
static int
run_pending(void)
{
    int ran = 0;

    while (pending_head != NULL) {
        ward_child *c = pending_head;
        ward_exit_fn fn = c->cb;
        void *data = c->cb_data;
        int st = atomic_load(&c->state) == WARD__EXITED ? c->status : -1;

        unpend(c);
        c->cb = NULL;
        ward__unlock();
        fn(c, st, data);
        ran++;
        ward__lock();
    }
    return ran;
}

int
ward_dispatch(void)
{
    int ran = 0;

    if (ward__init() == -1)
        return -1;
    ward__bury();
    ward__lock();
    if (events_on) {
        pid_t pids[64];
        int n, scan_all = 0;

        do {
            n = ward__be->events_drain(pids, 64, &scan_all);
            /*
             * Every handle with the pid, not only the newest: the event
             * may be an autoreaped child's whose pid a new child took at
             * once, and its reap would otherwise never be tried (the
             * epoll set would report it again and again, and every time
             * the lookup would find the new child).
             */
            for (int i = 0; i < n; i++)
                ward__table_each_pid(pids[i], try_reap);
        } while (n == 64);
        /*
         * The backend may say that the pids it returned need not be every
         * child that ended, but that each ended child nobody has reaped has
         * a report (the posix backend: merged SIGCHLDs lose their si_pid).
         * Then the ready children are looked at, and every handle only
         * where a wait cannot see an exit of ward's:
         *
         *  - the first ready child is the program's (reap_ready());
         *  - libward-guard's handler reaped children into their slots
         *    (ward__slots_taken): their reports are gone, their statuses
         *    are in the slots;
         *  - without the guard, a wait of the program's may have reaped a
         *    child of ward's (a thief: only its reap's ECHILD tells), and
         *    the SIGCHLD that told its pid may have merged with another:
         *    a scan at least once every as many exits as there are
         *    handles, which keeps the cost per exit constant on average.
         *    (The backend reports WARD__SCAN_ALL itself when a SIGCHLD
         *    handler of the program's ran.)  With the guard, the wait
         *    family never reaps a private child.
         */
        if (!(scan_all & WARD__SCAN_ALL) && (scan_all & WARD__SCAN_READY)) {
            size_t reaped = 0;
            int scan;

            /*
             * The callbacks of the children the backend named run first:
             * the look for the others makes the kernel walk the list of
             * every child of the process (waitid(P_ALL) is O(children) in
             * the kernel, cheap per child but not free), and an exit that
             * was named need not wait for it.
             */
            ran += run_pending();
            scan = reap_ready(&reaped) || atomic_load(&ward__slots_taken) > 0;

            if (!ward__guard_active() && (since_scan += reaped) > ward__table_count())
                scan = 1;
            scan_all = scan ? WARD__SCAN_ALL : 0;
        }
        if (scan_all || watch_failed || ward__lost_count() > 0) {
            watch_failed = 0;
            since_scan = 0;
            reap_all();
        }
    } else {
        reap_all();
    }
    ran += run_pending();
    ward__unlock();
    return ran;
}

/* In the child of a fork: no callback is due, no descriptor in use. */
void
ward__events_reset_after_fork(void)
{
    pending_head = NULL;
    pending_tail = &pending_head;
    events_on = 0;
    watch_failed = 0;
    since_scan = 0;
}
