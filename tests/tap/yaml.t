#!/bin/sh
# TAP 13 with YAML blocks, whose lines are not results
cat <<'EOF'
TAP version 13
1..2
ok 1 - with data
  ---
  message: "all good"
  data: |
    not ok 7 - inside YAML
    1..99
  ...
not ok 2 - fails with data # TODO known
  ---
  got: 1
  ...
EOF
