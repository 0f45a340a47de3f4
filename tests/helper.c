/*
 * helper - the child program of the test suite.
 *
 * The tests need a child that starts fast (the stress test runs thousands)
 * and that can report what it was given: its environment, working directory,
 * umask, descriptors, signal mask and dispositions, process ids.  /bin/sh
 * can do some of that, but slowly and not all of it, so this program runs a
 * list of operations taken from its arguments, in order:
 *
 *   N               (a bare number) exit with status N at once
 *   exit N          exit with status N
 *   sleep MS        sleep MS milliseconds (resumed after a signal)
 *   spin MS         use MS milliseconds of CPU time
 *   cpu N           run on CPU N only from now on (exit 125 if refused)
 *   ignore SIG      set SIG to SIG_IGN
 *   raise SIG       unblock SIG, reset it to SIG_DFL and raise it
 *   echo STR        write STR and a newline to stdout
 *   echoerr STR     write STR and a newline to stderr
 *   writefd FD STR  write STR and a newline to descriptor FD
 *   cat             copy stdin to stdout until end of file
 *   argv            print every argument as "argv[I]=S"
 *   env NAME        print "NAME=VALUE" or "NAME unset"
 *   environ         print every environment string on its own line
 *   cwd             print the working directory
 *   umask           print the umask as four octal digits
 *   fds             print "fds:" and every open descriptor, ascending
 *   fdinfo FD       print "fd FD DEV:INO ACC" (ACC r, w or rw) or "fd FD closed"
 *   sigmask         print "mask:" and every blocked signal
 *   sigign          print "ign:" and every ignored signal
 *   ids             print "pid P ppid Q pgid G sid S"
 *   grandchild MS   fork a child that sleeps MS ms and exits 0 (reset to
 *                   default signal handling); print "grandchild PID"
 *   outfd FD        send what later operations print to descriptor FD
 *                   in place of stdout
 *
 * A signal SIG is a number or one of HUP INT TERM KILL USR1 USR2 PIPE STOP
 * CONT ALRM CHLD.  Output goes straight to the descriptors with write(), so
 * nothing sits in a stdio buffer when the process is killed.  Signals are
 * listed from 1 to 31 and SIGRTMIN to SIGRTMAX, leaving out what the C
 * library keeps for itself.  The program exits 0 after the last operation and
 * 125 on a bad argument (the tests never expect 125).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Where the operations print: stdout, unless "outfd" changed it. */
static int o = 1;

static void put(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

static void out(int fd, const char *s)
{
    put(fd, s, strlen(s));
}

static void outln(int fd, const char *s)
{
    out(fd, s);
    put(fd, "\n", 1);
}

static void bad(const char *what, const char *arg)
{
    out(2, "helper: bad ");
    out(2, what);
    out(2, ": ");
    outln(2, arg ? arg : "(missing)");
    _exit(125);
}

static long number(const char *s)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0')
        bad("number", s);
    errno = 0;
    v = strtol(s, &end, 0);
    if (errno != 0 || *end != '\0')
        bad("number", s);
    return v;
}

static const struct {
    const char *name;
    int sig;
} signames[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"TERM", SIGTERM},
    {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"STOP", SIGSTOP}, {"CONT", SIGCONT},
    {"ALRM", SIGALRM}, {"CHLD", SIGCHLD},
};

static int signum(const char *s)
{
    size_t i;

    if (s == NULL)
        bad("signal", s);
    for (i = 0; i < sizeof signames / sizeof signames[0]; i++)
        if (strcmp(s, signames[i].name) == 0)
            return signames[i].sig;
    return (int)number(s);
}

static void sleep_ms(long ms)
{
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static double cputime(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Where spin_ms() leaves its sums, so that the loop is not optimised away. */
static volatile unsigned long spin_sink;

static void spin_ms(long ms)
{
    double end = cputime() + (double)ms / 1000.0;

    while (cputime() < end)
        for (int i = 0; i < 10000; i++)
            spin_sink += (unsigned long)i;
}

/* The signals worth listing: the classic ones and the real-time range. */
static int listed(int sig)
{
    return (sig >= 1 && sig <= 31) || (sig >= SIGRTMIN && sig <= SIGRTMAX);
}

static void print_mask(void)
{
    sigset_t set;
    char buf[16];

    sigprocmask(SIG_SETMASK, NULL, &set);
    out(o, "mask:");
    for (int sig = 1; sig < NSIG; sig++) {
        if (listed(sig) && sigismember(&set, sig) == 1) {
            snprintf(buf, sizeof buf, " %d", sig);
            out(o, buf);
        }
    }
    out(o, "\n");
}

static void print_ignored(void)
{
    struct sigaction sa;
    char buf[16];

    out(o, "ign:");
    for (int sig = 1; sig < NSIG; sig++) {
        if (!listed(sig) || sigaction(sig, NULL, &sa) < 0)
            continue;
        if (!(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_IGN) {
            snprintf(buf, sizeof buf, " %d", sig);
            out(o, buf);
        }
    }
    out(o, "\n");
}

static void print_fds(void)
{
    char buf[32];
    int max = (int)sysconf(_SC_OPEN_MAX);
    DIR *d = opendir("/proc/self/fd");

    out(o, "fds:");
    if (d != NULL) {
        /* /proc lists in ascending order; skip the directory's own fd. */
        int self = dirfd(d), n = 0, fds[4096];
        struct dirent *e;

        while ((e = readdir(d)) != NULL && n < 4096) {
            if (e->d_name[0] == '.')
                continue;
            int fd = atoi(e->d_name);
            if (fd != self)
                fds[n++] = fd;
        }
        closedir(d);
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                if (fds[j] < fds[i]) {
                    int t = fds[i];
                    fds[i] = fds[j];
                    fds[j] = t;
                }
        for (int i = 0; i < n; i++) {
            snprintf(buf, sizeof buf, " %d", fds[i]);
            out(o, buf);
        }
    } else {
        if (max < 0 || max > 65536)
            max = 65536;
        for (int fd = 0; fd < max; fd++) {
            if (fcntl(fd, F_GETFD) >= 0) {
                snprintf(buf, sizeof buf, " %d", fd);
                out(o, buf);
            }
        }
    }
    out(o, "\n");
}

static void print_fdinfo(int fd)
{
    struct stat st;
    char buf[128];
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fstat(fd, &st) < 0) {
        snprintf(buf, sizeof buf, "fd %d closed\n", fd);
        out(o, buf);
        return;
    }
    fl &= O_ACCMODE;
    snprintf(buf, sizeof buf, "fd %d %llu:%llu %s\n", fd,
             (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
             fl == O_RDONLY ? "r" : fl == O_WRONLY ? "w" : "rw");
    out(o, buf);
}

static void grandchild(long ms)
{
    char buf[64];
    pid_t pid = fork();

    if (pid < 0) {
        outln(2, "helper: fork failed");
        _exit(124);
    }
    if (pid == 0) {
        sigset_t none;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < NSIG; sig++)
            if (listed(sig) && sig != SIGKILL && sig != SIGSTOP)
                signal(sig, SIG_DFL);
        sleep_ms(ms);
        _exit(0);
    }
    snprintf(buf, sizeof buf, "grandchild %ld\n", (long)pid);
    out(o, buf);
}

int main(int argc, char **argv)
{
    char buf[PATH_MAX + 64];

    if (argc == 2 && argv[1][0] >= '0' && argv[1][0] <= '9')
        return (int)number(argv[1]);

    for (int i = 1; i < argc; i++) {
        const char *op = argv[i];
        const char *a1 = i + 1 < argc ? argv[i + 1] : NULL;

        if (op[0] >= '0' && op[0] <= '9') {
            _exit((int)number(op));
        } else if (strcmp(op, "exit") == 0) {
            _exit((int)number(a1));
        } else if (strcmp(op, "sleep") == 0) {
            sleep_ms(number(a1));
            i++;
        } else if (strcmp(op, "spin") == 0) {
            spin_ms(number(a1));
            i++;
        } else if (strcmp(op, "cpu") == 0) {
            cpu_set_t set;
            long n = number(a1);

            if (n < 0 || n >= CPU_SETSIZE)
                _exit(125);
            CPU_ZERO(&set);
            CPU_SET((int)n, &set);
            if (sched_setaffinity(0, sizeof(set), &set) < 0)
                _exit(125);
            i++;
        } else if (strcmp(op, "ignore") == 0) {
            signal(signum(a1), SIG_IGN);
            i++;
        } else if (strcmp(op, "raise") == 0) {
            int sig = signum(a1);
            sigset_t set;

            sigemptyset(&set);
            sigaddset(&set, sig);
            signal(sig, SIG_DFL);
            sigprocmask(SIG_UNBLOCK, &set, NULL);
            raise(sig);
            i++;
        } else if (strcmp(op, "echo") == 0) {
            if (a1 == NULL)
                bad("echo", a1);
            outln(o, a1);
            i++;
        } else if (strcmp(op, "echoerr") == 0) {
            if (a1 == NULL)
                bad("echoerr", a1);
            outln(2, a1);
            i++;
        } else if (strcmp(op, "writefd") == 0) {
            int fd = (int)number(a1);

            if (i + 2 >= argc)
                bad("writefd", NULL);
            outln(fd, argv[i + 2]);
            i += 2;
        } else if (strcmp(op, "cat") == 0) {
            char b[4096];
            ssize_t n;

            while ((n = read(0, b, sizeof b)) != 0) {
                if (n < 0) {
                    if (errno == EINTR)
                        continue;
                    break;
                }
                put(o, b, (size_t)n);
            }
        } else if (strcmp(op, "argv") == 0) {
            for (int j = 0; j < argc; j++) {
                snprintf(buf, sizeof buf, "argv[%d]=", j);
                out(o, buf);
                outln(o, argv[j]);
            }
            _exit(0);
        } else if (strcmp(op, "env") == 0) {
            const char *v;

            if (a1 == NULL)
                bad("env", a1);
            v = getenv(a1);
            out(o, a1);
            if (v != NULL) {
                out(o, "=");
                outln(o, v);
            } else {
                outln(o, " unset");
            }
            i++;
        } else if (strcmp(op, "environ") == 0) {
            for (char **e = environ; e && *e; e++)
                outln(o, *e);
        } else if (strcmp(op, "cwd") == 0) {
            if (getcwd(buf, sizeof buf) == NULL)
                strcpy(buf, "(getcwd failed)");
            outln(o, buf);
        } else if (strcmp(op, "umask") == 0) {
            mode_t m = umask(0);

            umask(m);
            snprintf(buf, sizeof buf, "%04o\n", (unsigned)m);
            out(o, buf);
        } else if (strcmp(op, "fds") == 0) {
            print_fds();
        } else if (strcmp(op, "fdinfo") == 0) {
            print_fdinfo((int)number(a1));
            i++;
        } else if (strcmp(op, "sigmask") == 0) {
            print_mask();
        } else if (strcmp(op, "sigign") == 0) {
            print_ignored();
        } else if (strcmp(op, "ids") == 0) {
            snprintf(buf, sizeof buf, "pid %ld ppid %ld pgid %ld sid %ld\n",
                     (long)getpid(), (long)getppid(), (long)getpgrp(),
                     (long)getsid(0));
            out(o, buf);
        } else if (strcmp(op, "outfd") == 0) {
            o = (int)number(a1);
            i++;
        } else if (strcmp(op, "grandchild") == 0) {
            grandchild(number(a1));
            i++;
        } else {
            bad("operation", op);
        }
    }
    return 0;
}
