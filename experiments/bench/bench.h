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

#endif
