/*
 * real.c - the libc functions ward itself calls for waiting and for
 * signal dispositions.
 *
 * libward-guard replaces libc's wait family and sigaction() for the whole
 * process; ward's own calls must reach libc's, never the guard's, or they
 * would recurse.  The ordinary library takes libc's functions directly; the
 * guard's copy of the core looks up the next definitions after its own.
 */
#include "internal.h"

#include <string.h>

_Thread_local unsigned int ward__quiet_signals __attribute__((tls_model("initial-exec")));

/* Set once libward-guard's SIGCHLD handler is in place. */
static int guarded;
static void (*guard_want_handler)(void);

void
ward__guard_attach(void (*want_handler)(void))
{
    guard_want_handler = want_handler;
    guarded = 1;
}

void
ward__guard_sigchld(const siginfo_t *info)
{
    const struct ward__backend *be = ward__be;

    if (be != NULL && be->sigchld != NULL)
        be->sigchld(info);
}

int
ward__guard_active(void)
{
    return guarded;
}

void
ward__guard_want_handler(void)
{
    if (guarded && guard_want_handler != NULL)
        guard_want_handler();
}

void
ward__quiet_signal(void)
{
    ward__quiet_signals++;
}

#ifdef WARD_GUARD
#include <dlfcn.h>

struct ward__libc ward__real;

void
ward__real_init(void)
{
    if (ward__real.waitid != NULL)
        return;
    ward__real.waitpid = (pid_t (*)(pid_t, int *, int))dlsym(RTLD_NEXT, "waitpid");
    ward__real.wait4 = (pid_t (*)(pid_t, int *, int, struct rusage *))dlsym(RTLD_NEXT, "wait4");
    ward__real.sigaction = (int (*)(int, const struct sigaction *, struct sigaction *))
        dlsym(RTLD_NEXT, "sigaction");
    ward__real.waitid = (int (*)(idtype_t, id_t, siginfo_t *, int))dlsym(RTLD_NEXT, "waitid");
}
#else
struct ward__libc ward__real = {
    .waitid = waitid,
    .waitpid = waitpid,
#ifdef HAVE_WAIT4
    .wait4 = wait4,
#endif
    .sigaction = sigaction,
};

void
ward__real_init(void)
{
}
#endif

void
ward__reap_pid(pid_t pid)
{
    while (ward__real.waitpid(pid, NULL, 0) == -1 && errno == EINTR)
        ;
}

void
ward__kill_reap(pid_t pid)
{
    (void)kill(pid, SIGKILL);
    ward__reap_pid(pid);
}

int
ward__sleep_until_ended(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    if (ward__real.waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == -1 &&
        errno != ECHILD)
        return -1;
    return 0;
}

/* The same, for the backends, which see sys.h and not the table above. */
int
ward__real_waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
    return ward__real.waitid(idtype, id, info, options);
}

pid_t
ward__real_waitpid(pid_t pid, int *status, int options)
{
    return ward__real.waitpid(pid, status, options);
}

pid_t
ward__real_wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
    return ward__real.wait4(pid, status, options, ru);
}

int
ward__real_sigaction(int sig, const struct sigaction *sa, struct sigaction *old)
{
    return ward__real.sigaction(sig, sa, old);
}

int
ward__sigchld_install(void (*fn)(int, siginfo_t *, void *), struct sigaction *chained)
{
    struct sigaction sa, old;

    if (ward__real_sigaction(SIGCHLD, NULL, &old) == -1 || old.sa_handler == SIG_IGN ||
        (old.sa_flags & SA_NOCLDWAIT))
        return -1;
    /* Set before the handler can run: it chains to what it replaced. */
    *chained = old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = fn;
    /* On the program's alternate stack if it asked for one. */
    sa.sa_flags = SA_SIGINFO | SA_RESTART | (old.sa_flags & (SA_NOCLDSTOP | SA_ONSTACK));
    sigemptyset(&sa.sa_mask);
    return ward__real_sigaction(SIGCHLD, &sa, NULL);
}

int
ward__sigchld_chain(struct sigaction *chained, int sig, siginfo_t *si, void *ctx,
                    _Atomic int *ran)
{
    struct sigaction a = *chained;
    sigset_t old;

    if ((a.sa_flags & SA_SIGINFO) ? a.sa_sigaction == NULL
                                  : a.sa_handler == SIG_DFL || a.sa_handler == SIG_IGN)
        return 0;
    if (a.sa_flags & SA_RESETHAND) {
        /* The kernel would have put SIG_DFL back as it delivered the signal. */
        chained->sa_flags &= ~(SA_SIGINFO | SA_RESETHAND);
        chained->sa_handler = SIG_DFL;
    }
    /*
     * SIGCHLD itself is blocked already, as ward's handler has no
     * SA_NODEFER: a program's SA_NODEFER is the one thing not emulated.
     */
    if (ran != NULL)
        atomic_store(ran, 1);
    pthread_sigmask(SIG_BLOCK, &a.sa_mask, &old);
    if (a.sa_flags & SA_SIGINFO)
        a.sa_sigaction(sig, si, ctx);
    else
        a.sa_handler(sig);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 1;
}
