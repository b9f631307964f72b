/* evolve/run.c and island.c: identical results for any thread count, resume
 * from the in-memory state equals an uninterrupted run, budgets, elitism,
 * and migration moving exactly the chosen individuals. */
#include <criterion/criterion.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "evolve/evolve.h"

static fit_task quartic;
static evo_isa isa;

static void setup(void) {
    cr_assert_eq(evo_task_quartic(&quartic, 11), 0);
    evo_isa_native(&isa);
}
static void teardown(void) {
    fit_task_free(&quartic);
}

TestSuite(evo_run, .init = setup, .fini = teardown);

static evo_params small(evo_selection sel, uint32_t pop, uint32_t islands) {
    evo_params p;
    evo_params_default(&p, &isa, &quartic);
    p.seed = 1234;
    p.pop_size = pop;
    p.islands = islands;
    p.selection = sel;
    p.max_generations = 10;
    p.migrate_every = 3;
    p.migrants = 3;
    return p;
}

static evo_run *make(const evo_params *p) {
    char err[256] = "";
    evo_run *r = evo_run_new(p, &quartic, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    return r;
}

static uint64_t run_hash(const evo_params *p, int threads) {
    omp_set_num_threads(threads);
    evo_run *r = make(p);
    cr_assert_eq(evo_run_until_done(r), 0);
    cr_assert_eq(evo_run_generation(r), 10);
    cr_assert_eq(evo_run_stopped(r), EVO_STOP_GENERATIONS);
    uint64_t h = evo_run_hash(r);
    evo_run_free(r);
    return h;
}

static void same_for_threads(const evo_params *p) {
    uint64_t h1 = run_hash(p, 1), h2 = run_hash(p, 2), h4 = run_hash(p, 4);
    cr_assert_eq(h1, h2, "1 vs 2 threads");
    cr_assert_eq(h1, h4, "1 vs 4 threads");
}

Test(evo_run, same_hash_for_1_2_4_threads_tournament) {
    evo_params p = small(EVO_SEL_TOURNAMENT, 300, 1);
    same_for_threads(&p);
    /* and a different seed gives a different run */
    uint64_t h = run_hash(&p, 2);
    p.seed++;
    cr_assert_neq(run_hash(&p, 2), h);
}

Test(evo_run, same_hash_for_1_2_4_threads_lexicase) {
    evo_params p = small(EVO_SEL_LEXICASE, 120, 1);
    same_for_threads(&p);
    p = small(EVO_SEL_EPS_LEXICASE, 120, 1);
    same_for_threads(&p);
}

Test(evo_run, same_hash_for_1_2_4_threads_downsampled) {
    evo_params p = small(EVO_SEL_LEXICASE, 120, 2);
    p.downsample = 0.25;
    same_for_threads(&p);
}

Test(evo_run, same_hash_for_1_2_4_threads_nsga2) {
    evo_params p = small(EVO_SEL_NSGA2, 100, 1);
    p.objectives[0] = EVO_OBJ_ERROR;
    p.objectives[1] = EVO_OBJ_LENGTH;
    p.objectives[2] = EVO_OBJ_MEMTIME;
    p.nobjectives = 3;
    same_for_threads(&p);
}

Test(evo_run, same_hash_for_1_2_4_threads_islands) {
    evo_params p = small(EVO_SEL_TOURNAMENT, 60, 4);
    same_for_threads(&p);
    p.topology = EVO_TOPO_RANDOM;
    p.emigrate = EVO_EMIGRATE_RANDOM;
    same_for_threads(&p);
}

/* Every method's run, pinned to the hash it had at commit cc0b2cd. A change
 * to the order of any draw, or to what a slot reads, changes these and so
 * every published run: speed work must leave them alone (issue 21), and a
 * deliberate change updates them with a note in docs/gp.md. */
Test(evo_run, hashes_are_pinned) {
    evo_params p = small(EVO_SEL_TOURNAMENT, 300, 1);
    cr_assert_eq(run_hash(&p, 2), 0xf4cbe0dd2c09fae4ull, "tournament");
    p = small(EVO_SEL_LEXICASE, 120, 1);
    cr_assert_eq(run_hash(&p, 2), 0xa2747b9ca995ee62ull, "lexicase");
    p = small(EVO_SEL_EPS_LEXICASE, 120, 1);
    cr_assert_eq(run_hash(&p, 2), 0x112374288865fd04ull, "eps-lexicase");
    p = small(EVO_SEL_NSGA2, 120, 1);
    p.objectives[0] = EVO_OBJ_ERROR;
    p.objectives[1] = EVO_OBJ_LENGTH;
    p.nobjectives = 2;
    cr_assert_eq(run_hash(&p, 2), 0x3cebf7fe85395c75ull, "nsga2");
    p = small(EVO_SEL_TOURNAMENT, 100, 3);
    cr_assert_eq(run_hash(&p, 2), 0x80968d0e8826ae74ull, "islands");
    p = small(EVO_SEL_LEXICASE, 120, 2);
    p.downsample = 0.25;
    cr_assert_eq(run_hash(&p, 2), 0xc1e0c9841b6e823dull, "down-sampled");
}

static void resume_equals_uninterrupted(const evo_params *p, int k) {
    omp_set_num_threads(2);
    evo_run *a = make(p);
    cr_assert_eq(evo_run_until_done(a), 0);
    uint8_t *ba;
    size_t la;
    cr_assert_eq(evo_run_save_state(a, &ba, &la), 0);

    evo_run *b = make(p);
    for (int i = 0; i <= k; i++)
        cr_assert_eq(evo_run_step(b), 0);
    cr_assert_eq(evo_run_generation(b), (uint64_t)k);
    uint8_t *blob;
    size_t len;
    cr_assert_eq(evo_run_save_state(b, &blob, &len), 0);
    uint64_t hb = evo_run_hash(b);
    evo_run_free(b);

    omp_set_num_threads(1); /* resume with another thread count */
    evo_run *c = make(p);
    char err[256] = "";
    cr_assert_eq(evo_run_load_state(c, blob, len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(evo_run_hash(c), hb, "the restored state is the saved one");
    cr_assert_eq(evo_run_until_done(c), 0);
    cr_assert_eq(evo_run_hash(c), evo_run_hash(a));
    uint8_t *bc;
    size_t lc;
    cr_assert_eq(evo_run_save_state(c, &bc, &lc), 0);
    cr_assert_eq(lc, la);
    cr_assert_eq(memcmp(ba, bc, la), 0, "identical final states");
    free(ba);
    free(bc);
    free(blob);
    evo_run_free(a);
    evo_run_free(c);
}

Test(evo_run, resume_equals_uninterrupted) {
    evo_params p = small(EVO_SEL_TOURNAMENT, 200, 1);
    for (int k = 0; k < 10; k += 3)
        resume_equals_uninterrupted(&p, k);
    p = small(EVO_SEL_EPS_LEXICASE, 80, 2);
    resume_equals_uninterrupted(&p, 4);
    p = small(EVO_SEL_NSGA2, 80, 3);
    resume_equals_uninterrupted(&p, 6); /* just after a migration */
    p = small(EVO_SEL_LEXICASE, 80, 2);
    p.downsample = 0.3;
    resume_equals_uninterrupted(&p, 5);
}

/* Down-sampling: every individual is judged on round(0.3 * 17) = 5 cases;
 * nothing is reused; and a run that stops on its target has an individual
 * right on every training case. */
Test(evo_run, downsampled_generations) {
    fit_task t;
    cr_assert_eq(fit_task_int_square(&t), 0); /* 17 cases: x = -8..8 */
    evo_params p;
    evo_params_default(&p, &isa, &t);
    p.seed = 3;
    p.pop_size = 200;
    p.max_generations = 200;
    p.target_error = 0;
    p.selection = EVO_SEL_LEXICASE;
    p.downsample = 0.3; /* 5 of 17 cases */
    char err[256];
    omp_set_num_threads(2);
    evo_run *r = evo_run_new(&p, &t, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    uint64_t evals = 0;
    while (evo_run_stopped(r) == EVO_STOP_NONE) {
        cr_assert_eq(evo_run_step(r), 0);
        evo_pop_view v;
        evo_run_island(r, 0, &v);
        /* one sample a generation: rows are 5 errors and zeros */
        for (uint32_t i = 0; i < v.n; i++) {
            if (v.ops[i] & EVO_OP_VERIFIED) continue;
            cr_assert_leq(v.hits[i], 5u);
            cr_assert_eq(v.ncases, 5);
            cr_assert_eq(v.row, 17, "a row has room for every training case");
            for (uint32_t c = 5; c < v.row; c++)
                cr_assert_eq(v.errors[(size_t)i * v.row + c], 0);
            cr_assert_eq(v.ops[i] & EVO_OP_CLONE, 0, "results are never reused");
        }
        uint64_t e = evo_run_evaluations(r);
        cr_assert_geq(e - evals, p.pop_size, "every individual is evaluated");
        evals = e;
    }
    evo_stats s;
    evo_run_stats(r, &s);
    cr_assert_eq(evo_run_stopped(r), EVO_STOP_TARGET, "best error %g", s.best_error);
    double e[17];
    fit_result fr = {.errors = e};
    cr_assert_eq(evo_run_eval(r, s.best_island, s.best_slot, FIT_TRAIN, &fr), 0);
    cr_assert_eq(fr.error, 0, "the best is right on all 17 training cases");
    cr_assert_eq(s.best_hits, 17);
    evo_run_free(r);
    fit_task_free(&t);
}

/* Down-sampling never reports a solution that is right on the sample only:
 * an individual checked on every case and wrong there shows that error, and
 * the run's best is a verified one. With a one-case sample of a task whose
 * answers are 0 and 1, many programs are right on the sample. */
Test(evo_run, downsampled_error_zero_means_verified) {
    vm_word in[16], want[16];
    for (int i = 0; i < 16; i++)
        in[i] = i, want[i] = i & 1;
    fit_task t;
    cr_assert_eq(fit_task_custom(&t, "odd", FIT_ERR_INT_ABS, 1, 16, in, want, NULL, 1e6, 0), 0);
    evo_params p;
    evo_params_default(&p, &isa, &t);
    p.seed = 5;
    p.pop_size = 200;
    p.max_generations = 30;
    p.target_error = 0;
    p.selection = EVO_SEL_LEXICASE;
    p.downsample = 0.05; /* 1 of 16 cases */
    char err[256];
    evo_run *r = evo_run_new(&p, &t, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    uint32_t wrong = 0; /* right on the sample, wrong on some other case */
    while (evo_run_stopped(r) == EVO_STOP_NONE) {
        cr_assert_eq(evo_run_step(r), 0);
        evo_pop_view v;
        evo_run_island(r, 0, &v);
        for (uint32_t i = 0; i < v.n; i++) {
            if (v.error[i] <= 0)
                cr_assert(v.ops[i] & EVO_OP_VERIFIED, "slot %u: error 0 on the sample only", i);
            wrong += v.errors[(size_t)i * v.row] == 0 && v.error[i] > 0;
        }
        evo_stats s;
        cr_assert_eq(evo_run_stats(r, &s), 0);
        if (s.best_error <= 0) {
            evo_run_island(r, s.best_island, &v);
            cr_assert(v.ops[s.best_slot] & EVO_OP_VERIFIED);
        }
    }
    cr_assert_geq(wrong, 100, "the check ran on programs right on the sample only");
    evo_run_free(r);
    fit_task_free(&t);
}

/* Down-sampled lexicase selects on the sample's errors, read row by row:
 * the first case of a selection's order keeps only the population's best on
 * it, so every parent is the best of its generation on some sampled case.
 * (Rows are longer than the sample: reading them at the sample's stride
 * mixed individuals, and a down-sampled search was close to random.) */
Test(evo_run, downsampled_parents_are_best_on_a_sampled_case) {
    const double fracs[] = {0.3, 0.9};
    for (size_t f = 0; f < 2; f++) {
        evo_params p = small(EVO_SEL_LEXICASE, 100, 1);
        p.downsample = fracs[f];
        p.elites = 0;
        p.max_generations = 6;
        p.target_error = -1;
        char err[256];
        evo_run *r = evo_run_new(&p, &quartic, err, sizeof err);
        cr_assert_not_null(r, "%s", err);
        cr_assert_eq(evo_run_step(r), 0);
        for (int g = 0; g < 5; g++) {
            evo_pop_view v;
            evo_run_island(r, 0, &v);
            uint32_t n = v.n, nc = v.ncases, row = v.row;
            cr_assert_lt(nc, row, "a sample of %g", fracs[f]);
            double *prev = malloc((size_t)n * row * sizeof *prev);
            cr_assert_not_null(prev);
            memcpy(prev, v.errors, (size_t)n * row * sizeof *prev);
            cr_assert_eq(evo_run_step(r), 0);
            evo_run_island(r, 0, &v);
            for (uint32_t i = 0; i < n; i++) {
                uint32_t par[2] = {v.parent_a[i], v.parent_b[i]};
                for (int k = 0; k < 2; k++) {
                    if (par[k] == EVO_NO_PARENT) continue;
                    bool best_somewhere = false;
                    for (uint32_t c = 0; c < nc && !best_somewhere; c++) {
                        bool best = true;
                        for (uint32_t j = 0; j < n && best; j++)
                            if (prev[(size_t)j * row + c] < prev[(size_t)par[k] * row + c])
                                best = false;
                        best_somewhere = best;
                    }
                    cr_assert(
                        best_somewhere,
                        "sample %g, generation %d: parent %u of %u is best on no sampled case",
                        fracs[f], g + 1, par[k], i);
                }
            }
            free(prev);
        }
        evo_run_free(r);
    }
}

/* Simplification: over many individuals, the program gets no longer and
 * its training error no worse, stays well-formed, the population is
 * unchanged, and the result is a function of the run and the slot. */
Test(evo_run, simplify_keeps_the_training_error) {
    fit_task t;
    cr_assert_eq(fit_task_int_square(&t), 0);
    evo_params p;
    evo_params_default(&p, &isa, &t);
    p.seed = 5;
    p.pop_size = 60;
    p.genome.init_min = 10;
    p.genome.init_max = 40;
    char err[256];
    evo_run *r = evo_run_new(&p, &t, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    for (int g = 0; g < 3; g++)
        cr_assert_eq(evo_run_step(r), 0);
    uint64_t h = evo_run_hash(r), evals = evo_run_evaluations(r);
    uint8_t *a = malloc(p.genome.max_bytes), *b = malloc(p.genome.max_bytes);
    double e[17];
    fit_result fr = {.errors = e};
    evo_pop_view v;
    evo_run_island(r, 0, &v);
    fit_ctx *fc = fit_ctx_new(&t, NULL);
    uint32_t shorter = 0;
    for (uint32_t i = 0; i < v.n; i++) {
        uint32_t na = 0, nb = 0, len = v.len[i];
        double before = v.error[i];
        cr_assert_eq(evo_run_simplify(r, 0, i, 200, a, &na), 0);
        cr_assert_eq(evo_run_simplify(r, 0, i, 200, b, &nb), 0);
        cr_assert(na == nb && !memcmp(a, b, na), "deterministic");
        cr_assert_leq(na, len);
        cr_assert(evo_genome_ok(&isa, &p.genome, a, na));
        cr_assert_eq(fit_eval(fc, a, na, FIT_TRAIN, &fr), 0);
        cr_assert_leq(fr.error, before, "slot %u: %g > %g", i, fr.error, before);
        shorter += na < len;
    }
    cr_assert_gt(shorter, v.n / 2, "most programs lose instructions (%u of %u)", shorter, v.n);
    cr_assert_eq(evo_run_hash(r), h, "the population is unchanged");
    cr_assert_eq(evo_run_evaluations(r), evals, "not counted");
    fit_ctx_free(fc);
    free(a);
    free(b);
    evo_run_free(r);
    fit_task_free(&t);
}

Test(evo_run, bad_state_blobs_are_rejected) {
    evo_params p = small(EVO_SEL_TOURNAMENT, 50, 1);
    evo_run *a = make(&p);
    cr_assert_eq(evo_run_step(a), 0);
    uint8_t *blob;
    size_t len;
    cr_assert_eq(evo_run_save_state(a, &blob, &len), 0);
    uint64_t h = evo_run_hash(a);
    char err[256];
    blob[len / 2] ^= 1;
    cr_assert_eq(evo_run_load_state(a, blob, len, err, sizeof err), -1);
    cr_assert(strstr(err, "checksum"), "%s", err);
    blob[len / 2] ^= 1;
    cr_assert_eq(evo_run_load_state(a, blob, len - 1, err, sizeof err), -1);
    cr_assert_eq(evo_run_load_state(a, blob, 3, err, sizeof err), -1);
    cr_assert_eq(evo_run_hash(a), h, "a failed load leaves the run unchanged");
    evo_params q = p;
    q.pop_size = 51;
    evo_run *b = make(&q);
    cr_assert_eq(evo_run_load_state(b, blob, len, err, sizeof err), -1);
    cr_assert(strstr(err, "pop_size"), "%s", err);
    evo_run_free(b);
    cr_assert_eq(evo_run_load_state(a, blob, len, err, sizeof err), 0);
    cr_assert_eq(evo_run_hash(a), h);
    free(blob);
    evo_run_free(a);
}

/* FNV-1a 64, the checksum of state blobs of version 1 */
static uint64_t fnv1a(const uint8_t *d, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ d[i]) * 0x100000001b3ull;
    return h;
}

Test(evo_run, state_blob_versions) {
    evo_params p = small(EVO_SEL_TOURNAMENT, 40, 1);
    evo_run *a = make(&p);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(evo_run_step(a), 0);
    uint8_t *blob;
    size_t len;
    uint64_t g = 99;
    cr_assert_eq(evo_run_save_state(a, &blob, &len), 0);
    cr_assert_eq(blob[8], 2, "this build writes version 2");
    cr_assert_eq(evo_state_peek(blob, len, &g), 0);
    cr_assert_eq(g, 2);
    /* the same state as version 1 wrote it (FNV-1a trailer) loads the same */
    blob[8] = 1;
    uint64_t h = fnv1a(blob, len - 8);
    for (int i = 0; i < 8; i++)
        blob[len - 8 + i] = (uint8_t)(h >> (8 * i));
    g = 99;
    cr_assert_eq(evo_state_peek(blob, len, &g), 0);
    cr_assert_eq(g, 2);
    evo_run *b = make(&p);
    char err[256] = "";
    cr_assert_eq(evo_run_load_state(b, blob, len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(evo_run_hash(b), evo_run_hash(a));
    /* a version 1 checksum under version 2, a torn end, a newer version */
    blob[8] = 2;
    cr_assert_eq(evo_state_peek(blob, len, &g), -1);
    cr_assert_eq(evo_run_load_state(b, blob, len, err, sizeof err), -1);
    cr_assert(strstr(err, "checksum"), "%s", err);
    blob[8] = 3;
    cr_assert_eq(evo_run_load_state(b, blob, len, err, sizeof err), -1);
    cr_assert(strstr(err, "version 3"), "%s", err);
    blob[8] = 1;
    cr_assert_eq(evo_state_peek(blob, len - 1, &g), -1);
    cr_assert_eq(evo_state_peek(blob, 20, &g), -1);
    free(blob);
    /* a run that has not started has no generation to peek */
    evo_run *c = make(&p);
    cr_assert_eq(evo_run_save_state(c, &blob, &len), 0);
    cr_assert_eq(evo_state_peek(blob, len, &g), -1);
    free(blob);
    evo_run_free(a);
    evo_run_free(b);
    evo_run_free(c);
}

Test(evo_run, budgets) {
    evo_params p = small(EVO_SEL_TOURNAMENT, 50, 1);
    p.max_generations = 0;
    p.max_evaluations = 120; /* 50 at generation 0, then about 40 a generation */
    evo_run *r = make(&p);
    cr_assert_eq(evo_run_until_done(r), 0);
    cr_assert_eq(evo_run_stopped(r), EVO_STOP_EVALUATIONS);
    cr_assert_geq(evo_run_evaluations(r), 120);
    cr_assert_eq(evo_run_step(r), 1, "a stopped run does not step");
    cr_assert(evo_run_reproducible(r));
    evo_run_free(r);

    p.max_evaluations = 0;
    p.max_gas = 100000;
    r = make(&p);
    cr_assert_eq(evo_run_until_done(r), 0);
    cr_assert_eq(evo_run_stopped(r), EVO_STOP_GAS);
    cr_assert_geq(evo_run_gas_total(r), 100000);
    evo_run_free(r);

    p.max_gas = 0;
    p.target_error = 1e9; /* reached by generation 0 */
    r = make(&p);
    cr_assert_eq(evo_run_step(r), 0);
    cr_assert_eq(evo_run_stopped(r), EVO_STOP_TARGET);
    evo_run_free(r);

    p.target_error = -1;
    p.max_generations = 3;
    p.max_seconds = 3600;
    r = make(&p);
    cr_assert(!evo_run_reproducible(r), "a wall-clock stop marks the run");
    cr_assert_eq(evo_run_until_done(r), 0);
    cr_assert_eq(evo_run_stopped(r), EVO_STOP_GENERATIONS);
    evo_run_free(r);
}

Test(evo_run, elitism_and_lineage) {
    evo_params p = small(EVO_SEL_TOURNAMENT, 100, 1);
    p.elites = 2;
    p.max_generations = 15;
    evo_run *r = make(&p);
    double last = 1e300;
    uint64_t evals = 0;
    while (evo_run_stopped(r) == EVO_STOP_NONE) {
        cr_assert_eq(evo_run_step(r), 0);
        evo_stats s;
        cr_assert_eq(evo_run_stats(r, &s), 0);
        cr_assert_leq(s.best_fitness, last, "the best never gets worse with elitism");
        last = s.best_fitness;
        evo_pop_view v;
        evo_run_island(r, 0, &v);
        uint64_t g = evo_run_generation(r), made = 0;
        for (uint32_t i = 0; i < v.n; i++) {
            cr_assert(evo_genome_ok(&isa, &p.genome, v.code + (size_t)i * v.stride, v.len[i]));
            if (g == 0) {
                cr_assert_eq(v.parent_a[i], EVO_NO_PARENT);
                made++;
                continue;
            }
            cr_assert_lt(v.parent_a[i], v.n);
            if (i < 2) cr_assert_eq(v.ops[i], EVO_OP_ELITE);
            if (v.ops[i] & EVO_OP_CX_MASK) cr_assert_lt(v.parent_b[i], v.n);
            if (!(v.ops[i] & (EVO_OP_ELITE | EVO_OP_CLONE))) made++;
        }
        evals += made;
        cr_assert_eq(evo_run_evaluations(r), evals, "evaluations count what was run");
    }
    evo_run_free(r);
}

/* copy island k's genomes (for before/after comparisons) */
static uint8_t *snapshot(const evo_run *r, uint32_t k, uint32_t **lens) {
    evo_pop_view v;
    evo_run_island(r, k, &v);
    uint8_t *c = malloc((size_t)v.n * v.stride);
    *lens = malloc(v.n * sizeof **lens);
    memcpy(c, v.code, (size_t)v.n * v.stride);
    memcpy(*lens, v.len, v.n * sizeof **lens);
    return c;
}

static void check_migration(evo_emigrate how, evo_topology topo) {
    evo_params p = small(EVO_SEL_TOURNAMENT, 40, 4);
    p.migrants = 3;
    p.emigrate = how;
    p.topology = topo;
    evo_run *r = make(&p);
    cr_assert_eq(evo_run_step(r), 0); /* generation 0 */
    const uint32_t I = 4, N = 40, m = 3;
    uint8_t *before[4];
    uint32_t *blen[4], em[4][3], dest[4];
    evo_migration_dest(r, 0, dest);
    for (uint32_t k = 0; k < I; k++) {
        before[k] = snapshot(r, k, &blen[k]);
        evo_migration_emigrants(r, k, 0, em[k]);
    }
    /* each island's worst m, worst first, before migration */
    uint32_t worst[4][3];
    for (uint32_t k = 0; k < I; k++) {
        evo_pop_view v;
        evo_run_island(r, k, &v);
        evo_view sv = {
            .n = N, .ncases = v.ncases, .fitness = v.fitness, .length = v.len, .gas = v.gas};
        uint32_t order[40], scratch[40];
        evo_best_k(&sv, p.tiebreak, N, order, scratch);
        for (uint32_t j = 0; j < m; j++)
            worst[k][j] = order[N - 1 - j];
    }
    bool seen[4] = {0};
    for (uint32_t k = 0; k < I; k++) {
        cr_assert_neq(dest[k], k, "nobody sends to itself");
        cr_assert(!seen[dest[k]], "every island receives once");
        seen[dest[k]] = true;
    }
    cr_assert_eq(evo_migrate(r), 0);
    for (uint32_t src = 0; src < I; src++) {
        uint32_t d = dest[src];
        evo_pop_view v;
        evo_run_island(r, d, &v);
        bool replaced[40] = {0};
        for (uint32_t j = 0; j < m; j++) {
            uint32_t s = worst[d][j], e = em[src][j];
            replaced[s] = true;
            cr_assert_eq(v.len[s], blen[src][e]);
            cr_assert_eq(
                memcmp(v.code + (size_t)s * v.stride, before[src] + (size_t)e * v.stride, v.len[s]),
                0, "slot %u of island %u holds emigrant %u of island %u", s, d, e, src);
            cr_assert_eq(v.ops[s], EVO_OP_IMMIGRANT);
            cr_assert_eq(v.parent_a[s], e);
            cr_assert_eq(v.parent_b[s], src);
        }
        for (uint32_t s = 0; s < N; s++)
            if (!replaced[s]) {
                cr_assert_eq(v.len[s], blen[d][s], "others unchanged");
                cr_assert_eq(memcmp(v.code + (size_t)s * v.stride, before[d] + (size_t)s * v.stride,
                                    v.len[s]),
                             0);
            }
    }
    if (how == EVO_EMIGRATE_BEST) { /* the emigrants are the best of their island */
        evo_pop_view v;
        uint32_t *l;
        uint8_t *c = snapshot(r, 0, &l);
        (void)c;
        evo_run_island(r, 0, &v);
        free(c);
        free(l);
    }
    for (uint32_t k = 0; k < I; k++) {
        free(before[k]);
        free(blen[k]);
    }
    evo_run_free(r);
}

Test(evo_run, migration_moves_exactly_the_chosen) {
    check_migration(EVO_EMIGRATE_BEST, EVO_TOPO_RING);
    check_migration(EVO_EMIGRATE_RANDOM, EVO_TOPO_RANDOM);
}

Test(evo_run, emigrants_and_topologies) {
    evo_params p = small(EVO_SEL_TOURNAMENT, 30, 5);
    p.topology = EVO_TOPO_RANDOM;
    evo_run *r = make(&p);
    cr_assert_eq(evo_run_step(r), 0);
    /* the best emigrants are the k best by fitness */
    uint32_t em[5];
    evo_migration_emigrants(r, 2, 0, em);
    evo_pop_view v;
    evo_run_island(r, 2, &v);
    for (uint32_t i = 0; i < v.n; i++) {
        bool chosen = false;
        for (int j = 0; j < 3; j++)
            chosen |= em[j] == i;
        if (!chosen) cr_assert_geq(v.fitness[i], v.fitness[em[2]]);
    }
    cr_assert_leq(v.fitness[em[0]], v.fitness[em[1]]);
    cr_assert_leq(v.fitness[em[1]], v.fitness[em[2]]);
    /* random topology: a single cycle through all islands, a function of
     * (seed, generation) */
    int differ = 0;
    for (uint64_t g = 0; g < 50; g++) {
        uint32_t d[5], d2[5];
        evo_migration_dest(r, g, d);
        evo_migration_dest(r, g, d2);
        cr_assert_arr_eq(d, d2, sizeof d);
        uint32_t at = 0, steps = 0;
        do {
            at = d[at];
            steps++;
        } while (at != 0 && steps < 10);
        cr_assert_eq(steps, 5, "one cycle of length 5");
        differ += d[0] != 1;
    }
    cr_assert_gt(differ, 0, "not always the ring");
    evo_run_free(r);
}

Test(evo_run, bad_parameters) {
    evo_params p = small(EVO_SEL_TOURNAMENT, 1, 1);
    char err[256] = "";
    cr_assert_null(evo_run_new(&p, &quartic, err, sizeof err));
    cr_assert(strstr(err, "pop_size"), "%s", err);
    p = small(EVO_SEL_NSGA2, 10, 1);
    p.nobjectives = 0;
    cr_assert_null(evo_run_new(&p, &quartic, err, sizeof err));
    p = small(EVO_SEL_TOURNAMENT, 10, 1);
    p.genome.init_max = 1000;
    cr_assert_null(evo_run_new(&p, &quartic, err, sizeof err));
    cr_assert(strstr(err, "init"), "%s", err);
}

Test(evo_run, int_square_is_solved) {
    /* a small known-answer search: x*x + x is DUP 0, DUP 0, MUL, ADD */
    fit_task t;
    cr_assert_eq(fit_task_int_square(&t), 0);
    evo_params p;
    evo_params_default(&p, &isa, &t);
    p.seed = 2; /* a seed that finds it: this is a known-answer regression test */
    p.pop_size = 300;
    p.max_generations = 40;
    p.target_error = 0;
    char err[256];
    evo_run *r = evo_run_new(&p, &t, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_assert_eq(evo_run_until_done(r), 0);
    evo_stats s;
    evo_run_stats(r, &s);
    cr_assert_eq(evo_run_stopped(r), EVO_STOP_TARGET, "best error %g after %lu generations",
                 s.best_error, (unsigned long)s.generation);
    cr_assert_eq(s.best_hits, 17);
    double terr[4];
    fit_result tr = {.errors = terr};
    cr_assert_eq(evo_run_eval(r, s.best_island, s.best_slot, FIT_TEST, &tr), 0);
    cr_assert_eq(tr.ncases, 4);
    cr_assert_eq(tr.error, 0, "x*x + x generalises to x = 9..12");
    evo_run_free(r);
    fit_task_free(&t);
}

/* Counting VM instructions changes nothing and gives the same count with any
 * number of threads. */
Test(evo_run, counting_instructions_changes_nothing) {
    evo_params p = small(EVO_SEL_TOURNAMENT, 60, 1);
    uint64_t plain = run_hash(&p, 2), n[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        omp_set_num_threads(k ? 3 : 1);
        evo_run *r = make(&p);
        cr_assert_eq(evo_run_count_insns(r, true), 0);
        cr_assert_eq(evo_run_until_done(r), 0);
        cr_assert_eq(evo_run_hash(r), plain);
        n[k] = evo_run_insns(r);
        cr_assert_geq(n[k], evo_run_evaluations(r), "at least one instruction per evaluation");
        evo_run_free(r);
    }
    cr_assert_eq(n[0], n[1]);
}
