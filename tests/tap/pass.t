#!/bin/sh
# every planned test passes
cat <<'EOF'
1..3
ok 1 - first
ok 2 - second
ok 3 third
EOF
