/* Comparing experiments in a report (docs/report.md, "Comparisons"): the
 * pairwise tests with Holm's correction, compare.csv, tables.tex and the
 * tables of report.md. */
#include "analysis/an_impl.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const an_metric an_metrics[AN_NMETRIC] = {
    {"best_error", "final best error", "Final best error"},
    {"best_gas", "gas of the final best", "Gas"},
    {"best_memtime", "memory-time of the final best", "Memory-time"},
    {"evaluations_to_success", "evaluations to success (solved runs)", "Evaluations to success"},
};

void an_exp_quantiles(an_exp *e) {
    for (int m = 0; m < AN_NMETRIC; m++) {
        e->med[m] = e->q1[m] = e->q3[m] = NAN;
        size_t n = e->nv[m];
        double *v = n ? malloc(n * sizeof *v) : NULL;
        if (!v) continue;
        memcpy(v, e->v[m], n * sizeof *v);
        e->med[m] = an_quantile(v, n, 0.5);
        e->q1[m] = an_quantile(v, n, 0.25);
        e->q3[m] = an_quantile(v, n, 0.75);
        free(v);
    }
}

int an_compare(const an_exp *e, size_t n, an_cmp **out, size_t *ncmp) {
    size_t pairs = n * (n - (n > 0)) / 2, k = 0;
    *ncmp = 0;
    *out = calloc(pairs ? pairs * (1 + AN_NMETRIC) : 1, sizeof **out);
    double *p = malloc((pairs ? pairs * (1 + AN_NMETRIC) : 1) * sizeof *p);
    double *adj = malloc((pairs ? pairs * (1 + AN_NMETRIC) : 1) * sizeof *adj);
    if (!*out || !p || !adj) goto fail;
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++)
            for (int m = -1; m < AN_NMETRIC; m++) {
                an_cmp *c = &(*out)[k++];
                c->metric = m;
                c->a = a;
                c->b = b;
                c->p = c->p_holm = c->z = c->a12 = c->stat = NAN;
                if (m < 0) {
                    const an_exp *x = &e[a], *y = &e[b];
                    c->na = x->runs;
                    c->nb = y->runs;
                    c->va = x->runs ? (double)x->solved / (double)x->runs : NAN;
                    c->vb = y->runs ? (double)y->solved / (double)y->runs : NAN;
                    c->tested = x->runs && y->runs;
                    if (!c->tested) continue;
                    c->exact = true;
                    c->p = an_fisher_exact(x->solved, x->runs - x->solved, y->solved,
                                           y->runs - y->solved, &c->stat);
                    /* A12 of the 0/1 outcome: P(a solves, b not) + half the ties */
                    c->a12 = 0.5 + (c->va - c->vb) / 2;
                    continue;
                }
                c->na = e[a].nv[m];
                c->nb = e[b].nv[m];
                c->va = e[a].med[m];
                c->vb = e[b].med[m];
                an_mwu r;
                if (!c->na || !c->nb || an_mann_whitney(e[a].v[m], c->na, e[b].v[m], c->nb, &r))
                    continue;
                c->tested = true;
                c->exact = r.exact;
                c->stat = r.u;
                c->z = r.z;
                c->p = r.p;
                c->a12 = r.a12;
            }
    for (size_t i = 0; i < k; i++)
        p[i] = (*out)[i].tested ? (*out)[i].p : NAN;
    if (an_holm(p, k, adj)) goto fail;
    for (size_t i = 0; i < k; i++)
        (*out)[i].p_holm = adj[i];
    free(p);
    free(adj);
    *ncmp = k;
    return 0;
fail:
    free(*out);
    *out = NULL;
    free(p);
    free(adj);
    return -1;
}

static const char *metric_key(int m) {
    return m < 0 ? "success" : an_metrics[m].key;
}

static const char *test_name(const an_cmp *c) {
    return c->metric < 0 ? "Fisher's exact" : "Mann-Whitney U";
}

static const char *method_name(const an_cmp *c) {
    return !c->tested ? "not tested" : c->exact ? "exact" : "normal";
}

int an_write_compare_csv(const an_exp *e, const an_cmp *c, size_t nc, const char *dir,
                         an_msgs *msg) {
    FILE *f = an_open_out(dir, "compare.csv", msg);
    if (!f) return -1;
    fputs("metric,experiment_a,experiment_b,n_a,n_b,summary,value_a,value_b,test,method,"
          "statistic,statistic_value,z,p,p_holm,a12,a12_magnitude\n",
          f);
    for (size_t i = 0; i < nc; i++) {
        const an_cmp *x = &c[i];
        fprintf(f, "%s,%s,%s,%zu,%zu,%s,%.17g,%.17g,%s,%s,%s,%.17g,", metric_key(x->metric),
                e[x->a].label, e[x->b].label, x->na, x->nb,
                x->metric < 0 ? "success_rate" : "median", x->va, x->vb,
                x->metric < 0 ? "fisher_exact" : "mann_whitney_u", method_name(x),
                x->metric < 0 ? "odds_ratio" : "U", x->stat);
        if (isnan(x->z))
            fputc(',', f);
        else
            fprintf(f, "%.17g,", x->z);
        if (x->tested)
            fprintf(f, "%.17g,%.17g,%.17g,%s\n", x->p, x->p_holm, x->a12, an_a12_magnitude(x->a12));
        else
            fputs(",,,\n", f);
    }
    return an_close_out(f, dir, "compare.csv", msg);
}

/* ---- numbers as text ---- */

/* v with 4 significant digits (integers in full, and 6 digits from 1000 on:
 * a median count of 6894.5 stays exact); in TeX, exponents become
 * \times 10^{k} in math mode. */
static void num(char *b, size_t cap, double v, bool tex) {
    if (isnan(v)) {
        snprintf(b, cap, "%s", tex ? "--" : "—");
        return;
    }
    if (isinf(v)) {
        snprintf(b, cap, "%s", tex ? "$\\infty$" : "∞");
        return;
    }
    char t[64];
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(t, sizeof t, "%.0f", v);
    else
        snprintf(t, sizeof t, fabs(v) >= 1000 ? "%.6g" : "%.4g", v);
    char *e = strchr(t, 'e');
    if (!tex || !e) {
        snprintf(b, cap, "%s", t);
        return;
    }
    *e = 0;
    snprintf(b, cap, "$%s\\times10^{%d}$", t, atoi(e + 1));
}

/* A p-value: 3 significant digits, 2 below 0.001. */
static void pval(char *b, size_t cap, double p, bool tex) {
    if (isnan(p)) {
        snprintf(b, cap, "%s", tex ? "--" : "—");
        return;
    }
    char t[64];
    snprintf(t, sizeof t, p >= 0.001 || p == 0 ? "%.3g" : "%.2g", p);
    char *e = strchr(t, 'e');
    if (!tex || !e) {
        snprintf(b, cap, "%s", t);
        return;
    }
    *e = 0;
    snprintf(b, cap, "$%s\\times10^{%d}$", t, atoi(e + 1));
}

void an_tex_escape(const char *s, char *out, size_t cap) {
    size_t n = 0;
    if (!cap) return;
    for (; *s; s++) {
        const char *r = NULL;
        char one[3] = {'\\', *s, 0};
        switch (*s) {
        case '\\': r = "\\textbackslash{}"; break;
        case '^': r = "\\textasciicircum{}"; break;
        case '~': r = "\\textasciitilde{}"; break;
        case '<': r = "\\textless{}"; break;
        case '>': r = "\\textgreater{}"; break;
        case '{':
        case '}':
        case '$':
        case '&':
        case '#':
        case '%':
        case '_': r = one; break;
        default: one[0] = *s, one[1] = 0, r = one;
        }
        size_t l = strlen(r);
        if (n + l + 1 > cap) break;
        memcpy(out + n, r, l);
        n += l;
    }
    out[n] = 0;
}

/* "median [q1, q3]" of metric m. */
static void mediqr(char *b, size_t cap, const an_exp *e, int m, bool tex) {
    char x[64], y[64], z[64];
    if (!e->nv[m]) {
        snprintf(b, cap, "%s", tex ? "--" : "—");
        return;
    }
    num(x, sizeof x, e->med[m], tex);
    num(y, sizeof y, e->q1[m], tex);
    num(z, sizeof z, e->q3[m], tex);
    snprintf(b, cap, "%s [%s, %s]", x, y, z);
}

static void rate_ci(char *b, size_t cap, const an_exp *e, bool tex) {
    if (!e->runs) {
        snprintf(b, cap, "%s", tex ? "--" : "—");
        return;
    }
    snprintf(b, cap, "%.2f [%.2f, %.2f]", (double)e->solved / (double)e->runs, e->rate_lo,
             e->rate_hi);
}

static void effort_ci(char *b, size_t cap, const an_exp *e, bool tex) {
    char x[64], y[64], z[64];
    if (!(e->effort > 0)) {
        snprintf(b, cap, "%s", tex ? "--" : "—");
        return;
    }
    num(x, sizeof x, e->effort, tex);
    num(y, sizeof y, e->effort_lo, tex);
    num(z, sizeof z, e->effort_hi, tex);
    snprintf(b, cap, "%s [%s, %s]", x, y, z);
}

static void a12_text(char *b, size_t cap, const an_cmp *c) {
    if (!c->tested)
        snprintf(b, cap, "—");
    else
        snprintf(b, cap, "%.2f (%s)", c->a12, an_a12_magnitude(c->a12));
}

static void stat_text(char *b, size_t cap, const an_cmp *c, bool tex) {
    char x[64], z[64];
    if (!c->tested) {
        snprintf(b, cap, "%s", tex ? "--" : "—");
        return;
    }
    num(x, sizeof x, c->stat, false);
    snprintf(z, sizeof z, "%.2f", c->z);
    if (c->metric < 0)
        snprintf(b, cap, tex ? "OR $= %s$" : "odds ratio %s",
                 isinf(c->stat) ? (tex ? "\\infty" : "∞") : x);
    else if (c->exact)
        snprintf(b, cap, tex ? "$U = %s$" : "U = %s", x);
    else
        snprintf(b, cap, tex ? "$U = %s$, $z = %s$" : "U = %s, z = %s", x, z);
}

/* ---- report.md ---- */

void an_md_success(FILE *f, const an_exp *e, size_t n, uint32_t reps, uint64_t seed) {
    fputs("| experiment | runs | solved | success rate [95% CI] | computational effort E [95% "
          "CI] | at generation |\n|---|---|---|---|---|---|\n",
          f);
    for (size_t k = 0; k < n; k++) {
        char r[128], ef[192];
        rate_ci(r, sizeof r, &e[k], false);
        effort_ci(ef, sizeof ef, &e[k], false);
        fprintf(f, "| %s | %zu | %zu | %s | %s | ", e[k].label, e[k].runs, e[k].solved, r, ef);
        if (e[k].effort > 0)
            fprintf(f, "%" PRIu64 " |\n", e[k].effort_at);
        else
            fputs("— |\n", f);
    }
    fprintf(f,
            "\nSuccess rates with %s 95%% intervals; Koza's effort with a 95%% percentile "
            "bootstrap interval (%" PRIu32 " resamples of the runs, seed %" PRIu64
            "; ∞: some resamples have no solved run).\n\n",
            n ? an_ci_name(e[0].ci) : "Wilson", reps, seed);
}

void an_md_medians(FILE *f, const an_exp *e, size_t n) {
    fputs("| experiment |", f);
    for (int m = 0; m < AN_NMETRIC; m++)
        fprintf(f, " %s |", an_metrics[m].name);
    fputs("\n|---|", f);
    for (int m = 0; m < AN_NMETRIC; m++)
        fputs("---|", f);
    fputc('\n', f);
    for (size_t k = 0; k < n; k++) {
        fprintf(f, "| %s |", e[k].label);
        for (int m = 0; m < AN_NMETRIC; m++) {
            char b[160];
            mediqr(b, sizeof b, &e[k], m, false);
            fprintf(f, " %s |", b);
        }
        fputc('\n', f);
    }
    fputs("\nMedian [first quartile, third quartile] over the runs of the last generation's best "
          "program (best by fitness); evaluations to success over the solved runs only "
          "(`summary.csv`).\n\n",
          f);
}

void an_md_compare(FILE *f, const an_exp *e, const an_cmp *c, size_t nc) {
    if (!nc) {
        fputs("One experiment: nothing to compare.\n\n", f);
        return;
    }
    fputs("| A | B | measure | value A | value B | test | statistic | p | p (Holm) | A12 |\n"
          "|---|---|---|---|---|---|---|---|---|---|\n",
          f);
    for (size_t i = 0; i < nc; i++) {
        const an_cmp *x = &c[i];
        char va[64], vb[64], st[128], p[64], ph[64], a[64];
        if (x->metric < 0) {
            snprintf(va, sizeof va, "%zu/%zu", e[x->a].solved, x->na);
            snprintf(vb, sizeof vb, "%zu/%zu", e[x->b].solved, x->nb);
        } else {
            num(va, sizeof va, x->va, false);
            num(vb, sizeof vb, x->vb, false);
        }
        stat_text(st, sizeof st, x, false);
        pval(p, sizeof p, x->p, false);
        pval(ph, sizeof ph, x->p_holm, false);
        a12_text(a, sizeof a, x);
        char test[64];
        if (x->metric < 0)
            snprintf(test, sizeof test, "%s", test_name(x));
        else
            snprintf(test, sizeof test, "%s (%s)", test_name(x), method_name(x));
        fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", e[x->a].label,
                e[x->b].label, x->metric < 0 ? "success" : an_metrics[x->metric].name, va, vb, test,
                st, p, ph, a);
    }
    size_t m = 0;
    for (size_t i = 0; i < nc; i++)
        m += c[i].tested;
    fprintf(f,
            "\nEach pair of experiments: success counts by Fisher's exact test (two-sided; "
            "statistic: the sample odds ratio); the other measures (medians shown) by the "
            "Mann-Whitney U test (two-sided; exact when a group has at most 8 values and none tie, "
            "else the normal approximation with tie and continuity corrections). p (Holm): "
            "Holm-Bonferroni over the %zu tests of this report. A12 (Vargha-Delaney) = P(A > B) + "
            "P(A = B)/2: above 0.5, A's values tend to be larger (for success: A solves more "
            "often; for error, gas, memory-time and evaluations larger is worse); magnitude "
            "by Vargha and Delaney's thresholds (`compare.csv`).\n\n",
            m);
}

/* ---- tables.tex ---- */

static void tex_caption_head(FILE *f, const char *label, const char *caption, const char *cols) {
    fprintf(f,
            "\\begin{table}[tbp]\n\\centering\n\\caption{%s}\n\\label{tab:frugal-%s}\n\\small\n"
            "\\begin{tabular}{%s}\n\\toprule\n",
            caption, label, cols);
}

static void tex_foot(FILE *f) {
    fputs("\\bottomrule\n\\end{tabular}\n\\end{table}\n\n", f);
}

int an_write_tex(const an_exp *e, size_t n, const an_cmp *c, size_t nc, uint32_t reps,
                 uint64_t seed, const char *dir, an_msgs *msg) {
    FILE *f = an_open_out(dir, "tables.tex", msg);
    if (!f) return -1;
    char lab[3][2 * AN_NAME * 20], b[4][256];
    fputs("% Written by frugal report (docs/report.md). Needs \\usepackage{booktabs};\n"
          "% \\input{tables.tex} gives three tables: success, medians and comparisons.\n\n",
          f);
    char cap[512];
    snprintf(cap, sizeof cap,
             "Success rate with its 95\\,\\%% %s interval, and Koza's computational effort $E$ "
             "with its 95\\,\\%% percentile bootstrap interval (%" PRIu32
             " resamples, seed %" PRIu64 ").",
             n ? an_ci_name(e[0].ci) : "Wilson", reps, seed);
    tex_caption_head(f, "success", cap, "lrrll");
    fputs("Experiment & Runs & Solved & Success rate & Effort $E$ \\\\\n\\midrule\n", f);
    for (size_t k = 0; k < n; k++) {
        an_tex_escape(e[k].label, lab[0], sizeof lab[0]);
        rate_ci(b[0], sizeof b[0], &e[k], true);
        effort_ci(b[1], sizeof b[1], &e[k], true);
        fprintf(f, "%s & %zu & %zu & %s & %s \\\\\n", lab[0], e[k].runs, e[k].solved, b[0], b[1]);
    }
    tex_foot(f);

    tex_caption_head(f, "medians",
                     "Median [first quartile, third quartile] over the runs: the final best "
                     "program's error, gas and memory-time, and the evaluations to success of "
                     "the solved runs.",
                     "lllll");
    fputs("Experiment", f);
    for (int m = 0; m < AN_NMETRIC; m++)
        fprintf(f, " & %s", an_metrics[m].tex);
    fputs(" \\\\\n\\midrule\n", f);
    for (size_t k = 0; k < n; k++) {
        an_tex_escape(e[k].label, lab[0], sizeof lab[0]);
        fputs(lab[0], f);
        for (int m = 0; m < AN_NMETRIC; m++) {
            mediqr(b[0], sizeof b[0], &e[k], m, true);
            fprintf(f, " & %s", b[0]);
        }
        fputs(" \\\\\n", f);
    }
    tex_foot(f);

    if (nc) {
        size_t m = 0;
        for (size_t i = 0; i < nc; i++)
            m += c[i].tested;
        snprintf(cap, sizeof cap,
                 "Pairwise comparisons: Fisher's exact test on the success counts (OR: sample "
                 "odds ratio), Mann-Whitney U on the other measures (two-sided); $p$ (Holm): "
                 "Holm-Bonferroni over the %zu tests; $\\hat{A}_{12}$: Vargha-Delaney effect "
                 "size, $P(A>B)+P(A=B)/2$.",
                 m);
        tex_caption_head(f, "compare", cap, "lllllll");
        fputs("Measure & A & B & Statistic & $p$ & $p$ (Holm) & $\\hat{A}_{12}$ \\\\\n"
              "\\midrule\n",
              f);
        for (size_t i = 0; i < nc; i++) {
            const an_cmp *x = &c[i];
            an_tex_escape(x->metric < 0 ? "Success" : an_metrics[x->metric].tex, lab[0],
                          sizeof lab[0]);
            an_tex_escape(e[x->a].label, lab[1], sizeof lab[1]);
            an_tex_escape(e[x->b].label, lab[2], sizeof lab[2]);
            stat_text(b[0], sizeof b[0], x, true);
            pval(b[1], sizeof b[1], x->p, true);
            pval(b[2], sizeof b[2], x->p_holm, true);
            if (x->tested)
                snprintf(b[3], sizeof b[3], "%.2f", x->a12);
            else
                snprintf(b[3], sizeof b[3], "--");
            fprintf(f, "%s & %s & %s & %s & %s & %s & %s \\\\\n", lab[0], lab[1], lab[2], b[0],
                    b[1], b[2], b[3]);
        }
        tex_foot(f);
    }
    return an_close_out(f, dir, "tables.tex", msg);
}
