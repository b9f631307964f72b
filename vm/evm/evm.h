/* frugal's EVM guest: the public API (docs/evm.md).
 *
 * An evm_vm runs EVM bytecode under one fork's gas schedule. Create it once
 * and run it many times: after warm-up, running allocates nothing except when
 * EVM memory grows. All state outside the running frame (accounts, storage,
 * balances, other code, logs, block context) is reached through an evm_host,
 * a table of function pointers; evm_memhost is a complete in-memory host.
 * Every dangerous opcode first asks the VM's policy (allow, deny, redirect).
 */
#ifndef FRUGAL_EVM_H
#define FRUGAL_EVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- opcodes (generated from vm/evm/opcodes.def) ---- */

typedef enum {
#define OP(name, byte, in, out, gas, since, kind, run, doc) EVM_OP_##name = byte,
#include "vm/evm/opcodes.def"
#undef OP
} evm_opcode;

/* ---- forks ---- */

#define EVM_FORKS(X)                                                                               \
    X(FRONTIER, "frontier")                                                                        \
    X(HOMESTEAD, "homestead")                                                                      \
    X(TANGERINE_WHISTLE, "tangerine")                                                              \
    X(SPURIOUS_DRAGON, "spurious")                                                                 \
    X(BYZANTIUM, "byzantium")                                                                      \
    X(CONSTANTINOPLE, "constantinople")                                                            \
    X(ISTANBUL, "istanbul")                                                                        \
    X(BERLIN, "berlin")                                                                            \
    X(LONDON, "london")                                                                            \
    X(SHANGHAI, "shanghai")                                                                        \
    X(CANCUN, "cancun")

typedef enum {
#define X(name, str) EVM_FORK_##name,
    EVM_FORKS(X)
#undef X
        EVM_NFORKS
} evm_fork;
#define EVM_FORK_DEFAULT EVM_FORK_CANCUN

const char *evm_fork_name(evm_fork f);
/* Fork by name (case-insensitive; also "petersburg", "paris", "merge"), or -1. */
int evm_fork_by_name(const char *name);

typedef struct {
    const char *name; /* NULL: undefined byte */
    uint8_t in, out;
    uint16_t gas;   /* static gas under Cancun */
    evm_fork since; /* first fork with the opcode */
    const char *doc;
} evm_opinfo;
const evm_opinfo *evm_opinfo_of(uint8_t op);
/* Static gas of op under fork f, or -1 if op is undefined in f. */
int evm_static_gas(evm_fork f, uint8_t op);
/* Opcode by name (case-insensitive, "SHA3" and "SUICIDE" accepted), or -1. */
int evm_op_by_name(const char *name);

/* ---- pure words (the superoptimiser's stack model, fitness/superopt.c) ---- */

/* A 256-bit word as four 64-bit limbs, least significant first. */
typedef struct {
    uint64_t w[4];
} evm_word;
/* The result of a pure opcode (ADD..SIGNEXTEND, LT..SAR: no gas beyond its
 * static cost except EXP's, no state) on its operands, a[0] being the top of
 * the stack, computed by the same code as the interpreter. Returns the
 * number of operands the opcode takes, or -1 if op is not pure. */
int evm_word_op(uint8_t op, const evm_word *a, evm_word *out);

/* ---- values ---- */

typedef struct {
    uint8_t b[20];
} evm_address;
typedef struct {
    uint8_t b[32]; /* big-endian 256-bit word */
} evm_bytes32;

/* ---- execution ---- */

#define EVM_STATUSES(X)                                                                            \
    X(SUCCESS, "STOP, RETURN, SELFDESTRUCT or the end of the code")                                \
    X(REVERT, "REVERT: state undone, gas left returned, output kept")                              \
    X(OUT_OF_GAS, "gas ran out")                                                                   \
    X(INVALID_INSTRUCTION, "INVALID, or a byte that is not an opcode in this fork")                \
    X(BAD_JUMP, "JUMP or JUMPI to a non-JUMPDEST (or into PUSH data)")                             \
    X(STACK_UNDERFLOW, "too few stack items")                                                      \
    X(STACK_OVERFLOW, "more than 1024 stack items")                                                \
    X(STATIC_VIOLATION, "state change inside STATICCALL")                                          \
    X(RETURNDATA_OOB, "RETURNDATACOPY beyond the return data")                                     \
    X(OUT_OF_MEMORY, "EVM memory beyond the VM's memory limit")                                    \
    X(DENIED, "the policy denied SSTORE, LOG or SELFDESTRUCT: the frame reverts")                  \
    X(CALL_DEPTH, "call depth above 1024 (result of a message, not of a frame)")                   \
    X(INSUFFICIENT_BALANCE, "value above the sender's balance (message result)")                   \
    X(CREATE_COLLISION, "CREATE to an address with code or nonce (message result)")                \
    X(INTERNAL_ERROR, "the host or VM failed (e.g. no memory for a frame)")                        \
    X(PRECOMPILE_FAILURE, "a precompiled contract rejected its input (message result)")

typedef enum {
#define X(name, doc) EVM_##name,
    EVM_STATUSES(X)
#undef X
        EVM_NSTATUS
} evm_status;
const char *evm_status_name(evm_status s);
/* True for exceptional halts: all gas consumed, state reverted. */
static inline bool evm_status_is_exceptional(evm_status s) {
    return s != EVM_SUCCESS && s != EVM_REVERT && s != EVM_DENIED;
}

typedef enum {
    EVM_CALL_CALL,
    EVM_CALL_CALLCODE,
    EVM_CALL_DELEGATECALL,
    EVM_CALL_STATICCALL,
    EVM_CALL_CREATE,
    EVM_CALL_CREATE2,
} evm_call_kind;

/* A message: what to run and in whose context. */
typedef struct {
    evm_call_kind kind;
    bool is_static;
    int32_t depth;            /* 0 for the transaction's own call */
    int64_t gas;              /* gas limit of the frame */
    evm_address recipient;    /* ADDRESS: whose storage and balance; for CREATE set by host */
    evm_address sender;       /* CALLER */
    evm_address code_address; /* whose code runs (differs for DELEGATECALL, CALLCODE) */
    const uint8_t *input;     /* calldata, or init code for CREATE */
    size_t input_size;
    evm_bytes32 value; /* CALLVALUE (for DELEGATECALL: the parent's) */
    evm_bytes32 salt;  /* CREATE2 */
} evm_message;

typedef struct {
    evm_status status;
    int64_t gas_left;   /* 0 after an exceptional halt */
    int64_t gas_refund; /* refund counter of the frame (may be negative inside a tx) */
    /* RETURN/REVERT data. Owned by the VM (or host); valid until the next
     * execution at the same depth. */
    const uint8_t *output;
    size_t output_size;
    evm_address create_address; /* CREATE/CREATE2 on success */
} evm_result;

/* Block and transaction context (ADDRESS .. BLOBBASEFEE sources). */
typedef struct {
    evm_address origin, coinbase;
    evm_bytes32 gas_price, prev_randao /* DIFFICULTY before the merge */, chain_id, base_fee,
        blob_base_fee;
    int64_t number, timestamp, gas_limit;
    const evm_bytes32 *blob_hashes;
    size_t nblob_hashes;
} evm_context;

/* The host interface. Every function gets the host's ctx. Addresses and
 * words are passed by pointer. The VM never keeps returned pointers past the
 * next host call. */
typedef struct evm_host {
    /* Pre Spurious Dragon: the account exists. From Spurious Dragon: it
     * exists and is not empty (EIP-161). */
    bool (*account_exists)(void *ctx, const evm_address *a);
    void (*get_storage)(void *ctx, const evm_address *a, const evm_bytes32 *key, evm_bytes32 *out);
    /* Writes value; reports the value at the start of the transaction and
     * the value before this write (for SSTORE gas and refunds). */
    void (*set_storage)(void *ctx, const evm_address *a, const evm_bytes32 *key,
                        const evm_bytes32 *value, evm_bytes32 *original, evm_bytes32 *current);
    void (*get_balance)(void *ctx, const evm_address *a, evm_bytes32 *out);
    size_t (*get_code_size)(void *ctx, const evm_address *a);
    void (*get_code_hash)(void *ctx, const evm_address *a, evm_bytes32 *out); /* 0: no account */
    /* Code of a; *size set. The pointer is valid until the next host call. */
    const uint8_t *(*get_code)(void *ctx, const evm_address *a, size_t *size);
    /* Registers a for destruction; moves its balance. Returns true the first
     * time a is destructed in this transaction. */
    bool (*selfdestruct)(void *ctx, const evm_address *a, const evm_address *beneficiary);
    /* Nested messages (CALL family and CREATE) in two halves, so that the VM
     * runs every frame in one loop and can stop and resume in any of them.
     * call_begin starts msg: depth and balance checks, a snapshot (returned
     * in *snap), value transfer, and for CREATE the address (written to
     * msg->recipient and msg->code_address). It returns true when code must
     * run (*code, *size: valid until the next host call; for CREATE the init
     * code is msg->input), or false with the finished result in *res (no
     * code, a failure, or a recorded call). call_end finishes a message that
     * ran: it reverts to snap unless res->status is EVM_SUCCESS, and for a
     * successful CREATE stores res->output as the code and sets
     * res->create_address. The VM has charged the code deposit already. */
    bool (*call_begin)(void *ctx, evm_message *msg, const uint8_t **code, size_t *size,
                       uint64_t *snap, evm_result *res);
    void (*call_end)(void *ctx, const evm_message *msg, uint64_t snap, evm_result *res);
    /* Journal position and rollback to it (a resumable stop undoes the
     * instruction it stopped in). */
    uint64_t (*snapshot)(void *ctx);
    void (*revert)(void *ctx, uint64_t snap);
    const evm_context *(*get_context)(void *ctx);
    void (*get_block_hash)(void *ctx, int64_t number, evm_bytes32 *out);
    void (*emit_log)(void *ctx, const evm_address *a, const uint8_t *data, size_t size,
                     const evm_bytes32 *topics, size_t ntopics);
    /* EIP-2929: mark warm; return true if it was cold. */
    bool (*access_account)(void *ctx, const evm_address *a);
    bool (*access_storage)(void *ctx, const evm_address *a, const evm_bytes32 *key);
    void (*get_transient)(void *ctx, const evm_address *a, const evm_bytes32 *key,
                          evm_bytes32 *out);
    void (*set_transient)(void *ctx, const evm_address *a, const evm_bytes32 *key,
                          const evm_bytes32 *value);
} evm_host;

/* ---- policy: the hypervisor hook ---- */

typedef enum { EVM_ALLOW, EVM_DENY, EVM_REDIRECT } evm_verdict;

/* What a dangerous opcode is about to do. A policy that answers
 * EVM_REDIRECT has rewritten target (calls, SELFDESTRUCT beneficiary) or
 * key (SSTORE slot); the VM proceeds with the rewritten action.
 *
 * Effect of EVM_DENY:
 *   CALL, CALLCODE, DELEGATECALL, STATICCALL, CREATE, CREATE2: the call is
 *     not made; it fails with 0 pushed, empty return data, and the gas set
 *     aside for it returned (only the base cost is charged).
 *   SSTORE, LOG0..4, SELFDESTRUCT: the frame halts with EVM_DENIED, which
 *     acts like REVERT: its state changes are undone, its gas left is
 *     returned to the caller, empty output, and the caller sees 0 pushed. */
typedef struct {
    uint8_t op;            /* the opcode */
    int32_t depth;         /* of the frame doing it */
    evm_address self;      /* ADDRESS of the frame (whose storage SSTORE writes) */
    evm_address code_addr; /* whose code is running */
    evm_address target;    /* call target, SELFDESTRUCT beneficiary; self for SSTORE/LOG */
    evm_bytes32 key;       /* SSTORE slot */
    evm_bytes32 value;     /* SSTORE value, call value */
} evm_action;

typedef evm_verdict (*evm_policy_fn)(void *ctx, evm_action *act);

/* Shipped policies (vm/evm/policy.c). "allow": everything. */
evm_verdict evm_policy_allow(void *ctx, evm_action *act);
/* "isolated": no external effects but the frame's own storage: SSTORE is
 * allowed, every other dangerous opcode (calls, creates, LOG, SELFDESTRUCT)
 * is denied. The policy for GP. ctx unused. */
evm_verdict evm_policy_isolated(void *ctx, evm_action *act);
/* "keys": calls (all four kinds) only to allowed callees; SSTORE and LOG
 * allowed; CREATE, CREATE2 and SELFDESTRUCT denied. ctx: evm_keys. A callee
 * is allowed for every caller when listed in keys, and for one caller when
 * a pair names both ("is the callee allowed for this caller?", as in MUD).
 * The caller is the calling frame's own address (ADDRESS): code run by
 * DELEGATECALL or CALLCODE calls with the authority of the account that
 * delegated. */
typedef struct {
    evm_address caller, callee;
} evm_key_pair;
typedef struct {
    const evm_address *keys;
    size_t n;
    const evm_key_pair *pairs;
    size_t npairs;
} evm_keys;
evm_verdict evm_policy_keys(void *ctx, evm_action *act);
/* "tables": SSTORE only to slots whose top `bits` bits (1..256; 0 means 128)
 * equal those of one of the listed table ids (as in MUD's ResourceId); calls
 * follow `calls` (a keys list; NULL: denied); LOG allowed; CREATE, CREATE2,
 * SELFDESTRUCT denied. ctx: evm_tables. */
typedef struct {
    const evm_bytes32 *tables;
    size_t n;
    unsigned bits;
    const evm_keys *calls;
} evm_tables;
evm_verdict evm_policy_tables(void *ctx, evm_action *act);
/* Policy by name ("allow", "isolated", "keys", "tables"), or NULL (which
 * also means allow-all when set on a VM). */
evm_policy_fn evm_policy_by_name(const char *name);

/* A policy chosen in words, as `frugal evm --policy` and arena specs take it
 * (docs/evm.md, "Choosing a policy"):
 *   allow | isolated
 *   keys:ITEM[,ITEM...]  ITEM = CALLEE (allowed to every caller) or
 *                        CALLER:CALLEE (to that caller only); addresses in
 *                        hex, 0x optional, at most 40 digits (0x02 is 2)
 *   tables:BITS          SSTORE only to slots whose top BITS bits (1..256)
 *                        are zero, i.e. in table 0; calls denied
 * evm_policy_parse returns a spec to free with evm_policy_spec_free (fn and
 * ctx point into it), or NULL with a message naming the bad part in err. */
typedef struct evm_policy_spec {
    evm_policy_fn fn;
    void *ctx;
    char *words; /* as given */
    evm_keys keys;
    evm_tables tables;
    evm_bytes32 table0;
    evm_address *addrs;
    evm_key_pair *pairs;
} evm_policy_spec;
evm_policy_spec *evm_policy_parse(const char *words, char *err, size_t errcap);
void evm_policy_spec_free(evm_policy_spec *p);

/* ---- the VM ---- */

typedef struct evm_vm evm_vm;

evm_vm *evm_vm_new(void);
void evm_vm_free(evm_vm *vm);
void evm_vm_set_fork(evm_vm *vm, evm_fork f);
evm_fork evm_vm_fork(const evm_vm *vm);
/* NULL fn: allow everything (the default). */
void evm_vm_set_policy(evm_vm *vm, evm_policy_fn fn, void *ctx);
/* Largest EVM memory of one frame in bytes (default 256 MiB); beyond it a
 * frame halts with EVM_OUT_OF_MEMORY. */
void evm_vm_set_mem_limit(evm_vm *vm, size_t bytes);

/* Called before each instruction when set (slower loop). gas is before the
 * instruction, cost its static gas. stack is bottom first. */
typedef struct {
    uint32_t pc;
    uint8_t op;
    int64_t gas, cost, refund;
    int32_t depth; /* 0 for the outermost frame */
    const evm_bytes32 *stack;
    size_t stack_size;
    size_t mem_size;
} evm_step;
typedef void (*evm_trace_fn)(void *ctx, const evm_step *step);
void evm_vm_set_tracer(evm_vm *vm, evm_trace_fn fn, void *ctx);

/* Run code for msg. res->output is valid until the next run at msg->depth.
 * Returns res->status. State is reverted by the host, not here: a caller at
 * depth 0 should snapshot and roll back on failure (evm_memhost_transact). */
evm_status evm_execute(evm_vm *vm, const evm_host *host, void *host_ctx, const evm_message *msg,
                       const uint8_t *code, size_t code_size, evm_result *res);

/* Words in use now across active frames: stack items plus 32-byte memory
 * words (for the host's memory and memory-time meters). */
uint64_t evm_vm_words_in_use(const evm_vm *vm);
/* Most words in use at once during the last outermost evm_execute. */
uint64_t evm_vm_words_peak(const evm_vm *vm);

/* Minimum refund cap: gas used / 2 (before London) or / 5 (London on). */
int64_t evm_refund_cap(evm_fork f, int64_t gas_used, int64_t refund);

/* ---- precompiled contracts (vm/evm/precompile.c, docs/evm.md) ---- */

/* The precompiled contract at a under fork f (1..10: ecrecover, SHA-256,
 * RIPEMD-160, identity, modexp, alt_bn128 add, mul, pairing, blake2f, KZG
 * point evaluation), or 0 when a is an ordinary account there. */
int evm_precompile_of(evm_fork f, const evm_address *a);
/* Runs precompile id (evm_precompile_of) on in[0..n) with gas under fork f,
 * as a message would. *res: EVM_SUCCESS with gas_left = gas - cost and the
 * output in *buf (grown with realloc, *cap its size; output NULL when
 * empty); or a failure with gas_left 0 and no output: EVM_OUT_OF_GAS (the
 * cost is above gas), EVM_PRECOMPILE_FAILURE (invalid input: a bad point,
 * length, flag or proof), EVM_OUT_OF_MEMORY (the output would be over
 * max_out bytes, or memory ran out). The cost is known before any work, and
 * nothing is allocated beyond the input size and max_out. */
void evm_precompile_run(evm_fork f, int id, const uint8_t *in, size_t n, int64_t gas,
                        size_t max_out, uint8_t **buf, size_t *cap, evm_result *res);
/* The gas a call of precompile id with in[0..n) costs under fork f
 * (INT64_MAX when it is more), before any check of the input's contents. */
int64_t evm_precompile_gas(evm_fork f, int id, const uint8_t *in, size_t n);

/* ---- the in-memory host (vm/evm/memhost.c) ---- */

typedef struct evm_memhost evm_memhost;
extern const evm_host evm_memhost_iface;

/* vm runs nested calls; fork decides account-existence rules. */
evm_memhost *evm_memhost_new(evm_vm *vm);
void evm_memhost_free(evm_memhost *h);
evm_context *evm_memhost_context(evm_memhost *h);
int evm_memhost_set_balance(evm_memhost *h, const evm_address *a, const evm_bytes32 *v);
int evm_memhost_set_nonce(evm_memhost *h, const evm_address *a, uint64_t nonce);
int evm_memhost_set_code(evm_memhost *h, const evm_address *a, const uint8_t *code, size_t n);
int evm_memhost_set_storage(evm_memhost *h, const evm_address *a, const evm_bytes32 *k,
                            const evm_bytes32 *v);
void evm_memhost_get_storage(evm_memhost *h, const evm_address *a, const evm_bytes32 *k,
                             evm_bytes32 *v);
/* Non-zero storage slots of a, in insertion order: returns the count, and
 * with i < count fills *k and *v. */
size_t evm_memhost_storage(evm_memhost *h, const evm_address *a, size_t i, evm_bytes32 *k,
                           evm_bytes32 *v);
bool evm_memhost_exists(evm_memhost *h, const evm_address *a);
uint64_t evm_memhost_nonce(evm_memhost *h, const evm_address *a);
/* Legacy VM test mode: CALL-family and CREATE messages are recorded (see
 * evm_memhost_callcreate), not run; they succeed with all their gas left. */
void evm_memhost_set_record_calls(evm_memhost *h, bool on);
typedef struct {
    evm_call_kind kind;
    evm_address to; /* zero for CREATE */
    int64_t gas;
    evm_bytes32 value;
    const uint8_t *data;
    size_t size;
} evm_callcreate;
size_t evm_memhost_ncallcreates(const evm_memhost *h);
const evm_callcreate *evm_memhost_callcreate(const evm_memhost *h, size_t i);

typedef struct {
    evm_address addr;
    evm_bytes32 topics[4];
    size_t ntopics;
    const uint8_t *data;
    size_t size;
} evm_log;
size_t evm_memhost_nlogs(const evm_memhost *h);
const evm_log *evm_memhost_log(const evm_memhost *h, size_t i);
/* keccak256(rlp(logs)) as the legacy tests define it. */
void evm_memhost_logs_hash(const evm_memhost *h, uint8_t out[32]);

/* Start a transaction: commit storage as the "original" values, clear logs,
 * transient storage, access lists, refunds and destructions; warm origin,
 * coinbase (Shanghai on) and the given addresses (EIP-2929 from Berlin). */
void evm_memhost_begin_tx(evm_memhost *h, const evm_address *warm, size_t nwarm);
/* Run msg as a transaction's call: value transfer, snapshot, execution,
 * rollback on failure. No intrinsic gas, no nonce bump, no refund applied. */
evm_status evm_memhost_transact(evm_memhost *h, const evm_message *msg, evm_result *res);
/* Snapshot and rollback of every state change (journal based). */
size_t evm_memhost_snapshot(const evm_memhost *h);
void evm_memhost_revert(evm_memhost *h, size_t snap);

/* ---- helpers ---- */

/* Hex (optional 0x, whitespace ignored) to bytes; *out malloc'ed. 0 or -1. */
int evm_hex_decode(const char *hex, uint8_t **out, size_t *n);
/* A 256-bit word from "0x" and hex digits or from decimal digits (taken
 * modulo 2^256), big-endian into *out. 0, or -1 when s is not a number. */
int evm_word_parse(const char *s, evm_bytes32 *out);
/* The word as 0x and its hex digits, no leading zeros (buf: 80 bytes). */
void evm_word_hex(const evm_bytes32 *w, char *buf);
/* Disassemble to f, one instruction per line: "pc: NAME [0xIMM]". */
void evm_disasm(const uint8_t *code, size_t n, FILE *f);

#endif
