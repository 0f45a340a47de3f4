/*
 * internal.h - what the core's files share.  Nothing here is public.
 *
 * Locking.  Two locks guard ward's state:
 *
 *  - ward__lock, a mutex: the pid -> handle table and every handle's state.
 *    A private child is reaped only while this lock is held, and its status
 *    is stored on the handle before the lock is released, so any waiter that
 *    goes through ward either finds the child running or finds its status.
 *    It is held only for short, non-blocking work.
 *
 *  - the spawn gate, a reader/writer lock: ward_spawn() and ward_fork()
 *    hold it shared from before the child exists until the child is in the
 *    table; a wait for "any child" holds it exclusively while it decides
 *    whether a ready child is private.  A child can therefore never be
 *    mistaken for a non-private one in the moment between its birth and its
 *    insertion, while spawns still run in parallel with each other.
 *
 * Lock order: spawn gate, then ward__lock, then a backend's own lock.
 */
#ifndef WARD_INTERNAL_H
#define WARD_INTERNAL_H

#include "config.h"

#define WARD_BUILDING 1
#include "ward.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

/*
 * ENODATA is an XSI STREAMS error that FreeBSD and OpenBSD never defined.
 * ward reports ENOATTR there in its place.
 */
#if !defined(ENODATA) && defined(ENOATTR)
#define ENODATA ENOATTR
#endif

#define WARD__RUNNING 0 /* not reaped yet */
#define WARD__EXITED  1 /* reaped; status cached */
#define WARD__LOST    2 /* reaped by someone else; status unrecoverable */

#define WARD__ALL_FLAGS                                                      \
    (WARD_NEW_PGROUP | WARD_NEW_SESSION | WARD_RESET_SIGNALS |               \
     WARD_KILL_ON_FREE | WARD_INHERIT_FDS | WARD_RUSAGE |                    \
     WARD_DIE_WITH_PARENT)

/* The few fields of struct rusage a handle keeps; the rest read as zero. */
struct ward__usage {
    struct timeval utime, stime;
    long maxrss, minflt, majflt, inblock, oublock, nvcsw, nivcsw;
};

struct ward_child {
    pid_t pid;
    int pidfd;               /* the backend's process descriptor, or -1 */
    _Atomic int fd_lost;     /* the caller closed pidfd: the handle fails
                                with EBADF (see ward__fd_lost()) */
    unsigned long long fd_dev, fd_ino; /* what pidfd was (backend's note) */
    _Atomic int state;       /* WARD__RUNNING, WARD__EXITED, WARD__LOST */
    int status;              /* wait status, valid once EXITED */
    unsigned int flags;      /* WARD_* flags given at spawn or fork */
    unsigned int gen;        /* fork generation the handle was born in */
    unsigned char orphan;    /* freed by its owner while running */
    unsigned char in_table;  /* linked in the pid table */
    unsigned char has_usage; /* usage below is valid */
    unsigned char watched;   /* registered with the backend's events set */
    unsigned char autoreap;  /* the kernel reaps it (Linux CLONE_AUTOREAP):
                                no wait sees it, its pid may be reused as
                                soon as it has ended */
    unsigned char pending;   /* linked in the list of callbacks to run */
    int stdio[3];            /* parent ends of WARD_STDIO_PIPE, or -1 */
    struct ward_child *next; /* pid table chain */
    struct ward__slot *slot; /* claim word while unreaped, else NULL */
    struct ward_child *pnext; /* pending callbacks list */
    ward_exit_fn cb;
    void *cb_data;
    struct ward__usage usage;
};

/* libc's functions, as ward calls them: see real.c. */
struct ward__libc {
    int (*waitid)(idtype_t, id_t, siginfo_t *, int);
    pid_t (*waitpid)(pid_t, int *, int);
    pid_t (*wait4)(pid_t, int *, int, struct rusage *);
    int (*sigaction)(int, const struct sigaction *, struct sigaction *);
};
extern struct ward__libc ward__real;
void ward__real_init(void);

/*
 * The claim word of a private child, readable and claimable from a signal
 * handler without locks (see slots.c).  It lets libward-guard's SIGCHLD
 * handler tell private children from the program's own, and reap a private
 * child that is in the way, without ever racing a reap by ward itself.
 */
#define WARD__SLOT_FREE     0u /* unused */
#define WARD__SLOT_RESERVED 1u /* allocated, child not born yet */
#define WARD__SLOT_PRESENT  2u /* child unreaped, nobody touching it */
#define WARD__SLOT_LOCKED   3u /* ward (under ward__lock) reaps or signals it */
#define WARD__SLOT_HANDLER  4u /* the guard's handler is reaping it */
#define WARD__SLOT_DONE     5u /* the handler reaped it; status below */

struct ward__slot {
    _Atomic unsigned long long word; /* pid << 32 | state */
    int status;                      /* valid in state DONE */
    struct ward__slot *next_free;    /* under ward__lock */
};

#define WARD__SLOT_WORD(pid, state)                                          \
    (((unsigned long long)(unsigned int)(pid) << 32) | (state))
#define WARD__SLOT_STATE(w) ((unsigned int)((w) & 0xffffffffu))
#define WARD__SLOT_PID(w) ((pid_t)(unsigned int)((w) >> 32))

/* Under ward__lock.  alloc may fail (NULL, ENOMEM); the rest cannot. */
struct ward__slot *ward__slot_alloc(void);
void ward__slot_publish(struct ward__slot *s, pid_t pid);
void ward__slot_release(struct ward__slot *s);
void ward__slot_reset_all(void);
/* Lock-free and async-signal-safe. */
struct ward__slot *ward__slot_find(pid_t pid);
/* Claim s (PRESENT -> LOCKED) for a reap or a signal, under ward__lock.
 * Returns the state found: PRESENT (now LOCKED, yours) or DONE. */
unsigned int ward__slot_claim(struct ward__slot *s, pid_t pid);
void ward__slot_unclaim(struct ward__slot *s, pid_t pid);

/* Set by the guard's handler when it could not see past a child that ward
 * was busy with: ward re-raises SIGCHLD once it is done with it. */
extern _Atomic int ward__deferred;
/* Births in flight (see slots.c); end each with ward__birth_end(). */
extern _Atomic int ward__inflight;
void ward__birth_begin(void);
void ward__birth_end(void);
/* SIGCHLD again, marked as ward's own (see slots.c). */
void ward__reraise(void);
int ward__is_reraise(const siginfo_t *si);
/*
 * Counts, per thread, the SIGCHLD handlers of ward's own that ran without
 * running a handler of the program (the posix backend's, the guard's).  A
 * sleep that such a handler interrupted is not the caller's EINTR: the
 * backends compare it before and after, and sleep again.  Initial-exec, as
 * it is written from signal handlers.
 */
extern _Thread_local unsigned int ward__quiet_signals
    __attribute__((tls_model("initial-exec")));
/* An EINTR from a sleep that began when the count was n0: is it the caller's? */
#define WARD__CALLERS_EINTR(n0) (errno == EINTR && ward__quiet_signals == (n0))

/* Set when libward-guard's SIGCHLD handler is in place. */
extern int ward__guarded;
/*
 * Set by libward-guard: makes its SIGCHLD handler stay installed even where
 * the program's action needs none (the posix events descriptor needs it).
 */
extern void (*ward__guard_want_handler)(void);
/* Called by the guard's handler: wake ward's own waiters.  Async-signal-safe. */
void ward__posix_sigchld(void);

#include "backend.h"

extern const struct ward__backend *ward__be;
extern pthread_mutex_t ward__mutex;
extern pthread_rwlock_t ward__gate;
extern unsigned int ward__gen;

/*
 * Taking ward__lock.  In libward-guard, libc's wait family may be called
 * from a signal handler (POSIX makes waitpid() async-signal-safe), and that
 * handler may interrupt a thread that holds ward's locks.  So there, every
 * section that holds a lock runs with signals blocked: ward__sig_enter()
 * and ward__sig_leave() nest, and the lock functions use them.
 */
void ward__sig_enter(void);
void ward__sig_leave(void);
void ward__lock(void);
void ward__unlock(void);

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

/* Returns 0 once a backend is chosen, -1 with errno otherwise. */
int ward__init(void);

void ward__table_insert(ward_child *c);
void ward__table_remove(ward_child *c);
ward_child *ward__table_find(pid_t pid);
/*
 * As ward__table_find(), but a child the kernel reaped itself (autoreap)
 * whose end the backend already sees is skipped: its pid may name another
 * process by now.  Async-signal-safe.
 */
ward_child *ward__table_find_live(pid_t pid);
/* How many children the table holds.  Under ward__lock. */
size_t ward__table_count(void);
/* Reap and discard what the owners have dropped.  Under ward__lock. */
void ward__reap_orphans(void);
/* The same, taking ward__lock itself; cheap when there are none. */
void ward__reap_orphans_unlocked(void);
/* Cancel c's queued callback.  Under ward__lock. */
void ward__unpend(ward_child *c);
/* Free the orphans reaped since the last call.  Not in signal handlers. */
void ward__bury(void);
/* After inserting c: watch it if the events descriptor is in use. */
void ward__watch_new(ward_child *c);

/* Mark c dropped by its owner; ward reaps and frees it.  Under ward__lock. */
void ward__adopt_orphan(ward_child *c);
/*
 * Try to reap c without blocking.  Under ward__lock.  1 when it has ended
 * (status cached, or marked lost), 0 if it runs, -1 with errno otherwise.
 * An orphan that ends is freed here.
 */
int ward__try_reap(ward_child *c);

ward_child *ward__child_new(pid_t pid, int pidfd, unsigned int flags);

/*
 * c's process descriptor is no longer its own: some other code closed the
 * number and it may name another file now.  The handle forgets it without
 * closing it; from now on its waits and signals fail with EBADF.  The child
 * stays private and unreaped: under ward__lock it cannot have been reaped
 * by anyone who goes through ward, so its pid is still its own, and the
 * backend reaps it by pid.  Under ward__lock.
 */
void ward__fd_lost(ward_child *c);

/* The child side of a spawn.  Async-signal-safe; never returns. */
void ward__exec_child(struct ward__exec *ex) __attribute__((noreturn));
/* Close every descriptor >= lowfd.  Async-signal-safe. */
void ward__close_from(int lowfd);
void ward__child_die_with_parent(struct ward__exec *ex);

void ward__usage_from_rusage(struct ward__usage *u, const struct rusage *ru);

/*
 * The wait for "any child" (idtype P_ALL or P_PGID) as if private children
 * did not exist; options as for waitid() plus any extra bits the kernel
 * takes.  take() is called under ward's locks with a report of a
 * non-private child (seen with WNOWAIT) and consumes it: 1 taken, 0 gone in
 * the meantime (look again), -1 error.  Returns take()'s 1, 0 when nothing
 * is ready under WNOHANG, or -1 with errno.
 */
typedef int (*ward__take_fn)(const siginfo_t *seen, void *arg);
int ward__wait_any(idtype_t idtype, id_t id, int options, ward__take_fn take,
                   void *arg);
int ward__is_private(pid_t pid);
int ward__waitid(idtype_t idtype, id_t id, siginfo_t *info, int options);

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
