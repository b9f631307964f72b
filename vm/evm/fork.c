/* Per-fork gas schedules and rules, and the opcode metadata derived from
 * opcodes.def. Each fork's table is its predecessor's plus the EIPs it
 * introduced. */
#include "vm/evm/evm_impl.h"

#include <strings.h>

static const evm_opinfo OPINFO[256] = {
#define OP(name, byte, in, out, gas, since, kind, run, doc)                                        \
    [byte] = {#name, in, out, gas, EVM_FORK_##since, doc},
#include "vm/evm/opcodes.def"
#undef OP
};

const evm_opinfo *evm_opinfo_of(uint8_t op) {
    return &OPINFO[op];
}

#define T_FRONTIER                                                                                 \
    .sload = 50, .balance = 20, .extcode = 20, .extcodehash = 400, .call = 40, .selfdestruct = 0,  \
    .exp_byte = 10, .sstore_set = 20000, .sstore_reset = 5000, .sstore_noop = 0,                   \
    .sstore_clear_refund = 15000, .sstore_net = false, .sstore_stipend = 2300,                     \
    .access_lists = false, .cold_sload = 0, .cold_account = 0, .selfdestruct_refund = 24000,       \
    .new_account = 25000, .call_value = 9000, .call_stipend = 2300, .all_but_one_64th = false,     \
    .selfdestruct_new_account = false, .empty_is_dead = false, .refund_quotient = 2,               \
    .initcode_limit = false, .initcode_word = 0, .create2_word = 6, .create_data_byte = 200,       \
    .max_code_size = 0, .create_deposit_fails = false, .reject_ef = false,                         \
    .selfdestruct_only_new = false, .warm_coinbase = false, .precompiles = 4, .bn_add = 0,         \
    .bn_mul = 0, .bn_pairing = 0, .bn_pairing_pair = 0, .modexp_eip2565 = false
/* EIP-2: a create whose code deposit cannot be paid fails */
#define T_HOMESTEAD T_FRONTIER, .create_deposit_fails = true
/* EIP-150: IO-heavy repricing, all but one 64th */
#define T_TANGERINE                                                                                \
    T_HOMESTEAD, .sload = 200, .balance = 400, .extcode = 700, .call = 700, .selfdestruct = 5000,  \
                 .all_but_one_64th = true, .selfdestruct_new_account = true
/* EIP-160 EXP repricing, EIP-161 empty accounts, EIP-170 code size */
#define T_SPURIOUS T_TANGERINE, .exp_byte = 50, .empty_is_dead = true, .max_code_size = 24576
/* EIP-196, 197, 198: modexp and alt_bn128 */
#define T_BYZANTIUM                                                                                \
    T_SPURIOUS, .precompiles = 8, .bn_add = 500, .bn_mul = 40000, .bn_pairing = 100000,            \
                .bn_pairing_pair = 80000
/* As deployed (Petersburg): EIP-1283 was withdrawn, so no net metering here. */
#define T_CONSTANTINOPLE T_BYZANTIUM
/* EIP-1884 repricing, EIP-2200 net gas metering, EIP-1108 alt_bn128 prices,
 * EIP-152 blake2f */
#define T_ISTANBUL                                                                                 \
    T_CONSTANTINOPLE, .sload = 800, .balance = 700, .extcodehash = 700, .sstore_net = true,        \
                      .sstore_noop = 800, .precompiles = 9, .bn_add = 150, .bn_mul = 6000,         \
                      .bn_pairing = 45000, .bn_pairing_pair = 34000
/* EIP-2929: warm costs as static gas, cold surcharges; EIP-2565 modexp */
#define T_BERLIN                                                                                   \
    T_ISTANBUL, .sload = 100, .balance = 100, .extcode = 100, .extcodehash = 100, .call = 100,     \
                .sstore_noop = 100, .sstore_reset = 2900, .access_lists = true,                    \
                .cold_sload = 2100, .cold_account = 2600, .modexp_eip2565 = true
/* EIP-3529: smaller refunds; EIP-3541: no 0xEF code */
#define T_LONDON                                                                                   \
    T_BERLIN, .sstore_clear_refund = 4800, .selfdestruct_refund = 0, .refund_quotient = 5,         \
              .reject_ef = true
/* EIP-3860 init code limit and cost, EIP-3651 warm coinbase, EIP-3855 PUSH0 */
#define T_SHANGHAI T_LONDON, .initcode_limit = true, .initcode_word = 2, .warm_coinbase = true
/* EIP-6780 SELFDESTRUCT only in the creating transaction; EIP-1153, 5656, 4844, 7516 opcodes;
 * EIP-4844 point evaluation */
#define T_CANCUN T_SHANGHAI, .selfdestruct_only_new = true, .precompiles = 10

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
static const evm_fork_table FORKS[EVM_NFORKS] = {
    [EVM_FORK_FRONTIER] = {.fork = EVM_FORK_FRONTIER, T_FRONTIER},
    [EVM_FORK_HOMESTEAD] = {.fork = EVM_FORK_HOMESTEAD, T_HOMESTEAD},
    [EVM_FORK_TANGERINE_WHISTLE] = {.fork = EVM_FORK_TANGERINE_WHISTLE, T_TANGERINE},
    [EVM_FORK_SPURIOUS_DRAGON] = {.fork = EVM_FORK_SPURIOUS_DRAGON, T_SPURIOUS},
    [EVM_FORK_BYZANTIUM] = {.fork = EVM_FORK_BYZANTIUM, T_BYZANTIUM},
    [EVM_FORK_CONSTANTINOPLE] = {.fork = EVM_FORK_CONSTANTINOPLE, T_CONSTANTINOPLE},
    [EVM_FORK_ISTANBUL] = {.fork = EVM_FORK_ISTANBUL, T_ISTANBUL},
    [EVM_FORK_BERLIN] = {.fork = EVM_FORK_BERLIN, T_BERLIN},
    [EVM_FORK_LONDON] = {.fork = EVM_FORK_LONDON, T_LONDON},
    [EVM_FORK_SHANGHAI] = {.fork = EVM_FORK_SHANGHAI, T_SHANGHAI},
    [EVM_FORK_CANCUN] = {.fork = EVM_FORK_CANCUN, T_CANCUN},
};
#pragma GCC diagnostic pop

const evm_fork_table *evm_fork_table_of(evm_fork f) {
    if ((unsigned)f >= EVM_NFORKS) f = EVM_FORK_DEFAULT;
    return &FORKS[f];
}

static const char *const FORK_NAMES[EVM_NFORKS] = {
#define X(name, str) str,
    EVM_FORKS(X)
#undef X
};

const char *evm_fork_name(evm_fork f) {
    return (unsigned)f < EVM_NFORKS ? FORK_NAMES[f] : "?";
}

int evm_fork_by_name(const char *name) {
    for (int i = 0; i < EVM_NFORKS; i++)
        if (!strcasecmp(name, FORK_NAMES[i])) return i;
    static const struct {
        const char *alias;
        evm_fork f;
    } aliases[] = {
        {"tangerinewhistle", EVM_FORK_TANGERINE_WHISTLE},
        {"tangerine_whistle", EVM_FORK_TANGERINE_WHISTLE},
        {"spuriousdragon", EVM_FORK_SPURIOUS_DRAGON},
        {"spurious_dragon", EVM_FORK_SPURIOUS_DRAGON},
        {"petersburg", EVM_FORK_CONSTANTINOPLE},
        {"paris", EVM_FORK_LONDON},
        {"merge", EVM_FORK_LONDON},
    };
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcasecmp(name, aliases[i].alias)) return aliases[i].f;
    return -1;
}

int evm_static_gas(evm_fork f, uint8_t op) {
    const evm_opinfo *oi = &OPINFO[op];
    const evm_fork_table *t = evm_fork_table_of(f);
    if (!oi->name || oi->since > t->fork) return -1;
    switch (op) {
    case EVM_OP_SLOAD: return t->sload;
    case EVM_OP_BALANCE: return t->balance;
    case EVM_OP_EXTCODESIZE:
    case EVM_OP_EXTCODECOPY: return t->extcode;
    case EVM_OP_EXTCODEHASH: return t->extcodehash;
    case EVM_OP_CALL:
    case EVM_OP_CALLCODE:
    case EVM_OP_DELEGATECALL:
    case EVM_OP_STATICCALL: return t->call;
    case EVM_OP_SELFDESTRUCT: return t->selfdestruct;
    default: return oi->gas;
    }
}

int evm_op_by_name(const char *name) {
    if (!strcasecmp(name, "SHA3")) return EVM_OP_KECCAK256;
    if (!strcasecmp(name, "SUICIDE")) return EVM_OP_SELFDESTRUCT;
    if (!strcasecmp(name, "DIFFICULTY")) return EVM_OP_PREVRANDAO;
    for (int i = 0; i < 256; i++)
        if (OPINFO[i].name && !strcasecmp(OPINFO[i].name, name)) return i;
    return -1;
}

int64_t evm_refund_cap(evm_fork f, int64_t gas_used, int64_t refund) {
    int64_t cap = gas_used / evm_fork_table_of(f)->refund_quotient;
    if (refund < 0) return 0;
    return refund < cap ? refund : cap;
}

static const char *const STATUS_NAMES[EVM_NSTATUS] = {
#define X(name, doc) #name,
    EVM_STATUSES(X)
#undef X
};

const char *evm_status_name(evm_status s) {
    return (unsigned)s < EVM_NSTATUS ? STATUS_NAMES[s] : "?";
}
