# trap.sh - traps on CHLD and on other signals while children come and go;
# POSIX, run by bash and dash.
. "${0%/*}/lib.sh"

n=0
trap 'n=$((n + 1))' CHLD
for i in 1 2 3 4; do (exit $i) & done
wait
trap - CHLD
# Signals merge, so the count is only known to be at least one; the trap
# must have run, and the children must all have been waited for.
[ "$n" -ge 1 ] && r=yes || r="no ($n)"
check trap-chld-ran yes "$r"

# A trap on CHLD set while a child is running, removed before it is reaped.
m=0
sleep 0.2 & p=$!
trap 'm=1' CHLD
trap - CHLD
wait "$p"; check trap-chld-removed "0 0" "$? $m"

# A USR1 trap interrupting wait: wait returns >128 and the trap runs.
got=
trap 'got=usr1' USR1
sleep 2 & p=$!
(sleep 0.2; kill -USR1 $$) &
wait "$p"; r=$?
trap - USR1
[ "$r" -gt 128 ] && r=interrupted
check trap-usr1-wait "interrupted usr1" "$r $got"
kill "$p" 2>/dev/null
wait

# SIGCHLD ignored by the shell's parent: children still report their status
# to the shell, which resets nothing but what POSIX lets it.
x=$(sh -c 'trap "" CHLD; (exit 6) & wait $!; echo $?')
check chld-ignored-wait 6 "$x"
