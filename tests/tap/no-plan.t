#!/bin/sh
# results but no plan
cat <<'EOF'
ok 1
ok 2
EOF
