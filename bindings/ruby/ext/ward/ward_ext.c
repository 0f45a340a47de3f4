/*
 * ward_ext.c - the C half of the Ruby binding of ward: private child
 * processes for Ruby (see bindings/ruby/README.md).
 *
 * This file holds what must be C: Process::PrivateHandle and its waits,
 * the spawn primitive behind Process.spawn_private (whose argument parsing
 * is Ruby, in lib/ward.rb), Process.fork_private and the hook that makes
 * Ruby's own fork private, and the wait family (Process.wait, wait2,
 * waitpid, waitpid2, waitall, Process::Status.wait) rebuilt on
 * ward_waitpid(3).
 *
 * Rules kept throughout:
 *  - Every wait runs without the GVL.  Waits use RUBY_UBF_IO, so
 *    Thread#raise, Thread#kill and signal traps interrupt them: ward's
 *    waits fail with EINTR, pending interrupts are run, and the wait
 *    starts again.  A handle waits with ward_timedwait() (a NULL deadline
 *    when there is none), never ward_wait(): ward_wait() is not
 *    interrupted by a handler installed with SA_RESTART, as waitpid(2),
 *    while ward_timedwait() is interrupted by any, whatever flags a
 *    library in the process gave its handlers.
 *  - ward's spawn gate is held only inside ward (a spawn, the look of a
 *    wait for any child) and inside fork() for fork_private (see "fork"):
 *    never while Ruby code runs, and never by a thread waiting for the
 *    GVL.  So ward calls that may wait for the gate can be made with the
 *    GVL held, and no Ruby thread can wait for a gate its own thread holds.
 *  - Errors become the Errno exception of the errno ward reported.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* dladdr() */
#endif

#include <ruby.h>
#include <ruby/io.h>
#include <ruby/thread.h>
#include <ruby/util.h>

#include <ward.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

/*
 * The status a still-running child reports through #wait_nonblock: the
 * classic "continued" status, for which WIFEXITED, WIFSIGNALED and
 * WIFSTOPPED are all false.
 */
#define RUNNING_STATUS 0xffff

static VALUE mWard, cHandle, cStatus;
static ID id_bind_call, id__fork, id_to_i, id_pid, id_closed_p;
static VALUE sym_preload, sym_linked;
static int backend_errno; /* set when no ward backend could start */

/* ---- errors ------------------------------------------------------------ */

static void
check_backend(void)
{
    if (backend_errno != 0)
        rb_syserr_fail(backend_errno, "ward: no backend could start");
}

/* ---- Process::Status --------------------------------------------------- */

/*
 * The C API has one way to make a Process::Status: rb_last_status_set(),
 * which also makes it the calling thread's $?.  That suits the waits that
 * set $? anyway (as Process.wait does).
 */
static VALUE
new_status(int status, pid_t pid)
{
    rb_last_status_set(status, pid);
    return rb_last_status_get();
}

/*
 * The same for calls that must not change $? (Process::Status.wait): a
 * previous $? is put back as an equal copy; a nil $? cannot be put back.
 */
static VALUE
new_status_quiet(int status, pid_t pid)
{
    VALUE old = rb_last_status_get();
    VALUE st = new_status(status, pid);

    if (!NIL_P(old))
        rb_last_status_set(NUM2INT(rb_funcall(old, id_to_i, 0)),
                           NUM2PIDT(rb_funcall(old, id_pid, 0)));
    return st;
}

/* ---- time -------------------------------------------------------------- */

static double
seconds_arg(VALUE v)
{
    double s = NUM2DBL(v);

    if (s < 0 || s != s)
        rb_raise(rb_eArgError, "time interval must not be negative");
    return s;
}

static void
deadline_in(struct timespec *ts, double s)
{
    time_t whole;

    if (s > 1e9)
        s = 1e9; /* about 31 years: far enough, and no overflow */
    whole = (time_t)s;
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += whole;
    ts->tv_nsec += (long)((s - (double)whole) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* ---- fork state (see "fork" below) ------------------------------------- */

struct handle;

static __thread int tl_want;            /* this thread's next fork() is private */
static __thread int tl_prepared;        /* ward_fork_prepare() holds the gate */
static __thread int tl_pipe[2] = { -1, -1 }; /* the child tells its pid */
static __thread ward_child *tl_child;   /* the handle made in the parent */
static __thread pid_t tl_pid;           /* and its pid */
static __thread int tl_err;             /* or why there is none */
static __thread struct handle *tl_target; /* what fork_private will fill in */

/*
 * ward's spawn gate is held by this thread only inside fork() (see "fork"
 * below), where no Ruby code runs; this is a safety net: a wait for any
 * child or a spawn from the thread holding the gate would wait for itself.
 */
static void
no_fork_window(void)
{
    if (tl_prepared)
        rb_raise(rb_eThreadError,
                 "ward: cannot wait or spawn from inside fork_private's fork");
}

/* ---- Process::PrivateHandle -------------------------------------------- */

struct handle {
    ward_child *child;  /* NULL only while fork_private fills it in */
    pid_t pid;
    pid_t owner;        /* getpid() of the process that started the child */
    unsigned int flags; /* WARD_NEW_PGROUP: the child leads its own group */
    int reaped;         /* status below is the final one */
    int status;
    VALUE status_obj;   /* the Process::Status every wait returns */
    VALUE io;           /* #to_io: an IO on a copy of the pidfd */
};

static void
handle_mark(void *p)
{
    struct handle *h = p;

    rb_gc_mark(h->status_obj);
    rb_gc_mark(h->io);
}

/*
 * ward_free() never blocks for a handle without WARD_KILL_ON_FREE: a child
 * still running is reaped by ward later, never left a zombie.  In the
 * child of a fork the handle is foreign and only its memory is released.
 */
static void
handle_free(void *p)
{
    struct handle *h = p;

    if (h->child != NULL)
        ward_free(h->child);
    xfree(h);
}

static size_t
handle_size(const void *p)
{
    (void)p;
    return sizeof(struct handle);
}

static const rb_data_type_t handle_type = {
    "Process::PrivateHandle",
    { handle_mark, handle_free, handle_size, },
    0, 0, RUBY_TYPED_FREE_IMMEDIATELY,
};

static VALUE
handle_new(struct handle **hp)
{
    struct handle *h;
    VALUE obj = TypedData_Make_Struct(cHandle, struct handle, &handle_type, h);

    h->child = NULL;
    h->pid = -1;
    h->owner = getpid();
    h->flags = 0;
    h->reaped = 0;
    h->status = 0;
    h->status_obj = Qnil;
    h->io = Qnil;
    *hp = h;
    return obj;
}

static struct handle *
get_handle(VALUE self)
{
    struct handle *h;

    TypedData_Get_Struct(self, struct handle, &handle_type, h);
    if (h->child == NULL)
        rb_raise(rb_eRuntimeError, "uninitialized Process::PrivateHandle");
    return h;
}

/* A handle inherited across fork() names the parent's child, not ours. */
static void
check_owner(const struct handle *h)
{
    if (h->owner != getpid())
        rb_syserr_fail(ECHILD, "the handle belongs to the parent process "
                               "(inherited across fork)");
}

/*
 * The child has ended with status.  The first call makes the one
 * Process::Status of the handle (which then is $?); later calls return it
 * again and set $? to an equal status, as Process.wait would.
 */
static VALUE
handle_reaped(struct handle *h, int status)
{
    if (!h->reaped) {
        h->status = status;
        h->reaped = 1;
    }
    if (NIL_P(h->status_obj)) {
        h->status_obj = new_status(h->status, h->pid);
        return h->status_obj;
    }
    rb_last_status_set(h->status, h->pid);
    return h->status_obj;
}

static void
handle_wait_failed(const struct handle *h, int err)
{
    char msg[160];

    if (err == ECHILD) {
        snprintf(msg, sizeof(msg),
                 "the status of pid %ld was taken by a waiter outside ward "
                 "and cannot be recovered", (long)h->pid);
        rb_syserr_fail(err, msg);
    }
    snprintf(msg, sizeof(msg), "wait for pid %ld", (long)h->pid);
    rb_syserr_fail(err, msg);
}

struct wait_arg {
    ward_child *child;
    const struct timespec *deadline;
    int status;
    int ret;
    int err;
};

/* ward_timedwait(), also without a deadline: see "Rules kept" above. */
static void *
wait_nogvl(void *p)
{
    struct wait_arg *a = p;

    a->ret = ward_timedwait(a->child, &a->status, a->deadline);
    a->err = errno;
    return NULL;
}

/*
 * Wait for the child without the GVL until deadline (NULL: no deadline).
 * Returns 1 with *status, or 0 when the deadline passed.
 */
static int
handle_block(struct handle *h, const struct timespec *deadline, int *status)
{
    struct wait_arg a;

    for (;;) {
        a.child = h->child;
        a.deadline = deadline;
        a.status = 0;
        rb_thread_call_without_gvl(wait_nogvl, &a, RUBY_UBF_IO, NULL);
        if (a.ret == 0) {
            *status = a.status;
            return 1;
        }
        if (a.err == EINTR) {
            rb_thread_check_ints();
            continue;
        }
        if (a.err == ETIMEDOUT)
            return 0;
        handle_wait_failed(h, a.err);
    }
}

/*
 * call-seq:
 *   handle.pid -> integer
 *
 * The child's process ID.  It stays the same after the child is reaped,
 * when the number may belong to another process: signal the child with
 * #kill, never with Process.kill on this number.
 */
static VALUE
handle_pid(VALUE self)
{
    return PIDT2NUM(get_handle(self)->pid);
}

/*
 * call-seq:
 *   handle.wait -> process_status
 *   handle.wait(timeout) -> process_status or nil
 *
 * Waits for the child to end and returns its Process::Status, the same
 * object on every call, from any thread.  With a timeout in seconds,
 * returns nil if the child is still running when it passes.  Sets $? like
 * Process.wait.  Raises Errno::ECHILD only if code outside ward reaped the
 * child and its status cannot be recovered, or if the handle was inherited
 * from the parent process across fork.
 */
static VALUE
handle_wait(int argc, VALUE *argv, VALUE self)
{
    struct handle *h = get_handle(self);
    struct timespec ts;
    VALUE timeout = Qnil;
    int status, done;

    rb_scan_args(argc, argv, "01", &timeout);
    if (!NIL_P(timeout))
        deadline_in(&ts, seconds_arg(timeout));
    if (h->reaped)
        return handle_reaped(h, h->status);
    check_owner(h);
    done = handle_block(h, NIL_P(timeout) ? NULL : &ts, &status);
    RB_GC_GUARD(self);
    return done ? handle_reaped(h, status) : Qnil;
}

/* Process::Status objects are frozen: lib/ward.rb teaches them "running". */
static VALUE
running_status(const struct handle *h)
{
    return new_status(RUNNING_STATUS, h->pid);
}

/*
 * call-seq:
 *   handle.wait_nonblock -> process_status
 *
 * Never blocks.  If the child has ended, behaves as #wait.  Otherwise
 * returns a Process::Status for which exited?, signaled? and stopped? are
 * false: the classic "continued" status 0xffff, which lib/ward.rb makes
 * inspect as "running" (Ruby would say "core dumped").
 */
static VALUE
handle_wait_nonblock(VALUE self)
{
    struct handle *h = get_handle(self);
    int status;

    if (h->reaped)
        return handle_reaped(h, h->status);
    check_owner(h);
    if (ward_trywait(h->child, &status) == 0)
        return handle_reaped(h, status);
    if (errno == EAGAIN)
        return running_status(h);
    handle_wait_failed(h, errno);
    return Qnil; /* not reached */
}

/*
 * call-seq:
 *   handle.reaped? -> true or false
 *
 * Whether the final status is known to the handle (no system call).
 */
static VALUE
handle_reaped_p(VALUE self)
{
    return get_handle(self)->reaped ? Qtrue : Qfalse;
}

/*
 * call-seq:
 *   handle.status -> process_status or nil
 *
 * The status returned by #wait if it is known already; nil otherwise.  No
 * system call, no wait, $? unchanged.
 */
static VALUE
handle_status(VALUE self)
{
    struct handle *h = get_handle(self);

    if (!h->reaped)
        return Qnil;
    if (NIL_P(h->status_obj))
        h->status_obj = new_status_quiet(h->status, h->pid);
    return h->status_obj;
}

/* Handle#__kill(signo, group): the checked part of #kill (lib/ward.rb). */
static VALUE
handle_kill(VALUE self, VALUE vsig, VALUE vgroup)
{
    struct handle *h = get_handle(self);
    int sig = NUM2INT(vsig), r;

    if (h->reaped)
        rb_syserr_fail(ESRCH, "the child has been reaped");
    if (RTEST(vgroup)) {
        if (!(h->flags & WARD_NEW_PGROUP))
            rb_syserr_fail(EINVAL, "the child does not lead a process group "
                                   "(spawn it with pgroup: true)");
        r = ward_killpg(h->child, sig);
    } else {
        r = ward_kill(h->child, sig);
    }
    if (r == -1) {
        if (errno == ESRCH)
            rb_syserr_fail(ESRCH, h->owner != getpid()
                                      ? "the handle belongs to the parent process"
                                      : "the child has been reaped");
        rb_syserr_fail(errno, "ward_kill");
    }
    return INT2FIX(1);
}

/* Signal the child, or its group if it leads one; a reaped child is fine. */
static void
terminate_signal(struct handle *h, int sig)
{
    int r = (h->flags & WARD_NEW_PGROUP) ? ward_killpg(h->child, sig)
                                          : ward_kill(h->child, sig);

    if (r == -1 && errno != ESRCH)
        rb_syserr_fail(errno, "ward_kill");
}

/*
 * call-seq:
 *   handle.terminate(grace = 5) -> process_status
 *
 * Ends the child as ward_terminate(3) does: SIGTERM (and SIGCONT, so a
 * stopped child can act on it), up to grace seconds for it to end, then
 * SIGKILL.  A child spawned with pgroup: true has its whole group
 * signalled.  A child that has already ended is not signalled.  Returns
 * the status, as #wait.  Unlike ward_terminate(3), the waits can be
 * interrupted by Thread#raise and signal traps.
 */
static VALUE
handle_terminate(int argc, VALUE *argv, VALUE self)
{
    struct handle *h = get_handle(self);
    struct timespec ts;
    VALUE vgrace = Qnil;
    double grace = 5.0;
    int status;

    rb_scan_args(argc, argv, "01", &vgrace);
    if (!NIL_P(vgrace))
        grace = seconds_arg(vgrace);
    if (h->reaped)
        return handle_reaped(h, h->status);
    check_owner(h);
    if (ward_trywait(h->child, &status) == 0)
        return handle_reaped(h, status);
    if (errno != EAGAIN)
        handle_wait_failed(h, errno);
    terminate_signal(h, SIGTERM);
    terminate_signal(h, SIGCONT);
    deadline_in(&ts, grace);
    if (!handle_block(h, &ts, &status)) {
        terminate_signal(h, SIGKILL);
        (void)handle_block(h, NULL, &status);
    }
    RB_GC_GUARD(self);
    return handle_reaped(h, status);
}

/*
 * call-seq:
 *   handle.to_io -> io
 *
 * An IO on a copy of the child's process descriptor (a Linux pidfd), which
 * polls readable once the child has ended: IO.select and friends can wait
 * for many children at once.  Read nothing from it; #wait gives the
 * status.  The same IO is returned until it is closed.  Raises
 * NotImplementedError where the backend has no process descriptor (the
 * "posix" backend).
 */
static VALUE
handle_to_io(VALUE self)
{
    struct handle *h = get_handle(self);
    int fd, copy;

    if (!NIL_P(h->io) && !RTEST(rb_funcall(h->io, id_closed_p, 0)))
        return h->io;
    check_owner(h);
    if ((fd = ward_pidfd(h->child)) == -1) {
        if (errno == ENOTSUP)
            rb_raise(rb_eNotImpError,
                     "to_io: the %s backend has no process descriptor",
                     ward_backend() != NULL ? ward_backend() : "current");
        rb_syserr_fail(errno, "ward_pidfd");
    }
    if ((copy = fcntl(fd, F_DUPFD_CLOEXEC, 3)) == -1)
        rb_syserr_fail(errno, "dup of the pidfd");
    h->io = rb_io_fdopen(copy, O_RDONLY, NULL);
    return h->io;
}

/* ---- spawn --------------------------------------------------------------- */

/* Everything a spawn allocates, released whatever happens. */
struct spawn_plan {
    char *file;
    char **argv;
    char **envp;
    ward_attr *attr;
};

static char *
dup_cstr(VALUE s)
{
    return ruby_strdup(StringValueCStr(s));
}

static char **
dup_strv(VALUE ary)
{
    long n = RARRAY_LEN(ary);
    char **v = ALLOC_N(char *, n + 1);

    memset(v, 0, (size_t)(n + 1) * sizeof(*v));
    return v;
}

static void
fill_strv(char **v, VALUE ary)
{
    for (long i = 0; i < RARRAY_LEN(ary); i++) {
        VALUE s = rb_ary_entry(ary, i);

        v[i] = dup_cstr(s);
    }
}

static void
free_strv(char **v)
{
    if (v == NULL)
        return;
    for (char **p = v; *p != NULL; p++)
        xfree(*p);
    xfree(v);
}

static VALUE
plan_release(VALUE v)
{
    struct spawn_plan *p = (struct spawn_plan *)v;

    ward_attr_free(p->attr);
    free_strv(p->argv);
    free_strv(p->envp);
    xfree(p->file);
    return Qnil;
}

static void
attr_check(int r, const char *what)
{
    if (r == -1) {
        if (errno == EINVAL)
            rb_raise(rb_eArgError, "invalid %s", what);
        rb_syserr_fail(errno, what);
    }
}

struct spawn_args {
    struct spawn_plan *plan;
    VALUE file, argv, env, edits, cwd, umask, flags, stdio, maps, name;
};

static VALUE
spawn_body(VALUE v)
{
    struct spawn_args *a = (struct spawn_args *)v;
    struct spawn_plan *p = a->plan;
    struct handle *h;
    ward_child *child;
    VALUE obj;

    Check_Type(a->argv, T_ARRAY);
    Check_Type(a->stdio, T_ARRAY);
    Check_Type(a->maps, T_ARRAY);
    Check_Type(a->edits, T_ARRAY);
    if (RARRAY_LEN(a->argv) == 0)
        rb_raise(rb_eArgError, "wrong number of arguments (no command)");

    p->file = dup_cstr(a->file);
    p->argv = dup_strv(a->argv);
    fill_strv(p->argv, a->argv);
    if ((p->attr = ward_attr_new()) == NULL)
        rb_syserr_fail(errno, "ward_attr_new");
    attr_check(ward_attr_setflags(p->attr, NUM2UINT(a->flags)), "spawn flags");
    if (!NIL_P(a->cwd)) {
        const char *dir = StringValueCStr(a->cwd);

        attr_check(ward_attr_setcwd(p->attr, dir), "chdir");
    }
    if (!NIL_P(a->umask))
        attr_check(ward_attr_setumask(p->attr, (mode_t)NUM2UINT(a->umask)), "umask");
    if (!NIL_P(a->env)) {
        Check_Type(a->env, T_ARRAY);
        p->envp = dup_strv(a->env);
        fill_strv(p->envp, a->env);
        attr_check(ward_attr_setenv(p->attr, p->envp), "environment");
    }
    for (long i = 0; i < RARRAY_LEN(a->edits); i++) {
        VALUE e = rb_ary_entry(a->edits, i);
        VALUE name = rb_ary_entry(e, 0), value = rb_ary_entry(e, 1);
        const char *n = StringValueCStr(name);

        if (ward_attr_putenv(p->attr, n, NIL_P(value) ? NULL : StringValueCStr(value)) == -1) {
            if (errno == EINVAL)
                rb_raise(rb_eArgError, "environment name is invalid: %s", n);
            rb_syserr_fail(errno, "ward_attr_putenv");
        }
    }
    for (int i = 0; i < 3; i++) {
        VALUE fd = rb_ary_entry(a->stdio, i);

        if (NIL_P(fd))
            continue;
        attr_check(ward_attr_setstdio(p->attr, i, WARD_STDIO_FD, NUM2INT(fd)),
                   "redirection");
    }
    for (long i = 0; i < RARRAY_LEN(a->maps); i++) {
        VALUE m = rb_ary_entry(a->maps, i);
        int from = NUM2INT(rb_ary_entry(m, 0)), to = NUM2INT(rb_ary_entry(m, 1));

        attr_check(ward_attr_mapfd(p->attr, from, to), "redirection");
    }

    /*
     * With the GVL held, as Ruby's own Process.spawn: ward_spawn() reads
     * environ and the descriptors in this process, which another Ruby
     * thread could change (ENV[]=, IO#close) without it.  The spawn does not
     * copy the address space, and what it may wait for (ward's gate, held
     * by waits for any child for a moment) never needs the GVL.
     */
    obj = handle_new(&h);
    if ((child = ward_spawn(p->file, p->argv, p->attr)) == NULL) {
        int err = errno;

        if (err == EINVAL)
            rb_raise(rb_eArgError, "invalid spawn arguments");
        rb_syserr_fail_str(err, a->name);
    }
    h->child = child;
    h->pid = ward_pid(child);
    h->flags = NUM2UINT(a->flags) & WARD_NEW_PGROUP;
    return obj;
}

/*
 * Ward.__spawn(file, argv, env, edits, cwd, umask, flags, stdio, maps, name)
 *
 * The primitive behind Process.spawn_private, which parses Ruby's
 * arguments.  env: nil (inherit) or ["NAME=value", ...] as the base
 * environment; edits: [[name, value or nil], ...] on top; stdio: three
 * descriptors or nils (inherit); maps: [[parent_fd, child_fd], ...];
 * name: the command, for error messages.
 */
static VALUE
ward_s_spawn(VALUE self, VALUE file, VALUE argv, VALUE env, VALUE edits,
             VALUE cwd, VALUE umask, VALUE flags, VALUE stdio, VALUE maps,
             VALUE name)
{
    struct spawn_plan plan;
    struct spawn_args a = { &plan, file, argv, env, edits, cwd, umask, flags,
                            stdio, maps, name };

    (void)self;
    check_backend();
    no_fork_window();
    memset(&plan, 0, sizeof(plan));
    return rb_ensure(spawn_body, (VALUE)&a, plan_release, (VALUE)&plan);
}

/*
 * Ward.__inheritable_fds -> array
 *
 * The descriptors above 2 that a child would inherit (open, without
 * FD_CLOEXEC).  spawn_private uses it to close one of them in the child:
 * ward then keeps only mapped descriptors, so every other one is mapped.
 */
static VALUE
ward_s_inheritable_fds(VALUE self)
{
    VALUE ary = rb_ary_new();
    DIR *d;

    (void)self;
#ifdef __linux__
    if ((d = opendir("/proc/self/fd")) != NULL) {
        struct dirent *de;
        int self_fd = dirfd(d);

        while ((de = readdir(d)) != NULL) {
            char *end;
            long fd = strtol(de->d_name, &end, 10);
            int fl;

            if (*end != '\0' || end == de->d_name || fd < 3 || fd == self_fd)
                continue;
            if ((fl = fcntl((int)fd, F_GETFD)) != -1 && !(fl & FD_CLOEXEC))
                rb_ary_push(ary, INT2NUM((int)fd));
        }
        closedir(d);
        return ary;
    }
#else
    (void)d;
#endif
    {
        long max = sysconf(_SC_OPEN_MAX);

        if (max < 0 || max > 65536)
            max = 65536;
        for (int fd = 3; fd < max; fd++) {
            int fl = fcntl(fd, F_GETFD);

            if (fl != -1 && !(fl & FD_CLOEXEC))
                rb_ary_push(ary, INT2NUM(fd));
        }
    }
    return ary;
}

/* ---- fork ---------------------------------------------------------------- */

/*
 * Process.fork_private must be exactly as safe as Process.fork, so it
 * forks through Ruby's own Process._fork (which flushes stdio, stops and
 * restarts the VM's timer thread, and in the child resets threads, locks
 * and $$), and through every hook that gems prepend to Process._fork.  Ruby
 * has no public C API for its fork.
 *
 * The no-window guarantee needs ward_fork_prepare() before the fork and
 * ward_fork_parent(pid) after it, in the same thread, with no wait for any
 * child through ward in between.  Around Process._fork that cannot hold:
 * Ruby flushes stdio (and may give up the GVL) before the fork, and runs
 * pending interrupts, signal traps included, as soon as the C function
 * returns; a trap that waits for any child (the very thief ward keeps out)
 * would then wait for the gate its own thread holds.  So everything happens
 * inside libc's fork(), in pthread_atfork() handlers, where no Ruby code
 * can run:
 *  - fork_private marks the handle to fill in (tl_target) and calls
 *    Process._fork, hooks and all;
 *  - our definition of Process._fork, the innermost (gems' hooks are
 *    prepended in front of it), takes the mark, sets tl_want and calls
 *    Ruby's original _fork, which calls fork();
 *  - the prepare handler opens a pipe and calls ward_fork_prepare();
 *  - the child handler calls ward_fork_child() and writes the child's pid
 *    to the pipe;
 *  - the parent handler reads it and calls ward_fork_parent(pid): the
 *    handle exists before fork() returns.  If fork() failed, nothing is
 *    written (end of file at once), and the gate is given back at once:
 *    Ruby may sleep and retry, and the next fork() prepares again.
 * The signal mask needs no care: Ruby blocks every signal around fork(),
 * so ward_fork_prepare() and ward_fork_parent() see the same mask.
 */
static VALUE orig_fork; /* UnboundMethod: Ruby's own Process._fork */

static void
close_pipe(void)
{
    for (int i = 0; i < 2; i++) {
        if (tl_pipe[i] != -1)
            (void)close(tl_pipe[i]);
        tl_pipe[i] = -1;
    }
}

static int
cloexec_pipe(int fds[2])
{
#ifdef HAVE_PIPE2
    return pipe2(fds, O_CLOEXEC);
#else
    if (pipe(fds) == -1)
        return -1;
    (void)fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    (void)fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
#endif
}

static void
atfork_prepare(void)
{
    int e = errno;

    if (!tl_want || tl_prepared)
        return;
    tl_child = NULL;
    tl_pid = -1;
    tl_err = 0;
    if (cloexec_pipe(tl_pipe) == -1) {
        tl_err = errno;
    } else if (ward_fork_prepare() == -1) {
        tl_err = errno;
        close_pipe();
    } else {
        tl_prepared = 1;
    }
    errno = e;
}

static void
atfork_parent(void)
{
    int e = errno;
    pid_t pid = -1;
    ssize_t n;

    if (!tl_want || !tl_prepared)
        return;
    (void)close(tl_pipe[1]);
    tl_pipe[1] = -1;
    /* The child's end closes when it writes, or dies; none if fork() failed. */
    while ((n = read(tl_pipe[0], &pid, sizeof(pid))) == -1 && errno == EINTR)
        ;
    close_pipe();
    if (n != (ssize_t)sizeof(pid) || pid <= 0) {
        tl_err = n == -1 ? errno : ECHILD;
        (void)ward_fork_parent(-1, 0);
    } else if ((tl_child = ward_fork_parent(pid, 0)) == NULL) {
        tl_err = errno; /* the child has been killed and reaped */
    } else {
        tl_pid = pid;
    }
    tl_prepared = 0;
    errno = e;
}

static void
atfork_child(void)
{
    int e = errno;
    pid_t me;

    if (!tl_want || !tl_prepared)
        return;
    ward_fork_child();
    tl_prepared = 0;
    tl_want = 0;
    me = getpid();
    (void)close(tl_pipe[0]);
    tl_pipe[0] = -1;
    while (write(tl_pipe[1], &me, sizeof(me)) == -1 && errno == EINTR)
        ;
    close_pipe();
    errno = e;
}

static VALUE
call_orig_fork(VALUE unused)
{
    (void)unused;
    return rb_funcall(orig_fork, id_bind_call, 1, rb_mProcess);
}

/*
 * Process._fork, as ward defines it: Ruby's own, made private when
 * fork_private asked for it.  Every other fork (Kernel#fork, IO.popen("-"))
 * goes straight to Ruby's.
 */
static VALUE
proc__fork(VALUE self)
{
    struct handle *h = tl_target;
    VALUE vpid;
    pid_t pid;
    int state = 0;

    (void)self;
    if (h == NULL)
        return call_orig_fork(Qnil);
    tl_target = NULL;
    tl_child = NULL;
    tl_err = 0;
    tl_want = 1;
    vpid = rb_protect(call_orig_fork, Qnil, &state);
    tl_want = 0;
    if (state) {
        if (tl_child != NULL) { /* not expected: fork() gave a child */
            ward_free(tl_child);
            tl_child = NULL;
        }
        rb_jump_tag(state);
    }
    pid = NUM2PIDT(vpid);
    if (pid == 0)
        return vpid;
    if (tl_child == NULL || tl_pid != pid) {
        /*
         * ward could not take the child: either it has killed and reaped
         * it, or (no prepare) the child was never covered by ward and is
         * an ordinary child, to be left alone (it may already have been
         * reaped and its pid reused: never signal it).
         */
        rb_syserr_fail(tl_err != 0 ? tl_err : EAGAIN,
                       "fork_private: the child could not be made private");
    }
    h->child = tl_child;
    h->pid = pid;
    h->owner = getpid();
    tl_child = NULL;
    return vpid;
}

static VALUE
call_fork_chain(VALUE unused)
{
    (void)unused;
    return rb_funcall(rb_mProcess, id__fork, 0);
}

static VALUE
clear_target(VALUE unused)
{
    (void)unused;
    tl_target = NULL;
    return Qnil;
}

static VALUE
yield_block(VALUE unused)
{
    (void)unused;
    return rb_yield(Qundef);
}

/*
 * call-seq:
 *   Process.fork_private -> handle or nil
 *   Process.fork_private { ... } -> handle
 *
 * Forks like Process.fork (through Process._fork and its hooks), but the
 * child is private: the parent gets a Process::PrivateHandle instead of a
 * pid, and no wait for any child (Process.wait, a SIGCHLD trap...) sees
 * it.  With a block, the child runs it and exits as Process.fork's would
 * (0, the status given to exit, or 1 on an exception).  Without one,
 * returns nil in the child.
 */
static VALUE
proc_fork_private(VALUE self)
{
    struct handle *h;
    VALUE obj, vpid;

    (void)self;
    check_backend();
    no_fork_window();
    obj = handle_new(&h);
    tl_target = h;
    vpid = rb_ensure(call_fork_chain, Qnil, clear_target, Qnil);
    if (NUM2PIDT(vpid) == 0) {
        if (rb_block_given_p()) {
            int state = 0;

            rb_protect(yield_block, Qnil, &state);
            ruby_stop(state);
        }
        return Qnil;
    }
    if (h->child == NULL)
        rb_raise(rb_eRuntimeError,
                 "fork_private: a Process._fork hook forked without calling "
                 "super; child %ld is an ordinary child", (long)NUM2PIDT(vpid));
    RB_GC_GUARD(obj);
    return obj;
}

/* ---- the wait family ----------------------------------------------------- */

struct waitpid_arg {
    pid_t pid;
    int options;
    int status;
    pid_t ret;
    int err;
};

static void *
waitpid_nogvl(void *v)
{
    struct waitpid_arg *a = v;

    a->ret = ward_waitpid(a->pid, &a->status, a->options);
    a->err = errno;
    return NULL;
}

/*
 * Does a child that is not private, and matches pid as waitpid() would,
 * exist?  1 yes, 0 no, -1 cannot tell.  ward_waitpid() cannot know it (the
 * kernel counts private children as children), so a blocking wait while
 * only private children run would sleep until they end: Process.waitall,
 * or a SIGCHLD trap looping on Process.wait(-1) until ECHILD, would hang on
 * a library's long-lived helper.  Linux lists each thread's children in
 * /proc/self/task/TID/children; a child is private if ward_waitid() says
 * ECHILD for it.
 */
#ifdef __linux__
/* Is c a child that is not private, in the set want names? */
static int
nonprivate_match(pid_t c, pid_t want, pid_t pgrp)
{
    siginfo_t si;

    if (want != -1 && getpgid(c) != pgrp)
        return 0;
    memset(&si, 0, sizeof(si));
    return ward_waitid(P_PID, (id_t)c, &si,
                       WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT) == 0;
}
#endif

static int
nonprivate_child_exists(pid_t want)
{
#ifdef __linux__
    char path[64], buf[4096];
    DIR *d;
    struct dirent *de;
    int found = 0, opened = 0;
    pid_t pgrp = want == 0 ? getpgrp() : -want;

    if ((d = opendir("/proc/self/task")) == NULL)
        return -1;
    while (!found && (de = readdir(d)) != NULL) {
        long cur = -1;
        ssize_t n;
        int fd;

        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/children", de->d_name);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
            continue; /* the thread ended, or no such file on this kernel */
        opened = 1;
        /* "pid pid pid ": a number may go on from one read to the next. */
        while (!found && (n = read(fd, buf, sizeof(buf))) > 0) {
            for (ssize_t i = 0; i < n && !found; i++) {
                if (buf[i] >= '0' && buf[i] <= '9') {
                    cur = (cur < 0 ? 0 : cur * 10) + (buf[i] - '0');
                } else {
                    if (cur > 0)
                        found = nonprivate_match((pid_t)cur, want, pgrp);
                    cur = -1;
                }
            }
        }
        if (!found && cur > 0)
            found = nonprivate_match((pid_t)cur, want, pgrp);
        close(fd);
    }
    closedir(d);
    if (found)
        return 1;
    return opened ? 0 : -1;
#else
    (void)want;
    return -1;
#endif
}

#ifdef __linux__
struct peek_arg {
    idtype_t idtype;
    id_t id;
    int options;
    long ret;
    int err;
};

/*
 * Sleep until some child in the set has something to report, consuming
 * nothing (WNOWAIT).  The system call itself, not libc's waitid(), which
 * libward-guard may have replaced with one that sleeps through private
 * children.
 */
static void *
peek_nogvl(void *v)
{
    struct peek_arg *a = v;
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    a->ret = syscall(SYS_waitid, a->idtype, a->id, &si, a->options, NULL);
    a->err = errno;
    return NULL;
}
#endif

/*
 * waitpid() as if private children did not exist: a pid, 0 (WNOHANG and
 * nothing ready), or -1 with *err.  Blocks without the GVL; interrupts
 * (Thread#raise, traps) run in between.
 */
static pid_t
wait_children(pid_t pid, int flags, int *status, int *err)
{
    struct waitpid_arg a;

    no_fork_window();
    check_backend();
    for (;;) {
        int known;

        a.pid = pid;
        a.options = pid > 0 ? flags : flags | WNOHANG;
        a.status = 0;
        rb_thread_call_without_gvl(waitpid_nogvl, &a,
                                   (a.options & WNOHANG) ? NULL : RUBY_UBF_IO, NULL);
        if (a.ret > 0) {
            *status = a.status;
            return a.ret;
        }
        if (a.ret == -1) {
            if (a.err == EINTR) {
                rb_thread_check_ints();
                continue;
            }
            *err = a.err;
            return -1;
        }
        if (pid > 0 || (flags & WNOHANG)) {
            /* Nothing ready.  For a set: are only private children left? */
            if (pid <= 0 && nonprivate_child_exists(pid) == 0) {
                *err = ECHILD;
                return -1;
            }
            return 0;
        }
        known = nonprivate_child_exists(pid);
        if (known == 0) {
            *err = ECHILD;
            return -1;
        }
#ifdef __linux__
        if (known == 1) {
            struct peek_arg p;

            p.idtype = pid == -1 ? P_ALL : P_PGID;
            p.id = pid == -1 ? 0 : pid == 0 ? (id_t)getpgrp() : (id_t)-pid;
            p.options = WEXITED | WNOWAIT;
            if (flags & WUNTRACED)
                p.options |= WSTOPPED;
            if (flags & WCONTINUED)
                p.options |= WCONTINUED;
            rb_thread_call_without_gvl(peek_nogvl, &p, RUBY_UBF_IO, NULL);
            if (p.ret == -1 && p.err == EINTR)
                rb_thread_check_ints();
            continue; /* look again; ECHILD comes from ward_waitpid() */
        }
#endif
        /* Cannot tell: ward's own blocking wait. */
        a.pid = pid;
        a.options = flags;
        a.status = 0;
        rb_thread_call_without_gvl(waitpid_nogvl, &a, RUBY_UBF_IO, NULL);
        if (a.ret > 0) {
            *status = a.status;
            return a.ret;
        }
        if (a.ret == -1 && a.err == EINTR) {
            rb_thread_check_ints();
            continue;
        }
        *err = a.ret == 0 ? ECHILD : a.err;
        return -1;
    }
}

static void
wait_args(int argc, VALUE *argv, pid_t *pid, int *flags)
{
    *pid = -1;
    *flags = 0;
    if (rb_check_arity(argc, 0, 2) >= 1) {
        *pid = NUM2PIDT(argv[0]);
        if (argc == 2 && !NIL_P(argv[1]))
            *flags = (int)NUM2UINT(argv[1]);
    }
}

/*
 * call-seq:
 *   Process.wait(pid = -1, flags = 0) -> integer or nil
 *   Process.waitpid(pid = -1, flags = 0) -> integer or nil
 *
 * Process.wait through ward: private children do not exist for it.  A
 * private pid raises Errno::ECHILD; a wait for any child (or a group)
 * never reports one, and raises Errno::ECHILD when only private children
 * are left.  Sets $? as Process.wait does (but leaves it alone when
 * WNOHANG finds nothing).
 */
static VALUE
proc_wait(int argc, VALUE *argv, VALUE self)
{
    pid_t pid, r;
    int flags, status = 0, err = 0;

    (void)self;
    wait_args(argc, argv, &pid, &flags);
    if ((r = wait_children(pid, flags, &status, &err)) == -1)
        rb_syserr_fail(err, NULL);
    if (r == 0)
        return Qnil;
    (void)new_status(status, r);
    return PIDT2NUM(r);
}

/*
 * call-seq:
 *   Process.wait2(pid = -1, flags = 0) -> [pid, status] or nil
 *   Process.waitpid2(pid = -1, flags = 0) -> [pid, status] or nil
 *
 * As Process.wait, returning the pid and the Process::Status.
 */
static VALUE
proc_wait2(int argc, VALUE *argv, VALUE self)
{
    pid_t pid, r;
    int flags, status = 0, err = 0;

    (void)self;
    wait_args(argc, argv, &pid, &flags);
    if ((r = wait_children(pid, flags, &status, &err)) == -1)
        rb_syserr_fail(err, NULL);
    if (r == 0)
        return Qnil;
    return rb_assoc_new(PIDT2NUM(r), new_status(status, r));
}

/*
 * call-seq:
 *   Process.waitall -> [[pid, status], ...]
 *
 * Waits for every child that is not private and returns their statuses;
 * private children are neither waited for nor reported.
 */
static VALUE
proc_waitall(VALUE self)
{
    VALUE result = rb_ary_new();

    (void)self;
    for (;;) {
        int status = 0, err = 0;
        pid_t r = wait_children(-1, 0, &status, &err);

        if (r == -1) {
            if (err == ECHILD)
                break;
            rb_syserr_fail(err, NULL);
        }
        rb_ary_push(result, rb_assoc_new(PIDT2NUM(r), new_status(status, r)));
    }
    return result;
}

/*
 * call-seq:
 *   Process::Status.wait(pid = -1, flags = 0) -> status or nil
 *
 * As Ruby's, through ward.  Like Ruby's, an error gives a status with pid
 * -1 rather than an exception; $? is left as it was (as an equal copy).
 */
static VALUE
status_s_wait(int argc, VALUE *argv, VALUE self)
{
    pid_t pid, r;
    int flags, status = 0, err = 0;

    (void)self;
    wait_args(argc, argv, &pid, &flags);
    if ((r = wait_children(pid, flags, &status, &err)) == -1)
        return new_status_quiet(0, -1);
    if (r == 0)
        return Qnil;
    return new_status_quiet(status, r);
}

/*
 * Ward.__detach_wait(pid) -> status or nil: the body of the thread that
 * Process.detach returns (lib/ward.rb).  nil when pid is no child of ours
 * (a private pid included).
 */
static VALUE
ward_s_detach_wait(VALUE self, VALUE vpid)
{
    pid_t pid = NUM2PIDT(vpid), r;
    int status = 0, err = 0;

    (void)self;
    if ((r = wait_children(pid, 0, &status, &err)) == -1) {
        if (err == ECHILD)
            return Qnil;
        rb_syserr_fail(err, NULL);
    }
    return new_status(status, r);
}

/* ---- the guard ----------------------------------------------------------- */

/*
 * A SIGCHLD trap must not run for private children.  Ruby's trap runs from
 * the VM's own C handler for SIGCHLD, which only libward-guard can keep
 * behind its own (ward(7)).  Three situations, told apart at load time:
 *
 *  :preload  libward-guard was loaded with LD_PRELOAD: it replaced libc's
 *            sigaction() and wait family for Ruby itself.  Nothing to do.
 *  :linked   libward-guard came in as this extension's library.  Its
 *            constructor took SIGCHLD then, keeping Ruby's handler as the
 *            program's.  But Ruby's own sigaction() calls still reach libc:
 *            each Signal.trap(:CHLD, ...) puts Ruby's handler back in
 *            front.  lib/ward.rb wraps Signal.trap and Kernel#trap to call
 *            Ward.__readopt_sigchld after them, which hands the action
 *            Ruby just set to the guard's sigaction().
 *  nil       plain libward: Process.wait and friends still never see a
 *            private child, but a SIGCHLD trap runs when one ends.
 */
typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static sigaction_fn guard_sigaction;
static void *guard_handler;
static VALUE guard_mode = Qnil;
static VALUE library_path = Qnil;

static void *
action_handler(const struct sigaction *sa)
{
    return (sa->sa_flags & SA_SIGINFO) ? (void *)sa->sa_sigaction
                                       : (void *)sa->sa_handler;
}

static void
detect_guard(void)
{
    Dl_info wi, si, hi;
    struct sigaction cur;
    void *lib, *gs;

    if (!dladdr((void *)ward_spawn, &wi) || wi.dli_fname == NULL)
        return;
    library_path = rb_str_new_cstr(wi.dli_fname);
    rb_obj_freeze(library_path);
    if ((lib = dlopen(wi.dli_fname, RTLD_LAZY | RTLD_NOLOAD)) == NULL)
        return;
    gs = dlsym(lib, "sigaction");
    dlclose(lib);
    if (gs == NULL || !dladdr(gs, &si) || si.dli_fbase != wi.dli_fbase)
        return; /* plain libward */
    if (dlsym(RTLD_DEFAULT, "sigaction") == gs) {
        guard_mode = sym_preload;
        return;
    }
    /* Our own sigaction() reference is libc's here: the real disposition. */
    if (sigaction(SIGCHLD, NULL, &cur) == -1 || !dladdr(action_handler(&cur), &hi) ||
        hi.dli_fbase != wi.dli_fbase)
        return; /* the guard did not take SIGCHLD */
    guard_sigaction = (sigaction_fn)gs;
    guard_handler = action_handler(&cur);
    guard_mode = sym_linked;
}

/*
 * Ward.__readopt_sigchld -> true or false
 *
 * In :linked mode, if Ruby put its own SIGCHLD handler in front of the
 * guard's, give its action to the guard again.  true if it had to.
 */
static VALUE
ward_s_readopt_sigchld(VALUE self)
{
    struct sigaction cur;

    (void)self;
    if (guard_mode != sym_linked)
        return Qfalse;
    if (sigaction(SIGCHLD, NULL, &cur) == -1 || action_handler(&cur) == guard_handler)
        return Qfalse;
    if (guard_sigaction(SIGCHLD, &cur, NULL) == -1)
        rb_syserr_fail(errno, "sigaction");
    return Qtrue;
}

/*
 * Ward.__child_report? -> true or false
 *
 * Whether a child that is not private has something to report (an exit,
 * or a stop or continue), consuming nothing: what a SIGCHLD trap is for.
 * lib/ward.rb runs a SIGCHLD trap only then.  true in doubt.
 */
static VALUE
ward_s_child_report_p(VALUE self)
{
    siginfo_t si;

    (void)self;
    if (tl_prepared)
        return Qtrue;
    memset(&si, 0, sizeof(si));
    if (ward_waitid(P_ALL, 0, &si, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT) == -1)
        return errno == ECHILD ? Qfalse : Qtrue;
    return si.si_pid != 0 ? Qtrue : Qfalse;
}

/*
 * call-seq:
 *   Ward.guard -> :preload, :linked or nil
 *
 * How libward-guard keeps SIGCHLD traps from running for private children
 * in this process: see bindings/ruby/README.md.
 */
static VALUE
ward_s_guard(VALUE self)
{
    (void)self;
    return guard_mode;
}

/*
 * call-seq:
 *   Ward.library_path -> string or nil
 *
 * The file of the ward library in use (libward or libward-guard).
 */
static VALUE
ward_s_library_path(VALUE self)
{
    (void)self;
    return library_path;
}

/*
 * call-seq:
 *   Ward.backend -> "linux" or "posix"
 */
static VALUE
ward_s_backend(VALUE self)
{
    const char *b = ward_backend();

    (void)self;
    if (b == NULL)
        rb_syserr_fail(errno, "ward_backend");
    return rb_str_new_cstr(b);
}

/*
 * call-seq:
 *   Ward.library_version -> string
 *
 * The version of libward, e.g. "0.1.0".
 */
static VALUE
ward_s_library_version(VALUE self)
{
    (void)self;
    return rb_str_new_cstr(ward_version());
}

/* ---- setup ----------------------------------------------------------------- */

/*
 * Process._fork becomes proc__fork.  Gems may have prepended hooks to it
 * already: the original is the one owned by Process's singleton class
 * itself, found by walking super_method from the first.
 */
static void
hook_fork(void)
{
    VALUE sclass = rb_singleton_class(rb_mProcess);
    VALUE m;

    if (!RTEST(rb_funcall(rb_mProcess, rb_intern("respond_to?"), 1,
                          ID2SYM(id__fork))))
        rb_raise(rb_eLoadError, "ward: this Ruby has no Process._fork (3.1 or later needed)");
    m = rb_funcall(sclass, rb_intern("instance_method"), 1, ID2SYM(id__fork));
    while (!NIL_P(m) && rb_funcall(m, rb_intern("owner"), 0) != sclass)
        m = rb_funcall(m, rb_intern("super_method"), 0);
    if (NIL_P(m))
        rb_raise(rb_eLoadError, "ward: cannot find Ruby's own Process._fork");
    orig_fork = m;
    rb_gc_register_mark_object(orig_fork);
    rb_remove_method(sclass, "_fork");
    rb_define_singleton_method(rb_mProcess, "_fork", proc__fork, 0);
}

static void
replace_module_function(VALUE mod, const char *name, VALUE (*fn)(ANYARGS), int argc)
{
    VALUE sclass = rb_singleton_class(mod);
    ID id = rb_intern(name);

    if (rb_method_boundp(sclass, id, 0))
        rb_remove_method(sclass, name);
    if (rb_method_boundp(mod, id, 0) || rb_method_boundp(mod, id, 1))
        rb_remove_method(mod, name);
    rb_define_module_function(mod, name, fn, argc);
}

void
Init_ward_ext(void)
{
    /*
     * Order matters: prepare handlers run in the reverse order of
     * registration, child and parent handlers in that order.  ours,
     * registered after ward's (which ward_backend() registers), calls
     * ward_fork_prepare() before ward's handler takes ward's lock, and
     * ward_fork_parent() and ward_fork_child() after ward's handlers have
     * let it go and reset the table.
     */
    if (ward_backend() == NULL)
        backend_errno = errno != 0 ? errno : ENOSYS;
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);

    id_bind_call = rb_intern("bind_call");
    id__fork = rb_intern("_fork");
    id_to_i = rb_intern("to_i");
    id_pid = rb_intern("pid");
    id_closed_p = rb_intern("closed?");
    sym_preload = ID2SYM(rb_intern("preload"));
    sym_linked = ID2SYM(rb_intern("linked"));

    detect_guard();
    rb_gc_register_address(&library_path);

    mWard = rb_define_module("Ward");
    rb_define_const(mWard, "NEW_PGROUP", UINT2NUM(WARD_NEW_PGROUP));
    rb_define_const(mWard, "INHERIT_FDS", UINT2NUM(WARD_INHERIT_FDS));
    rb_define_singleton_method(mWard, "backend", ward_s_backend, 0);
    rb_define_singleton_method(mWard, "library_version", ward_s_library_version, 0);
    rb_define_singleton_method(mWard, "library_path", ward_s_library_path, 0);
    rb_define_singleton_method(mWard, "guard", ward_s_guard, 0);
    rb_define_singleton_method(mWard, "__readopt_sigchld", ward_s_readopt_sigchld, 0);
    rb_define_singleton_method(mWard, "__spawn", ward_s_spawn, 10);
    rb_define_singleton_method(mWard, "__inheritable_fds", ward_s_inheritable_fds, 0);
    rb_define_singleton_method(mWard, "__detach_wait", ward_s_detach_wait, 1);
    rb_define_singleton_method(mWard, "__child_report?", ward_s_child_report_p, 0);

    cStatus = rb_path2class("Process::Status");
    cHandle = rb_define_class_under(rb_mProcess, "PrivateHandle", rb_cObject);
    rb_undef_alloc_func(cHandle);
    rb_undef_method(CLASS_OF(cHandle), "new");
    rb_define_method(cHandle, "pid", handle_pid, 0);
    rb_define_method(cHandle, "wait", handle_wait, -1);
    rb_define_method(cHandle, "wait_nonblock", handle_wait_nonblock, 0);
    rb_define_method(cHandle, "reaped?", handle_reaped_p, 0);
    rb_define_method(cHandle, "status", handle_status, 0);
    rb_define_method(cHandle, "terminate", handle_terminate, -1);
    rb_define_method(cHandle, "to_io", handle_to_io, 0);
    rb_define_private_method(cHandle, "__kill", handle_kill, 2);

    rb_define_singleton_method(rb_mProcess, "fork_private", proc_fork_private, 0);
    replace_module_function(rb_mProcess, "wait", proc_wait, -1);
    replace_module_function(rb_mProcess, "waitpid", proc_wait, -1);
    replace_module_function(rb_mProcess, "wait2", proc_wait2, -1);
    replace_module_function(rb_mProcess, "waitpid2", proc_wait2, -1);
    replace_module_function(rb_mProcess, "waitall", proc_waitall, 0);
    {
        VALUE sclass = rb_singleton_class(cStatus);

        if (rb_method_boundp(sclass, rb_intern("wait"), 0))
            rb_remove_method(sclass, "wait");
        rb_define_singleton_method(cStatus, "wait", status_s_wait, -1);
    }
    hook_fork();
}
