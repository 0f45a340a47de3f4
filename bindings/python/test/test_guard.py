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
