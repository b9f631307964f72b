/* frugal run, batch and resume end to end, through the binary named by
 * $FRUGAL: a tiny run writes an HDF5 file, --json parses, the same spec and
 * seed give the same result with 1 and 2 threads, SIGINT stops a run cleanly
 * and resume finishes it exactly as an uninterrupted run (after SIGKILL too,
 * every dataset), batch writes one
 * file per seed and an index. Run from the repository root. */
#define _GNU_SOURCE /* nftw */
#include "analysis/analysis.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "experiments/bench/bench.h"
#include "experiments/bench/bench_time.h"
#include "experiments/cli.h"
#include "tests/store/h5cmp.h"

static char dir[64];
static const char *frugal;

static void setup(void) {
    frugal = getenv("FRUGAL");
    cr_assert(frugal, "FRUGAL must name the frugal binary (make test sets it)");
    tu_tmpdir(dir, sizeof dir, "frugal-cli");
}

static void teardown(void) {
    tu_rmtree(dir);
}

TestSuite(cli, .init = setup, .fini = teardown);

/* Start frugal with args (NULL-terminated), stdout and stderr to files. */
static pid_t start(const char *tag, const char *const *args) {
    char out[128], err[128];
    snprintf(out, sizeof out, "%s/%s.out", dir, tag);
    snprintf(err, sizeof err, "%s/%s.err", dir, tag);
    const char *argv[64];
    size_t n = 0;
    argv[n++] = frugal;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0) _exit(127);
        execv(frugal, (char *const *)argv);
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

static int run(const char *tag, const char *const *args) {
    return finish(start(tag, args));
}

static char *slurp(const char *tag, const char *ext) {
    char p[128];
    snprintf(p, sizeof p, "%s/%s.%s", dir, tag, ext);
    FILE *f = fopen(p, "rb");
    cr_assert(f, "%s: %s", p, strerror(errno));
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static json_t *summary(const char *tag) {
    json_error_t je;
    char *text = slurp(tag, "out");
    json_t *j = json_loads(text, 0, &je);
    cr_assert(j, "%s: --json output does not parse (%s):\n%s\nstderr: %s", tag, je.text, text,
              slurp(tag, "err"));
    return j;
}

static const char *jstr(json_t *o, const char *k) {
    return json_string_value(json_object_get(o, k));
}
static long long jint(json_t *o, const char *k) {
    return json_integer_value(json_object_get(o, k));
}

static bool is_hdf5(const char *path) {
    unsigned char b[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    size_t n = fread(b, 1, 8, f);
    fclose(f);
    return n == 8 && !memcmp(b, "\x89HDF\r\n\x1a\n", 8);
}

#define SPEC "specs/quartic.json"

Test(cli, every_command_has_help) {
    const char *cmds[] = {"run", "batch", "resume", "demo"};
    for (int i = 0; i < 4; i++) {
        const char *a[] = {cmds[i], "--help", NULL};
        cr_assert_eq(run("help", a), 0, "%s --help", cmds[i]);
        cr_assert(strstr(slurp("help", "out"), "usage: frugal"), "%s --help", cmds[i]);
    }
    /* every command: --help wins over a file that does not exist */
    const char *all[] = {"run",        "batch",    "report", "inspect", "exec",
                         "superopt",   "arena",    "evm",    "asm",     "disasm",
                         "evm-disasm", "evm-test", "demo",   "resume",  "bench"};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        const char *a[] = {all[i], "no/such.file", "--help", NULL};
        cr_assert_eq(run("help", a), 0, "%s: %s", all[i], slurp("help", "err"));
        cr_assert(strstr(slurp("help", "out"), "usage"), "%s --help", all[i]);
    }
    /* resume's help needs no file: the name tells which resume */
    const char *h5[] = {"resume", "no/such.h5", "--help", NULL};
    cr_assert_eq(run("help", h5), 0, "%s", slurp("help", "err"));
    cr_assert(strstr(slurp("help", "out"), "usage: frugal resume FILE.h5 "), "%s",
              slurp("help", "out"));
    const char *snap[] = {"resume", "--help", "no/such.snap", NULL};
    cr_assert_eq(run("help", snap), 0, "%s", slurp("help", "err"));
    cr_assert(strstr(slurp("help", "out"), "usage: frugal resume FILE.snap "), "%s",
              slurp("help", "out"));
}

/* A missing input file is exit 4 in every command (docs/cli.md), and the
 * message names it; so is an output that cannot be made. */
Test(cli, missing_files_are_exit_4) {
    const char *cmds[][8] = {
        {"run", "no/such.json"},
        {"batch", "no/such.json", "--seeds", "1"},
        {"resume", "no/such.h5"},
        {"resume", "no/such.snap"},
        {"report", "no/such.h5"},
        {"report", "no/such-dir"},
        {"report", "no/such.h5", "--lineage", "best"},
        {"superopt", "no/such.jsonl"},
        {"arena", "no/such.json"},
        {"inspect", "no/such.snap"},
        {"exec", "no/such.s"},
        {"asm", "no/such.s"},
        {"disasm", "no/such.bin"},
        {"evm", "no/such.bin"},
        {"evm-disasm", "no/such.bin"},
        {"evm-test", "no/such.json"},
        {"demo", "--spec", "no/such.json"},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        int rc = run("missing", cmds[i]);
        cr_assert_eq(rc, EXP_EXIT_IO, "frugal %s %s: exit %d: %s", cmds[i][0], cmds[i][1], rc,
                     slurp("missing", "err"));
        cr_assert(strstr(slurp("missing", "err"), "no/such"), "frugal %s: %s", cmds[i][0],
                  slurp("missing", "err"));
    }
    cr_assert(access("no", F_OK) != 0, "a command made the folder no/");
    /* an output that cannot be made */
    char in[128];
    snprintf(in, sizeof in, "%s/rep.h5", dir);
    const char *mk[] = {"run",           SPEC, "--set", "population.size=30",
                        "--generations", "1",  "--out", in,
                        "--quiet",       NULL};
    cr_assert_eq(run("mk", mk), 0, "%s", slurp("mk", "err"));
    const char *rep[] = {"report", in, "--out", "/dev/null/x", "--quiet", NULL};
    cr_assert_eq(run("rep", rep), EXP_EXIT_IO, "%s", slurp("rep", "err"));
    cr_assert(strstr(slurp("rep", "err"), "/dev/null/x"), "%s", slurp("rep", "err"));
}

Test(cli, tiny_run_writes_a_file_and_a_json_summary) {
    char out[128];
    snprintf(out, sizeof out, "%s/a.h5", dir);
    const char *a[] = {"run",
                       SPEC,
                       "--set",
                       "population.size=40",
                       "--generations",
                       "3",
                       "--out",
                       out,
                       "--json",
                       "--quiet",
                       "--threads",
                       "1",
                       NULL};
    cr_assert_eq(run("a", a), 0, "stderr: %s", slurp("a", "err"));
    cr_assert(is_hdf5(out), "%s is not an HDF5 file", out);
    json_t *j = summary("a");
    cr_assert_str_eq(jstr(j, "spec"), "quartic");
    cr_assert_str_eq(jstr(j, "stop"), "generations");
    cr_assert_str_eq(jstr(j, "file"), out);
    cr_assert_eq(jint(j, "generation"), 3);
    cr_assert_eq(jint(j, "seed"), 1);
    cr_assert(json_is_true(json_object_get(j, "reproducible")));
    cr_assert_eq(strlen(jstr(j, "hash")), 16);
    json_t *b = json_object_get(j, "best");
    cr_assert(json_is_number(json_object_get(b, "error")));
    cr_assert(json_is_integer(json_object_get(b, "gas")));
    cr_assert_eq(jint(b, "cases"), 20);
    json_decref(j);

    /* the file is never overwritten without --force */
    const char *again[] = {"run",           SPEC, "--set", "population.size=40",
                           "--generations", "3",  "--out", out,
                           "--quiet",       NULL};
    cr_assert_eq(run("b", again), EXP_EXIT_IO);
    cr_assert(strstr(slurp("b", "err"), "--force"), "%s", slurp("b", "err"));
    const char *forced[] = {"run",           SPEC,      "--set", "population.size=40",
                            "--generations", "3",       "--out", out,
                            "--quiet",       "--force", NULL};
    cr_assert_eq(run("c", forced), 0, "%s", slurp("c", "err"));
}

Test(cli, bad_spec_and_bad_usage_exit_codes) {
    const char *a[] = {"run", SPEC, "--set", "selection.tournament=x", NULL};
    cr_assert_eq(run("e", a), EXP_EXIT_INPUT);
    cr_assert(strstr(slurp("e", "err"), "$.selection.tournament"), "%s", slurp("e", "err"));
    const char *b[] = {"run", "no/such.json", NULL};
    cr_assert_eq(run("e", b), EXP_EXIT_IO);
    const char *c[] = {"run", NULL};
    cr_assert_eq(run("e", c), EXP_EXIT_USAGE);
    const char *d[] = {"run", SPEC, "--seed", "-1", NULL};
    cr_assert_eq(run("e", d), EXP_EXIT_USAGE);
    const char *e[] = {"batch", SPEC, "--seeds", "5-1", NULL};
    cr_assert_eq(run("e", e), EXP_EXIT_USAGE);
    cr_assert(strstr(slurp("e", "err"), "5-1 is reversed"), "%s", slurp("e", "err"));
    const char *twice[] = {"batch", SPEC, "--seeds", "1-3,2", NULL};
    cr_assert_eq(run("e", twice), EXP_EXIT_USAGE);
    cr_assert(strstr(slurp("e", "err"), "seed 2 is listed twice"), "%s", slurp("e", "err"));
    char txt[128];
    snprintf(txt, sizeof txt, "%s/plain.h5", dir);
    FILE *f = fopen(txt, "w");
    fputs("not a run\n", f);
    fclose(f);
    const char *g[] = {"resume", txt, NULL};
    cr_assert_eq(run("e", g), EXP_EXIT_INPUT);
}

static json_t *run_json(const char *tag, const char *threads, const char *gens, const char *pop) {
    char out[128], popset[64];
    snprintf(out, sizeof out, "%s/%s.h5", dir, tag);
    snprintf(popset, sizeof popset, "population.size=%s", pop);
    const char *a[] = {"run", SPEC,     "--set",   popset,      "--generations", gens, "--out",
                       out,   "--json", "--quiet", "--threads", threads,         NULL};
    cr_assert_eq(run(tag, a), 0, "%s: %s", tag, slurp(tag, "err"));
    return summary(tag);
}

Test(cli, same_result_for_1_and_2_threads) {
    json_t *a = run_json("t1", "1", "6", "150"), *b = run_json("t2", "2", "6", "150");
    cr_assert_str_eq(jstr(a, "hash"), jstr(b, "hash"));
    cr_assert_eq(json_real_value(json_object_get(json_object_get(a, "best"), "error")),
                 json_real_value(json_object_get(json_object_get(b, "best"), "error")));
    cr_assert_eq(jint(a, "evaluations"), jint(b, "evaluations"));
    json_decref(a);
    json_decref(b);
}

Test(cli, sigint_stops_cleanly_and_resume_finishes_the_run_exactly) {
    /* long enough that SIGINT, sent as soon as the file exists, lands mid-run */
    json_t *ref = run_json("ref", "1", "3000", "40");
    char out[128];
    snprintf(out, sizeof out, "%s/int.h5", dir);
    const char *a[] = {"run",
                       SPEC,
                       "--set",
                       "population.size=40",
                       "--generations",
                       "3000",
                       "--out",
                       out,
                       "--json",
                       "--quiet",
                       "--threads",
                       "1",
                       NULL};
    pid_t pid = start("int", a);
    struct stat sb;
    for (int i = 0; i < 2000 && stat(out, &sb) != 0; i++)
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    cr_assert_eq(kill(pid, SIGINT), 0);
    int rc = finish(pid);
    cr_assert_eq(rc, EXP_EXIT_INTERRUPTED, "exit %d (the run finished before SIGINT?) %s", rc,
                 slurp("int", "err"));
    json_t *j = summary("int");
    cr_assert(json_is_true(json_object_get(j, "interrupted")));
    cr_assert_str_eq(jstr(j, "stop"), "interrupted");
    long long g = jint(j, "generation");
    cr_assert(g >= 0 && g < 3000, "generation %lld", g);
    json_decref(j);

    const char *r[] = {"resume", out, "--json", "--quiet", "--threads", "2", NULL};
    cr_assert_eq(run("res", r), 0, "%s", slurp("res", "err"));
    j = summary("res");
    cr_assert_eq(jint(j, "generation"), 3000);
    cr_assert_str_eq(jstr(j, "stop"), "generations");
    cr_assert_str_eq(jstr(j, "hash"), jstr(ref, "hash"), "resumed run differs from uninterrupted");
    json_decref(j);
    json_decref(ref);
}

/* frugal run as users run it (overlapped appends, group commits), killed
 * with SIGKILL at seeded moments, also during a resume, then resumed: every
 * dataset equals the uninterrupted run's. */
Test(cli, sigkill_then_resume_gives_the_uninterrupted_datasets) {
    char path[4][128];
    for (int k = 0; k < 4; k++) /* 0: the uninterrupted run */
        snprintf(path[k], sizeof path[k], "%s/kill%d.h5", dir, k);
    uint64_t seed = 77;
    for (int k = 0; k < 4; k++) {
        char tag[16], why[256] = "";
        snprintf(tag, sizeof tag, "kill%d", k);
        const char *a[] = {"run",
                           SPEC,
                           "--set",
                           "population.size=200",
                           "--set",
                           "output.commit_seconds=0.01",
                           "--generations",
                           "4000",
                           "--out",
                           path[k],
                           "--quiet",
                           "--threads",
                           "2",
                           NULL};
        if (k == 0) {
            cr_assert_eq(run(tag, a), 0, "%s", slurp(tag, "err"));
            continue;
        }
        const char *out = path[k];
        const char *r[] = {"resume", out, "--quiet", "--threads", "2", NULL};
        long ms = 20 + (long)tu_below(&seed, 300); /* the run takes about 0.8 s */
        int rc;
        /* a kill before the first commit leaves nothing to resume (a clear
         * error): on a slow machine (sanitizers, load) kill later, and again */
        for (int tries = 0;; tries++, ms *= 2) {
            pid_t pid = start(tag, a);
            struct stat sb;
            for (int i = 0; i < 2000 && stat(out, &sb) != 0; i++)
                nanosleep(&(struct timespec){0, 2000000}, NULL);
            nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000}, NULL);
            kill(pid, SIGKILL);
            cr_assert_eq(finish(pid), 128 + SIGKILL, "kill %d after %ld ms: the run had ended", k,
                         ms);
            if (k == 3) { /* kill the resume too: the file it resumes stays as it was */
                pid = start("res-killed", r);
                nanosleep(&(struct timespec){0, 30000000}, NULL);
                kill(pid, SIGKILL);
                finish(pid);
            }
            rc = run("res", r);
            if (rc == 0 || tries == 5 || !strstr(slurp("res", "err"), "no complete generation"))
                break;
            remove(out);
        }
        cr_assert_eq(rc, 0, "kill %d after %ld ms: %s", k, ms, slurp("res", "err"));
        cr_assert_eq(h5cmp_files(path[0], out, why, sizeof why), 0, "kill %d after %ld ms: %s", k,
                     ms, why);
    }
}

/* Every output.population choice resumes: a run killed with SIGKILL, then
 * resumed, has the uninterrupted run's datasets (/pop_generations included)
 * and population hash. (The default, every 10, is the test above.) */
Test(cli, every_population_choice_resumes_to_the_uninterrupted_run) {
    static const char *const choice[] = {"output.population=every", "output.population=every 7",
                                         "output.population=final"};
    uint64_t seed = 91;
    for (int k = 0; k < 3; k++) {
        char ref[128], out[128], why[256] = "";
        snprintf(ref, sizeof ref, "%s/pref%d.h5", dir, k);
        snprintf(out, sizeof out, "%s/pkill%d.h5", dir, k);
        const char *a[] = {"run",    SPEC,      "--set",         "population.size=200",
                           "--set",  choice[k], "--set",         "output.commit_seconds=0.01",
                           "--json", "--quiet", "--generations", "4000",
                           "--out",  ref,       "--threads",     "2",
                           NULL};
        cr_assert_eq(run("pref", a), 0, "%s", slurp("pref", "err"));
        json_t *rj = summary("pref");
        a[13] = out;
        const char *r[] = {"resume", out, "--json", "--quiet", "--threads", "2", NULL};
        long ms = 40 + (long)tu_below(&seed, 300);
        int rc;
        for (int tries = 0;; tries++, ms *= 2) {
            pid_t pid = start("pkill", a);
            struct stat sb;
            for (int i = 0; i < 2000 && stat(out, &sb) != 0; i++)
                nanosleep(&(struct timespec){0, 2000000}, NULL);
            nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000}, NULL);
            kill(pid, SIGKILL);
            cr_assert_eq(finish(pid), 128 + SIGKILL, "%s: killed after %ld ms: the run had ended",
                         choice[k], ms);
            rc = run("pres", r);
            if (rc == 0 || tries == 5 || !strstr(slurp("pres", "err"), "no complete generation"))
                break;
            remove(out);
        }
        cr_assert_eq(rc, 0, "%s: %s", choice[k], slurp("pres", "err"));
        json_t *j = summary("pres");
        cr_assert_str_eq(jstr(j, "hash"), jstr(rj, "hash"), "%s: resumed run differs", choice[k]);
        cr_assert_eq(h5cmp_files(ref, out, why, sizeof why), 0, "%s: %s", choice[k], why);
        json_decref(j);
        json_decref(rj);
    }
}

/* GEN:best: a run that keeps only its final population still gives each
 * generation's best (/elite), the program the individual /stats names in a
 * run of the same seed that keeps every generation; an individual the file
 * does not hold is a usage error that says what it holds. */
Test(cli, disasm_reads_each_generations_best) {
    char all[128], fin[128];
    snprintf(all, sizeof all, "%s/eall.h5", dir);
    snprintf(fin, sizeof fin, "%s/efin.h5", dir);
    const char *a[] = {"run",   SPEC,    "--set",   "population.size=40",
                       "--set", NULL,    "--quiet", "--generations",
                       "6",     "--out", NULL,      NULL};
    a[5] = "output.population=every";
    a[10] = all;
    cr_assert_eq(run("eall", a), 0, "%s", slurp("eall", "err"));
    a[5] = "output.population=final";
    a[10] = fin;
    cr_assert_eq(run("efin", a), 0, "%s", slurp("efin", "err"));
    for (int g = 0; g <= 6; g++) {
        char ia[160], ib[160];
        snprintf(ia, sizeof ia, "%s:%d:best", all, g);
        snprintf(ib, sizeof ib, "%s:%d:best", fin, g);
        const char *da[] = {"disasm", ia, NULL}, *db[] = {"disasm", ib, NULL};
        cr_assert_eq(run("eda", da), 0, "%s", slurp("eda", "err"));
        cr_assert_eq(run("edb", db), 0, "%s", slurp("edb", "err"));
        char *pa = strdup(slurp("eda", "out")), *pb = strdup(slurp("edb", "out"));
        cr_assert_gt(strlen(pa), 0);
        cr_assert_str_eq(pa, pb, "generation %d", g);
        free(pa);
        free(pb);
    }
    char bad[160];
    snprintf(bad, sizeof bad, "%s:3:0", fin);
    const char *d[] = {"disasm", bad, NULL};
    cr_assert_eq(run("ebad", d), 2);
    cr_assert(strstr(slurp("ebad", "err"), "each generation's best (GEN:best): 0 to 6"), "%s",
              slurp("ebad", "err"));
    /* a genome past the end of /elite/code: a clear error, not a read past it */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import h5py; f = h5py.File('%s', 'r+'); "
             "f['elite/code_offset'][3] = 10**12; f.close()\"",
             fin);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    snprintf(bad, sizeof bad, "%s:1:best", fin);
    cr_assert_eq(run("ebad", d), 3);
    cr_assert(strstr(slurp("ebad", "err"),
                     "truncated or corrupt run file (generation 3's best is past the end of "
                     "/elite/code)"),
              "%s", slurp("ebad", "err"));
}

/* bench science names the seeds behind each PSB rate: as many seeds as
 * the rate counts, each in 1..N, in increasing order (a smoke run). */
static void seeds_match(const char *out, const char *rate, const char *list) {
    const char *r = strstr(out, rate), *l = strstr(out, list);
    cr_assert(r && l, "%s", out);
    unsigned k = 0, n = 0;
    cr_assert_eq(sscanf(r + strlen(rate), " %u/%u", &k, &n), 2, "%s", r);
    const char *p = l + strlen(list);
    unsigned got = 0, last = 0;
    while (*p == ' ') {
        char *end;
        unsigned long v = strtoul(p + 1, &end, 10);
        if (end == p + 1) break; /* "none" */
        cr_assert(v > last && v <= n, "seed %lu after %u (of %u)", v, last, n);
        last = (unsigned)v;
        got++;
        p = end;
    }
    cr_assert_eq(got, k, "%s: %u seeds listed, the rate counts %u", list, got, k);
}

Test(cli, bench_science_names_the_seeds_of_each_rate) {
    char csv[128];
    snprintf(csv, sizeof csv, "%s/sci.csv", dir);
    const char *a[] = {"bench",    "science", "--quick", "--runs",    "4", "--only",
                       "smallest", "--csv",   csv,       "--threads", "2", NULL};
    cr_assert_eq(run("sci", a), 0, "%s", slurp("sci", "err"));
    char *out = strdup(slurp("sci", "out"));
    seeds_match(out, "frugal, solved and generalised", "seeds solved and generalised");
    seeds_match(out, "the same, simplified first", "seeds generalised when simplified");
    /* each rate against PushGP's published 81 of 100 by Fisher's exact test */
    const char *rates[] = {"frugal, solved and generalised", "the same, simplified first"};
    const char *tests[] = {"generalised, against PushGP", "simplified, against PushGP"};
    for (int i = 0; i < 2; i++) {
        unsigned k = 0, n = 0;
        double p = -1;
        const char *r = strstr(out, rates[i]), *t = strstr(out, tests[i]);
        cr_assert(r && t, "%s", out);
        cr_assert_eq(sscanf(r + strlen(rates[i]), " %u/%u", &k, &n), 2, "%s", r);
        cr_assert_eq(sscanf(t + strlen(tests[i]), " p = %lf", &p), 1, "%s", t);
        double want = an_fisher_exact(k, n - k, 81, 19, NULL);
        cr_assert(fabs(p - want) <= 5e-3 * want, "%s: p = %g, Fisher's exact test gives %g",
                  tests[i], p, want);
    }
    free(out);
}

/* The demo says that its file holds every generation's statistics and best
 * program: it does, for a generation whose population the file does not
 * keep (the demo's run stops at 13; /pop keeps 0, 10 and 13). */
Test(cli, demo_file_holds_what_the_demo_says) {
    char cwd[4096], cmd[8192];
    cr_assert(getcwd(cwd, sizeof cwd));
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' demo --spec '%s/specs/demo.json' > demo.out 2> demo.err", dir, frugal,
             cwd);
    cr_assert_eq(system(cmd), 0, "%s", slurp("demo", "err"));
    cr_assert(strstr(slurp("demo", "out"),
                     "Every generation's statistics and best program are in results/demo/"
                     "seed-4.h5"),
              "%s", slurp("demo", "out"));
    const char *o = slurp("demo", "out"), *s1 = strstr(o, "\nsimplified (");
    cr_assert(s1 && !strstr(s1 + 1, "\nsimplified ("), "the solution simplified, once: %s", o);
    char id[256];
    snprintf(id, sizeof id, "%s/results/demo/seed-4.h5:5:best", dir);
    const char *d[] = {"disasm", id, NULL};
    cr_assert_eq(run("demo5", d), 0, "%s", slurp("demo5", "err"));
    cr_assert_gt(strlen(slurp("demo5", "out")), 0);
}

/* --version (and every run file's frugal_commit) names the commit of the
 * sources the binary was built from, "-dirty" when they hold changes not
 * committed: an incremental build once kept an earlier commit in the
 * objects it did not rebuild. Outside a git checkout there is nothing to
 * compare with. */
Test(cli, version_names_the_commit_of_its_sources) {
    FILE *g = popen("git describe --always --dirty --abbrev=7 2>/dev/null", "r");
    cr_assert(g);
    char want[64] = "";
    bool have = fgets(want, sizeof want, g) != NULL;
    int grc = pclose(g);
    if (!have || grc != 0) return;
    want[strcspn(want, "\n")] = 0;
    const char *a[] = {"--version", NULL};
    cr_assert_eq(run("ver", a), 0, "%s", slurp("ver", "err"));
    char line[128];
    snprintf(line, sizeof line, "frugal 0.1.0 (%s)\n", want);
    cr_assert_str_eq(slurp("ver", "out"), line);
}

/* A run that solves its training cases shows the solution simplified, with
 * its test result: Smallest's seed 41 solves with a program that misses 2
 * of the 1000 test cases, and simplifies to MIN MIN MIN, which misses none. */
Test(cli, run_shows_its_solution_simplified) {
    char cwd[4096], spec[4200], out[128];
    cr_assert(getcwd(cwd, sizeof cwd));
    snprintf(spec, sizeof spec, "%s/specs/smallest.json", cwd);
    snprintf(out, sizeof out, "%s/smallest.h5", dir);
    const char *a[] = {"run", spec, "--seed", "41", "--threads", "1", "--out", out, NULL};
    cr_assert_eq(run("simp", a), 0, "%s", slurp("simp", "err"));
    const char *o = slurp("simp", "out");
    const char *s = strstr(o, "\nsimplified (5000 tries at deleting instructions");
    cr_assert(s, "%s", o);
    cr_assert(strstr(o, "test: error 2, 998/1000 hits"), "the evolved program's test: %s", o);
    unsigned n = 0;
    cr_assert(sscanf(strstr(s, "): ") + 3, "%u instructions", &n) == 1, "%s", s);
    cr_assert(
        strstr(s, "test: error 0, 1000/1000 hits\n  0000  MIN\n  0001  MIN\n  0002  MIN\nhash "),
        "%s", s);
    cr_assert_eq(n, 3, "%s", s);
    /* --json gives the same: the simplified program and its test */
    const char *j[] = {"run",   spec, "--seed",  "41",     "--threads", "1",
                       "--out", out,  "--force", "--json", NULL};
    cr_assert_eq(run("simpj", j), 0, "%s", slurp("simpj", "err"));
    const char *js = strstr(slurp("simpj", "out"), "\"simplified\": {");
    cr_assert(js, "%s", slurp("simpj", "out"));
    cr_assert(strstr(js, "\"code\": \"272727\""), "MIN MIN MIN: %s", js);
    cr_assert(strstr(js, "\"test_hits\": 1000"), "%s", js);
    cr_assert(strstr(js, "\"instructions\": 3"), "%s", js);
    /* a run that does not solve its training cases has nothing to simplify */
    const char *b[] = {"run",           spec, "--seed", "41", "--threads", "1",
                       "--generations", "1",  "--out",  out,  "--force",   NULL};
    cr_assert_eq(run("simp0", b), 0, "%s", slurp("simp0", "err"));
    cr_assert(!strstr(slurp("simp0", "out"), "simplified"), "%s", slurp("simp0", "out"));
    const char *c[] = {"run", spec,    "--seed", "41",      "--threads", "1", "--generations",
                       "1",   "--out", out,      "--force", "--json",    NULL};
    cr_assert_eq(run("simp0j", c), 0, "%s", slurp("simp0j", "err"));
    cr_assert(!strstr(slurp("simp0j", "out"), "simplified"), "%s", slurp("simp0j", "out"));
}

/* A down-sampled run's summary shows its best on every training case, not
 * on the last sample: Smallest's 0/1 errors make error + hits the number of
 * cases judged (100; the sample has 5). */
Test(cli, downsampled_run_shows_its_best_on_every_case) {
    char cwd[4096], spec[4200], out[128];
    cr_assert(getcwd(cwd, sizeof cwd));
    snprintf(spec, sizeof spec, "%s/specs/smallest.json", cwd);
    snprintf(out, sizeof out, "%s/sampled.h5", dir);
    const char *a[] = {"run",           spec,
                       "--seed",        "2",
                       "--threads",     "1",
                       "--generations", "1",
                       "--set",         "selection.downsample=0.05",
                       "--out",         out,
                       "--json",        NULL};
    cr_assert_eq(run("sampled", a), 0, "%s", slurp("sampled", "err"));
    const char *o = slurp("sampled", "out");
    const char *e = strstr(o, "\"error\": "), *h = strstr(o, "\"hits\": ");
    cr_assert(e && h, "%s", o);
    double err = atof(e + 9);
    long hits = atol(h + 8);
    cr_assert_eq(err + (double)hits, 100, "error %g + hits %ld: %s", err, hits, o);
    cr_assert_lt(err, 100);
}

static int batch(const char *tag, const char *out, const char *seeds, bool force);

Test(cli, batch_writes_a_file_per_seed_and_an_index) {
    char out[128];
    snprintf(out, sizeof out, "%s/batch", dir);
    cr_assert_eq(batch("batch", out, "1-3", false), 0, "%s", slurp("batch", "err"));
    for (int s = 1; s <= 3; s++) {
        char p[160];
        snprintf(p, sizeof p, "%s/seed-%d.h5", out, s);
        cr_assert(is_hdf5(p), "%s missing", p);
    }
    char idx[160];
    snprintf(idx, sizeof idx, "%s/index.csv", out);
    FILE *f = fopen(idx, "r");
    cr_assert(f, "%s missing", idx);
    char line[1024];
    int rows = 0;
    cr_assert(fgets(line, sizeof line, f));
    cr_assert(!strncmp(line, "seed,file,exit,stop,", 20), "%s", line);
    while (fgets(line, sizeof line, f)) {
        rows++;
        char want[200];
        snprintf(want, sizeof want, "%d,%s/seed-%d.h5,0,generations,2,", rows, out, rows);
        cr_assert(!strncmp(line, want, strlen(want)), "row %d: %s", rows, line);
    }
    fclose(f);
    cr_assert_eq(rows, 3);
}

Test(cli, print_spec_shows_the_canonical_text_with_overrides) {
    const char *a[] = {"run",          SPEC, "--seed", "77", "--set", "selection.method=lexicase",
                       "--print-spec", NULL};
    cr_assert_eq(run("ps", a), 0, "%s", slurp("ps", "err"));
    json_error_t je;
    json_t *j = json_loads(slurp("ps", "out"), JSON_REJECT_DUPLICATES, &je);
    cr_assert(j, "%s", je.text);
    cr_assert_eq(jint(j, "seed"), 77);
    cr_assert_str_eq(jstr(json_object_get(j, "selection"), "method"), "lexicase");
    cr_assert_str_eq(jstr(json_object_get(j, "task"), "name"), "quartic");
    json_decref(j);
}

Test(cli, resume_of_a_finished_run_reports_it) {
    json_t *a = run_json("fin", "1", "2", "30");
    char out[128];
    snprintf(out, sizeof out, "%s/fin.h5", dir);
    const char *r[] = {"resume", out, "--json", "--quiet", NULL};
    cr_assert_eq(run("fin2", r), 0, "%s", slurp("fin2", "err"));
    json_t *b = summary("fin2");
    cr_assert_eq(jint(b, "generation"), 2);
    cr_assert_str_eq(jstr(b, "hash"), jstr(a, "hash"));
    json_decref(a);
    json_decref(b);
}

/* ---- frugal exec and frugal resume FILE.snap ---- */

/* examples/sandbox_loop.s: CREATE, RECURSE, DROPKEY 100,000
 * times; the child's key slot is reused every round (docs/isa.md). */
Test(cli, exec_sandbox_loop_runs_100000_rounds) {
    const char *a[] = {
        "exec", "examples/sandbox_loop.s", "--push", "0", "--push", "100000", "--gas", "200000000",
        NULL};
    cr_assert_eq(run("loop", a), 0, "%s%s", slurp("loop", "out"), slurp("loop", "err"));
    char *out = slurp("loop", "out");
    cr_assert(strstr(out, "status   HALTED"), "%s", out);
    cr_assert(strstr(out, "stack    100000 0 1   (bottom first)"), "%s", out);
}

/* --depth sets the nesting limit of exec and resume: sandbox_rec.s 70 levels
 * deep needs 71; without it every level reports NEST_LIMIT (16). */
Test(cli, exec_and_resume_take_a_depth) {
    const char *deep[] = {
        "exec", "examples/sandbox_rec.s", "--push", "41", "--push", "70", NULL, NULL, NULL};
    cr_assert_eq(run("d64", deep), 0);
    cr_assert(strstr(slurp("d64", "out"), "stack    41 70 16 0   (bottom first)"), "%s",
              slurp("d64", "out"));
    deep[6] = "--depth";
    deep[7] = "71";
    cr_assert_eq(run("d71", deep), 0, "%s", slurp("d71", "err"));
    cr_assert(strstr(slurp("d71", "out"), "stack    41 70 42 1   (bottom first)"), "%s",
              slurp("d71", "out"));
    const char *bad[] = {"0", "1025", "x", "-3"};
    for (int i = 0; i < 4; i++) {
        deep[7] = bad[i];
        cr_assert_eq(run("bad", deep), 2, "--depth %s", bad[i]);
        cr_assert(strstr(slurp("bad", "err"), "--depth"), "%s", slurp("bad", "err"));
    }
    /* the root alone (--depth 1) cannot RECURSE: resumed with room for its child */
    char snap[128];
    snprintf(snap, sizeof snap, "%s/nest.snap", dir);
    const char *one[] = {"exec",       "examples/sandbox_rec.s",
                         "--push",     "41",
                         "--push",     "1",
                         "--depth",    "1",
                         "--snapshot", snap,
                         NULL};
    cr_assert_eq(run("one", one), 1);
    cr_assert(strstr(slurp("one", "out"), "status   NEST_LIMIT"), "%s", slurp("one", "out"));
    const char *res[] = {"resume", "--depth", "2", snap, NULL}; /* the file after the option */
    cr_assert_eq(run("res", res), 0, "%s", slurp("res", "err"));
    char resumed[4096];
    snprintf(resumed, sizeof resumed, "%s", slurp("res", "out"));
    one[7] = "2";
    one[8] = NULL;
    cr_assert_eq(run("two", one), 0);
    cr_assert_str_eq(resumed, slurp("two", "out"));
    cr_assert(strstr(resumed, "stack    41 1 42 1   (bottom first)"), "%s", resumed);
    const char *help[][4] = {{"exec", "--help", NULL}, {"resume", snap, "--help", NULL}};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(run("help", help[i]), 0);
        cr_assert(strstr(slurp("help", "out"), "--depth N"), "%s", slurp("help", "out"));
    }
}

/* frugal bench calibrate times every opcode (but HALT and YIELD, which end a
 * run) in a kernel that runs it successfully; --check runs each kernel once,
 * untimed: all of them halt and pay at least their table gas. */
Test(cli, bench_calibrate_has_a_working_kernel_for_every_opcode) {
    const char *a[] = {"bench", "calibrate", "--check", NULL};
    cr_assert_eq(run("cal", a), 0, "%s%s", slurp("cal", "out"), slurp("cal", "err"));
    char *out = slurp("cal", "out");
    for (int op = 0; op < 256; op++) {
        const vm_opinfo *oi = vm_opinfo_of((uint8_t)op);
        if (!oi->name || op == VM_OP_HALT || op == VM_OP_YIELD) continue;
        char row[64];
        snprintf(row, sizeof row, "ok   %s", op == VM_OP_RET ? "CALL+RET" : oi->name);
        cr_assert(strstr(out, row), "no working kernel for %s:\n%s", oi->name, out);
    }
    cr_assert(strstr(out, " 0 failed"), "%s", out);
}

/* The lines of a file (malloc'd), or NULL when it cannot be read. */
static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return strdup(buf);
}

static int batch(const char *tag, const char *out, const char *seeds, bool force) {
    const char *a[] = {"batch",
                       SPEC,
                       "--seeds",
                       seeds,
                       "--jobs",
                       "2",
                       "--generations",
                       "2",
                       "--set",
                       "population.size=30",
                       "--out",
                       out,
                       "--threads",
                       "2",
                       force ? "--force" : NULL,
                       NULL};
    return run(tag, a);
}

/* Running a batch again never loses results: existing seeds are not run
 * again ("exists", not "failed"), their summaries stay, and the index keeps
 * every earlier row, merged by seed. */
Test(cli, batch_again_keeps_every_result) {
    char out[128], p[256];
    snprintf(out, sizeof out, "%s/again", dir);
    cr_assert_eq(batch("b1", out, "1-3", false), 0, "%s", slurp("b1", "err"));
    snprintf(p, sizeof p, "%s/index.csv", out);
    char *index1 = read_text(p), *json[4] = {0};
    cr_assert(index1);
    for (int s = 1; s <= 3; s++) {
        snprintf(p, sizeof p, "%s/seed-%d.json", out, s);
        cr_assert((json[s] = read_text(p)) && strlen(json[s]) > 100, "%s", p);
    }
    /* seeds 2 and 3 again, no --force: nothing is run, nothing changes */
    cr_assert_eq(batch("b2", out, "2-3", false), 0, "%s", slurp("b2", "err"));
    char *err = slurp("b2", "err");
    cr_assert(strstr(err, "seed 2 exists") && strstr(err, "seed 3 exists") &&
                  !strstr(err, "failed"),
              "%s", err);
    snprintf(p, sizeof p, "%s/index.csv", out);
    char *index2 = read_text(p);
    cr_assert_str_eq(index2, index1, "the index changed:\n%s\nwas:\n%s", index2, index1);
    for (int s = 1; s <= 3; s++) {
        snprintf(p, sizeof p, "%s/seed-%d.json", out, s);
        char *now = read_text(p);
        cr_assert(now && !strcmp(now, json[s]), "%s changed: '%s'", p, now ? now : "(missing)");
        free(now);
    }
    /* seeds 3 and 4: seed 4 is added, 1 to 3 stay */
    cr_assert_eq(batch("b3", out, "3-4", false), 0, "%s", slurp("b3", "err"));
    snprintf(p, sizeof p, "%s/index.csv", out);
    char *index3 = read_text(p);
    cr_assert(!strncmp(index3, index1, strlen(index1)), "%s", index3);
    char want[200];
    snprintf(want, sizeof want, "\n4,%s/seed-4.h5,0,generations,2,", out);
    cr_assert(strstr(index3, want), "%s", index3);
    int rows = 0;
    for (char *c = index3; *c; c++)
        rows += *c == '\n';
    cr_assert_eq(rows, 5, "%s", index3); /* the header and seeds 1-4 */
    /* --force runs seed 2 again: the same spec and seed give the same row */
    cr_assert_eq(batch("b4", out, "2", true), 0, "%s", slurp("b4", "err"));
    char *index4 = read_text(p);
    cr_assert_str_eq(index4, index3);
    /* nothing temporary is left */
    DIR *d = opendir(out);
    cr_assert(d);
    for (struct dirent *e; (e = readdir(d));)
        cr_assert(!strstr(e->d_name, ".tmp"), "%s left behind", e->d_name);
    closedir(d);
    free(index1);
    free(index2);
    free(index3);
    free(index4);
    for (int s = 1; s <= 3; s++)
        free(json[s]);
}

/* Memory for at most 4 GiB of address space (the sanitizer reserves far
 * more: there, allocations over 4 GiB fail instead). */
static void small_memory(void) {
    if (getenv("FRUGAL_SANITIZED")) {
        char o[512];
        snprintf(o, sizeof o, "%s:allocator_may_return_null=1:max_allocation_size_mb=4096",
                 getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "");
        setenv("ASAN_OPTIONS", o, 1);
        return;
    }
    struct rlimit rl = {4ull << 30, 4ull << 30};
    setrlimit(RLIMIT_AS, &rl);
}

/* A spec whose populations do not fit in memory: exit 1 (docs/cli.md: out of
 * memory during a run), not 3 (the spec is valid), and no file. */
Test(cli, out_of_memory_is_exit_1) {
    /* ASan reserves terabytes of shadow address space: it cannot start under
     * the 4 GiB RLIMIT_AS this test sets */
    if (getenv("FRUGAL_SANITIZED")) { /* make test runs it; cr_skip_test leaks under LSan */
        fprintf(stderr, "cli/out_of_memory_is_exit_1: not run under sanitizers\n");
        return;
    }
    char out[128], o[160], e[160];
    snprintf(out, sizeof out, "%s/oom.h5", dir);
    snprintf(o, sizeof o, "%s/oom.out", dir);
    snprintf(e, sizeof e, "%s/oom.err", dir);
    char *argv[] = {(char *)frugal,
                    "run",
                    SPEC,
                    "--set",
                    "population.size=16777216",
                    "--set",
                    "genome.max_bytes=32767",
                    "--out",
                    out,
                    "--quiet",
                    NULL};
    int rc = tu_run_watched(argv, o, e, small_memory, 300);
    cr_assert_eq(rc, EXP_EXIT_FAIL, "exit %d: %s", rc, slurp("oom", "err"));
    cr_assert(strstr(slurp("oom", "err"), "out of memory"), "%s", slurp("oom", "err"));
    cr_assert(access(out, F_OK) != 0, "%s was written", out);
}

/* frugal superopt reads and checks its whole input first: a bad line is an
 * error naming the file and the line (and column), before any output (no CSV header, no
 * summary, no block optimised). */
Test(cli, superopt_bad_input_fails_before_any_output) {
    char in[128];
    const char *bad[] = {"not json", "{\"id\": \"x\"}", "{\"input\": \"zz\"}"};
    for (int k = 0; k < 3; k++) {
        snprintf(in, sizeof in, "%s/blocks.jsonl", dir);
        FILE *f = fopen(in, "w");
        cr_assert(f);
        fprintf(f, "{\"id\": \"a\", \"input\": \"6001600201\"}\n%s\n", bad[k]);
        fclose(f);
        const char *a[] = {"superopt", in,        "--budget", "100",     "--pop",
                           "20",       "--equiv", "10",       "--quiet", NULL};
        cr_assert_eq(run("so", a), EXP_EXIT_INPUT, "%s", slurp("so", "err"));
        char want[160];
        snprintf(want, sizeof want, "%s:2:", in);
        char *err = slurp("so", "err");
        cr_assert(strstr(err, want) && !strstr(err, "summary"), "%s", err);
        cr_assert_str_empty(slurp("so", "out"));
    }
}

/* frugal bench evm compares with evmone's figure of the CPU it runs on, and
 * says so when it has none (issue 21): the reference is chosen from the
 * model name (and the clock, where the reference gives one). */
Test(cli, bench_evm_takes_the_evmone_reference_of_this_cpu_only) {
    static const struct {
        const char *cpuinfo, *says;
    } cases[] = {
        {"model name\t: AMD EPYC 7B13\ncpu MHz\t\t: 2450.000\n",
         "the reference of AMD EPYC, 1666-1677 and 1477-1483 Mgas/s"},
        {"model name\t: Intel(R) Xeon(R) CPU @ 2.60GHz\ncpu MHz\t\t: 2100.000\n",
         "the reference of Intel Xeon 2.6 GHz, 2336-2336 and 1599-1599 Mgas/s"},
        {"model name\t: Intel(R) Xeon(R) Processor\ncpu MHz\t\t: 2100.000\n",
         "NO reference for this CPU"},
        {"model name\t: Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz\n", "NO reference for this CPU"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/cpuinfo%zu", dir, i);
        FILE *f = fopen(path, "w");
        cr_assert(f);
        fputs(cases[i].cpuinfo, f);
        fclose(f);
        const char *a[] = {"bench", "evm", "--reference", "--cpuinfo", path, NULL};
        cr_assert_eq(run("evmref", a), 0, "%s", slurp("evmref", "err"));
        char *out = slurp("evmref", "out");
        cr_assert(strstr(out, "CPU: "), "%s", out);
        cr_assert(strstr(out, cases[i].says), "case %zu:\n%s", i, out);
    }
    const char *bad[] = {"bench", "evm", "--reference", "--cpuinfo", "no/such/file", NULL};
    cr_assert_eq(run("evmref", bad), 4);
    cr_assert(strstr(slurp("evmref", "err"), "no/such/file"));
}

/* bench gp's context for the parallel efficiency: a cache line's round trip
 * between two threads' cores. It ends within its one-second cap even when
 * both threads share a core, and it measures something plausible when they
 * need not. */
Test(cli, bench_core_round_trip_measures_and_ends) {
    cpu_set_t one, all;
    cr_assert_eq(sched_getaffinity(0, sizeof all, &all), 0);
    int first = 0; /* the first CPU this process may use (a container's need not be 0) */
    while (first < CPU_SETSIZE - 1 && !CPU_ISSET(first, &all))
        first++;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    /* OpenMP's threads start here and inherit the one core */
    cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0);
    double t0 = bench_now(), ns = bench_core_round_trip(), secs = bench_now() - t0;
    cr_assert_eq(sched_setaffinity(0, sizeof all, &all), 0);
    cr_assert(ns > 1, "%g ns", ns);
    cr_assert_lt(secs, 5, "took %g s", secs);
    t0 = bench_now();
    ns = bench_core_round_trip();
    cr_assert(ns > 1 && ns < 1e8, "%g ns", ns);
    cr_assert_lt(bench_now() - t0, 5);
}

/* bench gp shows one thread's speed on each CPU it may use (the vCPUs of a
 * cloud machine need not be alike), with the same runs, and gives the
 * process its CPUs back. */
Test(cli, bench_gp_times_one_thread_on_each_cpu) {
    cpu_set_t all, after;
    cr_assert_eq(sched_getaffinity(0, sizeof all, &all), 0);
    int want = CPU_COUNT(&all) < EXP_GP_CPUS ? CPU_COUNT(&all) : EXP_GP_CPUS;
    exp_gp_options o = {.pop = 40, .gens = 2, .seed = 3, .threads = 2, .rounds = 1};
    exp_gp_figures f;
    cr_assert_eq(exp_bench_gp_figures(&o, &f), 0);
    cr_assert(f.same_hash, "a pinned run differs");
    cr_assert_eq(f.ncpus, want);
    for (int k = 0; k < f.ncpus; k++) {
        cr_assert(CPU_ISSET(f.cpu_id[k], &all), "cpu%d", f.cpu_id[k]);
        cr_assert(k == 0 || f.cpu_id[k] > f.cpu_id[k - 1]);
        cr_assert(f.cpu_rate[k] > 0 && isfinite(f.cpu_rate[k]));
        cr_assert(f.cpu_lo <= f.cpu_rate[k] && f.cpu_rate[k] <= f.cpu_hi);
    }
    cr_assert_eq(sched_getaffinity(0, sizeof after, &after), 0);
    cr_assert(CPU_EQUAL(&all, &after), "the affinity was not restored");
}

/* bench gp's efficiency in two factors: the host's scaling of unshared
 * work (N separate runs at once, rate[2], against one run) and one shared
 * population against the separate runs. With one round the paired ratios
 * are the rates' own, and multiply exactly. */
Test(cli, bench_gp_efficiency_is_its_two_factors) {
    exp_gp_options o = {.pop = 40, .gens = 2, .seed = 3, .threads = 2, .rounds = 1};
    exp_gp_figures f;
    cr_assert_eq(exp_bench_gp_figures(&o, &f), 0);
    cr_assert(f.same_hash, "a separate run differs");
    cr_assert(f.rate[2].med > 0 && isfinite(f.rate[2].med));
    cr_assert(f.unshared.med > 0 && isfinite(f.unshared.med));
    cr_assert_float_eq(f.unshared.med * 2 * f.rate[0].med, f.rate[2].med, 1e-6 * f.rate[2].med);
    cr_assert_float_eq(f.vs_apart.med * f.rate[2].med, f.rate[1].med, 1e-6 * f.rate[1].med);
    cr_assert_float_eq(f.efficiency.med, f.unshared.med * f.vs_apart.med, 1e-9);
}
