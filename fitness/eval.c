/* Evaluation: one reusable VM arena per thread, each case in a fresh process. */
#include "fitness/fit_impl.h"

#include <math.h>
#include <stdlib.h>

struct fit_ctx {
    const fit_task *task;
    vm_machine *arena;
    fit_evm_ctx *evm; /* EVM tasks */
    int chan;         /* FIT_IO_CHANNEL: the input channel, or -1 */
    fit_arena *coevo; /* co-evolution tasks: the duels' arena */
    uint64_t coevo_stamp;
    uint64_t *insns; /* fit_ctx_count_insns */
    size_t len;      /* of the code being run */
    vm_word *outs;   /* the cases' outputs (vm_run_cases), or one case's */
    size_t outs_cap;
    bool batch; /* fit_ctx_set_batch */
};

/* The longest input vector of a split. */
static uint32_t max_vec(const fit_cases *cs) {
    uint32_t m = 0;
    if (!cs->off) return 0;
    for (uint32_t i = 0; i < cs->n; i++)
        if (cs->off[i + 1] - cs->off[i] > m) m = cs->off[i + 1] - cs->off[i];
    return m;
}

uint32_t fit_task_max_vec(const fit_task *t) {
    uint32_t a = max_vec(&t->train), b = max_vec(&t->test);
    return a > b ? a : b;
}

fit_ctx *fit_ctx_new(const fit_task *t, const vm_limits *limits) {
    fit_ctx *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->task = t;
    c->chan = -1;
    c->batch = true;
    if (fit_task_is_coevo(t)) {
        c->coevo = fit_coevo_arena_new(t, limits ? limits : &t->limits, &c->coevo_stamp);
        if (!c->coevo) goto fail;
        return c;
    }
    if (t->isa == FIT_ISA_EVM) {
        c->evm = fit_evm_ctx_new(t, limits ? limits : &t->limits);
        if (!c->evm) goto fail;
        return c;
    }
    c->arena = vm_machine_new();
    if (!c->arena || vm_set_limits(c->arena, limits ? limits : &t->limits)) goto fail;
    if (t->io == FIT_IO_CHANNEL) {
        c->chan = vm_chan_new(c->arena, fit_task_max_vec(t) + 1);
        if (c->chan < 0) goto fail;
    }
    return c;
fail:
    fit_ctx_free(c);
    return NULL;
}

void fit_ctx_free(fit_ctx *c) {
    if (!c) return;
    vm_machine_free(c->arena);
    fit_evm_ctx_free(c->evm);
    fit_arena_free(c->coevo);
    free(c->outs);
    free(c);
}

void fit_ctx_set_batch(fit_ctx *c, bool on) {
    c->batch = on;
}

const fit_task *fit_ctx_task(const fit_ctx *c) {
    return c->task;
}

/* The hook also sees the end of the code (pc == len: vm_set_trace). */
static void count_insn(void *ctx, const vm_machine *a, uint32_t pc) {
    fit_ctx *c = ctx;
    (void)a;
    if (pc < c->len) ++*c->insns;
}

void fit_ctx_count_insns(fit_ctx *c, uint64_t *counter) {
    if (!c || !c->arena) return;
    c->insns = counter;
    vm_set_trace(c->arena, counter ? count_insn : NULL, c);
}

void fit_ctx_time_interp(fit_ctx *c, vm_interp_clock *clk) {
    if (c && c->arena) vm_time_interp(c->arena, clk);
}

unsigned fit_status_severity(vm_status s) {
    switch (s) {
    case VM_HALTED: return 0;
    case VM_YIELDED: return 1;
    case VM_OUT_OF_BOUNDS: return 2;
    case VM_STACK_UNDERFLOW: return 3;
    case VM_STACK_OVERFLOW: return 4;
    case VM_CALL_OVERFLOW: return 5;
    case VM_BAD_JUMP: return 6;
    case VM_TRUNCATED: return 7;
    case VM_INVALID_OPCODE: return 8;
    case VM_OUT_OF_MEMORY: return 10;
    case VM_OUT_OF_MEMTIME: return 11;
    case VM_OUT_OF_GAS: return 12;
    case VM_RUNNING: return 13;
    default: return 9; /* any other fault (key, channel and nesting statuses) */
    }
}

double fit_output_error(const fit_task *t, const fit_cases *cs, uint32_t i, uint32_t k,
                        bool has_output, vm_word y) {
    if (!has_output) return t->penalty;
    double e;
    vm_word w = cs->want[(size_t)i * fit_task_nout(t) + k];
    switch (t->out_kinds && k < FIT_MAX_OUT ? t->out_kind[k] : t->error) {
    case FIT_ERR_FX_ABS: e = fabs(vm_fx_to_double(y) - cs->target[i]); break;
    case FIT_ERR_FX_SQ: {
        double d = vm_fx_to_double(y) - cs->target[i];
        e = d * d;
        break;
    }
    case FIT_ERR_INT_01: e = y == w ? 0 : 1; break;
    case FIT_ERR_BOOL: e = (y != 0) == (w != 0) ? 0 : 1; break;
    default: {
        uint64_t d = y >= w ? (uint64_t)y - (uint64_t)w : (uint64_t)w - (uint64_t)y;
        e = (double)d;
        break;
    }
    }
    /* Outputs are finite words, so e is finite; keep the penalty as a ceiling
     * so that no answer scores worse than no answer. */
    return e > t->penalty ? t->penalty : e;
}

double fit_case_error(const fit_task *t, const fit_cases *cs, uint32_t i, bool has_output,
                      vm_word y) {
    return fit_output_error(t, cs, i, 0, has_output, y);
}

static void fill_penalties(const fit_task *t, uint32_t n, fit_result *r) {
    uint32_t no = fit_task_nout(t);
    r->ncases = n;
    r->nerrors = n * no;
    r->error = 0;
    r->gas = r->memtime = 0;
    r->worst = VM_HALTED;
    r->hits = 0;
    r->missing = n * no;
    r->out_of_gas = 0;
    r->faults = n;
    for (uint32_t i = 0; i < n * no; i++) {
        r->errors[i] = t->penalty;
        r->error += t->penalty;
    }
}

void fit_note_status(fit_result *r, vm_status st, unsigned *worst_sev) {
    unsigned sev = fit_status_severity(st);
    if (sev > *worst_sev) {
        *worst_sev = sev;
        r->worst = st;
    }
    if (st == VM_OUT_OF_GAS)
        r->out_of_gas++;
    else if (st != VM_HALTED)
        r->faults++;
}

/* Grow the outputs' buffer to n words: 0, or -1. */
static int grow_outs(fit_ctx *c, size_t n) {
    return base_grow((void **)&c->outs, &c->outs_cap, n ? n : 1, sizeof *c->outs, SIZE_MAX);
}

/* Score case i from its run: status st, meters m, final depth, and y[k]
 * the stack word at depth - no + k (0 where depth + k < no). */
static void score_case(const fit_task *t, const fit_cases *cs, uint32_t i, vm_status st,
                       const vm_meters *m, uint32_t depth, const vm_word *y, fit_result *r,
                       const fit_case_detail *d, unsigned *worst_sev) {
    uint32_t no = fit_task_nout(t);
    r->gas += m->gas;
    r->memtime += m->memtime;
    if (d) {
        d->gas[i] = m->gas;
        d->memtime[i] = m->memtime;
        d->status[i] = (uint8_t)st;
    }
    fit_note_status(r, st, worst_sev);
    bool hit = true;
    double *err = r->errors + (size_t)i * no;
    for (uint32_t k = 0; k < no; k++) {
        /* output k is the word at depth index depth - no + k (the last on top) */
        bool out = st == VM_HALTED && depth + k >= no;
        vm_word yk = out ? y[k] : 0;
        double e = fit_output_error(t, cs, i, k, out, yk);
        if (d) {
            d->out[(size_t)i * no + k] = yk;
            d->has_out[(size_t)i * no + k] = out;
        }
        if (!out) r->missing++;
        if (!(e <= t->hit_tol)) hit = false;
        err[k] = e;
        r->error += e;
    }
    if (hit) r->hits++;
}

/* The error kind of output 0. */
static fit_error_kind kind0(const fit_task *t) {
    return t->out_kinds ? t->out_kind[0] : t->error;
}

/* The errors of n outputs y against targets tg; their sum added to *sum, and
 * the hits returned. Inlined with sq a constant, so the loop has no branch. */
static inline uint32_t score_errors(bool sq, uint32_t n, const vm_word *y, const double *tg,
                                    double pen, double tol, double *err, double *sum) {
    uint32_t hits = 0;
    double s = *sum;
    for (uint32_t i = 0; i < n; i++) {
        double e = vm_fx_to_double(y[i]) - tg[i];
        e = sq ? e * e : fabs(e);
        if (e > pen) e = pen;
        err[i] = e;
        s += e;
        hits += e <= tol;
    }
    *sum = s;
    return hits;
}

/* score_case over every case of a batched run whose one output each case
 * has, for the regression errors: the same sums in the same order, with the
 * kind chosen once (a tenth of a quartic evaluation's time). */
static void score_regression(const fit_task *t, const fit_cases *cs, const vm_meters *m,
                             const vm_word *y, fit_result *r) {
    double pen = t->penalty, tol = t->hit_tol;
    r->hits += kind0(t) == FIT_ERR_FX_SQ
                   ? score_errors(true, cs->n, y, cs->target, pen, tol, r->errors, &r->error)
                   : score_errors(false, cs->n, y, cs->target, pen, tol, r->errors, &r->error);
    r->gas += m->gas * cs->n; /* n additions of the same word, wrapping alike */
    r->memtime += m->memtime * cs->n;
}

int fit_eval(fit_ctx *c, const uint8_t *code, size_t len, fit_split which, fit_result *r) {
    return fit_eval_cases(c, code, len, fit_task_cases(c->task, which), r);
}

int fit_eval_cases(fit_ctx *c, const uint8_t *code, size_t len, const fit_cases *cs,
                   fit_result *r) {
    return fit_eval_detail(c, code, len, cs, r, NULL);
}

int fit_eval_detail(fit_ctx *c, const uint8_t *code, size_t len, const fit_cases *cs, fit_result *r,
                    const fit_case_detail *d) {
    const fit_task *t = c->task;
    if (d && (c->coevo || (t->isa == FIT_ISA_EVM && t->io != FIT_IO_CALLDATA))) return -1;
    if (c->coevo) return fit_coevo_eval(c->coevo, &c->coevo_stamp, t, code, len, r);
    if (t->isa == FIT_ISA_EVM) {
        if (fit_evm_eval(c->evm, t, code, len, cs, r, d) == 0) return 0;
        fill_penalties(t, cs->n, r);
        r->worst = VM_INVALID_OPCODE;
        return -1;
    }
    vm_machine *a = c->arena;
    c->len = len;
    uint32_t no = fit_task_nout(t);
    if (t->isa != FIT_ISA_NATIVE ||
        grow_outs(c, t->io == FIT_IO_CHANNEL ? no : (size_t)cs->n * no)) {
        fill_penalties(t, cs->n, r);
        r->worst = VM_INVALID_OPCODE;
        return -1;
    }
    r->ncases = cs->n;
    r->nerrors = cs->n * no;
    r->error = 0;
    r->gas = r->memtime = 0;
    r->worst = VM_HALTED;
    r->hits = r->missing = 0;
    r->out_of_gas = r->faults = 0;
    unsigned worst_sev = 0;
    /* Straight-line code runs all the cases at once (vm_run_cases): the
     * same results as the loop below, which runs any code case by case. */
    vm_cases_result b;
    int batched = t->io == FIT_IO_CHANNEL || !c->batch
                      ? 1
                      : vm_run_cases(a, code, len, cs->in, t->n_in, cs->n, no, c->outs, &b);
    if (batched == 0) {
        if (!d && no == 1 && b.status == VM_HALTED && b.depth >= 1 &&
            (kind0(t) == FIT_ERR_FX_ABS || kind0(t) == FIT_ERR_FX_SQ)) {
            score_regression(t, cs, &b.m, c->outs, r);
            return 0;
        }
        for (uint32_t i = 0; i < cs->n; i++)
            score_case(t, cs, i, b.status, &b.m, b.depth, c->outs + (size_t)i * no, r, d,
                       &worst_sev);
        return 0;
    }
    if (vm_load(a, code, len)) {
        fill_penalties(t, cs->n, r);
        r->worst = VM_INVALID_OPCODE;
        return -1;
    }
    const vm_word *in = cs->in;
    /* RAND's seed per individual and case (docs/gp.md, "Random numbers"):
     * a pure function of the code and the case's inputs, so a result does
     * not depend on the thread, the order, the sample or the run. Code that
     * cannot read it (most GP programs) skips the hashing: a tenth of an
     * evaluation's time on quartic. */
    bool seeded = vm_reads_seed(a);
    uint64_t code_h = seeded ? base_fnv1a(BASE_FNV_OFFSET, code, len) : 0;
    for (uint32_t i = 0; i < cs->n; i++, in += t->n_in) {
        const vm_word *cin = t->io == FIT_IO_CHANNEL ? cs->in + cs->off[i] : in;
        size_t cn = t->io == FIT_IO_CHANNEL ? cs->off[i + 1] - cs->off[i] : t->n_in;
        uint64_t h = code_h;
        for (size_t k = 0; seeded && k < cn; k++) { /* the words little-endian, on any host */
            uint8_t b8[8];
            base_le_put(b8, (uint64_t)cin[k], 8);
            h = base_fnv1a(h, b8, 8);
        }
        if (seeded) vm_set_seed(a, h);
        vm_reset(a);
        vm_status st = VM_HALTED;
        if (t->io == FIT_IO_CHANNEL) {
            /* key 0: the input channel, holding the length, then the elements */
            uint32_t n = cs->off[i + 1] - cs->off[i];
            vm_chan_clear(a, (uint32_t)c->chan);
            vm_chan_write(a, (uint32_t)c->chan, (vm_word)n);
            for (uint32_t k = 0; k < n; k++)
                vm_chan_write(a, (uint32_t)c->chan, cs->in[cs->off[i] + k]);
            if (vm_grant_chan(a, (uint32_t)c->chan, VM_RIGHT_READ) != 0) st = VM_KEY_LIMIT;
            /* and as the argument words, for NARGS and ITEM (a longer vector
             * has none: genome.c offers them only when it fits) */
            if (n <= VM_MAX_ARGS && vm_set_args(a, cs->in + cs->off[i], n)) st = VM_OUT_OF_MEMORY;
        } else {
            if (vm_set_args(a, in, t->n_in)) st = VM_OUT_OF_MEMORY; /* more than VM_MAX_ARGS */
            for (uint32_t k = 0; k < t->n_in && st == VM_HALTED; k++)
                if (vm_push(a, in[k])) {
                    st = VM_STACK_OVERFLOW; /* the limits cannot even hold the inputs */
                    break;
                }
        }
        if (st == VM_HALTED) st = vm_run(a);
        vm_meters m;
        vm_meters_get(a, &m);
        uint32_t depth = vm_depth(a);
        const vm_word *stk = vm_stack(a);
        vm_word *y = t->io == FIT_IO_CHANNEL ? c->outs : c->outs + (size_t)i * no;
        for (uint32_t k = 0; k < no; k++)
            y[k] = depth + k >= no ? stk[depth + k - no] : 0;
        score_case(t, cs, i, st, &m, depth, y, r, d, &worst_sev);
    }
    return 0;
}

double fit_fitness(const fit_weights *w, const fit_task *t, const fit_result *r, uint32_t length) {
    double f = r->error;
    if (!w) return f;
    if (w->w_length > 0) f += w->w_length * length;
    if (w->w_gas > 0) {
        double ref = w->gas_ref > 0        ? w->gas_ref
                     : t && t->gas_ref > 0 ? t->gas_ref * (r->ncases ? r->ncases : 1)
                                           : 1.0;
        f += w->w_gas * (double)r->gas / ref;
    }
    if (w->w_memtime > 0) {
        double ref = w->memtime_ref > 0        ? w->memtime_ref
                     : t && t->memtime_ref > 0 ? t->memtime_ref * (r->ncases ? r->ncases : 1)
                                               : 1.0;
        f += w->w_memtime * (double)r->memtime / ref;
    }
    if (w->penalty_out_of_gas > 0) f += w->penalty_out_of_gas * r->out_of_gas;
    if (w->penalty_fault > 0) f += w->penalty_fault * r->faults;
    return f;
}
