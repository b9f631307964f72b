/* Internal to vm/evm/: 256-bit unsigned words as four 64-bit limbs, least
 * significant limb first. Hot operations are static inline; division and the
 * 512-bit modular operations live in uint256.c. Every operation is defined
 * for every input (division by zero gives zero, as in the EVM). */
#ifndef FRUGAL_EVM_UINT256_H
#define FRUGAL_EVM_UINT256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef unsigned __int128 u128;

typedef struct {
    uint64_t w[4];
} u256;

static inline u256 u256_from64(uint64_t x) {
    return (u256){{x, 0, 0, 0}};
}
static inline bool u256_is_zero(const u256 *a) {
    return (a->w[0] | a->w[1] | a->w[2] | a->w[3]) == 0;
}
static inline bool u256_eq(const u256 *a, const u256 *b) {
    return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2]) |
            (a->w[3] ^ b->w[3])) == 0;
}
/* True when a fits in 64 bits. */
static inline bool u256_fits64(const u256 *a) {
    return (a->w[1] | a->w[2] | a->w[3]) == 0;
}

static inline bool u256_lt(const u256 *a, const u256 *b) {
    for (int i = 3; i >= 0; i--)
        if (a->w[i] != b->w[i]) return a->w[i] < b->w[i];
    return false;
}
static inline bool u256_slt(const u256 *a, const u256 *b) {
    bool an = a->w[3] >> 63, bn = b->w[3] >> 63;
    if (an != bn) return an;
    return u256_lt(a, b);
}

static inline u256 u256_add(const u256 *a, const u256 *b) {
    u256 r;
    u128 t = (u128)a->w[0] + b->w[0];
    r.w[0] = (uint64_t)t;
    t = (t >> 64) + a->w[1] + b->w[1];
    r.w[1] = (uint64_t)t;
    t = (t >> 64) + a->w[2] + b->w[2];
    r.w[2] = (uint64_t)t;
    r.w[3] = (uint64_t)(t >> 64) + a->w[3] + b->w[3];
    return r;
}

static inline u256 u256_mul(const u256 *a, const u256 *b) {
    u256 r;
    u128 t;
    uint64_t c;
    /* column 0 */
    t = (u128)a->w[0] * b->w[0];
    r.w[0] = (uint64_t)t;
    c = (uint64_t)(t >> 64);
    /* row a0 */
    t = (u128)a->w[0] * b->w[1] + c;
    uint64_t r1 = (uint64_t)t;
    c = (uint64_t)(t >> 64);
    t = (u128)a->w[0] * b->w[2] + c;
    uint64_t r2 = (uint64_t)t;
    c = (uint64_t)(t >> 64);
    uint64_t r3 = a->w[0] * b->w[3] + c;
    /* row a1 */
    t = (u128)a->w[1] * b->w[0] + r1;
    r.w[1] = (uint64_t)t;
    c = (uint64_t)(t >> 64);
    t = (u128)a->w[1] * b->w[1] + r2 + c;
    r2 = (uint64_t)t;
    c = (uint64_t)(t >> 64);
    r3 += a->w[1] * b->w[2] + c;
    /* row a2 */
    t = (u128)a->w[2] * b->w[0] + r2;
    r.w[2] = (uint64_t)t;
    c = (uint64_t)(t >> 64);
    r3 += a->w[2] * b->w[1] + c;
    /* row a3 */
    r3 += a->w[3] * b->w[0];
    r.w[3] = r3;
    return r;
}

/* r = a + b mod 2^256; returns the carry out. */
static inline bool u256_addc(const u256 *a, const u256 *b, u256 *r) {
    unsigned long long s0, s1, s2, s3;
    bool c = __builtin_uaddll_overflow(a->w[0], b->w[0], &s0);
    bool c1 = __builtin_uaddll_overflow(a->w[1], b->w[1], &s1);
    c = c1 | __builtin_uaddll_overflow(s1, c, &s1);
    bool c2 = __builtin_uaddll_overflow(a->w[2], b->w[2], &s2);
    c = c2 | __builtin_uaddll_overflow(s2, c, &s2);
    bool c3 = __builtin_uaddll_overflow(a->w[3], b->w[3], &s3);
    c = c3 | __builtin_uaddll_overflow(s3, c, &s3);
    *r = (u256){{s0, s1, s2, s3}};
    return c;
}
/* r = a - b mod 2^256; returns the borrow out (a < b). */
static inline bool u256_subb(const u256 *a, const u256 *b, u256 *r) {
    unsigned long long d0, d1, d2, d3;
    bool c = __builtin_usubll_overflow(a->w[0], b->w[0], &d0);
    bool c1 = __builtin_usubll_overflow(a->w[1], b->w[1], &d1);
    c = c1 | __builtin_usubll_overflow(d1, c, &d1);
    bool c2 = __builtin_usubll_overflow(a->w[2], b->w[2], &d2);
    c = c2 | __builtin_usubll_overflow(d2, c, &d2);
    bool c3 = __builtin_usubll_overflow(a->w[3], b->w[3], &d3);
    c = c3 | __builtin_usubll_overflow(d3, c, &d3);
    *r = (u256){{d0, d1, d2, d3}};
    return c;
}
static inline u256 u256_sub(const u256 *a, const u256 *b) {
    u256 r;
    u256_subb(a, b, &r);
    return r;
}
static inline u256 u256_neg(const u256 *a) {
    u256 z = {{0, 0, 0, 0}};
    return u256_sub(&z, a);
}

static inline u256 u256_and(const u256 *a, const u256 *b) {
    return (u256){{a->w[0] & b->w[0], a->w[1] & b->w[1], a->w[2] & b->w[2], a->w[3] & b->w[3]}};
}
static inline u256 u256_or(const u256 *a, const u256 *b) {
    return (u256){{a->w[0] | b->w[0], a->w[1] | b->w[1], a->w[2] | b->w[2], a->w[3] | b->w[3]}};
}
static inline u256 u256_xor(const u256 *a, const u256 *b) {
    return (u256){{a->w[0] ^ b->w[0], a->w[1] ^ b->w[1], a->w[2] ^ b->w[2], a->w[3] ^ b->w[3]}};
}
static inline u256 u256_not(const u256 *a) {
    return (u256){{~a->w[0], ~a->w[1], ~a->w[2], ~a->w[3]}};
}

/* Number of significant bits (0 for zero). */
static inline unsigned u256_bits(const u256 *a) {
    for (int i = 3; i >= 0; i--)
        if (a->w[i]) return (unsigned)(64 * i + 64 - __builtin_clzll(a->w[i]));
    return 0;
}

static inline u256 u256_shl(const u256 *a, unsigned s) {
    u256 r = {{0, 0, 0, 0}};
    if (s >= 256) return r;
    unsigned limbs = s / 64, bits = s % 64;
    for (int i = 3; i >= (int)limbs; i--) {
        uint64_t v = a->w[i - limbs] << bits;
        if (bits && i - (int)limbs - 1 >= 0) v |= a->w[i - limbs - 1] >> (64 - bits);
        r.w[i] = v;
    }
    return r;
}

static inline u256 u256_shr(const u256 *a, unsigned s) {
    u256 r = {{0, 0, 0, 0}};
    if (s >= 256) return r;
    unsigned limbs = s / 64, bits = s % 64;
    for (unsigned i = 0; i + limbs < 4; i++) {
        uint64_t v = a->w[i + limbs] >> bits;
        if (bits && i + limbs + 1 < 4) v |= a->w[i + limbs + 1] << (64 - bits);
        r.w[i] = v;
    }
    return r;
}

static inline u256 u256_sar(const u256 *a, unsigned s) {
    bool neg = a->w[3] >> 63;
    if (!neg) return u256_shr(a, s);
    u256 n = u256_not(a);
    u256 r = u256_shr(&n, s);
    return u256_not(&r);
}

/* Shift amount clamped to 256 (anything >= 256 shifts everything out). */
static inline unsigned u256_shift_amount(const u256 *a) {
    return u256_fits64(a) && a->w[0] < 256 ? (unsigned)a->w[0] : 256u;
}

/* Big-endian 32 bytes <-> word. */
static inline uint64_t u256_be64(const uint8_t *b) {
    uint64_t v;
    memcpy(&v, b, 8);
    return __builtin_bswap64(v);
}
/* Unrolled by hand: four scalar limbs, never a vector through the stack. */
static inline u256 u256_from_be(const uint8_t *b) {
    return (u256){{u256_be64(b + 24), u256_be64(b + 16), u256_be64(b + 8), u256_be64(b)}};
}
static inline void u256_to_be(const u256 *a, uint8_t *b) {
    for (int i = 0; i < 4; i++) {
        uint64_t v = __builtin_bswap64(a->w[i]);
        memcpy(b + 8 * (3 - i), &v, 8);
    }
}
/* Big-endian bytes of any length up to 32 (the low bytes of the word). */
u256 evm_u256_from_bytes(const uint8_t *b, size_t n);

/* ---- uint256.c, with inline fast paths ---- */
u256 evm_u256_addmod(const u256 *a, const u256 *b, const u256 *m);
u256 evm_u256_exp(const u256 *base, const u256 *e);

/* (a + b) mod m; inline when a, b < m (one conditional subtraction). */
static inline u256 u256_addmod(const u256 *a, const u256 *b, const u256 *m) {
    if (__builtin_expect(!u256_lt(a, m) || !u256_lt(b, m), 0)) return evm_u256_addmod(a, b, m);
    u256 s, d;
    bool carry = u256_addc(a, b, &s);
    bool below = u256_subb(&s, m, &d); /* s < m */
    return carry || !below ? d : s;
}

/* base^e mod 2^256; inline for an exponent of one limb (square and
 * multiply, left to right). */
static inline u256 u256_exp(const u256 *base, const u256 *e) {
    if (__builtin_expect(!u256_fits64(e), 0)) return evm_u256_exp(base, e);
    uint64_t x = e->w[0];
    if (x == 0) return u256_from64(1);
    u256 r = *base;
    for (int i = 62 - __builtin_clzll(x); i >= 0; i--) {
        r = u256_mul(&r, &r);
        if ((x >> i) & 1) r = u256_mul(&r, base);
    }
    return r;
}

void evm_u256_divmod(const u256 *a, const u256 *b, u256 *q, u256 *r); /* b == 0: q = r = 0 */
u256 evm_u256_div(const u256 *a, const u256 *b);
u256 evm_u256_mod(const u256 *a, const u256 *b);
u256 evm_u256_sdiv(const u256 *a, const u256 *b);
u256 evm_u256_smod(const u256 *a, const u256 *b);
u256 evm_u256_mulmod(const u256 *a, const u256 *b, const u256 *m);
u256 evm_u256_signextend(const u256 *b, const u256 *x);
u256 evm_u256_byte(const u256 *i, const u256 *x);
/* Hex: "0x" followed by the shortest digits (at least one); buf >= 67 bytes. */
void evm_u256_to_hex(const u256 *a, char *buf);
/* Parses optional 0x and up to 64 hex digits. Returns 0 or -1. */
int evm_u256_from_hex(const char *s, u256 *out);

#endif
