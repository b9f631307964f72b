/* Store overhead on the quartic at population 1000 (not part of the suite).
 * Build by hand:
 *   cc -std=gnu11 -O2 -flto=auto -fopenmp -I. $(pkg-config --cflags hdf5) \
 *      tests/store/bench_store.c $(ls build/vm/[a-z]*.o build/vm/evm/[a-z]*.o \
 *      build/evolve/[a-z]*.o build/store/[a-z]*.o build/fitness/[a-z]*.o) -o build/bench_store \
 *      $(pkg-config --libs hdf5 libdeflate jansson zlib) -lhdf5_hl -lm
 *   build/bench_store [threads] [per_case] [generations] [reps] [population]
 * Runs the same run with no store, with appends between the steps and with
 * overlapped appends (st_job), alternated, and prints per way the best
 * total time of reps runs (CPU time; WALL=1: wall-clock), the extra time the
 * store costs, the time in evo_run_step and st_append of the second
 * way and their ratio, and the compressed bytes per individual. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "store/store.h"

static double now(void) {
    struct timespec t;
    clock_gettime(getenv("WALL") ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double phase[8], last;
static void hook(int point, uint64_t g) {
    double t = now();
    if (point > 0) phase[point] += t - last;
    last = t;
    (void)g;
}

int main(int argc, char **argv) {
    st_test_hook = hook;
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int per_case = argc > 2 ? atoi(argv[2]) : 0;
    int gens = argc > 3 ? atoi(argv[3]) : 50;
    int reps = argc > 4 ? atoi(argv[4]) : 5;
    omp_set_num_threads(threads);
    fit_task t;
    evo_isa isa;
    const char *task = getenv("TASK"); /* e.g. TASK=median LEXICASE=1 (the demo) */
    if (task) {
        evo_rng rr;
        evo_rng_stream(&rr, 1, EVO_STREAM_TASK, 0, 0);
        fit_rng fr;
        evo_fit_rng(&fr, &rr);
        char e[256];
        if (fit_task_make(task, NULL, &fr, &t, e, sizeof e) < 0) {
            fprintf(stderr, "%s\n", e);
            return 1;
        }
    } else if (evo_task_quartic(&t, 1) < 0) {
        return 1;
    }
    evo_isa_native(&isa);
    evo_params p;
    evo_params_default(&p, &isa, &t);
    if (getenv("LEXICASE")) p.selection = EVO_SEL_LEXICASE;
    p.pop_size = argc > 5 ? (uint32_t)atoi(argv[5]) : 1000;
    p.max_generations = (uint64_t)gens;
    p.target_error = -1;
    const char *path = "/tmp/frugal-bench-store.h5";
    /* three ways, alternated rep by rep: 0 no store (the baseline), 1 appends
     * between the steps, 2 overlapped appends (st_job in the steps) */
    static const char *mode_name[3] = {"no store", "store", "store, overlapped"};
    double best_total[3] = {1e9, 1e9, 1e9}, best_step = 1e9, best_store = 1e9;
    long size = 0;
    for (int rep = 0; rep < reps; rep++)
        for (int mode = 0; mode < 3; mode++) {
            char err[256] = "";
            evo_run *r = evo_run_new(&p, &t, err, sizeof err);
            st_opts o = {.spec_json = "{}",
                         .spec_name = "quartic",
                         .threads = (uint32_t)threads,
                         .per_case = per_case != 0,
                         .force = true};
            st_store *s = r && mode ? st_create(path, &o, r, err, sizeof err) : NULL;
            if (!r || (mode && !s)) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            st_set_commit(s, getenv("COMMIT") ? atof(getenv("COMMIT")) : 1.0, 0);
            st_set_overlap(s, mode == 2);
            double step = 0, store = 0, t_start = now();
            for (;;) {
                double t0 = now();
                int st = evo_run_step_with(r, mode == 2 ? st_job : NULL, s);
                double t1 = now();
                if (st != 0) break;
                step += t1 - t0;
                if (s && st_append(s, r, t1 - t0, err, sizeof err) < 0) {
                    fprintf(stderr, "%s\n", err);
                    return 1;
                }
                store += now() - t1;
            }
            double tc = now();
            if (s && st_flush(s, r, err, sizeof err) < 0) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            store += now() - tc;
            double total = now() - t_start;
            uint64_t n = evo_run_generation(r) + 1;
            st_close(s, r, err, sizeof err);
            evo_run_free(r);
            if (total < best_total[mode]) best_total[mode] = total;
            if (mode == 1 && step < best_step) best_step = step;
            if (mode == 1 && store < best_store) best_store = store;
            struct stat sb;
            if (mode && stat(path, &sb) == 0) size = (long)sb.st_size;
            printf("rep %d %-17s: %llu generations, total %.1f ms (steps %.1f, appends %.1f)", rep,
                   mode_name[mode], (unsigned long long)n, 1e3 * total, 1e3 * step, 1e3 * store);
            if (mode) printf(", %.1f bytes/individual", (double)size / (double)(n * p.pop_size));
            printf("\n");
        }
    for (int i = 1; i < 7; i++)
        printf("  phase %d: %.1f ms\n", i, 1e3 * phase[i] / (2 * reps));
    printf("threads %d per_case %d: best step %.1f ms, best store %.1f ms, best ratio %.1f%%\n",
           threads, per_case, 1e3 * best_step, 1e3 * best_store, 100 * best_store / best_step);
    for (int m = 1; m < 3; m++)
        printf("best total, %s: %.1f ms against %.1f ms with no store: +%.1f%%\n", mode_name[m],
               1e3 * best_total[m], 1e3 * best_total[0],
               100 * (best_total[m] - best_total[0]) / best_total[0]);
    fit_task_free(&t);
    return 0;
}
