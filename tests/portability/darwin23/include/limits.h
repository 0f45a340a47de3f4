/*
 * Stub <limits.h> for macOS 14: the POSIX limits only.  The C limits
 * (INT_MAX...) come from the compiler's own <limits.h>, which includes this
 * one.  Source: pathconf(2) (NAME_MAX, PATH_MAX), sysconf(3).
 */
#ifndef _STUB_LIMITS_H_
#define _STUB_LIMITS_H_

#define NAME_MAX 255    /* pathconf(2): _PC_NAME_MAX */
#define PATH_MAX 1024   /* pathconf(2): _PC_PATH_MAX */
#define OPEN_MAX 10240  /* sysconf(3): _SC_OPEN_MAX bound */

#endif
