/*
 * sys.h - the system helpers that the core and the platform backends
 * share: libc's wait family as ward calls it (never libward-guard's), the
 * child side of a spawn, descriptors, statuses and deadlines.  A backend
 * includes this and backend.h, never internal.h: the core's state is not
 * its business.
 */
#ifndef WARD_SYS_H
#define WARD_SYS_H

#include "config.h"

#define WARD_BUILDING 1
#include "ward.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

/*
 * ENODATA is an XSI STREAMS error that FreeBSD and OpenBSD never defined.
 * ward reports ENOATTR there in its place.
 */
#if !defined(ENODATA) && defined(ENOATTR)
#define ENODATA ENOATTR
#endif

/*
 * libc's functions, as ward calls them (see real.c): in libward-guard the
 * program's calls reach the guard, ward's own must reach libc.
 */
int ward__real_waitid(idtype_t idtype, id_t id, siginfo_t *info, int options);
pid_t ward__real_waitpid(pid_t pid, int *status, int options);
pid_t ward__real_wait4(pid_t pid, int *status, int options, struct rusage *ru);
int ward__real_sigaction(int sig, const struct sigaction *sa, struct sigaction *old);
/*
 * A backend's own SIGCHLD handler (the posix backend's, the Linux
 * backend's for children with no pidfd): installed with SA_SIGINFO and
 * SA_RESTART, keeping the program's SA_NOCLDSTOP, the action it replaces
 * in *chained for it to call.  -1 where none can be installed: SIGCHLD is
 * ignored or SA_NOCLDWAIT is set (the kernel then reaps every child, and
 * no handler sees their ends), or sigaction() failed.
 */
int ward__sigchld_install(void (*fn)(int, siginfo_t *, void *), struct sigaction *chained);
/*
 * From that handler: run the program's handler in *chained as the kernel
 * would have run it, its sa_mask blocked and, under SA_RESETHAND, once
 * (*chained then becomes SIG_DFL).  *ran, if not NULL, is set to 1 before
 * a handler runs.  Returns 1 if a handler of the program's ran, 0 if there
 * is none.  Async-signal-safe.
 */
int ward__sigchld_chain(struct sigaction *chained, int sig, siginfo_t *si, void *ctx,
                        _Atomic int *ran);

/*
 * Sanitizer builds (ward's own "make check-asan" / "make check-tsan", or
 * anyone who builds libward with -fsanitize=address or thread).  The child
 * side of a spawn runs between a vfork-style clone and exec, on a stack
 * ASan never saw made, and must not be instrumented: ASan would look for
 * the thread's stack bounds there, print a warning into the child's
 * standard error and risk false reports.  WARD_CHILD_CODE marks it.
 */
#if defined(__SANITIZE_ADDRESS__)
#define WARD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WARD_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define WARD_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WARD_TSAN 1
#endif
#endif
#ifdef WARD_ASAN
#define WARD_CHILD_CODE __attribute__((no_sanitize_address))
#else
#define WARD_CHILD_CODE
#endif

/*
 * macOS's <unistd.h> marks vfork() deprecated ("Use posix_spawn or fork")
 * unless _POSIX_C_SOURCE is defined, and defining that would hide the
 * Darwin extensions ward needs.  ward still calls vfork() where it cannot
 * use posix_spawn (the posix backend; in the darwin backend, a plan
 * posix_spawn cannot express, such as a umask): the child runs only
 * ward__exec_child(), which is written for a borrowed address space,
 * while fork() would copy the page tables of the whole parent, and a spawn
 * must cost what the kernel's spawn costs.  WARD_VFORK_BEGIN and
 * WARD_VFORK_END silence that one deprecation around the one call; vfork()
 * itself cannot be wrapped in a function, since its child must not return
 * from the frame that called it.
 */
#ifdef __APPLE__
#define WARD_VFORK_BEGIN                                                    \
    _Pragma("GCC diagnostic push")                                          \
    _Pragma("GCC diagnostic ignored \"-Wdeprecated-declarations\"")
#define WARD_VFORK_END _Pragma("GCC diagnostic pop")
#else
#define WARD_VFORK_BEGIN
#define WARD_VFORK_END
#endif


/*
 * Reap pid, which has ended or is about to, retrying after EINTR: for a
 * child that must not be left a zombie and whose status nobody wants (a
 * spawn undone).  The caller knows pid is still its own unreaped child.
 */
void ward__reap_pid(pid_t pid);
/* SIGKILL, then ward__reap_pid(): undo a child that must not live on. */
void ward__kill_reap(pid_t pid);
/*
 * Sleep until the child pid has ended, without reaping it (WNOWAIT), so
 * that any number of threads may sleep here; waitid() is restarted by the
 * kernel after a handler installed with SA_RESTART, as waitpid(2).  0 once
 * it has ended or is no longer a child (ECHILD: a thief was first, for the
 * core's next reap to find), -1 with errno (EINTR) otherwise.
 */
int ward__sleep_until_ended(pid_t pid);

/* The child side of a spawn.  Async-signal-safe; never returns. */
struct ward__exec;
void ward__exec_child(struct ward__exec *ex) __attribute__((noreturn));
/*
 * WARD_DIE_WITH_PARENT asked by the child itself (PR_SET_PDEATHSIG on
 * Linux), where no process descriptor does the work; the vfork-style
 * child calls it before ward__exec_child().  See platform/posix.
 */
void ward__child_die_with_parent(struct ward__exec *ex);
/*
 * vfork(), then in the child first(ex) (if not NULL) and
 * ward__exec_child(), and in the parent the child's verdict: its pid once
 * it has exec'd, or -1 with errno set to why it could not (the child then
 * reaped).  The child runs in this function's frame and never returns
 * from it.
 */
pid_t ward__vfork_exec(struct ward__exec *ex, void (*first)(struct ward__exec *ex));

/*
 * Whether a PATH search goes on to the next candidate after an exec (or a
 * posix_spawn) failed with err, as execvp() does.  Async-signal-safe.
 */
static inline int
ward__exec_retryable(int err)
{
    return err == EACCES || err == ENOENT || err == ENOTDIR || err == ESTALE ||
           err == ENODEV || err == ETIMEDOUT;
}
/* Close every descriptor >= lowfd.  Async-signal-safe. */
void ward__close_from(int lowfd);

/*
 * The few fields of struct rusage a handle keeps; the rest read as zero.
 * The times in microseconds, one integer each rather than a struct timeval
 * (16 bytes on LP64): a handle is kept per live child (see doc/PERFORMANCE.md,
 * scenario 6).
 */
struct ward__usage {
    long long utime_us, stime_us;
    long maxrss, minflt, majflt, inblock, oublock, nvcsw, nivcsw;
};
void ward__usage_from_rusage(struct ward__usage *u, const struct rusage *ru);

/* pipe2(p, O_CLOEXEC | flags), or its emulation (see spawn.c). */
int ward__pipe(int p[2], int flags);

/* Move a new descriptor of ward's above 0, 1 and 2 (see spawn.c). */
int ward__fd_above_stdio(int fd);

/* Convert a siginfo_t from waitid() into a classic wait status. */
int ward__status_from_siginfo(const siginfo_t *si);

/* Saturating conversion of a relative time in ms to a monotonic deadline. */
void ward__deadline_after(struct timespec *ts, long ms);
/*
 * Time left until deadline, overflow-free for any time_t: 1 with *left set,
 * or 0 (and *left zero) once it has passed.
 */
int ward__time_left(const struct timespec *deadline, struct timespec *left);
/* Milliseconds left until deadline, rounded up; -1 for no deadline. */
int ward__ms_until(const struct timespec *deadline);

/* Restore errno around a cleanup call. */
#define WARD__KEEP_ERRNO(stmt)                                               \
    do {                                                                     \
        int ward__e = errno;                                                 \
        stmt;                                                                \
        errno = ward__e;                                                     \
    } while (0)

#endif
