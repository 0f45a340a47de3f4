/*
 * ev.c - libward-ev: one ev_io on ward's events descriptor.
 *
 * ward's events descriptor is one per process, so the adapter serves one
 * loop at a time.  Like any libev watcher it must be used from the loop's
 * thread.
 */
#include "config.h"

#define WARD_BUILDING 1
#include "ward/ev.h"

#include <errno.h>
#include <stddef.h>

static ev_io watcher;
static struct ev_loop *attached;

static void
on_events(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    /* Errors cannot be reported from here; the next event retries. */
    (void)ward_dispatch();
}

int
ward_ev_attach(struct ev_loop *loop)
{
    int fd;

    if (loop == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (attached != NULL) {
        errno = attached == loop ? EALREADY : EBUSY;
        return -1;
    }
    if ((fd = ward_events_fd()) == -1)
        return -1;
    ev_io_init(&watcher, on_events, fd, EV_READ);
    ev_io_start(loop, &watcher);
    attached = loop;
    /* Children that ended before the attach are reported by the first pass. */
    ev_feed_event(loop, &watcher, EV_READ);
    return 0;
}

int
ward_ev_detach(struct ev_loop *loop)
{
    if (loop == NULL || loop != attached) {
        errno = EINVAL;
        return -1;
    }
    ev_io_stop(loop, &watcher);
    attached = NULL;
    return 0;
}
