/* frugal bench store: what the HDF5 store adds to a run. The same spec runs
 * with no store and with the store as frugal run writes it (group commits,
 * appends overlapped with the steps), interleaved round by round; the cost
 * is the median of the per-round ratios of their CPU times (of the whole
 * process: the store's overlapped jobs count too). */
#include "store/store.h"
#include "experiments/bench/bench.h"
#include "experiments/cli.h"
#include "experiments/spec.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    exp_spec *s;
    char path[64];
    uint64_t hash, bytes, rows;
    bool differs;
} store_ctx;

/* One run of the spec, stored (k 1) or not (k 0): CPU seconds, or -1. */
static double store_measure(void *ctx, int k) {
    store_ctx *c = ctx;
    char err[1024];
    evo_run *r = evo_run_new(&c->s->params, &c->s->task, err, sizeof err);
    st_store *st = NULL;
    double t = -1;
    if (!r) goto cleanup;
    double t0 = bench_cpu(false);
    if (k) {
        st_file files[ST_MAX_FILES];
        st_opts so = {.spec_json = c->s->canonical,
                      .files = files,
                      .nfiles = exp_spec_store_files(c->s, files),
                      .spec_name = c->s->name,
                      .threads = c->s->threads,
                      .per_case = c->s->per_case,
                      .every = c->s->keep_every,
                      .force = true};
        if (!(st = st_create(c->path, &so, r, err, sizeof err))) goto cleanup;
        st_set_commit(st, c->s->commit_seconds, 0);
        st_set_overlap(st, true);
    }
    for (;;) {
        int s = evo_run_step_with(r, st ? st_job : NULL, st);
        if (s < 0) goto cleanup;
        if (s == 1) break;
        if (st && st_append(st, r, 0, err, sizeof err)) goto cleanup;
    }
    if (st && st_flush(st, r, err, sizeof err)) goto cleanup;
    if (st) {
        int rc = st_close(st, r, err, sizeof err);
        st = NULL;
        if (rc) goto cleanup;
    }
    t = bench_cpu(false) - t0;
    if (c->hash && c->hash != evo_run_hash(r)) c->differs = true;
    c->hash = evo_run_hash(r);
    struct stat sb;
    if (k && stat(c->path, &sb) == 0) {
        c->bytes = (uint64_t)sb.st_size;
        c->rows = (evo_run_generation(r) + 1) * c->s->params.pop_size * c->s->params.islands;
    }
cleanup:
    if (t < 0) fprintf(stderr, "frugal bench store: %s\n", r ? err : "out of memory");
    if (st) st_close(st, NULL, err, sizeof err);
    evo_run_free(r);
    return t;
}

int exp_bench_store_figures(const char *spec, uint32_t threads, const char *population, int rounds,
                            exp_store_figures *f) {
    exp_spec s;
    char err[1024], used[32];
    snprintf(used, sizeof used, "%u", threads);
    exp_override ov[] = {{"threads", used}, {"output.population", population}};
    int rc = exp_spec_load(&s, spec, NULL, ov, population ? 2 : 1, err, sizeof err);
    if (rc) {
        fprintf(stderr, "frugal bench store: %s\n", err);
        return rc;
    }
    store_ctx c = {.s = &s};
    snprintf(c.path, sizeof c.path, "/tmp/frugal-bench-store-%ld.h5", (long)getpid());
    double *v = malloc(sizeof *v * 2 * (size_t)rounds);
    rc = EXP_EXIT_FAIL;
    /* one untimed run of each first: the first stored run pays HDF5's
     * start-up and a new file's pages (about +200% in a one-round run) */
    if (v && store_measure(&c, 0) >= 0 && store_measure(&c, 1) >= 0 &&
        !bench_rounds(store_measure, &c, 2, rounds, v)) {
        bench_stat r = bench_ratio(v, 2, rounds, 1, 0);
        f->cost = (bench_stat){(r.med - 1) * 100, (r.min - 1) * 100, (r.max - 1) * 100};
        f->secs = bench_stat_of(v, 2, rounds, 0);
        f->bytes = c.bytes;
        f->per_row = c.rows ? (double)c.bytes / (double)c.rows : 0;
        f->hash = c.hash;
        f->same_hash = !c.differs;
        rc = EXP_EXIT_OK;
    }
    unlink(c.path);
    free(v);
    exp_spec_free(&s);
    return rc;
}

static const char store_usage[] =
    "usage: frugal bench store [--spec FILE] [--threads N] [--reps N] [--population WHICH]\n"
    "What the HDF5 store adds to a run: the spec (default specs/quartic.json)\n"
    "runs with no store and stored as frugal run stores it, interleaved; prints the\n"
    "median (min, max) of the per-round extra CPU time, and the file's size.\n"
    "  --spec FILE  the run (default specs/quartic.json)\n"
    "  --threads N  threads (default 1)\n"
    "  --reps N     rounds (default 11)\n"
    "  --population WHICH  output.population: every, \"every N\" or final (default: the\n"
    "               spec's)\n";

int exp_bench_store(int argc, char **argv) {
    const char *spec = "specs/quartic.json";
    uint64_t threads = 1, reps = BENCH_MIN_ROUNDS;
    const char *population = NULL;
    static const struct option opts[] = {
        {"spec", required_argument, 0, 'f'}, {"threads", required_argument, 0, 't'},
        {"reps", required_argument, 0, 'r'}, {"population", required_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': spec = optarg; break;
        case 't':
            if (exp_parse_u64("--threads", optarg, &threads)) return EXP_EXIT_USAGE;
            break;
        case 'r':
            if (exp_parse_u64("--reps", optarg, &reps)) return EXP_EXIT_USAGE;
            break;
        case 'p': population = optarg; break;
        case 'h': fputs(store_usage, stdout); return EXP_EXIT_OK;
        default: fputs(store_usage, stderr); return EXP_EXIT_USAGE;
        }
    }
    if (threads < 1 || threads > 1024 || reps < 1 || reps > 100) {
        fprintf(stderr, "frugal bench store: --threads 1..1024, --reps 1..100\n");
        return EXP_EXIT_USAGE;
    }
    char path[4096];
    if (!strcmp(spec, "specs/quartic.json") && exp_find_file(spec, path, sizeof path) == 0)
        spec = path;
    exp_store_figures f;
    printf("frugal bench store: %s, %" PRIu64 " thread(s), %" PRIu64
           " interleaved rounds of a run\nwith no store and with the store (output.population: "
           "%s); CPU time, median (min, max)\n",
           spec, threads, reps, population ? population : "the spec's");
    int rc = exp_bench_store_figures(spec, (uint32_t)threads, population, (int)reps, &f);
    if (rc) return rc;
    printf("  run with no store: %.3f s (min %.3f, max %.3f)\n", f.secs.med, f.secs.min,
           f.secs.max);
    printf("  store cost: %+.1f%% (min %+.1f%%, max %+.1f%%)  goal <= 5%%\n", f.cost.med,
           f.cost.min, f.cost.max);
    printf("  file: %" PRIu64 " bytes, %.1f bytes per individual per generation; population hash "
           "%016" PRIx64 " in every run: %s\n",
           f.bytes, f.per_row, f.hash, f.same_hash ? "yes" : "NO");
    return f.same_hash ? EXP_EXIT_OK : EXP_EXIT_FAIL;
}
