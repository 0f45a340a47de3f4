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
    return 0;
}
