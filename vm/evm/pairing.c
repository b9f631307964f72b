/* The elliptic-curve precompiles written from their EIPs (no Debian library
 * has them): alt_bn128 addition, scalar multiplication and the pairing check
 * (EIP-196, EIP-197), and the KZG proof check of EIP-4844 over BLS12-381.
 * The fields, curves and pairing are vm/evm/field.inc, included once per
 * curve; their constants are computed once, on first use. */
#include "vm/evm/precompile.h"

#include <gmp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* each curve uses what it needs of the template */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"

/* ---- alt_bn128: p = 0x30644e72...d87cfd47, xi = 9 + u, b = 3, D-type twist ---- */
#define FQ_N     4
#define FQ(name) bn_##name
#define FQ_P                                                                                       \
    { 0x3c208c16d87cfd47ull, 0x97816a916871ca8dull, 0xb85045b68181585dull, 0x30644e72e131a029ull }
#include "vm/evm/field.inc"
#undef FQ_N
#undef FQ
#undef FQ_P

/* ---- BLS12-381: p = 0x1a0111ea...ffffaaab, xi = 1 + u, b = 4, M-type twist ---- */
#define FQ_N     6
#define FQ(name) bls_##name
#define FQ_P                                                                                       \
    {                                                                                              \
        0xb9feffffffffaaabull, 0x1eabfffeb153ffffull, 0x6730d2a0f6b0f624ull,                       \
            0x64774b84f38512bfull, 0x4b1ba7b6434bacd7ull, 0x1a0111ea397fe69aull                    \
    }
#include "vm/evm/field.inc"
#undef FQ_N
#undef FQ
#undef FQ_P
#pragma GCC diagnostic pop

/* BLS12-381 generators and the KZG ceremony's [tau]_2 (the second G2 point of
 * the trusted setup, consensus-specs trusted_setup_4096.json), compressed. */
static const char *const BLS_G1_HEX = "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171b"
                                      "ac586c55e83ff97a1aeffb3af00adb22c6bb";
static const char *const BLS_G2_HEX = "93e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f"
                                      "5049334cf11213945d57e5ac7d055d042b7e"
                                      "024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3"
                                      "d1770bac0326a805bbefd48056c8c121bdb8";
static const char *const KZG_TAU_G2_HEX = "b5bfd7dd8cdeb128843bc287230af38926187075cbfbefa81009a2ce"
                                          "615ac53d2914e5870cb452d2afaaab24f3499f72"
                                          "185cbfee53492714734429b7b38608e23926c911cceceac9a3685147"
                                          "7ba4c60b087041de621000edc98edada20c1def2";

static struct {
    bool ok;
    bls_g1 g1;
    bls_g2 g2, tau;
} KZG;

static int nibble(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool unhex(uint8_t *out, const char *hex, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int hi = nibble(hex[2 * i]), lo = hi < 0 ? -1 : nibble(hex[2 * i + 1]);
        if (lo < 0) return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* ZCash-format compressed BLS12-381 points (the KZG commitment and proof):
 * flags in the top three bits of the first byte (compressed, infinity,
 * y is the larger root); x below p; on the curve; in the order-r subgroup. */
static bool bls_g1_decompress(bls_g1 *pt, const uint8_t in[48]) {
    uint8_t flags = in[0] & 0xe0, b[48];
    if (!(flags & 0x80)) return false;
    memcpy(b, in, 48);
    b[0] &= 0x1f;
    if (flags & 0x40) {
        if (flags & 0x20) return false;
        for (int i = 0; i < 48; i++)
            if (b[i]) return false;
        bls_g1_set_inf(pt);
        return true;
    }
    bls_fp x, y, rhs, ny;
    if (!bls_fp_from_be(&x, b, 48)) return false;
    bls_fp_sqr(&rhs, &x);
    bls_fp_mul(&rhs, &rhs, &x);
    bls_fp_add(&rhs, &rhs, &bls_C.b1);
    if (!bls_fp_sqrt(&y, &rhs)) return false;
    uint64_t plain[6];
    bls_fp_plain(plain, &y);
    bool larger = !bls_geq(bls_C.half.l, plain); /* y > (p - 1)/2 */
    if (larger != !!(flags & 0x20)) {
        bls_fp_neg(&ny, &y);
        y = ny;
    }
    bls_g1_from_affine(pt, &x, &y);
    return bls_g1_in_subgroup(pt);
}

static bool bls_g2_decompress(bls_g2 *pt, const uint8_t in[96]) {
    uint8_t flags = in[0] & 0xe0, b[96];
    if (!(flags & 0x80)) return false;
    memcpy(b, in, 96);
    b[0] &= 0x1f;
    if (flags & 0x40) {
        if (flags & 0x20) return false;
        for (int i = 0; i < 96; i++)
            if (b[i]) return false;
        bls_g2_set_inf(pt);
        return true;
    }
    bls_fp2 x, y, rhs, ny;
    if (!bls_fp_from_be(&x.b, b, 48) || !bls_fp_from_be(&x.a, b + 48, 48)) return false;
    bls_fp2_sqr(&rhs, &x);
    bls_fp2_mul(&rhs, &rhs, &x);
    bls_fp2_add(&rhs, &rhs, &bls_C.b2);
    if (!bls_fp2_sqrt(&y, &rhs)) return false;
    uint64_t c1[6], c0[6];
    bls_fp_plain(c1, &y.b);
    bls_fp_plain(c0, &y.a);
    bool larger = bls_fp_is_zero(&y.b) ? !bls_geq(bls_C.half.l, c0) : !bls_geq(bls_C.half.l, c1);
    if (larger != !!(flags & 0x20)) {
        bls_fp2_neg(&ny, &y);
        y = ny;
    }
    bls_g2_from_affine(pt, &x, &y);
    return bls_g2_in_subgroup(pt);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void) {
    bn_init(9, 3, false, true, "44e992b44a6909f1",
            "30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001");
    if (!bls_init(1, 4, true, false, "d201000000010000",
                  "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001"))
        return;
    uint8_t b[96];
    KZG.ok = unhex(b, BLS_G1_HEX, 48) && bls_g1_decompress(&KZG.g1, b) &&
             unhex(b, BLS_G2_HEX, 96) && bls_g2_decompress(&KZG.g2, b) &&
             unhex(b, KZG_TAU_G2_HEX, 96) && bls_g2_decompress(&KZG.tau, b) &&
             !bls_g1_is_inf(&KZG.g1) && !bls_g2_is_inf(&KZG.g2) && !bls_g2_is_inf(&KZG.tau);
}

bool evm_pairing_ready(void) {
    pthread_once(&once, init);
    return bn_C.ok && bls_C.ok && KZG.ok;
}

/* ---- alt_bn128 (EIP-196, EIP-197) ---- */

/* 64 bytes: x, y below p; (0, 0) is the point at infinity; else on the curve
 * (G1 is the whole curve: cofactor 1). */
static bool bn_g1_read(bn_g1 *pt, const uint8_t in[64]) {
    bn_fp x, y;
    if (!bn_fp_from_be(&x, in, 32) || !bn_fp_from_be(&y, in + 32, 32)) return false;
    if (bn_fp_is_zero(&x) && bn_fp_is_zero(&y)) {
        bn_g1_set_inf(pt);
        return true;
    }
    if (!bn_g1_on_curve(&x, &y)) return false;
    bn_g1_from_affine(pt, &x, &y);
    return true;
}

static void bn_g1_write(uint8_t out[64], const bn_g1 *pt) {
    bn_fp x, y;
    if (!bn_g1_to_affine(pt, &x, &y)) {
        memset(out, 0, 64);
        return;
    }
    bn_fp_to_be(out, 32, &x);
    bn_fp_to_be(out + 32, 32, &y);
}

int evm_bn254_add(const uint8_t in[128], uint8_t out[64]) {
    if (!evm_pairing_ready()) return -1;
    bn_g1 a, b;
    if (!bn_g1_read(&a, in) || !bn_g1_read(&b, in + 64)) return -1;
    bn_g1_add(&a, &a, &b);
    bn_g1_write(out, &a);
    return 0;
}

int evm_bn254_mul(const uint8_t in[96], uint8_t out[64]) {
    if (!evm_pairing_ready()) return -1;
    bn_g1 a;
    if (!bn_g1_read(&a, in)) return -1;
    bn_g1_mul_be(&a, &a, in + 64);
    bn_g1_write(out, &a);
    return 0;
}

/* A G2 point: x = x_im u + x_re, y likewise, encoded im first; each part
 * below p; all zero is infinity; else on the twist and in the subgroup. */
static int bn_g2_read(bn_fp2 *x, bn_fp2 *y, const uint8_t in[128]) {
    if (!bn_fp_from_be(&x->b, in, 32) || !bn_fp_from_be(&x->a, in + 32, 32) ||
        !bn_fp_from_be(&y->b, in + 64, 32) || !bn_fp_from_be(&y->a, in + 96, 32))
        return -1;
    if (bn_fp2_is_zero(x) && bn_fp2_is_zero(y)) return 1;
    if (!bn_g2_on_curve(x, y)) return -1;
    bn_g2 q;
    bn_g2_from_affine(&q, x, y);
    return bn_g2_in_subgroup(&q) ? 0 : -1;
}

int evm_bn254_pairing(const uint8_t *in, size_t n, uint8_t out[32]) {
    if (!evm_pairing_ready() || n % 192) return -1;
    size_t k = n / 192, m = 0;
    bn_pair *ps = malloc((k ? k : 1) * sizeof *ps);
    bn_g2 *ts = malloc((k ? k : 1) * sizeof *ts);
    int rc = -1;
    if (!ps || !ts) goto done;
    for (size_t i = 0; i < k; i++) {
        const uint8_t *e = in + 192 * i;
        bn_g1 p;
        bn_pair *q = &ps[m];
        if (!bn_g1_read(&p, e)) goto done;
        int g2 = bn_g2_read(&q->xq, &q->yq, e + 64);
        if (g2 < 0) goto done;
        if (g2 == 1 || !bn_g1_to_affine(&p, &q->xp, &q->yp)) continue; /* e(O, Q) = e(P, O) = 1 */
        m++;
    }
    memset(out, 0, 32);
    out[31] = bn_pairing_check(ps, m, ts);
    rc = 0;
done:
    free(ps);
    free(ts);
    return rc;
}

/* ---- KZG point evaluation (EIP-4844) ---- */

/* z, y: 32-byte big-endian field elements (below r); commitment and proof:
 * compressed G1 points. True when e(C - [y] G1, -G2) e(proof, [tau - z] G2)
 * is 1, that is, the proof shows that the committed polynomial is y at z. */
int evm_kzg_verify(const uint8_t z[32], const uint8_t y[32], const uint8_t commitment[48],
                   const uint8_t proof[48]) {
    if (!evm_pairing_ready()) return -1;
    static const uint8_t r_be[32] = {0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48,
                                     0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1, 0xd8, 0x05,
                                     0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe,
                                     0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01};
    if (memcmp(z, r_be, 32) >= 0 || memcmp(y, r_be, 32) >= 0) return -1;
    bls_g1 c, pi, t1;
    bls_g2 t2, t3;
    if (!bls_g1_decompress(&c, commitment) || !bls_g1_decompress(&pi, proof)) return -1;
    /* P1 = C - [y] G1, Q1 = -G2; P2 = proof, Q2 = [tau] - [z] G2 */
    bls_g1_mul_be(&t1, &KZG.g1, y);
    bls_g1_neg(&t1, &t1);
    bls_g1_add(&c, &c, &t1);
    bls_g2_mul_be(&t2, &KZG.g2, z);
    bls_g2_neg(&t2, &t2);
    bls_g2_add(&t2, &KZG.tau, &t2);
    bls_g2_neg(&t3, &KZG.g2);
    bls_pair ps[2];
    bls_g2 ts[2];
    size_t m = 0;
    if (bls_g1_to_affine(&c, &ps[m].xp, &ps[m].yp) && bls_g2_to_affine(&t3, &ps[m].xq, &ps[m].yq))
        m++;
    if (bls_g1_to_affine(&pi, &ps[m].xp, &ps[m].yp) && bls_g2_to_affine(&t2, &ps[m].xq, &ps[m].yq))
        m++;
    return bls_pairing_check(ps, m, ts) ? 1 : 0;
}
