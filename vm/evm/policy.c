/* The shipped policies for the EVM's hypervisor hook (docs/evm.md). */
#include "vm/evm/evm_impl.h"

#include <strings.h>

static bool is_call(uint8_t op) {
    return op == EVM_OP_CALL || op == EVM_OP_CALLCODE || op == EVM_OP_DELEGATECALL ||
           op == EVM_OP_STATICCALL;
}

static bool in_keys(const evm_keys *k, const evm_address *a) {
    if (!k) return false;
    for (size_t i = 0; i < k->n; i++)
        if (!memcmp(k->keys[i].b, a->b, 20)) return true;
    return false;
}

evm_verdict evm_policy_allow(void *ctx, evm_action *act) {
    (void)ctx;
    (void)act;
    return EVM_ALLOW;
}

evm_verdict evm_policy_isolated(void *ctx, evm_action *act) {
    (void)ctx;
    return act->op == EVM_OP_SSTORE ? EVM_ALLOW : EVM_DENY;
}

evm_verdict evm_policy_keys(void *ctx, evm_action *act) {
    const evm_keys *k = ctx;
    if (is_call(act->op)) return in_keys(k, &act->target) ? EVM_ALLOW : EVM_DENY;
    if (act->op == EVM_OP_SSTORE || (act->op >= EVM_OP_LOG0 && act->op <= EVM_OP_LOG4))
        return EVM_ALLOW;
    return EVM_DENY;
}

/* True when the top `bits` bits of a and b agree. */
static bool top_bits_equal(const evm_bytes32 *a, const evm_bytes32 *b, unsigned bits) {
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a->b, b->b, full)) return false;
    if (!rest) return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a->b[full] & mask) == (b->b[full] & mask);
}

evm_verdict evm_policy_tables(void *ctx, evm_action *act) {
    const evm_tables *t = ctx;
    if (act->op == EVM_OP_SSTORE) {
        if (!t) return EVM_DENY;
        unsigned bits = t->bits == 0 ? 128 : t->bits > 256 ? 256 : t->bits;
        for (size_t i = 0; i < t->n; i++)
            if (top_bits_equal(&t->tables[i], &act->key, bits)) return EVM_ALLOW;
        return EVM_DENY;
    }
    if (is_call(act->op)) return t && in_keys(t->calls, &act->target) ? EVM_ALLOW : EVM_DENY;
    if (act->op >= EVM_OP_LOG0 && act->op <= EVM_OP_LOG4) return EVM_ALLOW;
    return EVM_DENY;
}

evm_policy_fn evm_policy_by_name(const char *name) {
    if (!strcasecmp(name, "allow")) return evm_policy_allow;
    if (!strcasecmp(name, "isolated")) return evm_policy_isolated;
    if (!strcasecmp(name, "keys")) return evm_policy_keys;
    if (!strcasecmp(name, "tables")) return evm_policy_tables;
    return NULL;
}
