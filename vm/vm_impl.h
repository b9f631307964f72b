/* Internal to vm/: the arena layout and the decoded ("threaded") code.
 *
 * vm_load decodes the bytecode twice into one cell array:
 *  - the fast copy: basic blocks, each led by a 4-cell header that carries the
 *    block's total gas, stack need and growth and memory-time coefficient, so
 *    a block is checked and charged once;
 *  - the step copy: every instruction is its own block, used when a block's
 *    check fails (near a limit), when tracing, and to resume mid-block.
 * Both give exactly the per-instruction result: a block runs in the fast copy
 * only when every one of its instructions could be paid for in advance, and a
 * stop inside a block refunds the rest of it (vm_cold).
 */
#ifndef FRUGAL_VM_IMPL_H
#define FRUGAL_VM_IMPL_H

#include "vm/vm.h"

typedef union {
    const void *h; /* handler address (computed goto) */
    int64_t i;
    uint64_t u;
    struct {
        uint32_t lo, hi;
    } w;
} vm_cell;

/* An instruction is 2 cells: handler, immediate. A header is 4 cells:
 * handler, packed (gas | need << 32 | grow << 48), mtc, (alt | pc << 32).
 * mtc = sum over the block of cost_j * (stack depth before j - depth at entry). */
#define VM_INS_CELLS 2
#define VM_HDR_CELLS 4
#define VM_NONE      UINT32_MAX
#define VM_BLK_GAS_MAX  0x7fffffffu
#define VM_BLK_WORD_MAX 0xffffu

/* Cold per-slot data (a slot is 2 cells), read only when stopping. */
typedef struct {
    uint32_t pc;       /* bytecode address of the instruction */
    uint32_t gas_rest; /* gas of this instruction and the rest of its block */
    int64_t mtc_rest;  /* memory-time coefficient of the same, relative to this slot */
} vm_cold;

struct vm_arena {
    /* code and its decoding */
    uint8_t *code;
    uint32_t len, code_cap;
    vm_cell *cells;
    vm_cold *cold;
    uint32_t ncells, cells_cap;
    uint32_t *fast_at, *step_at; /* pc -> header cell index, or VM_NONE */
    uint32_t fast_cap, step_cap, cold_cap;
    uint8_t *lead; /* scratch: pc is a block leader */
    uint32_t lead_cap;
    uint32_t *fix; /* cells of REL instructions awaiting their target */
    uint32_t fix_cap;
    int decoded; /* 0 not yet, 1 metered, 2 unmetered */

    /* the process */
    vm_word *stack;
    uint32_t depth, stack_alloc;
    vm_word *heap;
    uint32_t msize, heap_alloc;
    uint32_t *calls; /* return addresses */
    uint32_t ncalls, calls_alloc;
    uint32_t ip;
    vm_status status;
    vm_limits lim;
    uint64_t gas_used, memtime;

    vm_trace_fn trace;
    void *trace_ctx;
    bool stepping;
};

/* interp.c is compiled twice: metered (vm_interp_*) and with metering
 * compiled out (vm_interp_nm_*), for the benchmark's overhead figure. */
int vm_interp_decode(vm_arena *a);
vm_status vm_interp_run(vm_arena *a);
int vm_interp_nm_decode(vm_arena *a);
vm_status vm_interp_nm_run(vm_arena *a);

int vm_grow(void **p, uint32_t *cap, size_t need, size_t elem);

#endif
