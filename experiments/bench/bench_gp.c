/* frugal bench gp: the GP engine on Koza's quartic, with 1 and 2 threads
 * and as 2 separate runs at once, against DEAP (python3-deap) on the same
 * 20 cases in the same run, the four interleaved round by round
 * (bench_time.h).
 * Rates are whole-run rates: evaluations made divided by the wall time of the
 * run, variation and selection included, for both systems. */
#define _GNU_SOURCE /* sched_setaffinity */
#include "evolve/evolve.h"
#include "experiments/bench/bench.h"
#include "experiments/cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char gp_usage[] =
    "usage: frugal bench gp [--pop N] [--gens N] [--reps N] [--seed N] [--threads N]\n"
    "                       [--min-secs S] [--no-deap]\n"
    "Koza-1 quartic with frugal's GP engine on 1 thread, on N threads (default 2),\n"
    "as N separate one-thread runs at once (each with its own population), and DEAP\n"
    "(/usr/bin/python3, python3-deap) on the same 20 cases, interleaved: each round\n"
    "runs each once. A frugal measurement repeats the run until it has lasted\n"
    "--min-secs. Prints medians (min, max) of evaluations/s; the parallel efficiency\n"
    "and its two factors, the host's scaling of unshared work (separate runs against\n"
    "one run alone) and the N-thread run against the separate runs; the ratio to\n"
    "DEAP (all paired per round); the process CPU time per evaluation on one thread\n"
    "(less moved by other load than wall time); the share of a one-thread run spent\n"
    "in the interpreter (each entry timed by two clock readings, whose measured cost\n"
    "is subtracted); and the time a cache line takes between two threads' cores and\n"
    "back, measured before each N-thread measurement (a parallel run's efficiency\n"
    "falls as it grows). Last, once, one thread's evaluations/s pinned to each CPU\n"
    "the process may use (a cloud machine's vCPUs need not be alike; unlike ones\n"
    "lower the efficiency).\n"
    "  --pop N       population (default 1000)\n"
    "  --gens N      generations after the initial one (default 20)\n"
    "  --reps N      rounds (default 11)\n"
    "  --seed N      run seed (default 1)\n"
    "  --threads N   the parallel run's threads (default 2)\n"
    "  --min-secs S  least seconds per frugal measurement (default 1)\n"
    "  --no-deap     skip DEAP\n";

typedef struct {
    double secs;
    uint64_t evals, gas, hash, insns;
    double best, interp;
    uint64_t entries; /* interpreter entries, when timing */
} gp_result;

enum { RUN_PLAIN, RUN_COUNT, RUN_TIME };

/* One run; mode RUN_COUNT also counts its VM instructions, RUN_TIME times
 * the interpreter (both untimed runs: counting and timing slow it). */
static int run_once(const fit_task *t, const evo_isa *isa, uint64_t seed, uint32_t pop,
                    uint64_t gens, int threads, int mode, gp_result *out) {
    evo_params p;
    evo_params_default(&p, isa, t);
    p.seed = seed;
    p.pop_size = pop;
    p.max_generations = gens;
    p.target_error = -1; /* all the generations, as DEAP runs them */
    p.threads = (uint32_t)threads;
    char err[256];
    evo_run *r = evo_run_new(&p, t, err, sizeof err);
    if (!r) {
        fprintf(stderr, "frugal bench gp: %s\n", err);
        return -1;
    }
    if ((mode == RUN_COUNT && evo_run_count_insns(r, true)) ||
        (mode == RUN_TIME && evo_run_time_interp(r, true))) {
        evo_run_free(r);
        return -1;
    }
    double t0 = bench_now();
    int rc = evo_run_until_done(r);
    out->secs = bench_now() - t0;
    out->insns = evo_run_insns(r);
    out->interp = evo_run_interp_secs(r, &out->entries);
    out->evals = evo_run_evaluations(r);
    out->gas = evo_run_gas_total(r);
    out->hash = evo_run_hash(r);
    evo_stats s;
    evo_run_stats(r, &s);
    out->best = s.best_error;
    evo_run_free(r);
    return rc;
}

/* What timing an interpreter entry adds, in seconds: inside, the time
 * between two back-to-back clock readings (counted as the interpreter's);
 * pair, the cost of the two readings (counted in the run). A case runs for
 * about 100 ns and a reading costs about 20 ns here, so the share is
 * corrected for both. The VM's own clock (vm_clock_ns), medians of 11
 * batches. */
static void clock_cost(double *inside, double *pair) {
    enum { BATCH = 20000, NB = 11 };
    double in[NB], pr[NB];
    for (int k = 0; k < NB; k++) {
        uint64_t sum = 0, t0 = vm_clock_ns();
        for (int i = 0; i < BATCH; i++) {
            uint64_t a = vm_clock_ns();
            sum += vm_clock_ns() - a;
        }
        pr[k] = (double)(vm_clock_ns() - t0) * 1e-9 / BATCH;
        in[k] = (double)sum * 1e-9 / BATCH;
    }
    *inside = bench_stat_of(in, 1, NB, 0).med;
    *pair = bench_stat_of(pr, 1, NB, 0).med;
}

/* Write the task's inputs for DEAP to a temporary file: 0, or -1. */
static int deap_inputs(const fit_task *t, char *xs) {
    int fd = mkstemp(xs);
    if (fd < 0) return -1;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(xs);
        return -1;
    }
    for (uint32_t i = 0; i < t->train.n; i++)
        fprintf(f, "%.17g\n", vm_fx_to_double(t->train.in[i]));
    return fclose(f) ? -1 : 0;
}

/* One DEAP run on the inputs in xs: fills the figures; 0, or -1. */
static int run_deap(const char *script, const char *xs, uint32_t pop, uint64_t gens, uint64_t seed,
                    uint64_t *evals, double *secs, double *eval_secs, double *best) {
    char cmd[2 * PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' %u %" PRIu64 " %" PRIu64 " < '%s'", script,
             pop, gens, seed, xs);
    FILE *p = popen(cmd, "r");
    int rc = -1;
    if (p) {
        if (fscanf(p, "%" SCNu64 " %lf %lf %lf", evals, secs, eval_secs, best) == 4) rc = 0;
        if (pclose(p) != 0) rc = -1;
    }
    return rc;
}

enum { GP_ONE, GP_N, GP_APART, GP_DEAP, GP_NCONF }; /* DEAP last: it may be left out */

typedef struct {
    const fit_task *t;
    const evo_isa *isa;
    uint64_t seed, gens;
    uint32_t pop;
    int threads, repeat; /* frugal runs per measurement */
    const char *script;  /* deap_quartic.py, or NULL: no DEAP */
    char xs[64];
    gp_result last[2];
    uint64_t deap_evals;
    double deap_eval_secs, deap_best;
    bool differs;   /* a run's hash differed from the first */
    double *cpu_us; /* per round: CPU microseconds per evaluation, 1 thread */
    int ncpu;
    double *core_ns; /* per round: bench_core_round_trip */
    int ncore;
} gp_ctx;

/* One measurement's runs: c->repeat identical runs on the given threads,
 * their seconds and evaluations added to *secs and *evals, the last into
 * *last; *differs set when a hash is not the first run's. 0, or -1. */
static int repeat_runs(const gp_ctx *c, int threads, double *secs, uint64_t *evals, gp_result *last,
                       int *differs) {
    for (int i = 0; i < c->repeat; i++) {
        gp_result g; /* not into *last yet: it may be c->last[0], the reference */
        if (run_once(c->t, c->isa, c->seed, c->pop, c->gens, threads, RUN_PLAIN, &g)) return -1;
        if (g.hash != c->last[0].hash) *differs = 1;
        *secs += g.secs;
        *evals += g.evals;
        *last = g;
    }
    return 0;
}

/* N separate one-thread runs at once, each repeated as a measurement is:
 * their evaluations over the wall time until the last ends, or -1. They
 * share no data (each has its own population: N times the memory), so
 * against one run alone they show what the host gives N threads of this
 * work (a vCPU that shares its core, caches or memory bandwidth with other
 * work gives less); against them, the N-thread run shows what sharing one
 * population costs, or saves in memory. */
static double gp_apart(gp_ctx *c) {
    uint64_t evals = 0;
    int bad = 0, differs = 0;
    double t0 = bench_now();
#pragma omp parallel num_threads(c->threads) reduction(+ : evals) reduction(| : bad, differs)
    {
        double own = 0; /* each run's own time: the wall time below counts */
        gp_result g;    /* each run is one thread: OpenMP does not nest it */
        bad = repeat_runs(c, 1, &own, &evals, &g, &differs) != 0;
    }
    double secs = bench_now() - t0;
    if (differs) c->differs = true;
    return bad ? -1 : (double)evals / secs;
}

/* One measurement: evaluations per second of configuration k, or -1. */
static double gp_measure(void *ctx, int k) {
    gp_ctx *c = ctx;
    if (k == GP_DEAP) {
        uint64_t e;
        double s, es, b;
        if (run_deap(c->script, c->xs, c->pop, c->gens, c->seed, &e, &s, &es, &b)) {
            fprintf(stderr, "frugal bench gp: DEAP did not run (is python3-deap installed?)\n");
            return -1;
        }
        c->deap_evals = e, c->deap_eval_secs = es, c->deap_best = b;
        return (double)e / s;
    }
    if (k == GP_APART) return gp_apart(c);
    if (k == GP_N) c->core_ns[c->ncore++] = bench_core_round_trip();
    double secs = 0, cpu0 = bench_cpu(false);
    uint64_t evals = 0;
    int differs = 0;
    if (repeat_runs(c, k == GP_ONE ? 1 : c->threads, &secs, &evals, &c->last[k], &differs))
        return -1;
    if (differs) c->differs = true;
    if (k == GP_ONE) c->cpu_us[c->ncpu++] = (bench_cpu(false) - cpu0) * 1e6 / (double)evals;
    return (double)evals / secs;
}

/* One thread's evaluations/s with the thread pinned to each CPU this
 * process may use (at most EXP_GP_CPUS), into f; the affinity is restored.
 * A cloud machine's vCPUs need not be alike (docs/performance.md), and a
 * parallel run can go no faster than its CPUs together. */
static int per_cpu_rates(gp_ctx *c, exp_gp_figures *f) {
    cpu_set_t all;
    f->ncpus = 0;
    if (sched_getaffinity(0, sizeof all, &all)) return 0; /* then none is shown */
    int rc = 0;
    for (int k = 0; k < CPU_SETSIZE && f->ncpus < EXP_GP_CPUS && !rc; k++) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(k, &one);
        if (!CPU_ISSET(k, &all) || sched_setaffinity(0, sizeof one, &one)) continue;
        double secs = 0;
        uint64_t evals = 0;
        int differs = 0;
        gp_result g;
        rc = repeat_runs(c, 1, &secs, &evals, &g, &differs);
        if (differs) c->differs = true;
        if (!rc && secs > 0) {
            double v = (double)evals / secs;
            f->cpu_lo = f->ncpus == 0 || v < f->cpu_lo ? v : f->cpu_lo;
            f->cpu_hi = f->ncpus == 0 || v > f->cpu_hi ? v : f->cpu_hi;
            f->cpu_id[f->ncpus] = k;
            f->cpu_rate[f->ncpus++] = v;
        }
    }
    (void)sched_setaffinity(0, sizeof all, &all);
    return rc;
}

int exp_bench_gp_figures(const exp_gp_options *o, exp_gp_figures *f) {
    fit_task t;
    if (evo_task_quartic(&t, o->seed)) {
        fprintf(stderr, "frugal bench gp: out of memory\n");
        return 1;
    }
    evo_isa isa;
    evo_isa_native(&isa);
    gp_ctx c = {.t = &t,
                .isa = &isa,
                .seed = o->seed,
                .gens = o->gens,
                .pop = o->pop,
                .threads = o->threads,
                .repeat = 1};
    char script[PATH_MAX];
    double *v = malloc(sizeof *v * (size_t)o->rounds * GP_NCONF);
    c.cpu_us = malloc(sizeof *c.cpu_us * (size_t)o->rounds);
    c.core_ns = malloc(sizeof *c.core_ns * (size_t)o->rounds);
    gp_result cnt, tim;
    int rc = 1;
    /* untimed runs first: one counts the VM instructions, one times the
     * interpreter (the runs are identical: their hashes are checked) */
    if (!v || !c.cpu_us || !c.core_ns ||
        run_once(&t, &isa, o->seed, o->pop, o->gens, 1, RUN_COUNT, &cnt) ||
        run_once(&t, &isa, o->seed, o->pop, o->gens, 1, RUN_TIME, &tim) ||
        run_once(&t, &isa, o->seed, o->pop, o->gens, 1, RUN_PLAIN, &c.last[0]))
        goto cleanup;
    c.repeat = (int)(o->min_secs / c.last[0].secs) + 1;
    if (o->deap) {
        if (exp_find_file("experiments/bench/deap_quartic.py", script, sizeof script) == 0 &&
            snprintf(c.xs, sizeof c.xs, "/tmp/frugal-quartic-XXXXXX") > 0 && !deap_inputs(&t, c.xs))
            c.script = script;
        else
            fprintf(stderr, "frugal bench gp: DEAP's script or its inputs are missing\n");
    }
    int nconf = c.script ? GP_NCONF : GP_DEAP;
    if (bench_rounds(gp_measure, &c, nconf, o->rounds, v)) goto cleanup;
    *f = (exp_gp_figures){.rounds = o->rounds, .repeat = c.repeat, .threads = o->threads};
    for (int k = 0; k < nconf; k++)
        f->rate[k] = bench_stat_of(v, nconf, o->rounds, k);
    f->cpu_us = bench_stat_of(c.cpu_us, 1, o->rounds, 0);
    f->core_ns = bench_stat_of(c.core_ns, 1, o->rounds, 0);
    bench_stat e = bench_ratio(v, nconf, o->rounds, GP_N, GP_ONE);
    f->efficiency = (bench_stat){e.med / o->threads, e.min / o->threads, e.max / o->threads};
    e = bench_ratio(v, nconf, o->rounds, GP_APART, GP_ONE);
    f->unshared = (bench_stat){e.med / o->threads, e.min / o->threads, e.max / o->threads};
    f->vs_apart = bench_ratio(v, nconf, o->rounds, GP_N, GP_APART);
    f->deap = c.script != NULL;
    if (f->deap) {
        f->vs_deap = bench_ratio(v, nconf, o->rounds, GP_N, GP_DEAP);
        f->vs_deap1 = bench_ratio(v, nconf, o->rounds, GP_ONE, GP_DEAP);
        f->deap_evals = c.deap_evals;
        f->deap_eval_rate = (double)c.deap_evals / c.deap_eval_secs;
        f->deap_best = c.deap_best;
    }
    if (per_cpu_rates(&c, f)) goto cleanup;
    f->evals = c.last[0].evals;
    f->hash = c.last[0].hash;
    f->same_hash =
        !c.differs && cnt.hash == f->hash && tim.hash == f->hash && c.last[GP_N].hash == f->hash;
    f->best = c.last[0].best;
    f->insns_per_eval = (double)cnt.insns / (double)cnt.evals;
    f->gas_per_eval = (double)c.last[0].gas / (double)c.last[0].evals;
    f->minsn = f->rate[GP_ONE].med * f->insns_per_eval / 1e6;
    double inside, pair;
    clock_cost(&inside, &pair);
    f->interp_share =
        (tim.interp - (double)tim.entries * inside) / (tim.secs - (double)tim.entries * pair);
    rc = 0;
cleanup:
    if (c.script) unlink(c.xs);
    free(v);
    free(c.cpu_us);
    free(c.core_ns);
    fit_task_free(&t);
    return rc;
}

int exp_bench_gp(int argc, char **argv) {
    uint64_t pop = 1000, gens = 20, reps = BENCH_MIN_ROUNDS, seed = 1, threads = 2;
    double min_secs = 1;
    bool deap = true;
    static const struct option opts[] = {{"pop", required_argument, 0, 'p'},
                                         {"gens", required_argument, 0, 'g'},
                                         {"reps", required_argument, 0, 'r'},
                                         {"seed", required_argument, 0, 's'},
                                         {"threads", required_argument, 0, 't'},
                                         {"min-secs", required_argument, 0, 'm'},
                                         {"no-deap", no_argument, 0, 'n'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    optind = 1;
    int c, li = 0;
    while ((c = getopt_long(argc, argv, "h", opts, &li)) != -1) {
        char *end = NULL;
        uint64_t v = 0;
        if (optarg && c != 'm') v = strtoull(optarg, &end, 10);
        if (optarg && c == 'm') min_secs = strtod(optarg, &end);
        if (optarg && (!*optarg || *end)) {
            fprintf(stderr, "frugal bench gp: --%s needs a number, got '%s'\n", opts[li].name,
                    optarg);
            return 2;
        }
        switch (c) {
        case 'p': pop = v; break;
        case 'g': gens = v; break;
        case 'r': reps = v; break;
        case 's': seed = v; break;
        case 't': threads = v; break;
        case 'm': break;
        case 'n': deap = false; break;
        case 'h': fputs(gp_usage, stdout); return 0;
        default: fputs(gp_usage, stderr); return 2;
        }
    }
    if (pop < 2 || pop > 1000000 || gens < 1 || gens > 100000 || reps < 1 || reps > 100 ||
        threads < 1 || threads > 1024 || !(min_secs >= 0 && min_secs <= 600)) {
        fprintf(stderr, "frugal bench gp: --pop 2..1e6, --gens 1..1e5, --reps 1..100, "
                        "--threads 1..1024, --min-secs 0..600\n");
        return 2;
    }
    exp_gp_options o = {(uint32_t)pop, gens, seed, (int)threads, (int)reps, min_secs, deap};
    exp_gp_figures f;
    printf("frugal bench gp: Koza-1 quartic, population %" PRIu64 ", %" PRIu64
           " generations, seed %" PRIu64 ";\n%" PRIu64 " interleaved rounds; median (min, max)\n",
           pop, gens, seed, reps);
    if (exp_bench_gp_figures(&o, &f)) return 1;
    printf("each frugal measurement: %d runs of %" PRIu64 " evaluations (at least %.1f s)\n",
           f.repeat, f.evals, min_secs);
    const char *name[GP_NCONF] = {"frugal, 1 thread", NULL, NULL, "DEAP (tree GP)"};
    for (int k = 0; k < (f.deap ? GP_NCONF : GP_DEAP); k++) {
        char what[64];
        if (k == GP_N)
            snprintf(what, sizeof what, "frugal, %d threads", f.threads);
        else if (k == GP_APART)
            snprintf(what, sizeof what, "%d separate runs", f.threads);
        else
            snprintf(what, sizeof what, "%s", name[k]);
        printf("  %-20s %12.0f evals/s (min %.0f, max %.0f)\n", what, f.rate[k].med, f.rate[k].min,
               f.rate[k].max);
    }
    printf("  parallel efficiency, %d threads: %.1f%% (min %.1f%%, max %.1f%%)  goal >= 95%%\n",
           f.threads, f.efficiency.med * 100, f.efficiency.min * 100, f.efficiency.max * 100);
    printf("  the host's scaling of unshared work, %d separate runs / 1 run / %d: %.1f%% (min "
           "%.1f%%, max %.1f%%)\n",
           f.threads, f.threads, f.unshared.med * 100, f.unshared.min * 100, f.unshared.max * 100);
    printf("  %d threads / %d separate runs (sharing one population): %.1f%% (min %.1f%%, max "
           "%.1f%%)\n",
           f.threads, f.threads, f.vs_apart.med * 100, f.vs_apart.min * 100, f.vs_apart.max * 100);
    if (f.ncpus > 1) {
        printf("  1 thread pinned to each CPU, evals/s:");
        for (int k = 0; k < f.ncpus; k++)
            printf(" cpu%d %.0f", f.cpu_id[k], f.cpu_rate[k]);
        printf(";\n  the slowest at %.0f%% of the fastest (unlike CPUs lower the efficiency)\n",
               100 * f.cpu_lo / f.cpu_hi);
    }
    if (f.core_ns.med > 0)
        printf("  a cache line between two threads' cores and back: %.0f ns (min %.0f, max %.0f);\n"
               "  the efficiency falls as it grows (docs/performance.md)\n",
               f.core_ns.med, f.core_ns.min, f.core_ns.max);
    printf("  per evaluation (20 cases): %.1f VM instructions, %.1f gas; %.1f M insn/s on 1 "
           "thread\n",
           f.insns_per_eval, f.gas_per_eval, f.minsn);
    printf("  CPU time per evaluation, 1 thread (the whole run): %.3f us (min %.3f, max %.3f)\n",
           f.cpu_us.med, f.cpu_us.min, f.cpu_us.max);
    printf("  share of a 1-thread run inside the interpreter: %.2f%%  goal >= 50%%\n",
           f.interp_share * 100);
    printf("  best error %.4g; population hash %016" PRIx64 ", the same in every run: %s\n", f.best,
           f.hash, f.same_hash ? "yes" : "NO");
    if (f.deap) {
        printf("  DEAP: %" PRIu64 " evaluations a run, %.0f evals/s in evaluate() alone, best "
               "err %.4g\n",
               f.deap_evals, f.deap_eval_rate, f.deap_best);
        printf("  frugal %d threads / DEAP, whole run: %.1fx (min %.1f, max %.1f)  goal >= 100x\n",
               f.threads, f.vs_deap.med, f.vs_deap.min, f.vs_deap.max);
        printf("  frugal 1 thread / DEAP, whole run:  %.1fx (min %.1f, max %.1f)\n", f.vs_deap1.med,
               f.vs_deap1.min, f.vs_deap1.max);
    }
    return f.same_hash ? 0 : 1;
}
