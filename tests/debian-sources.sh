# tests/debian-sources.sh - sourced by tests/kernels/run and tests/peers/run:
# the Debian archives this machine's apt is configured with, so that those
# scripts can build private apt configurations without naming a host.

# The machine's Debian archives: every source whose suite names a Debian
# release (the security archive included: the installed ruby may come from
# it), as "URI SUITE".  Both apt formats are read: one-line .list files and
# deb822 .sources files.
debian_sources() {
    {
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                               print $i, $(i + 1) }'
        for f in /etc/apt/sources.list.d/*.sources; do
            test -f "$f" || continue
            awk 'BEGIN { RS = ""; FS = "\n" }
                 { u = ""; s = ""; t = ""
                   for (i = 1; i <= NF; i++) {
                       if ($i ~ /^Types:/) t = $i
                       if ($i ~ /^URIs:/) { u = $i; sub(/^URIs:[ \t]*/, "", u); sub(/[ \t].*/, "", u) }
                       if ($i ~ /^Suites:/) { s = $i; sub(/^Suites:[ \t]*/, "", s) } }
                   if (t !~ /[ \t]deb([ \t]|$)/) next
                   n = split(s, a, /[ \t]+/)
                   for (j = 1; j <= n; j++) if (u != "" && a[j] != "") print u, a[j] }' "$f"
        done
    } | awk '$2 ~ /^(buster|bullseye|bookworm|trixie|forky|sid|stable|oldstable|testing|unstable)(-updates|-security|\/updates)?$/ &&
             !seen[$0]++'
}
