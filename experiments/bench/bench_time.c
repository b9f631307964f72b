/* Interleaved rounds, medians (bench_time.h). */
#include "experiments/bench/bench_time.h"

#include <stdlib.h>
#include <time.h>

double bench_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
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
