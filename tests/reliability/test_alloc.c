/*
 * test_alloc.c - allocation failures, swept over every allocation.
 *
 * This program links failalloc.c, which defines malloc, calloc, realloc
 * and free: libward.so's calls (and the C library's own) reach them, and
 * the Nth call made by the test thread after failalloc_arm(N) fails with
 * ENOMEM.  Each sweep calls one function with N = 1, 2, 3... until a call
 * makes fewer than N allocations, so every allocation the call makes (in
 * ward or in the C library on its behalf) fails once.  After each failure:
 *
 *  - the call returned the documented error (ENOMEM), or, where ward can
 *    do without the memory (a pid table that could not grow), succeeded;
 *  - no descriptor, no child and no heap byte is left behind (mallinfo2);
 *  - a failed attribute setter left the attribute as it was (checked by
 *    spawning with it and reading what the child got);
 *  - ward still works: the test spawns and waits once more.
 *
 * Allocations ward makes once per process (its first slot chunk) are swept
 * by tests/reliability/probe, run here in a fresh process for each N.
 */
#include "rel.h"
#include "failalloc.h"

WT_SUITE(alloc);

static void need_failalloc(void)
{
    if (!failalloc_available())
        cr_skip_test("allocation failures cannot be injected in this build "
                     "(sanitizers own the allocator)");
}

/* ---- The sweep ----------------------------------------------------------- */

struct op {
    const char *name;
    void *ctx;
    void (*setup)(void *ctx);           /* unarmed, before each call */
    int (*call)(void *ctx);             /* armed: 0 or -1 with errno */
    void (*verify)(void *ctx, int ok);  /* unarmed: what the call did or did not do */
    void (*teardown)(void *ctx);        /* unarmed, after each call */
    int tolerated;                      /* some failure may be absorbed (r == 0) */
    int nowarm;                         /* no unarmed round first */
};

static void ward_still_works(void)
{
    wt_reap_exit(wt_spawn_ok(NULL, "exit", "17"), 17);
}

/* Failures the last sweep saw absorbed (the call succeeded anyway). */
static unsigned long last_absorbed;

static unsigned long sweep(const struct op *op)
{
    unsigned long n, absorbed = 0;

    need_failalloc();
    /* One unarmed round: what is made once per process now exists. */
    if (op->nowarm) {
        /* Only what the setup makes once (a grown table) may be made now. */
        if (op->setup)
            op->setup(op->ctx);
        if (op->teardown)
            op->teardown(op->ctx);
    } else {
        if (op->setup)
            op->setup(op->ctx);
        cr_assert_eq(op->call(op->ctx), 0, "%s without faults: %s", op->name,
                     strerror(errno));
        if (op->verify)
            op->verify(op->ctx, 1);
        if (op->teardown)
            op->teardown(op->ctx);
    }

    for (n = 1; n < 10000; n++) {
        size_t heap_before_setup = rel_heap(), h0;
        unsigned long failed, calls;
        int fds0, kids0, r, err;
        char log[512];

        if (op->setup)
            op->setup(op->ctx);
        h0 = rel_heap();
        fds0 = wt_count_fds();
        kids0 = rel_count_children();
        failalloc_arm(n);
        errno = 0;
        r = op->call(op->ctx);
        err = errno;
        failed = failalloc_failed();
        calls = failalloc_disarm();
        failalloc_log(log, sizeof log);
        if (failed == 0) {
            cr_assert_eq(r, 0, "%s: failed with %s although no allocation failed",
                         op->name, strerror(err));
            if (op->verify)
                op->verify(op->ctx, 1);
            if (op->teardown)
                op->teardown(op->ctx);
            if (op->nowarm) {
                /* Now that every cache exists: whole rounds leave nothing behind. */
                size_t h1 = 0;
                for (int round = 0; round < 3; round++) {
                    if (op->setup)
                        op->setup(op->ctx);
                    cr_assert_eq(op->call(op->ctx), 0);
                    if (op->verify)
                        op->verify(op->ctx, 1);
                    if (op->teardown)
                        op->teardown(op->ctx);
                    if (round == 0)
                        h1 = rel_heap();
                }
                cr_assert_eq(rel_heap(), h1, "%s: heap grew by %zd bytes over two rounds",
                             op->name, (ssize_t)(rel_heap() - h1));
            }
            cr_log_info("%s: %lu allocation(s) swept (%lu absorbed)", op->name, n - 1,
                        absorbed);
            last_absorbed = absorbed;
            return n - 1;
        }
        if (r == 0) {
            cr_assert(op->tolerated, "%s: allocation %lu of %lu failed, yet the call "
                      "reported success", op->name, n, calls);
            absorbed++;
        } else {
            cr_assert_eq(r, -1);
            cr_assert_eq(err, ENOMEM, "%s: allocation %lu of %lu failed: errno %d (%s), "
                         "expected ENOMEM", op->name, n, calls, err, strerror(err));
            cr_assert_eq(wt_count_fds(), fds0, "%s: allocation %lu failed: %d descriptor(s) "
                         "left", op->name, n, wt_count_fds() - fds0);
            cr_assert_eq(rel_count_children(), kids0, "%s: allocation %lu failed: %d child(ren) "
                         "left", op->name, n, rel_count_children() - kids0);
            /*
             * Without a warm-up round, a failure after ward's claim slots got
             * their new chunk keeps that chunk (chunks are never freed, by
             * design: a signal handler may scan them at any time).  That is a
             * cache, bounded by the number of children alive at once; the
             * end of the sweep checks that nothing grows per call.
             */
            if (op->nowarm)
                cr_assert_leq((ssize_t)(rel_heap() - h0), 4096, "%s: allocation %lu failed: "
                              "heap grew by %zd bytes; allocations:%s", op->name, n,
                              (ssize_t)(rel_heap() - h0), log);
            else
                cr_assert_eq(rel_heap(), h0, "%s: allocation %lu failed: heap grew by %zd "
                             "bytes; allocations:%s", op->name, n,
                             (ssize_t)(rel_heap() - h0), log);
        }
        if (op->verify)
            op->verify(op->ctx, r == 0);
        if (op->teardown)
            op->teardown(op->ctx);
        if (r == -1 && !op->nowarm)
            cr_assert_eq(rel_heap(), heap_before_setup, "%s: allocation %lu failed: heap "
                         "grew by %zd bytes after teardown", op->name, n,
                         (ssize_t)(rel_heap() - heap_before_setup));
        ward_still_works();
    }
    cr_assert_fail("%s: sweep did not end", op->name);
    return 0;
}

/* ---- ward_spawn ------------------------------------------------------------ */

struct spawn_ctx {
    ward_attr *attr;
    const char *file;
    char *argv[8];
    ward_child *c;
    int expect_code;
    const char *expect_out; /* on stdout, if a pipe */
};

static int spawn_call(void *p)
{
    struct spawn_ctx *s = p;

    s->c = ward_spawn(s->file, s->argv, s->attr);
    return s->c != NULL ? 0 : -1;
}

static void spawn_verify(void *p, int ok)
{
    struct spawn_ctx *s = p;
    char out[256] = "";
    int st;

    if (!ok) {
        cr_assert_null(s->c);
        return;
    }
    if (s->expect_out != NULL)
        wt_read_all(ward_stdio(s->c, 1), out, sizeof out);
    st = wt_wait_ok(s->c);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == s->expect_code, "status 0x%x", st);
    if (s->expect_out != NULL)
        cr_assert_str_eq(out, s->expect_out);
    ward_free(s->c);
    s->c = NULL;
}

Test(alloc, spawn_with_default_attributes)
{
    struct spawn_ctx s = {0};
    struct op op = {"ward_spawn(helper, NULL attr)", &s, NULL, spawn_call, spawn_verify,
                    NULL, 0, 0};

    s.argv[0] = (char *)wt_helper();
    s.argv[1] = "12";
    s.expect_code = 12;
    /* The handle: the child's plan lives on the stack for stdio alone. */
    cr_assert_geq(sweep(&op), 1);
}

/* More mapped descriptors than the plan keeps on the stack: its arrays are allocated. */
Test(alloc, spawn_with_many_maps)
{
    struct spawn_ctx s = {0};
    struct op op = {"ward_spawn(12 mapped descriptors)", &s, NULL, spawn_call, spawn_verify,
                    NULL, 0, 0};

    s.attr = ward_attr_new();
    cr_assert_not_null(s.attr);
    for (int fd = 10; fd < 22; fd++)
        cr_assert_eq(ward_attr_mapfd(s.attr, 2, fd), 0);
    s.argv[0] = (char *)wt_helper();
    s.argv[1] = "14";
    s.expect_code = 14;
    cr_assert_geq(sweep(&op), 2);
    ward_attr_free(s.attr);
}

/* Every allocation of the preparation: environment edits, PATH search, pipes, maps. */
Test(alloc, spawn_with_every_attribute)
{
    struct spawn_ctx s = {0};
    struct op op = {"ward_spawn(PATH search, env edits, pipes, maps, cwd)", &s, NULL,
                    spawn_call, spawn_verify, NULL, 0, 0};
    char path[PATH_MAX + 32];
    char *env[] = {"A=1", "WARD_REL_GONE=1", NULL};

    s.attr = ward_attr_new();
    cr_assert_not_null(s.attr);
    snprintf(path, sizeof path, "/nonexistent:%s", wt_helper_dir());
    cr_assert_eq(ward_attr_setenv(s.attr, env), 0);
    cr_assert_eq(ward_attr_putenv(s.attr, "PATH", path), 0);
    cr_assert_eq(ward_attr_putenv(s.attr, "WARD_REL", "yes"), 0);
    cr_assert_eq(ward_attr_putenv(s.attr, "WARD_REL_GONE", NULL), 0);
    cr_assert_eq(ward_attr_setcwd(s.attr, "/"), 0);
    cr_assert_eq(ward_attr_setstdio(s.attr, 0, WARD_STDIO_NULL, -1), 0);
    cr_assert_eq(ward_attr_setstdio(s.attr, 1, WARD_STDIO_PIPE, -1), 0);
    cr_assert_eq(ward_attr_mapfd(s.attr, 2, 7), 0);
    s.file = "helper";
    s.argv[0] = "helper";
    s.argv[1] = "env";
    s.argv[2] = "WARD_REL";
    s.argv[3] = "env";
    s.argv[4] = "WARD_REL_GONE";
    s.argv[5] = "exit";
    s.argv[6] = "13";
    s.expect_code = 13;
    s.expect_out = "WARD_REL=yes\nWARD_REL_GONE unset\n";
    cr_assert_geq(sweep(&op), 3);
    ward_attr_free(s.attr);
}

/* ---- ward_fork and the prepare/parent/child calls ----------------------- */

struct fork_ctx {
    ward_child *c;
    int use_prepare;
};

static int fork_call(void *p)
{
    struct fork_ctx *f = p;
    pid_t pid;

    f->c = NULL;
    if (!f->use_prepare) {
        pid = ward_fork(&f->c, 0);
        if (pid == 0)
            _exit(31);
        return pid > 0 ? 0 : -1;
    }
    if (ward_fork_prepare() == -1)
        return -1;
    pid = fork();
    if (pid == 0) {
        ward_fork_child();
        _exit(31);
    }
    f->c = ward_fork_parent(pid, 0);
    return f->c != NULL ? 0 : -1;
}

static void fork_verify(void *p, int ok)
{
    struct fork_ctx *f = p;

    if (ok)
        wt_reap_exit(f->c, 31);
    f->c = NULL;
}

Test(alloc, ward_fork)
{
    struct fork_ctx f = {NULL, 0};
    struct op op = {"ward_fork", &f, NULL, fork_call, fork_verify, NULL, 0, 0};

    cr_assert_geq(sweep(&op), 1);
}

Test(alloc, fork_prepare_parent_child)
{
    struct fork_ctx f = {NULL, 1};
    struct op op = {"ward_fork_prepare/fork/ward_fork_parent", &f, NULL, fork_call,
                    fork_verify, NULL, 0, 0};

    cr_assert_geq(sweep(&op), 1);
}

/* ---- Attributes ---------------------------------------------------------- */

/*
 * Each setter is swept on a fresh attribute object set up the same way;
 * after a failure the object must still produce the child it produced
 * before the call, and after a success the child the call asked for.
 */
struct attr_ctx {
    ward_attr *a;
    int which;
};

enum { SET_CWD, SET_ENV, PUTENV_NEW, PUTENV_SAME, PUTENV_UNSET, MAPFD_NEW, MAPFD_SAME, NEW_ATTR };

static void attr_setup(void *p)
{
    struct attr_ctx *x = p;
    char *env[] = {"BASE=1", "OTHER=2", NULL};

    if (x->which == NEW_ATTR) {
        x->a = NULL;
        return;
    }
    x->a = ward_attr_new();
    cr_assert_not_null(x->a);
    cr_assert_eq(ward_attr_setenv(x->a, env), 0);
    cr_assert_eq(ward_attr_putenv(x->a, "EDIT", "old"), 0);
    cr_assert_eq(ward_attr_setcwd(x->a, "/tmp"), 0);
    cr_assert_eq(ward_attr_mapfd(x->a, 2, 9), 0);
}

static int attr_call(void *p)
{
    struct attr_ctx *x = p;
    char *env[] = {"NEW1=a", "NEW2=b", "NEW3=c", NULL};

    switch (x->which) {
    case SET_CWD:
        return ward_attr_setcwd(x->a, "/");
    case SET_ENV:
        return ward_attr_setenv(x->a, env);
    case PUTENV_NEW:
        return ward_attr_putenv(x->a, "ADDED", "new");
    case PUTENV_SAME:
        return ward_attr_putenv(x->a, "EDIT", "new");
    case PUTENV_UNSET:
        return ward_attr_putenv(x->a, "OTHER", NULL);
    case MAPFD_NEW:
        return ward_attr_mapfd(x->a, 2, 10);
    case MAPFD_SAME:
        return ward_attr_mapfd(x->a, 1, 9);
    default:
        x->a = ward_attr_new();
        return x->a != NULL ? 0 : -1;
    }
}

/* What a child spawned with the attribute sees: cwd, environment, fds 9 and 10. */
static void attr_observe(ward_attr *a, char *out, size_t cap)
{
    int st;

    st = wt_capture(a, out, cap, "cwd", "environ", "fdinfo", "9", "fdinfo", "10");
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
}

static char attr_before[4096];

static void attr_verify(void *p, int ok)
{
    struct attr_ctx *x = p;
    char now[4096], *line;
    ward_attr *ref;

    if (x->which == NEW_ATTR) {
        if (ok)
            cr_assert_not_null(x->a);
        else
            cr_assert_null(x->a);
        return;
    }
    /* The capture itself sets stdout to a pipe on the attribute: same for both. */
    attr_observe(x->a, now, sizeof now);
    if (!ok) {
        /* Unchanged: the same child as an object set up the same way. */
        struct attr_ctx y = {NULL, x->which};
        attr_setup(&y);
        ref = y.a;
        attr_observe(ref, attr_before, sizeof attr_before);
        ward_attr_free(ref);
        cr_assert_str_eq(now, attr_before, "failed setter changed the attribute");
        return;
    }
    line = now;
    switch (x->which) {
    case SET_CWD:
        cr_assert(strncmp(line, "/\n", 2) == 0, "cwd: %s", now);
        break;
    case SET_ENV:
        cr_assert_not_null(strstr(now, "NEW3=c\n"), "%s", now);
        cr_assert_null(strstr(now, "BASE=1"), "%s", now);
        break;
    case PUTENV_NEW:
        cr_assert_not_null(strstr(now, "ADDED=new\n"), "%s", now);
        break;
    case PUTENV_SAME:
        cr_assert_not_null(strstr(now, "EDIT=new\n"), "%s", now);
        break;
    case PUTENV_UNSET:
        cr_assert_null(strstr(now, "OTHER=2"), "%s", now);
        break;
    case MAPFD_NEW:
        cr_assert_null(strstr(now, "fd 10 closed"), "%s", now);
        break;
    case MAPFD_SAME:
        break;
    }
}

static void attr_teardown(void *p)
{
    struct attr_ctx *x = p;

    ward_attr_free(x->a);
    x->a = NULL;
}

#define ATTR_SWEEP(test, which, min)                                         \
    Test(alloc, test)                                                        \
    {                                                                        \
        struct attr_ctx x = {NULL, which};                                   \
        struct op op = {#test, &x, attr_setup, attr_call, attr_verify,       \
                        attr_teardown, 0, 0};                                   \
        cr_assert_geq(sweep(&op), min);                                      \
    }

ATTR_SWEEP(attr_new, NEW_ATTR, 1)
ATTR_SWEEP(attr_setcwd, SET_CWD, 1)
ATTR_SWEEP(attr_setenv, SET_ENV, 4)
ATTR_SWEEP(attr_putenv_new_name, PUTENV_NEW, 2)
ATTR_SWEEP(attr_putenv_same_name, PUTENV_SAME, 1)
ATTR_SWEEP(attr_putenv_unset, PUTENV_UNSET, 2)
ATTR_SWEEP(attr_mapfd_new, MAPFD_NEW, 1)
ATTR_SWEEP(attr_mapfd_same, MAPFD_SAME, 0)

/* ---- Growth of ward's tables ------------------------------------------- */

/*
 * With 128 children running, the next spawn needs a new chunk of claim
 * slots (128 to a chunk) and a bigger pid table: a chunk that cannot be
 * had fails the spawn with ENOMEM; a table that cannot grow is absorbed
 * (its chains get longer).  The children stay findable either way: each
 * is waited for and every thief call must pass them by.
 */
struct many_ctx {
    ward_child *kids[160];
    int n, running;
    struct spawn_ctx s;
};

static void many_setup(void *p)
{
    struct many_ctx *m = p;

    while (m->n < m->running)
        m->kids[m->n++] = wt_spawn_ok(NULL, "sleep", "20000");
}

static int many_call(void *p)
{
    struct many_ctx *m = p;

    return spawn_call(&m->s);
}

static void many_verify(void *p, int ok)
{
    struct many_ctx *m = p;
    int st;

    if (ok) {
        m->kids[m->n++] = m->s.c;
        m->s.c = NULL;
    }
    /* No thief may see them, all may be signalled and waited for. */
    wt_assert_only_private(ward_waitpid(-1, &st, WNOHANG));
}

static void many_teardown(void *p)
{
    struct many_ctx *m = p;

    for (int i = 0; i < m->n; i++)
        cr_assert_eq(ward_kill(m->kids[i], SIGKILL), 0, "kill #%d: %s", i, strerror(errno));
    for (int i = 0; i < m->n; i++) {
        int st = wt_wait_ok(m->kids[i]);
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "#%d: status 0x%x", i, st);
        ward_free(m->kids[i]);
    }
    m->n = 0;
}

static void many_sweep(int running, const char *name, unsigned long min, long absorbed_min)
{
    static struct many_ctx m;
    struct op op = {name, &m, many_setup, many_call, many_verify, many_teardown, 1, 1};

    m.running = running;
    m.s.argv[0] = (char *)wt_helper();
    m.s.argv[1] = "sleep";
    m.s.argv[2] = "20000";
    cr_assert_geq(sweep(&op), min);
    cr_assert_geq((long)last_absorbed, absorbed_min, "%s: the table growth was never failed",
                  name);
}

/* The 65th child: the pid table (64 buckets at first) must grow, or not. */
Test(alloc, spawn_when_the_pid_table_cannot_grow, .timeout = 60)
{
    many_sweep(64, "65th running child", 2, 1);
}

/* The 129th child: a new chunk of claim slots (128 to a chunk) is needed. */
Test(alloc, spawn_that_needs_a_new_slot_chunk, .timeout = 120)
{
    many_sweep(128, "129th running child", 3, 0);
}

/* ---- First use, in a fresh process ------------------------------------ */

static void sweep_first_use(const char *mode)
{
    char out[1024], num[16];
    unsigned long n;

    need_failalloc();
    for (n = 1; n < 1000; n++) {
        int code;

        snprintf(num, sizeof num, "%lu", n);
        code = rel_probe_run(out, sizeof out, mode, num, wt_helper());
        if (code == 2)
            break;
        if (code == 77)
            cr_skip_test("%s", out);
        cr_assert_eq(code, 0, "probe %s %lu: exit %d: %s", mode, n, code, out);
    }
    cr_assert_lt(n, 1000);
    cr_assert_gt(n, 1, "the first %s made no allocation at all?", mode);
    cr_log_info("%s: %lu allocation(s) swept in fresh processes", mode, n - 1);
}

/* The first spawn of a process also makes ward's first chunk of claim slots. */
Test(alloc, first_spawn_of_a_process, .timeout = 60)
{
    sweep_first_use("alloc-first");
}

Test(alloc, first_fork_of_a_process, .timeout = 60)
{
    sweep_first_use("alloc-first-fork");
}
