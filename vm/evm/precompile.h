/* Internal to vm/evm/: the elliptic-curve arithmetic of the precompiled
 * contracts (vm/evm/pairing.c), written from EIP-196, EIP-197 and EIP-4844. */
#ifndef FRUGAL_EVM_PRECOMPILE_H
#define FRUGAL_EVM_PRECOMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The curves' constants are computed on first use; false if that failed
 * (then every function below reports invalid input). */
bool evm_pairing_ready(void);
/* alt_bn128: 0, or -1 for invalid input (a coordinate >= p, a point off
 * the curve or, for G2, outside the subgroup; a length not 192 k). */
int evm_bn254_add(const uint8_t in[128], uint8_t out[64]);
int evm_bn254_mul(const uint8_t in[96], uint8_t out[64]);
int evm_bn254_pairing(const uint8_t *in, size_t n, uint8_t out[32]);
/* EIP-4844 verify_kzg_proof: 1 the proof holds, 0 it does not, -1 invalid
 * input (z or y not below r, a point that is not a valid compressed G1 point
 * of the subgroup). */
int evm_kzg_verify(const uint8_t z[32], const uint8_t y[32], const uint8_t commitment[48],
                   const uint8_t proof[48]);

#endif
