/*
 * fuzz.h - what the libFuzzer harnesses share.
 *
 * The parsers of ward(1) report bad input with usage_error(), which calls
 * exit(2).  The harnesses are linked with -Wl,--wrap=exit: exit() then
 * lands in __wrap_exit() below, which jumps back into the harness (when a
 * call is under way) instead of ending the fuzzer.  What the real program
 * would have released by exiting is then lost; the harnesses that can reach
 * such paths run with leak detection off (see run-fuzz.sh).
 *
 * Each harness also checks what the parser returned against a reference
 * written from the documentation (ward(1)), and aborts on a mismatch, so
 * the fuzzer finds wrong answers as well as crashes.
 */
#ifndef WARD_FUZZ_H
#define WARD_FUZZ_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

static sigjmp_buf fuzz_jmp;
static int fuzz_armed;
static int fuzz_exit_status;

void __real_exit(int status) __attribute__((noreturn));
void __wrap_exit(int status) __attribute__((noreturn));

void __wrap_exit(int status)
{
    if (fuzz_armed) {
        fuzz_armed = 0;
        fuzz_exit_status = status;
        siglongjmp(fuzz_jmp, 1);
    }
    __real_exit(status);
}

/* Run stmt; 1 if it finished, 0 if it called exit() (status in fuzz_exit_status). */
#define FUZZ_CALL(stmt)                                                      \
    (sigsetjmp(fuzz_jmp, 0) == 0 ? (fuzz_armed = 1, (stmt), fuzz_armed = 0, 1) \
                                 : (fuzz_armed = 0, 0))

/* A NUL-terminated copy of the input. */
static char *fuzz_str(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Where the harness reports: the real stderr, whatever the program did with its own. */
static FILE *fuzz_err;

#define FUZZ_CHECK(cond, ...)                                                \
    do {                                                                     \
        if (!(cond)) {                                                       \
            FILE *e_ = fuzz_err != NULL ? fuzz_err : stderr;                 \
            fprintf(e_, "fuzz check failed: %s: ", #cond);                   \
            fprintf(e_, __VA_ARGS__);                                        \
            fputc('\n', e_);                                                 \
            fflush(e_);                                                      \
            abort();                                                         \
        }                                                                    \
    } while (0)

/*
 * The program's messages (stdout, and stdio's stderr) go nowhere; descriptor
 * 2 itself stays, since the sanitizers and libFuzzer report there.
 */
static void fuzz_quiet(void)
{
    static int done;
    int fd;

    if (done || getenv("FUZZ_VERBOSE") != NULL)
        return;
    done = 1;
    fuzz_err = fdopen(dup(2), "w");
    fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) {
        dup2(fd, 1);
        close(fd);
    }
    stderr = fopen("/dev/null", "w");
}

#endif
