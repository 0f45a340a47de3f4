#!/bin/sh
# numbers out of sequence
cat <<'EOF'
1..3
ok 1
ok 3
ok 2
EOF
