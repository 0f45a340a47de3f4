/*
 * ward.h - private child processes.
 *
 * A child started with ward_spawn() or ward_fork() is private: its exit
 * status belongs to the handle that started it and is cached there.  Code
 * that waits for "any child" through ward's wait family (ward_waitpid(),
 * ward_waitid()) or through libward-guard never sees it.
 *
 * Every function returns -1 (or NULL) and sets errno on failure; output
 * parameters are left untouched on failure.  Every function may be called
 * from any thread.  See ward(3) for the overview and one page per function
 * for the errors.
 */
#ifndef WARD_H
#define WARD_H

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(WARD_BUILDING) && defined(__GNUC__)
#define WARD_EXPORT __attribute__((visibility("default")))
#else
#define WARD_EXPORT
#endif

#define WARD_VERSION_MAJOR 0
#define WARD_VERSION_MINOR 1
#define WARD_VERSION_PATCH 0

/* A private child.  Opaque; released with ward_free(). */
typedef struct ward_child ward_child;

/* Spawn options.  Opaque; one attribute object may serve many spawns. */
typedef struct ward_attr ward_attr;

/* Flags for ward_attr_setflags() and ward_fork(). */
#define WARD_NEW_PGROUP    0x01u /* child leads a new process group */
#define WARD_NEW_SESSION   0x02u /* child leads a new session (setsid) */
#define WARD_RESET_SIGNALS 0x04u /* empty mask, every disposition SIG_DFL */
#define WARD_KILL_ON_FREE  0x08u /* ward_free() kills a running child */
#define WARD_INHERIT_FDS   0x10u /* keep inheritable descriptors open */
#define WARD_RUSAGE        0x20u /* keep resource usage for ward_rusage();
                                    matters only with WARD_AUTOREAP set on
                                    Linux 7.1+ (children are reapable, and
                                    keep it, by default) */
#define WARD_DIE_WITH_PARENT 0x40u /* the child is killed when its handle is
                                      freed or this process dies (implies
                                      WARD_KILL_ON_FREE; ward_spawn() only) */

/*
 * Called from ward_dispatch() once the child has ended: status is its wait
 * status, or -1 if it was reaped outside ward and could not be recovered.
 */
typedef void (*ward_exit_fn)(ward_child *child, int status, void *data);

/* Modes for ward_attr_setstdio(). */
#define WARD_STDIO_INHERIT 0 /* the parent's descriptor of the same number */
#define WARD_STDIO_NULL    1 /* /dev/null */
#define WARD_STDIO_PIPE    2 /* a new pipe; parent end from ward_stdio() */
#define WARD_STDIO_FD      3 /* a descriptor given by the caller */

WARD_EXPORT ward_attr *ward_attr_new(void);
WARD_EXPORT void ward_attr_free(ward_attr *attr);
WARD_EXPORT int ward_attr_setflags(ward_attr *attr, unsigned int flags);
WARD_EXPORT int ward_attr_setcwd(ward_attr *attr, const char *dir);
WARD_EXPORT int ward_attr_setumask(ward_attr *attr, mode_t mask);
WARD_EXPORT int ward_attr_setenv(ward_attr *attr, char *const envp[]);
WARD_EXPORT int ward_attr_putenv(ward_attr *attr, const char *name,
                                 const char *value);
WARD_EXPORT int ward_attr_setstdio(ward_attr *attr, int childfd, int mode,
                                   int fd);
WARD_EXPORT int ward_attr_mapfd(ward_attr *attr, int parentfd, int childfd);

WARD_EXPORT ward_child *ward_spawn(const char *file, char *const argv[],
                                   const ward_attr *attr);
WARD_EXPORT pid_t ward_fork(ward_child **childp, unsigned int flags);
WARD_EXPORT int ward_fork_prepare(void);
WARD_EXPORT ward_child *ward_fork_parent(pid_t pid, unsigned int flags);
WARD_EXPORT void ward_fork_child(void);

WARD_EXPORT pid_t ward_pid(const ward_child *child);
WARD_EXPORT int ward_pidfd(const ward_child *child);
WARD_EXPORT int ward_stdio(const ward_child *child, int childfd);
WARD_EXPORT int ward_stdio_take(ward_child *child, int childfd);

WARD_EXPORT int ward_wait(ward_child *child, int *status);
WARD_EXPORT int ward_trywait(ward_child *child, int *status);
WARD_EXPORT int ward_timedwait(ward_child *child, int *status,
                               const struct timespec *deadline);
WARD_EXPORT int ward_rusage(const ward_child *child, struct rusage *usage);

WARD_EXPORT int ward_kill(ward_child *child, int sig);
WARD_EXPORT int ward_killpg(ward_child *child, int sig);
WARD_EXPORT int ward_terminate(ward_child *child, int grace_ms, int *status);

WARD_EXPORT void ward_free(ward_child *child);

WARD_EXPORT int ward_setcallback(ward_child *child, ward_exit_fn fn,
                                 void *data);
WARD_EXPORT int ward_events_fd(void);
WARD_EXPORT int ward_dispatch(void);

WARD_EXPORT pid_t ward_waitpid(pid_t pid, int *status, int options);
WARD_EXPORT int ward_waitid(idtype_t idtype, id_t id, siginfo_t *info,
                            int options);

WARD_EXPORT const char *ward_backend(void);
WARD_EXPORT const char *ward_version(void);

#ifdef __cplusplus
}
#endif

#endif /* WARD_H */
