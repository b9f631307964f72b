/* Internal to experiments/bench/: the figures each benchmark measures, so
 * that `frugal bench all` prints them in one table (bench_all.c). */
#ifndef FRUGAL_BENCH_H
#define FRUGAL_BENCH_H

#include "experiments/bench/bench_time.h"

#include <stdbool.h>
#include <stdint.h>

/* bench vm: ns per iteration of metered, unmetered, Lua and Lua hooked. */
typedef struct {
    bench_stat ns[4];
    bench_stat overhead;            /* metered / unmetered, paired per round */
    bench_stat vs_lua, vs_lua_hook; /* Lua / frugal metered: x faster */
    double mgas, lua_per_iter;
    bool lua;
} exp_vm_figures;
int exp_bench_vm_figures(uint64_t iters, int rounds, exp_vm_figures *f);

/* bench nest: ns per iteration at depth 1, 8, 64 and % against depth 1. */
enum { EXP_NEST_N = 3 };
typedef struct {
    uint32_t depth[EXP_NEST_N];
    bench_stat ns[EXP_NEST_N], vs1[EXP_NEST_N];
} exp_nest_figures;
int exp_bench_nest_figures(uint64_t iters, int rounds, exp_nest_figures *f);

/* bench gp: evaluations/s of frugal on 1 and N threads and of DEAP. */
enum { EXP_GP_CPUS = 8 }; /* the CPUs whose one-thread speed is shown */
typedef struct {
    uint32_t pop;
    uint64_t gens, seed;
    int threads, rounds;
    double min_secs; /* least seconds per frugal measurement */
    bool deap;
} exp_gp_options;
typedef struct {
    bench_stat rate[4];           /* evals/s: 1 thread, N threads, N separate runs, DEAP */
    bench_stat efficiency;        /* N threads / 1 thread / N, paired per round */
    bench_stat unshared;          /* N separate 1-thread runs at once / 1 thread / N */
    bench_stat vs_apart;          /* N threads / N separate runs */
    bench_stat vs_deap, vs_deap1; /* frugal N threads (1 thread) / DEAP */
    bench_stat cpu_us;            /* process CPU microseconds per evaluation, 1 thread */
    bench_stat core_ns;           /* bench_core_round_trip before each N-thread measurement */
    double cpu_rate[EXP_GP_CPUS]; /* evals/s, 1 thread pinned to CPU cpu_id[k], once */
    double cpu_lo, cpu_hi;        /* the slowest and fastest of cpu_rate */
    int cpu_id[EXP_GP_CPUS], ncpus;
    int rounds, repeat, threads;
    uint64_t evals, hash, deap_evals;
    double best, insns_per_eval, gas_per_eval, minsn, interp_share, deap_eval_rate, deap_best;
    bool deap, same_hash;
} exp_gp_figures;
int exp_bench_gp_figures(const exp_gp_options *o, exp_gp_figures *f);

/* bench store: extra CPU time of a stored run, in %, and the file. */
typedef struct {
    bench_stat cost, secs; /* secs: the run with no store */
    uint64_t bytes, hash;
    double per_row; /* bytes per individual per generation */
    bool same_hash;
} exp_store_figures;
/* population: output.population's value, or NULL (the spec's). */
int exp_bench_store_figures(const char *spec, uint32_t threads, const char *population, int rounds,
                            exp_store_figures *f);
int exp_bench_store(int argc, char **argv);

/* bench all: the whole table in one run (bench_all.c). */
int exp_bench_all(uint64_t iters, int rounds);
void exp_bench_cpu_model(char *out, size_t cap);

#endif
