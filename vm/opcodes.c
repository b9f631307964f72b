/* Opcode metadata and instruction decoding, generated from opcodes.def. */
#include "vm/vm_impl.h"

#include <strings.h>

const vm_opinfo vm_optab[256] = {
#define OP(name, byte, in, out, gas, imm, doc) [byte] = {#name, in, out, gas, VM_IMM_##imm, doc},
#include "vm/opcodes.def"
#undef OP
};

/* vm_decode_inline reads an immediate by its size alone */
_Static_assert(VM_IMM_SIZE_I64 == 8 && VM_IMM_SIZE_REL == 2 && VM_IMM_SIZE_IDX == 1 &&
                   VM_IMM_SIZE_U8 == 1 && VM_IMM_SIZE_ARG == 1,
               "one immediate kind per size, but for the three one-byte kinds");
const uint8_t vm_ilen[256] = {
#define OP(name, byte, in, out, gas, imm, doc) [byte] = 1 + VM_IMM_SIZE_##imm,
#include "vm/opcodes.def"
#undef OP
};

const vm_opinfo *vm_opinfo_of(uint8_t op) {
    return &vm_optab[op];
}

unsigned vm_imm_size(vm_imm_kind k) {
    switch (k) {
    case VM_IMM_I64: return VM_IMM_SIZE_I64;
    case VM_IMM_REL: return VM_IMM_SIZE_REL;
    case VM_IMM_IDX: return VM_IMM_SIZE_IDX;
    case VM_IMM_U8: return VM_IMM_SIZE_U8;
    case VM_IMM_ARG: return VM_IMM_SIZE_ARG;
    default: return VM_IMM_SIZE_NONE;
    }
}

int vm_op_by_name(const char *name) {
    for (int i = 0; i < 256; i++)
        if (vm_optab[i].name && strcasecmp(vm_optab[i].name, name) == 0) return i;
    return -1;
}

void vm_decode(const uint8_t *code, size_t len, size_t pc, vm_insn *out) {
    vm_decode_inline(code, len, pc, out);
}

const char *vm_status_name(vm_status s) {
    switch (s) {
#define X(name, code, doc)                                                                         \
    case VM_##name: return #name;
        VM_STATUSES(X)
#undef X
    default: return "UNKNOWN";
    }
}

const char *vm_status_doc(vm_status s) {
    switch (s) {
#define X(name, code, doc)                                                                         \
    case VM_##name: return doc;
        VM_STATUSES(X)
#undef X
    default: return "unknown status";
    }
}

void vm_match_blocks(const uint8_t *code, uint32_t len, uint32_t *m) {
    uint32_t *open = m + len + 1, nopen = 0;
    for (uint32_t pc = 0; pc < len;) {
        vm_insn in;
        vm_decode_inline(code, len, pc, &in);
        uint32_t next = pc + in.len;
        m[pc] = VM_NONE;
        if (in.defined && !in.truncated) {
            if (vm_is_block_open(in.op)) {
                m[pc] = len;
                open[nopen++] = pc;
            } else if (in.op == VM_OP_CLOSE && nopen) {
                uint32_t o = open[--nopen];
                m[o] = next;
                if (code[o] != VM_OP_IF) m[pc] = o + 1; /* a loop's CLOSE goes back */
            }
        }
        pc = next;
    }
}
