/*
 * waitany.c - ward_waitpid() and ward_waitid(): the wait family as if
 * private children did not exist.
 *
 * A wait for one pid checks the table and, for a non-private pid, is the
 * plain system call.  A wait for "any child" (or a process group) looks at
 * the first ready child without reaping it (WNOWAIT), under the spawn gate
 * and the table lock:
 *
 *  - a non-private child is then reaped by pid and reported;
 *  - a private child that has ended is reaped into its handle (its status
 *    is cached there, not lost) and the search goes on;
 *  - a stop or continue report of a private child is consumed and dropped
 *    (ward reports only exits for its children).
 *
 * Sleeping is a blocking WNOWAIT wait with no lock held: the kernel wakes it
 * when any matching child is ready, whoever's it is.
 *
 * What the kernel cannot tell ward: whether a non-private child still
 * exists.  A blocking wait while only private children exist therefore
 * sleeps (reaping private children as they end) instead of failing with
 * ECHILD; with WNOHANG it returns "nothing ready".
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define WAITID_OPTIONS (WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT)

/* Is pid a private child?  Takes ward__lock. */
static int
is_private(pid_t pid)
{
    int r;

    pthread_mutex_lock(&ward__lock);
    r = ward__table_find(pid) != NULL;
    pthread_mutex_unlock(&ward__lock);
    return r;
}

/*
 * One look at the ready children, under both locks.  Returns 1 with *info
 * filled (a report for the caller), 0 if nothing the caller may see is
 * ready, -1 with errno.
 */
static int
look(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
    for (;;) {
        siginfo_t si;
        ward_child *c;

        memset(&si, 0, sizeof(si));
        if (ward__real.waitid(idtype, id, &si, options | WNOHANG | WNOWAIT) == -1)
            return -1;
        if (si.si_pid == 0)
            return 0;
        c = ward__table_find(si.si_pid);
        if (c == NULL) {
            if (options & WNOWAIT) {
                *info = si;
                return 1;
            }
            /*
             * Reap exactly the child we saw.  If a waiter outside ward took
             * the report in between, look again.
             */
            pid_t pid = si.si_pid;

            memset(&si, 0, sizeof(si));
            if (ward__real.waitid(P_PID, (id_t)pid, &si, (options & ~WNOWAIT) | WNOHANG) == -1) {
                if (errno == ECHILD)
                    continue;
                return -1;
            }
            if (si.si_pid == 0)
                continue;
            *info = si;
            return 1;
        }
        if (si.si_code == CLD_EXITED || si.si_code == CLD_KILLED ||
            si.si_code == CLD_DUMPED) {
            if (ward__try_reap(c) == -1)
                return -1;
        } else {
            /* A private child's stop or continue: consume and drop it. */
            siginfo_t drop;

            memset(&drop, 0, sizeof(drop));
            (void)ward__real.waitid(P_PID, (id_t)si.si_pid, &drop,
                         (options & (WSTOPPED | WCONTINUED)) | WNOHANG);
        }
    }
}

int
ward_waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
    if (info == NULL || (options & ~WAITID_OPTIONS) != 0 ||
        (options & (WEXITED | WSTOPPED | WCONTINUED)) == 0) {
        errno = EINVAL;
        return -1;
    }
    if (ward__init() == -1)
        return -1;
    if (idtype == P_PID) {
        if (is_private((pid_t)id)) {
            errno = ECHILD;
            return -1;
        }
        return ward__real.waitid(idtype, id, info, options);
    }
    if (idtype != P_ALL && idtype != P_PGID)
        return ward__real.waitid(idtype, id, info, options);

    for (;;) {
        siginfo_t si;
        int r;

        pthread_rwlock_wrlock(&ward__gate);
        pthread_mutex_lock(&ward__lock);
        r = look(idtype, id, &si, options);
        if (r == 0)
            ward__reap_orphans();
        pthread_mutex_unlock(&ward__lock);
        pthread_rwlock_unlock(&ward__gate);
        if (r == -1)
            return -1;
        if (r == 1) {
            *info = si;
            return 0;
        }
        if (options & WNOHANG) {
            memset(info, 0, sizeof(*info));
            return 0;
        }
        /* Sleep until some matching child is ready; look again. */
        memset(&si, 0, sizeof(si));
        if (ward__real.waitid(idtype, id, &si, (options | WNOWAIT) & ~WNOHANG) == -1)
            return -1;
    }
}

pid_t
ward_waitpid(pid_t pid, int *status, int options)
{
    siginfo_t si;
    idtype_t idtype;
    id_t id;
    int wopts = WEXITED;

    if ((options & ~(WNOHANG | WUNTRACED | WCONTINUED)) != 0) {
        errno = EINVAL;
        return -1;
    }
    if (ward__init() == -1)
        return -1;
    if (pid > 0) {
        if (is_private(pid)) {
            errno = ECHILD;
            return -1;
        }
        return ward__real.waitpid(pid, status, options);
    }
    if (pid == -1) {
        idtype = P_ALL;
        id = 0;
    } else if (pid == 0) {
        idtype = P_PGID;
        id = (id_t)getpgrp();
    } else {
        idtype = P_PGID;
        id = (id_t)-pid;
    }
    if (options & WNOHANG)
        wopts |= WNOHANG;
    if (options & WUNTRACED)
        wopts |= WSTOPPED;
    if (options & WCONTINUED)
        wopts |= WCONTINUED;
    if (ward_waitid(idtype, id, &si, wopts) == -1)
        return -1;
    if (si.si_pid != 0 && status != NULL)
        *status = ward__status_from_siginfo(&si);
    return si.si_pid;
}
