/* The store (docs/hdf5-schema.md): run files, the HDF5 file of a run's
 * populations, /stats and checkpoint (store/store.c), and arena files, a
 * finished tournament (store/arena.c). It sits above evolve/ (it stores an
 * evo_run and restores one from its checkpoint) and below analysis/ and
 * experiments/; evolve/ never calls it (the run takes the store's job as a
 * plain callback, evo_run_step_with). The columns of a run file are the
 * table of evolve/runfile.h, which the readers (analysis/run.c) share. */
#ifndef FRUGAL_STORE_H
#define FRUGAL_STORE_H

#include "evolve/evolve.h"

/* ==== the HDF5 store (store/store.c, docs/hdf5-schema.md) ====
 *
 * A run's populations (every generation and island, with lineage), a /stats
 * table and a checkpoint, in one HDF5 file whose layout is a documented
 * contract (docs/hdf5-schema.md). The file is written in HDF5's SWMR mode and
 * flushed after every generation, so a kill at any moment leaves it readable
 * up to the last complete generation and resumable from its checkpoint.
 * All calls must come from one thread, between parallel evaluations. Every
 * error message names the file and the problem.
 */

#define ST_FORMAT 1u /* the format version this build writes and reads */

typedef struct st_store st_store;

/* A file kept in the run under /cases (docs/hdf5-schema.md): a data task's
 * data file, as read, so that the run file is self-contained. */
typedef struct {
    const char *name; /* the dataset under /cases: "data" or "test" */
    const char *path; /* where it was read (an attribute) */
    const uint8_t *bytes;
    size_t len;
    const char *sha256; /* its SHA-256, 64 hex digits (an attribute) */
} st_file;
#define ST_MAX_FILES 2

#define ST_FINAL UINT32_MAX /* st_opts.every: /pop keeps the last generation only */

typedef struct {
    /* the canonical effective spec (sorted compact JSON), stored as a root attribute */
    const char *spec_json;
    const st_file *files; /* kept under /cases (nfiles <= ST_MAX_FILES) */
    uint32_t nfiles;
    const char *spec_name; /* e.g. "quartic" */
    uint32_t threads;      /* metadata */
    bool per_case;         /* also store per-case errors each generation */
    /* the generations /pop keeps (output.population): 0 or 1, every one; N,
     * 0, N, 2N, ... and the last; ST_FINAL, only the last. /stats keeps every
     * generation (its best individual's results) and the checkpoint is
     * written as always, so any choice resumes. */
    uint32_t every;
    bool force; /* replace an existing file; without it an existing path is an error */
} st_opts;

/* Create path for a new run r (not started, or at generation 0). The file is
 * written to path itself. Returns NULL with a message in err on error. */
st_store *st_create(const char *path, const st_opts *o, const evo_run *r, char *err, size_t errcap);
/* Append the generation r just made (every island) and its /stats row.
 * Generations are written in groups (group commit): each commit writes the
 * pending generations, flushes, writes the checkpoint of the last one and
 * flushes again, so that after a commit a SIGKILL at any later moment leaves
 * every committed generation readable and resumable. By default every
 * generation is committed as it is appended; st_set_commit groups them.
 * The first generation, a run that has stopped, and st_close always
 * commit. Appending the generation that is already the last appended one
 * does nothing (returns 0); any other generation than the next one is an
 * error. Returns 0 or -1. */
int st_append(st_store *s, const evo_run *r, double wall_seconds, char *err, size_t errcap);
/* Commit when seconds have passed since the last commit (0: every
 * generation) or generations are pending (0: ST_COMMIT_GENS). A kill
 * loses at most the uncommitted generations, which a resume computes again,
 * bit for bit. */
#define ST_COMMIT_GENS 64u
void st_set_commit(st_store *s, double seconds, uint32_t generations);
/* Overlapped appends (off by default): st_append then leaves the
 * generation, and its commit if one is due, to st_job (store: s),
 * which the caller passes as the job of the next evo_run_step_with, so that
 * storing one generation (gathering, statistics, compressing, writing,
 * committing) overlaps making the next on the other threads. A run that has
 * stopped has no next step: its last generation is stored at once. HDF5 is
 * still called from the caller's thread only. A generation left to a job
 * that did not run (the caller stopped stepping) is stored by flush or close;
 * an error of the job is reported by the next append, flush or close. The
 * file is the same either way. */
void st_set_overlap(st_store *s, bool on);
void st_job(void *store);
/* Seconds spent in st_job so far. */
double st_job_seconds(const st_store *s);
/* Commit the pending generations now (r: the run, whose state is the
 * checkpoint). Returns 0 or -1. */
int st_flush(st_store *s, const evo_run *r, char *err, size_t errcap);
/* Commit what is pending (r is then needed: its checkpoint), write the end
 * time and the stop reason (evo_run_stopped(r); r may be NULL: "none"), then
 * close and free s. NULL-safe. Returns 0 or -1 (s is freed
 * either way). */
int st_close(st_store *s, const evo_run *r, char *err, size_t errcap);
/* Open an existing run for resuming: *spec_json gets its canonical spec
 * (malloc'd) so that the caller can rebuild the task and parameters; then
 * st_restore loads the last checkpoint into a fresh evo_run made from
 * that spec, and appending continues. A truncated, corrupt or non-frugal file,
 * or one of a newer format, is an error. Returns NULL with a message on error. */
st_store *st_open(const char *path, char **spec_json, char *err, size_t errcap);
/* Load the last complete checkpoint into r and make the file writable again:
 * the run is rewritten up to that generation into path.resume-tmp, which then
 * replaces path (the original stays intact until that rename). Returns 0 or -1. */
int st_restore(st_store *s, evo_run *r, char *err, size_t errcap);
/* After st_open: the file kept under /cases/<name>, or NULL. It lives
 * as long as the store; resume carries it over to the file it writes. */
const st_file *st_file_get(const st_store *s, const char *name);
/* The number of complete generations in the store (after open: up to and
 * including the checkpoint's generation). */
uint64_t st_generations(const st_store *s);

/* Tests only: when set, called at numbered points inside st_append
 * (see store.c), so that a test can kill the process in the middle of a write. */
extern void (*st_test_hook)(int point, uint64_t generation);

/* ==== end of the HDF5 store ==== */

/* ==== arena files (store/arena.c, docs/hdf5-schema.md "Arena files") ==== */

/* Write a finished tournament to path (atomically; an existing path only
 * with force): root attributes frugal_arena (format 1), the spec and the
 * configuration, /players and /matches columns. 0, or -1 with a message. */
int st_arena_write(const char *path, bool force, const char *spec_json, const fit_arena *a,
                   char *err, size_t errcap);

/* ==== end of arena files ==== */

#endif
