#!/bin/sh
# the plan in the middle, results on both sides
cat <<'EOF'
ok 1
1..2
ok 2
EOF
