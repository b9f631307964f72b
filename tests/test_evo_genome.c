/* evolve/genome.c: the ISA table, random programs and every variation
 * operator keep bytecode well-formed (checked independently with vm_decode),
 * the caps hold, the operator rates hold statistically, and crossovers cut
 * at instruction boundaries. */
#include "testutil.h"

#include "evolve/evolve.h"

#include <math.h>

/* Well-formed by vm_decode: whole defined instructions, REL targets on an
 * instruction start or the end, within the caps. */
static void wellformed(const uint8_t *c, uint32_t len, const evo_genome_params *g) {
    cr_assert_leq(len, g->max_bytes);
    static bool start[EVO_MAX_BYTES + 1];
    memset(start, 0, len + 1);
    uint32_t n = 0;
    vm_insn in;
    for (uint32_t pc = 0; pc < len; pc += in.len, n++) {
        vm_decode(c, len, pc, &in);
        cr_assert(in.defined, "undefined byte 0x%02x at %u", c[pc], pc);
        cr_assert(!in.truncated, "truncated immediate at %u", pc);
        start[pc] = true;
    }
    start[len] = true;
    cr_assert_leq(n, g->max_insns);
    for (uint32_t pc = 0; pc < len; pc += in.len) {
        vm_decode(c, len, pc, &in);
        if (vm_opinfo_of(in.op)->imm != VM_IMM_REL) continue;
        int64_t t = vm_rel_target(&in);
        cr_assert(t >= 0 && t <= (int64_t)len && start[t], "jump at %u to %ld", pc, (long)t);
    }
}

static void setup(evo_isa *isa, evo_genome_params *g, evo_vary_ws *w) {
    char why[256];
    evo_isa_native(isa);
    evo_genome_params_default(g, isa);
    cr_assert_eq(evo_genome_check(g, isa, why, sizeof why), 0, "%s", why);
    cr_assert_eq(evo_vary_ws_init(w, isa, g), 0);
}

/* caps that chains of variation reach: lengths pile up at them */
static void setup_at_caps(evo_isa *isa, evo_genome_params *g, evo_vary_ws *w) {
    setup(isa, g, w);
    evo_vary_ws_free(w);
    g->max_bytes = 64;
    g->max_insns = 12;
    g->init_max = 12;
    cr_assert_eq(evo_vary_ws_init(w, isa, g), 0);
}

Test(evo_genome, isa_table_matches_the_vm) {
    evo_isa isa;
    evo_isa_native(&isa);
    for (int b = 0; b < 256; b++) {
        const vm_opinfo *oi = vm_opinfo_of((uint8_t)b);
        cr_assert_eq(isa.op[b].defined, oi->name != NULL);
        if (!oi->name) continue;
        cr_assert_eq(isa.op[b].imm_size, vm_imm_size(oi->imm));
        cr_assert_eq(isa.op[b].in, oi->in);
        cr_assert_eq(isa.op[b].out, oi->out);
        cr_assert_eq(isa.ilen[b], 1 + vm_imm_size(oi->imm));
    }
    cr_assert_eq(isa.op[VM_OP_PUSH].imm, EVO_IMM_CONST);
    cr_assert_eq(isa.op[VM_OP_JNZ].imm, EVO_IMM_REL);
    cr_assert_eq(isa.op[VM_OP_DUP].imm, EVO_IMM_IDX);
    cr_assert_eq(isa.op[VM_OP_ADD].imm, EVO_IMM_NONE);
}

Test(evo_genome, random_programs_are_wellformed) {
    evo_isa isa;
    evo_genome_params g;
    evo_vary_ws w;
    setup(&isa, &g, &w);
    g.max_bytes = 100; /* often reached: 24 PUSHes need 216 bytes */
    uint8_t code[EVO_DEFAULT_MAX_BYTES];
    uint64_t total = 0;
    for (uint64_t seed = 0; seed < 3000; seed++) {
        evo_rng r;
        evo_rng_stream(&r, seed, 1, 2, 3);
        uint32_t len = evo_genome_random(&isa, &g, &r, code, &w);
        wellformed(code, len, &g);
        cr_assert(evo_genome_ok(&isa, &g, code, len));
        uint32_t n = evo_genome_insns(&isa, code, len);
        cr_assert(n >= 1 && n <= g.init_max);
        total += n;
    }
    cr_assert_gt(total, 3000 * 8); /* lengths are spread over 4..24 */
    evo_vary_ws_free(&w);
}

typedef void (*mut_fn)(const evo_isa *, const evo_genome_params *, evo_rng *, uint8_t *, uint32_t *,
                       evo_vary_ws *);

Test(evo_genome, every_operator_keeps_code_wellformed) {
    evo_isa isa;
    evo_genome_params g;
    evo_vary_ws w;
    setup(&isa, &g, &w);
    g.max_bytes = 160;
    g.max_insns = 30;
    g.init_max = 30;
    static uint8_t a[EVO_DEFAULT_MAX_BYTES], b[EVO_DEFAULT_MAX_BYTES], c[EVO_DEFAULT_MAX_BYTES];
    const mut_fn muts[] = {evo_mut_point, evo_mut_insert, evo_mut_delete, evo_mut_swap};
    const unsigned cxs[] = {EVO_OP_CX_ONE, EVO_OP_CX_TWO, EVO_OP_CX_HOMOL};
    for (uint64_t seed = 0; seed < 2000; seed++) {
        evo_rng r;
        evo_rng_stream(&r, seed, 7, 0, 0);
        uint32_t la = evo_genome_random(&isa, &g, &r, a, &w);
        uint32_t lb = evo_genome_random(&isa, &g, &r, b, &w);
        for (int k = 0; k < 4; k++) {
            uint32_t lc = la;
            memcpy(c, a, la);
            for (int rep = 0; rep < 5; rep++) {
                muts[k](&isa, &g, &r, c, &lc, &w);
                evo_genome_repair(&isa, c, lc, &w);
                wellformed(c, lc, &g);
            }
        }
        for (int k = 0; k < 3; k++) {
            uint32_t lc;
            evo_crossover(&isa, &g, &r, cxs[k], a, la, b, lb, c, &lc, &w);
            evo_genome_repair(&isa, c, lc, &w);
            wellformed(c, lc, &g);
        }
        uint32_t lc;
        unsigned cx = evo_draw_crossover(&g, &r);
        evo_vary(&isa, &g, &r, a, la, b, lb, cx, c, &lc, &w);
        wellformed(c, lc, &g);
        cr_assert(evo_genome_ok(&isa, &g, c, lc));
    }
    evo_vary_ws_free(&w);
}

Test(evo_genome, long_evolution_stays_within_caps) {
    /* chains of variation on the same lineage: lengths pile up at the cap */
    evo_isa isa;
    evo_genome_params g;
    evo_vary_ws w;
    setup_at_caps(&isa, &g, &w);
    g.p_insert = 0.9;
    uint8_t a[64], b[64], c[64];
    evo_rng r;
    evo_rng_stream(&r, 99, 0, 0, 0);
    uint32_t la = evo_genome_random(&isa, &g, &r, a, &w);
    uint32_t lb = evo_genome_random(&isa, &g, &r, b, &w);
    for (int i = 0; i < 20000; i++) {
        uint32_t lc;
        evo_vary(&isa, &g, &r, a, la, b, lb, evo_draw_crossover(&g, &r), c, &lc, &w);
        wellformed(c, lc, &g);
        if (i % 2) {
            memcpy(a, c, lc), la = lc;
        } else {
            memcpy(b, c, lc), lb = lc;
        }
    }
    evo_vary_ws_free(&w);
}

/* |count - n p| within 5 standard deviations */
static void binom(uint64_t count, uint64_t n, double p, const char *what) {
    double mu = (double)n * p, sd = sqrt((double)n * p * (1 - p));
    cr_assert(fabs((double)count - mu) <= 5 * sd + 1e-9, "%s: %lu of %lu, expected %.1f", what,
              (unsigned long)count, (unsigned long)n, mu);
}

Test(evo_genome, operator_rates_hold) {
    evo_isa isa;
    evo_genome_params g;
    evo_vary_ws w;
    setup(&isa, &g, &w);
    g.p_cx_one = 0.25, g.p_cx_two = 0.15, g.p_cx_homol = 0.1;
    g.p_point = 0.4, g.p_insert = 0.07, g.p_delete = 0.3, g.p_swap = 0.02;
    uint8_t a[EVO_DEFAULT_MAX_BYTES], b[EVO_DEFAULT_MAX_BYTES], c[EVO_DEFAULT_MAX_BYTES];
    evo_rng r;
    evo_rng_stream(&r, 5, 0, 0, 0);
    uint32_t la = evo_genome_random(&isa, &g, &r, a, &w);
    uint32_t lb = evo_genome_random(&isa, &g, &r, b, &w);
    const uint64_t n = 40000;
    uint64_t cnt[16] = {0};
    for (uint64_t i = 0; i < n; i++) {
        evo_rng s;
        evo_rng_stream(&s, 5, 1, i, 0);
        uint32_t lc;
        unsigned m = evo_vary(&isa, &g, &s, a, la, b, lb, evo_draw_crossover(&g, &s), c, &lc, &w);
        for (int k = 0; k < 16; k++)
            cnt[k] += (m >> k) & 1;
    }
    binom(cnt[0], n, g.p_cx_one, "one-point");
    binom(cnt[1], n, g.p_cx_two, "two-point");
    binom(cnt[2], n, g.p_cx_homol, "homologous");
    binom(cnt[3], n, g.p_point, "point");
    binom(cnt[4], n, g.p_insert, "insert");
    binom(cnt[5], n, g.p_delete, "delete");
    binom(cnt[6], n, g.p_swap, "swap");
    for (int k = 7; k < 16; k++)
        cr_assert_eq(cnt[k], 0);
    evo_vary_ws_free(&w);
}

Test(evo_genome, point_mutation_within_class) {
    evo_isa isa;
    evo_genome_params g;
    evo_vary_ws w;
    setup(&isa, &g, &w);
    g.p_point_imm = 0;
    g.p_point_class = 1;
    /* binary operators only: (2 in, 1 out) */
    uint8_t code[64];
    uint32_t len = 0;
    const uint8_t bin[] = {VM_OP_ADD, VM_OP_SUB, VM_OP_MUL, VM_OP_FMUL, VM_OP_LT, VM_OP_AND};
    for (int i = 0; i < 20; i++)
        code[len++] = bin[i % 6];
    uint64_t changed = 0;
    for (uint64_t seed = 0; seed < 2000; seed++) {
        evo_rng r;
        evo_rng_stream(&r, seed, 3, 0, 0);
        uint8_t c[64];
        uint32_t lc = len;
        memcpy(c, code, len);
        evo_mut_point(&isa, &g, &r, c, &lc, &w);
        cr_assert_eq(lc, len);
        int diff = 0;
        for (uint32_t i = 0; i < len; i++) {
            cr_assert_eq(isa.op[c[i]].in, 2);
            cr_assert_eq(isa.op[c[i]].out, 1);
            diff += c[i] != code[i];
        }
        cr_assert_eq(diff, 1, "exactly one instruction changes, to another opcode");
        changed++;
    }
    cr_assert_eq(changed, 2000);
    /* immediate tweak: PUSH stays PUSH, the value moves by at most const_tweak */
    g.p_point_imm = 1;
    g.const_tweak = 3;
    uint8_t p[9] = {VM_OP_PUSH, 100};
    for (uint64_t seed = 0; seed < 500; seed++) {
        evo_rng r;
        evo_rng_stream(&r, seed, 4, 0, 0);
        uint8_t c[16];
        uint32_t lc = 9;
        memcpy(c, p, 9);
        evo_mut_point(&isa, &g, &r, c, &lc, &w);
        vm_insn in;
        vm_decode(c, lc, 0, &in);
        cr_assert_eq(in.op, VM_OP_PUSH);
        cr_assert(in.imm >= 97 && in.imm <= 103);
    }
    evo_vary_ws_free(&w);
}

/* Is child == A[:i] + B[j:] for some instruction boundaries i, j? */
static bool is_one_point(const evo_isa *isa, const uint8_t *a, uint32_t la, const uint8_t *b,
                         uint32_t lb, const uint8_t *c, uint32_t lc) {
    for (uint32_t i = 0;; i += evo_insn_len(isa, a, la, i)) {
        if (i <= lc && memcmp(a, c, i) == 0)
            for (uint32_t j = 0;; j += evo_insn_len(isa, b, lb, j)) {
                if (i + (lb - j) == lc && memcmp(b + j, c + i, lb - j) == 0) return true;
                if (j >= lb) break;
            }
        if (i >= la) break;
    }
    return false;
}

Test(evo_genome, crossovers_cut_at_instruction_boundaries) {
    evo_isa isa;
    evo_genome_params g;
    evo_vary_ws w;
    setup(&isa, &g, &w);
    /* no jumps, so that the children are plain concatenations */
    const uint8_t ops[] = {VM_OP_PUSH, VM_OP_DUP, VM_OP_ADD, VM_OP_SWAP, VM_OP_NEG, VM_OP_FMUL};
    memcpy(g.ops, ops, sizeof ops);
    g.nops = sizeof ops;
    uint8_t a[EVO_DEFAULT_MAX_BYTES], b[EVO_DEFAULT_MAX_BYTES], c[EVO_DEFAULT_MAX_BYTES];
    for (uint64_t seed = 0; seed < 500; seed++) {
        evo_rng r;
        evo_rng_stream(&r, seed, 5, 0, 0);
        uint32_t la = evo_genome_random(&isa, &g, &r, a, &w);
        uint32_t lb = evo_genome_random(&isa, &g, &r, b, &w);
        uint32_t lc;
        evo_crossover(&isa, &g, &r, EVO_OP_CX_ONE, a, la, b, lb, c, &lc, &w);
        cr_assert(is_one_point(&isa, a, la, b, lb, c, lc));
        /* homologous: the child keeps parent A's instruction count */
        evo_crossover(&isa, &g, &r, EVO_OP_CX_HOMOL, a, la, b, lb, c, &lc, &w);
        cr_assert_eq(evo_genome_insns(&isa, c, lc), evo_genome_insns(&isa, a, la));
        /* two-point: a prefix and a suffix of A around a run of B */
        evo_crossover(&isa, &g, &r, EVO_OP_CX_TWO, a, la, b, lb, c, &lc, &w);
        wellformed(c, lc, &g);
    }
    /* crossover of a genome with itself at the same cut is the genome */
    evo_vary_ws_free(&w);
}

Test(evo_genome, jump_repair_snaps_forward) {
    evo_isa isa;
    evo_genome_params g;
    evo_vary_ws w;
    setup(&isa, &g, &w);
    /* 0: JMP +2 (target 5, inside the PUSH at 3); 3: PUSH 1 (9 bytes); 12: JZ -100; 15: ADD */
    uint8_t c[16] = {VM_OP_JMP, 2, 0, VM_OP_PUSH, 1,        0,    0,    0,
                     0,         0, 0, 0,          VM_OP_JZ, 0x9c, 0xff, VM_OP_ADD};
    evo_genome_repair(&isa, c, 16, &w);
    vm_insn in;
    vm_decode(c, 16, 0, &in);
    cr_assert_eq(vm_rel_target(&in), 12, "moved forward to the next instruction");
    vm_decode(c, 16, 12, &in);
    cr_assert_eq(vm_rel_target(&in), 0, "clamped to the start");
    cr_assert(evo_genome_ok(&isa, &g, c, 16));
    /* a jump past the end goes to the end */
    uint8_t d[4] = {VM_OP_JNZ, 0x40, 0, VM_OP_NOP};
    evo_genome_repair(&isa, d, 4, &w);
    vm_decode(d, 4, 0, &in);
    cr_assert_eq(vm_rel_target(&in), 4);
    evo_vary_ws_free(&w);
}

Test(evo_genome, params_check) {
    evo_isa isa;
    evo_genome_params g;
    char why[256];
    evo_isa_native(&isa);
    evo_genome_params_default(&g, &isa);
    cr_assert_eq(evo_genome_check(&g, &isa, why, sizeof why), 0, "%s", why);
    g.p_cx_one = 0.8;
    cr_assert_eq(evo_genome_check(&g, &isa, why, sizeof why), -1);
    evo_genome_params_default(&g, &isa);
    g.ops[0] = 0xff;
    cr_assert_eq(evo_genome_check(&g, &isa, why, sizeof why), -1);
    evo_genome_params_default(&g, &isa);
    g.max_bytes = 40000;
    cr_assert_eq(evo_genome_check(&g, &isa, why, sizeof why), -1);
    fit_task t;
    cr_assert_eq(fit_task_int_square(&t), 0);
    evo_genome_params_for_task(&g, &isa, &t);
    cr_assert_eq(evo_genome_check(&g, &isa, why, sizeof why), 0, "%s", why);
    fit_task_free(&t);
}

Test(evo_genome, stack_aware_programs_never_underflow) {
    evo_isa isa;
    evo_isa_native(&isa);
    fit_task t;
    cr_assert_eq(fit_task_int_square(&t), 0);
    evo_genome_params g;
    evo_genome_params_for_task(&g, &isa, &t);
    cr_assert(g.init_stack_aware);
    cr_assert_eq(g.init_depth, 1);
    /* straight-line code: a jump or a block (IF, TIMES, WHILE) can skip or repeat
     * instructions, so the static depth holds only without them */
    uint32_t k = 0;
    for (uint32_t i = 0; i < g.nops; i++)
        if (isa.op[g.ops[i]].imm != EVO_IMM_REL && !vm_is_block_open(g.ops[i]))
            g.ops[k++] = g.ops[i];
    g.nops = k;
    g.ops[g.nops++] = VM_OP_DUP; /* weight the index ops */
    g.ops[g.nops++] = VM_OP_SWAP;
    evo_vary_ws w;
    cr_assert_eq(evo_vary_ws_init(&w, &isa, &g), 0);
    vm_machine *a = vm_machine_new();
    uint8_t code[EVO_DEFAULT_MAX_BYTES];
    for (uint64_t seed = 0; seed < 3000; seed++) {
        evo_rng r;
        evo_rng_stream(&r, seed, 9, 0, 0);
        uint32_t len = evo_genome_random(&isa, &g, &r, code, &w);
        wellformed(code, len, &g);
        cr_assert_eq(vm_load(a, code, len), 0);
        cr_assert_eq(vm_push(a, 5), 0);
        cr_assert_eq(vm_set_args(a, (const vm_word[]){5}, 1), 0);
        vm_status st = vm_run(a);
        cr_assert_neq(st, VM_STACK_UNDERFLOW, "seed %lu", (unsigned long)seed);
    }
    vm_machine_free(a);
    evo_vary_ws_free(&w);
    fit_task_free(&t);
}

Test(evo_genome, vary_n_equals_vary_and_counts_the_child) {
    /* chains at the caps (truncation), with jumps (repair) and UMAD */
    evo_isa isa;
    evo_genome_params g;
    evo_vary_ws w;
    setup_at_caps(&isa, &g, &w);
    g.p_insert = 0.5;
    g.p_delete = 0.3;
    g.p_swap = 0.3;
    g.p_point = 0.5;
    uint8_t a[64], b[64], c[64], d[64];
    for (int umad = 0; umad < 2; umad++) {
        g.umad = umad ? 0.2 : 0;
        evo_rng r;
        evo_rng_stream(&r, 5, umad, 0, 0);
        uint32_t la = evo_genome_random(&isa, &g, &r, a, &w);
        uint32_t lb = evo_genome_random(&isa, &g, &r, b, &w);
        for (int i = 0; i < 5000; i++) {
            unsigned cx = evo_draw_crossover(&g, &r);
            evo_rng r2 = r;
            uint32_t lc, ld, nd;
            unsigned m1 = evo_vary(&isa, &g, &r, a, la, b, lb, cx, c, &lc, &w);
            unsigned m2 = evo_vary_n(&isa, &g, &r2, a, la, evo_genome_insns(&isa, a, la), b, lb,
                                     evo_genome_insns(&isa, b, lb), cx, d, &ld, &nd, &w);
            cr_assert_eq(m1, m2);
            cr_assert_eq(lc, ld);
            cr_assert_arr_eq(c, d, lc);
            cr_assert_eq(memcmp(&r, &r2, sizeof r), 0, "the same draws");
            cr_assert_eq(nd, evo_genome_insns(&isa, d, ld), "step %d: count %u", i, nd);
            if (i % 2) {
                memcpy(a, c, lc), la = lc;
            } else {
                memcpy(b, c, lc), lb = lc;
            }
        }
    }
    evo_vary_ws_free(&w);
}

Test(evo_genome, operators_take_any_bytes_and_wrong_counts) {
    /* random bytes (undefined, truncated) and counts off either way: the
     * children stay within the caps and every access within its buffer */
    evo_isa isa;
    evo_genome_params g;
    evo_vary_ws w;
    setup(&isa, &g, &w);
    g.max_bytes = 48;
    g.umad = 0.1;
    uint8_t a[48], b[48], c[48];
    evo_rng r;
    evo_rng_stream(&r, 6, 0, 0, 0);
    for (int i = 0; i < 3000; i++) {
        uint32_t la = evo_rng_below(&r, 49), lb = evo_rng_below(&r, 49), lc, nc;
        for (uint32_t k = 0; k < la; k++)
            a[k] = (uint8_t)evo_rng_below(&r, 256);
        for (uint32_t k = 0; k < lb; k++)
            b[k] = (uint8_t)evo_rng_below(&r, 256);
        uint32_t na = evo_genome_insns(&isa, a, la), nb = evo_genome_insns(&isa, b, lb);
        unsigned cx = 1u + evo_rng_below(&r, 3);
        evo_vary(&isa, &g, &r, a, la, b, lb, cx, c, &lc, &w);
        cr_assert_leq(lc, g.max_bytes);
        evo_vary_n(&isa, &g, &r, a, la, evo_rng_below(&r, 2 * na + 2), b, lb,
                   evo_rng_below(&r, 2 * nb + 2), cx, c, &lc, &nc, &w);
        cr_assert_leq(lc, g.max_bytes);
    }
    evo_vary_ws_free(&w);
}
