/*
 * fuzz_suite.c - libFuzzer harness for the SUITE file of "ward test -f":
 * split() (one line into words) and suite_load() (the file) in cli/suite.c.
 *
 * split() is static, so suite.c is compiled into this harness.  The
 * reference is the grammar of ward(1): blanks (space, tab, CR, VT, FF)
 * separate words; '...' quotes literally; "..." quotes everything but a
 * backslash before " or \; a backslash outside quotes takes the next
 * character literally; a '#' that starts a word begins a comment; an
 * unterminated quote or a backslash at the end of the line is an error.
 *
 * Every line of the input goes through split() and the reference; when the
 * whole input is a valid suite (no error, no NUL byte), suite_load() reads
 * it from a file and must produce exactly the reference's tests, named by
 * their lines without the blanks around the words.
 */
#include "fuzz.h"

#include "../../cli/suite.c"

#include <sys/mman.h>

/* ward test's own tests_add() lives in test.c, with the scheduler: a copy. */
void tests_add(struct tests *ts, char *name, char **argv, char *path)
{
    struct test *t;

    ts->v = xgrow(ts->v, &ts->cap, ts->n + 1, sizeof(*ts->v));
    t = &ts->v[ts->n++];
    memset(t, 0, sizeof(*t));
    t->name = name;
    t->argv = argv;
    t->path = path;
}

static void free_words(char **v)
{
    for (char **p = v; p != NULL && *p != NULL; p++)
        free(*p);
    free(v);
}

/* ---- The reference ---------------------------------------------------- */

struct ref_line {
    char **words;   /* NULL-terminated */
    size_t n;
    const char *error;
    size_t name_start, name_end; /* the test's name within the line */
    size_t off;                  /* where the line starts in the input */
};

static int ref_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void ref_push(struct ref_line *r, const char *w, size_t len)
{
    r->words = realloc(r->words, (r->n + 2) * sizeof *r->words);
    r->words[r->n] = malloc(len + 1);
    memcpy(r->words[r->n], w, len);
    r->words[r->n][len] = '\0';
    r->n++;
    r->words[r->n] = NULL;
}

static void reference(const char *line, size_t len, struct ref_line *r)
{
    char *buf = malloc(len + 1);
    size_t i = 0;

    memset(r, 0, sizeof *r);
    for (;;) {
        size_t k = 0, start;

        while (i < len && ref_blank(line[i]))
            i++;
        if (i == len || line[i] == '#')
            break;
        start = i;
        while (i < len && !ref_blank(line[i])) {
            char c = line[i];

            if (c == '\'') {
                size_t j = i + 1;
                while (j < len && line[j] != '\'')
                    buf[k++] = line[j++];
                if (j == len) {
                    r->error = "unterminated single quote";
                    goto out;
                }
                i = j + 1;
            } else if (c == '"') {
                size_t j = i + 1;
                while (j < len && line[j] != '"') {
                    if (line[j] == '\\' && j + 1 < len && (line[j + 1] == '"' || line[j + 1] == '\\'))
                        j++;
                    buf[k++] = line[j++];
                }
                if (j == len) {
                    r->error = "unterminated double quote";
                    goto out;
                }
                i = j + 1;
            } else if (c == '\\') {
                if (i + 1 == len) {
                    r->error = "backslash at the end of the line";
                    goto out;
                }
                buf[k++] = line[i + 1];
                i += 2;
            } else {
                buf[k++] = c;
                i++;
            }
        }
        if (r->n == 0)
            r->name_start = start;
        r->name_end = i;
        ref_push(r, buf, k);
    }
out:
    free(buf);
}

/* ---- The checks ----------------------------------------------------------- */

static int same_words(char **a, char **b)
{
    size_t i;

    for (i = 0; a != NULL && b != NULL && a[i] != NULL && b[i] != NULL; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return (a == NULL || a[i] == NULL) && (b == NULL || b[i] == NULL);
}

static void check_split(const char *line, size_t len, struct ref_line *want)
{
    struct words w = {NULL, 0, 0};
    const char *cause, *end = NULL;

    reference(line, len, want);
    cause = split(line, &w, &end);
    if (want->error != NULL) {
        FUZZ_CHECK(cause != NULL && strcmp(cause, want->error) == 0,
                   "line \"%s\": split said %s, expected the error \"%s\"", line,
                   cause != NULL ? cause : "nothing wrong", want->error);
    } else {
        FUZZ_CHECK(cause == NULL, "line \"%s\": split failed with \"%s\"", line, cause);
        FUZZ_CHECK(w.n == want->n, "line \"%s\": %zu words, expected %zu", line, w.n, want->n);
        FUZZ_CHECK(same_words(w.v, want->words), "line \"%s\": the words differ", line);
        if (want->n > 0)
            FUZZ_CHECK((size_t)(end - line) == want->name_end,
                       "line \"%s\": the words end at %td, expected %zu", line, end - line,
                       want->name_end);
    }
    free_words(w.v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ref_line *lines = NULL;
    size_t nlines = 0, pos = 0, expected = 0;
    int valid = 1;

    fuzz_quiet();
    /* Line by line, as suite_load() cuts them (getline, then the newline off). */
    while (pos < size) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t len = nl != NULL ? (size_t)(nl - (data + pos)) : size - pos;
        char *line = fuzz_str(data + pos, len);

        lines = realloc(lines, (nlines + 1) * sizeof *lines);
        if (memchr(line, '\0', len) != NULL) {
            memset(&lines[nlines], 0, sizeof lines[nlines]);
            lines[nlines].error = "NUL byte in the line";
            valid = 0;
        } else {
            check_split(line, len, &lines[nlines]);
            if (lines[nlines].error != NULL)
                valid = 0;
            else if (lines[nlines].n > 0)
                expected++;
        }
        lines[nlines].off = pos;
        nlines++;
        free(line);
        pos += len + (nl != NULL);
    }

    if (valid) {
        /* The whole file through suite_load(): exactly the reference's tests. */
        struct tests ts = {NULL, 0, 0};
        char path[64];
        int fd = memfd_create("suite", MFD_CLOEXEC), loaded;
        size_t t = 0;

        FUZZ_CHECK(fd >= 0, "memfd_create");
        FUZZ_CHECK(write(fd, data, size) == (ssize_t)size, "write");
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        loaded = FUZZ_CALL(suite_load(&ts, path));
        close(fd);
        FUZZ_CHECK(loaded, "a valid suite made suite_load exit with %d", fuzz_exit_status);
        FUZZ_CHECK(ts.n == expected, "%zu tests loaded, expected %zu", ts.n, expected);
        for (size_t i = 0; i < nlines && t < ts.n; i++) {
            struct ref_line *r = &lines[i];
            const char *line_start = (const char *)data + r->off;

            if (r->n == 0)
                continue;
            FUZZ_CHECK(same_words(ts.v[t].argv, r->words), "test %zu: the words differ", t);
            /* The name: the line from its first word to the end of its last. */
            FUZZ_CHECK(strlen(ts.v[t].name) == r->name_end - r->name_start &&
                           memcmp(ts.v[t].name, line_start + r->name_start,
                                  r->name_end - r->name_start) == 0,
                       "test %zu: name \"%s\"", t, ts.v[t].name);
            t++;
        }
        for (size_t i = 0; i < ts.n; i++) {
            free(ts.v[i].name);
            free_words(ts.v[i].argv);
        }
        free(ts.v);
    }
    for (size_t i = 0; i < nlines; i++)
        free_words(lines[i].words);
    free(lines);
    return 0;
}
