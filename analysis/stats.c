/* Statistics for reports (docs/report.md, "Statistics"): binomial confidence
 * intervals, a bootstrap interval for Koza's effort, Fisher's exact test,
 * Mann-Whitney U, Vargha-Delaney A12 and Holm-Bonferroni. The quantiles and
 * the hypergeometric distribution come from GSL. */
#include "analysis/analysis.h"
#include "evolve/evolve.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* GSL's default error handler aborts; every call here checks its arguments
 * first and reads NAN results instead. */
static void gsl_quiet(void) {
    gsl_set_error_handler_off();
}

/* The z of a two-sided interval at level conf. */
static double z_of(double conf) {
    gsl_quiet();
    return gsl_cdf_ugaussian_Pinv(0.5 + 0.5 * conf);
}

static double clamp01(double x) {
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

void an_binom_ci(size_t k, size_t n, double conf, an_ci_method m, double *lo, double *hi) {
    *lo = 0;
    *hi = 1;
    if (!n || k > n || !(conf > 0 && conf < 1)) return;
    double nk = (double)n, kk = (double)k;
    if (m == AN_CI_CLOPPER_PEARSON) {
        double a = 1 - conf;
        gsl_quiet();
        *lo = k == 0 ? 0 : gsl_cdf_beta_Pinv(a / 2, kk, nk - kk + 1);
        *hi = k == n ? 1 : gsl_cdf_beta_Pinv(1 - a / 2, kk + 1, nk - kk);
    } else {
        /* Wilson's score interval, written as SciPy's binomtest does */
        double z = z_of(conf), p = kk / nk, q = 1 - p, den = 2 * (nk + z * z);
        double c = (2 * nk * p + z * z) / den, d = z / den * sqrt(4 * nk * p * q + z * z);
        /* exact at the ends, where the formula's rounding left 3e-17 */
        *lo = k == 0 ? 0 : c - d;
        *hi = k == n ? 1 : c + d;
    }
    *lo = clamp01(*lo);
    *hi = clamp01(*hi);
}

const char *an_ci_name(an_ci_method m) {
    return m == AN_CI_CLOPPER_PEARSON ? "Clopper-Pearson" : "Wilson";
}

/* ---- the bootstrap's random numbers ----
 * PCG32 streams (docs/rng.md). Every draw of this file goes through these
 * two functions, so that moving PCG32 to another module changes only them. */
typedef evo_rng boot_rng;
#define BOOT_STREAM 0x626f6f74u /* "boot" */
static void boot_seed(boot_rng *r, uint64_t seed) {
    evo_rng_stream(r, seed, BOOT_STREAM, 0, 0);
}
static uint32_t boot_below(boot_rng *r, uint32_t n) {
    return evo_rng_below(r, n);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile of sorted v (R type 7); an infinite neighbour gives
 * infinity rather than inf - inf. */
static double quantile_sorted(const double *v, size_t n, double q) {
    double h = q * (double)(n - 1);
    size_t i = (size_t)floor(h);
    if (i >= n - 1) return v[n - 1];
    if (isinf(v[i]) || isinf(v[i + 1])) return h == (double)i ? v[i] : v[i + 1];
    return v[i] + (h - (double)i) * (v[i + 1] - v[i]);
}

int an_effort_ci(const int64_t *solved_gen, size_t n, uint64_t gens, uint64_t m, double z,
                 double conf, uint32_t reps, uint64_t seed, double *lo, double *hi) {
    *lo = *hi = NAN;
    if (!n || !reps || n > UINT32_MAX || !(conf > 0 && conf < 1)) return -1;
    int64_t *s = malloc(n * sizeof *s);
    double *e = malloc(reps * sizeof *e);
    if (!s || !e) {
        free(s);
        free(e);
        return -1;
    }
    boot_rng r;
    boot_seed(&r, seed);
    for (uint32_t b = 0; b < reps; b++) {
        for (size_t i = 0; i < n; i++)
            s[i] = solved_gen[boot_below(&r, (uint32_t)n)];
        double x = an_effort(s, n, gens, m, z, NULL);
        e[b] = x > 0 ? x : INFINITY; /* no run solved: unbounded effort */
    }
    qsort(e, reps, sizeof *e, cmp_double);
    *lo = quantile_sorted(e, reps, (1 - conf) / 2);
    *hi = quantile_sorted(e, reps, (1 + conf) / 2);
    free(s);
    free(e);
    return 0;
}

double an_fisher_exact(uint64_t a, uint64_t b, uint64_t c, uint64_t d, double *odds) {
    if (odds) {
        double num = (double)a * (double)d, den = (double)b * (double)c;
        *odds = den > 0 ? num / den : num > 0 ? INFINITY : NAN;
    }
    uint64_t r1 = a + b, r2 = c + d, c1 = a + c;
    if (!r1 || !r2 || !c1 || !(b + d)) { /* an empty margin: nothing to test */
        if (odds) *odds = NAN;
        return 1;
    }
    if (r1 > UINT32_MAX || r2 > UINT32_MAX || c1 > UINT32_MAX) return NAN;
    gsl_quiet();
    /* the probability of every table with these margins that is at most as
     * likely as the observed one (relative tolerance 1e-7, as R's fisher.test) */
    double p0 = gsl_ran_hypergeometric_pdf((unsigned)a, (unsigned)r1, (unsigned)r2, (unsigned)c1);
    uint64_t kmin = c1 > r2 ? c1 - r2 : 0, kmax = c1 < r1 ? c1 : r1;
    double p = 0;
    for (uint64_t k = kmin; k <= kmax; k++) {
        double pk =
            gsl_ran_hypergeometric_pdf((unsigned)k, (unsigned)r1, (unsigned)r2, (unsigned)c1);
        if (pk <= p0 * (1 + 1e-7)) p += pk;
    }
    return clamp01(p);
}

/* Ranks (1-based, ties get their average) of the nx + ny values, and the
 * tie term sum(t^3 - t) over groups of t equal values. */
typedef struct {
    double v;
    size_t i;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    return x->v < y->v ? -1 : x->v > y->v ? 1 : x->i < y->i ? -1 : x->i > y->i;
}

/* P(U >= u) under H0 without ties, from the counts of U over the
 * (nx + ny choose nx) arrangements: the coefficients of the Gaussian
 * binomial [nx + ny, m]_q, m the smaller size, built one factor
 * (1 - q^(l+j)) / (1 - q^j) at a time (each partial product is a polynomial
 * with non-negative integer coefficients). */
static double mwu_exact_sf(double u, size_t nx, size_t ny) {
    size_t m = nx < ny ? nx : ny, l = nx < ny ? ny : nx, top = m * l;
    double *c = calloc(top + 1, sizeof *c);
    if (!c) return NAN;
    c[0] = 1;
    for (size_t j = 1; j <= m; j++) {
        /* the product's degree is j*l; terms above it cancel in the division */
        size_t deg = j * l, s = l + j;
        for (size_t k = deg + 1; k-- > s;) /* multiply by (1 - q^s) */
            c[k] -= c[k - s];
        for (size_t k = j; k <= deg; k++) /* divide by (1 - q^j) */
            c[k] += c[k - j];
    }
    double total = 0, tail = 0;
    for (size_t k = 0; k <= top; k++) {
        total += c[k];
        if ((double)k >= u) tail += c[k];
    }
    free(c);
    return tail / total;
}

int an_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, an_mwu *out) {
    memset(out, 0, sizeof *out);
    out->p = out->z = out->u = out->a12 = NAN;
    size_t n = nx + ny;
    if (!nx || !ny || n < nx) return -1;
    for (size_t i = 0; i < nx; i++)
        if (isnan(x[i])) return -1;
    for (size_t i = 0; i < ny; i++)
        if (isnan(y[i])) return -1;
    ranked *r = malloc(n * sizeof *r);
    if (!r) return -1;
    for (size_t i = 0; i < n; i++) {
        r[i].v = i < nx ? x[i] : y[i - nx];
        r[i].i = i;
    }
    qsort(r, n, sizeof *r, cmp_ranked);
    double rx = 0, ties = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && r[j + 1].v == r[i].v)
            j++;
        double t = (double)(j - i + 1), rank = (double)(i + j) / 2 + 1;
        ties += t * t * t - t;
        for (size_t k = i; k <= j; k++)
            if (r[k].i < nx) rx += rank;
        i = j + 1;
    }
    free(r);
    double fx = (double)nx, fy = (double)ny, fn = (double)n;
    out->u = rx - fx * (fx + 1) / 2;
    out->a12 = out->u / (fx * fy);
    out->ties = ties > 0;
    double umax = fmax(out->u, fx * fy - out->u);
    /* SciPy's rule ('auto'): exact when a group has at most 8 values and no
     * two values tie; otherwise normal with tie and continuity corrections */
    out->exact = (nx <= 8 || ny <= 8) && !out->ties;
    if (out->exact) {
        out->p = 2 * mwu_exact_sf(umax, nx, ny);
    } else {
        double s = sqrt(fx * fy / 12 * ((fn + 1) - ties / (fn * (fn - 1))));
        if (s > 0) {
            out->z = (umax - fx * fy / 2 - 0.5) / s;
            gsl_quiet();
            out->p = 2 * gsl_cdf_ugaussian_Q(out->z);
        } else {
            out->p = 1; /* every value the same */
        }
    }
    if (isnan(out->p)) return -1;
    out->p = clamp01(out->p);
    return 0;
}

const char *an_a12_magnitude(double a12) {
    double d = fabs(a12 - 0.5);
    return d >= 0.21 ? "large" : d >= 0.14 ? "medium" : d >= 0.06 ? "small" : "negligible";
}

int an_holm(const double *p, size_t n, double *adj) {
    size_t *idx = malloc((n ? n : 1) * sizeof *idx), m = 0;
    if (!idx) return -1;
    for (size_t i = 0; i < n; i++) {
        adj[i] = NAN;
        if (!isnan(p[i])) idx[m++] = i;
    }
    for (size_t i = 1; i < m; i++) { /* insertion sort by p: stable */
        size_t t = idx[i], j = i;
        for (; j > 0 && p[idx[j - 1]] > p[t]; j--)
            idx[j] = idx[j - 1];
        idx[j] = t;
    }
    double run = 0;
    for (size_t j = 0; j < m; j++) {
        double v = (double)(m - j) * p[idx[j]];
        if (v > run) run = v;
        adj[idx[j]] = run < 1 ? run : 1;
    }
    free(idx);
    return 0;
}
