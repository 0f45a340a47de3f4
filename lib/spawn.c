/*
 * spawn.c - ward_spawn(): everything the parent prepares, and the child
 * side that runs between the vfork-style clone and execve().
 *
 * The child shares the parent's memory until it execs, so it may only make
 * async-signal-safe calls, must not allocate, must not take locks, and must
 * not write to any memory the parent reads afterwards except ex->err.  All
 * the work that needs memory (the environment, the PATH candidates, the
 * descriptor plan) is done here in the parent first.
 */
#include "attr.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

/* ---- child side -------------------------------------------------------- */

static WARD_CHILD_CODE void
close_range_fallback(int lo, int hi)
{
    for (int fd = lo; fd <= hi; fd++)
        (void)close(fd);
}

/* Close descriptors lo..hi (hi < 0: to the end).  Async-signal-safe. */
static WARD_CHILD_CODE void
close_span(int lo, int hi)
{
    if (hi >= 0 && hi < lo)
        return;
#ifdef HAVE_CLOSE_RANGE
    if (close_range((unsigned int)lo, hi < 0 ? ~0u : (unsigned int)hi, 0) == 0)
        return;
#endif
    if (hi < 0) {
#ifdef HAVE_CLOSEFROM
        closefrom(lo);
        return;
#else
        long max = sysconf(_SC_OPEN_MAX);
        hi = max > 0 && max < INT_MAX ? (int)max - 1 : 65535;
#endif
    }
    close_range_fallback(lo, hi);
}

void
ward__close_from(int lowfd)
{
    close_span(lowfd, -1);
}

/* Never treat an errno of 0 as success. */
static WARD_CHILD_CODE void __attribute__((noreturn))
child_fail(struct ward__exec *ex, int err)
{
    ex->err = err != 0 ? err : EIO;
    _exit(127);
}

/*
 * Every signal is blocked in the child.  Handlers the parent installed must
 * not run in it (it shares the parent's memory), so they become SIG_DFL
 * before any signal is unblocked; ignored signals stay ignored unless
 * WARD_RESET_SIGNALS asked for a clean slate.  Where the backend made the
 * child with CLONE_CLEAR_SIGHAND the kernel has done the first part, and
 * only WARD_RESET_SIGNALS needs the loop.
 */
static WARD_CHILD_CODE void
reset_handlers(const struct ward__exec *ex)
{
    int reset_all = (ex->flags & WARD_RESET_SIGNALS) != 0;
    struct sigaction sa;

    if (ex->handlers_clear && !reset_all)
        return;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction old;

        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        if (!reset_all && (ward__real.sigaction(sig, NULL, &old) != 0 ||
                           old.sa_handler == SIG_IGN || old.sa_handler == SIG_DFL))
            continue;
        (void)ward__real.sigaction(sig, &sa, NULL);
    }
}

WARD_CHILD_CODE void
ward__exec_child(struct ward__exec *ex)
{
    int err = ENOENT, saw_eacces = 0;

    reset_handlers(ex);

    if ((ex->flags & WARD_NEW_SESSION) && setsid() == -1)
        child_fail(ex, errno);
    if ((ex->flags & WARD_NEW_PGROUP) && setpgid(0, 0) == -1)
        child_fail(ex, errno);

    /*
     * Descriptors.  First move every source that a later dup2() could
     * overwrite above the highest target (close-on-exec, so the copies vanish
     * at exec); then put each source in place.  ex->src is scratch memory the
     * parent set aside for this, since ex->fds must stay as the parent wrote
     * it.
     */
    for (size_t i = 0; i < ex->nfds; i++) {
        int src = ex->fds[i].src;

        ex->src[i] = src;
        if (src == -1 || src == ex->fds[i].dst || src > ex->maxdst)
            continue;
        ex->src[i] = fcntl(src, F_DUPFD_CLOEXEC, ex->maxdst + 1);
        if (ex->src[i] == -1) {
            if (!(ex->fds[i].optional && errno == EBADF))
                child_fail(ex, errno);
        }
    }
    for (size_t i = 0; i < ex->nfds; i++) {
        int src = ex->src[i], dst = ex->fds[i].dst;

        if (src == -1) {
            /*
             * The caller had no descriptor dst when it called ward_spawn():
             * whatever the child's table holds there now is not the
             * caller's (the child's own pidfd, which CLONE_PIDFD puts at the
             * lowest free number of a table the child shares, or another
             * thread's new descriptor), and the child must not get it.  No
             * source is left at a stdio number but its own (see above).
             */
            if (ex->fds[i].src == -1)
                (void)close(dst);
            continue;
        }
        if (src == dst) {
            /*
             * The parent looked at the flags (build_fds()), so the child
             * needs a system call only to clear FD_CLOEXEC.  EBADF: closed
             * since, by another thread of the caller's.
             */
            if (ex->fds[i].cloexec && fcntl(src, F_SETFD, 0) == -1 &&
                !(ex->fds[i].optional && errno == EBADF))
                child_fail(ex, errno);
        } else if (dup2(src, dst) == -1) {
            child_fail(ex, errno);
        }
    }
    if (!(ex->flags & WARD_INHERIT_FDS)) {
        /* ex->dsts is sorted; close the gaps between targets, then the rest. */
        int prev = 2;

        for (size_t i = 0; i < ex->nfds; i++) {
            if (ex->dsts[i] <= prev)
                continue;
            close_span(prev + 1, ex->dsts[i] - 1);
            prev = ex->dsts[i];
        }
        /* Nothing left up there once the backend trimmed the table. */
        if (!ex->trimmed || prev + 1 < ex->keep_below)
            close_span(prev + 1, -1);
    }

    if (ex->set_umask)
        (void)umask(ex->umask);
    if (ex->cwd != NULL && chdir(ex->cwd) == -1)
        child_fail(ex, errno);

    if (ex->masked || (ex->flags & WARD_RESET_SIGNALS))
        (void)sigprocmask(SIG_SETMASK, &ex->mask, NULL);

    /*
     * Try each candidate as execvp() does: a missing file moves on to the
     * next, a permission error is remembered, anything else is final.  Unlike
     * execvp(), ENOEXEC is reported, never retried through /bin/sh.
     */
    for (size_t i = 0; i < ex->npaths; i++) {
        execve(ex->paths[i], ex->argv, ex->envp);
        err = errno;
        if (ex->npaths == 1 || !ward__exec_retryable(err))
            break;
        saw_eacces |= err == EACCES;
    }
    if (ex->npaths > 1 && saw_eacces && ward__exec_retryable(err))
        err = EACCES;
    child_fail(ex, err);
}

pid_t
ward__vfork_exec(struct ward__exec *ex, void (*first)(struct ward__exec *ex))
{
    pid_t pid;

    ex->err = 0;
    WARD_VFORK_BEGIN
    pid = vfork();
    WARD_VFORK_END
    if (pid == 0) {
        if (first != NULL)
            first(ex);
        ward__exec_child(ex);
    }
    if (pid == -1)
        return -1;
    if (ex->err != 0) {
        /* The child failed before exec and has exited: reap it now. */
        int err = ex->err;

        ward__reap_pid(pid);
        errno = err;
        return -1;
    }
    return pid;
}

/* ---- parent side ------------------------------------------------------- */

#define PLAN_SMALL_FDS 11

struct plan {
    struct ward__exec ex;
    char **envp_alloc;   /* built environment, or NULL when environ is used */
    char **paths_alloc;  /* PATH candidates, or NULL for a single path */
    char *one_path[1];
    int close_after[3];  /* child ends and /dev/null copies to close */
    int parent_end[3];   /* parent ends of pipes */
    void *scratch;       /* fds, src and dsts arrays, when they did not fit in */
    /* ... this, which holds them for the stdio and a few mapped descriptors. */
    union {
        struct ward__fdmap align;
        char bytes[PLAN_SMALL_FDS * (sizeof(struct ward__fdmap) + 2 * sizeof(int))];
    } small;
};

static const char *
env_lookup(char *const *envp, const char *name)
{
    size_t n = strlen(name);

    for (; envp != NULL && *envp != NULL; envp++) {
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    }
    return NULL;
}

/* Apply the attribute's edits to the base environment. */
static int
build_env(struct plan *p, const ward_attr *a)
{
    char *const *base = a != NULL && a->replace_env ? a->env : environ;
    size_t nbase = 0, n = 0;
    char **envp;

    if (a == NULL || a->nedits == 0) {
        p->ex.envp = base;
        return 0;
    }
    while (base != NULL && base[nbase] != NULL)
        nbase++;
    envp = malloc((nbase + a->nedits + 1) * sizeof(*envp));
    if (envp == NULL)
        return -1;
    for (size_t i = 0; i < nbase; i++) {
        size_t len = ward__env_namelen(base[i]);
        int edited = 0;

        for (size_t j = 0; j < a->nedits && !edited; j++)
            edited = ward__env_namelen(a->edits[j]) == len &&
                     memcmp(a->edits[j], base[i], len) == 0;
        if (!edited)
            envp[n++] = base[i];
    }
    for (size_t j = 0; j < a->nedits; j++) {
        if (strchr(a->edits[j], '=') != NULL)
            envp[n++] = a->edits[j];
    }
    envp[n] = NULL;
    p->envp_alloc = envp;
    p->ex.envp = envp;
    return 0;
}

/* The PATH search: a list of candidates the child tries in order. */
static int
build_paths(struct plan *p, const char *file)
{
    const char *path, *s;
    size_t flen = strlen(file), ndirs = 1, total = 0;
    char **v, *buf;

    if (file[0] == '\0') {
        errno = ENOENT;
        return -1;
    }
    if (strchr(file, '/') != NULL) {
        p->one_path[0] = (char *)file;
        p->ex.paths = p->one_path;
        p->ex.npaths = 1;
        return 0;
    }
    if (flen > NAME_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    path = env_lookup(p->ex.envp, "PATH");
    if (path == NULL)
        path = getenv("PATH");
    if (path == NULL)
        path = "/bin:/usr/bin";
    for (s = path; *s != '\0'; s++)
        ndirs += *s == ':';
    total = strlen(path) + ndirs * (flen + 3);
    v = malloc(ndirs * sizeof(*v) + total);
    if (v == NULL)
        return -1;
    buf = (char *)(v + ndirs);
    for (size_t i = 0; i < ndirs; i++) {
        const char *end = strchr(path, ':');
        size_t dlen = end != NULL ? (size_t)(end - path) : strlen(path);

        /* An empty element means the current directory, as in execvp(). */
        v[i] = buf;
        if (dlen == 0) {
            *buf++ = '.';
        } else {
            memcpy(buf, path, dlen);
            buf += dlen;
        }
        *buf++ = '/';
        memcpy(buf, file, flen + 1);
        buf += flen + 1;
        path = end != NULL ? end + 1 : path + dlen;
    }
    p->paths_alloc = v;
    p->ex.paths = v;
    p->ex.npaths = ndirs;
    return 0;
}

/*
 * pipe2(O_CLOEXEC | flags) where the system has it.  Elsewhere (macOS) the
 * flags are set just after pipe(): a fork() and exec in another thread in
 * between could carry the pipe into that program.
 */
int
ward__pipe(int p[2], int flags)
{
#ifdef HAVE_PIPE2
    return pipe2(p, O_CLOEXEC | flags);
#else
    if (pipe(p) == -1)
        return -1;
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(p[i], F_GETFL);

        if (fcntl(p[i], F_SETFD, FD_CLOEXEC) == -1 || fl == -1 ||
            fcntl(p[i], F_SETFL, fl | flags) == -1) {
            WARD__KEEP_ERRNO(close(p[0]); close(p[1]));
            return -1;
        }
    }
    return 0;
#endif
}

/*
 * A descriptor ward creates must not take the number 0, 1 or 2 when the
 * caller has closed those: a child that inherits its stdio would then get
 * ward's descriptor in its place.  Moves fd above 2, close-on-exec; -1 with
 * errno (fd closed) on failure.
 */
int
ward__fd_above_stdio(int fd)
{
    int moved;

    if (fd < 0 || fd > 2)
        return fd;
    moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    WARD__KEEP_ERRNO(close(fd));
    return moved;
}

/*
 * A source the caller named must be open now (-1/EBADF otherwise); its
 * FD_CLOEXEC flag is noted for the child, which must clear it on a
 * descriptor that stays at its own number.
 */
static int
note_source(struct ward__fdmap *m)
{
    int fl = fcntl(m->src, F_GETFD);

    if (fl == -1 && errno == EBADF)
        return -1;
    m->cloexec = fl == -1 || (fl & FD_CLOEXEC);
    return 0;
}

static int
cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

/* Open pipes and /dev/null and lay out what the child dup2()s where. */
static int
build_fds(struct plan *p, const ward_attr *a)
{
    size_t nmaps = a != NULL ? a->nmaps : 0, n = 3 + nmaps;
    struct ward__fdmap *fds;
    char *mem;

    if (n <= PLAN_SMALL_FDS) {
        mem = p->small.bytes;
    } else {
        if ((mem = malloc(n * (sizeof(*fds) + 2 * sizeof(int)))) == NULL)
            return -1;
        p->scratch = mem;
    }
    fds = (struct ward__fdmap *)mem;
    p->ex.fds = fds;
    p->ex.src = (int *)(fds + n);
    p->ex.dsts = p->ex.src + n;
    p->ex.nfds = n;
    p->ex.maxdst = 2;

    for (int i = 0; i < 3; i++) {
        int mode = a != NULL ? a->stdio[i].mode : WARD_STDIO_INHERIT;
        int pfd[2];

        fds[i].dst = i;
        fds[i].optional = 0;
        fds[i].cloexec = 0;
        switch (mode) {
        case WARD_STDIO_INHERIT: {
            /*
             * Looked at here, in the parent, not in the child: a number the
             * caller has closed may hold, by the time the child runs,
             * something that is not the caller's (on Linux the child's own
             * pidfd, put at the lowest free number by the clone itself), so
             * the child is told to close it (src -1).  The child then
             * needs no F_GETFD of its own: the cost stays the same.
             */
            int fl = fcntl(i, F_GETFD);

            fds[i].src = fl == -1 ? -1 : i;
            fds[i].cloexec = fl != -1 && (fl & FD_CLOEXEC);
            fds[i].optional = 1;
            break;
        }
        case WARD_STDIO_NULL:
            fds[i].src = ward__fd_above_stdio(
                open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC | O_NOCTTY));
            if (fds[i].src == -1)
                return -1;
            p->close_after[i] = fds[i].src;
            break;
        case WARD_STDIO_PIPE:
            if (ward__pipe(pfd, 0) == -1)
                return -1;
            pfd[0] = ward__fd_above_stdio(pfd[0]);
            pfd[1] = ward__fd_above_stdio(pfd[1]);
            if (pfd[0] == -1 || pfd[1] == -1) {
                WARD__KEEP_ERRNO(if (pfd[0] != -1) close(pfd[0]);
                                 if (pfd[1] != -1) close(pfd[1]));
                return -1;
            }
            fds[i].src = i == 0 ? pfd[0] : pfd[1];
            p->close_after[i] = fds[i].src;
            p->parent_end[i] = i == 0 ? pfd[1] : pfd[0];
            break;
        default: /* WARD_STDIO_FD */
            fds[i].src = a->stdio[i].fd;
            if (note_source(&fds[i]) == -1)
                return -1;
            break;
        }
    }
    for (size_t i = 0; i < nmaps; i++) {
        fds[3 + i] = a->maps[i];
        if (note_source(&fds[3 + i]) == -1)
            return -1;
        if (fds[3 + i].dst > p->ex.maxdst)
            p->ex.maxdst = fds[3 + i].dst;
    }
    p->ex.keep_below = p->ex.maxdst + 1;
    for (size_t i = 0; i < n; i++) {
        p->ex.dsts[i] = fds[i].dst;
        if (fds[i].src >= p->ex.keep_below)
            p->ex.keep_below = fds[i].src + 1;
    }
    if (n > PLAN_SMALL_FDS) {
        qsort(p->ex.dsts, n, sizeof(int), cmp_int);
        return 0;
    }
    /* A handful of numbers, mostly in order already: sorted by insertion. */
    for (size_t i = 1; i < n; i++) {
        int v = p->ex.dsts[i];
        size_t j = i;

        for (; j > 0 && p->ex.dsts[j - 1] > v; j--)
            p->ex.dsts[j] = p->ex.dsts[j - 1];
        p->ex.dsts[j] = v;
    }
    return 0;
}

static void
plan_release(struct plan *p, int keep_parent_ends)
{
    for (int i = 0; i < 3; i++) {
        if (p->close_after[i] != -1)
            (void)close(p->close_after[i]);
        if (!keep_parent_ends && p->parent_end[i] != -1)
            (void)close(p->parent_end[i]);
    }
    free(p->envp_alloc);
    free(p->paths_alloc);
    free(p->scratch);
}

ward_child *
ward_spawn(const char *file, char *const argv[], const ward_attr *a)
{
    struct plan p;
    ward_child *c = NULL;
    sigset_t all, old;
    pid_t pid;
    int pidfd = -1, rc, masked;

    if (argv == NULL || argv[0] == NULL) {
        errno = EINVAL;
        return NULL;
    }
    if (ward__init() == -1)
        return NULL;
    ward__bury();
    memset(&p, 0, sizeof(p));
    for (int i = 0; i < 3; i++)
        p.close_after[i] = p.parent_end[i] = -1;
    p.ex.argv = argv;
    p.ex.cwd = a != NULL ? a->cwd : NULL;
    p.ex.flags = a != NULL ? a->flags : 0;
    p.ex.umask = a != NULL ? a->umask : 0;
    p.ex.set_umask = a != NULL && a->set_umask;
    /* Only a child that is to die with its parent checks who that is. */
    p.ex.parent = (p.ex.flags & WARD_DIE_WITH_PARENT) ? getpid() : 0;

    /* The handle comes first: once a child exists, nothing may fail. */
    if ((c = ward__child_new(-1, -1, p.ex.flags)) == NULL)
        goto fail;
    ward__lock();
    c->slot = ward__slot_alloc();
    ward__unlock();
    if (c->slot == NULL)
        goto fail;
    if (build_env(&p, a) == -1 || build_paths(&p, file != NULL ? file : argv[0]) == -1 ||
        build_fds(&p, a) == -1)
        goto fail;

    /*
     * Every signal is blocked around the birth where a handler of the
     * program's could otherwise run in the child, which shares this
     * process's memory until it execs, and, in libward-guard, so that the
     * guard's handler and a wait in a handler of the program's see the
     * birth as one step.  Where the backend makes children in which no
     * handler can run (Linux: clone3 with CLONE_CLEAR_SIGHAND), and outside
     * the guard, the caller's mask is left alone: two system calls fewer
     * here and one in the child, on every spawn.
     *
     * A handler may then run in this thread while it holds the spawn gate
     * shared, and ward__lock for a moment after the birth.  A wait for any
     * child made in it (a SIGCHLD handler's ward_waitpid(-1), as
     * ward_waitpid(3) tells such handlers to) sees ward__masked and answers
     * without either lock, the way a wait in a handler does under the
     * guard (lib/waitany.c); what it cannot tell yet, this very birth, is
     * re-raised as SIGCHLD once the birth is over (ward__reraise_flush()
     * below).  Tests: spawn::sigchld_handler_waiting_for_any_child_during_a_spawn,
     * spawn::signals_at_the_spawning_thread_fail_no_spawn.
     */
#ifdef WARD_GUARD
    masked = 1;
#else
    masked = ward__be->spawn_unmasked == NULL || !ward__be->spawn_unmasked();
#endif
    if (masked) {
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
    }
    ward__masked++;
    p.ex.masked = masked;
    if (p.ex.flags & WARD_RESET_SIGNALS)
        sigemptyset(&p.ex.mask);
    else if (masked)
        p.ex.mask = old;

    pthread_rwlock_rdlock(&ward__gate);
    ward__reap_orphans_unlocked();
    ward__birth_begin();
    rc = ward__be->spawn(&p.ex, &pid, &pidfd);
    if (rc == 0) {
        c->ref.pid = pid;
        c->ref.fd = pidfd;
        c->ref.autoreap = p.ex.autoreaped != 0;
        /* Not in the table yet: no other thread can reach c. */
        if (ward__be->note != NULL)
            ward__be->note(&c->ref);
        ward__lock();
        if (c->ref.autoreap) {
            /*
             * No SIGCHLD comes for it and no wait sees it, so the guard's
             * handler has nothing to claim; a published pid would even
             * make it claim a stranger once the kernel has reaped the
             * child and the pid is reused.
             */
            ward__slot_release(c->slot);
            c->slot = NULL;
            atomic_fetch_add(&ward__autoreaped, 1);
        } else {
            ward__slot_publish(c->slot, pid);
        }
        ward__table_insert(c);
        ward__watch_new(c);
        ward__unlock();
    }
    WARD__KEEP_ERRNO(ward__birth_end());
    pthread_rwlock_unlock(&ward__gate);
    if (masked)
        WARD__KEEP_ERRNO(pthread_sigmask(SIG_SETMASK, &old, NULL));
    ward__masked--;
    WARD__KEEP_ERRNO(ward__reraise_flush());
    if (rc == -1)
        goto fail;

    for (int i = 0; i < 3; i++)
        c->stdio[i] = p.parent_end[i];
    plan_release(&p, 1);
    return c;

fail:
    if (c != NULL && c->slot != NULL) {
        ward__lock();
        ward__slot_release(c->slot);
        ward__unlock();
    }
    WARD__KEEP_ERRNO(plan_release(&p, 0); free(c));
    return NULL;
}
