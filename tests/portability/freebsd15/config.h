/*
 * config.h as configure would write it on FreeBSD 15.1 or 16.0 (amd64), with the
 * probes proposed for configure.ac (see README).  Only the macros the code
 * reads matter; the rest mirror a real run for realism.
 */
#define PACKAGE "ward"
#define PACKAGE_NAME "ward"
#define PACKAGE_STRING "ward 0.1.0"
#define PACKAGE_TARNAME "ward"
#define PACKAGE_VERSION "0.1.0"
#define STDC_HEADERS 1

/* AC_CHECK_HEADERS */
#define HAVE_DLFCN_H 1
#define HAVE_SYS_EVENT_H 1
#define HAVE_SYS_PROCDESC_H 1

/* AC_CHECK_FUNCS: as FreeBSD 14, plus pdrfork, pdwait and pdrfork_thread.
 * Not pidfd_open, posix_spawn_*_np. */
#define HAVE_CLOSE_RANGE 1
#define HAVE_CLOSEFROM 1
#define HAVE_PIPE2 1
#define HAVE_PTHREAD_CONDATTR_SETCLOCK 1
#define HAVE_WAIT4 1
#define HAVE_VFORK 1
#define HAVE_PDFORK 1
#define HAVE_KQUEUE 1
#define HAVE_KQUEUEX 1
#define HAVE_PDRFORK 1
#define HAVE_PDWAIT 1
#define HAVE_PDRFORK_THREAD 1
#define HAVE_DECL_EVFILT_PROCDESC 1

/* Backend selection */
#define WARD_HAVE_BSD_BACKEND 1

/* AC_USE_SYSTEM_EXTENSIONS */
#ifndef _ALL_SOURCE
# define _ALL_SOURCE 1
#endif
#ifndef _DARWIN_C_SOURCE
# define _DARWIN_C_SOURCE 1
#endif
#ifndef __EXTENSIONS__
# define __EXTENSIONS__ 1
#endif
#ifndef _GNU_SOURCE
# define _GNU_SOURCE 1
#endif
#ifndef _NETBSD_SOURCE
# define _NETBSD_SOURCE 1
#endif
#ifndef _OPENBSD_SOURCE
# define _OPENBSD_SOURCE 1
#endif
#ifndef _POSIX_PTHREAD_SEMANTICS
# define _POSIX_PTHREAD_SEMANTICS 1
#endif
