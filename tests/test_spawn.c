/*
 * test_spawn.c - ward_spawn(): what the child gets (argv, program search,
 * environment, cwd, umask, stdio, mapped and inherited descriptors, process
 * group and session, signal state) and every exec error, reported
 * synchronously with no process and no descriptor left behind.
 */
#include "common.h"

#include <ftw.h>
#include <sys/mman.h>
#include <sys/syscall.h>

WT_SUITE(spawn);

/* ---- Local helpers ------------------------------------------------------ */

/* A private temporary directory, removed with everything in it at the end. */
static char tmpdir[256];

static void make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");

    if (base == NULL || *base == '\0' || strlen(base) > 200)
        base = "/tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s/ward-test-XXXXXX", base);
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static int rm_one(const char *path, const struct stat *st, int type,
                  struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_tmpdir(void)
{
    if (tmpdir[0] != '\0')
        nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    tmpdir[0] = '\0';
}

/* tmpdir/name, made from the parts. */
static const char *tmppath(const char *name)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];

    snprintf(p, sizeof path[0], "%s/%.200s", tmpdir, name);
    return p;
}

static void write_file(const char *path, const char *content, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    wt_write_all(fd, content);
    close(fd);
    cr_assert_eq(chmod(path, mode), 0);
}

/* The helper's file name (for PATH searches). */
static const char *helper_name(void)
{
    const char *slash = strrchr(wt_helper(), '/');

    return slash ? slash + 1 : wt_helper();
}

/*
 * ward_spawn(file, argv, attr) with stdout on a pipe (set on attr, which
 * must not be NULL); collect the output, wait, free.  Returns the status.
 */
static int run_capture(const char *file, char *const argv[], ward_attr *attr,
                       char *out, size_t cap)
{
    ward_child *c;
    int st;

    cr_assert_eq(ward_attr_setstdio(attr, 1, WARD_STDIO_PIPE, -1), 0);
    c = ward_spawn(file, argv, attr);
    cr_assert_not_null(c, "ward_spawn(%s): %s", file ? file : argv[0],
                       strerror(errno));
    wt_read_all(ward_stdio(c, 1), out, cap);
    st = wt_wait_ok(c);
    ward_free(c);
    return st;
}

/* How many lines of text start with prefix. */
static int count_lines_with_prefix(const char *text, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);

    for (const char *p = text; *p != '\0';) {
        if (strncmp(p, prefix, len) == 0)
            n++;
        p = strchr(p, '\n');
        if (p == NULL)
            break;
        p++;
    }
    return n;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Sort the newline-terminated lines of text in place (the order of an
 * environment is not part of the contract). */
static void sort_lines(char *text)
{
    char *lines[256], copy[8192], *save = NULL;
    size_t n = 0, len = 0;

    snprintf(copy, sizeof copy, "%s", text);
    for (char *l = strtok_r(copy, "\n", &save); l != NULL && n < 256;
         l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    qsort(lines, n, sizeof lines[0], cmp_str);
    text[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "%s\n", lines[i]);
}

#define assert_exit0(st, out)                                                \
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,                         \
              "helper status 0x%x, output: %s", (st), (out))

/* The dev:ino of a path, as the helper prints it. */
static void devino_path(const char *path, char *buf, size_t cap)
{
    struct stat st;

    cr_assert_eq(stat(path, &st), 0);
    snprintf(buf, cap, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
}

/* ---- argv and the program ----------------------------------------------- */

Test(spawn, argv_is_passed_exactly)
{
    ward_attr *a = ward_attr_new();
    char *argv[] = {"custom-name", "argv", "", "with space", "tab\there",
                    "x=y", NULL};
    char out[1024];
    int st;

    cr_assert_not_null(a);
    st = run_capture(wt_helper(), argv, a, out, sizeof out);
    assert_exit0(st, out);
    cr_assert_str_eq(out, "argv[0]=custom-name\nargv[1]=argv\nargv[2]=\n"
                          "argv[3]=with space\nargv[4]=tab\there\nargv[5]=x=y\n");
    ward_attr_free(a);
}

Test(spawn, file_null_runs_argv0)
{
    ward_attr *a = ward_attr_new();
    char *argv[] = {(char *)wt_helper(), "argv", NULL};
    char out[PATH_MAX + 64], want[PATH_MAX + 64];
    int st;

    cr_assert_not_null(a);
    st = run_capture(NULL, argv, a, out, sizeof out);
    assert_exit0(st, out);
    snprintf(want, sizeof want, "argv[0]=%s\nargv[1]=argv\n", wt_helper());
    cr_assert_str_eq(out, want);
    ward_attr_free(a);
}

Test(spawn, attr_null_means_defaults)
{
    char *argv[] = {(char *)wt_helper(), "3", NULL};
    ward_child *c = ward_spawn(NULL, argv, NULL);

    cr_assert_not_null(c, "ward_spawn: %s", strerror(errno));
    wt_reap_exit(c, 3);
}

Test(spawn, shebang_script_runs)
{
    char *argv[] = {"script", NULL};
    ward_child *c;

    make_tmpdir();
    write_file(tmppath("script"), "#!/bin/sh\nexit 7\n", 0755);
    c = ward_spawn(tmppath("script"), argv, NULL);
    cr_assert_not_null(c, "ward_spawn: %s", strerror(errno));
    wt_reap_exit(c, 7);
    remove_tmpdir();
}

/* ---- PATH search -------------------------------------------------------- */

Test(spawn, path_search_uses_callers_path)
{
    ward_attr *a = ward_attr_new();
    char path[PATH_MAX * 2];
    char *argv[] = {"prog-name", "argv", NULL};
    char out[256];
    int st;

    cr_assert_not_null(a);
    snprintf(path, sizeof path, "/nonexistent-ward:%s:/bin", wt_helper_dir());
    cr_assert_eq(setenv("PATH", path, 1), 0);
    st = run_capture(helper_name(), argv, a, out, sizeof out);
    assert_exit0(st, out);
    cr_assert_str_eq(out, "argv[0]=prog-name\nargv[1]=argv\n");

    /* An environment without PATH in the attributes: the caller's PATH. */
    char *env[] = {"WARD_T_ONLY=1", NULL};
    cr_assert_eq(ward_attr_setenv(a, env), 0);
    st = run_capture(helper_name(), argv, a, out, sizeof out);
    assert_exit0(st, out);
    ward_attr_free(a);
}

Test(spawn, path_search_prefers_childs_path)
{
    ward_attr *a = ward_attr_new();
    char path[PATH_MAX + 64];
    char *argv[] = {"x", "argv", NULL};
    char out[256];
    int st;

    cr_assert_not_null(a);
    /* The caller's PATH cannot find it; the child's PATH can. */
    cr_assert_eq(setenv("PATH", "/nonexistent-ward", 1), 0);
    snprintf(path, sizeof path, "PATH=%s", wt_helper_dir());
    cr_assert_eq(ward_attr_putenv(a, "PATH", wt_helper_dir()), 0);
    st = run_capture(helper_name(), argv, a, out, sizeof out);
    assert_exit0(st, out);

    /* The same through a whole environment given with setenv. */
    ward_attr *b = ward_attr_new();
    char *env[] = {path, NULL};
    cr_assert_not_null(b);
    cr_assert_eq(ward_attr_setenv(b, env), 0);
    st = run_capture(helper_name(), argv, b, out, sizeof out);
    assert_exit0(st, out);
    ward_attr_free(b);
    ward_attr_free(a);
}

Test(spawn, path_search_childs_path_wins_over_callers)
{
    ward_attr *a = ward_attr_new();
    char *argv[] = {"x", NULL};

    cr_assert_not_null(a);
    cr_assert_eq(setenv("PATH", wt_helper_dir(), 1), 0);
    cr_assert_eq(ward_attr_putenv(a, "PATH", "/nonexistent-ward"), 0);
    wt_assert_spawn_fails(ENOENT, helper_name(), argv, a);
    ward_attr_free(a);
}

Test(spawn, path_search_default_without_any_path)
{
    char *argv[] = {"true", NULL};
    ward_child *c;

    cr_assert_eq(unsetenv("PATH"), 0);
    cr_assert_null(getenv("PATH"));
    /* Neither the attributes nor the caller have PATH: /bin:/usr/bin. */
    c = ward_spawn("true", argv, NULL);
    cr_assert_not_null(c, "ward_spawn(true) without PATH: %s", strerror(errno));
    wt_reap_exit(c, 0);
}

Test(spawn, path_search_skips_eacces_candidates)
{
    ward_attr *a = ward_attr_new();
    char *argv[] = {"wardprog", "argv", NULL};
    char path[PATH_MAX * 2 + 8], out[256];
    int st;

    cr_assert_not_null(a);
    make_tmpdir();
    cr_assert_eq(mkdir(tmppath("a"), 0755), 0);
    cr_assert_eq(mkdir(tmppath("b"), 0755), 0);
    write_file(tmppath("a/wardprog"), "not executable\n", 0644);
    cr_assert_eq(symlink(wt_helper(), tmppath("b/wardprog")), 0);

    /* Like execvp(): a candidate that gives EACCES is skipped... */
    snprintf(path, sizeof path, "%s:%s", tmppath("a"), tmppath("b"));
    cr_assert_eq(ward_attr_putenv(a, "PATH", path), 0);
    st = run_capture("wardprog", argv, a, out, sizeof out);
    assert_exit0(st, out);
    cr_assert_str_eq(out, "argv[0]=wardprog\nargv[1]=argv\n");

    /* ...and EACCES is reported when nothing else is found. */
    cr_assert_eq(ward_attr_putenv(a, "PATH", tmppath("a")), 0);
    wt_assert_spawn_fails(EACCES, "wardprog", argv, a);
    ward_attr_free(a);
    remove_tmpdir();
}

Test(spawn, file_with_slash_is_not_searched)
{
    ward_attr *a = ward_attr_new();
    char *argv[] = {"x", NULL};
    char rel[PATH_MAX + 32];

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_putenv(a, "PATH", wt_helper_dir()), 0);
    snprintf(rel, sizeof rel, "no-such-subdir/%s", helper_name());
    wt_assert_spawn_fails(ENOENT, rel, argv, a);
    ward_attr_free(a);
}

/* ---- Exec errors: synchronous, nothing left behind ---------------------- */

Test(spawn, error_enoent)
{
    char *argv[] = {"x", NULL};
    ward_attr *a = ward_attr_new();

    cr_assert_not_null(a);
    wt_assert_spawn_fails(ENOENT, "/nonexistent-ward/prog", argv, NULL);
    wt_assert_spawn_fails(ENOENT, "", argv, NULL);
    cr_assert_eq(ward_attr_putenv(a, "PATH", "/nonexistent-ward:/also-not"), 0);
    wt_assert_spawn_fails(ENOENT, "ward-no-such-program", argv, a);
    /* Also with a pipe to set up: the pipe does not leak either. */
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    cr_assert_eq(ward_attr_setstdio(a, 0, WARD_STDIO_PIPE, -1), 0);
    wt_assert_spawn_fails(ENOENT, "/nonexistent-ward/prog", argv, a);
    ward_attr_free(a);
}

Test(spawn, error_eacces)
{
    char *argv[] = {"x", NULL};

    make_tmpdir();
    write_file(tmppath("noexec"), "#!/bin/sh\nexit 0\n", 0644);
    wt_assert_spawn_fails(EACCES, tmppath("noexec"), argv, NULL);
    /* A directory is not a program. */
    wt_assert_spawn_fails(EACCES, tmpdir, argv, NULL);
    remove_tmpdir();
}

Test(spawn, error_enoexec_never_runs_a_shell)
{
    ward_attr *a = ward_attr_new();
    char *argv[] = {"script", NULL};

    cr_assert_not_null(a);
    make_tmpdir();
    /* execvp() would run this with /bin/sh; ward must report ENOEXEC. */
    write_file(tmppath("script"), "touch ran\nexit 0\n", 0755);
    cr_assert_eq(ward_attr_setcwd(a, tmpdir), 0);
    wt_assert_spawn_fails(ENOEXEC, tmppath("script"), argv, a);
    /* The same through a PATH search. */
    cr_assert_eq(ward_attr_putenv(a, "PATH", tmpdir), 0);
    wt_assert_spawn_fails(ENOEXEC, "script", argv, a);
    cr_assert_neq(access(tmppath("ran"), F_OK), 0, "a shell ran the script");
    /* Garbage that is not text either. */
    write_file(tmppath("garbage"), "\x7f" "ELF\x01\x01garbage", 0755);
    wt_assert_spawn_fails(ENOEXEC, tmppath("garbage"), argv, NULL);
    ward_attr_free(a);
    remove_tmpdir();
}

Test(spawn, error_enotdir)
{
    char *argv[] = {"x", NULL};
    char path[1024];

    make_tmpdir();
    write_file(tmppath("file"), "x", 0755);
    snprintf(path, sizeof path, "%s/prog", tmppath("file"));
    wt_assert_spawn_fails(ENOTDIR, path, argv, NULL);
    remove_tmpdir();
}

Test(spawn, error_eloop_enametoolong_e2big)
{
    char *argv[] = {"x", NULL};
    char longname[600];
    char *big;

    make_tmpdir();
    cr_assert_eq(symlink(tmppath("loop2"), tmppath("loop1")), 0);
    cr_assert_eq(symlink(tmppath("loop1"), tmppath("loop2")), 0);
    wt_assert_spawn_fails(ELOOP, tmppath("loop1"), argv, NULL);

    longname[0] = '/';
    memset(longname + 1, 'a', sizeof longname - 2);
    longname[sizeof longname - 1] = '\0';
    wt_assert_spawn_fails(ENAMETOOLONG, longname, argv, NULL);

    /* One argument longer than the kernel takes (MAX_ARG_STRLEN, 128 KiB). */
    big = malloc(300000);
    cr_assert_not_null(big);
    memset(big, 'b', 299999);
    big[299999] = '\0';
    char *bigargv[] = {"x", big, NULL};
    wt_assert_spawn_fails(E2BIG, wt_helper(), bigargv, NULL);
    free(big);
    remove_tmpdir();
}

Test(spawn, error_bad_cwd)
{
    ward_attr *a = ward_attr_new();
    char *argv[] = {(char *)wt_helper(), "0", NULL};

    cr_assert_not_null(a);
    make_tmpdir();
    write_file(tmppath("file"), "x", 0644);
    cr_assert_eq(ward_attr_setcwd(a, tmppath("missing")), 0);
    wt_assert_spawn_fails(ENOENT, NULL, argv, a);
    cr_assert_eq(ward_attr_setcwd(a, tmppath("file")), 0);
    wt_assert_spawn_fails(ENOTDIR, NULL, argv, a);
    if (geteuid() != 0) {
        cr_assert_eq(mkdir(tmppath("closed"), 0), 0);
        cr_assert_eq(ward_attr_setcwd(a, tmppath("closed")), 0);
        wt_assert_spawn_fails(EACCES, NULL, argv, a);
    }
    ward_attr_free(a);
    remove_tmpdir();
}

Test(spawn, error_ebadf_for_closed_descriptors)
{
    ward_attr *a = ward_attr_new();
    char *argv[] = {(char *)wt_helper(), "0", NULL};
    int fds[2] = {900, 901};

    /*
     * High numbers nobody opens by chance: a low closed number could be
     * taken again by the pipes ward_spawn() itself makes.
     */
    cr_assert_not_null(a);
    cr_assert(fcntl(fds[0], F_GETFD) < 0 && fcntl(fds[1], F_GETFD) < 0);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_FD, fds[1]), 0);
    wt_assert_spawn_fails(EBADF, NULL, argv, a);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_INHERIT, -1), 0);
    cr_assert_eq(ward_attr_mapfd(a, fds[0], 5), 0);
    wt_assert_spawn_fails(EBADF, NULL, argv, a);
    /* With pipes set up as well: they are closed again. */
    cr_assert_eq(ward_attr_setstdio(a, 0, WARD_STDIO_PIPE, -1), 0);
    cr_assert_eq(ward_attr_setstdio(a, 2, WARD_STDIO_PIPE, -1), 0);
    wt_assert_spawn_fails(EBADF, NULL, argv, a);
    ward_attr_free(a);
}

Test(spawn, error_einval_argv)
{
    char *empty[] = {NULL};

    wt_assert_spawn_fails(EINVAL, wt_helper(), NULL, NULL);
    wt_assert_spawn_fails(EINVAL, wt_helper(), empty, NULL);
    wt_assert_spawn_fails(EINVAL, NULL, NULL, NULL);
    wt_assert_spawn_fails(EINVAL, NULL, empty, NULL);
}

Test(spawn, failed_spawn_then_spawn_works)
{
    char *argv[] = {"x", NULL};

    for (int i = 0; i < 50; i++)
        wt_assert_spawn_fails(ENOENT, "/nonexistent-ward/prog", argv, NULL);
    ward_child *c = wt_spawn_ok(NULL, "9");
    wt_reap_exit(c, 9);
}

/* ---- Environment -------------------------------------------------------- */

Test(spawn, env_inherited_at_spawn_time)
{
    ward_attr *a = ward_attr_new();
    char out[256];

    cr_assert_not_null(a);
    cr_assert_eq(setenv("WARD_T_X", "hello", 1), 0);
    wt_capture_ok(a, out, sizeof out, "env", "WARD_T_X");
    cr_assert_str_eq(out, "WARD_T_X=hello\n");
    /* The same attributes see the caller's environment as it is now. */
    cr_assert_eq(setenv("WARD_T_X", "changed", 1), 0);
    wt_capture_ok(a, out, sizeof out, "env", "WARD_T_X");
    cr_assert_str_eq(out, "WARD_T_X=changed\n");
    cr_assert_eq(unsetenv("WARD_T_X"), 0);
    wt_capture_ok(a, out, sizeof out, "env", "WARD_T_X");
    cr_assert_str_eq(out, "WARD_T_X unset\n");
    ward_attr_free(a);
}

Test(spawn, env_replaced)
{
    ward_attr *a = ward_attr_new();
    char a1[] = "A=1", b2[] = "B=two words";
    char *env[] = {a1, b2, NULL};
    char out[256];

    cr_assert_not_null(a);
    cr_assert_eq(setenv("WARD_T_X", "hello", 1), 0);
    cr_assert_eq(ward_attr_setenv(a, env), 0);
    /* The array is copied: later changes to it do not matter. */
    a1[0] = 'Z';
    env[1] = NULL;
    wt_capture_ok(a, out, sizeof out, "environ");
    sort_lines(out);
    cr_assert_str_eq(out, "A=1\nB=two words\n");

    char *empty[] = {NULL};
    cr_assert_eq(ward_attr_setenv(a, empty), 0);
    wt_capture_ok(a, out, sizeof out, "environ");
    cr_assert_str_eq(out, "");

    /* NULL: inherit again. */
    cr_assert_eq(ward_attr_setenv(a, NULL), 0);
    wt_capture_ok(a, out, sizeof out, "env", "WARD_T_X");
    cr_assert_str_eq(out, "WARD_T_X=hello\n");
    ward_attr_free(a);
}

Test(spawn, env_put_and_unset_on_top_of_base)
{
    ward_attr *a = ward_attr_new();
    char *env[] = {"A=1", "B=2", "C=3", NULL};
    char out[256];

    cr_assert_not_null(a);
    /* Edits made before the base is set still apply on top of it. */
    cr_assert_eq(ward_attr_putenv(a, "D", "early"), 0);
    cr_assert_eq(ward_attr_setenv(a, env), 0);
    cr_assert_eq(ward_attr_putenv(a, "B", "new"), 0);
    cr_assert_eq(ward_attr_putenv(a, "C", NULL), 0);
    cr_assert_eq(ward_attr_putenv(a, "E", ""), 0);
    cr_assert_eq(ward_attr_putenv(a, "F", "x=y"), 0);
    wt_capture_ok(a, out, sizeof out, "env", "A", "env", "B", "env", "C",
                  "env", "D", "env", "E", "env", "F");
    cr_assert_str_eq(out, "A=1\nB=new\nC unset\nD=early\nE=\nF=x=y\n");
    /* Exactly one B in the environment. */
    wt_capture_ok(a, out, sizeof out, "environ");
    cr_assert_eq(count_lines_with_prefix(out, "B="), 1, "environ: %s", out);
    cr_assert_eq(count_lines_with_prefix(out, "C="), 0, "environ: %s", out);
    cr_assert_not_null(strstr(out, "B=new\n"));
    ward_attr_free(a);
}

Test(spawn, env_later_edits_replace_earlier)
{
    ward_attr *a = ward_attr_new();
    char out[256];

    cr_assert_not_null(a);
    cr_assert_eq(setenv("WARD_T_P", "caller", 1), 0);
    cr_assert_eq(setenv("WARD_T_Q", "caller", 1), 0);
    cr_assert_eq(ward_attr_putenv(a, "WARD_T_P", "1"), 0);
    cr_assert_eq(ward_attr_putenv(a, "WARD_T_P", "2"), 0);
    cr_assert_eq(ward_attr_putenv(a, "WARD_T_Q", NULL), 0);
    cr_assert_eq(ward_attr_putenv(a, "WARD_T_Q", "back"), 0);
    cr_assert_eq(ward_attr_putenv(a, "WARD_T_R", "set"), 0);
    cr_assert_eq(ward_attr_putenv(a, "WARD_T_R", NULL), 0);
    wt_capture_ok(a, out, sizeof out, "env", "WARD_T_P", "env", "WARD_T_Q",
                  "env", "WARD_T_R");
    cr_assert_str_eq(out, "WARD_T_P=2\nWARD_T_Q=back\nWARD_T_R unset\n");
    /* The caller's own environment is untouched. */
    cr_assert_str_eq(getenv("WARD_T_P"), "caller");
    cr_assert_str_eq(getenv("WARD_T_Q"), "caller");
    cr_assert_null(getenv("WARD_T_R"));
    ward_attr_free(a);
}

Test(spawn, env_unset_inherited_variable)
{
    ward_attr *a = ward_attr_new();
    char out[256];

    cr_assert_not_null(a);
    cr_assert_eq(setenv("WARD_T_GONE", "x", 1), 0);
    cr_assert_eq(setenv("WARD_T_KEPT", "y", 1), 0);
    cr_assert_eq(ward_attr_putenv(a, "WARD_T_GONE", NULL), 0);
    wt_capture_ok(a, out, sizeof out, "env", "WARD_T_GONE", "env", "WARD_T_KEPT");
    cr_assert_str_eq(out, "WARD_T_GONE unset\nWARD_T_KEPT=y\n");
    ward_attr_free(a);
}

/* ---- cwd and umask ------------------------------------------------------ */

Test(spawn, cwd)
{
    ward_attr *a = ward_attr_new();
    char out[PATH_MAX + 8], want[PATH_MAX + 8], real[PATH_MAX], here[PATH_MAX];

    cr_assert_not_null(a);
    make_tmpdir();
    cr_assert_not_null(realpath(tmpdir, real));
    cr_assert_not_null(getcwd(here, sizeof here));
    cr_assert_eq(ward_attr_setcwd(a, tmpdir), 0);
    wt_capture_ok(a, out, sizeof out, "cwd");
    snprintf(want, sizeof want, "%s\n", real);
    cr_assert_str_eq(out, want);
    /* The caller's cwd did not move. */
    cr_assert_not_null(getcwd(out, sizeof out));
    cr_assert_str_eq(out, here);
    /* NULL: inherit the caller's again. */
    cr_assert_eq(ward_attr_setcwd(a, NULL), 0);
    wt_capture_ok(a, out, sizeof out, "cwd");
    snprintf(want, sizeof want, "%s\n", here);
    cr_assert_str_eq(out, want);
    ward_attr_free(a);
    remove_tmpdir();
}

Test(spawn, cwd_applies_to_relative_program_path)
{
    ward_attr *a = ward_attr_new();
    char *argv[] = {"x", NULL};
    ward_child *c;

    /*
     * A relative program path is resolved by execve() in the child, after
     * the chdir(), as posix_spawn() with a chdir file action would.  The
     * caller's cwd has no such file, so success proves the order.
     */
    cr_assert_not_null(a);
    make_tmpdir();
    write_file(tmppath("rel.sh"), "#!/bin/sh\nexit 11\n", 0755);
    cr_assert_eq(ward_attr_setcwd(a, tmpdir), 0);
    cr_assert_neq(access("./rel.sh", F_OK), 0);
    c = ward_spawn("./rel.sh", argv, a);
    cr_assert_not_null(c, "ward_spawn(./rel.sh) with cwd: %s", strerror(errno));
    wt_reap_exit(c, 11);
    ward_attr_free(a);
    remove_tmpdir();
}

Test(spawn, umask)
{
    ward_attr *a = ward_attr_new();
    char out[64];
    mode_t old;

    cr_assert_not_null(a);
    old = umask(0077);
    wt_capture_ok(a, out, sizeof out, "umask");
    cr_assert_str_eq(out, "0077\n", "umask not inherited");
    umask(0022);
    wt_capture_ok(a, out, sizeof out, "umask");
    cr_assert_str_eq(out, "0022\n", "umask not inherited");
    cr_assert_eq(ward_attr_setumask(a, 0), 0);
    wt_capture_ok(a, out, sizeof out, "umask");
    cr_assert_str_eq(out, "0000\n");
    cr_assert_eq(ward_attr_setumask(a, 0750), 0);
    wt_capture_ok(a, out, sizeof out, "umask");
    cr_assert_str_eq(out, "0750\n");
    /* The caller's umask is its own. */
    cr_assert_eq(umask(old), 0022);
    ward_attr_free(a);
}

/* ---- stdio -------------------------------------------------------------- */

Test(spawn, stdio_inherit)
{
    int in[2], o[2], e[2], save[3];
    char buf[256];
    ward_child *c;

    /* Put pipes on this process's 0, 1, 2 for the length of one spawn. */
    cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(o, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(e, O_CLOEXEC), 0);
    for (int i = 0; i < 3; i++)
        save[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
    cr_assert(save[0] >= 0 && save[1] >= 0 && save[2] >= 0);
    fflush(stdout);
    fflush(stderr);
    dup2(in[0], 0);
    dup2(o[1], 1);
    dup2(e[1], 2);
    c = wt_spawn(NULL, "cat", "echoerr", "to-stderr");
    int err = errno;
    for (int i = 0; i < 3; i++) {
        dup2(save[i], i);
        close(save[i]);
    }
    close(in[0]);
    close(o[1]);
    close(e[1]);
    cr_assert_not_null(c, "ward_spawn: %s", strerror(err));
    wt_write_all(in[1], "through stdin\n");
    close(in[1]);
    wt_read_all(o[0], buf, sizeof buf);
    cr_assert_str_eq(buf, "through stdin\n");
    wt_read_all(e[0], buf, sizeof buf);
    cr_assert_str_eq(buf, "to-stderr\n");
    close(o[0]);
    close(e[0]);
    wt_reap_exit(c, 0);
}

Test(spawn, stdio_null)
{
    ward_attr *a = ward_attr_new();
    char out[512], want[512], null[64];
    int rep[2];

    cr_assert_not_null(a);
    devino_path("/dev/null", null, sizeof null);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ward_attr_setstdio(a, i, WARD_STDIO_NULL, -1), 0);
    /* Report through a mapped descriptor, since stdout is /dev/null. */
    cr_assert_eq(pipe2(rep, O_CLOEXEC), 0);
    cr_assert_eq(ward_attr_mapfd(a, rep[1], 9), 0);
    ward_child *c = wt_spawn_ok(a, "outfd", "9", "fdinfo", "0", "fdinfo", "1",
                                "fdinfo", "2", "cat", "echo", "end");
    close(rep[1]);
    wt_read_all(rep[0], out, sizeof out);
    close(rep[0]);
    wt_reap_exit(c, 0);
    snprintf(want, sizeof want, "fd 0 %s r\nfd 1 %s w\nfd 2 %s w\nend\n", null,
             null, null);
    cr_assert_str_eq(out, want);
    ward_attr_free(a);
}

Test(spawn, stdio_pipes)
{
    ward_attr *a = ward_attr_new();
    char out[256], err[256];
    int in, o, e;

    cr_assert_not_null(a);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ward_attr_setstdio(a, i, WARD_STDIO_PIPE, -1), 0);
    ward_child *c = wt_spawn_ok(a, "fdinfo", "0", "fdinfo", "1", "cat",
                                "echoerr", "err-line");
    in = ward_stdio(c, 0);
    o = ward_stdio(c, 1);
    e = ward_stdio(c, 2);
    cr_assert(in >= 0 && o >= 0 && e >= 0);
    /* The parent's ends: write end for 0, read ends for 1 and 2. */
    cr_assert_eq(fcntl(in, F_GETFL) & O_ACCMODE, O_WRONLY);
    cr_assert_eq(fcntl(o, F_GETFL) & O_ACCMODE, O_RDONLY);
    cr_assert_eq(fcntl(e, F_GETFL) & O_ACCMODE, O_RDONLY);
    cr_assert_eq(ward_stdio_take(c, 0), in);
    wt_write_all(in, "piped input\n");
    close(in);
    wt_read_all(o, out, sizeof out);
    wt_read_all(e, err, sizeof err);
    wt_reap_exit(c, 0);
    /* The child's ends: read for 0, write for 1. */
    cr_assert_not_null(strstr(out, " r\nfd 1 "), "output: %s", out);
    cr_assert_not_null(strstr(out, " w\npiped input\n"), "output: %s", out);
    cr_assert_str_eq(err, "err-line\n");
    ward_attr_free(a);
}

Test(spawn, stdio_fd)
{
    ward_attr *a = ward_attr_new();
    int p[2];
    char out[256];

    cr_assert_not_null(a);
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_FD, p[1]), 0);
    cr_assert_eq(ward_attr_setstdio(a, 2, WARD_STDIO_FD, p[1]), 0);
    ward_child *c = wt_spawn_ok(a, "echo", "out", "echoerr", "err");
    /* The caller's descriptor is still the caller's. */
    cr_assert_geq(fcntl(p[1], F_GETFD), 0, "ward_spawn closed the caller's fd");
    close(p[1]);
    wt_read_all(p[0], out, sizeof out);
    close(p[0]);
    wt_reap_exit(c, 0);
    cr_assert_str_eq(out, "out\nerr\n");
    ward_attr_free(a);
}

Test(spawn, stdio_fd_cloexec_source)
{
    ward_attr *a = ward_attr_new();
    int p[2];
    char out[256];

    cr_assert_not_null(a);
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_FD, p[1]), 0);
    ward_child *c = wt_spawn_ok(a, "echo", "through-cloexec-fd");
    close(p[1]);
    wt_read_all(p[0], out, sizeof out);
    close(p[0]);
    wt_reap_exit(c, 0);
    cr_assert_str_eq(out, "through-cloexec-fd\n");
    ward_attr_free(a);
}

Test(spawn, stdio_fd_swapped_1_and_2)
{
    ward_attr *a = ward_attr_new();
    int A[2], B[2], save1, save2;
    char out[64], err[64];
    ward_child *c;

    /* child 1 <- parent 2 and child 2 <- parent 1: dup2 order matters. */
    cr_assert_not_null(a);
    cr_assert_eq(pipe2(A, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(B, O_CLOEXEC), 0);
    save1 = fcntl(1, F_DUPFD_CLOEXEC, 10);
    save2 = fcntl(2, F_DUPFD_CLOEXEC, 10);
    fflush(stdout);
    fflush(stderr);
    dup2(A[1], 1);
    dup2(B[1], 2);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_FD, 2), 0);
    cr_assert_eq(ward_attr_setstdio(a, 2, WARD_STDIO_FD, 1), 0);
    c = wt_spawn(a, "echo", "out", "echoerr", "err");
    int e = errno;
    dup2(save1, 1);
    dup2(save2, 2);
    close(save1);
    close(save2);
    close(A[1]);
    close(B[1]);
    cr_assert_not_null(c, "ward_spawn: %s", strerror(e));
    wt_read_all(A[0], err, sizeof err);
    wt_read_all(B[0], out, sizeof out);
    close(A[0]);
    close(B[0]);
    wt_reap_exit(c, 0);
    cr_assert_str_eq(out, "out\n", "child stdout should be the caller's fd 2");
    cr_assert_str_eq(err, "err\n", "child stderr should be the caller's fd 1");
    ward_attr_free(a);
}

/* ---- Mapped and inherited descriptors ----------------------------------- */

Test(spawn, mapfd)
{
    ward_attr *a = ward_attr_new();
    int p[2];
    char out[256], fds[256];

    cr_assert_not_null(a);
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    cr_assert_eq(ward_attr_mapfd(a, p[1], 7), 0);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    ward_child *c = wt_spawn_ok(a, "writefd", "7", "mapped", "fds");
    close(p[1]);
    wt_read_all(ward_stdio(c, 1), fds, sizeof fds);
    wt_read_all(p[0], out, sizeof out);
    close(p[0]);
    wt_reap_exit(c, 0);
    cr_assert_str_eq(out, "mapped\n");
    cr_assert_str_eq(fds, "fds: 0 1 2 7\n");
    ward_attr_free(a);
}

/*
 * The child's plan sorts the targets, in a buffer of the spawn's own for a
 * few and in one allocated for many: both ways, targets given out of
 * order all arrive, and nothing else.
 */
static void mapfd_many(int n)
{
    static const int order[] = { 40, 12, 33, 7, 25, 18, 3, 29, 50, 9, 44, 21, 15, 37, 5,
                                 61, 4, 58, 11, 47 };
    ward_attr *a = ward_attr_new();
    char fds[512], want[512];
    int p[2], sorted[32];
    size_t len;

    cr_assert_leq((size_t)n, sizeof order / sizeof order[0]);
    cr_assert_not_null(a);
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    for (int i = 0; i < n; i++) {
        int j = i;

        cr_assert_eq(ward_attr_mapfd(a, p[1], order[i]), 0);
        for (; j > 0 && sorted[j - 1] > order[i]; j--)
            sorted[j] = sorted[j - 1];
        sorted[j] = order[i];
    }
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    ward_child *c = wt_spawn_ok(a, "fds");
    close(p[1]);
    close(p[0]);
    wt_read_all(ward_stdio(c, 1), fds, sizeof fds);
    wt_reap_exit(c, 0);
    len = (size_t)snprintf(want, sizeof want, "fds: 0 1 2");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(want + len, sizeof want - len, " %d", sorted[i]);
    snprintf(want + len, sizeof want - len, "\n");
    cr_assert_str_eq(fds, want);
    ward_attr_free(a);
}

Test(spawn, mapfd_a_few_out_of_order)
{
    mapfd_many(5);
}

Test(spawn, mapfd_many_out_of_order)
{
    mapfd_many(20);
}

/*
 * The source of a mapping above every target, and not close-on-exec: the
 * child's table keeps it until the mapping is made, and it must be closed
 * after (the close of everything above the targets is skipped only where
 * the backend's new table holds nothing up there).
 */
Test(spawn, mapfd_from_a_higher_inheritable_source_is_closed)
{
    ward_attr *a = ward_attr_new();
    int p[2], hi;
    char out[256], fds[256];

    cr_assert_not_null(a);
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    hi = fcntl(p[1], F_DUPFD, 50);
    cr_assert_geq(hi, 50);
    cr_assert_eq(fcntl(hi, F_GETFD) & FD_CLOEXEC, 0);
    cr_assert_eq(ward_attr_mapfd(a, hi, 5), 0);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    ward_child *c = wt_spawn_ok(a, "writefd", "5", "mapped", "fds");
    close(p[1]);
    close(hi);
    wt_read_all(ward_stdio(c, 1), fds, sizeof fds);
    wt_read_all(p[0], out, sizeof out);
    close(p[0]);
    wt_reap_exit(c, 0);
    cr_assert_str_eq(out, "mapped\n");
    cr_assert_str_eq(fds, "fds: 0 1 2 5\n");
    ward_attr_free(a);
}

Test(spawn, mapfd_identity_of_cloexec_descriptor)
{
    ward_attr *a = ward_attr_new();
    int p[2];
    char out[256], n[16];

    /* dup2(fd, fd) keeps FD_CLOEXEC: ward must clear it itself. */
    cr_assert_not_null(a);
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    cr_assert_eq(ward_attr_mapfd(a, p[1], p[1]), 0);
    snprintf(n, sizeof n, "%d", p[1]);
    ward_child *c = wt_spawn_ok(a, "writefd", n, "same-number");
    close(p[1]);
    wt_read_all(p[0], out, sizeof out);
    close(p[0]);
    wt_reap_exit(c, 0);
    cr_assert_str_eq(out, "same-number\n");
    ward_attr_free(a);
}

Test(spawn, mapfd_swap)
{
    ward_attr *a = ward_attr_new();
    int A[2], B[2];
    char x[16], y[16], outA[64], outB[64];

    cr_assert_not_null(a);
    cr_assert_eq(pipe2(A, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(B, O_CLOEXEC), 0);
    /* Child's A[1] number gets the B pipe and the other way round. */
    cr_assert_eq(ward_attr_mapfd(a, A[1], B[1]), 0);
    cr_assert_eq(ward_attr_mapfd(a, B[1], A[1]), 0);
    snprintf(x, sizeof x, "%d", A[1]);
    snprintf(y, sizeof y, "%d", B[1]);
    ward_child *c = wt_spawn_ok(a, "writefd", y, "to-A", "writefd", x, "to-B");
    close(A[1]);
    close(B[1]);
    wt_read_all(A[0], outA, sizeof outA);
    wt_read_all(B[0], outB, sizeof outB);
    close(A[0]);
    close(B[0]);
    wt_reap_exit(c, 0);
    cr_assert_str_eq(outA, "to-A\n");
    cr_assert_str_eq(outB, "to-B\n");
    ward_attr_free(a);
}

Test(spawn, mapfd_again_replaces)
{
    ward_attr *a = ward_attr_new();
    int A[2], B[2];
    char outA[64], outB[64];

    cr_assert_not_null(a);
    cr_assert_eq(pipe2(A, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(B, O_CLOEXEC), 0);
    cr_assert_eq(ward_attr_mapfd(a, A[1], 9), 0);
    cr_assert_eq(ward_attr_mapfd(a, B[1], 9), 0);
    ward_child *c = wt_spawn_ok(a, "writefd", "9", "nine");
    close(A[1]);
    close(B[1]);
    wt_read_all(A[0], outA, sizeof outA);
    wt_read_all(B[0], outB, sizeof outB);
    close(A[0]);
    close(B[0]);
    wt_reap_exit(c, 0);
    cr_assert_str_eq(outA, "");
    cr_assert_str_eq(outB, "nine\n");
    ward_attr_free(a);
}

Test(spawn, mapfd_high_number_over_an_open_one)
{
    ward_attr *a = ward_attr_new();
    int p[2], other;
    char out[64], fds[256];

    cr_assert_not_null(a);
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    /* The caller has its own (inheritable) descriptor 200 open. */
    other = open("/dev/null", O_RDONLY);
    cr_assert_geq(other, 0);
    cr_assert_eq(dup2(other, 200), 200);
    close(other);
    cr_assert_eq(ward_attr_mapfd(a, p[1], 200), 0);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    ward_child *c = wt_spawn_ok(a, "writefd", "200", "high", "fds");
    close(p[1]);
    wt_read_all(ward_stdio(c, 1), fds, sizeof fds);
    wt_read_all(p[0], out, sizeof out);
    close(p[0]);
    wt_reap_exit(c, 0);
    close(200);
    cr_assert_str_eq(out, "high\n");
    cr_assert_str_eq(fds, "fds: 0 1 2 200\n");
    ward_attr_free(a);
}

Test(spawn, descriptors_closed_by_default)
{
    ward_attr *a = ward_attr_new();
    int fd, high;
    char out[256];

    cr_assert_not_null(a);
    fd = open("/dev/null", O_RDONLY); /* inheritable: no O_CLOEXEC */
    cr_assert_geq(fd, 0);
    high = dup2(fd, 1000);
    cr_assert_eq(high, 1000);
    wt_capture_ok(a, out, sizeof out, "fds");
    cr_assert_str_eq(out, "fds: 0 1 2\n");
    close(fd);
    close(high);
    ward_attr_free(a);
}

Test(spawn, descriptors_kept_with_inherit_fds)
{
    ward_attr *a = ward_attr_new();
    int keep, cloexec, high;
    char out[1024], want[1024];
    size_t len;

    cr_assert_not_null(a);
    keep = open("/dev/null", O_RDONLY);
    cloexec = open("/dev/null", O_RDONLY | O_CLOEXEC);
    cr_assert(keep >= 0 && cloexec >= 0);
    high = dup2(keep, 1000);
    cr_assert_eq(high, 1000);
    cr_assert_eq(ward_attr_setflags(a, WARD_INHERIT_FDS), 0);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);

    /* Expected: 0, 1, 2 and every descriptor of ours without FD_CLOEXEC. */
    len = (size_t)snprintf(want, sizeof want, "fds: 0 1 2");
    for (int i = 3; i < 1024; i++) {
        int fl = fcntl(i, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC))
            len += (size_t)snprintf(want + len, sizeof want - len, " %d", i);
    }
    snprintf(want + len, sizeof want - len, "\n");
    ward_child *c = wt_spawn_ok(a, "fds");
    wt_read_all(ward_stdio(c, 1), out, sizeof out);
    wt_reap_exit(c, 0);
    cr_assert_str_eq(out, want);
    cr_assert_not_null(strstr(out, " 1000"));
    close(keep);
    close(cloexec);
    close(high);
    ward_attr_free(a);
}

/* ---- Process group and session ----------------------------------------- */

static void spawn_ids(unsigned int flags, long *pid, long *ppid, long *pgid,
                      long *sid, ward_child **keep)
{
    ward_attr *a = ward_attr_new();
    char out[256];
    ward_child *c;

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setflags(a, flags), 0);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    c = wt_spawn_ok(a, "ids");
    wt_read_all(ward_stdio(c, 1), out, sizeof out);
    cr_assert_eq(sscanf(out, "pid %ld ppid %ld pgid %ld sid %ld", pid, ppid,
                        pgid, sid),
                 4, "output: %s", out);
    cr_assert_eq(*pid, (long)ward_pid(c));
    *keep = c;
    ward_attr_free(a);
}

Test(spawn, default_group_and_session)
{
    long pid, ppid, pgid, sid;
    ward_child *c;

    spawn_ids(0, &pid, &ppid, &pgid, &sid, &c);
    cr_assert_eq(ppid, (long)getpid());
    cr_assert_eq(pgid, (long)getpgrp());
    cr_assert_eq(sid, (long)getsid(0));
    wt_reap_exit(c, 0);
}

Test(spawn, new_pgroup)
{
    long pid, ppid, pgid, sid;
    ward_child *c;

    spawn_ids(WARD_NEW_PGROUP, &pid, &ppid, &pgid, &sid, &c);
    cr_assert_eq(ppid, (long)getpid());
    cr_assert_eq(pgid, pid);
    cr_assert_eq(sid, (long)getsid(0));
    wt_reap_exit(c, 0);
}

Test(spawn, new_session)
{
    long pid, ppid, pgid, sid;
    ward_child *c;

    spawn_ids(WARD_NEW_SESSION, &pid, &ppid, &pgid, &sid, &c);
    cr_assert_eq(ppid, (long)getpid());
    cr_assert_eq(pgid, pid);
    cr_assert_eq(sid, pid);
    wt_reap_exit(c, 0);
}

/* ---- Signal mask and dispositions --------------------------------------- */

static void on_signal(int sig)
{
    (void)sig;
}

static int listed(int sig)
{
    return (sig >= 1 && sig <= 31) || (sig >= SIGRTMIN && sig <= SIGRTMAX);
}

/* What the helper's "sigmask sigign" should print for our own state. */
static void expected_signals(char *buf, size_t cap)
{
    sigset_t set;
    struct sigaction sa;
    size_t len;

    pthread_sigmask(SIG_SETMASK, NULL, &set);
    len = (size_t)snprintf(buf, cap, "mask:");
    for (int sig = 1; sig < NSIG; sig++)
        if (listed(sig) && sigismember(&set, sig) == 1)
            len += (size_t)snprintf(buf + len, cap - len, " %d", sig);
    len += (size_t)snprintf(buf + len, cap - len, "\nign:");
    for (int sig = 1; sig < NSIG; sig++) {
        if (!listed(sig) || sigaction(sig, NULL, &sa) < 0)
            continue;
        if (!(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_IGN)
            len += (size_t)snprintf(buf + len, cap - len, " %d", sig);
    }
    snprintf(buf + len, cap - len, "\n");
}

static void set_signal_state(sigset_t *oldmask)
{
    sigset_t block;
    struct sigaction sa;

    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGRTMIN + 1);
    cr_assert_eq(pthread_sigmask(SIG_BLOCK, &block, oldmask), 0);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    cr_assert_eq(sigaction(SIGUSR2, &sa, NULL), 0);
    cr_assert_eq(sigaction(SIGRTMIN + 2, &sa, NULL), 0);
    sa.sa_handler = on_signal;
    cr_assert_eq(sigaction(SIGHUP, &sa, NULL), 0);
    cr_assert_eq(sigaction(SIGRTMIN + 3, &sa, NULL), 0);
}

static void restore_signal_state(const sigset_t *oldmask)
{
    signal(SIGUSR2, SIG_DFL);
    signal(SIGRTMIN + 2, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGRTMIN + 3, SIG_DFL);
    pthread_sigmask(SIG_SETMASK, oldmask, NULL);
}

Test(spawn, signals_inherited_without_reset)
{
    ward_attr *a = ward_attr_new();
    sigset_t old, before, after;
    char out[512], want[512];

    cr_assert_not_null(a);
    set_signal_state(&old);
    expected_signals(want, sizeof want);
    cr_assert_not_null(strstr(want, "mask: "), "%s", want);
    pthread_sigmask(SIG_SETMASK, NULL, &before);
    /* Blocked stays blocked, ignored stays ignored, caught becomes SIG_DFL. */
    wt_capture_ok(a, out, sizeof out, "sigmask", "sigign");
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    restore_signal_state(&old);
    cr_assert_str_eq(out, want);
    for (int sig = 1; sig < NSIG; sig++)
        cr_assert_eq(sigismember(&before, sig), sigismember(&after, sig),
                     "ward_spawn changed the caller's mask (signal %d)", sig);
    ward_attr_free(a);
}

Test(spawn, signals_reset)
{
    ward_attr *a = ward_attr_new();
    sigset_t old;
    char out[512];

    cr_assert_not_null(a);
    set_signal_state(&old);
    cr_assert_eq(ward_attr_setflags(a, WARD_RESET_SIGNALS), 0);
    wt_capture_ok(a, out, sizeof out, "sigmask", "sigign");
    restore_signal_state(&old);
    cr_assert_str_eq(out, "mask:\nign:\n");
    ward_attr_free(a);
}

/* SIGHUP is caught here; a child must still die of it. */
static void caught_sighup_kills_the_child(void)
{
    ward_attr *a = ward_attr_new();
    ward_child *c;
    char line[64];
    int st;

    cr_assert_not_null(a);
    cr_assert_neq(signal(SIGHUP, on_signal), SIG_ERR);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    c = wt_spawn_ok(a, "echo", "ready", "sleep", "20000");
    cr_assert_eq(wt_read_line(ward_stdio(c, 1), line, sizeof line), 0);
    cr_assert_eq(ward_kill(c, SIGHUP), 0);
    st = wt_wait_ok(c);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGHUP, "status 0x%x", st);
    ward_free(c);
    signal(SIGHUP, SIG_DFL);
    ward_attr_free(a);
}

Test(spawn, caught_signal_is_default_in_child)
{
    /* A handler of ours cannot run in the child: SIGHUP must kill it. */
    caught_sighup_kills_the_child();
}

/*
 * Between its birth and its exec a child shares the parent's memory, so a
 * handler of the parent's must never run there.  A thread signals each
 * child of the spawning thread as soon as it appears in
 * /proc/self/task/TID/children (pinned with a pidfd and checked to be ours
 * before the signal); a caught SIGUSR1 in the parent must be SIG_DFL in the
 * child, so each child hit before its exec dies of it, and the handler,
 * which counts the runs it sees in another process, must never run.
 */
#ifdef SYS_pidfd_open
static pid_t window_parent;
static atomic_int window_runs_elsewhere;
static atomic_int window_stop;
static atomic_int window_sent;
static atomic_int window_runs_here;

/* Counts the runs it sees in another process, and those in the parent. */
static void window_handler(int sig)
{
    (void)sig;
    if ((pid_t)syscall(SYS_getpid) != window_parent)
        atomic_fetch_add(&window_runs_elsewhere, 1);
    else
        atomic_fetch_add(&window_runs_here, 1);
}

static int is_our_child(pid_t pid)
{
    char path[64], buf[512], *p;
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
        return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* pid (comm) state ppid ...: comm may hold anything but not the last ')' */
    if ((p = strrchr(buf, ')')) == NULL)
        return 0;
    return atoi(p + 4) == (int)getpid();
}

static void *window_signaller(void *arg)
{
    char path[64], buf[4096];
    int tid = *(int *)arg;

    snprintf(path, sizeof path, "/proc/self/task/%d/children", tid);
    while (!atomic_load(&window_stop)) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd == -1)
            break;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        for (char *p = buf; *p != '\0';) {
            char *end;
            long pid = strtol(p, &end, 10);
            int pidfd;

            if (end == p)
                break;
            p = end;
            /* The pidfd pins the process; the check says it is ours. */
            if ((pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0)) == -1)
                continue;
            if (is_our_child((pid_t)pid) &&
                syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, NULL, 0) == 0)
                atomic_fetch_add(&window_sent, 1);
            close(pidfd);
        }
    }
    return NULL;
}

/*
 * Attributes whose PATH makes the child try 400 missing directories before
 * it finds the helper: a child that stays a long while between its birth
 * and its exec, so that signals sent meanwhile land in that window.
 */
static ward_attr *attr_with_long_path(void)
{
    static char path[400 * 24 + PATH_MAX];
    size_t len = 0;
    ward_attr *a = ward_attr_new();

    cr_assert_not_null(a);
    wt_helper();
    for (int i = 0; i < 400; i++)
        len += (size_t)snprintf(path + len, sizeof path - len, "/nonexistent/%d:", i);
    snprintf(path + len, sizeof path - len, "%s", wt_helper_dirname);
    cr_assert_eq(ward_attr_putenv(a, "PATH", path), 0);
    return a;
}

static void no_handler_runs_in_a_child(void)
{
    int tid = (int)syscall(SYS_gettid), killed = 0;
    struct sigaction sa;
    pthread_t th;

    /*
     * The window that matters ends when the child unblocks signals just
     * before its exec; it is made wide here by a PATH search through
     * hundreds of directories that do not exist, whose failed execve()
     * calls all come after the unblock.
     */
    char *argv[] = { "helper", "exit", "0", NULL };
    ward_attr *a = attr_with_long_path();

    window_parent = getpid();
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = window_handler;
    cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    cr_assert_eq(pthread_create(&th, NULL, window_signaller, &tid), 0);
    for (int i = 0; i < 3000 && (i < 300 || killed < 20); i++) {
        ward_child *c = ward_spawn("helper", argv, a);
        int st;

        cr_assert_not_null(c, "ward_spawn: %s", strerror(errno));
        st = wt_wait_ok(c);

        cr_assert(WIFEXITED(st) || (WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1),
                  "status 0x%x", st);
        killed += WIFSIGNALED(st);
        ward_free(c);
    }
    atomic_store(&window_stop, 1);
    pthread_join(th, NULL);
    signal(SIGUSR1, SIG_DFL);
    ward_attr_free(a);
    cr_assert_eq(atomic_load(&window_runs_elsewhere), 0,
                 "a handler of the parent ran %d times in a child",
                 atomic_load(&window_runs_elsewhere));
    cr_log_info("%d signals sent, %d children killed by them", atomic_load(&window_sent),
                killed);
    cr_assert_gt(killed, 0, "no child was hit: the test proved nothing");
}

Test(spawn, no_handler_of_ours_runs_in_a_child)
{
    no_handler_runs_in_a_child();
}
#endif

#ifdef SYS_pidfd_open
/*
 * Signals at the spawning thread itself, all through its spawns, from a
 * handler without SA_RESTART: no spawn may fail for them, no child may be
 * lost or run the handler, and the handler must run in the parent, many
 * times (between spawns, and where a spawn leaves signals open).
 */
static atomic_int storm_stop;

static void *storm_sender(void *arg)
{
    pid_t tid = *(pid_t *)arg;
    struct timespec pause = { 0, 20000 };

    while (!atomic_load(&storm_stop)) {
        if (syscall(SYS_tgkill, (pid_t)getpid(), tid, SIGUSR1) == -1)
            break;
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void spawn_through_a_signal_storm(void)
{
    pid_t tid = (pid_t)syscall(SYS_gettid);
    char *argv[] = { "helper", "exit", "3", NULL };
    struct sigaction sa;
    pthread_t th;
    /* Fewer where everything is slower (an emulated kernel): 200 at least. */
    long slow = wt_parse_slowdown(getenv(WT_SLOWDOWN_ENV));
    int n = slow > 1 ? (int)(2000 / slow < 200 ? 200 : 2000 / slow) : 2000;

    wt_helper();
    window_parent = getpid();
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = window_handler; /* no SA_RESTART */
    cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    cr_assert_eq(pthread_create(&th, NULL, storm_sender, &tid), 0);
    for (int i = 0; i < n; i++) {
        ward_child *c = ward_spawn(wt_helper_path, argv, NULL);
        int st, r;

        cr_assert_not_null(c, "spawn %d of %d: %s", i + 1, n, strerror(errno));
        /* The wait is the caller's: EINTR there is waitpid(2)'s rule. */
        while ((r = ward_wait(c, &st)) == -1 && errno == EINTR)
            ;
        cr_assert_eq(r, 0, "wait %d: %s", i + 1, strerror(errno));
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3, "spawn %d: status 0x%x", i + 1, st);
        ward_free(c);
    }
    atomic_store(&storm_stop, 1);
    pthread_join(th, NULL);
    signal(SIGUSR1, SIG_DFL);
    cr_assert_eq(atomic_load(&window_runs_elsewhere), 0,
                 "a handler of the parent ran %d times in a child",
                 atomic_load(&window_runs_elsewhere));
    cr_log_info("the handler ran %d times in the spawning thread",
                atomic_load(&window_runs_here));
    cr_assert_gt(atomic_load(&window_runs_here), n / 10,
                 "the handler ran only %d times: the test proved little",
                 atomic_load(&window_runs_here));
}

Test(spawn, signals_at_the_spawning_thread_fail_no_spawn)
{
    spawn_through_a_signal_storm();
}
#endif

/*
 * ward_waitpid(3): "Code that waits for any child, such as a SIGCHLD
 * handler ... calls them in place of the C library's functions".  Such a
 * handler must never run in the spawning thread while ward_spawn() holds
 * the spawn gate shared: ward_waitpid(-1) takes the gate exclusively, and
 * the thread would wait for itself for ever.  A child alive across the
 * next spawn sends its SIGCHLD while that spawn is in the kernel.  A spawn
 * that left the caller's mask alone around the birth hung here every time.
 */
static atomic_int reap_in_handler_runs;

static void reap_in_handler(int sig)
{
    int st, e = errno;

    (void)sig;
    atomic_fetch_add(&reap_in_handler_runs, 1);
    while (ward_waitpid(-1, &st, WNOHANG) > 0)
        ;
    errno = e;
}

Test(spawn, sigchld_handler_waiting_for_any_child_during_a_spawn, .timeout = 60)
{
    char *argv[] = { "helper", "exit", "0", NULL };
    ward_attr *at = ward_attr_new();
    struct sigaction sa;

    wt_helper();
    /*
     * Ordinary children, which send SIGCHLD on every kernel: on Linux 7.1+
     * ward's children are otherwise reaped by the kernel and send none.
     */
    cr_assert_not_null(at);
    cr_assert_eq(ward_attr_setflags(at, WARD_RUSAGE), 0);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = reap_in_handler;
    sa.sa_flags = SA_RESTART;
    cr_assert_eq(sigaction(SIGCHLD, &sa, NULL), 0);
    for (int i = 0; i < 300; i++) {
        ward_child *a = ward_spawn(wt_helper_path, argv, at);
        ward_child *b = a != NULL ? ward_spawn(wt_helper_path, argv, at) : NULL;

        cr_assert_not_null(b, "spawn %d: %s", i, strerror(errno));
        wt_reap_exit(a, 0);
        wt_reap_exit(b, 0);
    }
    signal(SIGCHLD, SIG_DFL);
    ward_attr_free(at);
    cr_assert_gt(atomic_load(&reap_in_handler_runs), 0);
}

#ifdef SYS_pidfd_open
/*
 * A signal handler that runs in the spawning thread while a child is being
 * born: a thread sends the signal each time it sees a child of the
 * spawning thread in /proc (before its exec, which a PATH search through
 * hundreds of missing directories makes long), so that it is delivered as
 * the spawn's clone returns, before the child is in ward's table.  A
 * watchdog in the same thread kills the spawning thread's children if one
 * spawn lasts for seconds, so that a spawn that would never return fails
 * the test instead of hanging it.
 */
static pid_t birth_tid;
static int birth_sig;
static char birth_children[64];
static atomic_int birth_stop, birth_stuck, birth_reported;
static atomic_long birth_progress;

/* The spawning thread's children, from /proc; async-signal-safe. */
static int birth_kids(pid_t *out, int cap)
{
    char buf[4096];
    ssize_t len;
    int fd, n = 0;
    pid_t v = 0;

    if ((fd = open(birth_children, O_RDONLY | O_CLOEXEC)) == -1)
        return 0;
    len = read(fd, buf, sizeof buf);
    close(fd);
    for (ssize_t i = 0; i < len && n < cap; i++) {
        if (buf[i] >= '0' && buf[i] <= '9') {
            v = v * 10 + (buf[i] - '0');
        } else if (v != 0) {
            out[n++] = v;
            v = 0;
        }
    }
    return n;
}

static void *birth_signaller(void *arg)
{
    struct timespec pause = { 0, 50000 }, since, now;
    long slow = wt_parse_slowdown(getenv(WT_SLOWDOWN_ENV)), seen = -1;

    (void)arg;
    clock_gettime(CLOCK_MONOTONIC, &since);
    while (!atomic_load(&birth_stop)) {
        pid_t kids[64];
        int n = birth_kids(kids, 64);

        if (n > 0 && syscall(SYS_tgkill, (pid_t)getpid(), birth_tid, birth_sig) == -1) {
            break;
        }
        nanosleep(&pause, NULL);
        /* 10 s (times the slowdown) without a spawn done: stuck. */
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (atomic_load(&birth_progress) != seen) {
            seen = atomic_load(&birth_progress);
            since = now;
        } else if (now.tv_sec - since.tv_sec > 10 * (slow > 1 ? slow : 1)) {
            atomic_store(&birth_stuck, 1);
            for (int i = 0; i < n; i++) {
                int pidfd = (int)syscall(SYS_pidfd_open, kids[i], 0);

                if (pidfd != -1) {
                    (void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
                    close(pidfd);
                }
            }
            since = now;
        }
    }
    return NULL;
}

/* n spawns of the helper by name (op, then arg), with the signal at the birth. */
static void spawns_with_signals_at_birth(int sig, void (*handler)(int), int n,
                                         const char *op, const char *arg)
{
    char *argv[] = { "helper", (char *)op, (char *)arg, NULL };
    ward_attr *a = attr_with_long_path();
    struct sigaction sa;
    pthread_t th;

    /* Ordinary children, which send SIGCHLD on Linux 7.1+ too. */
    cr_assert_eq(ward_attr_setflags(a, WARD_RUSAGE), 0);
    cr_assert_eq(ward_attr_setstdio(a, 0, WARD_STDIO_PIPE, -1), 0);

    birth_tid = (pid_t)syscall(SYS_gettid);
    birth_sig = sig;
    snprintf(birth_children, sizeof birth_children, "/proc/self/task/%d/children",
             (int)birth_tid);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    cr_assert_eq(sigaction(sig, &sa, NULL), 0);
    cr_assert_eq(pthread_create(&th, NULL, birth_signaller, NULL), 0);
    for (int i = 0; i < n && !atomic_load(&birth_stuck); i++) {
        ward_child *c = ward_spawn("helper", argv, a);
        int st;

        atomic_fetch_add(&birth_progress, 1);
        cr_assert_not_null(c, "spawn %d: %s", i, strerror(errno));
        close(ward_stdio_take(c, 0));
        st = wt_wait_ok(c);
        cr_assert(atomic_load(&birth_stuck) || (WIFEXITED(st) && WEXITSTATUS(st) == 0),
                  "spawn %d: status 0x%x", i, st);
        ward_free(c);
    }
    atomic_store(&birth_stop, 1);
    pthread_join(th, NULL);
    signal(sig, SIG_DFL);
    ward_attr_free(a);
}

/*
 * ward_waitpid(3): a wait for any child fails with ECHILD where every child
 * left is private, and a blocking one that cannot tell a child apart in a
 * handler that interrupted a spawn fails with EINTR.  It must never sleep
 * on the child being born: the spawn would not return until that child
 * ended, and this one (a cat of a pipe the caller closes once it has the
 * handle) never would.
 */
static void wait_any_blocking_in_handler(int sig)
{
    int st, e = errno;

    (void)sig;
    (void)ward_waitpid(-1, &st, 0);
    errno = e;
}

Test(spawn, blocking_wait_for_any_child_in_a_handler_never_sleeps_on_a_birth, .timeout = 120)
{
    /*
     * The portable backend cannot tell the program's children from ward's
     * without the lock: there a blocking wait sleeps while private children
     * run, in a handler or not (ward_waitpid(3)).
     */
    if (strcmp(ward_backend(), "linux") != 0)
        cr_skip_test("the %s backend cannot tell private children apart", ward_backend());
    spawns_with_signals_at_birth(SIGCHLD, wait_any_blocking_in_handler, 300, "cat", NULL);
    cr_assert_eq(atomic_load(&birth_stuck), 0,
                 "a spawn did not return until its child was killed: a handler's "
                 "ward_waitpid(-1) slept on the child being born");
}

/*
 * A wait that names a private child fails with ECHILD, as for a process that
 * is not a child, even for the child a spawn is starting in the very thread
 * the handler interrupted.  The handler waits for each child /proc lists
 * for the thread (as a handler that waits for si_pid would, for a child
 * that ended at that moment); none of them is ever the program's.
 */
static void wait_each_kid_in_handler(int sig)
{
    pid_t kids[64];
    int n, st, e = errno;

    (void)sig;
    n = birth_kids(kids, 64);
    for (int i = 0; i < n; i++)
        if (ward_waitpid(kids[i], &st, 0) > 0)
            atomic_fetch_add(&birth_reported, 1);
    errno = e;
}

Test(spawn, wait_for_the_pid_being_born_in_a_handler_is_echild, .timeout = 120)
{
    spawns_with_signals_at_birth(SIGUSR1, wait_each_kid_in_handler, 300, "exit", "0");
    cr_assert_eq(atomic_load(&birth_stuck), 0, "a spawn did not return");
    cr_assert_eq(atomic_load(&birth_reported), 0,
                 "ward_waitpid(pid) in a handler reaped and reported %d private children",
                 atomic_load(&birth_reported));
}

#endif

/*
 * The Linux backend makes children with clone3(CLONE_CLEAR_SIGHAND) and
 * falls back to clone(), with the handlers reset by the child itself, where
 * clone3 is refused: an older kernel, or a seccomp filter such as container
 * runtimes install.  Install such a filter in this test's process (each
 * test runs in its own) and check that the signal state is still right.
 */
#if defined(__linux__) && defined(__NR_clone3)
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>

/* Make system call nr fail with err in this process from now on. */
static void refuse_syscall(long nr, int err)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned int)err & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };

    cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0, "%s", strerror(errno));
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        cr_skip_test("seccomp filters are not allowed here: %s", strerror(errno));
}

static void refuse_clone3(int err)
{
    refuse_syscall(__NR_clone3, err);
    errno = 0;
    cr_assert_eq(syscall(__NR_clone3, NULL, (size_t)0), -1);
    cr_assert_eq(errno, err, "the filter did not take: %s", strerror(errno));
}

static void signals_without_clone3(int err)
{
    ward_attr *a = ward_attr_new();
    sigset_t old;
    char out[512], want[512];

    cr_assert_not_null(a);
    refuse_clone3(err);
    set_signal_state(&old);
    expected_signals(want, sizeof want);
    wt_capture_ok(a, out, sizeof out, "sigmask", "sigign");
    cr_assert_str_eq(out, want);
    cr_assert_eq(ward_attr_setflags(a, WARD_RESET_SIGNALS), 0);
    wt_capture_ok(a, out, sizeof out, "sigmask", "sigign");
    cr_assert_str_eq(out, "mask:\nign:\n");
    restore_signal_state(&old);
    ward_attr_free(a);
    caught_sighup_kills_the_child();
}

Test(spawn, signals_right_where_clone3_is_enosys)
{
    signals_without_clone3(ENOSYS);
}

Test(spawn, signals_right_where_clone3_is_eperm)
{
    signals_without_clone3(EPERM);
}

Test(spawn, no_handler_of_ours_runs_in_a_child_without_clone3)
{
    refuse_clone3(ENOSYS);
    no_handler_runs_in_a_child();
}

/* The same where clone() stands in, with signals blocked by the backend. */
Test(spawn, signals_at_the_spawning_thread_fail_no_spawn_without_clone3)
{
    refuse_clone3(ENOSYS);
    spawn_through_a_signal_storm();
}

/*
 * The first spawn of a process finds clone3 refused and falls back to
 * clone(); that clone() fails with EMFILE (no descriptor for the pidfd),
 * and the retry without a pidfd must still run with every signal blocked,
 * as the child shares the parent's memory and its handlers until it has
 * reset them: a signal sent to the process group must never run the
 * program's handler in the vfork child.  Each round is a process of its
 * own (only the first spawn meets both refusals), in a process group of its
 * own, with a thread sending SIGUSR1 to the group.
 */
static atomic_int *emfile_in_child;
static pid_t emfile_parent;
static atomic_int emfile_stop;

static void emfile_handler(int sig)
{
    (void)sig;
    if ((pid_t)syscall(SYS_getpid) != emfile_parent)
        atomic_fetch_add(emfile_in_child, 1);
}

static void *emfile_sender(void *arg)
{
    (void)arg;
    while (!atomic_load(&emfile_stop))
        (void)kill(0, SIGUSR1);
    return NULL;
}

static int emfile_round(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
    char *argv[] = { "helper", "exit", "0", NULL };
    struct rlimit rl = { 64, 64 };
    struct sigaction sa;
    ward_attr *a;
    ward_child *c;
    pthread_t th;
    int st;

    if (setpgid(0, 0) != 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return 2;
    emfile_parent = getpid();
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = emfile_handler;
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGUSR1, &sa, NULL) != 0 || (a = ward_attr_new()) == NULL ||
        ward_attr_setflags(a, WARD_INHERIT_FDS) != 0)
        return 3;
    (void)ward_waitpid(-1, &st, WNOHANG); /* ward starts, with its descriptors */
    if (pthread_create(&th, NULL, emfile_sender, NULL) != 0)
        return 4;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
    while (open("/dev/null", O_RDONLY | O_CLOEXEC) >= 0)
        ;
    c = ward_spawn(wt_helper_path, argv, a);
    atomic_store(&emfile_stop, 1);
    pthread_join(th, NULL);
    if (c == NULL)
        return 5;
    while (ward_wait(c, &st) == -1 && errno == EINTR)
        ;
    return 0;
}

Test(spawn, no_handler_runs_in_a_child_without_clone3_or_a_descriptor, .timeout = 120)
{
    int fails = 0, runs;

    wt_helper();
    emfile_in_child = mmap(NULL, sizeof *emfile_in_child, PROT_READ | PROT_WRITE,
                           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(emfile_in_child, MAP_FAILED);
    for (int i = 0; i < 50; i++) {
        pid_t pid = fork();
        int st;

        cr_assert_neq(pid, -1);
        if (pid == 0)
            _exit(emfile_round());
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        fails += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    }
    runs = atomic_load(emfile_in_child);
    munmap(emfile_in_child, sizeof *emfile_in_child);
    cr_assert_eq(fails, 0, "%d rounds failed", fails);
    cr_assert_eq(runs, 0, "a handler of the parent ran %d times in a vfork child", runs);
}

/*
 * The Linux backend starts a child on the parent's descriptor table
 * (CLONE_FILES) and has it take a table of its own, holding only what its
 * plan uses, before it touches any descriptor.  Whatever the plan, the
 * parent's table must come out exactly as it was, and the child must get
 * exactly its plan; the same where close_range() is refused and the child
 * copies the whole table with unshare(), or where clone3 is refused.
 */
struct fd_id {
    int fd, flags;
    dev_t dev;
    ino_t ino;
};

static size_t fd_table(struct fd_id *v, size_t cap)
{
    size_t n = 0;

    for (int fd = 0; fd < 1100 && n < cap; fd++) {
        struct stat st;
        int fl = fcntl(fd, F_GETFD);

        if (fl == -1 || fstat(fd, &st) == -1)
            continue;
        v[n++] = (struct fd_id){ fd, fl, st.st_dev, st.st_ino };
    }
    return n;
}

static void descriptor_plans(void)
{
    struct fd_id before[256], after[256];
    size_t nb, na;
    int spare = open("/dev/null", O_RDONLY), high, p[2];
    char out[256], msg[64];
    ward_attr *a = ward_attr_new();
    ward_child *c;

    cr_assert_not_null(a);
    cr_assert_geq(spare, 0);
    /* An inheritable descriptor the child must not get, and a pipe. */
    cr_assert_eq((high = dup2(spare, 1000)), 1000);
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    nb = fd_table(before, 256);

    /* No attributes: 0, 1, 2 and nothing else. */
    c = wt_spawn_ok(NULL, "exit", "0");
    wt_reap_exit(c, 0);
    wt_capture_ok(a, out, sizeof out, "fds");
    cr_assert_str_eq(out, "fds: 0 1 2\n");

    /* Swapped stdout and stderr, a mapping from a high number, stdin null. */
    cr_assert_eq(ward_attr_setstdio(a, 0, WARD_STDIO_NULL, -1), 0);
    cr_assert_eq(ward_attr_mapfd(a, p[1], 700), 0);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    c = wt_spawn_ok(a, "writefd", "700", "mapped", "fds");
    wt_read_all(ward_stdio(c, 1), out, sizeof out);
    wt_reap_exit(c, 0);
    cr_assert_str_eq(out, "fds: 0 1 2 700\n");
    cr_assert_eq(read(p[0], msg, sizeof msg), 7);
    cr_assert_eq(memcmp(msg, "mapped\n", 7), 0);

    /* A child that fails after its descriptor plan: nothing changes here. */
    cr_assert_null(ward_spawn("/nonexistent/ward-test", (char *[]){ "x", NULL }, a));
    cr_assert_eq(errno, ENOENT);

    na = fd_table(after, 256);
    cr_assert_eq(na, nb, "the parent had %zu descriptors, now %zu", nb, na);
    for (size_t i = 0; i < nb; i++)
        cr_assert(before[i].fd == after[i].fd && before[i].flags == after[i].flags &&
                      before[i].dev == after[i].dev && before[i].ino == after[i].ino,
                  "descriptor %d of the parent changed", before[i].fd);
    close(p[0]);
    close(p[1]);
    close(high);
    close(spare);
    ward_attr_free(a);
}

Test(spawn, descriptor_plans_leave_the_parent_table_alone)
{
    descriptor_plans();
}

Test(spawn, descriptor_plans_where_close_range_is_refused)
{
    refuse_syscall(__NR_close_range, ENOSYS);
    descriptor_plans();
}

Test(spawn, descriptor_plans_where_clone3_is_refused)
{
    refuse_clone3(ENOSYS);
    descriptor_plans();
}
#endif

/* ---- The caller is not disturbed ---------------------------------------- */

Test(spawn, ward_descriptors_are_cloexec)
{
    ward_attr *a = ward_attr_new();
    unsigned char before[1024];

    cr_assert_not_null(a);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ward_attr_setstdio(a, i, WARD_STDIO_PIPE, -1), 0);
    for (int fd = 0; fd < 1024; fd++)
        before[fd] = fcntl(fd, F_GETFD) >= 0;
    ward_child *c = wt_spawn_ok(a, "sleep", "100");
    /* Every descriptor that ward_spawn() created is close-on-exec. */
    int created = 0;
    for (int fd = 0; fd < 1024; fd++) {
        int fl = fcntl(fd, F_GETFD);
        if (fl < 0 || before[fd])
            continue;
        created++;
        cr_assert(fl & FD_CLOEXEC, "descriptor %d made by ward_spawn() is "
                  "not close-on-exec", fd);
    }
    cr_assert_geq(created, 3, "three pipe ends expected, %d new descriptors",
                  created);
    wt_reap_exit(c, 0);
    ward_attr_free(a);
}

/* ---- Descriptor collisions ---------------------------------------------- */

Test(spawn, stdio_when_callers_0_1_2_are_closed)
{
    ward_attr *a = ward_attr_new();
    int save[3], err = 0, st = -1, in = -1, o = -1;
    ward_child *c;
    char out[512];

    /*
     * With 0, 1 and 2 closed in the caller, the pipes ward makes land on
     * those numbers.  The child must still get its pipes on 0 and 1, and
     * nothing on 2 (inherited from a caller that has no 2).  The caller's
     * 0-2 stay closed until the handle is freed: its pipe ends may be there.
     */
    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setstdio(a, 0, WARD_STDIO_PIPE, -1), 0);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    for (int i = 0; i < 3; i++)
        save[i] = fcntl(i, F_DUPFD_CLOEXEC, 100);
    cr_assert(save[0] >= 0 && save[1] >= 0 && save[2] >= 0);
    fflush(stdout);
    fflush(stderr);
    close(0);
    close(1);
    close(2);
    out[0] = '\0';
    c = wt_spawn(a, "fdinfo", "0", "fdinfo", "1", "fdinfo", "2", "cat");
    if (c == NULL) {
        err = errno;
    } else {
        in = ward_stdio_take(c, 0);
        o = ward_stdio(c, 1);
        if (in >= 0 && o >= 0) {
            ssize_t w = write(in, "via-pipe\n", 9);
            (void)w;
            close(in);
            wt_read_all(o, out, sizeof out);
        }
        if (ward_wait(c, &st) < 0)
            err = errno;
        ward_free(c);
    }
    for (int i = 0; i < 3; i++) {
        dup2(save[i], i);
        close(save[i]);
    }
    cr_assert_eq(err, 0, "ward_spawn or ward_wait with 0, 1, 2 closed: %s",
                 strerror(err));
    cr_assert(in >= 0 && o >= 0, "no pipe ends: %d %d", in, o);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
    cr_assert_not_null(strstr(out, "fd 0 "), "output: %s", out);
    cr_assert_not_null(strstr(out, " r\nfd 1 "), "child's 0 not a read end: %s", out);
    cr_assert_not_null(strstr(out, " w\nfd 2 "), "child's 1 not a write end: %s", out);
    cr_assert_not_null(strstr(out, "\nvia-pipe\n"), "stdin/stdout pipes: %s", out);
    cr_assert_not_null(strstr(out, "\nfd 2 closed\n"),
                       "the caller had no fd 2, the child has one (one of "
                       "ward's own descriptors?): %s", out);
    ward_attr_free(a);
}

/*
 * Spawn a helper that reports what it has as descriptor k, with k closed in
 * the caller; the others are inherited or given with WARD_STDIO_FD.  The
 * report goes through a mapped pipe.  Returns 0 or an errno, and the report
 * in out.
 */
static int
report_closed_stdio(int k, unsigned int flags, int others_by_fd, char *out,
                    size_t cap)
{
    ward_attr *a = ward_attr_new();
    int rep[2], save, nul, err = 0, st = -1;
    char kk[4];
    ward_child *c;

    cr_assert_not_null(a);
    cr_assert_eq(pipe2(rep, O_CLOEXEC), 0);
    nul = open("/dev/null", O_RDWR | O_CLOEXEC);
    cr_assert_geq(nul, 3);
    cr_assert_eq(ward_attr_mapfd(a, rep[1], 9), 0);
    cr_assert_eq(ward_attr_setflags(a, flags), 0);
    for (int j = 0; j < 3 && others_by_fd; j++) {
        if (j != k)
            cr_assert_eq(ward_attr_setstdio(a, j, WARD_STDIO_FD, nul), 0);
    }
    snprintf(kk, sizeof kk, "%d", k);
    save = fcntl(k, F_DUPFD_CLOEXEC, 100);
    cr_assert_geq(save, 0);
    fflush(stdout);
    fflush(stderr);
    close(k);
    c = wt_spawn(a, "outfd", "9", "fdinfo", kk);
    if (c == NULL)
        err = errno;
    dup2(save, k);
    close(save);
    close(rep[1]);
    close(nul);
    out[0] = '\0';
    if (c != NULL) {
        wt_read_all(rep[0], out, cap);
        if (ward_wait(c, &st) == -1)
            err = errno;
        else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            err = EIO;
        ward_free(c);
    }
    close(rep[0]);
    ward_attr_free(a);
    return err;
}

Test(spawn, callers_closed_stdio_stays_closed_in_the_child)
{
    static const unsigned int flags[] = {0, WARD_INHERIT_FDS};
    char out[256], want[32], bad[2048] = "";
    size_t len = 0;

    /*
     * A descriptor 0, 1 or 2 that the caller has closed is closed in the
     * child too, as with posix_spawn(): never the child's own pidfd, which
     * the clone puts at the lowest free number, nor anything else of ward's.
     */
    for (int k = 0; k < 3; k++) {
        for (size_t f = 0; f < 2; f++) {
            for (int byfd = 0; byfd < 2; byfd++) {
                int err = report_closed_stdio(k, flags[f], byfd, out, sizeof out);

                snprintf(want, sizeof want, "fd %d closed\n", k);
                if (err == 0 && strcmp(out, want) == 0)
                    continue;
                if (len < sizeof bad)
                    len += (size_t)snprintf(bad + len, sizeof bad - len,
                                            "\n  fd %d closed, flags %#x, others "
                                            "%s: %s", k, flags[f],
                                            byfd ? "FD" : "INHERIT",
                                            err != 0 ? strerror(err) : out);
            }
        }
    }
    cr_assert_str_empty(bad, "the child got something at a closed stdio number:%s",
                        bad);
}

Test(spawn, mapfd_of_callers_stdout_while_child_stdout_is_a_pipe)
{
    ward_attr *a = ward_attr_new();
    int A[2], save1, err = 0;
    ward_child *c;
    char five[64], one[64];

    /*
     * Child fd 5 gets the caller's fd 1 while the child's own fd 1 is a new
     * pipe: the mapping must read fd 1 before the pipe is put there.
     */
    cr_assert_not_null(a);
    cr_assert_eq(pipe2(A, O_CLOEXEC), 0);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    cr_assert_eq(ward_attr_mapfd(a, 1, 5), 0);
    save1 = fcntl(1, F_DUPFD_CLOEXEC, 100);
    cr_assert_geq(save1, 0);
    fflush(stdout);
    dup2(A[1], 1);
    c = wt_spawn(a, "writefd", "5", "to-five", "echo", "to-one");
    if (c == NULL)
        err = errno;
    dup2(save1, 1);
    close(save1);
    close(A[1]);
    cr_assert_not_null(c, "ward_spawn: %s", strerror(err));
    wt_read_all(ward_stdio(c, 1), one, sizeof one);
    wt_read_all(A[0], five, sizeof five);
    close(A[0]);
    wt_reap_exit(c, 0);
    cr_assert_str_eq(five, "to-five\n", "child fd 5 is not the caller's fd 1");
    cr_assert_str_eq(one, "to-one\n");
    ward_attr_free(a);
}

Test(spawn, stdio_fd_and_mapfd_chain)
{
    ward_attr *a = ward_attr_new();
    int A[2], B[2], C[2];
    char outA[64], outB[64], outC[64], n[3][16];

    /*
     * A chain of moves: child 1 <- A, child A <- B, child B <- C.  Any
     * order of dup2() that does not first move the sources away loses one.
     */
    cr_assert_not_null(a);
    cr_assert_eq(pipe2(A, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(B, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(C, O_CLOEXEC), 0);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_FD, A[1]), 0);
    cr_assert_eq(ward_attr_mapfd(a, B[1], A[1]), 0);
    cr_assert_eq(ward_attr_mapfd(a, C[1], B[1]), 0);
    snprintf(n[0], sizeof n[0], "%d", A[1]);
    snprintf(n[1], sizeof n[1], "%d", B[1]);
    ward_child *c = wt_spawn_ok(a, "echo", "one", "writefd", n[0], "two",
                                "writefd", n[1], "three");
    close(A[1]);
    close(B[1]);
    close(C[1]);
    wt_read_all(A[0], outA, sizeof outA);
    wt_read_all(B[0], outB, sizeof outB);
    wt_read_all(C[0], outC, sizeof outC);
    close(A[0]);
    close(B[0]);
    close(C[0]);
    wt_reap_exit(c, 0);
    cr_assert_str_eq(outA, "one\n");
    cr_assert_str_eq(outB, "two\n");
    cr_assert_str_eq(outC, "three\n");
    ward_attr_free(a);
}

/* ---- More environment and PATH cases ------------------------------------ */

Test(spawn, env_unset_does_not_touch_longer_names)
{
    ward_attr *a = ward_attr_new();
    char *env[] = {"AB=1", "A=2", "ABC=3", "B=4", NULL};
    char out[256];

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setenv(a, env), 0);
    cr_assert_eq(ward_attr_putenv(a, "A", NULL), 0);
    cr_assert_eq(ward_attr_putenv(a, "AB", "new"), 0);
    wt_capture_ok(a, out, sizeof out, "environ");
    sort_lines(out);
    cr_assert_str_eq(out, "AB=new\nABC=3\nB=4\n");
    ward_attr_free(a);
}

Test(spawn, path_search_skips_enoent_and_enotdir_elements)
{
    ward_attr *a = ward_attr_new();
    char *argv[] = {"x", "argv", NULL};
    char path[PATH_MAX * 2], out[256];
    int st;

    cr_assert_not_null(a);
    make_tmpdir();
    write_file(tmppath("notadir"), "x", 0644);
    snprintf(path, sizeof path, "/nonexistent-ward:%s:%s", tmppath("notadir"),
             wt_helper_dir());
    cr_assert_eq(ward_attr_putenv(a, "PATH", path), 0);
    st = run_capture(helper_name(), argv, a, out, sizeof out);
    assert_exit0(st, out);
    cr_assert_str_eq(out, "argv[0]=x\nargv[1]=argv\n");
    ward_attr_free(a);
    remove_tmpdir();
}

Test(spawn, path_search_stops_at_first_executable)
{
    ward_attr *a = ward_attr_new();
    char *argv[] = {"wardprog", NULL};
    char path[PATH_MAX * 2];
    ward_child *c;

    cr_assert_not_null(a);
    make_tmpdir();
    cr_assert_eq(mkdir(tmppath("a"), 0755), 0);
    cr_assert_eq(mkdir(tmppath("b"), 0755), 0);
    write_file(tmppath("a/wardprog"), "#!/bin/sh\nexit 21\n", 0755);
    write_file(tmppath("b/wardprog"), "#!/bin/sh\nexit 22\n", 0755);
    snprintf(path, sizeof path, "%s:%s", tmppath("a"), tmppath("b"));
    cr_assert_eq(ward_attr_putenv(a, "PATH", path), 0);
    c = ward_spawn("wardprog", argv, a);
    cr_assert_not_null(c, "ward_spawn: %s", strerror(errno));
    wt_reap_exit(c, 21);
    ward_attr_free(a);
    remove_tmpdir();
}

/* ---- Running out of descriptors ----------------------------------------- */

Test(spawn, emfile_leaves_nothing_behind)
{
    ward_attr *a = ward_attr_new();
    char *argv[] = {(char *)wt_helper(), "0", NULL};
    struct rlimit old, low;
    int r, e;
    ward_child *c;

    cr_assert_not_null(a);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ward_attr_setstdio(a, i, WARD_STDIO_PIPE, -1), 0);
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    /* The lowest limit with exactly three free numbers under it: room for
     * one pipe and a bit, not for three pipes and a pidfd. */
    low = old;
    for (int lim = 1, freen = 0; lim < 1024; lim++) {
        if (fcntl(lim - 1, F_GETFD) < 0)
            freen++;
        if (freen == 3) {
            low.rlim_cur = (rlim_t)lim;
            break;
        }
    }
    int fds_before = wt_count_fds();
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    errno = 0;
    c = ward_spawn(NULL, argv, a);
    e = errno;
    r = wt_count_fds();
    setrlimit(RLIMIT_NOFILE, &old);
    if (c != NULL) {
        /* There was room after all (holes below the highest descriptor). */
        wt_reap_exit(c, 0);
        ward_attr_free(a);
        cr_skip_test("could not arrange for too few descriptors");
    }
    cr_assert(e == EMFILE || e == ENFILE, "ward_spawn: %s, expected EMFILE",
              strerror(e));
    cr_assert_eq(r, fds_before, "failed spawn left descriptors: %d before, %d after",
                 fds_before, r);
    cr_assert(wt_no_children(), "failed spawn left a child");
    /* And with the limit back, it works. */
    c = wt_spawn_ok(a, "0");
    wt_reap_exit(c, 0);
    ward_attr_free(a);
}

/* ---- Memory ------------------------------------------------------------- */

#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
#include <malloc.h>
#define HAVE_MALLINFO2 1
#endif

#ifdef HAVE_MALLINFO2
static size_t heap_in_use(void)
{
    return mallinfo2().uordblks;
}
#endif

/*
 * Bytes the heap grew by over n rounds of round(), after a few rounds of
 * warm-up (tables that grow once).
 */
#define HEAP_GROWTH(n, round)                                                \
    ({                                                                       \
        for (int w_ = 0; w_ < 20; w_++)                                      \
            round;                                                           \
        size_t before_ = heap_in_use();                                      \
        for (int i_ = 0; i_ < (n); i_++)                                     \
            round;                                                           \
        size_t after_ = heap_in_use();                                       \
        after_ > before_ ? after_ - before_ : 0;                             \
    })

Test(spawn, failed_spawns_leak_no_memory)
{
#ifndef HAVE_MALLINFO2
    cr_skip_test("needs glibc's mallinfo2()");
#else
    ward_attr *a = ward_attr_new();
    char *argv[] = {"x", "some", "arguments", NULL};
    char *env[] = {"A=1", "B=2", NULL};
    size_t grew;

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setenv(a, env), 0);
    cr_assert_eq(ward_attr_putenv(a, "C", "3"), 0);
    cr_assert_eq(ward_attr_putenv(a, "PATH", "/nonexistent-a:/nonexistent-b"), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ward_attr_setstdio(a, i, WARD_STDIO_PIPE, -1), 0);
    /* 500 failed spawns (PATH search, pipes, environment): under 16 KiB. */
    grew = HEAP_GROWTH(500, {
        ward_child *c_ = ward_spawn("ward-no-such-program", argv, a);
        cr_assert_null(c_);
    });
    cr_assert_lt(grew, 16384, "the heap grew by %zu bytes over 500 failed spawns",
                 grew);
    ward_attr_free(a);
#endif
}

Test(spawn, spawn_wait_free_cycles_leak_no_memory)
{
#ifndef HAVE_MALLINFO2
    cr_skip_test("needs glibc's mallinfo2()");
#else
    ward_attr *a = ward_attr_new();
    size_t grew;

    cr_assert_not_null(a);
    cr_assert_eq(ward_attr_setstdio(a, 1, WARD_STDIO_PIPE, -1), 0);
    cr_assert_eq(ward_attr_putenv(a, "WARD_T", "x"), 0);
    grew = HEAP_GROWTH(300, {
        ward_child *c_ = wt_spawn(a, "0");
        cr_assert_not_null(c_);
        int st_;
        cr_assert_eq(ward_wait(c_, &st_), 0);
        ward_free(c_);
    });
    cr_assert_lt(grew, 16384, "the heap grew by %zu bytes over 300 spawns", grew);
    ward_attr_free(a);
#endif
}
