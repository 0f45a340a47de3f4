/*
 * tap.c - read a test program's standard output as TAP.
 *
 * The grammar and the verdicts are those of TAP::Parser, the reader behind
 * prove(1), so that a file judged by "ward test" is judged as people who
 * use prove expect:
 *
 *   - "TAP version N" is only valid before any plan or result; N must be
 *     13 or 14.  Without it the output is TAP 12.
 *   - The plan "1..N" comes before every result or after all of them; a
 *     plan between results, a second plan, no plan at all, or a number of
 *     results other than N is a parse error, and a parse error fails the
 *     program.  "1..0" skips the whole program.
 *   - "ok" and "not ok", a number (that must be the result's place in the
 *     output), a description, and "# SKIP" or "# TODO" (any case; "\#" is
 *     not a directive).  A TODO result passes whether it says ok or not;
 *     a SKIP result that says "not ok" still fails; a result beyond a plan
 *     given first fails.
 *   - "Bail out!" stops the run (the caller's business), but the rest of
 *     the program's output is still read, as prove reads it.
 *   - In TAP 13, an indented "---" starts a YAML block that ends with
 *     "...": nothing in it is a result.  Comments and any other line are
 *     ignored.
 */
#include "tap.h"

#include "util.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
tapr_init(struct tapr *r)
{
    memset(r, 0, sizeof(*r));
    r->version = 12;
    r->plan = -1;
}

void
tapr_release(struct tapr *r)
{
    free(r->line);
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].description);
        free(r->v[i].reason);
    }
    free(r->v);
    free(r->skip_reason);
    free(r->bail_reason);
    for (size_t i = 0; i < r->nerrors && i < TAPR_ERRORS_KEPT; i++)
        free(r->errors[i]);
    memset(r, 0, sizeof(*r));
}

static void
add_error(struct tapr *r, char *msg)
{
    if (r->nerrors < TAPR_ERRORS_KEPT)
        r->errors[r->nerrors] = msg;
    else
        free(msg);
    r->nerrors++;
}

static bool
space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* A copy of s[0..n) without the blanks around it. */
static char *
trimmed(const char *s, size_t n)
{
    char *out;

    while (n > 0 && space(*s)) {
        s++;
        n--;
    }
    while (n > 0 && space(s[n - 1]))
        n--;
    out = xmalloc(n + 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

/*
 * A decimal number at *p (advanced past it).  The value saturates: a number
 * too big to hold cannot be anyone's place in the output anyway.
 */
static long
number(const char **p)
{
    long v = 0;

    while (isdigit((unsigned char)**p)) {
        int d = **p - '0';

        v = v > (LONG_MAX - d) / 10 ? LONG_MAX : v * 10 + d;
        (*p)++;
    }
    return v;
}

/* Does s start with the word w (case-insensitive), followed by a non-word character? */
static bool
word_at(const char *s, const char *w)
{
    size_t n = strlen(w);

    return strncasecmp(s, w, n) == 0 && !(isalnum((unsigned char)s[n]) || s[n] == '_');
}

/*
 * A plan line, "1..N" and what may follow it.  Returns false if the line is
 * not a plan in this version of TAP (then it is an unknown line).
 */
static bool
parse_plan(struct tapr *r, const char *s)
{
    const char *p = s + 3, *tail;
    bool skip = false;
    char *reason = NULL;
    long n;

    if (!isdigit((unsigned char)*p))
        return false;
    n = number(&p);
    while (space(*p))
        p++;
    tail = p;
    if (r->version >= 13) {
        if (*tail != '\0') {
            if (*tail != '#')
                return false;
            for (p = tail + 1; space(*p); p++)
                ;
            if (!word_at(p, "SKIP"))
                return false;
            skip = true;
            reason = trimmed(p + 4, strlen(p + 4));
        }
        skip = skip || n == 0;
    } else if (n == 0) {
        skip = true;
        /* "# SKIP..." then blanks, then the reason; anything else: no reason. */
        if (*tail == '#') {
            for (p = tail + 1; space(*p); p++)
                ;
            if (strncasecmp(p, "SKIP", 4) == 0) {
                p += 4;
                while (*p != '\0' && !space(*p))
                    p++;
                if (space(*p))
                    reason = trimmed(p, strlen(p));
            }
        }
    } else if (*tail != '\0') {
        return false;
    }

    /* Where the plan may be: TAP::Parser's states, by what came before. */
    if (r->plan >= 0) {
        add_error(r, xstrdup("More than one plan found in TAP output"));
        r->multiple_plans = true;
        free(reason);
        return true;
    }
    r->plan = n;
    r->plan_after_tests = r->n > 0;
    r->seen_tap = true;
    if (skip) {
        r->skip_all = true;
        r->skip_reason = reason != NULL && *reason != '\0' ? reason
                                                           : (free(reason), xstrdup("(no reason given)"));
    } else {
        free(reason);
    }
    return true;
}

/* A result line: s starts with "ok" or "not ok" followed by a non-word. */
static void
parse_result(struct tapr *r, const char *s, bool ok)
{
    struct tap_result *t;
    const char *p = s + (ok ? 2 : 6), *desc, *hash = NULL;
    long num = -1;
    size_t ran;

    while (space(*p))
        p++;
    if (isdigit((unsigned char)*p))
        num = number(&p);
    while (space(*p))
        p++;
    desc = p;
    /* The first '#' not escaped by a backslash. */
    for (; *p != '\0'; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
        } else if (*p == '#') {
            hash = p;
            break;
        }
    }

    if (r->plan >= 0 && r->plan_after_tests && !r->tests_after_plan_late) {
        char *plan = xasprintf("1..%ld", r->plan);

        add_error(r, xasprintf("Plan (%s) must be at the beginning or end of the TAP output",
                               plan));
        free(plan);
        r->tests_after_plan_late = true;
    }

    r->v = xgrow(r->v, &r->cap_v, r->n + 1, sizeof(*r->v));
    t = &r->v[r->n++];
    memset(t, 0, sizeof(*t));
    ran = r->n;
    t->ok = ok;
    t->after_late_plan = r->tests_after_plan_late;
    t->directive = TAP_NONE;
    if (hash != NULL) {
        const char *d = hash + 1;

        while (space(*d))
            d++;
        if (word_at(d, "SKIP") || word_at(d, "TODO")) {
            t->directive = toupper((unsigned char)*d) == 'S' ? TAP_SKIP : TAP_TODO;
            t->reason = trimmed(d + 4, strlen(d + 4));
        } else {
            hash = NULL;
        }
    }
    t->description = trimmed(desc, hash != NULL ? (size_t)(hash - desc) : strlen(desc));
    if (r->plan >= 0 && (size_t)r->plan < ran && !r->plan_after_tests)
        t->unplanned = true;
    if (num >= 0) {
        if ((size_t)num != ran)
            add_error(r, xasprintf("Tests out of sequence.  Found (%ld) but expected (%zu)",
                                   num, ran));
        t->number = num;
    } else {
        t->number = (long)ran;
    }
    t->passed = !t->unplanned && (t->directive == TAP_TODO || ok);
    r->failed += !t->passed;
    r->skipped += t->directive == TAP_SKIP;
    r->todo += t->directive == TAP_TODO;
    r->todo_passed += t->directive == TAP_TODO && ok;
}

static void
parse_line(struct tapr *r, const char *s)
{
    const char *p;

    r->lines++;
    if (r->in_yaml) {
        size_t i;

        for (i = 0; i < r->yaml_indent && s[i] != '\0' && space(s[i]); i++)
            ;
        if (i == r->yaml_indent) {
            p = s + i;
            if (strncmp(p, "...", 3) == 0) {
                for (p += 3; space(*p); p++)
                    ;
                if (*p == '\0')
                    r->in_yaml = false;
            }
            return;
        }
        /* A line outside the block's indentation ends it. */
        r->in_yaml = false;
    }

    if (strncasecmp(s, "TAP", 3) == 0 && space(s[3])) {
        for (p = s + 3; space(*p); p++)
            ;
        if (strncasecmp(p, "version", 7) == 0 && space(p[7])) {
            for (p += 7; space(*p); p++)
                ;
            if (isdigit((unsigned char)*p)) {
                const char *q = p;
                long v = number(&q);

                while (space(*q))
                    q++;
                if (*q == '\0') {
                    if (r->plan >= 0 || r->n > 0) {
                        add_error(r, xstrdup("If TAP version is present it must be the "
                                             "first line of output"));
                    } else if (v <= 12) {
                        add_error(r, xasprintf("Explicit TAP version must be at least 13. "
                                               "Got version %ld", v));
                    } else if (v > 14) {
                        add_error(r, xasprintf("TAP specified version %ld but we don't know "
                                               "about versions later than 14", v));
                        r->version = 14;
                    } else {
                        r->version = (int)v;
                    }
                    r->seen_tap = true;
                    return;
                }
            }
        }
    }
    if (strncmp(s, "1..", 3) == 0 && parse_plan(r, s))
        return;
    if (strncmp(s, "ok", 2) == 0 && !(isalnum((unsigned char)s[2]) || s[2] == '_')) {
        parse_result(r, s, true);
        return;
    }
    if (strncmp(s, "not ok", 6) == 0 && !(isalnum((unsigned char)s[6]) || s[6] == '_')) {
        parse_result(r, s, false);
        return;
    }
    if (s[0] == '#')
        return;
    for (p = s; space(*p); p++)
        ;
    if (strncmp(p, "Bail out!", 9) == 0) {
        if (!r->bailed) {
            r->bailed = true;
            r->bail_reason = trimmed(p + 9, strlen(p + 9));
            r->bail_at = r->n;
        }
        return;
    }
    if (r->version >= 13 && p != s && strncmp(p, "---", 3) == 0) {
        r->in_yaml = true;
        r->yaml_indent = (size_t)(p - s);
    }
}

void
tapr_feed(struct tapr *r, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl != NULL ? (size_t)(nl - p) : n;

        if (!r->cut) {
            size_t room = TAPR_LINE_MAX - r->len;
            size_t keep = take < room ? take : room;

            r->line = xgrow(r->line, &r->cap, r->len + keep + 1, 1);
            memcpy(r->line + r->len, p, keep);
            r->len += keep;
            if (keep < take)
                r->cut = true;
        }
        if (nl == NULL)
            return;
        /* A NUL byte ends what is read of the line, as a C string would. */
        r->line[r->len] = '\0';
        parse_line(r, r->line);
        r->len = 0;
        r->cut = false;
        p += take + 1;
        n -= take + 1;
    }
}

void
tapr_end(struct tapr *r)
{
    if (r->ended)
        return;
    r->ended = true;
    if (r->len > 0 || r->cut) {
        r->line = xgrow(r->line, &r->cap, r->len + 1, 1);
        r->line[r->len] = '\0';
        parse_line(r, r->line);
        r->len = 0;
    }
    if (r->plan < 0) {
        add_error(r, xstrdup("No plan found in TAP output"));
    } else if ((size_t)r->plan != r->n) {
        add_error(r, xasprintf("Bad plan.  You planned %ld tests but ran %zu.", r->plan, r->n));
    }
}

bool
tapr_failed(const struct tapr *r)
{
    return r->failed > 0 || r->nerrors > 0;
}
