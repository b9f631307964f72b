/* libFuzzer: a program writes the input, word by word, into a page
 * (PWRITE) and LOADs it as a child (LOADCHILD); what loads runs under a
 * small budget, is saved again (SAVECHILD), and the whole machine must
 * still save and load as a snapshot (its tree adds up). */
#include "vm/vm.h"

#include <stdlib.h>
#include <string.h>

static size_t emit(uint8_t *c, size_t n, uint8_t op, int64_t imm, int immlen) {
    c[n++] = op;
    for (int i = 0; i < immlen; i++)
        c[n++] = (uint8_t)((uint64_t)imm >> (8 * i));
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static vm_machine *a, *b;
    if (!a && !(a = vm_machine_new())) abort();
    if (!b && !(b = vm_machine_new())) abort();
    if (size > 1 << 16) return 0;
    size_t words = size / 8 + 1;
    uint8_t *c = malloc(128 + words * 28);
    if (!c) abort();
    size_t n = 0;
    n = emit(c, n, VM_OP_PUSH, (int64_t)words + 16, 8);
    n = emit(c, n, VM_OP_NEWPAGE, 0, 0); /* key 0 */
    n = emit(c, n, VM_OP_POP, 0, 0);
    for (size_t w = 0; w < words; w++) {
        uint64_t v = 0;
        for (size_t k = 0; k < 8 && 8 * w + k < size; k++)
            v |= (uint64_t)data[8 * w + k] << (8 * k);
        if (!v) continue; /* the page is zeroed */
        n = emit(c, n, VM_OP_PUSH, (int64_t)v, 8);
        n = emit(c, n, VM_OP_PUSH, 0, 8);
        n = emit(c, n, VM_OP_PUSH, (int64_t)w, 8);
        n = emit(c, n, VM_OP_PWRITE, 0, 0);
    }
    n = emit(c, n, VM_OP_PUSH, 0, 8);
    n = emit(c, n, VM_OP_LOADCHILD, 0, 0); /* key 1 */
    n = emit(c, n, VM_OP_DUP, 0, 1);
    n = emit(c, n, VM_OP_PUSH, 5000, 8);
    n = emit(c, n, VM_OP_PUSH, 50000, 8);
    n = emit(c, n, VM_OP_PUSH, -1, 8);
    n = emit(c, n, VM_OP_RECURSE, 0, 1);
    for (int i = 0; i < 4; i++)
        n = emit(c, n, VM_OP_POP, 0, 0);
    n = emit(c, n, VM_OP_PUSH, 0, 8);
    n = emit(c, n, VM_OP_SAVECHILD, 0, 0);
    n = emit(c, n, VM_OP_HALT, 0, 0);
    if (vm_load(a, c, n)) abort();
    free(c);
    vm_set_limits(a, &(vm_limits){.gas = 50000000, .mem = 200000});
    vm_run(a);
    vm_buf snap = {0};
    char err[256];
    if (vm_snapshot_save(a, &snap) || vm_snapshot_load(b, snap.data, snap.len, err, sizeof err))
        abort(); /* a tree that does not add up after a LOAD */
    vm_buf_free(&snap);
    return 0;
}
