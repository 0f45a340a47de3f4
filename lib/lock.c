/*
 * lock.c - ward__lock (the mutex over the pid table and every handle), the
 * spawn gate, and the signal masking that makes both safe to take in
 * libward-guard, where libc's wait family may run in a signal handler.
 * See internal.h for what each lock guards and in which order.
 */
#include "internal.h"

#include <sched.h>
#include <signal.h>
#include <string.h>

#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
#define MUTEX_INITIALIZER PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
#else
#define MUTEX_INITIALIZER PTHREAD_MUTEX_INITIALIZER
#endif
pthread_mutex_t ward__mutex = MUTEX_INITIALIZER;
/*
 * Waits for any child take the gate exclusively; spawns take it shared.
 * Where the C library lets us, writers come first, so a steady stream of
 * spawns from many threads cannot starve a wait.  Nothing in ward takes
 * the gate shared twice in one thread (which that mode forbids).
 */
#ifdef PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP
#define GATE_INITIALIZER PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP
#else
#define GATE_INITIALIZER PTHREAD_RWLOCK_INITIALIZER
#endif
pthread_rwlock_t ward__gate = GATE_INITIALIZER;
#ifdef WARD_GUARD
static _Thread_local int sig_depth;
static _Thread_local sigset_t sig_saved;

void
ward__sig_enter(void)
{
    if (sig_depth++ == 0) {
        sigset_t all;

        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &sig_saved);
    }
}

void
ward__sig_leave(void)
{
    if (--sig_depth == 0) {
        pthread_sigmask(SIG_SETMASK, &sig_saved, NULL);
        ward__reraise_flush();
    }
}

int
ward__sig_depth(void)
{
    return sig_depth;
}
#else
int
ward__sig_depth(void)
{
    return 0;
}

void
ward__sig_enter(void)
{
}

void
ward__sig_leave(void)
{
}
#endif

/*
 * How many times this thread holds ward__lock, or is about to: raised
 * before the mutex is taken and lowered after it is let go, so that a
 * signal handler that runs in this thread in between, and waits for any
 * child through ward (ward_waitpid(3) tells SIGCHLD handlers to), knows
 * the mutex may be its own thread's and must not take it: outside
 * libward-guard, sections under the lock leave signals open (blocking them
 * would cost two system calls per section).  Such a wait answers the way
 * a wait in a handler does under the guard (waitany.c), and what it leaves
 * for later is re-raised once this thread has let go of the lock.
 */
_Thread_local unsigned int ward__lock_depth __attribute__((tls_model("initial-exec")));

void
ward__lock(void)
{
    ward__sig_enter();
    ward__lock_depth++;
    pthread_mutex_lock(&ward__mutex);
}

/* ward__lock_depth just went down by one. */
static void
depth_down(void)
{
#ifndef WARD_GUARD
    /*
     * Only a wait made in a handler while this thread held the lock defers
     * anything outside the guard: its handler runs again now.
     */
    if (ward__lock_depth == 0 && atomic_load_explicit(&ward__deferred, memory_order_relaxed) &&
        atomic_exchange(&ward__deferred, 0))
        ward__reraise();
#endif
}

void
ward__unlock(void)
{
    pthread_mutex_unlock(&ward__mutex);
    ward__lock_depth--;
    ward__sig_leave();
    depth_down();
}

_Thread_local unsigned int ward__in_handler __attribute__((tls_model("initial-exec")));

int
ward__lock_both_try(void)
{
    ward__sig_enter();
    ward__lock_depth++;
    for (int i = 0; i < WARD__TRY_ROUNDS; i++) {
        if (pthread_rwlock_trywrlock(&ward__gate) == 0) {
            if (pthread_mutex_trylock(&ward__mutex) == 0)
                return 0;
            pthread_rwlock_unlock(&ward__gate);
        }
        sched_yield();
    }
    ward__lock_depth--;
    ward__sig_leave();
    return -1;
}

int
ward__lock_try(void)
{
    ward__sig_enter();
    ward__lock_depth++;
    for (int i = 0; i < WARD__TRY_ROUNDS; i++) {
        if (pthread_mutex_trylock(&ward__mutex) == 0)
            return 0;
        sched_yield();
    }
    ward__lock_depth--;
    ward__sig_leave();
    return -1;
}

/*
 * ward__lock_depth is raised before the gate is taken, as ward__lock()
 * raises it before the mutex: a handler that runs in this thread between
 * the two (outside libward-guard, signals are open here) and waits for any
 * child must not wait for the gate, which is, or is being made, this
 * thread's.  Raised only once the mutex was taken, a wait in a handler of
 * SIGCHLD that interrupted a wait for any child just inside the gate
 * waited for itself for ever:
 * waitany::handler_waits_for_any_child_while_its_thread_does.
 */
void
ward__lock_both(void)
{
    ward__sig_enter();
    ward__lock_depth++;
    pthread_rwlock_wrlock(&ward__gate);
    pthread_mutex_lock(&ward__mutex);
}

void
ward__unlock_both(void)
{
    pthread_mutex_unlock(&ward__mutex);
    pthread_rwlock_unlock(&ward__gate);
    ward__lock_depth--;
    ward__sig_leave();
    depth_down();
}

/* In the child of a fork: the parent's holders are not here. */
void
ward__locks_reset_after_fork(void)
{
    pthread_mutex_t m = MUTEX_INITIALIZER;
    pthread_rwlock_t g = GATE_INITIALIZER;

    memcpy(&ward__mutex, &m, sizeof(m));
    memcpy(&ward__gate, &g, sizeof(g));
    ward__lock_depth = 0;
}
