#!/bin/sh
# every result passes but the exit code is not 0
cat <<'EOF'
1..1
ok 1
EOF
exit 3
