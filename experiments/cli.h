/* Internal to experiments/: the subcommands of the frugal command line.
 * Each returns a process exit code (docs/cli.md). */
#ifndef FRUGAL_CLI_H
#define FRUGAL_CLI_H

/* Exit codes */
#define EXP_EXIT_OK          0   /* success */
#define EXP_EXIT_FAIL        1   /* the command ran and reports failure (e.g. a test failed) */
#define EXP_EXIT_USAGE       2   /* bad arguments */
#define EXP_EXIT_INPUT       3   /* bad input file */
#define EXP_EXIT_IO          4   /* cannot read or write a file */
#define EXP_EXIT_INTERRUPTED 130 /* stopped by SIGINT/SIGTERM; the run is resumable */

#include "vm/vm.h"

/* Shared helpers: each prints a clear error naming the file and returns an
 * exit code (0 on success). */
int exp_read_file(const char *path, vm_buf *out);
int exp_load_program(const char *path, vm_buf *code); /* .s is assembled */
/* vm_asm with its errors printed to stderr: 0, or the number of errors. */
int exp_asm(const char *src, size_t len, const char *fname, vm_buf *out);
int exp_parse_u64(const char *opt, const char *s, uint64_t *out);
/* mkdir -p of the folder that will hold path. */
int exp_make_parent_dirs(const char *path);
/* Find a file shipped with frugal (e.g. "experiments/bench/count.lua") from the
 * current directory or next to the binary. 0 with the path in out, or -1. */
int exp_find_file(const char *rel, char *out, size_t cap);

void exp_print_run(const vm_machine *a, FILE *f);
int exp_save_snapshot(const vm_machine *a, const char *path);
int exp_load_snapshot(vm_machine *a, const char *path);

/* The commands, exp_cmd_ID for each line of experiments/commands.def. */
#define X(id, name, help) int exp_cmd_##id(int argc, char **argv);
#include "experiments/commands.def"
#undef X

/* Entry points that no table names: */
int exp_cmd_resume_snapshot(int argc, char **argv); /* frugal resume FILE.snap */
int exp_cmd_resume_run(int argc, char **argv);      /* frugal resume FILE.h5 */
int exp_bench_science(int argc, char **argv);       /* experiments/bench/bench_science.c */

/* The engine of evm-test: runs the legacy VM tests under path (a file or a
 * directory, recursively), printing a line per failure. 0, or -1 if path
 * cannot be read. */
int exp_evm_vmtests_run(const char *path, bool verbose, int *passed, int *failed);
int exp_bench_evm(int argc, char **argv); /* experiments/bench/bench_evm.c */
/* `frugal bench gp`: the quartic at population 1000 for 20 generations with 1
 * and 2 threads, against DEAP in the same run. argv[0] is "gp". */
int exp_bench_gp(int argc, char **argv); /* experiments/bench/bench_gp.c */

#endif
