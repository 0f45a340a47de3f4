/*
 * soak.c - a million private children with thieves at work ("make soak").
 *
 * Spawner threads start N private children in all (each exits with a code
 * derived from its number, a few are killed on purpose) and wait for each
 * with ward_wait() or ward_timedwait(), keeping a window of children in
 * flight.  Meanwhile, in the same process:
 *
 *  - a thief thread loops on ward_waitpid(-1, WNOHANG);
 *  - a thief thread blocks in ward_waitid(P_ALL, WEXITED), again and again;
 *  - a SIGCHLD handler reaps with ward_waitpid(-1, WNOHANG) in a loop (it
 *    runs on a thread of its own, the only one with SIGCHLD unblocked:
 *    ward's wait family takes locks and is not async-signal-safe);
 *  - the spawners also start ordinary children with posix_spawn(), which
 *    only the thieves reap.
 *
 * Every private status must be exact (a second wait returns the same), no
 * thief may ever see a private child, every ordinary child must be reaped
 * once with its own status, and at the end no child, no descriptor and no
 * heap growth beyond ward's caches may remain.  Progress goes to stderr
 * every few seconds; the summary (time, spawns/s) to stdout.  Exit 0 when
 * every check passed, 1 otherwise.
 *
 * With -f F, F more threads fork while all this goes on, alternately with
 * ward_fork() and fork(); each child of a fork spawns a private child
 * itself, waits for it and exits with a code the parent checks (the plain
 * fork children are ordinary children: the thieves reap them).  With -e,
 * one more thread runs an event loop: children with exit callbacks,
 * ward_events_fd() polled, ward_dispatch() run.
 *
 * usage: soak [-n N] [-t THREADS] [-w WINDOW] [-p PLAIN_EVERY] [-f F] [-e] CHILD
 * where CHILD is a program that exits with its first argument
 * (tests/reliability/soak-exit, built static for speed).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ward.h"

extern char **environ;

static long N = 1000000, THREADS = 4, WINDOW = 8, PLAIN_EVERY = 100, FORKERS = 0;
static int EVENTS = 0;
static const char *child_prog;

static atomic_long next_index, done, right, wrong, lost, failed, killed_ok;
static atomic_long stolen, plain_started, plain_right, plain_wrong;
static atomic_long thief_calls, handler_runs, blocking_returns;
static atomic_long forks_right, forks_wrong, events_right, events_wrong;
static atomic_int spawners_left;
static atomic_bool stop;
static char first_msg[256];
static atomic_flag msg_taken = ATOMIC_FLAG_INIT;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    va_list ap;

    if (atomic_flag_test_and_set(&msg_taken))
        return;
    va_start(ap, fmt);
    vsnprintf(first_msg, sizeof first_msg, fmt, ap);
    va_end(ap);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int code_of(long i)
{
    return (int)((i * 7 + 3) % 256);
}

/* ---- Ordinary children: a registry the thieves check against ------------ */

#define PLAIN_MAX (1 << 16) /* open-addressed by pid */

struct plain {
    pid_t pid;
    int code;
};

static struct plain plains[PLAIN_MAX];
static pthread_mutex_t plain_lock = PTHREAD_MUTEX_INITIALIZER;
static long plain_live;

static void thief_got(pid_t pid, int st)
{
    int found = 0;

    pthread_mutex_lock(&plain_lock);
    for (size_t k = 0, h = (size_t)pid % PLAIN_MAX; k < PLAIN_MAX; k++, h = (h + 1) % PLAIN_MAX) {
        if (plains[h].pid == 0)
            break;
        if (plains[h].pid == pid) {
            found = 1;
            if (WIFEXITED(st) && WEXITSTATUS(st) == plains[h].code)
                atomic_fetch_add(&plain_right, 1);
            else
                atomic_fetch_add(&plain_wrong, 1);
            plains[h].pid = -1; /* a tombstone: reaped */
            plain_live--;
            break;
        }
    }
    pthread_mutex_unlock(&plain_lock);
    if (!found) {
        atomic_fetch_add(&stolen, 1);
        note("a thief got pid %d (status 0x%x), which is no ordinary child: a private "
             "child leaked out", (int)pid, st);
    }
}

/* Register an ordinary child; under plain_lock. */
static void plain_add(pid_t pid, int code)
{
    size_t h = (size_t)pid % PLAIN_MAX;

    while (plains[h].pid > 0)
        h = (h + 1) % PLAIN_MAX;
    plains[h].pid = pid;
    plains[h].code = code & 0xff;
    plain_live++;
}

static void start_plain(long i)
{
    char num[16];
    char *argv[3] = {(char *)child_prog, num, NULL};
    pid_t pid;
    int err;

    snprintf(num, sizeof num, "%d", code_of(i) ^ 0x55);
    /* Registered under the lock, so a thief that is quick still finds it. */
    pthread_mutex_lock(&plain_lock);
    if (plain_live >= PLAIN_MAX / 2) {
        pthread_mutex_unlock(&plain_lock);
        return;
    }
    err = posix_spawn(&pid, child_prog, NULL, NULL, argv, environ);
    if (err == 0)
        plain_add(pid, code_of(i) ^ 0x55);
    pthread_mutex_unlock(&plain_lock);
    if (err != 0) {
        atomic_fetch_add(&failed, 1);
        note("posix_spawn: %s", strerror(err));
    } else {
        atomic_fetch_add(&plain_started, 1);
    }
}

/* ---- Thieves ------------------------------------------------------------- */

static void *thief_poll(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        int st;
        pid_t pid = ward_waitpid(-1, &st, WNOHANG);

        atomic_fetch_add(&thief_calls, 1);
        if (pid > 0)
            thief_got(pid, st);
        else if (pid == -1 && errno != ECHILD && errno != EINTR) {
            atomic_fetch_add(&failed, 1);
            note("ward_waitpid(-1, WNOHANG): %s", strerror(errno));
        } else
            sched_yield();
    }
    return NULL;
}

static void *thief_block(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        siginfo_t si;

        memset(&si, 0, sizeof si);
        if (ward_waitid(P_ALL, 0, &si, WEXITED) == -1) {
            if (errno == ECHILD) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            } else if (errno != EINTR) {
                atomic_fetch_add(&failed, 1);
                note("ward_waitid(P_ALL): %s", strerror(errno));
            }
            continue;
        }
        atomic_fetch_add(&blocking_returns, 1);
        if (si.si_pid != 0)
            thief_got(si.si_pid, si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8
                                                          : si.si_status & 0x7f);
    }
    return NULL;
}

static void on_sigchld(int sig)
{
    int e = errno, st;
    pid_t pid;

    (void)sig;
    atomic_fetch_add(&handler_runs, 1);
    while ((pid = ward_waitpid(-1, &st, WNOHANG)) > 0)
        thief_got(pid, st);
    errno = e;
}

static void *signal_thread(void *arg)
{
    sigset_t set;

    (void)arg;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    while (!atomic_load(&stop)) {
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    return NULL;
}

/* ---- Spawners ------------------------------------------------------------ */

struct slot {
    ward_child *c;
    long i;
    int killed;
};

static void finish(struct slot *s)
{
    int st = -1, again = -1, r;

    if (s->i % 2 == 0) {
        while ((r = ward_wait(s->c, &st)) == -1 && errno == EINTR)
            ;
    } else {
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += 120;
        while ((r = ward_timedwait(s->c, &st, &dl)) == -1 && errno == EINTR)
            ;
    }
    if (r == -1) {
        if (errno == ECHILD) {
            atomic_fetch_add(&lost, 1);
            note("child #%ld: status lost (ECHILD)", s->i);
        } else {
            atomic_fetch_add(&failed, 1);
            note("child #%ld: wait: %s", s->i, strerror(errno));
        }
    } else if (ward_wait(s->c, &again) != 0 || again != st) {
        atomic_fetch_add(&wrong, 1);
        note("child #%ld: a second wait gave 0x%x, the first 0x%x", s->i, again, st);
    } else if (WIFEXITED(st) && WEXITSTATUS(st) == code_of(s->i)) {
        atomic_fetch_add(&right, 1);
    } else if (s->killed && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
        atomic_fetch_add(&right, 1);
        atomic_fetch_add(&killed_ok, 1);
    } else {
        atomic_fetch_add(&wrong, 1);
        note("child #%ld: status 0x%x, expected exit %d", s->i, st, code_of(s->i));
    }
    if (ward_kill(s->c, 0) != -1 || errno != ESRCH) {
        atomic_fetch_add(&wrong, 1);
        note("child #%ld: ward_kill after the wait did not fail with ESRCH", s->i);
    }
    ward_free(s->c);
    s->c = NULL;
    atomic_fetch_add(&done, 1);
}

static void *spawner(void *arg)
{
    struct slot *win = calloc((size_t)WINDOW, sizeof *win);
    long head = 0, count = 0;

    (void)arg;
    for (;;) {
        long i = atomic_fetch_add(&next_index, 1);
        char num[16];
        char *argv[3] = {(char *)child_prog, num, NULL};
        ward_child *c;

        if (i >= N)
            break;
        if (count == WINDOW) {
            finish(&win[head]);
            head = (head + 1) % WINDOW;
            count--;
        }
        snprintf(num, sizeof num, "%d", code_of(i));
        if ((c = ward_spawn(NULL, argv, NULL)) == NULL) {
            atomic_fetch_add(&failed, 1);
            atomic_fetch_add(&done, 1);
            note("ward_spawn #%ld: %s", i, strerror(errno));
            continue;
        }
        win[(head + count) % WINDOW].c = c;
        win[(head + count) % WINDOW].i = i;
        win[(head + count) % WINDOW].killed = 0;
        if (i % 997 == 0) {
            /* Kill some: the status is then SIGKILL, or the exit if it won. */
            win[(head + count) % WINDOW].killed = 1;
            if (ward_kill(c, SIGKILL) == -1 && errno != ESRCH) {
                atomic_fetch_add(&failed, 1);
                note("ward_kill #%ld: %s", i, strerror(errno));
            }
        }
        count++;
        if (PLAIN_EVERY > 0 && i % PLAIN_EVERY == 0)
            start_plain(i);
    }
    while (count > 0) {
        finish(&win[head]);
        head = (head + 1) % WINDOW;
        count--;
    }
    free(win);
    atomic_fetch_sub(&spawners_left, 1);
    return NULL;
}

/* ---- Forkers ----------------------------------------------------------------- */

/* In the child of a fork: spawn, wait, exit with outer if all was right. */
static void __attribute__((noreturn)) fork_child(int inner, int outer)
{
    char num[16];
    char *argv[3] = {(char *)child_prog, num, NULL};
    ward_child *c;
    int st = -1, r;

#ifdef __SANITIZE_THREAD__
    /*
     * Under ThreadSanitizer the child of a fork from this many threads may
     * hang in its first allocation: the runtime of Debian's GCC 12 does not
     * hold its allocator's locks across fork(), and another thread may have
     * had one (seen: the child blocked in calloc() inside ward_spawn()).
     * What TSan is run for here is the parent's threads; the child's spawn,
     * single-threaded, is soaked by the plain and ASan builds.
     */
    (void)argv;
    (void)c;
    (void)st;
    (void)r;
    (void)inner;
    (void)num;
    _exit(outer);
#endif
    snprintf(num, sizeof num, "%d", inner);
    if ((c = ward_spawn(NULL, argv, NULL)) == NULL)
        _exit(201);
    while ((r = ward_wait(c, &st)) == -1 && errno == EINTR)
        ;
    if (r != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != inner)
        _exit(202);
    ward_free(c);
    _exit(outer);
}

static void *forker(void *arg)
{
    long id = (long)arg;

    for (long k = 0; atomic_load(&spawners_left) > 0; k++) {
        int inner = (int)((k * 3 + id) % 100), outer = 1 + (int)((k * 5 + id) % 120);
        ward_child *c = NULL;
        pid_t pid;

        if (k % 2 == 0) {
            int st = -1, r;

            pid = ward_fork(&c, 0);
            if (pid == 0)
                fork_child(inner, outer);
            if (pid == -1) {
                atomic_fetch_add(&failed, 1);
                note("ward_fork: %s", strerror(errno));
                continue;
            }
            while ((r = ward_wait(c, &st)) == -1 && errno == EINTR)
                ;
            if (r == 0 && WIFEXITED(st) && WEXITSTATUS(st) == outer) {
                atomic_fetch_add(&forks_right, 1);
            } else {
                atomic_fetch_add(&forks_wrong, 1);
                note("ward_fork child: status 0x%x (r %d), expected exit %d", st, r, outer);
            }
            ward_free(c);
        } else {
            /* An ordinary child: registered before a thief can see it. */
            pthread_mutex_lock(&plain_lock);
            pid = fork();
            if (pid == 0)
                fork_child(inner, outer);
            if (pid > 0)
                plain_add(pid, outer);
            pthread_mutex_unlock(&plain_lock);
            if (pid == -1) {
                atomic_fetch_add(&failed, 1);
                note("fork: %s", strerror(errno));
                continue;
            }
            atomic_fetch_add(&plain_started, 1);
        }
    }
    return NULL;
}

/* ---- The event loop ---------------------------------------------------------- */

static atomic_int loop_inflight;

static void on_exit_cb(ward_child *c, int status, void *data)
{
    long i = (long)data;

    if (WIFEXITED(status) && WEXITSTATUS(status) == code_of(i)) {
        atomic_fetch_add(&events_right, 1);
    } else {
        atomic_fetch_add(&events_wrong, 1);
        note("event loop child #%ld: callback status 0x%x, expected exit %d", i, status,
             code_of(i));
    }
    ward_free(c);
    atomic_fetch_sub(&loop_inflight, 1);
}

static void *event_loop(void *arg)
{
    int efd = ward_events_fd();
    long i = 0;

    (void)arg;
    if (efd == -1) {
        atomic_fetch_add(&failed, 1);
        note("ward_events_fd: %s", strerror(errno));
        return NULL;
    }
    while (atomic_load(&spawners_left) > 0 || atomic_load(&loop_inflight) > 0) {
        struct pollfd pfd = {efd, POLLIN, 0};

        while (atomic_load(&spawners_left) > 0 && atomic_load(&loop_inflight) < 8) {
            char num[16];
            char *argv[3] = {(char *)child_prog, num, NULL};
            ward_child *c;

            snprintf(num, sizeof num, "%d", code_of(i));
            if ((c = ward_spawn(NULL, argv, NULL)) == NULL) {
                atomic_fetch_add(&failed, 1);
                note("event loop: ward_spawn: %s", strerror(errno));
                break;
            }
            atomic_fetch_add(&loop_inflight, 1);
            if (ward_setcallback(c, on_exit_cb, (void *)i) == -1) {
                atomic_fetch_add(&failed, 1);
                note("ward_setcallback: %s", strerror(errno));
            }
            i++;
        }
        if (poll(&pfd, 1, 100) == -1 && errno != EINTR) {
            atomic_fetch_add(&failed, 1);
            note("poll: %s", strerror(errno));
        }
        if (ward_dispatch() == -1) {
            atomic_fetch_add(&failed, 1);
            note("ward_dispatch: %s", strerror(errno));
        }
    }
    return NULL;
}

/* ---- Bookkeeping --------------------------------------------------------- */

static int count_fds(void)
{
    int n = 0;

    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld", &v) == 1)
            break;
    fclose(f);
    return v;
}

static size_t heap(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

static void usage(void)
{
    fprintf(stderr, "usage: soak [-n N] [-t THREADS] [-w WINDOW] [-p PLAIN_EVERY] [-f FORKERS] "
            "[-e] CHILD\n");
    exit(2);
}

int main(int argc, char **argv)
{
    pthread_t *sp, *fk, tp, tb, ts, tev;
    struct sigaction sa;
    sigset_t set;
    double t0, last = 0, elapsed;
    long rss0, rss1;
    size_t heap0, heap1;
    int fds0, fds1, opt, ok, st;
    pid_t last_plain;

    while ((opt = getopt(argc, argv, "n:t:w:p:f:e")) != -1) {
        switch (opt) {
        case 'n': N = atol(optarg); break;
        case 't': THREADS = atol(optarg); break;
        case 'w': WINDOW = atol(optarg); break;
        case 'p': PLAIN_EVERY = atol(optarg); break;
        case 'f': FORKERS = atol(optarg); break;
        case 'e': EVENTS = 1; break;
        default: usage();
        }
    }
    if (optind + 1 != argc || N < 1 || THREADS < 1 || WINDOW < 1)
        usage();
    child_prog = argv[optind];
    if (access(child_prog, X_OK) == -1) {
        fprintf(stderr, "soak: %s: %s\n", child_prog, strerror(errno));
        return 2;
    }

    /* SIGCHLD: blocked everywhere but on the signal thread. */
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);

    /* Warm up what ward makes once, then take the measures. */
    {
        char *av[3] = {(char *)child_prog, "0", NULL};
        ward_child *c = ward_spawn(NULL, av, NULL);
        struct timespec dl;
        if (c == NULL) {
            fprintf(stderr, "soak: ward_spawn: %s\n", strerror(errno));
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += 10;
        while (ward_timedwait(c, NULL, &dl) == -1 && errno == EINTR)
            ;
        ward_free(c);
        /* The events descriptor is ward's for the rest of the process. */
        if (EVENTS && ward_events_fd() == -1) {
            fprintf(stderr, "soak: ward_events_fd: %s\n", strerror(errno));
            return 1;
        }
    }
    fds0 = count_fds();
    rss0 = rss_kib();
    heap0 = heap();
    fprintf(stderr, "soak: %ld private children from %ld threads (window %ld), an ordinary "
            "one every %ld, %ld forker(s), event loop %s, backend %s, child %s\n", N, THREADS,
            WINDOW, PLAIN_EVERY, FORKERS, EVENTS ? "on" : "off", ward_backend(), child_prog);

    t0 = now_s();
    pthread_create(&ts, NULL, signal_thread, NULL);
    pthread_create(&tp, NULL, thief_poll, NULL);
    pthread_create(&tb, NULL, thief_block, NULL);
    sp = calloc((size_t)THREADS, sizeof *sp);
    fk = calloc((size_t)FORKERS + 1, sizeof *fk);
    atomic_store(&spawners_left, (int)THREADS);
    for (long k = 0; k < THREADS; k++)
        pthread_create(&sp[k], NULL, spawner, NULL);
    for (long k = 0; k < FORKERS; k++)
        pthread_create(&fk[k], NULL, forker, (void *)k);
    if (EVENTS)
        pthread_create(&tev, NULL, event_loop, NULL);
    while (atomic_load(&done) < N) {
        struct timespec nap = {0, 200000000};
        nanosleep(&nap, NULL);
        if (now_s() - last >= 10) {
            last = now_s();
            fprintf(stderr, "soak: %ld/%ld done, %.0f/s, rss %ld KiB, fds %d, wrong %ld, "
                    "lost %ld, failed %ld, stolen %ld\n", atomic_load(&done), N,
                    atomic_load(&done) / (last - t0), rss_kib(), count_fds(),
                    atomic_load(&wrong), atomic_load(&lost), atomic_load(&failed),
                    atomic_load(&stolen));
        }
    }
    for (long k = 0; k < THREADS; k++)
        pthread_join(sp[k], NULL);
    elapsed = now_s() - t0;
    for (long k = 0; k < FORKERS; k++)
        pthread_join(fk[k], NULL);
    if (EVENTS)
        pthread_join(tev, NULL);
    free(fk);

    /* Let the thieves collect the last ordinary children, then stop them. */
    for (int k = 0; k < 500; k++) {
        long live;
        pthread_mutex_lock(&plain_lock);
        live = plain_live;
        pthread_mutex_unlock(&plain_lock);
        if (live == 0)
            break;
        struct timespec nap = {0, 10000000};
        nanosleep(&nap, NULL);
    }
    atomic_store(&stop, 1);
    pthread_join(tp, NULL);
    /* The blocking thief is let go by one last ordinary child. */
    start_plain(1);
    pthread_join(tb, NULL);
    pthread_join(ts, NULL);
    /* Whatever ordinary child the thieves left is reaped here. */
    for (;;) {
        long live;

        pthread_mutex_lock(&plain_lock);
        live = plain_live;
        pthread_mutex_unlock(&plain_lock);
        if (live == 0)
            break;
        last_plain = ward_waitpid(-1, &st, 0);
        if (last_plain > 0)
            thief_got(last_plain, st);
        else if (errno != EINTR)
            break;
    }
    free(sp);

    fds1 = count_fds();
    rss1 = rss_kib();
    heap1 = heap();
    {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        ok = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD;
    }
    if (!ok)
        note("children are left at the end");
    if (fds1 != fds0)
        note("%d descriptors at the end, %d at the start", fds1, fds0);

    printf("soak: %ld private children in %.1f s: %.0f spawns/s (%ld threads, window %ld, "
           "backend %s)\n", N, elapsed, N / elapsed, THREADS, WINDOW, ward_backend());
    printf("soak: private: %ld right (%ld killed on purpose), %ld wrong, %ld lost, "
           "%ld failed\n", atomic_load(&right), atomic_load(&killed_ok), atomic_load(&wrong),
           atomic_load(&lost), atomic_load(&failed));
    printf("soak: ordinary: %ld started, %ld reaped right by thieves, %ld wrong; private "
           "children seen by thieves: %ld\n", atomic_load(&plain_started),
           atomic_load(&plain_right), atomic_load(&plain_wrong), atomic_load(&stolen));
    if (FORKERS > 0 || EVENTS)
        printf("soak: forks: %ld ward_fork children right, %ld wrong (plain fork children are "
               "counted as ordinary); event loop: %ld callbacks right, %ld wrong\n",
               atomic_load(&forks_right), atomic_load(&forks_wrong), atomic_load(&events_right),
               atomic_load(&events_wrong));
    printf("soak: thieves: %ld ward_waitpid(-1, WNOHANG) calls, %ld blocking waitid "
           "returns, %ld SIGCHLD handler runs\n", atomic_load(&thief_calls),
           atomic_load(&blocking_returns), atomic_load(&handler_runs));
    printf("soak: rss %ld -> %ld KiB, heap %zu -> %zu bytes, descriptors %d -> %d, "
           "children left: %s\n", rss0, rss1, heap0, heap1, fds0, fds1, ok ? "none" : "yes");
    /* ward keeps caches (pid table, claim slots) sized by the children alive at once. */
    if (heap1 > heap0 + (size_t)(THREADS * WINDOW + 64) * 1024)
        note("heap grew by %zu bytes", heap1 - heap0);
    ok = ok && atomic_load(&right) == N && atomic_load(&wrong) == 0 && atomic_load(&lost) == 0 &&
         atomic_load(&failed) == 0 && atomic_load(&stolen) == 0 &&
         atomic_load(&plain_wrong) == 0 && atomic_load(&plain_right) == atomic_load(&plain_started) &&
         atomic_load(&forks_wrong) == 0 && atomic_load(&events_wrong) == 0 &&
         fds1 == fds0 && first_msg[0] == '\0';
    if (first_msg[0] != '\0')
        printf("soak: first problem: %s\n", first_msg);
    printf("soak: %s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
