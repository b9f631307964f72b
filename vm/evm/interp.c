/* The EVM interpreter: VM lifecycle, frames, code analysis and the
 * instruction loop (vm/evm/interp_loop.inc, compiled three times: plain,
 * traced and metered). Dispatch is computed goto under GCC/clang, a switch otherwise. */
#include "vm/evm/evm_impl.h"
#include "vm/evm/keccak.h"

#include <stdint.h>
#include <stdlib.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static void opcost_build(evm_vm *vm) {
    for (int op = 0; op < 256; op++) {
        const evm_opinfo *oi = evm_opinfo_of((uint8_t)op);
        int g = evm_static_gas(vm->fork, (uint8_t)op);
        evm_opcost *c = &vm->tbl[op];
        if (g < 0) {
            /* undefined here: the stack check always fails, then the slow
             * path reports INVALID_INSTRUCTION */
            c->gas = 0;
            c->min = 0x7fff;
            c->range = 0;
            continue;
        }
        int growth = oi->out > oi->in ? oi->out - oi->in : 0;
        c->gas = g;
        c->min = oi->in;
        c->range = (int16_t)(EVM_STACK_LIMIT - growth - oi->in);
    }
}

evm_vm *evm_vm_new(void) {
    evm_vm *vm = calloc(1, sizeof *vm);
    if (!vm) return NULL;
    vm->mem_limit = (size_t)256 << 20;
    evm_vm_set_fork(vm, EVM_FORK_DEFAULT);
    return vm;
}

static void frame_free(evm_frame *f) {
    if (!f) return;
    free(f->in);
    free(f->stack);
    free(f->mem);
    free(f->ret);
    free(f->code);
    free(f->jd);
    free(f->blk);
    free(f);
}

void evm_vm_free(evm_vm *vm) {
    if (!vm) return;
    for (int i = 0; i <= EVM_MAX_DEPTH; i++)
        frame_free(vm->frames[i]);
    free(vm->trace_stack);
    free(vm);
}

void evm_vm_set_fork(evm_vm *vm, evm_fork f) {
    if ((unsigned)f >= EVM_NFORKS) f = EVM_FORK_DEFAULT;
    vm->fork = f;
    vm->ft = evm_fork_table_of(f);
    opcost_build(vm);
}

evm_fork evm_vm_fork(const evm_vm *vm) {
    return vm->fork;
}

void evm_vm_set_policy(evm_vm *vm, evm_policy_fn fn, void *ctx) {
    vm->policy = fn;
    vm->policy_ctx = ctx;
}

void evm_vm_set_mem_limit(evm_vm *vm, size_t bytes) {
    vm->mem_limit = bytes;
}

void evm_vm_set_tracer(evm_vm *vm, evm_trace_fn fn, void *ctx) {
    vm->tracer = fn;
    vm->trace_ctx = ctx;
}

uint64_t evm_vm_words_in_use(const evm_vm *vm) {
    uint64_t w = 0;
    for (int i = 0; i <= vm->top; i++) {
        const evm_frame *f = vm->frames[i];
        if (f && f->active) w += f->height + f->mem_size / 32;
    }
    return w;
}

uint64_t evm_vm_words_peak(const evm_vm *vm) {
    return vm->peak;
}

static void note_peak(evm_vm *vm) {
    uint64_t w = evm_vm_words_in_use(vm);
    if (w > vm->peak) vm->peak = w;
}

static evm_frame *frame_get(evm_vm *vm, int depth) {
    evm_frame *f = vm->frames[depth];
    if (f) return f;
    f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->stack = aligned_alloc(64, EVM_STACK_LIMIT * sizeof(u256));
    if (!f->stack) {
        free(f);
        return NULL;
    }
    vm->frames[depth] = f;
    return f;
}

static inline int grow(uint8_t **buf, size_t *cap, size_t need) {
    return base_grow((void **)buf, cap, need, 1, SIZE_MAX);
}

static bool ends_block(uint8_t op) {
    switch (op) {
    case EVM_OP_STOP:
    case EVM_OP_JUMP:
    case EVM_OP_JUMPI:
    case EVM_OP_RETURN:
    case EVM_OP_REVERT:
    case EVM_OP_INVALID:
    case EVM_OP_SELFDESTRUCT:
    case EVM_OP_GAS:
    case EVM_OP_SSTORE:
    case EVM_OP_CALL:
    case EVM_OP_CALLCODE:
    case EVM_OP_DELEGATECALL:
    case EVM_OP_STATICCALL:
    case EVM_OP_CREATE:
    case EVM_OP_CREATE2:
    /* a denied LOG halts the frame like REVERT, returning exact gas */
    case EVM_OP_LOG0:
    case EVM_OP_LOG1:
    case EVM_OP_LOG2:
    case EVM_OP_LOG3:
    case EVM_OP_LOG4: return true;
    default: return false;
    }
}

/* Copy the code with zero padding, mark the JUMPDESTs that are not PUSH
 * data, and compute the basic blocks. */
static int analyse(evm_vm *vm, evm_frame *f, const uint8_t *code, size_t n) {
    if (grow(&f->code, &f->code_cap, n + EVM_CODE_PAD) < 0) return -1;
    if (grow(&f->jd, &f->jd_cap, n / 8 + 1) < 0) return -1;
    if (!vm->tracer) {
        size_t need = (n + 1) * sizeof(evm_blk);
        uint8_t *b = (uint8_t *)f->blk;
        if (grow(&b, &f->blk_cap, need) < 0) return -1;
        f->blk = (evm_blk *)b;
    }
    if (n) memcpy(f->code, code, n);
    f->code_size = n;
    memset(f->code + n, 0, EVM_CODE_PAD);
    memset(f->jd, 0, n / 8 + 1);
    for (size_t i = 0; i < n; i++) {
        uint8_t op = code[i];
        if (op == EVM_OP_JUMPDEST)
            f->jd[i / 8] |= (uint8_t)(1u << (i % 8));
        else if (op >= EVM_OP_PUSH1 && op <= EVM_OP_PUSH32)
            i += op - EVM_OP_PUSH1 + 1;
    }
    if (vm->tracer) return 0;
    size_t start = 0;
    int64_t gas = 0;
    int need = 0, h = 0, grow_max = 0;
    bool bad = false;
    for (size_t i = 0; i < n;) {
        uint8_t op = code[i];
        size_t next = i + 1;
        if (op >= EVM_OP_PUSH1 && op <= EVM_OP_PUSH32) next += op - EVM_OP_PUSH1 + 1;
        const evm_opcost *c = &vm->tbl[op];
        bool end = ends_block(op);
        if (c->min == 0x7fff) {
            bad = end = true;
        } else {
            const evm_opinfo *oi = evm_opinfo_of(op);
            gas += c->gas;
            if (oi->in - h > need) need = oi->in - h;
            h += oi->out - oi->in;
            if (h > grow_max) grow_max = h;
        }
        if (next < n && code[next] == EVM_OP_JUMPDEST) end = true;
        if (end || next >= n) {
            evm_blk *b = &f->blk[start];
            int limit = EVM_STACK_LIMIT - grow_max;
            b->gas = gas > INT32_MAX ? INT32_MAX : (int32_t)gas;
            if (bad || need > EVM_STACK_LIMIT || limit < need) {
                b->need = EVM_BLK_FAIL;
                b->range = 0;
            } else {
                b->need = (int16_t)need;
                b->range = (int16_t)(limit - need);
            }
            start = next;
            gas = 0;
            need = h = grow_max = 0;
            bad = false;
        }
        i = next;
    }
    /* the STOP after the code, reached by falling through a block end */
    f->blk[n] = (evm_blk){0, 0, EVM_STACK_LIMIT};
    return 0;
}

/* Grow the frame's memory to cover [0, end). Returns 0, or a status. */
static evm_status mem_grow(evm_vm *vm, evm_frame *f, int64_t *gas, uint64_t end) {
    uint64_t words = (end + 31) / 32, old = f->mem_size / 32;
    int64_t cost = evm_mem_cost(words) - evm_mem_cost(old);
    if ((*gas -= cost) < 0) return EVM_OUT_OF_GAS;
    if (words * 32 > vm->mem_limit) return EVM_OUT_OF_MEMORY;
    if (vm->meter) { /* a metered run: the process's memory cap (resumable) */
        int64_t more = (int64_t)(words * 32 - f->mem_size) / 8;
        if (vm->meter->other + 4 * (int64_t)evm_vm_words_in_use(vm) + more > vm->meter->memcap) {
            vm->meter->need_grow = more;
            return EVM_ST_NOMEM;
        }
    }
    if (grow(&f->mem, &f->mem_cap, words * 32) < 0) return EVM_OUT_OF_MEMORY;
    memset(f->mem + f->mem_size, 0, words * 32 - f->mem_size);
    f->mem_size = words * 32;
    return EVM_SUCCESS;
}

/* Largest memory end we consider; its cost (> 2^53 gas) exceeds any gas. */
#define MEM_END_MAX ((uint64_t)1 << 36)

/* Validate a memory region given as two words and grow memory over it.
 * On success *o and *l hold it (both 0 when the length is 0). */
static inline evm_status mem_region(evm_vm *vm, evm_frame *f, int64_t *gas, const u256 *off,
                                    const u256 *len, uint64_t *o, uint64_t *l) {
    if (u256_is_zero(len)) {
        *o = *l = 0;
        return EVM_SUCCESS;
    }
    if (!u256_fits64(off) || !u256_fits64(len) || off->w[0] > MEM_END_MAX ||
        len->w[0] > MEM_END_MAX)
        return EVM_OUT_OF_GAS;
    uint64_t end = off->w[0] + len->w[0];
    if (end > MEM_END_MAX) return EVM_OUT_OF_GAS;
    *o = off->w[0];
    *l = len->w[0];
    if (end > f->mem_size) return mem_grow(vm, f, gas, end);
    return EVM_SUCCESS;
}

/* Copy src[from .. from+len) (zero beyond n) to dst. */
static void copy_padded(uint8_t *dst, const uint8_t *src, size_t n, const u256 *from, size_t len) {
    size_t start = u256_fits64(from) && from->w[0] < n ? (size_t)from->w[0] : n;
    size_t avail = n - start < len ? n - start : len;
    if (avail) memcpy(dst, src + start, avail);
    if (len > avail) memset(dst + avail, 0, len - avail);
}

/* The error a block starting at pc hits with the given stack height, walking
 * it one instruction at a time. */
static evm_status block_error(const evm_vm *vm, const uint8_t *code, size_t pc, int height) {
    for (;;) {
        uint8_t op = code[pc];
        const evm_opcost *c = &vm->tbl[op];
        if (c->min == 0x7fff) return EVM_INVALID_INSTRUCTION;
        const evm_opinfo *oi = evm_opinfo_of(op);
        if (height < oi->in) return EVM_STACK_UNDERFLOW;
        height += oi->out - oi->in;
        if (height > EVM_STACK_LIMIT) return EVM_STACK_OVERFLOW;
        if (ends_block(op)) return EVM_INTERNAL_ERROR; /* not reached */
        pc += 1 + (op >= EVM_OP_PUSH1 && op <= EVM_OP_PUSH32 ? op - EVM_OP_PUSH1 + 1 : 0);
    }
}

static inline int64_t words_of(uint64_t bytes) {
    return (int64_t)((bytes + 31) / 32);
}

/* The tracer's view of the next instruction (out of line: the loop keeps no
 * per-dispatch locals for it). */
__attribute__((noinline)) static void trace_step(evm_vm *vm, const evm_frame *f,
                                                 const evm_message *msg, uint32_t pc, uint8_t op,
                                                 int64_t gas, int64_t refund, const u256 *bot,
                                                 size_t h) {
    evm_step s;
    for (size_t i = 0; i < h; i++)
        vm->trace_stack[i] = evm_u256_to_b32(&bot[i]);
    s.pc = pc;
    s.op = op;
    s.gas = gas;
    s.cost = vm->tbl[op].min == 0x7fff ? 0 : vm->tbl[op].gas;
    s.refund = refund;
    s.depth = msg->depth;
    s.stack = vm->trace_stack;
    s.stack_size = h;
    s.mem_size = f->mem_size;
    vm->tracer(vm->trace_ctx, &s);
}

static evm_verdict ask_policy(evm_vm *vm, evm_action *act) {
    if (!vm->policy) return EVM_ALLOW;
    return vm->policy(vm->policy_ctx, act);
}

/* ---- the dangerous opcodes (out of line) ---- */

#define LOG_TOPIC_GAS   375
#define LOG_BYTE_GAS    8
#define COPY_WORD_GAS   3
#define KECCAK_WORD_GAS 6

#define CHARGE(g, c)                                                                               \
    do {                                                                                           \
        if ((*(g) -= (c)) < 0) return EVM_OUT_OF_GAS;                                              \
    } while (0)

static evm_action action_of(const evm_message *msg, uint8_t op) {
    evm_action a;
    memset(&a, 0, sizeof a);
    a.op = op;
    a.depth = msg->depth;
    a.self = msg->recipient;
    a.code_addr = msg->code_address;
    a.target = msg->recipient;
    return a;
}

static int set_returndata(evm_frame *f, const uint8_t *p, size_t n) {
    f->ret_size = 0;
    if (!n) return 0;
    if (grow(&f->ret, &f->ret_cap, n) < 0) return -1;
    memcpy(f->ret, p, n);
    f->ret_size = n;
    return 0;
}

/* SSTORE: key at sp[-1], value at sp[-2]. */
/* d: gas the frame has beyond *gas (a metered run's fence; 0 otherwise). */
static evm_status op_sstore(evm_vm *vm, const evm_host *host, void *hctx, const evm_message *msg,
                            const u256 *sp, int64_t *gas, int64_t d, int64_t *refund) {
    const evm_fork_table *ft = vm->ft;
    if (msg->is_static) return EVM_STATIC_VIOLATION;
    if (ft->sstore_net && *gas + d <= ft->sstore_stipend) return EVM_OUT_OF_GAS;
    evm_action act = action_of(msg, EVM_OP_SSTORE);
    act.key = evm_u256_to_b32(&sp[-1]);
    act.value = evm_u256_to_b32(&sp[-2]);
    if (ask_policy(vm, &act) == EVM_DENY) return EVM_DENIED;
    int64_t cost = 0;
    if (ft->access_lists && host->access_storage(hctx, &msg->recipient, &act.key))
        cost += ft->cold_sload;
    evm_bytes32 ob, cb;
    host->set_storage(hctx, &msg->recipient, &act.key, &act.value, &ob, &cb);
    bool orig0 = evm_b32_is_zero(&ob), cur0 = evm_b32_is_zero(&cb),
         new0 = evm_b32_is_zero(&act.value);
    if (!ft->sstore_net) {
        cost += cur0 && !new0 ? ft->sstore_set : ft->sstore_reset;
        if (!cur0 && new0) *refund += ft->sstore_clear_refund;
    } else if (!memcmp(cb.b, act.value.b, 32)) {
        cost += ft->sstore_noop;
    } else if (!memcmp(ob.b, cb.b, 32)) {
        if (orig0) {
            cost += ft->sstore_set;
        } else {
            cost += ft->sstore_reset;
            if (new0) *refund += ft->sstore_clear_refund;
        }
    } else {
        cost += ft->sstore_noop;
        if (!orig0) {
            if (cur0) *refund -= ft->sstore_clear_refund;
            if (new0) *refund += ft->sstore_clear_refund;
        }
        if (!memcmp(ob.b, act.value.b, 32))
            *refund += (orig0 ? ft->sstore_set : ft->sstore_reset) - ft->sstore_noop;
    }
    CHARGE(gas, cost);
    return EVM_SUCCESS;
}

static bool balance_below(const evm_host *host, void *hctx, const evm_address *a, const u256 *v) {
    evm_bytes32 b;
    host->get_balance(hctx, a, &b);
    u256 bal = evm_b32_to_u256(&b);
    return u256_lt(&bal, v);
}

/* Set up frame depth to run code for msg (calldata copied). 0 or -1. */
static int frame_setup(evm_vm *vm, int depth, const evm_message *msg, const uint8_t *code,
                       size_t n) {
    evm_frame *f = frame_get(vm, depth);
    if (!f || f->active || n > ((size_t)1 << 31) || analyse(vm, f, code, n) < 0) return -1;
    if (grow(&f->in, &f->in_cap, msg->input_size ? msg->input_size : 1) < 0) return -1;
    if (msg->input_size) memcpy(f->in, msg->input, msg->input_size);
    f->msg = *msg;
    f->msg.input = f->in;
    f->pc = f->height = 0;
    f->gas = msg->gas;
    f->refund = 0;
    f->mem_size = f->ret_size = 0;
    f->status = EVM_SUCCESS;
    f->out_off = f->out_size = 0;
    f->active = true;
    return 0;
}

/* Start nested message m from frame f: either a frame is pushed at
 * f's depth + 1 (vm->entered), or the message finished at once and its
 * result is in vm->done. */
static void call_start(evm_vm *vm, const evm_host *host, void *hctx, evm_message *m) {
    const uint8_t *code = NULL;
    size_t n = 0;
    uint64_t snap = 0;
    vm->entered = false;
    if (!host->call_begin(hctx, m, &code, &n, &snap, &vm->done)) return;
    if (frame_setup(vm, m->depth, m, code, n) < 0) {
        memset(&vm->done, 0, sizeof vm->done);
        vm->done.status = EVM_INTERNAL_ERROR;
        host->call_end(hctx, m, snap, &vm->done);
        vm->done.gas_left = 0;
        return;
    }
    vm->frames[m->depth]->snap = snap;
    vm->entered = true;
}

/* A message m from msg's frame that cannot be sent (call depth, the
 * sender's balance) fails at once and gives back all the gas it was given:
 * for a call with value that includes the 2300 stipend, which the caller
 * gains (as geth and ethereumjs do). Its result, in vm->done, goes through
 * call_return like any other. Returns true when m is refused. */
static bool call_refused(evm_vm *vm, const evm_host *host, void *hctx, const evm_message *msg,
                         const evm_message *m, const u256 *value) {
    evm_status why = EVM_SUCCESS;
    if (msg->depth >= EVM_MAX_DEPTH)
        why = EVM_CALL_DEPTH;
    else if (!u256_is_zero(value) && balance_below(host, hctx, &msg->recipient, value))
        why = EVM_INSUFFICIENT_BALANCE;
    if (why == EVM_SUCCESS) return false;
    vm->entered = false;
    memset(&vm->done, 0, sizeof vm->done);
    vm->done.status = why;
    vm->done.gas_left = m->gas;
    return true;
}

/* CALL CALLCODE DELEGATECALL STATICCALL: arguments below sp. Returns
 * EVM_SUCCESS with *out when no message is sent (denied), EVM_ST_ENTER when
 * one was started (call_start) or refused (call_refused) with *moved the
 * gas taken from the frame for it, or a halting status. */
static evm_status op_call(evm_vm *vm, evm_frame *f, const evm_host *host, void *hctx, uint8_t op,
                          const u256 *sp, int64_t *gas, int64_t d, int64_t *moved, u256 *out) {
    const evm_fork_table *ft = vm->ft;
    const evm_message *msg = &f->msg;
    bool has_value = op == EVM_OP_CALL || op == EVM_OP_CALLCODE;
    const u256 *a = sp - 1;
    u256 gasreq = a[0], value = has_value ? a[-2] : u256_from64(0);
    int i = has_value ? 3 : 2;
    const u256 in_off = a[-i], in_len = a[-i - 1], out_off = a[-i - 2], out_len = a[-i - 3];
    bool nonzero_value = !u256_is_zero(&value);
    evm_status st;
    if (op == EVM_OP_CALL && msg->is_static && nonzero_value) return EVM_STATIC_VIOLATION;
    uint64_t io, il, oo, ol;
    if ((st = mem_region(vm, f, gas, &in_off, &in_len, &io, &il))) return st;
    if ((st = mem_region(vm, f, gas, &out_off, &out_len, &oo, &ol))) return st;
    evm_address dst = evm_u256_to_addr(&a[-1]);
    if (ft->access_lists && host->access_account(hctx, &dst))
        CHARGE(gas, ft->cold_account - ft->call);
    *out = u256_from64(0);
    evm_action act = action_of(msg, op);
    act.target = dst;
    act.value = evm_u256_to_b32(&value);
    evm_verdict v = ask_policy(vm, &act);
    if (v == EVM_DENY) {
        f->ret_size = 0;
        return EVM_SUCCESS;
    }
    if (v == EVM_REDIRECT) dst = act.target;
    int64_t extra = 0;
    if (nonzero_value) extra += ft->call_value;
    if (op == EVM_OP_CALL) {
        bool charge_new = ft->empty_is_dead ? nonzero_value && !host->account_exists(hctx, &dst)
                                            : !host->account_exists(hctx, &dst);
        if (charge_new) extra += ft->new_account;
    }
    CHARGE(gas, extra);
    int64_t avail = *gas + d, callgas;
    if (ft->all_but_one_64th) {
        int64_t lim = avail - avail / 64;
        callgas = u256_fits64(&gasreq) && gasreq.w[0] < (uint64_t)lim ? (int64_t)gasreq.w[0] : lim;
    } else {
        if (!u256_fits64(&gasreq) || gasreq.w[0] > (uint64_t)avail) return EVM_OUT_OF_GAS;
        callgas = (int64_t)gasreq.w[0];
    }
    f->ret_size = 0;
    /* The callee's stipend is credited to the caller and moved with the call
     * gas: the frames' gas is as if it were given on top, and a metered run
     * consumes what the transaction uses (a value costs 9000 - 2300 net:
     * an unspent stipend comes back with the callee's gas left). */
    int64_t stipend = nonzero_value ? ft->call_stipend : 0;
    *gas += stipend;
    *moved = callgas + stipend;
    evm_message m;
    memset(&m, 0, sizeof m);
    m.depth = msg->depth + 1;
    m.gas = callgas + stipend;
    m.code_address = dst;
    m.input = il ? f->mem + io : NULL;
    m.input_size = il;
    m.is_static = msg->is_static;
    switch (op) {
    case EVM_OP_CALL:
        m.kind = EVM_CALL_CALL;
        m.recipient = dst;
        m.sender = msg->recipient;
        m.value = act.value;
        break;
    case EVM_OP_CALLCODE:
        m.kind = EVM_CALL_CALLCODE;
        m.recipient = msg->recipient;
        m.sender = msg->recipient;
        m.value = act.value;
        break;
    case EVM_OP_DELEGATECALL:
        m.kind = EVM_CALL_DELEGATECALL;
        m.recipient = msg->recipient;
        m.sender = msg->sender;
        m.value = msg->value;
        break;
    default:
        m.kind = EVM_CALL_STATICCALL;
        m.recipient = dst;
        m.sender = msg->recipient;
        m.is_static = true;
        break;
    }
    if (call_refused(vm, host, hctx, msg, &m, &value)) return EVM_ST_ENTER;
    call_start(vm, host, hctx, &m);
    return EVM_ST_ENTER;
}

/* CREATE CREATE2: value off len [salt] below sp; results as op_call. */
static evm_status op_create(evm_vm *vm, evm_frame *f, const evm_host *host, void *hctx, uint8_t op,
                            const u256 *sp, int64_t *gas, int64_t d, int64_t *moved, u256 *out) {
    const evm_fork_table *ft = vm->ft;
    const evm_message *msg = &f->msg;
    if (msg->is_static) return EVM_STATIC_VIOLATION;
    u256 value = sp[-1];
    uint64_t o, l;
    evm_status st = mem_region(vm, f, gas, &sp[-2], &sp[-3], &o, &l);
    if (st) return st;
    if (ft->initcode_limit) {
        if (l > EVM_MAX_INITCODE) return EVM_OUT_OF_GAS;
        CHARGE(gas, ft->initcode_word * words_of(l));
    }
    if (op == EVM_OP_CREATE2) CHARGE(gas, ft->create2_word * words_of(l));
    *out = u256_from64(0);
    evm_action act = action_of(msg, op);
    memset(act.target.b, 0, sizeof act.target.b);
    act.value = evm_u256_to_b32(&value);
    if (op == EVM_OP_CREATE2) act.key = evm_u256_to_b32(&sp[-4]);
    f->ret_size = 0;
    if (ask_policy(vm, &act) == EVM_DENY) return EVM_SUCCESS;
    int64_t avail = *gas + d;
    int64_t callgas = ft->all_but_one_64th ? avail - avail / 64 : avail;
    *moved = callgas;
    evm_message m;
    memset(&m, 0, sizeof m);
    m.kind = op == EVM_OP_CREATE2 ? EVM_CALL_CREATE2 : EVM_CALL_CREATE;
    m.depth = msg->depth + 1;
    m.gas = callgas;
    m.sender = msg->recipient;
    m.input = l ? f->mem + o : NULL;
    m.input_size = l;
    m.value = act.value;
    m.salt = act.key;
    if (call_refused(vm, host, hctx, msg, &m, &value)) return EVM_ST_ENTER;
    call_start(vm, host, hctx, &m);
    return EVM_ST_ENTER;
}

/* The code deposit of a CREATE frame's RETURN of len bytes at out. */
static evm_status op_deposit(evm_vm *vm, const uint8_t *out, uint64_t *len, int64_t *gas,
                             int64_t d) {
    const evm_fork_table *ft = vm->ft;
    uint64_t n = *len;
    if ((ft->max_code_size && n > ft->max_code_size) || (ft->reject_ef && n && out[0] == 0xef))
        return EVM_OUT_OF_GAS;
    int64_t cost = ft->create_data_byte * (int64_t)n;
    if (cost > *gas + d) {
        if (ft->create_deposit_fails) return EVM_OUT_OF_GAS;
        *len = 0; /* Frontier: the account is left without code */
        return EVM_SUCCESS;
    }
    CHARGE(gas, cost);
    return EVM_SUCCESS;
}

static evm_status op_selfdestruct(evm_vm *vm, const evm_host *host, void *hctx,
                                  const evm_message *msg, const u256 *sp, int64_t *gas,
                                  int64_t *refund) {
    const evm_fork_table *ft = vm->ft;
    if (msg->is_static) return EVM_STATIC_VIOLATION;
    evm_address to = evm_u256_to_addr(&sp[-1]);
    if (ft->access_lists && host->access_account(hctx, &to)) CHARGE(gas, ft->cold_account);
    if (ft->selfdestruct_new_account) {
        bool charge;
        if (ft->empty_is_dead) {
            evm_bytes32 b;
            host->get_balance(hctx, &msg->recipient, &b);
            charge = !evm_b32_is_zero(&b) && !host->account_exists(hctx, &to);
        } else {
            charge = !host->account_exists(hctx, &to);
        }
        if (charge) CHARGE(gas, ft->new_account);
    }
    evm_action act = action_of(msg, EVM_OP_SELFDESTRUCT);
    act.target = to;
    evm_verdict v = ask_policy(vm, &act);
    if (v == EVM_DENY) return EVM_DENIED;
    if (v == EVM_REDIRECT) to = act.target;
    if (host->selfdestruct(hctx, &msg->recipient, &to)) *refund += ft->selfdestruct_refund;
    return EVM_SUCCESS;
}

/* LOGn: off len t0..t(n-1) below sp. */
static evm_status op_log(evm_vm *vm, evm_frame *f, const evm_host *host, void *hctx,
                         const evm_message *msg, unsigned n, const u256 *sp, int64_t *gas) {
    if (msg->is_static) return EVM_STATIC_VIOLATION;
    uint64_t o, l;
    evm_status st = mem_region(vm, f, gas, &sp[-1], &sp[-2], &o, &l);
    if (st) return st;
    CHARGE(gas, LOG_TOPIC_GAS * (int64_t)n + LOG_BYTE_GAS * (int64_t)l);
    evm_action act = action_of(msg, (uint8_t)(EVM_OP_LOG0 + n));
    if (ask_policy(vm, &act) == EVM_DENY) return EVM_DENIED;
    evm_bytes32 topics[4];
    for (unsigned i = 0; i < n; i++)
        topics[i] = evm_u256_to_b32(&sp[-3 - (int)i]);
    host->emit_log(hctx, &msg->recipient, l ? f->mem + o : NULL, l, topics, n);
    return EVM_SUCCESS;
}

/* ---- the loop, three times ---- */

#define EVM_TRACE 0
#define EVM_METER 0
#define EVM_RUN   run_plain
#include "vm/evm/interp_loop.inc"
#undef EVM_TRACE
#undef EVM_RUN
#define EVM_TRACE 1
#define EVM_RUN   run_traced
#include "vm/evm/interp_loop.inc"
#undef EVM_TRACE
#undef EVM_METER
#undef EVM_RUN
#define EVM_TRACE 0
#define EVM_METER 1
#define EVM_RUN   run_metered
#include "vm/evm/interp_loop.inc"
#undef EVM_TRACE
#undef EVM_METER
#undef EVM_RUN

/* The result of a halted frame. */
static void frame_result(const evm_frame *f, evm_result *r) {
    memset(r, 0, sizeof *r);
    r->status = f->status;
    if (evm_status_is_exceptional(f->status)) return;
    r->gas_left = f->gas < 0 ? 0 : f->gas;
    if (f->status == EVM_DENIED) return;
    r->gas_refund = f->status == EVM_SUCCESS ? f->refund : 0;
    r->output = f->out_size ? f->mem + f->out_off : NULL;
    r->output_size = f->out_size;
}

/* Frame p's CALL or CREATE at p->pc finished with r: give back gas, keep the
 * return data, pop the arguments and push the result. 0, or -1 (no memory). */
static int call_return(evm_frame *p, const evm_result *r) {
    uint8_t op = p->code[p->pc];
    u256 *a = p->stack + p->height - 1, res = u256_from64(0);
    int nin = evm_opinfo_of(op)->in;
    p->gas += r->gas_left;
    if (r->status == EVM_SUCCESS) p->refund += r->gas_refund;
    if (op == EVM_OP_CREATE || op == EVM_OP_CREATE2) {
        if (r->status == EVM_SUCCESS)
            res = evm_addr_to_u256(&r->create_address);
        else if (r->status == EVM_REVERT && set_returndata(p, r->output, r->output_size) < 0)
            return -1;
    } else {
        if (set_returndata(p, r->output, r->output_size) < 0) return -1;
        int i = op == EVM_OP_CALL || op == EVM_OP_CALLCODE ? 5 : 4;
        /* validated and covered by memory when the call began */
        uint64_t oo = a[-i].w[0], ol = u256_is_zero(&a[-i - 1]) ? 0 : a[-i - 1].w[0];
        size_t n = ol < p->ret_size ? ol : p->ret_size;
        if (n) memcpy(p->mem + oo, p->ret, n);
        res = u256_from64(r->status == EVM_SUCCESS);
    }
    p->height -= (uint32_t)(nin - 1);
    p->stack[p->height - 1] = res;
    p->pc++;
    return 0;
}

/* Run the live frames until frame `base` halts (EVM_SUCCESS) or a metered
 * run stops (EVM_ST_FENCE, EVM_ST_NOMEM). */
static evm_status drive(evm_vm *vm, const evm_host *host, void *hctx, int base) {
    for (;;) {
        evm_frame *f = vm->frames[vm->top];
        evm_status st = vm->meter    ? run_metered(vm, f, host, hctx)
                        : vm->tracer ? run_traced(vm, f, host, hctx)
                                     : run_plain(vm, f, host, hctx);
        note_peak(vm);
        if (st == EVM_ST_FENCE || st == EVM_ST_NOMEM) return st;
        if (st == EVM_ST_ENTER) {
            if (vm->entered) {
                vm->top++;
                continue;
            }
            if (call_return(f, &vm->done) == 0) continue;
            f->status = EVM_INTERNAL_ERROR;
        }
        /* f halted: finish its message in its parent, down to the base */
        for (;;) {
            if (vm->top == base) return EVM_SUCCESS;
            evm_result r;
            frame_result(f, &r);
            host->call_end(hctx, &f->msg, f->snap, &r);
            f->active = false;
            f = vm->frames[--vm->top];
            if (call_return(f, &r) == 0) break; /* the parent resumes */
            f->status = EVM_INTERNAL_ERROR;     /* and halts too */
        }
    }
}

evm_status evm_execute(evm_vm *vm, const evm_host *host, void *host_ctx, const evm_message *msg,
                       const uint8_t *code, size_t code_size, evm_result *res) {
    memset(res, 0, sizeof *res);
    res->status = EVM_INTERNAL_ERROR;
    if (!vm || !host || !msg || msg->depth < 0 || msg->depth > EVM_MAX_DEPTH) return res->status;
    if (msg->depth == 0) vm->peak = 0;
    if (vm->tracer && !vm->trace_stack) {
        vm->trace_stack = malloc(EVM_STACK_LIMIT * sizeof(evm_bytes32));
        if (!vm->trace_stack) return res->status;
    }
    if (frame_setup(vm, msg->depth, msg, code, code_size) < 0) return res->status;
    int top = vm->top;
    evm_meter *meter = vm->meter;
    vm->top = msg->depth;
    vm->meter = NULL;
    drive(vm, host, host_ctx, msg->depth);
    evm_frame *f = vm->frames[msg->depth];
    frame_result(f, res);
    f->active = false;
    f->height = 0;
    vm->top = top;
    vm->meter = meter;
    return res->status;
}

evm_status evm_run_start(evm_vm *vm, const evm_message *msg, const uint8_t *code, size_t n) {
    for (int i = 0; i <= EVM_MAX_DEPTH; i++)
        if (vm->frames[i]) vm->frames[i]->active = false;
    vm->top = 0;
    vm->peak = 0;
    evm_message m = *msg;
    m.depth = 0;
    return frame_setup(vm, 0, &m, code, n) < 0 ? EVM_INTERNAL_ERROR : EVM_SUCCESS;
}

evm_status evm_run_resume(evm_vm *vm, const evm_host *host, void *hctx, evm_meter *m,
                          evm_result *res) {
    memset(res, 0, sizeof *res);
    res->status = EVM_INTERNAL_ERROR;
    if (!vm->frames[0] || !vm->frames[0]->active) return EVM_INTERNAL_ERROR;
    vm->meter = m;
    evm_status st = drive(vm, host, hctx, 0);
    vm->meter = NULL;
    if (st != EVM_SUCCESS) return st;
    frame_result(vm->frames[0], res);
    return EVM_SUCCESS;
}

/* ---- snapshots (docs/snapshot.md, "EVM VM and frames") ---- */

/* Policies without a context, by number in a snapshot (0: none). */
static const evm_policy_fn snap_policies[] = {NULL, evm_policy_allow, evm_policy_isolated};
#define SNAP_NPOLICIES (sizeof snap_policies / sizeof snap_policies[0])
/* Frame gas, message gas and refunds are at most this, and so are the gas
 * of all live frames together: no sum the loop makes can overflow. */
#define SNAP_GAS_MAX ((int64_t)1 << 60)

static void put_bytes(base_wr *w, const uint8_t *p, uint64_t n) {
    U64(n);
    base_put(w, p, (size_t)n);
}

/* A length-prefixed byte string into *buf (grown), *n set. */
static int get_bytes(base_rd *r, uint8_t **buf, size_t *cap, size_t *n, uint64_t max,
                     const char *what) {
    uint64_t len = G64(what);
    if (!base_room_for(r, len, 1, max, what)) return -1;
    if (grow(buf, cap, len ? len : 1) < 0) return -2;
    base_get(r, *buf, (size_t)len, what);
    *n = (size_t)len;
    return 0;
}

static void put_msg(base_wr *w, const evm_message *m) {
    U8(m->kind);
    U8(m->is_static);
    U32((uint32_t)m->depth);
    U64(m->gas);
    base_put(w, m->recipient.b, 20);
    base_put(w, m->sender.b, 20);
    base_put(w, m->code_address.b, 20);
    base_put(w, m->value.b, 32);
    base_put(w, m->salt.b, 32);
}

static void get_msg(base_rd *r, evm_message *m, int depth) {
    uint8_t kind = G8("a message kind"), st = G8("a static flag");
    uint32_t d = G32("a message depth");
    int64_t gas = (int64_t)G64("a message's gas");
    base_get(r, m->recipient.b, 20, "a recipient");
    base_get(r, m->sender.b, 20, "a sender");
    base_get(r, m->code_address.b, 20, "a code address");
    base_get(r, m->value.b, 32, "a call value");
    base_get(r, m->salt.b, 32, "a salt");
    if (r->bad) return;
    if (kind > EVM_CALL_CREATE2 || st > 1 || d != (uint32_t)depth || gas < 0 ||
        gas > SNAP_GAS_MAX) {
        base_rd_fail(r, "EVM frame %d: message kind %u, static %u, depth %u, gas %lld", depth, kind,
                     st, d, (long long)gas);
        return;
    }
    m->kind = (evm_call_kind)kind;
    m->is_static = st;
    m->depth = depth;
    m->gas = gas;
}

static void put_frame(base_wr *w, const evm_frame *f) {
    put_msg(w, &f->msg);
    put_bytes(w, f->in, f->msg.input_size);
    put_bytes(w, f->code, f->code_size);
    U32(f->pc);
    U32(f->height);
    for (uint32_t i = 0; i < f->height; i++)
        for (int k = 0; k < 4; k++)
            U64(f->stack[i].w[k]);
    put_bytes(w, f->mem, f->mem_size);
    put_bytes(w, f->ret, f->ret_size);
    U64(f->gas);
    U64(f->refund);
    U64(f->snap);
    U8(f->status);
    U64(f->out_off);
    U64(f->out_size);
}

int evm_vm_save(const evm_vm *vm, base_wr *w) {
    unsigned pol = 0;
    while (pol < SNAP_NPOLICIES && snap_policies[pol] != vm->policy)
        pol++;
    if (pol == SNAP_NPOLICIES || vm->tracer) return -1;
    uint32_t n = 0;
    while (n <= EVM_MAX_DEPTH && vm->frames[n] && vm->frames[n]->active)
        n++;
    U8(vm->fork);
    U8(pol);
    U64(vm->mem_limit);
    U64(vm->peak);
    U32(n);
    for (uint32_t i = 0; i < n; i++)
        put_frame(w, vm->frames[i]);
    return 0;
}

/* Is pc where the linear decoding of the code arrives (an instruction, or
 * the end, past a truncated PUSH)? */
static bool insn_at(const evm_frame *f, uint64_t pc) {
    uint64_t at = 0;
    while (at < pc && at < f->code_size) {
        uint8_t op = f->code[at];
        at += 1 + (op >= EVM_OP_PUSH1 && op <= EVM_OP_PUSH32 ? op - EVM_OP_PUSH1 + 1 : 0);
    }
    return at == pc;
}

/* A frame below the top waits at a CALL or CREATE with its arguments, and
 * the output region of a call lies in its memory (call_return writes it). */
static bool waits_in_call(const evm_frame *f) {
    if (f->pc >= f->code_size) return false;
    uint8_t op = f->code[f->pc];
    bool call = op == EVM_OP_CALL || op == EVM_OP_CALLCODE || op == EVM_OP_DELEGATECALL ||
                op == EVM_OP_STATICCALL;
    if (!call && op != EVM_OP_CREATE && op != EVM_OP_CREATE2) return false;
    int nin = evm_opinfo_of(op)->in;
    if (f->height < (uint32_t)nin) return false;
    if (!call) return true;
    int i = op == EVM_OP_CALL || op == EVM_OP_CALLCODE ? 5 : 4;
    const u256 *a = f->stack + f->height - 1, *off = &a[-i], *len = &a[-i - 1];
    if (u256_is_zero(len)) return true;
    return u256_fits64(off) && u256_fits64(len) && off->w[0] <= f->mem_size &&
           len->w[0] <= f->mem_size - off->w[0];
}

static int get_frame(evm_vm *vm, base_rd *r, int depth, int64_t *gas_sum) {
    evm_frame *f = frame_get(vm, depth);
    if (!f) return -2;
    evm_message m;
    memset(&m, 0, sizeof m);
    get_msg(r, &m, depth);
    size_t nin = 0, ncode = 0;
    int rc;
    if ((rc = get_bytes(r, &f->in, &f->in_cap, &nin, (size_t)1 << 32, "calldata")) ||
        (rc = get_bytes(r, &f->ret, &f->ret_cap, &f->ret_size, (size_t)1 << 31, "frame code")))
        return r->bad ? -1 : rc;
    /* the code (read into ret for now): analysed as frame_setup does */
    m.input = f->in;
    m.input_size = nin;
    if (analyse(vm, f, f->ret, f->ret_size) < 0) return -2;
    ncode = f->ret_size;
    f->msg = m;
    uint32_t pc = G32("a frame's pc"), height = G32("a stack height");
    if (!r->bad && height > EVM_STACK_LIMIT)
        base_rd_fail(r, "EVM frame %d: stack height %u over %d", depth, height, EVM_STACK_LIMIT);
    if (!base_room_for(r, height, 32, EVM_STACK_LIMIT, "an EVM stack")) return -1;
    for (uint32_t i = 0; i < height; i++)
        for (int k = 0; k < 4; k++)
            f->stack[i].w[k] = G64("a stack item");
    f->pc = pc;
    f->height = height;
    if ((rc = get_bytes(r, &f->mem, &f->mem_cap, &f->mem_size, vm->mem_limit, "EVM memory")) ||
        (rc = get_bytes(r, &f->ret, &f->ret_cap, &f->ret_size, (size_t)1 << 36, "return data")))
        return r->bad ? -1 : rc;
    f->gas = (int64_t)G64("a frame's gas");
    f->refund = (int64_t)G64("a refund counter");
    f->snap = G64("a frame's journal position");
    uint8_t st = G8("a frame status");
    f->out_off = G64("an output offset");
    f->out_size = G64("an output size");
    if (r->bad) return -1;
    *gas_sum += f->gas >= 0 && f->gas <= SNAP_GAS_MAX ? f->gas : SNAP_GAS_MAX + 1;
    if (f->mem_size % 32 || !insn_at(f, pc) || f->gas < 0 || *gas_sum > SNAP_GAS_MAX ||
        f->refund < -SNAP_GAS_MAX || f->refund > SNAP_GAS_MAX || st >= EVM_NSTATUS ||
        f->out_off > f->mem_size || f->out_size > f->mem_size - f->out_off) {
        base_rd_fail(r,
                     "EVM frame %d: memory %zu bytes, pc %u in %zu bytes of code, gas %lld, refund "
                     "%lld, status %u or output out of range",
                     depth, f->mem_size, pc, ncode, (long long)f->gas, (long long)f->refund, st);
        return -1;
    }
    f->status = (evm_status)st;
    f->active = true;
    return 0;
}

int evm_vm_load(evm_vm *vm, base_rd *r) {
    uint8_t fork = G8("an EVM fork"), pol = G8("an EVM policy");
    uint64_t mem_limit = G64("an EVM memory limit"), peak = G64("an EVM peak");
    uint32_t n = G32("an EVM frame count");
    if (r->bad) return -1;
    if (fork >= EVM_NFORKS || pol >= SNAP_NPOLICIES || mem_limit > ((uint64_t)1 << 36)) {
        base_rd_fail(r, "EVM fork %u, policy %u or memory limit %llu out of range", fork, pol,
                     (unsigned long long)mem_limit);
        return -1;
    }
    /* a frame takes at least 100 bytes of the image */
    if (!base_room_for(r, n, 100, EVM_MAX_DEPTH + 1, "the EVM frame count")) return -1;
    evm_vm_set_fork(vm, (evm_fork)fork);
    evm_vm_set_policy(vm, snap_policies[pol], NULL);
    vm->mem_limit = (size_t)mem_limit;
    vm->peak = peak;
    for (int i = 0; i <= EVM_MAX_DEPTH; i++)
        if (vm->frames[i]) vm->frames[i]->active = false;
    vm->top = 0;
    int64_t gas_sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        int rc = get_frame(vm, r, (int)i, &gas_sum);
        if (rc) return rc;
        if (i && !waits_in_call(vm->frames[i - 1])) {
            base_rd_fail(r, "EVM frame %u: its caller does not wait in a CALL or CREATE", i);
            return -1;
        }
    }
    vm->top = n ? (int)n - 1 : 0;
    return 0;
}
