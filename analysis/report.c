/* frugal report: CSV tables, gnuplot scripts and figures, and report.md
 * (docs/report.md). */
#include "analysis/analysis.h"
#include "analysis/an_impl.h"
#include "base/base.h"
#include "evolve/evolve.h"
#include "fitness/fitness.h"
#include "vm/vm.h"

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
    uint64_t best_row;     /* in best_gen */
    uint64_t best_gen;     /* the last generation /pop holds (the last, for a finished run) */
    char pop_text[128];    /* which generations /pop holds (an_pop_text) */
    an_stats best;         /* the last /stats row */
    char *program;         /* the best program, disassembled */
    char *case_errors;     /* its per-case errors as text, or NULL */
    char *expr, *expr_tex; /* the best program as an expression (infix, LaTeX), or NULL */
    char *consts;          /* its PUSH constants, decoded (space-separated), or NULL */
    uint32_t best_island, best_slot;
    char code_hex[2 * 256 + 4];
    double evals_success; /* evaluations by the end of solved_gen, NAN if unsolved */
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
    uint64_t gens;                     /* the longest run's generations */
    size_t best;                       /* the run with the lowest final best fitness */
    double penalty;                    /* the task's penalty (INFINITY when unknown) */
    uint64_t final_total, final_clean; /* final-population programs, and those drawn */
    unsigned hist_shown;               /* bit k: front-history front k has a point */
    uint64_t hist_gen[MAX_HIST];       /* front k's generation */
    an_exp ex;                         /* statistics (analysis/compare.c) */
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

/* Okabe and Ito's palette, safe for colour-blind readers (yellow last: it
 * is faint on white), and a point type each for greyscale prints. */
static const char *const colors[] = {"#0072B2", "#D55E00", "#009E73", "#E69F00",
                                     "#56B4E9", "#CC79A7", "#000000", "#F0E442"};
#define NCOLORS (sizeof colors / sizeof *colors)
static const int points[] = {7, 5, 9, 11, 13, 15, 6, 4};

const char *an_ext_of(an_format f) {
    return f == AN_SVG ? "svg" : f == AN_PDF ? "pdf" : "png";
}

void an_fail(an_msgs *m, const char *fmt, ...) {
    if (!m->err || !m->errcap || m->err[0]) return;
    va_list ap;
    va_start(ap, fmt);
    base_verrf_at(m->err, m->errcap, NULL, fmt, ap);
    va_end(ap);
}

void an_warn(an_msgs *m, const char *fmt, ...) {
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    base_errf_line(m->res->warn, sizeof m->res->warn, &m->warnlen, "%s", line);
}

void an_progress(an_msgs *m, const char *fmt, ...) {
    if (!m->o->progress) return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    m->o->progress(line, m->o->progress_ctx);
}

FILE *an_open_out(const char *dir, const char *name, an_msgs *msg) {
    char p[8192];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f) an_fail(msg, "cannot write %s: %s", p, strerror(errno));
    return f;
}

int an_close_out(FILE *f, const char *dir, const char *name, an_msgs *msg) {
    if (ferror(f) | (fclose(f) != 0)) {
        an_fail(msg, "cannot write %s/%s", dir, name);
        return -1;
    }
    return 0;
}

static void free_group(group *g) {
    for (size_t i = 0; i < g->n; i++) {
        free(g->runs[i].stats);
        free(g->runs[i].program);
        free(g->runs[i].case_errors);
        free(g->runs[i].expr);
        free(g->runs[i].expr_tex);
        free(g->runs[i].consts);
    }
    for (int m = 0; m < AN_NMETRIC; m++)
        free(g->ex.v[m]);
    free(g->runs);
    memset(g, 0, sizeof *g);
}

/* ---- reading the inputs ---- */

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.h5 files of a directory (sorted), or the file itself. 0, or
 * AN_ERR_IO or AN_ERR_INPUT (a directory without runs). */
static int list_inputs(const char *in, char ***files, size_t *n, an_msgs *msg) {
    struct stat st;
    *files = NULL;
    *n = 0;
    if (stat(in, &st) != 0) {
        an_fail(msg, "%s: %s", in, strerror(errno));
        return AN_ERR_IO;
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
        an_fail(msg, "%s: %s", in, strerror(errno));
        return AN_ERR_IO;
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
        an_fail(msg, "%s: no run files (*.h5) in this directory", in);
        rc = AN_ERR_INPUT;
    }
    if (rc) {
        for (size_t i = 0; i < *n; i++)
            free((*files)[i]);
        free(*files);
        *files = NULL;
        *n = 0;
        return rc;
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

/* Whether a program is drawn in the fronts and the memory-time figure: it
 * halted on every case (no fault, no resource ran out) and its error is
 * below the task's penalty (no case lacks an output). */
static bool clean(const an_run *r, uint64_t row, double penalty) {
    return r->status[row] == VM_HALTED && r->error[row] < penalty;
}

/* A native program's PUSH constants as text, decoded from Q32.32 when the
 * task is fixed point; malloc'd, or NULL. */
static char *program_consts(const an_run *r, uint64_t row) {
    const uint8_t *code = r->code + r->code_offset[row];
    uint32_t len = r->length[row];
    char *t = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&t, &n);
    if (!m) return NULL;
    bool first = true;
    for (uint32_t pc = 0; pc < len;) {
        vm_insn in;
        vm_decode(code, len, pc, &in);
        if (in.defined && !in.truncated && in.op == VM_OP_PUSH) {
            char v[64];
            if (r->expressible && r->expr.fixed)
                an_fx_text(in.imm, v, sizeof v);
            else
                snprintf(v, sizeof v, "%" PRId64, in.imm);
            fprintf(m, "%s%s", first ? "" : " ", v);
            first = false;
        }
        pc += in.len;
    }
    fclose(m);
    return t;
}

/* s as a CSV field: quoted, with quotes doubled. */
static void csv_field(FILE *f, const char *s) {
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* The Pareto front of generation gen's clean programs in (error, gas), both
 * minimised: rows into out (room for islands * pop_size), sorted by gas
 * ascending. Equal points are kept once. Returns the count. */
static uint64_t pareto(const an_run *r, uint64_t gen, uint64_t *out, double penalty) {
    uint64_t m = (uint64_t)r->islands * r->pop_size, base = an_row(r, gen, 0, 0), n = 0;
    /* sort rows by (gas, error) with a simple index sort */
    uint64_t *idx = malloc(m * sizeof *idx);
    if (!idx) return 0;
    uint64_t kept = 0;
    for (uint64_t i = 0; i < m; i++)
        if (clean(r, base + i, penalty)) idx[kept++] = base + i;
    m = kept;
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
                    an_msgs *msg) {
    an_run r;
    char err[1024];
    int rc;
    if (an_run_load(path, &r, &rc, err, sizeof err)) {
        an_fail(msg, "%s", err);
        return rc;
    }
    rc = -1;
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
        g->penalty = r.penalty;
    } else if (strcmp(g->spec_name, r.spec_name) || g->islands != r.islands ||
               g->pop_size != r.pop_size) {
        an_warn(msg,
                "warning: %s is spec %s (%" PRIu32 " x %" PRIu32
                "), the others in %s are %s (%" PRIu32 " x %" PRIu32 ")",
                path, r.spec_name, r.islands, r.pop_size, g->input, g->spec_name, g->islands,
                g->pop_size);
    }
    snprintf(s->path, sizeof s->path, "%s", path);
    s->seed = r.seed;
    s->generations = r.generations;
    memcpy(s->stop_reason, r.stop_reason, sizeof s->stop_reason);
    s->solved_gen = r.solved_gen;
    s->evals_success = r.solved_gen >= 0 ? (double)r.stats[r.solved_gen].evaluations : NAN;
    if (!(s->stats = malloc(r.generations * sizeof *s->stats))) goto cleanup;
    memcpy(s->stats, r.stats, r.generations * sizeof *s->stats);
    uint64_t last = an_pop_last(&r); /* the programs: the last generation in /pop */
    s->best = r.stats[r.generations - 1];
    s->best_gen = last;
    an_pop_text(&r, s->pop_text, sizeof s->pop_text);
    s->best_row = an_best_row(&r, last);
    s->best_island = r.stats[last].best_island;
    s->best_slot = r.stats[last].best_slot;
    size_t nbuf = 0;
    FILE *m = open_memstream(&s->program, &nbuf);
    if (!m) goto cleanup;
    const uint8_t *code = r.code + r.code_offset[s->best_row];
    uint32_t len = r.length[s->best_row];
    an_print_program(&r, code, len, m, "    ");
    fclose(m);
    for (uint32_t i = 0; i < len && i < 256; i++)
        snprintf(s->code_hex + 2 * i, 3, "%02x", code[i]);
    if (len > 256) strcat(s->code_hex, "...");
    if (!r.evm) {
        s->expr = an_run_expr(&r, code, len, AN_EXPR_INFIX);
        if (r.expressible) s->expr_tex = an_run_expr(&r, code, len, AN_EXPR_LATEX);
        s->consts = program_consts(&r, s->best_row);
    }
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
    uint64_t nf = pareto(&r, last, rows, g->penalty);
    if (g->n) fputc('\n', front);
    for (uint64_t i = 0; i < nf; i++) {
        uint64_t w = rows[i];
        fprintf(front, "%" PRIu64 ",%" PRIu64 ",%.17g,%" PRIu64 ",%" PRIu64 ",%" PRIu32 "\n",
                r.seed, last, r.error[w], r.gas[w], r.memtime[w], r.length[w]);
        rng_add(&rg[0], r.error[w]);
        rng_add(&rg[1], (double)r.gas[w]);
    }
    /* the final population: memory-time against error (the figure draws the
     * clean programs only) */
    for (uint64_t i = r.rows - pm; i < r.rows; i++) {
        bool ok = clean(&r, i, g->penalty);
        fprintf(memerr, "%" PRIu64 ",%.17g,%" PRIu64 ",%" PRIu64 ",%d\n", r.seed, r.error[i],
                r.memtime[i], r.gas[i], ok);
        g->final_total++;
        g->final_clean += ok;
        if (!ok) continue;
        rng_add(&rg[2], r.error[i]);
        rng_add(&rg[3], (double)r.memtime[i]);
    }
    /* the first run: how the front moved */
    if (g->n == 0) {
        uint64_t np = r.pop_gens - 1; /* spread over the generations /pop holds */
        for (int k = 0; k < MAX_HIST; k++) {
            uint64_t j = np * (uint64_t)k / (MAX_HIST - 1), gen = r.pop_gen ? r.pop_gen[j] : j;
            if (k && j == np * (uint64_t)(k - 1) / (MAX_HIST - 1)) continue;
            uint64_t nh = pareto(&r, gen, rows, g->penalty);
            /* gnuplot counts only blocks with data: an empty front (every
             * program faulted or lacked an output) gets no block */
            if (!nh) continue;
            if (g->hist_shown) fputs("\n\n", hist);
            g->hist_shown |= 1u << k;
            g->hist_gen[k] = gen;
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
        an_fail(msg, "%s: out of memory", path);
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

static int write_convergence(const group *g, const char *dir, range *err, range *res,
                             an_msgs *msg) {
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

static uint32_t boot_reps(const an_report_opts *o) {
    return o->boot_reps ? o->boot_reps : AN_BOOT_REPS;
}

/* A group's statistics (g->ex): the success rate's interval, the effort and
 * its bootstrap interval, each run's measures and their quartiles. */
static int group_stats(group *g, const an_report_opts *o) {
    an_exp *e = &g->ex;
    snprintf(e->label, sizeof e->label, "%s", g->label);
    e->runs = g->n;
    e->solved = solved_count(g);
    e->ci = o->ci;
    an_binom_ci(e->solved, e->runs, 0.95, o->ci, &e->rate_lo, &e->rate_hi);
    int64_t *sg = malloc((g->n ? g->n : 1) * sizeof *sg);
    if (!sg) return -1;
    for (size_t i = 0; i < g->n; i++)
        sg[i] = g->runs[i].solved_gen;
    uint64_t m = (uint64_t)g->islands * g->pop_size;
    e->effort = an_effort(sg, g->n, g->gens, m, 0.99, &e->effort_at);
    e->effort_lo = e->effort_hi = NAN;
    int rc = 0;
    if (e->effort > 0)
        rc = an_effort_ci(sg, g->n, g->gens, m, 0.99, 0.95, boot_reps(o), o->boot_seed,
                          &e->effort_lo, &e->effort_hi);
    free(sg);
    for (int k = 0; k < AN_NMETRIC && !rc; k++) {
        if (!(e->v[k] = malloc((g->n ? g->n : 1) * sizeof *e->v[k]))) return -1;
        e->nv[k] = 0;
        for (size_t i = 0; i < g->n; i++) {
            const run_sum *s = &g->runs[i];
            double v = k == AN_M_ERROR     ? s->best.best_error
                       : k == AN_M_GAS     ? (double)s->best.best_gas
                       : k == AN_M_MEMTIME ? (double)s->best.best_memtime
                                           : s->evals_success;
            if (!isnan(v)) e->v[k][e->nv[k]++] = v;
        }
    }
    if (!rc) an_exp_quantiles(e);
    return rc;
}

/* success-EXP.csv: the share of runs solved within a number of evaluations
 * (a run counts from the evaluation count at the end of the generation that
 * solved it), with its interval, as a staircase ready to draw. */
static int write_success_curve(const group *g, const char *dir, an_ci_method ci, an_msgs *msg) {
    char name[128];
    snprintf(name, sizeof name, "success-%s.csv", g->label);
    FILE *f = an_open_out(dir, name, msg);
    if (!f) return -1;
    const an_exp *e = &g->ex;
    double *v = malloc((e->nv[AN_M_EVALS] ? e->nv[AN_M_EVALS] : 1) * sizeof *v), end = 0;
    if (!v) {
        fclose(f);
        return -1;
    }
    memcpy(v, e->v[AN_M_EVALS], e->nv[AN_M_EVALS] * sizeof *v);
    size_t ns = e->nv[AN_M_EVALS];
    an_quantile(v, ns, 0.5); /* sorts v */
    for (size_t i = 0; i < g->n; i++)
        if ((double)g->runs[i].best.evaluations > end) end = (double)g->runs[i].best.evaluations;
    fputs("evaluations,solved,runs,rate,low,high\n", f);
    size_t k = 0;
    double lo, hi, x = 0;
    an_binom_ci(0, g->n, 0.95, ci, &lo, &hi);
    fprintf(f, "0,0,%zu,0,%.17g,%.17g\n", g->n, lo, hi);
    while (k < ns) {
        x = v[k];
        fprintf(f, "%.17g,%zu,%zu,%.17g,%.17g,%.17g\n", x, k, g->n, (double)k / (double)g->n, lo,
                hi);
        while (k < ns && v[k] == x)
            k++;
        an_binom_ci(k, g->n, 0.95, ci, &lo, &hi);
        fprintf(f, "%.17g,%zu,%zu,%.17g,%.17g,%.17g\n", x, k, g->n, (double)k / (double)g->n, lo,
                hi);
    }
    if (end > x)
        fprintf(f, "%.17g,%zu,%zu,%.17g,%.17g,%.17g\n", end, k, g->n, (double)k / (double)g->n, lo,
                hi);
    free(v);
    return an_close_out(f, dir, name, msg);
}

/* final-EXP.csv: each run's last best program, for the box plots. */
static int write_final(const group *g, const char *dir, range *rg, an_msgs *msg) {
    char name[128];
    snprintf(name, sizeof name, "final-%s.csv", g->label);
    FILE *f = an_open_out(dir, name, msg);
    if (!f) return -1;
    fputs("seed,best_error,best_gas,best_memtime,solved,evaluations_to_success\n", f);
    for (size_t i = 0; i < g->n; i++) {
        const run_sum *s = &g->runs[i];
        fprintf(f, "%" PRIu64 ",%.17g,%" PRIu64 ",%" PRIu64 ",%d,", s->seed, s->best.best_error,
                s->best.best_gas, s->best.best_memtime, s->solved_gen >= 0);
        if (s->solved_gen >= 0)
            fprintf(f, "%.17g\n", s->evals_success);
        else
            fputs("\n", f);
        rng_add(&rg[0], s->best.best_error);
        rng_add(&rg[1], (double)s->best.best_gas);
        rng_add(&rg[2], (double)s->best.best_memtime);
    }
    return an_close_out(f, dir, name, msg);
}

static int write_tables(group *gs, size_t ng, const char *dir, const an_report_opts *o,
                        an_msgs *msg) {
    FILE *f = an_open_out(dir, "runs.csv", msg);
    if (!f) return -1;
    fprintf(f, "experiment,spec,seed,file,generations,stop_reason,evaluations,best_fitness,"
               "best_error,best_gas,best_memtime,best_hits,best_length,solved,solved_generation,"
               "evaluations_to_success\n");
    for (size_t k = 0; k < ng; k++)
        for (size_t i = 0; i < gs[k].n; i++) {
            const run_sum *s = &gs[k].runs[i];
            fprintf(f,
                    "%s,%s,%" PRIu64 ",%s,%" PRIu64 ",%s,%" PRIu64 ",%.17g,%.17g,%" PRIu64
                    ",%" PRIu64 ",%" PRIu32 ",%" PRIu32 ",%d,%" PRId64 ",",
                    gs[k].label, gs[k].spec_name, s->seed, s->path, s->generations, s->stop_reason,
                    s->best.evaluations, s->best.best_fitness, s->best.best_error, s->best.best_gas,
                    s->best.best_memtime, s->best.best_hits, s->best.best_length,
                    s->solved_gen >= 0, s->solved_gen);
            if (s->solved_gen >= 0)
                fprintf(f, "%.17g\n", s->evals_success);
            else
                fputc('\n', f);
        }
    if (an_close_out(f, dir, "runs.csv", msg)) return -1;
    if (!(f = an_open_out(dir, "success.csv", msg))) return -1;
    fprintf(f, "experiment,spec,runs,solved,success_rate,criterion,population,effort,"
               "effort_generation,success_low,success_high,interval,effort_low,effort_high,"
               "bootstrap_resamples,bootstrap_seed\n");
    for (size_t k = 0; k < ng; k++) {
        const an_exp *e = &gs[k].ex;
        char crit[64];
        criterion_text(&gs[k], crit, sizeof crit);
        fprintf(f, "%s,%s,%zu,%zu,%.6g,%s,%" PRIu64 ",", gs[k].label, gs[k].spec_name, e->runs,
                e->solved, (double)e->solved / (double)e->runs, crit,
                (uint64_t)gs[k].islands * gs[k].pop_size);
        if (e->effort > 0)
            fprintf(f, "%.0f,%" PRIu64 ",", e->effort, e->effort_at);
        else
            fputs(",,", f);
        fprintf(f, "%.17g,%.17g,%s,", e->rate_lo, e->rate_hi, an_ci_name(e->ci));
        if (e->effort > 0)
            fprintf(f, "%.17g,%.17g,", e->effort_lo, e->effort_hi);
        else
            fputs(",,", f);
        fprintf(f, "%" PRIu32 ",%" PRIu64 "\n", boot_reps(o), o->boot_seed);
    }
    if (an_close_out(f, dir, "success.csv", msg)) return -1;
    if (!(f = an_open_out(dir, "summary.csv", msg))) return -1;
    fputs("experiment,measure,n,median,q1,q3\n", f);
    for (size_t k = 0; k < ng; k++)
        for (int m = 0; m < AN_NMETRIC; m++) {
            const an_exp *e = &gs[k].ex;
            fprintf(f, "%s,%s,%zu,", e->label, an_metrics[m].key, e->nv[m]);
            if (e->nv[m])
                fprintf(f, "%.17g,%.17g,%.17g\n", e->med[m], e->q1[m], e->q3[m]);
            else
                fputs(",,\n", f);
        }
    if (an_close_out(f, dir, "summary.csv", msg)) return -1;
    if (!(f = an_open_out(dir, "best.csv", msg))) return -1;
    fprintf(f,
            "experiment,seed,id,fitness,error,gas,memtime,hits,length,code_hex,expr,constants\n");
    for (size_t k = 0; k < ng; k++)
        for (size_t i = 0; i < gs[k].n; i++) {
            const run_sum *s = &gs[k].runs[i];
            fprintf(f,
                    "%s,%" PRIu64 ",%" PRIu64 ":%" PRIu32 ":%" PRIu32 ",%.17g,%.17g,%" PRIu64
                    ",%" PRIu64 ",%" PRIu32 ",%" PRIu32 ",%s,",
                    gs[k].label, s->seed, s->generations - 1, s->best_island, s->best_slot,
                    s->best.best_fitness, s->best.best_error, s->best.best_gas,
                    s->best.best_memtime, s->best.best_hits, s->best.best_length, s->code_hex);
            csv_field(f, s->expr);
            fputc(',', f);
            csv_field(f, s->consts);
            fputc('\n', f);
        }
    return an_close_out(f, dir, "best.csv", msg);
}

/* ---- gnuplot ---- */

/* Every script draws one figure in the format named by the variable fmt
 * (png by default; gnuplot -e "fmt='pdf'" SCRIPT for the PDF). The PDF is
 * single-column print size, 3.5 x 2.5 in with 8 pt text and lw 1 = 1 pt
 * (pdfcairo's own unit is 0.5 pt); the PNG is the same figure 3.57 times
 * larger (900 x 640 pixels; pngcairo's lw 1 is 1 pixel). No titles: the captions are
 * in report.md. Text is enhanced (for 10^{k} tics); names from the data are
 * marked noenhanced. */
static void gp_head(FILE *f, const char *stem, const char *xl, const char *yl) {
    fprintf(f,
            "# Written by frugal report (docs/report.md). Redraw with: gnuplot %s.gp (PNG),\n"
            "# or gnuplot -e \"fmt='pdf'\" %s.gp (PDF; also fmt='svg').\n",
            stem, stem);
    fputs("set encoding utf8\n"
          "if (!exists(\"fmt\")) fmt = 'png'\n"
          "if (fmt eq 'pdf') set terminal pdfcairo size 3.5in,2.49in font 'sans,8' linewidth 2 "
          "enhanced\n"
          "if (fmt eq 'svg') set terminal svg size 900,640 font 'sans,28' linewidth 3.57 "
          "enhanced background 'white'\n"
          "if (fmt eq 'png') set terminal pngcairo size 900,640 font 'sans,8' fontscale 3.57 "
          "linewidth 3.57 pointscale 3.57 enhanced\n",
          f);
    fprintf(f, "set output '%s.'.fmt\n", stem);
    fputs("set datafile separator ','\n"
          "set grid lc rgb '#e0e0e0' lw 0.5\n"
          "set border lw 0.6\nset tics scale 0.5 nomirror\n"
          "set key outside top center horizontal samplen 1.5 spacing 1 width 0\n",
          f);
    if (xl) fprintf(f, "set xlabel '%s' offset 0,0.4\n", xl);
    if (yl) fprintf(f, "set ylabel '%s'\n", yl);
}

FILE *an_gp_open(const char *dir, const char *stem, const char *xl, const char *yl, an_msgs *msg) {
    char gp[256];
    snprintf(gp, sizeof gp, "%s.gp", stem);
    FILE *f = an_open_out(dir, gp, msg);
    if (f) gp_head(f, stem, xl, yl);
    return f;
}

/* Errors: log only when all are positive (a 0 error is a solution, never
 * hidden). Resources (relaxed): log when the positive values span two
 * decades; zeros are then not drawn (a comment in the script says so). A log
 * axis is labelled 10^k, at most about six labels, and fits the data. */
static void gp_scale(FILE *f, const char *axis, const range *r, bool relaxed) {
    bool log = relaxed ? r->lo > 0 && r->hi / r->lo >= 100 : rng_log(r);
    if (!log) return;
    double dec = log10(r->hi / r->lo);
    fprintf(f, "set logscale %s\nset format %s '10^{%%L}'\nset %stics %g\nset m%stics 10\n", axis,
            axis, axis, pow(10, dec > 5 ? ceil(dec / 5) : 1), axis);
    double pad = pow(r->hi / r->lo, 0.04); /* 4% of the span on each side */
    fprintf(f, "set %srange [%.6g:%.6g]\n", axis, r->lo / pad, r->hi * pad);
    if (relaxed && r->nonpos) fprintf(f, "# zero %s values are not drawn (log scale)\n", axis);
}

/* colour k with transparency alpha (0 opaque .. 255 invisible) */
static const char *color_a(size_t k, unsigned alpha, char *buf) {
    snprintf(buf, 10, "#%02X%s", alpha & 255, colors[k % NCOLORS] + 1);
    return buf;
}

/* ", \" between plot elements, nothing after the last */
static const char *more(size_t k, size_t n) {
    return k + 1 < n ? ",\\" : "";
}

static int fig_convergence(const group *gs, size_t ng, const char *dir, const range *err,
                           an_msgs *msg) {
    FILE *f = an_gp_open(dir, "convergence", "generation", "error", msg);
    if (!f) return -1;
    gp_scale(f, "y", err, false);
    fputs("plot \\\n", f);
    for (size_t k = 0; k < ng; k++) {
        const group *g = &gs[k];
        const char *c = colors[k % NCOLORS];
        if (g->n > 1)
            fprintf(f,
                    "  'convergence-%s.csv' skip 1 using 1:4:5 with filledcurves fc rgb '%s' fs "
                    "transparent solid 0.2 noborder notitle,\\\n",
                    g->label, c);
        fprintf(f,
                "  'convergence-%s.csv' skip 1 using 1:3 with lines lw 1.5 lc rgb '%s' title "
                "'%s' noenhanced,\\\n"
                "  'convergence-%s.csv' skip 1 using 1:6 with lines lw 1 dt 2 lc rgb '%s' "
                "notitle%s\n",
                g->label, c, g->label, g->label, c, more(k, ng));
    }
    return an_close_out(f, dir, "convergence.gp", msg);
}

double an_nice_step(double hi) {
    double s = pow(10, floor(log10(hi > 0 ? hi : 1))) / 10;
    for (int i = 0;; i++, s *= i % 3 == 2 ? 2.5 : 2) /* 1, 2, 5, 10, ... */
        if (hi / s <= 5 || i > 60) return s;
}

static int fig_success(const group *gs, size_t ng, const char *dir, an_msgs *msg) {
    FILE *f = an_gp_open(dir, "success", "evaluations", "success rate", msg);
    if (!f) return -1;
    double hi = 0;
    for (size_t k = 0; k < ng; k++)
        for (size_t i = 0; i < gs[k].n; i++)
            if ((double)gs[k].runs[i].best.evaluations > hi)
                hi = (double)gs[k].runs[i].best.evaluations;
    fprintf(f, "set yrange [0:1]\nset ytics 0.2\nset xrange [0:*]\nset xtics %g\n",
            an_nice_step(hi));
    fputs("set format x '%.0s%c'\nplot \\\n", f);
    for (size_t k = 0; k < ng; k++) {
        const char *c = colors[k % NCOLORS];
        fprintf(f,
                "  'success-%s.csv' skip 1 using 1:5:6 with filledcurves fc rgb '%s' fs "
                "transparent solid 0.18 noborder notitle,\\\n"
                "  'success-%s.csv' skip 1 using 1:4 with lines lw 1.5 lc rgb '%s' title "
                "'%s' noenhanced%s\n",
                gs[k].label, c, gs[k].label, c, gs[k].label, more(k, ng));
    }
    return an_close_out(f, dir, "success.gp", msg);
}

/* The box-plot figures: one per measure of the last best program. */
static const struct {
    const char *stem, *ylabel;
    int column; /* in final-EXP.csv */
    bool relaxed;
} boxes[] = {{"box-error", "final best error", 2, false},
             {"box-gas", "final best gas", 3, true},
             {"box-memtime", "final best memory-time", 4, true}};
#define NBOXES (sizeof boxes / sizeof *boxes)

/* Box plots of each run's final best program, one box per experiment, the
 * runs as dots jittered by seed (reproducible). */
static int fig_box(const group *gs, size_t ng, const char *dir, size_t which, const range *rg,
                   an_msgs *msg) {
    char name[64];
    FILE *f = an_gp_open(dir, boxes[which].stem, NULL, boxes[which].ylabel, msg);
    if (!f) return -1;
    fputs("unset key\nset style boxplot nooutliers range 1.5\nset style fill solid 0.25 border\n"
          "set boxwidth 0.5\nset bars 0.4\nset grid noxtics\n",
          f);
    fprintf(f, "set xrange [0.4:%zu.6]\nset xtics (", ng);
    for (size_t k = 0; k < ng; k++)
        fprintf(f, "%s'%s' %zu", k ? ", " : "", gs[k].label, k + 1);
    fprintf(f, ") noenhanced%s\n", ng > 3 ? " rotate by 30 right" : "");
    gp_scale(f, "y", &rg[which], boxes[which].relaxed);
    fputs("jit(s) = 0.3 * (s * 0.6180339887 - floor(s * 0.6180339887) - 0.5)\nplot \\\n", f);
    for (size_t k = 0; k < ng; k++) {
        char ca[12];
        int c = boxes[which].column;
        fprintf(f,
                "  'final-%s.csv' skip 1 using (%zu):%d with boxplot lc rgb '%s' lw 1,\\\n"
                "  'final-%s.csv' skip 1 using (%zu + jit($1)):%d with points pt %d ps 0.3 "
                "lc rgb '%s'%s\n",
                gs[k].label, k + 1, c, colors[k % NCOLORS], gs[k].label, k + 1, c,
                points[k % NCOLORS], color_a(k, 0x50, ca), more(k, ng));
    }
    snprintf(name, sizeof name, "%s.gp", boxes[which].stem);
    return an_close_out(f, dir, name, msg);
}

static int fig_resources(const group *gs, size_t ng, const char *dir, const range *res,
                         an_msgs *msg) {
    FILE *f = an_gp_open(dir, "resources", "generation", "gas", msg);
    if (!f) return -1;
    fputs("set y2label 'memory-time'\nset y2tics\n", f);
    gp_scale(f, "y", &res[0], true);
    gp_scale(f, "y2", &res[1], true);
    fputs("plot \\\n", f);
    for (size_t k = 0; k < ng; k++) {
        const group *g = &gs[k];
        const char *c = colors[k % NCOLORS];
        fprintf(f,
                "  'convergence-%s.csv' skip 1 using 1:9 axes x1y1 with lines lw 1.5 lc rgb '%s' "
                "title '%s' noenhanced,\\\n"
                "  'convergence-%s.csv' skip 1 using 1:10 axes x1y2 with lines lw 1.2 dt 2 lc "
                "rgb '%s' notitle%s\n",
                g->label, c, g->label, g->label, c, more(k, ng));
    }
    return an_close_out(f, dir, "resources.gp", msg);
}

static int fig_front(const group *gs, size_t ng, const char *dir, const range *rg, an_msgs *msg) {
    FILE *f = an_gp_open(dir, "front", "gas", "error", msg);
    if (!f) return -1;
    gp_scale(f, "y", &rg[0], false);
    gp_scale(f, "x", &rg[1], true);
    fputs("plot \\\n", f);
    for (size_t k = 0; k < ng; k++) {
        char ca[12], cb[12];
        fprintf(f,
                "  'front-%s.csv' skip 1 using 4:3 with steps lw 0.6 lc rgb '%s' notitle,\\\n"
                "  'front-%s.csv' skip 1 using 4:3 with points pt %d ps 0.3 lc rgb '%s' "
                "notitle,\\\n"
                "  keyentry with linespoints lw 1 pt %d ps 0.5 lc rgb '%s' title '%s' "
                "noenhanced%s\n",
                gs[k].label, color_a(k, 0x80, ca), gs[k].label, points[k % NCOLORS],
                color_a(k, 0x40, cb), points[k % NCOLORS], colors[k % NCOLORS], gs[k].label,
                more(k, ng));
    }
    return an_close_out(f, dir, "front.gp", msg);
}

static int fig_history(const group *g, const char *dir, const range *rg, an_msgs *msg) {
    char stem[128], name[160];
    snprintf(stem, sizeof stem, "front-history-%s", g->label);
    snprintf(name, sizeof name, "%s.gp", stem);
    FILE *f = an_gp_open(dir, stem, "gas", "error", msg);
    if (!f) return -1;
    gp_scale(f, "y", &rg[4], false);
    gp_scale(f, "x", &rg[5], true);
    int idx = 0, shown = __builtin_popcount(g->hist_shown); /* the fronts read_run wrote */
    if (!shown)                                             /* no front has a point: empty axes */
        fputs("set xrange [0:1]\nset yrange [0:1]\nplot 2 notitle\n", f);
    else
        fputs("plot \\\n", f);
    for (int k = 0; k < MAX_HIST; k++) {
        if (!(g->hist_shown >> k & 1)) continue;
        uint64_t gen = g->hist_gen[k];
        /* light grey (early) to dark blue (last) */
        double t = shown > 1 ? (double)idx / (shown - 1) : 1;
        unsigned cr = (unsigned)(187 + t * (8 - 187)), cg = (unsigned)(187 + t * (48 - 187)),
                 cb = (unsigned)(187 + t * (107 - 187));
        fprintf(f,
                "  'front-history-%s.csv' index %d using 3:2 with steps lw 1.2 lc rgb "
                "'#%02x%02x%02x' title 'gen. %" PRIu64 "',\\\n"
                "  'front-history-%s.csv' index %d using 3:2 with points pt 7 ps 0.4 lc rgb "
                "'#%02x%02x%02x' notitle%s\n",
                g->label, idx, cr, cg, cb, gen, g->label, idx, cr, cg, cb,
                idx + 1 < shown ? ",\\" : "");
        idx++;
    }
    return an_close_out(f, dir, name, msg);
}

static int fig_memerr(const group *gs, size_t ng, const char *dir, const range *rg, an_msgs *msg) {
    FILE *f = an_gp_open(dir, "memtime-error", "error", "memory-time (word·gas)", msg);
    if (!f) return -1;
    gp_scale(f, "x", &rg[2], false);
    gp_scale(f, "y", &rg[3], true);
    fputs("# only the clean programs (column 5): no fault, no missing output\nplot \\\n", f);
    for (size_t k = 0; k < ng; k++) {
        char ca[12];
        fprintf(f,
                "  'memtime-error-%s.csv' skip 1 using ($5 > 0 ? $2 : NaN):3 with points pt %d "
                "ps 0.2 lc rgb '%s' notitle,\\\n"
                "  keyentry with points pt %d ps 0.6 lc rgb '%s' title '%s' noenhanced%s\n",
                gs[k].label, points[k % NCOLORS], color_a(k, 0xE0, ca), points[k % NCOLORS],
                colors[k % NCOLORS], gs[k].label, more(k, ng));
    }
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

/* Run gnuplot on script inside dir for the format ext (png, pdf, svg); its
 * messages go to dir/gnuplot.log. */
int an_run_gnuplot(const char *dir, const char *script, const char *ext, an_msgs *msg) {
    char var[32];
    snprintf(var, sizeof var, "fmt='%s'", ext);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) goto failed;
    if (pid == 0) {
        if (chdir(dir) != 0) _exit(127);
        int fd = open("gnuplot.log", O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execlp("gnuplot", "gnuplot", "-e", var, script, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) goto failed;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
failed:
    msg->res->gnuplot_failed = true;
    an_warn(msg, "gnuplot failed on %s/%s for %s (see %s/gnuplot.log)", dir, script, ext, dir);
    return -1;
}

/* ---- report.md ---- */

/* The format report.md shows: PNG, else SVG, else PDF. */
static an_format md_format(unsigned formats) {
    return formats & AN_FMT(AN_PNG) ? AN_PNG : formats & AN_FMT(AN_SVG) ? AN_SVG : AN_PDF;
}

const char *an_md_ext(unsigned formats) {
    return an_ext_of(md_format(formats));
}

static void md_figure(FILE *f, const char *stem, unsigned formats, bool have, const char *alt,
                      int *no, const char *caption) {
    char other[64] = "";
    if (formats & AN_FMT(AN_PDF) && md_format(formats) != AN_PDF)
        snprintf(other, sizeof other, " (vector: `%s.pdf`)", stem);
    ++*no;
    if (have)
        fprintf(f, "![%s](%s.%s)\n\n*Figure %d.* %s%s\n\n", alt, stem,
                an_ext_of(md_format(formats)), *no, caption, other);
    else
        fprintf(f,
                "*%s: not drawn (gnuplot missing or failed); its data and script are "
                "here.*\n\n*Figure %d.* %s\n\n",
                stem, *no, caption);
}

static int write_md(group *gs, size_t ng, const an_exp *ex, const an_cmp *cmp, size_t ncmp,
                    const char *dir, const an_report_opts *o, bool figs, an_msgs *msg) {
    FILE *f = an_open_out(dir, "report.md", msg);
    if (!f) return -1;
    unsigned fm = o->formats;
    int no = 0;
    char cap[1024];
    fputs("# frugal report\n\n", f);
    for (size_t k = 0; k < ng; k++) {
        char crit[64];
        criterion_text(&gs[k], crit, sizeof crit);
        fprintf(f,
                "- **%s**: spec `%s`, %zu run%s (seed%s %s) from `%s`; population M = %" PRIu64
                "; solved when %s\n",
                gs[k].label, gs[k].spec_name, gs[k].n, gs[k].n > 1 ? "s" : "",
                gs[k].n > 1 ? "s" : "", gs[k].seeds, gs[k].input,
                (uint64_t)gs[k].islands * gs[k].pop_size, crit);
    }
    fputs("\nFor a paper: `tables.tex` (booktabs tables of the success, medians and comparisons "
          "below, for `\\input`), and each figure as PDF next to its PNG, gnuplot script and "
          "data. Statistics and figures: docs/report.md.\n\n",
          f);
    fputs("## Success\n\n", f);
    an_md_success(f, ex, ng, boot_reps(o), o->boot_seed);
    fputs("A run is solved when some individual meets the criterion (the spec's "
          "`budget.target_error` if set, else every training case a hit) by the last "
          "generation; Koza's effort E = min_i M·(i+1)·⌈ln(0.01)/ln(1−P(M,i))⌉ over the runs "
          "(`success.csv`, `runs.csv`).\n\n",
          f);
    snprintf(cap, sizeof cap,
             "Success rate against evaluations: the share of runs solved within that many "
             "evaluations, with its 95%% %s interval as a band; one line per experiment "
             "(`success-*.csv`).",
             an_ci_name(o->ci));
    md_figure(f, "success", fm, figs, "success rate against evaluations", &no, cap);
    fputs("## Final results\n\n", f);
    an_md_medians(f, ex, ng);
    static const char *const boxcap[NBOXES] = {
        "The final best program's error (summed over the training cases), one box per "
        "experiment.",
        "The final best program's gas (summed over the training cases).",
        "The final best program's memory-time (word·gas, summed over the training cases)."};
    for (size_t b = 0; b < NBOXES; b++) {
        snprintf(cap, sizeof cap,
                 "%s Boxes: quartiles and median over the runs; whiskers: the furthest run "
                 "within 1.5 interquartile ranges; dots: the runs (`final-*.csv`).",
                 boxcap[b]);
        md_figure(f, boxes[b].stem, fm, figs, "box plot", &no, cap);
    }
    fputs("## Comparisons\n\n", f);
    an_md_compare(f, ex, cmp, ncmp);
    fputs("## Convergence\n\n", f);
    md_figure(f, "convergence", fm, figs, "convergence", &no,
              "Error of the best program (solid) and the population's median error (dashed) per "
              "generation; over seeds, the medians, and the interquartile band of the best "
              "(`convergence-*.csv`).");
    fputs("## Resource efficiency\n\n", f);
    uint64_t tot = 0, ok = 0;
    for (size_t k = 0; k < ng; k++) {
        tot += gs[k].final_total;
        ok += gs[k].final_clean;
    }
    char left[256];
    snprintf(left, sizeof left,
             "%" PRIu64 " of the %" PRIu64 " final-population programs (%.0f%%) faulted, ran out "
             "of a resource or lacked an output (an error at the task's penalty) and are not "
             "drawn",
             tot - ok, tot, tot ? 100.0 * (double)(tot - ok) / (double)tot : 0.0);
    snprintf(cap, sizeof cap,
             "The final population's non-dominated programs in error and gas (both minimised), "
             "one staircase per seed. %s (`front-*.csv`).",
             left);
    md_figure(f, "front", fm, figs, "Pareto front", &no, cap);
    for (size_t k = 0; k < ng; k++) {
        char stem[128];
        snprintf(stem, sizeof stem, "front-history-%s", gs[k].label);
        snprintf(cap, sizeof cap,
                 "%s, seed %" PRIu64 ": the error-gas front of the clean programs at five "
                 "generations, light to dark (`front-history-%s.csv`).",
                 gs[k].label, gs[k].runs[0].seed, gs[k].label);
        md_figure(f, stem, fm, figs, "front history", &no, cap);
    }
    md_figure(f, "resources", fm, figs, "resources", &no,
              "Gas (solid, left axis) and memory-time (dotted, right axis) of the best program "
              "per generation; over seeds, the median.");
    snprintf(cap, sizeof cap,
             "Memory-time against error of every clean program of the final population. %s "
             "(`memtime-error-*.csv`, column `clean`).",
             left);
    md_figure(f, "memtime-error", fm, figs, "memory-time against error", &no, cap);
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
    /* files whose /pop holds some generations only (output.population) */
    for (size_t k = 0; k < ng; k++)
        for (size_t i = 0; i < gs[k].n; i++)
            if (strcmp(gs[k].runs[i].pop_text, "every generation"))
                fprintf(f,
                        "\n%s, seed %" PRIu64 ": populations in the file: %s "
                        "(`output.population`); statistics: every generation.\n",
                        gs[k].label, gs[k].runs[i].seed, gs[k].runs[i].pop_text);
    fputs("\n## Best programs\n\n", f);
    for (size_t k = 0; k < ng; k++) {
        const run_sum *s = &gs[k].runs[gs[k].best];
        const an_stats *b = &s->stats[s->best_gen];
        fprintf(f,
                "**%s**, seed %" PRIu64 ", individual %" PRIu64 ":%" PRIu32 ":%" PRIu32
                " (generation:island:slot): error %.6g, gas %" PRIu64 ", memory-time %" PRIu64
                " word·gas, %" PRIu32 " of %" PRIu32 " hits, %" PRIu32 " bytes "
                "(every run's best: `best.csv`).\n\n```\n%s```\n\n",
                gs[k].label, s->seed, s->best_gen, s->best_island, s->best_slot, b->best_error,
                b->best_gas, b->best_memtime, b->best_hits, gs[k].cases, b->best_length,
                s->program ? s->program : "");
        if (s->expr) fprintf(f, "As an expression: `%s`\n\n", s->expr);
        if (s->expr_tex && s->expr && strncmp(s->expr, "(no ", 4))
            fprintf(f, "$$%s$$\n\n", s->expr_tex);
        if (s->consts && s->consts[0]) fprintf(f, "Constants: %s\n\n", s->consts);
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

/* Write n bytes of text to dir/name. 0, or -1 (reported to msg). */
static int write_text(const char *dir, const char *name, const char *text, size_t n, an_msgs *msg) {
    FILE *f = an_open_out(dir, name, msg);
    if (!f) return -1;
    if (n) fwrite(text, 1, n, f);
    return an_close_out(f, dir, name, msg);
}

/* The report of run files: 0, or AN_ERR_INPUT or AN_ERR_IO. */
static int report_runs(const char *const *inputs, size_t n, const an_report_opts *o, an_msgs *msg) {
    int rc = 0, fail = AN_ERR_IO; /* fail: what a goto cleanup returns */
    bool done = false;
    group *gs = calloc(n ? n : 1, sizeof *gs);
    an_exp *ex = NULL;
    an_cmp *cmp = NULL;
    size_t ncmp = 0;
    range err = {0}, res[2] = {{0}}, rg[6] = {{0}}, fin[3] = {{0}};
    const char *dir = o->out_dir;
    if (!gs) return AN_ERR_IO;
    for (size_t k = 0; k < n; k++) {
        group *g = &gs[k];
        char **files = NULL;
        size_t nf = 0;
        snprintf(g->input, sizeof g->input, "%s", inputs[k]);
        if ((fail = list_inputs(inputs[k], &files, &nf, msg))) goto cleanup;
        fail = AN_ERR_IO;
        g->runs = calloc(nf, sizeof *g->runs);
        /* the data files are named after the experiment, known once the first
         * run is read: they are written from memory then, so that nothing is
         * left behind if the report stops early */
        char *data[3] = {NULL, NULL, NULL};
        size_t len[3] = {0, 0, 0};
        FILE *ff = g->runs ? open_memstream(&data[0], &len[0]) : NULL;
        FILE *fm = ff ? open_memstream(&data[1], &len[1]) : NULL;
        FILE *fh = fm ? open_memstream(&data[2], &len[2]) : NULL;
        int bad = !fh;
        if (!bad) {
            fputs("seed,generation,error,gas,memtime,length\n", ff);
            fputs("seed,error,memtime,gas,clean\n", fm);
        }
        for (size_t i = 0; i < nf && !bad; i++) {
            an_progress(msg, "reading %s", files[i]);
            if ((bad = read_run(g, files[i], ff, fm, fh, rg, msg))) fail = bad;
        }
        for (size_t i = 0; i < nf; i++)
            free(files[i]);
        free(files);
        FILE *mf[3] = {ff, fm, fh};
        for (int t = 0; t < 3; t++)
            if (mf[t] && fclose(mf[t]) != 0) bad = 1;
        if (!bad && k == 0 && an_mkdirs(dir)) { /* the first input read: a report follows */
            an_fail(msg, "cannot create %s: %s", dir, strerror(errno));
            bad = 1;
        }
        if (bad) {
            for (int t = 0; t < 3; t++)
                free(data[t]);
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
        for (int t = 0; t < 3 && !bad; t++) {
            char name[128];
            snprintf(name, sizeof name, "%s-%s.csv", base[t], g->label);
            bad = write_text(dir, name, data[t], len[t], msg);
        }
        for (int t = 0; t < 3; t++)
            free(data[t]);
        if (bad) goto cleanup;
        if (write_convergence(g, dir, &err, res, msg)) goto cleanup;
        if (group_stats(g, o) || write_success_curve(g, dir, o->ci, msg) ||
            write_final(g, dir, fin, msg))
            goto cleanup;
    }
    if (!(ex = malloc(n * sizeof *ex))) goto cleanup;
    for (size_t k = 0; k < n; k++)
        ex[k] = gs[k].ex; /* shallow: the values stay the group's */
    if (an_compare(ex, n, &cmp, &ncmp)) goto cleanup;
    if (write_tables(gs, n, dir, o, msg) || an_write_compare_csv(ex, cmp, ncmp, dir, msg) ||
        an_write_tex(ex, n, cmp, ncmp, boot_reps(o), o->boot_seed, dir, msg))
        goto cleanup;
    if (fig_convergence(gs, n, dir, &err, msg) || fig_success(gs, n, dir, msg) ||
        fig_resources(gs, n, dir, res, msg) || fig_front(gs, n, dir, rg, msg) ||
        fig_memerr(gs, n, dir, rg, msg))
        goto cleanup;
    for (size_t b = 0; b < NBOXES; b++)
        if (fig_box(gs, n, dir, b, fin, msg)) goto cleanup;
    for (size_t k = 0; k < n; k++)
        if (fig_history(&gs[k], dir, rg, msg)) goto cleanup;
    bool figs = false;
    if (!an_have_gnuplot()) {
        msg->res->no_gnuplot = true;
        an_warn(msg,
                "gnuplot not found, so no figures were drawn; the tables, the "
                "data and the gnuplot scripts are in %s.\n"
                "  Install it with: sudo apt-get install gnuplot-nox\n"
                "  then rerun frugal report, or run each script there: cd %s && gnuplot "
                "convergence.gp",
                dir, dir);
    } else {
        figs = true;
        char log[8192];
        snprintf(log, sizeof log, "%s/gnuplot.log", dir);
        remove(log);
        static const char *const scripts[] = {"success.gp",     "box-error.gp",    "box-gas.gp",
                                              "box-memtime.gp", "convergence.gp",  "front.gp",
                                              "resources.gp",   "memtime-error.gp"};
        for (int t = 0; t < 3; t++) {
            if (!(o->formats & AN_FMT(t))) continue;
            const char *x = an_ext_of((an_format)t);
            for (size_t i = 0; i < sizeof scripts / sizeof *scripts; i++)
                if (an_run_gnuplot(dir, scripts[i], x, msg)) figs = false;
            for (size_t k = 0; k < n; k++) {
                char sc[128];
                snprintf(sc, sizeof sc, "front-history-%s.gp", gs[k].label);
                if (an_run_gnuplot(dir, sc, x, msg)) figs = false;
            }
        }
    }
    if (write_md(gs, n, ex, cmp, ncmp, dir, o, figs, msg)) goto cleanup;
    an_progress(msg, "wrote %s/report.md", dir);
    done = true;
cleanup:
    if (!done) rc = fail;
    for (size_t k = 0; k < n; k++)
        free_group(&gs[k]);
    free(gs);
    free(ex);
    free(cmp);
    return rc;
}

int an_report(const char *const *inputs, size_t n, const an_report_opts *o, an_report_result *res,
              char *err, size_t errcap) {
    an_msgs m = {.err = err, .errcap = errcap, .res = res, .o = o};
    memset(res, 0, sizeof *res);
    if (err && errcap) err[0] = 0;
    /* an arena file (frugal arena) has its own report */
    int rc = n == 1 && an_is_arena(inputs[0]) ? an_arena_report(inputs[0], o, &m)
                                              : report_runs(inputs, n, o, &m);
    if (!rc) return 0;
    res->fail = rc;
    if (err && errcap && !err[0]) base_errf(err, errcap, "out of memory");
    return -1;
}
