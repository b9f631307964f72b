/* The native interpreter: decoding into threaded code, and the run loop.
 * See vm_impl.h for the layout and docs/isa.md for the metering rules. */
#include "vm/vm_impl.h"

#include <stdlib.h>
#include <string.h>

#ifdef VM_NO_METER
#define FN(x) vm_interp_nm_##x
#define METER 0
#else
#define FN(x) vm_interp_##x
#define METER 1
#endif

/* Dispatch: computed goto (direct threading) under GCC and Clang; a switch
 * over tags where it is unavailable or VM_DISPATCH_SWITCH is defined. */
#if defined(__GNUC__) && !defined(VM_DISPATCH_SWITCH)
#define LBL(label, tag) (&&label)
#else
#define VM_SWITCH       1
#define LBL(label, tag) ((const void *)(uintptr_t)(tag))
#define T_OP(byte)      (1 + (byte))
#define T_X(x)          (300 + (x))
#endif

#define LIKELY(x)   __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* The round of the innermost running TIMES or EACH loop (INDEX); 0 if none. */
static inline uint32_t loop_round(const vm_proc *p) {
    for (uint32_t k = p->ncalls; k > 0; k--)
        if (p->calls[k - 1] & VM_LOOP_TAG) return p->calls[k - 1] & VM_LOOP_MAX;
    return 0;
}

/* Internal handlers that have no opcode byte. */
enum {
    X_HDR,
    X_HDRS,
    X_INV,
    X_TRUNC,
    X_JMP_BAD,
    X_JZ_BAD,
    X_JNZ_BAD,
    X_CALL_BAD,
    X_WCLOSE,
    X_ECLOSE,
    X_END,
    X_N
};

static vm_status FN(run)(vm_machine *a, vm_proc *p, vm_budget *b, bool stepping,
                         const void *const **ops_out, const void *const **xops_out);
static void FN(decode_step)(vm_machine *a, vm_proc *p);
static void FN(skip_variant)(vm_proc *p, uint32_t f, int64_t depth);

static bool is_terminator(uint8_t op) {
    switch (op) {
    case VM_OP_JMP:
    case VM_OP_JZ:
    case VM_OP_JNZ:
    case VM_OP_CALL:
    case VM_OP_RET:
    case VM_OP_TIMES:
    case VM_OP_EACH:
    case VM_OP_IF:
    case VM_OP_WHILE:
    case VM_OP_CLOSE:
    case VM_OP_HALT:
    case VM_OP_YIELD:
    case VM_OP_ALLOC:
    case VM_OP_FREE: return true;
    default: return op >= VM_OP_RECURSE; /* process, key and channel instructions */
    }
}

/* Stack effect of one decoded instruction. */
static void effect(const vm_insn *in, int64_t *nin, int64_t *nout, int64_t *cost) {
    const vm_opinfo *oi = &vm_optab[in->op];
    if (!in->defined || in->truncated) {
        *nin = *nout = *cost = 0;
        return;
    }
    int64_t n = oi->imm == VM_IMM_IDX ? in->imm : 0;
    *nin = oi->in + n;
    *nout = oi->out + n;
    *cost = oi->gas;
}

typedef struct {
    uint32_t hdr, first; /* header cell, first slot */
    int64_t gas, need, grow, d, n;
} blockacc;

static void blk_open(blockacc *b, vm_cell *cells, uint32_t c, const void *h, uint32_t pc) {
    b->hdr = c;
    b->first = (c + VM_HDR_CELLS) / 2;
    b->gas = b->need = b->grow = b->d = b->n = 0;
    cells[c].h = h;
    cells[c + 3].w.lo = VM_NONE;
    cells[c + 3].w.hi = pc;
}

/* Would adding this instruction overflow the header's packed fields? */
static bool blk_full(const blockacc *b, int64_t nin, int64_t nout, int64_t cost) {
    if (b->n == 0) return false;
    int64_t need = nin - b->d > b->need ? nin - b->d : b->need;
    int64_t grow = b->d + nout - nin > b->grow ? b->d + nout - nin : b->grow;
    return b->gas + cost > VM_BLK_GAS_MAX || need > VM_BLK_WORD_MAX || grow > VM_BLK_WORD_MAX;
}

static void blk_add(blockacc *b, vm_cold *cold, uint32_t slot, uint32_t pc, int64_t nin,
                    int64_t nout, int64_t cost) {
    if (nin - b->d > b->need) b->need = nin - b->d;
    cold[slot].pc = pc;
    cold[slot].gas_rest = (uint32_t)cost; /* cost and depth for now; see blk_close */
    cold[slot].mtc_rest = b->d;
    b->d += nout - nin;
    if (b->d > b->grow) b->grow = b->d;
    b->gas += cost;
    b->n++;
}

/* Finish the header and turn per-slot (cost, depth) into the refund data. */
static void blk_close(blockacc *b, vm_cell *cells, vm_cold *cold) {
    int64_t g_next = 0, m_next = 0, d_next = 0;
    for (int64_t j = b->n - 1; j >= 0; j--) {
        vm_cold *c = &cold[b->first + j];
        int64_t cost = c->gas_rest, d = c->mtc_rest;
        int64_t m = m_next + (d_next - d) * g_next;
        c->gas_rest = (uint32_t)(cost + g_next);
        c->mtc_rest = m;
        g_next = cost + g_next;
        m_next = m;
        d_next = d;
    }
    cells[b->hdr + 1].u = (uint64_t)b->gas | (uint64_t)b->need << 32 | (uint64_t)b->grow << 48;
    cells[b->hdr + 2].i = m_next; /* relative to the first slot, whose depth is 0 */
    uint32_t hs = b->hdr / 2;
    cold[hs] = cold[hs + 1] = (vm_cold){cells[b->hdr + 3].w.hi, 0, 0};
}

static const void *handler(const vm_insn *in, const void *const *ops, const void *const *xops) {
    if (in->truncated && in->defined) return xops[X_TRUNC];
    if (!in->defined) return xops[X_INV];
    if (in->op == VM_OP_RECURSE && in->imm > 1)
        return xops[X_INV]; /* modes: 0 credit, 1 transfer */
    return ops[in->op];
}

/* Emit one copy: fast (leaders from `lead`) or step (every instruction). */
static uint32_t emit(vm_machine *a, vm_proc *p, uint32_t c, bool step, const uint8_t *lead,
                     uint32_t *nfix, const void *const *ops, const void *const *xops) {
    const uint32_t *m = a->match;
    vm_cell *cells = p->cells;
    uint32_t *at = step ? p->step_at : p->fast_at;
    blockacc b = {0};
    bool open = false;
    for (const vm_insn *next = a->ins;; next++) {
        vm_insn in = *next; /* decode_all ends the list with the end's entry */
        uint32_t pc = in.pc;
        bool end = pc >= p->len;
        int64_t nin, nout, cost;
        if (end)
            nin = nout = cost = 0;
        else
            effect(&in, &nin, &nout, &cost);
        if (step || lead[pc] || !open || blk_full(&b, nin, nout, cost)) { /* lead NULL iff step */
            if (open) blk_close(&b, cells, p->cold);
            blk_open(&b, cells, c, xops[step ? X_HDRS : X_HDR], pc);
            at[pc] = c;
            c += VM_HDR_CELLS;
            open = true;
        }
        blk_add(&b, p->cold, c / 2, pc, nin, nout, cost);
        cells[c].h = end ? xops[X_END] : handler(&in, ops, xops);
        cells[c + 1].i = in.imm;
        if (!end && in.defined && !in.truncated && (&vm_optab[in.op])->imm == VM_IMM_REL) {
            cells[c + 1].i = vm_rel_target(&in);
            a->fix[(*nfix)++] = c;
        } else if (!end && in.defined && !in.truncated &&
                   (vm_is_block_open(in.op) || in.op == VM_OP_CLOSE)) {
            if (m[pc] == VM_NONE) {
                cells[c].h = ops[VM_OP_NOP]; /* the CLOSE of an IF, or unmatched */
            } else {
                cells[c + 1].i = m[pc];
                a->fix[(*nfix)++] = c;
                uint8_t o = in.op == VM_OP_CLOSE ? p->code[m[pc] - 1] : 0;
                if (o == VM_OP_WHILE) cells[c].h = xops[X_WCLOSE];
                if (o == VM_OP_EACH) cells[c].h = xops[X_ECLOSE];
            }
        }
        c += VM_INS_CELLS;
        if (end) break;
    }
    blk_close(&b, cells, p->cold);
    return c;
}

/* Decode the code once into a->ins (room: decode), ending the list with
 * an entry at len. Returns the number of instructions. */
static uint32_t decode_all(vm_machine *a, const vm_proc *p) {
    uint32_t n = 0;
    for (uint32_t pc = 0; pc < p->len; n++) {
        vm_decode_inline(p->code, p->len, pc, &a->ins[n]);
        pc += a->ins[n].len;
    }
    a->ins[n] = (vm_insn){.pc = p->len, .len = 0, .op = 0, .defined = true};
    return n;
}

/* Point the jumps listed in fix at their target's header in `at`, or at a
 * BAD_JUMP handler. Valid targets are exactly the leaders (fast_at). */
static void patch(vm_proc *p, const uint32_t *fix, uint32_t nfix, const uint32_t *at,
                  const void *const *ops, const void *const *xops) {
    for (uint32_t i = 0; i < nfix; i++) {
        vm_cell *c = &p->cells[fix[i]];
        int64_t t = c[1].i;
        if (t >= 0 && t <= p->len && p->fast_at[t] != VM_NONE) {
            c[1].i = (int64_t)(intptr_t)&p->cells[at[t]]; /* cells never move once decoded */
            continue;
        }
        if (c->h == ops[VM_OP_JMP])
            c->h = xops[X_JMP_BAD];
        else if (c->h == ops[VM_OP_JZ])
            c->h = xops[X_JZ_BAD];
        else if (c->h == ops[VM_OP_JNZ])
            c->h = xops[X_JNZ_BAD];
        else
            c->h = xops[X_CALL_BAD];
    }
}

/* Decode the fast copy. The step copy is built on first need (decode_step),
 * into room reserved here, so building it never moves the cells. */
int FN(decode)(vm_machine *a, vm_proc *p) {
    const void *const *ops, *const *xops;
    FN(run)(NULL, NULL, NULL, false, &ops, &xops);
    uint32_t len = p->len;
    p->decoded = 0;
    if (vm_grow((void **)&a->lead, &a->lead_cap, (size_t)len + 1, 1) ||
        vm_grow((void **)&a->ins, &a->ins_cap, (size_t)len + 1, sizeof(vm_insn)))
        return -1;
    uint32_t n = decode_all(a, p);
    /* instruction starts (bit 0), leaders (bit 1) */
    uint8_t *lead = a->lead;
    memset(lead, 0, (size_t)len + 1);
    lead[0] = 2;
    bool blocks = false, seed = false;
    for (uint32_t k = 0; k < n; k++) {
        const vm_insn *in = &a->ins[k];
        lead[in->pc] |= 1;
        uint32_t next = in->pc + in->len;
        if (in->defined && !in->truncated) {
            blocks |= vm_is_block_open(in->op) || in->op == VM_OP_CLOSE;
            seed |= in->op == VM_OP_RAND || in->op >= VM_OP_RECURSE; /* a child's place */
            if ((&vm_optab[in->op])->imm == VM_IMM_REL) {
                int64_t t = vm_rel_target(in);
                if (t >= 0 && t <= len) lead[t] |= 2;
            }
            if (is_terminator(in->op) && next <= len) lead[next] |= 2;
        } else if (next <= len) {
            lead[next] |= 2;
        }
    }
    lead[len] |= 3;
    /* room for the fast copy, the step copy, and the skip variants (each
     * fast block at most once, with its exit) */
    size_t ncells = (size_t)(n + 1) * (3 * VM_HDR_CELLS + 4 * VM_INS_CELLS);
    if (vm_grow((void **)&p->cells, &p->cells_cap, ncells, sizeof(vm_cell)) ||
        vm_grow((void **)&p->cold, &p->cold_cap, ncells / 2, sizeof(vm_cold)) ||
        vm_grow((void **)&a->fix, &a->fix_cap, (size_t)n + 1, sizeof(uint32_t)) ||
        vm_grow((void **)&a->match, &a->match_cap, 2 * ((size_t)len + 1), sizeof(uint32_t)) ||
        vm_grow((void **)&p->fast_at, &p->fast_cap, (size_t)len + 1, sizeof(uint32_t)) ||
        vm_grow((void **)&p->step_at, &p->step_cap, (size_t)len + 1, sizeof(uint32_t)))
        return -1;
    /* Block targets (after a CLOSE, after a TIMES) follow terminators: leaders
     * already. Code without blocks (most GP programs) needs no matching: emit
     * reads the match only at a TIMES, IF or CLOSE. */
    p->has_blocks = blocks;
    p->reads_seed = seed;
    if (blocks) vm_match_blocks(p->code, len, a->match);
    /* A jump into an immediate is not a leader: it is a BAD_JUMP. */
    for (uint32_t pc = 0; pc <= len; pc++)
        lead[pc] = (lead[pc] & 3) == 3;
    memset(p->fast_at, 0xff, ((size_t)len + 1) * sizeof(uint32_t));
    uint32_t nfix = 0;
    p->fast_end = emit(a, p, 0, false, lead, &nfix, ops, xops);
    patch(p, a->fix, nfix, p->fast_at, ops, xops);
    p->ncells = p->fast_end;
    p->var_end = p->fast_end + (n + 1) * (VM_HDR_CELLS + VM_INS_CELLS);
    p->step_ready = false;
    p->decoded = METER ? 1 : 2;
    return 0;
}

/* The step copy: every instruction its own block, linked to the fast copy. */
static void FN(decode_step)(vm_machine *a, vm_proc *p) {
    const void *const *ops, *const *xops;
    FN(run)(NULL, NULL, NULL, false, &ops, &xops);
    uint32_t nfix = 0;
    decode_all(a, p); /* the scratch grew in decode */
    if (p->has_blocks) vm_match_blocks(p->code, p->len, a->match);
    memset(p->step_at, 0xff, ((size_t)p->len + 1) * sizeof(uint32_t));
    p->ncells = emit(a, p, p->fast_end, true, NULL, &nfix, ops, xops);
    for (uint32_t pc = 0; pc <= p->len; pc++) {
        uint32_t f = p->fast_at[pc], s = p->step_at[pc];
        if (f == VM_NONE || s == VM_NONE) continue;
        p->cells[f + 3].w.lo = s;
        p->cells[s + 3].w.lo = f;
    }
    patch(p, a->fix, nfix, p->step_at, ops, xops);
    p->step_ready = true;
}

/* Under VM_UNDERFLOW_SKIP, a fast block entered at a depth where some of its
 * instructions lack operands fails its check at every entry, and the step
 * copy runs it one instruction at a time (most GP programs, in every case).
 * Skipping depends on the depth alone, so the block is rebuilt for this
 * entry depth: a skipped instruction becomes a NOP (a block opener, a JMP past
 * its block) that costs what it costs, the others are the fast cells; the
 * header and the refund data are those of the result, so running it is
 * running the steps. L_HDR runs it when the depth matches and it can be paid
 * for in full. The record is in the header's second cold slot: gas_rest the
 * variant's header cell (0: none yet, VM_NONE: none possible), mtc_rest the
 * depth. */
static void FN(skip_variant)(vm_proc *p, uint32_t f, int64_t depth) {
    const void *const *ops, *const *xops;
    FN(run)(NULL, NULL, NULL, false, &ops, &xops);
    vm_cell *cells = p->cells;
    vm_cold *cold = p->cold, *rec = &cold[f / 2 + 1];
    uint32_t v = p->var_end, c = v + VM_HDR_CELLS, i = f + VM_HDR_CELLS;
    blockacc b;
    blk_open(&b, cells, v, xops[X_HDR], cells[f + 3].w.hi);
    int64_t d = depth;
    for (; i < p->fast_end && cells[i].h != xops[X_HDR]; i += VM_INS_CELLS, c += VM_INS_CELLS) {
        /* effect() from the cells: an IDX immediate stays as decoded */
        uint32_t pc = cold[i / 2].pc;
        const vm_opinfo *oi = &vm_optab[pc < p->len ? p->code[pc] : VM_OP_NOP];
        int64_t nin = 0, nout = 0, cost = 0;
        if (pc < p->len && oi->name && cells[i].h != xops[X_TRUNC]) {
            int64_t n = oi->imm == VM_IMM_IDX ? cells[i + 1].i : 0;
            nin = oi->in + n, nout = oi->out + n, cost = oi->gas;
        }
        cells[c] = cells[i];
        cells[c + 1] = cells[i + 1];
        if (d < nin) { /* skipped (step_hdr's skip) */
            uint8_t op = p->code[pc];
            cells[c].h = vm_is_block_open(op) ? ops[VM_OP_JMP] : ops[VM_OP_NOP];
            nin = nout = 0;
        }
        if (blk_full(&b, nin, nout, cost)) {
            rec->gas_rest = VM_NONE;
            return;
        }
        blk_add(&b, cold, c / 2, pc, nin, nout, cost);
        d += nout - nin;
    }
    blk_close(&b, cells, cold);
    if (i < p->fast_end) { /* the block falls through into the next */
        cells[c].h = ops[VM_OP_JMP];
        cells[c + 1].i = (int64_t)(intptr_t)&cells[i];
        c += VM_INS_CELLS;
    }
    p->var_end = c;
    rec->gas_rest = v;
    rec->mtc_rest = depth;
}

vm_status FN(exec)(vm_machine *a, vm_proc *p, vm_budget *b, bool stepping) {
    return FN(run)(a, p, b, stepping, NULL, NULL);
}

static inline int64_t min64(int64_t x, int64_t y) {
    return x < y ? x : y;
}

static vm_status FN(run)(vm_machine *a, vm_proc *p, vm_budget *b, bool stepping,
                         const void *const **ops_out, const void *const **xops_out) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
    static const void *const ops[256] = {
        [0 ... 255] = LBL(L_INV, T_X(X_INV)),
#define OP(name, byte, in, out, gas, imm, doc) [byte] = LBL(L_##name, T_OP(byte)),
#include "vm/opcodes.def"
#undef OP
    };
#pragma GCC diagnostic pop
    static const void *const xops[X_N] = {
        [X_HDR] = LBL(L_HDR, T_X(X_HDR)),
        [X_HDRS] = LBL(L_HDRS, T_X(X_HDRS)),
        [X_INV] = LBL(L_INV, T_X(X_INV)),
        [X_TRUNC] = LBL(L_TRUNC, T_X(X_TRUNC)),
        [X_JMP_BAD] = LBL(L_JMP_BAD, T_X(X_JMP_BAD)),
        [X_JZ_BAD] = LBL(L_JZ_BAD, T_X(X_JZ_BAD)),
        [X_JNZ_BAD] = LBL(L_JNZ_BAD, T_X(X_JNZ_BAD)),
        [X_CALL_BAD] = LBL(L_CALL_BAD, T_X(X_CALL_BAD)),
        [X_WCLOSE] = LBL(L_WCLOSE, T_X(X_WCLOSE)),
        [X_ECLOSE] = LBL(L_ECLOSE, T_X(X_ECLOSE)),
        [X_END] = LBL(L_END, T_X(X_END)),
    };
    if (ops_out) {
        *ops_out = ops;
        *xops_out = xops;
        return VM_RUNNING;
    }

    vm_cell *const cells = p->cells;
    const vm_cold *const cold = p->cold;
    vm_word *const st = p->stack;
    vm_word *sp = st + p->depth;
    const int64_t stack_cap = p->lim.stack;
    const int64_t memcap = b->memcap; /* most words the subtree may hold */
    const int64_t mtb = b->mt_base;   /* extra words the memory-time budget counts */
    int64_t other = (int64_t)(p->msize + p->ncalls + p->held); /* words besides the stack */
    int64_t lim = min64(stack_cap, memcap - other);            /* most stack depth allowed now */
    /* The block checks work on the stack pointer as a word address (s3) so
     * that only these few values stay live in registers: */
    const int64_t st3 = (int64_t)((uintptr_t)st >> 3); /* the stack base */
    int64_t top3 = st3 + (METER ? lim : stack_cap);    /* the highest allowed s3 */
    int64_t K = other + mtb - st3; /* words besides the stack for memory-time, minus st3 */
    (void)lim;
    (void)mtb;
    (void)K;
    const int64_t gas0 = b->gas, mt0 = b->mt;
    int64_t gas = gas0, mt_left = mt0;
    const int64_t own0 = p->lim.gas > p->gas_used ? (int64_t)(p->lim.gas - p->gas_used) : 0;
    (void)own0;
    (void)gas;
    (void)mt_left;
    stepping = stepping || a->stepping || a->trace;
    vm_status status = VM_RUNNING;
    vm_cell *ip;
    if (!stepping && p->fast_at[p->ip] != VM_NONE) {
        ip = cells + p->fast_at[p->ip];
    } else {
        if (!p->step_ready) FN(decode_step)(a, p);
        ip = cells + p->step_at[p->ip];
    }

#ifdef VM_SWITCH
#define NEXT goto dispatch
#else
#define NEXT goto * ip->h
#endif
#define DEPTH ((int64_t)(sp - st))
#define SLOT  ((uint32_t)((ip - cells) / 2))
#define IMM   (ip[1].i)
#define STOP(s)                                                                                    \
    do {                                                                                           \
        status = (s);                                                                              \
        goto stop_refund;                                                                          \
    } while (0)
#define NEED(g, w, s) (p->need_gas = (g), p->need_grow = (w), p->need_stack = (s))
#define BIN(e)                                                                                     \
    do {                                                                                           \
        vm_word x = sp[-2], y = sp[-1];                                                            \
        (void)x;                                                                                   \
        (void)y;                                                                                   \
        sp[-2] = (e);                                                                              \
        sp--;                                                                                      \
        ip += 2;                                                                                   \
        NEXT;                                                                                      \
    } while (0)
#define UN(e)                                                                                      \
    do {                                                                                           \
        vm_word x = sp[-1];                                                                        \
        sp[-1] = (e);                                                                              \
        ip += 2;                                                                                   \
        NEXT;                                                                                      \
    } while (0)
#define U(v) ((uint64_t)(v))
#if METER
#define SETLIM() (lim = min64(stack_cap, memcap - other), top3 = st3 + lim, K = other + mtb - st3)
#else
#define SETLIM() (lim = min64(stack_cap, memcap - other))
#endif
#define S3             ((int64_t)((uintptr_t)sp >> 3))
#define STATIC_GAS(op) ((int64_t)(&vm_optab[op])->gas)
/* EACH and its CLOSE push a word beyond the block's static effect: room for
 * it, and for w words in all, or stop before changing anything. */
#define ROOM(op, w)                                                                                \
    do {                                                                                           \
        if (DEPTH + 1 > stack_cap || (METER && DEPTH + other + (w) > memcap)) {                    \
            NEED(STATIC_GAS(op), w, 1);                                                            \
            STOP(DEPTH + 1 > stack_cap ? VM_STACK_OVERFLOW : VM_OUT_OF_MEMORY);                    \
        }                                                                                          \
    } while (0)

#if METER
/* A block (or one instruction) may run if it can be paid for in full. */
#define BLOCK_OK(h, mt)                                                                            \
    (S3 - st3 >= (int64_t)((h[1].u >> 32) & 0xffff) && S3 + (int64_t)(h[1].u >> 48) <= top3 &&     \
     (int64_t)(uint32_t)h[1].u <= gas && (mt) <= mt_left)
#define BLOCK_MT(h)   ((S3 + K) * (int64_t)(uint32_t)h[1].u + h[2].i)
#define CHARGE(h, mt) (gas -= (int64_t)(uint32_t)h[1].u, mt_left -= (mt))
#else
#define BLOCK_OK(h, mt)                                                                            \
    (S3 - st3 >= (int64_t)((h[1].u >> 32) & 0xffff) && S3 + (int64_t)(h[1].u >> 48) <= top3)
#define BLOCK_MT(h)   0
#define CHARGE(h, mt) ((void)(mt))
#endif

    NEXT;

#ifdef VM_SWITCH
dispatch:
    switch ((uintptr_t)ip->h) {
#define OP(name, byte, in, out, gas, imm, doc)                                                     \
    case T_OP(byte):                                                                               \
        goto L_##name;
#include "vm/opcodes.def"
#undef OP
    case T_X(X_HDR): goto L_HDR;
    case T_X(X_HDRS): goto L_HDRS;
    case T_X(X_TRUNC): goto L_TRUNC;
    case T_X(X_JMP_BAD): goto L_JMP_BAD;
    case T_X(X_JZ_BAD): goto L_JZ_BAD;
    case T_X(X_JNZ_BAD): goto L_JNZ_BAD;
    case T_X(X_CALL_BAD): goto L_CALL_BAD;
    case T_X(X_WCLOSE): goto L_WCLOSE;
    case T_X(X_ECLOSE): goto L_ECLOSE;
    case T_X(X_END): goto L_END;
    default: goto L_INV;
    }
#endif

L_HDR : {
    int64_t mt = BLOCK_MT(ip);
    if (LIKELY(BLOCK_OK(ip, mt))) {
        CHARGE(ip, mt);
        ip += VM_HDR_CELLS;
        NEXT;
    }
    if (p->lim.underflow == VM_UNDERFLOW_SKIP) { /* a skip variant (skip_variant) */
        const vm_cold *rec = &cold[SLOT + 1];
        if (rec->gas_rest == 0 && DEPTH < (int64_t)((ip[1].u >> 32) & 0xffff) &&
            DEPTH <= VM_BLK_WORD_MAX)
            FN(skip_variant)(p, (uint32_t)(ip - cells), DEPTH);
        if (rec->gas_rest != 0 && rec->gas_rest != VM_NONE && rec->mtc_rest == DEPTH) {
            vm_cell *v = cells + rec->gas_rest;
            int64_t vmt = BLOCK_MT(v);
            if (BLOCK_OK(v, vmt)) {
                CHARGE(v, vmt);
                ip = v + VM_HDR_CELLS;
                NEXT;
            }
        }
    }
    if (UNLIKELY(ip[3].w.lo == VM_NONE)) FN(decode_step)(a, p); /* links ip to its twin */
    ip = cells + ip[3].w.lo;
    goto step_hdr;
}
L_HDRS:
step_hdr : {
    if (UNLIKELY(a->trace)) {
        p->depth = (uint32_t)DEPTH;
        p->ip = ip[3].w.hi;
        a->trace(a->trace_ctx, a, ip[3].w.hi);
    }
    if (!stepping && ip[3].w.lo != VM_NONE) {
        vm_cell *f = cells + ip[3].w.lo;
        int64_t mt = BLOCK_MT(f);
        if (BLOCK_OK(f, mt)) {
            CHARGE(f, mt);
            ip = f + VM_HDR_CELLS;
            NEXT;
        }
    }
    int64_t need = (ip[1].u >> 32) & 0xffff, grow = ip[1].u >> 48;
    int64_t mt = BLOCK_MT(ip);
    (void)mt;
    NEED((int64_t)(uint32_t)ip[1].u, grow, grow);
    if (DEPTH < need && p->lim.underflow == VM_UNDERFLOW_SKIP) goto skip;
    if (DEPTH < need) status = VM_STACK_UNDERFLOW;
#if METER
    else if ((int64_t)(uint32_t)ip[1].u > gas)
        status = VM_OUT_OF_GAS;
    else if (mt > mt_left)
        status = VM_OUT_OF_MEMTIME;
#endif
    else if (DEPTH + grow > stack_cap)
        status = VM_STACK_OVERFLOW;
#if METER
    else if (DEPTH + grow > lim)
        status = VM_OUT_OF_MEMORY;
#endif
    if (status != VM_RUNNING) {
        p->ip = ip[3].w.hi;
        goto out;
    }
    CHARGE(ip, mt);
    ip += VM_HDR_CELLS;
    NEXT;
}

/* Operand shortage under VM_UNDERFLOW_SKIP (step copy only: a block that
 * would underflow never runs in the fast copy): charge the instruction, then
 * pass over it, or over the block of a TIMES or IF. */
skip : {
    int64_t mt = BLOCK_MT(ip);
    (void)mt;
    NEED((int64_t)(uint32_t)ip[1].u, 0, 0);
#if METER
    if ((int64_t)(uint32_t)ip[1].u > gas)
        status = VM_OUT_OF_GAS;
    else if (mt > mt_left)
        status = VM_OUT_OF_MEMTIME;
    if (status != VM_RUNNING) {
        p->ip = ip[3].w.hi;
        goto out;
    }
#endif
    CHARGE(ip, mt);
    uint8_t op = ip[3].w.hi < p->len ? p->code[ip[3].w.hi] : VM_OP_NOP;
    ip += VM_HDR_CELLS;
    ip = vm_is_block_open(op) ? (vm_cell *)(intptr_t)IMM : ip + VM_INS_CELLS;
    NEXT;
}

/* One line per opcode, as in the table (kept out of clang-format). */
// clang-format off
/* control */
L_HALT:  status = VM_HALTED; p->ip = cold[SLOT].pc; goto out;
L_NOP:   ip += 2; NEXT;
L_YIELD: status = VM_YIELDED; p->ip = cold[SLOT].pc + 1; goto out;
L_END:   status = VM_HALTED; p->ip = p->len; goto out;
L_JMP:   ip = (vm_cell *)(intptr_t)IMM; NEXT;
L_JZ:    sp--; ip = *sp == 0 ? (vm_cell *)(intptr_t)IMM : ip + 2; NEXT;
L_JNZ:   sp--; ip = *sp != 0 ? (vm_cell *)(intptr_t)IMM : ip + 2; NEXT;
L_CALL: {
    if (p->ncalls >= p->lim.calls) STOP(VM_CALL_OVERFLOW);
#if METER
    if (DEPTH + other + 1 > memcap) {
        NEED(STATIC_GAS(VM_OP_CALL), 1, 0);
        STOP(VM_OUT_OF_MEMORY);
    }
#endif
    p->calls[p->ncalls++] = cold[SLOT].pc + 3;
    other++;
    SETLIM();
    ip = (vm_cell *)(intptr_t)IMM;
    NEXT;
}
L_RET: {
    uint32_t k = p->ncalls; /* the loops entered since the last CALL end with it */
    while (k >= 2 && (p->calls[k - 1] & VM_LOOP_TAG))
        k -= 2;
    if (k == 0) {
        status = VM_HALTED;
        p->ip = cold[SLOT].pc;
        goto out;
    }
    uint32_t pc = p->calls[k - 1];
    other -= p->ncalls - (k - 1);
    p->ncalls = k - 1;
    SETLIM();
    ip = cells + (stepping ? p->step_at[pc] : p->fast_at[pc]); /* after a CALL: a leader */
    NEXT;
}
L_TIMES: {
    vm_word n = sp[-1];
    if (n <= 0) {
        sp--;
        ip = (vm_cell *)(intptr_t)IMM;
        NEXT;
    }
    if (p->ncalls + 2 > p->lim.calls) STOP(VM_CALL_OVERFLOW);
#if METER
    if (DEPTH + other + 1 > memcap) { /* pops 1 word, pushes a 2-word frame */
        NEED(STATIC_GAS(VM_OP_TIMES), 1, 0);
        STOP(VM_OUT_OF_MEMORY);
    }
#endif
    sp--;
    p->calls[p->ncalls++] = VM_LOOP_TAG | (uint32_t)(n > VM_LOOP_MAX ? VM_LOOP_MAX : n);
    p->calls[p->ncalls++] = VM_LOOP_TAG; /* round 0 */
    other += 2;
    SETLIM();
    ip += 2;
    NEXT;
}
L_IF: sp--; ip = !vm_cond(*sp) ? (vm_cell *)(intptr_t)IMM : ip + 2; NEXT;
L_CLOSE: { /* of a TIMES (others run as NOP); a loop frame on top counts its round */
    uint32_t k = p->ncalls;
    if (k >= 2 && (p->calls[k - 1] & VM_LOOP_TAG)) {
        uint32_t i = (p->calls[k - 1] & VM_LOOP_MAX) + 1, n = p->calls[k - 2] & VM_LOOP_MAX;
        if (i < n) {
            p->calls[k - 1] = VM_LOOP_TAG | i;
            ip = (vm_cell *)(intptr_t)IMM;
            NEXT;
        }
        p->ncalls = k - 2;
        other -= 2;
        SETLIM();
    }
    ip += 2;
    NEXT;
}
L_WHILE: ip = !vm_cond(sp[-1]) ? (vm_cell *)(intptr_t)IMM : ip + 2; NEXT;
L_WCLOSE: ip = DEPTH > 0 && vm_cond(sp[-1]) ? (vm_cell *)(intptr_t)IMM : ip + 2; NEXT; /* of a WHILE */
L_INDEX: *sp++ = loop_round(p); ip += 2; NEXT;
L_JMP_BAD:  STOP(VM_BAD_JUMP);
L_JZ_BAD:   if (sp[-1] == 0) STOP(VM_BAD_JUMP); sp--; ip += 2; NEXT;
L_JNZ_BAD:  if (sp[-1] != 0) STOP(VM_BAD_JUMP); sp--; ip += 2; NEXT;
L_CALL_BAD: STOP(VM_BAD_JUMP);
L_INV:      STOP(VM_INVALID_OPCODE);
L_TRUNC:    STOP(VM_TRUNCATED);

/* stack */
L_PUSH: *sp++ = IMM; ip += 2; NEXT;
L_POP:  sp--; ip += 2; NEXT;
L_DUP:  sp[0] = sp[-1 - IMM]; sp++; ip += 2; NEXT;
L_SWAP: { vm_word t = sp[-1]; sp[-1] = sp[-2 - IMM]; sp[-2 - IMM] = t; ip += 2; NEXT; }
L_OVER: sp[0] = sp[-2]; sp++; ip += 2; NEXT;
L_ROT:  { vm_word t = sp[-3]; sp[-3] = sp[-2]; sp[-2] = sp[-1]; sp[-1] = t; ip += 2; NEXT; }
L_ARG:  if (U(IMM) >= p->nargs) STOP(VM_OUT_OF_BOUNDS); *sp++ = p->args[IMM]; ip += 2; NEXT;
L_NARGS: *sp++ = p->nargs; ip += 2; NEXT;
L_ITEM: {
    uint32_t i = loop_round(p);
    if (i >= p->nargs) STOP(VM_OUT_OF_BOUNDS);
    *sp++ = p->args[i];
    ip += 2;
    NEXT;
}
L_RAND:
    if (UNLIKELY(!p->rng.inc)) vm_place_stream(&p->rng, p->place);
    *sp++ = (vm_word)base_rng_next64(&p->rng); ip += 2; NEXT;

/* arithmetic */
L_ADD: BIN(vm_word_op(VM_OP_ADD, x, y));
L_SUB: BIN(vm_word_op(VM_OP_SUB, x, y));
L_MUL: BIN(vm_word_op(VM_OP_MUL, x, y));
L_DIV: BIN(vm_word_op(VM_OP_DIV, x, y));
L_MOD: BIN(vm_word_op(VM_OP_MOD, x, y));
L_NEG: UN(vm_word_op(VM_OP_NEG, x, 0));
L_ABS: UN(vm_word_op(VM_OP_ABS, x, 0));
L_MIN: BIN(vm_word_op(VM_OP_MIN, x, y));
L_MAX: BIN(vm_word_op(VM_OP_MAX, x, y));

/* comparison */
L_LT:     BIN(vm_word_op(VM_OP_LT, x, y));
L_GT:     BIN(vm_word_op(VM_OP_GT, x, y));
L_EQ:     BIN(vm_word_op(VM_OP_EQ, x, y));
L_ISZERO: UN(vm_word_op(VM_OP_ISZERO, x, 0));

/* bitwise */
L_AND: BIN(vm_word_op(VM_OP_AND, x, y));
L_OR:  BIN(vm_word_op(VM_OP_OR, x, y));
L_XOR: BIN(vm_word_op(VM_OP_XOR, x, y));
L_NOT: UN(vm_word_op(VM_OP_NOT, x, 0));
L_SHL: BIN(vm_word_op(VM_OP_SHL, x, y));
L_SHR: BIN(vm_word_op(VM_OP_SHR, x, y));
L_SAR: BIN(vm_word_op(VM_OP_SAR, x, y));

/* fixed point */
L_FMUL:  BIN(vm_word_op(VM_OP_FMUL, x, y));
L_FDIV:  BIN(vm_word_op(VM_OP_FDIV, x, y));
L_FSQRT: UN(vm_word_op(VM_OP_FSQRT, x, 0));
L_FSIN:  UN(vm_word_op(VM_OP_FSIN, x, 0));
L_FCOS:  UN(vm_word_op(VM_OP_FCOS, x, 0));
L_FEXP:  UN(vm_word_op(VM_OP_FEXP, x, 0));
L_FLOG:  UN(vm_word_op(VM_OP_FLOG, x, 0));
L_ITOF:  UN(vm_word_op(VM_OP_ITOF, x, 0));
L_FTOI:  UN(vm_word_op(VM_OP_FTOI, x, 0));

/* memory */
L_LOAD: {
    vm_word addr = sp[-1];
    if (U(addr) >= p->msize) STOP(VM_OUT_OF_BOUNDS);
    sp[-1] = p->heap[addr];
    ip += 2;
    NEXT;
}
L_STORE: {
    vm_word addr = sp[-1];
    if (U(addr) >= p->msize) STOP(VM_OUT_OF_BOUNDS);
    p->heap[addr] = sp[-2];
    sp -= 2;
    ip += 2;
    NEXT;
}
L_ALLOC: {
    vm_word n = sp[-1];
    int64_t k = n > 0 ? (n > (int64_t)VM_MAX_MEM ? (int64_t)VM_MAX_MEM + 1 : n) : 0;
    int64_t words = DEPTH + other;
#if METER
    int64_t extra = (k + 1) / 2; /* zeroing (docs/isa.md, "Calibration") */
    NEED(STATIC_GAS(VM_OP_ALLOC) + extra, k, 0);
    if (extra > gas) STOP(VM_OUT_OF_GAS);
    if ((words + mtb) * extra > mt_left) STOP(VM_OUT_OF_MEMTIME);
#endif
    if (words + k > memcap || p->msize + (uint64_t)k > VM_MAX_MEM) STOP(VM_OUT_OF_MEMORY);
    if (p->msize + (uint64_t)k > p->heap_alloc &&
        vm_grow((void **)&p->heap, &p->heap_alloc, p->msize + (size_t)k, sizeof(vm_word)))
        STOP(VM_OUT_OF_MEMORY);
    if (k) memset(p->heap + p->msize, 0, (size_t)k * sizeof(vm_word));
    sp[-1] = p->msize;
    p->msize += (uint32_t)k;
    other += k;
    SETLIM();
#if METER
    gas -= extra;
    mt_left -= (words + mtb) * extra;
#endif
    ip += 2;
    NEXT;
}
L_FREE: {
    vm_word n = sp[-1];
    uint32_t k = n <= 0 ? 0 : (U(n) > p->msize ? p->msize : (uint32_t)n);
    sp--;
    p->msize -= k;
    other -= k;
    SETLIM();
    ip += 2;
    NEXT;
}
L_MSIZE: *sp++ = p->msize; ip += 2; NEXT;

/* meters */
L_GAS:
#if METER
    /* its own budget, not the chain's: a child in credit sees what it was promised */
    *sp++ = own0 - (gas0 - gas) + cold[SLOT].gas_rest - STATIC_GAS(VM_OP_GAS);
#else
    *sp++ = 0;
#endif
    ip += 2;
    NEXT;
L_MEMLEFT: *sp = (int64_t)p->lim.mem - (DEPTH + other); sp++; ip += 2; NEXT;

/* processes, keys, channels: checked and done in proc.c */
L_RECURSE: L_KCALL: {
    /* The supervisor runs the child (callee); the instruction is paid now. */
    int64_t dw = 0, extra = 0;
    p->depth = (uint32_t)DEPTH;
    status = vm_op_keys(a, p, p->code[cold[SLOT].pc], sp, 0, &dw, &extra);
    if (status != VM_RUNNING) STOP(status);
    status = VM_ST_RECURSE;
    p->ip = cold[SLOT].pc;
    goto out;
}
L_CREATE: L_FORK: L_TRANSFERKEY: L_ATTENUATE: L_DROPKEY: L_NUMKEYS: L_KEYINFO: L_NEWPAGE:
L_PREAD: L_PWRITE: L_PUSHTO: L_POPFROM: L_IN: L_OUT: L_SAVECHILD: L_LOADCHILD: {
    uint8_t op = p->code[cold[SLOT].pc];
    const vm_opinfo *oi = (&vm_optab[op]);
    int64_t dw = 0, extra = 0;
    p->depth = (uint32_t)DEPTH;
    p->ip = cold[SLOT].pc;
    /* first ask what it needs, then pay, then do it */
    /* room for its own words: what it holds, and what it pushes */
    int64_t push = (int64_t)oi->out - (int64_t)oi->in;
    status = vm_op_keys(a, p, op, sp, memcap - (DEPTH + other + push), &dw, &extra);
#if METER
    if (status == VM_RUNNING || status == VM_OUT_OF_MEMORY) {
        int64_t words = DEPTH + other;
        NEED(oi->gas + extra, dw + push > 0 ? dw + push : 0, 0);
        if (extra > gas) STOP(VM_OUT_OF_GAS);
        if ((words + mtb) * extra > mt_left) STOP(VM_OUT_OF_MEMTIME);
    }
#endif
    if (status != VM_RUNNING) STOP(status);
    status = vm_op_keys(a, p, op, sp, memcap - (DEPTH + other + push), NULL, NULL);
    if (status != VM_RUNNING) STOP(status); /* the host could not give memory */
#if METER
    gas -= extra;
    mt_left -= (DEPTH + other + mtb) * extra;
#endif
    sp += (int)oi->out - (int)oi->in;
    other += dw;
    SETLIM();
    ip += 2;
    NEXT;
}

/* EACH and its CLOSE: here, after the hot handlers, so as not to move them */
L_EACH: { /* a TIMES over the argument words that pushes word i as round i starts */
    uint32_t n = p->nargs;
    if (n == 0) {
        ip = (vm_cell *)(intptr_t)IMM;
        NEXT;
    }
    if (p->ncalls + 2 > p->lim.calls) STOP(VM_CALL_OVERFLOW);
    ROOM(VM_OP_EACH, 3); /* a 2-word frame and the word */
    p->calls[p->ncalls++] = VM_LOOP_TAG | (n > VM_LOOP_MAX ? VM_LOOP_MAX : n);
    p->calls[p->ncalls++] = VM_LOOP_TAG; /* round 0 */
    other += 2;
    SETLIM();
    *sp++ = p->args[0];
    ip += 2;
    NEXT;
}
L_ECLOSE: { /* of an EACH: push the next round's word if one is left, then CLOSE */
    uint32_t k = p->ncalls;
    if (k >= 2 && (p->calls[k - 1] & VM_LOOP_TAG)) {
        uint32_t i = (p->calls[k - 1] & VM_LOOP_MAX) + 1, n = p->calls[k - 2] & VM_LOOP_MAX;
        if (i < n) {
            if (i >= p->nargs) STOP(VM_OUT_OF_BOUNDS); /* a TIMES frame (a jump in) */
            ROOM(VM_OP_CLOSE, 1);
            *sp++ = p->args[i];
        }
    }
    goto L_CLOSE;
}
// clang-format on
stop_refund : {
    /* The instruction at ip stops without effect: give back what its block
     * charged in advance for it and for the instructions after it. */
    const vm_cold *c = &cold[SLOT];
#if METER
    gas += c->gas_rest;
    mt_left += (DEPTH + other + mtb) * (int64_t)c->gas_rest + c->mtc_rest;
#endif
    p->ip = c->pc;
}
out:
    p->depth = (uint32_t)DEPTH;
    p->status = status;
#if METER
    p->gas_used += (uint64_t)(gas0 - gas);
    p->memtime += (uint64_t)((mt0 - mt_left) - mtb * (gas0 - gas));
    b->gas = gas;
    b->mt = mt_left;
#endif
    return status;
}
