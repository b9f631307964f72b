/* Keccak-f[1600] and the Keccak-256 sponge (FIPS 202 permutation, original
 * Keccak padding). */
#include "vm/evm/keccak.h"

#include <string.h>

static const uint64_t RC[24] = {
    0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808aull, 0x8000000080008000ull,
    0x000000000000808bull, 0x0000000080000001ull, 0x8000000080008081ull, 0x8000000000008009ull,
    0x000000000000008aull, 0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000aull,
    0x000000008000808bull, 0x800000000000008bull, 0x8000000000008089ull, 0x8000000000008003ull,
    0x8000000000008002ull, 0x8000000000000080ull, 0x000000000000800aull, 0x800000008000000aull,
    0x8000000080008081ull, 0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull,
};

/* rho offsets and pi destinations, walking the lanes in pi order from (1,0). */
static const unsigned ROT[24] = {1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
                                 27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44};
static const unsigned PI[24] = {10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
                                15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1};

static inline uint64_t rotl(uint64_t x, unsigned n) {
    return (x << n) | (x >> (64 - n));
}

static void keccakf(uint64_t *a) {
    for (int round = 0; round < 24; round++) {
        uint64_t c[5], d;
        for (int x = 0; x < 5; x++)
            c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (int x = 0; x < 5; x++) {
            d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
            for (int y = 0; y < 25; y += 5)
                a[y + x] ^= d;
        }
        uint64_t t = a[1];
        for (int i = 0; i < 24; i++) {
            unsigned j = PI[i];
            uint64_t tmp = a[j];
            a[j] = rotl(t, ROT[i]);
            t = tmp;
        }
        for (int y = 0; y < 25; y += 5) {
            uint64_t r0 = a[y], r1 = a[y + 1], r2 = a[y + 2], r3 = a[y + 3], r4 = a[y + 4];
            a[y] = r0 ^ (~r1 & r2);
            a[y + 1] = r1 ^ (~r2 & r3);
            a[y + 2] = r2 ^ (~r3 & r4);
            a[y + 3] = r3 ^ (~r4 & r0);
            a[y + 4] = r4 ^ (~r0 & r1);
        }
        a[0] ^= RC[round];
    }
}

static void absorb_block(uint64_t *s, const uint8_t *p) {
    for (int i = 0; i < 17; i++) {
        uint64_t v;
        memcpy(&v, p + 8 * i, 8); /* little-endian lanes; the host is little-endian */
        s[i] ^= v;
    }
    keccakf(s);
}

void evm_keccak_init(evm_keccak_ctx *c) {
    memset(c, 0, sizeof *c);
}

void evm_keccak_update(evm_keccak_ctx *c, const uint8_t *data, size_t len) {
    if (c->n) {
        size_t take = 136 - c->n < len ? 136 - c->n : len;
        memcpy(c->buf + c->n, data, take);
        c->n += take;
        data += take;
        len -= take;
        if (c->n < 136) return;
        absorb_block(c->s, c->buf);
        c->n = 0;
    }
    while (len >= 136) {
        absorb_block(c->s, data);
        data += 136;
        len -= 136;
    }
    if (len) memcpy(c->buf, data, len);
    c->n = len;
}

void evm_keccak_final(evm_keccak_ctx *c, uint8_t out[32]) {
    memset(c->buf + c->n, 0, 136 - c->n);
    c->buf[c->n] ^= 0x01;
    c->buf[135] ^= 0x80;
    absorb_block(c->s, c->buf);
    memcpy(out, c->s, 32);
}

void evm_keccak256(const uint8_t *data, size_t len, uint8_t out[32]) {
    evm_keccak_ctx c;
    evm_keccak_init(&c);
    evm_keccak_update(&c, data, len);
    evm_keccak_final(&c, out);
}
