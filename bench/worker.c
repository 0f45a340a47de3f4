/*
 * bench/worker.c - one contender in a process of its own, doing what the
 * driver asks, one command per line on descriptor 3, one answer per line on
 * descriptor 4:
 *
 *   run N        spawn and reap N exiting children, one at a time; ns total
 *   runfor MS    the same for MS milliseconds (at least one); count, ns
 *   lat N        N times: spawn a stamping child, reap it; N latencies (ns)
 *   ballast MiB  map and touch MiB of memory (0: unmap it); ms, RSS kB
 *   idle N       start N idle children and keep them (0: end and reap them)
 *   mass N       N idle children at once, then all ended and reaped
 *   mem N        heap and descriptors per live handle, from 100 to 100+N
 *   limit N      lower the descriptor limit and spawn idle children until
 *                the first failure (at most N); what happened
 *   clean        from a parent with 3 inheritable descriptors open, start a
 *                child that counts its descriptors beyond 0-2, three times:
 *                stdio inherited, stdin and stdout from a pipe; the counts,
 *                and children and descriptors left once all are reaped
 *   threads T MS T threads spawning at once for MS ms (threads.c); count, ns
 *   mixed MS     4 spawner and 2 waiter threads for MS ms (threads.c); count, ns
 *
 * Answers start with "ok" or "err <message>".
 */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct contender *C;
static char *argv_exit[2], *argv_wait[3], *argv_stamp[3], *argv_fds[3];
static FILE *out;

static int stamp_r = -1, stamp_w = -1; /* stamping children write here */
static int idle_r = -1, idle_w = -1;   /* stdin of every idle child */
static struct rec *idle[MAXREC];
static size_t nidle;
static char *ballast;
static size_t ballast_len;

static void
reply_err(void)
{
    fprintf(out, "err %s: %s\n", C->name, bench_errmsg[0] ? bench_errmsg : strerror(errno));
    fflush(out);
}

int
count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

/* Processes whose parent is this one (live or zombie). */
static int
count_children(void)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t me = getpid();
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[512], *p;
        int fd;
        ssize_t len;
        long ppid;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
            continue;
        len = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (len <= 0)
            continue;
        buf[len] = '\0';
        if ((p = strrchr(buf, ')')) == NULL)
            continue;
        if (sscanf(p + 1, " %*c %ld", &ppid) == 1 && ppid == me)
            n++;
    }
    closedir(d);
    return n;
}

static long
rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    long kb = -1;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    }
    fclose(f);
    return kb;
}

static int
open_pipe(int *r, int *w)
{
    int p[2];

    if (pipe2(p, O_CLOEXEC) == -1) {
        snprintf(bench_errmsg, sizeof(bench_errmsg), "pipe2: %s", strerror(errno));
        return -1;
    }
    *r = p[0];
    *w = p[1];
    return 0;
}

static void
close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static int
cmd_run_quiet(void)
{
    struct rec *r = C->spawn(argv_exit, -1, -1);

    return r == NULL || C->reap(r, NULL) == -1 ? -1 : 0;
}

static int
cmd_run(long n)
{
    uint64_t t0 = now_ns();

    for (long i = 0; i < n; i++) {
        struct rec *r = C->spawn(argv_exit, -1, -1);

        if (r == NULL || C->reap(r, NULL) == -1)
            return -1;
    }
    fprintf(out, "ok %llu\n", (unsigned long long)(now_ns() - t0));
    return 0;
}

/* Spawn and reap one at a time for ms milliseconds (at least once). */
static int
cmd_runfor(long ms)
{
    uint64_t t0 = now_ns(), t;
    long n = 0;

    do {
        struct rec *r = C->spawn(argv_exit, -1, -1);

        if (r == NULL || C->reap(r, NULL) == -1)
            return -1;
        n++;
    } while ((t = now_ns()) - t0 < (uint64_t)ms * 1000000u);
    fprintf(out, "ok %ld %llu\n", n, (unsigned long long)(t - t0));
    return 0;
}

static int
cmd_lat(long n)
{
    static uint64_t lat[100000];

    if (n > (long)(sizeof(lat) / sizeof(lat[0])))
        n = sizeof(lat) / sizeof(lat[0]);
    if (stamp_r == -1 && open_pipe(&stamp_r, &stamp_w) == -1)
        return -1;
    for (long i = 0; i < n; i++) {
        struct rec *r = C->spawn(argv_stamp, -1, stamp_w);
        struct timespec ts;
        uint64_t t_done;

        if (r == NULL || C->reap(r, &t_done) == -1)
            return -1;
        if (read(stamp_r, &ts, sizeof(ts)) != (ssize_t)sizeof(ts)) {
            snprintf(bench_errmsg, sizeof(bench_errmsg), "no stamp from the child");
            return -1;
        }
        lat[i] = t_done - ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    }
    fputs("ok", out);
    for (long i = 0; i < n; i++)
        fprintf(out, " %llu", (unsigned long long)lat[i]);
    fputc('\n', out);
    return 0;
}

static int
cmd_ballast(long mib)
{
    uint64_t t0 = now_ns();

    if (ballast != NULL) {
        munmap(ballast, ballast_len);
        ballast = NULL;
    }
    if (mib > 0) {
        long page = sysconf(_SC_PAGESIZE);

        ballast_len = (size_t)mib << 20;
        ballast = mmap(NULL, ballast_len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (ballast == MAP_FAILED) {
            ballast = NULL;
            snprintf(bench_errmsg, sizeof(bench_errmsg), "mmap: %s", strerror(errno));
            return -1;
        }
        /*
         * Small pages, as most of a long-running program's heap is: with
         * transparent huge pages a fork would copy 512 times fewer entries
         * and the scenario would measure the kernel's THP policy instead.
         */
        (void)madvise(ballast, ballast_len, MADV_NOHUGEPAGE);
        for (size_t off = 0; off < ballast_len; off += (size_t)page)
            ballast[off] = 1;
    }
    fprintf(out, "ok %.1f %ld\n", (double)(now_ns() - t0) / 1e6, rss_kb());
    return 0;
}

static int
spawn_idle(long n, int in)
{
    for (long i = 0; i < n; i++) {
        struct rec *r;

        if (nidle >= MAXREC) {
            snprintf(bench_errmsg, sizeof(bench_errmsg), "more than %d children", MAXREC);
            errno = ENOMEM;
            return -1;
        }
        if ((r = C->spawn(argv_wait, in, -1)) == NULL)
            return -1;
        idle[nidle++] = r;
    }
    return 0;
}

/* End every idle child (end of file on its stdin) and reap them all. */
static int
release_idle(void)
{
    close_fd(&idle_w);
    for (size_t i = 0; i < nidle; i++) {
        if (C->reap(idle[i], NULL) == -1) {
            nidle = 0;
            return -1;
        }
    }
    nidle = 0;
    close_fd(&idle_r);
    return 0;
}

static int
cmd_idle(long n)
{
    uint64_t t0 = now_ns();

    if (n == 0) {
        if (release_idle() == -1)
            return -1;
    } else {
        if (idle_r == -1 && open_pipe(&idle_r, &idle_w) == -1)
            return -1;
        if (spawn_idle(n, idle_r) == -1)
            return -1;
    }
    fprintf(out, "ok %llu\n", (unsigned long long)(now_ns() - t0));
    return 0;
}

static size_t
heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

static int
cmd_mass(long n)
{
    uint64_t t0, spawn_ns, t2, reap_ns;
    int base = count_fds(), peak, failed = 0;
    char err[sizeof(bench_errmsg)] = "-";
    size_t spawned, h0 = heap_in_use();

    if (nidle != 0 || open_pipe(&idle_r, &idle_w) == -1)
        return -1;
    t0 = now_ns();
    if (spawn_idle(n, idle_r) == -1) {
        /* Report how far it got, then clean up: the limit is a result too. */
        failed = 1;
        snprintf(err, sizeof(err), "%s", bench_errmsg);
        for (char *p = err; *p; p++)
            if (*p == ' ')
                *p = '_';
    }
    spawn_ns = now_ns() - t0;
    peak = count_fds() - base;
    spawned = nidle;
    t2 = now_ns();
    if (release_idle() == -1)
        return -1;
    reap_ns = now_ns() - t2;
    /* Heap still held once every child is reaped and every handle freed. */
    fprintf(out, "ok %zu %llu %llu %d %lld %s\n", spawned, (unsigned long long)spawn_ns,
            (unsigned long long)reap_ns, peak, (long long)heap_in_use() - (long long)h0,
            err);
    (void)failed;
    return 0;
}

static int
cmd_mem(long n)
{
    size_t h0, h1;
    int f0, f1;

    if (nidle != 0 || open_pipe(&idle_r, &idle_w) == -1)
        return -1;
    /*
     * The first hundred pay for what is made once (an attribute object, the
     * events descriptor, the first chunks of the tables); the next n show
     * what one more live handle costs, table growth included.
     */
    if (spawn_idle(100, idle_r) == -1)
        return -1;
    h0 = heap_in_use();
    f0 = count_fds();
    if (spawn_idle(n, idle_r) == -1)
        return -1;
    h1 = heap_in_use();
    f1 = count_fds();
    if (release_idle() == -1)
        return -1;
    fprintf(out, "ok %.1f %.3f\n", ((double)h1 - (double)h0) / (double)n,
            (double)(f1 - f0) / (double)n);
    return 0;
}

static int
cmd_limit(long n)
{
    struct rlimit old, lim;
    char err[sizeof(bench_errmsg)] = "none";
    int fds0, fds1, kids, stray;
    size_t got;

    fds0 = count_fds();
    if (nidle != 0 || open_pipe(&idle_r, &idle_w) == -1)
        return -1;
    getrlimit(RLIMIT_NOFILE, &old);
    lim = old;
    /* Room for the pipe, and 32 descriptors more; numbers start at 0. */
    lim.rlim_cur = (rlim_t)fds0 + 2 + 32;
    if (setrlimit(RLIMIT_NOFILE, &lim) == -1) {
        snprintf(bench_errmsg, sizeof(bench_errmsg), "setrlimit: %s", strerror(errno));
        return -1;
    }
    if (spawn_idle(n, idle_r) == -1)
        snprintf(err, sizeof(err), "%s", bench_errmsg);
    got = nidle;
    setrlimit(RLIMIT_NOFILE, &old);
    kids = count_children();
    stray = kids - (int)got;
    if (release_idle() == -1)
        return -1;
    fds1 = count_fds();
    fprintf(out, "ok %zu %d %d %s\n", got, stray, fds1 - fds0, err);
    return 0;
}

/*
 * What the child's program finds open beyond 0, 1 and 2, from a parent that
 * holds descriptors without close-on-exec (as a program holds those it got
 * from its own parent, or opened without O_CLOEXEC).  The stdio sources are
 * a close-on-exec pipe's ends, as everywhere in the bench.
 */
static int
cmd_clean(void)
{
    int extra[3], keep[3], p[2], fds0, kids, fds1;

    /*
     * One child first, so that what a library makes once (GLib's wake-up
     * descriptor) is not counted as left behind.
     */
    if (cmd_run_quiet() == -1)
        return -1;
    fds0 = count_fds();
    if (pipe2(p, O_CLOEXEC) == -1) {
        snprintf(bench_errmsg, sizeof(bench_errmsg), "pipe2: %s", strerror(errno));
        return -1;
    }
    for (int i = 0; i < 3; i++)
        keep[i] = open("/dev/null", O_RDONLY);
    for (int k = 0; k < 3; k++) {
        struct rec *r = C->spawn(argv_fds, k == 1 ? p[0] : -1, k == 2 ? p[1] : -1);

        if (r == NULL)
            break;
        extra[k] = 0;
        if (C->reap(r, NULL) == -1) {
            if (errno != EPROTO || !WIFEXITED(bench_last_status))
                break;
            extra[k] = WEXITSTATUS(bench_last_status);
        }
        if (k == 2) {
            for (int i = 0; i < 3; i++)
                close(keep[i]);
            close(p[0]);
            close(p[1]);
            kids = count_children();
            fds1 = count_fds();
            fprintf(out, "ok %d %d %d %d %d\n", extra[0], extra[1], extra[2], kids,
                    fds1 - fds0);
            return 0;
        }
    }
    for (int i = 0; i < 3; i++)
        close(keep[i]);
    close(p[0]);
    close(p[1]);
    return -1;
}

/* Children still there and descriptors added since the worker started. */
static int fds_at_start;

static int
cmd_leaks(void)
{
    fprintf(out, "ok %d %d\n", count_children(), count_fds() - fds_at_start);
    return 0;
}

int
worker_main(const char *name, const char *child)
{
    char *line = NULL;
    size_t cap = 0;
    FILE *in;

    if ((C = contender_find(name)) == NULL) {
        fprintf(stderr, "ward-bench: no contender %s\n", name);
        return 2;
    }
    fcntl(3, F_SETFD, FD_CLOEXEC);
    fcntl(4, F_SETFD, FD_CLOEXEC);
    if ((in = fdopen(3, "r")) == NULL || (out = fdopen(4, "w")) == NULL)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    rec_pool_init();
    argv_exit[0] = argv_wait[0] = argv_stamp[0] = argv_fds[0] = (char *)child;
    argv_fds[1] = "fds";
    argv_wait[1] = "wait";
    argv_stamp[1] = "stamp";
    if (C->init() == -1) {
        reply_err();
        return 1;
    }
    fprintf(out, "ok %s\n", C->name);
    fflush(out);
    fds_at_start = count_fds();

    while (getline(&line, &cap, in) > 0) {
        char cmd[32];
        long n = 0, n2 = 0;
        int r = -1;

        bench_errmsg[0] = '\0';
        if (sscanf(line, "%31s %ld %ld", cmd, &n, &n2) < 1)
            continue;
        if (strcmp(cmd, "quit") == 0)
            break;
        else if (strcmp(cmd, "run") == 0)
            r = cmd_run(n);
        else if (strcmp(cmd, "runfor") == 0)
            r = cmd_runfor(n);
        else if (strcmp(cmd, "lat") == 0)
            r = cmd_lat(n);
        else if (strcmp(cmd, "ballast") == 0)
            r = cmd_ballast(n);
        else if (strcmp(cmd, "idle") == 0)
            r = cmd_idle(n);
        else if (strcmp(cmd, "mass") == 0)
            r = cmd_mass(n);
        else if (strcmp(cmd, "mem") == 0)
            r = cmd_mem(n);
        else if (strcmp(cmd, "limit") == 0)
            r = cmd_limit(n);
        else if (strcmp(cmd, "clean") == 0)
            r = cmd_clean();
        else if (strcmp(cmd, "leaks") == 0)
            r = cmd_leaks();
        else if (strcmp(cmd, "threads") == 0)
            r = cmd_threads(out, C, argv_exit, n, n2);
        else if (strcmp(cmd, "mixed") == 0)
            r = cmd_mixed(out, C, argv_exit, n);
        else
            snprintf(bench_errmsg, sizeof(bench_errmsg), "unknown command %s", cmd);
        if (r == -1)
            reply_err();
        fflush(out);
    }
    free(line);
    return 0;
}
