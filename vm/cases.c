/* Batched runs (vm_run_cases; docs/isa.md, "Batched runs"): straight-line,
 * value-oblivious code on many cases at once. Its path through the code,
 * and so its status and meters, is the same for every case; only the words
 * differ. The first pass walks the code once, metering it exactly as the
 * interpreter would (docs/isa.md, "Metering") and giving up wherever a limit
 * could stop it; the second runs each instruction on a chunk of cases, each
 * stack slot a row of the chunk's words. vm::run_cases_equals_vm_run checks
 * it against vm_run on random code, cases and limits. */
#include "vm/vm_impl.h"

#include <string.h>

enum { CHUNK = 64 }; /* cases a row holds: the rows of a deep stack stay in L1 */

struct vm_cstep {
    vm_word imm;
    uint8_t op;
};

/* Whether op runs the same way on any words: no jump, block, memory, meter,
 * seed or process instruction. */
static bool oblivious(uint8_t op) {
    switch (op) {
    case VM_OP_HALT:
    case VM_OP_NOP:
    case VM_OP_PUSH:
    case VM_OP_POP:
    case VM_OP_DUP:
    case VM_OP_SWAP:
    case VM_OP_OVER:
    case VM_OP_ROT:
    case VM_OP_ARG:
    case VM_OP_NARGS:
    case VM_OP_INDEX: /* 0 outside any loop */
    case VM_OP_ITEM:  /* ARG 0 outside any loop */
        return true;
    default: return vm_op_pure(op);
    }
}

/* Pass 1: the steps that act (a skipped one is metered, then dropped), the
 * status and meters, the final and the deepest depth. 0, 1 (not batchable)
 * or -1. */
static int meter(vm_machine *a, const uint8_t *code, uint32_t len, uint32_t nin,
                 vm_cases_result *res, uint32_t *nsteps, uint32_t *peak) {
    const vm_limits *L = &vm_root(a)->lim;
    uint64_t gas = 0, mt = 0;
    int64_t d = nin, top = nin;
    uint32_t ns = 0;
    vm_status st = VM_HALTED;
    for (uint32_t pc = 0; pc < len;) {
        vm_insn in;
        vm_decode(code, len, pc, &in);
        if (!in.defined || in.truncated || !oblivious(in.op)) return 1;
        const vm_opinfo *oi = vm_opinfo_of(in.op);
        if (in.op == VM_OP_ITEM) in.op = VM_OP_ARG, in.imm = 0;
        if (in.op == VM_OP_ARG && (uint64_t)in.imm >= nin) return 1; /* OUT_OF_BOUNDS */
        int64_t n = oi->imm == VM_IMM_IDX ? in.imm : 0;
        int64_t need = oi->in + n, dd = (int64_t)oi->out - oi->in;
        uint64_t g = oi->gas;
        bool skip = d < need;
        if (skip && L->underflow != VM_UNDERFLOW_SKIP) {
            st = VM_STACK_UNDERFLOW; /* checked first, and charged nothing */
            break;
        }
        /* words in use = the depth: a reset root has no heap, calls or children */
        uint64_t m = (uint64_t)d * g;
        if (g > L->gas - gas || m > L->memtime - mt) return 1;
        if (!skip && (d + dd > (int64_t)L->stack || d + dd > (int64_t)L->mem)) return 1;
        gas += g;
        mt += m;
        if (!skip) {
            if (ns == a->csteps_cap && vm_grow((void **)&a->csteps, &a->csteps_cap, ns + 1,
                                               sizeof *a->csteps))
                return -1;
            a->csteps[ns++] = (struct vm_cstep){in.imm, in.op};
            d += dd;
            if (d > top) top = d;
        }
        pc += in.len;
        if (in.op == VM_OP_HALT) break;
    }
    res->status = st;
    res->m = (vm_meters){gas, mt, (uint32_t)d};
    res->depth = (uint32_t)d;
    *nsteps = ns;
    *peak = (uint32_t)top;
    return 0;
}

/* x[j] = op(x[j], y[j]) for a pure op (y unread by a unary one): a loop
 * per opcode, generated from the table. */
static void pure_rows(uint8_t op, vm_word *x, const vm_word *y, uint32_t w) {
    switch (op) {
#define OP(name, byte, in, out, gas, imm, doc)                                                     \
    case VM_OP_##name:                                                                             \
        if (vm_op_pure(VM_OP_##name))                                                              \
            for (uint32_t j = 0; j < w; j++)                                                       \
                x[j] = vm_word_op(VM_OP_##name, x[j], (in) == 2 ? y[j] : 0);                       \
        break;
#include "vm/opcodes.def"
#undef OP
    default: break;
    }
}

/* Pass 2 on the w cases from c0: the final stack's top nout words. */
static void run_chunk(const vm_machine *a, uint32_t nsteps, const vm_word *in, uint32_t nin,
                      uint32_t c0, uint32_t w, uint32_t nout, vm_word *out) {
    vm_word *R = a->crows;
#define ROW(k) (R + (size_t)(k) * CHUNK)
    for (uint32_t k = 0; k < nin; k++)
        for (uint32_t j = 0; j < w; j++)
            ROW(k)[j] = in[(size_t)(c0 + j) * nin + k];
    uint32_t d = nin;
    for (uint32_t s = 0; s < nsteps; s++) {
        const struct vm_cstep *st = &a->csteps[s];
        vm_word *t = ROW(d);
        switch (st->op) {
        case VM_OP_PUSH:
        case VM_OP_NARGS:
        case VM_OP_INDEX: {
            vm_word v = st->op == VM_OP_PUSH ? st->imm : st->op == VM_OP_NARGS ? (vm_word)nin : 0;
            for (uint32_t j = 0; j < w; j++)
                t[j] = v;
            d++;
            break;
        }
        case VM_OP_ARG:
            for (uint32_t j = 0; j < w; j++)
                t[j] = in[(size_t)(c0 + j) * nin + (size_t)st->imm];
            d++;
            break;
        case VM_OP_POP: d--; break;
        case VM_OP_DUP:
        case VM_OP_OVER:
            memcpy(t, ROW(d - 1 - (st->op == VM_OP_DUP ? (uint32_t)st->imm : 1)), w * sizeof *t);
            d++;
            break;
        case VM_OP_SWAP: {
            vm_word *x = ROW(d - 1), *y = ROW(d - 2 - (uint32_t)st->imm);
            for (uint32_t j = 0; j < w; j++) {
                vm_word v = x[j];
                x[j] = y[j];
                y[j] = v;
            }
            break;
        }
        case VM_OP_ROT: { /* a b c -- b c a */
            vm_word *x = ROW(d - 3), *y = ROW(d - 2), *z = ROW(d - 1);
            for (uint32_t j = 0; j < w; j++) {
                vm_word v = x[j];
                x[j] = y[j];
                y[j] = z[j];
                z[j] = v;
            }
            break;
        }
        case VM_OP_HALT:
        case VM_OP_NOP: break;
        default:
            if (vm_opinfo_of(st->op)->in == 2) {
                pure_rows(st->op, ROW(d - 2), ROW(d - 1), w);
                d--;
            } else {
                pure_rows(st->op, ROW(d - 1), ROW(d - 1), w);
            }
        }
    }
    for (uint32_t j = 0; j < w; j++)
        for (uint32_t k = 0; k < nout; k++)
            out[(size_t)(c0 + j) * nout + k] = d + k >= nout ? ROW(d + k - nout)[j] : 0;
#undef ROW
}

int vm_run_cases(vm_machine *a, const uint8_t *code, size_t len, const vm_word *in, uint32_t nin,
                 uint32_t n, uint32_t nout, vm_word *out, vm_cases_result *res) {
    const vm_limits *L = &vm_root(a)->lim;
    if (a->trace || a->stepping || len > VM_MAX_CODE || nin > VM_MAX_ARGS || nin > L->stack ||
        nin > L->mem)
        return 1;
    uint64_t t0 = a->interp ? vm_clock_ns() : 0;
    uint32_t nsteps, peak;
    int rc = meter(a, code, (uint32_t)len, nin, res, &nsteps, &peak);
    if (rc) return rc;
    if (res->status == VM_HALTED && n > 0) {
        if (vm_grow((void **)&a->crows, &a->crows_cap, (size_t)(peak + 1) * CHUNK, sizeof(vm_word)))
            return -1;
        for (uint32_t c0 = 0; c0 < n; c0 += CHUNK)
            run_chunk(a, nsteps, in, nin, c0, n - c0 < CHUNK ? n - c0 : CHUNK, nout, out);
    }
    if (a->interp) {
        a->interp->ns += vm_clock_ns() - t0;
        a->interp->entries++;
    }
    return 0;
}
