/* The run file's columns (docs/hdf5-schema.md, format 1): one table for the
 * writer (store/store.c) and the readers (analysis/run.c). The structs
 * evo_stats and an_stats, the readers' arrays, the HDF5 types and the
 * column tables of docs/hdf5-schema.md are made from it
 * (tests/test_docs.c; `make docs` rewrites the tables). The order is the
 * file's: changing it, a type or a name changes the format.
 *
 * EVO_POP_COLUMNS(X): X(name, type, shape, meaning), the datasets under /pop
 *   shape ROWS: one value per individual; CASES: rows x cases (only with
 *   per_case); BYTES: the genomes, flat
 * EVO_STATS_COLUMNS(X): X(name, type, meaning), the fields of a /stats row
 * type: U8, U32, U64 (little-endian unsigned) or F64 (IEEE double). */
#ifndef FRUGAL_EVO_RUNFILE_H
#define FRUGAL_EVO_RUNFILE_H

#include <stdint.h>

/* The C type and the docs' name of each type. */
#define EVO_COL_C_U8    uint8_t
#define EVO_COL_C_U32   uint32_t
#define EVO_COL_C_U64   uint64_t
#define EVO_COL_C_F64   double
#define EVO_COL_DOC_U8  "uint8"
#define EVO_COL_DOC_U32 "uint32"
#define EVO_COL_DOC_U64 "uint64"
#define EVO_COL_DOC_F64 "float64"

#define EVO_POP_COLUMNS(X)                                                                         \
    X(fitness, F64, ROWS,                                                                          \
      "the scalar that selection minimises: error + parsimony terms (docs/gp.md)")                 \
    X(error, F64, ROWS, "the sum of the case errors")                                              \
    X(gas, U64, ROWS, "total gas over the cases")                                                  \
    X(memtime, U64, ROWS, "total memory-time over the cases (word·steps)")                         \
    X(status, U8, ROWS, "the worst `vm_status` over the cases (severity order in docs/gp.md)")     \
    X(length, U32, ROWS, "the genome's length in bytes")                                           \
    X(hits, U32, ROWS, "cases with error within the task's hit tolerance")                         \
    X(parent_a, U32, ROWS,                                                                         \
      "lineage: the first parent, a slot of the same island in generation g − 1 (`0xffffffff`: " \
      "none); for an immigrant (`ops` has `EVO_OP_IMMIGRANT`), its slot in generation g before "   \
      "migration")                                                                                 \
    X(parent_b, U32, ROWS,                                                                         \
      "lineage: the second parent (crossover), as `parent_a`; for an immigrant, its island of "    \
      "origin")                                                                                    \
    X(ops, U32, ROWS,                                                                              \
      "the `EVO_OP_*` bits that made it: crossover kind, mutations, elite, NSGA-II survivor, "     \
      "immigrant, clone (evolve/evolve.h)")                                                        \
    X(code_offset, U64, ROWS, "where its genome starts in `/pop/code`")                            \
    X(errors, F64, CASES,                                                                          \
      "per-case errors, only when the store was created with `per_case` (attribute `per_case` = "  \
      "1)")                                                                                        \
    X(code, U8, BYTES, "the genomes, concatenated in row order (below)")

#define EVO_STATS_COLUMNS(X)                                                                       \
    X(generation, U64, "the generation (0: the initial population)")                               \
    X(evaluations, U64, "programs evaluated so far (clones and elites are not re-evaluated)")      \
    X(gas_total, U64, "gas used by those evaluations, so far")                                     \
    X(best_island, U32,                                                                            \
      "the best individual's island (lowest fitness over all islands, then the tie-break)")        \
    X(best_slot, U32, "the best individual's slot")                                                \
    X(best_fitness, F64, "its fitness")                                                            \
    X(best_error, F64, "its error")                                                                \
    X(best_hits, U32, "its hits")                                                                  \
    X(best_length, U32, "its length")                                                              \
    X(best_gas, U64, "its gas")                                                                    \
    X(best_memtime, U64, "its memory-time")                                                        \
    X(best_status, U8, "its worst status")                                                         \
    X(mean_error, F64, "the mean error over the population (all islands)")                         \
    X(median_error, F64, "the median error over the population")                                   \
    X(median_gas, F64,                                                                             \
      "the population's median gas (the mean of the middle two for an even "                       \
      "count)")                                                                                    \
    X(median_memtime, F64, "the population's median memory-time")                                  \
    X(median_length, F64, "the population's median length")

/* A struct of the /stats columns, in file order (evo_stats, an_stats). */
#define EVO_STATS_FIELD(name, type, doc) EVO_COL_C_##type name;

#endif
