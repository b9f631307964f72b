/* Interleaved rounds, medians (bench_time.h). */
#include "experiments/bench/bench_time.h"

#include <omp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

double bench_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

double bench_cpu(bool thread) {
    struct timespec t;
    clock_gettime(thread ? CLOCK_THREAD_CPUTIME_ID : CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

double bench_core_round_trip(void) {
    enum { TRIPS = 20000 };
    const uint64_t stop = UINT64_MAX;
    _Alignas(64) static _Atomic uint64_t flag;
    double secs = -1;
    uint64_t done = 0;
    atomic_store(&flag, 0);
#pragma omp parallel num_threads(2)
    if (omp_get_num_threads() == 2 && omp_get_thread_num() == 0) {
        /* thread 0 sets 2i + 1 and waits for thread 1's 2i + 2, for at
         * most a second (two threads sharing one core would take minutes) */
        double t0 = bench_now();
        for (uint64_t i = 0; i < TRIPS; i++) {
            atomic_store_explicit(&flag, 2 * i + 1, memory_order_release);
            for (unsigned spin = 1; atomic_load_explicit(&flag, memory_order_acquire) != 2 * i + 2;
                 spin++)
                if (spin % 1024 == 0 && bench_now() - t0 > 1) goto out;
            done++;
        }
    out:
        secs = bench_now() - t0;
        atomic_store(&flag, stop);
    } else if (omp_get_num_threads() == 2) {
        for (uint64_t i = 0;; i++) {
            uint64_t v;
            while ((v = atomic_load_explicit(&flag, memory_order_acquire)) != 2 * i + 1 &&
                   v != stop)
                ;
            if (v == stop || !atomic_compare_exchange_strong(&flag, &v, 2 * i + 2)) break;
        }
    }
    return done ? secs / (double)done * 1e9 : -1;
}

int bench_rounds(bench_fn fn, void *ctx, int n, int rounds, double *samples) {
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < n; k++)
            if ((samples[r * n + k] = fn(ctx, k)) < 0) return -1;
    return 0;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Median, min, max of v[0..m-1] (sorted in place). */
static bench_stat stat_of(double *v, int m) {
    qsort(v, (size_t)m, sizeof *v, cmp_double);
    double med = m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
    return (bench_stat){med, v[0], v[m - 1]};
}

enum { MAX_ROUNDS = 1000 };

bench_stat bench_stat_of(const double *samples, int n, int rounds, int k) {
    double v[MAX_ROUNDS];
    int m = rounds < MAX_ROUNDS ? rounds : MAX_ROUNDS;
    for (int r = 0; r < m; r++)
        v[r] = samples[r * n + k];
    return stat_of(v, m);
}

bench_stat bench_ratio(const double *samples, int n, int rounds, int a, int b) {
    double v[MAX_ROUNDS];
    int m = rounds < MAX_ROUNDS ? rounds : MAX_ROUNDS;
    for (int r = 0; r < m; r++)
        v[r] = samples[r * n + a] / samples[r * n + b];
    return stat_of(v, m);
}
