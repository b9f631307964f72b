/* EVM tasks: calldata/RETURN evaluation, the synthesis tasks, evm-superopt
 * (stack model, targets, gas) and its equivalence check; the EVM genome. */
#include "testutil.h"

#include "evolve/evolve.h"
#include "fitness/fitness.h"
#include "vm/evm/evm.h"

static int64_t te_range(void *ctx, int64_t lo, int64_t hi) {
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    uint64_t v = tu_next((uint64_t *)ctx);
    return span ? (int64_t)((uint64_t)lo + v % span) : (int64_t)v;
}

static int mk(const char *name, const char *hex, uint64_t seed, fit_task *t, char *err,
              size_t cap) {
    uint64_t s = seed;
    fit_rng rng = {&s, te_range};
    fit_task_opts o = {.block_hex = hex, .equiv_samples = 2000};
    return fit_task_make(name, &o, &rng, t, err, cap);
}

static void make(const char *name, const char *hex, fit_task *t) {
    char err[256] = "";
    cr_assert_eq(mk(name, hex, 1, t, err, sizeof err), 0, "%s: %s", name, err);
}

static fit_result eval_hex(const fit_task *t, const char *hex, fit_split which, double *errs) {
    uint8_t *code = NULL;
    size_t n = 0;
    cr_assert_eq(evm_hex_decode(hex, &code, &n), 0);
    fit_ctx *c = fit_ctx_new(t, NULL);
    cr_assert(c);
    fit_result r = {.errors = errs};
    cr_assert_eq(fit_eval(c, code, n, which, &r), 0);
    fit_ctx_free(c);
    free(code);
    return r;
}

static int equiv_hex(const fit_task *t, const char *hex, uint64_t seed) {
    uint8_t *code = NULL;
    size_t n = 0;
    cr_assert_eq(evm_hex_decode(hex, &code, &n), 0);
    uint64_t s = seed, cex = 0;
    fit_rng rng = {&s, te_range};
    int rc = fit_evm_equivalent(t, code, n, &rng, &cex);
    free(code);
    return rc;
}

/* max(a, b) = a ^ ((a ^ b) & -(a < b)), straight-line */
static const char *max_hex = "602035600035818110600003828218161860005260206000f3";

Test(tasks_evm, max_by_hand_and_penalties) {
    fit_task t;
    make("evm-max", NULL, &t);
    cr_assert_eq(t.isa, FIT_ISA_EVM);
    cr_assert_eq(t.io, FIT_IO_CALLDATA);
    cr_assert_eq(t.train.n, 100);
    cr_assert_eq(t.test.n, 1000);
    static double errs[1000];
    fit_result r = eval_hex(&t, max_hex, FIT_TRAIN, errs);
    cr_assert_eq(r.error, 0, "error %g", r.error);
    cr_assert_eq(r.hits, 100);
    cr_assert_eq(r.worst, VM_HALTED);
    cr_assert_gt(r.gas, 0);
    cr_assert_gt(r.memtime, 0);
    r = eval_hex(&t, max_hex, FIT_TEST, errs);
    cr_assert_eq(r.error, 0);
    /* STOP: no output, penalty 256 each */
    r = eval_hex(&t, "00", FIT_TRAIN, errs);
    cr_assert_eq(r.missing, 100);
    cr_assert_eq(r.error, 100 * 256.0);
    /* an endless loop: OUT_OF_GAS, all the gas */
    r = eval_hex(&t, "5b600056", FIT_TRAIN, errs);
    cr_assert_eq(r.worst, VM_OUT_OF_GAS);
    cr_assert_eq(r.out_of_gas, 100);
    cr_assert_eq(r.gas, 100ull * t.limits.gas);
    /* returning a (the first input): bits differ only where a < b */
    r = eval_hex(&t, "60003560005260206000f3", FIT_TRAIN, errs);
    cr_assert_gt(r.error, 0);
    cr_assert_lt(r.error, 100 * 256.0);
    fit_task_free(&t);
}

Test(tasks_evm, synthesis_targets) {
    fit_task t;
    make("evm-popcount", NULL, &t);
    cr_assert_eq(t.n_in, 1);
    for (uint32_t i = 0; i < t.train.n; i++) {
        unsigned n = 0;
        for (int k = 0; k < 32; k++)
            n += (unsigned)__builtin_popcount(t.train.in256[32 * i + k]);
        cr_assert_eq(t.train.want256[32 * i + 31], n & 0xff);
        cr_assert_eq(t.train.want256[32 * i + 30], n >> 8);
    }
    fit_task_free(&t);
    make("evm-min3", NULL, &t);
    cr_assert_eq(t.n_in, 3);
    for (uint32_t i = 0; i < t.train.n; i++) {
        const uint8_t *x = t.train.in256 + 96 * i, *w = t.train.want256 + 32 * i;
        for (int k = 0; k < 3; k++)
            cr_assert_leq(memcmp(w, x + 32 * k, 32), 0);
    }
    fit_task_free(&t);
    make("evm-absdiff", NULL, &t);
    /* |a - b| straight-line: a b, both orders, pick by LT */
    fit_task_free(&t);
}

Test(tasks_evm, superopt_published_example) {
    fit_task t;
    make("evm-superopt", "600003600301", &t); /* PUSH1 0 SUB PUSH1 3 ADD */
    cr_assert_eq(t.min_stack_in, 1);
    cr_assert_eq(t.stack_delta, 0);
    cr_assert_eq(t.n_in, 1);
    cr_assert_eq(fit_task_nout(&t), 1);
    cr_assert_eq(t.block_gas, 12);
    cr_assert_eq(t.gas_ref, 12);
    cr_assert_eq(t.train.n, 32);
    cr_assert(t.straight_line);
    cr_assert_eq(fit_evm_static_gas(t.block, t.block_len), 12);
    static double errs[1000];
    fit_result r = eval_hex(&t, "600303", FIT_TRAIN, errs); /* PUSH1 3 SUB */
    cr_assert_eq(r.error, 0);
    cr_assert_eq(r.hits, 32);
    cr_assert_eq(r.gas, 32 * 6ull, "gas %llu", (unsigned long long)r.gas);
    r = eval_hex(&t, "600003600301", FIT_TEST, errs);
    cr_assert_eq(r.error, 0);
    cr_assert_eq(r.gas, 1000 * 12ull);
    /* wrong depth: no output */
    r = eval_hex(&t, "8060030300", FIT_TRAIN, errs);
    cr_assert_eq(r.missing, 32);
    cr_assert_eq(equiv_hex(&t, "600303", 5), 1);
    cr_assert_eq(equiv_hex(&t, "600301", 5), 0, "3 + x is not 3 - x");
    cr_assert_eq(equiv_hex(&t, "", 5), 0);
    cr_assert_eq(equiv_hex(&t, "6003900390", 5), 0, "x - 3 leaves the wrong order");
    fit_task_free(&t);
}

Test(tasks_evm, superopt_blocks) {
    fit_task t;
    /* SWAP2 POP POP POP: an empty final stack */
    make("evm-superopt", "91505050", &t);
    cr_assert_eq(t.min_stack_in, 3);
    cr_assert_eq(t.stack_delta, -3);
    cr_assert_eq(equiv_hex(&t, "505050", 1), 1);
    cr_assert_eq(equiv_hex(&t, "5050", 1), 0);
    fit_task_free(&t);
    /* the SYRUP running example: 126 gas -> ADD SWAP2 ADD EXP SWAP1 */
    make("evm-superopt", "60008060008587019150838501905080820a92505050949350505050", &t);
    cr_assert_eq(t.min_stack_in, 5);
    cr_assert_eq(t.stack_delta, -3);
    cr_assert_eq(equiv_hex(&t, "0191010a90", 1), 1);
    cr_assert_eq(equiv_hex(&t, "0191010a", 1), 0);
    fit_task_free(&t);
    /* PUSH2 0x6b6c SWAP1 POP PUSH2 0x102d -> POP PUSH2 0x6b6c PUSH2 0x102d */
    make("evm-superopt", "616b6c905061102d", &t);
    cr_assert_eq(equiv_hex(&t, "50616b6c61102d", 1), 1);
    cr_assert_eq(equiv_hex(&t, "50616b6d61102d", 1), 0);
    bool has = false;
    for (uint32_t i = 0; i < t.n_consts; i++)
        has |= t.consts[i] == 0x6b6c;
    cr_assert(has, "the block's constants are offered");
    fit_task_free(&t);
    /* CALLER: the environment varies per case, so a constant cannot stand in */
    make("evm-superopt", "3315", &t); /* CALLER ISZERO */
    cr_assert_eq(equiv_hex(&t, "3315", 1), 1);
    cr_assert_eq(equiv_hex(&t, "6000", 1), 0);
    fit_task_free(&t);
    /* nor CALLVALUE, ORIGIN == CALLER, TIMESTAMP > a 2017 date, CALLDATALOAD */
    make("evm-superopt", "3415", &t);
    cr_assert_eq(equiv_hex(&t, "5f", 1), 0);
    cr_assert_eq(equiv_hex(&t, "6001", 1), 0);
    fit_task_free(&t);
    make("evm-superopt", "323314", &t);
    cr_assert_eq(equiv_hex(&t, "5f", 1), 0);
    cr_assert_eq(equiv_hex(&t, "333214", 1), 1);
    fit_task_free(&t);
    make("evm-superopt", "6359dc7e004211", &t);
    cr_assert_eq(equiv_hex(&t, "5f", 1), 0);
    cr_assert_eq(equiv_hex(&t, "6001", 1), 0);
    fit_task_free(&t);
    make("evm-superopt", "5f35", &t);
    cr_assert_eq(equiv_hex(&t, "5f", 1), 0);
    fit_task_free(&t);
    /* errors name the problem */
    char err[256];
    cr_assert_eq(mk("evm-superopt", "6001600056", 1, &t, err, sizeof err), -1);
    cr_assert(strstr(err, "JUMP"), "%s", err);
    cr_assert_eq(mk("evm-superopt", "zz", 1, &t, err, sizeof err), -1);
    cr_assert(strstr(err, "hex"), "%s", err);
    cr_assert_eq(mk("evm-superopt", NULL, 1, &t, err, sizeof err), -1);
    cr_assert(strstr(err, "block"), "%s", err);
    cr_assert_eq(mk("evm-superopt", "61ff", 1, &t, err, sizeof err), -1);
    cr_assert(strstr(err, "truncated"), "%s", err);
}

Test(tasks_evm, genome_isa) {
    evo_isa isa;
    evo_isa_evm(&isa);
    cr_assert_eq(isa.isa, FIT_ISA_EVM);
    cr_assert(isa.op[EVM_OP_PUSH0].defined);
    cr_assert_eq(isa.ilen[EVM_OP_PUSH1], 2);
    cr_assert_eq(isa.ilen[EVM_OP_PUSH32], 33);
    cr_assert(isa.op[EVM_OP_PUSH32].imm_be);
    cr_assert_eq(isa.op[EVM_OP_DUP3].in, 3);
    cr_assert_eq(isa.op[EVM_OP_DUP3].out, 4);
    cr_assert(!isa.op[0x0c].defined);
    fit_task t;
    make("evm-superopt", "600003600301", &t);
    evo_genome_params g;
    char why[256];
    evo_genome_params_for_evm(&g, &isa, &t);
    cr_assert_eq(evo_genome_check(&g, &isa, why, sizeof why), 0, "%s", why);
    for (uint32_t i = 0; i < g.nops; i++) {
        uint8_t op = g.ops[i];
        cr_assert(op != EVM_OP_JUMP && op != EVM_OP_JUMPI && op != EVM_OP_STOP &&
                      op != EVM_OP_MSTORE,
                  "straight-line set has 0x%02x", op);
    }
    cr_assert_eq(g.init_depth, 1);
    /* random genomes and their variation keep PUSH data whole */
    evo_vary_ws w;
    cr_assert_eq(evo_vary_ws_init(&w, &isa, &g), 0);
    evo_rng r;
    evo_rng_seed(&r, 1, 2);
    uint8_t a[2048], b[2048], c[2048];
    for (int k = 0; k < 500; k++) {
        uint32_t la = evo_genome_random(&isa, &g, &r, a, &w),
                 lb = evo_genome_random(&isa, &g, &r, b, &w), lc;
        cr_assert(evo_genome_ok(&isa, &g, a, la));
        evo_vary(&isa, &g, &r, a, la, b, lb, evo_draw_crossover(&g, &r), c, &lc, &w);
        cr_assert(evo_genome_ok(&isa, &g, c, lc));
    }
    evo_vary_ws_free(&w);
    fit_task_free(&t);
    /* a synthesis task: the full set has jumps, no calls */
    make("evm-max", NULL, &t);
    evo_params p;
    evo_isa_for_task(&isa, &t);
    evo_params_default(&p, &isa, &t);
    bool jump = false, call = false;
    for (uint32_t i = 0; i < p.genome.nops; i++) {
        jump |= p.genome.ops[i] == EVM_OP_JUMPI;
        call |= p.genome.ops[i] == EVM_OP_CALL;
    }
    cr_assert(jump && !call);
    /* a short run works end to end */
    p.pop_size = 50;
    p.max_generations = 3;
    char err[256];
    evo_run *run = evo_run_new(&p, &t, err, sizeof err);
    cr_assert(run, "%s", err);
    cr_assert_eq(evo_run_until_done(run), 0);
    evo_stats st;
    cr_assert_eq(evo_run_stats(run, &st), 0);
    cr_assert_leq(st.best_error, 100 * 256.0);
    evo_run_free(run);
    fit_task_free(&t);
}

Test(tasks_evm, fitness_weighting) {
    fit_task t;
    make("evm-superopt", "600003600301", &t);
    fit_result r = {
        .error = 2, .gas = 32 * 6, .memtime = 100, .ncases = 32, .out_of_gas = 1, .faults = 2};
    fit_weights w = {0};
    cr_assert_eq(fit_fitness(&w, &t, &r, 10), 2);
    cr_assert_eq(fit_fitness(NULL, &t, &r, 10), 2);
    w.w_gas = 1; /* gas_ref 0: the block's 12 gas per case */
    cr_assert_float_eq(fit_fitness(&w, &t, &r, 10), 2.5, 1e-12);
    w.gas_ref = 6;
    cr_assert_float_eq(fit_fitness(&w, &t, &r, 10), 2 + 32.0, 1e-12);
    w = (fit_weights){.w_memtime = 2, .memtime_ref = 50, .w_length = 0.5};
    cr_assert_float_eq(fit_fitness(&w, &t, &r, 10), 2 + 4 + 5, 1e-12);
    w = (fit_weights){.penalty_out_of_gas = 10, .penalty_fault = 100};
    cr_assert_float_eq(fit_fitness(&w, &t, &r, 10), 2 + 10 + 200, 1e-12);
    fit_task_free(&t);
}

Test(tasks_evm, seeding_a_run) {
    fit_task t;
    make("evm-superopt", "600003600301", &t);
    evo_isa isa;
    evo_isa_for_task(&isa, &t);
    evo_params p;
    evo_params_default(&p, &isa, &t);
    p.pop_size = 20;
    p.max_generations = 2;
    char err[256];
    evo_run *r = evo_run_new(&p, &t, err, sizeof err);
    cr_assert(r, "%s", err);
    cr_assert_eq(evo_run_seed(r, 0, 3, t.block, t.block_len), -1, "not before the first step");
    cr_assert_eq(evo_run_step(r), 0);
    uint64_t ev = evo_run_evaluations(r);
    cr_assert_eq(evo_run_seed(r, 0, 3, t.block, t.block_len), 0);
    cr_assert_eq(evo_run_evaluations(r), ev + 1);
    evo_pop_view v;
    evo_run_island(r, 0, &v);
    cr_assert_eq(v.error[3], 0);
    cr_assert_eq(v.gas[3], 32 * 12ull);
    cr_assert_eq(v.len[3], 6);
    cr_assert_eq(evo_run_seed(r, 0, 99, t.block, t.block_len), -1);
    static const uint8_t bad[] = {0x61, 0x01}; /* truncated PUSH2 */
    cr_assert_eq(evo_run_seed(r, 0, 1, bad, 2), -1);
    cr_assert_eq(evo_run_until_done(r), 0);
    evo_run_free(r);
    fit_task_free(&t);
}
