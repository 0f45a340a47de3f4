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
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
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
};

void
test_usage(FILE *out)
{
    fputs("usage: ward test [OPTION...] FILE...\n"
          "       ward test [OPTION...] -f SUITE\n"
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
    t->state = TEST_PENDING;
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
    t->name = t->path = t->out.buf = t->err.buf = NULL;
    t->argv = NULL;
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

/* Read what a pipe holds now; close it at end of file or on an error. */
static void
read_stream(struct tail *tl)
{
    char chunk[16384];
    ssize_t n;

    while ((n = read(tl->fd, chunk, sizeof(chunk))) == -1 && errno == EINTR)
        ;
    if (n > 0)
        tail_append(tl, chunk, (size_t)n);
    else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
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

static void
finish_test(struct harness *h, struct test *t)
{
    close_stream(&t->out);
    close_stream(&t->err);
    ward_free(t->child);
    t->child = NULL;
    t->state = TEST_DONE;
    if (t->spawn_err != 0 || t->status == -1 || t->timed_out)
        t->result = RESULT_FAIL;
    else if (WIFEXITED(t->status) && WEXITSTATUS(t->status) == 0)
        t->result = RESULT_PASS;
    else if (WIFEXITED(t->status) && WEXITSTATUS(t->status) == EXIT_SKIP)
        t->result = RESULT_SKIP;
    else
        t->result = RESULT_FAIL;
    h->ndone++;
    h->passed += t->result == RESULT_PASS;
    h->failed += t->result == RESULT_FAIL;
    h->skipped += t->result == RESULT_SKIP;
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

static void
start_test(struct harness *h, struct test *t)
{
    t->start = now_ns();
    t->deadline = h->timeout > 0 ? deadline_after(h->timeout) : NSEC_NEVER;
    t->kill_deadline = t->drain_deadline = NSEC_NEVER;
    t->child = ward_spawn(t->path, t->argv, h->attr);
    if (t->child == NULL) {
        /* Not found, not executable...: the test fails, the run goes on. */
        t->spawn_err = errno;
        t->end = t->start;
        finish_test(h, t);
        return;
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

static void
show_progress(struct harness *h)
{
    progress_update("ward test: %zu/%zu done, %zu running, %zu failed", h->ndone,
                    h->ts.n, h->nrun, h->failed);
}

static void
loop(struct harness *h, int sigfd, int evfd)
{
    for (;;) {
        size_t np = 2;
        nsec_t next;
        int sig;

        while (h->stop_sig == 0 && h->nrun < (size_t)h->jobs && h->next < h->ts.n)
            start_test(h, &h->ts.v[h->next++]);
        print_ready(h);
        show_progress(h);
        if (h->nrun == 0 && (h->next == h->ts.n || h->stop_sig != 0))
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

static void
parse_options(struct harness *h, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "file", required_argument, NULL, 'f' },
        { "jobs", required_argument, NULL, 'j' },
        { "timeout", required_argument, NULL, 't' },
        { "kill-after", required_argument, NULL, 'k' },
        { "junit", required_argument, NULL, 'J' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    optind = 1;
    for (;;) {
        int before = optind;

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
            break;
        case 'k':
            h->kill_after = duration_arg("--kill-after", optarg);
            break;
        case 'J':
            h->junit_path = optarg;
            break;
        case 'v':
            h->verbose = true;
            break;
        case 'h':
            test_usage(stdout);
            exit(fflush(stdout) == 0 ? 0 : EXIT_FAILED);
        default:
            bad_option(c, argv, before);
        }
    }
    if (h->suite_name == NULL && optind >= argc)
        usage_error("missing test", "try 'ward test --help'");
    for (int i = optind; i < argc; i++)
        add_file(&h->ts, argv[i]);
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
    cpus = sysconf(_SC_NPROCESSORS_ONLN);
    h.jobs = cpus > 0 ? cpus : 1;
    parse_options(&h, argc, argv);
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
    tap_plan(stdout, h.ts.n);
    loop(&h, sigfd, evfd);
    progress_clear();

    if (!h.out_broken) {
        if (h.stop_sig > 0) {
            const char *name = signal_name(h.stop_sig);

            printf("Bail out! interrupted by SIG%s\n", name != NULL ? name : "?");
        }
        printf("# %zu passed, %zu failed", h.passed, h.failed);
        if (h.skipped > 0)
            printf(", %zu skipped", h.skipped);
        putchar('\n');
        if (fflush(stdout) == EOF || ferror(stdout)) {
            message("standard output", strerror(errno));
            h.out_broken = true;
        }
    }
    if (h.junit != NULL)
        write_junit(&h, ns_to_sec(now_ns() - t0), started);

    if (h.stop_sig > 0)
        status = 128 + h.stop_sig;
    else if (h.out_broken)
        status = EXIT_FAILED;
    else
        status = h.failed > 0 ? 1 : 0;

    for (size_t i = 0; i < h.ts.n; i++)
        test_release(&h.ts.v[i]);
    free(h.ts.v);
    free(h.run);
    free(h.pfd);
    free(h.pfd_tail);
    ward_attr_free(h.attr);
    return status;
}
