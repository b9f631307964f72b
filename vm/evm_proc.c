/* EVM processes: a process of the tree that runs EVM bytecode (docs/evm.md,
 * "EVM processes in the tree"; docs/isa.md, "Processes and keys").
 *
 * CREATE makes one from an EVM container (code starting with 0xEF 0x01):
 * the process keeps the container as its code, and a private EVM world (an
 * in-memory host) in which its code lives at VM_EVM_SELF. RECURSE runs it
 * like any child: its gas meter is the EVM transaction's gas, its words are
 * the EVM's (4 per stack item, memory bytes / 8, over every live frame, plus
 * the 2 words its result will take), so the whole chain's budget, memory and
 * memory-time limits apply to it, and a stop anywhere in the chain suspends
 * it inside any nested frame; the next RECURSE resumes it exactly. When the
 * transaction ends its native stack holds the result for POPFROM: the return
 * data in words (8 bytes each, little-endian), then its length in bytes, and
 * the EVM status on top. */
#include "vm/evm/evm_impl.h"
#include "vm/vm_impl.h"

#include <stdlib.h>

struct vm_evm {
    evm_vm *vm;
    evm_memhost *host;
    evm_message msg;
    uint64_t snap;
    bool started, done;
    evm_status status;
};

static const evm_address SELF = {{[16] = 0xff, [17] = 0xff, [18] = 0xff, [19] = 0xff}};

bool vm_evm_container(const uint8_t *code, size_t len) {
    if (len < VM_EVM_HDR || code[0] != 0xef || code[1] != 0x01) return false;
    uint32_t clen = 0;
    for (int i = 0; i < 4; i++)
        clen |= (uint32_t)code[10 + i] << (8 * i);
    return clen <= len - VM_EVM_HDR;
}

void vm_evm_free(vm_evm *e) {
    if (!e) return;
    evm_memhost_free(e->host);
    evm_vm_free(e->vm);
    free(e);
}

/* Make p (whose code is a container) an EVM process that has not started. */
int vm_evm_attach(vm_proc *p) {
    vm_evm *e = calloc(1, sizeof *e);
    if (!e) return -1;
    e->vm = evm_vm_new();
    e->host = e->vm ? evm_memhost_new(e->vm) : NULL;
    if (!e->host) {
        vm_evm_free(e);
        return -1;
    }
    p->evm = e;
    p->ewords = 2;
    return 0;
}

/* Start the transaction: the container's code at SELF, called with its
 * calldata and gas. 0, or -1 out of memory. */
static int start(vm_proc *p, vm_evm *e) {
    const uint8_t *c = p->code;
    uint64_t gas = 0;
    uint32_t clen = 0;
    for (int i = 0; i < 8; i++)
        gas |= (uint64_t)c[2 + i] << (8 * i);
    for (int i = 0; i < 4; i++)
        clen |= (uint32_t)c[10 + i] << (8 * i);
    if (gas > VM_MAX_GAS) gas = VM_MAX_GAS;
    if (evm_memhost_set_code(e->host, &SELF, c + VM_EVM_HDR, clen)) return -1;
    evm_memhost_begin_tx(e->host, &SELF, 1);
    memset(&e->msg, 0, sizeof e->msg);
    e->msg.kind = EVM_CALL_CALL;
    e->msg.gas = (int64_t)gas;
    e->msg.recipient = e->msg.code_address = SELF;
    e->msg.input = c + VM_EVM_HDR + clen;
    e->msg.input_size = p->len - VM_EVM_HDR - clen;
    const uint8_t *code = NULL;
    size_t n = 0;
    evm_result r;
    if (!evm_memhost_iface.call_begin(e->host, &e->msg, &code, &n, &e->snap, &r)) return -1;
    if (evm_run_start(e->vm, &e->msg, code, n) != EVM_SUCCESS) return -1;
    return 0;
}

/* The transaction ended: its result onto the native stack. */
static void finish(vm_proc *p, vm_evm *e, evm_result *r) {
    evm_memhost_iface.call_end(e->host, &e->msg, e->snap, r);
    e->done = true;
    e->status = r->status;
    uint64_t words = (r->output_size + 7) / 8, room = p->lim.stack - p->depth;
    if (room < 2)
        words = 0;
    else if (words > room - 2)
        words = room - 2;
    for (uint64_t w = 0; w < words; w++) {
        uint64_t v = 0;
        for (uint64_t i = 0; i < 8 && 8 * w + i < r->output_size; i++)
            v |= (uint64_t)r->output[8 * w + i] << (8 * i);
        p->stack[p->depth++] = (vm_word)v;
    }
    if (room >= 2) {
        p->stack[p->depth++] = (vm_word)r->output_size;
        p->stack[p->depth++] = (vm_word)r->status;
    }
    p->ewords = 0;
    for (int i = 0; i <= EVM_MAX_DEPTH && e->vm->frames[i]; i++)
        e->vm->frames[i]->active = false;
}

vm_status vm_evm_exec(vm_arena *a, vm_proc *p, vm_budget *b) {
    (void)a;
    vm_evm *e = p->evm;
    evm_result r;
    if (e->done) return p->status = VM_HALTED;
    if (!e->started && (e->started = true) && start(p, e)) {
        memset(&r, 0, sizeof r);
        r.status = EVM_INTERNAL_ERROR;
        finish(p, e, &r);
        return p->status = VM_HALTED;
    }
    evm_meter m = {.gas = b->gas,
                   .mt = b->mt,
                   .mtb = b->mt_base,
                   .memcap = b->memcap,
                   .other = (int64_t)(vm_words(p) - p->ewords) + 2};
    evm_status st = evm_run_resume(e->vm, &evm_memhost_iface, e->host, &m, &r);
    uint64_t used = (uint64_t)(b->gas - m.gas);
    p->gas_used += used;
    p->memtime += (uint64_t)((b->mt - m.mt) - b->mt_base * (int64_t)used);
    b->gas = m.gas;
    b->mt = m.mt;
    p->ewords = 2 + evm_vm_words(e->vm);
    p->need_stack = 0;
    switch ((int)st) {
    case EVM_ST_FENCE:
        p->need_gas = m.need_gas;
        p->need_grow = 0;
        return p->status = VM_OUT_OF_GAS;
    case EVM_ST_NOMEM:
        p->need_gas = m.need_gas;
        p->need_grow = m.need_grow;
        return p->status = VM_OUT_OF_MEMORY;
    case EVM_SUCCESS: break;
    default: memset(&r, 0, sizeof r); r.status = EVM_INTERNAL_ERROR;
    }
    finish(p, e, &r);
    return p->status = VM_HALTED;
}

int vm_evm_status(const vm_arena *a, uint32_t id) {
    if (id >= a->nprocs || !a->procs[id]->live || !a->procs[id]->evm) return -2;
    const vm_evm *e = a->procs[id]->evm;
    return e->done ? (int)e->status : -1;
}

int vm_evm_make(uint8_t *out, size_t cap, const uint8_t *code, size_t clen, const uint8_t *data,
                size_t dlen, uint64_t gas) {
    size_t n = VM_EVM_HDR + clen + dlen;
    if (clen > UINT32_MAX || n > cap) return -1;
    out[0] = 0xef;
    out[1] = 0x01;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(gas >> (8 * i));
    for (int i = 0; i < 4; i++)
        out[10 + i] = (uint8_t)(clen >> (8 * i));
    if (clen) memcpy(out + VM_EVM_HDR, code, clen);
    if (dlen) memcpy(out + VM_EVM_HDR + clen, data, dlen);
    return (int)n;
}

int vm_evm_frames(const vm_proc *p) {
    if (!p->evm || p->evm->done || !p->evm->started) return 0;
    return p->evm->vm->top + 1;
}

/* ---- snapshots (docs/snapshot.md, "EVM process") ---- */

int vm_evm_save(const vm_proc *p, vm_wr *w) {
    const vm_evm *e = p->evm;
    U8(!e->started ? 0 : e->done ? 2 : 1);
    U8(e->status);
    U64(e->snap);
    if (evm_memhost_save(e->host, w) || evm_vm_save(e->vm, w)) return -1;
    return 0;
}

int vm_evm_load(vm_proc *p, vm_rd *r) {
    vm_evm *e = p->evm;
    uint8_t state = G8("an EVM process state"), status = G8("an EVM status");
    e->snap = G64("an EVM journal position");
    if (r->bad) return -1;
    if (state > 2 || status >= EVM_NSTATUS) {
        vm_rd_fail(r, "process %u: EVM state %u, status %u", p->id, state, status);
        return -1;
    }
    e->started = state != 0;
    e->done = state == 2;
    e->status = (evm_status)status;
    int rc = evm_memhost_load(e->host, r);
    if (rc) return rc;
    if (e->snap > evm_memhost_journal(e->host)) {
        vm_rd_fail(r, "process %u: EVM journal position %llu is past the journal", p->id,
                   (unsigned long long)e->snap);
        return -1;
    }
    if ((rc = evm_vm_load(e->vm, r, evm_memhost_journal(e->host)))) return rc;
    int frames = vm_evm_frames(p);
    const evm_frame *f0 = e->vm->frames[0];
    uint32_t clen = 0;
    for (int i = 0; i < 4; i++)
        clen |= (uint32_t)p->code[10 + i] << (8 * i);
    const uint8_t *in = p->code + VM_EVM_HDR + clen;
    size_t nin = p->len - VM_EVM_HDR - clen;
    bool live = e->vm->frames[0] && f0->active;
    if ((state == 1) != live || (live && f0->msg.input_size != nin)) {
        vm_rd_fail(r, "process %u: EVM state %u with %d live frames (calldata %zu bytes)", p->id,
                   state, frames, nin);
        return -1;
    }
    if (live) { /* the transaction's message: frame 0's, with the container's calldata */
        e->msg = f0->msg;
        e->msg.input = in;
    }
    p->ewords = state == 2 ? 0 : 2 + evm_vm_words(e->vm);
    return 0;
}
