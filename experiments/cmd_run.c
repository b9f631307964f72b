/* frugal run and the HDF5 branch of frugal resume (docs/cli.md); frugal
 * batch is in cmd_batch.c. A run steps generation by generation and appends each to the
 * HDF5 store; SIGINT/SIGTERM set a flag that is checked between generations,
 * so an interrupted run stops cleanly after the current one and stays
 * resumable. */
#include "experiments/cli.h"
#include "analysis/analysis.h"
#include "experiments/spec.h"
#include "experiments/run.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* ---- signals: a flag, checked between generations ---- */

volatile sig_atomic_t exp_stop_flag;

static void on_signal(int sig) {
    (void)sig;
    exp_stop_flag = 1;
}

void exp_signals_install(exp_sig_saved *s) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C kills at once (the store is crash-safe) */
    exp_stop_flag = 0;
    sigaction(SIGINT, &sa, &s->old_int);
    sigaction(SIGTERM, &sa, &s->old_term);
}

void exp_signals_restore(const exp_sig_saved *s) {
    sigaction(SIGINT, &s->old_int, NULL);
    sigaction(SIGTERM, &s->old_term, NULL);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- helpers ---- */

int exp_make_parent_dirs(const char *path) {
    char buf[4096];
    if (strlen(path) >= sizeof buf) {
        fprintf(stderr, "frugal: %s: path too long\n", path);
        return EXP_EXIT_IO;
    }
    strcpy(buf, path);
    char *slash = strrchr(buf, '/');
    if (!slash) return 0;
    *slash = 0;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) && errno != EEXIST) goto fail;
        *p = '/';
    }
    if (buf[0] && mkdir(buf, 0777) && errno != EEXIST) goto fail;
    return 0;
fail:
    fprintf(stderr, "frugal: cannot create folder %s: %s\n", buf, strerror(errno));
    return EXP_EXIT_IO;
}

static void fmt_duration(double s, char *buf, size_t cap) {
    if (!(s >= 0) || s > 1e7) {
        snprintf(buf, cap, "?");
        return;
    }
    unsigned long t = (unsigned long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%lu:%02lu", t / 60, t % 60);
}

/* The progress line (stderr, TTY only): generation, best error and its gas,
 * evaluations per second, ETA from the budgets that count. */
static void progress(const evo_run *r, double t_start, uint64_t evals0, uint64_t gen0) {
    evo_stats st;
    if (evo_run_stats(r, &st)) return;
    const evo_params *p = evo_run_params(r);
    double el = now() - t_start;
    double rate = el > 0 ? (double)(st.evaluations - evals0) / el : 0;
    double eta = -1;
    uint64_t gdone = st.generation - gen0;
    if (p->max_generations && gdone > 0 && st.generation < p->max_generations)
        eta = el / (double)gdone * (double)(p->max_generations - st.generation);
    if (p->max_evaluations && rate > 0) {
        double e = st.evaluations >= p->max_evaluations
                       ? 0
                       : (double)(p->max_evaluations - st.evaluations) / rate;
        if (eta < 0 || e < eta) eta = e;
    }
    char etas[32], gens[32] = "";
    fmt_duration(eta, etas, sizeof etas);
    if (p->max_generations) snprintf(gens, sizeof gens, "/%" PRIu64, p->max_generations);
    fprintf(stderr,
            "\r\033[Kgen %" PRIu64 "%s  best error %.6g  gas %" PRIu64 "  %.0f evals/s  ETA %s",
            st.generation, gens, st.best_error, st.best_gas, rate, etas);
    fflush(stderr);
}

/* ---- MPI (docs/cluster.md): no-ops in the plain build ---- */

int exp_mpi_root_rc(int rc) {
    int v = evo_mpi_rank() == 0 ? rc : 0;
    if (evo_mpi_max_ints(&v, 1)) evo_mpi_abort(EXP_EXIT_FAIL);
    return v;
}

/* A failure on one rank while the others are inside the run: stop them all. */
static void mpi_fail(bool spread, int rc) {
    if (spread && evo_mpi_size() > 1) {
        fprintf(stderr, "frugal: rank %u failed (exit %d): stopping every rank\n", evo_mpi_rank(),
                rc);
        evo_mpi_abort(rc);
    }
}

/* Where the time went on this rank, after a run spread over ranks. */
static void mpi_report(const evo_run *r, double wall) {
    evo_mpi_counters c;
    evo_mpi_get_counters(&c);
    uint64_t g = c.shares ? c.shares : 1;
    fprintf(stderr,
            "frugal: MPI: %u ranks, %u islands (island i on rank i %% %u); %" PRIu64
            " generations exchanged, %.3f ms each (%.1f%% of %.2f s; waiting for other ranks"
            " %.3f ms, transfer %.3f ms), %.1f kB received each; %" PRIu64
            " migrations, %.3f ms each\n",
            evo_mpi_size(), evo_run_params(r)->islands, evo_mpi_size(), c.shares,
            1e3 * c.share_seconds / (double)g, wall > 0 ? 100 * c.share_seconds / wall : 0, wall,
            1e3 * c.wait_seconds / (double)g, 1e3 * (c.share_seconds - c.wait_seconds) / (double)g,
            (double)c.share_bytes / 1e3 / (double)g, c.migrations,
            c.migrations ? 1e3 * c.migrate_seconds / (double)c.migrations : 0);
}

typedef struct {
    bool interrupted;
    double wall;
    double step_seconds;      /* making generations: selection, variation, evaluation */
    double store_seconds;     /* writing them to the HDF5 file, between steps */
    double store_job_seconds; /* the same, overlapped with the steps (st_job) */
} run_outcome;

#if EXP_HAVE_STORE
/* How frugal run and resume write: group commits, overlapped with the steps. */
static void store_policy(st_store *st, double commit_seconds) {
    st_set_commit(st, commit_seconds, 0);
    st_set_overlap(st, true);
}
#endif

/* Superoptimisation tasks (straight-line, with a target block): a tenth of
 * each island is seeded with the block after generation 0, as frugal
 * superopt does, so that the search starts from a correct program. */
static int seed_block(evo_run *r) {
    const fit_task *t = evo_run_task(r);
    if (!t->straight_line || !t->block || !t->block_len) return 0;
    const evo_params *p = evo_run_params(r);
    uint32_t nseed = p->pop_size / 10 ? p->pop_size / 10 : 1;
    for (uint32_t k = 0; k < p->islands; k++)
        for (uint32_t i = 0; i < nseed; i++)
            if (evo_run_seed(r, k, i, t->block, t->block_len)) return -1;
    return 0;
}

static int drive(evo_run *r, void *store, const char *file, bool show, bool spread,
                 run_outcome *oc) {
    int rc = EXP_EXIT_OK;
    exp_sig_saved saved;
    exp_signals_install(&saved);
    double t_start = now();
    uint64_t evals0 = evo_run_evaluations(r), gen0 = evo_run_generation(r);
    double t_shown = 0;
    (void)store;
    (void)file;
    /* a fresh run always makes generation 0, so that there is a checkpoint.
     * Ranks stop together: a signal seen by one rank stops them all. */
    int stopping = exp_stop_flag;
    while ((!stopping || !evo_run_started(r)) && !evo_run_stopped(r)) {
        double t0 = now();
#if EXP_HAVE_STORE
        /* the store writes the previous generation while the other threads
         * make this one (st_set_overlap) */
        int k = evo_run_step_with(r, store ? st_job : NULL, store);
#else
        int k = evo_run_step(r);
#endif
        double t1 = now();
        oc->step_seconds += t1 - t0;
        if (k < 0) {
            fprintf(stderr, "%sfrugal: the run failed: out of memory\n", show ? "\n" : "");
            rc = EXP_EXIT_FAIL;
            mpi_fail(spread, rc);
            break;
        }
        if (k == 1) break;
        if (evo_run_generation(r) == 0 && seed_block(r)) {
            fprintf(stderr, "%sfrugal: the task's block is not a genome of its ISA\n",
                    show ? "\n" : "");
            rc = EXP_EXIT_INPUT;
            break;
        }
#if EXP_HAVE_STORE
        char err[512];
        if (store && st_append((st_store *)store, r, t1 - t0, err, sizeof err)) {
            fprintf(stderr, "%sfrugal: %s\n", show ? "\n" : "", err);
            rc = EXP_EXIT_IO;
            mpi_fail(spread, rc);
            break;
        }
        oc->store_seconds += now() - t1;
#else
        (void)t0;
#endif
        /* at most 10 progress lines a second, and always the last one */
        if (show && (now() - t_shown >= 0.1 || evo_run_stopped(r) || exp_stop_flag)) {
            progress(r, t_start, evals0, gen0);
            t_shown = now();
        }
        stopping = exp_stop_flag;
        if (spread && evo_mpi_max_ints(&stopping, 1)) evo_mpi_abort(EXP_EXIT_FAIL);
    }
#if EXP_HAVE_STORE
    double tf = now();
    char ferr[512];
    if (store && rc == EXP_EXIT_OK && st_flush((st_store *)store, r, ferr, sizeof ferr)) {
        fprintf(stderr, "%sfrugal: %s\n", show ? "\n" : "", ferr);
        rc = EXP_EXIT_IO;
    }
    oc->store_seconds += now() - tf;
    oc->store_job_seconds = st_job_seconds((st_store *)store);
#endif
    if (show) fputc('\n', stderr);
    oc->wall = now() - t_start;
    oc->interrupted = stopping && !evo_run_stopped(r);
    exp_signals_restore(&saved);
    return rc;
}

static const char *status_name(uint8_t s) {
    return vm_status_name((vm_status)s);
}

/* The summary: human-readable, or JSON with --json. */
static void summary(evo_run *r, const exp_spec *s, const char *file, const run_outcome *oc,
                    bool json) {
    evo_stats st;
    if (evo_run_stats(r, &st)) return;
    const fit_task *t = evo_run_task(r);
    evo_pop_view v;
    evo_run_island(r, st.best_island, &v);
    /* down-sampling: a best not verified was judged on the last sample;
     * show it on every training case */
    bool sampled = evo_run_params(r)->downsample < 1 && !(v.ops[st.best_slot] & EVO_OP_VERIFIED);
    if (sampled) {
        fit_result fr = {.errors = calloc(fit_task_nerrors(t, FIT_TRAIN) + 1, sizeof(double))};
        if (fr.errors && evo_run_eval(r, st.best_island, st.best_slot, FIT_TRAIN, &fr) == 0) {
            st.best_error = fr.error;
            st.best_hits = fr.hits;
            st.best_gas = fr.gas;
            st.best_memtime = fr.memtime;
            st.best_status = (uint8_t)fr.worst;
        }
        free(fr.errors);
    }
    const uint8_t *code = v.code + (size_t)st.best_slot * v.stride;
    uint32_t len = v.len[st.best_slot];
    /* generalisation: the best on the test split */
    fit_result tr = {0};
    const fit_cases *tc = fit_task_cases(t, FIT_TEST);
    uint32_t nerr = fit_task_nerrors(t, FIT_TEST);
    tr.errors = calloc(nerr ? nerr : 1, sizeof *tr.errors);
    bool have_test = tr.errors && evo_run_eval(r, st.best_island, st.best_slot, FIT_TEST, &tr) == 0;
    const char *stop = oc->interrupted ? "interrupted" : evo_stop_name(evo_run_stopped(r));
    char hash[24];
    snprintf(hash, sizeof hash, "%016" PRIx64, evo_run_hash(r));
    /* the best program as an expression (docs/report.md, "Expressions") */
    an_expr_opts eo;
    char why[96];
    char *expr = an_expr_opts_task(t, &evo_run_params(r)->limits, &eo, why, sizeof why)
                     ? NULL
                     : an_expr_string(code, len, &eo, AN_EXPR_INFIX);
    if (json) {
        json_t *o = json_object(), *b = json_object();
        char *hex = malloc(2 * (size_t)len + 1);
        if (hex) exp_hex(code, len, hex);
        if (o && b) {
            json_object_set_new(o, "spec", json_string(s->name));
            json_object_set_new(o, "task", json_string(s->task_name));
            json_object_set_new(o, "seed", json_integer((json_int_t)evo_run_params(r)->seed));
            json_object_set_new(o, "file", file ? json_string(file) : json_null());
            json_object_set_new(o, "stop", json_string(stop));
            json_object_set_new(o, "interrupted", json_boolean(oc->interrupted));
            json_object_set_new(o, "generation", json_integer((json_int_t)st.generation));
            json_object_set_new(o, "evaluations", json_integer((json_int_t)st.evaluations));
            json_object_set_new(o, "gas_total", json_integer((json_int_t)st.gas_total));
            json_object_set_new(o, "hash", json_string(hash));
            json_object_set_new(o, "reproducible", json_boolean(evo_run_reproducible(r)));
            json_object_set_new(o, "wall_seconds", json_real(oc->wall));
            json_object_set_new(o, "step_seconds", json_real(oc->step_seconds));
            json_object_set_new(o, "store_seconds", json_real(oc->store_seconds));
            json_object_set_new(o, "store_job_seconds", json_real(oc->store_job_seconds));
            json_object_set_new(b, "island", json_integer(st.best_island));
            json_object_set_new(b, "slot", json_integer(st.best_slot));
            json_object_set_new(b, "fitness", json_real(st.best_fitness));
            json_object_set_new(b, "error", json_real(st.best_error));
            json_object_set_new(b, "hits", json_integer(st.best_hits));
            json_object_set_new(b, "cases", json_integer(t->train.n));
            json_object_set_new(b, "gas", json_integer((json_int_t)st.best_gas));
            json_object_set_new(b, "memtime", json_integer((json_int_t)st.best_memtime));
            json_object_set_new(b, "length", json_integer(st.best_length));
            json_object_set_new(b, "status", json_string(status_name(st.best_status)));
            json_object_set_new(b, "code", json_string(hex ? hex : ""));
            if (expr) json_object_set_new(b, "expr", json_string(expr));
            if (t->block && t->block_len)
                json_object_set_new(o, "block_gas", json_integer((json_int_t)t->block_gas));
            if (have_test) {
                json_object_set_new(b, "test_error", json_real(tr.error));
                json_object_set_new(b, "test_hits", json_integer(tr.hits));
                json_object_set_new(b, "test_cases", json_integer(tc->n));
            }
            if (!oc->interrupted) exp_show_simplified(NULL, b, r, s, &st);
            json_object_set_new(o, "best", b);
            b = NULL;
            json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
            fputc('\n', stdout);
        }
        json_decref(o);
        json_decref(b);
        free(hex);
    } else {
        printf("%s, seed %" PRIu64 ": stopped (%s) after %" PRIu64 " generations, %" PRIu64
               " evaluations (%.1f s)\n",
               s->name, evo_run_params(r)->seed, stop, st.generation, st.evaluations, oc->wall);
        printf("best: error %.6g, %u/%u hits, gas %" PRIu64 " over %u cases, %u bytes, %s\n",
               st.best_error, st.best_hits, t->train.n, st.best_gas, t->train.n, st.best_length,
               status_name(st.best_status));
        if (sampled) printf("(chosen on the last generation's sample of the training cases)\n");
        if (have_test && tc != fit_task_cases(t, FIT_TRAIN))
            printf("test: error %.6g, %u/%u hits\n", tr.error, tr.hits, tc->n);
        exp_print_program(stdout, t, code, len, "  ");
        if (expr && t->fixed_point) printf("expr: %s\n", expr); /* regression: a formula */
        if (t->block && t->block_len && t->train.n)
            printf("the block costs %" PRIu64 " gas; the best costs %.1f per case\n", t->block_gas,
                   (double)st.best_gas / t->train.n);
        if (!oc->interrupted) exp_show_simplified(stdout, NULL, r, s, &st);
        printf("hash %s%s%s\n", hash, file ? ", results in " : "", file ? file : "");
        if (!evo_run_reproducible(r))
            printf("note: a wall-clock budget was set; this run is not reproducible\n");
        if (oc->interrupted && file) printf("interrupted: continue with  frugal resume %s\n", file);
    }
    free(tr.errors);
    free(expr);
}

/* The exit code of a failed evo_run_new: out of memory is the run's failure
 * (1, docs/cli.md), anything else a bad spec (3). */
static int new_run_failed(const char *err) {
    return strstr(err, "out of memory") ? EXP_EXIT_FAIL : EXP_EXIT_INPUT;
}

/* Build and run a loaded spec into file (NULL: do not store). */
int exp_run_loaded(exp_spec *s, const char *file, const exp_run_flags *f, evo_run **keep) {
    char err[1024];
    int rc = EXP_EXIT_OK;
    void *store = NULL;
    evo_run *r = evo_run_new(&s->params, &s->task, err, sizeof err);
    if (!r) {
        fprintf(stderr, "frugal: spec %s: %s\n", s->name, err);
        return new_run_failed(err);
    }
    bool root = !f->spread || evo_mpi_rank() == 0; /* rank 0 alone writes the file */
    if (f->spread && evo_run_use_mpi(r)) {
        rc = EXP_EXIT_FAIL;
        goto done;
    }
    if (s->params.max_seconds > 0 && !f->quiet && root)
        fprintf(stderr, "frugal: budget.wall_seconds is set: this run is not reproducible\n");
#if EXP_HAVE_STORE
    if (file && root) {
        if ((rc = exp_make_parent_dirs(file))) goto created;
        st_file files[ST_MAX_FILES];
        st_opts so = {.spec_json = s->canonical,
                      .files = files,
                      .nfiles = exp_spec_store_files(s, files),
                      .spec_name = s->name,
                      .threads = s->threads,
                      .per_case = s->per_case,
                      .every = s->keep_every,
                      .force = f->force};
        store = st_create(file, &so, r, err, sizeof err);
        if (!store) {
            fprintf(stderr, "frugal: %s\n", err);
            rc = EXP_EXIT_IO;
        }
        store_policy((st_store *)store, s->commit_seconds);
    }
created:
    if (f->spread) rc = exp_mpi_root_rc(rc);
    if (rc) {
        if (store) st_close((st_store *)store, NULL, err, sizeof err);
        goto done;
    }
#else
    if (file && !f->quiet)
        fprintf(stderr, "frugal: this build has no HDF5 store yet: %s is not written\n", file);
    file = NULL;
#endif
    run_outcome oc = {0};
    bool show = !f->quiet && isatty(2) && root;
    rc = drive(r, store, file, show, f->spread, &oc);
#if EXP_HAVE_STORE
    if (store && st_close((st_store *)store, r, err, sizeof err)) {
        fprintf(stderr, "frugal: %s\n", err);
        if (!rc) rc = EXP_EXIT_IO;
    }
#endif
    if (rc) goto done;
    if ((f->json || !f->quiet) && root) summary(r, s, file, &oc, f->json);
    if (!f->quiet && root && f->spread && evo_mpi_active()) mpi_report(r, oc.wall);
    if (oc.interrupted) rc = EXP_EXIT_INTERRUPTED;
done:
    if (keep && !rc)
        *keep = r;
    else
        evo_run_free(r);
    return rc;
}

int exp_run_spec(const char *path, const exp_override *ov, size_t nov, const char *outpath,
                 bool force, bool quiet, exp_spec *spec, evo_run **out, char *used,
                 size_t usedcap) {
    char err[EXP_SPEC_ERRCAP];
    int rc = exp_spec_load(spec, path, NULL, ov, nov, err, sizeof err);
    if (rc) {
        fprintf(stderr, "frugal: %s\n", err);
        return rc;
    }
    char file[4096];
    if (outpath)
        snprintf(file, sizeof file, "%s", outpath);
    else
        snprintf(file, sizeof file, "results/%s/seed-%" PRIu64 ".h5", spec->name,
                 spec->params.seed);
    if (used) snprintf(used, usedcap, "%s", file);
    exp_run_flags f = {.quiet = quiet, .force = force};
    rc = exp_run_loaded(spec, file, &f, out);
    if (rc) exp_spec_free(spec);
    return rc;
}

/* ---- frugal run ---- */

static const char run_usage[] =
    "usage: frugal run SPEC.json [--seed N] [--threads N] [--generations N] [--out FILE.h5]\n"
    "                  [--set key.path=value]... [--quiet] [--json] [--force]\n"
    "Runs the experiment SPEC and appends every generation to an HDF5 file\n"
    "(default results/<spec name>/seed-<seed>.h5). docs/specs.md describes specs.\n"
    "  --seed N          the run seed (spec key seed)\n"
    "  --threads N       OpenMP threads (0: all); never changes the results\n"
    "  --generations N   the generation budget (budget.generations)\n"
    "  --out FILE        the HDF5 file to write\n"
    "  --set K=V         set any spec key, e.g. --set selection.method=lexicase\n"
    "  --quiet           no progress line and no summary\n"
    "  --json            print a machine-readable summary at the end\n"
    "  --force           overwrite an existing output file\n"
    "  --print-spec      print the canonical effective spec and exit\n"
    "Ctrl-C stops after the current generation; frugal resume FILE.h5 continues.\n"
    "Generations reach the file at least every output.commit_seconds (default 1 s): a\n"
    "kill loses at most that much work, which frugal resume computes again, bit for bit.\n"
    "Exit: 0 done, 1 out of memory, 2 usage, 3 bad spec, 4 I/O error or an existing\n"
    "output without --force, 130 interrupted (docs/cli.md).\n";

int exp_parse_set(const char *opt, char *s, exp_override *o) {
    char *eq = strchr(s, '=');
    if (!eq || eq == s) {
        fprintf(stderr, "frugal: %s expects key.path=value, got '%s'\n", opt, s);
        return -1;
    }
    *eq = 0;
    o->path = s;
    o->value = eq + 1;
    return 0;
}

int exp_add_override(exp_run_opts *c, const char *path, const char *value) {
    if (c->nov >= EXP_MAX_OVERRIDES) {
        fprintf(stderr, "frugal: at most %d overrides\n", EXP_MAX_OVERRIDES);
        return -1;
    }
    c->ov[c->nov++] = (exp_override){path, value};
    return 0;
}

int exp_check_uint(const char *opt, const char *s) {
    uint64_t v;
    return exp_parse_u64(opt, s, &v);
}

static int cmd_run(int argc, char **argv) {
    static const struct option opts[] = {{"seed", required_argument, 0, 's'},
                                         {"threads", required_argument, 0, 't'},
                                         {"generations", required_argument, 0, 'g'},
                                         {"out", required_argument, 0, 'o'},
                                         {"set", required_argument, 0, 'S'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"json", no_argument, 0, 'j'},
                                         {"force", no_argument, 0, 'f'},
                                         {"print-spec", no_argument, 0, 'P'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    exp_run_opts c = {0};
    exp_run_flags f = {.spread = true};
    bool print_spec = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            if (exp_check_uint("--seed", optarg) || exp_add_override(&c, "seed", optarg))
                return EXP_EXIT_USAGE;
            break;
        case 't':
            if (exp_check_uint("--threads", optarg) || exp_add_override(&c, "threads", optarg))
                return EXP_EXIT_USAGE;
            break;
        case 'g':
            if (exp_check_uint("--generations", optarg) ||
                exp_add_override(&c, "budget.generations", optarg))
                return EXP_EXIT_USAGE;
            break;
        case 'o': f.out = optarg; break;
        case 'S': {
            exp_override o;
            if (exp_parse_set("--set", optarg, &o) || exp_add_override(&c, o.path, o.value))
                return EXP_EXIT_USAGE;
            break;
        }
        case 'q': f.quiet = true; break;
        case 'j': f.json = true; break;
        case 'f': f.force = true; break;
        case 'P': print_spec = true; break;
        case 'h':
            fputs(run_usage, stdout);
            exp_spec_print_tasks(stdout);
            return EXP_EXIT_OK;
        default: fputs(run_usage, stderr); return EXP_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "frugal run: expected one SPEC file\n");
        fputs(run_usage, stderr);
        return EXP_EXIT_USAGE;
    }
    exp_spec s;
    char err[EXP_SPEC_ERRCAP];
    int rc = exp_spec_load(&s, argv[optind], NULL, c.ov, c.nov, err, sizeof err);
    if (rc) {
        fprintf(stderr, "frugal run: %s\n", err);
        return rc;
    }
    if (print_spec) {
        if (evo_mpi_rank() == 0) printf("%s\n", s.canonical);
        exp_spec_free(&s);
        return EXP_EXIT_OK;
    }
    char file[4096];
    if (f.out)
        snprintf(file, sizeof file, "%s", f.out);
    else
        snprintf(file, sizeof file, "results/%s/seed-%" PRIu64 ".h5", s.name, s.params.seed);
    rc = exp_run_loaded(&s, file, &f, NULL);
    exp_spec_free(&s);
    return rc;
}

/* Under mpirun or srun (an MPI build), every rank runs the command. */
int exp_cmd_run(int argc, char **argv) {
    if (evo_mpi_init()) return EXP_EXIT_FAIL;
    int rc = cmd_run(argc, argv);
    evo_mpi_finalize();
    return rc;
}

/* ---- frugal resume FILE.h5 ---- */

/* The files the run file keeps (/cases), from rank 0 to every rank: rank 0
 * packs them (name, path, SHA-256 with their NULs, then the bytes, each
 * after its length) into one broadcast; the others point k->f into *blob,
 * which they free. A data task's cases then come from the same bytes on
 * every rank. Aborts every rank when a rank cannot follow. */
static void bcast_kept(exp_kept *k, st_file *f, uint8_t **blob) {
    base_buf b = {0};
    size_t n = 0;
    if (evo_mpi_rank() == 0) {
        for (uint32_t i = 0; i < k->n; i++) {
            const char *s[3] = {f[i].name, f[i].path, f[i].sha256};
            for (int j = 0; j < 3; j++)
                if (base_buf_put_le(&b, strlen(s[j]) + 1, 8) ||
                    base_buf_put(&b, s[j], strlen(s[j]) + 1))
                    evo_mpi_abort(EXP_EXIT_FAIL);
            if (base_buf_put_le(&b, f[i].len, 8) || base_buf_put(&b, f[i].bytes, f[i].len))
                evo_mpi_abort(EXP_EXIT_FAIL);
        }
        *blob = b.data;
        n = b.len;
    }
    if (evo_mpi_bcast(blob, &n, 0)) evo_mpi_abort(EXP_EXIT_FAIL);
    if (evo_mpi_rank() == 0) return;
    const uint8_t *p = *blob, *end = *blob + n;
    for (k->n = 0; p < end && k->n < ST_MAX_FILES; k->n++) {
        const void *part[4];
        size_t len = 0;
        for (int j = 0; j < 4; j++) {
            if (end - p < 8) evo_mpi_abort(EXP_EXIT_FAIL);
            len = (size_t)base_le_get(p, 8);
            p += 8;
            if ((size_t)(end - p) < len || (j < 3 && (!len || p[len - 1])))
                evo_mpi_abort(EXP_EXIT_FAIL);
            part[j] = p;
            p += len;
        }
        f[k->n] = (st_file){
            .name = part[0], .path = part[1], .sha256 = part[2], .bytes = part[3], .len = len};
    }
}

static const char resume_run_usage[] =
    "usage: frugal resume FILE.h5 [--threads N] [--quiet] [--json]\n"
    "Continues a run from its last checkpoint to the budget of its stored spec.\n"
    "The datasets come out identical to those of an uninterrupted run.\n"
    "  --threads N   OpenMP threads (0: all); never changes the results\n"
    "  --quiet       no progress line and no summary\n"
    "  --json        print a machine-readable summary at the end\n";

static int cmd_resume(int argc, char **argv) {
    static const struct option opts[] = {{"threads", required_argument, 0, 't'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    exp_run_flags f = {0};
    uint64_t threads = 0;
    bool have_threads = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
        switch (ch) {
        case 't':
            if (exp_parse_u64("--threads", optarg, &threads) || threads > 4096)
                return EXP_EXIT_USAGE;
            have_threads = true;
            break;
        case 'q': f.quiet = true; break;
        case 'j': f.json = true; break;
        case 'h': fputs(resume_run_usage, stdout); return EXP_EXIT_OK;
        default: fputs(resume_run_usage, stderr); return EXP_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fputs(resume_run_usage, stderr);
        return EXP_EXIT_USAGE;
    }
#if EXP_HAVE_STORE
    const char *file = argv[optind];
    char err[EXP_SPEC_ERRCAP];
    char *spec_json = NULL;
    exp_spec s = {0};
    evo_run *r = NULL;
    bool loaded = false;
    int rc = EXP_EXIT_OK;
    /* under MPI, rank 0 alone opens the file; the others get the spec and the
     * checkpoint from it, whatever the number of ranks the run had before */
    bool spread = evo_mpi_size() > 1, root = evo_mpi_rank() == 0;
    st_store *st = NULL;
    uint8_t *kept_blob = NULL; /* other ranks: the broadcast copy of /cases */
    if (root) {
        st = st_open(file, &spec_json, err, sizeof err);
        if (!st) {
            fprintf(stderr, "frugal resume: %s\n", err);
            rc = EXP_EXIT_INPUT;
        }
    }
    if (spread && (rc = exp_mpi_root_rc(rc))) return rc;
    if (!st && !spread) return rc;
    if (spread) {
        size_t n = root ? strlen(spec_json) + 1 : 0;
        if (evo_mpi_bcast((uint8_t **)&spec_json, &n, 0) || !n || spec_json[n - 1])
            evo_mpi_abort(EXP_EXIT_FAIL);
    }
    st_file kf[ST_MAX_FILES];
    exp_kept kept = {kf, 0};
    static const char *const kept_names[] = {"data", "test"};
    for (uint32_t i = 0; st && i < ST_MAX_FILES; i++) {
        const st_file *k = st_file_get(st, kept_names[i]);
        if (k) kf[kept.n++] = *k;
    }
    if (spread) bcast_kept(&kept, kf, &kept_blob);
    char src[4200];
    snprintf(src, sizeof src, "%s (stored spec)", file);
    rc = exp_spec_load_run(&s, src, spec_json, &kept, err, sizeof err);
    if (rc) {
        fprintf(stderr, "frugal resume: %s\n", err);
        goto cleanup;
    }
    loaded = true;
    if (s.data_note[0] && root) fprintf(stderr, "frugal resume: %s", s.data_note);
    s.params.threads = have_threads ? (uint32_t)threads : 0;
    r = evo_run_new(&s.params, &s.task, err, sizeof err);
    if (!r) {
        fprintf(stderr, "frugal resume: %s\n", err);
        rc = new_run_failed(err);
        goto cleanup;
    }
    if (spread && evo_run_use_mpi(r)) evo_mpi_abort(EXP_EXIT_FAIL);
    if (root && st_restore(st, r, err, sizeof err)) {
        fprintf(stderr, "frugal resume: %s\n", err);
        rc = EXP_EXIT_INPUT;
    }
    store_policy(st, s.commit_seconds);
    if (spread && (rc = exp_mpi_root_rc(rc))) goto cleanup;
    if (rc) goto cleanup;
    if (spread) { /* rank 0's checkpoint to the others */
        uint8_t *blob = NULL;
        size_t n = 0;
        if (root && evo_run_save_state(r, &blob, &n)) evo_mpi_abort(EXP_EXIT_FAIL);
        if (evo_mpi_bcast(&blob, &n, 0) ||
            (!root && evo_run_load_state(r, blob, n, err, sizeof err))) {
            fprintf(stderr, "frugal resume: rank %u: %s\n", evo_mpi_rank(), err);
            evo_mpi_abort(EXP_EXIT_FAIL);
        }
        free(blob);
    }
    run_outcome oc = {0};
    rc = drive(r, st, file, !f.quiet && isatty(2) && root, spread, &oc);
    if (st && st_close(st, r, err, sizeof err)) {
        fprintf(stderr, "frugal resume: %s\n", err);
        if (!rc) rc = EXP_EXIT_IO;
    }
    st = NULL;
    if (!rc && root) {
        if (f.json || !f.quiet) summary(r, &s, file, &oc, f.json);
        if (!f.quiet && evo_mpi_active()) mpi_report(r, oc.wall);
    }
    if (!rc && oc.interrupted) rc = EXP_EXIT_INTERRUPTED;
cleanup:
    if (st) st_close(st, r, err, sizeof err);
    evo_run_free(r);
    if (loaded) exp_spec_free(&s);
    free(spec_json);
    free(kept_blob);
    return rc;
#else
    (void)have_threads;
    (void)f;
    fprintf(stderr, "frugal resume: %s: this build has no HDF5 store yet\n", argv[optind]);
    return EXP_EXIT_INPUT;
#endif
}

int exp_cmd_resume_run(int argc, char **argv) {
    if (evo_mpi_init()) return EXP_EXIT_FAIL;
    int rc = cmd_resume(argc, argv);
    evo_mpi_finalize();
    return rc;
}
