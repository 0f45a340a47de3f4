/*
 * platform/darwin/backend.c - the macOS backend: posix_spawn and kqueue.
 *
 * macOS has no process descriptor and no way to hide a child from waits for
 * "any child": privacy there rests on ward's wait family and the guard, as
 * with the posix backend.  What macOS adds is a way to keep the status.
 * Each child gets a status kqueue (see ../kqueue/kq.h) holding an
 * EVFILT_PROC knote with NOTE_EXIT | NOTE_EXITSTATUS, registered right
 * after the child is created while the spawn gate keeps it unreaped.  When
 * the child exits the kernel stores its wait status in the knote; reaping
 * the process, by ward or by a thief, only detaches the knote from the
 * process (proc_knote_drain() in XNU), it does not dequeue it.  So after a
 * theft ward reads the status from the knote.  The status kqueue is also
 * the handle's pidfd: poll(2) reports it ready once the child has ended,
 * and the events descriptor watches it with EVFILT_READ.
 *
 * Spawning uses posix_spawn(2), which creates the child in the kernel
 * without copying the parent and runs no code of ours in it:
 * POSIX_SPAWN_CLOEXEC_DEFAULT closes every descriptor the plan does not
 * name, adddup2 and addinherit_np put the named ones in place, addchdir_np
 * changes directory, POSIX_SPAWN_SETPGROUP and POSIX_SPAWN_SETSID make the
 * new group or session, and the signal attributes set the mask and the
 * dispositions.  posix_spawn cannot set a umask; a spawn that asks for one
 * (or for what this SDK or the running system lacks: addchdir_np and
 * POSIX_SPAWN_SETSID came with macOS 10.15) falls back to vfork() and the
 * core's ward__exec_child(), as the posix backend does.  A failed
 * posix_spawn leaves no zombie: the kernel reaps the half-made child
 * itself.
 *
 * Signals go through kill(), only while ward__lock proves the child
 * unreaped (the core guarantees that); reaping is wait4() by pid under
 * ward__lock.
 */
#include "backend.h"
#include "../kqueue/kq.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/types.h>
#include <sys/event.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int
darwin_init(void)
{
    return 0;
}

/*
 * WARD_MACOS_10_15 is true when the running system is macOS 10.15 or
 * later, which brought posix_spawn_file_actions_addchdir_np() and
 * POSIX_SPAWN_SETSID.  Built for an older deployment target, the function
 * is weak-linked and absent on an older system, and an older kernel ignores
 * the flag without an error: so ward asks, and uses neither before 10.15.
 * With clang the question is __builtin_available(), which the compiler
 * folds to 1 when the deployment target is 10.15 or later, and which is
 * the guard -Wunguarded-availability-new asks for around the call (so it
 * must stay an if's whole condition).  Another compiler has no run-time
 * check; there the deployment target alone decides.
 */
#if defined(__clang__)
#define WARD_MACOS_10_15 __builtin_available(macOS 10.15, *)
#elif defined(__ENVIRONMENT_MAC_OS_X_VERSION_MIN_REQUIRED__) &&             \
    __ENVIRONMENT_MAC_OS_X_VERSION_MIN_REQUIRED__ >= 101500
#define WARD_MACOS_10_15 1
#else
#define WARD_MACOS_10_15 0
#endif

static int
macos_10_15(void)
{
    if (WARD_MACOS_10_15)
        return 1;
    return 0;
}

/* Does the plan need something posix_spawn cannot do here? */
static int
needs_vfork(const struct ward__exec *ex)
{
    if (ex->set_umask)
        return 1;
#ifdef POSIX_SPAWN_SETSID
    if ((ex->flags & WARD_NEW_SESSION) && !macos_10_15())
        return 1;
#else
    if (ex->flags & WARD_NEW_SESSION)
        return 1;
#endif
#ifdef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCHDIR_NP
    if (ex->cwd != NULL && !macos_10_15())
        return 1;
#else
    if (ex->cwd != NULL)
        return 1;
#endif
    return 0;
}

/*
 * The descriptor plan as file actions.  A source that an earlier dup2 could
 * overwrite (a source numbered at most maxdst, not already in place) is
 * first copied above maxdst in the parent, close-on-exec, just as the core's
 * child side does; ex->src records where each source ended up (-1: an
 * optional source that is closed), and the copies are closed after the
 * spawn.  Returns 0 or an error number.
 */
static int
add_fd_actions(struct ward__exec *ex, posix_spawn_file_actions_t *fa)
{
    int err;

    for (size_t i = 0; i < ex->nfds; i++) {
        int src = ex->fds[i].src, dst = ex->fds[i].dst;

        ex->src[i] = -1;
        if (fcntl(src, F_GETFD) == -1) {
            if (ex->fds[i].optional && errno == EBADF)
                continue;
            return errno;
        }
        if (src != dst && src <= ex->maxdst) {
            src = fcntl(src, F_DUPFD_CLOEXEC, ex->maxdst + 1);
            if (src == -1)
                return errno;
        }
        ex->src[i] = src;
    }
    for (size_t i = 0; i < ex->nfds; i++) {
        int src = ex->src[i], dst = ex->fds[i].dst;

        if (src == -1)
            continue;
        /* In place: inherit_np also clears its close-on-exec flag. */
        err = src == dst ? posix_spawn_file_actions_addinherit_np(fa, dst)
                         : posix_spawn_file_actions_adddup2(fa, src, dst);
        if (err != 0)
            return err;
    }
    return 0;
}

static void
close_fd_copies(struct ward__exec *ex)
{
    for (size_t i = 0; i < ex->nfds; i++) {
        if (ex->src[i] != -1 && ex->src[i] != ex->fds[i].src)
            (void)close(ex->src[i]);
    }
}

static int
set_attrs(const struct ward__exec *ex, posix_spawnattr_t *sa)
{
    short flags = POSIX_SPAWN_SETSIGMASK;
    int err;

    if (!(ex->flags & WARD_INHERIT_FDS))
        flags |= POSIX_SPAWN_CLOEXEC_DEFAULT;
    if (ex->flags & WARD_NEW_PGROUP) {
        flags |= POSIX_SPAWN_SETPGROUP;
        if ((err = posix_spawnattr_setpgroup(sa, 0)) != 0)
            return err;
    }
#ifdef POSIX_SPAWN_SETSID
    if (ex->flags & WARD_NEW_SESSION)
        flags |= POSIX_SPAWN_SETSID;
#endif
    if (ex->flags & WARD_RESET_SIGNALS) {
        /*
         * Every disposition to SIG_DFL.  Caught signals become SIG_DFL at
         * exec anyway; this resets the ignored ones too.  The set names
         * only real, settable signals: XNU keeps the result of the last
         * one it sets.
         */
        sigset_t all;

        sigemptyset(&all);
        for (int sig = 1; sig < NSIG; sig++) {
            if (sig != SIGKILL && sig != SIGSTOP)
                sigaddset(&all, sig);
        }
        flags |= POSIX_SPAWN_SETSIGDEF;
        if ((err = posix_spawnattr_setsigdefault(sa, &all)) != 0)
            return err;
    }
    if ((err = posix_spawnattr_setsigmask(sa, &ex->mask)) != 0)
        return err;
    return posix_spawnattr_setflags(sa, flags);
}

/* posix_spawn each PATH candidate in turn.  Returns 0 or an error number. */
static int
start_posix_spawn(struct ward__exec *ex, pid_t *pidp)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t sa;
    int err, saw_eacces = 0;

    if ((err = posix_spawn_file_actions_init(&fa)) != 0)
        return err;
    if ((err = posix_spawnattr_init(&sa)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return err;
    }
    for (size_t i = 0; i < ex->nfds; i++)
        ex->src[i] = -1;
    if ((err = add_fd_actions(ex, &fa)) != 0 || (err = set_attrs(ex, &sa)) != 0)
        goto out;
#ifdef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCHDIR_NP
    /*
     * After the descriptors, as in ward__exec_child().  needs_vfork() sent
     * a plan with a directory to vfork() on a system without addchdir_np;
     * the guard is for the compiler, which must see the call guarded.
     */
    if (ex->cwd != NULL) {
        if (WARD_MACOS_10_15)
            err = posix_spawn_file_actions_addchdir_np(&fa, ex->cwd);
        else
            err = ENOSYS;
        if (err != 0)
            goto out;
    }
#endif
    err = ENOENT;
    for (size_t i = 0; i < ex->npaths; i++) {
        /*
         * A failed file action (the chdir, say) is reported like a failed
         * exec, so a PATH search may try the next candidate after one; the
         * error it finally reports is the same.
         */
        err = posix_spawn(pidp, ex->paths[i], &fa, &sa, ex->argv, ex->envp);
        if (err == 0 || ex->npaths == 1 || !ward__exec_retryable(err))
            break;
        saw_eacces |= err == EACCES;
    }
    if (err != 0 && ex->npaths > 1 && saw_eacces && ward__exec_retryable(err))
        err = EACCES;
out:
    close_fd_copies(ex);
    posix_spawnattr_destroy(&sa);
    posix_spawn_file_actions_destroy(&fa);
    return err;
}

/* The fallback: the core's child side after vfork().  0 or an error number. */
static int
start_vfork(struct ward__exec *ex, pid_t *pidp)
{
    pid_t pid = ward__vfork_exec(ex, NULL);

    if (pid == -1)
        return errno;
    *pidp = pid;
    return 0;
}

static int
darwin_spawn(struct ward__exec *ex, pid_t *pidp, int *pidfdp)
{
    pid_t pid;
    int kq, err;

    /* The status kqueue comes first: once a child exists, little may fail. */
    if ((kq = ward__kq_create()) == -1)
        return -1;
    err = needs_vfork(ex) ? start_vfork(ex, &pid) : start_posix_spawn(ex, &pid);
    if (err != 0) {
        (void)close(kq);
        errno = err;
        return -1;
    }
    if (ward__kq_watch_pid(kq, pid) == -1) {
        /* Unwatched, its status could be stolen for good: undo the spawn. */
        err = errno;
        ward__kill_reap(pid);
        (void)close(kq);
        errno = err;
        return -1;
    }
    *pidp = pid;
    *pidfdp = kq;
    return 0;
}

static int
darwin_reap(struct ward__pidref *c, int *status, struct ward__usage *usage)
{
    struct rusage ru;
    pid_t r;
    int st;

    r = ward__real_wait4(c->pid, &st, WNOHANG, &ru);
    if (r <= 0)
        return (int)r;
    *status = st;
    ward__usage_from_rusage(usage, &ru);
    return 1;
}

static int
darwin_recover(struct ward__pidref *c, int *status)
{
    return ward__kq_pid_status(c->fd, status);
}

/* Called under ward__lock while c is unreaped: the pid is still c's. */
static int
darwin_signal(struct ward__pidref *c, int sig)
{
    return kill(c->pid, sig);
}

static int
darwin_events_open(void)
{
    return ward__kq_events_open();
}

static int
darwin_watch(struct ward__pidref *c)
{
    if (ward__kq_events_add(c->fd, EVFILT_READ, 0, c->pid) == -1)
        return -1;
    return 1;
}

static void
darwin_unwatch(struct ward__pidref *c)
{
    (void)ward__kq_events_del(c->fd, EVFILT_READ);
}

static int
darwin_events_drain(pid_t *pids, int max, int *scan_all)
{
    return ward__kq_events_drain(pids, max, scan_all);
}

static void
darwin_forget(struct ward__pidref *c, int inherited)
{
    /*
     * A kqueue is not inherited across fork(): in the child of a fork (an
     * inherited handle) the number may already be someone else's.
     */
    if (c->fd != -1 && !inherited)
        (void)close(c->fd);
    c->fd = -1;
}

static void
darwin_atfork_child(void)
{
    ward__kq_atfork_child();
}

const struct ward__backend ward__darwin_backend = {
    .name = "darwin",
    .init = darwin_init,
    .spawn = darwin_spawn,
    .adopt = ward__kq_adopt,
    .reap = darwin_reap,
    .recover = darwin_recover,
    .block = ward__kq_block,
    .signal = darwin_signal,
    .forget = darwin_forget,
    .events_open = darwin_events_open,
    .watch = darwin_watch,
    .unwatch = darwin_unwatch,
    .events_drain = darwin_events_drain,
    .atfork_child = darwin_atfork_child,
};
