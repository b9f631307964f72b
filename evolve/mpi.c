/* MPI: islands spread over the ranks of MPI_COMM_WORLD, with replicated
 * state (docs/cluster.md). Every rank holds the whole run; rank q makes the
 * islands i with i % ranks == q and after each generation the ranks
 * all-gather the records of their islands (evo_record_put), so that every
 * rank holds the identical population. Everything else (statistics, NSGA-II
 * survival, migration) is a deterministic function of that population and
 * runs on every rank alike. Without FRUGAL_MPI (the plain build) the
 * functions are stubs for one process. All MPI calls come from the thread
 * that called evo_mpi_init, outside OpenMP regions. */
#include "evolve/evo_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef FRUGAL_MPI
#include <limits.h>
#include <mpi.h>
#include <omp.h>
#endif

static bool g_active;   /* MPI started by evo_mpi_init */
static uint32_t g_rank; /* in MPI_COMM_WORLD */
static uint32_t g_size = 1;
static evo_mpi_counters g_count;

void evo_mpi_note_migrate(double seconds) {
    g_count.migrations++;
    g_count.migrate_seconds += seconds;
}

void evo_mpi_get_counters(evo_mpi_counters *c) {
    *c = g_count;
}

bool evo_mpi_active(void) {
    return g_active;
}
uint32_t evo_mpi_rank(void) {
    return g_rank;
}
uint32_t evo_mpi_size(void) {
    return g_size;
}

#ifdef FRUGAL_MPI

/* Started by a launcher: Open MPI's mpirun, or srun / another PMI(x)
 * launcher. A process started by hand stays a plain single process (no
 * singleton MPI_Init). */
static bool launched(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i])) return true;
    return false;
}

int evo_mpi_init(void) {
    if (g_active || !launched()) return 0;
    int provided = 0, size = 1, rank = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "frugal: MPI_Init_thread failed\n");
        return -1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    g_rank = (uint32_t)rank;
    g_size = (uint32_t)size;
    g_active = true;
    memset(&g_count, 0, sizeof g_count);
    return 0;
}

void evo_mpi_finalize(void) {
    if (!g_active) return;
    MPI_Finalize();
    g_active = false;
    g_rank = 0;
    g_size = 1;
}

_Noreturn void evo_mpi_abort(int code) {
    fflush(stdout);
    fflush(stderr);
    if (g_active) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

int evo_mpi_bcast(uint8_t **data, size_t *len, uint32_t root) {
    if (!g_active || g_size < 2) return 0;
    unsigned long long n = *len;
    if (MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, (int)root, MPI_COMM_WORLD) != MPI_SUCCESS)
        return -1;
    if (n > INT_MAX) return -1; /* every rank sees the same n and fails alike */
    if (g_rank != root) {
        *len = (size_t)n;
        *data = n ? malloc((size_t)n) : NULL;
        if (n && !*data) evo_mpi_abort(1); /* the others would wait in the broadcast */
    }
    if (n && MPI_Bcast(*data, (int)n, MPI_BYTE, (int)root, MPI_COMM_WORLD) != MPI_SUCCESS)
        return -1;
    return 0;
}

int evo_mpi_max_ints(int *v, size_t n) {
    if (!g_active || g_size < 2 || n == 0) return 0;
    if (n > INT_MAX) return -1;
    return MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_INT, MPI_MAX, MPI_COMM_WORLD) == MPI_SUCCESS
               ? 0
               : -1;
}

int evo_run_use_mpi(evo_run *r) {
    if (r->started) return -1;
    r->mrank = g_active ? g_rank : 0;
    r->msize = g_active ? g_size : 1;
    return 0;
}

/* Islands of rank q: q, q + R, ... below I. */
static uint32_t islands_of(const evo_run *r, uint32_t q) {
    return r->I > q ? (r->I - q - 1) / r->msize + 1 : 0;
}

int evo_mpi_share(evo_run *r, evo_pop *dst) {
    uint32_t R = r->msize, me = r->mrank, N = r->N;
    if (R < 2) return 0;
    double t0 = omp_get_wtime();
    int rc = -1;
    base_buf mine = {0};
    int *counts = calloc(R, sizeof *counts), *displs = calloc(R, sizeof *displs);
    uint8_t *all = NULL;
    /* every rank reaches the all-gathers even when packing failed, so that
     * no rank waits for a failed one; a failure shows as a negative count */
    int bad = !counts || !displs;
    for (uint32_t k = 0; !bad && k < islands_of(r, me); k++)
        for (uint32_t i = 0; i < N && !bad; i++)
            bad = evo_record_put(r, &mine, dst, (me + k * R) * N + i) != 0;
    long long len = bad || mine.len > INT_MAX ? -1 : (long long)mine.len;
    long long *lens = calloc(R, sizeof *lens);
    if (!lens) evo_mpi_abort(1);
    double tw = omp_get_wtime();
    if (MPI_Allgather(&len, 1, MPI_LONG_LONG, lens, 1, MPI_LONG_LONG, MPI_COMM_WORLD) !=
        MPI_SUCCESS)
        goto cleanup;
    g_count.wait_seconds += omp_get_wtime() - tw;
    long long sum = 0;
    for (uint32_t q = 0; q < R; q++) {
        if (lens[q] < 0) goto cleanup; /* on every rank alike */
        sum += lens[q];
    }
    if (sum > INT_MAX) {
        fprintf(stderr, "frugal: MPI: a generation's records exceed 2 GiB\n");
        goto cleanup;
    }
    all = malloc(sum ? (size_t)sum : 1);
    if (!all) evo_mpi_abort(1);
    for (uint32_t q = 0, off = 0; q < R; q++) {
        counts[q] = (int)lens[q];
        displs[q] = (int)off;
        off += (uint32_t)lens[q];
    }
    if (MPI_Allgatherv(mine.data, (int)mine.len, MPI_BYTE, all, counts, displs, MPI_BYTE,
                       MPI_COMM_WORLD) != MPI_SUCCESS)
        goto cleanup;
    for (uint32_t q = 0; q < R; q++) {
        if (q == me) continue;
        size_t off = 0, end = (size_t)counts[q];
        const uint8_t *d = all + displs[q];
        for (uint32_t k = 0; k < islands_of(r, q); k++)
            for (uint32_t i = 0; i < N; i++)
                if (evo_record_get(r, d, end, &off, dst, (q + k * R) * N + i)) {
                    fprintf(stderr, "frugal: MPI: a malformed record from rank %u\n", q);
                    goto cleanup;
                }
        if (off != end) goto cleanup;
    }
    g_count.shares++;
    g_count.share_bytes += (uint64_t)(sum - (long long)mine.len);
    g_count.share_seconds += omp_get_wtime() - t0;
    rc = 0;
cleanup:
    base_buf_free(&mine);
    free(counts);
    free(displs);
    free(lens);
    free(all);
    return rc;
}

evo_stop evo_mpi_agree_stop(const evo_run *r, evo_stop s) {
    /* only a wall-clock stop can differ between ranks */
    if (r->msize < 2 || !(r->p.max_seconds > 0)) return s;
    int v = (int)s;
    MPI_Bcast(&v, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return (evo_stop)v;
}

#else /* the plain build: one process */

int evo_mpi_init(void) {
    return 0;
}
void evo_mpi_finalize(void) {}
_Noreturn void evo_mpi_abort(int code) {
    fflush(stdout);
    fflush(stderr);
    exit(code);
}
int evo_mpi_bcast(uint8_t **data, size_t *len, uint32_t root) {
    (void)data;
    (void)len;
    (void)root;
    return 0;
}
int evo_mpi_max_ints(int *v, size_t n) {
    (void)v;
    (void)n;
    return 0;
}
int evo_run_use_mpi(evo_run *r) {
    return r->started ? -1 : 0;
}
int evo_mpi_share(evo_run *r, evo_pop *dst) {
    (void)dst;
    return r->msize < 2 ? 0 : -1;
}
evo_stop evo_mpi_agree_stop(const evo_run *r, evo_stop s) {
    (void)r;
    return s;
}

#endif
