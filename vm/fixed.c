/* Q32.32 fixed point for the F* opcodes (docs/fixed-point.md).
 *
 * Everything the VM calls is integer-only (int64 and __int128), so results are
 * bit-exact on every machine, and defined for every input word. Internally the
 * transcendental functions work in Q1.62 (or Q.96 where sums exceed 2) and
 * round once at the end. Right shifts of negative __int128 values are
 * arithmetic: GCC and Clang define them so (implementation-defined, not UB).
 */
#include "vm/vm.h"

typedef __int128 i128;
typedef unsigned __int128 u128;

#define Q62_ONE ((int64_t)1 << 62)

/* Constants, rounded to nearest unless noted (computed with 400-bit mpmath). */
#define TWO_OVER_PI_HI 0xa2f9836e4e441529ull /* floor(2/pi * 2^128), high word */
#define TWO_OVER_PI_LO 0xfc2757d1f534ddc0ull /* ... low word */
#define PIO2_Q62       ((int64_t)0x6487ed5110b4611all)
#define LN2_Q96        (((i128)0xb17217f7ll << 64) | (i128)0xd1cf79abc9e3b398ull)
#define INV_LN2_Q62    ((int64_t)0x5c551d94ae0bf85ell)
#define SQRT2_Q62      ((uint64_t)0x5a827999fcef3242ull)

/* Magnitude of a word as unsigned (|INT64_MIN| = 2^63 is representable). */
static inline uint64_t uabs64(int64_t a) {
    return a < 0 ? 0 - (uint64_t)a : (uint64_t)a;
}

/* Signed result from a magnitude, saturating to INT64_MIN/INT64_MAX. */
static inline int64_t sat_signed(u128 mag, bool neg) {
    if (neg) return mag >= ((u128)1 << 63) ? INT64_MIN : -(int64_t)mag;
    return mag > (u128)INT64_MAX ? INT64_MAX : (int64_t)mag;
}

/* a*b for Q.62 operands, rounded to nearest (ties up). Callers keep |a*b| < 2. */
static inline int64_t mul62(int64_t a, int64_t b) {
    return (int64_t)(((i128)a * b + ((i128)1 << 61)) >> 62);
}

/* Q.62 -> Q32.32, rounded to nearest, ties away from zero (keeps odd symmetry). */
static inline int64_t q62_to_fx(int64_t v) {
    uint64_t m = (uabs64(v) + ((uint64_t)1 << 29)) >> 30;
    return v < 0 ? -(int64_t)m : (int64_t)m;
}

vm_word vm_fx_mul(vm_word a, vm_word b) {
    u128 p = (u128)uabs64(a) * uabs64(b);
    return sat_signed((p + ((u128)1 << 31)) >> 32, (a < 0) != (b < 0));
}

vm_word vm_fx_div(vm_word a, vm_word b) {
    if (b == 0) return 0;
    u128 q = ((u128)uabs64(a) << 32) / uabs64(b); /* truncation toward zero */
    return sat_signed(q, (a < 0) != (b < 0));
}

/* round(sqrt(i + 64.5) * 16) - 128 for i in 0..191: an 8-bit first guess. */
static const uint8_t sqrt_guess[192] = {
    0,   1,   2,   3,   4,   5,   6,   7,   8,   9,   10,  11,  12,  13,  14,  15,  16,  16,
    17,  18,  19,  20,  21,  22,  23,  23,  24,  25,  26,  27,  28,  28,  29,  30,  31,  32,
    32,  33,  34,  35,  36,  36,  37,  38,  39,  39,  40,  41,  42,  42,  43,  44,  45,  45,
    46,  47,  48,  48,  49,  50,  51,  51,  52,  53,  53,  54,  55,  55,  56,  57,  58,  58,
    59,  60,  60,  61,  62,  62,  63,  64,  64,  65,  66,  66,  67,  68,  68,  69,  70,  70,
    71,  72,  72,  73,  73,  74,  75,  75,  76,  77,  77,  78,  78,  79,  80,  80,  81,  82,
    82,  83,  83,  84,  85,  85,  86,  86,  87,  88,  88,  89,  89,  90,  91,  91,  92,  92,
    93,  93,  94,  95,  95,  96,  96,  97,  97,  98,  99,  99,  100, 100, 101, 101, 102, 102,
    103, 104, 104, 105, 105, 106, 106, 107, 107, 108, 109, 109, 110, 110, 111, 111, 112, 112,
    113, 113, 114, 114, 115, 115, 116, 116, 117, 118, 118, 119, 119, 120, 120, 121, 121, 122,
    122, 123, 123, 124, 124, 125, 125, 126, 126, 127, 127, 128,
};

/* floor(sqrt(n)) for 2^32 <= n < 2^96: table guess (~2^-8 relative), three
 * Newton steps (2^-17, 2^-35, 2^-71), then an exact +-1 fix-up. */
static uint64_t isqrt96(u128 n) {
    uint64_t hi = (uint64_t)(n >> 64);
    int bits = hi ? 128 - __builtin_clzll(hi) : 64 - __builtin_clzll((uint64_t)n);
    int sh = (bits - 7) & ~1; /* even, so the top 7 or 8 bits index the table */
    unsigned top = (unsigned)(n >> sh);
    uint64_t x = ((uint64_t)(sqrt_guess[top - 64] + 128) << (sh / 2)) >> 4;
    for (int i = 0; i < 3; i++)
        x = (x + (uint64_t)(n / x)) >> 1;
    while ((u128)x * x > n)
        x--;
    while ((u128)(x + 1) * (x + 1) <= n)
        x++;
    return x;
}

vm_word vm_fx_sqrt(vm_word a) {
    if (a <= 0) return 0;
    return (vm_word)isqrt96((u128)(uint64_t)a << 32);
}

/* Reduce |x| (Q32.32) modulo pi/2: t = |x| * 2/pi from a 64x128-bit product,
 * so the reduction is exact to ~2^-97 for every input. Returns the quadrant
 * (mod 4) of the nearest multiple and r = |x| - q*pi/2 in Q.62, |r| <= pi/4. */
static int64_t reduce_pio2(uint64_t m, unsigned *quad) {
    u128 lo = (u128)m * TWO_OVER_PI_LO;
    u128 hi = (u128)m * TWO_OVER_PI_HI;
    u128 mid = (lo >> 64) + (uint64_t)hi;                        /* product bits 64.. */
    uint64_t top = (uint64_t)(hi >> 64) + (uint64_t)(mid >> 64); /* bits 128..191 */
    uint64_t frac = (top << 32) | ((uint64_t)mid >> 32);         /* t mod 1 in Q0.64 */
    /* A fraction >= 1/2 becomes negative as int64: that is rounding t to the
     * nearest quadrant. */
    *quad = (unsigned)((top >> 32) + (frac >> 63)) & 3;
    i128 r = (i128)(int64_t)frac * PIO2_Q62;
    return (int64_t)((r + ((i128)1 << 63)) >> 64);
}

/* Taylor series in Q.62 on |r| <= pi/4, coefficients +-1/k! highest first;
 * the first omitted term is < 2^-54. */
static int64_t sin_q62(int64_t r) {
    static const int64_t c[] = {
        -3526632,         740592679,         -115532457973,       12708570377060,
        -915017067148291, 38430716820228233, -768614336404564651, Q62_ONE};
    int64_t r2 = mul62(r, r), p = c[0];
    for (unsigned i = 1; i < sizeof c / sizeof c[0]; i++)
        p = c[i] + mul62(r2, p);
    return mul62(r, p);
}

static int64_t cos_q62(int64_t r) {
    static const int64_t c[] = {
        220414,          -52899477,         9627704831,         -1270857037706,
        114377133393536, -6405119470038039, 192153584101141163, -2305843009213693952,
        Q62_ONE};
    int64_t r2 = mul62(r, r), p = c[0];
    for (unsigned i = 1; i < sizeof c / sizeof c[0]; i++)
        p = c[i] + mul62(r2, p);
    return p;
}

/* sin(|x| + shift*pi/2) with the sign flipped when neg. */
static vm_word fx_sincos(vm_word a, unsigned shift, bool neg) {
    unsigned q;
    int64_t r = reduce_pio2(uabs64(a), &q);
    q = (q + shift) & 3;
    int64_t v = q62_to_fx((q & 1) ? cos_q62(r) : sin_q62(r));
    if (q & 2) neg = !neg;
    return neg ? -v : v;
}

vm_word vm_fx_sin(vm_word a) {
    return fx_sincos(a, 0, a < 0);
}
vm_word vm_fx_cos(vm_word a) {
    return fx_sincos(a, 1, false);
}

/* exp(a) = 2^n * exp(r), n = round(a/ln2), |r| <= ln2/2 (reduced in Q.96),
 * exp(r) by Taylor to r^15 in Q.62, coefficients 1/k! highest first (first
 * omitted term < 2^-68). */
vm_word vm_fx_exp(vm_word a) {
    if (a >= (int64_t)22 << 32) return INT64_MAX; /* exp(22) > 2^31 */
    if (a <= -((int64_t)23 << 32)) return 0;      /* exp(-23) < 2^-33, half an ulp */
    i128 t = (i128)a * INV_LN2_Q62;               /* Q.94 */
    int64_t n = (int64_t)((t + ((i128)1 << 93)) >> 94);
    i128 r96 = (i128)a * ((i128)1 << 64) - (i128)n * LN2_Q96;
    int64_t r = (int64_t)((r96 + ((i128)1 << 33)) >> 34);
    static const int64_t c[] = {3526632,
                                52899477,
                                740592679,
                                9627704831,
                                115532457973,
                                1270857037706,
                                12708570377060,
                                114377133393536,
                                915017067148291,
                                6405119470038039,
                                38430716820228233,
                                192153584101141163,
                                768614336404564651,
                                2305843009213693952,
                                Q62_ONE,
                                Q62_ONE};
    int64_t p = c[0];
    for (unsigned i = 1; i < sizeof c / sizeof c[0]; i++)
        p = c[i] + mul62(r, p);
    /* Scale by 2^(n-30) (Q.62 -> Q32.32), rounding; n is in -33..32. */
    int s = 30 - (int)n;
    u128 v = (u128)(uint64_t)p;
    if (s <= 0)
        v <<= -s;
    else
        v = (v + ((u128)1 << (s - 1))) >> s;
    return v > (u128)INT64_MAX ? INT64_MAX : (vm_word)v;
}

/* ln(a) = (e - 32)*ln2 + 2*atanh(z), where a's integer word is m * 2^e with
 * m in [sqrt(1/2), sqrt(2)) and z = (m-1)/(m+1), |z| <= 0.1716. The atanh
 * series runs to z^17, coefficients 1/k highest first (first omitted term
 * < 2^-51); the sum is in Q.96 because |ln| reaches 22. */
vm_word vm_fx_log(vm_word a) {
    if (a <= 0) return 0;
    int e = 63 - __builtin_clzll((uint64_t)a); /* 0..62 */
    uint64_t m = (uint64_t)a << (62 - e);      /* Q.62, in [1, 2) */
    uint64_t one = (uint64_t)1 << 62;
    if (m >= SQRT2_Q62) { /* use m/2: compare m against 2 instead of 1 */
        one <<= 1;
        e++;
    }
    bool neg = m < one;
    uint64_t num = neg ? one - m : m - one;
    int64_t z = (int64_t)(((u128)num << 62) / (m + one)); /* Q.62 */
    if (neg) z = -z;
    static const int64_t c[] = {271275648142787524, 307445734561825860,  354745078340568300,
                                419244183493398900, 512409557603043100,  658812288346769701,
                                922337203685477581, 1537228672809129301, Q62_ONE};
    int64_t z2 = mul62(z, z), p = c[0];
    for (unsigned i = 1; i < sizeof c / sizeof c[0]; i++)
        p = c[i] + mul62(z2, p);
    i128 l96 = (i128)(e - 32) * LN2_Q96 + (i128)mul62(z, p) * ((i128)1 << 35);
    return (vm_word)((l96 + ((i128)1 << 63)) >> 64);
}

vm_word vm_fx_from_int(vm_word a) {
    if (a > INT32_MAX) return INT64_MAX;
    if (a < INT32_MIN) return INT64_MIN;
    return (vm_word)((uint64_t)a << 32);
}

/* Host side: nearest, ties away from zero, saturating; NaN gives 0. */
vm_word vm_fx_from_double(double d) {
    double v = d * 4294967296.0; /* exact unless it over/underflows */
    if (v != v) return 0;
    if (v >= 9223372036854775808.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    int64_t i = (int64_t)v;   /* truncates; |v| < 2^63 */
    double f = v - (double)i; /* exact */
    if (f >= 0.5)
        i++;
    else if (f <= -0.5)
        i--;
    return i;
}

double vm_fx_to_double(vm_word a) {
    return (double)a * (1.0 / 4294967296.0);
}
