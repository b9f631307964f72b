/* Regression (Koza-1, and McDermott et al. 2012 as in ECJ) on Q32.32 fixed point, and
 * the boolean tasks: even parity and multiplexers (docs/tasks.md). */
#include "fitness/fit_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define REG_PENALTY FIT_QUARTIC_PENALTY /* 1000 */
#define REG_GAS     FIT_QUARTIC_GAS     /* 10000 */

void fit_reg_init(fit_task *t, const char *name, uint32_t n_in) {
    fit_task_init(t, name, FIT_ERR_FX_ABS, n_in);
    t->penalty = REG_PENALTY;
    t->hit_tol = 0.01;
    t->limits = (vm_limits){
        .gas = REG_GAS, .mem = 1024, .stack = 256, .calls = 64, .underflow = VM_UNDERFLOW_SKIP};
    const vm_word consts[] = {0, VM_FX_ONE, VM_FX_ONE / 2, 2 * VM_FX_ONE, -VM_FX_ONE};
    t->n_consts = sizeof consts / sizeof *consts;
    memcpy(t->consts, consts, sizeof consts);
}

/* Each formula takes the exact double values of the Q32.32 inputs; every
 * operation rounds once (no FMA contraction on x86-64, no -ffast-math). */
static double f_keijzer6(const double *x) {
    double s = 0;
    double n = floor(x[0]);
    for (double i = 1; i <= n; i += 1)
        s += 1.0 / i;
    return s;
}
static double f_nguyen7(const double *x) {
    return log(x[0] + 1.0) + log(x[0] * x[0] + 1.0);
}
static double f_pagie1(const double *x) {
    return 1.0 / (1.0 + pow(x[0], -4.0)) + 1.0 / (1.0 + pow(x[1], -4.0));
}
static double f_vlad4(const double *x) {
    double s = 0;
    for (int i = 0; i < 5; i++)
        s += (x[i] - 3.0) * (x[i] - 3.0);
    return 10.0 / (5.0 + s);
}
static double f_korns12(const double *x) {
    return 2.0 - 2.1 * cos(9.8 * x[0]) * sin(1.3 * x[4]);
}
static double f_quartic(const double *x) {
    double x2 = x[0] * x[0];
    double x3 = x2 * x[0];
    double x4 = x3 * x[0];
    return ((x4 + x3) + x2) + x[0];
}

typedef double (*reg_fn)(const double *x);

/* Fill case i's targets from its inputs. */
static void reg_target(fit_task *t, fit_cases *cs, uint32_t i, reg_fn f) {
    double x[8];
    for (uint32_t k = 0; k < t->n_in; k++)
        x[k] = vm_fx_to_double(cs->in[(size_t)i * t->n_in + k]);
    cs->target[i] = f(x);
    cs->want[i] = vm_fx_from_double(cs->target[i]);
}

/* n cases with every input uniform in [lo, hi] (as Q32.32 words, drawn
 * case after case, input after input). */
static int reg_uniform(fit_task *t, fit_cases *cs, uint32_t n, double lo, double hi,
                       const fit_rng *rng, reg_fn f) {
    if (fit_cases_alloc(cs, n, t->n_in, 1, true, false)) return -1;
    vm_word a = vm_fx_from_double(lo), b = vm_fx_from_double(hi);
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t k = 0; k < t->n_in; k++)
            cs->in[(size_t)i * t->n_in + k] = rng->range(rng->ctx, a, b);
        reg_target(t, cs, i, f);
    }
    return 0;
}

static int fixed_size(const char *name, const char *what, uint32_t want, uint32_t n, char *err,
                      size_t errcap) {
    if (want == 0 || want == n) return 0;
    base_errf(err, errcap, "%s: the %s is fixed at %u cases; give 0 or %u, not %u", name, what, n,
              n, want);
    return -1;
}

/* Koza-1 (fitness.h): 20 points uniform in [-1, 1], drawn in order; the
 * test set is the training set. */
int fit_task_quartic(fit_task *t, const fit_rng *rng) {
    fit_reg_init(t, "quartic", 1);
    if (reg_uniform(t, &t->train, FIT_QUARTIC_CASES, -1.0, 1.0, rng, f_quartic) ||
        fit_cases_copy(&t->test, &t->train, t)) {
        fit_task_free(t);
        return -1;
    }
    return 0;
}

FIT_MAKER(fit_make_quartic) {
    if ((o->n_train && o->n_train != FIT_QUARTIC_CASES) ||
        (o->n_test && o->n_test != FIT_QUARTIC_CASES)) {
        base_errf(err, errcap,
                  "quartic: the training and test sets are the same 20 points; "
                  "n_train and n_test must be 0 or 20");
        return -1;
    }
    return fit_task_quartic(t, rng);
}

FIT_MAKER(fit_make_keijzer6) {
    const char *name = e->name;
    if (fixed_size(name, "training set", o->n_train, 50, err, errcap) ||
        fixed_size(name, "test set", o->n_test, 120, err, errcap))
        return -1;
    fit_reg_init(t, name, 1);
    if (fit_cases_alloc(&t->train, 50, 1, 1, true, false) ||
        fit_cases_alloc(&t->test, 120, 1, 1, true, false))
        return -1;
    for (uint32_t i = 0; i < 120; i++) {
        if (i < 50) {
            t->train.in[i] = vm_fx_from_int((vm_word)i + 1);
            reg_target(t, &t->train, i, f_keijzer6);
        }
        t->test.in[i] = vm_fx_from_int((vm_word)i + 1);
        reg_target(t, &t->test, i, f_keijzer6);
    }
    return 0;
}

FIT_MAKER(fit_make_nguyen7) {
    const char *name = e->name;
    uint32_t ntr;
    if (fit_size(name, "n_train", o->n_train, 20, 1, &ntr, err, errcap) ||
        fixed_size(name, "test set (the training set)", o->n_test, ntr, err, errcap))
        return -1;
    fit_reg_init(t, name, 1);
    return reg_uniform(t, &t->train, ntr, 0.0, 2.0, rng, f_nguyen7) ||
                   fit_cases_copy(&t->test, &t->train, t)
               ? -1
               : 0;
}

FIT_MAKER(fit_make_pagie1) {
    const char *name = e->name;
    if (fixed_size(name, "training set", o->n_train, 676, err, errcap) ||
        fixed_size(name, "test set", o->n_test, 676, err, errcap))
        return -1;
    fit_reg_init(t, name, 2);
    if (fit_cases_alloc(&t->train, 676, 2, 1, true, false)) return -1;
    for (uint32_t i = 0; i < 26; i++)
        for (uint32_t j = 0; j < 26; j++) {
            uint32_t c = i * 26 + j;
            t->train.in[2 * c] = vm_fx_from_double(-5.0 + 0.4 * i);
            t->train.in[2 * c + 1] = vm_fx_from_double(-5.0 + 0.4 * j);
            reg_target(t, &t->train, c, f_pagie1);
        }
    return fit_cases_copy(&t->test, &t->train, t) ? -1 : 0;
}

FIT_MAKER(fit_make_vladislavleva4) {
    const char *name = e->name;
    uint32_t ntr, nte;
    if (fit_size(name, "n_train", o->n_train, 1024, 1, &ntr, err, errcap) ||
        fit_size(name, "n_test", o->n_test, 5000, 1, &nte, err, errcap))
        return -1;
    fit_reg_init(t, name, 5);
    return reg_uniform(t, &t->train, ntr, 0.05, 6.05, rng, f_vlad4) ||
                   reg_uniform(t, &t->test, nte, -0.25, 6.35, rng, f_vlad4)
               ? -1
               : 0;
}

FIT_MAKER(fit_make_korns12) {
    const char *name = e->name;
    uint32_t ntr, nte;
    if (fit_size(name, "n_train", o->n_train, 10000, 1, &ntr, err, errcap) ||
        fit_size(name, "n_test", o->n_test, 10000, 1, &nte, err, errcap))
        return -1;
    fit_reg_init(t, name, 5);
    return reg_uniform(t, &t->train, ntr, -50.0, 50.0, rng, f_korns12) ||
                   reg_uniform(t, &t->test, nte, -50.0, 50.0, rng, f_korns12)
               ? -1
               : 0;
}

/* ---- boolean ---- */

/* Parity of n_in bits (addr 0), or the multiplexer of addr address bits. */
static int make_boolean(const char *name, bool parity, uint32_t n_in, uint32_t addr,
                        const fit_task_opts *o, fit_task *t, char *err, size_t errcap) {
    uint32_t n = 1u << n_in;
    if (fixed_size(name, "training set", o->n_train, n, err, errcap) ||
        fixed_size(name, "test set", o->n_test, n, err, errcap))
        return -1;
    fit_task_init(t, name, FIT_ERR_BOOL, n_in);
    t->penalty = 1;
    t->hit_tol = 0;
    t->limits = (vm_limits){
        .gas = 2000, .mem = 1024, .stack = 256, .calls = 64, .underflow = VM_UNDERFLOW_SKIP};
    t->consts[0] = 0;
    t->consts[1] = 1;
    t->n_consts = 2;
    if (fit_cases_alloc(&t->train, n, n_in, 1, false, false)) return -1;
    for (uint32_t c = 0; c < n; c++) {
        for (uint32_t k = 0; k < n_in; k++)
            t->train.in[(size_t)c * n_in + k] = (c >> k) & 1u;
        if (parity) {
            t->train.want[c] = (__builtin_popcount(c) & 1) == 0;
        } else {
            uint32_t a = c & ((1u << addr) - 1);
            t->train.want[c] = (c >> (addr + a)) & 1u;
        }
    }
    return fit_cases_copy(&t->test, &t->train, t) ? -1 : 0;
}

/* e->arg: the number of bits */
FIT_MAKER(fit_make_parity) {
    return make_boolean(e->name, true, e->arg, 0, o, t, err, errcap);
}

/* e->arg: the number of address bits */
FIT_MAKER(fit_make_mux) {
    return make_boolean(e->name, false, e->arg + (1u << e->arg), e->arg, o, t, err, errcap);
}
