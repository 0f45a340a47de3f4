/*
 * _ward.c - the C half of the Python binding of ward: private child
 * processes for CPython (see bindings/python/README.md).
 *
 * This file holds what must be C: the PrivateHandle type and its waits,
 * the spawn primitive behind ward.spawn() and ward.Popen (whose argument
 * handling is Python, in ward/__init__.py), fork_private's hook around
 * CPython's own os.fork(), the wait family rebuilt on ward_waitpid(3) and
 * ward_waitid(3), and the hand-over of SIGCHLD to libward-guard.
 *
 * Rules kept throughout:
 *  - Every wait that may block runs without the GIL.  A handle waits with
 *    ward_timedwait() (a NULL deadline when there is none), never
 *    ward_wait(): ward_timedwait() fails with EINTR after any signal
 *    handler, whatever its flags.  On EINTR the Python signal handlers run
 *    (PyErr_CheckSignals()); if one raises (KeyboardInterrupt), the wait
 *    ends with that exception, otherwise it goes on, as PEP 475 asks.
 *  - ward's spawn gate is held only inside ward and inside fork() for
 *    fork_private (in pthread_atfork handlers, where no Python code runs).
 *  - Errors become the OSError subclass of the errno ward reported.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* dladdr(), pipe2() */
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <ward.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- time -------------------------------------------------------------- */

/* A deadline timeout seconds from now on CLOCK_MONOTONIC; -1 on a bad value. */
static int
deadline_in(PyObject *timeout, struct timespec *ts)
{
    double s = PyFloat_AsDouble(timeout);
    time_t whole;

    if (s == -1.0 && PyErr_Occurred())
        return -1;
    if (s != s) {
        PyErr_SetString(PyExc_ValueError, "timeout must not be NaN");
        return -1;
    }
    if (s < 0)
        s = 0; /* as subprocess: a negative timeout has already passed */
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
    return 0;
}

/* ---- fork state (see "fork" below) ------------------------------------- */

static __thread int tl_want;            /* this thread's next fork() is private */
static __thread int tl_prepared;        /* ward_fork_prepare() holds the gate */
static __thread int tl_pipe[2] = { -1, -1 }; /* the child tells its pid */
static __thread ward_child *tl_child;   /* the handle made in the parent */
static __thread int tl_err;             /* or why there is none */
static __thread int tl_refused;         /* ward_fork_prepare() failed: the
                                           child must end at once */

/* ---- PrivateHandle ------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    ward_child *child;
    pid_t pid;
    pid_t owner;        /* getpid() of the process that started the child */
    unsigned int flags; /* WARD_NEW_PGROUP or _SESSION: it leads a group */
    int reaped;         /* status below is the final one */
    int status;
} Handle;

static PyTypeObject HandleType;

static PyObject *
handle_wrap(ward_child *child, unsigned int flags)
{
    Handle *h = PyObject_New(Handle, &HandleType);

    if (h == NULL) {
        ward_free(child);
        return NULL;
    }
    h->child = child;
    h->pid = ward_pid(child);
    h->owner = getpid();
    h->flags = flags;
    h->reaped = 0;
    h->status = 0;
    return (PyObject *)h;
}

/*
 * ward_free() never blocks for a handle without WARD_KILL_ON_FREE: a child
 * still running is reaped by ward later, never left a zombie.
 */
static void
handle_dealloc(Handle *h)
{
    if (h->child != NULL)
        ward_free(h->child);
    PyObject_Free(h);
}

/* A handle inherited across fork() names the parent's child, not ours. */
static int
check_owner(const Handle *h)
{
    if (h->owner != getpid()) {
        errno = ECHILD;
        PyErr_SetString(PyExc_ChildProcessError,
                        "the handle belongs to the parent process "
                        "(inherited across fork)");
        return -1;
    }
    return 0;
}

static void
wait_failed(const Handle *h, int err)
{
    if (err == ECHILD) {
        PyErr_Format(PyExc_ChildProcessError,
                     "[Errno %d] the status of pid %ld was taken by a waiter "
                     "outside ward and cannot be recovered", ECHILD, (long)h->pid);
        return;
    }
    errno = err;
    PyErr_SetFromErrno(PyExc_OSError);
}

/*
 * Wait for the child without the GIL until deadline (NULL: none).
 * Returns 1 with h->status set, 0 when the deadline passed, -1 with an
 * exception (a signal handler raised, or the wait failed).
 */
static int
handle_block(Handle *h, const struct timespec *deadline)
{
    for (;;) {
        int r, err, status = 0;

        Py_BEGIN_ALLOW_THREADS
        r = ward_timedwait(h->child, &status, deadline);
        err = errno;
        Py_END_ALLOW_THREADS
        if (r == 0) {
            h->status = status;
            h->reaped = 1;
            return 1;
        }
        if (err == EINTR) {
            if (PyErr_CheckSignals() == -1)
                return -1;
            continue;
        }
        if (err == ETIMEDOUT)
            return 0;
        wait_failed(h, err);
        return -1;
    }
}

/* A nonblocking look: 1 reaped, 0 running, -1 exception. */
static int
handle_try(Handle *h)
{
    int status;

    if (h->reaped)
        return 1;
    if (check_owner(h) == -1)
        return -1;
    if (ward_trywait(h->child, &status) == 0) {
        h->status = status;
        h->reaped = 1;
        return 1;
    }
    if (errno == EAGAIN)
        return 0;
    wait_failed(h, errno);
    return -1;
}

static PyObject *
handle_wait(Handle *h, PyObject *args, PyObject *kw)
{
    static char *names[] = { "timeout", NULL };
    PyObject *timeout = Py_None;
    struct timespec ts;
    int r;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:wait", names, &timeout))
        return NULL;
    if (timeout != Py_None && deadline_in(timeout, &ts) == -1)
        return NULL;
    if (h->reaped)
        return PyLong_FromLong(h->status);
    if (check_owner(h) == -1)
        return NULL;
    r = handle_block(h, timeout == Py_None ? NULL : &ts);
    if (r == -1)
        return NULL;
    if (r == 0)
        Py_RETURN_NONE;
    return PyLong_FromLong(h->status);
}

static PyObject *
handle_poll(Handle *h, PyObject *unused)
{
    int r = handle_try(h);

    (void)unused;
    if (r == -1)
        return NULL;
    if (r == 0)
        Py_RETURN_NONE;
    return PyLong_FromLong(h->status);
}

static PyObject *
handle_kill(Handle *h, PyObject *args, PyObject *kw)
{
    static char *names[] = { "signal", "group", NULL };
    int sig = SIGKILL, group = 0, r;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|ip:kill", names, &sig, &group))
        return NULL;
    if (h->reaped) {
        errno = ESRCH;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    if (group) {
        if (!(h->flags & (WARD_NEW_PGROUP | WARD_NEW_SESSION))) {
            PyErr_SetString(PyExc_ValueError, "the child does not lead a process "
                                              "group (spawn it with process_group=0)");
            return NULL;
        }
        r = ward_killpg(h->child, sig);
    } else {
        r = ward_kill(h->child, sig);
    }
    if (r == -1)
        return PyErr_SetFromErrno(PyExc_OSError);
    Py_RETURN_NONE;
}

/* Signal the child, or its group if it leads one; a reaped child is fine. */
static int
terminate_signal(Handle *h, int sig)
{
    int r = (h->flags & (WARD_NEW_PGROUP | WARD_NEW_SESSION))
                ? ward_killpg(h->child, sig) : ward_kill(h->child, sig);

    if (r == -1 && errno != ESRCH) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    return 0;
}

/*
 * As ward_terminate(3): SIGTERM and SIGCONT, grace seconds, then SIGKILL;
 * but the waits run signal handlers and can be interrupted.
 */
static PyObject *
handle_terminate(Handle *h, PyObject *args, PyObject *kw)
{
    static char *names[] = { "grace", NULL };
    PyObject *grace = NULL;
    struct timespec ts;
    int r;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:terminate", names, &grace))
        return NULL;
    if ((r = handle_try(h)) == -1)
        return NULL;
    if (r == 1)
        return PyLong_FromLong(h->status);
    if (grace == NULL) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += 5;
    } else if (deadline_in(grace, &ts) == -1) {
        return NULL;
    }
    if (terminate_signal(h, SIGTERM) == -1 || terminate_signal(h, SIGCONT) == -1)
        return NULL;
    if ((r = handle_block(h, &ts)) == -1)
        return NULL;
    if (r == 0) {
        if (terminate_signal(h, SIGKILL) == -1 || handle_block(h, NULL) == -1)
            return NULL;
    }
    return PyLong_FromLong(h->status);
}

static PyObject *
handle_fileno(Handle *h, PyObject *unused)
{
    int fd;

    (void)unused;
    if (check_owner(h) == -1)
        return NULL;
    if ((fd = ward_pidfd(h->child)) == -1)
        return PyErr_SetFromErrno(PyExc_OSError);
    return PyLong_FromLong(fd);
}

/* The parent's end of a WARD_STDIO_PIPE, now the caller's to close. */
static PyObject *
handle_take_stdio(Handle *h, PyObject *arg)
{
    int n = (int)PyLong_AsLong(arg), fd;

    if (n == -1 && PyErr_Occurred())
        return NULL;
    if ((fd = ward_stdio_take(h->child, n)) == -1)
        return PyErr_SetFromErrno(PyExc_OSError);
    return PyLong_FromLong(fd);
}

static PyObject *
handle_get_pid(Handle *h, void *unused)
{
    (void)unused;
    return PyLong_FromLong((long)h->pid);
}

static PyObject *
handle_get_status(Handle *h, void *unused)
{
    (void)unused;
    if (!h->reaped)
        Py_RETURN_NONE;
    return PyLong_FromLong(h->status);
}

static PyObject *
handle_get_returncode(Handle *h, void *unused)
{
    (void)unused;
    if (!h->reaped)
        Py_RETURN_NONE;
    if (WIFSIGNALED(h->status))
        return PyLong_FromLong(-WTERMSIG(h->status));
    return PyLong_FromLong(WEXITSTATUS(h->status));
}

static PyObject *
handle_repr(Handle *h)
{
    return PyUnicode_FromFormat("<ward.PrivateHandle pid=%ld%s>", (long)h->pid,
                                h->reaped ? " reaped" : "");
}

static PyMethodDef handle_methods[] = {
    { "wait", (PyCFunction)(void (*)(void))handle_wait, METH_VARARGS | METH_KEYWORDS,
      "wait(timeout=None) -> wait status, or None if timeout seconds passed.\n\n"
      "The same status every call, from any thread.  Releases the GIL; signal\n"
      "handlers run while it waits (KeyboardInterrupt ends it)." },
    { "poll", (PyCFunction)handle_poll, METH_NOARGS,
      "poll() -> wait status, or None while the child runs." },
    { "kill", (PyCFunction)(void (*)(void))handle_kill, METH_VARARGS | METH_KEYWORDS,
      "kill(signal=SIGKILL, group=False): signal the child (or its group).\n\n"
      "ProcessLookupError once the child is reaped, without a system call." },
    { "terminate", (PyCFunction)(void (*)(void))handle_terminate,
      METH_VARARGS | METH_KEYWORDS,
      "terminate(grace=5.0) -> wait status: SIGTERM, then SIGKILL after grace\n"
      "seconds (the whole group for a group leader)." },
    { "fileno", (PyCFunction)handle_fileno, METH_NOARGS,
      "fileno() -> the child's process descriptor (readable once it ended),\n"
      "owned by the handle.  OSError(ENOTSUP) on the posix backend." },
    { "_take_stdio", (PyCFunction)handle_take_stdio, METH_O, NULL },
    { NULL, NULL, 0, NULL },
};

static PyGetSetDef handle_getset[] = {
    { "pid", (getter)handle_get_pid, NULL, "the child's process ID", NULL },
    { "status", (getter)handle_get_status, NULL,
      "the wait status once reaped, else None", NULL },
    { "returncode", (getter)handle_get_returncode, NULL,
      "as subprocess: exit code, -signal, or None while running", NULL },
    { NULL, NULL, NULL, NULL, NULL },
};

static PyTypeObject HandleType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ward.PrivateHandle",
    .tp_basicsize = sizeof(Handle),
    .tp_dealloc = (destructor)handle_dealloc,
    .tp_repr = (reprfunc)handle_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A private child: made by ward.spawn() or ward.fork_private().",
    .tp_methods = handle_methods,
    .tp_getset = handle_getset,
};

/* ---- spawn --------------------------------------------------------------- */

/* A NULL-terminated copy of a sequence of bytes; NULL with an exception. */
static char **
bytes_vector(PyObject *seq, const char *what)
{
    PyObject *fast = PySequence_Fast(seq, what);
    Py_ssize_t n, i;
    char **v;

    if (fast == NULL)
        return NULL;
    n = PySequence_Fast_GET_SIZE(fast);
    if ((v = calloc((size_t)n + 1, sizeof(char *))) == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return NULL;
    }
    for (i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
        char *s;
        Py_ssize_t len;

        if (PyBytes_AsStringAndSize(item, &s, &len) == -1)
            goto fail;
        if ((Py_ssize_t)strlen(s) != len) {
            PyErr_Format(PyExc_ValueError, "embedded null byte in %s", what);
            goto fail;
        }
        if ((v[i] = strdup(s)) == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
    }
    Py_DECREF(fast);
    return v;
fail:
    for (i = 0; v[i] != NULL; i++)
        free(v[i]);
    free(v);
    Py_DECREF(fast);
    return NULL;
}

static void
free_vector(char **v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

/* Values of the stdio arguments of _ward.spawn below 0. */
#define STDIO_INHERIT (-1)
#define STDIO_NULL    (-2)
#define STDIO_PIPE    (-3)

/*
 * spawn(file, argv, env, cwd, umask, flags, stdio, fdmap) -> PrivateHandle
 *
 * file: bytes or None (argv[0], searched in PATH); argv, env: sequences of
 * bytes (env None: the caller's); cwd: bytes or None; umask: -1 to leave
 * it; flags: WARD_* flags; stdio: three ints, a descriptor or one of
 * STDIO_INHERIT, STDIO_NULL, STDIO_PIPE; fdmap: (parentfd, childfd)
 * pairs.  The spawn itself runs without the GIL.
 */
static PyObject *
py_spawn(PyObject *self, PyObject *args)
{
    PyObject *file, *argv_o, *env_o, *cwd_o, *fdmap, *fast = NULL, *ret = NULL;
    int umask_v, stdio[3];
    unsigned int flags;
    char **argv = NULL, **envp = NULL;
    const char *path = NULL;
    ward_attr *attr = NULL;
    ward_child *child;
    int err;

    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOiI(iii)O:spawn", &file, &argv_o, &env_o, &cwd_o,
                          &umask_v, &flags, &stdio[0], &stdio[1], &stdio[2], &fdmap))
        return NULL;
    if ((argv = bytes_vector(argv_o, "argv")) == NULL)
        goto out;
    if (argv[0] == NULL) {
        PyErr_SetString(PyExc_ValueError, "argv must not be empty");
        goto out;
    }
    if (env_o != Py_None && (envp = bytes_vector(env_o, "env")) == NULL)
        goto out;
    if (file != Py_None && (path = PyBytes_AsString(file)) == NULL)
        goto out;
    if ((attr = ward_attr_new()) == NULL) {
        PyErr_SetFromErrno(PyExc_OSError);
        goto out;
    }
    if (ward_attr_setflags(attr, flags) == -1 ||
        (envp != NULL && ward_attr_setenv(attr, envp) == -1) ||
        (umask_v >= 0 && ward_attr_setumask(attr, (mode_t)umask_v) == -1)) {
        PyErr_SetFromErrno(PyExc_OSError);
        goto out;
    }
    if (cwd_o != Py_None) {
        const char *dir = PyBytes_AsString(cwd_o);

        if (dir == NULL)
            goto out;
        if (ward_attr_setcwd(attr, dir) == -1) {
            PyErr_SetFromErrno(PyExc_OSError);
            goto out;
        }
    }
    for (int i = 0; i < 3; i++) {
        int mode = stdio[i] >= 0 ? WARD_STDIO_FD
                   : stdio[i] == STDIO_NULL ? WARD_STDIO_NULL
                   : stdio[i] == STDIO_PIPE ? WARD_STDIO_PIPE : WARD_STDIO_INHERIT;

        if (ward_attr_setstdio(attr, i, mode, stdio[i]) == -1) {
            PyErr_SetFromErrno(PyExc_OSError);
            goto out;
        }
    }
    if ((fast = PySequence_Fast(fdmap, "fdmap")) == NULL)
        goto out;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(fast); i++) {
        int pfd, cfd;

        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, i), "ii", &pfd, &cfd))
            goto out;
        if (ward_attr_mapfd(attr, pfd, cfd) == -1) {
            PyErr_SetFromErrno(PyExc_OSError);
            goto out;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    child = ward_spawn(path, argv, attr);
    err = errno;
    Py_END_ALLOW_THREADS
    if (child == NULL) {
        errno = err;
        PyErr_SetFromErrno(PyExc_OSError);
        goto out;
    }
    ret = handle_wrap(child, flags);
out:
    Py_XDECREF(fast);
    ward_attr_free(attr);
    free_vector(argv);
    free_vector(envp);
    return ret;
}

/* ---- fork ---------------------------------------------------------------- */

/*
 * fork_private() calls CPython's own os.fork(), so that the interpreter's
 * work around fork (os.register_at_fork hooks, the import lock, the
 * thread states) is done as for any fork.  ward's part runs inside libc's
 * fork(), in pthread_atfork handlers where no Python code runs, and only
 * for a fork() of the thread that asked: ward_fork_prepare() before the
 * fork, ward_fork_child() in the child, which writes its pid to a pipe,
 * and ward_fork_parent(pid) in the parent once it has read it.  The handle
 * thus exists before fork() returns: no wait for any child, and no signal
 * handler Python runs after the fork, can see the child first.
 */
static void
atfork_prepare(void)
{
    if (!tl_want)
        return;
    tl_want = 0;
    if (ward_fork_prepare() == -1) {
        /*
         * fork() cannot be stopped from here: the child it makes ends in
         * atfork_child() before any Python code runs, and the parent
         * reaps it and raises.
         */
        tl_err = errno;
        tl_refused = 1;
        return;
    }
    tl_prepared = 1;
}

static void
close_fork_pipe(void)
{
    for (int i = 0; i < 2; i++) {
        if (tl_pipe[i] != -1) {
            close(tl_pipe[i]);
            tl_pipe[i] = -1;
        }
    }
}

static void
atfork_parent(void)
{
    pid_t pid = -1;
    ssize_t n;

    if (!tl_prepared)
        return;
    tl_prepared = 0;
    close(tl_pipe[1]);
    tl_pipe[1] = -1;
    /* EOF: fork() failed (glibc runs the parent handlers then too). */
    while ((n = read(tl_pipe[0], &pid, sizeof(pid))) == -1 && errno == EINTR)
        ;
    close_fork_pipe();
    if (n != (ssize_t)sizeof(pid))
        pid = -1;
    tl_child = ward_fork_parent(pid, 0);
    if (tl_child == NULL)
        tl_err = pid == -1 ? EAGAIN : errno;
}

static void
atfork_child(void)
{
    pid_t me;

    if (tl_refused)
        _exit(127); /* the parent raises; the caller's child code must not run */
    if (!tl_prepared)
        return;
    tl_prepared = 0;
    ward_fork_child();
    me = getpid();
    close(tl_pipe[0]);
    tl_pipe[0] = -1;
    while (write(tl_pipe[1], &me, sizeof(me)) == -1 && errno == EINTR)
        ;
    close_fork_pipe();
}

/*
 * _fork_private(os_fork) -> 0 in the child, a PrivateHandle in the parent.
 *
 * Whatever can fail before the fork (the pipe) fails here, with no fork.
 * If ward's part fails around the fork, the parent gets an exception and
 * no child is left running the caller's child branch: a child whose
 * ward_fork_prepare() failed ends in atfork_child(), and one that
 * ward_fork_parent() could not take (out of memory) is killed; either is
 * reaped here.
 */
static PyObject *
py_fork_private(PyObject *self, PyObject *os_fork)
{
    PyObject *r;
    long pid;

    (void)self;
    if (pipe2(tl_pipe, O_CLOEXEC) == -1) {
        tl_pipe[0] = tl_pipe[1] = -1;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    tl_child = NULL;
    tl_err = 0;
    tl_refused = 0;
    tl_want = 1;
    r = PyObject_CallNoArgs(os_fork);
    tl_want = 0;
    close_fork_pipe(); /* still open if the prepare handler did not run */
    if (r == NULL) {
        /* os.fork() failed (or a hook raised before it forked). */
        tl_refused = 0;
        if (tl_child != NULL) {
            ward_free(tl_child);
            tl_child = NULL;
        }
        return NULL;
    }
    pid = PyLong_AsLong(r);
    Py_DECREF(r);
    if (pid == -1 && PyErr_Occurred())
        return NULL;
    if (pid == 0)
        return PyLong_FromLong(0);
    if (tl_child == NULL) {
        int err = tl_err != 0 ? tl_err : EAGAIN;

        Py_BEGIN_ALLOW_THREADS
        if (!tl_refused)
            kill((pid_t)pid, SIGKILL);
        while (waitpid((pid_t)pid, NULL, 0) == -1 && errno == EINTR)
            ;
        Py_END_ALLOW_THREADS
        tl_refused = 0;
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    r = handle_wrap(tl_child, 0);
    tl_child = NULL;
    return r;
}

/* ---- the wait family ---------------------------------------------------- */

/*
 * waitpid(pid, options) -> (pid, status): os.waitpid as if the private
 * children did not exist.  Blocks without the GIL; PEP 475 on EINTR.
 */
static PyObject *
py_waitpid(PyObject *self, PyObject *args)
{
    int pid, options, status = 0, err;
    pid_t r;

    (void)self;
    if (!PyArg_ParseTuple(args, "ii:waitpid", &pid, &options))
        return NULL;
    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        r = ward_waitpid(pid, &status, options);
        err = errno;
        Py_END_ALLOW_THREADS
        if (r != -1)
            break;
        if (err != EINTR) {
            errno = err;
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        if (PyErr_CheckSignals() == -1)
            return NULL;
    }
    return Py_BuildValue("(ii)", (int)r, r > 0 ? status : 0);
}

/*
 * waitid(idtype, id, options) -> None or (pid, uid, signo, status, code).
 */
static PyObject *
py_waitid(PyObject *self, PyObject *args)
{
    int idtype, options, r, err;
    long id;
    siginfo_t si;

    (void)self;
    if (!PyArg_ParseTuple(args, "ili:waitid", &idtype, &id, &options))
        return NULL;
    for (;;) {
        memset(&si, 0, sizeof(si));
        Py_BEGIN_ALLOW_THREADS
        r = ward_waitid((idtype_t)idtype, (id_t)id, &si, options);
        err = errno;
        Py_END_ALLOW_THREADS
        if (r != -1)
            break;
        if (err != EINTR) {
            errno = err;
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        if (PyErr_CheckSignals() == -1)
            return NULL;
    }
    if (si.si_pid == 0)
        Py_RETURN_NONE;
    return Py_BuildValue("(iiiii)", (int)si.si_pid, (int)si.si_uid, si.si_signo,
                         si.si_status, si.si_code);
}

static PyObject *
rusage_tuple(const struct rusage *ru)
{
    return Py_BuildValue("(ddllllllllllllll)",
                         (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec * 1e-6,
                         (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec * 1e-6,
                         ru->ru_maxrss, ru->ru_ixrss, ru->ru_idrss, ru->ru_isrss,
                         ru->ru_minflt, ru->ru_majflt, ru->ru_nswap, ru->ru_inblock,
                         ru->ru_oublock, ru->ru_msgsnd, ru->ru_msgrcv,
                         ru->ru_nsignals, ru->ru_nvcsw, ru->ru_nivcsw);
}

/*
 * wait4(pid, options) -> (pid, status, rusage tuple): os.wait4 as if the
 * private children did not exist.  ward's wait family has no resource
 * usage, so the child to report is found with ward_waitid(WNOWAIT), which
 * consumes nothing and never names a private child, and then reaped with
 * the C library's wait4() on its own pid.  If another thread reaped it in
 * between, the look starts again.
 */
static PyObject *
py_wait4(PyObject *self, PyObject *args)
{
    int pid, options, status, r, err, wopts;
    idtype_t idtype;
    id_t id;
    siginfo_t si;
    struct rusage ru;
    pid_t got;

    (void)self;
    if (!PyArg_ParseTuple(args, "ii:wait4", &pid, &options))
        return NULL;
    if (options & ~(WNOHANG | WUNTRACED | WCONTINUED)) {
        errno = EINVAL;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    idtype = pid > 0 ? P_PID : pid == -1 ? P_ALL : P_PGID;
    id = pid > 0 ? (id_t)pid : pid == -1 ? 0 : pid == 0 ? (id_t)getpgrp() : (id_t)-pid;
    wopts = WEXITED | WNOWAIT | (options & WNOHANG) | (options & WCONTINUED) |
            ((options & WUNTRACED) ? WSTOPPED : 0);
    for (;;) {
        memset(&si, 0, sizeof(si));
        Py_BEGIN_ALLOW_THREADS
        r = ward_waitid(idtype, id, &si, wopts);
        err = errno;
        Py_END_ALLOW_THREADS
        if (r == -1) {
            if (err != EINTR) {
                errno = err;
                return PyErr_SetFromErrno(PyExc_OSError);
            }
            if (PyErr_CheckSignals() == -1)
                return NULL;
            continue;
        }
        if (si.si_pid == 0) {
            memset(&ru, 0, sizeof(ru));
            return Py_BuildValue("(iiN)", 0, 0, rusage_tuple(&ru));
        }
        memset(&ru, 0, sizeof(ru));
        status = 0;
        got = wait4(si.si_pid, &status, (options & (WUNTRACED | WCONTINUED)) | WNOHANG, &ru);
        if (got > 0)
            return Py_BuildValue("(iiN)", (int)got, status, rusage_tuple(&ru));
        /* Taken by another thread in between: look again. */
    }
}

/* ---- SIGCHLD and libward-guard ------------------------------------------ */

/*
 * A SIGCHLD handler must not run for private children.  CPython runs
 * Python handlers from its own C handler, which only libward-guard can keep
 * behind its own (ward(7)).  Three situations, told apart at import:
 *
 *  "preload"  libward-guard was loaded with LD_PRELOAD: it replaced libc's
 *             sigaction() and wait family for the interpreter itself.
 *  "linked"   libward-guard came in as this extension's library.  Its
 *             constructor took SIGCHLD then, but CPython's own sigaction()
 *             calls still reach libc: each signal.signal(SIGCHLD, ...) puts
 *             CPython's handler in front.  ward/__init__.py wraps
 *             signal.signal to call _readopt_sigchld() after it, which hands
 *             the action CPython just set to the guard's sigaction().
 *  None       plain libward: SIGCHLD handlers run when a private child ends.
 */
typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static sigaction_fn guard_sigaction;
static void *guard_base;        /* where libward-guard is loaded */
static const char *guard_mode;
static const char *library_path;

static void *
action_handler(const struct sigaction *sa)
{
    return (sa->sa_flags & SA_SIGINFO) ? (void *)sa->sa_sigaction
                                       : (void *)sa->sa_handler;
}

static void
detect_guard(void)
{
    Dl_info wi, si;
    void *lib, *gs;

    if (!dladdr((void *)ward_spawn, &wi) || wi.dli_fname == NULL)
        return;
    library_path = wi.dli_fname;
    if ((lib = dlopen(wi.dli_fname, RTLD_LAZY | RTLD_NOLOAD)) == NULL)
        return;
    gs = dlsym(lib, "sigaction");
    dlclose(lib);
    if (gs == NULL || !dladdr(gs, &si) || si.dli_fbase != wi.dli_fbase)
        return; /* plain libward */
    if (dlsym(RTLD_DEFAULT, "sigaction") == gs) {
        guard_mode = "preload";
        return;
    }
    /*
     * The guard puts its own handler in only while the program has one, so
     * SIGCHLD may still be SIG_DFL here; _readopt_sigchld() hands every
     * action CPython sets to it.
     */
    guard_sigaction = (sigaction_fn)gs;
    guard_base = wi.dli_fbase;
    guard_mode = "linked";
}

/*
 * In "linked" mode, if CPython put its own SIGCHLD action in front of the
 * guard's (our own sigaction() reference is libc's: it shows the real
 * disposition), give that action to the guard.  True if it had to.
 */
static PyObject *
py_readopt_sigchld(PyObject *self, PyObject *unused)
{
    struct sigaction cur, held;
    Dl_info hi;
    void *fn;

    (void)self;
    (void)unused;
    if (guard_sigaction == NULL)
        Py_RETURN_FALSE;
    if (sigaction(SIGCHLD, NULL, &cur) == -1)
        return PyErr_SetFromErrno(PyExc_OSError);
    fn = action_handler(&cur);
    /*
     * The guard's handler in front, or the same action as the guard holds
     * for the program (SIG_DFL and SIG_IGN, which the guard may leave in
     * the kernel as they are): nothing to hand over.
     */
    if (fn != (void *)SIG_DFL && fn != (void *)SIG_IGN && dladdr(fn, &hi) &&
        hi.dli_fbase == guard_base)
        Py_RETURN_FALSE;
    if ((fn == (void *)SIG_DFL || fn == (void *)SIG_IGN) &&
        guard_sigaction(SIGCHLD, NULL, &held) == 0 && action_handler(&held) == fn)
        Py_RETURN_FALSE;
    if (guard_sigaction(SIGCHLD, &cur, NULL) == -1)
        return PyErr_SetFromErrno(PyExc_OSError);
    Py_RETURN_TRUE;
}

/*
 * Whether a child that is not private has something to report, consuming
 * nothing: what a SIGCHLD handler is for.  True in doubt.
 */
static PyObject *
py_child_report(PyObject *self, PyObject *unused)
{
    siginfo_t si;

    (void)self;
    (void)unused;
    memset(&si, 0, sizeof(si));
    if (ward_waitid(P_ALL, 0, &si, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT) == -1)
        return PyBool_FromLong(errno != ECHILD);
    return PyBool_FromLong(si.si_pid != 0);
}

static PyObject *
py_guard(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (guard_mode == NULL)
        Py_RETURN_NONE;
    return PyUnicode_FromString(guard_mode);
}

static PyObject *
py_library_path(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (library_path == NULL)
        Py_RETURN_NONE;
    return PyUnicode_DecodeFSDefault(library_path);
}

static PyObject *
py_backend(PyObject *self, PyObject *unused)
{
    const char *b = ward_backend();

    (void)self;
    (void)unused;
    if (b == NULL)
        return PyErr_SetFromErrno(PyExc_OSError);
    return PyUnicode_FromString(b);
}

static PyObject *
py_events_fd(PyObject *self, PyObject *unused)
{
    int fd = ward_events_fd();

    (void)self;
    (void)unused;
    if (fd == -1)
        return PyErr_SetFromErrno(PyExc_OSError);
    return PyLong_FromLong(fd);
}

static PyObject *
py_dispatch(PyObject *self, PyObject *unused)
{
    int n = ward_dispatch();

    (void)self;
    (void)unused;
    if (n == -1)
        return PyErr_SetFromErrno(PyExc_OSError);
    return PyLong_FromLong(n);
}

static PyMethodDef module_methods[] = {
    { "spawn", py_spawn, METH_VARARGS, NULL },
    { "_fork_private", py_fork_private, METH_O, NULL },
    { "waitpid", py_waitpid, METH_VARARGS,
      "waitpid(pid, options) -> (pid, status), never for a private child." },
    { "waitid", py_waitid, METH_VARARGS, NULL },
    { "wait4", py_wait4, METH_VARARGS, NULL },
    { "_readopt_sigchld", py_readopt_sigchld, METH_NOARGS, NULL },
    { "child_report", py_child_report, METH_NOARGS,
      "child_report() -> whether a child that is not private has a report." },
    { "guard", py_guard, METH_NOARGS,
      "guard() -> 'preload', 'linked' or None: how libward-guard is present." },
    { "library_path", py_library_path, METH_NOARGS, NULL },
    { "backend", py_backend, METH_NOARGS, "backend() -> 'linux' or 'posix'" },
    { "events_fd", py_events_fd, METH_NOARGS,
      "events_fd() -> a descriptor readable when any private child ends." },
    { "dispatch", py_dispatch, METH_NOARGS, NULL },
    { NULL, NULL, 0, NULL },
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "ward._ward", "The C half of ward.", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__ward(void)
{
    static int atfork_done;
    PyObject *m;

    if (PyType_Ready(&HandleType) < 0)
        return NULL;
    if ((m = PyModule_Create(&module_def)) == NULL)
        return NULL;
    if (!atfork_done) {
        /*
         * ward registers its own pthread_atfork() handlers when it starts
         * its backend; ours must come after them, so that our prepare
         * handler (ward_fork_prepare()) runs before ward's and our parent
         * and child handlers after ward's.  So start it first.
         */
        (void)ward_backend();
        if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0) {
            Py_DECREF(m);
            return PyErr_NoMemory();
        }
        atfork_done = 1;
        detect_guard();
    }
    Py_INCREF(&HandleType);
    if (PyModule_AddObject(m, "PrivateHandle", (PyObject *)&HandleType) < 0 ||
        PyModule_AddIntConstant(m, "NEW_PGROUP", WARD_NEW_PGROUP) < 0 ||
        PyModule_AddIntConstant(m, "NEW_SESSION", WARD_NEW_SESSION) < 0 ||
        PyModule_AddIntConstant(m, "RESET_SIGNALS", WARD_RESET_SIGNALS) < 0 ||
        PyModule_AddIntConstant(m, "KILL_ON_FREE", WARD_KILL_ON_FREE) < 0 ||
        PyModule_AddIntConstant(m, "INHERIT_FDS", WARD_INHERIT_FDS) < 0 ||
        PyModule_AddIntConstant(m, "STDIO_INHERIT", STDIO_INHERIT) < 0 ||
        PyModule_AddIntConstant(m, "STDIO_NULL", STDIO_NULL) < 0 ||
        PyModule_AddIntConstant(m, "STDIO_PIPE", STDIO_PIPE) < 0 ||
        PyModule_AddStringConstant(m, "version", ward_version()) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
