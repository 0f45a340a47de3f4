/*
 * Stub <sys/types.h> for macOS 14 (Darwin 23; x86_64 and arm64): the types
 * ward needs, with the widths of the macOS SDK.  Signatures and constants
 * only; see ../../README.md for what these stubs are.
 * Source: types as named in wait(2), kill(2), getpid(2), stat(2), intro(2).
 */
#ifndef _STUB_SYS_TYPES_H_
#define _STUB_SYS_TYPES_H_

typedef unsigned long size_t;    /* intro(2) */
typedef long ssize_t;            /* read(2) */
typedef int pid_t;               /* getpid(2): __int32_t */
typedef unsigned int uid_t;      /* getuid(2): __uint32_t */
typedef unsigned int gid_t;      /* getgid(2): __uint32_t */
typedef unsigned int id_t;       /* wait(2): __uint32_t, holds any id */
typedef unsigned short mode_t;   /* stat(2), umask(2): __uint16_t */
typedef long long off_t;         /* lseek(2): __int64_t */
typedef long time_t;             /* time(3) */
typedef int suseconds_t;         /* gettimeofday(2): __int32_t */
typedef unsigned int u_int;      /* kqueue(2) */
typedef unsigned short u_short;  /* kqueue(2) */

#endif
