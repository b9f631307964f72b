/* Internal to vm/evm/: fork tables, frames and the VM structure. */
#ifndef FRUGAL_EVM_IMPL_H
#define FRUGAL_EVM_IMPL_H

#include "vm/evm/evm.h"
#include "vm/evm/evm_embed.h"
#include "vm/evm/uint256.h"
#include "vm/snapio.h"

#define EVM_STACK_LIMIT  1024
#define EVM_MAX_DEPTH    1024
#define EVM_CODE_PAD     33 /* zero bytes after the code: PUSH32 reads and a STOP */
#define EVM_MAX_INITCODE 49152

/* Gas schedule and rules of one fork: a struct of costs, not scattered ifs. */
typedef struct {
    evm_fork fork;
    /* static gas of the opcodes whose price changed across forks */
    int16_t sload, balance, extcode, extcodehash, call, selfdestruct;
    int64_t exp_byte;     /* EXP per exponent byte: 10, 50 from Spurious Dragon */
    int64_t sstore_set;   /* zero to non-zero */
    int64_t sstore_reset; /* non-zero to anything (pre-Istanbul: anything else) */
    int64_t sstore_noop;  /* EIP-2200 dirty or no-op write (SLOAD cost) */
    int64_t sstore_clear_refund;
    bool sstore_net;        /* EIP-2200 net metering (Istanbul on) */
    int64_t sstore_stipend; /* EIP-2200: SSTORE needs gas > this */
    bool access_lists;      /* EIP-2929 (Berlin on) */
    int64_t cold_sload;     /* full cost of a cold slot (2100); warm is .sload */
    int64_t cold_account;   /* full cost of a cold account (2600); warm is .call etc. */
    int64_t selfdestruct_refund;
    int64_t new_account;           /* 25000 */
    int64_t call_value;            /* 9000 */
    int64_t call_stipend;          /* 2300 */
    bool all_but_one_64th;         /* EIP-150 (Tangerine Whistle on) */
    bool selfdestruct_new_account; /* EIP-150: SELFDESTRUCT to a new account costs */
    bool empty_is_dead;            /* EIP-161 (Spurious Dragon on) */
    int refund_quotient;           /* 2, 5 from London */
    bool initcode_limit;           /* EIP-3860 (Shanghai on) */
    int64_t initcode_word;         /* 2 per word */
    int64_t create2_word;          /* 6 per word of hashing */
    int64_t create_data_byte;      /* code deposit, 200 */
    size_t max_code_size;          /* EIP-170: 24576 from Spurious Dragon, 0 none */
    bool create_deposit_fails;     /* Homestead: code deposit OOG fails the create */
    bool reject_ef;                /* EIP-3541 (London on) */
    bool selfdestruct_only_new;    /* EIP-6780 (Cancun) */
    bool warm_coinbase;            /* EIP-3651 (Shanghai on) */
    /* precompiled contracts: 0x01..precompiles exist */
    uint8_t precompiles;                 /* 4, 8 from Byzantium, 9 Istanbul, 10 Cancun */
    int64_t bn_add, bn_mul;              /* EIP-196; EIP-1108 from Istanbul */
    int64_t bn_pairing, bn_pairing_pair; /* EIP-197 base and per pair; EIP-1108 */
    bool modexp_eip2565;                 /* EIP-198 pricing, EIP-2565 from Berlin */
} evm_fork_table;

const evm_fork_table *evm_fork_table_of(evm_fork f);

/* Per-opcode dispatch entry derived from a fork table. */
typedef struct {
    int32_t gas;
    int16_t min;   /* stack items needed */
    int16_t range; /* max height before the op - min */
} evm_opcost;

/* A basic block: static gas and stack bounds charged and checked once on
 * entry (the plain loop). Blocks end before JUMPDEST, after JUMP, JUMPI and
 * terminators, and after the opcodes that read the gas left (GAS, SSTORE,
 * CALL*, CREATE*), so those see exact gas. Entry needs need <= height <=
 * need + range; need == EVM_BLK_FAIL marks a block that fails whatever the
 * height (an opcode missing in the fork, or impossible stack bounds); the
 * slow path then finds the precise error by walking the block. */
#define EVM_BLK_FAIL 0x7fff
typedef struct {
    int32_t gas;
    int16_t need;
    int16_t range;
} evm_blk;

/* One message being run. Frames 0..vm->top are live: the VM runs them in
 * one loop (no recursion on the C stack), so a run can stop in any frame and
 * resume exactly. A frame's whole state is here. */
typedef struct {
    u256 *stack; /* EVM_STACK_LIMIT items */
    uint8_t *mem;
    size_t mem_size, mem_cap; /* mem_size is a multiple of 32 */
    uint8_t *ret;             /* return data of the last call */
    size_t ret_size, ret_cap;
    uint8_t *code; /* padded copy */
    size_t code_cap, code_size;
    uint8_t *jd; /* JUMPDEST bitmap */
    size_t jd_cap;
    evm_blk *blk; /* per code offset; valid where a basic block starts */
    size_t blk_cap;
    uint8_t *in; /* owned copy of the calldata (msg.input points here) */
    size_t in_cap;
    evm_message msg;
    /* where the loop is: pc, stack height, gas left, refund counter */
    uint32_t pc, height;
    int64_t gas, refund;
    uint64_t snap; /* the host's snapshot for this message */
    /* set when the frame halts */
    evm_status status;
    uint64_t out_off, out_size; /* RETURN/REVERT data in mem */
    bool active;
} evm_frame;

/* Internal result of the loop (never seen by users; see evm_embed.h). */
#define EVM_ST_ENTER ((evm_status)100) /* a nested frame was pushed */

struct evm_vm {
    evm_fork fork;
    const evm_fork_table *ft;
    evm_opcost tbl[256];
    evm_policy_fn policy;
    void *policy_ctx;
    evm_trace_fn tracer;
    void *trace_ctx;
    evm_bytes32 *trace_stack;
    size_t mem_limit;
    uint64_t peak;
    int top;          /* the running frame */
    bool entered;     /* the last CALL/CREATE pushed a frame; else: */
    evm_result done;  /* its result, when it finished at once */
    evm_meter *meter; /* metered run, or NULL */
    evm_frame *frames[EVM_MAX_DEPTH + 1];
};

/* memory cost of w words: 3w + w^2/512 */
static inline int64_t evm_mem_cost(uint64_t words) {
    return (int64_t)(3 * words + words * words / 512);
}

static inline u256 evm_addr_to_u256(const evm_address *a) {
    return evm_u256_from_bytes(a->b, 20);
}
static inline evm_address evm_u256_to_addr(const u256 *v) {
    uint8_t b[32];
    u256_to_be(v, b);
    evm_address a;
    memcpy(a.b, b + 12, 20);
    return a;
}
static inline evm_bytes32 evm_u256_to_b32(const u256 *v) {
    evm_bytes32 r;
    u256_to_be(v, r.b);
    return r;
}
static inline u256 evm_b32_to_u256(const evm_bytes32 *b) {
    return u256_from_be(b->b);
}
static inline bool evm_b32_is_zero(const evm_bytes32 *b) {
    static const evm_bytes32 z;
    return memcmp(b->b, z.b, 32) == 0;
}

#endif
