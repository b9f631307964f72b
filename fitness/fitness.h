/* frugal's tasks and scoring: the public API of the fitness module (prefix
 * fit_).
 *
 * A task defines its training and test cases, how the inputs reach a program
 * and how its output is read, and a per-case error:
 *  - native programs: a case's input words are pushed on the initial stack in
 *    order, bottom first (so the last input is on top); the output is the top
 *    of the stack when the process stops with HALTED. A case with no output
 *    (any other status, or an empty stack) gets the task's penalty as its
 *    error;
 *    Vector tasks read their input from a channel (FIT_IO_CHANNEL); tasks
 *    with several outputs read the top n_out words;
 *  - EVM programs (isa FIT_ISA_EVM): calldata in, RETURN out, or the stack
 *    model for superoptimisation (see fit_io).
 *
 * fitness knows nothing of GP: it depends on vm only. Where a task needs
 * random cases, the caller supplies the random source (fit_rng); the GP engine
 * passes a PCG32 stream of the run seed.
 */
#ifndef FRUGAL_FITNESS_H
#define FRUGAL_FITNESS_H

#include "vm/evm/evm.h"
#include "vm/vm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ==== tasks ==== */

typedef enum { FIT_ISA_NATIVE = 0, FIT_ISA_EVM = 1 } fit_isa;

typedef enum {
    FIT_ERR_FX_ABS = 0,  /* |vm_fx_to_double(out) - target| where target is the exact real value */
    FIT_ERR_INT_ABS = 1, /* |out - want| on int64, computed without overflow, as a double */
    FIT_ERR_INT_01 = 2,  /* 0 if out == want, else 1 */
    FIT_ERR_BOOL = 3,    /* 0 if (out != 0) == (want != 0), else 1 */
    FIT_ERR_U256_BITS = 4,  /* EVM: differing bits of two 256-bit words (0..256) */
    FIT_ERR_U256_ABS = 5,   /* EVM: |out - want| of two 256-bit words, as a double */
    FIT_ERR_U256_STACK = 6, /* EVM superopt: per stack word, differing bits / 256 (0..1) */
    FIT_ERR_FX_SQ = 7       /* (vm_fx_to_double(out) - target)^2: data tasks with loss "squared" */
} fit_error_kind;

typedef enum { FIT_TRAIN = 0, FIT_TEST = 1 } fit_split;

/* How inputs reach a program and how its outputs are read (docs/tasks.md):
 *  FIT_IO_STACK      native: n_in words pushed bottom first; the n_out
 *                    outputs are the top n_out words (the last on top)
 *  FIT_IO_CHANNEL    native, vector input: the root holds key 0, a channel
 *                    (READ) holding the vector's length, then its elements;
 *                    the stack starts empty; outputs as FIT_IO_STACK
 *  FIT_IO_CALLDATA   EVM: calldata = the n_in inputs as 32-byte big-endian
 *                    words; the output is the first 32-byte word of the
 *                    RETURN data (STOP, REVERT, a fault or < 32 bytes: none)
 *  FIT_IO_EVM_STACK  EVM superopt: the n_in words are pushed (PUSH32, bottom
 *                    first) by a prologue; the outputs are the whole final
 *                    stack when the code runs off its end (n_out words) */
typedef enum {
    FIT_IO_STACK = 0,
    FIT_IO_CHANNEL = 1,
    FIT_IO_CALLDATA = 2,
    FIT_IO_EVM_STACK = 3
} fit_io;

/* A random source for case generators: uniform in [lo, hi] inclusive,
 * unbiased. The engine adapts its PCG32 streams to this (evo_fit_rng). */
typedef struct {
    void *ctx;
    int64_t (*range)(void *ctx, int64_t lo, int64_t hi);
} fit_rng;

typedef struct {
    uint32_t n;       /* number of cases */
    vm_word *in;      /* n * n_in input words, case after case, each bottom first;
                       * FIT_IO_CHANNEL: the vectors, concatenated */
    uint32_t *off;    /* FIT_IO_CHANNEL: n + 1 offsets, case i is in[off[i] .. off[i+1]) */
    vm_word *want;    /* n * n_out expected outputs (Q32.32 for fixed-point tasks) */
    double *target;   /* n exact real targets (FIT_ERR_FX_ABS); NULL otherwise */
    uint8_t *in256;   /* EVM: n * n_in 32-byte big-endian words; NULL for native tasks */
    uint8_t *want256; /* EVM: n * n_out 32-byte big-endian words */
} fit_cases;

#define FIT_MAX_CONSTS 16
#define FIT_MAX_OUT    16 /* outputs per case of a data task */

typedef struct {
    char name[32];
    fit_isa isa;
    fit_error_kind error;
    bool fixed_point; /* inputs and outputs are Q32.32 */
    uint32_t n_in;    /* input words per case (FIT_IO_CHANNEL: 0) */
    fit_cases train, test;
    double penalty;   /* the error of an output that is missing (per output) */
    double hit_tol;   /* a case is a hit when each of its errors <= hit_tol */
    vm_limits limits; /* per case; 0 fields take the VM defaults (EVM: gas only) */
    /* the task's constants, offered to the GP's initial programs */
    vm_word consts[FIT_MAX_CONSTS];
    uint32_t n_consts;
    /* ---- added with the task library (fit_task_make); zero is the old behaviour ---- */
    fit_io io;
    uint32_t n_out;     /* outputs per case; 0 means 1 */
    bool straight_line; /* genomes should be straight-line code (EVM superopt) */
    double gas_ref;     /* reference gas per case for weighting (0: none) */
    double memtime_ref; /* reference memory-time per case (0: none) */
    /* EVM superopt: the target block and its published figures */
    uint8_t *block;
    uint32_t block_len;
    uint32_t min_stack_in;
    int32_t stack_delta;
    uint64_t block_gas;     /* the block's gas (Cancun, measured) */
    uint32_t equiv_samples; /* random stacks for fit_evm_equivalent */
    char **opaque;          /* the block's symbolic pushes as written (fit_evm_block) */
    uint32_t n_opaque;
    evm_word *probe; /* values the tests favour: the block's constants, their
                        neighbours, sums and differences */
    uint32_t n_probe;
    /* data tasks with outputs of different types: the error kind of output k
     * (k < n_out); when false every output is scored by `error` */
    bool out_kinds;
    fit_error_kind out_kind[FIT_MAX_OUT];
    /* CSV data tasks: the n_in input column names, in stack order (NULL:
     * the task's inputs have no names; expressions then say x, x0, x1, ...) */
    char **in_names;
    /* co-evolution tasks ("ipd-coevo", "blotto-coevo"): the hall of fame, whose
     * opponents are the cases (see "co-evolution" below); NULL otherwise */
    struct fit_coevo *coevo;
} fit_task;

/* Koza-1, the quartic x^4 + x^3 + x^2 + x: 20 training points x uniform in
 * [-1, 1], drawn as Q32.32 words (rng->range(-2^32, 2^32), in order); the test
 * set is the training set. Output Q32.32; error |y - f(x)| with f(x) computed
 * in double (IEEE, no FMA contraction) from the exact
 * double value of the Q32.32 input; hit when error <= 0.01; penalty
 * FIT_QUARTIC_PENALTY. Limits: FIT_QUARTIC_GAS gas per case, 1024 words of
 * memory, stack 256, calls 64. Constants 0, 1, 0.5, 2, -1 (Q32.32).
 * Returns 0, or -1 if memory cannot be had. */
#define FIT_QUARTIC_CASES   20
#define FIT_QUARTIC_PENALTY 1000.0
#define FIT_QUARTIC_GAS     10000u
int fit_task_quartic(fit_task *t, const fit_rng *rng);

/* A trivial integer task for tests: one input x = -8..8 (17 cases, no random
 * draws), output x*x + x, error |y - want|, hit when exact, penalty 1e6. The
 * test set is x = 9..12. */
int fit_task_int_square(fit_task *t);

/* A task with given cases (copied): n_in inputs per case, integer or Q32.32
 * outputs. target may be NULL for integer tasks. Used by tests and by later
 * task generators. Returns 0 or -1. */
int fit_task_custom(fit_task *t, const char *name, fit_error_kind err, uint32_t n_in,
                    uint32_t n_train, const vm_word *in, const vm_word *want, const double *target,
                    double penalty, double hit_tol);

void fit_task_free(fit_task *t);
/* The cases of one split. */
const fit_cases *fit_task_cases(const fit_task *t, fit_split which);
/* Outputs per case (n_out, at least 1). */
uint32_t fit_task_nout(const fit_task *t);
/* The longest input vector of either split (FIT_IO_CHANNEL); 0 otherwise. A
 * vector of at most VM_MAX_ARGS words is also the argument words (NARGS,
 * ITEM). */
uint32_t fit_task_max_vec(const fit_task *t);
/* Errors per evaluation of a split: cases x outputs (one error per output,
 * e.g. 4 per case for coin-sums, as PSB2 scores them for lexicase). */
uint32_t fit_task_nerrors(const fit_task *t, fit_split which);

/* ---- the task library (docs/tasks.md) ---- */

/* The task section of a spec, as the makers see it. A family that needs more
 * (a data file's path, its columns) adds its fields here, and
 * experiments/spec.c fills them from its keys. */
typedef enum { FIT_LOSS_ABS = 0, FIT_LOSS_SQUARED = 1, FIT_LOSS_BITS = 2 } fit_loss;

/* A data file already read: its name (for messages and the format: .csv, or
 * .jsonl/.json for PSB2's JSON lines) and its bytes. The fitness module
 * never opens files; experiments/ reads them. */
typedef struct {
    const char *path;
    const uint8_t *bytes;
    size_t len;
} fit_data_file;

typedef struct {
    uint32_t n_train, n_test; /* 0: the published sizes */
    const char *block_hex;    /* evm-superopt: the target block, as hex or as text with
                                 symbolic pushes (fit_evm_block_parse) */
    uint32_t equiv_samples;   /* evm-superopt: random inputs for the final equivalence check
                                 (0: FIT_EQUIV_SAMPLES) */
    /* the task "data" (fitness/task_data.c, docs/tasks.md "Data tasks") */
    fit_data_file data;        /* the cases (path NULL: none) */
    fit_data_file test;        /* the test cases (path NULL: split, or the training set) */
    const char *target;        /* CSV: the target column */
    const char *const *inputs; /* CSV: the input columns, in stack order (n_inputs 0: every */
    uint32_t n_inputs;         /* column but the target, in the file's order) */
    double split;              /* fraction of the rows drawn into the test set (0: none) */
    fit_loss loss;             /* CSV: abs, squared; EVM JSON lines: abs, bits */
    fit_isa isa;               /* JSON lines: native, or EVM (calldata words) */
    bool has_hit, has_penalty; /* else the defaults below */
    double hit, penalty;       /* hit threshold; error of a missing output */
} fit_task_opts;

/* Data task defaults: CSV regression scores as the built-in regression tasks
 * (penalty 1000, hit 0.01, their limits and constants); JSON lines as the
 * PSB tasks (penalty 10^6, or 1 when every output is boolean; hits exact). */
#define FIT_DATA_MAX_ROWS 10000000u
#define FIT_DATA_MAX_IN   64u /* input columns or keys */
/* The fixed-point range of a CSV value: [-2^31, 2^31) (Q32.32). */
#define FIT_DATA_FX_LIMIT 2147483648.0

#define FIT_EQUIV_SAMPLES 10000u

/* The task registry (fitness/tasks.def): one entry per task. */
typedef struct fit_task_entry fit_task_entry;
struct fit_task_entry {
    const char *name;   /* the spec's task.name */
    const char *family; /* the section of docs/tasks.md: "regression", "boolean", "psb1", ... */
    /* Build the task: 0, or -1 with a message in err (empty: out of memory). */
    int (*make)(const fit_task_entry *e, const fit_task_opts *o, const fit_rng *rng, fit_task *t,
                char *err, size_t errcap);
    uint32_t arg;    /* for makers shared by a family (e.g. parity's inputs) */
    const char *doc; /* one line */
};
/* Every task, in the registry's order (fit_ntasks of them). */
extern const fit_task_entry fit_tasks[];
extern const size_t fit_ntasks;
/* The names, NULL-terminated, in the same order. */
extern const char *const fit_task_names[];
/* The entry of a name, or NULL. */
const fit_task_entry *fit_task_find(const char *name);
/* The names, comma-separated, for messages (cut to fit cap). */
void fit_task_list(char *buf, size_t cap);

/* Make the named task (a name of the registry) with cases from rng.
 * o may be NULL (all defaults). Random cases are drawn training set first,
 * then test set, each in the documented order. Returns 0, or -1 with a
 * message naming the problem in err (unknown name, bad sizes, bad block). */
int fit_task_make(const char *name, const fit_task_opts *o, const fit_rng *rng, fit_task *t,
                  char *err, size_t errcap);

/* A JSON value's type for messages: "an integer", "a string", ... (data
 * tasks and experiment specs word their messages alike). */
struct json_t;
const char *fit_json_type(const struct json_t *v);

/* The data task's format of a file name: 1 CSV (.csv), 2 JSON lines
 * (.jsonl, .json), 0 unknown. */
int fit_data_format(const char *path);

/* The published Basement fixed cases of length 20 (15 vectors), generated
 * once by the task's own rule from a fixed seed; docs/tasks.md lists them. */
#define FIT_BASEMENT_LONG 15

/* ---- EVM superoptimisation (fitness/task_evm.c) ---- */

/* Equivalence of code to the task's block on the stack model: the same final
 * stack (depth and every word) from equiv_samples random initial stacks
 * drawn from rng (full 256-bit words, small values and the edge values mixed)
 * and from every combination of the edge values 0, 1, 2^255, 2^256-1 over
 * the first inputs (up to 4^min(n_in,4) stacks). Returns 1 if equivalent,
 * 0 if not (*cex, when not NULL, the index of the first failing stack), -1
 * on out of memory. */
int fit_evm_equivalent(const fit_task *t, const uint8_t *code, size_t len, const fit_rng *rng,
                       uint64_t *cex);
/* Gas of straight-line EVM code: the sum over its instructions of the
 * Cancun static gas (the figure the stack model charges, and the one the
 * published superoptimisers report). -1 if an opcode is undefined. */
int64_t fit_evm_static_gas(const uint8_t *code, size_t len);
/* Proof of equivalence by symbolic execution (fitness/superopt_sym.c): both
 * final stacks, as terms over the initial stack, the environment and the
 * opaque constants, are identical after normalisation by rewrite rules that
 * hold for every 256-bit word (docs/tasks.md lists them). Returns 1 if
 * proved, 0 if not (which says nothing: the rules are incomplete), -1 on
 * out of memory. */
int fit_evm_prove(const fit_task *t, const uint8_t *code, size_t len);
/* The cheapest program under bound gas (Cancun static) that builds the
 * block's normalised final stack, searched by A* over symbolic stacks whose
 * words are all subterms of that final stack (moves: the operations that
 * make them, pushes of its constants, environment words and symbolic pushes,
 * DUPn, SWAPn, POP), expanding at most max_expand stacks. Returns 1 with
 * the code in out[0..*len) (len 0: the block does nothing) and its gas in
 * *gas, 0 if there is none in that space within the limits, -1 on out of
 * memory; *expanded (if not NULL) counts the stacks expanded. The code
 * proves equivalent by construction; callers still test it. */
int fit_evm_codegen(const fit_task *t, int64_t bound, uint64_t max_expand, uint8_t *out, size_t cap,
                    size_t *len, int64_t *gas, uint64_t *expanded);
/* A lower bound on the static gas of any program equivalent to the block
 * on the stack model: each word of its final stack that is not an input
 * needs an instruction of its own (at least 2 gas, 3 for a nonzero constant
 * or a symbolic push), each extra copy of an input a DUP, each net removal
 * a POP. -1 on out of memory. */
int64_t fit_evm_lower_bound(const fit_task *t);
/* Windowed code generation (as SuperStack and GASOL split large blocks):
 * fit_evm_codegen on each window of `window` instructions of code (a
 * program equivalent to t's block), windows starting half a window apart,
 * a window replaced by a cheaper result, passes repeated until none
 * improves (at most 8). Returns 1 with the cheaper whole in out[0..*olen)
 * and its gas, 0 if no window improved, -1 on out of memory; *expanded
 * accumulates. The caller tests the result for equivalence. */
int fit_evm_codegen_windows(const fit_task *t, const uint8_t *code, size_t len, uint32_t window,
                            uint64_t max_expand, uint8_t *out, size_t cap, size_t *olen,
                            int64_t *gas, uint64_t *expanded);

/* ---- straight-line EVM blocks and the stack model (fitness/superopt.c) ---- */

#define FIT_MAX_OPAQUE      64   /* distinct symbolic pushes in one block */
#define FIT_EVM_MODEL_STACK 1024 /* the EVM's stack limit */

/* A block read by fit_evm_block_parse: code, with each symbolic push as a
 * PUSH32 of a marker word (fit_evm_opaque_push), and the symbolic pushes'
 * text in order of first appearance. */
typedef struct {
    uint8_t *code;
    size_t len;
    char **opaque;
    uint32_t n_opaque;
} fit_evm_block;
/* Read a block written as hex (optionally 0x-prefixed, no spaces) or as
 * text: opcode names separated by white space, PUSHn with a 0x-hex or
 * decimal operand, solc's "PUSH <hex digits>", and the symbolic pushes
 * PUSH [tag] X, PUSH #[$] X, PUSH [$] X, PUSH data X, PUSHLIB X,
 * PUSHIMMUTABLE X, PUSHDEPLOYADDRESS, PUSHSIZE and forves' METAPUSH K X
 * (operands optional; docs/tasks.md). 0, or -1 with a message in err and
 * the 1-based column of the bad token in *col (0 if none). */
int fit_evm_block_parse(const char *src, fit_evm_block *b, size_t *col, char *err, size_t errcap);
void fit_evm_block_free(fit_evm_block *b);
/* The PUSH32 standing for symbolic push k (33 bytes). */
void fit_evm_opaque_push(uint32_t k, uint8_t out[33]);
/* Whether the 32-byte immediate imm is symbolic push k < n_opaque. */
bool fit_evm_opaque_index(const uint8_t *imm, size_t n, uint32_t n_opaque, uint32_t *k);
/* Code as text ("PUSH1 0x3 SUB"), symbolic pushes as written; like
 * snprintf, returns the length the whole text needs. */
size_t fit_evm_code_text(const uint8_t *code, size_t n, char *const *opaque, uint32_t n_opaque,
                         char *out, size_t cap);

/* The stack model: straight-line code on 256-bit words. Pure opcodes
 * compute as the EVM does (evm_word_op); POP, PUSHn, DUPn, SWAPn move
 * words; environment opcodes (CALLER, CALLVALUE, TIMESTAMP, ...) push the
 * case's values (addresses have 160 bits), state reads (BALANCE, SLOAD,
 * CALLDATALOAD, ...) give a fixed function of the case and the argument,
 * and symbolic pushes the case's value of the constant: all drawn from the
 * case's key, a quarter of them from env->probe, so that no constant can
 * stand in for them. Any other opcode is INVALID_OPCODE. st holds *depth
 * words (bottom first) on entry and the final stack on return (room for
 * FIT_EVM_MODEL_STACK); *gas the static gas charged, *peak (if not NULL)
 * the largest depth. Returns HALTED or the fault. */
typedef struct {
    uint32_t n_opaque;     /* symbolic pushes 0..n_opaque-1 are opaque */
    const evm_word *probe; /* values tests favour (fit_task.probe) */
    uint32_t n_probe;
} fit_evm_env;
bool fit_evm_model_op(uint8_t op);
vm_status fit_evm_model_run(const fit_evm_env *env, const uint8_t *code, size_t len, uint64_t key,
                            evm_word *st, uint32_t *depth, uint64_t *gas, uint32_t *peak);
void fit_evm_model_env(const fit_evm_env *env, uint64_t key, uint8_t op, evm_word *w);
void fit_evm_model_opaque(const fit_evm_env *env, uint64_t key, uint32_t k, evm_word *w);
void fit_evm_word_from_be(const uint8_t b[32], evm_word *w);
void fit_evm_word_to_be(const evm_word *w, uint8_t b[32]);

/* ==== evaluation ==== */

/* Severity of a final status, for "worst status". Larger is worse:
 *   0  HALTED             the program finished
 *   1  YIELDED            stopped voluntarily, without finishing
 *   2  OUT_OF_BOUNDS      program faults, in this order ...
 *   3  STACK_UNDERFLOW
 *   4  STACK_OVERFLOW
 *   5  CALL_OVERFLOW
 *   6  BAD_JUMP
 *   7  TRUNCATED
 *   8  INVALID_OPCODE
 *   9  any other status    other faults (key, channel, nesting), newer than this list
 *  10  OUT_OF_MEMORY      resource exhaustion, the worst: a runaway program
 *  11  OUT_OF_MEMTIME
 *  12  OUT_OF_GAS
 *  13  RUNNING            never returned by a finished run; worst of all
 * The worst status of an evaluation is the status of largest severity over its
 * cases (the first such case if several tie). */
unsigned fit_status_severity(vm_status s);

typedef struct {
    double *errors;      /* caller's array with room for fit_task_nerrors(t, split); filled,
                            case after case, n_out errors per case */
    uint32_t ncases;     /* cases run */
    double error;        /* sum of the errors */
    uint64_t gas;        /* total gas over the cases */
    uint64_t memtime;    /* total memory-time over the cases */
    vm_status worst;     /* see fit_status_severity */
    uint32_t hits;       /* cases whose every error <= hit_tol */
    uint32_t missing;    /* outputs missing (penalised) */
    uint32_t nerrors;    /* entries written to errors */
    uint32_t out_of_gas; /* cases that stopped OUT_OF_GAS */
    uint32_t faults;     /* cases that stopped with any other status than HALTED/SUCCESS */
} fit_result;

/* ---- fitness weighting (docs/fitness.md) ----
 * fitness = error + w_length * bytes + w_gas * gas / gas_ref
 *         + w_memtime * memtime / memtime_ref
 *         + penalty_out_of_gas * out_of_gas + penalty_fault * faults
 * A term is added only when its weight is > 0 (so zero weights give exactly
 * the error). gas_ref (memtime_ref) 0 means: the task's gas_ref (memtime_ref)
 * times the cases run when the task has one, else 1. */
typedef struct {
    double w_length, w_gas, gas_ref, w_memtime, memtime_ref;
    double penalty_out_of_gas, penalty_fault;
} fit_weights;
double fit_fitness(const fit_weights *w, const fit_task *t, const fit_result *r, uint32_t length);

/* A per-thread evaluation context: it owns one reusable VM arena. Create one
 * per thread, once, and reuse it for any number of evaluations: fit_eval
 * allocates nothing once the arena has grown to the largest program. */
typedef struct fit_ctx fit_ctx;

/* limits NULL: the task's limits. Returns NULL if memory cannot be had. */
fit_ctx *fit_ctx_new(const fit_task *t, const vm_limits *limits);
void fit_ctx_free(fit_ctx *c);
const fit_task *fit_ctx_task(const fit_ctx *c);
/* Count every native instruction the context runs into *counter (NULL:
 * stop counting). Counting meters one instruction at a time (same results,
 * slower): for reporting instructions/s of a run made again untimed. */
void fit_ctx_count_insns(fit_ctx *c, uint64_t *counter);
/* Time the native interpreter into *clk (NULL: stop): vm_time_interp on
 * the context's arena. */
void fit_ctx_time_interp(fit_ctx *c, vm_interp_clock *clk);
/* Whether straight-line code runs all of a split's cases at once
 * (vm_run_cases; default on). Off, every case runs in the VM alone: the
 * same results, for the tests that compare the two. */
void fit_ctx_set_batch(fit_ctx *c, bool on);

/* Run code on every case of the split, each case in a fresh process: vm_load
 * once, then per case vm_reset, push the inputs (or fill the input
 * channel), vm_run under the limits. Straight-line code of a task whose
 * inputs are words runs all the cases at once instead (vm_run_cases): the
 * same results. EVM tasks: each case is one
 * evm_execute under Cancun with the "isolated" policy and the limits' gas;
 * memory-time is the peak words in use (stack items + 32-byte memory words)
 * times the gas used.
 * Fills *r (r->errors must be set by the caller). Returns 0, or -1 if the
 * code cannot be loaded (longer than VM_MAX_CODE, or out of memory) or the
 * task's ISA is not supported yet; then *r holds penalties. */
int fit_eval(fit_ctx *c, const uint8_t *code, size_t len, fit_split which, fit_result *r);
/* fit_eval on cs: a split of the task, or a subset of one (fit_cases_subset). */
int fit_eval_cases(fit_ctx *c, const uint8_t *code, size_t len, const fit_cases *cs, fit_result *r);
/* Per-case detail of an evaluation (fit_eval_detail): caller's arrays of
 * cs->n entries (out and has_out: cs->n * n_out). */
typedef struct {
    vm_word *out;     /* output k of case i at [i * n_out + k] (0 when missing) */
    uint8_t *has_out; /* 1 when that output exists */
    uint64_t *gas, *memtime;
    uint8_t *status; /* vm_status of the case */
    uint8_t *out256; /* EVM tasks: output k of case i, 32 bytes at [(i * n_out + k) * 32]
                        (out then holds its low 64 bits) */
} fit_case_detail;
/* fit_eval_cases that also fills *d (NULL: nothing more): native and EVM
 * calldata tasks (-1 for co-evolution and the stack model); the same results
 * as fit_eval_cases. */
int fit_eval_detail(fit_ctx *c, const uint8_t *code, size_t len, const fit_cases *cs, fit_result *r,
                    const fit_case_detail *d);
/* dst = the cases idx[0..n) of src (a split of t), in that order, e.g. the
 * down-sample of a generation; what dst held is freed first (start from a
 * zeroed fit_cases; free with fit_cases_free). 0, or -1 if memory cannot be
 * had. */
int fit_cases_subset(const fit_task *t, const fit_cases *src, const uint32_t *idx, uint32_t n,
                     fit_cases *dst);
void fit_cases_free(fit_cases *cs);

/* The error of one case for output y (has_output false: the penalty). */
double fit_case_error(const fit_task *t, const fit_cases *cs, uint32_t i, bool has_output,
                      vm_word y);
/* The error of output k of case i (native tasks). */
double fit_output_error(const fit_task *t, const fit_cases *cs, uint32_t i, uint32_t k,
                        bool has_output, vm_word y);

/* ==== arena ==== (fitness/arena.c, docs/arena.md)
 *
 * A trusted referee (host C code) plays games between untrusted player
 * programs. Every move of every player runs in its own sandbox under a
 * per-move budget:
 *  - native players: one reusable vm_machine per player; the player is the
 *    root process, reset before each move, holding exactly two keys: key 0,
 *    the observation channel (READ), and key 1, the move channel (WRITE). It
 *    reads the observation words with IN, writes its move with OUT and halts;
 *  - EVM players: one evm_vm + evm_memhost per player, Cancun, the "isolated"
 *    policy narrowed to the player's own table (SSTORE only to slots < 2^128);
 *    the observation words are the calldata (32-byte big-endian words, sign
 *    extended), the move is the first 32-byte word of the RETURN data. Every
 *    state change is rolled back after the move.
 * A move that does not end cleanly with a valid move word (a fault, any
 * exhausted budget, no move, a bad move) is a forfeit: the game's default move
 * stands for it and the player scores 0 for that round (docs/arena.md).
 * Everything is a pure function of the configuration, the seed and the
 * players' names and code: the referee's random words come from a PCG32
 * stream per match, derived from (seed, game, name A, name B).
 */
#include "vm/evm/evm.h"

typedef enum { FIT_GAME_IPD = 0, FIT_GAME_BLOTTO = 1 } fit_game;

/* Per-move limits and game defaults (zero in a fit_arena_config field means
 * the default). */
#define FIT_ARENA_GAS         10000u   /* native gas per move */
#define FIT_ARENA_EVM_GAS     100000u  /* EVM gas per move */
#define FIT_ARENA_MEM         1024u    /* words per move (EVM: stack + 32-byte memory words) */
#define FIT_ARENA_MEMTIME     1000000u /* word-gas per move */
#define FIT_ARENA_ROUNDS      100u
#define FIT_ARENA_MAX_ROUNDS  100000u
#define FIT_ARENA_MAX_PLAYERS 1024u
#define FIT_BLOTTO_SOLDIERS   10u /* 1..255 */
#define FIT_BLOTTO_FIELDS     5u  /* 1..8: field i is byte i of the move word */
#define FIT_ARENA_MAX_OBS     9u  /* observation words (IPD 8, Blotto 9) */

typedef struct {
    fit_game game;
    uint32_t rounds;           /* rounds per match */
    uint64_t seed;             /* 0 is a seed like any other */
    uint64_t gas;              /* native gas per move */
    uint64_t evm_gas;          /* EVM gas per move */
    uint32_t mem;              /* words per move */
    uint64_t memtime;          /* word-gas per move */
    uint32_t soldiers, fields; /* Blotto */
    /* The policy of EVM players in evm_policy_parse's words ("allow",
     * "isolated", "keys:...", "tables:BITS"); empty: the referee's default,
     * isolated with SSTORE only into the player's table (top 128 bits 0). */
    char evm_policy[512];
} fit_arena_config;

/* How one move ended (fit_arena_move). */
typedef enum {
    FIT_MOVE_OK = 0,    /* a valid move */
    FIT_MOVE_FAULT,     /* the program faulted (native fault status, EVM exceptional halt,
                           REVERT, or a policy denial that stopped the frame) */
    FIT_MOVE_EXHAUSTED, /* out of gas, memory, memory-time (or stack, calls, nesting, keys) */
    FIT_MOVE_NOMOVE,    /* halted without a move word */
    FIT_MOVE_INVALID    /* the move word is not a legal move */
} fit_move_kind;
const char *fit_move_kind_name(fit_move_kind k);

typedef struct {
    fit_move_kind kind;
    vm_word move; /* the move played (the default move unless kind is OK) */
    int status;   /* vm_status (native) or evm_status (EVM) at the end */
    uint64_t gas; /* in the player's own units (native or EVM gas) */
    uint64_t memtime;
    uint32_t denied; /* EVM: actions the policy denied in this move */
} fit_move_result;

/* Per-player totals over the tournament. */
typedef struct {
    int64_t score;
    uint64_t gas, memtime;
    uint32_t moves, forfeits; /* forfeits = faults + exhausted + nomove + invalid */
    uint32_t faults, exhausted, nomove, invalid;
    uint32_t denied; /* EVM policy denials */
    uint32_t matches, wins, draws, losses;
} fit_arena_stats;

/* One finished match (players a < b by index). */
typedef struct {
    uint32_t a, b;
    int64_t score_a, score_b;
    uint64_t gas_a, gas_b, memtime_a, memtime_b;
    uint32_t forfeits_a, forfeits_b;
} fit_arena_match;

typedef struct fit_arena fit_arena;

/* A referee for cfg (NULL: all defaults). NULL with a message in err if the
 * configuration is out of range or memory cannot be had. */
fit_arena *fit_arena_new(const fit_arena_config *cfg, char *err, size_t errcap);
void fit_arena_free(fit_arena *a);
/* The configuration with defaults filled in. */
const fit_arena_config *fit_arena_config_get(const fit_arena *a);
/* Add a player before the first round. Names must be unique (they seed the
 * matches' streams). Code is copied. 0, or -1 with a message in err. */
int fit_arena_add(fit_arena *a, const char *name, fit_isa isa, const uint8_t *code, size_t len,
                  char *err, size_t errcap);
/* Play one round of the current match. Returns 1 when more rounds remain,
 * 0 when the tournament is finished, -1 on an internal error (out of
 * memory). Players cannot cause -1. */
int fit_arena_step(fit_arena *a);
/* Play to the end: 0, or -1. */
int fit_arena_run(fit_arena *a);
bool fit_arena_done(const fit_arena *a);
/* Rounds played so far over the whole tournament, and in all. */
uint64_t fit_arena_rounds_played(const fit_arena *a);
uint64_t fit_arena_rounds_total(const fit_arena *a);

uint32_t fit_arena_nplayers(const fit_arena *a);
const char *fit_arena_name(const fit_arena *a, uint32_t i);
fit_isa fit_arena_isa(const fit_arena *a, uint32_t i);
const fit_arena_stats *fit_arena_stats_get(const fit_arena *a, uint32_t i);
/* Finished matches, in play order. */
uint32_t fit_arena_nmatches(const fit_arena *a);
const fit_arena_match *fit_arena_match_get(const fit_arena *a, uint32_t k);

/* Run player i's program once on an observation (nobs words) in its sandbox,
 * under the per-move budget, without touching the tournament. The
 * observation layouts are in docs/arena.md. 0, or -1 on a bad index. */
int fit_arena_move(fit_arena *a, uint32_t i, const vm_word *obs, uint32_t nobs,
                   fit_move_result *out);
/* EVM player i's host (tests check that it is untouched), or NULL. */
evm_memhost *fit_arena_memhost(fit_arena *a, uint32_t i);
/* The EVM address player i runs at (0x00..00 a1 a1 <i as 4 bytes>). */
void fit_arena_evm_address(uint32_t i, evm_address *out);

/* The referee's state between rounds as a portable, versioned blob with a
 * zlib crc32 (docs/arena.md). 0, or -1 out of memory. */
int fit_arena_save(const fit_arena *a, vm_buf *out);
/* Restore into an arena made with the same configuration and the same
 * players (names, ISAs and code, checked) in the same order. 0, or -1 with a
 * message naming the offset and the problem in err; on error the arena is
 * unchanged. */
int fit_arena_load(fit_arena *a, const uint8_t *data, size_t len, char *err, size_t errcap);

/* Play one whole match between players i (seat 0) and j (seat 1) under the
 * tournament's rules, observations, per-move budgets and forfeits, with the
 * match's own stream from (seed, game, name i, name j): for i < j exactly
 * the match the tournament plays for that pair. The tournament (progress,
 * statistics, finished matches) is untouched. out->a = i, out->b = j.
 * 0, or -1 on bad indices (i == j or out of range). */
int fit_arena_duel(fit_arena *a, uint32_t i, uint32_t j, fit_arena_match *out);
/* The same, also giving each seat's worst move status: the vm_status of
 * largest fit_status_severity over its moves (native seats; EVM seats give
 * VM_HALTED). worst may be NULL. */
int fit_arena_duel_worst(fit_arena *a, uint32_t i, uint32_t j, fit_arena_match *out, int worst[2]);
/* Replace player i's program by code (copied; native: its vm_machine is
 * reloaded, EVM: its account's code). The name, ISA and statistics stay.
 * 0, or -1 (bad index, code over VM_MAX_CODE, out of memory; then the player
 * is unchanged). */
int fit_arena_set_code(fit_arena *a, uint32_t i, const uint8_t *code, size_t len);

/* Note: HDF5 output for `frugal report` is not built yet. */
/* ==== end arena ==== */

/* ==== co-evolution ==== (fitness/task_coevo.c, docs/arena.md "Co-evolution")
 *
 * The tasks "ipd-coevo" and "blotto-coevo" (native programs, players of the
 * arena's protocol: observation on key 0, move on key 1). The cases are the K
 * opponents of a hall of fame, oldest first. It starts with the classic
 * strategies repeated to fill K slots (IPD: tit-for-tat, always-defect,
 * always-cooperate, grim-trigger, random; Blotto: uniform 2 2 2 2 2,
 * three-fields 4 3 3 0 0, mirror, random rotation of 4 3 3 0 0) and is a FIFO:
 * each push replaces the oldest opponent. fit_eval plays one duel (seat 0,
 * named "self") against each opponent (seat 1, named "opp<k>" for case k) in
 * a per-thread arena of the fit_ctx, with the ctx's limits as the per-move
 * budget; the error of case k is (best possible score - the program's score)
 * / rounds (IPD best 5 per round, Blotto 2 per field per round), so lower is
 * better; gas and memory-time are the program's own over all its moves; a
 * case is out of gas / a fault when the worst status of its moves is. The
 * result is a pure function of the arena seed (drawn from the task's rng),
 * the program and the hall of fame.
 *
 * The task owns its hall of fame, and a GP run changes it: one run per task.
 * Pushes must not race with evaluations (the engine pushes from its main
 * thread between generations).
 */
#define FIT_COEVO_K      8u /* the default hall of fame size (cases) */
#define FIT_COEVO_MAX_K  64u
#define FIT_COEVO_ROUNDS 50u /* rounds per duel */

bool fit_task_is_coevo(const fit_task *t);
/* The arena configuration of the duels (seed, game, rounds; the per-move
 * limits come from the fit_ctx), or NULL. */
const fit_arena_config *fit_coevo_config(const fit_task *t);
/* Push code (copied) into the hall of fame, replacing the oldest opponent.
 * 0, or -1 (not a coevo task, code over VM_MAX_CODE, out of memory: then
 * the hall of fame is unchanged). */
int fit_coevo_push(const fit_task *t, const uint8_t *code, size_t len);
/* Pushes so far (0: the classics only). */
uint64_t fit_coevo_pushes(const fit_task *t);
/* Opponent k (case k, oldest first): its code, length in *len, and a label
 * (the classic's name, or "push <n>"); NULL if k is out of range. */
const uint8_t *fit_coevo_opponent(const fit_task *t, uint32_t k, size_t *len, const char **label);
/* The hall of fame as a portable blob (appended to out; docs/arena.md), and
 * back: the game and K must match; on error the hall of fame is unchanged and
 * err names the problem. 0, or -1. */
int fit_coevo_save(const fit_task *t, vm_buf *out);
int fit_coevo_load(const fit_task *t, const uint8_t *data, size_t len, char *err, size_t errcap);

/* ==== end co-evolution ==== */

#endif
