/* Symbolic execution of straight-line EVM code for superoptimisation
 * (docs/tasks.md, "evm-superopt"): a block's final stack as terms over its
 * initial stack, the environment and its opaque constants, in a hash-consed
 * DAG normalised by rewrite rules that hold for every 256-bit word. Two
 * programs whose final stacks are the same terms are equivalent
 * (fit_evm_prove). The same terms drive a search for the cheapest program
 * that builds them (fit_evm_codegen): A* over symbolic stacks, in the style
 * of the stack functional specifications of SYRUP, GASOL and SuperStack
 * (ideas only; no code from them). */
#include "fitness/fit_impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* memcpy that allows n == 0 with NULL pointers (empty pools and tables):
 * memcpy's arguments must never be NULL. */
static inline void cpy(void *d, const void *src, size_t n) {
    if (n) memcpy(d, src, n);
}

/* ---- the term DAG ---- */

enum { S_INPUT = 0x100, S_CONST, S_OPAQUE };
#define S_NONE    UINT32_MAX
#define LIN_MAX   8  /* atoms of a linear form */
#define LIN_DEPTH 48 /* recursion limit of the linear decomposition */

typedef struct {
    uint16_t op; /* an EVM opcode (pure, environment or state read) or S_* */
    uint8_t nargs;
    uint16_t width; /* an upper bound on the significant bits of the value */
    uint32_t arg[3];
    uint32_t aux; /* S_INPUT, S_OPAQUE: the index */
    evm_word val; /* S_CONST */
} snode;

typedef struct {
    snode *n;
    uint32_t len, cap;
    uint32_t *slot; /* open addressing: node id + 1, 0 empty */
    uint32_t nslot; /* a power of two */
    bool oom;
} sdag;

static const evm_word W0 = {{0, 0, 0, 0}}, W1 = {{1, 0, 0, 0}},
                      WALL = {{~0ull, ~0ull, ~0ull, ~0ull}};

static bool weq(const evm_word *a, const evm_word *b) {
    return !memcmp(a, b, sizeof *a);
}

static unsigned wbits(const evm_word *a) {
    for (int i = 3; i >= 0; i--)
        if (a->w[i]) return (unsigned)(64 * i + 64 - __builtin_clzll(a->w[i]));
    return 0;
}

static evm_word wop2(uint8_t op, const evm_word *a, const evm_word *b) {
    evm_word in[3] = {*a, *b, W0}, r;
    evm_word_op(op, in, &r);
    return r;
}

static evm_word wneg(const evm_word *a) {
    return wop2(EVM_OP_SUB, &W0, a);
}

static bool wsmall(const evm_word *a, uint64_t *v) {
    if (a->w[1] | a->w[2] | a->w[3]) return false;
    *v = a->w[0];
    return true;
}

static uint64_t node_hash(const snode *p) {
    uint64_t h = 1469598103934665603ull;
#define H(x) h = (h ^ (uint64_t)(x)) * 1099511628211ull
    H(p->op);
    H(p->nargs);
    for (int i = 0; i < 3; i++)
        H(p->arg[i]);
    H(p->aux);
    for (int i = 0; i < 4; i++)
        H(p->val.w[i]);
#undef H
    return h ^ (h >> 29);
}

static bool node_same(const snode *a, const snode *b) {
    return a->op == b->op && a->nargs == b->nargs && a->arg[0] == b->arg[0] &&
           a->arg[1] == b->arg[1] && a->arg[2] == b->arg[2] && a->aux == b->aux &&
           weq(&a->val, &b->val);
}

static void sdag_free(sdag *d) {
    free(d->n);
    free(d->slot);
    memset(d, 0, sizeof *d);
}

static int sdag_grow(sdag *d) {
    uint32_t ns = d->nslot ? 2 * d->nslot : 1024;
    uint32_t *slot = calloc(ns, sizeof *slot);
    if (!slot) return -1;
    for (uint32_t i = 0; i < d->len; i++) {
        uint64_t h = node_hash(&d->n[i]);
        uint32_t j = (uint32_t)h & (ns - 1);
        while (slot[j])
            j = (j + 1) & (ns - 1);
        slot[j] = i + 1;
    }
    free(d->slot);
    d->slot = slot;
    d->nslot = ns;
    return 0;
}

static uint16_t width_of(const sdag *d, const snode *p);

/* The id of the node equal to *p, made if new; S_NONE when out of memory. */
static uint32_t intern(sdag *d, snode *p) {
    if (d->oom) return S_NONE;
    if (2 * (d->len + 1) > d->nslot && sdag_grow(d)) goto oom;
    uint64_t h = node_hash(p);
    uint32_t j = (uint32_t)h & (d->nslot - 1);
    for (; d->slot[j]; j = (j + 1) & (d->nslot - 1))
        if (node_same(&d->n[d->slot[j] - 1], p)) return d->slot[j] - 1;
    if (d->len == d->cap) {
        uint32_t nc = d->cap ? 2 * d->cap : 256;
        snode *q = realloc(d->n, nc * sizeof *q);
        if (!q) goto oom;
        d->n = q;
        d->cap = nc;
    }
    p->width = width_of(d, p);
    d->n[d->len] = *p;
    d->slot[j] = ++d->len;
    return d->len - 1;
oom:
    d->oom = true;
    return S_NONE;
}

static uint32_t s_leaf(sdag *d, uint16_t op, uint32_t aux, const evm_word *val) {
    snode p = {.op = op, .aux = aux, .val = val ? *val : W0};
    return intern(d, &p);
}

static uint32_t s_const(sdag *d, const evm_word *v) {
    return s_leaf(d, S_CONST, 0, v);
}

static uint32_t s_const64(sdag *d, uint64_t v) {
    evm_word w = {{v, 0, 0, 0}};
    return s_const(d, &w);
}

static bool is_const(const sdag *d, uint32_t id, evm_word *v) {
    if (id == S_NONE || d->n[id].op != S_CONST) return false;
    if (v) *v = d->n[id].val;
    return true;
}

static bool is_const_u(const sdag *d, uint32_t id, uint64_t v) {
    evm_word w;
    return is_const(d, id, &w) && !(w.w[1] | w.w[2] | w.w[3]) && w.w[0] == v;
}

static bool is_op(const sdag *d, uint32_t id, uint16_t op) {
    return id != S_NONE && d->n[id].op == op;
}

static bool is_commutative(uint8_t op) {
    return op == EVM_OP_ADD || op == EVM_OP_MUL || op == EVM_OP_AND || op == EVM_OP_OR ||
           op == EVM_OP_XOR || op == EVM_OP_EQ;
}

static bool is_addr_read(uint8_t op) {
    return op == EVM_OP_BALANCE || op == EVM_OP_EXTCODESIZE || op == EVM_OP_EXTCODEHASH;
}

static int pure_nin(uint8_t op) {
    evm_word a[3] = {W0, W0, W0}, r;
    return evm_word_op(op, a, &r);
}

/* A state read (BALANCE, SLOAD, ...): the stack model's read class. */
static bool is_read(uint8_t op) {
    return fit_evm_model_class(op) == FIT_M_READ;
}

static uint16_t width_of(const sdag *d, const snode *p) {
    uint16_t wa = p->nargs > 0 ? d->n[p->arg[0]].width : 0,
             wb = p->nargs > 1 ? d->n[p->arg[1]].width : 0;
    evm_word c;
    switch (p->op) {
    case S_CONST: return (uint16_t)wbits(&p->val);
    case S_INPUT:
    case S_OPAQUE: return 256;
    case EVM_OP_ADDRESS:
    case EVM_OP_ORIGIN:
    case EVM_OP_CALLER:
    case EVM_OP_COINBASE: return 160;
    case EVM_OP_LT:
    case EVM_OP_GT:
    case EVM_OP_SLT:
    case EVM_OP_SGT:
    case EVM_OP_EQ:
    case EVM_OP_ISZERO: return 1;
    case EVM_OP_AND: return wa < wb ? wa : wb;
    case EVM_OP_OR:
    case EVM_OP_XOR: return wa > wb ? wa : wb;
    case EVM_OP_ADD:
        return (uint16_t)((wa > wb ? wa : wb) + 1 > 256 ? 256 : (wa > wb ? wa : wb) + 1);
    case EVM_OP_MUL: return (uint16_t)(wa + wb > 256 ? 256 : wa + wb);
    case EVM_OP_DIV: return wa; /* a0 / a1 <= a0 */
    case EVM_OP_MOD: return wa < wb ? wa : wb;
    case EVM_OP_BYTE: return 8;
    case EVM_OP_SHR: {
        uint64_t s;
        if (is_const(d, p->arg[0], &c) && wsmall(&c, &s)) return (uint16_t)(s >= wb ? 0 : wb - s);
        return wb;
    }
    case EVM_OP_SHL: {
        uint64_t s;
        if (is_const(d, p->arg[0], &c) && wsmall(&c, &s))
            return (uint16_t)(s >= 256 ? 0 : wb + s > 256 ? 256 : wb + s);
        return 256;
    }
    default: return 256;
    }
}

static uint32_t s_raw(sdag *d, uint8_t op, int n, const uint32_t *a) {
    snode p = {.op = op, .nargs = (uint8_t)n};
    for (int i = 0; i < n; i++) {
        if (a[i] == S_NONE) return S_NONE;
        p.arg[i] = a[i];
    }
    if (n == 2 && is_commutative(op) && p.arg[0] > p.arg[1]) {
        uint32_t x = p.arg[0];
        p.arg[0] = p.arg[1];
        p.arg[1] = x;
    }
    return intern(d, &p);
}

static uint32_t s_apply(sdag *d, uint8_t op, const uint32_t *a);

static uint32_t s_ap2(sdag *d, uint8_t op, uint32_t a0, uint32_t a1) {
    uint32_t a[3] = {a0, a1, S_NONE};
    return s_apply(d, op, a);
}

static uint32_t s_ap1(sdag *d, uint8_t op, uint32_t a0) {
    uint32_t a[3] = {a0, S_NONE, S_NONE};
    return s_apply(d, op, a);
}

/* ---- linear forms: ADD, SUB, MUL and SHL by constants, modulo 2^256 ---- */

typedef struct {
    uint32_t atom[LIN_MAX];
    evm_word coef[LIN_MAX];
    uint32_t n;
    evm_word k;
    bool overflow;
} lin;

static void lin_add(const sdag *d, lin *L, uint32_t id, const evm_word *mul, int depth) {
    const snode *p = &d->n[id];
    evm_word c;
    uint64_t s;
    if (p->op == S_CONST) {
        evm_word t = wop2(EVM_OP_MUL, mul, &p->val);
        L->k = wop2(EVM_OP_ADD, &L->k, &t);
        return;
    }
    if (depth < LIN_DEPTH) {
        if (p->op == EVM_OP_ADD) {
            lin_add(d, L, p->arg[0], mul, depth + 1);
            lin_add(d, L, p->arg[1], mul, depth + 1);
            return;
        }
        if (p->op == EVM_OP_SUB) {
            evm_word m = wneg(mul);
            lin_add(d, L, p->arg[0], mul, depth + 1);
            lin_add(d, L, p->arg[1], &m, depth + 1);
            return;
        }
        if (p->op == EVM_OP_MUL && (is_const(d, p->arg[0], &c) || is_const(d, p->arg[1], &c))) {
            evm_word m = wop2(EVM_OP_MUL, mul, &c);
            lin_add(d, L, is_const(d, p->arg[0], NULL) ? p->arg[1] : p->arg[0], &m, depth + 1);
            return;
        }
        if (p->op == EVM_OP_SHL && is_const(d, p->arg[0], &c) && wsmall(&c, &s) && s < 256) {
            evm_word two = W1, m;
            evm_word sh = {{s, 0, 0, 0}};
            two = wop2(EVM_OP_SHL, &sh, &two);
            m = wop2(EVM_OP_MUL, mul, &two);
            lin_add(d, L, p->arg[1], &m, depth + 1);
            return;
        }
    }
    for (uint32_t i = 0; i < L->n; i++)
        if (L->atom[i] == id) {
            L->coef[i] = wop2(EVM_OP_ADD, &L->coef[i], mul);
            return;
        }
    if (L->n == LIN_MAX) {
        L->overflow = true;
        return;
    }
    L->atom[L->n] = id;
    L->coef[L->n++] = *mul;
}

/* c * atom as a term: SHL for powers of two, else MUL. */
static uint32_t lin_scaled(sdag *d, uint32_t atom, const evm_word *c) {
    if (weq(c, &W1)) return atom;
    unsigned b = wbits(c);
    evm_word p2 = W0;
    p2.w[(b - 1) / 64] = 1ull << ((b - 1) % 64);
    if (weq(c, &p2)) return s_raw(d, EVM_OP_SHL, 2, (uint32_t[]){s_const64(d, b - 1), atom});
    return s_raw(d, EVM_OP_MUL, 2, (uint32_t[]){s_const(d, c), atom});
}

/* The canonical term of a linear form: the positive terms summed by ADD
 * (atoms in id order), then the negative ones subtracted, then the
 * constant added (or subtracted, when its negation is shorter). */
static uint32_t lin_build(sdag *d, lin *L) {
    for (uint32_t i = 1; i < L->n; i++) /* insertion sort by atom id */
        for (uint32_t j = i; j > 0 && L->atom[j - 1] > L->atom[j]; j--) {
            uint32_t a = L->atom[j];
            evm_word c = L->coef[j];
            L->atom[j] = L->atom[j - 1];
            L->coef[j] = L->coef[j - 1];
            L->atom[j - 1] = a;
            L->coef[j - 1] = c;
        }
    uint32_t pos[LIN_MAX], neg[LIN_MAX], np = 0, nn = 0;
    for (uint32_t i = 0; i < L->n; i++) {
        if (weq(&L->coef[i], &W0)) continue;
        if (!(L->coef[i].w[3] >> 63)) {
            pos[np++] = lin_scaled(d, L->atom[i], &L->coef[i]);
        } else {
            evm_word m = wneg(&L->coef[i]);
            neg[nn++] = lin_scaled(d, L->atom[i], &m);
        }
    }
    uint32_t acc;
    if (np) {
        acc = pos[0];
        for (uint32_t i = 1; i < np; i++)
            acc = s_raw(d, EVM_OP_ADD, 2, (uint32_t[]){acc, pos[i]});
        for (uint32_t i = 0; i < nn; i++)
            acc = s_raw(d, EVM_OP_SUB, 2, (uint32_t[]){acc, neg[i]});
        if (!weq(&L->k, &W0)) {
            evm_word nk = wneg(&L->k);
            if (wbits(&nk) + 7 < wbits(&L->k))
                acc = s_raw(d, EVM_OP_SUB, 2, (uint32_t[]){acc, s_const(d, &nk)});
            else
                acc = s_raw(d, EVM_OP_ADD, 2, (uint32_t[]){acc, s_const(d, &L->k)});
        }
    } else if (nn) {
        acc = s_raw(d, EVM_OP_SUB, 2, (uint32_t[]){s_const(d, &L->k), neg[0]});
        for (uint32_t i = 1; i < nn; i++)
            acc = s_raw(d, EVM_OP_SUB, 2, (uint32_t[]){acc, neg[i]});
    } else {
        acc = s_const(d, &L->k);
    }
    return acc;
}

static uint32_t s_linear(sdag *d, uint8_t op, const uint32_t *a) {
    if (a[0] == S_NONE || a[1] == S_NONE) return S_NONE;
    lin L = {.k = W0};
    evm_word one = W1, m1 = wneg(&W1);
    lin_add(d, &L, a[0], &one, 0);
    if (op == EVM_OP_ADD) {
        lin_add(d, &L, a[1], &one, 0);
    } else if (op == EVM_OP_SUB) {
        lin_add(d, &L, a[1], &m1, 0);
    } else { /* MUL with a constant */
        L = (lin){.k = W0};
        evm_word c;
        uint32_t x = is_const(d, a[0], &c) ? a[1] : a[0];
        if (!is_const(d, a[0], &c)) is_const(d, a[1], &c);
        lin_add(d, &L, x, &c, 0);
    }
    if (L.overflow) return s_raw(d, op, 2, a);
    return lin_build(d, &L);
}

/* ---- normalisation ---- */

/* Every rule is an identity of the EVM's 256-bit semantics (docs/tasks.md);
 * a[0] is the top of the stack, as evm_word_op takes it. */
static uint32_t s_apply(sdag *d, uint8_t op, const uint32_t *a) {
    if (d->oom) return S_NONE;
    if (is_read(op)) {
        uint32_t x = a[0];
        if (x == S_NONE) return S_NONE;
        evm_word c;
        /* BALANCE & co. read an address: the low 160 bits of the word */
        if (is_addr_read(op) && is_op(d, x, EVM_OP_AND)) {
            const snode *p = &d->n[x];
            for (int i = 0; i < 2; i++)
                if (is_const(d, p->arg[i], &c) && c.w[0] == ~0ull && c.w[1] == ~0ull &&
                    (uint32_t)c.w[2] == 0xffffffffu)
                    x = p->arg[1 - i];
        }
        return s_raw(d, op, 1, &x);
    }
    int nin = pure_nin(op);
    if (nin < 0) return S_NONE;
    for (int i = 0; i < nin; i++)
        if (a[i] == S_NONE) return S_NONE;
    evm_word cv[3];
    bool allc = true;
    for (int i = 0; i < nin; i++)
        allc &= is_const(d, a[i], &cv[i]);
    if (allc) {
        evm_word r;
        evm_word_op(op, cv, &r);
        return s_const(d, &r);
    }
    uint32_t x = a[0], y = nin > 1 ? a[1] : S_NONE;
    uint16_t wx = d->n[x].width, wy = y != S_NONE ? d->n[y].width : 0;
    evm_word c;
    uint64_t s;
    switch (op) {
    case EVM_OP_GT: return s_ap2(d, EVM_OP_LT, y, x);
    case EVM_OP_SGT: return s_ap2(d, EVM_OP_SLT, y, x);
    case EVM_OP_ADD:
    case EVM_OP_SUB: return s_linear(d, op, a);
    case EVM_OP_MUL:
        if (is_const_u(d, x, 0) || is_const_u(d, y, 0)) return s_const64(d, 0);
        if (is_const(d, x, NULL) || is_const(d, y, NULL)) return s_linear(d, op, a);
        break;
    case EVM_OP_SHL:
        if (is_const(d, x, &c) && wsmall(&c, &s) && s < 256) {
            if (s == 0) return y;
            evm_word p2 = W0; /* y << s = y * 2^s: linear */
            p2.w[s / 64] = 1ull << (s % 64);
            return s_linear(d, EVM_OP_MUL, (uint32_t[]){s_const(d, &p2), y});
        }
        if (is_const(d, x, &c)) return s_const64(d, 0); /* shift >= 256 */
        if (is_const_u(d, y, 0)) return y;
        break;
    case EVM_OP_SHR:
        if (is_const(d, x, &c)) {
            if (!wsmall(&c, &s) || s >= 256 || s >= wy) return s_const64(d, 0);
            if (s == 0) return y;
            if (is_op(d, y, EVM_OP_SHR) && is_const(d, d->n[y].arg[0], &c)) {
                uint64_t s2;
                if (wsmall(&c, &s2) && s2 < 256) {
                    uint32_t inner = d->n[y].arg[1], sh = s_const64(d, s + s2);
                    return s_ap2(d, EVM_OP_SHR, sh, inner);
                }
            }
        }
        if (is_const_u(d, y, 0)) return y;
        break;
    case EVM_OP_SAR:
        if (is_const_u(d, x, 0)) return y;
        if (is_const_u(d, y, 0)) return y;
        break;
    case EVM_OP_DIV:
        if (is_const_u(d, y, 0) || is_const_u(d, x, 0)) return s_const64(d, 0);
        if (is_const_u(d, y, 1)) return x;
        if (is_const(d, y, &c) && wbits(&c) &&
            __builtin_popcountll(c.w[0]) + __builtin_popcountll(c.w[1]) +
                    __builtin_popcountll(c.w[2]) + __builtin_popcountll(c.w[3]) ==
                1)
            return s_ap2(d, EVM_OP_SHR, s_const64(d, wbits(&c) - 1), x);
        break;
    case EVM_OP_MOD:
        if (is_const_u(d, y, 0) || is_const_u(d, y, 1) || is_const_u(d, x, 0))
            return s_const64(d, 0);
        if (is_const(d, y, &c) && __builtin_popcountll(c.w[0]) + __builtin_popcountll(c.w[1]) +
                                          __builtin_popcountll(c.w[2]) +
                                          __builtin_popcountll(c.w[3]) ==
                                      1) {
            evm_word m = wop2(EVM_OP_SUB, &c, &W1);
            return s_ap2(d, EVM_OP_AND, x, s_const(d, &m));
        }
        break;
    case EVM_OP_EXP:
        if (is_const_u(d, y, 0)) return s_const64(d, 1);
        if (is_const_u(d, y, 1)) return x;
        if (is_const_u(d, x, 2)) return s_ap2(d, EVM_OP_SHL, y, s_const64(d, 1));
        break;
    case EVM_OP_AND: {
        if (x == y) return x;
        for (int i = 0; i < 2; i++) {
            uint32_t v = i ? x : y, o = i ? y : x; /* v constant, o the other */
            if (!is_const(d, v, &c)) continue;
            if (weq(&c, &W0)) return v;
            uint16_t wo = d->n[o].width;
            evm_word low = W0; /* 2^wo - 1 */
            for (unsigned b = 0; b < wo; b++)
                low.w[b / 64] |= 1ull << (b % 64);
            evm_word t = wop2(EVM_OP_AND, &c, &low);
            if (weq(&t, &low)) return o; /* the mask keeps every bit o can have */
            if (is_op(d, o, EVM_OP_AND)) {
                uint32_t oa[2] = {d->n[o].arg[0], d->n[o].arg[1]};
                evm_word c2;
                for (int j = 0; j < 2; j++)
                    if (is_const(d, oa[j], &c2)) {
                        evm_word m = wop2(EVM_OP_AND, &c, &c2);
                        uint32_t mc = s_const(d, &m);
                        return s_ap2(d, EVM_OP_AND, oa[1 - j], mc);
                    }
            }
        }
        if ((is_op(d, x, EVM_OP_NOT) && d->n[x].arg[0] == y) ||
            (is_op(d, y, EVM_OP_NOT) && d->n[y].arg[0] == x))
            return s_const64(d, 0);
        break;
    }
    case EVM_OP_OR:
        if (x == y) return x;
        if (is_const_u(d, x, 0)) return y;
        if (is_const_u(d, y, 0)) return x;
        if ((is_const(d, x, &c) && weq(&c, &WALL)) || (is_const(d, y, &c) && weq(&c, &WALL)))
            return s_const(d, &WALL);
        break;
    case EVM_OP_XOR:
        if (x == y) return s_const64(d, 0);
        if (is_const_u(d, x, 0)) return y;
        if (is_const_u(d, y, 0)) return x;
        if (is_const(d, x, &c) && weq(&c, &WALL)) return s_ap1(d, EVM_OP_NOT, y);
        if (is_const(d, y, &c) && weq(&c, &WALL)) return s_ap1(d, EVM_OP_NOT, x);
        if (is_const_u(d, x, 1) && wy <= 1) return s_ap1(d, EVM_OP_ISZERO, y); /* b ^ 1 */
        if (is_const_u(d, y, 1) && wx <= 1) return s_ap1(d, EVM_OP_ISZERO, x);
        break;
    case EVM_OP_NOT:
        if (is_op(d, x, EVM_OP_NOT)) return d->n[x].arg[0];
        break;
    case EVM_OP_EQ:
        if (x == y) return s_const64(d, 1);
        if (is_const_u(d, x, 0)) return s_ap1(d, EVM_OP_ISZERO, y);
        if (is_const_u(d, y, 0)) return s_ap1(d, EVM_OP_ISZERO, x);
        if (is_const_u(d, x, 1) && wy <= 1) return y;
        if (is_const_u(d, y, 1) && wx <= 1) return x;
        break;
    case EVM_OP_ISZERO: {
        if (is_op(d, x, EVM_OP_ISZERO) && d->n[d->n[x].arg[0]].width <= 1) return d->n[x].arg[0];
        if (is_op(d, x, EVM_OP_XOR)) return s_ap2(d, EVM_OP_EQ, d->n[x].arg[0], d->n[x].arg[1]);
        if (is_op(d, x, EVM_OP_ADD) || is_op(d, x, EVM_OP_SUB)) {
            /* x - y == 0 iff x == y; t + k == 0 iff t == -k */
            lin L = {.k = W0};
            lin_add(d, &L, x, &W1, 0);
            evm_word m1 = wneg(&W1);
            if (!L.overflow && L.n == 2 && weq(&L.k, &W0) &&
                ((weq(&L.coef[0], &W1) && weq(&L.coef[1], &m1)) ||
                 (weq(&L.coef[1], &W1) && weq(&L.coef[0], &m1))))
                return s_ap2(d, EVM_OP_EQ, L.atom[0], L.atom[1]);
            if (!L.overflow && L.n == 1 && (weq(&L.coef[0], &W1) || weq(&L.coef[0], &m1))) {
                evm_word k = weq(&L.coef[0], &W1) ? wneg(&L.k) : L.k;
                return s_ap2(d, EVM_OP_EQ, L.atom[0], s_const(d, &k));
            }
        }
        break;
    }
    case EVM_OP_LT:
        if (x == y || is_const_u(d, y, 0)) return s_const64(d, 0); /* nothing is below 0 */
        if (is_const_u(d, x, 0))                                   /* 0 < y iff y != 0 */
            return s_ap1(d, EVM_OP_ISZERO, s_ap1(d, EVM_OP_ISZERO, y));
        if (is_const_u(d, y, 1)) return s_ap1(d, EVM_OP_ISZERO, x); /* x < 1 iff x == 0 */
        break;
    case EVM_OP_SLT:
        if (x == y) return s_const64(d, 0);
        break;
    case EVM_OP_BYTE:
        if (is_const(d, x, &c) && (!wsmall(&c, &s) || s >= 32)) return s_const64(d, 0);
        break;
    case EVM_OP_SIGNEXTEND:
        if (is_const(d, x, &c) && (!wsmall(&c, &s) || s >= 31)) return y;
        break;
    default: break;
    }
    return s_raw(d, op, nin, a);
}

/* ---- symbolic execution ---- */

static uint32_t s_env(sdag *d, uint8_t op) {
    if (op == EVM_OP_SELFBALANCE) /* BALANCE(ADDRESS), as the EVM defines it */
        return s_ap1(d, EVM_OP_BALANCE, s_leaf(d, EVM_OP_ADDRESS, 0, NULL));
    return s_leaf(d, op, 0, NULL);
}

/* Run code on the symbolic stack st[0..*depth) (room for cap words):
 * 0 when it runs to its end, 1 on a fault, -1 when out of memory. */
static int s_exec(sdag *d, const uint8_t *code, size_t len, uint32_t n_opaque, uint32_t *st,
                  uint32_t *depth, uint32_t cap) {
    uint32_t n = *depth;
    for (size_t pc = 0; pc < len;) {
        uint8_t op = code[pc];
        size_t k = op >= EVM_OP_PUSH1 && op <= EVM_OP_PUSH32 ? (size_t)(op - EVM_OP_PUSH1 + 1) : 0;
        uint32_t r = S_NONE;
        switch (fit_evm_model_class(op)) {
        case FIT_M_PURE: {
            int nin = pure_nin(op);
            if (n < (uint32_t)nin) return 1;
            uint32_t a[3] = {S_NONE, S_NONE, S_NONE};
            for (int i = 0; i < nin; i++)
                a[i] = st[n - 1 - (uint32_t)i];
            n -= (uint32_t)nin;
            r = s_apply(d, op, a);
            break;
        }
        case FIT_M_READ:
            if (!n) return 1;
            r = s_ap1(d, op, st[--n]);
            break;
        case FIT_M_ENV: r = s_env(d, op); break;
        case FIT_M_PUSH: {
            uint32_t idx;
            if (k == 32 && pc + 33 <= len &&
                fit_evm_opaque_index(code + pc + 1, 32, n_opaque, &idx)) {
                r = s_leaf(d, S_OPAQUE, idx, NULL);
            } else {
                uint8_t be[32] = {0};
                for (size_t j = 0; j < k && pc + 1 + j < len; j++)
                    be[32 - k + j] = code[pc + 1 + j];
                evm_word w;
                fit_evm_word_from_be(be, &w);
                r = s_const(d, &w);
            }
            break;
        }
        case FIT_M_POP:
            if (!n) return 1;
            n--;
            pc++;
            continue;
        case FIT_M_DUP: {
            uint32_t m = (uint32_t)(op - EVM_OP_DUP1 + 1);
            if (n < m) return 1;
            r = st[n - m];
            break;
        }
        case FIT_M_SWAP: {
            uint32_t m = (uint32_t)(op - EVM_OP_SWAP1 + 1);
            if (n < m + 1) return 1;
            uint32_t x = st[n - 1];
            st[n - 1] = st[n - 1 - m];
            st[n - 1 - m] = x;
            pc++;
            continue;
        }
        default: return 1;
        }
        if (r == S_NONE) return -1;
        if (n >= cap) return 1;
        st[n++] = r;
        pc += 1 + k;
    }
    *depth = n;
    return 0;
}

/* Code run on n_in input leaves (made first: ids 0..n_in-1 in a new DAG). */
static int s_run(sdag *d, uint32_t n_in, uint32_t n_opaque, const uint8_t *code, size_t len,
                 uint32_t *st, uint32_t *depth) {
    for (uint32_t k = 0; k < n_in; k++)
        if ((st[k] = s_leaf(d, S_INPUT, k, NULL)) == S_NONE) return -1;
    *depth = n_in;
    return s_exec(d, code, len, n_opaque, st, depth, FIT_EVM_MODEL_STACK);
}

static int s_block(sdag *d, const fit_task *t, const uint8_t *code, size_t len, uint32_t *st,
                   uint32_t *depth) {
    return s_run(d, t->n_in, t->n_opaque, code, len, st, depth);
}

int fit_evm_prove(const fit_task *t, const uint8_t *code, size_t len) {
    if (t->io != FIT_IO_EVM_STACK || !t->block) return 0;
    sdag d = {0};
    uint32_t *a = malloc(2 * FIT_EVM_MODEL_STACK * sizeof *a), *b = a + FIT_EVM_MODEL_STACK;
    uint32_t da, db;
    int rc = -1;
    if (!a) goto cleanup;
    int ra = s_block(&d, t, t->block, t->block_len, a, &da);
    int rb = ra ? ra : s_block(&d, t, code, len, b, &db);
    if (ra < 0 || rb < 0) goto cleanup;
    rc = !ra && !rb && da == db && !memcmp(a, b, da * sizeof *a);
cleanup:
    free(a);
    sdag_free(&d);
    return rc;
}

/* ---- code generation: A* over symbolic stacks ---- */

#define CG_SLACK 4 /* stack room above max(inputs, outputs) */

typedef struct {
    uint32_t parent; /* S_NONE for the start */
    uint32_t off;    /* its stack in the pool */
    uint32_t leaf;   /* the node a push pushes */
    uint16_t g;
    uint8_t len, op; /* stack depth; the move that made it */
} cg_state;

typedef struct {
    uint32_t f, g, idx, pre; /* pre: stack words already as in the target, from the bottom */
} cg_open;

typedef struct {
    sdag *d;
    const uint32_t *target;
    uint32_t nt, lmax, nin;
    /* the target's subterms S: local index of node id (S_NONE if not in S) */
    uint32_t *sidx, nids;
    uint32_t *snode, ns;       /* S in decreasing id order */
    uint8_t *tcount;           /* per S node: copies in the target */
    uint8_t *mincost;          /* per S node: the least gas of making one */
    uint8_t *demand, *scount;  /* per S node, of the last stack cg_h saw */
    uint8_t *have, *want;      /* the same for the stack being expanded */
    uint32_t *leaves, nleaves; /* leaves a push can make: S's, then 0 and 1 */
    uint32_t nsleaves;         /* S's leaves */
    uint8_t ops[48];           /* opcodes that may make S nodes */
    bool weak;                 /* the admissible heuristic: target words only */
    uint32_t nops;
    /* states */
    cg_state *st;
    uint32_t nst, capst;
    uint32_t *pool;
    size_t npool, cappool;
    uint32_t *tab; /* open addressing, state index + 1 */
    uint32_t ntab;
    cg_open *heap;
    uint32_t nheap, capheap;
    /* memo of s_apply over (op, args) */
    uint32_t (*memo)[5];
    uint32_t nmemo, usedmemo;
    bool oom;
} cgen;

static bool in_s(const cgen *c, uint32_t id) {
    return id < c->nids && c->sidx[id] != S_NONE;
}

static uint64_t stack_hash(const uint32_t *s, uint32_t n) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ull;
    return h ^ (h >> 31);
}

static uint32_t memo_apply(cgen *c, uint8_t op, const uint32_t *a) {
    if (2 * (c->usedmemo + 1) > c->nmemo) {
        uint32_t nn = c->nmemo ? 2 * c->nmemo : 4096;
        uint32_t(*m)[5] = calloc(nn, sizeof *m);
        if (!m) {
            c->oom = true;
            return S_NONE;
        }
        for (uint32_t i = 0; i < c->nmemo; i++) {
            if (!c->memo[i][4]) continue;
            uint64_t h = stack_hash(c->memo[i], 4);
            uint32_t j = (uint32_t)h & (nn - 1);
            while (m[j][4])
                j = (j + 1) & (nn - 1);
            cpy(m[j], c->memo[i], sizeof *m);
        }
        free(c->memo);
        c->memo = m;
        c->nmemo = nn;
    }
    uint32_t key[4] = {op, a[0], a[1], a[2]};
    uint64_t h = stack_hash(key, 4);
    uint32_t j = (uint32_t)h & (c->nmemo - 1);
    for (; c->memo[j][4]; j = (j + 1) & (c->nmemo - 1))
        if (!memcmp(c->memo[j], key, sizeof key)) return c->memo[j][4] - 1;
    uint32_t r = s_apply(c->d, op, a);
    if (r == S_NONE) {
        c->oom = true;
        return S_NONE;
    }
    cpy(c->memo[j], key, sizeof key);
    c->memo[j][4] = r + 1;
    c->usedmemo++;
    return r;
}

/* The gas still needed from stack s, estimated. Every S node the target
 * needs that is not on the stack must be made once (its least cost), and
 * every missing copy of a target word costs at least 2; the weak
 * (admissible) estimate counts the target's own words only and takes the
 * larger of that and 2 per word the stack must lose (POP is the cheapest
 * way down); the strong one adds 2 per word that nothing needs (5 when a
 * word that stays is above it: SWAP and POP). Leaves
 * scount and demand (copies wanted: by the target and by needed nodes) of
 * every S node. UINT32_MAX when a needed input is gone for good. */
static uint32_t cg_h(cgen *c, const uint32_t *s, uint32_t n) {
    memset(c->scount, 0, c->ns);
    memset(c->demand, 0, c->ns);
    uint32_t junk = 0, buried = 0;
    bool above = false; /* a word that stays is above */
    for (uint32_t i = n; i-- > 0;) {
        if (!in_s(c, s[i])) {
            junk++;
            buried += above; /* a SWAP must bring it up first */
        } else {
            above = true;
            if (c->scount[c->sidx[s[i]]] < 255) c->scount[c->sidx[s[i]]]++;
        }
    }
    uint32_t h = 0;
    for (uint32_t i = 0; i < c->ns; i++) { /* decreasing ids: parents before their args */
        uint32_t id = c->snode[i];
        unsigned dem = (unsigned)c->tcount[i] + c->demand[i];
        c->demand[i] = (uint8_t)(dem > 255 ? 255 : dem);
        bool need = !c->scount[i] && dem;
        if (need) {
            const snode *p = &c->d->n[id];
            if (p->op == S_INPUT) return UINT32_MAX;
            /* weak: only the target's own words count, since normalisation
             * can make a node without its arguments (PUSH0 DUP2 GT is
             * ISZERO(ISZERO(x)) without ISZERO(x)) */
            if (!c->weak || c->tcount[i]) h += c->mincost[i];
            for (int k = 0; k < p->nargs; k++) {
                uint32_t a = c->sidx[p->arg[k]];
                if (c->demand[a] < 255) c->demand[a]++;
            }
        }
        int extra = (int)c->tcount[i] - (int)c->scount[i] - (need ? 1 : 0);
        if (extra > 0) h += 2u * (uint32_t)extra;
        if (c->scount[i] > dem) junk += c->scount[i] - dem;
    }
    if (!c->weak) return h + 2 * junk + 3 * buried;
    uint32_t down = n > c->nt ? 2 * (n - c->nt) : 0;
    return h > down ? h : down;
}

/* Order of the open list: f, then more of the target in place, then
 * deeper (larger g), then older. */
static bool open_before(const cg_open *a, const cg_open *b) {
    if (a->f != b->f) return a->f < b->f;
    if (a->pre != b->pre) return a->pre > b->pre;
    if (a->g != b->g) return a->g > b->g;
    return a->idx < b->idx;
}

static uint32_t prefix_len(const cgen *c, const uint32_t *s, uint32_t n) {
    uint32_t k = 0;
    while (k < n && k < c->nt && s[k] == c->target[k])
        k++;
    return k;
}

static int heap_push(cgen *c, uint32_t f, uint32_t g, uint32_t idx, uint32_t pre) {
    if (c->nheap == c->capheap) {
        uint32_t nc = c->capheap ? 2 * c->capheap : 1024;
        cg_open *q = realloc(c->heap, nc * sizeof *q);
        if (!q) return -1;
        c->heap = q;
        c->capheap = nc;
    }
    uint32_t i = c->nheap++;
    cg_open e = {f, g, idx, pre};
    while (i) {
        uint32_t p = (i - 1) / 2;
        const cg_open *q = &c->heap[p];
        if (!open_before(&e, q)) break;
        c->heap[i] = *q;
        i = p;
    }
    c->heap[i] = e;
    return 0;
}

static cg_open heap_pop(cgen *c) {
    cg_open top = c->heap[0], e = c->heap[--c->nheap];
    uint32_t i = 0, n = c->nheap;
    for (;;) {
        uint32_t l = 2 * i + 1, best = i;
        const cg_open *b = &e;
        for (uint32_t k = l; k < l + 2 && k < n; k++) {
            const cg_open *q = &c->heap[k];
            if (open_before(q, b)) {
                best = k;
                b = q;
            }
        }
        if (best == i) break;
        c->heap[i] = c->heap[best];
        i = best;
    }
    if (n) c->heap[i] = e;
    return top;
}

/* Add the state reached from parent by a move, if it is new or cheaper. */
static int cg_add(cgen *c, uint32_t parent, const uint32_t *s, uint32_t n, uint32_t g, uint8_t op,
                  uint32_t leaf, uint32_t bound) {
    uint32_t h = cg_h(c, s, n);
    if (h == UINT32_MAX || g + h >= bound || g > 60000) return 0;
    if (2 * (c->nst + 1) > c->ntab) {
        uint32_t nt = c->ntab ? 2 * c->ntab : 4096;
        uint32_t *tab = calloc(nt, sizeof *tab);
        if (!tab) return -1;
        for (uint32_t i = 0; i < c->nst; i++) {
            uint64_t hh = stack_hash(c->pool + c->st[i].off, c->st[i].len);
            uint32_t j = (uint32_t)hh & (nt - 1);
            while (tab[j])
                j = (j + 1) & (nt - 1);
            tab[j] = i + 1;
        }
        free(c->tab);
        c->tab = tab;
        c->ntab = nt;
    }
    uint64_t hh = stack_hash(s, n);
    uint32_t j = (uint32_t)hh & (c->ntab - 1);
    for (; c->tab[j]; j = (j + 1) & (c->ntab - 1)) {
        cg_state *o = &c->st[c->tab[j] - 1];
        if (o->len == n && !memcmp(c->pool + o->off, s, n * sizeof *s)) {
            if (o->g <= g) return 0;
            o->g = (uint16_t)g; /* a cheaper way to the same stack: reopen it */
            o->parent = parent;
            o->op = op;
            o->leaf = leaf;
            return heap_push(c, g + h, g, c->tab[j] - 1, prefix_len(c, s, n));
        }
    }
    if (c->nst == c->capst) {
        uint32_t nc = c->capst ? 2 * c->capst : 1024;
        cg_state *q = realloc(c->st, nc * sizeof *q);
        if (!q) return -1;
        c->st = q;
        c->capst = nc;
    }
    if (c->npool + n > c->cappool) {
        size_t nc = c->cappool ? 2 * c->cappool : 16384;
        while (nc < c->npool + n)
            nc *= 2;
        uint32_t *q = realloc(c->pool, nc * sizeof *q);
        if (!q) return -1;
        c->pool = q;
        c->cappool = nc;
    }
    cpy(c->pool + c->npool, s, n * sizeof *s);
    c->st[c->nst] = (cg_state){.parent = parent,
                               .off = (uint32_t)c->npool,
                               .leaf = leaf,
                               .g = (uint16_t)g,
                               .len = (uint8_t)n,
                               .op = op};
    c->npool += n;
    c->tab[j] = ++c->nst;
    return heap_push(c, g + h, g, c->nst - 1, prefix_len(c, s, n));
}

static void cg_free(cgen *c) {
    free(c->sidx);
    free(c->snode);
    free(c->tcount);
    free(c->mincost);
    free(c->demand);
    free(c->have);
    free(c->want);
    free(c->scount);
    free(c->leaves);
    free(c->st);
    free(c->pool);
    free(c->tab);
    free(c->heap);
    free(c->memo);
}

static int leaf_gas(const sdag *d, uint32_t id) {
    const snode *p = &d->n[id];
    if (p->op == S_CONST) return weq(&p->val, &W0) ? 2 : 3;
    if (p->op == S_OPAQUE) return 3;
    if (p->op == S_INPUT) return -1;
    if (p->nargs == 0) return evm_static_gas(EVM_FORK_CANCUN, (uint8_t)p->op);
    return -1;
}

/* Collect S and the search's tables. 0, or -1 when out of memory. */
static int cg_prepare(cgen *c) {
    sdag *d = c->d;
    c->nids = d->len;
    c->sidx = malloc(c->nids * sizeof *c->sidx);
    uint8_t *mark = calloc(c->nids, 1);
    if (!c->sidx || !mark) {
        free(mark);
        return -1;
    }
    for (uint32_t i = 0; i < c->nids; i++)
        c->sidx[i] = S_NONE;
    for (uint32_t i = 0; i < c->nt; i++)
        mark[c->target[i]] = 1;
    for (uint32_t id = c->nids; id-- > 0;) /* args have smaller ids */
        if (mark[id])
            for (int k = 0; k < d->n[id].nargs; k++)
                mark[d->n[id].arg[k]] = 1;
    for (uint32_t id = 0; id < c->nids; id++)
        c->ns += mark[id];
    c->snode = malloc((c->ns + 1) * sizeof *c->snode);
    c->tcount = calloc(c->ns + 1, 1);
    c->mincost = calloc(c->ns + 1, 1);
    c->demand = calloc(c->ns + 1, 1);
    c->have = calloc(c->ns + 1, 1);
    c->want = calloc(c->ns + 1, 1);
    c->scount = calloc(c->ns + 1, 1);
    c->leaves = malloc((c->ns + 2) * sizeof *c->leaves);
    if (!c->snode || !c->tcount || !c->mincost || !c->demand || !c->have || !c->want ||
        !c->scount || !c->leaves) {
        free(mark);
        return -1;
    }
    uint32_t k = 0;
    for (uint32_t id = c->nids; id-- > 0;)
        if (mark[id]) {
            c->sidx[id] = k;
            c->snode[k++] = id;
        }
    free(mark);
    for (uint32_t i = 0; i < c->nt; i++)
        if (c->tcount[c->sidx[c->target[i]]] < 255) c->tcount[c->sidx[c->target[i]]]++;
    /* the cheap operations always: normalisation may turn their results into
     * S nodes of other opcodes (PUSH0 LT makes ISZERO(ISZERO(y))) */
    static const uint8_t base[] = {EVM_OP_ISZERO, EVM_OP_NOT, EVM_OP_LT,  EVM_OP_GT,
                                   EVM_OP_SLT,    EVM_OP_SGT, EVM_OP_EQ,  EVM_OP_AND,
                                   EVM_OP_OR,     EVM_OP_XOR, EVM_OP_ADD, EVM_OP_SUB,
                                   EVM_OP_SHL,    EVM_OP_SHR, EVM_OP_SAR, EVM_OP_BYTE};
    cpy(c->ops, base, sizeof base);
    c->nops = sizeof base;
    for (uint32_t i = 0; i < c->ns; i++) {
        uint32_t id = c->snode[i];
        const snode *p = &d->n[id];
        int lg = leaf_gas(d, id);
        if (p->op == S_INPUT) {
            c->mincost[i] = 0;
        } else if (lg >= 0) {
            c->mincost[i] = (uint8_t)lg;
            c->leaves[c->nleaves++] = id;
        } else {
            /* any opcode that makes a non-leaf costs at least 3; state reads
             * only come from their own opcode */
            int g = is_read((uint8_t)p->op) ? evm_static_gas(EVM_FORK_CANCUN, (uint8_t)p->op) : 3;
            c->mincost[i] = (uint8_t)(g > 255 ? 255 : g);
            uint8_t ops[2] = {(uint8_t)p->op, 0};
            if (p->op == EVM_OP_LT) ops[1] = EVM_OP_GT;
            if (p->op == EVM_OP_SLT) ops[1] = EVM_OP_SGT;
            for (int j = 0; j < 2 && ops[j]; j++) {
                bool have = false;
                for (uint32_t q = 0; q < c->nops; q++)
                    have |= c->ops[q] == ops[j];
                if (!have && c->nops < sizeof c->ops) c->ops[c->nops++] = ops[j];
            }
        }
    }
    /* the admissible search may also push 0 and 1, one at a time: PUSH0
     * DUP2 GT makes ISZERO(ISZERO(x)) */
    c->nsleaves = c->nleaves;
    for (uint64_t v = 0; v < 2; v++) {
        uint32_t id = s_const64(d, v);
        if (id == S_NONE) return -1;
        bool have = false;
        for (uint32_t q = 0; q < c->nleaves; q++)
            have |= c->leaves[q] == id;
        if (!have) c->leaves[c->nleaves++] = id;
    }
    return 0;
}

/* Expand one state: every move whose result stays within S. */
static int cg_expand(cgen *c, uint32_t idx, uint32_t bound) {
    cg_state cur = c->st[idx];
    uint32_t s[64], n = cur.len, g = cur.g;
    cpy(s, c->pool + cur.off, n * sizeof *s);
    uint32_t t[64];
    /* the strong search makes only what is still wanted and pops only what
     * is not: copies on the stack against copies wanted (cg_h) */
    bool strong = !c->weak;
    if (strong) {
        cg_h(c, s, n);
        cpy(c->have, c->scount, c->ns);
        cpy(c->want, c->demand, c->ns);
    }
#define WANTED(id) (!in_s(c, id) ? false : c->have[c->sidx[id]] < c->want[c->sidx[id]])
    /* operations */
    for (uint32_t q = 0; q < c->nops; q++) {
        uint8_t op = c->ops[q];
        int nin = is_read(op) ? 1 : pure_nin(op);
        if (nin < 0 || (uint32_t)nin > n) continue;
        uint32_t a[3] = {S_NONE, S_NONE, S_NONE};
        for (int i = 0; i < nin; i++)
            a[i] = s[n - 1 - (uint32_t)i];
        uint32_t r = memo_apply(c, op, a);
        if (c->oom) return -1;
        if (!in_s(c, r) || (strong && !WANTED(r))) continue;
        cpy(t, s, n * sizeof *s);
        t[n - (uint32_t)nin] = r;
        if (cg_add(c, idx, t, n - (uint32_t)nin + 1,
                   g + (uint32_t)evm_static_gas(EVM_FORK_CANCUN, op), op, S_NONE, bound))
            return -1;
    }
    if (n < c->lmax) {
        /* pushes of leaves; 0 and 1 outside S only in the admissible search,
         * and only when no such word is on the stack yet */
        uint32_t nl = c->nsleaves;
        if (c->weak) {
            nl = c->nleaves;
            for (uint32_t i = 0; i < n && nl > c->nsleaves; i++)
                if (!in_s(c, s[i]) && s[i] >= c->nin) nl = c->nsleaves;
        }
        for (uint32_t q = 0; q < nl; q++) {
            if (strong && !WANTED(c->leaves[q])) continue;
            cpy(t, s, n * sizeof *s);
            t[n] = c->leaves[q];
            if (cg_add(c, idx, t, n + 1, g + (uint32_t)leaf_gas(c->d, c->leaves[q]), 0,
                       c->leaves[q], bound))
                return -1;
        }
        /* DUPn */
        for (uint32_t k = 1; k <= n && k <= 16; k++) {
            if (strong && !WANTED(s[n - k])) continue;
            cpy(t, s, n * sizeof *s);
            t[n] = s[n - k];
            if (cg_add(c, idx, t, n + 1, g + 3, (uint8_t)(EVM_OP_DUP1 + k - 1), S_NONE, bound))
                return -1;
        }
    }
    /* SWAPn */
    for (uint32_t k = 1; k + 1 <= n && k <= 16; k++) {
        if (s[n - 1] == s[n - 1 - k]) continue;
        cpy(t, s, n * sizeof *s);
        t[n - 1] = s[n - 1 - k];
        t[n - 1 - k] = s[n - 1];
        if (cg_add(c, idx, t, n, g + 3, (uint8_t)(EVM_OP_SWAP1 + k - 1), S_NONE, bound)) return -1;
    }
    /* POP */
    bool spare =
        n && (!in_s(c, s[n - 1]) || c->have[c->sidx[s[n - 1]]] > c->want[c->sidx[s[n - 1]]]);
    if (n && (!strong || spare) && cg_add(c, idx, s, n - 1, g + 2, EVM_OP_POP, S_NONE, bound))
        return -1;
#undef WANTED
    return 0;
}

/* The code of the path to state idx; SIZE_MAX if it does not fit cap. */
static size_t cg_emit(const cgen *c, uint32_t idx, uint8_t *out, size_t cap) {
    uint32_t path[4096], np = 0;
    for (uint32_t i = idx; c->st[i].parent != S_NONE && np < 4096; i = c->st[i].parent)
        path[np++] = i;
    size_t n = 0;
    while (np) {
        const cg_state *m = &c->st[path[--np]];
        uint8_t buf[33];
        size_t k = 1;
        if (m->op == 0) { /* a push */
            const snode *p = &c->d->n[m->leaf];
            if (p->op == S_OPAQUE) {
                fit_evm_opaque_push(p->aux, buf);
                k = 33;
            } else if (p->op == S_CONST) {
                unsigned nb = (wbits(&p->val) + 7) / 8;
                uint8_t be[32];
                fit_evm_word_to_be(&p->val, be);
                buf[0] = nb ? (uint8_t)(EVM_OP_PUSH1 + nb - 1) : EVM_OP_PUSH0;
                cpy(buf + 1, be + 32 - nb, nb);
                k = 1 + nb;
            } else {
                buf[0] = (uint8_t)p->op;
            }
        } else {
            buf[0] = m->op;
        }
        if (n + k > cap) return SIZE_MAX;
        cpy(out + n, buf, k);
        n += k;
    }
    return n;
}

/* One A* search under bound with the given heuristic, from the start
 * again (S and the memo are kept). Returns 1 with the code in out, 0 if
 * none, -1 when out of memory. */
static int cg_search(cgen *c, uint32_t n_in, bool weak, uint32_t bound, uint64_t max_expand,
                     uint8_t *out, size_t cap, size_t *len, uint32_t *gas, uint64_t *nexp) {
    c->weak = weak;
    c->nst = 0;
    c->npool = 0;
    c->nheap = 0;
    if (c->tab) memset(c->tab, 0, c->ntab * sizeof *c->tab);
    uint32_t init[64], goal = S_NONE, best = bound;
    for (uint32_t k = 0; k < n_in; k++)
        init[k] = k; /* the input leaves were made first: ids 0..n_in-1 */
    if (cg_add(c, S_NONE, init, n_in, 0, 0, S_NONE, best)) return -1;
    uint64_t n = 0;
    while (c->nheap && n < max_expand) {
        cg_open e = heap_pop(c);
        cg_state *sp = &c->st[e.idx];
        if (e.g != sp->g) continue; /* reopened with a cheaper g since */
        if (e.f >= best) break;     /* nothing cheaper is left */
        if (sp->len == c->nt && !memcmp(c->pool + sp->off, c->target, c->nt * sizeof *c->target)) {
            best = sp->g;
            goal = e.idx;
            break; /* the first goal taken is the cheapest (weak) or nearly (strong) */
        }
        n++;
        if (cg_expand(c, e.idx, best)) return -1;
    }
    *nexp += n;
    if (goal == S_NONE) return 0;
    size_t k = cg_emit(c, goal, out, cap);
    if (k == SIZE_MAX) return 0;
    *len = k;
    *gas = best;
    return 1;
}

/* The codegen of code (any straight-line code of the model) under bound. */
static int codegen_code(const uint8_t *code, size_t len, uint32_t n_opaque, int64_t bound,
                        uint64_t max_expand, uint8_t *out, size_t cap, size_t *olen, int64_t *gas,
                        uint64_t *expanded) {
    sdag d = {0};
    cgen c = {.d = &d};
    uint32_t *st = malloc(FIT_EVM_MODEL_STACK * sizeof *st);
    uint32_t depth = 0, n_in;
    int32_t delta;
    int rc = -1;
    uint64_t nexp = 0;
    if (!st) goto cleanup;
    rc = 0;
    char why[8];
    if (fit_evm_shape(code, len, &n_in, &delta, why, sizeof why) || n_in > 1024) goto cleanup;
    int r = s_run(&d, n_in, n_opaque, code, len, st, &depth);
    rc = -1;
    if (r < 0) goto cleanup;
    rc = 0;
    uint32_t lmax = (n_in > depth ? n_in : depth) + CG_SLACK;
    if (r || lmax > 48) goto cleanup; /* too deep for this search */
    c.target = st;
    c.nt = depth;
    c.lmax = lmax;
    c.nin = n_in;
    rc = -1;
    if (cg_prepare(&c)) goto cleanup;
    if (bound < 0 || bound > 60000) bound = 60000;
    /* first a search guided by the whole terms the target needs (fast, but
     * it can overestimate when normalisation makes a node without its
     * arguments), then an admissible one under that result: together
     * optimal within the space when the second finishes */
    uint32_t g = 0;
    int found =
        cg_search(&c, n_in, false, (uint32_t)bound, max_expand / 2, out, cap, olen, &g, &nexp);
    if (found < 0) goto cleanup;
    if (found) bound = g;
    int found2 =
        cg_search(&c, n_in, true, (uint32_t)bound, max_expand - nexp, out, cap, olen, &g, &nexp);
    if (found2 < 0) goto cleanup;
    rc = found || found2; /* out holds the cheaper one: the second writes only if it found one */
    if (rc) *gas = g;
cleanup:
    if (expanded) *expanded += nexp;
    cg_free(&c);
    free(st);
    sdag_free(&d);
    return rc;
}

int fit_evm_codegen(const fit_task *t, int64_t bound, uint64_t max_expand, uint8_t *out, size_t cap,
                    size_t *len, int64_t *gas, uint64_t *expanded) {
    if (t->io != FIT_IO_EVM_STACK || !t->block) return 0;
    if (expanded) *expanded = 0;
    return codegen_code(t->block, t->block_len, t->n_opaque, bound, max_expand, out, cap, len, gas,
                        expanded);
}

static size_t insn_len(const uint8_t *c, size_t pc, size_t n) {
    uint8_t op = c[pc];
    size_t k =
        1 + (op >= EVM_OP_PUSH1 && op <= EVM_OP_PUSH32 ? (size_t)(op - EVM_OP_PUSH1 + 1) : 0);
    return pc + k <= n ? k : n - pc;
}

int fit_evm_codegen_windows(const fit_task *t, const uint8_t *code, size_t len, uint32_t window,
                            uint64_t max_expand, uint8_t *out, size_t cap, size_t *olen,
                            int64_t *gas, uint64_t *expanded) {
    if (len > cap || window < 2) return 0;
    uint8_t *cur = malloc(cap), *buf = malloc(cap), *piece = malloc(cap);
    int rc = -1;
    if (!cur || !buf || !piece) goto cleanup;
    cpy(cur, code, len);
    size_t n = len;
    int64_t start_gas = fit_evm_static_gas(code, len);
    bool improved = true;
    for (int pass = 0; improved && pass < 8; pass++) {
        improved = false;
        size_t at = 0;
        while (at < n) {
            /* the window [at, end): `window` instructions; mid: half of them */
            size_t end = at, mid = at;
            for (uint32_t k = 0; end < n && k < window; k++) {
                end += insn_len(cur, end, n);
                if (k + 1 == (window + 1) / 2) mid = end;
            }
            int64_t wg = fit_evm_static_gas(cur + at, end - at), g = 0;
            size_t pl = 0;
            int r = codegen_code(cur + at, end - at, t->n_opaque, wg, max_expand, piece, cap, &pl,
                                 &g, expanded);
            if (r < 0) goto cleanup;
            if (r == 1 && g < wg && n - (end - at) + pl <= cap) { /* splice it in; again */
                cpy(buf, cur, at);
                cpy(buf + at, piece, pl);
                cpy(buf + at + pl, cur + end, n - end);
                n = n - (end - at) + pl;
                cpy(cur, buf, n);
                improved = true;
                continue;
            }
            if (end >= n) break;
            at = mid > at ? mid : end;
        }
    }
    int64_t ng = fit_evm_static_gas(cur, n);
    rc = 0;
    if (ng < start_gas) {
        cpy(out, cur, n);
        *olen = n;
        *gas = ng;
        rc = 1;
    }
cleanup:
    free(cur);
    free(buf);
    free(piece);
    return rc;
}

/* ---- a lower bound ---- */

int64_t fit_evm_lower_bound(const fit_task *t) {
    if (t->io != FIT_IO_EVM_STACK || !t->block) return -1;
    sdag d = {0};
    uint32_t *st = malloc(FIT_EVM_MODEL_STACK * sizeof *st), depth = 0;
    uint32_t *uses = calloc(t->n_in + 1, sizeof *uses);
    int64_t lb = -1;
    if (!st || !uses || s_block(&d, t, t->block, t->block_len, st, &depth)) goto cleanup;
    /* every word of the final stack that is not an input was made by its own
     * instruction (at least 2 gas; 3 for a nonzero constant or a symbolic
     * push), and so was every extra copy of an input (DUP, 3) */
    int64_t make = 0;
    bool identity = depth == t->n_in;
    for (uint32_t j = 0; j < depth; j++) {
        const snode *p = &d.n[st[j]];
        identity &= p->op == S_INPUT && p->aux == j;
        if (p->op == S_INPUT)
            make += uses[p->aux]++ ? 3 : 0;
        else if ((p->op == S_CONST && !weq(&p->val, &W0)) || p->op == S_OPAQUE)
            make += 3;
        else
            make += 2;
    }
    /* each net removal of a word costs at least 2 (POP) */
    int64_t drop = depth < t->n_in ? 2 * (int64_t)(t->n_in - depth) : 0;
    lb = make > drop ? make : drop;
    if (!lb && !identity) lb = 2;
cleanup:
    free(st);
    free(uses);
    sdag_free(&d);
    return lb;
}
