/*
 * Stub <spawn.h> for macOS 14.
 * Source: posix_spawn(2); posix_spawn_file_actions_init(3);
 * posix_spawn_file_actions_addclose(3), which documents adddup2 and
 * addinherit_np; posix_spawnattr_init(3); posix_spawnattr_setflags(3),
 * which documents POSIX_SPAWN_SETSID and POSIX_SPAWN_CLOEXEC_DEFAULT;
 * posix_spawnattr_setpgroup(3); posix_spawnattr_setsigmask(3);
 * posix_spawnattr_setsigdefault(3).  posix_spawn_file_actions_addchdir_np
 * (macOS 10.15) is declared in <spawn.h> and has no page of its own.
 * Each function carries the availability the SDK's <spawn.h> gives it:
 * posix_spawn and its attributes macOS 10.5, addinherit_np 10.7,
 * addchdir_np 10.15 (and not on iOS, tvOS or watchOS).  POSIX_SPAWN_SETSID
 * is a macro, which carries none: the SDK has defined it since macOS 10.15,
 * and an older kernel ignores the flag.
 */
#ifndef _STUB_SPAWN_H_
#define _STUB_SPAWN_H_

#include <Availability.h>
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
                char *const envp[])
    __API_AVAILABLE(macos(10.5), ios(2.0)) __API_UNAVAILABLE(watchos, tvos);
int posix_spawnp(pid_t *pid, const char *file,
                 const posix_spawn_file_actions_t *file_actions,
                 const posix_spawnattr_t *attrp, char *const argv[],
                 char *const envp[])
    __API_AVAILABLE(macos(10.5), ios(2.0));

/* posix_spawn_file_actions_init(3) */
int posix_spawn_file_actions_init(posix_spawn_file_actions_t *file_actions)
    __API_AVAILABLE(macos(10.5), ios(2.0)) __API_UNAVAILABLE(watchos, tvos);
int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *file_actions)
    __API_AVAILABLE(macos(10.5), ios(2.0)) __API_UNAVAILABLE(watchos, tvos);

/* posix_spawn_file_actions_addclose(3) */
int posix_spawn_file_actions_addclose(posix_spawn_file_actions_t *file_actions,
                                      int filedes)
    __API_AVAILABLE(macos(10.5), ios(2.0)) __API_UNAVAILABLE(watchos, tvos);
int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *file_actions,
                                     int filedes, const char *path, int oflag,
                                     mode_t mode)
    __API_AVAILABLE(macos(10.5), ios(2.0)) __API_UNAVAILABLE(watchos, tvos);
int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *file_actions,
                                     int filedes, int newfiledes)
    __API_AVAILABLE(macos(10.5), ios(2.0)) __API_UNAVAILABLE(watchos, tvos);
int posix_spawn_file_actions_addinherit_np(posix_spawn_file_actions_t *file_actions,
                                           int filedes)
    __API_AVAILABLE(macos(10.7), ios(4.3)) __API_UNAVAILABLE(watchos, tvos);

/* <spawn.h>, macOS 10.15 and later */
int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *file_actions,
                                         const char *path)
    __API_AVAILABLE(macos(10.15)) __API_UNAVAILABLE(ios, tvos, watchos);

/* posix_spawnattr_init(3) */
int posix_spawnattr_init(posix_spawnattr_t *attr)
    __API_AVAILABLE(macos(10.5), ios(2.0)) __API_UNAVAILABLE(watchos, tvos);
int posix_spawnattr_destroy(posix_spawnattr_t *attr)
    __API_AVAILABLE(macos(10.5), ios(2.0)) __API_UNAVAILABLE(watchos, tvos);

/* posix_spawnattr_setflags(3) */
int posix_spawnattr_setflags(posix_spawnattr_t *attr, short flags)
    __API_AVAILABLE(macos(10.5), ios(2.0)) __API_UNAVAILABLE(watchos, tvos);

/* posix_spawnattr_setpgroup(3) */
int posix_spawnattr_setpgroup(posix_spawnattr_t *attr, pid_t pgroup)
    __API_AVAILABLE(macos(10.5), ios(2.0)) __API_UNAVAILABLE(watchos, tvos);

/* posix_spawnattr_setsigmask(3) */
int posix_spawnattr_setsigmask(posix_spawnattr_t *attr, const sigset_t *sigmask)
    __API_AVAILABLE(macos(10.5), ios(2.0)) __API_UNAVAILABLE(watchos, tvos);

/* posix_spawnattr_setsigdefault(3) */
int posix_spawnattr_setsigdefault(posix_spawnattr_t *attr,
                                  const sigset_t *sigdefault)
    __API_AVAILABLE(macos(10.5), ios(2.0)) __API_UNAVAILABLE(watchos, tvos);

#endif
