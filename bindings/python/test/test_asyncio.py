import asyncio
import gc
import os
import signal
import threading
import time
import unittest
import warnings

import ward
import ward.asyncio as wa
from helper import WardTestCase

PIPE = asyncio.subprocess.PIPE


class AsyncioTest(WardTestCase):
    def run_async(self, coro):
        return asyncio.run(asyncio.wait_for(coro, 60))

    def test_exec_communicate(self):
        async def main():
            p = await wa.create_subprocess_exec("sh", "-c", "cat; echo e >&2; exit 3",
                                                stdin=PIPE, stdout=PIPE, stderr=PIPE)
            out, err = await p.communicate(b"in")
            return p.returncode, out, err
        self.assertEqual(self.run_async(main()), (3, b"in", b"e\n"))

    def test_shell_wait_and_many(self):
        async def one(i):
            p = await wa.create_subprocess_shell("sleep 0.%d; exit %d" % (i % 3, i))
            return await p.wait()

        async def main():
            return await asyncio.gather(*(one(i) for i in range(20)))
        self.assertEqual(self.run_async(main()), list(range(20)))

    def test_streams_and_kill(self):
        async def main():
            p = await wa.create_subprocess_exec("sh", "-c", "echo ready; exec sleep 10",
                                                stdout=PIPE)
            self.assertEqual(await p.stdout.readline(), b"ready\n")
            p.send_signal(signal.SIGTERM)
            rc = await p.wait()
            await p.stdout.read()
            return rc
        self.assertEqual(self.run_async(main()), -signal.SIGTERM)

    def test_exec_error(self):
        async def main():
            await wa.create_subprocess_exec("/nonexistent")
        self.assertRaises(FileNotFoundError, self.run_async, main())

    def test_invisible_to_waitpid(self):
        ward.install()
        try:
            async def main():
                p = await wa.create_subprocess_exec("sleep", "0.2")
                self.assertRaises(ChildProcessError, os.waitpid, p.pid, os.WNOHANG)
                return await p.wait()
            self.assertEqual(self.run_async(main()), 0)
        finally:
            ward.uninstall()

    def test_refuses_what_asyncio_refuses(self):
        # Code ported from asyncio.create_subprocess_exec/_shell gets the
        # same ValueError for what their bytes streams cannot do, not a
        # TypeError or a text-mode Popen under asyncio's byte streams.
        bad = [dict(universal_newlines=True), dict(text=True), dict(encoding="utf-8"),
               dict(errors="strict"), dict(bufsize=1)]
        for kw in bad + [dict(shell=True)]:
            with self.subTest(exec=kw):
                with self.assertRaises(ValueError):
                    self.run_async(wa.create_subprocess_exec("true", **kw))
        for kw in bad + [dict(shell=False)]:
            with self.subTest(shell=kw):
                with self.assertRaises(ValueError):
                    self.run_async(wa.create_subprocess_shell("true", **kw))
        with self.assertRaises(ValueError):
            self.run_async(wa.create_subprocess_shell(["true"]))

    def test_loops_in_two_threads(self):
        # A service with an event loop in each of two threads.  ward's
        # events descriptor is one for the process, and ward.dispatch()
        # on either loop reaps the children of both: the other loop must
        # still learn that its child ended, not wait for it forever.
        stop = threading.Event()
        errors = []

        async def children(seconds, n):
            for _ in range(n):
                p = await wa.create_subprocess_exec("sleep", seconds)
                self.assertEqual(await asyncio.wait_for(p.wait(), 10), 0)

        def other():
            try:
                while not stop.is_set():
                    asyncio.run(children("0", 5))
            except BaseException as e:  # noqa: B036 -- reported below
                errors.append(e)

        t = threading.Thread(target=other)
        t.start()
        try:
            asyncio.run(children("0.2", 5))
        finally:
            stop.set()
            t.join()
        self.assertEqual(errors, [])

    def test_loop_closed_with_child_running(self):
        # asyncio.run() ends while the child runs, as when a service shuts
        # down.  Nothing of that loop may be kept once the program drops
        # the process: as with asyncio's own transports, the dropped
        # transport warns, kills the child, and ward reaps it; no
        # descriptor and no zombie stays behind.
        async def main():
            return await wa.create_subprocess_exec("sleep", "10")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            p = asyncio.run(main())
            pid = p.pid
            self.assertIsNone(p.returncode)
            del p
            gc.collect()
        deadline = time.monotonic() + 5
        while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
            ward.spawn(["true"]).wait()  # a spawn reaps dropped children
            time.sleep(0.02)
        self.assertFalse(os.path.exists("/proc/%d" % pid), "the child is still there")


if __name__ == "__main__":
    unittest.main()
