/* Readable models (analysis/expr.c): known expressions of hand-written
 * programs, and, over many random programs and inputs, the expression
 * evaluated on words equals the VM's output bit for bit, and evaluated in
 * double it is within the documented bound (docs/report.md, "Expressions"). */
#include "analysis/analysis.h"
#include "testutil.h"

#include <inttypes.h>
#include <math.h>

static const vm_limits GP_LIMITS = {
    .gas = 10000, .mem = 1024, .stack = 256, .calls = 64, .underflow = VM_UNDERFLOW_SKIP};

static char *expr_of(const char *src, uint32_t n_in, bool fixed, an_expr_style s) {
    vm_buf b = tu_asm(src);
    an_expr_opts o = {.n_in = n_in, .fixed = fixed, .limits = GP_LIMITS};
    char *t = an_expr_string(b.data, b.len, &o, s);
    cr_assert(t);
    vm_buf_free(&b);
    return t;
}

static void expect(const char *src, uint32_t n_in, bool fixed, an_expr_style s, const char *want) {
    char *t = expr_of(src, n_in, fixed, s);
    cr_expect_str_eq(t, want, "got  %s\nwant %s\nprogram:\n%s", t, want, src);
    free(t);
}

#define FX(v) "PUSH " #v "\n" /* fixed-point constants are written as words below */

Test(expr, quartic_known_answers) {
    /* the best program of `frugal run specs/quartic.json` (seed 1) */
    const char *best = "ARG 0\nOVER\nFMUL\nARG 0\nADD\nARG 0\nFMUL\nARG 0\nADD\nFMUL\nARG 0\nADD\n";
    expect(best, 1, true, AN_EXPR_INFIX, "x*((x*x + x)*x + x) + x");
    expect(best, 1, true, AN_EXPR_SYMPY, "x*((x*x + x)*x + x) + x");
    expect(best, 1, true, AN_EXPR_LATEX,
           "x \\cdot \\left(\\left(x \\cdot x + x\\right) \\cdot x + x\\right) + x");
    /* x*x*x*x + x*x*x + x*x + x, written out */
    const char *q = "DUP 0\nDUP 0\nFMUL\nDUP 0\nARG 0\nFMUL\nDUP 0\nARG 0\nFMUL\n"
                    "ADD\nADD\nADD\n";
    expect(q, 1, true, AN_EXPR_INFIX, "x + (x*x + (x*x*x + x*x*x*x))");
}

Test(expr, constants_fold_and_decode) {
    /* 0.5 = 2^31, 1 = 2^32, -1.25 */
    expect("PUSH 2147483648\nPUSH 4294967296\nADD\nFMUL\n", 1, true, AN_EXPR_INFIX, "x*1.5");
    expect("PUSH -5368709120\nADD\n", 1, true, AN_EXPR_INFIX, "x - 1.25");
    expect("PUSH 1431655765\n", 0, true, AN_EXPR_INFIX, "0.3333333333");
    expect("PUSH 3\nPUSH 4\nMUL\nADD\n", 1, false, AN_EXPR_INFIX, "x + 12");
    expect("PUSH 2147483648\nADD\nPUSH 2147483648\nADD\n", 1, true, AN_EXPR_INFIX, "x + 1");
    expect("PUSH 4294967296\nFSIN\n", 0, true, AN_EXPR_INFIX, "0.8414709847");
    expect("PUSH 4294967296\nFMUL\nPUSH 4294967296\nFDIV\n", 1, true, AN_EXPR_INFIX, "x");
}

Test(expr, identities) {
    expect("PUSH 0\nADD\n", 1, false, AN_EXPR_INFIX, "x");
    expect("PUSH 1\nMUL\n", 1, false, AN_EXPR_INFIX, "x");
    expect("PUSH 0\nMUL\n", 1, false, AN_EXPR_INFIX, "0");
    expect("DUP 0\nSUB\n", 1, false, AN_EXPR_INFIX, "0");
    expect("NEG\nNEG\n", 1, false, AN_EXPR_INFIX, "x");
    expect("NEG\nADD\n", 2, false, AN_EXPR_INFIX, "x0 - x1");
    expect("PUSH 0\nSWAP 0\nSUB\n", 1, false, AN_EXPR_INFIX, "-x");
    expect("PUSH 0\nFDIV\n", 1, true, AN_EXPR_INFIX, "0"); /* protected division */
    /* MUL of Q32.32 words is not a product: kept as the opcode */
    expect("PUSH 4294967296\nMUL\n", 1, true, AN_EXPR_INFIX, "mul(x, 1)");
}

Test(expr, integer_and_boolean_operators) {
    /* the demo's median: ROT DUP 2 DUP 2 MIN MAX SWAP 1 MAX MIN */
    expect("ROT\nDUP 2\nDUP 2\nMIN\nMAX\nSWAP 1\nMAX\nMIN\n", 3, false, AN_EXPR_INFIX,
           "min(max(x0, min(x1, x2)), max(x2, x1))");
    expect("LT\nARG 0\nISZERO\nAND\n", 2, false, AN_EXPR_INFIX, "(x0 < x1) & (x0 == 0)");
    expect("LT\n", 2, false, AN_EXPR_SYMPY, "Piecewise((1, x0 < x1), (0, True))");
    expect("DIV\n", 2, false, AN_EXPR_SYMPY, "op_div(x0, x1)");
    expect("XOR\nNOT\n", 2, false, AN_EXPR_INFIX, "~(x0 ^ x1)");
    expect("XOR\n", 2, false, AN_EXPR_LATEX, "\\operatorname{xor}\\left(x_{0}, x_{1}\\right)");
}

/* A CSV data task's input columns name the variables: plain names as they
 * are, others quoted so that each style still reads them as one name. */
Test(expr, column_names_in_each_style) {
    static const char *const names[] = {"a_au", "T (years)", "E"};
    vm_buf b = tu_asm("ARG 0\nARG 1\nFMUL\nARG 2\nADD\n");
    an_expr_opts o = {.n_in = 3, .fixed = true, .limits = GP_LIMITS, .names = names};
    static const char *const want[] = {"a_au*`T (years)` + E",
                                       "Symbol('a_au')*Symbol('T (years)') + Symbol('E')",
                                       "\\text{a\\_au} \\cdot \\text{T (years)} + E"};
    for (int s = 0; s < 3; s++) {
        char *t = an_expr_string(b.data, b.len, &o, (an_expr_style)s);
        cr_assert(t);
        cr_expect_str_eq(t, want[s]);
        free(t);
    }
    vm_buf_free(&b);
}

Test(expr, shortage_rule_and_stops) {
    /* skip: ADD with one word is charged and does nothing */
    expect("ADD\nPUSH 2\nMUL\n", 1, false, AN_EXPR_INFIX, "x*2");
    vm_buf b = tu_asm("ADD\nPUSH 2\nMUL\n");
    an_expr_opts o = {.n_in = 1, .limits = GP_LIMITS};
    o.limits.underflow = VM_UNDERFLOW_FAULT;
    char *t = an_expr_string(b.data, b.len, &o, AN_EXPR_INFIX);
    cr_expect_str_eq(t, "(no expression: the program stops with STACK_UNDERFLOW: no output)");
    free(t);
    vm_buf_free(&b);
    expect("POP\n", 1, false, AN_EXPR_INFIX, "(no expression: the program leaves no output)");
    expect("ARG 3\n", 1, false, AN_EXPR_INFIX,
           "(no expression: the program stops with OUT_OF_BOUNDS: no output)");
    expect("YIELD\n", 1, false, AN_EXPR_INFIX,
           "(no expression: the program stops with YIELDED: no output)");
    expect("L: JMP L\n", 1, false, AN_EXPR_INFIX,
           "(no expression: the program stops with OUT_OF_GAS: no output)");
    expect("LT\nPUSH 1\nLT\n", 2, false, AN_EXPR_INFIX, "(x0 < x1) < 1"); /* no chains */
    expect("TIMES\nCLOSE\n", 1, false, AN_EXPR_INFIX,
           "(no expression: a TIMES at 0 whose count depends on the inputs)");
    expect("EACH\nCLOSE\n", 1, false, AN_EXPR_INFIX,
           "(no expression: uses EACH (at 0), which an expression does not express)");
    expect("JZ L\nL: PUSH 1\n", 1, false, AN_EXPR_INFIX,
           "(no expression: a JZ at 0 on a value that depends on the inputs)");
}

Test(expr, blocks_and_constant_jumps) {
    /* 3 TIMES: x + 0 + 1 + 2 */
    expect("PUSH 3\nTIMES\nINDEX\nADD\nCLOSE\n", 1, false, AN_EXPR_INFIX, "x + 3");
    expect("PUSH 3\nTIMES\nDUP 0\nMUL\nCLOSE\n", 1, false, AN_EXPR_INFIX, "x*x*(x*x)*(x*x*(x*x))");
    /* WHILE on a constant counter: x + 3 + 2 + 1 */
    expect("PUSH 3\nWHILE\nSWAP 0\nOVER\nADD\nSWAP 0\nPUSH 1\nSUB\nCLOSE\nPOP\n", 1, false,
           AN_EXPR_INFIX, "x + 6");
    expect("WHILE\nCLOSE\n", 1, false, AN_EXPR_INFIX,
           "(no expression: a WHILE at 0 whose condition depends on the inputs)");
    /* IF on an input: both sides keep the depth, so a conditional */
    expect("DUP 1\nIF\nPUSH 5\nADD\nCLOSE\n", 2, false, AN_EXPR_INFIX, "x0 > 0 ? x1 + 5 : x1");
    expect("DUP 1\nIF\nPUSH 5\nADD\nCLOSE\n", 2, false, AN_EXPR_SYMPY,
           "Piecewise((x1 + 5, Gt(x0, 0)), (x1, True))");
    expect("IF\nPUSH 5\nCLOSE\n", 2, false, AN_EXPR_INFIX,
           "(no expression: an IF block on a value that depends on the inputs changes the "
           "stack's depth)");
    expect("PUSH 1\nJNZ L\nPUSH 9\nL: PUSH 2\nADD\n", 1, false, AN_EXPR_INFIX, "x + 2");
    expect("CALL F\nPUSH 3\nMUL\nHALT\nF: PUSH 1\nADD\nRET\n", 1, false, AN_EXPR_INFIX,
           "(x + 1)*3");
}

/* Run code as a GP task does: inputs as argument words and initial stack. */
static vm_status vm_out(vm_machine *a, const uint8_t *c, size_t n, const vm_word *in, uint32_t n_in,
                        uint32_t *depth, vm_word *top) {
    cr_assert_eq(vm_load(a, c, n), 0);
    cr_assert_eq(vm_set_limits(a, &GP_LIMITS), 0);
    cr_assert_eq(vm_set_args(a, in, n_in), 0);
    for (uint32_t k = 0; k < n_in; k++)
        cr_assert_eq(vm_push(a, in[k]), 0);
    vm_status s = vm_run(a);
    *depth = vm_depth(a);
    if (*depth) *top = vm_stack(a)[*depth - 1];
    return s;
}

/* A random program in the GP's regression opcode set and more (blocks,
 * jumps, the F* functions, integer ops), sometimes any byte at all. */
static size_t gen_program(uint64_t *s, uint8_t *c, size_t cap, bool fixed) {
    static const uint8_t fx_ops[] = {
        VM_OP_PUSH, VM_OP_POP,  VM_OP_DUP,  VM_OP_SWAP, VM_OP_OVER, VM_OP_ROT, VM_OP_ADD,
        VM_OP_SUB,  VM_OP_FMUL, VM_OP_FDIV, VM_OP_NEG,  VM_OP_ARG,  VM_OP_ARG, VM_OP_FSQRT,
        VM_OP_FSIN, VM_OP_FCOS, VM_OP_FEXP, VM_OP_FLOG, VM_OP_ABS,  VM_OP_MIN, VM_OP_MAX,
        VM_OP_FMUL, VM_OP_FMUL, VM_OP_ADD,  VM_OP_IF,   VM_OP_CLOSE};
    static const uint8_t int_ops[] = {
        VM_OP_PUSH,   VM_OP_POP,  VM_OP_DUP,  VM_OP_SWAP,  VM_OP_OVER, VM_OP_ROT,
        VM_OP_ADD,    VM_OP_SUB,  VM_OP_MUL,  VM_OP_DIV,   VM_OP_MOD,  VM_OP_NEG,
        VM_OP_ABS,    VM_OP_MIN,  VM_OP_MAX,  VM_OP_LT,    VM_OP_GT,   VM_OP_EQ,
        VM_OP_ISZERO, VM_OP_AND,  VM_OP_OR,   VM_OP_XOR,   VM_OP_NOT,  VM_OP_SHL,
        VM_OP_SHR,    VM_OP_SAR,  VM_OP_ARG,  VM_OP_TIMES, VM_OP_IF,   VM_OP_CLOSE,
        VM_OP_INDEX,  VM_OP_ITOF, VM_OP_FTOI, VM_OP_FMUL,  VM_OP_HALT, VM_OP_WHILE};
    if (tu_below(s, 8) == 0) return tu_random_program(s, c, cap);
    size_t n = 0, k = 1 + tu_below(s, 30);
    for (size_t i = 0; i < k && n + 10 < cap; i++) {
        uint8_t op =
            fixed ? fx_ops[tu_below(s, sizeof fx_ops)] : int_ops[tu_below(s, sizeof int_ops)];
        int64_t imm = 0;
        if (op == VM_OP_PUSH)
            imm = fixed ? (int64_t)tu_below(s, 1u << 30) * 16 - ((int64_t)1 << 34)
                        : (int64_t)tu_below(s, 11) - 5;
        if (op == VM_OP_DUP || op == VM_OP_SWAP) imm = tu_below(s, 4);
        if (op == VM_OP_ARG) imm = tu_below(s, 3);
        n = tu_emit(c, n, op, imm);
    }
    return n;
}

static void property(bool fixed, uint64_t seed, int programs) {
    vm_machine *a = vm_machine_new();
    cr_assert(a);
    uint64_t s = seed;
    int exact = 0, real = 0, reasons = 0;
    for (int p = 0; p < programs; p++) {
        uint8_t c[512];
        size_t n = gen_program(&s, c, sizeof c, fixed);
        uint32_t n_in = 1 + tu_below(&s, 3);
        an_expr_opts o = {.n_in = n_in, .fixed = fixed, .limits = GP_LIMITS};
        an_expr *e = NULL;
        cr_assert_eq(an_expr_build(c, n, &o, &e), 0);
        const char *why = an_expr_reason(e);
        for (int t = 0; t < 8; t++) {
            vm_word in[3];
            double din[3];
            for (uint32_t k = 0; k < n_in; k++) {
                in[k] = fixed ? (int64_t)(tu_next(&s) % (8ull << 32)) - ((int64_t)4 << 32)
                              : (int64_t)tu_below(&s, 41) - 20;
                if (tu_below(&s, 16) == 0) in[k] = 0;
                din[k] = fixed ? vm_fx_to_double(in[k]) : (double)in[k];
            }
            uint32_t depth = 0;
            vm_word top = 0;
            vm_status st = vm_out(a, c, n, in, n_in, &depth, &top);
            bool has = st == VM_HALTED && depth > 0;
            if (why) {
                /* no expression: either there is no output, or the path
                 * depends on the inputs, or it is beyond what is expressed */
                cr_assert(!has || strstr(why, "depends on the inputs") ||
                              strstr(why, "which an expression does not express") ||
                              strstr(why, "runs more than"),
                          "seed %" PRIu64 " program %d: VM output %" PRId64 " but %s", seed, p, top,
                          why);
                reasons++;
                continue;
            }
            cr_assert(has, "seed %" PRIu64 " program %d: an expression, but the VM stops %s", seed,
                      p, vm_status_name(st));
            vm_word w[AN_EXPR_MAX_OUT];
            cr_assert_eq(an_expr_eval(e, in, w), 0);
            char *text = an_expr_text(e, AN_EXPR_INFIX);
            cr_assert_eq(w[an_expr_nout(e) - 1], top,
                         "seed %" PRIu64 " program %d: %s = %" PRId64 ", the VM %" PRId64, seed, p,
                         text, w[0], top);
            exact++;
            double v[AN_EXPR_MAX_OUT], err[AN_EXPR_MAX_OUT];
            cr_assert_eq(an_expr_eval_real(e, din, v, err), 0);
            double vm = fixed ? vm_fx_to_double(top) : (double)top;
            if (isfinite(err[0])) {
                cr_assert(fabs(v[0] - vm) <= err[0],
                          "seed %" PRIu64 " program %d: %s = %.17g in double, the VM %.17g, "
                          "bound %.3g",
                          seed, p, text, v[0], vm, err[0]);
                real++;
            }
            free(text);
        }
        an_expr_free(e);
    }
    vm_machine_free(a);
    /* the property must have been tested on most programs, not vacuous */
    cr_assert(exact > programs * 8 / 3, "only %d exact checks (%d reasons)", exact, reasons);
    cr_assert(real > exact / 2, "only %d of %d checked in double", real, exact);
}

Test(expr, fixed_point_matches_vm_over_seeds) {
    for (uint64_t seed = 1; seed <= 4; seed++)
        property(true, seed, 1500);
}

Test(expr, integer_matches_vm_over_seeds) {
    for (uint64_t seed = 11; seed <= 14; seed++)
        property(false, seed, 1500);
}

/* A sample of random fixed-point programs: SymPy parses each expression
 * and, where its value is a finite real, it is within the bound of the VM. */
Test(expr, sympy_reads_the_expressions) {
    if (access("/usr/bin/python3", X_OK) != 0 ||
        system("/usr/bin/python3 -c 'import sympy' 2>/dev/null") != 0)
        cr_assert_fail("%s", "Debian's python3-sympy is missing: run scripts/deps.sh");
    char dir[64], in[128], cmd[512];
    tu_tmpdir(dir, sizeof dir, "frugal-sympy");
    snprintf(in, sizeof in, "%s/lines.tsv", dir);
    FILE *f = fopen(in, "w");
    cr_assert(f);
    vm_machine *a = vm_machine_new();
    uint64_t s = 77;
    int lines = 0;
    for (int p = 0; p < 3000 && lines < 300; p++) {
        uint8_t c[512];
        size_t n = gen_program(&s, c, sizeof c, true);
        uint32_t n_in = 1 + tu_below(&s, 3);
        an_expr_opts o = {.n_in = n_in, .fixed = true, .limits = GP_LIMITS};
        an_expr *e = NULL;
        cr_assert_eq(an_expr_build(c, n, &o, &e), 0);
        if (an_expr_reason(e)) {
            an_expr_free(e);
            continue;
        }
        vm_word in_w[3];
        double din[3], v, err;
        for (uint32_t k = 0; k < n_in; k++) {
            in_w[k] = (int64_t)(tu_next(&s) % (8ull << 32)) - ((int64_t)4 << 32);
            din[k] = vm_fx_to_double(in_w[k]);
        }
        uint32_t depth;
        vm_word top = 0;
        vm_out(a, c, n, in_w, n_in, &depth, &top);
        cr_assert_eq(an_expr_eval_real(e, din, &v, &err), 0);
        if (isfinite(err) && an_expr_nout(e) == 1) {
            char *t = an_expr_text(e, AN_EXPR_SYMPY);
            fprintf(f, "%s\t", t);
            for (uint32_t k = 0; k < n_in; k++)
                fprintf(f, "%s%.17g", k ? " " : "", din[k]);
            fprintf(f, "\t%.17g\t%.17g\n", vm_fx_to_double(top), err);
            free(t);
            lines++;
        }
        an_expr_free(e);
    }
    vm_machine_free(a);
    fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/expr_sympy_check.py < %s", in);
    char *out = tu_run_cmd(cmd);
    int checked = 0, parsed = 0;
    cr_assert_eq(sscanf(out, "ok %d %d", &checked, &parsed), 2, "%s", out);
    cr_expect_eq(parsed, lines);
    cr_expect_gt(checked, lines / 2, "only %d of %d checked", checked, lines);
    cr_log_info("sympy: %d expressions parsed, %d checked", parsed, checked);
    free(out);
    tu_rmtree(dir);
}

/* analysis/frugal.py's tests (tests/frugal_py_test.py) on a small run and a
 * batch of two, and docs/python.md's example. */
Test(python, module) {
    if (access("/usr/bin/python3", X_OK) != 0 ||
        system("/usr/bin/python3 -c 'import h5py, numpy, sympy, matplotlib' 2>/dev/null") != 0)
        cr_assert_fail("%s", "python3-h5py, -numpy, -sympy or -matplotlib is missing: run "
                             "scripts/deps.sh");
    const char *frugal = getenv("FRUGAL");
    cr_assert(frugal, "FRUGAL is not set (make test sets it)");
    char dir[64], cmd[1024];
    tu_tmpdir(dir, sizeof dir, "frugal-py");
    snprintf(cmd, sizeof cmd,
             "%s run specs/quartic.json --generations 5 --set output.population=every --out "
             "%s/x.h5 >/dev/null && "
             "mkdir %s/batch && for s in 1 2; do %s run specs/quartic.json --generations 3 "
             "--seed $s --out %s/batch/seed-$s.h5 >/dev/null || exit 1; done && "
             "%s run specs/data/kepler.json --generations 5 --out %s/k.h5 >/dev/null",
             frugal, dir, dir, frugal, dir, frugal, dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 tests/frugal_py_test.py %s/x.h5 %s/batch %s/scratch %s/k.h5 "
             "specs/data/kepler.csv 2>&1",
             dir, dir, dir, dir);
    char *out = tu_run_cmd(cmd);
    int n = 0;
    const char *ok = strstr(out, "ok ");
    cr_expect(ok && sscanf(ok, "ok %d", &n) == 1 && n > 20, "%s", out);
    free(out);
    tu_rmtree(dir);
}

/* Found by fixed_point_matches_vm_over_seeds (seed 4, program 1075): an
 * input-dependent IF made an unbounded error, FMUL multiplied it by an exact
 * 0 into a NaN, and MIN took the NaN for the smaller bound. */
Test(expr, unbounded_error_stays_unbounded) {
    static const uint8_t c[] = {0x12, 0x01, 0x42, 0x25, 0x04, 0x13, 0x01, 0x42, 0x25, 0x05, 0x05,
                                0x46, 0x27, 0x14, 0x25, 0x40, 0x44, 0x20, 0x05, 0x16, 0x01, 0x40,
                                0x14, 0x16, 0x01, 0x12, 0x03, 0x25, 0x27, 0x05, 0x27};
    vm_word in[2] = {-17098331456, -13577116148};
    double din[2] = {vm_fx_to_double(in[0]), vm_fx_to_double(in[1])};
    an_expr_opts o = {.n_in = 2, .fixed = true, .limits = GP_LIMITS};
    an_expr *e = NULL;
    cr_assert_eq(an_expr_build(c, sizeof c, &o, &e), 0);
    cr_assert_null(an_expr_reason(e), "%s", an_expr_reason(e));
    vm_machine *a = vm_machine_new();
    uint32_t depth = 0;
    vm_word top = 0;
    cr_assert_eq(vm_out(a, c, sizeof c, in, 2, &depth, &top), VM_HALTED);
    double v, err;
    cr_assert_eq(an_expr_eval_real(e, din, &v, &err), 0);
    cr_assert(!isnan(err));
    cr_assert(fabs(v - vm_fx_to_double(top)) <= err, "%.17g against %.17g, bound %.3g", v,
              vm_fx_to_double(top), err);
    vm_machine_free(a);
    an_expr_free(e);
}
