/* The report statistics (analysis/stats.c): known answers from SciPy (Debian's
 * python3-scipy, through tests/stats_oracle.py) on many random samples with
 * ties, pinned values, and properties: p-values in [0, 1], A12 mirrors when
 * the groups swap, Holm never lowers a p-value, the effort bootstrap is
 * reproducible. */
#include "analysis/analysis.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PY "/usr/bin/python3"

/* |got - want| within an absolute and a relative tolerance; infinities and
 * NANs must match exactly. */
static bool close_to(double got, double want, double rel) {
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    return fabs(got - want) <= 1e-13 + rel * fabs(want);
}

/* ---- pinned answers (computed once with SciPy 1.10) ---- */

Test(stats, known_answers) {
    double lo, hi;
    an_binom_ci(13, 30, 0.95, AN_CI_WILSON, &lo, &hi);
    cr_assert(close_to(lo, 0.27377485576466526, 1e-12) && close_to(hi, 0.6080269299918639, 1e-12),
              "wilson 13/30: [%.17g, %.17g]", lo, hi);
    an_binom_ci(13, 30, 0.95, AN_CI_CLOPPER_PEARSON, &lo, &hi);
    cr_assert(close_to(lo, 0.2546075499032607, 1e-9) && close_to(hi, 0.62572654939078, 1e-9),
              "clopper-pearson 13/30: [%.17g, %.17g]", lo, hi);
    an_binom_ci(0, 10, 0.95, AN_CI_CLOPPER_PEARSON, &lo, &hi);
    cr_assert(lo == 0 && close_to(hi, 0.3084971078187608, 1e-9), "0/10: [%g, %g]", lo, hi);
    an_binom_ci(0, 0, 0.95, AN_CI_WILSON, &lo, &hi);
    cr_assert(lo == 0 && hi == 1);
    /* no successes: the interval starts at 0 exactly (bench science's CSV
     * printed 2.77556e-17); all successes: it ends at 1 (z^2 / (n + z^2)
     * and its complement are the other ends) */
    an_binom_ci(0, 10, 0.95, AN_CI_WILSON, &lo, &hi);
    cr_assert(lo == 0 && close_to(hi, 0.2775327998628892, 1e-12), "wilson 0/10: [%.17g, %.17g]", lo,
              hi);
    an_binom_ci(10, 10, 0.95, AN_CI_WILSON, &lo, &hi);
    cr_assert(hi == 1 && close_to(lo, 0.7224672001371109, 1e-12), "wilson 10/10: [%.17g, %.17g]",
              lo, hi);
    /* SciPy's documentation example: whales and sharks */
    double odds;
    cr_assert(close_to(an_fisher_exact(8, 2, 1, 5, &odds), 0.034965034965034975, 1e-12));
    cr_assert_eq(odds, 20);
    cr_assert_eq(an_fisher_exact(0, 0, 3, 4, &odds), 1);
    cr_assert(isnan(odds));
    an_mwu m;
    double x[3] = {1, 2, 3}, y[4] = {4, 5, 6, 7};
    cr_assert_eq(an_mann_whitney(x, 3, y, 4, &m), 0);
    cr_assert(m.exact && m.u == 0 && m.a12 == 0);
    cr_assert(close_to(m.p, 0.05714285714285714, 1e-12), "p %.17g", m.p); /* 2/35 */
    double all[3] = {2, 2, 2};
    cr_assert_eq(an_mann_whitney(all, 3, all, 3, &m), 0);
    cr_assert(!m.exact && m.ties && m.p == 1 && m.a12 == 0.5);
    cr_assert_eq(an_mann_whitney(x, 0, y, 4, &m), -1);
    double bad[2] = {1, NAN};
    cr_assert_eq(an_mann_whitney(bad, 2, y, 4, &m), -1);
    double p[4] = {0.01, 0.04, 0.03, 0.005}, adj[4];
    cr_assert_eq(an_holm(p, 4, adj), 0);
    cr_assert(close_to(adj[0], 0.03, 1e-15) && close_to(adj[1], 0.06, 1e-15) &&
              close_to(adj[2], 0.06, 1e-15) && close_to(adj[3], 0.02, 1e-15));
    double q[3] = {0.5, NAN, 0.2};
    cr_assert_eq(an_holm(q, 3, adj), 0);
    cr_assert(close_to(adj[0], 0.5, 1e-15) && isnan(adj[1]) && close_to(adj[2], 0.4, 1e-15));
    cr_assert_str_eq(an_a12_magnitude(0.5), "negligible");
    cr_assert_str_eq(an_a12_magnitude(0.36), "medium");
    cr_assert_str_eq(an_a12_magnitude(0.8), "large");
}

/* ---- SciPy as the oracle ---- */

/* A sample: small integers (many ties), or doubles from random bits. */
static size_t sample(uint64_t *s, double *v, size_t cap, bool ties) {
    size_t n = 1 + tu_below(s, (uint32_t)cap);
    uint32_t range = 1 + tu_below(s, 12);
    for (size_t i = 0; i < n; i++)
        v[i] = ties ? (double)tu_below(s, range) - 3
                    : (double)(int64_t)(tu_next(s) >> 11) / 9007199254740992.0 * 100 - 50;
    return n;
}

typedef struct {
    char op;
    size_t nx, ny;
    double x[64], y[64];
    uint64_t t[4];
} question;

#define NQ 1200

Test(stats, agrees_with_scipy, .timeout = 120) {
    if (access(PY, X_OK) != 0) cr_assert_fail("no %s: run scripts/deps.sh (python3-scipy)", PY);
    if (system(PY " -c 'import scipy' 2>/dev/null") != 0)
        cr_assert_fail("%s", "Debian's python3-scipy is missing: run scripts/deps.sh");
    char dir[64], in[128], out[128], cmd[512];
    tu_tmpdir(dir, sizeof dir, "frugal-stats");
    snprintf(in, sizeof in, "%s/q.txt", dir);
    snprintf(out, sizeof out, "%s/a.txt", dir);
    static question qs[NQ];
    uint64_t s = 20;
    FILE *f = fopen(in, "w");
    cr_assert(f);
    for (int i = 0; i < NQ; i++) {
        question *q = &qs[i];
        switch (i % 5) {
        case 0: /* Wilson and Clopper-Pearson */
        case 1:
            q->op = i % 5 == 0 ? 'w' : 'c';
            q->t[1] = 1 + tu_below(&s, i % 3 ? 40 : 400);
            q->t[0] = tu_below(&s, (uint32_t)q->t[1] + 1);
            fprintf(f, "%s %llu %llu\n", q->op == 'w' ? "wilson" : "cp",
                    (unsigned long long)q->t[0], (unsigned long long)q->t[1]);
            break;
        case 2: /* Fisher */
            q->op = 'f';
            for (int k = 0; k < 4; k++)
                q->t[k] = tu_below(&s, i % 4 ? 31 : 120);
            fprintf(f, "fisher %llu %llu %llu %llu\n", (unsigned long long)q->t[0],
                    (unsigned long long)q->t[1], (unsigned long long)q->t[2],
                    (unsigned long long)q->t[3]);
            break;
        case 3: /* Mann-Whitney: ties, or small samples without ties (exact) */
        {
            q->op = 'm';
            bool ties = tu_below(&s, 3) != 0;
            size_t cap = ties ? 40 : tu_below(&s, 2) ? 8 : 60;
            q->nx = sample(&s, q->x, cap, ties);
            q->ny = sample(&s, q->y, ties ? 40 : 60, ties);
            fprintf(f, "mwu %zu", q->nx);
            for (size_t k = 0; k < q->nx; k++)
                fprintf(f, " %.17g", q->x[k]);
            fprintf(f, " %zu", q->ny);
            for (size_t k = 0; k < q->ny; k++)
                fprintf(f, " %.17g", q->y[k]);
            fputc('\n', f);
            break;
        }
        default: /* Holm, with repeated p-values */
            q->op = 'h';
            q->nx = 1 + tu_below(&s, 20);
            for (size_t k = 0; k < q->nx; k++)
                q->x[k] = k && tu_below(&s, 4) == 0
                              ? q->x[k - 1]
                              : (double)tu_below(&s, 1000001) / 1e6 * (tu_below(&s, 2) ? 1 : 0.01);
            fputs("holm", f);
            for (size_t k = 0; k < q->nx; k++)
                fprintf(f, " %.17g", q->x[k]);
            fputc('\n', f);
        }
    }
    cr_assert_eq(fclose(f), 0);
    snprintf(cmd, sizeof cmd, PY " tests/stats_oracle.py < %s > %s", in, out);
    cr_assert_eq(system(cmd), 0, "tests/stats_oracle.py failed");
    f = fopen(out, "r");
    cr_assert(f);
    static char line[1 << 16];
    int exact = 0, approx = 0, tied = 0;
    for (int i = 0; i < NQ; i++) {
        question *q = &qs[i];
        cr_assert(fgets(line, sizeof line, f), "answer %d missing", i);
        double a[64];
        int na = 0;
        for (char *p = line, *e; na < 64; p = e) {
            a[na] = strtod(p, &e);
            if (e == p) break;
            na++;
        }
        if (q->op == 'w' || q->op == 'c') {
            double lo, hi;
            an_binom_ci(q->t[0], q->t[1], 0.95, q->op == 'w' ? AN_CI_WILSON : AN_CI_CLOPPER_PEARSON,
                        &lo, &hi);
            double rel = q->op == 'w' ? 1e-12 : 1e-8; /* SciPy finds CP's ends by root finding */
            cr_assert(close_to(lo, a[0], rel) && close_to(hi, a[1], rel),
                      "%c %llu/%llu: [%.17g, %.17g], SciPy [%.17g, %.17g]", q->op,
                      (unsigned long long)q->t[0], (unsigned long long)q->t[1], lo, hi, a[0], a[1]);
        } else if (q->op == 'f') {
            double odds, p = an_fisher_exact(q->t[0], q->t[1], q->t[2], q->t[3], &odds);
            cr_assert(p >= 0 && p <= 1);
            cr_assert(close_to(p, a[1], 1e-9) && close_to(odds, a[0], 1e-14),
                      "fisher %llu %llu %llu %llu: p %.17g odds %g, SciPy p %.17g odds %g",
                      (unsigned long long)q->t[0], (unsigned long long)q->t[1],
                      (unsigned long long)q->t[2], (unsigned long long)q->t[3], p, odds, a[1],
                      a[0]);
        } else if (q->op == 'm') {
            an_mwu m, r;
            cr_assert_eq(an_mann_whitney(q->x, q->nx, q->y, q->ny, &m), 0);
            cr_assert_eq(an_mann_whitney(q->y, q->ny, q->x, q->nx, &r), 0);
            cr_assert(m.p >= 0 && m.p <= 1);
            cr_assert_eq(m.u, a[0], "question %d: U %g, SciPy %g", i, m.u, a[0]);
            cr_assert(close_to(m.p, a[1], 1e-9),
                      "question %d (%zu vs %zu, %s): p %.17g, SciPy %.17g", i, q->nx, q->ny,
                      m.exact ? "exact" : "normal", m.p, a[1]);
            cr_assert_eq(m.exact, a[2] != 0, "question %d: the method differs from SciPy's", i);
            cr_assert(close_to(m.a12, a[3], 1e-14), "A12 %.17g, pairs %.17g", m.a12, a[3]);
            /* swapping the groups mirrors A12 and keeps p */
            cr_assert(close_to(r.a12, 1 - m.a12, 1e-14), "A12 %g and swapped %g", m.a12, r.a12);
            cr_assert(close_to(r.p, m.p, 1e-12));
            exact += m.exact;
            approx += !m.exact;
            tied += m.ties;
        } else {
            double adj[64];
            cr_assert_eq(an_holm(q->x, q->nx, adj), 0);
            cr_assert_eq((size_t)na, q->nx);
            for (size_t k = 0; k < q->nx; k++) {
                cr_assert(close_to(adj[k], a[k], 1e-14), "holm %zu: %.17g, want %.17g", k, adj[k],
                          a[k]);
                cr_assert(adj[k] >= q->x[k] && adj[k] <= 1);
            }
        }
    }
    fclose(f);
    tu_rmtree(dir);
    /* the questions reach both methods, and ties */
    cr_assert_gt(exact, 30);
    cr_assert_gt(approx, 100);
    cr_assert_gt(tied, 100);
}

Test(stats, effort_bootstrap_is_reproducible) {
    int64_t sg[30];
    uint64_t s = 7;
    for (int i = 0; i < 30; i++)
        sg[i] = tu_below(&s, 3) ? -1 : (int64_t)tu_below(&s, 50);
    uint64_t at;
    double e = an_effort(sg, 30, 51, 500, 0.99, &at), lo, hi, lo2, hi2;
    cr_assert_gt(e, 0);
    cr_assert_eq(an_effort_ci(sg, 30, 51, 500, 0.99, 0.95, 2000, 1, &lo, &hi), 0);
    cr_assert_eq(an_effort_ci(sg, 30, 51, 500, 0.99, 0.95, 2000, 1, &lo2, &hi2), 0);
    cr_assert(lo == lo2 && hi == hi2, "the same seed gives the same interval");
    cr_assert(lo <= e && e <= hi, "[%g, %g] around %g", lo, hi, e);
    cr_assert_eq(an_effort_ci(sg, 30, 51, 500, 0.99, 0.95, 2000, 2, &lo2, &hi2), 0);
    cr_assert(lo != lo2 || hi != hi2, "another seed, another resampling");
    /* every run solved at generation 4: every resample gives the same effort */
    int64_t same[5] = {4, 4, 4, 4, 4};
    cr_assert_eq(an_effort_ci(same, 5, 10, 100, 0.99, 0.95, 100, 1, &lo, &hi), 0);
    cr_assert(lo == 500 && hi == 500);
    /* one solved run in 30: many resamples have none, so the top is infinite */
    int64_t one[30];
    for (int i = 0; i < 30; i++)
        one[i] = i ? -1 : 10;
    cr_assert_eq(an_effort_ci(one, 30, 51, 500, 0.99, 0.95, 1000, 1, &lo, &hi), 0);
    cr_assert(isinf(hi) && lo > 0);
    cr_assert_eq(an_effort_ci(one, 0, 51, 500, 0.99, 0.95, 1000, 1, &lo, &hi), -1);
}
