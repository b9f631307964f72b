/* Data tasks (docs/tasks.md, "Data tasks") and frugal eval: every kind of bad
 * data is exit 3 with file:line:column and no file written; a data task
 * made from a built-in task's own cases runs exactly as the built-in task;
 * the seeded split; the run file keeps the data, and resume uses it when the
 * file moved or changed; frugal eval gives the errors the run stored. The
 * CLI parts run the binary named by $FRUGAL, from the repository root. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/analysis.h"
#include "experiments/cli.h"
#include "experiments/spec.h"

static char dir[64];
static const char *frugal;

static void setup(void) {
    frugal = getenv("FRUGAL");
    tu_tmpdir(dir, sizeof dir, "frugal-data");
}

static void teardown(void) {
    tu_rmtree(dir);
}

TestSuite(data, .init = setup, .fini = teardown);

/* dir/name, in a static buffer of 8 (so that a few can be live at once). */
static const char *at(const char *name) {
    static char buf[8][256];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static void put(const char *name, const char *text, size_t len) {
    FILE *f = fopen(at(name), "wb");
    cr_assert(f, "%s: %s", at(name), strerror(errno));
    cr_assert_eq(fwrite(text, 1, len, f), len);
    fclose(f);
}
#define PUT(name, lit) put(name, lit, sizeof lit - 1)

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s: %s", path, strerror(errno));
    base_buf b = {0};
    cr_assert_eq(base_read_all(f, &b, SIZE_MAX), 0);
    cr_assert_eq(base_buf_reserve(&b, 1), 0);
    b.data[b.len] = 0;
    fclose(f);
    return (char *)b.data;
}

/* frugal with args (NULL-terminated); stdout and stderr to dir/tag.out, .err. */
static int frugal_run(const char *tag, const char *const *args) {
    cr_assert(frugal, "FRUGAL must name the frugal binary (make test sets it)");
    const char *argv[32];
    size_t n = 0;
    argv[n++] = frugal;
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char out[256], err[256];
    snprintf(out, sizeof out, "%s/%s.out", dir, tag);
    snprintf(err, sizeof err, "%s/%s.err", dir, tag);
    return tu_run_watched((char *const *)argv, out, err, NULL, 300);
}

static char *output(const char *tag, const char *ext) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s.%s", dir, tag, ext);
    return slurp(p);
}

/* ---- bad data: exit 3, file:line:column, nothing written ---- */

/* The file bad.<ext> holding len bytes of text fails `frugal run` with exit
 * 3, a message holding "bad.<ext>:<loc>: " and want, and no run file. */
static void bad(const char *ext, const char *text, size_t len, const char *loc, const char *want) {
    char name[32], spec[256];
    snprintf(name, sizeof name, "bad.%s", ext);
    put(name, text, len);
    if (!strcmp(ext, "csv"))
        snprintf(spec, sizeof spec,
                 "{\"task\": {\"data\": \"%s\", \"target\": \"y\"}, \"population\": {\"size\": "
                 "10}, \"budget\": {\"generations\": 1}}",
                 name);
    else
        snprintf(spec, sizeof spec,
                 "{\"task\": {\"data\": \"%s\"}, \"population\": {\"size\": 10}, \"budget\": "
                 "{\"generations\": 1}}",
                 name);
    put("bad.json", spec, strlen(spec));
    const char *a[] = {"run", at("bad.json"), "--out", at("bad.h5"), "--quiet", NULL};
    int rc = frugal_run("bad", a);
    char *err = output("bad", "err");
    char where[64];
    snprintf(where, sizeof where, "/%s:%s: ", name, loc);
    cr_assert_eq(rc, EXP_EXIT_INPUT, "exit %d: %s", rc, err);
    cr_assert(strstr(err, where), "no '%s' in: %s", where, err);
    cr_assert(strstr(err, want), "no '%s' in: %s", want, err);
    struct stat sb;
    cr_assert_neq(stat(at("bad.h5"), &sb), 0, "a run file was written");
    cr_assert_neq(stat(at("bad.h5.create-tmp"), &sb), 0, "a temporary file was left");
    free(err);
}
#define BAD(ext, lit, loc, want) bad(ext, lit, sizeof lit - 1, loc, want)

Test(data, bad_empty_file) {
    BAD("csv", "", "1:1", "empty file");
    BAD("jsonl", "\n\n", "1:1", "empty file");
}
Test(data, bad_header_only) {
    BAD("csv", "x,y\n", "1:1", "no rows after the header");
}
Test(data, bad_ragged_row_short) {
    BAD("csv", "x,y\n1,2\n3\n", "3:2", "row 2 has 1 fields; the header has 2");
}
Test(data, bad_ragged_row_long) {
    BAD("csv", "x,y\n1,2\n3,4,5\n", "3:5", "row 2 has more fields than the header's 2");
}
Test(data, bad_text_in_a_numeric_column) {
    BAD("csv", "x,y\n1,2\n3,abc\n", "3:3", "row 2, column 'y': expected a number, found 'abc'");
}
Test(data, bad_nan) {
    BAD("csv", "x,y\nNaN,2\n", "2:1", "row 1, column 'x': NaN is not a finite number");
}
Test(data, bad_inf) {
    BAD("csv", "x,y\n1,-inf\n", "2:3", "row 1, column 'y': -inf is not a finite number");
}
Test(data, bad_empty_value) {
    BAD("csv", "x,y\n1,\n", "2:3", "row 1, column 'y': an empty value");
}
Test(data, bad_missing_target) {
    BAD("csv", "x,z\n1,2\n", "1:1", "no column 'y' (the target; the columns are x, z)");
}
Test(data, bad_duplicate_header) {
    BAD("csv", "x,x,y\n1,2,3\n", "1:3", "duplicate column name 'x' (columns 1 and 2)");
}
Test(data, bad_out_of_range) {
    BAD("csv", "x,y\n1,2\n3e9,4\n", "3:1",
        "row 2, column 'x': 3e9 is outside the fixed-point range [-2^31, 2^31)");
    BAD("csv", "x,y\n1,-2147483649\n", "2:3", "outside the fixed-point range");
}
Test(data, bad_unclosed_quote) {
    BAD("csv", "x,y\n\"1,2\n", "2:1", "a quoted field is not closed on its line");
}
Test(data, bad_json_wrong_types) {
    BAD("jsonl", "{\"input1\": 1, \"output1\": 2}\n{\"input1\": \"a\", \"output1\": 2}\n", "2:2",
        "'input1' is a string; the first case has an integer");
    BAD("jsonl", "{\"input1\": 1.5, \"output1\": 2}\n", "1:2", "'input1' is a real number");
    BAD("jsonl", "{\"input1\": [1, true], \"output1\": 2}\n", "1:2",
        "'input1'[1] is a boolean; expected an integer");
    BAD("jsonl", "{\"input1\": 1, \"output1\": [2]}\n", "1:15",
        "outputs must be integers or booleans");
    BAD("jsonl", "[1, 2]\n", "1:1", "a case is a JSON object, found an array");
}
Test(data, bad_json_keys) {
    BAD("jsonl", "{\"input1\": 1, \"output1\": 2}\n{\"input1\": 1}\n", "2:1",
        "no key 'output1' (the first case has it)");
    BAD("jsonl", "{\"input1\": 1, \"output1\": 2}\n{\"input1\": 1, \"output1\": 2, \"x\": 3}\n",
        "2:29", "unexpected key 'x'");
    BAD("jsonl", "{\"input2\": 1, \"output1\": 2}\n", "1:1", "no key input1");
    BAD("jsonl", "{\"input1\": 1, \"output1\": 2, \"input1\": 3}\n", "1:36",
        "duplicate object key");
    /* a key longer than the buffer key_at once quoted it in (found by
     * fuzz_spec: it read past that buffer, and the column fell to 1) */
    BAD("jsonl",
        "{\"input1\": 1, \"output1\": 2, "
        "\"input1_with_a_name_much_longer_than_forty_characters\": 3}\n",
        "1:29", "unknown key 'input1_with_a_name_much_longer_than_forty_characters'");
}
Test(data, bad_json_syntax) {
    BAD("jsonl", "{\"input1\": 1, \"output1\": 2}\n{\"input1\": 1, \"output1\": 2\n", "2:26",
        "invalid JSON: '}' expected");
}

/* A run's hash (--json), with the data file given as text. */
static const char *run_hash(const char *tag, const char *data_name, const char *text, size_t len) {
    put(data_name, text, len);
    char spec[512];
    snprintf(spec, sizeof spec,
             "{\"task\": {\"data\": \"%s\", \"target\": \"y\"}, \"population\": {\"size\": 30}, "
             "\"budget\": {\"generations\": 3}}",
             data_name);
    char sp[64], out[64];
    snprintf(sp, sizeof sp, "%s.json", tag);
    snprintf(out, sizeof out, "%s.h5", tag);
    put(sp, spec, strlen(spec));
    const char *a[] = {"run", at(sp), "--out", at(out), "--json", "--quiet", NULL};
    int rc = frugal_run(tag, a);
    cr_assert_eq(rc, 0, "%s: exit %d: %s", tag, rc, output(tag, "err"));
    char *got = output(tag, "out");
    json_t *j = json_loads(got, 0, NULL);
    free(got);
    cr_assert(j);
    static char hash[4][32];
    static int k;
    char *h = hash[k++ % 4];
    snprintf(h, 32, "%s", json_string_value(json_object_get(j, "hash")));
    json_decref(j);
    return h;
}

/* A UTF-8 BOM is skipped and CRLF line ends are read as LF: the same run. */
Test(data, bom_and_crlf_are_accepted) {
    const char plain[] = "x,y\n0.5,1\n1,2\n-1,0.25\n";
    const char crlf[] = "\xEF\xBB\xBFx,y\r\n0.5,1\r\n1,2\r\n-1,0.25\r\n";
    const char *a = run_hash("plain", "plain.csv", plain, sizeof plain - 1);
    const char *b = run_hash("crlf", "crlf.csv", crlf, sizeof crlf - 1);
    cr_assert_str_eq(a, b);
}

/* ---- equivalence with built-in tasks ---- */

static int load(exp_spec *s, const char *text) {
    char err[EXP_SPEC_ERRCAP];
    int rc = exp_spec_load(s, "t.json", text, NULL, 0, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    return rc;
}

static uint64_t run_to_end(const exp_spec *s) {
    char err[256];
    evo_run *r = evo_run_new(&s->params, &s->task, err, sizeof err);
    cr_assert(r, "%s", err);
    cr_assert_eq(evo_run_until_done(r), 0);
    uint64_t h = evo_run_hash(r);
    evo_run_free(r);
    return h;
}

static void same_cases(const fit_task *a, const fit_task *b, const fit_cases *x,
                       const fit_cases *y) {
    uint32_t no = fit_task_nout(a);
    cr_assert_eq(x->n, y->n);
    size_t nin = x->off ? x->off[x->n] : (size_t)x->n * a->n_in;
    cr_assert_eq(!x->off, !y->off);
    if (x->off) cr_assert_eq(memcmp(x->off, y->off, (x->n + 1) * sizeof *x->off), 0);
    cr_assert_eq(memcmp(x->in, y->in, nin * sizeof *x->in), 0);
    cr_assert_eq(memcmp(x->want, y->want, (size_t)x->n * no * sizeof *x->want), 0);
    cr_assert_eq(!x->target, !y->target);
    if (x->target) cr_assert_eq(memcmp(x->target, y->target, x->n * sizeof *x->target), 0);
    cr_assert_eq(!x->in256, !y->in256);
    if (x->in256) {
        cr_assert_eq(memcmp(x->in256, y->in256, (size_t)x->n * a->n_in * 32), 0);
        cr_assert_eq(memcmp(x->want256, y->want256, (size_t)x->n * no * 32), 0);
    }
    (void)b;
}

/* A random EVM program over the calldata words that mostly RETURNs a word:
 * up to 24 of a few opcodes (PUSH1 with a calldata offset), then MSTORE at
 * 0 and RETURN 32 bytes (every eighth program without that tail). */
static size_t random_evm(uint64_t *seed, uint8_t *c) {
    static const uint8_t ops[] = {0x35, 0x01, 0x03, 0x02, 0x10, 0x11, 0x14, 0x15, 0x16,
                                  0x17, 0x18, 0x19, 0x80, 0x81, 0x90, 0x50, 0x60};
    size_t n = 0, k = base_splitmix64(seed) % 25;
    for (size_t i = 0; i < k; i++) {
        uint8_t op = ops[base_splitmix64(seed) % sizeof ops];
        c[n++] = op;
        if (op == 0x60) c[n++] = (uint8_t)(32 * (base_splitmix64(seed) % 4));
    }
    if (base_splitmix64(seed) % 8) {
        static const uint8_t tail[] = {0x60, 0, 0x52, 0x60, 32, 0x60, 0, 0xf3};
        memcpy(c + n, tail, sizeof tail);
        n += sizeof tail;
    }
    return n;
}

/* The task settings the engine sees, then random programs' errors, gas and
 * memory-time on both tasks, then whole runs' hashes. */
static void equivalent(const exp_spec *a, const exp_spec *b) {
    const fit_task *x = &a->task, *y = &b->task;
    cr_assert_eq(x->n_in, y->n_in);
    cr_assert_eq(x->isa, y->isa);
    cr_assert_eq(x->io, y->io);
    cr_assert_eq(fit_task_nout(x), fit_task_nout(y));
    cr_assert_eq(x->error, y->error);
    cr_assert_eq(x->fixed_point, y->fixed_point);
    cr_assert_eq(x->penalty, y->penalty);
    cr_assert_eq(x->hit_tol, y->hit_tol);
    cr_assert_eq(memcmp(&x->limits, &y->limits, sizeof x->limits), 0);
    same_cases(x, y, &x->train, &y->train);
    same_cases(x, y, &x->test, &y->test);
    cr_assert_eq(memcmp(&a->params, &b->params, sizeof a->params), 0, "parameters differ");
    fit_ctx *cx = fit_ctx_new(x, &a->params.limits), *cy = fit_ctx_new(y, &b->params.limits);
    uint32_t ne = fit_task_nerrors(x, FIT_TRAIN);
    double *ex = calloc(ne, sizeof *ex), *ey = calloc(ne, sizeof *ey);
    uint64_t seed = 19;
    for (int k = 0; k < 300; k++) {
        uint8_t code[256];
        size_t len = x->isa == FIT_ISA_EVM ? random_evm(&seed, code)
                                           : tu_random_program(&seed, code, sizeof code);
        fit_result rx = {.errors = ex}, ry = {.errors = ey};
        fit_eval(cx, code, len, FIT_TRAIN, &rx);
        fit_eval(cy, code, len, FIT_TRAIN, &ry);
        cr_assert_eq(memcmp(ex, ey, ne * sizeof *ex), 0, "program %d: errors differ", k);
        cr_assert_eq(rx.gas, ry.gas);
        cr_assert_eq(rx.memtime, ry.memtime);
        cr_assert_eq(rx.hits, ry.hits);
    }
    free(ex);
    free(ey);
    fit_ctx_free(cx);
    fit_ctx_free(cy);
    cr_assert_eq(run_to_end(a), run_to_end(b), "the runs' population hashes differ");
}

#define RUN_KEYS "\"seed\": 7, \"population\": {\"size\": 60}, \"budget\": {\"generations\": 4}"

Test(data, quartic_from_a_csv_is_the_builtin_quartic) {
    exp_spec q, d;
    load(&q, "{\"task\": {\"name\": \"quartic\"}, " RUN_KEYS "}");
    FILE *f = fopen(at("quartic.csv"), "w");
    fprintf(f, "x,y\n");
    for (uint32_t i = 0; i < q.task.train.n; i++) /* %.17g round-trips both */
        fprintf(f, "%.17g,%.17g\n", vm_fx_to_double(q.task.train.in[i]), q.task.train.target[i]);
    fclose(f);
    char text[512];
    snprintf(text, sizeof text, "{\"task\": {\"data\": \"%s\", \"target\": \"y\"}, " RUN_KEYS "}",
             at("quartic.csv"));
    load(&d, text);
    equivalent(&q, &d);
    exp_spec_free(&q);
    exp_spec_free(&d);
}

/* Write a split's cases as PSB2 JSON lines (scalar inputs, or one vector). */
static void write_jsonl(const char *name, const fit_task *t, const fit_cases *cs) {
    FILE *f = fopen(at(name), "w");
    uint32_t no = fit_task_nout(t);
    for (uint32_t i = 0; i < cs->n; i++) {
        fputc('{', f);
        if (cs->off) {
            fprintf(f, "\"input1\": [");
            for (uint32_t k = cs->off[i]; k < cs->off[i + 1]; k++)
                fprintf(f, "%s%lld", k > cs->off[i] ? ", " : "", (long long)cs->in[k]);
            fputc(']', f);
        } else {
            for (uint32_t k = 0; k < t->n_in; k++)
                fprintf(f, "%s\"input%u\": %lld", k ? ", " : "", k + 1,
                        (long long)cs->in[(size_t)i * t->n_in + k]);
        }
        for (uint32_t k = 0; k < no; k++)
            fprintf(f, ", \"output%u\": %lld", k + 1, (long long)cs->want[(size_t)i * no + k]);
        fprintf(f, "}\n");
    }
    fclose(f);
}

/* A split's 256-bit words as EVM JSON lines ("0x" hex strings). */
static void write_evm_jsonl(const char *name, const fit_task *t, const fit_cases *cs) {
    FILE *f = fopen(at(name), "w");
    uint32_t no = fit_task_nout(t);
    for (uint32_t i = 0; i < cs->n; i++) {
        for (uint32_t k = 0; k < t->n_in + no; k++) {
            bool out = k >= t->n_in;
            const uint8_t *w = out ? cs->want256 + ((size_t)i * no + k - t->n_in) * 32
                                   : cs->in256 + ((size_t)i * t->n_in + k) * 32;
            fprintf(f, "%s\"%s%u\": \"0x", k ? ", " : "{", out ? "output" : "input",
                    (out ? k - t->n_in : k) + 1);
            for (int j = 0; j < 32; j++)
                fprintf(f, "%02x", w[j]);
            fputc('"', f);
        }
        fprintf(f, "}\n");
    }
    fclose(f);
}

/* A built-in task's own cases as JSON lines (write: the writer) make a data
 * task (with extra keys) that is the built-in task. */
static void jsonl_equivalence(const char *task, const char *extra,
                              void (*write)(const char *, const fit_task *, const fit_cases *)) {
    exp_spec b, d;
    char text[1024];
    snprintf(text, sizeof text,
             "{\"task\": {\"name\": \"%s\", \"n_train\": 60, \"n_test\": 40}, " RUN_KEYS "}", task);
    load(&b, text);
    write("train.jsonl", &b.task, &b.task.train);
    write("test.jsonl", &b.task, &b.task.test);
    snprintf(text, sizeof text,
             "{\"task\": {\"data\": \"%s\", \"test\": \"%s\"%s}, " RUN_KEYS "%s}",
             at("train.jsonl"), at("test.jsonl"), extra,
             strstr(extra, "1000") ? ", \"genome\": {\"constants\": [0, 1, 2]}" : "");
    load(&d, text);
    equivalent(&b, &d);
    exp_spec_free(&b);
    exp_spec_free(&d);
}

Test(data, gcd_from_json_lines_is_the_builtin_gcd) {
    jsonl_equivalence("gcd", "", write_jsonl);
}

Test(data, count_odds_from_json_lines_is_the_builtin_count_odds) {
    jsonl_equivalence("count-odds", ", \"penalty\": 1000", write_jsonl);
}

/* A vector task's elements come in through the argument words (NARGS,
 * ITEM, EACH) when every vector fits them, else through the input channel
 * (IN): the opcode set offers the one way in that the data allow. */
Test(data, long_vectors_come_through_the_input_channel) {
    size_t cap = 16 * (VM_MAX_ARGS + 2) + 64;
    char *line = malloc(cap);
    for (int k = 0; k < 2; k++) {
        uint32_t n = k ? VM_MAX_ARGS + 1 : 3; /* the first case's length */
        size_t at_ = (size_t)snprintf(line, cap, "{\"input1\": [");
        for (uint32_t i = 0; i < n; i++)
            at_ += (size_t)snprintf(line + at_, cap - at_, "%s%u", i ? ", " : "", i % 7);
        snprintf(line + at_, cap - at_, "], \"output1\": %u}\n{\"input1\": [4], \"output1\": 1}\n",
                 n);
        put("v.jsonl", line, strlen(line));
        exp_spec d;
        char text[512];
        snprintf(text, sizeof text, "{\"task\": {\"data\": \"%s\"}, " RUN_KEYS "}", at("v.jsonl"));
        load(&d, text);
        cr_assert_eq(d.task.io, FIT_IO_CHANNEL);
        bool in = false, each = false, nargs = false;
        for (uint32_t i = 0; i < d.params.genome.nops; i++) {
            in |= d.params.genome.ops[i] == VM_OP_IN;
            each |= d.params.genome.ops[i] == VM_OP_EACH;
            nargs |= d.params.genome.ops[i] == VM_OP_NARGS;
        }
        cr_assert_eq(in, k == 1, "vector of %u: IN", n);
        cr_assert_eq(each && nargs, k == 0, "vector of %u: EACH, NARGS", n);
        run_to_end(&d);
        exp_spec_free(&d);
    }
    free(line);
}

/* An EVM data task (task.isa "evm") from a built-in EVM task's own cases
 * ("0x" words) is that task. */
Test(data, evm_max_from_json_lines_is_the_builtin_evm_max) {
    jsonl_equivalence("evm-max", ", \"isa\": \"evm\", \"loss\": \"bits\"", write_evm_jsonl);
}

Test(data, evm_popcount_from_json_lines_is_the_builtin_evm_popcount) {
    jsonl_equivalence("evm-popcount", ", \"isa\": \"evm\", \"penalty\": 256", write_evm_jsonl);
}

/* EVM JSON lines: integers (negative ones in two's complement), booleans
 * and hex strings as calldata words; what the EVM does not take. */
Test(data, evm_json_lines_words_and_refusals) {
    PUT("e.jsonl", "{\"input1\": 5, \"input2\": -1, \"input3\": \"0x1F\", \"output1\": true}\n");
    exp_spec d;
    char text[512], err[EXP_SPEC_ERRCAP];
    snprintf(text, sizeof text, "{\"task\": {\"data\": \"%s\", \"isa\": \"evm\"}, " RUN_KEYS "}",
             at("e.jsonl"));
    load(&d, text);
    const fit_task *t = &d.task;
    cr_assert_eq(t->isa, FIT_ISA_EVM);
    cr_assert_eq(t->io, FIT_IO_CALLDATA);
    cr_assert_eq(t->error, FIT_ERR_BOOL);
    cr_assert_eq(t->penalty, 1);
    uint8_t w[3][32] = {{0}};
    w[0][31] = 5;
    memset(w[1], 0xff, 32);
    w[2][31] = 0x1f;
    cr_assert_eq(memcmp(t->train.in256, w, sizeof w), 0);
    cr_assert_eq(t->train.want256[31], 1);
    exp_spec_free(&d);
    static const char *const refused[][3] = {
        {"v.jsonl", "{\"input1\": [1, 2], \"output1\": 3}\n", "an EVM task reads calldata words"},
        {"r.jsonl", "{\"input1\": \"12\", \"output1\": 3}\n", "\"0x\" hex strings of up to 64"},
        {"c.csv", "x,y\n1,2\n", "no fixed-point convention"}};
    for (int k = 0; k < 3; k++) {
        put(refused[k][0], refused[k][1], strlen(refused[k][1]));
        snprintf(text, sizeof text,
                 "{\"task\": {\"data\": \"%s\", \"isa\": \"evm\"%s}, " RUN_KEYS "}",
                 at(refused[k][0]), k == 2 ? ", \"target\": \"y\"" : "");
        cr_assert_eq(exp_spec_load(&d, "t.json", text, NULL, 0, err, sizeof err), EXP_EXIT_INPUT,
                     "%s", refused[k][0]);
        cr_assert(strstr(err, refused[k][2]), "%s: %s", refused[k][0], err);
    }
    snprintf(text, sizeof text, "{\"task\": {\"data\": \"%s\", \"loss\": \"bits\"}, " RUN_KEYS "}",
             at("e.jsonl"));
    cr_assert_eq(exp_spec_load(&d, "t.json", text, NULL, 0, err, sizeof err), EXP_EXIT_INPUT);
}

/* ---- the split ---- */

Test(data, split_is_seeded_and_partitions_the_rows) {
    FILE *f = fopen(at("rows.csv"), "w");
    fprintf(f, "x,y\n");
    for (int i = 0; i < 100; i++)
        fprintf(f, "%d,%d\n", i, 2 * i);
    fclose(f);
    char text[512];
    exp_spec s[3];
    for (int k = 0; k < 3; k++) {
        snprintf(text, sizeof text,
                 "{\"task\": {\"data\": \"%s\", \"target\": \"y\", \"split\": 0.25}, \"seed\": %d}",
                 at("rows.csv"), k < 2 ? 1 : 2);
        load(&s[k], text);
        cr_assert_eq(s[k].task.train.n, 75);
        cr_assert_eq(s[k].task.test.n, 25);
        int seen[100] = {0};
        vm_word last = -1;
        for (uint32_t i = 0; i < 75; i++) {
            vm_word x = s[k].task.train.in[i] >> 32;
            cr_assert(x > last, "the training rows keep the file's order");
            last = x;
            seen[x]++;
            cr_assert_eq(s[k].task.train.target[i], 2.0 * (double)x);
        }
        for (uint32_t i = 0; i < 25; i++)
            seen[s[k].task.test.in[i] >> 32]++;
        for (int i = 0; i < 100; i++)
            cr_assert_eq(seen[i], 1, "row %d", i);
    }
    cr_assert_eq(memcmp(s[0].task.test.in, s[1].task.test.in, 25 * sizeof(vm_word)), 0);
    cr_assert_neq(memcmp(s[0].task.test.in, s[2].task.test.in, 25 * sizeof(vm_word)), 0,
                  "another seed draws another split");
    for (int k = 0; k < 3; k++)
        exp_spec_free(&s[k]);
}

/* ---- the spec ---- */

Test(data, shipped_data_specs_load_and_their_canonical_form_is_stable) {
    glob_t g;
    cr_assert_eq(glob("specs/data/*.json", 0, NULL, &g), 0, "run from the repo root");
    cr_assert_geq(g.gl_pathc, 2);
    for (size_t k = 0; k < g.gl_pathc; k++) {
        exp_spec a, b;
        char e[EXP_SPEC_ERRCAP];
        cr_assert_eq(exp_spec_load(&a, g.gl_pathv[k], NULL, NULL, 0, e, sizeof e), 0, "%s", e);
        cr_assert_eq(exp_spec_load(&b, g.gl_pathv[k], a.canonical, NULL, 0, e, sizeof e), 0, "%s",
                     e);
        cr_assert_str_eq(a.canonical, b.canonical);
        cr_assert_str_eq(a.data.sha256, b.data.sha256);
        exp_spec_free(&a);
        exp_spec_free(&b);
    }
    globfree(&g);
}

Test(data, data_keys_belong_to_the_data_task) {
    exp_spec s;
    char err[EXP_SPEC_ERRCAP];
    cr_assert_eq(exp_spec_load(&s, "t.json",
                               "{\"task\": {\"name\": \"quartic\", \"target\": \"y\"}}", NULL, 0,
                               err, sizeof err),
                 EXP_EXIT_INPUT);
    cr_assert(strstr(err, "$.task.target: only the task \"data\""), "%s", err);
    cr_assert_eq(
        exp_spec_load(&s, "t.json", "{\"task\": {\"data\": \"x.txt\"}}", NULL, 0, err, sizeof err),
        EXP_EXIT_INPUT);
    cr_assert(strstr(err, "$.task.data: expected a .csv, .jsonl or .json"), "%s", err);
    cr_assert_eq(exp_spec_load(&s, "t.json",
                               "{\"task\": {\"data\": \"no/such.csv\", \"target\": \"y\"}}", NULL,
                               0, err, sizeof err),
                 EXP_EXIT_IO);
    cr_assert(strstr(err, "no/such.csv: cannot open the data file"), "%s", err);
}

/* ---- the run file keeps the data; resume; threads ---- */

static const char kepler[] = "a,T\n0.387098,0.240846\n0.723332,0.615198\n1.000001,1.000017\n"
                             "1.523679,1.88085\n5.2044,11.862\n9.5826,29.4571\n";

static json_t *json_of(const char *tag) {
    char *text = output(tag, "out");
    json_t *j = json_loads(text, 0, NULL);
    cr_assert(j, "%s: %s", text, output(tag, "err"));
    free(text);
    return j;
}

/* Write the spec k.json on k.csv (generations gens, per-case errors). */
static void kepler_spec(int gens) {
    PUT("k.csv", kepler);
    char spec[512];
    snprintf(spec, sizeof spec,
             "{\"task\": {\"data\": \"k.csv\", \"target\": \"T\", \"split\": 0.3}, \"population\": "
             "{\"size\": 80, \"islands\": 2}, \"budget\": {\"generations\": %d}, \"output\": "
             "{\"per_case\": true}}",
             gens);
    put("k.json", spec, strlen(spec));
}

Test(data, same_result_for_1_and_2_threads) {
    kepler_spec(8);
    const char *a[] = {"run",     at("k.json"), "--out", at("t1.h5"), "--json",
                       "--quiet", "--threads",  "1",     NULL};
    const char *b[] = {"run",     at("k.json"), "--out", at("t2.h5"), "--json",
                       "--quiet", "--threads",  "2",     NULL};
    cr_assert_eq(frugal_run("t1", a), 0, "%s", output("t1", "err"));
    cr_assert_eq(frugal_run("t2", b), 0, "%s", output("t2", "err"));
    json_t *x = json_of("t1"), *y = json_of("t2");
    cr_assert_str_eq(json_string_value(json_object_get(x, "hash")),
                     json_string_value(json_object_get(y, "hash")));
    json_decref(x);
    json_decref(y);
}

/* Run 3 of 10 generations in-process into dir/part.h5, as a killed run
 * leaves it. */
static void partial_run(void) {
    unlink(at("part.h5"));
    exp_spec s;
    char err[EXP_SPEC_ERRCAP];
    cr_assert_eq(exp_spec_load(&s, at("k.json"), NULL, NULL, 0, err, sizeof err), 0, "%s", err);
    evo_run *r = evo_run_new(&s.params, &s.task, err, sizeof err);
    cr_assert(r, "%s", err);
    st_file files[ST_MAX_FILES];
    st_opts so = {.spec_json = s.canonical,
                  .spec_name = s.name,
                  .per_case = s.per_case,
                  .files = files,
                  .nfiles = exp_spec_store_files(&s, files)};
    cr_assert_eq(so.nfiles, 1);
    st_store *st = st_create(at("part.h5"), &so, r, err, sizeof err);
    cr_assert(st, "%s", err);
    for (int g = 0; g < 3; g++) {
        cr_assert_eq(evo_run_step(r), 0);
        cr_assert_eq(st_append(st, r, 0, err, sizeof err), 0, "%s", err);
    }
    cr_assert_eq(st_close(st, r, err, sizeof err), 0, "%s", err);
    evo_run_free(r);
    exp_spec_free(&s);
}

static void resume_matches(const char *tag, const char *ref_hash, const char *note) {
    const char *a[] = {"resume", at("part.h5"), "--json", "--quiet", NULL};
    int rc = frugal_run(tag, a);
    char *err = output(tag, "err");
    cr_assert_eq(rc, 0, "%s: exit %d: %s", tag, rc, err);
    if (note)
        cr_assert(strstr(err, note), "%s: no '%s' in: %s", tag, note, err);
    else
        cr_assert_eq(err[0], 0, "%s: %s", tag, err);
    json_t *j = json_of(tag);
    cr_assert_str_eq(json_string_value(json_object_get(j, "hash")), ref_hash, "%s", tag);
    json_decref(j);
    free(err);
}

Test(data, resume_uses_the_kept_data_when_the_file_moved_or_changed) {
    kepler_spec(10);
    const char *a[] = {"run", at("k.json"), "--out", at("ref.h5"), "--json", "--quiet", NULL};
    cr_assert_eq(frugal_run("ref", a), 0, "%s", output("ref", "err"));
    json_t *ref = json_of("ref");
    const char *h = json_string_value(json_object_get(ref, "hash"));
    /* the file where it was: no note */
    partial_run();
    resume_matches("same", h, NULL);
    /* moved */
    partial_run();
    cr_assert_eq(rename(at("k.csv"), at("k-moved.csv")), 0);
    resume_matches("moved", h, "is not there (moved?); the run goes on with the copy");
    cr_assert_eq(rename(at("k-moved.csv"), at("k.csv")), 0);
    /* changed */
    partial_run();
    PUT("k.csv", "a,T\n1,1\n2,2.8284\n");
    resume_matches("changed", h, "has CHANGED since the run began");
    json_decref(ref);
}

/* frugal disasm --expr and frugal report rebuild a data task from the run
 * file's /cases (the data file may be gone) and name its input columns. */
Test(data, report_and_disasm_show_expressions_with_column_names) {
    PUT("kn.csv", "a_au,T\n0.387098,0.240846\n0.723332,0.615198\n1.000001,1.000017\n"
                  "1.523679,1.88085\n5.2044,11.862\n9.5826,29.4571\n");
    PUT("kn.json", "{\"task\": {\"data\": \"kn.csv\", \"target\": \"T\"}, \"genome\": "
                   "{\"opcodes\": [\"DUP\", \"FMUL\", \"FSQRT\", \"ADD\"]}, "
                   "\"population\": {\"size\": 50}, \"budget\": {\"generations\": 5}}");
    const char *a[] = {"run", at("kn.json"), "--out", at("kn.h5"), "--quiet", NULL};
    cr_assert_eq(frugal_run("kn", a), 0, "%s", output("kn", "err"));
    cr_assert_eq(unlink(at("kn.csv")), 0);
    static const char *const styles[][2] = {
        {"--expr", "a_au"}, {"--expr=sympy", "Symbol('a_au')"}, {"--expr=latex", "\\text{a\\_au}"}};
    char id[256];
    snprintf(id, sizeof id, "%s:best", at("kn.h5"));
    for (int k = 0; k < 3; k++) {
        const char *d[] = {"disasm", id, styles[k][0], NULL};
        cr_assert_eq(frugal_run("kd", d), 0, "%s", output("kd", "err"));
        char *o = output("kd", "out");
        cr_assert(strstr(o, styles[k][1]) && !strstr(o, "no expression") && (k || !strchr(o, 'x')),
                  "%s: %s", styles[k][0], o);
        free(o);
    }
    const char *r[] = {"report",  at("kn.h5"), "--out", at("krep"),
                       "--quiet", "--format",  "svg",   NULL};
    int rc = frugal_run("kr", r);
    cr_assert(rc == 0 || rc == EXP_EXIT_FAIL, "exit %d: %s", rc, output("kr", "err"));
    char *best = slurp(at("krep/best.csv")), *md = slurp(at("krep/report.md"));
    cr_assert(strstr(best, "a_au") && !strstr(best, "no expression"), "%s", best);
    cr_assert(strstr(md, "As an expression: `") && strstr(md, "a_au"), "%s", md);
    free(best);
    free(md);
}

/* ---- frugal eval ---- */

/* The error column of eval's rows equals the per-case errors the run stored. */
static void eval_matches_on(const char *run, const char *data, const char *id, uint64_t gen,
                            uint32_t island, uint32_t slot) {
    char arg[256];
    snprintf(arg, sizeof arg, "%s%s%s", at(run), id ? ":" : "", id ? id : "");
    const char *a[] = {"eval", arg, "--data", at(data), "--out", at("rows.csv"), NULL};
    int rc = frugal_run("eval", a);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, output("eval", "err"));
    an_run r;
    char err[512];
    cr_assert_eq(an_run_load(at(run), &r, NULL, err, sizeof err), 0, "%s", err);
    if (!id || !strcmp(id, "best")) {
        gen = r.generations - 1;
        island = r.stats[gen].best_island;
        slot = r.stats[gen].best_slot;
    }
    uint64_t row = an_row(&r, gen, island, slot);
    double *e = calloc(r.cases, sizeof *e);
    cr_assert_eq(an_case_errors(&r, row, e), 0);
    char *rows = slurp(at("rows.csv")), *save = NULL;
    char *line = strtok_r(rows, "\n", &save); /* the header */
    cr_assert_str_eq(line, "row,prediction,expected,error,gas,memtime,status");
    double sum = 0;
    uint64_t gas = 0;
    for (uint32_t i = 0; i < r.cases; i++) {
        line = strtok_r(NULL, "\n", &save);
        cr_assert(line, "row %u missing", i + 1);
        char *c = line;
        for (int k = 0; k < 3; k++)
            c = strchr(c, ',') + 1;
        double got = strtod(c, &c);
        cr_assert_eq(got, e[i], "%s row %u: eval %.17g, stored %.17g (individual %llu:%u:%u)",
                     id ? id : "(none)", i + 1, got, e[i], (unsigned long long)gen, island, slot);
        sum += got;
        gas += strtoull(c + 1, NULL, 10);
    }
    cr_assert_null(strtok_r(NULL, "\n", &save), "more rows than cases");
    cr_assert_eq(sum, r.error[row]);
    cr_assert_eq(gas, r.gas[row]);
    char *out = output("eval", "out");
    cr_assert(strstr(out, "error:   "), "%s", out);
    free(out);
    free(rows);
    free(e);
    an_run_free(&r);
}

static void eval_matches(const char *id, uint64_t gen, uint32_t island, uint32_t slot) {
    eval_matches_on("ev.h5", "all.csv", id, gen, island, slot);
}

/* frugal eval on a built-in EVM task's run, its training cases as EVM JSON
 * lines: the errors and gas the run stored. */
Test(data, eval_on_an_evm_run_gives_the_errors_the_run_stored) {
    static const char spec[] =
        "{\"task\": {\"name\": \"evm-max\", \"n_train\": 40, \"n_test\": 10}, "
        "\"population\": {\"size\": 60}, \"budget\": {\"generations\": "
        "4}, \"output\": {\"per_case\": true, \"population\": \"every\"}}";
    PUT("em.json", spec);
    exp_spec s;
    load(&s, spec);
    write_evm_jsonl("em.jsonl", &s.task, &s.task.train);
    exp_spec_free(&s);
    const char *a[] = {"run", at("em.json"), "--out", at("em.h5"), "--quiet", NULL};
    cr_assert_eq(frugal_run("em", a), 0, "%s", output("em", "err"));
    eval_matches_on("em.h5", "em.jsonl", NULL, 0, 0, 0);
    eval_matches_on("em.h5", "em.jsonl", "2:0:5", 2, 0, 5);
}

Test(data, eval_gives_the_errors_the_run_stored) {
    PUT("all.csv", kepler);
    PUT("ev.json", "{\"task\": {\"data\": \"all.csv\", \"target\": \"T\"}, \"population\": "
                   "{\"size\": 50, \"islands\": 2}, \"budget\": {\"generations\": 5}, \"output\": "
                   "{\"per_case\": true, \"population\": \"every\"}}");
    const char *a[] = {"run", at("ev.json"), "--out", at("ev.h5"), "--quiet", NULL};
    cr_assert_eq(frugal_run("ev", a), 0, "%s", output("ev", "err"));
    eval_matches(NULL, 0, 0, 0);
    eval_matches("best", 0, 0, 0);
    eval_matches("3:1:7", 3, 1, 7);
    eval_matches("0:0:0", 0, 0, 0);
}

/* With several outputs, eval counts each output's hits: a program that has
 * the pennies and quarters of Coin Sums right, and the nickels and dimes
 * wrong, is told apart from one wrong everywhere. */
Test(data, eval_counts_each_outputs_hits) {
    /* n = 1, 7, 30, 41: pennies n % 5, nickels, dimes, quarters n / 25 */
    PUT("coins.jsonl", "{\"input1\": 1, \"output1\": 1, \"output2\": 0, \"output3\": 0, "
                       "\"output4\": 0}\n"
                       "{\"input1\": 7, \"output1\": 2, \"output2\": 1, \"output3\": 0, "
                       "\"output4\": 0}\n"
                       "{\"input1\": 30, \"output1\": 0, \"output2\": 1, \"output3\": 0, "
                       "\"output4\": 1}\n"
                       "{\"input1\": 41, \"output1\": 1, \"output2\": 1, \"output3\": 1, "
                       "\"output4\": 1}\n");
    /* pennies; nickels and dimes both 0; quarters */
    PUT("c.s", "ARG 0\nPUSH 5\nMOD\nPUSH 0\nPUSH 0\nARG 0\nPUSH 25\nDIV\nHALT\n");
    const char *a[] = {"eval", at("c.s"), "--data", at("coins.jsonl"), NULL};
    cr_assert_eq(frugal_run("co", a), 0, "%s", output("co", "err"));
    char *out = output("co", "out");
    cr_assert(strstr(out, "hits:    1/4"), "%s", out);
    cr_assert(strstr(out, "outputs: 1: 4/4, 2: 1/4, 3: 3/4, 4: 4/4 rows within the tolerance"),
              "%s", out);
    free(out);
    /* one output: no such line */
    PUT("p1.s", "ARG 0\nHALT\n");
    PUT("one.csv", "x,y\n1,1\n2,3\n");
    const char *b[] = {"eval", at("p1.s"), "--data", at("one.csv"), "--target", "y", NULL};
    cr_assert_eq(frugal_run("one", b), 0, "%s", output("one", "err"));
    out = output("one", "out");
    cr_assert(strstr(out, "hits:    1/2") && !strstr(out, "outputs:"), "%s", out);
    free(out);
}

Test(data, eval_arguments) {
    const char *h[] = {"eval", "--help", NULL};
    cr_assert_eq(frugal_run("h", h), 0);
    char *help = output("h", "out");
    cr_assert(strstr(help, "usage: frugal eval"));
    free(help);
    const char *none[] = {"eval", "x.s", NULL};
    cr_assert_eq(frugal_run("none", none), EXP_EXIT_USAGE, "--data is required");
    PUT("p.s", "ARG 0\nDUP 0\nFMUL\nHALT\n");
    PUT("sq.csv", "x,y\n1,1\n2,4\n0.5,0.25\n");
    const char *sq[] = {"eval", at("p.s"), "--data", at("sq.csv"), "--target", "y", NULL};
    cr_assert_eq(frugal_run("sq", sq), 0, "%s", output("sq", "err"));
    char *out = output("sq", "out");
    cr_assert(strstr(out, "hits:    3/3"), "%s", out);
    free(out);
    const char *bad_id[] = {"eval", "nosuch.h5:9:9:9", "--data", at("sq.csv"), NULL};
    cr_assert_eq(frugal_run("badid", bad_id), EXP_EXIT_IO);
    /* --expr: the program as an expression, in each style */
    static const char *const styles[][2] = {{"--expr", "expr:    x*x"},
                                            {"--expr=sympy", "expr:    x*x"},
                                            {"--expr=latex", "x \\cdot x"}};
    for (int k = 0; k < 3; k++) {
        const char *ex[] = {"eval",     at("p.s"), "--data",     at("sq.csv"),
                            "--target", "y",       styles[k][0], NULL};
        cr_assert_eq(frugal_run("ex", ex), 0, "%s", output("ex", "err"));
        char *o = output("ex", "out");
        cr_assert(strstr(o, styles[k][1]), "%s: %s", styles[k][0], o);
        free(o);
    }
    const char *bad_style[] = {"eval", at("p.s"), "--data", at("sq.csv"), "--expr=roman", NULL};
    cr_assert_eq(frugal_run("bs", bad_style), EXP_EXIT_USAGE);
}
