/*
 * handle.c - a handle's life in the core: made, reaped (the one place
 * where a reap's outcome is stored on the handle), dropped by its owner
 * while the child runs (an orphan, reaped and freed by ward later), and
 * freed.  The public calls on a handle are in child.c.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t norphans;
static ward_child *orphans;   /* dropped while running, linked by pnext */
static ward_child *graveyard; /* reaped orphans, freed by ward__bury() */
static size_t nlost;          /* unreaped children whose descriptor was lost */

ward_child *
ward__child_new(pid_t pid, int pidfd, unsigned int flags)
{
    ward_child *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->ref.pid = pid;
    c->ref.fd = pidfd;
    c->flags = flags;
    c->gen = ward__gen;
    c->stdio[0] = c->stdio[1] = c->stdio[2] = -1;
    atomic_init(&c->state, WARD__RUNNING);
    return c;
}

void
ward__fd_lost(ward_child *c)
{
    if (atomic_load(&c->fd_lost))
        return;
    /*
     * Not closed: the number is someone else's now.  Atomic: a backend may
     * read it outside ward__lock (see backend.h, can_block and reap_claimed).
     */
    __atomic_store_n(&c->ref.fd, -1, __ATOMIC_RELAXED);
    c->watched = 0;
    atomic_store(&c->fd_lost, 1);
    /* Its exits are no longer in the events set: dispatch looks at all. */
    if (atomic_load(&c->state) == WARD__RUNNING)
        nlost++;
}

void
ward__pidref_lost(struct ward__pidref *ref)
{
    ward__fd_lost((ward_child *)((char *)ref - offsetof(ward_child, ref)));
}

int
ward__try_reap(ward_child *c)
{
    struct ward__usage usage;
    int st, r;

    if (atomic_load(&c->state) != WARD__RUNNING)
        return 1;
    memset(&usage, 0, sizeof(usage));
    if (c->slot != NULL &&
        ward__slot_claim(c->slot, c->ref.pid) == WARD__SLOT_DONE) {
        /*
         * libward-guard's SIGCHLD handler reaped it for us, or a waiter did
         * in ward__reap_unlocked(), which also left the usage.
         */
        c->status = c->slot->status;
        atomic_store(&c->state, WARD__EXITED);
        goto reaped;
    }
    r = ward__be->reap(&c->ref, &st, &usage);
    if (r == 1 || r == 2) {
        c->status = st;
        c->usage = usage;
        /* 2: the kernel reaped it itself and kept no resource usage. */
        c->has_usage = r == 1;
        atomic_store(&c->state, WARD__EXITED);
    } else if (r == -1 && errno == ECHILD) {
        /* Someone outside ward reaped it.  Recover the status if we can. */
        if (ward__be->recover(&c->ref, &st) == 0) {
            c->status = st;
            atomic_store(&c->state, WARD__EXITED);
        } else {
            atomic_store(&c->state, WARD__LOST);
        }
    } else {
        if (c->slot != NULL)
            ward__slot_unclaim(c->slot, c->ref.pid);
        return r;
    }
reaped:
    if (atomic_load(&c->fd_lost))
        nlost--;
    if (c->slot != NULL) {
        ward__slot_release(c->slot);
        /* Read outside the lock by ward__reap_unlocked(). */
        __atomic_store_n(&c->slot, NULL, __ATOMIC_RELEASE);
        if (atomic_exchange(&ward__deferred, 0))
            ward__reraise();
    }
    if (c->ref.autoreap)
        atomic_fetch_sub(&ward__autoreaped, 1);
    ward__table_remove(c);
    if (c->watched) {
        ward__be->unwatch(&c->ref);
        c->watched = 0;
    }
    ward__pend(c);
    if (c->orphan) {
        /*
         * Not freed here: this may run inside a signal handler (libward-guard's
         * waitpid() is async-signal-safe), where free() is not.
         */
        ward_child **pp;

        for (pp = &orphans; *pp != NULL; pp = &(*pp)->pnext) {
            if (*pp == c) {
                *pp = c->pnext;
                break;
            }
        }
        norphans--;
        ward__be->forget(&c->ref, 0);
        c->next = graveyard;
        graveyard = c;
    }
    return 1;
}

/*
 * A waiter's reap outside ward__lock, which every thread's spawn and wait
 * take: holding the lock over the reaping system call made threads that
 * spawn and wait at once queue for it (doc/PERFORMANCE.md, scenario 7).
 * What keeps a status from being lost without the lock is c's claim word,
 * the one the guard's handler and every reap under the lock also claim:
 * taken here (PRESENT -> LOCKED), the child reaped by the backend through
 * its process descriptor, the status left in the word as the guard's
 * handler leaves one (DONE), and collected under the lock by
 * ward__try_reap(), as the handler's are.  Whoever else comes meanwhile
 * finds the word LOCKED or DONE, never a reaped child without its status.
 * Returns 1 once c has ended and its status is cached, 0 if it surely
 * runs, -1 if the caller must look under the lock (no backend support,
 * no claim word, the word taken by someone else, or anything the backend
 * leaves to the locked reap: a lost descriptor, a thief).
 */
int
ward__reap_unlocked(ward_child *c)
{
    struct ward__usage usage;
    struct ward__slot *s;
    unsigned long long w;
    int st, r;

    if (ward__be->reap_claimed == NULL)
        return -1;
    if (atomic_load(&c->state) != WARD__RUNNING)
        return 1;
    if ((s = __atomic_load_n(&c->slot, __ATOMIC_ACQUIRE)) == NULL)
        return -1;
    /*
     * Signals blocked while the word is held, as under ward__lock: in
     * libward-guard a handler of the program's that waits for any child
     * would otherwise find the word held by the very thread it interrupted,
     * and wait for it forever.
     */
    ward__sig_enter();
    w = WARD__SLOT_WORD(c->ref.pid, WARD__SLOT_PRESENT);
    if (!atomic_compare_exchange_strong(&s->word, &w,
                                        WARD__SLOT_WORD(c->ref.pid, WARD__SLOT_LOCKED))) {
        ward__sig_leave();
        return -1;
    }
    memset(&usage, 0, sizeof(usage));
    if ((r = ward__be->reap_claimed(&c->ref, &st, &usage)) != 1) {
        ward__slot_unclaim(s, c->ref.pid);
        ward__sig_leave();
        return r == 0 ? 0 : -1;
    }
    /* Only the claim's holder writes these; read once the state says EXITED. */
    c->usage = usage;
    c->has_usage = 1;
    s->status = st;
    atomic_fetch_add(&ward__slots_taken, 1);
    atomic_store(&s->word, WARD__SLOT_WORD(c->ref.pid, WARD__SLOT_DONE));
    ward__lock();
    (void)ward__try_reap(c);
    ward__unlock();
    ward__sig_leave();
    return 1;
}

void
ward__bury(void)
{
    ward_child *c, *next;

    if (__atomic_load_n(&graveyard, __ATOMIC_RELAXED) == NULL)
        return;
    ward__lock();
    c = graveyard;
    graveyard = NULL;
    ward__unlock();
    for (; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
}

/* Drop a handle whose child still runs: ward reaps it later. */
void
ward__orphan(ward_child *c)
{
    /* Its callback was cancelled, so pnext is free to link the orphans. */
    c->orphan = 1;
    c->pnext = orphans;
    orphans = c;
    norphans++;
    (void)ward__try_reap(c);
}

void
ward__reap_orphans(void)
{
    ward_child *c = orphans, *next;

    for (; c != NULL; c = next) {
        next = c->pnext;
        (void)ward__try_reap(c);
    }
}

void
ward__reap_orphans_unlocked(void)
{
    /* A racy peek is fine: a missed orphan is reaped by the next call. */
    if (__atomic_load_n(&norphans, __ATOMIC_RELAXED) == 0)
        return;
    ward__lock();
    ward__reap_orphans();
    ward__unlock();
}

size_t
ward__lost_count(void)
{
    return nlost;
}

/*
 * In the child of a fork, after the table's handles were forgotten (and
 * the orphans among them freed): nothing of the parent's is left to reap.
 */
void
ward__handles_reset_after_fork(void)
{
    while (graveyard != NULL) {
        ward_child *c = graveyard;

        graveyard = c->next;
        free(c);
    }
    norphans = 0;
    orphans = NULL;
    nlost = 0;
}
