/* frugal demo: run specs/demo.json into results/demo/ and show what it
 * found (the best program, disassembled, with its error and gas). */
#include "experiments/cli.h"
#include "experiments/spec.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int exp_cmd_report(int argc, char **argv); /* experiments/cmd_report.c (also in cli.h) */

static const char demo_usage[] =
    "usage: frugal demo [--spec FILE.json] [--threads N]\n"
    "Runs the demo experiment (default specs/demo.json, from the repository\n"
    "root) into results/<spec name>/, replacing an earlier demo result, and shows\n"
    "what it found: the best program disassembled, its error and its gas.\n";

int exp_cmd_demo(int argc, char **argv) {
    static const struct option opts[] = {{"spec", required_argument, 0, 's'},
                                         {"threads", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *path = "specs/demo.json";
    exp_override ov[1];
    size_t nov = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': path = optarg; break;
        case 't': {
            uint64_t t;
            if (exp_parse_u64("--threads", optarg, &t)) return EXP_EXIT_USAGE;
            ov[nov++] = (exp_override){"threads", optarg};
            break;
        }
        case 'h': fputs(demo_usage, stdout); return EXP_EXIT_OK;
        default: fputs(demo_usage, stderr); return EXP_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(demo_usage, stderr);
        return EXP_EXIT_USAGE;
    }
    printf("frugal demo: genetic programming on the metered VM (%s)\n\n", path);
    fflush(stdout);
    exp_spec spec;
    evo_run *r = NULL;
    char file[4096] = "";
    int rc = exp_run_spec(path, ov, nov, NULL, true, false, &spec, &r, file, sizeof file);
    if (rc) return rc;
    evo_stats st;
    if (evo_run_stats(r, &st) == 0) {
        const fit_task *t = evo_run_task(r);
        const evo_isa *isa = evo_run_isa(r);
        evo_pop_view v;
        evo_run_island(r, st.best_island, &v);
        uint32_t insns =
            evo_genome_insns(isa, v.code + (size_t)st.best_slot * v.stride, v.len[st.best_slot]);
        printf("\nWhat it found: a native program of %u instructions (%u bytes) for task \"%s\",\n"
               "right on %u of %u training cases, using %" PRIu64 " gas over them (%.1f per "
               "case),\nafter %" PRIu64 " generations and %" PRIu64 " evaluations.\n",
               insns, st.best_length, spec.task_name, st.best_hits, t->train.n, st.best_gas,
               t->train.n ? (double)st.best_gas / t->train.n : 0.0, st.generation, st.evaluations);
#if EXP_HAVE_STORE
        /* /stats and /elite keep every generation, /pop what output.population keeps */
        printf("Every generation's statistics and best program are in %s\n"
               "(frugal disasm %s:GEN:best, frugal resume, h5dump, analysis/).\n",
               file, file);
#endif
        printf("The run is a pure function of the spec and its seed: run it again and the hash\n"
               "is the same, with any number of threads.\n");
    }
    evo_run_free(r);
    exp_spec_free(&spec);
#if EXP_HAVE_STORE
    /* the demo ends with its report (docs/report.md), next to the run file */
    char out[4096];
    const char *slash = strrchr(file, '/');
    snprintf(out, sizeof out, "%.*sreport", slash ? (int)(slash - file + 1) : 0, file);
    char *rargv[] = {"report", file, "--out", out, "--quiet", NULL};
    fflush(stdout);
    if (exp_cmd_report(5, rargv) == EXP_EXIT_OK)
        printf("The report (figures, tables, the best program): %s/report.md\n", out);
#endif
    return EXP_EXIT_OK;
}
