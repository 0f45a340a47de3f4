/*
 * test.h - "ward test": what the scheduler (test.c), the suite parser
 * (suite.c) and the reports (report.c) share.
 */
#ifndef WARD_CLI_TEST_H
#define WARD_CLI_TEST_H

#include "util.h"
#include "tap.h"

#include <stdbool.h>
#include <sys/types.h>

#include "ward.h"

/* How much of each captured stream is kept: the tail, for the report. */
#define TAIL_BYTES 8192
#define TAIL_LINES 20

/* The exit code that means "skipped", as in automake. */
#define EXIT_SKIP 77

/* The last bytes a test wrote to one of its streams. */
struct tail {
    int fd;          /* our end of the pipe, or -1 once closed */
    char *buf;       /* the last len bytes written (TAIL_BYTES at most) */
    size_t len;
    uint64_t total;  /* bytes written in all */
    struct tapr *tap; /* the TAP reader this stream feeds, or NULL */
    int log_fd;      /* where everything written is kept too, or -1 */
};

enum test_state { TEST_PENDING, TEST_RUNNING, TEST_DONE };
enum test_result { RESULT_PASS, RESULT_FAIL, RESULT_SKIP };

struct test {
    char *name;          /* as listed: the file, or the suite's line */
    char **argv;         /* NULL-terminated */
    char *path;          /* the program to run (FILE gets a "./") */
    enum test_state state;
    ward_child *child;
    pid_t pid;
    struct tail out, err;
    nsec_t start, end;
    nsec_t deadline;      /* the timeout expires */
    nsec_t kill_deadline; /* SIGKILL follows the timeout's SIGTERM */
    nsec_t drain_deadline; /* stop reading pipes held by escaped processes */
    bool exited;         /* its exit has been seen */
    bool timed_out;
    bool killed;         /* SIGKILL was needed */
    int status;          /* wait status, -1 if lost */
    int spawn_err;       /* errno of a failed spawn, or 0 */
    enum test_result result;
    struct tapr tap;     /* its standard output read as TAP */
    bool is_tap;         /* that output was judged as TAP */
    int log_fd;          /* its log file (--log-dir, the driver's), or -1 */
    char *log_path;
    unsigned run_no;     /* which of the --repeat runs, from 1 */
};

/* A list of tests, in the order given. */
struct tests {
    struct test *v;
    size_t n, cap;
};

/* Append a test; takes ownership of name and argv (and its strings). */
void tests_add(struct tests *ts, char *name, char **argv, char *path);
void test_release(struct test *t);

/*
 * Load a suite file: one command per line, split on whitespace with single
 * and double quotes, '#' comments and blank lines ignored.  A parse error
 * prints "ward: FILE:LINE: cause" and exits 2.
 */
void suite_load(struct tests *ts, const char *path);
/*
 * Split one line as suite_load() does: NULL on success, with *words set to
 * a NULL-terminated vector (caller frees each word and the vector) and
 * *count to the number of words, or the cause of the error.
 */
const char *suite_split(const char *line, char ***words, size_t *count);

/* One sentence on how a test ended, for people.  Caller frees. */
char *test_describe(const struct test *t);

/* TAP and JUnit. */
void tap_plan(FILE *out, size_t n);
/* A TAP description: '#' escaped, control characters replaced. */
void tap_name_out(FILE *out, const char *s);
void tap_result(FILE *out, const struct test *t, size_t number, bool verbose);
void junit_write(FILE *out, const struct tests *ts, size_t ndone,
                 const char *suite_name, double wall, time_t started);

#endif
