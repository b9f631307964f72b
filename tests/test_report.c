/* frugal report (analysis/, experiments/cmd_report.c): figures are valid PNG,
 * PDF and SVG, the CSV numbers equal the HDF5 file's, batch medians over three
 * seeds, lineage, a PATH without gnuplot, the comparisons against SciPy
 * (tests/stats_oracle.py), tables.tex's structure, and fronts without
 * faulted or penalised programs.
 *
 * Runs are made with $FRUGAL run (tiny populations); the report runs in
 * process through exp_cmd_report. Expected values are read from the HDF5
 * files here with the HDF5 C API, independently of analysis/. */
#define _GNU_SOURCE /* nftw */
#include "analysis/an_impl.h"
#include "analysis/analysis.h"
#include "fitness/fitness.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hdf5.h>
#include <math.h>
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

/* A tiny quartic run: dir/sub/seed-S.h5, with one more --set (or NULL). */
static void make_run_set(const char *sub, unsigned seed, bool per_case, const char *set) {
    char out[256], seeds[16];
    snprintf(out, sizeof out, "%s/%s/seed-%u.h5", dir, sub, seed);
    snprintf(seeds, sizeof seeds, "%u", seed);
    const char *pc = per_case ? "output.per_case=true" : "output.per_case=false";
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) dup2(fd, 1);
        execl(frugal, frugal, "run", "specs/quartic.json", "--set", "population.size=40",
              "--generations", "6", "--seed", seeds, "--out", out, "--quiet", "--set", pc, "--set",
              "output.population=every", "--set", set ? set : pc, (char *)NULL);
        _exit(127);
    }
    int st;
    cr_assert(waitpid(pid, &st, 0) == pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "frugal run failed for %s", out);
}

static void make_run(const char *sub, unsigned seed, bool per_case) {
    make_run_set(sub, seed, per_case, NULL);
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

/* A vector PDF at single-column size: 3.5 x 2.49 in (252 x 179 pt). */
static void check_pdf(const char *path) {
    vm_buf b = {0};
    cr_assert_eq(tu_read_file(path, &b), 0, "cannot read %s", path);
    static const char box[] = "/MediaBox [ 0 0 252 179 ]";
    cr_assert(b.len > 5 && !memcmp(b.data, "%PDF-", 5), "%s: not a PDF", path);
    cr_assert(memmem(b.data, b.len, box, sizeof box - 1), "%s: not single-column size", path);
    vm_buf_free(&b);
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
        else if (!strcmp(ext, ".pdf"))
            check_pdf(p);
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

/* Every figure the report drew (a gnuplot script in dir) has its entry in
 * docs/report.md's "### Figures" list, an experiment's name written EXP: a
 * new figure fails here until it is documented (docs/hacking.md). */
static void figures_are_documented(const char *fdir, const char *exp) {
    char *doc = slurp("docs/report.md");
    char *a = strstr(doc, "### Figures\n");
    cr_assert_not_null(a, "docs/report.md has no Figures section");
    char *b = strstr(a + 1, "\n#");
    if (b) *b = 0;
    DIR *d = opendir(fdir);
    cr_assert_not_null(d, "%s: %s", fdir, strerror(errno));
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name), le = strlen(exp);
        if (l < 4 || strcmp(e->d_name + l - 3, ".gp")) continue;
        char stem[300];
        snprintf(stem, sizeof stem, "`%.*s`", (int)(l - 3), e->d_name);
        /* front-history-quartic -> front-history-EXP */
        if (l - 3 > le + 1 && !strncmp(e->d_name + l - 3 - le, exp, le) &&
            e->d_name[l - 4 - le] == '-')
            snprintf(stem, sizeof stem, "`%.*sEXP`", (int)(l - 3 - le), e->d_name);
        cr_expect(strstr(a, stem), "docs/report.md's Figures list has no %s", stem);
        n++;
    }
    closedir(d);
    cr_expect_geq(n, 9, "only %d figures in %s", n, fdir);
    free(doc);
}

/* ---- tests ---- */

Test(report, renders_valid_png_and_svg) {
    if (!have_gnuplot()) cr_skip_test("gnuplot is not installed");
    make_run("a", 1, true);
    char in[128], out[128];
    snprintf(in, sizeof in, "%s/a", dir);
    snprintf(out, sizeof out, "%s/png", dir);
    cr_assert_eq(report("png", (const char *[]){in, "--out", out, "--quiet", NULL}), 0);
    /* success, box-error, box-gas, box-memtime, convergence, front, resources,
     * memtime-error, front-history-quartic: PNG and PDF by default */
    cr_assert_eq(check_images(out, ".png"), 9);
    cr_assert_eq(check_images(out, ".pdf"), 9);
    cr_assert_eq(check_images(out, ".svg"), 0);
    figures_are_documented(out, "quartic");
    char p[256];
    snprintf(p, sizeof p, "%s/report.md", out);
    char *md = slurp(p);
    cr_assert(strstr(md, "![convergence](convergence.png)"));
    cr_assert(strstr(md, "(vector: `convergence.pdf`)"));
    cr_assert(strstr(md, "Per-case errors: "), "per-case errors were stored");
    cr_assert(strstr(md, "One experiment: nothing to compare."));
    free(md);
    /* no titles inside the figures (the captions are in report.md) */
    snprintf(p, sizeof p, "%s/front.gp", out);
    char *gp = slurp(p);
    cr_assert(!strstr(gp, "set title"), "front.gp sets a title:\n%s", gp);
    cr_assert(strstr(gp, "#0072B2"), "Okabe-Ito blue first");
    free(gp);
    snprintf(out, sizeof out, "%s/svg", dir);
    cr_assert_eq(
        report("svg", (const char *[]){in, "--out", out, "--format", "svg", "--quiet", NULL}), 0);
    cr_assert_eq(check_images(out, ".svg"), 9);
    cr_assert_eq(check_images(out, ".png"), 0);
    snprintf(p, sizeof p, "%s/convergence.gp", out);
    gp = slurp(p);
    cr_assert(strstr(gp, "set terminal svg"), "the script is kept next to the image");
    free(gp);
    snprintf(out, sizeof out, "%s/bad", dir);
    cr_assert_eq(report("fmt", (const char *[]){in, "--out", out, "--format", "png,", NULL}), 2);
    cr_assert_eq(report("fmt", (const char *[]){in, "--out", out, "--format", "jpg", NULL}), 2);
    cr_assert_eq(report("ci", (const char *[]){in, "--out", out, "--ci", "exact", NULL}), 2);
    cr_assert_eq(report("bs", (const char *[]){in, "--out", out, "--bootstrap", "0", NULL}), 2);
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

/* A run whose /pop keeps every 4th generation (0, 4 and the last, 6): the
 * report works, says which generations the file holds, draws the fronts of
 * those, and a lineage stops where the file has no parent generation. */
Test(report, a_run_with_some_populations_reports_which) {
    make_run_set("ev4", 2, false, "output.population=every 4");
    char in[128], rep[128], p[256];
    snprintf(in, sizeof in, "%s/ev4/seed-2.h5", dir);
    snprintf(rep, sizeof rep, "%s/ev4rep", dir);
    cr_assert_eq(report("ev4", (const char *[]){in, "--out", rep, "--quiet", NULL}), 0);
    snprintf(p, sizeof p, "%s/report.md", rep);
    char *md = slurp(p);
    cr_assert(strstr(md, "populations in the file: every 4: 0, 4, 6"), "%s", md);
    cr_assert(strstr(md, "individual 6:0:"), "the best program is of generation 6");
    free(md);
    snprintf(p, sizeof p, "%s/front-history-quartic.csv", rep);
    char *h = slurp(p);
    cr_assert(strstr(h, "# generation 0\n") && strstr(h, "# generation 4\n") &&
                  strstr(h, "# generation 6\n") && !strstr(h, "# generation 3\n"),
              "%s", h);
    free(h);
    cr_assert_eq(report("ev4l", (const char *[]){in, "--lineage", "best", NULL}), 0);
    snprintf(p, sizeof p, "%s/ev4l.out", dir);
    char *l = slurp(p);
    cr_assert(strstr(l, "(generation 5 is not in the file: output.population)"), "%s", l);
    free(l);
    cr_assert_eq(report("ev4m", (const char *[]){in, "--lineage", "5:0:1", NULL}), 3);
    snprintf(p, sizeof p, "%s/ev4m.out", dir);
    l = slurp(p);
    cr_assert(strstr(l, "generation 5 is not in"), "%s", l);
    free(l);
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
    /* its message on stderr, naming the file and the individual; nothing on stdout */
    snprintf(p, sizeof p, "%s/far.err", dir);
    char *err = slurp(p);
    char want_err[512];
    snprintf(want_err, sizeof want_err, "frugal report: %s: no individual 99:0:0 (", in);
    cr_assert(strstr(err, want_err), "want '%s' in:\n%s", want_err, err);
    free(err);
    snprintf(p, sizeof p, "%s/far.out", dir);
    out = slurp(p);
    cr_assert_str_eq(out, "");
    free(out);
}

static void count_lines(const char *line, void *ctx) {
    if (!strncmp(line, "reading ", 8) || !strncmp(line, "wrote ", 6)) ++*(int *)ctx;
}

/* The library's answer: 0 with flags and warnings for a report without
 * figures, -1 with the message and the kind of a failure. */
Test(report, library_result) {
    make_run("lib", 1, false);
    char in[128], out[128], err[512];
    snprintf(in, sizeof in, "%s/lib", dir);
    snprintf(out, sizeof out, "%s/lib-rep", dir);
    int lines = 0;
    an_report_opts o = {
        .out_dir = out, .formats = AN_FMT(AN_PNG), .progress = count_lines, .progress_ctx = &lines};
    an_report_result res;
    setenv("PATH", "/nonexistent", 1); /* no gnuplot */
    const char *inputs[] = {in};
    cr_assert_eq(an_report(inputs, 1, &o, &res, err, sizeof err), 0, "%s", err);
    cr_assert(res.no_gnuplot && !res.gnuplot_failed);
    cr_assert(strstr(res.warn, "gnuplot not found"), "%s", res.warn);
    cr_assert_eq(lines, 2, "a line per run read and on the report written");
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none.h5", dir);
    inputs[0] = missing;
    cr_assert_eq(an_report(inputs, 1, &o, &res, err, sizeof err), -1);
    cr_assert_eq(res.fail, AN_ERR_IO);
    cr_assert(strstr(err, missing), "%s", err);
    snprintf(missing, sizeof missing, "%s/lib-rep", dir); /* a directory without runs */
    cr_assert_eq(an_report(inputs, 1, &o, &res, err, sizeof err), -1);
    cr_assert_eq(res.fail, AN_ERR_INPUT);
    cr_assert(strstr(err, "no run files"), "%s", err);
    cr_assert_str_eq(res.warn, "");
}

Test(report, without_gnuplot) {
    make_run("ng", 1, false);
    char in[128], out[128], p[256];
    snprintf(in, sizeof in, "%s/ng", dir);
    snprintf(out, sizeof out, "%s/rep", dir);
    char *path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", "/nonexistent", 1);
    int rc = report("ng", (const char *[]){in, "--out", out, NULL});
    setenv("PATH", path, 1); /* the rest of the test needs it */
    free(path);
    cr_assert_eq(rc, 0);
    snprintf(p, sizeof p, "%s/ng.err", dir);
    char *err = slurp(p);
    cr_assert(strstr(err, "gnuplot not found"), "stderr:\n%s", err);
    cr_assert(strstr(err, "apt-get install gnuplot-nox"), "stderr:\n%s", err);
    free(err);
    const char *files[] = {"runs.csv",
                           "success.csv",
                           "best.csv",
                           "summary.csv",
                           "compare.csv",
                           "tables.tex",
                           "convergence-quartic.csv",
                           "front-quartic.csv",
                           "final-quartic.csv",
                           "success-quartic.csv",
                           "convergence.gp",
                           "box-error.gp",
                           "success.gp",
                           "report.md"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(p, sizeof p, "%s/%s", out, files[i]);
        cr_assert(access(p, R_OK) == 0, "%s missing", p);
    }
    snprintf(p, sizeof p, "%s/convergence.png", out);
    cr_assert(access(p, F_OK) != 0, "no figure without gnuplot");
}

/* A test's temporary folder goes even when the test cleared PATH (the
 * teardown runs no shell command). */
Test(report, temporary_folders_go_without_a_path) {
    char d[64], p[128];
    tu_tmpdir(d, sizeof d, "frugal-rm");
    snprintf(p, sizeof p, "%s/sub", d);
    cr_assert_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/sub/file", d);
    FILE *f = fopen(p, "w");
    cr_assert(f);
    fclose(f);
    setenv("PATH", "/nonexistent", 1);
    tu_rmtree(d);
    cr_assert(access(d, F_OK) != 0, "%s is still there", d);
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

/* ---- comparisons, tables.tex, clean fronts ---- */

/* Split line at commas in place (frugal writes no quoted fields). */
static int csv_split(char *line, char **f, int cap) {
    int n = 0;
    for (char *p = line; n < cap;) {
        f[n++] = p;
        p = strchr(p, ',');
        if (!p) break;
        *p++ = 0;
    }
    return n;
}

/* The data lines of a CSV file, each split: lines[i][field]. */
typedef struct {
    char *text;
    char *f[64][24];
    int nf[64];
    size_t n;
} csv_t;

static void csv_read(const char *path, csv_t *c) {
    memset(c, 0, sizeof *c);
    c->text = slurp(path);
    char *line = strchr(c->text, '\n');
    cr_assert(line, "%s has no header", path);
    for (line++; *line && c->n < 64;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (*line) {
            c->nf[c->n] = csv_split(line, c->f[c->n], 24);
            c->n++;
        }
        if (!nl) break;
        line = nl + 1;
    }
}

/* Column col of final-EXP.csv (1 best_error, 2 gas, 3 memtime, 4 solved, 5
 * evaluations to success), the empty fields left out. */
static size_t final_column(const char *rep, const char *label, int col, double *v) {
    char p[256];
    snprintf(p, sizeof p, "%s/final-%s.csv", rep, label);
    csv_t c;
    csv_read(p, &c);
    size_t n = 0;
    for (size_t i = 0; i < c.n; i++)
        if (c.nf[i] > col && *c.f[i][col]) v[n++] = strtod(c.f[i][col], NULL);
    free(c.text);
    return n;
}

static bool near(double a, double b, double rel) {
    if (isnan(b)) return isnan(a);
    return fabs(a - b) <= 1e-13 + rel * fabs(b);
}

/* tables.tex: comments aside, every % # & _ ^ ~ outside math escaped, braces
 * and environments balanced, each tabular's rows with as many cells as its
 * column specification, booktabs rules in order. Returns the tables. */
static int check_tex(const char *path) {
    char *s = slurp(path);
    char env[16][32];
    int depth = 0, tables = 0, braces = 0, cols = 0, rule = 0, rows = 0;
    bool math = false;
    for (char *line = s, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (*line == '%') continue;
        int amps = 0;
        for (char *p = line; *p; p++) {
            if (*p == '\\') {
                if (!strncmp(p, "\\begin{", 7) || !strncmp(p, "\\end{", 5)) {
                    bool begin = p[1] == 'b';
                    char *name = strchr(p, '{') + 1, *close = strchr(name, '}');
                    cr_assert(close && close - name < 32, "%s: bad environment", path);
                    if (begin) {
                        cr_assert(depth < 16);
                        memcpy(env[depth], name, (size_t)(close - name));
                        env[depth++][close - name] = 0;
                        if (!strcmp(env[depth - 1], "table")) tables++;
                        if (!strcmp(env[depth - 1], "tabular")) {
                            /* the column specification: one letter a column */
                            char *spec = close + 2;
                            cr_assert(close[1] == '{', "%s: tabular without columns", path);
                            cols = (int)strspn(spec, "lcr");
                            cr_assert(cols > 0 && spec[cols] == '}', "%s: columns '%s'", path,
                                      spec);
                            rule = rows = 0;
                        }
                    } else {
                        cr_assert(depth > 0, "%s: \\end without \\begin", path);
                        depth--;
                        cr_assert((size_t)(close - name) == strlen(env[depth]) &&
                                      !strncmp(name, env[depth], (size_t)(close - name)),
                                  "%s: \\end{%.*s} closes %s", path, (int)(close - name), name,
                                  env[depth]);
                        if (!strcmp(env[depth], "tabular"))
                            cr_assert(rule == 3 && rows >= 2, "%s: rules %d, rows %d", path, rule,
                                      rows);
                    }
                }
                static const char *const rules[3] = {"\\toprule", "\\midrule", "\\bottomrule"};
                for (int r = 0; r < 3; r++)
                    if (!strncmp(p, rules[r], strlen(rules[r]))) {
                        cr_assert_eq(rule, r, "%s: %s out of order", path, rules[r]);
                        rule++;
                    }
                if (p[1]) p++; /* an escaped character, or a command's first letter */
                continue;
            }
            if (*p == '$') math = !math;
            if (*p == '{') braces++;
            if (*p == '}') braces--;
            cr_assert(braces >= 0, "%s: unbalanced braces in: %s", path, line);
            if (*p == '&') amps++;
            cr_assert(*p != '%' && *p != '#' && *p != '~', "%s: unescaped '%c' in: %s", path, *p,
                      line);
            if (!math)
                cr_assert(*p != '_' && *p != '^', "%s: unescaped '%c' in: %s", path, *p, line);
        }
        cr_assert(!math, "%s: math mode left open in: %s", path, line);
        size_t l = strlen(line);
        if (depth && !strcmp(env[depth - 1], "tabular") && l >= 2 &&
            !strcmp(line + l - 2, "\\\\")) {
            cr_assert_eq(amps, cols - 1, "%s: %d cells in a %d-column table: %s", path, amps + 1,
                         cols, line);
            rows++;
        }
    }
    cr_assert_eq(depth, 0, "%s: %d environments left open", path, depth);
    cr_assert_eq(braces, 0, "%s: unbalanced braces", path);
    free(s);
    return tables;
}

Test(report, tex_escape) {
    char out[256];
    an_tex_escape("a_b%c&d#e$f{g}h~i^j\\k<l", out, sizeof out);
    cr_assert_str_eq(out, "a\\_b\\%c\\&d\\#e\\$f\\{g\\}h\\textasciitilde{}i\\textasciicircum{}j"
                          "\\textbackslash{}k\\textless{}l");
    an_tex_escape("a_b_c", out, 5); /* cut between escapes, always terminated */
    cr_assert_str_eq(out, "a\\_b");
}

Test(report, comparisons_agree_with_scipy, .timeout = 240) {
    if (access("/usr/bin/python3", X_OK) != 0 ||
        system("/usr/bin/python3 -c 'import scipy' 2>/dev/null") != 0)
        cr_assert_fail("%s", "Debian's python3-scipy is missing: run scripts/deps.sh");
    for (unsigned s = 1; s <= 5; s++) {
        make_run("a", s, false);
        make_run_set("b", s + 5, false, "name=q_gas");
    }
    char a[128], b[128], out[128], out2[128], p[256], cmd[1024];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(out, sizeof out, "%s/ab", dir);
    snprintf(out2, sizeof out2, "%s/ba", dir);
    cr_assert_eq(
        report("ab", (const char *[]){a, b, "--out", out, "--quiet", "--format", "png", NULL}), 0);
    cr_assert_eq(report("ba", (const char *[]){b, a, "--out", out2, "--quiet", "--format", "png",
                                               "--ci", "clopper-pearson", NULL}),
                 0);
    csv_t c, d;
    snprintf(p, sizeof p, "%s/compare.csv", out);
    csv_read(p, &c);
    snprintf(p, sizeof p, "%s/compare.csv", out2);
    csv_read(p, &d);
    cr_assert_eq(c.n, 5, "one pair: success and four measures");
    cr_assert_eq(d.n, 5);
    /* the same questions to SciPy, from the per-run values of final-*.csv */
    static const int cols[5] = {4, 1, 2, 3, 5};
    static const char *const metric[5] = {"success", "best_error", "best_gas", "best_memtime",
                                          "evaluations_to_success"};
    char qpath[256], apath[256];
    snprintf(qpath, sizeof qpath, "%s/q.txt", dir);
    snprintf(apath, sizeof apath, "%s/a.txt", dir);
    FILE *q = fopen(qpath, "w");
    cr_assert(q);
    double va[5][16], vb[5][16];
    size_t na[5], nb[5];
    int asked[5];
    for (int m = 0; m < 5; m++) {
        na[m] = final_column(out, "quartic", cols[m], va[m]);
        nb[m] = final_column(out, "q_gas", cols[m], vb[m]);
        asked[m] = 0;
        if (m == 0) {
            size_t sa = 0, sb = 0;
            for (size_t i = 0; i < na[0]; i++)
                sa += va[0][i] > 0;
            for (size_t i = 0; i < nb[0]; i++)
                sb += vb[0][i] > 0;
            fprintf(q, "fisher %zu %zu %zu %zu\n", sa, na[0] - sa, sb, nb[0] - sb);
            asked[m] = 1;
        } else if (na[m] && nb[m]) {
            fprintf(q, "mwu %zu", na[m]);
            for (size_t i = 0; i < na[m]; i++)
                fprintf(q, " %.17g", va[m][i]);
            fprintf(q, " %zu", nb[m]);
            for (size_t i = 0; i < nb[m]; i++)
                fprintf(q, " %.17g", vb[m][i]);
            fputc('\n', q);
            asked[m] = 1;
        }
    }
    fclose(q);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/stats_oracle.py < %s > %s", qpath, apath);
    cr_assert_eq(system(cmd), 0);
    FILE *ans = fopen(apath, "r");
    cr_assert(ans);
    double pmax_holm = 0;
    for (int m = 0; m < 5; m++) {
        char **f = c.f[m], **g = d.f[m];
        cr_assert(c.nf[m] >= 17, "compare.csv row %d has %d fields", m, c.nf[m]);
        cr_assert_str_eq(f[0], metric[m]);
        cr_assert_str_eq(f[1], "quartic");
        cr_assert_str_eq(f[2], "q_gas");
        cr_assert_str_eq(g[1], "q_gas", "the inputs' order is kept");
        if (!asked[m]) {
            cr_assert_str_eq(f[9], "not tested");
            cr_assert_str_eq(f[13], "");
            continue;
        }
        double pv = strtod(f[13], NULL), ph = strtod(f[14], NULL), a12 = strtod(f[15], NULL);
        double st = strtod(f[11], NULL), r[4] = {0};
        char line[512];
        cr_assert(fgets(line, sizeof line, ans));
        char *e = line;
        for (int k = 0; k < 4; k++)
            r[k] = strtod(e, &e);
        cr_assert(pv >= 0 && pv <= 1 && ph >= pv && ph <= 1, "%s: p %g, Holm %g", f[0], pv, ph);
        if (ph > pmax_holm) pmax_holm = ph;
        if (m == 0) {
            cr_assert(near(pv, r[1], 1e-9), "fisher p %.17g, SciPy %.17g", pv, r[1]);
            cr_assert(isnan(r[0]) ? !strcmp(f[11], "nan") || isnan(st) : near(st, r[0], 1e-12));
        } else {
            cr_assert(near(pv, r[1], 1e-9), "%s: p %.17g, SciPy %.17g", f[0], pv, r[1]);
            cr_assert_eq(st, r[0], "%s: U %g, SciPy %g", f[0], st, r[0]);
            cr_assert(near(a12, r[3], 1e-12), "%s: A12 %g, pairs %g", f[0], a12, r[3]);
            cr_assert_str_eq(f[9], r[2] != 0 ? "exact" : "normal");
        }
        /* swapping the experiments mirrors A12 and keeps p */
        cr_assert(near(strtod(g[15], NULL), 1 - a12, 1e-12), "%s: A12 %s swapped %s", f[0], f[15],
                  g[15]);
        cr_assert(near(strtod(g[13], NULL), pv, 1e-12));
    }
    fclose(ans);
    free(c.text);
    free(d.text);
    /* the report names each test, its statistic, both p-values and the effect size */
    snprintf(p, sizeof p, "%s/report.md", out);
    char *md = slurp(p);
    cr_assert(strstr(md, "## Comparisons"));
    cr_assert(strstr(md, "| quartic | q_gas | success | "), "%s", md);
    cr_assert(strstr(md, "Fisher's exact") && strstr(md, "Mann-Whitney U"));
    cr_assert(strstr(md, "| p | p (Holm) | A12 |"));
    cr_assert(strstr(md, "Holm-Bonferroni over the"));
    free(md);
    /* tables.tex: success, medians, comparisons; the label's '_' escaped */
    snprintf(p, sizeof p, "%s/tables.tex", out);
    cr_assert_eq(check_tex(p), 3);
    char *tex = slurp(p);
    cr_assert(strstr(tex, "q\\_gas &"), "%s", tex);
    cr_assert(strstr(tex, "\\toprule") && strstr(tex, "\\bottomrule"));
    free(tex);
    /* the interval method is named; the bootstrap is reproducible */
    snprintf(p, sizeof p, "%s/success.csv", out2);
    char *s1 = slurp(p);
    cr_assert(strstr(s1, ",Clopper-Pearson,"), "%s", s1);
    snprintf(out, sizeof out, "%s/ba2", dir);
    cr_assert_eq(report("ba2", (const char *[]){b, a, "--out", out, "--quiet", "--format", "png",
                                                "--ci", "clopper-pearson", NULL}),
                 0);
    snprintf(p, sizeof p, "%s/success.csv", out);
    char *s2 = slurp(p);
    cr_assert_str_eq(s1, s2, "the same inputs give the same success.csv");
    free(s1);
    free(s2);
}

/* An HDF5 dataset's first n elements. */
static void read_n(const char *path, const char *name, hid_t type, void *out, size_t n) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    hsize_t len = 0;
    H5Sget_simple_extent_dims(sp, &len, NULL);
    cr_assert_eq(len, n, "%s: %llu rows", name, (unsigned long long)len);
    cr_assert(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
}

Test(report, fronts_leave_out_penalised_programs) {
    make_run_set("pen", 4, false, "limits.underflow=fault"); /* the strict VM: some faults */
    char in[128], out[128], p[256];
    snprintf(in, sizeof in, "%s/pen", dir);
    snprintf(out, sizeof out, "%s/rep", dir);
    cr_assert_eq(report("pen", (const char *[]){in, "--out", out, "--quiet", NULL}), 0);
    /* the last generation (7 of 40) from the file */
    static double err[7 * 40];
    static uint8_t status[7 * 40];
    snprintf(p, sizeof p, "%s/pen/seed-4.h5", dir);
    read_n(p, "pop/error", H5T_NATIVE_DOUBLE, err, 7 * 40);
    read_n(p, "pop/status", H5T_NATIVE_UINT8, status, 7 * 40);
    int clean = 0, bad = 0;
    for (int i = 6 * 40; i < 7 * 40; i++) {
        bool ok = status[i] == VM_HALTED && err[i] < FIT_QUARTIC_PENALTY;
        clean += ok;
        bad += !ok;
    }
    cr_assert_gt(bad, 0, "the final population has faulted or penalised programs");
    csv_t c;
    snprintf(p, sizeof p, "%s/memtime-error-quartic.csv", out);
    csv_read(p, &c);
    cr_assert_eq(c.n, 40);
    int flagged = 0;
    for (size_t i = 0; i < c.n; i++)
        flagged += c.nf[i] >= 5 && atoi(c.f[i][4]) == 1;
    cr_assert_eq(flagged, clean);
    free(c.text);
    static const char *const fronts[2] = {"front-quartic.csv", "front-history-quartic.csv"};
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/%s", out, fronts[k]);
        char *s = slurp(p);
        int pts = 0;
        for (char *line = s, *nl; line && *line; line = nl ? nl + 1 : NULL) {
            nl = strchr(line, '\n');
            if (nl) *nl = 0;
            if (*line < '0' || *line > '9') continue; /* header, comments, blank lines */
            char *f[8];
            int n = csv_split(line, f, 8);
            double e = strtod(f[k ? 1 : 2], NULL);
            cr_assert(n >= 3 && e < FIT_QUARTIC_PENALTY, "%s: error %g at the penalty", fronts[k],
                      e);
            pts++;
        }
        cr_assert_gt(pts, 0, "%s is empty", fronts[k]);
        free(s);
    }
    snprintf(p, sizeof p, "%s/report.md", out);
    char *md = slurp(p);
    char want[128];
    snprintf(want, sizeof want, "%d of the 40 final-population programs", bad);
    cr_assert(strstr(md, want), "report.md does not say how many were left out (%s)", want);
    free(md);
}

/* ---- damaged run files (issue 16, item 2) ---- */

/* Where a run file keeps things, read here with the HDF5 C API: the start
 * of every chunk and contiguous dataset, and the middle of each. */
typedef struct {
    long at[256];
    int n;
} offsets;

static void add_offset(offsets *o, long at) {
    for (int i = 0; i < o->n; i++)
        if (o->at[i] == at) return;
    if (o->n < 256) o->at[o->n++] = at;
}

static herr_t note_storage(hid_t loc, const char *name, const H5O_info_t *info, void *ctx) {
    if (info->type != H5O_TYPE_DATASET) return 0;
    offsets *o = ctx;
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT), dcpl = H5Dget_create_plist(d);
    if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
        hid_t sp = H5Dget_space(d);
        hsize_t n = 0;
        H5Dget_num_chunks(d, sp, &n);
        for (hsize_t i = 0; i < n && i < 16; i++) {
            haddr_t at;
            hsize_t size;
            if (H5Dget_chunk_info(d, sp, i, NULL, NULL, &at, &size) >= 0) {
                add_offset(o, (long)at);
                add_offset(o, (long)(at + size / 2));
            }
        }
        H5Sclose(sp);
    } else {
        haddr_t at = H5Dget_offset(d);
        if (at != HADDR_UNDEF) add_offset(o, (long)at);
    }
    H5Pclose(dcpl);
    H5Dclose(d);
    return 0;
}

/* Offsets to damage: the first 20 KiB (superblock, object headers, indexes:
 * the metadata) every 512 bytes, every chunk and contiguous dataset (the
 * populations, /stats, /stop_reason, the checkpoint), and every 8 KiB. */
static void damage_offsets(const char *path, long size, offsets *o) {
    o->n = 0;
    add_offset(o, 200);
    for (long at = 0; at < 20480 && at < size; at += 512)
        add_offset(o, at);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0);
    H5Ovisit(f, H5_INDEX_NAME, H5_ITER_NATIVE, note_storage, o);
    H5Fclose(f);
    for (long at = 20480; at < size; at += 8192)
        add_offset(o, at);
}

/* Copy from to to with 512 bytes of 0xFF at offset at. */
static void write_damaged(const char *from, const char *to, long at) {
    char *s = NULL;
    FILE *in = fopen(from, "rb");
    cr_assert(in);
    fseek(in, 0, SEEK_END);
    long n = ftell(in);
    fseek(in, 0, SEEK_SET);
    cr_assert((s = malloc((size_t)n)) && fread(s, 1, (size_t)n, in) == (size_t)n);
    fclose(in);
    for (long i = at; i < at + 512 && i < n; i++)
        s[i] = (char)0xff;
    FILE *out = fopen(to, "wb");
    cr_assert(out && fwrite(s, 1, (size_t)n, out) == (size_t)n && fclose(out) == 0);
    free(s);
}

static long size_of(const char *path) {
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "%s", path);
    return (long)st.st_size;
}

/* Figures are not drawn (gnuplot is not found): the tables are the report. */
static void no_gnuplot(void) {
    setenv("PATH", "/nonexistent", 1);
}

/* frugal report in a child process, under a watchdog. */
static int report_watched(const char *in, const char *out, const char *tag) {
    char o[256], e[256];
    snprintf(o, sizeof o, "%s/%s.out", dir, tag);
    snprintf(e, sizeof e, "%s/%s.err", dir, tag);
    char *argv[] = {(char *)frugal, "report", (char *)in, "--out", (char *)out, "--quiet", NULL};
    return tu_run_watched(argv, o, e, no_gnuplot, 30);
}

/* Whether every file of dir a has an equal twin in dir b. */
static bool same_tree(const char *a, const char *b, char *why, size_t cap) {
    DIR *dp = opendir(a);
    cr_assert(dp, "%s", a);
    bool same = true;
    for (struct dirent *e; same && (e = readdir(dp));) {
        if (e->d_name[0] == '.') continue;
        char pa[512], pb[512];
        snprintf(pa, sizeof pa, "%s/%s", a, e->d_name);
        snprintf(pb, sizeof pb, "%s/%s", b, e->d_name);
        if (access(pb, R_OK) != 0) {
            snprintf(why, cap, "%s is missing", pb);
            same = false;
            break;
        }
        char *x = slurp(pa), *y = slurp(pb);
        if (strcmp(x, y)) {
            snprintf(why, cap, "%s differs", e->d_name);
            same = false;
        }
        free(x);
        free(y);
    }
    closedir(dp);
    return same;
}

/* No *.tmp file in d (or d does not exist). */
static void no_tmp_files(const char *d) {
    DIR *dp = opendir(d);
    if (!dp) return;
    for (struct dirent *e; (e = readdir(dp));) {
        size_t l = strlen(e->d_name);
        cr_assert(l < 4 || strcmp(e->d_name + l - 4, ".tmp"), "%s/%s left behind", d, e->d_name);
    }
    closedir(dp);
}

/* A clear error: exit 3, naming the file and what is wrong with it. */
static void expect_clear_error(int rc, const char *errfile, const char *file, long at) {
    char *err = slurp(errfile);
    cr_assert_eq(rc, 3, "damage at %ld: exit %d (-1: still running after 30 s): %s", at, rc, err);
    cr_assert(strstr(err, file) && (strstr(err, "truncated or corrupt") ||
                                    (at < 8 && strstr(err, "not an HDF5 file"))),
              "damage at %ld: %s", at, err);
    free(err);
}

Test(report, damaged_files_are_clear_errors_or_the_same_report) {
    make_run("good", 5, false);
    char good[256], bad[256], ref[256], out[256], errf[256];
    snprintf(good, sizeof good, "%s/good/seed-5.h5", dir);
    snprintf(bad, sizeof bad, "%s/bad.h5", dir);
    snprintf(ref, sizeof ref, "%s/ref-report", dir);
    snprintf(out, sizeof out, "%s/bad-report", dir);
    snprintf(errf, sizeof errf, "%s/bad.err", dir);
    /* the reference: the same path, undamaged */
    write_damaged(good, bad, size_of(good));
    cr_assert_eq(report_watched(bad, ref, "ref"), 0);
    long size = size_of(good);
    offsets o;
    damage_offsets(good, size, &o);
    cr_assert_gt(o.n, 60);
    int errors = 0, same = 0;
    for (int i = 0; i < o.n; i++) {
        write_damaged(good, bad, o.at[i]);
        tu_rmtree(out);
        int rc = report_watched(bad, out, "bad");
        char why[600] = "";
        if (rc == 0) {
            cr_assert(same_tree(ref, out, why, sizeof why), "damage at %ld: %s", o.at[i], why);
            same++;
        } else {
            expect_clear_error(rc, errf, bad, o.at[i]);
            struct stat st;
            cr_assert(stat(out, &st) != 0, "damage at %ld: the report folder was made", o.at[i]);
            errors++;
        }
        no_tmp_files(out);
    }
    cr_assert_gt(errors, 20);
    cr_assert_gt(same, 5); /* the checkpoint is not read */
}

/* A run killed with SIGKILL: its file is still marked open for writing, so
 * readers open it in SWMR read mode, the mode that retried without end. */
static void make_killed_run(const char *path) {
    char *argv[] = {(char *)frugal,
                    "run",
                    "specs/quartic.json",
                    "--set",
                    "population.size=40",
                    "--set",
                    "output.commit_seconds=0.01",
                    "--generations",
                    "100000",
                    "--out",
                    (char *)path,
                    "--quiet",
                    "--threads",
                    "1",
                    NULL};
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) dup2(fd, 1);
        execv(frugal, argv);
        _exit(127);
    }
    struct stat st;
    for (int i = 0; i < 4000 && (stat(path, &st) != 0 || st.st_size < 200000); i++)
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    kill(pid, SIGKILL);
    int s;
    waitpid(pid, &s, 0);
    cr_assert(WIFSIGNALED(s), "the run ended before it was killed");
}

Test(report, damaged_killed_runs_are_clear_errors) {
    char good[256], bad[256], out[256], errf[256];
    snprintf(good, sizeof good, "%s/killed.h5", dir);
    snprintf(bad, sizeof bad, "%s/bad.h5", dir);
    snprintf(out, sizeof out, "%s/bad-report", dir);
    snprintf(errf, sizeof errf, "%s/bad.err", dir);
    make_killed_run(good);
    write_damaged(good, bad, size_of(good));
    cr_assert_eq(report_watched(bad, out, "ref"), 0, "%s", slurp(errf));
    /* the metadata at the start of the file */
    for (long at = 0; at < 20480; at += 1024) {
        write_damaged(good, bad, at);
        tu_rmtree(out);
        int rc = report_watched(bad, out, "bad");
        if (rc) expect_clear_error(rc, errf, bad, at);
        no_tmp_files(out);
    }
}

/* analysis/read_run.py (h5py) on the same damaged files: an error naming
 * the damage (CorruptRun), or what it reads from the undamaged file. */
Test(report, python_reader_on_damaged_files) {
    if (access("/usr/bin/python3", X_OK) != 0) cr_skip_test("no /usr/bin/python3");
    make_run("good", 5, false);
    char good[256], killed[256], script[256], res[256], errf[256];
    snprintf(good, sizeof good, "%s/good/seed-5.h5", dir);
    snprintf(killed, sizeof killed, "%s/killed.h5", dir);
    snprintf(script, sizeof script, "%s/sweep.py", dir);
    snprintf(res, sizeof res, "%s/sweep.out", dir);
    snprintf(errf, sizeof errf, "%s/sweep.err", dir);
    make_killed_run(killed);
    FILE *f = fopen(script, "w");
    cr_assert(f);
    fputs("import sys\n"
          "sys.path.insert(0, 'analysis')\n"
          "import read_run\n"
          "ref = read_run.read_run(sys.argv[1])\n"
          "for p in sys.argv[2:]:\n"
          "    try:\n"
          "        print(p, 'same' if read_run.read_run(p) == ref else 'DIFFERENT')\n"
          "    except read_run.CorruptRun as e:\n"
          "        print(p, 'error', e)\n",
          f);
    fclose(f);
    for (int k = 0; k < 2; k++) {
        const char *src = k ? killed : good;
        long size = size_of(src);
        offsets o;
        if (k) {
            o.n = 0;
            add_offset(&o, 200);
            for (long at = 0; at < 20480; at += 1024)
                add_offset(&o, at);
        } else {
            damage_offsets(src, size, &o);
        }
        static char paths[256][256];
        char *argv[260];
        int n = 0;
        argv[n++] = "/usr/bin/python3";
        argv[n++] = script;
        argv[n++] = (char *)src;
        for (int i = 0; i < o.n; i++) {
            snprintf(paths[i], sizeof paths[i], "%s/bad-%d-%ld.h5", dir, k, o.at[i]);
            write_damaged(src, paths[i], o.at[i]);
            argv[n++] = paths[i];
        }
        argv[n] = NULL;
        int rc = tu_run_watched(argv, res, errf, NULL, 120);
        cr_assert_eq(rc, 0, "read_run.py: exit %d (-1: still running after 120 s): %s", rc,
                     slurp(errf));
        char *text = slurp(res);
        int lines = 0;
        for (char *l = text, *nl; *l; l = nl + 1) {
            nl = strchr(l, '\n');
            cr_assert(nl);
            *nl = 0;
            lines++;
            cr_assert(strstr(l, " same") || strstr(l, " error truncated or corrupt") ||
                          strstr(l, " error not an HDF5 file"),
                      "%s", l);
        }
        cr_assert_eq(lines, o.n);
        free(text);
        /* the command line: exit 3 and a clear message */
        char *cli[] = {"/usr/bin/python3", "analysis/read_run.py", paths[0], NULL};
        rc = tu_run_watched(cli, NULL, errf, NULL, 60);
        char *err = slurp(errf);
        cr_assert_eq(rc, 3, "damage at 200: exit %d: %s", rc, err);
        cr_assert(strstr(err, "truncated or corrupt") && strstr(err, paths[0]), "%s", err);
        free(err);
    }
}

/* A task of 0/1 errors (PSB median: a wrong output costs what a missing one
 * does) draws every program that halted; and the front history has one data
 * block per front it draws, each with points, as gnuplot's index counts only
 * blocks with data (before: generations 0-6 of the demo were empty blocks,
 * and the figure showed generation 8's front titled 'gen. 0'). */
Test(report, front_history_of_a_01_task) {
    char out[256], in[128], rep[128], p[256];
    snprintf(in, sizeof in, "%s/med", dir);
    snprintf(out, sizeof out, "%s/seed-4.h5", in);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) dup2(fd, 1);
        execl(frugal, frugal, "run", "specs/demo.json", "--seed", "4", "--out", out, "--quiet",
              "--set", "output.population=every", (char *)NULL);
        _exit(127);
    }
    int st;
    cr_assert(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    snprintf(rep, sizeof rep, "%s/medrep", dir);
    cr_assert_eq(report("med", (const char *[]){in, "--out", rep, "--quiet", NULL}), 0);
    snprintf(p, sizeof p, "%s/front-history-demo.csv", rep);
    FILE *f = fopen(p, "r");
    cr_assert(f, "%s", p);
    char line[256];
    int blocks = 0, points = 0, empty = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "# generation", 12)) {
            empty += blocks && !points;
            blocks++;
            points = 0;
        } else if (line[0] != '\n') {
            points++;
        }
    }
    empty += blocks && !points;
    fclose(f);
    cr_assert_geq(blocks, 3, "the demo runs for more than 2 generations");
    cr_assert_eq(empty, 0, "%d of %d fronts have no point", empty, blocks);
    snprintf(p, sizeof p, "%s/front-history-demo.gp", rep);
    f = fopen(p, "r");
    cr_assert(f);
    int top = -1;
    while (fgets(line, sizeof line, f)) {
        const char *q = strstr(line, " index ");
        if (q) {
            int k = atoi(q + 7);
            top = k > top ? k : top;
        }
    }
    fclose(f);
    cr_assert_eq(top + 1, blocks, "the figure plots indexes 0..%d of %d blocks", top, blocks);
    /* the first front is generation 0's, where every program has errors */
    snprintf(p, sizeof p, "%s/front-history-demo.csv", rep);
    f = fopen(p, "r");
    cr_assert(fgets(line, sizeof line, f) && !strcmp(line, "# generation 0\n"), "%s", line);
    cr_assert(fgets(line, sizeof line, f) && atof(strchr(line, ',') + 1) >= 1, "%s", line);
    fclose(f);
}
