#!/bin/sh
# SKIP and TODO directives; a TODO that passes does not fail
cat <<'EOF'
1..5
ok 1 - works
ok 2 # skip no IPv6
not ok 3 - known bug # TODO fix the parser
ok 4 - fixed by chance # TODO flaky
ok 5 - a hash in the name \# SKIP is not a directive
EOF
