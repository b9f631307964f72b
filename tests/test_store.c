/* store/store.c: the HDF5 store. Values read back equal what the run reports;
 * a run killed at seeded moments (also in the middle of a write) resumes to
 * the same datasets as an uninterrupted run; bad files give clear errors;
 * h5py (analysis/read_run.py) and h5dump read the files. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <jansson.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "store/store.h"
#include "tests/store/h5cmp.h"
#include "tests/testutil.h"

static fit_task quartic;
static evo_isa isa;
static char dir[64];

static void setup(void) {
    cr_assert_eq(evo_task_quartic(&quartic, 11), 0);
    evo_isa_native(&isa);
    snprintf(dir, sizeof dir, "/tmp/frugal-store-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}
static void teardown(void) {
    fit_task_free(&quartic);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

TestSuite(store, .init = setup, .fini = teardown);

#define GENS 12
static const char *SPEC = "{\"generations\":12,\"task\":\"quartic\"}";

static evo_params params(void) {
    evo_params p;
    evo_params_default(&p, &isa, &quartic);
    p.seed = 77;
    p.pop_size = 60;
    p.islands = 2;
    p.max_generations = GENS;
    p.migrate_every = 3;
    p.migrants = 2;
    return p;
}

static evo_run *make(void) {
    evo_params p = params();
    char err[256] = "";
    evo_run *r = evo_run_new(&p, &quartic, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    return r;
}

static void path_of(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/%s", dir, name);
}

/* st_opts.every of the runs the tests write (0: every generation) */
static uint32_t keep_every;

static st_opts opts(bool force) {
    st_opts o = {.spec_json = SPEC,
                 .spec_name = "quartic",
                 .threads = 2,
                 .per_case = true,
                 .every = keep_every,
                 .force = force};
    return o;
}

/* Step r to the end, appending every generation (overlapped when s says so:
 * st_job does nothing otherwise). */
static int finish(st_store *s, evo_run *r, char *err, size_t cap) {
    int st;
    while ((st = evo_run_step_with(r, st_job, s)) == 0)
        if (st_append(s, r, 0.001, err, cap) < 0) return -1;
    return st == 1 ? 0 : -1;
}

/* A whole run into path. */
static void write_run(const char *path) {
    char err[512] = "";
    evo_run *r = make();
    st_opts o = opts(true);
    st_store *s = st_create(path, &o, r, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_assert_eq(finish(s, r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(st_generations(s), GENS + 1);
    cr_assert_eq(st_close(s, r, err, sizeof err), 0, "%s", err);
    evo_run_free(r);
}

/* A whole dataset, read as mtype. */
static void *read_all(hid_t f, const char *name, hid_t mtype, size_t esize, size_t *n) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert(d >= 0, "open %s", name);
    hid_t sp = H5Dget_space(d);
    *n = (size_t)H5Sget_simple_extent_npoints(sp);
    void *buf = malloc(*n * esize + 1);
    cr_assert(H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0, "read %s", name);
    H5Sclose(sp);
    H5Dclose(d);
    return buf;
}

static hid_t open_ro(const char *path) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
    H5Pclose(fapl);
    cr_assert(f >= 0, "open %s", path);
    return f;
}

/* Committed at generation 0 and at the end, a run's last, partly filled
 * chunk of every /pop dataset is deflated (filter mask 0), smaller than raw,
 * and zlib itself inflates it (checking its Adler-32) to the shuffled rows
 * followed by zeros. (Committed every generation, such chunks are written
 * raw, in place.) */
Test(store, partly_filled_chunks_are_deflated) {
    char path[128], err[512] = "";
    path_of(path, sizeof path, "tail.h5");
    omp_set_num_threads(2);
    evo_run *r = make();
    st_opts o = opts(false);
    st_store *st = st_create(path, &o, r, err, sizeof err);
    cr_assert_not_null(st, "%s", err);
    st_set_commit(st, 1e9, 64);
    cr_assert_eq(finish(st, r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(st_close(st, r, err, sizeof err), 0, "%s", err);
    evo_run_free(r);
    hid_t f = open_ro(path);
    static const char *names[] = {"fitness", "error",       "gas",      "memtime",  "status",
                                  "length",  "hits",        "parent_a", "parent_b", "ops",
                                  "code",    "code_offset", "errors"};
    for (size_t q = 0; q < sizeof names / sizeof *names; q++) {
        char name[64];
        snprintf(name, sizeof name, "/pop/%s", names[q]);
        hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
        cr_assert(d >= 0, "%s", name);
        hid_t sp = H5Dget_space(d), dcpl = H5Dget_create_plist(d), ty = H5Dget_type(d);
        int rank = H5Sget_simple_extent_ndims(sp);
        hsize_t dims[2] = {0, 1}, cdims[2] = {0, 1}, nchunks = 0, off[2];
        H5Sget_simple_extent_dims(sp, dims, NULL);
        H5Pget_chunk(dcpl, rank, cdims);
        H5Dget_num_chunks(d, sp, &nchunks);
        cr_assert_gt(nchunks, 0);
        unsigned mask = 9;
        haddr_t addr;
        hsize_t size = 0;
        cr_assert(H5Dget_chunk_info(d, sp, nchunks - 1, off, &mask, &addr, &size) >= 0);
        size_t es = H5Tget_size(ty), row = es * (size_t)cdims[1];
        size_t raw = (size_t)cdims[0] * row, filled = (size_t)(dims[0] - off[0]) * row;
        cr_assert_lt(filled, raw, "%s: the last chunk is partly filled", name);
        cr_assert_eq(mask, 0, "%s: filtered", name);
        cr_assert_lt((size_t)size, raw, "%s: %llu bytes", name, (unsigned long long)size);
        uint8_t *z = malloc(size), *sh = malloc(raw), *rows = calloc(1, raw), *all;
        cr_assert(H5Dread_chunk(d, H5P_DEFAULT, off, &mask, z) >= 0);
        uLongf n = raw;
        cr_assert_eq(uncompress(sh, &n, z, size), Z_OK, "%s: zlib inflates it", name);
        cr_assert_eq(n, raw);
        size_t total;
        all = read_all(f, name, ty, es, &total);
        memcpy(rows, all + (size_t)off[0] * row, filled);
        for (size_t i = 0; i < raw / es; i++) /* unshuffle: byte j of element i */
            for (size_t j = 0; j < es; j++)
                cr_assert_eq(sh[j * (raw / es) + i], rows[i * es + j], "%s: element %zu byte %zu",
                             name, i, j);
        free(all);
        free(z);
        free(sh);
        free(rows);
        H5Tclose(ty);
        H5Pclose(dcpl);
        H5Sclose(sp);
        H5Dclose(d);
    }
    H5Fclose(f);
}

Test(store, round_trip_values_equal_the_run) {
    char path[128];
    path_of(path, sizeof path, "rt.h5");
    omp_set_num_threads(2);
    write_run(path);

    hid_t f = open_ro(path);
    size_t n, nc;
    double *fitness = read_all(f, "/pop/fitness", H5T_NATIVE_DOUBLE, 8, &n);
    double *error = read_all(f, "/pop/error", H5T_NATIVE_DOUBLE, 8, &n);
    double *errors = read_all(f, "/pop/errors", H5T_NATIVE_DOUBLE, 8, &nc);
    uint64_t *gas = read_all(f, "/pop/gas", H5T_NATIVE_UINT64, 8, &n);
    uint64_t *memtime = read_all(f, "/pop/memtime", H5T_NATIVE_UINT64, 8, &n);
    uint8_t *status = read_all(f, "/pop/status", H5T_NATIVE_UINT8, 1, &n);
    uint32_t *length = read_all(f, "/pop/length", H5T_NATIVE_UINT32, 4, &n);
    uint32_t *hits = read_all(f, "/pop/hits", H5T_NATIVE_UINT32, 4, &n);
    uint32_t *pa = read_all(f, "/pop/parent_a", H5T_NATIVE_UINT32, 4, &n);
    uint32_t *pb = read_all(f, "/pop/parent_b", H5T_NATIVE_UINT32, 4, &n);
    uint32_t *ops = read_all(f, "/pop/ops", H5T_NATIVE_UINT32, 4, &n);
    uint64_t *off = read_all(f, "/pop/code_offset", H5T_NATIVE_UINT64, 8, &n);
    size_t ncode;
    uint8_t *code = read_all(f, "/pop/code", H5T_NATIVE_UINT8, 1, &ncode);
    cr_assert_eq(n, (size_t)(GENS + 1) * 120);
    cr_assert_eq(nc, n * FIT_QUARTIC_CASES);

    /* /stats, read with the file's own compound type converted field by field */
    hid_t sd = H5Dopen2(f, "/stats", H5P_DEFAULT);
    hid_t mt = H5Tcreate(H5T_COMPOUND, sizeof(evo_stats));
    H5Tinsert(mt, "generation", offsetof(evo_stats, generation), H5T_NATIVE_UINT64);
    H5Tinsert(mt, "evaluations", offsetof(evo_stats, evaluations), H5T_NATIVE_UINT64);
    H5Tinsert(mt, "gas_total", offsetof(evo_stats, gas_total), H5T_NATIVE_UINT64);
    H5Tinsert(mt, "best_island", offsetof(evo_stats, best_island), H5T_NATIVE_UINT32);
    H5Tinsert(mt, "best_slot", offsetof(evo_stats, best_slot), H5T_NATIVE_UINT32);
    H5Tinsert(mt, "best_fitness", offsetof(evo_stats, best_fitness), H5T_NATIVE_DOUBLE);
    H5Tinsert(mt, "best_error", offsetof(evo_stats, best_error), H5T_NATIVE_DOUBLE);
    H5Tinsert(mt, "best_hits", offsetof(evo_stats, best_hits), H5T_NATIVE_UINT32);
    H5Tinsert(mt, "best_length", offsetof(evo_stats, best_length), H5T_NATIVE_UINT32);
    H5Tinsert(mt, "best_gas", offsetof(evo_stats, best_gas), H5T_NATIVE_UINT64);
    H5Tinsert(mt, "best_memtime", offsetof(evo_stats, best_memtime), H5T_NATIVE_UINT64);
    H5Tinsert(mt, "best_status", offsetof(evo_stats, best_status), H5T_NATIVE_UINT8);
    H5Tinsert(mt, "mean_error", offsetof(evo_stats, mean_error), H5T_NATIVE_DOUBLE);
    H5Tinsert(mt, "median_error", offsetof(evo_stats, median_error), H5T_NATIVE_DOUBLE);
    H5Tinsert(mt, "median_gas", offsetof(evo_stats, median_gas), H5T_NATIVE_DOUBLE);
    H5Tinsert(mt, "median_memtime", offsetof(evo_stats, median_memtime), H5T_NATIVE_DOUBLE);
    H5Tinsert(mt, "median_length", offsetof(evo_stats, median_length), H5T_NATIVE_DOUBLE);
    evo_stats st[GENS + 1];
    memset(st, 0, sizeof st);
    cr_assert(H5Dread(sd, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, st) >= 0);
    H5Tclose(mt);
    H5Dclose(sd);

    char stop[32] = "";
    hid_t sr = H5Dopen2(f, "/stop_reason", H5P_DEFAULT);
    hid_t stt = H5Dget_type(sr);
    cr_assert(H5Dread(sr, stt, H5S_ALL, H5S_ALL, H5P_DEFAULT, stop) >= 0);
    cr_assert_str_eq(stop, "generations");
    H5Tclose(stt);
    H5Dclose(sr);
    H5Fclose(f);

    /* replay the run (deterministic) and compare every generation */
    evo_run *r = make();
    for (uint64_t g = 0; g <= GENS; g++) {
        cr_assert_eq(evo_run_step(r), 0);
        evo_stats e;
        cr_assert_eq(evo_run_stats(r, &e), 0);
        cr_assert_eq(memcmp(&e.generation, &st[g].generation, 3 * 8), 0, "gen %lu counters", g);
        cr_assert_eq(e.best_island, st[g].best_island);
        cr_assert_eq(e.best_slot, st[g].best_slot);
        cr_assert_eq(e.best_fitness, st[g].best_fitness);
        cr_assert_eq(e.best_error, st[g].best_error);
        cr_assert_eq(e.best_hits, st[g].best_hits);
        cr_assert_eq(e.best_length, st[g].best_length);
        cr_assert_eq(e.best_gas, st[g].best_gas);
        cr_assert_eq(e.best_memtime, st[g].best_memtime);
        cr_assert_eq(e.best_status, st[g].best_status);
        cr_assert_eq(e.mean_error, st[g].mean_error);
        cr_assert_eq(e.median_error, st[g].median_error);
        cr_assert_eq(e.median_gas, st[g].median_gas);
        cr_assert_eq(e.median_memtime, st[g].median_memtime);
        cr_assert_eq(e.median_length, st[g].median_length);
        for (uint32_t k = 0; k < 2; k++) {
            evo_pop_view v;
            evo_run_island(r, k, &v);
            for (uint32_t i = 0; i < v.n; i++) {
                size_t row = ((size_t)g * 2 + k) * 60 + i;
                cr_assert_eq(fitness[row], v.fitness[i]);
                cr_assert_eq(error[row], v.error[i]);
                cr_assert_eq(gas[row], v.gas[i]);
                cr_assert_eq(memtime[row], v.memtime[i]);
                cr_assert_eq(status[row], v.status[i]);
                cr_assert_eq(length[row], v.len[i]);
                cr_assert_eq(hits[row], v.hits[i]);
                cr_assert_eq(pa[row], v.parent_a[i], "gen %lu island %u slot %u", g, k, i);
                cr_assert_eq(pb[row], v.parent_b[i]);
                cr_assert_eq(ops[row], v.ops[i]);
                cr_assert_eq(memcmp(errors + row * FIT_QUARTIC_CASES,
                                    v.errors + (size_t)i * v.ncases, FIT_QUARTIC_CASES * 8),
                             0);
                cr_assert_leq(off[row] + length[row], ncode);
                cr_assert_eq(memcmp(code + off[row], v.code + (size_t)i * v.stride, v.len[i]), 0);
            }
        }
    }
    cr_assert_eq(evo_run_step(r), 1);
    evo_run_free(r);
    free(fitness), free(error), free(errors), free(gas), free(memtime), free(status);
    free(length), free(hits), free(pa), free(pb), free(ops), free(off), free(code);
}

/* ---- interruption ---- */

enum { KILL_SELF, KILL_TIMER, KILL_PARENT };
typedef struct {
    int mode, point;
    uint64_t gen;
    unsigned usec;
    uint32_t group; /* > 0: commit every group generations (group commit) */
    bool overlap;   /* overlapped appends */
} kill_plan;
static kill_plan plan;

static void on_alarm(int sig) {
    (void)sig;
    kill(getpid(), SIGKILL);
}

static void hook(int point, uint64_t gen) {
    if (gen != plan.gen) return;
    if (plan.mode == KILL_SELF && point == plan.point) kill(getpid(), SIGKILL);
    if (plan.mode == KILL_TIMER && point == 0) {
        struct itimerval it = {{0, 0}, {0, (long)plan.usec + 1}};
        setitimer(ITIMER_REAL, &it, NULL);
    }
}

/* The child: the run loop into path, killed as planned. */
static void child(const char *path) {
    signal(SIGALRM, on_alarm);
    st_test_hook = hook;
    omp_set_num_threads(2);
    char err[512] = "";
    evo_params p = params();
    evo_run *r = evo_run_new(&p, &quartic, err, sizeof err);
    st_opts o = opts(true);
    st_store *s = r ? st_create(path, &o, r, err, sizeof err) : NULL;
    if (s && plan.group) st_set_commit(s, 1e9, plan.group);
    st_set_overlap(s, plan.overlap);
    if (!s || finish(s, r, err, sizeof err) < 0 || st_close(s, r, err, sizeof err) < 0) {
        fprintf(stderr, "child: %s\n", err);
        _exit(3);
    }
    _exit(0);
}

/* Run every plan in a child, resume what it left and compare every dataset
 * with an uninterrupted run (ref, committed every generation). expect(plan,
 * generations found) checks how many generations the killed file holds. */
static void kill_resume_compare(const kill_plan *plans, int np, const char *tag,
                                void (*expect)(const kill_plan *, int, uint64_t)) {
    char(*path)[128] = calloc((size_t)np, sizeof *path);
    cr_assert(path);
    /* fork every child before this process uses OpenMP */
    for (int i = 0; i < np; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s%d.h5", tag, i);
        path_of(path[i], sizeof path[i], name);
        plan = plans[i];
        fflush(NULL);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) child(path[i]);
        if (plan.mode == KILL_PARENT) {
            usleep(plan.usec);
            kill(pid, SIGKILL);
        }
        int ws = 0;
        cr_assert_eq(waitpid(pid, &ws, 0), pid);
        if (plan.mode == KILL_SELF)
            cr_assert(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL, "plan %d not killed", i);
        else
            cr_assert((WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL) ||
                          (WIFEXITED(ws) && WEXITSTATUS(ws) == 0),
                      "plan %d: child failed", i);
    }

    char ref[128];
    path_of(ref, sizeof ref, "ref.h5");
    omp_set_num_threads(2);
    write_run(ref);

    for (int i = 0; i < np; i++) {
        char err[512] = "", *spec = NULL;
        if (plans[i].mode == KILL_PARENT && access(path[i], F_OK) != 0) continue; /* too early */
        st_store *s = st_open(path[i], &spec, err, sizeof err);
        if (!s && strstr(err, "no complete generation")) {
            /* killed before the first commit: nothing to resume */
            expect(&plans[i], i, 0);
            continue;
        }
        cr_assert_not_null(s, "plan %d (mode %d point %d gen %lu): %s", i, plans[i].mode,
                           plans[i].point, plans[i].gen, err);
        cr_assert_str_eq(spec, SPEC);
        free(spec);
        uint64_t have = st_generations(s);
        if (i == 2 && access("/usr/bin/python3", X_OK) == 0) {
            /* h5py reads what the killed run left */
            char cmd[512], out[4096] = "";
            snprintf(cmd, sizeof cmd, "/usr/bin/python3 analysis/read_run.py '%s' --json", path[i]);
            FILE *f = popen(cmd, "r");
            size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
            out[n] = 0;
            cr_assert(f && pclose(f) == 0, "read_run.py on a killed run: %s", out);
            json_t *j = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
            cr_assert_not_null(j, "%s", out);
            cr_assert_geq((uint64_t)json_integer_value(json_object_get(j, "generations")), have);
            json_decref(j);
        }
        expect(&plans[i], i, have);
        evo_run *r = make();
        cr_assert_eq(st_restore(s, r, err, sizeof err), 0, "plan %d: %s", i, err);
        cr_assert_eq(evo_run_generation(r) + 1, have);
        cr_assert_eq(finish(s, r, err, sizeof err), 0, "plan %d: %s", i, err);
        cr_assert_eq(st_close(s, r, err, sizeof err), 0, "%s", err);
        evo_run_free(r);
        char why[256] = "";
        cr_assert_eq(h5cmp_files(ref, path[i], why, sizeof why), 0, "plan %d (mode %d): %s", i,
                     plans[i].mode, why);
        unlink(path[i]);
    }
    free(path);
}

/* Committed every generation: a kill before the checkpoint is flushed leaves
 * the previous generation as the last complete one; after it, this one. */
static void expect_each(const kill_plan *p, int i, uint64_t have) {
    if (have == 0) {
        cr_assert(p->gen == 0 && (p->mode != KILL_SELF || p->point < 6), "plan %d", i);
        return;
    }
    if (p->mode != KILL_SELF) return;
    if (p->point == 6)
        cr_assert_eq(have, p->gen + 1, "plan %d", i);
    else if (p->point == 5)
        cr_assert(have == p->gen || have == p->gen + 1, "plan %d: %lu", i, have);
    else
        cr_assert_eq(have, p->gen, "plan %d", i);
}

Test(store, killed_runs_resume_to_the_uninterrupted_datasets) {
    /* FRUGAL_STORE_KILLS=n adds n more timer kills (a longer stress run) */
    const char *env = getenv("FRUGAL_STORE_KILLS");
    int extra = env ? atoi(env) : 0;
    if (extra < 0 || extra > 10000) extra = 0;
    int cap = 16 + extra;
    kill_plan *plans = calloc((size_t)cap, sizeof *plans);
    cr_assert(plans);
    int np = 0;
    uint64_t seed = 2024;
    /* self-kill at every hook point, each in a seeded generation */
    for (int pt = 0; pt <= 6; pt++)
        plans[np++] = (kill_plan){KILL_SELF, pt, tu_below(&seed, GENS + 1), 0, 0, false};
    /* a timer fired during an append: in the middle of an HDF5 write or flush */
    for (int i = 0; i < 4 + extra; i++)
        plans[np++] =
            (kill_plan){KILL_TIMER, 0, tu_below(&seed, GENS + 1), tu_below(&seed, 1500), 0, false};
    /* the parent kills at a seeded moment of the run */
    for (int i = 0; i < 3; i++)
        plans[np++] = (kill_plan){KILL_PARENT, 0, 0, 1000 + tu_below(&seed, 30000), 0, false};

    kill_resume_compare(plans, np, "kill", expect_each);
    free(plans);
}

/* Group commit (every 3 generations, and at the end): generation 0 is
 * committed at once, then 3, 6, 9 and 12 (the last). A kill inside a commit
 * of generation g before its checkpoint is flushed leaves the previous
 * commit; a kill between commits loses the uncommitted generations, which the
 * resume computes again, bit for bit. */
static void expect_group(const kill_plan *p, int i, uint64_t have) {
    uint64_t g = p->gen, prev = g == 0 ? 0 : (g - 1) / 3 * 3 + 1;
    bool commits = g == 0 || g % 3 == 0 || g == GENS;
    if (have == 0) {
        cr_assert(g == 0 && (p->mode != KILL_SELF || p->point < 6), "plan %d", i);
        return;
    }
    if (p->mode != KILL_SELF) return;
    if (!commits || p->point == 0)
        cr_assert_eq(have, prev, "plan %d (gen %lu point %d): %lu", i, g, p->point, have);
    else if (p->point == 6)
        cr_assert_eq(have, g + 1, "plan %d", i);
    else if (p->point == 5)
        cr_assert(have == prev || have == g + 1, "plan %d: %lu", i, have);
    else
        cr_assert_eq(have, prev, "plan %d (gen %lu point %d): %lu", i, g, p->point, have);
}

Test(store, group_commit_kills_resume_to_the_uninterrupted_datasets) {
    kill_plan plans[16];
    int np = 0;
    uint64_t seed = 4048;
    /* every hook point in a committing generation, and the start of others */
    for (int pt = 0; pt <= 6; pt++)
        plans[np++] = (kill_plan){KILL_SELF, pt, 3 * (1 + tu_below(&seed, 4)), 0, 3, false};
    plans[np++] = (kill_plan){KILL_SELF, 0, 4, 0, 3, false};
    plans[np++] = (kill_plan){KILL_SELF, 0, 8, 0, 3, false};
    for (int i = 0; i < 4; i++)
        plans[np++] =
            (kill_plan){KILL_TIMER, 0, tu_below(&seed, GENS + 1), tu_below(&seed, 1500), 3, false};
    for (int i = 0; i < 3; i++)
        plans[np++] = (kill_plan){KILL_PARENT, 0, 0, 1000 + tu_below(&seed, 30000), 3, false};
    kill_resume_compare(plans, np, "group", expect_group);
}

/* The same with overlapped appends: a generation that is not committed is
 * stored during the next step (its hook points fire there). */
Test(store, overlapped_kills_resume_to_the_uninterrupted_datasets) {
    kill_plan plans[16];
    int np = 0;
    uint64_t seed = 5050;
    for (int pt = 0; pt <= 6; pt++)
        plans[np++] = (kill_plan){KILL_SELF, pt, 3 * (1 + tu_below(&seed, 4)), 0, 3, true};
    for (uint64_t g = 1; g <= 11; g += 5) /* in the job of the next step */
        plans[np++] = (kill_plan){KILL_SELF, 0, g, 0, 3, true};
    for (int i = 0; i < 4; i++)
        plans[np++] = (kill_plan){
            KILL_TIMER, 0, 1 + tu_below(&seed, GENS - 1), tu_below(&seed, 1500), 3, true};
    plans[np++] = (kill_plan){KILL_PARENT, 0, 0, 1000 + tu_below(&seed, 30000), 3, true};
    kill_resume_compare(plans, np, "overlap", expect_group);
}

/* /pop keeping every third generation, or the last only (output.population):
 * overlapped, group-committed runs killed anywhere resume to the
 * uninterrupted run's datasets, /pop_generations included. */
static void kill_resume_every(uint32_t every, const char *tag, uint64_t seed) {
    keep_every = every;
    kill_plan plans[16];
    int np = 0;
    for (int pt = 0; pt <= 6; pt++)
        plans[np++] = (kill_plan){KILL_SELF, pt, 3 * (1 + tu_below(&seed, 4)), 0, 3, true};
    for (uint64_t g = 2; g <= 11; g += 4)
        plans[np++] = (kill_plan){KILL_SELF, 0, g, 0, 3, true};
    for (int i = 0; i < 3; i++)
        plans[np++] = (kill_plan){
            KILL_TIMER, 0, 1 + tu_below(&seed, GENS - 1), tu_below(&seed, 1500), 3, true};
    kill_resume_compare(plans, np, tag, expect_group);
    keep_every = 0;
}

Test(store, every_third_generation_kills_resume_to_the_uninterrupted_datasets) {
    kill_resume_every(3, "every3-", 6060);
}

Test(store, final_population_kills_resume_to_the_uninterrupted_datasets) {
    kill_resume_every(ST_FINAL, "final-", 7070);
}

/* What /pop keeps: generations 0, N, 2N, ... and the last (listed in
 * /pop_generations, attribute every = N), or the last only (every = 0); the
 * rows are those generations' populations; /stats keeps every generation. */
Test(store, pop_keeps_the_chosen_generations) {
    struct {
        uint32_t every, attr;
        uint64_t gens[GENS + 1];
        size_t n;
    } cases[] = {{5, 5, {0, 5, 10, 12}, 4}, {ST_FINAL, 0, {12}, 1}, {1, 1, {0}, 0}};
    for (size_t c = 0; c < 3; c++) {
        char path[128], err[512] = "";
        path_of(path, sizeof path, "keep.h5");
        keep_every = cases[c].every;
        evo_run *r = make();
        st_opts o = opts(true);
        st_store *s = st_create(path, &o, r, err, sizeof err);
        cr_assert_not_null(s, "%s", err);
        cr_assert_eq(finish(s, r, err, sizeof err), 0, "%s", err);
        cr_assert_eq(st_close(s, r, err, sizeof err), 0, "%s", err);
        keep_every = 0;
        hid_t f = open_ro(path);
        hid_t g = H5Gopen2(f, "pop", H5P_DEFAULT);
        size_t n = 0, ns = 0, nl = 0;
        if (cases[c].every == 1) { /* every generation: no list, no attribute */
            cr_assert_eq(H5Aexists(g, "every"), 0);
            cr_assert_eq(H5Lexists(f, "pop_generations", H5P_DEFAULT), 0);
            n = GENS + 1;
        } else {
            uint32_t a = 99;
            hid_t at = H5Aopen(g, "every", H5P_DEFAULT);
            cr_assert(at >= 0 && H5Aread(at, H5T_NATIVE_UINT32, &a) >= 0);
            H5Aclose(at);
            cr_assert_eq(a, cases[c].attr);
            uint64_t *k = read_all(f, "pop_generations", H5T_NATIVE_UINT64, 8, &n);
            cr_assert_eq(n, cases[c].n);
            cr_assert_eq(memcmp(k, cases[c].gens, n * 8), 0);
            free(k);
        }
        H5Gclose(g);
        double *fit = read_all(f, "pop/fitness", H5T_NATIVE_DOUBLE, 8, &nl);
        cr_assert_eq(nl, n * 120);
        hid_t sd = H5Dopen2(f, "stats", H5P_DEFAULT), sp = H5Dget_space(sd);
        ns = (size_t)H5Sget_simple_extent_npoints(sp);
        H5Sclose(sp);
        H5Dclose(sd);
        cr_assert_eq(ns, GENS + 1);
        /* the last generation's rows are the final population */
        evo_pop_view v;
        evo_run_island(r, 1, &v);
        cr_assert_eq(memcmp(fit + (n - 1) * 120 + 60, v.fitness, 60 * 8), 0);
        free(fit);
        H5Fclose(f);
        evo_run_free(r);
    }
}

/* /elite: where /pop keeps some generations only, the file keeps each
 * generation's best genome, the individual its /stats row names; it equals
 * that individual's row in a run that keeps every generation (the same
 * seed), which itself has no /elite. */
Test(store, elite_keeps_each_generations_best) {
    char all[128], path[128];
    path_of(all, sizeof all, "all.h5");
    path_of(path, sizeof path, "elite.h5");
    write_run(all);
    typedef struct {
        uint32_t island, slot, length;
    } best_t;
    hid_t bt = H5Tcreate(H5T_COMPOUND, sizeof(best_t));
    H5Tinsert(bt, "best_island", HOFFSET(best_t, island), H5T_NATIVE_UINT32);
    H5Tinsert(bt, "best_slot", HOFFSET(best_t, slot), H5T_NATIVE_UINT32);
    H5Tinsert(bt, "best_length", HOFFSET(best_t, length), H5T_NATIVE_UINT32);
    hid_t fa = open_ro(all);
    cr_assert_eq(H5Lexists(fa, "elite", H5P_DEFAULT), 0);
    size_t n, nc;
    best_t *best = read_all(fa, "stats", bt, sizeof *best, &n);
    cr_assert_eq(n, GENS + 1);
    uint64_t *off = read_all(fa, "pop/code_offset", H5T_NATIVE_UINT64, 8, &n);
    uint32_t *len = read_all(fa, "pop/length", H5T_NATIVE_UINT32, 4, &n);
    uint8_t *code = read_all(fa, "pop/code", H5T_NATIVE_UINT8, 1, &nc);
    H5Fclose(fa);
    static const uint32_t choice[] = {5, ST_FINAL};
    for (size_t c = 0; c < 2; c++) {
        keep_every = choice[c];
        write_run(path);
        keep_every = 0;
        hid_t f = open_ro(path);
        size_t ne, nl, nb;
        uint64_t *eo = read_all(f, "elite/code_offset", H5T_NATIVE_UINT64, 8, &ne);
        uint32_t *el = read_all(f, "elite/length", H5T_NATIVE_UINT32, 4, &nl);
        uint8_t *ec = read_all(f, "elite/code", H5T_NATIVE_UINT8, 1, &nb);
        cr_assert_eq(ne, GENS + 1);
        cr_assert_eq(nl, GENS + 1);
        uint64_t end = 0;
        for (size_t g = 0; g < ne; g++) {
            uint64_t row = ((uint64_t)g * 2 + best[g].island) * 60 + best[g].slot;
            cr_assert_eq(el[g], best[g].length, "generation %zu", g);
            cr_assert_eq(el[g], len[row], "generation %zu", g);
            cr_assert_eq(eo[g], end, "generation %zu: the genomes follow one another", g);
            cr_assert_leq(eo[g] + el[g], nb);
            cr_assert_eq(memcmp(ec + eo[g], code + off[row], el[g]), 0, "generation %zu", g);
            end += el[g];
        }
        cr_assert_eq(end, nb);
        free(eo);
        free(el);
        free(ec);
        H5Fclose(f);
    }
    H5Tclose(bt);
    free(best);
    free(off);
    free(len);
    free(code);
}

/* A resume reads /elite up to the checkpoint's generation: a genome that
 * claims bytes past the end of /elite/code is a clear error, and the file
 * is left as it was. */
Test(store, resume_refuses_an_elite_past_its_code) {
    char path[128], err[512] = "", *spec = NULL;
    path_of(path, sizeof path, "ebad.h5");
    keep_every = ST_FINAL;
    write_run(path);
    keep_every = 0;
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert(f >= 0);
    hid_t d = H5Dopen2(f, "elite/length", H5P_DEFAULT);
    cr_assert(d >= 0);
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(1, (hsize_t[]){1}, NULL);
    hsize_t at = GENS, one = 1;
    uint32_t huge = 0xfffffff0u;
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &at, NULL, &one, NULL);
    cr_assert(H5Dwrite(d, H5T_NATIVE_UINT32, ms, fs, H5P_DEFAULT, &huge) >= 0);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
    H5Fclose(f);
    struct stat before;
    cr_assert_eq(stat(path, &before), 0);
    st_store *s = st_open(path, &spec, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    free(spec);
    evo_run *r = make();
    cr_assert_eq(st_restore(s, r, err, sizeof err), -1);
    cr_assert(strstr(err, "truncated or corrupt HDF5 file (while copying the run)"), "%s", err);
    st_close(s, NULL, err, sizeof err);
    evo_run_free(r);
    struct stat after;
    cr_assert_eq(stat(path, &after), 0);
    cr_assert_eq(after.st_size, before.st_size);
    cr_assert_eq(after.st_ino, before.st_ino, "the file was replaced");
}

/* Overlapped appends write the same datasets, on one thread (the job runs
 * before the step's work) and on two; a generation left to a job that did
 * not run is stored by close; stepping without the job is a clear error. */
Test(store, overlapped_appends_write_the_same_file) {
    char ref[128], path[128], why[256] = "", err[512] = "";
    path_of(ref, sizeof ref, "ref.h5");
    omp_set_num_threads(2);
    write_run(ref);
    for (int threads = 1; threads <= 2; threads++) {
        omp_set_num_threads(threads);
        snprintf(path, sizeof path, "%s/ov%d.h5", dir, threads);
        evo_run *r = make();
        st_opts o = opts(false);
        st_store *s = st_create(path, &o, r, err, sizeof err);
        cr_assert_not_null(s, "%s", err);
        st_set_commit(s, 1e9, 4);
        st_set_overlap(s, true);
        cr_assert_eq(finish(s, r, err, sizeof err), 0, "%s", err);
        cr_assert_gt(st_job_seconds(s), 0, "the jobs stored generations");
        cr_assert_eq(st_generations(s), GENS + 1);
        cr_assert_eq(st_close(s, r, err, sizeof err), 0, "%s", err);
        evo_run_free(r);
        cr_assert_eq(h5cmp_files(ref, path, why, sizeof why), 0, "%d threads: %s", threads, why);
    }

    /* generation 5 is left to the job of a step that never comes */
    evo_run *r = make();
    st_opts o = opts(true);
    st_store *s = st_create(path, &o, r, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    st_set_commit(s, 1e9, 64);
    st_set_overlap(s, true);
    for (int g = 0; g <= 5; g++) {
        cr_assert_eq(evo_run_step_with(r, st_job, s), 0);
        cr_assert_eq(st_append(s, r, 0.001, err, sizeof err), 0, "%s", err);
    }
    cr_assert_eq(st_generations(s), 1, "only generation 0 is committed (in a job)");
    cr_assert_eq(st_close(s, r, err, sizeof err), 0, "%s", err);
    char *spec = NULL;
    s = st_open(path, &spec, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_assert_eq(st_generations(s), 6, "close stored the generation left to the job");
    free(spec);
    st_close(s, NULL, err, sizeof err);
    evo_run_free(r);

    /* stepping without the job loses the generation left to it: an error */
    r = make();
    s = st_create(path, &o, r, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    st_set_commit(s, 1e9, 64);
    st_set_overlap(s, true);
    cr_assert_eq(evo_run_step(r), 0);
    cr_assert_eq(st_append(s, r, 0.001, err, sizeof err), 0, "%s", err);
    cr_assert_eq(evo_run_step(r), 0);
    cr_assert_eq(st_append(s, r, 0.001, err, sizeof err), -1);
    cr_assert(strstr(err, "generation 0 was not stored") && strstr(err, "evo_run_step_with"), "%s",
              err);
    st_close(s, NULL, err, sizeof err);
    evo_run_free(r);
}

Test(store, resume_a_finished_run_changes_nothing) {
    char a[128], b[128];
    path_of(a, sizeof a, "a.h5");
    path_of(b, sizeof b, "b.h5");
    omp_set_num_threads(2);
    write_run(a);
    write_run(b);
    char err[512] = "", *spec = NULL;
    st_store *s = st_open(b, &spec, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    free(spec);
    evo_run *r = make();
    cr_assert_eq(st_restore(s, r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(evo_run_generation(r), GENS);
    cr_assert_eq(finish(s, r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(st_close(s, r, err, sizeof err), 0, "%s", err);
    evo_run_free(r);
    char why[256] = "";
    cr_assert_eq(h5cmp_files(a, b, why, sizeof why), 0, "%s", why);
}

/* ---- bad input ---- */

static void copy_prefix(const char *from, const char *to, long n) {
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    cr_assert(in && out);
    char buf[4096];
    long done = 0;
    size_t k;
    while (done < n && (k = fread(buf, 1, sizeof buf, in)) > 0) {
        if ((long)k > n - done) k = (size_t)(n - done);
        fwrite(buf, 1, k, out);
        done += (long)k;
    }
    fclose(in);
    fclose(out);
}

static long file_size(const char *p) {
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    return (long)st.st_size;
}

static void expect_open_error(const char *path, const char *what) {
    char err[512] = "", *spec = (char *)1;
    st_store *s = st_open(path, &spec, err, sizeof err);
    cr_assert_null(s, "%s opened", path);
    cr_assert_null(spec);
    cr_assert(strstr(err, path) != NULL, "message does not name the file: %s", err);
    cr_assert(strstr(err, what) != NULL, "expected \"%s\" in: %s", what, err);
}

Test(store, truncated_files_are_clear_errors) {
    char full[128], cut[128];
    path_of(full, sizeof full, "full.h5");
    path_of(cut, sizeof cut, "cut.h5");
    write_run(full);
    long n = file_size(full);
    long at[] = {0, 8, 100, 2048, n / 3, n / 2, n - 4096, n - 100, n - 1};
    for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
        copy_prefix(full, cut, at[i]);
        expect_open_error(cut, at[i] < 8 ? "not an HDF5 file" : "truncated or corrupt HDF5 file");
    }
}

Test(store, corrupt_files_are_clear_errors_or_still_consistent) {
    char full[128], bad[128];
    path_of(full, sizeof full, "full.h5");
    path_of(bad, sizeof bad, "bad.h5");
    write_run(full);
    long n = file_size(full);
    uint64_t seed = 99;
    int errors = 0;
    /* FRUGAL_STORE_CORRUPT=n: n damaged copies instead of 24 (a longer stress run) */
    const char *env = getenv("FRUGAL_STORE_CORRUPT");
    int tries = env && atoi(env) > 0 ? atoi(env) : 24;
    for (int t = 0; t < tries; t++) {
        copy_prefix(full, bad, n);
        FILE *f = fopen(bad, "r+b");
        long at = t == 0 ? 8 : (long)tu_below(&seed, (uint32_t)n);
        long len = 1 + (long)tu_below(&seed, 200);
        fseek(f, at, SEEK_SET);
        for (long k = 0; k < len; k++)
            fputc((int)tu_below(&seed, 256), f);
        fclose(f);
        char err[512] = "", *spec = NULL;
        st_store *s = st_open(bad, &spec, err, sizeof err);
        if (!s) {
            cr_assert(strstr(err, bad) != NULL, "%s", err);
            errors++;
            continue;
        }
        /* the damage missed what open reads: restoring either works or fails cleanly */
        free(spec);
        evo_run *r = make();
        if (st_restore(s, r, err, sizeof err) < 0) cr_assert(strstr(err, bad) != NULL);
        st_close(s, NULL, err, sizeof err);
        evo_run_free(r);
    }
    cr_assert_gt(errors, 0);
}

Test(store, other_files_are_clear_errors) {
    char p[128];
    path_of(p, sizeof p, "text.h5");
    FILE *f = fopen(p, "w");
    fputs("{\"not\": \"hdf5\"}\n", f);
    fclose(f);
    expect_open_error(p, "not an HDF5 file");

    path_of(p, sizeof p, "missing.h5");
    expect_open_error(p, "No such file");

    /* an HDF5 file that is not a run */
    path_of(p, sizeof p, "other.h5");
    hid_t h = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t d[1] = {4};
    hid_t sp = H5Screate_simple(1, d, NULL);
    hid_t ds = H5Dcreate2(h, "x", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Fclose(h);
    expect_open_error(p, "not a frugal run (no /frugal attribute)");

    /* a newer format */
    path_of(p, sizeof p, "newer.h5");
    h = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(h, "frugal", H5T_STD_U32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    unsigned v = 3;
    H5Awrite(a, H5T_NATIVE_UINT, &v);
    H5Aclose(a);
    H5Sclose(sp);
    H5Fclose(h);
    expect_open_error(p, "format version 3 is newer than this frugal (1)");
}

Test(store, existing_path_needs_force) {
    char p[128];
    path_of(p, sizeof p, "exists.h5");
    FILE *f = fopen(p, "w");
    fputs("precious", f);
    fclose(f);
    char err[512] = "";
    evo_run *r = make();
    st_opts o = opts(false);
    cr_assert_null(st_create(p, &o, r, err, sizeof err));
    cr_assert(strstr(err, p) && strstr(err, "already exists"), "%s", err);
    cr_assert_eq(file_size(p), 8);
    o.force = true;
    st_store *s = st_create(p, &o, r, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_assert_eq(st_close(s, r, err, sizeof err), 0);
    /* appending out of order is an error */
    o.force = true;
    s = st_create(p, &o, r, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_assert_eq(evo_run_step(r), 0);
    cr_assert_eq(evo_run_step(r), 0);
    cr_assert_eq(st_append(s, r, 0, err, sizeof err), -1);
    cr_assert(strstr(err, "does not follow"), "%s", err);
    cr_assert_eq(st_close(s, r, err, sizeof err), 0);
    evo_run_free(r);
}

/* ---- the ecosystem ---- */

Test(store, h5dump_shows_the_file) {
    char p[128], cmd[256];
    path_of(p, sizeof p, "dump.h5");
    write_run(p);
    snprintf(cmd, sizeof cmd, "h5dump -H '%s' > '%s/dump.txt' 2>&1", p, dir);
    cr_assert_eq(system(cmd), 0, "h5dump failed");
    snprintf(cmd, sizeof cmd, "grep -q 'DATASET \"errors\"' '%s/dump.txt'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(store, python_reads_what_frugal_reported) {
    if (access("/usr/bin/python3", X_OK) != 0) cr_skip_test("no /usr/bin/python3");
    char p[128], cmd[512];
    path_of(p, sizeof p, "py.h5");
    omp_set_num_threads(2);
    write_run(p);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 analysis/read_run.py '%s' --json", p);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    static char out[1 << 16];
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    cr_assert_eq(pclose(f), 0, "read_run.py failed: %s", out);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    cr_assert_not_null(j, "%s: %s", je.text, out);

    evo_run *r = make();
    json_t *be = json_object_get(j, "best_error"), *bg = json_object_get(j, "best_gas");
    cr_assert_eq(json_integer_value(json_object_get(j, "generations")), GENS + 1);
    cr_assert_eq(json_integer_value(json_object_get(j, "seed")), 77);
    cr_assert_str_eq(json_string_value(json_object_get(j, "stop_reason")), "generations");
    cr_assert_eq(json_array_size(be), GENS + 1);
    evo_stats st;
    for (size_t g = 0; g <= GENS; g++) {
        cr_assert_eq(evo_run_step(r), 0);
        cr_assert_eq(evo_run_stats(r, &st), 0);
        cr_assert_eq(json_real_value(json_array_get(be, g)), st.best_error, "gen %zu", g);
        cr_assert_eq((uint64_t)json_integer_value(json_array_get(bg, g)), st.best_gas);
    }
    cr_assert_eq((uint64_t)json_integer_value(json_object_get(j, "evaluations")),
                 evo_run_evaluations(r));
    json_t *b = json_object_get(j, "best");
    cr_assert_eq(json_integer_value(json_object_get(b, "island")), st.best_island);
    cr_assert_eq(json_integer_value(json_object_get(b, "slot")), st.best_slot);
    cr_assert_eq(json_real_value(json_object_get(b, "error")), st.best_error);
    evo_pop_view v;
    evo_run_island(r, st.best_island, &v);
    char hex[2 * 1024 + 1] = "";
    for (uint32_t i = 0; i < v.len[st.best_slot]; i++)
        sprintf(hex + 2 * i, "%02x", v.code[(size_t)st.best_slot * v.stride + i]);
    cr_assert_str_eq(json_string_value(json_object_get(b, "code")), hex);
    json_decref(j);
    evo_run_free(r);
}
