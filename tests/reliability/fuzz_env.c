/*
 * fuzz_env.c - libFuzzer harness for what libward reads from the
 * environment: WARD_BACKEND (choose_backend() in lib/init.c),
 * WARD_NO_PIDFD_INFO (no_pidfd_info() and linux_recover() in
 * platform/linux/backend.c) and PATH, with the environment edits of the
 * attributes (build_paths() and build_env() in lib/spawn.c).  All of these
 * are static, so the three files are compiled into this harness; the rest
 * of the library is linked beside it.
 *
 * Input: the first byte picks what to fuzz, the rest is the value (up to
 * the first NUL); PATH and the environment take a second part after a NUL.
 * Each result is checked against README.md and doc/API.md:
 *
 *  - WARD_BACKEND: "linux" or "posix" selects that backend, empty or unset
 *    the first that works (linux here), anything else none at all (every
 *    call then fails with ENOSYS);
 *  - WARD_NO_PIDFD_INFO: non-empty and not "0" means a stolen status is
 *    never recovered (ENODATA), anything else that it is (the harness keeps
 *    one stolen child to recover);
 *  - PATH: one candidate per element, "dir/file", an empty element being
 *    ".", or the file alone if it has a slash; "" is ENOENT and a name
 *    longer than NAME_MAX is ENAMETOOLONG;
 *  - environment: the base entries whose names are not edited, in order,
 *    then the edits that set a value.
 */
#include "fuzz.h"

#include "../../lib/init.c"
#include "../../lib/spawn.c"
#ifdef WARD_HAVE_LINUX_BACKEND
#include "../../platform/linux/backend.c"
#endif

#include <limits.h>
#include <sys/syscall.h>

/* choose_backend() registers fork handlers each time: once is enough here. */
int __wrap_pthread_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
int __real_pthread_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

int __wrap_pthread_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    static int done;

    if (done)
        return 0;
    done = 1;
    return __real_pthread_atfork(prepare, parent, child);
}

/* ---- WARD_BACKEND ------------------------------------------------------- */

static void fuzz_backend(const char *v)
{
    static const pthread_once_t fresh = PTHREAD_ONCE_INIT;
    const char *got;
    int err;

    setenv("WARD_BACKEND", v, 1);
    memcpy(&init_once, &fresh, sizeof fresh);
    ward__be = NULL;
    errno = 0;
    got = ward_backend();
    err = errno;
    if (strcmp(v, "posix") == 0) {
        FUZZ_CHECK(got != NULL && strcmp(got, "posix") == 0, "WARD_BACKEND=posix gave %s",
                   got ? got : "none");
#ifdef WARD_HAVE_LINUX_BACKEND
    } else if (strcmp(v, "linux") == 0 || v[0] == '\0') {
        FUZZ_CHECK(got != NULL && strcmp(got, "linux") == 0, "WARD_BACKEND=\"%s\" gave %s", v,
                   got ? got : "none");
#else
    } else if (v[0] == '\0') {
        FUZZ_CHECK(got != NULL && strcmp(got, "posix") == 0, "WARD_BACKEND= gave %s",
                   got ? got : "none");
#endif
    } else {
        FUZZ_CHECK(got == NULL && err == ENOSYS, "WARD_BACKEND=\"%s\" gave %s (errno %d)", v,
                   got ? got : "none", err);
    }
    unsetenv("WARD_BACKEND");
}

/* ---- WARD_NO_PIDFD_INFO --------------------------------------------------- */

#ifdef WARD_HAVE_LINUX_BACKEND
static struct ward__pidref stolen; /* a child reaped by a "thief": only its pidfd */
static int can_recover;

static void make_stolen(void)
{
    pid_t pid = fork();
    int st;

    if (pid == 0)
        _exit(3);
    stolen.fd = (int)syscall(SYS_pidfd_open, pid, 0);
    waitpid(pid, &st, 0);
    stolen.pid = pid;
    unsetenv("WARD_NO_PIDFD_INFO");
    can_recover = stolen.fd >= 0 && linux_recover(&stolen, &st) == 0 && st == 3 << 8;
}

static void fuzz_no_pidfd_info(const char *v)
{
    int st = -1, r, off = v[0] != '\0' && strcmp(v, "0") != 0;

    if (!can_recover)
        return; /* a kernel before 6.15: nothing to tell apart */
    setenv("WARD_NO_PIDFD_INFO", v, 1);
    errno = 0;
    r = linux_recover(&stolen, &st);
    if (off)
        FUZZ_CHECK(r == -1 && errno == ENODATA, "WARD_NO_PIDFD_INFO=\"%s\": recovered 0x%x", v,
                   st);
    else
        FUZZ_CHECK(r == 0 && st == 3 << 8, "WARD_NO_PIDFD_INFO=\"%s\": not recovered (%d, %s)",
                   v, r, strerror(errno));
    unsetenv("WARD_NO_PIDFD_INFO");
}
#endif

/* ---- PATH ------------------------------------------------------------------ */

static void fuzz_path(const char *path, const char *file)
{
    struct plan p;
    char *envp[2], *entry;
    size_t flen = strlen(file), n = 1, i = 0;
    const char *s, *e;
    int r, err;

    entry = malloc(strlen(path) + 6);
    sprintf(entry, "PATH=%s", path);
    envp[0] = entry;
    envp[1] = NULL;
    memset(&p, 0, sizeof p);
    p.ex.envp = envp;
    errno = 0;
    r = build_paths(&p, file);
    err = errno;
    if (file[0] == '\0') {
        FUZZ_CHECK(r == -1 && err == ENOENT, "file \"\": %d %s", r, strerror(err));
    } else if (strchr(file, '/') != NULL) {
        FUZZ_CHECK(r == 0 && p.ex.npaths == 1 && strcmp(p.ex.paths[0], file) == 0,
                   "file with a slash \"%s\"", file);
    } else if (flen > NAME_MAX) {
        FUZZ_CHECK(r == -1 && err == ENAMETOOLONG, "long name: %d %s", r, strerror(err));
    } else {
        FUZZ_CHECK(r == 0, "PATH=\"%s\" file \"%s\": %s", path, file, strerror(err));
        for (s = path; *s != '\0'; s++)
            n += *s == ':';
        FUZZ_CHECK(p.ex.npaths == n, "PATH=\"%s\": %zu candidates, expected %zu", path,
                   p.ex.npaths, n);
        for (s = path;; s = e + 1, i++) {
            size_t dlen;
            char *want;

            e = strchr(s, ':');
            dlen = e != NULL ? (size_t)(e - s) : strlen(s);
            want = malloc(dlen + flen + 3);
            if (dlen == 0)
                sprintf(want, "./%s", file);
            else
                sprintf(want, "%.*s/%s", (int)dlen, s, file);
            FUZZ_CHECK(strcmp(p.ex.paths[i], want) == 0, "PATH=\"%s\": candidate %zu is \"%s\", "
                       "expected \"%s\"", path, i, p.ex.paths[i], want);
            free(want);
            if (e == NULL)
                break;
        }
    }
    free(p.paths_alloc);
    free(entry);
}

/* ---- The environment built from a base and edits ------------------------ */

static char **split_lines(char *s, size_t *n)
{
    char **v = NULL;

    *n = 0;
    for (char *line = s; line != NULL;) {
        char *nl = strchr(line, '\n');

        if (nl != NULL)
            *nl = '\0';
        v = realloc(v, (*n + 2) * sizeof *v);
        v[(*n)++] = line;
        line = nl != NULL ? nl + 1 : NULL;
    }
    v[*n] = NULL;
    return v;
}

static size_t name_len(const char *s)
{
    const char *eq = strchr(s, '=');

    return eq != NULL ? (size_t)(eq - s) : strlen(s);
}

static void fuzz_env(char *base_text, char *edit_text)
{
    struct ward_attr a;
    struct plan p;
    size_t nbase, nedits, k = 0;
    char **base = split_lines(base_text, &nbase), **edits = split_lines(edit_text, &nedits);
    char **got;

    /* ward_attr_putenv() refuses empty names and names with '=': so do we. */
    for (size_t j = 0; j < nedits; j++) {
        if (edits[j][0] == '\0' || edits[j][0] == '=') {
            free(base);
            free(edits);
            return;
        }
    }
    memset(&a, 0, sizeof a);
    a.replace_env = 1;
    a.env = base;
    a.edits = edits;
    a.nedits = nedits;
    memset(&p, 0, sizeof p);
    FUZZ_CHECK(build_env(&p, &a) == 0, "build_env: %s", strerror(errno));
    got = (char **)p.ex.envp;
    for (size_t i = 0; i < nbase; i++) {
        int edited = 0;

        for (size_t j = 0; j < nedits && !edited; j++)
            edited = name_len(edits[j]) == name_len(base[i]) &&
                     memcmp(edits[j], base[i], name_len(base[i])) == 0;
        if (!edited) {
            FUZZ_CHECK(got[k] == base[i], "entry %zu: \"%s\", expected the base's \"%s\"", k,
                       got[k] ? got[k] : "(end)", base[i]);
            k++;
        }
    }
    for (size_t j = 0; j < nedits; j++) {
        if (strchr(edits[j], '=') != NULL) {
            FUZZ_CHECK(got[k] == edits[j], "entry %zu: \"%s\", expected the edit \"%s\"", k,
                       got[k] ? got[k] : "(end)", edits[j]);
            k++;
        }
    }
    FUZZ_CHECK(got[k] == NULL, "more entries than expected");
    free(p.envp_alloc);
    free(base);
    free(edits);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *v, *second;

    if (size < 1)
        return 0;
    fuzz_quiet();
#ifdef WARD_HAVE_LINUX_BACKEND
    if (stolen.pid == 0)
        make_stolen();
#endif
    v = fuzz_str(data + 1, size - 1);
    second = v + strlen(v);
    if ((size_t)(second - v) < size - 1)
        second++; /* the part after the first NUL */
    switch (data[0] % 4) {
    case 0:
        fuzz_backend(v);
        break;
    case 1:
#ifdef WARD_HAVE_LINUX_BACKEND
        fuzz_no_pidfd_info(v);
#endif
        break;
    case 2:
        fuzz_path(v, second);
        break;
    default:
        fuzz_env(v, second);
        break;
    }
    free(v);
    return 0;
}
