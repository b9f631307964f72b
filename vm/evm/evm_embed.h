/* Internal to the VM: how the process tree (vm/evm_proc.c) runs the EVM as
 * a process: metered and resumable runs, snapshots, and a read-only view of
 * the frames. Everything else about the EVM's insides stays in
 * vm/evm/evm_impl.h. */
#ifndef FRUGAL_EVM_EMBED_H
#define FRUGAL_EVM_EMBED_H

#include "base/base.h"
#include "vm/evm/evm.h"

/* The budget of a metered run (an EVM process in the tree, vm/evm_proc.c):
 * the loop stops before an instruction it cannot pay for, with no effect.
 * Words: a stack item is 4 words, memory bytes / 8. */
typedef struct {
    int64_t gas;    /* gas this run may still use */
    int64_t mt;     /* memory-time it may still use */
    int64_t mtb;    /* extra words the memory-time budget counts */
    int64_t memcap; /* most words the process may hold */
    int64_t other;  /* words the process holds besides the EVM's */
    /* set on a stop: what the next instruction needs */
    int64_t need_gas, need_grow;
} evm_meter;

/* Results of a metered run besides evm_status's own. */
#define EVM_ST_FENCE ((evm_status)101) /* metered: gas or memory-time budget */
#define EVM_ST_NOMEM ((evm_status)102) /* metered: memory cap */

/* Metered, resumable runs (an EVM process in the tree). evm_run_start sets
 * up frame 0 for msg and code without running; evm_run_resume runs until
 * frame 0 halts (returns EVM_SUCCESS, with the result in *res) or the meter's
 * budget stops it (EVM_ST_FENCE or EVM_ST_NOMEM, m->need_* set, nothing of
 * the stopping instruction done), or EVM_INTERNAL_ERROR. */
evm_status evm_run_start(evm_vm *vm, const evm_message *msg, const uint8_t *code, size_t n);
evm_status evm_run_resume(evm_vm *vm, const evm_host *host, void *hctx, evm_meter *m,
                          evm_result *res);
/* Snapshots (docs/snapshot.md, format v3). Save: 0, or -1 (a state the
 * format cannot hold: a policy with a context, blob hashes). Load into a
 * fresh VM or host: 0, -1 with r's error set, or -2 out of memory. Frames'
 * journal positions name their own worlds, so the process loading them
 * checks them (vm_evm_check). */
int evm_vm_save(const evm_vm *vm, base_wr *w);
int evm_vm_load(evm_vm *vm, base_rd *r);
int evm_memhost_save(const evm_memhost *h, base_wr *w);
int evm_memhost_load(evm_memhost *h, base_rd *r);

/* The frames: evm_vm_top is the running frame's depth (frames 0..top are
 * live); evm_vm_frame fills *v for frame d and returns false when there is
 * none. The stack is items of four 64-bit words, least significant first. */
typedef struct {
    bool active;
    const uint64_t *stack;
    uint32_t height;
    const uint8_t *mem;
    size_t mem_size;
    uint64_t snap;          /* the host's snapshot for this message */
    const evm_message *msg; /* the message it runs */
} evm_frame_view;
int evm_vm_top(const evm_vm *vm);
bool evm_vm_frame(const evm_vm *vm, int d, evm_frame_view *v);
/* Mark every frame finished (the transaction was undone). */
void evm_vm_deactivate(evm_vm *vm);

#endif
