/* Runs: the population, parallel deterministic evaluation, the generation
 * loop, budgets, statistics, hashing and the state blob (docs/gp.md). */
#include "evolve/evo_impl.h"

#include <libdeflate.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* ---- task helpers ---- */

static int64_t rng_range_cb(void *ctx, int64_t lo, int64_t hi) {
    return evo_rng_range((evo_rng *)ctx, lo, hi);
}

void evo_fit_rng(fit_rng *out, evo_rng *r) {
    out->ctx = r;
    out->range = rng_range_cb;
}

int evo_task_quartic(fit_task *t, uint64_t seed) {
    evo_rng r;
    evo_rng_stream(&r, seed, EVO_STREAM_TASK, 0, 0);
    fit_rng fr;
    evo_fit_rng(&fr, &r);
    return fit_task_quartic(t, &fr);
}

/* ---- parameters ---- */

void evo_params_default(evo_params *p, const evo_isa *isa, const fit_task *t) {
    memset(p, 0, sizeof *p);
    p->seed = 1;
    p->pop_size = EVO_DEFAULT_POP;
    p->islands = 1;
    evo_genome_params_for_task(&p->genome, isa, t);
    if (isa->isa == FIT_ISA_EVM) evo_genome_params_for_evm(&p->genome, isa, t);
    p->selection = EVO_SEL_TOURNAMENT;
    p->tournament = EVO_DEFAULT_TOURNAMENT;
    p->elites = 1;
    p->tiebreak = EVO_TIE_LENGTH;
    p->downsample = 1;
    p->objectives[0] = EVO_OBJ_ERROR;
    p->objectives[1] = EVO_OBJ_GAS;
    p->nobjectives = 2;
    p->migrate_every = 10;
    p->migrants = 5;
    p->topology = EVO_TOPO_RING;
    p->emigrate = EVO_EMIGRATE_BEST;
    p->max_generations = EVO_DEFAULT_GENERATIONS;
    p->target_error = -1;
}

/* ---- allocation ---- */

static void pop_free(evo_pop *p) {
    free(p->block);
    memset(p, 0, sizeof *p);
}

/* One block for all the arrays of a population, each on its own cache
 * lines: threads write neighbouring slots (chunks of EVO_CHUNK), and a line
 * shared between two arrays or two chunks would bounce between cores. */
static int pop_alloc(evo_pop *p, size_t total, size_t stride, size_t nc) {
    memset(p, 0, sizeof *p);
    const size_t L = 64;
    struct {
        void **ptr;
        size_t bytes;
    } a[] = {{(void **)&p->code, total * stride},
             {(void **)&p->errors, total * nc * sizeof *p->errors},
#define X(field, type, result) {(void **)&p->field, total * sizeof(type)},
             EVO_POP_ARRAYS(X)
#undef X
    };
    size_t n = sizeof a / sizeof *a, size = 0;
    for (size_t i = 0; i < n; i++)
        size += a[i].bytes = (a[i].bytes + L - 1) / L * L + L; /* never 0 */
    /* Zeroed now, so that the first generations do not pay for page faults;
     * in huge pages where the kernel offers them (THP "madvise"), since a
     * fault costs several microseconds in a VM: a 1.2 MB population took
     * about as long to fault in as a 300-individual run to evolve. */
    const size_t H = (size_t)2 << 20;
    bool huge = size >= H / 2;
    if (huge) size = (size + H - 1) / H * H;
    p->block = aligned_alloc(huge ? H : L, size);
    if (!p->block) return -1;
#ifdef MADV_HUGEPAGE
    if (huge) (void)madvise(p->block, size, MADV_HUGEPAGE); /* advice only */
#endif
    memset(p->block, 0, size);
    uint8_t *q = p->block;
    for (size_t i = 0; i < n; i++) {
        *a[i].ptr = q;
        q += a[i].bytes;
    }
    return 0;
}

static void thread_free(evo_thread *w) {
    fit_ctx_free(w->fc);
    evo_vary_ws_free(&w->vw);
    free(w->lex);
    memset(w, 0, sizeof *w);
}

/* The threads a generation is made on. */
static int run_threads(const evo_run *r) {
    int nt = r->p.threads ? (int)r->p.threads : omp_get_max_threads();
    return nt < 1 ? 1 : nt;
}

/* Make workspace w (when it is not one of the first have). 0 or 1. */
static int thread_init(const evo_run *r, evo_thread *w, int have) {
    if (w - r->ws < have) return 0;
    w->fc = fit_ctx_new(r->task, &r->p.limits);
    w->lex = malloc((2 * (size_t)r->N + r->nc) * sizeof *w->lex);
    return !w->fc || !w->lex || evo_vary_ws_init(&w->vw, &r->isa, &r->p.genome);
}

/* Workspaces for n threads, made once and kept (called outside parallel
 * regions). Each thread makes its own: glibc then serves it from the
 * thread's own malloc arena, so no two threads' VM arenas (whose process
 * state is written at every case) share a cache line. */
static int ensure_threads(evo_run *r, int n) {
    if (n <= r->nws) return 0;
    evo_thread *ws = aligned_alloc(64, (size_t)n * sizeof *ws);
    if (!ws) return -1;
    memset(ws, 0, (size_t)n * sizeof *ws);
    if (r->nws) memcpy(ws, r->ws, (size_t)r->nws * sizeof *ws);
    free(r->ws);
    r->ws = ws;
    int have = r->nws, bad = 0;
#pragma omp parallel num_threads(n) reduction(| : bad)
    bad |= thread_init(r, &ws[omp_get_thread_num()], have);
    for (int i = have; i < n && !bad; i++) /* threads OpenMP did not start */
        if (!ws[i].fc) bad |= thread_init(r, &ws[i], have);
    if (bad) {
        for (int i = have; i < n; i++)
            thread_free(&ws[i]);
        return -1;
    }
    r->nws = n;
    return 0;
}

void evo_run_free(evo_run *r) {
    if (!r) return;
    for (int i = 0; i < 3; i++)
        pop_free(&r->pop[i]);
    for (int i = 0; i < r->nws; i++)
        thread_free(&r->ws[i]);
    free(r->ws);
    free(r->eps);
    free(r->lex);
    free(r->elite);
    free(r->rank);
    free(r->crowd);
    free(r->obj);
    free(r->rank2);
    free(r->keep);
    free(r->crowd2);
    free(r->uscratch);
    free(r->kscratch);
    free(r->ds_idx);
    free(r->ds_err);
    fit_cases_free(&r->ds_cases);
    if (r->out)
        for (uint32_t i = 0; i < r->I; i++)
            base_buf_free(&r->out[i].bytes);
    if (r->in)
        for (uint32_t i = 0; i < r->I; i++)
            base_buf_free(&r->in[i].bytes);
    free(r->out);
    free(r->in);
    free(r->dest);
    free(r);
}

evo_run *evo_run_new(const evo_params *p, const fit_task *t, char *err, size_t errcap) {
    evo_run *r = calloc(1, sizeof *r);
    if (!r) {
        base_errf(err, errcap, "out of memory");
        return NULL;
    }
    r->p = *p;
    r->task = t;
    evo_isa_for_task(&r->isa, t);
    /* the task's limits, overridden field by field */
    vm_limits l = t->limits;
    if (p->limits.gas) l.gas = p->limits.gas;
    if (p->limits.mem) l.mem = p->limits.mem;
    if (p->limits.memtime) l.memtime = p->limits.memtime;
    if (p->limits.stack) l.stack = p->limits.stack;
    if (p->limits.calls) l.calls = p->limits.calls;
    if (p->limits.underflow) l.underflow = p->limits.underflow;
    r->p.limits = l;
    char why[256];
    if (evo_params_check(p, &r->isa, t, why, sizeof why)) {
        base_errf(err, errcap, "bad parameters: %s", why);
        goto fail;
    }
    r->N = p->pop_size;
    r->I = p->islands;
    r->total = r->N * r->I;
    r->nc = r->ncur = fit_task_nerrors(t, FIT_TRAIN);
    r->ds_gen = UINT64_MAX;
    if (p->downsample < 1) {
        double k = floor(p->downsample * t->train.n + 0.5);
        r->ds_n = k < 1 ? 1 : (uint32_t)k;
        r->ncur = r->ds_n * fit_task_nout(t);
        r->ds_idx = malloc((size_t)t->train.n * sizeof *r->ds_idx);
        r->ds_err = malloc((size_t)r->nc * sizeof *r->ds_err);
        if (!r->ds_idx || !r->ds_err) goto oom;
    }
    r->stride = p->genome.max_bytes;
    for (int i = 0; i < 3; i++)
        if (pop_alloc(&r->pop[i], r->total, r->stride, r->nc)) goto oom;
    size_t two = 2 * (size_t)r->N, mo = r->p.nobjectives ? r->p.nobjectives : 1;
    r->eps = calloc((size_t)r->I * r->nc, sizeof *r->eps);
    r->elite = calloc((size_t)r->I * (r->p.elites + 1), sizeof *r->elite);
    r->rank = calloc(r->total, sizeof *r->rank);
    r->crowd = calloc(r->total, sizeof *r->crowd);
    r->obj = calloc(two * mo, sizeof *r->obj);
    r->rank2 = calloc(two, sizeof *r->rank2);
    r->crowd2 = calloc(two, sizeof *r->crowd2);
    r->keep = calloc(two, sizeof *r->keep);
    r->uscratch = calloc(r->total + two, sizeof *r->uscratch);
    r->kscratch = calloc(r->total, sizeof *r->kscratch);
    r->out = calloc(r->I, sizeof *r->out);
    r->in = calloc(r->I, sizeof *r->in);
    r->dest = calloc(r->I, sizeof *r->dest);
    if (!r->eps || !r->elite || !r->rank || !r->crowd || !r->obj || !r->rank2 || !r->crowd2 ||
        !r->keep || !r->uscratch || !r->kscratch || !r->out || !r->in || !r->dest)
        goto oom;
    if (ensure_threads(r, run_threads(r))) goto oom; /* setup, not the first generation */
    r->transport = &evo_transport_local;
    r->msize = 1;
    return r;
oom:
    base_errf(err, errcap, "out of memory");
fail:
    evo_run_free(r);
    return NULL;
}

/* ---- views and copies ---- */

void evo_island_view(const evo_run *r, const evo_pop *p, uint32_t island, evo_view *v) {
    size_t b = (size_t)island * r->N;
    v->n = r->N;
    v->ncases = r->ncur;
    v->row = r->nc;
    v->fitness = p->fitness + b;
    v->errors = p->errors + b * r->nc;
    v->length = p->len + b;
    v->gas = p->gas + b;
}

/* Slot s's program and results, not its lineage: what an elite or a clone
 * takes from its parent (whose lineage lines it thus never reads). */
static void copy_result(const evo_run *r, evo_pop *dst, uint32_t d, const evo_pop *src,
                        uint32_t s) {
    memcpy(dst->code + (size_t)d * r->stride, src->code + (size_t)s * r->stride, src->len[s]);
    memcpy(dst->errors + (size_t)d * r->nc, src->errors + (size_t)s * r->nc,
           r->nc * sizeof *dst->errors);
#define X(field, type, result)                                                                     \
    if (result) dst->field[d] = src->field[s];
    EVO_POP_ARRAYS(X)
#undef X
}

void evo_pop_copy(const evo_run *r, evo_pop *dst, uint32_t d, const evo_pop *src, uint32_t s) {
    copy_result(r, dst, d, src, s);
#define X(field, type, result)                                                                     \
    if (!(result)) dst->field[d] = src->field[s];
    EVO_POP_ARRAYS(X)
#undef X
}

void evo_run_island(const evo_run *r, uint32_t island, evo_pop_view *v) {
    const evo_pop *p = &r->pop[r->cur];
    size_t b = (size_t)island * r->N;
    v->n = r->N;
    v->ncases = r->ncur;
    v->row = r->nc;
    v->stride = r->stride;
    v->code = p->code + b * r->stride;
    v->len = p->len + b;
    v->fitness = p->fitness + b;
    v->error = p->error + b;
    v->errors = p->errors + b * r->nc;
    v->gas = p->gas + b;
    v->memtime = p->memtime + b;
    v->status = p->status + b;
    v->hits = p->hits + b;
    v->parent_a = p->pa + b;
    v->parent_b = p->pb + b;
    v->ops = p->ops + b;
}

/* ---- evaluation of one slot ---- */

static double fitness_of(const evo_run *r, const fit_result *fr, uint32_t len) {
    const evo_params *p = &r->p;
    fit_weights w = {.w_length = p->parsimony_length,
                     .w_gas = p->parsimony_gas,
                     .gas_ref = p->gas_ref,
                     .w_memtime = p->parsimony_memtime,
                     .memtime_ref = p->memtime_ref,
                     .penalty_out_of_gas = p->penalty_out_of_gas,
                     .penalty_fault = p->penalty_fault};
    return fit_fitness(&w, r->task, fr, len);
}

/* The cases a generation is evaluated on: all the training cases, or, when
 * down-sampling, ds_n of them drawn for generation gen (a partial
 * Fisher-Yates shuffle of the case indices, then sorted). 0 or -1. */
static int sample_cases(evo_run *r, uint64_t gen) {
    if (r->p.downsample >= 1 || r->ds_gen == gen) return 0;
    uint32_t n = r->task->train.n, *x = r->ds_idx;
    for (uint32_t i = 0; i < n; i++)
        x[i] = i;
    evo_rng rng;
    evo_rng_stream(&rng, r->p.seed, EVO_STREAM_SAMPLE, gen, 0);
    for (uint32_t j = 0; j < r->ds_n; j++) {
        uint32_t k = j + evo_rng_below(&rng, n - j), t = x[j];
        x[j] = x[k];
        x[k] = t;
    }
    for (uint32_t j = 1; j < r->ds_n; j++) /* insertion sort: the sample in task order */
        for (uint32_t k = j; k > 0 && x[k - 1] > x[k]; k--) {
            uint32_t t = x[k];
            x[k] = x[k - 1];
            x[k - 1] = t;
        }
    r->ds_gen = UINT64_MAX;
    if (fit_cases_subset(r->task, &r->task->train, x, r->ds_n, &r->ds_cases)) return -1;
    r->ds_gen = gen;
    return 0;
}

/* Results carry over to a copy (elite, clone) only when the next generation
 * is judged on the same cases against the same opponents. */
static bool reuse_results(const evo_run *r) {
    return r->p.downsample >= 1 && !fit_task_is_coevo(r->task);
}

/* A result's summary columns into slot s (its errors are already in place). */
static void put_result(const evo_run *r, evo_pop *p, size_t s, const fit_result *fr) {
    p->error[s] = fr->error;
    p->gas[s] = fr->gas;
    p->memtime[s] = fr->memtime;
    p->status[s] = (uint32_t)fr->worst;
    p->hits[s] = fr->hits;
    p->fitness[s] = fitness_of(r, fr, p->len[s]);
}

static int evaluate(const evo_run *r, evo_thread *w, evo_pop *p, uint32_t s) {
    double *e = p->errors + (size_t)s * r->nc;
    fit_result fr = {.errors = e};
    const fit_cases *cs = r->p.downsample < 1 ? &r->ds_cases : &r->task->train;
    int rc = fit_eval_cases(w->fc, p->code + (size_t)s * r->stride, p->len[s], cs, &fr);
    if (r->ncur < r->nc) memset(e + r->ncur, 0, (r->nc - r->ncur) * sizeof *e);
    put_result(r, p, s, &fr);
    p->evald[s] = 1;
    return rc;
}

int evo_evaluate_slot(evo_run *r, evo_thread *w, evo_pop *p, uint32_t s) {
    if (sample_cases(r, r->gen)) return -1; /* the current generation's sample */
    return evaluate(r, w, p, s);
}

/* ---- selection methods (evolve/selection.def) ---- */

static const unsigned sel_flags[] = {
#define SEL(id, name, select, prepare, flags, doc) [EVO_SEL_##id] = (flags),
#include "evolve/selection.def"
#undef SEL
};

unsigned evo_selection_flags(evo_selection s) {
    return (unsigned)s < EVO_NSELECTIONS ? sel_flags[s] : 0;
}

const char *const evo_selection_names[] = {
#define SEL(id, name, select, prepare, flags, doc) [EVO_SEL_##id] = name,
#include "evolve/selection.def"
#undef SEL
    [EVO_NSELECTIONS] = NULL};

static double objective(const evo_pop *p, uint32_t s, evo_objective o) {
    switch (o) {
    case EVO_OBJ_GAS: return (double)p->gas[s];
    case EVO_OBJ_MEMTIME: return (double)p->memtime[s];
    case EVO_OBJ_LENGTH: return (double)p->len[s];
    default: return p->error[s];
    }
}

/* NSGA-II ranks and crowding over n slots of p starting at base, into
 * rank/crowd. Returns 0 or -1. */
static int nsga_rank(evo_run *r, const evo_pop *p, size_t base, uint32_t n, uint32_t *rank,
                     double *crowd) {
    uint32_t m = r->p.nobjectives;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < m; k++)
            r->obj[(size_t)i * m + k] = objective(p, (uint32_t)(base + i), r->p.objectives[k]);
    return evo_nsga2_sort(r->obj, n, m, rank, crowd) < 0 ? -1 : 0;
}

static uint32_t sel_tournament(const evo_run *r, evo_thread *w, const evo_view *v, uint32_t island,
                               evo_rng *rng) {
    return evo_select_tournament(v, r->p.tournament, r->p.tiebreak, rng);
}

/* Island k's lexicase table (prep_lexicase). */
static uint32_t *lex_table(const evo_run *r, uint32_t island) {
    return r->lex + (size_t)island * evo_lex_table_words(r->N, r->nc);
}

static uint32_t sel_lexicase(const evo_run *r, evo_thread *w, const evo_view *v, uint32_t island,
                             evo_rng *rng) {
    return evo_select_lexicase(v, NULL, lex_table(r, island), rng, w->lex);
}

static uint32_t sel_eps_lexicase(const evo_run *r, evo_thread *w, const evo_view *v,
                                 uint32_t island, evo_rng *rng) {
    return evo_select_lexicase(v, r->eps + (size_t)island * r->nc, lex_table(r, island), rng,
                               w->lex);
}

static uint32_t sel_crowded(const evo_run *r, evo_thread *w, const evo_view *v, uint32_t island,
                            evo_rng *rng) {
    size_t b = (size_t)island * r->N;
    return evo_select_crowded(r->rank + b, r->crowd + b, r->N, r->p.tournament, rng);
}

static int prep_none(evo_run *r, const evo_pop *p, uint32_t island, const evo_view *v) {
    return 0;
}

/* Lexicase's table, once a generation: the groups of identical error rows
 * and every case's first round, which every selection would repeat (most of
 * a lexicase run's time before). The tables are made at the first use. */
static int lex_prepare(evo_run *r, uint32_t island, const evo_view *v, const double *eps) {
    if (!r->lex &&
        !(r->lex = malloc((size_t)r->I * evo_lex_table_words(r->N, r->nc) * sizeof *r->lex)))
        return -1;
    evo_lexicase_table(v, eps, lex_table(r, island));
    return 0;
}

static int prep_lexicase(evo_run *r, const evo_pop *p, uint32_t island, const evo_view *v) {
    return lex_prepare(r, island, v, NULL);
}

static int prep_eps_lexicase(evo_run *r, const evo_pop *p, uint32_t island, const evo_view *v) {
    double *eps = r->eps + (size_t)island * r->nc;
    evo_lexicase_epsilon(v, eps, r->kscratch);
    return lex_prepare(r, island, v, eps);
}

static int prep_nsga2(evo_run *r, const evo_pop *p, uint32_t island, const evo_view *v) {
    size_t b = (size_t)island * r->N;
    return nsga_rank(r, p, b, r->N, r->rank + b, r->crowd + b);
}

static uint32_t select_parent(const evo_run *r, evo_thread *w, const evo_view *v, uint32_t island,
                              evo_rng *rng) {
    switch (r->p.selection) {
#define SEL(id, name, select, prepare, flags, doc)                                                 \
    case EVO_SEL_##id:                                                                             \
        return select(r, w, v, island, rng);
#include "evolve/selection.def"
#undef SEL
    default: return 0; /* evo_params_check refuses other values */
    }
}

/* The selection state of island k for the next generation: the method's,
 * then the elites. */
static int prepare_island(evo_run *r, const evo_pop *p, uint32_t k, const evo_view *v) {
    int rc = 0;
    switch (r->p.selection) {
#define SEL(id, name, select, prepare, flags, doc)                                                 \
    case EVO_SEL_##id:                                                                             \
        rc = prepare(r, p, k, v);                                                                  \
        break;
#include "evolve/selection.def"
#undef SEL
    default: break;
    }
    if (!rc && (sel_flags[r->p.selection] & EVO_SELECT_ELITES) && r->p.elites)
        evo_best_k(v, r->p.tiebreak, r->p.elites, r->elite + (size_t)k * r->p.elites, r->uscratch);
    return rc;
}

int evo_params_check(const evo_params *p, const evo_isa *isa, const fit_task *t, char *err,
                     size_t errcap) {
    if (p->pop_size < 2) {
        base_errf(err, errcap, "population.size: expected pop_size >= 2, found %u", p->pop_size);
        return -1;
    }
    if (p->islands < 1) {
        base_errf(err, errcap, "population.islands: expected >= 1, found 0");
        return -1;
    }
    if (p->tournament < 1) {
        base_errf(err, errcap, "selection.tournament: expected >= 1, found 0");
        return -1;
    }
    if ((unsigned)p->selection >= EVO_NSELECTIONS) {
        base_errf(err, errcap,
                  "selection.method: expected a method of evolve/selection.def, found %u",
                  (unsigned)p->selection);
        return -1;
    }
    unsigned flags = sel_flags[p->selection];
    if ((flags & EVO_SELECT_ELITES) && p->elites >= p->pop_size) {
        base_errf(err, errcap,
                  "selection.elites: expected less than population.size (%u), found %u",
                  p->pop_size, p->elites);
        return -1;
    }
    if ((uint64_t)p->pop_size * p->islands > (1u << 24)) {
        base_errf(err, errcap, "population: expected size * islands <= 16777216, found %llu",
                  (unsigned long long)p->pop_size * p->islands);
        return -1;
    }
    if ((unsigned)p->tiebreak > EVO_TIE_GAS) {
        base_errf(err, errcap, "selection.tiebreak: unknown tie-break %u", (unsigned)p->tiebreak);
        return -1;
    }
    if (flags & EVO_SELECT_OBJECTIVES) {
        if (p->nobjectives < 1 || p->nobjectives > 4) {
            base_errf(err, errcap,
                      "selection.objectives: expected 1..4 objectives for %s, found %u",
                      evo_selection_names[p->selection], p->nobjectives);
            return -1;
        }
        for (uint32_t i = 0; i < p->nobjectives; i++)
            if ((unsigned)p->objectives[i] > EVO_OBJ_LENGTH) {
                base_errf(err, errcap, "selection.objectives[%u]: unknown objective %u", i,
                          (unsigned)p->objectives[i]);
                return -1;
            }
    }
    if (p->islands > 1 && p->migrate_every > 0 && (p->migrants < 1 || p->migrants > p->pop_size)) {
        base_errf(err, errcap, "migration.migrants: expected 1..population.size (%u), found %u",
                  p->pop_size, p->migrants);
        return -1;
    }
    if ((unsigned)p->topology > EVO_TOPO_RANDOM || (unsigned)p->emigrate > EVO_EMIGRATE_RANDOM) {
        base_errf(err, errcap, "migration: unknown topology or emigrant choice");
        return -1;
    }
    if (!(p->parsimony_length >= 0) || !(p->parsimony_gas >= 0) || !(p->parsimony_memtime >= 0) ||
        !(p->gas_ref >= 0) || !(p->memtime_ref >= 0) || !(p->penalty_out_of_gas >= 0) ||
        !(p->penalty_fault >= 0)) {
        base_errf(err, errcap,
                  "fitness: expected parsimony weights, references and fault penalties >= 0");
        return -1;
    }
    if (t->isa != isa->isa) {
        base_errf(err, errcap, "task: the task's ISA differs from the genome ISA");
        return -1;
    }
    if (t->train.n < 1) {
        base_errf(err, errcap, "task: the task has no training cases");
        return -1;
    }
    if (!(p->downsample > 0 && p->downsample <= 1)) {
        base_errf(err, errcap, "selection.downsample: expected a fraction in (0, 1], found %g",
                  p->downsample);
        return -1;
    }
    if (p->downsample < 1 && fit_task_is_coevo(t)) {
        base_errf(err, errcap,
                  "selection.downsample: expected 1 for a co-evolution task (its cases are the "
                  "other players), found %g",
                  p->downsample);
        return -1;
    }
    return evo_genome_check(&p->genome, isa, err, errcap);
}

/* Make slot s of dst from src (NULL: a random program); prefix:
 * evo_rng_prefix(seed, island, generation), so that the slot's stream is
 * evo_rng_stream(seed, island, generation, i). */
static int make_slot(const evo_run *r, evo_thread *w, const evo_pop *src, evo_pop *dst, uint32_t s,
                     uint64_t prefix) {
    uint32_t island = s / r->N, i = s % r->N;
    size_t base = (size_t)island * r->N;
    evo_rng rng;
    evo_rng_stream_at(&rng, prefix, i);
    uint8_t *out = dst->code + (size_t)s * r->stride;
    if (!src) {
        dst->len[s] = evo_genome_random(&r->isa, &r->p.genome, &rng, out, &w->vw);
        dst->ninsns[s] = evo_genome_insns(&r->isa, out, dst->len[s]);
        dst->pa[s] = dst->pb[s] = EVO_NO_PARENT;
        dst->ops[s] = 0;
        return evaluate(r, w, dst, s);
    }
    if ((sel_flags[r->p.selection] & EVO_SELECT_ELITES) && i < r->p.elites) {
        uint32_t e = r->elite[(size_t)island * r->p.elites + i];
        copy_result(r, dst, s, src, (uint32_t)(base + e));
        dst->pa[s] = e;
        dst->pb[s] = EVO_NO_PARENT;
        dst->ops[s] = EVO_OP_ELITE;
        dst->evald[s] = 0;
        /* co-evolution, down-sampling: results are relative to this generation */
        return reuse_results(r) ? 0 : evaluate(r, w, dst, s);
    }
    evo_view v;
    evo_island_view(r, src, island, &v);
    uint32_t a = select_parent(r, w, &v, island, &rng);
    unsigned cx = evo_draw_crossover(&r->p.genome, &rng);
    uint32_t b = cx ? select_parent(r, w, &v, island, &rng) : EVO_NO_PARENT;
    const uint8_t *ca = src->code + (base + a) * r->stride;
    uint32_t la = src->len[base + a];
    const uint8_t *cb = cx ? src->code + (base + b) * r->stride : NULL;
    uint32_t lb = cx ? src->len[base + b] : 0, lc, nc;
    unsigned mask = evo_vary_n(&r->isa, &r->p.genome, &rng, ca, la, src->ninsns[base + a], cb, lb,
                               cx ? src->ninsns[base + b] : 0, cx, out, &lc, &nc, &w->vw);
    if (lc == la && memcmp(out, ca, la) == 0 && reuse_results(r)) {
        /* unchanged: reuse the parent's result */
        copy_result(r, dst, s, src, (uint32_t)(base + a));
        dst->evald[s] = 0;
        mask |= EVO_OP_CLONE;
    } else {
        dst->len[s] = lc;
        dst->ninsns[s] = nc;
        if (evaluate(r, w, dst, s)) return -1;
    }
    dst->pa[s] = a;
    dst->pb[s] = b;
    dst->ops[s] = mask;
    return 0;
}

/* This process makes islands me, me + R, me + 2R, ... (all of them without
 * MPI): slot t of that list is this slot of the population. */
static uint32_t slot_of(const evo_run *r, int64_t t) {
    return (r->mrank + (uint32_t)(t / r->N) * r->msize) * r->N + (uint32_t)(t % r->N);
}

/* Ask for the lines slot s will write, with intent to write, before a chunk
 * is made (with more than one thread). Another thread read them as parents
 * two generations ago, so each first store would otherwise wait, in turn,
 * for that thread's copy to be invalidated: 3.5% of a 2-thread run where a
 * line takes 250 ns from core to core (docs/performance.md). */
static void fetch_for_write(const evo_run *r, const evo_pop *p, uint32_t s) {
    __builtin_prefetch(p->code + (size_t)s * r->stride, 1);
    const double *e = p->errors + (size_t)s * r->nc;
    for (uint32_t k = 0; k < r->nc; k += 8)
        __builtin_prefetch(e + k, 1);
#define X(field, type, result) __builtin_prefetch(&p->field[s], 1);
    EVO_POP_ARRAYS(X)
#undef X
}

/* Every slot of dst, in parallel, while the calling thread runs job first
 * (evo_run_step_with); returns 0 or -1. */
static int make_all(evo_run *r, const evo_pop *src, evo_pop *dst, uint64_t gen, void (*job)(void *),
                    void *ctx) {
    int nt = run_threads(r);
    if (ensure_threads(r, nt) || sample_cases(r, gen)) return -1;
    const evo_run *cr = r;
    evo_thread *ws = r->ws;
    int failed = 0;
    uint32_t R = r->msize, me = r->mrank, N = r->N;
    uint32_t mine = r->I > me ? (r->I - me - 1) / R + 1 : 0;
    int64_t total = (int64_t)mine * N, nchunks = (total + EVO_CHUNK - 1) / EVO_CHUNK;
    for (int i = 0; i < nt; i++) /* each thread counts what it evaluates */
        ws[i].evals = ws[i].gas = 0;
#pragma omp parallel num_threads(nt) reduction(| : failed)
    {
        /* the calling thread (number 0) joins the others when its job is done */
        if (job && omp_get_thread_num() == 0) job(ctx);
        evo_thread *w = &ws[omp_get_thread_num()];
#pragma omp for schedule(dynamic, 1) nowait
        for (int64_t c = 0; c < nchunks; c++) {
            int64_t lo = c * EVO_CHUNK, hi = lo + EVO_CHUNK < total ? lo + EVO_CHUNK : total;
            for (int64_t t = lo; t < hi && nt > 1; t++)
                fetch_for_write(cr, dst, slot_of(cr, t));
            uint32_t island = UINT32_MAX;
            uint64_t prefix = 0; /* of the island's streams this generation */
            for (int64_t t = lo; t < hi; t++) {
                uint32_t s = slot_of(cr, t);
                if (s / N != island)
                    island = s / N, prefix = evo_rng_prefix(cr->p.seed, island, gen);
                failed |= make_slot(cr, w, src, dst, s, prefix) != 0;
                if (dst->evald[s]) w->evals++, w->gas += dst->gas[s];
            }
        }
    }
    if (failed) return -1;
    for (int i = 0; i < nt; i++)
        r->evals += ws[i].evals, r->gas_total += ws[i].gas;
    if (R > 1) { /* the other ranks' islands */
        if (evo_mpi_share(r, dst)) return -1;
        for (uint32_t s = 0; s < r->total; s++)
            if (s / N % R != me && dst->evald[s]) r->evals++, r->gas_total += dst->gas[s];
    }
    return 0;
}

/* ---- selection state for the next step ---- */

static int prepare(evo_run *r) {
    const evo_pop *p = &r->pop[r->cur];
    for (uint32_t k = 0; k < r->I; k++) {
        evo_view v;
        evo_island_view(r, p, k, &v);
        if (prepare_island(r, p, k, &v)) return -1;
    }
    return 0;
}

/* (mu + lambda) survival: the best N of parents (cur) and offspring (off)
 * into out, per island. */
static int nsga_survive(evo_run *r, const evo_pop *cur, const evo_pop *off, evo_pop *out) {
    uint32_t N = r->N, m = r->p.nobjectives;
    for (uint32_t k = 0; k < r->I; k++) {
        size_t b = (size_t)k * N;
        for (uint32_t i = 0; i < 2 * N; i++) {
            const evo_pop *p = i < N ? cur : off;
            uint32_t s = (uint32_t)(b + (i < N ? i : i - N));
            for (uint32_t j = 0; j < m; j++)
                r->obj[(size_t)i * m + j] = objective(p, s, r->p.objectives[j]);
        }
        if (evo_nsga2_sort(r->obj, 2 * N, m, r->rank2, r->crowd2) < 0 ||
            evo_nsga2_survivors(r->rank2, r->crowd2, 2 * N, N, r->keep))
            return -1;
        for (uint32_t i = 0; i < N; i++) {
            uint32_t c = r->keep[i], d = (uint32_t)(b + i);
            if (c < N) {
                evo_pop_copy(r, out, d, cur, (uint32_t)(b + c));
                out->pa[d] = c;
                out->pb[d] = EVO_NO_PARENT;
                out->ops[d] = EVO_OP_SURVIVOR;
                out->evald[d] = 0;
            } else {
                evo_pop_copy(r, out, d, off, (uint32_t)(b + c - N));
            }
        }
    }
    return 0;
}

/* ---- the loop ---- */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint32_t best_slot(const evo_run *r, const evo_pop *p) {
    /* down-sampling: the first verified on every case beats any judged on
     * the sample only */
    for (uint32_t s = 0; r->p.downsample < 1 && s < r->total; s++)
        if (p->ops[s] & EVO_OP_VERIFIED) return s;
    uint32_t best = 0;
    evo_view v = {.n = r->total,
                  .ncases = r->nc,
                  .fitness = p->fitness,
                  .errors = p->errors,
                  .length = p->len,
                  .gas = p->gas};
    for (uint32_t s = 1; s < r->total; s++)
        if (evo_better(&v, r->p.tiebreak, s, best)) best = s;
    return best;
}

/* Co-evolution: the generation just made puts its best program into the
 * task's hall of fame, against which the next generation is evaluated. */
static int coevo_push(evo_run *r) {
    if (!fit_task_is_coevo(r->task)) return 0;
    const evo_pop *p = &r->pop[r->cur];
    uint32_t b = best_slot(r, p);
    return fit_coevo_push(r->task, p->code + (size_t)b * r->stride, p->len[b]);
}

/* Down-sampling: an individual that meets the target on the sample stops
 * the run only if it meets it on every training case. Each is checked there
 * (the checks are evaluations): one that meets it takes its full results
 * and EVO_OP_VERIFIED; one that does not keeps its row and fitness, which
 * selection reads, and shows its error and hits on every case, so that no
 * summary counts it solved. 0 or -1. */
static int verify_sample(evo_run *r) {
    if (r->p.downsample >= 1 || r->p.target_error < 0) return 0;
    evo_pop *p = &r->pop[r->cur];
    for (uint32_t s = 0; s < r->total; s++) {
        if (!(p->error[s] <= r->p.target_error)) continue;
        fit_result fr = {.errors = r->ds_err};
        if (fit_eval(r->ws[0].fc, p->code + (size_t)s * r->stride, p->len[s], FIT_TRAIN, &fr))
            return -1;
        r->evals++;
        r->gas_total += fr.gas;
        if (!(fr.error <= r->p.target_error)) {
            p->error[s] = fr.error;
            p->hits[s] = fr.hits;
            continue;
        }
        memcpy(p->errors + (size_t)s * r->nc, r->ds_err, r->nc * sizeof *r->ds_err);
        put_result(r, p, s, &fr);
        p->ops[s] |= EVO_OP_VERIFIED;
    }
    return 0;
}

static evo_stop check_stop(const evo_run *r) {
    const evo_params *p = &r->p;
    const evo_pop *pop = &r->pop[r->cur];
    if (p->target_error >= 0) {
        double best = INFINITY;
        for (uint32_t s = 0; s < r->total; s++)
            if (pop->error[s] < best && (p->downsample >= 1 || (pop->ops[s] & EVO_OP_VERIFIED)))
                best = pop->error[s];
        if (best <= p->target_error) return EVO_STOP_TARGET;
    }
    if (p->max_generations && r->gen >= p->max_generations) return EVO_STOP_GENERATIONS;
    if (p->max_evaluations && r->evals >= p->max_evaluations) return EVO_STOP_EVALUATIONS;
    if (p->max_gas && r->gas_total >= p->max_gas) return EVO_STOP_GAS;
    if (p->max_seconds > 0 && now() - r->t0 >= p->max_seconds) return EVO_STOP_WALL;
    return EVO_STOP_NONE;
}

int evo_run_step(evo_run *r) {
    return evo_run_step_with(r, NULL, NULL);
}

int evo_run_step_with(evo_run *r, void (*job)(void *ctx), void *ctx) {
    if (r->started && r->stop != EVO_STOP_NONE) return 1;
    if (!r->started) {
        r->t0 = now();
        r->cur = 0;
        r->gen = 0;
        r->evals = r->gas_total = 0;
        if (make_all(r, NULL, &r->pop[0], 0, job, ctx) || coevo_push(r)) return -1;
        r->started = true;
        if (verify_sample(r)) return -1;
        r->stop = check_stop(r);
        if (r->msize > 1) r->stop = evo_mpi_agree_stop(r, r->stop);
        return 0;
    }
    if (prepare(r)) return -1;
    int nxt = (r->cur + 1) % 3;
    uint64_t gen = r->gen + 1;
    if (make_all(r, &r->pop[r->cur], &r->pop[nxt], gen, job, ctx)) return -1;
    if (sel_flags[r->p.selection] & EVO_SELECT_SURVIVAL) {
        int out = (r->cur + 2) % 3;
        if (nsga_survive(r, &r->pop[r->cur], &r->pop[nxt], &r->pop[out])) return -1;
        nxt = out;
    }
    r->cur = nxt;
    r->gen = gen;
    if (r->I > 1 && r->p.migrate_every && gen % r->p.migrate_every == 0) {
        double tm = now();
        if (evo_migrate(r)) return -1;
        evo_mpi_note_migrate(now() - tm);
    }
    if (coevo_push(r) || verify_sample(r)) return -1;
    r->stop = check_stop(r);
    if (r->msize > 1) r->stop = evo_mpi_agree_stop(r, r->stop);
    return 0;
}

int evo_run_until_done(evo_run *r) {
    for (;;) {
        int rc = evo_run_step(r);
        if (rc < 0) return -1;
        if (rc == 1 || r->stop != EVO_STOP_NONE) return 0;
    }
}

evo_stop evo_run_stopped(const evo_run *r) {
    return r->started ? r->stop : EVO_STOP_NONE;
}

const char *evo_stop_name(evo_stop s) {
    switch (s) {
    case EVO_STOP_NONE: return "none";
    case EVO_STOP_TARGET: return "target";
    case EVO_STOP_GENERATIONS: return "generations";
    case EVO_STOP_EVALUATIONS: return "evaluations";
    case EVO_STOP_GAS: return "gas";
    case EVO_STOP_WALL: return "wall-clock";
    default: return "unknown";
    }
}

bool evo_run_started(const evo_run *r) {
    return r->started;
}
uint64_t evo_run_generation(const evo_run *r) {
    return r->gen;
}
uint64_t evo_run_evaluations(const evo_run *r) {
    return r->evals;
}
uint64_t evo_run_gas_total(const evo_run *r) {
    return r->gas_total;
}
bool evo_run_reproducible(const evo_run *r) {
    return !(r->p.max_seconds > 0);
}
const evo_params *evo_run_params(const evo_run *r) {
    return &r->p;
}
const evo_isa *evo_run_isa(const evo_run *r) {
    return &r->isa;
}
const fit_task *evo_run_task(const evo_run *r) {
    return r->task;
}

int evo_run_eval(evo_run *r, uint32_t island, uint32_t slot, fit_split which, fit_result *res) {
    if (!r->started || island >= r->I || slot >= r->N) return -1;
    const evo_pop *p = &r->pop[r->cur];
    size_t s = (size_t)island * r->N + slot;
    return fit_eval(r->ws[0].fc, p->code + s * r->stride, p->len[s], which, res);
}

int evo_run_simplify(evo_run *r, uint32_t island, uint32_t slot, uint32_t steps, uint8_t *out,
                     uint32_t *len) {
    if (!r->started || island >= r->I || slot >= r->N) return -1;
    const evo_pop *p = &r->pop[r->cur];
    size_t s = (size_t)island * r->N + slot;
    uint32_t n = p->len[s], cap = r->p.genome.max_bytes;
    uint32_t ne = fit_task_nerrors(r->task, FIT_TRAIN);
    uint8_t *try = malloc(cap);
    double *e = malloc(sizeof(double) * (ne ? ne : 1));
    int rc = -1;
    if (!try || !e) goto cleanup;
    memcpy(out, p->code + s * r->stride, n);
    evo_thread *w = &r->ws[0];
    fit_result res = {.errors = e};
    if (fit_eval(w->fc, out, n, FIT_TRAIN, &res)) goto cleanup;
    double best = res.error;
    evo_rng rng;
    evo_rng_stream(&rng, r->p.seed, EVO_STREAM_SIMPLIFY, r->gen, s);
    for (uint32_t k = 0; k < steps && evo_genome_insns(&r->isa, out, n) > 1; k++) {
        uint32_t m = n;
        memcpy(try, out, n);
        /* 1 to 3 instructions, as Helmuth et al. delete 1 to 3 genes */
        for (uint32_t d = 1 + (uint32_t)evo_rng_below(&rng, 3); d; d--)
            evo_mut_delete(&r->isa, &r->p.genome, &rng, try, &m, &w->vw);
        evo_genome_repair(&r->isa, try, m, &w->vw);
        if (m == n) continue;
        if (fit_eval(w->fc, try, m, FIT_TRAIN, &res)) goto cleanup;
        if (res.error <= best) {
            best = res.error;
            memcpy(out, try, m);
            n = m;
        }
    }
    *len = n;
    rc = 0;
cleanup:
    free(try);
    free(e);
    return rc;
}

/* ---- statistics ---- */

/* The median of a column: what 0 the errors, 1 gas, 2 memory-time, 3
 * length. */
static double median_of(uint64_t *k, const evo_pop *p, uint32_t total, int what) {
    for (uint32_t s = 0; s < total; s++)
        k[s] = what == 0   ? evo_key_of_double(p->error[s])
               : what == 1 ? p->gas[s]
               : what == 2 ? p->memtime[s]
                           : p->len[s];
    return evo_median_keys(k, total, what == 0);
}

int evo_run_stats(const evo_run *r, evo_stats *s) {
    memset(s, 0, sizeof *s);
    if (!r->started) return -1;
    const evo_pop *p = &r->pop[r->cur];
    s->generation = r->gen;
    s->evaluations = r->evals;
    s->gas_total = r->gas_total;
    uint32_t b = best_slot(r, p);
    s->best_island = b / r->N;
    s->best_slot = b % r->N;
    s->best_fitness = p->fitness[b];
    s->best_error = p->error[b];
    s->best_hits = p->hits[b];
    s->best_length = p->len[b];
    s->best_gas = p->gas[b];
    s->best_memtime = p->memtime[b];
    s->best_status = (uint8_t)p->status[b];
    double sum = 0;
    for (uint32_t i = 0; i < r->total; i++)
        sum += p->error[i];
    s->mean_error = sum / r->total;
    uint64_t *x = r->kscratch; /* scratch owned by the run; stats are single-threaded */
    s->median_error = median_of(x, p, r->total, 0);
    s->median_gas = median_of(x, p, r->total, 1);
    s->median_memtime = median_of(x, p, r->total, 2);
    s->median_length = median_of(x, p, r->total, 3);
    return 0;
}

/* ---- hashing ---- */

static uint64_t fnv64(uint64_t h, uint64_t v) {
    uint8_t b[8];
    base_le_put(b, v, 8);
    return base_fnv1a(h, b, 8);
}

static uint64_t dbits(double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

int evo_run_count_insns(evo_run *r, bool on) {
    if (ensure_threads(r, run_threads(r))) return -1;
    for (int i = 0; i < r->nws; i++) {
        r->ws[i].insns = 0;
        fit_ctx_count_insns(r->ws[i].fc, on ? &r->ws[i].insns : NULL);
    }
    return 0;
}

int evo_run_time_interp(evo_run *r, bool on) {
    if (ensure_threads(r, run_threads(r))) return -1;
    for (int i = 0; i < r->nws; i++) {
        r->ws[i].interp = (vm_interp_clock){0, 0};
        fit_ctx_time_interp(r->ws[i].fc, on ? &r->ws[i].interp : NULL);
    }
    return 0;
}

double evo_run_interp_secs(const evo_run *r, uint64_t *entries) {
    uint64_t n = 0, e = 0;
    for (int i = 0; i < r->nws; i++) {
        n += r->ws[i].interp.ns;
        e += r->ws[i].interp.entries;
    }
    if (entries) *entries = e;
    return (double)n * 1e-9;
}

uint64_t evo_run_insns(const evo_run *r) {
    uint64_t n = 0;
    for (int i = 0; i < r->nws; i++)
        n += r->ws[i].insns;
    return n;
}

uint64_t evo_run_hash(const evo_run *r) {
    uint64_t h = BASE_FNV_OFFSET;
    h = fnv64(h, r->started);
    h = fnv64(h, r->gen);
    h = fnv64(h, r->evals);
    h = fnv64(h, r->gas_total);
    if (!r->started) return h;
    const evo_pop *p = &r->pop[r->cur];
    for (uint32_t s = 0; s < r->total; s++) {
        h = fnv64(h, p->len[s]);
        h = base_fnv1a(h, p->code + (size_t)s * r->stride, p->len[s]);
        h = fnv64(h, dbits(p->fitness[s]));
        h = fnv64(h, dbits(p->error[s]));
        for (uint32_t c = 0; c < r->nc; c++)
            h = fnv64(h, dbits(p->errors[(size_t)s * r->nc + c]));
        h = fnv64(h, p->gas[s]);
        h = fnv64(h, p->memtime[s]);
        h = fnv64(h, p->status[s]);
        h = fnv64(h, p->hits[s]);
        h = fnv64(h, p->pa[s]);
        h = fnv64(h, p->pb[s]);
        h = fnv64(h, p->ops[s]);
    }
    return h;
}

/* ---- records and the state blob ---- */

/* The bytes of a record with a genome of n bytes (the layout below). */
static size_t record_bytes(const evo_run *r, size_t n) {
    return 4 + n + 8 * (4 + (size_t)r->nc) + 2 + 16;
}

int evo_record_put(const evo_run *r, base_buf *b, const evo_pop *p, uint32_t s) {
    uint32_t n = p->len[s];
    if (base_buf_reserve(b, record_bytes(r, n))) return -1; /* then written in place */
    uint8_t *o = base_le_put(b->data + b->len, n, 4);
    memcpy(o, p->code + (size_t)s * r->stride, n);
    o = base_le_put(o + n, dbits(p->fitness[s]), 8);
    o = base_le_put(o, dbits(p->error[s]), 8);
    for (uint32_t c = 0; c < r->nc; c++)
        o = base_le_put(o, dbits(p->errors[(size_t)s * r->nc + c]), 8);
    o = base_le_put(o, p->gas[s], 8);
    o = base_le_put(o, p->memtime[s], 8);
    o = base_le_put(o, p->status[s], 1);
    o = base_le_put(o, p->hits[s], 4);
    o = base_le_put(o, p->pa[s], 4);
    o = base_le_put(o, p->pb[s], 4);
    o = base_le_put(o, p->ops[s], 4);
    o = base_le_put(o, p->evald[s], 1);
    b->len = (size_t)(o - b->data);
    return 0;
}

static double ubits(uint64_t u) {
    double d;
    memcpy(&d, &u, 8);
    return d;
}

int evo_record_get(const evo_run *r, const uint8_t *d, size_t len, size_t *off, evo_pop *p,
                   uint32_t s) {
    if (*off > len) return -1;
    base_rd rd = {.d = d, .n = len, .off = *off};
    uint64_t n = base_get_u(&rd, 4, "a genome's length");
    if (rd.bad || n > r->stride || rd.n - rd.off < n) return -1;
    uint8_t *code = p->code + (size_t)s * r->stride;
    base_get(&rd, code, n, "a genome");
    if (!evo_genome_ok(&r->isa, &r->p.genome, code, (uint32_t)n)) return -1;
    p->len[s] = (uint32_t)n;
    p->ninsns[s] = evo_genome_insns(&r->isa, code, (uint32_t)n);
    p->fitness[s] = ubits(base_get_u(&rd, 8, "a record"));
    p->error[s] = ubits(base_get_u(&rd, 8, "a record"));
    for (uint32_t c = 0; c < r->nc; c++)
        p->errors[(size_t)s * r->nc + c] = ubits(base_get_u(&rd, 8, "a record"));
    p->gas[s] = base_get_u(&rd, 8, "a record");
    p->memtime[s] = base_get_u(&rd, 8, "a record");
    uint64_t status = base_get_u(&rd, 1, "a record");
    p->hits[s] = (uint32_t)base_get_u(&rd, 4, "a record");
    p->pa[s] = (uint32_t)base_get_u(&rd, 4, "a record");
    p->pb[s] = (uint32_t)base_get_u(&rd, 4, "a record");
    p->ops[s] = (uint32_t)base_get_u(&rd, 4, "a record");
    uint64_t evald = base_get_u(&rd, 1, "a record");
    if (rd.bad || status >= VM_NSTATUS || evald > 1) return -1;
    p->status[s] = (uint32_t)status;
    p->evald[s] = (uint32_t)evald;
    *off = rd.off;
    return 0;
}

static const uint8_t state_magic[8] = {'F', 'R', 'G', 'L', 'E', 'V', 'O', 0};
/* 2: the trailer is a CRC-32, which libdeflate computes about 20 times faster
 * than 1's byte-wise FNV-1a (a checkpoint of 500 quartic individuals: 0.15 ms) */
#define STATE_VERSION 2u
#define STATE_GEN_OFF 37u /* magic 8, version 4, 4 dimensions 4 each, seed 8, started 1 */

/* The trailer a blob of version v must end with. */
static uint64_t state_sum(uint64_t v, const uint8_t *d, size_t n) {
    return v == 1 ? base_fnv1a(BASE_FNV_OFFSET, d, n) : libdeflate_crc32(0, d, n);
}

/* 0 if d is a whole blob (magic, a version this build reads, checksum); its
 * version in *version. */
static int state_intact(const uint8_t *d, size_t len, uint64_t *version) {
    if (len < STATE_GEN_OFF + 8 + 8 || memcmp(d, state_magic, 8) != 0) return -1;
    *version = base_le_get(d + 8, 4);
    uint64_t ck = base_le_get(d + len - 8, 8);
    if (*version < 1 || *version > STATE_VERSION) return -2;
    return ck == state_sum(*version, d, len - 8) ? 0 : -3;
}

int evo_state_peek(const uint8_t *d, size_t len, uint64_t *generation) {
    uint64_t v;
    if (state_intact(d, len, &v) < 0 || d[STATE_GEN_OFF - 1] != 1) return -1; /* not started */
    *generation = base_le_get(d + STATE_GEN_OFF, 8);
    return 0;
}

int evo_run_save_state(const evo_run *r, uint8_t **blob, size_t *len) {
    base_buf b = {0};
    base_wr w = {&b, 0};
    base_put(&w, state_magic, 8);
    base_put_u(&w, STATE_VERSION, 4);
    base_put_u(&w, r->I, 4);
    base_put_u(&w, r->N, 4);
    base_put_u(&w, r->nc, 4);
    base_put_u(&w, r->stride, 4);
    base_put_u(&w, r->p.seed, 8);
    base_put_u(&w, r->started, 1);
    base_put_u(&w, r->gen, 8);
    base_put_u(&w, r->evals, 8);
    base_put_u(&w, r->gas_total, 8);
    if (r->started)
        for (uint32_t s = 0; s < r->total && !w.err; s++)
            if (evo_record_put(r, &b, &r->pop[r->cur], s)) w.err = -1;
    if (fit_task_is_coevo(r->task)) { /* co-evolution: u32 length, the hall of fame */
        vm_buf h = {0};
        if (fit_coevo_save(r->task, &h)) w.err = -1;
        base_put_u(&w, h.len, 4);
        base_put(&w, h.data, h.len);
        vm_buf_free(&h);
    }
    if (!w.err) base_put_u(&w, state_sum(STATE_VERSION, b.data, b.len), 8);
    if (w.err) {
        base_buf_free(&b);
        return -1;
    }
    *blob = b.data;
    *len = b.len;
    return 0;
}

int evo_run_load_state(evo_run *r, const uint8_t *d, size_t len, char *err, size_t errcap) {
    uint64_t v = 0;
    switch (state_intact(d, len, &v)) {
    case -1:
        base_errf(err, errcap, "state blob: not a frugal run state (bad magic or too short)");
        return -1;
    case -2:
        base_errf(err, errcap, "state blob: unsupported version %llu (this build reads 1 to %u)",
                  (unsigned long long)v, STATE_VERSION);
        return -1;
    case -3:
        base_errf(err, errcap, "state blob: checksum mismatch (truncated or corrupt)");
        return -1;
    }
    base_rd rd = {.d = d, .n = len - 8, .off = 12}; /* the body, after magic and version */
    const struct {
        const char *what;
        int bytes;
        uint64_t want;
    } dims[] = {{"islands", 4, r->I},
                {"pop_size", 4, r->N},
                {"cases", 4, r->nc},
                {"max_bytes", 4, r->stride},
                {"seed", 8, r->p.seed}};
    for (size_t i = 0; i < sizeof dims / sizeof *dims; i++) {
        v = base_get_u(&rd, dims[i].bytes, dims[i].what);
        if (rd.bad) goto trunc;
        if (v != dims[i].want) {
            base_errf(err, errcap, "state blob: %s is %llu, the run has %llu", dims[i].what,
                      (unsigned long long)v, (unsigned long long)dims[i].want);
            return -1;
        }
    }
    uint64_t started = base_get_u(&rd, 1, "the header");
    uint64_t gen = base_get_u(&rd, 8, "the header");
    uint64_t evals = base_get_u(&rd, 8, "the header");
    uint64_t gas = base_get_u(&rd, 8, "the header");
    if (rd.bad || started > 1) goto trunc;
    int spare = (r->cur + 1) % 3;
    if (started)
        for (uint32_t s = 0; s < r->total; s++)
            if (evo_record_get(r, d, rd.n, &rd.off, &r->pop[spare], s)) {
                base_errf(err, errcap, "state blob: individual %u is malformed", s);
                return -1;
            }
    uint64_t hof_len = 0;
    size_t hof_off = 0;
    if (fit_task_is_coevo(r->task)) { /* the hall of fame, loaded last */
        hof_len = base_get_u(&rd, 4, "the hall of fame's length");
        if (rd.bad || rd.n - rd.off < hof_len) goto trunc;
        hof_off = rd.off;
        rd.off += hof_len;
    }
    if (rd.off != rd.n) {
        base_errf(err, errcap, "state blob: %zu unexpected bytes at the end", rd.n - rd.off);
        return -1;
    }
    if (fit_task_is_coevo(r->task) && fit_coevo_load(r->task, d + hof_off, hof_len, err, errcap))
        return -1;
    r->started = started;
    r->gen = gen;
    r->evals = evals;
    r->gas_total = gas;
    r->cur = spare;
    r->t0 = now();
    r->stop = started ? check_stop(r) : EVO_STOP_NONE;
    return 0;
trunc:
    base_errf(err, errcap, "state blob: truncated header");
    return -1;
}
