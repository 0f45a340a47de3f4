/*
 * config.h as configure would write it on macOS 14 (Darwin 23), with the
 * probes proposed for configure.ac (see README).  macOS has no pipe2,
 * close_range or closefrom.
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
#define HAVE_SPAWN_H 1

/* AC_CHECK_FUNCS */
#define HAVE_WAIT4 1
#define HAVE_VFORK 1
#define HAVE_KQUEUE 1
#define HAVE_PTHREAD_COND_TIMEDWAIT_RELATIVE_NP 1
#define HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDINHERIT_NP 1
#define HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCHDIR_NP 1
#define HAVE_DECL_NOTE_EXITSTATUS 1
#define HAVE_DECL_POSIX_SPAWN_CLOEXEC_DEFAULT 1

/* Backend selection */
#define WARD_HAVE_DARWIN_BACKEND 1

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
