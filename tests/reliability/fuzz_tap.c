/*
 * fuzz_tap.c - libFuzzer harness for the TAP reader of "ward test"
 * (cli/tap.c): what a test program prints, read as TAP.
 *
 * The input is a program's standard output.  It is read twice: whole, and
 * cut into pieces at places the input's first bytes choose, since the
 * reader is fed whatever a pipe gives; both readings must agree on
 * everything.  The result is then checked against what ward(1) says of
 * TAP: a result passes if it says ok or is a TODO, unless it is beyond a
 * plan given first; "failed" counts exactly the results that do not pass;
 * numbers missing from result lines are their places; a missing plan or a
 * plan that the number of results does not meet is a parse error; 1..0
 * skips the whole program; a TAP program fails exactly when a result
 * fails or a parse error was found.
 *
 * The same output, written into a JUnit report by xml_text() (cli/util.c),
 * must be character data an XML 1.0 parser takes: UTF-8, no character
 * outside XML's Char production, no bare '<' or '&'.
 */
#include "fuzz.h"

#include "../../cli/tap.h"
#include "../../cli/util.h"

static void read_all(struct tapr *r, const uint8_t *data, size_t size, const uint8_t *cuts,
                     size_t ncuts)
{
    size_t pos = 0;

    tapr_init(r);
    for (size_t i = 0; i < ncuts && pos < size; i++) {
        size_t n = cuts[i] % 17;

        if (n > size - pos)
            n = size - pos;
        tapr_feed(r, (const char *)data + pos, n);
        pos += n;
    }
    tapr_feed(r, (const char *)data + pos, size - pos);
    tapr_end(r);
}

/* A well-formed UTF-8 character at p[0..n): its code point, its length in *len; -1 if none. */
static long utf8_at(const unsigned char *p, size_t n, size_t *len)
{
    long cp;
    size_t k;

    if (p[0] < 0x80) {
        *len = 1;
        return p[0];
    }
    k = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;
    if (k == 0 || k > n || p[0] > 0xf4)
        return -1;
    cp = p[0] & (0x7f >> k);
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return -1;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000))
        return -1;
    *len = k;
    return cp;
}

/* What xml_text() makes of data, checked against XML 1.0's Char production. */
static void check_xml(const uint8_t *data, size_t size)
{
    char *out = NULL;
    size_t len = 0, k;
    FILE *f = open_memstream(&out, &len);

    FUZZ_CHECK(f != NULL, "open_memstream");
    xml_text(f, (const char *)data, size);
    FUZZ_CHECK(fclose(f) == 0, "fclose");
    for (size_t i = 0; i < len; i += k) {
        long cp = utf8_at((const unsigned char *)out + i, len - i, &k);

        FUZZ_CHECK(cp >= 0, "xml_text: not UTF-8 at byte %zu", i);
        FUZZ_CHECK(cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
                       (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff),
                   "xml_text: U+%04lX is not an XML character", cp);
        FUZZ_CHECK(cp != '<', "xml_text: a bare '<'");
        if (cp == '&')
            FUZZ_CHECK(strncmp(out + i, "&amp;", 5) == 0 || strncmp(out + i, "&lt;", 4) == 0 ||
                           strncmp(out + i, "&gt;", 4) == 0 || strncmp(out + i, "&quot;", 6) == 0,
                       "xml_text: a bare '&'");
    }
    free(out);
}

static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tapr a, b;
    size_t ncuts = size < 8 ? size : 8, failed = 0, skipped = 0, todo = 0, todo_passed = 0;

    fuzz_quiet();
    read_all(&a, data, size, NULL, 0);
    read_all(&b, data, size, data, ncuts);

    /* Pieces or not, the same reading. */
    FUZZ_CHECK(a.n == b.n, "%zu results whole, %zu in pieces", a.n, b.n);
    FUZZ_CHECK(a.plan == b.plan && a.skip_all == b.skip_all && a.version == b.version,
               "plan %ld/%ld, version %d/%d", a.plan, b.plan, a.version, b.version);
    FUZZ_CHECK(a.nerrors == b.nerrors && a.bailed == b.bailed && a.seen_tap == b.seen_tap,
               "errors %zu/%zu", a.nerrors, b.nerrors);
    FUZZ_CHECK(same_str(a.bail_reason, b.bail_reason) && same_str(a.skip_reason, b.skip_reason),
               "reasons differ");
    FUZZ_CHECK(a.lines == b.lines, "lines %lu/%lu", a.lines, b.lines);
    for (size_t i = 0; i < a.n; i++) {
        const struct tap_result *x = &a.v[i], *y = &b.v[i];

        FUZZ_CHECK(x->ok == y->ok && x->passed == y->passed && x->number == y->number &&
                       x->directive == y->directive && x->unplanned == y->unplanned &&
                       same_str(x->description, y->description) && same_str(x->reason, y->reason),
                   "result %zu differs", i);
    }

    /* The rules of ward(1). */
    for (size_t i = 0; i < a.n; i++) {
        const struct tap_result *x = &a.v[i];

        FUZZ_CHECK(x->passed == (!x->unplanned && (x->ok || x->directive == TAP_TODO)),
                   "result %zu: passed %d", i, x->passed);
        FUZZ_CHECK(x->number >= 0, "result %zu: number %ld", i, x->number);
        FUZZ_CHECK(x->description != NULL, "result %zu: no description", i);
        FUZZ_CHECK((x->directive == TAP_NONE) == (x->reason == NULL), "result %zu: reason", i);
        FUZZ_CHECK(!x->unplanned || (a.plan >= 0 && i >= (size_t)a.plan),
                   "result %zu: unplanned within the plan %ld", i, a.plan);
        failed += !x->passed;
        skipped += x->directive == TAP_SKIP;
        todo += x->directive == TAP_TODO;
        todo_passed += x->directive == TAP_TODO && x->ok;
    }
    FUZZ_CHECK(failed == a.failed && skipped == a.skipped && todo == a.todo &&
                   todo_passed == a.todo_passed,
               "counts: failed %zu/%zu", failed, a.failed);
    if (a.plan < 0 || (size_t)a.plan != a.n)
        FUZZ_CHECK(a.nerrors > 0, "plan %ld, %zu results, no parse error", a.plan, a.n);
    if (a.plan == 0)
        FUZZ_CHECK(a.skip_all, "1..0 does not skip");
    FUZZ_CHECK(tapr_failed(&a) == (a.failed > 0 || a.nerrors > 0), "verdict");
    FUZZ_CHECK(!a.bailed || a.bail_at <= a.n, "bail_at %zu of %zu", a.bail_at, a.n);
    FUZZ_CHECK(a.plan < 0 || a.seen_tap, "a plan, yet not TAP");
    tapr_release(&a);
    tapr_release(&b);
    check_xml(data, size);
    return 0;
}
