/* Tasks: case storage, the Koza-1 quartic and a trivial integer task. */
#include "fitness/fitness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cases_alloc(fit_cases *cs, uint32_t n, uint32_t n_in, bool real) {
    memset(cs, 0, sizeof *cs);
    cs->n = n;
    cs->in = calloc((size_t)n * n_in + 1, sizeof *cs->in);
    cs->want = calloc((size_t)n + 1, sizeof *cs->want);
    if (real) cs->target = calloc((size_t)n + 1, sizeof *cs->target);
    if (!cs->in || !cs->want || (real && !cs->target)) return -1;
    return 0;
}

static void cases_free(fit_cases *cs) {
    free(cs->in);
    free(cs->want);
    free(cs->target);
    memset(cs, 0, sizeof *cs);
}

static int cases_copy(fit_cases *dst, const fit_cases *src, uint32_t n_in) {
    if (cases_alloc(dst, src->n, n_in, src->target != NULL)) return -1;
    memcpy(dst->in, src->in, (size_t)src->n * n_in * sizeof *src->in);
    memcpy(dst->want, src->want, (size_t)src->n * sizeof *src->want);
    if (src->target) memcpy(dst->target, src->target, (size_t)src->n * sizeof *src->target);
    return 0;
}

void fit_task_free(fit_task *t) {
    if (!t) return;
    cases_free(&t->train);
    cases_free(&t->test);
}

const fit_cases *fit_task_cases(const fit_task *t, fit_split which) {
    return which == FIT_TEST ? &t->test : &t->train;
}

static void task_init(fit_task *t, const char *name, fit_error_kind err, uint32_t n_in) {
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->isa = FIT_ISA_NATIVE;
    t->error = err;
    t->fixed_point = err == FIT_ERR_FX_ABS;
    t->n_in = n_in;
}

/* Evaluated as written, one rounding per operation (the file is compiled
 * without -ffast-math, and x86-64 has no implicit FMA contraction). */
static double quartic(double x) {
    double x2 = x * x;
    double x3 = x2 * x;
    double x4 = x3 * x;
    return ((x4 + x3) + x2) + x;
}

int fit_task_quartic(fit_task *t, const fit_rng *rng) {
    task_init(t, "quartic", FIT_ERR_FX_ABS, 1);
    t->penalty = FIT_QUARTIC_PENALTY;
    t->hit_tol = 0.01;
    t->limits = (vm_limits){.gas = FIT_QUARTIC_GAS, .mem = 1024, .stack = 256, .calls = 64};
    const vm_word consts[] = {0, VM_FX_ONE, VM_FX_ONE / 2, 2 * VM_FX_ONE, -VM_FX_ONE};
    t->n_consts = sizeof consts / sizeof *consts;
    memcpy(t->consts, consts, sizeof consts);
    if (cases_alloc(&t->train, FIT_QUARTIC_CASES, 1, true)) goto fail;
    for (uint32_t i = 0; i < FIT_QUARTIC_CASES; i++) {
        vm_word x = rng->range(rng->ctx, -VM_FX_ONE, VM_FX_ONE);
        t->train.in[i] = x;
        t->train.target[i] = quartic(vm_fx_to_double(x));
        t->train.want[i] = vm_fx_from_double(t->train.target[i]);
    }
    if (cases_copy(&t->test, &t->train, 1)) goto fail;
    return 0;
fail:
    fit_task_free(t);
    return -1;
}

int fit_task_int_square(fit_task *t) {
    task_init(t, "int-square", FIT_ERR_INT_ABS, 1);
    t->penalty = 1e6;
    t->hit_tol = 0;
    t->limits = (vm_limits){.gas = 1000, .mem = 1024, .stack = 64, .calls = 16};
    const vm_word consts[] = {0, 1, 2, -1};
    t->n_consts = sizeof consts / sizeof *consts;
    memcpy(t->consts, consts, sizeof consts);
    if (cases_alloc(&t->train, 17, 1, false) || cases_alloc(&t->test, 4, 1, false)) goto fail;
    for (uint32_t i = 0; i < 17; i++) {
        vm_word x = (vm_word)i - 8;
        t->train.in[i] = x;
        t->train.want[i] = x * x + x;
    }
    for (uint32_t i = 0; i < 4; i++) {
        vm_word x = (vm_word)i + 9;
        t->test.in[i] = x;
        t->test.want[i] = x * x + x;
    }
    return 0;
fail:
    fit_task_free(t);
    return -1;
}

int fit_task_custom(fit_task *t, const char *name, fit_error_kind err, uint32_t n_in,
                    uint32_t n_train, const vm_word *in, const vm_word *want, const double *target,
                    double penalty, double hit_tol) {
    task_init(t, name, err, n_in);
    t->penalty = penalty;
    t->hit_tol = hit_tol;
    fit_cases src = {.n = n_train,
                     .in = (vm_word *)in,
                     .want = (vm_word *)want,
                     .target = err == FIT_ERR_FX_ABS ? (double *)target : NULL};
    if (err == FIT_ERR_FX_ABS && !target) return -1;
    if (cases_copy(&t->train, &src, n_in) || cases_copy(&t->test, &src, n_in)) {
        fit_task_free(t);
        return -1;
    }
    return 0;
}
