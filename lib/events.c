/*
 * events.c - the events descriptor and dispatch: which children the
 * backend watches, the callbacks due (in the order their children ended),
 * and ward_dispatch(), which reaps what the descriptor reported and runs
 * them.
 */
#include "internal.h"

#include <errno.h>

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
        if (scan_all || watch_failed || ward__lost_count() > 0) {
            watch_failed = 0;
            reap_all();
        }
    } else {
        reap_all();
    }
    /*
     * Run the callbacks one at a time, outside the lock, so a callback may
     * call anything in ward, ward_free() of its own handle included.
     */
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
}
