#!/bin/sh
# a bail out stops the run
cat <<'EOF'
1..3
ok 1
Bail out! the database is gone
ok 2
EOF
