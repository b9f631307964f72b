/* Load a run file (docs/hdf5-schema.md) read-only, with the HDF5 C API. */
#include "analysis/analysis.h"
#include "base/base.h"
#include "evolve/evolve.h"
#include "fitness/fitness.h"
#include "vm/evm/evm.h"
#include "vm/vm.h"

#include <hdf5.h>
#include <jansson.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "path: message" (the base layer's formatter; other branches edit this
 * file, so the calls keep their short name for now). */
#define fail base_errf_at

/* Metadata reads of a damaged file: a SWMR reader retries a block whose
 * checksum fails (a live writer may be mid-write), sleeping 1 ns, 2 ns, 4 ns
 * ... between tries (HDF5 1.10). The default 100 tries never end; 20 give up
 * after about a millisecond, far longer than a writer takes to write a block. */
#define READ_ATTEMPTS 20

/* Open read-only in SWMR read mode (a running or killed run), else plainly. */
static hid_t open_file(const char *path) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return -1;
    hid_t f = -1;
    if (H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) >= 0 &&
        H5Pset_metadata_read_attempts(fapl, READ_ATTEMPTS) >= 0)
        f = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
    if (f < 0) f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    H5Pclose(fapl);
    return f;
}

/* A fixed-length or variable-length string attribute of obj, malloc'd. */
static char *read_str_attr(hid_t obj, const char *name) {
    char *out = NULL;
    hid_t a = -1, t = -1, mt = -1;
    if (H5Aexists(obj, name) <= 0) goto cleanup;
    if ((a = H5Aopen(obj, name, H5P_DEFAULT)) < 0) goto cleanup;
    if ((t = H5Aget_type(a)) < 0 || H5Tget_class(t) != H5T_STRING) goto cleanup;
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        if ((mt = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(mt, H5T_VARIABLE) < 0 ||
            H5Tset_cset(mt, H5Tget_cset(t)) < 0)
            goto cleanup;
        if (H5Aread(a, mt, &s) < 0 || !s) goto cleanup;
        out = strdup(s);
        H5free_memory(s);
        goto cleanup;
    }
    size_t n = H5Tget_size(t);
    if (!n || !(out = calloc(n + 1, 1))) goto cleanup;
    if ((mt = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(mt, n + 1) < 0 ||
        H5Tset_cset(mt, H5Tget_cset(t)) < 0 || H5Aread(a, mt, out) < 0) {
        free(out);
        out = NULL;
    }
cleanup:
    if (mt >= 0) H5Tclose(mt);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return out;
}

/* 0, 1 when the attribute is absent, -1 when it cannot be read. */
static int read_num_attr(hid_t obj, const char *name, hid_t mtype, void *out) {
    htri_t e = H5Aexists(obj, name);
    if (e <= 0) return e < 0 ? -1 : 1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    int rc = H5Aread(a, mtype, out) < 0 ? -1 : 0;
    H5Aclose(a);
    return rc;
}

/* The length of a 1-D dataset, or -1. */
static int64_t dset_len(hid_t f, const char *name) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return -1;
    hid_t sp = H5Dget_space(d);
    hsize_t dims[2] = {0, 0};
    int64_t n = -1;
    if (sp >= 0 && H5Sget_simple_extent_dims(sp, dims, NULL) >= 1) n = (int64_t)dims[0];
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(d);
    return n;
}

/* Read elements [0, n) of a 1-D dataset into a new array of n elements of
 * size esize (memory type mtype). NULL on failure; n = 0 gives a 1-byte
 * allocation so that NULL always means failure. */
static void *read_prefix(hid_t f, const char *name, hid_t mtype, size_t esize, uint64_t n) {
    void *buf = calloc(n ? n : 1, esize);
    hid_t d = -1, fs = -1, ms = -1;
    if (!buf) return NULL;
    if (!n) return buf;
    if ((d = H5Dopen2(f, name, H5P_DEFAULT)) < 0) goto bad;
    if ((fs = H5Dget_space(d)) < 0) goto bad;
    hsize_t start = 0, count = n;
    if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &count, NULL) < 0) goto bad;
    if ((ms = H5Screate_simple(1, &count, NULL)) < 0) goto bad;
    if (H5Dread(d, mtype, ms, fs, H5P_DEFAULT, buf) < 0) goto bad;
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
    return buf;
bad:
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    if (d >= 0) H5Dclose(d);
    free(buf);
    return NULL;
}

/* The memory type of a column type (evolve/runfile.h). */
#define NATIVE_U8  H5T_NATIVE_UINT8
#define NATIVE_U32 H5T_NATIVE_UINT32
#define NATIVE_U64 H5T_NATIVE_UINT64
#define NATIVE_F64 H5T_NATIVE_DOUBLE

static hid_t stats_type(void) {
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(an_stats));
    if (t < 0) return -1;
#define F(name, ty, doc) H5Tinsert(t, #name, HOFFSET(an_stats, name), NATIVE_##ty);
    EVO_STATS_COLUMNS(F)
#undef F
    return t;
}

/* Settings from the canonical spec: task name, target error. */
static int parse_spec(an_run *r) {
    json_error_t je;
    json_t *root = json_loads(r->spec, 0, &je);
    if (!root) return -1;
    json_t *task = json_object_get(root, "task");
    const char *tn = json_string_value(json_object_get(task, "name"));
    snprintf(r->task_name, sizeof r->task_name, "%s", tn ? tn : "?");
    const char *isa = json_string_value(json_object_get(task, "isa")); /* a data task's */
    r->evm = !strncmp(r->task_name, "evm-", 4) || (isa && !strcmp(isa, "evm"));
    json_t *te = json_object_get(json_object_get(root, "budget"), "target_error");
    r->has_target = json_is_number(te);
    r->target_error = r->has_target ? json_number_value(te) : 0;
    json_t *lim = json_object_get(root, "limits");
    r->limits.gas = (uint64_t)json_integer_value(json_object_get(lim, "gas"));
    r->limits.mem = (uint32_t)json_integer_value(json_object_get(lim, "mem"));
    r->limits.memtime = (uint64_t)json_integer_value(json_object_get(lim, "memtime"));
    r->limits.stack = (uint32_t)json_integer_value(json_object_get(lim, "stack"));
    r->limits.calls = (uint32_t)json_integer_value(json_object_get(lim, "calls"));
    const char *uf = json_string_value(json_object_get(lim, "underflow"));
    r->limits.underflow = !uf ? 0 : !strcmp(uf, "skip") ? VM_UNDERFLOW_SKIP : VM_UNDERFLOW_FAULT;
    if (!r->spec_name[0]) {
        const char *n = json_string_value(json_object_get(root, "name"));
        snprintf(r->spec_name, sizeof r->spec_name, "%s", n ? n : "run");
    }
    json_decref(root);
    return 0;
}

/* /stop_reason: a name of evo_stop_name, null-padded. 0, or -1 when it is
 * missing, unreadable or not such a name (its bytes have no checksum). */
static int read_stop_reason(hid_t f, char *out, size_t cap) {
    char buf[64] = "";
    int rc = -1;
    hid_t d = H5Dopen2(f, "stop_reason", H5P_DEFAULT), t = -1, mt = -1;
    if (d < 0 || (t = H5Dget_type(d)) < 0) goto cleanup;
    size_t n = H5Tget_size(t);
    if (!n || n >= sizeof buf || (mt = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(mt, n + 1) < 0 ||
        H5Tset_cset(mt, H5Tget_cset(t)) < 0 ||
        H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        goto cleanup;
    for (int s = EVO_STOP_NONE; s <= EVO_STOP_WALL; s++)
        if (!strcmp(buf, evo_stop_name((evo_stop)s)) && strlen(buf) < cap) {
            memcpy(out, buf, strlen(buf) + 1); /* length checked: no truncation */
            rc = 0;
        }
cleanup:
    if (mt >= 0) H5Tclose(mt);
    if (t >= 0) H5Tclose(t);
    if (d >= 0) H5Dclose(d);
    return rc;
}

static bool same_double(double a, double b) {
    return a == b || (isnan(a) && isnan(b));
}

/* /stats rows are stored without a checksum: each must agree with the
 * generation's rows of /pop, from which the run computed it (evo_run_stats).
 * NULL, or what disagrees. */
static const char *check_stats(const an_run *r) {
    uint64_t m = (uint64_t)r->islands * r->pop_size;
    for (uint64_t g = 0; g < r->generations; g++) {
        const an_stats *s = &r->stats[g];
        if (s->generation != g || s->best_island >= r->islands || s->best_slot >= r->pop_size)
            return "/stats: a row names no individual";
        if (g && (s->evaluations < s[-1].evaluations || s->gas_total < s[-1].gas_total))
            return "/stats: the counters decrease";
    }
    for (uint64_t j = 0; j < r->pop_gens; j++) {
        uint64_t g = r->pop_gen ? r->pop_gen[j] : j;
        const an_stats *s = &r->stats[g];
        uint64_t b = an_row(r, g, s->best_island, s->best_slot);
        if (!same_double(s->best_fitness, r->fitness[b]) ||
            !same_double(s->best_error, r->error[b]) || s->best_hits != r->hits[b] ||
            s->best_length != r->length[b] || s->best_gas != r->gas[b] ||
            s->best_memtime != r->memtime[b] || s->best_status != r->status[b])
            return "/stats: the best individual differs from /pop";
        double sum = 0, lo[4] = {INFINITY, INFINITY, INFINITY, INFINITY}, hi[4] = {0, 0, 0, 0};
        for (uint64_t i = j * m; i < (j + 1) * m; i++) {
            double v[4] = {r->error[i], (double)r->gas[i], (double)r->memtime[i],
                           (double)r->length[i]};
            sum += r->error[i];
            for (int k = 0; k < 4; k++) {
                if (v[k] < lo[k]) lo[k] = v[k];
                if (v[k] > hi[k]) hi[k] = v[k];
            }
        }
        double med[4] = {s->median_error, s->median_gas, s->median_memtime, s->median_length};
        for (int k = 0; k < 4; k++)
            if (!(med[k] >= lo[k] && med[k] <= hi[k])) return "/stats: a median out of range";
        if (!same_double(s->mean_error, sum / (double)m)) return "/stats: the mean error differs";
    }
    return NULL;
}

/* The task "data"'s options from the canonical spec's task section, with
 * its files from the run file's /cases (docs/hdf5-schema.md), as frugal
 * resume rebuilds it: 0, or -1 (no /cases, out of memory). names and
 * bytes are the caller's to free. */
static int data_opts(hid_t f, json_t *task, fit_task_opts *o, const char ***names,
                     uint8_t *bytes[2]) {
    static const char *const keys[2] = {"data", "test"};
    fit_data_file *file[2] = {&o->data, &o->test};
    for (int i = 0; i < 2; i++) {
        const char *path = json_string_value(json_object_get(task, keys[i]));
        char ds[16];
        snprintf(ds, sizeof ds, "cases/%s", keys[i]);
        if (!path) continue;
        int64_t n = H5Lexists(f, "cases", H5P_DEFAULT) > 0 && H5Lexists(f, ds, H5P_DEFAULT) > 0
                        ? dset_len(f, ds)
                        : -1;
        if (n < 0 || !(bytes[i] = read_prefix(f, ds, H5T_NATIVE_UINT8, 1, (uint64_t)n))) return -1;
        *file[i] = (fit_data_file){path, bytes[i], (size_t)n};
    }
    json_t *in = json_object_get(task, "inputs");
    o->n_inputs = (uint32_t)json_array_size(in);
    if (o->n_inputs && !(*names = calloc(o->n_inputs, sizeof **names))) return -1;
    for (uint32_t i = 0; i < o->n_inputs; i++)
        (*names)[i] = json_string_value(json_array_get(in, i));
    o->inputs = *names;
    o->target = json_string_value(json_object_get(task, "target"));
    o->split = json_number_value(json_object_get(task, "split"));
    const char *loss = json_string_value(json_object_get(task, "loss"));
    o->loss = !loss || !strcmp(loss, "abs") ? FIT_LOSS_ABS
              : !strcmp(loss, "squared")    ? FIT_LOSS_SQUARED
                                            : FIT_LOSS_BITS;
    const char *isa = json_string_value(json_object_get(task, "isa"));
    o->isa = isa && !strcmp(isa, "evm") ? FIT_ISA_EVM : FIT_ISA_NATIVE;
    json_t *hit = json_object_get(task, "hit"), *pen = json_object_get(task, "penalty");
    if ((o->has_hit = json_is_number(hit))) o->hit = json_number_value(hit);
    if ((o->has_penalty = json_is_number(pen))) o->penalty = json_number_value(pen);
    return 0;
}

/* The task, made again from its name with fixed cases (its cases do not
 * matter here), a data task from the files kept in the run: its penalty
 * and how its programs read as expressions (with the input columns'
 * names). */
static void run_task(an_run *r, hid_t f) {
    evo_rng g;
    fit_rng fr;
    fit_task t;
    fit_task_opts o = {0};
    const char **names = NULL;
    uint8_t *bytes[2] = {NULL, NULL};
    char err[256];
    evo_rng_seed(&g, 1, 1);
    evo_fit_rng(&fr, &g);
    memset(&t, 0, sizeof t);
    r->penalty = INFINITY;
    json_t *root = json_loads(r->spec, 0, NULL);
    bool data = !strcmp(r->task_name, "data");
    int made = data && data_opts(f, json_object_get(root, "task"), &o, &names, bytes)
                   ? -1
                   : fit_task_make(r->task_name, &o, &fr, &t, err, sizeof err);
    json_decref(root);
    free(names);
    free(bytes[0]);
    free(bytes[1]);
    if (made) {
        snprintf(r->expr_why, sizeof r->expr_why, "task %s cannot be made here", r->task_name);
        return;
    }
    /* INFINITY too when a wrong output can cost as much as a missing one
     * (0/1 errors: PSB's median, boolean tasks): the total error then cannot
     * tell them apart, and only the status is checked */
    fit_error_kind k = t.error;
    double worst = k == FIT_ERR_INT_01 || k == FIT_ERR_BOOL || k == FIT_ERR_U256_STACK ? 1
                   : k == FIT_ERR_U256_BITS                                            ? 256
                                                                                       : INFINITY;
    if (t.penalty > worst) r->penalty = t.penalty;
    /* the canonical spec holds the limits the run used, the task's
     * overridden by the spec's (files without them: the task's) */
    vm_limits l = r->limits.gas ? r->limits : t.limits;
    r->expressible = !an_expr_opts_task(&t, &l, &r->expr, r->expr_why, sizeof r->expr_why);
    r->in_names = t.in_names; /* kept: the expressions name the inputs */
    r->n_in_names = t.n_in;
    t.in_names = NULL;
    fit_task_free(&t);
}

int an_expr_opts_task(const fit_task *t, const vm_limits *limits, an_expr_opts *o, char *why,
                      size_t cap) {
    *o = (an_expr_opts){.n_in = t->n_in,
                        .n_out = fit_task_nout(t),
                        .fixed = t->fixed_point,
                        .limits = limits ? *limits : t->limits,
                        .names = (const char *const *)t->in_names};
    if (t->isa != FIT_ISA_NATIVE) return snprintf(why, cap, "EVM bytecode"), -1;
    if (t->io != FIT_IO_STACK) return snprintf(why, cap, "its input is a vector on a channel"), -1;
    return 0;
}

static int load_run(const char *path, an_run *r, char *err, size_t errcap) {
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->solved_gen = -1;
    hid_t f = -1, pop = -1, st = -1;
    int rc = AN_ERR_INPUT;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (access(path, R_OK) != 0) {
        fail(err, errcap, path, "%s", strerror(errno));
        rc = AN_ERR_IO;
        goto cleanup;
    }
    if (H5Fis_hdf5(path) <= 0) {
        fail(err, errcap, path, "not an HDF5 file");
        goto cleanup;
    }
    if ((f = open_file(path)) < 0) {
        fail(err, errcap, path, "truncated or corrupt HDF5 file");
        goto cleanup;
    }
    uint32_t version = 0;
    int a = read_num_attr(f, "frugal", H5T_NATIVE_UINT32, &version);
    if (a) {
        fail(err, errcap, path,
             a > 0 ? "not a frugal run (no /frugal attribute)" : "truncated or corrupt HDF5 file");
        goto cleanup;
    }
    if (version != 1) {
        fail(err, errcap, path, "format version %u is not supported (1)", version);
        goto cleanup;
    }
    r->spec = read_str_attr(f, "spec");
    char *name = read_str_attr(f, "spec_name");
    if (name) snprintf(r->spec_name, sizeof r->spec_name, "%s", name);
    free(name);
    if (!r->spec || parse_spec(r) || read_num_attr(f, "seed", H5T_NATIVE_UINT64, &r->seed)) {
        fail(err, errcap, path, "truncated or corrupt run file (the root attributes spec, seed)");
        goto cleanup;
    }
    run_task(r, f);
    if ((pop = H5Gopen2(f, "pop", H5P_DEFAULT)) < 0 ||
        read_num_attr(pop, "islands", H5T_NATIVE_UINT32, &r->islands) ||
        read_num_attr(pop, "pop_size", H5T_NATIVE_UINT32, &r->pop_size) ||
        read_num_attr(pop, "cases", H5T_NATIVE_UINT32, &r->cases) || !r->islands || !r->pop_size) {
        fail(err, errcap, path, "truncated or corrupt run file (the /pop attributes)");
        goto cleanup;
    }
    uint8_t pc = 0;
    r->per_case = !read_num_attr(pop, "per_case", H5T_NATIVE_UINT8, &pc) && pc &&
                  H5Lexists(pop, "errors", H5P_DEFAULT) > 0;
    /* complete generations: min(len(/stats), rows / (islands * pop_size)) */
    int64_t nstats = dset_len(f, "stats");
    uint64_t per_gen = (uint64_t)r->islands * r->pop_size;
    int64_t nrows = INT64_MAX;
    /* the per-row columns (evolve/runfile.h) */
#define ROWS_NAME(name, ty, shape, doc) ROWS_NAME_##shape(name)
#define ROWS_NAME_ROWS(name)            "pop/" #name,
#define ROWS_NAME_CASES(name)
#define ROWS_NAME_BYTES(name)
    static const char *const cols[] = {EVO_POP_COLUMNS(ROWS_NAME)};
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) {
        int64_t n = dset_len(f, cols[i]);
        if (n < nrows) nrows = n;
    }
    if (nstats < 0 || nrows < 0) {
        fail(err, errcap, path, "truncated or corrupt run file (missing datasets)");
        goto cleanup;
    }
    r->every = 1;
    read_num_attr(pop, "every", H5T_NATIVE_UINT32, &r->every); /* absent: 1 */
    int64_t nkept =
        H5Lexists(f, "pop_generations", H5P_DEFAULT) > 0 ? dset_len(f, "pop_generations") : -1;
    if (nkept >= 0) { /* /pop holds the generations listed */
        r->generations = (uint64_t)nstats;
        r->pop_gens = (uint64_t)nrows / per_gen;
        if ((uint64_t)nkept < r->pop_gens) r->pop_gens = (uint64_t)nkept;
        if (!(r->pop_gen = read_prefix(f, "pop_generations", H5T_NATIVE_UINT64, 8, r->pop_gens))) {
            fail(err, errcap, path, "truncated or corrupt run file (/pop_generations)");
            goto cleanup;
        }
        for (uint64_t j = 0; j < r->pop_gens; j++)
            if ((j && r->pop_gen[j] <= r->pop_gen[j - 1]) || r->pop_gen[j] >= UINT64_MAX / 2) {
                fail(err, errcap, path, "truncated or corrupt run file (/pop_generations)");
                goto cleanup;
            }
        while (r->pop_gens && r->pop_gen[r->pop_gens - 1] >= r->generations)
            r->pop_gens--; /* rows past the last complete /stats row */
    } else {               /* every generation */
        r->generations = (uint64_t)nrows / per_gen;
        if ((uint64_t)nstats < r->generations) r->generations = (uint64_t)nstats;
        r->pop_gens = r->generations;
    }
    if (!r->generations) {
        fail(err, errcap, path, "no complete generation");
        goto cleanup;
    }
    if (!r->pop_gens) {
        fail(err, errcap, path,
             "no population stored yet (output.population \"final\" keeps only the last "
             "generation's; `frugal resume` finishes the run)");
        goto cleanup;
    }
    r->rows = r->pop_gens * per_gen;
#define READ_ROWS(name, ty, shape, doc) READ_ROWS_##shape(name, ty)
#define READ_ROWS_ROWS(name, ty)                                                                   \
    !(r->name = read_prefix(f, "pop/" #name, NATIVE_##ty, sizeof *r->name, r->rows)) ||
#define READ_ROWS_CASES(name, ty)
#define READ_ROWS_BYTES(name, ty)
    if ((st = stats_type()) < 0 ||
        !(r->stats = read_prefix(f, "stats", st, sizeof(an_stats), r->generations)) ||
        EVO_POP_COLUMNS(READ_ROWS) 0) {
        fail(err, errcap, path, "truncated or corrupt run file (cannot read its datasets)");
        goto cleanup;
    }
    for (uint64_t i = 0; i < r->rows; i++) {
        uint64_t end = r->code_offset[i] + r->length[i];
        if (end < r->code_offset[i]) end = UINT64_MAX;
        if (end > r->code_len) r->code_len = end;
    }
    int64_t ncode = dset_len(f, "pop/code");
    if (ncode < 0 || (uint64_t)ncode < r->code_len) {
        fail(err, errcap, path,
             "truncated or corrupt run file (genomes past the end of /pop/code)");
        goto cleanup;
    }
    if (!(r->code = read_prefix(f, "pop/code", H5T_NATIVE_UINT8, 1, r->code_len))) {
        fail(err, errcap, path, "truncated or corrupt run file (cannot read /pop/code)");
        goto cleanup;
    }
    if (H5Lexists(f, "elite", H5P_DEFAULT) > 0) {
        /* each generation's best genome; generations past a killed
         * writer's last complete row have none */
        int64_t no = dset_len(f, "elite/code_offset"), nl = dset_len(f, "elite/length"),
                nb = dset_len(f, "elite/code");
        uint64_t n = (uint64_t)(no < nl ? no : nl), end = 0;
        if (n > r->generations) n = r->generations;
        if (no < 0 || nl < 0 || nb < 0 ||
            !(r->elite_offset = read_prefix(f, "elite/code_offset", H5T_NATIVE_UINT64, 8, n)) ||
            !(r->elite_length = read_prefix(f, "elite/length", H5T_NATIVE_UINT32, 4, n))) {
            fail(err, errcap, path, "truncated or corrupt run file (/elite)");
            goto cleanup;
        }
        for (uint64_t g = 0; g < n; g++) {
            uint64_t e = r->elite_offset[g] + r->elite_length[g];
            if (e < r->elite_offset[g] || e > (uint64_t)nb) {
                fail(err, errcap, path,
                     "truncated or corrupt run file (generation %" PRIu64
                     "'s best is past the end of /elite/code)",
                     g);
                goto cleanup;
            }
            if (e > end) end = e;
        }
        if (!(r->elite_code = read_prefix(f, "elite/code", H5T_NATIVE_UINT8, 1, end))) {
            fail(err, errcap, path, "truncated or corrupt run file (cannot read /elite/code)");
            goto cleanup;
        }
        r->elite_gens = n;
    }
    if (read_stop_reason(f, r->stop_reason, sizeof r->stop_reason)) {
        fail(err, errcap, path, "truncated or corrupt run file (/stop_reason)");
        goto cleanup;
    }
    const char *bad = check_stats(r);
    if (bad) {
        fail(err, errcap, path, "truncated or corrupt run file (%s)", bad);
        goto cleanup;
    }
    /* the first generation with a solution: in /pop, any individual; between
     * the generations /pop holds, the best of /stats */
    for (uint64_t g = 0; g < r->generations && r->solved_gen < 0; g++) {
        uint64_t j = an_pop_index(r, g);
        const an_stats *s = &r->stats[g];
        if (j == UINT64_MAX) {
            if (r->has_target ? s->best_error <= r->target_error
                              : r->cases && s->best_hits >= r->cases)
                r->solved_gen = (int64_t)g;
            continue;
        }
        for (uint64_t i = j * per_gen; i < (j + 1) * per_gen; i++)
            if (an_solved(r, i)) {
                r->solved_gen = (int64_t)g;
                break;
            }
    }
    rc = 0;
cleanup:
    if (st >= 0) H5Tclose(st);
    if (pop >= 0) H5Gclose(pop);
    if (f >= 0) H5Fclose(f);
    if (rc) an_run_free(r);
    return rc;
}

int an_run_load(const char *path, an_run *r, int *fail, char *err, size_t errcap) {
    int kind = load_run(path, r, err, errcap);
    if (fail) *fail = kind;
    return kind ? -1 : 0;
}

void an_run_free(an_run *r) {
    free(r->spec);
    for (uint32_t i = 0; r->in_names && i < r->n_in_names; i++)
        free(r->in_names[i]);
    free(r->in_names);
    free(r->stats);
    free(r->pop_gen);
    free(r->elite_offset);
    free(r->elite_length);
    free(r->elite_code);
#define FREE_COL(name, ty, shape, doc) FREE_COL_##shape(name)
#define FREE_COL_ROWS(name)            free(r->name);
#define FREE_COL_CASES(name)
#define FREE_COL_BYTES(name) free(r->name);
    EVO_POP_COLUMNS(FREE_COL)
    char path[sizeof r->path];
    memcpy(path, r->path, sizeof path);
    memset(r, 0, sizeof *r);
    memcpy(r->path, path, sizeof path);
    r->solved_gen = -1;
}

uint64_t an_pop_index(const an_run *r, uint64_t gen) {
    if (!r->pop_gen) return gen < r->pop_gens ? gen : UINT64_MAX;
    uint64_t lo = 0, hi = r->pop_gens; /* binary search: pop_gen increases */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (r->pop_gen[mid] < gen)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->pop_gens && r->pop_gen[lo] == gen ? lo : UINT64_MAX;
}

uint64_t an_pop_last(const an_run *r) {
    return r->pop_gen ? r->pop_gen[r->pop_gens - 1] : r->pop_gens - 1;
}

void an_pop_text(const an_run *r, char *buf, size_t cap) {
    if (!r->pop_gen) {
        snprintf(buf, cap, "every generation");
        return;
    }
    char what[32];
    if (r->every == 0)
        snprintf(what, sizeof what, "final");
    else
        snprintf(what, sizeof what, "every %" PRIu32, r->every);
    const uint64_t *k = r->pop_gen;
    uint64_t n = r->pop_gens;
    if (n <= 3) {
        int at = snprintf(buf, cap, "%s:", what);
        for (uint64_t j = 0; j < n && at >= 0 && (size_t)at < cap; j++)
            at += snprintf(buf + at, cap - (size_t)at, "%s %" PRIu64, j ? "," : "", k[j]);
    } else
        snprintf(buf, cap,
                 "%s: %" PRIu64 ", %" PRIu64 ", ..., %" PRIu64 " (%" PRIu64 " generations)", what,
                 k[0], k[1], k[n - 1], n);
}

void an_held_text(const an_run *r, char *buf, size_t cap) {
    char pop[128];
    an_pop_text(r, pop, sizeof pop);
    if (r->elite_gens)
        snprintf(buf, cap,
                 "populations in the file: %s; each generation's best (GEN:best): 0 to %" PRIu64,
                 pop, r->elite_gens - 1);
    else
        snprintf(buf, cap, "populations in the file: %s", pop);
}

uint64_t an_best_row(const an_run *r, uint64_t gen) {
    const an_stats *s = &r->stats[gen];
    uint32_t k = s->best_island < r->islands ? s->best_island : 0;
    uint32_t i = s->best_slot < r->pop_size ? s->best_slot : 0;
    return an_row(r, gen, k, i);
}

bool an_solved(const an_run *r, uint64_t row) {
    if (r->has_target) return r->error[row] <= r->target_error;
    return r->cases && r->hits[row] >= r->cases;
}

int an_case_errors(const an_run *r, uint64_t row, double *out) {
    if (!r->per_case || row >= r->rows || !r->cases) return -1;
    int rc = -1;
    hid_t f = -1, d = -1, fs = -1, ms = -1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if ((f = open_file(r->path)) < 0) goto cleanup;
    if ((d = H5Dopen2(f, "pop/errors", H5P_DEFAULT)) < 0) goto cleanup;
    if ((fs = H5Dget_space(d)) < 0) goto cleanup;
    hsize_t start[2] = {row, 0}, count[2] = {1, r->cases};
    if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0) goto cleanup;
    if ((ms = H5Screate_simple(2, count, NULL)) < 0) goto cleanup;
    if (H5Dread(d, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, out) < 0) goto cleanup;
    rc = 0;
cleanup:
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    return rc;
}

/* Print a disassembly (native or EVM), each line after indent; with fixed,
 * native PUSH lines end with the constant's Q32.32 value. */
static void print_listing(const uint8_t *code, size_t len, bool evm, bool fixed, FILE *f,
                          const char *indent) {
    char *text = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&text, &n);
    if (!m) return;
    if (evm)
        evm_disasm(code, len, m);
    else
        vm_disasm(code, len, m);
    fclose(m);
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        int k = nl ? (int)(nl - line) : (int)strlen(line);
        fprintf(f, "%s%.*s", indent, k, line);
        long long w;
        char fx[64];
        if (fixed && sscanf(line, " PUSH %lld", &w) == 1) {
            an_fx_text((vm_word)w, fx, sizeof fx);
            fprintf(f, "  = %s", fx);
        }
        fputc('\n', f);
    }
    free(text);
}

void an_disasm(const uint8_t *code, size_t len, bool fixed, FILE *f, const char *indent) {
    print_listing(code, len, false, fixed, f, indent);
}

int an_program_get(const an_run *r, const char *id, an_program *p) {
    uint64_t gen;
    uint32_t island, slot;
    if (an_parse_id(r, id, &gen, &island, &slot) || gen >= r->generations || island >= r->islands ||
        slot >= r->pop_size)
        return -1;
    *p = (an_program){.gen = gen, .island = island, .slot = slot};
    if (an_pop_index(r, gen) != UINT64_MAX) {
        uint64_t row = an_row(r, gen, island, slot);
        p->code = r->code + r->code_offset[row];
        p->len = r->length[row];
        p->error = r->error[row];
        return 0;
    }
    const an_stats *s = &r->stats[gen];
    if (gen >= r->elite_gens || island != s->best_island || slot != s->best_slot) return -1;
    p->code = r->elite_code + r->elite_offset[gen];
    p->len = r->elite_length[gen];
    p->error = s->best_error;
    return 0;
}

void an_print_program(const an_run *r, const uint8_t *code, size_t len, FILE *f,
                      const char *indent) {
    print_listing(code, len, r->evm, r->expressible && r->expr.fixed, f, indent);
}

char *an_run_expr(const an_run *r, const uint8_t *code, size_t len, an_expr_style s) {
    if (!r->expressible) {
        char *t = malloc(sizeof r->expr_why + 32);
        if (t) snprintf(t, sizeof r->expr_why + 32, "(no expression: %s)", r->expr_why);
        return t;
    }
    return an_expr_string(code, len, &r->expr, s);
}

double an_quantile(double *v, size_t n, double q) {
    if (!n) return NAN;
    for (size_t i = 1; i < n; i++) { /* insertion sort: n is the number of seeds */
        double x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
    double h = q * (double)(n - 1);
    size_t lo = (size_t)floor(h);
    if (lo >= n - 1) return v[n - 1];
    return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

double an_effort(const int64_t *solved_gen, size_t n, uint64_t gens, uint64_t m, double z,
                 uint64_t *at_gen) {
    double best = 0;
    if (at_gen) *at_gen = 0;
    for (uint64_t i = 0; i < gens && n; i++) {
        size_t k = 0;
        for (size_t j = 0; j < n; j++)
            if (solved_gen[j] >= 0 && (uint64_t)solved_gen[j] <= i) k++;
        if (!k) continue;
        double p = (double)k / (double)n;
        double runs = p >= 1 ? 1 : ceil(log(1 - z) / log(1 - p));
        double e = (double)m * (double)(i + 1) * runs;
        if (best == 0 || e < best) {
            best = e;
            if (at_gen) *at_gen = i;
        }
    }
    return best;
}
