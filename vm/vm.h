/* frugal's metered VM: the public API of the vm module.
 *
 * A vm_machine holds a tree of processes (the root runs the loaded code; each
 * has its code, stack, heap, call stack and meters, and an EVM process its
 * EVM state) and every buffer needed to run them. Create it once and reuse
 * it: loading and running allocate nothing once the machine has grown to the
 * limits in use.
 */
#ifndef FRUGAL_VM_H
#define FRUGAL_VM_H

#include "base/base.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef int64_t vm_word;

/* A growable byte buffer (code, snapshots): base_buf. */
typedef base_buf vm_buf;
static inline void vm_buf_free(vm_buf *b) {
    if (b) base_buf_free(b);
}

/* ---- opcodes (generated from vm/opcodes.def) ---- */

typedef enum {
#define OP(name, byte, in, out, gas, imm, doc) VM_OP_##name = byte,
#include "opcodes.def"
#undef OP
} vm_opcode;

typedef enum { VM_IMM_NONE, VM_IMM_I64, VM_IMM_REL, VM_IMM_IDX, VM_IMM_U8, VM_IMM_ARG } vm_imm_kind;

typedef struct {
    const char *name; /* NULL for an undefined byte */
    uint8_t in, out;  /* for VM_IMM_IDX add the index n to both */
    uint16_t gas;
    vm_imm_kind imm;
    const char *doc;
} vm_opinfo;

/* Table entry for any byte; .name is NULL when the byte is undefined. */
const vm_opinfo *vm_opinfo_of(uint8_t op);
/* Immediate size in bytes. */
unsigned vm_imm_size(vm_imm_kind k);
/* The opcode whose name matches (case-insensitive), or -1. */
int vm_op_by_name(const char *name);

/* One decoded instruction. Every byte string decodes. */
typedef struct {
    uint32_t pc, len; /* len >= 1; a truncated immediate spans to the end */
    uint8_t op;
    bool defined, truncated;
    vm_word imm; /* I64 value, REL offset, or IDX index */
} vm_insn;
void vm_decode(const uint8_t *code, size_t len, size_t pc, vm_insn *out);
/* Absolute target of a REL instruction (may be out of range). */
static inline int64_t vm_rel_target(const vm_insn *in) {
    return (int64_t)in->pc + in->len + in->imm;
}
/* The truth of IF's and WHILE's word: > 0. A comparison's 1 is true and
 * its 0 false; an input's value is true about half the time, so a
 * condition that evolution leaves on an input shows on the training cases
 * (docs/isa.md, "Blocks"). */
static inline bool vm_cond(vm_word a) {
    return a > 0;
}
/* MOD: floored, with the sign of b (Lua's %, Clojure's mod), so that
 * `2 MOD` is 0 or 1 on any integer; 0 when b is 0 (and b = -1, whose
 * remainder is always 0: INT64_MIN % -1 would trap). */
static inline vm_word vm_mod(vm_word a, vm_word b) {
    if (b == 0 || b == -1) return 0;
    vm_word r = a % b;
    return r != 0 && (r < 0) != (b < 0) ? r + b : r;
}
/* Opens a block that a CLOSE ends (TIMES, EACH, IF, WHILE: docs/isa.md, "Blocks"). */
static inline bool vm_is_block_open(uint8_t op) {
    return op == VM_OP_TIMES || op == VM_OP_EACH || op == VM_OP_IF || op == VM_OP_WHILE;
}
/* Blocks matched as brackets in the linear decoding, the rule of the
 * interpreter: m[pc] of an opener is the address after its CLOSE (or len);
 * of a CLOSE of a TIMES, EACH or WHILE, the body's first address; UINT32_MAX for
 * every other instruction (an IF's or an unmatched CLOSE does nothing). m
 * has room for 2 * (len + 1) entries: the second half is scratch. */
void vm_match_blocks(const uint8_t *code, uint32_t len, uint32_t *m);

/* ---- statuses ---- */

#define VM_STATUSES(X)                                                                             \
    X(RUNNING, 0, "not stopped yet (fresh or resumable)")                                          \
    X(HALTED, 1, "HALT, RET with an empty call stack, or the end of the code")                     \
    X(YIELDED, 2, "YIELD; running again resumes after it")                                         \
    X(OUT_OF_GAS, 3, "the next instruction cannot be paid for; refuel and resume")                 \
    X(OUT_OF_MEMORY, 4, "the next instruction would exceed the memory limit")                      \
    X(OUT_OF_MEMTIME, 5, "the next instruction would exceed the memory-time limit")                \
    X(STACK_UNDERFLOW, 6, "the next instruction needs more stack items than there are")            \
    X(STACK_OVERFLOW, 7, "the next instruction would exceed the stack depth limit")                \
    X(INVALID_OPCODE, 8, "the byte at IP is not an opcode")                                        \
    X(BAD_JUMP, 9, "a jump or call whose target is not the start of an instruction")               \
    X(TRUNCATED, 10, "an immediate runs past the end of the code")                                 \
    X(OUT_OF_BOUNDS, 11, "LOAD or STORE outside 0..MSIZE-1, a page or an argument out of range")   \
    X(CALL_OVERFLOW, 12, "CALL beyond the call depth limit")                                       \
    X(BAD_KEY, 13, "a key index that is empty, out of range, of the wrong kind or lacks a right")  \
    X(CHANNEL_EMPTY, 14, "IN on a channel with nothing to read; resumable when the host writes")   \
    X(CHANNEL_FULL, 15, "OUT on a full channel; resumable when the host reads")                    \
    X(NEST_LIMIT, 16, "RECURSE beyond the nesting depth limit")                                    \
    X(KEY_LIMIT, 17, "a key list would exceed the key limit")                                      \
    X(BUSY, 18,                                                                                    \
      "(KCALL and RECURSE results) the process is running, or suspended in or by a call")          \
    X(BAD_IMAGE, 19, "LOADCHILD of a page that holds no valid process image")

typedef enum {
#define X(name, code, doc) VM_##name = code,
    VM_STATUSES(X)
#undef X
        VM_NSTATUS
} vm_status;

const char *vm_status_name(vm_status s);
const char *vm_status_doc(vm_status s);

/* ---- limits and meters ---- */

/* Every limit is explicit. Zero in a vm_limits field means "the default". */
#define VM_DEFAULT_GAS   1000000ull
#define VM_DEFAULT_MEM   65536u /* words: stack + heap + call frames */
#define VM_DEFAULT_STACK 1024u  /* stack depth, words */
#define VM_DEFAULT_CALLS 256u   /* call depth */
#define VM_DEFAULT_NEST  64u    /* nesting depth of running processes */
#define VM_DEFAULT_KEYS  256u   /* key list length */
#define VM_MAX_GAS       (1ull << 62)
#define VM_MAX_MEM       (1u << 28)   /* 2 GiB of words */
#define VM_MAX_MEMTIME   (1ull << 62) /* also the default: effectively unlimited */
#define VM_MAX_STACK     (1u << 20)
#define VM_MAX_CALLS     (1u << 20)
#define VM_MAX_NEST      1024u
#define VM_MAX_KEYS      (1u << 16)
#define VM_MAX_CODE      (1u << 24) /* bytes */

typedef struct {
    uint64_t gas;      /* total gas the process may use */
    uint32_t mem;      /* words in use at any moment */
    uint64_t memtime;  /* total word-gas */
    uint32_t stack;    /* stack depth */
    uint32_t calls;    /* call depth */
    uint32_t nest;     /* nesting depth below this process (root: of the whole chain) */
    uint32_t keys;     /* key list length */
    uint8_t underflow; /* VM_UNDERFLOW_FAULT (the default) or VM_UNDERFLOW_SKIP */
} vm_limits;

/* The operand-shortage rule of a process (docs/isa.md, "Operand shortage"):
 * an instruction with too few stack words stops it with STACK_UNDERFLOW
 * (FAULT), or is charged and does nothing (SKIP; a TIMES or IF skips its
 * block). Children get their owner's rule. */
#define VM_UNDERFLOW_FAULT 1u
#define VM_UNDERFLOW_SKIP  2u

typedef struct {
    uint64_t gas;     /* gas used */
    uint64_t memtime; /* sum over executed instructions of words in use x gas */
    uint32_t mem;     /* words in use now */
} vm_meters;

/* ---- the machine ---- */

typedef struct vm_machine vm_machine;

vm_machine *vm_machine_new(void);
void vm_machine_free(vm_machine *a);

/* Load code and reset the process. Returns 0, or -1 if len > VM_MAX_CODE or
 * memory cannot be had. The code is copied. */
int vm_load(vm_machine *a, const uint8_t *code, size_t len);
/* Fresh process on the loaded code: empty stack and heap, zero meters, IP 0. */
void vm_reset(vm_machine *a);
/* Set limits (0 fields take defaults; values are clamped to the VM_MAX_*).
 * Allowed between runs: raising gas and resuming is refuelling. Returns 0 or
 * -1 if memory cannot be had. */
int vm_set_limits(vm_machine *a, const vm_limits *l);
void vm_get_limits(const vm_machine *a, vm_limits *l);
/* The limits vm_set_limits sets for l: defaults for 0 fields, clamped. */
void vm_limits_norm(const vm_limits *l, vm_limits *n);
/* Push an initial stack word. Returns 0, or -1 if the stack or memory limit
 * would be exceeded. */
int vm_push(vm_machine *a, vm_word w);
/* Set the root's read-only argument words (ARG n reads word n), replacing
 * any: a task gives its inputs this way too. Like code, they do not count in
 * the root's words (a child's count in its owner's). vm_reset clears them.
 * Returns 0, or -1 if n > VM_MAX_ARGS or memory cannot be had. */
#define VM_MAX_ARGS 256u
int vm_set_args(vm_machine *a, const vm_word *w, uint32_t n);
uint32_t vm_nargs(const vm_machine *a);
const vm_word *vm_args(const vm_machine *a);

/* The machine's seed (default 0): the root's RAND stream, and through the
 * tree every child's, derive from it (docs/isa.md, "Random numbers"). It
 * reseeds the root's stream now and at every vm_reset; vm_load keeps it. */
void vm_set_seed(vm_machine *a, uint64_t seed);
uint64_t vm_seed(const vm_machine *a);
/* Whether the loaded code may read the seed: it holds a RAND, or a process
 * instruction (a child's stream derives from the seed). When it does not,
 * no run of it depends on the seed, and a caller may skip deriving one. */
bool vm_reads_seed(const vm_machine *a);

/* Run until the process stops. Running a process stopped for a resource
 * resumes it exactly; a HALTED process stays halted. */
vm_status vm_run(vm_machine *a);

/* Batched runs (docs/isa.md, "Batched runs"): the same code on n cases at
 * once. Case i is what vm_reset, vm_set_args of its nin words in[i * nin ..],
 * vm_push of each of them in order, and vm_run would give; the machine's
 * own process is left as it was. Code whose every instruction is
 * straight-line and value-oblivious (the stack, ARG and the pure opcodes:
 * no jump, block, memory, meter or process instruction) runs the same way
 * on every case, so its status, meters and final depth are computed once
 * and its words case by case, many cases to an instruction. Returns 0 with
 * *res filled and, when res->status is HALTED, out[i * nout + k] = case
 * i's stack word at depth - nout + k (0 where depth + k < nout); 1 when the
 * code is of another kind, might stop at a limit, or the machine is traced
 * or stepping (run each case in the VM; nothing written); -1 if memory
 * cannot be had. */
typedef struct {
    vm_status status;
    vm_meters m; /* every case's */
    uint32_t depth;
} vm_cases_result;
int vm_run_cases(vm_machine *a, const uint8_t *code, size_t len, const vm_word *in, uint32_t nin,
                 uint32_t n, uint32_t nout, vm_word *out, vm_cases_result *res);

vm_status vm_status_get(const vm_machine *a);
uint32_t vm_ip(const vm_machine *a);
void vm_meters_get(const vm_machine *a, vm_meters *m);
uint32_t vm_depth(const vm_machine *a);
const vm_word *vm_stack(const vm_machine *a); /* bottom first */
uint32_t vm_msize(const vm_machine *a);
const vm_word *vm_heap(const vm_machine *a);
uint32_t vm_call_depth(const vm_machine *a);

/* ---- processes, keys and channels (docs/isa.md, "Processes and keys") ----
 * The machine's process 0 is the root that the functions above act on. Its
 * children are created by the program (CREATE, FORK) and run by RECURSE. */

/* A call key (VM_KEY_CALL) names a process without owning it: EVM code may
 * call an EVM process through a key address (docs/evm.md), and KCALL calls
 * a native one (docs/isa.md, "Calls"); nothing else. */
typedef enum { VM_KEY_NONE, VM_KEY_PROC, VM_KEY_PAGE, VM_KEY_CHAN, VM_KEY_CALL } vm_key_kind;
#define VM_RIGHT_READ  1u
#define VM_RIGHT_WRITE 2u
#define VM_RIGHT_CALL  4u
#define VM_RIGHTS_ALL  7u

/* A host channel: a bounded queue of up to cap words (its memory grows as words
 * arrive, so a large cap costs nothing until used). Returns its id, or -1. */
int vm_chan_new(vm_machine *a, uint32_t cap);
int vm_chan_write(vm_machine *a, uint32_t chan, vm_word w); /* 0, or -1 if full */
int vm_chan_read(vm_machine *a, uint32_t chan, vm_word *w); /* 0, or -1 if empty */
uint32_t vm_chan_len(const vm_machine *a, uint32_t chan);
void vm_chan_clear(vm_machine *a, uint32_t chan);
/* Give the root a key to a channel; returns its key index, or -1. */
int vm_grant_chan(vm_machine *a, uint32_t chan, unsigned rights);

/* Give the root a new page of n words copied from w, with read and write
 * rights, counted in its memory as NEWPAGE's are (frugal exec --page-in);
 * returns its key index, or -1. */
int vm_grant_page(vm_machine *a, const vm_word *w, uint32_t n);
/* The words of the live page that key k of process id names: 0, or -1
 * when that key is no key to a live page. */
int vm_key_page(const vm_machine *a, uint32_t id, uint32_t k, const vm_word **w, uint32_t *n);

/* Inspection of the process tree (ids index every process ever made in
 * this machine; dead ones report live = false). */
typedef struct {
    bool live;
    uint32_t parent; /* UINT32_MAX for the root */
    uint32_t child;  /* the child it is running (suspended inside RECURSE), or UINT32_MAX */
    vm_status status;
    uint32_t ip, depth, msize, calls, nkeys, code_len;
    uint64_t words; /* its subtree's words in use */
    vm_limits lim;
    vm_meters m;
    bool evm;       /* an EVM process */
    int evm_status; /* its evm_status once the transaction ended, else -1 */
    int evm_frames; /* its live EVM frames (0 unless started and not ended) */
} vm_proc_info;
uint32_t vm_nprocs(const vm_machine *a);
/* A process's stack (bottom first) and heap, for inspection. 0, or -1. */
int vm_proc_memory(const vm_machine *a, uint32_t id, const vm_word **stack, uint32_t *depth,
                   const vm_word **heap, uint32_t *msize);
int vm_proc_get(const vm_machine *a, uint32_t id, vm_proc_info *out); /* 0, or -1 */
/* Everything process id holds, region by region, for inspection (frugal
 * inspect --image): its stack (bottom first), heap and return addresses,
 * each page it owns or holds a key to, each channel it holds a key to (the
 * queued words, oldest first), and an EVM process's live frames: each
 * frame's stack (bottom first, an item as 4 words, least significant first)
 * and memory (bytes). fn gets the non-empty regions in that order, a region
 * possibly in several consecutive pieces. 0, or -1 if id is no live process. */
typedef enum {
    VM_REGION_STACK,
    VM_REGION_HEAP,
    VM_REGION_CALLS,
    VM_REGION_PAGE,
    VM_REGION_CHAN,
    VM_REGION_EVM_STACK,
    VM_REGION_EVM_MEMORY
} vm_region_kind;
typedef struct {
    vm_region_kind kind;
    uint32_t obj;         /* the page or channel id, or the EVM frame's depth */
    const vm_word *words; /* the piece's words, or NULL when it is bytes */
    const uint8_t *bytes; /* EVM memory */
    size_t n;             /* words or bytes */
} vm_region;
typedef void (*vm_region_fn)(void *ctx, const vm_region *r);
int vm_proc_regions(const vm_machine *a, uint32_t id, vm_region_fn fn, void *ctx);
/* Key i of process id: kind, rights and object (process, page or channel id). */
int vm_key_get(const vm_machine *a, uint32_t id, uint32_t i, vm_key_kind *kind, unsigned *rights,
               uint32_t *obj);

/* ---- EVM processes (vm/evm_proc.c; docs/evm.md, "EVM processes") ----
 * CREATE of an EVM container makes an EVM process: bytes 0xEF 0x01, the EVM
 * transaction gas (u64 LE), the code length (u32 LE), the code, then the
 * calldata. RECURSE runs it under the chain's meters; when it ends, its
 * stack holds the return data (8 bytes a word, little-endian), the length
 * in bytes, and the evm_status on top (read with POPFROM). */
#define VM_EVM_HDR 14
/* Write a container into out (cap bytes); its length, or -1 if too small. */
int vm_evm_make(uint8_t *out, size_t cap, const uint8_t *code, size_t clen, const uint8_t *data,
                size_t dlen, uint64_t gas);
/* -2: not a live EVM process; -1: not finished; else its evm_status. */
int vm_evm_status(const vm_machine *a, uint32_t id);
/* Calls between EVM processes (docs/evm.md): the process whose world frame
 * `depth` of process id's running transaction acts on, and the process whose
 * transaction holds id's world; -1 when there is none. */
int64_t vm_evm_world(const vm_machine *a, uint32_t id, int depth);
int64_t vm_evm_holder(const vm_machine *a, uint32_t id);

/* ---- snapshots (vm/snapshot.c, docs/snapshot.md) ----
 * The whole machine (every process, page and channel) as a portable,
 * versioned, checksummed byte image. A restored machine continues exactly as
 * the saved one would have. */
/* 0, or -1: out of memory, or a live EVM process (not in format v1) */
int vm_snapshot_save(const vm_machine *a, vm_buf *out);
/* 0, or -1 with a message naming the offset and the problem in err; on
 * error the machine holds an empty program. */
int vm_snapshot_load(vm_machine *a, const uint8_t *data, size_t len, char *err, size_t errcap);

/* Per-instruction hook: called before each instruction, and once more when
 * the run reaches the end of the code (pc = the code's length, no
 * instruction). When set, the VM meters one instruction at a time. */
typedef void (*vm_trace_fn)(void *ctx, const vm_machine *a, uint32_t pc);
void vm_set_trace(vm_machine *a, vm_trace_fn fn, void *ctx);
/* For benchmarks: each later vm_run/vm_run_unmetered adds the nanoseconds
 * it spends running code (after decoding the root's) to c->ns, read with
 * two clock readings, and counts itself in c->entries; NULL: stop. */
typedef struct {
    uint64_t ns, entries;
} vm_interp_clock;
void vm_time_interp(vm_machine *a, vm_interp_clock *c);
/* The clock it reads (CLOCK_MONOTONIC, ns), so that a benchmark can
 * measure what the two readings add. */
uint64_t vm_clock_ns(void);
/* Force per-instruction metering (for tests that compare with block mode). */
void vm_set_stepping(vm_machine *a, bool on);
uint64_t vm_gas_left(const vm_machine *a);
/* For benchmarks only: the same interpreter with metering compiled out
 * (no gas, memory-time or memory checks; stack bounds stay). */
vm_status vm_run_unmetered(vm_machine *a);

/* ---- Q32.32 fixed point (vm/fixed.c) ---- */

#define VM_FX_FRAC 32
#define VM_FX_ONE  ((vm_word)1 << VM_FX_FRAC)
vm_word vm_fx_mul(vm_word a, vm_word b);
vm_word vm_fx_div(vm_word a, vm_word b);
vm_word vm_fx_sqrt(vm_word a);
vm_word vm_fx_sin(vm_word a);
vm_word vm_fx_cos(vm_word a);
vm_word vm_fx_exp(vm_word a);
vm_word vm_fx_log(vm_word a);
vm_word vm_fx_from_int(vm_word a);
vm_word vm_fx_from_double(double d); /* host-side helpers: not used inside the VM */
double vm_fx_to_double(vm_word a);

/* ---- pure opcodes ----
 * The result is a function of the operands alone (arithmetic, comparison,
 * bitwise, fixed point). vm_word_op is their one definition, shared by the
 * interpreter, the batched runs (vm_run_cases) and the expression builder
 * (analysis/expr.c). */
/* four ranges, tested without a branch; a constant expression for a
 * constant op (vm/cases.c builds a table with it) */
#define VM_OP_PURE(op)                                                                             \
    (((uint8_t)((op)-VM_OP_ADD) <= VM_OP_MAX - VM_OP_ADD) |                                        \
     ((uint8_t)((op)-VM_OP_LT) <= VM_OP_ISZERO - VM_OP_LT) |                                       \
     ((uint8_t)((op)-VM_OP_AND) <= VM_OP_SAR - VM_OP_AND) |                                        \
     ((uint8_t)((op)-VM_OP_FMUL) <= VM_OP_FTOI - VM_OP_FMUL))
static inline bool vm_op_pure(uint8_t op) {
    return VM_OP_PURE(op);
}
/* Pure opcode op on x and y (y on top; a unary opcode ignores y); 0 for
 * any other opcode. Words wrap as two's complement. */
__attribute__((always_inline)) static inline vm_word vm_word_op(uint8_t op, vm_word x, vm_word y) {
    uint64_t ux = (uint64_t)x, uy = (uint64_t)y;
    switch (op) {
    case VM_OP_ADD: return (vm_word)(ux + uy);
    case VM_OP_SUB: return (vm_word)(ux - uy);
    case VM_OP_MUL: return (vm_word)(ux * uy);
    case VM_OP_DIV: return y == 0 ? 0 : (y == -1 ? (vm_word)(0 - ux) : x / y);
    case VM_OP_MOD: return vm_mod(x, y);
    case VM_OP_NEG: return (vm_word)(0 - ux);
    case VM_OP_ABS: return x < 0 ? (vm_word)(0 - ux) : x;
    case VM_OP_MIN: return x < y ? x : y;
    case VM_OP_MAX: return x > y ? x : y;
    case VM_OP_LT: return x < y;
    case VM_OP_GT: return x > y;
    case VM_OP_EQ: return x == y;
    case VM_OP_ISZERO: return x == 0;
    case VM_OP_AND: return x & y;
    case VM_OP_OR: return x | y;
    case VM_OP_XOR: return x ^ y;
    case VM_OP_NOT: return ~x;
    case VM_OP_SHL: return (vm_word)(ux << (y & 63));
    case VM_OP_SHR: return (vm_word)(ux >> (y & 63));
    case VM_OP_SAR: return x >> (y & 63);
    case VM_OP_FMUL: return vm_fx_mul(x, y);
    case VM_OP_FDIV: return vm_fx_div(x, y);
    case VM_OP_FSQRT: return vm_fx_sqrt(x);
    case VM_OP_FSIN: return vm_fx_sin(x);
    case VM_OP_FCOS: return vm_fx_cos(x);
    case VM_OP_FEXP: return vm_fx_exp(x);
    case VM_OP_FLOG: return vm_fx_log(x);
    case VM_OP_ITOF: return vm_fx_from_int(x);
    case VM_OP_FTOI: return x >> VM_FX_FRAC;
    default: return 0;
    }
}

/* ---- assembler and disassembler (vm/asm.c) ---- */

/* Assemble src into out. 0, or -1 with every error of the source in err, a
 * line each ("fname:line:col: error: ...", '\n' between lines), the number
 * of errors in *nerr (may be NULL) and out empty. When the lines do not all
 * fit in errcap, the last one says how many are not shown. */
int vm_asm(const char *src, size_t len, const char *fname, vm_buf *out, int *nerr, char *err,
           size_t errcap);
/* Disassemble into text that vm_asm turns back into the same bytes. */
void vm_disasm(const uint8_t *code, size_t len, FILE *out);
/* One instruction as text, e.g. "PUSH 5" or "JNZ L12". */
void vm_insn_text(const vm_insn *in, char *buf, size_t cap);

#endif
