/* 256-bit division, modular arithmetic, exponentiation and conversions.
 * Division is Knuth's algorithm D on 64-bit limbs (TAOCP vol. 2, 4.3.1),
 * with 128-bit intermediates. */
#include "vm/evm/uint256.h"
#include "vm/evm/evm.h"

typedef __int128 i128;

/* Number of limbs without leading zero limbs (0 for zero). */
static int nlimbs(const uint64_t *x, int n) {
    while (n > 0 && x[n - 1] == 0)
        n--;
    return n;
}

/* q = u / v, r = u % v for u of m limbs and v of n limbs, 1 <= n <= m <= 8,
 * v[n-1] != 0. q has m - n + 1 limbs, r has n limbs. */
static void udivrem(const uint64_t *u, int m, const uint64_t *v, int n, uint64_t *q, uint64_t *r) {
    if (n == 1) {
        uint64_t rem = 0;
        for (int i = m - 1; i >= 0; i--) {
            u128 num = ((u128)rem << 64) | u[i];
            q[i] = (uint64_t)(num / v[0]);
            rem = (uint64_t)(num % v[0]);
        }
        r[0] = rem;
        return;
    }
    uint64_t un[9], vn[8];
    int s = __builtin_clzll(v[n - 1]);
    if (s) {
        for (int i = n - 1; i > 0; i--)
            vn[i] = (v[i] << s) | (v[i - 1] >> (64 - s));
        vn[0] = v[0] << s;
        un[m] = u[m - 1] >> (64 - s);
        for (int i = m - 1; i > 0; i--)
            un[i] = (u[i] << s) | (u[i - 1] >> (64 - s));
        un[0] = u[0] << s;
    } else {
        for (int i = 0; i < n; i++)
            vn[i] = v[i];
        for (int i = 0; i < m; i++)
            un[i] = u[i];
        un[m] = 0;
    }
    const u128 b = (u128)1 << 64;
    for (int j = m - n; j >= 0; j--) {
        u128 num = ((u128)un[j + n] << 64) | un[j + n - 1];
        u128 qhat = num / vn[n - 1];
        u128 rhat = num % vn[n - 1];
        while (qhat >= b || qhat * vn[n - 2] > ((rhat << 64) | un[j + n - 2])) {
            qhat--;
            rhat += vn[n - 1];
            if (rhat >= b) break;
        }
        i128 k = 0, t;
        for (int i = 0; i < n; i++) {
            u128 p = qhat * vn[i];
            t = (i128)un[i + j] - k - (i128)(uint64_t)p;
            un[i + j] = (uint64_t)t;
            k = (i128)(p >> 64) - (t >> 64);
        }
        t = (i128)un[j + n] - k;
        un[j + n] = (uint64_t)t;
        q[j] = (uint64_t)qhat;
        if (t < 0) {
            q[j]--;
            u128 c = 0;
            for (int i = 0; i < n; i++) {
                u128 sum = (u128)un[i + j] + vn[i] + c;
                un[i + j] = (uint64_t)sum;
                c = sum >> 64;
            }
            un[j + n] += (uint64_t)c;
        }
    }
    if (s) {
        for (int i = 0; i < n - 1; i++)
            r[i] = (un[i] >> s) | (un[i + 1] << (64 - s));
        r[n - 1] = un[n - 1] >> s;
    } else {
        for (int i = 0; i < n; i++)
            r[i] = un[i];
    }
}

/* Generic: u (m limbs) mod/div v (4 limbs), results 4-limb remainder and
 * quotient truncated to qn limbs. */
static void divmod_wide(const uint64_t *u, int m, const u256 *v, uint64_t *q, int qn, u256 *r) {
    int n = nlimbs(v->w, 4);
    int mm = nlimbs(u, m);
    for (int i = 0; i < qn; i++)
        q[i] = 0;
    *r = (u256){{0, 0, 0, 0}};
    if (n == 0) return;
    if (mm < n) {
        for (int i = 0; i < mm; i++)
            r->w[i] = u[i];
        return;
    }
    uint64_t qq[9] = {0}, rr[8] = {0};
    udivrem(u, mm, v->w, n, qq, rr);
    for (int i = 0; i < qn && i < 9; i++)
        q[i] = qq[i];
    for (int i = 0; i < n; i++)
        r->w[i] = rr[i];
}

void evm_u256_divmod(const u256 *a, const u256 *b, u256 *q, u256 *r) {
    if (u256_fits64(a) && u256_fits64(b)) {
        if (b->w[0] == 0) {
            *q = *r = (u256){{0, 0, 0, 0}};
        } else {
            *q = u256_from64(a->w[0] / b->w[0]);
            *r = u256_from64(a->w[0] % b->w[0]);
        }
        return;
    }
    u256 qq;
    divmod_wide(a->w, 4, b, qq.w, 4, r);
    *q = qq;
}

u256 evm_u256_div(const u256 *a, const u256 *b) {
    u256 q, r;
    evm_u256_divmod(a, b, &q, &r);
    return q;
}

u256 evm_u256_mod(const u256 *a, const u256 *b) {
    u256 q, r;
    evm_u256_divmod(a, b, &q, &r);
    return r;
}

static inline bool is_neg(const u256 *a) {
    return a->w[3] >> 63;
}

u256 evm_u256_sdiv(const u256 *a, const u256 *b) {
    bool na = is_neg(a), nb = is_neg(b);
    u256 x = na ? u256_neg(a) : *a, y = nb ? u256_neg(b) : *b;
    u256 q = evm_u256_div(&x, &y);
    return na != nb ? u256_neg(&q) : q;
}

u256 evm_u256_smod(const u256 *a, const u256 *b) {
    bool na = is_neg(a), nb = is_neg(b);
    u256 x = na ? u256_neg(a) : *a, y = nb ? u256_neg(b) : *b;
    u256 r = evm_u256_mod(&x, &y);
    return na ? u256_neg(&r) : r;
}

u256 evm_u256_addmod(const u256 *a, const u256 *b, const u256 *m) {
    if (u256_lt(a, m) && u256_lt(b, m)) { /* the common case: one conditional subtraction */
        u256 sum = u256_add(a, b);
        bool carry = u256_lt(&sum, a);
        if (carry || !u256_lt(&sum, m)) sum = u256_sub(&sum, m);
        return sum;
    }
    uint64_t s[5];
    u128 c = 0;
    for (int i = 0; i < 4; i++) {
        c += (u128)a->w[i] + b->w[i];
        s[i] = (uint64_t)c;
        c >>= 64;
    }
    s[4] = (uint64_t)c;
    uint64_t q[5];
    u256 r;
    divmod_wide(s, 5, m, q, 5, &r);
    return r;
}

u256 evm_u256_mulmod(const u256 *a, const u256 *b, const u256 *m) {
    uint64_t p[8] = {0};
    for (int i = 0; i < 4; i++) {
        uint64_t c = 0;
        for (int j = 0; j < 4; j++) {
            u128 t = (u128)a->w[i] * b->w[j] + p[i + j] + c;
            p[i + j] = (uint64_t)t;
            c = (uint64_t)(t >> 64);
        }
        p[i + 4] = c;
    }
    uint64_t q[8];
    u256 r;
    divmod_wide(p, 8, m, q, 8, &r);
    return r;
}

u256 evm_u256_exp(const u256 *base, const u256 *e) {
    unsigned bits = u256_bits(e);
    if (bits == 0) return u256_from64(1);
    /* left to right: bits-1 squarings and one multiply per further set bit */
    u256 r = *base;
    for (int i = (int)bits - 2; i >= 0; i--) {
        r = u256_mul(&r, &r);
        if ((e->w[i / 64] >> (i % 64)) & 1) r = u256_mul(&r, base);
    }
    return r;
}

u256 evm_u256_signextend(const u256 *b, const u256 *x) {
    if (!u256_fits64(b) || b->w[0] >= 31) return *x;
    unsigned bit = (unsigned)b->w[0] * 8 + 7; /* sign bit index, <= 247 */
    unsigned limb = bit / 64, off = bit % 64;
    bool neg = (x->w[limb] >> off) & 1;
    u256 r = *x;
    uint64_t mask = off == 63 ? ~0ull : ((1ull << (off + 1)) - 1); /* bits kept */
    if (neg) {
        r.w[limb] |= ~mask;
        for (unsigned i = limb + 1; i < 4; i++)
            r.w[i] = ~0ull;
    } else {
        r.w[limb] &= mask;
        for (unsigned i = limb + 1; i < 4; i++)
            r.w[i] = 0;
    }
    return r;
}

u256 evm_u256_byte(const u256 *i, const u256 *x) {
    if (!u256_fits64(i) || i->w[0] >= 32) return u256_from64(0);
    unsigned k = 31 - (unsigned)i->w[0]; /* byte index from the least significant end */
    return u256_from64((x->w[k / 8] >> (8 * (k % 8))) & 0xff);
}

u256 evm_u256_from_bytes(const uint8_t *b, size_t n) {
    uint8_t buf[32] = {0};
    if (n > 32) {
        b += n - 32;
        n = 32;
    }
    memcpy(buf + 32 - n, b, n);
    return u256_from_be(buf);
}

void evm_u256_to_hex(const u256 *a, char *buf) {
    static const char hx[] = "0123456789abcdef";
    char *p = buf;
    *p++ = '0';
    *p++ = 'x';
    bool started = false;
    for (int i = 63; i >= 0; i--) {
        unsigned d = (a->w[i / 16] >> (4 * (i % 16))) & 15;
        if (d || started || i == 0) {
            *p++ = hx[d];
            started = true;
        }
    }
    *p = 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int evm_u256_from_hex(const char *s, u256 *out) {
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    size_t n = strlen(s);
    if (n > 64) return -1;
    u256 r = {{0, 0, 0, 0}};
    for (size_t i = 0; i < n; i++) {
        int d = hexval(s[i]);
        if (d < 0) return -1;
        size_t k = n - 1 - i; /* nibble index from the low end */
        r.w[k / 16] |= (uint64_t)d << (4 * (k % 16));
    }
    *out = r;
    return 0;
}

_Static_assert(sizeof(evm_word) == sizeof(u256), "evm_word is a u256");

int evm_word_op(uint8_t op, const evm_word *aw, evm_word *outw) {
    const u256 *a = (const u256 *)aw, *b = a + 1, *c = a + 2;
    u256 *r = (u256 *)outw;
    switch (op) {
    case EVM_OP_ADD: *r = u256_add(a, b); return 2;
    case EVM_OP_MUL: *r = u256_mul(a, b); return 2;
    case EVM_OP_SUB: *r = u256_sub(a, b); return 2;
    case EVM_OP_DIV: *r = evm_u256_div(a, b); return 2;
    case EVM_OP_SDIV: *r = evm_u256_sdiv(a, b); return 2;
    case EVM_OP_MOD: *r = evm_u256_mod(a, b); return 2;
    case EVM_OP_SMOD: *r = evm_u256_smod(a, b); return 2;
    case EVM_OP_ADDMOD: *r = evm_u256_addmod(a, b, c); return 3;
    case EVM_OP_MULMOD: *r = evm_u256_mulmod(a, b, c); return 3;
    case EVM_OP_EXP: *r = evm_u256_exp(a, b); return 2;
    case EVM_OP_SIGNEXTEND: *r = evm_u256_signextend(a, b); return 2;
    case EVM_OP_LT: *r = u256_from64(u256_lt(a, b)); return 2;
    case EVM_OP_GT: *r = u256_from64(u256_lt(b, a)); return 2;
    case EVM_OP_SLT: *r = u256_from64(u256_slt(a, b)); return 2;
    case EVM_OP_SGT: *r = u256_from64(u256_slt(b, a)); return 2;
    case EVM_OP_EQ: *r = u256_from64(u256_eq(a, b)); return 2;
    case EVM_OP_ISZERO: *r = u256_from64(u256_is_zero(a)); return 1;
    case EVM_OP_AND: *r = u256_and(a, b); return 2;
    case EVM_OP_OR: *r = u256_or(a, b); return 2;
    case EVM_OP_XOR: *r = u256_xor(a, b); return 2;
    case EVM_OP_NOT: *r = u256_not(a); return 1;
    case EVM_OP_BYTE: *r = evm_u256_byte(a, b); return 2;
    case EVM_OP_SHL: *r = u256_shl(b, u256_shift_amount(a)); return 2;
    case EVM_OP_SHR: *r = u256_shr(b, u256_shift_amount(a)); return 2;
    case EVM_OP_SAR: *r = u256_sar(b, u256_shift_amount(a)); return 2;
    default: return -1;
    }
}
