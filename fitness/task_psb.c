/* Program synthesis: PSB2 (Helmuth and Kelly 2021) GCD, Fuel Cost, Coin Sums,
 * Basement and PSB1 (Helmuth and Spector 2015) Small or Large, Median,
 * Smallest, Count Odds, Last Index of Zero, from their published definitions
 * (../shared/benchmarks/PROBLEMS.md; docs/tasks.md). */
#include "fitness/fit_impl.h"

#include <stdlib.h>
#include <string.h>

#define PSB_GAS 10000u

static int64_t U(const fit_rng *r, int64_t lo, int64_t hi) {
    return r->range(r->ctx, lo, hi);
}

static void shuffle(const fit_rng *r, vm_word *x, uint32_t n) {
    for (uint32_t i = n; i-- > 1;) {
        uint32_t j = (uint32_t)U(r, 0, i);
        vm_word t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}

void fit_psb_init(fit_task *t, const char *name, fit_error_kind err, uint32_t n_in,
                  double penalty) {
    fit_task_init(t, name, err, n_in);
    t->penalty = penalty;
    t->hit_tol = 0;
    t->limits = (vm_limits){
        .gas = PSB_GAS, .mem = 1024, .stack = 256, .calls = 64, .underflow = VM_UNDERFLOW_SKIP};
    t->consts[0] = 0;
    t->consts[1] = 1;
    t->n_consts = 2;
}

static void add_const(fit_task *t, vm_word c) {
    for (uint32_t i = 0; i < t->n_consts; i++)
        if (t->consts[i] == c) return;
    if (t->n_consts < FIT_MAX_CONSTS) t->consts[t->n_consts++] = c;
}

/* A scalar-case writer: case i gets in[0..n_in) and want[0..n_out). */
static void put(const fit_task *t, fit_cases *cs, uint32_t i, const vm_word *in,
                const vm_word *want) {
    memcpy(cs->in + (size_t)i * t->n_in, in, t->n_in * sizeof *in);
    memcpy(cs->want + (size_t)i * fit_task_nout(t), want, fit_task_nout(t) * sizeof *want);
}

/* ---- GCD ---- */

static vm_word gcd(vm_word a, vm_word b) {
    while (b) {
        vm_word t = a % b;
        a = b;
        b = t;
    }
    return a;
}

FIT_MAKER(fit_make_gcd) {
    static const vm_word fixed[][2] = {{1, 1},       {4, 400000},     {54, 24},
                                       {4200, 3528}, {820000, 63550}, {123456, 654321}};
    uint32_t nf = 6, ntr, nte;
    if (fit_size("gcd", "n_train", o->n_train, 200, nf, &ntr, err, errcap) ||
        fit_size("gcd", "n_test", o->n_test, 2000, 1, &nte, err, errcap))
        return -1;
    fit_psb_init(t, "gcd", FIT_ERR_INT_ABS, 2, 1e6);
    if (fit_cases_alloc(&t->train, ntr, 2, 1, false, false) ||
        fit_cases_alloc(&t->test, nte, 2, 1, false, false))
        return -1;
    for (int s = 0; s < 2; s++) {
        fit_cases *cs = s ? &t->test : &t->train;
        for (uint32_t i = 0; i < cs->n; i++) {
            vm_word in[2];
            if (!s && i < nf) {
                in[0] = fixed[i][0], in[1] = fixed[i][1];
            } else {
                in[0] = U(rng, 1, 1000000);
                in[1] = U(rng, 1, 1000000);
            }
            vm_word w = gcd(in[0], in[1]);
            put(t, cs, i, in, &w);
        }
    }
    return 0;
}

/* ---- Fuel Cost ---- */

static vm_word fuel(const vm_word *x, uint32_t n) {
    vm_word s = 0;
    for (uint32_t i = 0; i < n; i++)
        s += x[i] / 3 - 2;
    return s;
}

static int vec_add(fit_vec_builder *b, const vm_word *x, uint32_t n, vm_word want) {
    return fit_vec_add(b, x, n, &want);
}

static int fuel_random(fit_vec_builder *b, const fit_rng *rng, uint32_t count, uint32_t lmin,
                       uint32_t lmax) {
    vm_word x[20];
    for (uint32_t c = 0; c < count; c++) {
        uint32_t n = (uint32_t)U(rng, lmin, lmax);
        for (uint32_t k = 0; k < n; k++)
            x[k] = U(rng, 6, 10000);
        if (vec_add(b, x, n, fuel(x, n))) return -1;
    }
    return 0;
}

FIT_MAKER(fit_make_fuel_cost) {
    uint32_t ntr, nte;
    if (fit_size("fuel-cost", "n_train", o->n_train, 200, 37, &ntr, err, errcap) ||
        fit_size("fuel-cost", "n_test", o->n_test, 2000, 1, &nte, err, errcap))
        return -1;
    fit_psb_init(t, "fuel-cost", FIT_ERR_INT_ABS, 0, 1e12);
    t->io = FIT_IO_CHANNEL;
    add_const(t, 2);
    add_const(t, 3);
    fit_vec_builder b;
    if (fit_vec_begin(&b, &t->train, ntr, 1)) return -1;
    vm_word x[20];
    for (vm_word v = 6; v <= 17; v++)
        if (vec_add(&b, &v, 1, fuel(&v, 1))) return -1;
    for (vm_word v = 9998; v <= 10000; v++)
        if (vec_add(&b, &v, 1, fuel(&v, 1))) return -1;
    static const vm_word two[][2] = {{6, 6},   {9, 14},  {9, 15},    {14, 9},    {15, 9},
                                     {32, 32}, {33, 33}, {10000, 9}, {9, 10000}, {10000, 10000}};
    for (int i = 0; i < 10; i++)
        if (vec_add(&b, two[i], 2, fuel(two[i], 2))) return -1;
    static const vm_word copies[] = {6, 7, 8, 9, 10, 11, 12, 13, 9998, 9999, 10000};
    for (int i = 0; i < 11; i++) {
        for (int k = 0; k < 20; k++)
            x[k] = copies[i];
        if (vec_add(&b, x, 20, fuel(x, 20))) return -1;
    }
    for (int k = 0; k < 15; k++)
        x[k] = 9;
    if (vec_add(&b, x, 15, fuel(x, 15))) return -1;
    uint32_t r = ntr - 37, rs = (uint32_t)(((uint64_t)r * 75 + 81) / 163);
    if (fuel_random(&b, rng, rs, 1, 5) || fuel_random(&b, rng, r - rs, 6, 20)) return -1;
    if (fit_vec_begin(&b, &t->test, nte, 1)) return -1;
    if (fuel_random(&b, rng, nte / 2, 1, 5) || fuel_random(&b, rng, nte - nte / 2, 6, 20))
        return -1;
    return 0;
}

/* ---- Coin Sums ---- */

static void coins(vm_word n, vm_word *out) {
    out[3] = n / 25, n %= 25; /* quarters */
    out[2] = n / 10, n %= 10; /* dimes */
    out[1] = n / 5, n %= 5;   /* nickels */
    out[0] = n;               /* pennies */
}

FIT_MAKER(fit_make_coin_sums) {
    uint32_t ntr, nte, nf = 34;
    if (fit_size("coin-sums", "n_train", o->n_train, 200, nf, &ntr, err, errcap) ||
        fit_size("coin-sums", "n_test", o->n_test, 2000, 1, &nte, err, errcap))
        return -1;
    fit_psb_init(t, "coin-sums", FIT_ERR_INT_ABS, 1, 100000);
    t->n_out = 4;
    add_const(t, 5);
    add_const(t, 10);
    add_const(t, 25);
    if (fit_cases_alloc(&t->train, ntr, 1, 4, false, false) ||
        fit_cases_alloc(&t->test, nte, 1, 4, false, false))
        return -1;
    static const vm_word extra[] = {35, 41, 109, 10000};
    for (int s = 0; s < 2; s++) {
        fit_cases *cs = s ? &t->test : &t->train;
        for (uint32_t i = 0; i < cs->n; i++) {
            vm_word n, w[4];
            if (!s && i < 30)
                n = (vm_word)i + 1;
            else if (!s && i < nf)
                n = extra[i - 30];
            else
                n = U(rng, 1, 10000);
            coins(n, w);
            put(t, cs, i, &n, w);
        }
    }
    return 0;
}

/* ---- Basement ---- */

static vm_word basement_answer(const vm_word *x, uint32_t n) {
    vm_word s = 0;
    for (uint32_t i = 0; i < n; i++) {
        s += x[i];
        if (s < 0) return (vm_word)i;
    }
    return -1;
}

/* The random rule: length n (given) and the answer index drawn first; then
 * element i is negative (uniform in [-100, -1]) with chance (i+1)/(n+1),
 * else uniform in [0, 100]; vectors are redrawn until the first index where
 * the prefix sum is below 0 is the answer. */
static void basement_vec(const fit_rng *rng, uint32_t n, vm_word *x) {
    vm_word a = U(rng, 0, (int64_t)n - 1);
    for (uint32_t tries = 0; tries < 1000000; tries++) {
        for (uint32_t i = 0; i < n; i++) {
            bool neg = U(rng, 1, (int64_t)n + 1) <= (int64_t)i + 1;
            x[i] = neg ? U(rng, -100, -1) : U(rng, 0, 100);
        }
        if (basement_answer(x, n) == a) return;
    }
    /* a degenerate random source: zeros, then -1 at the answer (never with PCG32) */
    for (uint32_t i = 0; i < n; i++)
        x[i] = (vm_word)i < a ? 0 : (vm_word)i == a ? -1 : U(rng, -100, 100);
}

static int64_t splitmix_range(void *ctx, int64_t lo, int64_t hi) {
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1, lim = UINT64_MAX - UINT64_MAX % span, v;
    do
        v = base_splitmix64((uint64_t *)ctx);
    while (v >= lim);
    return (int64_t)((uint64_t)lo + v % span);
}

static int basement_random(fit_vec_builder *b, const fit_rng *rng, uint32_t count, uint32_t len) {
    vm_word x[20];
    for (uint32_t c = 0; c < count; c++) {
        uint32_t n = len ? len : (uint32_t)U(rng, 1, 20);
        basement_vec(rng, n, x);
        if (vec_add(b, x, n, basement_answer(x, n))) return -1;
    }
    return 0;
}

#define BASEMENT_SEED 0x6261736d656e74ull /* "basement": the fixed long vectors */

FIT_MAKER(fit_make_basement) {
    uint32_t ntr, nte, nf = 20 + FIT_BASEMENT_LONG;
    if (fit_size("basement", "n_train", o->n_train, 200, nf, &ntr, err, errcap) ||
        fit_size("basement", "n_test", o->n_test, 2000, 1, &nte, err, errcap))
        return -1;
    fit_psb_init(t, "basement", FIT_ERR_INT_ABS, 0, 1e6);
    t->io = FIT_IO_CHANNEL;
    fit_vec_builder b;
    if (fit_vec_begin(&b, &t->train, ntr, 1)) return -1;
    static const vm_word one[] = {-1, -100};
    static const vm_word two[][2] = {{-1, 100}, {-95, 100}, {-30, 5}, {-50, 50},
                                     {0, -1},   {1, -2},    {3, -97}, {99, -100}};
    static const vm_word three[][3] = {
        {1, -1, -1}, {1, -2, -1}, {0, -1, -1},       {0, 0, -1},         {2, -2, -1},
        {5, -6, -5}, {5, -5, -5}, {100, -100, -100}, {-100, -100, -100}, {-1, 100, 99}};
    for (int i = 0; i < 2; i++)
        if (vec_add(&b, &one[i], 1, basement_answer(&one[i], 1))) return -1;
    for (int i = 0; i < 8; i++)
        if (vec_add(&b, two[i], 2, basement_answer(two[i], 2))) return -1;
    for (int i = 0; i < 10; i++)
        if (vec_add(&b, three[i], 3, basement_answer(three[i], 3))) return -1;
    uint64_t seed = BASEMENT_SEED;
    fit_rng fixed = {&seed, splitmix_range};
    if (basement_random(&b, &fixed, FIT_BASEMENT_LONG, 20)) return -1;
    if (basement_random(&b, rng, ntr - nf, 0)) return -1;
    if (fit_vec_begin(&b, &t->test, nte, 1)) return -1;
    return basement_random(&b, rng, nte, 0);
}

/* ---- Small or Large ---- */

static vm_word small_or_large(vm_word n) {
    return n < 1000 ? 1 : n >= 2000 ? 2 : 0;
}

FIT_MAKER(fit_make_small_or_large) {
    vm_word ftr[27], fte[80];
    uint32_t k = 0;
    ftr[k++] = -10000, ftr[k++] = 0, ftr[k++] = 980;
    for (vm_word v = 995; v <= 1004; v++)
        ftr[k++] = v;
    ftr[k++] = 1020, ftr[k++] = 1980;
    for (vm_word v = 1995; v <= 2004; v++)
        ftr[k++] = v;
    ftr[k++] = 2020, ftr[k++] = 10000;
    for (k = 0; k < 40; k++)
        fte[k] = 980 + (vm_word)k, fte[40 + k] = 1980 + (vm_word)k;
    uint32_t ntr, nte;
    if (fit_size("small-or-large", "n_train", o->n_train, 100, 27, &ntr, err, errcap) ||
        fit_size("small-or-large", "n_test", o->n_test, 1000, 80, &nte, err, errcap))
        return -1;
    fit_psb_init(t, "small-or-large", FIT_ERR_INT_01, 1, 1);
    add_const(t, 2);
    add_const(t, 1000);
    add_const(t, 2000);
    if (fit_cases_alloc(&t->train, ntr, 1, 1, false, false) ||
        fit_cases_alloc(&t->test, nte, 1, 1, false, false))
        return -1;
    for (int s = 0; s < 2; s++) {
        fit_cases *cs = s ? &t->test : &t->train;
        uint32_t nf = s ? 80 : 27;
        for (uint32_t i = 0; i < cs->n; i++) {
            vm_word n = i < nf ? (s ? fte[i] : ftr[i]) : U(rng, -10000, 10000);
            vm_word w = small_or_large(n);
            put(t, cs, i, &n, &w);
        }
    }
    return 0;
}

/* ---- Median ---- */

static vm_word median3(const vm_word *x) {
    vm_word a = x[0], b = x[1], c = x[2];
    if ((a <= b && b <= c) || (c <= b && b <= a)) return b;
    if ((b <= a && a <= c) || (c <= a && a <= b)) return a;
    return c;
}

static void median_case(const fit_rng *rng, int kind, vm_word *x) {
    if (kind == 0) { /* all distinct */
        x[0] = U(rng, -100, 100);
        do
            x[1] = U(rng, -100, 100);
        while (x[1] == x[0]);
        do
            x[2] = U(rng, -100, 100);
        while (x[2] == x[0] || x[2] == x[1]);
    } else if (kind == 1) { /* two equal: y at a random position */
        vm_word v = U(rng, -100, 100), y;
        do
            y = U(rng, -100, 100);
        while (y == v);
        x[0] = x[1] = x[2] = v;
        x[U(rng, 0, 2)] = y;
    } else {
        x[0] = x[1] = x[2] = U(rng, -100, 100);
    }
}

FIT_MAKER(fit_make_median) {
    uint32_t ntr, nte;
    if (fit_size("median", "n_train", o->n_train, 100, 1, &ntr, err, errcap) ||
        fit_size("median", "n_test", o->n_test, 1000, 1, &nte, err, errcap))
        return -1;
    fit_psb_init(t, "median", FIT_ERR_INT_01, 3, 1);
    if (fit_cases_alloc(&t->train, ntr, 3, 1, false, false) ||
        fit_cases_alloc(&t->test, nte, 3, 1, false, false))
        return -1;
    for (int s = 0; s < 2; s++) {
        fit_cases *cs = s ? &t->test : &t->train;
        uint32_t n = cs->n, nd = n * 6 / 10, n2 = n * 3 / 10;
        for (uint32_t i = 0; i < n; i++) {
            vm_word x[3];
            median_case(rng, i < nd ? 0 : i < nd + n2 ? 1 : 2, x);
            vm_word w = median3(x);
            put(t, cs, i, x, &w);
        }
    }
    return 0;
}

/* ---- Smallest ---- */

static void smallest_case(const fit_rng *rng, int kind, vm_word *x) {
    if (kind == 0) { /* three equal */
        vm_word v = U(rng, -100, 100), y;
        do
            y = U(rng, -100, 100);
        while (y == v);
        x[0] = x[1] = x[2] = x[3] = v;
        x[U(rng, 0, 3)] = y;
    } else if (kind == 1) { /* all equal */
        x[0] = x[1] = x[2] = x[3] = U(rng, -100, 100);
    } else {
        for (int k = 0; k < 4; k++)
            x[k] = U(rng, kind == 2 ? 0 : -100, 100);
    }
}

FIT_MAKER(fit_make_smallest) {
    static const vm_word fixed[5][4] = {{0, 0, 0, 0},
                                        {-44, -44, -7, -13},
                                        {0, 4, -99, -33},
                                        {-22, -22, -22, -22},
                                        {99, 100, 99, 100}};
    uint32_t ntr, nte;
    if (fit_size("smallest", "n_train", o->n_train, 100, 5, &ntr, err, errcap) ||
        fit_size("smallest", "n_test", o->n_test, 1000, 1, &nte, err, errcap))
        return -1;
    fit_psb_init(t, "smallest", FIT_ERR_INT_01, 4, 1);
    if (fit_cases_alloc(&t->train, ntr, 4, 1, false, false) ||
        fit_cases_alloc(&t->test, nte, 4, 1, false, false))
        return -1;
    for (int s = 0; s < 2; s++) {
        fit_cases *cs = s ? &t->test : &t->train;
        uint32_t nf = s ? 0 : 5, r = cs->n - nf;
        /* training 10, 5, 20, 60 of 95; test 100, 100, 200, 600 of 1000 */
        uint32_t n3 = s ? r / 10 : r * 10 / 95, n1 = s ? r / 10 : r * 5 / 95,
                 np = s ? r * 2 / 10 : r * 20 / 95;
        for (uint32_t i = 0; i < cs->n; i++) {
            vm_word x[4];
            if (i < nf) {
                memcpy(x, fixed[i], sizeof x);
            } else {
                uint32_t j = i - nf;
                smallest_case(rng, j < n3 ? 0 : j < n3 + n1 ? 1 : j < n3 + n1 + np ? 2 : 3, x);
            }
            vm_word w = x[0];
            for (int k = 1; k < 4; k++)
                if (x[k] < w) w = x[k];
            put(t, cs, i, x, &w);
        }
    }
    return 0;
}

/* ---- Count Odds ---- */

static vm_word count_odds(const vm_word *x, uint32_t n) {
    vm_word c = 0;
    for (uint32_t i = 0; i < n; i++)
        c += x[i] % 2 != 0;
    return c;
}

static vm_word draw_parity(const fit_rng *rng, bool odd) {
    return odd ? 2 * U(rng, -500, 499) + 1 : 2 * U(rng, -500, 500);
}

/* kind 0: all odd; 1: all even; 2: odd with a probability drawn per vector */
static int odds_random(fit_vec_builder *b, const fit_rng *rng, uint32_t count, int kind) {
    vm_word x[50];
    for (uint32_t c = 0; c < count; c++) {
        uint32_t n = (uint32_t)U(rng, 1, 50);
        int64_t p = kind == 2 ? U(rng, 0, 1000) : 0;
        for (uint32_t k = 0; k < n; k++)
            x[k] = draw_parity(rng, kind == 0 ? true : kind == 1 ? false : U(rng, 1, 1000) <= p);
        if (vec_add(b, x, n, count_odds(x, n))) return -1;
    }
    return 0;
}

FIT_MAKER(fit_make_count_odds) {
    uint32_t ntr, nte;
    if (fit_size("count-odds", "n_train", o->n_train, 200, 32, &ntr, err, errcap) ||
        fit_size("count-odds", "n_test", o->n_test, 2000, 1, &nte, err, errcap))
        return -1;
    fit_psb_init(t, "count-odds", FIT_ERR_INT_ABS, 0, 1000);
    t->io = FIT_IO_CHANNEL;
    add_const(t, 2);
    fit_vec_builder b;
    if (fit_vec_begin(&b, &t->train, ntr, 1)) return -1;
    if (vec_add(&b, NULL, 0, 0)) return -1;
    for (vm_word v = -10; v <= 10; v++)
        if (vec_add(&b, &v, 1, count_odds(&v, 1))) return -1;
    static const vm_word one[] = {-947, -450, 303, 886};
    for (int i = 0; i < 4; i++)
        if (vec_add(&b, &one[i], 1, count_odds(&one[i], 1))) return -1;
    static const vm_word two[][2] = {{0, 0}, {0, 1}, {7, 1}, {-9, -1}, {-11, 40}, {944, 77}};
    for (int i = 0; i < 6; i++)
        if (vec_add(&b, two[i], 2, count_odds(two[i], 2))) return -1;
    uint32_t r = ntr - 32, r1 = (uint32_t)((uint64_t)r * 9 / 168);
    if (odds_random(&b, rng, r1, 0) || odds_random(&b, rng, r1, 1) ||
        odds_random(&b, rng, r - 2 * r1, 2))
        return -1;
    if (fit_vec_begin(&b, &t->test, nte, 1)) return -1;
    uint32_t t1 = nte / 20;
    if (odds_random(&b, rng, t1, 0) || odds_random(&b, rng, t1, 1) ||
        odds_random(&b, rng, nte - 2 * t1, 2))
        return -1;
    return 0;
}

/* ---- Last Index of Zero ---- */

static vm_word last_zero(const vm_word *x, uint32_t n) {
    for (uint32_t i = n; i-- > 0;)
        if (x[i] == 0) return (vm_word)i;
    return -1;
}

/* The distinct permutations of v[0..4), in lexicographic order of index
 * permutations; returns their count (<= 24) in out (4 words each). */
static uint32_t perms4(const vm_word *v, vm_word *out) {
    uint32_t n = 0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 4; c++)
                for (int d = 0; d < 4; d++) {
                    if (a == b || a == c || a == d || b == c || b == d || c == d) continue;
                    vm_word p[4] = {v[a], v[b], v[c], v[d]};
                    bool dup = false;
                    for (uint32_t k = 0; k < n && !dup; k++)
                        dup = !memcmp(out + 4 * k, p, sizeof p);
                    if (!dup) memcpy(out + 4 * n++, p, sizeof p);
                }
    return n;
}

/* Shuffle the rows of a (n rows of 4 words) by shuffling an index list. */
static void shuffle_rows(const fit_rng *rng, vm_word *rows, uint32_t n) {
    for (uint32_t i = n; i-- > 1;) {
        uint32_t j = (uint32_t)U(rng, 0, i);
        vm_word t[4];
        memcpy(t, rows + 4 * i, sizeof t);
        memcpy(rows + 4 * i, rows + 4 * j, sizeof t);
        memcpy(rows + 4 * j, t, sizeof t);
    }
}

static int zero_random(fit_vec_builder *b, const fit_rng *rng, uint32_t count) {
    vm_word x[50];
    for (uint32_t c = 0; c < count; c++) {
        uint32_t n = 0, z = (uint32_t)U(rng, 0, 5), m = (uint32_t)U(rng, 0, 44);
        for (uint32_t k = 0; k <= z; k++)
            x[n++] = 0;
        for (uint32_t k = 0; k < m; k++)
            x[n++] = U(rng, -50, 50);
        shuffle(rng, x, n);
        if (vec_add(b, x, n, last_zero(x, n))) return -1;
    }
    return 0;
}

FIT_MAKER(fit_make_last_index_of_zero) {
    const uint32_t nftr = 72, nfte = 26;
    uint32_t ntr, nte;
    if (fit_size("last-index-of-zero", "n_train", o->n_train, 150, nftr, &ntr, err, errcap) ||
        fit_size("last-index-of-zero", "n_test", o->n_test, 1000, nfte, &nte, err, errcap))
        return -1;
    fit_psb_init(t, "last-index-of-zero", FIT_ERR_INT_ABS, 0, 1e6);
    t->io = FIT_IO_CHANNEL;
    /* the random splits of the fixed cases, drawn first */
    vm_word lens[50], pa[24 * 4], pb[24 * 4], pc[24 * 4], z[50] = {0};
    for (int i = 0; i < 50; i++)
        lens[i] = i + 1;
    shuffle(rng, lens, 50);
    static const vm_word va[] = {0, 5, -8, 9}, vb[] = {0, 0, -8, 9}, vc[] = {0, 0, 0, 9};
    uint32_t na = perms4(va, pa), nb = perms4(vb, pb), nc = perms4(vc, pc);
    shuffle_rows(rng, pa, na);
    shuffle_rows(rng, pb, nb);
    shuffle_rows(rng, pc, nc);
    fit_vec_builder b;
    if (fit_vec_begin(&b, &t->train, ntr, 1)) return -1;
    static const vm_word two[][2] = {{0, 1},  {1, 0},  {7, 0},  {0, 8},
                                     {0, -1}, {-1, 0}, {-7, 0}, {0, -8}};
    for (int i = 0; i < 8; i++)
        if (vec_add(&b, two[i], 2, last_zero(two[i], 2))) return -1;
    for (int i = 0; i < 30; i++)
        if (vec_add(&b, z, (uint32_t)lens[i], lens[i] - 1)) return -1;
    for (uint32_t i = 0; i < 20; i++)
        if (vec_add(&b, pa + 4 * i, 4, last_zero(pa + 4 * i, 4))) return -1;
    for (uint32_t i = 0; i < 10; i++)
        if (vec_add(&b, pb + 4 * i, 4, last_zero(pb + 4 * i, 4))) return -1;
    for (uint32_t i = 0; i < nc; i++)
        if (vec_add(&b, pc + 4 * i, 4, last_zero(pc + 4 * i, 4))) return -1;
    if (zero_random(&b, rng, ntr - nftr)) return -1;
    if (fit_vec_begin(&b, &t->test, nte, 1)) return -1;
    for (int i = 30; i < 50; i++)
        if (vec_add(&b, z, (uint32_t)lens[i], lens[i] - 1)) return -1;
    for (uint32_t i = 20; i < na; i++)
        if (vec_add(&b, pa + 4 * i, 4, last_zero(pa + 4 * i, 4))) return -1;
    for (uint32_t i = 10; i < nb; i++)
        if (vec_add(&b, pb + 4 * i, 4, last_zero(pb + 4 * i, 4))) return -1;
    return zero_random(&b, rng, nte - nfte);
}
