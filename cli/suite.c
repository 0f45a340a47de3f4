/*
 * suite.c - the SUITE file of "ward test -f": one command per line.
 *
 * A line is split into words like a very small shell: blanks separate
 * words; '...' quotes everything literally; "..." quotes everything but a
 * backslash before " or \; a backslash outside quotes takes the next
 * character literally; a '#' that starts a word begins a comment.  Nothing
 * is expanded: no variables, globs or redirections.
 */
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct words {
    char **v;
    size_t n, cap;
};

static void
words_push(struct words *w, char *s)
{
    w->v = xgrow(w->v, &w->cap, w->n + 2, sizeof(*w->v));
    w->v[w->n++] = s;
    w->v[w->n] = NULL;
}

static int
blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Split line into w.  Returns NULL on success with *end set just past the
 * last word, or the cause of a parse error.
 */
static const char *
split(const char *line, struct words *w, const char **end)
{
    const char *p = line;

    *end = line;
    for (;;) {
        char *word;
        size_t len = 0;

        while (blank(*p))
            p++;
        if (*p == '\0' || *p == '#')
            return NULL;
        /* A word is never longer than the rest of the line. */
        word = xmalloc(strlen(p) + 1);
        while (*p != '\0' && !blank(*p)) {
            if (*p == '\'') {
                for (p++; *p != '\'' && *p != '\0'; p++)
                    word[len++] = *p;
                if (*p == '\0') {
                    free(word);
                    return "unterminated single quote";
                }
                p++;
            } else if (*p == '"') {
                for (p++; *p != '"' && *p != '\0'; p++) {
                    if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                        p++;
                    word[len++] = *p;
                }
                if (*p == '\0') {
                    free(word);
                    return "unterminated double quote";
                }
                p++;
            } else if (*p == '\\') {
                if (p[1] == '\0') {
                    free(word);
                    return "backslash at the end of the line";
                }
                word[len++] = p[1];
                p += 2;
            } else {
                word[len++] = *p++;
            }
        }
        word[len] = '\0';
        words_push(w, word);
        *end = p;
    }
}

const char *
suite_split(const char *line, char ***words, size_t *count)
{
    struct words w = { NULL, 0, 0 };
    const char *end, *cause = split(line, &w, &end);

    if (cause != NULL) {
        for (size_t i = 0; i < w.n; i++)
            free(w.v[i]);
        free(w.v);
        return cause;
    }
    if (w.v == NULL)
        w.v = xcalloc(1, sizeof(*w.v));
    *words = w.v;
    *count = w.n;
    return NULL;
}

void
suite_load(struct tests *ts, const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    unsigned long lineno = 0;
    ssize_t len;

    if (f == NULL)
        usage_error(path, strerror(errno));
    errno = 0;
    while ((len = getline(&line, &cap, f)) != -1) {
        struct words w = { NULL, 0, 0 };
        const char *cause, *start, *end;
        char *name;

        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (memchr(line, '\0', (size_t)len) != NULL)
            cause = "NUL byte in the line";
        else
            cause = split(line, &w, &end);
        if (cause != NULL) {
            char *where = xasprintf("%s:%lu", path, lineno);

            usage_error(where, cause);
        }
        if (w.n == 0) {
            free(w.v);
            continue;
        }
        /* The test's name is the line as written, without blanks around. */
        for (start = line; blank(*start); start++)
            ;
        name = xmalloc((size_t)(end - start) + 1);
        memcpy(name, start, (size_t)(end - start));
        name[end - start] = '\0';
        tests_add(ts, name, w.v, NULL);
        errno = 0;
    }
    if (ferror(f))
        usage_error(path, strerror(errno != 0 ? errno : EIO));
    free(line);
    fclose(f);
}
