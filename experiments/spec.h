/* Internal to experiments/: experiment specs (docs/specs.md).
 *
 * A spec is a JSON file parsed strictly: unknown keys, duplicate keys, wrong
 * types and out-of-range values are errors that name the file, the JSON path
 * (e.g. $.selection.tournament), what was expected and what was found. CLI
 * overrides (--seed, --generations, --set key.path=value, ...) apply on top
 * of the file, typed by the same schema. The result is the effective spec:
 * every default filled in, turned into evo_params and a task, and printed as
 * canonical JSON (sorted keys, compact), the text stored with the results.
 */
#ifndef FRUGAL_SPEC_H
#define FRUGAL_SPEC_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The HDF5 store (store/store.c). Set to 1 once st_create is in
 * evolve/evolve.h: until then `frugal run` runs without writing a file. */
#ifndef EXP_HAVE_STORE
#define EXP_HAVE_STORE 1
#endif

#define EXP_SPEC_ERRCAP 1024
#define EXP_SPEC_NAME   64

/* One override: a dotted path (e.g. "selection.tournament") and its value as
 * typed on the command line. */
typedef struct {
    const char *path, *value;
} exp_override;

#define EXP_COMMIT_SECONDS 1.0 /* default $.output.commit_seconds */
#define EXP_KEEP_EVERY     10u /* default $.output.population: "every 10" */

/* A data task's file (task.data, task.test): its path as resolved (relative
 * to the spec file's folder), its bytes and their SHA-256. */
typedef struct {
    char *path;
    uint8_t *bytes;
    size_t len;
    char sha256[65];
} exp_data_file;

typedef struct {
    char name[EXP_SPEC_NAME]; /* $.name, or the file's base name without .json */
    char task_name[EXP_SPEC_NAME];
    uint32_t n_train, n_test, equiv_samples;
    char *block_hex;       /* $.task.block, or NULL */
    uint32_t threads;      /* $.threads: 0 = OpenMP's default; never changes results */
    bool per_case;         /* $.output.per_case: store per-case errors */
    uint32_t keep_every;   /* $.output.population, as st_opts.every */
    double commit_seconds; /* $.output.commit_seconds: group commit interval of the store */
    evo_params params;     /* the effective parameters (limits resolved) */
    fit_task task;         /* built from the task section and the seed */
    bool have_task;        /* task must be freed */
    char *canonical;       /* the canonical effective spec (malloc'd) */
    /* the task "data" (docs/tasks.md, "Data tasks") */
    exp_data_file data, test; /* test.path NULL: none */
    char *target;
    char **inputs;
    uint32_t n_inputs;
    double split;
    int loss; /* fit_loss */
    int isa;  /* fit_isa: $.task.isa of a data task */
    bool has_hit, has_penalty;
    double hit, penalty;
    char data_note[1536]; /* frugal resume: the data file moved or changed (empty: neither) */
} exp_spec;

/* Load a spec file (or text, when text is non-NULL, then path only names it
 * in messages), apply the overrides in order, validate, build the task and
 * parameters, and produce the canonical text. Returns 0, or an exit code
 * (EXP_EXIT_INPUT for a bad spec or override, EXP_EXIT_IO when the file
 * cannot be read, EXP_EXIT_FAIL when memory cannot be had) with a message in
 * err. On failure the spec holds nothing to free. */
int exp_spec_load(exp_spec *s, const char *path, const char *text, const exp_override *ov,
                  size_t nov, char *err, size_t errcap);
void exp_spec_free(exp_spec *s);
/* $.output.population: "every", "every N" or "final" to st_opts.every
 * (0, or -1 when txt is none of them), and back. */
int exp_spec_keep_parse(const char *txt, uint32_t *every);
void exp_spec_keep_name(uint32_t every, char *buf, size_t cap);
/* The files a run file keeps under /cases (st_file_get on the rank
 * that opened it, a broadcast copy on the other MPI ranks). */
typedef struct {
    const st_file *f;
    uint32_t n;
} exp_kept;
/* exp_spec_load of a run's stored spec (text) for frugal resume: a data
 * task's files come from the run file (kept), and s->data_note says when
 * the file on disk has moved or changed. */
int exp_spec_load_run(exp_spec *s, const char *src, const char *text, const exp_kept *kept,
                      char *err, size_t errcap);
/* The files of a data task, for st_opts.files (out: room for
 * ST_MAX_FILES); returns how many. */
uint32_t exp_spec_store_files(const exp_spec *s, st_file *out);

/* ---- data files (experiments/spec_data.c) ---- */

/* Read the file named given (relative paths: relative to the folder of
 * spec_path when spec_path is not NULL) into f, with its SHA-256. 0, or an
 * exit code (EXP_EXIT_IO: unreadable) with a message. */
int exp_data_read(const char *spec_path, const char *given, exp_data_file *f, char *err,
                  size_t errcap);
/* f from a file kept in a run (a copy), checked against its stored SHA-256;
 * note (when the file at its path is missing or differs) says so. 0, or an
 * exit code with a message. */
int exp_data_stored(const char *path, const st_file *sf, exp_data_file *f, char *note,
                    size_t notecap, char *err, size_t errcap);
void exp_data_free(exp_data_file *f);
/* SHA-256 of d[0..n) as 64 hex digits. */
void exp_sha256_hex(const uint8_t *d, size_t n, char out[65]);
/* d[0..n) as 2n lowercase hex digits and a NUL (out has room for 2n + 1). */
void exp_hex(const uint8_t *d, size_t n, char *out);
/* Whether a task name is known to this build (the task registry). */
bool exp_spec_task_known(const char *name);

/* Build task `name` with the spec's task options and the run seed (the
 * task's cases come from stream (seed, EVO_STREAM_TASK, ...)). The one place
 * that maps a spec to a task. Returns 0, or -1 with a message. */
int exp_spec_make_task(const char *name, const fit_task_opts *o, uint64_t seed, fit_task *t,
                       char *err, size_t errcap);

/* The key table of a spec section ("task", "population", ...; NULL: the
 * top level) as docs/specs.md shows it, made from the schema that validates
 * specs (tests/test_docs.c). 0, or -1 for an unknown section. */
int exp_spec_doc_keys(FILE *out, const char *section);
/* The sections of the schema, in order (at most 32). */
void exp_spec_doc_sections(const char **names, size_t *n);

/* The tasks by family, for --help: one line per family. */
void exp_spec_print_tasks(FILE *f);

/* The opcode name for the task's ISA, or NULL when undefined. */
const char *exp_spec_opname(fit_isa isa, uint8_t op);

/* `frugal run` as a function, for the demo: run the spec at path with the
 * given output path (NULL: the default) and overwrite an existing file when
 * force. quiet suppresses progress and the summary. On success fills the
 * output path used (room for outcap) and returns 0 or an exit code. The run
 * is handed back in *out (caller frees with evo_run_free) when out is not
 * NULL, together with the spec (exp_spec_free). */
int exp_run_spec(const char *path, const exp_override *ov, size_t nov, const char *outpath,
                 bool force, bool quiet, exp_spec *spec, evo_run **out, char *used, size_t usedcap);

/* Automatic simplification (evo_run_simplify, steps tries) of the run's best
 * individual st, then its evaluation on split which: the program in code
 * (room for the spec's genome.max_bytes) and *n, the result in *res (its
 * errors set by the caller). 0 or -1 (out of memory). */
int exp_simplify_best(evo_run *r, const exp_spec *s, const evo_stats *st, uint32_t steps,
                      fit_split which, uint8_t *code, uint32_t *n, fit_result *res);

/* Evolved code carries neutral instructions. A run's solution of an
 * integer task with a test split (training error 0) is shown again after
 * EXP_SIMPLIFY tries of automatic simplification, with its test result:
 * the program a reader should look at, and the one that generalises more
 * often (docs/gp.md, "Simplification"). It goes to f as text when f is
 * not NULL, and into the JSON object o as "simplified" when o is not NULL.
 * Nothing otherwise. */
#define EXP_SIMPLIFY 5000 /* as Helmuth et al. 2017; PushGP's PSB2 results are simplified */
struct json_t;
void exp_show_simplified(FILE *f, struct json_t *o, evo_run *r, const exp_spec *s,
                         const evo_stats *st);

/* Print a program of the task's ISA, one instruction a line, indented. */
void exp_print_program(FILE *f, const fit_task *t, const uint8_t *code, uint32_t len,
                       const char *indent);

#endif
