/* evolve/select.c against small hand-computed populations: tournament pick
 * probabilities, lexicase and epsilon-lexicase winners and epsilons, NSGA-II
 * ranks, crowding distances and survivors, elitism order. */
#include <criterion/criterion.h>
#include <math.h>

#include "evolve/evolve.h"
#include "tests/testutil.h"

static void binom(uint64_t count, uint64_t n, double p, const char *what) {
    double mu = (double)n * p, sd = sqrt((double)n * p * (1 - p));
    cr_assert(fabs((double)count - mu) <= 5 * sd + 1e-9, "%s: %lu of %lu, expected %.1f", what,
              (unsigned long)count, (unsigned long)n, mu);
}

Test(evo_select, tournament_probabilities) {
    /* distinct fitnesses; with k = 2 the individual of rank r (0 = best) of n
     * wins with probability ((n-r)^2 - (n-r-1)^2) / n^2 */
    double fit[5] = {3, 1, 4, 2, 5}; /* ranks: 2 0 3 1 4 */
    const int rank[5] = {2, 0, 3, 1, 4};
    evo_view v = {.n = 5, .fitness = fit};
    uint64_t cnt[5] = {0}, n = 50000;
    evo_rng r;
    evo_rng_seed(&r, 1, 2);
    for (uint64_t i = 0; i < n; i++)
        cnt[evo_select_tournament(&v, 2, EVO_TIE_NONE, &r)]++;
    for (int i = 0; i < 5; i++) {
        double a = 5 - rank[i], b = a - 1;
        binom(cnt[i], n, (a * a - b * b) / 25, "tournament k=2");
    }
    /* k = 1 is the first draw */
    evo_rng s = r;
    cr_assert_eq(evo_select_tournament(&v, 1, EVO_TIE_NONE, &r), evo_rng_below(&s, 5));
}

Test(evo_select, tournament_ties_and_parsimony) {
    double fit[4] = {2, 1, 1, 3};
    uint32_t len[4] = {5, 30, 10, 1};
    uint64_t gas[4] = {0, 7, 9, 0};
    evo_view v = {.n = 4, .fitness = fit, .length = len, .gas = gas};
    evo_rng r;
    evo_rng_seed(&r, 3, 4);
    for (int i = 0; i < 200; i++) /* k large: always a best; shorter wins the tie */
        cr_assert_eq(evo_select_tournament(&v, 64, EVO_TIE_LENGTH, &r), 2);
    for (int i = 0; i < 200; i++) /* lower gas wins */
        cr_assert_eq(evo_select_tournament(&v, 64, EVO_TIE_GAS, &r), 1);
    /* without a tie-break the first drawn of the tied best wins: both occur */
    uint64_t c1 = 0;
    for (int i = 0; i < 2000; i++)
        c1 += evo_select_tournament(&v, 64, EVO_TIE_NONE, &r) == 1;
    binom(c1, 2000, 0.5, "tie: first drawn");
    cr_assert(evo_better(&v, EVO_TIE_LENGTH, 2, 1));
    cr_assert(!evo_better(&v, EVO_TIE_NONE, 2, 1));
    cr_assert(!evo_better(&v, EVO_TIE_NONE, 1, 2));
    uint32_t best[4], scratch[4];
    evo_best_k(&v, EVO_TIE_LENGTH, 4, best, scratch);
    const uint32_t want[4] = {2, 1, 0, 3};
    cr_assert_arr_eq(best, want, sizeof want);
    evo_best_k(&v, EVO_TIE_NONE, 2, best, scratch);
    cr_assert_eq(best[0], 1); /* tie: lower index */
    cr_assert_eq(best[1], 2);
}

/* The tournament and the elites' scan (which asks evo_better before it
 * looks for the candidate among the elites taken) pick exactly what plain
 * evo_better loops pick, with the same draws, on views full of ties, NaNs
 * and infinities. */
Test(evo_select, tournament_and_best_k_equal_plain_loops) {
    static const double vals[] = {0, 1, 1, 2, INFINITY, NAN, -1};
    evo_rng g;
    evo_rng_seed(&g, 17, 3);
    for (int t = 0; t < 400; t++) {
        uint32_t n = 1 + evo_rng_below(&g, 40), len[40];
        double fit[40];
        uint64_t gas[40];
        for (uint32_t i = 0; i < n; i++) {
            fit[i] = vals[evo_rng_below(&g, sizeof vals / sizeof *vals)];
            len[i] = evo_rng_below(&g, 3);
            gas[i] = evo_rng_below(&g, 3);
        }
        evo_view v = {.n = n, .fitness = fit, .length = len, .gas = gas};
        evo_tiebreak tb = (evo_tiebreak)evo_rng_below(&g, 3);
        uint32_t k = 1 + evo_rng_below(&g, 8), got[8], scratch[40], want[8];
        evo_best_k(&v, tb, k, got, scratch);
        for (uint32_t j = 0; j < k && j < n; j++) {
            uint32_t best = UINT32_MAX;
            for (uint32_t i = 0; i < n; i++) {
                bool taken = false;
                for (uint32_t q = 0; q < j; q++)
                    taken |= want[q] == i;
                if (!taken && (best == UINT32_MAX || evo_better(&v, tb, i, best))) best = i;
            }
            want[j] = best;
            cr_assert_eq(got[j], want[j], "view %d, elite %u", t, j);
        }
        uint32_t size = 1 + evo_rng_below(&g, 7);
        evo_rng a = g, b = g;
        uint32_t w = evo_rng_below(&b, n);
        for (uint32_t i = 1; i < size; i++) {
            uint32_t c = evo_rng_below(&b, n);
            if (evo_better(&v, tb, c, w)) w = c;
        }
        cr_assert_eq(evo_select_tournament(&v, size, tb, &a), w, "view %d", t);
        cr_assert_eq(a.state, b.state);
    }
}

/* 5 individuals x 3 cases */
static const double lex_err[15] = {
    0, 5, 5, /* 0: elite on case 0 */
    5, 0, 5, /* 1: elite on case 1 */
    5, 5, 0, /* 2: elite on case 2 */
    1, 1, 1, /* 3: good on all, elite on none */
    0, 5, 5, /* 4: a copy of 0 */
};

Test(evo_select, lexicase_hand_computed) {
    double fit[5] = {10, 10, 10, 3, 10};
    evo_view v = {.n = 5, .ncases = 3, .fitness = fit, .errors = lex_err};
    uint32_t scratch[8];
    uint64_t cnt[5] = {0}, n = 30000;
    evo_rng r;
    evo_rng_seed(&r, 5, 6);
    for (uint64_t i = 0; i < n; i++)
        cnt[evo_select_lexicase(&v, NULL, NULL, &r, scratch)]++;
    /* the first case decides: case 0 -> {0, 4} then tied on all (1/6 each);
     * case 1 -> 1; case 2 -> 2; 3 is never chosen */
    binom(cnt[0], n, 1.0 / 6, "lexicase 0");
    binom(cnt[4], n, 1.0 / 6, "lexicase 4");
    binom(cnt[1], n, 1.0 / 3, "lexicase 1");
    binom(cnt[2], n, 1.0 / 3, "lexicase 2");
    cr_assert_eq(cnt[3], 0);
}

Test(evo_select, epsilon_lexicase_hand_computed) {
    double fit[5] = {10, 10, 10, 3, 10};
    evo_view v = {.n = 5, .ncases = 3, .fitness = fit, .errors = lex_err};
    /* case 0: errors 0 5 5 1 0, median 1, deviations 1 4 4 0 1, MAD 1;
     * cases 1, 2: errors 5 0 5 1 5 (and 5 5 0 1 5), median 5, deviations
     * 0 5 0 4 0, MAD 0 */
    double eps[3];
    uint64_t ks[5];
    evo_lexicase_epsilon(&v, eps, ks);
    cr_assert_eq(eps[0], 1);
    cr_assert_eq(eps[1], 0);
    cr_assert_eq(eps[2], 0);
    uint32_t scratch[8];
    uint64_t cnt[5] = {0}, n = 30000;
    evo_rng r;
    evo_rng_seed(&r, 7, 8);
    for (uint64_t i = 0; i < n; i++)
        cnt[evo_select_lexicase(&v, eps, NULL, &r, scratch)]++;
    /* case 0 first keeps {0, 3, 4} (error <= 0 + 1); the next case leaves 3
     * alone; case 1 or 2 first gives 1 or 2 */
    binom(cnt[1], n, 1.0 / 3, "eps-lexicase 1");
    binom(cnt[2], n, 1.0 / 3, "eps-lexicase 2");
    binom(cnt[3], n, 1.0 / 3, "eps-lexicase 3");
    cr_assert_eq(cnt[0] + cnt[4], 0);
}

/* The median of doubles through their keys. */
static double median_d(const double *x, size_t n) {
    uint64_t k[300];
    for (size_t i = 0; i < n; i++)
        k[i] = evo_key_of_double(x[i]);
    return evo_median_keys(k, n, true);
}

Test(evo_select, median) {
    double a[3] = {3, 1, 2}, b[4] = {4, 1, 3, 2}, c[1] = {7};
    cr_assert_eq(median_d(a, 3), 2);
    cr_assert_eq(median_d(b, 4), 2.5);
    cr_assert_eq(median_d(c, 1), 7);
    uint64_t i[4] = {40, 10, 30, 20}, big[2] = {UINT64_MAX, UINT64_MAX - 1};
    cr_assert_eq(evo_median_keys(i, 4, false), 25);
    cr_assert_eq(evo_median_keys(big, 2, false), (double)UINT64_MAX);
    cr_assert_eq(evo_median_keys(i, 0, false), 0);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Radix selection agrees with sorting on 20,000 seeded arrays: sizes
 * 1..300; integers of 1 to 64 bits, few or many distinct values, sorted and
 * reversed runs; doubles with ties, signed zeros, infinities and NaNs (in
 * the keys' total order). */
Test(evo_select, median_equals_the_sorted_median) {
    uint64_t seed = 7;
    uint64_t k[300], sorted[300];
    for (int t = 0; t < 20000; t++) {
        size_t n = 1 + tu_below(&seed, 300);
        uint32_t kind = tu_below(&seed, 5), bits = 1 + tu_below(&seed, 64);
        uint32_t distinct = 1 + tu_below(&seed, 50);
        for (size_t i = 0; i < n; i++) {
            uint64_t v = tu_next(&seed);
            if (bits < 64) v &= (1ull << bits) - 1;
            if (kind == 1) v = (uint64_t)tu_below(&seed, distinct) << (tu_below(&seed, 2) * 40);
            if (kind == 2) {
                double d = (double)tu_below(&seed, distinct) / 4 - distinct / 8.0;
                uint32_t sp = tu_below(&seed, 20);
                if (sp == 0) d = tu_below(&seed, 2) ? INFINITY : -INFINITY;
                if (sp == 1) d = -0.0;
                if (sp == 2) d = NAN;
                v = evo_key_of_double(d);
            }
            if (kind == 3) v = i;
            if (kind == 4) v = n - i;
            k[i] = sorted[i] = v;
        }
        qsort(sorted, n, sizeof *sorted, cmp_u64);
        uint64_t lo = sorted[n % 2 ? n / 2 : n / 2 - 1], hi = sorted[n / 2];
        bool dbl = kind == 2;
        double want = dbl ? (n % 2 ? evo_double_of_key(hi)
                                   : (evo_double_of_key(lo) + evo_double_of_key(hi)) / 2)
                          : (n % 2 ? (double)hi : ((double)lo + (double)hi) / 2);
        double got = evo_median_keys(k, n, dbl);
        cr_assert(memcmp(&got, &want, 8) == 0 || (isnan(got) && isnan(want)),
                  "n %zu kind %u: %g != %g", n, kind, got, want);
    }
}

/* p0 (1,5) p1 (2,3) p2 (4,1) p3 (3,4) p4 (5,5) p5 (4,4) p6 (3,2) */
static const double nsga_obj[14] = {1, 5, 2, 3, 4, 1, 3, 4, 5, 5, 4, 4, 3, 2};

Test(evo_select, nsga2_ranks_and_crowding) {
    uint32_t rank[7];
    double crowd[7];
    cr_assert_eq(evo_nsga2_sort(nsga_obj, 7, 2, rank, crowd), 4);
    /* front 0: p0 p1 p2 p6; p3 is dominated by p1 and p6; p5 by p3; p4 by p5 */
    const uint32_t want[7] = {0, 0, 0, 1, 3, 2, 0};
    cr_assert_arr_eq(rank, want, sizeof want);
    /* front 0 by f1: p0 1, p1 2, p6 3, p2 4 (range 3); by f2: p2 1, p6 2, p1 3,
     * p0 5 (range 4). p1 = (3-1)/3 + (5-2)/4 = 17/12; p6 = (4-2)/3 + (3-1)/4 =
     * 7/6; the extremes p0, p2 and every one-point front get infinity */
    cr_assert(isinf(crowd[0]) && isinf(crowd[2]));
    cr_assert_float_eq(crowd[1], 17.0 / 12, 1e-12);
    cr_assert_float_eq(crowd[6], 7.0 / 6, 1e-12);
    cr_assert(isinf(crowd[3]) && isinf(crowd[4]) && isinf(crowd[5]));
    uint32_t keep[7];
    cr_assert_eq(evo_nsga2_survivors(rank, crowd, 7, 5, keep), 0);
    const uint32_t wk[5] = {0, 2, 1, 6, 3};
    cr_assert_arr_eq(keep, wk, sizeof wk);
    evo_rng r;
    evo_rng_seed(&r, 9, 9);
    for (int i = 0; i < 100; i++) {
        uint32_t s = evo_select_crowded(rank, crowd, 7, 50, &r);
        cr_assert(s == 0 || s == 2, "the best rank with infinite crowding, got %u", s);
    }
}

Test(evo_select, nsga2_three_objectives_and_equal_points) {
    /* equal points do not dominate each other: one front */
    const double obj[9] = {1, 2, 3, 1, 2, 3, 1, 2, 3};
    uint32_t rank[3];
    double crowd[3];
    cr_assert_eq(evo_nsga2_sort(obj, 3, 3, rank, crowd), 1);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(rank[i], 0);
    /* zero range: the sorted extremes (by index) get infinity, the middle 0 */
    cr_assert(isinf(crowd[0]) && isinf(crowd[2]));
    cr_assert_eq(crowd[1], 0);
}

/* The table made once a generation (evo_lexicase_table: groups of identical
 * rows, every case's first round) changes no pick and no draw: random error
 * tables with many ties and repeated rows, padded rows (a down-sample), with
 * and without epsilon, many selections each. */
Test(evo_select, lexicase_table_changes_nothing) {
    enum { MAXN = 60, MAXC = 30, ROW = MAXC + 3 };
    static double err[MAXN * ROW], eps[MAXC];
    static uint64_t words[(1 + 4 * MAXN + MAXC + 2 + MAXN * MAXC + 2 * MAXN + 1) / 2 + MAXN * MAXC];
    static uint32_t s1[2 * MAXN + MAXC], s2[2 * MAXN + MAXC];
    uint32_t *table = (uint32_t *)(void *)words; /* the table holds doubles: 8-byte aligned */
    cr_assert_leq(evo_lex_table_words(MAXN, MAXC), 2 * sizeof words / sizeof *words);
    uint64_t seed = 11;
    for (int t = 0; t < 400; t++) {
        uint32_t n = 1 + (uint32_t)(base_splitmix64(&seed) % MAXN);
        uint32_t nc = 1 + (uint32_t)(base_splitmix64(&seed) % MAXC);
        bool padded = t & 1;
        for (uint32_t i = 0; i < n * ROW; i++)
            err[i] = (double)(base_splitmix64(&seed) % 4) * 0.5;
        for (uint32_t i = 1; i < n; i++) /* half the rows repeat an earlier one */
            if (base_splitmix64(&seed) % 2)
                memcpy(err + i * ROW, err + (base_splitmix64(&seed) % i) * ROW, nc * sizeof *err);
        for (uint32_t c = 0; c < nc; c++)
            eps[c] = (double)(base_splitmix64(&seed) % 3) * 0.5;
        evo_view v = {.n = n, .ncases = nc, .row = padded ? ROW : 0, .errors = err};
        const double *e = t % 4 < 2 ? NULL : eps;
        evo_lexicase_table(&v, e, table);
        evo_rng a, b;
        evo_rng_seed(&a, (uint64_t)t, 3);
        evo_rng_seed(&b, (uint64_t)t, 3);
        for (int k = 0; k < 50; k++) {
            uint32_t x = evo_select_lexicase(&v, e, NULL, &a, s1);
            uint32_t y = evo_select_lexicase(&v, e, table, &b, s2);
            cr_assert_eq(x, y, "table %d selection %d: %u against %u", t, k, x, y);
        }
        cr_assert_eq(evo_rng_below(&a, 1u << 30), evo_rng_below(&b, 1u << 30), "streams differ");
    }
}

/* evo_better against its definition, written out with branches: lower
 * fitness; on equal or unordered (NaN) fitness the tie-break, lexicographic
 * on (length, gas) or (gas, length); with views with and without lengths
 * and gas. */
static bool better_ref(const evo_view *v, evo_tiebreak tb, uint32_t i, uint32_t j) {
    if (v->fitness[i] < v->fitness[j]) return true;
    if (v->fitness[i] > v->fitness[j]) return false;
    uint64_t li = v->length ? v->length[i] : 0, lj = v->length ? v->length[j] : 0;
    uint64_t gi = v->gas ? v->gas[i] : 0, gj = v->gas ? v->gas[j] : 0;
    if (tb == EVO_TIE_LENGTH) {
        if (li != lj) return li < lj;
        return gi < gj;
    }
    if (tb == EVO_TIE_GAS) {
        if (gi != gj) return gi < gj;
        return li < lj;
    }
    return false;
}

Test(evo_select, better_follows_its_definition) {
    const double fv[] = {0, 1, -1, INFINITY, -INFINITY, NAN, 1e300};
    enum { N = 24 };
    double fit[N];
    uint32_t len[N];
    uint64_t gas[N];
    evo_rng r;
    evo_rng_seed(&r, 11, 12);
    for (int round = 0; round < 200; round++) {
        for (uint32_t i = 0; i < N; i++) {
            fit[i] = fv[evo_rng_below(&r, sizeof fv / sizeof *fv)];
            len[i] = evo_rng_below(&r, 3);
            gas[i] = evo_rng_below(&r, 3) ? evo_rng_below(&r, 3) : UINT64_MAX;
        }
        evo_view v = {.n = N, .fitness = fit};
        if (round % 4 != 1) v.length = len;
        if (round % 4 != 2) v.gas = gas;
        for (int tb = EVO_TIE_NONE; tb <= EVO_TIE_GAS; tb++)
            for (uint32_t i = 0; i < N; i++)
                for (uint32_t j = 0; j < N; j++)
                    cr_assert_eq(evo_better(&v, tb, i, j), better_ref(&v, tb, i, j),
                                 "tb %d: %g/%u/%lu against %g/%u/%lu", tb, fit[i], len[i],
                                 (unsigned long)gas[i], fit[j], len[j], (unsigned long)gas[j]);
    }
}
