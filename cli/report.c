/*
 * report.c - the results of "ward test": TAP version 13 on standard output
 * and, on request, a JUnit XML file.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

char *
test_describe(const struct test *t)
{
    const char *name;

    if (t->spawn_err != 0)
        return xasprintf("could not start: %s", strerror(t->spawn_err));
    if (t->status == -1)
        return xstrdup("its exit status was lost");
    if (t->timed_out)
        return xstrdup(t->killed ? "timed out; killed with SIGKILL" : "timed out");
    if (t->is_tap && t->tap.bailed)
        return xasprintf("bailed out: %s", t->tap.bail_reason);
    if (t->is_tap && t->tap.failed > 0)
        return xasprintf("%zu of %zu subtests failed", t->tap.failed, t->tap.n);
    if (t->is_tap && t->tap.nerrors > 0)
        return xstrdup(t->tap.errors[0]);
    if (t->is_tap && t->tap.skip_all && t->result == RESULT_SKIP)
        return xasprintf("skipped: %s", t->tap.skip_reason);
    if (t->is_tap && WIFEXITED(t->status) && WEXITSTATUS(t->status) != 0)
        return xasprintf("every subtest passed, but exit code %d", WEXITSTATUS(t->status));
    if (WIFEXITED(t->status))
        return xasprintf("exit code %d", WEXITSTATUS(t->status));
    if (WIFSIGNALED(t->status)) {
        name = signal_name(WTERMSIG(t->status));
        return xasprintf("killed by signal %d (SIG%s)%s", WTERMSIG(t->status),
                         name != NULL ? name : "?",
                         WCOREDUMP(t->status) ? ", core dumped" : "");
    }
    return xasprintf("wait status %#x", (unsigned int)t->status);
}

/*
 * Where the last TAIL_LINES lines of a tail begin: the report shows that
 * much, never the whole output.
 */
static size_t
tail_start(const struct tail *tl)
{
    size_t lines = 0, i = tl->len;

    /* A newline that ends the output does not start a line. */
    if (i > 0 && tl->buf[i - 1] == '\n')
        i--;
    while (i > 0) {
        if (tl->buf[i - 1] == '\n' && ++lines == TAIL_LINES)
            break;
        i--;
    }
    return i;
}

/*
 * Can text be a literal block ("|") that every YAML reader takes the same
 * way?  Not if a line is empty (the minimal reader of prove(1) ends the
 * block there) or if the first starts with a blank (the block's indentation
 * would be guessed wrong).
 */
static bool
literal_ok(const char *s, size_t n)
{
    if (n == 0 || s[0] == ' ' || s[0] == '\t' || s[0] == '\n')
        return false;
    for (size_t i = 1; i < n; i++) {
        if (s[i] == '\n' && s[i - 1] == '\n')
            return false;
    }
    return true;
}

/* The text as a double-quoted YAML string, on one line. */
static void
yaml_quoted(FILE *out, const char *s, size_t n)
{
    size_t i = 0, plain = 0;

    putc('"', out);
    for (; i < n; i++) {
        const char *esc;

        switch (s[i]) {
        case '"':  esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\t': esc = "\\t"; break;
        default:   continue;
        }
        clean_text(out, s + plain, i - plain);
        fputs(esc, out);
        plain = i + 1;
    }
    clean_text(out, s + plain, n - plain);
    putc('"', out);
}

/*
 * The last lines of a stream, after the number of bytes left out if any:
 * a literal block where that is safe, a quoted string otherwise.
 */
static void
yaml_tail(FILE *out, const char *key, const struct tail *tl)
{
    size_t start = tail_start(tl), n = tl->len - start, i;
    const char *s = tl->buf + start;

    if (n == 0)
        return;
    if (tl->total > n)
        fprintf(out, "  %s_omitted_bytes: %llu\n", key,
                (unsigned long long)(tl->total - n));
    if (!literal_ok(s, n)) {
        fprintf(out, "  %s: ", key);
        yaml_quoted(out, s, n);
        putc('\n', out);
        return;
    }
    fprintf(out, "  %s: |\n", key);
    for (i = 0; i < n;) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t len = nl != NULL ? (size_t)(nl - (s + i)) : n - i;

        fputs("    ", out);
        clean_text(out, s + i, len);
        putc('\n', out);
        i += len + 1;
    }
}

void
tap_plan(FILE *out, size_t n)
{
    fprintf(out, "TAP version 13\n1..%zu\n", n);
}

/*
 * A description may not hold '#' unescaped (it starts a directive), nor a
 * newline.  A backslash is doubled only before a '#', where a reader could
 * take it for an escape.
 */
void
tap_name_out(FILE *out, const char *s)
{
    while (*s != '\0') {
        size_t n = strcspn(s, "#\\");

        clean_text(out, s, n);
        s += n;
        if (*s == '#') {
            fputs("\\#", out);
            s++;
        } else if (*s == '\\') {
            fputs(s[1] == '#' ? "\\\\" : "\\", out);
            s++;
        }
    }
}

/*
 * The results a TAP test program reported, as an indented subtest before
 * its own line, the way Test::More nests them: readers of TAP 13 that do
 * not know subtests (prove(1)) ignore indented lines.
 */
static void
tap_subtests(FILE *out, const struct test *t)
{
    const struct tapr *r = &t->tap;

    fputs("    # Subtest: ", out);
    clean_text(out, t->name, strlen(t->name));
    putc('\n', out);
    for (size_t i = 0; i < r->n; i++) {
        const struct tap_result *x = &r->v[i];

        fprintf(out, "    %s %ld", x->ok ? "ok" : "not ok", x->number);
        if (x->description[0] != '\0') {
            putc(' ', out);
            clean_text(out, x->description, strlen(x->description));
        }
        if (x->directive != TAP_NONE) {
            fputs(x->directive == TAP_SKIP ? " # SKIP" : " # TODO", out);
            if (x->reason[0] != '\0') {
                putc(' ', out);
                clean_text(out, x->reason, strlen(x->reason));
            }
        }
        putc('\n', out);
    }
    if (r->plan >= 0) {
        fprintf(out, "    1..%ld", r->plan);
        if (r->skip_all) {
            fputs(" # SKIP ", out);
            clean_text(out, r->skip_reason, strlen(r->skip_reason));
        }
        putc('\n', out);
    }
}

/* What the TAP of a test program said, in its YAML block. */
static void
tap_yaml(FILE *out, const struct test *t)
{
    const struct tapr *r = &t->tap;
    bool first = true;

    fprintf(out, "  tests_run: %zu\n  tests_failed: %zu\n", r->n, r->failed);
    if (r->plan >= 0)
        fprintf(out, "  tests_planned: %ld\n", r->plan);
    if (r->todo_passed > 0) {
        fputs("  todo_passed: [", out);
        for (size_t i = 0; i < r->n; i++) {
            if (r->v[i].directive == TAP_TODO && r->v[i].ok) {
                fprintf(out, "%s%ld", first ? "" : ", ", r->v[i].number);
                first = false;
            }
        }
        fputs("]\n", out);
    }
    if (r->nerrors > 0) {
        fputs("  parse_errors:\n", out);
        for (size_t i = 0; i < r->nerrors && i < TAPR_ERRORS_KEPT; i++) {
            fputs("    - ", out);
            json_string(out, r->errors[i]);
            putc('\n', out);
        }
        if (r->nerrors > TAPR_ERRORS_KEPT)
            fprintf(out, "  parse_errors_omitted: %zu\n", r->nerrors - TAPR_ERRORS_KEPT);
    }
    if (r->bailed) {
        fputs("  bail_out: ", out);
        json_string(out, r->bail_reason);
        putc('\n', out);
    }
}

void
tap_result(FILE *out, const struct test *t, size_t number, bool verbose)
{
    char *what;

    if (t->is_tap)
        tap_subtests(out, t);
    fprintf(out, "%s %zu - ", t->result == RESULT_FAIL ? "not ok" : "ok", number);
    tap_name_out(out, t->name);
    if (t->result == RESULT_SKIP) {
        fputs(" # SKIP", out);
        if (t->is_tap && t->tap.skip_all) {
            putc(' ', out);
            tap_name_out(out, t->tap.skip_reason);
        }
    }
    putc('\n', out);
    if (t->result != RESULT_FAIL && !verbose)
        return;

    what = test_describe(t);
    fputs("  ---\n  message: ", out);
    json_string(out, what);
    free(what);
    putc('\n', out);
    if (t->spawn_err != 0) {
        fputs("  error: ", out);
        json_string(out, strerror(t->spawn_err));
        fputs("\n  ...\n", out);
        return;
    }
    if (t->status != -1 && WIFEXITED(t->status))
        fprintf(out, "  exit_code: %d\n", WEXITSTATUS(t->status));
    if (t->status != -1 && WIFSIGNALED(t->status)) {
        const char *name = signal_name(WTERMSIG(t->status));

        fprintf(out, "  signal: %d\n", WTERMSIG(t->status));
        if (name != NULL)
            fprintf(out, "  signal_name: %s\n", name);
        if (WCOREDUMP(t->status))
            fputs("  core_dumped: true\n", out);
    }
    if (t->is_tap)
        tap_yaml(out, t);
    if (t->timed_out)
        fputs("  timed_out: true\n", out);
    if (t->killed)
        fputs("  killed: true\n", out);
    fprintf(out, "  duration: %.3f\n", ns_to_sec(t->end - t->start));
    yaml_tail(out, "stdout", &t->out);
    yaml_tail(out, "stderr", &t->err);
    fputs("  ...\n", out);
}

static void
junit_stream(FILE *out, const char *tag, const struct tail *tl)
{
    if (tl->len == 0)
        return;
    fprintf(out, "      <%s>", tag);
    xml_text(out, tl->buf, tl->len);
    fprintf(out, "</%s>\n", tag);
}

void
junit_write(FILE *out, const struct tests *ts, size_t ndone,
            const char *suite_name, double wall, time_t started)
{
    size_t failures = 0, skipped = 0;
    char stamp[32];
    struct tm tm;

    for (size_t i = 0; i < ndone; i++) {
        failures += ts->v[i].result == RESULT_FAIL;
        skipped += ts->v[i].result == RESULT_SKIP;
    }
    if (localtime_r(&started, &tm) == NULL ||
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        strcpy(stamp, "1970-01-01T00:00:00");

    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"", out);
    xml_text(out, suite_name, strlen(suite_name));
    fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" "
                 "time=\"%.3f\">\n",
            ndone, failures, skipped, wall);
    fputs("  <testsuite name=\"", out);
    xml_text(out, suite_name, strlen(suite_name));
    fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" "
                 "time=\"%.3f\" timestamp=\"%s\">\n",
            ndone, failures, skipped, wall, stamp);
    for (size_t i = 0; i < ndone; i++) {
        const struct test *t = &ts->v[i];

        fputs("    <testcase classname=\"", out);
        xml_text(out, suite_name, strlen(suite_name));
        fputs("\" name=\"", out);
        xml_text(out, t->name, strlen(t->name));
        fprintf(out, "\" time=\"%.3f\">\n", ns_to_sec(t->end - t->start));
        if (t->result != RESULT_PASS) {
            char *what = test_describe(t);

            fputs(t->result == RESULT_SKIP ? "      <skipped message=\""
                                           : "      <failure message=\"",
                  out);
            xml_text(out, what, strlen(what));
            fputs(t->result == RESULT_SKIP ? "\"/>\n" : "\" type=\"failure\"/>\n",
                  out);
            free(what);
        }
        junit_stream(out, "system-out", &t->out);
        junit_stream(out, "system-err", &t->err);
        fputs("    </testcase>\n", out);
    }
    fputs("  </testsuite>\n</testsuites>\n", out);
}
