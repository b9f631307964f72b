/* EVM superoptimisation: text blocks with opaque symbolic pushes, the stack
 * model against the EVM itself, the soundness of the symbolic normaliser,
 * the symbolic search and its windows, the lower bound, and frugal superopt
 * end to end (known answers, errors, JSON summary, thread counts). */
#include "testutil.h"

#include "fitness/fitness.h"
#include "vm/evm/evm.h"

#include <jansson.h>
#include <stdio.h>
#include <unistd.h>

int exp_cmd_superopt(int argc, char **argv);

/* ---- helpers ---- */

static int64_t ts_range(void *ctx, int64_t lo, int64_t hi) {
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    uint64_t v = tu_next((uint64_t *)ctx);
    return span ? (int64_t)((uint64_t)lo + v % span) : (int64_t)v;
}

static int make_task(const char *block, fit_task *t, char *err, size_t cap) {
    uint64_t s = 1;
    fit_rng rng = {&s, ts_range};
    fit_task_opts o = {.block_hex = block, .equiv_samples = 2000};
    return fit_task_make("evm-superopt", &o, &rng, t, err, cap);
}

static void task(const char *block, fit_task *t) {
    char err[256] = "";
    cr_assert_eq(make_task(block, t, err, sizeof err), 0, "%s: %s", block, err);
}

/* Code from hex or text (symbolic pushes numbered as in t's block). */
static size_t code_of(const char *src, uint8_t *out, size_t cap) {
    fit_evm_block b;
    char err[256];
    cr_assert_eq(fit_evm_block_parse(src, &b, NULL, err, sizeof err), 0, "%s: %s", src, err);
    cr_assert_leq(b.len, cap);
    memcpy(out, b.code, b.len);
    size_t n = b.len;
    fit_evm_block_free(&b);
    return n;
}

static int equiv(const fit_task *t, const char *src) {
    uint8_t c[4096];
    size_t n = strlen(src) ? code_of(src, c, sizeof c) : 0;
    uint64_t s = 7;
    fit_rng rng = {&s, ts_range};
    return fit_evm_equivalent(t, c, n, &rng, NULL);
}

static int prove(const fit_task *t, const char *src) {
    uint8_t c[4096];
    size_t n = strlen(src) ? code_of(src, c, sizeof c) : 0;
    return fit_evm_prove(t, c, n);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot read %s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void tmpfile_with(char *path, const char *text) {
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
}

/* frugal superopt on the given lines, CSV to csv; extra arguments after. */
static int run_superopt(const char *lines, const char *csv, const char *budget, int nextra,
                        char **extra) {
    char in[] = "/tmp/frugal-superopt-XXXXXX";
    tmpfile_with(in, lines);
    char *argv[32] = {"superopt", in,          "--budget", (char *)budget, "--pop",
                      "100",      "--seed",    "1",        "--equiv",      "2000",
                      "--out",    (char *)csv, "--quiet"};
    int argc = 13;
    for (int i = 0; i < nextra; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    int rc = exp_cmd_superopt(argc, argv);
    fclose(stdout);
    stdout = saved;
    remove(in);
    return rc;
}

/* ---- frugal superopt end to end ---- */

Test(tasks_superopt, finds_the_published_example) {
    char csv[] = "/tmp/frugal-superopt-csv-XXXXXX";
    tmpfile_with(csv, "");
    cr_assert_eq(run_superopt("{\"id\": \"ex1\", \"input\": \"600003600301\", "
                              "\"cancun_static_gas\": [12, 6]}\n",
                              csv, "6000", 0, NULL),
                 0);
    char *text = slurp(csv);
    char *row = strchr(text, '\n');
    cr_assert(row);
    row++;
    /* id,source,original,published,frugal,lower_bound,saved,published_saved,matched,beat,
     * equivalent,proved */
    cr_assert(!strncmp(row, "ex1,", 4), "row: %s", row);
    cr_assert(strstr(row, ",12,6,6,2,6,6,1,0,1,1,"), "row: %s", row);
    cr_assert(strstr(row, ",600303,\"PUSH1 0x3 SUB\""), "row: %s", row);
    remove(csv);
}

Test(tasks_superopt, bad_input_is_an_error) {
    char csv[] = "/tmp/frugal-superopt-csv-XXXXXX";
    tmpfile_with(csv, "");
    cr_assert_eq(run_superopt("{\"id\": \"j\", \"input\": \"600056\"}\n", csv, "200", 0, NULL), 3);
    cr_assert_eq(run_superopt("{\"id\": 5\n", csv, "200", 0, NULL), 3);
    cr_assert_eq(run_superopt("ADD FOO\n", csv, "200", 0, NULL), 3);
    cr_assert_eq(run_superopt("{\"input_text\": \"PUSH1\"}\n", csv, "200", 0, NULL), 3);
    remove(csv);
}

/* The report names the file, line and column of a malformed text block. */
Test(tasks_superopt, text_errors_name_line_and_column) {
    char in[] = "/tmp/frugal-superopt-XXXXXX", err[] = "/tmp/frugal-superopt-err-XXXXXX";
    tmpfile_with(in, "# comment\nPOP\nSWAP1 PUSH2 0x123456\n{\"input_text\": \"DUP1 BOGUS\"}\n");
    tmpfile_with(err, "");
    char *argv[] = {"superopt", in, "--no-gp", "--out", "/dev/null", "--quiet", NULL};
    FILE *saved = stderr, *saved_out = stdout;
    stderr = fopen(err, "w");
    stdout = fopen("/dev/null", "w");
    int rc = exp_cmd_superopt(6, argv);
    fclose(stderr);
    fclose(stdout);
    stderr = saved;
    stdout = saved_out;
    cr_assert_eq(rc, 3);
    char *text = slurp(err);
    char want[256];
    snprintf(want, sizeof want, "%s:3:13: PUSH2 operand does not fit its size", in);
    cr_assert(strstr(text, want), "%s", text);
    snprintf(want, sizeof want, "%s:4:22: unknown opcode 'BOGUS'", in);
    cr_assert(strstr(text, want), "%s", text);
    remove(in);
    remove(err);
}

Test(tasks_superopt, json_summary_per_source) {
    char csv[] = "/tmp/frugal-superopt-csv-XXXXXX", js[] = "/tmp/frugal-superopt-json-XXXXXX";
    tmpfile_with(csv, "");
    tmpfile_with(js, "");
    char *extra[] = {"--json", js};
    cr_assert_eq(
        run_superopt("{\"id\": \"a\", \"source\": \"x/one@1\", \"input\": \"600003600301\", "
                     "\"cancun_static_gas\": [12, 6]}\n"
                     "{\"id\": \"b\", \"source\": \"y/two@2\", \"input\": \"6000905f\", "
                     "\"cancun_static_gas\": [8, 7]}\n"
                     "{\"id\": \"c\", \"source\": \"y/two@2\", \"input_text\": \"CALLER "
                     "ISZERO\", \"cancun_static_gas\": [5, 4]}\n",
                     csv, "500", 2, extra),
        0);
    json_error_t je;
    json_t *j = json_load_file(js, 0, &je);
    cr_assert(j, "%s", je.text);
    cr_assert_eq(json_integer_value(json_object_get(j, "blocks")), 3);
    cr_assert_eq(json_integer_value(json_object_get(j, "with_published")), 3);
    /* a: 6 (matched); b: [x] -> [0, x, 0] is PUSH0 SWAP1 PUSH0, 7 (matched);
     * c: CALLER ISZERO stays 5, above the made-up 4 */
    cr_assert_eq(json_integer_value(json_object_get(j, "matched")), 2);
    cr_assert_eq(json_integer_value(json_object_get(j, "beaten")), 0);
    cr_assert_eq(json_integer_value(json_object_get(j, "above")), 1);
    json_t *two = json_object_get(json_object_get(j, "sources"), "y/two");
    cr_assert(two);
    cr_assert_eq(json_integer_value(json_object_get(two, "blocks")), 2);
    cr_assert(json_is_real(json_object_get(j, "median_seconds")));
    cr_assert(json_is_real(json_object_get(j, "median_cpu_seconds")));
    json_decref(j);
    remove(csv);
    remove(js);
}

/* One CSV row without its times (columns 17 and 18). */
static void strip_times(const char *row, char *out, size_t cap) {
    const char *p = row;
    for (int k = 0; k < 17 && p; k++)
        p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
    cr_assert(p, "row: %s", row);
    const char *q = strchr(p, ',');
    q = q ? strchr(q + 1, ',') : NULL;
    cr_assert(q, "row: %s", row);
    snprintf(out, cap, "%.*s%s", (int)(p - row), row, q);
}

/* GP runs with OpenMP: the same programs for 1 and 2 threads. */
Test(tasks_superopt, same_result_for_any_thread_count) {
    const char *lines = "{\"id\": \"a\", \"source\": \"s\", \"input\": \"8181111515610859\"}\n"
                        "{\"id\": \"b\", \"source\": \"s\", \"input\": \"50829050\"}\n";
    char c1[] = "/tmp/frugal-superopt-csv-XXXXXX", c2[] = "/tmp/frugal-superopt-csv-XXXXXX";
    tmpfile_with(c1, "");
    tmpfile_with(c2, "");
    char *e1[] = {"--no-codegen", "--threads", "1"}, *e2[] = {"--no-codegen", "--threads", "2"};
    cr_assert_eq(run_superopt(lines, c1, "3000", 3, e1), 0);
    cr_assert_eq(run_superopt(lines, c2, "3000", 3, e2), 0);
    static char a[1 << 14], b[1 << 14];
    snprintf(a, sizeof a, "%s", slurp(c1));
    snprintf(b, sizeof b, "%s", slurp(c2));
    char *sa = NULL, *sb = NULL;
    int rows = 0;
    for (char *p = strtok_r(a, "\n", &sa), *q = strtok_r(b, "\n", &sb); p || q;
         p = strtok_r(NULL, "\n", &sa), q = strtok_r(NULL, "\n", &sb), rows++) {
        cr_assert(p && q);
        if (!rows) continue; /* the header */
        char x[4096], y[4096];
        strip_times(p, x, sizeof x);
        strip_times(q, y, sizeof y);
        cr_assert_str_eq(x, y);
    }
    cr_assert_eq(rows, 3);
    remove(c1);
    remove(c2);
}

/* ---- the equivalence test: state reads and the environment ---- */

static int equiv_hex(const char *block, const char *cand) {
    fit_task t;
    char err[256] = "";
    cr_assert_eq(make_task(block, &t, err, sizeof err), 0, "%s", err);
    uint8_t *c = NULL;
    size_t n = 0;
    cr_assert_eq(evm_hex_decode(cand, &c, &n), 0);
    uint64_t s = 3;
    fit_rng rng = {&s, ts_range};
    int rc = fit_evm_equivalent(&t, c, n, &rng, NULL);
    free(c);
    fit_task_free(&t);
    return rc;
}

/* SLOAD, BALANCE and the like are not constants (an empty test state would
 * make every read 0), and a comparison of the environment with a constant
 * meets its equal (random addresses never would). */
Test(tasks_superopt, reads_and_comparisons_are_not_constants) {
    cr_assert_eq(equiv_hex("600054", "5f"), 0, "SLOAD(0) is not 0");
    cr_assert_eq(equiv_hex("600054", "600054"), 1);
    cr_assert_eq(equiv_hex("600531", "5f"), 0, "BALANCE(5) is not 0");
    cr_assert_eq(equiv_hex("60053b", "5f"), 0, "EXTCODESIZE(5) is not 0");
    cr_assert_eq(equiv_hex("5f35", "5f"), 0, "CALLDATALOAD(0) is not 0");
    /* PUSH20 a CALLER EQ is not 0, however rare the caller a */
    cr_assert_eq(equiv_hex("73668fc8d2004379275357c8d8e2502e19153adeee3314", "5f"), 0);
    cr_assert_eq(equiv_hex("73668fc8d2004379275357c8d8e2502e19153adeee3314",
                           "3373668fc8d2004379275357c8d8e2502e19153adeee14"),
                 1);
    /* x == 0x1234 is not 0 either (the inputs meet the block's constants) */
    cr_assert_eq(equiv_hex("61123414", "505f"), 0);
    /* nor CALLVALUE > 1000 */
    cr_assert_eq(equiv_hex("6103e83411", "5f"), 0);
}

/* ---- text blocks ---- */

static void parse_ok(const char *src, const char *want_hex) {
    fit_evm_block b;
    char err[256] = "", hex[8192] = "";
    size_t col = 99;
    cr_assert_eq(fit_evm_block_parse(src, &b, &col, err, sizeof err), 0, "%s: %s", src, err);
    cr_assert_eq(col, 0);
    for (size_t i = 0; i < b.len; i++)
        snprintf(hex + 2 * i, 3, "%02x", b.code[i]);
    cr_assert_str_eq(hex, want_hex, "%s", src);
    fit_evm_block_free(&b);
}

static void parse_bad(const char *src, size_t want_col, const char *want_msg) {
    fit_evm_block b;
    char err[256] = "";
    size_t col = 0;
    cr_assert_eq(fit_evm_block_parse(src, &b, &col, err, sizeof err), -1, "%s", src);
    cr_assert_eq(col, want_col, "%s: column %zu (%s)", src, col, err);
    cr_assert(strstr(err, want_msg), "%s: %s", src, err);
}

Test(tasks_superopt, text_blocks) {
    parse_ok("600003600301", "600003600301");
    parse_ok("0x600003600301", "600003600301");
    parse_ok("PUSH1 0x0 SUB PUSH1 0x3 ADD", "600003600301"); /* blocks.jsonl's input_text */
    parse_ok("push1 0 sub Push1 3 add", "600003600301");     /* case, decimal */
    parse_ok("PUSH2 0x6b6c SWAP1 POP PUSH2 4141", "616b6c905061102d");
    parse_ok("PUSH 40 PUSH 1234 PUSH 0", "6040611234"
                                         "6000"); /* solc: hex digits, their size */
    parse_ok("PUSH0 SHA3 DIFFICULTY", "5f2044");
    parse_ok("  CALLER\tISZERO \n", "3315");
    /* symbolic pushes: PUSH32 of the marker and the index, in order of first use */
    fit_evm_block b;
    char err[256];
    const char *src = "PUSH [tag] 0x12 PUSH #[$] 0xab PUSH [tag] 0x12 PUSHDEPLOYADDRESS PUSHSIZE "
                      "PUSH [$] 0xab PUSH data 0x1 PUSHLIB 0x5 PUSHIMMUTABLE 0x6 METAPUSH 5 0x12 "
                      "METAPUSH 0 0x0 push [tag] 0x13 ADD";
    cr_assert_eq(fit_evm_block_parse(src, &b, NULL, err, sizeof err), 0, "%s", err);
    static const char *const names[] = {"PUSH [tag] 0x12", "PUSH #[$] 0xab",    "PUSHDEPLOYADDRESS",
                                        "PUSHSIZE",        "PUSH [$] 0xab",     "PUSH data 0x1",
                                        "PUSHLIB 0x5",     "PUSHIMMUTABLE 0x6", "push [tag] 0x13"};
    cr_assert_eq(b.n_opaque, 9);
    for (uint32_t i = 0; i < 9; i++)
        cr_assert_str_eq(b.opaque[i], names[i]); /* as first written */
    static const uint32_t order[] = {0, 1, 0, 2, 3, 4, 5, 6, 7, 0, 2, 8};
    cr_assert_eq(b.len, 12 * 33 + 1);
    for (uint32_t i = 0; i < 12; i++) {
        uint32_t k;
        cr_assert_eq(b.code[33 * i], EVM_OP_PUSH32);
        cr_assert(fit_evm_opaque_index(b.code + 33 * i + 1, 32, b.n_opaque, &k));
        cr_assert_eq(k, order[i]);
        cr_assert(!fit_evm_opaque_index(b.code + 33 * i + 1, 32, k, &k), "only below n_opaque");
    }
    char text[4096];
    fit_evm_code_text(b.code, b.len, b.opaque, b.n_opaque, text, sizeof text);
    cr_assert_str_eq(text, "PUSH [tag] 0x12 PUSH #[$] 0xab PUSH [tag] 0x12 PUSHDEPLOYADDRESS "
                           "PUSHSIZE PUSH [$] 0xab PUSH data 0x1 PUSHLIB 0x5 PUSHIMMUTABLE 0x6 "
                           "PUSH [tag] 0x12 PUSHDEPLOYADDRESS push [tag] 0x13 ADD");
    /* a short buffer: cut, terminated, the whole length returned */
    char small[10];
    cr_assert_eq(fit_evm_code_text(b.code, b.len, b.opaque, b.n_opaque, small, sizeof small),
                 strlen(text));
    cr_assert_leq(strlen(small), 9);
    fit_evm_block_free(&b);
    /* errors: the column of the bad token */
    parse_bad("ADD FOO", 5, "unknown opcode 'FOO'");
    parse_bad("PUSH1", 1, "PUSH1 needs an operand");
    parse_bad("PUSH2 0x123456", 7, "does not fit");
    parse_bad("PUSH1 0xzz", 7, "not a number");
    parse_bad("POP PUSH [label] 1", 10, "unknown symbolic push");
    parse_bad("METAPUSH 9 0x1", 10, "METAPUSH needs a kind");
    parse_bad("PUSH", 1, "PUSH needs an operand");
    parse_bad("zz", 1, "neither hex");
    parse_bad("600", 1, "neither hex");
    cr_assert_eq(fit_evm_block_parse("   ", &b, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "empty"), "%s", err);
}

/* Symbolic pushes are opaque: moved and copied, never replaced by a value. */
Test(tasks_superopt, symbolic_pushes_stay_opaque) {
    fit_task t;
    task("PUSH [tag] 0x12 PUSH1 0x1 ADD PUSH [tag] 0x12 SWAP1", &t);
    cr_assert_eq(t.n_opaque, 1);
    cr_assert_str_eq(t.opaque[0], "PUSH [tag] 0x12");
    cr_assert_eq(equiv(&t, "PUSH [tag] 0x12 DUP1 PUSH1 0x1 ADD"), 1);
    cr_assert_eq(prove(&t, "PUSH [tag] 0x12 DUP1 PUSH1 0x1 ADD"), 1);
    /* the marker's own value is a literal, not the constant */
    uint8_t code[100];
    size_t n = 0;
    fit_evm_opaque_push(0, code);
    code[33] = EVM_OP_DUP1;
    code[34] = EVM_OP_PUSH1;
    code[35] = 1;
    code[36] = EVM_OP_ADD;
    n = 37;
    uint64_t s = 1;
    fit_rng rng = {&s, ts_range};
    cr_assert_eq(fit_evm_equivalent(&t, code, n, &rng, NULL), 1, "the same bytes: the constant");
    code[32] ^= 1; /* another index: no symbolic push of this block, a literal */
    cr_assert_eq(fit_evm_equivalent(&t, code, n, &rng, NULL), 0);
    /* a literal where the block has the constant */
    cr_assert_eq(equiv(&t, "PUSH1 0x12 DUP1 PUSH1 0x1 ADD"), 0);
    fit_task_free(&t);
    /* two different constants are not interchangeable */
    task("PUSHSIZE PUSHDEPLOYADDRESS", &t);
    fit_evm_opaque_push(1, code);
    fit_evm_opaque_push(0, code + 33);
    cr_assert_eq(fit_evm_equivalent(&t, code, 66, &rng, NULL), 0);
    fit_evm_opaque_push(0, code);
    fit_evm_opaque_push(1, code + 33);
    cr_assert_eq(fit_evm_equivalent(&t, code, 66, &rng, NULL), 1);
    fit_task_free(&t);
    /* frugal superopt keeps them as written */
    char csv[] = "/tmp/frugal-superopt-csv-XXXXXX";
    tmpfile_with(csv, "");
    cr_assert_eq(run_superopt("{\"id\": \"t\", \"input_text\": \"PUSH [tag] 0x12 PUSH1 0x0 SWAP1 "
                              "POP PUSH #[$] 0x0000aa DUP1\"}\n"
                              "METAPUSH 5 0x20 PUSH1 0x20 SHL METAPUSH 5 0x18446744073709551694 "
                              "OR SWAP1 POP\n",
                              csv, "2000", 0, NULL),
                 0);
    char *text = slurp(csv);
    /* [0, X, X] costs 8 (PUSH0 and X twice, or X DUP1) */
    cr_assert(strstr(text, ",17,-1,8,"), "%s", text);
    cr_assert(strstr(text, "PUSH0 PUSH #[$] 0x0000aa"), "%s", text);
    cr_assert(!strstr(text, "0xaa"), "%s", text);
    /* forves' METAPUSH stays as written */
    cr_assert(strstr(text, "METAPUSH 5 0x20 PUSH1 0x20 SHL"), "%s", text);
    cr_assert(strstr(text, "METAPUSH 5 0x18446744073709551694"), "%s", text);
    remove(csv);
}

/* ---- the stack model against the EVM ---- */

typedef struct {
    uint32_t end_pc;
    bool ended;
    size_t depth;
    evm_bytes32 st[64];
} ds_trace;

static void ds_tracer(void *ctx, const evm_step *s) {
    ds_trace *t = ctx;
    if (s->depth || s->pc != t->end_pc || s->op != EVM_OP_STOP) return;
    t->ended = true;
    t->depth = s->stack_size;
    if (t->depth <= 64) memcpy(t->st, s->stack, t->depth * sizeof *t->st);
}

/* A random word: small, edge, a few bits, or full. */
static void ds_word(uint64_t *s, uint8_t w[32]) {
    memset(w, 0, 32);
    switch (tu_below(s, 5)) {
    case 0: w[31] = (uint8_t)tu_next(s), w[30] = (uint8_t)tu_below(s, 3); break;
    case 1: memset(w, tu_below(s, 2) ? 0xff : 0, 32); break;
    case 2: w[tu_below(s, 32)] = (uint8_t)(1u << tu_below(s, 8)); break;
    case 3: w[0] = 0x80; break;
    default:
        for (int i = 0; i < 32; i++)
            w[i] = (uint8_t)tu_next(s);
    }
}

/* Random straight-line code of pure and stack opcodes. */
static size_t ds_program(uint64_t *s, uint8_t *c, size_t cap) {
    static const uint8_t pure[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
                                   0x0a, 0x0b, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
                                   0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d};
    size_t n = 0, ninsn = 1 + tu_below(s, 16);
    for (size_t i = 0; i < ninsn && n + 40 < cap; i++) {
        uint32_t kind = tu_below(s, 10);
        if (kind < 4) {
            c[n++] = pure[tu_below(s, sizeof pure)];
        } else if (kind < 6) { /* PUSHn: random width, random or edge bytes */
            uint32_t w = tu_below(s, 33);
            uint8_t word[32];
            ds_word(s, word);
            c[n++] = (uint8_t)(EVM_OP_PUSH0 + w);
            memcpy(c + n, word + 32 - w, w);
            n += w;
        } else if (kind < 8) {
            c[n++] = (uint8_t)(EVM_OP_DUP1 + tu_below(s, 4));
        } else if (kind < 9) {
            c[n++] = (uint8_t)(EVM_OP_SWAP1 + tu_below(s, 4));
        } else {
            c[n++] = EVM_OP_POP;
        }
    }
    return n;
}

/* Pure and stack opcodes compute in the model exactly as in the EVM: the
 * same final stack, the same faults, the same gas (EXP aside, whose
 * per-byte charge the model leaves out). */
Test(tasks_superopt, model_matches_the_evm) {
    evm_vm *vm = evm_vm_new();
    evm_memhost *host = evm_memhost_new(vm);
    cr_assert(vm && host);
    evm_vm_set_fork(vm, EVM_FORK_CANCUN);
    evm_vm_set_policy(vm, evm_policy_isolated, NULL);
    uint64_t s = 2026;
    uint8_t prog[512], code[1024], in[8][32];
    evm_word mst[FIT_EVM_MODEL_STACK];
    fit_evm_env env = {0};
    int halted = 0, faulted = 0;
    for (int iter = 0; iter < 3000; iter++) {
        size_t pl = ds_program(&s, prog, sizeof prog);
        uint32_t nin = tu_below(&s, 9);
        size_t n = 0;
        for (uint32_t k = 0; k < nin; k++) {
            ds_word(&s, in[k]);
            code[n++] = EVM_OP_PUSH32;
            memcpy(code + n, in[k], 32);
            n += 32;
            fit_evm_word_from_be(in[k], &mst[k]);
        }
        memcpy(code + n, prog, pl);
        ds_trace tr = {.end_pc = (uint32_t)(n + pl)};
        code[n + pl] = EVM_OP_STOP;
        evm_message m = {.kind = EVM_CALL_CALL, .gas = 10000000};
        m.recipient.b[19] = 1;
        evm_result res;
        evm_memhost_begin_tx(host, &m.recipient, 1);
        evm_vm_set_tracer(vm, ds_tracer, &tr);
        evm_status st = evm_execute(vm, &evm_memhost_iface, host, &m, code, n + pl + 1, &res);
        evm_vm_set_tracer(vm, NULL, NULL);
        uint32_t depth = nin;
        uint64_t gas = 0;
        vm_status ms = fit_evm_model_run(&env, prog, pl, 1, mst, &depth, &gas, NULL);
        bool ok = st == EVM_SUCCESS && tr.ended;
        cr_assert_eq(ms == VM_HALTED, ok, "iteration %d: EVM %s, model %d", iter,
                     evm_status_name(st), ms);
        if (!ok) {
            faulted++;
            continue;
        }
        halted++;
        cr_assert_eq(depth, tr.depth, "iteration %d", iter);
        for (uint32_t k = 0; k < depth && k < 64; k++) {
            uint8_t be[32];
            fit_evm_word_to_be(&mst[k], be);
            cr_assert(!memcmp(be, tr.st[k].b, 32), "iteration %d, word %u", iter, k);
        }
        bool exp = memchr(prog, EVM_OP_EXP, pl) != NULL;
        if (!exp) cr_assert_eq((int64_t)gas, 10000000 - res.gas_left - 3 * (int64_t)nin);
    }
    cr_assert_gt(halted, 1000, "halted %d", halted);
    cr_assert_gt(faulted, 100, "faulted %d", faulted);
    evm_memhost_free(host);
    evm_vm_free(vm);
}

/* ---- the symbolic normaliser ---- */

/* Identities the rules know, and look-alikes that are not identities. */
Test(tasks_superopt, proofs_of_known_rewrites) {
    static const char *const yes[][2] = {
        {"PUSH1 0x0 SUB PUSH1 0x3 ADD", "PUSH1 0x3 SUB"},          /* (0 - x) + 3 = 3 - x */
        {"ISZERO ISZERO ISZERO", "ISZERO"},                        /* triple negation */
        {"DUP2 DUP2 GT ISZERO ISZERO", "DUP1 DUP3 LT"},            /* bool, and GT = LT swapped */
        {"PUSH1 0x0 EQ", "ISZERO"},                                /* x == 0 */
        {"PUSH1 0x20 SWAP1 DIV", "PUSH1 0x5 SHR"},                 /* x / 32 = x >> 5 */
        {"PUSH1 0x20 SWAP1 MOD", "PUSH1 0x1f AND"},                /* x % 32 = x & 31 */
        {"PUSH1 0x2 EXP", "PUSH1 0x1 SWAP1 SHL"},                  /* 2^y = 1 << y */
        {"PUSH1 0x1 SHL PUSH1 0x1 ADD", "DUP1 ADD PUSH1 0x1 ADD"}, /* 2x + 1 */
        {"PUSH20 0xffffffffffffffffffffffffffffffffffffffff CALLER AND", "CALLER"},
        {"DUP1 XOR", "POP PUSH0"},                             /* x ^ x */
        {"DUP1 SUB ISZERO", "POP PUSH1 0x1"},                  /* x - x == 0 */
        {"SUB ISZERO", "EQ"},                                  /* x - y == 0 iff x == y */
        {"NOT NOT", ""},                                       /* double complement */
        {"PUSH1 0xff AND PUSH2 0xffff AND", "PUSH1 0xff AND"}, /* masks */
        {"ADDRESS BALANCE", "SELFBALANCE"},                    /* EIP-1884 */
        {"PUSH1 0x0 DUP2 GT", "DUP1 ISZERO ISZERO"},           /* x > 0 */
        {"PUSH1 0x7 PUSH1 0x5 ADD", "PUSH1 0xc"},              /* constant folding */
        {"DUP1 PUSH1 0x1 AND SWAP1 PUSH1 0x1 SHR", "DUP1 PUSH1 0x1 SHR SWAP1 PUSH1 0x1 AND SWAP1"},
    };
    static const char *const no[][2] = {
        {"PUSH1 0x0 SUB PUSH1 0x3 ADD", "PUSH1 0x3 ADD"},
        {"ISZERO ISZERO", ""}, /* ISZERO(ISZERO(x)) is not x */
        {"PUSH1 0x21 SWAP1 DIV", "PUSH1 0x5 SHR"},
        {"PUSH1 0x3 EXP", "PUSH1 0x1 SWAP1 SHL"},
        {"PUSH19 0xffffffffffffffffffffffffffffffffffffff CALLER AND", "CALLER"},
        {"GT", "LT"},
        {"SLT", "LT"},
        {"PUSH1 0x1f SIGNEXTEND", "PUSH1 0x1e SIGNEXTEND"},
    };
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        fit_task t;
        task(yes[i][0], &t);
        cr_assert_eq(prove(&t, yes[i][1]), 1, "%s == %s", yes[i][0], yes[i][1]);
        cr_assert_eq(equiv(&t, yes[i][1]), 1, "%s == %s", yes[i][0], yes[i][1]);
        fit_task_free(&t);
    }
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        fit_task t;
        task(no[i][0], &t);
        cr_assert_eq(prove(&t, no[i][1]), 0, "%s != %s", no[i][0], no[i][1]);
        cr_assert_eq(equiv(&t, no[i][1]), 0, "%s != %s", no[i][0], no[i][1]);
        fit_task_free(&t);
    }
}

/* Random code over the opcodes and constants the rules are about: each
 * program the symbolic search builds for it (a proof by normalisation) is
 * equivalent on the stack model, and so is every random program the
 * normaliser proves equal to it. */
static size_t rule_program(uint64_t *s, uint8_t *c) {
    static const uint8_t ops[] = {
        EVM_OP_ADD,  EVM_OP_SUB,        EVM_OP_MUL,    EVM_OP_DIV,   EVM_OP_MOD,    EVM_OP_EXP,
        EVM_OP_LT,   EVM_OP_GT,         EVM_OP_SLT,    EVM_OP_EQ,    EVM_OP_ISZERO, EVM_OP_AND,
        EVM_OP_OR,   EVM_OP_XOR,        EVM_OP_NOT,    EVM_OP_SHL,   EVM_OP_SHR,    EVM_OP_SAR,
        EVM_OP_BYTE, EVM_OP_SIGNEXTEND, EVM_OP_CALLER, EVM_OP_SLOAD, EVM_OP_BALANCE};
    static const uint64_t consts[] = {0, 1, 2, 3, 5, 8, 31, 32, 160, 255, 256, 0xffffffff};
    size_t n = 0, ninsn = 2 + tu_below(s, 7);
    for (size_t i = 0; i < ninsn; i++) {
        uint32_t k = tu_below(s, 8);
        if (k < 4) {
            c[n++] = ops[tu_below(s, sizeof ops)];
        } else if (k < 6) {
            uint32_t which = tu_below(s, 14);
            if (which == 12) { /* all ones, or 2^160 - 1 */
                c[n++] = EVM_OP_PUSH32;
                memset(c + n, 0xff, 32);
                if (tu_below(s, 2)) memset(c + n, 0, 12);
                n += 32;
            } else if (which == 13) {
                c[n++] = EVM_OP_PUSH0;
            } else {
                c[n++] = EVM_OP_PUSH4;
                uint64_t v = consts[which];
                for (int b = 3; b >= 0; b--)
                    c[n++] = (uint8_t)(v >> (8 * b));
            }
        } else if (k < 7) {
            c[n++] = (uint8_t)(EVM_OP_DUP1 + tu_below(s, 3));
        } else {
            c[n++] = (uint8_t)(EVM_OP_SWAP1 + tu_below(s, 2));
        }
    }
    return n;
}

Test(tasks_superopt, normalisation_is_sound) {
    uint64_t s = 99;
    int built = 0, proved_pairs = 0;
    uint8_t p[512], q[1024], out[4096];
    char hex[1100];
    for (int iter = 0; iter < 500; iter++) {
        size_t pl = rule_program(&s, p);
        for (size_t i = 0; i < pl; i++)
            snprintf(hex + 2 * i, 3, "%02x", p[i]);
        fit_task t;
        char err[256];
        if (make_task(hex, &t, err, sizeof err)) continue; /* e.g. too shallow a stack */
        uint64_t rs = 5;
        fit_rng rng = {&rs, ts_range};
        size_t ol = 0;
        int64_t g = 0;
        int r = fit_evm_codegen(&t, 60000, 1000, out, sizeof out, &ol, &g, NULL);
        cr_assert_geq(r, 0);
        if (r == 1) {
            built++;
            cr_assert_eq(fit_evm_equivalent(&t, out, ol, &rng, NULL), 1, "block %s", hex);
            cr_assert_eq(fit_evm_prove(&t, out, ol), 1, "block %s", hex);
            cr_assert_eq(fit_evm_static_gas(out, ol), g);
        }
        for (int k = 0; k < 8; k++) { /* edits of it the normaliser proves equal */
            uint8_t piece[512];       /* rule_program writes up to 8 x 33 bytes */
            size_t ql = 0, at = 0, cut = 0, il = rule_program(&s, piece);
            /* cut a random instruction (or none) and insert a random piece */
            for (size_t pc = 0, i = 0, pick = tu_below(&s, 8); pc < pl; i++) {
                size_t len = 1 + (p[pc] >= EVM_OP_PUSH1 && p[pc] <= EVM_OP_PUSH32
                                      ? (size_t)(p[pc] - EVM_OP_PUSH1 + 1)
                                      : 0);
                if (i == pick) at = pc, cut = tu_below(&s, 2) ? len : 0;
                pc += len;
            }
            il = tu_below(&s, 3) ? il % 3 : il; /* mostly a short piece */
            memcpy(q, p, at);
            memcpy(q + at, piece, il);
            memcpy(q + at + il, p + at + cut, pl - at - cut);
            ql = pl - cut + il;
            if (fit_evm_prove(&t, q, ql) == 1) {
                proved_pairs++;
                cr_assert_eq(fit_evm_equivalent(&t, q, ql, &rng, NULL), 1, "block %s", hex);
            }
        }
        fit_task_free(&t);
    }
    cr_assert_gt(built, 100, "built %d", built);
    cr_assert_gt(proved_pairs, 50, "proved %d", proved_pairs);
}

/* ---- the symbolic search, its windows, the lower bound ---- */

static int64_t codegen_gas(const char *block, uint64_t expand, char *text, size_t cap) {
    fit_task t;
    task(block, &t);
    uint8_t out[4096];
    size_t n = 0;
    int64_t g = -1;
    uint64_t ex = 0;
    int r = fit_evm_codegen(&t, fit_evm_static_gas(t.block, t.block_len), expand, out, sizeof out,
                            &n, &g, &ex);
    cr_assert_geq(r, 0);
    if (r == 1) {
        uint64_t s = 11;
        fit_rng rng = {&s, ts_range};
        cr_assert_eq(fit_evm_equivalent(&t, out, n, &rng, NULL), 1, "%s", block);
        cr_assert_eq(fit_evm_prove(&t, out, n), 1, "%s", block);
        cr_assert_eq(fit_evm_static_gas(out, n), g);
        cr_assert_leq(fit_evm_lower_bound(&t), g, "%s", block);
        fit_evm_code_text(out, n, t.opaque, t.n_opaque, text, cap);
    } else {
        g = -1;
    }
    cr_assert_leq(ex, expand);
    fit_task_free(&t);
    return g;
}

Test(tasks_superopt, symbolic_search_known_answers) {
    char text[512];
    /* the SYRUP running example: 76 gas (Cancun) -> ADD SWAP2 ADD EXP SWAP1, 22 */
    cr_assert_eq(codegen_gas("PUSH1 0x0 DUP1 PUSH1 0x0 DUP6 DUP8 ADD SWAP2 POP DUP4 DUP6 ADD SWAP1 "
                             "POP DUP1 DUP3 EXP SWAP3 POP POP POP SWAP5 SWAP4 POP POP POP POP",
                             50000, text, sizeof text),
                 22, "%s", text);
    cr_assert_eq(codegen_gas("600003600301", 50000, text, sizeof text), 6);
    cr_assert_str_eq(text, "PUSH1 0x3 SUB");
    cr_assert_eq(codegen_gas("POP DUP3 SWAP1 POP", 50000, text, sizeof text), 7);
    cr_assert_str_eq(text, "POP POP DUP2");
    /* x > 0 as PUSH0 DUP2 GT (normalisation makes ISZERO(ISZERO(x))) */
    cr_assert_eq(
        codegen_gas("PUSH1 0x0 DUP2 GT ISZERO ISZERO PUSH2 0xff9", 50000, text, sizeof text), 11,
        "%s", text);
    /* a block that does nothing: the empty program */
    cr_assert_eq(codegen_gas("SWAP1 SWAP1 DUP1 POP", 50000, text, sizeof text), 0);
    /* symbolic pushes are pushed as they are */
    cr_assert_eq(codegen_gas("PUSH [tag] 0x5 PUSH1 0x0 SWAP1 POP", 50000, text, sizeof text), 2);
    cr_assert_str_eq(text, "PUSH0");
    cr_assert_eq(codegen_gas("PUSH1 0x0 PUSH [tag] 0x5 SWAP1 POP", 50000, text, sizeof text), 3);
    cr_assert_str_eq(text, "PUSH [tag] 0x5");
    /* nothing cheaper than CALLER ISZERO */
    cr_assert_eq(codegen_gas("CALLER ISZERO", 50000, text, sizeof text), -1);
}

Test(tasks_superopt, windows_of_a_long_block) {
    /* eight wasteful copies of [x] -> [0]: 64 gas; each window finds POP PUSH0 */
    char block[512] = "";
    for (int i = 0; i < 8; i++)
        strcat(block, "PUSH1 0x0 SWAP1 POP ");
    fit_task t;
    task(block, &t);
    uint8_t out[4096];
    size_t n = 0;
    int64_t g = 0;
    uint64_t ex = 0;
    cr_assert_eq(
        fit_evm_codegen_windows(&t, t.block, t.block_len, 6, 2000, out, sizeof out, &n, &g, &ex),
        1);
    cr_assert_lt(g, 64);
    cr_assert_eq(fit_evm_static_gas(out, n), g);
    cr_assert_eq(equiv(&t, ""), 0);
    uint64_t s = 4;
    fit_rng rng = {&s, ts_range};
    cr_assert_eq(fit_evm_equivalent(&t, out, n, &rng, NULL), 1);
    cr_assert_eq(fit_evm_prove(&t, out, n), 1);
    /* nothing to gain: 0 */
    cr_assert_eq(fit_evm_codegen_windows(&t, out, n, 6, 2000, out, sizeof out, &n, &g, &ex) >= 0,
                 1);
    fit_task_free(&t);
}

Test(tasks_superopt, lower_bounds) {
    static const struct {
        const char *block;
        int64_t lb;
    } cases[] = {
        {"SWAP1 SWAP1", 0},                   /* the stack as it was */
        {"SWAP1", 2},                         /* something must happen */
        {"PUSH1 0x0 SWAP1 POP", 2},           /* a word 0: PUSH0 at least */
        {"PUSH1 0x5 SWAP1 POP", 3},           /* a nonzero constant */
        {"CALLER PUSH1 0x0 PUSH1 0x1", 7},    /* 2 + 2 + 3 */
        {"DUP1 DUP2", 6},                     /* two extra copies */
        {"POP POP POP", 6},                   /* three words less */
        {"PUSH [tag] 0x1 ADD", 2},            /* a computed word */
        {"PUSH [tag] 0x1 PUSH [tag] 0x1", 6}, /* symbolic pushes: 3 each */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fit_task t;
        task(cases[i].block, &t);
        cr_assert_eq(fit_evm_lower_bound(&t), cases[i].lb, "%s", cases[i].block);
        fit_task_free(&t);
    }
}
