# pipe.sh - pipelines; POSIX, run by bash and dash.
. "${0%/*}/lib.sh"

false | true; check pipe-last 0 $?
true | false; check pipe-last-fail 1 $?
x=$(yes | head -n 3 | wc -l); check pipe-sigpipe "3" "$(echo $x)"
x=$(printf 'b\na\nc\n' | sort | tr -d '\n'); check pipe-chain abc "$x"
x=$(seq 1 2000 | while read -r l; do echo "$l"; done | tail -n 1); check pipe-loop 2000 "$x"
x=$( (sleep 0.2; echo a) | cat; echo b); check pipe-sub "a
b" "$x"
i=0
while [ $i -lt 50 ]; do
    true | true | true
    i=$((i + 1))
done
check pipe-many 50 $i
