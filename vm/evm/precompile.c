/* The precompiled contracts 0x01..0x0a (docs/evm.md, "Precompiled
 * contracts"): availability and gas per fork (the fork table), and their
 * work: ecrecover with libsecp256k1, SHA-256 and RIPEMD-160 with nettle,
 * identity, modexp with GMP, alt_bn128 and KZG in pairing.c, blake2f here
 * (EIP-152: libb2 does not expose the F function).
 *
 * Every contract prices its input before doing anything, and allocates
 * nothing beyond the input and the output, whose size is capped (max_out). */
#include "vm/evm/precompile.h"
#include "vm/evm/evm_impl.h"
#include "vm/evm/keccak.h"

#include <gmp.h>
#include <nettle/ripemd160.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdlib.h>

enum {
    PRE_ECRECOVER = 1,
    PRE_SHA256,
    PRE_RIPEMD160,
    PRE_IDENTITY,
    PRE_MODEXP,
    PRE_BN_ADD,
    PRE_BN_MUL,
    PRE_BN_PAIRING,
    PRE_BLAKE2F,
    PRE_KZG,
};

#define GAS_MAX INT64_MAX

int evm_precompile_of(evm_fork f, const evm_address *a) {
    for (int i = 0; i < 19; i++)
        if (a->b[i]) return 0;
    int id = a->b[19];
    return id >= 1 && id <= evm_fork_table_of(f)->precompiles ? id : 0;
}

/* in[off .. off + len) with zeros past n, into out; off and len may be
 * anywhere (they are lengths read from the input). */
static void slice(uint8_t *out, const uint8_t *in, size_t n, unsigned __int128 off, size_t len) {
    memset(out, 0, len);
    if (off >= n) return;
    size_t o = (size_t)off, k = n - o < len ? n - o : len;
    if (k) memcpy(out, in + o, k);
}

static int64_t words(size_t n) {
    return (int64_t)((n + 31) / 32);
}

/* ---- modexp (EIP-198, EIP-2565) ---- */

typedef unsigned __int128 u128;

/* A 32-byte big-endian length, saturated at 2^64 - 1. */
static uint64_t len_word(const uint8_t b[32]) {
    for (int i = 0; i < 24; i++)
        if (b[i]) return UINT64_MAX;
    uint64_t v = 0;
    for (int i = 24; i < 32; i++)
        v = v << 8 | b[i];
    return v;
}

typedef struct {
    uint64_t bl, el, ml;
} modexp_lens;

static modexp_lens modexp_header(const uint8_t *in, size_t n) {
    uint8_t h[96];
    slice(h, in, n, 0, 96);
    return (modexp_lens){len_word(h), len_word(h + 32), len_word(h + 64)};
}

/* Index of the highest set bit of the big-endian bytes, or -1. */
static int top_bit(const uint8_t *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (b[i]) return (int)(8 * (n - 1 - i)) + 63 - __builtin_clzll(b[i]);
    return -1;
}

static int64_t modexp_gas(const evm_fork_table *ft, const uint8_t *in, size_t n) {
    modexp_lens L = modexp_header(in, n);
    uint64_t x = L.bl > L.ml ? L.bl : L.ml;
    if (x == 0) return ft->modexp_eip2565 ? 200 : 0;
    if (x > ((uint64_t)1 << 40) || L.el > ((uint64_t)1 << 62)) return GAS_MAX;
    /* adjusted exponent length: from the exponent's first 32 bytes */
    uint8_t e[32];
    size_t head = L.el < 32 ? (size_t)L.el : 32;
    slice(e, in, n, (u128)96 + L.bl, head);
    int tb = top_bit(e, head);
    u128 adj = (L.el > 32 ? (u128)8 * (L.el - 32) : 0) + (tb > 0 ? (u128)tb : 0);
    u128 iter = adj > 1 ? adj : 1, cx, cost;
    if (ft->modexp_eip2565) {
        u128 w = (x + 7) / 8;
        cx = w * w;
    } else if (x <= 64) {
        cx = (u128)x * x;
    } else if (x <= 1024) {
        cx = (u128)x * x / 4 + 96 * (u128)x - 3072;
    } else {
        cx = (u128)x * x / 16 + 480 * (u128)x - 199680;
    }
    if (iter > ~(u128)0 / cx) return GAS_MAX; /* cx >= 1 */
    cost = cx * iter / (ft->modexp_eip2565 ? 3 : 20);
    if (ft->modexp_eip2565 && cost < 200) cost = 200;
    return cost >= (u128)GAS_MAX ? GAS_MAX : (int64_t)cost;
}

/* The len-byte number at in[off..] (zeros past n) = A 256^(len - avail), A
 * the available bytes: A into a, the count of missing low bytes into *miss. */
static void import_tail(mpz_t a, const uint8_t *in, size_t n, u128 off, uint64_t len,
                        uint64_t *miss) {
    size_t avail = 0;
    if (off < n) avail = n - (size_t)off < len ? n - (size_t)off : (size_t)len;
    if (avail)
        mpz_import(a, avail, 1, 1, 1, 0, in + (size_t)off);
    else
        mpz_set_ui(a, 0);
    *miss = len - avail;
}

/* B^E mod M into out (ml bytes, big-endian). The lengths have been paid
 * for; ml <= max_out. B and E may be longer than the input: their missing
 * low bytes are zeros, handled as factors 256^k without allocating them. */
static int modexp_run(const uint8_t *in, size_t n, modexp_lens L, uint8_t *out) {
    mpz_t b, e, m, t;
    mpz_inits(b, e, m, t, NULL);
    uint64_t mb, me, mm;
    u128 eo = (u128)96 + L.bl, mo = eo + L.el;
    import_tail(b, in, n, 96, L.bl, &mb);
    import_tail(e, in, n, eo, L.el, &me);
    import_tail(m, in, n, mo, L.ml, &mm);
    mpz_mul_2exp(m, m, 8 * mm); /* at most ml bytes */
    memset(out, 0, L.ml);
    if (mpz_sgn(m)) {
        mpz_mod(b, b, m);
        if (mb) { /* b 256^mb mod m */
            mpz_set_ui(t, 256);
            mpz_powm_ui(t, t, mb, m);
            mpz_mul(b, b, t);
            mpz_mod(b, b, m);
        }
        mpz_powm(b, b, e, m);
        /* then the exponent's missing low bytes: 8 me squarings (priced by
         * the adjusted exponent length); 0 and 1 are fixed points */
        for (u128 k = (u128)8 * me; k > 0 && mpz_cmp_ui(b, 1) > 0; k--) {
            mpz_mul(b, b, b);
            mpz_mod(b, b, m);
        }
        size_t nb = mpz_sgn(b) ? (mpz_sizeinbase(b, 2) + 7) / 8 : 0;
        if (nb) mpz_export(out + L.ml - nb, NULL, 1, 1, 1, 0, b);
    }
    mpz_clears(b, e, m, t, NULL);
    return 0;
}

/* ---- ecrecover ---- */

static pthread_once_t secp_once = PTHREAD_ONCE_INIT;
static void secp_init(void) {
    secp256k1_selftest();
}

/* 32 bytes: the signer's address left-padded, or 0 bytes when the
 * signature does not recover (not an error). */
static size_t ecrecover(const uint8_t *in, size_t n, uint8_t out[32]) {
    uint8_t d[128];
    slice(d, in, n, 0, 128);
    for (int i = 32; i < 63; i++)
        if (d[i]) return 0;
    if (d[63] != 27 && d[63] != 28) return 0;
    pthread_once(&secp_once, secp_init);
    const secp256k1_context *ctx = secp256k1_context_static;
    secp256k1_ecdsa_recoverable_signature sig;
    secp256k1_pubkey pk;
    uint8_t pub[65], h[32];
    size_t pn = sizeof pub;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, d + 64, d[63] - 27) ||
        !secp256k1_ecdsa_recover(ctx, &pk, &sig, d) ||
        !secp256k1_ec_pubkey_serialize(ctx, pub, &pn, &pk, SECP256K1_EC_UNCOMPRESSED))
        return 0;
    evm_keccak256(pub + 1, 64, h);
    memset(out, 0, 12);
    memcpy(out + 12, h + 12, 20);
    return 32;
}

/* ---- blake2f (EIP-152: RFC 7693's F with a rounds parameter) ---- */

static const uint64_t B2_IV[8] = {
    0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull, 0xa54ff53a5f1d36f1ull,
    0x510e527fade682d1ull, 0x9b05688c2b3e6c1full, 0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull};
static const uint8_t B2_SIGMA[10][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
};

static inline uint64_t rotr64(uint64_t x, int k) {
    return x >> k | x << (64 - k);
}

#define B2_G(a, b, c, d, x, y)                                                                     \
    do {                                                                                           \
        v[a] = v[a] + v[b] + (x);                                                                  \
        v[d] = rotr64(v[d] ^ v[a], 32);                                                            \
        v[c] = v[c] + v[d];                                                                        \
        v[b] = rotr64(v[b] ^ v[c], 24);                                                            \
        v[a] = v[a] + v[b] + (y);                                                                  \
        v[d] = rotr64(v[d] ^ v[a], 16);                                                            \
        v[c] = v[c] + v[d];                                                                        \
        v[b] = rotr64(v[b] ^ v[c], 63);                                                            \
    } while (0)

static uint64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* in: 213 bytes, f already checked; out: 64 bytes */
static void blake2f(const uint8_t *in, uint32_t rounds, uint8_t out[64]) {
    uint64_t h[8], m[16], v[16];
    for (int i = 0; i < 8; i++)
        h[i] = le64(in + 4 + 8 * i);
    for (int i = 0; i < 16; i++)
        m[i] = le64(in + 68 + 8 * i);
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = B2_IV[i];
    }
    v[12] ^= le64(in + 196);
    v[13] ^= le64(in + 204);
    if (in[212]) v[14] = ~v[14];
    for (uint32_t r = 0; r < rounds; r++) {
        const uint8_t *s = B2_SIGMA[r % 10];
        B2_G(0, 4, 8, 12, m[s[0]], m[s[1]]);
        B2_G(1, 5, 9, 13, m[s[2]], m[s[3]]);
        B2_G(2, 6, 10, 14, m[s[4]], m[s[5]]);
        B2_G(3, 7, 11, 15, m[s[6]], m[s[7]]);
        B2_G(0, 5, 10, 15, m[s[8]], m[s[9]]);
        B2_G(1, 6, 11, 12, m[s[10]], m[s[11]]);
        B2_G(2, 7, 8, 13, m[s[12]], m[s[13]]);
        B2_G(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for (int i = 0; i < 8; i++) {
        uint64_t x = h[i] ^ v[i] ^ v[i + 8];
        for (int k = 0; k < 8; k++)
            out[8 * i + k] = (uint8_t)(x >> (8 * k));
    }
}

/* ---- the contracts ---- */

int64_t evm_precompile_gas(evm_fork f, int id, const uint8_t *in, size_t n) {
    const evm_fork_table *ft = evm_fork_table_of(f);
    switch (id) {
    case PRE_ECRECOVER: return 3000;
    case PRE_SHA256: return 60 + 12 * words(n);
    case PRE_RIPEMD160: return 600 + 120 * words(n);
    case PRE_IDENTITY: return 15 + 3 * words(n);
    case PRE_MODEXP: return modexp_gas(ft, in, n);
    case PRE_BN_ADD: return ft->bn_add;
    case PRE_BN_MUL: return ft->bn_mul;
    case PRE_BN_PAIRING: return ft->bn_pairing + ft->bn_pairing_pair * (int64_t)(n / 192);
    case PRE_BLAKE2F:
        return n == 213 ? (int64_t)((uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 |
                                    (uint32_t)in[2] << 8 | in[3])
                        : 0;
    case PRE_KZG: return 50000;
    default: return GAS_MAX;
    }
}

static const uint8_t KZG_OK[64] = {
    [30] = 0x10, /* FIELD_ELEMENTS_PER_BLOB = 4096, then BLS_MODULUS */
    [32] = 0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8,
    0x08,        0x09, 0xa1, 0xd8, 0x05, 0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe,
    0x5b,        0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01};

void evm_precompile_run(evm_fork f, int id, const uint8_t *in, size_t n, int64_t gas,
                        size_t max_out, uint8_t **buf, size_t *cap, evm_result *res) {
    memset(res, 0, sizeof *res);
    int64_t cost = evm_precompile_gas(f, id, in, n);
    evm_status st = EVM_PRECOMPILE_FAILURE;
    if (id < PRE_ECRECOVER || id > PRE_KZG) goto fail;
    /* lengths that fail whatever the gas (all gas consumed either way) */
    if ((id == PRE_BLAKE2F && (n != 213 || in[212] > 1)) || (id == PRE_BN_PAIRING && n % 192) ||
        (id == PRE_KZG && n != 192))
        goto fail;
    if (cost > gas) {
        st = EVM_OUT_OF_GAS;
        goto fail;
    }
    size_t need = 64;
    modexp_lens L = {0, 0, 0};
    if (id == PRE_IDENTITY) need = n;
    if (id == PRE_MODEXP) {
        L = modexp_header(in, n);
        need = L.bl == 0 && L.ml == 0 ? 0 : (size_t)L.ml;
    }
    if (need > max_out) {
        st = EVM_OUT_OF_MEMORY;
        goto fail;
    }
    if (need > *cap) {
        uint8_t *p = realloc(*buf, need);
        if (!p) {
            st = EVM_OUT_OF_MEMORY;
            goto fail;
        }
        *buf = p;
        *cap = need;
    }
    uint8_t *out = *buf;
    size_t nout = 0;
    switch (id) {
    case PRE_ECRECOVER: nout = ecrecover(in, n, out); break;
    case PRE_SHA256: {
        struct sha256_ctx c;
        sha256_init(&c);
        sha256_update(&c, n, in);
        sha256_digest(&c, 32, out);
        nout = 32;
        break;
    }
    case PRE_RIPEMD160: {
        struct ripemd160_ctx c;
        ripemd160_init(&c);
        ripemd160_update(&c, n, in);
        memset(out, 0, 12);
        ripemd160_digest(&c, 20, out + 12);
        nout = 32;
        break;
    }
    case PRE_IDENTITY:
        if (n) memcpy(out, in, n);
        nout = n;
        break;
    case PRE_MODEXP:
        if (need) modexp_run(in, n, L, out);
        nout = need;
        break;
    case PRE_BN_ADD:
    case PRE_BN_MUL: {
        uint8_t d[128];
        slice(d, in, n, 0, 128);
        if ((id == PRE_BN_ADD ? evm_bn254_add(d, out) : evm_bn254_mul(d, out)) < 0) goto fail;
        nout = 64;
        break;
    }
    case PRE_BN_PAIRING:
        if (evm_bn254_pairing(in, n, out) < 0) goto fail;
        nout = 32;
        break;
    case PRE_BLAKE2F:
        blake2f(in, (uint32_t)cost, out);
        nout = 64;
        break;
    case PRE_KZG: {
        /* the versioned hash: SHA-256 of the commitment, first byte 0x01 */
        struct sha256_ctx c;
        uint8_t vh[32];
        sha256_init(&c);
        sha256_update(&c, 48, in + 96);
        sha256_digest(&c, 32, vh);
        vh[0] = 0x01;
        if (memcmp(vh, in, 32) || evm_kzg_verify(in + 32, in + 64, in + 96, in + 144) != 1)
            goto fail;
        memcpy(out, KZG_OK, 64);
        nout = 64;
        break;
    }
    }
    res->status = EVM_SUCCESS;
    res->gas_left = gas - cost;
    res->output = nout ? out : NULL;
    res->output_size = nout;
    return;
fail:
    memset(res, 0, sizeof *res);
    res->status = st;
}
