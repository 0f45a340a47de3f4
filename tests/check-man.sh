#!/bin/sh
#
# check-man.sh - check the manual pages against the library.
#
#  (a) every page under man/ passes "mandoc -Tlint -Wwarning" silently;
#  (b) every exported symbol is named in the NAME section of a page;
#  (c) every exported symbol starts with "ward_";
#  (d) the SYNOPSIS of each page matches the prototypes in include/ward.h:
#      return type, name and parameter list;
#  (e) man/Makemodule.am installs every page and a link for every extra
#      name a page documents;
#  (f) every heading (.Sh, .Ss) is whole: no stray double quote in its
#      text, and something under it before the next heading of its level
#      or above (mandoc accepts both, and renders them as headings).
#
# The exported symbols come from the shared library (nm -D --defined-only);
# when it has not been built, from the prototypes in include/ward.h.
#
# Environment: srcdir (top of the source tree), builddir (top of the build
# tree), MANDOC (the mandoc program), NM (the nm program), WARD_SHLIB (the
# shared library, to override the search).
#
# Exit status: 0 all checks pass, 1 a check failed, 77 mandoc is missing
# (the test is skipped), 99 the check itself could not run.

LC_ALL=C
export LC_ALL

me=check-man

if [ -z "${srcdir:-}" ]; then
	case $0 in
	*/*) srcdir=$(dirname "$0")/.. ;;
	*) srcdir=.. ;;
	esac
fi
builddir=${builddir:-.}
MANDOC=${MANDOC:-mandoc}
NM=${NM:-nm}

header=$srcdir/include/ward.h
# The libev adapter's header and library are checked with the rest when
# they exist (libward-ev is built only where libev is installed).
evheader=$srcdir/include/ward/ev.h
[ -f "$evheader" ] || evheader=
mandir=$srcdir/man
fragment=$srcdir/man/Makemodule.am

if ! command -v "$MANDOC" >/dev/null 2>&1; then
	echo "$me: SKIP: $MANDOC not found"
	exit 77
fi
if [ ! -f "$header" ] || [ ! -d "$mandir" ]; then
	echo "$me: ERROR: $header or $mandir not found (srcdir=$srcdir)" >&2
	exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-man.XXXXXX" 2>/dev/null) ||
	tmp=${TMPDIR:-/tmp}/check-man.$$
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

# The pages, one path a line, sorted so that the output is stable.
find "$mandir" -type f -name '*.[1-9]' | sort > "$tmp/pages"
npages=$(wc -l < "$tmp/pages" | tr -d ' ')
if [ "$npages" -eq 0 ]; then
	fail "no manual page found under $mandir"
fi

# (a) mandoc -Tlint -Wwarning: any message fails.
while IFS= read -r page; do
	out=$("$MANDOC" -Tlint -Wwarning "$page" 2>&1)
	rc=$?
	if [ -n "$out" ] || [ $rc -ne 0 ]; then
		fail "${page#"$srcdir"/}: mandoc -Tlint -Wwarning (exit $rc):"
		printf '%s\n' "$out" | sed 's/^/    /'
	fi
done < "$tmp/pages"

# (f) Headings.  A quote is a delimiter only around a whole argument;
# anywhere else it is printed.  Comment lines do not count as content.
while IFS= read -r page; do
	awk -v page="${page#"$srcdir"/}" '
	function bad(msg) { printf "%s:%d: %s\n", page, NR, msg }
	/^[.\047][ \t]*\\"/ { next }
	/^\.[ \t]*S[hs]([ \t]|$)/ {
		t = $0
		sub(/^\.[ \t]*S[hs][ \t]*/, "", t)
		q = t
		while (match(q, /(^|[ \t])"([^"]|"")*"([ \t]|$)/))
			q = substr(q, 1, RSTART - 1) " " substr(q, RSTART + RLENGTH)
		if (index(q, "\""))
			bad("stray double quote in heading: " $0)
		lvl = ($0 ~ /^\.[ \t]*Sh/) ? 1 : 2
		if (pending && lvl <= plvl)
			bad("nothing under the heading: " phead)
		pending = 1; plvl = lvl; phead = $0
		next
	}
	{ pending = 0 }
	END { if (pending) bad("nothing under the heading: " phead) }
	' "$page" > "$tmp/headings"
	if [ -s "$tmp/headings" ]; then
		fail "${page#"$srcdir"/}: headings:"
		sed 's/^/    /' "$tmp/headings"
	fi
done < "$tmp/pages"

# Awk functions shared by the parsers below.
#
# canon() reduces a piece of C declaration to its tokens separated by
# single spaces, so that "char *const argv[]" and "char * const argv [ ]"
# compare equal while any change of a type, qualifier or name does not.
# squeeze() only normalises white space, for messages.
awklib='
function canon(s,    out, tok, c, i, n) {
	out = ""; tok = ""; n = length(s)
	for (i = 1; i <= n; i++) {
		c = substr(s, i, 1)
		if (c ~ /[A-Za-z0-9_]/) { tok = tok c; continue }
		if (tok != "") { out = out (out == "" ? "" : " ") tok; tok = "" }
		if (c ~ /[ \t\n\r\f\v]/) continue
		out = out (out == "" ? "" : " ") c
	}
	if (tok != "") out = out (out == "" ? "" : " ") tok
	return out
}
function squeeze(s) {
	gsub(/[ \t\n\r\f\v]+/, " ", s)
	sub(/^ /, "", s); sub(/ $/, "", s)
	return s
}
'

# Prototypes of include/ward.h, one a line:
#   H <tab> name <tab> canon(return type) <tab> canon(parameters) <tab> text
#   T <tab> name <tab> canon(typedef) <tab> text     a function pointer type
# Preprocessor lines and comments are dropped, the text is cut at ";", and
# every declaration that carries WARD_EXPORT is kept without it.
awk "$awklib"'
BEGIN { src = ""; cont = 0 }
{
	line = $0
	if (cont || line ~ /^[ \t]*#/) {
		cont = (line ~ /\\$/)
		next
	}
	src = src line "\n"
}
END {
	# Block comments, then line comments.
	while ((i = index(src, "/*")) > 0) {
		rest = substr(src, i + 2)
		j = index(rest, "*/")
		if (j == 0) { src = substr(src, 1, i - 1); break }
		src = substr(src, 1, i - 1) " " substr(rest, j + 2)
	}
	gsub(/\/\/[^\n]*/, "", src)

	n = split(src, stmt, ";")
	for (k = 1; k <= n; k++) {
		s = stmt[k]
		if ((i = index(s, "typedef")) > 0) {
			s = squeeze(substr(s, i))
			if (match(s, /\( *\* *[A-Za-z_][A-Za-z0-9_]* *\)/)) {
				name = substr(s, RSTART, RLENGTH)
				gsub(/[ ()*]/, "", name)
				printf "T\t%s\t%s\t%s;\n", name, canon(s ";"), s
			}
			continue
		}
		i = index(s, "WARD_EXPORT")
		if (i == 0) continue
		s = squeeze(substr(s, i + length("WARD_EXPORT")))
		gsub(/(^| )WARD_EXPORT( |$)/, " ", s)
		s = squeeze(s)
		p = index(s, "(")
		if (p == 0) continue
		head = substr(s, 1, p - 1)
		sub(/ $/, "", head)
		if (match(head, /[A-Za-z_][A-Za-z0-9_]*$/) == 0) {
			printf "X\theader\tcannot parse the declaration \"%s\"\n", s
			continue
		}
		name = substr(head, RSTART)
		ret = substr(head, 1, RSTART - 1)
		q = length(s)
		while (q > p && substr(s, q, 1) != ")") q--
		params = substr(s, p + 1, q - p - 1)
		printf "H\t%s\t%s\t%s\t%s\n", name, canon(ret), canon(params), s
	}
}' "$header" ${evheader:+"$evheader"} > "$tmp/header"
if ! grep '^H' "$tmp/header" > /dev/null; then
	echo "$me: ERROR: no WARD_EXPORT prototype found in $header" >&2
	exit 99
fi

# (b, c) The exported symbols:  Y <tab> name
shlib=
if [ -n "${WARD_SHLIB:-}" ]; then
	shlib=$WARD_SHLIB
else
	for f in "$builddir/.libs/libward.so" "$builddir/lib/.libs/libward.so"; do
		if [ -f "$f" ]; then shlib=$f; break; fi
	done
fi
if [ -n "$shlib" ] && [ ! -f "$shlib" ]; then
	echo "$me: ERROR: $shlib not found" >&2
	exit 99
fi
if [ -n "$shlib" ] && ! command -v "$NM" >/dev/null 2>&1; then
	echo "$me: note: $NM not found, symbols taken from $header"
	shlib=
fi
if [ -n "$shlib" ]; then
	if ! "$NM" -D --defined-only "$shlib" > "$tmp/nm" 2> "$tmp/nm.err"; then
		echo "$me: ERROR: $NM -D --defined-only $shlib failed:" >&2
		cat "$tmp/nm.err" >&2
		exit 99
	fi
	evlib=$(dirname "$shlib")/libward-ev.so
	if [ -f "$evlib" ] && ! "$NM" -D --defined-only "$evlib" >> "$tmp/nm" 2>> "$tmp/nm.err"; then
		echo "$me: ERROR: $NM -D --defined-only $evlib failed:" >&2
		cat "$tmp/nm.err" >&2
		exit 99
	fi
	# Version definitions (type A) are not symbols; "name@@VERSION" is.
	awk 'NF >= 3 && $2 != "A" && $2 != "a" {
		name = $3; sub(/@.*/, "", name); print "Y\t" name
	}' "$tmp/nm" | sort -u > "$tmp/symbols"
	echo "$me: symbols from $shlib"
	from_library=1
else
	awk -F '\t' '$1 == "H" { print "Y\t" $2 }' "$tmp/header" |
		sort -u > "$tmp/symbols"
	echo "$me: no shared library built, symbols from $header"
	from_library=0
fi
nsymbols=$(wc -l < "$tmp/symbols" | tr -d ' ')
if [ "$nsymbols" -eq 0 ]; then
	fail "no exported symbol found${shlib:+ in $shlib}"
fi

# The pages, parsed from their mdoc macros:
#   N <tab> page <tab> name                      a name in NAME (.Nm)
#   S <tab> page <tab> name <tab> canon(type) <tab> canon(params) <tab> text
#                                                a function in SYNOPSIS
#   V <tab> page <tab> name <tab> canon(typedef) <tab> text
#                                                a typedef in SYNOPSIS (.Vt)
#   P <tab> page <tab> section                   the page exists
#   X <tab> page <tab> message                   a structural problem
#
# mdoc arguments are split on blanks, with "..." quoting and "" inside
# quotes standing for one quote; trailing delimiters such as "," are
# dropped.
awk -v list="$tmp/pages" "$awklib"'
function margs(s, a,    n, c, i, len, cur, inq, have) {
	n = 0; cur = ""; inq = 0; have = 0; len = length(s)
	for (i = 1; i <= len; i++) {
		c = substr(s, i, 1)
		if (inq) {
			if (c == "\"") {
				if (substr(s, i + 1, 1) == "\"") { cur = cur "\""; i++ }
				else inq = 0
			} else cur = cur c
		} else if (c == "\"") {
			inq = 1; have = 1
		} else if (c == " " || c == "\t") {
			if (have || cur != "") { a[++n] = cur; cur = ""; have = 0 }
		} else {
			cur = cur c; have = 1
		}
	}
	if (have || cur != "") a[++n] = cur
	for (i = 1; i <= n; i++) {
		gsub(/\\&/, "", a[i]); gsub(/\\-/, "-", a[i])
		gsub(/\\e/, "\\", a[i])
	}
	while (n > 0 && a[n] ~ /^[.,;:?!)\]]+$/) n--
	return n
}
function problem(msg) { printf "X\t%s\t%s\n", page, msg }
function flush_fo() {
	if (fo != "") problem(".Fo " fo " has no .Fc")
	fo = ""
}
function emit(name, params,    t) {
	if (ft == "") problem(name " in SYNOPSIS has no .Ft before it")
	t = squeeze(ft) " " name "(" params ")"
	printf "S\t%s\t%s\t%s\t%s\t%s\n", page, name, canon(ft), canon(params), t
	ft = ""
}
function macro(line,    mac, rest, a, n, i, params, t, name) {
	if (line !~ /^\.[ \t]*[A-Z%][A-Za-z]/) return
	sub(/^\.[ \t]*/, "", line)
	mac = line; sub(/[ \t].*/, "", mac)
	rest = substr(line, length(mac) + 1)
	n = margs(rest, a)

	if (mac == "Sh") {
		if (sec == "SYNOPSIS") flush_fo()
		sec = ""
		for (i = 1; i <= n; i++) sec = sec (i > 1 ? " " : "") a[i]
		if (sec == "SYNOPSIS") seen_syn = 1
		return
	}
	if (sec == "NAME" && mac == "Nm") {
		for (i = 1; i <= n; i++) printf "N\t%s\t%s\n", page, a[i]
		return
	}
	if (sec != "SYNOPSIS") return

	if (first && msec == "3" && (mac != "In" || n != 1 || (a[1] != "ward.h" && a[1] != "ward/ev.h")))
		problem("SYNOPSIS does not start with .In ward.h (or ward/ev.h)")
	first = 0
	if (mac == "Vt" && n > 0 && a[1] == "typedef") {
		t = ""
		for (i = 1; i <= n; i++) t = t (i > 1 ? " " : "") a[i]
		if (match(t, /\( *\* *[A-Za-z_][A-Za-z0-9_]* *\)/)) {
			name = substr(t, RSTART, RLENGTH)
			gsub(/[ ()*]/, "", name)
			printf "V\t%s\t%s\t%s\t%s\n", page, name, canon(t), t
		}
	} else if (mac == "Ft") {
		ft = ""
		for (i = 1; i <= n; i++) ft = ft (i > 1 ? " " : "") a[i]
	} else if (mac == "Fn") {
		if (n < 1) { problem(".Fn without a name"); return }
		params = ""
		for (i = 2; i <= n; i++) params = params (i > 2 ? ", " : "") a[i]
		emit(a[1], params)
	} else if (mac == "Fo") {
		flush_fo()
		if (n < 1) { problem(".Fo without a name"); return }
		fo = a[1]; foparams = ""; nfa = 0
	} else if (mac == "Fa" && fo != "") {
		for (i = 1; i <= n; i++)
			foparams = foparams (nfa++ ? ", " : "") a[i]
	} else if (mac == "Fc") {
		if (fo == "") { problem(".Fc without .Fo"); return }
		emit(fo, foparams)
		fo = ""
	}
}
BEGIN {
	while ((getline page < list) > 0) {
		sec = ""; ft = ""; fo = ""; first = 1; seen_syn = 0
		msec = page; sub(/.*\./, "", msec)
		printf "P\t%s\t%s\n", page, msec
		while ((r = (getline line < page)) > 0) {
			# A line that ends in a backslash continues on the next.
			while (line ~ /\\$/ && line !~ /\\\\$/) {
				sub(/\\$/, "", line)
				if ((getline nxt < page) <= 0) break
				line = line nxt
			}
			macro(line)
		}
		if (r < 0) problem("cannot be read")
		close(page)
		flush_fo()
		if (msec == "3" && !seen_syn) problem("has no SYNOPSIS section")
	}
}' > "$tmp/pagedata"

# The installation lists of man/Makemodule.am:
#   M <tab> section <tab> page                 listed in dist_manN_MANS
#   L <tab> target <tab> link                  a pair of WARD_MAN3_LINKS
if [ -f "$fragment" ]; then
	awk '
	{
		line = $0
		while (line ~ /\\$/) {
			sub(/\\$/, " ", line)
			if ((getline nxt) <= 0) break
			line = line nxt
		}
		if (line ~ /^[ \t]*#/) next
		if (match(line, /^[ \t]*[A-Za-z0-9_]+[ \t]*\+?=/) == 0) next
		var = substr(line, 1, RLENGTH); gsub(/[ \t+=]/, "", var)
		val = substr(line, RLENGTH + 1)
		n = split(val, w, /[ \t]+/)
		if (var ~ /^(notrans_)?(dist_|nodist_)?man[0-9]_MANS$/) {
			s = var; sub(/_MANS$/, "", s); sub(/.*man/, "", s)
			for (i = 1; i <= n; i++)
				if (w[i] != "") printf "M\t%s\t%s\n", s, w[i]
		} else if (var == "WARD_MAN3_LINKS") {
			for (i = 1; i <= n; i++) {
				if (w[i] == "") continue
				t = w[i]; l = w[i]
				if (sub(/:.*/, "", t) && sub(/^[^:]*:/, "", l))
					printf "L\t%s\t%s\n", t, l
				else
					printf "X\t%s\tbad WARD_MAN3_LINKS entry %s\n",
					    FILENAME, w[i]
			}
		}
	}' "$fragment" > "$tmp/fragment"
else
	echo "$me: note: $fragment not found, installation lists not checked"
	: > "$tmp/fragment"
fi

# The checks proper.
havefrag=0
test -f "$fragment" && havefrag=1
awk -F '\t' -v me="$me" -v lib="$from_library" -v mandir="$mandir" \
    -v srcdir="$srcdir" -v havefrag="$havefrag" '
function bad(msg) { printf "%s: FAIL: %s\n", me, msg; nbad++ }
function base(p) { sub(/.*\//, "", p); return p }
function rel(p) {
	if (index(p, srcdir "/") == 1) p = substr(p, length(srcdir) + 2)
	return p
}
$1 == "H" {
	if ($2 in hret) bad("ward.h declares " $2 " twice")
	hret[$2] = $3; hpar[$2] = $4; htext[$2] = $5; next
}
$1 == "T" { tdef[$2] = $3; ttext[$2] = $4; next }
$1 == "V" {
	if (!($3 in tdef))
		bad(rel($2) ": SYNOPSIS shows typedef " $3 ", which include/ward.h does not declare")
	else if ($4 != tdef[$3])
		bad(rel($2) ": typedef " $3 ": SYNOPSIS has \"" $5 "\", ward.h has \"" ttext[$3] "\"")
	shown[$3] = 1
	next
}
$1 == "Y" { sym[$2] = 1; nsym++; next }
$1 == "P" { page[$2] = $3; next }
$1 == "N" {
	names[$2, $3] = 1; named[$3] = named[$3] " " rel($2)
	nn[$2]++; nname[$2, nn[$2]] = $3
	next
}
$1 == "S" {
	if (($2, $3) in sret) bad(rel($2) ": SYNOPSIS declares " $3 " twice")
	sret[$2, $3] = $4; spar[$2, $3] = $5; stext[$2, $3] = $6
	ns[$2]++; sname[$2, ns[$2]] = $3
	next
}
$1 == "M" { listed[$2, $3] = 1; nlisted[$2]++; next }
$1 == "L" {
	if ($3 in link) bad("man/Makemodule.am: link " $3 " listed twice")
	link[$3] = $2; nlink++; next
}
$1 == "X" { bad(rel($2) ": " $3); next }
END {
	# (b, c) every exported symbol: prefix, page, declaration.
	for (y in sym) {
		if (y !~ /^ward_/)
			bad("exported symbol " y " does not start with ward_")
		if (!(y in named))
			bad("exported symbol " y " is not named in the NAME section of any page")
		if (lib && !(y in hret))
			bad("exported symbol " y " is not declared in include/ward.h")
	}
	if (lib)
		for (h in hret)
			if (!(h in sym))
				bad("include/ward.h declares " h " but the library does not export it")

	# Every function pointer type of ward.h is shown in some SYNOPSIS.
	for (t in tdef)
		if (!(t in shown))
			bad("typedef " t " of include/ward.h is not in the SYNOPSIS of any page")

	# (d) every name of a section 3 page against ward.h.
	for (p in page) {
		if (page[p] != "3") continue
		for (i = 1; i <= nn[p]; i++) {
			n = nname[p, i]
			if (!(n in hret)) {
				if (!(base(p) == "ward.3" && n == "ward"))
					bad(rel(p) ": NAME lists " n ", which include/ward.h does not declare")
				continue
			}
			if (!((p, n) in sret)) {
				bad(rel(p) ": " n " is in NAME but has no prototype in SYNOPSIS")
				continue
			}
			if (sret[p, n] != hret[n])
				bad(rel(p) ": " n ": return type \"" sret[p, n] "\" in SYNOPSIS, \"" hret[n] "\" in ward.h")
			if (spar[p, n] != hpar[n])
				bad(rel(p) ": " n ": SYNOPSIS has \"" stext[p, n] "\", ward.h has \"" htext[n] "\"")
		}
	}
	# Every SYNOPSIS function of every page is declared and named.
	for (p in page)
		for (i = 1; i <= ns[p]; i++) {
			n = sname[p, i]
			if (!(n in hret))
				bad(rel(p) ": SYNOPSIS declares " n ", which include/ward.h does not")
			else if (page[p] != "3")
				bad(rel(p) ": SYNOPSIS declares " n " outside section 3")
			if (!((p, n) in names))
				bad(rel(p) ": SYNOPSIS declares " n " but NAME does not list it")
		}

	# (e) installation: every page listed, every extra name linked.
	if (havefrag) {
		for (p in page) {
			s = page[p]
			if (!(s in nlisted)) continue
			if (!((s, rel(p)) in listed))
				bad(rel(p) " is not listed in dist_man" s "_MANS of man/Makemodule.am")
		}
		for (k in listed) {
			split(k, kk, SUBSEP)
			if (!((mandir "/" substr(kk[2], 5)) in page) && !((srcdir "/" kk[2]) in page))
				bad("man/Makemodule.am lists " kk[2] ", which does not exist")
		}
		for (p in page) {
			if (page[p] != "3") continue
			for (i = 1; i <= nn[p]; i++) {
				n = nname[p, i]
				if (n ".3" == base(p)) continue
				if (base(p) == "ward.3") continue
				if (!((n ".3") in link))
					bad("man/Makemodule.am: no link " n ".3 -> " base(p) " in WARD_MAN3_LINKS")
				else if (link[n ".3"] != base(p))
					bad("man/Makemodule.am: link " n ".3 points to " link[n ".3"] ", but " rel(p) " documents " n)
			}
		}
		for (l in link) {
			t = mandir "/man3/" link[l]
			ln = l; sub(/\.3$/, "", ln)
			if (!(t in page))
				bad("man/Makemodule.am: link " l " points to missing page " link[l])
			else if (!((t, ln) in names))
				bad("man/Makemodule.am: link " l ", but " link[l] " does not name " ln)
		}
	}
	exit (nbad > 0)
}' "$tmp/header" "$tmp/symbols" "$tmp/pagedata" "$tmp/fragment" \
	> "$tmp/result"
rc=$?
sort "$tmp/result"
nresult=$(grep -c ': FAIL: ' "$tmp/result")
failures=$((failures + nresult))
if [ $rc -gt 1 ]; then
	echo "$me: ERROR: the checks could not run" >&2
	exit 99
fi

if [ "$failures" -ne 0 ]; then
	echo "$me: $failures failure(s) in $npages pages and $nsymbols symbols"
	exit 1
fi
echo "$me: PASS: $npages pages, $nsymbols symbols"
exit 0
