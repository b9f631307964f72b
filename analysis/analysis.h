/* Analysis of stored runs (docs/report.md): read run files (the HDF5 schema of
 * docs/hdf5-schema.md, read-only), summarise batches over seeds, write CSV
 * tables, gnuplot scripts, figures and a report.md, and trace lineages.
 *
 * Analysis reads only what the store wrote: it never re-evaluates a program. */
#ifndef FRUGAL_ANALYSIS_H
#define FRUGAL_ANALYSIS_H

#include "evolve/runfile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AN_NAME 64

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
 * generation is ignored). Row of (generation g, island k, slot i) is
 * (g * islands + k) * pop_size + i. */
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
    uint64_t rows;        /* generations * islands * pop_size */
    char stop_reason[17];
    an_stats *stats; /* [generations] */
    /* the /pop columns: [rows] each, and code (/pop/code up to the last
     * genome's end, code_len bytes) */
    EVO_POP_COLUMNS(AN_POP_FIELD)
    uint64_t code_len;
    int64_t solved_gen; /* first generation with a solution (an_solved), or -1 */
} an_run;

/* Open path read-only (SWMR read mode, so a file that a run is writing or a
 * killed run left opens too) and load it. 0, or -1 with a message naming the
 * file in err. On failure r holds nothing to free. */
int an_run_load(const char *path, an_run *r, char *err, size_t errcap);
void an_run_free(an_run *r);
/* Row index of (generation, island, slot). */
static inline uint64_t an_row(const an_run *r, uint64_t gen, uint32_t island, uint32_t slot) {
    return (gen * r->islands + island) * r->pop_size + slot;
}
/* The row of generation gen's best individual (from /stats). */
uint64_t an_best_row(const an_run *r, uint64_t gen);
/* Whether row is a solution: error <= target_error when the spec sets one,
 * else every case a hit (hits == cases). */
bool an_solved(const an_run *r, uint64_t row);
/* Read row's per-case errors (r->cases doubles) from the file. 0, or -1 when
 * the run has none or the read fails. */
int an_case_errors(const an_run *r, uint64_t row, double *out);
/* Disassemble row's genome (native or EVM) to f, each line after indent. */
void an_print_program(const an_run *r, uint64_t row, FILE *f, const char *indent);

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

/* ---- report ---- */

typedef enum { AN_PNG, AN_SVG, AN_PDF } an_format;

typedef struct {
    const char *out_dir; /* where everything goes (created) */
    an_format format;
    bool quiet; /* no progress messages on msg */
} an_report_opts;

/* Write the report for the inputs: each input is a run file (one run) or a
 * directory (every *.h5 in it: a batch over seeds); each input is one
 * experiment, and the figures overlay the experiments. Messages go to msg.
 * Returns 0; 1 when the tables and report were written but no figures
 * because gnuplot is missing (msg says how to install it); 2 when gnuplot
 * failed on some figure (see OUT/gnuplot.log); -1 on error (the message on
 * msg). */
int an_report(const char *const *inputs, size_t n, const an_report_opts *o, FILE *msg);

/* ---- lineage ---- */

/* Parse an individual's id, "GEN:ISLAND:SLOT" or "GEN:SLOT" (island 0), or
 * "best" (the best individual of the last generation). 0, or -1. */
int an_parse_id(const an_run *r, const char *id, uint64_t *gen, uint32_t *island, uint32_t *slot);
/* Print the ancestry of (gen, island, slot) through parent_a (the first
 * parent: the one the child's code starts from), newest first, each program
 * with its error, gas, memory-time and the operators that made it. 0, or -1
 * with a message on out. */
int an_lineage(const an_run *r, uint64_t gen, uint32_t island, uint32_t slot, bool programs,
               FILE *out);

#endif
