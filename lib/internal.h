/*
 * internal.h - what the core's files share.  Nothing here is public.
 *
 * Locking.  Two locks guard ward's state:
 *
 *  - ward__lock, a mutex: the pid -> handle table and every handle's state.
 *    A private child is reaped only while this lock is held, or while its
 *    claim word (struct ward__slot below) is held, and its status is stored
 *    on the handle, or in the claim word, before either is let go, so any
 *    waiter that goes through ward either finds the child running or finds
 *    its status.  It is held only for short, non-blocking work; a waiter's
 *    common reap takes only the claim word (ward__reap_unlocked()), so that
 *    threads that spawn and wait at once do not queue for the lock.
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

#include "sys.h"
#include "backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#define WARD__RUNNING 0 /* not reaped yet */
#define WARD__EXITED  1 /* reaped; status cached */
#define WARD__LOST    2 /* reaped by someone else; status unrecoverable */

#define WARD__ALL_FLAGS                                                      \
    (WARD_NEW_PGROUP | WARD_NEW_SESSION | WARD_RESET_SIGNALS |               \
     WARD_KILL_ON_FREE | WARD_INHERIT_FDS | WARD_RUSAGE |                    \
     WARD_DIE_WITH_PARENT)

struct ward_child {
    struct ward__pidref ref; /* pid and process descriptor: the backend's
                                view of the child (first: see
                                ward__pidref_lost()) */
    _Atomic int fd_lost;     /* the caller closed ref.fd: the handle fails
                                with EBADF (see ward__fd_lost()) */
    _Atomic int state;       /* WARD__RUNNING, WARD__EXITED, WARD__LOST */
    int status;              /* wait status, valid once EXITED */
    unsigned int flags;      /* WARD_* flags given at spawn or fork */
    unsigned int gen;        /* fork generation the handle was born in */
    unsigned char orphan;    /* freed by its owner while running */
    unsigned char in_table;  /* linked in the pid table */
    unsigned char has_usage; /* usage below is valid */
    unsigned char watched;   /* registered with the backend's events set */
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
#define WARD__SLOT_LOCKED   3u /* ward reaps or signals it (under ward__lock,
                                  or a waiter in ward__reap_unlocked()) */
#define WARD__SLOT_HANDLER  4u /* the guard's handler is reaping it */
#define WARD__SLOT_DONE     5u /* the handler, or a waiter, reaped it; status
                                  below, to be collected under ward__lock */

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
/*
 * From a signal handler, with no lock: take the report seen (WNOWAIT) of
 * the private child whose slot is s out of the way: an exit is reaped into
 * the slot (DONE), a stop or continue is consumed.  Returns 0 when done, -1
 * when ward holds the child right now (ward__deferred is then set: ward
 * re-raises SIGCHLD once it lets go).  Async-signal-safe.
 */
int ward__slot_clear(struct ward__slot *s, const siginfo_t *seen);
/* Is pid an unreaped private child with a slot?  Lock-free, async-signal-safe. */
int ward__slot_unreaped(pid_t pid);
/*
 * Slots the guard's handler holds or has reaped (HANDLER or DONE), or a
 * waiter has reaped (DONE), and ward has not collected yet.  The handler
 * counts a slot before it reaps the child, so whoever no longer finds the
 * child's report with a wait finds it here: ward_dispatch looks at every
 * handle only while this is not 0.  (A waiter counts its DONE only after
 * its reap, and collects it at once: it reaps only through a process
 * descriptor, on a backend whose events name each child, never with a
 * wait for any child.)
 */
extern _Atomic unsigned int ward__slots_taken;

/* Set by the guard's handler when it could not see past a child that ward
 * was busy with: ward re-raises SIGCHLD once it is done with it. */
extern _Atomic int ward__deferred;
/*
 * The report of the program's own child that libward-guard last ran the
 * program's handler for (see guard.c), forgotten when a wait in that
 * handler leaves a report for the re-raise: the handler must run again.
 */
extern _Atomic unsigned long long ward__delivered;
/* Is this report a child's end (rather than a stop or a continue)? */
static inline int
ward__is_exit(const siginfo_t *si)
{
    return si->si_code == CLD_EXITED || si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED;
}
/* Leave what cannot be seen now for the re-raise of SIGCHLD (ward__deferred). */
void ward__defer(void);
/*
 * Children in the table that the kernel reaps itself (autoreap): they have
 * no slot, so a look without ward's lock cannot tell their stop and
 * continue reports from the program's while any is there.
 */
extern _Atomic unsigned int ward__autoreaped;
/* Births in flight (see slots.c); end each with ward__birth_end(). */
extern _Atomic int ward__inflight;
void ward__birth_begin(void);
void ward__birth_end(void);
/*
 * SIGCHLD again, marked as ward's own (see slots.c).  Owed by the thread
 * while it is inside a section of ward's that blocks signals, and sent when
 * the last one ends (ward__reraise_flush()): to this thread, or to the
 * process if this thread keeps SIGCHLD blocked.
 */
void ward__reraise(void);
void ward__reraise_flush(void);
/*
 * Sections of ward's that hold the spawn gate shared for a birth without
 * ward__sig_enter() (a spawn's birth, ward_fork_prepare() to its parent or
 * child call): they block signals, but for a spawn that leaves the
 * caller's mask alone (lib/spawn.c), where a wait for any child made in a
 * handler sees it and keeps off the gate (lib/waitany.c).  And handlers
 * of SIGCHLD of ward's or the guard's running in this thread.
 */
extern _Thread_local int ward__masked __attribute__((tls_model("initial-exec")));
extern _Thread_local int ward__in_sigchld __attribute__((tls_model("initial-exec")));
int ward__sig_depth(void);
int ward__is_reraise(const siginfo_t *si);
/*
 * Counts, per thread, the SIGCHLD handlers of ward's own that ran without
 * running a handler of the program (the posix backend's, the guard's).  A
 * sleep that such a handler interrupted is not the caller's EINTR: the
 * core's wait loops (child.c, waitany.c) compare it before and after a
 * sleep, and sleep again.  Initial-exec, as it is written from signal
 * handlers.
 */
extern _Thread_local unsigned int ward__quiet_signals
    __attribute__((tls_model("initial-exec")));
/* An EINTR from a sleep that began when the count was n0: is it the caller's? */
#define WARD__CALLERS_EINTR(n0) (errno == EINTR && ward__quiet_signals == (n0))

/*
 * libward-guard attaches itself to the core once its SIGCHLD handler is in
 * place, and gives the function that keeps that handler installed whatever
 * the program's action (see ward__guard_want_handler() in backend.h).
 */
void ward__guard_attach(void (*want_handler)(void));
/*
 * Called by the guard's handler on every SIGCHLD, with the signal's
 * siginfo: passes it on to the backend's sigchld hook, where it has one.
 * Async-signal-safe.
 */
void ward__guard_sigchld(const siginfo_t *info);

/* ---- lock.c: the locks ------------------------------------------------ */

extern pthread_mutex_t ward__mutex;
extern pthread_rwlock_t ward__gate;

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
 * How many times, with a sched_yield() between, a wait in a signal handler
 * tries for ward's locks, or for a birth in flight to end, before it gives
 * up (EINTR for a blocking wait).  A holder that is not stuck lets go
 * within a few system calls (a spawn, a reap); one that is stuck behind
 * the interrupted thread never does.
 */
#define WARD__TRY_ROUNDS 200
/*
 * For a wait the program makes inside a signal handler: the gate
 * (exclusive) and ward__lock, if they can be had within a short spin;
 * returns 0 holding both, -1 holding neither.  A thread may hold ward's
 * locks while it waits for a lock of the C library's (fork() takes
 * malloc's after its atfork handlers ran, and ward allocates under
 * ward__lock), and the thread the handler interrupted may hold that very
 * lock: blocking there would never end.
 */
int ward__lock_both_try(void);
void ward__unlock_both(void);
/*
 * The gate (exclusive) and ward__lock, waiting for both: for a wait for
 * any child outside a handler.  Release with ward__unlock_both().
 */
void ward__lock_both(void);
/*
 * For a wait in a handler of the program's: the spin on ward__mutex alone,
 * as ward__lock_both_try() (0 holding it, -1 not).  Release with
 * ward__unlock().
 */
int ward__lock_try(void);
/*
 * Depth of the program's SIGCHLD handlers running in this thread, called
 * by libward-guard's handler.  Initial-exec: read and written in signal
 * handlers.
 */
extern _Thread_local unsigned int ward__in_handler
    __attribute__((tls_model("initial-exec")));
/* How many times this thread holds ward__lock (or is taking it): lock.c. */
extern _Thread_local unsigned int ward__lock_depth
    __attribute__((tls_model("initial-exec")));
/* In the child of a fork: fresh locks. */
void ward__locks_reset_after_fork(void);

/* ---- init.c: the backend ---------------------------------------------- */

extern const struct ward__backend *ward__be;
/* Returns 0 once a backend is chosen, -1 with errno otherwise. */
int ward__init(void);

/* ---- fork.c ------------------------------------------------------------ */

/* The fork generation: a handle born in another one is inherited. */
extern unsigned int ward__gen;
/* Register the fork handlers.  -1 if they cannot be. */
int ward__fork_init(void);

/* ---- pidtable.c: the pid -> handle table, under ward__lock -------------- */

void ward__table_insert(ward_child *c);
void ward__table_remove(ward_child *c);
ward_child *ward__table_find(pid_t pid);
/*
 * As ward__table_find(), but a child the kernel reaped itself (autoreap)
 * whose end the backend already sees is skipped: its pid may name another
 * process by now.  Async-signal-safe.
 */
ward_child *ward__table_find_live(pid_t pid);
size_t ward__table_count(void);
/* Call fn on every child in the table; fn may remove or free it. */
void ward__table_each(void (*fn)(ward_child *c));
/*
 * fn on every handle with this pid: the table can hold two.  A child the
 * kernel reaps itself (autoreap) frees its pid when it ends, before its
 * handle is collected, and a new child may get the same pid at once.
 */
void ward__table_each_pid(pid_t pid, void (*fn)(ward_child *c));
/* Empty the table without touching its children (after a fork). */
void ward__table_clear(void);

/* ---- handle.c: a handle's life ---------------------------------------- */

ward_child *ward__child_new(pid_t pid, int pidfd, unsigned int flags);
/*
 * Try to reap c without blocking.  Under ward__lock.  1 when it has ended
 * (status cached, or marked lost), 0 if it runs, -1 with errno otherwise.
 * An orphan that ends is freed here.
 */
int ward__try_reap(ward_child *c);
/* A waiter's reap without ward__lock where the backend can (see handle.c). */
int ward__reap_unlocked(ward_child *c);
/* Mark c dropped by its owner; ward reaps and frees it.  Under ward__lock. */
void ward__orphan(ward_child *c);
/* Reap and discard what the owners have dropped.  Under ward__lock. */
void ward__reap_orphans(void);
/* The same, taking ward__lock itself; cheap when there are none. */
void ward__reap_orphans_unlocked(void);
/* Free the orphans reaped since the last call.  Not in signal handlers. */
void ward__bury(void);
/*
 * c's process descriptor is no longer its own: some other code closed the
 * number and it may name another file now.  The handle forgets it without
 * closing it; from now on its waits and signals fail with EBADF.  The child
 * stays private and unreaped: under ward__lock it cannot have been reaped
 * by anyone who goes through ward, so its pid is still its own, and the
 * backend reaps it by pid.  Under ward__lock.
 */
void ward__fd_lost(ward_child *c);
/* Unreaped children whose descriptor was lost.  Under ward__lock. */
size_t ward__lost_count(void);
/* In the child of a fork: no orphan, nothing to bury. */
void ward__handles_reset_after_fork(void);

/* ---- events.c: the events descriptor and callbacks, under ward__lock --- */

/* After inserting c: watch it if the events descriptor is in use. */
void ward__watch_new(ward_child *c);
/* Queue c's callback, if it has one not queued yet. */
void ward__pend(ward_child *c);
/* Cancel c's queued callback. */
void ward__unpend(ward_child *c);
/* In the child of a fork: no callback due, no events descriptor. */
void ward__events_reset_after_fork(void);

/* ---- waitany.c --------------------------------------------------------- */

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
/*
 * Before a wait for one pid: 1 if it is a private child (the wait fails
 * with ECHILD), 0 if the wait is the system call's, 2 if that cannot be
 * told now and nohang was given (nothing ready), -1 with errno EINTR if it
 * still cannot be told after a while in a blocking wait.
 */
int ward__check_pid(pid_t pid, int nohang);
int ward__waitid(idtype_t idtype, id_t id, siginfo_t *info, int options);

#endif
