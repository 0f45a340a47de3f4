"""Run CPython's own test_subprocess (Debian's libpython3.11-testsuite),
plain or with subprocess.Popen replaced by ward.Popen, and write one line
per test, "ID RESULT" (ok, FAIL, ERROR, skip, xfail, xpass), to a file.

    python3 subprocess_ward.py plain|ward OUTFILE [unittest names...]

In "ward" mode, subprocess.Popen is ward.Popen before the test module is
imported, so every Popen the tests make, and subprocess.run, call,
check_call, check_output, getoutput (which use the module's Popen), start
private children.  A test that runs longer than WARD_TEST_TIMEOUT seconds
(default 120) ends the run through faulthandler (the runner then reports
it and the tests not reached).
"""
import faulthandler
import os
import subprocess
import sys
import unittest

mode, out = sys.argv[1], sys.argv[2]
names = sys.argv[3:] or ["test.test_subprocess"]
if mode == "ward":
    import ward
    subprocess.Popen = ward.Popen
elif mode != "plain":
    sys.exit("mode: plain or ward")

LIMIT = float(os.environ.get("WARD_TEST_TIMEOUT", "120"))
log = open(out, "a", buffering=1)


class Result(unittest.TextTestResult):
    def startTest(self, test):
        faulthandler.dump_traceback_later(LIMIT, exit=True)
        super().startTest(test)

    def stopTest(self, test):
        faulthandler.cancel_dump_traceback_later()
        super().stopTest(test)

    def _line(self, test, what):
        log.write("%s %s\n" % (test.id(), what))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(test, "FAIL")

    def addError(self, test, err):
        super().addError(test, err)
        self._line(test, "ERROR")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(test, "skip")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line(test, "xfail")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line(test, "xpass")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._line(test, "FAIL" if issubclass(err[0], test.failureException) else "ERROR")


suite = unittest.defaultTestLoader.loadTestsFromNames(names)
r = unittest.TextTestRunner(resultclass=Result, verbosity=2, stream=sys.stdout).run(suite)
sys.exit(0)
