/* PCG32 (base/base.h, as evo_rng): the reference vector, unbiased bounded draws
 * (chi-square with fixed seeds), full-range int64 draws, and stream
 * derivation, pinned by a known-answer vector. */
#include <criterion/criterion.h>
#include <math.h>

#include "evolve/evolve.h"

/* Chi-square critical value at p ~ 1e-4 (z = 3.719), Wilson-Hilferty. */
static double rng_chi2_crit(double df) {
    double k = 2.0 / (9.0 * df);
    return df * pow(1.0 - k + 3.719 * sqrt(k), 3.0);
}

static double rng_chi2(const uint64_t *count, size_t nbins, uint64_t n) {
    double expect = (double)n / (double)nbins, chi = 0;
    for (size_t i = 0; i < nbins; i++)
        chi += ((double)count[i] - expect) * ((double)count[i] - expect) / expect;
    return chi;
}

/* Steps from a to b along one PCG sequence (up to limit), or -1. */
static long rng_steps(evo_rng a, const evo_rng *b, long limit) {
    for (long k = 0; k <= limit; k++, evo_rng_next(&a))
        if (a.state == b->state) return k;
    return -1;
}

Test(rng, reference_vector) {
    static const uint32_t want[] = {0xa15c02b7, 0x7b47f409, 0xba1d3330,
                                    0x83d2f293, 0xbfa4784b, 0xcbed606e};
    evo_rng r;
    evo_rng_seed(&r, 42, 54);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert_eq(evo_rng_next(&r), want[i], "draw %zu", i);
}

Test(rng, next64_is_high_then_low) {
    evo_rng r, s;
    evo_rng_seed(&r, 1, 2);
    s = r;
    for (int i = 0; i < 100; i++) {
        uint64_t hi = evo_rng_next(&s), lo = evo_rng_next(&s);
        cr_assert_eq(evo_rng_next64(&r), (hi << 32) | lo);
    }
}

Test(rng, below_edges) {
    evo_rng r, s;
    evo_rng_seed(&r, 3, 4);
    s = r;
    cr_assert_eq(evo_rng_below(&r, 0), 0);
    cr_assert_eq(r.state, s.state, "bound 0 does not step");
    static const uint32_t bounds[] = {
        1, 2, 3, 7, 1000, 1u << 31, (1u << 31) + 1, 3u << 30, UINT32_MAX - 1, UINT32_MAX};
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++)
        for (int j = 0; j < 20000; j++) {
            uint32_t v = evo_rng_below(&r, bounds[i]);
            cr_assert_lt(v, bounds[i], "below(%u) gave %u", bounds[i], v);
        }
}

Test(rng, below_uniform_small) {
    evo_rng r;
    evo_rng_seed(&r, 2024, 7);
    uint64_t c7[7] = {0}, n7 = 700000;
    for (uint64_t i = 0; i < n7; i++)
        c7[evo_rng_below(&r, 7)]++;
    double chi = rng_chi2(c7, 7, n7);
    cr_log_info("below(7): chi2 %.1f (critical %.1f)", chi, rng_chi2_crit(6));
    cr_assert_lt(chi, rng_chi2_crit(6));

    static uint64_t c1000[1000];
    uint64_t n1000 = 1000000;
    for (uint64_t i = 0; i < n1000; i++)
        c1000[evo_rng_below(&r, 1000)]++;
    chi = rng_chi2(c1000, 1000, n1000);
    cr_log_info("below(1000): chi2 %.1f (critical %.1f)", chi, rng_chi2_crit(999));
    cr_assert_lt(chi, rng_chi2_crit(999));
}

/* bound = 3 * 2^30 rejects a quarter of all draws (2^32 mod bound = 2^30);
 * without rejection the values below 2^30 would be twice as likely. Bin into
 * 192 equal bins of 2^24 values. */
Test(rng, below_uniform_rejecting) {
    const uint32_t bound = 3u << 30;
    const uint64_t n = 960000;
    uint64_t good[192] = {0}, naive[192] = {0};
    evo_rng r, start;
    evo_rng_seed(&r, 99, 1);
    start = r;
    for (uint64_t i = 0; i < n; i++)
        good[evo_rng_below(&r, bound) >> 24]++;
    double chi = rng_chi2(good, 192, n), crit = rng_chi2_crit(191);
    cr_log_info("below(3*2^30): chi2 %.1f (critical %.1f)", chi, crit);
    cr_assert_lt(chi, crit);

    /* The rejection really happens: about n * 4/3 steps were taken. */
    long steps = rng_steps(start, &r, 2 * (long)n);
    double expect = (double)n * 4.0 / 3.0, sd = sqrt((double)n * 0.25 / (0.75 * 0.75));
    cr_log_info("below(3*2^30): %ld steps for %llu draws", steps, (unsigned long long)n);
    cr_assert(fabs((double)steps - expect) < 6 * sd, "%ld steps", steps);

    /* The test has the power to see the bias of plain modulo. */
    evo_rng q = start;
    for (uint64_t i = 0; i < n; i++)
        naive[(evo_rng_next(&q) % bound) >> 24]++;
    cr_assert_gt(rng_chi2(naive, 192, n), 100 * crit);
}

Test(rng, range_extremes) {
    evo_rng r, s;
    evo_rng_seed(&r, 5, 6);
    s = r;
    cr_assert_eq(evo_rng_range(&r, 17, 17), 17);
    cr_assert_eq(evo_rng_range(&r, INT64_MIN, INT64_MIN), INT64_MIN);
    cr_assert_eq(evo_rng_range(&r, INT64_MAX, INT64_MAX), INT64_MAX);
    cr_assert_eq(evo_rng_range(&r, 5, -5), 5, "lo > hi returns lo");
    cr_assert_eq(evo_rng_range(&r, INT64_MAX, INT64_MIN), INT64_MAX);
    cr_assert_eq(r.state, s.state, "empty or single-value ranges do not step");

    /* The full range is one next64, reinterpreted. */
    for (int i = 0; i < 100; i++)
        cr_assert_eq(evo_rng_range(&r, INT64_MIN, INT64_MAX),
                     (int64_t)((uint64_t)INT64_MIN + evo_rng_next64(&s)));

    struct {
        int64_t lo, hi;
    } cases[] = {
        {INT64_MIN, INT64_MAX},
        {INT64_MIN, INT64_MAX - 1},
        {INT64_MIN + 1, INT64_MAX},
        {INT64_MIN, INT64_MIN + 1},
        {INT64_MAX - 2, INT64_MAX},
        {INT64_MIN, 0},
        {-1, 0},
        {0, (int64_t)1 << 33},
        {-3, 3},
        {0, UINT32_MAX},
        {0, UINT32_MAX - 1},
        {-((int64_t)1 << 62), (int64_t)1 << 62},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t lo = cases[i].lo, hi = cases[i].hi;
        bool saw_lo = false, saw_hi = false, small = (uint64_t)hi - (uint64_t)lo < 8;
        int64_t min = INT64_MAX, max = INT64_MIN;
        for (int j = 0; j < 20000; j++) {
            int64_t v = evo_rng_range(&r, lo, hi);
            cr_assert(v >= lo && v <= hi, "range(%lld, %lld) gave %lld", (long long)lo,
                      (long long)hi, (long long)v);
            saw_lo |= v == lo, saw_hi |= v == hi;
            min = v < min ? v : min, max = v > max ? v : max;
        }
        if (small) cr_assert(saw_lo && saw_hi, "case %zu reaches both ends", i);
        /* wide ranges: the draws spread over nearly all of it */
        double width = (double)((uint64_t)hi - (uint64_t)lo);
        cr_assert((double)((uint64_t)max - (uint64_t)min) > 0.99 * width, "case %zu spread", i);
    }
}

/* A 2^33-wide range uses 64-bit draws with rejection: check its top bits. */
Test(rng, range_uniform_wide) {
    evo_rng r;
    evo_rng_seed(&r, 77, 78);
    const int64_t lo = -((int64_t)3 << 32), hi = ((int64_t)3 << 32) - 1; /* 6 * 2^32 values */
    uint64_t c[96] = {0}, n = 480000;
    for (uint64_t i = 0; i < n; i++)
        c[((uint64_t)evo_rng_range(&r, lo, hi) - (uint64_t)lo) >> 28]++;
    double chi = rng_chi2(c, 96, n);
    cr_log_info("range(-3*2^32, 3*2^32-1): chi2 %.1f (critical %.1f)", chi, rng_chi2_crit(95));
    cr_assert_lt(chi, rng_chi2_crit(95));
}

Test(rng, unit_interval) {
    evo_rng r;
    evo_rng_seed(&r, 8, 9);
    double sum = 0;
    uint64_t c[10] = {0}, n = 200000;
    for (uint64_t i = 0; i < n; i++) {
        double u = evo_rng_unit(&r);
        cr_assert(u >= 0.0 && u < 1.0);
        sum += u;
        c[(int)(u * 10)]++;
    }
    cr_assert(fabs(sum / (double)n - 0.5) < 0.005);
    cr_assert_lt(rng_chi2(c, 10, n), rng_chi2_crit(9));
}

Test(rng, stream_identical_tuples_match) {
    evo_rng a, b;
    evo_rng_stream(&a, 123, 4, 5, 6);
    evo_rng_stream(&b, 123, 4, 5, 6);
    cr_assert_eq(a.state, b.state);
    cr_assert_eq(a.inc, b.inc);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(evo_rng_next(&a), evo_rng_next(&b));
}

/* A stream's known answer (its outputs are part of every result), and the
 * same stream made in two steps (a generation's slots share the prefix). */
Test(rng, stream_known_answer_and_two_steps) {
    evo_rng r;
    evo_rng_stream(&r, 1, 2, 3, 4);
    cr_assert_eq(r.state, 0xd4be836fe3ade655ull);
    cr_assert_eq(r.inc, 0x6ada11cb26acf1bfull);
    cr_assert_eq(evo_rng_next(&r), 0xf5b20225u);
    uint64_t s = 99;
    for (int i = 0; i < 2000; i++) {
        uint64_t w[4];
        for (int k = 0; k < 4; k++) /* small words too: slots, islands, generations */
            w[k] = i % 3 ? base_splitmix64(&s) : base_splitmix64(&s) % 1000;
        evo_rng a, b;
        evo_rng_stream(&a, w[0], w[1], w[2], w[3]);
        evo_rng_stream_at(&b, evo_rng_prefix(w[0], w[1], w[2]), w[3]);
        cr_assert(a.state == b.state && a.inc == b.inc, "tuple %d", i);
    }
}

/* Neighbouring tuples (each word +-1, words swapped, zeros) give distinct
 * states, increments and first outputs, and unrelated bits. */
Test(rng, stream_neighbours_differ) {
    static const uint64_t t[][4] = {
        {0, 0, 0, 0},          {1, 0, 0, 0}, {0, 1, 0, 0},          {0, 0, 1, 0},
        {0, 0, 0, 1},          {7, 1, 2, 3}, {8, 1, 2, 3},          {6, 1, 2, 3},
        {7, 2, 2, 3},          {7, 1, 3, 3}, {7, 1, 2, 4},          {7, 2, 1, 3},
        {7, 1, 3, 2},          {1, 7, 2, 3}, {UINT64_MAX, 0, 0, 0}, {0, UINT64_MAX, 0, 0},
        {0, 0, 0, UINT64_MAX},
    };
    enum { NT = sizeof t / sizeof t[0] };
    uint64_t first[NT];
    evo_rng r[NT];
    for (int i = 0; i < NT; i++) {
        evo_rng_stream(&r[i], t[i][0], t[i][1], t[i][2], t[i][3]);
        first[i] = evo_rng_next64(&r[i]);
    }
    for (int i = 0; i < NT; i++)
        for (int j = i + 1; j < NT; j++) {
            cr_assert_neq(r[i].state, r[j].state, "tuples %d and %d", i, j);
            cr_assert_neq(r[i].inc, r[j].inc, "tuples %d and %d", i, j);
            cr_assert_neq(first[i], first[j], "tuples %d and %d", i, j);
        }
    /* Consecutive individuals' streams: their outputs agree on about half of
     * the bits, as for independent draws (sd of the fraction ~ 0.0003). */
    uint64_t same = 0, bits = 0;
    for (uint64_t k = 0; k < 1000; k++) {
        evo_rng a, b;
        evo_rng_stream(&a, 1, 10, k, 0);
        evo_rng_stream(&b, 1, 10, k + 1, 0);
        for (int i = 0; i < 40; i++, bits += 32)
            same += (uint64_t)(32 - __builtin_popcount(evo_rng_next(&a) ^ evo_rng_next(&b)));
    }
    double frac = (double)same / (double)bits;
    cr_assert(fabs(frac - 0.5) < 0.002, "agreement %.4f", frac);
}

/* Results depend on the derivation: any change to it must fail here. */
Test(rng, stream_known_answer) {
    evo_rng r;
    evo_rng_stream(&r, 42, 1, 2, 3);
    cr_assert_eq(r.state, 0x2a272e37442a0c72ull, "state 0x%016llx", (unsigned long long)r.state);
    cr_assert_eq(r.inc, 0x893deb1fcc5a5517ull, "inc 0x%016llx", (unsigned long long)r.inc);
    static const uint32_t want[] = {0x8a2724be, 0x2108ba9f, 0x218488fb, 0x85ac1d14};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        uint32_t v = evo_rng_next(&r);
        cr_assert_eq(v, want[i], "draw %zu: 0x%08x", i, v);
    }
    evo_rng_stream(&r, 0, 0, 0, 0);
    uint32_t z0 = evo_rng_next(&r), z1 = evo_rng_next(&r);
    cr_assert(z0 == 0xa23ac078 && z1 == 0x38f95079, "zero tuple: 0x%08x 0x%08x", z0, z1);
}
