/* Analysis of stored runs (docs/report.md): read run files (the HDF5 schema of
 * docs/hdf5-schema.md, read-only), summarise batches over seeds, write CSV
 * tables, gnuplot scripts, figures and a report.md, and trace lineages.
 *
 * Analysis reads only what the store wrote: it never re-evaluates a program. */
#ifndef FRUGAL_ANALYSIS_H
#define FRUGAL_ANALYSIS_H

#include "evolve/runfile.h"
#include "fitness/fitness.h"
#include "vm/vm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AN_NAME 64

/* ---- readable models (analysis/expr.c; docs/report.md, "Expressions") ---- */

/* A native program executed symbolically on its inputs: the expression of
 * each output, with constants folded and identities applied that hold for
 * every word (x+0, x*1, x*0, x-x, --x, ...). The executor follows the VM's
 * rules exactly (operand shortage, limits, blocks, jumps), so evaluated on
 * words the expression gives the VM's output bit for bit; where the program
 * stops without an output, or its path depends on the inputs in a way an
 * expression does not say (a jump or a loop count on an input), there is no
 * expression and a reason instead. */
typedef struct an_expr an_expr;
#define AN_EXPR_MAX_OUT 16
typedef struct {
    uint32_t n_in;            /* the inputs: the initial stack (bottom first) and ARG 0..n_in-1 */
    uint32_t n_out;           /* outputs, the top n_out words (0: 1) */
    bool fixed;               /* words are Q32.32 (regression) rather than integers */
    vm_limits limits;         /* the run's (0 fields: the VM defaults), with its underflow rule */
    const char *const *names; /* n_in input names, or NULL: x (one input), else x0, x1, ... */
} an_expr_opts;
typedef enum { AN_EXPR_INFIX, AN_EXPR_SYMPY, AN_EXPR_LATEX } an_expr_style;

/* Build. 0 with *out (free with an_expr_free), which may hold a reason
 * rather than an expression; -1 out of memory. */
int an_expr_build(const uint8_t *code, size_t len, const an_expr_opts *o, an_expr **out);
void an_expr_free(an_expr *e);
/* Why there is no expression, or NULL when there is one. */
const char *an_expr_reason(const an_expr *e);
/* The outputs it has expressions for (0 with a reason). */
uint32_t an_expr_nout(const an_expr *e);
/* The outputs (deepest first) on input words in[n_in], with the VM's word
 * semantics: equal to the VM's. 0, or -1 (no expression, out of memory). */
int an_expr_eval(const an_expr *e, const vm_word *in, vm_word *out);
/* The outputs as real numbers on real inputs (fixed point: the values of the
 * Q32.32 inputs), each with a bound in err (may be NULL) on its distance from
 * the VM's output (INFINITY where an operation is discontinuous at its
 * operand or the value may leave the Q32.32 range). 0, or -1. */
int an_expr_eval_real(const an_expr *e, const double *in, double *out, double *err);
/* The expression as text (outputs separated by "; "), or "(no expression:
 * REASON)"; malloc'd, NULL when out of memory. */
char *an_expr_text(const an_expr *e, an_expr_style s);
/* an_expr_build then an_expr_text: the one call `frugal eval --expr` needs. */
char *an_expr_string(const uint8_t *code, size_t len, const an_expr_opts *o, an_expr_style s);
/* "infix", "sympy", "latex". 0, or -1. */
int an_expr_style_parse(const char *name, an_expr_style *s);
/* The options for task t's programs under limits (NULL: the task's): 0,
 * or -1 with why (EVM bytecode, input on a channel) when its programs are
 * not expressions over stack inputs. */
int an_expr_opts_task(const fit_task *t, const vm_limits *limits, an_expr_opts *o, char *why,
                      size_t cap);
/* A Q32.32 word in the fewest decimal digits that read back as that word. */
void an_fx_text(vm_word w, char *buf, size_t cap);

/* One /stats row (docs/hdf5-schema.md, "/stats"; the columns of
 * evolve/runfile.h). */
typedef struct {
    EVO_STATS_COLUMNS(EVO_STATS_FIELD)
} an_stats;

/* The arrays of the /pop columns an_run loads: the per-row ones and the
 * genomes (per-case errors are read on demand, an_case_errors). */
#define AN_POP_FIELD(name, type, shape, doc) AN_POP_FIELD_##shape(name, type)
#define AN_POP_FIELD_ROWS(name, type)        EVO_COL_C_##type *name;
#define AN_POP_FIELD_CASES(name, type)
#define AN_POP_FIELD_BYTES(name, type) EVO_COL_C_##type *name;

/* A run file, loaded: the complete generations only (a killed run's partial
 * generation is ignored). /stats has every generation; /pop those that
 * output.population kept (pop_gen; all of them in files without
 * /pop_generations). Row of (generation pop_gen[j], island k, slot i) is
 * (j * islands + k) * pop_size + i (an_row). */
typedef struct {
    char path[4096];
    char *spec;              /* the canonical spec JSON (malloc'd) */
    char spec_name[AN_NAME]; /* e.g. "quartic" */
    char task_name[AN_NAME]; /* $.task.name of the spec */
    bool evm;                /* the task's genomes are EVM bytecode */
    bool has_target;         /* $.budget.target_error is set */
    double target_error;     /* its value */
    uint64_t seed;
    uint32_t islands, pop_size, cases;
    bool per_case;        /* /pop/errors exists */
    uint64_t generations; /* complete generations */
    uint64_t pop_gens;    /* of which /pop holds this many (>= 1): */
    uint64_t *pop_gen;    /* [pop_gens], increasing; NULL: 0 .. generations - 1 */
    uint32_t every;       /* /pop's attribute every: 1 (all), N, 0 (the last only) */
    uint64_t rows;        /* pop_gens * islands * pop_size */
    char stop_reason[17];
    an_stats *stats; /* [generations] */
    /* the /pop columns: [rows] each, and code (/pop/code up to the last
     * genome's end, code_len bytes) */
    EVO_POP_COLUMNS(AN_POP_FIELD)
    uint64_t code_len;
    /* /elite (files whose output.population is not "every"): generation g's
     * best genome, for g < elite_gens; NULL (and 0) when the file has none */
    uint64_t elite_gens;
    uint64_t *elite_offset;
    uint32_t *elite_length;
    uint8_t *elite_code;
    int64_t solved_gen; /* first generation with a solution (an_solved), or -1 */
    vm_limits limits;   /* $.limits of the spec (0 fields: the task's) */
    /* the task, made again from its name (a data task from /cases): its penalty (a missing output's
     * error; INFINITY when it cannot be made here, or when a wrong output can
     * cost as much: docs/report.md "Fronts") and how its programs read as
     * expressions */
    double penalty;
    bool expressible;  /* native programs on the stack: expr holds the options */
    an_expr_opts expr; /* n_in, n_out, fixed point, limits, input names */
    char **in_names;   /* a CSV data task's input columns (expr.names), or NULL */
    uint32_t n_in_names;
    char expr_why[96]; /* why not, when not expressible */
} an_run;

/* The kinds of failure of an_run_load (*fail) and an_report (res.fail): a
 * bad input file (not a run, truncated or corrupt: exit 3), or a file that
 * cannot be read or written (exit 4). */
#define AN_ERR_INPUT (-1)
#define AN_ERR_IO    (-2)

/* Open path read-only (SWMR read mode, so a file that a run is writing or a
 * killed run left opens too) and load it, checking what has no checksum in
 * the file (/stats against /pop, /stop_reason). 0, or -1 with a message
 * naming the file in err and its kind in *fail (AN_ERR_INPUT or AN_ERR_IO;
 * fail may be NULL). A damaged file fails within milliseconds. On failure r
 * holds nothing to free. */
int an_run_load(const char *path, an_run *r, int *fail, char *err, size_t errcap);
void an_run_free(an_run *r);
/* Where generation gen is in /pop (its j), or UINT64_MAX when /pop does
 * not hold it. */
uint64_t an_pop_index(const an_run *r, uint64_t gen);
/* The last generation /pop holds. */
uint64_t an_pop_last(const an_run *r);
/* Which generations /pop holds, for a message: "every generation",
 * "every 10: 0, 10, ..., 50", "final: 50". */
void an_pop_text(const an_run *r, char *buf, size_t cap);
/* What programs the file holds, for a message: "populations in the file:
 * <an_pop_text>", and the generations whose best /elite holds. */
void an_held_text(const an_run *r, char *buf, size_t cap);
/* Row index of (generation, island, slot); gen must be in /pop. */
static inline uint64_t an_row(const an_run *r, uint64_t gen, uint32_t island, uint32_t slot) {
    uint64_t j = r->pop_gen ? an_pop_index(r, gen) : gen;
    return (j * r->islands + island) * r->pop_size + slot;
}
/* The row of generation gen's best individual (from /stats; gen in /pop). */
uint64_t an_best_row(const an_run *r, uint64_t gen);
/* Whether row is a solution: error <= target_error when the spec sets one,
 * else every case a hit (hits == cases). */
bool an_solved(const an_run *r, uint64_t row);
/* Read row's per-case errors (r->cases doubles) from the file. 0, or -1 when
 * the run has none or the read fails. */
int an_case_errors(const an_run *r, uint64_t row, double *out);
/* One stored program: an individual of /pop, or a generation's best from
 * /elite when /pop does not keep that generation. */
typedef struct {
    uint64_t gen;
    uint32_t island, slot;
    const uint8_t *code; /* in the an_run: valid while it is loaded */
    uint32_t len;
    double error; /* its stored error */
} an_program;
/* The program id names (an_parse_id's forms): from /pop, or from /elite for
 * a generation's best that /pop does not keep. 0, or -1 when the id is
 * malformed or the file does not hold that program. */
int an_program_get(const an_run *r, const char *id, an_program *p);
/* Disassemble a genome of r (native or EVM) to f, each line after indent;
 * a fixed-point task's PUSH constants decoded in the comment. */
void an_print_program(const an_run *r, const uint8_t *code, size_t len, FILE *f,
                      const char *indent);
/* Native code disassembled (vm_disasm) to f, each line after indent; with
 * fixed, each PUSH's comment ends with its Q32.32 value ("= 0.5"). */
void an_disasm(const uint8_t *code, size_t len, bool fixed, FILE *f, const char *indent);
/* A genome of r as an expression in style s (an_expr_string with the run's
 * task), or "(no expression: WHY)"; malloc'd, NULL when out of memory. */
char *an_run_expr(const an_run *r, const uint8_t *code, size_t len, an_expr_style s);

/* ---- statistics ---- */

/* The q-quantile (0..1) of n values by linear interpolation between order
 * statistics (numpy's default, R type 7). Sorts v in place. NAN when n = 0. */
double an_quantile(double *v, size_t n, double q);
/* Koza's computational effort: E = min_i M·(i+1)·ceil(ln(1−z)/ln(1−P(i))),
 * where P(i) is the fraction of the n runs with solved_gen[k] in [0, i]
 * (solved_gen −1: never), i < gens. Returns E, or 0 when no run is solved; the
 * minimising generation in *at_gen. */
double an_effort(const int64_t *solved_gen, size_t n, uint64_t gens, uint64_t m, double z,
                 uint64_t *at_gen);

/* analysis/stats.c (docs/report.md, "Statistics"). Quantiles and the
 * hypergeometric distribution are GSL's. */

typedef enum { AN_CI_WILSON, AN_CI_CLOPPER_PEARSON } an_ci_method;
/* Two-sided interval at level conf (e.g. 0.95) for a success probability,
 * from k successes in n trials: Wilson's score interval, or Clopper-Pearson's
 * exact one. [0, 1] when n = 0 or k > n. */
void an_binom_ci(size_t k, size_t n, double conf, an_ci_method m, double *lo, double *hi);
const char *an_ci_name(an_ci_method m); /* "Wilson", "Clopper-Pearson" */

/* Percentile bootstrap interval at level conf for an_effort over the n runs:
 * reps resamples of n runs with replacement, drawn from the PCG32 stream
 * (seed, "boot") (docs/rng.md), so the same inputs and seed give the same
 * interval. A resample without a solved run has infinite effort, so *hi
 * (or both) may be INFINITY. 0, or -1 (no runs, no memory). */
int an_effort_ci(const int64_t *solved_gen, size_t n, uint64_t gens, uint64_t m, double z,
                 double conf, uint32_t reps, uint64_t seed, double *lo, double *hi);

/* Fisher's exact test on the 2x2 table [[a, b], [c, d]] (rows: groups,
 * columns: solved, not solved), two-sided: the probability of the tables
 * with the same margins that are at most as likely as this one. 1 when a
 * margin is empty. *odds (may be NULL) gets the sample odds ratio ad/(bc):
 * INFINITY when bc = 0 < ad, NAN when both are 0. */
double an_fisher_exact(uint64_t a, uint64_t b, uint64_t c, uint64_t d, double *odds);

/* Mann-Whitney U, two-sided, of x against y. */
typedef struct {
    double u;   /* U of x: pairs (x_i, y_j) with x_i > y_j, plus half the ties */
    double a12; /* Vargha-Delaney A12 = u / (nx ny) = P(X > Y) + P(X = Y) / 2 */
    double p;   /* in [0, 1] */
    double z;   /* the normal deviate of the approximation (NAN when exact) */
    bool exact; /* exact when nx <= 8 or ny <= 8 and no two values tie (as
                 * SciPy's 'auto'); else normal, with the tie correction
                 * and a continuity correction of 1/2 */
    bool ties;  /* some values are equal */
} an_mwu;
/* 0, or -1 when a group is empty, a value is NAN, or memory runs out. */
int an_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, an_mwu *out);
/* Vargha and Delaney's (2000) words for |A12 - 0.5|: "negligible" (< 0.06),
 * "small" (< 0.14), "medium" (< 0.21), "large". */
const char *an_a12_magnitude(double a12);

/* Holm-Bonferroni: adj[i] is p[i] adjusted over the m non-NAN p-values
 * (p sorted ascending: adj_(j) = max over i <= j of min(1, (m - i + 1) p_(i))).
 * A NAN p (a comparison not made) stays NAN and is not counted. 0, or -1. */
int an_holm(const double *p, size_t n, double *adj);

/* ---- report ---- */

typedef enum { AN_PNG, AN_SVG, AN_PDF } an_format;
#define AN_FMT(f)    (1u << (f)) /* a bit of an_report_opts.formats */
#define AN_BOOT_REPS 10000u      /* the effort bootstrap's resamples by default */

typedef struct {
    const char *out_dir; /* where everything goes (created) */
    unsigned formats;    /* AN_FMT bits: each figure in each format */
    /* called with a line per run read and on the report written (NULL: none) */
    void (*progress)(const char *line, void *ctx);
    void *progress_ctx;
    an_ci_method ci;    /* the success rates' intervals */
    uint32_t boot_reps; /* the effort bootstrap's resamples (0: AN_BOOT_REPS) */
    uint64_t boot_seed; /* and its seed */
} an_report_opts;

/* What an_report tells besides its return value. */
typedef struct {
    int fail;            /* when it returns -1: AN_ERR_INPUT (a bad input file) or AN_ERR_IO */
    bool no_gnuplot;     /* written without figures: gnuplot is not installed */
    bool gnuplot_failed; /* gnuplot failed on some figure (OUT/gnuplot.log) */
    /* What the user should know about those and about odd inputs, or "": a
     * line each ('\n' between), a line that starts with spaces continuing the
     * one before (the lines that do not fit are left out). */
    char warn[4096];
} an_report_result;

/* Write the report for the inputs: each input is a run file (one run) or a
 * directory (every *.h5 in it: a batch over seeds); each input is one
 * experiment, and the figures overlay the experiments; with two or more, every
 * pair is compared (docs/report.md, "Comparisons"). An arena file (frugal
 * arena) gets its own report. 0 when the report is written, also without
 * figures (res says why); -1 with the message in err, and its kind in
 * res->fail (no temporary file is left behind). */
int an_report(const char *const *inputs, size_t n, const an_report_opts *o, an_report_result *res,
              char *err, size_t errcap);

/* ---- lineage ---- */

/* Parse an individual's id, "GEN:ISLAND:SLOT" or "GEN:SLOT" (island 0),
 * "GEN:best" (generation GEN's best, from /stats), or "best" (the best
 * individual of the last generation /pop holds). 0, or -1. */
int an_parse_id(const an_run *r, const char *id, uint64_t *gen, uint32_t *island, uint32_t *slot);
/* Print the ancestry of (gen, island, slot) through parent_a (the first
 * parent: the one the child's code starts from) to out, newest first, each
 * program with its error, gas, memory-time and the operators that made it.
 * 0, or -1 with a message naming the file in err (no such individual, or
 * parent ids that loop: out then holds the lineage up to there). */
int an_lineage(const an_run *r, uint64_t gen, uint32_t island, uint32_t slot, bool programs,
               FILE *out, char *err, size_t errcap);

#endif
