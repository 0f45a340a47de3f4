"""Shared fixture of the ward binding's tests: every test is leak-checked.

WardTestCase records the process's descriptors and children before each
test, and fails the test if, after it, a descriptor is left open or a child
(running or a zombie) is left, after giving ward a moment to reap children
whose handles were dropped.
"""
import gc
import os
import sys
import time
import unittest

import ward

# Start ward's backend (and its descriptors) before any test looks.
ward.spawn(["true"]).wait()
try:
    ward.events_fd()
except OSError:
    pass

PY = sys.executable


def open_fds():
    return set(int(n) for n in os.listdir("/proc/self/fd"))


def children():
    out = set()
    for t in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/children" % t) as f:
                out.update(int(p) for p in f.read().split())
        except OSError:
            pass
    return out


def fd_name(fd):
    try:
        return os.readlink("/proc/self/fd/%d" % fd)
    except OSError:
        return "?"


class WardTestCase(unittest.TestCase):
    def setUp(self):
        gc.collect()
        self._fds = open_fds()
        self._children = children()

    def tearDown(self):
        gc.collect()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            left = children() - self._children
            fds = open_fds() - self._fds
            if not left and not fds:
                break
            time.sleep(0.02)
            gc.collect()
        self.assertEqual(left, set(), "children left behind")
        self.assertEqual({fd: fd_name(fd) for fd in fds}, {}, "descriptors left open")


class GuardModeTest(unittest.TestCase):
    def test_guard_mode(self):
        want = os.environ.get("WARD_EXPECT_GUARD")
        if want is None:
            self.skipTest("WARD_EXPECT_GUARD not set (python.test sets it)")
        self.assertEqual(ward.guard() or "none", want)
        if want != "none":
            self.assertTrue(os.path.exists(ward.guard_library()))


def assert_only_private_left(test, call, nothing_ready):
    """A wait for any child with WNOHANG while only private children are
    left: ChildProcessError, as if they did not exist; on the posix backend,
    which cannot tell whether other children exist, "nothing ready"
    (ward_waitpid(3))."""
    if ward.backend() == "posix":
        test.assertEqual(call(), nothing_ready)
    else:
        test.assertRaises(ChildProcessError, call)
