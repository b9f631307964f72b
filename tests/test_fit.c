/* fitness: tasks (quartic, int-square), evaluation results, penalties, the
 * worst-status order, and reuse of one context for many programs. */
#include "testutil.h"

#include "fitness/fitness.h"

#include <math.h>
#include <string.h>

static int64_t fit_test_range(void *ctx, int64_t lo, int64_t hi) {
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    return (int64_t)((uint64_t)lo + tu_next((uint64_t *)ctx) % span);
}

static void quartic_task(fit_task *t, uint64_t seed) {
    uint64_t s = seed;
    fit_rng rng = {&s, fit_test_range};
    cr_assert_eq(fit_task_quartic(t, &rng), 0);
}

/* x on the stack; Horner: x(x(x(x+1)+1)+1) */
static const char *horner = "DUP 0\n"
                            "PUSH 1.0\nADD\nOVER\nFMUL\n"
                            "PUSH 1.0\nADD\nOVER\nFMUL\n"
                            "PUSH 1.0\nADD\nOVER\nFMUL\n";

Test(fit, quartic_cases) {
    fit_task t;
    quartic_task(&t, 7);
    cr_assert_eq(t.train.n, 20);
    cr_assert_eq(t.test.n, 20);
    cr_assert_eq(t.n_in, 1);
    cr_assert(t.fixed_point);
    for (uint32_t i = 0; i < 20; i++) {
        vm_word x = t.train.in[i];
        cr_assert(x >= -VM_FX_ONE && x <= VM_FX_ONE);
        double xd = vm_fx_to_double(x);
        cr_assert_float_eq(t.train.target[i], xd * xd * xd * xd + xd * xd * xd + xd * xd + xd,
                           1e-12);
        cr_assert_eq(t.test.in[i], x, "the test set is the training set");
    }
    fit_task u;
    quartic_task(&u, 7);
    cr_assert_arr_eq(t.train.in, u.train.in, 20 * sizeof(vm_word), "same seed, same cases");
    fit_task_free(&u);
    quartic_task(&u, 8);
    cr_assert(memcmp(t.train.in, u.train.in, 20 * sizeof(vm_word)) != 0);
    fit_task_free(&u);
    fit_task_free(&t);
}

Test(fit, quartic_perfect_program) {
    fit_task t;
    quartic_task(&t, 1);
    vm_buf b = tu_asm(horner);
    fit_ctx *c = fit_ctx_new(&t, NULL);
    cr_assert(c);
    double err[20];
    fit_result r = {.errors = err};
    cr_assert_eq(fit_eval(c, b.data, b.len, FIT_TRAIN, &r), 0);
    cr_assert_eq(r.ncases, 20);
    cr_assert_eq(r.hits, 20);
    cr_assert_eq(r.missing, 0);
    cr_assert_eq(r.worst, VM_HALTED);
    /* DUP + 3 x (PUSH + ADD + OVER + FMUL) per case, at the table's costs */
    uint64_t g = vm_opinfo_of(VM_OP_DUP)->gas +
                 3 * (vm_opinfo_of(VM_OP_PUSH)->gas + vm_opinfo_of(VM_OP_ADD)->gas +
                      vm_opinfo_of(VM_OP_OVER)->gas + vm_opinfo_of(VM_OP_FMUL)->gas);
    cr_assert_eq(r.gas, 20 * g);
    double sum = 0;
    for (int i = 0; i < 20; i++) {
        cr_assert_lt(err[i], 1e-8, "case %d error %g", i, err[i]);
        sum += err[i];
    }
    cr_assert_eq(r.error, sum);
    /* memory-time: per case, the words in use times the gas of each insn */
    vm_machine *a = vm_machine_new();
    vm_set_limits(a, &t.limits);
    uint64_t mt = 0;
    for (int i = 0; i < 20; i++) {
        vm_load(a, b.data, b.len);
        vm_push(a, t.train.in[i]);
        vm_run(a);
        vm_meters m;
        vm_meters_get(a, &m);
        mt += m.memtime;
    }
    cr_assert_eq(r.memtime, mt);
    vm_machine_free(a);
    fit_ctx_free(c);
    vm_buf_free(&b);
    fit_task_free(&t);
}

/* Counting instructions: Horner runs 13 per case, 260 over the 20 cases, and
 * counting changes no result. */
Test(fit, counted_instructions) {
    fit_task t;
    quartic_task(&t, 1);
    vm_buf b = tu_asm(horner);
    fit_ctx *c = fit_ctx_new(&t, NULL);
    cr_assert(c);
    double e1[20], e2[20];
    fit_result r1 = {.errors = e1}, r2 = {.errors = e2};
    cr_assert_eq(fit_eval(c, b.data, b.len, FIT_TRAIN, &r1), 0);
    uint64_t n = 0;
    fit_ctx_count_insns(c, &n);
    cr_assert_eq(fit_eval(c, b.data, b.len, FIT_TRAIN, &r2), 0);
    cr_assert_eq(n, 20 * 13, "%lu", (unsigned long)n);
    cr_assert_eq(r2.gas, r1.gas);
    cr_assert_eq(r2.memtime, r1.memtime);
    cr_assert_eq(memcmp(e1, e2, sizeof e1), 0);
    fit_ctx_count_insns(c, NULL);
    cr_assert_eq(fit_eval(c, b.data, b.len, FIT_TRAIN, &r2), 0);
    cr_assert_eq(n, 20 * 13);
    fit_ctx_free(c);
    vm_buf_free(&b);
    fit_task_free(&t);
}

Test(fit, missing_output_gets_the_penalty) {
    fit_task t;
    quartic_task(&t, 2);
    fit_ctx *c = fit_ctx_new(&t, NULL);
    double err[20];
    fit_result r = {.errors = err};
    /* POP leaves nothing: HALTED without output */
    vm_buf b = tu_asm("POP");
    cr_assert_eq(fit_eval(c, b.data, b.len, FIT_TRAIN, &r), 0);
    cr_assert_eq(r.missing, 20);
    cr_assert_eq(r.worst, VM_HALTED);
    cr_assert_eq(r.error, 20 * FIT_QUARTIC_PENALTY);
    vm_buf_free(&b);
    /* an endless loop: out of gas on every case */
    b = tu_asm("l: JMP l");
    cr_assert_eq(fit_eval(c, b.data, b.len, FIT_TRAIN, &r), 0);
    cr_assert_eq(r.worst, VM_OUT_OF_GAS);
    cr_assert_eq(r.missing, 20);
    cr_assert_eq(r.gas, 20ull * FIT_QUARTIC_GAS);
    vm_buf_free(&b);
    /* the empty program halts with x on the stack: error |x - f(x)| */
    cr_assert_eq(fit_eval(c, NULL, 0, FIT_TRAIN, &r), 0);
    cr_assert_eq(r.missing, 0);
    for (int i = 0; i < 20; i++)
        cr_assert_float_eq(err[i], fabs(vm_fx_to_double(t.train.in[i]) - t.train.target[i]), 1e-15);
    fit_ctx_free(c);
    fit_task_free(&t);
}

Test(fit, worst_status_is_the_most_severe) {
    /* x < 0: stack underflow (ADD with one word); x == 0: halt; x > 0: loop */
    vm_word in[] = {-1, 0, 1, -2};
    vm_word want[] = {0, 0, 0, 0};
    fit_task t;
    cr_assert_eq(fit_task_custom(&t, "mixed", FIT_ERR_INT_ABS, 1, 4, in, want, NULL, 100, 0), 0);
    t.limits.gas = 50;
    vm_buf b = tu_asm("DUP 0\nPUSH 0\nLT\nJNZ under\nJNZ loop\nPUSH 0\nHALT\n"
                      "under: POP\nADD\nloop: JMP loop");
    fit_ctx *c = fit_ctx_new(&t, NULL);
    double err[4];
    fit_result r = {.errors = err};
    cr_assert_eq(fit_eval(c, b.data, b.len, FIT_TRAIN, &r), 0);
    cr_assert_eq(r.worst, VM_OUT_OF_GAS);
    cr_assert_eq(r.missing, 3);
    cr_assert_eq(r.hits, 1);
    cr_assert_eq(err[1], 0);
    cr_assert_eq(err[0], 100);
    fit_ctx_free(c);
    /* without the looping case the underflow is the worst */
    fit_task u;
    vm_word in2[] = {0, -1, 0};
    cr_assert_eq(fit_task_custom(&u, "mixed2", FIT_ERR_INT_ABS, 1, 3, in2, want, NULL, 100, 0), 0);
    c = fit_ctx_new(&u, NULL);
    cr_assert_eq(fit_eval(c, b.data, b.len, FIT_TRAIN, &r), 0);
    cr_assert_eq(r.worst, VM_STACK_UNDERFLOW);
    fit_ctx_free(c);
    fit_task_free(&u);
    vm_buf_free(&b);
    fit_task_free(&t);
    /* the documented order */
    const vm_status order[] = {VM_HALTED,         VM_YIELDED,
                               VM_OUT_OF_BOUNDS,  VM_STACK_UNDERFLOW,
                               VM_STACK_OVERFLOW, VM_CALL_OVERFLOW,
                               VM_BAD_JUMP,       VM_TRUNCATED,
                               VM_INVALID_OPCODE, VM_NSTATUS /* stands for any newer status */,
                               VM_OUT_OF_MEMORY,  VM_OUT_OF_MEMTIME,
                               VM_OUT_OF_GAS,     VM_RUNNING};
    for (unsigned i = 0; i < sizeof order / sizeof *order; i++)
        cr_assert_eq(fit_status_severity(order[i]), i);
}

Test(fit, int_square_and_context_reuse) {
    fit_task t;
    cr_assert_eq(fit_task_int_square(&t), 0);
    cr_assert_eq(t.train.n, 17);
    fit_ctx *c = fit_ctx_new(&t, NULL);
    double err[17];
    fit_result r = {.errors = err};
    vm_buf good = tu_asm("DUP 0\nDUP 0\nMUL\nADD");
    vm_buf off = tu_asm("DUP 0\nMUL\nPUSH 1\nADD"); /* x*x + 1: error |x - 1| */
    for (int rep = 0; rep < 200; rep++) {
        cr_assert_eq(fit_eval(c, good.data, good.len, FIT_TRAIN, &r), 0);
        cr_assert_eq(r.error, 0);
        cr_assert_eq(r.hits, 17);
        cr_assert_eq(fit_eval(c, off.data, off.len, FIT_TRAIN, &r), 0);
        double want = 0;
        for (int x = -8; x <= 8; x++)
            want += fabs((double)x - 1);
        cr_assert_eq(r.error, want);
        cr_assert_eq(r.hits, 1);
    }
    double terr[4];
    fit_result tr = {.errors = terr};
    cr_assert_eq(fit_eval(c, good.data, good.len, FIT_TEST, &tr), 0);
    cr_assert_eq(tr.ncases, 4);
    cr_assert_eq(tr.hits, 4);
    /* integer error does not overflow */
    cr_assert_eq(fit_case_error(&t, &t.train, 0, true, INT64_MAX), 1e6);
    vm_buf_free(&good);
    vm_buf_free(&off);
    fit_ctx_free(c);
    fit_task_free(&t);
}

/* RAND in a task (docs/gp.md, "Random numbers"): each case's stream is
 * seeded by FNV-1a over the code, then the case's input words (8 bytes
 * little-endian each), so an error depends only on the program and the case:
 * the same in another context, after other programs, and in a subset. */
Test(fit, rand_is_seeded_per_program_and_case) {
    fit_task t;
    quartic_task(&t, 3);
    vm_buf b = tu_asm("POP\nRAND\nPUSH 32\nSAR"); /* a Q32.32 number in [-1, 1) */
    vm_buf other = tu_asm("RAND");
    double e1[20], e2[20], e3[2];
    fit_result r1 = {.errors = e1}, r2 = {.errors = e2}, r3 = {.errors = e3};
    fit_ctx *c = fit_ctx_new(&t, NULL), *d = fit_ctx_new(&t, NULL);
    cr_assert_eq(fit_eval(c, b.data, b.len, FIT_TRAIN, &r1), 0);
    cr_assert_eq(fit_eval(d, other.data, other.len, FIT_TRAIN, &r2), 0);
    cr_assert_eq(fit_eval(d, b.data, b.len, FIT_TRAIN, &r2), 0);
    cr_assert_arr_eq(e1, e2, sizeof e1, "the same errors in another context");
    uint32_t idx[2] = {7, 3};
    fit_cases sub = {0};
    cr_assert_eq(fit_cases_subset(&t, &t.train, idx, 2, &sub), 0);
    cr_assert_eq(fit_eval_cases(d, b.data, b.len, &sub, &r3), 0);
    cr_assert_eq(e3[0], e1[7]);
    cr_assert_eq(e3[1], e1[3]);
    /* case 0's output, from the documented seed */
    uint64_t h = base_fnv1a(BASE_FNV_OFFSET, b.data, b.len);
    uint8_t le[8];
    base_le_put(le, (uint64_t)t.train.in[0], 8);
    h = base_fnv1a(h, le, 8);
    base_rng g;
    base_rng_stream(&g, h, 0x52414e44u, 0, 0);
    vm_word y = (vm_word)base_rng_next64(&g) >> 32;
    cr_assert_eq(e1[0], fit_case_error(&t, &t.train, 0, true, y));
    bool differ = false;
    for (int i = 1; i < 20; i++)
        differ |= e1[i] != e1[0];
    cr_assert(differ, "each case its own stream");
    fit_cases_free(&sub);
    fit_ctx_free(c);
    fit_ctx_free(d);
    vm_buf_free(&b);
    vm_buf_free(&other);
    fit_task_free(&t);
}

/* Batched evaluation (vm_run_cases) gives exactly what running each case
 * alone gives: errors, meters, statuses and outputs, case by case, on random
 * code for tasks of one to four inputs, one or two outputs, fixed point and
 * integer words. */
Test(fit, batched_equals_case_by_case) {
    static const char *names[] = {"quartic", "keijzer6", "smallest", "median",
                                  "parity3", "mux6",     "gcd",      "fuel-cost"};
    for (size_t ti = 0; ti < sizeof names / sizeof *names; ti++) {
        uint64_t s = 5 + ti;
        fit_rng rng = {&s, fit_test_range};
        fit_task t;
        char err[256] = "";
        cr_assert_eq(fit_task_make(names[ti], NULL, &rng, &t, err, sizeof err), 0, "%s", err);
        fit_ctx *on = fit_ctx_new(&t, NULL), *off = fit_ctx_new(&t, NULL);
        fit_ctx_set_batch(off, false);
        const fit_cases *cs = fit_task_cases(&t, FIT_TRAIN);
        uint32_t no = fit_task_nout(&t), n = cs->n;
        double *ex = calloc((size_t)n * no, sizeof *ex), *ey = calloc((size_t)n * no, sizeof *ey);
        vm_word *ox = calloc((size_t)n * no, 8), *oy = calloc((size_t)n * no, 8);
        uint8_t *hx = calloc((size_t)n * no, 1), *hy = calloc((size_t)n * no, 1);
        uint8_t *sx = calloc(n, 1), *sy = calloc(n, 1);
        uint64_t *gx = calloc(n, 8), *gy = calloc(n, 8), *mx = calloc(n, 8), *my = calloc(n, 8);
        fit_case_detail dx = {ox, hx, gx, mx, sx, NULL}, dy = {oy, hy, gy, my, sy, NULL};
        for (int k = 0; k < 300; k++) {
            uint8_t code[512];
            size_t len = k % 4 ? tu_straight_program(&s, code, sizeof code, t.n_in)
                               : tu_random_program(&s, code, sizeof code);
            fit_result rx = {.errors = ex}, ry = {.errors = ey};
            bool detail = k & 1; /* without detail, regression errors take a path of their own */
            cr_assert_eq(fit_eval_detail(on, code, len, cs, &rx, detail ? &dx : NULL), 0);
            cr_assert_eq(fit_eval_detail(off, code, len, cs, &ry, detail ? &dy : NULL), 0);
            cr_assert_eq(memcmp(ex, ey, (size_t)n * no * sizeof *ex), 0, "%s program %d: errors",
                         names[ti], k);
            cr_assert(rx.error == ry.error && rx.gas == ry.gas && rx.memtime == ry.memtime &&
                          rx.worst == ry.worst && rx.hits == ry.hits && rx.missing == ry.missing &&
                          rx.nerrors == ry.nerrors && rx.out_of_gas == ry.out_of_gas &&
                          rx.faults == ry.faults && rx.ncases == ry.ncases,
                      "%s program %d: results differ", names[ti], k);
            cr_assert(!detail ||
                          (!memcmp(ox, oy, (size_t)n * no * 8) && !memcmp(hx, hy, (size_t)n * no) &&
                           !memcmp(sx, sy, n) && !memcmp(gx, gy, n * 8) && !memcmp(mx, my, n * 8)),
                      "%s program %d: details differ", names[ti], k);
        }
        free(ex), free(ey), free(ox), free(oy), free(hx), free(hy);
        free(sx), free(sy), free(gx), free(gy), free(mx), free(my);
        fit_ctx_free(on);
        fit_ctx_free(off);
        fit_task_free(&t);
    }
}
