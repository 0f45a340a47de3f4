#!/bin/sh
# the whole file is skipped
cat <<'EOF'
1..0 # SKIP no network here
EOF
