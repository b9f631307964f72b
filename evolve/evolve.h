/* frugal's GP engine: the public API of the evolve module (prefix evo_).
 *
 * Sections are delimited by "==== name ====" banners; add new ones below the
 * existing ones.
 */
#ifndef FRUGAL_EVOLVE_H
#define FRUGAL_EVOLVE_H

#include "evolve/runfile.h"
#include "fitness/fitness.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ==== random numbers (base/base.h, docs/rng.md) ====
 *
 * PCG32 (XSH RR 64/32, O'Neill 2014). Every draw in the engine comes from an
 * evo_rng, so a run is a pure function of its seeds. evo_rng is the base
 * layer's generator (base_rng) under the engine's name; the exact sequences
 * are part of the results' reproducibility: the algorithms (including how
 * bounded draws reject, and how streams are derived) must never change.
 */

typedef base_rng evo_rng;

/* The standard PCG32 seeding: state = 0, inc = (initseq << 1) | 1, step,
 * state += initstate, step. */
static inline void evo_rng_seed(evo_rng *r, uint64_t initstate, uint64_t initseq) {
    base_rng_seed(r, initstate, initseq);
}

/* Seed an independent stream derived from (seed, a, b, c) by a fixed hash
 * (docs/rng.md), e.g. (run seed, generation, individual, purpose). */
static inline void evo_rng_stream(evo_rng *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
    base_rng_stream(r, seed, a, b, c);
}
/* The same in two steps: evo_rng_stream_at(r, evo_rng_prefix(seed, a, b), c)
 * (for many streams that differ in c only). */
static inline uint64_t evo_rng_prefix(uint64_t seed, uint64_t a, uint64_t b) {
    return base_rng_prefix(seed, a, b);
}
static inline void evo_rng_stream_at(evo_rng *r, uint64_t prefix, uint64_t c) {
    base_rng_stream_at(r, prefix, c);
}

/* The next 32-bit output (one step). */
static inline uint32_t evo_rng_next(evo_rng *r) {
    return base_rng_next(r);
}

/* Uniform in [0, bound), unbiased: Lemire's multiply-shift with rejection.
 * Usually one step, more only when a draw is rejected. bound == 0 returns 0
 * without stepping. */
static inline uint32_t evo_rng_below(evo_rng *r, uint32_t bound) {
    return base_rng_below(r, bound);
}

/* 64 bits from two steps: the first output is the high half, the second the
 * low half. */
static inline uint64_t evo_rng_next64(evo_rng *r) {
    return base_rng_next64(r);
}

/* Uniform in [lo, hi] inclusive, unbiased, for any int64 bounds. Spans that
 * fit 32 bits use evo_rng_below; wider ones use 64-bit draws with rejection;
 * the full int64 range is one evo_rng_next64. lo >= hi returns lo without
 * stepping. */
static inline int64_t evo_rng_range(evo_rng *r, int64_t lo, int64_t hi) {
    return base_rng_range(r, lo, hi);
}

/* Uniform in [0, 1) with 53 random bits (the top of evo_rng_next64). For host
 * side use only: nothing the VM computes may depend on floating point. */
static inline double evo_rng_unit(evo_rng *r) {
    return base_rng_unit(r);
}

/* ==== end of random numbers ==== */

/* ==== genomes and variation (evolve/genome.c, docs/gp.md) ====
 *
 * A genome is real bytecode of its ISA: an evolved native program runs in
 * `frugal exec`. Every operator works on whole instructions and never splits
 * an immediate. The ISA is described by a table (evo_isa) built from the
 * VM's opcode table, so that another ISA (EVM) plugs in by filling the same
 * table.
 */

typedef enum {
    EVO_IMM_NONE = 0,
    EVO_IMM_CONST = 1, /* a constant (native PUSH: int64 LE; EVM PUSHn: n bytes BE) */
    EVO_IMM_REL = 2,   /* a relative jump: int16 LE from the next instruction */
    EVO_IMM_IDX = 3,   /* a small stack index (uint8) */
    EVO_IMM_ARG = 4    /* an argument index (native ARG: uint8), in [0, n_args) */
} evo_imm_kind;

typedef struct {
    bool defined;
    uint8_t imm;      /* evo_imm_kind */
    uint8_t imm_size; /* bytes after the opcode */
    bool imm_be;      /* big-endian immediate */
    uint8_t in, out;  /* stack class: words consumed and produced (IDX: base values) */
} evo_opdesc;

typedef struct {
    fit_isa isa;
    const char *name;
    evo_opdesc op[256]; /* by opcode byte */
    uint8_t ilen[256];  /* instruction length by opcode byte (1 if undefined) */
} evo_isa;

/* The native ISA, from vm_opinfo_of. */
void evo_isa_native(evo_isa *isa);
/* Derive ilen[] from op[]: call after filling op[] for another ISA. */
void evo_isa_finish(evo_isa *isa);
/* Length of the instruction at pc (an undefined byte is 1; a truncated
 * immediate spans to the end). */
uint32_t evo_insn_len(const evo_isa *isa, const uint8_t *code, uint32_t len, uint32_t pc);

/* Named length limits (defaults) and the hard ceiling of max_bytes, set by
 * the int16 reach of REL jumps. */
#define EVO_DEFAULT_MAX_BYTES 1024u
#define EVO_DEFAULT_MAX_INSNS 128u
#define EVO_MAX_BYTES         32767u
#define EVO_MAX_CONSTS        32u

typedef struct {
    /* caps: every genome has at most max_bytes bytes and max_insns instructions */
    uint32_t max_bytes, max_insns;
    /* initial programs: length in instructions uniform in [init_min, init_max].
     * With init_stack_aware, initial programs never underflow: starting from
     * init_depth words (the task's inputs), an opcode is drawn again (up to
     * 32 times) until it needs no more words than the stack holds, and an
     * IDX immediate stays within the stack; the program ends early when no
     * draw fits. (Exact for straight-line code: a jump may skip words.) */
    uint32_t init_min, init_max;
    bool init_stack_aware;
    uint32_t init_depth;
    /* opcode set for new instructions, drawn uniformly (repeat an opcode to weight it) */
    uint8_t ops[256];
    uint32_t nops;
    /* constants: with probability p_const one of consts[] (uniformly), else
     * uniform in [const_lo, const_hi]; a tweak adds uniform [-const_tweak,
     * const_tweak] (wrapping). IDX immediates are uniform in [0, idx_max]. */
    vm_word consts[EVO_MAX_CONSTS];
    uint32_t nconsts;
    double p_const;
    vm_word const_lo, const_hi, const_tweak;
    uint32_t idx_max;
    uint32_t n_args; /* ARG immediates are uniform in [0, n_args): the task's inputs */
    /* rates, per child. Crossover: one draw picks one-point, two-point,
     * homologous or none (p_cx_one + p_cx_two + p_cx_homol <= 1). Then each
     * mutation is applied independently with its probability. */
    double p_cx_one, p_cx_two, p_cx_homol;
    double p_point, p_insert, p_delete, p_swap;
    /* point mutation of an instruction: with p_point_imm (when it has an
     * immediate) tweak the immediate; otherwise with p_point_class replace the
     * opcode by one of the same stack class (in, out), else by any opcode. */
    double p_point_imm, p_point_class;
    /* UMAD (evo_mut_umad), applied to every child after the other operators
     * when umad > 0: the per-instruction addition rate (0.09 in PushGP) */
    double umad;
} evo_genome_params;

/* Defaults for an ISA: caps, init 4..24 instructions, every defined opcode
 * except YIELD, constants 0 and 1, rates cx 0.25/0.15/0.1 (one-point,
 * two-point, homologous), point 0.1, insert 0.05, delete 0.05, swap 0.025
 * (docs/gp.md). */
void evo_genome_params_default(evo_genome_params *g, const evo_isa *isa);
/* Defaults tuned to a task: a fixed-point task gets the regression set
 * (PUSH POP DUP SWAP OVER ROT ADD SUB FMUL FDIV NEG) and constants in
 * [-1, 1]; an integer task gets integer arithmetic, comparisons and jumps.
 * The task's constants join consts[]. */
void evo_genome_params_for_task(evo_genome_params *g, const evo_isa *isa, const fit_task *t);
/* Checks the caps and rates: 0, or -1 with a message in err that names the
 * spec key to change (docs/specs.md), e.g. "genome.init_min: expected <=
 * genome.init_max (24), found 30". */
int evo_genome_check(const evo_genome_params *g, const evo_isa *isa, char *err, size_t errcap);

/* Operators applied to a child (bits of the mask evo_vary returns). */
#define EVO_OP_CX_ONE    0x01u
#define EVO_OP_CX_TWO    0x02u
#define EVO_OP_CX_HOMOL  0x04u
#define EVO_OP_POINT     0x08u
#define EVO_OP_INSERT    0x10u
#define EVO_OP_DELETE    0x20u
#define EVO_OP_SWAP      0x40u
#define EVO_OP_UMAD      0x80u
#define EVO_OP_CX_MASK   0x07u
#define EVO_OP_ELITE     0x100u  /* copied unchanged by elitism */
#define EVO_OP_SURVIVOR  0x200u  /* NSGA-II: a parent that survived */
#define EVO_OP_IMMIGRANT 0x400u  /* arrived by migration */
#define EVO_OP_CLONE     0x800u  /* variation left the parent unchanged: not re-evaluated */
#define EVO_OP_VERIFIED  0x1000u /* down-sampling: met the target on every training case */

/* Scratch for the operators: create once per thread. It serves the g and
 * isa it was made for: make it again after changing their sizes or opcodes. */
typedef struct {
    uint32_t *sa, *sb; /* instruction starts */
    uint8_t *tmp;      /* 2 * max_bytes + 64 */
    uint32_t cap;
    bool rel; /* g's opcodes include a jump: evo_vary repairs its children */
} evo_vary_ws;
int evo_vary_ws_init(evo_vary_ws *w, const evo_isa *isa, const evo_genome_params *g);
void evo_vary_ws_free(evo_vary_ws *w);

/* A random program into out (room for max_bytes). Returns its length. */
uint32_t evo_genome_random(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, uint8_t *out,
                           evo_vary_ws *w);
/* Which crossover a child gets: 0 or one of EVO_OP_CX_*. One evo_rng_unit. */
unsigned evo_draw_crossover(const evo_genome_params *g, evo_rng *r);
/* Make a child of a (and b, when cx != 0) into out: the crossover cx, then
 * point, insertion, deletion and swap, each with its rate, then jump repair.
 * Returns the mask of operators applied (an operator that cannot apply, e.g.
 * an insertion at the cap, still counts and leaves the genome unchanged). */
unsigned evo_vary(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, const uint8_t *a,
                  uint32_t alen, const uint8_t *b, uint32_t blen, unsigned cx, uint8_t *out,
                  uint32_t *outlen, evo_vary_ws *w);
/* evo_vary given the parents' instruction counts (evo_genome_insns) na and
 * nb, which it then need not scan for; the child's count into *outn. The
 * same children and draws, for parents of whole instructions (as a run's
 * are); wrong counts give other children, within the buffers and caps. */
unsigned evo_vary_n(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, const uint8_t *a,
                    uint32_t alen, uint32_t na, const uint8_t *b, uint32_t blen, uint32_t nb,
                    unsigned cx, uint8_t *out, uint32_t *outlen, uint32_t *outn, evo_vary_ws *w);

/* The single operators, for tests and custom pipelines. Mutations work in
 * place on code (room for max_bytes); crossovers write out. None repairs
 * jumps: call evo_genome_repair after the last one. */
void evo_mut_point(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, uint8_t *code,
                   uint32_t *len, evo_vary_ws *w);
void evo_mut_insert(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, uint8_t *code,
                    uint32_t *len, evo_vary_ws *w);
void evo_mut_delete(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, uint8_t *code,
                    uint32_t *len, evo_vary_ws *w);
void evo_mut_swap(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, uint8_t *code,
                  uint32_t *len, evo_vary_ws *w);
void evo_mut_umad(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, uint8_t *code,
                  uint32_t *len, evo_vary_ws *w);
void evo_crossover(const evo_isa *isa, const evo_genome_params *g, evo_rng *r, unsigned cx,
                   const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen, uint8_t *out,
                   uint32_t *outlen, evo_vary_ws *w);
/* Jump repair: every REL target is clamped to [0, len] and moved forward to
 * the next instruction start (or the end), so no jump is ever BAD_JUMP. */
void evo_genome_repair(const evo_isa *isa, uint8_t *code, uint32_t len, evo_vary_ws *w);
/* Well-formed: every instruction defined and whole, every REL target an
 * instruction start or the end, within the caps. */
bool evo_genome_ok(const evo_isa *isa, const evo_genome_params *g, const uint8_t *code,
                   uint32_t len);
/* Number of instructions (well-formed code). */
uint32_t evo_genome_insns(const evo_isa *isa, const uint8_t *code, uint32_t len);

/* ==== end of genomes ==== */

/* ==== selection (evolve/select.c, docs/gp.md) ====
 *
 * All selection minimises. Ties are broken deterministically (documented per
 * function), never by memory addresses or thread timing.
 */

typedef struct {
    uint32_t n, ncases;
    /* errors per row (0: ncases); a down-sampled row holds the sample's
     * ncases errors first, then padding up to every training case */
    uint32_t row;
    const double *fitness;  /* n: the scalar to minimise */
    const double *errors;   /* n rows, one per individual (lexicase) */
    const uint32_t *length; /* n: bytes (tie-break); may be NULL */
    const uint64_t *gas;    /* n (tie-break); may be NULL */
} evo_view;

typedef enum {
    EVO_TIE_NONE = 0,   /* equal fitness: the first drawn / lower index wins */
    EVO_TIE_LENGTH = 1, /* then shorter, then lower gas */
    EVO_TIE_GAS = 2     /* then lower gas, then shorter */
} evo_tiebreak;

/* i strictly better than j: lower fitness, then the tie-break. Inline: the
 * tournament and the elites' scan call it for every candidate. Written
 * without branches on the values (bitwise & and |), so that the compiler
 * can choose with a conditional move: random candidates' comparisons are a
 * coin toss for a branch predictor. */
static inline bool evo_better(const evo_view *v, evo_tiebreak tb, uint32_t i, uint32_t j) {
    double fi = v->fitness[i], fj = v->fitness[j];
    uint64_t li = v->length ? v->length[i] : 0, lj = v->length ? v->length[j] : 0;
    uint64_t gi = v->gas ? v->gas[i] : 0, gj = v->gas ? v->gas[j] : 0;
    bool tie = tb == EVO_TIE_LENGTH ? (li < lj) | ((li == lj) & (gi < gj))
               : tb == EVO_TIE_GAS  ? (gi < gj) | ((gi == gj) & (li < lj))
                                    : false;
    return (fi < fj) | (!(fi > fj) & tie); /* unordered (NaN) fitness: a tie */
}
/* Tournament: k draws with replacement (evo_rng_below(n) each); the best by
 * evo_better wins, the earliest drawn on a full tie. */
uint32_t evo_select_tournament(const evo_view *v, uint32_t k, evo_tiebreak tb, evo_rng *r);
/* Lexicase's work that is the same in every selection of a generation, as
 * a table of evo_lex_table_words(n, ncases) words, 8-byte aligned (it ends
 * with the groups' errors, a case to a row): the individuals grouped
 * by identical error rows (every round keeps or drops a group whole), and
 * for each case c the groups whose error on c is <= the population's best
 * + eps[c] (eps NULL: 0), the first round of any selection that starts
 * with c. */
size_t evo_lex_table_words(uint32_t n, uint32_t ncases);
void evo_lexicase_table(const evo_view *v, const double *eps, uint32_t *table);
/* Lexicase (eps NULL) or epsilon-lexicase: shuffle the cases (Fisher-Yates,
 * i = ncases-1 .. 1, j = below(i+1)); keep the candidates whose error on each
 * case is <= the best remaining error + eps[case]; stop when one is left;
 * pick uniformly among the rest, in index order (one below(count) draw).
 * table: NULL, or evo_lexicase_table's of the same view and eps: the same
 * pick from the same draws, faster. scratch: 2n + ncases words. */
uint32_t evo_select_lexicase(const evo_view *v, const double *eps, const uint32_t *table,
                             evo_rng *r, uint32_t *scratch);
/* Automatic epsilon (La Cava et al. 2016): eps[c] = median over i of
 * |e[i][c] - median_j e[j][c]|. scratch: n keys. */
void evo_lexicase_epsilon(const evo_view *v, double *eps, uint64_t *scratch);
/* Doubles as unsigned keys in IEEE total order (NaN above +inf), and back. */
uint64_t evo_key_of_double(double d);
double evo_double_of_key(uint64_t k);
/* The median of k[0..n) by radix selection (reorders k; 0 when n is 0): the
 * middle key, or the mean of the middle two when n is even, as a double. The
 * keys are doubles (evo_key_of_double) when `doubles`, else integers. */
double evo_median_keys(uint64_t *k, size_t n, bool doubles);
/* The k best by evo_better, best first (ties by lower index). scratch: n. */
void evo_best_k(const evo_view *v, evo_tiebreak tb, uint32_t k, uint32_t *out, uint32_t *scratch);

/* NSGA-II (Deb et al. 2002). obj: n points of m objectives, row-major, all
 * minimised. Fills rank (0 = the non-dominated front) and crowding distance
 * (per front; the extremes of each objective get INFINITY; each objective's
 * contribution is normalised by its range in the front). Returns the number
 * of fronts, or -1 if memory cannot be had. */
int evo_nsga2_sort(const double *obj, uint32_t n, uint32_t m, uint32_t *rank, double *crowd);
/* The crowded-comparison tournament: k draws; lower rank wins, then larger
 * crowding, then the earliest drawn. */
uint32_t evo_select_crowded(const uint32_t *rank, const double *crowd, uint32_t n, uint32_t k,
                            evo_rng *r);
/* Environmental selection: the keep best of n by (rank, -crowd, index),
 * in that order, into out. Returns 0 or -1. */
int evo_nsga2_survivors(const uint32_t *rank, const double *crowd, uint32_t n, uint32_t keep,
                        uint32_t *out);

/* ==== end of selection ==== */

/* ==== runs: populations, evaluation, the generation loop (evolve/run.c) ====
 *
 * Determinism is the contract: every random choice of slot i of island k in
 * generation g comes from its own stream evo_rng_stream(seed, k, g, i), so a
 * run is a pure function of (params, task, seed) whatever the thread count,
 * and no RNG state persists between generations. Other purposes use streams
 * with reserved second words (EVO_STREAM_*), far from any island number.
 */

#define EVO_STREAM_TASK    0xffffffffffffffffull /* (seed, TASK, split, 0): task cases */
#define EVO_STREAM_MIGRATE 0xfffffffffffffffeull /* (seed, MIGRATE, gen, 0 | 1+island) */
#define EVO_STREAM_SAMPLE  0xfffffffffffffffdull /* (seed, SAMPLE, gen, 0): down-samples */
#define EVO_STREAM_SIMPLIFY                                                                        \
    0xfffffffffffffffcull /* (seed, SIMPLIFY, gen, slot): evo_run_simplify */
#define EVO_NO_PARENT 0xffffffffu

/* The selection methods (evolve/selection.def). */
typedef enum {
#define SEL(id, name, select, prepare, flags, doc) EVO_SEL_##id,
#include "evolve/selection.def"
#undef SEL
    EVO_NSELECTIONS
} evo_selection;
/* The spec's names of the methods, by evo_selection, NULL-terminated. */
extern const char *const evo_selection_names[];
/* What a method does besides choosing parents (its flags in selection.def). */
#define EVO_SELECT_ELITES     1u /* the best `elites` of each island are copied unchanged */
#define EVO_SELECT_SURVIVAL   2u /* (mu + lambda) survival of parents and children */
#define EVO_SELECT_OBJECTIVES 4u /* it uses the objectives */
unsigned evo_selection_flags(evo_selection s);

typedef enum {
    EVO_OBJ_ERROR = 0, /* sum of the case errors */
    EVO_OBJ_GAS = 1,   /* total gas over the cases */
    EVO_OBJ_MEMTIME = 2,
    EVO_OBJ_LENGTH = 3 /* bytes */
} evo_objective;

typedef enum { EVO_TOPO_RING = 0, EVO_TOPO_RANDOM = 1 } evo_topology;
typedef enum { EVO_EMIGRATE_BEST = 0, EVO_EMIGRATE_RANDOM = 1 } evo_emigrate;

typedef enum {
    EVO_STOP_NONE = 0,
    EVO_STOP_TARGET = 1,      /* the best error reached target_error */
    EVO_STOP_GENERATIONS = 2, /* generation == max_generations */
    EVO_STOP_EVALUATIONS = 3, /* evaluations >= max_evaluations */
    EVO_STOP_GAS = 4,         /* total gas >= max_gas */
    EVO_STOP_WALL = 5         /* wall clock >= max_seconds (non-reproducible) */
} evo_stop;

#define EVO_DEFAULT_POP         1000u
#define EVO_DEFAULT_TOURNAMENT  3u
#define EVO_DEFAULT_GENERATIONS 50u

typedef struct {
    uint64_t seed;
    uint32_t pop_size; /* per island */
    uint32_t islands;
    uint32_t threads; /* 0: OpenMP's default; never changes the results */
    evo_genome_params genome;
    evo_selection selection;
    uint32_t tournament;   /* k, for tournament and NSGA-II's crowded tournament */
    uint32_t elites;       /* best copied unchanged per island (not NSGA-II) */
    evo_tiebreak tiebreak; /* parsimony tie-break for equal fitness */
    /* Down-sampling (Hernandez et al. 2019): < 1 evaluates each generation
     * on a fresh random fraction of the training cases (at least 1), drawn
     * from stream (seed, EVO_STREAM_SAMPLE, gen, 0); results are never
     * reused across generations, and an individual that meets target_error
     * on the sample is checked on every training case before the run stops.
     * 1: every case (the default). */
    double downsample;
    /* fitness = error + parsimony_length * bytes + parsimony_gas * gas / gas_ref
     *         + parsimony_memtime * memtime / memtime_ref
     *         + penalty_out_of_gas * (cases OUT_OF_GAS) + penalty_fault * (other faults)
     * (fit_fitness, docs/fitness.md). A term counts only when its weight is
     * > 0. gas_ref/memtime_ref 0: the task's reference per case times the
     * cases (evm-superopt: the block's gas), else 1. Lexicographic (error,
     * then gas): all weights 0 and tiebreak EVO_TIE_GAS. */
    double parsimony_length, parsimony_gas;
    double gas_ref, parsimony_memtime, memtime_ref;
    double penalty_out_of_gas, penalty_fault;
    evo_objective objectives[4]; /* NSGA-II */
    uint32_t nobjectives;
    /* islands: every migrate_every generations, each island sends migrants
     * (best or random) to its destination, where they replace the worst */
    uint32_t migrate_every, migrants;
    evo_topology topology;
    evo_emigrate emigrate;
    /* budgets (0: no limit). A generation is the initial population (0) or one
     * round of variation; the run stops once generation == max_generations. */
    uint64_t max_generations, max_evaluations, max_gas;
    double target_error; /* stop when the best error <= target; < 0: off */
    double max_seconds;  /* > 0: a wall-clock stop; the run is then non-reproducible */
    vm_limits limits;    /* per case; 0 fields take the task's */
} evo_params;

/* Defaults (docs/gp.md): seed 1, population 1000, 1 island, tournament 3,
 * 1 elite, length tie-break, no parsimony penalty, NSGA-II objectives error
 * and gas, migration every 10 generations of 5 best along a ring, 50
 * generations; genome parameters from evo_genome_params_for_task. */
void evo_params_default(evo_params *p, const evo_isa *isa, const fit_task *t);
/* Check p for a run of task t with the genome ISA isa (evo_run_new and the
 * spec loader both use it): 0, or -1 with a message in err that names the
 * spec key to change (docs/specs.md), e.g. "selection.elites: expected less
 * than population.size (10), found 10". */
int evo_params_check(const evo_params *p, const evo_isa *isa, const fit_task *t, char *err,
                     size_t errcap);

typedef struct evo_run evo_run;

/* A run on task t (which must outlive it). Allocates everything; evaluates
 * nothing yet. Returns NULL with a message in err on bad parameters. */
evo_run *evo_run_new(const evo_params *p, const fit_task *t, char *err, size_t errcap);
void evo_run_free(evo_run *r);
/* Make the next generation: the first call creates and evaluates generation
 * 0; each later call selects, varies and evaluates, then migrates when due.
 * Returns 0 when a generation was made, 1 when the run had already stopped
 * (nothing done), -1 on failure (out of memory). */
int evo_run_step(evo_run *r);
/* evo_run_step, with job(ctx) run on the calling thread while the other
 * threads make the generation (with one thread: before it), e.g. storing the
 * previous generation (the store's st_job, store/store.h). Until the job returns the run's
 * current population, generation and counters are still the previous
 * generation's, and the job must only read them. Not run when the step does
 * nothing (returns 1). */
int evo_run_step_with(evo_run *r, void (*job)(void *ctx), void *ctx);
/* Step until a budget stops the run. Returns 0 or -1. */
int evo_run_until_done(evo_run *r);
/* Why the run stopped, or EVO_STOP_NONE. */
evo_stop evo_run_stopped(const evo_run *r);
const char *evo_stop_name(evo_stop s);

bool evo_run_started(const evo_run *r);
uint64_t evo_run_generation(const evo_run *r);  /* the current population's generation */
uint64_t evo_run_evaluations(const evo_run *r); /* programs evaluated so far */
uint64_t evo_run_gas_total(const evo_run *r);   /* gas used by those evaluations */
bool evo_run_reproducible(const evo_run *r);    /* false when a wall-clock stop is set */
const evo_params *evo_run_params(const evo_run *r);
const evo_isa *evo_run_isa(const evo_run *r);
const fit_task *evo_run_task(const evo_run *r);

/* One island's current population, structure of arrays. Genome i is
 * code[i * stride .. + len[i]). parent_a/parent_b are slots of the same
 * island in the previous generation (EVO_NO_PARENT if none); for immigrants
 * parent_a is the slot and parent_b the island they came from. ops holds the
 * EVO_OP_* bits that made the individual. */
typedef struct {
    uint32_t n, ncases, stride;
    uint32_t row; /* errors per row: the first ncases count (see evo_view) */
    const uint8_t *code;
    const uint32_t *len;
    const double *fitness, *error, *errors; /* errors: n rows of row */
    const uint64_t *gas, *memtime;
    const uint32_t *status; /* worst vm_status over the cases */
    const uint32_t *hits, *parent_a, *parent_b, *ops;
} evo_pop_view;
void evo_run_island(const evo_run *r, uint32_t island, evo_pop_view *v);

/* A /stats row (evolve/runfile.h): generation, evaluations, gas_total, the
 * best individual (best fitness over all islands, then the tie-break) and
 * population means and medians. */
typedef struct {
    EVO_STATS_COLUMNS(EVO_STATS_FIELD)
} evo_stats;
/* Statistics of the current population (all islands). Returns 0 or -1. */
int evo_run_stats(const evo_run *r, evo_stats *s);

/* Evaluate individual (island, slot) of the current population on a split
 * of the task (FIT_TEST for generalisation). res->errors must have room
 * for fit_task_nerrors(task, which) errors (cases x outputs); the engine's
 * per-individual errors (ncases in the views) are fit_task_nerrors(task,
 * FIT_TRAIN). Not counted in the run's evaluations. Returns 0 or -1. */
int evo_run_eval(evo_run *r, uint32_t island, uint32_t slot, fit_split which, fit_result *res);
/* Automatic simplification (Helmuth, McPhee and Spector 2017) of individual
 * (island, slot): steps times, delete 1 to 3 random instructions and keep
 * the deletion when the training error is no worse. out (room for
 * genome.max_bytes) gets the program, *len its length. Deterministic:
 * stream (seed, EVO_STREAM_SIMPLIFY, generation, island * size + slot). Not
 * counted in the run's evaluations, and the population is unchanged.
 * Returns 0 or -1. */
int evo_run_simplify(evo_run *r, uint32_t island, uint32_t slot, uint32_t steps, uint8_t *out,
                     uint32_t *len);

/* Count the native VM instructions every later evaluation runs (on: true),
 * e.g. for a run made again to report instructions/s; evo_run_insns gives
 * the sum over the threads. Results are unchanged. Returns 0 or -1. */
int evo_run_count_insns(evo_run *r, bool on);
uint64_t evo_run_insns(const evo_run *r);
/* Time the native interpreter in every later evaluation (on: true);
 * evo_run_interp_secs gives the sum over the threads, as read between two
 * clock readings at each of *entries entries (vm_time_interp). Returns 0
 * or -1. */
int evo_run_time_interp(evo_run *r, bool on);
double evo_run_interp_secs(const evo_run *r, uint64_t *entries);

/* A hash of the populations (genomes, results, lineage) and the counters:
 * equal runs give equal hashes. */
uint64_t evo_run_hash(const evo_run *r);

/* The whole state of a run as a portable byte blob (little-endian, versioned,
 * checksummed; docs/gp.md): generation, counters and every individual. The
 * seed and generation are the only RNG state there is. *blob is malloc'd. */
int evo_run_save_state(const evo_run *r, uint8_t **blob, size_t *len);
/* Restore into a run made with the same parameters and task. On error the run
 * is unchanged and err names the problem. Returns 0 or -1. */
int evo_run_load_state(evo_run *r, const uint8_t *blob, size_t len, char *err, size_t errcap);
/* 0 if blob is a whole state (magic, version, checksum) of a started run,
 * with its generation; -1 if not (e.g. a torn checkpoint). */
int evo_state_peek(const uint8_t *blob, size_t len, uint64_t *generation);

/* ==== end of runs ==== */

/* ==== islands and migration (evolve/island.c) ====
 *
 * Migration is export -> exchange -> import. The engine picks each island's
 * emigrants and packs them into a batch (records as in the state blob); a
 * transport delivers batch i to island dest[i]; the engine unpacks each
 * arriving batch over the destination's worst individuals. An MPI transport
 * implements exchange by sending and receiving batches between ranks.
 */

typedef struct {
    base_buf bytes; /* the records */
    uint32_t count; /* individuals in bytes */
} evo_batch;

typedef struct {
    void *ctx;
    /* out[i]: island i's emigrants, for island dest[i]. Fill in[d] with the
     * batch arriving at island d (count 0 if none). Returns 0 or -1. */
    int (*exchange)(void *ctx, uint64_t generation, uint32_t nislands, const uint32_t *dest,
                    const evo_batch *out, evo_batch *in);
} evo_transport;

/* The in-process transport (copies). The default. */
extern const evo_transport evo_transport_local;
void evo_run_set_transport(evo_run *r, const evo_transport *t);
/* Destinations for generation gen: ring i -> i+1, or a random cyclic
 * permutation (Sattolo) from stream (seed, EVO_STREAM_MIGRATE, gen, 0). */
void evo_migration_dest(const evo_run *r, uint64_t gen, uint32_t *dest);
/* The slots of island i's emigrants for generation gen (migrants of them):
 * the best by fitness and tie-break, or distinct random slots from stream
 * (seed, EVO_STREAM_MIGRATE, gen, 1 + i). */
void evo_migration_emigrants(const evo_run *r, uint32_t island, uint64_t gen, uint32_t *slots);
/* Migrate now (evo_run_step calls it when due). Returns 0 or -1. */
int evo_migrate(evo_run *r);

/* ==== end of islands ==== */

/* ==== task helpers ==== */

/* A fit_rng that draws from r (evo_rng_range). */
void evo_fit_rng(fit_rng *out, evo_rng *r);
/* The quartic with its cases drawn from stream (seed, EVO_STREAM_TASK, 0, 0). */
int evo_task_quartic(fit_task *t, uint64_t seed);

/* ==== end of task helpers ==== */

/* ==== the EVM genome (evolve/isa_evm.c) ==== */

/* The EVM ISA from the EVM opcode table (every opcode defined in Cancun;
 * PUSHn: n big-endian immediate bytes, never split; no REL jumps: JUMP and
 * JUMPI take their target from the stack). */
void evo_isa_evm(evo_isa *isa);
/* The genome ISA of a task: native or EVM. */
void evo_isa_for_task(evo_isa *isa, const fit_task *t);
/* Genome parameters for an EVM task: straight-line tasks (t->straight_line,
 * evm-superopt) get arithmetic, comparison, bitwise, POP, PUSH0..PUSH2,
 * DUPn/SWAPn up to the block's inputs + 2 and every opcode of the block,
 * initial programs of 1..(block instructions) and at most 2x+8; synthesis
 * tasks get every opcode but calls, creates, LOG, SELFDESTRUCT and INVALID.
 * Stack-aware initialisation from the task's initial depth; constants 0, 1,
 * the task's, else uniform in [0, 32]. evo_params_default calls it for EVM
 * tasks. */
void evo_genome_params_for_evm(evo_genome_params *g, const evo_isa *isa, const fit_task *t);

/* Replace individual (island, slot) of the current population by code (a
 * well-formed genome of the run's ISA, e.g. the block to superoptimise) and
 * evaluate it on the training split; counted as an evaluation. Only after
 * the first evo_run_step. Returns 0, or -1 (bad arguments, or the code
 * cannot be loaded). */
int evo_run_seed(evo_run *r, uint32_t island, uint32_t slot, const uint8_t *code, uint32_t len);

/* ==== end of the EVM genome ==== */

/* ==== MPI (evolve/mpi.c, docs/cluster.md) ====
 *
 * With `make MPI=1` (FRUGAL_MPI) a run can spread its islands over the ranks
 * of MPI_COMM_WORLD: island i is made (selected, varied and evaluated, with
 * OpenMP threads) on rank i % ranks; after every generation the ranks
 * all-gather the new individuals, so every rank holds the identical whole
 * population, and statistics, NSGA-II survival and migration run identically
 * everywhere. Results do not depend on the number of ranks. In the plain build
 * these calls are stubs for a single process (rank 0 of 1).
 */

/* Start MPI (MPI_Init_thread, FUNNELED) when this process was started by
 * mpirun or srun (their environment variables); otherwise do nothing.
 * Returns 0, or -1 when MPI cannot start. */
int evo_mpi_init(void);
/* MPI_Finalize if evo_mpi_init started MPI. */
void evo_mpi_finalize(void);
bool evo_mpi_active(void);   /* MPI was started (any number of ranks) */
uint32_t evo_mpi_rank(void); /* 0 without MPI */
uint32_t evo_mpi_size(void); /* 1 without MPI */
/* Stop every rank with exit code code (MPI_Abort; exit without MPI). */
_Noreturn void evo_mpi_abort(int code);
/* Broadcast len bytes from root: on root *data and *len are the input; on
 * the others *data becomes a malloc'd copy (NULL when len is 0). Returns 0
 * or -1. */
int evo_mpi_bcast(uint8_t **data, size_t *len, uint32_t root);
/* The maximum of v over the ranks, element by element, on every rank. */
int evo_mpi_max_ints(int *v, size_t n);
/* Spread r's islands over the ranks (before its first step). Every rank must
 * make the same run and step it in lockstep. Returns 0 or -1. */
int evo_run_use_mpi(evo_run *r);
/* Counters of this process since evo_mpi_init: the all-gathers after each
 * generation (calls, seconds in all, of which waiting for the slowest rank:
 * the all-gather of the sizes; bytes received) and the time spent in
 * evo_migrate. */
typedef struct {
    uint64_t shares, share_bytes, migrations;
    double share_seconds, wait_seconds, migrate_seconds;
} evo_mpi_counters;
void evo_mpi_get_counters(evo_mpi_counters *c);

/* ==== end of MPI ==== */

#endif
