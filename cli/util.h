/*
 * util.h - what the subcommands of ward(1) share: error reporting, option
 * parsing helpers, durations, signal names, clocks, memory, JSON and XML
 * escaping, the live counter on a terminal.
 */
#ifndef WARD_CLI_UTIL_H
#define WARD_CLI_UTIL_H

#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* Exit statuses of ward itself, the same as timeout(1) where they overlap. */
#define EXIT_USAGE    2   /* bad usage: unknown option, bad argument */
#define EXIT_TIMEDOUT 124 /* the command timed out */
#define EXIT_FAILED   125 /* ward itself failed */
#define EXIT_CANNOT   126 /* the command was found but could not be run */
#define EXIT_ENOENT   127 /* the command was not found */

/* A duration or a point in time on CLOCK_MONOTONIC, in nanoseconds. */
typedef int64_t nsec_t;
#define NSEC_PER_SEC  INT64_C(1000000000)
#define NSEC_PER_MSEC INT64_C(1000000)
#define NSEC_NEVER    INT64_MAX /* "no deadline" */

/* A subcommand: its entry point and its help text. */
struct command {
    const char *name;
    int (*main)(int argc, char **argv);
    void (*usage)(FILE *out);
    const char *summary;
};

int run_main(int argc, char **argv);
void run_usage(FILE *out);
int test_main(int argc, char **argv);
void test_usage(FILE *out);
int torture_main(int argc, char **argv);
void torture_usage(FILE *out);

/*
 * The exit status for a spawn that failed with err, as timeout(1) and the
 * shell have it: 127 for a command not found, 126 for one that was found
 * but could not be run, and 125 when ward itself lacked a resource.
 */
int spawn_exit_status(int err);

/* The path ward was started as (argv[0]), for torture's children. */
extern const char *ward_argv0;

/*
 * Errors.  Every message is one line: "ward: CAUSE: ARGUMENT" (or
 * "ward: CAUSE" when there is no argument).  usage_error() exits with
 * EXIT_USAGE; fatal() with the given status.
 */
void message(const char *cause, const char *arg);
void usage_error(const char *cause, const char *arg)
    __attribute__((noreturn));
void fatal(int status, const char *cause, const char *arg)
    __attribute__((noreturn));
/* An unexpected system error in ward itself: exit EXIT_FAILED. */
void fatal_errno(const char *what) __attribute__((noreturn));

/*
 * Report the option getopt_long() refused: c is what it returned ('?' or
 * ':'; the option string must start with ':'), before the value optind had
 * before the call.
 */
void bad_option(int c, char **argv, int before) __attribute__((noreturn));

/* Memory that cannot fail: on exhaustion ward exits with EXIT_FAILED. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Grow an array of elem-sized items to hold at least want; doubles. */
void *xgrow(void *p, size_t *cap, size_t want, size_t elem);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Parse a duration: a decimal number of seconds ("10", "1.5") with an
 * optional unit: "ms", "s", "m", "h" or "d".  Returns 0 and sets *out, or
 * -1 for anything else (negative, empty, junk, too large).
 */
int parse_duration(const char *s, nsec_t *out);
/* A duration option's argument, or a usage error naming the option. */
nsec_t duration_arg(const char *opt, const char *arg);
/* An integer option's argument (min..max), or a usage error. */
long count_arg(const char *opt, const char *arg, long min, long max);

/* Signal names without "SIG": "TERM" for SIGTERM; NULL if unknown. */
const char *signal_name(int sig);
/* "TERM", "SIGTERM", "term" or "15"; -1 if not a signal. */
int parse_signal(const char *s);

/* The monotonic clock, and a deadline `after` from now (saturating). */
nsec_t now_ns(void);
nsec_t deadline_after(nsec_t after);
/* Milliseconds from now until deadline for poll(), rounded up; -1: never. */
int poll_timeout(nsec_t deadline);
double ns_to_sec(nsec_t ns);

/* Set O_NONBLOCK on a descriptor; -1 with errno on failure. */
int set_nonblock(int fd);

/*
 * A self-pipe for signals: the handler writes the signal number, the main
 * loop polls the read end.  Signals that were ignored when ward started are
 * left ignored (nohup(1) and "cmd &" in sh rely on that).  Returns the read
 * end; exits with EXIT_FAILED on failure.
 */
int sigpipe_open(const int *sigs, size_t nsigs);
/* The next caught signal, or 0 when none is pending. */
int sigpipe_read(void);

/* Text output with escaping.  Invalid UTF-8 and control bytes become '?'. */
void json_string(FILE *out, const char *s);
void json_bytes(FILE *out, const char *s, size_t n);
void xml_text(FILE *out, const char *s, size_t n);
/* Plain text: valid UTF-8 and tabs pass, other bytes below 0x20 become '?'. */
void clean_text(FILE *out, const char *s, size_t n);

/*
 * The live counter: one line on stderr, redrawn in place, only when stderr
 * is a terminal.  progress_clear() before printing to a terminal stdout.
 */
void progress_init(void);
void progress_update(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void progress_clear(void);
/* Is the live line drawn at all (standard error is a terminal)? */
int progress_active(void);
/*
 * The end: where standard output is not that terminal, the live line is
 * replaced by line (which ends in a newline); otherwise it is erased.
 */
void progress_finish(const char *line);
/* Make room for a line on standard output, if it shares the terminal. */
void progress_before_stdout(void);

#endif
