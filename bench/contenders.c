/*
 * bench/contenders.c - the same work done through each contender: start the
 * static child with a given stdin and stdout, and wait for it to end.
 *
 * Every contender is written the way its documentation says to use it, with
 * the least extra work: no contender gets an attribute object, a pipe or a
 * file action it does not need for the scenario at hand.  Per-child records
 * come from a static pool, not from malloc(), so that the heap measured in
 * scenario 6 is the library's own.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char **environ;

char bench_errmsg[256];

static void
set_err(int err, const char *what)
{
    snprintf(bench_errmsg, sizeof(bench_errmsg), "%s: %s", what, strerror(err));
    errno = err;
}

/* ---- the record pool ----------------------------------------------------- */

static struct rec pool[MAXREC];
static struct rec *free_recs;

void
rec_pool_init(void)
{
    /* Touch the whole pool now, so no page fault lands in a timed loop. */
    memset(pool, 0, sizeof(pool));
    for (size_t i = MAXREC; i-- > 0;) {
        pool[i].next_free = free_recs;
        free_recs = &pool[i];
    }
}

static struct rec *
rec_get(void)
{
    struct rec *r = free_recs;

    if (r == NULL) {
        set_err(ENOMEM, "record pool");
        return NULL;
    }
    free_recs = r->next_free;
    r->next_free = NULL;
    r->pid = -1;
    r->pidfd = -1;
    r->done = r->closed = 0;
    r->status = -1;
    r->t_done = 0;
    r->wc = NULL;
    return r;
}

static void
rec_put(struct rec *r)
{
    r->next_free = free_recs;
    free_recs = r;
}

/* Every child of the bench exits 0; anything else means a broken setup. */
static int
finish(struct rec *r, uint64_t *t_done)
{
    int st = r->status;

    if (t_done != NULL)
        *t_done = r->t_done;
    rec_put(r);
    if (st != 0) {
        snprintf(bench_errmsg, sizeof(bench_errmsg),
                 "child ended with wait status 0x%x", st);
        errno = EPROTO;
        return -1;
    }
    return 0;
}

static int
status_from_siginfo(const siginfo_t *si)
{
    return si->si_code == CLD_EXITED ? (si->si_status & 0xff) << 8
                                     : si->si_status & 0x7f;
}

/* ---- the kernel floor --------------------------------------------------- */

/*
 * clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD) on a stack allocated once,
 * execve(), waitid(P_PIDFD): the least the kernel lets anyone do.  No
 * signal hygiene, no descriptor hygiene, no exec error reporting.
 */
static char floor_stack[128 * 1024] __attribute__((aligned(64)));

struct floor_arg {
    char *const *argv;
    int in, out;
};

static int
floor_main(void *p)
{
    struct floor_arg *a = p;

    if (a->in >= 0 && dup2(a->in, 0) == -1)
        _exit(126);
    if (a->out >= 0 && dup2(a->out, 1) == -1)
        _exit(126);
    execve(a->argv[0], a->argv, environ);
    _exit(127);
}

static int
floor_init(void)
{
    return 0;
}

static struct rec *
floor_spawn(char *const argv[], int in, int out)
{
    struct floor_arg a = { argv, in, out };
    struct rec *r = rec_get();
    int pidfd = -1;
    pid_t pid;

    if (r == NULL)
        return NULL;
    pid = clone(floor_main, floor_stack + sizeof(floor_stack),
                CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &a, &pidfd);
    if (pid == -1) {
        set_err(errno, "clone");
        rec_put(r);
        return NULL;
    }
    r->pid = pid;
    r->pidfd = pidfd;
    return r;
}

static int
floor_reap(struct rec *r, uint64_t *t_done)
{
    siginfo_t si;
    int rc;

    memset(&si, 0, sizeof(si));
    while ((rc = waitid((idtype_t)P_PIDFD, (id_t)r->pidfd, &si, WEXITED)) == -1 &&
           errno == EINTR)
        ;
    r->t_done = now_ns();
    if (rc == -1) {
        set_err(errno, "waitid");
        return -1;
    }
    r->status = status_from_siginfo(&si);
    close(r->pidfd);
    return finish(r, t_done);
}

/* ---- ward --------------------------------------------------------------- */

/*
 * The plain spawn passes no attributes at all (the defaults are what the
 * other contenders do); an attribute object is made only for the stdin or
 * stdout that the idle and stamp children need, and kept across spawns, as
 * a program that starts many alike would.
 */
static ward_attr *wattr;
static int wattr_in = -2, wattr_out = -2;
static const char *ward_want;

static const ward_attr *
ward_attr_for(int in, int out)
{
    if (in < 0 && out < 0)
        return NULL;
    if (wattr != NULL && wattr_in == in && wattr_out == out)
        return wattr;
    ward_attr_free(wattr);
    if ((wattr = ward_attr_new()) == NULL)
        return NULL;
    if ((in >= 0 && ward_attr_setstdio(wattr, 0, WARD_STDIO_FD, in) == -1) ||
        (out >= 0 && ward_attr_setstdio(wattr, 1, WARD_STDIO_FD, out) == -1))
        return NULL;
    wattr_in = in;
    wattr_out = out;
    return wattr;
}

static int
ward_check_backend(const char *want)
{
    const char *be = ward_backend();

    if (be == NULL) {
        set_err(errno, "ward_backend");
        return -1;
    }
    if (strcmp(be, want) != 0) {
        snprintf(bench_errmsg, sizeof(bench_errmsg),
                 "ward chose the %s backend, not %s", be, want);
        errno = ENOSYS;
        return -1;
    }
    ward_want = want;
    return 0;
}

static int
ward_linux_init(void)
{
    return ward_check_backend("linux");
}

static int
ward_posix_init(void)
{
    return ward_check_backend("posix");
}

static struct rec *
ward_spawn_one(char *const argv[], int in, int out)
{
    const ward_attr *a = ward_attr_for(in, out);
    struct rec *r;

    if (a == NULL && (in >= 0 || out >= 0)) {
        set_err(errno, "ward_attr");
        return NULL;
    }
    if ((r = rec_get()) == NULL)
        return NULL;
    if ((r->wc = ward_spawn(argv[0], argv, a)) == NULL) {
        set_err(errno, "ward_spawn");
        rec_put(r);
        return NULL;
    }
    r->pid = ward_pid(r->wc);
    return r;
}

static int
ward_reap(struct rec *r, uint64_t *t_done)
{
    int st, rc;

    while ((rc = ward_wait(r->wc, &st)) == -1 && errno == EINTR)
        ;
    r->t_done = now_ns();
    if (rc == -1) {
        set_err(errno, "ward_wait");
        return -1;
    }
    r->status = st;
    ward_free(r->wc);
    return finish(r, t_done);
}

/* ward in an event loop: ward_events_fd() + poll() + ward_dispatch(). */
static int wev_fd = -1;

static void
wev_exit(ward_child *c, int status, void *data)
{
    struct rec *r = data;

    r->t_done = now_ns();
    r->status = status;
    r->done = 1;
    ward_free(c);
    r->wc = NULL;
}

static int
wev_init(void)
{
    if ((wev_fd = ward_events_fd()) == -1) {
        set_err(errno, "ward_events_fd");
        return -1;
    }
    return 0;
}

static int
ward_ev_linux_init(void)
{
    return ward_linux_init() == -1 ? -1 : wev_init();
}

static int
ward_ev_posix_init(void)
{
    return ward_posix_init() == -1 ? -1 : wev_init();
}

static struct rec *
wev_spawn(char *const argv[], int in, int out)
{
    struct rec *r = ward_spawn_one(argv, in, out);

    if (r != NULL && ward_setcallback(r->wc, wev_exit, r) == -1) {
        set_err(errno, "ward_setcallback");
        return NULL;
    }
    return r;
}

static int
wev_reap(struct rec *r, uint64_t *t_done)
{
    while (!r->done) {
        struct pollfd p = { .fd = wev_fd, .events = POLLIN };

        if (poll(&p, 1, -1) == -1 && errno != EINTR) {
            set_err(errno, "poll");
            return -1;
        }
        if (ward_dispatch() == -1) {
            set_err(errno, "ward_dispatch");
            return -1;
        }
    }
    return finish(r, t_done);
}

/* ---- posix_spawn + waitpid ---------------------------------------------- */

static int
plain_init(void)
{
    return 0;
}

static struct rec *
pspawn_spawn(char *const argv[], int in, int out)
{
    posix_spawn_file_actions_t fa, *fap = NULL;
    struct rec *r = rec_get();
    pid_t pid;
    int e;

    if (r == NULL)
        return NULL;
    if (in >= 0 || out >= 0) {
        posix_spawn_file_actions_init(&fa);
        if (in >= 0)
            posix_spawn_file_actions_adddup2(&fa, in, 0);
        if (out >= 0)
            posix_spawn_file_actions_adddup2(&fa, out, 1);
        fap = &fa;
    }
    e = posix_spawn(&pid, argv[0], fap, NULL, argv, environ);
    if (fap != NULL)
        posix_spawn_file_actions_destroy(fap);
    if (e != 0) {
        set_err(e, "posix_spawn");
        rec_put(r);
        return NULL;
    }
    r->pid = pid;
    return r;
}

static int
waitpid_reap(struct rec *r, uint64_t *t_done)
{
    int st;
    pid_t p;

    while ((p = waitpid(r->pid, &st, 0)) == -1 && errno == EINTR)
        ;
    r->t_done = now_ns();
    if (p == -1) {
        set_err(errno, "waitpid");
        return -1;
    }
    r->status = st;
    return finish(r, t_done);
}

/* ---- fork + execve + waitpid -------------------------------------------- */

static struct rec *
fork_spawn(char *const argv[], int in, int out)
{
    struct rec *r = rec_get();
    pid_t pid;

    if (r == NULL)
        return NULL;
    pid = fork();
    if (pid == 0) {
        if (in >= 0 && dup2(in, 0) == -1)
            _exit(126);
        if (out >= 0 && dup2(out, 1) == -1)
            _exit(126);
        execve(argv[0], argv, environ);
        _exit(127);
    }
    if (pid == -1) {
        set_err(errno, "fork");
        rec_put(r);
        return NULL;
    }
    r->pid = pid;
    return r;
}

/* ---- libuv -------------------------------------------------------------- */

#ifdef HAVE_UV
static uv_loop_t *uvl;

static int
uv_init_c(void)
{
    uvl = uv_default_loop();
    return uvl == NULL ? (set_err(ENOMEM, "uv_default_loop"), -1) : 0;
}

static void
uv_closed(uv_handle_t *h)
{
    ((struct rec *)h->data)->closed = 1;
}

static void
uv_exited(uv_process_t *p, int64_t exit_status, int term_signal)
{
    struct rec *r = p->data;

    r->t_done = now_ns();
    r->status = term_signal != 0 ? term_signal : (int)(exit_status & 0xff) << 8;
    r->done = 1;
    uv_close((uv_handle_t *)p, uv_closed);
}

static struct rec *
uv_spawn_one(char *const argv[], int in, int out)
{
    uv_process_options_t o;
    uv_stdio_container_t st[3];
    struct rec *r = rec_get();
    int e;

    if (r == NULL)
        return NULL;
    memset(&o, 0, sizeof(o));
    for (int i = 0; i < 3; i++) {
        st[i].flags = UV_INHERIT_FD;
        st[i].data.fd = i;
    }
    if (in >= 0)
        st[0].data.fd = in;
    if (out >= 0)
        st[1].data.fd = out;
    o.file = argv[0];
    o.args = (char **)argv;
    o.exit_cb = uv_exited;
    o.stdio_count = 3;
    o.stdio = st;
    r->uv.data = r;
    if ((e = uv_spawn(uvl, &r->uv, &o)) != 0) {
        set_err(-e, "uv_spawn");
        /* The handle was initialised all the same: close it. */
        uv_close((uv_handle_t *)&r->uv, uv_closed);
        while (!r->closed)
            uv_run(uvl, UV_RUN_ONCE);
        rec_put(r);
        errno = -e;
        return NULL;
    }
    r->pid = r->uv.pid;
    return r;
}

static int
uv_reap(struct rec *r, uint64_t *t_done)
{
    while (!r->closed)
        uv_run(uvl, UV_RUN_ONCE);
    return finish(r, t_done);
}
#endif

/* ---- GLib --------------------------------------------------------------- */

#ifdef HAVE_GLIB
static int
glib_init(void)
{
    return 0;
}

static void
glib_exited(GPid pid, gint status, gpointer data)
{
    struct rec *r = data;

    r->t_done = now_ns();
    r->status = status;
    r->done = 1;
    g_spawn_close_pid(pid);
}

static struct rec *
glib_spawn(char *const argv[], int in, int out)
{
    GSpawnFlags fl = G_SPAWN_DO_NOT_REAP_CHILD;
    GError *err = NULL;
    struct rec *r = rec_get();
    GPid pid;

    if (r == NULL)
        return NULL;
    if (in < 0)
        fl |= G_SPAWN_CHILD_INHERITS_STDIN;
    if (!g_spawn_async_with_fds(NULL, (gchar **)argv, NULL, fl, NULL, NULL, &pid,
                                in, out, -1, &err)) {
        snprintf(bench_errmsg, sizeof(bench_errmsg), "g_spawn_async: %s",
                 err->message);
        g_error_free(err);
        rec_put(r);
        errno = EIO;
        return NULL;
    }
    r->pid = pid;
    g_child_watch_add(pid, glib_exited, r);
    return r;
}

static int
glib_reap(struct rec *r, uint64_t *t_done)
{
    while (!r->done)
        g_main_context_iteration(NULL, TRUE);
    return finish(r, t_done);
}
#endif

/* ---- the table ---------------------------------------------------------- */

const struct contender contenders[] = {
    { "floor", NULL, "clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD) + execve + waitid(P_PIDFD), written directly",
      sizeof(pid_t) + sizeof(int), floor_init, floor_spawn, floor_reap },
    { "ward", "linux", "ward_spawn + ward_wait + ward_free, Linux backend",
      sizeof(ward_child *), ward_linux_init, ward_spawn_one, ward_reap },
    { "ward-ev", "linux", "ward_spawn + ward_setcallback; poll(ward_events_fd) + ward_dispatch, Linux backend",
      sizeof(ward_child *), ward_ev_linux_init, wev_spawn, wev_reap },
    { "ward-posix", "posix", "ward_spawn + ward_wait + ward_free, WARD_BACKEND=posix",
      sizeof(ward_child *), ward_posix_init, ward_spawn_one, ward_reap },
    { "ward-posix-ev", "posix", "ward_spawn + ward_setcallback; poll(ward_events_fd) + ward_dispatch, WARD_BACKEND=posix",
      sizeof(ward_child *), ward_ev_posix_init, wev_spawn, wev_reap },
    { "posix_spawn", NULL, "glibc posix_spawn + waitpid(pid)",
      sizeof(pid_t), plain_init, pspawn_spawn, waitpid_reap },
    { "fork", NULL, "fork + execve + waitpid(pid)",
      sizeof(pid_t), plain_init, fork_spawn, waitpid_reap },
#ifdef HAVE_UV
    { "libuv", NULL, "uv_spawn + exit_cb + uv_close, uv_run(UV_RUN_ONCE)",
      sizeof(uv_process_t), uv_init_c, uv_spawn_one, uv_reap },
#endif
#ifdef HAVE_GLIB
    { "glib", NULL, "g_spawn_async_with_fds(G_SPAWN_DO_NOT_REAP_CHILD) + g_child_watch_add, g_main_context_iteration",
      sizeof(GPid), glib_init, glib_spawn, glib_reap },
#endif
};
const size_t ncontenders = sizeof(contenders) / sizeof(contenders[0]);

const struct contender *
contender_find(const char *name)
{
    for (size_t i = 0; i < ncontenders; i++) {
        if (strcmp(contenders[i].name, name) == 0)
            return &contenders[i];
    }
    return NULL;
}
