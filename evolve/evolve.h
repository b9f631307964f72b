/* frugal's GP engine: the public API of the evolve module (prefix evo_).
 *
 * Sections are delimited by "==== name ====" banners; add new ones below the
 * existing ones.
 */
#ifndef FRUGAL_EVOLVE_H
#define FRUGAL_EVOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ==== random numbers (evolve/rng.c, docs/rng.md) ====
 *
 * PCG32 (XSH RR 64/32, O'Neill 2014). Every draw in the engine comes from an
 * evo_rng, so a run is a pure function of its seeds. The exact sequences are
 * part of the results' reproducibility: the algorithms below (including how
 * bounded draws reject, and how streams are derived) must never change.
 */

typedef struct {
    uint64_t state, inc; /* inc is odd */
} evo_rng;

/* The standard PCG32 seeding: state = 0, inc = (initseq << 1) | 1, step,
 * state += initstate, step. */
void evo_rng_seed(evo_rng *r, uint64_t initstate, uint64_t initseq);

/* Seed an independent stream derived from (seed, a, b, c) by a fixed hash
 * (docs/rng.md), e.g. (run seed, generation, individual, purpose). */
void evo_rng_stream(evo_rng *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c);

/* The next 32-bit output (one step). */
uint32_t evo_rng_next(evo_rng *r);

/* Uniform in [0, bound), unbiased: Lemire's multiply-shift with rejection.
 * Usually one step, more only when a draw is rejected. bound == 0 returns 0
 * without stepping. */
uint32_t evo_rng_below(evo_rng *r, uint32_t bound);

/* 64 bits from two steps: the first output is the high half, the second the
 * low half. */
uint64_t evo_rng_next64(evo_rng *r);

/* Uniform in [lo, hi] inclusive, unbiased, for any int64 bounds. Spans that
 * fit 32 bits use evo_rng_below; wider ones use 64-bit draws with rejection;
 * the full int64 range is one evo_rng_next64. lo >= hi returns lo without
 * stepping. */
int64_t evo_rng_range(evo_rng *r, int64_t lo, int64_t hi);

/* Uniform in [0, 1) with 53 random bits (the top of evo_rng_next64). For host
 * side use only: nothing the VM computes may depend on floating point. */
double evo_rng_unit(evo_rng *r);

/* ==== end of random numbers ==== */

#endif
