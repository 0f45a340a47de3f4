/*
 * Stub <unistd.h> for macOS 14.  macOS has no pipe2, close_range or
 * closefrom.
 * Source: close(2), read(2), write(2), dup(2), pipe(2), execve(2), _exit(2),
 * fork(2), vfork(2), getpid(2), getpgrp(2), setsid(2), setpgid(2),
 * chdir(2), sysconf(3).  The attributes of vfork() are those of the SDK's
 * <unistd.h>: deprecated ("Use posix_spawn or fork") unless
 * _POSIX_C_SOURCE is defined, and unavailable on tvOS and watchOS.
 */
#ifndef _STUB_UNISTD_H_
#define _STUB_UNISTD_H_

#include <Availability.h>
#include <sys/cdefs.h>
#include <sys/types.h>

int close(int fildes);                                    /* close(2) */
ssize_t read(int fildes, void *buf, size_t nbyte);        /* read(2) */
ssize_t write(int fildes, const void *buf, size_t nbyte); /* write(2) */
int dup(int fildes);                                      /* dup(2) */
int dup2(int fildes, int fildes2);                        /* dup(2) */
int pipe(int fildes[2]);                                  /* pipe(2) */
int execve(const char *path, char *const argv[], char *const envp[]); /* execve(2) */
void _exit(int status) __attribute__((noreturn));         /* _exit(2) */
pid_t fork(void);                                         /* fork(2) */
/* vfork(2); the attributes as in the SDK's <unistd.h> */
#if !defined(_POSIX_C_SOURCE)
__deprecated_msg("Use posix_spawn or fork")
#endif
pid_t vfork(void) __WATCHOS_PROHIBITED __TVOS_PROHIBITED;
pid_t getpid(void);                                       /* getpid(2) */
pid_t getppid(void);                                      /* getpid(2) */
pid_t getpgrp(void);                                      /* getpgrp(2) */
pid_t setsid(void);                                       /* setsid(2) */
int setpgid(pid_t pid, pid_t pgid);                       /* setpgid(2) */
int chdir(const char *path);                              /* chdir(2) */
long sysconf(int name);                                   /* sysconf(3) */

/* sysconf(3) */
#define _SC_OPEN_MAX 5
#define _SC_PAGESIZE 29

#endif
