/* Internal to analysis/: output helpers shared by the run and arena reports. */
#ifndef FRUGAL_AN_IMPL_H
#define FRUGAL_AN_IMPL_H

#include "analysis/analysis.h"

/* Where a report's messages go: the first failure's into (err, errcap),
 * warnings into res->warn, progress lines to o->progress. */
typedef struct {
    char *err;
    size_t errcap;
    an_report_result *res;
    size_t warnlen;
    const an_report_opts *o;
} an_msgs;
/* A failure (the first one is kept). */
void an_fail(an_msgs *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line of res->warn. */
void an_warn(an_msgs *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A progress line. */
void an_progress(an_msgs *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

const char *an_ext_of(an_format f);
/* The extension of the figures report.md shows: png, else svg, else pdf. */
const char *an_md_ext(unsigned formats);
FILE *an_open_out(const char *dir, const char *name, an_msgs *msg);
int an_close_out(FILE *f, const char *dir, const char *name, an_msgs *msg);
/* Open the gnuplot script STEM.gp in dir (close it with an_close_out) and
 * write its head: the terminal for the variable fmt (png unless set:
 * gnuplot -e "fmt='pdf'"), output STEM.<fmt>, the style, and the axis labels
 * (NULL: none). NULL on error (reported to msg). */
FILE *an_gp_open(const char *dir, const char *stem, const char *xl, const char *yl, an_msgs *msg);
/* A tic step for [0, hi]: 1, 2 or 5 times a power of ten, at most five steps. */
double an_nice_step(double hi);
bool an_have_gnuplot(void);
/* gnuplot -e "fmt='EXT'" SCRIPT in dir; 0, or -1 (gnuplot_failed and a
 * warning in msg). */
int an_run_gnuplot(const char *dir, const char *script, const char *ext, an_msgs *msg);
int an_mkdirs(const char *dir);

/* ---- experiments compared (analysis/compare.c) ---- */

/* The per-run measures that experiments are compared on. */
enum { AN_M_ERROR, AN_M_GAS, AN_M_MEMTIME, AN_M_EVALS, AN_NMETRIC };
typedef struct {
    const char *key;  /* in CSV files: "best_error" */
    const char *name; /* in prose: "final best error" */
    const char *tex;  /* a table heading */
} an_metric;
extern const an_metric an_metrics[AN_NMETRIC];

/* What the comparisons and tables need of one experiment. */
typedef struct {
    char label[AN_NAME];
    size_t runs, solved;
    an_ci_method ci;
    double rate_lo, rate_hi;     /* the success rate's 95% interval */
    double effort;               /* Koza's effort, 0 when no run is solved */
    double effort_lo, effort_hi; /* its 95% bootstrap interval (may be infinite) */
    uint64_t effort_at;
    double *v[AN_NMETRIC]; /* each run's value; AN_M_EVALS: the solved runs only */
    size_t nv[AN_NMETRIC];
    double med[AN_NMETRIC], q1[AN_NMETRIC], q3[AN_NMETRIC]; /* NAN when nv = 0 */
} an_exp;

/* One comparison of two experiments: Fisher's exact test on the success
 * counts (metric -1) or Mann-Whitney U on a metric. */
typedef struct {
    int metric;  /* -1 or AN_M_* */
    size_t a, b; /* experiments, a < b */
    size_t na, nb;
    double va, vb; /* success rates, or medians */
    bool tested;   /* false when a group has no values (p NAN) */
    bool exact;
    double stat; /* Fisher: the sample odds ratio; Mann-Whitney: U of a */
    double z;    /* Mann-Whitney's normal deviate, NAN when exact or Fisher */
    double p, p_holm, a12;
} an_cmp;

/* The medians and quartiles of each metric of e (from e->v). */
void an_exp_quantiles(an_exp *e);
/* Every pair (a < b) on success and each metric, with Holm's correction over
 * all the comparisons made. *out is malloc'd. 0, or -1 (no memory). */
int an_compare(const an_exp *e, size_t n, an_cmp **out, size_t *ncmp);
int an_write_compare_csv(const an_exp *e, const an_cmp *c, size_t nc, const char *dir,
                         an_msgs *msg);
int an_write_tex(const an_exp *e, size_t n, const an_cmp *c, size_t nc, uint32_t reps,
                 uint64_t seed, const char *dir, an_msgs *msg);
/* report.md's success, medians and comparison tables. */
void an_md_success(FILE *f, const an_exp *e, size_t n, uint32_t reps, uint64_t seed);
void an_md_medians(FILE *f, const an_exp *e, size_t n);
void an_md_compare(FILE *f, const an_exp *e, const an_cmp *c, size_t nc);
/* s with LaTeX's special characters escaped, into out (always terminated). */
void an_tex_escape(const char *s, char *out, size_t cap);

/* Arena files (analysis/arena.c). */
bool an_is_arena(const char *path);
/* The report of an arena file: 0, or AN_ERR_INPUT or AN_ERR_IO (the
 * message in msg). */
int an_arena_report(const char *path, const an_report_opts *o, an_msgs *msg);

#endif
