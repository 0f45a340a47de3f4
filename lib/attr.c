/*
 * attr.c - spawn attributes.
 *
 * An attribute object only records what the caller asked for; every check
 * that depends on the state of the process (is a descriptor open, does the
 * directory exist) is made by ward_spawn(), when it matters.
 */
#include "attr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

ward_attr *
ward_attr_new(void)
{
    ward_attr *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    for (int i = 0; i < 3; i++)
        a->stdio[i].mode = WARD_STDIO_INHERIT;
    return a;
}

static void
free_strv(char **v)
{
    if (v == NULL)
        return;
    for (char **p = v; *p != NULL; p++)
        free(*p);
    free(v);
}

void
ward_attr_free(ward_attr *a)
{
    if (a == NULL)
        return;
    free(a->cwd);
    free_strv(a->env);
    for (size_t i = 0; i < a->nedits; i++)
        free(a->edits[i]);
    free(a->edits);
    free(a->maps);
    free(a);
}

int
ward_attr_setflags(ward_attr *a, unsigned int flags)
{
    if (a == NULL || (flags & ~WARD__ALL_FLAGS) != 0 ||
        (flags & (WARD_NEW_PGROUP | WARD_NEW_SESSION)) ==
            (WARD_NEW_PGROUP | WARD_NEW_SESSION)) {
        errno = EINVAL;
        return -1;
    }
    a->flags = flags;
    return 0;
}

int
ward_attr_setcwd(ward_attr *a, const char *dir)
{
    char *copy = NULL;

    if (a == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (dir != NULL && (copy = strdup(dir)) == NULL)
        return -1;
    free(a->cwd);
    a->cwd = copy;
    return 0;
}

int
ward_attr_setumask(ward_attr *a, mode_t mask)
{
    if (a == NULL || (mask & ~(mode_t)0777) != 0) {
        errno = EINVAL;
        return -1;
    }
    a->umask = mask;
    a->set_umask = 1;
    return 0;
}

int
ward_attr_setenv(ward_attr *a, char *const envp[])
{
    char **copy = NULL;
    size_t n = 0;

    if (a == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (envp != NULL) {
        while (envp[n] != NULL)
            n++;
        if ((copy = calloc(n + 1, sizeof(*copy))) == NULL)
            return -1;
        for (size_t i = 0; i < n; i++) {
            if ((copy[i] = strdup(envp[i])) == NULL) {
                WARD__KEEP_ERRNO(free_strv(copy));
                return -1;
            }
        }
    }
    free_strv(a->env);
    a->env = copy;
    a->replace_env = envp != NULL;
    return 0;
}

/* Length of the name in "NAME=VALUE" or "NAME". */
size_t
ward__env_namelen(const char *s)
{
    const char *eq = strchr(s, '=');

    return eq != NULL ? (size_t)(eq - s) : strlen(s);
}

int
ward_attr_putenv(ward_attr *a, const char *name, const char *value)
{
    size_t nlen, vlen;
    char *e, **grown;

    if (a == NULL || name == NULL || name[0] == '\0' ||
        strchr(name, '=') != NULL) {
        errno = EINVAL;
        return -1;
    }
    /* An edit is "NAME=VALUE" to set, or "NAME" alone to unset. */
    nlen = strlen(name);
    vlen = value != NULL ? strlen(value) + 1 : 0;
    if ((e = malloc(nlen + vlen + 1)) == NULL)
        return -1;
    memcpy(e, name, nlen);
    if (value != NULL) {
        e[nlen] = '=';
        memcpy(e + nlen + 1, value, vlen);
    } else {
        e[nlen] = '\0';
    }
    /* A later edit of the same name replaces the earlier one. */
    for (size_t i = 0; i < a->nedits; i++) {
        if (ward__env_namelen(a->edits[i]) == nlen &&
            memcmp(a->edits[i], name, nlen) == 0) {
            free(a->edits[i]);
            a->edits[i] = e;
            return 0;
        }
    }
    grown = realloc(a->edits, (a->nedits + 1) * sizeof(*grown));
    if (grown == NULL) {
        WARD__KEEP_ERRNO(free(e));
        return -1;
    }
    a->edits = grown;
    a->edits[a->nedits++] = e;
    return 0;
}

int
ward_attr_setstdio(ward_attr *a, int childfd, int mode, int fd)
{
    if (a == NULL || childfd < 0 || childfd > 2 || mode < WARD_STDIO_INHERIT ||
        mode > WARD_STDIO_FD || (mode == WARD_STDIO_FD && fd < 0)) {
        errno = EINVAL;
        return -1;
    }
    a->stdio[childfd].mode = mode;
    a->stdio[childfd].fd = mode == WARD_STDIO_FD ? fd : -1;
    return 0;
}

int
ward_attr_mapfd(ward_attr *a, int parentfd, int childfd)
{
    struct ward__fdmap *grown;

    if (a == NULL || childfd < 3 || childfd > WARD__MAX_CHILDFD) {
        errno = EINVAL;
        return -1;
    }
    if (parentfd < 0) {
        errno = EBADF;
        return -1;
    }
    for (size_t i = 0; i < a->nmaps; i++) {
        if (a->maps[i].dst == childfd) {
            a->maps[i].src = parentfd;
            return 0;
        }
    }
    grown = realloc(a->maps, (a->nmaps + 1) * sizeof(*grown));
    if (grown == NULL)
        return -1;
    a->maps = grown;
    a->maps[a->nmaps].src = parentfd;
    a->maps[a->nmaps].dst = childfd;
    a->maps[a->nmaps].optional = 0;
    a->nmaps++;
    return 0;
}
