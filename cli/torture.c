/*
 * torture.c - "ward torture": the self-test of the privacy promise.
 *
 * Spawner threads start N private children, each exiting with a code
 * derived from its index, and a few ordinary (non-private) children with
 * posix_spawn().  Meanwhile hostile code runs in the same process:
 *
 *  - thief threads loop on ward_waitpid(-1, WNOHANG) and
 *    ward_waitid(P_ALL, WNOHANG), the "wait for any child" of a program
 *    that knows nothing of ward's children;
 *  - a SIGCHLD handler reaps with ward_waitpid(-1, WNOHANG) in a loop.
 *
 * The run passes if every private child's handle ends with its own status,
 * no thief ever reports a private child, every ordinary child is reaped by
 * the thieves with its status (ward must not steal those either), and a
 * handle refuses to signal once its child is reaped.
 *
 * ward's wait family takes locks, so it is not async-signal-safe: the
 * handler runs on a thread of its own that does nothing else (every other
 * thread blocks SIGCHLD), which is how a program must host such a handler.
 */
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ward.h"

extern char **environ;

/* Private children a spawner keeps running at once before it waits. */
#define WINDOW 32

/* An ordinary child: only thieves may reap it. */
struct plain {
    pid_t pid;
    int code;
    bool reaped;
};

struct torture {
    long n, threads, thieves, nplain;
    const char *exe;           /* run as "exe __exit K", or NULL for sh */
    atomic_long next_plain;    /* the next ordinary child to start */
    /* Results. */
    atomic_long right, wrong, lost, failed, reaped, kill_after_reap;
    atomic_long stolen, plain_right, plain_wrong, waits, handler_runs;
    atomic_int first_errno;
    atomic_long stolen_pid;
    atomic_bool stop;
    /* The ordinary children, under plain_lock. */
    pthread_mutex_t plain_lock;
    struct plain *plain;
    long plain_started;
};

static struct torture T;

void
torture_usage(FILE *out)
{
    fputs("usage: ward torture [-n N] [-t T] [--thieves K] [--plain P]\n"
          "\n"
          "Start N private children from T threads while thieves in the same\n"
          "process wait for any child: K threads looping on ward_waitpid(-1,\n"
          "WNOHANG) and a SIGCHLD handler that reaps the same way.  Check that\n"
          "every status is right and that no thief ever sees a private child.\n"
          "\n"
          "  -n N            private children (default 1000)\n"
          "  -t T            spawning threads (default 4)\n"
          "      --thieves K thief threads (default 2)\n"
          "      --plain P   ordinary children the thieves must reap (default N/10)\n"
          "  -h, --help      show this help\n"
          "\n"
          "Exit status: 0 if every check passed, 1 if any failed, 2 for bad usage.\n",
          out);
}

static int
private_code(long i)
{
    return (int)((i * 7 + 3) % 256);
}

static int
plain_code(long j)
{
    return (int)((j * 13 + 5) % 256);
}

static void
note_errno(int err)
{
    int none = 0;

    atomic_compare_exchange_strong(&T.first_errno, &none, err);
}

/* The argument vector of a child that exits with code; buf holds the digits. */
static void
child_argv(char *argv[5], char *buf, size_t size, int code)
{
    if (T.exe != NULL) {
        snprintf(buf, size, "%d", code);
        argv[0] = (char *)T.exe;
        argv[1] = "__exit";
        argv[2] = buf;
        argv[3] = NULL;
    } else {
        snprintf(buf, size, "exit %d", code);
        argv[0] = "/bin/sh";
        argv[1] = "-c";
        argv[2] = buf;
        argv[3] = NULL;
    }
}

/* ---- the thieves ---------------------------------------------------------- */

/*
 * A thief reaped pid: it must be an ordinary child, reported once, with its
 * own status.  Anything else is a private child leaking out.
 */
static void
thief_got(pid_t pid, int status)
{
    bool found = false;

    pthread_mutex_lock(&T.plain_lock);
    for (long j = 0; j < T.plain_started; j++) {
        struct plain *p = &T.plain[j];

        if (p->pid != pid || p->reaped)
            continue;
        found = true;
        p->reaped = true;
        if (WIFEXITED(status) && WEXITSTATUS(status) == p->code)
            atomic_fetch_add(&T.plain_right, 1);
        else
            atomic_fetch_add(&T.plain_wrong, 1);
        break;
    }
    pthread_mutex_unlock(&T.plain_lock);
    if (!found) {
        atomic_fetch_add(&T.stolen, 1);
        atomic_store(&T.stolen_pid, (long)pid);
    }
}

static void *
thief(void *arg)
{
    bool use_waitid = (long)arg % 2 == 1;
    long waits = 0;

    while (!atomic_load(&T.stop)) {
        pid_t pid;
        int status = 0;

        waits++;
        if (use_waitid) {
            siginfo_t si;

            memset(&si, 0, sizeof(si));
            if (ward_waitid(P_ALL, 0, &si, WEXITED | WNOHANG) == -1)
                pid = -1;
            else if ((pid = si.si_pid) != 0)
                status = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8
                                                  : si.si_status & 0x7f;
        } else {
            pid = ward_waitpid(-1, &status, WNOHANG);
        }
        if (pid > 0)
            thief_got(pid, status);
        else if (pid == -1 && errno != ECHILD && errno != EINTR)
            note_errno(errno);
        else
            sched_yield();
    }
    atomic_fetch_add(&T.waits, waits);
    return NULL;
}

/* Runs only on the signal thread, which holds no lock when interrupted. */
static void
on_sigchld(int sig)
{
    int e = errno, status;
    pid_t pid;

    (void)sig;
    atomic_fetch_add(&T.handler_runs, 1);
    while ((pid = ward_waitpid(-1, &status, WNOHANG)) > 0)
        thief_got(pid, status);
    errno = e;
}

static void *
signal_thread(void *arg)
{
    sigset_t set;
    struct timespec nap = { 0, 20 * 1000 * 1000 };

    (void)arg;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    while (!atomic_load(&T.stop))
        (void)nanosleep(&nap, NULL);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    return NULL;
}

/* ---- the spawners ---------------------------------------------------------- */

static void
start_plain(void)
{
    long j = atomic_fetch_add(&T.next_plain, 1);
    char *argv[5], buf[32];
    pid_t pid;
    int err;

    if (j >= T.nplain)
        return;
    child_argv(argv, buf, sizeof(buf), plain_code(j));
    /*
     * The lock is held across the spawn, so a thief that reaps the child at
     * once finds it listed when it looks.
     */
    pthread_mutex_lock(&T.plain_lock);
    err = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
    if (err == 0) {
        T.plain[T.plain_started].pid = pid;
        T.plain[T.plain_started].code = plain_code(j);
        T.plain_started++;
    }
    pthread_mutex_unlock(&T.plain_lock);
    if (err != 0) {
        atomic_fetch_add(&T.failed, 1);
        note_errno(err);
    }
}

/* Wait for a private child and check everything its handle says. */
static void
check_child(ward_child *c, long i)
{
    struct timespec deadline;
    int status, again, r;

    /* Two ways to wait, so that both code paths are under fire. */
    if (i % 2 == 0) {
        while ((r = ward_wait(c, &status)) == -1 && errno == EINTR)
            ;
    } else {
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += 60;
        while ((r = ward_timedwait(c, &status, &deadline)) == -1 && errno == EINTR)
            ;
    }
    if (r == -1) {
        if (errno == ECHILD) {
            atomic_fetch_add(&T.lost, 1);
        } else {
            atomic_fetch_add(&T.failed, 1);
            note_errno(errno);
        }
    } else if (ward_wait(c, &again) == -1 || again != status ||
               !WIFEXITED(status) || WEXITSTATUS(status) != private_code(i)) {
        /* Waiting again must give the same, right, status. */
        atomic_fetch_add(&T.wrong, 1);
    } else {
        atomic_fetch_add(&T.right, 1);
    }
    /* Once reaped, a handle must refuse to signal: the pid is anyone's. */
    if (ward_kill(c, 0) != -1 || errno != ESRCH)
        atomic_fetch_add(&T.kill_after_reap, 1);
    atomic_fetch_add(&T.reaped, 1);
    ward_free(c);
}

static void *
spawner(void *arg)
{
    long tid = (long)arg, stride = T.nplain > 0 ? T.n / T.nplain : 0;
    ward_child *window[WINDOW];
    long index[WINDOW];
    size_t head = 0, count = 0;

    for (long i = tid; i < T.n; i += T.threads) {
        char *argv[5], buf[32];
        ward_child *c;

        if (count == WINDOW) {
            check_child(window[head], index[head]);
            head = (head + 1) % WINDOW;
            count--;
        }
        child_argv(argv, buf, sizeof(buf), private_code(i));
        if ((c = ward_spawn(NULL, argv, NULL)) == NULL) {
            atomic_fetch_add(&T.failed, 1);
            atomic_fetch_add(&T.reaped, 1);
            note_errno(errno);
        } else {
            window[(head + count) % WINDOW] = c;
            index[(head + count) % WINDOW] = i;
            count++;
        }
        if (stride > 0 && i % stride == 0)
            start_plain();
    }
    while (count > 0) {
        check_child(window[head], index[head]);
        head = (head + 1) % WINDOW;
        count--;
    }
    /* Whatever rounding left over. */
    if (tid == 0) {
        while (atomic_load(&T.next_plain) < T.nplain)
            start_plain();
    }
    return NULL;
}

/* ---- the run ------------------------------------------------------------- */

/*
 * The fastest child is ward itself ("ward __exit K"); fall back to sh where
 * that cannot be run.  Returns the program, or NULL for /bin/sh.
 */
static const char *
choose_exe(void)
{
    static const char *const candidates[] = { "/proc/self/exe", NULL };
    const char *exe;

    for (size_t i = 0; i < 2; i++) {
        char *argv[] = { NULL, "__exit", "42", NULL };
        ward_child *c;
        int status;

        exe = candidates[i] != NULL ? candidates[i] : ward_argv0;
        if (strchr(exe, '/') == NULL || access(exe, X_OK) == -1)
            continue;
        argv[0] = (char *)exe;
        if ((c = ward_spawn(NULL, argv, NULL)) == NULL)
            continue;
        while (ward_wait(c, &status) == -1 && errno == EINTR)
            ;
        ward_free(c);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 42)
            return exe;
    }
    return NULL;
}

static void
parse_options(int argc, char **argv)
{
    enum { OPT_THIEVES = 256, OPT_PLAIN };
    static const struct option longopts[] = {
        { "thieves", required_argument, NULL, OPT_THIEVES },
        { "plain", required_argument, NULL, OPT_PLAIN },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    T.n = 1000;
    T.threads = 4;
    T.thieves = 2;
    T.nplain = -1;
    optind = 1;
    for (;;) {
        int before = optind;

        if ((c = getopt_long(argc, argv, ":n:t:h", longopts, NULL)) == -1)
            break;
        switch (c) {
        case 'n':
            T.n = count_arg("-n", optarg, 1, 100000000);
            break;
        case 't':
            T.threads = count_arg("-t", optarg, 1, 1024);
            break;
        case OPT_THIEVES:
            T.thieves = count_arg("--thieves", optarg, 0, 1024);
            break;
        case OPT_PLAIN:
            T.nplain = count_arg("--plain", optarg, 0, 1000000);
            break;
        case 'h':
            torture_usage(stdout);
            exit(fflush(stdout) == 0 ? 0 : EXIT_FAILED);
        default:
            bad_option(c, argv, before);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument", argv[optind]);
    if (T.nplain == -1)
        T.nplain = T.n / 10;
    /* Only thieves reap ordinary children: without any, there can be none. */
    if (T.thieves == 0)
        T.nplain = 0;
}

static void
start_thread(pthread_t *t, void *(*fn)(void *), long arg)
{
    int err = pthread_create(t, NULL, fn, (void *)arg);

    if (err != 0)
        fatal(EXIT_FAILED, "cannot start a thread", strerror(err));
}

int
torture_main(int argc, char **argv)
{
    pthread_t *spawners, *thieves, sigthread;
    struct sigaction sa;
    sigset_t set;
    nsec_t t0, give_up;
    const char *backend;
    bool ok;

    memset(&T, 0, sizeof(T));
    parse_options(argc, argv);
    pthread_mutex_init(&T.plain_lock, NULL);
    T.plain = xcalloc((size_t)T.nplain, sizeof(*T.plain));

    /*
     * SIGCHLD is blocked everywhere but on the signal thread (threads
     * inherit the mask).  The handler goes in before ward first runs, so
     * that a backend which needs SIGCHLD chains to it rather than lose it.
     */
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGCHLD, &sa, NULL) == -1)
        fatal_errno("sigaction");

    if ((backend = ward_backend()) == NULL)
        fatal_errno("no ward backend");
    T.exe = choose_exe();
    progress_init();

    spawners = xcalloc((size_t)T.threads, sizeof(*spawners));
    thieves = xcalloc((size_t)T.thieves + 1, sizeof(*thieves));
    t0 = now_ns();
    start_thread(&sigthread, signal_thread, 0);
    for (long k = 0; k < T.thieves; k++)
        start_thread(&thieves[k], thief, k);
    for (long k = 0; k < T.threads; k++)
        start_thread(&spawners[k], spawner, k);

    /* The live counter, while the spawners work. */
    while (atomic_load(&T.reaped) < T.n) {
        struct timespec nap = { 0, 50 * 1000 * 1000 };

        progress_update("ward torture: %ld/%ld children done", atomic_load(&T.reaped),
                        T.n);
        (void)nanosleep(&nap, NULL);
    }
    for (long k = 0; k < T.threads; k++)
        pthread_join(spawners[k], NULL);

    /* The thieves must reap every ordinary child; give them some time. */
    give_up = deadline_after(10 * NSEC_PER_SEC);
    while (now_ns() < give_up &&
           atomic_load(&T.plain_right) + atomic_load(&T.plain_wrong) < T.plain_started) {
        struct timespec nap = { 0, 5 * 1000 * 1000 };

        (void)nanosleep(&nap, NULL);
    }
    atomic_store(&T.stop, true);
    for (long k = 0; k < T.thieves; k++)
        pthread_join(thieves[k], NULL);
    pthread_join(sigthread, NULL);
    progress_clear();

    /* Ordinary children nobody reaped must not stay zombies. */
    for (long j = 0; j < T.plain_started; j++) {
        if (!T.plain[j].reaped)
            (void)waitpid(T.plain[j].pid, NULL, 0);
    }

    printf("ward torture: backend %s, %ld private children from %ld threads, "
           "%ld thieves and a SIGCHLD handler, %ld ordinary children\n",
           backend, T.n, T.threads, T.thieves, T.nplain);
    printf("children: %s\n", T.exe != NULL ? "ward __exit CODE" : "/bin/sh -c 'exit CODE'");
    printf("private: %ld right, %ld wrong, %ld lost, %ld failed\n",
           atomic_load(&T.right), atomic_load(&T.wrong), atomic_load(&T.lost),
           atomic_load(&T.failed));
    printf("ordinary: %ld of %ld reaped by the thieves with the right status, "
           "%ld wrong\n",
           atomic_load(&T.plain_right), T.plain_started, atomic_load(&T.plain_wrong));
    printf("thieves: %ld waits, %ld SIGCHLD handler runs, %ld private children seen\n",
           atomic_load(&T.waits), atomic_load(&T.handler_runs), atomic_load(&T.stolen));
    if (atomic_load(&T.stolen) > 0)
        printf("a thief reaped pid %ld, which was private\n", atomic_load(&T.stolen_pid));
    if (atomic_load(&T.kill_after_reap) > 0)
        printf("ward_kill() after reaping did not fail with ESRCH %ld times\n",
               atomic_load(&T.kill_after_reap));
    if (atomic_load(&T.first_errno) != 0)
        printf("first error: %s\n", strerror(atomic_load(&T.first_errno)));

    ok = atomic_load(&T.right) == T.n && atomic_load(&T.stolen) == 0 &&
         atomic_load(&T.kill_after_reap) == 0 && T.plain_started == T.nplain &&
         atomic_load(&T.plain_right) == T.nplain && atomic_load(&T.first_errno) == 0;
    printf("%s (%.2f s)\n", ok ? "PASS" : "FAIL", ns_to_sec(now_ns() - t0));

    free(spawners);
    free(thieves);
    free(T.plain);
    pthread_mutex_destroy(&T.plain_lock);
    return ok ? 0 : 1;
}
