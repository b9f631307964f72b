/* Opcode metadata and instruction decoding, generated from opcodes.def. */
#include "vm/vm.h"

#include <strings.h>

static const vm_opinfo optab[256] = {
#define OP(name, byte, in, out, gas, imm, doc) [byte] = {#name, in, out, gas, VM_IMM_##imm, doc},
#include "vm/opcodes.def"
#undef OP
};

const vm_opinfo *vm_opinfo_of(uint8_t op) {
    return &optab[op];
}

unsigned vm_imm_size(vm_imm_kind k) {
    switch (k) {
    case VM_IMM_I64: return 8;
    case VM_IMM_REL: return 2;
    case VM_IMM_IDX: return 1;
    case VM_IMM_U8: return 1;
    default: return 0;
    }
}

int vm_op_by_name(const char *name) {
    for (int i = 0; i < 256; i++)
        if (optab[i].name && strcasecmp(optab[i].name, name) == 0) return i;
    return -1;
}

void vm_decode(const uint8_t *code, size_t len, size_t pc, vm_insn *out) {
    out->pc = (uint32_t)pc;
    out->op = code[pc];
    out->imm = 0;
    const vm_opinfo *oi = &optab[out->op];
    out->defined = oi->name != NULL;
    out->truncated = false;
    unsigned n = out->defined ? vm_imm_size(oi->imm) : 0;
    if (pc + 1 + n > len) {
        out->truncated = true;
        out->len = (uint32_t)(len - pc);
        return;
    }
    out->len = 1 + n;
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)code[pc + 1 + i] << (8 * i);
    switch (oi->imm) {
    case VM_IMM_I64: out->imm = (vm_word)v; break;
    case VM_IMM_REL: out->imm = (int16_t)(uint16_t)v; break;
    case VM_IMM_IDX: out->imm = (vm_word)v; break;
    case VM_IMM_U8: out->imm = (vm_word)v; break;
    default: break;
    }
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
