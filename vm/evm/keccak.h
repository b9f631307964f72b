/* Internal to vm/evm/: Keccak-256 as Ethereum uses it (the original Keccak
 * padding 0x01, not SHA-3's 0x06), rate 136 bytes. */
#ifndef FRUGAL_EVM_KECCAK_H
#define FRUGAL_EVM_KECCAK_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[25];
    uint8_t buf[136];
    size_t n; /* bytes in buf */
} evm_keccak_ctx;

void evm_keccak_init(evm_keccak_ctx *c);
void evm_keccak_update(evm_keccak_ctx *c, const uint8_t *data, size_t len);
void evm_keccak_final(evm_keccak_ctx *c, uint8_t out[32]);
void evm_keccak256(const uint8_t *data, size_t len, uint8_t out[32]);

#endif
