/* frugal bench all: every figure of the speed table (docs/performance.md),
 * measured in one run, each with its goal and its peer. The EVM loops print
 * their own table (frugal bench evm) before this one. */
#include "evolve/evolve.h"
#include "experiments/bench/bench.h"
#include "experiments/cli.h"
#include "vm/evm/evm.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The CPU model from /proc/cpuinfo, or "unknown". */
void exp_bench_cpu_model(char *out, size_t cap) {
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            const char *v = strchr(line, ':');
            if (!v) break;
            v += 1 + (v[1] == ' ');
            size_t n = strcspn(v, "\n");
            snprintf(out, cap, "%.*s", (int)n, v);
            break;
        }
    fclose(f);
}

static void row(const char *what, const char *fmt, bench_stat s, const char *goal, bool met,
                const char *peer) {
    char m[48], lo[48], hi[48];
    snprintf(m, sizeof m, fmt, s.med);
    snprintf(lo, sizeof lo, fmt, s.min);
    snprintf(hi, sizeof hi, fmt, s.max);
    printf("| %s | %s (%s to %s) | %s | %s | %s |\n", what, m, lo, hi, goal,
           met ? "met" : "NOT MET", peer);
}

int exp_bench_all(uint64_t iters, int rounds) {
    char cpu[256], date[32];
    exp_bench_cpu_model(cpu, sizeof cpu);
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    printf("frugal bench all: %s, %s, %d interleaved rounds per comparison\n\n", date, cpu, rounds);
    char *ev[] = {"evm", NULL};
    int rc = exp_bench_evm(1, ev);
    if (rc) return rc;
    printf("\n");
    exp_vm_figures vm;
    exp_nest_figures nest;
    exp_gp_figures gp;
    exp_store_figures store;
    exp_gp_options go = {1000, 20, 1, 2, rounds, 1.0, true};
    char spec[4096];
    if ((rc = exp_bench_vm_figures(iters, rounds, &vm)) ||
        (rc = exp_bench_nest_figures(iters, rounds, &nest)) ||
        (rc = exp_bench_gp_figures(&go, &gp)))
        return rc;
    if (exp_find_file("specs/quartic.json", spec, sizeof spec)) {
        fprintf(stderr, "frugal bench all: specs/quartic.json not found\n");
        return EXP_EXIT_IO;
    }
    if ((rc = exp_bench_store_figures(spec, 1, NULL, rounds, &store))) return rc;
    printf("\n| benchmark | median (min to max) | goal | | peer |\n|---|---|---|---|---|\n");
    bench_stat ov = {(vm.overhead.med - 1) * 100, (vm.overhead.min - 1) * 100,
                     (vm.overhead.max - 1) * 100};
    row("`bench vm` metering overhead (metered vs compiled out, CPU time)", "%+.1f%%", ov, "<= 3%",
        ov.med <= 3, "the same loop, metering compiled out");
    if (vm.lua) {
        row("`bench vm` vs Lua 5.4, plain", "%.2fx", vm.vs_lua, ">= 1x", vm.vs_lua.med >= 1,
            "Lua 5.4 (lua5.4)");
        row("`bench vm` vs Lua 5.4, count hook 1000", "%.2fx", vm.vs_lua_hook, ">= 2x",
            vm.vs_lua_hook.med >= 2, "Lua 5.4 with a count hook");
    } else {
        printf("| `bench vm` vs Lua 5.4 | lua5.4 not installed | >= 1x / >= 2x | | Lua 5.4 |\n");
    }
    bench_stat n64 = nest.vs1[EXP_NEST_N - 1];
    row("`bench nest`, depth 64 against depth 1", "%+.1f%%", n64, "<= 3%", n64.med <= 3,
        "depth 1 (the root alone)");
    printf("| `bench evm` loops against evmone | in the table above | >= 1.5x | | evmone "
           "v0.15.0 baseline |\n");
    bench_stat eff = {gp.efficiency.med * 100, gp.efficiency.min * 100, gp.efficiency.max * 100};
    row("`bench gp`, parallel efficiency at 2 threads", "%.1f%%", eff, ">= 95%", eff.med >= 95,
        "1 thread");
    /* the efficiency's two factors: the host's scaling of unshared work, and
     * one shared population against it */
    printf("| `bench gp`, 2 separate 1-thread runs at once against 1 run alone, per thread | "
           "%.1f%% (%.1f to %.1f) | none: the host's | | |\n",
           gp.unshared.med * 100, gp.unshared.min * 100, gp.unshared.max * 100);
    printf("| `bench gp`, 2 threads against 2 separate runs | %.1f%% (%.1f to %.1f) | none: "
           "sharing one population | | 2 separate runs |\n",
           gp.vs_apart.med * 100, gp.vs_apart.min * 100, gp.vs_apart.max * 100);
    if (gp.core_ns.med > 0) /* the host's, not frugal's: the efficiency's context */
        printf("| `bench gp`, a cache line between the 2 threads' cores and back | %.0f ns (%.0f "
               "to %.0f) | none: the host's | | |\n",
               gp.core_ns.med, gp.core_ns.min, gp.core_ns.max);
    if (gp.ncpus > 1) /* the host's too: unlike vCPUs */
        printf("| `bench gp`, 1 thread pinned to each CPU, the slowest against the fastest | "
               "%.0f%% (%.2fM to %.2fM evals/s) | none: the host's | | |\n",
               100 * gp.cpu_lo / gp.cpu_hi, gp.cpu_lo / 1e6, gp.cpu_hi / 1e6);
    if (gp.deap)
        row("`bench gp`, 2 threads against DEAP, whole run", "%.1fx", gp.vs_deap, ">= 100x",
            gp.vs_deap.med >= 100, "DEAP (python3-deap)");
    else
        printf("| `bench gp` against DEAP | python3-deap not installed | >= 100x | | DEAP |\n");
    printf("| `bench gp`, share of a 1-thread run in the interpreter | %.2f%% (%.1f M insn/s) | "
           ">= 50%% | %s | the VM's own loop: %.0f M insn/s |\n",
           gp.interp_share * 100, gp.minsn, gp.interp_share >= 0.5 ? "met" : "NOT MET",
           4e3 / vm.ns[0].med);
    row("`bench store`, quartic.json, store cost (CPU time)", "%+.1f%%", store.cost, "<= 5%",
        store.cost.med <= 5, "the same run with no store");
    printf("\nbench gp population hash %016" PRIx64 " (the same in every run: %s); quartic.json "
           "hash %016" PRIx64 " (%s), file %.1f bytes per individual\n",
           gp.hash, gp.same_hash ? "yes" : "NO", store.hash, store.same_hash ? "yes" : "NO",
           store.per_row);
    return gp.same_hash && store.same_hash ? EXP_EXIT_OK : EXP_EXIT_FAIL;
}
