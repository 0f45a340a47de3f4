#!/bin/sh
#
# check-man-install.sh - check the manual as "make install" lays it out.
#
#  (a) "make install-man" and the link hook (ward_man_install_links) put the
#      pages into a scratch DESTDIR, through the rules "make install" runs;
#  (b) every other name of WARD_MAN3_LINKS (man/Makemodule.am) is installed
#      as a symbolic link to its page in the same directory, not as a copy
#      or a ".so" page;
#  (c) "mandoc -Tlint -Wwarning" over the installed tree, run from its man
#      root as man(1) reads it, prints nothing;
#  (d) "make uninstall-man" and the unlink hook leave no file behind.
#
# With WARD_MAN_ROOT set (installcheck, after a real "make install"), only
# (b) and (c), on that tree: it is not this script's to uninstall.
#
# Environment: srcdir (top of the source tree), builddir (top of the build
# tree), MAKE (the make that runs the tests), MANDOC (the mandoc program),
# WARD_MAN_ROOT (an installed man root to check instead).
#
# Exit status: 0 all checks pass, 1 a check failed, 77 mandoc is missing
# (the test is skipped), 99 the check itself could not run.

LC_ALL=C
export LC_ALL

me=check-man-install

if [ -z "${srcdir:-}" ]; then
	case $0 in
	*/*) srcdir=$(dirname "$0")/.. ;;
	*) srcdir=.. ;;
	esac
fi
builddir=${builddir:-.}
MAKE=${MAKE:-make}
MANDOC=${MANDOC:-mandoc}
fragment=$srcdir/man/Makemodule.am

if ! command -v "$MANDOC" >/dev/null 2>&1; then
	echo "$me: SKIP: $MANDOC not found"
	exit 77
fi
if [ ! -f "$fragment" ]; then
	echo "$me: ERROR: $fragment not found (srcdir=$srcdir)" >&2
	exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-man-install.XXXXXX" 2>/dev/null) ||
	tmp=${TMPDIR:-/tmp}/check-man-install.$$
if ! { [ -d "$tmp" ] || mkdir "$tmp"; }; then
	echo "$me: ERROR: cannot create a temporary directory" >&2
	exit 99
fi
trap 'rm -rf "$tmp"' EXIT
trap 'exit 99' HUP INT PIPE TERM

failures=0

fail() {
	echo "$me: FAIL: $*"
	failures=$((failures + 1))
}

# The pairs of WARD_MAN3_LINKS, one "page name" a line.
awk '
{
	line = $0
	while (line ~ /\\$/) {
		sub(/\\$/, " ", line)
		if ((getline nxt) <= 0) break
		line = line nxt
	}
	if (line !~ /^[ \t]*WARD_MAN3_LINKS[ \t]*\+?=/) next
	sub(/^[^=]*=/, "", line)
	n = split(line, w, /[ \t]+/)
	for (i = 1; i <= n; i++) {
		if (w[i] == "") continue
		page = w[i]; name = w[i]
		sub(/:.*/, "", page); sub(/^[^:]*:/, "", name)
		print page, name
	}
}' "$fragment" > "$tmp/links"
if [ ! -s "$tmp/links" ]; then
	echo "$me: ERROR: no WARD_MAN3_LINKS in $fragment" >&2
	exit 99
fi

# make, run from the build tree with none of the flags of the make that
# runs the tests: its jobserver is not ours, and its command-line
# variables (TESTS=...) are not for this make.
submake() {
	(cd "$builddir" && MAKEFLAGS= MFLAGS= "$MAKE" "$@") > "$tmp/make.out" 2>&1
}

# (a)
if [ -n "${WARD_MAN_ROOT:-}" ]; then
	root=$WARD_MAN_ROOT
	if [ ! -d "$root/man3" ]; then
		fail "$root/man3 is not a directory: is the manual installed?"
		exit 1
	fi
else
	dest=$tmp/dest
	if ! submake install-man ward_man_install_links DESTDIR="$dest"; then
		echo "$me: ERROR: make install-man ward_man_install_links failed:" >&2
		cat "$tmp/make.out" >&2
		exit 99
	fi
	# The man root is wherever mandir is under DESTDIR.
	man3=$(find "$dest" -type d -name man3 | head -n 1)
	if [ -z "$man3" ]; then
		fail "make install-man installed no man3 directory"
		exit 1
	fi
	root=$(dirname "$man3")
fi

# (b)
while read -r page name; do
	link=$root/man3/$name
	if [ ! -L "$link" ]; then
		if [ -e "$link" ]; then
			fail "man3/$name is installed, but not as a symbolic link"
		else
			fail "man3/$name is not installed"
		fi
		continue
	fi
	target=$(ls -l "$link" | sed 's/.* -> //')
	if [ "$target" != "$page" ]; then
		fail "man3/$name links to $target, not to $page"
	elif [ ! -f "$root/man3/$page" ]; then
		fail "man3/$name links to $page, which is not installed"
	fi
done < "$tmp/links"

# (c) From the man root, with every page (links included) named as
# man(1) would find it.
(cd "$root" && find . \( -type f -o -type l \) -name '*.[1-9]' |
	sed 's|^\./||' | sort) > "$tmp/pages"
if [ ! -s "$tmp/pages" ]; then
	fail "no page installed under $root"
else
	out=$(cd "$root" && xargs "$MANDOC" -Tlint -Wwarning < "$tmp/pages" 2>&1)
	rc=$?
	if [ -n "$out" ] || [ $rc -ne 0 ]; then
		fail "mandoc -Tlint -Wwarning in $root (exit $rc):"
		printf '%s\n' "$out" | sed 's/^/    /'
	fi
fi
npages=$(wc -l < "$tmp/pages" | tr -d ' ')

# (d)
if [ -z "${WARD_MAN_ROOT:-}" ]; then
	if ! submake uninstall-man ward_man_uninstall_links DESTDIR="$dest"; then
		fail "make uninstall-man ward_man_uninstall_links failed:"
		sed 's/^/    /' "$tmp/make.out"
	else
		left=$(find "$dest" ! -type d)
		if [ -n "$left" ]; then
			fail "left behind by make uninstall-man:"
			printf '%s\n' "$left" | sed 's/^/    /'
		fi
	fi
fi

if [ "$failures" -ne 0 ]; then
	echo "$me: $failures failure(s) in $npages installed pages"
	exit 1
fi
echo "$me: PASS: $npages installed pages under $root"
exit 0
