/*
 * Stub <sys/procdesc.h> for FreeBSD 14.  Source: pdfork(2) of FreeBSD 14,
 * which documents pdfork, pdgetpid and pdkill (pdrfork and pdwait came in
 * 15.1/16.0: see ../../freebsd15).
 */
#ifndef _STUB_SYS_PROCDESC_H_
#define _STUB_SYS_PROCDESC_H_

#include <sys/types.h>

/* pdfork(2) */
#define PD_DAEMON  0x00000001
#define PD_CLOEXEC 0x00000002
pid_t pdfork(int *fdp, int flags);
int pdgetpid(int fd, pid_t *pidp);
int pdkill(int fd, int signum);

#endif
