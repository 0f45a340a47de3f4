#!/bin/sh
# no output at all
cat <<'EOF'
EOF
