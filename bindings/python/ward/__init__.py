"""ward: private child processes for Python.

A child started by ward.Popen, ward.spawn() or ward.fork_private() is
private: its exit status belongs to its handle, and no other code in the
process can take it -- not a SIGCHLD handler looping on os.waitpid(-1),
not os.wait() after ward.install(), not a C library reaping with waitpid(-1)
when libward-guard is preloaded.  See README.md.
"""
import builtins
import os
import resource
import signal
import subprocess
import sys
import threading
import warnings

from . import _ward
from ._ward import backend, child_report, events_fd, guard, library_path
from subprocess import (DEVNULL, PIPE, STDOUT, CalledProcessError, CompletedProcess,
                        SubprocessError, TimeoutExpired)

__all__ = ["Popen", "run", "call", "check_call", "check_output", "spawn", "fork_private",
           "PrivateHandle", "install", "uninstall", "waitpid", "wait", "wait3", "wait4",
           "waitid", "PIPE", "STDOUT", "DEVNULL", "CalledProcessError", "CompletedProcess",
           "SubprocessError", "TimeoutExpired", "backend", "guard", "library_path",
           "guard_library", "events_fd", "child_report"]

version = _ward.version


def guard_library():
    """The libward-guard shared library to load with LD_PRELOAD."""
    path = library_path()
    if path is None:
        return None
    if guard() is not None:
        return path
    d = os.path.dirname(path)
    names = sorted(n for n in os.listdir(d) if n.startswith("libward-guard.so"))
    return os.path.join(d, names[0]) if names else None


# ---- PrivateHandle ---------------------------------------------------------

def _returncode(status):
    if status is None:
        return None
    if os.WIFSTOPPED(status):
        return -os.WSTOPSIG(status)
    return os.waitstatus_to_exitcode(status)


class PrivateHandle:
    """A private child.

    pid         the child's process ID (never signal it with os.kill: use kill)
    wait(t)     its return code (exit code, or -N for signal N), the same
                every call from any thread; None if t seconds pass first
    poll()      the return code, or None while it runs
    kill(sig)   signal it; ProcessLookupError once reaped, with no system call
    terminate(grace=5.0)  SIGTERM, then SIGKILL after grace seconds
    fileno()    its process descriptor (readable once it has ended) for
                selectors; OSError(ENOTSUP) on the posix backend
    status      the raw wait status once reaped, else None
    stdin, stdout, stderr  binary file objects for PIPE, else None
    """

    __slots__ = ("_h", "stdin", "stdout", "stderr", "__weakref__")

    def __init__(self, h):
        self._h = h
        self.stdin = self.stdout = self.stderr = None

    pid = property(lambda self: self._h.pid)
    status = property(lambda self: self._h.status)
    returncode = property(lambda self: self._h.returncode)

    def wait(self, timeout=None):
        return _returncode(self._h.wait(timeout))

    def poll(self):
        return _returncode(self._h.poll())

    def kill(self, sig=signal.SIGKILL, group=False):
        self._h.kill(int(sig), group)

    def terminate(self, grace=5.0):
        return _returncode(self._h.terminate(grace))

    def fileno(self):
        return self._h.fileno()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for f in (self.stdin, self.stdout, self.stderr):
            if f is not None:
                f.close()
        self.wait()

    def __repr__(self):
        return "<ward.PrivateHandle pid=%d returncode=%r>" % (self.pid, self.returncode)


def _stdio_arg(v, name):
    if v is None:
        return _ward.STDIO_INHERIT
    if v == PIPE:
        return _ward.STDIO_PIPE
    if v == DEVNULL:
        return _ward.STDIO_NULL
    if isinstance(v, int):
        if v < 0:
            raise ValueError("%s: bad descriptor %d" % (name, v))
        return v
    return v.fileno()


def _fs_args(args):
    if isinstance(args, (str, bytes, os.PathLike)):
        args = [args]
    return [os.fsencode(a) for a in args]


def _env_list(env):
    if env is None:
        return None
    out = []
    for k, v in env.items():
        k = os.fsencode(k)
        if b"=" in k:
            raise ValueError("illegal environment variable name")
        out.append(k + b"=" + os.fsencode(v))
    return out


def _spawn_error(e, executable, cwd):
    """The OSError subprocess would raise: filename is cwd if chdir failed."""
    fn = executable
    if cwd is not None and e.errno in (2, 13, 20) and not os.path.isdir(cwd):
        fn = cwd
    return OSError(e.errno, os.strerror(e.errno), fn)


def spawn(args, *, executable=None, stdin=None, stdout=None, stderr=None, cwd=None,
          env=None, umask=-1, pass_fds=(), close_fds=True, start_new_session=False,
          process_group=None, restore_signals=False, kill_on_free=False):
    """Start args (a program and its arguments) as a private child.

    stdin/stdout/stderr: None (inherit), PIPE (a binary file object on the
    handle), DEVNULL, a descriptor or a file object; stderr=STDOUT is not
    taken (use the same descriptor).  Returns a PrivateHandle.  An exec
    error raises at once (FileNotFoundError, PermissionError, ...).
    """
    argv = _fs_args(args)
    if not argv:
        raise ValueError("args must not be empty")
    flags = 0
    if not close_fds:
        flags |= _ward.INHERIT_FDS
    if start_new_session:
        flags |= _ward.NEW_SESSION
    elif process_group is not None:
        if process_group != 0:
            raise ValueError("ward: process_group must be 0 (a new group): "
                             "a child cannot join an existing group")
        flags |= _ward.NEW_PGROUP
    if restore_signals:
        flags |= _ward.RESET_SIGNALS
    if kill_on_free:
        flags |= _ward.KILL_ON_FREE
    stdio = (_stdio_arg(stdin, "stdin"), _stdio_arg(stdout, "stdout"),
             _stdio_arg(stderr, "stderr"))
    exe = os.fsencode(executable) if executable is not None else None
    cwdb = os.fsencode(cwd) if cwd is not None else None
    try:
        h = _ward.spawn(exe, argv, _env_list(env), cwdb, umask, flags, stdio,
                        [(fd, fd) for fd in sorted(set(map(int, pass_fds))) if fd > 2])
    except OSError as e:
        raise _spawn_error(e, executable if executable is not None else argv[0], cwd) from None
    p = PrivateHandle(h)
    if stdin == PIPE:
        p.stdin = open(h._take_stdio(0), "wb", buffering=0)
    if stdout == PIPE:
        p.stdout = open(h._take_stdio(1), "rb", buffering=0)
    if stderr == PIPE:
        p.stderr = open(h._take_stdio(2), "rb", buffering=0)
    return p


def fork_private():
    """os.fork(), with the child private: 0 in the child, a PrivateHandle in
    the parent.  Goes through os.fork itself, so os.register_at_fork hooks
    run; the child should end with os._exit()."""
    r = _ward._fork_private(os.fork)
    if r == 0:
        return 0
    return PrivateHandle(r)


# ---- Popen -----------------------------------------------------------------

class Popen(subprocess.Popen):
    """subprocess.Popen whose child is private (see the module's doc).

    Same arguments, methods and attributes.  preexec_fn, user, group,
    extra_groups and process_group > 0 are refused with ValueError: the
    child is started vfork-style by libward, where no Python code can run.
    restore_signals=True (the default) resets every signal disposition and
    empties the signal mask in the child, not only SIGPIPE and SIGXFSZ.
    """

    _handle = None

    def __init__(self, args, bufsize=-1, executable=None, stdin=None, stdout=None,
                 stderr=None, preexec_fn=None, close_fds=True, shell=False, cwd=None,
                 env=None, universal_newlines=None, startupinfo=None, creationflags=0,
                 restore_signals=True, start_new_session=False, pass_fds=(), *,
                 user=None, group=None, extra_groups=None, encoding=None, errors=None,
                 text=None, umask=-1, pipesize=-1, process_group=None):
        self._child_created = False
        for name, value in (("preexec_fn", preexec_fn), ("user", user), ("group", group),
                            ("extra_groups", extra_groups)):
            if value is not None:
                raise ValueError("ward.Popen: %s is not supported: the child is started "
                                 "by libward without running Python code" % name)
        if process_group is not None and process_group != 0:
            raise ValueError("ward.Popen: process_group must be None or 0 (a new group): "
                             "a child cannot join an existing group")
        super().__init__(args, bufsize, executable, stdin, stdout, stderr, None, close_fds,
                         shell, cwd, env, universal_newlines, startupinfo, creationflags,
                         restore_signals, start_new_session, pass_fds,
                         encoding=encoding, errors=errors, text=text, umask=umask,
                         pipesize=pipesize, process_group=process_group)

    def _execute_child(self, args, executable, preexec_fn, close_fds, pass_fds, cwd, env,
                       startupinfo, creationflags, shell, p2cread, p2cwrite, c2pread,
                       c2pwrite, errread, errwrite, restore_signals, gid, gids, uid,
                       umask, start_new_session, process_group):
        if isinstance(args, (str, bytes)):
            args = [args]
        elif isinstance(args, os.PathLike):
            if shell:
                raise TypeError("path-like args is not allowed when shell is true")
            args = [args]
        else:
            args = list(args)
        if shell:
            args = ["/bin/sh", "-c"] + args
            if executable:
                args[0] = executable
        if executable is None:
            executable = args[0]
        sys.audit("subprocess.Popen", executable, args, cwd, env)
        orig_executable = executable
        argv = [os.fsencode(a) for a in args]
        env_list = _env_list(env)
        flags = 0
        if not close_fds:
            flags |= _ward.INHERIT_FDS
        if start_new_session:
            flags |= _ward.NEW_SESSION
        elif process_group == 0:
            flags |= _ward.NEW_PGROUP
        if restore_signals:
            flags |= _ward.RESET_SIGNALS
        stdio = tuple(fd if fd != -1 else _ward.STDIO_INHERIT
                      for fd in (p2cread, c2pwrite, errwrite))
        fdmap = [(fd, fd) for fd in sorted(set(map(int, pass_fds))) if fd > 2]
        try:
            h = _ward.spawn(os.fsencode(executable), argv, env_list,
                            os.fsencode(cwd) if cwd is not None else None,
                            umask, flags, stdio, fdmap)
        except OSError as e:
            raise _spawn_error(e, orig_executable, cwd) from None
        self._handle = h
        self.pid = h.pid
        self._child_created = True
        self._close_pipe_fds(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)

    def _internal_poll(self, _deadstate=None, **_unused):
        if self.returncode is None and self._handle is not None:
            try:
                sts = self._handle.poll()
            except OSError:
                if _deadstate is None:
                    raise
                self.returncode = _deadstate
                return self.returncode
            if sts is not None:
                self._handle_exitstatus(sts)
        return self.returncode

    def _wait(self, timeout):
        if self.returncode is not None:
            return self.returncode
        sts = self._handle.wait(timeout)
        if sts is None:
            raise TimeoutExpired(self.args, timeout)
        self._handle_exitstatus(sts)
        return self.returncode

    def send_signal(self, sig):
        self.poll()
        if self.returncode is not None:
            return
        try:
            self._handle.kill(int(sig))
        except ProcessLookupError:
            pass

    def __del__(self, _warn=warnings.warn):
        # No subprocess._active here: the handle, released with this object,
        # leaves a running child to ward, which reaps it when it ends.
        if not self._child_created:
            return
        if self.returncode is None:
            _warn("subprocess %s is still running" % self.pid, ResourceWarning, source=self)


def call(*popenargs, timeout=None, **kwargs):
    """subprocess.call with ward.Popen."""
    with Popen(*popenargs, **kwargs) as p:
        try:
            return p.wait(timeout=timeout)
        except:  # noqa: E722 -- as subprocess.call: kill on any exception
            p.kill()
            raise


def check_call(*popenargs, **kwargs):
    """subprocess.check_call with ward.Popen."""
    retcode = call(*popenargs, **kwargs)
    if retcode:
        cmd = kwargs.get("args")
        if cmd is None:
            cmd = popenargs[0]
        raise CalledProcessError(retcode, cmd)
    return 0


def run(*popenargs, input=None, capture_output=False, timeout=None, check=False, **kwargs):
    """subprocess.run with ward.Popen."""
    if input is not None:
        if kwargs.get("stdin") is not None:
            raise ValueError("stdin and input arguments may not both be used.")
        kwargs["stdin"] = PIPE
    if capture_output:
        if kwargs.get("stdout") is not None or kwargs.get("stderr") is not None:
            raise ValueError("stdout and stderr arguments may not be used with capture_output.")
        kwargs["stdout"] = PIPE
        kwargs["stderr"] = PIPE
    with Popen(*popenargs, **kwargs) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except TimeoutExpired:
            # As subprocess.run on POSIX: communicate() already put the
            # output read so far into the exception.  Reading the pipes to
            # their end here would wait for any grandchild holding them.
            process.kill()
            process.wait()
            raise
        except:  # noqa: E722
            process.kill()
            raise
        retcode = process.poll()
        if check and retcode:
            raise CalledProcessError(retcode, process.args, output=stdout, stderr=stderr)
    return CompletedProcess(process.args, retcode, stdout, stderr)


def check_output(*popenargs, timeout=None, **kwargs):
    """subprocess.check_output with ward.Popen."""
    for kw in ("stdout", "check"):
        if kw in kwargs:
            raise ValueError("%s argument not allowed, it will be overridden." % kw)
    if "input" in kwargs and kwargs["input"] is None:
        kwargs["input"] = "" if kwargs.get("universal_newlines") or kwargs.get("text") \
            or kwargs.get("encoding") or kwargs.get("errors") else b""
    return run(*popenargs, stdout=PIPE, timeout=timeout, check=True, **kwargs).stdout


# ---- the wait family -------------------------------------------------------

def waitpid(pid, options):
    """os.waitpid, never reporting a private child (ChildProcessError for a
    private pid, or when only private children are left)."""
    return _ward.waitpid(pid, options)


def wait():
    """os.wait, never reporting a private child."""
    return _ward.waitpid(-1, 0)


def wait4(pid, options):
    """os.wait4, never reporting a private child."""
    p, st, ru = _ward.wait4(pid, options)
    return p, st, resource.struct_rusage(ru)


def wait3(options):
    """os.wait3, never reporting a private child."""
    return wait4(-1, options)


def waitid(idtype, id, options):
    """os.waitid, never reporting a private child."""
    r = _ward.waitid(idtype, id, options)
    return None if r is None else os.waitid_result(r)


_originals = {}


def install():
    """Replace os.wait, waitpid, wait3, wait4 and waitid with the versions
    above, so that Python code waiting for any child never takes a private
    child's status.  uninstall() puts them back."""
    for name in ("wait", "waitpid", "wait3", "wait4", "waitid"):
        if name not in _originals:
            _originals[name] = getattr(os, name)
        setattr(os, name, globals()[name])


def uninstall():
    for name, fn in _originals.items():
        setattr(os, name, fn)
    _originals.clear()


# ---- SIGCHLD ---------------------------------------------------------------

class _ChldFilter:
    """A SIGCHLD handler that runs the program's only when a child that is
    not private has something to report."""

    __slots__ = ("handler",)

    def __init__(self, handler):
        self.handler = handler

    def __call__(self, signum, frame):
        if _ward.child_report():
            return self.handler(signum, frame)
        return None


_signal_signal = signal.signal
_signal_getsignal = signal.getsignal


def _unwrap(h):
    return h.handler if isinstance(h, _ChldFilter) else h


def _ward_signal(signalnum, handler):
    if signalnum == signal.SIGCHLD:
        prev = _signal_signal(signalnum, _ChldFilter(handler) if callable(handler) else handler)
        # libward-guard linked in: CPython's sigaction() just put its own
        # C handler in front of the guard's; give the action to the guard.
        _ward._readopt_sigchld()
        return _unwrap(prev)
    return _signal_signal(signalnum, handler)


def _ward_getsignal(signalnum):
    return _unwrap(_signal_getsignal(signalnum))


_ward_signal.__doc__ = signal.signal.__doc__
_ward_getsignal.__doc__ = signal.getsignal.__doc__

if threading.current_thread() is threading.main_thread():
    _current = _signal_getsignal(signal.SIGCHLD)
    if callable(_current) and not isinstance(_current, _ChldFilter):
        _signal_signal(signal.SIGCHLD, _ChldFilter(_current))
        _ward._readopt_sigchld()
    del _current
signal.signal = _ward_signal
signal.getsignal = _ward_getsignal

del builtins
