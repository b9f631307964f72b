/* frugal: the command line. The subcommands come from one table,
 * experiments/commands.def; each has --help. */
#include "experiments/cli.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
#define X(id, name, help) {name, exp_cmd_##id, help},
#include "experiments/commands.def"
#undef X
};
#define NCOMMANDS (sizeof commands / sizeof *commands)

static void usage(FILE *f) {
    fprintf(f,
            "usage: frugal COMMAND [ARGS]   (frugal COMMAND --help for its options)\n\n"
            "frugal %s: genetic programming on a metered, sandboxing VM.\n\ncommands:\n",
            FRUGAL_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXP_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXP_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("frugal %s (%s)\n", FRUGAL_VERSION, FRUGAL_COMMIT);
        return EXP_EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "frugal: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXP_EXIT_USAGE;
}
