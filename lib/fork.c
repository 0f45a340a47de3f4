/*
 * fork.c - everything about fork(): the atfork handlers, ward_fork(), and
 * the prepare/parent/child calls for embedders that fork themselves.
 */
#include "internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

unsigned int ward__gen;

static pid_t owner_pid;            /* the process the table belongs to */
static _Thread_local int prepared; /* ward_fork_prepare() holds the gate */
/*
 * From ward_fork_prepare() until the parent or child call, the gate is held
 * shared, so every signal is blocked in the forking thread: a handler that
 * waited for any child through ward would otherwise wait for that very gate.
 */
static _Thread_local sigset_t prepare_mask;

static void
atfork_prepare(void)
{
    ward__lock();
    if (ward__be != NULL && ward__be->atfork_prepare != NULL)
        ward__be->atfork_prepare();
}

static void
atfork_parent(void)
{
    if (ward__be != NULL && ward__be->atfork_parent != NULL)
        ward__be->atfork_parent();
    ward__unlock();
}

/*
 * In the child, the parent's children are not ours: forget them all, close
 * our copies of their descriptors, and start with fresh locks.  Handles the
 * caller still holds become foreign (their generation no longer matches).
 */
static void
forget_inherited(ward_child *c)
{
    c->next = NULL;
    c->in_table = 0;
    c->watched = 0;
    c->slot = NULL;
    if (ward__be != NULL)
        ward__be->forget(&c->ref, 1);
    if (c->orphan)
        free(c);
}

static void
reset_after_fork(void)
{
    ward__gen++;
    owner_pid = getpid();
    ward__table_each(forget_inherited);
    ward__table_clear();
    ward__slot_reset_all();
    atomic_store(&ward__deferred, 0);
    atomic_store(&ward__inflight, 0);
    ward__handles_reset_after_fork();
    ward__events_reset_after_fork();
    if (ward__be != NULL && ward__be->atfork_child != NULL)
        ward__be->atfork_child();
    ward__locks_reset_after_fork();
}

/* The lock taken by atfork_prepare() is gone in the child; so is the gate. */
static void
leave_after_fork(void)
{
    ward__sig_leave();
}

static void
atfork_child(void)
{
    reset_after_fork();
    leave_after_fork();
}

int
ward__fork_init(void)
{
    owner_pid = getpid();
    return pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0 ? -1 : 0;
}

int
ward_fork_prepare(void)
{
    sigset_t all;

    if (prepared) {
        errno = EDEADLK;
        return -1;
    }
    if (ward__init() == -1)
        return -1;
    ward__bury();
    ward__reap_orphans_unlocked();
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &prepare_mask);
    ward__masked++;
    pthread_rwlock_rdlock(&ward__gate);
    ward__birth_begin();
    prepared = 1;
    return 0;
}

static void
release_prepare(void)
{
    ward__birth_end();
    prepared = 0;
    pthread_rwlock_unlock(&ward__gate);
    pthread_sigmask(SIG_SETMASK, &prepare_mask, NULL);
    ward__masked--;
    ward__reraise_flush();
}

ward_child *
ward_fork_parent(pid_t pid, unsigned int flags)
{
    ward_child *c;
    int pidfd = -1, err;

    if (!prepared) {
        errno = EINVAL;
        return NULL;
    }
    if (pid <= 0) {
        WARD__KEEP_ERRNO(release_prepare());
        return NULL;
    }
    if ((flags & ~WARD_KILL_ON_FREE) != 0) {
        err = EINVAL;
        goto kill_child;
    }
    if ((c = ward__child_new(pid, -1, flags)) == NULL) {
        err = errno;
        goto kill_child;
    }
    ward__lock();
    if ((c->slot = ward__slot_alloc()) == NULL ||
        ward__be->adopt(pid, &pidfd) == -1) {
        err = errno;
        if (c->slot != NULL)
            ward__slot_release(c->slot);
        ward__unlock();
        free(c);
        goto kill_child;
    }
    ward__slot_publish(c->slot, pid);
    c->ref.fd = pidfd;
    if (ward__be->note != NULL)
        ward__be->note(&c->ref);
    ward__table_insert(c);
    ward__watch_new(c);
    ward__unlock();
    release_prepare();
    return c;

kill_child:
    /*
     * The gate is still held, so no waiter that goes through ward can have
     * reaped this child: the pid is still ours to kill and reap.
     */
    ward__kill_reap(pid);
    release_prepare();
    errno = err;
    return NULL;
}

void
ward_fork_child(void)
{
    /* Idempotent: the atfork handler has normally done this already. */
    if (ward__be != NULL && owner_pid != getpid()) {
        reset_after_fork();
        leave_after_fork();
    }
    if (prepared) {
        /* The gate was re-initialised with the rest; restore the mask. */
        prepared = 0;
        ward__masked = 0;
        pthread_sigmask(SIG_SETMASK, &prepare_mask, NULL);
    }
}

pid_t
ward_fork(ward_child **childp, unsigned int flags)
{
    ward_child *c;
    pid_t pid;

    if (childp == NULL || (flags & ~WARD_KILL_ON_FREE) != 0) {
        errno = EINVAL;
        return -1;
    }
    if (ward_fork_prepare() == -1)
        return -1;
    pid = fork();
    if (pid == 0) {
        ward_fork_child();
        return 0;
    }
    if ((c = ward_fork_parent(pid, flags)) == NULL)
        return -1;
    *childp = c;
    return pid;
}
