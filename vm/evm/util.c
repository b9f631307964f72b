/* Hex decoding, words as text and the disassembler. */
#include "vm/evm/evm_impl.h"

#include <ctype.h>
#include <stdlib.h>

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int evm_hex_decode(const char *hex, uint8_t **out, size_t *n) {
    *out = NULL;
    *n = 0;
    size_t len = strlen(hex);
    const char *p = hex;
    while (isspace((unsigned char)*p))
        p++;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) p += 2;
    uint8_t *b = malloc(len / 2 + 1);
    if (!b) return -1;
    size_t k = 0;
    int hi = -1;
    for (; *p; p++) {
        if (isspace((unsigned char)*p)) continue;
        int v = hexval((unsigned char)*p);
        if (v < 0) goto fail;
        if (hi < 0) {
            hi = v;
        } else {
            b[k++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0) goto fail;
    *out = b;
    *n = k;
    return 0;
fail:
    free(b);
    return -1;
}

int evm_word_parse(const char *s, evm_bytes32 *out) {
    if (!s) return -1;
    u256 r;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        if (evm_u256_from_hex(s, &r) < 0) return -1;
    } else {
        if (!*s) return -1;
        r = u256_from64(0);
        u256 ten = u256_from64(10);
        for (; *s; s++) {
            if (*s < '0' || *s > '9') return -1;
            r = u256_mul(&r, &ten);
            u256 d = u256_from64((uint64_t)(*s - '0'));
            r = u256_add(&r, &d);
        }
    }
    *out = evm_u256_to_b32(&r);
    return 0;
}

void evm_word_hex(const evm_bytes32 *w, char *buf) {
    u256 v = evm_b32_to_u256(w);
    evm_u256_to_hex(&v, buf);
}

void evm_disasm(const uint8_t *code, size_t n, FILE *f) {
    for (size_t pc = 0; pc < n;) {
        uint8_t op = code[pc];
        const evm_opinfo *oi = evm_opinfo_of(op);
        if (!oi->name) {
            fprintf(f, "%6zu: UNDEFINED(0x%02x)\n", pc, op);
            pc++;
            continue;
        }
        fprintf(f, "%6zu: %s", pc, oi->name);
        if (op >= EVM_OP_PUSH1 && op <= EVM_OP_PUSH32) {
            size_t k = (size_t)(op - EVM_OP_PUSH1 + 1);
            fprintf(f, " 0x");
            for (size_t i = 1; i <= k; i++) {
                if (pc + i < n)
                    fprintf(f, "%02x", code[pc + i]);
                else
                    fprintf(f, "00");
            }
            if (pc + k >= n) fprintf(f, "  ; truncated");
            pc += k;
        }
        fputc('\n', f);
        pc++;
    }
}
