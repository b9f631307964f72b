/* PCG32 random numbers and stream derivation (docs/rng.md). The outputs are
 * part of every result's reproducibility: never change them. */
#include "evolve/evolve.h"

#define PCG_MULT 6364136223846793005ull
#define GOLDEN   0x9e3779b97f4a7c15ull /* 2^64 / golden ratio, splitmix64's step */
#define STREAM_IV                                                                                  \
    0x6a09e667f3bcc908ull /* frac(sqrt 2) * 2^64: an arbitrary, fixed starting value */

uint32_t evo_rng_next(evo_rng *r) {
    uint64_t old = r->state;
    r->state = old * PCG_MULT + r->inc;
    uint32_t x = (uint32_t)(((old >> 18) ^ old) >> 27);
    unsigned rot = (unsigned)(old >> 59);
    return (x >> rot) | (x << ((0u - rot) & 31));
}

void evo_rng_seed(evo_rng *r, uint64_t initstate, uint64_t initseq) {
    r->state = 0;
    r->inc = (initseq << 1) | 1;
    evo_rng_next(r);
    r->state += initstate;
    evo_rng_next(r);
}

/* The splitmix64 finalizer: a bijection on 64 bits with full avalanche. */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* h = IV; for w in (seed, a, b, c): h = mix64(h ^ w) + GOLDEN. Then
 * initstate = mix64(h + GOLDEN) and initseq = mix64(h + 2*GOLDEN), the next
 * two splitmix64 outputs from h. Each step is a bijection in w, so tuples that
 * differ only in their last word never collide; other distinct tuples collide
 * with probability about 2^-64. */
void evo_rng_stream(evo_rng *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
    const uint64_t w[4] = {seed, a, b, c};
    uint64_t h = STREAM_IV;
    for (int i = 0; i < 4; i++)
        h = mix64(h ^ w[i]) + GOLDEN;
    evo_rng_seed(r, mix64(h + GOLDEN), mix64(h + 2 * GOLDEN));
}

/* Lemire (2019): the high half of x * bound is uniform once the low half
 * avoids the 2^32 mod bound values that would bias it. */
uint32_t evo_rng_below(evo_rng *r, uint32_t bound) {
    if (bound == 0) return 0;
    uint64_t m = (uint64_t)evo_rng_next(r) * bound;
    if ((uint32_t)m < bound) {
        uint32_t t = (0u - bound) % bound; /* 2^32 mod bound */
        while ((uint32_t)m < t)
            m = (uint64_t)evo_rng_next(r) * bound;
    }
    return (uint32_t)(m >> 32);
}

uint64_t evo_rng_next64(evo_rng *r) {
    uint64_t hi = evo_rng_next(r);
    return (hi << 32) | evo_rng_next(r);
}

/* The same method on 64-bit draws, for 2^32 <= bound < 2^64. */
static uint64_t below64(evo_rng *r, uint64_t bound) {
    unsigned __int128 m = (unsigned __int128)evo_rng_next64(r) * bound;
    if ((uint64_t)m < bound) {
        uint64_t t = (0 - bound) % bound; /* 2^64 mod bound */
        while ((uint64_t)m < t)
            m = (unsigned __int128)evo_rng_next64(r) * bound;
    }
    return (uint64_t)(m >> 64);
}

int64_t evo_rng_range(evo_rng *r, int64_t lo, int64_t hi) {
    if (lo >= hi) return lo;
    uint64_t span = (uint64_t)hi - (uint64_t)lo; /* hi - lo, without overflow */
    uint64_t off;
    if (span < UINT32_MAX)
        off = evo_rng_below(r, (uint32_t)span + 1);
    else if (span == UINT64_MAX)
        off = evo_rng_next64(r);
    else
        off = below64(r, span + 1);
    return (int64_t)((uint64_t)lo + off); /* wraps into [lo, hi] */
}

double evo_rng_unit(evo_rng *r) {
    return (double)(evo_rng_next64(r) >> 11) * 0x1.0p-53;
}
