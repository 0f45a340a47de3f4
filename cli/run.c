/*
 * run.c - "ward run": run one command as a private child in its own process
 * group, with an optional timeout, and exit as it did.
 *
 * The exit statuses follow timeout(1): the command's exit code, 128+N if it
 * was killed by signal N, 124 if it timed out (137 if it had to be killed
 * with SIGKILL), 125 if ward failed, 126 if the command could not be run and
 * 127 if it was not found.  Bad usage exits 2.
 *
 * One poll() loop waits for three things: the child's exit (ward's events
 * descriptor), a signal sent to ward (a self-pipe), and the next deadline.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ward.h"

struct run {
    char **argv;          /* the command */
    nsec_t timeout;       /* 0: none */
    nsec_t kill_after;    /* 0: never escalate to SIGKILL */
    int sig;              /* sent on timeout */
    bool json;
    const char *json_path;
    FILE *json_out;
    ward_child *child;
    pid_t pid;
    bool timed_out;       /* the timeout expired */
    bool signalled;       /* a signal sent to ward was passed on */
    bool killed;          /* SIGKILL was sent after --kill-after */
    nsec_t start, end;
};

void
run_usage(FILE *out)
{
    fputs("usage: ward run [OPTION...] [--] COMMAND [ARG...]\n"
          "\n"
          "Run COMMAND as a private child in its own process group and exit as\n"
          "it did: its exit code, or 128+N if signal N killed it.\n"
          "\n"
          "  -t, --timeout DUR     send SIGNAL to the group after DUR; exit 124\n"
          "  -k, --kill-after DUR  then send KILL if it still runs after DUR\n"
          "  -s, --signal SIG      the signal sent on timeout (default TERM)\n"
          "      --json            print a JSON report on standard error\n"
          "      --json-file FILE  write the JSON report to FILE\n"
          "  -h, --help            show this help\n"
          "\n"
          "DUR is a number of seconds, or a number with a unit: ms, s, m, h, d\n"
          "(10, 1.5, 500ms, 2m); 0 disables.  Exit status: the command's, or\n"
          "124 on timeout (137 if KILL was needed), 125 if ward failed, 126 if\n"
          "COMMAND could not be run, 127 if it was not found, 2 for bad usage.\n",
          out);
}

int
spawn_exit_status(int err)
{
    switch (err) {
    case ENOENT:
        return EXIT_ENOENT;
    case EAGAIN:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case EINVAL:
        return EXIT_FAILED;
    default:
        return EXIT_CANNOT;
    }
}

/* Signal the child's process group; an ended child is not an error. */
static void
signal_group(struct run *r, int sig)
{
    if (ward_killpg(r->child, sig) == -1 && errno != ESRCH) {
        const char *name = signal_name(sig);
        char *cause = xasprintf("cannot send SIG%s to %s", name ? name : "?",
                                r->argv[0]);

        message(cause, strerror(errno));
        free(cause);
    }
}

/* Send sig, and SIGCONT after it so that a stopped group can act on it. */
static void
deliver(struct run *r, int sig, nsec_t *kill_deadline)
{
    signal_group(r, sig);
    if (sig != SIGKILL && sig != SIGCONT)
        signal_group(r, SIGCONT);
    if (r->kill_after > 0 && sig != SIGKILL && *kill_deadline == NSEC_NEVER)
        *kill_deadline = deadline_after(r->kill_after);
}

/*
 * Wait for the child, passing on signals and enforcing the deadlines.
 * Returns its wait status.
 */
static int
wait_child(struct run *r, int sigfd, int evfd)
{
    nsec_t deadline = r->timeout > 0 ? deadline_after(r->timeout) : NSEC_NEVER;
    nsec_t kill_deadline = NSEC_NEVER;
    int status;

    for (;;) {
        struct pollfd pfd[2] = {
            { .fd = sigfd, .events = POLLIN },
            { .fd = evfd, .events = POLLIN },
        };
        nsec_t next, now;
        int sig;

        if (ward_trywait(r->child, &status) == 0)
            return status;
        if (errno != EAGAIN)
            fatal(EXIT_FAILED, "cannot wait for the command", strerror(errno));

        next = r->timed_out ? NSEC_NEVER : deadline;
        if (kill_deadline < next)
            next = kill_deadline;
        if (poll(pfd, 2, poll_timeout(next)) == -1) {
            if (errno == EINTR)
                continue;
            fatal_errno("poll");
        }
        while ((sig = sigpipe_read()) != 0) {
            r->signalled = true;
            deliver(r, sig, &kill_deadline);
        }
        /* Reap what has ended; the events descriptor stays readable until then. */
        if ((pfd[1].revents & POLLIN) && ward_dispatch() == -1)
            fatal_errno("ward_dispatch");

        now = now_ns();
        if (!r->timed_out && now >= deadline) {
            r->timed_out = true;
            deliver(r, r->sig, &kill_deadline);
        }
        if (now >= kill_deadline) {
            r->killed = true;
            signal_group(r, SIGKILL);
            kill_deadline = NSEC_NEVER;
        }
    }
}

/*
 * After a timeout or a signal, kill what is left of the group once its
 * leader has ended, so that no process outlives ward.  The leader is reaped
 * by now, so ward_killpg() refuses; kill() on the group id is still safe in
 * practice: the id stays reserved while any member lives, and once the group
 * is empty the number can only come back after the kernel's pid counter has
 * wrapped around, and then only as a new group's leader.
 */
static void
sweep_group(struct run *r)
{
    if (kill(-r->pid, SIGKILL) == -1 && errno != ESRCH && errno != EPERM)
        message("cannot kill the rest of the process group", strerror(errno));
}

static void
json_time(FILE *out, const char *key, const struct timeval *tv)
{
    fprintf(out, ",\"%s\":%ld.%06ld", key, (long)tv->tv_sec, (long)tv->tv_usec);
}

/* The JSON report: one object on one line.  status is -1 if spawn failed. */
static void
report_json(struct run *r, int status, int err, int exit_status)
{
    FILE *out = r->json_out;
    struct rusage ru;
    bool have_ru = status != -1 && ward_rusage(r->child, &ru) == 0;

    fputs("{\"command\":[", out);
    for (char **a = r->argv; *a != NULL; a++) {
        if (a != r->argv)
            putc(',', out);
        json_string(out, *a);
    }
    putc(']', out);
    if (status == -1) {
        fputs(",\"pid\":null,\"error\":", out);
        json_string(out, strerror(err));
    } else {
        fprintf(out, ",\"pid\":%ld,\"error\":null", (long)r->pid);
    }
    if (status != -1 && WIFEXITED(status))
        fprintf(out, ",\"exit_code\":%d", WEXITSTATUS(status));
    else
        fputs(",\"exit_code\":null", out);
    if (status != -1 && WIFSIGNALED(status)) {
        const char *name = signal_name(WTERMSIG(status));

        fprintf(out, ",\"signal\":%d,\"signal_name\":", WTERMSIG(status));
        if (name != NULL)
            json_string(out, name);
        else
            fputs("null", out);
    } else {
        fputs(",\"signal\":null,\"signal_name\":null", out);
    }
    fprintf(out, ",\"core_dumped\":%s,\"timed_out\":%s,\"killed\":%s",
            status != -1 && WIFSIGNALED(status) && WCOREDUMP(status) ? "true" : "false",
            r->timed_out ? "true" : "false", r->killed ? "true" : "false");
    if (status != -1)
        fprintf(out, ",\"wall_time\":%.6f", ns_to_sec(r->end - r->start));
    else
        fputs(",\"wall_time\":null", out);
    if (have_ru) {
        json_time(out, "user_time", &ru.ru_utime);
        json_time(out, "system_time", &ru.ru_stime);
        fprintf(out, ",\"max_rss_kib\":%ld", (long)ru.ru_maxrss);
    } else {
        fputs(",\"user_time\":null,\"system_time\":null,\"max_rss_kib\":null", out);
    }
    fprintf(out, ",\"exit_status\":%d}\n", exit_status);
    if (fflush(out) == EOF || ferror(out))
        message(r->json_path != NULL ? r->json_path : "standard error",
                strerror(errno));
}

static FILE *
open_json(const char *path)
{
    FILE *f;
    int fd;

    if (path == NULL)
        return stderr;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd == -1)
        fatal(EXIT_FAILED, path, strerror(errno));
    if ((f = fdopen(fd, "w")) == NULL)
        fatal(EXIT_FAILED, path, strerror(errno));
    return f;
}

static void
parse_options(struct run *r, int argc, char **argv)
{
    enum { OPT_JSON = 256, OPT_JSON_FILE };
    static const struct option longopts[] = {
        { "timeout", required_argument, NULL, 't' },
        { "kill-after", required_argument, NULL, 'k' },
        { "signal", required_argument, NULL, 's' },
        { "json", no_argument, NULL, OPT_JSON },
        { "json-file", required_argument, NULL, OPT_JSON_FILE },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    /* "+": stop at the command, whose own options are not ours. */
    optind = 1;
    for (;;) {
        int before = optind;

        if ((c = getopt_long(argc, argv, "+:t:k:s:h", longopts, NULL)) == -1)
            break;
        switch (c) {
        case 't':
            r->timeout = duration_arg("--timeout", optarg);
            break;
        case 'k':
            r->kill_after = duration_arg("--kill-after", optarg);
            break;
        case 's':
            if ((r->sig = parse_signal(optarg)) == -1)
                usage_error("invalid signal", optarg);
            break;
        case OPT_JSON:
            r->json = true;
            break;
        case OPT_JSON_FILE:
            r->json = true;
            r->json_path = optarg;
            break;
        case 'h':
            run_usage(stdout);
            exit(fflush(stdout) == 0 ? 0 : EXIT_FAILED);
        default:
            bad_option(c, argv, before);
        }
    }
    if (optind >= argc)
        usage_error("missing command", "try 'ward run --help'");
    r->argv = argv + optind;
}

int
run_main(int argc, char **argv)
{
    static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP };
    struct run r;
    ward_attr *attr;
    int sigfd, evfd, status, exit_status;

    memset(&r, 0, sizeof(r));
    r.sig = SIGTERM;
    parse_options(&r, argc, argv);
    if (r.json)
        r.json_out = open_json(r.json_path);

    /* Catch the signals to pass on before the child exists: none is lost. */
    sigfd = sigpipe_open(forwarded, sizeof(forwarded) / sizeof(forwarded[0]));
    if ((evfd = ward_events_fd()) == -1)
        fatal_errno("ward_events_fd");
    if ((attr = ward_attr_new()) == NULL)
        fatal_errno("ward_attr_new");
    /*
     * The JSON report gives the child's CPU times: ask for a child whose
     * resource usage is kept.  Only with the experimental WARD_AUTOREAP
     * opt-in on Linux 7.1 and later does ward_spawn() otherwise make one
     * the kernel reaps itself, which keeps none; by default every child's
     * is kept and the flag changes nothing.
     */
    if (ward_attr_setflags(attr, WARD_NEW_PGROUP | (r.json ? WARD_RUSAGE : 0)) == -1)
        fatal_errno("ward_attr_setflags");

    r.start = now_ns();
    r.child = ward_spawn(NULL, r.argv, attr);
    ward_attr_free(attr);
    if (r.child == NULL) {
        int err = errno;

        exit_status = spawn_exit_status(err);
        message(r.argv[0], strerror(err));
        if (r.json)
            report_json(&r, -1, err, exit_status);
        return exit_status;
    }
    r.pid = ward_pid(r.child);

    status = wait_child(&r, sigfd, evfd);
    r.end = now_ns();
    if (r.timed_out || r.signalled)
        sweep_group(&r);

    if (WIFEXITED(status))
        exit_status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        exit_status = 128 + WTERMSIG(status);
    else
        exit_status = EXIT_FAILED;
    /* As timeout(1): 124 on timeout, unless KILL was needed in the end. */
    if (r.timed_out)
        exit_status = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL
                          ? 128 + SIGKILL
                          : EXIT_TIMEDOUT;
    if (r.json) {
        report_json(&r, status, 0, exit_status);
        if (r.json_out != stderr && fclose(r.json_out) == EOF)
            message(r.json_path, strerror(errno));
    }
    ward_free(r.child);
    return exit_status;
}
