/*
 * test_attr.c - the spawn attribute object: every setter, its documented
 * errors, and that a failed call changes nothing.  What the attributes do to
 * a child is tested in test_spawn.c.
 */
#include "common.h"

WT_SUITE(attr);

Test(attr, new_and_free)
{
    ward_attr *a = ward_attr_new();
    ward_attr *b = ward_attr_new();

    cr_assert_not_null(a);
    cr_assert_not_null(b);
    cr_assert_neq(a, b);
    ward_attr_free(a);
    ward_attr_free(b);
    ward_attr_free(NULL); /* a no-op */
}

Test(attr, defaults_spawn_like_null_attr)
{
    ward_attr *a = ward_attr_new();
    char out1[4096], out2[4096];

    cr_assert_not_null(a);
    /* Fresh attributes behave as attr NULL: same environment, cwd, umask. */
    wt_capture_ok(a, out1, sizeof out1, "cwd", "umask", "env", "PATH", "fds");
    wt_capture_ok(NULL, out2, sizeof out2, "cwd", "umask", "env", "PATH", "fds");
    cr_assert_str_eq(out1, out2);
    ward_attr_free(a);
}

Test(attr, setflags_valid)
{
    ward_attr *a = ward_attr_new();
    const unsigned int ok[] = {
        0,
        WARD_NEW_PGROUP,
        WARD_NEW_SESSION,
        WARD_RESET_SIGNALS,
        WARD_KILL_ON_FREE,
        WARD_INHERIT_FDS,
        WARD_NEW_PGROUP | WARD_RESET_SIGNALS | WARD_KILL_ON_FREE | WARD_INHERIT_FDS,
        WARD_NEW_SESSION | WARD_RESET_SIGNALS | WARD_KILL_ON_FREE | WARD_INHERIT_FDS,
        WARD_RUSAGE,
        WARD_DIE_WITH_PARENT,
        WARD_DIE_WITH_PARENT | WARD_KILL_ON_FREE | WARD_RUSAGE | WARD_INHERIT_FDS |
            WARD_NEW_SESSION | WARD_RESET_SIGNALS,
    };

    cr_assert_not_null(a);
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_assert_eq(ward_attr_setflags(a, ok[i]), 0, "flags 0x%x: %s", ok[i],
                     strerror(errno));
    ward_attr_free(a);
}

Test(attr, setflags_errors)
{
    ward_attr *a = ward_attr_new();

    cr_assert_not_null(a);
    wt_assert_err(ward_attr_setflags(NULL, 0), EINVAL);
    wt_assert_err(ward_attr_setflags(a, 0x80u), EINVAL);
    wt_assert_err(ward_attr_setflags(a, 0x80000000u), EINVAL);
    wt_assert_err(ward_attr_setflags(a, WARD_NEW_PGROUP | 0x100u), EINVAL);
    wt_assert_err(ward_attr_setflags(a, WARD_NEW_PGROUP | WARD_NEW_SESSION), EINVAL);
    wt_assert_err(ward_attr_setflags(a, WARD_NEW_PGROUP | WARD_NEW_SESSION |
                                            WARD_KILL_ON_FREE),
                  EINVAL);
    ward_attr_free(a);
}

Test(attr, setflags_replaces_and_failure_keeps_old_set)
{
    ward_attr *a = ward_attr_new();
    char out[256];
    long pid, ppid, pgid, sid;

    cr_assert_not_null(a);
    /* Replaced, not or-ed: NEW_SESSION then NEW_PGROUP gives a group only. */
    cr_assert_eq(ward_attr_setflags(a, WARD_NEW_SESSION), 0);
    cr_assert_eq(ward_attr_setflags(a, WARD_NEW_PGROUP), 0);
    /* A rejected set leaves the previous one (NEW_PGROUP) in place. */
    wt_assert_err(ward_attr_setflags(a, WARD_NEW_PGROUP | WARD_NEW_SESSION), EINVAL);
    wt_assert_err(ward_attr_setflags(a, 0x80u), EINVAL);
    wt_capture_ok(a, out, sizeof out, "ids");
    cr_assert_eq(sscanf(out, "pid %ld ppid %ld pgid %ld sid %ld", &pid, &ppid,
                        &pgid, &sid),
                 4, "output: %s", out);
    cr_assert_eq(pgid, pid, "NEW_PGROUP lost: %s", out);
    cr_assert_eq(sid, (long)getsid(0), "NEW_SESSION not replaced: %s", out);
    ward_attr_free(a);
}

Test(attr, setcwd)
{
    ward_attr *a = ward_attr_new();

    cr_assert_not_null(a);
    wt_assert_err(ward_attr_setcwd(NULL, "/"), EINVAL);
    cr_assert_eq(ward_attr_setcwd(a, "/"), 0);
    cr_assert_eq(ward_attr_setcwd(a, NULL), 0);
    /* A missing directory is accepted here and reported by ward_spawn(). */
    cr_assert_eq(ward_attr_setcwd(a, "/nonexistent/ward-test-dir"), 0);
    ward_attr_free(a);
}

Test(attr, setcwd_copies_the_string)
{
    ward_attr *a = ward_attr_new();
    char dir[64] = "/";
    char out[PATH_MAX + 8];

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setcwd(a, dir), 0);
    strcpy(dir, "/nonexistent/ward");
    wt_capture_ok(a, out, sizeof out, "cwd");
    cr_assert_str_eq(out, "/\n");
    ward_attr_free(a);
}

Test(attr, setumask)
{
    ward_attr *a = ward_attr_new();

    cr_assert_not_null(a);
    wt_assert_err(ward_attr_setumask(NULL, 022), EINVAL);
    cr_assert_eq(ward_attr_setumask(a, 0), 0);
    cr_assert_eq(ward_attr_setumask(a, 0777), 0);
    cr_assert_eq(ward_attr_setumask(a, 027), 0);
    wt_assert_err(ward_attr_setumask(a, 01000), EINVAL);
    wt_assert_err(ward_attr_setumask(a, 04022), EINVAL);
    wt_assert_err(ward_attr_setumask(a, (mode_t)-1), EINVAL);
    ward_attr_free(a);
}

Test(attr, setumask_failure_keeps_old_mask)
{
    ward_attr *a = ward_attr_new();
    char out[64];

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setumask(a, 0027), 0);
    wt_assert_err(ward_attr_setumask(a, 01777), EINVAL);
    wt_capture_ok(a, out, sizeof out, "umask");
    cr_assert_str_eq(out, "0027\n");
    ward_attr_free(a);
}

Test(attr, setenv)
{
    ward_attr *a = ward_attr_new();
    char *env[] = {"A=1", NULL};
    char *empty[] = {NULL};

    cr_assert_not_null(a);
    wt_assert_err(ward_attr_setenv(NULL, env), EINVAL);
    cr_assert_eq(ward_attr_setenv(a, env), 0);
    cr_assert_eq(ward_attr_setenv(a, empty), 0);
    cr_assert_eq(ward_attr_setenv(a, NULL), 0);
    ward_attr_free(a);
}

Test(attr, putenv)
{
    ward_attr *a = ward_attr_new();

    cr_assert_not_null(a);
    wt_assert_err(ward_attr_putenv(NULL, "A", "1"), EINVAL);
    wt_assert_err(ward_attr_putenv(a, NULL, "1"), EINVAL);
    wt_assert_err(ward_attr_putenv(a, "", "1"), EINVAL);
    wt_assert_err(ward_attr_putenv(a, "A=B", "1"), EINVAL);
    wt_assert_err(ward_attr_putenv(a, "=", NULL), EINVAL);
    cr_assert_eq(ward_attr_putenv(a, "A", "1"), 0);
    cr_assert_eq(ward_attr_putenv(a, "A", ""), 0);
    cr_assert_eq(ward_attr_putenv(a, "A", "x=y"), 0);
    cr_assert_eq(ward_attr_putenv(a, "A", NULL), 0);
    cr_assert_eq(ward_attr_putenv(a, "NEVER_SET", NULL), 0);
    ward_attr_free(a);
}

Test(attr, putenv_failure_changes_nothing)
{
    ward_attr *a = ward_attr_new();
    char *base[] = {"K=base", NULL};
    char out[256];

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setenv(a, base), 0);
    wt_assert_err(ward_attr_putenv(a, "K=x", "y"), EINVAL);
    wt_capture_ok(a, out, sizeof out, "environ");
    cr_assert_str_eq(out, "K=base\n");
    ward_attr_free(a);
}

Test(attr, setstdio)
{
    ward_attr *a = ward_attr_new();

    cr_assert_not_null(a);
    wt_assert_err(ward_attr_setstdio(NULL, 0, WARD_STDIO_NULL, -1), EINVAL);
    for (int fd = 0; fd < 3; fd++) {
        cr_assert_eq(ward_attr_setstdio(a, fd, WARD_STDIO_INHERIT, -1), 0);
        cr_assert_eq(ward_attr_setstdio(a, fd, WARD_STDIO_NULL, -1), 0);
        cr_assert_eq(ward_attr_setstdio(a, fd, WARD_STDIO_PIPE, -1), 0);
        /* fd is ignored except for WARD_STDIO_FD. */
        cr_assert_eq(ward_attr_setstdio(a, fd, WARD_STDIO_PIPE, 12345), 0);
        cr_assert_eq(ward_attr_setstdio(a, fd, WARD_STDIO_FD, 2), 0);
        cr_assert_eq(ward_attr_setstdio(a, fd, WARD_STDIO_INHERIT, -7), 0);
    }
    /* childfd must be 0..2. */
    wt_assert_err(ward_attr_setstdio(a, -1, WARD_STDIO_NULL, -1), EINVAL);
    wt_assert_err(ward_attr_setstdio(a, 3, WARD_STDIO_NULL, -1), EINVAL);
    wt_assert_err(ward_attr_setstdio(a, 3, WARD_STDIO_FD, 1), EINVAL);
    /* Unknown mode. */
    wt_assert_err(ward_attr_setstdio(a, 1, 4, -1), EINVAL);
    wt_assert_err(ward_attr_setstdio(a, 1, -1, -1), EINVAL);
    /* WARD_STDIO_FD needs fd >= 0. */
    wt_assert_err(ward_attr_setstdio(a, 1, WARD_STDIO_FD, -1), EINVAL);
    wt_assert_err(ward_attr_setstdio(a, 0, WARD_STDIO_FD, -5), EINVAL);
    ward_attr_free(a);
}

Test(attr, setstdio_failure_keeps_old_mode)
{
    ward_attr *a = ward_attr_new();
    char out[64];

    cr_assert_not_null(a);
    /* stderr to a pipe stays a pipe after rejected changes. */
    cr_assert_eq(ward_attr_setstdio(a, 2, WARD_STDIO_PIPE, -1), 0);
    wt_assert_err(ward_attr_setstdio(a, 2, WARD_STDIO_FD, -1), EINVAL);
    wt_assert_err(ward_attr_setstdio(a, 2, 9, -1), EINVAL);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_NULL, -1), 0);
    ward_child *c = wt_spawn_ok(a, "echoerr", "on-stderr");
    int fd = ward_stdio(c, 2);
    cr_assert_geq(fd, 0, "no pipe for stderr: %s", strerror(errno));
    wt_read_all(fd, out, sizeof out);
    cr_assert_str_eq(out, "on-stderr\n");
    wt_reap_exit(c, 0);
    ward_attr_free(a);
}

Test(attr, mapfd)
{
    ward_attr *a = ward_attr_new();

    cr_assert_not_null(a);
    wt_assert_err(ward_attr_mapfd(NULL, 1, 3), EINVAL);
    wt_assert_err(ward_attr_mapfd(a, -1, 3), EBADF);
    wt_assert_err(ward_attr_mapfd(a, -100, 10), EBADF);
    wt_assert_err(ward_attr_mapfd(a, 1, 2), EINVAL);
    wt_assert_err(ward_attr_mapfd(a, 1, 0), EINVAL);
    wt_assert_err(ward_attr_mapfd(a, 1, -1), EINVAL);
    wt_assert_err(ward_attr_mapfd(a, 1, 65536), EINVAL);
    wt_assert_err(ward_attr_mapfd(a, 1, 1 << 30), EINVAL);
    cr_assert_eq(ward_attr_mapfd(a, 1, 3), 0);
    cr_assert_eq(ward_attr_mapfd(a, 2, 3), 0); /* replaces the first */
    cr_assert_eq(ward_attr_mapfd(a, 1, 65535), 0);
    /* A descriptor that is not open is accepted here, refused at spawn. */
    cr_assert_eq(ward_attr_mapfd(a, 1000000, 7), 0);
    ward_attr_free(a);
}

Test(attr, one_attr_many_spawns)
{
    ward_attr *a = ward_attr_new();
    ward_child *c[4];
    char out[64], want[64];

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    cr_assert_eq(ward_attr_putenv(a, "WARD_T_N", "same"), 0);
    for (int i = 0; i < 4; i++) {
        char n[16];

        snprintf(n, sizeof n, "%d", i);
        c[i] = wt_spawn_ok(a, "echo", n, "env", "WARD_T_N");
    }
    /* Each spawn got its own pipe. */
    for (int i = 0; i < 4; i++) {
        int fd = ward_stdio(c[i], 1);

        cr_assert_geq(fd, 0);
        for (int j = 0; j < i; j++)
            cr_assert_neq(fd, ward_stdio(c[j], 1));
    }
    for (int i = 0; i < 4; i++) {
        wt_read_all(ward_stdio(c[i], 1), out, sizeof out);
        snprintf(want, sizeof want, "%d\nWARD_T_N=same\n", i);
        cr_assert_str_eq(out, want);
        wt_reap_exit(c[i], 0);
    }
    ward_attr_free(a);
}

Test(attr, free_after_spawn_does_not_affect_child)
{
    ward_attr *a = ward_attr_new();
    char out[128];
    int fd;

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    cr_assert_eq(ward_attr_putenv(a, "WARD_T_K", "v"), 0);
    ward_child *c = wt_spawn_ok(a, "sleep", "50", "env", "WARD_T_K");
    ward_attr_free(a);
    fd = ward_stdio(c, 1);
    cr_assert_geq(fd, 0);
    wt_read_all(fd, out, sizeof out);
    cr_assert_str_eq(out, "WARD_T_K=v\n");
    wt_reap_exit(c, 0);
}
