/*
 * Stub <sys/procdesc.h> overlay for FreeBSD 15.1 and 16.0: adds to the
 * FreeBSD 14 stub what pdfork(2) of those releases documents, pdrfork()
 * and pdwait(), and pdrfork_thread(), the stack-switching wrapper that
 * rfork_thread(3) is for rfork(2) (declared next to them in
 * <sys/procdesc.h>; exercised by tests/sys/kern/pdrfork.c).
 */
#ifndef _STUB15_SYS_PROCDESC_H_
#define _STUB15_SYS_PROCDESC_H_

#include_next <sys/procdesc.h>
#include <sys/resource.h>
#include <signal.h>

/* pdfork(2): "requires both RFPROC and RFPROCDESC, or RFSPAWN" */
pid_t pdrfork(int *fdp, int pdflags, int rfflags);

/* pdfork(2): "see wait6(2) for the behavior specification" */
int pdwait(int fd, int *status, int options, struct __wrusage *wrusage,
           struct __siginfo *info);

/* rfork_thread(3)'s analogue; generic version: stack must be NULL */
pid_t pdrfork_thread(int *fdp, int pdflags, int rfflags, void *stack_addr,
                     int (*start_fn)(void *), void *arg);

#endif
