/*
 * test.c - "ward test": run test programs in parallel as private children
 * and print TAP.
 *
 * One poll() loop serves everything: ward's events descriptor (readable
 * when a child may have ended; ward_dispatch() then runs the exit callback
 * of each test that ended), the pipes of the tests' captured output, a
 * self-pipe for signals sent to ward, and the earliest deadline (a timeout,
 * the SIGKILL that follows it, or the end of a drain).
 *
 * Each test runs in its own process group, so that a timeout kills the
 * whole test, and when its main process ends anything left in the group is
 * killed, so that nothing keeps the output pipes open or outlives ward.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* After a test ends, how long to read output still held by an escapee. */
#define DRAIN_NS (1 * NSEC_PER_SEC)

struct harness {
    struct tests ts;
    long jobs;
    nsec_t timeout;          /* 0: none */
    nsec_t kill_after;       /* grace between the timeout's TERM and KILL */
    bool verbose;
    const char *junit_path;
    FILE *junit;
    const char *suite_name;  /* for JUnit */
    ward_attr *attr;
    size_t next;             /* the next test to start */
    size_t printed;          /* the tests before this one are printed */
    struct test **run;       /* running tests, in no order */
    size_t nrun;
    size_t ndone, passed, failed, skipped;
    int stop_sig;            /* the signal that interrupted the run, or 0 */
    bool out_broken;         /* standard output failed */
    bool dispatch_needed;    /* a callback was set since the last dispatch */
    struct pollfd *pfd;      /* poll set: signals, events, then pipes */
    struct tail **pfd_tail;  /* the tail each pipe in pfd feeds */
    size_t pfd_cap;

    enum { TAP_AUTO, TAP_ALWAYS, TAP_NEVER } tap_mode;
    struct test *bailed;     /* the first test that said "Bail out!" */
    const char *log_dir;     /* --log-dir */
    const char *state_path;  /* --state */
    bool rerun_failed;
    long repeat;             /* each test this many times, >= 1 */
    bool shuffle;
    unsigned long seed;
    bool seed_given;
    char **wrap;             /* --wrap's words, NULL-terminated, or NULL */
    size_t nwrap;
    char **filters, **excludes;
    size_t nfilters, nexcludes;
    size_t subtests, subtests_failed, todo_passed;

    /* The automake test driver (--automake-driver). */
    bool driver;
    const char *test_name, *log_file, *trs_file;
    bool color, expect_failure, hard_errors;
    bool ignore_exit;        /* tap-driver.sh's --ignore-exit */
};

/* Options without a short form. */
enum {
    OPT_JUNIT = 256,
    OPT_TAP,
    OPT_NO_TAP,
    OPT_LOG_DIR,
    OPT_STATE,
    OPT_RERUN_FAILED,
    OPT_REPEAT,
    OPT_SHUFFLE,
    OPT_SEED,
    OPT_WRAP,
    OPT_FILTER,
    OPT_EXCLUDE,
    OPT_DRIVER,
    OPT_TEST_NAME,
    OPT_LOG_FILE,
    OPT_TRS_FILE,
    OPT_COLOR_TESTS,
    OPT_EXPECT_FAILURE,
    OPT_HARD_ERRORS,
    OPT_COLLECT_SKIPPED_LOGS,
    OPT_IGNORE_EXIT,
    OPT_TAP_DRIVER_IGNORED,
};

/* The first error writing a log file: reported once the test ends. */
static int log_errno;

void
test_usage(FILE *out)
{
    fputs("usage: ward test [OPTION...] FILE...\n"
          "       ward test [OPTION...] -f SUITE\n"
          "       ward test --automake-driver --test-name NAME --log-file LOG\n"
          "                 --trs-file TRS [OPTION...] -- COMMAND [ARG...]\n"
          "\n"
          "Run test programs in parallel as private children, capture their\n"
          "output, and print TAP version 13 in the order they were given.\n"
          "Exit code 0 passes, 77 skips, anything else fails.\n"
          "\n"
          "  -f, --file SUITE      run the commands listed in SUITE, one a line\n"
          "  -j, --jobs N          run N tests at a time (default: online CPUs)\n"
          "  -t, --timeout DUR     fail a test that runs longer (default 60s; 0: none)\n"
          "  -k, --kill-after DUR  SIGKILL a timed-out test after DUR (default 1s)\n"
          "      --junit FILE      also write a JUnit XML report to FILE\n"
          "  -v, --verbose         print the diagnostics of passing tests too\n"
          "      --tap             read every test's standard output as TAP\n"
          "      --no-tap          judge tests by their exit code only\n"
          "                        (default: TAP if the output has a plan or version)\n"
          "      --log-dir DIR     keep each test's whole output in DIR/NAME.log\n"
          "      --state FILE      record each test's result in FILE\n"
          "      --rerun-failed    run only the tests that failed in the --state FILE\n"
          "      --repeat N        run each test N times\n"
          "      --shuffle         run the tests in a random order (seed printed)\n"
          "      --seed N          shuffle with seed N, to replay an order\n"
          "      --wrap CMD        run each test under CMD (valgrind, strace -f...)\n"
          "      --filter GLOB     run only the tests whose name matches GLOB\n"
          "      --exclude GLOB    do not run the tests whose name matches GLOB\n"
          "      --automake-driver  be an Automake test driver (see ward(1))\n"
          "  -h, --help            show this help\n"
          "\n"
          "Exit status: 0 if no test failed, 1 if any did, 2 for bad usage,\n"
          "125 if ward failed, 128+N if interrupted by signal N.\n",
          out);
}

void
tests_add(struct tests *ts, char *name, char **argv, char *path)
{
    struct test *t;

    ts->v = xgrow(ts->v, &ts->cap, ts->n + 1, sizeof(*ts->v));
    t = &ts->v[ts->n++];
    memset(t, 0, sizeof(*t));
    t->name = name;
    t->argv = argv;
    t->path = path;
    t->out.fd = t->err.fd = -1;
    t->log_fd = t->out.log_fd = t->err.log_fd = -1;
    t->state = TEST_PENDING;
    t->run_no = 1;
    tapr_init(&t->tap);
}

void
test_release(struct test *t)
{
    free(t->name);
    for (char **a = t->argv; a != NULL && *a != NULL; a++)
        free(*a);
    free(t->argv);
    free(t->path);
    free(t->out.buf);
    free(t->err.buf);
    free(t->log_path);
    tapr_release(&t->tap);
    t->name = t->path = t->out.buf = t->err.buf = t->log_path = NULL;
    t->argv = NULL;
}

/* A fresh copy of a pending test, for --repeat. */
static void
test_dup(struct tests *ts, const struct test *t, unsigned run_no)
{
    size_t n = 0;
    char **argv;

    while (t->argv[n] != NULL)
        n++;
    argv = xcalloc(n + 1, sizeof(*argv));
    for (size_t i = 0; i < n; i++)
        argv[i] = xstrdup(t->argv[i]);
    tests_add(ts, xstrdup(t->name), argv, t->path != NULL ? xstrdup(t->path) : NULL);
    ts->v[ts->n - 1].run_no = run_no;
}

/* A FILE argument: run it as a path, never searched in PATH. */
static void
add_file(struct tests *ts, const char *file)
{
    char **argv = xcalloc(2, sizeof(*argv));

    argv[0] = xstrdup(file);
    tests_add(ts, xstrdup(file), argv,
              strchr(file, '/') != NULL ? xstrdup(file) : xasprintf("./%s", file));
}

/* ---- one test -------------------------------------------------------- */

static void
close_stream(struct tail *tl)
{
    if (tl->fd != -1)
        (void)close(tl->fd);
    tl->fd = -1;
}

/* Keep the last TAIL_BYTES bytes of what the test wrote. */
static void
tail_append(struct tail *tl, const char *p, size_t n)
{
    tl->total += n;
    if (tl->buf == NULL)
        tl->buf = xmalloc(TAIL_BYTES);
    if (n >= TAIL_BYTES) {
        memcpy(tl->buf, p + n - TAIL_BYTES, TAIL_BYTES);
        tl->len = TAIL_BYTES;
        return;
    }
    if (tl->len + n > TAIL_BYTES) {
        size_t drop = tl->len + n - TAIL_BYTES;

        memmove(tl->buf, tl->buf + drop, tl->len - drop);
        tl->len -= drop;
    }
    memcpy(tl->buf + tl->len, p, n);
    tl->len += n;
}

/* Write all of p, across short writes and EINTR. */
static int
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w == -1 && errno == EINTR)
            continue;
        if (w == -1)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read what a pipe holds now; close it at end of file or on an error. */
static void
read_stream(struct tail *tl)
{
    char chunk[16384];
    ssize_t n;

    while ((n = read(tl->fd, chunk, sizeof(chunk))) == -1 && errno == EINTR)
        ;
    if (n > 0) {
        tail_append(tl, chunk, (size_t)n);
        if (tl->tap != NULL)
            tapr_feed(tl->tap, chunk, (size_t)n);
        if (tl->log_fd != -1 && log_errno == 0 && write_all(tl->log_fd, chunk, (size_t)n) == -1)
            log_errno = errno;
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
        close_stream(tl);
}

/* Signal a running test's group; an ended leader is not an error. */
static void
signal_test(struct test *t, int sig)
{
    if (ward_killpg(t->child, sig) == -1 && errno != ESRCH) {
        char *cause = xasprintf("cannot signal %s", t->name);

        message(cause, strerror(errno));
        free(cause);
    }
}

/* Ask a test to stop with sig, and arm the SIGKILL that follows. */
static void
stop_test(struct harness *h, struct test *t, int sig)
{
    if (h->kill_after == 0 || sig == SIGKILL) {
        t->killed = true;
        signal_test(t, SIGKILL);
        return;
    }
    signal_test(t, sig);
    if (sig != SIGCONT)
        signal_test(t, SIGCONT);
    if (t->kill_deadline == NSEC_NEVER)
        t->kill_deadline = deadline_after(h->kill_after);
}

/*
 * The exit callback, run from ward_dispatch() once the test's main process
 * has ended (status -1: its status was taken by someone else and is lost).
 */
static void
on_exit_cb(ward_child *child, int status, void *data)
{
    struct test *t = data;

    (void)child;
    t->exited = true;
    t->status = status;
    t->end = now_ns();
    t->drain_deadline = deadline_after(DRAIN_NS);
    /*
     * Kill what is left of its process group.  The leader is reaped, so
     * ward_killpg() refuses; kill() on the group id is still safe: the id
     * stays reserved while any member lives, and an empty group's number can
     * only return as a new group after the pid counter has wrapped around.
     */
    if (kill(-t->pid, SIGKILL) == -1 && errno != ESRCH && errno != EPERM) {
        char *cause = xasprintf("cannot kill the rest of %s", t->name);

        message(cause, strerror(errno));
        free(cause);
    }
}

static void __attribute__((noreturn)) die(struct harness *h, const char *what);

/*
 * The last line of a log: how the test ended, so that a log read alone
 * (as Automake's test-suite.log shows it) says why the test failed.
 */
static void
log_trailer(struct harness *h, struct test *t)
{
    char *what, *line;

    if (t->log_fd == -1)
        return;
    what = test_describe(t);
    line = xasprintf("# ward: %s: %s: %s (%.3f s)\n", t->name,
                     t->result == RESULT_PASS ? "pass" : t->result == RESULT_SKIP ? "skip" : "fail",
                     what, ns_to_sec(t->end - t->start));
    if (log_errno == 0 && write_all(t->log_fd, line, strlen(line)) == -1)
        log_errno = errno;
    free(line);
    free(what);
    if (close(t->log_fd) == -1 && log_errno == 0)
        log_errno = errno;
    t->log_fd = t->out.log_fd = t->err.log_fd = -1;
    if (log_errno != 0) {
        errno = log_errno;
        die(h, t->log_path);
    }
}

static void
finish_test(struct harness *h, struct test *t)
{
    close_stream(&t->out);
    close_stream(&t->err);
    ward_free(t->child);
    t->child = NULL;
    t->state = TEST_DONE;
    tapr_end(&t->tap);
    t->is_tap = t->spawn_err == 0 &&
                (h->tap_mode == TAP_ALWAYS || (h->tap_mode == TAP_AUTO && t->tap.seen_tap));
    if (t->spawn_err != 0 || t->status == -1 || t->timed_out)
        t->result = RESULT_FAIL;
    else if (t->is_tap) {
        /* As prove(1): the TAP and a zero exit code must both say pass. */
        if (tapr_failed(&t->tap) || t->tap.bailed || !WIFEXITED(t->status) ||
            WEXITSTATUS(t->status) != 0)
            t->result = RESULT_FAIL;
        else
            t->result = t->tap.skip_all ? RESULT_SKIP : RESULT_PASS;
    } else if (WIFEXITED(t->status) && WEXITSTATUS(t->status) == 0)
        t->result = RESULT_PASS;
    else if (WIFEXITED(t->status) && WEXITSTATUS(t->status) == EXIT_SKIP)
        t->result = RESULT_SKIP;
    else
        t->result = RESULT_FAIL;
    h->ndone++;
    h->passed += t->result == RESULT_PASS;
    h->failed += t->result == RESULT_FAIL;
    h->skipped += t->result == RESULT_SKIP;
    if (t->is_tap) {
        h->subtests += t->tap.n;
        h->subtests_failed += t->tap.failed;
        h->todo_passed += t->tap.todo_passed;
        if (t->tap.bailed && h->bailed == NULL)
            h->bailed = t;
    }
    log_trailer(h, t);
}

/*
 * ward itself failed: kill every running test, so that none outlives it,
 * and exit with EXIT_FAILED.
 */
static void __attribute__((noreturn))
die(struct harness *h, const char *what)
{
    int err = errno;

    for (size_t i = 0; i < h->nrun; i++) {
        struct test *t = h->run[i];

        if (!t->exited && ward_killpg(t->child, SIGKILL) == 0)
            (void)ward_wait(t->child, NULL);
    }
    progress_clear();
    fatal(EXIT_FAILED, what, strerror(err));
}

/* A test's name as a file name: '/' and anything unusual become '_'. */
static char *
log_name(const struct test *t)
{
    char *s = t->run_no > 1 ? xasprintf("%s.%u.log", t->name, t->run_no)
                            : xasprintf("%s.log", t->name);

    for (char *p = s; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
            *p = '_';
    }
    /* Never ".." or a hidden file. */
    if (s[0] == '.')
        s[0] = '_';
    return s;
}

/*
 * Give every test its --log-dir path before any runs.  Different names can
 * make the same file name ("sub/a.t" and "sub_a.t", a test given twice, "a.t"
 * repeated and a test called "a.t.2"): a later one gets ".2", ".3"... before
 * ".log", so that no test's log is written over by another's.
 */
static void
name_logs(struct harness *h)
{
    for (size_t i = 0; i < h->ts.n; i++) {
        struct test *t = &h->ts.v[i];
        char *name = log_name(t);

        name[strlen(name) - strlen(".log")] = '\0';
        for (unsigned k = 1;; k++) {
            size_t j;

            t->log_path = k == 1 ? xasprintf("%s/%s.log", h->log_dir, name)
                                 : xasprintf("%s/%s.%u.log", h->log_dir, name, k);
            for (j = 0; j < i && strcmp(h->ts.v[j].log_path, t->log_path) != 0; j++)
                ;
            if (j == i)
                break;
            free(t->log_path);
        }
        free(name);
    }
}

/* Is err a limit that a test ending lifts (descriptors, processes)? */
static bool
out_of_resources(int err)
{
    return err == EMFILE || err == ENFILE || err == EAGAIN;
}

static void
open_log(struct harness *h, struct test *t)
{
    /* A test that had to wait (see start_test()) keeps its path. */
    if (h->driver) {
        if (t->log_path == NULL)
            t->log_path = xstrdup(h->log_file);
    } else if (h->log_dir == NULL) {
        return;
    }
    t->log_fd = open(t->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (t->log_fd == -1 && !(out_of_resources(errno) && h->nrun > 0))
        die(h, t->log_path);
    t->out.log_fd = t->err.log_fd = t->log_fd;
}

/*
 * The file a shell would have run for argv[0]: PATH is searched for a name
 * without a slash (an empty entry is the current directory).  NULL if none.
 */
static char *
find_program(const char *name)
{
    const char *path = getenv("PATH"), *p, *end;

    if (strchr(name, '/') != NULL)
        return xstrdup(name);
    if (path == NULL)
        path = "/bin:/usr/bin";
    for (p = path;; p = end + 1) {
        struct stat st;
        char *file;

        end = strchrnul(p, ':');
        file = end == p ? xasprintf("%s", name) : xasprintf("%.*s/%s", (int)(end - p), p, name);
        if (stat(file, &st) == 0 && S_ISREG(st.st_mode) && access(file, X_OK) == 0)
            return file;
        free(file);
        if (*end == '\0')
            return NULL;
    }
}

/*
 * An executable file the kernel cannot run (ENOEXEC: a script without a
 * "#!" line) is run by /bin/sh, as a shell and execvp() run it, and so as
 * Automake's test-driver, which runs tests from a shell, does.  errno is
 * ENOEXEC again if that cannot be done.
 */
static ward_child *
spawn_with_sh(struct harness *h, struct test *t)
{
    char *file = t->path != NULL ? xstrdup(t->path) : find_program(t->argv[0]);
    ward_child *c;
    size_t n = 0;
    char **argv;

    if (file == NULL) {
        errno = ENOEXEC;
        return NULL;
    }
    while (t->argv[n] != NULL)
        n++;
    argv = xcalloc(n + 2, sizeof(*argv));
    argv[0] = "sh";
    argv[1] = file;
    for (size_t i = 1; i < n; i++)
        argv[i + 1] = t->argv[i];
    c = ward_spawn("/bin/sh", argv, h->attr);
    free(argv);
    free(file);
    return c;
}

/*
 * Start t; false if it could not start only for want of descriptors or
 * processes while other tests hold them: it then waits, and no more tests
 * than are running now run at a time from then on, so that a -j beyond
 * what the limits allow slows the run instead of failing tests.
 */
static bool
start_test(struct harness *h, struct test *t)
{
    int err;

    open_log(h, t);
    if (t->log_fd == -1 && (h->driver || h->log_dir != NULL)) {
        err = errno;
        goto later;
    }
    t->out.tap = &t->tap;
    t->start = now_ns();
    t->deadline = h->timeout > 0 ? deadline_after(h->timeout) : NSEC_NEVER;
    t->kill_deadline = t->drain_deadline = NSEC_NEVER;
    t->child = ward_spawn(t->path, t->argv, h->attr);
    if (t->child == NULL && errno == ENOEXEC)
        t->child = spawn_with_sh(h, t);
    if (t->child == NULL && out_of_resources(errno) && h->nrun > 0) {
        err = errno;
        if (t->log_fd != -1) {
            (void)close(t->log_fd);
            t->log_fd = t->out.log_fd = t->err.log_fd = -1;
        }
        goto later;
    }
    if (t->child == NULL) {
        /* Not found, not executable...: the test fails, the run goes on. */
        t->spawn_err = errno;
        t->end = t->start;
        finish_test(h, t);
        return true;
    }
    t->pid = ward_pid(t->child);
    t->state = TEST_RUNNING;
    h->run[h->nrun++] = t;
    t->out.fd = ward_stdio_take(t->child, STDOUT_FILENO);
    t->err.fd = ward_stdio_take(t->child, STDERR_FILENO);
    if (t->out.fd == -1 || t->err.fd == -1 || set_nonblock(t->out.fd) == -1 ||
        set_nonblock(t->err.fd) == -1)
        die(h, "the output pipes of a test");
    if (ward_setcallback(t->child, on_exit_cb, t) == -1)
        die(h, "ward_setcallback");
    /* It may have ended already: make sure a dispatch runs. */
    h->dispatch_needed = true;
    return true;

later:
    if (!h->driver && h->jobs > (long)h->nrun) {
        fprintf(stderr, "ward: running %zu tests at a time, not %ld: %s\n", h->nrun, h->jobs,
                strerror(err));
        h->jobs = (long)h->nrun;
    }
    return false;
}

/* ---- the loop -------------------------------------------------------- */

static void
print_ready(struct harness *h)
{
    bool printed = false;

    if (h->out_broken)
        return;
    while (h->printed < h->next && h->ts.v[h->printed].state == TEST_DONE) {
        struct test *t = &h->ts.v[h->printed];

        if (!printed)
            progress_before_stdout();
        printed = true;
        tap_result(stdout, t, h->printed + 1, h->verbose);
        /* The JUnit report needs the output later; TAP is done with it. */
        if (h->junit == NULL) {
            free(t->out.buf);
            free(t->err.buf);
            t->out.buf = t->err.buf = NULL;
            t->out.len = t->err.len = 0;
        }
        h->printed++;
    }
    if (printed && (fflush(stdout) == EOF || ferror(stdout))) {
        message("standard output", strerror(errno));
        h->out_broken = true;
        /* Nobody can see the results: stop everything now. */
        if (h->stop_sig == 0)
            h->stop_sig = -1;
        for (size_t i = 0; i < h->nrun; i++)
            stop_test(h, h->run[i], SIGKILL);
    }
}

static void
on_signal(struct harness *h, int sig)
{
    bool again = h->stop_sig != 0;

    if (!again)
        h->stop_sig = sig;
    /* The first signal is passed on; a second one kills at once. */
    for (size_t i = 0; i < h->nrun; i++)
        stop_test(h, h->run[i], again ? SIGKILL : sig);
}

/* Apply the deadlines that have passed; return the next one. */
static nsec_t
check_deadlines(struct harness *h)
{
    nsec_t now = now_ns(), next = NSEC_NEVER;

    for (size_t i = 0; i < h->nrun; i++) {
        struct test *t = h->run[i];

        if (!t->exited && !t->timed_out && now >= t->deadline) {
            t->timed_out = true;
            stop_test(h, t, SIGTERM);
        }
        if (!t->exited && now >= t->kill_deadline) {
            t->killed = true;
            signal_test(t, SIGKILL);
            t->kill_deadline = NSEC_NEVER;
        }
        if (t->exited && now >= t->drain_deadline) {
            close_stream(&t->out);
            close_stream(&t->err);
        }
        if (!t->exited && !t->timed_out && t->deadline < next)
            next = t->deadline;
        if (!t->exited && t->kill_deadline < next)
            next = t->kill_deadline;
        if (t->exited && t->drain_deadline < next)
            next = t->drain_deadline;
    }
    return next;
}

/* Move the tests that have ended and closed their pipes to done. */
static void
collect(struct harness *h)
{
    for (size_t i = 0; i < h->nrun;) {
        struct test *t = h->run[i];

        if (t->exited && t->out.fd == -1 && t->err.fd == -1) {
            finish_test(h, t);
            h->run[i] = h->run[--h->nrun];
        } else {
            i++;
        }
    }
}

/*
 * The live line on a terminal: the counts, and the test that has been
 * running longest, since that is the one a person waits for.
 */
static void
show_progress(struct harness *h)
{
    struct test *slow = NULL;

    if (h->driver)
        return;
    for (size_t i = 0; i < h->nrun; i++) {
        if (!h->run[i]->exited && (slow == NULL || h->run[i]->start < slow->start))
            slow = h->run[i];
    }
    if (slow == NULL)
        progress_update("ward test: %zu/%zu done, %zu running, %zu failed", h->ndone,
                        h->ts.n, h->nrun, h->failed);
    else
        progress_update("ward test: %zu/%zu done, %zu running, %zu failed; slowest: %.40s (%.0fs)",
                        h->ndone, h->ts.n, h->nrun, h->failed, slow->name,
                        ns_to_sec(now_ns() - slow->start));
}

static void
loop(struct harness *h, int sigfd, int evfd)
{
    for (;;) {
        size_t np = 2;
        nsec_t next;
        int sig;

        while (h->stop_sig == 0 && h->bailed == NULL && h->nrun < (size_t)h->jobs &&
               h->next < h->ts.n && start_test(h, &h->ts.v[h->next]))
            h->next++;
        if (!h->driver)
            print_ready(h);
        show_progress(h);
        if (h->nrun == 0 &&
            (h->next == h->ts.n || h->stop_sig != 0 || h->bailed != NULL))
            return;

        /* The poll set: signals, ward's events, then each open pipe. */
        h->pfd = xgrow(h->pfd, &h->pfd_cap, 2 + 2 * h->nrun, sizeof(*h->pfd));
        h->pfd_tail = xrealloc(h->pfd_tail, h->pfd_cap * sizeof(*h->pfd_tail));
        h->pfd[0] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
        h->pfd[1] = (struct pollfd){ .fd = evfd, .events = POLLIN };
        for (size_t i = 0; i < h->nrun; i++) {
            struct tail *tails[2] = { &h->run[i]->out, &h->run[i]->err };

            for (int k = 0; k < 2; k++) {
                if (tails[k]->fd == -1)
                    continue;
                h->pfd[np] = (struct pollfd){ .fd = tails[k]->fd, .events = POLLIN };
                h->pfd_tail[np++] = tails[k];
            }
        }
        next = check_deadlines(h);
        /* The live line shows seconds: redraw it at least once a second. */
        if (progress_active() && next - now_ns() > NSEC_PER_SEC)
            next = deadline_after(NSEC_PER_SEC);
        if (h->dispatch_needed)
            next = 0;
        if (poll(h->pfd, (nfds_t)np, poll_timeout(next)) == -1) {
            if (errno != EINTR)
                die(h, "poll");
            continue;
        }

        while ((sig = sigpipe_read()) != 0)
            on_signal(h, sig);
        for (size_t i = 2; i < np; i++) {
            if (h->pfd[i].revents != 0)
                read_stream(h->pfd_tail[i]);
        }
        /*
         * "Bail out!" stops the run when it is read, not when its program
         * ends: a program may go on for long after it, and no test is to
         * start in the meantime.  Only output read as TAP can bail out.
         */
        for (size_t i = 0; i < h->nrun && h->bailed == NULL; i++) {
            struct test *t = h->run[i];

            if (t->tap.bailed &&
                (h->tap_mode == TAP_ALWAYS || (h->tap_mode == TAP_AUTO && t->tap.seen_tap)))
                h->bailed = t;
        }
        if (h->dispatch_needed || (h->pfd[1].revents & POLLIN)) {
            h->dispatch_needed = false;
            if (ward_dispatch() == -1)
                die(h, "ward_dispatch");
        }
        (void)check_deadlines(h);
        collect(h);
    }
}

/* ---- options and the whole run --------------------------------------- */

/* "yes" or "no", as Automake passes its driver's flags. */
static bool
yes_no(const char *opt, const char *arg)
{
    if (strcmp(arg, "yes") == 0)
        return true;
    if (strcmp(arg, "no") == 0)
        return false;
    {
        char *cause = xasprintf("invalid value for %s (yes or no)", opt);

        usage_error(cause, arg);
    }
}

static void
add_pattern(char ***v, size_t *n, const char *pattern)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = (char *)pattern;
}

static void
parse_options(struct harness *h, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "file", required_argument, NULL, 'f' },
        { "jobs", required_argument, NULL, 'j' },
        { "timeout", required_argument, NULL, 't' },
        { "kill-after", required_argument, NULL, 'k' },
        { "junit", required_argument, NULL, OPT_JUNIT },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { "tap", no_argument, NULL, OPT_TAP },
        { "no-tap", no_argument, NULL, OPT_NO_TAP },
        { "log-dir", required_argument, NULL, OPT_LOG_DIR },
        { "state", required_argument, NULL, OPT_STATE },
        { "rerun-failed", no_argument, NULL, OPT_RERUN_FAILED },
        { "repeat", required_argument, NULL, OPT_REPEAT },
        { "shuffle", no_argument, NULL, OPT_SHUFFLE },
        { "seed", required_argument, NULL, OPT_SEED },
        { "wrap", required_argument, NULL, OPT_WRAP },
        { "filter", required_argument, NULL, OPT_FILTER },
        { "exclude", required_argument, NULL, OPT_EXCLUDE },
        { "automake-driver", no_argument, NULL, OPT_DRIVER },
        { "test-name", required_argument, NULL, OPT_TEST_NAME },
        { "log-file", required_argument, NULL, OPT_LOG_FILE },
        { "trs-file", required_argument, NULL, OPT_TRS_FILE },
        { "color-tests", required_argument, NULL, OPT_COLOR_TESTS },
        { "expect-failure", required_argument, NULL, OPT_EXPECT_FAILURE },
        { "enable-hard-errors", required_argument, NULL, OPT_HARD_ERRORS },
        { "collect-skipped-logs", required_argument, NULL, OPT_COLLECT_SKIPPED_LOGS },
        { "ignore-exit", no_argument, NULL, OPT_IGNORE_EXIT },
        { "merge", no_argument, NULL, OPT_TAP_DRIVER_IGNORED },
        { "no-merge", no_argument, NULL, OPT_TAP_DRIVER_IGNORED },
        { "comments", no_argument, NULL, OPT_TAP_DRIVER_IGNORED },
        { "no-comments", no_argument, NULL, OPT_TAP_DRIVER_IGNORED },
        { "diagnostic-string", required_argument, NULL, OPT_TAP_DRIVER_IGNORED },
        { NULL, 0, NULL, 0 },
    };
    bool driver_flag = false, timeout_given = false;
    int c;

    optind = 1;
    for (;;) {
        int before = optind;

        /*
         * Options may follow the files, as they always could; the command of
         * --automake-driver comes after "--", as Automake always passes it.
         */
        if ((c = getopt_long(argc, argv, ":f:j:t:k:vh", longopts, NULL)) == -1)
            break;
        switch (c) {
        case 'f':
            suite_load(&h->ts, optarg);
            if (h->suite_name == NULL)
                h->suite_name = optarg;
            break;
        case 'j':
            h->jobs = count_arg("--jobs", optarg, 1, 100000);
            break;
        case 't':
            h->timeout = duration_arg("--timeout", optarg);
            timeout_given = true;
            break;
        case 'k':
            h->kill_after = duration_arg("--kill-after", optarg);
            break;
        case OPT_JUNIT:
            h->junit_path = optarg;
            break;
        case 'v':
            h->verbose = true;
            break;
        case 'h':
            test_usage(stdout);
            exit(fflush(stdout) == 0 ? 0 : EXIT_FAILED);
        case OPT_TAP:
            h->tap_mode = TAP_ALWAYS;
            break;
        case OPT_NO_TAP:
            h->tap_mode = TAP_NEVER;
            break;
        case OPT_LOG_DIR:
            if (*optarg == '\0')
                usage_error("empty directory for --log-dir", optarg);
            h->log_dir = optarg;
            break;
        case OPT_STATE:
            if (*optarg == '\0')
                usage_error("empty file name for --state", optarg);
            h->state_path = optarg;
            break;
        case OPT_RERUN_FAILED:
            h->rerun_failed = true;
            break;
        case OPT_REPEAT:
            h->repeat = count_arg("--repeat", optarg, 1, 1000000);
            break;
        case OPT_SHUFFLE:
            h->shuffle = true;
            break;
        case OPT_SEED:
            h->seed = (unsigned long)count_arg("--seed", optarg, 0, LONG_MAX);
            h->seed_given = h->shuffle = true;
            break;
        case OPT_WRAP: {
            const char *cause;

            for (size_t i = 0; i < h->nwrap; i++)
                free(h->wrap[i]);
            free(h->wrap);
            h->wrap = NULL;
            h->nwrap = 0;
            if ((cause = suite_split(optarg, &h->wrap, &h->nwrap)) != NULL) {
                char *what = xasprintf("--wrap: %s", cause);

                usage_error(what, optarg);
            }
            if (h->nwrap == 0) {
                free(h->wrap);
                h->wrap = NULL;
                usage_error("empty command for --wrap", optarg);
            }
            break;
        }
        case OPT_FILTER:
            add_pattern(&h->filters, &h->nfilters, optarg);
            break;
        case OPT_EXCLUDE:
            add_pattern(&h->excludes, &h->nexcludes, optarg);
            break;
        case OPT_DRIVER:
            driver_flag = true;
            break;
        case OPT_TEST_NAME:
            h->test_name = optarg;
            break;
        case OPT_LOG_FILE:
            h->log_file = optarg;
            break;
        case OPT_TRS_FILE:
            h->trs_file = optarg;
            break;
        case OPT_COLOR_TESTS:
            h->color = yes_no("--color-tests", optarg);
            break;
        case OPT_EXPECT_FAILURE:
            h->expect_failure = yes_no("--expect-failure", optarg);
            break;
        case OPT_HARD_ERRORS:
            h->hard_errors = yes_no("--enable-hard-errors", optarg);
            break;
        case OPT_COLLECT_SKIPPED_LOGS:
            (void)yes_no("--collect-skipped-logs", optarg);
            break;
        case OPT_IGNORE_EXIT:
            h->ignore_exit = true;
            break;
        case OPT_TAP_DRIVER_IGNORED:
            /*
             * tap-driver.sh's: the log always holds both streams, TAP is read
             * from stdout, and comments are not copied to the console, so
             * that --diagnostic-string, their prefix there, has no use.
             */
            break;
        default:
            bad_option(c, argv, before);
        }
    }
    if (h->rerun_failed && h->state_path == NULL)
        usage_error("--rerun-failed needs --state", "try 'ward test --help'");

    if (driver_flag) {
        size_t n;
        char **cmd;

        /* Automake's protocol: one command, three files named. */
        if (h->test_name == NULL || h->log_file == NULL || h->trs_file == NULL)
            usage_error("--automake-driver needs --test-name, --log-file and --trs-file",
                        "see ward(1)");
        if (h->suite_name != NULL)
            usage_error("--automake-driver runs one command", "-f");
        if (optind >= argc)
            usage_error("missing command", "try 'ward test --help'");
        /* What chooses among tests, or writes elsewhere, has no meaning here. */
        if (h->nfilters > 0 || h->nexcludes > 0 || h->rerun_failed || h->repeat > 1 ||
            h->shuffle || h->log_dir != NULL || h->state_path != NULL || h->junit_path != NULL)
            usage_error("--automake-driver runs one command",
                        "no --filter, --exclude, --state, --rerun-failed, --repeat, --shuffle, "
                        "--seed, --log-dir or --junit");
        h->driver = true;
        if (!timeout_given)
            h->timeout = 0;
        /*
         * A drop-in for Automake's test-driver, which judges by the exit
         * code alone: a plain test that prints "1..3" must not become a
         * TAP test.  TAP_LOG_DRIVER passes --tap.
         */
        if (h->tap_mode == TAP_AUTO)
            h->tap_mode = TAP_NEVER;
        n = (size_t)(argc - optind);
        cmd = xcalloc(n + 1, sizeof(*cmd));
        for (size_t i = 0; i < n; i++)
            cmd[i] = xstrdup(argv[optind + (int)i]);
        /* Found as a shell would: a name without a slash is searched in PATH. */
        tests_add(&h->ts, xstrdup(h->test_name), cmd, NULL);
        return;
    }
    if (h->test_name != NULL || h->log_file != NULL || h->trs_file != NULL)
        usage_error("--test-name, --log-file and --trs-file need --automake-driver",
                    "see ward(1)");
    if (h->suite_name == NULL && optind >= argc)
        usage_error("missing test", "try 'ward test --help'");
    for (int i = optind; i < argc; i++)
        add_file(&h->ts, argv[i]);
}

/* ---- choosing and ordering the tests ----------------------------------- */

static bool
selected(const struct harness *h, const char *name)
{
    bool in = h->nfilters == 0;

    for (size_t i = 0; i < h->nfilters && !in; i++)
        in = fnmatch(h->filters[i], name, 0) == 0;
    for (size_t i = 0; i < h->nexcludes && in; i++)
        in = fnmatch(h->excludes[i], name, 0) != 0;
    return in;
}

/*
 * The state file: one line a test, "pass", "fail" or "skip", a blank, and
 * the test's name.  Names with a newline are not recorded.
 */
struct state {
    char **names;
    char *results;   /* 'p', 'f', 's' */
    size_t n, cap;
};

static void
state_set(struct state *st, const char *name, char result)
{
    for (size_t i = 0; i < st->n; i++) {
        if (strcmp(st->names[i], name) == 0) {
            st->results[i] = result;
            return;
        }
    }
    st->names = xgrow(st->names, &st->cap, st->n + 1, sizeof(*st->names));
    st->results = xrealloc(st->results, st->cap);
    st->names[st->n] = xstrdup(name);
    st->results[st->n++] = result;
}

static void
state_load(struct state *st, const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;

    memset(st, 0, sizeof(*st));
    if (f == NULL) {
        /* No state yet: nothing failed last time. */
        if (errno == ENOENT)
            return;
        fatal(EXIT_FAILED, path, strerror(errno));
    }
    while ((len = getline(&line, &cap, f)) != -1) {
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (strncmp(line, "pass ", 5) == 0 || strncmp(line, "fail ", 5) == 0 ||
            strncmp(line, "skip ", 5) == 0)
            state_set(st, line + 5, line[0]);
    }
    free(line);
    fclose(f);
}

static void
state_free(struct state *st)
{
    for (size_t i = 0; i < st->n; i++)
        free(st->names[i]);
    free(st->names);
    free(st->results);
}

/* Did the state say name failed last time? */
static bool
state_failed(const struct state *st, const char *name)
{
    for (size_t i = 0; i < st->n; i++) {
        if (strcmp(st->names[i], name) == 0)
            return st->results[i] == 'f';
    }
    return false;
}

/*
 * Record this run: a test that ran is what its runs say (failed if any
 * failed); the others keep what they had.  Written to a new file renamed
 * over the old one, so that an interrupted write loses nothing.
 */
static void
state_save(struct harness *h)
{
    struct state st, now;
    char *tmp;
    FILE *f;
    int fd;

    /* This run first: one failed run of a test (--repeat) makes it failed. */
    memset(&now, 0, sizeof(now));
    for (size_t i = 0; i < h->ts.n; i++) {
        const struct test *t = &h->ts.v[i];
        char r = t->result == RESULT_FAIL ? 'f' : t->result == RESULT_SKIP ? 's' : 'p';

        if (t->state != TEST_DONE || strchr(t->name, '\n') != NULL ||
            state_failed(&now, t->name))
            continue;
        state_set(&now, t->name, r);
    }
    state_load(&st, h->state_path);
    for (size_t i = 0; i < now.n; i++)
        state_set(&st, now.names[i], now.results[i]);
    state_free(&now);
    tmp = xasprintf("%s.tmp", h->state_path);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) == -1 ||
        (f = fdopen(fd, "w")) == NULL)
        fatal(EXIT_FAILED, tmp, strerror(errno));
    for (size_t i = 0; i < st.n; i++)
        fprintf(f, "%s %s\n",
                st.results[i] == 'f' ? "fail" : st.results[i] == 's' ? "skip" : "pass",
                st.names[i]);
    if (fclose(f) == EOF || rename(tmp, h->state_path) == -1) {
        int err = errno;

        (void)unlink(tmp);
        fatal(EXIT_FAILED, h->state_path, strerror(err));
    }
    free(tmp);
    state_free(&st);
}

/* splitmix64: a small generator whose seed says the whole order. */
static uint64_t
next_random(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/*
 * What to run, in which order: --wrap around every command, the filters,
 * the failures of the last run, --repeat, --shuffle.
 */
static void
choose_tests(struct harness *h)
{
    struct tests kept = { NULL, 0, 0 };
    struct state st;

    if (h->rerun_failed)
        state_load(&st, h->state_path);
    for (size_t i = 0; i < h->ts.n; i++) {
        struct test *t = &h->ts.v[i];

        if (!selected(h, t->name) || (h->rerun_failed && !state_failed(&st, t->name))) {
            test_release(t);
            continue;
        }
        if (h->wrap != NULL) {
            size_t n = 0;
            char **argv;

            while (t->argv[n] != NULL)
                n++;
            argv = xcalloc(h->nwrap + n + 1, sizeof(*argv));
            for (size_t k = 0; k < h->nwrap; k++)
                argv[k] = xstrdup(h->wrap[k]);
            /* The wrapper is given the path the test would have run as. */
            argv[h->nwrap] = t->path != NULL ? t->path : t->argv[0];
            if (t->path != NULL)
                free(t->argv[0]);
            for (size_t k = 1; k < n; k++)
                argv[h->nwrap + k] = t->argv[k];
            free(t->argv);
            t->argv = argv;
            t->path = NULL;
        }
        kept.v = xgrow(kept.v, &kept.cap, kept.n + 1, sizeof(*kept.v));
        kept.v[kept.n++] = *t;
    }
    if (h->rerun_failed)
        state_free(&st);
    free(h->ts.v);
    h->ts = kept;

    if (h->repeat > 1) {
        size_t n = h->ts.n;

        for (long r = 2; r <= h->repeat; r++) {
            for (size_t i = 0; i < n; i++)
                test_dup(&h->ts, &h->ts.v[i], (unsigned)r);
        }
    }
    if (h->shuffle && h->ts.n > 1) {
        uint64_t x = h->seed;

        for (size_t i = h->ts.n - 1; i > 0; i--) {
            size_t j = (size_t)(next_random(&x) % (i + 1));
            struct test tmp = h->ts.v[i];

            h->ts.v[i] = h->ts.v[j];
            h->ts.v[j] = tmp;
        }
    }
}

static void
setup(struct harness *h)
{
    struct sigaction sa;

    /*
     * A closed standard output must not kill ward with SIGPIPE while tests
     * still run; the write error is handled instead.  The tests themselves
     * start with every signal at its default (WARD_RESET_SIGNALS).
     */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) == -1)
        fatal_errno("sigaction");

    if ((h->attr = ward_attr_new()) == NULL ||
        ward_attr_setflags(h->attr, WARD_NEW_PGROUP | WARD_RESET_SIGNALS) == -1 ||
        ward_attr_setstdio(h->attr, STDIN_FILENO, WARD_STDIO_NULL, -1) == -1 ||
        ward_attr_setstdio(h->attr, STDOUT_FILENO, WARD_STDIO_PIPE, -1) == -1 ||
        ward_attr_setstdio(h->attr, STDERR_FILENO, WARD_STDIO_PIPE, -1) == -1)
        fatal_errno("ward_attr");
    h->run = xcalloc((size_t)h->jobs, sizeof(*h->run));
}

static void
write_junit(struct harness *h, double wall, time_t started)
{
    struct tests done = { NULL, 0, 0 };

    /* Only the tests that ran to the end, in order (all of them, unless interrupted). */
    done.v = xcalloc(h->ts.n, sizeof(*done.v));
    for (size_t i = 0; i < h->ts.n; i++) {
        if (h->ts.v[i].state == TEST_DONE)
            done.v[done.n++] = h->ts.v[i];
    }
    junit_write(h->junit, &done, done.n, h->suite_name != NULL ? h->suite_name : "ward",
                wall, started);
    free(done.v);
    if (fclose(h->junit) == EOF) {
        message(h->junit_path, strerror(errno));
        h->out_broken = true;
    }
    h->junit = NULL;
}

/* ---- the Automake test driver ------------------------------------------- */

struct driver_report {
    FILE *trs;               /* the results, written after the verdict */
    char *results;
    size_t results_len;
    bool error, fail, xpass, xfail, skip, all_skip, any;
};

/* One result: a line on standard output, and one in the .trs file. */
static void
driver_result(struct harness *h, struct driver_report *d, const char *res, const char *what)
{
    static const struct { const char *res, *color; } colors[] = {
        { "PASS", "\033[0;32m" },  { "FAIL", "\033[0;31m" }, { "XPASS", "\033[0;31m" },
        { "XFAIL", "\033[1;32m" }, { "SKIP", "\033[1;34m" }, { "ERROR", "\033[0;35m" },
    };
    const char *col = "";

    for (size_t i = 0; i < sizeof(colors) / sizeof(colors[0]) && h->color; i++) {
        if (strcmp(colors[i].res, res) == 0)
            col = colors[i].color;
    }
    printf("%s%s%s: ", col, res, h->color ? "\033[m" : "");
    clean_text(stdout, h->test_name, strlen(h->test_name));
    if (what != NULL) {
        putchar(' ');
        clean_text(stdout, what, strlen(what));
    }
    putchar('\n');
    /* Only the result: automake's drivers keep the details on the console and in the log. */
    fprintf(d->trs, ":test-result: %s\n", res);
    d->error = d->error || strcmp(res, "ERROR") == 0;
    d->fail = d->fail || strcmp(res, "FAIL") == 0;
    d->xpass = d->xpass || strcmp(res, "XPASS") == 0;
    d->xfail = d->xfail || strcmp(res, "XFAIL") == 0;
    d->skip = d->skip || strcmp(res, "SKIP") == 0;
    d->all_skip = (d->all_skip || !d->any) && strcmp(res, "SKIP") == 0;
    d->any = true;
}

/* Automake's --expect-failure turns passes into XPASS and failures into XFAIL. */
static const char *
expected(const struct harness *h, const char *res)
{
    if (!h->expect_failure)
        return res;
    return strcmp(res, "PASS") == 0 ? "XPASS" : strcmp(res, "FAIL") == 0 ? "XFAIL" : res;
}

/* A TAP program's results, as automake's tap-driver.sh reports them. */
static void
driver_tap(struct harness *h, struct driver_report *d, const struct test *t)
{
    const struct tapr *r = &t->tap;
    size_t upto = r->bailed ? r->bail_at : r->n;
    char *what;

    /* tap-driver.sh reads nothing after a bail out. */
    for (size_t i = 0; i < upto; i++) {
        const struct tap_result *x = &r->v[i];
        const char *res;
        char *details;

        if (x->unplanned || x->after_late_plan || x->number != (long)i + 1)
            res = "ERROR";
        else if (x->directive == TAP_TODO)
            res = x->ok ? "XPASS" : "XFAIL";
        else if (x->directive == TAP_SKIP)
            res = x->ok ? "SKIP" : expected(h, "FAIL");
        else
            res = expected(h, x->ok ? "PASS" : "FAIL");
        details = xasprintf("%ld%s%s", x->number, x->description[0] != '\0' ? " " : "",
                            x->description);
        if (x->after_late_plan)
            what = xasprintf("%s # AFTER LATE PLAN", details);
        else if (x->unplanned)
            what = xasprintf("%s # UNPLANNED", details);
        else if (x->number != (long)i + 1)
            what = xasprintf("%s # OUT-OF-ORDER (expecting %zu)", details, i + 1);
        else if (x->directive != TAP_NONE)
            what = xasprintf("%s # %s%s%s", details, x->directive == TAP_SKIP ? "SKIP" : "TODO",
                             x->reason[0] != '\0' ? " " : "", x->reason);
        else
            what = xstrdup(details);
        driver_result(h, d, res, what);
        free(what);
        free(details);
    }
    if (r->skip_all && upto == 0 && r->plan == 0 && !r->multiple_plans) {
        what = xasprintf("- %s", r->skip_reason);
        driver_result(h, d, "SKIP", what);
        free(what);
    }
    if (r->multiple_plans)
        driver_result(h, d, "ERROR", "- multiple test plans");
    if (r->bailed) {
        what = r->bail_reason[0] != '\0' ? xasprintf("- Bail out! %s", r->bail_reason)
                                         : xstrdup("- Bail out!");
        driver_result(h, d, "ERROR", what);
        free(what);
        return;
    }
    if (r->plan < 0) {
        driver_result(h, d, "ERROR", "- missing test plan");
    } else if ((size_t)r->plan != r->n) {
        what = xasprintf("- too %s tests run (expected %ld, got %zu)",
                         r->n > (size_t)r->plan ? "many" : "few", r->plan, r->n);
        driver_result(h, d, "ERROR", what);
        free(what);
    }
    if (h->ignore_exit)
        return;
    /* The exit status as a shell would give it to tap-driver.sh. */
    if (t->spawn_err != 0 || t->status == -1 || t->timed_out) {
        char *why = test_describe(t);

        what = xasprintf("- %s", why);
        driver_result(h, d, "ERROR", what);
        free(what);
        free(why);
    } else if (WIFEXITED(t->status) && WEXITSTATUS(t->status) != 0) {
        int st = WEXITSTATUS(t->status);

        what = xasprintf("- exited with status %d%s", st,
                         st == 127 ? " (command not found?)" : "");
        driver_result(h, d, "ERROR", what);
        free(what);
    } else if (WIFSIGNALED(t->status)) {
        what = xasprintf("- exited with status %d (terminated by signal %d?)",
                         128 + WTERMSIG(t->status), WTERMSIG(t->status));
        driver_result(h, d, "ERROR", what);
        free(what);
    }
}

/*
 * Write the .trs file and the results on standard output, as automake's
 * test-driver (a plain test) or tap-driver.sh (a TAP test) would.
 */
static int
driver_finish(struct harness *h)
{
    struct test *t = &h->ts.v[0];
    struct driver_report d;
    const char *global;
    bool recheck, copy;
    int fd;

    memset(&d, 0, sizeof(d));
    if ((d.trs = open_memstream(&d.results, &d.results_len)) == NULL)
        fatal_errno("open_memstream");
    if (t->is_tap) {
        driver_tap(h, &d, t);
        /* tap-driver.sh's verdict from the results seen. */
        if (d.error)
            global = "ERROR";
        else if (d.fail || d.xpass)
            global = "FAIL";
        else if (d.any && d.all_skip)
            global = "SKIP";
        else
            global = "PASS";
        recheck = d.error || d.fail || d.xpass;
        copy = d.error || d.fail || d.xpass || d.xfail || d.skip;
    } else {
        /* test-driver's table, from the exit status. */
        if (t->result == RESULT_PASS)
            global = expected(h, "PASS");
        else if (t->result == RESULT_SKIP)
            global = "SKIP";
        else if (h->hard_errors && t->status != -1 && !t->timed_out && t->spawn_err == 0 &&
                 WIFEXITED(t->status) && WEXITSTATUS(t->status) == 99)
            global = "ERROR";
        else
            global = expected(h, "FAIL");
        driver_result(h, &d, global, NULL);
        recheck = strcmp(global, "FAIL") == 0 || strcmp(global, "XPASS") == 0 ||
                  strcmp(global, "ERROR") == 0;
        copy = strcmp(global, "PASS") != 0;
    }
    if (fclose(d.trs) == EOF)
        fatal_errno("open_memstream");
    /* In the order of tap-driver.sh: the verdict, then each result. */
    if ((fd = open(h->trs_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) == -1 ||
        (d.trs = fdopen(fd, "w")) == NULL)
        fatal(EXIT_FAILED, h->trs_file, strerror(errno));
    if (t->is_tap)
        fprintf(d.trs, ":global-test-result: %s\n:recheck: %s\n:copy-in-global-log: %s\n",
                global, recheck ? "yes" : "no", copy ? "yes" : "no");
    fwrite(d.results, 1, d.results_len, d.trs);
    /* ...and in the order of test-driver. */
    if (!t->is_tap)
        fprintf(d.trs, ":global-test-result: %s\n:recheck: %s\n:copy-in-global-log: %s\n",
                global, recheck ? "yes" : "no", copy ? "yes" : "no");
    free(d.results);
    if (fclose(d.trs) == EOF)
        fatal(EXIT_FAILED, h->trs_file, strerror(errno));
    return 0;
}

/* ---- the whole run -------------------------------------------------------- */

static void
print_summary(struct harness *h, double wall)
{
    char *line;

    if (h->stop_sig > 0) {
        const char *name = signal_name(h->stop_sig);

        printf("Bail out! interrupted by SIG%s\n", name != NULL ? name : "?");
    } else if (h->bailed != NULL) {
        fputs("Bail out! ", stdout);
        tap_name_out(stdout, h->bailed->name);
        fputs(": ", stdout);
        clean_text(stdout, h->bailed->tap.bail_reason, strlen(h->bailed->tap.bail_reason));
        putchar('\n');
    }
    line = xasprintf("%zu passed, %zu failed%s", h->passed, h->failed, "");
    printf("# %s", line);
    if (h->skipped > 0)
        printf(", %zu skipped", h->skipped);
    if (h->subtests > 0 || h->subtests_failed > 0) {
        printf("; %zu subtests, %zu failed", h->subtests, h->subtests_failed);
        if (h->todo_passed > 0)
            printf(", %zu TODO passed", h->todo_passed);
    }
    putchar('\n');
    free(line);
    line = xasprintf("ward test: %zu passed, %zu failed, %zu skipped in %.1fs\n", h->passed,
                     h->failed, h->skipped, wall);
    progress_finish(line);
    free(line);
}

int
test_main(int argc, char **argv)
{
    static const int caught[] = { SIGINT, SIGTERM, SIGHUP };
    struct harness h;
    time_t started = time(NULL);
    nsec_t t0;
    int sigfd, evfd, status;
    long cpus;

    memset(&h, 0, sizeof(h));
    h.timeout = 60 * NSEC_PER_SEC;
    h.kill_after = 1 * NSEC_PER_SEC;
    h.repeat = 1;
    h.hard_errors = true;
    cpus = sysconf(_SC_NPROCESSORS_ONLN);
    h.jobs = cpus > 0 ? cpus : 1;
    parse_options(&h, argc, argv);
    if (h.shuffle && !h.seed_given)
        h.seed = (unsigned long)(((uint64_t)now_ns() ^ ((uint64_t)getpid() << 32)) % LONG_MAX);
    choose_tests(&h);
    if (h.log_dir != NULL && mkdir(h.log_dir, 0777) == -1 && errno != EEXIST)
        fatal(EXIT_FAILED, h.log_dir, strerror(errno));
    if (h.log_dir != NULL)
        name_logs(&h);
    if (h.junit_path != NULL) {
        int fd = open(h.junit_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);

        if (fd == -1 || (h.junit = fdopen(fd, "w")) == NULL)
            fatal(EXIT_FAILED, h.junit_path, strerror(errno));
    }
    setup(&h);
    sigfd = sigpipe_open(caught, sizeof(caught) / sizeof(caught[0]));
    if ((evfd = ward_events_fd()) == -1)
        fatal_errno("ward_events_fd");
    progress_init();

    t0 = now_ns();
    if (!h.driver) {
        tap_plan(stdout, h.ts.n);
        if (h.shuffle)
            printf("# shuffled with --seed=%lu\n", h.seed);
    }
    loop(&h, sigfd, evfd);
    progress_clear();

    if (h.driver && h.stop_sig == 0 && h.ts.n == 1 && h.ts.v[0].state == TEST_DONE) {
        (void)driver_finish(&h);
        if (fflush(stdout) == EOF || ferror(stdout)) {
            message("standard output", strerror(errno));
            h.out_broken = true;
        }
    } else if (!h.out_broken && !h.driver) {
        print_summary(&h, ns_to_sec(now_ns() - t0));
        if (fflush(stdout) == EOF || ferror(stdout)) {
            message("standard output", strerror(errno));
            h.out_broken = true;
        }
    }
    if (h.junit != NULL)
        write_junit(&h, ns_to_sec(now_ns() - t0), started);
    if (h.state_path != NULL && !h.driver)
        state_save(&h);

    /*
     * An interrupted driver leaves no log and no .trs, as Automake's
     * test-driver: a half log without its result must not look up to date
     * to make, and the test runs again next time.
     */
    if (h.driver && h.stop_sig > 0) {
        (void)unlink(h.log_file);
        (void)unlink(h.trs_file);
    }
    if (h.stop_sig > 0)
        status = 128 + h.stop_sig;
    else if (h.out_broken)
        status = EXIT_FAILED;
    else if (h.driver)
        status = 0;
    else
        status = h.failed > 0 ? 1 : 0;

    for (size_t i = 0; i < h.ts.n; i++)
        test_release(&h.ts.v[i]);
    for (size_t i = 0; i < h.nwrap; i++)
        free(h.wrap[i]);
    free(h.wrap);
    free(h.filters);
    free(h.excludes);
    free(h.ts.v);
    free(h.run);
    free(h.pfd);
    free(h.pfd_tail);
    ward_attr_free(h.attr);
    return status;
}
