/* The EVM genome: an evo_isa built from the EVM opcode table (Cancun), and
 * the opcode sets for EVM tasks (docs/gp.md, docs/tasks.md). PUSHn carries n
 * big-endian immediate bytes, so no operator ever splits PUSH data. EVM jumps
 * take their target from the stack: JUMP and JUMPI have no immediate, and a
 * jump to anything but a JUMPDEST is BAD_JUMP (a fault, penalised). */
#include "evolve/evo_impl.h"
#include "vm/evm/evm.h"

#include <string.h>

void evo_isa_evm(evo_isa *isa) {
    memset(isa, 0, sizeof *isa);
    isa->isa = FIT_ISA_EVM;
    isa->name = "evm";
    for (int b = 0; b < 256; b++) {
        const evm_opinfo *oi = evm_opinfo_of((uint8_t)b);
        if (!oi->name || evm_static_gas(EVM_FORK_CANCUN, (uint8_t)b) < 0) continue;
        evo_opdesc *d = &isa->op[b];
        d->defined = true;
        d->in = oi->in;
        d->out = oi->out;
        if (b >= EVM_OP_PUSH1 && b <= EVM_OP_PUSH32) {
            d->imm = EVO_IMM_CONST;
            d->imm_size = (uint8_t)(b - EVM_OP_PUSH1 + 1);
            d->imm_be = true;
        }
    }
    evo_isa_finish(isa);
}

void evo_isa_for_task(evo_isa *isa, const fit_task *t) {
    if (t->isa == FIT_ISA_EVM)
        evo_isa_evm(isa);
    else
        evo_isa_native(isa);
}

static void add_op(evo_genome_params *g, const evo_isa *isa, int op) {
    if (op < 0 || op > 255 || !isa->op[op].defined) return;
    for (uint32_t i = 0; i < g->nops; i++)
        if (g->ops[i] == op) return;
    if (g->nops < 256) g->ops[g->nops++] = (uint8_t)op;
}

static void add_const(evo_genome_params *g, vm_word c) {
    for (uint32_t i = 0; i < g->nconsts; i++)
        if (g->consts[i] == c) return;
    if (g->nconsts < EVO_MAX_CONSTS) g->consts[g->nconsts++] = c;
}

/* Straight-line stack code: arithmetic, comparisons, bitwise, POP, PUSH0,
 * PUSH1, PUSH2, DUPn and SWAPn within reach of the block's inputs, plus
 * every opcode the block itself uses (with its PUSH sizes). */
static void ops_straight(evo_genome_params *g, const evo_isa *isa, const fit_task *t) {
    static const uint8_t base[] = {
        EVM_OP_ADD,   EVM_OP_MUL,   EVM_OP_SUB,        EVM_OP_DIV, EVM_OP_SDIV, EVM_OP_MOD,
        EVM_OP_SMOD,  EVM_OP_EXP,   EVM_OP_SIGNEXTEND, EVM_OP_LT,  EVM_OP_GT,   EVM_OP_SLT,
        EVM_OP_SGT,   EVM_OP_EQ,    EVM_OP_ISZERO,     EVM_OP_AND, EVM_OP_OR,   EVM_OP_XOR,
        EVM_OP_NOT,   EVM_OP_BYTE,  EVM_OP_SHL,        EVM_OP_SHR, EVM_OP_SAR,  EVM_OP_POP,
        EVM_OP_PUSH0, EVM_OP_PUSH1, EVM_OP_PUSH2};
    for (size_t i = 0; i < sizeof base; i++)
        add_op(g, isa, base[i]);
    uint32_t reach = t->min_stack_in + 2;
    if (reach > 16) reach = 16;
    for (uint32_t n = 1; n <= reach; n++) {
        add_op(g, isa, EVM_OP_DUP1 + (int)n - 1);
        add_op(g, isa, EVM_OP_SWAP1 + (int)n - 1);
    }
    for (uint32_t pc = 0; t->block && pc < t->block_len; pc += isa->ilen[t->block[pc]])
        add_op(g, isa, t->block[pc]);
}

/* Synthesis: everything but the opcodes the "isolated" policy denies or that
 * only waste gas (calls, creates, logs, SELFDESTRUCT, INVALID). */
static void ops_full(evo_genome_params *g, const evo_isa *isa) {
    for (int b = 0; b < 256; b++) {
        if (!isa->op[b].defined || b == EVM_OP_INVALID || b == EVM_OP_SELFDESTRUCT) continue;
        if (b >= 0xa0 && b <= 0xa4) continue; /* LOG0..LOG4 */
        if (b >= 0xf0 && b != EVM_OP_RETURN && b != EVM_OP_REVERT) continue;
        add_op(g, isa, b);
    }
}

void evo_genome_params_for_evm(evo_genome_params *g, const evo_isa *isa, const fit_task *t) {
    evo_genome_params_default(g, isa);
    g->nops = 0;
    if (t->straight_line)
        ops_straight(g, isa, t);
    else
        ops_full(g, isa);
    g->init_stack_aware = true;
    g->init_depth = t->io == FIT_IO_EVM_STACK ? t->n_in : 0;
    g->idx_max = 0; /* EVM has no IDX immediates */
    g->nconsts = 0;
    g->const_lo = 0;
    g->const_hi = 32;
    g->const_tweak = 1;
    add_const(g, 0);
    add_const(g, 1);
    for (uint32_t i = 0; i < t->n_consts; i++)
        add_const(g, t->consts[i]);
    if (t->straight_line && t->block) {
        uint32_t n = evo_genome_insns(isa, t->block, t->block_len);
        g->init_min = 1;
        g->init_max = n < 2 ? 2 : n;
        g->max_insns = 2 * n + 8;
        if (g->max_insns > EVO_DEFAULT_MAX_INSNS) g->max_insns = EVO_DEFAULT_MAX_INSNS;
        if (g->init_max > g->max_insns) g->init_max = g->max_insns;
        uint32_t mb = 2 * t->block_len + 64;
        if (mb > g->max_bytes) g->max_bytes = mb > EVO_MAX_BYTES ? EVO_MAX_BYTES : mb;
        /* shortening is the point: more deletion and point mutation */
        g->p_point = 0.3;
        g->p_insert = 0.1;
        g->p_delete = 0.3;
        g->p_swap = 0.1;
    }
}

/* ---- seeding ---- */

int evo_run_seed(evo_run *r, uint32_t island, uint32_t slot, const uint8_t *code, uint32_t len) {
    if (!r->started || island >= r->I || slot >= r->N || len > r->stride ||
        !evo_genome_ok(&r->isa, &r->p.genome, code, len))
        return -1;
    evo_pop *p = &r->pop[r->cur];
    uint32_t s = island * r->N + slot;
    memcpy(p->code + (size_t)s * r->stride, code, len);
    p->len[s] = len;
    p->ninsns[s] = evo_genome_insns(&r->isa, code, len);
    p->pa[s] = p->pb[s] = EVO_NO_PARENT;
    p->ops[s] = 0;
    int rc = evo_evaluate_slot(r, &r->ws[0], p, s);
    r->evals++;
    r->gas_total += p->gas[s];
    return rc;
}
