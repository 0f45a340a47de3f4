#!/bin/sh
# one subtest fails
cat <<'EOF'
1..3
ok 1 - first
not ok 2 - second
# diagnostics: got 1, expected 2
ok 3 - third
EOF
