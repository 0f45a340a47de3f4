# lib.sh - helpers for the peer scripts, sourced by each of them.  Every
# check prints one line, "NAME ok" or "NAME FAIL what was seen", so that a
# run's output is the same from one run to the next and tests/peers/run can
# compare it line by line.
check() {
    # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then
        echo "$1 ok"
    else
        echo "$1 FAIL expected [$2] got [$3]"
    fi
}

# until_stopped PID: waits (at most 10 s) until PID is in the stopped state,
# so that a check after it does not race with the delivery of SIGSTOP.
until_stopped() {
    n=0
    while [ $n -lt 1000 ]; do
        case $(ps -o stat= -p "$1" 2>/dev/null) in T*) return 0 ;; esac
        sleep 0.01
        n=$((n + 1))
    done
    return 1
}
