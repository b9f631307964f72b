/* frugal bench science: does the search find solutions, at equal budgets,
 * against the peers a researcher would pick? DEAP runs here on the same
 * cases (quartic, regression); PushGP's published rates are the reference for
 * program synthesis. Seeds are 1..N, never picked; every run uses the shipped
 * spec of its problem (docs/science.md). */
#include "analysis/analysis.h"
#include "experiments/cli.h"
#include "experiments/spec.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef enum { SEC_QUARTIC, SEC_REGRESSION, SEC_PSB, SEC_SUPEROPT, SEC_N } sci_section;
static const char *const sec_names[] = {"quartic", "regression", "psb", "superopt"};

typedef struct {
    sci_section sec;
    const char *spec;  /* experiments/<spec>.json */
    const char *prims; /* DEAP's function set (the problem's, as in the literature) */
    bool erc;          /* DEAP gets ephemeral constants in [-1, 1] */
    int pushgp;        /* PushGP's published successes per 100 (-1: none) */
} sci_problem;

/* PushGP's rates: ../shared/benchmarks/PROBLEMS.md (lexicase, published setups). */
static const sci_problem problems[] = {
    {SEC_QUARTIC, "koza1", "add,sub,mul,div,neg", false, -1},
    {SEC_REGRESSION, "keijzer6", "add,mul,inv,neg,sqrt", true, -1},
    {SEC_REGRESSION, "nguyen7", "add,sub,mul,div,neg,sin,cos,exp,log", false, -1},
    {SEC_REGRESSION, "pagie1", "add,sub,mul,div,neg,sin,cos,exp,log", false, -1},
    {SEC_REGRESSION, "vladislavleva4", "add,sub,mul,div,neg,square", true, -1},
    {SEC_PSB, "median", NULL, false, 45},
    {SEC_PSB, "smallest", NULL, false, 81},
    {SEC_PSB, "small-or-large", NULL, false, 5},
    {SEC_PSB, "count-odds", NULL, false, 8},
    {SEC_PSB, "last-index-of-zero", NULL, false, 21},
    {SEC_PSB, "gcd", NULL, false, 8},
    {SEC_PSB, "fuel-cost", NULL, false, 50},
    {SEC_PSB, "coin-sums", NULL, false, 2},
    {SEC_PSB, "basement", NULL, false, 1},
    /* spec: the blocks' file (relative to the repository, then its parent) */
    {SEC_SUPEROPT, "../shared/benchmarks/evm-superopt/blocks.jsonl", NULL, false, -1},
    {SEC_SUPEROPT, "specs/data/superopt-pldi24.jsonl", NULL, false, -1},
};
#define NPROBLEMS (sizeof problems / sizeof *problems)
_Static_assert(NPROBLEMS <= 64, "sci_opts.problems has a bit per problem");

/* One run of either system. ets_*: evaluations when the best individual first
 * met the criterion (every case within the hit tolerance; MSE below it), or
 * -1. test_err: the final best's mean absolute error on the test split. */
typedef struct {
    uint64_t evaluations;
    int64_t ets_hits, ets_mse;
    bool train_solved, test_solved, simple_solved; /* simple: after evo_run_simplify */
    double test_err, seconds;
} sci_run;

typedef struct {
    uint64_t runs;
    double fraction; /* of the spec's generations: the published executions (PSB) */
    bool deap;
    uint32_t threads;
    unsigned sections; /* bit per sci_section */
    uint64_t problems; /* bit per problems[] entry, besides the sections */
    FILE *csv;
} sci_opts;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int spec_path(const sci_problem *p, char *out, size_t cap) {
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "specs/%s.json", p->spec);
    if (exp_find_file(rel, out, cap) == 0) return 0;
    fprintf(stderr, "frugal bench science: %s not found\n", rel);
    return -1;
}

/* The mean squared error of a result's case errors. */
static double mse_of(const fit_result *res) {
    double s = 0;
    for (uint32_t i = 0; i < res->nerrors; i++)
        s += res->errors[i] * res->errors[i];
    return res->nerrors ? s / res->nerrors : 0;
}

/* Run the problem's spec for one seed. budget_evals > 0 replaces the spec's
 * budget by that many evaluations; fraction < 1 scales its generations. */
static int frugal_run(const sci_problem *p, uint64_t seed, uint64_t budget_evals, double fraction,
                      const sci_opts *o, sci_run *out) {
    char path[PATH_MAX], sseed[32], sgen[32], sev[32], sthr[16], err[EXP_SPEC_ERRCAP];
    if (spec_path(p, path, sizeof path)) return -1;
    exp_spec s;
    exp_override ov[4];
    size_t nov = 0;
    snprintf(sseed, sizeof sseed, "%" PRIu64, seed);
    ov[nov++] = (exp_override){"seed", sseed};
    snprintf(sthr, sizeof sthr, "%u", o->threads);
    ov[nov++] = (exp_override){"threads", sthr};
    if (budget_evals) {
        snprintf(sev, sizeof sev, "%" PRIu64, budget_evals);
        ov[nov++] = (exp_override){"budget.evaluations", sev};
        ov[nov++] = (exp_override){"budget.generations", "0"};
    } else if (fraction < 1) {
        if (exp_spec_load(&s, path, NULL, ov, nov, err, sizeof err)) {
            fprintf(stderr, "frugal bench science: %s\n", err);
            return -1;
        }
        uint64_t g = (uint64_t)ceil((double)s.params.max_generations * fraction);
        exp_spec_free(&s);
        snprintf(sgen, sizeof sgen, "%" PRIu64, g ? g : 1);
        ov[nov++] = (exp_override){"budget.generations", sgen};
    }
    if (exp_spec_load(&s, path, NULL, ov, nov, err, sizeof err)) {
        fprintf(stderr, "frugal bench science: %s\n", err);
        return -1;
    }
    int rc = -1;
    evo_run *r = evo_run_new(&s.params, &s.task, err, sizeof err);
    uint32_t ntr = fit_task_nerrors(&s.task, FIT_TRAIN), nte = fit_task_nerrors(&s.task, FIT_TEST);
    double *e = malloc(sizeof(double) * (ntr > nte ? ntr : nte));
    if (!r || !e) {
        fprintf(stderr, "frugal bench science: %s\n", r ? "out of memory" : err);
        goto cleanup;
    }
    *out = (sci_run){.ets_hits = -1, .ets_mse = -1};
    double t0 = now();
    evo_stats st;
    fit_result res = {.errors = e};
    for (;;) {
        int step = evo_run_step(r);
        if (step < 0) goto cleanup;
        if (step == 1) break;
        if (evo_run_stats(r, &st)) goto cleanup;
        if (out->ets_hits < 0 && st.best_hits == s.task.train.n)
            out->ets_hits = (int64_t)st.evaluations;
        if (out->ets_mse < 0 && s.task.fixed_point) {
            if (evo_run_eval(r, st.best_island, st.best_slot, FIT_TRAIN, &res)) goto cleanup;
            if (mse_of(&res) < s.task.hit_tol) out->ets_mse = (int64_t)st.evaluations;
        }
    }
    out->seconds = now() - t0;
    out->evaluations = evo_run_evaluations(r);
    out->train_solved = st.best_error == 0;
    if (evo_run_eval(r, st.best_island, st.best_slot, FIT_TEST, &res)) goto cleanup;
    out->test_solved = res.error == 0;
    out->test_err = res.nerrors ? res.error / res.nerrors : 0;
    if (out->train_solved && !s.task.fixed_point) {
        uint32_t n = 0;
        uint8_t *code = malloc(s.params.genome.max_bytes);
        if (!code || exp_simplify_best(r, &s, &st, EXP_SIMPLIFY, FIT_TEST, code, &n, &res)) {
            free(code);
            goto cleanup;
        }
        out->simple_solved = res.error == 0;
        free(code);
    }
    rc = 0;
cleanup:
    free(e);
    evo_run_free(r);
    exp_spec_free(&s);
    return rc;
}

/* The cases of a regression task as DEAP reads them. */
static json_t *cases_json(const fit_task *t, const fit_cases *cs) {
    json_t *xs = json_array(), *ys = json_array();
    for (uint32_t i = 0; i < cs->n; i++) {
        json_t *x = json_array();
        for (uint32_t k = 0; k < t->n_in; k++)
            json_array_append_new(x, json_real(vm_fx_to_double(cs->in[(size_t)i * t->n_in + k])));
        json_array_append_new(xs, x);
        json_array_append_new(ys, json_real(cs->target[i]));
    }
    return json_pack("{s:o, s:o}", "x", xs, "y", ys);
}

/* DEAP on the same cases as frugal's run of this seed (pop 300, 40
 * generations: its published quartic setup). */
static int deap_run(const sci_problem *p, uint64_t seed, sci_run *out) {
    char path[PATH_MAX], script[PATH_MAX], err[EXP_SPEC_ERRCAP], sseed[32];
    if (spec_path(p, path, sizeof path)) return -1;
    if (exp_find_file("experiments/bench/deap_science.py", script, sizeof script)) {
        fprintf(stderr, "frugal bench science: experiments/bench/deap_science.py not found\n");
        return -1;
    }
    snprintf(sseed, sizeof sseed, "%" PRIu64, seed);
    exp_override ov[] = {{"seed", sseed}};
    exp_spec s;
    if (exp_spec_load(&s, path, NULL, ov, 1, err, sizeof err)) {
        fprintf(stderr, "frugal bench science: %s\n", err);
        return -1;
    }
    json_t *prims = json_array();
    char list[256];
    snprintf(list, sizeof list, "%s", p->prims);
    for (char *q = strtok(list, ","); q; q = strtok(NULL, ","))
        json_array_append_new(prims, json_string(q));
    json_t *in =
        json_pack("{s:i, s:i, s:I, s:o, s:b, s:f, s:o, s:o}", "pop", 300, "gens", 40, "seed",
                  (json_int_t)seed, "prims", prims, "erc", p->erc, "hit", s.task.hit_tol, "train",
                  cases_json(&s.task, &s.task.train), "test", cases_json(&s.task, &s.task.test));
    exp_spec_free(&s);
    char tmp[] = "/tmp/frugal-science-XXXXXX";
    int fd = mkstemp(tmp), rc = -1;
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!in || !f || json_dumpf(in, f, JSON_COMPACT)) {
        if (f) fclose(f);
        goto cleanup;
    }
    fclose(f);
    char cmd[2 * PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' < '%s'", script, tmp);
    FILE *pp = popen(cmd, "r");
    json_t *res = pp ? json_loadf(pp, 0, NULL) : NULL;
    if (pp && pclose(pp) != 0) {
        json_decref(res);
        res = NULL;
    }
    if (res) {
        json_t *eh = json_object_get(res, "ets_hits"), *em = json_object_get(res, "ets_mse");
        *out = (sci_run){
            .evaluations = (uint64_t)json_integer_value(json_object_get(res, "evaluations")),
            .ets_hits = json_is_integer(eh) ? json_integer_value(eh) : -1,
            .ets_mse = json_is_integer(em) ? json_integer_value(em) : -1,
            .test_err = json_number_value(json_object_get(res, "test_mae")),
            .seconds = json_number_value(json_object_get(res, "seconds")),
        };
        json_decref(res);
        rc = 0;
    } else {
        fprintf(stderr, "frugal bench science: DEAP did not run (is python3-deap installed?)\n");
    }
cleanup:
    if (fd >= 0) unlink(tmp);
    json_decref(in);
    return rc;
}

/* ---- summaries ---- */

typedef struct {
    size_t k, n;
    double lo, hi, med_ets; /* Wilson 95%; median evaluations to success (NaN: none) */
} sci_rate;

/* which: 0 every case within the tolerance, 1 MSE below it, 2 training
 * solved, 3 training and test solved. */
static sci_rate rate_of(const sci_run *runs, size_t n, int which) {
    sci_rate r = {.n = n, .med_ets = NAN};
    double *ets = malloc(sizeof(double) * (n ? n : 1));
    for (size_t i = 0; ets && i < n; i++) {
        int64_t e = which == 0   ? runs[i].ets_hits
                    : which == 1 ? runs[i].ets_mse
                    : which == 2 ? (runs[i].train_solved ? 0 : -1)
                    : which == 3 ? (runs[i].train_solved && runs[i].test_solved ? 0 : -1)
                                 : (runs[i].train_solved && runs[i].simple_solved ? 0 : -1);
        if (e >= 0) ets[r.k++] = (double)e;
    }
    an_binom_ci(r.k, n, 0.95, AN_CI_WILSON, &r.lo, &r.hi);
    if (ets && r.k && which < 2) r.med_ets = an_quantile(ets, r.k, 0.5);
    free(ets);
    return r;
}

/* The runs' test errors, malloc'd (NULL: no memory). */
static double *test_errors(const sci_run *runs, size_t n) {
    double *v = malloc(sizeof(double) * (n ? n : 1));
    for (size_t i = 0; v && i < n; i++)
        v[i] = runs[i].test_err;
    return v;
}

static void print_rate(const char *label, sci_rate r) {
    printf("  %-34s %3zu/%-3zu %5.1f%% [%5.1f, %5.1f]", label, r.k, r.n, 100.0 * r.k / r.n,
           100 * r.lo, 100 * r.hi);
    if (!isnan(r.med_ets)) printf("  median evaluations to success %.0f", r.med_ets);
    printf("\n");
}

/* Fisher's exact test, two-sided, of k of n against the peer's pk of pn:
 * whether the two rates differ by more than chance (NAN without a peer). */
static double fisher_p(sci_rate r, size_t pk, size_t pn) {
    if (!pn) return NAN;
    return an_fisher_exact(r.k, r.n - r.k, pk, pn - pk, NULL);
}

static void print_fisher(const char *what, double p) {
    printf("  %-34s p = %.3g (Fisher's exact test, two-sided)\n", what, p);
}

/* A CSV row's last two columns: the budget, and p against the peer (empty
 * when NAN): Fisher's for a rate, Mann-Whitney's for a median. */
static void csv_end(FILE *f, const char *budget, double p) {
    fprintf(f, ",%s,", budget);
    if (!isnan(p)) fprintf(f, "%.4g", p);
    fprintf(f, "\n");
}

static void csv_rate(const sci_opts *o, const char *sec, const char *prob, const char *sys,
                     const char *crit, sci_rate r, const char *budget, double p) {
    if (!o->csv) return;
    fprintf(o->csv, "%s,%s,%s,%s,%zu,%zu,%.6g,%.6g,%.6g,", sec, prob, sys, crit, r.n, r.k,
            r.n ? (double)r.k / r.n : 0, r.lo, r.hi);
    if (!isnan(r.med_ets)) fprintf(o->csv, "%.0f", r.med_ets);
    fprintf(o->csv, ",");
    csv_end(o->csv, budget, p);
}

/* Quartic and regression: frugal at DEAP's evaluation count, seed by seed. */
static int bench_deap_section(const sci_problem *p, const sci_opts *o) {
    size_t n = o->runs;
    sci_run *fr = calloc(n, sizeof *fr), *dr = calloc(n, sizeof *dr);
    int rc = -1;
    if (!fr || !dr) goto cleanup;
    uint64_t mean_evals = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t seed = i + 1, budget = 0;
        if (o->deap) {
            if (deap_run(p, seed, &dr[i])) goto cleanup;
            budget = dr[i].evaluations;
        } else {
            budget = 6900; /* DEAP's mean on the quartic (docs/science.md) */
        }
        mean_evals += budget;
        if (frugal_run(p, seed, budget, 1, o, &fr[i])) goto cleanup;
        /* a success counts only within the peer's evaluations */
        if (fr[i].ets_hits > (int64_t)budget) fr[i].ets_hits = -1;
        if (fr[i].ets_mse > (int64_t)budget) fr[i].ets_mse = -1;
        fprintf(stderr, "\r  %s: %zu/%zu runs", p->spec, i + 1, n);
    }
    fprintf(stderr, "\r%*s\r", 40, "");
    char budget[96];
    snprintf(budget, sizeof budget, "equal evaluations: DEAP's own count per seed (mean %.0f)",
             (double)mean_evals / (n ? n : 1));
    const char *sec = sec_names[p->sec];
    printf("%s %s (%zu seeds; %s)\n", sec, p->spec, n, budget);
    for (int c = 0; c < 2; c++) {
        const char *crit = c ? "MSE < 0.01" : "every case within 0.01";
        char label[96];
        snprintf(label, sizeof label, "frugal, %s", crit);
        sci_rate fr_r = rate_of(fr, n, c), dr_r = {0};
        double fp = NAN;
        if (o->deap) {
            dr_r = rate_of(dr, n, c);
            fp = fisher_p(fr_r, dr_r.k, dr_r.n);
        }
        print_rate(label, fr_r);
        csv_rate(o, sec, p->spec, "frugal", crit, fr_r, budget, fp);
        if (o->deap) {
            snprintf(label, sizeof label, "DEAP 1.3, %s", crit);
            print_rate(label, dr_r);
            csv_rate(o, sec, p->spec, "DEAP", crit, dr_r, budget, NAN);
            print_fisher("frugal against DEAP", fp);
        }
    }
    double *fx = test_errors(fr, n), *dx = o->deap ? test_errors(dr, n) : NULL;
    double fm = fx && n ? an_quantile(fx, n, 0.5) : NAN,
           dm = dx && n ? an_quantile(dx, n, 0.5) : NAN;
    printf("  median test error (mean absolute)   frugal %.4g", fm);
    if (o->deap) printf("   DEAP %.4g", dm);
    an_mwu mw = {.p = NAN};
    /* whether frugal's test errors differ from DEAP's by more than chance */
    if (fx && dx && an_mann_whitney(fx, n, dx, n, &mw) == 0)
        printf("   Mann-Whitney p = %.3g, A12 = %.2f (P(frugal's error > DEAP's), ties half)", mw.p,
               mw.a12);
    printf("\n\n");
    free(fx);
    free(dx);
    if (o->csv) {
        fprintf(o->csv, "%s,%s,frugal,median test MAE,%zu,,,,,,%.6g", sec, p->spec, n, fm);
        csv_end(o->csv, budget, mw.p);
        if (o->deap) {
            fprintf(o->csv, "%s,%s,DEAP,median test MAE,%zu,,,,,,%.6g", sec, p->spec, n, dm);
            csv_end(o->csv, budget, NAN);
        }
    }
    rc = 0;
cleanup:
    free(fr);
    free(dr);
    return rc;
}

/* The seeds (1..n) whose run meets criterion which of rate_of, on one line
 * after label: so that a reader sees which seeds make a rate. */
static void print_seeds(const char *label, const sci_run *runs, size_t n, int which) {
    printf("  %-34s", label);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (rate_of(&runs[i], 1, which).k) printf(" %zu", i + 1), k++;
    printf("%s\n", k ? "" : " none");
}

/* Program synthesis: training success and generalisation, beside PushGP. */
static int bench_psb(const sci_problem *p, const sci_opts *o) {
    size_t n = o->runs;
    sci_run *fr = calloc(n, sizeof *fr);
    if (!fr) return -1;
    double secs = 0;
    for (size_t i = 0; i < n; i++) {
        if (frugal_run(p, i + 1, 0, o->fraction, o, &fr[i])) {
            free(fr);
            return -1;
        }
        secs += fr[i].seconds;
        fprintf(stderr, "\r  %s: %zu/%zu runs", p->spec, i + 1, n);
    }
    fprintf(stderr, "\r%*s\r", 40, "");
    char budget[96];
    snprintf(budget, sizeof budget, "%.3g of the published executions", o->fraction);
    sci_rate tr = rate_of(fr, n, 2), ge = rate_of(fr, n, 3), gs = rate_of(fr, n, 4);
    printf("psb %s (%zu seeds; %s; %.1f s a run)\n", p->spec, n, budget, secs / (n ? n : 1));
    print_rate("frugal, training solved", tr);
    print_rate("frugal, solved and generalised", ge);
    print_rate("  the same, simplified first", gs);
    /* PushGP's published successes of 100 runs, against frugal's */
    size_t pk = p->pushgp < 0 ? 0 : (size_t)p->pushgp, pn = p->pushgp < 0 ? 0 : 100;
    double pg = fisher_p(ge, pk, pn), ps = fisher_p(gs, pk, pn);
    if (pn) {
        printf("  %-34s %3zu/100\n", "PushGP (published)", pk);
        print_fisher("generalised, against PushGP", pg);
        print_fisher("simplified, against PushGP", ps);
    }
    print_seeds("seeds solved and generalised", fr, n, 3);
    print_seeds("seeds generalised when simplified", fr, n, 4);
    printf("\n");
    csv_rate(o, "psb", p->spec, "frugal", "training solved", tr, budget, NAN);
    csv_rate(o, "psb", p->spec, "frugal", "generalised", ge, budget, pg);
    csv_rate(o, "psb", p->spec, "frugal", "generalised after simplification", gs, budget, ps);
    if (o->csv && pn) {
        fprintf(o->csv, "psb,%s,PushGP (published),generalised,100,%zu,%.6g,,,,", p->spec, pk,
                pk / 100.0);
        csv_end(o->csv, "published setup", NAN);
    }
    free(fr);
    return 0;
}

/* EVM superoptimisation: frugal superopt on a file of blocks with its
 * defaults (seed 1: one deterministic pass, so --runs does not apply); the
 * blocks that match or beat the published gas, per source, with a Wilson
 * interval over blocks, and the median time per block. */
static int bench_superopt(const sci_problem *p, const sci_opts *o) {
    char path[PATH_MAX], dir[] = "/tmp/frugal-science-so-XXXXXX", csvp[64], jsonp[64], thr[16];
    if (exp_find_file(p->spec, path, sizeof path)) {
        fprintf(stderr, "frugal bench science: %s not found\n", p->spec);
        return -1;
    }
    if (!mkdtemp(dir)) return -1;
    snprintf(csvp, sizeof csvp, "%s/so.csv", dir);
    snprintf(jsonp, sizeof jsonp, "%s/so.json", dir);
    snprintf(thr, sizeof thr, "%u", o->threads);
    char *argv[] = {"superopt", path, "--quiet", "--threads", thr,
                    "--out",    csvp, "--json",  jsonp,       NULL};
    /* its summary goes to stdout; keep the table clean */
    fflush(stdout);
    int saved = dup(STDOUT_FILENO), devnull = open("/dev/null", O_WRONLY), rc = -1;
    if (saved >= 0 && devnull >= 0) dup2(devnull, STDOUT_FILENO);
    int src = exp_cmd_superopt(9, argv);
    fflush(stdout);
    if (saved >= 0) dup2(saved, STDOUT_FILENO);
    if (saved >= 0) close(saved);
    if (devnull >= 0) close(devnull);
    json_t *j = json_load_file(jsonp, 0, NULL);
    unlink(csvp);
    unlink(jsonp);
    rmdir(dir);
    if (!j || (src != EXP_EXIT_OK && src != EXP_EXIT_INPUT)) {
        fprintf(stderr, "frugal bench science: frugal superopt %s failed (exit %d)\n", path, src);
        json_decref(j);
        return -1;
    }
    printf("superopt %s (frugal superopt, defaults, seed 1%s)\n", p->spec,
           src == EXP_EXIT_INPUT ? "; some lines could not be used" : "");
    json_t *srcs = json_object_get(j, "sources");
    const char *key;
    json_t *v;
    json_t *rows = json_object();
    json_object_set(rows, "all", j);
    if (json_object_size(srcs) > 1) json_object_update(rows, srcs);
    json_object_foreach(rows, key, v) {
        size_t n = (size_t)json_integer_value(json_object_get(v, "with_published"));
        size_t k = (size_t)(json_integer_value(json_object_get(v, "matched")) +
                            json_integer_value(json_object_get(v, "beaten")));
        sci_rate r = {.k = k, .n = n, .med_ets = NAN};
        if (n) an_binom_ci(k, n, 0.95, AN_CI_WILSON, &r.lo, &r.hi);
        char label[64];
        snprintf(label, sizeof label, "%.30s, matched or beaten", key);
        if (n) print_rate(label, r);
        printf("  %-34s %.3f s (CPU %.3f s)\n", "  median time per block",
               json_number_value(json_object_get(v, "median_seconds")),
               json_number_value(json_object_get(v, "median_cpu_seconds")));
        csv_rate(o, "superopt", key, "frugal", "matched or beat the published gas", r,
                 "frugal superopt defaults", NAN);
    }
    printf("\n");
    json_decref(rows);
    json_decref(j);
    rc = 0;
    return rc;
}

static const char science_usage[] =
    "usage: frugal bench science [--runs N] [--quick] [--budget-fraction F] [--only LIST]\n"
    "                            [--csv FILE] [--threads N] [--no-deap]\n"
    "Search quality at equal budgets (docs/science.md): the quartic and the\n"
    "regression problems against DEAP run here on the same cases at DEAP's own\n"
    "evaluation count, PSB1/PSB2 program synthesis beside PushGP's published\n"
    "success rates, and EVM superoptimisation of the shipped blocks against the\n"
    "published gas. Seeds are 1..N. Each rate is compared with its peer's by\n"
    "Fisher's exact test, and the test errors with DEAP's by Mann-Whitney's.\n"
    "Prints one table and writes a CSV.\n"
    "  --runs N             seeds per problem (default 30)\n"
    "  --quick              a smoke test: 3 runs, PSB at 0.05 of its budget\n"
    "  --budget-fraction F  PSB: this fraction of the published program executions\n"
    "                       (of the spec's generations; default 1)\n"
    "  --only LIST          sections (quartic,regression,psb,superopt) or problems by\n"
    "                       spec name (e.g. median,fuel-cost); default all\n"
    "  --csv FILE           the CSV (default results/science/science.csv)\n"
    "  --threads N          evaluation threads (default: all cores)\n"
    "  --no-deap            skip DEAP (frugal then gets 6900 evaluations a run)\n"
    "Exit: 0 done, 1 a run failed, 2 usage, 4 the CSV cannot be written.\n";

int exp_bench_science(int argc, char **argv) {
    sci_opts o = {.runs = 30, .fraction = 1, .deap = true, .sections = (1u << SEC_N) - 1};
    const char *csv = "results/science/science.csv";
    static const struct option opts[] = {{"runs", required_argument, 0, 'r'},
                                         {"quick", no_argument, 0, 'q'},
                                         {"budget-fraction", required_argument, 0, 'f'},
                                         {"only", required_argument, 0, 'o'},
                                         {"csv", required_argument, 0, 'c'},
                                         {"threads", required_argument, 0, 't'},
                                         {"no-deap", no_argument, 0, 'n'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    optind = 1;
    int c;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (exp_parse_u64("--runs", optarg, &o.runs)) return EXP_EXIT_USAGE;
            break;
        case 'q':
            o.runs = 3;
            o.fraction = 0.05;
            break;
        case 'f': {
            char *end;
            o.fraction = strtod(optarg, &end);
            if (*end || !(o.fraction > 0 && o.fraction <= 1)) {
                fprintf(stderr,
                        "frugal bench science: --budget-fraction expects a number in "
                        "(0, 1], got '%s'\n",
                        optarg);
                return EXP_EXIT_USAGE;
            }
            break;
        }
        case 'o': {
            o.sections = 0;
            o.problems = 0;
            char list[512];
            snprintf(list, sizeof list, "%s", optarg);
            for (char *q = strtok(list, ","); q; q = strtok(NULL, ",")) {
                int k = 0;
                while (k < SEC_N && strcmp(q, sec_names[k]))
                    k++;
                if (k < SEC_N) {
                    o.sections |= 1u << k;
                    continue;
                }
                size_t i = 0;
                while (i < NPROBLEMS && strcmp(q, problems[i].spec))
                    i++;
                if (i == NPROBLEMS) {
                    fprintf(stderr,
                            "frugal bench science: --only: unknown section or problem '%s' "
                            "(expected quartic, regression, psb, superopt or a problem's spec "
                            "name, e.g. fuel-cost)\n",
                            q);
                    return EXP_EXIT_USAGE;
                }
                o.problems |= 1ull << i;
            }
            break;
        }
        case 'c': csv = optarg; break;
        case 't':
            if (exp_parse_u64("--threads", optarg, &v)) return EXP_EXIT_USAGE;
            o.threads = (uint32_t)(v > 4096 ? 4096 : v);
            break;
        case 'n': o.deap = false; break;
        case 'h': fputs(science_usage, stdout); return EXP_EXIT_OK;
        default: fputs(science_usage, stderr); return EXP_EXIT_USAGE;
        }
    }
    if (optind != argc || o.runs < 1 || o.runs > 10000) {
        fprintf(stderr, "frugal bench science: --runs must be in 1..10000\n");
        fputs(science_usage, stderr);
        return EXP_EXIT_USAGE;
    }
    if (exp_make_parent_dirs(csv)) return EXP_EXIT_IO;
    o.csv = fopen(csv, "w");
    if (!o.csv) {
        fprintf(stderr, "frugal bench science: cannot write %s\n", csv);
        return EXP_EXIT_IO;
    }
    fprintf(o.csv, "section,problem,system,criterion,runs,successes,rate,ci_lo,ci_hi,"
                   "median_evals_to_success,median_test_error,budget,p_vs_peer\n");
    printf("frugal bench science: %" PRIu64 " seeds (1..%" PRIu64 ") per problem\n\n", o.runs,
           o.runs);
    int rc = EXP_EXIT_OK;
    for (size_t i = 0; i < NPROBLEMS && rc == EXP_EXIT_OK; i++) {
        const sci_problem *p = &problems[i];
        if (!(o.sections & (1u << p->sec)) && !(o.problems >> i & 1)) continue;
        int r = p->sec == SEC_PSB        ? bench_psb(p, &o)
                : p->sec == SEC_SUPEROPT ? bench_superopt(p, &o)
                                         : bench_deap_section(p, &o);
        if (r) rc = EXP_EXIT_FAIL;
        fflush(stdout);
        fflush(o.csv);
    }
    if (fclose(o.csv) && rc == EXP_EXIT_OK) rc = EXP_EXIT_IO;
    printf("CSV: %s\n", csv);
    return rc;
}
