/* frugal report: CSV tables, gnuplot scripts and figures, and report.md
 * (docs/report.md). */
#include "analysis/analysis.h"
#include "analysis/an_impl.h"
#include "base/base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_HIST 5 /* fronts shown in a front-history figure */

/* What the report keeps of one run (the run itself is freed after reading). */
typedef struct {
    char path[4096];
    uint64_t seed, generations;
    char stop_reason[17];
    an_stats *stats; /* [generations] */
    int64_t solved_gen;
    uint64_t best_row; /* in the last generation */
    an_stats best;     /* the last /stats row */
    char *program;     /* the best program, disassembled */
    char *case_errors; /* its per-case errors as text, or NULL */
    uint32_t best_island, best_slot;
    char code_hex[2 * 256 + 4];
} run_sum;

typedef struct {
    char input[4096];
    char label[AN_NAME]; /* the experiment's name in figures and file names */
    char spec_name[AN_NAME];
    char seeds[256]; /* e.g. "1-3,7" */
    bool has_target;
    double target_error;
    uint32_t cases, islands, pop_size;
    run_sum *runs;
    size_t n;
    uint64_t gens; /* the longest run's generations */
    size_t best;   /* the run with the lowest final best fitness */
} group;

/* Axis ranges seen while writing data, to choose log scales. */
typedef struct {
    double lo, hi; /* over positive values */
    bool nonpos;   /* some value <= 0 */
} range;

static void rng_add(range *r, double v) {
    if (!(v > 0)) {
        r->nonpos = true;
        return;
    }
    if (r->lo == 0 || v < r->lo) r->lo = v;
    if (v > r->hi) r->hi = v;
}
/* Log scale when every value is positive and they span two decades. */
static bool rng_log(const range *r) {
    return !r->nonpos && r->lo > 0 && r->hi / r->lo >= 100;
}

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                     "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
#define NCOLORS (sizeof colors / sizeof *colors)

const char *an_ext_of(an_format f) {
    return f == AN_SVG ? "svg" : f == AN_PDF ? "pdf" : "png";
}

FILE *an_open_out(const char *dir, const char *name, FILE *msg) {
    char p[8192];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f) fprintf(msg, "frugal report: cannot write %s: %s\n", p, strerror(errno));
    return f;
}

int an_close_out(FILE *f, const char *dir, const char *name, FILE *msg) {
    if (ferror(f) | (fclose(f) != 0)) {
        fprintf(msg, "frugal report: cannot write %s/%s\n", dir, name);
        return -1;
    }
    return 0;
}

static void free_group(group *g) {
    for (size_t i = 0; i < g->n; i++) {
        free(g->runs[i].stats);
        free(g->runs[i].program);
        free(g->runs[i].case_errors);
    }
    free(g->runs);
    memset(g, 0, sizeof *g);
}

/* ---- reading the inputs ---- */

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.h5 files of a directory (sorted), or the file itself. */
static int list_inputs(const char *in, char ***files, size_t *n, FILE *msg) {
    struct stat st;
    *files = NULL;
    *n = 0;
    if (stat(in, &st) != 0) {
        fprintf(msg, "frugal report: %s: %s\n", in, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (!(*files = malloc(sizeof **files)) || !((*files)[0] = strdup(in))) {
            free(*files);
            *files = NULL;
            return -1;
        }
        *n = 1;
        return 0;
    }
    DIR *d = opendir(in);
    if (!d) {
        fprintf(msg, "frugal report: %s: %s\n", in, strerror(errno));
        return -1;
    }
    struct dirent *e;
    size_t cap = 0;
    int rc = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 4 || strcmp(e->d_name + l - 3, ".h5")) continue;
        if (base_grow((void **)files, &cap, *n + 1, sizeof **files, SIZE_MAX)) {
            rc = -1;
            break;
        }
        size_t pl = strlen(in) + l + 2;
        char *p = malloc(pl);
        if (!p) {
            rc = -1;
            break;
        }
        snprintf(p, pl, "%s/%s", in, e->d_name);
        (*files)[(*n)++] = p;
    }
    closedir(d);
    if (!rc && !*n) {
        fprintf(msg, "frugal report: %s: no run files (*.h5) in this directory\n", in);
        rc = -1;
    }
    if (rc) {
        for (size_t i = 0; i < *n; i++)
            free((*files)[i]);
        free(*files);
        *files = NULL;
        *n = 0;
        return -1;
    }
    qsort(*files, *n, sizeof **files, cmp_str);
    return 0;
}

static int cmp_run_seed(const void *a, const void *b) {
    const run_sum *x = a, *y = b;
    return x->seed < y->seed ? -1 : x->seed > y->seed;
}

static void seeds_text(group *g) {
    size_t n = 0;
    g->seeds[0] = 0;
    for (size_t i = 0; i < g->n && n + 48 < sizeof g->seeds;) {
        size_t j = i;
        while (j + 1 < g->n && g->runs[j + 1].seed == g->runs[j].seed + 1)
            j++;
        int w = j > i ? snprintf(g->seeds + n, sizeof g->seeds - n, "%s%" PRIu64 "-%" PRIu64,
                                 n ? "," : "", g->runs[i].seed, g->runs[j].seed)
                      : snprintf(g->seeds + n, sizeof g->seeds - n, "%s%" PRIu64, n ? "," : "",
                                 g->runs[i].seed);
        if (w > 0) n += (size_t)w;
        i = j + 1;
        if (i < g->n && n + 48 >= sizeof g->seeds) snprintf(g->seeds + n, 5, ",...");
    }
}

static void sanitize(char *s) {
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            *s = '_';
}

/* The Pareto front of generation gen in (error, gas), both minimised: rows
 * into out (room for islands * pop_size), sorted by gas ascending. Equal
 * points are kept once. Returns the count. */
static uint64_t pareto(const an_run *r, uint64_t gen, uint64_t *out) {
    uint64_t m = (uint64_t)r->islands * r->pop_size, base = gen * m, n = 0;
    /* sort rows by (gas, error) with a simple index sort */
    uint64_t *idx = malloc(m * sizeof *idx);
    if (!idx) return 0;
    for (uint64_t i = 0; i < m; i++)
        idx[i] = base + i;
    /* shell sort on (gas, error) */
    for (uint64_t gap = m / 2; gap > 0; gap /= 2)
        for (uint64_t i = gap; i < m; i++) {
            uint64_t t = idx[i], j = i;
            while (j >= gap &&
                   (r->gas[idx[j - gap]] > r->gas[t] ||
                    (r->gas[idx[j - gap]] == r->gas[t] && r->error[idx[j - gap]] > r->error[t]))) {
                idx[j] = idx[j - gap];
                j -= gap;
            }
            idx[j] = t;
        }
    double best = INFINITY;
    for (uint64_t i = 0; i < m; i++)
        if (r->error[idx[i]] < best) {
            best = r->error[idx[i]];
            out[n++] = idx[i];
        }
    free(idx);
    return n;
}

/* Read one run: keep its summary, append its rows to the group's data files. */
static int read_run(group *g, const char *path, FILE *front, FILE *memerr, FILE *hist, range *rg,
                    FILE *msg) {
    an_run r;
    char err[1024];
    if (an_run_load(path, &r, err, sizeof err)) {
        fprintf(msg, "frugal report: %s\n", err);
        return -1;
    }
    int rc = -1;
    uint64_t *rows = NULL;
    run_sum *s = &g->runs[g->n];
    memset(s, 0, sizeof *s);
    if (g->n == 0) {
        snprintf(g->spec_name, sizeof g->spec_name, "%s", r.spec_name);
        g->has_target = r.has_target;
        g->target_error = r.target_error;
        g->cases = r.cases;
        g->islands = r.islands;
        g->pop_size = r.pop_size;
    } else if (strcmp(g->spec_name, r.spec_name) || g->islands != r.islands ||
               g->pop_size != r.pop_size) {
        fprintf(msg,
                "frugal report: warning: %s is spec %s (%" PRIu32 " x %" PRIu32
                "), the others in %s are %s (%" PRIu32 " x %" PRIu32 ")\n",
                path, r.spec_name, r.islands, r.pop_size, g->input, g->spec_name, g->islands,
                g->pop_size);
    }
    snprintf(s->path, sizeof s->path, "%s", path);
    s->seed = r.seed;
    s->generations = r.generations;
    memcpy(s->stop_reason, r.stop_reason, sizeof s->stop_reason);
    s->solved_gen = r.solved_gen;
    if (!(s->stats = malloc(r.generations * sizeof *s->stats))) goto cleanup;
    memcpy(s->stats, r.stats, r.generations * sizeof *s->stats);
    uint64_t last = r.generations - 1;
    s->best = r.stats[last];
    s->best_row = an_best_row(&r, last);
    s->best_island = r.stats[last].best_island;
    s->best_slot = r.stats[last].best_slot;
    size_t nbuf = 0;
    FILE *m = open_memstream(&s->program, &nbuf);
    if (!m) goto cleanup;
    an_print_program(&r, s->best_row, m, "    ");
    fclose(m);
    uint32_t len = r.length[s->best_row];
    for (uint32_t i = 0; i < len && i < 256; i++)
        snprintf(s->code_hex + 2 * i, 3, "%02x", r.code[r.code_offset[s->best_row] + i]);
    if (len > 256) strcat(s->code_hex, "...");
    if (r.per_case) {
        double *ce = malloc((r.cases ? r.cases : 1) * sizeof *ce);
        if (ce && !an_case_errors(&r, s->best_row, ce)) {
            m = open_memstream(&s->case_errors, &nbuf);
            if (m) {
                for (uint32_t i = 0; i < r.cases; i++)
                    fprintf(m, "%s%.6g", i ? " " : "", ce[i]);
                fclose(m);
            }
        }
        free(ce);
    }
    uint64_t pm = (uint64_t)r.islands * r.pop_size;
    if (!(rows = malloc(pm * sizeof *rows))) goto cleanup;
    /* the final Pareto front, one block per seed */
    uint64_t nf = pareto(&r, last, rows);
    if (g->n) fputc('\n', front);
    for (uint64_t i = 0; i < nf; i++) {
        uint64_t w = rows[i];
        fprintf(front, "%" PRIu64 ",%" PRIu64 ",%.17g,%" PRIu64 ",%" PRIu64 ",%" PRIu32 "\n",
                r.seed, last, r.error[w], r.gas[w], r.memtime[w], r.length[w]);
        rng_add(&rg[0], r.error[w]);
        rng_add(&rg[1], (double)r.gas[w]);
    }
    /* the final population: memory-time against error */
    for (uint64_t i = r.rows - pm; i < r.rows; i++) {
        fprintf(memerr, "%" PRIu64 ",%.17g,%" PRIu64 ",%" PRIu64 "\n", r.seed, r.error[i],
                r.memtime[i], r.gas[i]);
        rng_add(&rg[2], r.error[i]);
        rng_add(&rg[3], (double)r.memtime[i]);
    }
    /* the first run: how the front moved */
    if (g->n == 0) {
        for (int k = 0; k < MAX_HIST; k++) {
            uint64_t gen = last * (uint64_t)k / (MAX_HIST - 1);
            if (k && gen == last * (uint64_t)(k - 1) / (MAX_HIST - 1)) continue;
            uint64_t nh = pareto(&r, gen, rows);
            if (k) fputs("\n\n", hist);
            fprintf(hist, "# generation %" PRIu64 "\n", gen);
            for (uint64_t i = 0; i < nh; i++) {
                fprintf(hist, "%" PRIu64 ",%.17g,%" PRIu64 "\n", gen, r.error[rows[i]],
                        r.gas[rows[i]]);
                rng_add(&rg[4], r.error[rows[i]]);
                rng_add(&rg[5], (double)r.gas[rows[i]]);
            }
        }
    }
    if (r.generations > g->gens) g->gens = r.generations;
    g->n++;
    rc = 0;
cleanup:
    if (rc) {
        free(s->stats);
        free(s->program);
        free(s->case_errors);
        fprintf(msg, "frugal report: %s: out of memory\n", path);
    }
    free(rows);
    an_run_free(&r);
    return rc;
}

/* ---- tables ---- */

/* A run's stats row at generation gen; a run that stopped earlier keeps its
 * last row (its best stays the best). */
static const an_stats *stat_at(const run_sum *s, uint64_t gen) {
    return &s->stats[gen < s->generations ? gen : s->generations - 1];
}

static int write_convergence(const group *g, const char *dir, range *err, range *res, FILE *msg) {
    char name[128];
    snprintf(name, sizeof name, "convergence-%s.csv", g->label);
    FILE *f = an_open_out(dir, name, msg);
    if (!f) return -1;
    double *v = malloc(g->n * sizeof *v);
    if (!v) {
        fclose(f);
        return -1;
    }
    fprintf(f, "generation,runs,best_error_median,best_error_q1,best_error_q3,"
               "median_error_median,median_error_q1,median_error_q3,best_gas_median,"
               "best_memtime_median\n");
    for (uint64_t gen = 0; gen < g->gens; gen++) {
        double q[8];
        for (int c = 0; c < 4; c++) {
            for (size_t i = 0; i < g->n; i++) {
                const an_stats *s = stat_at(&g->runs[i], gen);
                v[i] = c == 0   ? s->best_error
                       : c == 1 ? s->median_error
                       : c == 2 ? (double)s->best_gas
                                : (double)s->best_memtime;
            }
            if (c < 2) {
                q[3 * c] = an_quantile(v, g->n, 0.5);
                q[3 * c + 1] = an_quantile(v, g->n, 0.25);
                q[3 * c + 2] = an_quantile(v, g->n, 0.75);
            } else {
                q[4 + c] = an_quantile(v, g->n, 0.5);
            }
        }
        fprintf(f, "%" PRIu64 ",%zu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", gen, g->n,
                q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]);
        for (int c = 0; c < 6; c++)
            rng_add(err, q[c]);
        rng_add(&res[0], q[6]);
        rng_add(&res[1], q[7]);
    }
    free(v);
    return an_close_out(f, dir, name, msg);
}

static double effort_of(const group *g, uint64_t *at) {
    int64_t *sg = malloc((g->n ? g->n : 1) * sizeof *sg);
    if (!sg) return 0;
    for (size_t i = 0; i < g->n; i++)
        sg[i] = g->runs[i].solved_gen;
    double e = an_effort(sg, g->n, g->gens, (uint64_t)g->islands * g->pop_size, 0.99, at);
    free(sg);
    return e;
}

static size_t solved_count(const group *g) {
    size_t k = 0;
    for (size_t i = 0; i < g->n; i++)
        k += g->runs[i].solved_gen >= 0;
    return k;
}

static void criterion_text(const group *g, char *buf, size_t cap) {
    if (g->has_target)
        snprintf(buf, cap, "error <= %g", g->target_error);
    else
        snprintf(buf, cap, "all %" PRIu32 " cases hit", g->cases);
}

static int write_tables(group *gs, size_t ng, const char *dir, FILE *msg) {
    FILE *f = an_open_out(dir, "runs.csv", msg);
    if (!f) return -1;
    fprintf(f, "experiment,spec,seed,file,generations,stop_reason,evaluations,best_fitness,"
               "best_error,best_gas,best_memtime,best_hits,best_length,solved,solved_generation\n");
    for (size_t k = 0; k < ng; k++)
        for (size_t i = 0; i < gs[k].n; i++) {
            const run_sum *s = &gs[k].runs[i];
            fprintf(f,
                    "%s,%s,%" PRIu64 ",%s,%" PRIu64 ",%s,%" PRIu64 ",%.17g,%.17g,%" PRIu64
                    ",%" PRIu64 ",%" PRIu32 ",%" PRIu32 ",%d,%" PRId64 "\n",
                    gs[k].label, gs[k].spec_name, s->seed, s->path, s->generations, s->stop_reason,
                    s->best.evaluations, s->best.best_fitness, s->best.best_error, s->best.best_gas,
                    s->best.best_memtime, s->best.best_hits, s->best.best_length,
                    s->solved_gen >= 0, s->solved_gen);
        }
    if (an_close_out(f, dir, "runs.csv", msg)) return -1;
    if (!(f = an_open_out(dir, "success.csv", msg))) return -1;
    fprintf(f, "experiment,spec,runs,solved,success_rate,criterion,population,effort,"
               "effort_generation\n");
    for (size_t k = 0; k < ng; k++) {
        uint64_t at = 0;
        double e = effort_of(&gs[k], &at);
        char crit[64];
        criterion_text(&gs[k], crit, sizeof crit);
        size_t ok = solved_count(&gs[k]);
        fprintf(f, "%s,%s,%zu,%zu,%.6g,%s,%" PRIu64 ",", gs[k].label, gs[k].spec_name, gs[k].n, ok,
                (double)ok / (double)gs[k].n, crit, (uint64_t)gs[k].islands * gs[k].pop_size);
        if (e > 0)
            fprintf(f, "%.0f,%" PRIu64 "\n", e, at);
        else
            fprintf(f, ",\n");
    }
    if (an_close_out(f, dir, "success.csv", msg)) return -1;
    if (!(f = an_open_out(dir, "best.csv", msg))) return -1;
    fprintf(f, "experiment,seed,id,fitness,error,gas,memtime,hits,length,code_hex\n");
    for (size_t k = 0; k < ng; k++)
        for (size_t i = 0; i < gs[k].n; i++) {
            const run_sum *s = &gs[k].runs[i];
            fprintf(f,
                    "%s,%" PRIu64 ",%" PRIu64 ":%" PRIu32 ":%" PRIu32 ",%.17g,%.17g,%" PRIu64
                    ",%" PRIu64 ",%" PRIu32 ",%" PRIu32 ",%s\n",
                    gs[k].label, s->seed, s->generations - 1, s->best_island, s->best_slot,
                    s->best.best_fitness, s->best.best_error, s->best.best_gas,
                    s->best.best_memtime, s->best.best_hits, s->best.best_length, s->code_hex);
        }
    return an_close_out(f, dir, "best.csv", msg);
}

/* ---- gnuplot ---- */

static void gp_head(FILE *f, an_format fmt, const char *out, const char *title, const char *xl,
                    const char *yl) {
    fputs("# Written by frugal report; edit and rerun with: gnuplot THIS.gp\n", f);
    fputs("set encoding utf8\n", f);
    if (fmt == AN_SVG)
        fputs("set terminal svg size 900,640 dynamic font 'sans,12' noenhanced background "
              "'white'\n",
              f);
    else if (fmt == AN_PDF)
        fputs("set terminal pdfcairo size 6in,3.75in font 'sans,9' noenhanced\n", f);
    else
        fputs("set terminal pngcairo size 900,640 font 'sans,11' noenhanced\n", f);
    fprintf(f, "set output '%s'\n", out);
    fputs("set datafile separator ','\nset grid lc rgb '#dddddd'\nset key below\n", f);
    fprintf(f, "set title '%s'\nset xlabel '%s'\nset ylabel '%s'\n", title, xl, yl);
}

FILE *an_gp_open(const char *dir, const char *stem, an_format fmt, const char *title,
                 const char *xl, const char *yl, FILE *msg) {
    char gp[256], out[256];
    snprintf(gp, sizeof gp, "%s.gp", stem);
    snprintf(out, sizeof out, "%s.%s", stem, an_ext_of(fmt));
    FILE *f = an_open_out(dir, gp, msg);
    if (f) gp_head(f, fmt, out, title, xl, yl);
    return f;
}

/* Errors: log only when all are positive (a 0 error is a solution, never
 * hidden). Resources (relaxed): log when the positive values span two decades;
 * a note says that zeros are not drawn. */
static void gp_scale(FILE *f, const char *axis, const range *r, bool relaxed) {
    bool log = relaxed ? r->lo > 0 && r->hi / r->lo >= 100 : rng_log(r);
    if (!log) return;
    fprintf(f, "set logscale %s\nset format %s '%%g'\n", axis, axis);
    if (relaxed && r->nonpos)
        fprintf(f,
                "set label 'zero %s values are not drawn (log scale)' at graph 0.01, graph "
                "0.97 font ',9'\n",
                axis);
}

static int fig_convergence(const group *gs, size_t ng, const char *dir, an_format fmt,
                           const range *err, FILE *msg) {
    FILE *f = an_gp_open(dir, "convergence", fmt,
                         "Convergence: error of the best program and the population median",
                         "generation", "error (sum over the training cases)", msg);
    if (!f) return -1;
    gp_scale(f, "y", err, false);
    fputs("plot \\\n", f);
    for (size_t k = 0; k < ng; k++) {
        const group *g = &gs[k];
        const char *c = colors[k % NCOLORS];
        if (g->n > 1)
            fprintf(f,
                    "  'convergence-%s.csv' skip 1 using 1:4:5 with filledcurves fc rgb '%s' fs "
                    "transparent solid 0.2 noborder title '%s best, interquartile range',\\\n",
                    g->label, c, g->label);
        fprintf(f,
                "  'convergence-%s.csv' skip 1 using 1:3 with lines lw 2 lc rgb '%s' title '%s "
                "best%s (seed%s %s)',\\\n",
                g->label, c, g->label, g->n > 1 ? ", median over seeds" : "", g->n > 1 ? "s" : "",
                g->seeds);
        fprintf(f,
                "  'convergence-%s.csv' skip 1 using 1:6 with lines lw 2 dt 2 lc rgb '%s' title "
                "'%s population median%s'%s\n",
                g->label, c, g->label, g->n > 1 ? ", median over seeds" : "",
                k + 1 < ng ? ",\\" : "");
    }
    return an_close_out(f, dir, "convergence.gp", msg);
}

static int fig_resources(const group *gs, size_t ng, const char *dir, an_format fmt,
                         const range *res, FILE *msg) {
    FILE *f = an_gp_open(dir, "resources", fmt, "Resources of the best program", "generation",
                         "gas (summed over the cases)", msg);
    if (!f) return -1;
    fputs("set y2label 'memory-time (word·gas, summed over the cases)'\nset ytics nomirror\n"
          "set y2tics\n",
          f);
    gp_scale(f, "y", &res[0], true);
    gp_scale(f, "y2", &res[1], true);
    fputs("plot \\\n", f);
    for (size_t k = 0; k < ng; k++) {
        const group *g = &gs[k];
        const char *c = colors[k % NCOLORS];
        const char *med = g->n > 1 ? ", median over seeds" : "";
        fprintf(f,
                "  'convergence-%s.csv' skip 1 using 1:9 axes x1y1 with lines lw 2 lc rgb '%s' "
                "title '%s gas%s (seed%s %s)',\\\n",
                g->label, c, g->label, med, g->n > 1 ? "s" : "", g->seeds);
        fprintf(f,
                "  'convergence-%s.csv' skip 1 using 1:10 axes x1y2 with lines lw 2 dt 3 lc rgb "
                "'%s' title '%s memory-time%s (right axis)'%s\n",
                g->label, c, g->label, med, k + 1 < ng ? ",\\" : "");
    }
    return an_close_out(f, dir, "resources.gp", msg);
}

static int fig_front(const group *gs, size_t ng, const char *dir, an_format fmt, const range *rg,
                     FILE *msg) {
    FILE *f =
        an_gp_open(dir, "front", fmt, "Pareto front of the final population: error against gas",
                   "gas (summed over the cases)", "error (sum over the training cases)", msg);
    if (!f) return -1;
    gp_scale(f, "y", &rg[0], false);
    gp_scale(f, "x", &rg[1], true);
    fputs("plot \\\n", f);
    for (size_t k = 0; k < ng; k++)
        fprintf(f,
                "  'front-%s.csv' skip 1 using 4:3 with steps lw 1.5 lc rgb '%s' notitle,\\\n"
                "  'front-%s.csv' skip 1 using 4:3 with points pt 7 ps 0.8 lc rgb '%s' title "
                "'%s (seed%s %s)'%s\n",
                gs[k].label, colors[k % NCOLORS], gs[k].label, colors[k % NCOLORS], gs[k].label,
                gs[k].n > 1 ? "s" : "", gs[k].seeds, k + 1 < ng ? ",\\" : "");
    return an_close_out(f, dir, "front.gp", msg);
}

static int fig_history(const group *g, const char *dir, an_format fmt, const range *rg, FILE *msg) {
    char stem[128], name[160], title[256];
    snprintf(stem, sizeof stem, "front-history-%s", g->label);
    snprintf(name, sizeof name, "%s.gp", stem);
    snprintf(title, sizeof title, "%s (seed %" PRIu64 "): how the error-gas front moved", g->label,
             g->runs[0].seed);
    FILE *f = an_gp_open(dir, stem, fmt, title, "gas (summed over the cases)",
                         "error (sum over the training cases)", msg);
    if (!f) return -1;
    gp_scale(f, "y", &rg[4], false);
    gp_scale(f, "x", &rg[5], true);
    fputs("plot \\\n", f);
    uint64_t last = g->runs[0].generations - 1;
    int idx = 0, shown = 0;
    for (int k = 0; k < MAX_HIST; k++) /* the generations read_run wrote */
        if (!k || last * (uint64_t)k / (MAX_HIST - 1) != last * (uint64_t)(k - 1) / (MAX_HIST - 1))
            shown++;
    for (int k = 0; k < MAX_HIST; k++) {
        uint64_t gen = last * (uint64_t)k / (MAX_HIST - 1);
        if (k && gen == last * (uint64_t)(k - 1) / (MAX_HIST - 1)) continue;
        /* light grey (early) to dark blue (last) */
        double t = shown > 1 ? (double)idx / (shown - 1) : 1;
        unsigned cr = (unsigned)(187 + t * (8 - 187)), cg = (unsigned)(187 + t * (48 - 187)),
                 cb = (unsigned)(187 + t * (107 - 187));
        fprintf(
            f,
            "  'front-history-%s.csv' index %d using 3:2 with steps lw 2 lc rgb '#%02x%02x%02x' "
            "title 'generation %" PRIu64 "',\\\n"
            "  'front-history-%s.csv' index %d using 3:2 with points pt 7 ps 0.7 lc rgb "
            "'#%02x%02x%02x' notitle%s\n",
            g->label, idx, cr, cg, cb, gen, g->label, idx, cr, cg, cb,
            idx + 1 < shown ? ",\\" : "");
        idx++;
    }
    return an_close_out(f, dir, name, msg);
}

static int fig_memerr(const group *gs, size_t ng, const char *dir, an_format fmt, const range *rg,
                      FILE *msg) {
    FILE *f = an_gp_open(dir, "memtime-error", fmt, "Final population: memory-time against error",
                         "error (sum over the training cases)", "memory-time (word·gas)", msg);
    if (!f) return -1;
    gp_scale(f, "x", &rg[2], false);
    gp_scale(f, "y", &rg[3], true);
    fputs("plot \\\n", f);
    for (size_t k = 0; k < ng; k++)
        fprintf(f,
                "  'memtime-error-%s.csv' skip 1 using 2:3 with points pt 7 ps 0.5 lc rgb '%s' "
                "title '%s (seed%s %s)'%s\n",
                gs[k].label, colors[k % NCOLORS], gs[k].label, gs[k].n > 1 ? "s" : "", gs[k].seeds,
                k + 1 < ng ? ",\\" : "");
    return an_close_out(f, dir, "memtime-error.gp", msg);
}

bool an_have_gnuplot(void) {
    const char *path = getenv("PATH");
    if (!path) return false;
    char *copy = strdup(path), *save = NULL;
    bool found = false;
    for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d && !found;
         d = strtok_r(NULL, ":", &save)) {
        char p[4096];
        snprintf(p, sizeof p, "%s/gnuplot", *d ? d : ".");
        found = access(p, X_OK) == 0;
    }
    free(copy);
    return found;
}

/* Run gnuplot on script inside dir; its messages go to dir/gnuplot.log. */
int an_run_gnuplot(const char *dir, const char *script, FILE *msg) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (chdir(dir) != 0) _exit(127);
        int fd = open("gnuplot.log", O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(msg, "frugal report: gnuplot failed on %s/%s (see %s/gnuplot.log)\n", dir, script,
                dir);
        return -1;
    }
    return 0;
}

/* ---- report.md ---- */

static void md_figure(FILE *f, const char *file, bool have, const char *alt, const char *line) {
    if (have)
        fprintf(f, "![%s](%s)\n\n%s\n\n", alt, file, line);
    else
        fprintf(f,
                "*%s: not drawn (gnuplot missing or failed); its data and script are "
                "here.*\n\n%s\n\n",
                file, line);
}

static int write_md(group *gs, size_t ng, const char *dir, an_format fmt, bool figs, FILE *msg) {
    FILE *f = an_open_out(dir, "report.md", msg);
    if (!f) return -1;
    const char *x = an_ext_of(fmt);
    char p[160];
    fputs("# frugal report\n\n", f);
    for (size_t k = 0; k < ng; k++)
        fprintf(f, "- **%s**: spec `%s`, %zu run%s (seed%s %s) from `%s`\n", gs[k].label,
                gs[k].spec_name, gs[k].n, gs[k].n > 1 ? "s" : "", gs[k].n > 1 ? "s" : "",
                gs[k].seeds, gs[k].input);
    fputs("\n## Success\n\n", f);
    fputs("| experiment | runs | solved | success rate | criterion | population M | "
          "computational effort E | at generation |\n|---|---|---|---|---|---|---|---|\n",
          f);
    for (size_t k = 0; k < ng; k++) {
        uint64_t at = 0;
        double e = effort_of(&gs[k], &at);
        char crit[64];
        criterion_text(&gs[k], crit, sizeof crit);
        size_t ok = solved_count(&gs[k]);
        fprintf(f, "| %s | %zu | %zu | %.0f%% | %s | %" PRIu64 " | ", gs[k].label, gs[k].n, ok,
                100.0 * (double)ok / (double)gs[k].n, crit,
                (uint64_t)gs[k].islands * gs[k].pop_size);
        if (e > 0)
            fprintf(f, "%.0f | %" PRIu64 " |\n", e, at);
        else
            fputs("— | — |\n", f);
    }
    fputs("\nA run is solved when some individual meets the criterion (the spec's "
          "`budget.target_error` if set, else every training case a hit) by the last "
          "generation; Koza's effort E = min_i M·(i+1)·⌈ln(0.01)/ln(1−P(M,i))⌉ over the runs "
          "(`success.csv`, `runs.csv`).\n\n",
          f);
    fputs("## Convergence\n\n", f);
    snprintf(p, sizeof p, "convergence.%s", x);
    md_figure(f, p, figs, "convergence",
              "Error of the best program (solid) and the population median (dashed) per "
              "generation; over seeds, the median and the interquartile band "
              "(`convergence-*.csv`).");
    fputs("## Resource efficiency\n\n", f);
    snprintf(p, sizeof p, "front.%s", x);
    md_figure(f, p, figs, "Pareto front",
              "The final population's non-dominated programs in error and gas, one staircase "
              "per seed (`front-*.csv`).");
    for (size_t k = 0; k < ng; k++) {
        char line[256];
        snprintf(p, sizeof p, "front-history-%s.%s", gs[k].label, x);
        snprintf(line, sizeof line,
                 "%s, seed %" PRIu64 ": the error-gas front at five generations, light to dark "
                 "(`front-history-%s.csv`).",
                 gs[k].label, gs[k].runs[0].seed, gs[k].label);
        md_figure(f, p, figs, "front history", line);
    }
    snprintf(p, sizeof p, "resources.%s", x);
    md_figure(f, p, figs, "resources",
              "Gas (solid, left axis) and memory-time (dotted, right axis) of the best program "
              "per generation; over seeds, the median.");
    snprintf(p, sizeof p, "memtime-error.%s", x);
    md_figure(f, p, figs, "memory-time against error",
              "Every program of the final population: memory-time against error "
              "(`memtime-error-*.csv`).");
    fputs("## Runs\n\n| experiment | seed | generations | stop | evaluations | best error | gas "
          "| memory-time | hits | solved at |\n|---|---|---|---|---|---|---|---|---|---|\n",
          f);
    for (size_t k = 0; k < ng; k++)
        for (size_t i = 0; i < gs[k].n; i++) {
            const run_sum *s = &gs[k].runs[i];
            fprintf(f,
                    "| %s | %" PRIu64 " | %" PRIu64 " | %s | %" PRIu64 " | %.6g | %" PRIu64
                    " | %" PRIu64 " | %" PRIu32 " | ",
                    gs[k].label, s->seed, s->generations, s->stop_reason, s->best.evaluations,
                    s->best.best_error, s->best.best_gas, s->best.best_memtime, s->best.best_hits);
            if (s->solved_gen >= 0)
                fprintf(f, "%" PRId64 " |\n", s->solved_gen);
            else
                fputs("— |\n", f);
        }
    fputs("\n## Best programs\n\n", f);
    for (size_t k = 0; k < ng; k++) {
        const run_sum *s = &gs[k].runs[gs[k].best];
        fprintf(f,
                "**%s**, seed %" PRIu64 ", individual %" PRIu64 ":%" PRIu32 ":%" PRIu32
                " (generation:island:slot): error %.6g, gas %" PRIu64 ", memory-time %" PRIu64
                " word·gas, %" PRIu32 " of %" PRIu32 " hits, %" PRIu32 " bytes "
                "(every run's best: `best.csv`).\n\n```\n%s```\n\n",
                gs[k].label, s->seed, s->generations - 1, s->best_island, s->best_slot,
                s->best.best_error, s->best.best_gas, s->best.best_memtime, s->best.best_hits,
                gs[k].cases, s->best.best_length, s->program ? s->program : "");
        if (s->case_errors)
            fprintf(f, "Per-case errors: %s\n\n", s->case_errors);
        else
            fputs("Per-case errors were not stored (spec `output.per_case`).\n\n", f);
    }
    return an_close_out(f, dir, "report.md", msg);
}

int an_mkdirs(const char *dir) {
    char p[4096];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST) return -1;
            *s = '/';
        }
    return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int an_report(const char *const *inputs, size_t n, const an_report_opts *o, FILE *msg) {
    /* an arena file (frugal arena) has its own report */
    if (n == 1 && an_is_arena(inputs[0])) return an_arena_report(inputs[0], o, msg);
    int rc = -1;
    group *gs = calloc(n ? n : 1, sizeof *gs);
    range err = {0}, res[2] = {{0}}, rg[6] = {{0}};
    const char *dir = o->out_dir;
    if (!gs) return -1;
    if (an_mkdirs(dir)) {
        fprintf(msg, "frugal report: cannot create %s: %s\n", dir, strerror(errno));
        goto cleanup;
    }
    for (size_t k = 0; k < n; k++) {
        group *g = &gs[k];
        char **files = NULL;
        size_t nf = 0;
        snprintf(g->input, sizeof g->input, "%s", inputs[k]);
        if (list_inputs(inputs[k], &files, &nf, msg)) goto cleanup;
        g->runs = calloc(nf, sizeof *g->runs);
        /* the data files are named after the experiment: read the first run's
         * name from a temporary label, then rename */
        char tmpn[3][64];
        snprintf(tmpn[0], sizeof tmpn[0], "front-%zu.tmp", k);
        snprintf(tmpn[1], sizeof tmpn[1], "memtime-error-%zu.tmp", k);
        snprintf(tmpn[2], sizeof tmpn[2], "front-history-%zu.tmp", k);
        FILE *ff = g->runs ? an_open_out(dir, tmpn[0], msg) : NULL;
        FILE *fm = ff ? an_open_out(dir, tmpn[1], msg) : NULL;
        FILE *fh = fm ? an_open_out(dir, tmpn[2], msg) : NULL;
        int bad = !fh;
        if (!bad) {
            fputs("seed,generation,error,gas,memtime,length\n", ff);
            fputs("seed,error,memtime,gas\n", fm);
        }
        for (size_t i = 0; i < nf && !bad; i++) {
            if (!o->quiet) fprintf(msg, "frugal report: reading %s\n", files[i]);
            bad = read_run(g, files[i], ff, fm, fh, rg, msg);
        }
        for (size_t i = 0; i < nf; i++)
            free(files[i]);
        free(files);
        if (ff && an_close_out(ff, dir, tmpn[0], msg)) bad = 1;
        if (fm && an_close_out(fm, dir, tmpn[1], msg)) bad = 1;
        if (fh && an_close_out(fh, dir, tmpn[2], msg)) bad = 1;
        if (bad) {
            for (int t = 0; t < 3; t++) {
                char p[8192];
                snprintf(p, sizeof p, "%s/%s", dir, tmpn[t]);
                remove(p);
            }
            goto cleanup;
        }
        qsort(g->runs, g->n, sizeof *g->runs, cmp_run_seed);
        /* the label: the spec name, or the input's base name when two share it */
        snprintf(g->label, sizeof g->label, "%s", g->spec_name);
        for (size_t j = 0; j < k; j++)
            if (!strcmp(gs[j].label, g->label))
                snprintf(g->label, sizeof g->label, "%s-%zu", g->spec_name, k + 1);
        sanitize(g->label);
        seeds_text(g);
        for (size_t i = 1; i < g->n; i++) {
            const an_stats *a = &g->runs[i].best, *b = &g->runs[g->best].best;
            if (a->best_fitness < b->best_fitness ||
                (a->best_fitness == b->best_fitness && a->best_error < b->best_error))
                g->best = i;
        }
        static const char *const base[3] = {"front", "memtime-error", "front-history"};
        for (int t = 0; t < 3; t++) {
            char from[8192], to[8192];
            snprintf(from, sizeof from, "%s/%s", dir, tmpn[t]);
            snprintf(to, sizeof to, "%s/%s-%s.csv", dir, base[t], g->label);
            if (rename(from, to) != 0) {
                fprintf(msg, "frugal report: cannot write %s: %s\n", to, strerror(errno));
                goto cleanup;
            }
        }
        if (write_convergence(g, dir, &err, res, msg)) goto cleanup;
    }
    if (write_tables(gs, n, dir, msg)) goto cleanup;
    if (fig_convergence(gs, n, dir, o->format, &err, msg) ||
        fig_resources(gs, n, dir, o->format, res, msg) ||
        fig_front(gs, n, dir, o->format, rg, msg) || fig_memerr(gs, n, dir, o->format, rg, msg))
        goto cleanup;
    for (size_t k = 0; k < n; k++)
        if (fig_history(&gs[k], dir, o->format, rg, msg)) goto cleanup;
    bool figs = false, missing = false;
    if (!an_have_gnuplot()) {
        missing = true;
        fprintf(msg,
                "frugal report: gnuplot not found, so no figures were drawn; the tables, the "
                "data and the gnuplot scripts are in %s.\n"
                "  Install it with: sudo apt-get install gnuplot-nox\n"
                "  then rerun frugal report, or run each script there: cd %s && gnuplot "
                "convergence.gp\n",
                dir, dir);
    } else {
        figs = true;
        char log[8192];
        snprintf(log, sizeof log, "%s/gnuplot.log", dir);
        remove(log);
        const char *scripts[] = {"convergence.gp", "front.gp", "resources.gp", "memtime-error.gp"};
        for (size_t i = 0; i < 4; i++)
            if (an_run_gnuplot(dir, scripts[i], msg)) figs = false;
        for (size_t k = 0; k < n; k++) {
            char s[128];
            snprintf(s, sizeof s, "front-history-%s.gp", gs[k].label);
            if (an_run_gnuplot(dir, s, msg)) figs = false;
        }
    }
    if (write_md(gs, n, dir, o->format, figs, msg)) goto cleanup;
    if (!o->quiet) fprintf(msg, "frugal report: wrote %s/report.md\n", dir);
    rc = figs ? 0 : missing ? 1 : 2;
cleanup:
    for (size_t k = 0; k < n; k++)
        free_group(&gs[k]);
    free(gs);
    return rc;
}
