# tests/peers/regrtest.py - CPython's regrtest ("python3 -m test") with a
# watchdog on each test: a test that runs longer than PEERS_TEST_TIMEOUT
# seconds (default 60) ends the interpreter through faulthandler, which
# prints "Timeout (H:MM:SS)!" and the stacks.  tests/peers/run then starts
# a new interpreter for the tests not yet run, so that one hang costs one
# test, not the rest of the module.
import faulthandler
import os
import unittest

from test.libregrtest import main

LIMIT = float(os.environ.get("PEERS_TEST_TIMEOUT", "60"))
_run = unittest.TestCase.run


def run(self, result=None):
    faulthandler.dump_traceback_later(LIMIT, exit=True)
    try:
        return _run(self, result)
    finally:
        faulthandler.cancel_dump_traceback_later()


unittest.TestCase.run = run
main()
