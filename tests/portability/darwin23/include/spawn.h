/*
 * Stub <spawn.h> for macOS 14.
 * Source: posix_spawn(2); posix_spawn_file_actions_init(3);
 * posix_spawn_file_actions_addclose(3), which documents adddup2 and
 * addinherit_np; posix_spawnattr_init(3); posix_spawnattr_setflags(3),
 * which documents POSIX_SPAWN_SETSID and POSIX_SPAWN_CLOEXEC_DEFAULT;
 * posix_spawnattr_setpgroup(3); posix_spawnattr_setsigmask(3);
 * posix_spawnattr_setsigdefault(3).  posix_spawn_file_actions_addchdir_np
 * (macOS 10.15) is declared in <spawn.h> and has no page of its own.
 */
#ifndef _STUB_SPAWN_H_
#define _STUB_SPAWN_H_

#include <signal.h>
#include <sys/types.h>

typedef void *posix_spawnattr_t;
typedef void *posix_spawn_file_actions_t;

/* posix_spawnattr_setflags(3) */
#define POSIX_SPAWN_RESETIDS        0x0001
#define POSIX_SPAWN_SETPGROUP       0x0002
#define POSIX_SPAWN_SETSIGDEF       0x0004
#define POSIX_SPAWN_SETSIGMASK      0x0008
#define POSIX_SPAWN_SETEXEC         0x0040
#define POSIX_SPAWN_START_SUSPENDED 0x0080
#define POSIX_SPAWN_SETSID          0x0400
#define POSIX_SPAWN_CLOEXEC_DEFAULT 0x4000

/* posix_spawn(2) */
int posix_spawn(pid_t *pid, const char *path,
                const posix_spawn_file_actions_t *file_actions,
                const posix_spawnattr_t *attrp, char *const argv[],
                char *const envp[]);
int posix_spawnp(pid_t *pid, const char *file,
                 const posix_spawn_file_actions_t *file_actions,
                 const posix_spawnattr_t *attrp, char *const argv[],
                 char *const envp[]);

/* posix_spawn_file_actions_init(3) */
int posix_spawn_file_actions_init(posix_spawn_file_actions_t *file_actions);
int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *file_actions);

/* posix_spawn_file_actions_addclose(3) */
int posix_spawn_file_actions_addclose(posix_spawn_file_actions_t *file_actions,
                                      int filedes);
int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *file_actions,
                                     int filedes, const char *path, int oflag,
                                     mode_t mode);
int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *file_actions,
                                     int filedes, int newfiledes);
int posix_spawn_file_actions_addinherit_np(posix_spawn_file_actions_t *file_actions,
                                           int filedes);

/* <spawn.h>, macOS 10.15 and later */
int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *file_actions,
                                         const char *path);

/* posix_spawnattr_init(3) */
int posix_spawnattr_init(posix_spawnattr_t *attr);
int posix_spawnattr_destroy(posix_spawnattr_t *attr);

/* posix_spawnattr_setflags(3) */
int posix_spawnattr_setflags(posix_spawnattr_t *attr, short flags);

/* posix_spawnattr_setpgroup(3) */
int posix_spawnattr_setpgroup(posix_spawnattr_t *attr, pid_t pgroup);

/* posix_spawnattr_setsigmask(3) */
int posix_spawnattr_setsigmask(posix_spawnattr_t *attr, const sigset_t *sigmask);

/* posix_spawnattr_setsigdefault(3) */
int posix_spawnattr_setsigdefault(posix_spawnattr_t *attr,
                                  const sigset_t *sigdefault);

#endif
