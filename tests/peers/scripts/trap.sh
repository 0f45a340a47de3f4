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

# (Not checked: a CHLD trap removed while a child's SIGCHLD is pending;
# bash 5.2 then crashes now and then, with or without the guard.)

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

# A SIGCHLD that no child sent (kill, as raise() or sigqueue() would) is the
# program's: dash runs its CHLD trap for it; bash runs that trap only for
# the children it reaps.
got=0
trap 'got=1' CHLD
kill -CHLD $$
:
trap - CHLD
if [ -n "${BASH_VERSION:-}" ]; then want=0; else want=1; fi
check trap-chld-kill "$want" "$got"
