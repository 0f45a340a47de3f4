/*
 * tap.h - the TAP reader of "ward test": what a test program writes on its
 * standard output, read as the Test Anything Protocol (versions 12 and 13)
 * and judged as prove(1) judges it.
 *
 * The reader is fed the output in pieces as it arrives (tapr_feed()) and
 * told when it has ended (tapr_end()); it keeps each result line, the plan,
 * the directives, a bail out, and the first parse errors.
 */
#ifndef WARD_CLI_TAP_H
#define WARD_CLI_TAP_H

#include <stdbool.h>
#include <stddef.h>

/* A line longer than this is cut: what follows is not read as TAP. */
#define TAPR_LINE_MAX 65536
/* Parse errors kept for the report; the rest are only counted. */
#define TAPR_ERRORS_KEPT 4

enum tap_directive { TAP_NONE, TAP_SKIP, TAP_TODO };

/* One result line ("ok 3 - name # TODO why"). */
struct tap_result {
    bool ok;                 /* "ok", not "not ok" */
    bool passed;             /* counts as a pass: ok, or not ok with TODO */
    bool unplanned;          /* its number is beyond the plan */
    bool after_late_plan;    /* it follows a plan that followed results */
    long number;             /* as written, or its place if it had none */
    enum tap_directive directive;
    char *description;       /* trimmed, without the directive */
    char *reason;            /* the directive's explanation, or NULL */
};

struct tapr {
    /* The line being assembled. */
    char *line;
    size_t len, cap;
    bool cut;                /* the line is too long: skip to its end */

    unsigned long lines;     /* complete lines read */
    int version;             /* 12 unless "TAP version N" came first */
    bool in_yaml;            /* inside a TAP 13 YAML block */
    size_t yaml_indent;

    long plan;               /* -1 until a plan is seen */
    bool skip_all;           /* the plan was 1..0 (# SKIP ...) */
    char *skip_reason;
    bool plan_after_tests;   /* the plan came after some results */
    bool tests_after_plan_late; /* ...and results followed it */

    struct tap_result *v;    /* every result, in order */
    size_t n, cap_v;
    size_t failed;           /* results that count as failures */
    size_t skipped, todo, todo_passed;

    bool multiple_plans;
    bool bailed;
    char *bail_reason;
    size_t bail_at;          /* the results read before the bail out */

    bool seen_tap;           /* a version or plan line was seen: this is TAP */
    bool ended;
    char *errors[TAPR_ERRORS_KEPT];
    size_t nerrors;
};

void tapr_init(struct tapr *r);
void tapr_feed(struct tapr *r, const char *p, size_t n);
/* The output has ended: read the last line and check the plan. */
void tapr_end(struct tapr *r);
void tapr_release(struct tapr *r);

/* Did the TAP say the program failed (results, plan, parse errors)? */
bool tapr_failed(const struct tapr *r);

#endif
