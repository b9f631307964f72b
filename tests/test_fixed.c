/* Q32.32 fixed point (vm/fixed.c): known answers, edge cases, and measured
 * accuracy against libm in long double over seeded pseudo-random inputs. The
 * bounds asserted here are the ones documented in docs/fixed-point.md. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

#include "vm/vm.h"

#define ONE   VM_FX_ONE
#define N_ACC 200000 /* inputs per accuracy test */

typedef __int128 i128;
typedef unsigned __int128 u128;

/* splitmix64: the tests' own generator, independent of base/base.h */
static uint64_t fx_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A word uniform in [lo, hi] (tiny modulo bias is irrelevant here). */
static vm_word fx_uniform(uint64_t *s, vm_word lo, vm_word hi) {
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    uint64_t r = fx_rand(s);
    return (vm_word)((uint64_t)lo + (span ? r % span : r));
}

/* A positive word with its bit length uniform in 1..63: covers every scale. */
static vm_word fx_logscale(uint64_t *s) {
    unsigned bits = 1 + (unsigned)(fx_rand(s) % 63);
    uint64_t r = fx_rand(s) >> (64 - bits);
    return (vm_word)(r | ((uint64_t)1 << (bits - 1)));
}

static long double fx_ld(vm_word a) {
    return (long double)a / 4294967296.0L;
}

/* |got - want| in ulps (2^-32), want given as a real number. */
static long double fx_err(vm_word got, long double want) {
    return fabsl((long double)got - want * 4294967296.0L);
}

/* ---- known answers and edge cases ---- */

Test(fixed, mul_known) {
    cr_assert_eq(vm_fx_mul(ONE * 3 / 2, 2 * ONE), 3 * ONE);
    cr_assert_eq(vm_fx_mul(-ONE * 3 / 2, 2 * ONE), -3 * ONE);
    cr_assert_eq(vm_fx_mul(-ONE * 3 / 2, -2 * ONE), 3 * ONE);
    cr_assert_eq(vm_fx_mul(ONE / 2, ONE / 2), ONE / 4);
    cr_assert_eq(vm_fx_mul(0, INT64_MIN), 0);
    /* rounding: 2^-32 * 0.5 is a tie, rounded away from zero */
    cr_assert_eq(vm_fx_mul(1, ONE / 2), 1);
    cr_assert_eq(vm_fx_mul(-1, ONE / 2), -1);
    cr_assert_eq(vm_fx_mul(1, ONE / 2 - 1), 0);
    cr_assert_eq(vm_fx_mul(1, 1), 0);
    cr_assert_eq(vm_fx_mul(3, ONE / 2), 2);
}

Test(fixed, mul_saturates) {
    cr_assert_eq(vm_fx_mul(INT64_MAX, INT64_MAX), INT64_MAX);
    cr_assert_eq(vm_fx_mul(INT64_MIN, INT64_MIN), INT64_MAX);
    cr_assert_eq(vm_fx_mul(INT64_MIN, INT64_MAX), INT64_MIN);
    cr_assert_eq(vm_fx_mul(INT64_MIN, ONE), INT64_MIN);
    cr_assert_eq(vm_fx_mul(INT64_MIN, -ONE), INT64_MAX);
    cr_assert_eq(vm_fx_mul(INT64_MAX, -ONE), -INT64_MAX);
    cr_assert_eq(vm_fx_mul(INT64_MIN, 2 * ONE), INT64_MIN);
    cr_assert_eq(vm_fx_mul((vm_word)1 << 47, (vm_word)1 << 48), INT64_MAX);    /* 2^15 * 2^16 */
    cr_assert_eq(vm_fx_mul(-((vm_word)1 << 47), (vm_word)1 << 48), INT64_MIN); /* exactly -2^31 */
    cr_assert_eq(vm_fx_mul(INT64_MIN, -1), (vm_word)1 << 31);
}

Test(fixed, div_known) {
    cr_assert_eq(vm_fx_div(3 * ONE, 2 * ONE), ONE * 3 / 2);
    cr_assert_eq(vm_fx_div(-3 * ONE, 2 * ONE), -ONE * 3 / 2);
    cr_assert_eq(vm_fx_div(ONE, 3 * ONE), 1431655765);   /* truncated */
    cr_assert_eq(vm_fx_div(-ONE, 3 * ONE), -1431655765); /* toward zero */
    cr_assert_eq(vm_fx_div(1, 3 * ONE), 0);
    cr_assert_eq(vm_fx_div(-1, 3 * ONE), 0);
    cr_assert_eq(vm_fx_div(INT64_MIN, ONE), INT64_MIN);
    cr_assert_eq(vm_fx_div(INT64_MAX, -ONE), -INT64_MAX);
}

Test(fixed, div_by_zero_and_saturation) {
    cr_assert_eq(vm_fx_div(ONE, 0), 0);
    cr_assert_eq(vm_fx_div(0, 0), 0);
    cr_assert_eq(vm_fx_div(INT64_MIN, 0), 0);
    cr_assert_eq(vm_fx_div(INT64_MAX, 0), 0);
    cr_assert_eq(vm_fx_div(INT64_MIN, -1), INT64_MAX);
    cr_assert_eq(vm_fx_div(INT64_MIN, -ONE), INT64_MAX);
    cr_assert_eq(vm_fx_div(INT64_MIN, 1), INT64_MIN);
    cr_assert_eq(vm_fx_div(INT64_MAX, 1), INT64_MAX);
    cr_assert_eq(vm_fx_div(-ONE, 1), INT64_MIN); /* -2^32 is -2^63 exactly */
    cr_assert_eq(vm_fx_div(ONE, 1), INT64_MAX);
    cr_assert_eq(vm_fx_div(ONE, INT64_MIN), -2); /* 1 / -2^31 */
    cr_assert_eq(vm_fx_div(INT64_MIN, INT64_MIN), ONE);
}

Test(fixed, sqrt_known) {
    cr_assert_eq(vm_fx_sqrt(4 * ONE), 2 * ONE);
    cr_assert_eq(vm_fx_sqrt(ONE), ONE);
    cr_assert_eq(vm_fx_sqrt(ONE / 4), ONE / 2);
    cr_assert_eq(vm_fx_sqrt(2 * ONE), 6074000999); /* floor(sqrt(2) * 2^32) */
    cr_assert_eq(vm_fx_sqrt(1), 1 << 16);
    cr_assert_eq(vm_fx_sqrt(INT64_MAX), 199032864766430); /* floor(sqrt((2^63-1) * 2^32)) */
    cr_assert_eq(vm_fx_sqrt(0), 0);
    cr_assert_eq(vm_fx_sqrt(-1), 0);
    cr_assert_eq(vm_fx_sqrt(-4 * ONE), 0);
    cr_assert_eq(vm_fx_sqrt(INT64_MIN), 0);
    for (vm_word k = 1; k < 46341; k += 7) /* perfect squares are exact */
        cr_assert_eq(vm_fx_sqrt(k * k * ONE), k * ONE);
}

Test(fixed, sin_cos_known) {
    cr_assert_eq(vm_fx_sin(0), 0);
    cr_assert_eq(vm_fx_cos(0), ONE);
    cr_assert_eq(vm_fx_sin(1), 1);
    cr_assert_eq(vm_fx_cos(1), ONE);
    /* pi/2 rounded to Q32.32: sin is 1 and cos is ~0, within an ulp */
    vm_word pio2 = 6746518852;
    cr_assert(llabs(vm_fx_sin(pio2) - ONE) <= 1);
    cr_assert(llabs(vm_fx_cos(pio2)) <= 1);
    cr_assert(llabs(vm_fx_sin(2 * pio2)) <= 2);
    cr_assert(llabs(vm_fx_cos(2 * pio2) + ONE) <= 1);
    vm_word edges[] = {INT64_MIN, INT64_MIN + 1, INT64_MAX, -1, ONE, -ONE, (vm_word)1 << 62};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        long double x = fx_ld(edges[i]);
        cr_assert(fx_err(vm_fx_sin(edges[i]), sinl(x)) <= 1, "sin(%lld)", (long long)edges[i]);
        cr_assert(fx_err(vm_fx_cos(edges[i]), cosl(x)) <= 1, "cos(%lld)", (long long)edges[i]);
    }
}

Test(fixed, exp_known) {
    cr_assert_eq(vm_fx_exp(0), ONE);
    cr_assert(fx_err(vm_fx_exp(ONE), expl(1.0L)) <= 1);
    cr_assert(fx_err(vm_fx_exp(-ONE), expl(-1.0L)) <= 1);
    cr_assert_eq(vm_fx_exp(2977044472), 2 * ONE); /* round(ln2 * 2^32) */
    cr_assert_eq(vm_fx_exp(INT64_MAX), INT64_MAX);
    cr_assert_eq(vm_fx_exp(22 * ONE), INT64_MAX);
    /* ln(2^31) * 2^32 = 92288378626.41: saturation starts exactly above it */
    cr_assert_eq(vm_fx_exp(92288378627), INT64_MAX);
    cr_assert_lt(vm_fx_exp(92288378626), INT64_MAX);
    cr_assert_eq(vm_fx_exp(INT64_MIN), 0);
    cr_assert_eq(vm_fx_exp(-23 * ONE), 0);
    cr_assert_eq(vm_fx_exp(-22 * ONE), 1); /* exp(-22) = 1.19 ulp */
    cr_assert_eq(vm_fx_exp(-1), ONE - 1);
    cr_assert_eq(vm_fx_exp(1), ONE + 1);
}

Test(fixed, log_known) {
    cr_assert_eq(vm_fx_log(ONE), 0);
    cr_assert_eq(vm_fx_log(2 * ONE), 2977044472); /* round(ln2 * 2^32) */
    cr_assert_eq(vm_fx_log(ONE / 2), -2977044472);
    cr_assert(fx_err(vm_fx_log(11674931555), 1.0L) <= 1); /* e */
    cr_assert_eq(vm_fx_log(1), -95265423098);             /* round(-32 ln2 * 2^32) */
    cr_assert(fx_err(vm_fx_log(1), -32 * 0.693147180559945309417L) <= 0.5L);
    cr_assert(fx_err(vm_fx_log(INT64_MAX), logl(fx_ld(INT64_MAX))) <= 0.5L);
    cr_assert_eq(vm_fx_log(0), 0);
    cr_assert_eq(vm_fx_log(-1), 0);
    cr_assert_eq(vm_fx_log(-ONE), 0);
    cr_assert_eq(vm_fx_log(INT64_MIN), 0);
}

Test(fixed, from_int) {
    cr_assert_eq(vm_fx_from_int(0), 0);
    cr_assert_eq(vm_fx_from_int(5), 5 * ONE);
    cr_assert_eq(vm_fx_from_int(-5), -5 * ONE);
    cr_assert_eq(vm_fx_from_int(INT32_MAX), (vm_word)INT32_MAX * ONE);
    cr_assert_eq(vm_fx_from_int(INT32_MIN), INT64_MIN);
    cr_assert_eq(vm_fx_from_int((vm_word)INT32_MAX + 1), INT64_MAX);
    cr_assert_eq(vm_fx_from_int((vm_word)INT32_MIN - 1), INT64_MIN);
    cr_assert_eq(vm_fx_from_int(INT64_MAX), INT64_MAX);
    cr_assert_eq(vm_fx_from_int(INT64_MIN), INT64_MIN);
}

Test(fixed, double_helpers) {
    cr_assert_eq(vm_fx_from_double(1.5), ONE * 3 / 2);
    cr_assert_eq(vm_fx_from_double(-1.5), -ONE * 3 / 2);
    cr_assert_eq(vm_fx_from_double(0x1p-33), 1); /* ties away from zero */
    cr_assert_eq(vm_fx_from_double(-0x1p-33), -1);
    cr_assert_eq(vm_fx_from_double(0x1p-34), 0);
    cr_assert_eq(vm_fx_from_double(NAN), 0);
    cr_assert_eq(vm_fx_from_double(INFINITY), INT64_MAX);
    cr_assert_eq(vm_fx_from_double(-INFINITY), INT64_MIN);
    cr_assert_eq(vm_fx_from_double(1e30), INT64_MAX);
    cr_assert_eq(vm_fx_from_double(-0x1p31), INT64_MIN);
    cr_assert_eq(vm_fx_from_double(0x1p31), INT64_MAX);
    cr_assert_eq(vm_fx_to_double(ONE * 3 / 2), 1.5);
    cr_assert_eq(vm_fx_to_double(INT64_MIN), -0x1p31);
    uint64_t s = 1;
    for (int i = 0; i < 10000; i++) { /* round trip is exact below 2^53 */
        vm_word w = (vm_word)(fx_rand(&s) >> 12) - ((vm_word)1 << 51);
        cr_assert_eq(vm_fx_from_double(vm_fx_to_double(w)), w);
    }
}

Test(fixed, odd_even_symmetry) {
    uint64_t s = 7;
    for (int i = 0; i < 100000; i++) {
        vm_word a = (vm_word)fx_rand(&s);
        if (a == INT64_MIN) continue;
        cr_assert_eq(vm_fx_sin(-a), -vm_fx_sin(a));
        cr_assert_eq(vm_fx_cos(-a), vm_fx_cos(a));
        vm_word b = a / 4; /* small enough not to saturate */
        cr_assert_eq(vm_fx_mul(-b, ONE * 3), -vm_fx_mul(b, ONE * 3));
    }
}

/* Pinned outputs: programs' results depend on these bits, so any change to an
 * algorithm must be deliberate (update docs/fixed-point.md and these). */
Test(fixed, golden_values) {
    uint64_t s = 2024, h = 0;
    for (int i = 0; i < 4096; i++) {
        vm_word a = fx_uniform(&s, -40 * ONE, 40 * ONE);
        vm_word r[] = {vm_fx_sin(a),  vm_fx_cos(a),    vm_fx_exp(a / 2), vm_fx_log(a),
                       vm_fx_sqrt(a), vm_fx_mul(a, a), vm_fx_div(ONE, a)};
        for (size_t j = 0; j < sizeof r / sizeof r[0]; j++)
            h = (h ^ (uint64_t)r[j]) * 0x100000001b3ull;
    }
    cr_assert_eq(h, 0x58aa2517fd9afbdbull, "golden hash is 0x%016llx", (unsigned long long)h);
}

/* ---- accuracy against exact references and libm (long double) ---- */

/* Exact FMUL: round half away from zero via C's truncating division. */
static vm_word ref_mul(vm_word a, vm_word b) {
    i128 p = (i128)a * b, q = p / ((i128)1 << 32), rem = p % ((i128)1 << 32);
    if (rem >= ((i128)1 << 31)) q++;
    if (rem <= -((i128)1 << 31)) q--;
    return q > INT64_MAX ? INT64_MAX : q < INT64_MIN ? INT64_MIN : (vm_word)q;
}

static vm_word ref_div(vm_word a, vm_word b) {
    if (b == 0) return 0;
    i128 q = (i128)a * ((i128)1 << 32) / b;
    return q > INT64_MAX ? INT64_MAX : q < INT64_MIN ? INT64_MIN : (vm_word)q;
}

Test(fixed, mul_div_exact) {
    uint64_t s = 11;
    for (int i = 0; i < N_ACC; i++) {
        vm_word a, b;
        switch (i % 3) {
        case 0: a = (vm_word)fx_rand(&s), b = (vm_word)fx_rand(&s); break;
        case 1:
            a = fx_uniform(&s, -100 * ONE, 100 * ONE), b = fx_uniform(&s, -100 * ONE, 100 * ONE);
            break;
        default:
            a = fx_logscale(&s) * (fx_rand(&s) & 1 ? -1 : 1);
            b = fx_logscale(&s) * (fx_rand(&s) & 1 ? -1 : 1);
        }
        cr_assert_eq(vm_fx_mul(a, b), ref_mul(a, b), "mul(%lld, %lld)", (long long)a, (long long)b);
        cr_assert_eq(vm_fx_div(a, b), ref_div(a, b), "div(%lld, %lld)", (long long)a, (long long)b);
    }
}

/* sqrt is exact: r = floor(sqrt(a * 2^32)), i.e. r^2 <= a*2^32 < (r+1)^2. */
Test(fixed, sqrt_exact) {
    uint64_t s = 13;
    long double worst = 0;
    for (int i = 0; i < N_ACC; i++) {
        vm_word a = i % 2 ? fx_logscale(&s) : (vm_word)(fx_rand(&s) >> 1);
        u128 n = (u128)(uint64_t)a << 32, r = (u128)(uint64_t)vm_fx_sqrt(a);
        cr_assert(r * r <= n && (r + 1) * (r + 1) > n, "sqrt(%lld)", (long long)a);
        long double e = fx_err(vm_fx_sqrt(a), sqrtl(fx_ld(a)));
        if (e > worst) worst = e;
    }
    cr_log_info("sqrt: max error %.3Lf ulp (truncation)", worst);
    cr_assert_leq(worst, 1.0L); /* < 1 exactly; long double rounding may show 1 */
}

static long double max_err_trig(bool cosine, vm_word lo, vm_word hi, uint64_t seed) {
    uint64_t s = seed;
    long double worst = 0;
    for (int i = 0; i < N_ACC; i++) {
        vm_word a = lo == hi ? (vm_word)fx_rand(&s) : fx_uniform(&s, lo, hi);
        long double x = fx_ld(a);
        long double e = cosine ? fx_err(vm_fx_cos(a), cosl(x)) : fx_err(vm_fx_sin(a), sinl(x));
        if (e > worst) worst = e;
    }
    return worst;
}

Test(fixed, sin_cos_accuracy) {
    struct {
        const char *name;
        vm_word lo, hi; /* lo == hi: the whole int64 range */
    } ranges[] = {
        {"[-2pi, 2pi]", -7 * ONE, 7 * ONE},
        {"[-100, 100]", -100 * ONE, 100 * ONE},
        {"[-2^20, 2^20]", -(ONE << 20), ONE << 20},
        {"all int64", 0, 0},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        long double es = max_err_trig(false, ranges[i].lo, ranges[i].hi, 100 + i);
        long double ec = max_err_trig(true, ranges[i].lo, ranges[i].hi, 200 + i);
        cr_log_info("sin %s: max %.6Lf ulp; cos: max %.6Lf ulp", ranges[i].name, es, ec);
        cr_assert_leq(es, 0.51L, "sin %s: %.6Lf ulp", ranges[i].name, es);
        cr_assert_leq(ec, 0.51L, "cos %s: %.6Lf ulp", ranges[i].name, ec);
    }
}

/* exp's error is the final rounding (0.5 ulp) plus a relative part from the
 * Q.62 evaluation: |err| <= 0.5 ulp + rel * exp(a). Measure both parts. */
Test(fixed, exp_accuracy) {
    uint64_t s = 17;
    long double worst_abs = 0, worst_all = 0, worst_rel = 0;
    for (int i = 0; i < N_ACC; i++) {
        vm_word a = fx_uniform(&s, -23 * ONE, 92288378626); /* up to ln(2^31) */
        long double want = expl(fx_ld(a)), e = fx_err(vm_fx_exp(a), want);
        if (a <= 10 * ONE && e > worst_abs) worst_abs = e;
        if (e > worst_all) worst_all = e;
        long double rel = (e - 0.5L) / (want * 4294967296.0L);
        if (rel > worst_rel) worst_rel = rel;
    }
    cr_log_info("exp: max %.6Lf ulp on [-23, 10], %.6Lf ulp on [-23, ln 2^31]; "
                "relative part %.3Lg (2^%.1Lf)",
                worst_abs, worst_all, worst_rel, worst_rel > 0 ? log2l(worst_rel) : -INFINITY);
    cr_assert_leq(worst_abs, 0.51L);
    cr_assert_leq(worst_rel, 0x1p-60L);
}

Test(fixed, log_accuracy) {
    uint64_t s = 19;
    long double worst = 0;
    for (int i = 0; i < N_ACC; i++) {
        vm_word a = i % 2 ? fx_logscale(&s) : fx_uniform(&s, 1, 100 * ONE);
        long double e = fx_err(vm_fx_log(a), logl(fx_ld(a)));
        if (e > worst) worst = e;
    }
    cr_log_info("log: max %.6Lf ulp over all positive words", worst);
    cr_assert_leq(worst, 0.51L);
}
