/* frugal eval: one program on every row of a data file (docs/cli.md). */
#include "analysis/analysis.h"
#include "experiments/cli.h"
#include "experiments/spec.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char eval_usage[] =
    "usage: frugal eval PROGRAM|RUN.h5[:GEN:ISLAND:SLOT|:GEN:best|:best] --data FILE\n"
    "                   [--spec SPEC.json] [--target COLUMN] [--out predictions.csv]\n"
    "                   [--expr[=infix|sympy|latex]]\n"
    "Runs one program on every row of a CSV file or every case of a PSB2 JSON-lines\n"
    "file (EVM runs: JSON lines of calldata words), as the task \"data\" scores it\n"
    "(docs/tasks.md), and prints a summary: the error (sum and mean), hits (and,\n"
    "with several outputs, each output's), gas, memory-time and the worst status.\n"
    "  PROGRAM          a .s (assembled) or .bin file of native bytecode\n"
    "  RUN.h5[:ID]      a run file's individual: GEN:ISLAND:SLOT, GEN:SLOT, GEN:best\n"
    "                   (that generation's best, kept for every generation) or best\n"
    "                   (the default: the best of the last generation); the task's\n"
    "                   settings (target, inputs, loss, limits) come from its spec\n"
    "  --data FILE      the rows: .csv, or .jsonl/.json (PSB2 JSON lines)\n"
    "  --spec SPEC      take the task's settings and limits from this spec instead\n"
    "  --target COLUMN  the CSV column to compare with (overrides the spec's)\n"
    "  --out FILE.csv   one line per row: the prediction(s), the expected value(s),\n"
    "                   the error, gas, memory-time and status\n"
    "  --expr[=STYLE]   also print the program as an expression (docs/report.md,\n"
    "                   \"Expressions\"; default infix), or why it has none\n"
    "Exit codes: 0 ok, 2 bad arguments, 3 bad input file, 4 unreadable file.\n";

/* The program to run and where it came from. */
typedef struct {
    vm_buf code;
    char label[4200];
    char *spec; /* the run's stored spec, or NULL */
} eval_program;

/* "RUN.h5[:ID]": 1 when arg names a run file (path and id split), 0 if not. */
static int split_run_arg(const char *arg, char *path, size_t cap, const char **id) {
    const char *h5 = strstr(arg, ".h5");
    while (h5 && h5[3] && h5[3] != ':')
        h5 = strstr(h5 + 1, ".h5");
    if (!h5) return 0;
    size_t n = (size_t)(h5 + 3 - arg);
    if (n >= cap) return 0;
    memcpy(path, arg, n);
    path[n] = 0;
    *id = h5[3] == ':' ? h5 + 4 : "best";
    return 1;
}

static int load_from_run(const char *path, const char *id, eval_program *p) {
    an_run r;
    char err[1024];
    int rc;
    if (an_run_load(path, &r, &rc, err, sizeof err)) {
        fprintf(stderr, "frugal eval: %s\n", err);
        return rc == AN_ERR_IO ? EXP_EXIT_IO : EXP_EXIT_INPUT;
    }
    an_program pr;
    rc = EXP_EXIT_OK;
    if (an_program_get(&r, id, &pr)) {
        char kept[256];
        an_held_text(&r, kept, sizeof kept);
        fprintf(stderr,
                "frugal eval: %s: no individual '%s' (GEN:ISLAND:SLOT, GEN:SLOT, GEN:best or best; "
                "the run has %" PRIu64 " generations of %u islands of %u; %s)\n",
                path, id, r.generations, r.islands, r.pop_size, kept);
        rc = EXP_EXIT_USAGE;
        goto done;
    }
    if (!strcmp(r.task_name, "evm-superopt")) {
        fprintf(stderr,
                "frugal eval: %s: evm-superopt programs run on stacks, not on calldata rows\n",
                path);
        rc = EXP_EXIT_INPUT;
        goto done;
    }
    if (base_buf_put(&p->code, pr.code, pr.len) || !(p->spec = strdup(r.spec))) {
        fprintf(stderr, "frugal eval: out of memory\n");
        rc = EXP_EXIT_FAIL;
        goto done;
    }
    snprintf(p->label, sizeof p->label,
             "%s generation %" PRIu64 " island %u slot %u (stored error %.17g)", path, pr.gen,
             pr.island, pr.slot, pr.error);
done:
    an_run_free(&r);
    return rc;
}

/* The spec that evaluates: base (a spec's text, or NULL) with its task made
 * the task "data" on file, its task settings kept, target overriding. */
static char *eval_spec_text(const char *base, const char *file, const char *target, char *err,
                            size_t errcap) {
    json_error_t je;
    json_t *root = base ? json_loads(base, 0, &je) : json_object();
    char *out = NULL;
    if (!root || !json_is_object(root)) {
        base_errf(err, errcap, "the spec is not a JSON object");
        goto done;
    }
    json_t *old = json_object_get(root, "task"), *task = json_object();
    if (!task) goto done;
    bool was_data = old && (!json_object_get(old, "name") ||
                            !strcmp(json_string_value(json_object_get(old, "name")) ?: "", "data"));
    static const char *const keep[] = {"target", "inputs", "loss", "hit", "penalty", "isa", NULL};
    for (size_t i = 0; was_data && keep[i]; i++) {
        json_t *v = json_object_get(old, keep[i]);
        if (v) json_object_set(task, keep[i], v);
    }
    /* a built-in EVM synthesis task's scoring, as the data task's */
    const char *bn = old ? json_string_value(json_object_get(old, "name")) : NULL;
    if (bn && !strncmp(bn, "evm-", 4)) {
        json_object_set_new(task, "isa", json_string("evm"));
        json_object_set_new(task, "loss", json_string(strcmp(bn, "evm-popcount") ? "bits" : "abs"));
        json_object_set_new(task, "penalty", json_real(256));
    }
    bool evm = json_object_get(task, "isa") &&
               !strcmp(json_string_value(json_object_get(task, "isa")), "evm");
    json_object_set_new(task, "name", json_string("data"));
    json_object_set_new(task, "data", json_string(file));
    if (target) json_object_set_new(task, "target", json_string(target));
    if (fit_data_format(file) == 2) { /* JSON lines name their own inputs and outputs */
        json_object_del(task, "target");
        json_object_del(task, "inputs");
        if (!evm) json_object_del(task, "loss");
    }
    json_object_set_new(root, "task", task);
    /* the genome's settings are typed by the task; a run of another task
     * keeps its limits but not them */
    if (!was_data) json_object_del(root, "genome");
    json_object_del(root, "name");
    json_object_set_new(root, "name", json_string("eval"));
    out = json_dumps(root, JSON_COMPACT);
done:
    json_decref(root);
    return out;
}

static void put_word(FILE *f, const fit_task *t, vm_word w, const uint8_t *w256) {
    if (t->isa == FIT_ISA_EVM) {
        fputs("0x", f);
        for (int b = 0; b < 32; b++)
            fprintf(f, "%02x", w256[b]);
    } else if (t->fixed_point)
        fprintf(f, "%.17g", vm_fx_to_double(w));
    else
        fprintf(f, "%" PRId64, (int64_t)w);
}

static int write_rows(const char *out, const fit_task *t, const fit_cases *cs, const double *errs,
                      const fit_case_detail *d) {
    FILE *f = fopen(out, "w");
    if (!f) {
        fprintf(stderr, "frugal eval: cannot write %s\n", out);
        return EXP_EXIT_IO;
    }
    uint32_t no = fit_task_nout(t);
    fprintf(f, "row");
    for (uint32_t k = 0; k < no; k++)
        no == 1 ? fprintf(f, ",prediction,expected")
                : fprintf(f, ",prediction%u,expected%u", k + 1, k + 1);
    fprintf(f, ",error,gas,memtime,status\n");
    for (uint32_t i = 0; i < cs->n; i++) {
        double e = 0;
        fprintf(f, "%u", i + 1);
        for (uint32_t k = 0; k < no; k++) {
            size_t j = (size_t)i * no + k;
            fputc(',', f);
            if (d->has_out[j]) put_word(f, t, d->out[j], d->out256 + j * 32);
            fputc(',', f);
            if (t->fixed_point)
                fprintf(f, "%.17g", cs->target[i]);
            else
                put_word(f, t, cs->want[j], cs->want256 ? cs->want256 + j * 32 : NULL);
            e += errs[j];
        }
        fprintf(f, ",%.17g,%" PRIu64 ",%" PRIu64 ",%s\n", e, d->gas[i], d->memtime[i],
                vm_status_name((vm_status)d->status[i]));
    }
    int bad = ferror(f);
    if (fclose(f) || bad) {
        fprintf(stderr, "frugal eval: cannot write %s\n", out);
        return EXP_EXIT_IO;
    }
    return 0;
}

int exp_cmd_eval(int argc, char **argv) {
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                         {"spec", required_argument, 0, 's'},
                                         {"target", required_argument, 0, 't'},
                                         {"out", required_argument, 0, 'o'},
                                         {"expr", optional_argument, 0, 'e'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *data = NULL, *spec_path = NULL, *target = NULL, *out = NULL;
    bool expr = false;
    an_expr_style style = AN_EXPR_INFIX;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': data = optarg; break;
        case 's': spec_path = optarg; break;
        case 't': target = optarg; break;
        case 'o': out = optarg; break;
        case 'e':
            expr = true;
            if (optarg && an_expr_style_parse(optarg, &style)) {
                fprintf(stderr, "frugal eval: --expr: expected infix, sympy or latex, found '%s'\n",
                        optarg);
                return EXP_EXIT_USAGE;
            }
            break;
        case 'h': fputs(eval_usage, stdout); return EXP_EXIT_OK;
        default: fputs(eval_usage, stderr); return EXP_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || !data) {
        fputs(eval_usage, stderr);
        return EXP_EXIT_USAGE;
    }
    eval_program p = {0};
    exp_spec s = {0};
    bool loaded = false;
    char *text = NULL, *base = NULL, err[EXP_SPEC_ERRCAP];
    fit_ctx *ctx = NULL;
    double *errs = NULL;
    fit_case_detail d = {0};
    int rc;
    char path[4096];
    const char *id;
    if (split_run_arg(argv[optind], path, sizeof path, &id)) {
        rc = load_from_run(path, id, &p);
    } else {
        rc = exp_load_program(argv[optind], &p.code);
        snprintf(p.label, sizeof p.label, "%s", argv[optind]);
    }
    if (rc) goto cleanup;
    if (spec_path) {
        vm_buf b = {0};
        if ((rc = exp_read_file(spec_path, &b))) goto cleanup;
        base = calloc(1, b.len + 1);
        if (base) memcpy(base, b.data, b.len);
        vm_buf_free(&b);
    }
    text = eval_spec_text(base ? base : p.spec, data, target, err, sizeof err);
    if (!text) {
        fprintf(stderr, "frugal eval: %s: %s\n", spec_path ? spec_path : p.label, err);
        rc = EXP_EXIT_INPUT;
        goto cleanup;
    }
    rc = exp_spec_load(&s, spec_path ? spec_path : "(the run's spec)", text, NULL, 0, err,
                       sizeof err);
    if (rc) {
        fprintf(stderr, "frugal eval: %s\n", err);
        goto cleanup;
    }
    loaded = true;
    const fit_task *t = &s.task;
    const fit_cases *cs = &t->train;
    uint32_t no = fit_task_nout(t), n = cs->n;
    ctx = fit_ctx_new(t, &s.params.limits);
    errs = calloc((size_t)n * no + 1, sizeof *errs);
    d.out = calloc((size_t)n * no + 1, sizeof *d.out);
    d.has_out = calloc((size_t)n * no + 1, 1);
    d.gas = calloc((size_t)n + 1, sizeof *d.gas);
    d.memtime = calloc((size_t)n + 1, sizeof *d.memtime);
    d.status = calloc((size_t)n + 1, 1);
    d.out256 = calloc(((size_t)n * no + 1) * 32, 1);
    if (!ctx || !errs || !d.out || !d.has_out || !d.gas || !d.memtime || !d.status || !d.out256) {
        fprintf(stderr, "frugal eval: out of memory\n");
        rc = EXP_EXIT_FAIL;
        goto cleanup;
    }
    fit_result r = {.errors = errs};
    if (fit_eval_detail(ctx, p.code.data, p.code.len, cs, &r, &d)) {
        fprintf(stderr, "frugal eval: %s: the program cannot be loaded (%zu bytes)\n", p.label,
                p.code.len);
        rc = EXP_EXIT_INPUT;
        goto cleanup;
    }
    if (out && (rc = write_rows(out, t, cs, errs, &d))) goto cleanup;
    printf("program: %s, %zu bytes\n", p.label, p.code.len);
    printf("data:    %s, %u rows x %u output%s, sha256 %s\n", s.data.path, n, no,
           no == 1 ? "" : "s", s.data.sha256);
    printf("error:   %.17g (mean %.6g per row)\n", r.error, n ? r.error / n : 0.0);
    printf("hits:    %u/%u (error <= %g)\n", r.hits, n, t->hit_tol);
    if (no > 1) {
        /* which outputs a program has right: a row's hit needs all of them */
        printf("outputs:");
        for (uint32_t k = 0; k < no; k++) {
            uint32_t h = 0;
            for (uint32_t i = 0; i < n; i++)
                h += errs[(size_t)i * no + k] <= t->hit_tol;
            printf(" %u: %u/%u%s", k + 1, h, n, k + 1 < no ? "," : "");
        }
        printf(" rows within the tolerance\n");
    }
    printf("gas:     %" PRIu64 " (mean %.1f), memtime %" PRIu64 "\n", r.gas,
           n ? (double)r.gas / n : 0.0, r.memtime);
    printf("status:  worst %s; %u missing output%s, %u out of gas, %u faults\n",
           vm_status_name(r.worst), r.missing, r.missing == 1 ? "" : "s", r.out_of_gas, r.faults);
    if (expr) {
        an_expr_opts eo;
        char why[256] = "";
        if (an_expr_opts_task(t, &s.params.limits, &eo, why, sizeof why)) {
            printf("expr:    (no expression: %s)\n", why);
        } else {
            char *e = an_expr_string(p.code.data, p.code.len, &eo, style);
            if (!e) {
                fprintf(stderr, "frugal eval: out of memory\n");
                rc = EXP_EXIT_FAIL;
                goto cleanup;
            }
            printf("expr:    %s\n", e);
            free(e);
        }
    }
    if (out) printf("rows:    %s\n", out);
cleanup:
    fit_ctx_free(ctx);
    free(errs);
    free(d.out);
    free(d.has_out);
    free(d.gas);
    free(d.memtime);
    free(d.status);
    free(d.out256);
    if (loaded) exp_spec_free(&s);
    free(text);
    free(base);
    free(p.spec);
    vm_buf_free(&p.code);
    return rc;
}
