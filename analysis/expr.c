/* Readable models (docs/report.md, "Expressions"): a native program executed
 * symbolically into an expression over its inputs, simplified by rules that
 * hold for every word, and printed as infix, as SymPy input or as LaTeX.
 *
 * The executor follows the VM's rules exactly (docs/isa.md): the operand-
 * shortage rule, the checks an instruction makes before it runs (stack,
 * gas, memory-time, stack and memory limits), blocks, and jumps whose
 * condition does not depend on the inputs. So the expression, evaluated on
 * words (an_expr_eval), gives the VM's output bit for bit. */
#include "analysis/analysis.h"
#include "vm/vm.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { K_CONST, K_VAR, K_OP, K_ITE };

typedef struct {
    uint8_t kind, op; /* op: the VM opcode of K_OP */
    uint32_t a, b, c; /* operands (K_ITE: c ? a : b) */
    vm_word val;      /* K_CONST: the word; K_VAR: the input index */
} node;

#define NONE       UINT32_MAX
#define MAX_NODES  (1u << 20)
#define MAX_STEPS  100000u /* instructions executed before giving up */
#define MAX_TEXT   (1u << 16)
#define LOOP_FRAME 2u

struct an_expr {
    node *n;
    uint32_t nn, cap;
    uint32_t *hash; /* open addressing over n, size hcap */
    uint32_t hcap;
    an_expr_opts o;
    uint32_t out[AN_EXPR_MAX_OUT]; /* the outputs, deepest first */
    uint32_t nout;
    char reason[160]; /* empty when there is an expression */
};

/* ---- nodes, hash-consed so that equal subexpressions are one node ---- */

static uint32_t node_hash(const node *x) {
    uint64_t h = (uint64_t)x->kind * 0x9e3779b97f4a7c15ull ^ x->op;
    h = (h ^ x->a) * 0xff51afd7ed558ccdull;
    h = (h ^ x->b) * 0xc4ceb9fe1a85ec53ull;
    h = (h ^ x->c) * 0xff51afd7ed558ccdull;
    h ^= (uint64_t)x->val * 0x9e3779b97f4a7c15ull;
    return (uint32_t)(h ^ h >> 32);
}

static bool node_eq(const node *x, const node *y) {
    return x->kind == y->kind && x->op == y->op && x->a == y->a && x->b == y->b && x->c == y->c &&
           x->val == y->val;
}

static int rehash(an_expr *e) {
    uint32_t cap = e->hcap ? e->hcap * 2 : 1024;
    uint32_t *h = malloc(cap * sizeof *h);
    if (!h) return -1;
    memset(h, 0xff, cap * sizeof *h);
    for (uint32_t i = 0; i < e->nn; i++) {
        uint32_t k = node_hash(&e->n[i]) & (cap - 1);
        while (h[k] != NONE)
            k = (k + 1) & (cap - 1);
        h[k] = i;
    }
    free(e->hash);
    e->hash = h;
    e->hcap = cap;
    return 0;
}

/* The node equal to x, made if new; NONE when out of memory or too many. */
static uint32_t intern(an_expr *e, node x) {
    if (2 * (e->nn + 1) > e->hcap && rehash(e)) return NONE;
    uint32_t k = node_hash(&x) & (e->hcap - 1);
    for (; e->hash[k] != NONE; k = (k + 1) & (e->hcap - 1))
        if (node_eq(&e->n[e->hash[k]], &x)) return e->hash[k];
    if (e->nn >= MAX_NODES) return NONE;
    if (e->nn == e->cap) {
        uint32_t cap = e->cap ? e->cap * 2 : 256;
        node *n = realloc(e->n, cap * sizeof *n);
        if (!n) return NONE;
        e->n = n;
        e->cap = cap;
    }
    e->n[e->nn] = x;
    e->hash[k] = e->nn;
    return e->nn++;
}

static uint32_t mk_const(an_expr *e, vm_word w) {
    return intern(e, (node){K_CONST, 0, NONE, NONE, NONE, w});
}

static bool is_const(const an_expr *e, uint32_t i, vm_word w) {
    return e->n[i].kind == K_CONST && e->n[i].val == w;
}

/* Word semantics: the VM's own, vm_word_op (vm/vm.h). */

/* ---- simplification: only rules that hold for every word ---- */

static uint32_t mk_op(an_expr *e, uint8_t op, uint32_t a, uint32_t b);

static uint32_t simplify(an_expr *e, uint8_t op, uint32_t a, uint32_t b) {
    const vm_word one = e->o.fixed ? VM_FX_ONE : 1;
    /* copies: making a node may move e->n */
    node A = e->n[a], B = b != NONE ? e->n[b] : (node){0};
    const node *na = &A, *nb = b != NONE ? &B : NULL;
    if (na->kind == K_CONST && (!nb || nb->kind == K_CONST))
        return mk_const(e, vm_word_op(op, na->val, nb ? nb->val : 0));
    switch (op) {
    case VM_OP_ADD:
        if (is_const(e, b, 0)) return a;
        if (is_const(e, a, 0)) return b;
        if (nb->kind == K_OP && nb->op == VM_OP_NEG) return mk_op(e, VM_OP_SUB, a, nb->a);
        if (na->kind == K_OP && na->op == VM_OP_NEG) return mk_op(e, VM_OP_SUB, b, na->a);
        /* (x + c1) + c2 = x + (c1 + c2): addition wraps, so it is associative */
        if (nb->kind == K_CONST && na->kind == K_OP &&
            (na->op == VM_OP_ADD || na->op == VM_OP_SUB) && e->n[na->b].kind == K_CONST) {
            vm_word c = e->n[na->b].val;
            vm_word s = na->op == VM_OP_ADD ? vm_word_op(VM_OP_ADD, c, nb->val)
                                            : vm_word_op(VM_OP_SUB, nb->val, c);
            return mk_op(e, VM_OP_ADD, na->a, mk_const(e, s));
        }
        if (na->kind == K_CONST) return mk_op(e, VM_OP_ADD, b, a); /* constants last */
        break;
    case VM_OP_SUB:
        if (a == b) return mk_const(e, 0);
        if (is_const(e, b, 0)) return a;
        if (is_const(e, a, 0)) return mk_op(e, VM_OP_NEG, b, NONE);
        if (nb->kind == K_OP && nb->op == VM_OP_NEG) return mk_op(e, VM_OP_ADD, a, nb->a);
        if (nb->kind == K_CONST)
            return mk_op(e, VM_OP_ADD, a, mk_const(e, vm_word_op(VM_OP_NEG, nb->val, 0)));
        break;
    case VM_OP_NEG:
        if (na->kind == K_OP && na->op == VM_OP_NEG) return na->a;
        if (na->kind == K_OP && na->op == VM_OP_SUB) return mk_op(e, VM_OP_SUB, na->b, na->a);
        break;
    case VM_OP_FMUL:
    case VM_OP_MUL:
        if ((op == VM_OP_FMUL) != e->o.fixed) break; /* MUL of Q32.32 words is not a product */
        if (is_const(e, a, 0) || is_const(e, b, 0)) return mk_const(e, 0);
        if (is_const(e, b, one)) return a;
        if (is_const(e, a, one)) return b;
        if (na->kind == K_CONST) return mk_op(e, op, b, a); /* constants last */
        break;
    case VM_OP_FDIV:
    case VM_OP_DIV:
        if ((op == VM_OP_FDIV) != e->o.fixed) break;
        if (is_const(e, b, one) || is_const(e, a, 0)) return a;
        if (is_const(e, b, 0)) return mk_const(e, 0); /* protected division */
        break;
    case VM_OP_MIN:
    case VM_OP_MAX:
    case VM_OP_AND:
    case VM_OP_OR:
        if (a == b) return a;
        break;
    case VM_OP_XOR:
        if (a == b) return mk_const(e, 0);
        break;
    case VM_OP_EQ:
        if (a == b) return mk_const(e, 1);
        break;
    case VM_OP_LT:
    case VM_OP_GT:
        if (a == b) return mk_const(e, 0);
        break;
    case VM_OP_NOT:
        if (na->kind == K_OP && na->op == VM_OP_NOT) return na->a;
        break;
    case VM_OP_ABS:
        if (na->kind == K_OP && na->op == VM_OP_ABS) return a;
        break;
    }
    return NONE - 1; /* no rule */
}

static uint32_t mk_op(an_expr *e, uint8_t op, uint32_t a, uint32_t b) {
    if (a == NONE || (b == NONE && vm_opinfo_of(op)->in == 2)) return NONE;
    uint32_t s = simplify(e, op, a, b);
    if (s != NONE - 1) return s;
    return intern(e, (node){K_OP, op, a, b, NONE, 0});
}

static uint32_t mk_ite(an_expr *e, uint32_t c, uint32_t a, uint32_t b) {
    if (a == b) return a;
    if (e->n[c].kind == K_CONST) return vm_cond(e->n[c].val) ? a : b;
    return intern(e, (node){K_ITE, 0, a, b, c, 0});
}

/* ---- the symbolic executor ---- */

typedef struct {
    uint32_t *s; /* stack of node ids, bottom first */
    uint32_t depth;
    uint32_t *calls; /* call stack: return addresses, and loop frames (count, round) */
    uint32_t ncalls;
    uint64_t gas, memtime;
} sstate;

typedef struct {
    an_expr *e;
    const uint8_t *code;
    uint32_t len;
    uint32_t *match; /* per pc: an opener's address after its CLOSE; a TIMES's CLOSE: NONE-1 */
    uint8_t *start;  /* per pc (len + 1): a valid jump target */
    vm_limits lim;
    uint64_t steps;
} sexec;

#define LOOP_TAG 0x80000000u
#define LOOP_MAX 0x7fffffffu

static int fail(an_expr *e, const char *fmt, ...) {
    if (e->reason[0]) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
    return -1;
}

static int st_copy(sstate *d, const sstate *s, const vm_limits *l) {
    *d = *s;
    d->s = malloc(((size_t)l->stack + 1) * sizeof *d->s);
    d->calls = malloc(((size_t)l->calls + 2) * sizeof *d->calls);
    if (!d->s || !d->calls) return -1;
    memcpy(d->s, s->s, s->depth * sizeof *d->s);
    memcpy(d->calls, s->calls, s->ncalls * sizeof *d->calls);
    return 0;
}

static void st_free(sstate *s) {
    free(s->s);
    free(s->calls);
}

/* Stop statuses: the program's own way of ending. */
enum { RUN_ON = -2, RUN_FAIL = -1 };

/* Run from pc until pc == stop (returned as RUN_ON), or until the program
 * stops (its vm_status), or RUN_FAIL when it cannot be followed (reason set). */
static int exec_range(sexec *x, sstate *st, uint32_t pc, uint32_t stop, uint32_t *pc_out);

static bool valid_target(const sexec *x, const vm_insn *in) {
    int64_t t = vm_rel_target(in);
    return t >= 0 && t <= x->len && x->start[t];
}

static int exec_if(sexec *x, sstate *st, uint32_t cond, uint32_t body, uint32_t after) {
    an_expr *e = x->e;
    sstate t;
    if (st_copy(&t, st, &x->lim)) {
        st_free(&t);
        return fail(e, "out of memory");
    }
    uint32_t end = 0;
    int r = exec_range(x, &t, body, after, &end);
    int rc = 0;
    if (r == RUN_FAIL)
        rc = -1;
    else if (r != RUN_ON || t.depth != st->depth || t.ncalls != st->ncalls ||
             memcmp(t.calls, st->calls, t.ncalls * sizeof *t.calls))
        rc = fail(e, "an IF block on a value that depends on the inputs %s",
                  r != RUN_ON ? "stops the program" : "changes the stack's depth");
    else {
        for (uint32_t i = 0; i < st->depth && rc == 0; i++)
            if ((st->s[i] = mk_ite(e, cond, t.s[i], st->s[i])) == NONE)
                rc = fail(e, "too large (more than %u subexpressions)", MAX_NODES);
        /* the meters of the costlier path: a limit is checked on both */
        if (t.gas > st->gas) st->gas = t.gas;
        if (t.memtime > st->memtime) st->memtime = t.memtime;
    }
    st_free(&t);
    return rc;
}

static int exec_range(sexec *x, sstate *st, uint32_t pc, uint32_t stop, uint32_t *pc_out) {
    an_expr *e = x->e;
    const vm_limits *l = &x->lim;
    while (pc != stop) {
        if (++x->steps > MAX_STEPS)
            return fail(e, "runs more than %u instructions", MAX_STEPS), RUN_FAIL;
        if (pc >= x->len) return VM_HALTED; /* the end of the code: no gas */
        vm_insn in;
        vm_decode(x->code, x->len, pc, &in);
        if (!in.defined) return VM_INVALID_OPCODE;
        if (in.truncated) return VM_TRUNCATED;
        const vm_opinfo *oi = vm_opinfo_of(in.op);
        uint32_t n = oi->imm == VM_IMM_IDX ? (uint32_t)in.imm : 0;
        uint64_t need = oi->in + (uint64_t)n, out = oi->out + (uint64_t)n;
        uint64_t grow = out > need ? out - need : 0;
        uint64_t words = (uint64_t)st->depth + st->ncalls;
        uint64_t cost = oi->gas, mt = words * cost;
        bool shortage = st->depth < need;
        uint32_t next = pc + in.len;
        if (shortage && l->underflow != VM_UNDERFLOW_SKIP) return VM_STACK_UNDERFLOW;
        if (st->gas + cost > l->gas) return VM_OUT_OF_GAS;
        if (st->memtime + mt > l->memtime) return VM_OUT_OF_MEMTIME;
        if (shortage) { /* the skip rule: charged, then nothing (a block is passed over) */
            st->gas += cost;
            st->memtime += mt;
            pc = vm_is_block_open(in.op) ? x->match[pc] : next;
            continue;
        }
        if (st->depth + grow > l->stack) return VM_STACK_OVERFLOW;
        if (words + grow > l->mem) return VM_OUT_OF_MEMORY;
        uint32_t *s = st->s, d = st->depth;
        uint8_t op = in.op;
        /* instruction-specific stops, before any effect */
        if (op == VM_OP_ARG && (uint64_t)in.imm >= e->o.n_in) return VM_OUT_OF_BOUNDS;
        if ((op == VM_OP_JMP || op == VM_OP_CALL) && !valid_target(x, &in)) return VM_BAD_JUMP;
        if (op == VM_OP_CALL && st->ncalls >= l->calls) return VM_CALL_OVERFLOW;
        if (op == VM_OP_CALL && words + 1 > l->mem) return VM_OUT_OF_MEMORY;
        if (op == VM_OP_TIMES && e->n[s[d - 1]].kind == K_CONST && e->n[s[d - 1]].val > 0) {
            if (st->ncalls + 2 > l->calls) return VM_CALL_OVERFLOW;
            if (words + 1 > l->mem) return VM_OUT_OF_MEMORY;
        }
        uint32_t r = NONE;
        switch (op) {
        case VM_OP_HALT: st->gas += cost, st->memtime += mt; return VM_HALTED;
        case VM_OP_YIELD: st->gas += cost, st->memtime += mt; return VM_YIELDED;
        case VM_OP_NOP: break;
        case VM_OP_PUSH: s[d++] = r = mk_const(e, in.imm); break;
        case VM_OP_POP: d--; break;
        case VM_OP_DUP: r = s[d] = s[d - 1 - n], d++; break;
        case VM_OP_SWAP: r = s[d - 1], s[d - 1] = s[d - 2 - n], s[d - 2 - n] = r; break;
        case VM_OP_OVER: r = s[d] = s[d - 2], d++; break;
        case VM_OP_ROT: r = s[d - 3], s[d - 3] = s[d - 2], s[d - 2] = s[d - 1], s[d - 1] = r; break;
        case VM_OP_ARG: r = s[d++] = intern(e, (node){K_VAR, 0, NONE, NONE, NONE, in.imm}); break;
        case VM_OP_INDEX: {
            vm_word i = 0;
            for (uint32_t k = st->ncalls; k > 0; k--)
                if (st->calls[k - 1] & LOOP_TAG) {
                    i = st->calls[k - 1] & LOOP_MAX;
                    break;
                }
            r = s[d++] = mk_const(e, i);
            break;
        }
        case VM_OP_MSIZE: r = s[d++] = mk_const(e, 0); break; /* the heap is never grown here */
        case VM_OP_JMP:
            st->gas += cost, st->memtime += mt;
            pc = (uint32_t)vm_rel_target(&in);
            continue;
        case VM_OP_JZ:
        case VM_OP_JNZ: {
            const node *c = &e->n[s[d - 1]];
            if (c->kind != K_CONST)
                return fail(e, "a %s at %u on a value that depends on the inputs", oi->name, pc),
                       RUN_FAIL;
            bool take = op == VM_OP_JZ ? c->val == 0 : c->val != 0;
            if (take && !valid_target(x, &in)) return VM_BAD_JUMP;
            st->depth = d - 1;
            st->gas += cost, st->memtime += mt;
            pc = take ? (uint32_t)vm_rel_target(&in) : next;
            continue;
        }
        case VM_OP_CALL:
            st->calls[st->ncalls++] = next;
            st->gas += cost, st->memtime += mt;
            pc = (uint32_t)vm_rel_target(&in);
            continue;
        case VM_OP_RET: {
            uint32_t k = st->ncalls;
            while (k >= 2 && (st->calls[k - 1] & LOOP_TAG))
                k -= 2;
            st->gas += cost, st->memtime += mt;
            if (k == 0) return VM_HALTED;
            pc = st->calls[k - 1];
            st->ncalls = k - 1;
            continue;
        }
        case VM_OP_TIMES: {
            const node *c = &e->n[s[d - 1]];
            if (c->kind != K_CONST)
                return fail(e, "a TIMES at %u whose count depends on the inputs", pc), RUN_FAIL;
            st->depth = d - 1;
            st->gas += cost, st->memtime += mt;
            if (c->val <= 0) {
                pc = x->match[pc];
                continue;
            }
            uint32_t cnt = c->val > LOOP_MAX ? LOOP_MAX : (uint32_t)c->val;
            st->calls[st->ncalls++] = LOOP_TAG | cnt;
            st->calls[st->ncalls++] = LOOP_TAG;
            pc = next;
            continue;
        }
        case VM_OP_IF: {
            uint32_t c = s[d - 1];
            st->depth = d - 1;
            st->gas += cost, st->memtime += mt;
            if (e->n[c].kind == K_CONST) {
                pc = vm_cond(e->n[c].val) ? next : x->match[pc];
                continue;
            }
            if (exec_if(x, st, c, next, x->match[pc])) return RUN_FAIL;
            pc = x->match[pc];
            continue;
        }
        case VM_OP_WHILE: {
            const node *c = &e->n[s[d - 1]];
            if (c->kind != K_CONST)
                return fail(e, "a WHILE at %u whose condition depends on the inputs", pc), RUN_FAIL;
            st->gas += cost, st->memtime += mt;
            pc = vm_cond(c->val) ? next : x->match[pc];
            continue;
        }
        case VM_OP_CLOSE: {
            st->gas += cost, st->memtime += mt;
            uint32_t k = st->ncalls, m = x->match[pc];
            if (m != NONE && x->code[m - 1] == VM_OP_WHILE) {
                if (d == 0) {
                    pc = next;
                    continue;
                }
                const node *c = &e->n[s[d - 1]];
                if (c->kind != K_CONST)
                    return fail(e, "a WHILE's CLOSE at %u on a value that depends on the inputs",
                                pc),
                           RUN_FAIL;
                pc = vm_cond(c->val) ? m : next;
                continue;
            }
            if (m != NONE && k >= 2 && (st->calls[k - 1] & LOOP_TAG)) {
                uint32_t i = (st->calls[k - 1] & LOOP_MAX) + 1, cnt = st->calls[k - 2] & LOOP_MAX;
                if (i < cnt) {
                    st->calls[k - 1] = LOOP_TAG | i;
                    pc = m;
                    continue;
                }
                st->ncalls = k - 2;
            }
            pc = next;
            continue;
        }
        default:
            if (!vm_op_pure(op))
                return fail(e, "uses %s (at %u), which an expression does not express", oi->name,
                            pc),
                       RUN_FAIL;
            if (oi->in == 1)
                r = s[d - 1] = mk_op(e, op, s[d - 1], NONE);
            else
                r = s[d - 2] = mk_op(e, op, s[d - 2], s[d - 1]), d--;
            break;
        }
        if (r == NONE && (op == VM_OP_PUSH || op == VM_OP_ARG || vm_op_pure(op) ||
                          op == VM_OP_INDEX || op == VM_OP_MSIZE))
            return fail(e, "too large (more than %u subexpressions)", MAX_NODES), RUN_FAIL;
        st->depth = d;
        st->gas += cost, st->memtime += mt;
        pc = next;
    }
    if (pc_out) *pc_out = pc;
    return RUN_ON;
}

/* Blocks matched as the interpreter matches them (vm_match_blocks); start[pc]:
 * pc begins an instruction (or is the end). */
static int scan(sexec *x) {
    uint32_t len = x->len;
    x->match = malloc(2 * ((size_t)len + 1) * sizeof *x->match);
    x->start = calloc((size_t)len + 1, 1);
    if (!x->match || !x->start) return -1;
    vm_match_blocks(x->code, len, x->match);
    for (uint32_t pc = 0; pc < len;) {
        vm_insn in;
        vm_decode(x->code, len, pc, &in);
        x->start[pc] = 1;
        pc += in.len;
    }
    x->start[len] = 1;
    return 0;
}

int an_expr_build(const uint8_t *code, size_t len, const an_expr_opts *o, an_expr **out) {
    *out = NULL;
    an_expr *e = calloc(1, sizeof *e);
    if (!e) return -1;
    e->o = *o;
    if (e->o.n_out == 0) e->o.n_out = 1;
    sexec x = {.e = e, .code = code, .len = (uint32_t)len};
    vm_limits_norm(&o->limits, &x.lim); /* the limits the VM would run under */
    sstate st = {0};
    int rc = -1;
    if (rehash(e)) goto cleanup;
    if (o->n_in > VM_MAX_ARGS || e->o.n_out > AN_EXPR_MAX_OUT) {
        fail(e, "%u inputs, %u outputs: more than an expression takes", o->n_in, e->o.n_out);
        rc = 0;
        goto cleanup;
    }
    if (len > VM_MAX_CODE) {
        fail(e, "the code is longer than %u bytes", VM_MAX_CODE);
        rc = 0;
        goto cleanup;
    }
    if (scan(&x)) goto cleanup;
    st.s = malloc(((size_t)x.lim.stack + 1) * sizeof *st.s);
    st.calls = malloc(((size_t)x.lim.calls + 2) * sizeof *st.calls);
    if (!st.s || !st.calls) goto cleanup;
    if (o->n_in > x.lim.stack || o->n_in > x.lim.mem) {
        fail(e, "its %u inputs do not fit on the stack", o->n_in);
        rc = 0;
        goto cleanup;
    }
    for (uint32_t i = 0; i < o->n_in; i++)
        if ((st.s[st.depth++] = intern(e, (node){K_VAR, 0, NONE, NONE, NONE, i})) == NONE)
            goto cleanup;
    int r = exec_range(&x, &st, 0, UINT32_MAX, NULL);
    rc = 0;
    if (r == RUN_FAIL) {
        if (!strcmp(e->reason, "out of memory")) rc = -1;
        goto cleanup;
    }
    if (r != VM_HALTED) {
        fail(e, "the program stops with %s: no output", vm_status_name((vm_status)r));
        goto cleanup;
    }
    if (st.depth == 0) {
        fail(e, "the program leaves no output");
        goto cleanup;
    }
    e->nout = st.depth < e->o.n_out ? st.depth : e->o.n_out;
    memcpy(e->out, st.s + st.depth - e->nout, e->nout * sizeof *e->out);
cleanup:
    st_free(&st);
    free(x.match);
    free(x.start);
    if (rc) {
        an_expr_free(e);
        return -1;
    }
    *out = e;
    return 0;
}

void an_expr_free(an_expr *e) {
    if (!e) return;
    free(e->n);
    free(e->hash);
    free(e);
}

const char *an_expr_reason(const an_expr *e) {
    return e->reason[0] ? e->reason : NULL;
}

uint32_t an_expr_nout(const an_expr *e) {
    return e->reason[0] ? 0 : e->nout;
}

/* ---- evaluation ---- */

int an_expr_eval(const an_expr *e, const vm_word *in, vm_word *out) {
    if (e->reason[0]) return -1;
    vm_word *v = malloc((e->nn ? e->nn : 1) * sizeof *v);
    if (!v) return -1;
    for (uint32_t i = 0; i < e->nn; i++) { /* operands come before the nodes that use them */
        const node *x = &e->n[i];
        switch (x->kind) {
        case K_CONST: v[i] = x->val; break;
        case K_VAR: v[i] = in[x->val]; break;
        case K_ITE: v[i] = vm_cond(v[x->c]) ? v[x->a] : v[x->b]; break;
        default: v[i] = vm_word_op(x->op, v[x->a], x->b != NONE ? v[x->b] : 0); break;
        }
    }
    for (uint32_t k = 0; k < e->nout; k++)
        out[k] = v[e->out[k]];
    free(v);
    return 0;
}

/* Real-number value of a node and a bound on how far the VM's word can be
 * from it (docs/report.md, "Expressions": each Q32.32 rounding adds at most
 * one ulp, and operands' errors propagate through each operation's
 * Lipschitz bound; INFINITY where the operation is discontinuous there, or
 * the value may leave the fixed-point range). */
/* x*y for error terms: 0 when either is 0, so an exact zero times an
 * unbounded error stays 0 rather than NaN (a NaN error compares false and
 * would pass for a bound). */
static double err_mul(double x, double y) {
    return x == 0 || y == 0 ? 0 : x * y;
}

static void eval_real(const an_expr *e, const node *x, const double *v, const double *er,
                      const double *in, double *val, double *err) {
    const double u = 1.0 / 4294967296.0, big = 2147483648.0;
    double a = 0, b = 0, ea = 0, eb = 0, r = 0, re = INFINITY;
    if (x->kind == K_CONST) { /* printed in decimal: within half an ulp of the word */
        *val = e->o.fixed ? vm_fx_to_double(x->val) : (double)x->val;
        *err = e->o.fixed ? u / 2 : 0;
        return;
    }
    if (x->kind == K_VAR) {
        *val = in[x->val];
        *err = 0;
        return;
    }
    if (x->kind == K_ITE) {
        a = v[x->c], ea = er[x->c];
        bool t = a > 0; /* vm_cond */
        *val = t ? v[x->a] : v[x->b];
        *err = (ea == 0 || fabs(a) > ea) ? (t ? er[x->a] : er[x->b]) : INFINITY;
        return;
    }
    a = v[x->a], ea = er[x->a];
    if (x->b != NONE) b = v[x->b], eb = er[x->b];
    double q = e->o.fixed ? u : 1; /* one unit of the last place */
    switch (x->op) {
    case VM_OP_ADD: r = a + b, re = ea + eb; break;
    case VM_OP_SUB: r = a - b, re = ea + eb; break;
    case VM_OP_NEG: r = -a, re = ea; break;
    case VM_OP_ABS: r = fabs(a), re = ea; break;
    case VM_OP_MIN: r = a < b ? a : b, re = ea > eb ? ea : eb; break;
    case VM_OP_MAX: r = a > b ? a : b, re = ea > eb ? ea : eb; break;
    case VM_OP_FMUL:
    case VM_OP_MUL:
        if ((x->op == VM_OP_FMUL) != e->o.fixed) goto word;
        r = a * b;
        re = err_mul(fabs(a), eb) + err_mul(fabs(b), ea) + err_mul(ea, eb) +
             (e->o.fixed ? u / 2 : 0);
        break;
    case VM_OP_FDIV:
        if (!e->o.fixed) goto word;
        if (b == 0 && eb == 0) {
            r = 0, re = 0;
        } else if (fabs(b) <= eb) {
            r = b == 0 ? 0 : a / b, re = INFINITY;
        } else {
            r = a / b, re = (ea + fabs(r) * eb) / (fabs(b) - eb) + u;
        }
        break;
    case VM_OP_FSQRT:
        if (!e->o.fixed) goto word;
        r = a > 0 ? sqrt(a) : 0, re = sqrt(ea) + u;
        break;
    case VM_OP_FSIN:
    case VM_OP_FCOS:
        if (!e->o.fixed) goto word;
        r = x->op == VM_OP_FSIN ? sin(a) : cos(a), re = ea + u;
        break;
    case VM_OP_FEXP:
        if (!e->o.fixed) goto word;
        r = exp(a), re = r * expm1(ea) + 3 * u;
        break;
    case VM_OP_FLOG:
        if (!e->o.fixed) goto word;
        r = a > 0 ? log(a) : 0;
        re = ea == 0 ? u : (a - ea > 0 ? ea / (a - ea) + u : INFINITY);
        break;
    default:
    word:
        /* an operation on words with no real-number reading here: exact on
         * exact operands, discontinuous otherwise */
        {
            vm_word wa = e->o.fixed ? vm_fx_from_double(a) : (vm_word)a;
            vm_word wb = e->o.fixed ? vm_fx_from_double(b) : (vm_word)b;
            vm_word w = vm_word_op(x->op, wa, wb);
            r = e->o.fixed ? vm_fx_to_double(w) : (double)w;
            re = ea == 0 && eb == 0 ? 0 : INFINITY;
        }
        break;
    }
    (void)q;
    re += fabs(r) * 4e-16; /* the double arithmetic's own rounding */
    if (isnan(re)) re = INFINITY;
    if (e->o.fixed ? fabs(r) + re >= big : fabs(r) >= 9007199254740992.0) re = INFINITY;
    *val = r;
    *err = re;
}

int an_expr_eval_real(const an_expr *e, const double *in, double *out, double *err) {
    if (e->reason[0]) return -1;
    double *v = malloc(2 * (e->nn ? e->nn : 1) * sizeof *v);
    if (!v) return -1;
    double *er = v + e->nn;
    for (uint32_t i = 0; i < e->nn; i++)
        eval_real(e, &e->n[i], v, er, in, &v[i], &er[i]);
    for (uint32_t k = 0; k < e->nout; k++) {
        out[k] = v[e->out[k]];
        if (err) err[k] = er[e->out[k]];
    }
    free(v);
    return 0;
}

/* ---- printing ---- */

typedef struct {
    char *p;
    size_t n, cap;
    bool over;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) {
    if (b->over) return;
    va_list ap;
    va_start(ap, fmt);
    char tmp[128];
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof tmp || b->n + (size_t)k >= MAX_TEXT) {
        b->over = true;
        return;
    }
    if (b->n + (size_t)k + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + (size_t)k + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->over = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, tmp, (size_t)k + 1);
    b->n += (size_t)k;
}

/* A Q32.32 word in the fewest decimal digits that read back as that word. */
void an_fx_text(vm_word w, char *buf, size_t cap) {
    double d = vm_fx_to_double(w);
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, cap, "%.*g", p, d);
        if (vm_fx_from_double(strtod(buf, NULL)) == w) break;
    }
    if (strchr(buf, 'e')) { /* keep it plain: SymPy and LaTeX read 1e-05 differently */
        for (int p = 1; p <= 30; p++) {
            snprintf(buf, cap, "%.*f", p, d);
            if (vm_fx_from_double(strtod(buf, NULL)) == w) break;
        }
    }
}

enum { P_ITE = 1, P_CMP = 2, P_BIT = 3, P_SHIFT = 4, P_ADD = 5, P_MUL = 6, P_NEG = 7, P_ATOM = 9 };

typedef struct {
    const an_expr *e;
    an_expr_style s;
    sbuf *b;
} printer;

static int prec(const printer *pr, uint32_t i) {
    const node *x = &pr->e->n[i];
    bool fx = pr->e->o.fixed;
    if (x->kind == K_CONST) return x->val < 0 ? P_NEG : P_ATOM;
    if (x->kind == K_VAR) return P_ATOM;
    if (x->kind == K_ITE) return pr->s == AN_EXPR_INFIX ? P_ITE : P_ATOM;
    switch (x->op) {
    case VM_OP_ADD:
    case VM_OP_SUB: return P_ADD;
    case VM_OP_FMUL:
    case VM_OP_FDIV: return fx ? P_MUL : P_ATOM;
    case VM_OP_MUL: return fx ? P_ATOM : P_MUL;
    case VM_OP_DIV: return fx || pr->s != AN_EXPR_INFIX ? P_ATOM : P_MUL;
    case VM_OP_NEG: return P_NEG;
    case VM_OP_NOT: return fx || pr->s != AN_EXPR_INFIX ? P_ATOM : P_NEG;
    case VM_OP_LT:
    case VM_OP_GT:
    case VM_OP_EQ:
    case VM_OP_ISZERO: return fx || pr->s != AN_EXPR_INFIX ? P_ATOM : P_CMP;
    case VM_OP_AND:
    case VM_OP_OR:
    case VM_OP_XOR: return fx || pr->s != AN_EXPR_INFIX ? P_ATOM : P_BIT;
    case VM_OP_SHL:
    case VM_OP_SAR: return fx || pr->s != AN_EXPR_INFIX ? P_ATOM : P_SHIFT;
    default: return P_ATOM;
    }
}

static void pr_node(printer *pr, uint32_t i);

/* Operand i of an operator of precedence p: in parentheses when it binds
 * less tightly (or equally, on the right of a non-associative one). */
static void pr_sub(printer *pr, uint32_t i, int p, bool right) {
    int q = prec(pr, i);
    bool paren = q < p || (right && q == p) || (q == P_NEG && (right || p >= P_MUL)) ||
                 (q == P_CMP && p == P_CMP); /* Python chains comparisons */
    if (pr->s == AN_EXPR_LATEX && paren) {
        put(pr->b, "\\left(");
        pr_node(pr, i);
        put(pr->b, "\\right)");
        return;
    }
    if (paren) put(pr->b, "(");
    pr_node(pr, i);
    if (paren) put(pr->b, ")");
}

static void pr_call(printer *pr, const char *f, uint32_t a, uint32_t b) {
    put(pr->b, pr->s == AN_EXPR_LATEX ? "%s\\left(" : "%s(", f);
    pr_node(pr, a);
    if (b != NONE) {
        put(pr->b, ", ");
        pr_node(pr, b);
    }
    put(pr->b, pr->s == AN_EXPR_LATEX ? "\\right)" : ")");
}

static void pr_bin(printer *pr, const node *x, int p, const char *opname) {
    pr_sub(pr, x->a, p, false);
    put(pr->b, "%s", opname);
    pr_sub(pr, x->b, p, true);
}

/* Whether a column name reads as one name in infix: a letter or '_', then
 * letters, digits, '_' or '.'. */
static bool plain_name(const char *n) {
    if (!isalpha((unsigned char)*n) && *n != '_') return false;
    for (; *n; n++)
        if (!isalnum((unsigned char)*n) && *n != '_' && *n != '.') return false;
    return true;
}

/* A column name in each style: infix as it is when plain, else in
 * backquotes; SymPy as it is when a lowercase letter and digits (sympify
 * reads every such name as a symbol), else as Symbol('...'), which no name
 * breaks and none of SymPy's own (E, I, gamma, lambda, ...) clashes with;
 * LaTeX one letter as it is, else upright in \\text{}, TeX's specials
 * escaped. */
static void pr_name(printer *pr, const char *n) {
    bool simple = n[0] >= 'a' && n[0] <= 'z' && strspn(n + 1, "0123456789") == strlen(n + 1);
    if (pr->s == AN_EXPR_SYMPY && !simple) {
        put(pr->b, "Symbol('");
        for (; *n; n++)
            put(pr->b, *n == '\\' || *n == '\'' ? "\\%c" : "%c", *n);
        put(pr->b, "')");
    } else if (pr->s == AN_EXPR_LATEX) {
        bool letter = isalpha((unsigned char)n[0]) && !n[1];
        if (!letter) put(pr->b, "\\text{");
        for (; *n; n++) {
            if (strchr("_&%$#{}", *n))
                put(pr->b, "\\%c", *n);
            else if (strchr("\\~^", *n))
                put(pr->b, "%s",
                    *n == '\\'  ? "\\textbackslash{}"
                    : *n == '~' ? "\\textasciitilde{}"
                                : "\\textasciicircum{}");
            else
                put(pr->b, "%c", *n);
        }
        if (!letter) put(pr->b, "}");
    } else {
        put(pr->b, plain_name(n) ? "%s" : "`%s`", n);
    }
}

static void pr_var(printer *pr, vm_word k) {
    const an_expr *e = pr->e;
    if (e->o.names && e->o.names[k]) {
        pr_name(pr, e->o.names[k]);
    } else if (e->o.n_in == 1) {
        put(pr->b, "x");
    } else {
        put(pr->b, pr->s == AN_EXPR_LATEX ? "x_{%d}" : "x%d", (int)k);
    }
}

static void pr_const(printer *pr, vm_word w) {
    if (pr->e->o.fixed) {
        char t[64];
        an_fx_text(w, t, sizeof t);
        put(pr->b, "%s", t);
    } else {
        put(pr->b, "%" PRId64, w);
    }
}

/* The name of an operation with no notation of its own in this style, into
 * buf: the mathematical one where the operation is that function, else the
 * opcode's name (docs/report.md, "Expressions", says what each is). */
static void fn_name(const printer *pr, uint8_t op, char *buf, size_t cap) {
    bool sy = pr->s == AN_EXPR_SYMPY, tex = pr->s == AN_EXPR_LATEX, fx = pr->e->o.fixed;
    const char *f = NULL;
    switch (op) {
    case VM_OP_ABS: f = sy ? "Abs" : "abs"; break;
    case VM_OP_MIN: f = sy ? "Min" : tex ? "\\min" : "min"; break;
    case VM_OP_MAX: f = sy ? "Max" : tex ? "\\max" : "max"; break;
    case VM_OP_FSIN: f = fx ? (tex ? "\\sin" : "sin") : NULL; break;
    case VM_OP_FCOS: f = fx ? (tex ? "\\cos" : "cos") : NULL; break;
    case VM_OP_FLOG: f = fx ? (tex ? "\\ln" : "log") : NULL; break;
    case VM_OP_FEXP: f = fx ? (tex ? "\\exp" : "exp") : NULL; break;
    case VM_OP_FSQRT: f = fx ? (tex ? "\\operatorname{sqrt}" : "sqrt") : NULL; break;
    default: break;
    }
    if (f) {
        snprintf(buf, cap, "%s", f);
        return;
    }
    char low[16];
    const char *n = vm_opinfo_of(op)->name;
    size_t k = 0;
    for (; n[k] && k + 1 < sizeof low; k++)
        low[k] = (char)(n[k] | 0x20);
    low[k] = 0;
    /* SymPy: a prefix keeps clear of its names and Python's keywords */
    snprintf(buf, cap, sy ? "op_%s" : tex ? "\\operatorname{%s}" : "%s", low);
}

static void pr_fn(printer *pr, const node *x) {
    char f[48];
    fn_name(pr, x->op, f, sizeof f);
    pr_call(pr, f, x->a, x->b);
}

static void pr_node(printer *pr, uint32_t i) {
    const an_expr *e = pr->e;
    const node *x = &e->n[i];
    bool tex = pr->s == AN_EXPR_LATEX, sy = pr->s == AN_EXPR_SYMPY, fx = e->o.fixed;
    if (pr->b->over) return;
    if (x->kind == K_CONST) return pr_const(pr, x->val);
    if (x->kind == K_VAR) return pr_var(pr, x->val);
    if (x->kind == K_ITE) {
        if (sy) {
            put(pr->b, "Piecewise((");
            pr_node(pr, x->a);
            put(pr->b, ", Gt(");
            pr_node(pr, x->c);
            put(pr->b, ", 0)), (");
            pr_node(pr, x->b);
            put(pr->b, ", True))");
        } else if (tex) {
            put(pr->b, "\\begin{cases} ");
            pr_node(pr, x->a);
            put(pr->b, " & ");
            pr_sub(pr, x->c, P_CMP, false);
            put(pr->b, " > 0 \\\\ ");
            pr_node(pr, x->b);
            put(pr->b, " & \\text{otherwise} \\end{cases}");
        } else {
            pr_sub(pr, x->c, P_CMP, false);
            put(pr->b, " > 0 ? ");
            pr_sub(pr, x->a, P_ITE, false);
            put(pr->b, " : ");
            pr_sub(pr, x->b, P_ITE, false);
        }
        return;
    }
    switch (x->op) {
    case VM_OP_ADD:
        if (e->n[x->b].kind == K_CONST && e->n[x->b].val < 0 && e->n[x->b].val != INT64_MIN) {
            pr_sub(pr, x->a, P_ADD, false);
            put(pr->b, " - ");
            pr_const(pr, -e->n[x->b].val);
            return;
        }
        return pr_bin(pr, x, P_ADD, " + ");
    case VM_OP_SUB: return pr_bin(pr, x, P_ADD, " - ");
    case VM_OP_NEG: put(pr->b, "-"); return pr_sub(pr, x->a, P_NEG, true);
    case VM_OP_FMUL:
    case VM_OP_MUL:
        if ((x->op == VM_OP_FMUL) != fx) break;
        return pr_bin(pr, x, P_MUL, tex ? " \\cdot " : "*");
    case VM_OP_FDIV:
    case VM_OP_DIV:
        if ((x->op == VM_OP_FDIV) != fx) break;
        if (!fx && pr->s != AN_EXPR_INFIX) break; /* truncating: idiv(a, b) */
        if (tex) {
            put(pr->b, "\\frac{");
            pr_node(pr, x->a);
            put(pr->b, "}{");
            pr_node(pr, x->b);
            put(pr->b, "}");
            return;
        }
        return pr_bin(pr, x, P_MUL, "/");
    case VM_OP_FSQRT:
        if (!fx || !tex) break;
        put(pr->b, "\\sqrt{");
        pr_node(pr, x->a);
        put(pr->b, "}");
        return;
    case VM_OP_FEXP:
        if (!fx || !tex) break;
        put(pr->b, "e^{");
        pr_node(pr, x->a);
        put(pr->b, "}");
        return;
    case VM_OP_ABS:
        if (sy) break;
        put(pr->b, tex ? "\\left|" : "abs(");
        pr_node(pr, x->a);
        put(pr->b, tex ? "\\right|" : ")");
        return;
    default: break;
    }
    if (!fx && pr->s == AN_EXPR_INFIX) { /* integer operators, as in C */
        switch (x->op) {
        case VM_OP_LT: return pr_bin(pr, x, P_CMP, " < ");
        case VM_OP_GT: return pr_bin(pr, x, P_CMP, " > ");
        case VM_OP_EQ: return pr_bin(pr, x, P_CMP, " == ");
        case VM_OP_ISZERO:
            pr_sub(pr, x->a, P_CMP, false);
            put(pr->b, " == 0");
            return;
        case VM_OP_AND: return pr_bin(pr, x, P_BIT, " & ");
        case VM_OP_OR: return pr_bin(pr, x, P_BIT, " | ");
        case VM_OP_XOR: return pr_bin(pr, x, P_BIT, " ^ ");
        case VM_OP_NOT: put(pr->b, "~"); return pr_sub(pr, x->a, P_NEG, true);
        case VM_OP_SHL: return pr_bin(pr, x, P_SHIFT, " << ");
        case VM_OP_SAR: return pr_bin(pr, x, P_SHIFT, " >> ");
        default: break;
        }
    }
    if (!fx && sy) { /* comparisons are 0 or 1: Piecewise keeps them exact */
        const char *rel = x->op == VM_OP_LT       ? "<"
                          : x->op == VM_OP_GT     ? ">"
                          : x->op == VM_OP_EQ     ? "Eq"
                          : x->op == VM_OP_ISZERO ? "Eq0"
                                                  : NULL;
        if (rel) {
            put(pr->b, "Piecewise((1, ");
            if (rel[0] == 'E') {
                put(pr->b, "Eq(");
                pr_node(pr, x->a);
                put(pr->b, ", ");
                if (rel[2])
                    put(pr->b, "0");
                else
                    pr_node(pr, x->b);
                put(pr->b, ")");
            } else {
                pr_sub(pr, x->a, P_ADD, false);
                put(pr->b, " %s ", rel);
                pr_sub(pr, x->b, P_ADD, true);
            }
            put(pr->b, "), (0, True))");
            return;
        }
    }
    pr_fn(pr, x);
}

char *an_expr_text(const an_expr *e, an_expr_style s) {
    sbuf b = {0};
    printer pr = {e, s, &b};
    if (e->reason[0]) {
        put(&b, "(no expression: %s)", e->reason);
    } else {
        for (uint32_t k = 0; k < e->nout; k++) {
            if (k) put(&b, s == AN_EXPR_LATEX ? ",\\; " : "; ");
            pr_node(&pr, e->out[k]);
        }
        if (b.over) {
            b.over = false;
            b.n = 0;
            put(&b, "(no expression: longer than %u characters)", MAX_TEXT);
        }
    }
    if (!b.p) put(&b, "%s", "");
    return b.p;
}

char *an_expr_string(const uint8_t *code, size_t len, const an_expr_opts *o, an_expr_style s) {
    an_expr *e = NULL;
    if (an_expr_build(code, len, o, &e)) return NULL;
    char *t = an_expr_text(e, s);
    an_expr_free(e);
    return t;
}

int an_expr_style_parse(const char *name, an_expr_style *s) {
    static const char *const names[] = {"infix", "sympy", "latex"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, names[i])) {
            *s = (an_expr_style)i;
            return 0;
        }
    return -1;
}
