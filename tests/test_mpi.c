/* frugal under Open MPI (docs/cluster.md), with the MPI build named by
 * $FRUGAL_MPI_BIN (make test sets it when mpicc and mpirun are installed):
 * the same spec and seed give the same datasets (everything outside /meta,
 * and the newest checkpoint) for 1 process, 2 ranks x 1 thread, 1 rank x 2
 * threads and more ranks than islands; a run whose rank is killed with
 * SIGKILL resumes with another number of ranks to the uninterrupted run's
 * datasets; frugal batch spreads seeds over the ranks; a data task resumes
 * under mpirun from the run file's copy of its data. Skipped, with the
 * reason printed, without mpirun or the MPI build. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "experiments/cli.h"
#include "experiments/spec.h"
#include "tests/store/h5cmp.h"

static char dir[64];
static const char *bin;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f) {
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

static bool on_path(const char *prog) {
    const char *path = getenv("PATH");
    if (!path) return false;
    char *copy = strdup(path), *save = NULL;
    bool found = false;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", d, prog);
        found = access(p, X_OK) == 0;
    }
    free(copy);
    return found;
}

/* NULL, or why the MPI tests cannot run here. */
static const char *missing(void) {
    bin = getenv("FRUGAL_MPI_BIN");
    if (!bin || !*bin) return "FRUGAL_MPI_BIN is not set (no MPI build: mpicc missing?)";
    if (access(bin, X_OK)) return "FRUGAL_MPI_BIN is not an executable";
    if (!on_path("mpirun")) return "mpirun is not installed";
    return NULL;
}

static void setup(void) {
    strcpy(dir, "/tmp/frugal-mpi-XXXXXX");
    cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

static void teardown(void) {
    if (dir[0]) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(mpi, .init = setup, .fini = teardown, .timeout = 240);

#define SKIP_WITHOUT_MPI()                                                                         \
    do {                                                                                           \
        const char *why = missing();                                                               \
        if (why) {                                                                                 \
            fprintf(stderr, "mpi tests skipped: %s\n", why);                                       \
            cr_skip_test("%s", why);                                                               \
        }                                                                                          \
    } while (0)

/* Start `mpirun -np ranks frugal args...` (ranks 0: frugal alone, without
 * mpirun) with OMP_NUM_THREADS=threads; stdout and stderr to dir/tag.out and
 * .err. */
static pid_t start(const char *tag, int ranks, int threads, const char *const *args) {
    char out[128], err[128], np[16], th[16];
    snprintf(out, sizeof out, "%s/%s.out", dir, tag);
    snprintf(err, sizeof err, "%s/%s.err", dir, tag);
    snprintf(np, sizeof np, "%d", ranks);
    snprintf(th, sizeof th, "%d", threads);
    const char *argv[64];
    size_t n = 0;
    if (ranks > 0) {
        const char *pre[] = {
            "mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", np,
            "-x",     "OMP_NUM_THREADS"};
        for (size_t i = 0; i < sizeof pre / sizeof *pre; i++)
            argv[n++] = pre[i];
    }
    argv[n++] = bin;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        setenv("OMP_NUM_THREADS", th, 1);
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0) _exit(127);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int finish(pid_t pid) {
    int st;
    while (waitpid(pid, &st, 0) < 0)
        cr_assert_eq(errno, EINTR);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *slurp(const char *tag, const char *ext) {
    char p[128];
    snprintf(p, sizeof p, "%s/%s.%s", dir, tag, ext);
    static char buf[1 << 14];
    buf[0] = 0;
    FILE *f = fopen(p, "rb");
    if (!f) return buf;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

#define SPEC "specs/quartic.json"

/* A run of 4 islands with migration every 3 generations into dir/tag.h5. */
static int run_spec(const char *tag, int ranks, int threads, const char *gens, const char *pop,
                    const char *extra) {
    char out[128], popset[64];
    snprintf(out, sizeof out, "%s/%s.h5", dir, tag);
    snprintf(popset, sizeof popset, "population.size=%s", pop);
    const char *a[] = {"run",   SPEC,   "--set",         "population.islands=4",
                       "--set", popset, "--set",         "migration.every=3",
                       "--set", extra,  "--generations", gens,
                       "--out", out,    "--quiet",       NULL};
    return finish(start(tag, ranks, threads, a));
}

static void same_files(const char *ta, const char *tb) {
    char a[128], b[128], why[512];
    snprintf(a, sizeof a, "%s/%s.h5", dir, ta);
    snprintf(b, sizeof b, "%s/%s.h5", dir, tb);
    cr_assert_eq(h5cmp_files(a, b, why, sizeof why), 0, "%s vs %s: %s", ta, tb, why);
}

Test(mpi, same_datasets_for_any_ranks_and_threads) {
    SKIP_WITHOUT_MPI();
    const char *extra[] = {"migration.topology=ring", "selection.method=lexicase"};
    for (int v = 0; v < 2; v++) {
        char t[4][32];
        for (int i = 0; i < 4; i++)
            snprintf(t[i], sizeof t[i], "v%d-%d", v, i);
        /* 1 process; 2 ranks x 1 thread; 1 rank x 2 threads; 5 ranks (one idle) */
        const int ranks[4] = {0, 2, 1, 5}, threads[4] = {1, 1, 2, 1};
        for (int i = 0; i < 4; i++) {
            int rc = run_spec(t[i], ranks[i], threads[i], "12", "60", extra[v]);
            cr_assert_eq(rc, 0, "%s (%d ranks x %d threads): exit %d\n%s", t[i], ranks[i],
                         threads[i], rc, slurp(t[i], "err"));
        }
        for (int i = 1; i < 4; i++)
            same_files(t[0], t[i]);
    }
}

/* The pid of rank `rank` among mpirun's children (OMPI_COMM_WORLD_RANK in
 * its environment), or -1. */
static pid_t rank_pid(pid_t mpirun, int rank) {
    char want[64];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    DIR *d = opendir("/proc");
    if (!d) return -1;
    pid_t found = -1;
    struct dirent *e;
    while (found < 0 && (e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        char p[64], buf[512];
        snprintf(p, sizeof p, "/proc/%ld/stat", pid);
        FILE *f = fopen(p, "r");
        if (!f) continue;
        long ppid = -1;
        if (fgets(buf, sizeof buf, f)) {
            char *rp = strrchr(buf, ')');
            if (rp) sscanf(rp + 2, "%*c %ld", &ppid);
        }
        fclose(f);
        if (ppid != mpirun) continue;
        snprintf(p, sizeof p, "/proc/%ld/environ", pid);
        f = fopen(p, "rb");
        if (!f) continue;
        static char env[1 << 16];
        size_t n = fread(env, 1, sizeof env - 1, f);
        fclose(f);
        env[n] = 0;
        for (size_t i = 0; i < n; i += strlen(env + i) + 1)
            if (strcmp(env + i, want) == 0) found = (pid_t)pid;
    }
    closedir(d);
    return found;
}

Test(mpi, a_killed_rank_stops_the_run_and_resume_works_with_other_rank_counts) {
    SKIP_WITHOUT_MPI();
    /* about 2 s with 2 ranks: the kill lands in the middle of the run */
    cr_assert_eq(run_spec("ref", 0, 1, "400", "150", "migration.topology=random"), 0, "%s",
                 slurp("ref", "err"));
    char out[128];
    snprintf(out, sizeof out, "%s/kill.h5", dir);
    const char *a[] = {"run",           SPEC,
                       "--set",         "population.islands=4",
                       "--set",         "population.size=150",
                       "--set",         "migration.every=3",
                       "--set",         "migration.topology=random",
                       "--generations", "400",
                       "--out",         out,
                       "--quiet",       NULL};
    pid_t pid = start("kill", 2, 1, a);
    struct stat sb;
    for (int i = 0; i < 4000 && stat(out, &sb) != 0; i++)
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    nanosleep(&(struct timespec){0, 300000000}, NULL);
    pid_t victim = -1;
    for (int i = 0; i < 100 && victim < 0; i++) {
        victim = rank_pid(pid, 1);
        if (victim < 0) nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    cr_assert(victim > 0, "rank 1 of mpirun %d not found", (int)pid);
    cr_assert_eq(kill(victim, SIGKILL), 0);
    int rc = finish(pid);
    cr_assert_neq(rc, 0, "the run finished although rank 1 was killed");
    fprintf(stderr, "mpi: mpirun after SIGKILL of rank 1 (exit %d):\n%s", rc, slurp("kill", "err"));

    /* a copy of the killed run, to resume it twice */
    char copy[128], cmd[300];
    snprintf(copy, sizeof copy, "%s/kill1.h5", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", out, copy);
    cr_assert_eq(system(cmd), 0);

    /* resume with 3 ranks (4 islands: 2, 1 and 1 per rank) */
    const char *r[] = {"resume", out, "--quiet", NULL};
    rc = finish(start("res", 3, 1, r));
    cr_assert_eq(rc, 0, "resume: exit %d\n%s", rc, slurp("res", "err"));
    same_files("ref", "kill");
    /* and with 1 process, 2 threads */
    const char *r1[] = {"resume", copy, "--quiet", NULL};
    rc = finish(start("res1", 0, 2, r1));
    cr_assert_eq(rc, 0, "resume: exit %d\n%s", rc, slurp("res1", "err"));
    same_files("ref", "kill1");
}

Test(mpi, batch_spreads_seeds_over_ranks) {
    SKIP_WITHOUT_MPI();
    char outdir[128];
    snprintf(outdir, sizeof outdir, "%s/batch", dir);
    const char *a[] = {"batch",         SPEC, "--seeds", "1-3",  "--set", "population.size=30",
                       "--generations", "4",  "--out",   outdir, NULL};
    int rc = finish(start("batch", 2, 1, a));
    cr_assert_eq(rc, 0, "batch: exit %d\n%s", rc, slurp("batch", "err"));
    char p[256];
    snprintf(p, sizeof p, "%s/index.csv", outdir);
    FILE *f = fopen(p, "r");
    cr_assert(f, "%s: %s", p, strerror(errno));
    char line[1024];
    int rows = 0;
    while (fgets(line, sizeof line, f))
        if (rows++ > 0) cr_assert(strstr(line, ",0,generations,"), "row: %s", line);
    fclose(f);
    cr_assert_eq(rows, 4, "header and 3 rows");
    /* seed 2 ran on rank 1: the same file as a plain single run */
    char ref[128];
    snprintf(ref, sizeof ref, "%s/s2.h5", dir);
    const char *b[] = {"run",           SPEC, "--seed", "2", "--set",   "population.size=30",
                       "--generations", "4",  "--out",  ref, "--quiet", NULL};
    cr_assert_eq(finish(start("s2", 0, 1, b)), 0);
    snprintf(p, sizeof p, "%s/seed-2.h5", outdir);
    char why[512];
    cr_assert_eq(h5cmp_files(ref, p, why, sizeof why), 0, "%s", why);
}

/* The run of spec into path, in this process, stopped after gens
 * generations as a killed run leaves it (0: to the end of its budget). */
static void run_here(const char *spec, const char *path, int gens) {
    char err[EXP_SPEC_ERRCAP];
    exp_spec s;
    cr_assert_eq(exp_spec_load(&s, spec, NULL, NULL, 0, err, sizeof err), 0, "%s", err);
    evo_run *r = evo_run_new(&s.params, &s.task, err, sizeof err);
    cr_assert(r, "%s", err);
    st_file files[ST_MAX_FILES];
    st_opts so = {.spec_json = s.canonical,
                  .spec_name = s.name,
                  .files = files,
                  .nfiles = exp_spec_store_files(&s, files)};
    st_store *st = st_create(path, &so, r, err, sizeof err);
    cr_assert(st, "%s", err);
    for (int g = 0; (gens == 0 || g < gens) && evo_run_stopped(r) == EVO_STOP_NONE; g++) {
        cr_assert_eq(evo_run_step(r), 0);
        cr_assert_eq(st_append(st, r, 0, err, sizeof err), 0, "%s", err);
    }
    cr_assert_eq(st_close(st, r, err, sizeof err), 0, "%s", err);
    evo_run_free(r);
    exp_spec_free(&s);
}

/* A data task resumed under mpirun: every rank builds the task from rank
 * 0's copy of the run file's /cases (the data file is gone by then), and
 * the resumed file is the uninterrupted run's. */
Test(mpi, a_data_task_resumes_under_mpirun_without_its_file) {
    SKIP_WITHOUT_MPI();
    char csv[128], spec[128], ref[128], part[128];
    snprintf(csv, sizeof csv, "%s/k.csv", dir);
    snprintf(spec, sizeof spec, "%s/k.json", dir);
    snprintf(ref, sizeof ref, "%s/ref.h5", dir);
    snprintf(part, sizeof part, "%s/part.h5", dir);
    FILE *f = fopen(csv, "w");
    cr_assert(f);
    fputs("a,T\n0.387098,0.240846\n0.723332,0.615198\n1.000001,1.000017\n1.523679,1.88085\n"
          "5.2044,11.862\n9.5826,29.4571\n19.2184,84.0205\n",
          f);
    fclose(f);
    f = fopen(spec, "w");
    cr_assert(f);
    fputs("{\"task\": {\"data\": \"k.csv\", \"target\": \"T\", \"split\": 0.3}, \"population\": "
          "{\"size\": 60, \"islands\": 4}, \"migration\": {\"every\": 3}, \"budget\": "
          "{\"generations\": 12}}",
          f);
    fclose(f);
    run_here(spec, ref, 0);
    run_here(spec, part, 4);
    cr_assert_eq(unlink(csv), 0);
    const char *res[] = {"resume", part, "--quiet", NULL};
    int rc = finish(start("part", 3, 1, res));
    cr_assert_eq(rc, 0, "resume: exit %d\n%s", rc, slurp("part", "err"));
    cr_assert(strstr(slurp("part", "err"), "is not there (moved?)"), "%s", slurp("part", "err"));
    same_files("ref", "part");
}
