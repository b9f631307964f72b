/* Tasks: case storage, the registry and its lookup, a trivial integer task
 * and tasks with given cases. */
#include "fitness/fit_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fit_cases_alloc(fit_cases *cs, uint32_t n, uint32_t n_in, uint32_t n_out, bool real, bool evm) {
    memset(cs, 0, sizeof *cs);
    cs->n = n;
    if (n_out == 0) n_out = 1;
    if (evm) {
        cs->in256 = calloc((size_t)n * n_in * 32 + 1, 1);
        cs->want256 = calloc((size_t)n * n_out * 32 + 1, 1);
        if (!cs->in256 || !cs->want256) return -1;
    }
    cs->in = calloc((size_t)n * n_in + 1, sizeof *cs->in);
    cs->want = calloc((size_t)n * n_out + 1, sizeof *cs->want);
    if (real) cs->target = calloc((size_t)n + 1, sizeof *cs->target);
    if (!cs->in || !cs->want || (real && !cs->target)) return -1;
    return 0;
}

void fit_cases_free(fit_cases *cs) {
    free(cs->in);
    free(cs->off);
    free(cs->want);
    free(cs->target);
    free(cs->in256);
    free(cs->want256);
    memset(cs, 0, sizeof *cs);
}

int fit_cases_subset(const fit_task *t, const fit_cases *src, const uint32_t *idx, uint32_t n,
                     fit_cases *dst) {
    uint32_t ni = t->n_in, no = fit_task_nout(t);
    fit_cases_free(dst);
    if (fit_cases_alloc(dst, n, ni, no, src->target != NULL, src->in256 != NULL)) goto oom;
    if (src->off) { /* vectors: the inputs are the concatenated vectors */
        size_t words = 0;
        for (uint32_t j = 0; j < n; j++)
            words += src->off[idx[j] + 1] - src->off[idx[j]];
        free(dst->in);
        dst->in = calloc(words + 1, sizeof *dst->in);
        dst->off = calloc((size_t)n + 1, sizeof *dst->off);
        if (!dst->in || !dst->off) goto oom;
        for (uint32_t j = 0; j < n; j++) {
            uint32_t a = src->off[idx[j]], b = src->off[idx[j] + 1];
            memcpy(dst->in + dst->off[j], src->in + a, (b - a) * sizeof *dst->in);
            dst->off[j + 1] = dst->off[j] + (b - a);
        }
    } else {
        for (uint32_t j = 0; j < n; j++)
            memcpy(dst->in + (size_t)j * ni, src->in + (size_t)idx[j] * ni, ni * sizeof *src->in);
    }
    for (uint32_t j = 0; j < n; j++) {
        uint32_t i = idx[j];
        memcpy(dst->want + (size_t)j * no, src->want + (size_t)i * no, no * sizeof *src->want);
        if (src->target) dst->target[j] = src->target[i];
        if (src->in256) {
            memcpy(dst->in256 + (size_t)j * ni * 32, src->in256 + (size_t)i * ni * 32, ni * 32);
            memcpy(dst->want256 + (size_t)j * no * 32, src->want256 + (size_t)i * no * 32, no * 32);
        }
    }
    return 0;
oom:
    fit_cases_free(dst);
    return -1;
}

/* A copy of n bytes of p in a buffer of n + extra bytes (zeroed tail). */
static void *dup_mem(const void *p, size_t n, size_t extra) {
    if (!p) return NULL;
    void *q = calloc(1, n + extra ? n + extra : 1);
    if (q && n) memcpy(q, p, n);
    return q;
}

int fit_cases_copy(fit_cases *dst, const fit_cases *src, const fit_task *t) {
    memset(dst, 0, sizeof *dst);
    uint32_t n = src->n, no = fit_task_nout(t);
    size_t nin = src->off ? src->off[n] : (size_t)n * t->n_in;
    dst->n = n;
    dst->in = dup_mem(src->in, nin * sizeof *src->in, sizeof *src->in);
    dst->off = src->off ? dup_mem(src->off, ((size_t)n + 1) * sizeof *src->off, 0) : NULL;
    dst->want = dup_mem(src->want, (size_t)n * no * sizeof *src->want, sizeof *src->want);
    dst->target =
        src->target ? dup_mem(src->target, (size_t)n * sizeof *src->target, sizeof(double)) : NULL;
    dst->in256 = src->in256 ? dup_mem(src->in256, (size_t)n * t->n_in * 32, 1) : NULL;
    dst->want256 = src->want256 ? dup_mem(src->want256, (size_t)n * no * 32, 1) : NULL;
    if (!dst->in || !dst->want || (src->off && !dst->off) || (src->target && !dst->target) ||
        (src->in256 && !dst->in256) || (src->want256 && !dst->want256)) {
        fit_cases_free(dst);
        return -1;
    }
    return 0;
}

static int cases_alloc(fit_cases *cs, uint32_t n, uint32_t n_in, bool real) {
    return fit_cases_alloc(cs, n, n_in, 1, real, false);
}

int fit_vec_begin(fit_vec_builder *b, fit_cases *cs, uint32_t ncases, uint32_t n_out) {
    memset(b, 0, sizeof *b);
    memset(cs, 0, sizeof *cs);
    b->cs = cs;
    b->cap = ncases;
    b->n_out = n_out ? n_out : 1;
    b->wcap = 64;
    cs->off = calloc((size_t)ncases + 1, sizeof *cs->off);
    cs->want = calloc((size_t)ncases * b->n_out + 1, sizeof *cs->want);
    cs->in = calloc(b->wcap, sizeof *cs->in);
    return cs->off && cs->want && cs->in ? 0 : -1;
}

int fit_vec_add(fit_vec_builder *b, const vm_word *x, uint32_t len, const vm_word *want) {
    fit_cases *cs = b->cs;
    if (b->n >= b->cap) return -1;
    if (base_grow((void **)&cs->in, &b->wcap, b->words + len, sizeof *cs->in, SIZE_MAX)) return -1;
    if (len) memcpy(cs->in + b->words, x, len * sizeof *x);
    b->words += len;
    memcpy(cs->want + (size_t)b->n * b->n_out, want, b->n_out * sizeof *want);
    b->n++;
    cs->off[b->n] = (uint32_t)b->words;
    cs->n = b->n;
    return 0;
}

int fit_size(const char *task, const char *what, uint32_t want, uint32_t dflt, uint32_t min,
             uint32_t *out, char *err, size_t errcap) {
    if (want == 0) want = dflt;
    if (want < min || want > 10000000u) {
        base_errf(err, errcap, "%s: %s must be in %u..10000000 (the fixed cases need %u), not %u",
                  task, what, min, min, want);
        return -1;
    }
    *out = want;
    return 0;
}

void fit_task_free(fit_task *t) {
    if (!t) return;
    fit_cases_free(&t->train);
    fit_cases_free(&t->test);
    free(t->block);
    t->block = NULL;
    for (uint32_t i = 0; i < t->n_opaque; i++)
        free(t->opaque[i]);
    free(t->opaque);
    t->opaque = NULL;
    t->n_opaque = 0;
    free(t->probe);
    t->probe = NULL;
    t->n_probe = 0;
    fit_coevo_free(t->coevo);
    t->coevo = NULL;
    t->block_len = 0;
    for (uint32_t i = 0; t->in_names && i < t->n_in; i++)
        free(t->in_names[i]);
    free(t->in_names);
    t->in_names = NULL;
}

const fit_cases *fit_task_cases(const fit_task *t, fit_split which) {
    return which == FIT_TEST ? &t->test : &t->train;
}

uint32_t fit_task_nout(const fit_task *t) {
    return t->n_out ? t->n_out : 1;
}

uint32_t fit_task_nerrors(const fit_task *t, fit_split which) {
    return fit_task_cases(t, which)->n * fit_task_nout(t);
}

void fit_task_init(fit_task *t, const char *name, fit_error_kind err, uint32_t n_in) {
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->isa = FIT_ISA_NATIVE;
    t->error = err;
    t->fixed_point = err == FIT_ERR_FX_ABS;
    t->n_in = n_in;
    t->n_out = 1;
}

static void task_init(fit_task *t, const char *name, fit_error_kind err, uint32_t n_in) {
    fit_task_init(t, name, err, n_in);
}

/* ---- the library ---- */

const fit_task_entry fit_tasks[] = {
#define TASK(name, family, maker, arg, doc) {name, family, maker, arg, doc},
#include "fitness/tasks.def"
#undef TASK
};
const size_t fit_ntasks = sizeof fit_tasks / sizeof *fit_tasks;

const char *const fit_task_names[] = {
#define TASK(name, family, maker, arg, doc) name,
#include "fitness/tasks.def"
#undef TASK
    NULL};

const fit_task_entry *fit_task_find(const char *name) {
    for (size_t i = 0; name && i < fit_ntasks; i++)
        if (!strcmp(fit_tasks[i].name, name)) return &fit_tasks[i];
    return NULL;
}

void fit_task_list(char *buf, size_t cap) {
    size_t n = 0;
    if (!cap) return;
    buf[0] = 0;
    for (size_t i = 0; i < fit_ntasks && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", fit_tasks[i].name);
}

int fit_task_make(const char *name, const fit_task_opts *o, const fit_rng *rng, fit_task *t,
                  char *err, size_t errcap) {
    static const fit_task_opts none = {0};
    if (!o) o = &none;
    memset(t, 0, sizeof *t);
    if (!name) {
        base_errf(err, errcap, "no task name");
        return -1;
    }
    const fit_task_entry *e = fit_task_find(name);
    if (!e) {
        char list[1024];
        fit_task_list(list, sizeof list);
        base_errf(err, errcap, "unknown task '%s' (known: %s)", name, list);
        return -1;
    }
    if (err && errcap) err[0] = 0;
    if (e->make(e, o, rng, t, err, errcap)) {
        fit_task_free(t);
        if (err && errcap && !err[0]) base_errf(err, errcap, "%s: out of memory", name);
        return -1;
    }
    return 0;
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
    if (fit_cases_copy(&t->train, &src, t) || fit_cases_copy(&t->test, &src, t)) {
        fit_task_free(t);
        return -1;
    }
    return 0;
}
