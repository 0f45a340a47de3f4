#!/bin/sh
# tests/reliability/check-sanitizer.sh - "make check-asan" and "make check-tsan".
#
# usage: check-sanitizer.sh asan|tsan
#
# Builds the library, ward(1) and every test program with the sanitizer in
# a build directory of its own (build-asan/ or build-tsan/ under the top
# build directory), then runs the tests there.  Exits non-zero on any
# report: the sanitizers are told to stop at the first error
# (halt_on_error, abort_on_error), so a report fails the test that made it,
# and the log of every failed test is printed.
#
# asan: the whole "make check" (both backends, every suite, ward(1), the
#   reliability suites; the allocation-failure suite skips itself, since
#   ASan owns the allocator).
#
# tsan: Criterion cannot run under ThreadSanitizer (its BoxFort arena finds
#   no room in TSan's address space: "Could not initialize inheritable
#   arena"), so the suites are replaced by the programs that put ward's
#   locks under the most pressure, on both backends: tests/reliability/soak
#   (spawner threads, thieves, a SIGCHLD handler, forks from two threads, an
#   event loop) and "ward torture".  A CLONE_VM child runs TSan's
#   interceptors on its parent's thread state, which TSan does not support
#   (it turns vfork() into fork() for that reason), so in a TSan build the
#   linux backend clones without CLONE_VM, through libc's clone(), which
#   TSan intercepts as a fork (platform/linux/backend.c, WARD_TSAN); the
#   pidfd still comes from the clone and exec errors are still reported
#   by ward_spawn(), which "ward run" checks here on both backends.
#   Everything else of that backend (pidfd reaping, recovery, the epoll
#   set) runs as it is.
#
# The sources are copied with "make distdir" first: a VPATH build needs a
# source directory that was not configured in place, and this one may be.
# The copy also proves that everything the suites need is distributed.
#
# Environment: MAKE (default make), JOBS (default: the number of CPUs),
# CC (default: the compiler configure finds; gcc and clang both work),
# TSAN_SOAK_N (tsan: children of each soak run, default 10000),
# SANITIZER_PATCH (patch files, -p1, applied to the copy before the build:
# to try a proposed fix from tests/reliability/fixes/ without touching the
# tree), SANITIZER_TIMEOUT (seconds for the whole make check, default 2400),
# top_srcdir and top_builddir (set by the make target; default: this
# script's tree).
set -eu

kind=${1:?usage: check-sanitizer.sh asan|tsan}
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
MAKE=${MAKE:-make}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

case $kind in
asan)
    flags="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
    # detect_leaks: LeakSanitizer runs at the exit of every test process.
    # Criterion's own allocations that live until exit are suppressed.
    ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=0:check_initialization_order=1:print_summary=1"
    UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
    LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
    export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
    ;;
tsan)
    flags="-O1 -g -fsanitize=thread -fno-omit-frame-pointer"
    TSAN_OPTIONS="halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0:die_after_fork=0"
    export TSAN_OPTIONS
    ;;
*)
    echo "usage: check-sanitizer.sh asan|tsan" >&2
    exit 2
    ;;
esac

build=$top_builddir/build-$kind
start=$(date +%s)
echo "== $kind: copying the sources (make distdir) into $build/src"
rm -rf "$build"
mkdir -p "$build"
(cd "$top_builddir" && $MAKE -s distdir distdir="$build/src" >/dev/null)
patches=${SANITIZER_PATCH:-}
for p in $patches; do
    case $p in /*) ;; *) p=$top_srcdir/$p ;; esac
    echo "== $kind: applying $p to the copy"
    patch -s -p1 -d "$build/src" <"$p"
done

echo "== $kind: configuring with CFLAGS=$flags"
cd "$build"
"$build/src/configure" --quiet --disable-static CFLAGS="$flags" LDFLAGS="$flags" \
    ${CC:+CC="$CC"} >configure.out 2>&1 || { cat configure.out; exit 1; }

echo "== $kind: building"
$MAKE -s -j"$JOBS" >build.out 2>&1 || { tail -50 build.out; exit 1; }

status=0
if [ "$kind" = asan ]; then
    echo "== $kind: make check"
    # A sanitizer that dies inside a vfork-style child can leave the parent
    # spinning at its own exit: a time limit keeps CI from hanging on that.
    # ASan makes every spawn a few times slower (the shadow memory of the
    # child's stack, the interceptors): the tests' time limits are scaled
    # for it, as for any slower machine (tests/common.h).
    WARD_TEST_SLOWDOWN=${WARD_TEST_SLOWDOWN:-3} \
        timeout --kill-after=30 "${SANITIZER_TIMEOUT:-2400}" $MAKE -j"$JOBS" check >check.out 2>&1 || status=$?
    [ "$status" -eq 124 ] && echo "== $kind: make check did not finish in ${SANITIZER_TIMEOUT:-2400} s"
    grep -E '^(PASS|FAIL|XFAIL|XPASS|SKIP|ERROR|# [A-Z]+:)' check.out || true
    if [ "$status" -ne 0 ]; then
        # Every failed test's log: the sanitizer's report is in there.
        for log in $(find . -name '*.log' ! -name 'test-suite.log' ! -name 'config.log'); do
            trs=${log%.log}.trs
            if [ -f "$trs" ] && grep -qE ':test-result: (FAIL|ERROR)' "$trs"; then
                echo "==== $log"
                grep -E -B2 -A30 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:|WARNING: ThreadSanitizer|FAIL|Assertion' "$log" | head -200
            fi
        done
    fi
else
    # The test programs, without running the Criterion suites.
    $MAKE -s -j"$JOBS" check TESTS= >>build.out 2>&1 || { tail -50 build.out; exit 1; }
    n=0
    # tsan_run NAME COMMAND...: run under the time limit; any report fails it.
    tsan_run() {
        name=$1
        shift
        n=$((n + 1))
        log=tsan-$n.log
        t0=$(date +%s)
        rc=0
        # "|| rc=$?": under set -e a failing test must not end the script.
        timeout --kill-after=30 "${SANITIZER_TIMEOUT:-900}" "$@" >"$log" 2>&1 || rc=$?
        if [ "$rc" -ne 0 ] || grep -q 'ThreadSanitizer' "$log"; then
            echo "FAIL: $name (exit $rc, $(( $(date +%s) - t0 )) s)"
            grep -E -A40 'WARNING: ThreadSanitizer|ERROR: ThreadSanitizer' "$log" | head -120
            tail -5 "$log"
            status=1
        else
            echo "PASS: $name ($(( $(date +%s) - t0 )) s)"
        fi
    }
    # The soak's child exits at once; an instrumented one would spend most
    # of the run in TSan's start-up, so it is built plain (static if possible).
    child=$build/soak-exit-plain
    cc -O2 -static -o "$child" "$build/src/tests/reliability/soak-exit.c" 2>/dev/null ||
        cc -O2 -o "$child" "$build/src/tests/reliability/soak-exit.c"
    # An exec error is ward_spawn()'s errno, not the child's exit status
    # 127: "ward run" names the error (and exits 127 or 126 as a shell
    # would), where a child that failed on its own would say nothing.  A
    # shell function would not survive timeout(1), hence sh -c.
    noexec=$build/noexec
    printf 'not a program\n' >"$noexec"
    chmod 644 "$noexec"
    for backend in linux posix; do
        WARD_BACKEND=$backend
        export WARD_BACKEND
        tsan_run "ward run: exec errors are reported ($backend)" \
            sh -c 'tsan_spawn_error() {
                       out=$(./libtool --mode=execute cli/ward run -- "$1" 2>&1)
                       rc=$?
                       [ "$rc" -eq "$2" ] && [ "$out" = "ward: $1: $3" ] && return 0
                       echo "ward run -- $1: exit $rc, stderr: $out (want exit $2: ward: $1: $3)"
                       return 1
                   }
                   tsan_spawn_error /nonexistent 127 "No such file or directory" &&
                   tsan_spawn_error "$0" 126 "Permission denied"' "$noexec"
        tsan_run "soak -n ${TSAN_SOAK_N:-10000} -f 2 -e ($backend)" \
            ./libtool --mode=execute tests/reliability/soak -n "${TSAN_SOAK_N:-10000}" -t 4 -f 2 -e "$child"
        tsan_run "ward torture -n 2000 ($backend)" \
            ./libtool --mode=execute cli/ward torture -n 2000 -t 4 --thieves 2
    done
    unset WARD_BACKEND
fi
echo "== $kind: $(( $(date +%s) - start )) s, exit status $status"
exit "$status"
