/* EVM tasks: evaluation of EVM programs (calldata in, RETURN out; or the
 * stack model for superoptimisation), the synthesis tasks evm-max, evm-min3,
 * evm-absdiff, evm-popcount, and evm-superopt with its equivalence check
 * (docs/tasks.md). */
#include "fitness/fit_impl.h"
#include "vm/evm/evm.h"

#include <stdlib.h>
#include <string.h>

#define EVM_SYN_GAS   30000u
#define EVM_OPT_GAS   100000u
#define EVM_SYN_TRAIN 100u
#define EVM_SYN_TEST  1000u
#define EVM_OPT_TRAIN 32u
#define EVM_OPT_TEST  1000u
#define EVM_MAX_OUT   1024u

/* ---- 256-bit helpers ---- */

void fit_u256_from_u64(uint8_t w[32], uint64_t v) {
    memset(w, 0, 32);
    for (int i = 0; i < 8; i++)
        w[31 - i] = (uint8_t)(v >> (8 * i));
}

unsigned fit_u256_bits_diff(const uint8_t a[32], const uint8_t b[32]) {
    unsigned n = 0;
    for (int i = 0; i < 32; i++)
        n += (unsigned)__builtin_popcount((unsigned)(a[i] ^ b[i]));
    return n;
}

static void u256_sub(const uint8_t a[32], const uint8_t b[32], uint8_t out[32]) {
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = (int)a[i] - (int)b[i] - borrow;
        borrow = d < 0;
        out[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
}

double fit_u256_absdiff(const uint8_t a[32], const uint8_t b[32]) {
    uint8_t d[32];
    if (memcmp(a, b, 32) >= 0)
        u256_sub(a, b, d);
    else
        u256_sub(b, a, d);
    double v = 0;
    for (int i = 0; i < 32; i++)
        v = v * 256.0 + d[i];
    return v;
}

/* ---- the per-thread context ---- */

struct fit_evm_ctx {
    evm_vm *vm;
    evm_memhost *host;
    int64_t gas;
    uint8_t *code; /* prologue + candidate + STOP (stack model) */
    size_t code_cap;
    uint8_t *calldata;
    uint32_t case_base; /* added to the case index for the environment */
    uint8_t *stack;     /* the output words, big-endian */
    size_t depth;       /* stack model: the final depth */
    evm_word *mst;      /* stack model: its stack */
};

fit_evm_ctx *fit_evm_ctx_new(const fit_task *t, const vm_limits *limits) {
    fit_evm_ctx *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->vm = evm_vm_new();
    c->host = c->vm ? evm_memhost_new(c->vm) : NULL;
    c->calldata = calloc((size_t)t->n_in * 32 + 128, 1);
    c->stack = calloc(EVM_MAX_OUT, 32);
    if (t->io == FIT_IO_EVM_STACK) c->mst = calloc(FIT_EVM_MODEL_STACK, sizeof *c->mst);
    if (!c->host || !c->calldata || !c->stack || (t->io == FIT_IO_EVM_STACK && !c->mst)) {
        fit_evm_ctx_free(c);
        return NULL;
    }
    evm_vm_set_fork(c->vm, EVM_FORK_CANCUN);
    evm_vm_set_policy(c->vm, evm_policy_isolated, NULL);
    evm_vm_set_mem_limit(c->vm, (size_t)1 << 20);
    c->gas = limits && limits->gas
                 ? (int64_t)(limits->gas > (1ull << 40) ? 1ull << 40 : limits->gas)
                 : (int64_t)EVM_SYN_GAS;
    return c;
}

void fit_evm_ctx_free(fit_evm_ctx *c) {
    if (!c) return;
    evm_memhost_free(c->host);
    evm_vm_free(c->vm);
    free(c->mst);
    free(c->calldata);
    free(c->stack);
    free(c);
}

static vm_status map_status(evm_status s) {
    switch (s) {
    case EVM_SUCCESS: return VM_HALTED;
    case EVM_REVERT:
    case EVM_DENIED: return VM_YIELDED;
    case EVM_OUT_OF_GAS: return VM_OUT_OF_GAS;
    case EVM_INVALID_INSTRUCTION: return VM_INVALID_OPCODE;
    case EVM_BAD_JUMP: return VM_BAD_JUMP;
    case EVM_STACK_UNDERFLOW: return VM_STACK_UNDERFLOW;
    case EVM_STACK_OVERFLOW: return VM_STACK_OVERFLOW;
    case EVM_RETURNDATA_OOB: return VM_OUT_OF_BOUNDS;
    case EVM_OUT_OF_MEMORY: return VM_OUT_OF_MEMORY;
    default: return VM_BAD_KEY; /* other faults */
    }
}

/* The case's environment, drawn from the case's index and first input:
 * sender (the zero address a quarter of the time), recipient, origin (the
 * sender half the time), value (0, small, 64-bit or 256-bit), timestamp and
 * number (small, 32-bit or 62-bit). So a candidate cannot replace CALLER, CALLVALUE or TIMESTAMP by
 * a constant. */
static void case_env(fit_evm_ctx *c, evm_message *m, const uint8_t *in0, uint32_t i) {
    uint64_t s = 0x656e76ull + i;
    if (in0)
        for (int k = 0; k < 32; k++)
            s = s * 131 + in0[k];
    memset(m, 0, sizeof *m);
    m->kind = EVM_CALL_CALL;
    m->gas = c->gas;
    uint64_t a = base_splitmix64(&s), b = base_splitmix64(&s), d = base_splitmix64(&s);
    for (int k = 0; k < 8; k++) {
        m->sender.b[12 + k] = (uint8_t)(a >> (8 * k));
        m->recipient.b[12 + k] = (uint8_t)(b >> (8 * k));
    }
    m->recipient.b[0] = 0xaa;
    m->sender.b[0] = 0xcc;
    if (a % 4 == 0) memset(m->sender.b, 0, sizeof m->sender.b);
    m->code_address = m->recipient;
    uint64_t v = base_splitmix64(&s);
    switch (d % 4) {
    case 0: memset(m->value.b, 0, 32); break;
    case 1: fit_u256_from_u64(m->value.b, 1 + v % 65535); break;
    case 2: fit_u256_from_u64(m->value.b, v); break;
    default:
        for (int k = 0; k < 32; k += 8) {
            uint64_t w = base_splitmix64(&s);
            for (int j = 0; j < 8; j++)
                m->value.b[k + j] = (uint8_t)(w >> (8 * j));
        }
    }
    evm_context *x = evm_memhost_context(c->host);
    x->origin = m->sender;
    if ((d >> 2) % 2) {
        uint64_t o = base_splitmix64(&s);
        for (int k = 0; k < 8; k++)
            x->origin.b[12 + k] = (uint8_t)(o >> (8 * k));
        x->origin.b[1] = 0x01;
    }
    uint64_t ts = base_splitmix64(&s), nb = base_splitmix64(&s);
    static const int shift[3] = {48, 32, 2};
    x->timestamp = (int64_t)(ts >> shift[(d >> 3) % 3]);
    x->number = (int64_t)(nb >> shift[(d >> 5) % 3]);
    x->gas_limit = 30000000;
}

static bool nonzero(const uint8_t *w) {
    for (int i = 0; i < 32; i++)
        if (w[i]) return true;
    return false;
}

/* The error of output k (a data task's outputs may differ in kind). */
static double out_error(const fit_task *t, uint32_t k, const uint8_t *y, const uint8_t *w) {
    double e;
    switch (t->out_kinds ? t->out_kind[k] : t->error) {
    case FIT_ERR_U256_BITS: e = fit_u256_bits_diff(y, w); break;
    case FIT_ERR_U256_STACK: e = fit_u256_bits_diff(y, w) / 256.0; break;
    case FIT_ERR_BOOL: e = nonzero(y) != nonzero(w); break;
    default: e = fit_u256_absdiff(y, w); break;
    }
    return e > t->penalty ? t->penalty : e;
}

/* The block's final stack depth (superopt); n_out is at least 1, and an
 * empty final stack is scored as one zero word. */
static uint32_t final_depth(const fit_task *t) {
    return (uint32_t)((int64_t)t->min_stack_in + t->stack_delta);
}

/* A stack-model case's key: its environment, state reads and symbolic
 * pushes are functions of it (fit_evm_model_run). */
static uint64_t model_key(const uint8_t *in, uint32_t n_in, uint64_t idx) {
    uint64_t s = 0x656e76ull + idx;
    for (size_t k = 0; k < (size_t)n_in * 32; k++)
        s = s * 131 + in[k];
    return base_splitmix64(&s);
}

/* One case of the stack model; the final stack's words go to c->stack
 * (big-endian) when has_output. */
static vm_status run_stack_case(fit_evm_ctx *c, const fit_task *t, const uint8_t *code, size_t len,
                                const uint8_t *in, uint64_t idx, uint64_t *gas, uint64_t *words,
                                bool *has_output) {
    for (uint32_t k = 0; k < t->n_in; k++)
        fit_evm_word_from_be(in + (size_t)k * 32, &c->mst[k]);
    uint32_t depth = t->n_in, peak = 0;
    fit_evm_env env = {t->n_opaque, t->probe, t->n_probe};
    vm_status st =
        fit_evm_model_run(&env, code, len, model_key(in, t->n_in, idx), c->mst, &depth, gas, &peak);
    c->depth = depth;
    *words = peak;
    *has_output = st == VM_HALTED && depth == final_depth(t);
    if (st != VM_HALTED) *gas = (uint64_t)c->gas; /* a fault takes all the gas, as in the EVM */
    if (*has_output)
        for (uint32_t k = 0; k < depth; k++)
            fit_evm_word_to_be(&c->mst[k], c->stack + (size_t)k * 32);
    if (final_depth(t) == 0) memset(c->stack, 0, 32);
    return st;
}

int fit_evm_eval(fit_evm_ctx *c, const fit_task *t, const uint8_t *code, size_t len,
                 const fit_cases *cs, fit_result *r, const fit_case_detail *d) {
    if (len > 1u << 20 || !cs->in256 || (d && (t->io != FIT_IO_CALLDATA || !d->out256))) return -1;
    uint32_t no = fit_task_nout(t);
    bool stack_model = t->io == FIT_IO_EVM_STACK;
    if (stack_model && !c->mst) return -1;
    r->ncases = cs->n;
    r->nerrors = cs->n * no;
    r->error = 0;
    r->gas = r->memtime = 0;
    r->worst = VM_HALTED;
    r->hits = r->missing = r->out_of_gas = r->faults = 0;
    unsigned worst_sev = 0;
    double *err = r->errors;
    for (uint32_t i = 0; i < cs->n; i++) {
        uint64_t gas, words;
        bool has;
        vm_status st;
        const uint8_t *y;
        if (stack_model) {
            st = run_stack_case(c, t, code, len, cs->in256 + (size_t)i * t->n_in * 32,
                                c->case_base + i, &gas, &words, &has);
            y = c->stack;
        } else {
            const uint8_t *in = cs->in256 + (size_t)i * t->n_in * 32;
            memcpy(c->calldata, in, (size_t)t->n_in * 32);
            evm_message m;
            case_env(c, &m, t->n_in ? in : NULL, c->case_base + i);
            m.input = c->calldata;
            m.input_size = (size_t)t->n_in * 32;
            evm_result res;
            evm_memhost_begin_tx(c->host, &m.recipient, 1);
            size_t snap = evm_memhost_snapshot(c->host);
            evm_status es = evm_execute(c->vm, &evm_memhost_iface, c->host, &m, code, len, &res);
            has = es == EVM_SUCCESS && res.output_size >= 32 * (size_t)no;
            if (has) memcpy(c->stack, res.output, 32 * (size_t)no);
            evm_memhost_revert(c->host, snap);
            gas = (uint64_t)(c->gas - res.gas_left);
            words = evm_vm_words_peak(c->vm);
            st = map_status(es);
            if (es == EVM_SUCCESS && !has) st = VM_YIELDED; /* finished without an answer */
            y = c->stack;
        }
        r->gas += gas;
        r->memtime += gas * words;
        fit_note_status(r, st, &worst_sev);
        bool hit = true;
        for (uint32_t k = 0; k < no; k++) {
            double e =
                has ? out_error(t, k, y + (size_t)k * 32, cs->want256 + ((size_t)i * no + k) * 32)
                    : t->penalty;
            if (!has) r->missing++;
            if (!(e <= t->hit_tol)) hit = false;
            *err++ = e;
            r->error += e;
        }
        if (hit) r->hits++;
        if (d) {
            d->gas[i] = gas;
            d->memtime[i] = gas * words;
            d->status[i] = (uint8_t)st;
            for (uint32_t k = 0; k < no; k++) {
                size_t j = (size_t)i * no + k;
                d->has_out[j] = has;
                d->out[j] = 0;
                memset(d->out256 + j * 32, 0, 32);
                if (!has) continue;
                memcpy(d->out256 + j * 32, y + (size_t)k * 32, 32);
                for (int b = 0; b < 8; b++)
                    d->out[j] |= (vm_word)((uint64_t)y[k * 32 + 31 - b] << (8 * b));
            }
        }
    }
    return 0;
}

/* ---- input words ---- */

static uint64_t U64(const fit_rng *r) {
    return (uint64_t)r->range(r->ctx, INT64_MIN, INT64_MAX);
}

/* A random word: kind 0 small [0, 2^16), 1 full 256 bits, 2 an edge value
 * (0, 1, 2^255, 2^256-1), 3 sparse (a few random bits). */
static void draw_word(const fit_rng *r, int kind, uint8_t w[32]) {
    memset(w, 0, 32);
    switch (kind) {
    case 0: fit_u256_from_u64(w, (uint64_t)r->range(r->ctx, 0, 65535)); break;
    case 1:
        for (int k = 0; k < 4; k++) {
            uint64_t v = U64(r);
            for (int b = 0; b < 8; b++)
                w[8 * k + b] = (uint8_t)(v >> (8 * b));
        }
        break;
    case 2: {
        int e = (int)r->range(r->ctx, 0, 3);
        if (e == 1) w[31] = 1;
        if (e == 2) w[0] = 0x80;
        if (e == 3) memset(w, 0xff, 32);
        break;
    }
    default: {
        int nb = (int)r->range(r->ctx, 0, 8);
        for (int b = 0; b < nb; b++) {
            int bit = (int)r->range(r->ctx, 0, 255);
            w[31 - bit / 8] |= (uint8_t)(1u << (bit % 8));
        }
        break;
    }
    }
}

/* ---- synthesis tasks ---- */

typedef enum { SYN_MAX, SYN_MIN3, SYN_ABSDIFF, SYN_POPCOUNT } syn_kind;

static void syn_want(syn_kind k, const uint8_t *in, uint8_t *w) {
    switch (k) {
    case SYN_MAX: memcpy(w, memcmp(in, in + 32, 32) >= 0 ? in : in + 32, 32); break;
    case SYN_MIN3: {
        const uint8_t *m = in;
        for (int j = 1; j < 3; j++)
            if (memcmp(in + 32 * j, m, 32) < 0) m = in + 32 * j;
        memcpy(w, m, 32);
        break;
    }
    case SYN_ABSDIFF:
        if (memcmp(in, in + 32, 32) >= 0)
            u256_sub(in, in + 32, w);
        else
            u256_sub(in + 32, in, w);
        break;
    default: {
        unsigned n = 0;
        for (int i = 0; i < 32; i++)
            n += (unsigned)__builtin_popcount(in[i]);
        fit_u256_from_u64(w, n);
        break;
    }
    }
}

void fit_evm_syn_init(fit_task *t, const char *name, fit_error_kind err, uint32_t n_in) {
    fit_task_init(t, name, err, n_in);
    t->isa = FIT_ISA_EVM;
    t->io = FIT_IO_CALLDATA;
    t->penalty = 256;
    t->hit_tol = 0;
    t->limits = (vm_limits){.gas = EVM_SYN_GAS};
    static const vm_word consts[] = {0, 1, 32, 64, 96}; /* calldata offsets */
    memcpy(t->consts, consts, sizeof consts);
    t->n_consts = 5;
}

static int make_syn(const char *name, syn_kind kind, const fit_task_opts *o, const fit_rng *rng,
                    fit_task *t, char *err, size_t errcap) {
    uint32_t ntr, nte, n_in = kind == SYN_MIN3 ? 3 : kind == SYN_POPCOUNT ? 1 : 2;
    if (fit_size(name, "n_train", o->n_train, EVM_SYN_TRAIN, 1, &ntr, err, errcap) ||
        fit_size(name, "n_test", o->n_test, EVM_SYN_TEST, 1, &nte, err, errcap))
        return -1;
    fit_evm_syn_init(t, name, kind == SYN_POPCOUNT ? FIT_ERR_U256_ABS : FIT_ERR_U256_BITS, n_in);
    if (fit_cases_alloc(&t->train, ntr, n_in, 1, false, true) ||
        fit_cases_alloc(&t->test, nte, n_in, 1, false, true)) {
        fit_task_free(t);
        base_errf(err, errcap, "%s: out of memory", name);
        return -1;
    }
    for (int s = 0; s < 2; s++) {
        fit_cases *cs = s ? &t->test : &t->train;
        for (uint32_t i = 0; i < cs->n; i++) {
            uint8_t *in = cs->in256 + (size_t)i * n_in * 32;
            /* popcount: small, full, edge or sparse; others: small or full,
             * and a quarter of the cases with two equal inputs */
            for (uint32_t k = 0; k < n_in; k++)
                draw_word(rng,
                          kind == SYN_POPCOUNT ? (int)rng->range(rng->ctx, 0, 3)
                                               : (int)rng->range(rng->ctx, 0, 1),
                          in + 32 * k);
            if (n_in > 1 && rng->range(rng->ctx, 0, 3) == 0) memcpy(in + 32, in, 32);
            syn_want(kind, in, cs->want256 + (size_t)i * 32);
        }
    }
    return 0;
}

/* ---- superoptimisation ---- */

int64_t fit_evm_static_gas(const uint8_t *code, size_t len) {
    int64_t g = 0;
    for (size_t pc = 0; pc < len;) {
        uint8_t op = code[pc];
        int s = evm_static_gas(EVM_FORK_CANCUN, op);
        if (s < 0) return -1;
        g += s;
        pc += 1 + (op >= EVM_OP_PUSH1 && op <= EVM_OP_PUSH32 ? (size_t)(op - EVM_OP_PUSH1 + 1) : 0);
    }
    return g;
}

/* Fill cs with initial stacks: stacks first..nedge-1 of every combination of
 * the edge values over the top min(n_in, 4) inputs (deeper inputs cycle
 * through them), then random ones. */
static void draw_stacks(const fit_task *t, fit_cases *cs, const fit_rng *rng, uint32_t nedge,
                        uint32_t first) {
    static const int kinds[] = {0, 1, 1, 2, 3};
    for (uint32_t i = 0; i < cs->n; i++) {
        uint8_t *in = cs->in256 + (size_t)i * t->n_in * 32;
        uint32_t idx = first + i;
        for (uint32_t k = 0; k < t->n_in; k++) {
            uint8_t *w = in + 32 * k;
            if (idx < nedge) {
                uint32_t e = k < 4 ? (idx >> (2 * k)) & 3u : (idx + k) & 3u;
                memset(w, 0, 32);
                if (e == 1) w[31] = 1;
                if (e == 2) w[0] = 0x80;
                if (e == 3) memset(w, 0xff, 32);
            } else {
                /* small, full, edge, sparse, or (a sixth) a probe value */
                int64_t kind = rng->range(rng->ctx, 0, t->n_probe ? 5 : 4);
                if (kind == 5)
                    fit_evm_word_to_be(&t->probe[rng->range(rng->ctx, 0, t->n_probe - 1)], w);
                else
                    draw_word(rng, kinds[kind], w);
            }
        }
    }
}

/* Run the block on every case and store its final stacks as the targets. */
static int fill_targets(fit_task *t, fit_cases *cs) {
    fit_evm_ctx *c = fit_evm_ctx_new(t, &t->limits);
    int rc = -1;
    if (!c) goto cleanup;
    uint32_t no = fit_task_nout(t);
    for (uint32_t i = 0; i < cs->n; i++) {
        uint64_t gas, words;
        bool has;
        vm_status st = run_stack_case(c, t, t->block, t->block_len,
                                      cs->in256 + (size_t)i * t->n_in * 32, i, &gas, &words, &has);
        if (st != VM_HALTED || !has) goto cleanup;
        memcpy(cs->want256 + (size_t)i * no * 32, c->stack, (size_t)no * 32);
        t->block_gas = gas;
    }
    rc = 0;
cleanup:
    fit_evm_ctx_free(c);
    return rc;
}

#define EVM_MAX_PROBE 96

static void probe_add(fit_task *t, const evm_word *w) {
    for (uint32_t i = 0; i < t->n_probe; i++)
        if (!memcmp(&t->probe[i], w, sizeof *w)) return;
    if (t->n_probe < EVM_MAX_PROBE) t->probe[t->n_probe++] = *w;
}

/* The values the tests favour: each constant the block pushes, its
 * neighbours, and the sums and differences of pairs (so that x == c, x < c
 * and x + c1 == c2 meet their boundary). 0, or -1 if out of memory. */
static int make_probe(fit_task *t) {
    t->probe = malloc(EVM_MAX_PROBE * sizeof *t->probe);
    if (!t->probe) return -1;
    evm_word c[16];
    uint32_t nc = 0;
    for (size_t pc = 0; pc < t->block_len;) {
        uint8_t op = t->block[pc];
        size_t k = op >= EVM_OP_PUSH1 && op <= EVM_OP_PUSH32 ? (size_t)(op - EVM_OP_PUSH1 + 1) : 0;
        uint32_t idx;
        if (k && nc < 16 && !fit_evm_opaque_index(t->block + pc + 1, k, t->n_opaque, &idx)) {
            uint8_t be[32] = {0};
            memcpy(be + 32 - k, t->block + pc + 1, k);
            fit_evm_word_from_be(be, &c[nc]);
            bool dup = false;
            for (uint32_t j = 0; j < nc; j++)
                dup |= !memcmp(&c[j], &c[nc], sizeof c[nc]);
            nc += !dup;
        }
        pc += 1 + k;
    }
    evm_word one = {{1, 0, 0, 0}};
    for (uint32_t i = 0; i < nc; i++) {
        evm_word a[3] = {c[i], one}, r;
        probe_add(t, &c[i]);
        evm_word_op(EVM_OP_ADD, a, &r);
        probe_add(t, &r);
        evm_word_op(EVM_OP_SUB, a, &r);
        probe_add(t, &r);
    }
    for (uint32_t i = 0; i < nc; i++)
        for (uint32_t j = 0; j < nc; j++) {
            evm_word a[3] = {c[i], c[j]}, r;
            if (i < j) {
                evm_word_op(EVM_OP_ADD, a, &r);
                probe_add(t, &r);
            }
            if (i != j) {
                evm_word_op(EVM_OP_SUB, a, &r);
                probe_add(t, &r);
            }
        }
    return 0;
}

static int make_superopt(const fit_task_opts *o, const fit_rng *rng, fit_task *t, char *err,
                         size_t errcap) {
    const char *name = "evm-superopt";
    char why[240];
    uint32_t ntr, nte, min_in;
    int32_t delta;
    fit_evm_block blk;
    if (!o->block_hex) {
        base_errf(err, errcap, "%s: needs a target block (block_hex)", name);
        return -1;
    }
    size_t col = 0;
    if (fit_evm_block_parse(o->block_hex, &blk, &col, why, sizeof why)) {
        if (col)
            base_errf(err, errcap, "%s: column %zu: %s", name, col, why);
        else
            base_errf(err, errcap, "%s: %s", name, why);
        return -1;
    }
    if (blk.len == 0 || blk.len > 4096) {
        base_errf(err, errcap, "%s: the block must be 1..4096 bytes, not %zu", name, blk.len);
        fit_evm_block_free(&blk);
        return -1;
    }
    if (fit_evm_shape(blk.code, blk.len, &min_in, &delta, why, sizeof why)) {
        fit_evm_block_free(&blk);
        base_errf(err, errcap, "%s: %s", name, why);
        return -1;
    }
    int64_t dout = (int64_t)min_in + delta;
    if (dout > (int64_t)EVM_MAX_OUT || min_in > 1024) {
        fit_evm_block_free(&blk);
        base_errf(err, errcap, "%s: the block's stack is too deep", name);
        return -1;
    }
    if (fit_size(name, "n_train", o->n_train, EVM_OPT_TRAIN, 1, &ntr, err, errcap) ||
        fit_size(name, "n_test", o->n_test, EVM_OPT_TEST, 1, &nte, err, errcap)) {
        fit_evm_block_free(&blk);
        return -1;
    }
    fit_task_init(t, name, FIT_ERR_U256_STACK, min_in);
    t->isa = FIT_ISA_EVM;
    t->io = FIT_IO_EVM_STACK;
    t->n_out = dout > 0 ? (uint32_t)dout : 1;
    t->straight_line = true;
    t->block = blk.code;
    t->block_len = (uint32_t)blk.len;
    t->opaque = blk.opaque;
    t->n_opaque = blk.n_opaque;
    t->min_stack_in = min_in;
    t->stack_delta = delta;
    t->equiv_samples = o->equiv_samples ? o->equiv_samples : FIT_EQUIV_SAMPLES;
    t->penalty = 1;
    t->hit_tol = 0;
    t->limits = (vm_limits){.gas = EVM_OPT_GAS};
    if (make_probe(t)) goto oom;
    /* the block's constants (those that fit a word) and 0, 1 */
    const uint8_t *b = t->block;
    size_t n = t->block_len;
    t->consts[t->n_consts++] = 0;
    t->consts[t->n_consts++] = 1;
    for (size_t pc = 0; pc < n;) {
        uint8_t op = b[pc];
        size_t k = op >= EVM_OP_PUSH1 && op <= EVM_OP_PUSH32 ? (size_t)(op - EVM_OP_PUSH1 + 1) : 0;
        if (k && k <= 8) {
            uint64_t v = 0;
            for (size_t j = 0; j < k; j++)
                v = v << 8 | b[pc + 1 + j];
            bool have = false;
            for (uint32_t j = 0; j < t->n_consts; j++)
                have |= t->consts[j] == (vm_word)v;
            if (!have && t->n_consts < FIT_MAX_CONSTS) t->consts[t->n_consts++] = (vm_word)v;
        }
        pc += 1 + k;
    }
    uint32_t no = fit_task_nout(t);
    if (fit_cases_alloc(&t->train, ntr, min_in, no, false, true) ||
        fit_cases_alloc(&t->test, nte, min_in, no, false, true))
        goto oom;
    uint32_t nedge = min_in ? 1u << (2 * (min_in < 4 ? min_in : 4)) : 1;
    draw_stacks(t, &t->train, rng, nedge < ntr / 2 ? nedge : ntr / 2, 0);
    draw_stacks(t, &t->test, rng, 0, 0);
    if (fill_targets(t, &t->train) || fill_targets(t, &t->test)) {
        fit_task_free(t);
        base_errf(err, errcap, "%s: the block does not run on the stack model", name);
        return -1;
    }
    t->gas_ref = (double)t->block_gas;
    return 0;
oom:
    fit_task_free(t);
    base_errf(err, errcap, "%s: out of memory", name);
    return -1;
}

int fit_evm_equivalent(const fit_task *t, const uint8_t *code, size_t len, const fit_rng *rng,
                       uint64_t *cex) {
    if (t->io != FIT_IO_EVM_STACK || !t->block) return -1;
    uint32_t no = fit_task_nout(t), n_in = t->n_in;
    uint32_t nedge = n_in ? 1u << (2 * (n_in < 4 ? n_in : 4)) : 1;
    uint32_t total = nedge + t->equiv_samples, chunk = 256;
    fit_cases cs;
    if (fit_cases_alloc(&cs, chunk, n_in, no, false, true)) return -1;
    evm_word *want = malloc(FIT_EVM_MODEL_STACK * sizeof *want);
    fit_evm_ctx *c = fit_evm_ctx_new(t, &t->limits);
    fit_evm_env env = {t->n_opaque, t->probe, t->n_probe};
    int rc = -1;
    if (!want || !c) goto cleanup;
    for (uint32_t base = 0; base < total; base += chunk) {
        cs.n = total - base < chunk ? total - base : chunk;
        draw_stacks(t, &cs, rng, nedge, base); /* the edge combinations first */
        /* the block's final stack, then the candidate's: depth and every word */
        for (uint32_t i = 0; i < cs.n; i++) {
            const uint8_t *in = cs.in256 + (size_t)i * n_in * 32;
            uint64_t key = model_key(in, n_in, 0x100000u + (uint64_t)base + i), gas;
            uint32_t bd = n_in, cd = n_in;
            for (uint32_t k = 0; k < n_in; k++)
                fit_evm_word_from_be(in + (size_t)k * 32, &want[k]);
            memcpy(c->mst, want, (size_t)n_in * sizeof *want);
            vm_status bs =
                fit_evm_model_run(&env, t->block, t->block_len, key, want, &bd, &gas, NULL);
            vm_status cst = fit_evm_model_run(&env, code, len, key, c->mst, &cd, &gas, NULL);
            if (bs != VM_HALTED || cst != VM_HALTED || bd != cd ||
                memcmp(want, c->mst, (size_t)bd * sizeof *want)) {
                if (cex) *cex = base + i;
                rc = 0;
                goto cleanup;
            }
        }
    }
    rc = 1;
cleanup:
    fit_cases_free(&cs);
    free(want);
    fit_evm_ctx_free(c);
    return rc;
}

FIT_MAKER(fit_make_evm_max) {
    return make_syn(e->name, SYN_MAX, o, rng, t, err, errcap);
}
FIT_MAKER(fit_make_evm_min3) {
    return make_syn(e->name, SYN_MIN3, o, rng, t, err, errcap);
}
FIT_MAKER(fit_make_evm_absdiff) {
    return make_syn(e->name, SYN_ABSDIFF, o, rng, t, err, errcap);
}
FIT_MAKER(fit_make_evm_popcount) {
    return make_syn(e->name, SYN_POPCOUNT, o, rng, t, err, errcap);
}
FIT_MAKER(fit_make_evm_superopt) {
    return make_superopt(o, rng, t, err, errcap);
}
