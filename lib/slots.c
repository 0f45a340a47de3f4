/*
 * slots.c - a claim word per unreaped private child, readable from a
 * signal handler.
 *
 * The pid table is guarded by a mutex, which a signal handler must never
 * take.  So every private child also owns a slot: one 64-bit atomic word
 * holding its pid and a state.  Slots live in chunks that are never moved
 * or freed, linked in a list that only grows, so a handler can scan them
 * without a lock at any moment.  Putting the pid and the state in one word
 * makes every claim a single compare-and-swap on (pid, state): a slot that
 * was released and reused for another child in the meantime can never be
 * claimed by mistake.
 *
 * Who may move a slot between states:
 *   RESERVED -> PRESENT        ward, when the child is born (under ward__lock)
 *   PRESENT  -> LOCKED -> ...  ward, to reap or signal it (under ward__lock)
 *   PRESENT  -> HANDLER -> DONE or PRESENT   the guard's SIGCHLD handler
 *   any      -> FREE           ward, when the child is gone (under ward__lock)
 */
#include "internal.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK_SLOTS 128

struct chunk {
    struct chunk *_Atomic next;
    struct ward__slot slots[CHUNK_SLOTS];
};

static struct chunk *_Atomic chunks;
static struct ward__slot *free_list; /* under ward__lock */

_Atomic int ward__deferred;
_Atomic unsigned long long ward__delivered;
_Atomic unsigned int ward__autoreaped;
_Atomic int ward__inflight;
_Atomic unsigned int ward__slots_taken;

/*
 * A child is being born: between clone() or fork() and the publication of
 * its slot, a SIGCHLD handler cannot tell it from a child of the program's.
 * The guard's handler defers while any birth is in flight, and the birth
 * re-raises SIGCHLD when it ends.
 */
void
ward__birth_begin(void)
{
    atomic_fetch_add(&ward__inflight, 1);
}

void
ward__birth_end(void)
{
    atomic_fetch_sub(&ward__inflight, 1);
    if (atomic_exchange(&ward__deferred, 0))
        ward__reraise();
}

_Thread_local int ward__masked __attribute__((tls_model("initial-exec")));
_Thread_local int ward__in_sigchld __attribute__((tls_model("initial-exec")));
static _Thread_local int reraise_owed __attribute__((tls_model("initial-exec")));

/*
 * Send SIGCHLD again for the guard's handler.  It is marked with a value no
 * program sends, so that the handler can tell it from a SIGCHLD the program
 * sent itself (kill, raise, sigqueue), which is the program's to receive.
 * It is owed while this thread is in a section of ward's that blocks
 * signals, and sent when the thread has its own mask back.
 */
void
ward__reraise(void)
{
    reraise_owed = 1;
    ward__reraise_flush();
}

void
ward__reraise_flush(void)
{
    sigset_t now;
#ifdef __GLIBC__
    union sigval v;
#endif

    if (!reraise_owed || ward__masked > 0 || ward__sig_depth() > 0)
        return;
    reraise_owed = 0;
    /*
     * To this thread, whose pending set no child's SIGCHLD (sent to the
     * process) shares: it cannot swallow one of those.  But a thread that
     * keeps SIGCHLD blocked (not for a handler's while: it runs one) would
     * hold it for ever: then to the process, where another thread takes it.
     */
    if (ward__in_sigchld > 0 || ward__in_handler > 0 ||
        pthread_sigmask(SIG_BLOCK, NULL, &now) != 0 || !sigismember(&now, SIGCHLD)) {
#ifdef __GLIBC__
        v.sival_ptr = (void *)&ward__deferred;
        if (pthread_sigqueue(pthread_self(), SIGCHLD, v) == 0)
            return;
#endif
        (void)raise(SIGCHLD);
        return;
    }
#ifdef __GLIBC__
    v.sival_ptr = (void *)&ward__deferred;
    if (sigqueue(getpid(), SIGCHLD, v) == 0)
        return;
#endif
    (void)kill(getpid(), SIGCHLD);
}

int
ward__is_reraise(const siginfo_t *si)
{
    return si->si_code == SI_QUEUE && si->si_value.sival_ptr == (void *)&ward__deferred &&
           si->si_pid == getpid();
}

struct ward__slot *
ward__slot_alloc(void)
{
    struct ward__slot *s;

    if (free_list == NULL) {
        struct chunk *c = calloc(1, sizeof(*c));

        if (c == NULL)
            return NULL;
        for (int i = CHUNK_SLOTS - 1; i >= 0; i--) {
            c->slots[i].next_free = free_list;
            free_list = &c->slots[i];
        }
        atomic_store(&c->next, atomic_load(&chunks));
        atomic_store(&chunks, c);
    }
    s = free_list;
    free_list = s->next_free;
    s->next_free = NULL;
    atomic_store(&s->word, WARD__SLOT_WORD(0, WARD__SLOT_RESERVED));
    return s;
}

void
ward__slot_publish(struct ward__slot *s, pid_t pid)
{
    atomic_store(&s->word, WARD__SLOT_WORD(pid, WARD__SLOT_PRESENT));
}

void
ward__slot_release(struct ward__slot *s)
{
    /* A slot the guard's handler reaped is collected: uncount it. */
    if (WARD__SLOT_STATE(atomic_exchange(&s->word, WARD__SLOT_WORD(0, WARD__SLOT_FREE))) ==
        WARD__SLOT_DONE)
        atomic_fetch_sub(&ward__slots_taken, 1);
    s->next_free = free_list;
    free_list = s;
}

/* In the child of a fork: no slot belongs to this process any more. */
void
ward__slot_reset_all(void)
{
    reraise_owed = 0;
    atomic_store(&ward__autoreaped, 0);
    free_list = NULL;
    atomic_store(&ward__slots_taken, 0);
    for (struct chunk *c = atomic_load(&chunks); c != NULL; c = atomic_load(&c->next)) {
        for (int i = CHUNK_SLOTS - 1; i >= 0; i--) {
            atomic_store(&c->slots[i].word, WARD__SLOT_WORD(0, WARD__SLOT_FREE));
            c->slots[i].next_free = free_list;
            free_list = &c->slots[i];
        }
    }
}

struct ward__slot *
ward__slot_find(pid_t pid)
{
    for (struct chunk *c = atomic_load(&chunks); c != NULL; c = atomic_load(&c->next)) {
        for (int i = 0; i < CHUNK_SLOTS; i++) {
            unsigned long long w = atomic_load(&c->slots[i].word);

            if (WARD__SLOT_PID(w) == pid && WARD__SLOT_STATE(w) >= WARD__SLOT_PRESENT)
                return &c->slots[i];
        }
    }
    return NULL;
}

unsigned int
ward__slot_claim(struct ward__slot *s, pid_t pid)
{
    for (;;) {
        unsigned long long w = WARD__SLOT_WORD(pid, WARD__SLOT_PRESENT);

        if (atomic_compare_exchange_strong(&s->word, &w,
                                           WARD__SLOT_WORD(pid, WARD__SLOT_LOCKED)))
            return WARD__SLOT_PRESENT;
        if (WARD__SLOT_STATE(w) == WARD__SLOT_DONE)
            return WARD__SLOT_DONE;
        /*
         * HANDLER: a SIGCHLD handler on another thread is reaping this child
         * right now (on this thread it would have finished before we run
         * again).  It takes one system call; wait for it.
         */
        sched_yield();
    }
}

void
ward__slot_unclaim(struct ward__slot *s, pid_t pid)
{
    atomic_store(&s->word, WARD__SLOT_WORD(pid, WARD__SLOT_PRESENT));
    /* The guard's handler may have given up on a report behind this child. */
    if (atomic_exchange(&ward__deferred, 0))
        ward__reraise();
}

int
ward__slot_unreaped(pid_t pid)
{
    struct ward__slot *s = ward__slot_find(pid);
    unsigned int st;

    if (s == NULL)
        return 0;
    st = WARD__SLOT_STATE(atomic_load(&s->word));
    return st == WARD__SLOT_PRESENT || st == WARD__SLOT_LOCKED || st == WARD__SLOT_HANDLER;
}

void
ward__defer(void)
{
    /* A handler of the program's that runs in this thread runs again. */
    if (ward__in_handler > 0)
        atomic_store(&ward__delivered, 0);
    atomic_store(&ward__deferred, 1);
}

/* HANDLER let go of: whoever found it held left a report for the re-raise. */
static void
slot_let_go(struct ward__slot *s, pid_t pid, unsigned int state)
{
    atomic_store(&s->word, WARD__SLOT_WORD(pid, state));
    if (atomic_exchange(&ward__deferred, 0))
        ward__reraise();
}

int
ward__slot_clear(struct ward__slot *s, const siginfo_t *seen)
{
    unsigned long long w = WARD__SLOT_WORD(seen->si_pid, WARD__SLOT_PRESENT);
    siginfo_t si;

    /*
     * Signals blocked while HANDLER is held, as while LOCKED is: a handler
     * that interrupted this one and waited for this child would wait for
     * the word forever.
     */
    ward__sig_enter();
    if (!atomic_compare_exchange_strong(&s->word, &w,
                                        WARD__SLOT_WORD(seen->si_pid, WARD__SLOT_HANDLER))) {
        /*
         * Deferred, then tried once more: a holder that let go in between
         * found nothing deferred and re-raised nothing.
         */
        ward__defer();
        w = WARD__SLOT_WORD(seen->si_pid, WARD__SLOT_PRESENT);
        if (!atomic_compare_exchange_strong(&s->word, &w,
                                            WARD__SLOT_WORD(seen->si_pid, WARD__SLOT_HANDLER))) {
            ward__sig_leave();
            return -1;
        }
    }
    memset(&si, 0, sizeof(si));
    if (ward__is_exit(seen)) {
        /*
         * Counted before the reap: ward_dispatch, which looks for exits
         * with a wait, must know where an exit it can no longer see went.
         */
        atomic_fetch_add(&ward__slots_taken, 1);
        if (ward__real.waitid(P_PID, (id_t)seen->si_pid, &si, WEXITED | WNOHANG) == 0 &&
            si.si_pid == seen->si_pid) {
            s->status = ward__status_from_siginfo(&si);
            slot_let_go(s, seen->si_pid, WARD__SLOT_DONE);
        } else {
            slot_let_go(s, seen->si_pid, WARD__SLOT_PRESENT);
            atomic_fetch_sub(&ward__slots_taken, 1);
        }
    } else {
        (void)ward__real.waitid(P_PID, (id_t)seen->si_pid, &si,
                                WSTOPPED | WCONTINUED | WNOHANG);
        slot_let_go(s, seen->si_pid, WARD__SLOT_PRESENT);
    }
    ward__sig_leave();
    return 0;
}
