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
 * the EVM status on top.
 *
 * Calls between processes (docs/evm.md, "Calls between processes"): the
 * transaction runs with a host of its own (tree_iface) that sends each host
 * call to the world of the running frame, and a policy (tree_policy) that
 * lets a call to a key address through only with a call key. */
#include "vm/evm/evm_embed.h"
#include "vm/vm_impl.h"

#include <stdlib.h>

/* Where a frame runs: the process whose world it acts on (its storage, its
 * keys) and that world's host. */
typedef struct {
    uint32_t id, xl; /* xl: the xlog length when the frame's message began */
    evm_memhost *h;
} world;

/* A world entered by a call from another world, and its journal there. */
typedef struct {
    uint32_t id;
    uint64_t pos;
} xentry;

struct vm_evm {
    evm_vm *vm;
    evm_memhost *host;
    evm_message msg;
    uint64_t snap;
    bool started, done, aborted;
    evm_status status;
    vm_proc *self;
    vm_machine *a; /* while running */
    uint32_t lock; /* the process whose transaction holds this world, or VM_NONE */
    /* the transaction's worlds: per frame depth, the world it runs in; the
     * xlog of worlds entered from another (in order, to undo them on a
     * revert); the worlds it holds (whose lock is this process) */
    world *w;
    xentry *xlog;
    uint32_t *held;
    uint32_t wcap, nx, xcap, nheld, heldcap;
};

static const evm_address SELF = {{[16] = 0xff, [17] = 0xff, [18] = 0xff, [19] = 0xff}};

/* Container fields (docs/evm.md): EVM gas at 2, code length at 10. */
static uint32_t box_clen(const uint8_t *c) {
    return (uint32_t)base_le_get(c + 10, 4);
}

/* The calldata of p's container: the bytes after the code. */
static const uint8_t *box_data(const vm_proc *p, size_t *n) {
    uint32_t clen = box_clen(p->code);
    *n = p->len - VM_EVM_HDR - clen;
    return p->code + VM_EVM_HDR + clen;
}

/* A key address (docs/evm.md): 2^32 + k names key k of the world's process. */
static bool key_address(const evm_address *x, uint32_t *k) {
    for (int i = 0; i < 15; i++)
        if (x->b[i]) return false;
    if (x->b[15] != 1) return false;
    *k = (uint32_t)x->b[16] << 24 | (uint32_t)x->b[17] << 16 | (uint32_t)x->b[18] << 8 | x->b[19];
    return true;
}

static vm_evm *evm_of(const vm_machine *a, uint32_t id) {
    return id < a->nprocs && a->procs[id]->live ? a->procs[id]->evm : NULL;
}

/* The EVM process that key k of process `holder` lets EVM code call: a call
 * key with the call right to a live EVM process whose own transaction has
 * ended. NULL otherwise. (An EVM process holds no process keys: it makes no
 * children, and TRANSFERKEY gives call keys.) */
static vm_evm *callee(const vm_machine *a, uint32_t holder, uint32_t k) {
    const vm_proc *p = a->procs[holder];
    if (k >= p->nkeys) return NULL;
    const vm_key *key = &p->keys[k];
    if (key->kind != VM_KEY_CALL || !(key->rights & VM_RIGHT_CALL)) return NULL;
    vm_evm *q = evm_of(a, key->obj);
    return q && q->done ? q : NULL;
}

bool vm_evm_container(const uint8_t *code, size_t len) {
    if (len < VM_EVM_HDR || code[0] != 0xef || code[1] != 0x01) return false;
    return box_clen(code) <= len - VM_EVM_HDR;
}

void vm_evm_free(vm_evm *e) {
    if (!e) return;
    evm_memhost_free(e->host);
    evm_vm_free(e->vm);
    free(e->w);
    free(e->xlog);
    free(e->held);
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
    e->self = p;
    e->lock = VM_NONE;
    p->evm = e;
    p->ewords = 2;
    return 0;
}

/* ---- the transaction's host: every frame acts on its own world ----
 *
 * A frame runs in a world: the transaction's own, or, after a CALL or
 * STATICCALL to a key address, the callee process's. The host forwards each
 * call to the running frame's world. A message's snapshot is the journal
 * position in its own world plus the xlog length; reverting it also undoes,
 * newest first, every other world entered since. */

static int world_room(vm_evm *e, int d) {
    return vm_grow((void **)&e->w, &e->wcap, (size_t)d + 1, sizeof *e->w);
}

/* Undo every world entered after the first n entries of the xlog. */
static void unwind(vm_evm *e, uint32_t n) {
    while (e->nx > n) {
        xentry *x = &e->xlog[--e->nx];
        vm_evm *q = evm_of(e->a, x->id);
        if (q) evm_memhost_revert(q->host, (size_t)x->pos);
    }
}

/* Release the worlds the transaction holds. */
static void release(vm_evm *e) {
    for (uint32_t i = 0; i < e->nheld; i++) {
        vm_evm *q = evm_of(e->a, e->held[i]);
        if (q && q->lock == e->self->id) q->lock = VM_NONE;
    }
    e->nheld = 0;
    e->nx = 0;
}

/* The running frame's world (host calls come only from the frame at top). */
#define CUR(c) (((vm_evm *)(c))->w[evm_vm_top(((vm_evm *)(c))->vm)].h)

static bool t_exists(void *c, const evm_address *x) {
    return evm_memhost_iface.account_exists(CUR(c), x);
}
static void t_get_storage(void *c, const evm_address *x, const evm_bytes32 *k, evm_bytes32 *o) {
    evm_memhost_iface.get_storage(CUR(c), x, k, o);
}
static void t_set_storage(void *c, const evm_address *x, const evm_bytes32 *k, const evm_bytes32 *v,
                          evm_bytes32 *orig, evm_bytes32 *now) {
    evm_memhost_iface.set_storage(CUR(c), x, k, v, orig, now);
}
static void t_get_balance(void *c, const evm_address *x, evm_bytes32 *o) {
    evm_memhost_iface.get_balance(CUR(c), x, o);
}
static size_t t_code_size(void *c, const evm_address *x) {
    return evm_memhost_iface.get_code_size(CUR(c), x);
}
static void t_code_hash(void *c, const evm_address *x, evm_bytes32 *o) {
    evm_memhost_iface.get_code_hash(CUR(c), x, o);
}
static const uint8_t *t_code(void *c, const evm_address *x, size_t *n) {
    return evm_memhost_iface.get_code(CUR(c), x, n);
}
static bool t_selfdestruct(void *c, const evm_address *x, const evm_address *to) {
    return evm_memhost_iface.selfdestruct(CUR(c), x, to);
}
static uint64_t t_snapshot(void *c) {
    return evm_memhost_snapshot(CUR(c));
}
static void t_revert(void *c, uint64_t snap) {
    evm_memhost_revert(CUR(c), (size_t)snap);
}
static const evm_context *t_context(void *c) {
    return evm_memhost_iface.get_context(CUR(c));
}
static void t_block_hash(void *c, int64_t n, evm_bytes32 *o) {
    evm_memhost_iface.get_block_hash(CUR(c), n, o);
}
static void t_log(void *c, const evm_address *x, const uint8_t *d, size_t n,
                  const evm_bytes32 *topics, size_t nt) {
    evm_memhost_iface.emit_log(CUR(c), x, d, n, topics, nt);
}
static bool t_access_account(void *c, const evm_address *x) {
    return evm_memhost_iface.access_account(CUR(c), x);
}
static bool t_access_storage(void *c, const evm_address *x, const evm_bytes32 *k) {
    return evm_memhost_iface.access_storage(CUR(c), x, k);
}
static void t_get_transient(void *c, const evm_address *x, const evm_bytes32 *k, evm_bytes32 *o) {
    evm_memhost_iface.get_transient(CUR(c), x, k, o);
}
static void t_set_transient(void *c, const evm_address *x, const evm_bytes32 *k,
                            const evm_bytes32 *v) {
    evm_memhost_iface.set_transient(CUR(c), x, k, v);
}

static void no_code(const evm_message *msg, evm_result *res) {
    memset(res, 0, sizeof *res);
    res->status = EVM_SUCCESS;
    res->gas_left = msg->gas;
}

/* A message from the frame at depth - 1. To a key address (the policy has
 * allowed it): DELEGATECALL and CALLCODE run the callee's code in the
 * caller's world; CALL and STATICCALL run it in the callee's world, which the
 * transaction holds from then until it ends (the first entry starts a
 * transaction there: original values, warm sets, transient storage). */
static bool t_call_begin(void *c, evm_message *msg, const uint8_t **code, size_t *size,
                         uint64_t *snap, evm_result *res) {
    vm_evm *e = c;
    int d = msg->depth;
    if (d < 1 || world_room(e, d)) {
        memset(res, 0, sizeof *res);
        res->status = EVM_INTERNAL_ERROR;
        return false;
    }
    world *caller = &e->w[d - 1], *w = &e->w[d];
    *w = *caller;
    w->xl = e->nx;
    uint32_t k;
    vm_evm *q = NULL;
    bool run;
    if (msg->kind <= EVM_CALL_STATICCALL && key_address(&msg->code_address, &k))
        q = callee(e->a, caller->id, k);
    if (!q) {
        run = evm_memhost_iface.call_begin(w->h, msg, code, size, snap, res);
    } else if (msg->kind == EVM_CALL_DELEGATECALL || msg->kind == EVM_CALL_CALLCODE) {
        *snap = evm_memhost_snapshot(w->h);
        *code = evm_memhost_iface.get_code(q->host, &SELF, size);
        if (!(run = *size > 0)) no_code(msg, res);
    } else {
        uint32_t qid = q->self->id;
        if (q->lock == VM_NONE) {
            if (vm_grow((void **)&e->held, &e->heldcap, (size_t)e->nheld + 1, sizeof *e->held))
                goto fail;
            e->held[e->nheld++] = qid;
            q->lock = e->self->id;
            evm_memhost_begin_tx(q->host, NULL, 0);
        }
        if (vm_grow((void **)&e->xlog, &e->xcap, (size_t)e->nx + 1, sizeof *e->xlog)) goto fail;
        *snap = evm_memhost_snapshot(q->host);
        e->xlog[e->nx++] = (xentry){qid, *snap};
        w->id = qid;
        w->h = q->host;
        msg->recipient = msg->code_address = SELF;
        *code = evm_memhost_iface.get_code(q->host, &SELF, size);
        if (!(run = *size > 0)) no_code(msg, res);
    }
    return run;
fail:
    memset(res, 0, sizeof *res);
    res->status = EVM_INTERNAL_ERROR;
    return false;
}

static void t_call_end(void *c, const evm_message *msg, uint64_t snap, evm_result *res) {
    vm_evm *e = c;
    int d = msg->depth;
    if (res->status != EVM_SUCCESS) unwind(e, e->w[d].xl);
    evm_memhost_iface.call_end(e->w[d].h, msg, snap, res);
}

static const evm_host tree_iface = {
    .account_exists = t_exists,
    .get_storage = t_get_storage,
    .set_storage = t_set_storage,
    .get_balance = t_get_balance,
    .get_code_size = t_code_size,
    .get_code_hash = t_code_hash,
    .get_code = t_code,
    .selfdestruct = t_selfdestruct,
    .call_begin = t_call_begin,
    .call_end = t_call_end,
    .snapshot = t_snapshot,
    .revert = t_revert,
    .get_context = t_context,
    .get_block_hash = t_block_hash,
    .emit_log = t_log,
    .access_account = t_access_account,
    .access_storage = t_access_storage,
    .get_transient = t_get_transient,
    .set_transient = t_set_transient,
};

/* The policy of an EVM process (docs/evm.md, "Calls between processes"):
 * everything inside its own world; a call to a key address only with a key
 * (held by the process whose world the frame runs in) to an EVM process that
 * has finished its own transaction, without value, and whose world no other
 * transaction holds. */
static evm_verdict tree_policy(void *c, evm_action *act) {
    vm_evm *e = c;
    uint32_t k;
    bool call = act->op == EVM_OP_CALL || act->op == EVM_OP_CALLCODE ||
                act->op == EVM_OP_DELEGATECALL || act->op == EVM_OP_STATICCALL;
    if (!call || !key_address(&act->target, &k)) return EVM_ALLOW;
    vm_evm *q = callee(e->a, e->w[evm_vm_top(e->vm)].id, k);
    if (!q) return EVM_DENY;
    if (act->op == EVM_OP_DELEGATECALL || act->op == EVM_OP_CALLCODE) return EVM_ALLOW;
    if (memcmp(act->value.b, (evm_bytes32){0}.b, 32)) return EVM_DENY;
    return q->lock == VM_NONE || q->lock == e->self->id ? EVM_ALLOW : EVM_DENY;
}

/* Start the transaction: the container's code at SELF, called with its
 * calldata and gas. 0, or -1 out of memory. */
static int start(vm_proc *p, vm_evm *e) {
    uint64_t gas = base_le_get(p->code + 2, 8);
    if (gas > VM_MAX_GAS) gas = VM_MAX_GAS;
    if (world_room(e, 0) ||
        evm_memhost_set_code(e->host, &SELF, p->code + VM_EVM_HDR, box_clen(p->code)))
        return -1;
    evm_memhost_begin_tx(e->host, &SELF, 1);
    e->w[0] = (world){p->id, 0, e->host};
    e->nx = e->nheld = 0;
    memset(&e->msg, 0, sizeof e->msg);
    e->msg.kind = EVM_CALL_CALL;
    e->msg.gas = (int64_t)gas;
    e->msg.recipient = e->msg.code_address = SELF;
    e->msg.input = box_data(p, &e->msg.input_size);
    const uint8_t *code = NULL;
    size_t n = 0;
    evm_result r;
    if (!evm_memhost_iface.call_begin(e->host, &e->msg, &code, &n, &e->snap, &r)) return -1;
    if (evm_run_start(e->vm, &e->msg, code, n) != EVM_SUCCESS) return -1;
    return 0;
}

/* The transaction ended: its worlds released (and undone unless it
 * succeeded), its result onto the native stack. */
static void finish(vm_proc *p, vm_evm *e, evm_result *r) {
    if (r->status != EVM_SUCCESS) unwind(e, 0);
    if (!e->aborted) evm_memhost_iface.call_end(e->host, &e->msg, e->snap, r);
    release(e);
    e->done = true;
    e->aborted = false;
    e->snap = 0;
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
    evm_vm_deactivate(e->vm);
}

/* Abort e's transaction without running it: every world it changed is
 * undone and released now; its frames (and their words) stay until it next
 * runs, when it ends with EVM_INTERNAL_ERROR (their worlds are not used
 * again). */
static void abort_tx(vm_machine *a, vm_evm *e) {
    e->a = a;
    unwind(e, 0);
    evm_memhost_revert(e->host, (size_t)e->snap);
    release(e);
    e->aborted = true;
}

static bool live_tx(const vm_evm *e) {
    return e->started && !e->done && !e->aborted;
}

void vm_evm_gone(vm_machine *a, vm_proc *p) {
    vm_evm *e = p->evm;
    if (live_tx(e)) abort_tx(a, e);
    if (e->lock != VM_NONE && e->lock != p->id) {
        vm_evm *t = evm_of(a, e->lock);
        if (t && live_tx(t)) abort_tx(a, t);
    }
    vm_calls_gone(a, p->id); /* its call keys go with it */
}

vm_status vm_evm_exec(vm_machine *a, vm_proc *p, vm_budget *b) {
    vm_evm *e = p->evm;
    evm_result r;
    e->a = a;
    if (e->done) return p->status = VM_HALTED;
    if ((!e->started && (e->started = true) && start(p, e)) || e->aborted) {
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
    evm_vm_set_policy(e->vm, tree_policy, e);
    evm_status st = evm_run_resume(e->vm, &tree_iface, e, &m, &r);
    evm_vm_set_policy(e->vm, NULL, NULL);
    uint64_t used = (uint64_t)(b->gas - m.gas);
    p->gas_used += used;
    p->memtime += (uint64_t)((b->mt - m.mt) - b->mt_base * (int64_t)used);
    b->gas = m.gas;
    b->mt = m.mt;
    p->ewords = 2 + 4 * evm_vm_words_in_use(e->vm);
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

int vm_evm_status(const vm_machine *a, uint32_t id) {
    if (id >= a->nprocs || !a->procs[id]->live || !a->procs[id]->evm) return -2;
    const vm_evm *e = a->procs[id]->evm;
    return e->done ? (int)e->status : -1;
}

int64_t vm_evm_world(const vm_machine *a, uint32_t id, int depth) {
    const vm_evm *e = evm_of(a, id);
    if (!e || !e->started || e->done || depth < 0 || depth > evm_vm_top(e->vm)) return -1;
    return e->aborted ? (int64_t)id : (int64_t)e->w[depth].id;
}

int64_t vm_evm_holder(const vm_machine *a, uint32_t id) {
    const vm_evm *e = evm_of(a, id);
    return e && e->lock != VM_NONE ? (int64_t)e->lock : -1;
}

int vm_evm_make(uint8_t *out, size_t cap, const uint8_t *code, size_t clen, const uint8_t *data,
                size_t dlen, uint64_t gas) {
    size_t n = VM_EVM_HDR + clen + dlen;
    if (clen > UINT32_MAX || n > cap) return -1;
    out[0] = 0xef;
    out[1] = 0x01;
    base_le_put(out + 2, gas, 8);
    base_le_put(out + 10, clen, 4);
    if (clen) memcpy(out + VM_EVM_HDR, code, clen);
    if (dlen) memcpy(out + VM_EVM_HDR + clen, data, dlen);
    return (int)n;
}

int vm_evm_frames(const vm_proc *p) {
    if (!p->evm || p->evm->done || !p->evm->started) return 0;
    return evm_vm_top(p->evm->vm) + 1;
}

void vm_evm_regions(const vm_proc *p, vm_region_fn fn, void *ctx) {
    int frames = vm_evm_frames(p);
    for (int d = 0; d < frames; d++) {
        evm_frame_view f;
        if (!evm_vm_frame(p->evm->vm, d, &f) || !f.active) continue;
        if (f.height) /* u256: four 64-bit words, least significant first */
            fn(ctx,
               &(vm_region){VM_REGION_EVM_STACK, (uint32_t)d,
                            (const vm_word *)(const void *)f.stack, NULL, 4 * (size_t)f.height});
        if (f.mem_size)
            fn(ctx, &(vm_region){VM_REGION_EVM_MEMORY, (uint32_t)d, NULL, f.mem, f.mem_size});
    }
}

/* ---- snapshots (docs/snapshot.md, "EVM process") ---- */

int vm_evm_save(const vm_proc *p, base_wr *w) {
    const vm_evm *e = p->evm;
    bool live = live_tx(e);
    U8(!e->started ? 0 : e->done ? 2 : e->aborted ? 3 : 1);
    U8(e->status);
    U64(e->snap);
    if (evm_memhost_save(e->host, w) || evm_vm_save(e->vm, w)) return -1;
    U32(e->lock);
    if (!live) return 0;
    U32(e->nheld);
    for (uint32_t i = 0; i < e->nheld; i++)
        U32(e->held[i]);
    U32(e->nx);
    for (uint32_t i = 0; i < e->nx; i++) {
        U32(e->xlog[i].id);
        U64(e->xlog[i].pos);
    }
    for (int d = 0; d <= evm_vm_top(e->vm); d++) {
        U32(e->w[d].id);
        U32(e->w[d].xl);
    }
    return 0;
}

int vm_evm_load(vm_proc *p, base_rd *r, uint32_t version) {
    vm_evm *e = p->evm;
    uint8_t state = G8("an EVM process state"), status = G8("an EVM status");
    e->snap = G64("an EVM journal position");
    if (r->bad) return -1;
    if (state > (version >= 3 ? 3 : 2) || status >= EVM_NSTATUS) {
        base_rd_fail(r, "process %u: EVM state %u, status %u", p->id, state, status);
        return -1;
    }
    e->started = state != 0;
    e->done = state == 2;
    e->aborted = state == 3;
    e->status = (evm_status)status;
    int rc = evm_memhost_load(e->host, r);
    if (rc) return rc;
    /* journal positions are checked against their worlds by vm_evm_check */
    if ((rc = evm_vm_load(e->vm, r))) return rc;
    int frames = vm_evm_frames(p);
    evm_frame_view f0;
    size_t nin;
    const uint8_t *in = box_data(p, &nin);
    bool live = evm_vm_frame(e->vm, 0, &f0) && f0.active;
    if ((state == 1 || state == 3) != live || (live && f0.msg->input_size != nin)) {
        base_rd_fail(r, "process %u: EVM state %u with %d live frames (calldata %zu bytes)", p->id,
                     state, frames, nin);
        return -1;
    }
    if (live) { /* the transaction's message: frame 0's, with the container's calldata */
        e->msg = *f0.msg;
        e->msg.input = in;
    }
    p->ewords = state == 2 ? 0 : 2 + 4 * evm_vm_words_in_use(e->vm);
    e->lock = version >= 3 ? G32("an EVM world's lock") : VM_NONE;
    e->nheld = e->nx = 0;
    if (live && world_room(e, evm_vm_top(e->vm))) return -2;
    for (int d = 0; live && d <= evm_vm_top(e->vm); d++)
        e->w[d] = (world){p->id, 0, e->host};
    if (state != 1 || version < 3) return r->bad ? -1 : 0;
    uint32_t n = G32("a count of held worlds");
    if (!base_room_for(r, n, 4, 1u << 24, "a count of held worlds")) return -1;
    if (n && vm_grow((void **)&e->held, &e->heldcap, n, sizeof *e->held)) return -2;
    for (e->nheld = 0; e->nheld < n; e->nheld++)
        e->held[e->nheld] = G32("a held world");
    n = G32("an xlog length");
    if (!base_room_for(r, n, 12, 1u << 28, "an xlog length")) return -1;
    if (n && vm_grow((void **)&e->xlog, &e->xcap, n, sizeof *e->xlog)) return -2;
    for (e->nx = 0; e->nx < n; e->nx++) {
        e->xlog[e->nx].id = G32("an xlog world");
        e->xlog[e->nx].pos = G64("an xlog journal position");
    }
    for (int d = 0; d <= evm_vm_top(e->vm); d++) {
        e->w[d].id = G32("a frame's world");
        e->w[d].xl = G32("a frame's xlog length");
    }
    return r->bad ? -1 : 0;
}

/* After every process is loaded: the worlds named by e's lock, its held
 * list, its xlog and its frames are live EVM processes that agree, and every
 * journal position is within its world's journal. 0, or -1 with r's error. */
/* The host snapshot frame d (0..top, live) was entered at. */
static uint64_t frame_snap(const evm_vm *vm, int d) {
    evm_frame_view f;
    return evm_vm_frame(vm, d, &f) ? f.snap : 0;
}

int vm_evm_check(vm_machine *a, vm_proc *p, base_rd *r) {
    vm_evm *e = p->evm;
    e->a = a;
    if (e->lock != VM_NONE) {
        vm_evm *t = evm_of(a, e->lock);
        bool ok = t && t != e && live_tx(t) && e->done;
        for (uint32_t i = 0; ok && i < t->nheld; i++)
            if (t->held[i] == p->id) goto locked;
        base_rd_fail(r, "process %u: its world is held by %u, which does not hold it", p->id,
                     e->lock);
        return -1;
    }
locked:
    if (!live_tx(e)) return 0;
    for (uint32_t i = 0; i < e->nheld; i++) {
        vm_evm *q = evm_of(a, e->held[i]);
        bool ok = q && q != e && q->lock == p->id;
        for (uint32_t j = 0; ok && j < i; j++)
            ok = e->held[j] != e->held[i];
        if (!ok) goto bad;
    }
    for (uint32_t i = 0; i < e->nx; i++) {
        vm_evm *q = evm_of(a, e->xlog[i].id);
        if (!q || q->lock != p->id || e->xlog[i].pos > evm_memhost_snapshot(q->host)) goto bad;
    }
    if (e->snap > evm_memhost_snapshot(e->host) || e->w[0].id != p->id || e->w[0].xl) goto bad;
    for (int d = 0; d <= evm_vm_top(e->vm); d++) {
        world *w = &e->w[d];
        vm_evm *q = evm_of(a, w->id);
        if (!q || (q != e && q->lock != p->id) || w->xl > e->nx || (d && w->xl < e->w[d - 1].xl) ||
            frame_snap(e->vm, d) > evm_memhost_snapshot(q->host))
            goto bad;
        w->h = q->host;
    }
    return 0;
bad:
    base_rd_fail(r, "process %u: its transaction's worlds (held, xlog or frames) are inconsistent",
                 p->id);
    return -1;
}
