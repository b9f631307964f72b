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
 *  - EVM programs (isa FIT_ISA_EVM): calldata in, RETURN out; not evaluated
 *    yet (fit_eval returns -1).
 *
 * fitness knows nothing of GP: it depends on vm only. Where a task needs
 * random cases, the caller supplies the random source (fit_rng); the GP engine
 * passes a PCG32 stream of the run seed.
 */
#ifndef FRUGAL_FITNESS_H
#define FRUGAL_FITNESS_H

#include "vm/vm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ==== tasks ==== */

typedef enum { FIT_ISA_NATIVE = 0, FIT_ISA_EVM = 1 } fit_isa;

typedef enum {
    FIT_ERR_FX_ABS = 0, /* |vm_fx_to_double(out) - target| where target is the exact real value */
    FIT_ERR_INT_ABS = 1 /* |out - want| on int64, computed without overflow, as a double */
} fit_error_kind;

typedef enum { FIT_TRAIN = 0, FIT_TEST = 1 } fit_split;

/* A random source for case generators: uniform in [lo, hi] inclusive,
 * unbiased. The engine adapts its PCG32 streams to this (evo_fit_rng). */
typedef struct {
    void *ctx;
    int64_t (*range)(void *ctx, int64_t lo, int64_t hi);
} fit_rng;

typedef struct {
    uint32_t n;     /* number of cases */
    vm_word *in;    /* n * n_in input words, case after case, each bottom first */
    vm_word *want;  /* n expected outputs (Q32.32 for fixed-point tasks) */
    double *target; /* n exact real targets (FIT_ERR_FX_ABS); NULL otherwise */
} fit_cases;

#define FIT_MAX_CONSTS 16

typedef struct {
    char name[32];
    fit_isa isa;
    fit_error_kind error;
    bool fixed_point; /* inputs and outputs are Q32.32 */
    uint32_t n_in;    /* input words per case */
    fit_cases train, test;
    double penalty;   /* the error of a case that produces no output */
    double hit_tol;   /* a case is a hit when its error <= hit_tol */
    vm_limits limits; /* per case; 0 fields take the VM defaults */
    /* the task's constants, offered to the GP's initial programs */
    vm_word consts[FIT_MAX_CONSTS];
    uint32_t n_consts;
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
    double *errors;   /* caller's array with room for every case; filled */
    uint32_t ncases;  /* cases run */
    double error;     /* sum of the case errors */
    uint64_t gas;     /* total gas over the cases */
    uint64_t memtime; /* total memory-time over the cases */
    vm_status worst;  /* see fit_status_severity */
    uint32_t hits;    /* cases with error <= hit_tol */
    uint32_t missing; /* cases without an output (penalised) */
} fit_result;

/* A per-thread evaluation context: it owns one reusable VM arena. Create one
 * per thread, once, and reuse it for any number of evaluations: fit_eval
 * allocates nothing once the arena has grown to the largest program. */
typedef struct fit_ctx fit_ctx;

/* limits NULL: the task's limits. Returns NULL if memory cannot be had. */
fit_ctx *fit_ctx_new(const fit_task *t, const vm_limits *limits);
void fit_ctx_free(fit_ctx *c);
const fit_task *fit_ctx_task(const fit_ctx *c);

/* Run code on every case of the split, each case in a fresh process: vm_load
 * once, then per case vm_reset, push the inputs, vm_run under the limits.
 * Fills *r (r->errors must be set by the caller). Returns 0, or -1 if the
 * code cannot be loaded (longer than VM_MAX_CODE, or out of memory) or the
 * task's ISA is not supported yet; then *r holds penalties. */
int fit_eval(fit_ctx *c, const uint8_t *code, size_t len, fit_split which, fit_result *r);

/* The error of one case for output y (has_output false: the penalty). */
double fit_case_error(const fit_task *t, const fit_cases *cs, uint32_t i, bool has_output,
                      vm_word y);

#endif
