/* Co-evolution: the referee's duel equals the tournament's match, the coevo
 * task's fitness equals the duels, runs are identical for any thread count
 * and across save/load, the hall of fame moves, hostile programs just score
 * badly. */
#include "testutil.h"

#include "evolve/evolve.h"
#include "fitness/fitness.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define DIR "specs/arena/"

static vm_buf load_s(const char *file) {
    char path[256];
    snprintf(path, sizeof path, DIR "%s", file);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    static char src[65536];
    size_t n = fread(src, 1, sizeof src - 1, f);
    fclose(f);
    src[n] = 0;
    vm_buf b = {0};
    char err[4096];
    cr_assert_eq(vm_asm(src, n, path, &b, NULL, err, sizeof err), 0, "%s", err);
    return b;
}

static const char *const ipd_files[] = {"tit_for_tat.s", "always_defect.s", "always_cooperate.s",
                                        "grim_trigger.s", "random.s"};
#define NIPD 5

static void add_file(fit_arena *a, const char *name, const char *file) {
    vm_buf b = load_s(file);
    char err[256];
    cr_assert_eq(fit_arena_add(a, name, FIT_ISA_NATIVE, b.data, b.len, err, sizeof err), 0, "%s",
                 err);
    vm_buf_free(&b);
}

static void same_match(const fit_arena_match *x, const fit_arena_match *y) {
    cr_assert_eq(x->a, y->a);
    cr_assert_eq(x->b, y->b);
    cr_assert_eq(x->score_a, y->score_a, "pair %u-%u", x->a, x->b);
    cr_assert_eq(x->score_b, y->score_b, "pair %u-%u", x->a, x->b);
    cr_assert_eq(x->gas_a, y->gas_a);
    cr_assert_eq(x->gas_b, y->gas_b);
    cr_assert_eq(x->memtime_a, y->memtime_a);
    cr_assert_eq(x->memtime_b, y->memtime_b);
    cr_assert_eq(x->forfeits_a, y->forfeits_a);
    cr_assert_eq(x->forfeits_b, y->forfeits_b);
}

static void duel_vs_tournament(fit_game game) {
    fit_arena_config cfg = {.game = game, .rounds = 37, .seed = 99};
    char err[256];
    fit_arena *a = fit_arena_new(&cfg, err, sizeof err);
    cr_assert_not_null(a, "%s", err);
    if (game == FIT_GAME_IPD) {
        for (int i = 0; i < NIPD; i++)
            add_file(a, ipd_files[i], ipd_files[i]);
    } else {
        add_file(a, "uniform", "blotto_uniform.s");
        add_file(a, "three", "blotto_three.s");
        add_file(a, "mirror", "blotto_mirror.s");
        add_file(a, "random", "blotto_random.s");
    }
    add_file(a, "hostile-loop", "hostile_loop.s");
    /* a duel before the tournament leaves it untouched */
    fit_arena_match d;
    cr_assert_eq(fit_arena_duel(a, 0, 1, &d), 0);
    cr_assert_eq(fit_arena_rounds_played(a), 0);
    cr_assert_eq(fit_arena_stats_get(a, 0)->moves, 0);
    cr_assert_eq(fit_arena_duel(a, 1, 1, &d), -1);
    cr_assert_eq(fit_arena_duel(a, 0, 99, &d), -1);
    /* half way through, duels do not disturb the tournament either */
    for (int k = 0; k < 100; k++)
        cr_assert_eq(fit_arena_step(a), 1);
    cr_assert_eq(fit_arena_duel(a, 2, 3, &d), 0);
    cr_assert_eq(fit_arena_run(a), 0);
    for (uint32_t k = 0; k < fit_arena_nmatches(a); k++) {
        const fit_arena_match *m = fit_arena_match_get(a, k);
        cr_assert_eq(fit_arena_duel(a, m->a, m->b, &d), 0);
        same_match(&d, m);
    }
    fit_arena_free(a);
}

Test(coevo, duel_equals_tournament_ipd) {
    duel_vs_tournament(FIT_GAME_IPD);
}

Test(coevo, duel_equals_tournament_blotto) {
    duel_vs_tournament(FIT_GAME_BLOTTO);
}

Test(coevo, set_code_replaces_the_program) {
    char err[256];
    fit_arena_config cfg = {.game = FIT_GAME_IPD, .rounds = 10};
    fit_arena *a = fit_arena_new(&cfg, err, sizeof err);
    cr_assert_not_null(a);
    add_file(a, "x", "always_cooperate.s");
    add_file(a, "y", "always_cooperate.s");
    fit_arena_match m;
    cr_assert_eq(fit_arena_duel(a, 0, 1, &m), 0);
    cr_assert_eq(m.score_a, 30);
    vm_buf b = load_s("always_defect.s");
    cr_assert_eq(fit_arena_set_code(a, 0, b.data, b.len), 0);
    vm_buf_free(&b);
    cr_assert_str_eq(fit_arena_name(a, 0), "x");
    cr_assert_eq(fit_arena_duel(a, 0, 1, &m), 0);
    cr_assert_eq(m.score_a, 50);
    cr_assert_eq(m.score_b, 0);
    cr_assert_eq(fit_arena_set_code(a, 5, NULL, 0), -1);
    fit_arena_free(a);
}

/* ---- the task ---- */

static void make_task(const char *name, uint64_t seed, fit_task *t) {
    evo_rng r;
    fit_rng fr;
    evo_rng_stream(&r, seed, 77, 0, 0);
    evo_fit_rng(&fr, &r);
    char err[256] = "";
    cr_assert_eq(fit_task_make(name, NULL, &fr, t, err, sizeof err), 0, "%s", err);
    cr_assert(fit_task_is_coevo(t));
}

/* The fitness of a program equals what fit_arena_duel reports against each
 * opponent of the hall of fame, in a referee built independently. */
static void fitness_equals_duels(const char *task, const uint8_t *code, size_t len) {
    fit_task t;
    make_task(task, 5, &t);
    uint32_t K = t.train.n;
    cr_assert_eq(K, FIT_COEVO_K);
    fit_arena_config cfg = *fit_coevo_config(&t);
    cfg.gas = t.limits.gas;
    cfg.mem = t.limits.mem;
    cfg.memtime = t.limits.memtime;
    char err[256], nm[16];
    fit_arena *a = fit_arena_new(&cfg, err, sizeof err);
    cr_assert_not_null(a, "%s", err);
    for (uint32_t k = 0; k < K; k++) {
        size_t n;
        const uint8_t *c = fit_coevo_opponent(&t, k, &n, NULL);
        snprintf(nm, sizeof nm, "opp%u", k);
        cr_assert_eq(fit_arena_add(a, nm, FIT_ISA_NATIVE, c, n, err, sizeof err), 0);
    }
    cr_assert_eq(fit_arena_add(a, "self", FIT_ISA_NATIVE, code, len, err, sizeof err), 0);
    fit_ctx *c = fit_ctx_new(&t, NULL);
    cr_assert_not_null(c);
    double errors[FIT_COEVO_MAX_K];
    fit_result r = {.errors = errors};
    for (int rep = 0; rep < 2; rep++) { /* the ctx's arena is reused */
        cr_assert_eq(fit_eval(c, code, len, FIT_TRAIN, &r), 0);
        cr_assert_eq(r.ncases, K);
        double best = cfg.game == FIT_GAME_IPD ? 5.0 : 2.0 * cfg.fields, sum = 0;
        uint64_t gas = 0;
        for (uint32_t k = 0; k < K; k++) {
            fit_arena_match m;
            cr_assert_eq(fit_arena_duel(a, K, k, &m), 0);
            double e = (best * cfg.rounds - (double)m.score_a) / cfg.rounds;
            cr_assert_eq(errors[k], e, "case %u: %g vs %g", k, errors[k], e);
            sum += e;
            gas += m.gas_a;
        }
        cr_assert_eq(r.error, sum);
        cr_assert_eq(r.gas, gas);
    }
    fit_ctx_free(c);
    fit_arena_free(a);
    fit_task_free(&t);
}

Test(coevo, tit_for_tat_fitness_equals_duels) {
    vm_buf b = load_s("tit_for_tat.s");
    fitness_equals_duels("ipd-coevo", b.data, b.len);
    vm_buf_free(&b);
    /* tit-for-tat against always-cooperate (case 2) scores R every round */
    fit_task t;
    make_task("ipd-coevo", 5, &t);
    fit_ctx *c = fit_ctx_new(&t, NULL);
    b = load_s("tit_for_tat.s");
    double errors[FIT_COEVO_MAX_K];
    fit_result r = {.errors = errors};
    cr_assert_eq(fit_eval(c, b.data, b.len, FIT_TRAIN, &r), 0);
    cr_assert_eq(errors[2], 2.0);
    cr_assert_eq(r.faults, 0);
    vm_buf_free(&b);
    fit_ctx_free(c);
    fit_task_free(&t);
}

Test(coevo, blotto_fitness_equals_duels) {
    vm_buf b = load_s("blotto_three.s");
    fitness_equals_duels("blotto-coevo", b.data, b.len);
    vm_buf_free(&b);
}

Test(coevo, hostile_programs_score_badly) {
    fit_task t;
    make_task("ipd-coevo", 5, &t);
    fit_ctx *c = fit_ctx_new(&t, NULL);
    cr_assert_not_null(c);
    double errors[FIT_COEVO_MAX_K];
    fit_result r = {.errors = errors};
    const char *files[] = {"hostile_loop.s", "hostile_forkbomb.s", "hostile_alloc.s",
                           "hostile_keys.s", "hostile_nomove.s"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        vm_buf b = load_s(files[i]);
        cr_assert_eq(fit_eval(c, b.data, b.len, FIT_TRAIN, &r), 0, "%s", files[i]);
        cr_assert_eq(r.error, 5.0 * FIT_COEVO_K, "%s: every move forfeited", files[i]);
        cr_assert_eq(r.hits, 0);
        cr_assert_eq(r.missing, FIT_COEVO_K);
        vm_buf_free(&b);
    }
    /* the loop runs out of gas in every case */
    vm_buf b = load_s("hostile_loop.s");
    cr_assert_eq(fit_eval(c, b.data, b.len, FIT_TRAIN, &r), 0);
    cr_assert_eq(r.out_of_gas, FIT_COEVO_K);
    cr_assert_eq(r.worst, VM_OUT_OF_GAS);
    vm_buf_free(&b);
    /* and an honest program afterwards is unaffected */
    b = load_s("always_defect.s");
    cr_assert_eq(fit_eval(c, b.data, b.len, FIT_TRAIN, &r), 0);
    cr_assert_eq(r.faults + r.out_of_gas, 0);
    cr_assert_lt(r.error, 5.0 * FIT_COEVO_K);
    vm_buf_free(&b);
    fit_ctx_free(c);
    fit_task_free(&t);
}

Test(coevo, hall_of_fame_blob_round_trip) {
    fit_task t, u;
    make_task("ipd-coevo", 5, &t);
    make_task("ipd-coevo", 5, &u);
    const uint8_t prog[] = {VM_OP_HALT};
    cr_assert_eq(fit_coevo_push(&t, prog, 1), 0);
    vm_buf b = {0};
    cr_assert_eq(fit_coevo_save(&t, &b), 0);
    char err[256] = "";
    cr_assert_eq(fit_coevo_load(&u, b.data, b.len - 1, err, sizeof err), -1);
    cr_assert_eq(fit_coevo_pushes(&u), 0, "a failed load changes nothing");
    cr_assert_eq(fit_coevo_load(&u, b.data, b.len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fit_coevo_pushes(&u), 1);
    size_t n;
    const uint8_t *c = fit_coevo_opponent(&u, FIT_COEVO_K - 1, &n, NULL);
    cr_assert_eq(n, 1);
    cr_assert_eq(c[0], VM_OP_HALT);
    fit_task v;
    make_task("blotto-coevo", 5, &v);
    cr_assert_eq(fit_coevo_load(&v, b.data, b.len, err, sizeof err), -1, "another game");
    vm_buf_free(&b);
    fit_task_free(&t);
    fit_task_free(&u);
    fit_task_free(&v);
}

/* ---- runs ---- */

static evo_params params(const fit_task *t, uint32_t threads) {
    evo_isa isa;
    evo_isa_for_task(&isa, t);
    evo_params p;
    evo_params_default(&p, &isa, t);
    p.seed = 4242;
    p.pop_size = 50;
    p.max_generations = 5;
    p.threads = threads;
    return p;
}

static evo_run *make_run(const evo_params *p, const fit_task *t) {
    char err[256] = "";
    evo_run *r = evo_run_new(p, t, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    return r;
}

static uint64_t hof_hash(const fit_task *t) {
    vm_buf b = {0};
    cr_assert_eq(fit_coevo_save(t, &b), 0);
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < b.len; i++)
        h = (h ^ b.data[i]) * 0x100000001b3ull;
    vm_buf_free(&b);
    return h;
}

static uint64_t run_hash(uint32_t threads, uint64_t *hof) {
    fit_task t;
    make_task("ipd-coevo", 1, &t);
    evo_params p = params(&t, threads);
    evo_run *r = make_run(&p, &t);
    cr_assert_eq(evo_run_until_done(r), 0);
    cr_assert_eq(evo_run_generation(r), 5);
    uint64_t h = evo_run_hash(r);
    *hof = hof_hash(&t);
    evo_run_free(r);
    fit_task_free(&t);
    return h;
}

Test(coevo, same_hash_for_1_and_2_threads) {
    uint64_t f1, f2;
    uint64_t h1 = run_hash(1, &f1), h2 = run_hash(2, &f2);
    cr_assert_eq(h1, h2, "1 vs 2 threads");
    cr_assert_eq(f1, f2, "the same hall of fame");
}

Test(coevo, hall_of_fame_changes) {
    fit_task t;
    make_task("ipd-coevo", 1, &t);
    evo_params p = params(&t, 2);
    evo_run *r = make_run(&p, &t);
    uint64_t prev = hof_hash(&t);
    for (uint64_t g = 0; g <= 5; g++) {
        cr_assert_eq(evo_run_step(r), 0);
        cr_assert_eq(fit_coevo_pushes(&t), g + 1, "one push per generation");
        /* the newest opponent is the generation's best */
        evo_stats s;
        cr_assert_eq(evo_run_stats(r, &s), 0);
        evo_pop_view v;
        evo_run_island(r, s.best_island, &v);
        size_t n;
        const uint8_t *c = fit_coevo_opponent(&t, FIT_COEVO_K - 1, &n, NULL);
        cr_assert_eq(n, v.len[s.best_slot]);
        cr_assert_eq(memcmp(c, v.code + (size_t)s.best_slot * v.stride, n), 0);
        uint64_t h = hof_hash(&t);
        cr_assert_neq(h, prev);
        prev = h;
    }
    /* FIFO: the oldest classics were pushed out */
    const char *label;
    fit_coevo_opponent(&t, 0, NULL, &label);
    cr_assert_str_eq(label, "always-defect", "slots 0..5 went, slot 6 is the oldest");
    evo_run_free(r);
    fit_task_free(&t);
}

Test(coevo, resume_equals_uninterrupted) {
    fit_task ta, tb, tc;
    make_task("ipd-coevo", 1, &ta);
    evo_params p = params(&ta, 2);
    evo_run *a = make_run(&p, &ta);
    cr_assert_eq(evo_run_until_done(a), 0);
    uint8_t *ba;
    size_t la;
    cr_assert_eq(evo_run_save_state(a, &ba, &la), 0);

    make_task("ipd-coevo", 1, &tb);
    evo_run *b = make_run(&p, &tb);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(evo_run_step(b), 0);
    uint8_t *blob;
    size_t len;
    cr_assert_eq(evo_run_save_state(b, &blob, &len), 0);
    uint64_t hb = evo_run_hash(b);
    evo_run_free(b);
    fit_task_free(&tb);

    /* a fresh task (classics only) and another thread count */
    make_task("ipd-coevo", 1, &tc);
    evo_params q = params(&tc, 1);
    evo_run *c = make_run(&q, &tc);
    char err[256] = "";
    cr_assert_eq(evo_run_load_state(c, blob, len - 9, err, sizeof err), -1);
    cr_assert_eq(fit_coevo_pushes(&tc), 0, "a failed load leaves the hall of fame");
    cr_assert_eq(evo_run_load_state(c, blob, len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fit_coevo_pushes(&tc), 3);
    cr_assert_eq(evo_run_hash(c), hb);
    cr_assert_eq(evo_run_until_done(c), 0);
    cr_assert_eq(evo_run_hash(c), evo_run_hash(a));
    cr_assert_eq(hof_hash(&tc), hof_hash(&ta));
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
    fit_task_free(&ta);
    fit_task_free(&tc);
}

Test(coevo, every_individual_is_evaluated) {
    fit_task t;
    make_task("blotto-coevo", 3, &t);
    evo_params p = params(&t, 2);
    p.max_generations = 2;
    evo_run *r = make_run(&p, &t);
    cr_assert_eq(evo_run_until_done(r), 0);
    cr_assert_eq(evo_run_evaluations(r), 3 * 50, "elites and clones are evaluated again");
    evo_run_free(r);
    fit_task_free(&t);
}
