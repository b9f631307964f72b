/* frugal batch SPEC --seeds LIST (docs/cli.md): one frugal run per seed, in
 * child processes (or in this process, one seed per MPI rank), and the
 * merged index.csv. */
#include "experiments/cli.h"
#include "experiments/run.h"
#include "experiments/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- frugal batch SPEC --seeds 1-30 [--jobs N] ---- */

static const char batch_usage[] =
    "usage: frugal batch SPEC.json --seeds LIST [--jobs N] [--threads N] [--out DIR]\n"
    "                    [--generations N] [--set key.path=value]... [--force]\n"
    "Runs SPEC once per seed (frugal run in a child process), one HDF5 file per seed\n"
    "in DIR (default results/<spec name>/), and writes DIR/index.csv: seed, file, exit\n"
    "code, stop reason, generations, evaluations, best error, its gas and hits, hash.\n"
    "  --seeds LIST    e.g. 1-30 or 1,2,5-9\n"
    "  --jobs N        runs at a time (default 1)\n"
    "  --threads N     threads in all (default: all cores), divided among the jobs\n"
    "  --force         run seeds whose DIR/seed-N.h5 exists again, replacing them\n"
    "A seed whose file exists is not run again without --force: it keeps its files and\n"
    "its row of DIR/index.csv, which merges the rows of earlier batches by seed.\n"
    "Exit: 0 all runs done, 1 some run failed, 2 usage, 3 bad spec, 130 interrupted.\n";

#define MAX_SEEDS 100000

static int parse_seeds(const char *s, uint64_t **out, size_t *n) {
    char *copy = strdup(s), *save = NULL;
    uint64_t *v = NULL;
    size_t k = 0, cap = 0;
    if (!copy) return -1;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *dash = strchr(tok, '-');
        uint64_t lo, hi;
        if (dash) *dash = 0;
        if (exp_parse_u64("--seeds", tok, &lo)) goto fail;
        hi = lo;
        if (dash && exp_parse_u64("--seeds", dash + 1, &hi)) goto fail;
        if (hi < lo) {
            fprintf(stderr,
                    "frugal batch: --seeds: the range %" PRIu64 "-%" PRIu64
                    " is reversed (write %" PRIu64 "-%" PRIu64 ")\n",
                    lo, hi, hi, lo);
            goto fail;
        }
        if (hi - lo >= MAX_SEEDS || k + (hi - lo + 1) > MAX_SEEDS || hi > (uint64_t)INT64_MAX) {
            fprintf(stderr, "frugal batch: --seeds: too many seeds in '%s' (at most %d)\n", s,
                    MAX_SEEDS);
            goto fail;
        }
        for (uint64_t x = lo;; x++) {
            for (size_t i = 0; i < k; i++)
                if (v[i] == x) { /* two runs would write one file */
                    fprintf(stderr, "frugal batch: --seeds: seed %" PRIu64 " is listed twice\n", x);
                    goto fail;
                }
            if (k == cap) {
                cap = cap ? 2 * cap : 64;
                uint64_t *p = realloc(v, cap * sizeof *v);
                if (!p) goto fail;
                v = p;
            }
            v[k++] = x;
            if (x == hi) break;
        }
    }
    free(copy);
    if (!k) {
        fprintf(stderr, "frugal batch: --seeds: no seeds in '%s'\n", s);
        free(v);
        return -1;
    }
    *out = v;
    *n = k;
    return 0;
fail:
    free(copy);
    free(v);
    return -1;
}

typedef struct {
    uint64_t seed;
    pid_t pid;
    int exit_code;
    bool exists; /* its results were there: not run again (no --force) */
    char file[4096], json[4200], tmp[4210];
} batch_job;

/* The seed's files: DIR/seed-N.h5, its summary DIR/seed-N.json, written
 * first to DIR/seed-N.json.tmp. -1 when a path is too long. */
static int job_paths(batch_job *j, const char *dir) {
    int a = snprintf(j->file, sizeof j->file, "%s/seed-%" PRIu64 ".h5", dir, j->seed);
    int b = snprintf(j->json, sizeof j->json, "%s/seed-%" PRIu64 ".json", dir, j->seed);
    int c = snprintf(j->tmp, sizeof j->tmp, "%s.tmp", j->json);
    return a < 0 || b < 0 || c < 0 || (size_t)a >= sizeof j->file || (size_t)b >= sizeof j->json ||
                   (size_t)c >= sizeof j->tmp
               ? -1
               : 0;
}

/* Results are never replaced without --force: a seed whose file exists is
 * not run again, and keeps its summary and its row of the index. */
static bool job_exists(const batch_job *j, bool force) {
    return !force && access(j->file, F_OK) == 0;
}

static void note_exists(const batch_job *j) {
    fprintf(stderr,
            "frugal batch: seed %" PRIu64 " exists (%s): not run again (--force replaces it, "
            "frugal resume continues it)\n",
            j->seed, j->file);
}

/* The run's summary went to j->tmp: it becomes j->json when there is one,
 * so that a run that failed leaves the earlier summary as it was. 0, or -1. */
static int job_summary(const batch_job *j) {
    struct stat st;
    if (stat(j->tmp, &st) != 0) return 0;
    if (st.st_size > 0 && rename(j->tmp, j->json) != 0) {
        fprintf(stderr, "frugal batch: cannot write %s: %s\n", j->json, strerror(errno));
        remove(j->tmp);
        return -1;
    }
    remove(j->tmp);
    return 0;
}

static int self_exe(char *buf, size_t cap) {
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n <= 0) return -1;
    buf[n] = 0;
    return 0;
}

static pid_t spawn(const char *exe, char *const *args, const char *stdout_path) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    int fd = open(stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0 || dup2(fd, 1) < 0) _exit(EXP_EXIT_IO);
    close(fd);
    execv(exe, args);
    _exit(127);
}

static void index_row(FILE *f, const batch_job *j) {
    json_error_t je;
    json_t *o = json_load_file(j->json, 0, &je);
    json_t *b = o ? json_object_get(o, "best") : NULL;
    const char *stop = o ? json_string_value(json_object_get(o, "stop")) : NULL;
    int code = j->exit_code;
    if (j->exists) code = stop && !strcmp(stop, "interrupted") ? EXP_EXIT_INTERRUPTED : 0;
    fprintf(f, "%" PRIu64 ",%s,%d,%s,", j->seed, j->file, code,
            stop        ? stop
            : j->exists ? "exists"
                        : "failed");
    if (o && b) {
        fprintf(f,
                "%" JSON_INTEGER_FORMAT ",%" JSON_INTEGER_FORMAT ",%.17g,%" JSON_INTEGER_FORMAT
                ",%" JSON_INTEGER_FORMAT ",%s\n",
                json_integer_value(json_object_get(o, "generation")),
                json_integer_value(json_object_get(o, "evaluations")),
                json_number_value(json_object_get(b, "error")),
                json_integer_value(json_object_get(b, "gas")),
                json_integer_value(json_object_get(b, "hits")),
                json_string_value(json_object_get(o, "hash")));
    } else {
        fprintf(f, ",,,,,\n");
    }
    json_decref(o);
}

typedef struct {
    uint64_t seed;
    char *text; /* the row, with its newline */
} index_line;

static int cmp_index_line(const void *a, const void *b) {
    const index_line *x = a, *y = b;
    return (x->seed > y->seed) - (x->seed < y->seed);
}

/* Room for one more line in *v (*cap lines, n used). 0, or -1. */
static int index_room(index_line **v, size_t *cap, size_t n) {
    if (n < *cap) return 0;
    size_t c = *cap ? 2 * *cap : 64;
    index_line *q = realloc(*v, c * sizeof *q);
    if (!q) return -1;
    *v = q;
    *cap = c;
    return 0;
}

static const char index_header[] =
    "seed,file,exit,stop,generation,evaluations,best_error,best_gas,best_hits,hash\n";

/* DIR/index.csv: a row per seed, sorted. The rows of an earlier index for
 * seeds that this batch did not run (other seeds, and seeds whose results
 * existed) are kept as they were: merged by seed. Written to a temporary file
 * then renamed, so that the index is never half written. 0, or an exit code. */
static int write_index(const char *path, const batch_job *jv, size_t n) {
    index_line *v = NULL;
    size_t nv = 0, cap = 0;
    char tmp[4300], *line = NULL;
    size_t lcap = 0;
    int rc = EXP_EXIT_IO;
    FILE *f = fopen(path, "r"), *out = NULL;
    for (bool first = true; f && getline(&line, &lcap, f) > 0; first = false) {
        char *end;
        errno = 0;
        uint64_t seed = strtoull(line, &end, 10);
        if (first || end == line || *end != ',' || errno) continue; /* the header */
        bool skip = false; /* this batch has a newer row, or the seed has one already */
        for (size_t i = 0; i < n && !skip; i++)
            skip = jv[i].seed == seed && !jv[i].exists;
        for (size_t k = 0; k < nv && !skip; k++)
            skip = v[k].seed == seed;
        if (skip) continue;
        if (index_room(&v, &cap, nv)) goto oom;
        size_t l = strlen(line);
        if (!(v[nv].text = malloc(l + 2))) goto oom;
        memcpy(v[nv].text, line, l + 1);
        if (!l || line[l - 1] != '\n') strcpy(v[nv].text + l, "\n");
        v[nv++].seed = seed;
    }
    for (size_t i = 0; i < n; i++) {
        bool kept = false; /* an existing seed whose earlier row was kept */
        for (size_t k = 0; k < nv && !kept; k++)
            kept = v[k].seed == jv[i].seed;
        if (kept) continue;
        if (index_room(&v, &cap, nv)) goto oom;
        size_t len = 0;
        FILE *m = open_memstream(&v[nv].text, &len);
        if (!m) goto oom;
        index_row(m, &jv[i]);
        if (fclose(m)) goto oom;
        v[nv++].seed = jv[i].seed;
    }
    qsort(v, nv, sizeof *v, cmp_index_line);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    out = fopen(tmp, "w");
    if (!out) {
        fprintf(stderr, "frugal batch: cannot write %s: %s\n", tmp, strerror(errno));
        goto done;
    }
    fputs(index_header, out);
    for (size_t k = 0; k < nv; k++)
        fputs(v[k].text, out);
    bool ok = !ferror(out);
    if (fclose(out) != 0 || !ok || rename(tmp, path) != 0) {
        fprintf(stderr, "frugal batch: cannot write %s: %s\n", path, strerror(errno));
        remove(tmp);
        goto done;
    }
    rc = EXP_EXIT_OK;
    goto done;
oom:
    fprintf(stderr, "frugal batch: out of memory writing %s\n", path);
    rc = EXP_EXIT_FAIL;
done:
    if (f) fclose(f);
    free(line);
    for (size_t k = 0; k < nv; k++)
        free(v[k].text);
    free(v);
    return rc;
}

/* frugal batch under MPI: rank q runs the seeds i with i % ranks == q, one
 * at a time, in this process, each into its own file (seed-N.h5 and the
 * summary seed-N.json, as the forked runs write them); then every rank learns
 * every exit code. */
static bool mpi_batch(const char *spec_path, const uint64_t *seeds, size_t nseeds, const char *dir,
                      uint64_t threads, bool force, const exp_run_opts *c, batch_job *jv,
                      int *interrupted) {
    uint32_t R = evo_mpi_size(), me = evo_mpi_rank();
    int *codes = malloc((nseeds + 1) * sizeof *codes), *ex = calloc(nseeds + 1, sizeof *ex);
    if (!codes || !ex) evo_mpi_abort(EXP_EXIT_FAIL);
    for (size_t i = 0; i < nseeds; i++) {
        batch_job *j = &jv[i];
        j->seed = seeds[i];
        codes[i] = job_paths(j, dir) ? EXP_EXIT_USAGE : -1; /* every rank alike */
        ex[i] = codes[i] < 0 && job_exists(j, force);
    }
    /* the ranks agree on what existed before any of them writes */
    if (evo_mpi_max_ints(ex, nseeds)) evo_mpi_abort(EXP_EXIT_FAIL);
    for (size_t i = 0; i < nseeds; i++) {
        batch_job *j = &jv[i];
        if ((j->exists = ex[i])) {
            codes[i] = 0;
            if (me == 0) note_exists(j);
        }
        if (codes[i] >= 0 || i % R != me || exp_stop_flag) continue;
        exp_override ov[EXP_MAX_OVERRIDES + 2];
        size_t nov = c->nov;
        memcpy(ov, c->ov, nov * sizeof *ov);
        char seed_s[32], threads_s[32];
        snprintf(seed_s, sizeof seed_s, "%" PRIu64, j->seed);
        snprintf(threads_s, sizeof threads_s, "%" PRIu64, threads);
        ov[nov++] = (exp_override){"seed", seed_s};
        if (threads) ov[nov++] = (exp_override){"threads", threads_s};
        exp_spec sp;
        char err[EXP_SPEC_ERRCAP];
        int rc = exp_spec_load(&sp, spec_path, NULL, ov, nov, err, sizeof err);
        if (rc) {
            fprintf(stderr, "frugal batch: %s\n", err);
        } else {
            /* the summary goes to seed-N.json, as a forked run's stdout would */
            fflush(stdout);
            int saved = dup(1), fd = open(j->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
            if (saved < 0 || fd < 0 || dup2(fd, 1) < 0) {
                fprintf(stderr, "frugal batch: cannot write %s: %s\n", j->tmp, strerror(errno));
                rc = EXP_EXIT_IO;
            } else {
                exp_run_flags f = {.quiet = true, .json = true, .force = force};
                rc = exp_run_loaded(&sp, j->file, &f, NULL);
                fflush(stdout);
            }
            if (saved >= 0) {
                dup2(saved, 1);
                close(saved);
            }
            if (fd >= 0) close(fd);
            if (job_summary(j) && !rc) rc = EXP_EXIT_IO;
            exp_spec_free(&sp);
        }
        codes[i] = rc;
        fprintf(stderr, "frugal batch: seed %" PRIu64 " %s (exit %d, rank %u)\n", j->seed,
                rc == 0                      ? "done"
                : rc == EXP_EXIT_INTERRUPTED ? "interrupted"
                                             : "failed",
                rc, me);
    }
    codes[nseeds] = exp_stop_flag;
    if (evo_mpi_max_ints(codes, nseeds + 1)) evo_mpi_abort(EXP_EXIT_FAIL);
    bool failed = false;
    for (size_t i = 0; i < nseeds; i++) {
        jv[i].exit_code = codes[i];
        if (codes[i]) failed = true;
    }
    *interrupted = codes[nseeds];
    free(codes);
    free(ex);
    return failed;
}

static int cmd_batch(int argc, char **argv) {
    static const struct option opts[] = {{"seeds", required_argument, 0, 'S'},
                                         {"jobs", required_argument, 0, 'J'},
                                         {"threads", required_argument, 0, 't'},
                                         {"out", required_argument, 0, 'o'},
                                         {"generations", required_argument, 0, 'g'},
                                         {"set", required_argument, 0, 's'},
                                         {"force", no_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *seeds_arg = NULL, *outdir = NULL, *gens = NULL;
    uint64_t jobs = 1, threads = 0;
    bool force = false;
    char *sets[EXP_MAX_OVERRIDES];
    size_t nsets = 0;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'S': seeds_arg = optarg; break;
        case 'J':
            if (exp_parse_u64("--jobs", optarg, &jobs) || jobs < 1 || jobs > 1024) {
                fprintf(stderr, "frugal batch: --jobs must be in 1..1024\n");
                return EXP_EXIT_USAGE;
            }
            break;
        case 't':
            if (exp_parse_u64("--threads", optarg, &threads) || threads > 4096)
                return EXP_EXIT_USAGE;
            break;
        case 'o': outdir = optarg; break;
        case 'g':
            if (exp_check_uint("--generations", optarg)) return EXP_EXIT_USAGE;
            gens = optarg;
            break;
        case 's':
            if (nsets >= EXP_MAX_OVERRIDES || !strchr(optarg, '=')) {
                fprintf(stderr, "frugal batch: --set expects key.path=value, got '%s'\n", optarg);
                return EXP_EXIT_USAGE;
            }
            sets[nsets++] = optarg;
            break;
        case 'f': force = true; break;
        case 'h': fputs(batch_usage, stdout); return EXP_EXIT_OK;
        default: fputs(batch_usage, stderr); return EXP_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || !seeds_arg) {
        fprintf(stderr, "frugal batch: expected one SPEC file and --seeds\n");
        fputs(batch_usage, stderr);
        return EXP_EXIT_USAGE;
    }
    const char *spec_path = argv[optind];
    uint64_t *seeds = NULL;
    size_t nseeds = 0;
    if (parse_seeds(seeds_arg, &seeds, &nseeds)) return EXP_EXIT_USAGE;

    /* validate the spec (and the overrides) once, here */
    exp_run_opts c = {0};
    char *setcopy[EXP_MAX_OVERRIDES] = {0};
    batch_job *jv = NULL;
    int rc = EXP_EXIT_OK;
    for (size_t i = 0; i < nsets; i++) {
        exp_override o;
        setcopy[i] = strdup(sets[i]);
        if (!setcopy[i] || exp_parse_set("--set", setcopy[i], &o) ||
            exp_add_override(&c, o.path, o.value)) {
            rc = EXP_EXIT_USAGE;
            goto cleanup;
        }
    }
    if (gens && exp_add_override(&c, "budget.generations", gens)) {
        rc = EXP_EXIT_USAGE;
        goto cleanup;
    }
    exp_spec s;
    char err[EXP_SPEC_ERRCAP];
    rc = exp_spec_load(&s, spec_path, NULL, c.ov, c.nov, err, sizeof err);
    if (rc) {
        fprintf(stderr, "frugal batch: %s\n", err);
        goto cleanup;
    }
    char dir[4096];
    if (outdir)
        snprintf(dir, sizeof dir, "%s", outdir);
    else
        snprintf(dir, sizeof dir, "results/%s", s.name);
    exp_spec_free(&s);
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/index.csv", dir);
    if (evo_mpi_rank() == 0) rc = exp_make_parent_dirs(probe);
    if (evo_mpi_active()) rc = exp_mpi_root_rc(rc);
    if (rc) goto cleanup;

    char exe[4096];
    if (self_exe(exe, sizeof exe)) {
        fprintf(stderr, "frugal batch: cannot find the frugal binary (/proc/self/exe)\n");
        rc = EXP_EXIT_FAIL;
        goto cleanup;
    }
    uint64_t total = threads ? threads : (uint64_t)omp_get_num_procs();
    uint64_t per = total / jobs ? total / jobs : 1;
    char per_s[32];
    snprintf(per_s, sizeof per_s, "%" PRIu64, per);

    jv = calloc(nseeds, sizeof *jv);
    if (!jv) {
        rc = EXP_EXIT_FAIL;
        goto cleanup;
    }
    exp_sig_saved saved;
    exp_signals_install(&saved);
    size_t next = 0, running = 0;
    bool failed = false, forwarded = false;
    int mpi_interrupted = 0;
    if (evo_mpi_active()) { /* runs in this process: an MPI rank must not fork ranks */
        failed = mpi_batch(spec_path, seeds, nseeds, dir, threads, force, &c, jv, &mpi_interrupted);
        next = nseeds;
    }
    while (!evo_mpi_active() && (next < nseeds || running)) {
        while (!exp_stop_flag && running < jobs && next < nseeds) {
            batch_job *j = &jv[next++];
            j->seed = seeds[next - 1];
            j->exit_code = -1;
            char seed_s[32];
            snprintf(seed_s, sizeof seed_s, "%" PRIu64, j->seed);
            if (job_paths(j, dir)) {
                fprintf(stderr, "frugal batch: %s: path too long\n", dir);
                failed = true;
                continue;
            }
            if (job_exists(j, force)) {
                j->exists = true;
                j->exit_code = 0;
                note_exists(j);
                continue;
            }
            char *args[16 + 2 * EXP_MAX_OVERRIDES];
            size_t a = 0;
            args[a++] = exe;
            args[a++] = "run";
            args[a++] = (char *)spec_path;
            args[a++] = "--seed";
            args[a++] = seed_s;
            args[a++] = "--threads";
            args[a++] = per_s;
            args[a++] = "--out";
            args[a++] = j->file;
            args[a++] = "--json";
            args[a++] = "--quiet";
            if (force) args[a++] = "--force";
            if (gens) {
                args[a++] = "--generations";
                args[a++] = (char *)gens;
            }
            for (size_t i = 0; i < nsets; i++) {
                args[a++] = "--set";
                args[a++] = sets[i];
            }
            args[a] = NULL;
            j->pid = spawn(exe, args, j->tmp);
            if (j->pid < 0) {
                fprintf(stderr, "frugal batch: cannot start a run: %s\n", strerror(errno));
                failed = true;
                continue;
            }
            running++;
        }
        if (!running) break;
        /* stopped: ask the running seeds to stop after their generation too.
         * SIGTERM, not SIGINT: a child that also got the terminal's SIGINT
         * handles each signal once and still stops cleanly. */
        if (exp_stop_flag && !forwarded) {
            forwarded = true;
            for (size_t i = 0; i < next; i++)
                if (jv[i].pid > 0 && jv[i].exit_code < 0) kill(jv[i].pid, SIGTERM);
        }
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (size_t i = 0; i < next; i++)
            if (jv[i].pid == pid) {
                jv[i].exit_code = WIFEXITED(status)
                                      ? WEXITSTATUS(status)
                                      : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
                running--;
                if (job_summary(&jv[i]) && !jv[i].exit_code) jv[i].exit_code = EXP_EXIT_IO;
                if (jv[i].exit_code) failed = true;
                fprintf(stderr, "frugal batch: seed %" PRIu64 " %s (exit %d)\n", jv[i].seed,
                        jv[i].exit_code == 0                      ? "done"
                        : jv[i].exit_code == EXP_EXIT_INTERRUPTED ? "interrupted"
                                                                  : "failed",
                        jv[i].exit_code);
            }
    }
    bool interrupted = exp_stop_flag || mpi_interrupted;
    exp_signals_restore(&saved);
    if (evo_mpi_rank() != 0) { /* rank 0 writes the index */
        rc = interrupted ? EXP_EXIT_INTERRUPTED : failed ? EXP_EXIT_FAIL : EXP_EXIT_OK;
        goto cleanup;
    }

    if ((rc = write_index(probe, jv, next))) goto cleanup;
    size_t existed = 0;
    for (size_t i = 0; i < next; i++)
        existed += jv[i].exists;
    printf("%s: %zu run%s", spec_path, next - existed, next - existed == 1 ? "" : "s");
    if (existed) printf(", %zu seed%s existed (not run again)", existed, existed == 1 ? "" : "s");
    printf(", index in %s\n", probe);
    rc = interrupted ? EXP_EXIT_INTERRUPTED : failed ? EXP_EXIT_FAIL : EXP_EXIT_OK;
cleanup:
    for (size_t i = 0; i < nsets; i++)
        free(setcopy[i]);
    free(jv);
    free(seeds);
    return rc;
}

int exp_cmd_batch(int argc, char **argv) {
    if (evo_mpi_init()) return EXP_EXIT_FAIL;
    int rc = cmd_batch(argc, argv);
    evo_mpi_finalize();
    return rc;
}
