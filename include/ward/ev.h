/*
 * ward/ev.h - libward-ev: private children in a libev loop.
 *
 * ward_ev_attach() starts one ev_io watcher on ward_events_fd(); when it
 * fires, ward_dispatch() reaps what has ended and runs the callbacks set
 * with ward_setcallback(), from the loop.  The loop's own ev_child watchers
 * keep working for the program's children; with libward-guard in the
 * process, libev's SIGCHLD handler never sees a private child.
 */
#ifndef WARD_EV_H
#define WARD_EV_H

#include <ev.h>
#include <ward.h>

#ifdef __cplusplus
extern "C" {
#endif

WARD_EXPORT int ward_ev_attach(struct ev_loop *loop);
WARD_EXPORT int ward_ev_detach(struct ev_loop *loop);

#ifdef __cplusplus
}
#endif

#endif
