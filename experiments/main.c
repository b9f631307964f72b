/* frugal: the command line. One table of subcommands; each has --help. */
#include "experiments/cli.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"demo", exp_cmd_demo, "run the demo and show what it found"},
    {"run", exp_cmd_run, "run an experiment spec (JSON) into an HDF5 file"},
    {"batch", exp_cmd_batch, "run a spec over many seeds, one HDF5 file each, plus an index"},
    {"eval", exp_cmd_eval,
     "run one program (or a run's best) on every row of a CSV or JSON-lines file"},
    {"exec", exp_cmd_exec, "run a native program (.s or .bin) and print status, meters and stack"},
    {"resume", exp_cmd_resume, "continue a run (.h5) or a saved process tree (.snap)"},
    {"inspect", exp_cmd_inspect, "show a snapshot's process tree, capability graph or memory"},
    {"asm", exp_cmd_asm, "assemble native assembly into bytecode"},
    {"disasm", exp_cmd_disasm, "disassemble native bytecode"},
    {"evm", exp_cmd_evm, "run EVM bytecode"},
    {"evm-disasm", exp_cmd_evm_disasm, "disassemble EVM bytecode"},
    {"evm-test", exp_cmd_evm_test, "run the Ethereum VM conformance tests"},
    {"report", exp_cmd_report,
     "tables, gnuplot figures and report.md from run files (--lineage ID)"},
    {"superopt", exp_cmd_superopt, "EVM gas superoptimization of every block in a JSON-lines file"},
    {"arena", exp_cmd_arena, "round-robin tournament of sandboxed player programs (docs/arena.md)"},
    {"bench", exp_cmd_bench,
     "benchmarks against real peers: vm, nest, calibrate, evm, gp, science"},
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
