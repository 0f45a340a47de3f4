/*
 * Stub <unistd.h> for FreeBSD 14.
 * Source: close(2), closefrom(2) (also close_range), read(2), write(2),
 * dup(2), pipe(2) (also pipe2), execve(2), _exit(2), fork(2), vfork(2),
 * rfork(2) (flags), getpid(2), getpgrp(2), setsid(2), setpgid(2), chdir(2),
 * sysconf(3).
 */
#ifndef _STUB_UNISTD_H_
#define _STUB_UNISTD_H_

#include <sys/types.h>

int close(int fd);                                        /* close(2) */
int close_range(u_int lowfd, u_int highfd, int flags);    /* closefrom(2) */
void closefrom(int lowfd);                                /* closefrom(2) */
ssize_t read(int fd, void *buf, size_t nbytes);           /* read(2) */
ssize_t write(int fd, const void *buf, size_t nbytes);    /* write(2) */
int dup(int oldd);                                        /* dup(2) */
int dup2(int oldd, int newd);                             /* dup(2) */
int pipe(int fildes[2]);                                  /* pipe(2) */
int pipe2(int fildes[2], int flags);                      /* pipe(2) */
int execve(const char *path, char *const argv[], char *const envp[]); /* execve(2) */
void _exit(int status) __attribute__((noreturn));         /* _exit(2) */
pid_t fork(void);                                         /* fork(2) */
pid_t vfork(void) __attribute__((returns_twice));         /* vfork(2) */
pid_t rfork(int flags);                                   /* rfork(2) */
pid_t getpid(void);                                       /* getpid(2) */
pid_t getppid(void);                                      /* getpid(2) */
pid_t getpgrp(void);                                      /* getpgrp(2) */
pid_t setsid(void);                                       /* setsid(2) */
int setpgid(pid_t pid, pid_t pgrp);                       /* setpgid(2) */
int chdir(const char *path);                              /* chdir(2) */
long sysconf(int name);                                   /* sysconf(3) */

/* sysconf(3) */
#define _SC_OPEN_MAX 5
#define _SC_PAGESIZE 47

/* rfork(2) */
#define RFFDG      (1 << 2)
#define RFPROC     (1 << 4)
#define RFMEM      (1 << 5)
#define RFNOWAIT   (1 << 6)
#define RFCFDG     (1 << 12)
#define RFSIGSHARE (1 << 14)
#define RFPROCDESC (1 << 28)
#define RFSPAWN    (1U << 31)

#endif
