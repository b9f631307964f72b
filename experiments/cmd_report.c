/* frugal report: tables, figures and report.md from stored runs; --lineage
 * traces an individual's ancestry (docs/report.md). The work is in analysis/. */
#include "analysis/analysis.h"
#include "experiments/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int exp_cmd_report(int argc, char **argv); /* declared in experiments/cli.h */

static const char report_usage[] =
    "usage: frugal report RUN.h5|DIR... [--out DIR] [--format LIST] [--ci wilson|clopper-pearson]\n"
    "                     [--bootstrap N] [--bootstrap-seed N] [--quiet]\n"
    "       frugal report RUN.h5 --lineage ID\n"
    "Reads runs (a DIR means every *.h5 in it: a batch over seeds; each argument is one\n"
    "experiment, and several are overlaid on the same axes and compared pairwise) and\n"
    "writes CSV tables, tables.tex, gnuplot scripts, the figures and report.md\n"
    "(docs/report.md).\n"
    "  --out DIR        where to write (default: DIR/report for one directory,\n"
    "                   RUN-report for one file, report/ for several inputs)\n"
    "  --format LIST    figure formats, comma-separated: png, pdf, svg (default png,pdf)\n"
    "  --ci M           success-rate intervals: wilson (default) or clopper-pearson\n"
    "  --bootstrap N    resamples for the effort's interval (default 10000)\n"
    "  --bootstrap-seed N  their seed (default 1): same inputs and seed, same interval\n"
    "  --lineage ID     print the ancestry of individual ID of RUN.h5 instead: ID is\n"
    "                   GEN:ISLAND:SLOT, GEN:SLOT (island 0) or best (the last best)\n"
    "  --quiet          no progress messages\n"
    "Figures need gnuplot (apt-get install gnuplot-nox); without it the tables and\n"
    "scripts are still written.\n"
    "Exit: 0 done (also without gnuplot), 1 gnuplot failed, 2 usage, 3 bad run file\n"
    "(not a run, truncated or corrupt), 4 a file cannot be read or written.\n";

static int lineage(const char *path, const char *id) {
    an_run r;
    char err[1024];
    int e;
    if (an_run_load(path, &r, &e, err, sizeof err)) {
        fprintf(stderr, "frugal report: %s\n", err);
        return e == AN_ERR_IO ? EXP_EXIT_IO : EXP_EXIT_INPUT;
    }
    int rc = EXP_EXIT_OK;
    uint64_t gen;
    uint32_t island, slot;
    if (an_parse_id(&r, id, &gen, &island, &slot)) {
        fprintf(stderr,
                "frugal report: --lineage expects GEN:ISLAND:SLOT, GEN:SLOT or best, got '%s'\n",
                id);
        rc = EXP_EXIT_USAGE;
        goto cleanup;
    }
    if (an_lineage(&r, gen, island, slot, true, stdout, err, sizeof err)) {
        fflush(stdout); /* the lineage up to the error, then the error */
        fprintf(stderr, "frugal report: %s\n", err);
        rc = EXP_EXIT_INPUT;
    }
cleanup:
    an_run_free(&r);
    return rc;
}

static void progress(const char *line, void *ctx) {
    fprintf(stderr, "frugal report: %s\n", line);
}

/* an_report's warnings, each line after "frugal report: " but those that
 * continue the one before (they start with spaces). */
static void print_warnings(const char *warn) {
    while (*warn) {
        size_t l = strcspn(warn, "\n");
        fprintf(stderr, "%s%.*s\n", *warn == ' ' ? "" : "frugal report: ", (int)l, warn);
        warn += l + (warn[l] == '\n');
    }
}

/* "png,pdf" -> AN_FMT bits. 0, or -1. */
static int parse_formats(const char *s, unsigned *out) {
    *out = 0;
    while (*s) {
        size_t l = strcspn(s, ",");
        if (l == 3 && !strncmp(s, "png", 3))
            *out |= AN_FMT(AN_PNG);
        else if (l == 3 && !strncmp(s, "pdf", 3))
            *out |= AN_FMT(AN_PDF);
        else if (l == 3 && !strncmp(s, "svg", 3))
            *out |= AN_FMT(AN_SVG);
        else
            return -1;
        s += l;
        if (*s == ',' && !*++s) return -1;
    }
    return *out ? 0 : -1;
}

int exp_cmd_report(int argc, char **argv) {
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"lineage", required_argument, NULL, 'l'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"ci", required_argument, NULL, 'c'},
                                         {"bootstrap", required_argument, NULL, 'b'},
                                         {"bootstrap-seed", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    an_report_opts o = {.formats = AN_FMT(AN_PNG) | AN_FMT(AN_PDF),
                        .ci = AN_CI_WILSON,
                        .boot_reps = AN_BOOT_REPS,
                        .boot_seed = 1,
                        .progress = progress};
    const char *out = NULL, *id = NULL;
    char def[4096];
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "ho:f:qc:b:s:", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'l': id = optarg; break;
        case 'q': o.progress = NULL; break;
        case 'f':
            if (parse_formats(optarg, &o.formats)) {
                fprintf(stderr,
                        "frugal report: --format expects png, pdf or svg, or a comma-separated "
                        "list of them, got '%s'\n",
                        optarg);
                return EXP_EXIT_USAGE;
            }
            break;
        case 'c':
            if (!strcmp(optarg, "wilson"))
                o.ci = AN_CI_WILSON;
            else if (!strcmp(optarg, "clopper-pearson"))
                o.ci = AN_CI_CLOPPER_PEARSON;
            else {
                fprintf(stderr, "frugal report: --ci expects wilson or clopper-pearson, got '%s'\n",
                        optarg);
                return EXP_EXIT_USAGE;
            }
            break;
        case 'b':
        case 's': {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || *optarg == '-' ||
                (ch == 'b' && (v < 1 || v > 10000000))) {
                fprintf(stderr, "frugal report: --%s expects %s, got '%s'\n",
                        ch == 'b' ? "bootstrap" : "bootstrap-seed",
                        ch == 'b' ? "a count from 1 to 10000000" : "an unsigned integer", optarg);
                return EXP_EXIT_USAGE;
            }
            if (ch == 'b')
                o.boot_reps = (uint32_t)v;
            else
                o.boot_seed = v;
            break;
        }
        case 'h': fputs(report_usage, stdout); return EXP_EXIT_OK;
        default: fputs(report_usage, stderr); return EXP_EXIT_USAGE;
        }
    }
    int n = argc - optind;
    if (n < 1) {
        fprintf(stderr, "frugal report: no run file or directory\n\n%s", report_usage);
        return EXP_EXIT_USAGE;
    }
    if (id) {
        if (n != 1) {
            fprintf(stderr, "frugal report: --lineage takes one run file\n");
            return EXP_EXIT_USAGE;
        }
        return lineage(argv[optind], id);
    }
    if (!out) {
        const char *in = argv[optind];
        size_t l = strlen(in);
        while (l > 1 && in[l - 1] == '/')
            l--;
        if (n > 1)
            snprintf(def, sizeof def, "report");
        else if (l > 3 && !strncmp(in + l - 3, ".h5", 3))
            snprintf(def, sizeof def, "%.*s-report", (int)(l - 3), in);
        else
            snprintf(def, sizeof def, "%.*s/report", (int)l, in);
        out = def;
    }
    o.out_dir = out;
    an_report_result res;
    char err[1024];
    int rc = an_report((const char *const *)argv + optind, (size_t)n, &o, &res, err, sizeof err);
    print_warnings(res.warn);
    if (rc) {
        fprintf(stderr, "frugal report: %s\n", err);
        return res.fail == AN_ERR_IO ? EXP_EXIT_IO : EXP_EXIT_INPUT;
    }
    /* without gnuplot the report is still done; gnuplot failing is a failure */
    return res.gnuplot_failed ? EXP_EXIT_FAIL : EXP_EXIT_OK;
}
