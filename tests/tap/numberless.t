#!/bin/sh
# results without numbers are numbered in order
cat <<'EOF'
1..3
ok
ok - second
not ok - third # todo later
EOF
