import errno
import os
import resource
import signal
import sys
import time
import unittest

import ward
from helper import PY, WardTestCase, assert_only_private_left


class ForkTest(WardTestCase):
    def test_fork_private(self):
        h = ward.fork_private()
        if h == 0:
            os._exit(42)
        self.assertIsInstance(h, ward.PrivateHandle)
        self.assertEqual(h.wait(), 42)

    def test_register_at_fork_hooks_run(self):
        r, w = os.pipe()
        calls = []
        on = [True]  # hooks cannot be removed: they do nothing once off
        os.register_at_fork(before=lambda: on[0] and calls.append("before"),
                            after_in_parent=lambda: on[0] and calls.append("parent"),
                            after_in_child=lambda: on[0] and calls.append("child"))
        try:
            h = ward.fork_private()
            if h == 0:
                os.write(w, ",".join(calls).encode())
                os._exit(0)
            os.close(w)
            w = -1
            self.assertEqual(os.read(r, 100), b"before,child")
            self.assertEqual(calls[-2:], ["before", "parent"])
            self.assertEqual(h.wait(), 0)
        finally:
            os.close(r)
            if w != -1:
                os.close(w)
            on[0] = False

    def test_fork_private_failure_forks_nothing(self):
        # With no descriptor left for ward's part, fork_private() raises,
        # and no child may be left running the caller's child branch
        # while the parent is told that the fork failed.
        marker = "/tmp/ward-fork-failure.%d" % os.getpid()
        limits = resource.getrlimit(resource.RLIMIT_NOFILE)
        held = []
        try:
            top = max(int(n) for n in os.listdir("/proc/self/fd"))
            resource.setrlimit(resource.RLIMIT_NOFILE, (top + 8, limits[1]))
            try:
                while True:
                    held.append(os.open("/dev/null", os.O_RDONLY))
            except OSError:
                pass
            os.close(held.pop())  # one free descriptor: not enough for a pipe
            with self.assertRaises(OSError) as cm:
                h = ward.fork_private()
                if h == 0:
                    os.close(os.open(marker, os.O_CREAT | os.O_WRONLY, 0o600))
                    os._exit(3)
                h.wait()
            self.assertEqual(cm.exception.errno, errno.EMFILE)
        finally:
            for fd in held:
                os.close(fd)
            resource.setrlimit(resource.RLIMIT_NOFILE, limits)
        time.sleep(0.2)
        exists = os.path.exists(marker)
        if exists:
            os.unlink(marker)
        self.assertFalse(exists, "the child branch ran although fork_private() raised")

    def test_fork_private_invisible(self):
        ward.install()
        try:
            h = ward.fork_private()
            if h == 0:
                os._exit(3)
            self.assertRaises(ChildProcessError, os.waitpid, -1, 0)
            self.assertRaises(ChildProcessError, os.wait3, 0)
            self.assertRaises(ChildProcessError, os.waitid, os.P_ALL, 0, os.WEXITED)
            self.assertEqual(h.wait(), 3)
        finally:
            ward.uninstall()


class WaitFamilyTest(WardTestCase):
    """After ward.install(), os.wait & co. report the program's own
    children exactly as before, and never a private one."""

    def setUp(self):
        super().setUp()
        ward.install()

    def tearDown(self):
        ward.uninstall()
        super().tearDown()

    def own(self, code):
        pid = os.fork()
        if pid == 0:
            os._exit(code)
        return pid

    def test_waitpid_and_wait(self):
        h = ward.spawn(["sleep", "0.3"])
        pid = self.own(7)
        self.assertEqual(os.waitpid(-1, 0), (pid, 7 << 8))
        pid = self.own(8)
        self.assertEqual(os.wait(), (pid, 8 << 8))
        self.assertRaises(ChildProcessError, os.wait)
        self.assertEqual(h.wait(), 0)

    def test_wnohang(self):
        h = ward.spawn(["sleep", "0.3"])
        pid = self.own(1)
        while True:
            got = os.waitpid(-1, os.WNOHANG)
            if got != (0, 0):
                break
            time.sleep(0.01)
        self.assertEqual(got, (pid, 1 << 8))
        assert_only_private_left(self, lambda: os.waitpid(-1, os.WNOHANG), (0, 0))
        h.wait()

    def test_wait3_wait4(self):
        h = ward.spawn(["sleep", "0.3"])
        pid = os.fork()
        if pid == 0:
            t = time.process_time()
            while time.process_time() - t < 0.05:
                pass
            os._exit(5)
        p, st, ru = os.wait4(pid, 0)
        self.assertEqual((p, st), (pid, 5 << 8))
        self.assertIsInstance(ru, resource.struct_rusage)
        self.assertGreater(ru.ru_utime + ru.ru_stime, 0.01)
        pid = self.own(6)
        p, st, ru = os.wait3(0)
        self.assertEqual((p, st), (pid, 6 << 8))
        self.assertEqual(h.wait(), 0)
        self.assertRaises(ChildProcessError, os.wait3, os.WNOHANG)

    def test_waitid(self):
        h = ward.spawn(["sleep", "0.3"])
        pid = self.own(4)
        r = os.waitid(os.P_ALL, 0, os.WEXITED)
        self.assertEqual((r.si_pid, r.si_status, r.si_code), (pid, 4, os.CLD_EXITED))
        # Only the private child is left: as if there were none.
        assert_only_private_left(self, lambda: os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG),
                                 None)
        self.assertRaises(ChildProcessError, os.waitid, os.P_PID, h.pid, os.WEXITED)
        h.wait()

    def test_stopped_child(self):
        pid = os.fork()
        if pid == 0:
            time.sleep(10)
            os._exit(0)
        os.kill(pid, signal.SIGSTOP)
        p, st = os.waitpid(pid, os.WUNTRACED)
        self.assertTrue(os.WIFSTOPPED(st))
        os.kill(pid, signal.SIGKILL)
        self.assertEqual(os.waitpid(pid, 0)[1], signal.SIGKILL)

    def test_pep475(self):
        seen = []
        old = signal.signal(signal.SIGALRM, lambda s, f: seen.append(s))
        try:
            pid = os.fork()
            if pid == 0:
                time.sleep(0.5)
                os._exit(2)
            signal.setitimer(signal.ITIMER_REAL, 0.1, 0.1)
            self.assertEqual(os.waitpid(pid, 0), (pid, 2 << 8))
            signal.setitimer(signal.ITIMER_REAL, 0)
            self.assertGreaterEqual(len(seen), 2)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


class SigchldTest(WardTestCase):
    """The issue's program: a SIGCHLD handler looping on
    os.waitpid(-1, WNOHANG), a thread running 500 ward.Popen children, the
    main thread forking children of its own.  Run as its own process (a
    SIGCHLD handler is process-wide)."""

    def test_handler_never_reaps_private_children(self):
        import subprocess
        n = os.environ.get("WARD_STRESS_N", "500")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chld_stress.py")
        r = subprocess.run([sys.executable, script, n], capture_output=True, text=True,
                           timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("ok", r.stdout)


if __name__ == "__main__":
    unittest.main()
