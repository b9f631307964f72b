/* Evaluation: one reusable VM arena per thread, each case in a fresh process. */
#include "fitness/fitness.h"

#include <math.h>
#include <stdlib.h>

struct fit_ctx {
    const fit_task *task;
    vm_arena *arena;
};

fit_ctx *fit_ctx_new(const fit_task *t, const vm_limits *limits) {
    fit_ctx *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->task = t;
    c->arena = vm_arena_new();
    if (!c->arena || vm_set_limits(c->arena, limits ? limits : &t->limits)) {
        fit_ctx_free(c);
        return NULL;
    }
    return c;
}

void fit_ctx_free(fit_ctx *c) {
    if (!c) return;
    vm_arena_free(c->arena);
    free(c);
}

const fit_task *fit_ctx_task(const fit_ctx *c) {
    return c->task;
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

double fit_case_error(const fit_task *t, const fit_cases *cs, uint32_t i, bool has_output,
                      vm_word y) {
    if (!has_output) return t->penalty;
    double e;
    if (t->error == FIT_ERR_FX_ABS) {
        e = fabs(vm_fx_to_double(y) - cs->target[i]);
    } else {
        vm_word w = cs->want[i];
        uint64_t d = y >= w ? (uint64_t)y - (uint64_t)w : (uint64_t)w - (uint64_t)y;
        e = (double)d;
    }
    /* Outputs are finite words, so e is finite; keep the penalty as a ceiling
     * so that no answer scores worse than no answer. */
    return e > t->penalty ? t->penalty : e;
}

static void fill_penalties(const fit_task *t, uint32_t n, fit_result *r) {
    r->ncases = n;
    r->error = 0;
    r->gas = r->memtime = 0;
    r->worst = VM_HALTED;
    r->hits = 0;
    r->missing = n;
    for (uint32_t i = 0; i < n; i++) {
        r->errors[i] = t->penalty;
        r->error += t->penalty;
    }
}

int fit_eval(fit_ctx *c, const uint8_t *code, size_t len, fit_split which, fit_result *r) {
    const fit_task *t = c->task;
    const fit_cases *cs = fit_task_cases(t, which);
    vm_arena *a = c->arena;
    if (t->isa != FIT_ISA_NATIVE || vm_load(a, code, len)) {
        fill_penalties(t, cs->n, r);
        r->worst = VM_INVALID_OPCODE;
        return -1;
    }
    r->ncases = cs->n;
    r->error = 0;
    r->gas = r->memtime = 0;
    r->worst = VM_HALTED;
    r->hits = r->missing = 0;
    unsigned worst_sev = 0;
    const vm_word *in = cs->in;
    for (uint32_t i = 0; i < cs->n; i++, in += t->n_in) {
        vm_reset(a);
        vm_status st = VM_HALTED;
        for (uint32_t k = 0; k < t->n_in; k++)
            if (vm_push(a, in[k])) {
                st = VM_STACK_OVERFLOW; /* the limits cannot even hold the inputs */
                break;
            }
        if (st == VM_HALTED) st = vm_run(a);
        vm_meters m;
        vm_meters_get(a, &m);
        r->gas += m.gas;
        r->memtime += m.memtime;
        unsigned sev = fit_status_severity(st);
        if (sev > worst_sev) {
            worst_sev = sev;
            r->worst = st;
        }
        uint32_t d = vm_depth(a);
        bool out = st == VM_HALTED && d > 0;
        double e = fit_case_error(t, cs, i, out, out ? vm_stack(a)[d - 1] : 0);
        if (!out) r->missing++;
        if (e <= t->hit_tol) r->hits++;
        r->errors[i] = e;
        r->error += e;
    }
    return 0;
}
