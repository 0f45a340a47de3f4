/*
 * Stub <unistd.h> for macOS 14.  macOS has no pipe2, close_range or
 * closefrom.
 * Source: close(2), read(2), write(2), dup(2), pipe(2), execve(2), _exit(2),
 * fork(2), vfork(2), getpid(2), getpgrp(2), setsid(2), setpgid(2),
 * chdir(2), sysconf(3).
 */
#ifndef _STUB_UNISTD_H_
#define _STUB_UNISTD_H_

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
pid_t vfork(void) __attribute__((returns_twice));         /* vfork(2) */
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
