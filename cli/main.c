/*
 * main.c - ward(1): run commands as private children.
 *
 * The entry point only picks the subcommand; each one parses its own
 * options (run.c, test.c, torture.c).
 */
#include "util.h"

#include <stdlib.h>
#include <string.h>

#include "ward.h"

static const struct command commands[] = {
    { "run", run_main, run_usage,
      "run one command as a private child, with a timeout" },
    { "test", test_main, test_usage,
      "run test programs in parallel and print TAP" },
    { "torture", torture_main, torture_usage,
      "check that private children stay private here" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *out)
{
    fputs("usage: ward [--version | --help] COMMAND [ARG...]\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-9s%s\n", commands[i].name, commands[i].summary);
    fputs("  help     show the help of a command: ward help COMMAND\n"
          "\n"
          "Run 'ward COMMAND --help' for the options of a command; see ward(1).\n",
          out);
}

static const struct command *
find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

/*
 * Standard output is buffered: a write error may show only now.  A command
 * that already failed with EXIT_FAILED has reported its own.
 */
static int
finish(int status)
{
    if (fflush(stdout) == EOF) {
        if (status != EXIT_FAILED)
            fatal_errno("standard output");
    } else if (ferror(stdout) && status != EXIT_FAILED) {
        fatal(EXIT_FAILED, "standard output", "write error");
    }
    return status;
}

int
main(int argc, char **argv)
{
    const struct command *cmd;

    /*
     * "ward __exit N": the child that ward torture starts by the thousand.
     * It comes first so that it costs no more than the exec itself.
     */
    if (argc == 3 && strcmp(argv[1], "__exit") == 0)
        return atoi(argv[2]) & 0xff;

    if (argc > 0 && argv[0] != NULL)
        ward_argv0 = argv[0];
    if (argc < 2)
        usage_error("missing command", "try 'ward --help'");
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        const char *backend = ward_backend();

        printf("ward %s (libward %s, backend %s)\n", PACKAGE_VERSION,
               ward_version(), backend != NULL ? backend : "none");
        return finish(0);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return finish(0);
    }
    if (strcmp(argv[1], "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return finish(0);
        }
        if (argc > 3)
            usage_error("too many arguments", argv[3]);
        if ((cmd = find_command(argv[2])) == NULL)
            usage_error("unknown command", argv[2]);
        cmd->usage(stdout);
        return finish(0);
    }
    if (argv[1][0] == '-')
        usage_error("unknown option", argv[1]);
    if ((cmd = find_command(argv[1])) == NULL)
        usage_error("unknown command", argv[1]);
    return finish(cmd->main(argc - 1, argv + 1));
}
