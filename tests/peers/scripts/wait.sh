# wait.sh - background jobs and the wait builtin; POSIX, run by bash and dash.
. "${0%/*}/lib.sh"

(exit 3) & p=$!
wait "$p"; check wait-pid 3 $?

# The status of a child that exited long before the wait is kept by the
# shell, which reaped it from its SIGCHLD handler or its next waitpid().
(exit 7) & p=$!
sleep 0.3
wait "$p"; check wait-late 7 $?

(exit 1) & a=$!
(exit 2) & b=$!
(sleep 0.2; exit 4) & c=$!
wait "$c"; r3=$?
wait "$b"; r2=$?
wait "$a"; r1=$?
check wait-order "1 2 4" "$r1 $r2 $r3"

for i in 1 2 3 4 5 6 7 8; do (exit $i) & done
wait; check wait-all 0 $?

sleep 5 & p=$!
kill -TERM "$p"
wait "$p"; check wait-killed 143 $?

sh -c 'kill -KILL $$' & p=$!
wait "$p"; check wait-self-killed 137 $?

wait 2>/dev/null; check wait-none 0 $?

# Command substitution and a subshell's own children.
x=$(sh -c 'exit 5'; echo $?); check cmdsubst-status 5 "$x"
x=$( (sleep 0.1; echo late) & echo early; wait); check cmdsubst-bg "early
late" "$x"
x=$(sh -c '(exit 9) & wait $!; echo $?'); check nested-wait 9 "$x"
