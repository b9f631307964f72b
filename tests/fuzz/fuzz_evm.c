/* libFuzzer: any bytes as EVM bytecode under any fork and policy, with
 * nested calls into the same code. The run must end with a status, within
 * its gas, and leave no frame active; and block metering (the plain loop)
 * must agree with per-instruction metering (the traced loop). Input: fork,
 * policy, gas, calldata length, then calldata and code. A policy byte of
 * 0xf0 or more instead calls a precompiled contract (id, gas from the next
 * bytes) on the rest: it must price before working, fail with all gas or
 * succeed with exactly its price, keep its output under the cap and give
 * the same answer twice. */
#include "vm/evm/evm.h"

#include <stdlib.h>
#include <string.h>

static void nop_trace(void *ctx, const evm_step *s) {
    (void)ctx;
    (void)s;
}

typedef struct {
    evm_status st;
    int64_t left;
    uint8_t out[64];
    size_t nout;
} outcome;

static void run(evm_vm *vm, bool traced, int64_t gas, const uint8_t *cd, size_t ncd,
                const uint8_t *code, size_t ncode, outcome *o) {
    evm_vm_set_tracer(vm, traced ? nop_trace : NULL, NULL);
    evm_memhost *h = evm_memhost_new(vm);
    if (!h) abort();
    evm_address self = {{[19] = 0xaa}}, caller = {{[19] = 0xcc}}, other = {{[19] = 0xbb}};
    evm_bytes32 bal = {{[28] = 1}};
    evm_memhost_set_balance(h, &caller, &bal);
    evm_memhost_set_balance(h, &self, &bal);
    evm_memhost_set_code(h, &self, code, ncode);
    evm_memhost_set_code(h, &other, code, ncode);
    evm_memhost_begin_tx(h, &self, 1);
    evm_message m;
    memset(&m, 0, sizeof m);
    m.kind = EVM_CALL_CALL;
    m.gas = gas;
    m.recipient = m.code_address = self;
    m.sender = caller;
    m.input = cd;
    m.input_size = ncd;
    evm_result r;
    evm_status s = evm_memhost_transact(h, &m, &r);
    if ((unsigned)s >= EVM_NSTATUS || r.gas_left < 0 || r.gas_left > gas) abort();
    if (evm_status_is_exceptional(s) && (r.gas_left != 0 || r.output_size)) abort();
    if (evm_vm_words_in_use(vm) != 0) abort();
    o->st = s;
    o->left = r.gas_left;
    o->nout = r.output_size < sizeof o->out ? r.output_size : sizeof o->out;
    if (o->nout) memcpy(o->out, r.output, o->nout);
    evm_memhost_free(h);
}

static void precompile(const uint8_t *data, size_t size) {
    evm_fork f = (evm_fork)(data[0] % EVM_NFORKS);
    evm_address a = {{[19] = (uint8_t)(1 + data[2] % 10)}};
    int id = evm_precompile_of(f, &a);
    if (!id) id = evm_precompile_of(f = EVM_FORK_CANCUN, &a);
    int64_t gas = data[2] >= 0xf0 ? (int64_t)1 << 27 : 1 + (int64_t)data[3] * 4000;
    const size_t cap = 1 << 16;
    static uint8_t *buf[2];
    static size_t bcap[2];
    evm_result r[2];
    for (int t = 0; t < 2; t++)
        evm_precompile_run(f, id, data + 4, size - 4, gas, cap, &buf[t], &bcap[t], &r[t]);
    int64_t price = evm_precompile_gas(f, id, data + 4, size - 4);
    if ((unsigned)r[0].status >= EVM_NSTATUS || r[0].status != r[1].status) abort();
    if (r[0].status == EVM_SUCCESS) {
        if (price > gas || r[0].gas_left != gas - price || r[0].output_size > cap) abort();
    } else if (r[0].gas_left || r[0].output_size) {
        abort();
    }
    if (r[0].output_size != r[1].output_size ||
        (r[0].output_size && memcmp(r[0].output, r[1].output, r[0].output_size)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static evm_vm *vm;
    if (!vm && !(vm = evm_vm_new())) abort();
    if (size < 4) return 0;
    if (data[1] >= 0xf0) {
        precompile(data, size);
        return 0;
    }
    evm_vm_set_fork(vm, (evm_fork)(data[0] % EVM_NFORKS));
    static const evm_policy_fn policies[] = {NULL, evm_policy_isolated, evm_policy_allow};
    evm_vm_set_policy(vm, policies[data[1] % 3], NULL);
    evm_vm_set_mem_limit(vm, 1 << 20);
    int64_t gas = 1 + (int64_t)data[2] * 4000;
    size_t ncd = data[3] % 64;
    data += 4;
    size -= 4;
    if (ncd > size) ncd = size;
    outcome o[2];
    for (int t = 0; t < 2; t++)
        run(vm, t, gas, data, ncd, data + ncd, size - ncd, &o[t]);
    /* an exceptional status may name a different first error */
    if (evm_status_is_exceptional(o[0].st) != evm_status_is_exceptional(o[1].st)) abort();
    if (!evm_status_is_exceptional(o[0].st) && o[0].st != o[1].st) abort();
    if (o[0].left != o[1].left || o[0].nout != o[1].nout || memcmp(o[0].out, o[1].out, o[0].nout))
        abort();
    return 0;
}
