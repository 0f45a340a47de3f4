import os
import signal
import unittest

import ward
from helper import GuardModeTest, WardTestCase  # noqa: F401 (GuardModeTest runs here)


class SigchldHandlerTest(WardTestCase):
    def setUp(self):
        super().setUp()
        self.runs = 0
        self.old = signal.signal(signal.SIGCHLD, self.handler)

    def tearDown(self):
        signal.signal(signal.SIGCHLD, self.old)
        super().tearDown()

    def handler(self, signum, frame):
        self.runs += 1

    def test_sigchld_handed_to_the_guard(self):
        # signal.signal reached libc's sigaction() and put CPython's C
        # handler in front; ward's wrapper gave the action to the guard, so
        # there is nothing left to hand over.
        self.assertFalse(ward._ward._readopt_sigchld())
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.assertFalse(ward._ward._readopt_sigchld())
        signal.signal(signal.SIGCHLD, self.handler)
        self.assertFalse(ward._ward._readopt_sigchld())
        # Again: CPython puts the same C handler in front of the guard's.
        signal.signal(signal.SIGCHLD, lambda s, f: None)
        self.assertFalse(ward._ward._readopt_sigchld())
        signal.signal(signal.SIGCHLD, self.handler)

    def test_handler_not_run_for_private_children(self):
        self.assertEqual(signal.getsignal(signal.SIGCHLD), self.handler)
        for _ in range(20):
            ward.call(["true"])
        self.assertEqual(self.runs, 0)
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        import time
        deadline = time.monotonic() + 5
        while self.runs == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertGreaterEqual(self.runs, 1)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    unittest.main()
