/* frugal bench: speed measured against real peers in the same run.
 *   vm         the counting loop, native (metered and unmetered) vs Lua 5.4
 *   calibrate  ns per opcode, and the gas each would get if gas = ns / unit
 */
#include "experiments/bench/bench.h"
#include "experiments/bench/bench_time.h"
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

/* One run of Lua's counting loop: its seconds (os.clock), or -1. */
static double run_lua(const char *script, uint64_t iters, bool hook, double *per_iter) {
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, "lua5.4 '%s' %" PRIu64 " %s 2>/dev/null", script, iters,
             hook ? "hook" : "");
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    double t = -1, pi = 0;
    if (fscanf(p, "%lf %lf", &t, &pi) != 2) t = -1;
    if (pclose(p) != 0) t = -1;
    if (t >= 0) *per_iter = pi;
    return t;
}

/* The counting loop: PUSH N; l: PUSH 1; SUB; DUP 0; JNZ l; HALT -- 4
 * instructions per iteration. n: the code's length. */
static size_t count_loop(uint64_t iters, uint8_t c[64]) {
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
    return n;
}

typedef struct {
    vm_machine *a;
    uint64_t iters;
    const char *lua; /* count.lua, or NULL: no Lua */
    double lua_per_iter;
    uint64_t gas; /* of the last metered run */
} vm_ctx;

enum { VM_METERED, VM_UNMETERED, VM_LUA, VM_LUA_HOOK, VM_NCONF };
static const char *const vm_conf[VM_NCONF] = {"frugal metered", "frugal, metering compiled out",
                                              "Lua 5.4", "Lua 5.4, count hook 1000"};

static double vm_measure(void *ctx, int k) {
    vm_ctx *c = ctx;
    if (k >= VM_LUA) return run_lua(c->lua, c->iters, k == VM_LUA_HOOK, &c->lua_per_iter);
    vm_reset(c->a);
    double t0 = bench_cpu(true);
    vm_status s = k == VM_METERED ? vm_run(c->a) : vm_run_unmetered(c->a);
    double t = bench_cpu(true) - t0;
    if (s != VM_HALTED) {
        fprintf(stderr, "bench vm: the loop did not halt (%s)\n", vm_status_name(s));
        return -1;
    }
    if (k == VM_METERED) {
        vm_meters m;
        vm_meters_get(c->a, &m);
        c->gas = m.gas;
    }
    return t;
}

static void print_stat(const char *what, bench_stat s, const char *unit, const char *goal) {
    printf("  %-44s %8.3f%s (min %.3f, max %.3f)%s%s\n", what, s.med, unit, s.min, s.max,
           goal ? "  goal " : "", goal ? goal : "");
}

int exp_bench_vm_figures(uint64_t iters, int rounds, exp_vm_figures *f) {
    uint8_t code[64];
    size_t n = count_loop(iters, code);
    vm_ctx c = {vm_machine_new(), iters, NULL, 0, 0};
    char script[PATH_MAX];
    if (!c.a || vm_load(c.a, code, n) || vm_set_limits(c.a, &(vm_limits){.gas = VM_MAX_GAS})) {
        fprintf(stderr, "bench vm: out of memory\n");
        vm_machine_free(c.a);
        return EXP_EXIT_IO;
    }
    double per_iter;
    if (exp_find_file("experiments/bench/count.lua", script, sizeof script) == 0 &&
        run_lua(script, 1000, false, &per_iter) >= 0)
        c.lua = script;
    int nconf = c.lua ? VM_NCONF : VM_LUA;
    double *v = malloc(sizeof *v * (size_t)rounds * VM_NCONF);
    int rc = v && !bench_rounds(vm_measure, &c, nconf, rounds, v) ? EXP_EXIT_OK : EXP_EXIT_FAIL;
    if (!rc) {
        *f = (exp_vm_figures){.lua = c.lua != NULL, .lua_per_iter = c.lua_per_iter};
        for (int k = 0; k < nconf; k++)
            f->ns[k] = bench_stat_of(v, nconf, rounds, k);
        for (int k = 0; k < nconf; k++) /* seconds -> ns per iteration */
            f->ns[k] = (bench_stat){f->ns[k].med / iters * 1e9, f->ns[k].min / iters * 1e9,
                                    f->ns[k].max / iters * 1e9};
        f->overhead = bench_ratio(v, nconf, rounds, VM_METERED, VM_UNMETERED);
        if (c.lua) {
            f->vs_lua = bench_ratio(v, nconf, rounds, VM_LUA, VM_METERED);
            f->vs_lua_hook = bench_ratio(v, nconf, rounds, VM_LUA_HOOK, VM_METERED);
        }
        f->mgas = (double)c.gas / (f->ns[VM_METERED].med * iters * 1e-9) / 1e6;
    }
    free(v);
    vm_machine_free(c.a);
    return rc;
}

static bench_stat pct(bench_stat r) {
    return (bench_stat){(r.med - 1) * 100, (r.min - 1) * 100, (r.max - 1) * 100};
}

static int bench_vm(uint64_t iters, int rounds) {
    exp_vm_figures f;
    printf("bench vm: counting loop, %" PRIu64 " iterations (4 instructions each), %d\n"
           "interleaved rounds, CPU time; median (min, max)\n",
           iters, rounds);
    int rc = exp_bench_vm_figures(iters, rounds, &f);
    if (rc) return rc;
    for (int k = 0; k < (f.lua ? VM_NCONF : VM_LUA); k++) {
        char what[96];
        snprintf(what, sizeof what, "%s, ns/iter", vm_conf[k]);
        print_stat(what, f.ns[k], "", NULL);
    }
    printf("  frugal metered: %.0f M insn/s, %.0f Mgas/s (median)\n", 4e3 / f.ns[VM_METERED].med,
           f.mgas);
    print_stat("metering overhead, % (paired per round)", pct(f.overhead), "%", "<= 3%");
    if (!f.lua) {
        printf("  lua5.4 not available (apt-get install lua5.4): no peer ratio\n");
        return EXP_EXIT_OK;
    }
    printf("  Lua 5.4 runs %.1f of its VM instructions per iteration\n", f.lua_per_iter);
    print_stat("frugal metered vs Lua plain, x faster", f.vs_lua, "x", ">= 1x");
    print_stat("frugal metered vs Lua count hook, x faster", f.vs_lua_hook, "x", ">= 2x");
    return EXP_EXIT_OK;
}

/* ---- calibration ----
 *
 * Every opcode but HALT and YIELD (which end a run) is timed in a program
 * that runs it successfully: a setup (pages, children, a channel from the
 * host), a YIELD, then a loop of `reps` kernels, each pushing the opcode's
 * inputs, running it and popping its outputs. The baseline program is the
 * same with NOP for the opcode and its inputs popped. Only the run after
 * the YIELD is timed, so ns(op) = (t - t_base) / n + unit * (1 - (out - in)),
 * taking NOP and POP as one unit each. The gas charged per execution is
 * measured the same way, so dynamic gas (CREATE's code bytes, ALLOC's words)
 * is included. */

typedef struct {
    const char *name; /* the row: opcode, or opcode and operand size */
    const char *op;   /* the instruction(s) timed; NULL: the opcode's name */
    int nin, nout;    /* stack words it takes and leaves */
    const char *setup;
    const char *args; /* pushes its inputs; NULL: DUP of vals */
    vm_word vals[4];  /* inputs prepared once, before the YIELD */
    int reps, iters;  /* n = reps * iters executions */
    uint32_t stack;   /* the root's stack limit (children copy it); 0: 64 */
    int chan;         /* 1: key 0 reads a full channel, 2: writes an empty one */
    const char *less; /* a row whose ns is part of this one's and is taken out */
} calib;

#define PAGE1 "PUSH 1\nNEWPAGE\nPOP\n"              /* key 0: a page of one zero word */
#define CHILD PAGE1 "PUSH 0\nPUSH 1\nCREATE\nPOP\n" /* key 1: a child whose code is HALT */
/* key 1 of the root: a child that answers calls (YIELD; JMP back); then a
 * FORK copy, given a call key to it (its key 1), runs the kernels while the
 * root, after its own YIELD, runs the copy to its end. */
#define KCALL_RUN                                                                                  \
    "PUSH 2\nPUSH 4000000000000000000\nPUSH 1000000\nPUSH -1\nRECURSE 0\n"                         \
    "POP\nPOP\nPOP\nPOP\n"
#define KCALLER                                                                                    \
    PAGE1 "PUSH 4294707202\nPUSH 0\nPUSH 0\nPWRITE\nPUSH 0\nPUSH 4\nCREATE\nPOP\n"                 \
          "FORK\nDUP 0\nPUSH -1\nEQ\nJNZ cal_w\nPUSH 1\nTRANSFERKEY\nPOP\n" KCALL_RUN              \
          "YIELD\n" KCALL_RUN "HALT\ncal_w: POP\n"
#define IMG_PAGE "PUSH 64\nNEWPAGE\nPOP\n" /* key 2: a page for an image */
#define NEXT_KEY                                                                                   \
    "PUSH 1\nLOAD\nDUP 0\nPUSH 1\nADD\nPUSH 1\nSTORE\n" /* heap[1]++, its old value                \
                                                         */
#define MANY(body) "PUSH 16000\nmk: " body "PUSH 1\nSUB\nDUP 0\nJNZ mk\nPOP\n"
#define LOOPED     64, 20000 /* 1,280,000 executions */
#define KEYS_N     16, 1000  /* 16,000 executions: each leaves a key, under the key limit */

/* The opcodes that need more than their inputs, or an operand; every other
 * opcode without an operand is timed on the inputs below (calib_plain). */
static const calib calib_rows[] = {
    {"JMP", "JMP +0", 0, 0, NULL, NULL, {0}, LOOPED, 0, 0, NULL},
    {"JZ", "JZ +0", 1, 0, NULL, NULL, {0}, LOOPED, 0, 0, NULL},
    {"JNZ", "JNZ +0", 1, 0, NULL, NULL, {1}, LOOPED, 0, 0, NULL},
    {"CALL+RET", "CALL +3\nJMP +1\nRET", 0, 0, NULL, NULL, {0}, LOOPED, 0, 0, "JMP"},
    /* a TIMES of one round and its CLOSE, which ends the loop */
    {"TIMES+CLOSE", "TIMES\nCLOSE", 1, 0, NULL, NULL, {1}, LOOPED, 0, 0, NULL},
    /* an EACH over the one argument word, 7: one round, and its CLOSE */
    {"EACH+CLOSE", "EACH\nCLOSE", 0, 1, NULL, NULL, {0}, LOOPED, 0, 0, NULL},
    {"ARG", "ARG 0", 0, 1, NULL, NULL, {0}, LOOPED, 0, 0, NULL}, /* the argument word 7 */
    {"PUSH", "PUSH 5", 0, 1, NULL, NULL, {0}, LOOPED, 0, 0, NULL},
    {"DUP", "DUP 0", 1, 2, NULL, NULL, {7}, LOOPED, 0, 0, NULL},
    {"SWAP", "SWAP 0", 2, 2, NULL, NULL, {7, 8}, LOOPED, 0, 0, NULL},
    {"LOAD", NULL, 1, 1, NULL, NULL, {1}, LOOPED, 0, 0, NULL},
    {"STORE", NULL, 2, 0, NULL, NULL, {5, 1}, LOOPED, 0, 0, NULL},
    {"ALLOC 0", "ALLOC", 1, 1, NULL, NULL, {0}, LOOPED, 0, 0, NULL},
    {"ALLOC 512", "ALLOC", 1, 1, NULL, NULL, {512}, 16, 100, 0, 0, NULL},
    {"RECURSE", "RECURSE 0", 4, 4, CHILD, NULL, {1, 100, 100, -1}, 64, 2000, 0, 0, NULL},
    {"CREATE 1", "CREATE", 2, 1, PAGE1, NULL, {0, 1}, KEYS_N, 0, 0, NULL},
    {"CREATE 4000", "CREATE", 2, 1, "PUSH 500\nNEWPAGE\nPOP\n", NULL, {0, 4000}, 4, 50, 0, 0, NULL},
    {"FORK", NULL, 0, 1, NULL, NULL, {0}, 10, 100, 0, 0, NULL},
    {"TRANSFERKEY", NULL, 2, 1, CHILD, NULL, {1, 0}, KEYS_N, 0, 0, NULL},
    {"ATTENUATE", NULL, 2, 0, PAGE1, NULL, {0, 3}, LOOPED, 0, 0, NULL},
    {"DROPKEY page",
     "DROPKEY",
     1,
     0,
     MANY("PUSH 0\nNEWPAGE\nPOP\n"),
     NEXT_KEY,
     {0},
     KEYS_N,
     0,
     0,
     NULL},
    {"DROPKEY child",
     "DROPKEY",
     1,
     0,
     PAGE1 MANY("PUSH 0\nPUSH 1\nCREATE\nPOP\n") "PUSH 1\nPUSH 1\nSTORE\n",
     NEXT_KEY,
     {0},
     KEYS_N,
     0,
     0,
     NULL},
    {"KEYINFO", NULL, 1, 1, PAGE1, NULL, {0}, LOOPED, 0, 0, NULL},
    {"NEWPAGE 0", "NEWPAGE", 1, 1, NULL, NULL, {0}, KEYS_N, 0, 0, NULL},
    {"NEWPAGE 512", "NEWPAGE", 1, 1, NULL, NULL, {512}, 16, 100, 0, 0, NULL},
    {"PREAD", NULL, 2, 1, PAGE1, NULL, {0, 0}, LOOPED, 0, 0, NULL},
    {"PWRITE", NULL, 3, 0, PAGE1, NULL, {5, 0, 0}, LOOPED, 0, 0, NULL},
    {"PUSHTO", NULL, 2, 0, CHILD, NULL, {5, 1}, KEYS_N, 1u << 15, 0, NULL},
    {"POPFROM",
     NULL,
     1,
     1,
     CHILD MANY("PUSH 5\nPUSH 1\nPUSHTO\n"),
     NULL,
     {1},
     KEYS_N,
     1u << 15,
     0,
     NULL},
    /* KCALL runs in a FORK copy (only a child can hold a call key): it calls
     * a sibling whose code is `YIELD`, `JMP` back (2 gas a call) */
    {"KCALL", NULL, 3, 3, KCALLER, NULL, {5, 1, 100}, 64, 2000, 0, 0, NULL},
    /* the child of CHILD (code HALT, 187 + 1 bytes of image) into a page */
    {"SAVECHILD", NULL, 2, 1, CHILD IMG_PAGE, NULL, {1, 2}, 64, 2000, 0, 0, NULL},
    {"LOADCHILD",
     NULL,
     1,
     1,
     CHILD IMG_PAGE "PUSH 1\nPUSH 2\nSAVECHILD\nPOP\n",
     NULL,
     {2},
     KEYS_N,
     0,
     0,
     NULL},
    {"IN", NULL, 1, 1, NULL, NULL, {0}, 64, 2000, 0, 1, NULL},
    {"OUT", NULL, 2, 0, NULL, NULL, {5, 0}, 64, 2000, 0, 2, NULL},
};

/* The opcode a row times (its name's first word). */
static int calib_op(const calib *c) {
    char w[16];
    size_t k = strcspn(c->name, " +");
    if (k >= sizeof w) return -1;
    memcpy(w, c->name, k);
    w[k] = 0;
    return vm_op_by_name(w);
}

/* An opcode without an operand on fixed inputs (F* ones inside every
 * function's domain). */
static calib calib_plain(uint8_t op) {
    const vm_opinfo *oi = vm_opinfo_of(op);
    calib c = {oi->name, NULL, oi->in, oi->out, NULL, NULL, {0x123456789abcdefll, 0x1234567, 77},
               LOOPED,   0,    0,      NULL};
    if (op >= VM_OP_FMUL && op <= VM_OP_FTOI) {
        c.vals[0] = (vm_word)(2.75 * 4294967296.0);
        c.vals[1] = (vm_word)(1.25 * 4294967296.0);
    }
    if (op == VM_OP_FREE) c.vals[0] = 0;
    return c;
}

#define CALIB_RUNS 15

/* The program for row c, timing c's instruction (or NOP when base). */
static int calib_program(const calib *c, bool base, vm_buf *code) {
    size_t cap = 1 << 16, n = 0;
    char *t = malloc(cap);
    if (!t) return -1;
#define P(...) n += (size_t)snprintf(t + n, n < cap ? cap - n : 0, __VA_ARGS__)
    P("PUSH 2\nALLOC\nPOP\n%sPUSH %d\nPUSH 0\nSTORE\n", c->setup ? c->setup : "", c->iters);
    if (!c->args)
        for (int i = 0; i < c->nin; i++)
            P("PUSH %" PRId64 "\n", c->vals[i]);
    P("YIELD\ncal_loop:\n");
    for (int r = 0; r < c->reps; r++) {
        if (c->args)
            P("%s", c->args);
        else
            for (int i = 0; i < c->nin; i++)
                P("DUP %d\n", c->nin - 1);
        P("%s\n", base ? "NOP" : c->op ? c->op : c->name);
        for (int i = 0; i < (base ? c->nin : c->nout); i++)
            P("POP\n");
    }
    P("PUSH 0\nLOAD\nPUSH 1\nSUB\nDUP 0\nPUSH 0\nSTORE\nJNZ cal_loop\nHALT\n");
#undef P
    int rc = n < cap ? exp_asm(t, n, c->name, code) : -1;
    free(t);
    return rc ? -1 : 0;
}

/* Load row c's program with the limits its kernels need: 0 or -1. */
static int calib_load(vm_machine *a, const calib *c, const vm_buf *code) {
    return vm_load(a, code->data, code->len) ||
                   vm_set_limits(a, &(vm_limits){.gas = VM_MAX_GAS,
                                                 .mem = 1u << 26,
                                                 .stack = c->stack ? c->stack : 64,
                                                 .calls = 16,
                                                 .keys = VM_MAX_KEYS})
               ? -1
               : 0;
}

/* One run of row c's program `code` (loaded in a): the CPU time of the part
 * after the YIELD and the gas it used; -1 if it did not run to HALT. */
static double calib_run(vm_machine *a, const calib *c, int chan, uint64_t *gas) {
    uint64_t n = (uint64_t)c->reps * (uint64_t)c->iters;
    vm_reset(a);
    if (vm_set_args(a, (const vm_word[]){7}, 1)) return -1;
    if (c->chan) {
        vm_chan_clear(a, (uint32_t)chan);
        for (uint64_t i = 0; c->chan == 1 && i < n; i++)
            vm_chan_write(a, (uint32_t)chan, (vm_word)i);
        vm_grant_chan(a, (uint32_t)chan, c->chan == 1 ? VM_RIGHT_READ : VM_RIGHT_WRITE);
    }
    if (vm_run(a) != VM_YIELDED) return -1;
    vm_meters m0, m1;
    vm_meters_get(a, &m0);
    double t0 = bench_cpu(true);
    vm_status s = vm_run(a);
    double t = bench_cpu(true) - t0;
    if (s != VM_HALTED) {
        fprintf(stderr, "bench calibrate: %s stopped with %s\n", c->name, vm_status_name(s));
        return -1;
    }
    vm_meters_get(a, &m1);
    *gas = m1.gas - m0.gas;
    return t;
}

/* Row c against its baseline and against the NOP row (the unit), their
 * runs interleaved so that a change of machine load hits all three: ns per
 * execution, ns of one NOP, and the gas charged per execution; or -1. */
static int calib_measure(vm_machine *a, int chan, const calib *c, const calib *nop, double *ns,
                         double *unit, double *gas) {
    const calib *rows[3] = {c, c, nop};
    vm_buf code[3] = {{0}};
    double best[3] = {1e30, 1e30, 1e30};
    uint64_t g[3] = {0};
    int rc = -1;
    for (int k = 0; k < 3; k++)
        if (calib_program(rows[k], k == 1, &code[k])) goto cleanup;
    for (int r = 0; r < CALIB_RUNS; r++)
        for (int k = 0; k < 3; k++) {
            if (calib_load(a, rows[k], &code[k])) goto cleanup;
            double t = calib_run(a, rows[k], chan, &g[k]);
            if (t < 0) goto cleanup;
            if (t < best[k]) best[k] = t;
        }
    double n = (double)c->reps * c->iters, n1 = (double)nop->reps * nop->iters;
    /* a NOP kernel is one NOP and its share of the loop's 8 instructions */
    *unit = best[2] / n1 / (1 + 8.0 / nop->reps);
    /* the base runs a NOP and pops the inputs where c pops its outputs */
    *ns = (best[0] - best[1]) / n + *unit * (1 + c->nin - c->nout);
    *gas = ((double)g[0] - (double)g[1]) / n + 1 + c->nin - c->nout;
    rc = 0;
cleanup:
    for (int k = 0; k < 3; k++)
        vm_buf_free(&code[k]);
    return rc;
}

enum { CALIB_MAXROWS = 160 };

/* The rows: every opcode in table order, its special rows or a plain one.
 * Returns how many, or -1 if an opcode has none. */
static int calib_all(calib *rows) {
    int nrows = 0;
    for (int op = 0; op < 256; op++) {
        const vm_opinfo *oi = vm_opinfo_of((uint8_t)op);
        if (!oi->name || op == VM_OP_HALT || op == VM_OP_YIELD || op == VM_OP_RET) continue;
        int found = 0;
        for (size_t i = 0; i < sizeof calib_rows / sizeof *calib_rows; i++)
            if (calib_op(&calib_rows[i]) == op) rows[nrows++] = calib_rows[i], found++;
        if (!found && oi->imm == VM_IMM_NONE) rows[nrows++] = calib_plain((uint8_t)op), found++;
        if (!found) {
            fprintf(stderr, "bench calibrate: no kernel for %s\n", oi->name);
            return -1;
        }
    }
    return nrows;
}

/* --check: every kernel once, untimed, with one loop iteration: each runs to
 * HALT and pays at least its opcode's table gas. */
static int calibrate_check(void) {
    calib rows[CALIB_MAXROWS];
    int nrows = calib_all(rows), bad = 0;
    vm_machine *a = vm_machine_new();
    int chan = a ? vm_chan_new(a, 1u << 24) : -1;
    if (nrows < 0 || chan < 0) {
        vm_machine_free(a);
        return EXP_EXIT_FAIL;
    }
    for (int i = 0; i < nrows; i++) {
        calib c = rows[i];
        c.iters = 1;
        vm_buf code[2] = {{0}};
        uint64_t g[2] = {0};
        bool ok = true;
        for (int k = 0; k < 2 && ok; k++)
            ok = !calib_program(&c, k == 1, &code[k]) && !calib_load(a, &c, &code[k]) &&
                 calib_run(a, &c, chan, &g[k]) >= 0;
        double gas = ok ? ((double)g[0] - (double)g[1]) / c.reps + 1 + c.nin - c.nout : 0;
        int op = calib_op(&c);
        double want = vm_opinfo_of((uint8_t)op)->gas;
        if (c.less) want += vm_opinfo_of((uint8_t)vm_op_by_name(c.less))->gas;
        ok = ok && gas >= want;
        printf("%s %-14s gas %.2f\n", ok ? "ok  " : "FAIL", c.name, gas);
        bad += !ok;
        vm_buf_free(&code[0]);
        vm_buf_free(&code[1]);
    }
    vm_machine_free(a);
    printf("%d kernels, %d failed\n", nrows, bad);
    return bad ? EXP_EXIT_FAIL : EXP_EXIT_OK;
}

static int bench_calibrate(bool check) {
    if (check) return calibrate_check();
    calib rows[CALIB_MAXROWS];
    double units[CALIB_MAXROWS];
    int nrows = calib_all(rows), rc = EXP_EXIT_FAIL;
    if (nrows < 0) return EXP_EXIT_FAIL;
    vm_machine *a = vm_machine_new();
    int chan = a ? vm_chan_new(a, 1u << 24) : -1;
    if (chan < 0) goto cleanup;
    const calib nop = calib_plain(VM_OP_NOP);
    printf("bench calibrate: CPU time per instruction, best of %d runs, in units of one NOP\n"
           "measured alongside (HALT and YIELD end a run and are not timed; RET is timed\n"
           "with CALL; gas now includes dynamic gas, as charged in these kernels)\n",
           CALIB_RUNS);
    printf("  %-14s %10s %10s %9s %9s\n", "opcode", "ns", "units", "gas now", "units/gas");
    for (int i = 0; i < nrows; i++) {
        const calib *c = &rows[i];
        double ns, unit, g;
        if (calib_measure(a, chan, c, &nop, &ns, &unit, &g)) goto cleanup;
        units[i] = ns / unit;
        for (int k = 0; c->less && k < i; k++)
            if (!strcmp(rows[k].name, c->less)) { /* it also ran that row's instruction */
                units[i] -= units[k];
                ns -= units[k] * unit;
                g -= vm_opinfo_of((uint8_t)calib_op(&rows[k]))->gas;
            }
        printf("  %-14s %10.3f %10.1f %9.2f %9.2f\n", c->name, ns * 1e9, units[i], g, units[i] / g);
        fflush(stdout);
    }
    rc = EXP_EXIT_OK;
cleanup:
    if (rc) fprintf(stderr, "bench calibrate: a kernel failed to build or run\n");
    vm_machine_free(a);
    return rc;
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

typedef struct {
    vm_machine *a[EXP_NEST_N]; /* one per depth: loading code keeps the old tree */
    const vm_buf *code;
    uint64_t iters;
} nest_ctx;

static const uint32_t nest_depths[EXP_NEST_N] = {1, 8, 64};

/* One run of the counting loop at nest_depths[k]: CPU seconds, or -1. */
static double nest_measure(void *ctx, int k) {
    nest_ctx *c = ctx;
    uint32_t d = nest_depths[k];
    vm_machine *a = c->a[k];
    vm_load(a, c->code->data, c->code->len);
    vm_set_limits(a, &(vm_limits){.gas = VM_MAX_GAS, .mem = 1 << 24, .nest = 128});
    vm_push(a, (vm_word)c->iters);
    vm_push(a, d - 1);
    double t0 = bench_cpu(true);
    vm_status s = vm_run(a);
    double t = bench_cpu(true) - t0;
    if (s != VM_HALTED || vm_nprocs(a) != d) {
        fprintf(stderr, "bench nest: depth %u ended %s with %u processes\n", d, vm_status_name(s),
                vm_nprocs(a));
        return -1;
    }
    return t;
}

int exp_bench_nest_figures(uint64_t iters, int rounds, exp_nest_figures *f) {
    vm_buf code = {0};
    nest_ctx c = {{vm_machine_new(), vm_machine_new(), vm_machine_new()}, &code, iters};
    double *v = malloc(sizeof *v * (size_t)rounds * EXP_NEST_N);
    int rc = EXP_EXIT_FAIL;
    if (!c.a[0] || !c.a[1] || !c.a[2] || !v ||
        exp_asm(nest_src, strlen(nest_src), "nest.s", &code) ||
        bench_rounds(nest_measure, &c, EXP_NEST_N, rounds, v))
        goto cleanup;
    for (int k = 0; k < EXP_NEST_N; k++) {
        bench_stat s = bench_stat_of(v, EXP_NEST_N, rounds, k);
        f->depth[k] = nest_depths[k];
        f->ns[k] = (bench_stat){s.med / iters * 1e9, s.min / iters * 1e9, s.max / iters * 1e9};
        f->vs1[k] = pct(bench_ratio(v, EXP_NEST_N, rounds, k, 0));
    }
    rc = EXP_EXIT_OK;
cleanup:
    free(v);
    vm_buf_free(&code);
    for (int k = 0; k < EXP_NEST_N; k++)
        vm_machine_free(c.a[k]);
    return rc;
}

static int bench_nest(uint64_t iters, int rounds) {
    vm_buf tree = {0}, img = {0};
    vm_machine *a = vm_machine_new();
    int rc = EXP_EXIT_FAIL;
    exp_nest_figures f;
    printf("bench nest: counting loop of %" PRIu64 " iterations in the deepest of a chain of\n"
           "processes under the credit model; %d interleaved rounds, CPU time; median (min, max)\n",
           iters, rounds);
    if (!a || exp_asm(tree_src, strlen(tree_src), "tree.s", &tree) ||
        exp_bench_nest_figures(iters, rounds, &f))
        goto cleanup;
    for (int k = 0; k < EXP_NEST_N; k++)
        printf("  depth %-3u %8.3f ns/iter (min %.3f, max %.3f)  %+6.1f%% vs depth 1 (paired per "
               "round: min %+.1f%%, max %+.1f%%)%s\n",
               f.depth[k], f.ns[k].med, f.ns[k].min, f.ns[k].max, f.vs1[k].med, f.vs1[k].min,
               f.vs1[k].max, k == EXP_NEST_N - 1 ? "  goal <= 3%" : "");
    /* snapshots of a tree of 1000 processes */
    vm_load(a, tree.data, tree.len);
    vm_set_limits(a, &(vm_limits){.gas = VM_MAX_GAS, .mem = 1 << 24, .keys = 4096});
    vm_push(a, 999);
    if (vm_run(a) != VM_HALTED || vm_nprocs(a) != 1000) {
        fprintf(stderr, "bench nest: the tree did not build (%u processes)\n", vm_nprocs(a));
        goto cleanup;
    }
    int n = 200;
    double t0 = bench_now();
    for (int i = 0; i < n; i++)
        if (vm_snapshot_save(a, &img)) goto cleanup;
    double ts = (bench_now() - t0) / n;
    vm_machine *b = vm_machine_new();
    char err[256];
    t0 = bench_now();
    for (int i = 0; i < n; i++)
        if (!b || vm_snapshot_load(b, img.data, img.len, err, sizeof err)) {
            fprintf(stderr, "bench nest: restore failed: %s\n", err);
            vm_machine_free(b);
            goto cleanup;
        }
    double tl = (bench_now() - t0) / n;
    vm_machine_free(b);
    printf("  snapshot of 1000 processes: %zu bytes; save %.1f MB/s (%.3f ms), restore %.1f MB/s "
           "(%.3f ms)\n",
           img.len, img.len / ts / 1e6, ts * 1e3, img.len / tl / 1e6, tl * 1e3);
    rc = EXP_EXIT_OK;
cleanup:
    vm_buf_free(&tree);
    vm_buf_free(&img);
    vm_machine_free(a);
    return rc;
}

static const char bench_usage[] =
    "usage: frugal bench vm|nest|calibrate|evm|gp|store|science|all [--iters N]\n"
    "                    [--reps N] [--check]\n"
    "  vm         counting loop: frugal metered and unmetered vs Lua 5.4 (plain and hooked)\n"
    "  nest       the counting loop at nesting depth 1, 8 and 64; snapshot throughput\n"
    "  calibrate  ns per opcode next to its gas, to keep gas proportional to CPU time\n"
    "             (--check: run every kernel once, untimed, and check that it succeeds)\n"
    "  evm        EVM loops against ethereumjs (frugal bench evm --help)\n"
    "  gp         quartic GP against DEAP (frugal bench gp --help)\n"
    "  store      what the HDF5 store adds to quartic.json (frugal bench store --help)\n"
    "  all        every figure of docs/performance.md's table, with its goal and peer, in\n"
    "             one run (evm, vm, nest, gp, store; not calibrate or science)\n"
    "  science    search quality at equal budgets against DEAP and PushGP (long; not in\n"
    "             all: frugal bench science --help)\n"
    "  --iters N  loop iterations for vm and nest (default 100000000)\n"
    "  --reps N   interleaved rounds; the median is kept, with min and max (default 11)\n";

int exp_cmd_bench(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(bench_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXP_EXIT_USAGE : EXP_EXIT_OK;
    }
    const char *what = argv[1];
    if (!strcmp(what, "evm")) return exp_bench_evm(argc - 1, argv + 1);
    if (!strcmp(what, "gp")) return exp_bench_gp(argc - 1, argv + 1);
    if (!strcmp(what, "science")) return exp_bench_science(argc - 1, argv + 1);
    if (!strcmp(what, "store")) return exp_bench_store(argc - 1, argv + 1);
    uint64_t iters = 100000000, reps = BENCH_MIN_ROUNDS;
    bool check = false;
    static const struct option opts[] = {{"iters", required_argument, 0, 'i'},
                                         {"reps", required_argument, 0, 'r'},
                                         {"check", no_argument, 0, 'c'},
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
        case 'c': check = true; break;
        case 'h': fputs(bench_usage, stdout); return EXP_EXIT_OK;
        default: fputs(bench_usage, stderr); return EXP_EXIT_USAGE;
        }
    }
    if (check && strcmp(what, "calibrate")) {
        fprintf(stderr, "frugal bench: --check is for calibrate\n");
        return EXP_EXIT_USAGE;
    }
    if (iters == 0 || iters > INT64_MAX || reps == 0 || reps > 100) {
        fprintf(stderr, "frugal bench: --iters must be >= 1 and --reps in 1..100\n");
        return EXP_EXIT_USAGE;
    }
    if (!strcmp(what, "vm")) return bench_vm(iters, (int)reps);
    if (!strcmp(what, "calibrate")) return bench_calibrate(check);
    if (!strcmp(what, "nest")) return bench_nest(iters, (int)reps);
    if (!strcmp(what, "all")) return exp_bench_all(iters, (int)reps);
    fprintf(stderr, "frugal bench: unknown benchmark '%s'\n", what);
    fputs(bench_usage, stderr);
    return EXP_EXIT_USAGE;
}
