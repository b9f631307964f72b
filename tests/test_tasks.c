/* The task library (fit_task_make): published sizes, fixed cases, seeded
 * determinism, hand-written solutions with zero error, penalties. */
#include "testutil.h"

#include "fitness/fitness.h"

#include <math.h>

static int64_t tk_range(void *ctx, int64_t lo, int64_t hi) {
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    uint64_t v = tu_next((uint64_t *)ctx);
    return span ? (int64_t)((uint64_t)lo + v % span) : (int64_t)v;
}

static void make(const char *name, uint64_t seed, fit_task *t) {
    uint64_t s = seed;
    fit_rng rng = {&s, tk_range};
    char err[256] = "";
    int rc = fit_task_make(name, NULL, &rng, t, err, sizeof err);
    cr_assert_eq(rc, 0, "%s: %s", name, err);
}

/* Evaluate assembly on a split; returns the error sum and fills *r. */
static double run_asm(const fit_task *t, const char *src, fit_split which, fit_result *r) {
    vm_buf b = tu_asm(src);
    fit_ctx *c = fit_ctx_new(t, NULL);
    cr_assert(c);
    static double errs[1 << 16];
    cr_assert_leq(fit_task_nerrors(t, which), 1u << 16);
    *r = (fit_result){.errors = errs};
    cr_assert_eq(fit_eval(c, b.data, b.len, which, r), 0);
    fit_ctx_free(c);
    vm_buf_free(&b);
    return r->error;
}

static uint32_t veclen(const fit_cases *cs, uint32_t i) {
    return cs->off[i + 1] - cs->off[i];
}
static const vm_word *vec(const fit_cases *cs, uint32_t i) {
    return cs->in + cs->off[i];
}

Test(tasks, names_and_published_sizes) {
    static const struct {
        const char *name;
        uint32_t train, test, n_in, n_out;
    } want[] = {{"quartic", 20, 20, 1, 1},
                {"keijzer6", 50, 120, 1, 1},
                {"nguyen7", 20, 20, 1, 1},
                {"pagie1", 676, 676, 2, 1},
                {"vladislavleva4", 1024, 5000, 5, 1},
                {"korns12", 10000, 10000, 5, 1},
                {"parity3", 8, 8, 3, 1},
                {"parity4", 16, 16, 4, 1},
                {"parity5", 32, 32, 5, 1},
                {"parity6", 64, 64, 6, 1},
                {"mux6", 64, 64, 6, 1},
                {"mux11", 2048, 2048, 11, 1},
                {"gcd", 200, 2000, 2, 1},
                {"fuel-cost", 200, 2000, 0, 1},
                {"coin-sums", 200, 2000, 1, 4},
                {"basement", 200, 2000, 0, 1},
                {"small-or-large", 100, 1000, 1, 1},
                {"median", 100, 1000, 3, 1},
                {"smallest", 100, 1000, 4, 1},
                {"count-odds", 200, 2000, 0, 1},
                {"last-index-of-zero", 150, 1000, 0, 1}};
    size_t n = sizeof want / sizeof *want;
    for (size_t i = 0; i < n; i++) {
        fit_task t;
        make(want[i].name, 1, &t);
        cr_assert_str_eq(t.name, want[i].name);
        cr_assert_eq(t.train.n, want[i].train, "%s train %u", t.name, t.train.n);
        cr_assert_eq(t.test.n, want[i].test, "%s test %u", t.name, t.test.n);
        cr_assert_eq(t.n_in, want[i].n_in, "%s", t.name);
        cr_assert_eq(fit_task_nout(&t), want[i].n_out, "%s", t.name);
        cr_assert_eq(fit_task_nerrors(&t, FIT_TRAIN), want[i].train * want[i].n_out);
        cr_assert_eq(t.io, want[i].n_in ? FIT_IO_STACK : FIT_IO_CHANNEL, "%s", t.name);
        fit_task_free(&t);
    }
    /* every native name in the list is covered above (co-evolution: test_coevo.c;
     * data: test_data.c) */
    size_t listed = 0;
    for (const char *const *p = fit_task_names; *p; p++)
        if (strncmp(*p, "evm-", 4) && !strstr(*p, "-coevo") && strcmp(*p, "data")) listed++;
    cr_assert_eq(listed, n);
}

Test(tasks, errors_name_the_problem) {
    uint64_t s = 1;
    fit_rng rng = {&s, tk_range};
    fit_task t;
    char err[600];
    cr_assert_eq(fit_task_make("nope", NULL, &rng, &t, err, sizeof err), -1);
    cr_assert(strstr(err, "unknown task 'nope'") && strstr(err, "gcd"), "%s", err);
    fit_task_opts o = {.n_train = 5};
    cr_assert_eq(fit_task_make("gcd", &o, &rng, &t, err, sizeof err), -1);
    cr_assert(strstr(err, "gcd") && strstr(err, "n_train"), "%s", err);
    o = (fit_task_opts){.n_train = 10};
    cr_assert_eq(fit_task_make("parity3", &o, &rng, &t, err, sizeof err), -1);
    cr_assert(strstr(err, "parity3"), "%s", err);
    o = (fit_task_opts){.n_train = 50, .n_test = 70};
    cr_assert_eq(fit_task_make("gcd", &o, &rng, &t, err, sizeof err), 0);
    cr_assert_eq(t.train.n, 50);
    cr_assert_eq(t.test.n, 70);
    fit_task_free(&t);
}

Test(tasks, determinism_from_the_seed) {
    static const char *names[] = {
        "nguyen7",           "vladislavleva4", "gcd",    "fuel-cost", "coin-sums",
        "basement",          "small-or-large", "median", "smallest",  "count-odds",
        "last-index-of-zero"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        fit_task a, b, c;
        make(names[i], 11, &a);
        make(names[i], 11, &b);
        make(names[i], 12, &c);
        size_t nin = a.train.off ? a.train.off[a.train.n] : (size_t)a.train.n * a.n_in;
        cr_assert_arr_eq(a.train.in, b.train.in, nin * sizeof(vm_word), "%s", names[i]);
        cr_assert_arr_eq(a.test.want, b.test.want, a.test.n * sizeof(vm_word));
        size_t tin = a.test.off ? a.test.off[a.test.n] : (size_t)a.test.n * a.n_in;
        size_t tin2 = c.test.off ? c.test.off[c.test.n] : (size_t)c.test.n * c.n_in;
        cr_assert(tin != tin2 || memcmp(a.test.in, c.test.in, tin * sizeof(vm_word)),
                  "%s: another seed, other cases", names[i]);
        fit_task_free(&a);
        fit_task_free(&b);
        fit_task_free(&c);
    }
}

Test(tasks, regression_targets) {
    fit_task t;
    make("keijzer6", 1, &t);
    cr_assert_float_eq(t.train.target[0], 1.0, 1e-12);
    cr_assert_float_eq(t.train.target[2], 1.0 + 0.5 + 1.0 / 3, 1e-12);
    cr_assert_eq(t.test.in[119], vm_fx_from_int(120));
    fit_task_free(&t);
    make("pagie1", 1, &t);
    cr_assert_float_eq(vm_fx_to_double(t.train.in[0]), -5.0, 1e-9);
    cr_assert_float_eq(vm_fx_to_double(t.train.in[2 * 675 + 1]), 5.0, 1e-9);
    for (uint32_t i = 0; i < t.train.n * 2; i++)
        cr_assert(t.train.in[i] != 0, "0 is not on the grid");
    fit_task_free(&t);
    make("korns12", 3, &t);
    for (uint32_t i = 0; i < 100; i++) {
        const vm_word *x = t.train.in + 5 * i;
        for (int k = 0; k < 5; k++)
            cr_assert(x[k] >= -50 * VM_FX_ONE && x[k] <= 50 * VM_FX_ONE);
        double want = 2 - 2.1 * cos(9.8 * vm_fx_to_double(x[0])) * sin(1.3 * vm_fx_to_double(x[4]));
        cr_assert_float_eq(t.train.target[i], want, 1e-12);
    }
    fit_task_free(&t);
    make("vladislavleva4", 3, &t);
    for (uint32_t i = 0; i < t.test.n * 5; i++)
        cr_assert(t.test.in[i] >= vm_fx_from_double(-0.25) &&
                  t.test.in[i] <= vm_fx_from_double(6.35));
    fit_task_free(&t);
    /* Nguyen-7: ln(x+1) + ln(x^2+1) computed with FLOG on the VM is a hit */
    make("nguyen7", 5, &t);
    fit_result r;
    run_asm(&t, "DUP 0\nPUSH 1.0\nADD\nFLOG\nSWAP 0\nDUP 0\nFMUL\nPUSH 1.0\nADD\nFLOG\nADD",
            FIT_TRAIN, &r);
    cr_assert_eq(r.hits, 20, "hits %u error %g", r.hits, r.error);
    fit_task_free(&t);
}

Test(tasks, boolean_solutions) {
    fit_task t;
    fit_result r;
    make("parity3", 1, &t);
    cr_assert_eq(t.train.want[0], 1);
    cr_assert_eq(t.train.want[1], 0);
    cr_assert_eq(t.train.want[7], 0);
    cr_assert_eq(run_asm(&t, "XOR\nXOR\nISZERO", FIT_TRAIN, &r), 0);
    cr_assert_eq(r.hits, 8);
    cr_assert_eq(run_asm(&t, "XOR\nXOR", FIT_TRAIN, &r), 8, "odd parity is wrong everywhere");
    fit_task_free(&t);
    make("parity6", 1, &t);
    cr_assert_eq(run_asm(&t, "XOR\nXOR\nXOR\nXOR\nXOR\nISZERO", FIT_TRAIN, &r), 0);
    fit_task_free(&t);
    /* mux6: inputs a0 a1 d0 d1 d2 d3; address a0 + 2 a1 */
    make("mux6", 1, &t);
    for (uint32_t c = 0; c < 64; c++) {
        const vm_word *x = t.train.in + 6 * c;
        cr_assert_eq(t.train.want[c], x[2 + x[0] + 2 * x[1]]);
    }
    fit_task_free(&t);
    make("mux11", 1, &t);
    const vm_word *x = t.train.in + 11 * 1029; /* a = 101b = 5: d5 */
    cr_assert_eq(t.train.want[1029], x[3 + 5]);
    fit_task_free(&t);
}

static const char *gcd_src = "loop: DUP 0\nJZ end\nSWAP 0\nOVER\nMOD\nJMP loop\nend: POP\n";

Test(tasks, gcd) {
    fit_task t;
    make("gcd", 3, &t);
    static const vm_word fixed[] = {1,    1,    4,      400000, 54,     24,
                                    4200, 3528, 820000, 63550,  123456, 654321};
    cr_assert_arr_eq(t.train.in, fixed, sizeof fixed);
    static const vm_word g[] = {1, 4, 6, 168, 2050, 3};
    cr_assert_arr_eq(t.train.want, g, sizeof g);
    for (uint32_t i = 0; i < t.test.n * 2; i++)
        cr_assert(t.test.in[i] >= 1 && t.test.in[i] <= 1000000);
    fit_result r;
    cr_assert_eq(run_asm(&t, gcd_src, FIT_TRAIN, &r), 0);
    cr_assert_eq(r.hits, 200);
    cr_assert_eq(run_asm(&t, gcd_src, FIT_TEST, &r), 0);
    cr_assert_eq(r.hits, 2000);
    /* no output: the penalty 1e6 on every case */
    cr_assert_eq(run_asm(&t, "POP\nPOP", FIT_TRAIN, &r), 200 * 1e6);
    cr_assert_eq(r.missing, 200);
    fit_task_free(&t);
}

Test(tasks, fuel_cost) {
    fit_task t;
    make("fuel-cost", 3, &t);
    cr_assert_eq(veclen(&t.train, 0), 1);
    cr_assert_eq(vec(&t.train, 0)[0], 6);
    cr_assert_eq(t.train.want[0], 0);
    cr_assert_eq(vec(&t.train, 14)[0], 10000);
    cr_assert_eq(t.train.want[14], 3331);
    cr_assert_eq(veclen(&t.train, 15), 2);
    cr_assert_eq(t.train.want[22], 10000 / 3 - 2 + 1); /* [10000 9] */
    cr_assert_eq(veclen(&t.train, 25), 20);            /* twenty 6s */
    cr_assert_eq(t.train.want[25], 0);
    cr_assert_eq(veclen(&t.train, 36), 15); /* fifteen 9s */
    cr_assert_eq(t.train.want[36], 15);
    uint32_t short_tr = 0, short_te = 0;
    for (uint32_t i = 37; i < 200; i++) {
        short_tr += veclen(&t.train, i) <= 5;
        for (uint32_t k = 0; k < veclen(&t.train, i); k++)
            cr_assert(vec(&t.train, i)[k] >= 6 && vec(&t.train, i)[k] <= 10000);
    }
    for (uint32_t i = 0; i < 2000; i++)
        short_te += veclen(&t.test, i) <= 5;
    cr_assert_eq(short_tr, 75);
    cr_assert_eq(short_te, 1000);
    fit_result r;
    const char *src = "PUSH 0\nIN\nPUSH 0\nSWAP 0\n"
                      "loop: DUP 0\nJZ end\nPUSH 1\nSUB\nSWAP 0\nPUSH 0\nIN\nPUSH 3\nDIV\n"
                      "PUSH 2\nSUB\nADD\nSWAP 0\nJMP loop\nend: POP\n";
    cr_assert_eq(run_asm(&t, src, FIT_TRAIN, &r), 0, "hits %u", r.hits);
    cr_assert_eq(run_asm(&t, src, FIT_TEST, &r), 0);
    /* reading past the end: CHANNEL_EMPTY, no output */
    run_asm(&t, "PUSH 0\nIN\nPUSH 0\nIN\nPUSH 0\nIN\nPUSH 0\nIN\n", FIT_TRAIN, &r);
    cr_assert_eq(r.worst, VM_CHANNEL_EMPTY);
    cr_assert_gt(r.missing, 0);
    fit_task_free(&t);
}

Test(tasks, coin_sums) {
    fit_task t;
    make("coin-sums", 4, &t);
    cr_assert_eq(t.train.in[33], 10000);
    static const vm_word w29[] = {4, 0, 0, 1}; /* 29 = 25 + 4 */
    cr_assert_arr_eq(t.train.want + 4 * 28, w29, sizeof w29);
    static const vm_word w41[] = {1, 1, 1, 1};
    cr_assert_arr_eq(t.train.want + 4 * 31, w41, sizeof w41);
    fit_result r;
    const char *src = "DUP 0\nPUSH 25\nDIV\nSWAP 0\nPUSH 25\nMOD\n"
                      "DUP 0\nPUSH 10\nDIV\nSWAP 0\nPUSH 10\nMOD\n"
                      "DUP 0\nPUSH 5\nDIV\nSWAP 0\nPUSH 5\nMOD\n"
                      "SWAP 2\nROT\nSWAP 0\n";
    cr_assert_eq(run_asm(&t, src, FIT_TRAIN, &r), 0);
    cr_assert_eq(r.nerrors, 800);
    cr_assert_eq(r.hits, 200);
    cr_assert_eq(run_asm(&t, src, FIT_TEST, &r), 0);
    /* one word on the stack: only the quarters output is there */
    run_asm(&t, "PUSH 25\nDIV", FIT_TRAIN, &r);
    cr_assert_eq(r.missing, 600);
    cr_assert_eq(r.errors[3], 0);   /* n = 1: 0 quarters */
    cr_assert_eq(r.errors[0], 1e5); /* pennies missing */
    /* no output at all */
    cr_assert_eq(run_asm(&t, "POP", FIT_TRAIN, &r), 800 * 1e5);
    fit_task_free(&t);
}

static vm_word first_neg(const vm_word *x, uint32_t n) {
    vm_word s = 0;
    for (uint32_t i = 0; i < n; i++)
        if ((s += x[i]) < 0) return (vm_word)i;
    return -1;
}

Test(tasks, basement) {
    fit_task t, u;
    make("basement", 5, &t);
    make("basement", 6, &u);
    cr_assert_eq(vec(&t.train, 0)[0], -1);
    cr_assert_eq(t.train.want[9], 1);  /* [99 -100] */
    cr_assert_eq(t.train.want[19], 0); /* [-1 100 99] */
    for (int s = 0; s < 2; s++) {
        const fit_cases *cs = s ? &t.test : &t.train;
        for (uint32_t i = 0; i < cs->n; i++) {
            uint32_t n = veclen(cs, i);
            cr_assert(n >= 1 && n <= 20);
            for (uint32_t k = 0; k < n; k++)
                cr_assert(vec(cs, i)[k] >= -100 && vec(cs, i)[k] <= 100);
            cr_assert_eq(cs->want[i], first_neg(vec(cs, i), n));
            cr_assert_geq(cs->want[i], 0);
        }
    }
    /* the 15 long vectors are fixed: the same for every seed */
    for (uint32_t i = 20; i < 35; i++) {
        cr_assert_eq(veclen(&t.train, i), 20);
        cr_assert_arr_eq(vec(&t.train, i), vec(&u.train, i), 20 * sizeof(vm_word));
    }
    fit_task_free(&t);
    fit_task_free(&u);
}

Test(tasks, small_or_large) {
    fit_task t;
    make("small-or-large", 5, &t);
    cr_assert_eq(t.train.in[0], -10000);
    cr_assert_eq(t.train.in[26], 10000);
    cr_assert_eq(t.train.want[0], 1);
    cr_assert_eq(t.train.want[26], 2);
    cr_assert_eq(t.train.in[3], 995);
    cr_assert_eq(t.train.want[8], 0); /* 1000 */
    cr_assert_eq(t.test.in[0], 980);
    cr_assert_eq(t.test.in[79], 2019);
    fit_result r;
    const char *src = "DUP 0\nPUSH 1000\nLT\nSWAP 0\nPUSH 1999\nGT\nDUP 0\nADD\nADD\n";
    cr_assert_eq(run_asm(&t, src, FIT_TRAIN, &r), 0);
    cr_assert_eq(run_asm(&t, src, FIT_TEST, &r), 0);
    cr_assert_eq(run_asm(&t, "POP\nPUSH 7", FIT_TRAIN, &r), 100, "0/1 error");
    fit_task_free(&t);
}

Test(tasks, median_and_smallest) {
    fit_task t;
    fit_result r;
    make("median", 5, &t);
    uint32_t distinct = 0, alleq = 0;
    for (uint32_t i = 0; i < 100; i++) {
        const vm_word *x = t.train.in + 3 * i;
        distinct += x[0] != x[1] && x[0] != x[2] && x[1] != x[2];
        alleq += x[0] == x[1] && x[1] == x[2];
    }
    cr_assert_eq(distinct, 60);
    cr_assert_eq(alleq, 10);
    const char *src = "DUP 2\nDUP 2\nMIN\nDUP 3\nDUP 3\nMAX\nDUP 2\nMIN\nMAX\n";
    cr_assert_eq(run_asm(&t, src, FIT_TRAIN, &r), 0);
    cr_assert_eq(run_asm(&t, src, FIT_TEST, &r), 0);
    cr_assert_eq(r.hits, 1000);
    fit_task_free(&t);
    make("smallest", 5, &t);
    static const vm_word f[] = {0, 0, 0, 0, -44, -44, -7, -13, 0, 4, -99, -33};
    cr_assert_arr_eq(t.train.in, f, sizeof f);
    cr_assert_eq(t.train.want[1], -44);
    cr_assert_eq(run_asm(&t, "MIN\nMIN\nMIN", FIT_TRAIN, &r), 0);
    cr_assert_eq(run_asm(&t, "MIN\nMIN\nMIN", FIT_TEST, &r), 0);
    fit_task_free(&t);
}

Test(tasks, count_odds) {
    fit_task t;
    make("count-odds", 5, &t);
    cr_assert_eq(veclen(&t.train, 0), 0);
    cr_assert_eq(t.train.want[0], 0);
    cr_assert_eq(vec(&t.train, 1)[0], -10);
    cr_assert_eq(t.train.want[2], 1);  /* [-9] */
    cr_assert_eq(t.train.want[31], 1); /* [944 77] */
    cr_assert_eq(t.train.want[28], 2); /* [7 1] */
    uint32_t allodd = 0;
    for (uint32_t i = 32; i < 200; i++) {
        uint32_t n = veclen(&t.train, i);
        cr_assert(n >= 1 && n <= 50);
        allodd += (uint32_t)t.train.want[i] == n;
    }
    cr_assert_geq(allodd, 9);
    const char *src = "PUSH 0\nIN\nPUSH 0\nSWAP 0\n"
                      "loop: DUP 0\nJZ end\nPUSH 1\nSUB\nSWAP 0\nPUSH 0\nIN\nPUSH 2\nMOD\nABS\n"
                      "ADD\nSWAP 0\nJMP loop\nend: POP\n";
    fit_result r;
    cr_assert_eq(run_asm(&t, src, FIT_TRAIN, &r), 0);
    cr_assert_eq(run_asm(&t, src, FIT_TEST, &r), 0);
    cr_assert_eq(run_asm(&t, "", FIT_TRAIN, &r), 200 * 1000.0, "empty stack: penalty 1000");
    fit_task_free(&t);
}

Test(tasks, last_index_of_zero) {
    fit_task t;
    make("last-index-of-zero", 5, &t);
    cr_assert_eq(t.train.want[0], 0);
    cr_assert_eq(t.train.want[1], 1);
    uint32_t allzero_tr = 0, allzero_te = 0;
    for (int s = 0; s < 2; s++) {
        const fit_cases *cs = s ? &t.test : &t.train;
        for (uint32_t i = 0; i < cs->n; i++) {
            uint32_t n = veclen(cs, i), z = 0;
            cr_assert(n >= 1 && n <= 50);
            for (uint32_t k = 0; k < n; k++) {
                cr_assert(vec(cs, i)[k] >= -50 && vec(cs, i)[k] <= 50);
                z += vec(cs, i)[k] == 0;
            }
            cr_assert_geq(z, 1);
            cr_assert_eq(vec(cs, i)[cs->want[i]], 0);
            for (uint32_t k = (uint32_t)cs->want[i] + 1; k < n; k++)
                cr_assert_neq(vec(cs, i)[k], 0);
            if (z == n && s && i < 20) allzero_te++;
            if (z == n && !s && i >= 8 && i < 38) allzero_tr++;
        }
    }
    cr_assert_eq(allzero_tr, 30);
    cr_assert_eq(allzero_te, 20);
    fit_task_free(&t);
}

#include "evolve/evolve.h"

Test(tasks, engine_defaults_fit_the_encodings) {
    static const char *names[] = {"count-odds", "parity4", "coin-sums"};
    for (int k = 0; k < 3; k++) {
        fit_task t;
        make(names[k], 2, &t);
        evo_isa isa;
        evo_isa_for_task(&isa, &t);
        evo_params p;
        evo_params_default(&p, &isa, &t);
        bool in = false, each = false, x = false;
        for (uint32_t i = 0; i < p.genome.nops; i++) {
            in |= p.genome.ops[i] == VM_OP_IN;
            each |= p.genome.ops[i] == VM_OP_EACH;
            x |= p.genome.ops[i] == VM_OP_XOR;
        }
        /* a vector that fits the argument words comes through them (EACH),
         * a longer one through the input channel (IN) */
        bool fits = fit_task_max_vec(&t) <= VM_MAX_ARGS;
        cr_assert_eq(each, t.io == FIT_IO_CHANNEL && fits, "%s", names[k]);
        cr_assert_eq(in, t.io == FIT_IO_CHANNEL && !fits, "%s", names[k]);
        cr_assert_eq(x, t.error == FIT_ERR_BOOL, "%s", names[k]);
        p.pop_size = 100;
        p.max_generations = 5;
        p.selection = EVO_SEL_LEXICASE;
        char err[256];
        evo_run *r = evo_run_new(&p, &t, err, sizeof err);
        cr_assert(r, "%s", err);
        cr_assert_eq(evo_run_until_done(r), 0);
        evo_pop_view v;
        evo_run_island(r, 0, &v);
        cr_assert_eq(v.ncases, fit_task_nerrors(&t, FIT_TRAIN));
        evo_stats st;
        cr_assert_eq(evo_run_stats(r, &st), 0);
        cr_assert_lt(st.best_error, t.penalty * fit_task_nerrors(&t, FIT_TRAIN), "%s", names[k]);
        static double errs[20000];
        fit_result res = {.errors = errs};
        cr_assert_eq(evo_run_eval(r, st.best_island, st.best_slot, FIT_TEST, &res), 0);
        cr_assert_eq(res.nerrors, fit_task_nerrors(&t, FIT_TEST));
        evo_run_free(r);
        fit_task_free(&t);
    }
}
