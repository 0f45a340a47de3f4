"""asyncio subprocesses whose children are private.

    proc = await ward.asyncio.create_subprocess_exec("ls", "-l", stdout=PIPE)
    out, _ = await proc.communicate()

create_subprocess_exec() and create_subprocess_shell() take the arguments
of asyncio's and return an asyncio.subprocess.Process, but the child is a
ward.Popen child: no child watcher is involved (asyncio's reap with
os.waitpid, which would take other code's children, and are deprecated for
that reason).  Exits are learnt from ward's events descriptor
(ward_events_fd(3)) with loop.add_reader(): one reader per loop, which
calls ward_dispatch() and polls the loop's children when it is readable,
and has the other loops (in other threads) poll theirs, whose children
ward_dispatch() reaped too.
"""
import asyncio
import threading
import weakref
from asyncio import base_subprocess, subprocess as aio_subprocess

from . import _ward
from . import Popen

__all__ = ["create_subprocess_exec", "create_subprocess_shell"]


class _Transport(base_subprocess.BaseSubprocessTransport):
    def _start(self, args, shell, stdin, stdout, stderr, bufsize, **kwargs):
        self._proc = Popen(args, shell=shell, stdin=stdin, stdout=stdout, stderr=stderr,
                           universal_newlines=False, bufsize=bufsize, **kwargs)


class _Watcher:
    """The transports of one loop whose children still run, and the reader
    on ward's events descriptor that finds out when they end.

    Only the loop holds a watcher, through its reader (and a call_soon):
    while the loop is open, that keeps the transports, as asyncio's child
    watchers keep theirs until the child ends.  When the loop is closed it
    drops its readers, and with them the watcher and its transports, so a
    process the program drops afterwards is closed (killed, with
    ResourceWarning) as asyncio's own transports are, and its child reaped.
    _watchers maps a loop to its watcher weakly both ways: a registry that
    held either would keep a closed loop's children forever.
    """

    def __init__(self, loop):
        self.loop = weakref.ref(loop)
        self.transports = set()
        self.fd = None

    def add(self, loop, transp):
        self.transports.add(transp)
        if self.fd is None:
            self.fd = _ward.events_fd()
            loop.add_reader(self.fd, self.check)
        # The child may have ended before the reader was there.
        loop.call_soon(self.check)

    def check(self):
        """The reader: reap what ended, then look at every loop's children."""
        _ward.dispatch()
        self.poll()
        # ward.dispatch() reaped every private child that had ended, those
        # of other loops (in other threads) too, and the events descriptor,
        # one for the whole process, is no longer readable for them: their
        # loops must be told, or they would wait for those children forever.
        with _lock:
            others = [r() for r in _watchers.values()]
        for w in others:
            if w is not None and w is not self:
                w.wake()

    def wake(self):
        """From any thread: make the loop look at its children again."""
        loop = self.loop()
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self.poll)
        except RuntimeError:
            pass  # the loop is closed: nothing will wait for them there

    def poll(self):
        for transp in list(self.transports):
            rc = transp._proc.poll()
            if rc is not None:
                self.transports.discard(transp)
                transp._process_exited(rc)
        loop = self.loop()
        if not self.transports and self.fd is not None and loop is not None:
            loop.remove_reader(self.fd)
            self.fd = None
            with _lock:
                if _watchers.get(loop) is not None and _watchers[loop]() is self:
                    del _watchers[loop]


# Loops run in several threads: _lock guards _watchers.
_lock = threading.Lock()
_watchers = weakref.WeakKeyDictionary()


def _watch(loop, transp):
    with _lock:
        ref = _watchers.get(loop)
        w = ref() if ref is not None else None
        if w is None or loop.is_closed():
            w = _Watcher(loop)
            _watchers[loop] = weakref.ref(w)
    w.add(loop, transp)


async def _subprocess(args, shell, stdin, stdout, stderr, limit, kwds):
    loop = asyncio.get_running_loop()
    protocol = aio_subprocess.SubprocessStreamProtocol(limit=limit, loop=loop)
    waiter = loop.create_future()
    transp = _Transport(loop, protocol, args, shell, stdin, stdout, stderr, 0,
                        waiter=waiter, **kwds)
    _watch(loop, transp)
    try:
        await waiter
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException:
        transp.close()
        await transp._wait()
        raise
    return aio_subprocess.Process(transp, protocol, loop)


def _refuse(kwds, shell):
    """The ValueErrors of loop.subprocess_exec() and subprocess_shell():
    the streams are bytes, unbuffered, and shell is the helper's."""
    if kwds.pop("universal_newlines", False):
        raise ValueError("universal_newlines must be False")
    if kwds.pop("shell", shell) != shell:
        raise ValueError("shell must be %s" % shell)
    if kwds.pop("bufsize", 0) != 0:
        raise ValueError("bufsize must be 0")
    if kwds.pop("text", None):
        raise ValueError("text must be False")
    for name in ("encoding", "errors"):
        if kwds.pop(name, None) is not None:
            raise ValueError("%s must be None" % name)


async def create_subprocess_exec(program, *args, stdin=None, stdout=None, stderr=None,
                                 limit=2 ** 16, **kwds):
    """asyncio.create_subprocess_exec with a private child."""
    _refuse(kwds, False)
    return await _subprocess((program,) + args, False, stdin, stdout, stderr, limit, kwds)


async def create_subprocess_shell(cmd, stdin=None, stdout=None, stderr=None,
                                  limit=2 ** 16, **kwds):
    """asyncio.create_subprocess_shell with a private child."""
    if not isinstance(cmd, (bytes, str)):
        raise ValueError("cmd must be a string")
    _refuse(kwds, True)
    return await _subprocess(cmd, True, stdin, stdout, stderr, limit, kwds)
