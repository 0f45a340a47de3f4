/* attr.h - the layout of ward_attr, shared by attr.c and spawn.c. */
#ifndef WARD_ATTR_H
#define WARD_ATTR_H

#include "internal.h"

/* Highest descriptor number ward_attr_mapfd() accepts in the child. */
#define WARD__MAX_CHILDFD 65535

struct ward__stdio {
    int mode; /* WARD_STDIO_* */
    int fd;   /* for WARD_STDIO_FD */
};

struct ward_attr {
    unsigned int flags;
    char *cwd;
    mode_t umask;
    int set_umask;
    int replace_env;           /* env replaces environ */
    char **env;                /* NULL-terminated copy, when replace_env */
    char **edits;              /* "NAME=VALUE" sets, "NAME" unsets */
    size_t nedits;
    struct ward__stdio stdio[3];
    struct ward__fdmap *maps;  /* extra descriptors, dst >= 3 */
    size_t nmaps;
};

size_t ward__env_namelen(const char *s);

#endif
