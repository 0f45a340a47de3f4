#!/bin/sh
# tests/reliability/check-valgrind.sh - "make check-valgrind": ward(1) under
# valgrind --leak-check=full --error-exitcode=1, for a few commands that
# between them take every path of the tool: run (exit, signal, timeout with
# SIGKILL after it, JSON, command not found, usage error), test (TAP,
# JUnit, a suite file, pass, fail, skip, a timeout) and torture.
#
# Each command must exit as it does without valgrind, and its valgrind log
# must say "ERROR SUMMARY: 0 errors" with nothing definitely or possibly
# lost.  (Exit status 1 is both valgrind's error status and "a test
# failed" for ward test; the log is what decides.)
#
# Valgrind does not know the pidfd system calls (pidfd_open answers
# ENOSYS), so under valgrind libward runs on its posix backend: these runs
# check ward(1) and libward's core and posix backend, not the pidfd one.
#
# Environment: top_builddir, top_srcdir, LIBTOOL (set by the make target);
# VALGRIND (default valgrind).
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
LIBTOOL=${LIBTOOL:-$top_builddir/libtool}
VALGRIND=${VALGRIND:-valgrind}
WARD=$top_builddir/cli/ward

if ! command -v "$VALGRIND" >/dev/null 2>&1; then
    echo "check-valgrind: $VALGRIND not found (Debian: apt-get install valgrind)" >&2
    exit 77
fi
if [ ! -x "$WARD" ]; then
    echo "check-valgrind: $WARD is not built" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ward-valgrind.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# The tests that "ward test" runs.
printf '#!/bin/sh\necho ok\nexit 0\n' >"$tmp/pass.sh"
printf '#!/bin/sh\necho "not ok" >&2\nexit 3\n' >"$tmp/fail.sh"
printf '#!/bin/sh\nexit 77\n' >"$tmp/skip.sh"
printf '#!/bin/sh\nsleep 10\n' >"$tmp/slow.sh"
chmod +x "$tmp"/*.sh
printf '%s\n' "# a suite" "$tmp/pass.sh" "sh -c 'exit 0'" "sh -c \"echo \\\"q\\\"\"" >"$tmp/suite"

failures=0
runs=0
start=$(date +%s)

# vg WANT_STATUS NAME ARG...: run ward ARG... under valgrind.
vg() {
    want=$1
    name=$2
    shift 2
    runs=$((runs + 1))
    log=$tmp/vg-$runs.log
    $LIBTOOL --mode=execute "$VALGRIND" --quiet --leak-check=full \
        --show-leak-kinds=definite,possible --errors-for-leak-kinds=definite,possible \
        --error-exitcode=1 --track-fds=no --log-file="$log" \
        "$WARD" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    got=$?
    errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -1)
    # --quiet prints the summary only when there are errors.
    [ -n "$errors" ] || errors=0
    if [ "$errors" -ne 0 ] || grep -qE 'definitely lost: [1-9]|possibly lost: [1-9]|Invalid (read|write)|uninitialised|Syscall param' "$log"; then
        echo "FAIL: $name: valgrind reports:"
        sed 's/^/    /' "$log" | head -60
        failures=$((failures + 1))
    elif [ "$got" -ne "$want" ]; then
        echo "FAIL: $name: exit status $got, expected $want"
        sed 's/^/    /' "$tmp/err" | head -20
        failures=$((failures + 1))
    else
        echo "ok: $name (exit $got, valgrind clean)"
    fi
}

vg 0 "ward --version" --version
vg 0 "ward help run" help run
vg 2 "usage error" run --no-such-option -- true
vg 0 "run true" run -- true
vg 7 "run exit 7" run -- sh -c 'exit 7'
vg 143 "run killed by SIGTERM" run -- sh -c 'kill -TERM $$'
vg 127 "run command not found" run -- /nonexistent/ward-valgrind-cmd
vg 124 "run --timeout" run --timeout 300ms -- sleep 10
vg 137 "run --timeout --kill-after (TERM ignored)" run -t 300ms -k 200ms -- sh -c 'trap "" TERM; sleep 10'
vg 3 "run --json-file" run --json-file "$tmp/report.json" -- sh -c 'exit 3'
vg 1 "test pass/fail/skip + JUnit" test -j 2 --junit "$tmp/junit.xml" "$tmp/pass.sh" "$tmp/fail.sh" "$tmp/skip.sh"
vg 1 "test with a timeout" test --timeout 300ms --kill-after 200ms "$tmp/slow.sh" "$tmp/pass.sh"
vg 0 "test -f suite" test -f "$tmp/suite"
vg 0 "torture" torture -n 300 -t 2 --thieves 2

echo "check-valgrind: $runs runs, $failures failed, $(( $(date +%s) - start )) s (posix backend: valgrind has no pidfd_open)"
[ "$failures" -eq 0 ]
