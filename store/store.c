/* The HDF5 store: a run's populations, /stats and checkpoint in one file
 * (docs/hdf5-schema.md is the contract).
 *
 * Write discipline (docs/hdf5-schema.md, "Crash safety"): the whole layout is
 * created up front, then the file switches to SWMR write mode, in which HDF5
 * orders its metadata writes so that the file on disk is always a coherent
 * file for a reader. After that only datasets are extended and written (no new
 * objects, no attribute changes). Each generation: write its rows, flush; then
 * write the checkpoint into the slot of the older of two checkpoints, flush.
 * A kill leaves the newer valid checkpoint (each slot carries its length and
 * the state blob's own checksum) and every row up to it; resuming rewrites the
 * run up to that checkpoint into a fresh file and renames it over the old one.
 *
 * All HDF5 calls come from the calling thread. HDF5's own error printing is
 * silenced; every message names the file and the problem.
 */
#define _GNU_SOURCE
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <omp.h>
#include <unistd.h>
#include <libdeflate.h>

#ifndef FRUGAL_VERSION
#define FRUGAL_VERSION "unknown"
#endif
#ifndef FRUGAL_COMMIT
#define FRUGAL_COMMIT "unknown"
#endif

void (*st_test_hook)(int point, uint64_t generation) = NULL;

/* Hook points inside st_append, in the order they are reached. */
enum {
    HOOK_START = 0,      /* nothing written yet for this generation */
    HOOK_FIELDS = 1,     /* half of the per-individual datasets written */
    HOOK_ROWS = 2,       /* every row written, nothing flushed */
    HOOK_FLUSHED = 3,    /* rows flushed, checkpoint not written */
    HOOK_CK_EXTENT = 4,  /* checkpoint slot resized, blob not written */
    HOOK_CK_WRITTEN = 5, /* checkpoint written, not flushed */
    HOOK_DONE = 6        /* everything flushed */
};
#define HOOK(p, g)                                                                                 \
    do {                                                                                           \
        if (st_test_hook) st_test_hook((p), (g));                                                  \
    } while (0)

#define CODE_MIN    4096u /* /pop/code chunk: a power of two in [CODE_MIN, CODE_MAX] */
#define CODE_MAX    (1u << 20)
#define CODE_CHUNK  65536u     /* /pop/code chunk of new files (bytes) */
#define ROW_CHUNK   8192u      /* about this many rows per chunk of the other /pop datasets */
#define CK_CHUNK    65536u     /* checkpoint slot chunk (bytes) */
#define STATS_CHUNK 64u        /* /stats rows per chunk */
#define CHUNK_MAX   (4u << 20) /* cap on a chunk's bytes */
#define DEFLATE     1          /* deflate level (after shuffle) */
#define TAIL        (-1)       /* not a level: a partly filled chunk by deflate_tail */
/* Compression budget: the store's own chunks are deflated at level DEFLATE
 * while the time spent compressing stays within this share of the time spent
 * making generations; beyond it they are stored in deflate's uncompressed
 * blocks (level 0: still shuffle + deflate streams, at memory speed). Tiny,
 * fast generations (0.5 ms each) would otherwise spend more time compressing
 * than evaluating. */
#define Z_SHARE 0.03
/* A commit also happens when this much is pending: it bounds the memory the
 * pending generations take (and reuses it), however fast they come. */
#define COMMIT_BYTES (64u << 20)
#define STR_TIME     32u /* fixed-length time strings */
#define STR_STOP     16u

/* The datasets under /pop (evolve/runfile.h), in file order. */
enum {
#define COL(name, type, shape, doc) F_##name,
    EVO_POP_COLUMNS(COL)
#undef COL
        NF
};
enum { K_F64, K_U64, K_U32, K_U8 };
static const struct {
    const char *name;
    int kind;
} fields[NF] = {
#define COL(name, type, shape, doc) [F_##name] = {#name, K_##type},
    EVO_POP_COLUMNS(COL)
#undef COL
};

static hid_t file_type(int kind) {
    switch (kind) {
    case K_F64: return H5T_IEEE_F64LE;
    case K_U64: return H5T_STD_U64LE;
    case K_U32: return H5T_STD_U32LE;
    default: return H5T_STD_U8LE;
    }
}
static hid_t mem_type(int kind) {
    switch (kind) {
    case K_F64: return H5T_NATIVE_DOUBLE;
    case K_U64: return H5T_NATIVE_UINT64;
    case K_U32: return H5T_NATIVE_UINT32;
    default: return H5T_NATIVE_UINT8;
    }
}
static size_t kind_size(int kind) {
    switch (kind) {
    case K_F64:
    case K_U64: return 8;
    case K_U32: return 4;
    default: return 1;
    }
}

/* A /pop dataset's chunk being filled. Chunks hold a fixed number of rows
 * (bytes for /pop/code), whatever the generations: rows are gathered here and
 * each chunk is written once it is full, whole (H5Dwrite_chunk). A commit also
 * writes the partly filled chunk, raw and at full size (its tail zero), so
 * that the committed rows are in the file; when that chunk fills it is
 * written raw again, at the same size: HDF5 rewrites a chunk of unchanged size
 * in place, the committed bytes with the same values, and no file space is
 * abandoned (SWMR never reuses it). */
struct col {
    uint8_t *buf;       /* the chunk at base (units [base, base + fill)), then room */
    size_t cap;         /* bytes of buf: at least a chunk */
    size_t unit;        /* bytes per row (per byte for /pop/code) */
    uint64_t crows;     /* chunk length, in units */
    uint64_t base;      /* index in the dataset of buf[0]: a multiple of crows */
    uint64_t fill;      /* units gathered in buf */
    uint64_t extent;    /* the dataset's extent in the file, in units */
    bool tail_written;  /* the chunk at base is in the file already (raw) */
    uint64_t tail_fill; /* fill when it was written: unchanged, it is not rewritten */
};

struct st_store {
    char *path;
    hid_t file;   /* the file being written, or -1 */
    hid_t src;    /* st_open: the file to resume, read-only, or -1 */
    hid_t ds[NF]; /* datasets of the written file (-1 if absent) */
    hid_t stats, wall, end_time, stop, slot[2];
    hid_t stats_file; /* the packed file type (pack_stats) */
    uint8_t *stats_packed;
    uint32_t I, N, nc;
    uint64_t R; /* rows per generation: I * N */
    bool per_case;
    /* which generations /pop keeps (st_opts.every): every `every`-th (1: all),
     * 0: only the last; and the run's last. With every != 1, /pop_generations
     * lists them. */
    uint32_t every;
    hid_t kept_ds;       /* /pop_generations, or -1 (every == 1) */
    uint64_t nkept;      /* generations in /pop, committed */
    uint64_t *pend_kept; /* pending generations kept in /pop (room: pend_cap) */
    uint32_t npend_kept;
    /* /elite (every != 1, where /pop lacks most generations): each
     * generation's best genome, one row per generation */
    bool elite;
    hid_t elite_ds[3];    /* E_offset, E_length, E_code */
    uint64_t elite_bytes; /* /elite/code committed */
    uint8_t *pend_ecode;  /* the pending generations' best genomes */
    size_t pend_ecode_len, pend_ecode_cap;
    uint64_t *pend_eoff; /* their offsets in /elite/code (room: pend_cap) */
    uint32_t *pend_elen; /* and lengths */
    uint64_t ngen;       /* complete generations stored */
    uint64_t code_align; /* /pop/code chunk (bytes) */
    uint64_t slot_cap[2];
    int next_slot; /* the checkpoint slot the next commit writes */
    /* the chunk being filled of each /pop dataset (see struct col) */
    struct col c[NF];
    /* generations gathered but not yet committed (group commit): their
     * statistics and wall times */
    uint32_t npend, pend_cap;
    uint64_t pend_bytes; /* rows and code gathered since the last commit (COMMIT_BYTES) */
    evo_stats *pend_stats;
    double *pend_wall;
    /* compression budget, in CPU seconds: making generations (their wall
     * time as appended, times the threads making them) and compressing; the
     * rate of one thread in bytes/s (estimated, then measured) */
    double gen_spent, z_spent, z_rate;
    uint32_t step_threads; /* the threads making the last generation appended */
    /* commit policy (st_set_commit) */
    double commit_seconds, last_commit;
    uint32_t commit_gens;
    /* st_open: the checkpoint to restore and what the source holds */
    uint8_t *blob;
    size_t blob_len;
    char *spec;
    /* the files kept under /cases: given to create, or read by open */
    st_file files[ST_MAX_FILES];
    uint32_t nfiles;
    bool own_files; /* read by open: the strings and bytes are ours */
    /* direct chunk writes: whole chunks compressed here (in parallel), then
     * handed to HDF5 as they are (H5Dwrite_chunk) */
    struct ztask *tasks; /* one per chunk to write */
    size_t ntasks_cap;
    struct zthread *zt; /* per thread */
    int nzt;
    /* overlapped appends (st_set_overlap): the generation of job_run
     * that st_job is to store (UINT64_MAX: none) and whether to commit
     * it, and the error of the last job, reported by the next call */
    bool overlap, job_commit, job_keep;
    uint64_t job_gen;
    const evo_run *job_run;
    double job_wall, job_seconds;
    char *job_err;
};

enum { E_offset, E_length, E_code };
static const char *const elite_names[3] = {"/elite/code_offset", "/elite/length", "/elite/code"};
#define ELITE_CHUNK 4096u /* /elite/code chunk (bytes) */

/* One chunk to compress: shuffle by esize, then deflate. */
struct ztask {
    const uint8_t *in;
    size_t n, esize;
    size_t fill;    /* bytes of in that hold rows (n for a full chunk); zeros after */
    int level;      /* DEFLATE, TAIL (deflate_tail), or 0: written raw (past the budget) */
    bool raw;       /* written raw whatever the budget */
    double seconds; /* the deflate call took */
    uint8_t *out;
    size_t out_cap, out_len;
    int fail;
};
struct zthread {
    struct libdeflate_compressor *c; /* at level DEFLATE */
    uint8_t *shuf;
    size_t shuf_cap;
};

static void quiet(void) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* ---- small helpers ---- */

static double mono_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void now_utc(char *buf, size_t cap) {
    time_t t = time(NULL);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, cap, "unknown");
}

static void hclose(hid_t *h, herr_t (*fn)(hid_t)) {
    if (*h >= 0) fn(*h);
    *h = -1;
}

/* ---- attributes ---- */

static int attr_u64(hid_t obj, const char *name, hid_t ftype, uint64_t v) {
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = sp < 0 ? -1 : H5Acreate2(obj, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = a < 0 || H5Awrite(a, H5T_NATIVE_UINT64, &v) < 0 ? -1 : 0;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    return rc;
}

static hid_t str_type(size_t n) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return -1;
    if (H5Tset_size(t, n) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
        H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static int attr_str(hid_t obj, const char *name, const char *v) {
    hid_t t = str_type(strlen(v) + 1), sp = H5Screate(H5S_SCALAR), a = -1;
    int rc = -1;
    if (t < 0 || sp < 0) goto cleanup;
    a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, t, v) < 0) goto cleanup;
    rc = 0;
cleanup:
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return rc;
}

/* Reads an integer attribute. Returns 0, 1 when absent, -1 on error. */
static int read_attr_u64(hid_t obj, const char *name, uint64_t *v) {
    htri_t ex = H5Aexists(obj, name);
    if (ex < 0) return -1;
    if (ex == 0) return 1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    int rc = -1;
    if (t >= 0 && sp >= 0 && H5Tget_class(t) == H5T_INTEGER &&
        H5Sget_simple_extent_npoints(sp) == 1 && H5Aread(a, H5T_NATIVE_UINT64, v) >= 0)
        rc = 0;
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Aclose(a);
    return rc;
}

/* Reads a fixed-length or variable-length string attribute (malloc'd). Returns
 * 0, 1 when absent, -1 on error. */
static int read_attr_str(hid_t obj, const char *name, char **out) {
    *out = NULL;
    htri_t ex = H5Aexists(obj, name);
    if (ex < 0) return -1;
    if (ex == 0) return 1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = -1, mt = -1, sp = -1;
    int rc = -1;
    if (a < 0) return -1;
    t = H5Aget_type(a);
    sp = H5Aget_space(a);
    if (t < 0 || sp < 0 || H5Tget_class(t) != H5T_STRING || H5Sget_simple_extent_npoints(sp) != 1)
        goto cleanup;
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        mt = H5Tcopy(H5T_C_S1);
        if (mt < 0 || H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Aread(a, mt, &s) < 0 || !s)
            goto cleanup;
        *out = strdup(s);
        H5free_memory(s);
    } else {
        size_t n = H5Tget_size(t);
        if (n == 0 || n > (1u << 30)) goto cleanup;
        mt = str_type(n + 1);
        char *s = calloc(1, n + 2);
        if (mt < 0 || !s || H5Aread(a, mt, s) < 0) {
            free(s);
            goto cleanup;
        }
        *out = s;
    }
    rc = *out ? 0 : -1;
cleanup:
    if (mt >= 0) H5Tclose(mt);
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Aclose(a);
    return rc;
}

/* ---- datasets ---- */

/* An extendable dataset of rows (ncols 0: one-dimensional), chunked by
 * chunk_rows, optionally shuffled and deflated. */
static hid_t make_rows(hid_t loc, const char *name, hid_t ftype, hsize_t ncols, hsize_t chunk_rows,
                       bool compress) {
    int rank = ncols ? 2 : 1;
    hsize_t dims[2] = {0, ncols}, maxd[2] = {H5S_UNLIMITED, ncols}, chunk[2] = {chunk_rows, ncols};
    if (chunk[0] == 0) chunk[0] = 1;
    hid_t sp = H5Screate_simple(rank, dims, maxd), dcpl = H5Pcreate(H5P_DATASET_CREATE), d = -1;
    if (sp < 0 || dcpl < 0 || H5Pset_chunk(dcpl, rank, chunk) < 0) goto cleanup;
    if (compress && (H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, DEFLATE) < 0)) goto cleanup;
    d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
cleanup:
    if (dcpl >= 0) H5Pclose(dcpl);
    if (sp >= 0) H5Sclose(sp);
    return d;
}

/* Generations per chunk of the /pop row datasets: the power of two that
 * makes a chunk about ROW_CHUNK rows (at least one generation), within
 * CHUNK_MAX bytes. */
static uint64_t chunk_gens(uint64_t R, size_t row_bytes) {
    uint64_t g = 1;
    while (2 * g * R <= ROW_CHUNK && 2 * g * R * row_bytes <= CHUNK_MAX)
        g *= 2;
    return g;
}

/* Rows to put in one chunk: chunk_gens generations, or as many rows as
 * CHUNK_MAX holds when a generation is larger. */
static uint64_t chunk_rows(uint64_t R, size_t row_bytes) {
    uint64_t cap = CHUNK_MAX / (row_bytes ? row_bytes : 1);
    if (cap == 0) cap = 1;
    uint64_t n = chunk_gens(R, row_bytes) * R;
    return n < cap ? n : cap;
}

/* Extend ds to row0 + nrows rows and write buf there. */
static int put_rows(hid_t ds, hid_t mtype, uint64_t row0, uint64_t nrows, uint64_t ncols,
                    const void *buf) {
    int rank = ncols ? 2 : 1;
    hsize_t dims[2] = {row0 + nrows, ncols}, start[2] = {row0, 0}, count[2] = {nrows, ncols};
    hid_t fs = -1, ms = -1;
    int rc = -1;
    if (H5Dset_extent(ds, dims) < 0) return -1;
    if (nrows == 0) return 0;
    fs = H5Dget_space(ds);
    ms = H5Screate_simple(rank, count, NULL);
    if (fs < 0 || ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dwrite(ds, mtype, ms, fs, H5P_DEFAULT, buf) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    return rc;
}

/* Read rows [row0, row0 + nrows) of ds into buf. */
static int get_rows(hid_t ds, hid_t mtype, uint64_t row0, uint64_t nrows, uint64_t ncols,
                    void *buf) {
    int rank = ncols ? 2 : 1;
    hsize_t start[2] = {row0, 0}, count[2] = {nrows, ncols};
    if (nrows == 0) return 0;
    hid_t fs = H5Dget_space(ds), ms = H5Screate_simple(rank, count, NULL);
    int rc = -1;
    if (fs < 0 || ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dread(ds, mtype, ms, fs, H5P_DEFAULT, buf) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    return rc;
}

/* Rows (first dimension) of ds, and its number of columns (0 if 1-D). Returns
 * 0 or -1 (also when the rank is not 1 or 2). */
static int ds_dims(hid_t ds, uint64_t *rows, uint64_t *cols) {
    hid_t sp = H5Dget_space(ds);
    if (sp < 0) return -1;
    hsize_t d[2] = {0, 0};
    int rank = H5Sget_simple_extent_ndims(sp);
    int rc = (rank == 1 || rank == 2) && H5Sget_simple_extent_dims(sp, d, NULL) == rank ? 0 : -1;
    H5Sclose(sp);
    *rows = d[0];
    *cols = rank == 2 ? d[1] : 0;
    return rc;
}

/* A scalar fixed-length string dataset, contiguous and allocated now, so that
 * rewriting it later (in SWMR mode) touches only its bytes. */
static hid_t make_str(hid_t loc, const char *name, size_t n, const char *v) {
    hid_t t = str_type(n), sp = H5Screate(H5S_SCALAR), dcpl = H5Pcreate(H5P_DATASET_CREATE), d = -1;
    if (t < 0 || sp < 0 || dcpl < 0 || H5Pset_layout(dcpl, H5D_CONTIGUOUS) < 0 ||
        H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY) < 0)
        goto cleanup;
    d = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d >= 0) {
        char buf[64] = {0};
        snprintf(buf, sizeof buf, "%s", v);
        if (n > sizeof buf || H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
            H5Dclose(d);
            d = -1;
        }
    }
cleanup:
    if (dcpl >= 0) H5Pclose(dcpl);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return d;
}

static int write_str(hid_t d, size_t n, const char *v) {
    char buf[64] = {0};
    if (n > sizeof buf) return -1;
    snprintf(buf, n, "%s", v);
    hid_t t = str_type(n);
    int rc = t < 0 || H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0 ? -1 : 0;
    if (t >= 0) H5Tclose(t);
    return rc;
}

/* The /stats row: evo_stats, field by field (evolve/runfile.h). */
static const struct {
    const char *name;
    size_t off;
    int kind;
} stats_fields[] = {
#define COL(name, type, doc) {#name, offsetof(evo_stats, name), K_##type},
    EVO_STATS_COLUMNS(COL)
#undef COL
};
#define NSTATS (sizeof stats_fields / sizeof *stats_fields)

/* Bytes of a packed /stats row. */
static size_t stats_size(void) {
    size_t size = 0;
    for (size_t i = 0; i < NSTATS; i++)
        size += kind_size(stats_fields[i].kind);
    return size;
}

/* The /stats row type: packed little-endian, in the file and in memory
 * (rows packed by pack_stats; resume copies rows in it as they are). */
static hid_t stats_type(void) {
    hid_t t = H5Tcreate(H5T_COMPOUND, stats_size());
    if (t < 0) return -1;
    size_t off = 0;
    for (size_t i = 0; i < NSTATS; i++) {
        int k = stats_fields[i].kind;
        if (H5Tinsert(t, stats_fields[i].name, off, file_type(k)) < 0) {
            H5Tclose(t);
            return -1;
        }
        off += kind_size(k);
    }
    return t;
}

/* n rows as the file stores them (little-endian like the host): HDF5 then
 * writes them with no conversion, which for a compound type costs more than
 * the rest of a commit. */
static void pack_stats(const evo_stats *st, uint32_t n, uint8_t *out) {
    for (uint32_t r = 0; r < n; r++)
        for (size_t i = 0; i < NSTATS; i++) {
            size_t k = kind_size(stats_fields[i].kind);
            memcpy(out, (const uint8_t *)&st[r] + stats_fields[i].off, k);
            out += k;
        }
}

/* ---- the store object ---- */

static st_store *store_new(const char *path) {
    st_store *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->path = strdup(path);
    s->file = s->src = s->stats = s->wall = s->end_time = s->stop = s->stats_file = -1;
    s->kept_ds = -1;
    s->elite_ds[0] = s->elite_ds[1] = s->elite_ds[2] = -1;
    s->every = 1;
    s->slot[0] = s->slot[1] = -1;
    for (int i = 0; i < NF; i++)
        s->ds[i] = -1;
    s->commit_gens = ST_COMMIT_GENS;
    s->last_commit = mono_now();
    s->z_rate = 2e8;
    s->job_gen = UINT64_MAX;
    if (!s->path) {
        free(s);
        return NULL;
    }
    return s;
}

/* Close the file being written and its handles (not the source). */
static void close_written(st_store *s) {
    for (int i = 0; i < NF; i++)
        hclose(&s->ds[i], H5Dclose);
    hclose(&s->stats, H5Dclose);
    hclose(&s->kept_ds, H5Dclose);
    for (int i = 0; i < 3; i++)
        hclose(&s->elite_ds[i], H5Dclose);
    hclose(&s->wall, H5Dclose);
    hclose(&s->end_time, H5Dclose);
    hclose(&s->stop, H5Dclose);
    hclose(&s->slot[0], H5Dclose);
    hclose(&s->slot[1], H5Dclose);
    hclose(&s->stats_file, H5Tclose);
    hclose(&s->file, H5Fclose);
}

static void close_handles(st_store *s) {
    close_written(s);
    hclose(&s->src, H5Fclose);
}

static void free_case_files(st_store *s);

static void store_free(st_store *s) {
    if (!s) return;
    close_handles(s);
    free_case_files(s);
    for (int i = 0; i < NF; i++)
        free(s->c[i].buf);
    free(s->pend_stats);
    free(s->pend_kept);
    free(s->pend_ecode);
    free(s->pend_eoff);
    free(s->pend_elen);
    free(s->job_err);
    free(s->stats_packed);
    free(s->pend_wall);
    for (size_t i = 0; i < s->ntasks_cap; i++)
        free(s->tasks[i].out);
    free(s->tasks);
    for (int i = 0; i < s->nzt; i++) {
        libdeflate_free_compressor(s->zt[i].c);
        free(s->zt[i].shuf);
    }
    free(s->zt);
    free(s->blob);
    free(s->spec);
    free(s->path);
    free(s);
}

/* Room for bytes in a chunk buffer (keeping its contents). */
static int reserve_col(struct col *c, size_t bytes) {
    return base_grow((void **)&c->buf, &c->cap, bytes, 1, SIZE_MAX);
}

/* Room for n pending generations' statistics. */
static int alloc_pending(st_store *s, uint32_t n) {
    if (n <= s->pend_cap) return 0;
    evo_stats *st = realloc(s->pend_stats, n * sizeof *st);
    if (st) s->pend_stats = st;
    double *w = realloc(s->pend_wall, n * sizeof *w);
    if (w) s->pend_wall = w;
    uint8_t *pk = realloc(s->stats_packed, n * stats_size());
    if (pk) s->stats_packed = pk;
    uint64_t *kg = realloc(s->pend_kept, n * sizeof *kg);
    if (kg) s->pend_kept = kg;
    uint64_t *eo = realloc(s->pend_eoff, n * sizeof *eo);
    if (eo) s->pend_eoff = eo;
    uint32_t *el = realloc(s->pend_elen, n * sizeof *el);
    if (el) s->pend_elen = el;
    if (!st || !w || !pk || !kg || !eo || !el) return -1;
    s->pend_cap = n;
    return 0;
}

/* What the root and /meta attributes say. */
typedef struct {
    const char *spec, *spec_name, *frugal_version, *frugal_commit, *host, *start_time;
    const char *resumed_at;
    uint64_t seed, threads, resumes;
    bool reproducible;
    const st_file *files;
    uint32_t nfiles;
} store_attrs;

/* /cases/<name>: the bytes, chunked and deflated, with the path and the
 * SHA-256 as attributes. */
static int write_case_file(hid_t g, const st_file *f) {
    hsize_t n = f->len, chunk = n < (1u << 20) ? (n ? n : 1) : (1u << 20);
    hid_t sp = H5Screate_simple(1, &n, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE), d = -1;
    int rc = -1;
    if (sp < 0 || dcpl < 0 || H5Pset_chunk(dcpl, 1, &chunk) < 0 ||
        H5Pset_deflate(dcpl, DEFLATE) < 0)
        goto cleanup;
    d = H5Dcreate2(g, f->name, H5T_STD_U8LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0 || (n && H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, f->bytes) < 0))
        goto cleanup;
    if (attr_str(d, "path", f->path ? f->path : "") < 0 ||
        attr_str(d, "sha256", f->sha256 ? f->sha256 : "") < 0 ||
        attr_u64(d, "bytes", H5T_STD_U64LE, f->len) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    if (d >= 0) H5Dclose(d);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (sp >= 0) H5Sclose(sp);
    return rc;
}

/* Read /cases/<name> of src into f (owned strings and bytes): 1 read, 0
 * absent, -1 unreadable. */
static int read_case_file(hid_t src, const char *name, st_file *f) {
    char full[64];
    snprintf(full, sizeof full, "/cases/%s", name);
    if (H5Lexists(src, "/cases", H5P_DEFAULT) <= 0 || H5Lexists(src, full, H5P_DEFAULT) <= 0)
        return 0;
    hid_t d = H5Dopen2(src, full, H5P_DEFAULT);
    if (d < 0) return -1;
    uint64_t rows = 0, cols = 0;
    int rc = -1;
    char *path = NULL, *sha = NULL;
    uint8_t *b = NULL;
    if (ds_dims(d, &rows, &cols) < 0 || cols || rows > SIZE_MAX - 1) goto cleanup;
    b = malloc(rows + 1);
    if (!b || (rows && H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, b) < 0))
        goto cleanup;
    if (read_attr_str(d, "path", &path) != 0 || read_attr_str(d, "sha256", &sha) != 0) goto cleanup;
    b[rows] = 0;
    *f = (st_file){.name = strdup(name), .path = path, .bytes = b, .len = rows, .sha256 = sha};
    if (!f->name) goto cleanup;
    path = sha = NULL;
    b = NULL;
    rc = 1;
cleanup:
    free(path);
    free(sha);
    free(b);
    H5Dclose(d);
    return rc;
}

static void free_case_files(st_store *s) {
    for (uint32_t i = 0; s->own_files && i < s->nfiles; i++) {
        free((char *)s->files[i].name);
        free((char *)s->files[i].path);
        free((uint8_t *)s->files[i].bytes);
        free((char *)s->files[i].sha256);
    }
    s->nfiles = 0;
}

const st_file *st_file_get(const st_store *s, const char *name) {
    for (uint32_t i = 0; s && name && i < s->nfiles; i++)
        if (!strcmp(s->files[i].name, name)) return &s->files[i];
    return NULL;
}

/* Create the whole layout in s->file (attributes, groups, empty datasets),
 * open the handles, then switch to SWMR write mode. */
static int layout_create(st_store *s, const store_attrs *a) {
    hid_t g = -1;
    int rc = -1;
    hid_t root = s->file;
    if (attr_u64(root, "frugal", H5T_STD_U32LE, ST_FORMAT) < 0 ||
        attr_str(root, "frugal_version", a->frugal_version) < 0 ||
        attr_str(root, "frugal_commit", a->frugal_commit) < 0 ||
        attr_str(root, "spec", a->spec) < 0 || attr_str(root, "spec_name", a->spec_name) < 0 ||
        attr_u64(root, "seed", H5T_STD_U64LE, a->seed) < 0)
        goto cleanup;

    /* /pop */
    g = H5Gcreate2(root, "pop", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0 || attr_u64(g, "islands", H5T_STD_U32LE, s->I) < 0 ||
        attr_u64(g, "pop_size", H5T_STD_U32LE, s->N) < 0 ||
        attr_u64(g, "cases", H5T_STD_U32LE, s->nc) < 0 ||
        attr_u64(g, "per_case", H5T_STD_U8LE, s->per_case) < 0 ||
        attr_u64(g, "code_align", H5T_STD_U32LE, s->code_align) < 0 ||
        (s->every != 1 && attr_u64(g, "every", H5T_STD_U32LE, s->every) < 0))
        goto cleanup;
    for (int i = 0; i < NF; i++) {
        if (i == F_errors && !s->per_case) continue;
        struct col *c = &s->c[i];
        c->unit = kind_size(fields[i].kind) * (i == F_errors ? s->nc : 1);
        c->crows = i == F_code ? s->code_align : chunk_rows(s->R, c->unit);
        c->base = c->fill = c->extent = 0;
        c->tail_written = false;
        c->tail_fill = 0;
        if (reserve_col(c, (size_t)(c->crows * c->unit)) < 0) goto cleanup;
        s->ds[i] = make_rows(g, fields[i].name, file_type(fields[i].kind),
                             i == F_errors ? s->nc : 0, c->crows, true);
        if (s->ds[i] < 0) goto cleanup;
    }
    H5Gclose(g);

    if (s->every != 1) {
        s->kept_ds = make_rows(root, "pop_generations", H5T_STD_U64LE, 0, STATS_CHUNK, false);
        if (s->kept_ds < 0) goto cleanup;
    }

    /* /elite */
    if (s->elite) {
        g = H5Gcreate2(root, "elite", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) goto cleanup;
        s->elite_ds[E_offset] = make_rows(g, "code_offset", H5T_STD_U64LE, 0, STATS_CHUNK, false);
        s->elite_ds[E_length] = make_rows(g, "length", H5T_STD_U32LE, 0, STATS_CHUNK, false);
        s->elite_ds[E_code] = make_rows(g, "code", H5T_STD_U8LE, 0, ELITE_CHUNK, false);
        H5Gclose(g);
        g = -1;
        for (int i = 0; i < 3; i++)
            if (s->elite_ds[i] < 0) goto cleanup;
    }

    /* /stats */
    s->stats_file = stats_type();
    if (s->stats_file < 0) goto cleanup;
    s->stats = make_rows(root, "stats", s->stats_file, 0, STATS_CHUNK, false);
    if (s->stats < 0) goto cleanup;

    /* /stop_reason */
    s->stop = make_str(root, "stop_reason", STR_STOP, "none");
    if (s->stop < 0) goto cleanup;

    /* /checkpoint */
    g = H5Gcreate2(root, "checkpoint", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) goto cleanup;
    s->slot[0] = make_rows(g, "slot0", H5T_STD_U8LE, 0, CK_CHUNK, false);
    s->slot[1] = make_rows(g, "slot1", H5T_STD_U8LE, 0, CK_CHUNK, false);
    if (s->slot[0] < 0 || s->slot[1] < 0) goto cleanup;
    H5Gclose(g);

    /* /cases: a data task's files */
    if (a->nfiles) {
        g = H5Gcreate2(root, "cases", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) goto cleanup;
        for (uint32_t i = 0; i < a->nfiles; i++)
            if (write_case_file(g, &a->files[i]) < 0) goto cleanup;
        H5Gclose(g);
        g = -1;
    }

    /* /meta */
    g = H5Gcreate2(root, "meta", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0 || attr_str(g, "host", a->host) < 0 ||
        attr_u64(g, "threads", H5T_STD_U32LE, a->threads) < 0 ||
        attr_str(g, "start_time", a->start_time) < 0 ||
        attr_u64(g, "reproducible", H5T_STD_U8LE, a->reproducible) < 0 ||
        attr_u64(g, "resumes", H5T_STD_U32LE, a->resumes) < 0 ||
        (a->resumed_at && attr_str(g, "resumed_at", a->resumed_at) < 0))
        goto cleanup;
    s->wall = make_rows(g, "wall_seconds", H5T_IEEE_F64LE, 0, STATS_CHUNK, false);
    s->end_time = make_str(g, "end_time", STR_TIME, "");
    if (s->wall < 0 || s->end_time < 0) goto cleanup;
    H5Gclose(g);
    g = -1;

    if (H5Fstart_swmr_write(s->file) < 0) goto cleanup;
    rc = 0;
cleanup:
    if (g >= 0) H5Gclose(g);
    return rc;
}

/* glibc returns freed memory at the top of the heap to the kernel at once
 * (trim threshold 128 KiB), and HDF5 frees and reallocates large buffers on
 * every write: each generation then pays for fresh zeroed pages. A top pad
 * keeps 64 MiB in the heap instead (measured: a third of the store's time at
 * population 1000). Process-wide, set once. */
static void tune_malloc(void) {
    static bool done;
    if (!done) mallopt(M_TOP_PAD, 64 << 20);
    done = true;
}

static hid_t latest_fapl(void) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) < 0) {
        H5Pclose(fapl);
        return -1;
    }
    return fapl;
}

static void host_name(char *buf, size_t cap) {
    if (gethostname(buf, cap) != 0) snprintf(buf, cap, "unknown");
    buf[cap - 1] = 0;
}

/* Rename tmp to path; without replace, fail with EEXIST when path exists
 * (atomically where the file system can, else by link and unlink). */
static int publish(const char *tmp, const char *path, bool replace) {
    if (replace) return rename(tmp, path);
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return -1;
    if (link(tmp, path) != 0) return -1;
    return unlink(tmp);
}

st_store *st_create(const char *path, const st_opts *o, const evo_run *r, char *err,
                    size_t errcap) {
    quiet();
    tune_malloc();
    st_store *s = NULL;
    hid_t fapl = -1;
    char *tmp = NULL;
    if (!path || !o || !r) {
        base_errf_at(err, errcap, path, "st_create: missing argument");
        return NULL;
    }
    if (evo_run_started(r) && evo_run_generation(r) > 0) {
        base_errf_at(err, errcap, path,
                     "the run is already at generation %llu (create the store first)",
                     (unsigned long long)evo_run_generation(r));
        return NULL;
    }
    struct stat st;
    if (!o->force && stat(path, &st) == 0) {
        base_errf_at(err, errcap, path, "already exists (use --force to replace it)");
        return NULL;
    }
    s = store_new(path);
    if (!s) {
        base_errf_at(err, errcap, path, "out of memory");
        return NULL;
    }
    const evo_params *p = evo_run_params(r);
    s->I = p->islands;
    s->N = p->pop_size;
    s->nc = evo_run_task(r)->train.n;
    s->R = (uint64_t)s->I * s->N;
    s->per_case = o->per_case && s->nc > 0;
    s->every = o->every == ST_FINAL ? 0 : o->every ? o->every : 1;
    s->elite = s->every != 1;
    s->code_align = CODE_CHUNK;
    if (alloc_pending(s, 1) < 0) {
        base_errf_at(err, errcap, path, "out of memory");
        goto fail;
    }
    /* The file is made under a temporary name and renamed into place once
     * it is complete, so that a kill while creating it leaves no half-made
     * file at path (and --force replaces an old file atomically). */
    size_t plen = strlen(path);
    tmp = malloc(plen + 16);
    if (!tmp) {
        base_errf_at(err, errcap, path, "out of memory");
        goto fail;
    }
    snprintf(tmp, plen + 16, "%s.create-tmp", path);
    fapl = latest_fapl();
    if (fapl < 0) goto h5fail;
    s->file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (s->file < 0) {
        base_errf_at(err, errcap, path, "cannot create %s (%s)", tmp,
                     strerror(errno ? errno : EIO));
        goto fail;
    }
    char host[256], start[STR_TIME];
    host_name(host, sizeof host);
    now_utc(start, sizeof start);
    store_attrs a = {.spec = o->spec_json ? o->spec_json : "{}",
                     .spec_name = o->spec_name ? o->spec_name : "",
                     .frugal_version = FRUGAL_VERSION,
                     .frugal_commit = FRUGAL_COMMIT,
                     .host = host,
                     .start_time = start,
                     .seed = p->seed,
                     .threads = o->threads,
                     .reproducible = evo_run_reproducible(r),
                     .files = o->files,
                     .nfiles = o->nfiles > ST_MAX_FILES ? ST_MAX_FILES : o->nfiles};
    if (layout_create(s, &a) < 0 || H5Fflush(s->file, H5F_SCOPE_GLOBAL) < 0) goto h5fail;
    if (publish(tmp, path, o->force) < 0) {
        if (errno == EEXIST)
            base_errf_at(err, errcap, path, "already exists (use --force to replace it)");
        else
            base_errf_at(err, errcap, path, "cannot create the file (%s)", strerror(errno));
        goto fail;
    }
    free(tmp);
    return s;
h5fail:
    base_errf_at(err, errcap, path, "HDF5 error while creating the file");
fail:
    store_free(s);
    if (tmp) unlink(tmp);
    free(tmp);
    return NULL;
}

/* Write n bytes at byte offset off of a 1-D uint8 dataset (within its extent). */
static int write_at(hid_t ds, uint64_t off, uint64_t n, const void *buf) {
    hsize_t start[1] = {off}, count[1] = {n};
    hid_t fs = H5Dget_space(ds), ms = H5Screate_simple(1, count, NULL);
    int rc = -1;
    if (fs >= 0 && ms >= 0 &&
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
        H5Dwrite(ds, H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, buf) >= 0)
        rc = 0;
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    return rc;
}

/* Write the checkpoint blob into slot k: [length, 8 bytes LE][blob]. */
static int write_slot(st_store *s, int k, const uint8_t *blob, size_t len, uint64_t gen) {
    size_t n = len + 8;
    uint8_t hdr[8];
    base_le_put(hdr, len, 8);
    int rc = -1;
    hsize_t dims[1] = {n > s->slot_cap[k] ? n : s->slot_cap[k]};
    if (dims[0] != s->slot_cap[k]) {
        if (H5Dset_extent(s->slot[k], dims) < 0) goto cleanup;
        s->slot_cap[k] = dims[0];
    }
    HOOK(HOOK_CK_EXTENT, gen);
    if (write_at(s->slot[k], 8, len, blob) < 0 || write_at(s->slot[k], 0, 8, hdr) < 0) goto cleanup;
    rc = 0;
cleanup:
    return rc;
}

/* Gather the population of r after the rows and code in the chunk buffers.
 * Returns 0 or -1 (out of memory). */
static int gather(st_store *s, const evo_run *r) {
    uint64_t codelen = 0;
    for (uint32_t k = 0; k < s->I; k++) {
        evo_pop_view v;
        evo_run_island(r, k, &v);
        for (uint32_t i = 0; i < v.n; i++)
            codelen += v.len[i];
    }
    size_t row_bytes = 0;
    for (int i = 0; i < NF; i++) {
        struct col *c = &s->c[i];
        if (s->ds[i] < 0) continue;
        uint64_t add = i == F_code ? codelen : s->R;
        if (reserve_col(c, (size_t)((c->fill + add) * c->unit)) < 0) return -1;
        if (i != F_code) row_bytes += c->unit;
    }
    struct col *cc = &s->c[F_code];
    uint8_t *code = cc->buf + cc->fill;
    uint64_t off = cc->base + cc->fill; /* where the next genome goes in /pop/code */
    for (uint32_t k = 0; k < s->I; k++) {
        evo_pop_view v;
        evo_run_island(r, k, &v);
        size_t n = s->N;
#define AT(f) (s->c[f].buf + (s->c[f].fill + (uint64_t)k * s->N) * s->c[f].unit)
        memcpy(AT(F_fitness), v.fitness, n * 8);
        memcpy(AT(F_error), v.error, n * 8);
        memcpy(AT(F_gas), v.gas, n * 8);
        memcpy(AT(F_memtime), v.memtime, n * 8);
        uint8_t *st = AT(F_status);
        for (size_t i = 0; i < n; i++) /* statuses are below 256 */
            st[i] = (uint8_t)v.status[i];
        memcpy(AT(F_length), v.len, n * 4);
        memcpy(AT(F_hits), v.hits, n * 4);
        memcpy(AT(F_parent_a), v.parent_a, n * 4);
        memcpy(AT(F_parent_b), v.parent_b, n * 4);
        memcpy(AT(F_ops), v.ops, n * 4);
        if (s->per_case) memcpy(AT(F_errors), v.errors, n * s->nc * 8);
        uint8_t *co = AT(F_code_offset);
#undef AT
        for (uint32_t i = 0; i < v.n; i++) {
            uint32_t len = v.len[i];
            memcpy(co + (size_t)i * 8, &off, 8);
            memcpy(code, v.code + (size_t)i * v.stride, len);
            code += len;
            off += len;
        }
    }
    for (int i = 0; i < NF; i++)
        if (s->ds[i] >= 0) s->c[i].fill += i == F_code ? codelen : s->R;
    s->pend_bytes += codelen + s->R * row_bytes;
    return 0;
}

/* ---- direct chunk writes ---- */

/* HDF5's shuffle filter: byte j of element i goes to j * n + i. */
static void shuffle(uint8_t *dst, const uint8_t *src, size_t n, size_t es) {
    for (size_t j = 0; j < es; j++)
        for (size_t i = 0; i < n; i++)
            dst[j * n + i] = src[i * es + j];
}

/* ---- a partly filled chunk, deflated at the speed of a copy ----
 *
 * Shuffled, a chunk whose rows end early is, in each byte plane, the planes's
 * filled bytes then zeros. deflate_tail writes that as a zlib stream of
 * stored blocks (the filled bytes) and fixed-Huffman blocks that repeat a
 * zero (RFC 1950, 1951): libdeflate takes about 2.5 ns a byte even on zeros,
 * more than writing them raw, and a raw partial chunk is mostly zeros. */

struct bits {
    uint8_t *p;
    uint64_t acc;
    int n;
};

/* n bits of v, least significant first (deflate's bit order) */
static void put_bits(struct bits *b, uint32_t v, int n) {
    b->acc |= (uint64_t)v << b->n;
    for (b->n += n; b->n >= 8; b->n -= 8) {
        *b->p++ = (uint8_t)b->acc;
        b->acc >>= 8;
    }
}

/* a Huffman code of n bits, most significant first */
static void put_code(struct bits *b, uint32_t code, int n) {
    uint32_t r = 0;
    for (int i = 0; i < n; i++)
        r |= ((code >> i) & 1u) << (n - 1 - i);
    put_bits(b, r, n);
}

/* Stored blocks of k bytes taken every stride bytes from d; *adler goes on
 * over them. */
static void put_stored(struct bits *b, const uint8_t *d, size_t k, size_t stride, bool last,
                       uint32_t *adler) {
    do {
        size_t m = k < 65535 ? k : 65535;
        k -= m;
        put_bits(b, last && k == 0, 1);
        put_bits(b, 0, 2); /* BTYPE 00: stored */
        if (b->n) put_bits(b, 0, 8 - b->n);
        put_bits(b, (uint32_t)m, 16);
        put_bits(b, (uint32_t)m ^ 0xffffu, 16);
        if (stride == 1)
            memcpy(b->p, d, m);
        else
            for (size_t i = 0; i < m; i++)
                b->p[i] = d[i * stride];
        *adler = libdeflate_adler32(*adler, b->p, m);
        b->p += m;
        d += m * stride;
    } while (k);
}

/* z > 0 zeros: a literal zero, then copies of the byte before (distance 1)
 * of up to 258 bytes, in one fixed-Huffman block. */
static void put_zeros(struct bits *b, size_t z, bool last) {
    static const uint16_t base[29] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                      15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                      67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const uint8_t extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    put_bits(b, last, 1);
    put_bits(b, 1, 2);    /* BTYPE 01: fixed Huffman codes */
    put_code(b, 0x30, 8); /* literal 0 */
    for (z--; z >= 3;) {
        size_t len = z < 258 ? z : 258;
        int k = 28;
        while (base[k] > len)
            k--;
        unsigned sym = 257u + (unsigned)k;
        if (sym <= 279)
            put_code(b, sym - 256, 7);
        else
            put_code(b, 0xc0 + sym - 280, 8);
        put_bits(b, (uint32_t)(len - base[k]), extra[k]);
        put_code(b, 0, 5); /* distance 1 */
        z -= len;
    }
    for (; z; z--)
        put_code(b, 0x30, 8);
    put_code(b, 0, 7); /* end of block */
}

/* Adler-32 after z more zeros: the sum of bytes stays, the sum of sums grows
 * by z times it. */
static uint32_t adler_zeros(uint32_t a, size_t z) {
    uint64_t s1 = a & 0xffffu, s2 = a >> 16;
    s2 = (s2 + (z % 65521u) * s1) % 65521u;
    return (uint32_t)(s2 << 16 | s1);
}

/* The most deflate_tail writes for t. */
static size_t tail_bound(const struct ztask *t) {
    size_t m = t->n / t->esize, f = t->fill / t->esize;
    return 6 + t->esize * (f + 5 * (f / 65535 + 1) + 1 + 3 * (m / 258 + 2) + 4);
}

/* t as shuffle + deflate would store it, into t->out (room: tail_bound). */
static void deflate_tail(struct ztask *t) {
    size_t e = t->esize, m = t->n / e, f = t->fill / e;
    struct bits b = {t->out, 0, 0};
    uint32_t adler = 1;
    put_bits(&b, 0x78, 8); /* zlib: deflate, 32 KiB window; no dictionary */
    put_bits(&b, 0x01, 8);
    for (size_t j = 0; j < e; j++) { /* plane j: byte j of every element */
        if (f) put_stored(&b, t->in + j, f, e, f == m && j == e - 1, &adler);
        if (f < m) put_zeros(&b, m - f, j == e - 1);
        adler = adler_zeros(adler, m - f);
    }
    if (b.n) put_bits(&b, 0, 8 - b.n);
    for (int i = 3; i >= 0; i--)
        *b.p++ = (uint8_t)(adler >> (8 * i));
    t->out_len = (size_t)(b.p - t->out);
}

/* Compress one chunk as the shuffle + deflate filters would: a zlib stream
 * (libdeflate writes the same format as H5Z's deflate filter, faster). */
static void compress_task(struct zthread *zt, struct ztask *t) {
    t->fail = 1;
    t->seconds = 0;
    if (!t->level) { /* raw: put_chunk skips both filters */
        t->fail = 0;
        return;
    }
    double t0 = mono_now(); /* on this thread alone: CPU time */
    if (t->level == TAIL) {
        size_t bound = tail_bound(t);
        if (t->out_cap < bound) {
            uint8_t *b = realloc(t->out, bound);
            if (!b) return;
            t->out = b;
            t->out_cap = bound;
        }
        deflate_tail(t);
        t->seconds = mono_now() - t0;
        t->fail = 0;
        return;
    }
    if (!zt->c && !(zt->c = libdeflate_alloc_compressor(DEFLATE))) return;
    const uint8_t *src = t->in;
    if (t->esize > 1) {
        if (zt->shuf_cap < t->n) {
            uint8_t *b = realloc(zt->shuf, t->n);
            if (!b) return;
            zt->shuf = b;
            zt->shuf_cap = t->n;
        }
        shuffle(zt->shuf, t->in, t->n / t->esize, t->esize);
        src = zt->shuf;
    }
    size_t bound = libdeflate_zlib_compress_bound(zt->c, t->n);
    if (t->out_cap < bound) {
        uint8_t *b = realloc(t->out, bound);
        if (!b) return;
        t->out = b;
        t->out_cap = bound;
    }
    t->out_len = libdeflate_zlib_compress(zt->c, src, t->n, t->out, t->out_cap);
    t->seconds = mono_now() - t0;
    t->fail = t->out_len == 0;
}

static int reserve_tasks(st_store *s, size_t n) {
    if (n > s->ntasks_cap) {
        struct ztask *t = realloc(s->tasks, n * sizeof *t);
        if (!t) return -1;
        memset(t + s->ntasks_cap, 0, (n - s->ntasks_cap) * sizeof *t);
        s->tasks = t;
        s->ntasks_cap = n;
    }
    int nt = omp_get_max_threads();
    if (nt > s->nzt) {
        struct zthread *z = realloc(s->zt, (size_t)nt * sizeof *z);
        if (!z) return -1;
        memset(z + s->nzt, 0, (size_t)(nt - s->nzt) * sizeof *z);
        s->zt = z;
        s->nzt = nt;
    }
    return 0;
}

/* Compress tasks [0, n) on the OpenMP threads (no HDF5 call in there),
 * deflating (in task order) as many as the budget allows: Z_SHARE of the
 * CPU time spent making generations, less what compressing took so far. */
static int compress_all(st_store *s, size_t n) {
    int fail = 0, nzt = omp_in_parallel() ? 1 : s->nzt; /* in st_job: alone */
    double allow = Z_SHARE * s->gen_spent - s->z_spent, est = 0;
    for (size_t i = 0; i < n; i++) {
        struct ztask *t = &s->tasks[i];
        double cost = (double)t->n / s->z_rate;
        t->level = t->raw ? 0 : est + cost <= allow ? DEFLATE : t->fill < t->n ? TAIL : 0;
        if (t->level == DEFLATE) est += cost;
    }
    double busy = 0;
    size_t bytes = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nzt) reduction(| : fail)
    for (size_t i = 0; i < n; i++) {
        int t = omp_get_thread_num();
        compress_task(&s->zt[t < nzt ? t : 0], &s->tasks[i]);
        fail |= s->tasks[i].fail;
    }
    double zbusy = 0;
    for (size_t i = 0; i < n; i++) {
        busy += s->tasks[i].seconds;
        if (s->tasks[i].level == DEFLATE) {
            zbusy += s->tasks[i].seconds;
            bytes += s->tasks[i].n;
        }
    }
    s->z_spent += busy;
    if (bytes >= 65536 && zbusy > 0) s->z_rate = (double)bytes / zbusy;
    return fail ? -1 : 0;
}

/* Extend ds to rows rows (of ncols columns; 0: one-dimensional). */
static int set_rows(hid_t ds, uint64_t rows, uint64_t ncols) {
    hsize_t dims[2] = {rows, ncols};
    return H5Dset_extent(ds, dims) < 0 ? -1 : 0;
}

/* Write chunk t at row0 (within the extent): compressed, or raw with its
 * filter mask saying that shuffle (filter 0) and deflate (1) were skipped,
 * which every HDF5 reader honours. Raw bytes are the host's, little-endian
 * like the file types. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "raw chunks are written as in memory");
static int put_chunk(hid_t ds, uint64_t row0, const struct ztask *t) {
    hsize_t off[2] = {row0, 0};
    if (!t->level) return H5Dwrite_chunk(ds, H5P_DEFAULT, 3u, off, t->n, t->in) < 0 ? -1 : 0;
    return H5Dwrite_chunk(ds, H5P_DEFAULT, 0, off, t->out_len, t->out) < 0 ? -1 : 0;
}

/* Write every full chunk gathered (compressed within the budget; raw if part
 * of it is in the file already), and with partial, also the partly filled
 * chunks (raw, at full size; compressed within the budget when final, as
 * nothing follows them). Extends every dataset to the rows gathered first.
 * Returns 0, -1 on an HDF5 error, -2 out of memory. */
static int write_chunks(st_store *s, bool partial, bool final, uint64_t g) {
    size_t nt = 0, need = 0;
    for (int i = 0; i < NF; i++)
        if (s->ds[i] >= 0) need += (size_t)(s->c[i].fill / s->c[i].crows) + 1;
    if (reserve_tasks(s, need) < 0) return -2;
    /* when the budget is short, the datasets that save the most bytes per
     * second of deflate come first (measured on the quartic: code, hits,
     * gas and code offsets about 0.3 bytes per ns; the doubles 0.05) */
    static const int order[NF] = {F_code,   F_hits,    F_gas,   F_code_offset, F_memtime,
                                  F_length, F_status,  F_ops,   F_parent_a,    F_parent_b,
                                  F_error,  F_fitness, F_errors};
    size_t first[NF], count[NF];
    for (int o = 0; o < NF; o++) {
        int i = order[o];
        struct col *c = &s->c[i];
        first[i] = nt;
        count[i] = 0;
        if (s->ds[i] < 0) continue;
        uint64_t nfull = c->fill / c->crows, rest = c->fill - nfull * c->crows;
        size_t bytes = (size_t)(c->crows * c->unit);
        if (reserve_col(c, (size_t)(nfull + 1) * bytes) < 0) return -2;
        for (uint64_t k = 0; k <= nfull; k++) {
            if (k == nfull &&
                (!partial || rest == 0 || (nfull == 0 && c->tail_written && rest == c->tail_fill)))
                break; /* nothing, or a tail in the file already, unchanged */
            struct ztask *t = &s->tasks[nt++];
            t->in = c->buf + k * bytes;
            t->esize = i == F_code ? 1 : kind_size(fields[i].kind);
            t->n = bytes;
            t->fill = k == nfull ? (size_t)(rest * c->unit) : bytes;
            /* a partial chunk is written raw at full size, so that it can be
             * rewritten in place, except at generation 0's commit: there it
             * is small, and compressed it leaves little behind when rewritten */
            t->raw = (k == 0 && c->tail_written) || (k == nfull && !final && s->ngen > 0);
            if (k == nfull) /* the tail of a partial chunk */
                memset(c->buf + k * bytes + rest * c->unit, 0, bytes - (size_t)(rest * c->unit));
            count[i]++;
        }
    }
    if (nt == 0 && !partial) return 0;
    if (nt && compress_all(s, nt) < 0) return -2;
    for (int i = 0; i < NF; i++) {
        struct col *c = &s->c[i];
        if (s->ds[i] < 0) continue;
        uint64_t end = c->base + c->fill, cols = i == F_errors ? s->nc : 0;
        if (c->extent != end && (count[i] || partial)) {
            if (set_rows(s->ds[i], end, cols) < 0) return -1;
            c->extent = end;
        }
        bool tail_raw = false;
        for (size_t k = 0; k < count[i]; k++) {
            const struct ztask *t = &s->tasks[first[i] + k];
            struct ztask w = *t; /* raw when deflate did not make it smaller */
            if (w.level && w.out_len >= w.n) w.level = 0;
            if (put_chunk(s->ds[i], c->base + k * c->crows, &w) < 0) return -1;
            tail_raw = !w.level;
        }
        uint64_t nfull = c->fill / c->crows;
        if (nfull) {
            uint64_t rest = c->fill - nfull * c->crows;
            memmove(c->buf, c->buf + nfull * c->crows * c->unit, (size_t)(rest * c->unit));
            c->base += nfull * c->crows;
            c->fill = rest;
            c->tail_written = false;
        }
        if (partial && c->fill && count[i]) { /* the last chunk written is the tail */
            c->tail_written = tail_raw;
            c->tail_fill = c->fill;
        }
        if (partial && i == F_memtime && g != UINT64_MAX) HOOK(HOOK_FIELDS, g);
    }
    return 0;
}

/* Write the pending generations (their rows, code, /stats), flush, then the
 * checkpoint of r (the last pending generation) into the older slot, flush.
 * Hook points carry the last pending generation. */
static int commit(st_store *s, const evo_run *r, char *err, size_t errcap) {
    if (s->npend == 0) return 0;
    uint32_t np = s->npend;
    uint64_t g = s->ngen + np - 1;
    uint8_t *blob = NULL;
    int wc = write_chunks(s, true, evo_run_stopped(r) != EVO_STOP_NONE, g);
    if (wc == -2) {
        base_errf_at(err, errcap, s->path, "out of memory (compression)");
        return -1;
    }
    if (wc < 0) goto h5fail;
    if (s->npend_kept &&
        put_rows(s->kept_ds, H5T_NATIVE_UINT64, s->nkept, s->npend_kept, 0, s->pend_kept) < 0)
        goto h5fail;
    pack_stats(s->pend_stats, np, s->stats_packed);
    if (put_rows(s->stats, s->stats_file, s->ngen, np, 0, s->stats_packed) < 0) goto h5fail;
    if (put_rows(s->wall, H5T_NATIVE_DOUBLE, s->ngen, np, 0, s->pend_wall) < 0) goto h5fail;
    if (s->elite &&
        (put_rows(s->elite_ds[E_code], H5T_NATIVE_UINT8, s->elite_bytes, s->pend_ecode_len, 0,
                  s->pend_ecode) < 0 ||
         put_rows(s->elite_ds[E_offset], H5T_NATIVE_UINT64, s->ngen, np, 0, s->pend_eoff) < 0 ||
         put_rows(s->elite_ds[E_length], H5T_NATIVE_UINT32, s->ngen, np, 0, s->pend_elen) < 0))
        goto h5fail;
    HOOK(HOOK_ROWS, g);
    if (H5Fflush(s->file, H5F_SCOPE_GLOBAL) < 0) goto h5fail;
    HOOK(HOOK_FLUSHED, g);
    size_t blen = 0;
    if (evo_run_save_state(r, &blob, &blen) < 0) {
        base_errf_at(err, errcap, s->path, "out of memory (checkpoint)");
        return -1;
    }
    if (write_slot(s, s->next_slot, blob, blen, g) < 0) goto h5fail;
    free(blob);
    blob = NULL;
    HOOK(HOOK_CK_WRITTEN, g);
    if (H5Fflush(s->file, H5F_SCOPE_GLOBAL) < 0) goto h5fail;
    s->next_slot ^= 1;
    s->pend_bytes = 0;
    s->ngen = g + 1;
    s->npend = 0;
    s->nkept += s->npend_kept;
    s->npend_kept = 0;
    s->elite_bytes += s->pend_ecode_len;
    s->pend_ecode_len = 0;
    s->last_commit = mono_now();
    HOOK(HOOK_DONE, g);
    return 0;
h5fail:
    free(blob);
    base_errf_at(err, errcap, s->path, "HDF5 error while writing generation %llu",
                 (unsigned long long)g);
    return -1;
}

/* The best genome of r's generation (st: its statistics) joins the pending
 * /elite rows, as pending generation s->npend. Returns 0 or -1 (memory). */
static int elite_push(st_store *s, const evo_run *r, const evo_stats *st) {
    evo_pop_view v;
    evo_run_island(r, st->best_island < s->I ? st->best_island : 0, &v);
    uint32_t i = st->best_slot < v.n ? st->best_slot : 0, len = v.len[i];
    if (base_grow((void **)&s->pend_ecode, &s->pend_ecode_cap, s->pend_ecode_len + len + 1, 1,
                  SIZE_MAX) < 0)
        return -1;
    memcpy(s->pend_ecode + s->pend_ecode_len, v.code + (size_t)i * v.stride, len);
    s->pend_eoff[s->npend] = s->elite_bytes + s->pend_ecode_len;
    s->pend_elen[s->npend] = len;
    s->pend_ecode_len += len;
    s->pend_bytes += len + 12;
    return 0;
}

/* Store generation g of r, gathered now: its rows and /stats row, then a
 * commit if commit, else the chunks that filled. */
static int store_gen(st_store *s, const evo_run *r, uint64_t g, double wall, bool keep,
                     bool commit_now, char *err, size_t errcap) {
    HOOK(HOOK_START, g);
    if (s->npend == s->pend_cap && alloc_pending(s, s->pend_cap ? 2 * s->pend_cap : 1) < 0) {
        base_errf_at(err, errcap, s->path, "out of memory");
        return -1;
    }
    if ((keep && gather(s, r) < 0) || evo_run_stats(r, &s->pend_stats[s->npend]) < 0 ||
        (s->elite && elite_push(s, r, &s->pend_stats[s->npend]) < 0)) {
        base_errf_at(err, errcap, s->path, "out of memory");
        return -1;
    }
    if (keep && s->every != 1) s->pend_kept[s->npend_kept++] = g;
    s->pend_wall[s->npend++] = wall;
    s->gen_spent += wall > 0 ? wall * s->step_threads : 0;
    if (commit_now) return commit(s, r, err, errcap);
    int wc = write_chunks(s, false, false, g); /* the chunks that filled */
    if (wc == -2) base_errf_at(err, errcap, s->path, "out of memory (compression)");
    if (wc == -1)
        base_errf_at(err, errcap, s->path, "HDF5 error while writing generation %llu",
                     (unsigned long long)g);
    return wc < 0 ? -1 : 0;
}

/* Report the last job's error, or store (and commit, if due) the generation
 * left to the job if r still has it. Returns 0 or -1. */
static int catch_up(st_store *s, const evo_run *r, char *err, size_t errcap) {
    if (s->job_err) { /* it names the file already */
        if (err && errcap) snprintf(err, errcap, "%s", s->job_err);
        return -1;
    }
    if (s->job_gen == UINT64_MAX) return 0;
    uint64_t g = s->job_gen;
    if (r != s->job_run || !evo_run_started(r) || evo_run_generation(r) != g) {
        base_errf_at(err, errcap, s->path,
                     "generation %llu was not stored: with overlapped appends, step the run with "
                     "evo_run_step_with(run, st_job, store)",
                     (unsigned long long)g);
        return -1;
    }
    s->job_gen = UINT64_MAX;
    return store_gen(s, r, g, s->job_wall, s->job_keep, s->job_commit, err, errcap);
}

void st_job(void *store) {
    st_store *s = store;
    if (!s || s->job_gen == UINT64_MAX || s->job_err) return;
    char err[512] = "";
    double t0 = mono_now();
    quiet();
    /* in the step after the generation, the run still has it */
    if (catch_up(s, s->job_run, err, sizeof err) < 0) s->job_err = strdup(err);
    s->job_seconds += mono_now() - t0;
}

double st_job_seconds(const st_store *s) {
    return s ? s->job_seconds : 0;
}

void st_set_overlap(st_store *s, bool on) {
    if (s) s->overlap = on;
}

int st_flush(st_store *s, const evo_run *r, char *err, size_t errcap) {
    if (!s || s->file < 0) return 0;
    if (!r) {
        base_errf_at(err, errcap, s->path, "st_flush: missing run");
        return -1;
    }
    quiet();
    if (catch_up(s, r, err, errcap) < 0) return -1;
    return s->npend ? commit(s, r, err, errcap) : 0;
}

void st_set_commit(st_store *s, double seconds, uint32_t generations) {
    if (!s) return;
    s->commit_seconds = seconds > 0 ? seconds : 0;
    s->commit_gens = generations ? generations : ST_COMMIT_GENS;
}

int st_append(st_store *s, const evo_run *r, double wall_seconds, char *err, size_t errcap) {
    quiet();
    if (!s || !r) {
        base_errf_at(err, errcap, s ? s->path : "(store)", "st_append: missing argument");
        return -1;
    }
    if (s->file < 0) {
        base_errf_at(err, errcap, s->path, "not open for writing (restore it first)");
        return -1;
    }
    if (!evo_run_started(r)) {
        base_errf_at(err, errcap, s->path, "the run has no generation yet");
        return -1;
    }
    const evo_params *p = evo_run_params(r);
    if (p->islands != s->I || p->pop_size != s->N || evo_run_task(r)->train.n != s->nc) {
        base_errf_at(err, errcap, s->path,
                     "the run's islands, population or cases differ from the file's");
        return -1;
    }
    uint64_t g = evo_run_generation(r);
    if (s->job_gen != UINT64_MAX && g == s->job_gen) return 0; /* already appended */
    s->step_threads = p->threads ? p->threads : (uint32_t)omp_get_max_threads();
    if (catch_up(s, r, err, errcap) < 0) return -1;
    uint64_t have = s->ngen + s->npend;
    if (have > 0 && g == have - 1) return 0; /* already stored */
    if (g != have) {
        base_errf_at(err, errcap, s->path, "generation %llu does not follow the %llu stored",
                     (unsigned long long)g, (unsigned long long)have);
        return -1;
    }
    /* group commit: at the first generation, after commit_seconds, after
     * commit_gens generations, and when the run has stopped */
    /* with commit_seconds > 0, a commit due to time waits for the end of a
     * chunk, which is then written once, compressed (chunk_gens is a power of
     * two, so the end of a chunk of the widest rows ends those of every row
     * dataset) */
    bool keep = evo_run_stopped(r) || (s->every && g % s->every == 0);
    uint64_t kept = s->nkept + s->npend_kept + keep; /* generations in /pop after g */
    bool boundary = !keep || kept % chunk_gens(s->R, 8) == 0;
    bool due = s->ngen == 0 || s->npend + 1 >= s->commit_gens || evo_run_stopped(r) ||
               s->pend_bytes >= COMMIT_BYTES || s->commit_seconds <= 0 ||
               (boundary && mono_now() - s->last_commit >= s->commit_seconds);
    if (s->overlap && !evo_run_stopped(r)) { /* left to st_job, in the next step */
        s->job_gen = g;
        s->job_run = r;
        s->job_wall = wall_seconds;
        s->job_commit = due;
        s->job_keep = keep;
        return 0;
    }
    return store_gen(s, r, g, wall_seconds, keep, due, err, errcap);
}

uint64_t st_generations(const st_store *s) {
    return s ? s->ngen : 0;
}

int st_close(st_store *s, const evo_run *r, char *err, size_t errcap) {
    if (!s) return 0;
    quiet();
    int rc = 0;
    if (s->file >= 0 && (s->npend || s->job_gen != UINT64_MAX) &&
        (!r || st_flush(s, r, err, errcap) < 0)) {
        if (!r) base_errf_at(err, errcap, s->path, "generations not written: no run to checkpoint");
        rc = -1;
    }
    if (s->file >= 0) {
        char end[STR_TIME];
        now_utc(end, sizeof end);
        const char *why = r ? evo_stop_name(evo_run_stopped(r)) : "none";
        if (write_str(s->stop, STR_STOP, why) < 0 || write_str(s->end_time, STR_TIME, end) < 0 ||
            H5Fflush(s->file, H5F_SCOPE_GLOBAL) < 0) {
            base_errf_at(err, errcap, s->path, "HDF5 error while closing");
            rc = -1;
        }
    }
    close_handles(s);
    store_free(s);
    return rc;
}

/* ---- opening and resuming ---- */

/* Read and check checkpoint slot k of src. Returns 0 with the blob (malloc'd)
 * and its generation, or -1 if the slot is empty, torn or corrupt. */
static int read_slot(hid_t src, int k, uint8_t **blob, size_t *len, uint64_t *gen) {
    char name[32];
    snprintf(name, sizeof name, "/checkpoint/slot%d", k);
    hid_t d = H5Dopen2(src, name, H5P_DEFAULT);
    if (d < 0) return -1;
    uint64_t rows = 0, cols = 0;
    uint8_t hdr[8], *b = NULL;
    int rc = -1;
    if (ds_dims(d, &rows, &cols) < 0 || cols != 0 || rows < 8) goto cleanup;
    if (get_rows(d, H5T_NATIVE_UINT8, 0, 8, 0, hdr) < 0) goto cleanup;
    uint64_t n = base_le_get(hdr, 8);
    if (n < 16 || n > rows - 8) goto cleanup; /* evo_state_peek checks the rest */
    b = malloc(n);
    if (!b || get_rows(d, H5T_NATIVE_UINT8, 8, n, 0, b) < 0) goto cleanup;
    if (evo_state_peek(b, n, gen) < 0) goto cleanup;
    *blob = b;
    *len = n;
    b = NULL;
    rc = 0;
cleanup:
    free(b);
    H5Dclose(d);
    return rc;
}

/* Rows of dataset name in src (-1 if it cannot be read). */
static int64_t rows_of(hid_t src, const char *name, uint64_t want_cols) {
    hid_t d = H5Dopen2(src, name, H5P_DEFAULT);
    if (d < 0) return -1;
    uint64_t rows = 0, cols = 0;
    int rc = ds_dims(d, &rows, &cols);
    H5Dclose(d);
    return rc < 0 || cols != want_cols ? -1 : (int64_t)rows;
}

static int is_hdf5_signature(const char *path) {
    static const uint8_t sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    int found = 0;
    uint8_t b[8];
    /* the signature sits at 0, 512, 1024, 2048, ... */
    for (long off = 0; off < (1l << 30) && !found; off = off ? off * 2 : 512) {
        if (fseek(f, off, SEEK_SET) != 0 || fread(b, 1, 8, f) != 8) break;
        found = memcmp(b, sig, 8) == 0;
    }
    fclose(f);
    return found;
}

st_store *st_open(const char *path, char **spec_json, char *err, size_t errcap) {
    quiet();
    if (spec_json) *spec_json = NULL;
    if (!path) {
        base_errf_at(err, errcap, path, "st_open: missing path");
        return NULL;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        base_errf_at(err, errcap, path, "%s", strerror(errno));
        return NULL;
    }
    int sig = is_hdf5_signature(path);
    if (sig < 0) {
        base_errf_at(err, errcap, path, "cannot read the file (%s)", strerror(errno));
        return NULL;
    }
    if (sig == 0) {
        base_errf_at(err, errcap, path, "not an HDF5 file");
        return NULL;
    }
    st_store *s = store_new(path);
    if (!s) {
        base_errf_at(err, errcap, path, "out of memory");
        return NULL;
    }
    hid_t fapl = latest_fapl();
    if (fapl < 0) goto corrupt;
    /* SWMR read opens a file whose writer was killed; a file written by
     * another tool may need a plain read-only open. */
    /* A reader of a live SWMR file retries a metadata read whose checksum
     * fails (the writer may be mid-write); nobody writes a file being resumed,
     * so a checksum failure is corruption: no retries. */
    if (H5Pset_metadata_read_attempts(fapl, 1) < 0) {
        H5Pclose(fapl);
        goto corrupt;
    }
    s->src = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
    if (s->src < 0) s->src = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    H5Pclose(fapl);
    if (s->src < 0) goto corrupt;

    uint64_t fmt = 0;
    int a = read_attr_u64(s->src, "frugal", &fmt);
    if (a == 1) {
        base_errf_at(err, errcap, path, "not a frugal run (no /frugal attribute)");
        goto fail;
    }
    if (a < 0) goto corrupt;
    if (fmt > ST_FORMAT) {
        base_errf_at(err, errcap, path, "format version %llu is newer than this frugal (%u)",
                     (unsigned long long)fmt, ST_FORMAT);
        goto fail;
    }
    if (fmt < 1) {
        base_errf_at(err, errcap, path, "format version %llu is not a known version",
                     (unsigned long long)fmt);
        goto fail;
    }
    if (read_attr_str(s->src, "spec", &s->spec) != 0) goto corrupt;
    s->own_files = true;
    static const char *const case_names[ST_MAX_FILES] = {"data", "test"};
    for (int k = 0; k < ST_MAX_FILES; k++) {
        int got = read_case_file(s->src, case_names[k], &s->files[s->nfiles]);
        if (got < 0) goto corrupt;
        s->nfiles += (uint32_t)got;
    }
    hid_t g = H5Gopen2(s->src, "pop", H5P_DEFAULT);
    if (g < 0) goto corrupt;
    uint64_t I = 0, N = 0, nc = 0, pc = 0, align = 0;
    int bad = read_attr_u64(g, "islands", &I) | read_attr_u64(g, "pop_size", &N) |
              read_attr_u64(g, "cases", &nc) | read_attr_u64(g, "per_case", &pc) |
              read_attr_u64(g, "code_align", &align);
    uint64_t every = 1;
    int ea = read_attr_u64(g, "every", &every); /* absent (1): every generation */
    H5Gclose(g);
    if (ea < 0 || every > UINT32_MAX) goto corrupt;
    s->every = (uint32_t)every;
    s->elite = H5Lexists(s->src, "elite", H5P_DEFAULT) > 0;
    if (bad || I == 0 || N == 0 || I > UINT32_MAX || N > UINT32_MAX || nc > UINT32_MAX ||
        align < CODE_MIN || align > CODE_MAX || (align & (align - 1)) || I * N > (1ull << 40))
        goto corrupt;
    s->I = (uint32_t)I;
    s->N = (uint32_t)N;
    s->nc = (uint32_t)nc;
    s->R = I * N;
    s->per_case = pc != 0;
    s->code_align = align;

    /* Rows every dataset holds: the generations in /pop are those below. */
    int64_t have = INT64_MAX;
    for (int i = 0; i < F_code; i++) {
        if (i == F_errors && !s->per_case) continue;
        char name[64];
        snprintf(name, sizeof name, "/pop/%s", fields[i].name);
        int64_t n = rows_of(s->src, name, i == F_errors ? s->nc : 0);
        if (n < 0) goto corrupt;
        if (n / (int64_t)s->R < have) have = n / (int64_t)s->R;
    }
    int64_t ns = rows_of(s->src, "/stats", 0), nw = rows_of(s->src, "/meta/wall_seconds", 0);
    if (ns < 0 || nw < 0 || rows_of(s->src, "/pop/code", 0) < 0) goto corrupt;
    /* /pop_generations: the generations in /pop (absent: every one) */
    uint64_t *kept = NULL;
    int64_t nk = have;
    if (s->every != 1) {
        nk = rows_of(s->src, "/pop_generations", 0);
        if (nk < 0) goto corrupt;
        if (nk > have) nk = have;
        kept = malloc(((size_t)nk + 1) * sizeof *kept);
        hid_t d = kept ? H5Dopen2(s->src, "/pop_generations", H5P_DEFAULT) : -1;
        int e = d < 0 || get_rows(d, H5T_NATIVE_UINT64, 0, (uint64_t)nk, 0, kept) < 0;
        if (d >= 0) H5Dclose(d);
        if (e) {
            free(kept);
            goto corrupt;
        }
    } else {
        if (ns < have) have = ns;
        if (nw < have) have = nw;
    }
    int64_t ne = INT64_MAX; /* generations whose best is in /elite */
    for (int i = 0; s->elite && i < 2; i++) {
        int64_t n = rows_of(s->src, elite_names[i], 0);
        if (n < ne) ne = n;
    }
    if (ne < 0 || (s->elite && rows_of(s->src, elite_names[E_code], 0) < 0)) {
        free(kept);
        goto corrupt;
    }

    /* The newest valid checkpoint whose generation is fully stored. */
    uint8_t *b[2] = {NULL, NULL};
    size_t bl[2] = {0, 0};
    uint64_t bg[2] = {0, 0};
    int best = -1;
    for (int k = 0; k < 2; k++) {
        if (read_slot(s->src, k, &b[k], &bl[k], &bg[k]) < 0) continue;
        if (s->every == 1 ? (int64_t)bg[k] >= have : (int64_t)bg[k] >= ns || (int64_t)bg[k] >= nw)
            continue;
        if ((int64_t)bg[k] >= ne) continue;
        if (best < 0 || bg[k] > bg[best]) best = k;
    }
    /* the generations in /pop up to the checkpoint (their rows are there:
     * /pop_generations is written after them) */
    s->nkept = 0;
    if (best >= 0)
        while (s->every != 1 && (int64_t)s->nkept < nk && kept[s->nkept] <= bg[best])
            s->nkept++;
    free(kept);
    if (best < 0) {
        free(b[0]);
        free(b[1]);
        base_errf_at(err, errcap, path,
                     "no complete generation to resume from (checkpoint missing or "
                     "corrupt)");
        goto fail;
    }
    s->blob = b[best];
    s->blob_len = bl[best];
    free(b[1 - best]);
    s->ngen = bg[best] + 1;
    if (s->every == 1) s->nkept = s->ngen;
    if (spec_json) {
        *spec_json = strdup(s->spec);
        if (!*spec_json) {
            base_errf_at(err, errcap, path, "out of memory");
            goto fail;
        }
    }
    return s;
corrupt:
    base_errf_at(err, errcap, path, "truncated or corrupt HDF5 file");
fail:
    store_free(s);
    return NULL;
}

/* Copy rows [0, nrows) of the dataset name from src to dst (same element
 * kind), in pieces of step rows. */
static int copy_rows(hid_t src, const char *name, hid_t dst, hid_t mtype, uint64_t ncols,
                     uint64_t nrows, uint64_t step, void *buf) {
    hid_t d = H5Dopen2(src, name, H5P_DEFAULT);
    if (d < 0) return -1;
    int rc = 0;
    for (uint64_t r0 = 0; r0 < nrows && rc == 0; r0 += step) {
        uint64_t n = nrows - r0 < step ? nrows - r0 : step;
        if (get_rows(d, mtype, r0, n, ncols, buf) < 0 ||
            put_rows(dst, mtype, r0, n, ncols, buf) < 0)
            rc = -1;
    }
    H5Dclose(d);
    return rc;
}

int st_restore(st_store *s, evo_run *r, char *err, size_t errcap) {
    quiet();
    if (!s || !r) {
        base_errf_at(err, errcap, s ? s->path : "(store)", "st_restore: missing argument");
        return -1;
    }
    if (s->src < 0 || !s->blob) {
        base_errf_at(err, errcap, s->path, "not opened for resuming");
        return -1;
    }
    const evo_params *p = evo_run_params(r);
    if (p->islands != s->I || p->pop_size != s->N || evo_run_task(r)->train.n != s->nc) {
        base_errf_at(err, errcap, s->path,
                     "the run's islands, population or cases (%u, %u, %u) differ from the file's "
                     "(%u, %u, %u)",
                     p->islands, p->pop_size, evo_run_task(r)->train.n, s->I, s->N, s->nc);
        return -1;
    }
    tune_malloc();
    char msg[256] = "";
    if (evo_run_load_state(r, s->blob, s->blob_len, msg, sizeof msg) < 0) {
        base_errf_at(err, errcap, s->path, "checkpoint: %s", msg);
        return -1;
    }
    size_t plen = strlen(s->path);
    char *tmp = malloc(plen + 16);
    void *buf = NULL;
    store_attrs a = {0};
    char *spec_name = NULL, *fv = NULL, *fc = NULL, *start0 = NULL;
    uint64_t seed = 0, threads = 0, resumes = 0, repro = 1;
    int rc = -1;
    if (!tmp || alloc_pending(s, 1) < 0) {
        base_errf_at(err, errcap, s->path, "out of memory");
        goto cleanup;
    }
    snprintf(tmp, plen + 16, "%s.resume-tmp", s->path);
    hid_t meta = H5Gopen2(s->src, "meta", H5P_DEFAULT);
    if (meta < 0 || read_attr_str(s->src, "spec_name", &spec_name) < 0 ||
        read_attr_str(s->src, "frugal_version", &fv) < 0 ||
        read_attr_str(s->src, "frugal_commit", &fc) < 0 ||
        read_attr_u64(s->src, "seed", &seed) < 0 ||
        read_attr_str(meta, "start_time", &start0) < 0 ||
        read_attr_u64(meta, "threads", &threads) < 0 ||
        read_attr_u64(meta, "resumes", &resumes) < 0 ||
        read_attr_u64(meta, "reproducible", &repro) < 0) {
        if (meta >= 0) H5Gclose(meta);
        base_errf_at(err, errcap, s->path, "truncated or corrupt HDF5 file (attributes)");
        goto cleanup;
    }
    H5Gclose(meta);
    char host[256], now[STR_TIME];
    host_name(host, sizeof host);
    now_utc(now, sizeof now);
    a.spec = s->spec;
    a.spec_name = spec_name ? spec_name : "";
    a.frugal_version = fv ? fv : FRUGAL_VERSION;
    a.frugal_commit = fc ? fc : FRUGAL_COMMIT;
    a.host = host;
    a.start_time = start0 ? start0 : now;
    a.resumed_at = now;
    a.seed = seed;
    a.threads = threads;
    a.resumes = resumes + 1;
    a.reproducible = repro != 0;
    a.files = s->files;
    a.nfiles = s->nfiles;

    hid_t fapl = latest_fapl();
    if (fapl < 0) goto h5fail;
    s->file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (s->file < 0) {
        base_errf_at(err, errcap, s->path, "cannot create %s", tmp);
        goto cleanup;
    }
    if (layout_create(s, &a) < 0) goto h5fail;

    /* the complete generations: rows, and code up to the end of the last
     * genome */
    uint64_t rows = s->nkept * s->R, last = 0;
    uint32_t llen = 0;
    hid_t d = -1;
    int e = 0;
    if (rows) {
        d = H5Dopen2(s->src, "/pop/code_offset", H5P_DEFAULT);
        e = d < 0 || get_rows(d, H5T_NATIVE_UINT64, rows - 1, 1, 0, &last) < 0;
        if (d >= 0) H5Dclose(d);
        d = H5Dopen2(s->src, "/pop/length", H5P_DEFAULT);
        e |= d < 0 || get_rows(d, H5T_NATIVE_UINT32, rows - 1, 1, 0, &llen) < 0;
        if (d >= 0) H5Dclose(d);
    }
    if (e) goto h5read;
    uint64_t code_bytes = last + llen;
    if (code_bytes < last || rows_of(s->src, "/pop/code", 0) < (int64_t)code_bytes) goto h5read;
    size_t bufbytes = 65536;
    for (int i = 0; i < NF; i++)
        if (s->ds[i] >= 0 && s->c[i].crows * s->c[i].unit > bufbytes)
            bufbytes = (size_t)(s->c[i].crows * s->c[i].unit);
    buf = malloc(bufbytes);
    if (!buf) {
        base_errf_at(err, errcap, s->path, "out of memory");
        goto cleanup;
    }
    /* whole chunks are copied (each written once); the partly filled last
     * chunk goes to the chunk buffer, written as a commit writes it */
    for (int i = 0; i < NF; i++) {
        struct col *c = &s->c[i];
        if (s->ds[i] < 0) continue;
        char name[64];
        snprintf(name, sizeof name, "/pop/%s", fields[i].name);
        uint64_t cols = i == F_errors ? s->nc : 0, n = i == F_code ? code_bytes : rows;
        uint64_t full = n / c->crows * c->crows;
        hid_t mt = mem_type(fields[i].kind);
        if (copy_rows(s->src, name, s->ds[i], mt, cols, full, c->crows, buf) < 0) goto h5read;
        c->base = c->extent = full;
        c->fill = n - full;
        d = H5Dopen2(s->src, name, H5P_DEFAULT);
        e = d < 0 || get_rows(d, mt, full, c->fill, cols, c->buf) < 0;
        if (d >= 0) H5Dclose(d);
        if (e) goto h5read;
    }
    int wc = write_chunks(s, true, false, UINT64_MAX);
    if (wc == -2) {
        base_errf_at(err, errcap, s->path, "out of memory");
        goto cleanup;
    }
    if (wc < 0) goto h5fail;
    if (copy_rows(s->src, "/stats", s->stats, s->stats_file, 0, s->ngen,
                  bufbytes / sizeof(evo_stats), buf) < 0 ||
        (s->kept_ds >= 0 && copy_rows(s->src, "/pop_generations", s->kept_ds, H5T_NATIVE_UINT64, 0,
                                      s->nkept, bufbytes / 8, buf) < 0) ||
        copy_rows(s->src, "/meta/wall_seconds", s->wall, H5T_NATIVE_DOUBLE, 0, s->ngen,
                  bufbytes / 8, buf) < 0)
        goto h5read;
    if (s->elite) { /* the generations' best genomes, up to the last one's end */
        uint64_t eo = 0;
        uint32_t el = 0;
        d = H5Dopen2(s->src, elite_names[E_offset], H5P_DEFAULT);
        e = d < 0 || get_rows(d, H5T_NATIVE_UINT64, s->ngen - 1, 1, 0, &eo) < 0;
        if (d >= 0) H5Dclose(d);
        d = H5Dopen2(s->src, elite_names[E_length], H5P_DEFAULT);
        e |= d < 0 || get_rows(d, H5T_NATIVE_UINT32, s->ngen - 1, 1, 0, &el) < 0;
        if (d >= 0) H5Dclose(d);
        s->elite_bytes = eo + el;
        if (e || s->elite_bytes < eo ||
            rows_of(s->src, elite_names[E_code], 0) < (int64_t)s->elite_bytes ||
            copy_rows(s->src, elite_names[E_offset], s->elite_ds[E_offset], H5T_NATIVE_UINT64, 0,
                      s->ngen, bufbytes / 8, buf) < 0 ||
            copy_rows(s->src, elite_names[E_length], s->elite_ds[E_length], H5T_NATIVE_UINT32, 0,
                      s->ngen, bufbytes / 4, buf) < 0 ||
            copy_rows(s->src, elite_names[E_code], s->elite_ds[E_code], H5T_NATIVE_UINT8, 0,
                      s->elite_bytes, bufbytes, buf) < 0)
            goto h5read;
    }
    s->next_slot = (int)(s->ngen & 1); /* the other slot */
    if (write_slot(s, (int)((s->ngen - 1) & 1), s->blob, s->blob_len, s->ngen - 1) < 0 ||
        H5Fflush(s->file, H5F_SCOPE_GLOBAL) < 0)
        goto h5fail;
    hclose(&s->src, H5Fclose);
    if (rename(tmp, s->path) != 0) {
        base_errf_at(err, errcap, s->path, "cannot replace the file with %s (%s)", tmp,
                     strerror(errno));
        goto cleanup;
    }
    free(s->blob);
    s->blob = NULL;
    rc = 0;
    goto cleanup;
h5read:
    base_errf_at(err, errcap, s->path, "truncated or corrupt HDF5 file (while copying the run)");
    goto cleanup;
h5fail:
    base_errf_at(err, errcap, s->path, "HDF5 error while writing %s", tmp);
cleanup:
    if (rc < 0 && s->file >= 0) {
        close_written(s);
        if (tmp) unlink(tmp);
    }
    free(buf);
    free(tmp);
    free(spec_name);
    free(fv);
    free(fc);
    free(start0);
    return rc;
}
