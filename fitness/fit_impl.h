/* Internal to fitness/: shared helpers of the task generators. */
#ifndef FRUGAL_FIT_IMPL_H
#define FRUGAL_FIT_IMPL_H

#include "fitness/fitness.h"

/* Allocate n cases of n_in inputs and n_out outputs (zeroed); real: with
 * targets; evm: with 256-bit words instead of native ones. 0 or -1. */
int fit_cases_alloc(fit_cases *cs, uint32_t n, uint32_t n_in, uint32_t n_out, bool real, bool evm);
int fit_cases_copy(fit_cases *dst, const fit_cases *src, const fit_task *t);

/* A builder of vector cases (FIT_IO_CHANNEL), one output word each. */
typedef struct {
    fit_cases *cs;
    uint32_t n, cap;    /* cases added, room for cases */
    size_t words, wcap; /* words in cs->in */
    uint32_t n_out;
} fit_vec_builder;
int fit_vec_begin(fit_vec_builder *b, fit_cases *cs, uint32_t ncases, uint32_t n_out);
/* Add one case: the vector x[0..len) and its outputs want[0..n_out). 0 or -1. */
int fit_vec_add(fit_vec_builder *b, const vm_word *x, uint32_t len, const vm_word *want);

void fit_task_init(fit_task *t, const char *name, fit_error_kind err, uint32_t n_in);
/* Count a case's stopping status into r: worst (by fit_status_severity,
 * *worst_sev its severity so far), out_of_gas and faults. */
void fit_note_status(fit_result *r, vm_status st, unsigned *worst_sev);
/* The families' defaults (error kind, penalty, hit tolerance, limits,
 * constants): the regression tasks' (task_regress.c) and the PSB tasks'
 * (task_psb.c); data tasks start from them. */
void fit_reg_init(fit_task *t, const char *name, uint32_t n_in);
void fit_psb_init(fit_task *t, const char *name, fit_error_kind err, uint32_t n_in, double penalty);

/* Resolve a requested size: want 0 gives dflt; a size below min is an error. */
int fit_size(const char *task, const char *what, uint32_t want, uint32_t dflt, uint32_t min,
             uint32_t *out, char *err, size_t errcap);

/* The makers of the task registry (fitness/tasks.def), defined in the
 * families' files (task.c, task_regress.c, task_psb.c, task_evm.c,
 * task_coevo.c). */
#define FIT_MAKER(fn)                                                                              \
    int fn(const fit_task_entry *e, const fit_task_opts *o, const fit_rng *rng, fit_task *t,       \
           char *err, size_t errcap)
#define TASK(name, family, maker, arg, doc) FIT_MAKER(maker);
#include "fitness/tasks.def"
#undef TASK

/* The co-evolution side of fit_ctx and fit_eval (task_coevo.c): a per-thread
 * arena holding the hall of fame's opponents (players 0..K-1) and the
 * program under test (player K); *stamp is the hall of fame's version the
 * arena holds. */
void fit_coevo_free(struct fit_coevo *h);
fit_arena *fit_coevo_arena_new(const fit_task *t, const vm_limits *limits, uint64_t *stamp);
int fit_coevo_eval(fit_arena *a, uint64_t *stamp, const fit_task *t, const uint8_t *code,
                   size_t len, fit_result *r);

/* The EVM side of fit_eval (task_evm.c): per-thread state and evaluation. */
typedef struct fit_evm_ctx fit_evm_ctx;
fit_evm_ctx *fit_evm_ctx_new(const fit_task *t, const vm_limits *limits);
void fit_evm_ctx_free(fit_evm_ctx *c);
/* d (NULL: none): the per-case detail, calldata tasks only (-1 otherwise). */
int fit_evm_eval(fit_evm_ctx *c, const fit_task *t, const uint8_t *code, size_t len,
                 const fit_cases *cs, fit_result *r, const fit_case_detail *d);

/* The stack model's opcode classes (superopt.c): pure, environment, state
 * read, stack moves; FIT_M_BAD for every opcode it does not run. */
enum { FIT_M_BAD, FIT_M_PURE, FIT_M_ENV, FIT_M_READ, FIT_M_POP, FIT_M_PUSH, FIT_M_DUP, FIT_M_SWAP };
int fit_evm_model_class(uint8_t op);
/* The stack effect of straight-line code of the model's opcodes: the words
 * it reads below its start and its net change. 0, or -1 with the reason. */
int fit_evm_shape(const uint8_t *b, size_t n, uint32_t *min_in, int32_t *delta, char *why,
                  size_t whycap);

/* 256-bit helpers on 32-byte big-endian words. */
void fit_u256_from_u64(uint8_t w[32], uint64_t v);
/* An EVM synthesis task (calldata in, RETURN out): penalty 256, exact hits,
 * 30,000 gas per case, constants 0, 1, 32, 64, 96 (calldata offsets). */
void fit_evm_syn_init(fit_task *t, const char *name, fit_error_kind err, uint32_t n_in);
unsigned fit_u256_bits_diff(const uint8_t a[32], const uint8_t b[32]);
double fit_u256_absdiff(const uint8_t a[32], const uint8_t b[32]);

#endif
