/* Batched runs (vm_run_cases; docs/isa.md, "Batched runs"): straight-line,
 * value-oblivious code on many cases at once. Its path through the code,
 * and so its status and meters, is the same for every case; only the words
 * differ.
 *
 * The first pass walks the code once. It meters it exactly as the
 * interpreter would (docs/isa.md, "Metering"), giving up wherever a limit
 * could stop it, and it runs the stack on names, not words: each stack slot
 * names a row (one word per case: an input, or the result of one step), so
 * DUP, SWAP, ROT, OVER, POP and ARG move names and cost nothing later. The
 * steps that make a row (PUSH and the pure opcodes) are kept only when the
 * final stack's top words depend on them. The second pass runs those steps
 * on a chunk of cases at a time, a row of a chunk each.
 * vm::run_cases_equals_vm_run checks it against vm_run on random code,
 * cases and limits. */
#include "vm/vm_impl.h"

#include <string.h>

enum { CHUNK = 64 }; /* cases a row holds: a program's rows stay in L1 */

/* out = op(x, y) on rows (a unary op reads x; PUSH fills out with imm) */
struct vm_cstep {
    vm_word imm;
    uint32_t out, x, y;
    uint8_t op;
};

/* What the first pass does with an opcode. Besides the pure opcodes, only
 * these run the same way on any words: no jump, block, memory, meter, seed
 * or process instruction. INDEX is 0 outside any loop, and ITEM is ARG 0.
 * M_NO (0): give up. */
enum { M_NO, M_NOP, M_HALT, M_CONST, M_ARG, M_ITEM, M_POP, M_DUP, M_OVER, M_SWAP, M_ROT, M_PURE };
#define IS(name, op) (VM_OP_##name == (op))
#define M_KIND(op)                                                                                 \
    (IS(NOP, op)                                      ? M_NOP                                      \
     : IS(HALT, op)                                   ? M_HALT                                     \
     : IS(PUSH, op) || IS(NARGS, op) || IS(INDEX, op) ? M_CONST                                    \
     : IS(ARG, op)                                    ? M_ARG                                      \
     : IS(ITEM, op)                                   ? M_ITEM                                     \
     : IS(POP, op)                                    ? M_POP                                      \
     : IS(DUP, op)                                    ? M_DUP                                      \
     : IS(OVER, op)                                   ? M_OVER                                     \
     : IS(SWAP, op)                                   ? M_SWAP                                     \
     : IS(ROT, op)                                    ? M_ROT                                      \
     : VM_OP_PURE(op)                                 ? M_PURE                                     \
                                                      : M_NO)

/* Each opcode as the first pass needs it, in one load (from opcodes.def):
 * length, stack words in (an index immediate adds n), gas, and kind. An
 * undefined byte is M_NO. A pure opcode leaves one word. */
static const struct {
    uint8_t il, in, kind, idx;
    uint32_t gas;
} mtab[256] = {
#define OP(name, byte, in, out, gas, imm, doc)                                                     \
    [byte] = {1 + VM_IMM_SIZE_##imm, in, M_KIND(VM_OP_##name), VM_IMM_##imm == VM_IMM_IDX, gas},
#include "vm/opcodes.def"
#undef OP
};
#define OP(name, byte, in, out, gas, imm, doc)                                                     \
    _Static_assert((gas) < 4096, "meter's sums could wrap: " #name);                               \
    _Static_assert(M_KIND(VM_OP_##name) != M_PURE || ((out) == 1 && (in) >= 1 && (in) <= 2),       \
                   "pure, not one or two words to one: " #name);
#include "vm/opcodes.def"
#undef OP
#undef IS
#undef M_KIND

static inline int add_step(vm_machine *a, uint32_t *ns, struct vm_cstep s) {
    if (*ns == a->csteps_cap &&
        vm_grow((void **)&a->csteps, &a->csteps_cap, *ns + 1, sizeof *a->csteps))
        return -1;
    a->csteps[(*ns)++] = s;
    return 0;
}

/* Pass 1: status, meters and steps; the final stack's names in a->cnames,
 * the rows made in *nrows. 0, 1 (not batchable) or -1. */
static int meter(vm_machine *a, const uint8_t *code, uint32_t len, uint32_t nin,
                 vm_cases_result *res, uint32_t *nsteps, uint32_t *nrows) {
    const vm_limits *L = &vm_root(a)->lim;
    /* Gas and memory-time are summed here and checked once at the end: the
     * sums only grow, so a program over either budget at any instruction is
     * over it at the end, and a program over is not batched (vm_run then
     * finds where). The sums cannot wrap: fewer than 2^25 instructions, a
     * depth below 2^25 and gas below 2^12 each (the assertion below). */
    uint64_t sg = 0, sm = 0;
    const uint32_t deepest = L->stack < L->mem ? L->stack : L->mem;
    uint32_t d = nin, ns = 0, nr = nin;
    /* an instruction pushes at most one name, and never past the stack limit
     * (nin <= the limit: vm_run_cases) */
    size_t most = (size_t)nin + len < L->stack ? (size_t)nin + len : L->stack;
    if (vm_grow((void **)&a->cnames, &a->cnames_cap, most + 1, sizeof *a->cnames)) return -1;
    uint32_t *S = a->cnames; /* the stack, by row; the inputs are rows 0 .. nin-1 */
    for (uint32_t k = 0; k < nin; k++)
        S[k] = k;
    vm_status st = VM_HALTED;
/* a push: not batched past the deepest stack the limits allow */
#define PUSH(name)                                                                                 \
    do {                                                                                           \
        if (d >= deepest) return 1;                                                                \
        S[d] = (name);                                                                             \
        d++;                                                                                       \
    } while (0)
    for (uint32_t pc = 0; pc < len;) {
        /* decoded here, not by vm_decode: one load and one unpredictable
         * branch an instruction (the switch below). An undefined byte has
         * length 0 and kind M_NO: the switch gives up on it. */
        const uint8_t op = code[pc], *imm = code + pc + 1;
        const uint32_t il = mtab[op].il, kind = mtab[op].kind, in = mtab[op].in;
        if (il > len - pc) return 1; /* truncated */
        /* an index immediate (DUP n, SWAP n) adds n words to those read */
        const uint32_t n = mtab[op].idx ? imm[0] : 0;
        const uint64_t g = mtab[op].gas;
        if (d < in + n) {               /* too few words: rare */
            if (kind == M_NO) return 1; /* a block or process rule may differ */
            if (L->underflow != VM_UNDERFLOW_SKIP) {
                st = VM_STACK_UNDERFLOW; /* checked first, and charged nothing */
                break;
            }
            sg += g, sm += d * g, pc += il; /* charged, and nothing done */
            continue;
        }
        /* words in use = the depth: a reset root has no heap, calls or children */
        sg += g;
        sm += d * g;
        pc += il;
        switch (kind) {
        case M_CONST: {
            vm_word v = op == VM_OP_PUSH    ? (vm_word)base_le_get(imm, 8)
                        : op == VM_OP_NARGS ? (vm_word)nin
                                            : 0; /* INDEX */
            if (add_step(a, &ns, (struct vm_cstep){v, nr, 0, 0, VM_OP_PUSH})) return -1;
            PUSH(nr++);
            break;
        }
        case M_ARG:
            if (imm[0] >= nin) return 1; /* OUT_OF_BOUNDS */
            PUSH(imm[0]);
            break;
        case M_ITEM:
            if (nin == 0) return 1;
            PUSH(0);
            break;
        case M_POP: d--; break;
        case M_DUP: PUSH(S[d - 1 - n]); break;
        case M_OVER: PUSH(S[d - 2]); break;
        case M_SWAP: {
            uint32_t t = S[d - 1];
            S[d - 1] = S[d - 2 - n];
            S[d - 2 - n] = t;
            break;
        }
        case M_ROT: { /* a b c -- b c a */
            uint32_t t = S[d - 3];
            S[d - 3] = S[d - 2];
            S[d - 2] = S[d - 1];
            S[d - 1] = t;
            break;
        }
        case M_PURE: {
            uint32_t x = S[d - in], y = S[d - 1];
            if (add_step(a, &ns, (struct vm_cstep){0, nr, x, y, op})) return -1;
            d -= in;
            PUSH(nr++);
            break;
        }
        case M_NO: return 1; /* undefined, or not batched */
        default: break;      /* NOP, HALT */
        }
        if (kind == M_HALT) break;
    }
#undef PUSH
    if (sg > L->gas || sm > L->memtime) return 1;
    res->status = st;
    res->m = (vm_meters){sg, sm, d};
    res->depth = d;
    *nsteps = ns;
    *nrows = nr;
    return 0;
}

/* Keep the steps whose rows the top nout words need; their number. */
static uint32_t prune(vm_machine *a, uint32_t ns, uint32_t nrows, uint32_t d, uint32_t nout) {
    uint8_t *live = a->clive;
    memset(live, 0, nrows);
    for (uint32_t k = nout < d ? d - nout : 0; k < d; k++)
        live[a->cnames[k]] = 1;
    for (uint32_t s = ns; s-- > 0;) {
        const struct vm_cstep *t = &a->csteps[s];
        if (live[t->out] && t->op != VM_OP_PUSH) live[t->x] = live[t->y] = 1;
    }
    uint32_t kept = 0;
    for (uint32_t s = 0; s < ns; s++)
        if (live[a->csteps[s].out]) a->csteps[kept++] = a->csteps[s];
    return kept;
}

/* w words from src to dst, each stride apart; one input or output (the
 * usual case) is a plain copy, which the compiler leaves to memcpy. */
static inline void strided_copy(vm_word *dst, size_t ds, const vm_word *src, size_t ss,
                                uint32_t w) {
    if (ds == 1 && ss == 1) {
        memcpy(dst, src, (size_t)w * sizeof *dst);
        return;
    }
    for (uint32_t j = 0; j < w; j++)
        dst[j * ds] = src[j * ss];
}

/* Pass 2 on the w cases from c0: the final stack's top nout words. */
static void run_chunk(const vm_machine *a, uint32_t nsteps, const vm_word *in, uint32_t nin,
                      uint32_t c0, uint32_t w, uint32_t nout, uint32_t d, vm_word *out) {
    vm_word *R = a->crows;
#define ROW(k) (R + (size_t)(k)*CHUNK)
    for (uint32_t k = 0; k < nin; k++)
        if (a->clive[k]) strided_copy(ROW(k), 1, in + (size_t)c0 * nin + k, nin, w);
    for (uint32_t s = 0; s < nsteps; s++) {
        const struct vm_cstep *st = &a->csteps[s];
        vm_word *o = ROW(st->out);
        const vm_word *x = ROW(st->x), *y = ROW(st->y), c = st->imm;
        switch (st->op) { /* a loop per opcode, generated from the table */
#define OP(name, byte, in, out, gas, imm, doc)                                                     \
    case VM_OP_##name:                                                                             \
        if (VM_OP_##name == VM_OP_PUSH)                                                            \
            for (uint32_t j = 0; j < w; j++)                                                       \
                o[j] = c;                                                                          \
        else if (vm_op_pure(VM_OP_##name))                                                         \
            for (uint32_t j = 0; j < w; j++)                                                       \
                o[j] = vm_word_op(VM_OP_##name, x[j], (in) == 2 ? y[j] : 0);                       \
        break;
#include "vm/opcodes.def"
#undef OP
        default: break;
        }
    }
    for (uint32_t k = 0; k < nout; k++) {
        if (d + k < nout) {
            for (uint32_t j = 0; j < w; j++)
                out[(size_t)(c0 + j) * nout + k] = 0;
            continue;
        }
        strided_copy(out + (size_t)c0 * nout + k, nout, ROW(a->cnames[d + k - nout]), 1, w);
    }
#undef ROW
}

int vm_run_cases(vm_machine *a, const uint8_t *code, size_t len, const vm_word *in, uint32_t nin,
                 uint32_t n, uint32_t nout, vm_word *out, vm_cases_result *res) {
    const vm_limits *L = &vm_root(a)->lim;
    if (a->trace || a->stepping || len > VM_MAX_CODE || nin > VM_MAX_ARGS || nin > L->stack ||
        nin > L->mem)
        return 1;
    uint64_t t0 = a->interp ? vm_clock_ns() : 0;
    uint32_t ns, nrows;
    int rc = meter(a, code, (uint32_t)len, nin, res, &ns, &nrows);
    if (rc) return rc;
    if (res->status == VM_HALTED && n > 0) {
        if (vm_grow((void **)&a->clive, &a->clive_cap, nrows + 1, 1) ||
            vm_grow((void **)&a->crows, &a->crows_cap, (size_t)(nrows + 1) * CHUNK,
                    sizeof(vm_word)))
            return -1;
        ns = prune(a, ns, nrows, res->depth, nout);
        for (uint32_t c0 = 0; c0 < n; c0 += CHUNK)
            run_chunk(a, ns, in, nin, c0, n - c0 < CHUNK ? n - c0 : CHUNK, nout, res->depth, out);
    }
    if (a->interp) {
        a->interp->ns += vm_clock_ns() - t0;
        a->interp->entries++;
    }
    return 0;
}
