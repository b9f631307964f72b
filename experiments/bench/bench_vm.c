/* frugal bench: speed measured against real peers in the same run.
 *   vm         the counting loop, native (metered and unmetered) vs Lua 5.4
 *   calibrate  ns per opcode, and the gas each would get if gas = ns / unit
 */
#include "experiments/cli.h"
#include "evolve/evolve.h"
#include "vm/evm/evm.h"
#include "vm/vm.h"

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Time one run of the loaded program; best of reps. */
static double time_run(vm_arena *a, int reps, bool metered, vm_status *st) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        vm_reset(a);
        double t0 = now();
        *st = metered ? vm_run(a) : vm_run_unmetered(a);
        double t = now() - t0;
        if (t < best) best = t;
    }
    return best;
}

/* Run Lua; returns best seconds or -1. */
static double run_lua(const char *script, uint64_t iters, bool hook, int reps, double *per_iter) {
    double best = -1;
    for (int r = 0; r < reps; r++) {
        char cmd[PATH_MAX + 128];
        snprintf(cmd, sizeof cmd, "lua5.4 '%s' %" PRIu64 " %s 2>/dev/null", script, iters,
                 hook ? "hook" : "");
        FILE *p = popen(cmd, "r");
        if (!p) return -1;
        double t = -1, pi = 0;
        if (fscanf(p, "%lf %lf", &t, &pi) != 2) t = -1;
        if (pclose(p) != 0) t = -1;
        if (t < 0) return -1;
        *per_iter = pi;
        if (best < 0 || t < best) best = t;
    }
    return best;
}

static int bench_vm(uint64_t iters, int reps) {
    /* PUSH N; l: PUSH 1; SUB; DUP 0; JNZ l; HALT -- 4 instructions per iteration */
    uint8_t c[64];
    size_t n = 0;
    c[n++] = VM_OP_PUSH;
    for (int i = 0; i < 8; i++)
        c[n++] = (uint8_t)(iters >> (8 * i));
    size_t loop = n;
    c[n++] = VM_OP_PUSH;
    c[n++] = 1;
    for (int i = 1; i < 8; i++)
        c[n++] = 0;
    c[n++] = VM_OP_SUB;
    c[n++] = VM_OP_DUP;
    c[n++] = 0;
    int16_t off = (int16_t)((int64_t)loop - (int64_t)(n + 3));
    c[n++] = VM_OP_JNZ;
    c[n++] = (uint8_t)off;
    c[n++] = (uint8_t)((uint16_t)off >> 8);
    c[n++] = VM_OP_HALT;

    vm_arena *a = vm_arena_new();
    if (!a || vm_load(a, c, n) || vm_set_limits(a, &(vm_limits){.gas = VM_MAX_GAS})) {
        fprintf(stderr, "bench vm: out of memory\n");
        vm_arena_free(a);
        return EXP_EXIT_IO;
    }
    printf("bench vm: counting loop, %" PRIu64 " iterations, best of %d\n", iters, reps);
    vm_status s1, s2;
    double tm = time_run(a, reps, true, &s1);
    vm_meters m;
    vm_meters_get(a, &m);
    double tu = time_run(a, reps, false, &s2);
    if (s1 != VM_HALTED || s2 != VM_HALTED) {
        fprintf(stderr, "bench vm: loop did not halt (%s/%s)\n", vm_status_name(s1),
                vm_status_name(s2));
        vm_arena_free(a);
        return EXP_EXIT_FAIL;
    }
    double ins = 4.0 * (double)iters;
    printf("  %-28s %8.2f ns/iter %9.1f M iter/s %9.1f M insn/s  (%.0f Mgas/s)\n", "frugal metered",
           tm / iters * 1e9, iters / tm / 1e6, ins / tm / 1e6, (double)m.gas / tm / 1e6);
    printf("  %-28s %8.2f ns/iter %9.1f M iter/s %9.1f M insn/s\n", "frugal, metering compiled out",
           tu / iters * 1e9, iters / tu / 1e6, ins / tu / 1e6);
    printf("  metering overhead: %+.1f%%\n", (tm / tu - 1) * 100);

    char script[PATH_MAX];
    double pi = 0, tl = -1, th = -1;
    if (exp_find_file("experiments/bench/count.lua", script, sizeof script) == 0) {
        tl = run_lua(script, iters, false, reps, &pi);
        th = run_lua(script, iters, true, reps, &pi);
    }
    if (tl < 0 || th < 0) {
        printf("  lua5.4 not available (apt-get install lua5.4): no peer ratio\n");
    } else {
        printf("  %-28s %8.2f ns/iter %9.1f M iter/s %9.1f M insn/s  (%.1f insn/iter)\n", "Lua 5.4",
               tl / iters * 1e9, iters / tl / 1e6, pi * iters / tl / 1e6, pi);
        printf("  %-28s %8.2f ns/iter %9.1f M iter/s %9.1f M insn/s\n", "Lua 5.4, count hook 1000",
               th / iters * 1e9, iters / th / 1e6, pi * iters / th / 1e6);
        printf("  ratio frugal metered / Lua unmetered: %.2fx faster per iteration (target >= 1)\n",
               tl / tm);
        printf("  ratio frugal metered / Lua metered:   %.2fx faster per iteration (target >= 2)\n",
               th / tm);
    }
    vm_arena_free(a);
    return EXP_EXIT_OK;
}

/* ---- calibration ---- */

/* Kernel: DUP the op's inputs from the prepared values, run op, POP outputs.
 * The loop counter lives in heap[0]. */
static size_t calib_program(uint8_t *c, uint8_t op, const vm_word *vals, int nin, int nout,
                            int reps, int64_t iters) {
    size_t n = 0;
#define E1(b) (c[n++] = (uint8_t)(b))
#define E8(v)                                                                                      \
    do {                                                                                           \
        uint64_t v_ = (uint64_t)(v);                                                               \
        for (int i_ = 0; i_ < 8; i_++)                                                             \
            E1(v_ >> (8 * i_));                                                                    \
    } while (0)
    E1(VM_OP_PUSH);
    E8(1);
    E1(VM_OP_ALLOC);
    E1(VM_OP_POP);
    E1(VM_OP_PUSH);
    E8(iters);
    E1(VM_OP_PUSH);
    E8(0);
    E1(VM_OP_STORE);
    for (int i = 0; i < nin; i++) {
        E1(VM_OP_PUSH);
        E8(vals[i]);
    }
    size_t loop = n;
    for (int r = 0; r < reps; r++) {
        for (int i = 0; i < nin; i++)
            E1(VM_OP_DUP), E1(nin - 1);
        E1(op);
        for (int i = 0; i < nout; i++)
            E1(VM_OP_POP);
    }
    E1(VM_OP_PUSH);
    E8(0);
    E1(VM_OP_LOAD);
    E1(VM_OP_PUSH);
    E8(1);
    E1(VM_OP_SUB);
    E1(VM_OP_DUP);
    E1(0);
    E1(VM_OP_PUSH);
    E8(0);
    E1(VM_OP_STORE);
    int16_t off = (int16_t)((int64_t)loop - (int64_t)(n + 3));
    E1(VM_OP_JNZ);
    E1(off);
    E1((uint16_t)off >> 8);
    E1(VM_OP_HALT);
    return n;
}

static double calib_time(vm_arena *a, uint8_t op, const vm_word *vals, int nin, int nout) {
    static uint8_t c[8192];
    const int reps = 64;
    const int64_t iters = 20000;
    size_t n = calib_program(c, op, vals, nin, nout, reps, iters);
    vm_load(a, c, n);
    vm_set_limits(a, &(vm_limits){.gas = VM_MAX_GAS});
    vm_status s;
    double t = time_run(a, 5, true, &s);
    return s == VM_HALTED ? t / ((double)reps * (double)iters) : -1;
}

static int bench_calibrate(void) {
    vm_arena *a = vm_arena_new();
    if (!a) return EXP_EXIT_IO;
    /* Kernels: DUP the inputs, OP, POP the outputs; the baseline replaces OP
     * by NOP and pops the inputs. So ns(op) = diff + unit * (1 - (out - in)),
     * taking POP and NOP as one unit each. The loop's 11 instructions per 64
     * kernels are taken out of the unit. */
    const vm_word none[1] = {0};
    double unit = calib_time(a, VM_OP_NOP, none, 0, 0) / (1 + 11.0 / 64);
    printf("bench calibrate: ns per instruction; unit = one NOP = %.3f ns\n", unit * 1e9);
    printf("  %-8s %8s %8s %10s\n", "opcode", "ns", "gas now", "ns / unit");
    for (int op = 0; op < 256; op++) {
        const vm_opinfo *oi = vm_opinfo_of((uint8_t)op);
        if (!oi->name || oi->imm != VM_IMM_NONE) continue;
        switch (op) {
        case VM_OP_HALT:
        case VM_OP_YIELD:
        case VM_OP_RET:
        case VM_OP_ALLOC:
        case VM_OP_FREE:
        case VM_OP_LOAD:
        case VM_OP_STORE: continue; /* control and heap: not a plain kernel */
        default: break;
        }
        vm_word vals[3] = {(vm_word)0x123456789abcdefll, 0x1234567, 77};
        if (op >= VM_OP_FMUL && op <= VM_OP_FTOI) {
            vals[0] = (vm_word)(2.75 * 4294967296.0); /* inside every function's domain */
            vals[1] = (vm_word)(1.25 * 4294967296.0);
        }
        double t = calib_time(a, (uint8_t)op, vals, oi->in, oi->out);
        double base = calib_time(a, VM_OP_NOP, vals, oi->in, oi->in);
        double ns = t - base + unit * (1 - (oi->out - oi->in));
        printf("  %-8s %8.3f %8u %10.1f\n", oi->name, ns * 1e9, oi->gas, ns / unit);
    }
    vm_arena_free(a);
    return EXP_EXIT_OK;
}

/* ---- nesting ---- */

/* FORK-based nesting: with `iters n` on the stack, n levels of parents each
 * run a copy of themselves under credit, and the deepest counts down. */
static const char nest_src[] = "start: DUP 0\nJZ count\nFORK\nDUP 0\nPUSH -1\nEQ\nJNZ copy\n"
                               "PUSH 4000000000000000000\nPUSH 1000000\nPUSH -1\nRECURSE 0\nHALT\n"
                               "copy: POP\nPUSH 1\nSUB\nJMP start\n"
                               "count: POP\nloop: PUSH 1\nSUB\nDUP 0\nJNZ loop\nHALT\n";

/* A root that forks n copies and keeps them: a tree of n+1 processes. */
static const char tree_src[] = "l: DUP 0\nJZ done\nFORK\nDUP 0\nPUSH -1\nEQ\nJNZ stop\nPOP\n"
                               "PUSH 1\nSUB\nJMP l\ndone: HALT\nstop: HALT\n";

static int bench_nest(uint64_t iters, int reps) {
    vm_buf code = {0}, tree = {0}, img = {0};
    vm_arena *a = vm_arena_new();
    int rc = EXP_EXIT_FAIL;
    if (!a || vm_asm(nest_src, strlen(nest_src), "nest.s", &code, stderr) ||
        vm_asm(tree_src, strlen(tree_src), "tree.s", &tree, stderr))
        goto cleanup;
    printf("bench nest: counting loop of %" PRIu64 " iterations in the deepest of a chain of\n"
           "processes under the credit model, best of %d\n",
           iters, reps);
    const uint32_t depths[] = {1, 8, 64};
    double t1 = 0;
    for (size_t k = 0; k < 3; k++) {
        double best = 1e30;
        for (int r = 0; r < reps; r++) {
            vm_load(a, code.data, code.len);
            vm_set_limits(a, &(vm_limits){.gas = VM_MAX_GAS, .mem = 1 << 24, .nest = 128});
            vm_push(a, (vm_word)iters);
            vm_push(a, depths[k] - 1);
            double t0 = now();
            vm_status s = vm_run(a);
            double t = now() - t0;
            if (s != VM_HALTED || vm_nprocs(a) != depths[k]) {
                fprintf(stderr, "bench nest: depth %u ended %s with %u processes\n", depths[k],
                        vm_status_name(s), vm_nprocs(a));
                goto cleanup;
            }
            if (t < best) best = t;
        }
        if (k == 0) t1 = best;
        printf("  depth %-3u %8.3f ns/iter  %8.3f ns/step  %+6.1f%% vs depth 1\n", depths[k],
               best / iters * 1e9, best / (4.0 * iters) * 1e9, (best / t1 - 1) * 100);
    }
    /* snapshots of a tree of 1000 processes */
    vm_load(a, tree.data, tree.len);
    vm_set_limits(a, &(vm_limits){.gas = VM_MAX_GAS, .mem = 1 << 24, .keys = 4096});
    vm_push(a, 999);
    if (vm_run(a) != VM_HALTED || vm_nprocs(a) != 1000) {
        fprintf(stderr, "bench nest: the tree did not build (%u processes)\n", vm_nprocs(a));
        goto cleanup;
    }
    int n = 200;
    double t0 = now();
    for (int i = 0; i < n; i++)
        if (vm_snapshot_save(a, &img)) goto cleanup;
    double ts = (now() - t0) / n;
    vm_arena *b = vm_arena_new();
    char err[256];
    t0 = now();
    for (int i = 0; i < n; i++)
        if (!b || vm_snapshot_load(b, img.data, img.len, err, sizeof err)) {
            fprintf(stderr, "bench nest: restore failed: %s\n", err);
            vm_arena_free(b);
            goto cleanup;
        }
    double tl = (now() - t0) / n;
    vm_arena_free(b);
    printf("  snapshot of 1000 processes: %zu bytes; save %.1f MB/s (%.3f ms), restore %.1f MB/s "
           "(%.3f ms)\n",
           img.len, img.len / ts / 1e6, ts * 1e3, img.len / tl / 1e6, tl * 1e3);
    rc = EXP_EXIT_OK;
cleanup:
    vm_buf_free(&code);
    vm_buf_free(&tree);
    vm_buf_free(&img);
    vm_arena_free(a);
    return rc;
}

static const char bench_usage[] =
    "usage: frugal bench vm|nest|calibrate|evm|gp|science|all [--iters N] [--reps N]\n"
    "  vm         counting loop: frugal metered and unmetered vs Lua 5.4 (plain and hooked)\n"
    "  nest       the counting loop at nesting depth 1, 8 and 64; snapshot throughput\n"
    "  calibrate  ns per opcode next to its gas, to keep gas proportional to CPU time\n"
    "  evm        EVM loops against ethereumjs (frugal bench evm --help)\n"
    "  gp         quartic GP against DEAP (frugal bench gp --help)\n"
    "  science    search quality at equal budgets against DEAP and PushGP (long; not in\n"
    "             all: frugal bench science --help)\n"
    "  --iters N  loop iterations for vm (default 100000000)\n"
    "  --reps N   repetitions, best time kept (default 3)\n";

int exp_cmd_bench(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(bench_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXP_EXIT_USAGE : EXP_EXIT_OK;
    }
    const char *what = argv[1];
    if (!strcmp(what, "evm")) return evm_bench(argc - 1, argv + 1);
    if (!strcmp(what, "gp")) return evo_bench(argc - 1, argv + 1);
    if (!strcmp(what, "science")) return exp_bench_science(argc - 1, argv + 1);
    uint64_t iters = 100000000, reps = 3;
    static const struct option opts[] = {{"iters", required_argument, 0, 'i'},
                                         {"reps", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            if (exp_parse_u64("--iters", optarg, &iters)) return EXP_EXIT_USAGE;
            break;
        case 'r':
            if (exp_parse_u64("--reps", optarg, &reps)) return EXP_EXIT_USAGE;
            break;
        case 'h': fputs(bench_usage, stdout); return EXP_EXIT_OK;
        default: fputs(bench_usage, stderr); return EXP_EXIT_USAGE;
        }
    }
    if (iters == 0 || iters > INT64_MAX || reps == 0 || reps > 100) {
        fprintf(stderr, "frugal bench: --iters must be >= 1 and --reps in 1..100\n");
        return EXP_EXIT_USAGE;
    }
    if (!strcmp(what, "vm")) return bench_vm(iters, (int)reps);
    if (!strcmp(what, "calibrate")) return bench_calibrate();
    if (!strcmp(what, "nest")) return bench_nest(iters, (int)reps);
    if (!strcmp(what, "all")) {
        int rc = bench_vm(iters, (int)reps);
        if (!rc) rc = bench_nest(iters, (int)reps);
        if (!rc) rc = bench_calibrate();
        char *ev[] = {"evm", NULL};
        if (!rc) rc = evm_bench(1, ev);
        char *gp[] = {"gp", NULL};
        if (!rc) rc = evo_bench(1, gp);
        return rc;
    }
    fprintf(stderr, "frugal bench: unknown benchmark '%s'\n", what);
    fputs(bench_usage, stderr);
    return EXP_EXIT_USAGE;
}
