# make.sh - make -k -j4 with recipes that fail, pass, are killed and recurse.
. "${0%/*}/lib.sh"
d=$(mktemp -d) || exit 1
trap 'rm -rf "$d"' EXIT
cat >"$d/Makefile" <<'MK'
all: ok1 ok2 fail1 slow dep-on-fail killed sub
ok1 ok2:
	@touch $@
fail1:
	@exit 2
slow:
	@sleep 0.3; touch $@
dep-on-fail: fail1
	@touch $@
killed:
	@sh -c 'kill -TERM $$$$'
sub:
	@$(MAKE) -s -f Sub.mk
MK
cat >"$d/Sub.mk" <<'MK'
all: s1 s2 s3
s1 s2:
	@sleep 0.1; touch $@
s3:
	@exit 1
MK
(cd "$d" && make -k -j4 >out 2>&1); check make-k-status 2 $?
x=$(cd "$d" && ls | grep -v -e Makefile -e Sub.mk -e out | sort | tr '\n' ' ')
check make-k-built "ok1 ok2 s1 s2 slow " "$x"
x=$(grep -c 'Error' "$d/out"); check make-k-errors 3 "$x"
x=$(grep -c 'Terminated\|Error 143' "$d/out"); [ "$x" -ge 1 ] && x=yes; check make-k-killed yes "$x"
(cd "$d" && rm -f ok1 ok2 s1 s2 slow && make -j4 ok1 ok2 slow >/dev/null 2>&1); check make-j4-ok 0 $?
(cd "$d" && make -j4 fail1 slow >/dev/null 2>&1); check make-j4-fail 2 $?
