/*
 * bench/bench.c - ward against the kernel floor, posix_spawn, fork, libuv
 * and GLib.  Every ratio is against "floor", the least work that gives a
 * child a clean descriptor table (see contenders.c).  doc/PERFORMANCE.md says what is measured and why.
 *
 * One program, two roles.  Run plainly it is the driver: it starts one
 * worker per contender (itself again, with --worker NAME), so that every
 * contender has a process of its own (ward chooses its backend once per
 * process; libuv and GLib each install a SIGCHLD handler), and sends them
 * the same commands in turn, round after round, starting each round with
 * the next contender, so that whatever else the machine does falls on all of
 * them alike.  Results are medians over rounds, and ratios are taken within
 * a round (the contender against the floor measured moments apart), then
 * their median.
 *
 *   ward-bench --child PATH [--quick | --small] [--out DIR] [--only a,b,...]
 *   ward-bench --child PATH --check [--only a,b,...]
 *
 * --check measures nothing: it checks that the floor and ward start the child
 * with a clean descriptor table, and that scenario 7's threads run and leave
 * no child and no descriptor behind; it exits 1 on any failure (make check).
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- configuration ------------------------------------------------------ */

struct config {
    int quick;
    int rounds_plain, rounds_ballast, rounds_idle, rounds_mass;
    double batch_ms;          /* each contender's turn in a round, ms */
    int lat_batch;            /* latency samples per contender per round */
    int lat_rounds_plain, lat_rounds_idle;
    int ballast_mib;
    int idle_n;
    int mass_n;
    int mem_n;
    int limit_n;
    int rounds_threads;       /* scenario 7, each thread count and the mixed load */
    double threads_ms;        /* each contender's turn in a round of scenario 7, ms */
};

/* Scenario 7: the thread counts, each its own children. */
static const int nthreads[] = { 1, 2, 4, 8 };
#define NTHR (int)(sizeof(nthreads) / sizeof(nthreads[0]))

/*
 * The rounds: a median of per-round ratios over 61 / 21 / 31 rounds (and 15
 * in scenario 7) moved by about 0.02 from run to run on the 2-core machine
 * of doc/PERFORMANCE.md, as much as ward's distance from its targets;
 * twice as many or more cost about 20 s.
 */
static const struct config full = {
    .rounds_plain = 121, .rounds_ballast = 61, .rounds_idle = 81, .rounds_mass = 3,
    .batch_ms = 10,
    .lat_batch = 10, .lat_rounds_plain = 100, .lat_rounds_idle = 60,
    .ballast_mib = 1024, .idle_n = 2000, .mass_n = 10000, .mem_n = 2000,
    .limit_n = 256, .rounds_threads = 31, .threads_ms = 20,
};

static const struct config quick = {
    .quick = 1,
    .rounds_plain = 2, .rounds_ballast = 2, .rounds_idle = 2, .rounds_mass = 1,
    .batch_ms = 3,
    .lat_batch = 5, .lat_rounds_plain = 2, .lat_rounds_idle = 2,
    .ballast_mib = 64, .idle_n = 50, .mass_n = 300, .mem_n = 100,
    .limit_n = 40, .rounds_threads = 1, .threads_ms = 3,
};

/*
 * A small machine, such as a kernel booted under emulation (the ratio of
 * ward to ward-reapable on Linux 7.1+, doc/PERFORMANCE.md): enough rounds
 * for a median, small ballast and populations.
 */
static const struct config small = {
    .rounds_plain = 15, .rounds_ballast = 5, .rounds_idle = 5, .rounds_mass = 1,
    .batch_ms = 30,
    .lat_batch = 5, .lat_rounds_plain = 10, .lat_rounds_idle = 5,
    .ballast_mib = 64, .idle_n = 200, .mass_n = 500, .mem_n = 200,
    .limit_n = 40, .rounds_threads = 3, .threads_ms = 30,
};

static struct config cfg;
/*
 * --scenario 1: only scenarios 1-3 (spawn and reap one child at a time);
 * 5: only the latency scenario; 7: only the threaded one.  A quick look at
 * one target.
 */
static int only_scenario;
static char nofile_note[256];

/* What else the machine did during the run: a noisy run should say so. */
struct cpustat {
    unsigned long long busy, steal, total;
    double load1;
};
static struct cpustat cpu_start, cpu_end;
static double wall_s;

static void
read_cpustat(struct cpustat *c)
{
    unsigned long long v[10] = { 0 };
    FILE *f = fopen("/proc/stat", "re");

    memset(c, 0, sizeof(*c));
    if (f != NULL) {
        if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
            c->busy = v[0] + v[1] + v[2] + v[5] + v[6];
            c->steal = v[7];
            c->total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
        }
        fclose(f);
    }
    if ((f = fopen("/proc/loadavg", "re")) != NULL) {
        if (fscanf(f, "%lf", &c->load1) != 1)
            c->load1 = 0;
        fclose(f);
    }
}

/* ---- small helpers ------------------------------------------------------ */

struct series {
    double *v;
    size_t n, cap;
};

static void
push(struct series *s, double x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        if ((s->v = realloc(s->v, s->cap * sizeof(*s->v))) == NULL) {
            perror("ward-bench");
            exit(1);
        }
    }
    s->v[s->n++] = x;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile; NAN for an empty series. */
static double
pct(const struct series *s, double p)
{
    double *v, r;
    size_t k;

    if (s->n == 0)
        return NAN;
    v = malloc(s->n * sizeof(*v));
    memcpy(v, s->v, s->n * sizeof(*v));
    qsort(v, s->n, sizeof(*v), cmp_double);
    k = (size_t)ceil(p / 100.0 * (double)s->n);
    if (k > 0)
        k--;
    if (k >= s->n)
        k = s->n - 1;
    if (p == 50.0 && s->n % 2 == 0)
        r = (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
    else
        r = v[k];
    free(v);
    return r;
}

static double
median(const struct series *s)
{
    return pct(s, 50.0);
}

/* ---- workers ------------------------------------------------------------ */

enum { PLAIN, BALLAST, IDLE, NPHASES };

struct worker {
    const struct contender *c;
    pid_t pid;
    FILE *to, *from;
    char *reply;
    size_t replycap;
    long spawned[NPHASES];     /* children spawned in the timed batches */
    struct series run[NPHASES]; /* ns per spawn+reap, one value per round */
    struct series lat[2];       /* exit latency ns: plain, with idle children */
    struct series mass_spawn, mass_reap; /* ns per child */
    size_t mass_n;
    int mass_fds;
    long long mass_kept;        /* heap bytes still held after all are reaped */
    char mass_err[256];
    double heap, fdsper;
    long lim_n;
    int lim_stray, lim_fdleak;
    char lim_err[256];
    double ballast_ms;
    long ballast_rss;
    struct series thr[NTHR];    /* scenario 7: ns per child (wall), per round */
    struct series mixed;        /* scenario 7's mixed load, the same */
    long thr_spawned;
    int clean[3];               /* descriptors the child finds beyond 0-2 */
};

static struct worker W[32];
static size_t nw;
static const char *child_path;

static void stop_workers(void);

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("ward-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    stop_workers();
    exit(1);
}

static void
start_worker(struct worker *w, const char *self)
{
    int to[2], from[2];
    pid_t pid;

    if (pipe2(to, O_CLOEXEC) == -1 || pipe2(from, O_CLOEXEC) == -1)
        die("pipe: %s", strerror(errno));
    pid = fork();
    if (pid == -1)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);

        if (devnull > 0)
            dup2(devnull, 0);
        /* Out of the way first, so neither dup2() can clobber the other. */
        int a = fcntl(to[0], F_DUPFD, 10), b = fcntl(from[1], F_DUPFD, 10);

        if (a == -1 || b == -1 || dup2(a, 3) == -1 || dup2(b, 4) == -1)
            _exit(127);
        if (w->c->ward_backend != NULL)
            setenv("WARD_BACKEND", w->c->ward_backend, 1);
        else
            unsetenv("WARD_BACKEND");
        /* So that GLib's allocations show in mallinfo2() (scenario 6). */
        setenv("G_SLICE", "always-malloc", 1);
        execl(self, "ward-bench", "--worker", w->c->name, "--child", child_path,
              (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    w->pid = pid;
    w->to = fdopen(to[1], "w");
    w->from = fdopen(from[0], "r");
}

/* Read one answer; return what follows "ok ", or die with the error. */
static char *
answer(struct worker *w, const char *what)
{
    ssize_t len = getline(&w->reply, &w->replycap, w->from);

    if (len <= 0)
        die("%s: worker died during \"%s\"", w->c->name, what);
    if (w->reply[len - 1] == '\n')
        w->reply[len - 1] = '\0';
    if (strncmp(w->reply, "ok", 2) != 0)
        die("%s: \"%s\" failed: %s", w->c->name, what, w->reply);
    return w->reply[2] == ' ' ? w->reply + 3 : w->reply + 2;
}

static char *
ask(struct worker *w, const char *fmt, ...)
{
    char cmd[128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    fprintf(w->to, "%s\n", cmd);
    fflush(w->to);
    return answer(w, cmd);
}

static void
stop_workers(void)
{
    for (size_t i = 0; i < nw; i++) {
        if (W[i].pid <= 0)
            continue;
        if (W[i].to != NULL) {
            fputs("quit\n", W[i].to);
            fclose(W[i].to);
            W[i].to = NULL;
        }
        while (waitpid(W[i].pid, NULL, 0) == -1 && errno == EINTR)
            ;
        W[i].pid = -1;
    }
}

static struct worker *
worker_named(const char *name)
{
    for (size_t i = 0; i < nw; i++) {
        if (strcmp(W[i].c->name, name) == 0)
            return &W[i];
    }
    return NULL;
}

/* ---- phases ------------------------------------------------------------- */

static void
progress(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("ward-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* A few unmeasured spawns first: page faults, lazy binding, first-use setup. */
static void
warm_up(void)
{
    for (size_t i = 0; i < nw; i++)
        (void)ask(&W[i], "run 3");
}

static void
rounds(int phase, int nrounds)
{
    for (int r = 0; r < nrounds; r++) {
        if (r % 10 == 0)
            progress("  spawn rounds %d-%d of %d", r + 1,
                     r + 10 < nrounds ? r + 10 : nrounds, nrounds);
        for (size_t k = 0; k < nw; k++) {
            struct worker *w = &W[(r + k) % nw];
            char *p = ask(w, "runfor %.0f", cfg.batch_ms);
            double count = strtod(p, &p), ns = strtod(p, NULL);

            push(&w->run[phase], ns / count);
            w->spawned[phase] += (long)count;
        }
    }
}

/*
 * Latency in small batches and many rounds, so that a burst of noise from
 * the host (this is a virtual machine) lands on a few samples of each
 * contender rather than on many samples of one.
 */
static void
lat_rounds(int latidx, int nrounds)
{
    for (int r = 0; r < nrounds; r++) {
        if (r % 25 == 0)
            progress("  latency rounds %d-%d of %d", r + 1,
                     r + 25 < nrounds ? r + 25 : nrounds, nrounds);
        for (size_t k = 0; k < nw; k++) {
            struct worker *w = &W[(r + k) % nw];
            char *p = ask(w, "lat %d", cfg.lat_batch), *end;

            for (;;) {
                double v = strtod(p, &end);

                if (end == p)
                    break;
                push(&w->lat[latidx], v);
                p = end;
            }
        }
    }
}

static void
all(const char *fmt, long n)
{
    for (size_t i = 0; i < nw; i++)
        (void)ask(&W[i], fmt, n);
}

/*
 * Scenario 7: threads spawning at once, interleaved rounds.  Every round of
 * the thread counts comes before the first of the mixed load: the mixed
 * load turns ward's event descriptor on in its worker, for good, and from
 * then on each spawn there also adds its pidfd to the epoll set and each
 * reap takes it out (two epoll_ctl calls on one epoll, shared by every
 * thread), which a program that only spawns and waits never pays.
 */
static void
threads_rounds(void)
{
    struct worker *tw[32];
    size_t ntw = 0;

    for (size_t k = 0; k < nw; k++) {
        if (W[k].c->threads)
            tw[ntw++] = &W[k];
    }
    progress("scenario 7: threads spawning at once");
    for (int r = 0; r < 2 * cfg.rounds_threads; r++) {
        int mixed = r >= cfg.rounds_threads;

        progress("  round %d/%d%s", r % cfg.rounds_threads + 1, cfg.rounds_threads,
                 mixed ? " (mixed load)" : "");
        for (int t = mixed ? NTHR : 0; t <= (mixed ? NTHR : NTHR - 1); t++) {
            for (size_t k = 0; k < ntw; k++) {
                struct worker *w = tw[(r + k) % ntw];
                char *p = t < NTHR ? ask(w, "threads %d %.0f", nthreads[t], cfg.threads_ms)
                                   : ask(w, "mixed %.0f", cfg.threads_ms);
                double count = strtod(p, &p), ns = strtod(p, NULL);

                if (count < 1)
                    die("%s: no child in scenario 7", w->c->name);
                push(t < NTHR ? &w->thr[t] : &w->mixed, ns / count);
                w->thr_spawned += (long)count;
            }
        }
    }
}

static void
run_phases(void)
{
    /*
     * First, while every worker is fresh: the tables ward grows are never
     * shrunk, so measured later their growth would not be counted.
     */
    progress("scenario 6: memory per live handle");
    for (size_t i = 0; i < nw; i++) {
        if (sscanf(ask(&W[i], "mem %d", cfg.mem_n), "%lf %lf", &W[i].heap,
                   &W[i].fdsper) != 2)
            die("%s: bad answer to mem", W[i].c->name);
    }

    if (only_scenario == 7) {
        threads_rounds();
        return;
    }
    if (only_scenario == 5) {
        progress("scenario 5 alone: one child at a time");
        warm_up();
        lat_rounds(0, cfg.lat_rounds_plain);
        progress("scenario 5 alone: with %d idle children alive in each worker", cfg.idle_n);
        all("idle %ld", cfg.idle_n);
        warm_up();
        lat_rounds(1, cfg.lat_rounds_idle);
        all("idle %ld", 0);
        return;
    }

    progress("the child's descriptor table");
    for (size_t i = 0; i < nw; i++) {
        int kids, fds;

        if (sscanf(ask(&W[i], "clean"), "%d %d %d %d %d", &W[i].clean[0], &W[i].clean[1],
                   &W[i].clean[2], &kids, &fds) != 5)
            die("%s: bad answer to clean", W[i].c->name);
        if (kids != 0 || fds != 0)
            die("%s: %d children and %d descriptors left after clean", W[i].c->name, kids,
                fds);
    }

    progress("scenario 1 and 5: one child at a time");
    warm_up();
    rounds(PLAIN, cfg.rounds_plain);
    if (only_scenario != 1)
        lat_rounds(0, cfg.lat_rounds_plain);

    progress("scenario 2: from a parent with %d MiB resident", cfg.ballast_mib);
    for (size_t i = 0; i < nw; i++) {
        char *p = ask(&W[i], "ballast %d", cfg.ballast_mib);

        W[i].ballast_ms = strtod(p, &p);
        W[i].ballast_rss = strtol(p, NULL, 10);
    }
    warm_up();
    rounds(BALLAST, cfg.rounds_ballast);
    all("ballast %ld", 0);

    progress("scenario 3 and 5: with %d idle children alive in each worker", cfg.idle_n);
    all("idle %ld", cfg.idle_n);
    warm_up();
    rounds(IDLE, cfg.rounds_idle);
    if (only_scenario == 1) {
        all("idle %ld", 0);
        return;
    }
    lat_rounds(1, cfg.lat_rounds_idle);
    all("idle %ld", 0);

    progress("scenario 4: %d children at once", cfg.mass_n);
    for (int r = 0; r < cfg.rounds_mass; r++) {
        progress("  round %d/%d", r + 1, cfg.rounds_mass);
        for (size_t k = 0; k < nw; k++) {
            struct worker *w = &W[(r + k) % nw];
            unsigned long long sp, rp;
            char err[256];

            if (sscanf(ask(w, "mass %d", cfg.mass_n), "%zu %llu %llu %d %lld %255s",
                       &w->mass_n, &sp, &rp, &w->mass_fds, &w->mass_kept, err) != 6)
                die("%s: bad answer to mass", w->c->name);
            if (w->mass_n > 0) {
                push(&w->mass_spawn, (double)sp / (double)w->mass_n);
                push(&w->mass_reap, (double)rp / (double)w->mass_n);
            }
            for (char *p = err; *p; p++)
                if (*p == '_')
                    *p = ' ';
            snprintf(w->mass_err, sizeof(w->mass_err), "%s", err);
        }
    }

    progress("at the descriptor limit");
    for (size_t i = 0; i < nw; i++) {
        char *p = ask(&W[i], "limit %d", cfg.limit_n);
        int used = 0;

        if (sscanf(p, "%ld %d %d %n", &W[i].lim_n, &W[i].lim_stray,
                   &W[i].lim_fdleak, &used) < 3)
            die("%s: bad answer to limit", W[i].c->name);
        snprintf(W[i].lim_err, sizeof(W[i].lim_err), "%s", p + used);
    }

    /*
     * Last, because the mixed load turns on ward's event descriptor, after
     * which every spawn in that worker also adds its pidfd to the epoll set.
     */
    threads_rounds();
}

/* ---- report ------------------------------------------------------------- */

static FILE *md;

static const char *
us(double ns)
{
    static char buf[8][32];
    static int k;
    char *b = buf[k++ % 8];
    double u = ns / 1000;

    if (isnan(ns))
        return "–";
    if (u < 10)
        snprintf(b, 32, "%.2f", u);
    else if (u < 100)
        snprintf(b, 32, "%.1f", u);
    else
        snprintf(b, 32, "%.0f", u);
    return b;
}

static const char *
x(double r)
{
    static char buf[8][32];
    static int k;
    char *b = buf[k++ % 8];

    if (isnan(r))
        return "–";
    snprintf(b, 32, r >= 100 ? "%.0f" : r >= 10 ? "%.1f" : "%.2f", r);
    return b;
}

/* Median over rounds of a's time over b's time, each pair from one round. */
static double
paired_series(const struct series *a, const struct series *b)
{
    struct series s = { 0 };
    double m;

    for (size_t i = 0; i < a->n && i < b->n; i++)
        push(&s, a->v[i] / b->v[i]);
    m = median(&s);
    free(s.v);
    return m;
}

static double
paired(const struct worker *a, const struct worker *b, int phase)
{
    if (a == NULL || b == NULL)
        return NAN;
    return paired_series(&a->run[phase], &b->run[phase]);
}

/* The same for scenario 7: t is an index into nthreads, or NTHR for mixed. */
static double
paired_thr(const struct worker *a, const struct worker *b, int t)
{
    if (a == NULL || b == NULL || !a->c->threads || !b->c->threads)
        return NAN;
    return t < NTHR ? paired_series(&a->thr[t], &b->thr[t])
                    : paired_series(&a->mixed, &b->mixed);
}

/* Children per ms from a median of ns per child. */
static const char *
per_ms(const struct series *s)
{
    static char buf[8][32];
    static int k;
    char *b = buf[k++ % 8];
    double m = median(s);

    if (isnan(m))
        return "–";
    snprintf(b, 32, "%.1f", 1e6 / m);
    return b;
}

static void
machine(FILE *f)
{
    char model[256] = "unknown", line[512];
    struct utsname u;
    struct rlimit rl;
    FILE *ci = fopen("/proc/cpuinfo", "re");

    while (ci != NULL && fgets(line, sizeof(line), ci) != NULL) {
        char *p = strchr(line, ':');

        if (strncmp(line, "model name", 10) == 0 && p != NULL) {
            snprintf(model, sizeof(model), "%s", p + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    }
    if (ci != NULL)
        fclose(ci);
    uname(&u);
    getrlimit(RLIMIT_NOFILE, &rl);
    fprintf(f, "- CPU: %s, %ld online cores\n", model, sysconf(_SC_NPROCESSORS_ONLN));
    fprintf(f, "- Kernel: %s %s (%s); glibc %s\n", u.sysname, u.release, u.machine,
            gnu_get_libc_version());
    fprintf(f, "- ward %s", ward_version());
#ifdef HAVE_UV
    fprintf(f, ", libuv %s", uv_version_string());
#endif
#ifdef HAVE_GLIB
    fprintf(f, ", GLib %u.%u.%u", glib_major_version, glib_minor_version,
            glib_micro_version);
#endif
    fprintf(f, "\n- RLIMIT_NOFILE during the run: %llu (%s)\n",
            (unsigned long long)rl.rlim_cur, nofile_note);
    {
        struct rusage ru;
        double tck = (double)sysconf(_SC_CLK_TCK), ncpu = (double)sysconf(_SC_NPROCESSORS_ONLN);
        double busy = (double)(cpu_end.busy - cpu_start.busy) / tck;
        double steal = (double)(cpu_end.steal - cpu_start.steal) / tck;
        double ours, others;

        getrusage(RUSAGE_CHILDREN, &ru);
        ours = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        others = busy - ours;
        if (others < 0)
            others = 0;
        fprintf(f, "- During the run (%.0f s): load average %.1f at the start, %.1f at "
                   "the end; other processes used %.0f%% of the machine's CPU time, "
                   "the hypervisor stole %.0f%%%s\n",
                wall_s, cpu_start.load1, cpu_end.load1, 100 * others / (wall_s * ncpu),
                100 * steal / (wall_s * ncpu),
                others / (wall_s * ncpu) > 0.1 || steal / (wall_s * ncpu) > 0.1
                    ? ". **The machine was busy: treat this run with care.**"
                    : "");
    }
}

static void
report(void)
{
    struct worker *fl = worker_named("floor"), *wd = worker_named("ward");
    struct worker *uv = worker_named("libuv"), *gl = worker_named("glib");
    const char *mib = cfg.ballast_mib == 1024 ? "1 GiB" : NULL;
    char mibbuf[32];

    if (mib == NULL) {
        snprintf(mibbuf, sizeof(mibbuf), "%d MiB", cfg.ballast_mib);
        mib = mibbuf;
    }
    if (cfg.quick)
        fprintf(md, "**Quick smoke run: numbers are not meaningful.**\n\n");
    fprintf(md, "Machine:\n\n");
    machine(md);

    if (only_scenario == 5)
        goto scenario5;
    if (only_scenario == 7)
        goto scenario7;
    fprintf(md, "\n### Scenarios 1–3: spawn and reap one child at a time\n\n");
    fprintf(md, "Median µs per spawn+reap over %d / %d / %d interleaved rounds of "
                "%.0f ms per contender (as many children as fit, at least one); "
                "\"thr.\" is throughput relative to the floor, the least work that "
                "gives a child a clean descriptor table (floor time / "
                "contender time, median of per-round ratios; higher is better).\n\n",
            cfg.rounds_plain, cfg.rounds_ballast, cfg.rounds_idle, cfg.batch_ms);
    fprintf(md, "| contender | S1 µs | thr. | S2 µs (%s parent) | thr. | S3 µs (%d alive) | thr. |\n",
            mib, cfg.idle_n);
    fprintf(md, "|---|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < nw; i++) {
        struct worker *w = &W[i];

        fprintf(md, "| %s |", w->c->name);
        for (int p = 0; p < NPHASES; p++)
            fprintf(md, " %s | %s |", us(median(&w->run[p])), x(paired(fl, w, p)));
        fputc('\n', md);
    }
    if (only_scenario == 1)
        return;

scenario5:
    fprintf(md, "\n### Scenario 5: exit-notification latency\n\n");
    fprintf(md, "µs from the child's last clock_gettime() before _exit() to the "
                "parent's wait returning or its exit callback running (the child "
                "writes the time to a pipe; the parent reads it afterwards). Per "
                "contender %zu samples alone and %zu with %d idle children alive, "
                "taken %d at a time, interleaved.\n\n",
            fl != NULL ? fl->lat[0].n : (size_t)0, fl != NULL ? fl->lat[1].n : (size_t)0,
            cfg.idle_n, cfg.lat_batch);
    fprintf(md, "| contender | p50 | p99 | p99 ÷ floor | p50 (%d alive) | p99 (%d alive) | p99 ÷ floor |\n",
            cfg.idle_n, cfg.idle_n);
    fprintf(md, "|---|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < nw; i++) {
        struct worker *w = &W[i];

        fprintf(md, "| %s |", w->c->name);
        for (int k = 0; k < 2; k++)
            fprintf(md, " %s | %s | %s |", us(pct(&w->lat[k], 50)), us(pct(&w->lat[k], 99)),
                    x(fl != NULL ? pct(&w->lat[k], 99) / pct(&fl->lat[k], 99) : NAN));
        fputc('\n', md);
    }

    if (only_scenario == 5)
        return;

    fprintf(md, "\n### Scenario 4: %d children alive at once, then all reaped\n\n", cfg.mass_n);
    fprintf(md, "Idle children (blocked reading a shared pipe) started one after "
                "another, then the pipe is closed so that all exit together, and all "
                "are reaped. Median over %d rounds. \"descriptors at peak\" counts "
                "the worker's descriptors beyond those it had before; \"heap kept after\" "
                "is the heap still in use once all are reaped and freed (from the "
                "last round). A contender "
                "that keeps one descriptor per child can have at most RLIMIT_NOFILE children "
                "(see the machine above and the descriptor-limit table below).\n\n",
            cfg.rounds_mass);
    fprintf(md, "| contender | alive | spawn µs/child | reap µs/child | total s | descriptors at peak | heap kept after, KiB | failure |\n");
    fprintf(md, "|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (size_t i = 0; i < nw; i++) {
        struct worker *w = &W[i];
        double sp = median(&w->mass_spawn), rp = median(&w->mass_reap);

        fprintf(md, "| %s | %zu | %s | %s | %.2f | %d | %.0f | %s |\n", w->c->name, w->mass_n,
                us(sp), us(rp), (sp + rp) * (double)w->mass_n / 1e9, w->mass_fds,
                (double)w->mass_kept / 1024,
                strcmp(w->mass_err, "-") == 0 ? "none" : w->mass_err);
    }

    fprintf(md, "\n### Scenario 6: memory per live handle\n\n");
    fprintf(md, "Heap (mallinfo2 in-use bytes, all arenas) and descriptors added per "
                "live child, from 100 to %d live children, measured first in each "
                "worker (so that the growth of its tables counts); what the caller keeps per "
                "child is listed apart (the bench keeps it outside the heap).\n\n",
            100 + cfg.mem_n);
    fprintf(md, "| contender | heap B/handle | descriptors/handle | caller keeps B |\n");
    fprintf(md, "|---|---:|---:|---:|\n");
    for (size_t i = 0; i < nw; i++)
        fprintf(md, "| %s | %.0f | %.2f | %zu |\n", W[i].c->name, W[i].heap, W[i].fdsper,
                W[i].c->caller_bytes);

    fprintf(md, "\n### At the descriptor limit\n\n");
    fprintf(md, "RLIMIT_NOFILE lowered to 32 above the descriptors open, then idle "
                "children spawned until the first failure (at most %d).\n\n", cfg.limit_n);
    fprintf(md, "| contender | children started | first error | stray processes | descriptors leaked |\n");
    fprintf(md, "|---|---:|---|---:|---:|\n");
    for (size_t i = 0; i < nw; i++)
        fprintf(md, "| %s | %ld | %s | %d | %d |\n", W[i].c->name, W[i].lim_n,
                W[i].lim_err, W[i].lim_stray, W[i].lim_fdleak);

    fprintf(md, "\n### The child's descriptor table\n\n");
    fprintf(md, "Descriptors the child's program finds open beyond 0, 1 and 2, when the "
                "parent holds 3 descriptors without close-on-exec besides any it "
                "inherited from whoever started the bench: with stdio inherited, with "
                "stdin from a pipe, with stdout to a pipe (the pipes close-on-exec, as "
                "everywhere in the bench). 0 is a clean table; any other count depends "
                "on what the bench inherited.\n\n");
    fprintf(md, "| contender | stdio inherited | stdin mapped | stdout mapped |\n");
    fprintf(md, "|---|---:|---:|---:|\n");
    for (size_t i = 0; i < nw; i++)
        fprintf(md, "| %s | %d | %d | %d |\n", W[i].c->name, W[i].clean[0], W[i].clean[1],
                W[i].clean[2]);

scenario7:
    fprintf(md, "\n### Scenario 7: threads spawning at once\n\n");
    fprintf(md, "Children spawned and reaped per ms, all threads together (wall time from "
                "the first thread's start to the last one's end), median over %d "
                "interleaved rounds of %.0f ms per contender and thread count. With "
                "1, 2, 4 and 8 threads each spawns and reaps its own children one at a "
                "time; in \"mixed\", 4 threads spawn (at most %d children unreaped) "
                "while 2 threads wait for whichever child ends first: ward with "
                "poll(ward_events_fd) + ward_dispatch and a callback per child (ward has "
                "no wait for any private child), the floor with epoll_wait on its "
                "pidfds + waitid(P_PIDFD), posix_spawn with waitpid(-1) (after a "
                "semaphore the spawners post, so that no waiter calls it while no child "
                "exists). \"thr.\" is throughput relative to the floor, median of "
                "per-round ratios.\n\n",
            cfg.rounds_threads, cfg.threads_ms, 64);
    fprintf(md, "| contender |");
    for (int t = 0; t < NTHR; t++)
        fprintf(md, " %d thread%s /ms | thr. |", nthreads[t], nthreads[t] > 1 ? "s" : "");
    fprintf(md, " mixed /ms | thr. |\n|---|");
    for (int t = 0; t <= NTHR; t++)
        fprintf(md, "---:|---:|");
    fputc('\n', md);
    for (size_t i = 0; i < nw; i++) {
        struct worker *w = &W[i];

        if (!w->c->threads)
            continue;
        fprintf(md, "| %s |", w->c->name);
        for (int t = 0; t < NTHR; t++)
            fprintf(md, " %s | %s |", per_ms(&w->thr[t]), x(paired_thr(fl, w, t)));
        fprintf(md, " %s | %s |\n", per_ms(&w->mixed), x(paired_thr(fl, w, NTHR)));
    }
    if (only_scenario == 7)
        return;

    if (wd != NULL && fl != NULL) {
        struct {
            const char *what;
            double got;
            double want;
            int at_most;
        } t[24];
        int nt = 0;
        double p99w = pct(&wd->lat[0], 99), p99f = pct(&fl->lat[0], 99);

        t[nt++] = (typeof(t[0])){ "S1: ward throughput ÷ floor", paired(fl, wd, PLAIN), 0.9, 0 };
        t[nt++] = (typeof(t[0])){ "S2: ward throughput ÷ floor", paired(fl, wd, BALLAST), 0.9, 0 };
        t[nt++] = (typeof(t[0])){ "S3: ward throughput ÷ floor", paired(fl, wd, IDLE), 0.9, 0 };
        /*
         * Taken from different phases of the run, so the machine's own drift
         * between them is in these: the floor's ratio of the same phases is
         * shown beside each, for the reader to tell ward's share from it.
         */
        for (int k = 0; k < 2; k++) {
            static const int later[2] = { BALLAST, IDLE };
            static char what[2][96];

            snprintf(what[k], sizeof(what[k]),
                     "ward S%d throughput ÷ S1 throughput (the floor's own: %s)", k + 2,
                     x(median(&fl->run[PLAIN]) / median(&fl->run[later[k]])));
            t[nt++] = (typeof(t[0])){ what[k],
                                      median(&wd->run[PLAIN]) / median(&wd->run[later[k]]), 0.9, 0 };
        }
        if (uv != NULL) {
            t[nt++] = (typeof(t[0])){ "S1: ward ÷ libuv (throughput)", paired(uv, wd, PLAIN), 2, 0 };
            t[nt++] = (typeof(t[0])){ "S2: ward ÷ libuv (throughput)", paired(uv, wd, BALLAST), 100, 0 };
            t[nt++] = (typeof(t[0])){ "S3: ward ÷ libuv (throughput)", paired(uv, wd, IDLE), 3, 0 };
        }
        if (gl != NULL) {
            t[nt++] = (typeof(t[0])){ "S1: ward ÷ GLib (throughput)", paired(gl, wd, PLAIN), 2, 0 };
            t[nt++] = (typeof(t[0])){ "S2: ward ÷ GLib (throughput)", paired(gl, wd, BALLAST), 100, 0 };
            t[nt++] = (typeof(t[0])){ "S3: ward ÷ GLib (throughput)", paired(gl, wd, IDLE), 3, 0 };
        }
        for (int k = 0; k < NTHR; k++) {
            static char what[NTHR][64];

            snprintf(what[k], sizeof(what[k]), "S7: ward throughput ÷ floor, %d thread%s",
                     nthreads[k], nthreads[k] > 1 ? "s" : "");
            t[nt++] = (typeof(t[0])){ what[k], paired_thr(fl, wd, k), 0.9, 0 };
        }
        t[nt++] = (typeof(t[0])){ "S5: ward p99 ÷ floor p99", p99w / p99f, 1.2, 1 };
        t[nt++] = (typeof(t[0])){ "S6: ward heap bytes per live handle", wd->heap, 256, 1 };
        t[nt++] = (typeof(t[0])){ "S6: ward descriptors per live handle", wd->fdsper, 1, 1 };

        fprintf(md, "\n### Targets (issues 5 and 17), for ward with the Linux backend\n\n");
        fprintf(md, "| target | wanted | measured | verdict |\n|---|---:|---:|---|\n");
        for (int i = 0; i < nt; i++) {
            int ok = t[i].at_most ? t[i].got <= t[i].want : t[i].got >= t[i].want;

            fprintf(md, "| %s | %s %g | %s | %s |\n", t[i].what, t[i].at_most ? "≤" : "≥",
                    t[i].want, x(t[i].got), isnan(t[i].got) ? "not measured" : ok ? "meets" : "**misses**");
        }
    }

    fprintf(md, "\n### Contenders\n\n");
    for (size_t i = 0; i < nw; i++)
        fprintf(md, "- **%s**: %s\n", W[i].c->name, W[i].c->what);
    fprintf(md, "\nChildren spawned in the timed turns (S1/S2/S3, S7):");
    for (size_t i = 0; i < nw; i++) {
        fprintf(md, " %s %ld/%ld/%ld", W[i].c->name, W[i].spawned[0], W[i].spawned[1],
                W[i].spawned[2]);
        if (W[i].c->threads)
            fprintf(md, ", %ld", W[i].thr_spawned);
        fputs(i + 1 < nw ? ";" : ".\n", md);
    }
}

static void
plot_data(const char *dir)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/spawn.dat", dir);
    if ((f = fopen(path, "w")) == NULL)
        die("%s: %s", path, strerror(errno));
    fputs("scenario", f);
    for (size_t i = 0; i < nw; i++)
        fprintf(f, " %s", W[i].c->name);
    fputc('\n', f);
    for (int p = 0; p < NPHASES; p++) {
        static const char *name[] = { "\"S1 plain\"", "\"S2 big parent\"", "\"S3 children alive\"" };

        fputs(name[p], f);
        for (size_t i = 0; i < nw; i++)
            fprintf(f, " %.3f", median(&W[i].run[p]) / 1000);
        fputc('\n', f);
    }
    fclose(f);

    snprintf(path, sizeof(path), "%s/latency.dat", dir);
    if ((f = fopen(path, "w")) == NULL)
        die("%s: %s", path, strerror(errno));
    fputs("stat", f);
    for (size_t i = 0; i < nw; i++)
        fprintf(f, " %s", W[i].c->name);
    fputc('\n', f);
    for (int k = 0; k < 2; k++) {
        for (int q = 0; q < 2; q++) {
            fprintf(f, "\"%s%s\"", q == 0 ? "p50" : "p99", k == 0 ? "" : ", alive");
            for (size_t i = 0; i < nw; i++)
                fprintf(f, " %.3f", pct(&W[i].lat[k], q == 0 ? 50 : 99) / 1000);
            fputc('\n', f);
        }
    }
    fclose(f);

    /* Scenario 7: children per ms by thread count, one column per contender. */
    snprintf(path, sizeof(path), "%s/threads.dat", dir);
    if ((f = fopen(path, "w")) == NULL)
        die("%s: %s", path, strerror(errno));
    fputs("threads", f);
    for (size_t i = 0; i < nw; i++) {
        if (W[i].c->threads)
            fprintf(f, " %s", W[i].c->name);
    }
    fputc('\n', f);
    for (int t = 0; t <= NTHR; t++) {
        if (t < NTHR)
            fprintf(f, "\"%d\"", nthreads[t]);
        else
            fputs("\"4+2 mixed\"", f);
        for (size_t i = 0; i < nw; i++) {
            if (W[i].c->threads)
                fprintf(f, " %.3f", 1e6 / median(t < NTHR ? &W[i].thr[t] : &W[i].mixed));
        }
        fputc('\n', f);
    }
    fclose(f);
}

/* ---- --check ------------------------------------------------------------- */

static int check_failed;

static void __attribute__((format(printf, 2, 3)))
check(int ok, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs(ok ? "ok: " : "FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    check_failed |= !ok;
}

static void
check_scenario7(struct worker *w)
{
    for (int t = 0; t < NTHR; t++) {
        long n = strtol(ask(w, "threads %d 2", nthreads[t]), NULL, 10);

        check(n >= nthreads[t], "%s: %d thread%s spawned and reaped %ld children",
              w->c->name, nthreads[t], nthreads[t] > 1 ? "s" : "", n);
    }
    {
        long n = strtol(ask(w, "mixed 2"), NULL, 10);

        check(n >= 1, "%s: the mixed load spawned and reaped %ld children", w->c->name, n);
    }
}

static int
run_check(void)
{
    for (size_t i = 0; i < nw; i++) {
        struct worker *w = &W[i];
        int extra[3], kids, fds, k0, f0, k1, f1;
        int must = strcmp(w->c->name, "floor") == 0 || strcmp(w->c->name, "ward") == 0 ||
                   strcmp(w->c->name, "ward-posix") == 0;

        if (sscanf(ask(w, "clean"), "%d %d %d %d %d", &extra[0], &extra[1], &extra[2], &kids,
                   &fds) != 5)
            die("%s: bad answer to clean", w->c->name);
        if (must)
            check(extra[0] == 0 && extra[1] == 0 && extra[2] == 0,
                  "%s: the child's table beyond 0-2 holds %d / %d / %d descriptors "
                  "(stdio inherited / stdin mapped / stdout mapped)",
                  w->c->name, extra[0], extra[1], extra[2]);
        check(kids == 0 && fds == 0, "%s: %d children and %d descriptors left after clean",
              w->c->name, kids, fds);
        if (!w->c->threads)
            continue;
        /*
         * Twice: the first mixed load makes what the contender keeps for it
         * (an epoll set, ward's events descriptor), the second must add none.
         */
        check_scenario7(w);
        if (sscanf(ask(w, "leaks"), "%d %d", &k0, &f0) != 2)
            die("%s: bad answer to leaks", w->c->name);
        check_scenario7(w);
        if (sscanf(ask(w, "leaks"), "%d %d", &k1, &f1) != 2)
            die("%s: bad answer to leaks", w->c->name);
        check(k0 == 0 && k1 == 0 && f1 == f0,
              "%s: scenario 7 left %d children and %d descriptors", w->c->name, k1, f1 - f0);
    }
    stop_workers();
    return check_failed;
}

/* ---- main ---------------------------------------------------------------- */

/* As many descriptors as the machine allows: scenario 4 needs 10,000+. */

static void
raise_nofile(void)
{
    struct rlimit rl;
    long nr_open = 1048576;
    FILE *f = fopen("/proc/sys/fs/nr_open", "re");

    if (f != NULL) {
        if (fscanf(f, "%ld", &nr_open) != 1)
            nr_open = 1048576;
        fclose(f);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    /* The soft limit up to the hard one; past it only with privilege. */
    if ((rlim_t)cfg.mass_n * 2 + 1024 > rl.rlim_max) {
        struct rlimit up = { (rlim_t)nr_open, (rlim_t)nr_open };

        if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
            snprintf(nofile_note, sizeof(nofile_note),
                     "raised to fs.nr_open, %ld", nr_open);
            return;
        }
        snprintf(nofile_note, sizeof(nofile_note),
                 "the hard limit; raising that to fs.nr_open (%ld) was refused: %s",
                 nr_open, strerror(errno));
    } else {
        snprintf(nofile_note, sizeof(nofile_note), "the hard limit");
    }
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

/* Is name one of the comma-separated words of list? */
static int
listed(const char *list, const char *name)
{
    size_t l = strlen(name);

    for (const char *p = list; *p != '\0';) {
        size_t w = strcspn(p, ",");

        if (w == l && strncmp(p, name, l) == 0)
            return 1;
        p += w;
        if (*p == ',')
            p++;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const char *out_dir = ".", *only = NULL;
    char path[4096], self[4096];
    ssize_t n;
    int checking = 0;

    if (argc >= 3 && strcmp(argv[1], "--worker") == 0) {
        const char *child = argc >= 5 && strcmp(argv[3], "--child") == 0 ? argv[4] : NULL;

        if (child == NULL)
            return 2;
        return worker_main(argv[2], child);
    }
    cfg = full;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            cfg = quick;
        else if (strcmp(argv[i], "--small") == 0)
            cfg = small;
        else if (strcmp(argv[i], "--check") == 0)
            checking = 1;
        else if (strcmp(argv[i], "--child") == 0 && i + 1 < argc)
            child_path = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out_dir = argv[++i];
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--scenario") == 0 && i + 1 < argc &&
                 (strcmp(argv[i + 1], "1") == 0 || strcmp(argv[i + 1], "5") == 0 ||
                  strcmp(argv[i + 1], "7") == 0))
            only_scenario = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: ward-bench --child PATH [--quick | --small | --check] [--out DIR] "
                            "[--only a,b] [--scenario 1|5|7]\n");
            return 2;
        }
    }
    if (child_path == NULL || access(child_path, X_OK) == -1) {
        fprintf(stderr, "ward-bench: --child PATH: the static child program is needed\n");
        return 2;
    }
    if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
        die("readlink /proc/self/exe: %s", strerror(errno));
    self[n] = '\0';
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();

    for (size_t i = 0; i < ncontenders; i++) {
        if (only != NULL && strcmp(contenders[i].name, "floor") != 0 &&
            !listed(only, contenders[i].name))
            continue;
        /*
         * ward-reapable measures what kernel privacy costs on Linux 7.1+
         * (doc/PERFORMANCE.md): run only when asked for by name.
         */
        if (only == NULL && strcmp(contenders[i].name, "ward-reapable") == 0)
            continue;
        W[nw].c = &contenders[i];
        start_worker(&W[nw], self);
        nw++;
    }
    for (size_t i = 0; i < nw; i++)
        (void)answer(&W[i], "start");
    if (checking)
        return run_check();

    read_cpustat(&cpu_start);
    {
        uint64_t t0 = now_ns();

        run_phases();
        stop_workers();
        wall_s = (double)(now_ns() - t0) / 1e9;
    }
    read_cpustat(&cpu_end);

    snprintf(path, sizeof(path), "%s/result.md", out_dir);
    if ((md = fopen(path, "w")) == NULL)
        die("%s: %s", path, strerror(errno));
    report();
    fclose(md);
    plot_data(out_dir);
    return 0;
}
