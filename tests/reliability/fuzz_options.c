/*
 * fuzz_options.c - libFuzzer harness for ward(1)'s command lines: the
 * option parsers of "ward run", "ward test" and "ward torture"
 * (parse_options() in cli/run.c, cli/test.c, cli/torture.c, static, so the
 * files are compiled into this harness), with what they call: durations,
 * signal names, counts, the suite file of -f.
 *
 * Input: the first byte picks the subcommand, the rest is its argument
 * vector, arguments separated by NUL bytes.  A usage error ends in exit(2)
 * (caught, see fuzz.h); --help in exit(0).  After a parse that returns, the
 * harness checks what the subcommand would act on: a command to run, a
 * timeout and signal in range, at least one test unless a suite file was
 * given (an empty suite is allowed).
 *
 * "ward test -f FILE" reads FILE: here every path opens the same small
 * suite (fopen is wrapped), so no input can make the harness read a device
 * or a big file.
 */
#include "fuzz.h"

#include <signal.h>

#define parse_options run_parse_options
#include "../../cli/run.c"
#undef parse_options

#define parse_options test_parse_options
#include "../../cli/test.c"
#undef parse_options

#define parse_options torture_parse_options
#define T torture_T
#include "../../cli/torture.c"
#undef parse_options
#undef T

FILE *__real_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode);

/* Set while an input runs: libFuzzer's own files (-fork, @lists) are real. */
static int in_one_input;

FILE *__wrap_fopen(const char *path, const char *mode)
{
    static const char suite[] = "a b\n# comment\n  'x y' \"z\\\"\" w\\ v  # c\n\n";

    if (!in_one_input || strcmp(path, "/dev/null") == 0)
        return __real_fopen(path, mode);
    if (path[0] == '\0') {
        errno = ENOENT;
        return NULL;
    }
    return fmemopen((void *)suite, sizeof suite - 1, "r");
}

#define MAXARGS 32

/* Forget getopt's state: a parse that ended in exit() may have left some. */
static void reset_getopt(void)
{
    char *argv[] = {"x", NULL};

    optind = 0;
    opterr = 0;
    (void)getopt(1, argv, "");
    optind = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"run", "test", "torture"};
    char *argv[MAXARGS + 2], *buf;
    int argc = 0, which;
    size_t pos = 1;

    if (size < 1)
        return 0;
    in_one_input = 1;
    fuzz_quiet();
    which = data[0] % 3;
    buf = fuzz_str(data, size);
    argv[argc++] = (char *)names[which];
    while (pos <= size && argc < MAXARGS) {
        argv[argc++] = buf + pos;
        pos += strlen(buf + pos) + 1;
    }
    argv[argc] = NULL;
    reset_getopt();

    if (which == 0) {
        struct run r;

        memset(&r, 0, sizeof r);
        r.sig = SIGTERM;
        if (FUZZ_CALL(run_parse_options(&r, argc, argv))) {
            FUZZ_CHECK(r.argv != NULL && r.argv >= argv + 1 && r.argv < argv + argc,
                       "run: no command");
            FUZZ_CHECK(r.argv[0] != NULL, "run: empty command");
            FUZZ_CHECK(r.timeout >= 0 && r.kill_after >= 0, "run: negative duration");
            FUZZ_CHECK(r.sig >= 1 && r.sig < NSIG, "run: signal %d", r.sig);
            FUZZ_CHECK(!r.json_path || r.json, "run: --json-file without --json");
        } else {
            FUZZ_CHECK(fuzz_exit_status == 2 || fuzz_exit_status == 0,
                       "run: exit status %d", fuzz_exit_status);
        }
    } else if (which == 1) {
        struct harness h;

        memset(&h, 0, sizeof h);
        h.timeout = 60 * NSEC_PER_SEC;
        h.kill_after = NSEC_PER_SEC;
        h.jobs = 2;
        if (FUZZ_CALL(test_parse_options(&h, argc, argv))) {
            /* Only an empty suite file may leave nothing to run (ward(1)). */
            FUZZ_CHECK(h.ts.n > 0 || h.suite_name != NULL, "test: no test to run");
            FUZZ_CHECK(h.jobs >= 1 && h.jobs <= 100000, "test: jobs %ld", h.jobs);
            FUZZ_CHECK(h.timeout >= 0 && h.kill_after >= 0, "test: negative duration");
            for (size_t i = 0; i < h.ts.n; i++) {
                FUZZ_CHECK(h.ts.v[i].argv != NULL && h.ts.v[i].argv[0] != NULL,
                           "test %zu: no argv", i);
                FUZZ_CHECK(h.ts.v[i].name != NULL, "test %zu: no name", i);
            }
            /* The automake driver runs exactly the one command it was given. */
            if (h.driver)
                FUZZ_CHECK(h.ts.n == 1 && h.test_name != NULL && h.log_file != NULL &&
                               h.trs_file != NULL && h.suite_name == NULL &&
                               h.nfilters == 0 && h.nexcludes == 0 && !h.shuffle &&
                               h.repeat <= 1 && h.state_path == NULL && h.log_dir == NULL,
                           "driver: %zu tests, or an option that chooses among tests", h.ts.n);
            else
                FUZZ_CHECK(h.test_name == NULL && h.log_file == NULL && h.trs_file == NULL,
                           "driver options without --automake-driver");
            FUZZ_CHECK(!h.rerun_failed || h.state_path != NULL, "--rerun-failed without --state");
            FUZZ_CHECK((h.wrap == NULL) == (h.nwrap == 0), "wrap: %zu words", h.nwrap);
            for (size_t i = 0; i < h.nwrap; i++)
                FUZZ_CHECK(h.wrap[i] != NULL, "wrap word %zu", i);
            FUZZ_CHECK(h.wrap == NULL || h.wrap[h.nwrap] == NULL, "wrap not terminated");
            FUZZ_CHECK(h.repeat == 0 || (h.repeat >= 1 && h.repeat <= 1000000), "repeat %ld",
                       h.repeat);
            FUZZ_CHECK(!h.seed_given || h.shuffle, "--seed without shuffling");
            FUZZ_CHECK(h.log_dir == NULL || h.log_dir[0] != '\0', "empty --log-dir");
        } else {
            FUZZ_CHECK(fuzz_exit_status == 2 || fuzz_exit_status == 0,
                       "test: exit status %d", fuzz_exit_status);
        }
        for (size_t i = 0; i < h.ts.n; i++)
            test_release(&h.ts.v[i]);
        free(h.ts.v);
        for (size_t i = 0; i < h.nwrap; i++)
            free(h.wrap[i]);
        free(h.wrap);
        free(h.filters);
        free(h.excludes);
    } else {
        memset(&torture_T, 0, sizeof torture_T);
        if (FUZZ_CALL(torture_parse_options(argc, argv))) {
            FUZZ_CHECK(torture_T.n >= 1 && torture_T.threads >= 1 && torture_T.thieves >= 0 &&
                           torture_T.nplain >= 0,
                       "torture: n %ld threads %ld thieves %ld plain %ld", torture_T.n,
                       torture_T.threads, torture_T.thieves, torture_T.nplain);
            FUZZ_CHECK(torture_T.thieves > 0 || torture_T.nplain == 0,
                       "torture: ordinary children without thieves");
        } else {
            FUZZ_CHECK(fuzz_exit_status == 2 || fuzz_exit_status == 0,
                       "torture: exit status %d", fuzz_exit_status);
        }
    }
    free(buf);
    in_one_input = 0;
    return 0;
}
