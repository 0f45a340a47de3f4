"""A program with a SIGCHLD handler that reaps any child with
os.waitpid(-1, WNOHANG), a thread running N ward.Popen children one after
the other, and a main thread forking children of its own meanwhile.

Checks: every ward.Popen return code is right, the handler reaps none of
the private children, and every child of the program's own reaches it.
Where libward-guard is not preloaded (WARD_EXPECT_GUARD is not "preload"),
os.waitpid is libc's, which would take private children: ward.install()
replaces it, as a program that uses ward.Popen next to such a handler must.
Exit status 0 and "ok" on success.
"""
import os
import signal
import sys
import threading
import time

import ward

if ward.guard() != "preload":
    ward.install()

reaped = []  # every (pid, status) the handler got, in order
handler_runs = 0


def handler(signum, frame):
    global handler_runs
    handler_runs += 1
    while True:
        try:
            pid, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        reaped.append((pid, st))


signal.signal(signal.SIGCHLD, handler)
N = int(sys.argv[1]) if len(sys.argv) > 1 else 500
private = []
wrong = []


def run():
    for i in range(N):
        p = ward.Popen(["/bin/sh", "-c", "exit %d" % (i % 256)])
        private.append(p.pid)
        if p.wait() != i % 256:
            wrong.append((i, p.returncode))


t = threading.Thread(target=run)
t.start()
forked = {}
while t.is_alive():
    pid = os.fork()
    if pid == 0:
        os._exit(len(forked) % 100)
    forked[pid] = (len(forked) % 100) << 8
    time.sleep(0.02)
t.join()
deadline = time.monotonic() + 30
while len(reaped) < len(forked) and time.monotonic() < deadline:
    time.sleep(0.02)
# pid_max may be small: a pid can be a private child's and later one of our
# own.  A theft shows as a report beyond one per own child, or a wrong one.
stolen = [p for p, _ in reaped if p in set(private) and p not in forked]
print("guard=%s backend=%s private=%d forked=%d reaped=%d handler_runs=%d"
      % (ward.guard(), ward.backend(), len(private), len(forked), len(reaped), handler_runs))
errors = []
if wrong:
    errors.append("wrong return codes: %r" % wrong[:10])
if stolen:
    errors.append("the handler reaped %d private children" % len(stolen))
if sorted(reaped) != sorted(forked.items()):
    errors.append("own children: forked %r, reaped %r" % (forked, reaped))
if len(private) != N:
    errors.append("%d private pids for %d children" % (len(private), N))
if errors:
    print("\n".join(errors))
    sys.exit(1)
print("ok")
