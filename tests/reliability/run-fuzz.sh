#!/bin/sh
# tests/reliability/run-fuzz.sh - "make fuzz": build every libFuzzer harness
# and run each for a bounded time.
#
# usage: run-fuzz.sh [HARNESS...]      (default: all five)
#
# Harnesses (sources in tests/reliability/fuzz_*.c, seed corpora in
# tests/fuzz/<harness>/):
#   duration   parse_duration() of ward(1), against an exact reference
#   suite      the SUITE file of "ward test -f", against the grammar
#   options    the option parsers of ward run / test / torture
#   env        WARD_BACKEND, WARD_NO_PIDFD_INFO, PATH and environment edits
#   tap        the TAP reader of "ward test" (cli/tap.c), whole and in pieces
#
# Environment:
#   FUZZ_CC       the compiler (default clang; it needs -fsanitize=fuzzer)
#   FUZZ_SECONDS  how long each harness runs (default 60)
#   FUZZ_JOBS     parallel fuzzing processes per harness (default 1)
#   FUZZ_MERGE    1: merge what was found into the seed corpus in the source
#                 tree (to commit), minimised with -merge=1
#   top_srcdir, top_builddir   set by the make target
#
# The binaries and the working corpora go to $top_builddir/fuzz/.  New
# inputs land in the working corpus; the seeds in the source tree are only
# read, unless FUZZ_MERGE=1.  A crash or a failed check stops the run with
# the input saved as fuzz/<harness>/crash-* and a non-zero exit.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
CC=${FUZZ_CC:-clang}
SECONDS_EACH=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}
out=$top_builddir/fuzz
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
inc="-I$top_builddir -I$top_srcdir/include -I$top_srcdir/cli -I$top_srcdir/lib"

if ! printf 'int LLVMFuzzerTestOneInput(const char *d, long n){return 0;}\n' |
    $CC -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null; then
    echo "run-fuzz: SKIP: $CC cannot build libFuzzer harnesses (-fsanitize=fuzzer); set FUZZ_CC" >&2
    exit 0
fi
if [ ! -f "$top_builddir/config.h" ]; then
    echo "run-fuzz: run configure first ($top_builddir/config.h is missing)" >&2
    exit 1
fi
mkdir -p "$out"

build() {
    name=$1
    src=$top_srcdir/tests/reliability/fuzz_$name.c
    case $name in
    duration | suite)
        extra="$top_srcdir/cli/util.c"
        wraps="-Wl,--wrap=exit"
        ;;
    tap)
        extra="$top_srcdir/cli/util.c $top_srcdir/cli/tap.c"
        wraps="-Wl,--wrap=exit"
        ;;
    options)
        extra="$top_srcdir/cli/util.c $top_srcdir/cli/suite.c $top_srcdir/cli/report.c $top_srcdir/cli/tap.c \
            -L$top_builddir/lib/.libs -lward -Wl,-rpath,$top_builddir/lib/.libs -lpthread"
        wraps="-Wl,--wrap=exit -Wl,--wrap=fopen"
        ;;
    env)
        extra="$top_srcdir/lib/attr.c $top_srcdir/lib/child.c $top_srcdir/lib/waitany.c \
            $top_srcdir/lib/handle.c $top_srcdir/lib/pidtable.c $top_srcdir/lib/events.c \
            $top_srcdir/lib/fork.c $top_srcdir/lib/lock.c \
            $top_srcdir/lib/slots.c $top_srcdir/lib/real.c $top_srcdir/platform/posix/backend.c \
            -lpthread"
        wraps="-Wl,--wrap=exit -Wl,--wrap=pthread_atfork"
        ;;
    esac
    # shellcheck disable=SC2086
    $CC $flags $inc "$src" $extra $wraps -o "$out/fuzz_$name"
}

run() {
    name=$1
    seeds=$top_srcdir/tests/fuzz/$name
    work=$out/$name
    mkdir -p "$work" "$seeds"
    opts="-max_total_time=$SECONDS_EACH -print_final_stats=1 -artifact_prefix=$work/ -timeout=10 -rss_limit_mb=2048"
    asan="halt_on_error=1:abort_on_error=1"
    case $name in
    options)
        # Usage errors end in exit(2), which the harness turns into a jump
        # back: what the real program would have freed by exiting is lost.
        opts="$opts -detect_leaks=0"
        asan="$asan:detect_leaks=0"
        ;;
    esac
    [ "$JOBS" -gt 1 ] && opts="$opts -fork=$JOBS"
    echo "== fuzz_$name: $SECONDS_EACH s, corpus $work + seeds $seeds"
    # shellcheck disable=SC2086
    ASAN_OPTIONS=$asan UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$out/fuzz_$name" $opts "$work" "$seeds" >"$out/fuzz_$name.log" 2>&1 || {
        grep -E -A25 'ERROR|fuzz check failed|runtime error|==ABORTING|Test unit written' \
            "$out/fuzz_$name.log" | head -60
        echo "run-fuzz: fuzz_$name FAILED (log: $out/fuzz_$name.log)"
        return 1
    }
    grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$out/fuzz_$name.log" |
        tr '\n' ' '
    echo
    if [ "${FUZZ_MERGE:-0}" = 1 ]; then
        mkdir -p "$out/$name.merged"
        # shellcheck disable=SC2086
        ASAN_OPTIONS=$asan "$out/fuzz_$name" -merge=1 $( [ "$name" = options ] && echo -detect_leaks=0 ) \
            "$out/$name.merged" "$seeds" "$work" >/dev/null 2>&1
        rm -rf "$seeds"
        mv "$out/$name.merged" "$seeds"
        echo "   seeds now: $(ls "$seeds" | wc -l) files in $seeds"
    fi
}

harnesses=${*:-duration suite options env tap}
status=0
for h in $harnesses; do
    build "$h"
done
for h in $harnesses; do
    run "$h" || status=1
done
exit $status
