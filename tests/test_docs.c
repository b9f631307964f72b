/* Tables in docs/ that are made from the code's tables: each must equal, to
 * the byte, what the code makes now. A table sits between the markers
 * <!-- NAME --> and <!-- /NAME -->. With FRUGAL_DOCS_UPDATE=1 the tests
 * rewrite the tables instead of checking them (`make docs`). */
#include "experiments/spec.h"
#include "testutil.h"

/* The text of path (NUL-terminated, malloc'd). */
static char *doc_text(const char *path) {
    vm_buf b = {0};
    cr_assert_eq(tu_read_file(path, &b), 0, "%s: run the tests from the repo root", path);
    char *s = malloc(b.len + 1);
    cr_assert_not_null(s);
    memcpy(s, b.data, b.len);
    s[b.len] = 0;
    vm_buf_free(&b);
    return s;
}

/* Check (or rewrite) the table `name` of path against want. */
static void doc_table(const char *path, const char *name, const char *want) {
    char open_[96], close_[96];
    snprintf(open_, sizeof open_, "<!-- %s -->\n", name);
    snprintf(close_, sizeof close_, "<!-- /%s -->", name);
    char *doc = doc_text(path);
    char *a = strstr(doc, open_);
    cr_assert_not_null(a, "%s has no marker %s", path, open_);
    a += strlen(open_);
    char *b = strstr(a, close_);
    cr_assert_not_null(b, "%s has no marker %s", path, close_);
    if (getenv("FRUGAL_DOCS_UPDATE")) {
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f, "%s: %s", path, strerror(errno));
        fwrite(doc, 1, (size_t)(a - doc), f);
        fputs(want, f);
        fputs(b, f);
        cr_assert_eq(fclose(f), 0);
    } else {
        size_t n = (size_t)(b - a);
        cr_expect(n == strlen(want) && !memcmp(a, want, n),
                  "%s: the table %s differs from the code's (run make docs); it should be:\n%s",
                  path, name, want);
    }
    free(doc);
}

/* A string built with fprintf calls on a memory stream. */
typedef struct {
    char *text;
    size_t len;
    FILE *f;
} mtext;
static FILE *mt_open(mtext *m) {
    m->text = NULL;
    m->f = open_memstream(&m->text, &m->len);
    cr_assert_not_null(m->f);
    return m->f;
}
static char *mt_close(mtext *m) {
    fclose(m->f);
    return m->text;
}

Test(docs, task_table_matches_the_registry) {
    mtext m;
    FILE *f = mt_open(&m);
    fprintf(f, "| task | family | what |\n|---|---|---|\n");
    for (size_t i = 0; i < fit_ntasks; i++)
        fprintf(f, "| `%s` | %s | %s |\n", fit_tasks[i].name, fit_tasks[i].family,
                fit_tasks[i].doc);
    char *want = mt_close(&m);
    doc_table("docs/tasks.md", "tasks", want);
    free(want);
    /* the registry and the names agree, and names are unique */
    for (size_t i = 0; i < fit_ntasks; i++) {
        cr_assert_str_eq(fit_task_names[i], fit_tasks[i].name);
        cr_assert_eq(fit_task_find(fit_tasks[i].name), &fit_tasks[i], "%s is listed twice",
                     fit_tasks[i].name);
    }
    cr_assert_null(fit_task_names[fit_ntasks]);
}

Test(docs, selection_table_matches_selection_def) {
    mtext m;
    FILE *f = mt_open(&m);
    fprintf(f, "| `selection.method` | elites | what |\n|---|---|---|\n");
    int n = 0;
#define SEL(id, name, select, prepare, flags, doc)                                                 \
    fprintf(f, "| `%s` | %s | %s |\n", name, ((flags)&EVO_SELECT_ELITES) ? "yes" : "no", doc);     \
    cr_assert_str_eq(evo_selection_names[EVO_SEL_##id], name);                                     \
    cr_assert_eq(EVO_SEL_##id, n++);                                                               \
    cr_assert_eq(evo_selection_flags(EVO_SEL_##id), (flags));
#include "evolve/selection.def"
#undef SEL
    cr_assert_eq(n, EVO_NSELECTIONS);
    cr_assert_null(evo_selection_names[EVO_NSELECTIONS]);
    char *want = mt_close(&m);
    doc_table("docs/gp.md", "selection", want);
    free(want);
}

Test(docs, run_file_columns_match_runfile_h) {
    mtext m;
    FILE *f = mt_open(&m);
    fprintf(f, "| dataset | type | per individual |\n|---|---|---|\n");
#define SHAPE_ROWS  ""
#define SHAPE_CASES " [rows, cases]"
#define SHAPE_BYTES " [bytes]"
#define POP(name, type, shape, doc)                                                                \
    fprintf(f, "| `%s` | %s%s | %s |\n", #name, EVO_COL_DOC_##type, SHAPE_##shape, doc);
    EVO_POP_COLUMNS(POP)
#undef POP
    char *want = mt_close(&m);
    doc_table("docs/hdf5-schema.md", "pop-columns", want);
    free(want);
    f = mt_open(&m);
    fprintf(f, "| field | type | meaning |\n|---|---|---|\n");
#define STATS(name, type, doc) fprintf(f, "| `%s` | %s | %s |\n", #name, EVO_COL_DOC_##type, doc);
    EVO_STATS_COLUMNS(STATS)
#undef STATS
    want = mt_close(&m);
    doc_table("docs/hdf5-schema.md", "stats-columns", want);
    free(want);
}

Test(docs, spec_key_tables_match_the_schema) {
    const char *sec[32];
    size_t n = 0;
    exp_spec_doc_sections(sec, &n);
    cr_assert_gt(n, 0);
    for (size_t i = 0; i <= n; i++) {
        const char *name = i < n ? sec[i] : NULL;
        mtext m;
        FILE *f = mt_open(&m);
        cr_assert_eq(exp_spec_doc_keys(f, name), 0);
        char *want = mt_close(&m), marker[64];
        snprintf(marker, sizeof marker, "spec-%s", name ? name : "top");
        doc_table("docs/specs.md", marker, want);
        free(want);
    }
    mtext m;
    cr_assert_eq(exp_spec_doc_keys(mt_open(&m), "nonsense"), -1);
    free(mt_close(&m));
}

/* Every command that `frugal --help` lists answers --help with its usage
 * (exit 0) and has a row in README.md's command table: a new line in
 * experiments/commands.def fails here until both exist (docs/hacking.md). */
Test(docs, every_command_has_help_and_a_readme_row) {
    const char *frugal = getenv("FRUGAL");
    if (!frugal) cr_skip_test("FRUGAL is not set");
    char out[64], err[64];
    snprintf(out, sizeof out, "build/test-docs-help-%d.out", (int)getpid());
    snprintf(err, sizeof err, "build/test-docs-help-%d.err", (int)getpid());
    cr_assert_eq(tu_run_watched((char *[]){(char *)frugal, "--help", NULL}, out, err, NULL, 30), 0);
    char *list = doc_text(out), *readme = doc_text("README.md");
    char *cmds = strstr(list, "commands:\n");
    cr_assert_not_null(cmds, "frugal --help lists no commands:\n%s", list);
    int n = 0;
    for (char *line = strchr(cmds, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        char name[32];
        if (sscanf(line + 1, " %31s", name) != 1) continue;
        n++;
        int rc =
            tu_run_watched((char *[]){(char *)frugal, name, "--help", NULL}, out, err, NULL, 30);
        char *help = doc_text(out);
        cr_expect(rc == 0 && strstr(help, "usage:"), "frugal %s --help: exit %d, output:\n%s", name,
                  rc, help);
        free(help);
        char row[64], row2[64];
        snprintf(row, sizeof row, "`frugal %s ", name);
        snprintf(row2, sizeof row2, "`frugal %s`", name);
        cr_expect(strstr(readme, row) || strstr(readme, row2),
                  "README.md's command table has no row for frugal %s", name);
    }
    cr_expect_geq(n, 10, "only %d commands in:\n%s", n, list);
    free(list);
    free(readme);
    remove(out);
    remove(err);
}
