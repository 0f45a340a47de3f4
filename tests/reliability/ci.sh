#!/bin/sh
# tests/reliability/ci.sh - the reliability runs CI makes, after the ordinary
# build (.ci/run calls it from the top of a configured tree):
#
#   make check-asan       the whole make check under ASan+UBSan
#   make check-tsan       soak and torture under TSan, both backends
#   make check-valgrind   ward(1) under valgrind
#   make fuzz             each harness FUZZ_SECONDS (default here 30) over
#                         its seeds: a regression run, not a campaign
#
# Every one runs even if an earlier one failed; the exit status is non-zero
# if any failed.  Times are printed: the whole takes about 15 minutes on
# two cores.  The soak (make soak) is not part of it.
set -u
cd "$(dirname "$0")/../.."

status=0
step() {
    name=$1
    shift
    t0=$(date +%s)
    echo "==== $name"
    if "$@"; then
        echo "==== $name: ok ($(( $(date +%s) - t0 )) s)"
    else
        rc=$?
        if [ "$rc" -eq 77 ]; then
            echo "==== $name: skipped ($(( $(date +%s) - t0 )) s)"
        else
            echo "==== $name: FAILED ($(( $(date +%s) - t0 )) s)"
            status=1
        fi
    fi
}

MAKE=${MAKE:-make}
step "ASan+UBSan" $MAKE check-asan
step "TSan" $MAKE check-tsan
step "valgrind" $MAKE check-valgrind
step "fuzz (regression)" env FUZZ_SECONDS="${FUZZ_SECONDS:-30}" $MAKE fuzz
exit $status
