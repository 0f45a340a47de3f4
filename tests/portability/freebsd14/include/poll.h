/* Stub <poll.h> for FreeBSD 14.  Source: poll(2). */
#ifndef _STUB_POLL_H_
#define _STUB_POLL_H_

#include <signal.h>
#include <time.h>

/* poll(2) */
struct pollfd {
    int fd;
    short events;
    short revents;
};
typedef unsigned int nfds_t;
#define POLLIN   0x0001
#define POLLPRI  0x0002
#define POLLOUT  0x0004
#define POLLERR  0x0008
#define POLLHUP  0x0010
#define POLLNVAL 0x0020
int poll(struct pollfd fds[], nfds_t nfds, int timeout);
int ppoll(struct pollfd fds[], nfds_t nfds, const struct timespec *timeout,
          const sigset_t *newsigmask);

#endif
