/* Internal to experiments/bench/: timing that holds still on a shared
 * machine. The configurations being compared run interleaved (round r runs
 * each of them once, in turn), so a change of load hits all of them alike;
 * each figure is the median over the rounds, with its min and max. */
#ifndef FRUGAL_BENCH_TIME_H
#define FRUGAL_BENCH_TIME_H

#include <stdbool.h>
#include <stddef.h>

/* At least this many rounds wherever a figure is compared (issue 21). */
#define BENCH_MIN_ROUNDS 11

typedef struct {
    double med, min, max;
} bench_stat;

/* One measurement of configuration k (0..n-1): a value (usually seconds)
 * >= 0, or < 0 on failure. */
typedef double (*bench_fn)(void *ctx, int k);

double bench_now(void); /* monotonic wall clock, seconds */
/* CPU seconds of this thread (thread: true) or of the whole process: a busy
 * machine's other work does not count. */
double bench_cpu(bool thread);

/* Nanoseconds for a cache line to go from one thread's core to another's
 * and back (two OpenMP threads passing a flag 20,000 times), or -1 without
 * two threads. On a virtual machine it moves with where the host puts the
 * virtual CPUs, and a parallel run's efficiency moves with it. */
double bench_core_round_trip(void);

/* rounds x n measurements, interleaved: samples[r * n + k] for round r,
 * configuration k (samples: room for rounds * n). 0, or -1 as soon as one
 * measurement fails. */
int bench_rounds(bench_fn fn, void *ctx, int n, int rounds, double *samples);

/* Median, min and max of configuration k's samples. */
bench_stat bench_stat_of(const double *samples, int n, int rounds, int k);

/* The same over the per-round ratios samples[a] / samples[b]: each ratio is
 * taken within one round, so load that changes between rounds cancels. */
bench_stat bench_ratio(const double *samples, int n, int rounds, int a, int b);

#endif
