/* The shipped policies for the EVM's hypervisor hook (docs/evm.md). */
#include "vm/evm/evm_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_call(uint8_t op) {
    return op == EVM_OP_CALL || op == EVM_OP_CALLCODE || op == EVM_OP_DELEGATECALL ||
           op == EVM_OP_STATICCALL;
}

/* Is callee allowed for caller: listed for everyone, or paired with it? */
static bool in_keys(const evm_keys *k, const evm_address *caller, const evm_address *callee) {
    if (!k) return false;
    for (size_t i = 0; i < k->n; i++)
        if (!memcmp(k->keys[i].b, callee->b, 20)) return true;
    for (size_t i = 0; i < k->npairs; i++)
        if (!memcmp(k->pairs[i].callee.b, callee->b, 20) &&
            !memcmp(k->pairs[i].caller.b, caller->b, 20))
            return true;
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
    if (is_call(act->op)) return in_keys(k, &act->self, &act->target) ? EVM_ALLOW : EVM_DENY;
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
    if (is_call(act->op))
        return t && in_keys(t->calls, &act->self, &act->target) ? EVM_ALLOW : EVM_DENY;
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

/* ---- policies in words ---- */

/* An address: hex, 0x optional, 1 to 40 digits, left-padded. */
static bool parse_address(const char *s, size_t len, evm_address *out) {
    if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        len -= 2;
    }
    if (len == 0 || len > 40) return false;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < len; i++) {
        char c = s[len - 1 - i];
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (v < 0) return false;
        out->b[19 - i / 2] |= (uint8_t)(v << (4 * (i % 2)));
    }
    return true;
}

void evm_policy_spec_free(evm_policy_spec *p) {
    if (!p) return;
    free(p->words);
    free(p->addrs);
    free(p->pairs);
    free(p);
}

static evm_policy_spec *parse_fail(evm_policy_spec *p, char *err, size_t errcap, const char *fmt,
                                   const char *a, int len) {
    snprintf(err, errcap, fmt, len, a);
    evm_policy_spec_free(p);
    return NULL;
}

evm_policy_spec *evm_policy_parse(const char *words, char *err, size_t errcap) {
    evm_policy_spec *p = calloc(1, sizeof *p);
    if (!p || !(p->words = strdup(words))) {
        snprintf(err, errcap, "out of memory");
        evm_policy_spec_free(p);
        return NULL;
    }
    const char *colon = strchr(words, ':');
    size_t head = colon ? (size_t)(colon - words) : strlen(words);
    const char *expect = "expected allow, isolated, keys:ADDR[,ADDR...] or tables:BITS";
    if (!colon && !strcasecmp(words, "allow")) {
        p->fn = evm_policy_allow;
        return p;
    }
    if (!colon && !strcasecmp(words, "isolated")) {
        p->fn = evm_policy_isolated;
        return p;
    }
    if (colon && head == 6 && !strncasecmp(words, "tables", 6)) {
        char *end;
        long bits = strtol(colon + 1, &end, 10);
        if (!colon[1] || *end || bits < 1 || bits > 256)
            return parse_fail(p, err, errcap, "tables:%.*s: BITS must be 1 to 256", colon + 1,
                              (int)strlen(colon + 1));
        p->tables = (evm_tables){.tables = &p->table0, .n = 1, .bits = (unsigned)bits};
        p->fn = evm_policy_tables;
        p->ctx = &p->tables;
        return p;
    }
    if (!colon || head != 4 || strncasecmp(words, "keys", 4)) {
        snprintf(err, errcap, "%s: %s", words, expect);
        evm_policy_spec_free(p);
        return NULL;
    }
    /* keys: items separated by commas; at most as many as commas + 1 */
    size_t cap = 1;
    for (const char *c = colon + 1; *c; c++)
        cap += *c == ',';
    p->addrs = calloc(cap, sizeof *p->addrs);
    p->pairs = calloc(cap, sizeof *p->pairs);
    if (!p->addrs || !p->pairs) {
        snprintf(err, errcap, "out of memory");
        evm_policy_spec_free(p);
        return NULL;
    }
    for (const char *item = colon + 1;;) {
        const char *end = strchr(item, ','), *sep;
        size_t len = end ? (size_t)(end - item) : strlen(item);
        sep = memchr(item, ':', len);
        if (!sep) {
            if (!parse_address(item, len, &p->addrs[p->keys.n++]))
                return parse_fail(p, err, errcap,
                                  "keys: '%.*s' is not an address (hex, at most 40 "
                                  "digits; CALLER:CALLEE for one caller)",
                                  item, (int)len);
        } else {
            evm_key_pair *kp = &p->pairs[p->keys.npairs++];
            if (!parse_address(item, (size_t)(sep - item), &kp->caller) ||
                !parse_address(sep + 1, len - (size_t)(sep - item) - 1, &kp->callee))
                return parse_fail(p, err, errcap,
                                  "keys: '%.*s' is not CALLER:CALLEE (two addresses in "
                                  "hex, at most 40 digits each)",
                                  item, (int)len);
        }
        if (!end) break;
        item = end + 1;
    }
    p->keys.keys = p->addrs;
    p->keys.pairs = p->pairs;
    p->fn = evm_policy_keys;
    p->ctx = &p->keys;
    return p;
}
