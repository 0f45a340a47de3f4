/*
 * thief-demo: private children next to a thief.
 *
 * A thread loops on ward_waitpid(-1, ..., WNOHANG), the way a SIGCHLD
 * handler in a program would reap "any child".  Meanwhile the main thread
 * starts private children that exit with different codes and waits on each
 * handle.  Every handle gets its own child's status; the thief never sees a
 * private child.
 */
#include <ward.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int stop, stolen;

static void *
thief(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        int st;
        pid_t pid = ward_waitpid(-1, &st, WNOHANG);

        if (pid > 0)
            atomic_fetch_add(&stolen, 1);
    }
    return NULL;
}

int
main(void)
{
    pthread_t t;
    int bad = 0;

    printf("backend: %s\n", ward_backend());
    pthread_create(&t, NULL, thief, NULL);
    for (int i = 0; i < 8; i++) {
        char script[32];
        char *argv[] = { "sh", "-c", script, NULL };
        ward_child *c;
        int st;

        snprintf(script, sizeof(script), "exit %d", 10 + i);
        if ((c = ward_spawn(NULL, argv, NULL)) == NULL) {
            fprintf(stderr, "ward_spawn: %s\n", strerror(errno));
            return 1;
        }
        if (ward_wait(c, &st) == -1) {
            fprintf(stderr, "ward_wait: %s\n", strerror(errno));
            return 1;
        }
        printf("child %d (sh -c '%s'): exit status %d %s\n", (int)ward_pid(c),
               script, WEXITSTATUS(st), WEXITSTATUS(st) == 10 + i ? "ok" : "WRONG");
        bad += WEXITSTATUS(st) != 10 + i;
        ward_free(c);
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    printf("the thief reaped %d private children\n", atomic_load(&stolen));
    return bad != 0 || atomic_load(&stolen) != 0;
}
