/* Genomes: ISA tables, random programs and instruction-aware variation
 * (docs/gp.md). Every operator works on whole instructions; jumps are
 * repaired so that they always land on an instruction start. */
#include "evolve/evolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ISA ---- */

void evo_isa_native(evo_isa *isa) {
    memset(isa, 0, sizeof *isa);
    isa->isa = FIT_ISA_NATIVE;
    isa->name = "native";
    for (int b = 0; b < 256; b++) {
        const vm_opinfo *oi = vm_opinfo_of((uint8_t)b);
        if (!oi->name) continue;
        evo_opdesc *d = &isa->op[b];
        d->defined = true;
        d->in = oi->in;
        d->out = oi->out;
        d->imm_size = (uint8_t)vm_imm_size(oi->imm);
        switch (oi->imm) {
        case VM_IMM_I64: d->imm = EVO_IMM_CONST; break;
        case VM_IMM_REL: d->imm = EVO_IMM_REL; break;
        case VM_IMM_IDX: d->imm = EVO_IMM_IDX; break;
        case VM_IMM_ARG: d->imm = EVO_IMM_ARG; break;
        case VM_IMM_NONE: d->imm = EVO_IMM_NONE; break;
        default: /* a newer kind: a small index if one byte, else a constant */
            d->imm = d->imm_size == 1 ? EVO_IMM_IDX : d->imm_size ? EVO_IMM_CONST : EVO_IMM_NONE;
            break;
        }
    }
    evo_isa_finish(isa);
}

static inline uint32_t desc_len(const evo_opdesc *d) {
    return d->defined ? 1u + d->imm_size : 1u;
}

void evo_isa_finish(evo_isa *isa) {
    for (int b = 0; b < 256; b++)
        isa->ilen[b] = (uint8_t)desc_len(&isa->op[b]);
}

uint32_t evo_insn_len(const evo_isa *isa, const uint8_t *code, uint32_t len, uint32_t pc) {
    uint32_t n = isa->ilen[code[pc]];
    return n > len - pc ? len - pc : n;
}

/* Instruction starts into starts[0..n), starts[n] = the end scanned; stops
 * after cap instructions. Returns n. */
static uint32_t scan(const evo_isa *isa, const uint8_t *code, uint32_t len, uint32_t *starts,
                     uint32_t cap) {
    uint32_t n = 0, pc = 0;
    while (pc < len && n < cap) {
        starts[n++] = pc;
        pc += isa->ilen[code[pc]];
    }
    if (pc > len) pc = len; /* a truncated last instruction spans to the end */
    starts[n] = pc;
    return n;
}

uint32_t evo_genome_insns(const evo_isa *isa, const uint8_t *code, uint32_t len) {
    uint32_t n = 0;
    for (uint32_t pc = 0; pc < len; pc += evo_insn_len(isa, code, len, pc))
        n++;
    return n;
}

/* ---- immediates ---- */

static void put_imm(const evo_opdesc *d, uint8_t *p, uint64_t v) {
    for (unsigned i = 0; i < d->imm_size; i++) {
        unsigned byte = d->imm_be ? d->imm_size - 1u - i : i; /* significance of p[i] */
        unsigned sh = 8u * byte;
        p[i] = sh < 64 ? (uint8_t)(v >> sh) : (v >> 63 ? 0xff : 0);
    }
}

static uint64_t get_imm(const evo_opdesc *d, const uint8_t *p) {
    uint64_t v = 0;
    for (unsigned i = 0; i < d->imm_size; i++) {
        unsigned byte = d->imm_be ? d->imm_size - 1u - i : i;
        if (8u * byte < 64) v |= (uint64_t)p[i] << (8u * byte);
    }
    return v;
}

static uint64_t draw_const(const evo_genome_params *g, evo_rng *r) {
    if (g->nconsts && evo_rng_unit(r) < g->p_const)
        return (uint64_t)g->consts[evo_rng_below(r, g->nconsts)];
    return (uint64_t)evo_rng_range(r, g->const_lo, g->const_hi);
}

/* Write a random instruction of opcode op into p (REL offset 0, to be drawn
 * once the instruction is in place). Returns its length. */
static uint32_t emit(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, uint8_t op,
                     uint8_t *p) {
    const evo_opdesc *d = &isa->op[op];
    p[0] = op;
    switch (d->imm) {
    case EVO_IMM_CONST: put_imm(d, p + 1, draw_const(g, r)); break;
    case EVO_IMM_IDX: put_imm(d, p + 1, evo_rng_below(r, g->idx_max + 1)); break;
    case EVO_IMM_ARG: put_imm(d, p + 1, evo_rng_below(r, g->n_args)); break;
    case EVO_IMM_REL: put_imm(d, p + 1, 0); break;
    default: break;
    }
    return desc_len(d);
}

/* The first instruction start >= t (starts[0..n] ends with the length). */
static uint32_t snap(const uint32_t *starts, uint32_t n, uint32_t t) {
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (starts[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return starts[lo];
}

static void set_rel(const evo_opdesc *d, uint8_t *code, uint32_t pc, uint32_t target) {
    int64_t off = (int64_t)target - (int64_t)(pc + desc_len(d));
    put_imm(d, code + pc + 1, (uint64_t)off);
}

/* Draw the target of the REL at pc: a byte position uniform in [0, len],
 * moved forward to the next instruction start. starts: scan of code. */
static void draw_rel(const evo_isa *isa, evo_rng *r, uint8_t *code, uint32_t len, uint32_t pc,
                     const uint32_t *starts, uint32_t n) {
    uint32_t t = evo_rng_below(r, len + 1);
    set_rel(&isa->op[code[pc]], code, pc, snap(starts, n, t));
}

void evo_genome_repair(const evo_isa *isa, uint8_t *code, uint32_t len, evo_vary_ws *w) {
    uint32_t n = scan(isa, code, len, w->sa, w->cap);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t pc = w->sa[k];
        const evo_opdesc *d = &isa->op[code[pc]];
        if (!d->defined || d->imm != EVO_IMM_REL || pc + desc_len(d) > len) continue;
        int64_t off = (int16_t)(uint16_t)get_imm(d, code + pc + 1);
        int64_t t = (int64_t)pc + desc_len(d) + off;
        if (t < 0) t = 0;
        if (t > (int64_t)len) t = len;
        set_rel(d, code, pc, snap(w->sa, n, (uint32_t)t));
    }
}

bool evo_genome_ok(const evo_isa *isa, const evo_genome_params *g, const uint8_t *code,
                   uint32_t len) {
    if (len > g->max_bytes || len > EVO_MAX_BYTES) return false;
    uint8_t start[EVO_MAX_BYTES / 8 + 2] = {0};
    uint32_t n = 0, pc = 0;
    while (pc < len) {
        const evo_opdesc *d = &isa->op[code[pc]];
        if (!d->defined || pc + desc_len(d) > len) return false;
        start[pc / 8] |= (uint8_t)(1u << (pc % 8));
        pc += desc_len(d);
        n++;
    }
    start[len / 8] |= (uint8_t)(1u << (len % 8));
    if (n > g->max_insns) return false;
    for (pc = 0; pc < len; pc += desc_len(&isa->op[code[pc]])) {
        const evo_opdesc *d = &isa->op[code[pc]];
        if (d->imm != EVO_IMM_REL) continue;
        int64_t t = (int64_t)pc + desc_len(d) + (int16_t)(uint16_t)get_imm(d, code + pc + 1);
        if (t < 0 || t > (int64_t)len || !(start[t / 8] & (1u << (t % 8)))) return false;
    }
    return true;
}

/* ---- parameters ---- */

void evo_genome_params_default(evo_genome_params *g, const evo_isa *isa) {
    memset(g, 0, sizeof *g);
    g->max_bytes = EVO_DEFAULT_MAX_BYTES;
    g->max_insns = EVO_DEFAULT_MAX_INSNS;
    g->init_min = 4;
    g->init_max = 24;
    for (int b = 0; b < 256; b++)
        if (isa->op[b].defined && !(isa->isa == FIT_ISA_NATIVE && b == VM_OP_YIELD))
            g->ops[g->nops++] = (uint8_t)b;
    g->consts[0] = 0;
    g->consts[1] = 1;
    g->nconsts = 2;
    g->p_const = 0.5;
    g->const_lo = -16;
    g->const_hi = 16;
    g->const_tweak = 1;
    g->idx_max = 3;
    g->p_cx_one = 0.25;
    g->p_cx_two = 0.15;
    g->p_cx_homol = 0.1;
    g->p_point = 0.1;
    g->p_insert = 0.05;
    g->p_delete = 0.05;
    g->p_swap = 0.025;
    g->p_point_imm = 0.5;
    g->p_point_class = 0.5;
}

static void add_const(evo_genome_params *g, vm_word c) {
    for (uint32_t i = 0; i < g->nconsts; i++)
        if (g->consts[i] == c) return;
    if (g->nconsts < EVO_MAX_CONSTS) g->consts[g->nconsts++] = c;
}

void evo_genome_params_for_task(evo_genome_params *g, const evo_isa *isa, const fit_task *t) {
    evo_genome_params_default(g, isa);
    if (isa->isa != FIT_ISA_NATIVE) return;
    /* Iteration and conditions come as blocks (TIMES, WHILE, IF, CLOSE), which
     * variation cannot break, rather than jumps (docs/gp.md). */
    static const uint8_t fx_ops[] = {VM_OP_PUSH, VM_OP_POP,  VM_OP_DUP, VM_OP_SWAP,
                                     VM_OP_OVER, VM_OP_ROT,  VM_OP_ADD, VM_OP_SUB,
                                     VM_OP_FMUL, VM_OP_FDIV, VM_OP_NEG};
    static const uint8_t int_ops[] = {VM_OP_PUSH,  VM_OP_POP,   VM_OP_DUP,  VM_OP_SWAP, VM_OP_OVER,
                                      VM_OP_ROT,   VM_OP_ADD,   VM_OP_SUB,  VM_OP_MUL,  VM_OP_DIV,
                                      VM_OP_MOD,   VM_OP_NEG,   VM_OP_ABS,  VM_OP_MIN,  VM_OP_MAX,
                                      VM_OP_LT,    VM_OP_GT,    VM_OP_EQ,   VM_OP_IF,   VM_OP_TIMES,
                                      VM_OP_WHILE, VM_OP_CLOSE, VM_OP_INDEX};
    static const uint8_t boolean[] = {VM_OP_AND, VM_OP_OR, VM_OP_XOR, VM_OP_NOT, VM_OP_ISZERO};
    const uint8_t *ops = t->fixed_point ? fx_ops : int_ops;
    g->nops = t->fixed_point ? sizeof fx_ops : sizeof int_ops;
    memcpy(g->ops, ops, g->nops);
    /* A vector task iterates over its elements (TIMES over NARGS, ITEM);
     * WHILE, a loop whose length the program decides, is for inputs on the
     * stack. Measured (docs/gp.md): with WHILE, Count Odds fell from 3 of 10
     * to 0 of 10 and Fuel Cost from 2 of 5 to 1 of 10; GCD rose from 0 of 5
     * to 7 of 10. Dropping it keeps the vector tasks' set as it was. */
    if (t->io == FIT_IO_CHANNEL) {
        uint32_t k = 0;
        for (uint32_t i = 0; i < g->nops; i++)
            if (g->ops[i] != VM_OP_WHILE) g->ops[k++] = g->ops[i];
        g->nops = k;
    }
    /* what the task's encoding needs: a vector's elements in one
     * instruction each and a loop that pushes each, when the vector is also
     * the argument words, else the input channel (key 0 is the constant 0,
     * always offered); bits; the arena's channels. IN only where the
     * elements have no other way in: beside EACH it thins the set
     * (docs/gp.md, measured on Fuel Cost). */
    bool fits = fit_task_max_vec(t) <= VM_MAX_ARGS;
    if (t->io == FIT_IO_CHANNEL && !fits) g->ops[g->nops++] = VM_OP_IN;
    if (t->io == FIT_IO_CHANNEL && fits) {
        g->ops[g->nops++] = VM_OP_NARGS;
        g->ops[g->nops++] = VM_OP_ITEM;
        g->ops[g->nops++] = VM_OP_EACH;
    }
    if (t->error == FIT_ERR_BOOL)
        for (size_t i = 0; i < sizeof boolean; i++)
            g->ops[g->nops++] = boolean[i];
    if (fit_task_is_coevo(t)) { /* arena players: IN key 0, OUT key 1 */
        g->ops[g->nops++] = VM_OP_IN;
        g->ops[g->nops++] = VM_OP_OUT;
    }
    /* inputs read at any time: ARG makes about a fifth of new instructions */
    g->n_args = t->io == FIT_IO_STACK ? t->n_in : 0;
    for (uint32_t k = 0, n = (g->nops + 3) / 4; g->n_args && k < n; k++)
        g->ops[g->nops++] = VM_OP_ARG;
    g->init_stack_aware = true;
    g->init_depth = t->n_in;
    g->nconsts = 0;
    if (t->fixed_point) {
        g->const_lo = -VM_FX_ONE;
        g->const_hi = VM_FX_ONE;
        g->const_tweak = VM_FX_ONE / 16;
        add_const(g, VM_FX_ONE);
        add_const(g, VM_FX_ONE / 2);
    } else {
        g->const_lo = -10;
        g->const_hi = 10;
        g->const_tweak = 1;
        add_const(g, 0);
        add_const(g, 1);
    }
    for (uint32_t i = 0; i < t->n_consts; i++)
        add_const(g, t->consts[i]);
}

static bool is_prob(double p) {
    return p >= 0 && p <= 1;
}

/* A message in err, then return -1. */
#define BAD(...)                                                                                   \
    do {                                                                                           \
        if (err && errcap) snprintf(err, errcap, __VA_ARGS__);                                     \
        return -1;                                                                                 \
    } while (0)

int evo_genome_check(const evo_genome_params *g, const evo_isa *isa, char *err, size_t errcap) {
    if (g->max_bytes < 16 || g->max_bytes > EVO_MAX_BYTES)
        BAD("genome.max_bytes: expected 16..%u, found %u", EVO_MAX_BYTES, g->max_bytes);
    if (g->max_insns < 1) BAD("genome.max_insns: expected >= 1, found 0");
    if (g->init_min < 1) BAD("genome.init_min: expected >= 1, found 0");
    if (g->init_min > g->init_max)
        BAD("genome.init_min: expected <= genome.init_max (%u), found %u", g->init_max,
            g->init_min);
    if (g->init_max > g->max_insns)
        BAD("genome.init_max: expected <= genome.max_insns (%u), found %u", g->max_insns,
            g->init_max);
    if (g->nops < 1 || g->nops > 256)
        BAD("genome.opcodes: expected 1..256 opcodes, found %u", g->nops);
    for (uint32_t i = 0; i < g->nops; i++) {
        const evo_opdesc *d = &isa->op[g->ops[i]];
        if (!d->defined)
            BAD("genome.opcodes[%u]: expected an opcode of the genome's ISA, found 0x%02x", i,
                g->ops[i]);
        if (desc_len(d) > g->max_bytes)
            BAD("genome.opcodes[%u]: expected an instruction of at most genome.max_bytes (%u) "
                "bytes, found %u",
                i, g->max_bytes, desc_len(d));
    }
    if (g->nconsts > EVO_MAX_CONSTS)
        BAD("genome.constants: expected at most %u constants, found %u", EVO_MAX_CONSTS,
            g->nconsts);
    if (g->const_lo > g->const_hi) BAD("genome.const_lo: expected <= genome.const_hi");
    if (g->const_tweak < 0) BAD("genome.const_tweak: expected >= 0");
    if (g->idx_max > 255) BAD("genome.idx_max: expected <= 255, found %u", g->idx_max);
    const struct {
        const char *key;
        double p;
    } ps[] = {{"genome.p_const", g->p_const},
              {"variation.cx_one_point", g->p_cx_one},
              {"variation.cx_two_point", g->p_cx_two},
              {"variation.cx_homologous", g->p_cx_homol},
              {"variation.point", g->p_point},
              {"variation.insert", g->p_insert},
              {"variation.delete", g->p_delete},
              {"variation.swap", g->p_swap},
              {"variation.point_imm", g->p_point_imm},
              {"variation.point_class", g->p_point_class},
              {"variation.umad", g->umad}};
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++)
        if (!is_prob(ps[i].p))
            BAD("%s: expected a probability in [0, 1], found %g", ps[i].key, ps[i].p);
    double cx = g->p_cx_one + g->p_cx_two + g->p_cx_homol;
    if (cx > 1.0 + 1e-12)
        BAD("variation: expected cx_one_point + cx_two_point + cx_homologous <= 1, found %g", cx);
    return 0;
}

/* ---- workspace ---- */

int evo_vary_ws_init(evo_vary_ws *w, const evo_isa *isa, const evo_genome_params *g) {
    memset(w, 0, sizeof *w);
    /* Jumps come only from the opcode set (genomes are made from it), so
     * without a REL opcode there is nothing to repair. */
    for (uint32_t i = 0; i < g->nops && !w->rel; i++)
        w->rel = isa->op[g->ops[i]].imm == EVO_IMM_REL;
    w->cap = 2 * g->max_bytes + 2; /* instructions in a child before truncation */
    w->sa = malloc((w->cap + 1) * sizeof *w->sa);
    w->sb = malloc((w->cap + 1) * sizeof *w->sb);
    w->tmp = malloc(2 * (size_t)g->max_bytes + 64);
    if (!w->sa || !w->sb || !w->tmp) {
        evo_vary_ws_free(w);
        return -1;
    }
    return 0;
}

void evo_vary_ws_free(evo_vary_ws *w) {
    free(w->sa);
    free(w->sb);
    free(w->tmp);
    memset(w, 0, sizeof *w);
}

/* ---- random programs ---- */

static uint8_t draw_op(const evo_genome_params *g, evo_rng *r) {
    return g->ops[evo_rng_below(r, g->nops)];
}

uint32_t evo_genome_random(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, uint8_t *out,
                           evo_vary_ws *w) {
    uint32_t want = (uint32_t)evo_rng_range(r, g->init_min, g->init_max);
    uint32_t len = 0, depth = g->init_depth;
    uint8_t insn[64];
    for (uint32_t i = 0; i < want; i++) {
        uint8_t op = draw_op(g, r);
        if (g->init_stack_aware) {
            int tries = 1;
            while (isa->op[op].in > depth && tries++ < 32)
                op = draw_op(g, r);
            if (isa->op[op].in > depth) break;
        }
        uint32_t n = emit(isa, g, r, op, insn);
        const evo_opdesc *d = &isa->op[op];
        if (g->init_stack_aware) {
            if (d->imm == EVO_IMM_IDX) { /* keep DUP n / SWAP n within the stack */
                uint32_t room = depth - d->in, idx_max = g->idx_max < room ? g->idx_max : room;
                put_imm(d, insn + 1, evo_rng_below(r, idx_max + 1));
            }
            depth = depth - d->in + d->out;
        }
        if (len + n > g->max_bytes) break;
        memcpy(out + len, insn, n);
        len += n;
    }
    uint32_t n = scan(isa, out, len, w->sa, w->cap);
    for (uint32_t k = 0; k < n; k++)
        if (isa->op[out[w->sa[k]]].imm == EVO_IMM_REL)
            draw_rel(isa, r, out, len, w->sa[k], w->sa, n);
    return len;
}

/* ---- mutations ---- */

/* Replace bytes [s, e) of code by rep[0..rn); the caller checked the cap. */
static void splice(uint8_t *code, uint32_t *len, uint32_t s, uint32_t e, const uint8_t *rep,
                   uint32_t rn) {
    if (*len > e) memmove(code + s + rn, code + e, *len - e);
    if (rn) memcpy(code + s, rep, rn);
    *len = *len - (e - s) + rn;
}

static uint8_t draw_op_in_class(const evo_genome_params *g, evo_rng *r, const evo_isa *isa,
                                uint8_t old) {
    const evo_opdesc *o = &isa->op[old];
    uint32_t cnt = 0;
    for (uint32_t i = 0; i < g->nops; i++) {
        const evo_opdesc *d = &isa->op[g->ops[i]];
        if (g->ops[i] != old && d->in == o->in && d->out == o->out) cnt++;
    }
    if (cnt == 0) return draw_op(g, r); /* a class of one: anywhere */
    uint32_t k = evo_rng_below(r, cnt);
    for (uint32_t i = 0; i < g->nops; i++) {
        const evo_opdesc *d = &isa->op[g->ops[i]];
        if (g->ops[i] != old && d->in == o->in && d->out == o->out && k-- == 0) return g->ops[i];
    }
    return old; /* not reached */
}

/* The operators below take the genome's instruction count n (the same as a
 * scan's) and keep it; each scans only as far as it reads, except to draw a
 * jump target, which needs every instruction start. */

static void mut_point(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, uint8_t *code,
                      uint32_t *len, uint32_t n, evo_vary_ws *w) {
    if (n == 0) return;
    uint32_t k = evo_rng_below(r, n);
    if (scan(isa, code, *len, w->sa, k + 1) <= k) return; /* n was wrong: no harm */
    uint32_t pc = w->sa[k], end = w->sa[k + 1];
    const evo_opdesc *d = &isa->op[code[pc]];
    if (d->imm != EVO_IMM_NONE && evo_rng_unit(r) < g->p_point_imm) {
        switch (d->imm) {
        case EVO_IMM_CONST:
            if (g->const_tweak > 0) {
                uint64_t v = get_imm(d, code + pc + 1);
                v += (uint64_t)evo_rng_range(r, -g->const_tweak, g->const_tweak);
                put_imm(d, code + pc + 1, v);
            } else {
                put_imm(d, code + pc + 1, draw_const(g, r));
            }
            break;
        case EVO_IMM_IDX: put_imm(d, code + pc + 1, evo_rng_below(r, g->idx_max + 1)); break;
        case EVO_IMM_ARG: put_imm(d, code + pc + 1, evo_rng_below(r, g->n_args)); break;
        case EVO_IMM_REL:
            draw_rel(isa, r, code, *len, pc, w->sa, scan(isa, code, *len, w->sa, w->cap));
            break;
        default: break;
        }
        return;
    }
    uint8_t op =
        evo_rng_unit(r) < g->p_point_class ? draw_op_in_class(g, r, isa, code[pc]) : draw_op(g, r);
    const evo_opdesc *nd = &isa->op[op];
    if (nd->imm == d->imm && nd->imm_size == d->imm_size && nd->imm_be == d->imm_be) {
        code[pc] = op; /* same immediate: keep it */
        return;
    }
    uint8_t insn[64];
    uint32_t nl = emit(isa, g, r, op, insn);
    if (*len - (end - pc) + nl > g->max_bytes) return;
    splice(code, len, pc, end, insn, nl);
    if (nd->imm == EVO_IMM_REL) {
        n = scan(isa, code, *len, w->sa, w->cap);
        draw_rel(isa, r, code, *len, pc, w->sa, n);
    }
}

static void mut_insert(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, uint8_t *code,
                       uint32_t *len, uint32_t *ni, evo_vary_ws *w) {
    uint32_t n = *ni, k = evo_rng_below(r, n + 1);
    uint32_t pc = w->sa[scan(isa, code, *len, w->sa, k)]; /* k, when n is right */
    uint8_t op = draw_op(g, r), insn[64];
    uint32_t nl = emit(isa, g, r, op, insn);
    if (n + 1 > g->max_insns || *len + nl > g->max_bytes) return;
    splice(code, len, pc, pc, insn, nl);
    *ni = n + 1;
    if (isa->op[op].imm == EVO_IMM_REL) {
        n = scan(isa, code, *len, w->sa, w->cap);
        draw_rel(isa, r, code, *len, pc, w->sa, n);
    }
}

static void mut_delete(const evo_isa *isa, evo_rng *r, uint8_t *code, uint32_t *len, uint32_t *ni,
                       evo_vary_ws *w) {
    if (*ni < 2) return; /* keep at least one instruction */
    uint32_t k = evo_rng_below(r, *ni);
    if (scan(isa, code, *len, w->sa, k + 1) <= k) return;
    splice(code, len, w->sa[k], w->sa[k + 1], NULL, 0);
    *ni -= 1;
}

static void mut_swap(const evo_isa *isa, evo_rng *r, uint8_t *code, uint32_t len, uint32_t n,
                     evo_vary_ws *w) {
    if (n < 2) return;
    uint32_t i = evo_rng_below(r, n), j = evo_rng_below(r, n - 1);
    if (j >= i) j++;
    if (j < i) {
        uint32_t t = i;
        i = j;
        j = t;
    }
    if (scan(isa, code, len, w->sa, j + 1) <= j) return;
    uint32_t si = w->sa[i], ei = w->sa[i + 1], sj = w->sa[j], ej = w->sa[j + 1];
    uint8_t *t = w->tmp;
    uint32_t m = 0;
    memcpy(t + m, code + sj, ej - sj), m += ej - sj;
    memcpy(t + m, code + ei, sj - ei), m += sj - ei;
    memcpy(t + m, code + si, ei - si), m += ei - si;
    memcpy(code + si, t, m);
}

/* ---- crossover ---- */

/* Truncate code of *n instructions at an instruction boundary to fit the
 * caps; its length, and *n the instructions kept. */
static uint32_t cap_len(const evo_isa *isa, const evo_genome_params *g, const uint8_t *code,
                        uint32_t len, uint32_t *n) {
    if (len <= g->max_bytes && *n <= g->max_insns) return len;
    uint32_t pc = 0, k = 0;
    while (pc < len && k < g->max_insns) {
        uint32_t l = evo_insn_len(isa, code, len, pc);
        if (pc + l > g->max_bytes) break;
        pc += l;
        k++;
    }
    *n = k;
    return pc;
}

static void order2(uint32_t *a, uint32_t *b) {
    if (*a > *b) {
        uint32_t t = *a;
        *a = *b;
        *b = t;
    }
}

/* Parents of na and nb instructions (well-formed: whole instructions, so a
 * child's count is the sum of its pieces'). */
static void crossover(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, unsigned cx,
                      const uint8_t *a, uint32_t alen, uint32_t na, const uint8_t *b, uint32_t blen,
                      uint32_t nb, uint8_t *out, uint32_t *outlen, uint32_t *nc, evo_vary_ws *w) {
    const uint32_t *sa = w->sa, *sb = w->sb;
    uint8_t *t = w->tmp;
    uint32_t m = 0, n;
    if (cx == EVO_OP_CX_ONE) {
        uint32_t i = evo_rng_below(r, na + 1), j = evo_rng_below(r, nb + 1);
        i = scan(isa, a, alen, w->sa, i); /* the same, when the counts are right */
        j = scan(isa, b, blen, w->sb, j);
        memcpy(t, a, sa[i]), m = sa[i];
        memcpy(t + m, b + sb[j], blen - sb[j]), m += blen - sb[j];
        n = i + (nb - j);
    } else {
        uint32_t i1, i2, j1, j2;
        if (cx == EVO_OP_CX_TWO) {
            i1 = evo_rng_below(r, na + 1), i2 = evo_rng_below(r, na + 1);
            j1 = evo_rng_below(r, nb + 1), j2 = evo_rng_below(r, nb + 1);
            order2(&i1, &i2);
            order2(&j1, &j2);
        } else { /* homologous: the same instruction positions in both parents */
            uint32_t mn = na < nb ? na : nb;
            i1 = evo_rng_below(r, mn + 1), i2 = evo_rng_below(r, mn + 1);
            order2(&i1, &i2);
            j1 = i1, j2 = i2;
        }
        i2 = scan(isa, a, alen, w->sa, i2), i1 = i1 < i2 ? i1 : i2;
        j2 = scan(isa, b, blen, w->sb, j2), j1 = j1 < j2 ? j1 : j2;
        memcpy(t, a, sa[i1]), m = sa[i1];
        memcpy(t + m, b + sb[j1], sb[j2] - sb[j1]), m += sb[j2] - sb[j1];
        memcpy(t + m, a + sa[i2], alen - sa[i2]), m += alen - sa[i2];
        n = i1 + (j2 - j1) + (na - i2);
    }
    m = cap_len(isa, g, t, m, &n);
    if (m == 0 && alen > 0) { /* never an empty child: keep parent a */
        memcpy(t, a, alen);
        m = alen;
        n = na;
    }
    memcpy(out, t, m);
    *outlen = m;
    *nc = n;
}

unsigned evo_draw_crossover(const evo_genome_params *g, evo_rng *r) {
    double u = evo_rng_unit(r);
    if (u < g->p_cx_one) return EVO_OP_CX_ONE;
    if (u < g->p_cx_one + g->p_cx_two) return EVO_OP_CX_TWO;
    if (u < g->p_cx_one + g->p_cx_two + g->p_cx_homol) return EVO_OP_CX_HOMOL;
    return 0;
}

/* UMAD (Helmuth, McPhee and Spector 2018): each instruction is deleted with
 * rate umad / (1 + umad), then a random instruction is added before each
 * remaining one (and at the end of an empty genome) with rate umad, within
 * the caps; the expected length is unchanged. New jumps get fresh targets. */
static void mut_umad(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, uint8_t *code,
                     uint32_t *len, uint32_t *ni, evo_vary_ws *w) {
    double pa = g->umad, pd = pa / (1.0 + pa);
    uint32_t n = scan(isa, code, *len, w->sa, w->cap), kept = 0, klen = 0;
    uint8_t *t = w->tmp;
    for (uint32_t k = 0; k < n; k++) { /* deletion, into tmp */
        if (evo_rng_unit(r) < pd) continue;
        uint32_t il = w->sa[k + 1] - w->sa[k];
        memcpy(t + klen, code + w->sa[k], il);
        klen += il;
        kept++;
    }
    if (kept == 0 && n) { /* keep at least one instruction: the first */
        klen = w->sa[1] - w->sa[0];
        memcpy(t, code + w->sa[0], klen);
        kept = 1;
    }
    uint32_t m = scan(isa, t, klen, w->sa, w->cap), out = 0, insns = 0, nnew = 0;
    uint8_t insn[64];
    for (uint32_t k = 0; k <= m; k++) { /* addition, back into code */
        if ((k < m || m == 0) && evo_rng_unit(r) < pa) {
            uint32_t il = emit(isa, g, r, draw_op(g, r), insn);
            if (insns + (m - k) + 1 <= g->max_insns &&
                out + il + (klen - w->sa[k]) <= g->max_bytes) {
                memcpy(code + out, insn, il);
                if (isa->op[insn[0]].imm == EVO_IMM_REL) w->sb[nnew++] = out;
                out += il;
                insns++;
            }
        }
        if (k == m) break;
        uint32_t il = w->sa[k + 1] - w->sa[k];
        memcpy(code + out, t + w->sa[k], il);
        out += il;
        insns++;
    }
    *len = out;
    *ni = insns;
    if (nnew) {
        n = scan(isa, code, out, w->sa, w->cap);
        for (uint32_t k = 0; k < nnew; k++)
            draw_rel(isa, r, code, out, w->sb[k], w->sa, n);
    }
}

unsigned evo_vary_n(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, const uint8_t *a,
                    uint32_t alen, uint32_t na, const uint8_t *b, uint32_t blen, uint32_t nb,
                    unsigned cx, uint8_t *out, uint32_t *outlen, uint32_t *outn, evo_vary_ws *w) {
    unsigned mask = 0;
    uint32_t n = na;
    if (cx && b) {
        crossover(isa, g, r, cx, a, alen, na, b, blen, nb, out, outlen, &n, w);
        mask |= cx;
    } else {
        memcpy(out, a, alen);
        *outlen = alen;
    }
    if (evo_rng_unit(r) < g->p_point) {
        mut_point(isa, g, r, out, outlen, n, w);
        mask |= EVO_OP_POINT;
    }
    if (evo_rng_unit(r) < g->p_insert) {
        mut_insert(isa, g, r, out, outlen, &n, w);
        mask |= EVO_OP_INSERT;
    }
    if (evo_rng_unit(r) < g->p_delete) {
        mut_delete(isa, r, out, outlen, &n, w);
        mask |= EVO_OP_DELETE;
    }
    if (evo_rng_unit(r) < g->p_swap) {
        mut_swap(isa, r, out, *outlen, n, w);
        mask |= EVO_OP_SWAP;
    }
    if (g->umad > 0) { /* no draw when off: runs without UMAD are unchanged */
        mut_umad(isa, g, r, out, outlen, &n, w);
        mask |= EVO_OP_UMAD;
    }
    if (w->rel) evo_genome_repair(isa, out, *outlen, w);
    *outn = n;
    return mask;
}

/* ---- the operators on code alone: they count its instructions first ---- */

unsigned evo_vary(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, const uint8_t *a,
                  uint32_t alen, const uint8_t *b, uint32_t blen, unsigned cx, uint8_t *out,
                  uint32_t *outlen, evo_vary_ws *w) {
    uint32_t na = evo_genome_insns(isa, a, alen), nb = b ? evo_genome_insns(isa, b, blen) : 0, n;
    return evo_vary_n(isa, g, r, a, alen, na, b, blen, nb, cx, out, outlen, &n, w);
}

void evo_crossover(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, unsigned cx,
                   const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen, uint8_t *out,
                   uint32_t *outlen, evo_vary_ws *w) {
    uint32_t na = evo_genome_insns(isa, a, alen), nb = evo_genome_insns(isa, b, blen), n;
    crossover(isa, g, r, cx, a, alen, na, b, blen, nb, out, outlen, &n, w);
}

void evo_mut_point(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, uint8_t *code,
                   uint32_t *len, evo_vary_ws *w) {
    mut_point(isa, g, r, code, len, evo_genome_insns(isa, code, *len), w);
}

void evo_mut_insert(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, uint8_t *code,
                    uint32_t *len, evo_vary_ws *w) {
    uint32_t n = evo_genome_insns(isa, code, *len);
    mut_insert(isa, g, r, code, len, &n, w);
}

void evo_mut_delete(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, uint8_t *code,
                    uint32_t *len, evo_vary_ws *w) {
    uint32_t n = evo_genome_insns(isa, code, *len);
    mut_delete(isa, r, code, len, &n, w);
}

void evo_mut_swap(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, uint8_t *code,
                  uint32_t *len, evo_vary_ws *w) {
    mut_swap(isa, r, code, *len, evo_genome_insns(isa, code, *len), w);
}

void evo_mut_umad(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, uint8_t *code,
                  uint32_t *len, evo_vary_ws *w) {
    uint32_t n = evo_genome_insns(isa, code, *len);
    mut_umad(isa, g, r, code, len, &n, w);
}
