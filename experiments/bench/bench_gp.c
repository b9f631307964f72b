/* frugal bench gp: the GP engine on Koza's quartic, with 1 and 2 threads,
 * against DEAP (python3-deap) on the same 20 cases in the same run.
 * Rates are whole-run rates: evaluations made divided by the wall time of the
 * run, variation and selection included, for both systems. */
#include "evolve/evolve.h"
#include "experiments/cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double bench_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static const char gp_usage[] =
    "usage: frugal bench gp [--pop N] [--gens N] [--reps N] [--seed N] [--threads N]\n"
    "                       [--no-deap]\n"
    "Koza-1 quartic with frugal's GP engine on 1 thread and on N threads (default 2),\n"
    "then DEAP (/usr/bin/python3, python3-deap) on the same 20 cases. Prints\n"
    "evaluations/s, gas/s, the parallel efficiency and the ratio to DEAP.\n"
    "  --pop N      population (default 1000)\n"
    "  --gens N     generations after the initial one (default 20)\n"
    "  --reps N     repetitions of each frugal run; the fastest counts (default 20;\n"
    "               DEAP runs min(N, 3) times)\n"
    "  --seed N     run seed (default 1)\n"
    "  --threads N  the parallel run's threads (default 2)\n"
    "  --no-deap    skip DEAP\n";

typedef struct {
    double secs;
    uint64_t evals, gas, hash, insns;
    double best;
} gp_result;

/* One run; count: also count its VM instructions (slower: untimed runs). */
static int run_once(const fit_task *t, const evo_isa *isa, uint64_t seed, uint32_t pop,
                    uint64_t gens, int threads, bool count, gp_result *out) {
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
    if (count && evo_run_count_insns(r, true)) {
        evo_run_free(r);
        return -1;
    }
    double t0 = bench_now();
    int rc = evo_run_until_done(r);
    out->secs = bench_now() - t0;
    out->insns = evo_run_insns(r);
    out->evals = evo_run_evaluations(r);
    out->gas = evo_run_gas_total(r);
    out->hash = evo_run_hash(r);
    evo_stats s;
    evo_run_stats(r, &s);
    out->best = s.best_error;
    evo_run_free(r);
    return rc;
}

/* Run DEAP on the task's inputs; returns 0 and fills the figures, or -1. */
static int run_deap(const fit_task *t, uint32_t pop, uint64_t gens, uint64_t seed, uint64_t *evals,
                    double *secs, double *eval_secs, double *best) {
    char script[PATH_MAX];
    if (exp_find_file("experiments/bench/deap_quartic.py", script, sizeof script)) {
        fprintf(stderr, "frugal bench gp: experiments/bench/deap_quartic.py not found\n");
        return -1;
    }
    char xs[] = "/tmp/frugal-quartic-XXXXXX";
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
    fclose(f);
    char cmd[2 * PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' %u %" PRIu64 " %" PRIu64 " < '%s'", script,
             pop, gens, seed, xs);
    FILE *p = popen(cmd, "r");
    int rc = -1;
    if (p) {
        if (fscanf(p, "%" SCNu64 " %lf %lf %lf", evals, secs, eval_secs, best) == 4) rc = 0;
        if (pclose(p) != 0) rc = -1;
    }
    unlink(xs);
    if (rc) fprintf(stderr, "frugal bench gp: DEAP did not run (is python3-deap installed?)\n");
    return rc;
}

int evo_bench(int argc, char **argv) {
    uint64_t pop = 1000, gens = 20, reps = 20, seed = 1, threads = 2;
    bool deap = true;
    static const struct option opts[] = {
        {"pop", required_argument, 0, 'p'},     {"gens", required_argument, 0, 'g'},
        {"reps", required_argument, 0, 'r'},    {"seed", required_argument, 0, 's'},
        {"threads", required_argument, 0, 't'}, {"no-deap", no_argument, 0, 'n'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        uint64_t v = 0;
        if (optarg) v = strtoull(optarg, &end, 10);
        if (optarg && (!*optarg || *end)) {
            fprintf(stderr, "frugal bench gp: --%s needs a number, got '%s'\n",
                    opts[c == 'p'   ? 0
                         : c == 'g' ? 1
                         : c == 'r' ? 2
                         : c == 's' ? 3
                                    : 4]
                        .name,
                    optarg);
            return 2;
        }
        switch (c) {
        case 'p': pop = v; break;
        case 'g': gens = v; break;
        case 'r': reps = v; break;
        case 's': seed = v; break;
        case 't': threads = v; break;
        case 'n': deap = false; break;
        case 'h': fputs(gp_usage, stdout); return 0;
        default: fputs(gp_usage, stderr); return 2;
        }
    }
    if (pop < 2 || pop > 1000000 || gens < 1 || gens > 100000 || reps < 1 || reps > 100 ||
        threads < 1 || threads > 1024) {
        fprintf(stderr, "frugal bench gp: --pop 2..1e6, --gens 1..1e5, --reps 1..100, "
                        "--threads 1..1024\n");
        return 2;
    }
    fit_task t;
    if (evo_task_quartic(&t, seed)) {
        fprintf(stderr, "frugal bench gp: out of memory\n");
        return 1;
    }
    evo_isa isa;
    evo_isa_native(&isa);
    printf("frugal bench gp: Koza-1 quartic, population %" PRIu64 ", %" PRIu64
           " generations, seed %" PRIu64 ", best of %" PRIu64 "\n",
           pop, gens, seed, reps);
    printf("%-8s %9s %12s %12s %10s %10s %10s %10s  %s\n", "threads", "seconds", "evaluations",
           "evals/s", "Minsn/s", "Mgas/s", "efficiency", "best err", "population hash");
    const int tc[2] = {1, (int)threads};
    gp_result best[2], warm;
    /* one untimed run first (pages, caches, the OpenMP pool), which also
     * counts the VM instructions (the runs are identical), then the thread
     * counts alternate so that both see the same machine */
    int rc = run_once(&t, &isa, seed, (uint32_t)pop, gens, tc[1], true, &warm);
    for (uint64_t i = 0; i < reps && !rc; i++)
        for (int k = 0; k < 2 && !rc; k++) {
            gp_result g;
            rc = run_once(&t, &isa, seed, (uint32_t)pop, gens, tc[k], false, &g);
            if (!rc && (i == 0 || g.secs < best[k].secs)) best[k] = g;
        }
    for (int k = 0; k < 2 && !rc; k++) {
        double rate = (double)best[k].evals / best[k].secs;
        double eff = k == 0 ? 1.0 : rate / ((double)best[0].evals / best[0].secs) / tc[k];
        printf("%-8d %9.4f %12" PRIu64 " %12.0f %10.1f %10.1f %9.1f%% %10.4g  %016" PRIx64 "\n",
               tc[k], best[k].secs, best[k].evals, rate, (double)warm.insns / best[k].secs / 1e6,
               (double)best[k].gas / best[k].secs / 1e6, eff * 100, best[k].best, best[k].hash);
    }
    if (!rc)
        printf("per evaluation (20 cases): %.1f VM instructions, %.1f gas (instructions weighted "
               "by cost); instructions counted in an untimed identical run (hash %s)\n",
               (double)warm.insns / (double)warm.evals, (double)best[0].gas / (double)best[0].evals,
               warm.hash == best[0].hash ? "equal" : "DIFFERS");
    if (rc) {
        fit_task_free(&t);
        return 1;
    }
    double r1 = (double)best[0].evals / best[0].secs, rn = (double)best[1].evals / best[1].secs;
    printf("identical results for 1 and %d threads: %s\n", tc[1],
           best[0].hash == best[1].hash ? "yes" : "NO");
    printf("parallel efficiency at %d threads: %.1f%% (target >= 90%%)\n", tc[1],
           rn / r1 / tc[1] * 100);
    if (deap) {
        uint64_t de = 0;
        double ds = 0, des = 0, db = 0, bs = 1e30;
        for (uint64_t i = 0; i < (reps < 3 ? reps : 3) && !rc; i++) {
            uint64_t e;
            double s, es, b;
            rc = run_deap(&t, (uint32_t)pop, gens, seed + i, &e, &s, &es, &b);
            if (!rc && s < bs) bs = s, de = e, ds = s, des = es, db = b;
        }
        if (!rc) {
            double dr = (double)de / ds;
            printf("DEAP (tree GP, %" PRIu64 " evaluations): %.3f s, %.0f evals/s whole run, "
                   "%.0f evals/s in evaluate() alone, best err %.4g\n",
                   de, ds, dr, (double)de / des, db);
            printf("ratio, frugal %d threads / DEAP: %.1fx whole run (target >= 50x), %.1fx "
                   "against DEAP's evaluate() alone\n",
                   tc[1], rn / dr, rn / ((double)de / des));
            printf("ratio, frugal 1 thread / DEAP: %.1fx whole run\n", r1 / dr);
        } else {
            rc = 0; /* DEAP missing is not frugal's failure */
        }
    }
    fit_task_free(&t);
    return rc ? 1 : 0;
}
