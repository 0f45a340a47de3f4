# jobs.bash - bash job control (set -m), wait -n, PIPESTATUS, pipefail.
. "${0%/*}/lib.sh"
set -m

(sleep 0.1; exit 5) & fg %1 >/dev/null; check fg-status 5 $?

sleep 0.5 & p=$!
kill -STOP "$p"
until_stopped "$p" || echo "stop-seen FAIL"
sleep 0.1
x=$(jobs -l | grep -c Stopped); check jobs-stopped 1 "$x"
bg %1 >/dev/null 2>&1; check bg-status 0 $?
wait %1; check bg-wait 0 $?

(sleep 0.4; exit 2) &
(sleep 0.1; exit 4) &
wait -n; r1=$?
wait -n; r2=$?
wait -n; r3=$?
check wait-n "4 2 127" "$r1 $r2 $r3"

(sleep 0.1; exit 6) & a=$!
(sleep 0.3; exit 8) & b=$!
wait -n -p who; r=$?
[ "$who" = "$a" ] && who=first
check wait-n-p "6 first" "$r $who"
wait "$b"; check wait-n-rest 8 $?

n=0
trap 'n=$((n + 1))' CHLD
for i in 1 2 3 4 5; do (exit $i) & wait $!; done
trap - CHLD
# With job control, bash runs the CHLD trap once for each child it reaps.
check trap-chld-count 5 "$n"

true | (exit 3) | true; x="${PIPESTATUS[*]}"; check pipestatus "0 3 0" "$x"
yes | head -n 1 >/dev/null; x="${PIPESTATUS[*]}"; check pipestatus-sigpipe "141 0" "$x"
set -o pipefail
true | (exit 3) | true; check pipefail 3 $?
set +o pipefail

x=$(coproc { read -r l; echo "got $l"; }; echo hi >&"${COPROC[1]}"; read -r y <&"${COPROC[0]}"; wait "$COPROC_PID"; echo "$y $?")
check coproc "got hi 0" "$x"

x=$(cat <(echo a) <(echo b) | tr -d '\n'); check procsubst ab "$x"
