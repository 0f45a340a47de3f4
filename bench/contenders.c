/*
 * bench/contenders.c - the same work done through each contender: start the
 * static child with a given stdin and stdout, and wait for it to end.
 *
 * Every contender is written the way its documentation says to use it, with
 * the least extra work: no contender gets an attribute object, a pipe or a
 * file action it does not need for the scenario at hand.  Per-child records
 * come from a static pool, not from malloc(), so that the heap measured in
 * scenario 6 is the library's own.
 *
 * Scenario 7 spawns from several threads of one worker at once.  The record
 * pool is therefore a free list per thread (a thread is handed its share
 * before the timed section and gives it back after), the floors keep one
 * child stack per thread, and the error message is per thread.  The rest of
 * the state here (ward's cached attribute object, the event descriptors) is
 * used only by the single-threaded scenarios, or set up once before the
 * threads start.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

extern char **environ;

_Thread_local char bench_errmsg[256];
_Thread_local int bench_last_status;

static void
set_err(int err, const char *what)
{
    snprintf(bench_errmsg, sizeof(bench_errmsg), "%s: %s", what, strerror(err));
    errno = err;
}

/* ---- the record pool ----------------------------------------------------- */

static struct rec pool[MAXREC];
static _Thread_local struct rec *free_recs;

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

/* Up to n records off this thread's free list, as a list of their own. */
struct rec *
rec_pool_take(size_t n)
{
    struct rec *head = NULL;

    while (n-- > 0 && free_recs != NULL) {
        struct rec *r = free_recs;

        free_recs = r->next_free;
        r->next_free = head;
        head = r;
    }
    return head;
}

/* Put a list of records onto this thread's free list. */
void
rec_pool_give(struct rec *list)
{
    while (list != NULL) {
        struct rec *r = list;

        list = r->next_free;
        r->next_free = free_recs;
        free_recs = r;
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

    bench_last_status = st;
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

/* ---- the kernel floors -------------------------------------------------- */

/*
 * Both floors start the child with CLONE_VM | CLONE_VFORK | CLONE_PIDFD on a
 * stack of their own, execve() it and wait with waitid(P_PIDFD): no signal
 * hygiene, no exec error reporting, nothing but what the scenario needs.
 * The stack is made once per thread (the parent thread is suspended until
 * the child has execed, so one is enough) and is not part of what is timed.
 */
#define FLOOR_STACK (128 * 1024)

static _Thread_local char *floor_stack;

static char *
floor_stack_get(void)
{
    if (floor_stack == NULL) {
        void *s = mmap(NULL, FLOOR_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

        if (s == MAP_FAILED) {
            set_err(errno, "mmap");
            return NULL;
        }
        floor_stack = s;
    }
    return floor_stack;
}

/* A thread of scenario 7 is done: its floor stack goes with it. */
void
contender_thread_done(void)
{
    if (floor_stack != NULL)
        munmap(floor_stack, FLOOR_STACK);
    floor_stack = NULL;
}

struct floor_arg {
    char *const *argv;
    int in, out;
    int lo; /* the honest floor: first descriptor the child drops */
};

/*
 * The old floor, kept as the contender "floor-copy": without CLONE_FILES the
 * kernel gives the child a copy of the parent's whole descriptor table (a
 * reference taken on every open file), which exec then drops again for every
 * close-on-exec one.  It costs more the more the parent has open: among
 * 2,000 live children, one pidfd each, a spawn costs three times as much.
 */
static int
floor_copy_main(void *p)
{
    struct floor_arg *a = p;

    if (a->in >= 0 && dup2(a->in, 0) == -1)
        _exit(126);
    if (a->out >= 0 && dup2(a->out, 1) == -1)
        _exit(126);
    execve(a->argv[0], a->argv, environ);
    _exit(127);
}

/*
 * The honest floor: the child starts on the parent's table (CLONE_FILES, no
 * copy) and first takes a table of its own with close_range(lo, ~0U,
 * CLOSE_RANGE_UNSHARE), which copies only the descriptors below lo (3, or
 * one above the highest stdio source) and drops the rest; dup2() must come
 * after that, since on the shared table it would replace the parent's own
 * stdin or stdout.  When lo is above 3, the descriptors from 3 to lo - 1
 * (the sources among them) are closed after the dup2()s, so that the
 * program starts with 0, 1 and 2 only, whatever the parent had open: that
 * is ward's promise, and what ward's child does for the same scenario.
 * Nothing else: no signal hygiene, no exec error reporting.
 */
static int
floor_main(void *p)
{
    struct floor_arg *a = p;

    if (syscall(SYS_close_range, (unsigned int)a->lo, ~0U, CLOSE_RANGE_UNSHARE) == -1)
        _exit(125);
    if (a->in >= 0 && dup2(a->in, 0) == -1)
        _exit(126);
    if (a->out >= 0 && dup2(a->out, 1) == -1)
        _exit(126);
    if (a->lo > 3 && syscall(SYS_close_range, 3U, (unsigned int)a->lo - 1, 0U) == -1)
        _exit(125);
    execve(a->argv[0], a->argv, environ);
    _exit(127);
}

#if defined(__x86_64__)
/*
 * clone3() has no C library wrapper, and a child on a new stack cannot
 * return from the system call into C: this runs fn(arg) in the child and
 * _exit()s with its value.  In the parent it returns the pid or -errno.
 * The kernel points the child's stack pointer at stack + stack_size, which
 * is 16-byte aligned, so the call leaves the callee the alignment the ABI
 * promises.
 */
long bench_clone3(void *args, size_t size, int (*fn)(void *), void *arg);
__asm__(".pushsection .text\n"
        ".globl bench_clone3\n"
        ".type bench_clone3, @function\n"
        "bench_clone3:\n"
        "    mov %rdx, %r8\n"
        "    mov %rcx, %r9\n"
        "    mov $" "435" ", %eax\n" /* __NR_clone3 */
        "    syscall\n"
        "    test %rax, %rax\n"
        "    jz 1f\n"
        "    ret\n"
        "1:  xor %ebp, %ebp\n"
        "    mov %r9, %rdi\n"
        "    call *%r8\n"
        "    mov %eax, %edi\n"
        "    mov $60, %eax\n" /* __NR_exit */
        "    syscall\n"
        "    hlt\n"
        ".size bench_clone3, .-bench_clone3\n"
        ".popsection\n");

struct bench_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};
#endif

/*
 * clone3() where the bench has a trampoline for it (x86-64), as the issue
 * defines the floor; elsewhere clone() with the same flags, which asks the
 * kernel for the same work.
 */
static pid_t
floor_clone(int honest, char *const argv[], int in, int out, int *pidfd)
{
    struct floor_arg a = { argv, in, out, 3 };
    char *stack = floor_stack_get();
    pid_t pid;

    if (stack == NULL)
        return -1;
    if (in >= a.lo)
        a.lo = in + 1;
    if (out >= a.lo)
        a.lo = out + 1;
    if (!honest)
        return clone(floor_copy_main, stack + FLOOR_STACK,
                     CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &a, pidfd);
#if defined(__x86_64__)
    {
        struct bench_clone_args ca;
        long r;

        memset(&ca, 0, sizeof(ca));
        ca.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_FILES;
        ca.pidfd = (uint64_t)(uintptr_t)pidfd;
        ca.exit_signal = SIGCHLD;
        ca.stack = (uint64_t)(uintptr_t)stack;
        ca.stack_size = FLOOR_STACK;
        r = bench_clone3(&ca, sizeof(ca), floor_main, &a);
        if (r < 0) {
            errno = (int)-r;
            return -1;
        }
        pid = (pid_t)r;
    }
#else
    pid = clone(floor_main, stack + FLOOR_STACK,
                CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_FILES | SIGCHLD, &a, pidfd);
#endif
    return pid;
}

static int
floor_init(void)
{
    return 0;
}

static struct rec *
floor_spawn_how(int honest, char *const argv[], int in, int out)
{
    struct rec *r = rec_get();
    int pidfd = -1;
    pid_t pid;

    if (r == NULL)
        return NULL;
    if ((pid = floor_clone(honest, argv, in, out, &pidfd)) == -1) {
        set_err(errno, honest ? "clone3" : "clone");
        rec_put(r);
        return NULL;
    }
    r->pid = pid;
    r->pidfd = pidfd;
    return r;
}

static struct rec *
floor_spawn(char *const argv[], int in, int out)
{
    return floor_spawn_how(1, argv, in, out);
}

static struct rec *
floor_copy_spawn(char *const argv[], int in, int out)
{
    return floor_spawn_how(0, argv, in, out);
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
/* Spawn flags of the contender (WARD_RUSAGE for ward-reapable), else 0. */
static unsigned ward_flags;

static const ward_attr *
ward_attr_for(int in, int out)
{
    if (in < 0 && out < 0 && ward_flags == 0)
        return NULL;
    if (wattr != NULL && wattr_in == in && wattr_out == out)
        return wattr;
    ward_attr_free(wattr);
    if ((wattr = ward_attr_new()) == NULL)
        return NULL;
    if ((ward_flags != 0 && ward_attr_setflags(wattr, ward_flags) == -1) ||
        (in >= 0 && ward_attr_setstdio(wattr, 0, WARD_STDIO_FD, in) == -1) ||
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

/*
 * ward asking for resource usage: an ordinary, reapable child on every
 * kernel, where "ward" gets a kernel-private (CLONE_AUTOREAP) one on Linux
 * 7.1 and later.  On older kernels the two take the same path; on 7.1+
 * their ratio is what kernel privacy costs.
 */
static int
ward_reapable_init(void)
{
    ward_flags = WARD_RUSAGE;
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

    if (a == NULL && (in >= 0 || out >= 0 || ward_flags != 0)) {
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

/* ---- scenario 7's mixed load: waiting for any child ---------------------- */

/*
 * Spawner threads start children and move on; waiter threads take whichever
 * child ends first.  Each contender does that its own natural way:
 *
 * - ward: the private children have no "any child" wait of their own
 *   (ward_waitpid(-1) is, by design, blind to them); the way to learn of
 *   whichever ends first is a callback on each child and
 *   poll(ward_events_fd()) + ward_dispatch() in the waiters.
 * - the floor: an epoll set of the children's pidfds (EPOLLONESHOT, so one
 *   waiter takes each), then waitid(P_PIDFD) and close().
 * - posix_spawn: waitpid(-1).  That fails at once with ECHILD whenever no
 *   child happens to be alive, so each spawn posts a semaphore and a waiter
 *   takes one count before each waitpid(-1): it sleeps until there is a
 *   child to wait for, and each count is one child.
 *
 * Each any_reap() waits at most timeout_ms and returns how many children it
 * reaped.  The timeout only lets the waiters see that the run is over, and
 * covers ward's one race: a child that ends before its spawner has set the
 * callback is reaped by a dispatch with no callback to run, and the
 * callback, once set, waits for the next dispatch, which no further event
 * may prompt.
 */
static _Thread_local long any_done_here; /* callbacks run in this thread */
static _Thread_local int any_bad_here;   /* a child did not exit 0 */

static int
any_result(long n)
{
    if (any_bad_here) {
        snprintf(bench_errmsg, sizeof(bench_errmsg), "a child did not exit 0");
        errno = EPROTO;
        return -1;
    }
    return (int)n;
}

static uint64_t
deadline_in(int ms)
{
    return now_ns() + (uint64_t)ms * 1000000u;
}

static void
ward_any_exit(ward_child *c, int status, void *data)
{
    (void)data;
    if (status != 0)
        any_bad_here = 1;
    ward_free(c);
    any_done_here++;
}

static int
ward_any_init(void)
{
    return wev_init();
}

static int
ward_any_spawn(char *const argv[])
{
    ward_child *c = ward_spawn(argv[0], argv, NULL);

    if (c == NULL) {
        set_err(errno, "ward_spawn");
        return -1;
    }
    if (ward_setcallback(c, ward_any_exit, NULL) == -1) {
        set_err(errno, "ward_setcallback");
        return -1;
    }
    return 0;
}

static int
ward_any_reap(int timeout_ms)
{
    struct pollfd p = { .fd = wev_fd, .events = POLLIN };
    long before = any_done_here;

    if (poll(&p, 1, timeout_ms) == -1 && errno != EINTR) {
        set_err(errno, "poll");
        return -1;
    }
    if (ward_dispatch() == -1) {
        set_err(errno, "ward_dispatch");
        return -1;
    }
    return any_result(any_done_here - before);
}

static int floor_ep = -1;

static int
floor_any_init(void)
{
    if (floor_ep == -1 && (floor_ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
        set_err(errno, "epoll_create1");
        return -1;
    }
    return 0;
}

static int
floor_any_spawn(char *const argv[])
{
    struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT };
    int pidfd = -1;

    if (floor_clone(1, argv, -1, -1, &pidfd) == -1) {
        set_err(errno, "clone3");
        return -1;
    }
    ev.data.fd = pidfd;
    if (epoll_ctl(floor_ep, EPOLL_CTL_ADD, pidfd, &ev) == -1) {
        set_err(errno, "epoll_ctl");
        return -1;
    }
    return 0;
}

static int
floor_any_reap(int timeout_ms)
{
    struct epoll_event ev;
    siginfo_t si;
    int n;

    if ((n = epoll_wait(floor_ep, &ev, 1, timeout_ms)) <= 0) {
        if (n == -1 && errno != EINTR) {
            set_err(errno, "epoll_wait");
            return -1;
        }
        return 0;
    }
    memset(&si, 0, sizeof(si));
    while (waitid((idtype_t)P_PIDFD, (id_t)ev.data.fd, &si, WEXITED) == -1) {
        if (errno != EINTR) {
            set_err(errno, "waitid");
            return -1;
        }
    }
    close(ev.data.fd);
    if (status_from_siginfo(&si) != 0)
        any_bad_here = 1;
    return any_result(1);
}

static sem_t pspawn_alive;
static int pspawn_alive_made;

static int
pspawn_any_init(void)
{
    if (!pspawn_alive_made && sem_init(&pspawn_alive, 0, 0) == -1) {
        set_err(errno, "sem_init");
        return -1;
    }
    pspawn_alive_made = 1;
    return 0;
}

static int
pspawn_any_spawn(char *const argv[])
{
    pid_t pid;
    int e = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);

    if (e != 0) {
        set_err(e, "posix_spawn");
        return -1;
    }
    sem_post(&pspawn_alive);
    return 0;
}

static int
pspawn_any_reap(int timeout_ms)
{
    uint64_t t = deadline_in(timeout_ms);
    struct timespec ts = { (time_t)(t / 1000000000u), (long)(t % 1000000000u) };
    int st;

    if (sem_clockwait(&pspawn_alive, CLOCK_MONOTONIC, &ts) == -1) {
        if (errno != ETIMEDOUT && errno != EINTR) {
            set_err(errno, "sem_clockwait");
            return -1;
        }
        return 0;
    }
    while (waitpid(-1, &st, 0) == -1) {
        if (errno != EINTR) {
            set_err(errno, "waitpid");
            return -1;
        }
    }
    if (st != 0)
        any_bad_here = 1;
    return any_result(1);
}

/* ---- the table ---------------------------------------------------------- */

#define NO_ANY 0, NULL, NULL, NULL
const struct contender contenders[] = {
    { "floor", NULL, "clone3(CLONE_VM|CLONE_VFORK|CLONE_PIDFD|CLONE_FILES); in the child close_range(3 or above the stdio sources, ~0U, CLOSE_RANGE_UNSHARE), dup2 for the stdio the scenario needs, execve; waitid(P_PIDFD): the least work for a child with a clean descriptor table",
      sizeof(pid_t) + sizeof(int), floor_init, floor_spawn, floor_reap,
      1, floor_any_init, floor_any_spawn, floor_any_reap },
    { "floor-copy", NULL, "clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD) + execve + waitid(P_PIDFD): the child gets a copy of the whole descriptor table (the bench's floor before issue 17)",
      sizeof(pid_t) + sizeof(int), floor_init, floor_copy_spawn, floor_reap, NO_ANY },
    { "ward", "linux", "ward_spawn + ward_wait + ward_free, Linux backend",
      sizeof(ward_child *), ward_linux_init, ward_spawn_one, ward_reap,
      1, ward_any_init, ward_any_spawn, ward_any_reap },
    { "ward-reapable", "linux", "ward_spawn with WARD_RUSAGE (an ordinary, reapable child, where ward makes a kernel-private one on Linux 7.1+) + ward_wait + ward_free, Linux backend",
      sizeof(ward_child *), ward_reapable_init, ward_spawn_one, ward_reap, NO_ANY },
    { "ward-ev", "linux", "ward_spawn + ward_setcallback; poll(ward_events_fd) + ward_dispatch, Linux backend",
      sizeof(ward_child *), ward_ev_linux_init, wev_spawn, wev_reap, NO_ANY },
    { "ward-posix", "posix", "ward_spawn + ward_wait + ward_free, WARD_BACKEND=posix",
      sizeof(ward_child *), ward_posix_init, ward_spawn_one, ward_reap, NO_ANY },
    { "ward-posix-ev", "posix", "ward_spawn + ward_setcallback; poll(ward_events_fd) + ward_dispatch, WARD_BACKEND=posix",
      sizeof(ward_child *), ward_ev_posix_init, wev_spawn, wev_reap, NO_ANY },
    { "posix_spawn", NULL, "glibc posix_spawn + waitpid(pid)",
      sizeof(pid_t), plain_init, pspawn_spawn, waitpid_reap,
      1, pspawn_any_init, pspawn_any_spawn, pspawn_any_reap },
    { "fork", NULL, "fork + execve + waitpid(pid)",
      sizeof(pid_t), plain_init, fork_spawn, waitpid_reap, NO_ANY },
#ifdef HAVE_UV
    { "libuv", NULL, "uv_spawn + exit_cb + uv_close, uv_run(UV_RUN_ONCE)",
      sizeof(uv_process_t), uv_init_c, uv_spawn_one, uv_reap, NO_ANY },
#endif
#ifdef HAVE_GLIB
    { "glib", NULL, "g_spawn_async_with_fds(G_SPAWN_DO_NOT_REAP_CHILD) + g_child_watch_add, g_main_context_iteration",
      sizeof(GPid), glib_init, glib_spawn, glib_reap, NO_ANY },
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
