/*
 * guard.c - libward-guard: privacy against code that cannot be changed.
 *
 * libward-guard is libward plus definitions of libc's wait family (wait,
 * waitpid, wait3, wait4, waitid) and of signal() and sigaction() for
 * SIGCHLD.  Linked before libc, or loaded with LD_PRELOAD, it takes their
 * place for the whole process, and since it also defines every ward_*
 * function, the process has one table of private children whichever of
 * libward or libward-guard a caller was linked against.
 *
 * Waits for "any child" or a process group go through ward__wait_any():
 * they never report a private child and never sleep on one alone.  A wait
 * for a private pid fails with ECHILD, as for any pid that is not a child.
 *
 * SIGCHLD's disposition is emulated: the program's is kept aside, and the
 * guard's handler is in the kernel only while something needs it (the
 * program has a handler or ignores SIGCHLD, or the backend asked for it:
 * an events descriptor that only a handler can make readable); under SIG_DFL the kernel's default stays, so that
 * no child's exit interrupts the program's sleeps.  The handler
 *  - runs a handler of the program only if a non-private child has a
 *    report, with a siginfo_t that describes that child, or for a SIGCHLD
 *    no child sent (kill, raise, sigqueue), with its own; its sa_mask,
 *    SA_NODEFER, SA_RESETHAND and SA_SIGINFO honoured;
 *  - under SIG_IGN and SA_NOCLDWAIT reaps the program's own children as
 *    the kernel would, and never a private one (and the wait family then
 *    discards exits, which the kernel would never have reported);
 *  - hides stops and continues from the program's handler (SA_NOCLDSTOP).
 * The state belongs to one process: a vfork() child, which shares it, has
 * its sigaction(SIGCHLD) passed to the kernel.
 * To look past a private child that has a report, the handler reaps it into
 * its slot (see slots.c) without taking any lock.
 */
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#define GUARD_EXPORT __attribute__((visibility("default")))

typedef void (*sighandler_fn)(int);

/* Not declared by every libc's headers. */
sighandler_fn bsd_signal(int sig, sighandler_fn fn);
sighandler_fn sysv_signal(int sig, sighandler_fn fn);

/*
 * The program's SIGCHLD action, double-buffered so the handler always reads
 * a complete one: writers fill the spare copy, then publish its index.
 */
static struct sigaction user_act[2];
static _Atomic int user_idx;
static pthread_mutex_t user_lock = PTHREAD_MUTEX_INITIALIZER;
static sighandler_fn (*real_signal)(int, sighandler_fn);
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;
static int guard_ok;
/*
 * The process the state above belongs to.  A vfork() child (CPython's
 * _posixsubprocess, posix_spawn() emulations) shares this memory but not
 * the parent's signal actions: what it does to SIGCHLD must reach its own
 * kernel state only, never the parent's copy of the program's action.
 */
static pid_t owner;

/*
 * The pid of the process running now, asked of the kernel: a C library
 * that caches getpid() would answer for the parent in a vfork() child.
 */
static pid_t
self_pid(void)
{
#if defined(__linux__) && defined(SYS_getpid)
    return (pid_t)syscall(SYS_getpid);
#else
    return getpid();
#endif
}

/* Did a child send this SIGCHLD (rather than kill, raise or sigqueue)? */
static int
from_child(const siginfo_t *si)
{
    switch (si->si_code) {
    case CLD_EXITED:
    case CLD_KILLED:
    case CLD_DUMPED:
    case CLD_TRAPPED:
    case CLD_STOPPED:
    case CLD_CONTINUED:
        return 1;
    default:
        return 0;
    }
}

static int
user_ignores(const struct sigaction *ua)
{
    return ua->sa_handler == SIG_IGN || (ua->sa_flags & SA_NOCLDWAIT);
}

static int
user_has_handler(const struct sigaction *ua)
{
    if (ua->sa_flags & SA_SIGINFO)
        return ua->sa_sigaction != NULL;
    return ua->sa_handler != SIG_IGN && ua->sa_handler != SIG_DFL;
}

/*
 * The report of the program's own child that its handler last ran for.
 * The handler sees the first ready child only (a WNOWAIT wait for any
 * child), so a child of the program's that stopped or ended and is not
 * waited for stays in front of every later report.  Its report has had its
 * SIGCHLD; later signals are not for it, and the handler does not run
 * again for it.  Forgotten when the program waits for that child.
 */
#define delivered ward__delivered

/*
 * Run the program's handler.  The wait family knows it runs in one
 * (ward__in_handler): there it never blocks on ward's locks, and a wait
 * that could not tell a report apart without them answers "nothing ready"
 * (or EINTR, blocking); it forgets the delivered report first, so that the
 * handler runs again for it when ward re-raises SIGCHLD.
 */
static void
call_user(const struct sigaction *ua, int sig, siginfo_t *si, void *ctx)
{
    sigset_t mask, old;

    mask = ua->sa_mask;
    if (!(ua->sa_flags & SA_NODEFER))
        sigaddset(&mask, sig);
    pthread_sigmask(SIG_BLOCK, &mask, &old);
    if (ua->sa_flags & SA_RESETHAND) {
        /* One-shot: the action becomes SIG_DFL before the handler runs. */
        int spare = !atomic_load(&user_idx);

        memset(&user_act[spare], 0, sizeof(user_act[spare]));
        user_act[spare].sa_handler = SIG_DFL;
        atomic_store(&user_idx, spare);
    }
    ward__in_handler++;
    if (ua->sa_flags & SA_SIGINFO)
        ua->sa_sigaction(sig, si, ctx);
    else
        ua->sa_handler(sig);
    ward__in_handler--;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* The key of a report (delivered holds the last one's). */
static unsigned long long
report_key(const siginfo_t *si)
{
    return ((unsigned long long)(unsigned int)si->si_pid << 32) |
           ((unsigned long long)(si->si_code & 0xff) << 16) |
           (unsigned long long)(si->si_status & 0xffff);
}

static void
forget_delivered(pid_t pid)
{
    unsigned long long k = atomic_load(&delivered);

    if (pid > 0 && (pid_t)(k >> 32) == pid)
        (void)atomic_compare_exchange_strong(&delivered, &k, 0);
}

/*
 * The first ready report, seen, has had its SIGCHLD.  Did this signal come
 * from another child of the program's, hidden behind it?  Then seen becomes
 * that child's report.
 */
static int
newer_own_report(const siginfo_t *info, int opts, siginfo_t *seen)
{
    siginfo_t again;

    if (info == NULL || !from_child(info) || info->si_pid == seen->si_pid ||
        ward__slot_find(info->si_pid) != NULL || atomic_load(&ward__inflight) > 0)
        return 0;
    memset(&again, 0, sizeof(again));
    if (ward__real.waitid(P_PID, (id_t)info->si_pid, &again, opts) == -1 || again.si_pid == 0 ||
        report_key(&again) == atomic_load(&delivered))
        return 0;
    *seen = again;
    return 1;
}

static void
guard_handler(int sig, siginfo_t *info, void *ctx)
{
    int e = errno;
    const struct sigaction *ua = &user_act[atomic_load(&user_idx)];
    int opts = WEXITED | WNOHANG | WNOWAIT;
    siginfo_t seen;
    int ran_user = 0;
    /*
     * A SIGCHLD that no child sent (kill, raise, sigqueue) is the program's
     * as it is.  It may have merged with a child's, so the sweep below runs
     * all the same.
     */
    int sent = info != NULL && !from_child(info) && !ward__is_reraise(info);

    ward__in_sigchld++;
    /* The backend's hook first: it may sleep on a self-pipe. */
    ward__guard_sigchld(info);
    if (!(ua->sa_flags & SA_NOCLDSTOP) && user_has_handler(ua))
        opts |= WSTOPPED | WCONTINUED;
    for (;;) {
        struct ward__slot *s;
        int busy;

        memset(&seen, 0, sizeof(seen));
        if (ward__real.waitid(P_ALL, 0, &seen, opts) == -1 || seen.si_pid == 0)
            break;
        /*
         * Births in flight are counted before the slots are looked at: a
         * birth that ends in between has published its slot by then.
         */
        busy = atomic_load(&ward__inflight) > 0;
        if ((s = ward__slot_find(seen.si_pid)) == NULL && busy) {
            /*
             * Perhaps a private child whose birth has not been published
             * yet: the birth re-raises SIGCHLD when it has been.
             */
            atomic_store(&ward__deferred, 1);
            if (atomic_load(&ward__inflight) > 0)
                break;
            s = ward__slot_find(seen.si_pid);
        }
        if (s != NULL) {
            if (ward__slot_clear(s, &seen) == -1)
                break;
            continue;
        }
        /*
         * No slot: a child of the program's, or a private one that ward
         * reaped after we looked (ward reaps before it frees the slot, so
         * then the report is gone).  Look again at that pid alone.
         */
        {
            siginfo_t again;

            memset(&again, 0, sizeof(again));
            if (ward__real.waitid(P_PID, (id_t)seen.si_pid, &again, opts) == -1 ||
                again.si_pid == 0)
                continue;
        }
        /* A report of the program's own child. */
        if (user_ignores(ua) && ward__is_exit(&seen)) {
            siginfo_t gone;

            (void)ward__real.waitid(P_PID, (id_t)seen.si_pid, &gone, WEXITED | WNOHANG);
            continue;
        }
        if (user_has_handler(ua)) {
            if (report_key(&seen) == atomic_load(&delivered) &&
                !newer_own_report(info, opts, &seen))
                break;
            atomic_store(&delivered, report_key(&seen));
            seen.si_signo = SIGCHLD;
            call_user(ua, sig, &seen, ctx);
            ran_user = 1;
        }
        break;
    }
    if (sent && !ran_user) {
        ua = &user_act[atomic_load(&user_idx)];
        if (user_has_handler(ua)) {
            call_user(ua, sig, info, ctx);
            ran_user = 1;
        }
    }
    if (!ran_user)
        ward__quiet_signals++;
    ward__in_sigchld--;
    errno = e;
}

/*
 * Set once something needs the guard's handler whatever the program's
 * action: the backend asked for it (ward__guard_want_handler()), for an
 * events descriptor that only a handler can make readable.
 */
static _Atomic int handler_wanted;
static void want_handler(void);

/*
 * Install the guard's handler with the program's SA_RESTART choice, or the
 * program's own action where no handler is needed.  A caught signal makes
 * nanosleep(), poll(), select(), epoll_wait() fail with EINTR, SA_RESTART or
 * not, where SIG_DFL would interrupt nothing: with no handler of the
 * program's to emulate and no children to reap for it, the kernel's default
 * is left in place.  Private children need no handler: ward waits for them
 * by pidfd or by pid, and a program without a handler cannot be shown one.
 */
static int
install(const struct sigaction *ua)
{
    struct sigaction sa;

    if (!user_has_handler(ua) && !user_ignores(ua) && !atomic_load(&handler_wanted))
        return ward__real.sigaction(SIGCHLD, ua, NULL);
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = guard_handler;
    sa.sa_flags = SA_SIGINFO | (ua->sa_flags & SA_RESTART);
    if (!user_has_handler(ua))
        sa.sa_flags |= SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return ward__real.sigaction(SIGCHLD, &sa, NULL);
}

/*
 * fork() from one thread while another is in sigaction(SIGCHLD): the child
 * inherits user_lock held by a thread it does not have.  The lock is not
 * held across fork(): fork() takes malloc's locks after the atfork
 * handlers, and a handler of the program's that calls sigaction() (the
 * System V handler that puts itself back) may run in a thread that holds
 * malloc's lock; each would wait for the other.  The published action is
 * always a whole one (user_act is double-buffered), so the child starts
 * with a fresh lock and, if a writer held it at the fork, puts that action
 * in its kernel, which the writer may not have reached yet.
 */
static void
guard_atfork_child(void)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    int busy = pthread_mutex_trylock(&user_lock) != 0;

    memcpy(&user_lock, &m, sizeof(m));
    owner = self_pid();
    if (busy)
        (void)install(&user_act[atomic_load(&user_idx)]);
}

static void
guard_init(void)
{
    struct sigaction old;

    ward__real_init();
    real_signal = (sighandler_fn(*)(int, sighandler_fn))dlsym(RTLD_NEXT, "signal");
    if (ward__real.sigaction == NULL || ward__real.waitid == NULL ||
        ward__real.sigaction(SIGCHLD, NULL, &old) == -1)
        return;
    /* What the process had before us (SIG_IGN survives exec) is its action. */
    user_act[0] = old;
    owner = self_pid();
    if (pthread_atfork(NULL, NULL, guard_atfork_child) != 0)
        return;
    /*
     * ward itself too, now rather than at the first wait: that may be in
     * a handler of the program's, and initialising takes locks of the C
     * library's (pthread_atfork()'s) that a thread inside fork() holds.
     */
    (void)ward__init();
    ward__guard_attach(want_handler);
    if (install(&old) == 0)
        guard_ok = 1;
}

static int
ready(void)
{
    pthread_once(&guard_once, guard_init);
    return guard_ok;
}

/* The backend needs the guard's handler (see handler_wanted). */
static void
want_handler(void)
{
    if (!ready() || atomic_exchange(&handler_wanted, 1))
        return;
    ward__sig_enter();
    pthread_mutex_lock(&user_lock);
    (void)install(&user_act[atomic_load(&user_idx)]);
    pthread_mutex_unlock(&user_lock);
    ward__sig_leave();
}

__attribute__((constructor)) static void
guard_constructor(void)
{
    (void)ready();
}

/* ---- signal dispositions ------------------------------------------- */

GUARD_EXPORT int
sigaction(int sig, const struct sigaction *act, struct sigaction *oact)
{
    struct sigaction prev;

    if (sig != SIGCHLD || !ready()) {
        ward__real_init();
        return ward__real.sigaction(sig, act, oact);
    }
    if (self_pid() != owner) {
        /*
         * A child that shares our memory (vfork) or that did not go through
         * fork()'s handlers: its action is its own kernel's business.  The
         * previous action is the program's where the guard's is in place.
         */
        if (ward__real.sigaction(sig, act, &prev) == -1)
            return -1;
        if (oact != NULL) {
            if ((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction == guard_handler)
                *oact = user_act[atomic_load(&user_idx)];
            else
                *oact = prev;
        }
        return 0;
    }
    /*
     * sigaction() is async-signal-safe: a handler that calls it while this
     * thread holds the lock must not find it taken.
     */
    ward__sig_enter();
    pthread_mutex_lock(&user_lock);
    prev = user_act[atomic_load(&user_idx)];
    if (act != NULL) {
        int spare = !atomic_load(&user_idx);

        user_act[spare] = *act;
        atomic_store(&user_idx, spare);
        (void)install(act);
    }
    pthread_mutex_unlock(&user_lock);
    ward__sig_leave();
    if (oact != NULL)
        *oact = prev;
    return 0;
}

static sighandler_fn
set_handler(int sig, sighandler_fn fn, int flags)
{
    struct sigaction sa, old;

    if (sig != SIGCHLD || !ready()) {
        if (real_signal == NULL) {
            errno = ENOSYS;
            return SIG_ERR;
        }
        return real_signal(sig, fn);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, &old) == -1)
        return SIG_ERR;
    return (old.sa_flags & SA_SIGINFO) ? (sighandler_fn)(void *)old.sa_sigaction
                                       : old.sa_handler;
}

GUARD_EXPORT sighandler_fn
signal(int sig, sighandler_fn fn)
{
    return set_handler(sig, fn, SA_RESTART);
}

GUARD_EXPORT sighandler_fn
bsd_signal(int sig, sighandler_fn fn)
{
    return set_handler(sig, fn, SA_RESTART);
}

GUARD_EXPORT sighandler_fn
sysv_signal(int sig, sighandler_fn fn)
{
    return set_handler(sig, fn, SA_RESETHAND | SA_NODEFER);
}

/* ---- the wait family ----------------------------------------------- */

struct take_wait4 {
    int *status;
    int options;
    struct rusage *usage;
    pid_t pid;
};

static int
take_wait4(const siginfo_t *seen, void *arg)
{
    struct take_wait4 *t = arg;
    pid_t r = ward__real.wait4(seen->si_pid, t->status, t->options | WNOHANG, t->usage);

    if (r == -1)
        return errno == ECHILD ? 0 : -1;
    if (r == 0)
        return 0;
    t->pid = r;
    return 1;
}

/*
 * Does the program ignore SIGCHLD (SIG_IGN or SA_NOCLDWAIT)?  The kernel
 * would then reap its children as they end and never report an exit: a wait
 * blocks until none is left and fails with ECHILD.  The guard cannot leave
 * that to the kernel (it would reap private children too), so its handler
 * reaps the program's, and a wait that wins the race against the handler
 * discards the exit it got, as the kernel would never have given it.
 */
static int
program_ignores(void)
{
    return guard_ok && self_pid() == owner && user_ignores(&user_act[atomic_load(&user_idx)]);
}

static pid_t wait4_once(pid_t pid, int *status, int options, struct rusage *usage);

GUARD_EXPORT pid_t
wait4(pid_t pid, int *status, int options, struct rusage *usage)
{
    for (;;) {
        int st = 0;
        pid_t r = wait4_once(pid, &st, options, usage);

        if (r > 0)
            forget_delivered(r);
        if (r > 0 && (WIFEXITED(st) || WIFSIGNALED(st)) && program_ignores())
            continue;
        if (r > 0 && status != NULL)
            *status = st;
        return r;
    }
}

static pid_t
wait4_once(pid_t pid, int *status, int options, struct rusage *usage)
{
    struct take_wait4 t = { status, options, usage, 0 };
    int wopts, r;

    ward__real_init();
    if (ward__init() == -1)
        return ward__real.wait4(pid, status, options, usage);
    if (pid > 0) {
        switch (ward__check_pid(pid, options & WNOHANG)) {
        case 1:
            errno = ECHILD;
            return -1;
        case 2:
            return 0;
        case -1:
            return -1;
        }
        return ward__real.wait4(pid, status, options, usage);
    }
    /* waitpid's options in waitid's terms; other bits (__WALL...) pass. */
    wopts = WEXITED | (options & ~(WUNTRACED | WCONTINUED));
    if (options & WUNTRACED)
        wopts |= WSTOPPED;
    if (options & WCONTINUED)
        wopts |= WCONTINUED;
    r = ward__wait_any(pid == -1 ? P_ALL : P_PGID,
                       pid == -1 ? 0 : pid == 0 ? (id_t)getpgrp() : (id_t)-pid,
                       wopts, take_wait4, &t);
    if (r == -1)
        return -1;
    return r == 1 ? t.pid : 0;
}

GUARD_EXPORT pid_t
waitpid(pid_t pid, int *status, int options)
{
    return wait4(pid, status, options, NULL);
}

GUARD_EXPORT pid_t
wait(int *status)
{
    return wait4(-1, status, 0, NULL);
}

GUARD_EXPORT pid_t
wait3(int *status, int options, struct rusage *usage)
{
    return wait4(-1, status, options, usage);
}

GUARD_EXPORT int
waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
    ward__real_init();
    if (ward__init() == -1 || info == NULL)
        return ward__real.waitid(idtype, id, info, options);
    for (;;) {
        int r = ward__waitid(idtype, id, info, options);

        if (r == 0 && !(options & WNOWAIT))
            forget_delivered(info->si_pid);

        if (r == 0 && info->si_pid != 0 && ward__is_exit(info) && program_ignores()) {
            /* The kernel would have reaped it at its exit (see wait4). */
            if (options & WNOWAIT) {
                siginfo_t gone;

                (void)ward__real.waitid(P_PID, (id_t)info->si_pid, &gone,
                                        WEXITED | WNOHANG);
            }
            continue;
        }
        return r;
    }
}
