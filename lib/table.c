/*
 * table.c - the pid -> handle table, the locks, the choice of backend, and
 * everything about fork(): the atfork handlers, ward_fork() and the
 * prepare/parent/child calls for embedders that fork themselves.
 */
#include "internal.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct ward__backend *ward__be;
pthread_mutex_t ward__mutex = PTHREAD_MUTEX_INITIALIZER;
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
unsigned int ward__gen;

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
    if (--sig_depth == 0)
        pthread_sigmask(SIG_SETMASK, &sig_saved, NULL);
}
#else
void
ward__sig_enter(void)
{
}

void
ward__sig_leave(void)
{
}
#endif

void
ward__lock(void)
{
    ward__sig_enter();
    pthread_mutex_lock(&ward__mutex);
}

void
ward__unlock(void)
{
    pthread_mutex_unlock(&ward__mutex);
    ward__sig_leave();
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_errno;
static pid_t owner_pid;            /* the process the table belongs to */
static _Thread_local int prepared; /* ward_fork_prepare() holds the gate */
/*
 * From ward_fork_prepare() until the parent or child call, the gate is held
 * shared, so every signal is blocked in the forking thread: a handler that
 * waited for any child through ward would otherwise wait for that very gate.
 */
static _Thread_local sigset_t prepare_mask;

/*
 * Chained hash table keyed by pid; grows so chains stay short.  It starts
 * in static storage, so inserting a child that exists can never fail: if
 * growing fails, the chains only get longer.
 */
static ward_child *initial[64];
static ward_child **buckets = initial;
static size_t nbuckets = 64, count;
static size_t norphans;
static ward_child *orphans;   /* dropped while running, linked by pnext */
static ward_child *graveyard; /* reaped orphans, freed by ward__bury() */

/* Handles whose callback is due, in the order their children ended. */
static ward_child *pending_head, **pending_tail = &pending_head;
static int events_on;    /* the events descriptor is in use */
static int watch_failed; /* some child could not be watched: scan them all */
static size_t nlost;     /* unreaped children whose descriptor was lost */

static size_t
slot(pid_t pid, size_t n)
{
    return ((uint32_t)pid * 2654435761u) & (n - 1);
}

static int
grow(void)
{
    size_t n = nbuckets * 2;
    ward_child **b = calloc(n, sizeof(*b));

    if (b == NULL)
        return -1;
    for (size_t i = 0; i < nbuckets; i++) {
        ward_child *c = buckets[i], *next;

        for (; c != NULL; c = next) {
            next = c->next;
            c->next = b[slot(c->pid, n)];
            b[slot(c->pid, n)] = c;
        }
    }
    if (buckets != initial)
        free(buckets);
    buckets = b;
    nbuckets = n;
    return 0;
}

void
ward__table_insert(ward_child *c)
{
    if (count >= nbuckets)
        (void)grow();
    c->next = buckets[slot(c->pid, nbuckets)];
    buckets[slot(c->pid, nbuckets)] = c;
    c->in_table = 1;
    count++;
}

void
ward__table_remove(ward_child *c)
{
    ward_child **pp;

    if (!c->in_table)
        return;
    for (pp = &buckets[slot(c->pid, nbuckets)]; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    c->next = NULL;
    c->in_table = 0;
    count--;
}

size_t
ward__table_count(void)
{
    return count;
}

ward_child *
ward__table_find(pid_t pid)
{
    for (ward_child *c = buckets[slot(pid, nbuckets)]; c != NULL; c = c->next) {
        if (c->pid == pid)
            return c;
    }
    return NULL;
}

ward_child *
ward__table_find_live(pid_t pid)
{
    for (ward_child *c = buckets[slot(pid, nbuckets)]; c != NULL; c = c->next) {
        if (c->pid == pid &&
            !(c->autoreap && ward__be->released != NULL && ward__be->released(c)))
            return c;
    }
    return NULL;
}

ward_child *
ward__child_new(pid_t pid, int pidfd, unsigned int flags)
{
    ward_child *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->pid = pid;
    c->pidfd = pidfd;
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
    /* Not closed: the number is someone else's now. */
    c->pidfd = -1;
    c->watched = 0;
    atomic_store(&c->fd_lost, 1);
    /* Its exits are no longer in the events set: dispatch looks at all. */
    if (atomic_load(&c->state) == WARD__RUNNING)
        nlost++;
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
        ward__slot_claim(c->slot, c->pid) == WARD__SLOT_DONE) {
        /* libward-guard's SIGCHLD handler reaped it for us. */
        c->status = c->slot->status;
        atomic_store(&c->state, WARD__EXITED);
        goto reaped;
    }
    r = ward__be->reap(c, &st, &usage);
    if (r == 1 || r == 2) {
        c->status = st;
        c->usage = usage;
        /* 2: the kernel reaped it itself and kept no resource usage. */
        c->has_usage = r == 1;
        atomic_store(&c->state, WARD__EXITED);
    } else if (r == -1 && errno == ECHILD) {
        /* Someone outside ward reaped it.  Recover the status if we can. */
        if (ward__be->recover(c, &st) == 0) {
            c->status = st;
            atomic_store(&c->state, WARD__EXITED);
        } else {
            atomic_store(&c->state, WARD__LOST);
        }
    } else {
        if (c->slot != NULL)
            ward__slot_unclaim(c->slot, c->pid);
        return r;
    }
reaped:
    if (atomic_load(&c->fd_lost))
        nlost--;
    if (c->slot != NULL) {
        ward__slot_release(c->slot);
        c->slot = NULL;
        if (atomic_exchange(&ward__deferred, 0))
            ward__reraise();
    }
    ward__table_remove(c);
    if (c->watched)
        ward__be->unwatch(c);
    if (c->cb != NULL && !c->pending) {
        c->pending = 1;
        c->pnext = NULL;
        *pending_tail = c;
        pending_tail = &c->pnext;
    }
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
        ward__be->forget(c);
        c->next = graveyard;
        graveyard = c;
    }
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
ward__adopt_orphan(ward_child *c)
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

/* ---- events ------------------------------------------------------- */

void
ward__watch_new(ward_child *c)
{
    if (events_on && ward__be->watch(c) == -1)
        watch_failed = 1;
}

static void
unpend(ward_child *c)
{
    ward_child **pp;

    if (!c->pending)
        return;
    for (pp = &pending_head; *pp != NULL; pp = &(*pp)->pnext) {
        if (*pp == c) {
            *pp = c->pnext;
            if (pending_tail == &c->pnext)
                pending_tail = pp;
            break;
        }
    }
    c->pending = 0;
    c->pnext = NULL;
}

/* Cancel what the owner of c still had queued.  Under ward__lock. */
void
ward__unpend(ward_child *c)
{
    unpend(c);
    c->cb = NULL;
}

int
ward_setcallback(ward_child *c, ward_exit_fn fn, void *data)
{
    if (c == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (c->gen != ward__gen) {
        errno = EINVAL;
        return -1;
    }
    ward__lock();
    c->cb = fn;
    c->cb_data = data;
    if (fn == NULL) {
        unpend(c);
    } else if (atomic_load(&c->state) != WARD__RUNNING && !c->pending) {
        c->pending = 1;
        c->pnext = NULL;
        *pending_tail = c;
        pending_tail = &c->pnext;
    }
    ward__unlock();
    return 0;
}

int
ward_events_fd(void)
{
    int fd;

    if (ward__init() == -1)
        return -1;
    ward__lock();
    fd = ward__be->events_open();
    if (fd != -1 && !events_on) {
        events_on = 1;
        for (size_t i = 0; i < nbuckets; i++) {
            for (ward_child *c = buckets[i]; c != NULL; c = c->next)
                ward__watch_new(c);
        }
    }
    ward__unlock();
    return fd;
}

static void
reap_all(void)
{
    for (size_t i = 0; i < nbuckets; i++) {
        ward_child *c = buckets[i], *next;

        for (; c != NULL; c = next) {
            next = c->next;
            (void)ward__try_reap(c);
        }
    }
}

/*
 * Try every handle with this pid, not only the newest: the table can hold
 * two.  A child the kernel reaps itself (autoreap) frees its pid when it
 * ends, before its handle is collected, and a new child may get the same
 * pid at once; the event may be the old one's, whose reap would otherwise
 * never be tried (the epoll set reports it again and again, and every
 * time the lookup would find the new child).  Under ward__lock.
 */
static void
try_reap_pid(pid_t pid)
{
    ward_child *c = buckets[slot(pid, nbuckets)], *next;

    for (; c != NULL; c = next) {
        next = c->next;
        if (c->pid == pid)
            (void)ward__try_reap(c);
    }
}

int
ward_dispatch(void)
{
    int ran = 0;

    if (ward__init() == -1)
        return -1;
    ward__bury();
    ward__lock();
    if (events_on) {
        pid_t pids[64];
        int n, scan_all = 0;

        do {
            n = ward__be->events_drain(pids, 64, &scan_all);
            for (int i = 0; i < n; i++)
                try_reap_pid(pids[i]);
        } while (n == 64);
        if (scan_all || watch_failed || nlost > 0) {
            watch_failed = 0;
            reap_all();
        }
    } else {
        reap_all();
    }
    /*
     * Run the callbacks one at a time, outside the lock, so a callback may
     * call anything in ward, ward_free() of its own handle included.
     */
    while (pending_head != NULL) {
        ward_child *c = pending_head;
        ward_exit_fn fn = c->cb;
        void *data = c->cb_data;
        int st = atomic_load(&c->state) == WARD__EXITED ? c->status : -1;

        unpend(c);
        c->cb = NULL;
        ward__unlock();
        fn(c, st, data);
        ran++;
        ward__lock();
    }
    ward__unlock();
    return ran;
}

/* ---- fork ----------------------------------------------------------- */

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
reset_after_fork(void)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_rwlock_t g = GATE_INITIALIZER;

    ward__gen++;
    owner_pid = getpid();
    for (size_t i = 0; i < nbuckets; i++) {
        ward_child *c = buckets[i], *next;

        for (; c != NULL; c = next) {
            next = c->next;
            c->next = NULL;
            c->in_table = 0;
            c->watched = 0;
            c->slot = NULL;
            if (ward__be != NULL)
                ward__be->forget(c);
            if (c->orphan)
                free(c);
        }
        buckets[i] = NULL;
    }
    ward__slot_reset_all();
    atomic_store(&ward__deferred, 0);
    atomic_store(&ward__inflight, 0);
    while (graveyard != NULL) {
        ward_child *c = graveyard;

        graveyard = c->next;
        free(c);
    }
    count = 0;
    norphans = 0;
    orphans = NULL;
    pending_head = NULL;
    pending_tail = &pending_head;
    events_on = 0;
    watch_failed = 0;
    nlost = 0;
    if (ward__be != NULL && ward__be->atfork_child != NULL)
        ward__be->atfork_child();
    memcpy(&ward__mutex, &m, sizeof(m));
    memcpy(&ward__gate, &g, sizeof(g));
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

static void
choose_backend(void)
{
    static const struct ward__backend *const all[] = {
#ifdef WARD_HAVE_LINUX_BACKEND
        &ward__linux_backend,
#endif
#ifdef WARD_HAVE_BSD_BACKEND
        &ward__bsd_backend,
#endif
#ifdef WARD_HAVE_DARWIN_BACKEND
        &ward__darwin_backend,
#endif
        &ward__posix_backend,
    };
    const char *want = getenv("WARD_BACKEND");

    ward__real_init();
    init_errno = ENOSYS;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (want != NULL && want[0] != '\0' && strcmp(want, all[i]->name) != 0)
            continue;
        if (all[i]->init() == 0) {
            ward__be = all[i];
            break;
        }
        init_errno = errno;
    }
    owner_pid = getpid();
    if (ward__be != NULL && pthread_atfork(atfork_prepare, atfork_parent,
                                           atfork_child) != 0) {
        ward__be = NULL;
        init_errno = ENOMEM;
    }
}

int
ward__init(void)
{
    pthread_once(&init_once, choose_backend);
    if (ward__be == NULL) {
        errno = init_errno;
        return -1;
    }
    return 0;
}

const char *
ward_backend(void)
{
    return ward__init() == 0 ? ward__be->name : NULL;
}

const char *
ward_version(void)
{
    return PACKAGE_VERSION;
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
    c->pidfd = pidfd;
    if (ward__be->note != NULL)
        ward__be->note(c);
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
    (void)kill(pid, SIGKILL);
    while (ward__real.waitpid(pid, NULL, 0) == -1 && errno == EINTR)
        ;
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
