/*
 * platform/posix/backend.c - the portable backend: vfork(), waitpid(pid),
 * kill() under the table lock, short sleeps for timed waits, and a SIGCHLD
 * self-pipe for the events descriptor.
 *
 * It never waits for "any child".  Without a process descriptor a pid is all
 * there is, so its safety rests on the table lock: ward reaps a child only
 * under that lock, and signals it only under that lock while it is
 * unreaped, so the pid cannot have been recycled.  A thief that does not go
 * through ward (or libward-guard) can break that, and a stolen status cannot
 * be recovered here: waits then fail with ECHILD.
 */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/*
 * Timed waits.  A timed wait cannot sleep in the kernel on one child (the
 * blocking waitid() below has no timeout), and a process-wide SIGCHLD
 * handler is no base to build it on:
 *
 *  - the program owns SIGCHLD.  One that sets it back to SIG_DFL (or to a
 *    handler of its own) after ward installed one silences ward's, and a
 *    wait that slept until the handler wrote to a pipe slept to its
 *    deadline however early the child ended;
 *  - a caught signal interrupts the program's own sleeps: nanosleep(),
 *    poll(), select(), sigtimedwait() fail with EINTR for it, SA_RESTART or
 *    not.  A handler of ward's would hand the program an EINTR for every
 *    exit of any child, one it would not get without ward.
 *
 * So a timed wait looks at its child (waitid() with WNOWAIT, which reaps
 * nothing) and sleeps in short steps, 1 ms doubling up to STEP_MAX_MS, in
 * between: an exit is seen at most STEP_MAX_MS late, whatever the program
 * did with SIGCHLD, and ward installs no handler for it.  The handler is
 * installed only for the events descriptor (ward_events_fd(), which is a
 * self-pipe the handler writes to: a program that asks for it accepts the
 * handler), and libward-guard has its own; while either is in place, a
 * step also polls the wake pipe, so that an exit ends it at once.
 */
#define STEP_MAX_MS 10

/* Guards the handler's state and the pipes below; after ward__lock. */
static pthread_mutex_t handler_lock = PTHREAD_MUTEX_INITIALIZER;
static int pipe_r = -1;           /* wakes timed waits */
static _Atomic int pipe_w = -1;
static int ev_r = -1;             /* the events descriptor */
static _Atomic int ev_w = -1;
/* 0 not tried, 1 installed, 2 installed but no pipe yet, -1 unavailable */
static int handler_state;
static struct sigaction chained;
/* The program's SIGCHLD handler ran since the last events_drain. */
static _Atomic int chained_ran;

/*
 * The pids that this backend's handler, or libward-guard's, was told of
 * (si_pid), for events_drain: a ward child reaped by a thief outside ward
 * before the core looked never shows in a wait again, and this is how the
 * core still finds it (its reap fails with ECHILD).  Signals of the same kind do not queue:
 * a SIGCHLD sent while one is pending is lost with its si_pid, so this is
 * not every exit (the core's wait for ready children finds those), only a
 * hint that costs one table look per signal.  Written by the handler on
 * any thread: each takes an index, and fills its entry only if the core
 * has emptied it; an entry found full, or reserved and not yet filled when
 * the core reads it, sets pids_lost, and the core then looks at every
 * child.  Emptied by events_drain, under ward__lock.
 */
#define PIDS_RING 256
static _Atomic pid_t pids_ring[PIDS_RING];
static _Atomic unsigned int pids_head;
static unsigned int pids_tail;
static _Atomic int pids_lost;

static void
note_pid(const siginfo_t *si)
{
    unsigned int i = atomic_fetch_add(&pids_head, 1);
    pid_t empty = 0;

    if (si == NULL || si->si_pid <= 0 ||
        !atomic_compare_exchange_strong(&pids_ring[i % PIDS_RING], &empty, si->si_pid))
        atomic_store(&pids_lost, 1);
}

/*
 * Run on every SIGCHLD, by this backend's handler or by libward-guard's
 * (which then owns the signal).  Both note si_pid: under the guard too, a
 * private child can be reaped by a thief the guard cannot stop (the wait4
 * or waitid system call itself) before any handler runs, and then its
 * reap's ECHILD, through the pid noted here, is the only way the core
 * finds it without a look at every handle.
 */
static void
posix_sigchld(const siginfo_t *si)
{
    int e = errno, fd = atomic_load(&pipe_w), efd = atomic_load(&ev_w);

    ssize_t n = 0;

    /* Noted before the wake-up, so the drain it causes finds the pid. */
    if (efd >= 0)
        note_pid(si);
    /* A full pipe already says "something changed": a failed write is fine. */
    if (fd >= 0)
        n = write(fd, "", 1);
    if (efd >= 0)
        n = write(efd, "", 1);
    (void)n;
    errno = e;
}

static void
on_sigchld(int sig, siginfo_t *si, void *ctx)
{
    posix_sigchld(si);
    /* chained_ran: the program's handler may reap any child. */
    if (!ward__sigchld_chain(&chained, sig, si, ctx, &chained_ran))
        ward__quiet_signal();
}

/* A non-blocking, close-on-exec pipe above the standard descriptors. */
static int
make_pipe(int *r, _Atomic int *w)
{
    int p[2];

    if (ward__pipe(p, O_NONBLOCK) == -1)
        return -1;
    p[0] = ward__fd_above_stdio(p[0]);
    p[1] = ward__fd_above_stdio(p[1]);
    if (p[0] == -1 || p[1] == -1) {
        WARD__KEEP_ERRNO(if (p[0] != -1) close(p[0]); if (p[1] != -1) close(p[1]));
        return -1;
    }
    *r = p[0];
    atomic_store(w, p[1]);
    return 0;
}

/*
 * Install the SIGCHLD handler, in front of any handler already there, and
 * make sure its self-pipe exists.  If SIGCHLD is ignored the kernel reaps
 * every child by itself and no status survives; ward leaves that choice
 * alone (and the events descriptor is then refused).  Only the events
 * descriptor calls this, and timed waits under libward-guard, whose own
 * handler writes to the pipe.  A pipe that cannot be
 * made now (no descriptor left) is tried again at the next call, the
 * handler staying in place meanwhile (state 2): a passing shortage must not
 * make ward poll, or refuse the events descriptor, for the rest of the
 * process.  Only an ignored SIGCHLD is for good (state -1).  Returns -1
 * with errno while the pipe is missing.  Under handler_lock.
 */
static int
ensure_handler(void)
{
    if (handler_state == 0) {
        if (ward__guard_active()) {
            /* libward-guard owns SIGCHLD and calls posix_sigchld(). */
            handler_state = 2;
        } else {
            /* Until the pipe exists, the handler only chains. */
            handler_state = ward__sigchld_install(on_sigchld, &chained) == 0 ? 2 : -1;
        }
    }
    if (handler_state == 2) {
        if (make_pipe(&pipe_r, &pipe_w) == -1)
            return -1;
        handler_state = 1;
    }
    return 0;
}

static int
posix_init(void)
{
    return 0;
}

/*
 * WARD_DIE_WITH_PARENT where no process descriptor does the work (this
 * backend, and the linux one where the kernel has no CLONE_PIDFD_AUTOKILL
 * or the child must stay reapable): the child itself asks, before exec,
 * for SIGKILL when its parent dies.  On Linux the "parent" of
 * PR_SET_PDEATHSIG is the thread that made the child, here the thread
 * that called ward_spawn(), so the child also dies when that thread exits
 * while the process lives on (ward has no thread of its own to spawn from,
 * and ward_attr_setflags(3) says so).  The kernel forgets the request when
 * the child execs a set-user-ID or set-group-ID program or one with file
 * capabilities.  A parent that died before the request was made is seen
 * afterwards: the child has then been handed to another process, and
 * getppid() says so; it exits rather than outlive its parent.  This
 * backend on any other system asks for nothing (ward_attr_setflags(3)):
 * the child dies with its handle only.  Async-signal-safe, no memory written but ex->err:
 * this runs in a vfork-style child.
 */
WARD_CHILD_CODE void
ward__child_die_with_parent(struct ward__exec *ex)
{
    if (!(ex->flags & WARD_DIE_WITH_PARENT) || ex->autokill)
        return;
#ifdef __linux__
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1) {
        ex->err = errno != 0 ? errno : EIO;
        _exit(127);
    }
    if (getppid() != ex->parent) {
        ex->err = ESRCH;
        _exit(127);
    }
#endif
}

#if defined(WARD_TSAN) && defined(__linux__)
#include <sched.h>
#include <sys/mman.h>

/*
 * ThreadSanitizer builds on Linux: TSan turns vfork() into fork(), so the
 * parent would neither wait for the exec nor see the child's ex->err, and
 * an exec error would become exit status 127.  libc's clone() without
 * CLONE_VM, which TSan intercepts as a fork, with CLONE_VFORK and the exec
 * request in a shared page, keeps both (as the linux backend does there).
 */
#define TSAN_STACK_SIZE (64 * 1024)

static int
tsan_child_main(void *arg)
{
    ward__child_die_with_parent(arg);
    ward__exec_child(arg);
}

static pid_t
start_child(struct ward__exec *ex)
{
    struct ward__exec *shared;
    char *stack;
    pid_t pid;
    int err;

    shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        return -1;
    stack = mmap(NULL, TSAN_STACK_SIZE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        err = errno;
        munmap(shared, sizeof(*shared));
        errno = err;
        return -1;
    }
    memcpy(shared, ex, sizeof(*shared));
    pid = clone(tsan_child_main, stack + TSAN_STACK_SIZE, CLONE_VFORK | SIGCHLD,
                shared);
    err = errno;
    if (pid > 0)
        ex->err = shared->err;
    munmap(stack, TSAN_STACK_SIZE);
    munmap(shared, sizeof(*shared));
    errno = err;
    return pid;
}
#endif

static int
posix_spawn_child(struct ward__exec *ex, pid_t *pidp, int *pidfdp)
{
    pid_t pid;

    ex->autokill = 0;
#if defined(WARD_TSAN) && defined(__linux__)
    ex->err = 0;
    pid = start_child(ex);
    if (pid != -1 && ex->err != 0) {
        int err = ex->err;

        ward__reap_pid(pid);
        errno = err;
        return -1;
    }
#else
    pid = ward__vfork_exec(ex, ward__child_die_with_parent);
#endif
    if (pid == -1)
        return -1;
    *pidp = pid;
    *pidfdp = -1;
    return 0;
}

static int
posix_adopt(pid_t pid, int *pidfdp)
{
    *pidfdp = -1;
    return 0;
}

static int
posix_reap(struct ward__pidref *c, int *status, struct ward__usage *usage)
{
    pid_t r;
    int st;
#ifdef HAVE_WAIT4
    struct rusage ru;

    r = ward__real_wait4(c->pid, &st, WNOHANG, &ru);
    if (r > 0)
        ward__usage_from_rusage(usage, &ru);
#else
    r = ward__real_waitpid(c->pid, &st, WNOHANG);
#endif
    if (r <= 0)
        return (int)r;
    *status = st;
    return 1;
}

static int
posix_recover(struct ward__pidref *c, int *status)
{
    errno = ENODATA;
    return -1;
}

/* Has c ended (or vanished)?  Looks without reaping. */
static int
ended(struct ward__pidref *c)
{
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    if (ward__real_waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
        return errno != EINTR;
    return si.si_pid != 0;
}

/*
 * Is ward's wake-up in place?  The handler (ours, or the guard's) must be
 * installed and still be the one the kernel runs: a program that replaced
 * it makes the pipe silent, and a step then only sleeps.
 */
static int
wake_pipe(void)
{
    struct sigaction cur;
    int fd;

    pthread_mutex_lock(&handler_lock);
    if (ward__guard_active() && handler_state != 1)
        (void)ensure_handler(); /* installs nothing: the guard's is there */
    fd = handler_state == 1 ? pipe_r : -1;
    pthread_mutex_unlock(&handler_lock);
    if (fd == -1 || ward__guard_active())
        return fd;
    if (ward__real_sigaction(SIGCHLD, NULL, &cur) == -1 ||
        !(cur.sa_flags & SA_SIGINFO) || cur.sa_sigaction != on_sigchld)
        return -1;
    return fd;
}

static int
timed_block(struct ward__pidref *c, const struct timespec *deadline)
{
    int step = 1;

    for (;;) {
        struct pollfd pfd;
        int ms, fd, r;
        char buf[64];

        if (ended(c))
            return 0;
        if ((ms = ward__ms_until(deadline)) == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        /* ms is -1 without a deadline (an interruptible ward_timedwait). */
        if (ms < 0 || ms > step)
            ms = step;
        fd = wake_pipe();
        pfd.fd = fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        r = poll(&pfd, fd != -1 ? 1 : 0, ms);
        /* EINTR too: the core tells the caller's from ward's own. */
        if (r == -1)
            return -1;
        if (r > 0) {
            /*
             * Every waiter polling now woke; a later one sleeps one step.
             * A SIGCHLD came: back to the core, which looks at the child
             * and counts ward's own handlers afresh for the next sleep.
             */
            while (read(fd, buf, sizeof(buf)) > 0)
                ;
            return 0;
        }
        if (step < STEP_MAX_MS)
            step = step * 2 > STEP_MAX_MS ? STEP_MAX_MS : step * 2;
    }
}

static int
posix_block(struct ward__pidref *c, const struct timespec *deadline, int intr)
{
    /* ward_timedwait sleeps in poll(), which no handler restarts. */
    if (deadline != NULL || intr)
        return timed_block(c, deadline);
    /*
     * ward_wait: the kernel itself sleeps until this child has ended; it
     * restarts the sleep after a handler installed with SA_RESTART and
     * fails with EINTR after one without, as waitpid(2) does.
     */
    return ward__sleep_until_ended(c->pid);
}

static int
posix_signal(struct ward__pidref *c, int sig)
{
    return kill(c->pid, sig);
}

static void
posix_forget(struct ward__pidref *c, int inherited)
{
}

/*
 * The events descriptor needs the SIGCHLD handler: nothing else can make a
 * descriptor readable when a child ends.  Installing it here, and only
 * here, confines its EINTRs to programs that asked for the descriptor.
 */
static int
posix_events_open(void)
{
    int fd;

    /* libward-guard installs its handler only where something needs it. */
    ward__guard_want_handler();
    pthread_mutex_lock(&handler_lock);
    if (ensure_handler() == -1) {
        /* No descriptor for the self-pipe now (EMFILE, ENFILE): say so. */
        WARD__KEEP_ERRNO(pthread_mutex_unlock(&handler_lock));
        return -1;
    }
    if (handler_state != 1) {
        /* SIGCHLD is ignored: nothing could ever make the descriptor ready. */
        pthread_mutex_unlock(&handler_lock);
        errno = ENOTSUP;
        return -1;
    }
    if (ev_r == -1)
        (void)make_pipe(&ev_r, &ev_w);
    fd = ev_r;
    pthread_mutex_unlock(&handler_lock);
    return fd;
}

/* Nothing to watch: a SIGCHLD names no child (see events_drain). */
static int
posix_watch(struct ward__pidref *c)
{
    return 0;
}

static void
posix_unwatch(struct ward__pidref *c)
{
}

/*
 * A SIGCHLD says some child changed, and its si_pid which one, but merged
 * signals lose theirs.  Every child of this backend's is an ordinary one
 * (vfork() or fork(), exit signal SIGCHLD) that only a wait reaps, so the
 * core finds the ended ones with a wait for any child (WARD__SCAN_READY)
 * instead of looking at every handle; the pids the handler was told of are
 * returned too, for the children a thief reaped before that wait.  The
 * core looks at every handle (WARD__SCAN_ALL) when the program's own
 * SIGCHLD handler ran (a handler that reaps with waitpid(-1) may have taken
 * an exit of ward's, and the SIGCHLD that told of it may have merged with
 * another) or when pids were lost here.  Under libward-guard, whose wait
 * family never reaps a private child, this backend's handler is not
 * installed: the guard's hands each si_pid on (posix_sigchld()), for the
 * children the wait4 or waitid system call itself took, and only the wait
 * for ready children is asked for.  Under ward__lock.
 */
static int
posix_events_drain(pid_t *pids, int max, int *scan_all)
{
    char buf[64];
    unsigned int head = atomic_load(&pids_head);
    int n = 0;

    /* Read before the core looks: an exit after the look writes again. */
    while (read(ev_r, buf, sizeof(buf)) > 0)
        ;
    if (head - pids_tail > PIDS_RING) {
        /* Entries were found full: those signals set pids_lost. */
        pids_tail = head - PIDS_RING;
    }
    while (pids_tail != head && n < max) {
        pid_t pid = atomic_exchange(&pids_ring[pids_tail % PIDS_RING], 0);

        pids_tail++;
        if (pid > 0)
            pids[n++] = pid;
        else
            atomic_store(&pids_lost, 1);
    }
    if (atomic_exchange(&chained_ran, 0) || atomic_exchange(&pids_lost, 0))
        *scan_all |= WARD__SCAN_ALL;
    else
        *scan_all |= WARD__SCAN_READY;
    return n;
}

static void
posix_atfork_prepare(void)
{
    pthread_mutex_lock(&handler_lock);
}

static void
posix_atfork_parent(void)
{
    pthread_mutex_unlock(&handler_lock);
}

static void
posix_atfork_child(void)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    int w = atomic_exchange(&pipe_w, -1);

    /*
     * The handler stays installed and does nothing until the first timed
     * wait in this process makes a new pipe.
     */
    if (pipe_r != -1)
        close(pipe_r);
    if (w != -1)
        close(w);
    pipe_r = -1;
    if (handler_state == 1)
        handler_state = 2;
    w = atomic_exchange(&ev_w, -1);
    if (ev_r != -1)
        close(ev_r);
    if (w != -1)
        close(w);
    ev_r = -1;
    atomic_store(&chained_ran, 0);
    for (int i = 0; i < PIDS_RING; i++)
        atomic_store(&pids_ring[i], 0);
    atomic_store(&pids_head, 0);
    pids_tail = 0;
    atomic_store(&pids_lost, 0);
    memcpy(&handler_lock, &m, sizeof(m));
}

const struct ward__backend ward__posix_backend = {
    .name = "posix",
    .init = posix_init,
    .spawn = posix_spawn_child,
    .adopt = posix_adopt,
    .reap = posix_reap,
    .recover = posix_recover,
    .block = posix_block,
    .signal = posix_signal,
    .forget = posix_forget,
    .events_open = posix_events_open,
    .watch = posix_watch,
    .unwatch = posix_unwatch,
    .events_drain = posix_events_drain,
    .sigchld = posix_sigchld,
    .atfork_child = posix_atfork_child,
    .atfork_prepare = posix_atfork_prepare,
    .atfork_parent = posix_atfork_parent,
};
