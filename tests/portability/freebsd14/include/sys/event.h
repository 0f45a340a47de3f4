/*
 * Stub <sys/event.h> for FreeBSD 14.  Source: kqueue(2), which documents
 * kqueue, kqueuex, kqueue1, kevent, EV_SET, the filters, flags and notes.
 */
#ifndef _STUB_SYS_EVENT_H_
#define _STUB_SYS_EVENT_H_

#include <sys/types.h>
#include <stdint.h>
#include <time.h>

/* kqueue(2) */
struct kevent {
    uintptr_t ident;
    short filter;
    unsigned short flags;
    unsigned int fflags;
    int64_t data;
    void *udata;
    uint64_t ext[4];
};
#define EV_SET(kevp_, a, b, c, d, e, f) do {   \
    *(kevp_) = (struct kevent){                \
        .ident = (a),                          \
        .filter = (b),                         \
        .flags = (c),                          \
        .fflags = (d),                         \
        .data = (e),                           \
        .udata = (f),                          \
        .ext = { 0 },                          \
    };                                         \
} while (0)

/* kqueue(2): filters */
#define EVFILT_READ     (-1)
#define EVFILT_WRITE    (-2)
#define EVFILT_AIO      (-3)
#define EVFILT_VNODE    (-4)
#define EVFILT_PROC     (-5)
#define EVFILT_SIGNAL   (-6)
#define EVFILT_TIMER    (-7)
#define EVFILT_PROCDESC (-8)
#define EVFILT_USER     (-11)

/* kqueue(2): flags */
#define EV_ADD      0x0001
#define EV_DELETE   0x0002
#define EV_ENABLE   0x0004
#define EV_DISABLE  0x0008
#define EV_ONESHOT  0x0010
#define EV_CLEAR    0x0020
#define EV_RECEIPT  0x0040
#define EV_DISPATCH 0x0080
#define EV_ERROR    0x4000
#define EV_EOF      0x8000

/* kqueue(2): EVFILT_USER */
#define NOTE_FFNOP      0x00000000
#define NOTE_TRIGGER    0x01000000
/* kqueue(2): EVFILT_PROC and EVFILT_PROCDESC */
#define NOTE_EXIT       0x80000000
#define NOTE_FORK       0x40000000
#define NOTE_EXEC       0x20000000

/* kqueue(2): kqueuex() flags */
#define KQUEUE_CLOEXEC  0x00000001

/* kqueue(2) */
int kqueue(void);
int kqueuex(u_int flags);
int kqueue1(int flags);
int kevent(int kq, const struct kevent *changelist, int nchanges,
           struct kevent *eventlist, int nevents,
           const struct timespec *timeout);

#endif
