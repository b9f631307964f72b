/* frugal report (analysis/, experiments/cmd_report.c): figures are valid PNG
 * and SVG, the CSV numbers equal the HDF5 file's, batch medians over three
 * seeds, lineage, and a PATH without gnuplot.
 *
 * Runs are made with $FRUGAL run (tiny populations); the report runs in
 * process through exp_cmd_report. Expected values are read from the HDF5
 * files here with the HDF5 C API, independently of analysis/. */
#define _GNU_SOURCE /* nftw */
#include "analysis/analysis.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hdf5.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int exp_cmd_report(int argc, char **argv);

static char dir[64];
static const char *frugal;

static void setup(void) {
    frugal = getenv("FRUGAL");
    cr_assert(frugal, "FRUGAL must name the frugal binary (make test sets it)");
    tu_tmpdir(dir, sizeof dir, "frugal-report");
}

static void teardown(void) {
    tu_rmtree(dir);
}

TestSuite(report, .init = setup, .fini = teardown);

/* A tiny quartic run: dir/sub/seed-S.h5. */
static void make_run(const char *sub, unsigned seed, bool per_case) {
    char out[256], seeds[16];
    snprintf(out, sizeof out, "%s/%s/seed-%u.h5", dir, sub, seed);
    snprintf(seeds, sizeof seeds, "%u", seed);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) dup2(fd, 1);
        execl(frugal, frugal, "run", "experiments/quartic.json", "--set", "population.size=40",
              "--generations", "6", "--seed", seeds, "--out", out, "--quiet", "--set",
              per_case ? "output.per_case=true" : "output.per_case=false", (char *)NULL);
        _exit(127);
    }
    int st;
    cr_assert(waitpid(pid, &st, 0) == pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "frugal run failed for %s", out);
}

/* exp_cmd_report with args, stdout and stderr to dir/tag.out and .err. */
static int report(const char *tag, const char *const *args) {
    char *argv[32];
    int n = 0;
    argv[n++] = "report";
    for (; args[n - 1] && n < 31; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    char out[256], err[256];
    snprintf(out, sizeof out, "%s/%s.out", dir, tag);
    snprintf(err, sizeof err, "%s/%s.err", dir, tag);
    fflush(NULL);
    int so = dup(1), se = dup(2);
    int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(so >= 0 && se >= 0 && fo >= 0 && fe >= 0);
    dup2(fo, 1);
    dup2(fe, 2);
    int rc = exp_cmd_report(n, argv);
    fflush(NULL);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    close(fo);
    close(fe);
    return rc;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert(s);
    cr_assert(fread(s, 1, (size_t)n, f) == (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

/* ---- reading the HDF5 file here, independently of analysis/ ---- */

typedef struct {
    uint32_t best_island, best_slot;
    double best_error, median_error;
    uint64_t best_gas, best_memtime;
} stat_row;

static size_t read_stats(const char *path, stat_row *rows, size_t cap) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0, "cannot open %s", path);
    hid_t d = H5Dopen2(f, "stats", H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(sp, &n, NULL);
    cr_assert(n <= cap);
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(stat_row));
    H5Tinsert(t, "best_island", HOFFSET(stat_row, best_island), H5T_NATIVE_UINT32);
    H5Tinsert(t, "best_slot", HOFFSET(stat_row, best_slot), H5T_NATIVE_UINT32);
    H5Tinsert(t, "best_error", HOFFSET(stat_row, best_error), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "median_error", HOFFSET(stat_row, median_error), H5T_NATIVE_DOUBLE);
    H5Tinsert(t, "best_gas", HOFFSET(stat_row, best_gas), H5T_NATIVE_UINT64);
    H5Tinsert(t, "best_memtime", HOFFSET(stat_row, best_memtime), H5T_NATIVE_UINT64);
    cr_assert(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0);
    H5Tclose(t);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
    return (size_t)n;
}

static void read_u32(const char *path, const char *name, uint32_t *out, size_t cap) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(sp, &n, NULL);
    cr_assert(n <= cap);
    cr_assert(H5Dread(d, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
}

/* The CSV's data rows, each split at commas: fields[row][col] as doubles. */
static size_t read_csv(const char *path, double (*v)[16], size_t cap) {
    char *s = slurp(path);
    size_t n = 0;
    char *line = strchr(s, '\n'); /* skip the header */
    cr_assert(line, "%s has no header", path);
    for (line++; *line && n < cap;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (*line) {
            char *p = line;
            for (int c = 0; c < 16 && p; c++) {
                v[n][c] = strtod(p, NULL);
                p = strchr(p, ',');
                if (p) p++;
            }
            n++;
        }
        if (!nl) break;
        line = nl + 1;
    }
    free(s);
    return n;
}

/* ---- image checks ---- */

static void check_png(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    unsigned char h[24];
    cr_assert_eq(fread(h, 1, 24, f), 24);
    fclose(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    cr_assert(!memcmp(h, sig, 8), "%s: not a PNG", path);
    cr_assert(!memcmp(h + 12, "IHDR", 4), "%s: no IHDR first", path);
    uint32_t w = (uint32_t)h[16] << 24 | h[17] << 16 | h[18] << 8 | h[19];
    uint32_t ht = (uint32_t)h[20] << 24 | h[21] << 16 | h[22] << 8 | h[23];
    cr_assert_eq(w, 900, "%s: width %u", path, w);
    cr_assert_eq(ht, 640, "%s: height %u", path, ht);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_file(&img, path), "%s: %s", path, img.message);
    img.format = PNG_FORMAT_RGBA;
    png_bytep buf = malloc(PNG_IMAGE_SIZE(img));
    cr_assert(buf);
    cr_assert(png_image_finish_read(&img, NULL, buf, 0, NULL), "%s: %s", path, img.message);
    /* non-empty: several colours, and many pixels that are not the background */
    uint32_t *px = (uint32_t *)(void *)buf, bg = px[0];
    size_t npx = (size_t)img.width * img.height, other = 0, colours = 0;
    uint32_t seen[8] = {0};
    for (size_t i = 0; i < npx; i++) {
        if (px[i] != bg) other++;
        bool known = false;
        for (size_t k = 0; k < colours; k++)
            known |= seen[k] == px[i];
        if (!known && colours < 8) seen[colours++] = px[i];
    }
    cr_assert_gt(colours, 2, "%s: %zu colours", path, colours);
    cr_assert_gt(other, 2000, "%s: only %zu pixels drawn", path, other);
    free(buf);
}

/* A small well-formedness check: every tag closes in order; comments,
 * processing instructions, DOCTYPE and CDATA are skipped. */
static void check_svg(const char *path) {
    char *s = slurp(path);
    cr_assert(strstr(s, "<svg"), "%s: no <svg", path);
    cr_assert(strstr(s, "<path"), "%s: no <path", path);
    char stack[64][64];
    int depth = 0, elements = 0;
    for (char *p = s; (p = strchr(p, '<'));) {
        if (!strncmp(p, "<!--", 4)) {
            char *e = strstr(p, "-->");
            cr_assert(e, "%s: unclosed comment", path);
            p = e + 3;
        } else if (!strncmp(p, "<![CDATA[", 9)) {
            char *e = strstr(p, "]]>");
            cr_assert(e, "%s: unclosed CDATA", path);
            p = e + 3;
        } else if (p[1] == '?' || p[1] == '!') {
            char *e = strchr(p, '>');
            cr_assert(e);
            p = e + 1;
        } else {
            bool closing = p[1] == '/';
            char *name = p + 1 + closing;
            size_t len = strcspn(name, " \t\r\n/>");
            cr_assert(len > 0 && len < 64, "%s: bad tag", path);
            /* find the tag's end outside quoted attribute values */
            char *e = name + len, q = 0;
            for (; *e && (q || *e != '>'); e++)
                if (q && *e == q)
                    q = 0;
                else if (!q && (*e == '"' || *e == '\''))
                    q = *e;
            cr_assert(*e == '>', "%s: unterminated tag", path);
            if (closing) {
                cr_assert(depth > 0, "%s: stray </%.*s>", path, (int)len, name);
                depth--;
                cr_assert(strlen(stack[depth]) == len && !strncmp(stack[depth], name, len),
                          "%s: </%.*s> closes <%s>", path, (int)len, name, stack[depth]);
            } else {
                elements++;
                if (e[-1] != '/') {
                    cr_assert(depth < 64);
                    memcpy(stack[depth], name, len);
                    stack[depth++][len] = 0;
                }
            }
            p = e + 1;
        }
    }
    cr_assert_eq(depth, 0, "%s: %d unclosed elements", path, depth);
    cr_assert_gt(elements, 20, "%s: only %d elements", path, elements);
    free(s);
}

/* Check every file of dir ending in ext; returns how many. */
static int check_images(const char *d, const char *ext) {
    DIR *dp = opendir(d);
    cr_assert(dp, "cannot open %s", d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(dp))) {
        size_t l = strlen(e->d_name), el = strlen(ext);
        if (l <= el || strcmp(e->d_name + l - el, ext)) continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", d, e->d_name);
        if (!strcmp(ext, ".png"))
            check_png(p);
        else
            check_svg(p);
        n++;
    }
    closedir(dp);
    return n;
}

static bool have_gnuplot(void) {
    return system("gnuplot --version >/dev/null 2>&1") == 0;
}

/* ---- tests ---- */

Test(report, renders_valid_png_and_svg) {
    if (!have_gnuplot()) cr_skip_test("gnuplot is not installed");
    make_run("a", 1, true);
    char in[128], out[128];
    snprintf(in, sizeof in, "%s/a", dir);
    snprintf(out, sizeof out, "%s/png", dir);
    cr_assert_eq(report("png", (const char *[]){in, "--out", out, "--quiet", NULL}), 0);
    /* convergence, front, resources, memtime-error, front-history-quartic */
    cr_assert_eq(check_images(out, ".png"), 5);
    char p[256];
    snprintf(p, sizeof p, "%s/report.md", out);
    char *md = slurp(p);
    cr_assert(strstr(md, "![convergence](convergence.png)"));
    cr_assert(strstr(md, "Per-case errors: "), "per-case errors were stored");
    free(md);
    snprintf(out, sizeof out, "%s/svg", dir);
    cr_assert_eq(
        report("svg", (const char *[]){in, "--out", out, "--format", "svg", "--quiet", NULL}), 0);
    cr_assert_eq(check_images(out, ".svg"), 5);
    snprintf(p, sizeof p, "%s/convergence.gp", out);
    char *gp = slurp(p);
    cr_assert(strstr(gp, "set terminal svg"), "the script is kept next to the image");
    free(gp);
}

Test(report, csv_equals_hdf5) {
    make_run("one", 2, false);
    char in[128], out[128], p[256];
    snprintf(in, sizeof in, "%s/one/seed-2.h5", dir);
    snprintf(out, sizeof out, "%s/rep", dir);
    int rc = report("one", (const char *[]){in, "--out", out, "--quiet", NULL});
    cr_assert(rc == 0, "exit %d", rc);
    static stat_row st[64];
    size_t n = read_stats(in, st, 64);
    cr_assert_eq(n, 7);
    static double v[64][16];
    snprintf(p, sizeof p, "%s/convergence-quartic.csv", out);
    cr_assert_eq(read_csv(p, v, 64), n);
    for (size_t g = 0; g < n; g++) {
        cr_assert_eq(v[g][0], (double)g);
        cr_assert_eq(v[g][1], 1);                /* runs */
        cr_assert_eq(v[g][2], st[g].best_error); /* exact: written with %.17g */
        cr_assert_eq(v[g][3], st[g].best_error);
        cr_assert_eq(v[g][5], st[g].median_error);
        cr_assert_eq(v[g][8], (double)st[g].best_gas);
        cr_assert_eq(v[g][9], (double)st[g].best_memtime);
    }
    snprintf(p, sizeof p, "%s/runs.csv", out);
    char *runs = slurp(p);
    char want[512];
    snprintf(want, sizeof want, "quartic,quartic,2,%s,7,generations,", in);
    cr_assert(strstr(runs, want), "runs.csv:\n%s", runs);
    free(runs);
}

Test(report, batch_medians_over_three_seeds) {
    for (unsigned s = 1; s <= 3; s++)
        make_run("batch", s, false);
    char in[128], out[128], p[256];
    snprintf(in, sizeof in, "%s/batch", dir);
    snprintf(out, sizeof out, "%s/rep", dir);
    int rc = report("batch", (const char *[]){in, "--out", out, "--quiet", NULL});
    cr_assert(rc == 0, "exit %d", rc);
    static stat_row st[3][64];
    for (int s = 0; s < 3; s++) {
        snprintf(p, sizeof p, "%s/batch/seed-%d.h5", dir, s + 1);
        cr_assert_eq(read_stats(p, st[s], 64), 7);
    }
    static double v[64][16];
    snprintf(p, sizeof p, "%s/convergence-quartic.csv", out);
    cr_assert_eq(read_csv(p, v, 64), 7);
    for (int g = 0; g < 7; g++) {
        double e[3] = {st[0][g].best_error, st[1][g].best_error, st[2][g].best_error};
        /* sort three */
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2 - i; j++)
                if (e[j] > e[j + 1]) {
                    double t = e[j];
                    e[j] = e[j + 1];
                    e[j + 1] = t;
                }
        cr_assert_eq(v[g][1], 3);
        cr_assert_eq(v[g][2], e[1], "generation %d: median %g, want %g", g, v[g][2], e[1]);
        /* quartiles by linear interpolation: halfway between order statistics */
        cr_assert_float_eq(v[g][3], (e[0] + e[1]) / 2, 1e-9 * (1 + e[1]));
        cr_assert_float_eq(v[g][4], (e[1] + e[2]) / 2, 1e-9 * (1 + e[2]));
        double m[3] = {st[0][g].median_error, st[1][g].median_error, st[2][g].median_error};
        double lo = m[0] < m[1] ? m[0] : m[1], hi = m[0] < m[1] ? m[1] : m[0];
        double med = m[2] < lo ? lo : m[2] > hi ? hi : m[2];
        cr_assert_eq(v[g][5], med);
    }
    snprintf(p, sizeof p, "%s/success.csv", out);
    char *s = slurp(p);
    cr_assert(strstr(s, "quartic,quartic,3,"), "success.csv:\n%s", s);
    free(s);
    snprintf(p, sizeof p, "%s/report.md", out);
    s = slurp(p);
    cr_assert(strstr(s, "seeds 1-3"), "the seeds are named");
    free(s);
}

Test(report, lineage_of_the_best) {
    make_run("lin", 3, false);
    char in[128];
    snprintf(in, sizeof in, "%s/lin/seed-3.h5", dir);
    cr_assert_eq(report("lin", (const char *[]){in, "--lineage", "best", NULL}), 0);
    static stat_row st[64];
    size_t n = read_stats(in, st, 64);
    static uint32_t pa[64 * 40], ops[64 * 40];
    read_u32(in, "pop/parent_a", pa, 64 * 40);
    read_u32(in, "pop/ops", ops, 64 * 40);
    char p[256];
    snprintf(p, sizeof p, "%s/lin.out", dir);
    char *out = slurp(p), *at = out;
    /* follow parent_a back from the best of the last generation (one island) */
    uint32_t slot = st[n - 1].best_slot;
    int steps = 0;
    for (size_t g = n; g-- > 0;) {
        char id[64];
        snprintf(id, sizeof id, "\n%zu:0:%u  error ", g, slot);
        char *hit = strstr(at, id);
        cr_assert(hit, "lineage lacks %s after offset %td:\n%s", id + 1, at - out, out);
        at = hit + 1;
        steps++;
        uint32_t a = pa[g * 40 + slot];
        if (a == UINT32_MAX) break;
        slot = a;
    }
    char want[64];
    snprintf(want, sizeof want, "%d ancestors", steps - 1);
    cr_assert(strstr(out, want), "want '%s' in:\n%s", want, out);
    free(out);
    /* a bad id is a usage error */
    cr_assert_eq(report("bad", (const char *[]){in, "--lineage", "x:y", NULL}), 2);
    cr_assert_eq(report("far", (const char *[]){in, "--lineage", "99:0:0", NULL}), 3);
}

Test(report, without_gnuplot) {
    make_run("ng", 1, false);
    char in[128], out[128], p[256];
    snprintf(in, sizeof in, "%s/ng", dir);
    snprintf(out, sizeof out, "%s/rep", dir);
    setenv("PATH", "/nonexistent", 1);
    int rc = report("ng", (const char *[]){in, "--out", out, NULL});
    cr_assert_eq(rc, 0);
    snprintf(p, sizeof p, "%s/ng.err", dir);
    char *err = slurp(p);
    cr_assert(strstr(err, "gnuplot not found"), "stderr:\n%s", err);
    cr_assert(strstr(err, "apt-get install gnuplot-nox"), "stderr:\n%s", err);
    free(err);
    const char *files[] = {
        "runs.csv",          "success.csv",    "best.csv", "convergence-quartic.csv",
        "front-quartic.csv", "convergence.gp", "report.md"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(p, sizeof p, "%s/%s", out, files[i]);
        cr_assert(access(p, R_OK) == 0, "%s missing", p);
    }
    snprintf(p, sizeof p, "%s/convergence.png", out);
    cr_assert(access(p, F_OK) != 0, "no figure without gnuplot");
}

Test(report, effort_and_quantiles) {
    /* runs solved at generations 0, 2 and never; M = 100 */
    int64_t sg[3] = {0, 2, -1};
    uint64_t at = 99;
    /* i=0: P=1/3, R=ceil(ln .01/ln(2/3))=12, E=1200; i=2: P=2/3, R=5, E=1500 */
    cr_assert_eq(an_effort(sg, 3, 5, 100, 0.99, &at), 1200);
    cr_assert_eq(at, 0);
    int64_t all[2] = {3, 3}; /* P=1 from generation 3: R=1, E = 100*4 */
    cr_assert_eq(an_effort(all, 2, 5, 100, 0.99, &at), 400);
    cr_assert_eq(at, 3);
    int64_t none[2] = {-1, -1};
    cr_assert_eq(an_effort(none, 2, 5, 100, 0.99, &at), 0);
    double v[4] = {4, 1, 3, 2};
    cr_assert_eq(an_quantile(v, 4, 0.5), 2.5);
    cr_assert_eq(an_quantile(v, 4, 0.25), 1.75);
    cr_assert_eq(an_quantile(v, 4, 1), 4);
}
