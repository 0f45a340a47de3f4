import errno
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import ward
from helper import PY, WardTestCase, assert_only_private_left


class PopenTest(WardTestCase):
    def test_returncode_and_private(self):
        with ward.Popen(["sh", "-c", "exit 42"]) as p:
            self.assertIsInstance(p, subprocess.Popen)
            self.assertEqual(p.wait(), 42)
        self.assertEqual(p.returncode, 42)

    def test_args_shell_executable(self):
        out = ward.check_output("echo $0 $1", shell=True, text=True)
        self.assertEqual(out, "/bin/sh\n")
        out = ward.check_output(["anything", "-c", "echo $0"], executable="/bin/sh")
        self.assertEqual(out, b"anything\n")
        out = ward.check_output("echo x", shell=True, executable="/bin/bash")
        self.assertEqual(out, b"x\n")

    def test_pipes_text(self):
        p = ward.Popen(["sh", "-c", "read a; echo got $a; echo err >&2"], stdin=ward.PIPE,
                       stdout=ward.PIPE, stderr=ward.PIPE, text=True)
        out, err = p.communicate("hello\n")
        self.assertEqual((out, err, p.returncode), ("got hello\n", "err\n", 0))

    def test_encoding_errors_universal_newlines(self):
        out = ward.run(["printf", "a\\r\\nb\\377"], stdout=ward.PIPE, encoding="latin-1").stdout
        self.assertEqual(out, "a\nb\xff")
        out = ward.run(["printf", "\\377"], stdout=ward.PIPE, encoding="utf-8",
                       errors="replace").stdout
        self.assertEqual(out, "\ufffd")
        out = ward.run(["printf", "a\\r\\n"], stdout=ward.PIPE, universal_newlines=True).stdout
        self.assertEqual(out, "a\n")

    def test_stderr_stdout_devnull(self):
        r = ward.run(["sh", "-c", "echo o; echo e >&2"], stdout=ward.PIPE, stderr=ward.STDOUT)
        self.assertEqual(sorted(r.stdout.split()), [b"e", b"o"])
        r = ward.run(["sh", "-c", "cat; echo e >&2"], stdin=ward.DEVNULL, stdout=ward.DEVNULL,
                     stderr=ward.PIPE)
        self.assertEqual((r.stdout, r.stderr), (None, b"e\n"))

    def test_fds_and_files(self):
        with tempfile.TemporaryFile() as f:
            ward.check_call(["echo", "to file"], stdout=f)
            ward.check_call(["sh", "-c", "echo to fd"], stdout=f.fileno())
            f.seek(0)
            self.assertEqual(f.read(), b"to file\nto fd\n")
            f.seek(0)
            self.assertEqual(ward.check_output(["cat"], stdin=f), b"to file\nto fd\n")

    def test_bufsize(self):
        with ward.Popen(["cat"], stdin=ward.PIPE, stdout=ward.PIPE, bufsize=0) as p:
            self.assertIsInstance(p.stdin, io.FileIO)
            p.stdin.write(b"x")
            self.assertEqual(p.stdout.read(1), b"x")
            p.stdin.close()
        with ward.Popen(["true"], stdout=ward.PIPE, bufsize=1, text=True) as p:
            self.assertEqual(p.stdout.line_buffering, False)  # only for writing
            p.stdout.read()

    def test_cwd_env_umask(self):
        with tempfile.TemporaryDirectory() as d:
            out = ward.check_output(["sh", "-c", "pwd; echo $FOO; umask; touch f"], cwd=d,
                                    env={"FOO": "bar", "PATH": os.environ["PATH"]}, umask=0o27,
                                    text=True)
            self.assertEqual(out.split(), [os.path.realpath(d), "bar", "0027"])
            self.assertEqual(os.stat(os.path.join(d, "f")).st_mode & 0o777, 0o640)
        self.assertRaises(ValueError, ward.Popen, ["true"], env={"A=B": "c"})

    def test_pass_fds_close_fds(self):
        r, w = os.pipe()
        try:
            os.set_inheritable(w, True)
            script = "import os,sys; os.write(int(sys.argv[1]), b'ok')"
            ward.check_call([PY, "-c", script, str(w)], pass_fds=[w])
            self.assertEqual(os.read(r, 10), b"ok")
            # close_fds=True (the default): an inheritable descriptor is closed.
            rc = ward.call([PY, "-c", script, str(w)], stderr=ward.DEVNULL)
            self.assertEqual(rc, 1)
            ward.check_call([PY, "-c", script, str(w)], close_fds=False)
            self.assertEqual(os.read(r, 10), b"ok")
        finally:
            os.close(r)
            os.close(w)

    def test_session_and_group(self):
        out = ward.check_output([PY, "-c", "import os; print(os.getpid(), os.getsid(0), os.getpgrp())"],
                                start_new_session=True, text=True).split()
        self.assertEqual(out[0], out[1])
        self.assertEqual(out[0], out[2])
        out = ward.check_output([PY, "-c", "import os; print(os.getpid(), os.getsid(0), os.getpgrp())"],
                                process_group=0, text=True).split()
        self.assertEqual(out[0], out[2])
        self.assertEqual(int(out[1]), os.getsid(0))

    def test_restore_signals(self):
        old = signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        try:
            # CPython ignores SIGPIPE; restore_signals=True (the default)
            # gives the child the default action back.
            pipe_bit = 1 << (signal.SIGPIPE - 1)
            out = ward.check_output(["grep", "SigIgn", "/proc/self/status"])
            self.assertEqual(int(out.split()[1], 16) & pipe_bit, 0)
            out = ward.check_output(["grep", "SigIgn", "/proc/self/status"], restore_signals=False)
            self.assertNotEqual(int(out.split()[1], 16) & pipe_bit, 0)
        finally:
            signal.signal(signal.SIGUSR1, old)

    def test_timeouts(self):
        p = ward.Popen(["sleep", "10"], stdout=ward.PIPE)
        t = time.monotonic()
        self.assertRaises(subprocess.TimeoutExpired, p.wait, timeout=0.2)
        self.assertRaises(subprocess.TimeoutExpired, p.communicate, timeout=0.2)
        self.assertLess(time.monotonic() - t, 5)
        self.assertIsNone(p.poll())
        p.kill()
        p.communicate()
        self.assertEqual(p.returncode, -signal.SIGKILL)
        with self.assertRaises(subprocess.TimeoutExpired):
            ward.run(["sleep", "10"], timeout=0.2)

    def test_run_timeout_with_grandchild_holding_the_pipe(self):
        # As subprocess.run on POSIX: after the timeout the child is killed
        # and waited for, and TimeoutExpired carries the output read so
        # far.  Reading the pipes to their end instead would wait for a
        # grandchild that holds them (a shell's background job) however
        # long it runs.  The grandchild prints its pid and is killed here.
        t = time.monotonic()
        with self.assertRaises(subprocess.TimeoutExpired) as cm:
            ward.run("sleep 20 & echo $!; wait", shell=True, capture_output=True,
                     timeout=0.5)
        elapsed = time.monotonic() - t
        out = cm.exception.stdout
        if out:
            os.kill(int(out), signal.SIGKILL)
        self.assertLess(elapsed, 10, "run() waited for the grandchild")
        self.assertRegex(out, rb"^[0-9]+\n$")
        self.assertIsNone(cm.exception.stderr)  # nothing read from it yet

    def test_signals(self):
        for meth, sig in (("terminate", signal.SIGTERM), ("kill", signal.SIGKILL)):
            with ward.Popen(["sleep", "10"]) as p:
                getattr(p, meth)()
            self.assertEqual(p.returncode, -sig)
        with ward.Popen(["sleep", "10"]) as p:
            p.send_signal(signal.SIGINT)
        self.assertEqual(p.returncode, -signal.SIGINT)
        p.send_signal(signal.SIGTERM)  # reaped: nothing is sent, no error
        p.kill()

    def test_check_errors(self):
        with self.assertRaises(subprocess.CalledProcessError) as cm:
            ward.check_call(["sh", "-c", "exit 3"])
        self.assertEqual(cm.exception.returncode, 3)
        with self.assertRaises(subprocess.CalledProcessError) as cm:
            ward.run(["sh", "-c", "echo x; exit 4"], capture_output=True, check=True)
        self.assertEqual((cm.exception.returncode, cm.exception.stdout), (4, b"x\n"))

    def test_exec_errors_raise_at_once(self):
        with self.assertRaises(FileNotFoundError) as cm:
            ward.Popen(["/nonexistent/prog"])
        self.assertEqual(cm.exception.filename, "/nonexistent/prog")
        self.assertRaises(FileNotFoundError, ward.Popen, ["no-such-program-ward"])
        with tempfile.TemporaryDirectory() as d:
            f = os.path.join(d, "noexec")
            with open(f, "w") as fh:
                fh.write("#!/bin/sh\n")
            with self.assertRaises(PermissionError) as cm:
                ward.Popen([f])
            self.assertEqual(cm.exception.filename, f)
            with self.assertRaises(FileNotFoundError) as cm:
                ward.Popen(["true"], cwd=os.path.join(d, "nodir"))
            self.assertEqual(cm.exception.filename, os.path.join(d, "nodir"))
        # The pipes made for the failed child are all closed (tearDown).
        self.assertRaises(FileNotFoundError, ward.Popen, ["/nonexistent"], stdin=ward.PIPE,
                          stdout=ward.PIPE, stderr=ward.PIPE)

    def test_refused(self):
        for kw in ({"preexec_fn": lambda: None}, {"user": 0}, {"group": 0},
                   {"extra_groups": [0]}, {"process_group": 1}):
            with self.assertRaises(ValueError) as cm:
                ward.Popen(["true"], **kw)
            self.assertIn("ward.Popen", str(cm.exception))

    def test_invisible_to_wait_family(self):
        ward.install()
        try:
            with ward.Popen(["sleep", "0.2"]) as p:
                assert_only_private_left(self, lambda: os.waitpid(-1, os.WNOHANG), (0, 0))
                self.assertRaises(ChildProcessError, os.waitpid, p.pid, 0)
                self.assertRaises(ChildProcessError, os.wait)
            self.assertEqual(p.returncode, 0)
        finally:
            ward.uninstall()
        self.assertIsNot(os.waitpid, ward.waitpid)

    def test_del_running_child_is_reaped(self):
        p = ward.Popen(["sleep", "0.1"])
        pid = p.pid
        with self.assertWarns(ResourceWarning):
            del p
            import gc
            gc.collect()
        self.assertNotIn(pid, [x.pid for x in subprocess._active])
        # As documented in ward_free(3), ward reaps it at its next spawn or
        # wait once it has ended (subprocess, at its next Popen): tearDown
        # checks that no zombie is left.
        time.sleep(0.3)
        ward.call(["true"])


if __name__ == "__main__":
    unittest.main()
