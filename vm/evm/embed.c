/* The view of the frames that the process tree reads (evm_embed.h). */
#include "vm/evm/evm_impl.h"

int evm_vm_top(const evm_vm *vm) {
    return vm->top;
}

bool evm_vm_frame(const evm_vm *vm, int d, evm_frame_view *v) {
    if (d < 0 || d > EVM_MAX_DEPTH || !vm->frames[d]) return false;
    const evm_frame *f = vm->frames[d];
    *v = (evm_frame_view){.active = f->active,
                          .stack = (const uint64_t *)(const void *)f->stack,
                          .height = f->height,
                          .mem = f->mem,
                          .mem_size = f->mem_size,
                          .snap = f->snap,
                          .msg = &f->msg};
    return true;
}

void evm_vm_deactivate(evm_vm *vm) {
    for (int i = 0; i <= EVM_MAX_DEPTH && vm->frames[i]; i++)
        vm->frames[i]->active = false;
}
