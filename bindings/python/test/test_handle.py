import errno
import os
import select
import signal
import threading
import time
import unittest

import ward
from helper import PY, WardTestCase


class HandleTest(WardTestCase):
    def test_spawn_wait_poll(self):
        h = ward.spawn(["sh", "-c", "sleep 0.2; exit 9"])
        self.assertGreater(h.pid, 0)
        self.assertIsNone(h.poll())
        self.assertIsNone(h.wait(0.01))
        self.assertIsNone(h.returncode)
        self.assertEqual(h.wait(), 9)
        self.assertEqual(h.wait(), 9)
        self.assertEqual(h.poll(), 9)
        self.assertEqual(h.status >> 8, 9)
        self.assertRaises(ProcessLookupError, h.kill)

    def test_kill_and_terminate(self):
        h = ward.spawn(["sleep", "10"])
        h.kill(signal.SIGUSR1)
        self.assertEqual(h.wait(), -signal.SIGUSR1)
        h = ward.spawn(["sleep", "10"])
        self.assertEqual(h.terminate(), -signal.SIGTERM)
        h = ward.spawn(["sh", "-c", "trap '' TERM; echo ready; sleep 10"], stdout=ward.PIPE)
        self.assertEqual(h.stdout.readline(), b"ready\n")
        t = time.monotonic()
        self.assertEqual(h.terminate(grace=0.3), -signal.SIGKILL)
        self.assertLess(time.monotonic() - t, 5)
        h.stdout.close()

    def test_group_kill(self):
        h = ward.spawn(["sh", "-c", "sleep 10 & wait"], process_group=0)
        time.sleep(0.1)
        h.kill(signal.SIGTERM, group=True)
        self.assertEqual(h.wait(), -signal.SIGTERM)
        h2 = ward.spawn(["true"])
        self.assertRaises(ValueError, h2.kill, signal.SIGTERM, True)
        h2.wait()

    def test_pipes(self):
        with ward.spawn(["sh", "-c", "cat; echo e >&2"], stdin=ward.PIPE, stdout=ward.PIPE,
                        stderr=ward.PIPE) as h:
            h.stdin.write(b"abc")
            h.stdin.close()
            h.stdin = None
            self.assertEqual(h.stdout.read(), b"abc")
            self.assertEqual(h.stderr.read(), b"e\n")
        self.assertEqual(h.returncode, 0)

    def test_exec_errors(self):
        self.assertRaises(FileNotFoundError, ward.spawn, ["/nonexistent"])
        self.assertRaises(FileNotFoundError, ward.spawn, ["true"], cwd="/nonexistent")
        self.assertRaises(ValueError, ward.spawn, [])

    def test_fileno_selectable(self):
        h = ward.spawn(["sleep", "0.2"])
        try:
            fd = h.fileno()
        except OSError as e:
            self.assertEqual(ward.backend(), "posix")
            self.assertEqual(e.errno, errno.ENOTSUP)
            h.wait()
            return
        self.assertEqual(select.select([fd], [], [], 0)[0], [])
        self.assertEqual(select.select([fd], [], [], 10)[0], [fd])
        self.assertEqual(h.wait(), 0)

    def test_kill_on_free(self):
        h = ward.spawn(["sleep", "10"], kill_on_free=True)
        del h  # killed and reaped at once: tearDown finds no child

    def test_threads_wait_same_child(self):
        h = ward.spawn(["sh", "-c", "sleep 0.2; exit 3"])
        got = []
        ts = [threading.Thread(target=lambda: got.append(h.wait())) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(got, [3] * 4)

    def test_wait_releases_gil(self):
        h = ward.spawn(["sleep", "0.5"])
        ticks = []
        stop = threading.Event()

        def tick():
            while not stop.is_set():
                ticks.append(1)
                time.sleep(0.01)
        t = threading.Thread(target=tick)
        t.start()
        h.wait()
        stop.set()
        t.join()
        self.assertGreater(len(ticks), 10)


class SignalTest(WardTestCase):
    """PEP 475: handlers run during a wait, which then goes on; an
    exception from a handler (KeyboardInterrupt) ends the wait."""

    def setUp(self):
        super().setUp()
        self.old = signal.signal(signal.SIGALRM, signal.SIG_DFL)

    def tearDown(self):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old)
        super().tearDown()

    def test_handler_runs_wait_goes_on(self):
        seen = []
        signal.signal(signal.SIGALRM, lambda s, f: seen.append(s))
        for wait in (lambda p: p.wait(), lambda p: p.wait(timeout=30),
                     lambda p: p.communicate()):
            seen.clear()
            p = ward.Popen(["sh", "-c", "sleep 0.6; exit 5"], stdout=ward.PIPE)
            signal.setitimer(signal.ITIMER_REAL, 0.1, 0.1)
            wait(p)
            signal.setitimer(signal.ITIMER_REAL, 0)
            p.wait()
            p.stdout.close()
            self.assertEqual(p.returncode, 5)
            self.assertGreaterEqual(len(seen), 2)

    def test_keyboard_interrupt_interrupts(self):
        def interrupt(s, f):
            raise KeyboardInterrupt
        signal.signal(signal.SIGALRM, interrupt)
        for wait in (lambda h: h.wait(), lambda h: h.wait(30), lambda h: h.terminate(30)):
            h = ward.spawn(["sh", "-c", "trap '' TERM; echo ready; sleep 10"], stdout=ward.PIPE)
            self.assertEqual(h.stdout.readline(), b"ready\n")
            h.stdout.close()
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            t = time.monotonic()
            with self.assertRaises(KeyboardInterrupt):
                wait(h)
            self.assertLess(time.monotonic() - t, 5)
            self.assertIsNone(h.poll())  # not lost: still running
            h.kill()
            self.assertEqual(h.wait(), -signal.SIGKILL)

    def test_popen_keyboard_interrupt(self):
        def interrupt(s, f):
            raise KeyboardInterrupt
        signal.signal(signal.SIGALRM, interrupt)
        p = ward.Popen(["sleep", "10"])
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with self.assertRaises(KeyboardInterrupt):
            p.wait()
        p.kill()
        p.wait()
        self.assertEqual(p.returncode, -signal.SIGKILL)


if __name__ == "__main__":
    unittest.main()
