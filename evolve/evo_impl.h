/* Internal to evolve/: the run object, shared by run.c, island.c, mpi.c and
 * isa_evm.c. */
#ifndef FRUGAL_EVO_IMPL_H
#define FRUGAL_EVO_IMPL_H

#include "evolve/evolve.h"

/* Slots a thread takes at a time when making a generation. Threads write
 * their slots' results into the population's arrays (64-byte aligned, every
 * element 4 or 8 bytes), so 16 slots fill whole cache lines of every array and
 * no line is shared between two threads' chunks. (With 1-byte arrays and
 * chunks of 8, shared lines made each thread about 20% slower; bigger chunks
 * leave a longer tail at the end of each generation.) */
#define EVO_CHUNK 16

/* A population's arrays of one element a slot: field, element type, and
 * whether it is a result, which an elite or a clone takes from its parent
 * (0: lineage, which it sets itself). evald: evaluated in the step that
 * made it (0 or 1). The one list for the struct, its allocation, its copies
 * and make_all's prefetch. */
#define EVO_POP_ARRAYS(X)                                                                          \
    X(len, uint32_t, 1)                                                                            \
    X(ninsns, uint32_t, 1)                                                                         \
    X(fitness, double, 1)                                                                          \
    X(error, double, 1)                                                                            \
    X(gas, uint64_t, 1)                                                                            \
    X(memtime, uint64_t, 1)                                                                        \
    X(status, uint32_t, 1)                                                                         \
    X(hits, uint32_t, 1)                                                                           \
    X(pa, uint32_t, 0)                                                                             \
    X(pb, uint32_t, 0)                                                                             \
    X(ops, uint32_t, 0)                                                                            \
    X(evald, uint32_t, 0)

/* A population of total slots (all islands), structure of arrays. */
typedef struct {
    void *block;    /* owns every array below (pop_alloc) */
    uint8_t *code;  /* total * stride */
    double *errors; /* total * nc */
#define X(field, type, result) type *field;
    EVO_POP_ARRAYS(X)
#undef X
} evo_pop;

/* One thread's workspace, on cache lines of its own. */
typedef struct {
    fit_ctx *fc;
    evo_vary_ws vw;
    uint32_t *lex;          /* lexicase scratch: 2N + ncases */
    uint64_t evals, gas;    /* this generation's evaluations and their gas (make_all) */
    uint64_t insns;         /* instructions run, when counting (evo_run_count_insns) */
    vm_interp_clock interp; /* the interpreter's time, when timing (evo_run_time_interp) */
} __attribute__((aligned(64))) evo_thread;

struct evo_run {
    evo_params p;
    const fit_task *task;
    evo_isa isa;
    uint32_t N, I, total, nc, stride;
    /* down-sampling (p.downsample < 1): each generation's training cases
     * ds_idx[0..ds_n) and their copy; rows hold ncur = ds_n * outputs
     * errors (the rest zero), else ncur = nc */
    uint32_t ncur, ds_n, *ds_idx;
    uint64_t ds_gen; /* the generation ds_cases belongs to (UINT64_MAX: none) */
    fit_cases ds_cases;
    double *ds_err; /* nc: a verification's errors */
    evo_pop pop[3];
    int cur;
    bool started;
    uint64_t gen, evals, gas_total;
    evo_stop stop;
    double t0;
    /* selection state derived from the current population */
    double *eps; /* I * nc */
    /* lexicase's tables, one per island (evo_lexicase_table); made at the
     * first lexicase preparation */
    uint32_t *lex;
    uint32_t *elite; /* I * elites */
    uint32_t *rank;  /* I * N */
    double *crowd;   /* I * N */
    /* NSGA-II survival scratch (2N) */
    double *obj;
    uint32_t *rank2, *keep;
    double *crowd2;
    /* scratch */
    uint32_t *uscratch; /* total */
    uint64_t *kscratch; /* total: keys for medians (epsilon-lexicase, statistics) */
    evo_thread *ws;
    int nws;
    /* migration */
    const evo_transport *transport;
    evo_batch *out, *in; /* I each */
    uint32_t *dest;      /* I */
    /* MPI (evolve/mpi.c): this process makes islands i with i % msize ==
     * mrank; 1 process: mrank 0, msize 1 */
    uint32_t mrank, msize;
};

void evo_pop_copy(const evo_run *r, evo_pop *dst, uint32_t d, const evo_pop *src, uint32_t s);
void evo_island_view(const evo_run *r, const evo_pop *p, uint32_t island, evo_view *v);
/* Evaluate slot s of p as the generation loop does: on the training split,
 * or the current generation's down-sample. */
int evo_evaluate_slot(evo_run *r, evo_thread *w, evo_pop *p, uint32_t s);
/* Serialise slot s of p into b (appending). Returns 0 or -1. */
int evo_record_put(const evo_run *r, base_buf *b, const evo_pop *p, uint32_t s);
/* Parse one record at *off into slot d of p. Returns 0 or -1 (bad record). */
int evo_record_get(const evo_run *r, const uint8_t *data, size_t len, size_t *off, evo_pop *p,
                   uint32_t d);

/* MPI (evolve/mpi.c): after this rank made its islands of dst, give every
 * rank every island of dst (all-gather of the records). Returns 0 or -1. */
int evo_mpi_share(evo_run *r, evo_pop *dst);
/* The stop decision of rank 0, on every rank (for a wall-clock stop). */
evo_stop evo_mpi_agree_stop(const evo_run *r, evo_stop s);
/* Time spent in evo_migrate (benchmark counters). */
void evo_mpi_note_migrate(double seconds);

#endif
