/*
 * init.c - the choice of backend, made once per process: the first of the
 * built ones whose kernel probe succeeds, or the one WARD_BACKEND names.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const struct ward__backend *ward__be;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_errno;

static void
choose_backend(void)
{
    static const struct ward__backend *const all[] = {
#ifdef WARD_HAVE_LINUX_BACKEND
        &ward__linux_backend,
#endif
#ifdef WARD_HAVE_BSD_BACKEND
        &ward__bsd_backend,
#endif
#ifdef WARD_HAVE_DARWIN_BACKEND
        &ward__darwin_backend,
#endif
        &ward__posix_backend,
    };
    const char *want = getenv("WARD_BACKEND");

    ward__real_init();
    init_errno = ENOSYS;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (want != NULL && want[0] != '\0' && strcmp(want, all[i]->name) != 0)
            continue;
        if (all[i]->init() == 0) {
            ward__be = all[i];
            break;
        }
        init_errno = errno;
    }
    if (ward__be != NULL && ward__fork_init() == -1) {
        ward__be = NULL;
        init_errno = ENOMEM;
    }
}

int
ward__init(void)
{
    pthread_once(&init_once, choose_backend);
    if (ward__be == NULL) {
        errno = init_errno;
        return -1;
    }
    return 0;
}

const char *
ward_backend(void)
{
    return ward__init() == 0 ? ward__be->name : NULL;
}

const char *
ward_version(void)
{
    return PACKAGE_VERSION;
}
